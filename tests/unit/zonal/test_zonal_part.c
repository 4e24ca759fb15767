/* test_zonal_part.c: zonal split into tiles: the part files' numbers read back to the same
 * bits, a run of three tiles merged gives the statistics worked out by hand and the single
 * run's file byte for byte, and part files that are not whole are refused. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cityrisk/zonal.h"
#include "zonal/zonal_internal.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------------------ */
/* Numbers. */

static void numbers_read_back_to_the_same_bits(void **state)
{
    (void)state;
    const double values[] = {0.0, -0.0, 1.0, 0.1, 1.0 / 3.0, 1e300, 5e-324, -2.2250738585072014e-308,
                             123456789012345680.0, 9007199254740993.0, 1.7976931348623157e308,
                             INFINITY, -INFINITY, NAN};
    for (size_t i = 0; i < LEN(values); i++) {
        char text[40];
        cr_zpart_format(values[i], text, sizeof text);
        json_object *o = json_tokener_parse(text);
        assert_non_null(o);
        double back = 0.0;
        assert_true(cr_zpart_number(o, &back));
        if (isnan(values[i]))
            assert_true(isnan(back));
        else
            assert_memory_equal(&back, &values[i], sizeof back);
        json_object_put(o);
        /* The same through the JSON value the run is written with. */
        o = cr_zpart_json_number(values[i]);
        json_object *again = json_tokener_parse(json_object_to_json_string(o));
        assert_true(cr_zpart_number(again, &back));
        if (!isnan(values[i]))
            assert_memory_equal(&back, &values[i], sizeof back);
        json_object_put(o);
        json_object_put(again);
    }
    double v;
    json_object *s = json_object_new_string("1.5");
    assert_false(cr_zpart_number(s, &v)); /* numbers are numbers, not strings of them */
    json_object_put(s);
}

/* ------------------------------------------------------------------------------------ */
/* A run over three tiles, by hand. */

#define W 1030 /* three blocks of 512 across: 512, 512, 6 */
#define H 4

/* A GeoJSON of two zones in UTM 36S over the grid at (X0, Y0): A covers columns 510..514 of
 * rows 0..1 (across the first tiles' edge at column 512), B columns 1025..1028 of rows 2..3
 * (in the last tile only). */
static const double X0 = 500000.0, Y0 = 8000000.0, CELL = 10.0;

static char *write_zones(const char *dir)
{
    char text[2048];
    double ax0 = X0 + 510 * CELL, ax1 = X0 + 515 * CELL, ay0 = Y0, ay1 = Y0 - 2 * CELL;
    double bx0 = X0 + 1025 * CELL, bx1 = X0 + 1029 * CELL, by0 = Y0 - 2 * CELL, by1 = Y0 - 4 * CELL;
    snprintf(text, sizeof text,
             "{\"type\":\"FeatureCollection\",\"crs\":{\"type\":\"name\",\"properties\":{\"name\":"
             "\"urn:ogc:def:crs:EPSG::32736\"}},\"features\":["
             "{\"type\":\"Feature\",\"properties\":{\"name\":\"A\"},\"geometry\":{\"type\":\"Polygon\","
             "\"coordinates\":[[[%.1f,%.1f],[%.1f,%.1f],[%.1f,%.1f],[%.1f,%.1f],[%.1f,%.1f]]]}},"
             "{\"type\":\"Feature\",\"properties\":{\"name\":\"B\"},\"geometry\":{\"type\":\"Polygon\","
             "\"coordinates\":[[[%.1f,%.1f],[%.1f,%.1f],[%.1f,%.1f],[%.1f,%.1f],[%.1f,%.1f]]]}}]}",
             ax0, ay0, ax0, ay1, ax1, ay1, ax1, ay0, ax0, ay0, bx0, by0, bx0, by1, bx1, by1, bx1, by0,
             bx0, by0);
    return tu_write_file(dir, "zones.geojson", text);
}

