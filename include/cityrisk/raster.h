/*
 * raster.h: rasters aligned to the analysis grid, block reads and the COG writer.
 *
 * A layer is one band of any GDAL raster seen on an analysis grid. When the raster
 * already lies on the grid (same CRS and cell size, origin a whole number of cells
 * away) its cells are read directly; otherwise it is warped on the fly through a
 * GDAL warped VRT, with the resampling its kind calls for:
 *
 *   kind         coarser grid   finer grid    why
 *   continuous   average        bilinear      fractions, scores and elevations are
 *                                             means over area; no blocks when refining
 *   count        sum            sum           arrivals and people: the total is kept
 *   class        nearest        nearest       categories and masks must not blend
 *
 * Reads return values and a validity mask: a cell is invalid when it is the
 * source's nodata, NaN, masked, or outside the source.
 *
 * Asked to (cr_layer_opts.polygons), a layer may also be opened on polygons (any OGR
 * vector source: GPKG, FlatGeobuf, Shapefile, GeoJSON, a File Geodatabase, ...; any
 * CRS). Its cells then come from the exact share of each cell each polygon covers
 * (coverage.h), never from a warp:
 *
 *   with a field   the coverage-weighted mean of the polygons' values over the cell,
 *                  sum(f_i v_i) / sum(f_i); invalid where no polygon with a value lies
 *   without one    the share of the cell covered by the union of the polygons (overlaps
 *                  count once), 0 outside them: fractions and masks
 *
 * Polygons are repaired when invalid, cut to the grid, densified and reprojected once, on
 * opening.
 *
 * The writer produces Cloud-Optimized GeoTIFFs, Float32 unless asked for Byte classes
 * (DEFLATE with the floating-point predictor, or the horizontal one for Byte, 512 x 512
 * tiles, overviews by 2 x 2 mean, or most frequent value for class bands) carrying nodata,
 * a colour table and class names for Byte classes,
 * band descriptions and units, and provenance metadata. It writes to hidden
 * temporary files in the destination folder and renames the result into place
 * only when everything succeeded, so a reader never sees a partial output.
 */
#ifndef CITYRISK_RASTER_H
#define CITYRISK_RASTER_H

#include <stdint.h>

#include "cityrisk/context.h"
#include "cityrisk/export.h"
#include "cityrisk/grid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a layer's values mean, which decides its resampling. */
typedef enum cr_layer_kind {
    CR_KIND_CONTINUOUS = 0, /* fractions, scores, elevations: average / bilinear */
    CR_KIND_COUNT = 1,      /* counts per cell: sum, total preserved */
    CR_KIND_CLASS = 2       /* classes and masks: nearest */
} cr_layer_kind;

/* Options of cr_layer_open(); initialise with cr_layer_opts_init(). */
typedef struct cr_layer_opts {
    int band;               /* 1-based band number; default 1 */
    cr_layer_kind kind;     /* default CR_KIND_CONTINUOUS */
    const char *resampling; /* a GDAL resampling name forcing the method; default NULL (by kind) */
    int polygons;           /* 1: a vector source is read as polygons (above); default 0: it
                             * fails as a file that is no raster, as a DEM must */
    const char *vector_layer; /* polygons: the layer to read; default NULL, the only one (a
                               * source of several layers then fails, listing them) */
    const char *field;      /* polygons: the numeric field whose coverage-weighted mean the
                             * cells take; default NULL: the covered share of their union */
} cr_layer_opts;

/* Fills opts with the defaults above. */
CR_API void cr_layer_opts_init(cr_layer_opts *opts);

typedef struct cr_layer cr_layer;

/* Opens band opts->band of the raster at path on grid. The raster needs a CRS.
 * Fails with CR_E_IO / CR_E_DATA naming the file when it cannot be opened, has no
 * such band, no CRS, cannot be transformed to the grid's CRS or does not overlap the
 * grid at all. With opts->polygons a vector source is read as polygons (above): it
 * fails with CR_E_USAGE on an unknown layer or field (listing the numeric ones), on a
 * source of several layers without opts->vector_layer, and for a count layer (CR_KIND_COUNT: counts per area are
 * spread by `cityrisk arrivals --areas`), CR_E_DATA on features that are not polygons,
 * a layer without a CRS or without any polygon (with a value). The grid is copied.
 * Close with cr_layer_close(). */
CR_API cr_status cr_layer_open(cr_ctx *ctx, const char *path, const cr_grid *grid,
                               const cr_layer_opts *opts, cr_layer **out);

/* Closes a layer and its datasets. Accepts NULL. */
CR_API void cr_layer_close(cr_layer *layer);

/* The resampling used: "none" when the raster is read directly, else the GDAL
 * name ("average", "bilinear", "sum", "nearest", ...); on polygons "coverage-mean"
 * (the mean of a field) or "coverage-union" (the covered share of their union). */
CR_API const char *cr_layer_resampling(const cr_layer *layer);

/* The path the layer was opened from. */
CR_API const char *cr_layer_path(const cr_layer *layer);

/* 1 when the source band declares a nodata value, stored in *nodata (as the file
 * stores it), else 0. */
CR_API int cr_layer_nodata(const cr_layer *layer, double *nodata);

