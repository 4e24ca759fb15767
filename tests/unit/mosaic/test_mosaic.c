/* test_mosaic.c: tiles placed on the grid (gaps, overlaps), the command a single run
 * records, and tiles written by the COG writer joined into the file the writer makes of the
 * whole grid (cells and overviews, checksums and bits, metadata). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal_alg.h>

#include "cityrisk/mosaic.h"
#include "cityrisk/raster.h"
#include "cityrisk/tile.h"
#include "mosaic/mosaic_internal.h"

/* ---- placing tiles ---- */

static cr_mosaic_part part(const char *path, int x, int y, int w, int h, int index, int count)
{
    return (cr_mosaic_part){path, {x, y, w, h}, index, count};
}

static void sorts_tiles_given_in_any_order(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    /* 1100 x 700 cells: 3 x 2 blocks; tiles of 2 x 2 (--tile I/4: columns 0 | 1-2, rows 0 | 1) */
    cr_mosaic_part p[] = {part("d", 512, 512, 588, 188, 4, 4), part("a", 0, 0, 512, 512, 1, 4),
                          part("c", 0, 512, 512, 188, 3, 4), part("b", 512, 0, 588, 512, 2, 4)};
    assert_int_equal(cr_mosaic_cover(ctx, p, 4, 1100, 700), CR_OK);
    assert_string_equal(p[0].path, "a");
    assert_string_equal(p[1].path, "b");
    assert_string_equal(p[2].path, "c");
    assert_string_equal(p[3].path, "d");
    cr_ctx_free(ctx);
}

static void names_the_missing_tile_numbers(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_mosaic_part p[] = {part("c", 0, 512, 512, 188, 3, 4), part("a", 0, 0, 512, 512, 1, 4)};
    assert_int_equal(cr_mosaic_cover(ctx, p, 2, 1100, 700), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(ctx), "tiles 2/4, 4/4 missing"));
    cr_ctx_free(ctx);
}

static void names_the_first_window_no_tile_holds(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    /* --window tiles: the top row and the bottom-left block; 1024,512 (the last block) is missing
     * and before it 512,512 */
    cr_mosaic_part p[] = {part("top", 0, 0, 1100, 512, 0, 0), part("bl", 0, 512, 512, 188, 0, 0)};
    assert_int_equal(cr_mosaic_cover(ctx, p, 2, 1100, 700), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(ctx), "window 512,512,512,188"));
    cr_ctx_free(ctx);
}

static void names_both_files_of_an_overlap(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_mosaic_part p[] = {part("right", 512, 0, 588, 700, 0, 0), part("left", 0, 0, 1024, 700, 0, 0)};
    assert_int_equal(cr_mosaic_cover(ctx, p, 2, 1100, 700), CR_E_DATA);
    const char *e = cr_ctx_error(ctx);
    assert_non_null(strstr(e, "'left' (window 0,0,1024,700)"));
    assert_non_null(strstr(e, "'right' (window 512,0,588,700) overlap"));
    cr_ctx_free(ctx);
}

/* ---- the command ---- */

static void check_line(const char *tile, const char *tile_path, const char *output, const char *expected)
{
    char *line = cr_mosaic_command_line(tile, tile_path, output);
    if (!expected) {
        assert_null(line);
        return;
    }
    assert_non_null(line);
    assert_string_equal(line, expected);
    free(line);
}

