/* test_layer.c: rasters read onto a grid: direct reads, validity, resampling by kind,
 * and counts that keep their total whatever the grid. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/raster.h"

typedef struct fixture {
    char *dir;
    char counts[512];  /* 10 x 10 cells of 100 m, values 0..99, sum 4950 */
    char small[512];   /* 4 x 4 cells of 10 m, values 1..16, nodata 16 */
    cr_ctx *ctx;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    f->ctx = cr_ctx_new();
    snprintf(f->counts, sizeof f->counts, "%s/counts.tif", f->dir);
    snprintf(f->small, sizeof f->small, "%s/small.tif", f->dir);
    float counts[100], small[16];
    for (int i = 0; i < 100; i++)
        counts[i] = (float)i;
    for (int i = 0; i < 16; i++)
        small[i] = (float)(i + 1);
    tu_write_raster(f->counts, 32736, 500000, 8000000, 100, 10, 10, counts, 0, 0);
    tu_write_raster(f->small, 32736, 1000, 2000, 10, 4, 4, small, 1, 16);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    cr_ctx_free(f->ctx);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

static void raster_on_the_grid_is_read_directly_with_validity(void **state)
{
    fixture *f = *state;
    /* The grid starts one cell left of and one cell above the raster. */
    cr_grid *g = tu_grid(32736, 990, 2010, 10, 6, 6);
    cr_layer *l = NULL;
    assert_int_equal(cr_layer_open(f->ctx, f->small, g, NULL, &l), CR_OK);
    assert_string_equal(cr_layer_resampling(l), "none");
    cr_window w = {0, 0, 6, 6};
    float v[36];
    uint8_t valid[36];
    assert_int_equal(cr_layer_read_f32(f->ctx, l, &w, v, valid), CR_OK);
    /* Row 0 and column 0 lie off the raster. */
    for (int i = 0; i < 6; i++) {
        assert_int_equal(valid[i], 0);
        assert_int_equal(valid[i * 6], 0);
        assert_true(isnan(v[i]));
    }
    assert_int_equal(valid[1 * 6 + 1], 1);
    assert_float_equal(v[1 * 6 + 1], 1.0f, 0);   /* raster cell (0,0) */
    assert_float_equal(v[2 * 6 + 3], 7.0f, 0);   /* raster cell (2,1) = 1 + 1*4 + 2 */
    assert_int_equal(valid[4 * 6 + 4], 0);       /* raster cell (3,3) = 16 = nodata */
    assert_true(isnan(v[4 * 6 + 4]));
    assert_int_equal(valid[5 * 6 + 5], 0);       /* off the raster again */

    double d[4];
    cr_window one = {2, 2, 2, 2};
    assert_int_equal(cr_layer_read_f64(f->ctx, l, &one, d, NULL), CR_OK);
    assert_float_equal(d[0], 6.0, 0);
    assert_float_equal(d[3], 11.0, 0);
    cr_layer_close(l);
    cr_grid_free(g);
}

static void continuous_layer_averages_when_coarsening(void **state)
{
    fixture *f = *state;
    cr_grid *g = tu_grid(32736, 1000, 2000, 20, 2, 2);
    cr_layer *l = NULL;
    assert_int_equal(cr_layer_open(f->ctx, f->small, g, NULL, &l), CR_OK);
    assert_string_equal(cr_layer_resampling(l), "average");
    double v[4];
    cr_window w = {0, 0, 2, 2};
    assert_int_equal(cr_layer_read_f64(f->ctx, l, &w, v, NULL), CR_OK);
    /* Each 20 m cell averages 2 x 2 source cells: (1+2+5+6)/4 = 3.5, (3+4+7+8)/4 = 5.5,
     * (9+10+13+14)/4 = 11.5, and (11+12+15)/3 = 12.667 without the nodata 16. */
    assert_float_equal(v[0], 3.5, 1e-9);
    assert_float_equal(v[1], 5.5, 1e-9);
    assert_float_equal(v[2], 11.5, 1e-9);
    assert_float_equal(v[3], 38.0 / 3.0, 1e-9);
    cr_layer_close(l);
    cr_grid_free(g);
}

static void continuous_layer_is_bilinear_when_refining_and_classes_nearest(void **state)
{
    fixture *f = *state;
    cr_grid *g = tu_grid(32736, 1000, 2000, 5, 8, 8);
    cr_layer *l = NULL;
    assert_int_equal(cr_layer_open(f->ctx, f->small, g, NULL, &l), CR_OK);
    assert_string_equal(cr_layer_resampling(l), "bilinear");
    double v[64];
    cr_window w = {0, 0, 8, 8};
    assert_int_equal(cr_layer_read_f64(f->ctx, l, &w, v, NULL), CR_OK);
    /* The 5 m cell centred at x=1012.5, y=1992.5 lies between the source centres
     * 1005/1015 and 1995/1985: weights 0.25/0.75 each way over values 1,2,5,6:
     * 0.75*(0.25*1+0.75*2) + 0.25*(0.25*5+0.75*6) = 2.75. */
    assert_float_equal(v[1 * 8 + 2], 2.75, 1e-9);
    cr_layer_close(l);

    cr_layer_opts opts;
    cr_layer_opts_init(&opts);
    opts.kind = CR_KIND_CLASS;
    assert_int_equal(cr_layer_open(f->ctx, f->small, g, &opts, &l), CR_OK);
    assert_string_equal(cr_layer_resampling(l), "nearest");
    assert_int_equal(cr_layer_read_f64(f->ctx, l, &w, v, NULL), CR_OK);
    assert_float_equal(v[1 * 8 + 2], 2.0, 0);
    cr_layer_close(l);
    cr_grid_free(g);
}

