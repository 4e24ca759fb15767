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
#include "zonal_internal.h"

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

/* The polygons of a geometry: MakeValid, an intersection or a difference may return a
 * collection that also holds lines and points where the input collapsed or touched.
 * Returns a new MultiPolygon (empty when there is none), or NULL when out of memory. */
static GEOSGeometry *polygonal_parts(GEOSContextHandle_t h, const GEOSGeometry *g)
{
    int type = GEOSGeomTypeId_r(h, g);
    if (type == GEOS_POLYGON || type == GEOS_MULTIPOLYGON)
        return GEOSGeom_clone_r(h, g);
    /* A collection's members may be multipolygons: count the polygons they hold first. */
    int n = GEOSGetNumGeometries_r(h, g), total = 0;
    for (int i = 0; i < n; i++) {
        const GEOSGeometry *part = GEOSGetGeometryN_r(h, g, i);
        int t = GEOSGeomTypeId_r(h, part);
        if (t == GEOS_POLYGON || t == GEOS_MULTIPOLYGON)
            total += GEOSGetNumGeometries_r(h, part);
    }
    GEOSGeometry **parts = malloc((size_t)(total > 0 ? total : 1) * sizeof *parts);
    if (!parts)
        return NULL;
    int k = 0;
    for (int i = 0; i < n; i++) {
        const GEOSGeometry *part = GEOSGetGeometryN_r(h, g, i);
        int t = GEOSGeomTypeId_r(h, part);
        if (t != GEOS_POLYGON && t != GEOS_MULTIPOLYGON)
            continue;
        for (int j = 0; j < GEOSGetNumGeometries_r(h, part) && k < total; j++)
            parts[k++] = GEOSGeom_clone_r(h, GEOSGetGeometryN_r(h, part, j));
    }
    GEOSGeometry *out = GEOSGeom_createCollection_r(h, GEOS_MULTIPOLYGON, parts, (unsigned)k);
    free(parts);
    return out;
}

/* Growable ring storage of one zone. */
typedef struct ring_buf {
    double *xy;
    int *ring_end;
    signed char *sign;
    int *part; /* the polygon each ring belongs to */
    int npoints, cap_points, nrings, cap_rings;
} ring_buf;

static void ring_buf_free(ring_buf *b)
{
    free(b->xy);
    free(b->ring_end);
    free(b->sign);
    free(b->part);
    memset(b, 0, sizeof *b);
}

/* Appends a ring, in cell coordinates of grid (as they are when grid is NULL). */
static int add_ring(GEOSContextHandle_t h, const GEOSGeometry *ring, int sign, int part,
                    const cr_grid *grid, ring_buf *b)
{
    const GEOSCoordSequence *seq = GEOSGeom_getCoordSeq_r(h, ring);
    unsigned n = 0;
    if (!seq || !GEOSCoordSeq_getSize_r(h, seq, &n))
        return 0;
    if (n < 4)
        return 1; /* no area */
    if (b->npoints + (int)n > b->cap_points) {
        int cap = (b->npoints + (int)n) * 2;
        double *xy = realloc(b->xy, (size_t)cap * 2 * sizeof *xy);
        if (!xy)
            return 0;
        b->xy = xy;
        b->cap_points = cap;
    }
    if (b->nrings + 1 > b->cap_rings) {
        int cap = (b->nrings + 1) * 2;
        int *end = realloc(b->ring_end, (size_t)cap * sizeof *end);
        if (!end)
            return 0;
        b->ring_end = end;
        signed char *s = realloc(b->sign, (size_t)cap);
        if (!s)
            return 0;
        b->sign = s;
        int *p = realloc(b->part, (size_t)cap * sizeof *p);
        if (!p)
            return 0;
        b->part = p;
        b->cap_rings = cap;
    }
    double *xy = b->xy + 2 * (size_t)b->npoints;
    if (!GEOSCoordSeq_copyToBuffer_r(h, seq, xy, 0, 0))
        return 0;
    for (unsigned i = 0; grid && i < n; i++) {
        xy[2 * i] = (xy[2 * i] - grid->gt[0]) / grid->gt[1];
        xy[2 * i + 1] = (xy[2 * i + 1] - grid->gt[3]) / grid->gt[5];
    }
    b->npoints += (int)n;
    b->ring_end[b->nrings] = b->npoints;
    b->part[b->nrings] = part;
    b->sign[b->nrings++] = (signed char)sign;
    return 1;
}

