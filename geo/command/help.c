/* help.c: a command's --help, made from its table. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <stdio.h>
#include <stdlib.h>

#include "cityrisk/command.h"

/* One line per row: "  -o, --output FILE            what it is". Positional arguments are
 * in the synopsis, not among the options. */
static void print_rows(FILE *out, const cr_arg *rows)
{
    for (const cr_arg *a = rows; a->type != CR_ARG_END; a++) {
        if (a->flags & CR_ARGF_POSITIONAL)
            continue;
        char names[96];
        snprintf(names, sizeof names, "%s%s%s--%s%s%s", a->short_name ? "-" : "",
                 a->short_name ? a->short_name : "", a->short_name ? ", " : "", a->name,
                 a->metavar ? " " : "", a->metavar ? a->metavar : "");
        fprintf(out, "  %-28s %s\n", names, a->help);
    }
}

char *cr_command_help(const cr_command *cmd)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out)
        return NULL;
    fprintf(out, "usage: cityrisk %s %s\n\n%s\n\noptions:\n", cmd->name, cmd->synopsis,
            cmd->description);
    print_rows(out, cmd->args);
    print_rows(out, cr_command_common_args());
    fprintf(out, "\nexamples:\n%s\n", cmd->examples);
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
