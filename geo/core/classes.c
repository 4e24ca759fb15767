/* classes.c: classing schemes, class breaks from data, and the deterministic sampler. */
#include "cityrisk/classes.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/number.h"
#include "internal.h"
#include "random.h"

/* INFORM's class breaks (SCORING.md section 4). */
static const double INFORM_BREAKS[] = {2.0, 3.5, 5.0, 6.5};
#define INFORM_CLASSES ((int)(sizeof INFORM_BREAKS / sizeof INFORM_BREAKS[0]) + 1)

static const char *const CLASS_NAMES[INFORM_CLASSES] = {"Very Low", "Low", "Medium", "High",
                                                        "Very High"};

/* Indexed by cr_class_kind. */
static const char *const KIND_NAMES[] = {"fixed", "fixed", "quantile", "jenks", "equal"};
#define KINDS ((int)(sizeof KIND_NAMES / sizeof KIND_NAMES[0]))

static const char SYNTAX[] = "fixed, fixed:b1,b2,..., quantile:N, jenks:N or equal:N";

/* ------------------------------------------------------------------------------------ */
/* Parsing */

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Reads the n characters at item, blanks around allowed, as a finite decimal number
 * (cityrisk/number.h): not "nan", "inf" or hexadecimal, none of which is a sensible
 * break. */
static int parse_decimal(const char *item, size_t n, double *out)
{
    return cr_number_parse(item, n, out) == CR_NUMBER_FINITE;
}

/* Reads a whole number of at most 3 digits, blanks around allowed: enough for any
 * valid class count, and no overflow to guard against. */
static int parse_count(const char *s, int *out)
{
    while (is_blank(*s))
        s++;
    int v = 0, digits = 0;
    while (isdigit((unsigned char)*s) && digits < 3)
        v = v * 10 + (*s++ - '0'), digits++;
    while (is_blank(*s))
        s++;
    if (!digits || *s)
        return 0;
    *out = v;
    return 1;
}

static int blank_span(const char *s, size_t n)
{
    while (n && is_blank(*s))
        s++, n--;
    return n == 0;
}

/* Reads the comma-separated breaks after "fixed:" into out. */
static cr_status parse_fixed(cr_ctx *ctx, const char *text, const char *list, cr_class_spec *out)
{
    const char *p = list, *prev = NULL;
    size_t prev_n = 0;
    int nb = 0;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (nb == CR_CLASSES_MAX - 1)
            return cr_ctx_fail(ctx, CR_E_USAGE, "classes '%s': more than %d breaks", text,
                               CR_CLASSES_MAX - 1);
        if (blank_span(p, n))
            return cr_ctx_fail(ctx, CR_E_USAGE, "classes '%s': break %d is empty", text, nb + 1);
        if (!parse_decimal(p, n, &out->breaks[nb]))
            return cr_ctx_fail(ctx, CR_E_USAGE, "classes '%s': break '%.*s' is not a finite number",
                               text, (int)n, p);
        if (nb > 0 && !(out->breaks[nb] > out->breaks[nb - 1]))
            return cr_ctx_fail(ctx, CR_E_USAGE,
                               "classes '%s': breaks must increase, but '%.*s' follows '%.*s'", text,
                               (int)n, p, (int)prev_n, prev);
        prev = p;
        prev_n = n;
        nb++;
        if (!comma)
            break;
        p = comma + 1;
    }
    out->count = nb + 1;
    return CR_OK;
}

void cr_classes_default(cr_class_spec *out)
{
    memset(out, 0, sizeof *out);
    out->kind = CR_CLASSES_FIXED_DEFAULT;
    out->count = INFORM_CLASSES;
    memcpy(out->breaks, INFORM_BREAKS, sizeof INFORM_BREAKS);
}

cr_status cr_classes_parse(cr_ctx *ctx, const char *text, cr_class_spec *out)
{
    const char *t = text ? text : "";
    memset(out, 0, sizeof *out);
    if (strcmp(t, "fixed") == 0) {
        cr_classes_default(out);
        return CR_OK;
    }
    const char *colon = strchr(t, ':');
    size_t len = colon ? (size_t)(colon - t) : strlen(t);
    int kind = -1;
    for (int i = CR_CLASSES_FIXED; i < KINDS; i++)
        if (len == strlen(KIND_NAMES[i]) && strncmp(t, KIND_NAMES[i], len) == 0)
            kind = i;
    if (kind < 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "unknown classes '%s' (%s)", t, SYNTAX);
    out->kind = (cr_class_kind)kind;
    if (!colon)
        return cr_ctx_fail(ctx, CR_E_USAGE, "classes '%s': give the number of classes, as '%s:5'",
                           t, t);
    if (kind == CR_CLASSES_FIXED)
        return parse_fixed(ctx, t, colon + 1, out);
    if (!parse_count(colon + 1, &out->count) || out->count < 2 || out->count > CR_CLASSES_MAX)
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "classes '%s': the number of classes must be a whole number from 2 to %d",
                           t, CR_CLASSES_MAX);
    return CR_OK;
}

