/*
 * grid.h: the analysis grid.
 *
 * Every layer of an analysis is read onto one grid: a CRS, a north-up
 * geotransform (origin and cell size) and a size in cells. Grids come from a
 * reference raster or from bounds, a resolution and a CRS with the origin snapped
 * to the resolution (as gdalwarp -tap). A grid always has a CRS.
 *
 * Work over a grid is done window by window: block windows follow the tiling of
 * the outputs (square blocks of CR_BLOCK_SIZE cells) so that every written block
 * is written once and whole.
 */
#ifndef CITYRISK_GRID_H
#define CITYRISK_GRID_H

#include <stdint.h>

#include "cityrisk/context.h"
#include "cityrisk/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The side of the square output blocks, in cells (COG tiles). */
#define CR_BLOCK_SIZE 512

/* A north-up grid. gt follows GDAL: x = gt[0] + col*gt[1], y = gt[3] + row*gt[5]
 * (gt[2] = gt[4] = 0, gt[5] < 0). crs_wkt is owned by the grid. */
typedef struct cr_grid {
    char *crs_wkt;
    double gt[6];
    int width;
    int height;
} cr_grid;

/* A rectangle of cells: columns x .. x+w-1, rows y .. y+h-1. */
typedef struct cr_window {
    int x, y, w, h;
} cr_window;

/* Bounds in a CRS's units. */
typedef struct cr_bounds {
    double xmin, ymin, xmax, ymax;
} cr_bounds;

/* The largest grid accepted, in cells per side, so that cell indices fit an int
 * and a request far beyond any real city is refused before allocating. */
#define CR_GRID_MAX_SIDE 1000000

/* Builds the grid of a raster: its CRS, geotransform and size. Fails with
 * CR_E_DATA when the raster has no CRS, no geotransform or is rotated, and with
 * CR_E_IO when it cannot be opened. Free *out with cr_grid_free(). */
CR_API cr_status cr_grid_from_raster(cr_ctx *ctx, const char *path, cr_grid **out);

/* Builds the grid covering bounds (in the units of crs) with square-or-not cells
 * of res_x by res_y, the origin snapped to a multiple of the resolution so that
 * grids built from different bounds align: xmin and ymin are floored, xmax and
 * ymax ceiled to the resolution. crs is anything OSRSetFromUserInput accepts
 * ("EPSG:32736", WKT, a PROJ string). Fails with CR_E_USAGE on empty bounds, a
 * non-positive resolution, an unknown CRS or a grid over CR_GRID_MAX_SIDE.
 * Free *out with cr_grid_free(). */
CR_API cr_status cr_grid_from_bounds(cr_ctx *ctx, const cr_bounds *bounds, double res_x,
                                     double res_y, const char *crs, cr_grid **out);

/* How a command's grid is given: --grid REF, or --crs CRS --resolution M and optionally
 * --bounds XMIN,YMIN,XMAX,YMAX (in the CRS's units). Zeroed: nothing given, the grid of
 * the command's primary input. Strings are borrowed. */
typedef struct cr_grid_spec {
    const char *ref;    /* a raster whose grid to take; NULL when not given */
    const char *crs;    /* the grid's CRS (anything OSRSetFromUserInput takes); NULL when not given */
    double resolution;  /* the cell size in the CRS's units, > 0; 0 when not given */
    int has_bounds;     /* bounds given */
    cr_bounds bounds;   /* the extent, snapped outwards to the resolution */
} cr_grid_spec;

/* Parses "xmin,ymin,xmax,ymax" (four decimal numbers) into *out. Fails with CR_E_USAGE
 * quoting the text otherwise. */
CR_API cr_status cr_bounds_parse(cr_ctx *ctx, const char *text, cr_bounds *out);

/* The rules between the grid options, the same for every command (CR_E_USAGE): --grid
 * with any of --crs, --resolution, --bounds; --crs without --resolution or the other way
 * round; --bounds without them; bounds that are empty (xmax <= xmin or ymax <= ymin). */
CR_API cr_status cr_grid_spec_check(cr_ctx *ctx, const cr_grid_spec *spec);

/* The grid of spec, for a command whose primary input (the raster whose grid it takes by
 * default: inundation's DEM, score's informal layer, zonal's first raster) is primary:
 * - spec->ref: that raster's grid (cr_grid_from_raster());
 * - spec->crs and spec->resolution: square cells of that size in that CRS over
 *   spec->bounds, or without bounds over the primary input's extent as gdalwarp -t_srs CRS
 *   -tr M M -tap finds it (a raster's footprint through GDAL's suggested warp output; a
 *   vector's layer extents, edges densified, transformed), snapped outwards to multiples of
 *   the resolution (cr_grid_from_bounds());
 * - nothing: the primary raster's grid.
 * Fails as those functions do, with CR_E_DATA when the primary input has no CRS or its
 * extent cannot be transformed to the CRS. Free *out with cr_grid_free(). */
CR_API cr_status cr_grid_from_spec(cr_ctx *ctx, const cr_grid_spec *spec, const char *primary,
                                   cr_grid **out);

/* The raster the grid of spec comes from (spec->ref, else primary), NULL when options
 * lay it (--crs and --resolution): what cr_output_check_size() names. */
CR_API const char *cr_grid_spec_source(const cr_grid_spec *spec, const char *primary);

/* Makes a grid from parts (the WKT is copied). Fails with CR_E_DATA when crs_wkt is
 * NULL or empty, or the geotransform is not north-up with positive size. */
CR_API cr_status cr_grid_new(cr_ctx *ctx, const char *crs_wkt, const double gt[6], int width,
                             int height, cr_grid **out);

/* A deep copy of grid, or NULL when out of memory. Free with cr_grid_free(). */
CR_API cr_grid *cr_grid_clone(const cr_grid *grid);

/* Frees a grid. Accepts NULL. */
CR_API void cr_grid_free(cr_grid *grid);

/* The bounds of the grid in its CRS. */
CR_API cr_bounds cr_grid_bounds(const cr_grid *grid);

/* The area of one cell in squared CRS units. */
CR_API double cr_grid_cell_area(const cr_grid *grid);

/* 1 when both grids have the same size and geotransform (to a millionth of a cell)
 * and the same CRS, else 0. */
CR_API int cr_grid_equal(const cr_grid *a, const cr_grid *b);

/* 1 when two CRS definitions (WKT or user input) describe the same CRS, else 0. */
CR_API int cr_crs_equal(const char *crs_a, const char *crs_b);

/* Snaps v down (floor) or up (ceil) to a multiple of step, tolerating a floating-point
 * error of a millionth of a step so that a bound already on the grid stays put. */
CR_API double cr_snap_down(double v, double step);
CR_API double cr_snap_up(double v, double step);

/* The number of block windows of side `block` (CR_BLOCK_SIZE for outputs) that
 * tile the grid, in row-major order. */
CR_API int64_t cr_grid_window_count(const cr_grid *grid, int block);

/* The index-th block window (0-based, row-major), clipped at the right and bottom
 * edges. index must be below cr_grid_window_count(). */
CR_API cr_window cr_grid_window(const cr_grid *grid, int block, int64_t index);

#ifdef __cplusplus
}
#endif

#endif
