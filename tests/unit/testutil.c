/* testutil.c: helpers for the unit tests. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <ogr_srs_api.h>

#include "cityrisk/raster.h"

char *tu_mkdtemp(void)
{
    char *dir = strdup("/tmp/cityrisk-test.XXXXXX");
    assert_non_null(dir);
    assert_non_null(mkdtemp(dir));
    return dir;
}

void tu_rmdir(char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
    free(dir);
}

int tu_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

static char *epsg_wkt(int epsg)
{
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    assert_int_equal(OSRImportFromEPSG(srs, epsg), OGRERR_NONE);
    char *wkt = NULL;
    OSRExportToWkt(srs, &wkt);
    OSRDestroySpatialReference(srs);
    return wkt;
}

void tu_write_raster(const char *path, int epsg, double x0, double y0, double res, int width,
                     int height, const float *values, int has_nodata, double nodata)
{
    GDALAllRegister();
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, width, height, 1, GDT_Float32, NULL);
    assert_non_null(ds);
    double gt[6] = {x0, res, 0, y0, 0, -res};
    GDALSetGeoTransform(ds, gt);
    if (epsg) {
        char *wkt = epsg_wkt(epsg);
        GDALSetProjection(ds, wkt);
        CPLFree(wkt);
    }
    GDALRasterBandH band = GDALGetRasterBand(ds, 1);
    if (has_nodata)
        GDALSetRasterNoDataValue(band, nodata);
    assert_int_equal(GDALRasterIO(band, GF_Write, 0, 0, width, height, (void *)values, width, height,
                                  GDT_Float32, 0, 0),
                     CE_None);
    GDALClose(ds);
}

cr_grid *tu_grid(int epsg, double x0, double y0, double res, int width, int height)
{
    char *wkt = epsg_wkt(epsg);
    double gt[6] = {x0, res, 0, y0, 0, -res};
    cr_ctx *ctx = cr_ctx_new();
    cr_grid *grid = NULL;
    assert_int_equal(cr_grid_new(ctx, wkt, gt, width, height, &grid), CR_OK);
    cr_ctx_free(ctx);
    CPLFree(wkt);
    return grid;
}

double tu_layer_sum(cr_ctx *ctx, const char *path, const cr_grid *grid, int kind, const char **resampling)
{
    cr_layer_opts opts;
    cr_layer_opts_init(&opts);
    opts.kind = (cr_layer_kind)kind;
    cr_layer *layer = NULL;
    assert_int_equal(cr_layer_open(ctx, path, grid, &opts, &layer), CR_OK);
    if (resampling)
        *resampling = cr_layer_resampling(layer);
    double sum = 0.0;
    for (int64_t i = 0; i < cr_grid_window_count(grid, 256); i++) {
        cr_window w = cr_grid_window(grid, 256, i);
        double *v = malloc(sizeof *v * (size_t)w.w * w.h);
        assert_int_equal(cr_layer_read_f64(ctx, layer, &w, v, NULL), CR_OK);
        for (int k = 0; k < w.w * w.h; k++)
            if (!isnan(v[k]))
                sum += v[k];
        free(v);
    }
    cr_layer_close(layer);
    return sum;
}

char *tu_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    assert_non_null(path);
    snprintf(path, n, "%s/%s", dir, name);
    return path;
}

char *tu_write_file(const char *dir, const char *name, const char *text)
{
    char *path = tu_path(dir, name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
    return path;
}

uint64_t tu_rng_state;

uint64_t tu_rng_next(void)
{
    tu_rng_state ^= tu_rng_state >> 12;
    tu_rng_state ^= tu_rng_state << 25;
    tu_rng_state ^= tu_rng_state >> 27;
    return tu_rng_state * UINT64_C(2685821657736338717);
}

double tu_rng_unit(void)
{
    return (double)(tu_rng_next() >> 11) / 9007199254740992.0; /* [0, 1) */
}
