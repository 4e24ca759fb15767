/* The Port Azul terrain model: elevation and surface type at any point as a pure function of
 * (x, y, seed). Every raster is sampled from it block by block, so no whole grid is ever held.
 *
 * Features are laid out in normalised map units (u east, v north, 0..1 across the DEM), so the
 * same city stretches with --size. The seed only changes noise, never the layout the fixtures rely
 * on: sea east and south-east, a beach and an unbroken dune ridge, reclaimed land below the ridge
 * crest, an estuary connected to the sea, an inland depression below sea level that is not, and
 * hills in the west and north-west. */
#include "synthcity.h"

#include <math.h>

/* Shoreline u(v): runs north-north-east, bending west in the south to leave a south-eastern bay. */
#define COAST_U 0.74
#define COAST_DRIFT 0.08
#define COAST_BEND_V 0.35
#define COAST_BEND 2.5
#define COAST_WOBBLE 0.08

/* Coastal strip, measured inland from the shoreline. */
#define BEACH_WIDTH 0.008 /* ~160 m at the default size */
#define RIDGE_END 0.020
#define RIDGE_BASE 3.2 /* the ridge never dips below this, so it seals off the reclaimed land */
#define RIDGE_CREST 1.4

/* Offshore: a shelf of bathymetry, then "no data" as real DEM tiles have beyond the coast. */
#define SEA_SHELF_SLOPE 90.0 /* metres of depth per normalised unit offshore */
#define SEA_DEEP_DEPTH 8.0

/* River: source at the western edge (u = 0), mouth on the shoreline. */
#define RIVER_V 0.44
#define RIVER_MEANDER 0.045
#define RIVER_WOBBLE 0.03

/* Hills: 45 m at their foot to ~150 m on the highest crests. */
#define HILL_BASE 45.0
#define HILL_RELIEF 105.0

/* Finest noise wavelength, in DEM cells: detail below this would only be aliasing. */
#define FINEST_WAVELENGTH_CELLS 4.0
#define PLAIN_FREQUENCY 6.0

static double river_centre_v(const Terrain *t, double u)
{
    double meander = RIVER_MEANDER * sin(2.0 * SC_PI * (1.3 * u + 0.15));
    double wobble = RIVER_WOBBLE * (fbm(u * 3.0, 0.5, 3, t->noise[NOISE_RIVER]) - 0.5);
    return RIVER_V + meander + wobble;
}

/* Slope of the meander alone: the wobble is gentle, and skipping it saves two noise calls a cell. */
static double river_centre_slope(double u)
{
    return RIVER_MEANDER * 2.0 * SC_PI * 1.3 * cos(2.0 * SC_PI * (1.3 * u + 0.15));
}

double terrain_coast_u(const Terrain *t, double v)
{
    double bend = fmax(0.0, COAST_BEND_V - v);
    double wobble = fbm(v * 5.0, 0.5, 5, t->noise[NOISE_COAST]) - 0.5;
    return COAST_U + COAST_DRIFT * v - COAST_BEND * bend * bend + COAST_WOBBLE * wobble;
}

static double coast_slope(double v)
{
    return COAST_DRIFT + 2.0 * COAST_BEND * fmax(0.0, COAST_BEND_V - v);
}

/* Approximate perpendicular distance to the shoreline; positive inland. */
static double coast_distance(const Terrain *t, double u, double v)
{
    double slope = coast_slope(v);
    return (terrain_coast_u(t, v) - u) / sqrt(1.0 + slope * slope);
}

