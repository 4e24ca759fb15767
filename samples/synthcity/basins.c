/* aqueduct_baseline.gpkg: water stress as WRI Aqueduct 4.0 publishes it, sub-basin polygons in
 * EPSG:4326 (layer baseline_annual) carrying bws_raw, bws_score, bws_cat and bws_label, with
 * Aqueduct's two sentinels: -9999 "No Data" and -1 "Arid and Low Water Use".
 *
 * The basins are a staggered tessellation of the water-stress raster's extent: three columns
 * between wiggly north-south divides, each cut into its own number of rows, so basins meet in
 * T-junctions as HydroBASINS ones do, and a narrow strip offshore, beyond the DEM, with no data. Both basins beside a divide trace it through the same
 * vertices (its fixed samples plus the row breaks of the columns on either side), so the layer
 * has no gaps and no overlaps. Each basin's value is the water-stress function at its centre:
 * one score per basin, as Aqueduct has, where the raster sample blends them. */
#include "synthcity.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>

#define COLUMNS 4
#define MAX_ROWS 4
#define DIVIDE_SAMPLES 48 /* fixed vertices along a divide, plus the row breaks */
#define NO_DATA (-9999.0)
#define ARID (-1.0)
#define ARID_MIN_SCORE 4.0 /* the highest-scoring basin above this is coded arid */

static const int ROWS[COLUMNS] = {3, 4, 3, 1};
/* Where the divides stand, as shares of the extent from the west: three wide columns and a
 * narrow strip offshore, east of the DEM (which spans 1/6 to 5/6). */
static const double DIVIDES[COLUMNS + 1] = {0.0, 1.0 / 3.0, 0.6, 0.88, 1.0};

typedef struct {
    double west, east, south, north; /* lon/lat extent */
    double breaks[COLUMNS][MAX_ROWS + 1];
} Basins;

/* The divide between columns i - 1 and i: the inner ones wiggle, the outer edges and the
 * offshore strip's are straight. */
static double divide_lon(const Basins *b, int i, double lat)
{
    double width = b->east - b->west;
    double x = b->west + DIVIDES[i] * width;
    if (i == 0 || i >= COLUMNS - 1)
        return x;
    double phase = (lat - b->south) / (b->north - b->south);
    return x + 0.04 * width * sin(2.0 * SC_PI * 1.5 * phase + 1.7 * i);
}

static void basins_init(Basins *b, const Georef *geo)
{
    double dlon = geo->lon_max - geo->lon_min, dlat = geo->lat_max - geo->lat_min;
    b->west = geo->lon_min - 0.25 * dlon;
    b->east = geo->lon_max + 0.25 * dlon;
    b->south = geo->lat_min - 0.25 * dlat;
    b->north = geo->lat_max + 0.25 * dlat;
    for (int c = 0; c < COLUMNS; c++) {
        double step = (b->north - b->south) / ROWS[c];
        b->breaks[c][0] = b->south;
        b->breaks[c][ROWS[c]] = b->north;
        /* Fixed offsets, not noise: the layout is part of the sample's documentation. */
        for (int k = 1; k < ROWS[c]; k++)
            b->breaks[c][k] = b->south + step * (k + 0.2 * sin(3.1 * c + 2.3 * k));
    }
}

/* Adds the vertices of divide i strictly between lat lo and hi, in the direction lo -> hi:
 * the divide's fixed samples and the row breaks of both columns beside it. */
static void add_divide(OGRGeometryH ring, const Basins *b, int i, double lo, double hi)
{
    double lats[DIVIDE_SAMPLES + 2 * MAX_ROWS + 2];
    int n = 0;
    for (int j = 1; j < DIVIDE_SAMPLES; j++)
        lats[n++] = b->south + (b->north - b->south) * j / DIVIDE_SAMPLES;
    for (int c = i - 1; c <= i; c++)
        if (c >= 0 && c < COLUMNS)
            for (int k = 1; k < ROWS[c]; k++)
                lats[n++] = b->breaks[c][k];
    /* Insertion sort: a few dozen values. */
    for (int a = 1; a < n; a++)
        for (int k = a; k > 0 && lats[k - 1] > lats[k]; k--) {
            double t = lats[k];
            lats[k] = lats[k - 1];
            lats[k - 1] = t;
        }
    double lower = fmin(lo, hi), upper = fmax(lo, hi);
    for (int j = 0; j < n; j++) {
        int k = hi > lo ? j : n - 1 - j;
        int repeat = hi > lo ? k > 0 && lats[k - 1] == lats[k] : k < n - 1 && lats[k + 1] == lats[k];
        if (lats[k] > lower && lats[k] < upper && !repeat)
            OGR_G_AddPoint_2D(ring, divide_lon(b, i, lats[k]), lats[k]);
    }
}

