/* test_reach.c: the tiled connectivity engine against hand-made masks, for every tile size. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "inundation/reach.h"

/* Runs scan and resolve of n reaches over w x h masks (rows[k], connectivity conn[k]) with
 * the given tile size, their tiles interleaved as inundation's levels are (each reach's
 * window in turn), in labels (shared) or, when NULL, in labels of their own; fills joined[k]
 * (w x h, calloc()). */
static void run_reaches(const char **rows[], const int conn[], int n, int w, int h, int tile,
                        cr_reach_labels *labels, uint8_t *joined[])
{
    cr_ctx *ctx = cr_ctx_new();
    cr_grid grid = {"", {0, 1, 0, 0, 0, -1}, w, h}; /* only the size is used */
    uint8_t *wet = malloc((size_t)tile * tile), *seed = malloc((size_t)tile * tile);
    uint8_t *part = malloc((size_t)tile * tile);
    cr_reach *r[2];
    for (int k = 0; k < n; k++) {
        assert_non_null(r[k] = cr_reach_new(w, h, tile, conn[k], labels));
        joined[k] = calloc((size_t)w * h, 1);
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t i = 0; i < cr_grid_window_count(&grid, tile); i++) {
            cr_window win = cr_grid_window(&grid, tile, i);
            for (int k = 0; k < n; k++) {
                for (int y = 0; y < win.h; y++) {
                    for (int x = 0; x < win.w; x++) {
                        char c = rows[k][win.y + y][win.x + x];
                        wet[y * win.w + x] = c != '#';
                        seed[y * win.w + x] = c == 'S';
                    }
                }
                if (pass == 0) {
                    assert_int_equal(cr_reach_scan(ctx, r[k], &win, wet, seed), CR_OK);
                    continue;
                }
                assert_int_equal(cr_reach_resolve(ctx, r[k], &win, wet, seed, part), CR_OK);
                for (int y = 0; y < win.h; y++)
                    memcpy(joined[k] + (size_t)(win.y + y) * w + win.x, part + (size_t)y * win.w,
                           (size_t)win.w);
            }
        }
    }
    for (int k = 0; k < n; k++)
        cr_reach_free(r[k]);
    free(wet), free(seed), free(part);
    cr_ctx_free(ctx);
}

/* Runs scan and resolve over a w x h mask with the given tile size; returns joined. */
static uint8_t *reach(const char *rows[], int w, int h, int tile, int connectivity)
{
    uint8_t *joined;
    run_reaches(&rows, &connectivity, 1, w, h, tile, NULL, &joined);
    return joined;
}

/* Checks joined against the expected picture: 'x' joined, anything else not. */
static void expect(const uint8_t *joined, const char *rows[], int w, int h)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            assert_int_equal(joined[y * w + x], rows[y][x] == 'x');
}

static void ridge_cuts_off_a_basin(void **state)
{
    (void)state;
    /* 'S' seed, '.' wet, '#' dry. The right basin is behind the ridge. */
    const char *in[] = {
        "S..#..",
        "S..#..",
        "S..#..",
    };
    const char *out[] = {
        "xxx#..",
        "xxx#..",
        "xxx#..",
    };
    for (int tile = 2; tile <= 6; tile++) {
        uint8_t *j = reach(in, 6, 3, tile, 8);
        expect(j, out, 6, 3);
        free(j);
    }
}

static void diagonal_gap_joins_with_8_but_not_4(void **state)
{
    (void)state;
    const char *in[] = {
        "S#####",
        "#.####",
        "##.###",
        "###...",
    };
    const char *out8[] = {
        "x#####",
        "#x####",
        "##x###",
        "###xxx",
    };
    const char *out4[] = {
        "x#####",
        "######",
        "######",
        "######",
    };
    for (int tile = 2; tile <= 6; tile++) {
        uint8_t *j8 = reach(in, 6, 4, tile, 8), *j4 = reach(in, 6, 4, tile, 4);
        expect(j8, out8, 6, 4);
        expect(j4, out4, 6, 4);
        free(j8), free(j4);
    }
}