static void records_the_single_runs_command(void **state)
{
    (void)state;
    check_line("score --tile 2/4 --sea d.tif -o t2.tif", "t2.tif", "m.tif", "score --sea d.tif -o m.tif");
    check_line("score --sea d.tif --window=512,0,512,512 --output=t.tif --overwrite", "/x/t.tif", "out/m.tif",
               "score --sea d.tif --output=out/m.tif --overwrite");
    check_line("score --window 0,0,512,512 --output 't 1.tif' --sea 'a b.tif'", "t 1.tif", "my m.tif",
               "score --output 'my m.tif' --sea 'a b.tif'");
    /* a path holding the words stays whole */
    check_line("score --sea ' --tile 1/4' -o t.tif --tile 1/4", "t.tif", "m.tif",
               "score --sea ' --tile 1/4' -o m.tif");
    check_line("score --sea 'it'\\''s.tif' -o t.tif", "t.tif", "o'k.tif",
               "score --sea 'it'\\''s.tif' -o 'o'\\''k.tif'");
    /* a file named after -o: the single run's -o is the mosaic's less the same suffix */
    check_line("inundation --tile 3/4 -o tiles/t3.tif", "tiles/t3_confidence.tif", "out/flood_confidence.tif",
               "inundation -o out/flood.tif");
    check_line("inundation --tile 3/4 -o t3.tif", "t3_confidence.tif", "flood.tif", NULL);
    check_line("inundation --tile 3/4 -o t3.tif", "other.tif", "flood.tif", NULL);
    /* inundation's phase 3 is the single run's part; a pipeline's tile job is its stage's */
    check_line("inundation --dem d.tif --tile 2/4 --phase depth --join j.edges -o t2.tif", "t2.tif", "f.tif",
               "inundation --dem d.tif -o f.tif");
    check_line("run p.json; stage flood-depth-12: inundation --dem d.tif --tile 12/16 --phase=depth --join=j -o t.tif",
               "t.tif", "f.tif", "run p.json; stage flood: inundation --dem d.tif -o f.tif");
    check_line("run p.json; stage s-x-tile-3: score --tile 3/4 -o t.tif", "t.tif", "m.tif",
               "run p.json; stage s-x: score -o m.tif");
    check_line("run p.json; stage tile-3: score -o t.tif", "t.tif", "m.tif", "run p.json; stage tile-3: score -o m.tif");
    check_line("score --sea d.tif --tile 1/4", "t.tif", "m.tif", NULL); /* no output: nothing to say */
    check_line("", "t.tif", "m.tif", NULL);
}

/* ---- the writer's tiles joined ---- */

enum { WIDTH = 1300, HEIGHT = 1100 };

/* The value of band b at cell (x, y) of the whole grid: smooth values, classes 0-4 in band
 * 2, nodata (NaN) in a disc and along a diagonal. */
static float cell_value(int b, int x, int y)
{
    double dx = x - 700.0, dy = y - 400.0;
    if (dx * dx + dy * dy < 150.0 * 150.0 || x == y)
        return NAN;
    if (b == 2)
        return (float)((x / 37 + y / 53) % 5);
    return (float)(b * 100.0 + sin(x * 0.013) * cos(y * 0.021) * 50.0 + x * 1e-3);
}

static const char *const BAND_NAMES[] = {"depth", "class", "share"};
static const char *const BAND_UNITS[] = {"m", NULL, ""};
static const int CATEGORICAL[] = {0, 1, 0};
static const char *const CAT_NAMES[] = {"dry", "maybe", "wet"};
static const char *const CAT_COLORS[] = {"#ffffff", "#7f7fff", "#0000ff"};

/* Writes path on grid's window (the whole grid when spec names no part) as the commands
 * do: Float32 bands with NaN nodata (one categorical), or one Byte band of categories. */
static void write_part(const char *path, const cr_grid *grid, const cr_tile_spec *spec, int byte)
{
    cr_ctx *ctx = cr_ctx_new();
    cr_window win;
    assert_int_equal(cr_tile_window(ctx, grid, spec, &win), CR_OK);
    cr_grid *sub = cr_grid_subgrid(grid, &win);
    cr_writer_opts wo;
    cr_writer_opts_init(&wo);
    wo.band_count = byte ? 1 : 3;
    wo.band_names = BAND_NAMES;
    wo.band_units = BAND_UNITS;
    wo.nodata = byte ? 255 : NAN;
    wo.band_categorical = byte ? NULL : CATEGORICAL;
    wo.inputs = "[\"a.tif\"]";
    wo.parameters = "{\"k\": 1}";
    if (byte) {
        wo.type = CR_WRITER_BYTE;
        wo.category_count = 3;
        wo.category_names = CAT_NAMES;
        wo.category_colors = CAT_COLORS;
    }
    cr_writer *w = NULL;
    assert_int_equal(cr_writer_open(ctx, path, sub, &wo, &w), CR_OK);
    assert_int_equal(cr_writer_set_metadata(ctx, w, 1, "SCENARIO", "rcp45"), CR_OK);
    if (cr_tile_given(spec))
        assert_int_equal(cr_tile_mark(ctx, w, spec, &win, grid->width, grid->height), CR_OK);
    float *cells = malloc((size_t)CR_BLOCK_SIZE * CR_BLOCK_SIZE * sizeof *cells);
    for (int b = 1; b <= wo.band_count; b++)
        for (int y = 0; y < win.h; y += CR_BLOCK_SIZE)
            for (int x = 0; x < win.w; x += CR_BLOCK_SIZE) {
                cr_window at = {x, y, win.w - x < CR_BLOCK_SIZE ? win.w - x : CR_BLOCK_SIZE,
                                win.h - y < CR_BLOCK_SIZE ? win.h - y : CR_BLOCK_SIZE};
                for (int j = 0; j < at.h; j++)
                    for (int i = 0; i < at.w; i++) {
                        float v = cell_value(byte ? 2 : b, win.x + x + i, win.y + y + j);
                        cells[(size_t)j * at.w + i] = byte && !isnan(v) ? fminf(v, 2) : v;
                    }
                assert_int_equal(cr_writer_write(ctx, w, b, &at, cells), CR_OK);
            }
    free(cells);
    assert_int_equal(cr_writer_commit(ctx, w), CR_OK);
    cr_grid_free(sub);
    cr_ctx_free(ctx);
}

