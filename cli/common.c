/* common.c: the context, signals, progress and stdout handling every command shares. */
#define _GNU_SOURCE /* getdents64() */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <gdal.h>

#include "cli.h"

/* GDAL's default block cache is 5 % of RAM (about 1.2 GB here) and slower than a
 * small one on streaming work; cityrisk streams, so 64 MB is plenty. */
static const int64_t DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;

/* The scaled progress of the stage running under `cityrisk run`. */
static void *stage_progress;

/* The signal (SIGINT, SIGTERM) that asked the program to stop, 0 while none did. Atomic:
 * the handler runs in whichever thread the signal finds (a worker, one of GDAL's). */
static atomic_int stop_signal;

/* The temporary files and folders the library holds now (told through the context's temp
 * hook), for a second stop signal to remove before the program ends at once. Each slot is
 * the path with 'f' (file) or 'd' (folder) before it. A slot's string is never changed once
 * set, and not freed once a stop signal came, so the handler reads whole strings whenever
 * it runs. A table full (more than TEMP_SLOTS at once; a command holds at most a few) only
 * means those are left to the library's own cleanup and the next run's sweep. */
enum { TEMP_SLOTS = 64 };
static _Atomic(char *) temp_slots[TEMP_SLOTS];

/* The command running, for the second signal's message. */
static const char *volatile command_name = "";

/* Where progress is shown: the terminal, a stage's share of the run's bar, or nowhere. */
static GDALProgressFunc shown_progress;
static void *shown_progress_arg;

/* The context's temp hook: keeps the table of temporaries. Runs in the thread that makes
 * or removes them, never in a handler. */
static void remember_temp(void *arg, const char *path, int is_dir, int created)
{
    (void)arg;
    if (created) {
        size_t n = strlen(path);
        char *copy = malloc(n + 2);
        if (!copy)
            return;
        copy[0] = is_dir ? 'd' : 'f';
        memcpy(copy + 1, path, n + 1);
        for (int i = 0; i < TEMP_SLOTS; i++) {
            char *expected = NULL;
            if (atomic_compare_exchange_strong(&temp_slots[i], &expected, copy))
                return;
        }
        free(copy);
        return;
    }
    /* Once a stop signal came, a second one's handler may read any slot at any moment: the
     * slot stays as it is (removing a path already gone does no harm) and the program ends
     * soon. Before, the slot is emptied first and the string freed only if no signal came
     * meanwhile; else it goes back to a slot. */
    if (atomic_load(&stop_signal) != 0)
        return;
    for (int i = 0; i < TEMP_SLOTS; i++) {
        char *held = atomic_load(&temp_slots[i]);
        if (!held || strcmp(held + 1, path) != 0 ||
            !atomic_compare_exchange_strong(&temp_slots[i], &held, NULL))
            continue;
        if (atomic_load(&stop_signal) == 0) {
            free(held);
            return;
        }
        for (int k = 0; k < TEMP_SLOTS; k++) {
            char *expected = NULL;
            if (atomic_compare_exchange_strong(&temp_slots[k], &expected, held))
                return;
        }
        return;
    }
}

/* Writes text to stderr from a signal handler. */
static void write_now(const char *text)
{
    size_t n = 0;
    while (text[n])
        n++;
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, text, n);
        if (w <= 0)
            return;
        text += w, n -= (size_t)w;
    }
}

/* Removes a temporary folder and the files in it from a signal handler: getdents64() is
 * the system call itself, where opendir() may allocate. */
static void remove_folder_now(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        union { struct dirent64 align; char bytes[4096]; } buf;
        ssize_t n;
        while ((n = getdents64(fd, buf.bytes, sizeof buf.bytes)) > 0) {
            for (ssize_t at = 0; at < n;) {
                struct dirent64 *e = (struct dirent64 *)(buf.bytes + at);
                const char *name = e->d_name;
                int dots = name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
                if (!dots)
                    unlinkat(fd, name, 0);
                at += e->d_reclen;
            }
        }
        close(fd);
    }
    rmdir(path);
}

