/* fuzz_coverage.c: exact cell-coverage fractions (cr_coverage) of arbitrary rings,
 * checked cell by cell against an independent oracle.
 *
 * Input: a header, then rings. Header byte 0: bits 0-1 the coordinate step (1, 1/4,
 * 1/256 or 1/1000 of a cell), bits 2-3 the span of the coordinates (2, 4, 9 or 16
 * cells), bits 4-6 an offset added to every coordinate (up to 2^24 cells, where steps of
 * 1/1000 round); byte 1: the margin of the full window; bytes 2-5: a second window
 * anywhere around the polygon. Each ring: a byte (bit 7: a hole; bit 6: repeat the first
 * point at the end; bits 0-4: points - 1), then 4 bytes per point (x, y as 16 bits).
 *
 * The oracle: clipping a ring to a cell with Sutherland-Hodgman keeps the ring's winding
 * number inside the cell, so the signed area of the clipped ring is the integral of the
 * winding number over the cell, for any ring, self-intersecting or not. cr_coverage()
 * adds, per cell, that integral for every ring oriented by the sign of the ring's area
 * and weighted by the ring's sign, then clamps it to [0, 1] (snapping within 1e-12).
 * So, for every input:
 *   - each fraction is clamp(oracle) within 1e-9, in [0, 1] and not NaN;
 *   - a second window gives the same fractions where it meets the first;
 *   - cr_rings_area() is the sum of the rings' signed areas (within its rounding);
 * and when no cell's oracle leaves [0, 1] (a valid polygon: shells that do not
 * overlap, holes inside them, as coverage.h asks; also some invalid ones where nothing
 * is clamped), the fractions of a window holding the polygon add up to its area in
 * cells. Self-intersecting and overlapping rings legitimately break that sum: their
 * coverage is clamped per cell, their area is not. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/coverage.h"
#include "fuzzutil.h"
#include "polyclip.h"

#define MAX_RINGS 8
#define MAX_POINTS 160
#define TOL 1e-9
/* coverage.c snaps a cell's sum below this to 0 and above 1 - SNAP to 1; anything
 * beyond is a clamp, which the sum of the fractions does not survive. */
#define SNAP 1e-12

typedef struct poly {
    double xy[2 * MAX_POINTS];
    int ring_end[MAX_RINGS];
    signed char sign[MAX_RINGS];
    int nrings, npoints;
} poly;

static cr_coverage_scratch scratch; /* reused across inputs, as zonal.c does */

/* The signed area of ring i, computed as coverage.c does (same terms, same order), for
 * the orientation it gives the ring. */
static double code_ring_area(const poly *p, int i)
{
    int start = i ? p->ring_end[i - 1] : 0, end = p->ring_end[i];
    if (end - start < 3)
        return 0.0;
    double sum = 0.0;
    for (int k = start; k < end; k++) {
        int next = k + 1 < end ? k + 1 : start;
        sum += (p->xy[2 * k] + p->xy[2 * next]) * (p->xy[2 * next + 1] - p->xy[2 * k + 1]);
    }
    return 0.5 * sum;
}

/* A bound on the rounding error of that sum: each term is rounded twice, and the sum
 * of n terms once per addition. */
static double code_ring_area_error(const poly *p, int i)
{
    int start = i ? p->ring_end[i - 1] : 0, end = p->ring_end[i];
    double bound = 0.0;
    for (int k = start; k < end; k++) {
        int next = k + 1 < end ? k + 1 : start;
        bound += (fabs(p->xy[2 * k]) + fabs(p->xy[2 * next])) *
                 fabs(p->xy[2 * next + 1] - p->xy[2 * k + 1]);
    }
    return bound * (end - start + 4) * DBL_EPSILON;
}

/* The weight coverage.c gives ring i: its sign, times the sign of its area; 0 when
 * it skips the ring. */
static double ring_weight(const poly *p, int i)
{
    double a = code_ring_area(p, i);
    return a == 0.0 ? 0.0 : p->sign[i] * (a > 0.0 ? 1.0 : -1.0);
}

