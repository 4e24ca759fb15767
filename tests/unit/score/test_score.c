/* test_score.c: the scoring model on cells worked out by hand. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/score.h"
#include "core/inputs.h"
#include "core/radix.h"
#include "score/score_internal.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static void weights_parse_and_normalise(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    double w[CR_INDICATORS];
    assert_int_equal(cr_weights_parse(ctx, "sea=1,water=1", w), CR_OK);
    assert_int_equal(cr_weights_normalise(ctx, w), CR_OK);
    NEAR(w[CR_IND_SEA], 0.5);
    NEAR(w[CR_IND_WATER], 0.5);
    NEAR(w[CR_IND_INFORMAL], 0);
    NEAR(w[CR_IND_ARRIVALS], 0);
    assert_int_equal(cr_weights_parse(ctx, "arrivals=3,sea=1", w), CR_OK);
    assert_int_equal(cr_weights_normalise(ctx, w), CR_OK);
    NEAR(w[CR_IND_ARRIVALS], 0.75);
    const char *bad[] = {"sea=-1", "foo=1", "sea=1,sea=2", "sea=", "sea=x", "", "sea=1,", "sea=nan",
                         "sea=inf", "sea"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cr_weights_parse(ctx, bad[i], w), CR_E_USAGE);
    assert_int_equal(cr_weights_parse(ctx, "sea=-1", w), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(ctx), "negative"));
    assert_int_equal(cr_weights_parse(ctx, "sea=0,water=0", w), CR_OK);
    assert_int_equal(cr_weights_normalise(ctx, w), CR_E_USAGE);
    /* Weights are relative: a sum beyond a double's range, or subnormal, is no failure. */
    assert_int_equal(cr_weights_parse(ctx, "sea=1e308,water=1e308,informal=1e308,arrivals=1e308", w),
                     CR_OK);
    assert_int_equal(cr_weights_normalise(ctx, w), CR_OK);
    for (int k = 0; k < CR_INDICATORS; k++)
        assert_true(w[k] == 0.25);
    assert_int_equal(cr_weights_parse(ctx, "sea=1e308,water=5e307,arrivals=5e307", w), CR_OK);
    assert_int_equal(cr_weights_normalise(ctx, w), CR_OK);
    NEAR(w[CR_IND_SEA], 0.5);
    NEAR(w[CR_IND_WATER], 0.25);
    NEAR(w[CR_IND_INFORMAL], 0);
    NEAR(w[CR_IND_ARRIVALS], 0.25);
    assert_int_equal(cr_weights_parse(ctx, "sea=3e-320,water=1e-320", w), CR_OK);
    assert_int_equal(cr_weights_normalise(ctx, w), CR_OK);
    NEAR(w[CR_IND_SEA], 0.75);
    NEAR(w[CR_IND_WATER], 0.25);
    /* Hexadecimal weights are no decimal numbers (C's strtod() took 0x1p-2 as 0.25). */
    assert_int_equal(cr_weights_parse(ctx, "sea=0x1p-2", w), CR_E_USAGE);
    /* Weights set by a program rather than parsed are checked too. */
    double direct[CR_INDICATORS] = {1, INFINITY, 0, 0};
    assert_int_equal(cr_weights_normalise(ctx, direct), CR_E_USAGE);
    double negative[CR_INDICATORS] = {1, -0.5, 0, 0};
    assert_int_equal(cr_weights_normalise(ctx, negative), CR_E_USAGE);
    cr_weights_default(w);
    NEAR(w[CR_IND_SEA] + w[CR_IND_WATER] + w[CR_IND_INFORMAL] + w[CR_IND_ARRIVALS], 1);
    cr_score_method m;
    assert_int_equal(cr_score_method_parse(ctx, "inform", &m), CR_OK);
    assert_int_equal(m, CR_METHOD_INFORM);
    assert_int_equal(cr_score_method_parse(ctx, "mean", &m), CR_E_USAGE);
    cr_ctx_free(ctx);
}

/* Geometric: all indicators 0.5 give prod 5.5^w = 5.5, so S = 10 (5.5 - 1) / 9 = 5;
 * only sea at 1 gives 10^0.3 = 1.99526..., S = 10 (10^0.3 - 1) / 9. */
