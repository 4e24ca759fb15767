/* test_classes.c: class schemes, INFORM's boundaries, Jenks against brute force,
 * quantile and equal breaks, and the deterministic sampler. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/classes.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))


/* Reverses a array so that the functions see unsorted input. */
static void reverse(double *v, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        double t = v[i];
        v[i] = v[n - 1 - i];
        v[n - 1 - i] = t;
    }
}

static void default_classes_put_a_value_at_a_break_in_the_upper_class(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_class_spec spec;
    assert_int_equal(cr_classes_parse(ctx, "fixed", &spec), CR_OK);
    assert_int_equal(spec.kind, CR_CLASSES_FIXED_DEFAULT);
    assert_int_equal(spec.count, 5);
    assert_false(cr_classes_need_data(&spec));
    const double inform[4] = {2.0, 3.5, 5.0, 6.5};
    for (int i = 0; i < 4; i++)
        assert_true(spec.breaks[i] == inform[i]);
    const double *b = spec.breaks;
    assert_int_equal(cr_class_of(b, 4, 0.0), 1);
    assert_int_equal(cr_class_of(b, 4, 1.999999), 1);
    assert_int_equal(cr_class_of(b, 4, 2.0), 2);
    assert_int_equal(cr_class_of(b, 4, 3.4999999), 2);
    assert_int_equal(cr_class_of(b, 4, 3.5), 3);
    assert_int_equal(cr_class_of(b, 4, 5.0), 4);
    assert_int_equal(cr_class_of(b, 4, 6.4999999), 4);
    assert_int_equal(cr_class_of(b, 4, 6.5), 5);
    assert_int_equal(cr_class_of(b, 4, 10.0), 5);
    assert_int_equal(cr_class_of(b, 4, NAN), 0);
    assert_int_equal(cr_class_of(b, 4, -INFINITY), 1);
    assert_int_equal(cr_class_of(b, 4, INFINITY), 5);
    assert_string_equal(cr_class_default_name(cr_class_of(b, 4, 2.0)), "Low");
    assert_string_equal(cr_class_default_name(cr_class_of(b, 4, 6.5)), "Very High");
    cr_ctx_free(ctx);
}

static void class_of_handles_no_breaks_and_repeated_breaks(void **state)
{
    (void)state;
    assert_int_equal(cr_class_of(NULL, 0, 42.0), 1);
    assert_int_equal(cr_class_of(NULL, 0, NAN), 0);
    /* Tied quantiles: [1, 1) is empty, so 1 is in class 3. */
    const double b[3] = {1, 1, 2};
    assert_int_equal(cr_class_of(b, 3, 0.5), 1);
    assert_int_equal(cr_class_of(b, 3, 1.0), 3);
    assert_int_equal(cr_class_of(b, 3, 1.5), 3);
    assert_int_equal(cr_class_of(b, 3, 2.0), 4);
    /* Every position of the binary search, against a linear count. */
    double many[31];
    for (int i = 0; i < 31; i++)
        many[i] = i;
    for (int n = 0; n <= 31; n++)
        for (int v = -1; v <= 32; v++) {
            int expect = 1;
            for (int i = 0; i < n; i++)
                expect += many[i] <= v + 0.5 * (v % 2);
            assert_int_equal(cr_class_of(many, n, v + 0.5 * (v % 2)), expect);
        }
}

static void default_names_cover_one_to_five(void **state)
{
    (void)state;
    const char *names[] = {"Very Low", "Low", "Medium", "High", "Very High"};
    for (int i = 1; i <= 5; i++)
        assert_string_equal(cr_class_default_name(i), names[i - 1]);
    assert_null(cr_class_default_name(0));
    assert_null(cr_class_default_name(6));
    assert_string_equal(cr_class_kind_name(CR_CLASSES_FIXED_DEFAULT), "fixed");
    assert_string_equal(cr_class_kind_name(CR_CLASSES_JENKS), "jenks");
    assert_string_equal(cr_class_kind_name((cr_class_kind)99), "unknown");
}

