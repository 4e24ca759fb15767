/* test_arrivals.c: kernel footprints and arrivals grids, with values counted by hand. */
#define _DEFAULT_SOURCE /* M_PI */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/arrivals.h"
#include "arrivals/kernel.h"
#include "arrivals/mask.h"

/* A 10 x 10 grid of 10 m cells in UTM 36S: cell (c, r) spans x 1000+10c .. +10,
 * y 9000-10r .. -10. */
#define X0 1000.0
#define Y0 9000.0
#define RES 10.0
#define SIDE 10

/* Reads band 1 of a raster as doubles (SIDE x SIDE). */
static void read_cells(const char *path, double *cells)
{
    GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
    assert_non_null(ds);
    assert_int_equal(GDALGetRasterXSize(ds), SIDE);
    assert_int_equal(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, 0, 0, SIDE, SIDE, cells, SIDE,
                                  SIDE, GDT_Float64, 0, 0),
                     CE_None);
    GDALClose(ds);
}

static void options(cr_arrivals_opts *o)
{
    static const char *crs = "EPSG:32736";
    cr_arrivals_opts_init(o);
    o->has_bounds = 1;
    o->bounds = (cr_bounds){X0, Y0 - SIDE * RES, X0 + SIDE * RES, Y0};
    o->resolution = RES;
    o->crs = crs;
    o->src_crs = crs;
}

/* options() with counts in column n and a uniform kernel of 15 m. */
static void uniform_options(cr_arrivals_opts *o)
{
    options(o);
    o->count_field = "n";
    o->kernel = CR_KERNEL_UNIFORM;
    o->bandwidth = 15;
}

static void kernels_parse_and_name(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_kernel k;
    assert_int_equal(cr_kernel_parse(ctx, "epanechnikov", &k), CR_OK);
    assert_int_equal(k, CR_KERNEL_EPANECHNIKOV);
    assert_string_equal(cr_kernel_name(CR_KERNEL_GAUSSIAN), "gaussian");
    assert_int_equal(cr_kernel_parse(ctx, "quadratic", &k), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(ctx), "quadratic"));
    cr_ctx_free(ctx);
}

/* The densities integrate to 1 over the disc (the Gaussian to its mass inside the
 * cut, 1 - exp(-4.5)): a midpoint sum in polar rings, 2 pi r dr. */
static void densities_integrate_to_one(void **state)
{
    (void)state;
    const double h = 7;
    for (int k = CR_KERNEL_QUARTIC; k <= CR_KERNEL_GAUSSIAN; k++) {
        double total = 0, dr = h / 20000;
        for (int i = 0; i < 20000; i++) {
            double r = (i + 0.5) * dr;
            total += cr_kernel_density((cr_kernel)k, r, h) * 2 * M_PI * r * dr;
        }
        double expect = k == CR_KERNEL_GAUSSIAN ? 1 - exp(-4.5) : 1;
        assert_true(fabs(total - expect) < 1e-6);
        assert_true(cr_kernel_density((cr_kernel)k, h, h) == 0);
    }
    assert_true(fabs(cr_kernel_density(CR_KERNEL_QUARTIC, 0, 2) - 3 / (M_PI * 4)) < 1e-15);
}

/* Uniform kernel, h = 3 cells, record on a cell centre: the cells whose centres lie
 * strictly within 3 cells are the lattice points with dx^2 + dy^2 < 9: 5 in the middle
 * column, 5 in each of the columns +-1 and +-2, 25 in all. */
