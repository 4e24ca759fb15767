/*
 * vector.h: vector inputs. Point records may come as CSV with coordinate columns,
 * the form displacement-tracking exports take; this module recognises those
 * columns by name or by HXL hashtag.
 */
#ifndef CITYRISK_VECTOR_H
#define CITYRISK_VECTOR_H

#include "cityrisk/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where the coordinates of a CSV are. */
typedef struct cr_csv_columns {
    int x;   /* 0-based column of x / longitude, -1 when none was recognised */
    int y;   /* 0-based column of y / latitude, -1 when none was recognised */
    int hxl; /* 1 when the row after the header is an HXL hashtag row */
} cr_csv_columns;

/* 1 when the row is an HXL hashtag row: at least one field, and every non-empty
 * field, starts with '#' (e.g. "#geo+lat"). */
CR_API int cr_csv_is_hxl_row(const char *const *fields, int count);

/* Finds the coordinate columns. HXL tags win when tags is non-NULL: "#geo+lon"
 * and "#geo+lat" (attributes in any order, case-insensitive). Otherwise header
 * names, case-insensitive and trimmed: x from lon, long, lng, longitude, x,
 * easting, or a name ending in "_longitude" / "_lon"; y from lat, latitude, y,
 * northing, or a name ending in "_latitude" / "_lat". The first match wins.
 * Sets out->hxl to (tags != NULL). */
CR_API void cr_csv_find_coordinates(const char *const *header, int count, const char *const *tags,
                                    int tag_count, cr_csv_columns *out);

#ifdef __cplusplus
}
#endif

#endif
