/* test_writer.c: the COG writer: layout, compression, overviews, nodata, metadata,
 * and atomic publication. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cpl_error.h>
#include <cpl_string.h>

#include "cityrisk/raster.h"

enum { W = 700, H = 600 };

/* Cell value: a smooth pattern, NaN in the top-left 10 x 10 corner. */
static float cell(int col, int row)
{
    return col < 10 && row < 10 ? NAN : (float)(col % 7 + row % 5);
}

/* Writes every band of a width x height raster in windows of block x block cells. */
static cr_status write_grid(cr_ctx *ctx, const char *path, const cr_writer_opts *opts, int block,
                            int width, int height)
{
    cr_grid *g = tu_grid(32736, 500000, 8000000, 30, width, height);
    cr_writer *w = NULL;
    cr_status st = cr_writer_open(ctx, path, g, opts, &w);
    for (int64_t i = 0; st == CR_OK && i < cr_grid_window_count(g, block); i++) {
        cr_window win = cr_grid_window(g, block, i);
        float *v = malloc(sizeof *v * (size_t)win.w * win.h);
        for (int r = 0; r < win.h; r++)
            for (int c = 0; c < win.w; c++)
                v[r * win.w + c] = cell(win.x + c, win.y + r);
        for (int b = 1; st == CR_OK && b <= opts->band_count; b++)
            st = cr_writer_write(ctx, w, b, &win, v);
        free(v);
    }
    if (st == CR_OK)
        st = cr_writer_set_metadata(ctx, w, 1, "SCENARIO", "ssp245-2100");
    if (st == CR_OK)
        st = cr_writer_commit(ctx, w);
    else
        cr_writer_abort(w);
    cr_grid_free(g);
    return st;
}

/* Writes every band of the W x H raster in windows of block x block cells. */
static cr_status write_blocks(cr_ctx *ctx, const char *path, const cr_writer_opts *opts, int block)
{
    return write_grid(ctx, path, opts, block, W, H);
}

static cr_status write_all(cr_ctx *ctx, const char *path, const cr_writer_opts *opts)
{
    return write_blocks(ctx, path, opts, CR_BLOCK_SIZE);
}

