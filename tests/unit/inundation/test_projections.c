/* test_projections.c: local sea-level projections (names, the CSV long format) and the
 * vertical land motion of cr_inundation(), on values small enough to work by hand. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/inundation.h"
#include "inundation/projections.h"

static void names_split_into_scenario_year_and_quantile(void **state)
{
    (void)state;
    char s[24];
    int year = 0;
    double q = 0;
    assert_true(cr_projection_name_parse("ssp245-2100", s, sizeof s, &year, &q));
    assert_string_equal(s, "ssp245");
    assert_int_equal(year, 2100);
    assert_true(q == 50.0);
    assert_true(cr_projection_name_parse("SSP2-4.5-2050-p83", s, sizeof s, &year, &q));
    assert_string_equal(s, "ssp245");
    assert_int_equal(year, 2050);
    assert_true(q == 83.0);
    assert_true(cr_projection_name_parse("ssp585-2150-p5", s, sizeof s, &year, &q));
    assert_true(q == 5.0);
    const char *bad[] = {"ssp245", "ssp245-21", "ssp245-2100-p", "ssp245-2100-p150", "-2100",
                         "ssp245-2100-p0", "ssp245-21x0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(cr_projection_name_parse(bad[i], s, sizeof s, &year, &q));
}

static void csv_values_resolve_and_misses_list_what_the_file_has(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *csv = tu_write_file(dir, "local.csv",
                              "note,Quantile,Scenario,sea_level_change_MM,year\n"
                              "x,50,ssp245,620,2100\n"
                              "x,17,SSP2-4.5,490,2100\n"
                              "x,50,ssp126,-35,2050\n");
    cr_ctx *ctx = cr_ctx_new();
    cr_projections *p = NULL;
    assert_int_equal(cr_projections_load(ctx, csv, NULL, NULL, &p), CR_OK);
    assert_int_equal((int)p->count, 3);
    assert_false(p->has_location);
    double v = 0;
    assert_int_equal(cr_projections_resolve(ctx, p, "ssp245-2100", &v), CR_OK);
    assert_true(fabs(v - 0.62) < 1e-12);
    assert_int_equal(cr_projections_resolve(ctx, p, "ssp245-2100-p17", &v), CR_OK);
    assert_true(fabs(v - 0.49) < 1e-12);
    assert_int_equal(cr_projections_resolve(ctx, p, "ssp126-2050", &v), CR_OK);
    assert_true(fabs(v + 0.035) < 1e-12); /* local projections may fall */
    assert_int_equal(cr_projections_resolve(ctx, p, "ssp245-2100-p83", &v), CR_E_USAGE);
    const char *msg = cr_ctx_error(ctx);
    assert_non_null(strstr(msg, csv));
    assert_non_null(strstr(msg, "scenarios ssp245, ssp126; years 2100, 2050; quantiles p50, p17"));
    char source[1024];
    cr_projections_source(p, source, sizeof source);
    char want[1024];
    snprintf(want, sizeof want, "local projections %s", csv);
    assert_string_equal(source, want);
    cr_projections_free(p);
    cr_ctx_free(ctx);
    free(csv);
    tu_rmdir(dir);
}

static void malformed_csv_rows_name_their_line(void **state)
{
    (void)state;
    static const char *const CASES[][2] = {
        {"scenario,year,quantile,sea_level_change_m\nssp245,2100,50,0.4\n\nssp245,2100,17,x\n", "line 4"},
        {"scenario,year,quantile,sea_level_change_m\nssp245,2100.5,50,0.4\n", "line 2"},
        {"scenario,year,quantile,sea_level_change_m\nssp245,2100,50,0.4\nssp2-4.5,2100,50,0.4\n", "line 3"},
        {"scenario,year,quantile,sea_level_change_m\nssp245,2100,0,0.4\n", "line 2"},
        {"scenario,year,quantile,sea_level_change_m\nssp245,2100\n", "line 2"},
        {"scenario,year,quantile\nssp245,2100,50\n", "sea_level_change_m"},
        {"scenario,year,quantile,sea_level_change_m\n", "no value"},
    };
    char *dir = tu_mkdtemp();
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "bad%zu.csv", i);
        char *csv = tu_write_file(dir, name, CASES[i][0]);
        cr_ctx *ctx = cr_ctx_new();
        cr_projections *p = NULL;
        assert_int_equal(cr_projections_load(ctx, csv, NULL, NULL, &p), CR_E_DATA);
        assert_null(p);
        if (!strstr(cr_ctx_error(ctx), CASES[i][1]) || !strstr(cr_ctx_error(ctx), csv))
            fail_msg("case %zu: '%s' lacks '%s'", i, cr_ctx_error(ctx), CASES[i][1]);
        cr_ctx_free(ctx);
        free(csv);
    }
    tu_rmdir(dir);
}

/* A value that a second file gives again is refused in either order, naming both files;
 * --location with no NetCDF file among them is refused rather than ignored. */
