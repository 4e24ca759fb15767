/* polygons.c: polygons of any OGR source on the analysis grid: each one repaired, cut,
 * densified, reprojected and turned into cell-coordinate rings (the cr_shaper, which
 * zonal's zones use too), and sets of them with a value per polygon and a bucket index,
 * giving per window the exact coverage of each polygon, the coverage-weighted mean of
 * their values, and the covered share of their union (polygons.h). */
#define _POSIX_C_SOURCE 200809L
#include "core/polygons.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdatomic.h>

#include <cpl_error.h>
#include <cpl_string.h>

#include "core/internal.h"

/* ------------------------------------------------------------------------------------ */
/* Geometry helpers */

/* The polygons of a geometry: MakeValid, an intersection or a difference may return a
 * collection that also holds lines and points where the input collapsed or touched.
 * Returns a new MultiPolygon (empty when there is none), or NULL when out of memory. */
GEOSGeometry *cr_geos_polygonal(GEOSContextHandle_t h, const GEOSGeometry *g)
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

void cr_ring_buf_free(cr_ring_buf *b)
{
    free(b->xy);
    free(b->ring_end);
    free(b->sign);
    free(b->part);
    memset(b, 0, sizeof *b);
}

/* Appends a ring, in cell coordinates of grid (as they are when grid is NULL). */
static int add_ring(GEOSContextHandle_t h, const GEOSGeometry *ring, int sign, int part,
                    const cr_grid *grid, cr_ring_buf *b)
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
int cr_ring_buf_add(GEOSContextHandle_t h, const GEOSGeometry *g, const cr_grid *grid,
                    cr_ring_buf *b)
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

cr_rings cr_ring_buf_rings(const cr_ring_buf *b)
{
    return (cr_rings){b->xy, b->ring_end, b->sign, b->nrings};
}

cr_window cr_rings_box(const cr_rings *r, const cr_grid *grid)
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

static cr_status cancelled(cr_shaper *L)
{
    return cr_ctx_fail(L->ctx, CR_E_CANCELLED, "%s", L->cancelled);
}

/* What GEOS said when it returned nothing; nothing said is an allocation that failed. */
static const char *geos_reason(const cr_shaper *L)
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
static GEOSGeometry *polygons_of(GEOSContextHandle_t h, const cr_ring_buf *b, const double *xy,
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
 * ring, every region it goes round. Its cost follows the nodes it must add; a polygon with
 * more than CR_REPAIR_MAX_CROSSINGS of them is first simplified (halving its vertices by
 * effective area until it has few enough), so that no polygon costs more than that, and the
 * warning says so. Cancellable between those steps; the repair itself is not (GEOS 3.11
 * can only be interrupted process-wide), which its bound makes acceptable. *repaired is
 * set, with a warning, when the polygon as drawn was invalid (drawn); a polygon that only our
 * cut and reprojection made invalid (two parts meeting at the antimeridian, densified
 * edges that came to cross) is repaired quietly. */
static cr_status repair(cr_shaper *L, GEOSGeometry **geom, const char *who, int drawn, int *repaired)
{
    GEOSContextHandle_t h = L->geos;
    char reason[512];
    invalid_reason(h, *geom, reason, sizeof reason);
    if (strncmp(reason, "Invalid Coordinate", 18) == 0) /* NaN or infinite: no place to repair */
        return cr_ctx_fail(L->ctx, CR_E_DATA, "%s '%s': %s has a coordinate that is not a "
                           "finite number (%s)", L->what, L->path, who, reason);
    cr_ring_buf b = {0};
    if (!cr_ring_buf_add(h, *geom, NULL, &b)) {
        cr_ring_buf_free(&b);
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
            free(xy), free(ring_end), free(source), cr_ring_buf_free(&b);
            return cancelled(L);
        }
        /* Thin the original rings to half the vertices of the last attempt. */
        free(xy), free(ring_end), free(source);
        cr_rings all = {b.xy, b.ring_end, b.sign, b.nrings};
        nrings = cr_rings_thin(&all, npoints / 2, &xy, &ring_end, &source);
        if (nrings < 0) {
            cr_ring_buf_free(&b);
            return cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
        }
        npoints = nrings ? ring_end[nrings - 1] : 0;
        signed char *sign = malloc((size_t)(nrings ? nrings : 1));
        if (!sign) {
            free(xy), free(ring_end), free(source), cr_ring_buf_free(&b);
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
            cr_ring_buf_free(&b);
            return cr_ctx_fail(L->ctx, CR_E_DATA, "%s '%s': %s is invalid (%s) and cannot be "
                               "simplified: %s", L->what, L->path, who, reason,
                               geos_reason(L));
        }
        simplified = 1;
        to = GEOSGetNumCoordinates_r(h, thin);
        GEOSGeom_destroy_r(h, *geom);
        *geom = thin;
    }
    cr_ring_buf_free(&b);
    if (!cr_ctx_progress(L->ctx, L->done, NULL))
        return cancelled(L);
    GEOSGeometry *valid = GEOSMakeValidWithParams_r(h, *geom, L->repair);
    GEOSGeometry *poly = valid ? cr_geos_polygonal(h, valid) : NULL;
    if (valid)
        GEOSGeom_destroy_r(h, valid);
    if (!poly)
        return cr_ctx_fail(L->ctx, CR_E_DATA, "%s '%s': %s is invalid (%s) and cannot be "
                           "repaired: %s", L->what, L->path, who, reason, geos_reason(L));
    GEOSGeom_destroy_r(h, *geom);
    *geom = poly;
    if (simplified && counted < 0)
        cr_ctx_log(L->ctx, CR_LOG_WARNING, "%s '%s': %s is invalid (%s) and has too many "
                   "edges crossing to count; simplified from %d to %d vertices, then repaired "
                   "with GEOS MakeValid", L->what, L->path, who, reason, from, to);
    else if (simplified)
        cr_ctx_log(L->ctx, CR_LOG_WARNING, "%s '%s': %s is invalid (%s) and crosses itself "
                   "more than %d times; simplified from %d to %d vertices, then repaired with "
                   "GEOS MakeValid", L->what, L->path, who, reason, CR_REPAIR_MAX_CROSSINGS,
                   from, to);
    else if (drawn)
        cr_ctx_log(L->ctx, CR_LOG_WARNING, "%s '%s': %s is invalid (%s); repaired with GEOS "
                   "MakeValid", L->what, L->path, who, reason);
    else
        cr_ctx_log(L->ctx, CR_LOG_DEBUG, "%s '%s': %s became invalid once cut and "
                   "reprojected (%s); repaired", L->what, L->path, who, reason);
    *repaired |= drawn || simplified;
    return CR_OK;
}