static void cog_has_layout_compression_overviews_nodata_and_provenance(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[512];
    snprintf(path, sizeof path, "%s/out.tif", dir);
    cr_ctx *ctx = cr_ctx_new();
    char *argv[] = {"cityrisk", "test"};
    cr_ctx_set_command(ctx, 2, argv);
    const char *names[] = {"score", "class"}, *units[] = {"score", ""};
    cr_writer_opts o;
    cr_writer_opts_init(&o);
    o.band_count = 2;
    o.band_names = names;
    o.band_units = units;
    o.inputs = "[\"dem.tif\"]";
    o.parameters = "{\"a\":1}";
    o.formula = "S = 10 * x";
    assert_int_equal(write_all(ctx, path, &o), CR_OK);
    assert_int_equal(tu_count_entries(dir), 1); /* no temporary file left */

    GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
    assert_non_null(ds);
    assert_string_equal(GDALGetMetadataItem(ds, "LAYOUT", "IMAGE_STRUCTURE"), "COG");
    assert_string_equal(GDALGetMetadataItem(ds, "COMPRESSION", "IMAGE_STRUCTURE"), "DEFLATE");
    assert_string_equal(GDALGetMetadataItem(ds, "PREDICTOR", "IMAGE_STRUCTURE"), "3");
    assert_string_equal(GDALGetMetadataItem(ds, "CITYRISK_VERSION", NULL), cr_version());
    assert_string_equal(GDALGetMetadataItem(ds, "CITYRISK_COMMAND", NULL), "cityrisk test");
    assert_string_equal(GDALGetMetadataItem(ds, "CITYRISK_INPUTS", NULL), "[\"dem.tif\"]");
    assert_string_equal(GDALGetMetadataItem(ds, "CITYRISK_PARAMETERS", NULL), "{\"a\":1}");
    assert_string_equal(GDALGetMetadataItem(ds, "CITYRISK_FORMULA", NULL), "S = 10 * x");
    assert_int_equal(GDALGetRasterCount(ds), 2);
    GDALRasterBandH band = GDALGetRasterBand(ds, 1);
    assert_int_equal(GDALGetRasterDataType(band), GDT_Float32);
    int bx, by, has_nodata;
    GDALGetBlockSize(band, &bx, &by);
    assert_int_equal(bx, 512);
    assert_int_equal(by, 512);
    assert_float_equal(GDALGetRasterNoDataValue(band, &has_nodata), -9999.0, 0);
    assert_true(has_nodata);
    assert_string_equal(GDALGetDescription(band), "score");
    assert_string_equal(GDALGetRasterUnitType(band), "score");
    assert_string_equal(GDALGetDescription(GDALGetRasterBand(ds, 2)), "class");
    assert_string_equal(GDALGetMetadataItem(band, "SCENARIO", NULL), "ssp245-2100");
    assert_true(GDALGetOverviewCount(band) >= 1);

    /* Values round-trip, NaN became nodata. */
    float v[4];
    assert_int_equal(GDALRasterIO(band, GF_Read, 600, 500, 2, 2, v, 2, 2, GDT_Float32, 0, 0), CE_None);
    assert_float_equal(v[0], cell(600, 500), 0);
    assert_float_equal(v[3], cell(601, 501), 0);
    assert_int_equal(GDALRasterIO(band, GF_Read, 0, 0, 1, 1, v, 1, 1, GDT_Float32, 0, 0), CE_None);
    assert_float_equal(v[0], -9999.0f, 0);
    /* The first overview averages 2 x 2 cells: cells (20..21, 20..21) hold
     * 6,0 / 7,1 (col%7 + row%5) → mean 3.5. */
    GDALRasterBandH ov = GDALGetOverview(band, 0);
    assert_int_equal(GDALGetRasterBandXSize(ov), W / 2);
    assert_int_equal(GDALRasterIO(ov, GF_Read, 10, 10, 1, 1, v, 1, 1, GDT_Float32, 0, 0), CE_None);
    float expect = (cell(20, 20) + cell(21, 20) + cell(20, 21) + cell(21, 21)) / 4.0f;
    assert_float_equal(v[0], expect, 1e-6);
    GDALClose(ds);
    cr_ctx_free(ctx);
    tu_rmdir(dir);
}

/* The first overview level is the 2 x 2 reduction of the cells whatever windows wrote
 * them: made in place from whole-cell windows (512), at commit from odd ones (301).
 * Band 2 is flagged categorical: the most frequent value, ties to the larger. */
static void overviews_whatever_the_windows(void **state)
{
    (void)state;
    const int blocks[] = {CR_BLOCK_SIZE, 301};
    for (int k = 0; k < 2; k++) {
        char *dir = tu_mkdtemp();
        char path[512];
        snprintf(path, sizeof path, "%s/out.tif", dir);
        cr_ctx *ctx = cr_ctx_new();
        const int categorical[] = {0, 1};
        cr_writer_opts o;
        cr_writer_opts_init(&o);
        o.band_count = 2;
        o.band_categorical = categorical;
        assert_int_equal(write_blocks(ctx, path, &o, blocks[k]), CR_OK);
        GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
        assert_non_null(ds);
        int ow = (W + 1) / 2, oh = (H + 1) / 2;
        float *ov = malloc(sizeof *ov * (size_t)ow * oh);
        for (int b = 1; b <= 2; b++) {
            GDALRasterBandH band = GDALGetOverview(GDALGetRasterBand(ds, b), 0);
            assert_int_equal(GDALRasterIO(band, GF_Read, 0, 0, ow, oh, ov, ow, oh, GDT_Float32, 0, 0),
                             CE_None);
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++) {
                    float v[4] = {cell(2 * x, 2 * y), cell(2 * x + 1, 2 * y), cell(2 * x, 2 * y + 1),
                                  cell(2 * x + 1, 2 * y + 1)};
                    float sum = 0, best = -9999;
                    int n = 0, best_count = 0;
                    for (int i = 0; i < 4; i++) {
                        if (isnan(v[i]))
                            continue;
                        sum += v[i], n++;
                        int count = 0;
                        for (int j = 0; j < 4; j++)
                            count += v[j] == v[i];
                        if (count > best_count || (count == best_count && v[i] > best))
                            best = v[i], best_count = count;
                    }
                    float expect = n == 0 ? -9999.0f : b == 1 ? sum / n : best;
                    float got = ov[(size_t)y * ow + x];
                    if (fabsf(got - expect) > 1e-5f)
                        fail_msg("block %d band %d overview cell %d,%d: %g, expected %g", blocks[k],
                                 b, x, y, got, expect);
                }
        }
        free(ov);
        GDALClose(ds);
        cr_ctx_free(ctx);
        tu_rmdir(dir);
    }
}

