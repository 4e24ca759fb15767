/* Tiled, compressed Float32 GeoTIFF writing, one block at a time. */
#ifndef SYNTHCITY_RASTER_IO_H
#define SYNTHCITY_RASTER_IO_H

#include "synthcity.h"

typedef struct {
    int x0, y0;        /* first column and row of the block */
    int width, height; /* may be smaller than the block size at the right and bottom edges */
} Window;

/* Fills `out` (width * height floats, row-major) for one window. */
typedef void (*BlockFiller)(void *ctx, const Window *w, float *out);

typedef struct {
    int width, height;
    double geotransform[6];
    OGRSpatialReferenceH srs;
    double nodata;
    const char *description; /* band description, e.g. "elevation" */
    const char *unit;        /* band unit type, e.g. "m" */
} RasterSpec;

int raster_block_size(const RasterSpec *spec);
int raster_write(const char *path, const RasterSpec *spec, BlockFiller fill, void *ctx,
                 SynthError *err);

#endif
