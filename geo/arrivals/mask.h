/* mask.h: the cells a record's kernel may reach under `arrivals --mask` (internal to the
 * arrivals module).
 *
 * The mask is held per output tile: a tile whose cells are all allowed or all refused is
 * one byte; a tile with both holds one byte per cell. Memory therefore follows the mask's
 * edges (a coastline), not the grid's area: at most one byte per cell when every tile is
 * mixed (100 MB on 10^8 cells; a city's coast on 10000 x 10000 cells of 30 m crosses about
 * 60 of the 400 tiles, 16 MB). */
#ifndef CITYRISK_MASK_H
#define CITYRISK_MASK_H

#include <stdint.h>

#include "cityrisk/context.h"
#include "cityrisk/grid.h"

enum { CR_MASK_NONE = 0, CR_MASK_ALL = 1, CR_MASK_MIXED = 2 };

typedef struct cr_mask {
    int tile;             /* tile side, cells */
    int tiles_x, tiles_y;
    uint8_t *state;       /* per tile: CR_MASK_NONE, CR_MASK_ALL or CR_MASK_MIXED */
    uint8_t **cells;      /* per tile: tile * tile bytes, 1 allowed, for mixed tiles; else NULL */
    int64_t allowed;      /* cells allowed in the grid */
    int64_t mixed;        /* tiles with cells of both kinds */
} cr_mask;

/* Reads the raster at path onto grid (nearest resampling, as classes) in tiles of side
 * tile: a cell is allowed when it is valid (not nodata, not masked, inside the raster)
 * and not 0. Fails as cr_layer_open() does, naming the file. Free with cr_mask_free(). */
cr_status cr_mask_from_raster(cr_ctx *ctx, const char *path, const cr_grid *grid, int tile,
                              cr_mask **out);

/* Reads the polygons of the layer at path (its only layer, or layer) onto grid with their
 * exact coverage (core/polygons.h, the union, so that overlaps count once): a cell is
 * allowed when the polygons cover at least half of it. Fails as cr_polyset_load() does. */
cr_status cr_mask_from_polygons(cr_ctx *ctx, const char *path, const char *layer,
                                const cr_grid *grid, int tile, cr_mask **out);

/* A raster or polygons, as the file at path is (a dataset with raster bands is read as a
 * raster): cr_mask_from_raster() or cr_mask_from_polygons() with layer. */
cr_status cr_mask_open(cr_ctx *ctx, const char *path, const char *layer, const cr_grid *grid,
                       int tile, cr_mask **out);

/* An all-refused mask of grid's tiles, for a caller that fills tiles with
 * cr_mask_set_tile(). */
cr_status cr_mask_new(cr_ctx *ctx, const cr_grid *grid, int tile, cr_mask **out);

/* Sets tile index (row-major) from its cells' flags (w * h bytes, 1 allowed), keeping
 * the bytes only when they differ. */
cr_status cr_mask_set_tile(cr_ctx *ctx, cr_mask *m, int64_t index, const uint8_t *allowed,
                           int w, int h);

/* 1 when cell (c, r) of the grid is allowed. */
static inline int cr_mask_allowed(const cr_mask *m, int c, int r)
{
    int64_t t = (int64_t)(r / m->tile) * m->tiles_x + c / m->tile;
    if (m->state[t] != CR_MASK_MIXED)
        return m->state[t];
    return m->cells[t][(size_t)(r % m->tile) * (size_t)m->tile + (size_t)(c % m->tile)];
}

void cr_mask_free(cr_mask *m);

#endif
