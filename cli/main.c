/* main.c: the cityrisk program: global options and the table of subcommands. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} cli_command;

/* One row per subcommand; each lives in cli/<name>.c. */
static const cli_command COMMANDS[] = {
    {"info", cli_cmd_info, "describe rasters, vectors and CSV records, and how they overlap"},
    {"inundation", cli_cmd_inundation, "sea-level inundation depth from a DEM, connected to the sea"},
    {"arrivals", cli_cmd_arrivals, "arrival records to arrivals per grid cell, counts or kernel density"},
    {"score", cli_cmd_score, "per-cell composite exposure score 0-10 and class from the four layers"},
    {"zonal", cli_cmd_zonal, "per-neighbourhood exposure with exact cell coverage, to GeoJSON or any OGR format"},
    {"map", cli_cmd_map, "risk map (PNG, PDF, SVG) of a score raster and neighbourhoods"},
    {"run", cli_cmd_run, "run a pipeline file: every stage, skipping those up to date"},
};
static const size_t COMMAND_COUNT = sizeof COMMANDS / sizeof COMMANDS[0];

static const cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(COMMANDS[i].name, name) == 0)
            return &COMMANDS[i];
    return NULL;
}

static void print_overview(FILE *out)
{
    fprintf(out, "usage: cityrisk <command> [options]\n"
                 "       cityrisk help <command>\n"
                 "       cityrisk --version\n\n"
                 "Where newly arriving migrants are most at risk from climate hazards, per\n"
                 "neighbourhood.\n\ncommands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-12s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
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

static int help(int argc, char **argv)
{
    if (argc < 3) {
        print_overview(stdout);
        return CLI_EXIT_OK;
    }
    const cli_command *cmd = find_command(argv[2]);
    if (!cmd) {
        fprintf(stderr, "cityrisk: '%s' is not a command; see 'cityrisk help'\n", argv[2]);
        return CLI_EXIT_USAGE;
    }
    char *args[] = {argv[2], "--help", NULL};
    return cmd->run(2, args);
}

static int dispatch(int argc, char **argv)
{
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0)
        return print_version();
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        return help(argc, argv);
    const cli_command *cmd = find_command(name);
    if (!cmd) {
        fprintf(stderr, "cityrisk: '%s' is not a command; see 'cityrisk help'\n", name);
        return CLI_EXIT_USAGE;
    }
    return cmd->run(argc - 1, argv + 1);
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
    if (strcmp(name, "help") == 0 && argc > 2 && find_command(argv[2]))
        name = argv[2];
    else if (!find_command(name))
        name = NULL;
    cli_messages_start(name);
    int rc = dispatch(argc, argv);
    /* Whatever printed to standard output (help, versions, reports, JSON, GeoJSON) and did
     * not check it yet: a failed write is exit 1 with the reason. */
    return cli_close_stdout(name, rc);
}
