/* report_map.c: the map's frame, the zones' outlines as SVG paths and the exposure
 * rasters as embedded PNGs (report_internal.h).
 *
 * The frame: the extent of every zone's geometry, its longer side 1000 map units, y growing
 * down. With a geographic CRS a degree of longitude is cos(mid-latitude) of a degree of
 * latitude, so x is scaled by that factor (map_scale is the scale of y; x uses
 * map_scale * cos(mid-latitude)), and the map is not stretched.
 *
 * The outlines are simplified for display (OGR_G_SimplifyPreserveTopology) with a tolerance
 * of 0.25 map units (a quarter of a thousandth of the frame: invisible) up to
 * CR_REPORT_LARGE_ZONES zones and 1 map unit above, so that 10,000 zones stay a small file.
 * r->tolerance is that in the zones' CRS units (with lon/lat, degrees of latitude; east-west
 * the same angle is cos(latitude) of it in map units, so never more). Each zone is simplified
 * alone: neighbours' shared edges may part by up to the tolerance (a pixel at most on a
 * 1000 px map). Coordinates are written in tenths of a map unit: an absolute "M x y", then
 * relative "l dx dy ..." steps (22 % smaller than absolute ones on the sample city), "Z"
 * closing each ring.
 *
 * The images: each view's exposure score classed into the class colours (transparent
 * where nodata), read at most 1000 px on its longer side over the map's extent (the raster's
 * overviews serve when present, so memory does not grow with the raster; without them GDAL's
 * block cache bounds it), warped into the zones' CRS when it differs (or north-up when the
 * raster is rotated), encoded as PNG and base64. Its pixels need not be square in map units
 * (lon/lat): the page stretches it to image_w x image_h (preserveAspectRatio="none"). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <gdalwarper.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "core/internal.h"
#include "report/report_internal.h"

/* The longer side of the map, in map units. */
#define MAP_SIDE 1000.0
/* The simplification tolerance, in map units, up to and above CR_REPORT_LARGE_ZONES zones. */
#define MAP_TOLERANCE_SMALL 0.25
#define MAP_TOLERANCE_LARGE 1.0
/* The longer side of an embedded image at most, in pixels. */
#define MAP_IMAGE_MAX 1000

/* The zones' extent in their CRS and how it maps to map units. */
typedef struct map_frame {
    double xmin, xmax, ymin, ymax; /* CRS units */
    double sx, sy;                 /* map units per CRS unit in x and y */
    int empty;                     /* no zone has a geometry */
} map_frame;

/* The extent of every zone's geometry; empty when none has one. */
static map_frame zones_extent(const report_model *r)
{
    map_frame f = {.xmin = INFINITY, .xmax = -INFINITY, .ymin = INFINITY, .ymax = -INFINITY};
    for (int z = 0; z < r->nzones; z++) {
        OGRGeometryH g = r->zones[z].geometry;
        if (!g || OGR_G_IsEmpty(g))
            continue;
        OGREnvelope e;
        OGR_G_GetEnvelope(g, &e);
        f.xmin = fmin(f.xmin, e.MinX), f.xmax = fmax(f.xmax, e.MaxX);
        f.ymin = fmin(f.ymin, e.MinY), f.ymax = fmax(f.ymax, e.MaxY);
    }
    f.empty = !(f.xmin <= f.xmax && f.ymin <= f.ymax);
    if (f.empty)
        f.xmin = f.xmax = f.ymin = f.ymax = 0;
    return f;
}

/* Sets the frame's scales and the model's map fields: the longer side MAP_SIDE units; a
 * frame of no size (one point, or no geometry) is a MAP_SIDE square centred on it. */
static void frame_set(report_model *r, map_frame *f)
{
    double kx = 1;
    if (r->geographic)
        kx = cos((f->ymin + f->ymax) / 2 * M_PI / 180);
    double w = (f->xmax - f->xmin) * kx, h = f->ymax - f->ymin;
    double longer = fmax(w, h);
    if (!(longer > 0) || !(kx > 0)) {
        kx = kx > 0 ? kx : 1;
        f->sx = kx, f->sy = 1;
        r->map_width = r->map_height = MAP_SIDE;
        r->map_xmin = (f->xmin + f->xmax) / 2 - MAP_SIDE / 2 / kx;
        r->map_ymax = (f->ymin + f->ymax) / 2 + MAP_SIDE / 2;
        r->map_scale = 1;
        return;
    }
    double scale = MAP_SIDE / longer;
    f->sx = scale * kx, f->sy = scale;
    /* a side of no size (a line) still gives a frame a browser draws */
    r->map_width = fmax(w * scale, 1);
    r->map_height = fmax(h * scale, 1);
    r->map_xmin = f->xmin;
    r->map_ymax = f->ymax;
    r->map_scale = scale;
}

