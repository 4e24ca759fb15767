/* zones.c: reading the zones of `cityrisk zonal` onto the analysis grid. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <geodesic.h>
#include <cpl_error.h>
#include <geos_c.h>
#include <ogr_api.h>

#include "core/internal.h"
#include "core/polygons.h"
#include "core/pool.h"
#include "core/zones.h"

void cr_zones_free(cr_zones *zones)
{
    if (!zones)
        return;
    for (int64_t i = 0; i < zones->count; i++) {
        free((void *)zones->zone[i].rings.xy);
        free((void *)zones->zone[i].rings.ring_end);
        free((void *)zones->zone[i].rings.sign);
    }
    free(zones->zone);
    free(zones->cell_area_m2);
    memset(zones, 0, sizeof *zones);
}

cr_status cr_zones_layer(cr_ctx *ctx, GDALDatasetH ds, const cr_zonal_opts *opts,
                         OGRLayerH *out)
{
    /* Some drivers parse the file only now (JML's XML): what they say is the context's. */
    cr_gdal_begin(ctx);
    OGRLayerH layer = opts->layer ? GDALDatasetGetLayerByName(ds, opts->layer)
                                  : GDALDatasetGetLayer(ds, 0);
    OGRFeatureDefnH defn = layer ? OGR_L_GetLayerDefn(layer) : NULL;
    if (layer)
        OGR_L_GetSpatialRef(layer);
    cr_gdal_end(ctx);
    if (*cr_gdal_message(ctx))
        return cr_ctx_fail_gdal(ctx, CR_E_DATA, "cannot read zones '%s'", opts->zones_path);
    if (!layer) {
        if (opts->layer)
            return cr_ctx_fail(ctx, CR_E_USAGE, "zones '%s' have no layer '%s'",
                               opts->zones_path, opts->layer);
        return cr_ctx_fail(ctx, CR_E_DATA, "zones '%s' have no layer", opts->zones_path);
    }
    const char *fields[2] = {opts->id_field, opts->name_field};
    const char *flags[2] = {"--id-field", "--name-field"};
    for (int i = 0; i < 2; i++)
        if (fields[i] && OGR_FD_GetFieldIndex(defn, fields[i]) < 0)
            return cr_ctx_fail(ctx, CR_E_USAGE, "%s: zones '%s' layer '%s' has no field '%s'",
                               flags[i], opts->zones_path, OGR_L_GetName(layer), fields[i]);
    *out = layer;
    return CR_OK;
}

/* "feature 12 (zone_id 'NB-07', name 'Kibera')" for messages. */
static void describe_feature(OGRFeatureH f, int64_t index, const cr_zonal_opts *opts, char *buf,
                             size_t size)
{
    GIntBig fid = OGR_F_GetFID(f);
    int n = snprintf(buf, size, "feature %lld", (long long)(fid != OGRNullFID ? fid : index));
    const char *fields[2] = {opts->id_field, opts->name_field};
    int any = 0;
    for (int i = 0; i < 2 && n > 0 && (size_t)n < size; i++) {
        int k = fields[i] ? OGR_F_GetFieldIndex(f, fields[i]) : -1;
        if (k < 0 || !OGR_F_IsFieldSetAndNotNull(f, k))
            continue;
        n += snprintf(buf + n, size - (size_t)n, "%s%s '%s'", any ? ", " : " (", fields[i],
                      OGR_F_GetFieldAsString(f, k));
        any = 1;
    }
    if (any && n > 0 && (size_t)n + 1 < size)
        strcat(buf, ")");
}

/* The area of each row's cells in m2: the cell size times the unit squared on a
 * projected grid, the geodesic area of a cell on a geographic one. */
static cr_status row_areas(cr_ctx *ctx, const cr_grid *grid, OGRSpatialReferenceH srs,
                           struct geod_geodesic *geod, double **out)
{
    double *areas = malloc((size_t)grid->height * sizeof *areas);
    if (!areas)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    double dx = grid->gt[1], dy = grid->gt[5];
    for (int r = 0; r < grid->height; r++) {
        if (!geod) {
            double unit = OSRGetLinearUnits(srs, NULL);
            areas[r] = fabs(dx * dy) * unit * unit;
            continue;
        }
        double lat0 = grid->gt[3] + r * dy, lat1 = lat0 + dy, lon0 = grid->gt[0];
        double lats[4] = {lat0, lat0, lat1, lat1}, lons[4] = {lon0, lon0 + dx, lon0 + dx, lon0};
        double area, perimeter;
        geod_polygonarea(geod, lats, lons, 4, &area, &perimeter);
        areas[r] = fabs(area);
    }
    *out = areas;
    return CR_OK;
}