/* "fixed:1,2,...,count". */
static void fixed_list(char *text, size_t size, int count)
{
    snprintf(text, size, "fixed:1");
    for (int i = 2; i <= count; i++)
        snprintf(text + strlen(text), size - strlen(text), ",%d", i);
}

static void parse_reads_every_kind(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_class_spec spec;
    assert_int_equal(cr_classes_parse(ctx, "fixed:1, 2.5 ,4e0", &spec), CR_OK);
    assert_int_equal(spec.kind, CR_CLASSES_FIXED);
    assert_int_equal(spec.count, 4);
    assert_true(spec.breaks[0] == 1 && spec.breaks[1] == 2.5 && spec.breaks[2] == 4);
    assert_false(cr_classes_need_data(&spec));
    assert_int_equal(cr_classes_parse(ctx, "fixed:-0.5", &spec), CR_OK);
    assert_int_equal(spec.count, 2);
    assert_true(spec.breaks[0] == -0.5);

    struct { const char *text; cr_class_kind kind; int count; } ok[] = {
        {"quantile:4", CR_CLASSES_QUANTILE, 4},
        {"jenks:2", CR_CLASSES_JENKS, 2},
        {"jenks: 32 ", CR_CLASSES_JENKS, 32},
        {"equal:10", CR_CLASSES_EQUAL, 10},
    };
    for (size_t i = 0; i < LEN(ok); i++) {
        assert_int_equal(cr_classes_parse(ctx, ok[i].text, &spec), CR_OK);
        assert_int_equal(spec.kind, ok[i].kind);
        assert_int_equal(spec.count, ok[i].count);
        assert_true(cr_classes_need_data(&spec));
    }

    /* The most breaks: 31 of them, 32 classes. */
    char text[256];
    fixed_list(text, sizeof text, 31);
    assert_int_equal(cr_classes_parse(ctx, text, &spec), CR_OK);
    assert_int_equal(spec.count, CR_CLASSES_MAX);
    assert_true(spec.breaks[30] == 31);
    cr_ctx_free(ctx);
}

static void parse_rejects_bad_schemes_quoting_them(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_class_spec spec;
    const char *bad[] = {
        "fixed:3,2",     /* not increasing */
        "fixed:2,2",     /* not strictly increasing */
        "fixed:2,",      /* trailing comma */
        "fixed:,2",      /* leading comma */
        "fixed:2,,3",    /* empty item */
        "fixed:",        /* no breaks */
        "fixed:nan",     /* NaN break */
        "fixed:2,NaN",   /* NaN break, other case */
        "fixed:inf",     /* infinite */
        "fixed:1e999",   /* overflows to infinity */
        "fixed:0x10",    /* hexadecimal: strtod would take it */
        "fixed:2;3",     /* wrong separator */
        "fixed:2 3",     /* two numbers in one item */
        "jenks:1",       /* too few classes */
        "jenks:0",
        "jenks:x",
        "jenks:-3",
        "jenks:5.0",     /* not a whole number */
        "jenks:5x",
        "jenks:",
        "jenks",         /* no count */
        "quantile:33",   /* too many classes */
        "equal:1000",
        "kmeans:5",      /* unknown kind */
        "Fixed",         /* kind names are lower case */
        "fixedish",
        " fixed",
        "",
    };
    for (size_t i = 0; i < LEN(bad); i++) {
        cr_ctx_clear_error(ctx);
        assert_int_equal(cr_classes_parse(ctx, bad[i], &spec), CR_E_USAGE);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
        if (!strstr(cr_ctx_error(ctx), quoted))
            fail_msg("the message for \"%s\" does not quote it: %s", bad[i], cr_ctx_error(ctx));
    }
    assert_int_equal(cr_classes_parse(ctx, NULL, &spec), CR_E_USAGE);

    /* 32 breaks would be 33 classes. */
    char text[256];
    fixed_list(text, sizeof text, 32);
    assert_int_equal(cr_classes_parse(ctx, text, &spec), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(ctx), "more than 31 breaks"));
    cr_ctx_free(ctx);
}

