/* main.c: the cityrisk program: the version, `cityrisk help`, and each command found in the
 * library's command table, run through the program's hooks (command.c). */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void print_overview(FILE *out)
{
    fprintf(out, "usage: cityrisk <command> [options]\n"
                 "       cityrisk help <command>\n"
                 "       cityrisk --version\n\n"
                 "Where newly arriving migrants are most at risk from climate hazards, per\n"
                 "neighbourhood.\n\ncommands:\n");
    for (int i = 0; i < cr_command_count(); i++)
        fprintf(out, "  %-12s %s\n", cr_command_get(i)->name, cr_command_get(i)->summary);
    fprintf(out, "\nexample:\n  cityrisk info samples/data/dem.tif samples/data/arrivals.csv\n");
    cli_print_exit_codes(out);
}

static int print_version(void)
{
    cr_dependency_versions v;
    cr_get_dependency_versions(&v);
    printf("cityrisk %s (GDAL %s, PROJ %s, GEOS %s)\n", cr_version(), v.gdal, v.proj, v.geos);
    return CLI_EXIT_OK; /* main() checks standard output */
}

static int not_a_command(const char *name)
{
    fprintf(stderr, "cityrisk: '%s' is not a command; see 'cityrisk help'\n", name);
    return CLI_EXIT_USAGE;
}

static int help(int argc, char **argv)
{
    if (argc < 3) {
        print_overview(stdout);
        return CLI_EXIT_OK;
    }
    const cr_command *cmd = cr_command_find(argv[2]);
    if (!cmd)
        return not_a_command(argv[2]);
    cli_print_help(cmd);
    return CLI_EXIT_OK;
}

static int dispatch(int argc, char **argv)
{
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0)
        return print_version();
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        return help(argc, argv);
    const cr_command *cmd = cr_command_find(name);
    return cmd ? cli_command(cmd, argc - 1, argv + 1) : not_a_command(name);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_overview(stderr);
        return CLI_EXIT_USAGE;
    }
    /* A closed pipe makes writes fail with EPIPE, reported as any failed write (exit 1),
     * rather than killing the program with SIGPIPE (141). */
    signal(SIGPIPE, SIG_IGN);
    cli_catch_stop_signals();
    /* The command whose name prefixes the messages: `help CMD` speaks for CMD. */
    const char *name = argv[1];
    if (strcmp(name, "help") == 0 && argc > 2 && cr_command_find(argv[2]))
        name = argv[2];
    else if (!cr_command_find(name))
        name = NULL;
    cli_messages_start(name);
    int rc = dispatch(argc, argv);
    /* Whatever printed to standard output (help, versions, reports, JSON, GeoJSON) and did
     * not check it yet: a failed write is exit 1 with the reason. */
    return cli_close_stdout(name, rc);
}