static void a_value_given_by_two_files_and_a_location_without_netcdf_are_refused(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *a = tu_write_file(dir, "a.csv", "scenario,year,quantile,sea_level_change_m\n"
                                          "ssp245,2050,50,0.2\nssp245,2100,50,0.6\n");
    char *b = tu_write_file(dir, "b.csv", "scenario,year,quantile,sea_level_change_m\n"
                                          "ssp245,2100,50,5\n");
    char both[2][1024];
    snprintf(both[0], sizeof both[0], "%s,%s", a, b);
    snprintf(both[1], sizeof both[1], "%s,%s", b, a);
    const char *second[2] = {b, a}, *first[2] = {a, b};
    const int line[2] = {2, 3}; /* of the second file's row */
    for (int i = 0; i < 2; i++) {
        cr_ctx *ctx = cr_ctx_new();
        cr_projections *p = NULL;
        assert_int_equal(cr_projections_load(ctx, both[i], NULL, NULL, &p), CR_E_DATA);
        assert_null(p);
        char want[1200];
        snprintf(want, sizeof want, "projections '%s' line %d: ssp245 2100 quantile 50", second[i],
                 line[i]);
        const char *msg = cr_ctx_error(ctx);
        if (!strstr(msg, want) || !strstr(msg, first[i]) || !strstr(msg, "0.6 m") || !strstr(msg, "5 m"))
            fail_msg("order %d: '%s'", i, msg);
        cr_ctx_free(ctx);
    }
    cr_ctx *ctx = cr_ctx_new();
    cr_projections *p = NULL;
    assert_int_equal(cr_projections_load(ctx, a, "1001", NULL, &p), CR_E_USAGE);
    assert_null(p);
    assert_non_null(strstr(cr_ctx_error(ctx), "--location 1001"));
    cr_ctx_free(ctx);
    free(a);
    free(b);
    tu_rmdir(dir);
}

/* 4 x 3 cells; column 0 is sea. At W = 0.45 without motion only the 0.2 beach floods; land
 * sinking 0.1 m takes the 0.5 ridge to 0.4 (depth 0.05) and opens the 0.42 hollow behind it
 * (0.32: depth 0.13); the 0.3 cell in the corner lies behind 3 m land and stays dry. */
static const float DEM[12] = {
    -1, 0.2f, 0.5f, 0.42f,
    -1, 0.2f, 3,    3,
    -1, 3,    3,    0.3f,
};

static void land_motion_moves_the_land_by_hand(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *dem = tu_path(dir, "dem.tif"), *out = tu_path(dir, "out.tif");
    tu_write_raster(dem, 32736, 500000, 8000000, 10, 4, 3, DEM, 1, -9999);
    cr_ctx *ctx = cr_ctx_new();
    cr_sea_level level = {NULL, 0.45};
    cr_inundation_opts o;
    cr_inundation_opts_init(&o);
    o.levels = &level;
    o.level_count = 1;
    o.vlm = -2;              /* mm/yr */
    o.vlm_to_m = 50 / 1000.0; /* over 50 years */
    o.vlm_years = 50;
    cr_inundation_stats stats;
    assert_int_equal(cr_inundation(ctx, dem, out, &o, &stats, NULL), CR_OK);
    const float expect[12] = {
        -9999, 0.35f, 0.05f, 0.13f,
        -9999, 0.35f, 0,     0,
        -9999, 0,     0,     0,
    };
    GDALDatasetH ds = GDALOpen(out, GA_ReadOnly);
    assert_non_null(ds);
    float got[12];
    assert_int_equal(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, 0, 0, 4, 3, got, 4, 3,
                                  GDT_Float32, 0, 0),
                     CE_None);
    for (int i = 0; i < 12; i++)
        if (fabsf(got[i] - expect[i]) > 1e-6f)
            fail_msg("cell %d: %g, expected %g", i, got[i], expect[i]);
    assert_int_equal((int)stats.inundated_cells, 4);
    assert_string_equal(GDALGetMetadataItem(GDALGetRasterBand(ds, 1), "VLM_M", NULL), "-0.1");
    GDALClose(ds);
    /* A VLM without its unit is refused before any work. */
    o.vlm_to_m = 0;
    o.overwrite = 1;
    assert_int_equal(cr_inundation(ctx, dem, out, &o, NULL, NULL), CR_E_USAGE);
    cr_ctx_free(ctx);
    free(dem);
    free(out);
    tu_rmdir(dir);
}

int main(void)
{
    GDALAllRegister();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_split_into_scenario_year_and_quantile),
        cmocka_unit_test(csv_values_resolve_and_misses_list_what_the_file_has),
        cmocka_unit_test(malformed_csv_rows_name_their_line),
        cmocka_unit_test(a_value_given_by_two_files_and_a_location_without_netcdf_are_refused),
        cmocka_unit_test(land_motion_moves_the_land_by_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
