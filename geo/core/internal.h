/* internal.h: helpers shared by the library's modules; not installed, not public API. */
#ifndef CITYRISK_INTERNAL_H
#define CITYRISK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <gdal.h>
#include <ogr_srs_api.h>

#include "cityrisk/context.h"
#include "cityrisk/grid.h"

/* The context's side for the library's own code (context.c): failures, progress, the
 * log, provenance, and the GEOS and GDAL error capture. A program sets these up through
 * context.h and reads the outcome there (cr_ctx_error). */

/* Reports progress through the callback; returns 1 to go on, 0 when the callback
 * asked to cancel. With no callback it always returns 1. complete (0..1) is mapped
 * into the current progress range. */
int cr_ctx_progress(cr_ctx *ctx, double complete, const char *message);

/* Maps the next steps' progress 0..1 onto from..to of the whole bar, so that the
 * steps of one stage share a single bar (as GDALCreateScaledProgress). */
void cr_ctx_set_progress_range(cr_ctx *ctx, double from, double to);

/* The progress callback and its argument, so that a stage can pass them to GDAL
 * (possibly through GDALCreateScaledProgress). fn is GDALDummyProgress if unset. */
GDALProgressFunc cr_ctx_progress_fn(const cr_ctx *ctx, void **arg);

/* Sends a printf-style message to the log sink when level is enabled. */
void cr_ctx_log(cr_ctx *ctx, cr_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The recorded command line, "" when none. */
const char *cr_ctx_command(const cr_ctx *ctx);

/* The GEOS context handle of this context (a GEOSContextHandle_t), whose error
 * messages are captured into the context. Returned as void * so that this header
 * does not pull in geos_c.h. */
void *cr_ctx_geos(cr_ctx *ctx);

/* The text of the last GEOS error message captured for this context, "" when none,
 * for composing a failure message. */
const char *cr_ctx_geos_message(const cr_ctx *ctx);

/* Capturing GDAL (and, through OSR, PROJ) errors: between cr_gdal_begin() and
 * cr_gdal_end(), CPLError messages raised on this thread are kept in the context
 * instead of being printed; warnings go to the log sink. Calls nest. */
void cr_gdal_begin(cr_ctx *ctx);
void cr_gdal_end(cr_ctx *ctx);

/* The last GDAL error message captured since cr_gdal_begin(), "" when none. */
const char *cr_gdal_message(const cr_ctx *ctx);

/* Records a failure whose message is "<what>: <last GDAL message>", or just
 * "<what>" when GDAL said nothing. printf-style. Returns status. */
cr_status cr_ctx_fail_gdal(cr_ctx *ctx, cr_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Gives a worker thread's context the log sink and level of the context that started
 * it (the sink is thread-safe, context.h), its memory budget, and one thread. */
void cr_ctx_inherit(cr_ctx *worker, const cr_ctx *parent);
/* The resident set the budget counts as held already (cr_budget_available()) in place of
 * measuring it at each check; 0 (the default) measures. run sets it, measured once before
 * any stage starts, so that its stages, threads of one process, do not count each other's
 * holdings, nor what earlier stages left in the allocator. */
void cr_ctx_set_resident_baseline(cr_ctx *ctx, int64_t bytes);
int64_t cr_ctx_resident_baseline(const cr_ctx *ctx);
/* Gives to the temp hook of from (cr_ctx_set_temp_hook), so that the temporaries of work
 * done outside any command (run's external stages) are known to the program too. */
void cr_ctx_share_temp_hook(cr_ctx *to, const cr_ctx *from);

/* Tells the context's temp hook (cr_ctx_set_temp_hook) that a temporary file or folder
 * appeared (created 1) or went (0). Accepts a NULL ctx. */
void cr_ctx_temp_event(cr_ctx *ctx, const char *path, int is_dir, int created);

/* Replaces newlines and tabs with spaces and strips trailing blanks and full stops,
 * so that a message is one line. */
void cr_flatten_line(char *text);

/* The length of path without the extension of its file name: the last dot of the name and
 * what follows, when the dot neither begins the name (".tif" has none) nor ends it. The one
 * rule for the names derived from an output: its QGIS style, inundation's confidence files,
 * the files of a dataset of several files. */
size_t cr_path_stem(const char *path);

/* Checks that path names a readable, non-empty regular file (or a GDAL virtual
 * path such as /vsizip/...) and fails with a message naming it otherwise. kind is
 * "raster", "vector" or "file", used in the message. */
cr_status cr_check_input_path(cr_ctx *ctx, const char *path, const char *kind);

/* Opens a raster read-only, with GDAL errors captured, or fails naming the file:
 * CR_E_IO when it cannot be read, CR_E_DATA when it is not a raster GDAL knows. */
cr_status cr_open_raster(cr_ctx *ctx, const char *path, GDALDatasetH *out);

/* The band metadata item that names what a band of a derived raster holds when it is no
 * depth or score ("confidence": inundation's classes, "p_inundated": its probabilities),
 * so that commands that read depths can refuse it. */
#define CR_BAND_ROLE "CITYRISK_BAND_ROLE"

/* Fails with CR_E_USAGE, naming path, when a band of the sea raster ds (opened from path)
 * holds inundation confidence classes or probabilities rather than depths in metres: a
 * CR_BAND_ROLE item, or (files without it) a CONFIDENCE item, the classes having category
 * names. */
cr_status cr_check_sea_depths(cr_ctx *ctx, const char *path, GDALDatasetH ds);

/* Opens a vector dataset read-only, with the same failure conventions. */
cr_status cr_open_vector(cr_ctx *ctx, const char *path, GDALDatasetH *out);

/* The extent of a vector source's features in the CRS wkt, each layer's edges densified (21
 * points a side) as they are transformed: of layer only (one of ds), or the union of all
 * its layers when only is NULL. Fails with CR_E_DATA naming path when a layer with features
 * has no CRS, its extent cannot be transformed, or there are no features. */
cr_status cr_vector_extent(cr_ctx *ctx, const char *path, GDALDatasetH ds, OGRLayerH only,
                           const char *wkt, cr_bounds *b);

/* Opens a dataset read-only with GDAL's open flags (GDAL_OF_RASTER, GDAL_OF_VECTOR or
 * both), with the same failure conventions: kind names the input in messages ("sea"),
 * formats what it should have been ("raster or vector"); GDAL's reason is kept when it
 * gives one beyond "not recognized". */
cr_status cr_open_dataset(cr_ctx *ctx, const char *path, const char *kind, const char *formats,
                          unsigned flags, GDALDatasetH *out);

/* Turns user input ("EPSG:4326", WKT, PROJ string, a file) into WKT2; *wkt is freed
 * with CPLFree(). Fails with CR_E_USAGE naming the input. */
cr_status cr_crs_to_wkt(cr_ctx *ctx, const char *crs, char **wkt);

/* NULL when a grid can be laid in the CRS wkt: a projected or geographic 2D one (a
 * compound CRS by its horizontal part, so that DEMs with a vertical datum are grids); else
 * what it is ("a geocentric CRS", "a vertical CRS", "a geographic 3D CRS", ...), with its
 * name in name. */
const char *cr_crs_not_a_grid(const char *wkt, char *name, size_t size);

/* What messages about a CRS that makes no grid go on with. */
#define CR_GRID_CRS_HINT \
    "a grid needs a projected or geographic 2D CRS, such as the local UTM zone or EPSG:4326"

/* A spatial reference from WKT with the traditional GIS axis order (x = easting or
 * longitude), or NULL when the WKT cannot be parsed. Destroy with
 * OSRDestroySpatialReference(). */
OGRSpatialReferenceH cr_srs_from_wkt(const char *wkt);

/* Applies the validity rule to n cells: a cell is invalid when it is NaN, equals
 * nodata (when has_nodata) or has mask[i] == 0 (when mask is non-NULL). Invalid
 * cells become NaN; valid, when non-NULL, gets 1 or 0 per cell. Returns the number
 * of valid cells. For Float32 sources, pass the nodata rounded to float. */
size_t cr_mark_valid_f32(float *values, size_t n, const uint8_t *mask, int has_nodata,
                         double nodata, uint8_t *valid);
size_t cr_mark_valid_f64(double *values, size_t n, const uint8_t *mask, int has_nodata,
                         double nodata, uint8_t *valid);

/* The index of the first infinite value (+Inf or -Inf) of n cells, or n when there is
 * none. cityrisk reads NaN as nodata and refuses ±Inf (docs/cli.md), saying so with
 * CR_INFINITE_HINT. */
#define CR_INFINITE_HINT \
    "NaN counts as nodata but ±Inf is no value cityrisk can use: set those cells to nodata"
size_t cr_first_infinite_f32(const float *values, size_t n);
/* A finite source value (a Float64 band) beyond Float32's range reads as ±Inf in Float32:
 * such a value is named as it is, with this hint. */
#define CR_FLOAT32_HINT                                                                         \
    "exceeds the Float32 range (largest about 3.4e38) that cityrisk computes in: rescale the "  \
    "band or set those cells to nodata"
size_t cr_first_infinite_f64(const double *values, size_t n);

/* "grid cell column C, row R (x X, y Y)", the cell and its centre in the grid's CRS, for
 * messages that name where a bad value is. */
void cr_grid_cell_text(const cr_grid *grid, int col, int row, char *buf, size_t size);

/* Fails with CR_E_DATA, saying the geotransform is invalid, when a raster's (width x
 * height cells) holds a value that is not finite, cells of no size, or corners so far out
 * (beyond 1e12) or cells so small for their coordinates that no computation on it means
 * anything; CR_OK otherwise. */
cr_status cr_check_geotransform(cr_ctx *ctx, const char *path, const double gt[6], int width,
                                int height);

/* Fails with CR_E_DATA and "<what>: extent X against <other> Y<hint>", X and Y the
 * extents a and b ("x XMIN .. XMAX, y YMIN .. YMAX"): for inputs that do not overlap. */
cr_status cr_fail_apart(cr_ctx *ctx, const char *what, const cr_bounds *a, const char *other,
                        const cr_bounds *b, const char *hint);

/* A window over failures passed to cr_gdal_foreign_failure() (GDAL's worker threads):
 * cr_foreign_watch_begin() opens it; cr_foreign_watch_end() closes it and returns 1, with
 * the message of the first failure raised while it was open in msg (size bytes), when
 * there was one. Windows may overlap (two writers): each sees the failures raised while
 * it was open. */
typedef struct cr_foreign_watch {
    unsigned long start; /* failures counted when the window opened */
    int open;
} cr_foreign_watch;
void cr_foreign_watch_begin(cr_foreign_watch *w);
int cr_foreign_watch_end(cr_foreign_watch *w, char *msg, size_t size);

/* Seconds on a monotonic clock, for the timings of --debug. */
double cr_seconds(void);

#endif
