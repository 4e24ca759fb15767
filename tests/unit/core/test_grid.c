/* test_grid.c: snapping, grids from bounds, refusing grids without CRS, block windows. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <ogr_srs_api.h>

#include "core/internal.h"

static void snapping_floors_and_ceils_to_the_resolution(void **state)
{
    (void)state;
    assert_float_equal(cr_snap_down(100.5, 30), 90.0, 1e-9);
    assert_float_equal(cr_snap_up(1000.1, 30), 1020.0, 1e-9);
    assert_float_equal(cr_snap_down(-100.5, 30), -120.0, 1e-9);
    /* A bound already on the grid, give or take rounding, stays put. */
    assert_float_equal(cr_snap_down(0.3 * 3, 0.3), 0.9, 1e-12);
    assert_float_equal(cr_snap_up(0.1 * 3, 0.1), 0.3, 1e-12);
}

static void grid_from_bounds_snaps_origin_and_size(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_bounds b = {100.5, 200.2, 1000.1, 900.0};
    cr_grid *g = NULL;
    assert_int_equal(cr_grid_from_bounds(ctx, &b, 30, 30, "EPSG:32736", &g), CR_OK);
    /* x: 90 .. 1020 = 31 cells; y: 180 .. 900 = 24 cells. */
    assert_int_equal(g->width, 31);
    assert_int_equal(g->height, 24);
    assert_float_equal(g->gt[0], 90.0, 1e-9);
    assert_float_equal(g->gt[3], 900.0, 1e-9);
    assert_float_equal(g->gt[1], 30.0, 0);
    assert_float_equal(g->gt[5], -30.0, 0);
    assert_float_equal(cr_grid_cell_area(g), 900.0, 0);
    cr_bounds gb = cr_grid_bounds(g);
    assert_float_equal(gb.ymin, 180.0, 1e-9);
    assert_float_equal(gb.xmax, 1020.0, 1e-9);
    assert_non_null(strstr(g->crs_wkt, "UTM zone 36S"));
    cr_grid_free(g);
    cr_ctx_free(ctx);
}

static void grid_from_bounds_refuses_bad_requests(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_grid *g = NULL;
    cr_bounds b = {0, 0, 1000, 1000}, empty = {10, 0, 10, 5};
    assert_int_equal(cr_grid_from_bounds(ctx, &b, 0, 30, "EPSG:32736", &g), CR_E_USAGE);
    assert_int_equal(cr_grid_from_bounds(ctx, &empty, 30, 30, "EPSG:32736", &g), CR_E_USAGE);
    assert_int_equal(cr_grid_from_bounds(ctx, &b, 30, 30, "EPSG:999999", &g), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(ctx), "EPSG:999999"));
    cr_bounds huge = {0, 0, 1e9, 1e9};
    assert_int_equal(cr_grid_from_bounds(ctx, &huge, 1, 1, "EPSG:32736", &g), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(ctx), "too large"));
    assert_null(g);
    cr_ctx_free(ctx);
}

static void grid_without_crs_is_refused(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_grid *g = NULL;
    double gt[6] = {0, 30, 0, 0, 0, -30};
    assert_int_equal(cr_grid_new(ctx, "", gt, 10, 10, &g), CR_E_DATA);
    assert_null(g);
    assert_non_null(strstr(cr_ctx_error(ctx), "no CRS"));

    char *dir = tu_mkdtemp();
    char path[512];
    snprintf(path, sizeof path, "%s/nocrs.tif", dir);
    float v[4] = {1, 2, 3, 4};
    tu_write_raster(path, 0, 0, 0, 30, 2, 2, v, 0, 0);
    assert_int_equal(cr_grid_from_raster(ctx, path, &g), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(ctx), path));
    assert_non_null(strstr(cr_ctx_error(ctx), "no CRS"));
    tu_rmdir(dir);
    cr_ctx_free(ctx);
}

/* A geotransform with NaN, infinities or coordinates no CRS reaches is called invalid, with
 * its values, rather than giving grids whose extents are "nan .. nan". */
