/* info_internal.h: the parts of cr_info(), one per kind of input (internal). */
#ifndef CITYRISK_INFO_INTERNAL_H
#define CITYRISK_INFO_INTERNAL_H

#include <json-c/json.h>

#include "cityrisk/info.h"
#include "cityrisk/grid.h"

/* What every description shares, so that extents can be compared: filled by each
 * describer, read by the comparison. */
typedef struct cr_info_extent {
    int known;        /* an extent exists */
    int lonlat_known; /* it could be expressed in lon/lat */
    cr_bounds bounds; /* in the input's CRS */
    cr_bounds lonlat;
} cr_info_extent;

/* Progress of one input: the describers report 0..1 of their own work, which is
 * scaled into the context's progress. */
typedef struct cr_info_progress {
    cr_ctx *ctx;
    double start, span;
} cr_info_progress;

/* Returns 0 when the user cancelled. */
int cr_info_progress_report(const cr_info_progress *p, double complete);

/* Each describer fills *out with the input's description and *extent, and adds
 * warnings for the input to `warnings` via cr_info_warn(). */
cr_status cr_info_raster(cr_ctx *ctx, const char *path, GDALDatasetH ds, const cr_info_opts *opts,
                         const cr_info_progress *progress, json_object *warnings, json_object **out,
                         cr_info_extent *extent);
cr_status cr_info_vector(cr_ctx *ctx, const char *path, GDALDatasetH ds, json_object *warnings,
                         json_object **out, cr_info_extent *extent);
cr_status cr_info_csv(cr_ctx *ctx, const char *path, const cr_info_opts *opts,
                      json_object *warnings, json_object **out, cr_info_extent *extent);

/* Appends {"file", "code", "message"} to warnings; message is printf-style. */
void cr_info_warn(json_object *warnings, const char *path, const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Adds "crs", "extent" and "extent_lonlat" to o for bounds in the CRS wkt, fills
 * extent, and warns about a missing or geographic CRS. */
void cr_info_add_georef(json_object *o, const char *path, const char *wkt, const cr_bounds *bounds,
                        json_object *warnings, cr_info_extent *extent);

/* Adds "overlaps" to report and warns about inputs that overlap no other one. */
void cr_info_compare(json_object *report, const char *const *paths, const cr_info_extent *extents,
                     int count, json_object *warnings);

#endif