/* What one load needs across features. */
typedef struct loader {
    cr_shaper s;                            /* repair, cut, reprojection (core/polygons.h) */
    const cr_zonal_opts *opts;
    struct geod_geodesic geod;
    int geographic;
    double unit;                            /* metres per grid unit */
    OGRCoordinateTransformationH to_lonlat; /* zones' CRS -> the grid's lon/lat, for areas beyond */
    double a, f;                            /* the grid's ellipsoid */
    cr_bounds extent;                       /* of every zone, in their own CRS */
    OGRSpatialReferenceH lonlat;            /* the grid's geographic CRS, for to_lonlat */
    struct pending *current;                /* whose messages keep_log keeps (workers) */
} loader;

/* The length of the closed rings of xy / ring_end. */
static double perimeter(const double *xy, const int *ring_end, int nrings)
{
    double total = 0.0;
    for (int i = 0; i < nrings; i++)
        for (int k = (i ? ring_end[i - 1] : 0) + 1; k < ring_end[i]; k++)
            total += hypot(xy[2 * k] - xy[2 * k - 2], xy[2 * k + 1] - xy[2 * k - 1]);
    return total;
}

/* The area in m2 on the grid's ellipsoid of polygonal rings (closed, as GEOS gives them;
 * sign +1 for shells, -1 for holes) whose edges are straight in their CRS: lon/lat, or
 * the zones' CRS when ct takes them to the grid's lon/lat. Each ring is densified there
 * to edges of at most step, turned counter-clockwise (its region on its left) and
 * measured by cr_lonlat_ring_area(), which is exact for lon/lat boxes and has no trouble
 * with rings of more than half the earth (GeographicLib's geodesic polygons give their
 * area modulo the earth's). NaN when out of memory or when a point cannot be transformed. */
static double rings_area(loader *L, const double *xy, const int *ring_end, const signed char *sign,
                         int nrings, double step, OGRCoordinateTransformationH ct)
{
    double total = 0.0;
    for (int i = 0; i < nrings && isfinite(total); i++) {
        int start = i ? ring_end[i - 1] : 0, n = ring_end[i] - start - 1; /* closed */
        const double *p = xy + 2 * (size_t)start;
        double planar = 0.0; /* the ring's orientation in its own CRS */
        size_t count = 0;
        for (int k = 0; k < n; k++) {
            planar += p[2 * k] * p[2 * k + 3] - p[2 * k + 2] * p[2 * k + 1];
            count += (size_t)fmin(ceil(hypot(p[2 * k + 2] - p[2 * k], p[2 * k + 3] - p[2 * k + 1]) /
                                       step), 1e6) + 1;
        }
        double *x = malloc((count ? count : 1) * sizeof *x), *y = malloc((count ? count : 1) * sizeof *y);
        int *ok = malloc((count ? count : 1) * sizeof *ok);
        double *ll = malloc((count ? count : 1) * 2 * sizeof *ll);
        if (!x || !y || !ok || !ll) {
            free(x), free(y), free(ok), free(ll);
            return NAN;
        }
        size_t m = 0;
        for (int k = 0; k < n; k++) {
            int a = planar >= 0 ? k : n - k, c = planar >= 0 ? k + 1 : n - k - 1;
            double len = hypot(p[2 * c] - p[2 * a], p[2 * c + 1] - p[2 * a + 1]);
            int pieces = (int)fmin(ceil(len / step), 1e6);
            pieces = pieces < 1 ? 1 : pieces;
            for (int j = 0; j < pieces; j++, m++) {
                x[m] = p[2 * a] + (p[2 * c] - p[2 * a]) * j / pieces;
                y[m] = p[2 * a + 1] + (p[2 * c + 1] - p[2 * a + 1]) * j / pieces;
                ok[m] = 1;
            }
        }
        int done = 1;
        if (ct) {
            cr_gdal_begin(L->s.ctx);
            done = OCTTransformEx(ct, (int)m, x, y, NULL, ok);
            cr_gdal_end(L->s.ctx);
        }
        for (size_t k = 0; k < m && done; k++) {
            done = ok[k] && isfinite(x[k]) && isfinite(y[k]);
            ll[2 * k] = x[k];
            ll[2 * k + 1] = y[k];
        }
        total = done ? total + sign[i] * fabs(cr_lonlat_ring_area(ll, (int)m, L->a, L->f)) : NAN;
        free(x), free(y), free(ok), free(ll);
    }
    return total;
}

