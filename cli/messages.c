/* messages.c: the one way to stderr of every message, cityrisk's own and GDAL's from any
 * thread, each printed once with the program's prefix; and the last check of standard
 * output. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_error.h>

#include "cli.h"

/* Held while printing or changing the state below: messages come from the library's
 * worker threads and from GDAL's. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The command whose messages GDAL's global handler prints (NULL: "cityrisk: "), and the
 * most verbose level shown (-q, --debug). */
static const char *current;
static cr_log_level shown = CR_LOG_WARNING;

/* Warnings and errors printed so far by the current command, as 64-bit hashes in an
 * open-addressing set (0 is an empty slot), so that a message raised by every thread, or
 * at every read of a file, is printed once. Past SEEN_MAX hashes nothing more is
 * remembered (and repeats print again) rather than memory growing without bound. */
static uint64_t *seen;
static size_t seen_cap, seen_count;
enum { SEEN_MAX = 1 << 20 };

/* FNV-1a of the level and the text a, then b. */
static uint64_t message_hash(unsigned level, const char *a, const char *b)
{
    uint64_t h = 14695981039346656037ull ^ (uint64_t)level;
    for (const char *s = a; s; s = s == a ? b : NULL)
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
            h = (h ^ *p) * 1099511628211ull;
    return h ? h : 1;
}

static int seen_has(uint64_t h)
{
    for (size_t i = seen_cap ? (size_t)h & (seen_cap - 1) : 0; seen_cap && seen[i];
         i = (i + 1) & (seen_cap - 1))
        if (seen[i] == h)
            return 1;
    return 0;
}

static void seen_insert(uint64_t *set, size_t cap, uint64_t h)
{
    size_t i = (size_t)h & (cap - 1);
    while (set[i] && set[i] != h)
        i = (i + 1) & (cap - 1);
    set[i] = h;
}

static void seen_add(uint64_t h)
{
    if (seen_count >= SEEN_MAX || seen_has(h))
        return;
    if (2 * (seen_count + 1) > seen_cap) { /* keep the set at most half full */
        size_t cap = seen_cap ? 2 * seen_cap : 64;
        uint64_t *grown = calloc(cap, sizeof *grown);
        if (!grown)
            return;
        for (size_t i = 0; i < seen_cap; i++)
            if (seen[i])
                seen_insert(grown, cap, seen[i]);
        free(seen);
        seen = grown;
        seen_cap = cap;
    }
    seen_insert(seen, seen_cap, h);
    seen_count++;
}

/* GDAL words a warning about a file as "GDAL: FILE: what" where the file is open and as
 * "GDAL: what" where it only re-reads it (libtiff's module name): the same warning. The
 * text after FILE (a first field holding '/' or '.'), or NULL. */
static const char *after_file(const char *msg)
{
    static const char gdal[] = "GDAL: ";
    if (strncmp(msg, gdal, sizeof gdal - 1) != 0)
        return NULL;
    const char *field = msg + sizeof gdal - 1, *end = strstr(field, ": ");
    if (!end || end == field)
        return NULL;
    for (const char *p = field; p < end; p++)
        if (*p == '/' || *p == '.')
            return end + 2;
    return NULL;
}

/* 1 when the message was printed before, as it is or naming its file; remembers it
 * otherwise. Under the lock. */
static int seen_before(cr_log_level level, const char *msg)
{
    enum { AFTER_FILE = 16 };
    const char *tail = after_file(msg);
    if (seen_has(message_hash((unsigned)level, msg, NULL)) ||
        seen_has(message_hash((unsigned)level | AFTER_FILE, msg, NULL)))
        return 1;
    seen_add(message_hash((unsigned)level, msg, NULL));
    if (tail)
        seen_add(message_hash((unsigned)level | AFTER_FILE, "GDAL: ", tail));
    return 0;
}

/* The progress bar, drawn on stderr as GDAL's (GDALTermProgress draws on stdout, which
 * may be a file: run --json > run.json on a terminal), under the lock: the ticks drawn
 * (40 ticks, a number every fourth: 0...10...20 ... 100 - done.), -1 before the first; and
 * whether its line is open, so that a message starts a line of its own. */
static int bar_ticks = -1;
static int bar_open;

