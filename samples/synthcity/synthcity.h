/* Internal interfaces of cityrisk-synthcity, the deterministic generator of the fictional coastal
 * city "Port Azul" (sample data and benchmark inputs). Private to samples/synthcity. */
#ifndef SYNTHCITY_H
#define SYNTHCITY_H

#include <stddef.h>
#include <stdint.h>

#include <ogr_api.h>
#include <ogr_srs_api.h>

#define SC_PI 3.14159265358979323846

/* ---- small maths helpers (static inline: used in most files, too small to be worth a call) ---- */

static inline double sc_clamp(double x, double lo, double hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

static inline double sc_sq(double x)
{
    return x * x;
}

/* Hermite ramp from 0 at edge0 to 1 at edge1; edge0 > edge1 gives a falling ramp. */
static inline double sc_smoothstep(double edge0, double edge1, double x)
{
    double t = sc_clamp((x - edge0) / (edge1 - edge0), 0.0, 1.0);
    return t * t * (3.0 - 2.0 * t);
}

static inline double sc_lerp(double a, double b, double t)
{
    return a + (b - a) * t;
}

/* ---- errors and reporting (output.c) ---- */

typedef struct {
    char path[1024];
    char reason[512];
} SynthError;

int synth_fail(SynthError *err, const char *path, const char *reason);
int synth_fail_gdal(SynthError *err, const char *path, const char *fallback);
int join_path(char *out, size_t out_size, const char *dir, const char *name);
void report_written(const char *path);

/* ---- rng.c: randomness that is a pure function of the seed (no rand(), no clock) ---- */

typedef struct {
    uint64_t state;
} Rng;

uint64_t mix64(uint64_t z);
uint64_t hash3(uint64_t seed, uint64_t a, uint64_t b);
double hash_unit(uint64_t seed, uint64_t a, uint64_t b);
void rng_init(Rng *rng, uint64_t seed, uint64_t stream);
uint64_t rng_next(Rng *rng);
double rng_uniform(Rng *rng);
size_t rng_below(Rng *rng, size_t n);

/* ---- noise.c: hash-based value noise, all outputs in [0, 1) ---- */

double value_noise(double x, double y, uint64_t seed);
double fbm(double x, double y, int octaves, uint64_t seed);
double ridged_fbm(double x, double y, int octaves, uint64_t seed);

/* ---- blob.c: irregular closed shapes ---- */

typedef struct {
    double u, v;   /* centre, normalised map units */
    double a, b;   /* semi-axes along u and v */
    double wobble; /* relative radius variation */
    uint64_t seed;
} Blob;

double blob_radius(const Blob *b, double angle);
double blob_rho(const Blob *b, double u, double v);
void blob_outline(const Blob *b, double scale, int vertices, int clockwise,
                  void (*emit)(void *ctx, double u, double v), void *ctx);

/* ---- terrain.c: the Port Azul elevation model ---- */

enum {
    NOISE_PLAIN,
    NOISE_HILLS,
    NOISE_COAST,
    NOISE_RIVER,
    NOISE_SEA,
    NOISE_BEACH,
    NOISE_RECLAIMED,
    NOISE_SETTLEMENT,
    NOISE_POPULATION,
    NOISE_STRESS,
    NOISE_ISLAND,
    NOISE_LAGOON,
    NOISE_POLDER,
    NOISE_COUNT
};

/* Positions are in normalised map units: u east and v north, 0..1 across the DEM. */
typedef struct {
    double x_west, y_south, extent; /* DEM footprint, UTM metres */
    int octaves;                    /* fBm octaves, down to a few DEM cells */
    uint64_t noise[NOISE_COUNT];    /* one independent noise stream per feature */
    double mouth_u, mouth_v;        /* river centre line meets the shoreline */
    double city_u, city_v;          /* the formal city centre */
    Blob lagoon;                    /* inland depression: rim at rho 1, below 0 m inside */
    double lagoon_water;            /* rho where the depression floor crosses 0 m */
    Blob island;                    /* offshore island */
    Blob polder;                    /* reclaimed land, in (coast distance, v) coordinates */
} Terrain;

typedef enum { SURFACE_LAND, SURFACE_SEA, SURFACE_DEEP_SEA } Surface;

typedef struct {
    double dist;         /* distance from the river centre line */
    double p;            /* 0 at the western edge .. 1 at the mouth */
    double half_valley;  /* valley floor half-width */
    double half_channel; /* channel half-width */
    double floor;        /* valley floor elevation, m */
    double bed;          /* channel bed elevation, m */
} RiverCut;

typedef struct {
    double u, v;
    double coast; /* distance inland from the shoreline, negative offshore */
    RiverCut river;
    Surface surface;
    int is_water; /* river channel or lagoon: land surface under water */
    double elevation;
} TerrainSample;

void terrain_init(Terrain *t, double x_west, double y_south, double extent, int size_cells,
                  uint64_t seed);
double terrain_coast_u(const Terrain *t, double v);
void terrain_sample(const Terrain *t, double x, double y, TerrainSample *s);
void terrain_sample_uv(const Terrain *t, double u, double v, TerrainSample *s);
void terrain_uv_to_utm(const Terrain *t, double u, double v, double *x, double *y);

/* ---- landuse.c: quantities derived from the terrain ---- */

#define CITY_DISTRICTS 6
#define CITY_V_SOUTH 0.10 /* the city limits used by the neighbourhoods and arrival sites */
#define CITY_V_NORTH 0.93

double landuse_city_west(double v);
double landuse_settlement(const Terrain *t, const TerrainSample *s);
double landuse_density(const Terrain *t, const TerrainSample *s);
double landuse_water_stress(const Terrain *t, const TerrainSample *s);
int landuse_district(const Terrain *t, double u, double v);

/* ---- georef.c: where Port Azul sits and the three CRSs ---- */

#define DEM_CELL_M 30.0

typedef struct {
    int size;                      /* DEM width = height, cells */
    double x_west, y_north;        /* DEM origin, UTM 36S metres, snapped to the 30 m grid */
    double extent;                 /* DEM width = height, metres */
    double lon_min, lat_min;       /* DEM footprint in WGS 84 */
    double lon_max, lat_max;
    OGRSpatialReferenceH utm;      /* EPSG:32736 */
    OGRSpatialReferenceH wgs84;    /* EPSG:4326, lon/lat axis order */
    OGRSpatialReferenceH mercator; /* EPSG:3857 */
    OGRCoordinateTransformationH utm_to_wgs84;
    OGRCoordinateTransformationH wgs84_to_utm;
    OGRCoordinateTransformationH utm_to_mercator;
} Georef;

int georef_init(Georef *g, int size, SynthError *err);
void georef_free(Georef *g);

/* ---- names.c: plausible, unique names ---- */

void neighbourhood_name(size_t index, char *out, size_t out_size);
void site_name(size_t index, char *out, size_t out_size);
const char *district_name(int district);
size_t origin_count(void);
const char *origin_name(size_t index);
double origin_weight(size_t index);

/* ---- the outputs, one file each ---- */

typedef struct {
    int size;
    long long records;
    int zones;
    uint64_t seed;
    const char *outdir;
} Options;

typedef struct {
    const Options *options;
    const Georef *georef;
    const Terrain *terrain;
} Job;

int write_dem(const Job *job, const char *path, SynthError *err);
int write_settlement(const Job *job, const char *path, SynthError *err);
int write_water_stress(const Job *job, const char *path, SynthError *err);
int write_population(const Job *job, const char *path, SynthError *err);
int write_arrivals(const Job *job, const char *path, SynthError *err);
int write_neighbourhoods(const Job *job, const char *path, SynthError *err);
int write_arrivals_table(const Job *job, const char *path, SynthError *err);
int write_aqueduct_basins(const Job *job, const char *path, SynthError *err);
int write_informal_settlements(const Job *job, const char *path, SynthError *err);

#endif
