/* A gap-free tessellation of the city into N cells with shared, wiggly edges. */
#ifndef SYNTHCITY_TESSELLATION_H
#define SYNTHCITY_TESSELLATION_H

#include "synthcity.h"

/* A local shift of the parameter space that centres one cell on a chosen point. */
typedef struct {
    double s, t;   /* centre of the shift: the middle of the cell to move */
    double ds, dt; /* how far that middle moves */
    double reach;  /* radius beyond which nothing moves; 0 = no shift */
} Focus;

typedef struct {
    const Terrain *terrain;
    uint64_t seed;
    int rows;
    int *cols;          /* cells in each row */
    double **breaks;    /* per row: cols + 1 increasing s positions of its vertical edges */
    double **line_s;    /* per horizontal line (rows + 1): sorted s positions of its vertices */
    int *line_n;        /* vertex count of each line */
    double line_freq;   /* wiggle frequency of the horizontal lines, in cycles per city width */
    Focus focus;
} Tessellation;

int tess_init(Tessellation *ts, int cells, const Terrain *t, uint64_t seed, double focus_u,
              double focus_v);
void tess_free(Tessellation *ts);
OGRGeometryH tess_cell_polygon(const Tessellation *ts, int row, int col);
void tess_cell_point(const Tessellation *ts, int row, int col, double fs, double ft, double *u,
                     double *v);
int tess_row_at(const Tessellation *ts, double v);

#endif
