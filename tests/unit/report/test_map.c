/* test_map.c: the report's map (geo/report/report_map.c) and base64 (report_buf.c). The
 * models are built by hand: zones from WKT, the INFORM classes with YlOrRd colours. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "report/report_internal.h"

/* RFC 4648's test vectors. */
static void test_base64_of_rfc4648_vectors(void **state)
{
    (void)state;
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        report_buf b = {0};
        report_buf_base64(&b, (const unsigned char *)in[i], strlen(in[i]));
        assert_string_equal(b.data ? b.data : "", out[i]);
        report_buf_free(&b);
    }
}

/* The WKT of an EPSG CRS, to free(). */
static char *epsg_wkt(int epsg)
{
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    assert_int_equal(OSRImportFromEPSG(srs, epsg), OGRERR_NONE);
    char *wkt = NULL;
    assert_int_equal(OSRExportToWkt(srs, &wkt), OGRERR_NONE);
    char *copy = strdup(wkt);
    CPLFree(wkt);
    OSRDestroySpatialReference(srs);
    return copy;
}

/* YlOrRd's five colours, as report_load sets them by default. */
static const char *const YLORRD[5] = {"#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"};

/* A model of nzones zones (the first nwkt from WKT, the rest without geometry) in the
 * CRS of epsg, one view, INFORM's classes. */
static report_model *model_new(int epsg, int nzones, const char *const *wkt, int nwkt)
{
    report_model *r = calloc(1, sizeof *r);
    r->nzones = nzones;
    r->zones = calloc((size_t)nzones, sizeof *r->zones);
    for (int z = 0; z < nwkt; z++) {
        OGRGeometryH g = NULL;
        char *text = (char *)wkt[z];
        assert_int_equal(OGR_G_CreateFromWkt(&text, NULL, &g), OGRERR_NONE);
        r->zones[z].geometry = g;
    }
    r->crs_wkt = epsg_wkt(epsg);
    r->geographic = epsg == 4326;
    r->nviews = 1;
    r->views = calloc(1, sizeof *r->views);
    r->classes.n = 5;
    const double breaks[4] = {2.0, 3.5, 5.0, 6.5};
    memcpy(r->classes.breaks, breaks, sizeof breaks);
    for (int k = 0; k < 5; k++)
        strcpy(r->classes.colors[k], YLORRD[k]);
    return r;
}

/* Frees what model_new and report_map allocated. */
static void model_free(report_model *r)
{
    for (int z = 0; z < r->nzones; z++) {
        OGR_G_DestroyGeometry(r->zones[z].geometry);
        free(r->zones[z].svg_path);
    }
    for (int v = 0; v < r->nviews; v++)
        free(r->views[v].image_base64);
    free(r->zones);
    free(r->views);
    free(r->crs_wkt);
    free(r);
}

/* A 2000 m x 1000 m rectangle: 1000 x 500 map units, 0.5 a metre. */
static void test_rectangle_frame_and_path(void **state)
{
    (void)state;
    const char *wkt[] = {"POLYGON ((0 0,2000 0,2000 1000,0 1000,0 0))"};
    report_model *r = model_new(32736, 1, wkt, 1);
    cr_ctx *ctx = cr_ctx_new();
    assert_int_equal(report_map(ctx, r), CR_OK);
    assert_true(r->map_width == 1000 && r->map_height == 500);
    assert_true(r->map_scale == 0.5 && r->map_xmin == 0 && r->map_ymax == 1000);
    assert_string_equal(r->zones[0].svg_path, "M0 500l1000 0 0-500-1000 0Z");
    assert_true(r->tolerance == 0.5); /* 0.25 map units at 0.5 a metre */
    cr_ctx_free(ctx);
    model_free(r);
}

/* A 100 m square with a 50 m hole, as a multipolygon with a second, tiny square: every
 * ring, holes included; and a triangle whose corners fall on tenths of a map unit. */
