/* kernel.h: a record's kernel footprint on a grid (internal to the arrivals module).
 *
 * Cell (c, r) has its centre at (c + 0.5, r + 0.5) in cell coordinates. A record at
 * (fx, fy) gives each cell whose centre lies at distance d < h the weight w(u), u =
 * d / h, of the kernel's shape (its density without the constant, which cancels
 * when the weights are renormalised). */
#ifndef CITYRISK_KERNEL_H
#define CITYRISK_KERNEL_H

#include <stddef.h>

#include "cityrisk/arrivals.h"

typedef struct cr_mask cr_mask;

typedef struct cr_stamp {
    cr_kernel kernel;
    const cr_mask *mask; /* cells outside it weigh 0 (mask.h); NULL: every cell counts */
    double fx, fy;       /* the record, in cell coordinates */
    double ux, uy;       /* u per cell: cell width / h, cell height / h */
    int c0, r0, c1, r1;  /* the cells the footprint may touch (inclusive, unclipped) */
} cr_stamp;

/* A rectangle of cells, inclusive. */
typedef struct cr_cells {
    int c0, r0, c1, r1;
} cr_cells;

/* Sets up the footprint of a record at (fx, fy) for bandwidth h over cells of
 * cell_w by cell_h (CRS units), without a mask (set s->mask for one). h / cell size must stay below CR_GRID_MAX_SIDE (arrivals
 * keeps it within the grid's shorter side). */
void cr_stamp_init(cr_stamp *s, cr_kernel kernel, double h, double cell_w, double cell_h,
                   double fx, double fy);

/* 1 when the footprint lies entirely inside area. */
int cr_stamp_inside(const cr_stamp *s, const cr_cells *area);

/* The sum of the weights of the footprint's cells inside area. */
double cr_stamp_sum(const cr_stamp *s, const cr_cells *area);

/* Adds the weights of the footprint's cells inside area to *sum, row after row as
 * cr_stamp_sum() does: summing an area in bands of rows, top to bottom, gives the same
 * bits as summing it at once, with a chance to stop between bands. */
void cr_stamp_sum_into(const cr_stamp *s, const cr_cells *area, double *sum);

/* Adds scale * weight to the footprint's cells inside area, in acc: a row-major
 * buffer whose element [0] is cell (area->c0, area->r0) and whose rows are stride
 * apart. */
void cr_stamp_add(const cr_stamp *s, const cr_cells *area, double scale, double *acc, size_t stride);

#endif