/* Appends the rings of a polygonal geometry: shells +1, holes -1. */
static int add_rings(GEOSContextHandle_t h, const GEOSGeometry *g, const cr_grid *grid, ring_buf *b)
{
    int nparts = GEOSGetNumGeometries_r(h, g);
    for (int i = 0; i < nparts; i++) {
        const GEOSGeometry *part = GEOSGetGeometryN_r(h, g, i);
        if (GEOSGeomTypeId_r(h, part) != GEOS_POLYGON || GEOSisEmpty_r(h, part))
            continue;
        if (!add_ring(h, GEOSGetExteriorRing_r(h, part), 1, i, grid, b))
            return 0;
        int holes = GEOSGetNumInteriorRings_r(h, part);
        for (int j = 0; j < holes; j++)
            if (!add_ring(h, GEOSGetInteriorRingN_r(h, part, j), -1, i, grid, b))
                return 0;
    }
    return 1;
}

/* The grid cells the zone's bounding box covers. */
static cr_window zone_box(const cr_rings *r, const cr_grid *grid)
{
    cr_window box = {0, 0, 0, 0};
    int npoints = r->nrings ? r->ring_end[r->nrings - 1] : 0;
    if (npoints == 0)
        return box;
    double xmin = INFINITY, ymin = INFINITY, xmax = -INFINITY, ymax = -INFINITY;
    for (int k = 0; k < npoints; k++) {
        double x = r->xy[2 * k], y = r->xy[2 * k + 1];
        xmin = x < xmin ? x : xmin;
        xmax = x > xmax ? x : xmax;
        ymin = y < ymin ? y : ymin;
        ymax = y > ymax ? y : ymax;
    }
    double x0 = fmax(floor(xmin), 0.0), y0 = fmax(floor(ymin), 0.0);
    double x1 = fmin(ceil(xmax), grid->width), y1 = fmin(ceil(ymax), grid->height);
    if (x1 <= x0 || y1 <= y0)
        return box;
    box = (cr_window){(int)x0, (int)y0, (int)(x1 - x0), (int)(y1 - y0)};
    return box;
}

/* What one load needs across features. */
typedef struct loader {
    cr_ctx *ctx;
    const cr_zonal_opts *opts;
    const cr_grid *grid;
    GEOSContextHandle_t geos;
    GEOSWKBReader *reader;
    GEOSWKBWriter *writer;
    GEOSMakeValidParams *repair;
    OGRCoordinateTransformationH ct; /* NULL when the zones are on the grid's CRS */
    double densify;                  /* longest edge before reprojecting, zone units */
    struct geod_geodesic geod;
    int geographic;
    double unit;                     /* metres per grid unit */
    /* Zones in another CRS are cut to the grid's extent and a margin (in their CRS: one
     * box, two across the antimeridian) before they are densified and reprojected; NULL
     * when that extent cannot be known (then they are reprojected whole). */
    GEOSGeometry *clip;
    cr_bounds clip_box[2];
    int nclip;
    OGRCoordinateTransformationH to_lonlat; /* zones' CRS -> the grid's lon/lat, for areas beyond */
    double a, f;                            /* the grid's ellipsoid */
    cr_bounds extent;                       /* of every zone, in their own CRS */
    double done;                            /* the share of the features read, for progress */
} loader;

static cr_status cancelled(loader *L)
{
    return cr_ctx_fail(L->ctx, CR_E_CANCELLED, "zonal statistics were cancelled");
}

/* What GEOS said when it returned nothing; nothing said is an allocation that failed. */
static const char *geos_reason(const loader *L)
{
    const char *m = cr_ctx_geos_message(L->ctx);
    return *m ? m : "out of memory";
}

/* "Ring Self-intersection[...]": GEOS's reason, copied (GEOS's string is freed here). */
static void invalid_reason(GEOSContextHandle_t h, const GEOSGeometry *g, char *buf, size_t size)
{
    char *reason = GEOSisValidReason_r(h, g);
    snprintf(buf, size, "%s", reason ? reason : "?");
    cr_flatten_line(buf);
    GEOSFree_r(h, reason);
}

/* The MultiPolygon of rings xy / ring_end (not closed), each from the ring source[i] of
 * b: shells and holes grouped by b's polygons again. NULL when out of memory or GEOS
 * fails. */
