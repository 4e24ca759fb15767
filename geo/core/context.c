/* context.c: the library context, error capture from GDAL and GEOS, progress and log. */
#define _POSIX_C_SOURCE 200809L
#include "cityrisk/context.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_multiproc.h>
#include <geos_c.h>
#include <proj.h>

#include "cityrisk/version.h"
#include "internal.h"
#include "vsiwatch.h"

enum { CR_MSG_MAX = 1024 };

struct cr_ctx {
    cr_status status;
    char error[CR_MSG_MAX];
    char gdal_msg[CR_MSG_MAX];
    char geos_msg[CR_MSG_MAX];
    int gdal_depth;
    GEOSContextHandle_t geos;
    GDALProgressFunc progress;
    void *progress_arg;
    double progress_from, progress_to;
    int threads;
    int64_t max_memory; /* bytes; 0: the default */
    int64_t resident_baseline; /* bytes; 0: the resident set measured at each check */
    cr_log_fn log;
    void *log_arg;
    cr_log_level log_level;
    char *command;
    cr_temp_fn temp_hook;
    void *temp_arg;
};

void cr_flatten_line(char *text)
{
    /* Messages must stay on one line so scripts can grep them; GDAL and GEOS
     * messages sometimes carry newlines and trailing blanks. */
    for (char *p = text; *p; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    }
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '.'))
        text[--n] = '\0';
}

static void geos_error_handler(const char *message, void *arg)
{
    cr_ctx *ctx = arg;
    snprintf(ctx->geos_msg, sizeof ctx->geos_msg, "%s", message ? message : "");
    cr_flatten_line(ctx->geos_msg);
}

static void geos_notice_handler(const char *message, void *arg)
{
    cr_ctx_log(arg, CR_LOG_DEBUG, "GEOS: %s", message ? message : "");
}

cr_ctx *cr_ctx_new(void)
{
    cr_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    ctx->geos = GEOS_init_r();
    if (!ctx->geos) {
        free(ctx);
        return NULL;
    }
    GEOSContext_setErrorMessageHandler_r(ctx->geos, geos_error_handler, ctx);
    GEOSContext_setNoticeMessageHandler_r(ctx->geos, geos_notice_handler, ctx);
    ctx->progress = NULL;
    ctx->progress_to = 1.0;
    ctx->log_level = CR_LOG_WARNING;
    return ctx;
}

void cr_ctx_free(cr_ctx *ctx)
{
    if (!ctx)
        return;
    GEOS_finish_r(ctx->geos);
    free(ctx->command);
    free(ctx);
}

const char *cr_ctx_error(const cr_ctx *ctx)
{
    return ctx->error;
}

cr_status cr_ctx_status(const cr_ctx *ctx)
{
    return ctx->status;
}

void cr_ctx_clear_error(cr_ctx *ctx)
{
    ctx->status = CR_OK;
    ctx->error[0] = '\0';
    ctx->gdal_msg[0] = '\0';
    ctx->geos_msg[0] = '\0';
}

/* Appends src to the NUL-terminated dst of capacity size, truncating. */
static void append_text(char *dst, size_t size, const char *src)
{
    size_t n = strlen(dst);
    while (*src && n + 1 < size)
        dst[n++] = *src++;
    dst[n] = '\0';
}

static cr_status fail_v(cr_ctx *ctx, cr_status status, const char *suffix, const char *fmt,
                        va_list ap)
{
    char what[CR_MSG_MAX];
    vsnprintf(what, sizeof what, fmt, ap);
    snprintf(ctx->error, sizeof ctx->error, "%s", what);
    if (suffix && *suffix) {
        append_text(ctx->error, sizeof ctx->error, ": ");
        append_text(ctx->error, sizeof ctx->error, suffix);
    }
    cr_flatten_line(ctx->error);
    ctx->status = status;
    return status;
}

cr_status cr_ctx_fail(cr_ctx *ctx, cr_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(ctx, status, NULL, fmt, ap);
    va_end(ap);
    return status;
}

cr_status cr_ctx_fail_gdal(cr_ctx *ctx, cr_status status, const char *fmt, ...)
{
    char suffix[CR_MSG_MAX];
    snprintf(suffix, sizeof suffix, "%s", ctx->gdal_msg);
    va_list ap;
    va_start(ap, fmt);
    fail_v(ctx, status, suffix, fmt, ap);
    va_end(ap);
    return status;
}

void cr_ctx_set_progress(cr_ctx *ctx, GDALProgressFunc fn, void *arg)
{
    ctx->progress = fn;
    ctx->progress_arg = arg;
}

int cr_ctx_progress(cr_ctx *ctx, double complete, const char *message)
{
    if (!ctx->progress)
        return 1;
    double at = ctx->progress_from + (ctx->progress_to - ctx->progress_from) * complete;
    return ctx->progress(at, message, ctx->progress_arg) ? 1 : 0;
}

void cr_ctx_set_progress_range(cr_ctx *ctx, double from, double to)
{
    ctx->progress_from = from;
    ctx->progress_to = to;
}

