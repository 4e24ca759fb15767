/* options.c: one table-driven parser for every subcommand's arguments. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_multiproc.h>
#include <cpl_string.h>

#include "cityrisk/number.h"
#include "cli.h"

/* The options every command shares; dest pointers are set per parse. */
enum { COMMON_HELP, COMMON_QUIET, COMMON_THREADS, COMMON_DEBUG, COMMON_COUNT };

static void common_table(cli_option table[COMMON_COUNT + 1], cli_common *c)
{
    cli_option rows[COMMON_COUNT + 1] = {
        [COMMON_HELP] = {"-h", "--help", CLI_OPT_FLAG, &c->help, NULL, "show this help and exit"},
        [COMMON_QUIET] = {"-q", "--quiet", CLI_OPT_FLAG, &c->quiet, NULL,
                          "no progress bar and no warnings on stderr"},
        [COMMON_THREADS] = {NULL, "--threads", CLI_OPT_INT, &c->threads, "N",
                            "worker threads, 1 to 4 per core (default: all cores)"},
        [COMMON_DEBUG] = {NULL, "--debug", CLI_OPT_FLAG, &c->debug, NULL,
                          "also print GDAL and GEOS debug messages"},
        [COMMON_COUNT] = {NULL, NULL, CLI_OPT_END, NULL, NULL, NULL},
    };
    memcpy(table, rows, sizeof rows);
}

int cli_usage_error(const cli_usage *usage, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cli_remember_error("%s", msg);
    if (cli_run.stage)
        fprintf(stderr, "cityrisk run: %s: %s\n", cli_run.stage, msg);
    else
        fprintf(stderr, "cityrisk %s: %s\nsee 'cityrisk %s --help'\n", usage->name, msg, usage->name);
    return CLI_EXIT_USAGE;
}

/* Matches arg against a row: "-co", "--long", or "--long=value" (value returned). */
static int matches(const cli_option *o, const char *arg, const char **inline_value)
{
    *inline_value = NULL;
    if (o->flag && strcmp(arg, o->flag) == 0)
        return 1;
    if (!o->long_flag)
        return 0;
    size_t n = strlen(o->long_flag);
    if (strncmp(arg, o->long_flag, n) != 0)
        return 0;
    if (arg[n] == '\0')
        return 1;
    if (arg[n] == '=' && o->type != CLI_OPT_FLAG) {
        *inline_value = arg + n + 1;
        return 1;
    }
    return 0;
}

static const cli_option *find(const cli_option *table, const cli_option *common, const char *arg,
                              const char **inline_value)
{
    for (const cli_option *o = table; o && o->type != CLI_OPT_END; o++)
        if (matches(o, arg, inline_value))
            return o;
    for (const cli_option *o = common; o->type != CLI_OPT_END; o++)
        if (matches(o, arg, inline_value))
            return o;
    return NULL;
}

/* Stores value into the row's destination; returns 0 and prints on a bad value. */
static int store(const cli_usage *usage, const cli_option *o, const char *arg, const char *value)
{
    char *end = NULL;
    errno = 0;
    switch (o->type) {
    case CLI_OPT_FLAG:
        *(int *)o->dest = 1;
        return 1;
    case CLI_OPT_STRING:
        *(const char **)o->dest = value;
        return 1;
    case CLI_OPT_INT: {
        long v = strtol(value, &end, 10);
        if (!*value || *end || errno || v < INT_MIN || v > INT_MAX) {
            cli_usage_error(usage, "%s wants a whole number, not '%s'", arg, value);
            return 0;
        }
        *(int *)o->dest = (int)v;
        return 1;
    }
    case CLI_OPT_DOUBLE: {
        double v; /* decimal only, as GDAL's utilities read numbers: not 0x10, inf or nan */
        if (!cr_number_finite(value, &v)) {
            cli_usage_error(usage, "%s wants a number, not '%s'", arg, value);
            return 0;
        }
        *(double *)o->dest = v;
        return 1;
    }
    case CLI_OPT_LIST:
        *(char ***)o->dest = CSLAddString(*(char ***)o->dest, value);
        return 1;
    case CLI_OPT_END:
        break;
    }
    return 0;
}

