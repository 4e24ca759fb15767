/* test_inundation.c: the inundation stage on a DEM small enough to flood by hand. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cityrisk/inundation.h"
#include "inundation/confidence.h"

/* 4 x 3 cells of 10 m. Column 0 is sea (at or below 0 on the edge). At W = 1:
 *   (row 0, col 1) 0.5 touches the sea            -> 0.5
 *   (0, 2) 0.2 touches (0, 1)                     -> 0.8
 *   (1, 3) 0.4 touches (0, 2) only diagonally     -> 0.6 with 8 neighbours, dry with 4
 *   (2, 1) 0.8 touches the sea                    -> 0.2
 *   (1, 1) 1.5 and the 3 m cells                  -> dry */
static const float DEM[12] = {
    -1, 0.5f, 0.2f, 3,
    -1, 1.5f, 3,    0.4f,
    -1, 0.8f, 3,    3,
};

static void run(const char *dir, int connectivity, const float expect[12], int64_t cells,
                double max_depth)
{
    char dem[512], out[512];
    snprintf(dem, sizeof dem, "%s/dem.tif", dir);
    snprintf(out, sizeof out, "%s/out%d.tif", dir, connectivity);
    tu_write_raster(dem, 32736, 500000, 8000000, 10, 4, 3, DEM, 1, -9999);
    cr_ctx *ctx = cr_ctx_new();
    cr_sea_level level = {NULL, 1.0};
    cr_inundation_opts o;
    cr_inundation_opts_init(&o);
    o.levels = &level;
    o.level_count = 1;
    o.connectivity = connectivity;
    o.tile = 2; /* every border of the tiny raster is a tile border */
    cr_inundation_stats stats;
    int64_t sea = 0;
    assert_int_equal(cr_inundation(ctx, dem, out, &o, &stats, &sea), CR_OK);
    assert_int_equal(sea, 3);
    assert_int_equal(stats.inundated_cells, cells);
    assert_float_equal(stats.inundated_area_m2, (double)cells * 100.0, 1e-6);
    assert_float_equal(stats.max_depth_m, max_depth, 1e-6);
    assert_float_equal(stats.water_level_m, 1.0, 0);
    GDALDatasetH ds = GDALOpen(out, GA_ReadOnly);
    float v[12];
    assert_int_equal(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, 0, 0, 4, 3, v, 4, 3,
                                  GDT_Float32, 0, 0), CE_None);
    for (int i = 0; i < 12; i++)
        assert_float_equal(v[i], expect[i], 1e-6);
    GDALClose(ds);
    cr_ctx_free(ctx);
}

static void floods_by_hand_with_8_and_4_neighbours(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    const float eight[12] = {-9999, 0.5f, 0.8f, 0, -9999, 0, 0, 0.6f, -9999, 0.2f, 0, 0};
    const float four[12] = {-9999, 0.5f, 0.8f, 0, -9999, 0, 0, 0, -9999, 0.2f, 0, 0};
    run(dir, 8, eight, 4, 0.8);
    run(dir, 4, four, 3, 0.8);
    tu_rmdir(dir);
}

static void scenarios_resolve_with_their_likely_range(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    double v = 0;
    assert_int_equal(cr_scenario_resolve(ctx, "ssp585-2100-p83", &v), CR_OK);
    assert_float_equal(v, 1.01, 0);
    assert_int_equal(cr_scenario_resolve(ctx, "ssp126-2050-p17", &v), CR_OK);
    assert_float_equal(v, 0.16, 0);
    assert_int_equal(cr_scenario_resolve(ctx, "ssp245-2100", &v), CR_OK);
    assert_float_equal(v, 0.56, 0);
    assert_int_equal(cr_scenario_resolve(ctx, "stress-2m-p83", &v), CR_E_USAGE);
    assert_int_equal(cr_scenario_resolve(ctx, "ssp245", &v), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(ctx), "'ssp245'"));
    assert_int_equal(cr_scenario_count(), 9);
    cr_ctx_free(ctx);
}

static int cancel(double complete, const char *msg, void *arg)
{
    (void)msg, (void)arg;
    return complete < 0.1;
}

static void bad_levels_and_cancellation_leave_nothing(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char dem[512], out[512];
    snprintf(dem, sizeof dem, "%s/dem.tif", dir);
    snprintf(out, sizeof out, "%s/out.tif", dir);
    tu_write_raster(dem, 32736, 500000, 8000000, 10, 4, 3, DEM, 1, -9999);
    cr_ctx *ctx = cr_ctx_new();
    cr_sea_level bad = {NULL, -0.5}, good = {NULL, 1.0};
    cr_inundation_opts o;
    cr_inundation_opts_init(&o);
    o.levels = &bad;
    o.level_count = 1;
    assert_int_equal(cr_inundation(ctx, dem, out, &o, NULL, NULL), CR_E_USAGE);
    bad.rise_m = NAN;
    assert_int_equal(cr_inundation(ctx, dem, out, &o, NULL, NULL), CR_E_USAGE);
    o.levels = &good;
    o.tile = 2;
    cr_ctx_set_progress(ctx, cancel, NULL);
    assert_int_equal(cr_inundation(ctx, dem, out, &o, NULL, NULL), CR_E_CANCELLED);
    assert_int_equal(tu_count_entries(dir), 1); /* the DEM only */
    cr_ctx_free(ctx);
    tu_rmdir(dir);
}

/* Phi^-1 against published quantiles (the tables of AS 241; R's qnorm), each branch of the
 * algorithm: the centre (|p - 0.5| <= 0.425), the tails and the far tail (r > 5). */
static void normal_quantile_matches_published_values(void **state)
{
    (void)state;
    struct { double p, x; } cases[] = {
        {0.5, 0.0},
        {0.8, 0.8416212335729143},         /* k of the default confidence */
        {0.975, 1.959963984540054},
        {0.3, -0.5244005127080407},
        {0.001, -3.090232306167813},
        {0.999999, 4.753424308817089},
        {1e-10, -6.361340902404056},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double x = cr_normal_quantile(cases[i].p);
        assert_true(fabs(x - cases[i].x) <= 1e-14 * fmax(1.0, fabs(cases[i].x)));
        /* symmetric (where 1 - p is exact enough to tell), and Phi undoes it */
        if (cases[i].p >= 1e-3 && cases[i].p <= 1 - 1e-3)
            assert_true(fabs(cr_normal_quantile(1.0 - cases[i].p) + x) <= 1e-12 * fmax(1.0, fabs(x)));
        assert_true(fabs(cr_normal_cdf(x) - cases[i].p) <= 1e-15 + 1e-12 * cases[i].p);
    }
    assert_true(fabs(cr_normal_cdf(1.0) - 0.8413447460685429) < 1e-15);
    assert_true(isinf(cr_normal_quantile(0.0)) && cr_normal_quantile(0.0) < 0);
    assert_true(isinf(cr_normal_quantile(1.0)) && cr_normal_quantile(1.0) > 0);
    assert_true(isnan(cr_normal_quantile(1.5)) && isnan(cr_normal_quantile(NAN)));
}

int main(void)
{
    GDALAllRegister();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(floods_by_hand_with_8_and_4_neighbours),
        cmocka_unit_test(scenarios_resolve_with_their_likely_range),
        cmocka_unit_test(bad_levels_and_cancellation_leave_nothing),
        cmocka_unit_test(normal_quantile_matches_published_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
