/* parse.c: one table-driven reader of every command's arguments, and the arguments every
 * command shares. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_multiproc.h>
#include <cpl_string.h>

#include "cityrisk/command.h"
#include "cityrisk/tile.h"
#include "cityrisk/number.h"

/* The most --threads per core: more threads than cores only wait, and each holds buffers. */
#define THREADS_PER_CORE 4

/* --threads is 1 to 4 per core (the cores GDAL counts, as the default "all cores" does). */
static cr_status check_threads(cr_ctx *ctx, const char *option, const void *dest)
{
    (void)option;
    int threads = *(const int *)dest;
    int cores = CPLGetNumCPUs() > 0 ? CPLGetNumCPUs() : 1;
    int most = cores > INT_MAX / THREADS_PER_CORE ? INT_MAX : THREADS_PER_CORE * cores;
    if (threads >= 1 && threads <= most)
        return CR_OK;
    return cr_ctx_fail(ctx, CR_E_USAGE,
                       "--threads %d is outside 1 .. %d (at most %d per core; this machine has %d)",
                       threads, most, THREADS_PER_CORE, cores);
}

/* --max-memory is a size cr_memory_parse() reads ("512MB", "2G", "25%"; a plain number is MB). */
static cr_status check_max_memory(cr_ctx *ctx, const char *option, const void *dest)
{
    (void)option;
    const char *text = *(const char *const *)dest;
    if (cr_memory_parse(text) > 0)
        return CR_OK;
    return cr_ctx_fail(ctx, CR_E_USAGE,
                       "--max-memory '%s' is not a size (e.g. 512MB, 2G, 25%% of the RAM; a plain "
                       "number is MB)",
                       text);
}

static const cr_arg COMMON[] = {
    {"help", "h", CR_ARG_FLAG, CR_ROLE_PARAMETER, CR_ARGF_NOT_IN_PIPELINE,
     offsetof(cr_command_base, help), NULL, "show this help and exit", NULL, NULL, NULL},
    {"quiet", "q", CR_ARG_FLAG, CR_ROLE_PARAMETER, CR_ARGF_NO_EFFECT,
     offsetof(cr_command_base, quiet), NULL, "no progress bar and no warnings on stderr", NULL, NULL,
     NULL},
    {"threads", NULL, CR_ARG_INT, CR_ROLE_PARAMETER, CR_ARGF_NO_EFFECT,
     offsetof(cr_command_base, threads), "N", "worker threads, 1 to 4 per core (default: all cores)",
     NULL, NULL, check_threads},
    {"max-memory", NULL, CR_ARG_STRING, CR_ROLE_PARAMETER, CR_ARGF_NO_EFFECT,
     offsetof(cr_command_base, max_memory), "SIZE",
     "the most memory to hold, GDAL's cache included: 512MB, 2G, 25% (default: "
     "CITYRISK_MAX_MEMORY, else half the RAM)",
     NULL, NULL, check_max_memory},
    {"debug", NULL, CR_ARG_FLAG, CR_ROLE_PARAMETER, CR_ARGF_NO_EFFECT,
     offsetof(cr_command_base, debug), NULL, "also print GDAL and GEOS debug messages", NULL, NULL,
     NULL},
    {"config", NULL, CR_ARG_PAIR, CR_ROLE_PARAMETER, 0, 0, "KEY VALUE",
     "set a GDAL configuration option", NULL, NULL, NULL},
    CR_OPT_END,
};

const cr_arg *cr_command_common_args(void)
{
    return COMMON;
}

/* 1 when arg names the row: "-co", "--long", or "--long=value" (*inline_value set). GDAL's
 * --config takes its two words apart, never "=". */
static int matches(const cr_arg *a, const char *arg, const char **inline_value)
{
    *inline_value = NULL;
    if (a->flags & CR_ARGF_POSITIONAL)
        return 0;
    if (a->short_name && arg[0] == '-' && strcmp(arg + 1, a->short_name) == 0)
        return 1;
    if (arg[0] != '-' || arg[1] != '-')
        return 0;
    size_t n = strlen(a->name);
    if (strncmp(arg + 2, a->name, n) != 0)
        return 0;
    if (arg[2 + n] == '\0')
        return 1;
    if (arg[2 + n] == '=' && a->type != CR_ARG_FLAG && a->type != CR_ARG_PAIR) {
        *inline_value = arg + 2 + n + 1;
        return 1;
    }
    return 0;
}

/* The row arg names, the command's own before the common ones; NULL when none. */
static const cr_arg *find_row(const cr_command *cmd, const char *arg, const char **inline_value)
{
    for (const cr_arg *a = cmd->args; a->type != CR_ARG_END; a++)
        if (matches(a, arg, inline_value))
            return a;
    for (const cr_arg *a = COMMON; a->type != CR_ARG_END; a++)
        if (matches(a, arg, inline_value))
            return a;
    return NULL;
}

