/* commands.c: the list of cityrisk's commands: the one file that knows every stage. Each
 * stage's folder describes its own command (geo/<stage>/<stage>_command.c). */
#include <string.h>

#include "cityrisk/command.h"

extern const cr_command cr_info_command;
extern const cr_command cr_inundation_command;
extern const cr_command cr_arrivals_command;
extern const cr_command cr_score_command;
extern const cr_command cr_zonal_command;
extern const cr_command cr_sensitivity_command;
extern const cr_command cr_map_command;
extern const cr_command cr_gather_command;
extern const cr_command cr_run_command;

/* In the order `cityrisk help` lists them. */
static const cr_command *const COMMANDS[] = {
    &cr_info_command, &cr_inundation_command, &cr_arrivals_command, &cr_score_command,
    &cr_zonal_command, &cr_sensitivity_command, &cr_map_command, &cr_gather_command, &cr_run_command,
};

int cr_command_count(void)
{
    return (int)(sizeof COMMANDS / sizeof *COMMANDS);
}

const cr_command *cr_command_get(int i)
{
    return i >= 0 && i < cr_command_count() ? COMMANDS[i] : NULL;
}

const cr_command *cr_command_find(const char *name)
{
    for (int i = 0; name && i < cr_command_count(); i++)
        if (strcmp(COMMANDS[i]->name, name) == 0)
            return COMMANDS[i];
    return NULL;
}

const cr_arg *cr_command_arg(const cr_command *cmd, const char *name)
{
    for (const cr_arg *a = cmd->args; a->type != CR_ARG_END; a++)
        if (strcmp(a->name, name) == 0)
            return a;
    for (const cr_arg *a = cr_command_common_args(); a->type != CR_ARG_END; a++)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}
