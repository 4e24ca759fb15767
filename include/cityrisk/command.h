/*
 * command.h: the table of cityrisk's commands.
 *
 * Each command (info, inundation, arrivals, score, zonal, map, run) is described once,
 * here in the library: its name, summary, usage text, arguments, the function that runs
 * it on its options and the one that turns its outcome into the summary it reports. The
 * command line's parsing and help, the pipeline file's keys and which of them name files,
 * and `cityrisk run`'s calls of its stages all come from this one table, so they cannot
 * drift apart; man pages and shell completion can be generated from it by walking it
 * (cr_command_count(), cr_command_get(), each command's args, cr_command_common_args()).
 *
 * An argument row says where its value lands: at offset bytes into the command's options
 * struct, which always begins with a cr_command_base (the options every command shares).
 * Arguments every command takes (-h, -q, --threads, --max-memory, --debug, --config) are
 * listed once, in cr_command_common_args(); those several share (-o, --overwrite, -co, --json, --qml,
 * the grid options) are written with the CR_OPT__* constructors below, each defined once,
 * as git's OPT__*.
 *
 * The program around the library (cli/ for `cityrisk`) provides what only a program
 * may do, through cr_command_hooks: printing, the progress bar, signals, exit codes.
 */
#ifndef CITYRISK_COMMAND_H
#define CITYRISK_COMMAND_H

#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>

#include "cityrisk/context.h"
#include "cityrisk/export.h"
#include "cityrisk/grid.h"
#include "cityrisk/qml.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What an argument's value is, and where it lands (the field at its offset). */
typedef enum cr_arg_type {
    CR_ARG_END = 0, /* ends a table of rows */
    CR_ARG_FLAG,    /* int, set to 1; takes no value */
    CR_ARG_STRING,  /* const char *, pointing into argv; the last one given wins */
    CR_ARG_INT,     /* int, decimal */
    CR_ARG_DOUBLE,  /* double, decimal and finite (not 0x10, inf or nan, as GDAL reads numbers) */
    CR_ARG_LIST,    /* char **, a CSL (CSLDestroy); repeatable: each occurrence appends */
    CR_ARG_CHOICE,  /* one of names: with parse, what parse makes of it; else its index in
                     * names, into an int (or an enum whose values are those indices) */
    CR_ARG_PARSED,  /* text handed to parse, which fills the field */
    CR_ARG_PAIR     /* KEY VALUE, two words: --config, applied at once (CPLSetConfigOption) */
} cr_arg_type;

/* What a value names: a file the command reads or writes, or neither. The pipeline
 * orders its stages by these, and compares the times of these files. */
typedef enum cr_arg_role {
    CR_ROLE_PARAMETER = 0,
    CR_ROLE_INPUT,
    CR_ROLE_OUTPUT
} cr_arg_role;

/* Flags of an argument row. */
#define CR_ARGF_POSITIONAL 0x1u      /* given without its name: info's FILE..., run's PIPELINE */
#define CR_ARGF_NAMED_FILE 0x2u      /* the value is NAME=FILE[:BAND], of which FILE is the file */
#define CR_ARGF_NOT_IN_PIPELINE 0x4u /* not a key of a pipeline stage (--json, --help) */
#define CR_ARGF_NO_EFFECT 0x8u       /* changes no output (-q, --threads, --debug, --json): left
                                      * out of the command line recorded as the outputs' provenance */
#define CR_ARGF_NUMBER_OR_PATH 0x10u /* an input file unless the value is a number (cr_number_finite):
                                      * --vlm RASTER|VALUE; see cr_arg_names_file() */

/* Parses text into the field at dest, or fails with CR_E_USAGE and a message quoting it. */
typedef cr_status (*cr_arg_parse_fn)(cr_ctx *ctx, const char *text, void *dest);

/* Checks a value just stored at dest, as soon as it is read (--threads' bounds); option is
 * the argument as written. */
typedef cr_status (*cr_arg_check_fn)(cr_ctx *ctx, const char *option, const void *dest);