/* An OGR geometry as a GEOS one (NULL when GEOS cannot read it). */
static GEOSGeometry *ogr_to_geos(cr_shaper *L, OGRGeometryH g)
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

/* Densifies g (source units) and reprojects it to the grid's CRS, in place. */
static cr_status reproject(cr_shaper *L, GEOSGeometry **geom, const char *who)
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
        return cr_ctx_fail(L->ctx, CR_E_DATA, "%s '%s': %s cannot be reprojected to the grid's CRS",
                           L->what, L->path, who);
    }
    GEOSGeometry *out = ogr_to_geos(L, g);
    OGR_G_DestroyGeometry(g);
    if (!out)
        return cr_ctx_fail(L->ctx, CR_E_DATA, "%s '%s': %s: GEOS cannot read the reprojected "
                           "geometry: %s", L->what, L->path, who, cr_ctx_geos_message(L->ctx));
    GEOSGeom_destroy_r(L->geos, *geom);
    *geom = out;
    return CR_OK;
}

/* 1 when the box lies within the clipping boxes (then the polygon is not cut). */
static int within_clip(const cr_shaper *L, const GEOSGeometry *g)
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

/* Cuts *geom (valid, in the source's CRS) to the clipping boxes; *outside receives what
 * lay beyond them. */
static cr_status cut_to_grid(cr_shaper *L, GEOSGeometry **geom, const char *who,
                             GEOSGeometry **outside)
{
    *outside = GEOSDifference_r(L->geos, *geom, L->clip);
    GEOSGeometry *inside = *outside ? GEOSIntersection_r(L->geos, *geom, L->clip) : NULL;
    GEOSGeometry *poly = inside ? cr_geos_polygonal(L->geos, inside) : NULL;
    if (inside)
        GEOSGeom_destroy_r(L->geos, inside);
    if (!poly) {
        if (*outside)
            GEOSGeom_destroy_r(L->geos, *outside);
        *outside = NULL;
        return cr_shaper_cut_failed(L, who);
    }
    GEOSGeom_destroy_r(L->geos, *geom);
    *geom = poly;
    return CR_OK;
}

/* The length, in the source's units, of one grid cell near the grid's centre. */
static double cell_in_source_units(OGRCoordinateTransformationH inverse, const cr_grid *grid)
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

/* The boxes, in the source's CRS, that polygons in another CRS are cut to: the grid's extent
 * there (its edges densified), with a margin of a tenth of its size and two cells, so
 * that the cut runs outside the grid once reprojected. Across the antimeridian of a
 * geographic CRS, two boxes. Leaves L->clip NULL when the extent cannot be had (polygons
 * are then reprojected whole, as they are drawn). */