/* More threads than cores only wait, and each holds buffers: --threads is 1 to 4 per core
 * (the cores GDAL counts, as the default "all cores" does). 0 on a usage error (printed). */
static int check_threads(const cli_usage *usage, int threads)
{
    int cores = CPLGetNumCPUs() > 0 ? CPLGetNumCPUs() : 1;
    int most = cores > INT_MAX / CLI_THREADS_PER_CORE ? INT_MAX : CLI_THREADS_PER_CORE * cores;
    if (threads >= 1 && threads <= most)
        return 1;
    cli_usage_error(usage, "--threads %d is outside 1 .. %d (at most %d per core; this machine has %d)",
                    threads, most, CLI_THREADS_PER_CORE, cores);
    return 0;
}

int cli_parse(const cli_usage *usage, const cli_option *table, int argc, char **argv,
              cli_common *common, char ***positional, int *npositional)
{
    cli_option shared[COMMON_COUNT + 1];
    memset(common, 0, sizeof *common);
    common_table(shared, common);
    *npositional = 0;
    *positional = calloc((size_t)argc + 1, sizeof **positional);
    if (!*positional) {
        fprintf(stderr, "cityrisk %s: out of memory\n", usage->name);
        return -1;
    }
    int only_positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (only_positional || arg[0] != '-' || strcmp(arg, "-") == 0) {
            (*positional)[(*npositional)++] = argv[i];
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (strcmp(arg, "--config") == 0) { /* GDAL's: two values */
            if (i + 2 >= argc) {
                cli_usage_error(usage, "--config wants KEY VALUE");
                return -1;
            }
            CPLSetConfigOption(argv[i + 1], argv[i + 2]);
            i += 2;
            continue;
        }
        const char *value = NULL;
        const cli_option *o = find(table, shared, arg, &value);
        if (!o) {
            cli_usage_error(usage, "unknown option '%s'", arg);
            return -1;
        }
        if (o->type != CLI_OPT_FLAG && !value) {
            if (i + 1 >= argc) {
                cli_usage_error(usage, "%s wants a value (%s)", arg, o->metavar ? o->metavar : "VALUE");
                return -1;
            }
            value = argv[++i];
        }
        if (!store(usage, o, arg, value))
            return -1;
        if (o == &shared[COMMON_THREADS] && !check_threads(usage, common->threads))
            return -1;
    }
    if (common->help) {
        cli_print_usage(stdout, usage, table);
        return 1;
    }
    if (cli_run.check_only && *npositional == 0)
        return 1; /* `cityrisk run` checks a stage's arguments before anything runs */
    return 0;
}

static void print_rows(FILE *out, const cli_option *table)
{
    for (const cli_option *o = table; o && o->type != CLI_OPT_END; o++) {
        char names[96];
        snprintf(names, sizeof names, "%s%s%s%s%s", o->flag ? o->flag : "",
                 o->flag && o->long_flag ? ", " : "", o->long_flag ? o->long_flag : "",
                 o->metavar ? " " : "", o->metavar ? o->metavar : "");
        fprintf(out, "  %-28s %s\n", names, o->help);
    }
}

void cli_print_usage(FILE *out, const cli_usage *usage, const cli_option *table)
{
    cli_common unused;
    cli_option shared[COMMON_COUNT + 1];
    common_table(shared, &unused);
    fprintf(out, "usage: cityrisk %s %s\n\n%s\n\noptions:\n", usage->name, usage->synopsis,
            usage->description);
    print_rows(out, table);
    print_rows(out, shared);
    fprintf(out, "  %-28s %s\n", "--config KEY VALUE", "set a GDAL configuration option");
    fprintf(out, "\nexamples:\n%s\n", usage->examples);
    cli_print_exit_codes(out);
}

int cli_parse_options(const cli_usage *usage, const cli_option *table, int argc, char **argv,
                      cli_common *common)
{
    char **rest = NULL;
    int nrest = 0;
    int parsed = cli_parse(usage, table, argc, argv, common, &rest, &nrest);
    int rc = parsed > 0 ? CLI_EXIT_OK : parsed < 0 ? CLI_EXIT_USAGE : -1;
    if (rc == -1 && nrest > 0)
        rc = cli_usage_error(usage, "unexpected argument '%s'", rest[0]);
    free(rest);
    return rc;
}
