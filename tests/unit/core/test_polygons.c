/* test_polygons.c: polygon sets on the grid (core/polygons.c): coverage-weighted means of
 * a field and covered shares of a union, with values worked out by hand; layer choice,
 * numeric fields, Latin-1 Shapefiles, a GPKG in EPSG:4326 on a UTM grid. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "cityrisk/raster.h"
#include "core/inputs.h"
#include "core/polygons.h"

typedef struct fixture {
    char *dir;
    cr_ctx *ctx;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    f->ctx = cr_ctx_new();
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

/* One feature to write: its WKT and the values of the layer's real fields. */
typedef struct feat {
    const char *wkt;
    double values[4];
} feat;

/* Writes features to a new layer of dataset path (created by driver, or opened for
 * update when it exists and driver is NULL). fields: names of real fields. */
static void write_layer(const char *path, const char *driver, int epsg, const char *layer,
                        const char *const *fields, int nfields, const feat *feats, int n,
                        char **layer_options)
{
    GDALDatasetH ds;
    if (driver) {
        ds = GDALCreate(GDALGetDriverByName(driver), path, 0, 0, 0, GDT_Unknown, NULL);
    } else {
        ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_UPDATE, NULL, NULL, NULL);
    }
    assert_non_null(ds);
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(srs, epsg);
    OGRLayerH l = GDALDatasetCreateLayer(ds, layer, srs, wkbPolygon, layer_options);
    assert_non_null(l);
    for (int k = 0; k < nfields; k++) {
        OGRFieldDefnH fd = OGR_Fld_Create(fields[k], OFTReal);
        assert_int_equal(OGR_L_CreateField(l, fd, 1), OGRERR_NONE);
        OGR_Fld_Destroy(fd);
    }
    for (int i = 0; i < n; i++) {
        OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(l));
        for (int k = 0; k < nfields; k++)
            if (!isnan(feats[i].values[k]))
                OGR_F_SetFieldDouble(f, k, feats[i].values[k]);
        OGRGeometryH g = NULL;
        char *wkt = (char *)feats[i].wkt;
        assert_int_equal(OGR_G_CreateFromWkt(&wkt, srs, &g), OGRERR_NONE);
        OGR_F_SetGeometryDirectly(f, g);
        assert_int_equal(OGR_L_CreateFeature(l, f), OGRERR_NONE);
        OGR_F_Destroy(f);
    }
    OSRDestroySpatialReference(srs);
    GDALClose(ds);
}

/* The 4 x 4 grid of 10 m cells the tests use: x 1000..1040, y 2000..2040 (EPSG:32736). */
static cr_grid *grid4(void)
{
    return tu_grid(32736, 1000, 2040, 10, 4, 4);
}

/* Two basins split at x = 1022.5: columns 0 and 1 lie in the west basin (value 2), column
 * 3 in the east (value 4), column 2 a quarter west and three quarters east: its mean is
 * 0.25 * 2 + 0.75 * 4 = 3.5. */
static void mean_of_two_basins_by_hand(void **state)
{
    fixture *f = *state;
    char *path = tu_path(f->dir, "basins.gpkg");
    const char *fields[] = {"bws_score"};
    feat feats[] = {
        {"POLYGON ((1000 2000, 1022.5 2000, 1022.5 2040, 1000 2040, 1000 2000))", {2}},
        {"POLYGON ((1022.5 2000, 1040 2000, 1040 2040, 1022.5 2040, 1022.5 2000))", {4}},
    };
    write_layer(path, "GPKG", 32736, "basins", fields, 1, feats, 2, NULL);
    cr_grid *g = grid4();
    cr_polyset_opts o = {0};
    o.field = "bws_score";
    cr_polyset *set = NULL;
    assert_int_equal(cr_polyset_load(f->ctx, path, g, &o, &set), CR_OK);
    assert_int_equal(cr_polyset_size(set), 2);
    assert_int_equal(cr_polyset_counts_of(set)->features, 2);
    cr_window win = {0, 0, 4, 4};
    double v[16];
    uint8_t valid[16];
    cr_coverage_scratch scratch = {0};
    assert_int_equal(cr_polyset_mean(f->ctx, set, &win, &scratch, v, valid, NULL), CR_OK);
    const double expect[4] = {2, 2, 3.5, 4};
    for (int i = 0; i < 16; i++) {
        assert_int_equal(valid[i], 1);
        assert_float_equal(v[i], expect[i % 4], 1e-12);
    }
    /* A window of one cell in the middle of the split, and one off the grid's right edge. */
    cr_window one = {2, 1, 1, 1};
    assert_int_equal(cr_polyset_mean(f->ctx, set, &one, &scratch, v, valid, NULL), CR_OK);
    assert_float_equal(v[0], 3.5, 1e-12);
    cr_coverage_scratch_free(&scratch);
    cr_polyset_free(set);
    cr_grid_free(g);
    free(path);
}