/* ---- Outlines ---- */

/* Appends a number of tenths as the shortest decimal ("12", "-0.5", "3.2"); a separator
 * first unless the number starts with '-' or follows a command letter. */
static void put_tenths(report_buf *b, long long t, int after_command)
{
    char text[32];
    const char *separator = after_command || t < 0 ? "" : " ";
    int at = snprintf(text, sizeof text, "%s%s%lld", separator, t < 0 ? "-" : "", llabs(t) / 10);
    if (llabs(t) % 10)
        snprintf(text + at, sizeof text - (size_t)at, ".%lld", llabs(t) % 10);
    report_buf_puts(b, text);
}

/* Appends one ring (a line string's points) as "M x y l dx dy ... Z": points in tenths of a
 * map unit, consecutive duplicates after rounding and the closing point dropped; a ring
 * left with fewer than 3 points draws nothing and is left out. */
static void put_ring(report_buf *b, OGRGeometryH ring, const report_model *r, const map_frame *f)
{
    int n = OGR_G_GetPointCount(ring);
    long long(*pts)[2] = malloc(sizeof *pts * (size_t)(n > 0 ? n : 1));
    if (!pts) {
        b->failed = 1;
        return;
    }
    int kept = 0;
    for (int i = 0; i < n; i++) {
        long long x = llround((OGR_G_GetX(ring, i) - r->map_xmin) * f->sx * 10);
        long long y = llround((r->map_ymax - OGR_G_GetY(ring, i)) * f->sy * 10);
        if (kept && pts[kept - 1][0] == x && pts[kept - 1][1] == y)
            continue;
        pts[kept][0] = x, pts[kept][1] = y, kept++;
    }
    while (kept > 1 && pts[kept - 1][0] == pts[0][0] && pts[kept - 1][1] == pts[0][1])
        kept--;
    if (kept >= 3) {
        report_buf_puts(b, "M");
        put_tenths(b, pts[0][0], 1);
        put_tenths(b, pts[0][1], 0);
        report_buf_puts(b, "l");
        for (int i = 1; i < kept; i++) {
            put_tenths(b, pts[i][0] - pts[i - 1][0], i == 1);
            put_tenths(b, pts[i][1] - pts[i - 1][1], 0);
        }
        report_buf_puts(b, "Z");
    }
    free(pts);
}

/* Appends every ring of a (multi)polygon or collection: holes are further rings (the page
 * fills with evenodd). */
static void put_rings(report_buf *b, OGRGeometryH g, const report_model *r, const map_frame *f)
{
    int parts = OGR_G_GetGeometryCount(g);
    if (parts > 0) {
        for (int i = 0; i < parts; i++)
            put_rings(b, OGR_G_GetGeometryRef(g, i), r, f);
    } else if (OGR_G_GetPointCount(g) > 0) {
        put_ring(b, g, r, f);
    }
}

/* The outline of one geometry, simplified with the tolerance (kept unsimplified when
 * simplifying leaves nothing to draw), as a malloc'd path ("" when even that draws
 * nothing: a zone under a tenth of a map unit); NULL when out of memory. */
static char *zone_path(OGRGeometryH geometry, const report_model *r, const map_frame *f)
{
    OGRGeometryH linear = OGR_G_HasCurveGeometry(geometry, 0) ? OGR_G_GetLinearGeometry(geometry, 0, NULL) : NULL;
    OGRGeometryH source = linear ? linear : geometry;
    OGRGeometryH simple = OGR_G_SimplifyPreserveTopology(source, r->tolerance);
    if (simple && OGR_G_IsEmpty(simple)) {
        OGR_G_DestroyGeometry(simple);
        simple = NULL;
    }
    report_buf b = {0};
    put_rings(&b, simple ? simple : source, r, f);
    if (simple && b.len == 0) /* simplified to rings of under 3 points: the outline as it is */
        put_rings(&b, source, r, f);
    OGR_G_DestroyGeometry(simple);
    OGR_G_DestroyGeometry(linear);
    if (b.failed) {
        report_buf_free(&b);
        return NULL;
    }
    return b.data ? b.data : strdup("");
}

