/* layer.c: one band of any raster seen on the analysis grid, read block by block. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_minixml.h>
#include <cpl_string.h>
#include <gdal_alg.h>
#include <gdalwarper.h>

#include "cityrisk/raster.h"
#include "core/polygons.h"
#include "internal.h"

/* Error of the approximate transformer, in cells, as gdalwarp's default. */
static const double APPROX_ERROR = 0.125;

/* A grid cell at least this much larger in area than a source cell counts as
 * coarsening; near-equal sizes (a shifted grid) are refined with bilinear. */
static const double COARSEN_RATIO = 1.0 + 1e-6;

/* Bytes of the warp kernel's data one block of a warped VRT may load from its source.
 * GDAL warps a VRT block in one pass over the block's whole source window, whatever
 * the warp memory limit; its default block (512 x 128 cells) onto a grid 100 times
 * coarser than the source would load 655 million source cells at once. */
static const double BLOCK_SOURCE_BYTES = 64.0 * 1024 * 1024;

struct cr_layer {
    char *path;
    cr_grid *grid;
    GDALDatasetH src;    /* the raster as opened */
    GDALDatasetH warped; /* the warped VRT, NULL when read directly */
    GDALRasterBandH band;
    GDALRasterBandH mask; /* per-dataset or alpha mask of a direct read, else NULL */
    int band_number;      /* of the source, for messages */
    int has_nodata;
    double nodata;
    int src_has_nodata;   /* the source band's own nodata, kept when warping */
    double src_nodata;
    int offset_x, offset_y; /* direct read: source cell = grid cell + offset */
    int src_width, src_height;
    const char *resampling;
    /* On polygons: the set (shared between the layers of one cr_layer_share() family), its
     * mean or union read per window, and the scratch of the coverage. */
    cr_polyset *polys;
    int poly_mean;
    cr_coverage_scratch scratch;
    double *wide;   /* a Float64 window for Float32 reads */
    size_t wide_cap;
};

void cr_layer_opts_init(cr_layer_opts *opts)
{
    opts->band = 1;
    opts->kind = CR_KIND_CONTINUOUS;
    opts->resampling = NULL;
    opts->polygons = 0;
    opts->vector_layer = NULL;
    opts->field = NULL;
}

/* 1 when v is within a millionth of a whole number. */
static int is_whole(double v)
{
    return fabs(v - round(v)) < 1e-6;
}

/* Sets the offsets and returns 1 when the raster lies on the grid: same CRS, same
 * cell size, origin a whole number of cells away. */
static int lies_on_grid(cr_layer *l, const double src_gt[6], const char *src_wkt)
{
    const double *gt = l->grid->gt;
    if (src_gt[2] != 0.0 || src_gt[4] != 0.0)
        return 0;
    if (fabs(src_gt[1] - gt[1]) > 1e-9 * gt[1] || fabs(src_gt[5] - gt[5]) > 1e-9 * fabs(gt[5]))
        return 0;
    double dx = (gt[0] - src_gt[0]) / gt[1], dy = (gt[3] - src_gt[3]) / gt[5];
    if (!is_whole(dx) || !is_whole(dy) || fabs(dx) > 1e9 || fabs(dy) > 1e9)
        return 0;
    if (!cr_crs_equal(src_wkt, l->grid->crs_wkt))
        return 0;
    l->offset_x = (int)round(dx);
    l->offset_y = (int)round(dy);
    return 1;
}

/* The source's cell area and extent (xmin, ymin, xmax, ymax) expressed in the grid's
 * CRS, as gdalwarp would choose them. Returns 0 when they cannot be estimated. */
static int source_on_grid(void *transformer, GDALDatasetH src, double *cell_area, double extent[4])
{
    double gt[6];
    int cols = 0, rows = 0;
    if (GDALSuggestedWarpOutput2(src, GDALGenImgProjTransform, transformer, gt, &cols, &rows,
                                 extent, 0) != CE_None)
        return 0;
    *cell_area = fabs(gt[1] * gt[5]);
    return 1;
}

