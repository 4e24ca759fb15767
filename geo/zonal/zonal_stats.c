/* zonal_stats.c: the generic statistics: their specification and the weighted
 * quantiles. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/number.h"
#include "cityrisk/zonal.h"
#include "core/internal.h"

static const struct {
    const char *name;
    cr_stat_kind kind;
    int arg; /* 0 none, 1 number, 2 name */
} STATS[] = {
    {"count", CR_STAT_COUNT, 0},       {"sum", CR_STAT_SUM, 0},
    {"mean", CR_STAT_MEAN, 0},         {"min", CR_STAT_MIN, 0},
    {"max", CR_STAT_MAX, 0},           {"stdev", CR_STAT_STDEV, 0},
    {"median", CR_STAT_MEDIAN, 0},     {"quantile", CR_STAT_QUANTILE, 1},
    {"majority", CR_STAT_MAJORITY, 0}, {"frac", CR_STAT_FRAC, 1},
    {"weighted_mean", CR_STAT_WEIGHTED_MEAN, 2},
};

/* 1 when text is a name usable as a column prefix: [A-Za-z_][A-Za-z0-9_]*. */
static int is_identifier(const char *text, size_t len)
{
    if (len == 0 || len >= CR_STAT_NAME_MAX || !(isalpha((unsigned char)text[0]) || text[0] == '_'))
        return 0;
    for (size_t i = 1; i < len; i++)
        if (!(isalnum((unsigned char)text[i]) || text[i] == '_'))
            return 0;
    return 1;
}

/* A number as a column-name fragment: 0.5 -> "0_5", -1 -> "m1". */
static void number_suffix(double v, char *buf, size_t size)
{
    char text[32];
    snprintf(text, sizeof text, "%.10g", v);
    size_t j = 0;
    for (const char *p = text; *p && j + 2 < size; p++)
        buf[j++] = *p == '.' ? '_' : *p == '-' ? 'm' : *p == '+' ? 'p' : *p;
    buf[j] = '\0';
}

/* Parses one item (len characters at text, blanks trimmed) into *st. */
static cr_status parse_item(cr_ctx *ctx, const char *text, size_t len, cr_stat *st)
{
    const char *open = memchr(text, '(', len);
    size_t name_len = open ? (size_t)(open - text) : len;
    while (name_len && isspace((unsigned char)text[name_len - 1]))
        name_len--;
    for (size_t i = 0; i < sizeof STATS / sizeof *STATS; i++) {
        if (strlen(STATS[i].name) != name_len || strncmp(STATS[i].name, text, name_len) != 0)
            continue;
        memset(st, 0, sizeof *st);
        st->kind = STATS[i].kind;
        if (STATS[i].arg == 0) {
            if (open)
                break;
            snprintf(st->suffix, sizeof st->suffix, "%s", STATS[i].name);
            return CR_OK;
        }
        if (!open || text[len - 1] != ')')
            break;
        const char *arg = open + 1;
        size_t arg_len = (size_t)(text + len - 1 - arg);
        while (arg_len && isspace((unsigned char)*arg))
            arg++, arg_len--;
        while (arg_len && isspace((unsigned char)arg[arg_len - 1]))
            arg_len--;
        if (STATS[i].arg == 2) {
            if (!is_identifier(arg, arg_len))
                break;
            memcpy(st->weight, arg, arg_len);
            snprintf(st->suffix, sizeof st->suffix, "weighted_mean_%s", st->weight);
            return CR_OK;
        }
        char number[64];
        if (arg_len == 0 || arg_len >= sizeof number)
            break;
        memcpy(number, arg, arg_len);
        number[arg_len] = '\0';
        double v;
        if (!cr_number_finite(number, &v)) /* decimal only: not 0x1p-1, inf or nan */
            break;
        if (v == 0.0)
            v = 0.0; /* -0 is 0 */
        st->arg = v;
        if (st->kind == CR_STAT_QUANTILE) {
            if (v < 0.0 || v > 1.0)
                return cr_ctx_fail(ctx, CR_E_USAGE,
                                   "--stats: quantile(%s): q must be between 0 and 1", number);
            char pct[32];
            number_suffix(v * 100.0, pct, sizeof pct);
            snprintf(st->suffix, sizeof st->suffix, "p%s", pct);
        } else {
            char thr[32];
            number_suffix(v, thr, sizeof thr);
            snprintf(st->suffix, sizeof st->suffix, "frac_ge_%s", thr);
        }
        return CR_OK;
    }
    return cr_ctx_fail(ctx, CR_E_USAGE,
                       "--stats: unknown or malformed statistic '%.*s' (count, sum, mean, min, "
                       "max, stdev, median, quantile(q), majority, frac(threshold), "
                       "weighted_mean(raster name))",
                       (int)len, text);
}

