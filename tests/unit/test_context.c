/* test_context.c: failures, GDAL and GEOS error capture, progress and log. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <string.h>

#include <cpl_error.h>
#include <geos_c.h>

#include "cityrisk/grid.h"

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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