static void test_square_with_hole_and_decimals(void **state)
{
    (void)state;
    const char *wkt[] = {"MULTIPOLYGON (((0 0,100 0,100 100,0 100,0 0),(25 25,75 25,75 75,25 75,25 25)),"
                         "((10 10,10.05 10,10.05 10.05,10 10.05,10 10)))",
                         "POLYGON ((50.01 50.01,50.52 50.01,50.52 50.53,50.01 50.01))"};
    report_model *r = model_new(32736, 2, wkt, 2);
    cr_ctx *ctx = cr_ctx_new();
    assert_int_equal(report_map(ctx, r), CR_OK);
    assert_true(r->map_width == 1000 && r->map_height == 1000 && r->map_scale == 10);
    /* the small square is 0.5 map units a side: kept (above the tolerance of 0.25) */
    assert_string_equal(r->zones[0].svg_path, "M0 1000l1000 0 0-1000-1000 0Z"
                                              "M250 750l500 0 0-500-500 0Z"
                                              "M100 900l0.5 0 0-0.5-0.5 0Z");
    /* (500.1, 499.9) (505.2, 499.9) (505.2, 494.7) */
    assert_string_equal(r->zones[1].svg_path, "M500.1 499.9l5.1 0 0-5.2Z");
    cr_ctx_free(ctx);
    model_free(r);
}

/* At 60 degrees S a degree of longitude is half a degree of latitude: a 2 x 2 degree
 * square is 500 x 1000 map units. */
static void test_geographic_zone_scaled_by_latitude(void **state)
{
    (void)state;
    const char *wkt[] = {"POLYGON ((10 -61,12 -61,12 -59,10 -59,10 -61))"};
    report_model *r = model_new(4326, 1, wkt, 1);
    cr_ctx *ctx = cr_ctx_new();
    assert_int_equal(report_map(ctx, r), CR_OK);
    assert_true(fabs(r->map_width - 500) < 1e-9 && r->map_height == 1000);
    assert_string_equal(r->zones[0].svg_path, "M0 1000l500 0 0-1000-500 0Z");
    cr_ctx_free(ctx);
    model_free(r);
}

/* A point or no geometry still gives a frame of 1000 x 1000; a zone without geometry has
 * no path. */
static void test_degenerate_frames(void **state)
{
    (void)state;
    const char *wkt[] = {"POINT (5 5)"};
    report_model *r = model_new(32736, 2, wkt, 1);
    cr_ctx *ctx = cr_ctx_new();
    assert_int_equal(report_map(ctx, r), CR_OK);
    assert_true(r->map_width == 1000 && r->map_height == 1000 && r->map_scale > 0);
    assert_null(r->zones[1].svg_path);
    model_free(r);
    r = model_new(32736, 1, NULL, 0);
    assert_int_equal(report_map(ctx, r), CR_OK);
    assert_true(r->map_width == 1000 && r->map_height == 1000);
    assert_null(r->zones[0].svg_path);
    cr_ctx_free(ctx);
    model_free(r);
}

/* 0.25 map units up to CR_REPORT_LARGE_ZONES zones, 1 above: a 1000 m square is 1 a metre. */
static void test_tolerance_rule(void **state)
{
    (void)state;
    const char *wkt[] = {"POLYGON ((0 0,1000 0,1000 1000,0 1000,0 0))"};
    cr_ctx *ctx = cr_ctx_new();
    report_model *r = model_new(32736, CR_REPORT_LARGE_ZONES, wkt, 1);
    assert_int_equal(report_map(ctx, r), CR_OK);
    assert_true(r->tolerance == 0.25);
    model_free(r);
    r = model_new(32736, CR_REPORT_LARGE_ZONES + 1, wkt, 1);
    assert_int_equal(report_map(ctx, r), CR_OK);
    assert_true(r->tolerance == 1.0);
    cr_ctx_free(ctx);
    model_free(r);
}