/* A cell no basin with a value covers is invalid; a null value leaves its basin out. */
static void uncovered_and_null_cells_are_invalid(void **state)
{
    fixture *f = *state;
    char *path = tu_path(f->dir, "part.gpkg");
    const char *fields[] = {"v"};
    feat feats[] = {
        {"POLYGON ((1000 2000, 1020 2000, 1020 2040, 1000 2040, 1000 2000))", {1}},
        {"POLYGON ((1020 2000, 1030 2000, 1030 2040, 1020 2040, 1020 2000))", {NAN}},
    };
    write_layer(path, "GPKG", 32736, "part", fields, 1, feats, 2, NULL);
    cr_grid *g = grid4();
    cr_polyset_opts o = {0};
    o.field = "v";
    cr_polyset *set = NULL;
    assert_int_equal(cr_polyset_load(f->ctx, path, g, &o, &set), CR_OK);
    assert_int_equal(cr_polyset_counts_of(set)->null_value, 1);
    cr_window win = {0, 0, 4, 4};
    double v[16];
    uint8_t valid[16];
    cr_coverage_scratch scratch = {0};
    assert_int_equal(cr_polyset_mean(f->ctx, set, &win, &scratch, v, valid, NULL), CR_OK);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(valid[i], i % 4 < 2);
        if (i % 4 < 2)
            assert_float_equal(v[i], 1.0, 0);
        else
            assert_true(isnan(v[i]));
    }
    cr_coverage_scratch_free(&scratch);
    cr_polyset_free(set);
    cr_grid_free(g);
    free(path);
}

/* Two squares of 20 m overlapping by 5 x 5 m: x 1000..1020, y 2020..2040 and x
 * 1015..1035, y 2005..2025. The union's share of each cell, by hand (rows from the top):
 *   row 0 (y 2030..2040): 1    1    0    0
 *   row 1 (y 2020..2030): 1    1    0.5  0.25
 *   row 2 (y 2010..2020): 0    0.5  1    0.5
 *   row 3 (y 2000..2010): 0    0.25 0.5  0.25
 * Cell (1, 1) is covered by both squares (its lower right quarter twice): still 1. The
 * total is the union's area, (400 + 400 - 25) / 100 = 7.75 cells. */
static void union_of_overlapping_squares_by_hand(void **state)
{
    fixture *f = *state;
    char *path = tu_path(f->dir, "squares.fgb");
    feat feats[] = {
        {"POLYGON ((1000 2020, 1020 2020, 1020 2040, 1000 2040, 1000 2020))", {0}},
        {"POLYGON ((1015 2005, 1035 2005, 1035 2025, 1015 2025, 1015 2005))", {0}},
    };
    write_layer(path, "FlatGeobuf", 32736, "squares", NULL, 0, feats, 2, NULL);
    cr_grid *g = grid4();
    cr_polyset_opts o = {0};
    o.dissolve = 1;
    cr_polyset *set = NULL;
    assert_int_equal(cr_polyset_load(f->ctx, path, g, &o, &set), CR_OK);
    assert_int_equal(cr_polyset_size(set), 1); /* the union is one polygon */
    cr_window win = {0, 0, 4, 4};
    double v[16];
    cr_coverage_scratch scratch = {0};
    assert_int_equal(cr_polyset_fraction(f->ctx, set, &win, &scratch, v), CR_OK);
    const double expect[16] = {1, 1, 0, 0, 1, 1, 0.5, 0.25, 0, 0.5, 1, 0.5, 0, 0.25, 0.5, 0.25};
    double total = 0;
    for (int i = 0; i < 16; i++) {
        assert_float_equal(v[i], expect[i], 1e-12);
        total += v[i];
    }
    assert_float_equal(total, 7.75, 1e-12);
    cr_coverage_scratch_free(&scratch);
    cr_polyset_free(set);
    cr_grid_free(g);
    free(path);
}

/* Per-polygon fractions: each polygon's fractions over the grid add up to its area in
 * cells (the 2.25 x 4 and 1.75 x 4 basins), and come in polygon order. */
typedef struct seen {
    double area[2];
    int64_t last;
} seen;

static cr_status note(void *arg, int64_t i, const cr_window *part, const double *fr)
{
    seen *s = arg;
    assert_true(i > s->last);
    s->last = i;
    for (int k = 0; k < part->w * part->h; k++)
        s->area[i] += fr[k];
    return CR_OK;
}

