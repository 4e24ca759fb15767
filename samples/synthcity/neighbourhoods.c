/* neighbourhoods.gpkg: the city tessellated into --zones named polygons, built in UTM and written
 * in Web Mercator. Two deliberate oddities exercise consumers: the cell holding the inland lagoon
 * has it as a hole (the lagoon belongs to no neighbourhood), and one coastal neighbourhood also
 * owns the offshore island, making it a true two-part MultiPolygon. */
#include "tessellation.h"

#include <math.h>
#include <stdlib.h>

#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>

#define CIRCLE_VERTICES 48
#define POP_SAMPLES_CITY 4000 /* density samples over the whole city, spread over its cells */

enum { STREAM_NAMES = 3 };

typedef struct {
    const Job *job;
    Tessellation tess;
    size_t *name_order; /* a shuffle, so names are not alphabetical across the map */
    int island_row, island_col;
    int pop_samples; /* per cell side */
    GDALDatasetH ds;
    OGRLayerH layer;
} Writer;

typedef struct {
    const Terrain *terrain;
    OGRGeometryH ring;
} RingBuilder;

static void add_uv_point(void *ctx, double u, double v)
{
    RingBuilder *rb = ctx;
    double x, y;
    terrain_uv_to_utm(rb->terrain, u, v, &x, &y);
    OGR_G_AddPoint_2D(rb->ring, x, y);
}

/* The outline of a terrain blob, scaled, as a closed UTM ring: the same function drew the DEM. */
static OGRGeometryH blob_ring(const Terrain *t, const Blob *b, double scale, int clockwise)
{
    RingBuilder rb = {t, OGR_G_CreateGeometry(wkbLinearRing)};
    blob_outline(b, scale, CIRCLE_VERTICES, clockwise, add_uv_point, &rb);
    return rb.ring;
}

/* Cut the lagoon's open water out of the cell containing its centre, shrunk if need be to stay
 * clear of the cell's edges, so the result is always a valid polygon with one hole. */
static void punch_lagoon(OGRGeometryH polygon, const Terrain *t)
{
    const Blob *lagoon = &t->lagoon;
    double x, y;
    terrain_uv_to_utm(t, lagoon->u, lagoon->v, &x, &y);
    OGRGeometryH centre = OGR_G_CreateGeometry(wkbPoint);
    OGR_G_AddPoint_2D(centre, x, y);
    if (OGR_G_Contains(polygon, centre)) {
        OGRGeometryH edge = OGR_G_Boundary(polygon);
        double room = edge ? OGR_G_Distance(centre, edge) / t->extent : 0.0;
        double widest = fmax(lagoon->a, lagoon->b) * (1.0 + lagoon->wobble);
        double scale = fmin(t->lagoon_water, 0.8 * room / widest);
        if (scale > 0.0)
            OGR_G_AddGeometryDirectly(polygon, blob_ring(t, lagoon, scale, 1));
        OGR_G_DestroyGeometry(edge);
    }
    OGR_G_DestroyGeometry(centre);
}

static OGRGeometryH island_polygon(const Terrain *t)
{
    OGRGeometryH polygon = OGR_G_CreateGeometry(wkbPolygon);
    OGR_G_AddGeometryDirectly(polygon, blob_ring(t, &t->island, 1.0, 0));
    return polygon;
}

/* Every feature is a MultiPolygon, as the layer type promises. */
static OGRGeometryH cell_geometry(const Writer *w, int row, int col)
{
    const Terrain *t = w->job->terrain;
    OGRGeometryH polygon = tess_cell_polygon(&w->tess, row, col);
    punch_lagoon(polygon, t);
    OGRGeometryH multi = OGR_G_ForceToMultiPolygon(polygon);
    if (row == w->island_row && col == w->island_col)
        OGR_G_AddGeometryDirectly(multi, island_polygon(t));
    return multi;
}

/* Residents = mean modelled density over the cell x its area, so pop_2020 agrees roughly with
 * population.tif without a zonal-statistics pass here; *settlement is the mean informal fraction
 * over the cell's land. */
