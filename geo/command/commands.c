/* commands.c: the list of cityrisk's commands: the one file that knows every stage. Each
 * stage's folder describes its own command (geo/<stage>/<stage>_command.c). */
#include <string.h>

#include "cityrisk/command.h"
#include "cityrisk/number.h"

extern const cr_command cr_info_command;
extern const cr_command cr_inundation_command;
extern const cr_command cr_arrivals_command;
extern const cr_command cr_score_command;
extern const cr_command cr_zonal_command;
extern const cr_command cr_sensitivity_command;
extern const cr_command cr_map_command;
extern const cr_command cr_gather_command;
extern const cr_command cr_mosaic_command;
extern const cr_command cr_report_command;
extern const cr_command cr_run_command;

/* In the order `cityrisk help` lists them. */
static const cr_command *const COMMANDS[] = {
    &cr_info_command, &cr_inundation_command, &cr_arrivals_command, &cr_score_command,
    &cr_mosaic_command, &cr_zonal_command, &cr_sensitivity_command, &cr_map_command, &cr_gather_command, &cr_report_command,
    &cr_run_command,
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

int cr_arg_names_file(const cr_arg *arg, const char *value)
{
    double number;
    if (!arg || arg->role == CR_ROLE_PARAMETER)
        return 0;
    return !(arg->flags & CR_ARGF_NUMBER_OR_PATH) || !value || !cr_number_finite(value, &number);
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