static void geometric_by_hand(void **state)
{
    (void)state;
    double w[CR_INDICATORS], half[] = {0.5, 0.5, 0.5, 0.5}, sea[] = {1, 0, 0, 0},
                             zero[] = {0, 0, 0, 0}, one[] = {1, 1, 1, 1};
    cr_weights_default(w);
    NEAR(cr_score_cell(CR_METHOD_GEOMETRIC, half, w, 0, NULL), 5.0);
    NEAR(cr_score_cell(CR_METHOD_GEOMETRIC, sea, w, 0, NULL), 10 * (pow(10, 0.3) - 1) / 9);
    NEAR(cr_score_cell(CR_METHOD_GEOMETRIC, zero, w, 0, NULL), 0);
    NEAR(cr_score_cell(CR_METHOD_GEOMETRIC, one, w, 0, NULL), 10);
}

/* Arithmetic: 10 (0.3 * 1 + 0.2 * 0.5 + 0.25 * 0 + 0.25 * 1) = 6.5. */
static void arithmetic_by_hand(void **state)
{
    (void)state;
    double w[CR_INDICATORS], c[] = {1, 0.5, 0, 1};
    cr_weights_default(w);
    NEAR(cr_score_cell(CR_METHOD_ARITHMETIC, c, w, 0, NULL), 6.5);
}

/* INFORM: hazards sea 1 and water 0 give H = 1 - (sqrt(1 * 10) - 1) / 9; with arrivals
 * and informal at 1, S = 10 H^(1/3). No informality or no arrivals: 0. */
static void inform_by_hand(void **state)
{
    (void)state;
    double w[CR_INDICATORS], c[] = {1, 0, 1, 1}, no_informal[] = {1, 1, 0, 1},
                             calm[] = {0, 0, 1, 1};
    cr_weights_default(w);
    double h = 1 - (sqrt(10) - 1) / 9;
    NEAR(cr_score_cell(CR_METHOD_INFORM, c, w, 0, NULL), 10 * cbrt(h));
    NEAR(cr_score_cell(CR_METHOD_INFORM, no_informal, w, 0, NULL), 0);
    NEAR(cr_score_cell(CR_METHOD_INFORM, calm, w, 0, NULL), 0);
    /* The highest hazard dominates: sea 1 alone already gives H = 1 - (sqrt 10 - 1)/9
     * = 0.7597..., far above the arithmetic mean of the hazards, 0.5. */
    assert_true(h > 0.75);
}

/* Missing water: nodata by default; renormalised, the weights of sea, informal and
 * arrivals (0.3, 0.25, 0.25) are divided by 0.8: 10 (0.3 + 0.25) / 0.8 = 6.875. */
static void renormalise_with_a_missing_layer(void **state)
{
    (void)state;
    double w[CR_INDICATORS], c[] = {1, NAN, 0, 1};
    int present = -1;
    cr_weights_default(w);
    assert_true(isnan(cr_score_cell(CR_METHOD_ARITHMETIC, c, w, 0, &present)));
    NEAR(cr_score_cell(CR_METHOD_ARITHMETIC, c, w, 1, &present), 6.875);
    assert_int_equal(present, 3);
    /* geometric: exp((0.3 log 10 + 0.25 log 10) / 0.8) = 10^0.6875 */
    NEAR(cr_score_cell(CR_METHOD_GEOMETRIC, c, w, 1, NULL), 10 * (pow(10, 0.6875) - 1) / 9);
    /* inform with one hazard: H = 1 - (10 - 9 * 1 - 1) / 9 = 1, S = 10 */
    NEAR(cr_score_cell(CR_METHOD_INFORM, c, w, 1, &present), 0); /* informal is 0 */
    double d[] = {1, NAN, 1, 1};
    NEAR(cr_score_cell(CR_METHOD_INFORM, d, w, 1, &present), 10);
    double e[] = {1, 0, NAN, 1};
    assert_true(isnan(cr_score_cell(CR_METHOD_INFORM, e, w, 1, &present))); /* never imputed */
    /* No sea depth: the sea or beyond the DEM, not scored even when renormalising. */
    double sea_cell[] = {NAN, 0.5, 0.5, 0.5};
    for (int m = CR_METHOD_GEOMETRIC; m <= CR_METHOD_INFORM; m++)
        assert_true(isnan(cr_score_cell((cr_score_method)m, sea_cell, w, 1, &present)));
}