static void invalid_geotransforms_are_named(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    const double good[6] = {690000, 30, 0, 7806000, 0, -30};
    assert_int_equal(cr_check_geotransform(ctx, "a.tif", good, 8, 8), CR_OK);
    const double bad[][6] = {
        {NAN, 30, 0, 7806000, 0, -30},      {690000, INFINITY, 0, 7806000, 0, -30},
        {1e300, 30, 0, 7806000, 0, -30},    {690000, 1e300, 0, 7806000, 0, -1e300},
        {690000, 1e-9, 0, 7806000, 0, -1e-9}, {690000, 0, 0, 7806000, 0, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(cr_check_geotransform(ctx, "a.tif", bad[i], 8, 8), CR_E_DATA);
        assert_non_null(strstr(cr_ctx_error(ctx), "raster 'a.tif' has an invalid geotransform"));
    }
    /* and through a file (a VRT holds any numbers) */
    char *dir = tu_mkdtemp();
    char path[512], vrt[1024];
    snprintf(path, sizeof path, "%s/gt.vrt", dir);
    snprintf(vrt, sizeof vrt,
             "<VRTDataset rasterXSize=\"2\" rasterYSize=\"2\"><SRS>EPSG:32736</SRS>"
             "<GeoTransform>nan, 30, 0, 7806000, 0, -30</GeoTransform>"
             "<VRTRasterBand dataType=\"Float32\" band=\"1\"/></VRTDataset>");
    free(tu_write_file(dir, "gt.vrt", vrt));
    cr_grid *g = NULL;
    assert_int_equal(cr_grid_from_raster(ctx, path, &g), CR_E_DATA);
    assert_null(g);
    assert_non_null(strstr(cr_ctx_error(ctx), "invalid geotransform (origin nan, 7806000; cell "
                                              "size 30 x -30): its values must be finite"));
    tu_rmdir(dir);
    cr_ctx_free(ctx);
}

/* Cell positions in messages keep to 10 significant digits. */
static void cell_text_has_at_most_ten_digits(void **state)
{
    (void)state;
    char text[128];
    cr_grid *g = tu_grid(32736, 690000, 7806000, 30, 10, 10);
    cr_grid_cell_text(g, 5, 4, text, sizeof text);
    assert_string_equal(text, "grid cell column 5, row 4 (x 690165.000, y 7805865.000)");
    cr_grid_free(g);
    g = tu_grid(32736, 123456789012.0, -98765432.0, 1, 10, 10);
    cr_grid_cell_text(g, 0, 0, text, sizeof text);
    assert_string_equal(text, "grid cell column 0, row 0 (x 1.23456789e+11, y -98765432.50)");
    cr_grid_free(g);
}

/* Only projected or geographic 2D CRSs make a grid (a compound one by its horizontal part). */
static void grid_in_a_crs_that_makes_no_grid_is_refused(void **state)
{
    (void)state;
    static const struct {
        const char *crs;
        const char *kind; /* NULL: a grid */
    } cases[] = {
        {"EPSG:32736", NULL},
        {"EPSG:4326", NULL},
        {"EPSG:32736+5773", NULL},
        {"EPSG:4326+5773", NULL},
        {"EPSG:4978", "a geocentric CRS"},
        {"EPSG:5773", "a vertical CRS"},
        {"EPSG:4979", "a geographic 3D CRS"},
        {"LOCAL_CS[\"site\",UNIT[\"metre\",1]]", "an engineering (local) CRS"},
    };
    cr_ctx *ctx = cr_ctx_new();
    double gt[6] = {0, 30, 0, 0, 0, -30};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
        assert_int_equal(OSRSetFromUserInput(srs, cases[i].crs), OGRERR_NONE);
        char *wkt = NULL;
        const char *const wkt2[] = {"FORMAT=WKT2_2019", NULL};
        assert_int_equal(OSRExportToWktEx(srs, &wkt, wkt2), OGRERR_NONE);
        char name[128];
        const char *kind = cr_crs_not_a_grid(wkt, name, sizeof name);
        cr_grid *g = NULL;
        cr_status st = cr_grid_new(ctx, wkt, gt, 10, 10, &g);
        if (!cases[i].kind) {
            if (kind || st != CR_OK)
                fail_msg("%s: refused: %s", cases[i].crs, cr_ctx_error(ctx));
        } else {
            if (!kind || strcmp(kind, cases[i].kind) != 0)
                fail_msg("%s: kind '%s', expected '%s'", cases[i].crs, kind ? kind : "(grid)",
                         cases[i].kind);
            assert_int_equal(st, CR_E_DATA);
            assert_non_null(strstr(cr_ctx_error(ctx), cases[i].kind));
            assert_null(g);
        }
        cr_grid_free(g);
        CPLFree(wkt);
        OSRDestroySpatialReference(srs);
    }
    cr_bounds b = {0, 0, 300, 300};
    cr_grid *g = NULL;
    assert_int_equal(cr_grid_from_bounds(ctx, &b, 30, 30, "EPSG:4978", &g), CR_E_USAGE);
    assert_null(g);
    assert_non_null(strstr(cr_ctx_error(ctx), "geocentric"));
    cr_ctx_free(ctx);
}