/* ------------------------------------------------------------------------------------ */
/* Jenks */

/* Sum of squared deviations from their mean of v[0..n). */
static double sse(const double *v, size_t n)
{
    double mean = 0, s = 0;
    for (size_t i = 0; i < n; i++)
        mean += v[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        s += (v[i] - mean) * (v[i] - mean);
    return s;
}

/* The within-class squared deviations of values classed by breaks; -1 when a class is
 * empty (not a valid k-class partition). */
static double classed_sse(const double *values, size_t n, const double *breaks, int k)
{
    double total = 0;
    double *member = malloc(n * sizeof *member);
    for (int c = 1; c <= k; c++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (cr_class_of(breaks, k - 1, values[i]) == c)
                member[m++] = values[i];
        if (m == 0) {
            free(member);
            return -1;
        }
        total += sse(member, m);
    }
    free(member);
    return total;
}

/* Fails unless the breaks class values into k non-empty classes whose squared
 * deviations are the optimum best (to rounding). */
static void assert_optimal(const double *values, size_t n, const double *breaks, int k,
                           double best, int trial)
{
    double got = classed_sse(values, n, breaks, k);
    if (!(got >= 0) || fabs(got - best) > 1e-9 * (1 + best))
        fail_msg("trial %d (n %zu, k %d): breaks give %.17g, the optimum is %.17g", trial, n, k,
                 got, best);
}

/* The least within-class squared deviations over every way of cutting the sorted
 * x[start..n) into k non-empty runs (cuts between equal values included), and the
 * first cut positions of a best one. */
static double brute_force(const double *x, size_t start, size_t n, int k, size_t *cuts)
{
    if (k == 1)
        return sse(x + start, n - start);
    double best = INFINITY;
    size_t rest[CR_CLASSES_MAX];
    for (size_t cut = start + 1; cut + (size_t)(k - 1) <= n; cut++) {
        double c = sse(x + start, cut - start) + brute_force(x, cut, n, k - 1, rest);
        if (c < best) {
            best = c;
            cuts[0] = cut;
            memcpy(cuts + 1, rest, (size_t)(k - 2) * sizeof *cuts);
        }
    }
    return best;
}

static void jenks_finds_the_obvious_groups(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    double v[] = {21, 3, 12, 1, 20, 11, 2, 22, 10};
    double b[2];
    assert_int_equal(cr_jenks_breaks(ctx, v, LEN(v), 3, b), CR_OK);
    assert_true(b[0] == 10 && b[1] == 20);
    /* Two classes, by hand: cutting at 10 leaves {1,2,3} (2) + {10..22} (154) = 156;
     * cutting at 20 leaves {1..12} (125.5) + {20,21,22} (2) = 127.5, the least. */
    assert_int_equal(cr_jenks_breaks(ctx, v, LEN(v), 2, b), CR_OK);
    assert_true(b[0] == 20);
    cr_ctx_free(ctx);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void jenks_matches_a_twelve_value_example(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    /* A small example common in natural-breaks documentation: the classes are
     * {1.2, 1.3, 2.3}, {3.9 .. 5.0}, {7.1 .. 7.8}, so the breaks are 3.9 and 7.1; the
     * brute force confirms that this is the optimum. */
    double v[] = {1.3, 7.1, 7.3, 2.3, 3.9, 4.1, 7.8, 1.2, 4.3, 7.3, 5.0, 4.3};
    double sorted[LEN(v)], b[2];
    size_t cuts[2] = {0, 0};
    memcpy(sorted, v, sizeof v);
    qsort(sorted, LEN(v), sizeof *sorted, cmp_double);
    brute_force(sorted, 0, LEN(v), 3, cuts);
    assert_true(sorted[cuts[0]] == 3.9 && sorted[cuts[1]] == 7.1);
    assert_int_equal(cr_jenks_breaks(ctx, v, LEN(v), 3, b), CR_OK);
    assert_true(b[0] == 3.9 && b[1] == 7.1);
    cr_ctx_free(ctx);
}

static void jenks_matches_brute_force_on_random_arrays(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    tu_rng_state = UINT64_C(0x243F6A8885A308D3);
    int checked = 0;
    for (int trial = 0; trial < 300; trial++) {
        size_t n = 3 + (size_t)(tu_rng_next() % 9); /* 3..11 */
        int ties = trial % 2;                   /* every other array on a coarse grid */
        double v[16], sorted[16], b[CR_CLASSES_MAX];
        for (size_t i = 0; i < n; i++)
            v[i] = ties ? (double)(tu_rng_next() % 6) : 100 * tu_rng_unit() - 20;
        memcpy(sorted, v, n * sizeof *v);
        qsort(sorted, n, sizeof *sorted, cmp_double);
        size_t distinct = 1;
        for (size_t i = 1; i < n; i++)
            distinct += sorted[i] != sorted[i - 1];
        int k = 2 + (int)(tu_rng_next() % 4); /* 2..5 */
        double work[16];
        memcpy(work, v, n * sizeof *v);
        if ((size_t)k > distinct) {
            assert_int_equal(cr_jenks_breaks(ctx, work, n, k, b), CR_E_DATA);
            continue;
        }
        assert_int_equal(cr_jenks_breaks(ctx, work, n, k, b), CR_OK);
        size_t cuts[CR_CLASSES_MAX] = {0};
        double best = brute_force(sorted, 0, n, k, cuts);
        assert_optimal(v, n, b, k, best, trial);
        /* Without ties the optimum is unique here, so the breaks are the brute force's. */
        if (!ties)
            for (int c = 0; c < k - 1; c++)
                assert_true(b[c] == sorted[cuts[c]]);
        checked++;
    }
    assert_true(checked >= 200);
    cr_ctx_free(ctx);
}

/* The least within-class squared deviations of sorted x[0..n) in k classes by the
 * textbook O(k n^2) dynamic programme over every cut position, each class's deviations
 * accumulated from scratch: slow, and independent of the library's prefix sums, tie
 * merging and divide-and-conquer rows. */
static double reference_dp(const double *x, size_t n, int k)
{
    double *prev = malloc((n + 1) * sizeof *prev), *cur = malloc((n + 1) * sizeof *cur);
    for (size_t i = 1; i <= n; i++)
        prev[i] = sse(x, i);
    for (int c = 2; c <= k; c++) {
        for (size_t i = (size_t)c; i <= n; i++) {
            /* The last class is x[j..i): grow it leftwards with a running mean. */
            double best = INFINITY, mean = 0, m2 = 0;
            for (size_t j = i; j-- > (size_t)c - 1;) {
                double w = (double)(i - j), delta = x[j] - mean;
                mean += delta / w;
                m2 += delta * (x[j] - mean);
                if (prev[j] + m2 < best)
                    best = prev[j] + m2;
            }
            cur[i] = best;
        }
        double *t = prev;
        prev = cur;
        cur = t;
    }
    double best = prev[n];
    free(prev);
    free(cur);
    return best;
}

static void jenks_matches_the_quadratic_programme_on_larger_arrays(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    tu_rng_state = UINT64_C(0x13198A2E03707344);
    for (int trial = 0; trial < 40; trial++) {
        size_t n = 50 + (size_t)(tu_rng_next() % 250);
        int k = 2 + (int)(tu_rng_next() % 9); /* 2..10 */
        double *v = malloc(n * sizeof *v), *sorted = malloc(n * sizeof *v);
        double *work = malloc(n * sizeof *v), b[CR_CLASSES_MAX];
        for (size_t i = 0; i < n; i++) {
            /* skewed scores on 0-10, every third array rounded to 0.1 (many ties) */
            double u = tu_rng_unit();
            v[i] = 10 * u * u * u;
            if (trial % 3 == 0)
                v[i] = round(v[i] * 10) / 10;
        }
        memcpy(sorted, v, n * sizeof *v);
        qsort(sorted, n, sizeof *sorted, cmp_double);
        memcpy(work, v, n * sizeof *v);
        assert_int_equal(cr_jenks_breaks(ctx, work, n, k, b), CR_OK);
        assert_optimal(v, n, b, k, reference_dp(sorted, n, k), trial);
        free(v);
        free(sorted);
        free(work);
    }
    cr_ctx_free(ctx);
}

static void jenks_keeps_equal_values_together(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    double b[CR_CLASSES_MAX];
    /* Mostly zeros (the inform method gives 0 wherever nobody arrives). */
    double v[] = {0, 5, 0, 0, 10, 0, 5, 0, 0};
    assert_int_equal(cr_jenks_breaks(ctx, v, LEN(v), 3, b), CR_OK);
    assert_true(b[0] == 5 && b[1] == 10);
    double halves[] = {1, 0, 1, 0, 1, 0, 1, 0};
    assert_int_equal(cr_jenks_breaks(ctx, halves, LEN(halves), 2, b), CR_OK);
    assert_true(b[0] == 1);
    /* Three distinct values cannot make four classes. */
    double few[] = {1, 1, 2, 2, 3, 3};
    assert_int_equal(cr_jenks_breaks(ctx, few, LEN(few), 4, b), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(ctx), "the data have 3"));
    cr_ctx_free(ctx);
}

static void jenks_rejects_bad_input(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    double b[CR_CLASSES_MAX];
    double v[] = {1, 2, NAN, 4};
    assert_int_equal(cr_jenks_breaks(ctx, v, LEN(v), 2, b), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(ctx), "value 3 of 4"));
    double w[] = {1, 2, 3, 4};
    assert_int_equal(cr_jenks_breaks(ctx, w, 0, 2, b), CR_E_DATA);
    assert_int_equal(cr_jenks_breaks(ctx, w, LEN(w), 1, b), CR_E_USAGE);
    assert_int_equal(cr_jenks_breaks(ctx, w, LEN(w), CR_CLASSES_MAX + 1, b), CR_E_USAGE);
    cr_ctx_free(ctx);
}

