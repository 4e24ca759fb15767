/* score_model.c: indicators, weights and the composite score of one cell. */
#define _POSIX_C_SOURCE 200809L
#include "cityrisk/score.h"
#include "score_internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/number.h"

static const char *const INDICATOR_NAMES[CR_INDICATORS] = {"sea", "water", "informal", "arrivals"};
const char *const cr_score_method_names[] = {"geometric", "arithmetic", "inform", NULL};
const char *const cr_missing_names[] = {"nodata", "renormalise", NULL};
const char *const cr_settlement_input_names[] = {"fraction", "percent", "binary", NULL};
const char *const cr_water_input_names[] = {"score", "ratio", NULL};
const char *const cr_arrivals_transform_names[] = {"log", "linear", NULL};

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

const char *cr_indicator_name(cr_indicator indicator)
{
    return indicator >= 0 && indicator < CR_INDICATORS ? INDICATOR_NAMES[indicator] : "unknown";
}

cr_status cr_score_method_parse(cr_ctx *ctx, const char *name, cr_score_method *out)
{
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, cr_score_method_names[i]) == 0) {
            *out = (cr_score_method)i;
            return CR_OK;
        }
    return cr_ctx_fail(ctx, CR_E_USAGE, "unknown method '%s' (geometric, arithmetic, inform)",
                       name ? name : "");
}

const char *cr_score_method_name(cr_score_method method)
{
    return method >= 0 && method <= CR_METHOD_INFORM ? cr_score_method_names[method] : "unknown";
}

void cr_weights_default(double weights[CR_INDICATORS])
{
    weights[CR_IND_SEA] = 0.30;
    weights[CR_IND_WATER] = 0.20;
    weights[CR_IND_INFORMAL] = 0.25;
    weights[CR_IND_ARRIVALS] = 0.25;
}

/* Parses one "name=value" item of length n. */
static cr_status parse_weight(cr_ctx *ctx, const char *item, size_t n, double weights[CR_INDICATORS],
                              int seen[CR_INDICATORS])
{
    const char *eq = memchr(item, '=', n);
    int k = -1;
    for (int i = 0; eq && i < CR_INDICATORS; i++)
        if ((size_t)(eq - item) == strlen(INDICATOR_NAMES[i]) &&
            strncmp(item, INDICATOR_NAMES[i], (size_t)(eq - item)) == 0)
            k = i;
    if (k < 0)
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "--weights: '%.*s' is not NAME=VALUE with NAME sea, water, informal or arrivals",
                           (int)n, item);
    if (seen[k]++)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--weights: %s is given twice", INDICATOR_NAMES[k]);
    char value[64];
    size_t len = n - (size_t)(eq + 1 - item);
    if (len == 0 || len >= sizeof value)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--weights: '%.*s' has no usable value", (int)n, item);
    memcpy(value, eq + 1, len);
    value[len] = '\0';
    double v;
    if (!cr_number_finite(value, &v)) /* decimal only: not 0x1p-2, inf or nan */
        return cr_ctx_fail(ctx, CR_E_USAGE, "--weights: '%s' is not a number (%s)", value, INDICATOR_NAMES[k]);
    if (v < 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--weights: %s=%s is negative", INDICATOR_NAMES[k], value);
    weights[k] = v;
    return CR_OK;
}

cr_status cr_weights_parse(cr_ctx *ctx, const char *text, double weights[CR_INDICATORS])
{
    int seen[CR_INDICATORS] = {0};
    for (int i = 0; i < CR_INDICATORS; i++)
        weights[i] = 0;
    const char *p = text ? text : "";
    do {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        cr_status st = parse_weight(ctx, p, n, weights, seen);
        if (st != CR_OK)
            return st;
        p = comma ? comma + 1 : NULL;
    } while (p);
    return CR_OK;
}

cr_status cr_weights_normalise(cr_ctx *ctx, double weights[CR_INDICATORS])
{
    double sum = 0, largest = 0;
    for (int i = 0; i < CR_INDICATORS; i++) {
        if (!(weights[i] >= 0 && isfinite(weights[i])))
            return cr_ctx_fail(ctx, CR_E_USAGE, "--weights: %s=%.10g is not a weight (0 or more)",
                               INDICATOR_NAMES[i], weights[i]);
        sum += weights[i];
        largest = fmax(largest, weights[i]);
    }
    if (!(largest > 0))
        return cr_ctx_fail(ctx, CR_E_USAGE, "--weights sum to 0: give at least one a positive weight");
    /* Weights are relative: four of 1e308 are equal weights, though their sum is beyond a
     * double, and so are four subnormal ones. Such weights are scaled by the largest first;
     * others as they are, so that ordinary weights give the same bits as always. */
    if (!isfinite(sum) || sum < DBL_MIN) {
        sum = 0;
        for (int i = 0; i < CR_INDICATORS; i++)
            sum += (weights[i] /= largest);
    }
    for (int i = 0; i < CR_INDICATORS; i++)
        weights[i] /= sum;
    return CR_OK;
}

