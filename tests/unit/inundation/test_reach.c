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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shared_labels_give_the_same_reaches),
        cmocka_unit_test(ridge_cuts_off_a_basin),
        cmocka_unit_test(diagonal_gap_joins_with_8_but_not_4),
        cmocka_unit_test(winding_channel_crosses_tile_borders),
        cmocka_unit_test(components_joined_only_through_far_tiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