static void footprint_counts_lattice_points(void **state)
{
    (void)state;
    cr_stamp s;
    cr_stamp_init(&s, CR_KERNEL_UNIFORM, 30, 10, 10, 50.5, 50.5);
    cr_cells all = {0, 0, 100, 100};
    assert_true(fabs(cr_stamp_sum(&s, &all) - 25) < 1e-12);
    /* Quartic at the same place: (1 - d^2/9)^2 summed over those 25 points. */
    cr_stamp_init(&s, CR_KERNEL_QUARTIC, 30, 10, 10, 50.5, 50.5);
    double expect = 0;
    for (int dx = -2; dx <= 2; dx++)
        for (int dy = -2; dy <= 2; dy++) {
            double t = (dx * dx + dy * dy) / 9.0;
            expect += t < 1 ? (1 - t) * (1 - t) : 0;
        }
    assert_true(fabs(cr_stamp_sum(&s, &all) - expect) < 1e-12);
    /* The part of the footprint in the column c >= 51 (dx >= 1): 10 cells. */
    cr_stamp_init(&s, CR_KERNEL_UNIFORM, 30, 10, 10, 50.5, 50.5);
    cr_cells east = {51, 0, 100, 100};
    assert_true(fabs(cr_stamp_sum(&s, &east) - 10) < 1e-12);
    double acc[3 * 3] = {0};
    cr_cells centre = {49, 49, 51, 51};
    cr_stamp_add(&s, &centre, 2.0, acc, 3);
    for (int i = 0; i < 9; i++)
        assert_true(acc[i] == 2.0);
}

/* Summing a footprint in bands of rows, carrying the sum (as arrivals does, to look for a
 * stop request between bands), gives the bits of one walk over the area. */
static void band_sums_are_the_whole_sum(void **state)
{
    (void)state;
    for (int k = CR_KERNEL_QUARTIC; k <= CR_KERNEL_GAUSSIAN; k++) {
        cr_stamp s;
        cr_stamp_init(&s, (cr_kernel)k, 437.3, 10, 20, 12.37, 8.91);
        cr_cells areas[] = {{0, 0, 99, 49}, {s.c0, s.r0, s.c1, s.r1}, {5, 3, 40, 30}};
        for (size_t a = 0; a < sizeof areas / sizeof areas[0]; a++) {
            double whole = cr_stamp_sum(&s, &areas[a]);
            for (int band = 1; band <= 7; band += 3) {
                double sum = 0;
                for (int r = areas[a].r0; r <= areas[a].r1; r += band) {
                    cr_cells rows = {areas[a].c0, r, areas[a].c1,
                                     r + band - 1 < areas[a].r1 ? r + band - 1 : areas[a].r1};
                    cr_stamp_sum_into(&s, &rows, &sum);
                }
                assert_true(whole > 0);
                assert_memory_equal(&sum, &whole, sizeof sum);
            }
        }
    }
}

/* Three records, no kernel: counts land in the cells holding them, two share a cell. */
static void counts_land_in_their_cells(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    /* cell (0,0): x 1000..1010, y 8990..9000; cell (9,9): x 1090..1100, y 8900..8910 */
    char *csv = tu_write_file(dir, "a.csv",
                           "x,y,n\n"
                           "1005,8995,2\n"
                           "1001,8999,3.5\n"
                           "1095,8905,1\n"
                           "1200,8995,7\n");
    char *out = tu_path(dir, "a.tif");
    cr_ctx *ctx = cr_ctx_new();
    cr_arrivals_opts o;
    options(&o);
    o.count_field = "n";
    cr_arrivals_summary s;
    assert_int_equal(cr_arrivals(ctx, csv, out, &o, &s), CR_OK);
    assert_int_equal(s.records_read, 4);
    assert_int_equal(s.records_accepted, 4);
    assert_int_equal(s.records_outside_grid, 1);
    assert_true(s.arrivals_in_grid == 6.5 && s.arrivals_outside_grid == 7 && s.arrivals_total == 13.5);
    assert_true(s.raster_sum == 6.5);
    double cells[SIDE * SIDE];
    read_cells(out, cells);
    assert_true(cells[0] == 5.5);
    assert_true(cells[SIDE * SIDE - 1] == 1);
    double rest = 0;
    for (int i = 1; i < SIDE * SIDE - 1; i++)
        rest += fabs(cells[i]);
    assert_true(rest == 0);
    cr_arrivals_summary_clear(&s);
    cr_ctx_free(ctx);
    free(csv), free(out);
    tu_rmdir(dir);
}

/* A record at the centre of the corner cell (0, 0), uniform kernel of 1.5 cells: its
 * footprint is the 3 x 3 cells around it, 4 of them inside the grid. Each gets a
 * quarter of the count, and 5/9 of the mass fell beyond the edge. */
