/* grid.c: analysis grids, snapping and block windows. */
#define _POSIX_C_SOURCE 200809L
#include "cityrisk/grid.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal.h>
#include <gdal_alg.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "cityrisk/number.h"
#include "internal.h"

/* Tolerance, in cells, within which two geotransforms are the same grid. */
static const double GRID_TOLERANCE = 1e-6;

/* NULL when a grid can be laid in the CRS, else what the CRS is ("a vertical CRS"). */
static const char *crs_kind(OGRSpatialReferenceH srs)
{
    if (OSRIsGeocentric(srs))
        return "a geocentric CRS"; /* X, Y, Z from the earth's centre */
    if (OSRIsCompound(srs)) {
        /* A DEM's horizontal CRS with a vertical datum: the grid is the horizontal part. */
        OGRSpatialReferenceH h = OSRClone(srs);
        const char *kind = h && OSRStripVertical(h) == OGRERR_NONE && !OSRIsCompound(h)
                               ? crs_kind(h) : "a compound CRS";
        OSRDestroySpatialReference(h);
        return kind;
    }
    if (OSRIsVertical(srs))
        return "a vertical CRS";
    if (OSRIsLocal(srs))
        return "an engineering (local) CRS";
    if (OSRIsProjected(srs))
        return OSRGetAxesCount(srs) == 2 ? NULL : "a projected 3D CRS";
    if (OSRIsGeographic(srs))
        return OSRGetAxesCount(srs) == 2 ? NULL : "a geographic 3D CRS";
    return "a CRS neither projected nor geographic";
}

const char *cr_crs_not_a_grid(const char *wkt, char *name, size_t size)
{
    OGRSpatialReferenceH srs = cr_srs_from_wkt(wkt);
    if (!srs)
        return NULL; /* what GDAL cannot read, it says so itself where it is used */
    const char *kind = crs_kind(srs);
    const char *n = OSRGetName(srs);
    snprintf(name, size, "%s", n ? n : "unnamed");
    OSRDestroySpatialReference(srs);
    return kind;
}

cr_status cr_grid_new(cr_ctx *ctx, const char *crs_wkt, const double gt[6], int width, int height,
                      cr_grid **out)
{
    *out = NULL;
    if (!crs_wkt || !*crs_wkt)
        return cr_ctx_fail(ctx, CR_E_DATA, "grid has no CRS");
    char name[256];
    const char *kind = cr_crs_not_a_grid(crs_wkt, name, sizeof name);
    if (kind)
        return cr_ctx_fail(ctx, CR_E_DATA, "the grid's CRS is %s (%s); %s", kind, name,
                           CR_GRID_CRS_HINT);
    if (gt[2] != 0.0 || gt[4] != 0.0)
        return cr_ctx_fail(ctx, CR_E_DATA, "grid is rotated; only north-up grids are supported");
    if (!(gt[1] > 0.0) || !(gt[5] < 0.0))
        return cr_ctx_fail(ctx, CR_E_DATA,
                           "grid cell size %g x %g is not north-up with positive size", gt[1],
                           gt[5]);
    if (width <= 0 || height <= 0 || width > CR_GRID_MAX_SIDE || height > CR_GRID_MAX_SIDE)
        return cr_ctx_fail(ctx, CR_E_DATA, "grid size %d x %d is outside 1 .. %d cells per side",
                           width, height, CR_GRID_MAX_SIDE);
    cr_grid *g = calloc(1, sizeof *g);
    if (!g || !(g->crs_wkt = strdup(crs_wkt))) {
        free(g);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory creating a grid");
    }
    memcpy(g->gt, gt, sizeof g->gt);
    g->width = width;
    g->height = height;
    *out = g;
    return CR_OK;
}

/* The largest coordinate any CRS reaches, with room to spare (the Earth's circumference is
 * 4e7 m), and the most cells of a coordinate's magnitude that doubles still tell apart to
 * a ten-thousandth of a cell. */
static const double COORD_MAX = 1e12, CELLS_MAX = 1e12;

