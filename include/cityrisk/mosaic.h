/*
 * mosaic.h: the tiles of one raster, written by separate runs, joined into the raster one
 * run writes.
 *
 * A per-cell command run with --tile I/N or --window writes one part of its grid as a
 * raster of its own, marked with the metadata of tile.h. cr_mosaic() checks that the
 * tiles are parts of one grid and one output (same CRS, cell size and origin, same bands,
 * types, nodata, descriptions, units and metadata), that together they cover the grid
 * exactly once, and writes them through the same COG writer as the command, window by
 * window: the cells, the overviews (by most frequent value for class bands, by mean
 * otherwise, as the command's writer chose) and the metadata are the single run's.
 */
#ifndef CITYRISK_MOSAIC_H
#define CITYRISK_MOSAIC_H

#include "cityrisk/context.h"
#include "cityrisk/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options of cr_mosaic(); initialise with cr_mosaic_opts_init(). */
typedef struct cr_mosaic_opts {
    int overwrite;           /* replace an existing output; default 0 */
    char **creation_options; /* NAME=VALUE list (CSL) for the COG, as the command's -co */
} cr_mosaic_opts;

/* Fills opts with the defaults above. */
CR_API void cr_mosaic_opts_init(cr_mosaic_opts *opts);

/* What cr_mosaic() joined. */
typedef struct cr_mosaic_summary {
    int tiles;          /* rasters joined */
    int width, height;  /* the whole grid's cells */
    int bands;
    int command_kept;   /* 1: CITYRISK_COMMAND is the tiles' command without --tile/--window,
                         * its -o the mosaic's (what the single run records); 0: the tiles'
                         * commands differ otherwise, and the mosaic records its own */
    int statistics_dropped; /* 1: the tiles' CITYRISK_STATISTICS (of their own cells) differ
                             * and the mosaic carries none */
    char writer[32];    /* the command that wrote the tiles ("score", "inundation"), from
                         * their CITYRISK_COMMAND (a pipeline's "...; stage S: score ..."
                         * too); "" when unknown */
    int categories;     /* the bands are Byte classes with names and colours */
} cr_mosaic_summary;

/* Joins the count tiles at paths (in any order) into a COG at output. Fails with
 * CR_E_DATA naming the file when one is not a cityrisk tile (no CITYRISK_WINDOW or
 * CITYRISK_FULL_SIZE) or is inconsistent with its own marks; naming both files and the
 * item when two differ in grid, bands or metadata (the tile marks, CITYRISK_COMMAND and
 * CITYRISK_STATISTICS aside) or overlap; naming the missing tile numbers (tiles of --tile
 * I/N) or the first window no tile covers. Fails as cr_writer_open() and
 * cr_writer_commit() do for the output (CR_E_EXISTS, CR_E_USAGE when it is an input,
 * CR_E_IO). Nothing appears at output unless all succeeds; the tiles are only read.
 * summary may be NULL. */
CR_API cr_status cr_mosaic(cr_ctx *ctx, const char *const *paths, int count, const char *output,
                           const cr_mosaic_opts *opts, cr_mosaic_summary *summary);

#ifdef __cplusplus
}
#endif

#endif