static void jenks_separates_clusters_in_a_full_sample(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    /* 10 000 values in five clusters of width 1 around 1, 3, 5, 7, 9 (gaps of 1): the
     * optimum puts each cluster in its own class, so each break is the least value of a
     * cluster. */
    tu_rng_state = 7;
    size_t n = CR_JENKS_SAMPLE;
    double *v = malloc(n * sizeof *v);
    double least[5] = {INFINITY, INFINITY, INFINITY, INFINITY, INFINITY};
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i % 5);
        v[i] = 0.5 + 2 * c + tu_rng_unit();
        if (v[i] < least[c])
            least[c] = v[i];
    }
    double b[4];
    assert_int_equal(cr_jenks_breaks(ctx, v, n, 5, b), CR_OK);
    for (int c = 0; c < 4; c++)
        assert_true(b[c] == least[c + 1]);
    free(v);
    cr_ctx_free(ctx);
}

/* ------------------------------------------------------------------------------------ */
/* Equal and quantile breaks */

static void equal_breaks_split_the_range_evenly(void **state)
{
    (void)state;
    double b[4];
    cr_equal_breaks(0, 10, 5, b);
    assert_true(b[0] == 2 && b[1] == 4 && b[2] == 6 && b[3] == 8);
    cr_equal_breaks(-1, 1, 4, b);
    assert_true(b[0] == -0.5 && b[1] == 0 && b[2] == 0.5);
    cr_equal_breaks(3, 3, 3, b);
    assert_true(b[0] == 3 && b[1] == 3);
    assert_int_equal(cr_class_of(b, 2, 3), 3);
}