/* The mean of the valid values (not NaN, not -9999) of v[0..n-1], -9999 when none. */
static float mean_of_valid(const float *v, int n)
{
    float sum = 0;
    int valid = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i]) && v[i] != -9999.0f)
            sum += v[i], valid++;
    return valid ? sum / valid : -9999.0f;
}

/* The debug lines of the writer, kept. */
static void keep_writer_log(void *arg, cr_log_level level, const char *msg)
{
    (void)level;
    if (strstr(msg, "writer: overviews"))
        snprintf(arg, 512, "%s", msg);
}

/* Deeper overview levels are made in place too, level by level from the block in memory,
 * when the windows cover whole cells of every level (512-cell blocks): commit then has no
 * level left to make on one thread. Odd windows (301) leave them all to commit. Either
 * way level 2 is the 2 x 2 mean of level 1, itself that of the cells: 1100 x 1030 cells
 * need two levels (550 x 515, 275 x 258) to fit a 512 tile. */
static void deeper_levels_made_in_place(void **state)
{
    (void)state;
    enum { CW = 1100, CH = 1030, L1W = 550, L1H = 515, L2W = 275, L2H = 258 };
    float *level1 = malloc(sizeof *level1 * L1W * L1H), *got = malloc(sizeof *got * L1W * L1H);
    for (int y = 0; y < L1H; y++)
        for (int x = 0; x < L1W; x++) {
            float v[4] = {cell(2 * x, 2 * y), cell(2 * x + 1, 2 * y), cell(2 * x, 2 * y + 1),
                          cell(2 * x + 1, 2 * y + 1)};
            level1[y * L1W + x] = mean_of_valid(v, 4);
        }
    const int blocks[] = {CR_BLOCK_SIZE, 301};
    const char *made[] = {"2 of 2 levels made in place", "0 of 2 levels made in place"};
    for (int k = 0; k < 2; k++) {
        char *dir = tu_mkdtemp();
        char path[512], log[512] = "";
        snprintf(path, sizeof path, "%s/out.tif", dir);
        cr_ctx *ctx = cr_ctx_new();
        cr_ctx_set_log(ctx, keep_writer_log, log, CR_LOG_DEBUG);
        cr_writer_opts o;
        cr_writer_opts_init(&o);
        assert_int_equal(write_grid(ctx, path, &o, blocks[k], CW, CH), CR_OK);
        if (!strstr(log, made[k]))
            fail_msg("block %d: the writer logged '%s', not '%s'", blocks[k], log, made[k]);
        GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
        assert_non_null(ds);
        GDALRasterBandH band = GDALGetRasterBand(ds, 1);
        assert_int_equal(GDALGetOverviewCount(band), 2);
        assert_int_equal(GDALRasterIO(GDALGetOverview(band, 0), GF_Read, 0, 0, L1W, L1H, got, L1W,
                                      L1H, GDT_Float32, 0, 0),
                         CE_None);
        for (int i = 0; i < L1W * L1H; i++)
            if (fabsf(got[i] - level1[i]) > 1e-5f)
                fail_msg("block %d level 1 cell %d: %g, expected %g", blocks[k], i, got[i], level1[i]);
        assert_int_equal(GDALRasterIO(GDALGetOverview(band, 1), GF_Read, 0, 0, L2W, L2H, got, L2W,
                                      L2H, GDT_Float32, 0, 0),
                         CE_None);
        for (int y = 0; y < L2H; y++)
            for (int x = 0; x < L2W; x++) {
                float v[4];
                int n = 0;
                for (int dy = 0; dy < 2 && 2 * y + dy < L1H; dy++)
                    for (int dx = 0; dx < 2 && 2 * x + dx < L1W; dx++)
                        v[n++] = level1[(2 * y + dy) * L1W + 2 * x + dx];
                float expect = mean_of_valid(v, n);
                if (fabsf(got[y * L2W + x] - expect) > 1e-5f)
                    fail_msg("block %d level 2 cell %d,%d: %g, expected %g", blocks[k], x, y,
                             got[y * L2W + x], expect);
            }
        GDALClose(ds);
        cr_ctx_free(ctx);
        tu_rmdir(dir);
    }
    free(level1);
    free(got);
}