/* One argument of a command. */
typedef struct cr_arg {
    const char *name;       /* long name without dashes, "sea" for --sea; a pipeline key */
    const char *short_name; /* "o" for -o, "co" for -co; NULL when none */
    cr_arg_type type;
    cr_arg_role role;
    unsigned flags;         /* CR_ARGF_* */
    size_t offset;          /* of its field in the command's options struct */
    const char *metavar;    /* the value in help, "FILE"; NULL for flags */
    const char *help;       /* one line */
    const char *const *names; /* CR_ARG_CHOICE: the values, NULL-terminated */
    cr_arg_parse_fn parse;  /* CR_ARG_PARSED; CR_ARG_CHOICE when not by index */
    cr_arg_check_fn check;  /* NULL, or a check of the value as soon as it is read */
} cr_arg;

/* The options every command shares, first in each command's options struct. */
typedef struct cr_command_base {
    int help;                    /* -h, --help */
    int quiet;                   /* -q, --quiet */
    int threads;                 /* --threads N; 0: all cores */
    const char *max_memory;      /* --max-memory SIZE (cr_memory_parse()); NULL: the default,
                                  * CITYRISK_MAX_MEMORY or half the RAM (cr_ctx_max_memory()) */
    int debug;                   /* --debug */
    int json;                    /* --json */
    int qml;                     /* --qml: a QGIS style beside the output */
    int overwrite;               /* --overwrite */
    char **creation_options;     /* -co NAME=VALUE, a CSL */
    const char *output;          /* -o: the main output, beside which a style goes */
    cr_grid_spec grid;           /* --grid, --crs, --resolution, --bounds (CR_OPT__GRID) */
    const char *const *styles;   /* set by cr_command_run() for the run function: the style
                                  * to check with the output before any work, NULL-terminated */
} cr_command_base;

/* What a command reports when it ends. Free with cr_command_result_clear(). */
typedef struct cr_command_result {
    json_object *json;  /* its --json document; NULL without --json or when there is none */
    char *text;         /* lines (each ending in '\n'), NULL when none: a summary for stderr,
                         * each line to be prefixed with the command, not shown under -q;
                         * or, with is_report, a report for stdout, shown even under -q */
    int is_report;
    int wrote_stdout;   /* the output itself went to standard output (zonal -o -) */
    int failure_said;   /* the failure was already said through the hooks */
} cr_command_result;

/* Frees what the result holds and empties it. */
CR_API void cr_command_result_clear(cr_command_result *result);

typedef struct cr_command cr_command;
typedef struct cr_command_hooks cr_command_hooks;

/* One call of a command, as the hooks see it. */
typedef struct cr_command_call {
    const cr_command *command;
    int argc;
    char **argv;                 /* argv[0] is the command's name */
    void *opts;                  /* its options (a cr_command_base first); NULL until parsed */
    const cr_command_hooks *hooks;
    const char *within;          /* NULL; for a command another one runs, what it is there:
                                  * "pipeline 'p.json' stage score" */
    double progress_from, progress_to; /* its share of the progress bar: 0 to 1 alone */
    const char *provenance;      /* NULL: the outputs record argv (cr_command_recorded());
                                  * else this line, as run records its stages' */
    int concurrent;              /* other commands run at the same time in this process (run
                                  * -j N): no progress bar of its own */
} cr_command_call;

/* What run says of one of its stages as it goes, for the program to show: a line naming
 * the stage as it starts, a machine-readable event per stage (run --json). */
typedef struct cr_stage_event {
    const char *name;   /* the stage */
    int index, count;   /* its place among the stages that run this time, from 1 */
    const char *status; /* "started"; then "ran", "failed" or "interrupted" */
    const char *reason; /* why it runs ("input data/dem.tif changed since its last run") */
    double seconds;     /* how long it took; 0 when it starts */
    int exit_code;      /* its exit code when it ended; -1 when it starts */
    int concurrent;     /* other stages may run at the same time (run -j N, N > 1) */
} cr_stage_event;

