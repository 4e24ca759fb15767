/* info_raster.c: describing a raster: size, bands, CRS, extent, nodata, statistics. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>

#include "core/crs.h"
#include "info_internal.h"
#include "core/internal.h"

/* The most cells of a band whose statistics info reads: about 17 GB of Float32, a
 * minute or so. Beyond, reading every cell would take hours (a VRT may claim 10^12
 * cells in a kilobyte), so the band is described without them and a warning says so. */
static const double STATS_MAX_CELLS = 4294967296.0;

/* Running min, max and mean of the valid cells of a band, and its infinite cells, which
 * no command reads and the statistics leave out. */
typedef struct band_stats {
    double min, max, sum;
    uint64_t valid, cells, infinite;
} band_stats;

static void add_cells(band_stats *s, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i]))
            continue;
        if (isinf(v[i])) {
            s->infinite++;
            continue;
        }
        if (s->valid == 0 || v[i] < s->min)
            s->min = v[i];
        if (s->valid == 0 || v[i] > s->max)
            s->max = v[i];
        s->sum += v[i];
        s->valid++;
    }
    s->cells += n;
}

/* Reads the band block by block (the shared validity rule applies) and adds its
 * statistics. `done` and `total` count cells over all bands for progress. */
static cr_status band_statistics(cr_ctx *ctx, const char *path, GDALRasterBandH band,
                                 const cr_info_progress *progress, uint64_t *done, uint64_t total,
                                 band_stats *s)
{
    int width = GDALGetRasterBandXSize(band), height = GDALGetRasterBandYSize(band);
    int has_nodata = 0, flags = GDALGetMaskFlags(band);
    double nodata = GDALGetRasterNoDataValue(band, &has_nodata);
    GDALRasterBandH mask_band = (flags & (GMF_ALL_VALID | GMF_NODATA)) ? NULL : GDALGetMaskBand(band);
    /* Only the size of this grid is used: to walk the band in output-sized blocks. */
    cr_grid extent = {NULL, {0, 1, 0, 0, 0, -1}, width, height};
    double *values = malloc((size_t)CR_BLOCK_SIZE * CR_BLOCK_SIZE * sizeof *values);
    uint8_t *mask = mask_band ? malloc((size_t)CR_BLOCK_SIZE * CR_BLOCK_SIZE) : NULL;
    if (!values || (mask_band && !mask)) {
        free(values);
        free(mask);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory reading raster '%s'", path);
    }
    cr_status st = CR_OK;
    int64_t windows = cr_grid_window_count(&extent, CR_BLOCK_SIZE);
    cr_gdal_begin(ctx);
    for (int64_t i = 0; i < windows && st == CR_OK; i++) {
        cr_window w = cr_grid_window(&extent, CR_BLOCK_SIZE, i);
        size_t n = (size_t)w.w * w.h;
        if (GDALRasterIO(band, GF_Read, w.x, w.y, w.w, w.h, values, w.w, w.h, GDT_Float64, 0, 0) !=
                CE_None ||
            (mask && GDALRasterIO(mask_band, GF_Read, w.x, w.y, w.w, w.h, mask, w.w, w.h, GDT_Byte,
                                  0, 0) != CE_None)) {
            st = cr_ctx_fail_gdal(ctx, CR_E_IO, "cannot read raster '%s' at cells %d,%d", path,
                                  w.x, w.y);
            break;
        }
        cr_mark_valid_f64(values, n, mask, has_nodata, nodata, NULL);
        add_cells(s, values, n);
        *done += n;
        if (!cr_info_progress_report(progress, (double)*done / (double)total))
            st = cr_ctx_fail(ctx, CR_E_CANCELLED, "reading '%s' was cancelled", path);
    }
    cr_gdal_end(ctx);
    free(values);
    free(mask);
    return st;
}

static json_object *describe_band(GDALRasterBandH band, int number, const band_stats *s)
{
    json_object *b = json_object_new_object();
    json_object_object_add(b, "band", json_object_new_int(number));
    json_object_object_add(b, "type",
                           json_object_new_string(GDALGetDataTypeName(GDALGetRasterDataType(band))));
    json_object_object_add(b, "description", json_object_new_string(GDALGetDescription(band)));
    const char *unit = GDALGetRasterUnitType(band);
    json_object_object_add(b, "unit", json_object_new_string(unit ? unit : ""));
    int has_nodata = 0;
    double nodata = GDALGetRasterNoDataValue(band, &has_nodata);
    if (has_nodata && isnan(nodata))
        json_object_object_add(b, "nodata", json_object_new_string("nan"));
    else
        json_object_object_add(b, "nodata", has_nodata ? cr_json_number(nodata, 10) : NULL);
    if (s) {
        json_object_object_add(b, "min", s->valid ? cr_json_number(s->min, 10) : NULL);
        json_object_object_add(b, "max", s->valid ? cr_json_number(s->max, 10) : NULL);
        json_object_object_add(b, "mean",
                               s->valid ? cr_json_number(s->sum / (double)s->valid, 10) : NULL);
        json_object_object_add(b, "valid_cells", json_object_new_int64((int64_t)s->valid));
        json_object_object_add(b, "infinite_cells", json_object_new_int64((int64_t)s->infinite));
    }
    return b;
}