static void winding_channel_crosses_tile_borders(void **state)
{
    (void)state;
    /* A channel that snakes back and forth across every tile border, and a dead end
     * pond that never meets it. */
    const char *in[] = {
        "S.........",
        "#########.",
        "..........",
        ".#########",
        "..........",
        "#########.",
        "...#......",
        ".#.#######",
        ".#........",
        "##########",
    };
    const char *out[] = {
        "xxxxxxxxxx",
        "#########x",
        "xxxxxxxxxx",
        "x#########",
        "xxxxxxxxxx",
        "#########x",
        "...#xxxxxx",
        ".#.#######",
        ".#........",
        "##########",
    };
    for (int tile = 2; tile <= 10; tile++) {
        for (int conn = 4; conn <= 8; conn += 4) {
            uint8_t *j = reach(in, 10, 10, tile, conn);
            expect(j, out, 10, 10);
            free(j);
        }
    }
}

static void components_joined_only_through_far_tiles(void **state)
{
    (void)state;
    /* The seed at the bottom right reaches the top-left cell through a U whose
     * parts meet in the last tile row only: the join must propagate back. */
    const char *in[] = {
        ".#...#",
        ".#.#.#",
        ".#.#.#",
        ".#.#.#",
        "...#.S",
    };
    const char *out[] = {
        "x#xxx#",
        "x#x#x#",
        "x#x#x#",
        "x#x#x#",
        "xxx#xx",
    };
    for (int tile = 2; tile <= 6; tile++) {
        uint8_t *j = reach(in, 6, 5, tile, 4);
        expect(j, out, 6, 5);
        free(j);
    }
}

/* Reaches that share one tile's labels (inundation's levels, issue 16 point 4: labels per
 * reach were 13 bytes x 512 x 512 per level) give what each gives on its own. */
static void shared_labels_give_the_same_reaches(void **state)
{
    (void)state;
    const char *a[] = {
        "S..#...",
        "S..#.#.",
        "#..#.#.",
        "S....#.",
        "####.#.",
    };
    const char *b[] = {
        "S#.....",
        "#.#.##.",
        "##.#...",
        "S#..#..",
        "S.#..#.",
    };
    for (int tile = 2; tile <= 7; tile++) {
        const char **rows[] = {a, b};
        const int conn[] = {8, 4};
        uint8_t *shared[2];
        cr_reach_labels *labels = cr_reach_labels_new();
        assert_non_null(labels);
        run_reaches(rows, conn, 2, 7, 5, tile, labels, shared);
        cr_reach_labels_free(labels);
        uint8_t *alone_a = reach(a, 7, 5, tile, 8), *alone_b = reach(b, 7, 5, tile, 4);
        assert_memory_equal(shared[0], alone_a, 7 * 5);
        assert_memory_equal(shared[1], alone_b, 7 * 5);
        free(shared[0]), free(shared[1]), free(alone_a), free(alone_b);
    }
}

/* The land below a level linked to the sea (cr_reach_scan_linked) over a w x h picture:
 * 'S' a sea candidate on the raster edge (a seed), 'c' a candidate (nodata or z <= 0), 'b' a
 * candidate that is land below the level too (z <= 0 < W), 'l' land below the level, '#' dry
 * land. Returns which land cells are joined to the sea (calloc()). */