static GEOSGeometry *polygons_of(GEOSContextHandle_t h, const ring_buf *b, const double *xy,
                                 const int *ring_end, const int *source, int nrings)
{
    GEOSGeometry **polys = malloc((size_t)(nrings ? nrings : 1) * sizeof *polys);
    GEOSGeometry **holes = malloc((size_t)(nrings ? nrings : 1) * sizeof *holes);
    int npolys = 0, ok = polys && holes;
    for (int i = 0; ok && i < nrings;) {
        /* Ring i is a shell (a hole whose shell went is dropped with it). */
        int part = b->part[source[i]], nholes = 0;
        GEOSGeometry *shell = NULL;
        for (; ok && i < nrings && b->part[source[i]] == part; i++) {
            int start = i ? ring_end[i - 1] : 0, n = ring_end[i] - start;
            double *closed = malloc((size_t)(n + 1) * 2 * sizeof *closed);
            GEOSCoordSequence *seq = NULL;
            if (closed) {
                memcpy(closed, xy + 2 * (size_t)start, (size_t)n * 2 * sizeof *closed);
                closed[2 * n] = closed[0];
                closed[2 * n + 1] = closed[1];
                seq = GEOSCoordSeq_copyFromBuffer_r(h, closed, (unsigned)(n + 1), 0, 0);
            }
            free(closed);
            GEOSGeometry *ring = seq ? GEOSGeom_createLinearRing_r(h, seq) : NULL;
            ok = ring != NULL;
            if (!ok)
                break;
            if (b->sign[source[i]] > 0 && !shell)
                shell = ring;
            else if (shell)
                holes[nholes++] = ring;
            else
                GEOSGeom_destroy_r(h, ring);
        }
        if (ok && shell) {
            GEOSGeometry *poly = GEOSGeom_createPolygon_r(h, shell, holes, (unsigned)nholes);
            ok = poly != NULL;
            if (ok)
                polys[npolys++] = poly;
        } else {
            if (shell)
                GEOSGeom_destroy_r(h, shell);
            for (int k = 0; k < nholes; k++)
                GEOSGeom_destroy_r(h, holes[k]);
        }
    }
    GEOSGeometry *out = NULL;
    if (ok)
        out = GEOSGeom_createCollection_r(h, GEOS_MULTIPOLYGON, polys, (unsigned)npolys);
    else
        for (int k = 0; polys && k < npolys; k++)
            GEOSGeom_destroy_r(h, polys[k]);
    free(polys);
    free(holes);
    return out;
}

/* Repairs *geom (invalid) in place with GEOS MakeValid's structure method, which keeps
 * the area every ring encloses (shells unioned, holes taken out): for a self-intersecting
 * ring, every region it goes round. Its cost follows the nodes it must add; a zone with
 * more than CR_REPAIR_MAX_CROSSINGS of them is first simplified (halving its vertices by
 * effective area until it has few enough), so that no zone costs more than that, and the
 * warning says so. Cancellable between those steps; the repair itself is not (GEOS 3.11
 * can only be interrupted process-wide), which its bound makes acceptable. *repaired is
 * set, with a warning, when the zone as drawn was invalid (drawn); a zone that only our
 * cut and reprojection made invalid (two parts meeting at the antimeridian, densified
 * edges that came to cross) is repaired quietly. */
