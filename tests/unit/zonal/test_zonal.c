/* test_zonal.c: the generic statistics (parsing, weighted quantiles, majority), the
 * raster option, and the per-zone accumulators and columns on cells worked out by hand. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* M_PI */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/score.h"
#include "cityrisk/zonal.h"
#include "zonal/zonal_internal.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-12)


/* ------------------------------------------------------------------------------------ */
/* Weighted quantiles and majority. */

static double quantile_of(const double *values, const double *weights, size_t n, double q)
{
    double v[16], w[16];
    assert_true(n <= 16);
    memcpy(v, values, n * sizeof *v);
    memcpy(w, weights, n * sizeof *w);
    return cr_weighted_quantile(v, w, n, q);
}

static void weighted_quantile_by_hand(void **state)
{
    (void)state;
    const double x[4] = {1, 2, 3, 4}, one[4] = {1, 1, 1, 1}, w[4] = {1, 2, 3, 4};
    /* Equal weights: numpy's linear quantile, at position q (n - 1). */
    NEAR(quantile_of(x, one, 4, 0.5), 2.5);
    NEAR(quantile_of(x, one, 4, 0.0), 1.0);
    NEAR(quantile_of(x, one, 4, 1.0), 4.0);
    NEAR(quantile_of(x, one, 4, 0.25), 1.75);
    NEAR(quantile_of(x, one, 4, 0.75), 3.25);
    /* Weights 1, 2, 3, 4: s_k = k w_k + 3 S_k = 0, 5, 15, 30 and the target is
     * 3 * 10 q = 30 q: q = 0.5 is 15, value 3 exactly; q = 0.9 is 27, 4/5 of the way
     * from 3 to 4; q = 0.25 is 7.5, a quarter of the way from 2 to 3. */
    NEAR(quantile_of(x, w, 4, 0.5), 3.0);
    NEAR(quantile_of(x, w, 4, 0.9), 3.8);
    NEAR(quantile_of(x, w, 4, 0.25), 2.25);
    NEAR(quantile_of(x, w, 4, 0.0), 1.0);
    NEAR(quantile_of(x, w, 4, 1.0), 4.0);
    /* Scaling the weights changes nothing. */
    const double w10[4] = {0.1, 0.2, 0.3, 0.4};
    NEAR(quantile_of(x, w10, 4, 0.9), 3.8);
    NEAR(quantile_of(x, w10, 4, 0.25), 2.25);

    /* Unsorted input is sorted with its weights carried along. */
    double v[4] = {4, 1, 3, 2}, vw[4] = {4, 1, 3, 2};
    NEAR(cr_weighted_quantile(v, vw, 4, 0.9), 3.8);
    for (int i = 0; i < 4; i++) {
        assert_true(v[i] == i + 1);
        assert_true(vw[i] == i + 1);
    }
    double u[5] = {5, -1, 3, 3, 0}, uw[5] = {0.5, 2, 1, 1.5, 0.25};
    cr_weighted_quantile(u, uw, 5, 0.5);
    const double us[5] = {-1, 0, 3, 3, 5}, uws[5] = {2, 0.25, 1, 1.5, 0.5};
    for (int i = 0; i < 5; i++) {
        assert_true(u[i] == us[i]);
        if (u[i] != 3)
            assert_true(uw[i] == uws[i]); /* the two 3s may come in either order */
    }
    assert_true(uw[2] + uw[3] == 2.5);

    /* One value: it, whatever q. */
    double s[1] = {7}, sw[1] = {0.3};
    assert_true(cr_weighted_quantile(s, sw, 1, 0.0) == 7);
    assert_true(cr_weighted_quantile(s, sw, 1, 0.5) == 7);
    assert_true(cr_weighted_quantile(s, sw, 1, 1.0) == 7);
    /* None: NaN. */
    assert_true(isnan(cr_weighted_quantile(NULL, NULL, 0, 0.5)));
    assert_true(isnan(cr_weighted_quantile(s, sw, 0, 0.5)));
}