/* Fails when the source's extent (in the grid's CRS) and the grid's do not meet: every
 * cell would be missing, a sign of the wrong file or CRS rather than of data. */
static cr_status check_overlap(cr_ctx *ctx, const cr_layer *l, const double e[4])
{
    cr_bounds g = cr_grid_bounds(l->grid), b = {e[0], e[1], e[2], e[3]};
    if (b.xmax > g.xmin && b.xmin < g.xmax && b.ymax > g.ymin && b.ymin < g.ymax)
        return CR_OK;
    char what[1100];
    snprintf(what, sizeof what, "raster '%s' does not overlap the analysis grid", l->path);
    return cr_fail_apart(ctx, what, &b, "the grid's", &g, " (in the grid's CRS)");
}

static const char *resampling_for_kind(cr_layer_kind kind, int coarsening)
{
    switch (kind) {
    case CR_KIND_COUNT: return "sum";
    case CR_KIND_CLASS: return "near";
    case CR_KIND_CONTINUOUS: break;
    }
    return coarsening ? "average" : "bilinear";
}

/* GDAL's resampling names (as gdalwarp -r) and their warp kernels. */
static const struct {
    const char *name;
    GDALResampleAlg alg;
} RESAMPLING[] = {
    {"near", GRA_NearestNeighbour}, {"nearest", GRA_NearestNeighbour},
    {"bilinear", GRA_Bilinear},     {"cubic", GRA_Cubic},
    {"cubicspline", GRA_CubicSpline}, {"lanczos", GRA_Lanczos},
    {"average", GRA_Average},       {"mode", GRA_Mode},
    {"max", GRA_Max},               {"min", GRA_Min},
    {"med", GRA_Med},               {"q1", GRA_Q1},
    {"q3", GRA_Q3},                 {"sum", GRA_Sum},
};

/* Looks up a resampling name; returns the table's own copy of the name (so the
 * layer never keeps the caller's string), or NULL when unknown. */
static const char *resampling_alg(const char *name, GDALResampleAlg *alg)
{
    for (size_t i = 0; i < sizeof RESAMPLING / sizeof RESAMPLING[0]; i++) {
        if (strcmp(RESAMPLING[i].name, name) == 0) {
            *alg = RESAMPLING[i].alg;
            return RESAMPLING[i].name;
        }
    }
    return NULL;
}

/* Bytes the warp kernel holds per source cell of a block: the Float64 working value,
 * except for GDAL's sum, which keeps each source cell's footprint on the grid (about
 * 200 to 300 bytes a cell measured with GDAL 3.6.2, and slower the larger the block). */
static double bytes_per_source_cell(GDALResampleAlg alg)
{
    return alg == GRA_Sum ? 256.0 : sizeof(double);
}

/* The side, in grid cells, of a square block whose source window holds about
 * BLOCK_SOURCE_BYTES of the kernel's data, given the source's cell area on the grid
 * (0 when unknown or when the grid is not coarser: GDAL's blocks are kept). */
static int block_side(const cr_layer *l, double src_area, GDALResampleAlg alg)
{
    if (!(src_area > 0.0))
        return 0;
    double cells = cr_grid_cell_area(l->grid) / src_area; /* source cells per grid cell */
    if (!(cells > 1.0))
        return 0;
    double side = floor(sqrt(BLOCK_SOURCE_BYTES / (bytes_per_source_cell(alg) * cells)));
    return side < 1.0 ? 1 : side > 1 << 20 ? 1 << 20 : (int)side;
}

/* Reopens the warped VRT with bx x by blocks. GDAL 3.6's C API sets no block size on a
 * warped VRT, but reads one from the VRT's XML: the VRT is serialised, its
 * BlockXSize/BlockYSize changed and the XML opened. On any failure the VRT is kept as
 * it was (the same cells, read with more memory). */