static void per_polygon_fractions_add_up_to_areas(void **state)
{
    fixture *f = *state;
    char *path = tu_path(f->dir, "cover.gpkg");
    const char *fields[] = {"v"};
    feat feats[] = {
        {"POLYGON ((1000 2000, 1022.5 2000, 1022.5 2040, 1000 2040, 1000 2000))", {1}},
        {"POLYGON ((1022.5 2000, 1040 2000, 1040 2040, 1022.5 2040, 1022.5 2000))", {2}},
    };
    write_layer(path, "GPKG", 32736, "cover", fields, 1, feats, 2, NULL);
    cr_grid *g = grid4();
    cr_polyset_opts o = {0};
    cr_polyset *set = NULL;
    assert_int_equal(cr_polyset_load(f->ctx, path, g, &o, &set), CR_OK);
    assert_true(isnan(cr_polyset_value(set, 0)));
    assert_int_equal(cr_polyset_box(set, 1).x, 2);
    assert_int_equal(cr_polyset_box(set, 1).w, 2);
    seen s = {{0, 0}, -1};
    cr_coverage_scratch scratch = {0};
    cr_window win = {0, 0, 4, 4};
    assert_int_equal(cr_polyset_cover(f->ctx, set, &win, &scratch, note, &s), CR_OK);
    assert_float_equal(s.area[0], 2.25 * 4, 1e-12);
    assert_float_equal(s.area[1], 1.75 * 4, 1e-12);
    cr_coverage_scratch_free(&scratch);
    cr_polyset_free(set);
    cr_grid_free(g);
    free(path);
}

/* A source of several layers needs one named; an unknown field lists the numeric ones. */
static void layers_and_fields_are_named(void **state)
{
    fixture *f = *state;
    char *path = tu_path(f->dir, "two.gpkg");
    const char *fields[] = {"bws_raw", "bws_score"};
    feat feats[] = {{"POLYGON ((1000 2000, 1040 2000, 1040 2040, 1000 2040, 1000 2000))", {1, 2}}};
    write_layer(path, "GPKG", 32736, "baseline_annual", fields, 2, feats, 1, NULL);
    write_layer(path, NULL, 32736, "future_annual", fields, 2, feats, 1, NULL);
    cr_grid *g = grid4();
    cr_polyset_opts o = {0};
    o.what = "water polygons";
    o.layer_flag = "--water-layer";
    o.field = "bws_score";
    cr_polyset *set = NULL;
    assert_int_equal(cr_polyset_load(f->ctx, path, g, &o, &set), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(f->ctx), "2 layers ('baseline_annual' and 'future_annual')"));
    assert_non_null(strstr(cr_ctx_error(f->ctx), "--water-layer"));
    o.layer = "nope";
    assert_int_equal(cr_polyset_load(f->ctx, path, g, &o, &set), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(f->ctx), "no layer 'nope'"));
    o.layer = "baseline_annual";
    o.field = "bws_sc";
    o.field_flag = "--water-field";
    assert_int_equal(cr_polyset_load(f->ctx, path, g, &o, &set), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(f->ctx), "--water-field: "));
    assert_non_null(strstr(cr_ctx_error(f->ctx), "numeric fields: 'bws_raw', 'bws_score'"));
    o.field = "bws_raw";
    assert_int_equal(cr_polyset_load(f->ctx, path, g, &o, &set), CR_OK);
    assert_float_equal(cr_polyset_value(set, 0), 1.0, 0);
    assert_null(cr_polyset_key(set, 0));
    cr_polyset_free(set);
    /* A key kept as text per polygon, for joins. */
    o.key_field = "bws_score";
    assert_int_equal(cr_polyset_load(f->ctx, path, g, &o, &set), CR_OK);
    assert_string_equal(cr_polyset_key(set, 0), "2");
    cr_polyset_free(set);
    o.key_field = "ADM2_PCODE";
    assert_int_equal(cr_polyset_load(f->ctx, path, g, &o, &set), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(f->ctx), "no field 'ADM2_PCODE'"));
    cr_grid_free(g);
    free(path);
}

/* A Shapefile whose .cpg says Latin-1: its field names come out in UTF-8 and are found by
 * their UTF-8 spelling. */
