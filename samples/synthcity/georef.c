/* Where Port Azul sits on Earth, and the three coordinate systems its files use: UTM 36S for the
 * DEM and settlement grid, WGS 84 for the global-style grids and arrival records, Web Mercator for
 * the neighbourhoods (so a consumer must reproject all three to compare them). */
#include "synthcity.h"

#include <math.h>

#include <cpl_error.h>

#define CITY_LON 34.85
#define CITY_LAT (-19.83)

static OGRSpatialReferenceH srs_from_epsg(int code)
{
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    if (OSRImportFromEPSG(srs, code) != OGRERR_NONE) {
        OSRDestroySpatialReference(srs);
        return NULL;
    }
    /* Longitude first for EPSG:4326, as every GIS file format stores it. */
    OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
    return srs;
}

static int make_transforms(Georef *g)
{
    g->utm_to_wgs84 = OCTNewCoordinateTransformation(g->utm, g->wgs84);
    g->wgs84_to_utm = OCTNewCoordinateTransformation(g->wgs84, g->utm);
    g->utm_to_mercator = OCTNewCoordinateTransformation(g->utm, g->mercator);
    return g->utm_to_wgs84 && g->wgs84_to_utm && g->utm_to_mercator;
}

/* Centre the DEM on the city and snap its origin to the 30 m grid, as real DEM tiles are. */
static int place_dem(Georef *g)
{
    double x = CITY_LON, y = CITY_LAT;
    if (!OCTTransform(g->wgs84_to_utm, 1, &x, &y, NULL))
        return 0;
    g->extent = g->size * DEM_CELL_M;
    g->x_west = DEM_CELL_M * round((x - 0.5 * g->extent) / DEM_CELL_M);
    g->y_north = DEM_CELL_M * round((y + 0.5 * g->extent) / DEM_CELL_M);
    return OCTTransformBounds(g->utm_to_wgs84, g->x_west, g->y_north - g->extent,
                              g->x_west + g->extent, g->y_north, &g->lon_min, &g->lat_min,
                              &g->lon_max, &g->lat_max, 21);
}

int georef_init(Georef *g, int size, SynthError *err)
{
    *g = (Georef){.size = size};
    g->utm = srs_from_epsg(32736);
    g->wgs84 = srs_from_epsg(4326);
    g->mercator = srs_from_epsg(3857);
    if (!g->utm || !g->wgs84 || !g->mercator || !make_transforms(g) || !place_dem(g)) {
        georef_free(g);
        return synth_fail_gdal(err, "EPSG:32736", "cannot set up coordinate systems (is proj.db installed?)");
    }
    return 0;
}

void georef_free(Georef *g)
{
    if (g->utm_to_wgs84)
        OCTDestroyCoordinateTransformation(g->utm_to_wgs84);
    if (g->wgs84_to_utm)
        OCTDestroyCoordinateTransformation(g->wgs84_to_utm);
    if (g->utm_to_mercator)
        OCTDestroyCoordinateTransformation(g->utm_to_mercator);
    if (g->utm)
        OSRDestroySpatialReference(g->utm);
    if (g->wgs84)
        OSRDestroySpatialReference(g->wgs84);
    if (g->mercator)
        OSRDestroySpatialReference(g->mercator);
    *g = (Georef){0};
}
