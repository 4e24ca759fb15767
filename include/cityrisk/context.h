/*
 * context.h: the cityrisk library context.
 *
 * Every library call takes a cr_ctx. It carries what would otherwise be global
 * state: the message of the last failure, the GEOS handle, the progress callback,
 * the thread count and the log sink. The library never prints and never exits: a
 * fallible function returns a cr_status and leaves a one-line message naming the
 * file, row or feature and the problem in the context.
 *
 * GDAL's drivers must be registered (GDALAllRegister()) before any call that opens a
 * file. A context is not thread-safe: give each thread its own.
 */
#ifndef CITYRISK_CONTEXT_H
#define CITYRISK_CONTEXT_H

#include <stdarg.h>
#include <stdint.h>

#include <gdal.h>

#include "cityrisk/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Status of a library call. The statuses are the library's own, with fixed values (part
 * of the ABI); what each means to a program, an exit code for instance, is the program's
 * to decide (the cityrisk program maps them to its exit codes itself). */
typedef enum cr_status {
    CR_OK = 0,          /* success */
    CR_E_IO = 1,        /* processing failure: I/O, library error, out of memory */
    CR_E_USAGE = 2,     /* invalid arguments or options */
    CR_E_DATA = 3,      /* invalid input data: no CRS, no overlap, bad records */
    CR_E_EXISTS = 4,    /* output exists and overwriting was not allowed */
    CR_E_CANCELLED = 5  /* the progress callback asked to stop */
} cr_status;

/* Severity of a log message, most severe first. */
typedef enum cr_log_level {
    CR_LOG_ERROR = 0,
    CR_LOG_WARNING = 1,
    CR_LOG_INFO = 2,
    CR_LOG_DEBUG = 3
} cr_log_level;

/* Receives warnings and notes from the library. msg is one line without a
 * trailing newline and is only valid during the call. */
typedef void (*cr_log_fn)(void *arg, cr_log_level level, const char *msg);

typedef struct cr_ctx cr_ctx;

/* Creates a context with no error, no progress callback, no log sink, all cores
 * and CR_LOG_WARNING. Returns NULL when out of memory or when GEOS cannot start.
 * Free with cr_ctx_free(). */
CR_API cr_ctx *cr_ctx_new(void);

/* Frees the context and its GEOS handle. Accepts NULL. */
CR_API void cr_ctx_free(cr_ctx *ctx);

/* The message of the last failure, "" when none. Owned by the context, valid
 * until the next failing call or cr_ctx_clear_error(). */
CR_API const char *cr_ctx_error(const cr_ctx *ctx);

/* Records a failure in the context: status and a printf-style one-line message, which
 * cr_ctx_error() then returns. Returns status, so that callers can write `return
 * cr_ctx_fail(ctx, CR_E_DATA, ...)`. The library's own functions fail this way; a program
 * calls it from the hooks it gives the command table (command.h), whose failures the
 * library reports from the context as its own. */
