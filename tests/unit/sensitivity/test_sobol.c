/* test_sobol.c: the Sobol' sequence against published points, its net property when
 * scrambled, Saltelli's design, and the indices of models whose indices are known
 * analytically (Ishigami, linear, a dummy factor, a constant). */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cityrisk/sobol.h"

#define PI 3.14159265358979323846

/* ------------------------------------------------------------------------------------ */
/* The sequence */

/* The first 8 unscrambled points of dimensions 1-3, as published (Joe & Kuo's
 * direction numbers; scipy 1.10.1 stats.qmc.Sobol(d=3, scramble=False).random(8) gives
 * the same): each is a binary fraction, so the comparison is exact. */
static void unscrambled_first_points(void **state)
{
    (void)state;
    static const double expect[8][3] = {
        {0, 0, 0},           {0.5, 0.5, 0.5},     {0.75, 0.25, 0.25},  {0.25, 0.75, 0.75},
        {0.375, 0.375, 0.625}, {0.875, 0.875, 0.125}, {0.625, 0.125, 0.875}, {0.125, 0.625, 0.375},
    };
    cr_sobol *s = cr_sobol_new(3, 0);
    assert_non_null(s);
    for (int k = 0; k < 8; k++) {
        double p[3];
        cr_sobol_next(s, p);
        for (int d = 0; d < 3; d++)
            assert_true(p[d] == expect[k][d]);
    }
    cr_sobol_free(s);
}

/* Points 1000 and 4095 (0-based) of all 64 dimensions, times 2^30, from scipy 1.10.1
 * stats.qmc.Sobol(d=64, scramble=False).random(4096) (30-bit direction numbers: below
 * 2^30 points they give the same fractions as 32-bit ones). Every dimension's direction
 * numbers, and the recurrence beyond the initial ones, take part. */
static const long long point_1000[64] = {
    235929600, 103809024, 556793856, 726663168, 300941312, 974127104, 49283072, 965738496,
    537919488, 74448896, 91226112, 273678336, 173015040, 412090368, 154140672, 397410304,
    772800512, 370147328, 1064304640, 779091968, 560988160, 590348288, 1020264448, 579862528,
    625999872, 974127104, 42991616, 1051721728, 63963136, 365953024, 158334976, 156237824,
    317718528, 636485632, 860880896, 827326464, 911212544, 892338176, 330301440, 514850816,
    980418560, 273678336, 1030750208, 753926144, 902823936, 99614720, 936378368, 986710016,
    1072693248, 514850816, 378535936, 554696704, 808452096, 470810624, 135266304, 957349888,
    487587840, 84934656, 948961280, 613416960, 479199232, 646971392, 277872640, 479199232};
static const long long point_4095[64] = {
    262144, 1010565120, 358875136, 968097792, 1009516544, 84672512, 1019478016, 419692544,
    205783040, 264503296, 611581952, 345243648, 396099584, 558104576, 591659008, 447479808,
    66846720, 654049280, 873201664, 559677440, 242483200, 786169856, 727973888, 478412800,
    196870144, 572260352, 406585344, 30670848, 1003225088, 918290432, 388235264, 94109696,
    816578560, 282329088, 1023148032, 188481536, 623116288, 352059392, 177995776, 244056064,
    215744512, 11272192, 719060992, 726925312, 718536704, 1044119552, 751042560, 21233664,
    1028390912, 652476416, 499384320, 39583744, 730595328, 1066663936, 59506688, 155451392,
    751042560, 566493184, 687079424, 611581952, 318504960, 413401088, 737411072, 594280448};

static void unscrambled_all_dimensions(void **state)
{
    (void)state;
    cr_sobol *s = cr_sobol_new(CR_SOBOL_MAX_DIMS, 0);
    assert_non_null(s);
    double p[CR_SOBOL_MAX_DIMS];
    for (int k = 0; k <= 4095; k++) {
        cr_sobol_next(s, p);
        const long long *expect = k == 1000 ? point_1000 : k == 4095 ? point_4095 : NULL;
        for (int d = 0; expect && d < CR_SOBOL_MAX_DIMS; d++)
            assert_true(p[d] == (double)expect[d] / 1073741824.0);
    }
    cr_sobol_free(s);
}