static cr_status repair(loader *L, GEOSGeometry **geom, const char *who, int drawn, int *repaired)
{
    GEOSContextHandle_t h = L->geos;
    char reason[512];
    invalid_reason(h, *geom, reason, sizeof reason);
    if (strncmp(reason, "Invalid Coordinate", 18) == 0) /* NaN or infinite: no place to repair */
        return cr_ctx_fail(L->ctx, CR_E_DATA, "zones '%s': %s has a coordinate that is not a "
                           "finite number (%s)", L->opts->zones_path, who, reason);
    ring_buf b = {0};
    if (!add_rings(h, *geom, NULL, &b)) {
        ring_buf_free(&b);
        return cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
    }
    cr_rings r = {b.xy, b.ring_end, b.sign, b.nrings};
    int64_t budget = ((int64_t)1 << 25) + 64 * (int64_t)b.npoints;
    int64_t crossings = cr_rings_crossings(&r, CR_REPAIR_MAX_CROSSINGS, budget);
    int64_t counted = crossings; /* -1: too many edges meet to count them within the budget */
    int from = GEOSGetNumCoordinates_r(h, *geom), to = from, simplified = 0;
    double *xy = NULL;
    int *ring_end = NULL, *source = NULL, nrings = b.nrings, npoints = b.npoints;
    while (crossings < 0 || crossings > CR_REPAIR_MAX_CROSSINGS) {
        if (!cr_ctx_progress(L->ctx, L->done, NULL)) {
            free(xy), free(ring_end), free(source), ring_buf_free(&b);
            return cancelled(L);
        }
        /* Thin the original rings to half the vertices of the last attempt. */
        free(xy), free(ring_end), free(source);
        cr_rings all = {b.xy, b.ring_end, b.sign, b.nrings};
        nrings = cr_rings_thin(&all, npoints / 2, &xy, &ring_end, &source);
        if (nrings < 0) {
            ring_buf_free(&b);
            return cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
        }
        npoints = nrings ? ring_end[nrings - 1] : 0;
        signed char *sign = malloc((size_t)(nrings ? nrings : 1));
        if (!sign) {
            free(xy), free(ring_end), free(source), ring_buf_free(&b);
            return cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
        }
        for (int i = 0; i < nrings; i++)
            sign[i] = b.sign[source[i]];
        cr_rings thin = {xy, ring_end, sign, nrings};
        crossings = npoints < 4 ? 0 : cr_rings_crossings(&thin, CR_REPAIR_MAX_CROSSINGS, budget);
        free(sign);
    }
    if (xy) {
        GEOSGeometry *thin = polygons_of(h, &b, xy, ring_end, source, nrings);
        free(xy), free(ring_end), free(source);
        if (!thin) {
            ring_buf_free(&b);
            return cr_ctx_fail(L->ctx, CR_E_DATA, "zones '%s': %s is invalid (%s) and cannot be "
                               "simplified: %s", L->opts->zones_path, who, reason,
                               geos_reason(L));
        }
        simplified = 1;
        to = GEOSGetNumCoordinates_r(h, thin);
        GEOSGeom_destroy_r(h, *geom);
        *geom = thin;
    }
    ring_buf_free(&b);
    if (!cr_ctx_progress(L->ctx, L->done, NULL))
        return cancelled(L);
    GEOSGeometry *valid = GEOSMakeValidWithParams_r(h, *geom, L->repair);
    GEOSGeometry *poly = valid ? polygonal_parts(h, valid) : NULL;
    if (valid)
        GEOSGeom_destroy_r(h, valid);
    if (!poly)
        return cr_ctx_fail(L->ctx, CR_E_DATA, "zones '%s': %s is invalid (%s) and cannot be "
                           "repaired: %s", L->opts->zones_path, who, reason, geos_reason(L));
    GEOSGeom_destroy_r(h, *geom);
    *geom = poly;
    if (simplified && counted < 0)
        cr_ctx_log(L->ctx, CR_LOG_WARNING, "zones '%s': %s is invalid (%s) and has too many "
                   "edges crossing to count; simplified from %d to %d vertices, then repaired "
                   "with GEOS MakeValid", L->opts->zones_path, who, reason, from, to);
    else if (simplified)
        cr_ctx_log(L->ctx, CR_LOG_WARNING, "zones '%s': %s is invalid (%s) and crosses itself "
                   "more than %d times; simplified from %d to %d vertices, then repaired with "
                   "GEOS MakeValid", L->opts->zones_path, who, reason, CR_REPAIR_MAX_CROSSINGS,
                   from, to);
    else if (drawn)
        cr_ctx_log(L->ctx, CR_LOG_WARNING, "zones '%s': %s is invalid (%s); repaired with GEOS "
                   "MakeValid", L->opts->zones_path, who, reason);
    else
        cr_ctx_log(L->ctx, CR_LOG_DEBUG, "zones '%s': %s became invalid once cut and "
                   "reprojected (%s); repaired", L->opts->zones_path, who, reason);
    *repaired |= drawn || simplified;
    return CR_OK;
}

/* An OGR geometry as a GEOS one (NULL when GEOS cannot read it). */
static GEOSGeometry *ogr_to_geos(loader *L, OGRGeometryH g)
{
    size_t size = (size_t)OGR_G_WkbSize(g);
    unsigned char *wkb = malloc(size ? size : 1);
    if (!wkb)
        return NULL;
    OGR_G_ExportToWkb(g, wkbNDR, wkb);
    GEOSGeometry *geom = GEOSWKBReader_read_r(L->geos, L->reader, wkb, size);
    free(wkb);
    return geom;
}

/* Densifies g (zone units) and reprojects it to the grid's CRS, in place. */
static cr_status reproject(loader *L, GEOSGeometry **geom, const char *who)
{
    size_t size = 0;
    unsigned char *wkb = GEOSWKBWriter_write_r(L->geos, L->writer, *geom, &size);
    OGRGeometryH g = NULL;
    if (wkb)
        OGR_G_CreateFromWkbEx(wkb, NULL, &g, size);
    GEOSFree_r(L->geos, wkb);
    if (!g)
        return cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
    OGR_G_Segmentize(g, L->densify);
    cr_gdal_begin(L->ctx);
    OGRErr err = OGR_G_Transform(g, L->ct);
    cr_gdal_end(L->ctx);
    if (err != OGRERR_NONE) {
        OGR_G_DestroyGeometry(g);
        return cr_ctx_fail(L->ctx, CR_E_DATA, "zones '%s': %s cannot be reprojected to the grid's CRS",
                           L->opts->zones_path, who);
    }
    GEOSGeometry *out = ogr_to_geos(L, g);
    OGR_G_DestroyGeometry(g);
    if (!out)
        return cr_ctx_fail(L->ctx, CR_E_DATA, "zones '%s': %s: GEOS cannot read the reprojected "
                           "geometry: %s", L->opts->zones_path, who, cr_ctx_geos_message(L->ctx));
    GEOSGeom_destroy_r(L->geos, *geom);
    *geom = out;
    return CR_OK;
}

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
            cr_gdal_begin(L->ctx);
            done = OCTTransformEx(ct, (int)m, x, y, NULL, ok);
            cr_gdal_end(L->ctx);
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
    ring_buf b = {0};
    double area = NAN;
    if (add_rings(L->geos, g, NULL, &b)) {
        double step = fmax(L->densify, perimeter(b.xy, b.ring_end, b.nrings) / 65536.0);
        area = rings_area(L, b.xy, b.ring_end, b.sign, b.nrings, step, L->to_lonlat);
    }
    ring_buf_free(&b);
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
    const double *gt = L->grid->gt;
    for (int k = 0; k < npoints; k++) {
        ll[2 * k] = gt[0] + r->xy[2 * k] * gt[1];
        ll[2 * k + 1] = gt[3] + r->xy[2 * k + 1] * gt[5];
    }
    double step = fmax(fabs(gt[1]), perimeter(ll, r->ring_end, r->nrings) / 65536.0);
    double area = rings_area(L, ll, r->ring_end, r->sign, r->nrings, step, NULL);
    free(ll);
    return area;
}

