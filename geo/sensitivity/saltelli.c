/* saltelli.c: Saltelli's sampling design and the Sobol' indices estimated from it
 * (include/cityrisk/sobol.h).
 *
 * For a model Y = f(X_1 .. X_d) of independent factors, V = Var(Y), the first-order
 * index S_i = Var(E[Y | X_i]) / V is the share of V that X_i explains alone, the total
 * index S_Ti = E[Var(Y | X_~i)] / V the share it has a part in, alone or with others.
 * Per base sample j, A_j and B_j are two independent points and AB^i_j is A_j with X_i
 * from B_j, so that f(B_j) and f(AB^i_j) share only X_i, f(A_j) and f(AB^i_j) all but X_i:
 *     S_i  = mean_j f(B_j) (f(AB^i_j) - f(A_j)) / V       (Saltelli et al. 2010, eq. (b))
 *     S_Ti = mean_j (f(A_j) - f(AB^i_j))^2 / (2 V)        (Jansen 1999; eq. (f) there)
 * with V the sample variance of the 2n outputs f(A_j) and f(B_j). The outputs are
 * centred on their mean f0 first: E[f(AB^i) - f(A)] = 0, so this changes no expectation,
 * but it keeps the first-order estimate's noise from growing with the outputs' offset
 * (a score on 0-10 is the same model as the score + 1000).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/random.h"
#include "internal.h"

/* The outputs of one base sample j: A, B, then AB^1 .. AB^d. */
#define ROW(y, d, j) ((y) + (size_t)(j) * (size_t)((d) + 2))

int64_t cr_saltelli_runs(int n, int d)
{
    if (n < 2 || d < 1 || d > CR_SOBOL_MAX_FACTORS)
        return 0;
    return (int64_t)n * (d + 2);
}

/* Checks n and d as cr_saltelli_design() and cr_sobol_indices() take them. */
static cr_status check_size(cr_ctx *ctx, int n, int d)
{
    if (n < 2)
        return cr_ctx_fail(ctx, CR_E_USAGE, "sensitivity: %d base samples; at least 2 are needed",
                           n);
    if (d < 1 || d > CR_SOBOL_MAX_FACTORS)
        return cr_ctx_fail(ctx, CR_E_USAGE, "sensitivity: %d factors; 1 to %d can be varied", d,
                           CR_SOBOL_MAX_FACTORS);
    return CR_OK;
}

cr_status cr_saltelli_design(cr_ctx *ctx, int n, int d, uint64_t seed, double **rows)
{
    *rows = NULL;
    cr_status st = check_size(ctx, n, d);
    if (st != CR_OK)
        return st;
    int64_t runs = cr_saltelli_runs(n, d);
    if ((uint64_t)runs > SIZE_MAX / sizeof(double) / (size_t)d)
        return cr_ctx_fail(ctx, CR_E_IO,
                           "sensitivity: %lld model runs of %d factors do not fit in memory",
                           (long long)runs, d);
    double *out = malloc((size_t)runs * (size_t)d * sizeof *out);
    cr_sobol *seq = cr_sobol_new(2 * d, seed);
    if (!out || !seq) {
        free(out);
        cr_sobol_free(seq);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    }
    double point[CR_SOBOL_MAX_DIMS];
    cr_sobol_next(seq, point); /* the first point, the origin when unscrambled */
    double *row = out;
    for (int j = 0; j < n; j++) {
        cr_sobol_next(seq, point);
        const double *a = point, *b = point + d;
        memcpy(row, a, (size_t)d * sizeof *row);
        memcpy(row + d, b, (size_t)d * sizeof *row);
        row += 2 * d;
        for (int i = 0; i < d; i++, row += d) {
            memcpy(row, a, (size_t)d * sizeof *row);
            row[i] = b[i];
        }
    }
    cr_sobol_free(seq);
    *rows = out;
    return CR_OK;
}

void cr_sobol_indices_opts_init(cr_sobol_indices_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->bootstrap = 0;
    opts->confidence = 0.95;
    opts->seed = 1;
}

/* The indices from the base samples idx[0 .. n) (0 .. n - 1 when idx is NULL; a base
 * sample may come more than once) into first and total (d each): NaN when the A and B
 * outputs of these samples are all the same (variance 0). */