cr_status cr_check_geotransform(cr_ctx *ctx, const char *path, const double gt[6], int width,
                                int height)
{
    const char *why = NULL;
    double corner = fmax(fmax(fabs(gt[0]), fabs(gt[0] + width * gt[1] + height * gt[2])),
                         fmax(fabs(gt[3]), fabs(gt[3] + width * gt[4] + height * gt[5])));
    double cell = fmin(hypot(gt[1], gt[4]), hypot(gt[2], gt[5]));
    for (int i = 0; i < 6 && !why; i++)
        if (!isfinite(gt[i]))
            why = "its values must be finite numbers";
    if (!why && !(cell > 0))
        why = "its cells have no size";
    else if (!why && !(corner <= COORD_MAX))
        why = "its corners lie beyond 1e12 from the CRS's origin, farther than any CRS reaches";
    else if (!why && !(corner / cell <= CELLS_MAX))
        why = "its cells are too small for their coordinates to tell them apart";
    if (!why)
        return CR_OK;
    return cr_ctx_fail(ctx, CR_E_DATA,
                       "raster '%s' has an invalid geotransform (origin %.10g, %.10g; cell size "
                       "%.10g x %.10g): %s; fix it with gdal_edit.py -a_ullr",
                       path, gt[0], gt[3], gt[1], gt[5], why);
}

cr_status cr_grid_from_raster(cr_ctx *ctx, const char *path, cr_grid **out)
{
    *out = NULL;
    GDALDatasetH ds = NULL;
    cr_status st = cr_open_raster(ctx, path, &ds);
    if (st != CR_OK)
        return st;
    double gt[6];
    const char *wkt = GDALGetProjectionRef(ds);
    char name[256];
    const char *kind = NULL;
    if (!wkt || !*wkt)
        st = cr_ctx_fail(ctx, CR_E_DATA, "raster '%s' has no CRS; assign one with gdal_edit.py -a_srs",
                         path);
    else if ((kind = cr_crs_not_a_grid(wkt, name, sizeof name)) != NULL)
        st = cr_ctx_fail(ctx, CR_E_DATA, "raster '%s' has %s (%s); %s", path, kind, name,
                         CR_GRID_CRS_HINT);
    else if (GDALGetGeoTransform(ds, gt) != CE_None)
        st = cr_ctx_fail(ctx, CR_E_DATA, "raster '%s' has no geotransform", path);
    else if ((st = cr_check_geotransform(ctx, path, gt, GDALGetRasterXSize(ds),
                                         GDALGetRasterYSize(ds))) != CR_OK)
        ;
    else if ((st = cr_grid_new(ctx, wkt, gt, GDALGetRasterXSize(ds), GDALGetRasterYSize(ds), out)) !=
             CR_OK)
        cr_ctx_fail(ctx, st, "raster '%s': %s", path, cr_ctx_error(ctx));
    GDALClose(ds);
    return st;
}

double cr_snap_down(double v, double step)
{
    return floor(v / step + GRID_TOLERANCE) * step;
}

double cr_snap_up(double v, double step)
{
    return ceil(v / step - GRID_TOLERANCE) * step;
}

cr_status cr_grid_from_bounds(cr_ctx *ctx, const cr_bounds *b, double res_x, double res_y,
                              const char *crs, cr_grid **out)
{
    *out = NULL;
    if (!(res_x > 0.0) || !(res_y > 0.0) || !isfinite(res_x) || !isfinite(res_y))
        return cr_ctx_fail(ctx, CR_E_USAGE, "resolution %g x %g must be positive", res_x, res_y);
    if (!(b->xmax > b->xmin) || !(b->ymax > b->ymin) || !isfinite(b->xmin) ||
        !isfinite(b->xmax) || !isfinite(b->ymin) || !isfinite(b->ymax))
        return cr_ctx_fail(ctx, CR_E_USAGE, "bounds %g,%g,%g,%g are empty or not finite (want xmin,ymin,xmax,ymax)",
                           b->xmin, b->ymin, b->xmax, b->ymax);
    char *wkt = NULL;
    cr_status st = cr_crs_to_wkt(ctx, crs, &wkt);
    if (st != CR_OK)
        return st;
    double xmin = cr_snap_down(b->xmin, res_x), xmax = cr_snap_up(b->xmax, res_x);
    double ymin = cr_snap_down(b->ymin, res_y), ymax = cr_snap_up(b->ymax, res_y);
    double cols = round((xmax - xmin) / res_x), rows = round((ymax - ymin) / res_y);
    if (cols > CR_GRID_MAX_SIDE || rows > CR_GRID_MAX_SIDE) {
        st = cr_ctx_fail(ctx, CR_E_USAGE,
                         "grid of %.10g x %.10g cells is too large (at most %d per side); use a coarser resolution",
                         cols, rows, CR_GRID_MAX_SIDE);
    } else {
        double gt[6] = {xmin, res_x, 0.0, ymax, 0.0, -res_y};
        st = cr_grid_new(ctx, wkt, gt, (int)cols, (int)rows, out);
        if (st != CR_OK)
            st = cr_ctx_fail(ctx, CR_E_USAGE, "%s", cr_ctx_error(ctx));
    }
    CPLFree(wkt);
    return st;
}

