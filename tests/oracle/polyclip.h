/* polyclip.h: the independent oracle the coverage tests (unit and fuzz) check
 * cr_coverage() against: a ring clipped to a cell with Sutherland-Hodgman.
 *
 * Clipping keeps a ring's winding number inside the cell, so the signed area of the
 * clipped ring is the integral of the winding number over the cell, for any ring,
 * convex or not, self-intersecting or not. It shares no code with geo/coverage.c. */
#ifndef CITYRISK_POLYCLIP_H
#define CITYRISK_POLYCLIP_H

/* The signed area (shoelace; positive when counter-clockwise in x-right, y-up terms) of
 * the polygon xy[0..2n) of n points, implicitly closed. */
double oracle_shoelace(const double *xy, int n);

/* The signed area of the ring xy (n points, implicitly closed) inside the unit cell
 * [c, c + 1) x [r, r + 1) of the ring's own coordinates. Aborts when out of memory. Not thread-safe: it keeps
 * its buffers from call to call. */
double oracle_ring_in_cell(const double *xy, int n, int c, int r);

#endif