/* Aqueduct: r = 0.1 is score 1, 0.4 is 3, 0.8 is 4, 1.6 and above 5, 0.05 and below 0. */
static void water_ratio_round_trip(void **state)
{
    (void)state;
    NEAR(cr_water_score_from_ratio(0.1), 1);
    NEAR(cr_water_score_from_ratio(0.4), 3);
    NEAR(cr_water_score_from_ratio(0.8), 4);
    NEAR(cr_water_score_from_ratio(3.2), 5);
    NEAR(cr_water_score_from_ratio(0.05), 0);
    NEAR(cr_water_score_from_ratio(0), 0);
    NEAR(cr_water_ratio_from_score(3), 0.4);
    for (double s = 0; s <= 5; s += 0.25)
        NEAR(cr_water_score_from_ratio(cr_water_ratio_from_score(s)), s);
}

/* Score 3 is r = 0.4; 50 arrivals among 100 residents with all demand scaling:
 * r' = 0.4 * 1.5 = 0.6, score' = log2(6) + 1, uplift log2(6) - 2 = 0.58496...; half the
 * demand scaling: r' = 0.5, uplift log2(5) - 2. */
static void water_uplift_by_hand(void **state)
{
    (void)state;
    NEAR(cr_water_uplift(3, 50, 100, 1.0), log2(6) - 2);
    NEAR(cr_water_uplift(3, 50, 100, 0.5), log2(5) - 2);
    NEAR(cr_water_uplift(3, 0, 100, 1.0), 0);
    NEAR(cr_water_uplift(3, 5, 0, 1.0), 2);      /* no residents: saturates at 5 */
    NEAR(cr_water_uplift(4.9, 500, 10, 1.0), 0.1); /* clamped at 5 */
    assert_true(isnan(cr_water_uplift(NAN, 1, 1, 1)));
}

/* Each layer's normalisation, and the tolerance band where values are clamped. */
static void indicators_normalise_and_refuse(void **state)
{
    (void)state;
    cr_normalise_opts o;
    cr_normalise_opts_init(&o);
    o.arrivals_ref = 99;
    double c = -1;
    assert_int_equal(cr_indicator_normalise(CR_IND_SEA, &o, 0.25, &c), CR_NORM_OK);
    NEAR(c, 0.25);
    assert_int_equal(cr_indicator_normalise(CR_IND_SEA, &o, 3, &c), CR_NORM_OK);
    NEAR(c, 1);
    assert_int_equal(cr_indicator_normalise(CR_IND_WATER, &o, 4, &c), CR_NORM_OK);
    NEAR(c, 0.8);
    assert_int_equal(cr_indicator_normalise(CR_IND_WATER, &o, 5.005, &c), CR_NORM_CLAMPED);
    NEAR(c, 1);
    assert_int_equal(cr_indicator_normalise(CR_IND_WATER, &o, 7, &c), CR_NORM_OUT_OF_RANGE);
    assert_int_equal(cr_indicator_normalise(CR_IND_INFORMAL, &o, 1.8, &c), CR_NORM_OUT_OF_RANGE);
    assert_int_equal(cr_indicator_normalise(CR_IND_INFORMAL, &o, -0.005, &c), CR_NORM_CLAMPED);
    NEAR(c, 0);
    /* log1p(a) / log1p(99) with a = 9: log(10) / log(100) = 0.5 */
    assert_int_equal(cr_indicator_normalise(CR_IND_ARRIVALS, &o, 9, &c), CR_NORM_OK);
    NEAR(c, 0.5);
    assert_int_equal(cr_indicator_normalise(CR_IND_ARRIVALS, &o, 1000, &c), CR_NORM_OK);
    NEAR(c, 1);
    assert_int_equal(cr_indicator_normalise(CR_IND_ARRIVALS, &o, -1, &c), CR_NORM_OUT_OF_RANGE);
    o.arrivals_linear = 1;
    assert_int_equal(cr_indicator_normalise(CR_IND_ARRIVALS, &o, 33, &c), CR_NORM_OK);
    NEAR(c, 1.0 / 3);
    o.sea_binary = 1;
    assert_int_equal(cr_indicator_normalise(CR_IND_SEA, &o, 0.01, &c), CR_NORM_OK);
    NEAR(c, 1);
    o.water_ratio = 1; /* r = 0.4 is score 3 */
    assert_int_equal(cr_indicator_normalise(CR_IND_WATER, &o, 0.4, &c), CR_NORM_OK);
    NEAR(c, 0.6);
    o.settlement = CR_SETTLEMENT_PERCENT;
    assert_int_equal(cr_indicator_normalise(CR_IND_INFORMAL, &o, 40, &c), CR_NORM_OK);
    NEAR(c, 0.4);
    o.settlement = CR_SETTLEMENT_BINARY;
    assert_int_equal(cr_indicator_normalise(CR_IND_INFORMAL, &o, 40, &c), CR_NORM_OK);
    NEAR(c, 1);
}