static long long estimate_population(const Writer *w, int row, int col, OGRGeometryH utm,
                                     double *settlement)
{
    int n = w->pop_samples, land = 0;
    double sum = 0.0, informal = 0.0;
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < n; k++) {
            double u, v;
            TerrainSample s;
            tess_cell_point(&w->tess, row, col, (i + 0.5) / n, (k + 0.5) / n, &u, &v);
            terrain_sample_uv(w->job->terrain, u, v, &s);
            if (s.surface != SURFACE_LAND)
                continue;
            sum += landuse_density(w->job->terrain, &s);
            informal += landuse_settlement(w->job->terrain, &s);
            land++;
        }
    }
    if (settlement)
        *settlement = land ? informal / land : 0.0;
    double area_km2 = OGR_G_Area(utm) / 1e6;
    return llround(sum / (n * n) * area_km2);
}

static int cell_district(const Writer *w, int row, int col)
{
    double u, v;
    tess_cell_point(&w->tess, row, col, 0.5, 0.5, &u, &v);
    return landuse_district(w->job->terrain, u, v);
}

/* A P-code: the district's admin code (as in arrivals.csv) and the zone's number within it,
 * counted in feature order; serial holds the running count per district. */
static void cell_pcode(const Writer *w, int row, int col, int serial[CITY_DISTRICTS], char *out,
                       size_t size)
{
    int d = cell_district(w, row, col);
    snprintf(out, size, "MZ07%02d%02d", d + 1, ++serial[d]);
}

static int add_feature(const Writer *w, long long id, int row, int col, OGRGeometryH geometry,
                       const char *pcode)
{
    char name[160];
    neighbourhood_name(w->name_order[id - 1], name, sizeof name);
    OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(w->layer));
    OGR_F_SetFID(f, id);
    OGR_F_SetFieldInteger(f, 0, (int)id);
    OGR_F_SetFieldString(f, 1, name);
    OGR_F_SetFieldString(f, 2, district_name(cell_district(w, row, col)));
    OGR_F_SetFieldInteger64(f, 3, estimate_population(w, row, col, geometry, NULL));
    OGR_F_SetFieldString(f, 4, pcode);
    int rc = OGR_G_Transform(geometry, w->job->georef->utm_to_mercator) == OGRERR_NONE &&
                     OGR_G_IsValid(geometry) && OGR_F_SetGeometry(f, geometry) == OGRERR_NONE &&
                     OGR_L_CreateFeature(w->layer, f) == OGRERR_NONE
                 ? 0
                 : -1;
    OGR_F_Destroy(f);
    return rc;
}

static int add_features(const Writer *w)
{
    long long id = 1;
    int serial[CITY_DISTRICTS] = {0};
    for (int row = 0; row < w->tess.rows; row++) {
        for (int col = 0; col < w->tess.cols[row]; col++, id++) {
            char pcode[32];
            cell_pcode(w, row, col, serial, pcode, sizeof pcode);
            OGRGeometryH geometry = cell_geometry(w, row, col);
            int rc = add_feature(w, id, row, col, geometry, pcode);
            OGR_G_DestroyGeometry(geometry);
            if (rc != 0) {
                if (!*CPLGetLastErrorMsg())
                    CPLError(CE_Failure, CPLE_AppDefined, "invalid geometry for nbhd_id %lld", id);
                return -1;
            }
        }
    }
    return 0;
}

static int add_field(OGRLayerH layer, const char *name, OGRFieldType type)
{
    OGRFieldDefnH field = OGR_Fld_Create(name, type);
    OGRErr e = OGR_L_CreateField(layer, field, TRUE);
    OGR_Fld_Destroy(field);
    return e == OGRERR_NONE ? 0 : -1;
}

static int create_layer(Writer *w, const char *path)
{
    GDALDriverH driver = GDALGetDriverByName("GPKG");
    VSIUnlink(path); /* the GeoPackage driver will not create over an existing file */
    w->ds = driver ? GDALCreate(driver, path, 0, 0, 0, GDT_Unknown, NULL) : NULL;
    if (!w->ds)
        return -1;
    char **opts = CSLSetNameValue(NULL, "GEOMETRY_NAME", "geom");
    opts = CSLSetNameValue(opts, "FID", "fid");
    opts = CSLSetNameValue(opts, "DESCRIPTION", "Port Azul neighbourhoods (synthetic)");
    w->layer = GDALDatasetCreateLayer(w->ds, "neighbourhoods", w->job->georef->mercator,
                                      wkbMultiPolygon, opts);
    CSLDestroy(opts);
    if (!w->layer || add_field(w->layer, "nbhd_id", OFTInteger) != 0 ||
        add_field(w->layer, "name", OFTString) != 0 ||
        add_field(w->layer, "district", OFTString) != 0 ||
        add_field(w->layer, "pop_2020", OFTInteger64) != 0 ||
        add_field(w->layer, "pcode", OFTString) != 0)
        return -1;
    return 0;
}