double cr_water_score_from_ratio(double ratio)
{
    if (isnan(ratio))
        return NAN;
    if (ratio <= 0)
        return 0;
    return clamp(log2(ratio / 0.1) + 1, 0, 5);
}

double cr_water_ratio_from_score(double score)
{
    return 0.1 * exp2(score - 1);
}

double cr_water_uplift(double score, double arrivals, double population, double share)
{
    if (isnan(score) || isnan(arrivals) || isnan(population))
        return NAN;
    if (!(arrivals > 0) || !(share > 0))
        return 0;
    if (!(population > 0))
        return 5 - score;
    double grown = cr_water_ratio_from_score(score) * (1 + share * arrivals / population);
    return cr_water_score_from_ratio(grown) - score;
}

/* INFORM's reverse geometric mean of hazards h in 0-1: 1 - (prod (10 - 9 h)^(1/n) - 1) / 9;
 * the highest hazard dominates. */
static double reverse_geometric_mean(const double *h, int n)
{
    double product = 1;
    for (int i = 0; i < n; i++)
        product *= 10 - 9 * h[i];
    /* Clamped: rounding must not turn all-zero hazards into a tiny negative H, which
     * the cube root of the score would magnify. */
    return clamp(1 - (pow(product, 1.0 / n) - 1) / 9, 0, 1);
}

static double inform(const double c[CR_INDICATORS], int renormalise, int *present)
{
    double hazards[2];
    int n = 0;
    for (int i = CR_IND_SEA; i <= CR_IND_WATER; i++) {
        if (!isnan(c[i]))
            hazards[n++] = c[i];
        else if (!renormalise)
            return NAN;
    }
    *present = n + !isnan(c[CR_IND_ARRIVALS]) + !isnan(c[CR_IND_INFORMAL]);
    if (n == 0 || isnan(c[CR_IND_ARRIVALS]) || isnan(c[CR_IND_INFORMAL]))
        return NAN;
    double h = reverse_geometric_mean(hazards, n);
    return 10 * cbrt(h * c[CR_IND_ARRIVALS] * c[CR_IND_INFORMAL]);
}

double cr_score_cell(cr_score_method method, const double c[CR_INDICATORS],
                     const double w[CR_INDICATORS], int renormalise, int *present)
{
    int used = 0;
    double score;
    if (method == CR_METHOD_INFORM) {
        score = inform(c, renormalise, &used);
    } else {
        double total = 0, acc = 0;
        int missing = 0;
        for (int i = 0; i < CR_INDICATORS; i++) {
            if (isnan(c[i])) {
                missing = 1;
                continue;
            }
            used++;
            total += w[i];
            /* geometric: the log of prod (1 + 9 c)^w */
            acc += method == CR_METHOD_GEOMETRIC ? w[i] * log1p(9 * c[i]) : w[i] * c[i];
        }
        if ((missing && !renormalise) || !(total > 0))
            score = NAN;
        else if (method == CR_METHOD_GEOMETRIC)
            score = 10 * (exp(acc / total) - 1) / 9;
        else
            score = 10 * acc / total;
    }
    if (present)
        *present = used;
    return score;
}

void cr_normalise_opts_init(cr_normalise_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->sea_depth_full = 1.0;
    opts->settlement = CR_SETTLEMENT_FRACTION;
    opts->arrivals_ref = 1.0;
}

void cr_indicator_range(cr_indicator indicator, const cr_normalise_opts *o, double *min,
                        double *max, double *tolerance)
{
    *min = 0, *max = INFINITY, *tolerance = 1e-3;
    switch (indicator) {
    case CR_IND_WATER:
        if (!o->water_ratio)
            *max = 5, *tolerance = 0.01;
        break;
    case CR_IND_INFORMAL:
        if (o->settlement == CR_SETTLEMENT_FRACTION)
            *max = 1, *tolerance = 0.01;
        else if (o->settlement == CR_SETTLEMENT_PERCENT)
            *max = 100, *tolerance = 1;
        break;
    default: /* sea depth and arrivals: not negative */
        break;
    }
}