/* ---- Images ---- */

/* The band holding the exposure score: the one described "score", else band 1. */
static GDALRasterBandH score_band(GDALDatasetH ds)
{
    for (int i = 1; i <= GDALGetRasterCount(ds); i++) {
        GDALRasterBandH band = GDALGetRasterBand(ds, i);
        if (strcmp(GDALGetDescription(band), "score") == 0)
            return band;
    }
    return GDALGetRasterBand(ds, 1);
}

/* 1 when the raster's CRS is not the zones' (a raster without one is taken as theirs). */
static int needs_warp(GDALDatasetH ds, const char *zones_wkt)
{
    const char *wkt = GDALGetProjectionRef(ds);
    if (!wkt || !*wkt || !zones_wkt || !*zones_wkt)
        return 0;
    OGRSpatialReferenceH a = cr_srs_from_wkt(wkt), b = cr_srs_from_wkt(zones_wkt);
    int same = a && b && OSRIsSame(a, b);
    OSRDestroySpatialReference(a);
    OSRDestroySpatialReference(b);
    return !same;
}

/* 1 when the raster has a north-up geotransform (no rotation), which frame_window reads;
 * a rotated one is warped into a north-up grid first. */
static int north_up(GDALDatasetH ds)
{
    double gt[6];
    return GDALGetGeoTransform(ds, gt) != CE_None || (gt[2] == 0 && gt[4] == 0 && gt[1] > 0 && gt[5] < 0);
}

/* A warped view of one band of ds in the CRS wkt (nearest neighbour: classes are not
 * averaged), its nodata kept and cells outside the source nodata; NULL on failure. */
static GDALDatasetH warped_band(GDALDatasetH ds, int band, const char *wkt)
{
    GDALWarpOptions *wo = GDALCreateWarpOptions();
    wo->nBandCount = 1;
    wo->panSrcBands = CPLMalloc(sizeof(int));
    wo->panDstBands = CPLMalloc(sizeof(int));
    wo->panSrcBands[0] = band, wo->panDstBands[0] = 1;
    int has_nodata = 0;
    double nodata = GDALGetRasterNoDataValue(GDALGetRasterBand(ds, band), &has_nodata);
    wo->padfSrcNoDataReal = CPLMalloc(sizeof(double));
    wo->padfDstNoDataReal = CPLMalloc(sizeof(double));
    wo->padfSrcNoDataReal[0] = has_nodata ? nodata : NAN;
    wo->padfDstNoDataReal[0] = has_nodata ? nodata : NAN;
    /* given nodata, GDAL leaves cells outside the source 0 (a score) unless told */
    wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "INIT_DEST", "NO_DATA");
    GDALDatasetH vrt = GDALAutoCreateWarpedVRTEx(ds, NULL, wkt, GRA_NearestNeighbour, 0.125, wo, NULL);
    GDALDestroyWarpOptions(wo);
    if (vrt)
        GDALSetRasterNoDataValue(GDALGetRasterBand(vrt, 1), has_nodata ? nodata : NAN);
    return vrt;
}

/* The window of a raster (geotransform gt, w x h cells) over the frame, in cells, and its
 * size when read (at most MAP_IMAGE_MAX px on the longer side, never upsampled); 0 when
 * they do not overlap. */
typedef struct map_window {
    int col, row, cols, rows, out_w, out_h;
} map_window;

static int frame_window(const map_frame *f, const double gt[6], int w, int h, map_window *win)
{
    if (gt[1] <= 0 || gt[5] >= 0 || gt[2] != 0 || gt[4] != 0)
        return 0;
    double c0 = floor((f->xmin - gt[0]) / gt[1]), c1 = ceil((f->xmax - gt[0]) / gt[1]);
    double r0 = floor((f->ymax - gt[3]) / gt[5]), r1 = ceil((f->ymin - gt[3]) / gt[5]);
    c0 = fmax(c0, 0), r0 = fmax(r0, 0), c1 = fmin(c1, w), r1 = fmin(r1, h);
    if (!(c1 > c0 && r1 > r0))
        return 0;
    win->col = (int)c0, win->row = (int)r0, win->cols = (int)(c1 - c0), win->rows = (int)(r1 - r0);
    double longer = fmax(win->cols, win->rows);
    double k = longer > MAP_IMAGE_MAX ? MAP_IMAGE_MAX / longer : 1;
    win->out_w = (int)fmax(1, lround(win->cols * k));
    win->out_h = (int)fmax(1, lround(win->rows * k));
    return 1;
}