static void latin1_shapefile_field_names(void **state)
{
    fixture *f = *state;
    char *path = tu_path(f->dir, "pénurie.shp");
    const char *fields[] = {"pénurie"};
    feat feats[] = {{"POLYGON ((1000 2000, 1040 2000, 1040 2040, 1000 2040, 1000 2000))", {3}}};
    char **lco = CSLSetNameValue(NULL, "ENCODING", "ISO-8859-1");
    write_layer(path, "ESRI Shapefile", 32736, "pénurie", fields, 1, feats, 1, lco);
    CSLDestroy(lco);
    /* The .dbf holds the name in Latin-1 (0xE9 for é), as the .cpg says. */
    char *dbf = tu_path(f->dir, "pénurie.dbf"), *cpg = tu_path(f->dir, "pénurie.cpg");
    FILE *fp = fopen(dbf, "rb");
    assert_non_null(fp);
    unsigned char head[64];
    assert_int_equal(fread(head, 1, sizeof head, fp), sizeof head);
    fclose(fp);
    assert_memory_equal(head + 32, "p\xe9nurie", 7);
    fp = fopen(cpg, "r");
    assert_non_null(fp);
    char text[32] = {0};
    assert_true(fread(text, 1, sizeof text - 1, fp) > 0);
    fclose(fp);
    assert_non_null(strstr(text, "8859"));
    cr_grid *g = grid4();
    cr_polyset_opts o = {0};
    o.field = "pénurie";
    cr_polyset *set = NULL;
    assert_int_equal(cr_polyset_load(f->ctx, path, g, &o, &set), CR_OK);
    cr_window win = {0, 0, 4, 4};
    double v[16];
    cr_coverage_scratch scratch = {0};
    assert_int_equal(cr_polyset_mean(f->ctx, set, &win, &scratch, v, NULL, NULL), CR_OK);
    for (int i = 0; i < 16; i++)
        assert_float_equal(v[i], 3.0, 0);
    cr_coverage_scratch_free(&scratch);
    cr_polyset_free(set);
    cr_grid_free(g);
    free(dbf);
    free(cpg);
    free(path);
}

/* Basins in EPSG:4326 on a UTM grid (zone 36S): the meridian 33 E is the zone's central
 * meridian, the line x = 500000 on the grid, so basins split there cut the middle column of
 * a grid from x 499975 in two halves: its mean is (1 + 3) / 2 = 2. */
static void lonlat_basins_on_a_utm_grid(void **state)
{
    fixture *f = *state;
    char *path = tu_path(f->dir, "aqueduct.gpkg");
    const char *fields[] = {"bws_score"};
    feat feats[] = {
        {"POLYGON ((32.9 -10.1, 33 -10.1, 33 -9.9, 32.9 -9.9, 32.9 -10.1))", {1}},
        {"POLYGON ((33 -10.1, 33.1 -10.1, 33.1 -9.9, 33 -9.9, 33 -10.1))", {3}},
    };
    write_layer(path, "GPKG", 4326, "baseline_annual", fields, 1, feats, 2, NULL);
    /* The grid's top near latitude -10. */
    OGRSpatialReferenceH ll = OSRNewSpatialReference(NULL), utm = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(ll, 4326);
    OSRImportFromEPSG(utm, 32736);
    OSRSetAxisMappingStrategy(ll, OAMS_TRADITIONAL_GIS_ORDER);
    OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(ll, utm);
    double x = 33.0, y = -10.0;
    assert_true(OCTTransform(ct, 1, &x, &y, NULL));
    assert_float_equal(x, 500000.0, 1e-6);
    OCTDestroyCoordinateTransformation(ct);
    OSRDestroySpatialReference(ll);
    OSRDestroySpatialReference(utm);
    cr_grid *g = tu_grid(32736, 499975, floor(y), 10, 5, 5);
    cr_polyset_opts o = {0};
    o.field = "bws_score";
    cr_polyset *set = NULL;
    assert_int_equal(cr_polyset_load(f->ctx, path, g, &o, &set), CR_OK);
    cr_window win = {0, 0, 5, 5};
    double v[25];
    uint8_t valid[25];
    cr_coverage_scratch scratch = {0};
    assert_int_equal(cr_polyset_mean(f->ctx, set, &win, &scratch, v, valid, NULL), CR_OK);
    const double expect[5] = {1, 1, 2, 3, 3};
    for (int i = 0; i < 25; i++) {
        assert_int_equal(valid[i], 1);
        assert_float_equal(v[i], expect[i % 5], 1e-6);
    }
    cr_coverage_scratch_free(&scratch);
    cr_polyset_free(set);
    cr_grid_free(g);
    free(path);
}

/* The hook decides: no data is left out and counted, a marked value marks its cells. */
static cr_poly_class sentinel(void *arg, OGRFeatureH f, double *value)
{
    (void)arg;
    (void)f;
    if (*value == -9999)
        return CR_POLY_NODATA;
    if (*value == -1) {
        *value = 5;
        return CR_POLY_MARKED;
    }
    return CR_POLY_VALUE;
}

