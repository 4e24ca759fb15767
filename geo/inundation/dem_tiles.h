/* dem_tiles.h: the DEM's tiles for inundation's passes, decoded on worker threads and kept in
 * memory within a budget (internal).
 *
 * Each pass of inundation visits the tiles of the part in index order on the calling thread,
 * where the tiled labelling (reach.h) must run in that order. Decoding a tile of a DEFLATE
 * GeoTIFF costs far more than labelling it, so workers decode the next tiles while the
 * calling thread labels one: each worker reads through a DEM dataset of its own (GDAL's
 * datasets are per thread), into a slot buffer, and the tile is handed over in order, so the
 * result does not depend on the number of threads.
 *
 * The first pass also keeps the tiles, as Float32 with NaN for invalid cells, while they fit
 * the budget given at open (the first tiles in index order; the budget leaves room for the
 * tiles in flight, so how many are kept depends on the threads, never which cells come out); later passes read a kept tile from memory instead of
 * decoding it again. A tile is kept only when Float32 holds every one of its values exactly
 * (always so for a Float32 DEM on its own grid); otherwise it is decoded again, so kept or
 * not the values handed over are the same. */
#ifndef CITYRISK_DEM_TILES_H
#define CITYRISK_DEM_TILES_H

#include <stdint.h>

#include "cityrisk/context.h"
#include "cityrisk/grid.h"

typedef struct cr_dem_tiles cr_dem_tiles;

/* Bytes a kept cell takes (a Float32). */
#define CR_DEM_TILES_KEPT_CELL 4

/* What a run of inundation holds beside the kept tiles, for cr_dem_tiles_keep_bytes(). */
typedef struct cr_dem_tiles_memory {
    int64_t budget;      /* cr_ctx_max_memory() */
    int64_t block_cache; /* GDAL's block cache (GDALGetCacheMax64()) */
    int64_t fixed;       /* what does not grow with the threads or the reaches */
    int64_t tile_cells;  /* the cells of a whole tile: T x T, or less on a smaller grid */
    int threads;         /* decoding workers, as given to cr_dem_tiles_open() */
    int64_t width;       /* the grid's columns */
    int64_t tiles;       /* the grid's tiles */
    int reaches;         /* the reaches of the run (reach.h) */
} cr_dem_tiles_memory;

/* Bytes a tile in flight takes per cell: Float64 elevation and a validity byte. */
#define CR_DEM_TILES_FLIGHT_CELL 9

/* The decoding workers for threads, at most as many whose tiles in flight (two each, 9 bytes
 * a cell) take a quarter of the budget, and at least 1. */
int cr_dem_tiles_workers(int64_t budget, int64_t tile_cells, int threads);

/* The bytes of DEM tiles to keep when passes passes read them (0 when fewer than 2): half the
 * budget, and never more than what is left of it beside the block cache, m->fixed, the tiles
 * in flight of cr_dem_tiles_workers() workers, and per reach 8 bytes per grid column and 4 per
 * tile (docs/inundation.md, the memory bound). Never negative. */
int64_t cr_dem_tiles_keep_bytes(const cr_dem_tiles_memory *m, int passes);

/* The tiles of part (a window of grid) in tiles of tile cells: window i of the part is
 * cr_grid_window(part_grid, tile, i), read from path on grid at part's offset. Workers
 * (cr_dem_tiles_workers() of threads) each hold two slot buffers of a tile. At most keep_bytes are
 * kept (0: none). Fails with CR_E_IO when out of memory; close *out with
 * cr_dem_tiles_close(). */
cr_status cr_dem_tiles_open(cr_ctx *ctx, const char *path, const cr_grid *grid,
                            const cr_grid *part_grid, const cr_window *part, int tile, int threads,
                            int64_t keep_bytes, cr_dem_tiles **out);

/* Consumes tile index (window win of the part) on the calling thread: z (Float64, NaN where
 * invalid) and valid, win->w * win->h cells, as cr_layer_read_f64() gives them. z may be
 * changed. */
typedef cr_status (*cr_dem_tile_fn)(cr_ctx *ctx, void *arg, int64_t index, const cr_window *win,
                                    double *z, uint8_t *valid);

/* One pass: every tile in index order, handed to fn on the calling thread. Stops at the
 * first failure. */
cr_status cr_dem_tiles_pass(cr_ctx *ctx, cr_dem_tiles *t, cr_dem_tile_fn fn, void *arg);

/* The cells kept in memory so far (for messages and tests). */
int64_t cr_dem_tiles_kept_cells(const cr_dem_tiles *t);

/* Frees the kept tiles (before the outputs are copied), keeping the readers. */
void cr_dem_tiles_drop(cr_dem_tiles *t);

void cr_dem_tiles_close(cr_dem_tiles *t);

#endif