/* ---- the grid options of the commands ---- */

cr_status cr_bounds_parse(cr_ctx *ctx, const char *text, cr_bounds *out)
{
    double v[4];
    const char *p = text;
    for (int i = 0; i < 4; i++) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if ((i < 3) != (comma != NULL) || cr_number_parse(p, n, &v[i]) != CR_NUMBER_FINITE)
            return cr_ctx_fail(ctx, CR_E_USAGE, "--bounds wants xmin,ymin,xmax,ymax, not '%s'", text);
        p += n + 1;
    }
    *out = (cr_bounds){v[0], v[1], v[2], v[3]};
    return CR_OK;
}

cr_status cr_grid_spec_check(cr_ctx *ctx, const cr_grid_spec *spec)
{
    int laid = spec->crs || spec->resolution > 0 || spec->has_bounds;
    if (spec->ref && laid)
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "--grid takes the grid from a raster: leave out --resolution, --crs and --bounds");
    if (laid && (!spec->crs || !(spec->resolution > 0)))
        return cr_ctx_fail(ctx, CR_E_USAGE, "%s needs %s: give --crs CRS --resolution M (and optionally --bounds)",
                           spec->crs ? "--crs" : spec->resolution > 0 ? "--resolution" : "--bounds",
                           spec->crs ? "--resolution" : spec->resolution > 0 ? "--crs" : "--crs and --resolution");
    const cr_bounds *b = &spec->bounds;
    if (spec->has_bounds && !(b->xmax > b->xmin && b->ymax > b->ymin))
        return cr_ctx_fail(ctx, CR_E_USAGE, "--bounds %.10g,%.10g,%.10g,%.10g is empty (want xmin,ymin,xmax,ymax)",
                           b->xmin, b->ymin, b->xmax, b->ymax);
    return CR_OK;
}

const char *cr_grid_spec_source(const cr_grid_spec *spec, const char *primary)
{
    return spec->ref ? spec->ref : spec->crs ? NULL : primary;
}

/* The footprint of a raster in the CRS wkt as gdalwarp -t_srs finds it without -te: GDAL's
 * suggested warp output, whose extent is its origin plus whole cells of its own size, which
 * -tap then snaps. */
static cr_status raster_extent(cr_ctx *ctx, const char *path, GDALDatasetH ds, const char *wkt,
                               cr_bounds *b)
{
    const char *src = GDALGetProjectionRef(ds);
    double gt[6];
    if (!src || !*src)
        return cr_ctx_fail(ctx, CR_E_DATA, "raster '%s' has no CRS to find its extent in the grid's CRS; "
                                           "assign one with gdal_edit.py -a_srs, or give --bounds", path);
    if (GDALGetGeoTransform(ds, gt) != CE_None)
        return cr_ctx_fail(ctx, CR_E_DATA, "raster '%s' has no geotransform; give --bounds", path);
    cr_status st = cr_check_geotransform(ctx, path, gt, GDALGetRasterXSize(ds), GDALGetRasterYSize(ds));
    if (st != CR_OK)
        return st;
    char *options[] = {NULL, NULL};
    options[0] = CPLStrdup(CPLSPrintf("DST_SRS=%s", wkt));
    cr_gdal_begin(ctx);
    void *t = GDALCreateGenImgProjTransformer2(ds, NULL, options);
    int cols = 0, rows = 0;
    double out[6], extent[4];
    if (!t || GDALSuggestedWarpOutput2(ds, GDALGenImgProjTransform, t, out, &cols, &rows, extent, 0) != CE_None)
        st = cr_ctx_fail_gdal(ctx, CR_E_DATA, "cannot find the extent of raster '%s' in the grid's CRS", path);
    else
        *b = (cr_bounds){out[0], out[3] + rows * out[5], out[0] + cols * out[1], out[3]};
    cr_gdal_end(ctx);
    if (t)
        GDALDestroyGenImgProjTransformer(t);
    CPLFree(options[0]);
    return st;
}