static void out_of_range_dimensions(void **state)
{
    (void)state;
    assert_null(cr_sobol_new(0, 0));
    assert_null(cr_sobol_new(CR_SOBOL_MAX_DIMS + 1, 1));
    cr_sobol_free(NULL);
}

/* Each power-of-two prefix of the sequence, 2^m points, puts exactly one point in each
 * interval [i / 2^m, (i + 1) / 2^m) of every dimension (the 1-D projections are
 * (0, m, 1)-nets); a linear matrix scramble with a digital shift keeps this. Checked for
 * m = 0 .. 12 in all 64 dimensions, unscrambled and with three seeds. */
static void scrambled_is_a_net_in_each_dimension(void **state)
{
    (void)state;
    enum { M = 12, N = 1 << M };
    const uint64_t seeds[] = {0, 1, 42, UINT64_MAX};
    double *pts = malloc((size_t)N * CR_SOBOL_MAX_DIMS * sizeof *pts);
    unsigned char *seen = malloc(N);
    assert_non_null(pts);
    assert_non_null(seen);
    for (size_t t = 0; t < sizeof seeds / sizeof seeds[0]; t++) {
        cr_sobol *s = cr_sobol_new(CR_SOBOL_MAX_DIMS, seeds[t]);
        assert_non_null(s);
        for (int k = 0; k < N; k++)
            cr_sobol_next(s, pts + (size_t)k * CR_SOBOL_MAX_DIMS);
        cr_sobol_free(s);
        for (int m = 0; m <= M; m++) {
            int count = 1 << m;
            for (int d = 0; d < CR_SOBOL_MAX_DIMS; d++) {
                memset(seen, 0, (size_t)count);
                for (int k = 0; k < count; k++) {
                    double x = pts[(size_t)k * CR_SOBOL_MAX_DIMS + d];
                    assert_true(x >= 0 && x < 1);
                    int cell = (int)(x * count);
                    assert_int_equal(seen[cell], 0);
                    seen[cell] = 1;
                }
            }
        }
    }
    free(seen);
    free(pts);
}

/* A seed gives the same points every time; another seed other points, and a scrambled
 * sequence does not start at the origin. */
static void seeds_reproduce_and_differ(void **state)
{
    (void)state;
    enum { K = 64, D = 10 };
    double a[K][D], b[K][D], c[K][D];
    cr_sobol *sa = cr_sobol_new(D, 12345), *sb = cr_sobol_new(D, 12345);
    cr_sobol *sc = cr_sobol_new(D, 12346);
    for (int k = 0; k < K; k++) {
        cr_sobol_next(sa, a[k]);
        cr_sobol_next(sb, b[k]);
        cr_sobol_next(sc, c[k]);
    }
    assert_memory_equal(a, b, sizeof a);
    int same = 0, origin = 0;
    for (int k = 0; k < K; k++)
        for (int d = 0; d < D; d++) {
            same += a[k][d] == c[k][d];
            origin += k == 0 && a[0][d] == 0;
        }
    assert_true(same < K * D / 100);
    assert_int_equal(origin, 0);
    cr_sobol_free(sa);
    cr_sobol_free(sb);
    cr_sobol_free(sc);
    /* The same scramble on every machine, as documented in sobol.c: the first 4 points of
     * seed 12345 in 2 dimensions, computed by a separate Python transcription of that
     * description (splitmix64 from 12345; per dimension 32 rows of the lower-triangular
     * matrix, 32 bits each from the high half of a draw, then the shift likewise; point k
     * = XOR of the scrambled direction numbers of the bits of k ^ (k >> 1), XOR shift). */
    static const double scrambled[4][2] = {{0.8175560676027089, 0.2619384820573032},
                                           {0.347743674647063, 0.5031168605200946},
                                           {0.1127023093868047, 0.11086882371455431},
                                           {0.58039754582569, 0.8735926421359181}};
    cr_sobol *s = cr_sobol_new(2, 12345);
    for (int k = 0; k < 4; k++) {
        double p[2];
        cr_sobol_next(s, p);
        assert_true(p[0] == scrambled[k][0] && p[1] == scrambled[k][1]);
    }
    cr_sobol_free(s);
}

/* ------------------------------------------------------------------------------------ */
/* The design */

/* n = 2, d = 1, unscrambled: the base samples are points 1 and 2 of the 2-D sequence,
 * (0.5, 0.5) and (0.75, 0.25), so the rows are A 0.5, B 0.5, AB 0.5, then A 0.75,
 * B 0.25, AB 0.25. For d = 3 each AB^i row is A with column i from B. */
