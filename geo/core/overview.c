/* overview.c: overview levels filled by 2 x 2 reduction, tile by tile. */
#include "overview.h"

#include <math.h>
#include <stdlib.h>

#include "cityrisk/grid.h"
#include "internal.h"

int cr_overview_factors(int width, int height, int block, int factors[CR_OVERVIEW_MAX_LEVELS])
{
    int n = 0;
    for (int f = 2; n < CR_OVERVIEW_MAX_LEVELS; f *= 2) {
        int w = (width + f / 2 - 1) / (f / 2), h = (height + f / 2 - 1) / (f / 2);
        if (w <= block && h <= block)
            break; /* the level above already fits in a tile */
        factors[n++] = f;
    }
    return n;
}

static int is_valid(float v, float nodata)
{
    return v == v && v != nodata;
}

void cr_overview_reduce(const float *src, int sw, int sh, float *dst, int dw, int dh, float nodata,
                        int categorical)
{
    for (int y = 0; y < dh; y++) {
        for (int x = 0; x < dw; x++) {
            float v[4];
            int n = 0;
            for (int dy = 0; dy < 2 && 2 * y + dy < sh; dy++)
                for (int dx = 0; dx < 2 && 2 * x + dx < sw; dx++) {
                    float s = src[(size_t)(2 * y + dy) * (size_t)sw + (size_t)(2 * x + dx)];
                    if (is_valid(s, nodata))
                        v[n++] = s;
                }
            float out = nodata;
            if (n && !categorical) {
                double sum = 0;
                for (int i = 0; i < n; i++)
                    sum += v[i];
                out = (float)(sum / n);
            } else if (n) {
                int best = 0, best_count = 0;
                for (int i = 0; i < n; i++) {
                    int count = 0;
                    for (int k = 0; k < n; k++)
                        count += v[k] == v[i];
                    if (count > best_count || (count == best_count && v[i] > v[best]))
                        best = i, best_count = count;
                }
                out = v[best];
            }
            dst[(size_t)y * (size_t)dw + (size_t)x] = out;
        }
    }
}

/* Fills overview level `to` of a band from the level above it (`from`). */
static cr_status fill_level(cr_ctx *ctx, GDALRasterBandH from, GDALRasterBandH to, const char *path,
                            float nodata, int categorical, float *src, float *dst)
{
    int sw = GDALGetRasterBandXSize(from), sh = GDALGetRasterBandYSize(from);
    int dw = GDALGetRasterBandXSize(to), dh = GDALGetRasterBandYSize(to);
    if (dw != (sw + 1) / 2 || dh != (sh + 1) / 2)
        return cr_ctx_fail(ctx, CR_E_IO, "'%s': overview of %dx%d cells under %dx%d is not a halving",
                           path, dw, dh, sw, sh);
    const int t = CR_BLOCK_SIZE;
    for (int y = 0; y < dh; y += t) {
        for (int x = 0; x < dw; x += t) {
            int ow = dw - x < t ? dw - x : t, oh = dh - y < t ? dh - y : t;
            int iw = sw - 2 * x < 2 * ow ? sw - 2 * x : 2 * ow;
            int ih = sh - 2 * y < 2 * oh ? sh - 2 * y : 2 * oh;
            if (GDALRasterIO(from, GF_Read, 2 * x, 2 * y, iw, ih, src, iw, ih, GDT_Float32, 0, 0) !=
                CE_None)
                return cr_ctx_fail_gdal(ctx, CR_E_IO, "cannot read back '%s' for its overviews", path);
            cr_overview_reduce(src, iw, ih, dst, ow, oh, nodata, categorical);
            if (GDALRasterIO(to, GF_Write, x, y, ow, oh, dst, ow, oh, GDT_Float32, 0, 0) != CE_None)
                return cr_ctx_fail_gdal(ctx, CR_E_IO, "cannot write the overviews of '%s'", path);
        }
    }
    return CR_OK;
}

cr_status cr_overviews_fill(cr_ctx *ctx, GDALDatasetH ds, const char *path, float nodata,
                            const int *categorical, int filled)
{
    const size_t t = CR_BLOCK_SIZE;
    float *src = malloc(4 * t * t * sizeof *src), *dst = malloc(t * t * sizeof *dst);
    cr_status st = src && dst ? CR_OK : cr_ctx_fail(ctx, CR_E_IO, "out of memory writing '%s'", path);
    cr_gdal_begin(ctx);
    for (int b = 1; st == CR_OK && b <= GDALGetRasterCount(ds); b++) {
        GDALRasterBandH band = GDALGetRasterBand(ds, b), from = band;
        int levels = GDALGetOverviewCount(band);
        for (int k = 0; st == CR_OK && k < levels; k++) {
            GDALRasterBandH to = GDALGetOverview(band, k);
            if (k >= filled)
                st = fill_level(ctx, from, to, path, nodata, categorical && categorical[b - 1],
                                src, dst);
            from = to;
        }
    }
    cr_gdal_end(ctx);
    free(src);
    free(dst);
    return st;
}
