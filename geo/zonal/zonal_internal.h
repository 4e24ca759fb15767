/* zonal_internal.h: the parts of `cityrisk zonal` shared between its files (internal). */
#ifndef CITYRISK_ZONAL_INTERNAL_H
#define CITYRISK_ZONAL_INTERNAL_H

#include <stdint.h>

#include <gdal.h>

#include "cityrisk/coverage.h"
#include "cityrisk/zonal.h"
#include "core/polygons.h"

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
 * message). */
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


/* Where each input sits among the values of a cell, and what is accumulated: the
 * plan of a run, fixed before the first tile. Source indices are -1 for inputs not
 * given. */
typedef struct cr_zplan {
    int src_score, src_uplift, src_arrivals, src_water, src_informal, src_population;
    int src_sea[CR_ZONAL_MAX_SCENARIOS];
    int nscen;
    char scen_suffix[CR_ZONAL_MAX_SCENARIOS][64]; /* "_ssp245_2100", "" for one band */
    int src_generic;        /* the first generic raster; they follow in order */
    int ngeneric;
    const cr_zonal_raster *generic;
    int nsources;
    const cr_stat *stats;
    int nstats;
    int *weight_src;        /* per statistic: the weight's source for weighted_mean, else -1 */
    int generic_lists;      /* a median, quantile or majority needs the cells */
    int moments;            /* a stdev needs the weighted moments */
    int generic_extra;      /* a frac or weighted_mean needs its sums */
    int domain;             /* a domain raster is given */
    double demand_share;
    size_t acc_size;        /* doubles per zone */
    size_t off_scen, off_generic, generic_stride;
    int nlists;             /* value lists per zone: the score's, then one per generic raster */
    int col_score_mean, col_score_class, col_score_rank; /* -1 when absent */
    int col_coverage;       /* the coverage --min-coverage asks of a zone: land_data_coverage
                             * with --sea, else data_coverage */
} cr_zplan;

/* Lays out the accumulators of plan (sources, stats and demand_share set). */
void cr_zplan_layout(cr_zplan *plan);

/* Sets an accumulator to "nothing seen" (zeros, and the min/max sentinels). */
void cr_zacc_init(const cr_zplan *plan, double *acc);

/* A growable list of (value, weight) pairs. */
typedef struct cr_wlist {
    double *x, *w;
    size_t n, cap;
} cr_wlist;

void cr_wlist_free(cr_wlist *l);

/* Adds one cell to acc: v[nsources] its values (NaN = invalid), f its coverage fraction
 * (above 0: callers skip uncovered cells), ca = f times its area in m2; lists (plan->nlists) receive the listed values. Returns 0
 * when out of memory. */
int cr_zacc_add(const cr_zplan *plan, double *acc, const double *v, double f, double ca,
                cr_wlist *lists);

/* Adds n cells of one grid row to acc as cr_zacc_add() does each (with the same
 * result): values[source] points to the row's values of each source, cov to the
 * fractions (cells with 0 are skipped), cell_area is the row's cell area in m2. */
int cr_zacc_add_row(const cr_zplan *plan, double *acc, const float *const *values,
                    const double *cov, int n, double cell_area, cr_wlist *lists);

/* Merges src into dst. */
void cr_zacc_merge(const cr_zplan *plan, double *dst, const double *src);

/* The output columns of plan, in order: *out (free()) and their number. Also sets the
 * plan's col_* indices. Returns 0 when out of memory. */
int cr_zplan_columns(cr_zplan *plan, cr_column **out, int *count);

/* Writes zone z's values into values[c * nzones + z] from its accumulator (NULL when no
 * cell of the grid was covered) and lists; empty is set for a zone without geometry.
 * The score class and rank are left NaN (they need every zone). Returns 1 when a covered
 * cell had a valid value in some raster. */
int cr_zacc_finish(const cr_zplan *plan, const double *acc, cr_wlist *lists, double area_m2,
                    int empty, double *values, int64_t nzones, int64_t z);

#endif
