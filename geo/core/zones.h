/* zones.h: zones (polygons) read onto an analysis grid in cell coordinates, and the
 * zones written back with columns of statistics (internal). zonal and sensitivity both
 * read zones as zonal does and write them as zonal does, so these live in core. */
#ifndef CITYRISK_CORE_ZONES_H
#define CITYRISK_CORE_ZONES_H

#include <stdint.h>

#include <gdal.h>

#include "cityrisk/coverage.h"
#include "cityrisk/zonal.h"

/* One zone on the grid. */
typedef struct cr_zone {
    cr_rings rings;     /* in cell coordinates; nrings 0 for a null or empty geometry */
    cr_window box;      /* the grid cells its bounding box covers; w = 0 when none */
    double area_m2;     /* the whole polygon's area, as docs/zonal.md defines area_km2 */
    int repaired;       /* made valid by GEOSMakeValid */
    int empty;          /* no polygon (null, empty or without area): null statistics */
} cr_zone;

/* The zones of a layer, in feature order. */
typedef struct cr_zones {
    cr_zone *zone;
    int64_t count, repaired, empty;
    double *cell_area_m2; /* the area of a cell in each grid row */
} cr_zones;

/* Reads every feature of the zones' layer onto grid: repaired when invalid (a warning
 * names the feature; a zone that crosses itself more than CR_REPAIR_MAX_CROSSINGS times
 * is simplified first, so that no repair costs more than about that many crossings),
 * cut to the grid's extent and a margin when it is in another CRS and reaches beyond
 * (its area beyond is measured on the ellipsoid), reprojected to the grid's CRS (edges
 * densified to about one cell first), converted to cell coordinates. Null and empty
 * geometries give empty zones with a warning. Reports progress (0..1) after each feature
 * and fails with CR_E_CANCELLED when the callback asks to stop. Fails with CR_E_USAGE on
 * an unknown layer or field, CR_E_DATA on a layer without a CRS, a feature that is not
 * polygonal, cannot be reprojected or repaired, and a layer without features, without any
 * polygon or without a zone that meets the grid (of the raster grid_path, named in that
 * message). Features are read on the calling thread and shaped (checked, repaired,
 * reprojected, measured) on cr_ctx_threads(ctx) threads; the zones, the messages and their
 * order, and the failure reported are those of one thread. With more threads a stop request
 * is seen between features, so after the repairs under way (each bounded, see above). */
cr_status cr_zones_load(cr_ctx *ctx, const cr_zonal_opts *opts, const cr_grid *grid,
                        const char *grid_path, cr_zones *out);

void cr_zones_free(cr_zones *zones);

/* The crossings and thinning that bound a zone's repair (CR_REPAIR_MAX_CROSSINGS) are
 * core's: core/polygons.h. */

/* The area in m2 of the region left of a ring of n longitude/latitude points (degrees,
 * closed implicitly) on the ellipsoid of semi-major axis a and flattening f (0: a
 * sphere), its edges taken as straight lines in Lambert's cylindrical equal-area
 * projection (exact along meridians and parallels; densify other edges). Each edge is
 * the shorter way round, so a ring may cross the antimeridian, and an edge must span
 * less than half a turn of longitude (densify longer ones); a ring that goes round a
 * pole encloses it (the north pole when it runs east, the south pole when it runs west).
 * Give rings counter-clockwise (the region on their left): a clockwise ring that goes
 * round no pole gives minus its area. */
double cr_lonlat_ring_area(const double *lonlat, int n, double a, double f);

/* The layer of the zones dataset that opts names (or the first); fails with CR_E_USAGE
 * naming an unknown layer, and when id_field or name_field is not one of its fields. */
cr_status cr_zones_layer(cr_ctx *ctx, GDALDatasetH ds, const cr_zonal_opts *opts,
                         OGRLayerH *out);

/* A column of the output: a statistic of every zone (NaN = null). */
typedef struct cr_column {
    char name[160];
    int integer; /* written as an integer field */
} cr_column;

/* The OGR driver that writes out_path: o->format, else the one of its extension, else
 * GeoJSON; fails with CR_E_USAGE when it cannot create vector files, or when out_path is a
 * stream and it is not GeoJSON. */
cr_status cr_zonal_driver(cr_ctx *ctx, const char *out_path, const cr_zonal_opts *o,
                          GDALDriverH *out);

/* The sidecar that gives the full names of the fields of a format whose field names are
 * short (a Shapefile, dBase's 10 characters): "wards.shp" -> "wards.fields.csv", to free();
 * NULL for other formats (or out of memory). */
char *cr_zonal_fields_path(const char *out_path, const char *driver);

/* Writes the zones' features with their attributes and the columns (values[c *
 * nzones + z]) to out_path, as cr_zonal() documents. metadata are "KEY=VALUE" items
 * of provenance (CSL). */
cr_status cr_zonal_write(cr_ctx *ctx, const char *out_path, const cr_zonal_opts *opts,
                         const cr_column *columns, int ncolumns, const double *values,
                         int64_t nzones, char **metadata, cr_zonal_summary *summary);

/* The cells two windows share (w = h = 0 when none): a zone's box within a tile. */
cr_window cr_window_intersect(cr_window a, cr_window b);

#endif