static void edge_mass_is_renormalised_and_reported(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *csv = tu_write_file(dir, "a.csv", "x,y,n\n1005,8995,9\n");
    char *out = tu_path(dir, "a.tif");
    cr_ctx *ctx = cr_ctx_new();
    cr_arrivals_opts o;
    uniform_options(&o);
    cr_arrivals_summary s;
    assert_int_equal(cr_arrivals(ctx, csv, out, &o, &s), CR_OK);
    assert_true(fabs(s.kernel_mass_outside - 9 * 5.0 / 9) < 1e-12);
    assert_true(fabs(s.raster_sum - 9) < 1e-9);
    double cells[SIDE * SIDE];
    read_cells(out, cells);
    assert_true(cells[0] == 2.25 && cells[1] == 2.25 && cells[SIDE] == 2.25 && cells[SIDE + 1] == 2.25);
    assert_true(cells[2] == 0 && cells[2 * SIDE] == 0);
    cr_arrivals_summary_clear(&s);
    cr_ctx_free(ctx);
    free(csv), free(out);
    tu_rmdir(dir);
}

/* A bandwidth below half a cell reaches no cell centre: the count stays in its cell. */
static void tiny_bandwidth_keeps_the_count_in_its_cell(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *csv = tu_write_file(dir, "a.csv", "x,y\n1041,8951\n");
    char *out = tu_path(dir, "a.tif");
    cr_ctx *ctx = cr_ctx_new();
    cr_arrivals_opts o;
    options(&o);
    o.kernel = CR_KERNEL_QUARTIC;
    o.bandwidth = 2;
    assert_int_equal(cr_arrivals(ctx, csv, out, &o, NULL), CR_OK);
    double cells[SIDE * SIDE];
    read_cells(out, cells);
    assert_true(cells[4 * SIDE + 4] == 1);
    cr_ctx_free(ctx);
    free(csv), free(out);
    tu_rmdir(dir);
}

/* Bad rows are counted by reason with their lines; the quoted newline shifts them. */
static void rejections_carry_reasons_and_lines(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *csv = tu_write_file(dir, "a.csv",
                           "name,x,y,n,when\n"      /* 1 */
                           "ok,1005,8995,1,2024-01-02\n" /* 2 */
                           "\"two\nlines\",,8995,1,2024-01-02\n" /* 3-4: missing x */
                           "ok,abc,8995,1,2024-01-02\n" /* 5 */
                           "ok,1005,8995,-1,2024-01-02\n" /* 6 */
                           "ok,1005,8995,nan,2024-01-02\n" /* 7 */
                           "ok,1005,8995,inf,2024-01-02\n" /* 8 */
                           "ok,1005,8995,x,2024-01-02\n" /* 9 */
                           "ok,1005,8995,1,2024-02-30\n" /* 10 */
                           "ok,1005,8995,1,\n" /* 11 */
                           "ok,1005,8995,4,2023-12-31\n" /* 12: before the window */
                           "ok,1005,8995,5,2024-01-31T23:59\n"); /* 13 */
    char *out = tu_path(dir, "a.tif");
    cr_ctx *ctx = cr_ctx_new();
    cr_arrivals_opts o;
    options(&o);
    o.count_field = "n";
    o.date_field = "when";
    o.from = "2024-01-01";
    o.to = "2024-01-31";
    cr_arrivals_summary s;
    assert_int_equal(cr_arrivals(ctx, csv, out, &o, &s), CR_OK);
    assert_int_equal(s.records_read, 11); /* lines 3-4 are one record */
    assert_int_equal(s.records_accepted, 2);
    assert_int_equal(s.excluded_by_date, 1);
    assert_int_equal(s.records_rejected, 8);
    const struct {
        cr_reject_reason reason;
        int64_t line;
    } expect[] = {
        {CR_REJECT_MISSING_COORDINATE, 3}, {CR_REJECT_BAD_COORDINATE, 5},
        {CR_REJECT_COUNT_NEGATIVE, 6},     {CR_REJECT_COUNT_NAN, 7},
        {CR_REJECT_COUNT_INFINITE, 8},     {CR_REJECT_COUNT_NOT_NUMERIC, 9},
        {CR_REJECT_BAD_DATE, 10},          {CR_REJECT_MISSING_DATE, 11},
    };
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        assert_int_equal(s.rejected[expect[i].reason], 1);
        assert_int_equal(s.first_ids[expect[i].reason][0], expect[i].line);
        assert_int_equal(s.first_ids[expect[i].reason][1], -1);
    }
    assert_true(s.raster_sum == 6);
    assert_string_equal(s.date_first, "2023-12-31");
    assert_string_equal(s.date_last, "2024-01-31");
    cr_arrivals_summary_clear(&s);
    /* Strict: the first bad line fails the run and nothing is written. */
    char *out2 = tu_path(dir, "strict.tif");
    o.strict = 1;
    assert_int_equal(cr_arrivals(ctx, csv, out2, &o, NULL), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(ctx), "a.csv:3: "));
    assert_int_equal(tu_count_entries(dir), 2); /* a.csv and a.tif */
    cr_ctx_free(ctx);
    free(csv), free(out), free(out2);
    tu_rmdir(dir);
}

