/* internal.h: helpers shared by the library's modules; not installed, not public API. */
#ifndef CITYRISK_INTERNAL_H
#define CITYRISK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <gdal.h>
#include <ogr_srs_api.h>

#include "cityrisk/context.h"

/* Replaces newlines and tabs with spaces and strips trailing blanks and full stops,
 * so that a message is one line. */
void cr_flatten_line(char *text);

/* Checks that path names a readable, non-empty regular file (or a GDAL virtual
 * path such as /vsizip/...) and fails with a message naming it otherwise. kind is
 * "raster", "vector" or "file", used in the message. */
cr_status cr_check_input_path(cr_ctx *ctx, const char *path, const char *kind);

/* Opens a raster read-only, with GDAL errors captured, or fails naming the file:
 * CR_E_IO when it cannot be read, CR_E_DATA when it is not a raster GDAL knows. */
cr_status cr_open_raster(cr_ctx *ctx, const char *path, GDALDatasetH *out);

/* Opens a vector dataset read-only, with the same failure conventions. */
cr_status cr_open_vector(cr_ctx *ctx, const char *path, GDALDatasetH *out);

/* Turns user input ("EPSG:4326", WKT, PROJ string, a file) into WKT2; *wkt is freed
 * with CPLFree(). Fails with CR_E_USAGE naming the input. */
cr_status cr_crs_to_wkt(cr_ctx *ctx, const char *crs, char **wkt);

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

/* Seconds on a monotonic clock, for the timings of --debug. */
double cr_seconds(void);

#endif