/* GDAL's COG driver (3.6) interleaves bands by pixel, so one tile holds every band: tiles
 * shrink with many bands (issue 16, point 4: 100 bands of 512 x 512 were 100 MB a tile and
 * 420 MB at the peak for an 8 x 8 raster). */
static void many_bands_make_smaller_tiles(void **state)
{
    (void)state;
    assert_int_equal(cr_writer_tile_size(1), 512);
    assert_int_equal(cr_writer_tile_size(16), 512); /* 16 MiB */
    assert_int_equal(cr_writer_tile_size(17), 256);
    assert_int_equal(cr_writer_tile_size(64), 256);
    assert_int_equal(cr_writer_tile_size(65), 128);
    assert_int_equal(cr_writer_tile_size(1000), 128); /* the COG driver's smallest */

    enum { BANDS = 70, CW = 150, CH = 140 };
    char *dir = tu_mkdtemp();
    char path[512];
    snprintf(path, sizeof path, "%s/many.tif", dir);
    cr_ctx *ctx = cr_ctx_new();
    cr_grid *g = tu_grid(32736, 500000, 8000000, 30, CW, CH);
    cr_writer_opts o;
    cr_writer_opts_init(&o);
    o.band_count = BANDS;
    cr_writer *w = NULL;
    assert_int_equal(cr_writer_open(ctx, path, g, &o, &w), CR_OK);
    cr_window win = {0, 0, CW, CH};
    float *v = malloc(sizeof *v * CW * CH);
    for (int b = 1; b <= BANDS; b++) {
        for (int r = 0; r < CH; r++)
            for (int c = 0; c < CW; c++)
                v[r * CW + c] = cell(c, r) + (float)b;
        assert_int_equal(cr_writer_write(ctx, w, b, &win, v), CR_OK);
    }
    assert_int_equal(cr_writer_commit(ctx, w), CR_OK);
    assert_int_equal(tu_count_entries(dir), 1);
    GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
    assert_non_null(ds);
    assert_string_equal(GDALGetMetadataItem(ds, "LAYOUT", "IMAGE_STRUCTURE"), "COG");
    assert_int_equal(GDALGetRasterCount(ds), BANDS);
    int bx, by;
    GDALGetBlockSize(GDALGetRasterBand(ds, BANDS), &bx, &by);
    assert_int_equal(bx, 128);
    assert_int_equal(by, 128);
    /* cityrisk's own overviews, as many as the COG driver makes for 128-cell tiles: 150 x
     * 140 cells need one level (75 x 70) to fit a tile. */
    GDALRasterBandH band = GDALGetRasterBand(ds, BANDS);
    assert_int_equal(GDALGetOverviewCount(band), 1);
    assert_int_equal(GDALRasterIO(band, GF_Read, 0, 0, CW, CH, v, CW, CH, GDT_Float32, 0, 0),
                     CE_None);
    for (int r = 0; r < CH; r++)
        for (int c = 0; c < CW; c++) {
            float expect = isnan(cell(c, r)) ? -9999.0f : cell(c, r) + BANDS;
            if (v[r * CW + c] != expect)
                fail_msg("band %d cell %d,%d: %g, expected %g", BANDS, c, r, v[r * CW + c], expect);
        }
    float ov;
    assert_int_equal(GDALRasterIO(GDALGetOverview(band, 0), GF_Read, 10, 10, 1, 1, &ov, 1, 1,
                                  GDT_Float32, 0, 0),
                     CE_None);
    float expect = (cell(20, 20) + cell(21, 20) + cell(20, 21) + cell(21, 21)) / 4.0f + BANDS;
    assert_float_equal(ov, expect, 1e-5);
    GDALClose(ds);
    free(v);
    cr_grid_free(g);
    cr_ctx_free(ctx);
    tu_rmdir(dir);
}

