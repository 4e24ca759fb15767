/* coverage.c: exact cell-coverage fractions of polygons (see coverage.h for the method). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/coverage.h"
#include "internal.h"

/* Fractions this close to 0 or 1 are taken as 0 or 1: the sweep adds and subtracts the
 * same dy pieces computed along different edges, which leaves noise of about 1e-16. */
#define COVERAGE_SNAP 1e-12

void cr_coverage_scratch_free(cr_coverage_scratch *scratch)
{
    if (!scratch)
        return;
    free(scratch->diff);
    scratch->diff = NULL;
    scratch->cap = 0;
}

/* The integral of x dy around ring i: its area, positive when the ring turns from +x
 * towards +y. */
static double ring_signed_area(const cr_rings *rings, int i)
{
    int start = i ? rings->ring_end[i - 1] : 0, end = rings->ring_end[i];
    if (end - start < 3)
        return 0.0;
    const double *p = rings->xy;
    double sum = 0.0;
    for (int k = start; k < end; k++) {
        int next = k + 1 < end ? k + 1 : start;
        sum += (p[2 * k] + p[2 * next]) * (p[2 * next + 1] - p[2 * k + 1]);
    }
    return 0.5 * sum;
}

double cr_rings_area(const cr_rings *rings)
{
    double area = 0.0;
    for (int i = 0; i < rings->nrings; i++)
        area += rings->sign[i] * fabs(ring_signed_area(rings, i));
    return area;
}

/* The window's accumulators: part[r * w + c] gets the integral of (x - c) dy over the
 * pieces of edges inside cell (c, r); diff[r * (w + 1) + c] the dy of those pieces,
 * which every cell left of column c takes whole; column w stands for everything right
 * of the window. */
typedef struct sweep {
    double *part, *diff;
    int w, h;
} sweep;

/* Adds a piece of edge inside row r, from x = xa to x = xb while y rises by dy (> 0),
 * weighted by s. */
static void add_row_piece(sweep *sw, int r, double xa, double xb, double dy, double s)
{
    double *part = sw->part + (size_t)r * sw->w, *diff = sw->diff + (size_t)r * (sw->w + 1);
    int w = sw->w;
    double lo = xa < xb ? xa : xb, hi = xa < xb ? xb : xa;
    if (hi <= 0.0)
        return; /* left of the window: clamp(x, c, c+1) - c = 0 for every column */
    if (lo >= w) {
        diff[w] += s * dy;
        return;
    }
    if (hi == lo) { /* vertical */
        int k = (int)floor(lo);
        part[k] += s * (lo - k) * dy;
        diff[k] += s * dy;
        return;
    }
    double dy_per_x = dy / (hi - lo);
    if (hi > w)
        diff[w] += s * dy_per_x * (hi - w);
    int first = lo > 0.0 ? (int)floor(lo) : 0;
    int last = hi < w ? (int)floor(hi) : w - 1;
    for (int k = first; k <= last; k++) {
        double a = lo > k ? lo : k, b = hi < k + 1 ? hi : k + 1;
        if (b <= a)
            continue;
        double piece = s * dy_per_x * (b - a);
        part[k] += (0.5 * (a + b) - k) * piece;
        diff[k] += piece;
    }
}

/* Adds the edge from (xa, ya) to (xb, yb), in window coordinates, weighted by s. */
static void add_edge(sweep *sw, double xa, double ya, double xb, double yb, double s)
{
    if (ya == yb)
        return; /* horizontal: dy = 0 */
    if (ya > yb) { /* walk upwards; reversing an edge negates its integral */
        double t = xa;
        xa = xb;
        xb = t;
        t = ya;
        ya = yb;
        yb = t;
        s = -s;
    }
    if (yb <= 0.0 || ya >= sw->h)
        return;
    double dxdy = (xb - xa) / (yb - ya);
    double y0 = ya > 0.0 ? ya : 0.0, y1 = yb < sw->h ? yb : sw->h;
    int r0 = (int)floor(y0), r1 = (int)ceil(y1) - 1;
    /* x at a row line is computed from the same end point for every piece, so that
     * consecutive pieces meet exactly. */
    double ylo = y0, xlo = ylo == ya ? xa : xa + (ylo - ya) * dxdy;
    for (int r = r0; r <= r1 && r < sw->h; r++) {
        double yhi = r + 1 < y1 ? r + 1 : y1;
        double xhi = yhi == yb ? xb : xa + (yhi - ya) * dxdy;
        if (yhi > ylo)
            add_row_piece(sw, r, xlo, xhi, yhi - ylo, s);
        ylo = yhi;
        xlo = xhi;
    }
}

cr_status cr_coverage(cr_ctx *ctx, const cr_rings *rings, const cr_window *win,
                      cr_coverage_scratch *scratch, double *fractions)
{
    if (win->w <= 0 || win->h <= 0)
        return CR_OK;
    size_t cells = (size_t)win->w * win->h, need = (size_t)(win->w + 1) * win->h;
    if (need > scratch->cap) {
        double *grown = realloc(scratch->diff, need * sizeof *grown);
        if (!grown)
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory for the coverage of %d x %d cells",
                               win->w, win->h);
        scratch->diff = grown;
        scratch->cap = need;
    }
    memset(fractions, 0, cells * sizeof *fractions);
    memset(scratch->diff, 0, need * sizeof *scratch->diff);
    sweep sw = {fractions, scratch->diff, win->w, win->h};
    const double *p = rings->xy;
    for (int i = 0; i < rings->nrings; i++) {
        double area = ring_signed_area(rings, i);
        if (area == 0.0)
            continue;
        double s = rings->sign[i] * (area > 0.0 ? 1.0 : -1.0);
        int start = i ? rings->ring_end[i - 1] : 0, end = rings->ring_end[i];
        for (int k = start; k < end; k++) {
            int next = k + 1 < end ? k + 1 : start;
            add_edge(&sw, p[2 * k] - win->x, p[2 * k + 1] - win->y, p[2 * next] - win->x,
                     p[2 * next + 1] - win->y, s);
        }
    }
    for (int r = 0; r < win->h; r++) {
        double *row = fractions + (size_t)r * win->w;
        const double *diff = scratch->diff + (size_t)r * (win->w + 1);
        double right = 0.0;
        for (int c = win->w - 1; c >= 0; c--) {
            right += diff[c + 1];
            double f = row[c] + right;
            row[c] = f < COVERAGE_SNAP ? 0.0 : f > 1.0 - COVERAGE_SNAP ? 1.0 : f;
        }
    }
    return CR_OK;
}