/* The area in m2 of the polygons of g (in the zones' CRS) on the grid's ellipsoid, edges
 * densified in the zones' CRS to a cell, or to 1/65536 of the perimeter when that is
 * longer, so that the cost does not grow with the zone's size. */
static double ellipsoid_area(loader *L, const GEOSGeometry *g)
{
    cr_ring_buf b = {0};
    double area = NAN;
    if (cr_ring_buf_add(L->s.geos, g, NULL, &b)) {
        double step = fmax(L->s.densify, perimeter(b.xy, b.ring_end, b.nrings) / 65536.0);
        area = rings_area(L, b.xy, b.ring_end, b.sign, b.nrings, step, L->to_lonlat);
    }
    cr_ring_buf_free(&b);
    return area;
}

/* The area in m2 of a zone's rings on a geographic grid, the same way: edges straight in
 * lon/lat as the cells are. */
static double lonlat_area(loader *L, const cr_rings *r)
{
    int npoints = r->nrings ? r->ring_end[r->nrings - 1] : 0;
    double *ll = malloc((size_t)(npoints ? npoints : 1) * 2 * sizeof *ll);
    if (!ll)
        return NAN;
    const double *gt = L->s.grid->gt;
    for (int k = 0; k < npoints; k++) {
        ll[2 * k] = gt[0] + r->xy[2 * k] * gt[1];
        ll[2 * k + 1] = gt[3] + r->xy[2 * k + 1] * gt[5];
    }
    double step = fmax(fabs(gt[1]), perimeter(ll, r->ring_end, r->nrings) / 65536.0);
    double area = rings_area(L, ll, r->ring_end, r->sign, r->nrings, step, NULL);
    free(ll);
    return area;
}

/* One feature between its reading (on the calling thread: OGR layers are not thread-safe)
 * and its zone (shaped on a worker): its name for messages, its geometry, what the worker
 * said (replayed in feature order) and how it ended. */
typedef struct pending {
    char who[256];
    OGRGeometryH geometry; /* owned; NULL when the feature has none */
    int empty_geometry;    /* it has one, empty */
    cr_status status;
    char *error;           /* the failure's message, to free() */
    char *log;             /* the messages: level digit, text, NUL; one after the other */
    size_t log_len, log_cap;
} pending;

static void pending_clear(pending *p)
{
    if (p->geometry)
        OGR_G_DestroyGeometry(p->geometry);
    free(p->error);
    free(p->log);
    memset(p, 0, sizeof *p);
}

/* Takes the feature's name and geometry (read on the calling thread); widens the extent. */
static void read_feature(loader *L, OGRFeatureH f, int64_t index, pending *p)
{
    describe_feature(f, index, L->opts, p->who, sizeof p->who);
    OGRGeometryH g0 = OGR_F_StealGeometry(f);
    if (g0 && OGR_G_IsEmpty(g0)) {
        p->empty_geometry = 1;
        OGR_G_DestroyGeometry(g0);
        g0 = NULL;
    }
    p->geometry = g0;
    if (!g0)
        return;
    OGREnvelope env;
    OGR_G_GetEnvelope(g0, &env);
    L->extent.xmin = fmin(L->extent.xmin, env.MinX), L->extent.xmax = fmax(L->extent.xmax, env.MaxX);
    L->extent.ymin = fmin(L->extent.ymin, env.MinY), L->extent.ymax = fmax(L->extent.ymax, env.MaxY);
}

/* Turns the feature's geometry into zone z (z->empty set when it has no area; warnings
 * to L's context); an unusable one fails with a message. Needs only L and p: runs on a
 * worker with the worker's own loader. */
