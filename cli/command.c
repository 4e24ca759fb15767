/* command.c: the program's side of every command, given to the library's command table
 * as hooks: usage errors and help, the context (log, progress bar), the result printed, the
 * lines `run` says, stop signals and exit codes. The commands themselves are the library's. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cityrisk/json.h"
#include "cli.h"

/* The command typed, which speaks for those it runs within itself (run's stages). */
typedef struct program {
    const char *name; /* "run" */
    int quiet; /* its -q */
    int json;  /* its --json */
    int bar;   /* it shows a progress bar: on a terminal, not quiet */
} program;

void cli_print_help(const cr_command *cmd)
{
    char *help = cr_command_help(cmd);
    if (help)
        fputs(help, stdout);
    else
        fprintf(stderr, "cityrisk %s: out of memory\n", cmd->name);
    free(help);
    cli_print_exit_codes(stdout);
}

static void usage(void *arg, const cr_command_call *call, const char *msg)
{
    const program *prog = arg;
    const char *name = call->command->name;
    if (call->within) /* "cityrisk run: pipeline 'p.json' stage score: ..." */
        fprintf(stderr, "cityrisk %s: %s: %s\n", prog->name, call->within, msg);
    else
        fprintf(stderr, "cityrisk %s: %s\nsee 'cityrisk %s --help'\n", name, msg, name);
}

static void help(void *arg, const cr_command_call *call)
{
    (void)arg;
    cli_print_help(call->command);
}

static cr_status begin(void *arg, const cr_command_call *call, cr_ctx *ctx)
{
    program *prog = arg;
    const cr_command_base *base = call->opts;
    if (!call->within) {
        prog->quiet = base->quiet;
        prog->json = base->json;
        /* no bar over what a command writes on standard output (zonal -o -) */
        prog->bar = !base->quiet && isatty(STDERR_FILENO) &&
                    !(base->output && strcmp(base->output, "-") == 0);
    }
    /* stages run at once share the terminal: no bar, their starts and ends said by run */
    cli_bar bar = call->concurrent ? CLI_BAR_CONCURRENT
                  : !prog->bar     ? CLI_BAR_NONE
                  : call->within   ? CLI_BAR_SHARE
                                   : CLI_BAR_TERMINAL;
    cli_prepare(ctx, call->command->name, base, bar, call->progress_from, call->progress_to);
    return CR_OK;
}

/* Standard output after the command wrote to it: a failed write fails the command, with
 * the reason. */
static cr_status stdout_written(const char *name, cr_ctx *ctx)
{
    const char *why = cli_stdout_error();
    if (!why)
        return CR_OK;
    cr_status st = cr_ctx_fail(ctx, CR_E_IO, "cannot write to standard output: %s", why);
    return cli_fail(name, ctx, st);
}

/* The JSON document on stdout: pretty, one trailing newline. */
static cr_status print_json(const char *name, cr_ctx *ctx, json_object *doc)
{
    char *text = cr_json_text( /* valid UTF-8 whatever names and paths held */
        doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!text)
        return cli_fail(name, ctx, cr_ctx_fail(ctx, CR_E_IO, "out of memory"));
    fputs(text, stdout);
    fputc('\n', stdout);
    free(text);
    return stdout_written(name, ctx);
}

/* Each line of a summary on stderr, as "cityrisk NAME: line" (a line of its own, after a
 * bar's). */
static void print_lines(const char *name, const char *text)
{
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        size_t size = strlen(name) + n + 16;
        char *full = malloc(size);
        if (full) {
            snprintf(full, size, "cityrisk %s: %.*s", name, (int)n, line);
            cli_line(full);
        }
        free(full);
        line += n + (end != NULL);
    }
}

