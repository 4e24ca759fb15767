/* test_tile.c: --tile I/N and --window parsing, block-aligned windows, tile layouts. */
#include "testutil.h"

#include <stdlib.h>

#include <cpl_conv.h>
#include <ogr_srs_api.h>

#include "cityrisk/tile.h"

/* A grid of width x height cells of 10 m with origin (1000, 9000) in UTM 36S. */
static cr_grid *grid_of(cr_ctx *ctx, int width, int height)
{
    double gt[6] = {1000, 10, 0, 9000, 0, -10};
    cr_grid *g = NULL;
    char *wkt = NULL;
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(srs, 32736);
    OSRExportToWkt(srs, &wkt);
    assert_int_equal(cr_grid_new(ctx, wkt, gt, width, height, &g), CR_OK);
    CPLFree(wkt);
    OSRDestroySpatialReference(srs);
    return g;
}

static void parses_tile_and_window_text(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_tile_spec s = {0};
    assert_false(cr_tile_given(&s));
    assert_int_equal(cr_tile_parse(ctx, "3/16", &s), CR_OK);
    assert_int_equal(s.index, 3);
    assert_int_equal(s.count, 16);
    assert_true(cr_tile_given(&s));
    const char *bad[] = {"0/4", "5/4", "1/0", "1/", "/4", "a/4", "1/4x", "-1/4", "1/65537", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_tile_spec t = {0};
        assert_int_equal(cr_tile_parse(ctx, bad[i], &t), CR_E_USAGE);
    }
    cr_tile_spec w = {0};
    assert_int_equal(cr_tile_parse_window(ctx, "512,1024,512,300", &w), CR_OK);
    assert_true(w.has_window);
    assert_int_equal(w.window.x, 512);
    assert_int_equal(w.window.y, 1024);
    assert_int_equal(w.window.w, 512);
    assert_int_equal(w.window.h, 300);
    const char *badw[] = {"1,2,3", "0,0,0,5", "0,0,5,-1", "0,0,5,5,5", "x,0,5,5"};
    for (size_t i = 0; i < sizeof badw / sizeof *badw; i++) {
        cr_tile_spec t = {0};
        assert_int_equal(cr_tile_parse_window(ctx, badw[i], &t), CR_E_USAGE);
    }
    cr_ctx_free(ctx);
}

static void layout_is_closest_to_square(void **state)
{
    (void)state;
    int r, c;
    cr_tile_layout(20000, 20000, 16, &r, &c);
    assert_int_equal(r, 4);
    assert_int_equal(c, 4);
    cr_tile_layout(4000, 1000, 4, &r, &c); /* wide: 1 row of 4 tiles of 1000 x 1000 */
    assert_int_equal(r, 1);
    assert_int_equal(c, 4);
    cr_tile_layout(1000, 1000, 2, &r, &c); /* a tie: more columns */
    assert_int_equal(r, 1);
    assert_int_equal(c, 2);
    cr_tile_layout(1000, 1000, 7, &r, &c); /* a prime: 1 x 7 */
    assert_int_equal(r * c, 7);
}

static void tiles_share_out_blocks_and_cover_the_grid(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    /* 1300 x 1100 cells: 3 x 3 blocks (512, 512, 276 wide; 512, 512, 76 high). In 4 tiles
     * (2 x 2): block columns 0 | 1-2 and rows 0 | 1-2 (floor(j * 3 / 2)). */
    cr_grid *g = grid_of(ctx, 1300, 1100);
    cr_window expect[4] = {{0, 0, 512, 512}, {512, 0, 788, 512}, {0, 512, 512, 588},
                           {512, 512, 788, 588}};
    int64_t cells = 0;
    for (int i = 1; i <= 4; i++) {
        cr_tile_spec s = {.index = i, .count = 4};
        cr_window w;
        assert_int_equal(cr_tile_window(ctx, g, &s, &w), CR_OK);
        assert_memory_equal(&w, &expect[i - 1], sizeof w);
        cells += (int64_t)w.w * w.h;
    }
    assert_int_equal(cells, 1300 * 1100);
    /* 1 x 9 tiles over 3 block columns leave tiles empty: refused. */
    cr_tile_spec many = {.index = 1, .count = 9};
    cr_window w;
    assert_int_equal(cr_tile_window(ctx, g, &many, &w), CR_OK); /* 3 x 3: one block each */
    cr_tile_spec too_many = {.index = 1, .count = 16};
    assert_int_equal(cr_tile_window(ctx, g, &too_many, &w), CR_E_USAGE);
    /* Nothing given: the whole grid. */
    cr_tile_spec none = {0};
    assert_int_equal(cr_tile_window(ctx, g, &none, &w), CR_OK);
    assert_int_equal(w.w, 1300);
    assert_int_equal(w.h, 1100);
    cr_grid_free(g);
    cr_ctx_free(ctx);
}

static void windows_must_follow_the_blocks(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_grid *g = grid_of(ctx, 1300, 1100);
    cr_window w;
    cr_tile_spec ok = {.has_window = 1, .window = {512, 512, 788, 512}};
    assert_int_equal(cr_tile_window(ctx, g, &ok, &w), CR_OK);
    cr_window bad[] = {{100, 0, 512, 512},   /* offset off the blocks */
                       {0, 0, 600, 512},     /* size neither a block multiple nor to the edge */
                       {1024, 0, 512, 512},  /* past the right edge */
                       {0, 1536, 512, 10}};  /* starts below the grid */
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_tile_spec s = {.has_window = 1, .window = bad[i]};
        assert_int_equal(cr_tile_window(ctx, g, &s, &w), CR_E_USAGE);
    }
    cr_tile_spec both = {.index = 1, .count = 4, .has_window = 1, .window = {0, 0, 512, 512}};
    assert_int_equal(cr_tile_window(ctx, g, &both, &w), CR_E_USAGE);
    /* The tile's grid: origin moved by whole cells, same cell size. */
    cr_grid *sub = cr_grid_subgrid(g, &ok.window);
    assert_non_null(sub);
    assert_float_equal(sub->gt[0], 1000 + 512 * 10, 1e-9);
    assert_float_equal(sub->gt[3], 9000 - 512 * 10, 1e-9);
    assert_int_equal(sub->width, 788);
    assert_int_equal(sub->height, 512);
    cr_grid_free(sub);
    cr_grid_free(g);
    cr_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_tile_and_window_text),
        cmocka_unit_test(layout_is_closest_to_square),
        cmocka_unit_test(tiles_share_out_blocks_and_cover_the_grid),
        cmocka_unit_test(windows_must_follow_the_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