/* 1 when the box lies within the clipping boxes (then the zone is not cut). */
static int within_clip(const loader *L, const GEOSGeometry *g)
{
    double x0, y0, x1, y1;
    if (!GEOSGeom_getXMin_r(L->geos, g, &x0) || !GEOSGeom_getYMin_r(L->geos, g, &y0) ||
        !GEOSGeom_getXMax_r(L->geos, g, &x1) || !GEOSGeom_getYMax_r(L->geos, g, &y1))
        return 1; /* empty */
    for (int i = 0; i < L->nclip; i++) {
        const cr_bounds *c = &L->clip_box[i];
        if (x0 >= c->xmin && x1 <= c->xmax && y0 >= c->ymin && y1 <= c->ymax)
            return 1;
    }
    return 0;
}

/* Cuts *geom (valid, in the zones' CRS) to the clipping boxes and returns the ellipsoidal
 * area of what lay beyond them in *beyond. */
static cr_status cut_to_grid(loader *L, GEOSGeometry **geom, const char *who, double *beyond)
{
    GEOSGeometry *outside = GEOSDifference_r(L->geos, *geom, L->clip);
    GEOSGeometry *inside = outside ? GEOSIntersection_r(L->geos, *geom, L->clip) : NULL;
    GEOSGeometry *poly = inside ? polygonal_parts(L->geos, inside) : NULL;
    *beyond = outside ? ellipsoid_area(L, outside) : NAN;
    if (outside)
        GEOSGeom_destroy_r(L->geos, outside);
    if (inside)
        GEOSGeom_destroy_r(L->geos, inside);
    if (!poly || !isfinite(*beyond)) {
        if (poly)
            GEOSGeom_destroy_r(L->geos, poly);
        return cr_ctx_fail(L->ctx, CR_E_DATA, "zones '%s': %s reaches far beyond the grid and "
                           "cannot be cut to its extent%s%s", L->opts->zones_path, who,
                           *cr_ctx_geos_message(L->ctx) ? ": " : "", cr_ctx_geos_message(L->ctx));
    }
    GEOSGeom_destroy_r(L->geos, *geom);
    *geom = poly;
    return CR_OK;
}