static void existing_output_is_kept_unless_overwrite(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[512];
    snprintf(path, sizeof path, "%s/out.tif", dir);
    FILE *fp = fopen(path, "w");
    fputs("previous", fp);
    fclose(fp);
    cr_ctx *ctx = cr_ctx_new();
    cr_writer_opts o;
    cr_writer_opts_init(&o);
    assert_int_equal(write_all(ctx, path, &o), CR_E_EXISTS);
    assert_non_null(strstr(cr_ctx_error(ctx), "--overwrite"));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 8);
    assert_int_equal(tu_count_entries(dir), 1);
    o.overwrite = 1;
    const char *inputs[] = {"/nonexistent.tif", path, NULL};
    o.input_paths = inputs; /* even with overwrite, an input is never replaced */
    assert_int_equal(write_all(ctx, path, &o), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(ctx), "is the input"));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 8);
    o.input_paths = NULL;
    assert_int_equal(write_all(ctx, path, &o), CR_OK);
    GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
    assert_non_null(ds);
    GDALClose(ds);
    cr_ctx_free(ctx);
    tu_rmdir(dir);
}

static int cancel(double complete, const char *msg, void *arg)
{
    (void)complete, (void)msg, (void)arg;
    return 0;
}

static void failed_or_cancelled_writes_leave_nothing(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[512], missing[600];
    snprintf(path, sizeof path, "%s/out.tif", dir);
    snprintf(missing, sizeof missing, "%s/no/such/folder/out.tif", dir);
    cr_ctx *ctx = cr_ctx_new();
    cr_writer_opts o;
    cr_writer_opts_init(&o);
    assert_int_equal(write_all(ctx, missing, &o), CR_E_IO);
    assert_non_null(strstr(cr_ctx_error(ctx), "does not exist"));

    cr_ctx_set_progress(ctx, cancel, NULL);
    assert_int_equal(write_all(ctx, path, &o), CR_E_CANCELLED);
    assert_int_equal(tu_count_entries(dir), 0);
    cr_ctx_set_progress(ctx, NULL, NULL);

    /* Aborting after writing blocks removes the temporary files. */
    cr_grid *g = tu_grid(32736, 0, 0, 30, 64, 64);
    cr_writer *w = NULL;
    assert_int_equal(cr_writer_open(ctx, path, g, &o, &w), CR_OK);
    float v[64 * 64] = {0};
    cr_window win = {0, 0, 64, 64};
    assert_int_equal(cr_writer_write(ctx, w, 1, &win, v), CR_OK);
    assert_true(tu_count_entries(dir) > 0);
    assert_int_equal(cr_writer_write(ctx, w, 2, &win, v), CR_E_USAGE);
    cr_writer_abort(w);
    assert_int_equal(tu_count_entries(dir), 0);
    cr_grid_free(g);

    /* A creation option GDAL refuses during the COG copy (gdal_translate leaves a
     * partial file behind in this case) leaves nothing either. */
    char **co = CSLAddString(NULL, "BLOCKSIZE=7");
    o.creation_options = co;
    assert_int_equal(write_all(ctx, path, &o), CR_E_IO);
    assert_non_null(strstr(cr_ctx_error(ctx), path));
    assert_int_equal(tu_count_entries(dir), 0);
    CSLDestroy(co);
    cr_ctx_free(ctx);
    tu_rmdir(dir);
}