static void clip_boxes(cr_shaper *L, OGRCoordinateTransformationH inverse, OGRSpatialReferenceH src_srs)
{
    cr_bounds g = cr_grid_bounds(L->grid), b;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    int ok = OCTTransformBounds(inverse, g.xmin, g.ymin, g.xmax, g.ymax, &b.xmin, &b.ymin, &b.xmax,
                                &b.ymax, 21);
    CPLPopErrorHandler();
    if (!ok || !isfinite(b.xmin) || !isfinite(b.xmax) || !isfinite(b.ymin) || !isfinite(b.ymax))
        return;
    int geographic = OSRIsGeographic(src_srs), across = b.xmin > b.xmax;
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
cr_status cr_shaper_cut_failed(cr_shaper *s, const char *who)
{
    return cr_ctx_fail(s->ctx, CR_E_DATA, "%s '%s': %s reaches far beyond the grid and "
                       "cannot be cut to its extent%s%s", s->what, s->path, who,
                       *cr_ctx_geos_message(s->ctx) ? ": " : "", cr_ctx_geos_message(s->ctx));
}

cr_status cr_shaper_init(cr_ctx *ctx, cr_shaper *s, const char *path, const char *what,
                         const char *layer, OGRSpatialReferenceH layer_srs, const cr_grid *grid)
{
    memset(s, 0, sizeof *s);
    s->ctx = ctx;
    s->path = path;
    s->what = what;
    s->cancelled = "cancelled";
    s->grid = grid;
    s->geos = cr_ctx_geos(ctx);
    if (!layer_srs)
        return cr_ctx_fail(ctx, CR_E_DATA, "%s '%s' layer '%s' have no CRS; assign one (e.g. "
                           "ogr2ogr -a_srs EPSG:4326)", what, path, layer);
    if (!(s->grid_srs = cr_srs_from_wkt(grid->crs_wkt)))
        return cr_ctx_fail(ctx, CR_E_DATA, "the analysis grid's CRS cannot be read");
    s->src_srs = OSRClone(layer_srs);
    if (!s->src_srs)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    OSRSetAxisMappingStrategy(s->src_srs, OAMS_TRADITIONAL_GIS_ORDER);
    if (!OSRIsSame(s->src_srs, s->grid_srs)) {
        cr_gdal_begin(ctx);
        s->ct = OCTNewCoordinateTransformation(s->src_srs, s->grid_srs);
        s->inverse = s->ct ? OCTNewCoordinateTransformation(s->grid_srs, s->src_srs) : NULL;
        cr_gdal_end(ctx);
        s->densify = cell_in_source_units(s->inverse, grid);
        if (!s->ct || !(s->densify > 0.0))
            return cr_ctx_fail(ctx, CR_E_DATA, "%s '%s': no transformation from their CRS to the "
                               "grid's", what, path);
        clip_boxes(s, s->inverse, s->src_srs);
    }
    s->reader = GEOSWKBReader_create_r(s->geos);
    s->writer = GEOSWKBWriter_create_r(s->geos);
    s->repair = GEOSMakeValidParams_create_r(s->geos);
    if (!s->reader || !s->writer || !s->repair)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    if (!GEOSMakeValidParams_setMethod_r(s->geos, s->repair, GEOS_MAKE_VALID_STRUCTURE) ||
        !GEOSMakeValidParams_setKeepCollapsed_r(s->geos, s->repair, 0))
        return cr_ctx_fail(ctx, CR_E_IO, "GEOS cannot set up its repair: %s",
                           cr_ctx_geos_message(ctx));
    return CR_OK;
}

void cr_shaper_release(cr_shaper *s)
{
    if (s->reader)
        GEOSWKBReader_destroy_r(s->geos, s->reader);
    if (s->writer)
        GEOSWKBWriter_destroy_r(s->geos, s->writer);
    if (s->repair)
        GEOSMakeValidParams_destroy_r(s->geos, s->repair);
    if (s->clip)
        GEOSGeom_destroy_r(s->geos, s->clip);
    if (s->ct)
        OCTDestroyCoordinateTransformation(s->ct);
    if (s->inverse)
        OCTDestroyCoordinateTransformation(s->inverse);
    if (s->src_srs)
        OSRDestroySpatialReference(s->src_srs);
    if (s->grid_srs)
        OSRDestroySpatialReference(s->grid_srs);
    memset(s, 0, sizeof *s);
}

cr_status cr_shaper_prepare(cr_shaper *L, OGRGeometryH g0, const char *who, GEOSGeometry **out,
                            int *repaired, GEOSGeometry **outside)
{
    *out = NULL;
    if (outside)
        *outside = NULL;
    OGRwkbGeometryType type = wkbFlatten(OGR_G_GetGeometryType(g0));
    if (type != wkbPolygon && type != wkbMultiPolygon && type != wkbCurvePolygon &&
        type != wkbMultiSurface)
        return cr_ctx_fail(L->ctx, CR_E_DATA, "%s '%s': %s is a %s; %s must be polygons", L->what,
                           L->path, who, OGRGeometryTypeToName(type), L->what);
    OGRGeometryH g = (type == wkbCurvePolygon || type == wkbMultiSurface)
                         ? OGR_G_GetLinearGeometry(g0, 0, NULL)
                         : OGR_G_Clone(g0);
    if (!g)
        return cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
    OGR_G_FlattenTo2D(g);
    GEOSGeometry *geom = ogr_to_geos(L, g);
    OGR_G_DestroyGeometry(g);
    if (!geom)
        return cr_ctx_fail(L->ctx, CR_E_DATA, "%s '%s': %s: GEOS cannot read the geometry: %s",
                           L->what, L->path, who, cr_ctx_geos_message(L->ctx));
    /* Repaired where it was drawn, before densifying multiplies its vertices; cut to the
     * grid before reprojecting, so that a polygon of a continent costs what its part over
     * the grid does. */
    cr_status st = CR_OK;
    GEOSGeometry *beyond = NULL;
    if (GEOSisValid_r(L->geos, geom) != 1)
        st = repair(L, &geom, who, 1, repaired);
    if (st == CR_OK && L->ct && L->clip && !within_clip(L, geom))
        st = cut_to_grid(L, &geom, who, &beyond);
    if (st == CR_OK && L->ct && !GEOSisEmpty_r(L->geos, geom)) {
        st = reproject(L, &geom, who);
        /* Parts cut at the antimeridian meet again, and densified edges may come to cross
         * where the straight ones did not. */
        if (st == CR_OK && GEOSisValid_r(L->geos, geom) != 1)
            st = repair(L, &geom, who, 0, repaired);
    }
    if (st != CR_OK) {
        GEOSGeom_destroy_r(L->geos, geom);
        if (beyond)
            GEOSGeom_destroy_r(L->geos, beyond);
        return st;
    }
    *out = geom;
    if (outside)
        *outside = beyond;
    else if (beyond)
        GEOSGeom_destroy_r(L->geos, beyond);
    return CR_OK;
}

cr_status cr_shaper_next(cr_shaper *s, OGRLayerH layer, OGRFeatureH *out)
{
    cr_gdal_begin(s->ctx);
    *out = OGR_L_GetNextFeature(layer);
    cr_gdal_end(s->ctx);
    if (!*out && *cr_gdal_message(s->ctx))
        return cr_ctx_fail_gdal(s->ctx, CR_E_DATA, "cannot read the features of %s '%s'", s->what,
                                s->path);
    return CR_OK;
}

int cr_holds_polygons(const char *path)
{
    /* Only what cr_check_input_path() lets GDAL open: a pipe would block, a device be read
     * for ever. Folders are vector sources too (a File Geodatabase, Shapefiles). */
    struct stat st;
    if (!path || (strncmp(path, "/vsi", 4) != 0 &&
                  (stat(path, &st) != 0 || access(path, R_OK) != 0 ||
                   !(S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && st.st_size > 0)))))
        return 0;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
    int vector = 0;
    if (ds && GDALGetRasterCount(ds) > 0) {
        GDALClose(ds);
    } else {
        if (ds)
            GDALClose(ds);
        if ((ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL))) {
            vector = GDALDatasetGetLayerCount(ds) > 0;
            GDALClose(ds);
        }
    }
    CPLPopErrorHandler();
    return vector;
}