/* A value the run reads must be UTF-8, also in a column found by its HXL tag beyond the
 * header's names (the tag row is longer). */
static void utf8_is_checked_in_columns_found_by_tag(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *csv = tu_write_file(dir, "t.csv",
                              "name,x\n"                       /* 1: two names */
                              "#loc,#geo+x,#geo+y,#affected\n" /* 2: four tags */
                              "a,1005,8995,2\n"                /* 3 */
                              "b,1015,8995,\xE9\n");          /* 4: Latin-1 count */
    char *out = tu_path(dir, "t.tif");
    cr_ctx *ctx = cr_ctx_new();
    cr_arrivals_opts o;
    options(&o);
    o.x_field = "#geo+x";
    o.y_field = "#geo+y";
    o.count_field = "#affected";
    assert_int_equal(cr_arrivals(ctx, csv, out, &o, NULL), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(ctx), "line 4, column '#affected': the value is not "
                                              "UTF-8 text (byte 0xE9 at offset 0)"));
    assert_int_equal(tu_count_entries(dir), 1); /* t.csv only */
    cr_ctx_free(ctx);
    free(csv), free(out);
    tu_rmdir(dir);
}

/* Geographic input outside its ranges, and a kernel on a geographic grid. */
static void geographic_ranges_and_grids(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *csv = tu_write_file(dir, "a.csv", "lon,lat\n179.95,0.05\n-179.95,0.05\n181,0\n0,-90.5\n");
    char *out = tu_path(dir, "a.tif");
    cr_ctx *ctx = cr_ctx_new();
    cr_arrivals_opts o;
    cr_arrivals_opts_init(&o);
    o.has_bounds = 1;
    o.bounds = (cr_bounds){179, -1, 181, 1};
    o.resolution = 0.1;
    o.crs = "EPSG:4326";
    cr_arrivals_summary s;
    assert_int_equal(cr_arrivals(ctx, csv, out, &o, &s), CR_OK);
    assert_int_equal(s.rejected[CR_REJECT_LONGITUDE_RANGE], 1);
    assert_int_equal(s.rejected[CR_REJECT_LATITUDE_RANGE], 1);
    assert_int_equal(s.records_outside_grid, 0); /* -179.95 wraps to 180.05 */
    GDALDatasetH ds = GDALOpen(out, GA_ReadOnly);
    float v[2] = {0};
    /* columns 9 (179.9..180.0) and 10 (180.0..180.1), row 9 (0.0..0.1) */
    assert_int_equal(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, 9, 9, 2, 1, v, 2, 1,
                                  GDT_Float32, 0, 0),
                     CE_None);
    GDALClose(ds);
    assert_true(v[0] == 1 && v[1] == 1);
    cr_arrivals_summary_clear(&s);
    o.kernel = CR_KERNEL_QUARTIC;
    o.bandwidth = 1000;
    o.overwrite = 1;
    assert_int_equal(cr_arrivals(ctx, csv, out, &o, NULL), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(ctx), "geographic"));
    cr_ctx_free(ctx);
    free(csv), free(out);
    tu_rmdir(dir);
}