static void quantile_breaks_interpolate_as_numpy(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    double b[CR_CLASSES_MAX];
    /* 1..100, reversed: h = 99 q = 24.75, 49.5, 74.25, so 25 + 0.75, 50 + 0.5, 75 + 0.25. */
    double v[100];
    for (int i = 0; i < 100; i++)
        v[i] = i + 1;
    reverse(v, 100);
    assert_int_equal(cr_quantile_breaks(ctx, v, 100, 4, b), CR_OK);
    assert_true(b[0] == 25.75 && b[1] == 50.5 && b[2] == 75.25);
    /* {1, 2, 3, 10}, terciles: h = 3 / 3 = 1 and 3 * 2 / 3 = 2, order statistics 2 and 3. */
    double w[] = {10, 3, 1, 2};
    assert_int_equal(cr_quantile_breaks(ctx, w, LEN(w), 3, b), CR_OK);
    assert_true(b[0] == 2 && b[1] == 3);
    /* Two values, quartiles: h = 0.25, 0.5, 0.75 between 1 and 2. */
    double two[] = {2, 1};
    assert_int_equal(cr_quantile_breaks(ctx, two, 2, 4, b), CR_OK);
    assert_true(b[0] == 1.25 && b[1] == 1.5 && b[2] == 1.75);
    /* One value: every quantile is it. */
    double one[] = {7};
    assert_int_equal(cr_quantile_breaks(ctx, one, 1, 3, b), CR_OK);
    assert_true(b[0] == 7 && b[1] == 7);
    /* Ties repeat a break: the median of {0, 0, 0, 0, 1} is 0. */
    double tied[] = {0, 1, 0, 0, 0};
    assert_int_equal(cr_quantile_breaks(ctx, tied, LEN(tied), 2, b), CR_OK);
    assert_true(b[0] == 0);
    cr_ctx_free(ctx);
}

