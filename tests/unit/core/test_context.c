/* test_context.c: failures, GDAL and GEOS error capture, progress and log. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <pthread.h>
#include <string.h>

#include <cpl_error.h>
#include <geos_c.h>

#include "cityrisk/grid.h"
#include "core/internal.h"

static void failure_records_status_and_one_line(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    assert_string_equal(cr_ctx_error(ctx), "");
    assert_int_equal(cr_ctx_fail(ctx, CR_E_DATA, "row %d of '%s':\nbad value.", 7, "a.csv"), CR_E_DATA);
    assert_int_equal(cr_ctx_status(ctx), CR_E_DATA);
    assert_string_equal(cr_ctx_error(ctx), "row 7 of 'a.csv': bad value");
    cr_ctx_clear_error(ctx);
    assert_int_equal(cr_ctx_status(ctx), CR_OK);
    assert_string_equal(cr_ctx_error(ctx), "");
    cr_ctx_free(ctx);
    cr_ctx_free(NULL);
}

static int printed;
static void count_printed(CPLErr level, CPLErrorNum num, const char *msg)
{
    (void)level, (void)num, (void)msg;
    printed++;
}

static void gdal_errors_are_captured_not_printed(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    CPLSetErrorHandler(count_printed);
    printed = 0;
    cr_gdal_begin(ctx);
    CPLError(CE_Failure, CPLE_AppDefined, "first line\nsecond line");
    cr_gdal_end(ctx);
    assert_int_equal(printed, 0);
    assert_string_equal(cr_gdal_message(ctx), "first line second line");
    cr_ctx_fail_gdal(ctx, CR_E_IO, "cannot read '%s'", "x.tif");
    assert_string_equal(cr_ctx_error(ctx), "cannot read 'x.tif': first line second line");
    /* Outside begin/end GDAL's own handler is back. */
    CPLError(CE_Failure, CPLE_AppDefined, "outside");
    assert_int_equal(printed, 1);
    CPLSetErrorHandler(NULL);
    cr_ctx_free(ctx);
}

static void open_failures_name_the_file(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_grid *g = NULL;
    assert_int_equal(cr_grid_from_raster(ctx, "/nonexistent/dem.tif", &g), CR_E_IO);
    assert_non_null(strstr(cr_ctx_error(ctx), "'/nonexistent/dem.tif'"));
    assert_non_null(strstr(cr_ctx_error(ctx), "No such file"));
    char *dir = tu_mkdtemp();
    char path[512];
    snprintf(path, sizeof path, "%s/text.tif", dir);
    FILE *fp = fopen(path, "w");
    fputs("this is not a raster\n", fp);
    fclose(fp);
    assert_int_equal(cr_grid_from_raster(ctx, path, &g), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(ctx), path));
    assert_null(strchr(cr_ctx_error(ctx), '\n'));
    assert_int_equal(cr_grid_from_raster(ctx, dir, &g), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(ctx), "directory"));
    tu_rmdir(dir);
    cr_ctx_free(ctx);
}

static void geos_errors_are_captured(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    GEOSContextHandle_t geos = cr_ctx_geos(ctx);
    GEOSWKTReader *reader = GEOSWKTReader_create_r(geos);
    GEOSGeometry *g = GEOSWKTReader_read_r(geos, reader, "POLYGON((0 0, 1 1");
    assert_null(g);
    assert_true(strlen(cr_ctx_geos_message(ctx)) > 0);
    GEOSWKTReader_destroy_r(geos, reader);
    cr_ctx_free(ctx);
}

static int calls;
static int cancel_at_half(double complete, const char *msg, void *arg)
{
    (void)msg;
    calls++;
    *(double *)arg = complete;
    return complete < 0.5;
}

static void progress_forwards_and_cancels(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    assert_int_equal(cr_ctx_progress(ctx, 0.3, NULL), 1); /* no callback: go on */
    double seen = -1;
    cr_ctx_set_progress(ctx, cancel_at_half, &seen);
    assert_int_equal(cr_ctx_progress(ctx, 0.25, NULL), 1);
    assert_float_equal(seen, 0.25, 0);
    assert_int_equal(cr_ctx_progress(ctx, 0.75, NULL), 0);
    assert_int_equal(calls, 2);
    cr_ctx_set_threads(ctx, 3);
    assert_int_equal(cr_ctx_threads(ctx), 3);
    cr_ctx_set_threads(ctx, 0);
    assert_true(cr_ctx_threads(ctx) >= 1);
    cr_ctx_free(ctx);
}

static char last_log[256];
static void keep_log(void *arg, cr_log_level level, const char *msg)
{
    (void)arg, (void)level;
    snprintf(last_log, sizeof last_log, "%s", msg);
}