static void counts_keep_their_total_on_finer_coarser_and_reprojected_grids(void **state)
{
    fixture *f = *state;
    const char *method = NULL;
    cr_grid *fine = tu_grid(32736, 499940, 8000000, 30, 36, 36);
    assert_float_equal(tu_layer_sum(f->ctx, f->counts, fine, CR_KIND_COUNT, &method), 4950.0, 4950e-6);
    assert_string_equal(method, "sum");
    cr_grid *coarse = tu_grid(32736, 499900, 8000100, 300, 4, 4);
    assert_float_equal(tu_layer_sum(f->ctx, f->counts, coarse, CR_KIND_COUNT, NULL), 4950.0, 4950e-6);
    cr_grid *lonlat = tu_grid(4326, 32.999, -18.088, 0.0002, 60, 55);
    assert_float_equal(tu_layer_sum(f->ctx, f->counts, lonlat, CR_KIND_COUNT, NULL), 4950.0, 4950e-4);
    /* An average would not keep it: the fine grid would hold about 4950 * 0.09 * ... */
    double averaged = tu_layer_sum(f->ctx, f->counts, coarse, CR_KIND_CONTINUOUS, &method);
    assert_string_equal(method, "average");
    assert_true(fabs(averaged - 4950.0) > 1000.0);
    cr_grid_free(fine), cr_grid_free(coarse), cr_grid_free(lonlat);
}

static void bad_layers_are_refused_naming_the_file(void **state)
{
    fixture *f = *state;
    cr_grid *g = tu_grid(32736, 1000, 2000, 10, 4, 4);
    cr_layer *l = NULL;
    cr_layer_opts opts;
    cr_layer_opts_init(&opts);
    opts.band = 2;
    assert_int_equal(cr_layer_open(f->ctx, f->small, g, &opts, &l), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(f->ctx), "no band 2"));
    char missing[600], nocrs[600];
    snprintf(missing, sizeof missing, "%s/missing.tif", f->dir);
    assert_int_equal(cr_layer_open(f->ctx, missing, g, NULL, &l), CR_E_IO);
    assert_non_null(strstr(cr_ctx_error(f->ctx), missing));
    snprintf(nocrs, sizeof nocrs, "%s/nocrs.tif", f->dir);
    float v[1] = {1};
    tu_write_raster(nocrs, 0, 1000, 2000, 10, 1, 1, v, 0, 0);
    assert_int_equal(cr_layer_open(f->ctx, nocrs, g, NULL, &l), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(f->ctx), "no CRS"));
    assert_null(l);
    cr_grid_free(g);
}

static void resampling_can_be_forced_by_name(void **state)
{
    fixture *f = *state;
    cr_grid *g = tu_grid(32736, 1000, 2000, 20, 2, 2);
    cr_layer_opts opts;
    cr_layer_opts_init(&opts);
    char name[] = "max"; /* the layer must not keep the caller's string */
    opts.resampling = name;
    cr_layer *l = NULL;
    assert_int_equal(cr_layer_open(f->ctx, f->small, g, &opts, &l), CR_OK);
    name[0] = 'x';
    assert_string_equal(cr_layer_resampling(l), "max");
    double v[4];
    cr_window w = {0, 0, 2, 2};
    assert_int_equal(cr_layer_read_f64(f->ctx, l, &w, v, NULL), CR_OK);
    assert_float_equal(v[0], 6.0, 0); /* max of 1, 2, 5, 6 */
    cr_layer_close(l);
    opts.resampling = "bogus";
    assert_int_equal(cr_layer_open(f->ctx, f->small, g, &opts, &l), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(f->ctx), "unknown resampling method 'bogus'"));
    cr_grid_free(g);
}

int main(void)
{
    GDALAllRegister();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(raster_on_the_grid_is_read_directly_with_validity),
        cmocka_unit_test(continuous_layer_averages_when_coarsening),
        cmocka_unit_test(continuous_layer_is_bilinear_when_refining_and_classes_nearest),
        cmocka_unit_test(counts_keep_their_total_on_finer_coarser_and_reprojected_grids),
        cmocka_unit_test(bad_layers_are_refused_naming_the_file),
        cmocka_unit_test(resampling_can_be_forced_by_name),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