/* Turns the feature's geometry into zone z; an unusable one fails with a message. */
static cr_status load_feature(loader *L, OGRFeatureH f, int64_t index, cr_zones *zones)
{
    cr_zone *z = &zones->zone[index];
    char who[256];
    describe_feature(f, index, L->opts, who, sizeof who);
    OGRGeometryH g0 = OGR_F_GetGeometryRef(f);
    if (!g0 || OGR_G_IsEmpty(g0)) {
        zones->empty++;
        z->empty = 1;
        cr_ctx_log(L->ctx, CR_LOG_WARNING, "zones '%s': %s has %s geometry; its statistics are null",
                   L->opts->zones_path, who, g0 ? "an empty" : "no");
        return CR_OK;
    }
    OGRwkbGeometryType type = wkbFlatten(OGR_G_GetGeometryType(g0));
    if (type != wkbPolygon && type != wkbMultiPolygon && type != wkbCurvePolygon &&
        type != wkbMultiSurface)
        return cr_ctx_fail(L->ctx, CR_E_DATA, "zones '%s': %s is a %s; zones must be polygons",
                           L->opts->zones_path, who, OGRGeometryTypeToName(type));
    OGRGeometryH g = (type == wkbCurvePolygon || type == wkbMultiSurface)
                         ? OGR_G_GetLinearGeometry(g0, 0, NULL)
                         : OGR_G_Clone(g0);
    if (!g)
        return cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
    OGR_G_FlattenTo2D(g);
    OGREnvelope env;
    OGR_G_GetEnvelope(g, &env);
    L->extent.xmin = fmin(L->extent.xmin, env.MinX), L->extent.xmax = fmax(L->extent.xmax, env.MaxX);
    L->extent.ymin = fmin(L->extent.ymin, env.MinY), L->extent.ymax = fmax(L->extent.ymax, env.MaxY);
    GEOSGeometry *geom = ogr_to_geos(L, g);
    OGR_G_DestroyGeometry(g);
    if (!geom)
        return cr_ctx_fail(L->ctx, CR_E_DATA, "zones '%s': %s: GEOS cannot read the geometry: %s",
                           L->opts->zones_path, who, cr_ctx_geos_message(L->ctx));
    /* Repaired where it was drawn, before densifying multiplies its vertices; cut to the
     * grid before reprojecting, so that a zone of a continent costs what its part over
     * the grid does. */
    cr_status st = CR_OK;
    int cut = 0;
    double beyond = 0.0;
    if (GEOSisValid_r(L->geos, geom) != 1)
        st = repair(L, &geom, who, 1, &z->repaired);
    if (st == CR_OK && L->ct && L->clip && !within_clip(L, geom)) {
        cut = 1;
        st = cut_to_grid(L, &geom, who, &beyond);
    }
    if (st == CR_OK && L->ct && !GEOSisEmpty_r(L->geos, geom)) {
        st = reproject(L, &geom, who);
        /* Parts cut at the antimeridian meet again, and densified edges may come to cross
         * where the straight ones did not. */
        if (st == CR_OK && GEOSisValid_r(L->geos, geom) != 1)
            st = repair(L, &geom, who, 0, &z->repaired);
    }
    if (st != CR_OK) {
        GEOSGeom_destroy_r(L->geos, geom);
        return st;
    }
    zones->repaired += z->repaired;
    ring_buf b = {0};
    int ok = add_rings(L->geos, geom, L->grid, &b);
    GEOSGeom_destroy_r(L->geos, geom);
    if (ok && b.npoints > 0 && b.npoints < b.cap_points) {
        /* Every zone stays in memory for the whole run: keep no slack. */
        double *fit = realloc(b.xy, (size_t)b.npoints * 2 * sizeof *fit);
        b.xy = fit ? fit : b.xy;
    }
    free(b.part);
    z->rings = (cr_rings){b.xy, b.ring_end, b.sign, b.nrings};
    if (!ok)
        return cr_ctx_fail(L->ctx, CR_E_IO, "zones '%s': %s: cannot read its coordinates",
                           L->opts->zones_path, who);
    if (b.nrings == 0 && !(cut && beyond > 0.0)) {
        zones->empty++;
        z->empty = 1;
        cr_ctx_log(L->ctx, CR_LOG_WARNING, "zones '%s': %s has no area; its statistics are null",
                   L->opts->zones_path, who);
        return CR_OK;
    }
    double cell = fabs(L->grid->gt[1] * L->grid->gt[5]);
    z->area_m2 = L->geographic ? lonlat_area(L, &z->rings)
                               : cr_rings_area(&z->rings) * cell * L->unit * L->unit;
    z->area_m2 += beyond;
    z->box = zone_box(&z->rings, L->grid);
    return CR_OK;
}

/* Fails when the layer gives nothing to report on: no feature, no geometry, or no zone
 * that meets the grid (zones of another place, or in another CRS than they declare).
 * Single zones without geometry or outside the grid are kept with null statistics. */
static cr_status check_usable(const loader *L, const char *layer, const char *grid_path,
                              const cr_zones *z)
{
    cr_ctx *ctx = L->ctx;
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
    cr_bounds e = L->extent, g = cr_grid_bounds(L->grid);
    cr_gdal_begin(L->ctx);
    int ok = !L->ct || OCTTransformBounds(L->ct, L->extent.xmin, L->extent.ymin, L->extent.xmax,
                                          L->extent.ymax, &e.xmin, &e.ymin, &e.xmax, &e.ymax, 21);
    cr_gdal_end(L->ctx);
    if (!ok)
        return cr_ctx_fail(ctx, CR_E_DATA, "%s", what);
    return cr_fail_apart(ctx, what, &e, "the grid's", &g, " (in the grid's CRS)");
}

/* The length, in the zones' units, of one grid cell near the grid's centre. */
static double cell_in_zone_units(OGRCoordinateTransformationH inverse, const cr_grid *grid)
{
    double cx = grid->gt[0] + grid->gt[1] * grid->width / 2.0;
    double cy = grid->gt[3] + grid->gt[5] * grid->height / 2.0;
    double x[2] = {cx, cx + grid->gt[1]}, y[2] = {cy, cy + grid->gt[5]};
    int ok[2] = {0, 0};
    if (!inverse || !OCTTransformEx(inverse, 2, x, y, NULL, ok) || !ok[0] || !ok[1])
        return 0.0;
    return hypot(x[1] - x[0], y[1] - y[0]) / sqrt(2.0);
}

