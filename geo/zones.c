/* zones.c: reading the zones of `cityrisk zonal` onto the analysis grid. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <geodesic.h>
#include <geos_c.h>
#include <ogr_api.h>

#include "internal.h"
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
    OGRLayerH layer = opts->layer ? GDALDatasetGetLayerByName(ds, opts->layer)
                                  : GDALDatasetGetLayer(ds, 0);
    if (!layer) {
        if (opts->layer)
            return cr_ctx_fail(ctx, CR_E_USAGE, "zones '%s' have no layer '%s'",
                               opts->zones_path, opts->layer);
        return cr_ctx_fail(ctx, CR_E_DATA, "zones '%s' have no layer", opts->zones_path);
    }
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
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

/* The polygons of a repaired geometry: MakeValid may return a collection that also
 * holds lines and points where the input collapsed. Returns a new geometry or NULL. */
static GEOSGeometry *polygonal_parts(GEOSContextHandle_t h, const GEOSGeometry *g)
{
    int type = GEOSGeomTypeId_r(h, g);
    if (type == GEOS_POLYGON || type == GEOS_MULTIPOLYGON)
        return GEOSGeom_clone_r(h, g);
    int n = GEOSGetNumGeometries_r(h, g);
    GEOSGeometry **parts = malloc((size_t)(n > 0 ? n : 1) * sizeof *parts);
    if (!parts)
        return NULL;
    int k = 0;
    for (int i = 0; i < n; i++) {
        const GEOSGeometry *part = GEOSGetGeometryN_r(h, g, i);
        int t = GEOSGeomTypeId_r(h, part);
        if (t != GEOS_POLYGON && t != GEOS_MULTIPOLYGON)
            continue;
        for (int j = 0; j < GEOSGetNumGeometries_r(h, part); j++)
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
    int npoints, cap_points, nrings, cap_rings;
} ring_buf;

static int add_ring(GEOSContextHandle_t h, const GEOSGeometry *ring, int sign, const cr_grid *grid,
                    ring_buf *b)
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
        b->cap_rings = cap;
    }
    double *xy = b->xy + 2 * (size_t)b->npoints;
    if (!GEOSCoordSeq_copyToBuffer_r(h, seq, xy, 0, 0))
        return 0;
    for (unsigned i = 0; i < n; i++) {
        xy[2 * i] = (xy[2 * i] - grid->gt[0]) / grid->gt[1];
        xy[2 * i + 1] = (xy[2 * i + 1] - grid->gt[3]) / grid->gt[5];
    }
    b->npoints += (int)n;
    b->ring_end[b->nrings] = b->npoints;
    b->sign[b->nrings++] = (signed char)sign;
    return 1;
}

/* The geodesic area (m2) of a polygon given in lon/lat: shells minus holes. */
static double geodesic_area(struct geod_geodesic *geod, const cr_rings *r, const cr_grid *grid)
{
    double total = 0.0;
    for (int i = 0; i < r->nrings; i++) {
        int start = i ? r->ring_end[i - 1] : 0, n = r->ring_end[i] - start;
        double *lat = malloc((size_t)n * sizeof *lat), *lon = malloc((size_t)n * sizeof *lon);
        if (!lat || !lon) {
            free(lat);
            free(lon);
            return NAN;
        }
        for (int k = 0; k < n; k++) {
            lon[k] = grid->gt[0] + r->xy[2 * (start + k)] * grid->gt[1];
            lat[k] = grid->gt[3] + r->xy[2 * (start + k) + 1] * grid->gt[5];
        }
        double area, perimeter;
        geod_polygonarea(geod, lat, lon, n, &area, &perimeter);
        total += r->sign[i] * fabs(area);
        free(lat);
        free(lon);
    }
    return total;
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
    OGRCoordinateTransformationH ct; /* NULL when the zones are on the grid's CRS */
    double densify;                  /* longest edge before reprojecting, zone units */
    struct geod_geodesic geod;
    int geographic;
    double unit;                     /* metres per grid unit */
} loader;