/* Decodes base64 (RFC 4648, padded) into a malloc'd buffer. */
static unsigned char *base64_decode(const char *text, size_t *n)
{
    static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len = strlen(text);
    unsigned char *out = malloc(len / 4 * 3 + 3);
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len && text[i] != '='; i++) {
        const char *p = strchr(ALPHABET, text[i]);
        assert_non_null(p);
        acc = acc << 6 | (unsigned)(p - ALPHABET);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits & 0xFF);
        }
    }
    *n = o;
    return out;
}

/* The RGBA pixels (4 bands, pixel-interleaved) of a view's image, decoded through GDAL's
 * PNG driver; its size in *w, *h. */
static unsigned char *image_pixels(const report_view *view, int *w, int *h)
{
    assert_non_null(view->image_base64);
    size_t n = 0;
    unsigned char *png = base64_decode(view->image_base64, &n);
    assert_true(n > 8 && memcmp(png, "\x89PNG", 4) == 0);
    VSILFILE *f = VSIFileFromMemBuffer("/vsimem/test_map.png", png, n, FALSE);
    VSIFCloseL(f);
    GDALDatasetH ds = GDALOpen("/vsimem/test_map.png", GA_ReadOnly);
    assert_non_null(ds);
    assert_int_equal(GDALGetRasterCount(ds), 4);
    *w = GDALGetRasterXSize(ds), *h = GDALGetRasterYSize(ds);
    unsigned char *rgba = malloc((size_t)*w * (size_t)*h * 4);
    assert_int_equal(GDALDatasetRasterIO(ds, GF_Read, 0, 0, *w, *h, rgba, *w, *h, GDT_Byte, 4, NULL, 4, 4 * *w, 1),
                     CE_None);
    GDALClose(ds);
    VSIUnlink("/vsimem/test_map.png");
    free(png);
    return rgba;
}

/* Asserts the pixel is the colour "#rrggbb" and opaque, or transparent for NULL. */
static void assert_pixel(const unsigned char *rgba, int w, int col, int row, const char *colour)
{
    const unsigned char *p = rgba + 4 * ((size_t)row * (size_t)w + (size_t)col);
    if (!colour) {
        assert_int_equal(p[3], 0);
        return;
    }
    char text[8];
    snprintf(text, sizeof text, "#%02x%02x%02x", p[0], p[1], p[2]);
    assert_string_equal(text, colour);
    assert_int_equal(p[3], 255);
}

/* Writes a w x h Float32 GeoTIFF in EPSG:32736 with the geotransform gt and nbands bands of
 * values (band-sequential); band score_band (1-based, 0: none) described "score". */
static void write_bands(const char *path, int w, int h, double gt[6], int nbands, const float *values, int score_band)
{
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, w, h, nbands, GDT_Float32, NULL);
    GDALSetGeoTransform(ds, gt);
    char *wkt = epsg_wkt(32736);
    GDALSetProjection(ds, wkt);
    free(wkt);
    if (score_band)
        GDALSetDescription(GDALGetRasterBand(ds, score_band), "score");
    assert_int_equal(GDALDatasetRasterIO(ds, GF_Write, 0, 0, w, h, (void *)values, w, h, GDT_Float32, nbands, NULL,
                                         0, 0, 0),
                     CE_None);
    GDALClose(ds);
}

/* The image report_map draws of the raster at path under a 400 m x 200 m zone in
 * EPSG:32736, decoded (free()); its size in *w, *h, its place in *view. */
static unsigned char *image_under_zone(const char *path, int *w, int *h, report_view *view)
{
    const char *zone[] = {"POLYGON ((0 0,400 0,400 200,0 200,0 0))"};
    report_model *r = model_new(32736, 1, zone, 1);
    r->views[0].exposure_path = (char *)path;
    cr_ctx *ctx = cr_ctx_new();
    assert_int_equal(report_map(ctx, r), CR_OK);
    unsigned char *rgba = image_pixels(&r->views[0], w, h);
    *view = r->views[0];
    view->image_base64 = NULL;
    cr_ctx_free(ctx);
    model_free(r);
    return rgba;
}