/* The RGBA pixels of values classed by the model's classes: the class colour, opaque;
 * nodata and NaN transparent (zeroes). */
static void class_colours(const report_model *r, const double *values, size_t n, int has_nodata, double nodata,
                          unsigned char *rgba)
{
    unsigned char colour[CR_CLASSES_MAX][3];
    for (int k = 0; k < r->classes.n; k++) {
        unsigned c = 0;
        sscanf(r->classes.colors[k], "#%6x", &c);
        colour[k][0] = (unsigned char)(c >> 16);
        colour[k][1] = (unsigned char)(c >> 8);
        colour[k][2] = (unsigned char)c;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char *p = rgba + 4 * i;
        double v = values[i];
        int k = isnan(v) || (has_nodata && v == nodata) ? 0 : cr_class_of(r->classes.breaks, r->classes.n - 1, v);
        if (k < 1 || k > r->classes.n) {
            p[0] = p[1] = p[2] = p[3] = 0;
            continue;
        }
        p[0] = colour[k - 1][0], p[1] = colour[k - 1][1], p[2] = colour[k - 1][2], p[3] = 255;
    }
}

/* Encodes w x h RGBA pixels as PNG (a MEM dataset copied by the PNG driver into /vsimem/)
 * and appends its base64 to out; 0 on failure. */
static int png_base64(const unsigned char *rgba, int w, int h, const void *unique, report_buf *out)
{
    GDALDatasetH mem = GDALCreate(GDALGetDriverByName("MEM"), "", w, h, 4, GDT_Byte, NULL);
    if (!mem)
        return 0;
    int ok = GDALDatasetRasterIO(mem, GF_Write, 0, 0, w, h, (void *)rgba, w, h, GDT_Byte, 4, NULL, 4, 4 * (GSpacing)w,
                                 1) == CE_None;
    GDALSetRasterColorInterpretation(GDALGetRasterBand(mem, 4), GCI_AlphaBand);
    char path[96];
    snprintf(path, sizeof path, "/vsimem/cityrisk-report-%p.png", unique);
    GDALDatasetH png = ok ? GDALCreateCopy(GDALGetDriverByName("PNG"), path, mem, FALSE, NULL, NULL, NULL) : NULL;
    ok = png != NULL;
    GDALClose(png);
    GDALClose(mem);
    vsi_l_offset size = 0;
    GByte *bytes = ok ? VSIGetMemFileBuffer(path, &size, TRUE) : NULL;
    if (bytes)
        report_buf_base64(out, bytes, (size_t)size);
    CPLFree(bytes);
    VSIUnlink(path);
    char aux[112];
    snprintf(aux, sizeof aux, "%s.aux.xml", path);
    VSIUnlink(aux);
    return bytes != NULL && !out->failed;
}

/* Reads the window of band (of a north-up raster, geotransform gt) at its output size,
 * classes it and sets the view's image and its place in map units. */
static cr_status band_image(cr_ctx *ctx, report_model *r, report_view *view, const map_frame *f, GDALDatasetH ds,
                            GDALRasterBandH band)
{
    double gt[6];
    map_window win;
    if (GDALGetGeoTransform(ds, gt) != CE_None ||
        !frame_window(f, gt, GDALGetRasterXSize(ds), GDALGetRasterYSize(ds), &win))
        return CR_OK; /* nothing of it on the map */
    size_t n = (size_t)win.out_w * (size_t)win.out_h;
    double *values = malloc(n * sizeof *values);
    unsigned char *rgba = malloc(n * 4);
    cr_status st = CR_OK;
    GDALRasterIOExtraArg extra;
    INIT_RASTERIO_EXTRA_ARG(extra);
    extra.eResampleAlg = GRIORA_NearestNeighbour;
    if (!values || !rgba)
        st = cr_ctx_fail(ctx, CR_E_IO, "%s: out of memory reading the exposure score", view->exposure_path);
    else if (GDALRasterIOEx(band, GF_Read, win.col, win.row, win.cols, win.rows, values, win.out_w, win.out_h,
                            GDT_Float64, 0, 0, &extra) != CE_None)
        st = cr_ctx_fail_gdal(ctx, CR_E_IO, "%s: cannot read the exposure score", view->exposure_path);
    if (st == CR_OK) {
        int has_nodata = 0;
        double nodata = GDALGetRasterNoDataValue(band, &has_nodata);
        class_colours(r, values, n, has_nodata, nodata, rgba);
        report_buf b = {0};
        if (!png_base64(rgba, win.out_w, win.out_h, view, &b)) {
            report_buf_free(&b);
            st = cr_ctx_fail_gdal(ctx, CR_E_IO, "%s: cannot encode the exposure score as PNG", view->exposure_path);
        } else {
            view->image_base64 = b.data;
            double x0 = gt[0] + win.col * gt[1], x1 = x0 + win.cols * gt[1];
            double y0 = gt[3] + win.row * gt[5], y1 = y0 + win.rows * gt[5];
            view->image_x = (x0 - r->map_xmin) * f->sx;
            view->image_y = (r->map_ymax - y0) * f->sy;
            view->image_w = (x1 - x0) * f->sx;
            view->image_h = (y0 - y1) * f->sy;
        }
    }
    free(values);
    free(rgba);
    return st;
}