static cr_status shape_feature(loader *L, const pending *p, cr_zone *z)
{
    const char *who = p->who;
    if (!p->geometry) {
        z->empty = 1;
        cr_ctx_log(L->s.ctx, CR_LOG_WARNING, "zones '%s': %s has %s geometry; its statistics are null",
                   L->opts->zones_path, who, p->empty_geometry ? "an empty" : "no");
        return CR_OK;
    }
    GEOSGeometry *geom = NULL, *outside = NULL;
    cr_status st = cr_shaper_prepare(&L->s, p->geometry, who, &geom, &z->repaired, &outside);
    if (st != CR_OK)
        return st;
    /* The part cut away beyond the grid still counts in the zone's area. */
    double beyond = 0.0;
    int cut = outside != NULL;
    if (outside) {
        beyond = L->to_lonlat ? ellipsoid_area(L, outside) : NAN;
        GEOSGeom_destroy_r(L->s.geos, outside);
        if (!isfinite(beyond)) {
            GEOSGeom_destroy_r(L->s.geos, geom);
            return cr_shaper_cut_failed(&L->s, who);
        }
    }
    cr_ring_buf b = {0};
    int ok = cr_ring_buf_add(L->s.geos, geom, L->s.grid, &b);
    GEOSGeom_destroy_r(L->s.geos, geom);
    if (ok && b.npoints > 0 && b.npoints < b.cap_points) {
        /* Every zone stays in memory for the whole run: keep no slack. */
        double *fit = realloc(b.xy, (size_t)b.npoints * 2 * sizeof *fit);
        b.xy = fit ? fit : b.xy;
    }
    free(b.part);
    z->rings = (cr_rings){b.xy, b.ring_end, b.sign, b.nrings};
    if (!ok)
        return cr_ctx_fail(L->s.ctx, CR_E_IO, "zones '%s': %s: cannot read its coordinates",
                           L->opts->zones_path, who);
    if (b.nrings == 0 && !(cut && beyond > 0.0)) {
        z->empty = 1;
        cr_ctx_log(L->s.ctx, CR_LOG_WARNING, "zones '%s': %s has no area; its statistics are null",
                   L->opts->zones_path, who);
        return CR_OK;
    }
    double cell = fabs(L->s.grid->gt[1] * L->s.grid->gt[5]);
    z->area_m2 = L->geographic ? lonlat_area(L, &z->rings)
                               : cr_rings_area(&z->rings) * cell * L->unit * L->unit;
    z->area_m2 += beyond;
    z->box = cr_rings_box(&z->rings, L->s.grid);
    return CR_OK;
}

/* Fails when the layer gives nothing to report on: no feature, no geometry, or no zone
 * that meets the grid (zones of another place, or in another CRS than they declare).
 * Single zones without geometry or outside the grid are kept with null statistics. */
static cr_status check_usable(const loader *L, const char *layer, const char *grid_path,
                              const cr_zones *z)
{
    cr_ctx *ctx = L->s.ctx;
    const char *path = L->opts->zones_path;
    if (z->count == 0)
        return cr_ctx_fail(ctx, CR_E_DATA, "zones '%s' layer '%s' have no features", path, layer);
    if (z->empty == z->count)
        return cr_ctx_fail(ctx, CR_E_DATA, "zones '%s' layer '%s': none of the %lld features has "
                           "a polygon", path, layer, (long long)z->count);
    for (int64_t i = 0; i < z->count; i++)
        if (z->zone[i].box.w > 0)
            return CR_OK;
    char what[2200];
    snprintf(what, sizeof what, "zones '%s' layer '%s': none of the %lld zones overlaps the "
             "analysis grid of '%s'", path, layer, (long long)z->count, grid_path);
    /* The zones' extent in the grid's CRS (they may have been cut, so not from their rings). */
    cr_bounds e = L->extent, g = cr_grid_bounds(L->s.grid);
    cr_gdal_begin(L->s.ctx);
    int ok = !L->s.ct || OCTTransformBounds(L->s.ct, L->extent.xmin, L->extent.ymin, L->extent.xmax,
                                          L->extent.ymax, &e.xmin, &e.ymin, &e.xmax, &e.ymax, 21);
    cr_gdal_end(L->s.ctx);
    if (!ok)
        return cr_ctx_fail(ctx, CR_E_DATA, "%s", what);
    return cr_fail_apart(ctx, what, &e, "the grid's", &g, " (in the grid's CRS)");
}