GDALProgressFunc cr_ctx_progress_fn(const cr_ctx *ctx, void **arg)
{
    if (!ctx->progress) {
        *arg = NULL;
        return GDALDummyProgress;
    }
    *arg = ctx->progress_arg;
    return ctx->progress;
}

void cr_ctx_set_threads(cr_ctx *ctx, int threads)
{
    ctx->threads = threads > 0 ? threads : 0;
}

int cr_ctx_threads(const cr_ctx *ctx)
{
    if (ctx->threads > 0)
        return ctx->threads;
    int cpus = CPLGetNumCPUs();
    return cpus > 0 ? cpus : 1;
}

void cr_ctx_set_max_memory(cr_ctx *ctx, int64_t bytes)
{
    ctx->max_memory = bytes > 0 ? bytes : 0;
}

/* The usable physical RAM in bytes (cgroup and ulimit limits included), 1 GiB when GDAL
 * cannot tell. */
static int64_t usable_ram(void)
{
    GIntBig ram = CPLGetUsablePhysicalRAM();
    return ram > 0 ? (int64_t)ram : (int64_t)1 << 30;
}

int64_t cr_memory_parse(const char *text)
{
    /* Decimal digits only, as GDAL reads numbers: strtod() alone would also take leading
     * blanks, a sign, "inf", "nan" and hexadecimal ("0x10"). */
    if (!text || !((*text >= '0' && *text <= '9') || *text == '.'))
        return -1;
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (end == text || errno || !(value > 0) || value != value)
        return -1;
    for (const char *p = text; p < end; p++)
        if (*p == 'x' || *p == 'X')
            return -1;
    while (*end == ' ')
        end++;
    double scale;
    if (*end == '%') {
        if (value > 100 || end[1] != '\0')
            return -1;
        scale = (double)usable_ram() / 100;
    } else if (*end == '\0' || strcasecmp(end, "m") == 0 || strcasecmp(end, "mb") == 0 ||
               strcasecmp(end, "mib") == 0) {
        scale = 1024.0 * 1024;
    } else if (strcasecmp(end, "g") == 0 || strcasecmp(end, "gb") == 0 ||
               strcasecmp(end, "gib") == 0) {
        scale = 1024.0 * 1024 * 1024;
    } else {
        return -1;
    }
    double bytes = value * scale;
    if (!(bytes >= 1) || bytes > 9.0e18)
        return -1;
    return (int64_t)bytes;
}

int64_t cr_ctx_max_memory(const cr_ctx *ctx)
{
    int64_t bytes = ctx->max_memory;
    if (bytes <= 0)
        bytes = cr_memory_parse(CPLGetConfigOption("CITYRISK_MAX_MEMORY", NULL));
    if (bytes <= 0)
        bytes = usable_ram() / 2;
    const int64_t least = (int64_t)1 << 20;
    return bytes < least ? least : bytes;
}

void cr_ctx_set_resident_baseline(cr_ctx *ctx, int64_t bytes)
{
    ctx->resident_baseline = bytes > 0 ? bytes : 0;
}

int64_t cr_ctx_resident_baseline(const cr_ctx *ctx)
{
    return ctx->resident_baseline;
}

void cr_ctx_set_temp_hook(cr_ctx *ctx, cr_temp_fn fn, void *arg)
{
    ctx->temp_hook = fn;
    ctx->temp_arg = arg;
}

void cr_ctx_share_temp_hook(cr_ctx *to, const cr_ctx *from)
{
    to->temp_hook = from->temp_hook;
    to->temp_arg = from->temp_arg;
}

void cr_ctx_temp_event(cr_ctx *ctx, const char *path, int is_dir, int created)
{
    if (ctx && ctx->temp_hook)
        ctx->temp_hook(ctx->temp_arg, path, is_dir, created);
}

void cr_ctx_set_log(cr_ctx *ctx, cr_log_fn fn, void *arg, cr_log_level level)
{
    ctx->log = fn;
    ctx->log_arg = arg;
    ctx->log_level = level;
}

void cr_ctx_inherit(cr_ctx *worker, const cr_ctx *parent)
{
    worker->log = parent->log;
    worker->log_arg = parent->log_arg;
    worker->log_level = parent->log_level;
    worker->threads = 1;
    worker->max_memory = parent->max_memory;
    worker->resident_baseline = parent->resident_baseline;
}

void cr_ctx_log(cr_ctx *ctx, cr_log_level level, const char *fmt, ...)
{
    if (!ctx->log || level > ctx->log_level)
        return;
    char msg[CR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cr_flatten_line(msg);
    ctx->log(ctx->log_arg, level, msg);
}

char *cr_shell_quote(int argc, char *const *argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) * 4 + 3; /* worst case: every char quoted, plus quotes and space */
    char *cmd = malloc(len);
    if (!cmd)
        return NULL;
    char *p = cmd;
    for (int i = 0; i < argc; i++) {
        if (i)
            *p++ = ' ';
        int quote = argv[i][0] == '\0' || strpbrk(argv[i], " \t\"'\\$`") != NULL;
        if (quote)
            *p++ = '\'';
        for (const char *s = argv[i]; *s; s++) {
            if (*s == '\'') { /* close, escape, reopen: POSIX shell quoting */
                memcpy(p, "'\\''", 4);
                p += 4;
            } else {
                *p++ = *s;
            }
        }
        if (quote)
            *p++ = '\'';
    }
    *p = '\0';
    return cmd;
}