/* The image of one view's exposure raster (in the zones' CRS, warped when it is not). */
static cr_status view_image(cr_ctx *ctx, report_model *r, report_view *view, const map_frame *f)
{
    GDALDatasetH ds = NULL;
    cr_status st = cr_open_raster(ctx, view->exposure_path, &ds);
    if (st != CR_OK)
        return st; /* CR_E_IO naming the file when it cannot be read, CR_E_DATA for no raster */
    cr_gdal_begin(ctx);
    GDALRasterBandH band = score_band(ds);
    GDALDatasetH warped = NULL;
    if (needs_warp(ds, r->crs_wkt) || !north_up(ds)) {
        warped = warped_band(ds, GDALGetBandNumber(band), r->crs_wkt);
        if (!warped)
            st = cr_ctx_fail_gdal(ctx, CR_E_IO, "%s: cannot transform the exposure score into the zones' CRS",
                                  view->exposure_path);
    }
    if (st == CR_OK)
        st = warped ? band_image(ctx, r, view, f, warped, GDALGetRasterBand(warped, 1))
                    : band_image(ctx, r, view, f, ds, band);
    cr_gdal_end(ctx);
    GDALClose(warped);
    GDALClose(ds);
    return st;
}

/* The images of every view with an exposure raster; a view whose raster an earlier view
 * already drew shares its image. */
static cr_status view_images(cr_ctx *ctx, report_model *r, const map_frame *f)
{
    for (int v = 0; v < r->nviews; v++) {
        report_view *view = &r->views[v];
        free(view->image_base64);
        view->image_base64 = NULL;
        if (!view->exposure_path || f->empty || r->classes.n < 1)
            continue;
        int same = -1;
        for (int u = 0; u < v && same < 0; u++)
            if (r->views[u].exposure_path && strcmp(r->views[u].exposure_path, view->exposure_path) == 0)
                same = u;
        if (same >= 0) {
            const report_view *done = &r->views[same];
            view->image_base64 = done->image_base64 ? strdup(done->image_base64) : NULL;
            view->image_x = done->image_x, view->image_y = done->image_y;
            view->image_w = done->image_w, view->image_h = done->image_h;
            continue;
        }
        cr_status st = view_image(ctx, r, view, f);
        if (st != CR_OK)
            return st;
    }
    return CR_OK;
}

cr_status report_map(cr_ctx *ctx, report_model *r)
{
    map_frame f = zones_extent(r);
    frame_set(r, &f);
    double tolerance = r->nzones > CR_REPORT_LARGE_ZONES ? MAP_TOLERANCE_LARGE : MAP_TOLERANCE_SMALL;
    r->tolerance = tolerance / r->map_scale;
    for (int z = 0; z < r->nzones; z++) {
        report_zone *zone = &r->zones[z];
        free(zone->svg_path);
        zone->svg_path = NULL;
        if (!zone->geometry)
            continue;
        zone->svg_path = zone_path(zone->geometry, r, &f);
        if (!zone->svg_path)
            return cr_ctx_fail(ctx, CR_E_IO, "zone '%s': out of memory drawing its outline", zone->id ? zone->id : "");
    }
    return view_images(ctx, r, &f);
}