/* The value raster: each cell's column, nodata at column 513 of row 0. */
static char *write_values(const char *dir)
{
    float *v = malloc(sizeof(float) * W * H);
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++)
            v[r * W + c] = (float)c;
    v[513] = -9999.0f;
    char *path = tu_path(dir, "v.tif");
    tu_write_raster(path, 32736, X0, Y0, CELL, W, H, v, 1, -9999.0);
    free(v);
    return path;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *text = calloc(1, 1 << 16);
    size_t n = fread(text, 1, (1 << 16) - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

typedef struct fixture {
    char *dir, *zones, *values;
    cr_zonal_raster raster;
    cr_stat *stats;
    int nstats;
    cr_zonal_opts opts;
} fixture;

static void fixture_init(fixture *f, cr_ctx *ctx)
{
    f->dir = tu_mkdtemp();
    f->zones = write_zones(f->dir);
    f->values = write_values(f->dir);
    f->raster = (cr_zonal_raster){"v", f->values, 1, 0};
    assert_int_equal(cr_stats_parse(ctx, "count,sum,min,max,median", &f->stats, &f->nstats), CR_OK);
    cr_zonal_opts_init(&f->opts);
    f->opts.zones_path = f->zones;
    f->opts.rasters = &f->raster;
    f->opts.nrasters = 1;
    f->opts.stats = f->stats;
    f->opts.nstats = f->nstats;
    f->opts.format = "CSV";
}

static void fixture_release(fixture *f)
{
    free(f->stats);
    free(f->zones);
    free(f->values);
    tu_rmdir(f->dir);
}

/* Writes tile i of n as dir/partI.json; returns its path. */
static char *write_tile(cr_ctx *ctx, fixture *f, int i, int n)
{
    char name[32];
    snprintf(name, sizeof name, "part%d.json", i);
    char *path = tu_path(f->dir, name);
    cr_zonal_opts o = f->opts;
    o.partial = 1;
    o.tile.index = i;
    o.tile.count = n;
    cr_zonal_summary s;
    assert_int_equal(cr_zonal(ctx, path, &o, &s), CR_OK);
    cr_zonal_summary_clear(&s);
    return path;
}

static void three_tiles_merge_to_the_single_run(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    fixture f;
    fixture_init(&f, ctx);
    char *single = tu_path(f.dir, "single.csv"), *merged = tu_path(f.dir, "merged.csv");
    cr_zonal_summary s;
    assert_int_equal(cr_zonal(ctx, single, &f.opts, &s), CR_OK);
    cr_zonal_summary_clear(&s);
    char *parts[3];
    for (int i = 0; i < 3; i++)
        parts[i] = write_tile(ctx, &f, i + 1, 3);
    /* Given in another order than the tiles'. */
    const char *order[3] = {parts[2], parts[0], parts[1]};
    assert_int_equal(cr_zonal_merge(ctx, order, 3, merged, &f.opts, &s), CR_OK);
    assert_int_equal(s.zones, 2);
    cr_zonal_summary_clear(&s);
    char *a = read_text(single), *b = read_text(merged);
    assert_string_equal(b, a);
    /* A: 10 cells of 100 m2, columns 510..514 of rows 0 and 1, (513, 0) without a value: 9
     * cells of data, sum 2 (510 + ... + 514) - 513; B: columns 1025..1028 twice. */
    assert_non_null(strstr(b, "A,0.001,0.9,9,4607,510,514,512\n"));
    assert_non_null(strstr(b, "B,0.0008,1,8,8212,1025,1028,1026.5\n"));
    free(a);
    free(b);
    /* A missing tile, a tile twice: refused, nothing written. */
    const char *missing[2] = {parts[0], parts[2]};
    char *other = tu_path(f.dir, "other.csv");
    assert_int_equal(cr_zonal_merge(ctx, missing, 2, other, &f.opts, &s), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(ctx), "a tile is missing"));
    const char *twice[4] = {parts[0], parts[1], parts[2], parts[1]};
    assert_int_equal(cr_zonal_merge(ctx, twice, 4, other, &f.opts, &s), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(ctx), "both tile 2/3"));
    FILE *none = fopen(other, "r");
    assert_null(none);
    for (int i = 0; i < 3; i++)
        free(parts[i]);
    free(other);
    free(single);
    free(merged);
    fixture_release(&f);
    cr_ctx_free(ctx);
}

/* A part that is not whole: each refused with CR_E_DATA naming it. */
static void broken_parts_are_refused(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    fixture f;
    fixture_init(&f, ctx);
    char *part = write_tile(ctx, &f, 1, 1);
    char *text = read_text(part);
    text[strlen(text) / 2] = '\0';
    const char *broken[][2] = {
        {"empty.json", ""},
        {"truncated.json", text},
        {"array.json", "[1, 2, 3]"},
        {"format.json", "{\"format\": \"cityrisk-zonal-part\", \"version\": 99}"},
        {"records.json", "{\"format\": \"cityrisk-zonal-part\", \"version\": 1, \"records\": 3}"},
    };
    char *out = tu_path(f.dir, "out.csv");
    for (size_t k = 0; k < LEN(broken); k++) {
        char *path = tu_write_file(f.dir, broken[k][0], broken[k][1]);
        const char *parts[1] = {path};
        cr_zonal_summary s;
        assert_int_equal(cr_zonal_merge(ctx, parts, 1, out, &f.opts, &s), CR_E_DATA);
        assert_non_null(strstr(cr_ctx_error(ctx), path));
        assert_null(strchr(cr_ctx_error(ctx), '\n'));
        free(path);
    }
    assert_non_null(strstr(cr_ctx_error(ctx), "not a whole zonal part file"));
    free(out);
    free(text);
    free(part);
    fixture_release(&f);
    cr_ctx_free(ctx);
}

int main(void)
{
    GDALAllRegister();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(numbers_read_back_to_the_same_bits),
        cmocka_unit_test(three_tiles_merge_to_the_single_run),
        cmocka_unit_test(broken_parts_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
