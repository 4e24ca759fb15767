/* Quantities derived from a terrain sample: informal-settlement fraction, population density,
 * water stress and administrative district. Like the terrain, each is a pure function of the
 * point, so rasters on any grid and the vector layers agree with one another. */
#include "synthcity.h"

#include <math.h>

/* The western city limit: it retreats in the north, where the hills come down towards the coast,
 * so only a few hill-top neighbourhoods are left (nearly) empty. */
double landuse_city_west(double v)
{
    return 0.20 + 0.18 * sc_smoothstep(0.40, 0.95, v);
}

/* Informal settlement clusters where land is cheap and risky: river banks, low land near the
 * estuary and the city's growing edge; it is rare in the formal centre and on hill slopes. */
double landuse_settlement(const Terrain *t, const TerrainSample *s)
{
    if (s->is_water)
        return 0.0;
    const RiverCut *r = &s->river;
    double r_city = hypot(s->u - t->city_u, s->v - t->city_v);
    double banks = exp(-sc_sq(fmax(0.0, r->dist - r->half_channel) / (1.2 * r->half_valley)));
    double low = sc_smoothstep(3.5, 1.0, s->elevation);
    double estuary = exp(-sc_sq(hypot(s->u - t->mouth_u, s->v - t->mouth_v) / 0.15));
    double periphery = exp(-sc_sq((r_city - 0.20) / 0.07));
    double pull = 0.8 * banks + 0.6 * low * (0.3 + 0.7 * estuary) + 0.9 * periphery;
    /* Away from the city the pull fades; in the formal centre and on slopes it is suppressed. */
    double reach = exp(-sc_sq(r_city / 0.40));
    double centre = exp(-sc_sq(r_city / 0.07));
    double slopes = sc_smoothstep(30.0, 8.0, s->elevation);
    /* Settlements come in clusters with gaps between them, not as a smooth field. */
    double clusters = fbm(s->u * 30.0, s->v * 30.0, 4, t->noise[NOISE_SETTLEMENT]);
    double patches = 0.15 + 0.85 * sc_smoothstep(0.35, 0.65, clusters);
    return sc_clamp(pull * reach * (1.0 - 0.92 * centre) * slopes * patches * 1.3, 0.0, 1.0);
}

/* Residents per km²: a formal core, a peri-urban tail thinning outwards, and dense informal
 * areas; nobody lives on the hills above 35 m or on water. */
double landuse_density(const Terrain *t, const TerrainSample *s)
{
    if (s->is_water || s->elevation >= 35.0)
        return 0.0;
    double r_city = hypot(s->u - t->city_u, s->v - t->city_v);
    double formal = 6500.0 * exp(-sc_sq(r_city / 0.20)) + 600.0 * exp(-sc_sq(r_city / 0.50)) + 60.0;
    double informal = 16000.0 * landuse_settlement(t, s);
    double slopes = sc_smoothstep(35.0, 15.0, s->elevation);
    double texture = 0.75 + 0.5 * fbm(s->u * 40.0, s->v * 40.0, 3, t->noise[NOISE_POPULATION]);
    return (formal + informal) * slopes * texture;
}

/* Aqueduct-style baseline water stress score 0-5, rising inland and northwards. Aqueduct codes
 * "arid and low water use" as the top score, so the driest cells are set to exactly 5. */
double landuse_water_stress(const Terrain *t, const TerrainSample *s)
{
    double inland = 0.55 * (0.9 - s->u) + 0.75 * (s->v - 0.1);
    double drift = fbm(s->u * 3.0, s->v * 3.0, 3, t->noise[NOISE_STRESS]) - 0.5;
    double score = 0.8 + 3.8 * sc_smoothstep(0.0, 1.2, inland) + 1.2 * drift;
    if (score >= 4.7)
        return 5.0;
    return sc_clamp(score, 0.0, 5.0);
}

/* Six districts: three bands south to north, split into a western and a coastal half. */
int landuse_district(const Terrain *t, double u, double v)
{
    double west = landuse_city_west(v);
    double across = (u - west) / (terrain_coast_u(t, v) - west);
    double along = (v - CITY_V_SOUTH) / (CITY_V_NORTH - CITY_V_SOUTH);
    int band = (int)sc_clamp(floor(along * 3.0), 0.0, 2.0);
    int half = across < 0.55 ? 0 : 1;
    return band * 2 + half;
}