static cr_status set_command(cr_ctx *ctx, char *line)
{
    if (!line)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory recording the command line");
    free(ctx->command);
    ctx->command = line;
    return CR_OK;
}

cr_status cr_ctx_set_command(cr_ctx *ctx, int argc, char *const *argv)
{
    return set_command(ctx, cr_shell_quote(argc, argv));
}

cr_status cr_ctx_set_command_line(cr_ctx *ctx, const char *line)
{
    return set_command(ctx, strdup(line));
}

const char *cr_ctx_command(const cr_ctx *ctx)
{
    return ctx->command ? ctx->command : "";
}

void *cr_ctx_geos(cr_ctx *ctx)
{
    return ctx->geos;
}

const char *cr_ctx_geos_message(const cr_ctx *ctx)
{
    return ctx->geos_msg;
}

static void gdal_error_handler(CPLErr level, CPLErrorNum number, const char *message)
{
    (void)number;
    cr_ctx *ctx = CPLGetErrorHandlerUserData();
    if (!ctx)
        return;
    char text[CR_MSG_MAX];
    snprintf(text, sizeof text, "%s", message ? message : "");
    cr_watch_unwrap(text); /* the files GDAL writes through the watch, as the user sees them */
    if (level >= CE_Failure) {
        snprintf(ctx->gdal_msg, sizeof ctx->gdal_msg, "%s", text);
        cr_flatten_line(ctx->gdal_msg);
    } else if (level == CE_Warning) {
        cr_ctx_log(ctx, CR_LOG_WARNING, "GDAL: %s", text);
    } else if (level == CE_Debug) {
        cr_ctx_log(ctx, CR_LOG_DEBUG, "GDAL: %s", text);
    }
}

void cr_gdal_begin(cr_ctx *ctx)
{
    if (ctx->gdal_depth++ == 0)
        ctx->gdal_msg[0] = '\0';
    CPLPushErrorHandlerEx(gdal_error_handler, ctx);
    CPLErrorReset();
}

void cr_gdal_end(cr_ctx *ctx)
{
    CPLPopErrorHandler();
    if (ctx->gdal_depth > 0)
        ctx->gdal_depth--;
}

const char *cr_gdal_message(const cr_ctx *ctx)
{
    return ctx->gdal_msg;
}

/* Failures raised on threads that no context captures (cr_gdal_foreign_failure): the
 * library's only process-wide state. GDAL's error handlers are per thread and a worker
 * thread of GDAL's has no context to report to; the count lets a writer tell that one
 * of them failed while it wrote. */
static pthread_mutex_t foreign_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long foreign_count;  /* failures passed so far */
static int foreign_windows;          /* watch windows open */
static unsigned long foreign_first;  /* foreign_count just after first_msg, 0 when none */
static char first_msg[CR_MSG_MAX];   /* the first failure since the windows opened */
static char last_msg[CR_MSG_MAX];

int cr_gdal_foreign_failure(const char *message)
{
    pthread_mutex_lock(&foreign_lock);
    foreign_count++;
    snprintf(last_msg, sizeof last_msg, "%s", message && *message ? message : "GDAL failed");
    cr_flatten_line(last_msg);
    int taken = foreign_windows > 0;
    if (taken && !foreign_first) {
        memcpy(first_msg, last_msg, sizeof first_msg);
        foreign_first = foreign_count;
    }
    pthread_mutex_unlock(&foreign_lock);
    return taken;
}

void cr_foreign_watch_begin(cr_foreign_watch *w)
{
    pthread_mutex_lock(&foreign_lock);
    if (foreign_windows++ == 0)
        foreign_first = 0;
    w->start = foreign_count;
    w->open = 1;
    pthread_mutex_unlock(&foreign_lock);
}

int cr_foreign_watch_end(cr_foreign_watch *w, char *msg, size_t size)
{
    if (!w->open)
        return 0;
    pthread_mutex_lock(&foreign_lock);
    int failed = foreign_count > w->start;
    if (failed && size)
        snprintf(msg, size, "%s", foreign_first > w->start ? first_msg : last_msg);
    if (--foreign_windows == 0)
        foreign_first = 0;
    w->open = 0;
    pthread_mutex_unlock(&foreign_lock);
    return failed;
}

const char *cr_status_name(cr_status status)
{
    switch (status) {
    case CR_OK: return "success";
    case CR_E_IO: return "processing failure";
    case CR_E_USAGE: return "usage error";
    case CR_E_DATA: return "invalid input data";
    case CR_E_EXISTS: return "output exists";
    case CR_E_CANCELLED: return "cancelled";
    }
    return "unknown status";
}

const char *cr_version(void)
{
    return CR_VERSION_STRING;
}

void cr_get_dependency_versions(cr_dependency_versions *v)
{
    v->gdal = GDALVersionInfo("RELEASE_NAME");
    v->proj = proj_info().version;
    v->geos = GEOSversion();
}

double cr_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