/* GDAL's global handler as the program installs it: failures go to the write. */
static void program_handler(CPLErr level, CPLErrorNum num, const char *msg)
{
    (void)num;
    if (level >= CE_Failure)
        cr_gdal_foreign_failure(msg);
}

static void *fail_on_a_worker(void *arg)
{
    (void)arg;
    CPLError(CE_Failure, CPLE_AppDefined, "PredictorEncodeTile:Out of memory allocating 1048576 "
                                          "byte temp buffer");
    return NULL;
}

static int fail_during_the_copy(double complete, const char *msg, void *arg)
{
    (void)msg;
    int *raised = arg;
    if (complete > 0 && !*raised) { /* while the COG copy runs, as GDAL's workers would */
        pthread_t t;
        pthread_create(&t, NULL, fail_on_a_worker, NULL);
        pthread_join(t, NULL);
        *raised = 1;
    }
    return 1;
}

/* A failure on a thread of GDAL's own (compression with NUM_THREADS) reaches no context;
 * the copy still returns success, without the tile. The write fails with its message. */
static void failures_on_gdal_worker_threads_fail_the_write(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[512];
    snprintf(path, sizeof path, "%s/out.tif", dir);
    cr_ctx *ctx = cr_ctx_new();
    cr_writer_opts o;
    cr_writer_opts_init(&o);
    CPLSetErrorHandler(program_handler);

    int raised = 0;
    cr_ctx_set_progress(ctx, fail_during_the_copy, &raised);
    assert_int_equal(write_all(ctx, path, &o), CR_E_IO);
    assert_true(raised);
    assert_non_null(strstr(cr_ctx_error(ctx), "cannot write '"));
    assert_non_null(strstr(cr_ctx_error(ctx), "PredictorEncodeTile:Out of memory"));
    assert_int_equal(tu_count_entries(dir), 0);
    cr_ctx_set_progress(ctx, NULL, NULL);

    /* For real: LERC refuses a negative MAX_Z_ERROR in the compressing thread, one of
     * GDAL's workers with 2 threads, the caller's with 1. */
    char **co = CSLAddString(NULL, "COMPRESS=LERC");
    co = CSLAddString(co, "MAX_Z_ERROR=-1");
    o.creation_options = co;
    for (int threads = 1; threads <= 2; threads++) {
        cr_ctx_set_threads(ctx, threads);
        assert_int_equal(write_all(ctx, path, &o), CR_E_IO);
        assert_non_null(strstr(cr_ctx_error(ctx), "lerc_encode() failed"));
        assert_int_equal(tu_count_entries(dir), 0);
    }
    CSLDestroy(co);

    /* Codecs for 8-bit or 1-bit images are refused before anything is written. */
    const char *narrow[] = {"COMPRESS=WEBP", "COMPRESS=jpeg", "COMPRESS=CCITTFAX4"};
    for (size_t i = 0; i < sizeof narrow / sizeof *narrow; i++) {
        co = CSLAddString(NULL, narrow[i]);
        o.creation_options = co;
        assert_int_equal(write_all(ctx, path, &o), CR_E_USAGE);
        assert_non_null(strstr(cr_ctx_error(ctx), narrow[i]));
        assert_non_null(strstr(cr_ctx_error(ctx), "Float32"));
        assert_int_equal(tu_count_entries(dir), 0);
        CSLDestroy(co);
    }
    CPLSetErrorHandler(NULL);
    cr_ctx_free(ctx);
    tu_rmdir(dir);
}

/* Byte classes: rounded values, the nodata, a colour table on band 1 and the class names and
 * colours on every band; overviews by most frequent class. */
