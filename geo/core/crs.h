/* crs.h: CRS descriptions and lon/lat extents shared by the modules (internal). */
#ifndef CITYRISK_CRS_H
#define CITYRISK_CRS_H

#include <json-c/json.h>

#include "cityrisk/context.h"
#include "cityrisk/grid.h"
#include "cityrisk/json.h"

/* {"name", "epsg" (integer or null), "geographic", "units"} for a CRS in WKT, or
 * NULL when wkt is NULL or empty. */
json_object *cr_crs_json(const char *wkt);

/* Transforms bounds in the CRS wkt to longitude/latitude (WGS 84), densifying the
 * edges. Returns 1 on success, 0 when the CRS is unknown or the transform fails. */
int cr_bounds_to_lonlat(const char *wkt, const cr_bounds *in, cr_bounds *out);

/* The EPSG code of the WGS 84 / UTM zone holding (lon, lat): 326zz north, 327zz
 * south. */
int cr_utm_epsg(double lon, double lat);

/* The area of one grid cell in square metres: exact for projected CRSs (through the
 * linear unit), at the grid's centre latitude on a sphere of radius 6371008.8 m for
 * geographic ones. */
double cr_grid_cell_area_m2(const cr_grid *grid);

/* A JSON array [xmin, ymin, xmax, ymax]. */
json_object *cr_json_bounds(const cr_bounds *b, int digits);

#endif