static void quantile_breaks_reject_bad_input(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    double b[CR_CLASSES_MAX];
    double v[] = {1, INFINITY};
    assert_int_equal(cr_quantile_breaks(ctx, v, 2, 2, b), CR_E_DATA);
    assert_int_equal(cr_quantile_breaks(ctx, v, 0, 2, b), CR_E_DATA);
    assert_int_equal(cr_quantile_breaks(ctx, v, 1, 1, b), CR_E_USAGE);
    cr_ctx_free(ctx);
}

/* ------------------------------------------------------------------------------------ */
/* Sampler */

static void sampler_keeps_a_short_stream_whole_and_in_order(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_sampler s;
    assert_int_equal(cr_sampler_init(ctx, &s, 10), CR_OK);
    for (int i = 0; i < 7; i++)
        cr_sampler_add(&s, i * 1.5);
    assert_int_equal(s.n, 7);
    assert_int_equal(s.seen, 7);
    for (int i = 0; i < 7; i++)
        assert_true(s.values[i] == i * 1.5);
    cr_sampler_free(&s);
    assert_null(s.values);
    cr_sampler_free(&s); /* twice, and NULL: both fine */
    cr_sampler_free(NULL);
    assert_int_equal(cr_sampler_init(ctx, &s, 0), CR_E_USAGE);
    cr_ctx_free(ctx);
}

static void fill(cr_sampler *s, int count)
{
    for (int i = 0; i < count; i++)
        cr_sampler_add(s, i);
}

static void sampler_is_deterministic_bounded_and_uniform(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_sampler a, b;
    assert_int_equal(cr_sampler_init(ctx, &a, 1000), CR_OK);
    assert_int_equal(cr_sampler_init(ctx, &b, 1000), CR_OK);
    fill(&a, 100000);
    fill(&b, 100000);
    assert_int_equal(a.n, 1000);
    assert_int_equal(a.seen, 100000);
    assert_memory_equal(a.values, b.values, 1000 * sizeof *a.values);
    /* Distinct stream values stay distinct, each from the stream; about a tenth of the
     * sample in each tenth of the stream (binomial: mean 100, sd 9.5). */
    char *taken = calloc(100000, 1);
    int decile[10] = {0};
    for (size_t i = 0; i < a.n; i++) {
        double v = a.values[i];
        assert_true(v >= 0 && v < 100000 && v == floor(v));
        assert_false(taken[(int)v]);
        taken[(int)v] = 1;
        decile[(int)v / 10000]++;
    }
    for (int d = 0; d < 10; d++)
        if (decile[d] < 60 || decile[d] > 140)
            fail_msg("tenth %d of the stream has %d of 1000 sampled values", d, decile[d]);
    free(taken);
    /* One more value gives another sample state, not the same one. */
    cr_sampler_add(&b, 5);
    assert_int_equal(b.seen, 100001);
    assert_true(a.state != b.state);
    cr_sampler_free(&a);
    cr_sampler_free(&b);
    cr_ctx_free(ctx);
}

