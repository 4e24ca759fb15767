/* outliers.h: records far outside the others, which must not make a grid's extent
 * (internal). One record with latitude and longitude swapped once made a 25,179 x 32,745
 * grid from a city's arrivals; `arrivals` (the grid from the records' extent) and `info`
 * (describing a CSV) share this rule, so what info warns about is what arrivals leaves
 * out.
 *
 * The rule: per axis, the quartiles Q1 and Q3 of the coordinates (nearest rank: the
 * values of rank ceil(n/4) and ceil(3n/4) in order) make the central box, which no
 * quarter of the records on either side can move. Its size s is its longer side, at
 * least min_size (records all at one site have a box of size 0). A record is far when it
 * lies more than CR_OUTLIER_FACTOR * s outside the box along either axis. With fewer
 * than 4 records the quartiles are the extremes themselves and nothing is far. */
#ifndef CITYRISK_OUTLIERS_H
#define CITYRISK_OUTLIERS_H

#include <stddef.h>

#include "cityrisk/context.h"
#include "cityrisk/grid.h"

/* How many sizes of the central box beyond it a record must lie to be far. */
#define CR_OUTLIER_FACTOR 10.0

/* The rule found for a set of points. */
typedef struct cr_outliers {
    cr_bounds central; /* the quartile box */
    double size;       /* max(its longer side, min_size) */
    cr_bounds fence;   /* the box grown by CR_OUTLIER_FACTOR * size; infinite when n < 4 */
} cr_outliers;

/* Finds the rule for n points whose coordinates are x[i * stride] and y[i * stride]
 * (stride in doubles, so that an array of structs can be passed). Fails with CR_E_IO
 * when out of memory (it copies each axis once, 8 bytes per point). */
cr_status cr_outliers_find(cr_ctx *ctx, const double *x, const double *y, size_t stride, size_t n,
                           double min_size, cr_outliers *out);

/* 1 when (x, y) lies outside the fence: far from the others. */
int cr_outliers_far(const cr_outliers *rule, double x, double y);

/* The cells of a grid of resolution res over b, as cr_grid_from_bounds() would make it
 * (snapped outwards), for checking a size before making it. */
double cr_bounds_cells(const cr_bounds *b, double res);

/* Grids made from records' extents above this many cells stop, naming the records that
 * made them (a 10,000 x 10,000 grid is the largest the benchmarks run). */
#define CR_EXTENT_MAX_CELLS 1e8

#endif