static uint8_t *linked(const char *rows[], int w, int h, int tile, int connectivity)
{
    cr_ctx *ctx = cr_ctx_new();
    cr_grid grid = {"", {0, 1, 0, 0, 0, -1}, w, h};
    size_t n = (size_t)tile * tile;
    uint8_t *cand = malloc(n), *seed = malloc(n), *land = malloc(n), *sea = malloc(n);
    uint8_t *lseed = malloc(n), *part = malloc(n), *joined = calloc((size_t)w * h, 1);
    cr_reach *sea_reach = cr_reach_new(w, h, tile, connectivity, NULL);
    cr_reach *land_reach = cr_reach_new(w, h, tile, connectivity, NULL);
    assert_non_null(sea_reach);
    assert_non_null(land_reach);
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t i = 0; i < cr_grid_window_count(&grid, tile); i++) {
            cr_window win = cr_grid_window(&grid, tile, i);
            for (int y = 0; y < win.h; y++)
                for (int x = 0; x < win.w; x++) {
                    char c = rows[win.y + y][win.x + x];
                    cand[y * win.w + x] = c == 'S' || c == 'c' || c == 'b';
                    seed[y * win.w + x] = c == 'S';
                    land[y * win.w + x] = c == 'l' || c == 'b';
                }
            if (pass == 0) {
                assert_int_equal(cr_reach_scan_sea(ctx, sea_reach, &win, cand, seed), CR_OK);
                assert_int_equal(cr_reach_scan_linked(ctx, land_reach, &win, land, sea_reach, "dem.tif"), CR_OK);
                cr_reach_scan_sea_done(sea_reach, &win);
                continue;
            }
            assert_int_equal(cr_reach_resolve(ctx, sea_reach, &win, cand, seed, sea), CR_OK);
            cr_reach_touching(win.w, win.h, connectivity, land, sea, lseed);
            assert_int_equal(cr_reach_resolve(ctx, land_reach, &win, land, lseed, part), CR_OK);
            for (int y = 0; y < win.h; y++)
                memcpy(joined + (size_t)(win.y + y) * w + win.x, part + (size_t)y * win.w, (size_t)win.w);
        }
        if (pass == 0)
            cr_reach_link_done(land_reach, sea_reach);
    }
    cr_reach_free(sea_reach), cr_reach_free(land_reach);
    free(cand), free(seed), free(land), free(sea), free(lseed), free(part);
    cr_ctx_free(ctx);
    return joined;
}

static void land_linked_to_the_sea_in_one_pass(void **state)
{
    (void)state;
    /* The sea: column 0, the candidates of row 0 and 'b' joined to it, and the seed at the
     * bottom right. (1,8), (3,7) and (4,7) are inland candidates (nodata holes): they are
     * not sea and carry no water, so the land right of them (x = 8, 9) stays dry although
     * it touches them and they touch the flooded land at (4,6). The land at (0,5) touches
     * nothing. With 8 neighbours (5,2) and (4,3) join the sea diagonally through (4,1);
     * with 4 they are cut off. */
    const char *in[] = {
        "Sccc#ll#ll",
        "S#l##l##c#",
        "S#ll#####l",
        "Sb#####cll",
        "Sb#l##lc#l",
        "S#l###l###",
        "S#####lllS",
    };
    const char *out8[] = {
        "..........",
        "..x.......",
        "..xx......",
        ".x........",
        ".x.x..x...",
        "..x...x...",
        "......xxx.",
    };
    const char *out4[] = {
        "..........",
        "..x.......",
        "..xx......",
        ".x........",
        ".x....x...",
        "......x...",
        "......xxx.",
    };
    for (int tile = 2; tile <= 10; tile++) {
        uint8_t *j8 = linked(in, 10, 7, tile, 8), *j4 = linked(in, 10, 7, tile, 4);
        expect(j8, out8, 10, 7);
        expect(j4, out4, 10, 7);
        free(j8), free(j4);
    }
}

/* A sea strip seeded only at the bottom-right raster edge (the last tile), along the top row
 * and down the right column, and a strip of land down column 1 touching it only at (1,1), in
 * tile (0,0): whether that sea holds a seed is known only at the end of the pass, so the pair
 * must be kept until then (the resolve pass seeds (1,1) anyway, as it touches the resolved sea
 * in its tile, but the land below it, in other tiles, only through the pair). The land touches
 * (1,0) above it: all of it flooded with 8 and 4 neighbours, at any tile size. */
static void land_linked_to_a_sea_seeded_late(void **state)
{
    (void)state;
    const char *in[] = {
        "#ccccc",
        "#l###c",
        "#l###c",
        "#l###c",
        "#l###c",
        "#l###S",
    };
    const char *out[] = {
        "......",
        ".x....",
        ".x....",
        ".x....",
        ".x....",
        ".x....",
    };
    for (int tile = 2; tile <= 6; tile++) {
        uint8_t *j8 = linked(in, 6, 6, tile, 8), *j4 = linked(in, 6, 6, tile, 4);
        expect(j8, out, 6, 6);
        expect(j4, out, 6, 6);
        free(j8), free(j4);
    }
}