static void sampler_sample_is_pinned(void **state)
{
    (void)state;
    /* The sample of 0..999 with cap 5 and of 0..99 with cap 8, from a separate Python
     * transcription of Algorithm R with this seed; splitmix64 itself gives the
     * published sequence (seed 0: 0xe220a8397b1dcdaf, ...). A change here changes every
     * jenks map: the samples must stay the same across versions and machines. */
    cr_ctx *ctx = cr_ctx_new();
    cr_sampler s;
    const double first[5] = {138, 590, 38, 658, 282};
    const double second[8] = {94, 32, 41, 3, 11, 91, 81, 98};
    assert_int_equal(cr_sampler_init(ctx, &s, 5), CR_OK);
    fill(&s, 1000);
    assert_memory_equal(s.values, first, sizeof first);
    cr_sampler_free(&s);
    assert_int_equal(cr_sampler_init(ctx, &s, 8), CR_OK);
    fill(&s, 100);
    assert_memory_equal(s.values, second, sizeof second);
    cr_sampler_free(&s);
    cr_ctx_free(ctx);
}

/* YlOrRd's five stops for five classes; three classes take the first, middle and last stop;
 * four interpolate: class 2 of 4 sits a third of the way from stop 2 (254,204,92) to stop 3
 * (253,141,60): 254 - 1/3 = 253.67 -> 254, 204 - 63/3 = 183, 92 - 32/3 = 81.33 -> 81. */
static void class_colours_are_ylorrd(void **state)
{
    (void)state;
    const char *five[] = {"#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"};
    char buf[16];
    for (int k = 1; k <= 5; k++) {
        cr_class_colour(k, 5, buf, sizeof buf);
        assert_string_equal(buf, five[k - 1]);
    }
    cr_class_colour(2, 3, buf, sizeof buf);
    assert_string_equal(buf, "#fd8d3c");
    cr_class_colour(3, 3, buf, sizeof buf);
    assert_string_equal(buf, "#bd0026");
    cr_class_colour(2, 4, buf, sizeof buf);
    assert_string_equal(buf, "#feb751");
    cr_class_colour(1, 1, buf, sizeof buf);
    assert_string_equal(buf, "#ffffb2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_classes_put_a_value_at_a_break_in_the_upper_class),
        cmocka_unit_test(class_of_handles_no_breaks_and_repeated_breaks),
        cmocka_unit_test(default_names_cover_one_to_five),
        cmocka_unit_test(parse_reads_every_kind),
        cmocka_unit_test(parse_rejects_bad_schemes_quoting_them),
        cmocka_unit_test(jenks_finds_the_obvious_groups),
        cmocka_unit_test(jenks_matches_a_twelve_value_example),
        cmocka_unit_test(jenks_matches_brute_force_on_random_arrays),
        cmocka_unit_test(jenks_matches_the_quadratic_programme_on_larger_arrays),
        cmocka_unit_test(jenks_keeps_equal_values_together),
        cmocka_unit_test(jenks_rejects_bad_input),
        cmocka_unit_test(jenks_separates_clusters_in_a_full_sample),
        cmocka_unit_test(equal_breaks_split_the_range_evenly),
        cmocka_unit_test(quantile_breaks_interpolate_as_numpy),
        cmocka_unit_test(quantile_breaks_reject_bad_input),
        cmocka_unit_test(sampler_keeps_a_short_stream_whole_and_in_order),
        cmocka_unit_test(sampler_is_deterministic_bounded_and_uniform),
        cmocka_unit_test(sampler_sample_is_pinned),
        cmocka_unit_test(class_colours_are_ylorrd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