/* 1 when no band declares nodata or carries a mask. */
static int declares_no_nodata(GDALDatasetH ds)
{
    for (int i = 1; i <= GDALGetRasterCount(ds); i++) {
        int flags = GDALGetMaskFlags(GDALGetRasterBand(ds, i));
        if (!(flags & GMF_ALL_VALID))
            return 0;
    }
    return 1;
}

cr_status cr_info_raster(cr_ctx *ctx, const char *path, GDALDatasetH ds, const cr_info_opts *opts,
                         const cr_info_progress *progress, json_object *warnings, json_object **out,
                         cr_info_extent *extent)
{
    json_object *o = json_object_new_object();
    int width = GDALGetRasterXSize(ds), height = GDALGetRasterYSize(ds), bands = GDALGetRasterCount(ds);
    json_object_object_add(o, "file", json_object_new_string(path));
    json_object_object_add(o, "kind", json_object_new_string("raster"));
    json_object_object_add(o, "driver", json_object_new_string(GDALGetDriverShortName(GDALGetDatasetDriver(ds))));
    json_object *size = json_object_new_array();
    json_object_array_add(size, json_object_new_int(width));
    json_object_array_add(size, json_object_new_int(height));
    json_object_object_add(o, "size", size);

    double gt[6];
    int has_gt = GDALGetGeoTransform(ds, gt) == CE_None;
    if (has_gt && cr_check_geotransform(ctx, path, gt, width, height) != CR_OK) {
        /* Described, as info describes what it can; an extent of NaN corners would only
         * show as nulls and take part in the overlap comparison. */
        cr_info_warn(warnings, path, "invalid_geotransform", "%s", cr_ctx_error(ctx));
        cr_ctx_clear_error(ctx);
        cr_info_add_georef(o, path, GDALGetProjectionRef(ds), NULL, warnings, extent);
    } else if (has_gt) {
        json_object *res = json_object_new_array();
        json_object_array_add(res, cr_json_number(fabs(gt[1]), 12));
        json_object_array_add(res, cr_json_number(fabs(gt[5]), 12));
        json_object_object_add(o, "resolution", res);
        double xs[4] = {gt[0], gt[0] + width * gt[1], gt[0] + height * gt[2],
                        gt[0] + width * gt[1] + height * gt[2]};
        double ys[4] = {gt[3], gt[3] + width * gt[4], gt[3] + height * gt[5],
                        gt[3] + width * gt[4] + height * gt[5]};
        cr_bounds b = {xs[0], ys[0], xs[0], ys[0]};
        for (int i = 1; i < 4; i++) {
            b.xmin = fmin(b.xmin, xs[i]), b.xmax = fmax(b.xmax, xs[i]);
            b.ymin = fmin(b.ymin, ys[i]), b.ymax = fmax(b.ymax, ys[i]);
        }
        cr_info_add_georef(o, path, GDALGetProjectionRef(ds), &b, warnings, extent);
    } else {
        cr_info_warn(warnings, path, "no_georeference", "'%s' has no geotransform: it cannot be placed on a map", path);
        cr_info_add_georef(o, path, GDALGetProjectionRef(ds), NULL, warnings, extent);
    }
    if (declares_no_nodata(ds))
        cr_info_warn(warnings, path, "no_nodata",
                     "'%s' declares no nodata value: every cell, including fill values, counts as data; set one with gdal_edit.py -a_nodata",
                     path);

    json_object *list = json_object_new_array();
    json_object_object_add(o, "bands", list);
    uint64_t done = 0, total = (uint64_t)width * (uint64_t)height * (uint64_t)bands;
    cr_status st = CR_OK;
    int stats = opts->stats && (double)width * height <= STATS_MAX_CELLS;
    if (opts->stats && !stats)
        cr_info_warn(warnings, path, "too_large_for_stats",
                     "'%s' has %d x %d cells (%.0f GB as Float32): its statistics are left out, as "
                     "reading every cell would take hours (gdalinfo -approx_stats estimates them)",
                     path, width, height, 4.0 * width * (double)height / 1e9);
    for (int i = 1; i <= bands && st == CR_OK; i++) {
        GDALRasterBandH band = GDALGetRasterBand(ds, i);
        band_stats s = {0};
        if (stats)
            st = band_statistics(ctx, path, band, progress, &done, total, &s);
        if (st == CR_OK && s.infinite)
            cr_info_warn(warnings, path, "infinite",
                         "'%s' band %d has %llu infinite cells (+Inf or -Inf), left out of its "
                         "statistics; " CR_INFINITE_HINT,
                         path, i, (unsigned long long)s.infinite);
        json_object_array_add(list, describe_band(band, i, stats ? &s : NULL));
    }
    if (st != CR_OK) {
        json_object_put(o);
        return st;
    }
    *out = o;
    return CR_OK;
}