/* Sets up L to shape the zones of layer for grid, its messages to ctx. Release with
 * loader_release() whatever it returns. */
static cr_status loader_init(cr_ctx *ctx, loader *L, const cr_zonal_opts *opts, OGRLayerH layer,
                             const cr_grid *grid)
{
    memset(L, 0, sizeof *L);
    L->opts = opts;
    L->unit = 1.0;
    L->extent = (cr_bounds){INFINITY, INFINITY, -INFINITY, -INFINITY};
    cr_status st = cr_shaper_init(ctx, &L->s, opts->zones_path, "zones", OGR_L_GetName(layer),
                                  OGR_L_GetSpatialRef(layer), grid);
    L->s.cancelled = "zonal statistics were cancelled";
    if (st != CR_OK)
        return st;
    OGRSpatialReferenceH grid_srs = L->s.grid_srs;
    L->geographic = OSRIsGeographic(grid_srs);
    L->a = OSRGetSemiMajor(grid_srs, NULL);
    double inverse_flattening = OSRGetInvFlattening(grid_srs, NULL);
    L->f = inverse_flattening > 0.0 ? 1.0 / inverse_flattening : 0.0; /* 0: a sphere */
    if (L->geographic)
        geod_init(&L->geod, L->a, L->f);
    else
        L->unit = OSRGetLinearUnits(grid_srs, NULL);
    if (L->s.ct) {
        cr_gdal_begin(ctx);
        if ((L->lonlat = OSRCloneGeogCS(grid_srs)) != NULL) {
            OSRSetAxisMappingStrategy(L->lonlat, OAMS_TRADITIONAL_GIS_ORDER);
            L->to_lonlat = OCTNewCoordinateTransformation(L->s.src_srs, L->lonlat);
        }
        cr_gdal_end(ctx);
    }
    return CR_OK;
}

static void loader_release(loader *L)
{
    cr_shaper_release(&L->s);
    if (L->to_lonlat)
        OCTDestroyCoordinateTransformation(L->to_lonlat);
    if (L->lonlat)
        OSRDestroySpatialReference(L->lonlat);
    L->to_lonlat = NULL, L->lonlat = NULL;
}

/* A log sink that keeps a worker's messages with the feature it works on, so that they
 * reach the caller's sink in feature order whatever thread shaped which feature. */
static void keep_log(void *arg, cr_log_level level, const char *msg)
{
    pending *p = ((loader *)arg)->current;
    size_t len = strlen(msg) + 2;
    if (!p || len > 65536)
        return;
    if (p->log_len + len > p->log_cap) {
        size_t cap = p->log_cap ? p->log_cap * 2 : 512;
        while (cap < p->log_len + len)
            cap *= 2;
        char *grown = realloc(p->log, cap);
        if (!grown)
            return;
        p->log = grown, p->log_cap = cap;
    }
    p->log[p->log_len] = (char)('0' + level);
    memcpy(p->log + p->log_len + 1, msg, len - 1);
    p->log_len += len;
}

/* Features read and shaped per round: enough to keep the workers busy, few enough that
 * the geometries read ahead stay small. */
#define ZONES_ROUND 256

/* One load: the calling thread's loader and, with more than one thread, one loader per
 * worker, each with its own context (GEOS handle, GDAL error capture, messages kept with
 * the feature: keep_log); the round's features. */
typedef struct load_job {
    cr_ctx *ctx;
    loader *main;
    loader *workers;  /* NULL with one thread: the main loader shapes on the calling thread */
    cr_ctx **contexts;
    int nworkers;
    cr_ctx *reading;  /* the main loader's context while it reads ahead (messages kept) */
    pending items[ZONES_ROUND + 1]; /* the last: what the reading said once it stopped */
    int64_t first;    /* the round's first feature */
    GIntBig n;        /* the features counted, for progress */
    cr_zones *zones;
} load_job;

