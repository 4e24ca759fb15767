/* run.c: `cityrisk run` (being written). */
#include "cli.h"

int cli_cmd_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return CLI_EXIT_USAGE;
}
