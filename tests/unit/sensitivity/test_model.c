/* test_model.c: the in-memory model of `cityrisk sensitivity` on a hand-made 3 x 3 grid with
 * exact coverage fractions, zonal's ranking with ties, the quantiles, and the factors as
 * --factor and --factors give them. Expected values are worked out by hand in the comments. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/coverage.h"
#include "cityrisk/sensitivity.h"
#include "sensitivity/internal.h"

#define NEAR(a, b, tol) assert_true(fabs((a) - (b)) < (tol))

/* The square [0.5, 2.5] x [0.5, 2.5] in cell coordinates over a 3 x 3 grid: corner cells
 * are a quarter covered, edge cells half, the centre whole; its area is 4 cells. */
static const double SQUARE[] = {0.5, 0.5, 2.5, 0.5, 2.5, 2.5, 0.5, 2.5};

/* Per cell (row-major): sea indicator, water score 0-5, informal fraction, arrivals. */
static const float SEA[9] = {1, 0, 0, 0, 0, 0, 0, 0, NAN};
static const float WATER_SCORE[9] = {2, 2, 2, 2, 2, 2, 2, 2, 2};
static const float INFORMAL[9] = {0, 0.5f, 1, 0, 0.5f, 1, 0, 0.5f, 1};
static const float ARRIVALS[9] = {0, 0, 0, 1000, 1000, 1000, 0, 0, 0};

/* A model of one zone, the square, over the hand-made grid (cell area 1), a_ref 10. */
static void square_model(cr_sens_model *m, double *fractions)
{
    int ends[1] = {4};
    signed char sign[1] = {1};
    cr_rings rings = {SQUARE, ends, sign, 1};
    cr_window win = {0, 0, 3, 3};
    cr_coverage_scratch scratch = {0};
    assert_int_equal(cr_coverage(NULL, &rings, &win, &scratch, fractions), CR_OK);
    cr_coverage_scratch_free(&scratch);
    cr_normalise_opts norm;
    cr_normalise_opts_init(&norm);
    norm.arrivals_ref = 10;
    assert_true(cr_sens_model_init(m, 1, 1, &norm, 0, 0));
    for (int i = 0; i < 9; i++) {
        float sea = SEA[i];
        cr_sens_cell c = {fractions[i],
                          fractions[i] * 1.0,
                          WATER_SCORE[i] / 5,
                          INFORMAL[i],
                          ARRIVALS[i],
                          WATER_SCORE[i],
                          NAN,
                          &sea};
        if (fractions[i] > 0)
            assert_true(cr_sens_model_add(m, 0, &c));
    }
}

static cr_sens_point point(cr_score_method method, double aref)
{
    cr_sens_point p = {{0.25, 0.25, 0.25, 0.25}, method, aref, 0, 1.0};
    return p;
}