static cr_status shape_work(cr_ctx *ctx, void *arg, int64_t index, int worker, int slot)
{
    (void)ctx, (void)slot;
    load_job *J = arg;
    pending *p = &J->items[index];
    cr_zone *z = &J->zones->zone[J->first + index];
    if (!J->workers)
        return shape_feature(J->main, p, z);
    loader *L = &J->workers[worker];
    L->current = p;
    cr_status st = shape_feature(L, p, z);
    L->current = NULL;
    if (st != CR_OK) {
        p->status = st;
        p->error = strdup(cr_ctx_error(L->s.ctx));
    }
    return CR_OK;
}

/* Gives the caller's sink what was kept for feature p, and fails as its work did. */
static cr_status replay(cr_ctx *ctx, const pending *p)
{
    for (size_t k = 0; k < p->log_len; k += strlen(p->log + k) + 1)
        cr_ctx_log(ctx, (cr_log_level)(p->log[k] - '0'), "%s", p->log + k + 1);
    if (p->status != CR_OK)
        return cr_ctx_fail(ctx, p->status, "%s", p->error ? p->error : "out of memory");
    return CR_OK;
}

static cr_status shape_emit(cr_ctx *ctx, void *arg, int64_t index, int slot)
{
    (void)slot;
    load_job *J = arg;
    pending *p = &J->items[index];
    cr_status st = replay(ctx, p);
    pending_clear(p);
    if (st != CR_OK)
        return st;
    const cr_zone *z = &J->zones->zone[J->first + index];
    J->zones->repaired += z->repaired;
    J->zones->empty += z->empty;
    int64_t done = J->first + index + 1;
    J->main->s.done = J->n > 0 ? fmin((double)done / (double)J->n, 1.0) : 0.0;
    if (!cr_ctx_progress(ctx, J->main->s.done, NULL))
        return cr_ctx_fail(ctx, CR_E_CANCELLED, "%s", J->main->s.cancelled);
    return CR_OK;
}

/* Reads up to ZONES_ROUND features (one with one thread, so that reading and shaping
 * alternate as they always did) into J->items; *got receives their number, *end 1 when the
 * layer has no more. A reading failure is kept in the item after the last. */
static void read_round(load_job *J, OGRLayerH layer, int *got, int *end)
{
    int round = J->workers ? ZONES_ROUND : 1;
    loader *L = J->main;
    *got = 0, *end = 0;
    while (*got < round) {
        pending *p = &J->items[*got];
        OGRFeatureH f = NULL;
        if (J->workers) {
            /* What GDAL says while reading goes with the feature, before its shaping. */
            L->current = p;
            L->s.ctx = J->reading;
        }
        cr_status st = cr_shaper_next(&L->s, layer, &f);
        if (J->workers) {
            L->current = NULL;
            L->s.ctx = J->ctx;
        }
        if (st != CR_OK) {
            p->status = st;
            p->error = strdup(cr_ctx_error(J->workers ? J->reading : J->ctx));
        }
        if (st != CR_OK || !f) {
            *end = 1;
            return;
        }
        read_feature(L, f, J->first + *got, p);
        OGR_F_Destroy(f);
        (*got)++;
    }
}

/* Makes the contexts and loaders of J's workers (one per thread). */
static cr_status start_workers(load_job *J, const cr_zonal_opts *opts, OGRLayerH layer,
                               const cr_grid *grid, int threads)
{
    cr_ctx *ctx = J->ctx;
    J->contexts = calloc((size_t)threads + 1, sizeof *J->contexts);
    J->workers = calloc((size_t)threads + 1, sizeof *J->workers);
    if (!J->contexts || !J->workers)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    J->nworkers = threads;
    for (int w = 0; w <= threads; w++) {
        /* The last context is the reading one: its loader only holds its messages. */
        if (!(J->contexts[w] = cr_ctx_new()))
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        cr_ctx_inherit(J->contexts[w], ctx);
        cr_ctx_set_log(J->contexts[w], keep_log, w < threads ? &J->workers[w] : J->main,
                       CR_LOG_DEBUG);
        if (w < threads && loader_init(J->contexts[w], &J->workers[w], opts, layer, grid) != CR_OK)
            return cr_ctx_fail(ctx, cr_ctx_status(J->contexts[w]), "%s",
                               cr_ctx_error(J->contexts[w]));
    }
    J->reading = J->contexts[threads];
    return CR_OK;
}