/* "'a', 'b' and 'c'" into buf: the names of ds's layers. */
static void layer_names(GDALDatasetH ds, char *buf, size_t size)
{
    int n = GDALDatasetGetLayerCount(ds);
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used + 1 < size; i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? " and " : ", ";
        int k = snprintf(buf + used, size - used, "%s'%s'", sep,
                         OGR_L_GetName(GDALDatasetGetLayer(ds, i)));
        if (k < 0)
            break;
        used += (size_t)k;
    }
}

cr_status cr_vector_layer(cr_ctx *ctx, GDALDatasetH ds, const char *path, const char *what,
                          const char *layer, const char *flag, OGRLayerH *out)
{
    *out = NULL;
    cr_gdal_begin(ctx);
    int n = GDALDatasetGetLayerCount(ds);
    OGRLayerH l = layer ? GDALDatasetGetLayerByName(ds, layer) : n == 1 ? GDALDatasetGetLayer(ds, 0)
                                                                        : NULL;
    if (l)
        OGR_L_GetSpatialRef(l); /* some drivers parse the file only now */
    cr_gdal_end(ctx);
    if (*cr_gdal_message(ctx))
        return cr_ctx_fail_gdal(ctx, CR_E_DATA, "cannot read %s '%s'", what, path);
    if (l) {
        *out = l;
        return CR_OK;
    }
    if (n == 0)
        return cr_ctx_fail(ctx, CR_E_DATA, "%s '%s' have no layer", what, path);
    char names[1024];
    layer_names(ds, names, sizeof names);
    if (layer)
        return cr_ctx_fail(ctx, CR_E_USAGE, "%s '%s' have no layer '%s' (layers: %s)", what, path,
                           layer, names);
    return cr_ctx_fail(ctx, CR_E_USAGE, "%s '%s' have %d layers (%s): choose one%s%s", what, path,
                       n, names, flag ? " with " : "", flag ? flag : "");
}

/* ------------------------------------------------------------------------------------ */
/* Polygon sets */

typedef struct polygon {
    cr_rings rings; /* arrays owned */
    cr_window box;
    double value;
    int64_t fid;
    int marked;
    char *key; /* key_field's text, or NULL */
} polygon;

struct cr_polyset {
    atomic_int refs; /* the layers sharing the set (cr_polyset_ref()) */
    polygon *p;
    int64_t n, cap;
    cr_polyset_counts counts;
    /* The bucket index: the polygons whose box meets each bucket of bucket x bucket cells,
     * in polygon order (items[start[b]] .. items[start[b + 1] - 1]). */
    int bucket, bx, by;
    int64_t *start, *items;
};

static void poly_free(polygon *p)
{
    free((void *)p->rings.xy);
    free((void *)p->rings.ring_end);
    free((void *)p->rings.sign);
    free(p->key);
}

cr_polyset *cr_polyset_ref(cr_polyset *set)
{
    atomic_fetch_add(&set->refs, 1);
    return set;
}

void cr_polyset_free(cr_polyset *set)
{
    if (!set || atomic_fetch_sub(&set->refs, 1) > 1)
        return;
    for (int64_t i = 0; i < set->n; i++)
        poly_free(&set->p[i]);
    free(set->p);
    free(set->start);
    free(set->items);
    free(set);
}

const cr_polyset_counts *cr_polyset_counts_of(const cr_polyset *set)
{
    return &set->counts;
}

int64_t cr_polyset_size(const cr_polyset *set)
{
    return set->n;
}

double cr_polyset_value(const cr_polyset *set, int64_t i)
{
    return set->p[i].value;
}

int64_t cr_polyset_fid(const cr_polyset *set, int64_t i)
{
    return set->p[i].fid;
}

const cr_rings *cr_polyset_rings(const cr_polyset *set, int64_t i)
{
    return &set->p[i].rings;
}

cr_window cr_polyset_box(const cr_polyset *set, int64_t i)
{
    return set->p[i].box;
}

const char *cr_polyset_key(const cr_polyset *set, int64_t i)
{
    return set->p[i].key;
}

/* Appends the polygon of geom (grid CRS) to set; returns 0 when out of memory. */
static int add_poly(cr_polyset *set, GEOSContextHandle_t h, const GEOSGeometry *geom,
                    const cr_grid *grid, double value, int64_t fid, int marked)
{
    if (set->n == set->cap) {
        int64_t cap = set->cap ? 2 * set->cap : 64;
        polygon *grown = realloc(set->p, (size_t)cap * sizeof *grown);
        if (!grown)
            return 0;
        set->p = grown;
        set->cap = cap;
    }
    cr_ring_buf b = {0};
    if (!cr_ring_buf_add(h, geom, grid, &b)) {
        cr_ring_buf_free(&b);
        return 0;
    }
    if (b.npoints > 0 && b.npoints < b.cap_points) {
        /* Every polygon stays in memory for the whole run: keep no slack. */
        double *fit = realloc(b.xy, (size_t)b.npoints * 2 * sizeof *fit);
        b.xy = fit ? fit : b.xy;
    }
    free(b.part);
    polygon *p = &set->p[set->n++];
    p->rings = (cr_rings){b.xy, b.ring_end, b.sign, b.nrings};
    p->box = cr_rings_box(&p->rings, grid);
    p->value = value;
    p->fid = fid;
    p->marked = marked;
    p->key = NULL;
    return 1;
}

/* The bucket range (inclusive) of window w. */
static void bucket_range(const cr_polyset *set, const cr_window *w, int *x0, int *y0, int *x1,
                         int *y1)
{
    *x0 = w->x / set->bucket, *y0 = w->y / set->bucket;
    *x1 = (w->x + w->w - 1) / set->bucket, *y1 = (w->y + w->h - 1) / set->bucket;
    *x1 = *x1 < set->bx ? *x1 : set->bx - 1;
    *y1 = *y1 < set->by ? *y1 : set->by - 1;
}