static GEOSGeometry *box_polygon(GEOSContextHandle_t h, const cr_bounds *b)
{
    double xy[10] = {b->xmin, b->ymin, b->xmax, b->ymin, b->xmax, b->ymax,
                     b->xmin, b->ymax, b->xmin, b->ymin};
    GEOSCoordSequence *seq = GEOSCoordSeq_copyFromBuffer_r(h, xy, 5, 0, 0);
    GEOSGeometry *ring = seq ? GEOSGeom_createLinearRing_r(h, seq) : NULL;
    return ring ? GEOSGeom_createPolygon_r(h, ring, NULL, 0) : NULL;
}

/* The boxes, in the zones' CRS, that zones in another CRS are cut to: the grid's extent
 * there (its edges densified), with a margin of a tenth of its size and two cells, so
 * that the cut runs outside the grid once reprojected. Across the antimeridian of a
 * geographic CRS, two boxes. Leaves L->clip NULL when the extent cannot be had (zones
 * are then reprojected whole, as they are drawn). */
static void clip_boxes(loader *L, OGRCoordinateTransformationH inverse, OGRSpatialReferenceH zone_srs)
{
    cr_bounds g = cr_grid_bounds(L->grid), b;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    int ok = OCTTransformBounds(inverse, g.xmin, g.ymin, g.xmax, g.ymax, &b.xmin, &b.ymin, &b.xmax,
                                &b.ymax, 21);
    CPLPopErrorHandler();
    if (!ok || !isfinite(b.xmin) || !isfinite(b.xmax) || !isfinite(b.ymin) || !isfinite(b.ymax))
        return;
    int geographic = OSRIsGeographic(zone_srs), across = b.xmin > b.xmax;
    if (across && !geographic)
        return;
    double width = across ? b.xmax + 360.0 - b.xmin : b.xmax - b.xmin;
    double margin = 0.1 * fmax(width, b.ymax - b.ymin) + 2.0 * L->densify;
    b.xmin -= margin, b.xmax += margin, b.ymin -= margin, b.ymax += margin;
    if (geographic) {
        b.ymin = fmax(b.ymin, -90.0), b.ymax = fmin(b.ymax, 90.0);
        if (width + 2.0 * margin >= 360.0)
            return; /* the grid goes round the world: nothing to cut */
    }
    L->clip_box[0] = b;
    L->nclip = 1;
    if (across) {
        L->clip_box[0].xmax = 180.0;
        L->clip_box[1] = (cr_bounds){-180.0, b.ymin, b.xmax, b.ymax};
        L->nclip = 2;
    }
    GEOSGeometry *parts[2] = {NULL, NULL};
    for (int i = 0; i < L->nclip; i++)
        parts[i] = box_polygon(L->geos, &L->clip_box[i]);
    if (!parts[0] || (L->nclip == 2 && !parts[1])) {
        for (int i = 0; i < 2; i++)
            if (parts[i])
                GEOSGeom_destroy_r(L->geos, parts[i]);
        L->nclip = 0;
        return;
    }
    L->clip = L->nclip == 1 ? parts[0]
                            : GEOSGeom_createCollection_r(L->geos, GEOS_MULTIPOLYGON, parts, 2);
    if (!L->clip)
        L->nclip = 0;
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
    L.ctx = ctx;
    L.opts = opts;
    L.grid = grid;
    L.geos = cr_ctx_geos(ctx);
    L.unit = 1.0;
    L.extent = (cr_bounds){INFINITY, INFINITY, -INFINITY, -INFINITY};
    OGRSpatialReferenceH grid_srs = cr_srs_from_wkt(grid->crs_wkt), zone_srs = NULL, lonlat = NULL;
    OGRCoordinateTransformationH inverse = NULL;
    if ((st = cr_zones_layer(ctx, ds, opts, &layer)) != CR_OK)
        goto done;
    OGRSpatialReferenceH layer_srs = OGR_L_GetSpatialRef(layer);
    if (!layer_srs) {
        st = cr_ctx_fail(ctx, CR_E_DATA, "zones '%s' layer '%s' have no CRS; assign one (e.g. "
                                         "ogr2ogr -a_srs EPSG:4326)",
                         opts->zones_path, OGR_L_GetName(layer));
        goto done;
    }
    if (!grid_srs) {
        st = cr_ctx_fail(ctx, CR_E_DATA, "the analysis grid's CRS cannot be read");
        goto done;
    }
    zone_srs = OSRClone(layer_srs);
    OSRSetAxisMappingStrategy(zone_srs, OAMS_TRADITIONAL_GIS_ORDER);
    L.geographic = OSRIsGeographic(grid_srs);
    L.a = OSRGetSemiMajor(grid_srs, NULL);
    double inverse_flattening = OSRGetInvFlattening(grid_srs, NULL);
    L.f = inverse_flattening > 0.0 ? 1.0 / inverse_flattening : 0.0; /* 0: a sphere */
    if (L.geographic)
        geod_init(&L.geod, L.a, L.f);
    else
        L.unit = OSRGetLinearUnits(grid_srs, NULL);
    if (!OSRIsSame(zone_srs, grid_srs)) {
        cr_gdal_begin(ctx);
        L.ct = OCTNewCoordinateTransformation(zone_srs, grid_srs);
        inverse = L.ct ? OCTNewCoordinateTransformation(grid_srs, zone_srs) : NULL;
        if ((lonlat = OSRCloneGeogCS(grid_srs)) != NULL) {
            OSRSetAxisMappingStrategy(lonlat, OAMS_TRADITIONAL_GIS_ORDER);
            L.to_lonlat = OCTNewCoordinateTransformation(zone_srs, lonlat);
        }
        cr_gdal_end(ctx);
        L.densify = cell_in_zone_units(inverse, grid);
        if (!L.ct || !(L.densify > 0.0)) {
            st = cr_ctx_fail(ctx, CR_E_DATA, "zones '%s': no transformation from their CRS to the grid's",
                             opts->zones_path);
            goto done;
        }
        if (L.to_lonlat)
            clip_boxes(&L, inverse, zone_srs);
    }
    if ((st = row_areas(ctx, grid, grid_srs, L.geographic ? &L.geod : NULL, &out->cell_area_m2)) !=
        CR_OK)
        goto done;
    L.reader = GEOSWKBReader_create_r(L.geos);
    L.writer = GEOSWKBWriter_create_r(L.geos);
    L.repair = GEOSMakeValidParams_create_r(L.geos);
    if (L.repair && (!GEOSMakeValidParams_setMethod_r(L.geos, L.repair, GEOS_MAKE_VALID_STRUCTURE) ||
                     !GEOSMakeValidParams_setKeepCollapsed_r(L.geos, L.repair, 0))) {
        st = cr_ctx_fail(ctx, CR_E_IO, "GEOS cannot set up its repair: %s", cr_ctx_geos_message(ctx));
        goto done;
    }
    /* GDAL's readers speak while reading (GeoJSON's "Non closed ring detected"): their
     * warnings go to the log, an error that ends the reading fails it. */
    cr_gdal_begin(ctx);
    GIntBig n = OGR_L_GetFeatureCount(layer, 1);
    OGR_L_ResetReading(layer);
    cr_gdal_end(ctx);
    size_t cap = n > 0 ? (size_t)n : 16;
    out->zone = calloc(cap, sizeof *out->zone);
    if (!L.reader || !L.writer || !L.repair || !out->zone) {
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        goto done;
    }
    for (;;) {
        cr_gdal_begin(ctx);
        OGRFeatureH f = OGR_L_GetNextFeature(layer);
        cr_gdal_end(ctx);
        if (!f) {
            if (*cr_gdal_message(ctx))
                st = cr_ctx_fail_gdal(ctx, CR_E_DATA, "cannot read the features of zones '%s'",
                                      opts->zones_path);
            if (st != CR_OK)
                goto done;
            break;
        }
        if ((size_t)out->count == cap) {
            cr_zone *grown = realloc(out->zone, cap * 2 * sizeof *grown);
            if (!grown) {
                OGR_F_Destroy(f);
                st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
                goto done;
            }
            memset(grown + cap, 0, cap * sizeof *grown);
            out->zone = grown;
            cap *= 2;
        }
        st = load_feature(&L, f, out->count, out);
        out->count++;
        OGR_F_Destroy(f);
        L.done = n > 0 ? fmin((double)out->count / (double)n, 1.0) : 0.0;
        if (st == CR_OK && !cr_ctx_progress(ctx, L.done, NULL))
            st = cancelled(&L);
        if (st != CR_OK)
            goto done;
    }
    st = check_usable(&L, OGR_L_GetName(layer), grid_path, out);
done:
    if (L.reader)
        GEOSWKBReader_destroy_r(L.geos, L.reader);
    if (L.writer)
        GEOSWKBWriter_destroy_r(L.geos, L.writer);
    if (L.repair)
        GEOSMakeValidParams_destroy_r(L.geos, L.repair);
    if (L.clip)
        GEOSGeom_destroy_r(L.geos, L.clip);
    if (L.ct)
        OCTDestroyCoordinateTransformation(L.ct);
    if (L.to_lonlat)
        OCTDestroyCoordinateTransformation(L.to_lonlat);
    if (inverse)
        OCTDestroyCoordinateTransformation(inverse);
    if (lonlat)
        OSRDestroySpatialReference(lonlat);
    if (zone_srs)
        OSRDestroySpatialReference(zone_srs);
    if (grid_srs)
        OSRDestroySpatialReference(grid_srs);
    GDALClose(ds);
    if (st != CR_OK)
        cr_zones_free(out);
    return st;
}
