/* kernel.c: kernel shapes and footprints for arrival density. */
#define _DEFAULT_SOURCE /* M_PI */
#include "kernel.h"

#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "mask.h"

const char *const cr_kernel_names[] = {"none",    "quartic",    "epanechnikov", "triweight",
                                       "uniform", "triangular", "gaussian",     NULL};
#define KERNELS ((int)(sizeof cr_kernel_names / sizeof cr_kernel_names[0]) - 1)

cr_status cr_kernel_parse(cr_ctx *ctx, const char *name, cr_kernel *out)
{
    for (int i = 0; i < KERNELS; i++)
        if (name && strcmp(name, cr_kernel_names[i]) == 0) {
            *out = (cr_kernel)i;
            return CR_OK;
        }
    return cr_ctx_fail(ctx, CR_E_USAGE,
                       "unknown kernel '%s' (none, quartic, epanechnikov, triweight, uniform, "
                       "triangular, gaussian)",
                       name ? name : "");
}

const char *cr_kernel_name(cr_kernel kernel)
{
    return kernel >= 0 && (int)kernel < KERNELS ? cr_kernel_names[kernel] : "unknown";
}

double cr_kernel_density(cr_kernel kernel, double d, double h)
{
    double u = d / h, t = u * u, area = M_PI * h * h;
    if (!(u < 1) || kernel == CR_KERNEL_NONE)
        return 0;
    switch (kernel) {
    case CR_KERNEL_QUARTIC: return 3 / area * (1 - t) * (1 - t);
    case CR_KERNEL_EPANECHNIKOV: return 2 / area * (1 - t);
    case CR_KERNEL_TRIWEIGHT: return 4 / area * (1 - t) * (1 - t) * (1 - t);
    case CR_KERNEL_UNIFORM: return 1 / area;
    case CR_KERNEL_TRIANGULAR: return 3 / area * (1 - u);
    case CR_KERNEL_GAUSSIAN: {
        double sigma = h / 3;
        return exp(-d * d / (2 * sigma * sigma)) / (2 * M_PI * sigma * sigma);
    }
    default: return 0;
    }
}

void cr_stamp_init(cr_stamp *s, cr_kernel kernel, double h, double cell_w, double cell_h,
                   double fx, double fy)
{
    s->kernel = kernel;
    s->mask = NULL;
    s->fx = fx, s->fy = fy;
    s->ux = cell_w / h, s->uy = cell_h / h;
    double rx = h / cell_w, ry = h / cell_h;
    /* One cell of margin: the exact test is u < 1 on each cell. */
    s->c0 = (int)floor(fx - 0.5 - rx) - 1, s->c1 = (int)ceil(fx - 0.5 + rx) + 1;
    s->r0 = (int)floor(fy - 0.5 - ry) - 1, s->r1 = (int)ceil(fy - 0.5 + ry) + 1;
}

int cr_stamp_inside(const cr_stamp *s, const cr_cells *a)
{
    return s->c0 >= a->c0 && s->c1 <= a->c1 && s->r0 >= a->r0 && s->r1 <= a->r1;
}

/* The kernel's shape from t = u^2 and a = max(1 - t, 0), zero for t >= 1, without
 * branches (the max becomes a vector max) so that the row loops vectorise. */
#define SHAPE_QUARTIC(t, a) ((a) * (a))
#define SHAPE_EPANECHNIKOV(t, a) (a)
#define SHAPE_TRIWEIGHT(t, a) ((a) * (a) * (a))
#define SHAPE_UNIFORM(t, a) ((double)((t) < 1))
#define SHAPE_TRIANGULAR(t, a) ((double)((t) < 1) * (1 - sqrt(t)))
#define SHAPE_GAUSSIAN(t, a) ((double)((t) < 1) * exp(-4.5 * (t))) /* d^2 / 2 sigma^2, sigma = h / 3 */

/* The weight at dx cells (from the record to the cell centre) in a row at ty. */
#define WEIGHT(SHAPE, dx, ux, ty, w)                                                         \
    do {                                                                                   \
        double u_ = (dx) * (ux), t_ = u_ * u_ + (ty), a_ = 1 - t_;                          \
        a_ = a_ > 0 ? a_ : 0.0;                                                            \
        (w) = SHAPE(t_, a_);                                                               \
    } while (0)