/* What a program provides for the commands it runs. Every hook is required. */
struct cr_command_hooks {
    void *arg;
    /* A usage error in the arguments, or in how they fit together (one line). */
    void (*usage)(void *arg, const cr_command_call *call, const char *message);
    /* --help was given: show cr_command_help(). */
    void (*help)(void *arg, const cr_command_call *call);
    /* The arguments are parsed and the command is about to run: set up ctx (log sink,
     * progress, threads). A failure (with its message in ctx) is reported through end. */
    cr_status (*begin)(void *arg, const cr_command_call *call, cr_ctx *ctx);
    /* The command ended with status (its message in ctx) and result: say what it did or
     * why it failed. Returns the status the call ends with (a failure to write the
     * result turns success into one). */
    cr_status (*end)(void *arg, const cr_command_call *call, cr_ctx *ctx, cr_status status,
                     const cr_command_result *result);
    /* A line the command says while it works (run's "stage S (why)" at CR_LOG_INFO, which a
     * program may leave out when quiet or showing a progress bar; its failures at
     * CR_LOG_ERROR). */
    void (*say)(void *arg, const cr_command_call *call, cr_log_level level, const char *message);
    /* NULL, or what asked the program to stop ("SIGINT"). */
    const char *(*stopping)(void *arg);
    /* The exit code the program gives status, for messages that name it. */
    int (*exit_code)(void *arg, cr_status status);
    /* run's stage starts or ends (call is run's). From one thread at a time. */
    void (*stage)(void *arg, const cr_command_call *call, const cr_stage_event *event);
};

/* Flags of a command. */
#define CR_COMMAND_STAGE 0x1u /* may be a stage of a pipeline */

/* One command. */
struct cr_command {
    const char *name;        /* "score" */
    const char *summary;     /* one line, for `cityrisk help` */
    const char *synopsis;    /* after "usage: cityrisk NAME " */
    const char *description; /* paragraphs, wrapped by hand */
    const char *examples;    /* lines of shell */
    const cr_arg *args;      /* its arguments, ending with a CR_ARG_END row; the common ones
                              * (cr_command_common_args()) are not repeated */
    unsigned flags;          /* CR_COMMAND_* */
    size_t opts_size;        /* of its options struct, which begins with a cr_command_base */
    void (*init)(void *opts);  /* fills the defaults (the struct is zeroed first) */
    void (*clear)(void *opts); /* frees what check and run allocated; NULL when nothing
                                * (lists are freed by cr_command_opts_free()) */
    /* The rules across arguments, once all are read: required ones, exclusive pairs,
     * values read from several; CR_E_USAGE with a message. NULL when none. */
    cr_status (*check)(cr_ctx *ctx, void *opts);
    /* Runs the command on its options. The runner of `run` fills result itself (its
     * document is printed whatever happens); the others leave it to summarise. */
    cr_status (*run)(cr_ctx *ctx, void *opts, const cr_command_call *call, cr_command_result *result);
    /* The QGIS style it writes beside its output with --qml: its kind, and the options of
     * cr_qml_write() from its outcome. NULL for a command without --qml. */
    cr_qml_style (*style)(const void *opts, cr_qml_opts *qml);
    /* Its summary after a successful run: the --json document into result->json, or the
     * text into text (which becomes result->text, the line saying where the QGIS style went
     * added), and the result's flags. NULL when run says all there is. */
    void (*summarise)(const void *opts, FILE *text, cr_command_result *result);
};

/* The commands, in the order `cityrisk help` lists them. */
CR_API int cr_command_count(void);
CR_API const cr_command *cr_command_get(int i);

/* The command named name, NULL when none. */
CR_API const cr_command *cr_command_find(const char *name);

/* The arguments every command takes after its own: -h/--help, -q/--quiet, --threads N,
 * --max-memory SIZE, --debug, --config KEY VALUE; ending with a CR_ARG_END row. */
CR_API const cr_arg *cr_command_common_args(void);

/* The row of the command's argument (or common one) with that long name, NULL when none. */
CR_API const cr_arg *cr_command_arg(const cr_command *cmd, const char *name);

/* 1 when value, given to arg, names a file: a row of an input or output role, unless it is
 * CR_ARGF_NUMBER_OR_PATH and value parses as a number (then it is a parameter's value, and
 * the pipeline neither resolves nor fingerprints it); 0 otherwise. */
CR_API int cr_arg_names_file(const cr_arg *arg, const char *value);

/* Whether the command writes a QGIS style beside its output with --qml. */
CR_API int cr_command_has_style(const cr_command *cmd);

/* A new options struct of the command with its defaults, NULL when out of memory. Free
 * with cr_command_opts_free(). */
CR_API void *cr_command_opts_new(const cr_command *cmd);

