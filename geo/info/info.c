/* info.c: cr_info(): describe each input by its kind, then compare their extents. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/crs.h"
#include "info_internal.h"
#include "core/internal.h"

void cr_info_opts_init(cr_info_opts *opts)
{
    opts->stats = 1;
    opts->csv_crs = "EPSG:4326";
}

int cr_info_progress_report(const cr_info_progress *p, double complete)
{
    return cr_ctx_progress(p->ctx, p->start + p->span * complete, NULL);
}

void cr_info_warn(json_object *warnings, const char *path, const char *code, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    json_object *w = json_object_new_object();
    json_object_object_add(w, "file", json_object_new_string(path));
    json_object_object_add(w, "code", json_object_new_string(code));
    json_object_object_add(w, "message", json_object_new_string(message));
    json_object_array_add(warnings, w);
}

void cr_info_add_georef(json_object *o, const char *path, const char *wkt, const cr_bounds *bounds,
                        json_object *warnings, cr_info_extent *extent)
{
    json_object *crs = cr_crs_json(wkt);
    json_object_object_add(o, "crs", crs);
    if (!crs)
        cr_info_warn(warnings, path, "no_crs",
                     "'%s' has no CRS: it cannot be overlaid with other layers; assign one (gdal_edit.py -a_srs or ogr2ogr -a_srs)",
                     path);
    if (!bounds)
        return;
    json_object_object_add(o, "extent", cr_json_bounds(bounds, 12));
    extent->known = 1;
    extent->bounds = *bounds;
    if (crs && cr_bounds_to_lonlat(wkt, bounds, &extent->lonlat)) {
        extent->lonlat_known = 1;
        json_object_object_add(o, "extent_lonlat", cr_json_bounds(&extent->lonlat, 9));
    }
}

/* Warns when a raster's CRS is geographic: cells in degrees have no constant area,
 * so suggest the UTM zone of its centre for the analysis grid. */
static void warn_geographic(json_object *desc, const char *path, const cr_info_extent *e,
                            json_object *warnings)
{
    json_object *crs = NULL, *geographic = NULL;
    if (!json_object_object_get_ex(desc, "crs", &crs) || !crs ||
        !json_object_object_get_ex(crs, "geographic", &geographic) ||
        !json_object_get_boolean(geographic) || !e->lonlat_known)
        return;
    double lon = (e->lonlat.xmin + e->lonlat.xmax) / 2, lat = (e->lonlat.ymin + e->lonlat.ymax) / 2;
    int epsg = cr_utm_epsg(lon, lat);
    cr_info_warn(warnings, path, "geographic_crs",
                 "'%s' has a geographic CRS (degrees): for a metric analysis grid use WGS 84 / UTM zone %d%s (EPSG:%d) at its centre",
                 path, epsg % 100, epsg >= 32700 ? "S" : "N", epsg);
}

/* 1 when name ends with suffix, case-insensitively. */
static int ends_with(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n > k && strcasecmp(name + n - k, suffix) == 0;
}

/* 1 when one of the paths is the Shapefile stem.shp (stem: the first n characters). */
static int lists_shapefile(const char *const *paths, int count, const char *stem, size_t n)
{
    for (int i = 0; i < count; i++)
        if (strlen(paths[i]) == n + 4 && strncmp(paths[i], stem, n) == 0 && ends_with(paths[i], ".shp"))
            return 1;
    return 0;
}

/* What the file at path is a sidecar of (a file GDAL, OGR or QGIS reads along with a
 * dataset, never on its own), NULL when it is none. A shell's glob of a folder lists them
 * beside their datasets: they are skipped with a warning rather than stopping the report.
 * A .dbf or .shx is a sidecar only when its .shp is listed too (a lone .dbf is a table OGR
 * reads). */