static void narrow_blocks(cr_layer *l, int bx, int by)
{
    char **md = GDALGetMetadata(l->warped, "xml:VRT");
    CPLXMLNode *tree = md && md[0] ? CPLParseXMLString(md[0]) : NULL;
    CPLXMLNode *root = tree ? CPLGetXMLNode(tree, "=VRTDataset") : NULL;
    if (!root) {
        CPLDestroyXMLNode(tree);
        return;
    }
    char text[32];
    snprintf(text, sizeof text, "%d", bx);
    CPLSetXMLValue(root, "BlockXSize", text);
    snprintf(text, sizeof text, "%d", by);
    CPLSetXMLValue(root, "BlockYSize", text);
    char *xml = CPLSerializeXMLTree(tree);
    CPLDestroyXMLNode(tree);
    GDALDatasetH narrow = xml ? GDALOpenEx(xml, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL)
                              : NULL;
    CPLFree(xml);
    int got_x = 0, got_y = 0;
    if (narrow)
        GDALGetBlockSize(GDALGetRasterBand(narrow, 1), &got_x, &got_y);
    if (!narrow || got_x != bx || got_y != by || GDALGetRasterCount(narrow) != 1) {
        if (narrow)
            GDALClose(narrow);
        CPLErrorReset();
        return;
    }
    GDALClose(l->warped);
    l->warped = narrow;
}

static cr_status open_warped(cr_ctx *ctx, cr_layer *l, const cr_layer_opts *opts)
{
    char **to = CSLSetNameValue(NULL, "DST_SRS", l->grid->crs_wkt);
    void *gen = GDALCreateGenImgProjTransformer2(l->src, NULL, to);
    CSLDestroy(to);
    if (!gen)
        return cr_ctx_fail_gdal(ctx, CR_E_DATA, "raster '%s' cannot be transformed to the grid's CRS",
                                l->path);

    double src_area = 0.0, extent[4];
    int known = source_on_grid(gen, l->src, &src_area, extent);
    cr_status st = known ? check_overlap(ctx, l, extent) : CR_OK;
    if (st != CR_OK) {
        GDALDestroyGenImgProjTransformer(gen);
        return st;
    }
    const char *wanted = opts->resampling;
    if (!wanted) {
        int coarsening = src_area > 0.0 && cr_grid_cell_area(l->grid) > src_area * COARSEN_RATIO;
        wanted = resampling_for_kind(opts->kind, coarsening);
    }
    GDALResampleAlg alg;
    if (!(l->resampling = resampling_alg(wanted, &alg))) {
        GDALDestroyGenImgProjTransformer(gen);
        return cr_ctx_fail(ctx, CR_E_USAGE, "unknown resampling method '%s' for raster '%s'",
                           wanted, l->path);
    }

    GDALSetGenImgProjTransformerDstGeoTransform(gen, l->grid->gt);
    void *approx = GDALCreateApproxTransformer(GDALGenImgProjTransform, gen, APPROX_ERROR);
    GDALApproxTransformerOwnsSubtransformer(approx, TRUE);

    GDALWarpOptions *wo = GDALCreateWarpOptions();
    wo->hSrcDS = l->src;
    wo->eResampleAlg = alg;
    wo->eWorkingDataType = GDT_Float64;
    wo->nBandCount = 1;
    wo->panSrcBands = CPLMalloc(sizeof(int));
    wo->panDstBands = CPLMalloc(sizeof(int));
    wo->panSrcBands[0] = opts->band;
    wo->panDstBands[0] = 1;
    if (l->has_nodata) {
        wo->padfSrcNoDataReal = CPLMalloc(sizeof(double));
        wo->padfSrcNoDataReal[0] = l->nodata;
    }
    wo->padfDstNoDataReal = CPLMalloc(sizeof(double));
    wo->padfDstNoDataReal[0] = NAN;
    wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "INIT_DEST", "NO_DATA");
    wo->pfnTransformer = GDALApproxTransform;
    wo->pTransformerArg = approx;

    /* The VRT takes ownership of the transformer, not of the options. */
    l->warped = GDALCreateWarpedVRT(l->src, l->grid->width, l->grid->height, l->grid->gt, wo);
    GDALDestroyWarpOptions(wo);
    if (!l->warped) {
        GDALDestroyTransformer(approx);
        return cr_ctx_fail_gdal(ctx, CR_E_IO, "cannot warp raster '%s' onto the grid", l->path);
    }
    int bx = GDALGetRasterXSize(l->warped), by = GDALGetRasterYSize(l->warped);
    GDALGetBlockSize(GDALGetRasterBand(l->warped, 1), &bx, &by);
    int side = block_side(l, src_area, alg);
    if (side > 0 && (double)side * side < (double)bx * by)
        narrow_blocks(l, side < bx ? side : bx, side < by ? side : by);
    l->band = GDALGetRasterBand(l->warped, 1);
    GDALSetRasterNoDataValue(l->band, NAN);
    l->has_nodata = 0; /* the VRT marks every invalid cell NaN */
    return CR_OK;
}