static void zone_score_by_hand(void **state)
{
    (void)state;
    double f[9];
    cr_sens_model m;
    square_model(&m, f);
    /* Coverage: corners 1/4, edges 1/2, centre 1. */
    NEAR(f[0], 0.25, 1e-12);
    NEAR(f[1], 0.5, 1e-12);
    NEAR(f[4], 1.0, 1e-12);
    double area = 4;
    cr_sens_point p = point(CR_METHOD_ARITHMETIC, 10);
    assert_true(cr_sens_model_finish(&m, &area, &p));
    /* Arithmetic, equal weights: S = 2.5 (sea + 0.4 + v + c_a), c_a = 1 where a = 1000 > a_ref:
     *   row 0: 3.5 (f 1/4), 2.25 (1/2), 3.5 (1/4)
     *   row 1: 3.5 (1/2), 4.75 (1), 6.0 (1/2)
     *   row 2: 1.0 (1/4), 2.25 (1/2), no sea depth: no score (1/4)
     * sum f S = 0.875 + 1.125 + 0.875 + 1.75 + 4.75 + 3 + 0.25 + 1.125 = 13.75 over
     * sum f = 3.75: 3.6666...; data_coverage 3.75 / 4 = 0.9375. */
    double score, uplift;
    cr_sens_model_run(&m, &p, &score, &uplift);
    NEAR(score, 13.75 / 3.75, 1e-6);
    NEAR(m.coverage[0], 0.9375, 1e-12);
    /* a_ref 2000: c_a = log1p(1000) / log1p(2000) on row 1, so each of its cells loses
     * 2.5 (1 - c_a), weighted 2 of the 3.75. */
    cr_sens_point q = point(CR_METHOD_ARITHMETIC, 2000);
    cr_sens_model_run(&m, &q, &score, &uplift);
    double ca = log1p(1000.0) / log1p(2000.0);
    NEAR(score, (13.75 - 2 * 2.5 * (1 - ca)) / 3.75, 1e-6);
    /* Geometric, weights 0.4, 0.2, 0.2, 0.2 (as given: already normalised): each cell as
     * cr_score_cell() scores it, Float32 indicators. */
    cr_sens_point g = {{0.4, 0.2, 0.2, 0.2}, CR_METHOD_GEOMETRIC, 10, 0, 1.0};
    cr_sens_model_run(&m, &g, &score, &uplift);
    double sum = 0, weight = 0;
    for (int i = 0; i < 8; i++) {
        double c[4] = {SEA[i], (float)(WATER_SCORE[i] / 5), INFORMAL[i], ARRIVALS[i] > 0 ? 1 : 0};
        double s = 10 *
                   (exp(0.4 * log1p(9 * c[0]) + 0.2 * log1p(9 * c[1]) + 0.2 * log1p(9 * c[2]) +
                        0.2 * log1p(9 * c[3])) -
                    1) /
                   9;
        sum += f[i] * s;
        weight += f[i];
    }
    NEAR(score, sum / weight, 1e-6);
    /* The cell (0, 0) alone: sea 1, water 0.4, informal 0, arrivals 0:
     * 10 ((10^0.4 * 4.6^0.2) - 1) / 9. */
    NEAR(10 * (pow(10, 0.4) * pow(1 + 9 * 0.4, 0.2) - 1) / 9,
         10 * (exp(0.4 * log1p(9.0) + 0.2 * log1p(9 * (double)0.4f)) - 1) / 9, 1e-6);
    cr_sens_model_release(&m);
}

static void a_zone_without_scores_is_nan(void **state)
{
    (void)state;
    cr_normalise_opts norm;
    cr_normalise_opts_init(&norm);
    norm.arrivals_ref = 10;
    cr_sens_model m;
    assert_true(cr_sens_model_init(&m, 2, 1, &norm, 0, 0));
    float sea = NAN;
    cr_sens_cell c = {1, 100, 0.4f, 0.5f, 3, 2, NAN, &sea};
    assert_true(cr_sens_model_add(&m, 0, &c));
    double area[2] = {100, NAN};
    cr_sens_point p = point(CR_METHOD_GEOMETRIC, 10);
    assert_true(cr_sens_model_finish(&m, area, &p));
    double score[2], uplift[2];
    cr_sens_model_run(&m, &p, score, uplift);
    assert_true(isnan(score[0]) && isnan(score[1]));
    NEAR(m.coverage[0], 0.0, 1e-12);
    assert_true(isnan(m.coverage[1]));
    cr_sens_model_release(&m);
}

static void ranks_as_zonal(void **state)
{
    (void)state;
    /* Ties share a rank and the next skips (1, 1, 3); a zone not eligible or without a
     * score has none. */
    const double score[6] = {3, 5, 5, NAN, 9, 1};
    const unsigned char eligible[6] = {1, 1, 1, 1, 0, 1};
    double rank[6];
    cr_sens_ranked order[6];
    cr_sens_rank(score, eligible, 6, rank, order);
    assert_true(rank[1] == 1 && rank[2] == 1 && rank[0] == 3 && rank[5] == 4);
    assert_true(isnan(rank[3]) && isnan(rank[4]));
}

static void quantiles_as_numpy(void **state)
{
    (void)state;
    double v[5] = {4, 1, NAN, 3, 2};
    /* numpy.nanquantile([1, 2, 3, 4], q): 1.75 at 0.25, 2.5 at 0.5, 3.85 at 0.95 */
    NEAR(cr_sens_quantile(v, 5, 0.25), 1.75, 1e-12);
    double w[4] = {4, 1, 3, 2};
    NEAR(cr_sens_quantile(w, 4, 0.5), 2.5, 1e-12);
    double x[4] = {4, 1, 3, 2};
    NEAR(cr_sens_quantile(x, 4, 0.95), 3.85, 1e-12);
    double none[1] = {NAN};
    assert_true(isnan(cr_sens_quantile(none, 1, 0.5)));
}