/* Frees the options, their lists and what the command allocated in them. Accepts NULL. */
CR_API void cr_command_opts_free(const cr_command *cmd, void *opts);

/* Parses argv (argv[0] is the command's name) into opts, fresh from cr_command_opts_new():
 * GDAL-style names (-o, -co, --sea, --name=value; -- ends the options; - is a value), each
 * value by its row's type, the common arguments (--config applied at once), then, unless
 * --help was given, the choices and parsed values and the command's check. Fails with
 * CR_E_USAGE and a one-line message ("unknown option '--bogus'", "--sea-band wants a whole
 * number, not 'x'", "--missing: unknown value 'x' (nodata, renormalise)"). */
CR_API cr_status cr_command_parse(cr_ctx *ctx, const cr_command *cmd, int argc, char **argv,
                                  void *opts);

/* What `cityrisk run` checks of every stage before any runs: argv read as
 * cr_command_parse() reads it up to the choices and parsed values (which a stage's run
 * reports): unknown options, values missing or of the wrong type, arguments left over.
 * CR_E_USAGE with the message. */
CR_API cr_status cr_command_check_syntax(cr_ctx *ctx, const cr_command *cmd, int argc, char **argv);

/* argv as the outputs' provenance records it: shell-quoted (cr_shell_quote()), as the user
 * typed it, without the arguments that change no output (CR_ARGF_NO_EFFECT: -q, --threads,
 * --debug, --json), so that the same inputs and options give the same bytes whatever the
 * thread count. A new string to free(), NULL when out of memory. */
CR_API char *cr_command_recorded(const cr_command *cmd, int argc, char **argv);

/* Records cr_command_recorded() as the command line of the outputs' provenance
 * (cr_ctx_set_command_line()). */
CR_API cr_status cr_command_provenance(cr_ctx *ctx, const cr_command *cmd, int argc, char **argv);

/* The command's help: usage, description, options (its own, then the common ones) and
 * examples. A new string to free(), NULL when out of memory. */
CR_API char *cr_command_help(const cr_command *cmd);

/* The man page of the command, cityrisk-NAME(1), in roff (man(7)): name and summary,
 * synopsis, description, options (its own, then the common ones, with their values and
 * the values of choices), examples, exit status, and the other pages. With cmd NULL, the
 * page of the program, cityrisk(1): every command with its summary, the common options,
 * an example of each. version goes in the page's footer ("0.1.0"; NULL: none). A new
 * string to free(), NULL when out of memory. */
CR_API char *cr_command_man(const cr_command *cmd, const char *version);

/* A bash completion script for cityrisk: sourced, it defines _cityrisk and registers it
 * (complete -F _cityrisk cityrisk). It completes the commands after `cityrisk` and
 * `cityrisk help`, each command's options (long and short), the values of its choices,
 * and file names for its input and output files and positional arguments (with
 * bash-completion's _filedir when that is loaded). A new string to free(), NULL when out
 * of memory. */
CR_API char *cr_command_completion_bash(void);

/* Runs the command on parsed options, with what every command does around its work: the
 * QGIS style path (--qml) is checked with the output, against the inputs, before any work;
 * then the run; then the style is written (a failure to write it is CR_E_IO: the output
 * is written, its style is not); then the summary, with "qml" in the --json document or a
 * line saying where the style went in the text.
 * call is the command's call (its hooks for a command that runs others). result is
 * emptied first. */
CR_API cr_status cr_command_run(cr_ctx *ctx, const cr_command *cmd, void *opts,
                                const cr_command_call *call, cr_command_result *result);

/* A whole call from argv: parses (a usage error goes to hooks->usage; --help to
 * hooks->help), records the provenance, then hooks->begin, cr_command_run(), hooks->end.
 * how gives the hooks, within and the progress share; the rest of the call is filled
 * here. Returns the status the call ends with; result holds what the command reported. */
CR_API cr_status cr_command_invoke(cr_ctx *ctx, const cr_command *cmd, int argc, char **argv,
                                   const cr_command_call *how, cr_command_result *result);

/* ---- Rows: constructors for the tables of geo/<stage>/<stage>_command.c ---- */