/* A 4 x 2 raster over a 400 m x 200 m zone: each value in its INFORM class colour, nodata
 * and NaN transparent; the image covers the map. */
static void test_exposure_image_classes(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *tif = tu_path(dir, "exposure.tif");
    const float values[8] = {1.0f, 3.0f, 4.0f, -9999.0f, 5.5f, 7.0f, NAN, 2.0f};
    tu_write_raster(tif, 32736, 0, 200, 100, 4, 2, values, 1, -9999);
    int w = 0, h = 0;
    report_view v;
    unsigned char *rgba = image_under_zone(tif, &w, &h, &v);
    assert_true(v.image_x == 0 && v.image_y == 0 && v.image_w == 1000 && v.image_h == 500);
    assert_true(w == 4 && h == 2);
    const char *expect[8] = {YLORRD[0], YLORRD[1], YLORRD[2], NULL, YLORRD[3], YLORRD[4], NULL, YLORRD[1]};
    for (int i = 0; i < 8; i++)
        assert_pixel(rgba, w, i % 4, i / 4, expect[i]);
    free(rgba);
    tu_rmdir(dir);
    free(tif);
}

/* The band described "score" is drawn, not band 1 (zonal's class band may come first). */
static void test_exposure_band_described_score(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *tif = tu_path(dir, "bands.tif");
    double gt[6] = {0, 200, 0, 200, 0, -200};
    const float values[4] = {9, 9, 1, 4}; /* band 1: 9 9, band 2 "score": 1 4 */
    write_bands(tif, 2, 1, gt, 2, values, 2);
    int w = 0, h = 0;
    report_view v;
    unsigned char *rgba = image_under_zone(tif, &w, &h, &v);
    assert_true(w == 2 && h == 1);
    assert_pixel(rgba, w, 0, 0, YLORRD[0]);
    assert_pixel(rgba, w, 1, 0, YLORRD[2]);
    free(rgba);
    tu_rmdir(dir);
    free(tif);
}

/* A south-up raster (rows from the south) is warped north-up: its northern row on top. */
static void test_exposure_south_up(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *tif = tu_path(dir, "south-up.tif");
    double gt[6] = {0, 100, 0, 0, 0, 100};
    const float rows[8] = {1, 1, 1, 1, 7, 7, 7, 7}; /* y 0..100 Very Low, y 100..200 Very High */
    write_bands(tif, 4, 2, gt, 1, rows, 0);
    int w = 0, h = 0;
    report_view v;
    unsigned char *rgba = image_under_zone(tif, &w, &h, &v);
    assert_true(w == 4 && h == 2);
    assert_pixel(rgba, w, 0, 0, YLORRD[4]);
    assert_pixel(rgba, w, 3, 1, YLORRD[0]);
    assert_true(fabs(v.image_x) < 1e-6 && fabs(v.image_y) < 1e-6 && fabs(v.image_w - 1000) < 1e-6 &&
                fabs(v.image_h - 500) < 1e-6);
    free(rgba);
    tu_rmdir(dir);
    free(tif);
}

/* A lon/lat raster under UTM zones: its one scored block (class Very High) lands where
 * PROJ puts the block's centre, and the cells outside the raster's data are transparent. */