static void classify_hook_skips_and_marks(void **state)
{
    fixture *f = *state;
    char *path = tu_path(f->dir, "sentinels.gpkg");
    const char *fields[] = {"v"};
    feat feats[] = {
        {"POLYGON ((1000 2000, 1010 2000, 1010 2040, 1000 2040, 1000 2000))", {2}},
        {"POLYGON ((1010 2000, 1025 2000, 1025 2040, 1010 2040, 1010 2000))", {-1}},
        {"POLYGON ((1025 2000, 1040 2000, 1040 2040, 1025 2040, 1025 2000))", {-9999}},
    };
    write_layer(path, "GPKG", 32736, "s", fields, 1, feats, 3, NULL);
    cr_grid *g = grid4();
    cr_polyset_opts o = {0};
    o.field = "v";
    o.classify = sentinel;
    cr_polyset *set = NULL;
    assert_int_equal(cr_polyset_load(f->ctx, path, g, &o, &set), CR_OK);
    assert_int_equal(cr_polyset_counts_of(set)->nodata, 1);
    assert_int_equal(cr_polyset_counts_of(set)->marked, 1);
    cr_window win = {0, 0, 4, 4};
    double v[16];
    uint8_t valid[16], marked[16];
    cr_coverage_scratch scratch = {0};
    assert_int_equal(cr_polyset_mean(f->ctx, set, &win, &scratch, v, valid, marked), CR_OK);
    /* Column 2 is half the marked basin (5) and half the no-data one: its mean is 5. */
    const double expect[4] = {2, 5, 5, NAN};
    for (int i = 0; i < 16; i++) {
        assert_int_equal(marked[i], i % 4 == 1 || i % 4 == 2);
        assert_int_equal(valid[i], i % 4 < 3);
        if (i % 4 < 3)
            assert_float_equal(v[i], expect[i % 4], 1e-12);
    }
    cr_coverage_scratch_free(&scratch);
    cr_polyset_free(set);
    cr_grid_free(g);
    free(path);
}

/* A layer reads polygons only when asked: a DEM given as a GeoPackage of outlines must fail
 * as no raster, not become a mask. Asked, the union's share and a field's mean. */
static void layers_read_polygons_when_asked(void **state)
{
    fixture *f = *state;
    char *path = tu_path(f->dir, "asked.gpkg");
    const char *fields[] = {"v"};
    feat feats[] = {{"POLYGON ((1000 2000, 1020 2000, 1020 2040, 1000 2040, 1000 2000))", {3}}};
    write_layer(path, "GPKG", 32736, "asked", fields, 1, feats, 1, NULL);
    cr_grid *g = grid4();
    cr_layer_opts o;
    cr_layer_opts_init(&o);
    cr_layer *l = NULL;
    assert_int_equal(cr_layer_open(f->ctx, path, g, &o, &l), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(f->ctx), "not a raster format"));
    o.polygons = 1;
    assert_int_equal(cr_layer_open(f->ctx, path, g, &o, &l), CR_OK);
    assert_string_equal(cr_layer_resampling(l), "coverage-union");
    cr_window win = {0, 0, 4, 4};
    float v[16];
    uint8_t valid[16];
    assert_int_equal(cr_layer_read_f32(f->ctx, l, &win, v, valid), CR_OK);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(valid[i], 1);
        assert_float_equal(v[i], (i % 4 < 2 ? 1.0f : 0.0f), 0);
    }
    cr_layer_close(l);
    o.field = "v";
    assert_int_equal(cr_layer_open(f->ctx, path, g, &o, &l), CR_OK);
    assert_string_equal(cr_layer_resampling(l), "coverage-mean");
    assert_int_equal(cr_layer_read_f32(f->ctx, l, &win, v, valid), CR_OK);
    for (int i = 0; i < 16; i++)
        assert_int_equal(valid[i], i % 4 < 2);
    assert_float_equal(v[0], 3.0f, 0);
    cr_layer *shared = NULL;
    assert_int_equal(cr_layer_share(f->ctx, l, &o, &shared), CR_OK);
    cr_layer_close(l); /* the set stays with the other holder */
    assert_int_equal(cr_layer_read_f32(f->ctx, shared, &win, v, valid), CR_OK);
    assert_float_equal(v[1], 3.0f, 0);
    cr_layer_close(shared);
    o.kind = CR_KIND_COUNT; /* counts per area are no layer's to spread */
    assert_int_equal(cr_layer_open(f->ctx, path, g, &o, &l), CR_E_USAGE);
    cr_grid_free(g);
    free(path);
}

/* Opens input's layer from path on grid4 as score does (core/inputs.c). */
static cr_status open_input(fixture *f, int input, const char *path, const cr_grid *g,
                            cr_layer **out)
{
    cr_normalise_opts norm;
    cr_normalise_opts_init(&norm);
    cr_layer_opts lo;
    cr_input_layer_opts(input, &norm, 1, &lo);
    return cr_input_open(f->ctx, input, &norm, path, g, &lo, out);
}