/* The oracle's coverage of every cell of win (before clamping) into out. */
static void oracle(const poly *p, const cr_window *win, double *out)
{
    memset(out, 0, (size_t)win->w * win->h * sizeof *out);
    double rel[2 * MAX_POINTS];
    for (int i = 0; i < p->nrings; i++) {
        double weight = ring_weight(p, i);
        int start = i ? p->ring_end[i - 1] : 0, n = p->ring_end[i] - start;
        if (weight == 0.0)
            continue;
        double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
        for (int k = 0; k < n; k++) {
            rel[2 * k] = p->xy[2 * (start + k)] - win->x;
            rel[2 * k + 1] = p->xy[2 * (start + k) + 1] - win->y;
            x0 = fmin(x0, rel[2 * k]), x1 = fmax(x1, rel[2 * k]);
            y0 = fmin(y0, rel[2 * k + 1]), y1 = fmax(y1, rel[2 * k + 1]);
        }
        int c0 = (int)fmax(floor(x0), 0), c1 = (int)fmin(ceil(x1), win->w);
        int r0 = (int)fmax(floor(y0), 0), r1 = (int)fmin(ceil(y1), win->h);
        for (int r = r0; r < r1; r++)
            for (int c = c0; c < c1; c++)
                out[(size_t)r * win->w + c] += weight * oracle_ring_in_cell(rel, n, c, r);
    }
}

/* Reads the rings after the header; 0 when there are none. */
static int decode(const uint8_t *data, size_t size, double step, int span, double offset, poly *p)
{
    int modulo = (int)lround(span / step) + 1;
    p->nrings = p->npoints = 0;
    size_t at = 0;
    while (at < size && p->nrings < MAX_RINGS) {
        uint8_t head = data[at++];
        int n = 1 + (head & 31), close = (head & 64) != 0, start = p->npoints;
        for (int k = 0; k < n && at + 4 <= size && p->npoints < MAX_POINTS - 1; k++, at += 4) {
            int ux = (data[at] | data[at + 1] << 8) % modulo;
            int uy = (data[at + 2] | data[at + 3] << 8) % modulo;
            p->xy[2 * p->npoints] = offset + ux * step;
            p->xy[2 * p->npoints + 1] = offset + uy * step;
            p->npoints++;
        }
        if (p->npoints == start)
            break;
        if (close) {
            p->xy[2 * p->npoints] = p->xy[2 * start];
            p->xy[2 * p->npoints + 1] = p->xy[2 * start + 1];
            p->npoints++;
        }
        p->ring_end[p->nrings] = p->npoints;
        p->sign[p->nrings++] = (head & 128) ? -1 : 1;
    }
    return p->nrings > 0;
}

/* Runs cr_coverage() over win and checks each cell against the oracle; the fractions
 * and the oracle's values go to f and o (win->w * win->h each, to free()). */