/* One layer's extent or the union of all (internal.h); for cr_grid_from_spec() and --areas. */
cr_status cr_vector_extent(cr_ctx *ctx, const char *path, GDALDatasetH ds, OGRLayerH only,
                           const char *wkt, cr_bounds *b)
{
    OGRSpatialReferenceH dst = cr_srs_from_wkt(wkt);
    cr_status st = dst ? CR_OK : cr_ctx_fail(ctx, CR_E_USAGE, "cannot read the grid's CRS");
    int found = 0, layers = only ? 1 : GDALDatasetGetLayerCount(ds);
    for (int i = 0; st == CR_OK && i < layers; i++) {
        OGRLayerH layer = only ? only : GDALDatasetGetLayer(ds, i);
        OGREnvelope e;
        if (OGR_L_GetExtent(layer, &e, 1) != OGRERR_NONE)
            continue; /* no features */
        OGRSpatialReferenceH src = OGR_L_GetSpatialRef(layer);
        if (!src) {
            st = cr_ctx_fail(ctx, CR_E_DATA, "layer '%s' of '%s' has no CRS to find its extent in the "
                                             "grid's CRS; assign one with ogr2ogr -a_srs, or give --bounds",
                             OGR_L_GetName(layer), path);
            break;
        }
        OGRSpatialReferenceH s = OSRClone(src);
        OSRSetAxisMappingStrategy(s, OAMS_TRADITIONAL_GIS_ORDER);
        cr_gdal_begin(ctx);
        OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(s, dst);
        cr_bounds t;
        if (!ct || !OCTTransformBounds(ct, e.MinX, e.MinY, e.MaxX, e.MaxY, &t.xmin, &t.ymin, &t.xmax, &t.ymax, 21))
            st = cr_ctx_fail_gdal(ctx, CR_E_DATA, "cannot transform the extent of '%s' to the grid's CRS", path);
        cr_gdal_end(ctx);
        if (ct)
            OCTDestroyCoordinateTransformation(ct);
        OSRDestroySpatialReference(s);
        if (st == CR_OK && !found)
            *b = t;
        else if (st == CR_OK)
            *b = (cr_bounds){fmin(b->xmin, t.xmin), fmin(b->ymin, t.ymin), fmax(b->xmax, t.xmax),
                             fmax(b->ymax, t.ymax)};
        found |= st == CR_OK;
    }
    OSRDestroySpatialReference(dst);
    if (st == CR_OK && !found)
        st = cr_ctx_fail(ctx, CR_E_DATA, "'%s' has no features to take the grid's extent from; give --bounds", path);
    return st;
}

cr_status cr_grid_from_spec(cr_ctx *ctx, const cr_grid_spec *spec, const char *primary, cr_grid **out)
{
    *out = NULL;
    cr_status st = cr_grid_spec_check(ctx, spec);
    if (st != CR_OK)
        return st;
    if (!spec->crs)
        return cr_grid_from_raster(ctx, spec->ref ? spec->ref : primary, out);
    if (spec->has_bounds)
        return cr_grid_from_bounds(ctx, &spec->bounds, spec->resolution, spec->resolution, spec->crs, out);
    char *wkt = NULL;
    GDALDatasetH ds = NULL;
    cr_bounds b;
    st = cr_crs_to_wkt(ctx, spec->crs, &wkt);
    if (st == CR_OK)
        st = cr_open_dataset(ctx, primary, "input", "raster or vector", GDAL_OF_RASTER | GDAL_OF_VECTOR, &ds);
    if (st == CR_OK)
        st = GDALGetRasterCount(ds) > 0 ? raster_extent(ctx, primary, ds, wkt, &b)
                                        : cr_vector_extent(ctx, primary, ds, NULL, wkt, &b);
    if (ds)
        GDALClose(ds);
    if (st == CR_OK)
        st = cr_grid_from_bounds(ctx, &b, spec->resolution, spec->resolution, wkt, out);
    CPLFree(wkt);
    return st;
}