static void estimate(const double *y, int n, int d, const uint32_t *idx, double *first,
                     double *total)
{
    double sum = 0, lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < n; k++) {
        const double *r = ROW(y, d, idx ? idx[k] : (uint32_t)k);
        sum += r[0] + r[1];
        lo = fmin(lo, fmin(r[0], r[1]));
        hi = fmax(hi, fmax(r[0], r[1]));
    }
    if (lo == hi) { /* tested exactly: a mean of equal values may round off them */
        for (int i = 0; i < d; i++)
            first[i] = total[i] = NAN;
        return;
    }
    double f0 = sum / (2.0 * n), ss = 0;
    for (int i = 0; i < d; i++)
        first[i] = total[i] = 0;
    for (int k = 0; k < n; k++) {
        const double *r = ROW(y, d, idx ? idx[k] : (uint32_t)k);
        double a = r[0] - f0, b = r[1] - f0;
        ss += a * a + b * b;
        for (int i = 0; i < d; i++) {
            double diff = r[2 + i] - r[0]; /* f(AB^i) - f(A), centred or not */
            first[i] += b * diff;
            total[i] += diff * diff;
        }
    }
    double var = ss / (2.0 * n - 1);
    for (int i = 0; i < d; i++) {
        first[i] /= n * var;
        total[i] /= 2.0 * n * var;
    }
}

/* Fills the _lo and _hi bounds of out by opts->bootstrap resamples of the n base
 * samples with replacement, each estimated as the whole. */
static cr_status bootstrap(cr_ctx *ctx, const double *y, int n, int d,
                           const cr_sobol_indices_opts *opts, cr_sobol_index *out)
{
    int reps = opts->bootstrap;
    if ((size_t)reps > SIZE_MAX / sizeof(double) / (2 * (size_t)d + 1))
        return cr_ctx_fail(ctx, CR_E_IO, "sensitivity: %d bootstrap resamples do not fit in memory",
                           reps);
    uint32_t *idx = malloc((size_t)n * sizeof *idx);
    double *first = malloc((size_t)reps * (size_t)d * sizeof *first); /* [i * reps + r] */
    double *total = malloc((size_t)reps * (size_t)d * sizeof *total);
    double *one = malloc(2 * (size_t)d * sizeof *one);
    if (!idx || !first || !total || !one) {
        free(idx);
        free(first);
        free(total);
        free(one);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    }
    uint64_t state = opts->seed;
    for (int r = 0; r < reps; r++) {
        for (int k = 0; k < n; k++)
            idx[k] = (uint32_t)cr_uniform_below(&state, (uint64_t)n);
        estimate(y, n, d, idx, one, one + d);
        for (int i = 0; i < d; i++) {
            first[(size_t)i * reps + r] = one[i];
            total[(size_t)i * reps + r] = one[d + i];
        }
    }
    double tail = (1 - opts->confidence) / 2;
    for (int i = 0; i < d; i++) {
        double *fi = first + (size_t)i * reps, *ti = total + (size_t)i * reps;
        out[i].first_lo = cr_sens_quantile(fi, reps, tail);
        out[i].first_hi = cr_sens_quantile(fi, reps, 1 - tail);
        out[i].total_lo = cr_sens_quantile(ti, reps, tail);
        out[i].total_hi = cr_sens_quantile(ti, reps, 1 - tail);
    }
    free(idx);
    free(first);
    free(total);
    free(one);
    return CR_OK;
}

cr_status cr_sobol_indices(cr_ctx *ctx, const double *y, int n, int d,
                           const cr_sobol_indices_opts *opts, cr_sobol_index *out)
{
    cr_sobol_indices_opts defaults;
    if (!opts) {
        cr_sobol_indices_opts_init(&defaults);
        opts = &defaults;
    }
    cr_status st = check_size(ctx, n, d);
    if (st != CR_OK)
        return st;
    if (opts->bootstrap < 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "sensitivity: %d bootstrap resamples; 0 or more",
                           opts->bootstrap);
    if (!(opts->confidence > 0 && opts->confidence < 1))
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "sensitivity: confidence %g is not a level between 0 and 1",
                           opts->confidence);
    for (int j = 0; j < n; j++) {
        const double *r = ROW(y, d, j);
        for (int k = 0; k < d + 2; k++) {
            if (isfinite(r[k]))
                continue;
            char which[16];
            if (k < 2)
                strcpy(which, k == 0 ? "A" : "B");
            else
                snprintf(which, sizeof which, "AB%d", k - 1);
            return cr_ctx_fail(ctx, CR_E_DATA,
                               "sensitivity: the model output of design row %lld (base sample "
                               "%d, row %s) is %s",
                               (long long)j * (d + 2) + k + 1, j + 1, which,
                               isnan(r[k]) ? "not a number" : "infinite");
        }
    }
    double *one = malloc(2 * (size_t)d * sizeof *one);
    if (!one)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    estimate(y, n, d, NULL, one, one + d);
    for (int i = 0; i < d; i++) {
        out[i].first = one[i];
        out[i].total = one[d + i];
        out[i].first_lo = out[i].first_hi = out[i].total_lo = out[i].total_hi = NAN;
    }
    free(one);
    if (opts->bootstrap == 0 || isnan(out[0].first))
        return CR_OK;
    return bootstrap(ctx, y, n, d, opts, out);
}
