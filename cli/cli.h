/* cli.h: what the subcommands of the cityrisk program share. Only cli/ prints and
 * exits; everything it computes comes from the library. */
#ifndef CITYRISK_CLI_H
#define CITYRISK_CLI_H

#include <stdio.h>

#include <json-c/json.h>

#include "cityrisk/context.h"

/* Exit codes (documented in docs/cli.md and `cityrisk help`). */
enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILURE = 1,   /* processing failure: I/O, library error */
    CLI_EXIT_USAGE = 2,     /* bad arguments */
    CLI_EXIT_DATA = 3,      /* invalid input data */
    CLI_EXIT_EXISTS = 4,    /* output exists and --overwrite was not given */
    CLI_EXIT_INTERRUPTED = 130, /* SIGINT, or a cancellation; 128 + N for signal N */
    CLI_EXIT_TERMINATED = 143   /* SIGTERM */
};

/* Kinds of option values. */
typedef enum cli_opt_type {
    CLI_OPT_END = 0, /* ends a table */
    CLI_OPT_FLAG,    /* sets an int to 1 */
    CLI_OPT_STRING,  /* const char *, the last one given wins */
    CLI_OPT_INT,     /* int */
    CLI_OPT_DOUBLE,  /* double */
    CLI_OPT_LIST     /* char ** (CSL), repeatable: each occurrence appends */
} cli_opt_type;

/* One row of an option table. flag is GDAL-style ("-o", "-co"), long_flag is
 * "--kebab-case"; either may be NULL. */
typedef struct cli_option {
    const char *flag;
    const char *long_flag;
    cli_opt_type type;
    void *dest;
    const char *metavar;
    const char *help;
} cli_option;

/* What every command documents about itself. */
typedef struct cli_usage {
    const char *name;        /* "info" */
    const char *synopsis;    /* "[options] FILE..." */
    const char *description; /* paragraphs, wrapped by hand */
    const char *examples;    /* lines of shell */
} cli_usage;

/* The most --threads per core (docs/cli.md). */
#define CLI_THREADS_PER_CORE 4

/* Options every command accepts, filled by cli_parse(). */
typedef struct cli_common {
    int help;
    int quiet;
    int threads;
    int debug;
} cli_common;

/* How `cityrisk run` runs the other commands in this process. */
typedef struct cli_run_state {
    const char *stage;   /* "pipeline 'p.json' stage score" while a stage runs or is checked */
    int check_only;      /* parsing stops after the options: the command returns 0 */
    int progress;        /* one bar for the whole run ... */
    double from, to;     /* ... of which the stage fills this part */
} cli_run_state;

extern cli_run_state cli_run;

/* Parses argv[1..] (argv[0] is the command name) against the command's table and
 * the common options (--help, -q/--quiet, --threads N, --config KEY VALUE, --debug).
 * --config options are applied at once. Positional arguments are returned in
 * *positional (a NULL-terminated array into argv, free() it) and their number in
 * *npositional. Returns 0 on success, 1 when --help was given (usage printed to
 * stdout), -1 on a usage error (message printed to stderr). */
int cli_parse(const cli_usage *usage, const cli_option *table, int argc, char **argv,
              cli_common *common, char ***positional, int *npositional);

/* cli_parse() for a command that takes no positional argument: returns -1 when the
 * command should go on, else its exit code: CLI_EXIT_OK after --help, CLI_EXIT_USAGE on a
 * usage error or an unexpected argument (message printed). */
int cli_parse_options(const cli_usage *usage, const cli_option *table, int argc, char **argv,
                      cli_common *common);

/* Prints the command's usage: synopsis, description, options, examples. */
void cli_print_usage(FILE *out, const cli_usage *usage, const cli_option *table);

/* Makes SIGINT and SIGTERM stop the command cleanly: the library cancels at its next
 * progress report, removes its temporary files, and the command exits 128 + the signal
 * (130, 143). A second signal stops at once, after removing the temporary files the
 * library holds (told through the context's temp hook, see cli_context()). Signals
 * ignored at start stay ignored. */
void cli_catch_stop_signals(void);

/* The stop signal received so far, 0 when none. */
int cli_stop_signal(void);

/* Prints the exit codes, as `cityrisk help` and every command's --help end. */
void cli_print_exit_codes(FILE *out);

/* Prints "cityrisk CMD: message" to stderr for a usage error, with a hint to --help;
 * returns CLI_EXIT_USAGE. */
int cli_usage_error(const cli_usage *usage, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Creates the library context for a command: log to stderr, progress bar on a
 * terminal unless quiet, the temporaries it holds remembered for a second stop signal,
 * thread count, the command line as provenance, GDAL's
 * block cache bounded to 64 MB unless GDAL_CACHEMAX is configured. Returns NULL
 * (message printed) when out of memory. */
cr_ctx *cli_context(const cli_usage *usage, const cli_common *common, int argc, char **argv);

/* Prints the context's error as "cityrisk CMD: message" and returns the exit code
 * for status. */
int cli_fail(const cli_usage *usage, cr_ctx *ctx, cr_status status);

/* The last error a command printed (cli_fail, cli_usage_error, cli_finish_stdout),
 * without the "cityrisk CMD: " prefix, or "" when none since cli_forget_error(): run
 * repeats the cause when a stage fails. */
const char *cli_last_error(void);
void cli_forget_error(void);

/* Sets what cli_last_error() returns; printf-style. */
void cli_remember_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Installs GDAL's global error handler, through which what no library context captured
 * (messages raised on GDAL's worker threads, or outside the library) is printed as
 * "cityrisk NAME: ...", or handed to the write in progress when it is a failure. name is
 * the command (NULL: "cityrisk: "). Called once, first thing. */
void cli_messages_start(const char *name);

/* The command whose messages follow, and the most verbose level shown; forgets which
 * warnings were printed. cli_context() calls it. */
void cli_messages_set(const char *name, cr_log_level level);

/* Prints "cityrisk NAME: [error: |warning: ]msg" on stderr, a warning or error only the
 * first time this command says it. Thread-safe. */
void cli_message(const char *name, cr_log_level level, const char *msg);

/* The last check of standard output, at exit: flushes and closes it; when that or an
 * earlier write failed and rc is CLI_EXIT_OK, prints "cannot write to standard output:
 * REASON" and returns CLI_EXIT_FAILURE. Returns rc otherwise. */
int cli_close_stdout(const char *name, int rc);

/* The exit code documented for a status. */
int cli_exit_code(cr_status status);

/* Writes a JSON document to stdout (pretty, one trailing newline) and checks the
 * stream; returns CLI_EXIT_OK or CLI_EXIT_FAILURE (message printed). */
int cli_print_json(const cli_usage *usage, json_object *doc);

/* Flushes stdout and reports a write error (a full disk, a closed pipe); returns
 * CLI_EXIT_OK or CLI_EXIT_FAILURE. */
int cli_finish_stdout(const cli_usage *usage);

/* The subcommands. */
int cli_cmd_info(int argc, char **argv);
int cli_cmd_inundation(int argc, char **argv);
int cli_cmd_arrivals(int argc, char **argv);
int cli_cmd_score(int argc, char **argv);
int cli_cmd_zonal(int argc, char **argv);
int cli_cmd_map(int argc, char **argv);
int cli_cmd_run(int argc, char **argv);

#endif