static void cover(cr_ctx *ctx, const poly *p, const cr_window *win, double **f, double **o)
{
    size_t cells = (size_t)win->w * win->h;
    *f = malloc((cells ? cells : 1) * sizeof **f);
    *o = malloc((cells ? cells : 1) * sizeof **o);
    if (!*f || !*o)
        fz_fail("out of memory");
    cr_rings rings = {p->xy, p->ring_end, p->sign, p->nrings};
    FZ_CHECK(cr_coverage(ctx, &rings, win, &scratch, *f) == CR_OK, "cr_coverage: %s",
             cr_ctx_error(ctx));
    oracle(p, win, *o);
    for (size_t i = 0; i < cells; i++) {
        double v = (*f)[i], want = fmin(fmax((*o)[i], 0.0), 1.0);
        FZ_CHECK(v >= 0.0 && v <= 1.0, "window (%d, %d, %d, %d) cell %zu: fraction %.17g",
                 win->x, win->y, win->w, win->h, i, v);
        FZ_CHECK(fabs(v - want) <= TOL,
                 "window (%d, %d, %d, %d) cell (%zu, %zu): fraction %.17g, oracle %.17g", win->x,
                 win->y, win->w, win->h, i % (size_t)win->w, i / (size_t)win->w, v, (*o)[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const double steps[4] = {1.0, 0.25, 1.0 / 256, 0.001};
    static const int spans[4] = {2, 4, 9, 16};
    static const double offsets[8] = {0, -1, 3, -7, 1 << 12, -(1 << 20), 1 << 24, -(1 << 24) - 5};
    if (size < 6)
        return 0;
    double step = steps[data[0] & 3], offset = offsets[(data[0] >> 4) & 7];
    int span = spans[(data[0] >> 2) & 3];
    poly p;
    if (!decode(data + 6, size - 6, step, span, offset, &p))
        return 0;
    cr_ctx *ctx = fz_ctx();

    /* The full window: every point inside, with a margin. */
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (int k = 0; k < p.npoints; k++) {
        x0 = fmin(x0, p.xy[2 * k]), x1 = fmax(x1, p.xy[2 * k]);
        y0 = fmin(y0, p.xy[2 * k + 1]), y1 = fmax(y1, p.xy[2 * k + 1]);
    }
    int margin = data[1] % 3;
    cr_window full = {(int)floor(x0) - margin, (int)floor(y0) - margin, 0, 0};
    full.w = (int)ceil(x1) + margin - full.x;
    full.h = (int)ceil(y1) + margin - full.y;
    double *f, *o;
    cover(ctx, &p, &full, &f, &o);

    /* The area. Sums over the full window, which holds every ring: the fractions are the
     * oracle's where nothing is clamped; the oracle's add up to the rings' areas (up to
     * rings too thin for the sign of their area to be sure); cr_rings_area() is the sum
     * of those areas, rounded as its coordinates make it. */
    cr_rings rings = {p.xy, p.ring_end, p.sign, p.nrings};
    double area = cr_rings_area(&rings), rel = 0.0, error = 0.0, exact = 0.0, sum = 0.0;
    for (int i = 0; i < p.nrings; i++) {
        int start = i ? p.ring_end[i - 1] : 0, n = p.ring_end[i] - start;
        double xy[2 * MAX_POINTS];
        for (int k = 0; k < n; k++) {
            xy[2 * k] = p.xy[2 * (start + k)] - full.x;
            xy[2 * k + 1] = p.xy[2 * (start + k) + 1] - full.y;
        }
        rel += p.sign[i] * fabs(n >= 3 ? oracle_shoelace(xy, n) : 0.0);
        error += code_ring_area_error(&p, i);
    }
    FZ_CHECK(fabs(area - rel) <= error + TOL, "cr_rings_area %.17g, not %.17g (error %g)", area,
             rel, error);
    size_t cells = (size_t)full.w * full.h;
    int clamped = 0;
    for (size_t i = 0; i < cells; i++) {
        exact += o[i];
        sum += f[i];
        clamped |= o[i] < -SNAP || o[i] > 1 + SNAP;
    }
    double sum_tol = TOL + 1e-11 * (double)cells;
    FZ_CHECK(fabs(exact - rel) <= 2 * error + sum_tol,
             "the oracle's cells add up to %.17g, the rings' areas to %.17g", exact, rel);
    if (!clamped) {
        FZ_CHECK(fabs(sum - exact) <= sum_tol, "fractions add up to %.17g, the oracle's to %.17g",
                 sum, exact);
        FZ_CHECK(fabs(sum - area) <= 2 * error + sum_tol,
                 "fractions add up to %.17g cells, the polygon's area is %.17g cells", sum, area);
    }

    /* A second window anywhere around the polygon: the same fractions where it meets the
     * full one, and zero elsewhere when the full window held the polygon. */
    cr_window sub = {full.x - 3 + data[2] % (full.w + 6), full.y - 3 + data[3] % (full.h + 6),
                     data[4] % (full.w + 4), data[5] % (full.h + 4)};
    double *g, *q;
    cover(ctx, &p, &sub, &g, &q);
    for (int r = 0; r < sub.h; r++)
        for (int c = 0; c < sub.w; c++) {
            int fc = sub.x + c - full.x, fr = sub.y + r - full.y;
            double v = g[(size_t)r * sub.w + c];
            double want = fc >= 0 && fc < full.w && fr >= 0 && fr < full.h
                              ? f[(size_t)fr * full.w + fc]
                              : 0.0;
            FZ_CHECK(fabs(v - want) <= TOL,
                     "cell (%d, %d): %.17g in window (%d, %d, %d, %d), %.17g in the full one",
                     sub.x + c, sub.y + r, v, sub.x, sub.y, sub.w, sub.h, want);
        }
    free(f);
    free(o);
    free(g);
    free(q);
    return 0;
}
