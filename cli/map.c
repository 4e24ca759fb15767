/* map.c: `cityrisk map` (being written). */
#include "cli.h"

int cli_cmd_map(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return CLI_EXIT_USAGE;
}