int cr_classes_need_data(const cr_class_spec *spec)
{
    return spec->kind == CR_CLASSES_QUANTILE || spec->kind == CR_CLASSES_JENKS ||
           spec->kind == CR_CLASSES_EQUAL;
}

const char *cr_class_kind_name(cr_class_kind kind)
{
    return kind >= 0 && (int)kind < KINDS ? KIND_NAMES[kind] : "unknown";
}

const char *cr_class_default_name(int class_index)
{
    return class_index >= 1 && class_index <= INFORM_CLASSES ? CLASS_NAMES[class_index - 1] : NULL;
}

int cr_class_of(const double *breaks, int nbreaks, double value)
{
    if (isnan(value))
        return 0;
    /* The number of breaks <= value: the first break above value bounds its class. */
    int lo = 0, hi = nbreaks;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (breaks[mid] <= value)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo + 1;
}

/* ------------------------------------------------------------------------------------ */
/* Breaks from data */

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts values after checking that they are finite (NaN has no place in an order). */
static cr_status sort_finite(cr_ctx *ctx, const char *what, int k, double *values, size_t n)
{
    if (k < 2 || k > CR_CLASSES_MAX)
        return cr_ctx_fail(ctx, CR_E_USAGE, "%s: %d classes; the number must be from 2 to %d", what,
                           k, CR_CLASSES_MAX);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(values[i]))
            return cr_ctx_fail(ctx, CR_E_DATA, "%s: value %zu of %zu is not a finite number (%g)",
                               what, i + 1, n, values[i]);
    qsort(values, n, sizeof *values, compare_doubles);
    return CR_OK;
}

void cr_equal_breaks(double min, double max, int k, double *breaks)
{
    for (int i = 1; i < k; i++)
        breaks[i - 1] = min + i * (max - min) / k;
}

cr_status cr_quantile_breaks(cr_ctx *ctx, double *values, size_t n, int k, double *breaks)
{
    cr_status st = sort_finite(ctx, "quantile breaks", k, values, n);
    if (st != CR_OK)
        return st;
    if (n == 0)
        return cr_ctx_fail(ctx, CR_E_DATA, "quantile breaks: no values");
    for (int i = 1; i < k; i++) {
        /* numpy's 'linear' method: virtual index (n - 1) q, and its _lerp, which
         * interpolates from the nearer end so that the result is monotone in q and
         * exact at both ends. */
        double h = (double)(n - 1) * ((double)i / k);
        double lo = floor(h), g = h - lo;
        size_t j = (size_t)lo;
        double a = values[j], b = j + 1 < n ? values[j + 1] : a, d = b - a;
        breaks[i - 1] = g >= 0.5 ? b - d * (1 - g) : a + d * g;
    }
    return CR_OK;
}

/* Fisher's dynamic programme over m distinct values, as prefix sums of the weights
 * (counts), the shifted values and their squares: the squared deviations of the groups
 * [a, b) cost sum x^2 - (sum x)^2 / w in O(1). */
typedef struct jenks_dp {
    const double *w, *s1, *s2; /* prefix sums, m + 1 each */
    const double *prev;        /* best cost of groups [0, j) in c - 1 classes */
    double *cur;               /* best cost of groups [0, i) in c classes */
    size_t *back;              /* the start of the last class of that best, per i */
} jenks_dp;

static double group_cost(const jenks_dp *dp, size_t a, size_t b)
{
    double w = dp->w[b] - dp->w[a], s = dp->s1[b] - dp->s1[a];
    double c = dp->s2[b] - dp->s2[a] - s * s / w;
    return c > 0 ? c : 0; /* rounding may leave a constant group slightly negative */
}

/* Fills cur[i] and back[i] for i in [ilo, ihi], knowing that the leftmost best split of
 * each lies in [jlo, jhi]. The leftmost best split does not decrease with i (the cost
 * obeys the quadrangle inequality), so the middle row's split bounds both halves:
 * O(m log m) evaluations per class count instead of O(m^2). */
static void solve_rows(jenks_dp *dp, size_t ilo, size_t ihi, size_t jlo, size_t jhi)
{
    while (ilo <= ihi) {
        size_t mid = ilo + (ihi - ilo) / 2, last = jhi < mid - 1 ? jhi : mid - 1;
        size_t best = jlo;
        double best_cost = INFINITY;
        for (size_t j = jlo; j <= last; j++) {
            double c = dp->prev[j] + group_cost(dp, j, mid);
            if (c < best_cost) {
                best_cost = c;
                best = j;
            }
        }
        dp->cur[mid] = best_cost;
        dp->back[mid] = best;
        if (mid > ilo)
            solve_rows(dp, ilo, mid - 1, jlo, best);
        /* The upper half as a loop: recursion depth stays log2(m). */
        ilo = mid + 1;
        jlo = best;
    }
}