static void stop_workers(load_job *J)
{
    for (int w = 0; J->workers && w < J->nworkers; w++)
        loader_release(&J->workers[w]);
    for (int w = 0; J->contexts && w <= J->nworkers; w++)
        cr_ctx_free(J->contexts[w]);
    free(J->workers);
    free(J->contexts);
    for (int k = 0; k <= ZONES_ROUND; k++)
        pending_clear(&J->items[k]);
}

cr_status cr_zones_load(cr_ctx *ctx, const cr_zonal_opts *opts, const cr_grid *grid,
                        const char *grid_path, cr_zones *out)
{
    memset(out, 0, sizeof *out);
    GDALDatasetH ds = NULL;
    cr_status st = cr_open_vector(ctx, opts->zones_path, &ds);
    if (st != CR_OK)
        return st;
    OGRLayerH layer = NULL;
    loader L;
    memset(&L, 0, sizeof L);
    load_job *J = calloc(1, sizeof *J);
    if (!J) {
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        goto done;
    }
    J->ctx = ctx, J->main = &L, J->zones = out;
    if ((st = cr_zones_layer(ctx, ds, opts, &layer)) != CR_OK)
        goto done;
    if ((st = loader_init(ctx, &L, opts, layer, grid)) != CR_OK)
        goto done;
    if ((st = row_areas(ctx, grid, L.s.grid_srs, L.geographic ? &L.geod : NULL,
                        &out->cell_area_m2)) != CR_OK)
        goto done;
    /* Zones are shaped (validity, repair, reprojection, areas: GEOS's work) on worker
     * threads, each with its own loader; features are read here, OGR layers being
     * single-threaded. Messages and results do not depend on the number of threads. */
    int threads = cr_ctx_threads(ctx);
    if (threads > 1 && (st = start_workers(J, opts, layer, grid, threads)) != CR_OK)
        goto done;
    /* GDAL's readers speak while reading (GeoJSON's "Non closed ring detected"): their
     * warnings go to the log, an error that ends the reading fails it. */
    cr_gdal_begin(ctx);
    J->n = OGR_L_GetFeatureCount(layer, 1);
    OGR_L_ResetReading(layer);
    cr_gdal_end(ctx);
    size_t cap = J->n > 0 ? (size_t)J->n : 16;
    out->zone = calloc(cap, sizeof *out->zone);
    if (!out->zone) {
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        goto done;
    }
    for (int end = 0; !end;) {
        int got = 0;
        read_round(J, layer, &got, &end);
        while ((size_t)(out->count + got) > cap) {
            cr_zone *grown = realloc(out->zone, cap * 2 * sizeof *grown);
            if (!grown) {
                st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
                goto done;
            }
            memset(grown + cap, 0, cap * sizeof *grown);
            out->zone = grown;
            cap *= 2;
        }
        J->first = out->count;
        out->count += got;
        if (got > 0) {
            int workers = J->workers ? J->nworkers : 1;
            st = cr_parallel_ordered(ctx, workers, got, got, shape_work, shape_emit, J);
            if (st != CR_OK)
                goto done;
        }
        /* What the reading said once it stopped, and how (a failure), in its turn. */
        if ((st = replay(ctx, &J->items[got])) != CR_OK)
            goto done;
        pending_clear(&J->items[got]);
    }
    st = check_usable(&L, OGR_L_GetName(layer), grid_path, out);
done:
    if (J) {
        stop_workers(J);
        free(J);
    }
    loader_release(&L);
    GDALClose(ds);
    if (st != CR_OK)
        cr_zones_free(out);
    return st;
}

cr_window cr_window_intersect(cr_window a, cr_window b)
{
    int x0 = a.x > b.x ? a.x : b.x, y0 = a.y > b.y ? a.y : b.y;
    int x1 = a.x + a.w < b.x + b.w ? a.x + a.w : b.x + b.w;
    int y1 = a.y + a.h < b.y + b.h ? a.y + a.h : b.y + b.h;
    cr_window w = {x0, y0, x1 > x0 ? x1 - x0 : 0, y1 > y0 ? y1 - y0 : 0};
    if (w.w == 0 || w.h == 0)
        w.w = w.h = 0;
    return w;
}
