/* sea.c: the sea from a polygon layer or a raster mask, tile by tile. */
#define _POSIX_C_SOURCE 200809L
#include "sea.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gdal_alg.h>
#include <ogr_api.h>

#include "cityrisk/raster.h"
#include "core/internal.h"

struct cr_sea_source {
    char *path;
    cr_layer *raster;     /* a raster mask, or NULL */
    OGRGeometryH *polygons; /* in the grid's CRS, or NULL */
    OGREnvelope *envelopes;
    int count;
    cr_grid *grid;
    float *values;
    size_t capacity;
};

/* Reads every polygon of the first layer, reprojected to the grid's CRS. */
static cr_status load_polygons(cr_ctx *ctx, cr_sea_source *s, GDALDatasetH ds)
{
    OGRLayerH layer = GDALDatasetGetLayer(ds, 0);
    if (!layer)
        return cr_ctx_fail(ctx, CR_E_DATA, "sea file '%s' has no layer", s->path);
    OGRSpatialReferenceH src = OGR_L_GetSpatialRef(layer);
    if (!src)
        return cr_ctx_fail(ctx, CR_E_DATA, "sea file '%s' has no CRS", s->path);
    OGRSpatialReferenceH dst = cr_srs_from_wkt(s->grid->crs_wkt);
    OGRSpatialReferenceH src_gis = OSRClone(src);
    OSRSetAxisMappingStrategy(src_gis, OAMS_TRADITIONAL_GIS_ORDER);
    OGRCoordinateTransformationH ct = dst ? OCTNewCoordinateTransformation(src_gis, dst) : NULL;
    cr_status st = ct ? CR_OK : cr_ctx_fail_gdal(ctx, CR_E_DATA, "sea file '%s' cannot be transformed to the grid's CRS", s->path);
    OGRFeatureH f;
    OGR_L_ResetReading(layer);
    while (st == CR_OK && (f = OGR_L_GetNextFeature(layer)) != NULL) {
        OGRGeometryH g = OGR_F_StealGeometry(f);
        OGR_F_Destroy(f);
        OGRwkbGeometryType type = g ? wkbFlatten(OGR_G_GetGeometryType(g)) : wkbUnknown;
        if (!g || (type != wkbPolygon && type != wkbMultiPolygon)) {
            if (g)
                OGR_G_DestroyGeometry(g);
            continue; /* only areas make a sea */
        }
        if (OGR_G_Transform(g, ct) != OGRERR_NONE) {
            OGR_G_DestroyGeometry(g);
            st = cr_ctx_fail_gdal(ctx, CR_E_DATA, "sea file '%s': a polygon cannot be reprojected", s->path);
            break;
        }
        OGRGeometryH *grown = realloc(s->polygons, sizeof *grown * (size_t)(s->count + 1));
        OGREnvelope *env = realloc(s->envelopes, sizeof *env * (size_t)(s->count + 1));
        if (grown)
            s->polygons = grown;
        if (env)
            s->envelopes = env;
        if (!grown || !env) {
            OGR_G_DestroyGeometry(g);
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory reading sea file '%s'", s->path);
            break;
        }
        OGR_G_GetEnvelope(g, &s->envelopes[s->count]);
        s->polygons[s->count++] = g;
    }
    if (st == CR_OK && s->count == 0)
        st = cr_ctx_fail(ctx, CR_E_DATA, "sea file '%s' holds no polygons", s->path);
    if (ct)
        OCTDestroyCoordinateTransformation(ct);
    OSRDestroySpatialReference(src_gis);
    if (dst)
        OSRDestroySpatialReference(dst);
    return st;
}