static void test_exposure_image_in_another_crs(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *tif = tu_path(dir, "lonlat.tif");
    /* 0.001 degree cells over lon 2.9..3.2, lat 0.15..-0.05; the block lon 3.04..3.05, lat
     * 0.04..0.05 scores 7, the rest is nodata */
    enum { W = 300, H = 200 };
    float *values = malloc(sizeof *values * W * H);
    for (int row = 0; row < H; row++)
        for (int col = 0; col < W; col++) {
            int in = col >= 140 && col < 150 && row >= 100 && row < 110;
            values[row * W + col] = in ? 7.0f : -9999.0f;
        }
    tu_write_raster(tif, 4326, 2.9, 0.15, 0.001, W, H, values, 1, -9999);
    free(values);
    const char *wkt[] = {"POLYGON ((500000 0,510000 0,510000 10000,500000 10000,500000 0))"};
    report_model *r = model_new(32631, 1, wkt, 1);
    r->views[0].exposure_path = tif;
    cr_ctx *ctx = cr_ctx_new();
    assert_int_equal(report_map(ctx, r), CR_OK);
    assert_true(r->map_scale == 0.1);
    int w = 0, h = 0;
    const report_view *v = &r->views[0];
    unsigned char *rgba = image_pixels(v, &w, &h);
    double sx = 0, sy = 0;
    int count = 0;
    for (int row = 0; row < h; row++)
        for (int col = 0; col < w; col++) {
            const unsigned char *p = rgba + 4 * ((size_t)row * (size_t)w + (size_t)col);
            if (p[3] == 0)
                continue;
            assert_pixel(rgba, w, col, row, YLORRD[4]);
            sx += v->image_x + (col + 0.5) * v->image_w / w;
            sy += v->image_y + (row + 0.5) * v->image_h / h;
            count++;
        }
    assert_true(count > 0);
    assert_pixel(rgba, w, 0, 0, NULL);
    /* the block's centre through PROJ, in map units (x = (E - 500000) 0.1, y = (10000 - N) 0.1) */
    OGRSpatialReferenceH from = OSRNewSpatialReference(NULL), to = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(from, 4326), OSRImportFromEPSG(to, 32631);
    OSRSetAxisMappingStrategy(from, OAMS_TRADITIONAL_GIS_ORDER);
    OSRSetAxisMappingStrategy(to, OAMS_TRADITIONAL_GIS_ORDER);
    OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(from, to);
    double x = 3.045, y = 0.045;
    assert_true(OCTTransform(ct, 1, &x, &y, NULL));
    OCTDestroyCoordinateTransformation(ct);
    OSRDestroySpatialReference(from), OSRDestroySpatialReference(to);
    double ex = (x - 500000) * 0.1, ey = (10000 - y) * 0.1; /* about (500.8, 501.9) */
    /* within a warped cell (111 m: 11 map units) */
    assert_true(fabs(sx / count - ex) < 11 && fabs(sy / count - ey) < 11);
    free(rgba);
    cr_ctx_free(ctx);
    model_free(r);
    tu_rmdir(dir);
    free(tif);
}

/* An exposure raster that cannot be read: CR_E_IO naming it. */
static void test_unreadable_exposure(void **state)
{
    (void)state;
    const char *wkt[] = {"POLYGON ((0 0,400 0,400 200,0 200,0 0))"};
    report_model *r = model_new(32736, 1, wkt, 1);
    r->views[0].exposure_path = "/nonexistent/exposure.tif";
    cr_ctx *ctx = cr_ctx_new();
    assert_int_equal(report_map(ctx, r), CR_E_IO);
    assert_non_null(strstr(cr_ctx_error(ctx), "/nonexistent/exposure.tif"));
    cr_ctx_free(ctx);
    model_free(r);
}

int main(void)
{
    GDALAllRegister();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_of_rfc4648_vectors),
        cmocka_unit_test(test_rectangle_frame_and_path),
        cmocka_unit_test(test_square_with_hole_and_decimals),
        cmocka_unit_test(test_geographic_zone_scaled_by_latitude),
        cmocka_unit_test(test_degenerate_frames),
        cmocka_unit_test(test_tolerance_rule),
        cmocka_unit_test(test_exposure_image_classes),
        cmocka_unit_test(test_exposure_band_described_score),
        cmocka_unit_test(test_exposure_south_up),
        cmocka_unit_test(test_exposure_image_in_another_crs),
        cmocka_unit_test(test_unreadable_exposure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