static void windows_tile_the_grid_and_clip_at_edges(void **state)
{
    (void)state;
    cr_grid *g = tu_grid(32736, 0, 0, 30, 1100, 600);
    /* 1100 = 512 + 512 + 76 columns, 600 = 512 + 88 rows. */
    assert_int_equal(cr_grid_window_count(g, 512), 6);
    cr_window w0 = cr_grid_window(g, 512, 0), w2 = cr_grid_window(g, 512, 2),
              w5 = cr_grid_window(g, 512, 5);
    assert_int_equal(w0.x, 0);
    assert_int_equal(w0.w, 512);
    assert_int_equal(w2.x, 1024);
    assert_int_equal(w2.w, 76);
    assert_int_equal(w2.h, 512);
    assert_int_equal(w5.x, 1024);
    assert_int_equal(w5.y, 512);
    assert_int_equal(w5.w, 76);
    assert_int_equal(w5.h, 88);
    long cells = 0;
    for (int64_t i = 0; i < cr_grid_window_count(g, 512); i++) {
        cr_window w = cr_grid_window(g, 512, i);
        cells += (long)w.w * w.h;
    }
    assert_int_equal(cells, 1100L * 600L);
    cr_grid_free(g);
}

static void grids_compare_by_crs_and_geotransform(void **state)
{
    (void)state;
    cr_grid *a = tu_grid(32736, 0, 0, 30, 10, 10), *b = tu_grid(32736, 0, 0, 30, 10, 10),
            *c = tu_grid(32737, 0, 0, 30, 10, 10), *d = tu_grid(32736, 15, 0, 30, 10, 10);
    assert_true(cr_grid_equal(a, b));
    assert_false(cr_grid_equal(a, c));
    assert_false(cr_grid_equal(a, d));
    cr_grid *e = cr_grid_clone(a);
    assert_true(cr_grid_equal(a, e));
    cr_grid_free(a), cr_grid_free(b), cr_grid_free(c), cr_grid_free(d), cr_grid_free(e);
}

/* The grid options (issue 18, point 5): every value below is worked by hand. */

/* Builds spec's grid over primary and checks its origin (x0, y0), cell size and size. */
static void assert_spec_grid(cr_ctx *ctx, const cr_grid_spec *spec, const char *primary, double x0,
                             double y0, double cell, int width, int height)
{
    cr_grid *g = NULL;
    assert_int_equal(cr_grid_from_spec(ctx, spec, primary, &g), CR_OK);
    assert_float_equal(g->gt[0], x0, 1e-9);
    assert_float_equal(g->gt[3], y0, 1e-9);
    assert_float_equal(g->gt[1], cell, 0);
    assert_float_equal(g->gt[5], -cell, 0);
    assert_int_equal(g->width, width);
    assert_int_equal(g->height, height);
    cr_grid_free(g);
}

static void grid_spec_lays_the_grid_over_the_primary_inputs_extent(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    char *dir = tu_mkdtemp(), *path = tu_path(dir, "primary.tif");
    float values[35] = {0};
    /* x 1005 .. 1075, y 1970 .. 2020 in UTM 36S. */
    tu_write_raster(path, 32736, 1005, 2020, 10, 7, 5, values, 0, 0);
    cr_grid_spec spec = {.crs = "EPSG:32736", .resolution = 30};
    /* Snapped outwards to multiples of 30: x 990 .. 1080, y 1950 .. 2040: 3 x 3 cells. */
    assert_spec_grid(ctx, &spec, path, 990, 2040, 30, 3, 3);
    assert_null(cr_grid_spec_source(&spec, path)); /* laid by options */
    /* --bounds wins over the primary input's extent: x 0 .. 100 -> 0 .. 120, y 0 .. 50 -> 0 .. 60. */
    spec.has_bounds = 1;
    spec.bounds = (cr_bounds){0, 0, 100, 50};
    assert_spec_grid(ctx, &spec, path, 0, 60, 30, 4, 2);
    /* Nothing given: the primary raster's own grid; --grid: the reference's. */
    cr_grid_spec none = {0}, ref = {.ref = path};
    assert_spec_grid(ctx, &none, path, 1005, 2020, 10, 7, 5);
    assert_string_equal(cr_grid_spec_source(&none, path), path);
    assert_spec_grid(ctx, &ref, "elsewhere.tif", 1005, 2020, 10, 7, 5);
    assert_string_equal(cr_grid_spec_source(&ref, "elsewhere.tif"), path);
    free(path);
    tu_rmdir(dir);
    cr_ctx_free(ctx);
}