/* Asserts two default-domain metadata lists hold the same items. */
static void assert_same_items(char **a, char **b)
{
    assert_int_equal(CSLCount(a), CSLCount(b));
    for (char **m = a; m && *m; m++) {
        char *key = NULL;
        const char *v = CPLParseNameValue(*m, &key);
        const char *w = CSLFetchNameValue(b, key);
        if (!w || strcmp(v, w) != 0)
            fail_msg("metadata item %s: '%s' against '%s'", key, v, w ? w : "(none)");
        CPLFree(key);
    }
}

/* Asserts the two bands hold the same bits, checksums, and overviews alike. */
static void assert_same_band(GDALRasterBandH a, GDALRasterBandH b, int overviews)
{
    int w = GDALGetRasterBandXSize(a), h = GDALGetRasterBandYSize(a);
    assert_int_equal(w, GDALGetRasterBandXSize(b));
    assert_int_equal(h, GDALGetRasterBandYSize(b));
    assert_int_equal(GDALChecksumImage(a, 0, 0, w, h), GDALChecksumImage(b, 0, 0, w, h));
    float *va = malloc((size_t)w * h * sizeof *va), *vb = malloc((size_t)w * h * sizeof *vb);
    assert_int_equal(GDALRasterIO(a, GF_Read, 0, 0, w, h, va, w, h, GDT_Float32, 0, 0), CE_None);
    assert_int_equal(GDALRasterIO(b, GF_Read, 0, 0, w, h, vb, w, h, GDT_Float32, 0, 0), CE_None);
    assert_memory_equal(va, vb, (size_t)w * h * sizeof *va);
    free(va);
    free(vb);
    if (!overviews)
        return;
    assert_int_equal(GDALGetOverviewCount(a), GDALGetOverviewCount(b));
    for (int o = 0; o < GDALGetOverviewCount(a); o++)
        assert_same_band(GDALGetOverview(a, o), GDALGetOverview(b, o), 0);
}

/* Asserts the mosaic is the single run's file: geotransform, CRS, blocks, bands, metadata,
 * colour tables, cells and overviews. */