/* Turns the feature's geometry into zone z; an unusable one fails with a message. */
static cr_status load_feature(loader *L, OGRFeatureH f, int64_t index, cr_zones *zones)
{
    cr_zone *z = &zones->zone[index];
    char who[256];
    describe_feature(f, index, L->opts, who, sizeof who);
    OGRGeometryH g0 = OGR_F_GetGeometryRef(f);
    if (!g0 || OGR_G_IsEmpty(g0)) {
        zones->empty++;
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
    if (L->ct) {
        OGR_G_Segmentize(g, L->densify);
        cr_gdal_begin(L->ctx);
        OGRErr err = OGR_G_Transform(g, L->ct);
        cr_gdal_end(L->ctx);
        if (err != OGRERR_NONE) {
            OGR_G_DestroyGeometry(g);
            return cr_ctx_fail(L->ctx, CR_E_DATA,
                               "zones '%s': %s cannot be reprojected to the grid's CRS",
                               L->opts->zones_path, who);
        }
    }
    size_t size = (size_t)OGR_G_WkbSize(g);
    unsigned char *wkb = malloc(size ? size : 1);
    if (!wkb) {
        OGR_G_DestroyGeometry(g);
        return cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
    }
    OGR_G_ExportToWkb(g, wkbNDR, wkb);
    OGR_G_DestroyGeometry(g);
    GEOSGeometry *geom = GEOSWKBReader_read_r(L->geos, L->reader, wkb, size);
    free(wkb);
    if (!geom)
        return cr_ctx_fail(L->ctx, CR_E_DATA, "zones '%s': %s: GEOS cannot read the geometry: %s",
                           L->opts->zones_path, who, cr_ctx_geos_message(L->ctx));
    if (GEOSisValid_r(L->geos, geom) != 1) {
        char *reason = GEOSisValidReason_r(L->geos, geom);
        GEOSGeometry *valid = GEOSMakeValid_r(L->geos, geom);
        GEOSGeometry *poly = valid ? polygonal_parts(L->geos, valid) : NULL;
        GEOSGeom_destroy_r(L->geos, geom);
        if (valid)
            GEOSGeom_destroy_r(L->geos, valid);
        if (!poly) {
            GEOSFree_r(L->geos, reason);
            return cr_ctx_fail(L->ctx, CR_E_DATA, "zones '%s': %s is invalid (%s) and cannot be repaired",
                               L->opts->zones_path, who, reason ? reason : "?");
        }
        cr_ctx_log(L->ctx, CR_LOG_WARNING, "zones '%s': %s is invalid (%s); repaired with GEOS MakeValid",
                   L->opts->zones_path, who, reason ? reason : "?");
        GEOSFree_r(L->geos, reason);
        geom = poly;
        z->repaired = 1;
        zones->repaired++;
    }
    ring_buf b = {0};
    int ok = 1;
    int nparts = GEOSGetNumGeometries_r(L->geos, geom);
    for (int i = 0; ok && i < nparts; i++) {
        const GEOSGeometry *part = GEOSGetGeometryN_r(L->geos, geom, i);
        if (GEOSisEmpty_r(L->geos, part))
            continue;
        ok = add_ring(L->geos, GEOSGetExteriorRing_r(L->geos, part), 1, L->grid, &b);
        int holes = GEOSGetNumInteriorRings_r(L->geos, part);
        for (int j = 0; ok && j < holes; j++)
            ok = add_ring(L->geos, GEOSGetInteriorRingN_r(L->geos, part, j), -1, L->grid, &b);
    }
    GEOSGeom_destroy_r(L->geos, geom);
    if (ok && b.npoints > 0 && b.npoints < b.cap_points) {
        /* Every zone stays in memory for the whole run: keep no slack. */
        double *fit = realloc(b.xy, (size_t)b.npoints * 2 * sizeof *fit);
        b.xy = fit ? fit : b.xy;
    }
    z->rings = (cr_rings){b.xy, b.ring_end, b.sign, b.nrings};
    if (!ok)
        return cr_ctx_fail(L->ctx, CR_E_IO, "zones '%s': %s: cannot read its coordinates",
                           L->opts->zones_path, who);
    if (b.nrings == 0) {
        zones->empty++;
        cr_ctx_log(L->ctx, CR_LOG_WARNING, "zones '%s': %s has no area; its statistics are null",
                   L->opts->zones_path, who);
        return CR_OK;
    }
    double cell = fabs(L->grid->gt[1] * L->grid->gt[5]);
    z->area_m2 = L->geographic ? geodesic_area(&L->geod, &z->rings, L->grid)
                               : cr_rings_area(&z->rings) * cell * L->unit * L->unit;
    z->box = zone_box(&z->rings, L->grid);
    return CR_OK;
}

/* Fails when the layer gives nothing to report on: no feature, no geometry, or no zone
 * that meets the grid (zones of another place, or in another CRS than they declare).
 * Single zones without geometry or outside the grid are kept with null statistics. */
static cr_status check_usable(cr_ctx *ctx, const char *path, const char *layer, const cr_grid *grid,
                              const char *grid_path, const cr_zones *z)
{
    if (z->count == 0)
        return cr_ctx_fail(ctx, CR_E_DATA, "zones '%s' layer '%s' have no features", path, layer);
    if (z->empty == z->count)
        return cr_ctx_fail(ctx, CR_E_DATA, "zones '%s' layer '%s': none of the %lld features has "
                           "a polygon", path, layer, (long long)z->count);
    cr_bounds e = {INFINITY, INFINITY, -INFINITY, -INFINITY}; /* the zones', in the grid's CRS */
    const double *gt = grid->gt;
    for (int64_t i = 0; i < z->count; i++) {
        const cr_rings *r = &z->zone[i].rings;
        if (z->zone[i].box.w > 0)
            return CR_OK;
        for (int k = 0; r->nrings && k < r->ring_end[r->nrings - 1]; k++) {
            double x = gt[0] + r->xy[2 * k] * gt[1], y = gt[3] + r->xy[2 * k + 1] * gt[5];
            e.xmin = fmin(e.xmin, x), e.xmax = fmax(e.xmax, x);
            e.ymin = fmin(e.ymin, y), e.ymax = fmax(e.ymax, y);
        }
    }
    char what[2200];
    snprintf(what, sizeof what, "zones '%s' layer '%s': none of the %lld zones overlaps the "
             "analysis grid of '%s'", path, layer, (long long)z->count, grid_path);
    cr_bounds g = cr_grid_bounds(grid);
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
    OGRSpatialReferenceH grid_srs = cr_srs_from_wkt(grid->crs_wkt), zone_srs = NULL;
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
    if (L.geographic)
        geod_init(&L.geod, OSRGetSemiMajor(grid_srs, NULL),
                  1.0 / OSRGetInvFlattening(grid_srs, NULL));
    else
        L.unit = OSRGetLinearUnits(grid_srs, NULL);
    if (!OSRIsSame(zone_srs, grid_srs)) {
        cr_gdal_begin(ctx);
        L.ct = OCTNewCoordinateTransformation(zone_srs, grid_srs);
        inverse = L.ct ? OCTNewCoordinateTransformation(grid_srs, zone_srs) : NULL;
        cr_gdal_end(ctx);
        L.densify = cell_in_zone_units(inverse, grid);
        if (!L.ct || !(L.densify > 0.0)) {
            st = cr_ctx_fail(ctx, CR_E_DATA, "zones '%s': no transformation from their CRS to the grid's",
                             opts->zones_path);
            goto done;
        }
    }
    if ((st = row_areas(ctx, grid, grid_srs, L.geographic ? &L.geod : NULL, &out->cell_area_m2)) !=
        CR_OK)
        goto done;
    L.reader = GEOSWKBReader_create_r(L.geos);
    GIntBig n = OGR_L_GetFeatureCount(layer, 1);
    size_t cap = n > 0 ? (size_t)n : 16;
    out->zone = calloc(cap, sizeof *out->zone);
    if (!L.reader || !out->zone) {
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        goto done;
    }
    OGR_L_ResetReading(layer);
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(layer)) != NULL) {
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
        if (st != CR_OK)
            goto done;
    }
    st = check_usable(ctx, opts->zones_path, OGR_L_GetName(layer), grid, grid_path, out);
done:
    if (L.reader)
        GEOSWKBReader_destroy_r(L.geos, L.reader);
    if (L.ct)
        OCTDestroyCoordinateTransformation(L.ct);
    if (inverse)
        OCTDestroyCoordinateTransformation(inverse);
    if (zone_srs)
        OSRDestroySpatialReference(zone_srs);
    if (grid_srs)
        OSRDestroySpatialReference(grid_srs);
    GDALClose(ds);
    if (st != CR_OK)
        cr_zones_free(out);
    return st;
}