static void design_by_hand(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    double *rows = NULL;
    assert_int_equal(cr_saltelli_runs(2, 1), 6);
    assert_int_equal(cr_saltelli_design(ctx, 2, 1, 0, &rows), CR_OK);
    const double expect[6] = {0.5, 0.5, 0.5, 0.75, 0.25, 0.25};
    for (int k = 0; k < 6; k++)
        assert_true(rows[k] == expect[k]);
    free(rows);

    /* d = 3: base sample 1 is point 2 of the 6-D sequence; its dimensions 1-3 are
     * (0.75, 0.25, 0.25) above, and 4-6 are (0.25, 0.75, 0.75) (scipy's Sobol(d=6,
     * scramble=False), row 2). */
    assert_int_equal(cr_saltelli_runs(4, 3), 20);
    assert_int_equal(cr_saltelli_design(ctx, 4, 3, 0, &rows), CR_OK);
    const double *s1 = rows + 5 * 3; /* base sample 1 (0-based) */
    const double a[3] = {0.75, 0.25, 0.25}, b[3] = {0.25, 0.75, 0.75};
    for (int c = 0; c < 3; c++) {
        assert_true(s1[c] == a[c]);
        assert_true(s1[3 + c] == b[c]);
        for (int i = 0; i < 3; i++)
            assert_true(s1[(2 + i) * 3 + c] == (c == i ? b[c] : a[c]));
    }
    free(rows);

    /* Scrambled: every value in [0, 1), the same design for the same seed. */
    double *again = NULL;
    assert_int_equal(cr_saltelli_design(ctx, 64, 5, 9, &rows), CR_OK);
    assert_int_equal(cr_saltelli_design(ctx, 64, 5, 9, &again), CR_OK);
    assert_memory_equal(rows, again, (size_t)cr_saltelli_runs(64, 5) * 5 * sizeof *rows);
    for (int64_t k = 0; k < cr_saltelli_runs(64, 5) * 5; k++)
        assert_true(rows[k] >= 0 && rows[k] < 1);
    free(rows);
    free(again);
    cr_ctx_free(ctx);
}

static void bad_sizes_are_usage_errors(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    double *rows = (double *)ctx;
    assert_int_equal(cr_saltelli_design(ctx, 1, 3, 0, &rows), CR_E_USAGE);
    assert_null(rows);
    assert_non_null(strstr(cr_ctx_error(ctx), "base samples"));
    assert_int_equal(cr_saltelli_design(ctx, 10, 0, 0, &rows), CR_E_USAGE);
    assert_int_equal(cr_saltelli_design(ctx, 10, CR_SOBOL_MAX_FACTORS + 1, 0, &rows), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(ctx), "factors"));
    assert_int_equal(cr_saltelli_runs(1, 3), 0);
    assert_int_equal(cr_saltelli_runs(10, 0), 0);
    assert_int_equal(cr_saltelli_runs(INT32_MAX, CR_SOBOL_MAX_FACTORS),
                     (int64_t)INT32_MAX * (CR_SOBOL_MAX_FACTORS + 2));

    double y[3 * 5] = {0};
    cr_sobol_index out[3];
    assert_int_equal(cr_sobol_indices(ctx, y, 1, 3, NULL, out), CR_E_USAGE);
    assert_int_equal(cr_sobol_indices(ctx, y, 3, 0, NULL, out), CR_E_USAGE);
    assert_int_equal(cr_sobol_indices(ctx, y, 3, CR_SOBOL_MAX_FACTORS + 1, NULL, out), CR_E_USAGE);
    cr_sobol_indices_opts o;
    cr_sobol_indices_opts_init(&o);
    assert_int_equal(o.bootstrap, 0);
    assert_true(o.confidence == 0.95);
    assert_true(o.seed == 1);
    o.confidence = 1;
    assert_int_equal(cr_sobol_indices(ctx, y, 3, 3, &o, out), CR_E_USAGE);
    o.confidence = NAN;
    assert_int_equal(cr_sobol_indices(ctx, y, 3, 3, &o, out), CR_E_USAGE);
    o.confidence = 0.9;
    o.bootstrap = -1;
    assert_int_equal(cr_sobol_indices(ctx, y, 3, 3, &o, out), CR_E_USAGE);
    cr_ctx_free(ctx);
}

