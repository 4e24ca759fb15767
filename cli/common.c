/* common.c: the context, messages, progress and stdout handling every command shares. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <gdal.h>

#include "cli.h"

/* GDAL's default block cache is 5 % of RAM (about 1.2 GB here) and slower than a
 * small one on streaming work; cityrisk streams, so 64 MB is plenty. */
static const int64_t DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;

cli_run_state cli_run;

/* The scaled progress of the stage running under `cityrisk run`. */
static void *stage_progress;

static void log_to_stderr(void *arg, cr_log_level level, const char *msg)
{
    const char *name = arg;
    const char *prefix = level == CR_LOG_ERROR     ? "error: "
                         : level == CR_LOG_WARNING ? "warning: "
                                                   : "";
    fprintf(stderr, "cityrisk %s: %s%s\n", name, prefix, msg);
}

cr_ctx *cli_context(const cli_usage *usage, const cli_common *common, int argc, char **argv)
{
    GDALAllRegister();
    if (!CPLGetConfigOption("GDAL_CACHEMAX", NULL))
        GDALSetCacheMax64(DEFAULT_CACHE_BYTES);
    cr_ctx *ctx = cr_ctx_new();
    if (!ctx) {
        fprintf(stderr, "cityrisk %s: cannot start: out of memory\n", usage->name);
        return NULL;
    }
    cr_log_level level = common->debug ? CR_LOG_DEBUG : common->quiet ? CR_LOG_ERROR : CR_LOG_WARNING;
    cr_ctx_set_log(ctx, log_to_stderr, (void *)usage->name, level);
    if (common->debug)
        CPLSetConfigOption("CPL_DEBUG", "ON");
    if (cli_run.stage) {
        GDALDestroyScaledProgress(stage_progress);
        stage_progress = NULL;
        if (cli_run.progress) {
            stage_progress = GDALCreateScaledProgress(cli_run.from, cli_run.to, GDALTermProgress, NULL);
            cr_ctx_set_progress(ctx, GDALScaledProgress, stage_progress);
        }
    } else if (!common->quiet && isatty(STDERR_FILENO)) {
        cr_ctx_set_progress(ctx, GDALTermProgress, NULL);
    }
    cr_ctx_set_threads(ctx, common->threads);
    if (cr_ctx_set_command(ctx, argc, argv) != CR_OK) {
        fprintf(stderr, "cityrisk %s: %s\n", usage->name, cr_ctx_error(ctx));
        cr_ctx_free(ctx);
        return NULL;
    }
    return ctx;
}

int cli_exit_code(cr_status status)
{
    switch (status) {
    case CR_OK: return CLI_EXIT_OK;
    case CR_E_IO: return CLI_EXIT_FAILURE;
    case CR_E_USAGE: return CLI_EXIT_USAGE;
    case CR_E_DATA: return CLI_EXIT_DATA;
    case CR_E_EXISTS: return CLI_EXIT_EXISTS;
    case CR_E_CANCELLED: return CLI_EXIT_INTERRUPTED;
    }
    return CLI_EXIT_FAILURE;
}

int cli_fail(const cli_usage *usage, cr_ctx *ctx, cr_status status)
{
    const char *msg = cr_ctx_error(ctx);
    fprintf(stderr, "cityrisk %s: %s\n", usage->name, *msg ? msg : cr_status_name(status));
    return cli_exit_code(status);
}

int cli_finish_stdout(const cli_usage *usage)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "cityrisk %s: cannot write to standard output: %s\n", usage->name,
                strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

int cli_print_json(const cli_usage *usage, json_object *doc)
{
    const char *text = json_object_to_json_string_ext(
        doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    fputs(text, stdout);
    fputc('\n', stdout);
    return cli_finish_stdout(usage);
}