static void byte_classes_with_names_and_colours(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[512];
    snprintf(path, sizeof path, "%s/classes.tif", dir);
    cr_ctx *ctx = cr_ctx_new();
    const char *names[] = {"dry", "maybe", "wet"}, *colors[] = {"#d9d9d9", "#fdae61", "#2166ac"};
    cr_writer_opts o;
    cr_writer_opts_init(&o);
    o.band_count = 3; /* 3 Byte bands are not taken for RGB */
    o.type = CR_WRITER_BYTE;
    o.nodata = 255;
    o.category_count = 3;
    o.category_names = names;
    o.category_colors = colors;
    /* cell(): col % 7 + row % 5, 0..10, NaN in a corner: the classes are values 0..10 here */
    assert_int_equal(write_all(ctx, path, &o), CR_OK);
    GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
    assert_non_null(ds);
    for (int b = 1; b <= 3; b++) {
        GDALRasterBandH band = GDALGetRasterBand(ds, b);
        assert_int_equal(GDALGetRasterDataType(band), GDT_Byte);
        assert_int_not_equal(GDALGetRasterColorInterpretation(band), GCI_RedBand);
        int has = 0;
        assert_true(GDALGetRasterNoDataValue(band, &has) == 255 && has);
        uint8_t v[3];
        assert_int_equal(GDALRasterIO(band, GF_Read, 0, 0, 3, 1, v, 3, 1, GDT_Byte, 0, 0), CE_None);
        assert_int_equal(v[0], 255); /* NaN */
        assert_int_equal(GDALRasterIO(band, GF_Read, 12, 11, 3, 1, v, 3, 1, GDT_Byte, 0, 0), CE_None);
        assert_int_equal(v[0], 12 % 7 + 11 % 5);
        assert_int_equal(v[2], 14 % 7 + 11 % 5);
        assert_string_equal(GDALGetMetadataItem(band, "CLASS_NAMES", NULL), "[\"dry\",\"maybe\",\"wet\"]");
        assert_string_equal(GDALGetMetadataItem(band, "CLASS_COLORS", NULL),
                            "[\"#d9d9d9\",\"#fdae61\",\"#2166ac\"]");
    }
    /* no palette in a file of several bands (GeoTIFF refuses it, or makes band 2 alpha) */
    assert_null(GDALGetRasterColorTable(GDALGetRasterBand(ds, 1)));
    assert_int_not_equal(GDALGetRasterColorInterpretation(GDALGetRasterBand(ds, 2)), GCI_AlphaBand);
    GDALClose(ds);
    /* one band: a colour table too */
    o.band_count = 1;
    snprintf(path, sizeof path, "%s/one.tif", dir);
    assert_int_equal(write_all(ctx, path, &o), CR_OK);
    ds = GDALOpen(path, GA_ReadOnly);
    GDALColorTableH table = GDALGetRasterColorTable(GDALGetRasterBand(ds, 1));
    assert_non_null(table);
    const GDALColorEntry *e = GDALGetColorEntry(table, 2);
    assert_true(e->c1 == 0x21 && e->c2 == 0x66 && e->c3 == 0xac);
    GDALClose(ds);
    assert_int_equal(tu_count_entries(dir), 2); /* no .aux.xml, no temporary */
    /* a bad colour is a usage error, nothing written */
    const char *bad[] = {"#d9d9d9", "orange", "#2166ac"};
    o.category_colors = bad;
    snprintf(path, sizeof path, "%s/bad.tif", dir);
    assert_int_equal(write_all(ctx, path, &o), CR_E_USAGE);
    o.category_colors = colors;
    o.nodata = -9999; /* not a byte */
    assert_int_equal(write_all(ctx, path, &o), CR_E_USAGE);
    assert_int_equal(tu_count_entries(dir), 2);
    cr_ctx_free(ctx);
    tu_rmdir(dir);
}

/* Writes a 4 x 4 raster of one band at path with opts (NULL: the defaults), left open for
 * commit. */
static cr_writer *small_writer_with(cr_ctx *ctx, const char *path, const cr_writer_opts *opts)
{
    cr_grid *g = tu_grid(32736, 500000, 8000000, 30, 4, 4);
    cr_writer *w = NULL;
    float v[16] = {0};
    cr_window win = {0, 0, 4, 4};
    assert_int_equal(cr_writer_open(ctx, path, g, opts, &w), CR_OK);
    assert_int_equal(cr_writer_write(ctx, w, 1, &win, v), CR_OK);
    cr_grid_free(g);
    return w;
}