/* A mask of SIDE x SIDE cells in tiles of 4 (all allowed, mixed, and a partial tile of
 * none) refusing the columns from `from` on. */
static cr_mask *columns_mask(int from)
{
    cr_ctx *ctx = cr_ctx_new();
    cr_grid *grid = tu_grid(32736, X0, Y0, RES, SIDE, SIDE);
    cr_mask *m = NULL;
    assert_int_equal(cr_mask_new(ctx, grid, 4, &m), CR_OK);
    for (int64_t t = 0; t < 9; t++) {
        cr_window w = cr_grid_window(grid, 4, t);
        uint8_t flags[16];
        for (int r = 0; r < w.h; r++)
            for (int c = 0; c < w.w; c++)
                flags[r * w.w + c] = w.x + c < from;
        assert_int_equal(cr_mask_set_tile(ctx, m, t, flags, w.w, w.h), CR_OK);
    }
    cr_grid_free(grid);
    cr_ctx_free(ctx);
    return m;
}

/* A record at the centre of cell (5, 5) with h = 1.5 cells reaches the 9 cells around it
 * (distances 0, 1 and sqrt 2 cells); refusing the columns from 6 on leaves 6 of them. By
 * hand, the quartic's weights are 1 at the centre, (1 - 4/9)^2 = 25/81 at one cell and
 * (1 - 8/9)^2 = 1/81 on the diagonal: 185/81 in all, 1 + 3 * 25/81 + 2/81 = 158/81 allowed. */
static void masked_kernels_keep_the_mass_on_allowed_cells(void **state)
{
    (void)state;
    cr_mask *m = columns_mask(6);
    assert_int_equal(m->state[0], CR_MASK_ALL);
    assert_int_equal(m->state[1], CR_MASK_MIXED);
    assert_int_equal(m->state[2], CR_MASK_NONE);
    assert_int_equal(m->allowed, 60);
    cr_cells all = {0, 0, SIDE - 1, SIDE - 1};
    cr_stamp s;
    cr_stamp_init(&s, CR_KERNEL_UNIFORM, 15, 10, 10, 5.5, 5.5);
    assert_true(cr_stamp_sum(&s, &all) == 9);
    s.mask = m;
    assert_true(cr_stamp_sum(&s, &all) == 6);
    cr_stamp_init(&s, CR_KERNEL_QUARTIC, 15, 10, 10, 5.5, 5.5);
    assert_true(fabs(cr_stamp_sum(&s, &all) - 185.0 / 81) < 1e-12);
    s.mask = m;
    double norm = cr_stamp_sum(&s, &all);
    assert_true(fabs(norm - 158.0 / 81) < 1e-12);
    /* Spread with count 7: the allowed cells sum to 7, the refused ones hold nothing. */
    double acc[SIDE * SIDE] = {0};
    cr_stamp_add(&s, &all, 7 / norm, acc, SIDE);
    double allowed = 0, refused = 0;
    for (int r = 0; r < SIDE; r++)
        for (int c = 0; c < SIDE; c++)
            *(c < 6 ? &allowed : &refused) += acc[r * SIDE + c];
    assert_true(fabs(allowed - 7) < 1e-12);
    assert_true(refused == 0);
    assert_true(fabs(acc[5 * SIDE + 5] - 7 * 81.0 / 158) < 1e-12);
    assert_true(fabs(acc[4 * SIDE + 4] - 7 * 1.0 / 158) < 1e-12);
    /* Summed in bands of rows or in one go: the same. */
    double banded = 0;
    for (int r = 0; r < SIDE; r += 3) {
        cr_cells rows = {0, r, SIDE - 1, r + 2 < SIDE ? r + 2 : SIDE - 1};
        cr_stamp_sum_into(&s, &rows, &banded);
    }
    assert_true(banded == norm);
    cr_mask_free(m);
}

/* Through cr_arrivals(): a mask raster refusing columns 5..9 and one nodata cell. A record at
 * the centre of cell (4, 4) with a uniform kernel of 15 m reaches 9 cells, 6 of them
 * allowed (columns 3 and 4): 12 arrivals are 2 per cell, and 12 * 3/9 = 4 of the kernel's
 * mass fell on refused cells. A record at cell (8, 8) reaches only refused cells: rejected,
 * as no_allowed_cell, with its line. */
