/* The four rasters. Each is a grid definition plus a per-cell value function; one filler samples
 * the terrain at cell centres, reprojecting lon/lat grids to UTM one block at a time. The grids
 * deliberately disagree in CRS, resolution, alignment and nodata, as real inputs do. */
#include "raster_io.h"

#include <math.h>
#include <stdlib.h>

#define DEM_NODATA (-9999.0)
#define SETTLEMENT_NODATA (-1.0)
#define SETTLEMENT_CELL_M 100.0
#define STRESS_NODATA (-9999.0)
#define STRESS_CELLS_PER_DEG 120.0 /* 30 arc-seconds, the Aqueduct / WorldClim grid */
#define POP_NODATA (-99999.0)
#define POP_CELLS_PER_DEG 1200.0 /* 3 arc-seconds, the WorldPop grid */
#define EARTH_RADIUS_M 6371008.8

/* Value of one cell from the terrain at its centre; lat is the centre latitude (lon/lat grids). */
typedef float (*CellValue)(const Terrain *t, const TerrainSample *s, double lat);

typedef struct {
    const Terrain *terrain;
    CellValue value;
    const double *geotransform;
    OGRCoordinateTransformationH to_utm; /* NULL when the grid is already UTM */
    double nodata;
    double *xs, *ys; /* one block of cell centres, reprojected in place */
    double *lats;    /* the same centres' latitudes, kept from before the reprojection */
    int *ok;
} GridFill;

static float dem_value(const Terrain *t, const TerrainSample *s, double lat)
{
    (void)t;
    (void)lat;
    return s->surface == SURFACE_DEEP_SEA ? (float)DEM_NODATA : (float)s->elevation;
}

static float settlement_value(const Terrain *t, const TerrainSample *s, double lat)
{
    (void)lat;
    return s->surface != SURFACE_LAND ? (float)SETTLEMENT_NODATA
                                      : (float)landuse_settlement(t, s);
}

static float stress_value(const Terrain *t, const TerrainSample *s, double lat)
{
    (void)lat;
    return s->surface != SURFACE_LAND ? (float)STRESS_NODATA : (float)landuse_water_stress(t, s);
}

/* A 3" cell shrinks east-west with the cosine of latitude; a sphere is plenty for a synthetic set. */
static double pop_cell_area_km2(double lat)
{
    double side = EARTH_RADIUS_M * (SC_PI / 180.0) / POP_CELLS_PER_DEG;
    return side * side * cos(lat * SC_PI / 180.0) / 1e6;
}

static float population_value(const Terrain *t, const TerrainSample *s, double lat)
{
    if (s->surface != SURFACE_LAND)
        return (float)POP_NODATA;
    return (float)(landuse_density(t, s) * pop_cell_area_km2(lat));
}

static void cell_centres(const GridFill *g, const Window *w)
{
    const double *gt = g->geotransform;
    for (int r = 0; r < w->height; r++) {
        for (int c = 0; c < w->width; c++) {
            size_t i = (size_t)r * (size_t)w->width + (size_t)c;
            g->xs[i] = gt[0] + (w->x0 + c + 0.5) * gt[1];
            g->ys[i] = gt[3] + (w->y0 + r + 0.5) * gt[5];
            g->lats[i] = g->ys[i];
            g->ok[i] = 1;
        }
    }
}

static void fill_grid(void *ctx, const Window *w, float *out)
{
    GridFill *g = ctx;
    size_t n = (size_t)w->width * (size_t)w->height;
    cell_centres(g, w);
    if (g->to_utm)
        OCTTransformEx(g->to_utm, (int)n, g->xs, g->ys, NULL, g->ok);
    for (size_t i = 0; i < n; i++) {
        TerrainSample s;
        if (!g->ok[i]) {
            out[i] = (float)g->nodata;
            continue;
        }
        terrain_sample(g->terrain, g->xs[i], g->ys[i], &s);
        out[i] = g->value(g->terrain, &s, g->lats[i]);
    }
}