/* Exact quantiles in two passes, against values known by hand: 1..100 (numpy's linear
 * method: the 0.99 quantile is 99.01, the median 50.5) and values that share a high
 * half (1.0 and the floats just above it). */
static void radix_quantile_is_exact(void **state)
{
    (void)state;
    cr_radix_quantile r;
    assert_true(cr_radix_quantile_init(&r, 0.99));
    assert_true(cr_radix_quantile_wants(&r, 0, 0)); /* pass 1 counts everything */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 100; i >= 1; i--) /* any order */
            cr_radix_quantile_add(&r, (float)i);
        if (pass == 0)
            assert_int_equal(cr_radix_quantile_next_pass(&r), 100);
    }
    NEAR(cr_radix_quantile_value(&r), 99.01);
    /* Pass 2 counts the buckets of 99 and 100 only: values 1..50 cannot matter. */
    assert_false(cr_radix_quantile_wants(&r, 1, 50));
    assert_true(cr_radix_quantile_wants(&r, 1, 99));
    assert_true(cr_radix_quantile_wants(&r, 100, 1000));
    cr_radix_quantile_free(&r);
    assert_true(cr_radix_quantile_init(&r, 0.5));
    float close[4] = {1.0f, nextafterf(1.0f, 2), nextafterf(nextafterf(1.0f, 2), 2), 0.0f};
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 4; i++)
            cr_radix_quantile_add(&r, close[i]);
        if (pass == 0)
            cr_radix_quantile_next_pass(&r);
    }
    /* sorted: 0, 1, 1+e, 1+2e; the median is halfway between 1 and 1+e */
    NEAR(cr_radix_quantile_value(&r), (1.0 + (double)close[1]) / 2);
    cr_radix_quantile_free(&r);
    assert_true(cr_radix_quantile_init(&r, 0.99));
    cr_radix_quantile_next_pass(&r);
    assert_true(isnan(cr_radix_quantile_value(&r)));
    cr_radix_quantile_free(&r);
}

/* The block loops agree with the per-cell functions and stop at the first value
 * beyond tolerance. */
