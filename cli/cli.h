/* cli.h: the cityrisk program: what only a program does around the library's command
 * table (messages, the progress bar, signals, standard output, exit codes). Only cli/
 * prints and exits; everything it computes comes from the library. */
#ifndef CITYRISK_CLI_H
#define CITYRISK_CLI_H

#include <stdio.h>

#include <json-c/json.h>

#include "cityrisk/command.h"
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

/* Runs the command on argv (argv[0] is its name) through the library's table with the
 * program's hooks (command.c); returns the exit code. */
int cli_command(const cr_command *cmd, int argc, char **argv);

/* Prints the command's help, generated from the table, and the exit codes to stdout. */
void cli_print_help(const cr_command *cmd);

/* Prints the exit codes, as `cityrisk help` and every command's --help end. */
void cli_print_exit_codes(FILE *out);

/* Makes SIGINT and SIGTERM stop the command cleanly: the library cancels at its next
 * progress report, removes its temporary files, and the command exits 128 + the signal
 * (130, 143). A second signal stops at once, after removing the temporary files the
 * library holds (told through the context's temp hook, see cli_prepare()). Signals
 * ignored at start stay ignored. */
void cli_catch_stop_signals(void);

/* The stop signal received so far, 0 when none. */
int cli_stop_signal(void);

/* How a command shows its progress. */
typedef enum cli_bar {
    CLI_BAR_NONE = 0,
    CLI_BAR_TERMINAL, /* GDAL's bar on the terminal */
    CLI_BAR_SHARE,    /* its share of the bar of the command that runs it (run's stages) */
    CLI_BAR_CONCURRENT /* none, and other commands run at the same time (run -j N's stages):
                        * the program's shared state (bar, messages) is left as it is */
} cli_bar;

/* Sets up the context of the command name: log to stderr at the level -q and --debug ask
 * for, the progress bar, the temporaries it holds remembered for a second stop signal,
 * the thread count; GDAL's drivers registered and its block cache bounded to 64 MB unless
 * GDAL_CACHEMAX is configured. from..to is the share of CLI_BAR_SHARE. */
void cli_prepare(cr_ctx *ctx, const char *name, const cr_command_base *base, cli_bar bar, double from,
                 double to);

/* Prints the context's error as "cityrisk NAME: message" ("interrupted by SIGINT: ..."
 * after a stop signal) and returns status. */
cr_status cli_fail(const char *name, cr_ctx *ctx, cr_status status);

/* Installs GDAL's global error handler, through which what no library context captured
 * (messages raised on GDAL's worker threads, or outside the library) is printed as
 * "cityrisk NAME: ...", or handed to the write in progress when it is a failure. name is
 * the command (NULL: "cityrisk: "). Called once, first thing. */
void cli_messages_start(const char *name);

/* The command whose messages follow, and the most verbose level shown; forgets which
 * warnings were printed. cli_prepare() calls it. */
void cli_messages_set(const char *name, cr_log_level level);

/* Prints "cityrisk NAME: [error: |warning: ]msg" on stderr, a warning or error only the
 * first time this command says it. Thread-safe. */
void cli_message(const char *name, cr_log_level level, const char *msg);

/* Prints text as a line of its own on stderr (after ending a progress bar's line). */
void cli_line(const char *text);

/* The progress bar on stderr: complete (0 to 1) drawn as GDAL draws its bar
 * (0...10...20 ... 100 - done.), a smaller value than the last one beginning a new bar.
 * Messages printed meanwhile start a line of their own. Thread-safe. */
void cli_bar_progress(double complete);

/* Forgets the bar drawn so far (ending its line if it stopped short): the next command's
 * bar begins at 0. */
void cli_bar_reset(void);

/* Why standard output could not be written (flushed now; a full disk, a closed pipe),
 * NULL when it could. */
const char *cli_stdout_error(void);

/* The last check of standard output, at exit: flushes and closes it; when that or an
 * earlier write failed and rc is CLI_EXIT_OK, prints "cannot write to standard output:
 * REASON" and returns CLI_EXIT_FAILURE. Returns rc otherwise. */
int cli_close_stdout(const char *name, int rc);

/* The exit code documented for a status. */
int cli_exit_code(cr_status status);

#endif