/* ------------------------------------------------------------------------------------ */
/* The indices of known models */

/* The estimators worked by hand on n = 2, d = 1, rows (A, B, AB^1) = (1, 3, 3), (2, 0, 0):
 * f0 = (1 + 3 + 2 + 0) / 4 = 1.5; V = (0.25 + 2.25 + 0.25 + 2.25) / 3 = 5/3 (the sample
 * variance of the 4 A and B outputs); S_1 = mean((B - f0)(AB - A)) / V = mean(1.5 * 2,
 * -1.5 * -2) / V = 3 / (5/3) = 1.8 (an estimate, not bounded by 1); S_T1 =
 * mean((A - AB)^2) / (2 V) = 4 / (10/3) = 1.2. */
static void estimators_by_hand(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    const double y[6] = {1, 3, 3, 2, 0, 0};
    cr_sobol_index out[1];
    assert_int_equal(cr_sobol_indices(ctx, y, 2, 1, NULL, out), CR_OK);
    assert_true(fabs(out[0].first - 1.8) < 1e-12);
    assert_true(fabs(out[0].total - 1.2) < 1e-12);
    cr_ctx_free(ctx);
}

typedef double (*model_fn)(const double *u, int d, const double *param);

/* Runs the model on every row of the design of n base samples and d factors (seed) and
 * estimates the indices into out. */
static void run_model(int n, int d, uint64_t seed, model_fn f, const double *param,
                      const cr_sobol_indices_opts *opts, cr_sobol_index *out)
{
    cr_ctx *ctx = cr_ctx_new();
    double *rows = NULL;
    assert_int_equal(cr_saltelli_design(ctx, n, d, seed, &rows), CR_OK);
    int64_t runs = cr_saltelli_runs(n, d);
    double *y = malloc((size_t)runs * sizeof *y);
    assert_non_null(y);
    for (int64_t r = 0; r < runs; r++)
        y[r] = f(rows + r * d, d, param);
    assert_int_equal(cr_sobol_indices(ctx, y, n, d, opts, out), CR_OK);
    free(y);
    free(rows);
    cr_ctx_free(ctx);
}

/* Ishigami & Homma (1990): Y = sin x1 + a sin^2 x2 + b x3^4 sin x1, x_i uniform on
 * [-pi, pi], here a = 7, b = 0.1. Its variance parts (Sobol' & Levitan 1999; Saltelli et
 * al. 2008, "Global sensitivity analysis: the primer", 4.2):
 *     V1  = (1 + b pi^4 / 5)^2 / 2                  = 4.345888
 *     V2  = a^2 / 8                                 = 6.125
 *     V3  = 0,  V12 = V23 = 0
 *     V13 = b^2 pi^8 (1/18 - 1/50) = 8 b^2 pi^8 / 225 = 3.373700
 *     V   = a^2 / 8 + b pi^4 / 5 + b^2 pi^8 / 18 + 1/2 = 13.844588 (= V1 + V2 + V13)
 * so S1 = V1 / V = 0.3139, S2 = V2 / V = 0.4424, S3 = 0, ST1 = (V1 + V13) / V = 0.5576,
 * ST2 = 0.4424, ST3 = V13 / V = 0.2437. */
static double ishigami(const double *u, int d, const double *param)
{
    (void)d;
    (void)param;
    double x1 = -PI + 2 * PI * u[0], x2 = -PI + 2 * PI * u[1], x3 = -PI + 2 * PI * u[2];
    double s2 = sin(x2);
    return sin(x1) + 7 * s2 * s2 + 0.1 * x3 * x3 * x3 * x3 * sin(x1);
}

/* At N = 2^13 = 8192 base samples (40,960 runs) every index is within 0.02 of its
 * analytic value, for each of four seeds. */
