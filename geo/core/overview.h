/* overview.h: the overviews of a staged output, computed by cityrisk (internal).
 *
 * GDAL's COG driver computes overviews by reading the whole staged raster once more
 * and writing them to a compressed temporary file of its own, which it then decodes
 * again: about a third of the time of writing a COG. The writer instead reserves the
 * overview levels in the staging file and fills each level from the one above it by
 * 2 x 2 reduction; the COG driver then copies them as they are. */
#ifndef CITYRISK_OVERVIEW_H
#define CITYRISK_OVERVIEW_H

#include <gdal.h>

#include "cityrisk/context.h"

/* The band metadata item by which a written raster records that the band's overviews take
 * the most frequent value (class bands, cr_writer_opts.band_categorical), so that the
 * tiles of a raster can be joined into one with the same overviews (cityrisk mosaic).
 * Bands of named categories (Byte, CLASS_NAMES and CLASS_COLORS) are always so and carry
 * nothing more; other bands take the mean. */
#define CR_OVERVIEW_RESAMPLING_KEY "CITYRISK_OVERVIEW_RESAMPLING"
#define CR_OVERVIEW_MODE "MODE"

/* The most overview levels (a 2^20 reduction: beyond any grid accepted). */
#define CR_OVERVIEW_MAX_LEVELS 20

/* The factors 2, 4, 8, ... of the overview levels of a width x height raster with
 * block x block tiles, as GDAL's COG driver chooses them: levels are added until one
 * fits in a single tile. Returns the number of levels (0 for a raster that fits). */
int cr_overview_factors(int width, int height, int block, int factors[CR_OVERVIEW_MAX_LEVELS]);

/* Reduces a sw x sh block of src (row-major) into dw x dh cells of dst, dw = ceil(sw / 2)
 * and dh = ceil(sh / 2): each cell from the valid cells (not nodata, not NaN) among the
 * 2 x 2 above it, clipped at the block's edges, or nodata when none is valid.
 * categorical 0: their mean (GDAL's AVERAGE); 1: their most frequent value, ties to the
 * larger (a class of 1 and one of 5 must not average to 3). */
void cr_overview_reduce(const float *src, int sw, int sh, float *dst, int dw, int dh, float nodata,
                        int categorical);

/* Fills the overview levels of every band of ds (opened for update, levels made with
 * GDALBuildOverviews "NONE") from the level above each, skipping the first `filled`
 * levels (already written). categorical, when non-NULL, flags the bands reduced by
 * most frequent value. path names the output in messages. */
cr_status cr_overviews_fill(cr_ctx *ctx, GDALDatasetH ds, const char *path, float nodata,
                            const int *categorical, int filled);

#endif