/* A row of the given type and role at FIELD of the options struct TYPE. */
#define CR_OPT_ROW(TYPE_, ROLE_, FLAGS_, NAME, SHORT, STRUCT, FIELD, METAVAR, HELP, NAMES, PARSE) \
    {(NAME), (SHORT), (TYPE_), (ROLE_), (FLAGS_), offsetof(STRUCT, FIELD), (METAVAR), (HELP),      \
     (NAMES), (PARSE), NULL}
#define CR_OPT_FLAG(NAME, STRUCT, FIELD, HELP)                                                     \
    CR_OPT_ROW(CR_ARG_FLAG, CR_ROLE_PARAMETER, 0, NAME, NULL, STRUCT, FIELD, NULL, HELP, NULL, NULL)
#define CR_OPT_STRING(NAME, SHORT, STRUCT, FIELD, METAVAR, HELP)                                   \
    CR_OPT_ROW(CR_ARG_STRING, CR_ROLE_PARAMETER, 0, NAME, SHORT, STRUCT, FIELD, METAVAR, HELP, NULL, NULL)
#define CR_OPT_INT(NAME, STRUCT, FIELD, METAVAR, HELP)                                             \
    CR_OPT_ROW(CR_ARG_INT, CR_ROLE_PARAMETER, 0, NAME, NULL, STRUCT, FIELD, METAVAR, HELP, NULL, NULL)
#define CR_OPT_DOUBLE(NAME, STRUCT, FIELD, METAVAR, HELP)                                          \
    CR_OPT_ROW(CR_ARG_DOUBLE, CR_ROLE_PARAMETER, 0, NAME, NULL, STRUCT, FIELD, METAVAR, HELP, NULL, NULL)
#define CR_OPT_LIST(NAME, SHORT, STRUCT, FIELD, METAVAR, HELP)                                     \
    CR_OPT_ROW(CR_ARG_LIST, CR_ROLE_PARAMETER, 0, NAME, SHORT, STRUCT, FIELD, METAVAR, HELP, NULL, NULL)
/* A file the command reads, and one it writes. */
#define CR_OPT_INPUT(NAME, STRUCT, FIELD, METAVAR, HELP)                                           \
    CR_OPT_ROW(CR_ARG_STRING, CR_ROLE_INPUT, 0, NAME, NULL, STRUCT, FIELD, METAVAR, HELP, NULL, NULL)
#define CR_OPT_OUTPUT_FILE(NAME, STRUCT, FIELD, METAVAR, HELP)                                     \
    CR_OPT_ROW(CR_ARG_STRING, CR_ROLE_OUTPUT, 0, NAME, NULL, STRUCT, FIELD, METAVAR, HELP, NULL, NULL)
/* One of NAMES, stored as its index (an int field). */
#define CR_OPT_CHOICE(NAME, STRUCT, FIELD, METAVAR, NAMES, HELP)                                   \
    CR_OPT_ROW(CR_ARG_CHOICE, CR_ROLE_PARAMETER, 0, NAME, NULL, STRUCT, FIELD, METAVAR, HELP, NAMES, NULL)
/* One of NAMES, made into the field by PARSE (its own message when it is none). */
#define CR_OPT_CHOICE_PARSED(NAME, SHORT, STRUCT, FIELD, METAVAR, NAMES, PARSE, HELP)              \
    CR_OPT_ROW(CR_ARG_CHOICE, CR_ROLE_PARAMETER, 0, NAME, SHORT, STRUCT, FIELD, METAVAR, HELP, NAMES, PARSE)
/* Text made into the field by PARSE. */
#define CR_OPT_PARSED(NAME, STRUCT, FIELD, METAVAR, PARSE, HELP)                                   \
    CR_OPT_ROW(CR_ARG_PARSED, CR_ROLE_PARAMETER, 0, NAME, NULL, STRUCT, FIELD, METAVAR, HELP, NULL, PARSE)
/* What ends a table. */
#define CR_OPT_END {NULL, NULL, CR_ARG_END, CR_ROLE_PARAMETER, 0, 0, NULL, NULL, NULL, NULL, NULL}

/* The arguments several commands share, each defined once (fields of cr_command_base). */
#define CR_OPT__OUTPUT(HELP)                                                                       \
    CR_OPT_ROW(CR_ARG_STRING, CR_ROLE_OUTPUT, 0, "output", "o", cr_command_base, output, "FILE",    \
               HELP, NULL, NULL)