/* One word of argv, as the table reads it. */
typedef struct token {
    const cr_arg *row;    /* NULL for a positional argument */
    const char *value;    /* the value of an option that takes one (after '=', or the next word) */
    int words;            /* the words it takes: 1, 2 for an option and its value, 3 for --config */
} token;

/* Reads the word at argv[i] into *t; fails on an unknown option or a missing value.
 * *only_positional is set by "--" (which takes one word and is nothing else). */
static cr_status read_token(cr_ctx *ctx, const cr_command *cmd, int argc, char **argv, int i,
                            int *only_positional, token *t)
{
    const char *arg = argv[i];
    *t = (token){NULL, NULL, 1};
    if (*only_positional || arg[0] != '-' || strcmp(arg, "-") == 0)
        return CR_OK;
    if (strcmp(arg, "--") == 0) {
        *only_positional = 1;
        t->words = 0; /* neither an option nor a positional argument */
        return CR_OK;
    }
    t->row = find_row(cmd, arg, &t->value);
    if (!t->row)
        return cr_ctx_fail(ctx, CR_E_USAGE, "unknown option '%s'", arg);
    if (t->row->type == CR_ARG_PAIR) {
        if (i + 2 >= argc)
            return cr_ctx_fail(ctx, CR_E_USAGE, "--%s wants %s", t->row->name, t->row->metavar);
        t->words = 3;
    } else if (t->row->type != CR_ARG_FLAG && !t->value) {
        if (i + 1 >= argc)
            return cr_ctx_fail(ctx, CR_E_USAGE, "%s wants a value (%s)", arg,
                               t->row->metavar ? t->row->metavar : "VALUE");
        t->value = argv[i + 1];
        t->words = 2;
    }
    return CR_OK;
}

/* Stores the value of a typed row; choices and parsed values wait (deferred). */
static cr_status store(cr_ctx *ctx, const cr_arg *a, const char *arg, const char *value, void *opts,
                       char **argv, int i)
{
    void *field = (char *)opts + a->offset;
    char *end = NULL;
    errno = 0;
    switch (a->type) {
    case CR_ARG_FLAG: *(int *)field = 1; break;
    case CR_ARG_STRING: *(const char **)field = value; break;
    case CR_ARG_INT: {
        long v = strtol(value, &end, 10);
        if (!*value || *end || errno || v < INT_MIN || v > INT_MAX)
            return cr_ctx_fail(ctx, CR_E_USAGE, "%s wants a whole number, not '%s'", arg, value);
        *(int *)field = (int)v;
        break;
    }
    case CR_ARG_DOUBLE:
        if (!cr_number_finite(value, (double *)field))
            return cr_ctx_fail(ctx, CR_E_USAGE, "%s wants a number, not '%s'", arg, value);
        break;
    case CR_ARG_LIST: *(char ***)field = CSLAddString(*(char ***)field, value); break;
    case CR_ARG_PAIR: /* GDAL's --config, at once: later options may depend on it */
        CPLSetConfigOption(argv[i + 1], argv[i + 2]);
        break;
    case CR_ARG_CHOICE:
    case CR_ARG_PARSED:
    case CR_ARG_END: break;
    }
    return a->check ? a->check(ctx, arg, field) : CR_OK;
}

/* A choice or a parsed value into its field. */
static cr_status convert(cr_ctx *ctx, const cr_arg *a, const char *text, void *opts)
{
    void *field = (char *)opts + a->offset;
    if (a->parse)
        return a->parse(ctx, text, field);
    for (int k = 0; a->names && a->names[k]; k++)
        if (strcmp(text, a->names[k]) == 0) {
            memcpy(field, &k, sizeof k);
            return CR_OK;
        }
    char list[256] = "";
    for (int k = 0; a->names && a->names[k]; k++) {
        strncat(list, k ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, a->names[k], sizeof list - strlen(list) - 1);
    }
    return cr_ctx_fail(ctx, CR_E_USAGE, "--%s: unknown value '%s' (%s)", a->name, text, list);
}

/* The command's row for arguments given without a name, NULL when it takes none. */
static const cr_arg *positional_row(const cr_command *cmd)
{
    for (const cr_arg *a = cmd->args; a->type != CR_ARG_END; a++)
        if (a->flags & CR_ARGF_POSITIONAL)
            return a;
    return NULL;
}

cr_status cr_arg_parse_tile(cr_ctx *ctx, const char *text, void *dest)
{
    return cr_tile_parse(ctx, text, dest);
}

cr_status cr_arg_parse_window(cr_ctx *ctx, const char *text, void *dest)
{
    return cr_tile_parse_window(ctx, text, dest);
}

cr_status cr_arg_parse_resolution(cr_ctx *ctx, const char *text, void *dest)
{
    double *v = dest;
    if (!cr_number_finite(text, v))
        return cr_ctx_fail(ctx, CR_E_USAGE, "--resolution wants a number, not '%s'", text);
    if (!(*v > 0))
        return cr_ctx_fail(ctx, CR_E_USAGE, "--resolution wants a positive number of CRS units, not '%s'", text);
    return CR_OK;
}