static cr_status open_source(cr_ctx *ctx, cr_layer *l, const cr_layer_opts *opts,
                             const cr_polyset_opts *domain);

static cr_status open_layer(cr_ctx *ctx, cr_layer *l, const cr_layer_opts *opts,
                            const cr_polyset_opts *domain)
{
    /* Reading the bands' nodata, masks and metadata may make GDAL read more of the file
     * (a directory, a tag cut short): its warnings go to the log, not to stderr. */
    cr_gdal_begin(ctx);
    cr_status st = open_source(ctx, l, opts, domain);
    cr_gdal_end(ctx);
    return st;
}

/* Reads the polygons of a vector source: the mean of a field, or the union's share. */
static cr_status open_polygons(cr_ctx *ctx, cr_layer *l, const cr_layer_opts *opts,
                               const cr_polyset_opts *domain)
{
    if (opts->kind == CR_KIND_COUNT)
        return cr_ctx_fail(ctx, CR_E_USAGE, "'%s' holds polygons, and a count per cell must come "
                           "from a raster: spread counts per area with cityrisk arrivals --areas",
                           l->path);
    cr_polyset_opts po;
    memset(&po, 0, sizeof po);
    if (domain)
        po = *domain;
    if (opts->vector_layer)
        po.layer = opts->vector_layer;
    if (opts->field)
        po.field = opts->field;
    po.dissolve = !po.field && !po.default_field;
    po.must_meet_grid = 1; /* as a raster that misses the grid (check_overlap()) */
    l->poly_mean = !po.dissolve;
    l->resampling = l->poly_mean ? "coverage-mean" : "coverage-union";
    return cr_polyset_load(ctx, l->path, l->grid, &po, &l->polys);
}