static const char *sidecar_kind(const char *path, const char *const *paths, int count)
{
    static const struct {
        const char *suffix, *kind;
    } SIDECARS[] = {
        {".aux.xml", "GDAL's auxiliary metadata"},
        {".fields.csv", "the full field names of a Shapefile"},
        {".cpg", "a Shapefile's code page"},
        {".prj", "a CRS definition"},
        {".qml", "a QGIS style"},
        {".qix", "a Shapefile's spatial index"},
        {".sbn", "a Shapefile's spatial index"},
        {".sbx", "a Shapefile's spatial index"},
        {".ovr", "external overviews"},
        {".msk", "a mask band"},
        {".tfw", "a world file"},
        {".wld", "a world file"},
        {".pgw", "a world file"},
        {".jgw", "a world file"},
    };
    for (size_t i = 0; i < sizeof SIDECARS / sizeof *SIDECARS; i++)
        if (ends_with(path, SIDECARS[i].suffix))
            return SIDECARS[i].kind;
    if ((ends_with(path, ".dbf") || ends_with(path, ".shx")) &&
        lists_shapefile(paths, count, path, strlen(path) - 4))
        return ends_with(path, ".dbf") ? "the attributes of a Shapefile listed"
                                       : "the index of a Shapefile listed";
    return NULL;
}

static int has_csv_extension(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot && (strcasecmp(dot, ".csv") == 0 || strcasecmp(dot, ".tsv") == 0);
}

/* Describes one input by what it is: CSV by its extension (read by the project's
 * own reader, which knows HXL rows and line numbers), else whatever GDAL opens. */
static cr_status describe(cr_ctx *ctx, const char *path, const cr_info_opts *opts,
                          const cr_info_progress *progress, json_object *warnings,
                          json_object **out, cr_info_extent *extent)
{
    if (has_csv_extension(path))
        return cr_info_csv(ctx, path, opts, warnings, out, extent);
    cr_status st = cr_check_input_path(ctx, path, "file");
    if (st != CR_OK)
        return st;
    cr_gdal_begin(ctx);
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_VECTOR | GDAL_OF_READONLY |
                                           GDAL_OF_VERBOSE_ERROR, NULL, NULL, NULL);
    if (!ds) {
        const char *msg = cr_gdal_message(ctx);
        if (!*msg || strstr(msg, "not recognized"))
            st = cr_ctx_fail(ctx, CR_E_DATA, "cannot open '%s': not a raster or vector format GDAL can read", path);
        else
            st = cr_ctx_fail_gdal(ctx, CR_E_DATA, "cannot open '%s'", path);
    }
    cr_gdal_end(ctx);
    if (st != CR_OK)
        return st;
    if (GDALGetRasterCount(ds) > 0) {
        st = cr_info_raster(ctx, path, ds, opts, progress, warnings, out, extent);
        if (st == CR_OK)
            warn_geographic(*out, path, extent, warnings);
    } else {
        st = cr_info_vector(ctx, path, ds, warnings, out, extent);
    }
    GDALClose(ds);
    return st;
}

cr_status cr_info(cr_ctx *ctx, const char *const *paths, int count, const cr_info_opts *opts,
                  json_object **out)
{
    cr_info_opts defaults;
    if (!opts) {
        cr_info_opts_init(&defaults);
        opts = &defaults;
    }
    *out = NULL;
    cr_info_extent *extents = calloc(count > 0 ? (size_t)count : 1, sizeof *extents);
    if (!extents)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory describing inputs");
    /* The paths described, in order: the sidecars are left out. */
    const char **described = calloc(count > 0 ? (size_t)count : 1, sizeof *described);
    if (!described) {
        free(extents);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory describing inputs");
    }
    json_object *report = json_object_new_object(), *inputs = json_object_new_array(),
                *warnings = json_object_new_array();
    json_object_object_add(report, "inputs", inputs);
    cr_status st = CR_OK;
    int n = 0;
    for (int i = 0; i < count && st == CR_OK; i++) {
        const char *kind = sidecar_kind(paths[i], paths, count);
        if (kind) {
            cr_info_warn(warnings, paths[i], "sidecar",
                         "'%s' is a sidecar file (%s), read along with the dataset it belongs to: "
                         "skipped", paths[i], kind);
            continue;
        }
        cr_info_progress progress = {ctx, (double)i / count, 1.0 / count};
        json_object *desc = NULL;
        st = describe(ctx, paths[i], opts, &progress, warnings, &desc, &extents[n]);
        if (st == CR_OK) {
            json_object_array_add(inputs, desc);
            described[n++] = paths[i];
        }
    }
    if (st == CR_OK) {
        cr_info_compare(report, described, extents, n, warnings);
        json_object_object_add(report, "warnings", warnings);
        cr_ctx_progress(ctx, 1.0, NULL);
        *out = report;
    } else {
        json_object_put(warnings);
        json_object_put(report);
    }
    free(extents);
    free(described);
    return st;
}
