/* Writes a Float32 GeoTIFF block by block from a filler callback. Only one block buffer exists at
 * a time, and GDAL's block cache is capped in main(), so memory stays flat for any raster size. */
#include "raster_io.h"

#include <stdio.h>
#include <stdlib.h>

#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>

/* 256 keeps the small committed sample compact; 512 suits the benchmark-sized rasters. */
int raster_block_size(const RasterSpec *spec)
{
    return (spec->width > 4096 || spec->height > 4096) ? 512 : 256;
}

/* DEFLATE with the floating-point predictor is what real DEM/WorldPop COGs use. GeoTIFF carries no
 * timestamp unless asked to (TIFFTAG_DATETIME), so output bytes depend only on the inputs. */
static char **creation_options(int block)
{
    char size[32];
    snprintf(size, sizeof size, "%d", block);
    char **opts = NULL;
    opts = CSLSetNameValue(opts, "TILED", "YES");
    opts = CSLSetNameValue(opts, "BLOCKXSIZE", size);
    opts = CSLSetNameValue(opts, "BLOCKYSIZE", size);
    opts = CSLSetNameValue(opts, "COMPRESS", "DEFLATE");
    opts = CSLSetNameValue(opts, "PREDICTOR", "3");
    opts = CSLSetNameValue(opts, "BIGTIFF", "IF_SAFER");
    /* Compression runs in worker threads while the next block is computed; blocks are still
     * written in a fixed order, so the file is the same with any thread count. */
    opts = CSLSetNameValue(opts, "NUM_THREADS", "ALL_CPUS");
    return opts;
}

static int describe(GDALDatasetH ds, const RasterSpec *spec)
{
    GDALRasterBandH band = GDALGetRasterBand(ds, 1);
    if (GDALSetGeoTransform(ds, (double *)spec->geotransform) != CE_None ||
        GDALSetSpatialRef(ds, spec->srs) != CE_None ||
        GDALSetRasterNoDataValue(band, spec->nodata) != CE_None)
        return -1;
    GDALSetDescription(band, spec->description);
    return GDALSetRasterUnitType(band, spec->unit) == CE_None ? 0 : -1;
}

static Window block_window(const RasterSpec *spec, int block, int bx, int by)
{
    Window w = {bx * block, by * block, block, block};
    if (w.x0 + w.width > spec->width)
        w.width = spec->width - w.x0;
    if (w.y0 + w.height > spec->height)
        w.height = spec->height - w.y0;
    return w;
}

/* Row of blocks by row of blocks, left to right: each block is complete when written, so the
 * cache can flush it straight away. */
static int write_blocks(GDALDatasetH ds, const RasterSpec *spec, BlockFiller fill, void *ctx)
{
    int block = raster_block_size(spec);
    float *buf = malloc((size_t)block * (size_t)block * sizeof *buf);
    if (!buf)
        return -1;
    GDALRasterBandH band = GDALGetRasterBand(ds, 1);
    int rc = 0;
    for (int by = 0; rc == 0 && by * block < spec->height; by++) {
        for (int bx = 0; rc == 0 && bx * block < spec->width; bx++) {
            Window w = block_window(spec, block, bx, by);
            fill(ctx, &w, buf);
            if (GDALRasterIO(band, GF_Write, w.x0, w.y0, w.width, w.height, buf, w.width,
                             w.height, GDT_Float32, 0, 0) != CE_None)
                rc = -1;
        }
    }
    free(buf);
    return rc;
}

static GDALDatasetH create_tiff(const char *path, const RasterSpec *spec)
{
    GDALDriverH driver = GDALGetDriverByName("GTiff");
    if (!driver)
        return NULL;
    char **opts = creation_options(raster_block_size(spec));
    GDALDatasetH ds = GDALCreate(driver, path, spec->width, spec->height, 1, GDT_Float32, opts);
    CSLDestroy(opts);
    return ds;
}

int raster_write(const char *path, const RasterSpec *spec, BlockFiller fill, void *ctx,
                 SynthError *err)
{
    CPLErrorReset();
    GDALDatasetH ds = create_tiff(path, spec);
    if (!ds)
        return synth_fail_gdal(err, path, "cannot create GeoTIFF");
    int rc = describe(ds, spec);
    if (rc == 0)
        rc = write_blocks(ds, spec, fill, ctx);
    /* GDALClose flushes the last blocks; in GDAL 3.6 it reports failure only through the error
     * state, hence the reset above and the check below. */
    GDALClose(ds);
    if (rc != 0 || CPLGetLastErrorType() >= CE_Failure)
        return synth_fail_gdal(err, path, "write failed");
    return 0;
}