/* Basin (c, k): up its western divide, east along its top, down its eastern divide. */
static OGRGeometryH basin_polygon(const Basins *b, int c, int k)
{
    double lo = b->breaks[c][k], hi = b->breaks[c][k + 1];
    OGRGeometryH ring = OGR_G_CreateGeometry(wkbLinearRing);
    OGR_G_AddPoint_2D(ring, divide_lon(b, c, lo), lo);
    add_divide(ring, b, c, lo, hi);
    OGR_G_AddPoint_2D(ring, divide_lon(b, c, hi), hi);
    OGR_G_AddPoint_2D(ring, divide_lon(b, c + 1, hi), hi);
    add_divide(ring, b, c + 1, hi, lo);
    OGR_G_AddPoint_2D(ring, divide_lon(b, c + 1, lo), lo);
    OGR_G_AddPoint_2D(ring, divide_lon(b, c, lo), lo);
    OGRGeometryH polygon = OGR_G_CreateGeometry(wkbPolygon);
    OGR_G_AddGeometryDirectly(polygon, ring);
    OGRGeometryH multi = OGR_G_ForceToMultiPolygon(polygon);
    return multi;
}

#define LAND_SAMPLES 16 /* per side of the lattice that measures a basin's land */

typedef struct {
    double score;
    int land; /* lattice points on land, of LAND_SAMPLES^2 */
} BasinSample;

/* The terrain at (fs, ft) of basin (c, k): fs across between its divides, ft up its rows. */
static int sample_at(const Job *job, const Basins *b, int c, int k, double fs, double ft,
                     TerrainSample *s)
{
    double lat = b->breaks[c][k] + ft * (b->breaks[c][k + 1] - b->breaks[c][k]);
    double west = divide_lon(b, c, lat), east = divide_lon(b, c + 1, lat);
    double x = west + fs * (east - west), y = lat;
    if (!OCTTransform(job->georef->wgs84_to_utm, 1, &x, &y, NULL))
        return -1;
    terrain_sample(job->terrain, x, y, s);
    return 0;
}

static int sample_basin(const Job *job, const Basins *b, int c, int k, BasinSample *out)
{
    TerrainSample s;
    if (sample_at(job, b, c, k, 0.5, 0.5, &s) != 0)
        return -1;
    out->score = floor(landuse_water_stress(job->terrain, &s) * 100.0 + 0.5) / 100.0;
    out->land = 0;
    for (int i = 0; i < LAND_SAMPLES; i++)
        for (int j = 0; j < LAND_SAMPLES; j++) {
            if (sample_at(job, b, c, k, (i + 0.5) / LAND_SAMPLES, (j + 0.5) / LAND_SAMPLES, &s) != 0)
                return -1;
            out->land += s.surface == SURFACE_LAND;
        }
    return 0;
}

/* Aqueduct's categories of baseline water stress, by score. */
static int category(double score)
{
    return score < 1 ? 0 : score < 2 ? 1 : score < 3 ? 2 : score < 4 ? 3 : 4;
}

static const char *const LABELS[] = {"Low (<10%)", "Low - Medium (10-20%)",
                                     "Medium - High (20-40%)", "High (40-80%)",
                                     "Extremely High (>80%)"};

static int add_field(OGRLayerH layer, const char *name, OGRFieldType type)
{
    OGRFieldDefnH field = OGR_Fld_Create(name, type);
    OGRErr e = OGR_L_CreateField(layer, field, TRUE);
    OGR_Fld_Destroy(field);
    return e == OGRERR_NONE ? 0 : -1;
}

