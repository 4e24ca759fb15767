/* mosaic_internal.h: the parts of cr_mosaic() its unit tests call (not installed). */
#ifndef CITYRISK_MOSAIC_INTERNAL_H
#define CITYRISK_MOSAIC_INTERNAL_H

#include "cityrisk/context.h"
#include "cityrisk/grid.h"

/* One tile as its marks place it. */
typedef struct cr_mosaic_part {
    const char *path;   /* as given */
    cr_window window;   /* CITYRISK_WINDOW */
    int index, count;   /* CITYRISK_TILE I/N; 0, 0 for a --window tile */
} cr_mosaic_part;

/* Sorts parts by window (top to bottom, left to right; then path) and checks that they
 * cover a width x height grid of CR_BLOCK_SIZE blocks exactly once: CR_E_DATA naming both
 * files when two overlap, the missing tile numbers when every part is a tile of the same
 * --tile N, else the first block window (row-major) that no part covers. Windows are
 * taken as aligned to the blocks and inside the grid (checked before). */
cr_status cr_mosaic_cover(cr_ctx *ctx, cr_mosaic_part *parts, int n, int width, int height);

/* The command line a tile records (CITYRISK_COMMAND, shell-quoted) as the single run
 * writing output would record it: without --tile I/N or --window X (either written with '='
 * or as two words), the value of -o / --output replaced by output (shell-quoted) when
 * tile_path is that -o, or by output less the suffix the tile adds to it when it is a file
 * named after it (tile t_confidence.tif of -o t.tif, output m_confidence.tif: -o
 * m.tif). A new string to free(); NULL when the line names no output, the tile is not named
 * after it, or memory runs out. */
char *cr_mosaic_command_line(const char *tile_command, const char *tile_path, const char *output);

#endif