static cr_status end(void *arg, const cr_command_call *call, cr_ctx *ctx, cr_status st,
                     const cr_command_result *result)
{
    (void)arg;
    const char *name = call->command->name;
    const cr_command_base *base = call->opts;
    if (st != CR_OK) {
        if (!result->failure_said)
            cli_fail(name, ctx, st);
        if (result->json && !call->within) /* run's document says how far it went */
            print_json(name, ctx, result->json);
        return st;
    }
    if (result->wrote_stdout)
        return stdout_written(name, ctx);
    if (result->json) /* a stage's is the run's to print */
        return call->within ? CR_OK : print_json(name, ctx, result->json);
    if (result->text && result->is_report) {
        fputs(result->text, stdout);
        return stdout_written(name, ctx);
    }
    if (result->text && !base->quiet)
        print_lines(name, result->text);
    return CR_OK;
}

static void say(void *arg, const cr_command_call *call, cr_log_level level, const char *msg)
{
    const program *prog = arg;
    if (level >= CR_LOG_INFO && (prog->quiet || prog->bar))
        return; /* what runs is said by the bar, or not at all */
    char line[4096];
    snprintf(line, sizeof line, "cityrisk %s: %s", call->command->name, msg);
    cli_line(line);
}

/* run's stages as they start and end: on a terminal "[3/8] score-ssp245-2100" on its own
 * line before the stage's bar (and its end when stages run at once, without bars); with
 * --json one JSON object per line on stderr, for wrappers that follow a long run; under -q
 * nothing. Elsewhere run says "[3/8] NAME (why)" itself. */
static void stage(void *arg, const cr_command_call *call, const cr_stage_event *ev)
{
    const program *prog = arg;
    int started = strcmp(ev->status, "started") == 0;
    char line[1200];
    if (prog->quiet)
        return;
    if (prog->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "stage", json_object_new_string(ev->name));
        json_object_object_add(o, "status", json_object_new_string(ev->status));
        json_object_object_add(o, "index", json_object_new_int(ev->index));
        json_object_object_add(o, "count", json_object_new_int(ev->count));
        if (started)
            json_object_object_add(o, "reason", json_object_new_string(ev->reason ? ev->reason : ""));
        else {
            json_object_object_add(o, "seconds", cr_json_number(ev->seconds, 3));
            json_object_object_add(o, "exit", json_object_new_int(ev->exit_code));
        }
        char *text = cr_json_text(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        json_object_put(o);
        if (text)
            cli_line(text);
        free(text);
        return;
    }
    if (!prog->bar)
        return;
    if (started)
        snprintf(line, sizeof line, "[%d/%d] %s", ev->index, ev->count, ev->name);
    else if (ev->concurrent)
        snprintf(line, sizeof line, "[%d/%d] %s %s in %.1f s", ev->index, ev->count, ev->name, ev->status,
                 ev->seconds);
    else
        return; /* its bar said it */
    (void)call;
    cli_line(line);
}

static const char *stopping(void *arg)
{
    (void)arg;
    int sig = cli_stop_signal();
    return !sig ? NULL : sig == SIGINT ? "SIGINT" : "SIGTERM";
}

static int exit_code(void *arg, cr_status status)
{
    (void)arg;
    return cli_exit_code(status);
}

int cli_command(const cr_command *cmd, int argc, char **argv)
{
    cr_ctx *ctx = cr_ctx_new();
    if (!ctx) {
        fprintf(stderr, "cityrisk %s: cannot start: out of memory\n", cmd->name);
        return CLI_EXIT_FAILURE;
    }
    program prog = {cmd->name, 0, 0, 0};
    const cr_command_hooks hooks = {&prog, usage, help, begin, end, say, stopping, exit_code, stage};
    cr_command_call how = {.hooks = &hooks, .progress_from = 0, .progress_to = 1};
    cr_command_result result;
    cr_status st = cr_command_invoke(ctx, cmd, argc, argv, &how, &result);
    cr_command_result_clear(&result);
    cr_ctx_free(ctx);
    return cli_exit_code(st);
}
