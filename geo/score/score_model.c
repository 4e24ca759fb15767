/* score_model.c: weights, the composite score of one cell and of a block, and the water
 * uplift (the indicators come from core/inputs.c). */
#define _POSIX_C_SOURCE 200809L
#include "cityrisk/score.h"
#include "score_internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/number.h"
#include "core/internal.h"

const char *const cr_score_method_names[] = {"geometric", "arithmetic", "inform", NULL};
const char *const cr_missing_names[] = {"nodata", "renormalise", NULL};
const char *const cr_settlement_input_names[] = {"fraction", "percent", "binary", NULL};
const char *const cr_water_input_names[] = {"score", "ratio", NULL};
const char *const cr_arrivals_transform_names[] = {"log", "linear", NULL};

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
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
    for (int i = 0; eq && i < CR_INDICATORS; i++) {
        const char *name = cr_indicator_name((cr_indicator)i);
        if ((size_t)(eq - item) == strlen(name) && strncmp(item, name, (size_t)(eq - item)) == 0)
            k = i;
    }
    if (k < 0)
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "--weights: '%.*s' is not NAME=VALUE with NAME sea, water, informal or arrivals",
                           (int)n, item);
    const char *name = cr_indicator_name((cr_indicator)k);
    if (seen[k]++)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--weights: %s is given twice", name);
    char value[64];
    size_t len = n - (size_t)(eq + 1 - item);
    if (len == 0 || len >= sizeof value)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--weights: '%.*s' has no usable value", (int)n, item);
    memcpy(value, eq + 1, len);
    value[len] = '\0';
    double v;
    if (!cr_number_finite(value, &v)) /* decimal only: not 0x1p-2, inf or nan */
        return cr_ctx_fail(ctx, CR_E_USAGE, "--weights: '%s' is not a number (%s)", value, name);
    if (v < 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--weights: %s=%s is negative", name, value);
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
                               cr_indicator_name((cr_indicator)i), weights[i]);
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
    if (renormalise && isnan(c[CR_IND_SEA])) {
        /* No depth: the sea itself, or beyond the DEM (inundation writes both as nodata),
         * is outside the land the study scores; renormalising must not score it. */
        for (int i = 0; i < CR_INDICATORS; i++)
            used += !isnan(c[i]);
        score = NAN;
    } else if (method == CR_METHOD_INFORM) {
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
