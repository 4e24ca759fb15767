/* test_parts.c: inundation in parts: one window's labels, the edge file written and read back
 * (and refused truncated or flipped), and the join of two hand-made parts. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inundation/parts.h"
#include "inundation/reach.h"

/* A 5 x 4 window: components in first-appearance order, those on the border numbered again. */
static void window_labels_number_border_components(void **state)
{
    (void)state;
    const char *rows[] = {"#S###",
                          "#.#.#",
                          "###.#",
                          "..###"};
    uint8_t wet[20], seed[20];
    for (int i = 0; i < 20; i++) {
        wet[i] = rows[i / 5][i % 5] != '#';
        seed[i] = rows[i / 5][i % 5] == 'S';
    }
    cr_ctx *ctx = cr_ctx_new();
    cr_reach_labels *labels = cr_reach_labels_new();
    cr_reach_view v;
    assert_int_equal(cr_reach_label_window(ctx, labels, 5, 4, 4, wet, seed, &v), CR_OK);
    /* 4 neighbours: {(1,0),(1,1)} seeded, {(3,1),(3,2)} inside, {(0,3),(1,3)} on the bottom */
    assert_int_equal(v.count, 3);
    assert_int_equal(v.comp[1], 0);
    assert_int_equal(v.comp[6], 0);
    assert_int_equal(v.comp[8], 1);
    assert_int_equal(v.comp[15], 2);
    assert_int_equal(v.seeded[0], 1);
    assert_int_equal(v.seeded[1], 0);
    assert_int_equal(v.border_count, 2);
    assert_int_equal(v.border[0], 0);
    assert_int_equal(v.border[1], -1);
    assert_int_equal(v.border[2], 1);
    /* 8 neighbours: no diagonal joins two of them; with no seeds none is seeded */
    assert_int_equal(cr_reach_label_window(ctx, labels, 5, 4, 8, wet, NULL, &v), CR_OK);
    assert_int_equal(v.count, 3);
    assert_int_equal(v.seeded[0], 0);
    cr_reach_labels_free(labels);
    cr_ctx_free(ctx);
}

/* A part of w x 1 cells whose plane 0 is the candidates "c" of row and plane 1 the land "l",
 * each one component; seeded sets plane 0's seed flag. */
static void one_row_part(cr_part_edges *e, int x, int w, int full_w, const char *row, int seeded)
{
    cr_ctx *ctx = cr_ctx_new();
    *e = (cr_part_edges){.fingerprint = 42, .full_w = full_w, .full_h = 1, .win = {x, 0, w, 1},
                         .connectivity = 8, .sea_connectivity = 8, .thresholds = 1};
    assert_int_equal(cr_part_edges_alloc(ctx, e), CR_OK);
    for (int p = 0; p < 2; p++) {
        char want = p == 0 ? 'c' : 'l';
        int any = 0;
        for (int i = 0; i < w; i++) {
            int in = row[i] == want;
            any |= in;
            /* top row, bottom row (the same row), left and right columns */
            e->plane[p].labels[i] = e->plane[p].labels[w + i] = in ? 0 : -1;
        }
        e->plane[p].labels[2 * w] = row[0] == want ? 0 : -1;
        e->plane[p].labels[2 * w + 1] = row[w - 1] == want ? 0 : -1;
        e->plane[p].count = any;
        e->plane[p].seeded = calloc(2, 1);
        e->plane[p].seeded[0] = (uint8_t)(p == 0 && seeded);
    }
    e->seeds = seeded;
    cr_ctx_free(ctx);
}

/* A row of 600 cells: 512 of sea candidates (seeded) then land, in parts of 512 and 88. */
static char *sea_then_land(int gap)
{
    char *row = malloc(601);
    for (int i = 0; i < 600; i++)
        row[i] = i < 512 - gap ? 'c' : i < 512 ? '#' : 'l';
    row[600] = '\0';
    return row;
}