/* Land touching the sea only diagonally, exactly at the corner of four 3 x 3 tiles: land
 * (2,2) in tile (0,0) and sea (3,3) in tile (1,1) (down-right), or land (3,2) in tile (1,0)
 * and sea (2,3) in tile (0,1) (down-left); the sea joins the raster edge in its row. With 8
 * neighbours the land is flooded, with 4 it is dry. */
static void land_linked_to_the_sea_at_a_tile_corner(void **state)
{
    (void)state;
    const char *down_right[] = {
        "######",
        "######",
        "##l###",
        "###ccS",
        "######",
        "######",
    };
    const char *down_left[] = {
        "######",
        "######",
        "###l##",
        "Scc###",
        "######",
        "######",
    };
    const char *flooded_right[] = {
        "......", "......", "..x...", "......", "......", "......",
    };
    const char *flooded_left[] = {
        "......", "......", "...x..", "......", "......", "......",
    };
    const char *dry[] = {
        "......", "......", "......", "......", "......", "......",
    };
    uint8_t *j8 = linked(down_right, 6, 6, 3, 8), *j4 = linked(down_right, 6, 6, 3, 4);
    expect(j8, flooded_right, 6, 6);
    expect(j4, dry, 6, 6);
    free(j8), free(j4);
    j8 = linked(down_left, 6, 6, 3, 8), j4 = linked(down_left, 6, 6, 3, 4);
    expect(j8, flooded_left, 6, 6);
    expect(j4, dry, 6, 6);
    free(j8), free(j4);
}

/* One tile 4096 x 5: row 2 land, between the sea A (row 0, and row 1 where x % 4 == 0) and
 * the sea B (row 4, and row 3 where x % 4 == 2). Along row 2 the land touches A, then B,
 * then A again... (x = 1: A at (0,1), B at (2,3); x = 2: B; x = 3: A at (4,1), B at (2,3);
 * x = 4: A): about 3 pairs per 4 columns, over 3000 in all, of only 2 distinct pairs (one land
 * component, two sea components). They are held once each: the room stays the first 1024. */
static void alternating_pairs_are_held_once(void **state)
{
    (void)state;
    enum { W = 4096, H = 5 };
    cr_ctx *ctx = cr_ctx_new();
    uint8_t *cand = calloc(W * H, 1), *seed = calloc(W * H, 1), *land = calloc(W * H, 1);
    assert_non_null(ctx), assert_non_null(cand), assert_non_null(seed), assert_non_null(land);
    for (int x = 0; x < W; x++) {
        cand[x] = cand[4 * W + x] = 1;
        cand[W + x] = x % 4 == 0;
        cand[3 * W + x] = x % 4 == 2;
        land[2 * W + x] = 1;
    }
    seed[0] = 1;
    cr_reach *sea = cr_reach_new(W, H, W, 8, NULL), *lr = cr_reach_new(W, H, W, 8, NULL);
    assert_non_null(sea), assert_non_null(lr);
    cr_window win = {0, 0, W, H};
    assert_int_equal(cr_reach_scan_sea(ctx, sea, &win, cand, seed), CR_OK);
    assert_int_equal(cr_reach_scan_linked(ctx, lr, &win, land, sea, "dem.tif"), CR_OK);
    cr_reach_scan_sea_done(sea, &win);
    assert_int_equal(cr_reach_links(lr), 2);
    assert_int_equal(cr_reach_link_capacity(lr), 1024);
    cr_reach_free(sea), cr_reach_free(lr);
    free(cand), free(seed), free(land);
    cr_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shared_labels_give_the_same_reaches),
        cmocka_unit_test(ridge_cuts_off_a_basin),
        cmocka_unit_test(diagonal_gap_joins_with_8_but_not_4),
        cmocka_unit_test(winding_channel_crosses_tile_borders),
        cmocka_unit_test(components_joined_only_through_far_tiles),
        cmocka_unit_test(land_linked_to_the_sea_in_one_pass),
        cmocka_unit_test(land_linked_to_a_sea_seeded_late),
        cmocka_unit_test(land_linked_to_the_sea_at_a_tile_corner),
        cmocka_unit_test(alternating_pairs_are_held_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