static size_t *shuffled_indices(size_t n, uint64_t seed)
{
    size_t *order = malloc(n * sizeof *order);
    if (!order)
        return NULL;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    Rng rng;
    rng_init(&rng, seed, STREAM_NAMES);
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(&rng, i), tmp = order[i - 1];
        order[i - 1] = order[j];
        order[j] = tmp;
    }
    return order;
}

/* One transaction: thousands of features would otherwise mean thousands of disk syncs. */
static int fill_layer(Writer *w)
{
    if (GDALDatasetStartTransaction(w->ds, FALSE) != OGRERR_NONE)
        return -1;
    if (add_features(w) != 0) {
        GDALDatasetRollbackTransaction(w->ds);
        return -1;
    }
    return GDALDatasetCommitTransaction(w->ds) == OGRERR_NONE ? 0 : -1;
}

static int setup(Writer *w, const Job *job)
{
    const Terrain *t = job->terrain;
    w->job = job;
    if (tess_init(&w->tess, job->options->zones, t, job->options->seed, t->lagoon.u, t->lagoon.v) != 0)
        return -1;
    w->island_row = tess_row_at(&w->tess, t->island.v);
    w->island_col = w->tess.cols[w->island_row] - 1;
    /* At least 4 x 4 per cell; more when cells are few and large, so the estimate stays smooth. */
    w->pop_samples = (int)sc_clamp(ceil(sqrt(POP_SAMPLES_CITY / (double)job->options->zones)), 4, 64);
    w->name_order = shuffled_indices((size_t)job->options->zones, job->options->seed);
    return w->name_order ? 0 : -1;
}

int write_neighbourhoods(const Job *job, const char *path, SynthError *err)
{
    Writer w = {0};
    CPLErrorReset();
    int rc = setup(&w, job);
    if (rc == 0)
        rc = create_layer(&w, path);
    if (rc == 0)
        rc = fill_layer(&w);
    if (w.ds)
        GDALClose(w.ds);
    if (rc == 0 && CPLGetLastErrorType() >= CE_Failure)
        rc = -1;
    free(w.name_order);
    tess_free(&w.tess);
    return rc == 0 ? 0 : synth_fail_gdal(err, path, "cannot write GeoPackage (out of memory?)");
}

/* arrivals_by_neighbourhood.csv: arrivals counted per neighbourhood, as a city register or an
 * IOM DTM baseline assessment publishes them: a header, an HXL hashtag row, one row per
 * neighbourhood with arrivals (the P-code, the name, the count, a month-only date), and one row
 * for a code of a neighbouring district that no polygon carries. The count is the zone's
 * residents times a rate rising with its informal share, so arrivals follow informality. */
int write_arrivals_table(const Job *job, const char *path, SynthError *err)
{
    Writer w = {0};
    FILE *f = NULL;
    int rc = setup(&w, job);
    if (rc == 0 && !(f = fopen(path, "w")))
        rc = -1;
    if (rc == 0 && fputs("neighbourhood_code,neighbourhood,idps,reported\n"
                         "#adm3+code,#adm3+name,#affected+idps+ind,#date+reported\n",
                         f) < 0)
        rc = -1;
    long long id = 1;
    int serial[CITY_DISTRICTS] = {0};
    for (int row = 0; rc == 0 && row < w.tess.rows; row++) {
        for (int col = 0; rc == 0 && col < w.tess.cols[row]; col++, id++) {
            char pcode[32], name[160];
            double settlement;
            cell_pcode(&w, row, col, serial, pcode, sizeof pcode);
            neighbourhood_name(w.name_order[id - 1], name, sizeof name);
            OGRGeometryH geometry = cell_geometry(&w, row, col);
            long long residents = estimate_population(&w, row, col, geometry, &settlement);
            OGR_G_DestroyGeometry(geometry);
            long long idps = llround(residents * (0.004 + 0.06 * settlement));
            if (idps > 0 && fprintf(f, "%s,\"%s\",%lld,2025-06\n", pcode, name, idps) < 0)
                rc = -1;
        }
    }
    if (rc == 0 && fputs("MZ071001,\"Nhamatanda Sede\",412,2025-06\n", f) < 0)
        rc = -1;
    if (f && fclose(f) != 0)
        rc = -1;
    free(w.name_order);
    tess_free(&w.tess);
    return rc == 0 ? 0 : synth_fail(err, path, "cannot write the arrivals table");
}