static cr_status open_source(cr_ctx *ctx, cr_layer *l, const cr_layer_opts *opts,
                             const cr_polyset_opts *domain)
{
    cr_status st = cr_open_raster(ctx, l->path, &l->src);
    if (st == CR_E_DATA && (opts->polygons || domain) && cr_holds_polygons(l->path)) {
        cr_ctx_clear_error(ctx);
        return open_polygons(ctx, l, opts, domain);
    }
    if (st != CR_OK)
        return st;
    int bands = GDALGetRasterCount(l->src);
    if (opts->band < 1 || opts->band > bands)
        return cr_ctx_fail(ctx, CR_E_USAGE, "raster '%s' has no band %d (it has %d)", l->path,
                           opts->band, bands);
    const char *wkt = GDALGetProjectionRef(l->src);
    if (!wkt || !*wkt)
        return cr_ctx_fail(ctx, CR_E_DATA, "raster '%s' has no CRS; assign one with gdal_edit.py -a_srs",
                           l->path);
    char name[256];
    const char *kind = cr_crs_not_a_grid(wkt, name, sizeof name);
    if (kind) /* cells in X/Y/Z from the earth's centre, or heights with no place, are no map */
        return cr_ctx_fail(ctx, CR_E_DATA,
                           "raster '%s' has %s (%s); only a projected or geographic 2D CRS places "
                           "its cells on the grid",
                           l->path, kind, name);
    double gt[6];
    if (GDALGetGeoTransform(l->src, gt) != CE_None)
        return cr_ctx_fail(ctx, CR_E_DATA, "raster '%s' has no geotransform", l->path);
    st = cr_check_geotransform(ctx, l->path, gt, GDALGetRasterXSize(l->src),
                               GDALGetRasterYSize(l->src));
    if (st != CR_OK)
        return st;

    GDALRasterBandH band = GDALGetRasterBand(l->src, opts->band);
    l->band_number = opts->band;
    l->nodata = GDALGetRasterNoDataValue(band, &l->has_nodata);
    if (l->has_nodata && GDALGetRasterDataType(band) == GDT_Float32)
        l->nodata = (double)(float)l->nodata; /* compare as the file stores it */
    l->src_has_nodata = l->has_nodata;
    l->src_nodata = l->nodata;
    l->src_width = GDALGetRasterXSize(l->src);
    l->src_height = GDALGetRasterYSize(l->src);

    if (!opts->resampling && lies_on_grid(l, gt, wkt)) {
        /* the source's cells on the grid: columns -offset_x .. src_width - offset_x */
        double extent[4] = {gt[0], gt[3] + l->src_height * gt[5], gt[0] + l->src_width * gt[1],
                            gt[3]};
        if ((st = check_overlap(ctx, l, extent)) != CR_OK)
            return st;
        l->band = band;
        l->resampling = "none";
        int flags = GDALGetMaskFlags(band);
        if (!(flags & (GMF_ALL_VALID | GMF_NODATA)))
            l->mask = GDALGetMaskBand(band);
        return CR_OK;
    }
    return open_warped(ctx, l, opts);
}

cr_status cr_layer_open(cr_ctx *ctx, const char *path, const cr_grid *grid,
                        const cr_layer_opts *opts, cr_layer **out)
{
    return cr_layer_open_ex(ctx, path, grid, opts, NULL, out);
}

cr_status cr_layer_open_ex(cr_ctx *ctx, const char *path, const cr_grid *grid,
                           const cr_layer_opts *opts, const cr_polyset_opts *polygons,
                           cr_layer **out)
{
    cr_layer_opts defaults;
    if (!opts) {
        cr_layer_opts_init(&defaults);
        opts = &defaults;
    }
    *out = NULL;
    cr_layer *l = calloc(1, sizeof *l);
    if (!l || !(l->path = strdup(path)) || !(l->grid = cr_grid_clone(grid))) {
        cr_layer_close(l);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory opening raster '%s'", path);
    }
    cr_status st = open_layer(ctx, l, opts, polygons);
    if (st != CR_OK) {
        cr_layer_close(l);
        return st;
    }
    *out = l;
    return CR_OK;
}

void cr_layer_close(cr_layer *l)
{
    if (!l)
        return;
    if (l->warped)
        GDALClose(l->warped);
    if (l->src)
        GDALClose(l->src);
    cr_polyset_free(l->polys);
    cr_coverage_scratch_free(&l->scratch);
    free(l->wide);
    cr_grid_free(l->grid);
    free(l->path);
    free(l);
}

const char *cr_layer_resampling(const cr_layer *l)
{
    return strcmp(l->resampling, "near") == 0 ? "nearest" : l->resampling;
}

const char *cr_layer_path(const cr_layer *l)
{
    return l->path;
}

int cr_layer_nodata(const cr_layer *l, double *nodata)
{
    if (l->polys) {
        *nodata = NAN;
        return 0;
    }
    *nodata = l->src_nodata;
    return l->src_has_nodata;
}

/* The part of win that falls on the source of a direct read, in grid cells;
 * returns 0 when none does. */