static int build_index(cr_polyset *set, const cr_grid *grid)
{
    set->bucket = CR_BLOCK_SIZE;
    for (;;) {
        set->bx = (grid->width + set->bucket - 1) / set->bucket;
        set->by = (grid->height + set->bucket - 1) / set->bucket;
        if ((int64_t)set->bx * set->by <= (1 << 20))
            break;
        set->bucket *= 2;
    }
    size_t nb = (size_t)set->bx * (size_t)set->by;
    set->start = calloc(nb + 1, sizeof *set->start);
    if (!set->start)
        return 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t i = 0; i < set->n; i++) {
            const cr_window *b = &set->p[i].box;
            if (b->w <= 0 || b->h <= 0)
                continue;
            int x0, y0, x1, y1;
            bucket_range(set, b, &x0, &y0, &x1, &y1);
            for (int y = y0; y <= y1; y++)
                for (int x = x0; x <= x1; x++) {
                    size_t k = (size_t)y * set->bx + x;
                    if (pass == 0)
                        set->start[k + 1]++;
                    else
                        set->items[set->start[k]++] = i;
                }
        }
        if (pass == 0) {
            for (size_t k = 0; k < nb; k++)
                set->start[k + 1] += set->start[k];
            set->items = malloc((size_t)(set->start[nb] ? set->start[nb] : 1) * sizeof *set->items);
            if (!set->items)
                return 0;
        } else {
            /* The fill moved each start to the next bucket's: shift them back. */
            memmove(set->start + 1, set->start, nb * sizeof *set->start);
            set->start[0] = 0;
        }
    }
    return 1;
}

/* "'a', 'b'" into buf: the numeric fields of defn, or "none". */
static void numeric_fields(OGRFeatureDefnH defn, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < OGR_FD_GetFieldCount(defn) && used + 1 < size; i++) {
        OGRFieldDefnH fd = OGR_FD_GetFieldDefn(defn, i);
        OGRFieldType t = OGR_Fld_GetType(fd);
        if (t != OFTInteger && t != OFTInteger64 && t != OFTReal)
            continue;
        int k = snprintf(buf + used, size - used, "%s'%s'", used ? ", " : "", OGR_Fld_GetNameRef(fd));
        if (k < 0)
            break;
        used += (size_t)k;
    }
    if (!used)
        snprintf(buf, size, "none");
}

int cr_vector_numeric_field(OGRFeatureDefnH defn, const char *name)
{
    int k = OGR_FD_GetFieldIndex(defn, name);
    if (k < 0)
        return -1;
    OGRFieldType t = OGR_Fld_GetType(OGR_FD_GetFieldDefn(defn, k));
    return t == OFTInteger || t == OFTInteger64 || t == OFTReal ? k : -1;
}

cr_status cr_vector_field_error(cr_ctx *ctx, OGRLayerH layer, const char *path, const char *what,
                                const char *field, const char *flag)
{
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
    char fields[1024];
    numeric_fields(defn, fields, sizeof fields);
    int exists = OGR_FD_GetFieldIndex(defn, field) >= 0;
    return cr_ctx_fail(ctx, CR_E_USAGE, "%s%s%s '%s' layer '%s' has %s field '%s' (numeric fields: "
                       "%s)", flag ? flag : "", flag ? ": " : "", what, path, OGR_L_GetName(layer),
                       exists ? "no numeric" : "no", field, fields);
}

/* What one load needs across features. */
typedef struct loading {
    cr_polyset *set;
    const cr_polyset_opts *o;
    int field;                /* index, or -1 */
    int key;                  /* key_field's index, or -1 */
    int id;                   /* an id-like field's index (pfaf_id), for messages, or -1 */
    int64_t valued;           /* polygons kept with a value */
    GEOSGeometry **parts;     /* a dissolve's polygons before their union */
    int64_t nparts, cap_parts;
} loading;

static cr_status load_one(cr_shaper *s, loading *ld, OGRFeatureH f)
{
    cr_polyset_counts *c = &ld->set->counts;
    GIntBig fid = OGR_F_GetFID(f);
    char who[64];
    snprintf(who, sizeof who, "feature %lld", (long long)(fid != OGRNullFID ? fid : c->features));
    c->features++;
    OGRGeometryH g0 = OGR_F_GetGeometryRef(f);
    if (!g0 || OGR_G_IsEmpty(g0)) {
        c->empty++;
        return CR_OK;
    }
    double value = NAN;
    cr_poly_class cls = CR_POLY_VALUE;
    int unvalued = 0; /* kept without a value (keep_nodata) */
    if (ld->field >= 0) {
        const char *field = ld->o->field ? ld->o->field : ld->o->default_field;
        if (!OGR_F_IsFieldSetAndNotNull(f, ld->field) ||
            isnan(value = OGR_F_GetFieldAsDouble(f, ld->field))) {
            c->null_value++;
            unvalued = 1;
        } else {
            if (ld->o->classify)
                cls = ld->o->classify(ld->o->classify_arg, f, &value);
            if (cls == CR_POLY_NODATA) {
                c->nodata++;
                unvalued = 1;
            } else if (!isfinite(value)) {
                return cr_ctx_fail(s->ctx, CR_E_DATA, "%s '%s': %s: value %g of field '%s' is "
                                   "not a finite number", s->what, s->path, who, value, field);
            } else if (ld->o->check_range &&
                       (value < ld->o->range_min || value > ld->o->range_max)) {
                char id[160] = "";
                if (ld->id >= 0 && OGR_F_IsFieldSetAndNotNull(f, ld->id))
                    snprintf(id, sizeof id, " (%s %s)",
                             OGR_Fld_GetNameRef(OGR_F_GetFieldDefnRef(f, ld->id)),
                             OGR_F_GetFieldAsString(f, ld->id));
                return cr_ctx_fail(s->ctx, CR_E_DATA, "%s '%s': %s%s: value %.7g of field '%s' "
                                   "is outside %s", s->what, s->path, who, id, value, field,
                                   ld->o->range_text[0] ? ld->o->range_text : "the range of values");
            }
        }
        if (unvalued && !ld->o->keep_nodata)
            return CR_OK;
        if (unvalued) {
            value = NAN;
            cls = CR_POLY_VALUE;
        }
    }
    GEOSGeometry *geom = NULL;
    int repaired = 0;
    cr_status st = cr_shaper_prepare(s, g0, who, &geom, &repaired, NULL);
    if (st != CR_OK)
        return st;
    c->repaired += repaired;
    c->marked += cls == CR_POLY_MARKED;
    if (ld->o->dissolve) {
        if (ld->nparts == ld->cap_parts) {
            int64_t cap = ld->cap_parts ? 2 * ld->cap_parts : 64;
            GEOSGeometry **grown = realloc(ld->parts, (size_t)cap * sizeof *grown);
            if (!grown) {
                GEOSGeom_destroy_r(s->geos, geom);
                return cr_ctx_fail(s->ctx, CR_E_IO, "out of memory");
            }
            ld->parts = grown;
            ld->cap_parts = cap;
        }
        ld->parts[ld->nparts++] = geom;
        return CR_OK;
    }
    int ok = add_poly(ld->set, s->geos, geom, s->grid, value, fid, cls == CR_POLY_MARKED);
    GEOSGeom_destroy_r(s->geos, geom);
    ld->valued += ok && !unvalued;
    if (ok && ld->key >= 0) {
        const char *text = OGR_F_IsFieldSetAndNotNull(f, ld->key) ? OGR_F_GetFieldAsString(f, ld->key)
                                                                  : "";
        ok = (ld->set->p[ld->set->n - 1].key = strdup(text)) != NULL;
    }
    return ok ? CR_OK : cr_ctx_fail(s->ctx, CR_E_IO, "out of memory");
}