/* Reads window win of the grid (win->w * win->h cells, row-major) into values.
 * Invalid cells get NaN in values and 0 in valid; valid cells get 1. valid may be
 * NULL when NaN alone is enough. Fails with CR_E_IO naming the file, and with
 * CR_E_DATA naming the file, band and cell at the first +Inf or -Inf. */
CR_API cr_status cr_layer_read_f32(cr_ctx *ctx, cr_layer *layer, const cr_window *win,
                                   float *values, uint8_t *valid);
CR_API cr_status cr_layer_read_f64(cr_ctx *ctx, cr_layer *layer, const cr_window *win,
                                   double *values, uint8_t *valid);

/* The cell type of every band of a written raster. */
typedef enum cr_writer_type {
    CR_WRITER_FLOAT32 = 0, /* the default */
    CR_WRITER_BYTE         /* classes 0..254: values are rounded, NaN stored as the nodata
                            * (which must then be 0..255) */
} cr_writer_type;

/* Options of cr_writer_open(); initialise with cr_writer_opts_init(). Strings are
 * borrowed for the duration of cr_writer_open(). */
typedef struct cr_writer_opts {
    int band_count;                 /* default 1 */
    const char *const *band_names;  /* band_count descriptions, or NULL */
    const char *const *band_units;  /* band_count unit names, or NULL */
    double nodata;                  /* value stored for NaN cells; default -9999 */
    int overwrite;                  /* replace an existing output; default 0 */
    char **creation_options;        /* NAME=VALUE list (CSL) over the defaults; default NULL */
    const char *inputs;             /* CITYRISK_INPUTS, e.g. a JSON list; default NULL */
    const char *parameters;         /* CITYRISK_PARAMETERS, e.g. JSON; default NULL */
    const char *formula;            /* CITYRISK_FORMULA; default NULL */
    const char *const *input_paths; /* NULL-terminated inputs the output must not replace; default NULL */
    const int *band_categorical;    /* band_count flags: 1 for classes, whose overviews take the
                                     * most frequent value instead of the mean; default NULL */
    cr_writer_type type;            /* default CR_WRITER_FLOAT32 */
    int category_count;             /* Byte: classes 0..category_count - 1 (at most 255) named
                                     * and coloured in every band (a colour table when the
                                     * raster has one band, as GeoTIFF allows, which gdalinfo
                                     * and QGIS show, and the band metadata
                                     * CLASS_NAMES and CLASS_COLORS, JSON arrays, which `cityrisk
                                     * map` and its QGIS style read), their overviews by most
                                     * frequent value; default 0 */
    const char *const *category_names;  /* category_count names */
    const char *const *category_colors; /* category_count "#rrggbb" colours; the nodata entry
                                         * of the table is transparent */
} cr_writer_opts;

/* Fills opts with the defaults above. */
CR_API void cr_writer_opts_init(cr_writer_opts *opts);

typedef struct cr_writer cr_writer;

/* Starts writing a Float32 COG at path on grid. Fails with CR_E_EXISTS when path
 * exists and opts->overwrite is 0, CR_E_USAGE when path is one of
 * opts->input_paths (the same file, by device and inode, or a file of an input's format)
 * or "-" (a raster needs a file), CR_E_IO when the folder is missing or not writable.
 * Nothing appears at path before cr_writer_commit() succeeds. Finish with
 * cr_writer_commit() or cr_writer_abort(); both free the writer. */
CR_API cr_status cr_writer_open(cr_ctx *ctx, const char *path, const cr_grid *grid,
                                const cr_writer_opts *opts, cr_writer **out);

/* Sets a metadata item of the dataset (band 0) or of a band (1-based). */
CR_API cr_status cr_writer_set_metadata(cr_ctx *ctx, cr_writer *w, int band, const char *key,
                                        const char *value);

/* Writes window win of band (1-based) from values (win->w * win->h, row-major);
 * NaN values are stored as nodata. */
CR_API cr_status cr_writer_write(cr_ctx *ctx, cr_writer *w, int band, const cr_window *win,
                                 const float *values);

/* Builds overviews, writes the COG and renames it into place. Reports progress
 * through the context. Without opts->overwrite the rename never replaces a file: one
 * that appeared at path meanwhile (a concurrent run's) stays, and the call fails with
 * CR_E_EXISTS. On failure or cancellation removes every temporary file and leaves any
 * previous file at path untouched. Frees w in every case. */
CR_API cr_status cr_writer_commit(cr_ctx *ctx, cr_writer *w);

/* Commits n writers as one output: builds every COG in its temporary file first, then
 * renames them into place in order; when one fails (a rename that finds a file, a full
 * disk), the files already renamed by this call are removed again and every temporary
 * file is discarded, so that the set appears whole or not at all. Frees every writer in
 * every case (NULL entries are skipped). Progress is shared by the writers. */
CR_API cr_status cr_writer_commit_all(cr_ctx *ctx, cr_writer *const *w, int n);

/* Discards everything written and frees w. Accepts NULL. */
CR_API void cr_writer_abort(cr_writer *w);

/* The tile side of the COG (and its staging file) written for bands bands: CR_BLOCK_SIZE,
 * halved down to 128 while a tile of all bands (GDAL's COG driver interleaves them by
 * pixel) would exceed 16 MiB: 512 up to 16 bands, 256 up to 64, then 128. */
CR_API int cr_writer_tile_size(int bands);

#ifdef __cplusplus
}
#endif

#endif