/* SIGINT, SIGTERM. The first asks the library to stop at its next progress report, where it
 * removes its temporary files itself. A second one stops the program at once (GNU timeout
 * signals the process and then its group; a user presses Ctrl-C twice), after removing the
 * temporaries the library still holds: only async-signal-safe calls from there. */
static void stop_handler(int signo)
{
    if (atomic_exchange(&stop_signal, signo) == 0)
        return;
    for (int i = 0; i < TEMP_SLOTS; i++) {
        const char *held = atomic_load(&temp_slots[i]);
        if (held && held[0] == 'd')
            remove_folder_now(held + 1);
        else if (held)
            unlink(held + 1);
    }
    write_now("cityrisk ");
    write_now(command_name);
    write_now(signo == SIGINT ? ": stopped at once by a second signal (SIGINT); its temporary "
                                "files are removed\n"
                              : ": stopped at once by a second signal (SIGTERM); its temporary "
                                "files are removed\n");
    _exit(128 + signo);
}

void cli_catch_stop_signals(void)
{
    static const int SIGNALS[] = {SIGINT, SIGTERM};
    for (size_t i = 0; i < sizeof SIGNALS / sizeof *SIGNALS; i++) {
        struct sigaction old, sa = {0};
        sa.sa_handler = stop_handler;
        sigemptyset(&sa.sa_mask); /* one handler at a time: the other signal waits */
        for (size_t k = 0; k < sizeof SIGNALS / sizeof *SIGNALS; k++)
            sigaddset(&sa.sa_mask, SIGNALS[k]);
        sa.sa_flags = 0; /* the handler stays: a second signal removes the temporaries */
        /* A signal ignored at start stays ignored (a shell's background job ignores SIGINT). */
        if (sigaction(SIGNALS[i], NULL, &old) == 0 &&
            old.sa_handler != SIG_IGN)
            sigaction(SIGNALS[i], &sa, NULL);
    }
}

int cli_stop_signal(void)
{
    return atomic_load(&stop_signal);
}

/* The bar on the terminal (messages.c). */
static int term_progress(double complete, const char *message, void *arg)
{
    (void)message;
    (void)arg;
    cli_bar_progress(complete);
    return 1;
}

/* The progress callback of a stage that runs alongside others: no bar, only the stop. */
static int stop_only(double complete, const char *message, void *arg)
{
    (void)complete;
    (void)message;
    (void)arg;
    return !stop_signal;
}

/* The progress callback of every command: the library's work stops at its next report
 * once a stop signal came, and removes its temporary files on the way out. */
static int progress_or_stop(double complete, const char *message, void *arg)
{
    (void)arg;
    if (stop_signal) {
        shown_progress = NULL; /* the message that follows starts a line of its own */
        return 0;
    }
    return shown_progress ? shown_progress(complete, message, shown_progress_arg) : 1;
}

static void log_to_stderr(void *arg, cr_log_level level, const char *msg)
{
    cli_message(arg, level, msg); /* thread-safe, once each (messages.c) */
}

/* GDAL_CACHEMAX as GDAL reads it: a size with a unit or "%" (cr_memory_parse()), else a
 * plain number, MB below 100000 and bytes from there. -1 when it is not a size. */
static int64_t gdal_cachemax_bytes(const char *text)
{
    char *end = NULL;
    double value = strtod(text, &end);
    if (end != text && *end == '\0' && value >= 100000)
        return (int64_t)value;
    return cr_memory_parse(text);
}

/* GDAL's block cache (process-wide), inside the command's memory budget: the default
 * 64 MB or the user's GDAL_CACHEMAX, at most a quarter of the budget (cr_memory_gdal_cache();
 * docs/performance.md, "Memory"). A GDAL_CACHEMAX cut down is said at debug level. */
static void set_gdal_cache(cr_ctx *ctx, const char *name, cr_log_level level)
{
    const char *configured = CPLGetConfigOption("GDAL_CACHEMAX", NULL);
    int64_t wanted = configured ? gdal_cachemax_bytes(configured) : DEFAULT_CACHE_BYTES;
    if (wanted < 0) /* not a size: GDAL's own reading of it */
        wanted = GDALGetCacheMax64();
    int64_t budget = cr_ctx_max_memory(ctx);
    int64_t cache = cr_memory_gdal_cache(budget, wanted);
    GDALSetCacheMax64(cache);
    if (configured && cache < wanted && level >= CR_LOG_DEBUG) {
        char line[256];
        snprintf(line, sizeof line,
                 "GDAL_CACHEMAX %s cut to %.0f MB, a quarter of the memory budget of %.0f MB "
                 "(--max-memory)",
                 configured, (double)cache / 1048576.0, (double)budget / 1048576.0);
        cli_message(name, CR_LOG_DEBUG, line);
    }
}