static int write_grid(const Job *job, const char *path, const RasterSpec *spec, CellValue value,
                      OGRCoordinateTransformationH to_utm, SynthError *err)
{
    size_t block = (size_t)raster_block_size(spec), cells = block * block;
    GridFill g = {
        .terrain = job->terrain,
        .value = value,
        .geotransform = spec->geotransform,
        .to_utm = to_utm,
        .nodata = spec->nodata,
        .xs = malloc(cells * sizeof(double)),
        .ys = malloc(cells * sizeof(double)),
        .lats = malloc(cells * sizeof(double)),
        .ok = malloc(cells * sizeof(int)),
    };
    int rc = (g.xs && g.ys && g.lats && g.ok) ? raster_write(path, spec, fill_grid, &g, err)
                                              : synth_fail(err, path, "out of memory");
    free(g.xs);
    free(g.ys);
    free(g.lats);
    free(g.ok);
    return rc;
}

int write_dem(const Job *job, const char *path, SynthError *err)
{
    const Georef *geo = job->georef;
    RasterSpec spec = {
        .width = geo->size,
        .height = geo->size,
        .geotransform = {geo->x_west, DEM_CELL_M, 0.0, geo->y_north, 0.0, -DEM_CELL_M},
        .srs = geo->utm,
        .nodata = DEM_NODATA,
        .description = "elevation",
        .unit = "m",
    };
    return write_grid(job, path, &spec, dem_value, NULL, err);
}

/* 100 m cells whose origin is offset from the DEM's (east and north) and whose extent differs
 * slightly: consumers have to resample rather than assume matching grids. */
int write_settlement(const Job *job, const char *path, SynthError *err)
{
    const Georef *geo = job->georef;
    const double cell = SETTLEMENT_CELL_M, e = geo->extent;
    double west = cell * floor((geo->x_west + 0.04 * e) / cell);
    double east = cell * ceil((geo->x_west + 1.03 * e) / cell);
    double north = cell * ceil((geo->y_north + 0.03 * e) / cell);
    double south = cell * floor((geo->y_north - 1.02 * e) / cell);
    RasterSpec spec = {
        .width = (int)lround((east - west) / cell),
        .height = (int)lround((north - south) / cell),
        .geotransform = {west, cell, 0.0, north, 0.0, -cell},
        .srs = geo->utm,
        .nodata = SETTLEMENT_NODATA,
        .description = "informal settlement fraction",
        .unit = "fraction",
    };
    return write_grid(job, path, &spec, settlement_value, NULL, err);
}

/* A lon/lat grid aligned on whole multiples of 1/cells_per_deg, like the global products. */
static RasterSpec geographic_spec(const Georef *geo, double cells_per_deg, double margin)
{
    double dlon = geo->lon_max - geo->lon_min, dlat = geo->lat_max - geo->lat_min;
    double west = floor((geo->lon_min - margin * dlon) * cells_per_deg);
    double east = ceil((geo->lon_max + margin * dlon) * cells_per_deg);
    double south = floor((geo->lat_min - margin * dlat) * cells_per_deg);
    double north = ceil((geo->lat_max + margin * dlat) * cells_per_deg);
    RasterSpec spec = {
        .width = (int)(east - west),
        .height = (int)(north - south),
        .geotransform = {west / cells_per_deg, 1.0 / cells_per_deg, 0.0, north / cells_per_deg,
                         0.0, -1.0 / cells_per_deg},
        .srs = geo->wgs84,
    };
    return spec;
}

/* About 1 km cells over a wider area than the DEM: regional data, as Aqueduct is. */
int write_water_stress(const Job *job, const char *path, SynthError *err)
{
    RasterSpec spec = geographic_spec(job->georef, STRESS_CELLS_PER_DEG, 0.25);
    spec.nodata = STRESS_NODATA;
    spec.description = "baseline water stress score";
    spec.unit = "score";
    return write_grid(job, path, &spec, stress_value, job->georef->wgs84_to_utm, err);
}

int write_population(const Job *job, const char *path, SynthError *err)
{
    RasterSpec spec = geographic_spec(job->georef, POP_CELLS_PER_DEG, 0.0);
    spec.nodata = POP_NODATA;
    spec.description = "population";
    spec.unit = "residents per cell";
    return write_grid(job, path, &spec, population_value, job->georef->wgs84_to_utm, err);
}