cr_status cr_stats_parse(cr_ctx *ctx, const char *text, cr_stat **out, int *count)
{
    *out = NULL;
    *count = 0;
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    cr_stat *stats = calloc(cap, sizeof *stats);
    if (!stats)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    int n = 0;
    const char *p = text;
    for (;;) {
        /* Items end at a comma outside parentheses. */
        const char *end = p;
        int depth = 0;
        while (*end && (depth > 0 || *end != ',')) {
            depth += *end == '(' ? 1 : *end == ')' ? -1 : 0;
            end++;
        }
        const char *a = p, *b = end;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (a == b) {
            free(stats);
            return cr_ctx_fail(ctx, CR_E_USAGE, "--stats: empty item in '%s'", text);
        }
        cr_status st = parse_item(ctx, a, (size_t)(b - a), &stats[n]);
        if (st != CR_OK) {
            free(stats);
            return st;
        }
        for (int i = 0; i < n; i++)
            if (strcmp(stats[i].suffix, stats[n].suffix) == 0) {
                free(stats);
                return cr_ctx_fail(ctx, CR_E_USAGE, "--stats: '%.*s' is given twice",
                                   (int)(b - a), a);
            }
        n++;
        if (!*end)
            break;
        p = end + 1;
    }
    *out = stats;
    *count = n;
    return CR_OK;
}

/* Sorting values and weights together. */
typedef struct weighted {
    double x, w;
} weighted;

static int compare_weighted(const void *a, const void *b)
{
    double x = ((const weighted *)a)->x, y = ((const weighted *)b)->x;
    return (x > y) - (x < y);
}

static int sort_together(double *values, double *weights, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (values[i] < values[i - 1])
            goto unsorted;
    return 1;
unsorted:;
    weighted *tmp = malloc(n * sizeof *tmp);
    if (!tmp)
        return 0;
    for (size_t i = 0; i < n; i++)
        tmp[i] = (weighted){values[i], weights[i]};
    qsort(tmp, n, sizeof *tmp, compare_weighted);
    for (size_t i = 0; i < n; i++) {
        values[i] = tmp[i].x;
        weights[i] = tmp[i].w;
    }
    free(tmp);
    return 1;
}

double cr_weighted_quantile(double *values, double *weights, size_t n, double q)
{
    if (n == 0 || !sort_together(values, weights, n))
        return NAN;
    if (n == 1)
        return values[0];
    double total = 0.0;
    for (size_t i = 0; i < n; i++)
        total += weights[i];
    double target = q * (double)(n - 1) * total;
    /* Walk to the last k with s_k <= target; s_k rises strictly. */
    double before = 0.0, s_prev = 0.0;
    for (size_t k = 0; k + 1 < n; k++) {
        double before_next = before + weights[k];
        double s_next = (double)(k + 1) * weights[k + 1] + (double)(n - 1) * before_next;
        if (s_next > target) {
            double t = (target - s_prev) / (s_next - s_prev);
            if (t < 0.0)
                t = 0.0;
            return values[k] + t * (values[k + 1] - values[k]);
        }
        before = before_next;
        s_prev = s_next;
    }
    return values[n - 1];
}

double cr_weighted_majority(const double *values, const double *weights, size_t n)
{
    double best = NAN, best_weight = -1.0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double sum = 0.0;
        while (j < n && values[j] == values[i])
            sum += weights[j++];
        if (sum > best_weight) {
            best_weight = sum;
            best = values[i];
        }
        i = j;
    }
    return best;
}

cr_status cr_zonal_raster_parse(cr_ctx *ctx, const char *text, cr_zonal_raster *out,
                                char **storage)
{
    *storage = NULL;
    const char *eq = strchr(text, '=');
    if (!eq || !is_identifier(text, (size_t)(eq - text)) || !eq[1])
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "-r '%s': expected NAME=RASTER[:BAND], NAME of letters, digits and _",
                           text);
    char *copy = strdup(text);
    if (!copy)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    copy[eq - text] = '\0';
    out->name = copy;
    out->path = copy + (eq - text) + 1;
    out->band = 1;
    out->count = 0;
    char *colon = strrchr(copy + (eq - text) + 1, ':');
    if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
        long band = strtol(colon + 1, NULL, 10);
        if (band < 1 || band > 65535) {
            free(copy);
            return cr_ctx_fail(ctx, CR_E_USAGE, "-r '%s': band must be 1 or more", text);
        }
        out->band = (int)band;
        *colon = '\0';
    }
    if (!*out->path) {
        free(copy);
        return cr_ctx_fail(ctx, CR_E_USAGE, "-r '%s': no raster after '='", text);
    }
    *storage = copy;
    return CR_OK;
}