/* Issue 18 review: polygons 50 km east of the grid fail as a raster there does (exit 3),
 * giving both extents; a set loaded for another caller (areas) keeps them, off the grid. */
static void polygon_inputs_off_the_grid_fail(void **state)
{
    fixture *f = *state;
    char *path = tu_path(f->dir, "far.gpkg");
    const char *fields[] = {"bws_score"};
    feat feats[] = {
        {"POLYGON ((51000 2000, 51040 2000, 51040 2040, 51000 2040, 51000 2000))", {2}},
    };
    write_layer(path, "GPKG", 32736, "basins", fields, 1, feats, 1, NULL);
    cr_grid *g = grid4();
    cr_layer *l = NULL;
    assert_int_equal(open_input(f, CR_INPUT_WATER, path, g, &l), CR_E_DATA);
    const char *e = cr_ctx_error(f->ctx);
    assert_non_null(strstr(e, "water polygons '"));
    assert_non_null(strstr(e, "do not overlap the analysis grid"));
    assert_non_null(strstr(e, "extent x 51000 .. 51040, y 2000 .. 2040"));
    assert_non_null(strstr(e, "the grid's x 1000 .. 1040, y 2000 .. 2040"));
    assert_int_equal(open_input(f, CR_INPUT_INFORMAL, path, g, &l), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(f->ctx), "informal polygons '"));
    assert_non_null(strstr(cr_ctx_error(f->ctx), "extent x 51000 .. 51040"));
    /* The same in EPSG:4326: cut away whole before reprojecting, still said so. */
    char *ll = tu_path(f->dir, "far4326.gpkg");
    feat deg[] = {{"POLYGON ((40 -10, 41 -10, 41 -9, 40 -9, 40 -10))", {2}}};
    write_layer(ll, "GPKG", 4326, "basins", fields, 1, deg, 1, NULL);
    assert_int_equal(open_input(f, CR_INPUT_WATER, ll, g, &l), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(f->ctx), "do not overlap the analysis grid"));
    /* Other callers count polygons off the grid themselves. */
    cr_polyset_opts o = {0};
    o.field = "bws_score";
    cr_polyset *set = NULL;
    assert_int_equal(cr_polyset_load(f->ctx, path, g, &o, &set), CR_OK);
    assert_int_equal(cr_polyset_box(set, 0).w, 0);
    cr_polyset_free(set);
    set = NULL;
    /* A dissolved set (arrivals' --mask) is an input on the grid: refused. */
    cr_polyset_opts m = {0};
    m.what = "mask polygons";
    m.dissolve = 1;
    assert_int_equal(cr_polyset_load(f->ctx, path, g, &m, &set), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(f->ctx), "mask polygons '"));
    assert_null(set);
    cr_grid_free(g);
    free(ll);
    free(path);
}

/* Issue 18 review: a cell 99.99999 % in a no-data basin has no water value, though an arid
 * basin's sliver of 1e-7 of it reaches in (it was 5, and marked); the valued basins must
 * cover at least half of what the polygons cover of a cell: 40 % valued against 60 % no
 * data is no value, 50 % against 50 % is the valued basin's. A union's sliver is 0. */