cr_status cr_sea_source_open(cr_ctx *ctx, const char *path, const cr_grid *grid,
                             cr_sea_source **out)
{
    *out = NULL;
    GDALDatasetH ds = NULL;
    cr_status st = cr_open_dataset(ctx, path, "sea file", "raster or vector",
                                   GDAL_OF_RASTER | GDAL_OF_VECTOR, &ds);
    if (st != CR_OK)
        return st;
    cr_sea_source *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path)) || !(s->grid = cr_grid_clone(grid))) {
        cr_sea_source_close(s);
        GDALClose(ds);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory reading sea file '%s'", path);
    }
    cr_gdal_begin(ctx);
    if (GDALGetRasterCount(ds) > 0) {
        cr_layer_opts lo;
        cr_layer_opts_init(&lo);
        lo.kind = CR_KIND_CLASS;
        st = cr_layer_open(ctx, path, grid, &lo, &s->raster);
    } else {
        st = load_polygons(ctx, s, ds);
    }
    GDALClose(ds);
    cr_gdal_end(ctx);
    if (st != CR_OK) {
        cr_sea_source_close(s);
        return st;
    }
    *out = s;
    return CR_OK;
}

static cr_status rasterize(cr_ctx *ctx, cr_sea_source *s, const cr_window *win, uint8_t *sea)
{
    const double *g = s->grid->gt;
    double x0 = g[0] + win->x * g[1], y0 = g[3] + win->y * g[5];
    double x1 = x0 + win->w * g[1], y1 = y0 + win->h * g[5];
    memset(sea, 0, (size_t)win->w * win->h);
    GDALDatasetH mem = GDALCreate(GDALGetDriverByName("MEM"), "", win->w, win->h, 1, GDT_Byte, NULL);
    if (!mem)
        return cr_ctx_fail_gdal(ctx, CR_E_IO, "cannot rasterize sea file '%s'", s->path);
    double gt[6] = {x0, g[1], 0, y0, 0, g[5]};
    GDALSetGeoTransform(mem, gt);
    int band = 1;
    double burn = 1.0;
    cr_status st = CR_OK;
    for (int i = 0; i < s->count && st == CR_OK; i++) {
        const OGREnvelope *e = &s->envelopes[i];
        if (e->MaxX < x0 || e->MinX > x1 || e->MaxY < y1 || e->MinY > y0)
            continue;
        if (GDALRasterizeGeometries(mem, 1, &band, 1, &s->polygons[i], NULL, NULL, &burn, NULL,
                                    NULL, NULL) != CE_None)
            st = cr_ctx_fail_gdal(ctx, CR_E_IO, "cannot rasterize sea file '%s'", s->path);
    }
    if (st == CR_OK &&
        GDALRasterIO(GDALGetRasterBand(mem, 1), GF_Read, 0, 0, win->w, win->h, sea, win->w, win->h,
                     GDT_Byte, 0, 0) != CE_None)
        st = cr_ctx_fail_gdal(ctx, CR_E_IO, "cannot rasterize sea file '%s'", s->path);
    GDALClose(mem);
    return st;
}

cr_status cr_sea_source_read(cr_ctx *ctx, cr_sea_source *s, const cr_window *win, uint8_t *sea)
{
    if (!s->raster) {
        cr_gdal_begin(ctx);
        cr_status st = rasterize(ctx, s, win, sea);
        cr_gdal_end(ctx);
        return st;
    }
    size_t n = (size_t)win->w * win->h;
    if (n > s->capacity) {
        float *grown = realloc(s->values, n * sizeof *grown);
        if (!grown)
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory reading sea file '%s'", s->path);
        s->values = grown;
        s->capacity = n;
    }
    cr_status st = cr_layer_read_f32(ctx, s->raster, win, s->values, NULL);
    for (size_t i = 0; st == CR_OK && i < n; i++)
        sea[i] = !isnan(s->values[i]) && s->values[i] != 0.0f;
    return st;
}

void cr_sea_source_close(cr_sea_source *s)
{
    if (!s)
        return;
    cr_layer_close(s->raster);
    for (int i = 0; i < s->count; i++)
        OGR_G_DestroyGeometry(s->polygons[i]);
    free(s->polygons);
    free(s->envelopes);
    cr_grid_free(s->grid);
    free(s->values);
    free(s->path);
    free(s);
}