/* The union of the polygons kept (overlaps once), its polygons the set's. */
static cr_status dissolve(cr_shaper *s, loading *ld)
{
    GEOSContextHandle_t h = s->geos;
    GEOSGeometry *all = GEOSGeom_createCollection_r(h, GEOS_GEOMETRYCOLLECTION, ld->parts,
                                                    (unsigned)ld->nparts);
    if (!all)
        return cr_ctx_fail(s->ctx, CR_E_IO, "out of memory");
    ld->nparts = 0; /* the collection owns them */
    GEOSGeometry *u = GEOSUnaryUnion_r(h, all);
    GEOSGeom_destroy_r(h, all);
    GEOSGeometry *merged = u ? cr_geos_polygonal(h, u) : NULL;
    if (u)
        GEOSGeom_destroy_r(h, u);
    if (!merged)
        return cr_ctx_fail(s->ctx, CR_E_DATA, "%s '%s': GEOS cannot make the union of the "
                           "polygons: %s", s->what, s->path, cr_ctx_geos_message(s->ctx));
    int n = GEOSGetNumGeometries_r(h, merged), ok = 1;
    for (int i = 0; ok && i < n; i++)
        ok = add_poly(ld->set, h, GEOSGetGeometryN_r(h, merged, i), s->grid, NAN, -1, 0);
    GEOSGeom_destroy_r(h, merged);
    return ok ? CR_OK : cr_ctx_fail(s->ctx, CR_E_IO, "out of memory");
}

/* The field of defn that names its features, for messages: pfaf_id (Aqueduct's basins),
 * else the first whose name is "id" or ends in "_id" (case aside); -1 when none. */
static int id_field(OGRFeatureDefnH defn)
{
    int k = OGR_FD_GetFieldIndex(defn, "pfaf_id");
    if (k >= 0)
        return k;
    for (int i = 0; i < OGR_FD_GetFieldCount(defn); i++) {
        const char *name = OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, i));
        size_t n = strlen(name);
        if (strcasecmp(name, "id") == 0 || (n > 3 && strcasecmp(name + n - 3, "_id") == 0))
            return i;
    }
    return -1;
}

/* Fails, giving both extents, when opts->must_meet_grid (or dissolve: a mask, settlements)
 * and no polygon kept meets the grid
 * while the layer has an extent (features with polygons; those in another CRS may have been
 * cut away whole). */
static cr_status check_meets_grid(cr_ctx *ctx, cr_shaper *s, OGRLayerH layer, const loading *ld,
                                  const char *what, const char *path)
{
    if (!ld->o->must_meet_grid && !ld->o->dissolve)
        return CR_OK;
    for (int64_t i = 0; i < ld->set->n; i++)
        if (ld->set->p[i].box.w > 0 && ld->set->p[i].box.h > 0)
            return CR_OK;
    OGREnvelope env;
    cr_gdal_begin(ctx);
    int known = OGR_L_GetExtent(layer, &env, 1) == OGRERR_NONE;
    cr_gdal_end(ctx);
    if (!known)
        return CR_OK; /* no polygon at all: said below */
    cr_bounds e = {env.MinX, env.MinY, env.MaxX, env.MaxY};
    const char *in = " (in the grid's CRS)";
    if (s->ct && !OCTTransformBounds(s->ct, env.MinX, env.MinY, env.MaxX, env.MaxY, &e.xmin,
                                     &e.ymin, &e.xmax, &e.ymax, 21))
        in = " (the layer's in its own CRS, the grid's in the grid's)";
    cr_bounds g = cr_grid_bounds(s->grid);
    char text[1200];
    snprintf(text, sizeof text, "%s '%s' layer '%s' do not overlap the analysis grid", what, path,
             OGR_L_GetName(layer));
    return cr_fail_apart(ctx, text, &e, "the grid's", &g, in);
}