/* One row of the footprint, columns c0..c1: the sum of the weights, or adding
 * scale * weight to dst[c - c0]. Written once per shape; the sum keeps two partial
 * sums in a fixed order, so that it may use vector lanes and stays deterministic. */
#define ROW(NAME, SHAPE)                                                                     \
    static double sum_##NAME(double fx, double ux, double ty, int c0, int c1)               \
    {                                                                                      \
        double even = 0, odd = 0, dx = c0 + 0.5 - fx, w0, w1;                               \
        int n = c1 - c0 + 1, i = 0;                                                        \
        for (; i + 1 < n; i += 2) {                                                        \
            WEIGHT(SHAPE, dx + i, ux, ty, w0);                                             \
            WEIGHT(SHAPE, dx + i + 1, ux, ty, w1);                                         \
            even += w0;                                                                    \
            odd += w1;                                                                     \
        }                                                                                  \
        if (i < n) {                                                                       \
            WEIGHT(SHAPE, dx + i, ux, ty, w0);                                             \
            even += w0;                                                                    \
        }                                                                                  \
        return even + odd;                                                                 \
    }                                                                                      \
    static void add_##NAME(double fx, double ux, double ty, int c0, int c1, double scale,   \
                           double *restrict dst)                                           \
    {                                                                                      \
        double dx = c0 + 0.5 - fx, w;                                                      \
        int n = c1 - c0 + 1;                                                               \
        for (int i = 0; i < n; i++) {                                                      \
            WEIGHT(SHAPE, dx + i, ux, ty, w);                                              \
            dst[i] += scale * w;                                                           \
        }                                                                                  \
    }
/* The same over cells flagged in m (1 allowed, 0 refused): a refused cell weighs 0. */
#define MASKED_ROW(NAME, SHAPE)                                                              \
    static double sum_masked_##NAME(double fx, double ux, double ty, int c0, int c1,          \
                                    const uint8_t *m)                                      \
    {                                                                                      \
        double sum = 0, dx = c0 + 0.5 - fx, w;                                             \
        for (int i = 0; i < c1 - c0 + 1; i++) {                                            \
            WEIGHT(SHAPE, dx + i, ux, ty, w);                                              \
            sum += m[i] ? w : 0.0;                                                         \
        }                                                                                  \
        return sum;                                                                        \
    }                                                                                      \
    static void add_masked_##NAME(double fx, double ux, double ty, int c0, int c1,          \
                                  double scale, const uint8_t *m, double *restrict dst)    \
    {                                                                                      \
        double dx = c0 + 0.5 - fx, w;                                                      \
        for (int i = 0; i < c1 - c0 + 1; i++) {                                            \
            WEIGHT(SHAPE, dx + i, ux, ty, w);                                              \
            dst[i] += m[i] ? scale * w : 0.0;                                              \
        }                                                                                  \
    }

ROW(quartic, SHAPE_QUARTIC)
ROW(epanechnikov, SHAPE_EPANECHNIKOV)
ROW(triweight, SHAPE_TRIWEIGHT)
ROW(uniform, SHAPE_UNIFORM)
ROW(triangular, SHAPE_TRIANGULAR)
ROW(gaussian, SHAPE_GAUSSIAN)
MASKED_ROW(quartic, SHAPE_QUARTIC)
MASKED_ROW(epanechnikov, SHAPE_EPANECHNIKOV)
MASKED_ROW(triweight, SHAPE_TRIWEIGHT)
MASKED_ROW(uniform, SHAPE_UNIFORM)
MASKED_ROW(triangular, SHAPE_TRIANGULAR)
MASKED_ROW(gaussian, SHAPE_GAUSSIAN)

typedef double (*sum_fn)(double, double, double, int, int);
typedef void (*add_fn)(double, double, double, int, int, double, double *restrict);
typedef double (*sum_masked_fn)(double, double, double, int, int, const uint8_t *);
typedef void (*add_masked_fn)(double, double, double, int, int, double, const uint8_t *,
                              double *restrict);

#define ROW_FNS(NAME) {sum_##NAME, add_##NAME, sum_masked_##NAME, add_masked_##NAME}

