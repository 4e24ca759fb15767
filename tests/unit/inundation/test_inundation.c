/* test_inundation.c: the inundation stage on a DEM small enough to flood by hand. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cityrisk/inundation.h"
#include "inundation/confidence.h"
#include "inundation/dem_tiles.h"

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

/* The kept tiles' share of the budget, worked by hand (MiB = 1048576 bytes). */
static void keep_bytes_leave_room_for_threads_and_reaches(void **state)
{
    (void)state;
    /* 1000 MiB budget, 64 MiB cache, 87 MiB fixed, T = 512 (262144 cells), 2 threads:
     * in flight 2 x 2 x 9 x 262144 = 9 MiB; 5 reaches on 10000 columns and 400 tiles:
     * 5 x (80000 + 1600) = 408000. Left: 1000 - 64 - 87 - 9 = 840 MiB = 880803840, minus
     * 408000 = 880395840; half the budget, 524288000, is less. */
    cr_dem_tiles_memory m = {.budget = 1000LL << 20, .block_cache = 64LL << 20, .fixed = 87LL << 20,
                             .tile_cells = 262144, .threads = 2, .width = 10000, .tiles = 400,
                             .reaches = 5};
    assert_int_equal(cr_dem_tiles_keep_bytes(&m, 2), 524288000);
    assert_int_equal(cr_dem_tiles_keep_bytes(&m, 1), 0);
    /* 300 MiB: left 300 - 64 - 87 - 9 = 140 MiB = 146800640, minus 408000 = 146392640. */
    m.budget = 300LL << 20;
    assert_int_equal(cr_dem_tiles_keep_bytes(&m, 2), 146392640);
    /* 8 threads: 2 x 8 x 9 x 262144 = 36 MiB (under a quarter of 300 MiB): 113 MiB =
     * 118489088, minus 408000 = 118081088. */
    m.threads = 8;
    assert_int_equal(cr_dem_tiles_workers(m.budget, m.tile_cells, 8), 8);
    assert_int_equal(cr_dem_tiles_keep_bytes(&m, 2), 118081088);
    /* 3001 reaches (1000 levels with confidence) on 100000 columns and 40000 tiles:
     * 3001 x (800000 + 160000) = 2880960000 bytes, more than the budget: nothing kept. */
    m.reaches = 3001, m.width = 100000, m.tiles = 40000;
    assert_int_equal(cr_dem_tiles_keep_bytes(&m, 2), 0);
    /* 64 threads on T = 4096 (16777216 cells, 288 MiB in flight per worker) under 4 GiB:
     * a quarter, 1024 MiB, holds 3 workers (864 MiB); under 100 MiB not one: 1 worker. */
    assert_int_equal(cr_dem_tiles_workers(4096LL << 20, 16777216, 64), 3);
    assert_int_equal(cr_dem_tiles_workers(100LL << 20, 16777216, 64), 1);
    /* Then 4096 - 64 - 87 - 864 = 3081 MiB left, no reaches: half the budget, 2048 MiB. */
    cr_dem_tiles_memory big = {.budget = 4096LL << 20, .block_cache = 64LL << 20,
                               .fixed = 87LL << 20, .tile_cells = 16777216, .threads = 64};
    assert_int_equal(cr_dem_tiles_keep_bytes(&big, 2), 2048LL << 20);
    /* 3000 MiB with a 1024 MiB cache: a quarter, 750 MiB, holds 2 workers (576 MiB);
     * 3000 - 1024 - 87 - 576 = 1313 MiB, under half (1500). With all 64 workers in flight
     * (18432 MiB) nothing would be kept. */
    big.budget = 3000LL << 20, big.block_cache = 1024LL << 20;
    assert_int_equal(cr_dem_tiles_workers(big.budget, big.tile_cells, 64), 2);
    assert_int_equal(cr_dem_tiles_keep_bytes(&big, 2), 1313LL << 20);
}

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
        cmocka_unit_test(keep_bytes_leave_room_for_threads_and_reaches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
