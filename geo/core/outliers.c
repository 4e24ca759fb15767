/* outliers.c: the quartile box of a set of points and the records far outside it. */
#include "outliers.h"

#include <math.h>
#include <stdlib.h>

#include "internal.h"

static int by_value(const void *a, const void *b)
{
    double p = *(const double *)a, q = *(const double *)b;
    return (p > q) - (p < q);
}

/* The values of rank ceil(n/4) and ceil(3n/4) (1-based) of one axis. */
static void quartiles(double *v, size_t n, double *q1, double *q3)
{
    qsort(v, n, sizeof *v, by_value);
    *q1 = v[(n + 3) / 4 - 1];
    *q3 = v[(3 * n + 3) / 4 - 1];
}

cr_status cr_outliers_find(cr_ctx *ctx, const double *x, const double *y, size_t stride, size_t n,
                           double min_size, cr_outliers *out)
{
    out->central = (cr_bounds){-INFINITY, -INFINITY, INFINITY, INFINITY};
    out->fence = out->central;
    out->size = INFINITY;
    if (n < 4)
        return CR_OK;
    double *v = malloc(n * sizeof *v);
    if (!v)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory sorting %zu coordinates", n);
    for (size_t i = 0; i < n; i++)
        v[i] = x[i * stride];
    quartiles(v, n, &out->central.xmin, &out->central.xmax);
    for (size_t i = 0; i < n; i++)
        v[i] = y[i * stride];
    quartiles(v, n, &out->central.ymin, &out->central.ymax);
    free(v);
    const cr_bounds *c = &out->central;
    out->size = fmax(fmax(c->xmax - c->xmin, c->ymax - c->ymin), min_size);
    double reach = CR_OUTLIER_FACTOR * out->size;
    out->fence = (cr_bounds){c->xmin - reach, c->ymin - reach, c->xmax + reach, c->ymax + reach};
    return CR_OK;
}

int cr_outliers_far(const cr_outliers *rule, double x, double y)
{
    const cr_bounds *f = &rule->fence;
    return x < f->xmin || x > f->xmax || y < f->ymin || y > f->ymax;
}

double cr_bounds_cells(const cr_bounds *b, double res)
{
    double w = ceil(b->xmax / res) - floor(b->xmin / res);
    double h = ceil(b->ymax / res) - floor(b->ymin / res);
    return fmax(w, 1) * fmax(h, 1);
}