CR_API cr_status cr_ctx_fail(cr_ctx *ctx, cr_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The status of the last failure, CR_OK when none. */
CR_API cr_status cr_ctx_status(const cr_ctx *ctx);

/* Forgets the last failure. */
CR_API void cr_ctx_clear_error(cr_ctx *ctx);

/* Sets the progress callback (GDALProgressFunc-compatible: return 0 to cancel).
 * NULL fn disables progress. */
CR_API void cr_ctx_set_progress(cr_ctx *ctx, GDALProgressFunc fn, void *arg);

/* Sets the number of worker threads; 0 or less means all cores. */
CR_API void cr_ctx_set_threads(cr_ctx *ctx, int threads);

/* The number of worker threads to use, at least 1. */
CR_API int cr_ctx_threads(const cr_ctx *ctx);

/* Sets the memory budget of the library's calls, in bytes: the most memory a command may
 * hold at once, GDAL's block cache included (docs/performance.md). A call that cannot do its
 * work within it fails with CR_E_USAGE, naming its estimate and --max-memory, before it
 * writes anything; where holding more would only be faster (inundation's decoded DEM,
 * buffers per thread) it holds less. 0 or less means the default: the configuration option
 * CITYRISK_MAX_MEMORY (cr_memory_parse()'s syntax; an environment variable or --config),
 * else half of the usable physical RAM. */
CR_API void cr_ctx_set_max_memory(cr_ctx *ctx, int64_t bytes);

/* The memory budget in bytes (see cr_ctx_set_max_memory()), at least 1 MiB. A
 * CITYRISK_MAX_MEMORY that is not a size counts as unset. */
CR_API int64_t cr_ctx_max_memory(const cr_ctx *ctx);

/* Reads a memory size: "512" or "512M", "512MB", "512MiB" (MiB), "2G", "2GB", "2GiB" (GiB),
 * "25%" (of the usable physical RAM, GDAL's CPLGetUsablePhysicalRAM(), which sees cgroup
 * limits). Case does not matter; a fraction is allowed ("1.5G"). Returns the bytes, at
 * least 1, or -1 when text is not such a size. */
CR_API int64_t cr_memory_parse(const char *text);

/* GDAL's block cache within a budget of budget bytes: wanted (the program's default, or the
 * user's GDAL_CACHEMAX), at most a quarter of the budget, so that the cache and a command's
 * own buffers together stay within it. At least 0. */
CR_API int64_t cr_memory_gdal_cache(int64_t budget, int64_t wanted);

/* Sets the log sink and the most verbose level passed to it. The library's worker
 * threads (--threads) log through the sink of the context that started them, so a sink
 * may be called from several threads at once: it must be thread-safe. */
CR_API void cr_ctx_set_log(cr_ctx *ctx, cr_log_fn fn, void *arg, cr_log_level level);

/* Told of each hidden temporary file or folder the library creates beside an output
 * (created 1, with is_dir) and when it is gone, published or removed (created 0), in the
 * thread that creates or removes it. A program that must stop at once, without waiting for
 * the library to clean up (a second SIGINT), removes those still there; see cli/common.c.
 * path is only valid during the call. */
typedef void (*cr_temp_fn)(void *arg, const char *path, int is_dir, int created);

/* Sets the temp hook; NULL fn removes it. */
CR_API void cr_ctx_set_temp_hook(cr_ctx *ctx, cr_temp_fn fn, void *arg);

/* Records the command line that produced the outputs of this run; raster and
 * vector writers store it as provenance (CITYRISK_COMMAND). argv is shell-quoted
 * (cr_shell_quote()); line is recorded as it is. Copied. */
CR_API cr_status cr_ctx_set_command(cr_ctx *ctx, int argc, char *const *argv);
CR_API cr_status cr_ctx_set_command_line(cr_ctx *ctx, const char *line);

/* argv as a POSIX shell reads it back: words joined by spaces, those holding blanks,
 * quotes, backslashes, $ or ` (or empty) in single quotes ('it'\''s'). A new string to
 * free(), NULL when out of memory. */
CR_API char *cr_shell_quote(int argc, char *const *argv);

/* Failures raised on threads that no context captures. GDAL's error handlers are per
 * thread, so what GDAL raises on its own worker threads (the COG writer's compression,
 * NUM_THREADS; multithreaded decoding, GDAL_NUM_THREADS) reaches GDAL's global handler,
 * not the context of the call that started the work, and that call may still report
 * success (a tile then goes missing). A program that installs a global handler
 * (CPLSetErrorHandlerEx) passes each failure it receives (CE_Failure, CE_Fatal) here;
 * an output written meanwhile (the COG writer, from cr_writer_open() to
 * cr_writer_commit()) then fails with that message. Returns 1 when such a write was in
 * progress and takes the failure as its own (its failure message will carry it: the
 * program need not print it), 0 otherwise. Thread-safe: the library's only process-wide
 * state, a failure count and the first message, under a mutex (docs/architecture.md).
 * Without a global handler GDAL prints these messages itself and no write learns of
 * them. */
CR_API int cr_gdal_foreign_failure(const char *message);

/* A short English name of a status ("processing failure", "invalid input data", ...). */
CR_API const char *cr_status_name(cr_status status);

/* The version of cityrisk, e.g. "0.1.0". */
CR_API const char *cr_version(void);

/* The versions of the libraries this build runs with (static strings). */
typedef struct cr_dependency_versions {
    const char *gdal;
    const char *proj;
    const char *geos;
} cr_dependency_versions;

/* Fills v with the run-time versions of GDAL, PROJ and GEOS. */
CR_API void cr_get_dependency_versions(cr_dependency_versions *v);

#ifdef __cplusplus
}
#endif

#endif