/* Writes the two parts of row and joins them; returns part B's bits (2 planes). */
static uint8_t *join_row(const char *dir, const char *row, cr_status *st)
{
    cr_ctx *ctx = cr_ctx_new();
    cr_part_edges a, b;
    one_row_part(&a, 0, 512, 600, row, 1);
    one_row_part(&b, 512, 88, 600, row + 512, 0);
    char *pa = tu_path(dir, "a.edges"), *pb = tu_path(dir, "b.edges"), *pj = tu_path(dir, "j.join");
    assert_int_equal(cr_part_edges_write(ctx, pa, &a, 1), CR_OK);
    assert_int_equal(cr_part_edges_write(ctx, pb, &b, 1), CR_OK);
    const char *paths[] = {pa, pb};
    *st = cr_part_join(ctx, paths, 2, pj, 1);
    uint8_t *bits = NULL;
    if (*st == CR_OK)
        assert_int_equal(cr_part_join_read(ctx, pj, 42, 600, 1, &b.win, 2, &bits), CR_OK);
    cr_part_edges_release(&a);
    cr_part_edges_release(&b);
    free(pa), free(pb), free(pj);
    cr_ctx_free(ctx);
    return bits;
}

/* Land beside the sea across the parts' edge is joined; one dry cell between, it is not. */
static void join_links_land_to_sea_across_the_edge(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    cr_status st;
    char *row = sea_then_land(0);
    uint8_t *bits = join_row(dir, row, &st);
    assert_int_equal(st, CR_OK);
    int64_t cells = cr_part_border_cells(88, 1);
    for (int64_t i = 0; i < cells; i++) {
        assert_int_equal(bits[i], 0);         /* plane 0: no sea in B */
        assert_int_equal(bits[cells + i], 1); /* plane 1: all land, joined */
    }
    free(bits), free(row);
    row = sea_then_land(1);
    bits = join_row(dir, row, &st);
    for (int64_t i = 0; i < cells; i++)
        assert_int_equal(bits[cells + i], 0);
    free(bits), free(row);
    tu_rmdir(dir);
}

/* An edge file reads back as written; cut short or with one bit flipped anywhere it is
 * refused with CR_E_DATA naming it. */
static void edge_file_round_trip_and_corruption(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), *path = tu_path(dir, "a.edges"), *bad = tu_path(dir, "bad.edges");
    cr_ctx *ctx = cr_ctx_new();
    cr_part_edges a, back;
    char *row = sea_then_land(0);
    one_row_part(&a, 0, 512, 600, row, 1);
    a.plane[1].pairs = 1;
    a.plane[1].pair = malloc(2 * sizeof *a.plane[1].pair);
    a.plane[1].count = 1;
    a.plane[1].pair[0] = 0, a.plane[1].pair[1] = 0;
    assert_int_equal(cr_part_edges_write(ctx, path, &a, 0), CR_OK);
    assert_int_equal(cr_part_edges_write(ctx, path, &a, 0), CR_E_EXISTS);
    assert_int_equal(cr_part_edges_read(ctx, path, &back), CR_OK);
    assert_int_equal(back.fingerprint, 42);
    assert_int_equal(back.win.w, 512);
    assert_int_equal(back.plane[0].count, 1);
    assert_int_equal(back.plane[0].seeded[0], 1);
    assert_int_equal(back.plane[1].pairs, 1);
    assert_memory_equal(back.plane[0].labels, a.plane[0].labels, sizeof(int32_t) * 1026);
    cr_part_edges_release(&back);
    FILE *f = fopen(path, "rb");
    static unsigned char data[1 << 16];
    size_t n = fread(data, 1, sizeof data, f);
    fclose(f);
    for (size_t cut = 0; cut < n; cut += 97) {
        f = fopen(bad, "wb");
        fwrite(data, 1, cut, f);
        fclose(f);
        assert_int_equal(cr_part_edges_read(ctx, bad, &back), CR_E_DATA);
        assert_non_null(strstr(cr_ctx_error(ctx), "bad.edges"));
    }
    for (size_t at = 0; at < n; at += 13) {
        data[at] ^= 0x10;
        f = fopen(bad, "wb");
        fwrite(data, 1, n, f);
        fclose(f);
        data[at] ^= 0x10;
        assert_int_equal(cr_part_edges_read(ctx, bad, &back), CR_E_DATA);
    }
    cr_part_edges_release(&a);
    free(row), free(path), free(bad);
    cr_ctx_free(ctx);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(window_labels_number_border_components),
        cmocka_unit_test(join_links_land_to_sea_across_the_edge),
        cmocka_unit_test(edge_file_round_trip_and_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