static int source_part(const cr_layer *l, const cr_window *win, cr_window *part)
{
    int x0 = win->x + l->offset_x, y0 = win->y + l->offset_y;
    int x1 = x0 + win->w, y1 = y0 + win->h;
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > l->src_width) x1 = l->src_width;
    if (y1 > l->src_height) y1 = l->src_height;
    if (x1 <= x0 || y1 <= y0)
        return 0;
    part->x = x0 - l->offset_x;
    part->y = y0 - l->offset_y;
    part->w = x1 - x0;
    part->h = y1 - y0;
    return 1;
}

/* Fills n cells of type `type` with NaN. */
static void fill_nan(void *buf, GDALDataType type, size_t n)
{
    if (type == GDT_Float32) {
        for (size_t i = 0; i < n; i++)
            ((float *)buf)[i] = NAN;
    } else {
        for (size_t i = 0; i < n; i++)
            ((double *)buf)[i] = NAN;
    }
}

/* Reads the cells of win into buf (Float32 or Float64, win->w per row). Cells off
 * the source of a direct read are NaN; mask, when non-NULL, receives the mask band
 * (0 off the source). */
static cr_status read_cells(cr_ctx *ctx, cr_layer *l, const cr_window *win, GDALDataType type,
                            void *buf, uint8_t *mask)
{
    int size = GDALGetDataTypeSizeBytes(type);
    size_t n = (size_t)win->w * win->h;
    cr_window part = *win;
    if (!l->warped) {
        int any = source_part(l, win, &part);
        if (!any || part.w != win->w || part.h != win->h) {
            fill_nan(buf, type, n);
            if (mask)
                memset(mask, 0, n);
        }
        if (!any)
            return CR_OK;
    }
    size_t first = (size_t)(part.y - win->y) * win->w + (part.x - win->x);
    int sx = part.x + (l->warped ? 0 : l->offset_x), sy = part.y + (l->warped ? 0 : l->offset_y);
    cr_status st = CR_OK;
    cr_gdal_begin(ctx);
    if (GDALRasterIOEx(l->band, GF_Read, sx, sy, part.w, part.h, (char *)buf + first * size, part.w,
                       part.h, type, size, (GSpacing)win->w * size, NULL) != CE_None)
        st = cr_ctx_fail_gdal(ctx, CR_E_IO, "cannot read raster '%s' at cells %d,%d", l->path,
                              win->x, win->y);
    else if (mask && GDALRasterIOEx(l->mask, GF_Read, sx, sy, part.w, part.h, mask + first, part.w,
                                    part.h, GDT_Byte, 1, win->w, NULL) != CE_None)
        st = cr_ctx_fail_gdal(ctx, CR_E_IO, "cannot read the mask of raster '%s' at cells %d,%d",
                              l->path, win->x, win->y);
    cr_gdal_end(ctx);
    return st;
}

/* Fails on the first infinite value of a window read as type (cell `at` of win). A value
 * that is infinite only in Float32 (a Float64 band beyond Float32's range) is named as the
 * source holds it. */
static cr_status infinite_error(cr_ctx *ctx, cr_layer *l, const cr_window *win, size_t at,
                                double value, GDALDataType type)
{
    char cell[128];
    cr_window one = {win->x + (int)(at % (size_t)win->w), win->y + (int)(at / (size_t)win->w), 1, 1};
    cr_grid_cell_text(l->grid, one.x, one.y, cell, sizeof cell);
    double wide = value;
    if (type == GDT_Float32 && read_cells(ctx, l, &one, GDT_Float64, &wide, NULL) == CR_OK &&
        isfinite(wide))
        return cr_ctx_fail(ctx, CR_E_DATA, "raster '%s' band %d: value %.10g at %s " CR_FLOAT32_HINT,
                           l->path, l->band_number, wide, cell);
    return cr_ctx_fail(ctx, CR_E_DATA,
                       "raster '%s' band %d: value %g at %s is infinite; " CR_INFINITE_HINT,
                       l->path, l->band_number, value, cell);
}

