/* sea.h: the sea given as a file: polygons or a raster mask, read tile by tile onto
 * the grid (internal). */
#ifndef CITYRISK_SEA_H
#define CITYRISK_SEA_H

#include <stdint.h>

#include "cityrisk/context.h"
#include "cityrisk/grid.h"

typedef struct cr_sea_source cr_sea_source;

/* Opens path: a raster (a cell is sea when its value is valid and not 0, nearest
 * resampling) or a vector of polygons (a cell is sea when its centre is inside one;
 * the polygons are reprojected to the grid's CRS and held in memory). */
cr_status cr_sea_source_open(cr_ctx *ctx, const char *path, const cr_grid *grid,
                             cr_sea_source **out);

/* Fills sea (win->w * win->h cells) with 1 for sea cells, 0 elsewhere. */
cr_status cr_sea_source_read(cr_ctx *ctx, cr_sea_source *src, const cr_window *win, uint8_t *sea);

void cr_sea_source_close(cr_sea_source *src);

#endif