#define CR_OPT__OVERWRITE                                                                          \
    CR_OPT_FLAG("overwrite", cr_command_base, overwrite, "replace existing outputs")
#define CR_OPT__CREATION_OPTION                                                                    \
    CR_OPT_LIST("creation-option", "co", cr_command_base, creation_options, "NAME=VALUE",          \
                "COG creation option")
#define CR_OPT__JSON_HELP(HELP)                                                                    \
    CR_OPT_ROW(CR_ARG_FLAG, CR_ROLE_PARAMETER, CR_ARGF_NOT_IN_PIPELINE | CR_ARGF_NO_EFFECT, "json", \
               NULL, cr_command_base, json, NULL, HELP, NULL, NULL)
#define CR_OPT__JSON CR_OPT__JSON_HELP("print a summary as JSON on stdout")
#define CR_OPT__QML                                                                                \
    CR_OPT_FLAG("qml", cr_command_base, qml, "also write a QGIS style beside the output (NAME.qml)")

/* The grid options: --grid REF, or --crs CRS --resolution M [--bounds XMIN,YMIN,XMAX,YMAX],
 * into the base's grid (cr_grid_spec). The parser applies cr_grid_spec_check() to every
 * command, so the same combinations fail with the same messages (exit 2) everywhere; the
 * command's run hands the spec to cr_grid_from_spec(). GRID_HELP says what --grid does
 * and the default grid, BOUNDS_HELP the extent without --bounds. */
#define CR_OPT__GRID(GRID_HELP, BOUNDS_HELP)                                                       \
    CR_OPT_ROW(CR_ARG_STRING, CR_ROLE_INPUT, 0, "grid", NULL, cr_command_base, grid.ref, "REF",     \
               GRID_HELP, NULL, NULL),                                                             \
    CR_OPT_ROW(CR_ARG_STRING, CR_ROLE_PARAMETER, 0, "crs", NULL, cr_command_base, grid.crs, "CRS",  \
               "grid CRS instead of --grid, e.g. EPSG:32736 (with --resolution)", NULL, NULL),     \
    CR_OPT_ROW(CR_ARG_PARSED, CR_ROLE_PARAMETER, 0, "resolution", NULL, cr_command_base,            \
               grid.resolution, "M", "grid cell size in --crs units (snapped as gdalwarp -tap)",  \
               NULL, cr_arg_parse_resolution),                                                     \
    CR_OPT_ROW(CR_ARG_PARSED, CR_ROLE_PARAMETER, 0, "bounds", NULL, cr_command_base, grid,         \
               "XMIN,YMIN,XMAX,YMAX", BOUNDS_HELP, NULL, cr_arg_parse_bounds)

/* --tile I/N and --window XOFF,YOFF,XSIZE,YSIZE of the commands that compute one part of a
 * grid (include/cityrisk/tile.h), both into the cr_tile_spec MEMBER of STRUCT. */
#define CR_OPT__TILE(STRUCT, MEMBER, TILE_HELP, WINDOW_HELP)                                       \
    CR_OPT_PARSED("tile", STRUCT, MEMBER, "I/N", cr_arg_parse_tile, TILE_HELP),                    \
    CR_OPT_PARSED("window", STRUCT, MEMBER, "XOFF,YOFF,XSIZE,YSIZE", cr_arg_parse_window, WINDOW_HELP)

/* The parsers of CR_OPT__TILE's rows: cr_tile_parse() and cr_tile_parse_window() into the
 * cr_tile_spec at dest. */
CR_API cr_status cr_arg_parse_tile(cr_ctx *ctx, const char *text, void *dest);
CR_API cr_status cr_arg_parse_window(cr_ctx *ctx, const char *text, void *dest);

/* The parsers of CR_OPT__GRID's rows: a positive, finite number into a double; bounds
 * (cr_bounds_parse()) into the cr_grid_spec at dest, setting its has_bounds. */
CR_API cr_status cr_arg_parse_resolution(cr_ctx *ctx, const char *text, void *dest);
CR_API cr_status cr_arg_parse_bounds(cr_ctx *ctx, const char *text, void *dest);

#ifdef __cplusplus
}
#endif

#endif