static void grid_spec_takes_a_vectors_extent(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    char *dir = tu_mkdtemp();
    char *path = tu_write_file(dir, "zones.geojson",
                               "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\","
                               "\"properties\":{},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":"
                               "[[[10.3,20.1],[10.7,20.1],[10.7,20.6],[10.3,20.6],[10.3,20.1]]]}}]}\n");
    cr_grid_spec spec = {.crs = "EPSG:4326", .resolution = 0.25};
    /* lon 10.3 .. 10.7 -> 10.25 .. 10.75 (2 cells); lat 20.1 .. 20.6 -> 20.0 .. 20.75 (3). */
    assert_spec_grid(ctx, &spec, path, 10.25, 20.75, 0.25, 2, 3);
    free(path);
    tu_rmdir(dir);
    cr_ctx_free(ctx);
}

static void grid_spec_rules_are_usage_errors(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_bounds b = {0, 0, 10, 10};
    const cr_grid_spec bad[] = {
        {.ref = "r.tif", .crs = "EPSG:32736", .resolution = 10},
        {.ref = "r.tif", .has_bounds = 1, .bounds = b},
        {.crs = "EPSG:32736"},
        {.resolution = 10},
        {.has_bounds = 1, .bounds = b},
        {.crs = "EPSG:32736", .resolution = 10, .has_bounds = 1, .bounds = {10, 0, 0, 10}},
    };
    const char *says[] = {"--grid takes the grid from a raster", "--grid takes the grid from a raster",
                          "--crs needs --resolution", "--resolution needs --crs",
                          "--bounds needs --crs and --resolution", "is empty"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_grid *g = NULL;
        assert_int_equal(cr_grid_spec_check(ctx, &bad[i]), CR_E_USAGE);
        assert_non_null(strstr(cr_ctx_error(ctx), says[i]));
        assert_int_equal(cr_grid_from_spec(ctx, &bad[i], "p.tif", &g), CR_E_USAGE);
        assert_null(g);
    }
    const cr_grid_spec good[] = {{0}, {.ref = "r.tif"}, {.crs = "EPSG:32736", .resolution = 10},
                                 {.crs = "EPSG:32736", .resolution = 10, .has_bounds = 1, .bounds = b}};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_int_equal(cr_grid_spec_check(ctx, &good[i]), CR_OK);
    cr_bounds out;
    assert_int_equal(cr_bounds_parse(ctx, "-1.5,2,3e2,4", &out), CR_OK);
    assert_float_equal(out.xmin, -1.5, 0);
    assert_float_equal(out.xmax, 300.0, 0);
    assert_float_equal(out.ymax, 4.0, 0);
    const char *bad_text[] = {"1,2,3", "1,2,3,4,5", "1,2,x,4", "1,,3,4", "0x10,2,3,4", "1,2,3,nan", ""};
    for (size_t i = 0; i < sizeof bad_text / sizeof *bad_text; i++) {
        assert_int_equal(cr_bounds_parse(ctx, bad_text[i], &out), CR_E_USAGE);
        assert_non_null(strstr(cr_ctx_error(ctx), "--bounds wants xmin,ymin,xmax,ymax"));
    }
    cr_ctx_free(ctx);
}

int main(void)
{
    GDALAllRegister();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(snapping_floors_and_ceils_to_the_resolution),
        cmocka_unit_test(grid_from_bounds_snaps_origin_and_size),
        cmocka_unit_test(grid_from_bounds_refuses_bad_requests),
        cmocka_unit_test(grid_without_crs_is_refused),
        cmocka_unit_test(invalid_geotransforms_are_named),
        cmocka_unit_test(cell_text_has_at_most_ten_digits),
        cmocka_unit_test(grid_in_a_crs_that_makes_no_grid_is_refused),
        cmocka_unit_test(windows_tile_the_grid_and_clip_at_edges),
        cmocka_unit_test(grids_compare_by_crs_and_geotransform),
        cmocka_unit_test(grid_spec_lays_the_grid_over_the_primary_inputs_extent),
        cmocka_unit_test(grid_spec_takes_a_vectors_extent),
        cmocka_unit_test(grid_spec_rules_are_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