static const struct {
    sum_fn sum;
    add_fn add;
    sum_masked_fn sum_masked;
    add_masked_fn add_masked;
} ROWS[] = {
    [CR_KERNEL_NONE] = ROW_FNS(uniform),
    [CR_KERNEL_QUARTIC] = ROW_FNS(quartic),
    [CR_KERNEL_EPANECHNIKOV] = ROW_FNS(epanechnikov),
    [CR_KERNEL_TRIWEIGHT] = ROW_FNS(triweight),
    [CR_KERNEL_UNIFORM] = ROW_FNS(uniform),
    [CR_KERNEL_TRIANGULAR] = ROW_FNS(triangular),
    [CR_KERNEL_GAUSSIAN] = ROW_FNS(gaussian),
};

/* One row's columns c0..c1 under the mask, in runs that stay within one tile of it: a tile
 * whose cells are all refused is skipped, one whose cells are all allowed goes through the
 * unmasked row, a mixed one cell by cell. */
static double masked_row(const cr_stamp *s, int r, double ty, int c0, int c1, double sum,
                         double scale, double *dst)
{
    const cr_mask *m = s->mask;
    int kernel = s->kernel, t = m->tile;
    int64_t base = (int64_t)(r / t) * m->tiles_x;
    for (int a = c0; a <= c1;) {
        int b = (a / t + 1) * t - 1 < c1 ? (a / t + 1) * t - 1 : c1;
        int64_t k = base + a / t;
        const uint8_t *flags = m->cells[k] ? m->cells[k] + (size_t)(r % t) * (size_t)t + (size_t)(a % t)
                                           : NULL;
        if (m->state[k] == CR_MASK_ALL && dst)
            ROWS[kernel].add(s->fx, s->ux, ty, a, b, scale, dst + (a - c0));
        else if (m->state[k] == CR_MASK_ALL)
            sum += ROWS[kernel].sum(s->fx, s->ux, ty, a, b);
        else if (m->state[k] == CR_MASK_MIXED && dst)
            ROWS[kernel].add_masked(s->fx, s->ux, ty, a, b, scale, flags, dst + (a - c0));
        else if (m->state[k] == CR_MASK_MIXED)
            sum += ROWS[kernel].sum_masked(s->fx, s->ux, ty, a, b, flags);
        a = b + 1;
    }
    return sum;
}

/* Walks the footprint's rows inside area, limiting each to the columns its circle
 * spans (plus one cell of margin for rounding): returns sum plus the weights, row after
 * row, or, when acc is non-NULL, adds scale * weight to it. */
static double walk(const cr_stamp *s, const cr_cells *a, double sum, double scale, double *acc,
                   size_t stride)
{
    sum_fn sum_row = ROWS[s->kernel].sum;
    add_fn add_row = ROWS[s->kernel].add;
    int r0 = s->r0 > a->r0 ? s->r0 : a->r0, r1 = s->r1 < a->r1 ? s->r1 : a->r1;
    for (int r = r0; r <= r1; r++) {
        double v = (r + 0.5 - s->fy) * s->uy, ty = v * v;
        if (!(ty < 1))
            continue;
        double half = sqrt(1 - ty) / s->ux;
        int c0 = (int)floor(s->fx - 0.5 - half) - 1, c1 = (int)ceil(s->fx - 0.5 + half) + 1;
        if (c0 < a->c0)
            c0 = a->c0;
        if (c1 > a->c1)
            c1 = a->c1;
        if (c0 > c1)
            continue;
        double *dst = acc ? acc + (size_t)(r - a->r0) * stride + (size_t)(c0 - a->c0) : NULL;
        if (s->mask)
            sum = masked_row(s, r, ty, c0, c1, sum, scale, dst);
        else if (acc)
            add_row(s->fx, s->ux, ty, c0, c1, scale, dst);
        else
            sum += sum_row(s->fx, s->ux, ty, c0, c1);
    }
    return sum;
}

double cr_stamp_sum(const cr_stamp *s, const cr_cells *area)
{
    return walk(s, area, 0, 0, NULL, 0);
}

void cr_stamp_sum_into(const cr_stamp *s, const cr_cells *area, double *sum)
{
    *sum = walk(s, area, *sum, 0, NULL, 0);
}

void cr_stamp_add(const cr_stamp *s, const cr_cells *area, double scale, double *acc, size_t stride)
{
    walk(s, area, 0, scale, acc, stride);
}
