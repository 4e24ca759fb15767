/* projections.h: local sea-level projections as published for one place (internal), so
 * that a scenario name "sspXYZ-YEAR[-pNN]" means the local value rather than the global
 * preset (docs/inundation.md "Local sea level").
 *
 * Two layouts are read:
 *   CSV     long format, one value a row: scenario, year, quantile (percent: 50 is the
 *           median), sea_level_change_m or sea_level_change_mm (names case-insensitive);
 *   NetCDF  the IPCC AR6 per-scenario files (total_ssp245_medium_confidence_values.nc):
 *           sea_level_change(quantiles, years, locations) in mm with coordinate variables
 *           quantiles (0..1), years, locations and lat(locations), lon(locations), read
 *           through GDAL's multidimensional API at one location. */
#ifndef CITYRISK_PROJECTIONS_H
#define CITYRISK_PROJECTIONS_H

#include <stddef.h>

#include "cityrisk/context.h"

/* One published value. */
typedef struct cr_projection {
    char scenario[24]; /* normalised: lower case without '-', '.', '_' or blanks ("ssp245") */
    int year;
    double quantile;   /* percent, 0..100 */
    double rise_m;     /* sea-level change, metres (negative where the sea falls) */
    int file;          /* index in files of the file it came from, for the message of a conflict */
} cr_projection;

/* The values of one or more files at one place. */
typedef struct cr_projections {
    char *paths;          /* the files, comma-separated, as given */
    char **files;         /* the same, one each (CSL) */
    cr_projection *rows;
    size_t count, cap;
    int has_location;     /* a NetCDF file: the location below was read */
    long long location;   /* its id */
    double lat, lon;      /* its coordinates, degrees */
    double distance_km;   /* from the DEM's centre; negative when chosen by --location */
} cr_projections;

/* Beyond this distance (km) from the DEM's centre the nearest location of a NetCDF file is
 * used with a warning: AR6's tide-gauge and grid locations are about 1 degree (~100 km)
 * apart along coasts, so farther than that the file likely has no location for this place. */
#define CR_PROJECTIONS_FAR_KM 100.0

/* Reads the comma-separated files of paths. NetCDF files are read at the location whose
 * id is `location` when non-NULL, else at the one nearest (great circle) to the centre of
 * the raster at dem_path. Fails with CR_E_USAGE when a NetCDF file is given with neither,
 * or the location is not in a file; CR_E_DATA naming the file and line (CSV) or variable
 * (NetCDF) on malformed content, and when two files give the same scenario, year and
 * quantile (naming both: which one is meant cannot be guessed, and the order of the files
 * must not decide); CR_E_USAGE when location is given but no file is NetCDF (a CSV is for
 * one place: the location would be ignored); CR_E_IO when a file cannot be opened. Logs a
 * warning when the nearest location is more than CR_PROJECTIONS_FAR_KM from the centre.
 * Free *out with cr_projections_free(). */
cr_status cr_projections_load(cr_ctx *ctx, const char *paths, const char *location,
                              const char *dem_path, cr_projections **out);

/* Splits a scenario name "sspXYZ-YEAR" with an optional "-pNN" suffix (NN percent, "-p17",
 * "-p83"; none is the median, 50) into its normalised scenario, year and quantile. Returns
 * 1 on success, 0 when the name has no year. */
int cr_projection_name_parse(const char *name, char *scenario, size_t size, int *year,
                             double *quantile);

/* The rise in metres that name (as cr_projection_name_parse()) means in p. Fails with
 * CR_E_USAGE naming the files and listing the scenarios, years and quantiles they have
 * when the name is not in them. */
cr_status cr_projections_resolve(cr_ctx *ctx, const cr_projections *p, const char *name,
                                 double *rise_m);

/* The value for (scenario, year, quantile) into *rise_m: 1 when found, else 0. */
int cr_projections_find(const cr_projections *p, const char *scenario, int year,
                        double quantile, double *rise_m);

/* One line saying where the values come from: "local projections FILE" and, for a NetCDF
 * location, " (location ID, lat LAT, lon LON)". */
void cr_projections_source(const cr_projections *p, char *buf, size_t size);

void cr_projections_free(cr_projections *p);

#endif