/* Where the river centre line crosses the shoreline, by bisection on u. */
static double find_mouth_u(const Terrain *t)
{
    double lo = 0.3, hi = 1.0;
    for (int i = 0; i < 60; i++) {
        double mid = 0.5 * (lo + hi);
        if (mid < terrain_coast_u(t, river_centre_v(t, mid)))
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

static int detail_octaves(int size_cells)
{
    int octaves = 1;
    double wavelength = (double)size_cells / PLAIN_FREQUENCY;
    while (wavelength > 2.0 * FINEST_WAVELENGTH_CELLS && octaves < 14) {
        wavelength *= 0.5;
        octaves++;
    }
    return octaves;
}

/* Fixed positions, far enough apart that no seed makes two features touch: the lagoon sits well
 * north of the valley, the polder north of the estuary behind the ridge, the island 0.025 offshore. */
static void place_features(Terrain *t)
{
    t->mouth_u = find_mouth_u(t);
    t->mouth_v = river_centre_v(t, t->mouth_u);
    t->city_v = t->mouth_v + 0.09;
    t->city_u = terrain_coast_u(t, t->city_v) - 0.05;
    t->lagoon = (Blob){0.55, 0.70, 0.032, 0.032, 0.2, t->noise[NOISE_LAGOON]};
    t->lagoon_water = sqrt(2.5 / 5.5); /* where the bowl in inland_depression() crosses 0 m */
    t->island = (Blob){0.0, 0.86, 0.018, 0.010, 0.25, t->noise[NOISE_ISLAND]};
    t->island.u = terrain_coast_u(t, t->island.v) + 0.025 + t->island.a;
    /* The polder's u axis is distance inland, so it hugs the coast whatever the coast does. */
    t->polder = (Blob){0.068, 0.73, 0.05, 0.12, 0.25, t->noise[NOISE_POLDER]};
}

void terrain_init(Terrain *t, double x_west, double y_south, double extent, int size_cells,
                  uint64_t seed)
{
    t->x_west = x_west;
    t->y_south = y_south;
    t->extent = extent;
    t->octaves = detail_octaves(size_cells);
    for (int i = 0; i < NOISE_COUNT; i++)
        t->noise[i] = hash3(seed, 0x7e77a1, (uint64_t)i);
    place_features(t);
}

static void river_at(const Terrain *t, double u, double v, RiverCut *r)
{
    double slope = river_centre_slope(u);
    r->dist = fabs(v - river_centre_v(t, u)) / sqrt(1.0 + slope * slope);
    r->p = sc_clamp(u / t->mouth_u, 0.0, 1.0);
    double breadth = 0.75 + 0.5 * fbm(u * 8.0, 0.3, 2, t->noise[NOISE_RIVER] + 50);
    r->half_valley = (0.012 + 0.028 * r->p * r->p) * breadth;
    r->half_channel = 0.0035 + 0.008 * r->p * r->p * r->p;
    r->floor = 4.0 - 3.5 * r->p;
    r->bed = r->floor - 1.2 - 0.6 * r->p; /* about -1.3 m at the mouth */
}

/* Coastal plain, never below 3 m, so the low basins carved into it stay closed. */
static double plain_height(const Terrain *t, const TerrainSample *s)
{
    double rise = 5.0 * sc_smoothstep(0.0, 0.4, s->coast);
    double texture = fbm(s->u * PLAIN_FREQUENCY, s->v * PLAIN_FREQUENCY, t->octaves,
                         t->noise[NOISE_PLAIN]);
    return 3.0 + rise + 2.5 * texture;
}

/* Rolling massifs (fBm) cut by sharper ridgelines (ridged fBm), behind a ragged foot. */
static double hill_height(const Terrain *t, double u, double v)
{
    uint64_t seed = t->noise[NOISE_HILLS];
    double ragged = 0.15 * (fbm(u * 4.0, v * 4.0, 3, seed + 100) - 0.5);
    double mask = sc_smoothstep(0.05, 0.45, (0.5 - u) + 0.45 * (v - 0.5) + ragged);
    if (mask <= 0.0)
        return 0.0;
    double massif = fbm(u * 4.0 + 7.1, v * 4.0 + 2.3, t->octaves, seed);
    double ridges = ridged_fbm(u * 3.0 + 3.7, v * 3.0 + 1.9, t->octaves, seed + 200);
    double relief = sc_clamp((0.55 * massif + 0.45 * ridges - 0.2) / 0.55, 0.0, 1.0);
    return mask * (HILL_BASE + HILL_RELIEF * relief);
}

/* Polder at 0.3-1.5 m just behind the ridge: low land the sea cannot reach directly. */
static double reclaimed_land(const Terrain *t, const TerrainSample *s, double e)
{
    double rho = blob_rho(&t->polder, s->coast, s->v);
    if (rho >= 1.0)
        return e;
    double mask = sc_smoothstep(1.0, 0.8, rho) * sc_smoothstep(RIDGE_END, RIDGE_END + 0.008, s->coast);
    double level = 0.3 + 1.2 * fbm(s->u * 20.0, s->v * 20.0, 3, t->noise[NOISE_RECLAIMED]);
    return sc_lerp(e, level, mask);
}

/* A bowl down to -2.5 m whose rim (3 m) meets the plain: below sea level but not connected. */
static double inland_depression(const Terrain *t, TerrainSample *s, double e)
{
    double rho = blob_rho(&t->lagoon, s->u, s->v);
    if (rho >= 1.0)
        return e;
    double bowl = fmin(e, -2.5 + 5.5 * rho * rho);
    if (bowl < 0.0)
        s->is_water = 1;
    return bowl;
}

/* Beach rising 1 to 3 m, then a dune ridge that only ever raises the land. */
static double coastal_strip(const Terrain *t, const TerrainSample *s, double e)
{
    if (s->coast < BEACH_WIDTH) {
        double sand = 0.3 * (value_noise(s->u * 120.0, s->v * 120.0, t->noise[NOISE_BEACH]) - 0.5);
        return sc_clamp(1.0 + 2.0 * s->coast / BEACH_WIDTH + sand, 1.0, 3.0);
    }
    if (s->coast < RIDGE_END) {
        double across = (s->coast - BEACH_WIDTH) / (RIDGE_END - BEACH_WIDTH);
        return fmax(e, RIDGE_BASE + RIDGE_CREST * sin(SC_PI * across));
    }
    return e;
}

/* The valley only ever lowers the land: a channel, a flat floor rising gently to the banks, then
 * walls blending back into whatever terrain it cuts through (hills upstream, ridge at the mouth). */
static double river_valley(TerrainSample *s, double e)
{
    const RiverCut *r = &s->river;
    double bank = r->floor + 0.8;
    double wall = 0.02 + 0.01 * (1.0 - r->p);
    if (r->dist >= r->half_valley + wall)
        return e;
    if (r->dist < r->half_channel) {
        s->is_water = 1;
        return r->bed + 0.3 * sc_sq(r->dist / r->half_channel);
    }
    double across = (r->dist - r->half_channel) / (r->half_valley - r->half_channel);
    double surface = across < 1.0
        ? r->floor + 0.8 * across * across
        : sc_lerp(bank, e, sc_smoothstep(r->half_valley, r->half_valley + wall, r->dist));
    return fmin(e, surface);
}

static double land_elevation(const Terrain *t, TerrainSample *s)
{
    double e = plain_height(t, s) + hill_height(t, s->u, s->v);
    e = reclaimed_land(t, s, e);
    e = inland_depression(t, s, e);
    e = coastal_strip(t, s, e);
    return river_valley(s, e);
}

static double island_elevation(double rho)
{
    return 0.8 + 3.2 * (1.0 - rho * rho);
}

/* The shelf deepens offshore; past a wobbly depth the sea becomes "no data". */
static void sea_floor(const Terrain *t, TerrainSample *s)
{
    double offshore = -s->coast;
    double roughness = fbm(s->u * 12.0, s->v * 12.0, 3, t->noise[NOISE_SEA]);
    double depth = 0.3 + SEA_SHELF_SLOPE * offshore + roughness;
    s->elevation = -depth;
    s->surface = depth > SEA_DEEP_DEPTH + 4.0 * roughness ? SURFACE_DEEP_SEA : SURFACE_SEA;
}

void terrain_sample_uv(const Terrain *t, double u, double v, TerrainSample *s)
{
    double rho;
    s->u = u;
    s->v = v;
    s->coast = coast_distance(t, u, v);
    river_at(t, u, v, &s->river);
    s->is_water = 0;
    if (s->coast >= 0.0) {
        s->surface = SURFACE_LAND;
        s->elevation = land_elevation(t, s);
    } else if ((rho = blob_rho(&t->island, u, v)) < 1.0) {
        s->surface = SURFACE_LAND;
        s->elevation = island_elevation(rho);
    } else {
        sea_floor(t, s);
    }
}

void terrain_sample(const Terrain *t, double x, double y, TerrainSample *s)
{
    terrain_sample_uv(t, (x - t->x_west) / t->extent, (y - t->y_south) / t->extent, s);
}

void terrain_uv_to_utm(const Terrain *t, double u, double v, double *x, double *y)
{
    *x = t->x_west + u * t->extent;
    *y = t->y_south + v * t->extent;
}