static void slivers_decide_nothing(void **state)
{
    fixture *f = *state;
    cr_grid *g = grid4();
    const char *fields[] = {"bws_score"};
    cr_window win = {0, 0, 4, 4};
    float v[16];
    uint8_t valid[16], marked[16];
    cr_layer *l = NULL;
    /* Column 0: an arid strip 1e-6 m wide (1e-7 of the cell), then no data (9999); columns 1-3
     * a basin of score 3. */
    char *path = tu_path(f->dir, "sliver.gpkg");
    feat feats[] = {
        {"POLYGON ((1000 2000, 1000.000001 2000, 1000.000001 2040, 1000 2040, 1000 2000))", {-1}},
        {"POLYGON ((1000.000001 2000, 1010 2000, 1010 2040, 1000.000001 2040, "
         "1000.000001 2000))", {9999}},
        {"POLYGON ((1010 2000, 1040 2000, 1040 2040, 1010 2040, 1010 2000))", {3}},
    };
    write_layer(path, "GPKG", 32736, "basins", fields, 1, feats, 3, NULL);
    assert_int_equal(open_input(f, CR_INPUT_WATER, path, g, &l), CR_OK);
    assert_int_equal(cr_layer_read_marked(f->ctx, l, &win, v, valid, marked), CR_OK);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(valid[i], i % 4 != 0);
        assert_int_equal(marked[i], 0);
        if (i % 4 != 0)
            assert_float_equal(v[i], 3.0f, 0);
    }
    const cr_polyset_counts *c = cr_polyset_counts_of(cr_layer_polygons(l));
    assert_int_equal(c->marked, 1);
    assert_int_equal(c->nodata, 1);
    cr_layer_close(l);
    /* Column 0: 60 % no data (-9999), 40 % score 2: none; column 1: 50 % no data, 50 %
     * score 2: 2; columns 2-3: 2. Then the arid basin over half of column 3 and no data
     * over its other half: 5, marked. */
    char *half = tu_path(f->dir, "half.gpkg");
    feat halves[] = {
        {"POLYGON ((1000 2000, 1006 2000, 1006 2040, 1000 2040, 1000 2000))", {-9999}},
        {"POLYGON ((1006 2000, 1010 2000, 1010 2040, 1006 2040, 1006 2000))", {2}},
        {"POLYGON ((1010 2000, 1015 2000, 1015 2040, 1010 2040, 1010 2000))", {-9999}},
        {"POLYGON ((1015 2000, 1030 2000, 1030 2040, 1015 2040, 1015 2000))", {2}},
        {"POLYGON ((1030 2000, 1035 2000, 1035 2040, 1030 2040, 1030 2000))", {-1}},
        {"POLYGON ((1035 2000, 1040 2000, 1040 2040, 1035 2040, 1035 2000))", {9999}},
    };
    write_layer(half, "GPKG", 32736, "basins", fields, 1, halves, 6, NULL);
    assert_int_equal(open_input(f, CR_INPUT_WATER, half, g, &l), CR_OK);
    assert_int_equal(cr_layer_read_marked(f->ctx, l, &win, v, valid, marked), CR_OK);
    const float expect[4] = {NAN, 2, 2, 5};
    for (int i = 0; i < 16; i++) {
        assert_int_equal(valid[i], i % 4 != 0);
        assert_int_equal(marked[i], i % 4 == 3);
        if (i % 4 != 0)
            assert_float_equal(v[i], expect[i % 4], 0);
    }
    cr_layer_close(l);
    /* Settlements: the strip alone in column 0 covers 1e-7 of it: 0, not 1e-7. */
    char *settle = tu_path(f->dir, "settle.gpkg");
    feat outlines[] = {
        {"POLYGON ((1000 2000, 1000.000001 2000, 1000.000001 2040, 1000 2040, 1000 2000))", {0}},
        {"POLYGON ((1010 2000, 1040 2000, 1040 2040, 1010 2040, 1010 2000))", {0}},
    };
    write_layer(settle, "GPKG", 32736, "outlines", NULL, 0, outlines, 2, NULL);
    assert_int_equal(open_input(f, CR_INPUT_INFORMAL, settle, g, &l), CR_OK);
    assert_int_equal(cr_layer_read_f32(f->ctx, l, &win, v, valid), CR_OK);
    for (int i = 0; i < 16; i++)
        assert_float_equal(v[i], (i % 4 == 0 ? 0.0f : 1.0f), 0);
    cr_layer_close(l);
    cr_grid_free(g);
    free(settle);
    free(half);
    free(path);
}

/* Issue 18 review: a basin's value beyond the scale fails at load naming the file, the
 * feature and its pfaf_id, and the value (not a cell's mean); within the tolerance it is
 * read (and clamped later). */
static void polygon_values_out_of_range_name_the_feature(void **state)
{
    fixture *f = *state;
    cr_grid *g = grid4();
    char *path = tu_path(f->dir, "range.gpkg");
    const char *fields[] = {"bws_score", "pfaf_id"};
    feat feats[] = {
        {"POLYGON ((1000 2000, 1020 2000, 1020 2040, 1000 2040, 1000 2000))", {5.005, 172001}},
        {"POLYGON ((1020 2000, 1040 2000, 1040 2040, 1020 2040, 1020 2000))", {7, 172002}},
    };
    write_layer(path, "GPKG", 32736, "basins", fields, 2, feats, 2, NULL);
    cr_layer *l = NULL;
    assert_int_equal(open_input(f, CR_INPUT_WATER, path, g, &l), CR_E_DATA);
    const char *e = cr_ctx_error(f->ctx);
    assert_non_null(strstr(e, path));
    assert_non_null(strstr(e, "feature 2 (pfaf_id 172002): value 7 of field 'bws_score' is "
                              "outside the range of Aqueduct water-stress scores, 0 to 5 "
                              "(tolerance 0.01)"));
    /* Without an id-like field, the FID alone. */
    char *plain = tu_path(f->dir, "plain.gpkg");
    feat one[] = {{"POLYGON ((1000 2000, 1040 2000, 1040 2040, 1000 2040, 1000 2000))", {-3}}};
    write_layer(plain, "GPKG", 32736, "basins", fields, 1, one, 1, NULL);
    assert_int_equal(open_input(f, CR_INPUT_WATER, plain, g, &l), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(f->ctx), "feature 1: value -3 of field 'bws_score'"));
    cr_grid_free(g);
    free(plain);
    free(path);
}