static void assert_same_raster(const char *single, const char *mosaic)
{
    GDALDatasetH a = GDALOpen(single, GA_ReadOnly), b = GDALOpen(mosaic, GA_ReadOnly);
    assert_non_null(a);
    assert_non_null(b);
    double ga[6], gb[6];
    GDALGetGeoTransform(a, ga);
    GDALGetGeoTransform(b, gb);
    assert_memory_equal(ga, gb, sizeof ga);
    assert_string_equal(GDALGetProjectionRef(a), GDALGetProjectionRef(b));
    assert_int_equal(GDALGetRasterCount(a), GDALGetRasterCount(b));
    assert_same_items(GDALGetMetadata(a, NULL), GDALGetMetadata(b, NULL));
    assert_same_items(GDALGetMetadata(a, "IMAGE_STRUCTURE"), GDALGetMetadata(b, "IMAGE_STRUCTURE"));
    for (int i = 1; i <= GDALGetRasterCount(a); i++) {
        GDALRasterBandH ba = GDALGetRasterBand(a, i), bb = GDALGetRasterBand(b, i);
        assert_int_equal(GDALGetRasterDataType(ba), GDALGetRasterDataType(bb));
        int xa, ya, xb, yb;
        GDALGetBlockSize(ba, &xa, &ya);
        GDALGetBlockSize(bb, &xb, &yb);
        assert_int_equal(xa, xb);
        assert_int_equal(ya, yb);
        assert_string_equal(GDALGetDescription(ba), GDALGetDescription(bb));
        assert_string_equal(GDALGetRasterUnitType(ba), GDALGetRasterUnitType(bb));
        double na = GDALGetRasterNoDataValue(ba, NULL), nb = GDALGetRasterNoDataValue(bb, NULL);
        assert_true(na == nb || (isnan(na) && isnan(nb)));
        assert_same_items(GDALGetMetadata(ba, NULL), GDALGetMetadata(bb, NULL));
        GDALColorTableH ta = GDALGetRasterColorTable(ba), tb = GDALGetRasterColorTable(bb);
        assert_int_equal(ta != NULL, tb != NULL);
        for (int c = 0; ta && c < GDALGetColorEntryCount(ta); c++)
            assert_memory_equal(GDALGetColorEntry(ta, c), GDALGetColorEntry(tb, c), sizeof(GDALColorEntry));
        assert_same_band(ba, bb, 1);
    }
    GDALClose(a);
    GDALClose(b);
}

/* The grid of the writer tests: WIDTH x HEIGHT cells of 10 m in UTM 36S. */
static cr_grid *test_grid(void)
{
    return tu_grid(32736, 500000.0, 8000000.0, 10.0, WIDTH, HEIGHT);
}

/* Writes the single run and tiles 1..n of n, joins the tiles given in reverse order, and
 * checks the mosaic is the single run's file. */
static void joins_into_the_single_run(int n, int byte)
{
    GDALAllRegister();
    char *dir = tu_mkdtemp(), *single = tu_path(dir, "single.tif"), *out = tu_path(dir, "mosaic.tif");
    cr_grid *grid = test_grid();
    cr_tile_spec whole = {0};
    write_part(single, grid, &whole, byte);
    char **tiles = NULL;
    for (int i = n; i >= 1; i--) {
        char name[32];
        snprintf(name, sizeof name, "tile_%d.tif", i);
        char *path = tu_path(dir, name);
        cr_tile_spec spec = {i, n, 0, {0, 0, 0, 0}};
        write_part(path, grid, &spec, byte);
        tiles = CSLAddString(tiles, path);
        free(path);
    }
    GDALDatasetH t = GDALOpen(tiles[0], GA_ReadOnly);
    assert_non_null(GDALGetMetadataItem(t, CR_TILE_WINDOW_KEY, NULL));
    GDALClose(t);
    cr_ctx *ctx = cr_ctx_new();
    cr_mosaic_summary s;
    assert_int_equal(cr_mosaic(ctx, (const char *const *)tiles, n, out, NULL, &s), CR_OK);
    assert_int_equal(s.tiles, n);
    assert_int_equal(s.width, WIDTH);
    assert_int_equal(s.height, HEIGHT);
    assert_same_raster(single, out);
    /* nothing left beside the output: the tiles, the single run and the mosaic */
    assert_int_equal(tu_count_entries(dir), n + 2);
    cr_ctx_free(ctx);
    CSLDestroy(tiles);
    cr_grid_free(grid);
    free(single);
    free(out);
    tu_rmdir(dir);
}

static void joins_float_bands_with_nan_nodata_and_a_class_band(void **state)
{
    (void)state;
    joins_into_the_single_run(4, 0);
}

static void joins_byte_categories_with_their_colour_table(void **state)
{
    (void)state;
    joins_into_the_single_run(6, 1);
}

static void one_tile_is_a_copy(void **state)
{
    (void)state;
    joins_into_the_single_run(1, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sorts_tiles_given_in_any_order),
        cmocka_unit_test(names_the_missing_tile_numbers),
        cmocka_unit_test(names_the_first_window_no_tile_holds),
        cmocka_unit_test(names_both_files_of_an_overlap),
        cmocka_unit_test(records_the_single_runs_command),
        cmocka_unit_test(joins_float_bands_with_nan_nodata_and_a_class_band),
        cmocka_unit_test(joins_byte_categories_with_their_colour_table),
        cmocka_unit_test(one_tile_is_a_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
