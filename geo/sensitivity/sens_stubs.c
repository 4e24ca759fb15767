/* sens_stubs.c: TEMPORARY weak stand-ins for sobol.c, saltelli.c and charts.c until their
 * branches are merged (removed then). */
#include <math.h>
#include <stdlib.h>

#include "internal.h"

__attribute__((weak)) int64_t cr_saltelli_runs(int n, int d)
{
    return (int64_t)n * (d + 2);
}

__attribute__((weak)) cr_status cr_saltelli_design(cr_ctx *ctx, int n, int d, uint64_t seed, double **rows)
{
    (void)ctx;
    int64_t runs = cr_saltelli_runs(n, d);
    double *r = malloc((size_t)runs * (size_t)d * sizeof *r);
    srand((unsigned)seed);
    for (int j = 0; j < n; j++) {
        double a[64], b[64];
        for (int i = 0; i < d; i++)
            a[i] = rand() / (RAND_MAX + 1.0), b[i] = rand() / (RAND_MAX + 1.0);
        double *row = r + (size_t)j * (size_t)(d + 2) * (size_t)d;
        for (int i = 0; i < d; i++)
            row[i] = a[i], row[d + i] = b[i];
        for (int k = 0; k < d; k++)
            for (int i = 0; i < d; i++)
                row[(size_t)(2 + k) * (size_t)d + (size_t)i] = i == k ? b[i] : a[i];
    }
    *rows = r;
    return CR_OK;
}

__attribute__((weak)) void cr_sobol_indices_opts_init(cr_sobol_indices_opts *o)
{
    o->bootstrap = 0, o->confidence = 0.95, o->seed = 1;
}

__attribute__((weak)) cr_status cr_sobol_indices(cr_ctx *ctx, const double *y, int n, int d,
                                                 const cr_sobol_indices_opts *opts, cr_sobol_index *out)
{
    (void)ctx, (void)opts;
    double mean = 0, var = 0;
    for (int j = 0; j < n; j++)
        mean += y[(size_t)j * (size_t)(d + 2)] + y[(size_t)j * (size_t)(d + 2) + 1];
    mean /= 2 * n;
    for (int j = 0; j < n; j++) {
        double a = y[(size_t)j * (size_t)(d + 2)] - mean, b = y[(size_t)j * (size_t)(d + 2) + 1] - mean;
        var += a * a + b * b;
    }
    var /= 2 * n - 1;
    for (int i = 0; i < d; i++) {
        double s1 = 0, st = 0;
        for (int j = 0; j < n; j++) {
            const double *r = y + (size_t)j * (size_t)(d + 2);
            s1 += r[1] * (r[2 + i] - r[0]);
            st += (r[0] - r[2 + i]) * (r[0] - r[2 + i]);
        }
        out[i] = (cr_sobol_index){var > 0 ? s1 / n / var : NAN, NAN, NAN,
                                  var > 0 ? st / (2.0 * n) / var : NAN, NAN, NAN};
    }
    return CR_OK;
}

__attribute__((weak)) cr_status cr_chart_rank_intervals(cr_ctx *ctx, const char *path, const cr_rank_interval *zones,
                                                        int n, const char *title, int overwrite)
{
    (void)path, (void)zones, (void)n, (void)title, (void)overwrite;
    return cr_ctx_fail(ctx, CR_E_USAGE, "the rank chart is not there yet");
}

__attribute__((weak)) cr_status cr_chart_indices(cr_ctx *ctx, const char *path, const char *const *factors,
                                                 const cr_sobol_index *indices, int d, const char *title,
                                                 int overwrite)
{
    (void)path, (void)factors, (void)indices, (void)d, (void)title, (void)overwrite;
    return cr_ctx_fail(ctx, CR_E_USAGE, "the indices chart is not there yet");
}