/* Ends the line of a bar drawn up to its middle. Under the lock. */
static void end_bar_line(void)
{
    if (bar_open)
        fputc('\n', stderr);
    bar_open = 0;
}

void cli_bar_reset(void)
{
    pthread_mutex_lock(&lock);
    end_bar_line();
    bar_ticks = -1;
    pthread_mutex_unlock(&lock);
}

void cli_bar_progress(double complete)
{
    int target = complete >= 1.0 ? 40 : complete > 0 ? (int)(complete * 40.0) : 0;
    pthread_mutex_lock(&lock);
    if (target < bar_ticks) { /* a bar begins again */
        end_bar_line();
        bar_ticks = -1;
    }
    int drew = 0;
    while (bar_ticks < target) {
        bar_ticks++;
        if (bar_ticks % 4 == 0)
            fprintf(stderr, "%d", bar_ticks / 4 * 10);
        else
            fputc('.', stderr);
        drew = 1;
    }
    if (drew && bar_ticks == 40) {
        fputs(" - done.\n", stderr);
        bar_open = 0;
    } else if (drew) {
        bar_open = 1;
    }
    fflush(stderr);
    pthread_mutex_unlock(&lock);
}

void cli_line(const char *text)
{
    pthread_mutex_lock(&lock);
    end_bar_line();
    fprintf(stderr, "%s\n", text);
    pthread_mutex_unlock(&lock);
}

static void print_locked(const char *name, cr_log_level level, const char *msg)
{
    if (level <= CR_LOG_WARNING && seen_before(level, msg))
        return;
    end_bar_line();
    const char *kind = level == CR_LOG_ERROR ? "error: " : level == CR_LOG_WARNING ? "warning: " : "";
    if (name)
        fprintf(stderr, "cityrisk %s: %s%s\n", name, kind, msg);
    else
        fprintf(stderr, "cityrisk: %s%s\n", kind, msg);
}

void cli_message(const char *name, cr_log_level level, const char *msg)
{
    pthread_mutex_lock(&lock);
    print_locked(name, level, msg);
    pthread_mutex_unlock(&lock);
}

/* One line, as the library's messages are. */
static void flatten(char *text)
{
    for (char *p = text; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '.'))
        text[--n] = '\0';
}

/* GDAL's global handler: what no context captured, raised on GDAL's worker threads or on
 * a path of the library that does not capture. A failure goes to the write in progress,
 * whose own failure message then carries it (cr_gdal_foreign_failure); else it did not
 * stop the command and is printed as a warning, with GDAL's words. */
static void gdal_handler(CPLErr level, CPLErrorNum number, const char *message)
{
    (void)number;
    char text[2048];
    cr_log_level as = level == CE_Debug ? CR_LOG_DEBUG : CR_LOG_WARNING;
    if (level >= CE_Failure && level != CE_Fatal && cr_gdal_foreign_failure(message))
        return;
    if (level == CE_Fatal)
        as = CR_LOG_ERROR;
    /* GDAL's debug messages start with their category ("GTiff: ..."). */
    snprintf(text, sizeof text, "%s%s", level == CE_Debug ? "" : "GDAL: ", message ? message : "");
    flatten(text);
    pthread_mutex_lock(&lock);
    if (as <= shown)
        print_locked(current, as, text);
    pthread_mutex_unlock(&lock);
}

void cli_messages_start(const char *name)
{
    current = name;
    CPLSetErrorHandlerEx(gdal_handler, NULL);
}

void cli_messages_set(const char *name, cr_log_level level)
{
    pthread_mutex_lock(&lock);
    current = name;
    shown = level;
    free(seen); /* each command (each stage of a run) says its warnings once */
    seen = NULL;
    seen_cap = seen_count = 0;
    pthread_mutex_unlock(&lock);
}

int cli_close_stdout(const char *name, int rc)
{
    errno = 0;
    int failed = fflush(stdout) != 0;
    int err = failed ? errno : 0;
    failed = failed || ferror(stdout);
    errno = 0;
    if (fclose(stdout) != 0 && !failed) { /* flushes nothing more; a file system may fail here */
        failed = 1;
        err = errno;
    }
    if (failed && rc == CLI_EXIT_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "cannot write to standard output: %s", err ? strerror(err) : "write error");
        cli_message(name, CR_LOG_INFO, msg);
        rc = CLI_EXIT_FAILURE;
    }
    return rc;
}