cr_grid *cr_grid_clone(const cr_grid *grid)
{
    cr_grid *g = malloc(sizeof *g);
    if (!g)
        return NULL;
    *g = *grid;
    if (!(g->crs_wkt = strdup(grid->crs_wkt))) {
        free(g);
        return NULL;
    }
    return g;
}

void cr_grid_free(cr_grid *grid)
{
    if (!grid)
        return;
    free(grid->crs_wkt);
    free(grid);
}

cr_bounds cr_grid_bounds(const cr_grid *g)
{
    cr_bounds b = {g->gt[0], g->gt[3] + g->height * g->gt[5], g->gt[0] + g->width * g->gt[1],
                   g->gt[3]};
    return b;
}

double cr_grid_cell_area(const cr_grid *g)
{
    return fabs(g->gt[1] * g->gt[5]);
}

int cr_crs_equal(const char *crs_a, const char *crs_b)
{
    if (strcmp(crs_a, crs_b) == 0)
        return 1;
    OGRSpatialReferenceH a = OSRNewSpatialReference(NULL), b = OSRNewSpatialReference(NULL);
    int same = 0;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    if (OSRSetFromUserInput(a, crs_a) == OGRERR_NONE && OSRSetFromUserInput(b, crs_b) == OGRERR_NONE)
        same = OSRIsSame(a, b) ? 1 : 0;
    CPLPopErrorHandler();
    OSRDestroySpatialReference(a);
    OSRDestroySpatialReference(b);
    return same;
}

int cr_grid_equal(const cr_grid *a, const cr_grid *b)
{
    if (a->width != b->width || a->height != b->height)
        return 0;
    double tol_x = GRID_TOLERANCE * a->gt[1], tol_y = GRID_TOLERANCE * fabs(a->gt[5]);
    if (fabs(a->gt[0] - b->gt[0]) > tol_x || fabs(a->gt[1] - b->gt[1]) > tol_x ||
        fabs(a->gt[3] - b->gt[3]) > tol_y || fabs(a->gt[5] - b->gt[5]) > tol_y)
        return 0;
    return cr_crs_equal(a->crs_wkt, b->crs_wkt);
}

int64_t cr_grid_window_count(const cr_grid *g, int block)
{
    int64_t cols = (g->width + block - 1) / block, rows = (g->height + block - 1) / block;
    return cols * rows;
}

cr_window cr_grid_window(const cr_grid *g, int block, int64_t index)
{
    int cols = (g->width + block - 1) / block;
    cr_window w;
    w.x = (int)(index % cols) * block;
    w.y = (int)(index / cols) * block;
    w.w = g->width - w.x < block ? g->width - w.x : block;
    w.h = g->height - w.y < block ? g->height - w.y : block;
    return w;
}

/* A coordinate in at most 10 significant digits: to the millimetre (3 decimals) while that
 * fits, as metres in the millions do. */
static void coordinate_text(double v, char *buf, size_t size)
{
    double a = fabs(v);
    int decimals = a < 1e7 ? 3 : a < 1e10 ? 9 - (int)floor(log10(a)) : -1;
    if (decimals >= 0)
        snprintf(buf, size, "%.*f", decimals, v);
    else
        snprintf(buf, size, "%.10g", v);
}

void cr_grid_cell_text(const cr_grid *g, int col, int row, char *buf, size_t size)
{
    char x[32], y[32];
    coordinate_text(g->gt[0] + (col + 0.5) * g->gt[1], x, sizeof x);
    coordinate_text(g->gt[3] + (row + 0.5) * g->gt[5], y, sizeof y);
    snprintf(buf, size, "grid cell column %d, row %d (x %s, y %s)", col, row, x, y);
}

static void bounds_text(const cr_bounds *b, char *buf, size_t size)
{
    snprintf(buf, size, "x %.10g .. %.10g, y %.10g .. %.10g", b->xmin, b->xmax, b->ymin, b->ymax);
}

cr_status cr_fail_apart(cr_ctx *ctx, const char *what, const cr_bounds *a, const char *other,
                        const cr_bounds *b, const char *hint)
{
    char ta[160], tb[160];
    bounds_text(a, ta, sizeof ta);
    bounds_text(b, tb, sizeof tb);
    return cr_ctx_fail(ctx, CR_E_DATA, "%s: extent %s against %s %s%s", what, ta, other, tb,
                       hint ? hint : "");
}