static void a_mask_raster_renormalises_and_rejects(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *csv = tu_write_file(dir, "a.csv", "x,y,n\n1045,8955,12\n1085,8915,5\n");
    char *mask = tu_path(dir, "mask.tif"), *out = tu_path(dir, "a.tif");
    float flags[SIDE * SIDE];
    for (int k = 0; k < SIDE * SIDE; k++)
        flags[k] = k % SIDE < 5 ? 3.0f : 0.0f;
    flags[0] = -9; /* nodata: refused, far from the records */
    tu_write_raster(mask, 32736, X0, Y0, RES, SIDE, SIDE, flags, 1, -9);
    cr_ctx *ctx = cr_ctx_new();
    cr_arrivals_opts o;
    uniform_options(&o);
    o.mask_path = mask;
    cr_arrivals_summary s;
    assert_int_equal(cr_arrivals(ctx, csv, out, &o, &s), CR_OK);
    double cells[SIDE * SIDE];
    read_cells(out, cells);
    for (int r = 0; r < SIDE; r++)
        for (int c = 0; c < SIDE; c++) {
            int reached = r >= 3 && r <= 5 && c >= 3 && c <= 4;
            if (cells[r * SIDE + c] != (reached ? 2.0 : 0.0))
                fail_msg("cell (%d, %d) holds %g", c, r, cells[r * SIDE + c]);
        }
    assert_true(fabs(s.kernel_mass_masked - 4) < 1e-12);
    assert_int_equal(s.records_accepted, 1);
    assert_int_equal(s.records_rejected, 1);
    assert_int_equal(s.rejected[CR_REJECT_NO_ALLOWED_CELL], 1);
    assert_int_equal(s.first_ids[CR_REJECT_NO_ALLOWED_CELL][0], 3);
    assert_true(s.arrivals_total == 12 && s.arrivals_in_grid == 12 && s.raster_sum == 12);
    cr_arrivals_summary_clear(&s);
    /* Without a kernel the first record's own cell is allowed, the second's not. */
    o.kernel = CR_KERNEL_NONE;
    o.bandwidth = 0;
    o.overwrite = 1;
    assert_int_equal(cr_arrivals(ctx, csv, out, &o, &s), CR_OK);
    assert_int_equal(s.rejected[CR_REJECT_NO_ALLOWED_CELL], 1);
    assert_true(s.raster_sum == 12);
    cr_arrivals_summary_clear(&s);
    cr_ctx_free(ctx);
    free(csv), free(mask), free(out);
    tu_rmdir(dir);
}

/* A 600 x 520 grid of 10 m cells: 2 x 2 blocks of 512 (the right ones 88 wide, the bottom ones
 * 8 high), which --tile I/4 cuts 2 x 2 (|log(300/260)| beats 1 x 4 and 4 x 1): tile 1/4 is the
 * window 0,0,512,512 and 2/4 the window 512,0,88,512. A record of 9 at the centre of cell
 * (512, 100) under a uniform kernel of 15 m puts 1 on each of the 3 x 3 cells around it:
 * columns 511-513, rows 99-101, across the edge between the two tiles. */
static cr_status tile_run(cr_ctx *ctx, const char *csv, const char *out, int index,
                          cr_arrivals_summary *s)
{
    cr_arrivals_opts o;
    uniform_options(&o);
    o.bounds = (cr_bounds){X0, Y0 - 520 * RES, X0 + 600 * RES, Y0};
    o.tile.index = index;
    o.tile.count = 4;
    return cr_arrivals(ctx, csv, out, &o, s);
}

