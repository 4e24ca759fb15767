/*
 * tile.h: one part of a grid, for runs split across machines.
 *
 * A per-cell command run with --tile I/N or --window XOFF,YOFF,XSIZE,YSIZE computes only
 * that window of its grid and writes it as a raster of its own (the tile's grid: the same
 * CRS and cell size, the origin moved to the window's corner). Windows are aligned to the
 * CR_BLOCK_SIZE block grid of the outputs, so that a tile's blocks are the single run's
 * blocks and joining the tiles (cityrisk mosaic) gives the single run's values.
 *
 * --tile I/N cuts the grid into N tiles, I from 1 to N (as split -n K/N counts): R rows
 * by C columns of tiles with R * C = N, the factorisation whose tiles are closest to
 * square, the blocks shared out as evenly as they go (tile column j, 0-based, holds block
 * columns floor(j * BX / C) .. floor((j + 1) * BX / C) - 1 of the grid's BX block
 * columns; rows alike), tiles numbered in row-major order.
 */
#ifndef CITYRISK_TILE_H
#define CITYRISK_TILE_H

#include "cityrisk/context.h"
#include "cityrisk/export.h"
#include "cityrisk/grid.h"
#include "cityrisk/raster.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Metadata items (default domain) a tile raster carries, so that mosaic can check and
 * place it: CITYRISK_TILE "I/N" (absent for --window), CITYRISK_WINDOW "XOFF,YOFF,XSIZE,YSIZE"
 * and CITYRISK_FULL_SIZE "WIDTH,HEIGHT" of the whole grid. */
#define CR_TILE_KEY "CITYRISK_TILE"
#define CR_TILE_WINDOW_KEY "CITYRISK_WINDOW"
#define CR_TILE_FULL_SIZE_KEY "CITYRISK_FULL_SIZE"

/* Which part of a grid a run computes. Zeroed: the whole grid. */
typedef struct cr_tile_spec {
    int index;         /* --tile I/N: I, 1-based; 0 when not given */
    int count;         /* --tile I/N: N; 0 when not given */
    int has_window;    /* --window given */
    cr_window window;  /* --window XOFF,YOFF,XSIZE,YSIZE */
} cr_tile_spec;

/* Parses "I/N" (1 <= I <= N <= CR_TILE_MAX) into spec->index and spec->count. Fails with
 * CR_E_USAGE quoting the text otherwise. */
CR_API cr_status cr_tile_parse(cr_ctx *ctx, const char *text, cr_tile_spec *spec);

/* Parses "XOFF,YOFF,XSIZE,YSIZE" (whole numbers, offsets >= 0, sizes > 0) into
 * spec->window and sets spec->has_window. Fails with CR_E_USAGE quoting the text. */
CR_API cr_status cr_tile_parse_window(cr_ctx *ctx, const char *text, cr_tile_spec *spec);

/* 1 when spec names a part (--tile or --window), 0 for the whole grid. */
CR_API int cr_tile_given(const cr_tile_spec *spec);

/* The most tiles --tile accepts. */
#define CR_TILE_MAX 65536

/* The window of grid that spec names (the whole grid when nothing is given). Fails with
 * CR_E_USAGE when both --tile and --window are given; when the window is not inside the
 * grid; when its offsets are not multiples of CR_BLOCK_SIZE or its size is neither a
 * multiple of it nor reaching the grid's right or bottom edge; when N is more tiles
 * than the grid has blocks in a way that leaves a tile empty. */
CR_API cr_status cr_tile_window(cr_ctx *ctx, const cr_grid *grid, const cr_tile_spec *spec,
                                cr_window *out);

/* The grid of a window of grid: the same CRS and cell size, the origin at the window's
 * top-left corner, the window's size. NULL when out of memory. Free with cr_grid_free(). */
CR_API cr_grid *cr_grid_subgrid(const cr_grid *grid, const cr_window *window);

/* Marks a tile raster being written: sets CR_TILE_KEY (when spec has --tile),
 * CR_TILE_WINDOW_KEY and CR_TILE_FULL_SIZE_KEY on the dataset, for window of a grid of
 * full_width x full_height cells. Open the writer on cr_grid_subgrid(grid, window). */
CR_API cr_status cr_tile_mark(cr_ctx *ctx, cr_writer *w, const cr_tile_spec *spec,
                              const cr_window *window, int full_width, int full_height);

/* The rows x columns of tiles --tile I/N cuts a grid of width x height cells into
 * (see above), for documentation and the pipeline's plan. */
CR_API void cr_tile_layout(int width, int height, int count, int *rows, int *cols);

#ifdef __cplusplus
}
#endif

#endif