/* The cells of win from the polygons: in Float64, converted when type is Float32. */
static cr_status read_polygons(cr_ctx *ctx, cr_layer *l, const cr_window *win, GDALDataType type,
                               void *values, uint8_t *valid, uint8_t *marked)
{
    size_t n = (size_t)win->w * win->h;
    double *v = values;
    if (type == GDT_Float32) {
        if (n > l->wide_cap) {
            double *grown = realloc(l->wide, n * sizeof *grown);
            if (!grown)
                return cr_ctx_fail(ctx, CR_E_IO, "out of memory reading '%s'", l->path);
            l->wide = grown;
            l->wide_cap = n;
        }
        v = l->wide;
    }
    cr_status st;
    if (l->poly_mean) {
        st = cr_polyset_mean(ctx, l->polys, win, &l->scratch, v, valid, marked);
    } else {
        st = cr_polyset_fraction(ctx, l->polys, win, &l->scratch, v);
        if (valid)
            memset(valid, 1, n);
        if (marked)
            memset(marked, 0, n);
    }
    if (st == CR_OK && type == GDT_Float32)
        for (size_t i = 0; i < n; i++)
            ((float *)values)[i] = (float)v[i];
    return st;
}

cr_status cr_layer_read_marked(cr_ctx *ctx, cr_layer *l, const cr_window *win, float *values,
                               uint8_t *valid, uint8_t *marked)
{
    if (l->polys)
        return read_polygons(ctx, l, win, GDT_Float32, values, valid, marked);
    memset(marked, 0, (size_t)win->w * win->h);
    return cr_layer_read_f32(ctx, l, win, values, valid);
}

cr_status cr_layer_share(cr_ctx *ctx, const cr_layer *model, const cr_layer_opts *opts,
                         cr_layer **out)
{
    if (!model->polys)
        return cr_layer_open(ctx, model->path, model->grid, opts, out);
    *out = NULL;
    cr_layer *l = calloc(1, sizeof *l);
    if (!l || !(l->path = strdup(model->path)) || !(l->grid = cr_grid_clone(model->grid))) {
        cr_layer_close(l);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory opening '%s'", model->path);
    }
    l->polys = cr_polyset_ref(model->polys);
    l->poly_mean = model->poly_mean;
    l->resampling = model->resampling;
    *out = l;
    return CR_OK;
}

const cr_polyset *cr_layer_polygons(const cr_layer *l)
{
    return l->polys;
}

/* Reads win and applies the validity rule; fails on ±Inf. */
static cr_status read_window(cr_ctx *ctx, cr_layer *l, const cr_window *win, GDALDataType type,
                             void *values, uint8_t *valid)
{
    if (l->polys)
        return read_polygons(ctx, l, win, type, values, valid, NULL);
    size_t n = (size_t)win->w * win->h;
    uint8_t *mask = NULL;
    if (l->mask && !(mask = malloc(n)))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory reading raster '%s'", l->path);
    cr_status st = read_cells(ctx, l, win, type, values, mask);
    size_t bad = n;
    if (st == CR_OK && type == GDT_Float32) {
        cr_mark_valid_f32(values, n, mask, l->has_nodata, l->nodata, valid);
        if ((bad = cr_first_infinite_f32(values, n)) < n)
            st = infinite_error(ctx, l, win, bad, ((float *)values)[bad], type);
    } else if (st == CR_OK) {
        cr_mark_valid_f64(values, n, mask, l->has_nodata, l->nodata, valid);
        if ((bad = cr_first_infinite_f64(values, n)) < n)
            st = infinite_error(ctx, l, win, bad, ((double *)values)[bad], type);
    }
    free(mask);
    return st;
}

cr_status cr_layer_read_f32(cr_ctx *ctx, cr_layer *l, const cr_window *win, float *values,
                            uint8_t *valid)
{
    return read_window(ctx, l, win, GDT_Float32, values, valid);
}

cr_status cr_layer_read_f64(cr_ctx *ctx, cr_layer *l, const cr_window *win, double *values,
                            uint8_t *valid)
{
    return read_window(ctx, l, win, GDT_Float64, values, valid);
}