static void ishigami_analytic(void **state)
{
    (void)state;
    const double V = 49.0 / 8 + 0.1 * pow(PI, 4) / 5 + 0.01 * pow(PI, 8) / 18 + 0.5;
    const double V1 = 0.5 * pow(1 + 0.1 * pow(PI, 4) / 5, 2), V2 = 49.0 / 8;
    const double V13 = 8 * 0.01 * pow(PI, 8) / 225;
    const double first[3] = {V1 / V, V2 / V, 0}, total[3] = {(V1 + V13) / V, V2 / V, V13 / V};
    assert_true(fabs(first[0] - 0.3139) < 1e-4 && fabs(first[1] - 0.4424) < 1e-4);
    assert_true(fabs(total[0] - 0.5576) < 1e-4 && fabs(total[2] - 0.2437) < 1e-4);
    const uint64_t seeds[] = {1, 2, 3, 20};
    double worst = 0;
    for (size_t t = 0; t < sizeof seeds / sizeof seeds[0]; t++) {
        cr_sobol_index out[3];
        run_model(8192, 3, seeds[t], ishigami, NULL, NULL, out);
        for (int i = 0; i < 3; i++) {
            worst = fmax(worst, fabs(out[i].first - first[i]));
            worst = fmax(worst, fabs(out[i].total - total[i]));
            assert_true(fabs(out[i].first - first[i]) < 0.02);
            assert_true(fabs(out[i].total - total[i]) < 0.02);
            assert_true(isnan(out[i].first_lo) && isnan(out[i].total_hi));
        }
    }
    print_message("ishigami N = 8192: largest error %.4f\n", worst);
}

/* y = sum a_i x_i with x_i uniform on [0, 1): additive, so S_i = S_Ti = a_i^2 Var(x) /
 * sum_k a_k^2 Var(x) = a_i^2 / sum a^2. Here a = (1, 2, 3, 4): 1/30, 4/30, 9/30, 16/30. */
static double linear(const double *u, int d, const double *a)
{
    double y = 0;
    for (int i = 0; i < d; i++)
        y += a[i] * u[i];
    return y;
}

static const double linear_a[4] = {1, 2, 3, 4};

/* At N = 4096 each index is within 0.01 of a_i^2 / 30. An offset of the outputs changes
 * nothing (the outputs are centred). */
static void linear_analytic(void **state)
{
    (void)state;
    cr_sobol_index out[4];
    run_model(4096, 4, 5, linear, linear_a, NULL, out);
    for (int i = 0; i < 4; i++) {
        double s = linear_a[i] * linear_a[i] / 30;
        assert_true(fabs(out[i].first - s) < 0.01);
        assert_true(fabs(out[i].total - s) < 0.01);
    }
}

/* Factor 2 of 3 is a dummy: f(AB^2) = f(A) on every row, so S_2 = S_T2 = 0 exactly; the
 * other two share the variance (y = x1 + x3^2: S1 = ST1 = (1/12) / (1/12 + 4/45)). */
static double dummy_model(const double *u, int d, const double *param)
{
    (void)d;
    (void)param;
    return u[0] + u[2] * u[2];
}

static void dummy_factor(void **state)
{
    (void)state;
    cr_sobol_index out[3];
    run_model(4096, 3, 11, dummy_model, NULL, NULL, out);
    assert_true(fabs(out[1].first) < 1e-12);
    assert_true(fabs(out[1].total) < 1e-12);
    /* Var(x^2) for x uniform on [0, 1) = 1/5 - 1/9 = 4/45. */
    double s1 = (1.0 / 12) / (1.0 / 12 + 4.0 / 45);
    assert_true(fabs(out[0].first - s1) < 0.01 && fabs(out[0].total - s1) < 0.01);
    assert_true(fabs(out[2].first - (1 - s1)) < 0.01 && fabs(out[2].total - (1 - s1)) < 0.01);
}

/* B = 1000 resamples, 95 %: the intervals of the linear model hold the analytic values
 * at N = 256 and N = 4096, hold their own estimate, are narrower at the larger N, and
 * are the same for the same opts.seed. */