static cr_status load_layer(cr_ctx *ctx, cr_shaper *s, OGRLayerH layer, loading *ld)
{
    cr_gdal_begin(ctx);
    GIntBig n = OGR_L_GetFeatureCount(layer, 1);
    OGR_L_ResetReading(layer);
    cr_gdal_end(ctx);
    cr_status st = CR_OK;
    for (;;) {
        OGRFeatureH f = NULL;
        if ((st = cr_shaper_next(s, layer, &f)) != CR_OK || !f)
            break;
        st = load_one(s, ld, f);
        OGR_F_Destroy(f);
        s->done = n > 0 ? fmin((double)ld->set->counts.features / (double)n, 1.0) : 0.0;
        if (st == CR_OK && !cr_ctx_progress(ctx, s->done, NULL))
            st = cr_ctx_fail(ctx, CR_E_CANCELLED, "%s", s->cancelled);
        if (st != CR_OK)
            break;
    }
    return st;
}

cr_status cr_polyset_load(cr_ctx *ctx, const char *path, const cr_grid *grid,
                          const cr_polyset_opts *opts, cr_polyset **out)
{
    *out = NULL;
    const char *what = opts->what ? opts->what : "polygons";
    GDALDatasetH ds = NULL;
    cr_status st = cr_open_vector(ctx, path, &ds);
    if (st != CR_OK)
        return st;
    OGRLayerH layer = NULL;
    cr_shaper s;
    memset(&s, 0, sizeof s);
    loading ld = {calloc(1, sizeof(cr_polyset)), opts, -1, -1, -1, 0, NULL, 0, 0};
    if (!ld.set) {
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        goto done;
    }
    atomic_init(&ld.set->refs, 1);
    if ((st = cr_vector_layer(ctx, ds, path, what, opts->layer, opts->layer_flag, &layer)) != CR_OK)
        goto done;
    const char *field = opts->field ? opts->field : opts->default_field;
    if (field && (ld.field = cr_vector_numeric_field(OGR_L_GetLayerDefn(layer), field)) < 0) {
        st = cr_vector_field_error(ctx, layer, path, what, field, opts->field_flag);
        goto done;
    }
    if (opts->key_field && !opts->dissolve &&
        (ld.key = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(layer), opts->key_field)) < 0) {
        st = cr_ctx_fail(ctx, CR_E_USAGE, "%s '%s' layer '%s' has no field '%s'", what, path,
                         OGR_L_GetName(layer), opts->key_field);
        goto done;
    }
    if (opts->check_range)
        ld.id = id_field(OGR_L_GetLayerDefn(layer));
    st = cr_shaper_init(ctx, &s, path, what, OGR_L_GetName(layer), OGR_L_GetSpatialRef(layer),
                        grid);
    if (opts->cancelled)
        s.cancelled = opts->cancelled;
    /* Edges straight in another CRS bend on the grid, but by little: a parallel at 60
     * degrees of latitude drawn on UTM curves with a radius of about 3,700 km, so a chord of
     * 4 cells of 30 m strays from it by 0.5 mm, 2e-5 of a cell (a chord of L by L^2 / 8r).
     * Densifying to one cell, as zones are, would keep 4 times the vertices of a continent's
     * basins for nothing. */
    s.densify *= CR_POLYSET_DENSIFY_CELLS;
    if (st == CR_OK)
        st = load_layer(ctx, &s, layer, &ld);
    if (st == CR_OK && opts->dissolve && ld.nparts > 0)
        st = dissolve(&s, &ld);
    if (st == CR_OK)
        st = check_meets_grid(ctx, &s, layer, &ld, what, path);
    if (st != CR_OK)
        goto done;
    const cr_polyset_counts *c = &ld.set->counts;
    if (c->features == c->empty) {
        st = cr_ctx_fail(ctx, CR_E_DATA, "%s '%s' layer '%s': none of the %lld features has a "
                         "polygon", what, path, OGR_L_GetName(layer), (long long)c->features);
        goto done;
    }
    if (ld.valued == 0 && field && !opts->dissolve) {
        st = cr_ctx_fail(ctx, CR_E_DATA, "%s '%s' layer '%s': none of the %lld polygons has a "
                         "value in field '%s' (%lld null, %lld no data)", what, path,
                         OGR_L_GetName(layer), (long long)c->features, field,
                         (long long)c->null_value, (long long)c->nodata);
        goto done;
    }
    ld.set->counts.polygons = ld.set->n;
    if (!build_index(ld.set, grid))
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
done:
    for (int64_t i = 0; i < ld.nparts; i++)
        GEOSGeom_destroy_r(s.geos ? s.geos : cr_ctx_geos(ctx), ld.parts[i]);
    free(ld.parts);
    cr_shaper_release(&s);
    GDALClose(ds);
    if (st != CR_OK)
        cr_polyset_free(ld.set);
    else
        *out = ld.set;
    return st;
}

/* ------------------------------------------------------------------------------------ */
/* Windows */

static int cmp_i64(const void *a, const void *b)
{
    int64_t p = *(const int64_t *)a, q = *(const int64_t *)b;
    return (p > q) - (p < q);
}

/* The polygons whose box may meet win, in polygon order: a borrowed run of the index for
 * one bucket, else a list to free() (*owned). Returns the count, or -1 when out of
 * memory. */