static void log_respects_level_and_command_is_quoted(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_ctx_set_log(ctx, keep_log, NULL, CR_LOG_WARNING);
    cr_ctx_log(ctx, CR_LOG_INFO, "hidden");
    assert_string_equal(last_log, "");
    cr_ctx_log(ctx, CR_LOG_WARNING, "shown %d", 1);
    assert_string_equal(last_log, "shown 1");
    char *argv[] = {"cityrisk", "info", "my file.tif", "it's"};
    assert_int_equal(cr_ctx_set_command(ctx, 4, argv), CR_OK);
    assert_string_equal(cr_ctx_command(ctx), "cityrisk info 'my file.tif' 'it'\\''s'");
    cr_ctx_free(ctx);
}

/* A failure raised on a thread with no context, as GDAL's compression workers raise
 * them: the program's global handler hands it to the library. */
static int taken_by_a_write;
static void program_handler(CPLErr level, CPLErrorNum num, const char *msg)
{
    (void)num;
    if (level >= CE_Failure)
        taken_by_a_write += cr_gdal_foreign_failure(msg);
}

static void *fail_on_a_worker(void *text)
{
    CPLError(CE_Failure, CPLE_AppDefined, "%s", (const char *)text);
    return NULL;
}

static void raise_on_a_worker(const char *text)
{
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fail_on_a_worker, (void *)text), 0);
    pthread_join(t, NULL);
}

static void foreign_failures_reach_the_write_in_progress(void **state)
{
    (void)state;
    char msg[128] = "";
    CPLSetErrorHandler(program_handler);
    taken_by_a_write = 0;
    /* With no write in progress, a failure is the program's to print. */
    raise_on_a_worker("nobody listens");
    assert_int_equal(taken_by_a_write, 0);

    cr_foreign_watch a = {0}, b = {0};
    cr_foreign_watch_begin(&a);
    raise_on_a_worker("PredictorEncodeTile:Out of memory\n");
    raise_on_a_worker("Error when compressing strip/tile 0");
    assert_int_equal(taken_by_a_write, 2);
    cr_foreign_watch_begin(&b); /* overlapping: sees only what comes after it opened */
    assert_int_equal(cr_foreign_watch_end(&b, msg, sizeof msg), 0);
    assert_int_equal(cr_foreign_watch_end(&a, msg, sizeof msg), 1);
    assert_string_equal(msg, "PredictorEncodeTile:Out of memory"); /* the first, one line */
    assert_int_equal(cr_foreign_watch_end(&a, msg, sizeof msg), 0);   /* closed once */

    /* A window opened after the failures sees none. */
    cr_foreign_watch_begin(&a);
    assert_int_equal(cr_foreign_watch_end(&a, msg, sizeof msg), 0);
    /* Windows that overlap: the later one reports what came after it opened. */
    cr_foreign_watch_begin(&a);
    raise_on_a_worker("first");
    cr_foreign_watch_begin(&b);
    raise_on_a_worker("second");
    assert_int_equal(cr_foreign_watch_end(&b, msg, sizeof msg), 1);
    assert_string_equal(msg, "second");
    assert_int_equal(cr_foreign_watch_end(&a, msg, sizeof msg), 1);
    assert_string_equal(msg, "first");
    CPLSetErrorHandler(NULL);
}

/* Worker contexts log through the sink of the context that started them. */
static void workers_inherit_the_log_sink(void **state)
{
    (void)state;
    cr_ctx *parent = cr_ctx_new(), *worker = cr_ctx_new();
    last_log[0] = '\0';
    cr_ctx_set_log(parent, keep_log, NULL, CR_LOG_INFO);
    cr_ctx_set_threads(parent, 4);
    cr_ctx_inherit(worker, parent);
    assert_int_equal(cr_ctx_threads(worker), 1);
    cr_ctx_log(worker, CR_LOG_INFO, "from a worker");
    assert_string_equal(last_log, "from a worker");
    cr_ctx_free(worker);
    cr_ctx_free(parent);
}

int main(void)
{
    GDALAllRegister();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(failure_records_status_and_one_line),
        cmocka_unit_test(gdal_errors_are_captured_not_printed),
        cmocka_unit_test(open_failures_name_the_file),
        cmocka_unit_test(geos_errors_are_captured),
        cmocka_unit_test(progress_forwards_and_cancels),
        cmocka_unit_test(log_respects_level_and_command_is_quoted),
        cmocka_unit_test(foreign_failures_reach_the_write_in_progress),
        cmocka_unit_test(workers_inherit_the_log_sink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