/* GDAL's drivers, registered once: run -j N prepares stages on several threads. */
static void register_drivers(void)
{
    GDALAllRegister();
}

void cli_prepare(cr_ctx *ctx, const char *name, const cr_command_base *base, cli_bar bar, double from,
                 double to)
{
    static pthread_once_t registered = PTHREAD_ONCE_INIT;
    pthread_once(&registered, register_drivers);
    cr_log_level level = base->debug ? CR_LOG_DEBUG : base->quiet ? CR_LOG_ERROR : CR_LOG_WARNING;
    cr_ctx_set_log(ctx, log_to_stderr, (void *)name, level);
    cr_ctx_set_max_memory(ctx, base->max_memory ? cr_memory_parse(base->max_memory) : 0);
    set_gdal_cache(ctx, name, level);
    cr_ctx_set_temp_hook(ctx, remember_temp, NULL);
    cr_ctx_set_threads(ctx, base->threads);
    if (bar == CLI_BAR_CONCURRENT) { /* the bar, GDAL's messages and names stay run's */
        cr_ctx_set_progress(ctx, stop_only, NULL);
        return;
    }
    cli_messages_set(name, level);
    if (base->debug)
        CPLSetConfigOption("CPL_DEBUG", "ON");
    shown_progress = NULL;
    shown_progress_arg = NULL;
    GDALDestroyScaledProgress(stage_progress);
    stage_progress = NULL;
    if (bar == CLI_BAR_SHARE) {
        stage_progress = GDALCreateScaledProgress(from, to, term_progress, NULL);
        shown_progress = GDALScaledProgress;
        shown_progress_arg = stage_progress;
    } else if (bar == CLI_BAR_TERMINAL) {
        shown_progress = term_progress;
    }
    cli_bar_reset();
    cr_ctx_set_progress(ctx, progress_or_stop, NULL);
    command_name = name;
}

int cli_exit_code(cr_status status)
{
    switch (status) {
    case CR_OK: return CLI_EXIT_OK;
    case CR_E_IO: return CLI_EXIT_FAILURE;
    case CR_E_USAGE: return CLI_EXIT_USAGE;
    case CR_E_DATA: return CLI_EXIT_DATA;
    case CR_E_EXISTS: return CLI_EXIT_EXISTS;
    case CR_E_CANCELLED: return stop_signal ? 128 + stop_signal : CLI_EXIT_INTERRUPTED;
    }
    return CLI_EXIT_FAILURE;
}

cr_status cli_fail(const char *name, cr_ctx *ctx, cr_status status)
{
    const char *msg = cr_ctx_error(ctx);
    if (!*msg)
        msg = cr_status_name(status);
    char line[4096];
    if (status == CR_E_CANCELLED && stop_signal)
        snprintf(line, sizeof line, "cityrisk %s: interrupted by %s: %s", name,
                 stop_signal == SIGINT ? "SIGINT" : "SIGTERM", msg);
    else
        snprintf(line, sizeof line, "cityrisk %s: %s", name, msg);
    cli_line(line);
    return status;
}

void cli_print_exit_codes(FILE *out)
{
    fprintf(out, "\nexit codes: 0 success, 1 processing failure, 2 usage error, 3 invalid input "
                 "data,\n            4 output exists (see --overwrite), 130 interrupted (SIGINT),\n"
                 "            143 terminated (SIGTERM)\n");
}

const char *cli_stdout_error(void)
{
    errno = 0;
    int flushed = fflush(stdout) == 0;
    if (flushed && !ferror(stdout))
        return NULL;
    return !flushed && errno ? strerror(errno) : "write error"; /* after an earlier failed write errno says nothing */
}