static void blocks_match_cells(void **state)
{
    (void)state;
    cr_normalise_opts o;
    cr_normalise_opts_init(&o);
    o.arrivals_ref = 9; /* log1p(9) = log(10) */
    const float scores[] = {0, 2.5f, 5, 5.004f, NAN, -0.005f};
    float out[6];
    int64_t clamped = 0;
    assert_int_equal(cr_indicator_normalise_block(CR_IND_WATER, &o, scores, 6, out, &clamped), 6);
    assert_int_equal(clamped, 2); /* 5.004 and -0.005: within 0.01 of 0-5 */
    NEAR(out[0], 0);
    NEAR(out[1], 0.5);
    NEAR(out[2], 1);
    NEAR(out[3], 1);
    assert_true(isnan(out[4]));
    NEAR(out[5], 0);
    const float bad[] = {1, 7, 9};
    clamped = 0;
    assert_int_equal(cr_indicator_normalise_block(CR_IND_WATER, &o, bad, 3, out, &clamped), 1);
    const float arrivals[] = {0, 9, 99, 4};
    assert_int_equal(cr_indicator_normalise_block(CR_IND_ARRIVALS, &o, arrivals, 4, out, &clamped), 4);
    NEAR(out[0], 0);
    assert_true(fabs(out[1] - 1) < 1e-6);
    NEAR(out[2], 1); /* above a_ref: 1 */
    assert_true(fabs(out[3] - log(5) / log(10)) < 1e-6);
    for (int i = 0; i < 4; i++) {
        double one;
        assert_int_equal(cr_indicator_normalise(CR_IND_ARRIVALS, &o, arrivals[i], &one), CR_NORM_OK);
        assert_true(fabs(one - out[i]) < 1e-6);
    }

    /* Scores: the geometric mean of (1, 1, 1, 1) is 10, of zeros 0; a NaN makes nodata. */
    const float sea[] = {1, 0, NAN}, water[] = {1, 0, 1}, rest[] = {1, 0, 0};
    const float *c[CR_INDICATORS] = {sea, water, rest, rest};
    double w[CR_INDICATORS];
    cr_weights_default(w);
    float score[3], present[3];
    cr_score_block(CR_METHOD_GEOMETRIC, c, 3, w, 0, score, present);
    assert_true(fabs(score[0] - 10) < 1e-5);
    NEAR(score[1], 0);
    assert_true(isnan(score[2]) && isnan(present[2]));
    NEAR(present[0], 4);
    cr_score_block(CR_METHOD_ARITHMETIC, c, 3, w, 1, score, present);
    /* cell 2 misses sea: the sea itself or beyond the DEM, never scored (issue 18, point 8) */
    assert_true(isnan(score[2]) && isnan(present[2]));
    /* cell 1 misses water: sea's weight 0.3 of the 0.8 left */
    const float sea2[] = {1, 1, 1}, water2[] = {1, NAN, 1};
    const float *c2[CR_INDICATORS] = {sea2, water2, rest, rest};
    cr_score_block(CR_METHOD_ARITHMETIC, c2, 3, w, 1, score, present);
    assert_true(fabs(score[1] - 10 * 0.3 / 0.8) < 1e-5);
    NEAR(present[1], 3);

    /* Population: small negatives clamp, larger ones stop. */
    float pop[] = {5, -0.0005f, NAN, -2};
    clamped = 0;
    assert_int_equal(cr_input_check_block(CR_INPUT_POPULATION, NULL, pop, 4, &clamped), 3);
    assert_int_equal(clamped, 1);
    NEAR(pop[1], 0);

    /* Uplift: score 3 (r = 0.4), a = p doubles the demand: 1 point; ratio input alike. */
    const float b[] = {3, 3, NAN}, r[] = {0.4f, 0.4f, 1}, a[] = {100, 0, 1}, p[] = {100, 100, 1};
    float up[3];
    cr_uplift_block(b, 0, a, p, 3, 1.0, up);
    assert_true(fabs(up[0] - 1) < 1e-6);
    NEAR(up[1], 0);
    assert_true(isnan(up[2]));
    cr_uplift_block(r, 1, a, p, 2, 1.0, up);
    assert_true(fabs(up[0] - 1) < 1e-5);
}

static void bands_parse(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    unsigned bands = 0;
    assert_int_equal(cr_score_bands_parse(ctx, "score,class", &bands), CR_OK);
    assert_int_equal(bands, (1u << CR_BAND_SCORE) | (1u << CR_BAND_CLASS));
    assert_int_equal(cr_score_bands_parse(ctx, "water_uplift", &bands), CR_OK);
    assert_int_equal(bands, 1u << CR_BAND_WATER_UPLIFT);
    const char *bad[] = {"", "score,", "scores", "score,score", ",class"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cr_score_bands_parse(ctx, bad[i], &bands), CR_E_USAGE);
    assert_string_equal(cr_score_band_name(CR_BAND_INDICATORS_PRESENT), "indicators_present");
    cr_ctx_free(ctx);
}

/* A 600 x 520 grid of 10 m cells (2 x 2 blocks, tile 2/4 the window 512,0,88,512): depths of
 * 1 m, water scores 5, no arrivals, and the informal fraction column / 1000, scored with the
 * informal weight alone (arithmetic): S = 10 c = column / 100. */