/* 1 / a_ref, or 1 / log1p(a_ref): the arrivals indicator multiplies by it, so that a
 * block divides once rather than once per cell. */
static double arrivals_scale(const cr_normalise_opts *o)
{
    return o->arrivals_linear ? 1 / o->arrivals_ref : 1 / log1p(o->arrivals_ref);
}

/* One indicator's normalisation of a value already clamped to its range. */
static inline double normalise_clamped(cr_indicator indicator, const cr_normalise_opts *o,
                                      double v, double scale)
{
    switch (indicator) {
    case CR_IND_SEA:
        return o->sea_binary ? (double)(v > 0) : fmin(1, v / o->sea_depth_full);
    case CR_IND_WATER:
        return (o->water_ratio ? cr_water_score_from_ratio(v) : v) / 5;
    case CR_IND_INFORMAL:
        return o->settlement == CR_SETTLEMENT_BINARY    ? (double)(v > 0)
               : o->settlement == CR_SETTLEMENT_PERCENT ? v / 100
                                                        : v;
    default:
        return fmin(1, (o->arrivals_linear ? v : log1p(v)) * scale);
    }
}

cr_norm_result cr_indicator_normalise(cr_indicator indicator, const cr_normalise_opts *o,
                                      double raw, double *out)
{
    double lo, hi, tol;
    cr_indicator_range(indicator, o, &lo, &hi, &tol);
    if (raw < lo - tol || raw > hi + tol)
        return CR_NORM_OUT_OF_RANGE;
    cr_norm_result result = raw < lo || raw > hi ? CR_NORM_CLAMPED : CR_NORM_OK;
    *out = normalise_clamped(indicator, o, clamp(raw, lo, hi), arrivals_scale(o));
    return result;
}

size_t cr_indicator_normalise_block(cr_indicator indicator, const cr_normalise_opts *o,
                                    const float *raw, size_t n, float *out, int64_t *clamped)
{
    double lo, hi, tol;
    cr_indicator_range(indicator, o, &lo, &hi, &tol);
    const double low = lo - tol, high = hi + tol;
    const double scale = arrivals_scale(o);
    int64_t count = 0;
    for (size_t i = 0; i < n; i++) {
        double v = raw[i];
        if (v == 0) { /* every indicator maps 0 to 0: the common case of sea and arrivals */
            out[i] = 0;
            continue;
        }
        if (isnan(v)) {
            out[i] = NAN;
            continue;
        }
        if (v < low || v > high) {
            *clamped += count;
            return i;
        }
        if (v < lo || v > hi) {
            count++;
            v = clamp(v, lo, hi);
        }
        out[i] = (float)normalise_clamped(indicator, o, v, scale);
    }
    *clamped += count;
    return n;
}

size_t cr_range_check_block(float *values, size_t n, double lo, double hi, double tolerance,
                            int64_t *clamped)
{
    for (size_t i = 0; i < n; i++) {
        double v = values[i];
        if (!(v < lo || v > hi))
            continue; /* NaN and values in range */
        if (v < lo - tolerance || v > hi + tolerance)
            return i;
        values[i] = (float)(v < lo ? lo : hi);
        (*clamped)++;
    }
    return n;
}

size_t cr_population_check_block(float *values, size_t n, int64_t *clamped)
{
    return cr_range_check_block(values, n, 0.0, INFINITY, 1e-3, clamped);
}

void cr_score_block(cr_score_method method, const float *const c[CR_INDICATORS], size_t n,
                    const double w[CR_INDICATORS], int renormalise, float *score, float *present)
{
    for (size_t i = 0; i < n; i++) {
        double cell[CR_INDICATORS];
        for (int k = 0; k < CR_INDICATORS; k++)
            cell[k] = c[k][i];
        int used = 0;
        double s = cr_score_cell(method, cell, w, renormalise, &used);
        score[i] = (float)s;
        if (present)
            present[i] = isnan(s) ? NAN : (float)used;
    }
}

void cr_uplift_block(const float *water, int water_ratio, const float *arrivals,
                     const float *population, size_t n, double share, float *out)
{
    for (size_t i = 0; i < n; i++) {
        double b = water_ratio ? cr_water_score_from_ratio(water[i]) : clamp(water[i], 0, 5);
        out[i] = (float)cr_water_uplift(b, arrivals[i], population[i], share);
    }
}