cr_status cr_arg_parse_bounds(cr_ctx *ctx, const char *text, void *dest)
{
    cr_grid_spec *spec = dest;
    spec->has_bounds = 1;
    return cr_bounds_parse(ctx, text, &spec->bounds);
}

/* Reads argv into opts; full goes on past the syntax: choices, parsed values, check. */
static cr_status parse(cr_ctx *ctx, const cr_command *cmd, int argc, char **argv, void *opts, int full)
{
    int nrows = 0;
    while (cmd->args[nrows].type != CR_ARG_END)
        nrows++;
    /* The text of each choice and parsed value, the last one given: converted once the
     * syntax is known good, in the table's order. */
    const char **deferred = calloc((size_t)nrows + 1, sizeof *deferred);
    if (!deferred)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    const cr_arg *positional = positional_row(cmd);
    const char *surplus = NULL; /* the first argument no row takes */
    int only_positional = 0;
    cr_status st = CR_OK;
    for (int i = 1; st == CR_OK && i < argc;) {
        token t;
        st = read_token(ctx, cmd, argc, argv, i, &only_positional, &t);
        if (st != CR_OK)
            break;
        if (t.words == 0) {
            i++;
            continue;
        }
        if (!t.row && positional)
            st = store(ctx, positional, argv[i], argv[i], opts, argv, i);
        else if (!t.row && !surplus)
            surplus = argv[i];
        else if (t.row && (t.row->type == CR_ARG_CHOICE || t.row->type == CR_ARG_PARSED))
            deferred[t.row - cmd->args] = t.value;
        else if (t.row)
            st = store(ctx, t.row, argv[i], t.value, opts, argv, i);
        i += t.words;
    }
    const cr_command_base *base = opts;
    if (st == CR_OK && !base->help && surplus)
        st = cr_ctx_fail(ctx, CR_E_USAGE, "unexpected argument '%s'", surplus);
    for (int k = 0; st == CR_OK && full && !base->help && k < nrows; k++)
        if (deferred[k])
            st = convert(ctx, &cmd->args[k], deferred[k], opts);
    /* The budget's configured default (an environment variable or --config, just applied),
     * checked here so that a typo is a usage error, not a silent "half the RAM". */
    const char *configured = CPLGetConfigOption("CITYRISK_MAX_MEMORY", NULL);
    if (st == CR_OK && full && !base->help && configured && cr_memory_parse(configured) <= 0)
        st = cr_ctx_fail(ctx, CR_E_USAGE,
                         "CITYRISK_MAX_MEMORY '%s' is not a size (e.g. 512MB, 2G, 25%% of the RAM; "
                         "a plain number is MB)",
                         configured);
    /* The grid options' rules, once for every command (a command without them passes). */
    if (st == CR_OK && full && !base->help)
        st = cr_grid_spec_check(ctx, &base->grid);
    if (st == CR_OK && full && !base->help && cmd->check)
        st = cmd->check(ctx, opts);
    free(deferred);
    return st;
}

cr_status cr_command_parse(cr_ctx *ctx, const cr_command *cmd, int argc, char **argv, void *opts)
{
    return parse(ctx, cmd, argc, argv, opts, 1);
}

cr_status cr_command_check_syntax(cr_ctx *ctx, const cr_command *cmd, int argc, char **argv)
{
    void *opts = cr_command_opts_new(cmd);
    cr_status st = opts ? parse(ctx, cmd, argc, argv, opts, 0) : cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    cr_command_opts_free(cmd, opts);
    return st;
}

char *cr_command_recorded(const cr_command *cmd, int argc, char **argv)
{
    char **kept = malloc((size_t)(argc > 0 ? argc : 1) * sizeof *kept);
    cr_ctx *ctx = cr_ctx_new(); /* read_token's messages: argv was parsed before */
    if (!kept || !ctx) {
        free(kept);
        cr_ctx_free(ctx);
        return NULL;
    }
    int n = 0, only_positional = 0;
    if (argc > 0)
        kept[n++] = argv[0];
    for (int i = 1; i < argc;) {
        token t;
        if (read_token(ctx, cmd, argc, argv, i, &only_positional, &t) != CR_OK) {
            cr_ctx_clear_error(ctx); /* parsed before: cannot happen; keep the rest as it is */
            t = (token){NULL, NULL, 1};
        }
        int words = t.words ? t.words : 1;
        for (int k = 0; k < words && i + k < argc; k++)
            if (!t.row || !(t.row->flags & CR_ARGF_NO_EFFECT))
                kept[n++] = argv[i + k];
        i += words;
    }
    char *line = cr_shell_quote(n, kept);
    free(kept);
    cr_ctx_free(ctx);
    return line;
}

cr_status cr_command_provenance(cr_ctx *ctx, const cr_command *cmd, int argc, char **argv)
{
    char *line = cr_command_recorded(cmd, argc, argv);
    cr_status st = line ? cr_ctx_set_command_line(ctx, line) : cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    free(line);
    return st;
}