static void a_tile_holds_its_window_of_the_kernels(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *csv = tu_write_file(dir, "a.csv", "x,y,n\n6125,7995,9\n");
    char *left = tu_path(dir, "left.tif"), *right = tu_path(dir, "right.tif");
    cr_ctx *ctx = cr_ctx_new();
    cr_arrivals_summary s;
    assert_int_equal(tile_run(ctx, csv, right, 2, &s), CR_OK);
    assert_true(s.window.x == 512 && s.window.y == 0 && s.window.w == 88 && s.window.h == 512);
    assert_true(s.full_width == 600 && s.full_height == 520);
    assert_true(s.raster_sum == 6 && s.arrivals_in_grid == 9);
    assert_true(s.grid->width == 88 && s.grid->gt[0] == X0 + 512 * RES && s.grid->gt[3] == Y0);
    cr_arrivals_summary_clear(&s);
    GDALDatasetH ds = GDALOpen(right, GA_ReadOnly);
    assert_non_null(ds);
    assert_string_equal(GDALGetMetadataItem(ds, "CITYRISK_TILE", NULL), "2/4");
    assert_string_equal(GDALGetMetadataItem(ds, "CITYRISK_WINDOW", NULL), "512,0,88,512");
    assert_string_equal(GDALGetMetadataItem(ds, "CITYRISK_FULL_SIZE", NULL), "600,520");
    double cells[4 * 3];
    assert_int_equal(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, 0, 98, 4, 3, cells, 4, 3,
                                  GDT_Float64, 0, 0),
                     CE_None); /* tile columns 0-3 (grid 512-515), rows 98-100 */
    GDALClose(ds);
    const double expected[12] = {0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0};
    for (int i = 0; i < 12; i++)
        assert_true(cells[i] == expected[i]);
    assert_int_equal(tile_run(ctx, csv, left, 1, &s), CR_OK);
    assert_true(s.raster_sum == 3); /* column 511 */
    cr_arrivals_summary_clear(&s);
    cr_ctx_free(ctx);
    free(csv), free(left), free(right);
    tu_rmdir(dir);
}

/* Misaligned windows, too many tiles and counts by area fail as usage, writing nothing. */
static void tiles_are_refused_where_they_cannot_be(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *csv = tu_write_file(dir, "a.csv", "x,y,n\n1005,8995,9\n");
    char *out = tu_path(dir, "a.tif");
    cr_ctx *ctx = cr_ctx_new();
    cr_arrivals_opts o;
    uniform_options(&o);
    o.tile.has_window = 1;
    o.tile.window = (cr_window){0, 0, 5, 10}; /* not reaching the 10-cell grid's right edge */
    assert_int_equal(cr_arrivals(ctx, csv, out, &o, NULL), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(ctx), "--window 0,0,5,10"));
    o.tile = (cr_tile_spec){.index = 1, .count = 2}; /* one block: no second tile */
    assert_int_equal(cr_arrivals(ctx, csv, out, &o, NULL), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(ctx), "--tile 1/2"));
    options(&o);
    o.areas_path = csv; /* refused before it is read */
    o.count_field = "n";
    o.tile = (cr_tile_spec){.index = 1, .count = 1};
    assert_int_equal(cr_arrivals(ctx, NULL, out, &o, NULL), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(ctx), "--areas with --tile"));
    assert_int_equal(tu_count_entries(dir), 1);
    cr_ctx_free(ctx);
    free(csv), free(out);
    tu_rmdir(dir);
}

int main(void)
{
    GDALAllRegister();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kernels_parse_and_name),
        cmocka_unit_test(densities_integrate_to_one),
        cmocka_unit_test(footprint_counts_lattice_points),
        cmocka_unit_test(band_sums_are_the_whole_sum),
        cmocka_unit_test(counts_land_in_their_cells),
        cmocka_unit_test(edge_mass_is_renormalised_and_reported),
        cmocka_unit_test(tiny_bandwidth_keeps_the_count_in_its_cell),
        cmocka_unit_test(rejections_carry_reasons_and_lines),
        cmocka_unit_test(utf8_is_checked_in_columns_found_by_tag),
        cmocka_unit_test(geographic_ranges_and_grids),
        cmocka_unit_test(masked_kernels_keep_the_mass_on_allowed_cells),
        cmocka_unit_test(a_mask_raster_renormalises_and_rejects),
        cmocka_unit_test(a_tile_holds_its_window_of_the_kernels),
        cmocka_unit_test(tiles_are_refused_where_they_cannot_be),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