/* Aqueduct's sentinels through the water input's hook (core/inputs.c), feature by feature:
 * -9999 and 9999 no data; arid by value -1, by bws_cat -1 or by label: score 5, ratio 1.6. */
static void aqueduct_sentinels_by_hand(void **state)
{
    (void)state;
    OGRFeatureDefnH defn = OGR_FD_Create("baseline_annual");
    OGR_FD_Reference(defn);
    const char *names[] = {"bws_score", "bws_cat", "bws_label"};
    const OGRFieldType types[] = {OFTReal, OFTInteger, OFTString};
    for (int k = 0; k < 3; k++) {
        OGRFieldDefnH fd = OGR_Fld_Create(names[k], types[k]);
        OGR_FD_AddFieldDefn(defn, fd);
        OGR_Fld_Destroy(fd);
    }
    cr_normalise_opts norm;
    cr_normalise_opts_init(&norm);
    cr_polyset_opts po;
    assert_int_equal(cr_input_polygon_opts(CR_INPUT_WATER, &norm, &po), 1);
    assert_string_equal(po.default_field, "bws_score");
    struct {
        double value;
        int cat;
        const char *label;
        cr_poly_class expect;
        double out;
    } cases[] = {
        {2.5, 2, "Medium - High (20-40%)", CR_POLY_VALUE, 2.5},
        {-9999, -9999, "No Data", CR_POLY_NODATA, -9999},
        {9999, 4, "", CR_POLY_NODATA, 9999},
        {-1, 0, "", CR_POLY_MARKED, 5},
        {5, -1, "", CR_POLY_MARKED, 5},
        {0, 0, "arid and low water use", CR_POLY_MARKED, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        OGRFeatureH f = OGR_F_Create(defn);
        OGR_F_SetFieldDouble(f, 0, cases[i].value);
        OGR_F_SetFieldInteger(f, 1, cases[i].cat);
        OGR_F_SetFieldString(f, 2, cases[i].label);
        double v = cases[i].value;
        assert_int_equal(po.classify(po.classify_arg, f, &v), cases[i].expect);
        if (cases[i].expect != CR_POLY_NODATA)
            assert_float_equal(v, cases[i].out, 0);
        OGR_F_Destroy(f);
    }
    /* --water-input ratio: bws_raw, and arid is the least ratio whose score is 5. */
    norm.water_ratio = 1;
    assert_int_equal(cr_input_polygon_opts(CR_INPUT_WATER, &norm, &po), 1);
    assert_string_equal(po.default_field, "bws_raw");
    OGRFeatureH f = OGR_F_Create(defn);
    OGR_F_SetFieldInteger(f, 1, -1);
    double v = 0.01;
    assert_int_equal(po.classify(po.classify_arg, f, &v), CR_POLY_MARKED);
    assert_float_equal(v, 1.6, 1e-12);
    assert_float_equal(cr_water_score_from_ratio(v), 5.0, 1e-12);
    OGR_F_Destroy(f);
    /* Informal polygons are a union; the sea and counts are no polygons. */
    assert_int_equal(cr_input_polygon_opts(CR_INPUT_INFORMAL, &norm, &po), 1);
    assert_null(po.default_field);
    assert_int_equal(cr_input_polygon_opts(CR_INPUT_SEA, &norm, &po), 0);
    assert_int_equal(cr_input_polygon_opts(CR_INPUT_ARRIVALS, &norm, &po), 0);
    OGR_FD_Release(defn);
}

int main(void)
{
    GDALAllRegister();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(mean_of_two_basins_by_hand, setup, teardown),
        cmocka_unit_test_setup_teardown(uncovered_and_null_cells_are_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(union_of_overlapping_squares_by_hand, setup, teardown),
        cmocka_unit_test_setup_teardown(per_polygon_fractions_add_up_to_areas, setup, teardown),
        cmocka_unit_test_setup_teardown(layers_and_fields_are_named, setup, teardown),
        cmocka_unit_test_setup_teardown(latin1_shapefile_field_names, setup, teardown),
        cmocka_unit_test_setup_teardown(lonlat_basins_on_a_utm_grid, setup, teardown),
        cmocka_unit_test_setup_teardown(classify_hook_skips_and_marks, setup, teardown),
        cmocka_unit_test_setup_teardown(layers_read_polygons_when_asked, setup, teardown),
        cmocka_unit_test(aqueduct_sentinels_by_hand),
        cmocka_unit_test_setup_teardown(polygon_inputs_off_the_grid_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(slivers_decide_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(polygon_values_out_of_range_name_the_feature, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