static int create_layer(GDALDatasetH ds, const Georef *geo, OGRLayerH *out)
{
    char **opts = CSLSetNameValue(NULL, "GEOMETRY_NAME", "geom");
    opts = CSLSetNameValue(opts, "FID", "fid");
    opts = CSLSetNameValue(opts, "DESCRIPTION", "Aqueduct 4.0-style baseline annual (synthetic)");
    OGRLayerH layer = GDALDatasetCreateLayer(ds, "baseline_annual", geo->wgs84, wkbMultiPolygon, opts);
    CSLDestroy(opts);
    static const struct {
        const char *name;
        OGRFieldType type;
    } FIELDS[] = {{"string_id", OFTString}, {"pfaf_id", OFTInteger64}, {"bws_raw", OFTReal},
                  {"bws_score", OFTReal},   {"bws_cat", OFTInteger},    {"bws_label", OFTString}};
    if (!layer)
        return -1;
    for (size_t i = 0; i < sizeof FIELDS / sizeof FIELDS[0]; i++)
        if (add_field(layer, FIELDS[i].name, FIELDS[i].type) != 0)
            return -1;
    *out = layer;
    return 0;
}

static int add_basin(OGRLayerH layer, long long fid, const Basins *b, int c, int k, double score,
                     double raw, int cat, const char *label)
{
    char id[64];
    long long pfaf = 121700 + fid; /* six-digit Pfafstetter-like codes */
    snprintf(id, sizeof id, "%lld-MOZ.7_1-None", pfaf);
    OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(layer));
    OGR_F_SetFID(f, fid);
    OGR_F_SetFieldString(f, 0, id);
    OGR_F_SetFieldInteger64(f, 1, pfaf);
    OGR_F_SetFieldDouble(f, 2, raw);
    OGR_F_SetFieldDouble(f, 3, score);
    OGR_F_SetFieldInteger(f, 4, cat);
    OGR_F_SetFieldString(f, 5, label);
    OGRGeometryH g = basin_polygon(b, c, k);
    int rc = OGR_G_IsValid(g) && OGR_F_SetGeometryDirectly(f, g) == OGRERR_NONE &&
                     OGR_L_CreateFeature(layer, f) == OGRERR_NONE
                 ? 0
                 : -1;
    OGR_F_Destroy(f);
    return rc;
}

static int fill_layer(const Job *job, const Basins *b, OGRLayerH layer)
{
    BasinSample s[COLUMNS][MAX_ROWS];
    int arid_c = -1, arid_k = -1, nodata_c = -1, nodata_k = -1, least_land = LAND_SAMPLES * LAND_SAMPLES + 1;
    double top = ARID_MIN_SCORE;
    for (int c = 0; c < COLUMNS; c++)
        for (int k = 0; k < ROWS[c]; k++) {
            if (sample_basin(job, b, c, k, &s[c][k]) != 0)
                return -1;
            if (s[c][k].score >= top) {
                top = s[c][k].score;
                arid_c = c, arid_k = k;
            }
            /* The basin with the least land (the offshore strip) has no data. */
            if (s[c][k].land < least_land) {
                least_land = s[c][k].land;
                nodata_c = c, nodata_k = k;
            }
        }
    long long fid = 1;
    for (int c = 0; c < COLUMNS; c++)
        for (int k = 0; k < ROWS[c]; k++, fid++) {
            double score = s[c][k].score;
            int rc;
            if (c == nodata_c && k == nodata_k)
                rc = add_basin(layer, fid, b, c, k, NO_DATA, NO_DATA, (int)NO_DATA, "No Data");
            else if (c == arid_c && k == arid_k)
                rc = add_basin(layer, fid, b, c, k, ARID, ARID, (int)ARID, "Arid and Low Water Use");
            else /* the inverse of Aqueduct's score: score = log2(raw / 0.1) + 1 */
                rc = add_basin(layer, fid, b, c, k, score, 0.1 * pow(2.0, score - 1.0),
                               category(score), LABELS[category(score)]);
            if (rc != 0)
                return -1;
        }
    return 0;
}

int write_aqueduct_basins(const Job *job, const char *path, SynthError *err)
{
    Basins b;
    basins_init(&b, job->georef);
    CPLErrorReset();
    GDALDriverH driver = GDALGetDriverByName("GPKG");
    VSIUnlink(path); /* the GeoPackage driver will not create over an existing file */
    GDALDatasetH ds = driver ? GDALCreate(driver, path, 0, 0, 0, GDT_Unknown, NULL) : NULL;
    OGRLayerH layer = NULL;
    int rc = ds ? create_layer(ds, job->georef, &layer) : -1;
    if (rc == 0)
        rc = fill_layer(job, &b, layer);
    if (ds)
        GDALClose(ds);
    if (rc == 0 && CPLGetLastErrorType() >= CE_Failure)
        rc = -1;
    return rc == 0 ? 0 : synth_fail_gdal(err, path, "cannot write GeoPackage");
}