static cr_writer *small_writer(cr_ctx *ctx, const char *path)
{
    return small_writer_with(ctx, path, NULL);
}

/* Files committed together appear together: when the second cannot be published (a file
 * appeared there meanwhile), the first, already renamed, is removed again. */
static void committed_together_or_not_at_all(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/a.tif", dir);
    snprintf(b, sizeof b, "%s/b.tif", dir);
    cr_ctx *ctx = cr_ctx_new();
    cr_writer *w[3] = {small_writer(ctx, a), NULL, small_writer(ctx, b)};
    FILE *f = fopen(b, "w"); /* a concurrent run's */
    fputs("precious", f);
    fclose(f);
    assert_int_equal(cr_writer_commit_all(ctx, w, 3), CR_E_EXISTS);
    assert_int_equal(tu_count_entries(dir), 1); /* b.tif only: a.tif removed, no temporary */
    f = fopen(b, "r");
    char text[16] = {0};
    assert_non_null(fgets(text, sizeof text, f));
    fclose(f);
    assert_string_equal(text, "precious");
    remove(b);
    cr_writer *again[2] = {small_writer(ctx, a), small_writer(ctx, b)};
    assert_int_equal(cr_writer_commit_all(ctx, again, 2), CR_OK);
    assert_int_equal(tu_count_entries(dir), 2);
    cr_ctx_free(ctx);
    tu_rmdir(dir);
}

/* With overwrite, a set that fails to publish leaves the previous files as they were: the
 * first file, already renamed over its old version, gets that version back, and no backup
 * or temporary is left. */
static void failed_overwrite_keeps_the_previous_files(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/a.tif", dir);
    snprintf(b, sizeof b, "%s/b.tif", dir);
    FILE *f = fopen(a, "w");
    fputs("previous", f);
    fclose(f);
    cr_ctx *ctx = cr_ctx_new();
    cr_writer_opts o;
    cr_writer_opts_init(&o);
    o.overwrite = 1;
    cr_writer *w[2] = {small_writer_with(ctx, a, &o), small_writer_with(ctx, b, &o)};
    assert_int_equal(mkdir(b, 0700), 0); /* b cannot be replaced: a directory is there */
    assert_int_not_equal(cr_writer_commit_all(ctx, w, 2), CR_OK);
    f = fopen(a, "r");
    assert_non_null(f);
    char text[16] = {0};
    assert_non_null(fgets(text, sizeof text, f));
    fclose(f);
    assert_string_equal(text, "previous");
    assert_int_equal(tu_count_entries(dir), 2); /* a.tif and the folder b.tif */
    rmdir(b);
    /* and a set that succeeds replaces the file and leaves no backup */
    cr_writer *again[2] = {small_writer_with(ctx, a, &o), small_writer_with(ctx, b, &o)};
    assert_int_equal(cr_writer_commit_all(ctx, again, 2), CR_OK);
    assert_int_equal(tu_count_entries(dir), 2);
    GDALDatasetH ds = GDALOpen(a, GA_ReadOnly);
    assert_non_null(ds);
    GDALClose(ds);
    cr_ctx_free(ctx);
    tu_rmdir(dir);
}

int main(void)
{
    GDALAllRegister();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cog_has_layout_compression_overviews_nodata_and_provenance),
        cmocka_unit_test(overviews_whatever_the_windows),
        cmocka_unit_test(deeper_levels_made_in_place),
        cmocka_unit_test(many_bands_make_smaller_tiles),
        cmocka_unit_test(existing_output_is_kept_unless_overwrite),
        cmocka_unit_test(failed_or_cancelled_writes_leave_nothing),
        cmocka_unit_test(failures_on_gdal_worker_threads_fail_the_write),
        cmocka_unit_test(byte_classes_with_names_and_colours),
        cmocka_unit_test(committed_together_or_not_at_all),
        cmocka_unit_test(failed_overwrite_keeps_the_previous_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