static cr_status score_tile(cr_ctx *ctx, const char *dir, const char *out, int index,
                            cr_class_kind classes, cr_score_summary *s)
{
    enum { W = 600, H = 520 };
    static float layer[W * H];
    const char *names[] = {"sea.tif", "water.tif", "informal.tif", "arrivals.tif"};
    char *paths[4];
    for (int k = 0; k < 4; k++) {
        for (int i = 0; i < W * H; i++)
            layer[i] = k == 0 ? 1.0f : k == 1 ? 5.0f : k == 2 ? (float)(i % W) / 1000 : 0.0f;
        paths[k] = tu_path(dir, names[k]);
        tu_write_raster(paths[k], 32736, 500000, 8000000, 10, W, H, layer, 1, -9999);
    }
    cr_score_opts o;
    cr_score_opts_init(&o);
    o.sea_path = paths[0], o.water_path = paths[1], o.informal_path = paths[2];
    o.arrivals_path = paths[3];
    o.method = CR_METHOD_ARITHMETIC;
    o.weights[CR_IND_SEA] = o.weights[CR_IND_WATER] = o.weights[CR_IND_ARRIVALS] = 0;
    o.weights[CR_IND_INFORMAL] = 1;
    o.arrivals_ref_auto = 0;
    o.normalise.arrivals_ref = 1;
    if (classes == CR_CLASSES_QUANTILE)
        o.classes.kind = classes, o.classes.count = 5;
    o.tile = (cr_tile_spec){.index = index, .count = 4};
    cr_status st = cr_score(ctx, out, &o, s);
    for (int k = 0; k < 4; k++)
        free(paths[k]);
    return st;
}

static void a_tile_scores_its_window(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), *out = tu_path(dir, "tile.tif");
    cr_ctx *ctx = cr_ctx_new();
    cr_score_summary s;
    assert_int_equal(score_tile(ctx, dir, out, 2, CR_CLASSES_FIXED_DEFAULT, &s), CR_OK);
    assert_true(s.window.x == 512 && s.window.y == 0 && s.window.w == 88 && s.window.h == 512);
    assert_true(s.full_width == 600 && s.full_height == 520);
    assert_true(s.cells == 88 * 512 && s.cells_scored == 88 * 512);
    assert_true(s.grid->width == 88 && s.grid->gt[0] == 500000 + 5120);
    assert_true(fabs(s.score_min - 5.12) < 1e-5 && fabs(s.score_max - 5.99) < 1e-5); /* Float32 */
    cr_score_summary_clear(&s);
    GDALDatasetH ds = GDALOpen(out, GA_ReadOnly);
    assert_non_null(ds);
    assert_string_equal(GDALGetMetadataItem(ds, "CITYRISK_WINDOW", NULL), "512,0,88,512");
    assert_null(GDALGetMetadataItem(ds, "CITYRISK_STATISTICS", NULL));
    float cells[2][2]; /* score and class of tile cells (0, 7) and (87, 7) */
    for (int b = 0; b < 2; b++) {
        GDALRasterBandH band = GDALGetRasterBand(ds, b + 1);
        assert_int_equal(GDALRasterIO(band, GF_Read, 0, 7, 1, 1, &cells[b][0], 1, 1, GDT_Float32, 0, 0), CE_None);
        assert_int_equal(GDALRasterIO(band, GF_Read, 87, 7, 1, 1, &cells[b][1], 1, 1, GDT_Float32, 0, 0), CE_None);
    }
    GDALClose(ds);
    assert_true(fabs(cells[0][0] - 5.12) < 1e-5 && fabs(cells[0][1] - 5.99) < 1e-5);
    assert_true(cells[1][0] == 4 && cells[1][1] == 4); /* High: 5 <= S < 6.5 */
    /* Breaks from the data need every cell: refused before anything is written. */
    char *refused = tu_path(dir, "q.tif");
    assert_int_equal(score_tile(ctx, dir, refused, 1, CR_CLASSES_QUANTILE, &s), CR_E_USAGE);
    free(refused);
    assert_non_null(strstr(cr_ctx_error(ctx), "--classes quantile:5 with --tile"));
    assert_int_equal(tu_count_entries(dir), 5);
    cr_ctx_free(ctx);
    free(out);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(weights_parse_and_normalise),
        cmocka_unit_test(geometric_by_hand),
        cmocka_unit_test(arithmetic_by_hand),
        cmocka_unit_test(inform_by_hand),
        cmocka_unit_test(renormalise_with_a_missing_layer),
        cmocka_unit_test(water_ratio_round_trip),
        cmocka_unit_test(water_uplift_by_hand),
        cmocka_unit_test(indicators_normalise_and_refuse),
        cmocka_unit_test(radix_quantile_is_exact),
        cmocka_unit_test(blocks_match_cells),
        cmocka_unit_test(bands_parse),
        cmocka_unit_test(a_tile_scores_its_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