static void bootstrap_intervals(void **state)
{
    (void)state;
    cr_sobol_indices_opts o;
    cr_sobol_indices_opts_init(&o);
    o.bootstrap = 1000;
    cr_sobol_index small[4], large[4], again[4];
    run_model(256, 4, 3, linear, linear_a, &o, small);
    run_model(4096, 4, 3, linear, linear_a, &o, large);
    run_model(4096, 4, 3, linear, linear_a, &o, again);
    assert_memory_equal(large, again, sizeof large);
    for (int i = 0; i < 4; i++) {
        double s = linear_a[i] * linear_a[i] / 30;
        const cr_sobol_index *r[2] = {&small[i], &large[i]};
        for (int k = 0; k < 2; k++) {
            assert_true(r[k]->first_lo <= s && s <= r[k]->first_hi);
            assert_true(r[k]->total_lo <= s && s <= r[k]->total_hi);
            assert_true(r[k]->first_lo <= r[k]->first && r[k]->first <= r[k]->first_hi);
            assert_true(r[k]->total_lo <= r[k]->total && r[k]->total <= r[k]->total_hi);
        }
        assert_true(large[i].first_hi - large[i].first_lo < small[i].first_hi - small[i].first_lo);
        assert_true(large[i].total_hi - large[i].total_lo < small[i].total_hi - small[i].total_lo);
    }
    print_message("linear S4 = 16/30 = %.4f: N = 256 [%.4f, %.4f], N = 4096 [%.4f, %.4f]\n",
                  16.0 / 30, small[3].first_lo, small[3].first_hi, large[3].first_lo,
                  large[3].first_hi);
    /* Another resampling seed, other intervals. */
    o.seed = 2;
    run_model(4096, 4, 3, linear, linear_a, &o, again);
    assert_true(again[0].first_lo != large[0].first_lo);
}

static double constant_model(const double *u, int d, const double *param)
{
    (void)u;
    (void)d;
    (void)param;
    return 0.1; /* a mean of many 0.1 is not exactly 0.1: the test must not rely on it */
}

/* Outputs that do not vary: nothing to apportion, every index and bound NaN. */
static void constant_is_nan(void **state)
{
    (void)state;
    cr_sobol_indices_opts o;
    cr_sobol_indices_opts_init(&o);
    o.bootstrap = 100;
    cr_sobol_index out[2];
    run_model(1000, 2, 1, constant_model, NULL, &o, out);
    for (int i = 0; i < 2; i++) {
        assert_true(isnan(out[i].first) && isnan(out[i].total));
        assert_true(isnan(out[i].first_lo) && isnan(out[i].first_hi));
        assert_true(isnan(out[i].total_lo) && isnan(out[i].total_hi));
    }
}

/* A NaN (or infinite) output is refused, naming its row: with d = 2 a base sample has
 * 4 rows, so base sample 2's AB^1 is design row 7 (1-based). */
static void nan_output_names_the_row(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    double y[3 * 4];
    for (int k = 0; k < 12; k++)
        y[k] = k;
    y[6] = NAN;
    cr_sobol_index out[2];
    assert_int_equal(cr_sobol_indices(ctx, y, 3, 2, NULL, out), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(ctx), "design row 7 "));
    assert_non_null(strstr(cr_ctx_error(ctx), "base sample 2"));
    assert_non_null(strstr(cr_ctx_error(ctx), "AB1"));
    y[6] = 6;
    y[11] = -INFINITY;
    assert_int_equal(cr_sobol_indices(ctx, y, 3, 2, NULL, out), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(ctx), "design row 12 "));
    cr_ctx_free(ctx);
}

/* d = 8, N = 4096 (40,960 runs) and B = 1000: the design and the indices together take
 * well under a second (measured, printed; asserted only against 10 s so that a slow,
 * shared or instrumented machine does not fail it). */
static void speed(void **state)
{
    (void)state;
    const double a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    cr_sobol_indices_opts o;
    cr_sobol_indices_opts_init(&o);
    o.bootstrap = 1000;
    cr_sobol_index out[8];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    run_model(4096, 8, 1, linear, a, &o, out);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    print_message("d = 8, N = 4096, B = 1000: %.3f s\n", s);
    assert_true(s < 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unscrambled_first_points),
        cmocka_unit_test(unscrambled_all_dimensions),
        cmocka_unit_test(out_of_range_dimensions),
        cmocka_unit_test(scrambled_is_a_net_in_each_dimension),
        cmocka_unit_test(seeds_reproduce_and_differ),
        cmocka_unit_test(design_by_hand),
        cmocka_unit_test(bad_sizes_are_usage_errors),
        cmocka_unit_test(estimators_by_hand),
        cmocka_unit_test(ishigami_analytic),
        cmocka_unit_test(linear_analytic),
        cmocka_unit_test(dummy_factor),
        cmocka_unit_test(bootstrap_intervals),
        cmocka_unit_test(constant_is_nan),
        cmocka_unit_test(nan_output_names_the_row),
        cmocka_unit_test(speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