static int64_t candidates(const cr_polyset *set, const cr_window *win, const int64_t **list,
                          int64_t **owned)
{
    *owned = NULL;
    *list = NULL;
    if (set->n == 0 || win->w <= 0 || win->h <= 0 || win->x >= set->bx * set->bucket ||
        win->y >= set->by * set->bucket)
        return 0;
    int x0, y0, x1, y1;
    bucket_range(set, win, &x0, &y0, &x1, &y1);
    if (x0 == x1 && y0 == y1) {
        size_t k = (size_t)y0 * set->bx + x0;
        *list = set->items + set->start[k];
        return set->start[k + 1] - set->start[k];
    }
    size_t total = 0;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            size_t k = (size_t)y * set->bx + x;
            total += (size_t)(set->start[k + 1] - set->start[k]);
        }
    int64_t *all = malloc((total ? total : 1) * sizeof *all);
    if (!all)
        return -1;
    size_t m = 0;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            size_t k = (size_t)y * set->bx + x;
            for (int64_t j = set->start[k]; j < set->start[k + 1]; j++)
                all[m++] = set->items[j];
        }
    qsort(all, m, sizeof *all, cmp_i64);
    size_t u = 0;
    for (size_t j = 0; j < m; j++)
        if (u == 0 || all[u - 1] != all[j])
            all[u++] = all[j];
    *owned = all;
    *list = all;
    return (int64_t)u;
}

cr_status cr_polyset_cover(cr_ctx *ctx, const cr_polyset *set, const cr_window *win,
                           cr_coverage_scratch *scratch, cr_polyset_fn fn, void *arg)
{
    const int64_t *list;
    int64_t *owned;
    int64_t n = candidates(set, win, &list, &owned);
    double *fractions = n > 0 ? malloc((size_t)win->w * win->h * sizeof *fractions) : NULL;
    if (n < 0 || (n > 0 && !fractions)) {
        free(owned);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    }
    cr_status st = CR_OK;
    for (int64_t j = 0; j < n && st == CR_OK; j++) {
        const polygon *p = &set->p[list[j]];
        int x0 = p->box.x > win->x ? p->box.x : win->x;
        int y0 = p->box.y > win->y ? p->box.y : win->y;
        int x1 = p->box.x + p->box.w < win->x + win->w ? p->box.x + p->box.w : win->x + win->w;
        int y1 = p->box.y + p->box.h < win->y + win->h ? p->box.y + p->box.h : win->y + win->h;
        if (x1 <= x0 || y1 <= y0)
            continue;
        cr_window part = {x0, y0, x1 - x0, y1 - y0};
        st = cr_coverage(ctx, &p->rings, &part, scratch, fractions);
        if (st == CR_OK)
            st = fn(arg, list[j], &part, fractions);
    }
    free(fractions);
    free(owned);
    return st;
}

/* What cr_polyset_mean() and cr_polyset_fraction() add up per cell of the window. */
typedef struct sums {
    const cr_polyset *set;
    const cr_window *win;
    double *weight, *total;
    double *all;    /* coverage by every polygon, with a value or not */
    double *arid;   /* coverage by marked polygons */
} sums;

static cr_status add_mean(void *arg, int64_t i, const cr_window *part, const double *f)
{
    sums *s = arg;
    const polygon *p = &s->set->p[i];
    for (int r = 0; r < part->h; r++) {
        size_t at = (size_t)(part->y - s->win->y + r) * s->win->w + (size_t)(part->x - s->win->x);
        const double *fr = f + (size_t)r * part->w;
        for (int c = 0; c < part->w; c++) {
            if (!(fr[c] >= CR_POLYSET_MIN_COVER))
                continue; /* a sliver, or none */
            s->all[at + c] += fr[c];
            if (isnan(p->value))
                continue;
            s->weight[at + c] += fr[c];
            s->total[at + c] += fr[c] * p->value;
            if (p->marked)
                s->arid[at + c] += fr[c];
        }
    }
    return CR_OK;
}

cr_status cr_polyset_mean(cr_ctx *ctx, const cr_polyset *set, const cr_window *win,
                          cr_coverage_scratch *scratch, double *values, uint8_t *valid,
                          uint8_t *marked)
{
    size_t n = (size_t)win->w * win->h;
    double *weight = calloc(3 * (n ? n : 1), sizeof *weight);
    if (!weight)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    double *all = weight + (n ? n : 1), *arid = all + (n ? n : 1);
    memset(values, 0, n * sizeof *values);
    if (marked)
        memset(marked, 0, n);
    sums s = {set, win, weight, values, all, arid};
    cr_status st = cr_polyset_cover(ctx, set, win, scratch, add_mean, &s);
    for (size_t i = 0; st == CR_OK && i < n; i++) {
        /* The valued polygons decide the cell when they cover at least half of what the
         * polygons cover of it (those without a value cover the rest). */
        int ok = weight[i] > 0.0 && weight[i] >= 0.5 * all[i];
        values[i] = ok ? values[i] / weight[i] : NAN;
        if (valid)
            valid[i] = (uint8_t)ok;
        if (marked)
            marked[i] = (uint8_t)(ok && arid[i] > 0.0 && arid[i] >= 0.5 * all[i]);
    }
    free(weight);
    return st;
}

static cr_status add_fraction(void *arg, int64_t i, const cr_window *part, const double *f)
{
    (void)i;
    sums *s = arg;
    for (int r = 0; r < part->h; r++) {
        size_t at = (size_t)(part->y - s->win->y + r) * s->win->w + (size_t)(part->x - s->win->x);
        for (int c = 0; c < part->w; c++)
            s->total[at + c] += f[(size_t)r * part->w + c];
    }
    return CR_OK;
}

cr_status cr_polyset_fraction(cr_ctx *ctx, const cr_polyset *set, const cr_window *win,
                              cr_coverage_scratch *scratch, double *values)
{
    size_t n = (size_t)win->w * win->h;
    memset(values, 0, n * sizeof *values);
    sums s = {set, win, NULL, values, NULL, NULL};
    cr_status st = cr_polyset_cover(ctx, set, win, scratch, add_fraction, &s);
    /* The union's parts do not overlap: their sum is the covered share, up to rounding; a
     * sliver covered or left out decides nothing (CR_POLYSET_MIN_COVER). */
    for (size_t i = 0; i < n; i++)
        values[i] = values[i] > 1.0 - CR_POLYSET_MIN_COVER ? 1.0
                    : values[i] < CR_POLYSET_MIN_COVER    ? 0.0
                                                          : values[i];
    return st;
}