/* numpy's default quantile (type 7) of sorted values. */
static double numpy_linear(const double *sorted, size_t n, double q)
{
    double h = q * (double)(n - 1);
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + (h - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void weighted_quantile_with_equal_weights_is_numpy_and_monotone(void **state)
{
    (void)state;
    tu_rng_state = UINT64_C(0x853c49e6748fea9b);
    for (int trial = 0; trial < 300; trial++) {
        size_t n = 1 + tu_rng_next() % 16;
        double v[16], w[16], sorted[16], ws[16];
        double weight = (tu_rng_next() & 1) ? 1.0 : 2.5;
        for (size_t i = 0; i < n; i++) {
            v[i] = floor(tu_rng_unit() * 10); /* ties are common */
            w[i] = weight;
            sorted[i] = v[i];
            ws[i] = 0.05 + tu_rng_unit();
        }
        qsort(sorted, n, sizeof *sorted, compare_double);
        for (int k = 0; k <= 20; k++) {
            double q = k / 20.0;
            double got = quantile_of(v, w, n, q), expect = numpy_linear(sorted, n, q);
            if (!(fabs(got - expect) <= 1e-12))
                fail_msg("trial %d, n %zu, q %g: %.17g, numpy gives %.17g", trial, n, q, got,
                         expect);
        }
        /* Any weights: within the range, rising with q, the ends at q = 0 and 1. */
        double prev = -INFINITY;
        for (int k = 0; k <= 20; k++) {
            double q = k / 20.0;
            double got = quantile_of(v, ws, n, q);
            assert_true(got >= sorted[0] && got <= sorted[n - 1]);
            assert_true(got >= prev - 1e-12);
            prev = got;
        }
        NEAR(quantile_of(v, ws, n, 0.0), sorted[0]);
        NEAR(quantile_of(v, ws, n, 1.0), sorted[n - 1]);
    }
}

static void weighted_majority_takes_the_smallest_of_ties(void **state)
{
    (void)state;
    const double a[5] = {1, 1, 2, 2, 3}, aw[5] = {1, 1, 1, 1, 1.5};
    assert_true(cr_weighted_majority(a, aw, 5) == 1); /* 2, 2, 1.5 */
    const double b[4] = {1, 2, 2, 3}, bw[4] = {3, 1, 1, 3};
    assert_true(cr_weighted_majority(b, bw, 4) == 1); /* 3, 2, 3 */
    const double c[4] = {1, 2, 2, 3}, cw[4] = {1, 1, 1, 1.5};
    assert_true(cr_weighted_majority(c, cw, 4) == 2); /* 1, 2, 1.5 */
    const double d[3] = {-2, 5, 7}, dw[3] = {0.25, 0.25, 0.25};
    assert_true(cr_weighted_majority(d, dw, 3) == -2);
    const double e[1] = {4}, ew[1] = {0.1};
    assert_true(cr_weighted_majority(e, ew, 1) == 4);
    assert_true(isnan(cr_weighted_majority(NULL, NULL, 0)));
    /* After cr_weighted_quantile() has sorted an unsorted list. */
    double f[6] = {3, 1, 3, 2, 1, 2}, fw[6] = {1, 1, 1, 1, 1, 1};
    cr_weighted_quantile(f, fw, 6, 0.5);
    assert_true(cr_weighted_majority(f, fw, 6) == 1);
}

/* ------------------------------------------------------------------------------------ */
/* Parsing. */

static void stats_parse_reads_every_statistic(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_stat *st;
    int n;
    assert_int_equal(cr_stats_parse(ctx,
                                    "count,sum,mean,min,max,stdev,median,quantile(0.9),majority,"
                                    "frac(0.5),weighted_mean(pop)",
                                    &st, &n),
                     CR_OK);
    assert_int_equal(n, 11);
    const cr_stat_kind kinds[11] = {CR_STAT_COUNT,    CR_STAT_SUM,      CR_STAT_MEAN,
                                    CR_STAT_MIN,      CR_STAT_MAX,      CR_STAT_STDEV,
                                    CR_STAT_MEDIAN,   CR_STAT_QUANTILE, CR_STAT_MAJORITY,
                                    CR_STAT_FRAC,     CR_STAT_WEIGHTED_MEAN};
    const char *suffix[11] = {"count",  "sum", "mean",     "min",         "max",
                              "stdev",  "median", "p90",   "majority",    "frac_ge_0_5",
                              "weighted_mean_pop"};
    for (int i = 0; i < 11; i++) {
        assert_int_equal(st[i].kind, kinds[i]);
        assert_string_equal(st[i].suffix, suffix[i]);
    }
    assert_true(st[7].arg == 0.9);
    assert_true(st[9].arg == 0.5);
    assert_string_equal(st[10].weight, "pop");
    free(st);

    /* Blanks around items and arguments. */
    assert_int_equal(cr_stats_parse(ctx, "  count , quantile( 0.25 ) ,frac( -1 ) , "
                                         "weighted_mean( w_1 ) ,median ",
                                    &st, &n),
                     CR_OK);
    assert_int_equal(n, 5);
    assert_string_equal(st[0].suffix, "count");
    assert_int_equal(st[1].kind, CR_STAT_QUANTILE);
    assert_true(st[1].arg == 0.25);
    assert_string_equal(st[1].suffix, "p25");
    assert_int_equal(st[2].kind, CR_STAT_FRAC);
    assert_true(st[2].arg == -1);
    assert_string_equal(st[2].suffix, "frac_ge_m1");
    assert_string_equal(st[3].weight, "w_1");
    assert_string_equal(st[3].suffix, "weighted_mean_w_1");
    assert_string_equal(st[4].suffix, "median");
    free(st);

    /* The ends of q, and fractional percentages. */
    struct {
        const char *text, *suffix;
        double arg;
    } one[] = {
        {"quantile(0)", "p0", 0},          {"quantile(1)", "p100", 1},
        {"quantile(0.999)", "p99_9", 0.999}, {"quantile(.5)", "p50", 0.5},
        {"frac(2)", "frac_ge_2", 2},       {"frac(1e3)", "frac_ge_1000", 1000},
        {"frac(0.125)", "frac_ge_0_125", 0.125},
    };
    for (size_t i = 0; i < LEN(one); i++) {
        assert_int_equal(cr_stats_parse(ctx, one[i].text, &st, &n), CR_OK);
        assert_int_equal(n, 1);
        assert_string_equal(st[0].suffix, one[i].suffix);
        assert_true(st[0].arg == one[i].arg);
        free(st);
    }
    /* Different statistics that happen to agree are not repeats. */
    assert_int_equal(cr_stats_parse(ctx, "median,quantile(0.5),frac(1),frac(2)", &st, &n), CR_OK);
    assert_int_equal(n, 4);
    free(st);
    cr_ctx_free(ctx);
}

static void stats_parse_rejects_bad_lists(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    struct {
        const char *text, *quoted; /* quoted: what the message must name */
    } bad[] = {
        {"foo", "foo"},
        {"count,foo", "foo"},
        {"quantile(1.5)", "quantile(1.5)"},
        {"quantile(-0.1)", "quantile(-0.1)"},
        {"quantile()", "quantile()"},
        {"quantile( )", "quantile( )"},
        {"quantile", "quantile"},
        {"quantile(0.5", "quantile(0.5"},
        {"quantile(0.5)x", "quantile(0.5)x"},
        {"quantile(0.5,0.9)", "quantile(0.5,0.9)"},
        {"quantile(nan)", "quantile(nan)"},
        {"frac(abc)", "frac(abc)"},
        {"frac(inf)", "frac(inf)"},
        {"frac(1e999)", "frac(1e999)"},
        {"frac(0x10)", "frac(0x10)"},
        {"frac(1 2)", "frac(1 2)"},
        {"count()", "count()"},
        {"mean(x)", "mean(x)"},
        {"weighted_mean()", "weighted_mean()"},
        {"weighted_mean(1x)", "weighted_mean(1x)"},
        {"weighted_mean(a-b)", "weighted_mean(a-b)"},
        {"Mean", "Mean"},
        {"count,count", "count"},
        {"sum, mean ,sum", "sum"},
        {"frac(0.5),frac(0.50)", "frac(0.50)"},
        {"count,,sum", "count,,sum"},
        {"count,", "count,"},
        {",count", ",count"},
        {"", ""},
        {" ", ""},
    };
    for (size_t i = 0; i < LEN(bad); i++) {
        cr_stat *st = (cr_stat *)&ctx; /* must come back NULL */
        int n = -1;
        cr_ctx_clear_error(ctx);
        if (cr_stats_parse(ctx, bad[i].text, &st, &n) != CR_E_USAGE)
            fail_msg("'%s' was accepted", bad[i].text);
        assert_null(st);
        assert_int_equal(n, 0);
        if (!strstr(cr_ctx_error(ctx), bad[i].quoted))
            fail_msg("the message for '%s' does not name '%s': %s", bad[i].text, bad[i].quoted,
                     cr_ctx_error(ctx));
    }
    cr_ctx_free(ctx);
}

static void zonal_raster_parse_splits_name_path_and_band(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_zonal_raster r;
    char *storage;
    struct {
        const char *text, *name, *path;
        int band;
    } ok[] = {
        {"dem=a.tif", "dem", "a.tif", 1},
        {"dem=a.tif:3", "dem", "a.tif", 3},
        {"x=/vsizip/a.zip/b.tif", "x", "/vsizip/a.zip/b.tif", 1},
        {"x=/vsizip/a.zip/b.tif:12", "x", "/vsizip/a.zip/b.tif", 12},
        {"_v1=a.tif:", "_v1", "a.tif:", 1},
        {"v=a.tif:x3", "v", "a.tif:x3", 1},
        {"v=C:/data/a.tif", "v", "C:/data/a.tif", 1},
        {"v=a=b.tif", "v", "a=b.tif", 1},
    };
    for (size_t i = 0; i < LEN(ok); i++) {
        r.count = 7;
        assert_int_equal(cr_zonal_raster_parse(ctx, ok[i].text, &r, &storage), CR_OK);
        assert_int_equal(r.count, 0); /* continuous until --counts says otherwise */
        assert_non_null(storage);
        assert_string_equal(r.name, ok[i].name);
        assert_string_equal(r.path, ok[i].path);
        assert_int_equal(r.band, ok[i].band);
        free(storage);
    }
    const char *bad[] = {"=a.tif", "1x=a.tif", "dem=", "dem", "", "d-m=a.tif", "d m=a.tif",
                         "dem=a.tif:0", "dem=:3"};
    for (size_t i = 0; i < LEN(bad); i++) {
        storage = (char *)&r;
        cr_ctx_clear_error(ctx);
        if (cr_zonal_raster_parse(ctx, bad[i], &r, &storage) != CR_E_USAGE)
            fail_msg("'%s' was accepted", bad[i]);
        assert_null(storage);
        if (!strstr(cr_ctx_error(ctx), bad[i]))
            fail_msg("the message for '%s' does not quote it: %s", bad[i], cr_ctx_error(ctx));
    }
    cr_ctx_free(ctx);
}

/* ------------------------------------------------------------------------------------ */
/* Accumulators. */

/* A plan without any input; the caller sets its sources. */
static void plan_blank(cr_zplan *p)
{
    memset(p, 0, sizeof *p);
    p->src_score = p->src_uplift = p->src_arrivals = p->src_water = p->src_informal =
        p->src_population = -1;
    for (int j = 0; j < CR_ZONAL_MAX_SCENARIOS; j++)
        p->src_sea[j] = -1;
    p->src_generic = -1;
    p->demand_share = 1.0;
}

/* The index of the column named name. */
static int column(const cr_column *cols, int n, const char *name)
{
    for (int c = 0; c < n; c++)
        if (strcmp(cols[c].name, name) == 0)
            return c;
    fail_msg("no column %s", name);
    return -1;
}

static void expect_names(const cr_column *cols, int n, const char *const *names, int count)
{
    if (n != count) {
        for (int c = 0; c < n; c++)
            print_message("column %d: %s\n", c, cols[c].name);
        fail_msg("%d columns, expected %d", n, count);
    }
    for (int c = 0; c < n; c++)
        assert_string_equal(cols[c].name, names[c]);
}

/* A value by column name of zone z; NaN stays NaN. */
static double value(const cr_column *cols, int ncols, const double *values, int64_t nzones,
                    int64_t z, const char *name)
{
    return values[(int64_t)column(cols, ncols, name) * nzones + z];
}

#define CHECK(name, expect)                                                                        \
    do {                                                                                           \
        double got_ = value(cols, ncols, values, nzones, z, name), e_ = (expect);                  \
        if (isnan(e_) ? !isnan(got_) : !(fabs(got_ - e_) <= 1e-12 * fmax(1.0, fabs(e_))))         \
            fail_msg("%s: got %.17g, expected %.17g", name, got_, e_);                             \
    } while (0)

#define KM2 1e6 /* the cells' area in m2 */

/* The generic statistics of one raster v on four cells (area 1 km2 each):
 *   f = 1, x = 1;  f = 0.5, x = 3;  f = 0.25, x = 2;  f = 0.25, x invalid,
 * a zone of 2 km2 (the sum of f). Over the valid cells (sum f 1.75): sum 1 + 1.5 + 0.5 = 3,
 * mean 3 / 1.75 = 12/7, E[x^2] = (1 + 4.5 + 1) / 1.75 = 26/7 so the variance is
 * 26/7 - 144/49 = 38/49; the median sits at the target 0.5 * 2 * 1.75 = 1.75 among
 * s = 0, 0.25 + 2 = 2.25, 1 + 2.5 = 3.5 (values 1, 2, 3 with weights 1, 0.25, 0.5): 7/9 of
 * the way from 1 to 2; x >= 2 has 0.75 of the 1.75. */
static void generic_statistics_by_hand(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_stat *stats;
    int nstats;
    assert_int_equal(cr_stats_parse(ctx, "count,sum,mean,min,max,stdev,median,frac(2)", &stats,
                                    &nstats),
                     CR_OK);
    int weight_src[8];
    for (int k = 0; k < nstats; k++)
        weight_src[k] = -1;
    const cr_zonal_raster raster = {"v", "x.tif", 1, 0};
    cr_zplan plan;
    plan_blank(&plan);
    plan.src_generic = 0;
    plan.ngeneric = 1;
    plan.generic = &raster;
    plan.nsources = 1;
    plan.stats = stats;
    plan.nstats = nstats;
    plan.weight_src = weight_src;
    cr_zplan_layout(&plan);
    assert_false(plan.domain);
    assert_true(plan.moments);
    assert_true(plan.generic_lists);
    assert_int_equal(plan.nlists, 1);

    cr_column *cols;
    int ncols;
    assert_true(cr_zplan_columns(&plan, &cols, &ncols));
    const char *names[] = {"area_km2", "data_coverage", "v_count", "v_sum",    "v_mean",
                           "v_min",    "v_max",         "v_stdev", "v_median", "v_frac_ge_2"};
    expect_names(cols, ncols, names, (int)LEN(names));
    assert_int_equal(plan.col_score_mean, -1);
    assert_int_equal(plan.col_score_class, -1);
    assert_int_equal(plan.col_score_rank, -1);
    for (int c = 0; c < ncols; c++)
        assert_false(cols[c].integer);

    const double cells[4][2] = {{1, 1}, {0.5, 3}, {0.25, 2}, {0.25, NAN}}; /* f, x */
    double *acc = malloc(plan.acc_size * sizeof *acc);
    assert_non_null(acc);
    cr_zacc_init(&plan, acc);
    cr_wlist list = {0};
    for (int i = 0; i < 4; i++)
        assert_true(cr_zacc_add(&plan, acc, &cells[i][1], cells[i][0], cells[i][0] * KM2, &list));
    assert_int_equal(list.n, 3); /* the invalid cell is not listed */

    /* Zone 1 of 3, so that the stride of the values shows. */
    const int64_t nzones = 3;
    int64_t z = 1;
    double *values = malloc((size_t)(ncols * nzones) * sizeof *values);
    assert_non_null(values);
    for (int i = 0; i < ncols * nzones; i++)
        values[i] = -12345;
    cr_zacc_finish(&plan, acc, &list, 2 * KM2, 0, values, nzones, z);
    CHECK("area_km2", 2.0);
    CHECK("data_coverage", 0.875);
    CHECK("v_count", 1.75);
    CHECK("v_sum", 3.0);
    CHECK("v_mean", 12.0 / 7);
    CHECK("v_min", 1.0);
    CHECK("v_max", 3.0);
    CHECK("v_stdev", sqrt(38.0) / 7);
    CHECK("v_median", 16.0 / 9);
    CHECK("v_frac_ge_2", 3.0 / 7);
    for (int c = 0; c < ncols; c++) {
        assert_true(values[c * nzones + 0] == -12345);
        assert_true(values[c * nzones + 2] == -12345);
    }

    /* Zone 0: no cell of the grid covered (no accumulator): a count of 0, no statistics,
     * no data. */
    z = 0;
    cr_zacc_finish(&plan, NULL, NULL, 3 * KM2, 0, values, nzones, z);
    CHECK("area_km2", 3.0);
    CHECK("data_coverage", 0.0);
    CHECK("v_count", 0.0);
    const char *stat_names[] = {"v_sum", "v_mean", "v_min", "v_max", "v_stdev", "v_median",
                                "v_frac_ge_2"};
    for (size_t i = 0; i < LEN(stat_names); i++)
        CHECK(stat_names[i], NAN);
    /* Cells covered but all invalid: the same. */
    cr_zacc_init(&plan, acc);
    cr_wlist none = {0};
    double nan_value = NAN;
    assert_true(cr_zacc_add(&plan, acc, &nan_value, 1.0, KM2, &none));
    cr_zacc_finish(&plan, acc, &none, KM2, 0, values, nzones, z);
    CHECK("area_km2", 1.0);
    CHECK("data_coverage", 0.0);
    CHECK("v_count", 0.0);
    for (size_t i = 0; i < LEN(stat_names); i++)
        CHECK(stat_names[i], NAN);

    /* Zone 2: no geometry: everything null, the area too. */
    z = 2;
    cr_zacc_finish(&plan, NULL, NULL, 0.0, 1, values, nzones, z);
    for (int c = 0; c < ncols; c++)
        assert_true(isnan(values[c * nzones + z]));

    cr_wlist_free(&list);
    cr_wlist_free(&none);
    free(values);
    free(acc);
    free(cols);
    free(stats);
    cr_ctx_free(ctx);
}

/* Majority, a quantile and a weighted mean by another raster w on three cells:
 *   f = 1: v = 2, w = 1;  f = 0.5: v = 5, w = 4;  f = 0.5: v = 5, w invalid.
 * v_majority: 5 weighs 1, 2 weighs 1: the smaller, 2. v_weighted_mean_w: (1 * 1 * 2 +
 * 0.5 * 4 * 5) / (1 + 2) = 4, v_mean 7/2. w_mean: (1 + 2) / 1.5 = 2. v_p25 with values 2, 5, 5 and
 * weights 1, 0.5, 0.5: s = 0, 0.5 + 2 = 2.5, 1 + 3 = 4, target 0.25 * 2 * 2 = 1: 2/5 of
 * the way from 2 to 5. */
static void majority_quantile_and_weighted_mean_by_hand(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_stat *stats;
    int nstats;
    assert_int_equal(cr_stats_parse(ctx, "majority,quantile(0.25),weighted_mean(w),mean", &stats,
                                    &nstats),
                     CR_OK);
    int weight_src[4] = {-1, -1, 1, -1};
    const cr_zonal_raster rasters[2] = {{"v", "v.tif", 1, 0}, {"w", "w.tif", 2, 0}};
    cr_zplan plan;
    plan_blank(&plan);
    plan.src_generic = 0;
    plan.ngeneric = 2;
    plan.generic = rasters;
    plan.nsources = 2;
    plan.stats = stats;
    plan.nstats = nstats;
    plan.weight_src = weight_src;
    cr_zplan_layout(&plan);
    assert_false(plan.moments);
    assert_int_equal(plan.nlists, 2);
    cr_column *cols;
    int ncols;
    assert_true(cr_zplan_columns(&plan, &cols, &ncols));
    const char *names[] = {"area_km2", "data_coverage", "v_majority", "v_p25",
                           "v_weighted_mean_w", "v_mean", "w_majority", "w_p25",
                           "w_weighted_mean_w", "w_mean"};
    expect_names(cols, ncols, names, (int)LEN(names));

    const double cells[3][3] = {{1, 2, 1}, {0.5, 5, 4}, {0.5, 5, NAN}}; /* f, v, w */
    double *acc = malloc(plan.acc_size * sizeof *acc);
    assert_non_null(acc);
    cr_zacc_init(&plan, acc);
    cr_wlist lists[2] = {{0}};
    for (int i = 0; i < 3; i++)
        assert_true(cr_zacc_add(&plan, acc, &cells[i][1], cells[i][0], cells[i][0] * KM2, lists));
    const int64_t nzones = 1, z = 0;
    double values[10];
    cr_zacc_finish(&plan, acc, lists, 2 * KM2, 0, values, nzones, z);
    CHECK("data_coverage", 0.75);
    CHECK("v_majority", 2.0);
    CHECK("v_p25", 2.0 + 0.4 * 3);
    CHECK("v_weighted_mean_w", 4.0);
    CHECK("v_mean", 3.5); /* (2 + 2.5 + 2.5) / 2 */
    CHECK("w_majority", 1.0); /* 1 and 4 weigh 1 and 0.5 */
    CHECK("w_mean", 2.0);
    CHECK("w_weighted_mean_w", (1 * 1 * 1 + 0.5 * 4 * 4) / 3.0);
    cr_wlist_free(&lists[0]);
    cr_wlist_free(&lists[1]);
    free(acc);
    free(cols);
    free(stats);
    cr_ctx_free(ctx);
}

/* Statistics of one accumulator against those of partial ones merged, on random cells. */
static void merged_partial_accumulators_equal_one(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_stat *stats;
    int nstats;
    assert_int_equal(cr_stats_parse(ctx,
                                    "count,sum,mean,min,max,stdev,median,frac(0.5),"
                                    "weighted_mean(w)",
                                    &stats, &nstats),
                     CR_OK);
    int weight_src[9];
    for (int k = 0; k < nstats; k++)
        weight_src[k] = k == nstats - 1 ? 1 : -1;
    const cr_zonal_raster rasters[2] = {{"v", "v.tif", 1, 0}, {"w", "w.tif", 1, 0}};
    cr_zplan plan;
    plan_blank(&plan);
    plan.src_arrivals = 2; /* and a domain input, whose sums merge by adding */
    plan.src_generic = 0;
    plan.ngeneric = 2;
    plan.generic = rasters;
    plan.nsources = 3;
    plan.stats = stats;
    plan.nstats = nstats;
    plan.weight_src = weight_src;
    cr_zplan_layout(&plan);
    cr_column *cols;
    int ncols;
    assert_true(cr_zplan_columns(&plan, &cols, &ncols));
    size_t size = plan.acc_size;
    double *one = malloc(size * sizeof *one), *part[3], *merged = malloc(size * sizeof *merged);
    double *a = malloc((size_t)ncols * sizeof *a), *b = malloc((size_t)ncols * sizeof *b);
    assert_true(one && merged && a && b);
    for (int k = 0; k < 3; k++) {
        part[k] = malloc(size * sizeof *part[k]);
        assert_non_null(part[k]);
    }
    tu_rng_state = UINT64_C(0xda3e39cb94b95bdb);
    for (int trial = 0; trial < 200; trial++) {
        int n = 1 + (int)(tu_rng_next() % 60);
        double mean_shift = (tu_rng_next() & 1) ? 1e4 : 0.0; /* where naive moments would lose digits */
        cr_zacc_init(&plan, one);
        for (int k = 0; k < 3; k++)
            cr_zacc_init(&plan, part[k]);
        cr_wlist l1[2] = {{0}}, l2[2] = {{0}};
        int cut1 = (int)(tu_rng_next() % (uint64_t)(n + 1)), cut2 = (int)(tu_rng_next() % (uint64_t)(n + 1));
        if (cut1 > cut2) {
            int t = cut1;
            cut1 = cut2;
            cut2 = t;
        }
        for (int i = 0; i < n; i++) {
            double f = tu_rng_unit() < 0.3 ? 1.0 : 0.01 + 0.99 * tu_rng_unit();
            double v[3] = {mean_shift + tu_rng_unit(), 10 * tu_rng_unit(), 100 * tu_rng_unit()};
            if (tu_rng_unit() < 0.15)
                v[0] = NAN;
            if (tu_rng_unit() < 0.15)
                v[1] = NAN;
            if (tu_rng_unit() < 0.15)
                v[2] = NAN;
            if (tu_rng_unit() < 0.2)
                v[0] = mean_shift + 0.5; /* on the frac threshold when unshifted */
            assert_true(cr_zacc_add(&plan, one, v, f, f * KM2, l1));
            int k = i < cut1 ? 0 : i < cut2 ? 1 : 2;
            assert_true(cr_zacc_add(&plan, part[k], v, f, f * KM2, l2));
        }
        /* Merged in order into a fresh accumulator, as tiles into a zone. */
        cr_zacc_init(&plan, merged);
        for (int k = 0; k < 3; k++)
            cr_zacc_merge(&plan, merged, part[k]);
        cr_zacc_finish(&plan, one, l1, n * KM2, 0, a, 1, 0);
        cr_zacc_finish(&plan, merged, l2, n * KM2, 0, b, 1, 0);
        for (int c = 0; c < ncols; c++) {
            double x = a[c], y = b[c];
            int ok = isnan(x) ? isnan(y) : fabs(x - y) <= 1e-12 * fmax(1.0, fabs(x));
            if (!ok)
                fail_msg("trial %d (%d cells, cuts %d %d): %s is %.17g in one accumulator, "
                         "%.17g merged",
                         trial, n, cut1, cut2, cols[c].name, x, y);
        }
        /* The stdev against a two-pass computation. */
        double sw = 0, swx = 0;
        for (size_t i = 0; i < l1[0].n; i++)
            sw += l1[0].w[i], swx += l1[0].w[i] * l1[0].x[i];
        if (sw > 0) {
            double mean = swx / sw, ss = 0;
            for (size_t i = 0; i < l1[0].n; i++)
                ss += l1[0].w[i] * (l1[0].x[i] - mean) * (l1[0].x[i] - mean);
            double sd = sqrt(ss / sw), got = a[column(cols, ncols, "v_stdev")];
            if (!(fabs(got - sd) <= 1e-9 * fmax(sd, 1e-3)))
                fail_msg("trial %d: v_stdev %.17g, two passes give %.17g", trial, got, sd);
        }
        for (int k = 0; k < 2; k++) {
            cr_wlist_free(&l1[k]);
            cr_wlist_free(&l2[k]);
        }
    }
    for (int k = 0; k < 3; k++)
        free(part[k]);
    free(one);
    free(merged);
    free(a);
    free(b);
    free(cols);
    free(stats);
    cr_ctx_free(ctx);
}

/* The domain metrics with arrivals a (source 0), water stress b (1), informal fraction
 * v (2) and one sea-level scenario d (3), on six cells of 1 km2:
 *   A: f = 1,    a = 100, b = 4,   v = 0.8, d = 0.5 (flooded)
 *   B: f = 0.5,  a = 40,  b = 2,   v = 0.6, d = 0   (dry)
 *   C: f = 1,    a = 10,  b = 3,   v = 0.2, d = 1.2 (flooded)
 *   D: f = 0.5,  a invalid, b = 5, v = 1,   d = 2   (flooded)
 *   E: f = 0.25, a = 8,   b = 3,   v = 0.5, d = 0.1 (flooded; on both thresholds)
 *   F: f = 0.25, a = 4,   b = 2.5, v = 0.9, d = 3   (flooded; water stress below High)
 * in a zone of 3.5 km2. */
static void domain_metrics_by_hand(void **state)
{
    (void)state;
    cr_zplan plan;
    plan_blank(&plan);
    plan.src_arrivals = 0;
    plan.src_water = 1;
    plan.src_informal = 2;
    plan.src_sea[0] = 3;
    plan.nscen = 1;
    plan.src_generic = 4;
    plan.nsources = 4;
    cr_zplan_layout(&plan);
    assert_true(plan.domain);
    assert_int_equal(plan.nlists, 0);
    cr_column *cols;
    int ncols;
    assert_true(cr_zplan_columns(&plan, &cols, &ncols));
    const char *names[] = {"area_km2",
                           "data_coverage",
                           "land_data_coverage",
                           "arrivals_total",
                           "arrivals_per_km2",
                           "flood_area_share",
                           "arrivals_flooded",
                           "arrivals_flooded_share",
                           "informal_area_share",
                           "informal_flooded_share",
                           "arrivals_informal",
                           "water_stress_mean",
                           "water_stress_arrivals",
                           "arrivals_high_water_stress",
                           "arrivals_compound"};
    expect_names(cols, ncols, names, (int)LEN(names));

    const double cells[6][5] = {{1, 100, 4, 0.8, 0.5},  {0.5, 40, 2, 0.6, 0},
                                {1, 10, 3, 0.2, 1.2},   {0.5, NAN, 5, 1, 2},
                                {0.25, 8, 3, 0.5, 0.1}, {0.25, 4, 2.5, 0.9, 3}};
    double *acc = malloc(plan.acc_size * sizeof *acc), *half[2];
    assert_non_null(acc);
    cr_zacc_init(&plan, acc);
    for (int k = 0; k < 2; k++) {
        half[k] = malloc(plan.acc_size * sizeof *half[k]);
        assert_non_null(half[k]);
        cr_zacc_init(&plan, half[k]);
    }
    for (int i = 0; i < 6; i++) {
        assert_true(cr_zacc_add(&plan, acc, &cells[i][1], cells[i][0], cells[i][0] * KM2, NULL));
        assert_true(cr_zacc_add(&plan, half[i % 2], &cells[i][1], cells[i][0], cells[i][0] * KM2,
                                NULL));
    }
    cr_zacc_merge(&plan, half[0], half[1]);

    const int64_t nzones = 2;
    double *values = malloc((size_t)(ncols * nzones) * sizeof *values);
    assert_non_null(values);
    for (int pass = 0; pass < 2; pass++) {
        int64_t z = pass;
        cr_zacc_finish(&plan, pass ? half[0] : acc, NULL, 3.5 * KM2, 0, values, nzones, z);
        CHECK("area_km2", 3.5);
        CHECK("data_coverage", 3.0 / 3.5);             /* all but D have every input */
        CHECK("land_data_coverage", 3.0 / 3.5);        /* every cell has a depth: no sea */
        CHECK("arrivals_total", 133.0);                /* 100 + 20 + 10 + 2 + 1 */
        CHECK("arrivals_per_km2", 38.0);
        CHECK("flood_area_share", 3.0 / 3.5);          /* all but B */
        CHECK("arrivals_flooded", 113.0);              /* A, C, E, F */
        CHECK("arrivals_flooded_share", 113.0 / 133);
        CHECK("informal_area_share", 2.15 / 3.5);      /* .8 + .3 + .2 + .5 + .125 + .225 */
        CHECK("informal_flooded_share", 1.85 / 2.15);  /* the same without B's .3 */
        CHECK("arrivals_informal", 95.9);              /* 80 + 12 + 2 + 1 + 0.9 */
        CHECK("water_stress_mean", 11.875 / 3.5);      /* 4 + 1 + 3 + 2.5 + .75 + .625 */
        CHECK("water_stress_arrivals", 478.5 / 133);   /* 400 + 40 + 30 + 6 + 2.5 */
        CHECK("arrivals_high_water_stress", 112.0);    /* b >= 3: A, C, E */
        CHECK("arrivals_compound", 102.0);             /* flooded, v >= 0.5, b >= 3: A, E */
    }

    /* A zone whose cells have no valid input: null metrics, no data. */
    int64_t z = 0;
    cr_zacc_init(&plan, acc);
    const double nothing[4] = {NAN, NAN, NAN, NAN};
    assert_true(cr_zacc_add(&plan, acc, nothing, 1.0, KM2, NULL));
    assert_true(cr_zacc_add(&plan, acc, nothing, 0.5, 0.5 * KM2, NULL));
    for (int pass = 0; pass < 2; pass++) {
        cr_zacc_finish(&plan, pass ? NULL : acc, NULL, 1.5 * KM2, 0, values, nzones, z);
        CHECK("area_km2", 1.5);
        CHECK("data_coverage", 0.0);
        /* cells without a depth (and no exposure) are sea: no land, null; no cell on the
         * grid at all: no sea either, so none of the land has data */
        CHECK("land_data_coverage", pass ? 0.0 : NAN);
        for (int c = 3; c < ncols; c++)
            if (!isnan(values[c * nzones + z]))
                fail_msg("%s is %g in a zone without data", cols[c].name, values[c * nzones + z]);
    }
    /* Arrivals known to be 0 everywhere: totals 0, shares of them null. */
    cr_zacc_init(&plan, acc);
    const double zeros[4] = {0, 4, 0.9, 1};
    assert_true(cr_zacc_add(&plan, acc, zeros, 1.0, KM2, NULL));
    cr_zacc_finish(&plan, acc, NULL, KM2, 0, values, nzones, z);
    CHECK("data_coverage", 1.0);
    CHECK("arrivals_total", 0.0);
    CHECK("arrivals_flooded", 0.0);
    CHECK("arrivals_flooded_share", NAN);
    CHECK("flood_area_share", 1.0);
    CHECK("arrivals_compound", 0.0);
    CHECK("water_stress_arrivals", NAN);
    /* No geometry: the area is null too. */
    z = 1;
    cr_zacc_finish(&plan, NULL, NULL, 0.0, 1, values, nzones, z);
    for (int c = 0; c < ncols; c++)
        if (!isnan(values[c * nzones + z]))
            fail_msg("%s is %g in an empty zone", cols[c].name, values[c * nzones + z]);

    free(values);
    free(half[0]);
    free(half[1]);
    free(acc);
    free(cols);
}

static void scenario_columns_take_their_suffixes(void **state)
{
    (void)state;
    cr_zplan plan;
    plan_blank(&plan);
    plan.src_arrivals = 0;
    plan.src_sea[0] = 1;
    plan.src_sea[1] = 2;
    plan.nscen = 2;
    snprintf(plan.scen_suffix[0], sizeof plan.scen_suffix[0], "_ssp245_2100");
    snprintf(plan.scen_suffix[1], sizeof plan.scen_suffix[1], "_ssp585_2100");
    plan.src_generic = 3;
    plan.nsources = 3;
    cr_zplan_layout(&plan);
    cr_column *cols;
    int ncols;
    assert_true(cr_zplan_columns(&plan, &cols, &ncols));
    const char *names[] = {"area_km2",
                           "data_coverage",
                           "land_data_coverage",
                           "arrivals_total",
                           "arrivals_per_km2",
                           "flood_area_share_ssp245_2100",
                           "flood_area_share_ssp585_2100",
                           "arrivals_flooded_ssp245_2100",
                           "arrivals_flooded_ssp585_2100",
                           "arrivals_flooded_share_ssp245_2100",
                           "arrivals_flooded_share_ssp585_2100"};
    expect_names(cols, ncols, names, (int)LEN(names));
    /* One cell flooded only in the second scenario, one in both, one with the first
     * scenario invalid. */
    const double cells[3][4] = {{1, 10, 0, 1}, {1, 20, 0.1, 0.3}, {1, 5, NAN, 2}}; /* f, a, d1, d2 */
    double *acc = malloc(plan.acc_size * sizeof *acc);
    assert_non_null(acc);
    cr_zacc_init(&plan, acc);
    for (int i = 0; i < 3; i++)
        assert_true(cr_zacc_add(&plan, acc, &cells[i][1], cells[i][0], cells[i][0] * KM2, NULL));
    const int64_t nzones = 1, z = 0;
    double values[11];
    cr_zacc_finish(&plan, acc, NULL, 3 * KM2, 0, values, nzones, z);
    CHECK("data_coverage", 2.0 / 3);
    CHECK("land_data_coverage", 2.0 / 3);  /* the third cell has a depth in one band: land */
    CHECK("arrivals_total", 35.0);
    CHECK("flood_area_share_ssp245_2100", 1.0 / 3);
    CHECK("flood_area_share_ssp585_2100", 1.0);
    CHECK("arrivals_flooded_ssp245_2100", 20.0);
    CHECK("arrivals_flooded_ssp585_2100", 35.0);
    CHECK("arrivals_flooded_share_ssp245_2100", 20.0 / 35);
    CHECK("arrivals_flooded_share_ssp585_2100", 1.0);
    free(acc);
    free(cols);
}

/* The score S (source 0), its uplift u (1) and arrivals a (2) on three cells of 1 km2:
 *   f = 1: S = 2, u = 0.5, a = 10;  f = 0.5: S = 6, u = 1, a = 20;  f = 0.5: S = 4, rest invalid.
 * score_mean (2 + 3 + 2) / 2 = 3.5; score_arrivals (10 * 2 + 10 * 6) / 20 = 4;
 * water_uplift_mean (10 * 0.5 + 10 * 1) / 20 = 0.75; score_p90 over 2, 4, 6 weighted by
 * area 1, 0.5, 0.5: s = 0, 0.5 + 2 = 2.5, 1 + 3 = 4, target 0.9 * 2 * 2 = 3.6, 11/15 of the
 * way from 4 to 6. */
static void score_metrics_by_hand(void **state)
{
    (void)state;
    cr_zplan plan;
    plan_blank(&plan);
    plan.src_score = 0;
    plan.src_uplift = 1;
    plan.src_arrivals = 2;
    plan.src_generic = 3;
    plan.nsources = 3;
    cr_zplan_layout(&plan);
    assert_int_equal(plan.nlists, 1);
    cr_column *cols;
    int ncols;
    assert_true(cr_zplan_columns(&plan, &cols, &ncols));
    const char *names[] = {"area_km2",   "data_coverage", "arrivals_total", "arrivals_per_km2",
                           "water_uplift_mean", "score_mean", "score_p90", "score_arrivals",
                           "score_class", "score_rank"};
    expect_names(cols, ncols, names, (int)LEN(names));
    assert_int_equal(plan.col_score_mean, 5);
    assert_int_equal(plan.col_score_class, 8);
    assert_int_equal(plan.col_score_rank, 9);
    assert_int_equal(plan.col_coverage, 1); /* what --min-coverage reads */
    assert_true(cols[8].integer && cols[9].integer);
    assert_false(cols[5].integer);

    const double cells[3][4] = {{1, 2, 0.5, 10}, {0.5, 6, 1, 20}, {0.5, 4, NAN, NAN}};
    double *acc = malloc(plan.acc_size * sizeof *acc);
    assert_non_null(acc);
    cr_zacc_init(&plan, acc);
    cr_wlist list = {0};
    for (int i = 0; i < 3; i++)
        assert_true(cr_zacc_add(&plan, acc, &cells[i][1], cells[i][0], cells[i][0] * KM2, &list));
    const int64_t nzones = 1, z = 0;
    double values[10];
    cr_zacc_finish(&plan, acc, &list, 2 * KM2, 0, values, nzones, z);
    CHECK("area_km2", 2.0);
    CHECK("data_coverage", 0.75);
    CHECK("arrivals_total", 20.0);
    CHECK("arrivals_per_km2", 10.0);
    CHECK("water_uplift_mean", 0.75);
    CHECK("score_mean", 3.5);
    CHECK("score_p90", 4.0 + 2.0 * 11 / 15);
    CHECK("score_arrivals", 4.0);
    CHECK("score_class", NAN);
    CHECK("score_rank", NAN);
    cr_wlist_free(&list);

    /* The uplift from the residents instead: cr_water_uplift(b, a, p, share) per cell,
     * weighted by f a. */
    plan_blank(&plan);
    plan.src_arrivals = 0;
    plan.src_water = 1;
    plan.src_population = 2;
    plan.demand_share = 0.5;
    plan.src_generic = 3;
    plan.nsources = 3;
    cr_zplan_layout(&plan);
    free(cols);
    assert_true(cr_zplan_columns(&plan, &cols, &ncols));
    column(cols, ncols, "water_uplift_mean");
    double *acc2 = malloc(plan.acc_size * sizeof *acc2);
    assert_non_null(acc2);
    cr_zacc_init(&plan, acc2);
    const double res[3][4] = {{1, 100, 2, 1000}, {0.5, 50, 3.5, 200}, {1, 10, 1, NAN}};
    double num = 0, den = 0;
    for (int i = 0; i < 3; i++) {
        assert_true(cr_zacc_add(&plan, acc2, &res[i][1], res[i][0], res[i][0] * KM2, NULL));
        double u = cr_water_uplift(res[i][2], res[i][1], res[i][3], 0.5);
        if (!isnan(u))
            num += res[i][0] * res[i][1] * u, den += res[i][0] * res[i][1];
    }
    assert_true(den == 125);
    double values2[16];
    cr_zacc_finish(&plan, acc2, NULL, 2.5 * KM2, 0, values2, 1, 0);
    double got = values2[column(cols, ncols, "water_uplift_mean")];
    assert_true(fabs(got - num / den) <= 1e-12);
    assert_true(got > 0);
    free(acc2);
    free(acc);
    free(cols);
}

/* A weight name of the longest length keeps its whole name in the suffix, and -0 is 0. */
static void stats_parse_keeps_long_weight_names_and_zero(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    char name1[64], name2[64], text[200];
    memset(name1, 'a', 62);
    memcpy(name2, name1, 62);
    name1[62] = '1';
    name2[62] = '2';
    name1[63] = name2[63] = '\0';
    snprintf(text, sizeof text, "weighted_mean(%s),weighted_mean(%s),frac(-0)", name1, name2);
    cr_stat *st = NULL;
    int n = 0;
    assert_int_equal(cr_stats_parse(ctx, text, &st, &n), CR_OK);
    assert_int_equal(n, 3);
    assert_string_equal(st[0].weight, name1);
    assert_string_equal(st[1].suffix + strlen("weighted_mean_"), name2);
    assert_string_equal(st[2].suffix, "frac_ge_0");
    free(st);
    cr_ctx_free(ctx);
}

/* Rows through cr_zacc_add_row() give the very sums cell after cell gives, for a plan
 * with every kind of statistic and the domain inputs (including cells of fraction 0 and
 * invalid values). */
static void row_path_equals_cell_path(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_stat *stats;
    int nstats;
    assert_int_equal(cr_stats_parse(ctx, "count,sum,min,max,stdev,median,frac(0.5),weighted_mean(w)",
                                    &stats, &nstats),
                     CR_OK);
    int weight_src[8];
    for (int k = 0; k < nstats; k++)
        weight_src[k] = k == nstats - 1 ? 1 : -1;
    const cr_zonal_raster rasters[2] = {{"v", "v.tif", 1, 0}, {"w", "w.tif", 1, 0}};
    cr_zplan plan;
    plan_blank(&plan);
    plan.src_generic = 0;
    plan.ngeneric = 2;
    plan.generic = rasters;
    plan.src_arrivals = 2;
    plan.src_water = 3;
    plan.src_score = 4;
    plan.nscen = 1;
    plan.src_sea[0] = 5;
    plan.nsources = 6;
    plan.stats = stats;
    plan.nstats = nstats;
    plan.weight_src = weight_src;
    cr_zplan_layout(&plan);
    enum { N = 97 };
    float values[6][N];
    double cov[N], v[6];
    tu_rng_state = UINT64_C(0x5eed5eed5eed5eed);
    for (int c = 0; c < N; c++) {
        cov[c] = c % 7 == 0 ? 0.0 : (double)(tu_rng_next() % 1000) / 999.0;
        for (int k = 0; k < 6; k++)
            values[k][c] = tu_rng_next() % 11 == 0 ? NAN : (float)(tu_rng_next() % 500) / 100.0f;
    }
    double *by_cell = malloc(plan.acc_size * sizeof *by_cell);
    double *by_row = malloc(plan.acc_size * sizeof *by_row);
    cr_wlist lists_cell[3] = {{0}}, lists_row[3] = {{0}};
    assert_true(by_cell && by_row);
    cr_zacc_init(&plan, by_cell);
    cr_zacc_init(&plan, by_row);
    const double area = 900.0;
    for (int c = 0; c < N; c++) {
        if (cov[c] == 0.0)
            continue;
        for (int k = 0; k < 6; k++)
            v[k] = values[k][c];
        assert_true(cr_zacc_add(&plan, by_cell, v, cov[c], cov[c] * area, lists_cell));
    }
    const float *rows[6];
    for (int k = 0; k < 6; k++)
        rows[k] = values[k];
    assert_true(cr_zacc_add_row(&plan, by_row, rows, cov, N, area, lists_row));
    assert_memory_equal(by_cell, by_row, plan.acc_size * sizeof *by_row);
    for (int l = 0; l < plan.nlists; l++) {
        assert_int_equal(lists_cell[l].n, lists_row[l].n);
        assert_memory_equal(lists_cell[l].x, lists_row[l].x, lists_row[l].n * sizeof(double));
        assert_memory_equal(lists_cell[l].w, lists_row[l].w, lists_row[l].n * sizeof(double));
        cr_wlist_free(&lists_cell[l]);
        cr_wlist_free(&lists_row[l]);
    }
    free(by_cell);
    free(by_row);
    free(stats);
    cr_ctx_free(ctx);
}


/* The tight loop of count, sum, min and max alone (no domain input, no other statistic),
 * over seven rasters (summed 4, then 2, then 1 at a time): rows through cr_zacc_add_row()
 * give the very sums cell after cell gives, for rows with uncovered cells at both ends, a
 * row without any covered cell, a row where a raster has no value, and values of both
 * signs and far apart in size, whose sums depend on the order of the additions. */
static void row_path_equals_cell_path_for_many_rasters(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_stat *stats;
    int nstats;
    assert_int_equal(cr_stats_parse(ctx, "count,sum,mean,min,max", &stats, &nstats), CR_OK);
    enum { G = 7, N = 61, ROWS = 4 };
    cr_zonal_raster rasters[G];
    char names[G][8];
    for (int g = 0; g < G; g++) {
        snprintf(names[g], sizeof names[g], "r%d", g);
        rasters[g] = (cr_zonal_raster){names[g], "r.tif", 1, 0};
    }
    cr_zplan plan;
    plan_blank(&plan);
    plan.src_generic = 0;
    plan.ngeneric = G;
    plan.generic = rasters;
    plan.nsources = G;
    plan.stats = stats;
    plan.nstats = nstats;
    int weight_src[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
    plan.weight_src = weight_src;
    cr_zplan_layout(&plan);
    assert_int_equal(plan.nlists, 0);
    float values[ROWS][G][N];
    double cov[ROWS][N], v[G];
    tu_rng_state = UINT64_C(0x2323232323232323);
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < N; c++) {
            /* Row 1 has no covered cell; the others none in their first 3 and last 5. */
            int covered = r != 1 && c >= 3 && c < N - 5 && c % 9 != 4;
            cov[r][c] = covered ? (double)(1 + tu_rng_next() % 1000) / 1000.0 : 0.0;
            for (int g = 0; g < G; g++) {
                double size = (tu_rng_next() % 2 ? 1e7 : 1e-3) * (tu_rng_next() % 2 ? 1.0 : -1.0);
                values[r][g][c] = (r == 2 && g == 5) || tu_rng_next() % 13 == 0
                                      ? NAN
                                      : (float)(size * (double)(tu_rng_next() % 997) / 997.0);
            }
        }
    double *by_cell = malloc(plan.acc_size * sizeof *by_cell);
    double *by_row = malloc(plan.acc_size * sizeof *by_row);
    assert_true(by_cell && by_row);
    cr_zacc_init(&plan, by_cell);
    cr_zacc_init(&plan, by_row);
    const double area = 900.0;
    for (int r = 0; r < ROWS; r++) {
        for (int c = 0; c < N; c++) {
            if (cov[r][c] == 0.0)
                continue;
            for (int g = 0; g < G; g++)
                v[g] = values[r][g][c];
            assert_true(cr_zacc_add(&plan, by_cell, v, cov[r][c], cov[r][c] * area, NULL));
        }
        const float *rows[G];
        for (int g = 0; g < G; g++)
            rows[g] = values[r][g];
        assert_true(cr_zacc_add_row(&plan, by_row, rows, cov[r], N, area, NULL));
    }
    assert_memory_equal(by_cell, by_row, plan.acc_size * sizeof *by_row);
    free(by_cell);
    free(by_row);
    free(stats);
    cr_ctx_free(ctx);
}

/* ------------------------------------------------------------------------------------ */
/* Zones that cost more than they cover (zone_shape.c): the crossings that make a repair
 * costly, the thinning that bounds it, and areas on the ellipsoid. */

/* Rings of points given as x, y pairs, one ring per call of add(). */
typedef struct test_rings {
    double xy[64];
    int end[8];
    signed char sign[8];
    int n, nrings;
} test_rings;

static void add(test_rings *t, int sign, int npoints, const double *xy)
{
    memcpy(t->xy + 2 * t->n, xy, (size_t)npoints * 2 * sizeof *xy);
    t->n += npoints;
    t->end[t->nrings] = t->n;
    t->sign[t->nrings++] = (signed char)sign;
}

static int64_t crossings_of(const test_rings *t, int64_t limit, int64_t budget)
{
    cr_rings r = {t->xy, t->end, t->sign, t->nrings};
    return cr_rings_crossings(&r, limit, budget);
}

#define UNLIMITED ((int64_t)1 << 40)

static void crossings_by_hand(void **state)
{
    (void)state;
    test_rings square = {0}, tie = {0}, zig = {0}, two = {0}, twice = {0}, touch = {0}, run = {0};
    add(&square, 1, 4, (const double[]){0, 0, 4, 0, 4, 4, 0, 4});
    assert_int_equal(crossings_of(&square, 100, UNLIMITED), 0);
    /* A bow tie crosses once, in its middle. */
    add(&tie, 1, 4, (const double[]){0, 0, 2, 2, 2, 0, 0, 2});
    assert_int_equal(crossings_of(&tie, 100, UNLIMITED), 1);
    /* Issue 16's zig-zag crosses its mirror image at x = 2, 6, 10, 14; its spike out to
     * (-10, -10) and back is two identical edges, on the line of the first edge, meeting
     * the others only where they end: no node. Closed explicitly, as GEOS gives rings. */
    add(&zig, 1, 13, (const double[]){0, 0, 4, 4, 8, 0, 12, 4, 16, 0, 16, 4, 12, 0, 8, 4, 4, 0,
                                      0, 4, 0, 0, -10, -10, 0, 0});
    assert_int_equal(crossings_of(&zig, 100, UNLIMITED), 4);
    /* Counting stops past the limit; a budget too small to tell says so. */
    assert_int_equal(crossings_of(&zig, 2, UNLIMITED), 3);
    assert_int_equal(crossings_of(&zig, 100, 0), -1);
    /* Two overlapping shells: their boundaries cross twice. */
    add(&two, 1, 4, (const double[]){0, 0, 4, 0, 4, 4, 0, 4});
    add(&two, 1, 4, (const double[]){2, 2, 6, 2, 6, 6, 2, 6});
    assert_int_equal(crossings_of(&two, 100, UNLIMITED), 2);
    /* A ring traced twice: identical edges add no node. */
    add(&twice, 1, 8, (const double[]){0, 0, 4, 0, 4, 4, 0, 4, 0, 0, 4, 0, 4, 4, 0, 4});
    assert_int_equal(crossings_of(&twice, 100, UNLIMITED), 0);
    /* A hole whose vertex touches the middle of the shell's bottom edge: a node on that
     * edge, counted for each of the two hole edges that end there. */
    add(&touch, 1, 4, (const double[]){0, 0, 4, 0, 4, 4, 0, 4});
    add(&touch, -1, 3, (const double[]){2, 0, 3, 1, 1, 1});
    assert_int_equal(crossings_of(&touch, 100, UNLIMITED), 2);
    /* Two rings sharing part of an edge: the overlap, and each ring's corner on the
     * other's edge. */
    add(&run, 1, 4, (const double[]){0, 0, 4, 0, 4, 1, 0, 1});
    add(&run, 1, 4, (const double[]){2, 0, 6, 0, 6, -1, 2, -1});
    assert_int_equal(crossings_of(&run, 100, UNLIMITED), 3);
}

static void crossings_of_a_long_zig_zag(void **state)
{
    (void)state;
    /* Issue 16's shape with n = 1000 steps: out along one zig-zag and back along its
     * mirror image, crossing once per step; swept along x or, turned a quarter, along y. */
    enum { STEPS = 1000, POINTS = 2 * STEPS + 2 };
    double *xy = malloc(2 * POINTS * sizeof *xy), *yx = malloc(2 * POINTS * sizeof *yx);
    assert_non_null(xy);
    assert_non_null(yx);
    int k = 0;
    for (int i = 0; i <= STEPS; i++, k++)
        xy[2 * k] = i, xy[2 * k + 1] = i % 2;
    xy[2 * k] = STEPS, xy[2 * k + 1] = 1, k++;
    for (int i = STEPS - 1; i >= 0; i--, k++)
        xy[2 * k] = i, xy[2 * k + 1] = (i + 1) % 2;
    assert_int_equal(k, POINTS);
    for (k = 0; k < POINTS; k++)
        yx[2 * k] = xy[2 * k + 1], yx[2 * k + 1] = xy[2 * k];
    int end = POINTS;
    signed char sign = 1;
    cr_rings r = {xy, &end, &sign, 1}, turned = {yx, &end, &sign, 1};
    assert_int_equal(cr_rings_crossings(&r, 1 << 20, UNLIMITED), STEPS);
    assert_int_equal(cr_rings_crossings(&turned, 1 << 20, UNLIMITED), STEPS);
    /* A straight sweep compares each edge with a few open ones: far below n^2. */
    assert_int_equal(cr_rings_crossings(&turned, 1 << 20, 16 * POINTS), STEPS);
    free(xy);
    free(yx);
}

static void thinning_removes_the_least_area_first(void **state)
{
    (void)state;
    double *xy;
    int *end, *source;
    /* A square with a point in the middle of its bottom edge (no area) and its closing
     * point repeated (no vertex of its own). */
    test_rings mid = {0};
    add(&mid, 1, 6, (const double[]){0, 0, 2, 0, 4, 0, 4, 4, 0, 4, 0, 0});
    cr_rings r = {mid.xy, mid.end, mid.sign, mid.nrings};
    assert_int_equal(cr_rings_thin(&r, 4, &xy, &end, &source), 1);
    assert_int_equal(end[0], 4);
    assert_int_equal(source[0], 0);
    const double square[8] = {0, 0, 4, 0, 4, 4, 0, 4};
    assert_memory_equal(xy, square, sizeof square);
    free(xy), free(end), free(source);
    /* A house: triangles of areas 6 (0,0), 6 (4,0), 3 (4,3), 2 (2,4), 3 (0,3). The roof's
     * top goes first, then (4,3) before (0,3) (equal areas: the lower index). */
    test_rings house = {0};
    add(&house, 1, 5, (const double[]){0, 0, 4, 0, 4, 3, 2, 4, 0, 3});
    r = (cr_rings){house.xy, house.end, house.sign, house.nrings};
    assert_int_equal(cr_rings_thin(&r, 4, &xy, &end, &source), 1);
    const double walls[8] = {0, 0, 4, 0, 4, 3, 0, 3};
    assert_int_equal(end[0], 4);
    assert_memory_equal(xy, walls, sizeof walls);
    free(xy), free(end), free(source);
    assert_int_equal(cr_rings_thin(&r, 3, &xy, &end, &source), 1);
    /* Without the roof every corner's triangle has area 6: the lowest index, (0,0), goes. */
    const double left[6] = {4, 0, 4, 3, 0, 3};
    assert_int_equal(end[0], 3);
    assert_memory_equal(xy, left, sizeof left);
    free(xy), free(end), free(source);
    /* A small triangle goes whole when its turn comes; the square stays. */
    test_rings two = {0};
    add(&two, 1, 4, (const double[]){0, 0, 10, 0, 10, 10, 0, 10});
    add(&two, -1, 3, (const double[]){20, 20, 21, 20, 20, 21});
    r = (cr_rings){two.xy, two.end, two.sign, two.nrings};
    assert_int_equal(cr_rings_thin(&r, 4, &xy, &end, &source), 1);
    assert_int_equal(end[0], 4);
    assert_int_equal(source[0], 0);
    free(xy), free(end), free(source);
    /* Nothing to remove: the rings come back as they were. */
    assert_int_equal(cr_rings_thin(&r, 100, &xy, &end, &source), 2);
    assert_int_equal(end[1], 7);
    assert_int_equal(source[1], 1);
    assert_memory_equal(xy, two.xy, 14 * sizeof *xy);
    free(xy), free(end), free(source);
}

static void lonlat_areas_by_hand(void **state)
{
    (void)state;
    const double R = 6371000.0, rad = M_PI / 180.0, tol = 1e-12;
    /* On a sphere, a lon/lat rectangle holds R^2 dlon (sin lat1 - sin lat0). */
    double box[8] = {10, 0, 20, 0, 20, 30, 10, 30};
    double expected = R * R * 10 * rad * (0.5 - 0.0);
    assert_true(fabs(cr_lonlat_ring_area(box, 4, R, 0.0) / expected - 1) < tol);
    /* Clockwise: minus the area. */
    double reversed[8] = {10, 0, 10, 30, 20, 30, 20, 0};
    assert_true(fabs(cr_lonlat_ring_area(reversed, 4, R, 0.0) / -expected - 1) < tol);
    /* Across the antimeridian, 170 E to 170 W. */
    double across[8] = {170, 0, -170, 0, -170, 30, 170, 30};
    assert_true(fabs(cr_lonlat_ring_area(across, 4, R, 0.0) / (2 * expected) - 1) < tol);
    /* Round the north pole, eastward along 60 N: the cap 2 pi R^2 (1 - sin 60); round
     * the south pole, westward along 60 S: the same. */
    double cap = 2 * M_PI * R * R * (1 - sqrt(3) / 2);
    double north[8] = {0, 60, 90, 60, 180, 60, -90, 60};
    double south[8] = {0, -60, -90, -60, 180, -60, 90, -60};
    assert_true(fabs(cr_lonlat_ring_area(north, 4, R, 0.0) / cap - 1) < tol);
    assert_true(fabs(cr_lonlat_ring_area(south, 4, R, 0.0) / cap - 1) < tol);
    /* The whole WGS 84 ellipsoid: 510065621724088.5 m2 (GeographicLib's documentation),
     * its edges along the poles in steps of 10 degrees (shorter than half a turn). */
    double world[2 * 74];
    int n = 0;
    for (int lon = -180; lon <= 180; lon += 10, n++)
        world[2 * n] = lon, world[2 * n + 1] = -90;
    for (int lon = 180; lon >= -180; lon -= 10, n++)
        world[2 * n] = lon, world[2 * n + 1] = 90;
    assert_int_equal(n, 74);
    double wgs84 = cr_lonlat_ring_area(world, n, 6378137.0, 1 / 298.257223563);
    assert_true(fabs(wgs84 / 510065621724088.5 - 1) < 1e-12);
}

/* A Shapefile's full field names go beside it, named after it; other formats keep theirs. */
static void field_names_sidecar_of_a_shapefile(void **state)
{
    (void)state;
    const char *cases[][3] = {
        {"wards.shp", "ESRI Shapefile", "wards.fields.csv"},
        {"out/W.SHP", "ESRI Shapefile", "out/W.fields.csv"},
        {"a.b/wards.v2.shp", "ESRI Shapefile", "a.b/wards.v2.fields.csv"},
    };
    for (size_t i = 0; i < LEN(cases); i++) {
        char *path = cr_zonal_fields_path(cases[i][0], cases[i][1]);
        assert_non_null(path);
        assert_string_equal(path, cases[i][2]);
        free(path);
    }
    assert_null(cr_zonal_fields_path("wards.gpkg", "GPKG"));
    assert_null(cr_zonal_fields_path("wards.xlsx", "XLSX"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(weighted_quantile_by_hand),
        cmocka_unit_test(weighted_quantile_with_equal_weights_is_numpy_and_monotone),
        cmocka_unit_test(weighted_majority_takes_the_smallest_of_ties),
        cmocka_unit_test(stats_parse_reads_every_statistic),
        cmocka_unit_test(stats_parse_rejects_bad_lists),
        cmocka_unit_test(stats_parse_keeps_long_weight_names_and_zero),
        cmocka_unit_test(zonal_raster_parse_splits_name_path_and_band),
        cmocka_unit_test(generic_statistics_by_hand),
        cmocka_unit_test(majority_quantile_and_weighted_mean_by_hand),
        cmocka_unit_test(merged_partial_accumulators_equal_one),
        cmocka_unit_test(row_path_equals_cell_path),
        cmocka_unit_test(row_path_equals_cell_path_for_many_rasters),
        cmocka_unit_test(domain_metrics_by_hand),
        cmocka_unit_test(scenario_columns_take_their_suffixes),
        cmocka_unit_test(score_metrics_by_hand),
        cmocka_unit_test(crossings_by_hand),
        cmocka_unit_test(crossings_of_a_long_zig_zag),
        cmocka_unit_test(thinning_removes_the_least_area_first),
        cmocka_unit_test(lonlat_areas_by_hand),
        cmocka_unit_test(field_names_sidecar_of_a_shapefile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
