/*
 * info.h: describing inputs before an overlay.
 *
 * cr_info() describes rasters (any GDAL format), vectors (any OGR format) and CSV
 * point records, then compares their extents: how much of each overlaps the others,
 * and the warnings a GIS analyst needs before an overlay (missing CRS, geographic
 * CRS, no nodata declared, no overlap). The result is a json-c object; its schema
 * is documented in docs/info.md and is what `cityrisk info --json` prints.
 */
#ifndef CITYRISK_INFO_H
#define CITYRISK_INFO_H

#include <json-c/json.h>

#include "cityrisk/context.h"
#include "cityrisk/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options of cr_info(); initialise with cr_info_opts_init(). */
typedef struct cr_info_opts {
    int stats;           /* compute band min/max/mean (reads every cell); default 1 */
    const char *csv_crs; /* CRS of CSV coordinates; default "EPSG:4326" */
} cr_info_opts;

/* Fills opts with the defaults above. */
CR_API void cr_info_opts_init(cr_info_opts *opts);

/* Describes count files and compares them. On success *out is a new json-c object
 * {"inputs": [...], "overlaps": [...], "warnings": [...]}, freed with
 * json_object_put(). Sidecar files (.aux.xml, .cpg, .prj, .qml, .fields.csv, spatial
 * indexes, world files, overviews, and the .dbf and .shx of a .shp that is listed too),
 * as a shell's glob of a folder lists them, are not described: each gets a "sidecar" warning.
 * Fails on the first other file that cannot be read (CR_E_IO, or CR_E_DATA when it is
 * not a format GDAL reads), naming it. Reports progress. */
CR_API cr_status cr_info(cr_ctx *ctx, const char *const *paths, int count, const cr_info_opts *opts,
                         json_object **out);

#ifdef __cplusplus
}
#endif

#endif
