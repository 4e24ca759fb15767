/*
 * coverage.h: the exact fraction of each grid cell covered by a polygon.
 *
 * Zonal statistics weight every cell by the share of its area inside the zone (as
 * exactextract does), so that a neighbourhood's totals do not depend on whether a
 * cell's centre happens to fall inside it. The fractions come from Green's theorem
 * rather than from clipping a polygon against every cell:
 *
 *   area(P within cell [c, c+1] x [r, r+1]) = sum over the edges of P, taken inside the
 *   row strip r <= y <= r+1, of the integral of (clamp(x, c, c+1) - c) dy
 *
 * An edge contributes only to the cells it crosses (the part of the integral where
 * c < x < c+1) and a full dy to every cell of its row to its left, which a running sum
 * from right to left adds in one sweep. So only boundary cells cost geometry work:
 * cells wholly inside or outside get 1 or 0 from the sweep, and a polygon costs
 * O(cells its edges cross + cells of its bounding box). Holes are rings of opposite
 * sign; the parts of a multipolygon add up.
 *
 * Polygons are given in cell coordinates of the grid, col = (x - gt[0]) / gt[1] and
 * row = (y - gt[3]) / gt[5], so that cell (c, r) is the unit square [c, c+1] x [r, r+1].
 */
#ifndef CITYRISK_COVERAGE_H
#define CITYRISK_COVERAGE_H

#include <stddef.h>

#include "cityrisk/context.h"
#include "cityrisk/export.h"
#include "cityrisk/grid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A polygon or multipolygon as rings in cell coordinates. Ring i holds the points
 * xy[2 * ring_end[i - 1]] .. xy[2 * ring_end[i] - 1] (ring_end[-1] taken as 0), closed
 * implicitly (a repeated first point is harmless). sign[i] is +1 for a ring that adds
 * area (a shell) and -1 for one that removes it (a hole), whatever the ring's
 * orientation. The parts of a multipolygon must not overlap (valid geometries). */
typedef struct cr_rings {
    const double *xy;
    const int *ring_end;
    const signed char *sign;
    int nrings;
} cr_rings;

/* The area of the polygon in cells (shells minus holes). */
CR_API double cr_rings_area(const cr_rings *rings);

/* Scratch memory for cr_coverage(), reused between calls; zero it before the first use
 * and free it with cr_coverage_scratch_free(). */
typedef struct cr_coverage_scratch {
    double *diff;
    size_t cap;
} cr_coverage_scratch;

CR_API void cr_coverage_scratch_free(cr_coverage_scratch *scratch);

/* The fraction of each cell of win covered by the polygon, into fractions (win->w *
 * win->h, row-major), each in [0, 1]; fractions within 1e-12 of 0 or 1 are rounded to
 * it, which removes the rounding noise of the sums. Any window works: cells outside the
 * polygon get 0. Fails with CR_E_IO only when out of memory. */
CR_API cr_status cr_coverage(cr_ctx *ctx, const cr_rings *rings, const cr_window *win,
                             cr_coverage_scratch *scratch, double *fractions);

#ifdef __cplusplus
}
#endif

#endif