static void factor_specs(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_factor f[CR_SOBOL_MAX_FACTORS];
    int n = 0;
    char name[32];
    assert_int_equal(cr_factor_parse(ctx, "weight.sea=0.1:0.5", f, &n), CR_OK);
    assert_int_equal(n, 1);
    assert_true(f[0].kind == CR_FACTOR_WEIGHT && f[0].indicator == CR_IND_SEA && f[0].has_range);
    NEAR(f[0].min, 0.1, 1e-15);
    NEAR(f[0].max, 0.5, 1e-15);
    assert_string_equal(cr_factor_name(&f[0], name, sizeof name), "weight.sea");
    /* weights: the other three (weight.sea is there already: given twice). */
    assert_int_equal(cr_factor_parse(ctx, "weights", f, &n), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(ctx), "given twice"));
    n = 0;
    assert_int_equal(cr_factor_parse(ctx, "weights", f, &n), CR_OK);
    assert_int_equal(n, 4);
    assert_false(f[3].has_range);
    assert_int_equal(cr_factor_parse(ctx, "method=geometric,arithmetic", f, &n), CR_OK);
    assert_int_equal(f[4].nvalues, 2);
    assert_string_equal(f[4].values[1], "arithmetic");
    assert_int_equal(cr_factor_parse(ctx, "sea_level=ssp245-2100-p17,ssp245-2100", f, &n), CR_OK);
    assert_int_equal(f[5].nvalues, 2);
    assert_int_equal(cr_factor_parse(ctx, "arrivals_ref", f, &n), CR_OK);
    assert_int_equal(cr_factor_parse(ctx, "demand_share=0.5:1", f, &n), CR_OK);
    assert_int_equal(n, 8);
    assert_string_equal(cr_factor_name(&f[7], name, sizeof name), "demand_share");
    /* Refused, quoting the spec. */
    const char *bad[] = {"bogus",
                         "weight.sea=0.5:0.1",
                         "weight.sea=0.1",
                         "weight.sea=a:b",
                         "method=geometric,nonsense",
                         "method=1:2",
                         "weight.water=geometric",
                         "demand_share=0.5:1.2",
                         "method=geometric,geometric"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int m = 0;
        assert_int_equal(cr_factor_parse(ctx, bad[i], f, &m), CR_E_USAGE);
        assert_non_null(strstr(cr_ctx_error(ctx), bad[i]));
    }
    int m = 0;
    assert_int_equal(cr_factor_parse(ctx, "arrivals_ref=0:3", f, &m), CR_E_USAGE);
    cr_ctx_free(ctx);
}

static void factors_file(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    char *dir = tu_mkdtemp();
    char *good =
        tu_write_file(dir, "f.json",
                      "{\"factors\": [{\"name\": \"weight.sea\", \"min\": 0.15, \"max\": 0.45},"
                      " {\"name\": \"method\", \"values\": [\"geometric\", \"arithmetic\"]},"
                      " {\"name\": \"arrivals_ref\"}]}");
    cr_factor f[CR_SOBOL_MAX_FACTORS];
    int n = 0;
    assert_int_equal(cr_factors_read(ctx, good, f, &n), CR_OK);
    assert_int_equal(n, 3);
    NEAR(f[0].min, 0.15, 1e-15);
    assert_int_equal(f[1].nvalues, 2);
    assert_int_equal(f[2].kind, CR_FACTOR_ARRIVALS_REF);
    char *bad = tu_write_file(dir, "bad.json",
                              "{\"factors\": [{\"name\": \"method\"}, {\"name\": \"nope\"}]}");
    n = 0;
    assert_int_equal(cr_factors_read(ctx, bad, f, &n), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(ctx), "bad.json"));
    assert_non_null(strstr(cr_ctx_error(ctx), "item 2"));
    char *broken = tu_write_file(dir, "broken.json", "{\"factors\": [");
    n = 0;
    assert_int_equal(cr_factors_read(ctx, broken, f, &n), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(ctx), "broken.json"));
    free(good);
    free(bad);
    free(broken);
    tu_rmdir(dir);
    cr_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zone_score_by_hand), cmocka_unit_test(a_zone_without_scores_is_nan),
        cmocka_unit_test(ranks_as_zonal),     cmocka_unit_test(quantiles_as_numpy),
        cmocka_unit_test(factor_specs),       cmocka_unit_test(factors_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