cr_status cr_jenks_breaks(cr_ctx *ctx, double *values, size_t n, int k, double *breaks)
{
    cr_status st = sort_finite(ctx, "jenks breaks", k, values, n);
    if (st != CR_OK)
        return st;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += i == 0 || values[i] != values[i - 1];
    if (m < (size_t)k)
        return cr_ctx_fail(ctx, CR_E_DATA,
                           "jenks breaks: %d classes need at least %d distinct values; the data have %zu",
                           k, k, m);

    /* One block: prefix sums w, s1, s2, rows prev and cur, the distinct values; then the
     * back-pointers of class counts 2..k, (m + 1) each. */
    double *buf = malloc(6 * (m + 1) * sizeof *buf);
    size_t *back = malloc((size_t)(k - 1) * (m + 1) * sizeof *back);
    if (!buf || !back) {
        free(buf);
        free(back);
        return cr_ctx_fail(ctx, CR_E_IO, "jenks breaks: out of memory for %zu distinct values", m);
    }
    double *w = buf, *s1 = w + (m + 1), *s2 = s1 + (m + 1), *prev = s2 + (m + 1);
    double *cur = prev + (m + 1), *distinct = cur + (m + 1);
    /* Shifting by the median keeps sum x^2 small next to the costs it is differenced
     * into, which matters for scores far from 0 with a small spread. */
    double shift = values[n / 2];
    w[0] = s1[0] = s2[0] = 0;
    size_t g = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || values[i] != values[i - 1]) {
            distinct[g] = values[i];
            g++;
            w[g] = w[g - 1];
            s1[g] = s1[g - 1];
            s2[g] = s2[g - 1];
        }
        double x = values[i] - shift;
        w[g] += 1;
        s1[g] += x;
        s2[g] += x * x;
    }

    jenks_dp dp = {w, s1, s2, prev, cur, NULL};
    for (size_t i = 1; i <= m; i++)
        prev[i] = group_cost(&dp, 0, i);
    for (int c = 2; c <= k; c++) {
        dp.back = back + (size_t)(c - 2) * (m + 1);
        /* c classes need at least c groups; the last count only needs all m. */
        solve_rows(&dp, c == k ? m : (size_t)c, m, (size_t)c - 1, m - 1);
        double *t = (double *)dp.prev;
        dp.prev = dp.cur;
        dp.cur = t;
    }
    /* Walk back from all m groups in k classes: each split is the first group of the
     * upper class, whose smallest value is the break. */
    size_t i = m;
    for (int c = k; c >= 2; c--) {
        i = back[(size_t)(c - 2) * (m + 1) + i];
        breaks[c - 2] = distinct[i];
    }
    free(back);
    free(buf);
    return CR_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Sampler */

/* The sampler's fixed seed: any constant does; this one spells "cityrisk". */
#define SAMPLER_SEED UINT64_C(0x6369747972697363)

cr_status cr_sampler_init(cr_ctx *ctx, cr_sampler *s, size_t cap)
{
    memset(s, 0, sizeof *s);
    if (cap == 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "sampler: the sample size must be at least 1");
    s->values = malloc(cap * sizeof *s->values);
    if (!s->values)
        return cr_ctx_fail(ctx, CR_E_IO, "sampler: out of memory for %zu values", cap);
    s->cap = cap;
    s->state = SAMPLER_SEED;
    return CR_OK;
}

void cr_sampler_add(cr_sampler *s, double value)
{
    /* Algorithm R: the first cap values fill the reservoir; value number t + 1 then
     * replaces a random slot with probability cap / (t + 1). */
    uint64_t t = s->seen++;
    if (t < s->cap) {
        s->values[s->n++] = value;
        return;
    }
    uint64_t j = cr_uniform_below(&s->state, t + 1);
    if (j < s->cap)
        s->values[j] = value;
}

void cr_sampler_free(cr_sampler *s)
{
    if (!s)
        return;
    free(s->values);
    memset(s, 0, sizeof *s);
}

/* ColorBrewer YlOrRd, 5 classes. */
static const unsigned char YLORRD[][3] = {
    {255, 255, 178}, {254, 204, 92}, {253, 141, 60}, {240, 59, 32}, {189, 0, 38}};
#define YLORRD_STOPS ((int)(sizeof YLORRD / sizeof YLORRD[0]))

void cr_class_colour(int k, int count, char *buf, size_t size)
{
    double at = count > 1 ? (double)(k - 1) * (YLORRD_STOPS - 1) / (count - 1) : 0;
    int i = (int)at;
    if (i >= YLORRD_STOPS - 1)
        i = YLORRD_STOPS - 2;
    if (i < 0)
        i = 0;
    double f = at - i;
    int rgb[3];
    for (int c = 0; c < 3; c++)
        rgb[c] = (int)lround(YLORRD[i][c] + f * (YLORRD[i + 1][c] - YLORRD[i][c]));
    snprintf(buf, size, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}
