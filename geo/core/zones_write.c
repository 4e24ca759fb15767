/* zonal_write.c: the zones with their statistics, as RFC 7946 GeoJSON or any OGR format.
 *
 * The source layer is read a second time, feature by feature in the same order as for
 * the statistics, and each feature is written with all its attributes, its original
 * geometry and one field per statistic: nothing but the results is held in memory.
 * The output is written in a hidden folder beside the destination and moved into place
 * when complete (a Shapefile's files one by one). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cpl_string.h>
#include <json-c/json.h>
#include <ogr_api.h>

#include "cityrisk/json.h"
#include "core/internal.h"
#include "core/output.h"
#include "core/text.h"
#include "core/vsiwatch.h"
#include "core/zones.h"

/* The longest field name of a dBase file, hence of a Shapefile. */
#define DBF_NAME_MAX 10

/* Word abbreviations for Shapefile field names, so that the shortened names stay
 * readable ("arrivals_flooded_share" -> "arr_fld_sh"). */
static const char *const ABBREVIATIONS[][2] = {
    {"arrivals", "arr"}, {"flooded", "fld"}, {"flood", "fld"},  {"share", "sh"},
    {"informal", "inf"}, {"water", "wat"},   {"stress", "st"},  {"score", "sc"},
    {"mean", "mn"},      {"total", "tot"},   {"area", "ar"},    {"coverage", "cov"},
    {"compound", "cmp"}, {"uplift", "upl"},  {"high", "hi"},    {"per", "p"},
    {"data", "dat"},     {"class", "cls"},   {"rank", "rk"},    {"median", "med"},
    {"stdev", "sd"},     {"count", "n"},     {"weighted", "w"}, {"majority", "maj"},
    {"frac", "fr"},      {"sum", "s"},       {"max", "mx"},     {"min", "mi"},
};

/* A name of at most DBF_NAME_MAX characters: words abbreviated, then underscores
 * dropped, then cut. */
static void shorten(const char *name, char *out, size_t size)
{
    char buf[256] = "";
    const char *p = name;
    while (*p) {
        size_t len = strcspn(p, "_");
        const char *word = p, *abbr = NULL;
        for (size_t k = 0; k < sizeof ABBREVIATIONS / sizeof *ABBREVIATIONS; k++)
            if (strlen(ABBREVIATIONS[k][0]) == len && strncmp(ABBREVIATIONS[k][0], word, len) == 0)
                abbr = ABBREVIATIONS[k][1];
        if (*buf)
            strncat(buf, "_", sizeof buf - strlen(buf) - 1);
        if (abbr)
            strncat(buf, abbr, sizeof buf - strlen(buf) - 1);
        else
            strncat(buf, word, len < sizeof buf - strlen(buf) - 1 ? len : sizeof buf - strlen(buf) - 1);
        p += len + (p[len] == '_');
    }
    if (strlen(buf) > DBF_NAME_MAX) {
        size_t j = 0;
        for (size_t i = 0; buf[i]; i++)
            if (buf[i] != '_')
                buf[j++] = buf[i];
        buf[j] = '\0';
    }
    buf[DBF_NAME_MAX] = '\0';
    snprintf(out, size, "%s", buf);
}

/* Room for a field name in any format (dBase's are cut to DBF_NAME_MAX). */
#define NAME_BUF 256

/* The name a format takes for name: dBase's shortened form, or name cut to NAME_BUF - 1. */
static void fit_name(const char *name, int dbf, char *out)
{
    if (dbf)
        shorten(name, out, DBF_NAME_MAX + 1);
    else
        snprintf(out, NAME_BUF, "%s", name);
}

/* Gives names[i] (n names) the unique form of long_names[i]: in a Shapefile (dbf) the
 * name itself when it fits, else shortened; a name equal to an earlier one ignoring case
 * (as dBase, SQLite and OGR's own field lookup compare them) ends in a number instead. */
static void unique_names(const char *const *long_names, int n, int dbf, char (*names)[NAME_BUF])
{
    size_t max = dbf ? DBF_NAME_MAX : NAME_BUF - 1;
    for (int i = 0; i < n; i++) {
        if (strlen(long_names[i]) <= max)
            snprintf(names[i], max + 1, "%s", long_names[i]);
        else
            fit_name(long_names[i], dbf, names[i]);
        for (int k = 1;; k++) {
            int clash = 0;
            for (int e = 0; e < i && !clash; e++)
                clash = strcasecmp(names[e], names[i]) == 0;
            if (!clash)
                break;
            char number[16];
            int len = snprintf(number, sizeof number, "%d", k);
            char base[NAME_BUF];
            fit_name(long_names[i], dbf, base);
            size_t keep = strlen(base) < max - (size_t)len ? strlen(base) : max - (size_t)len;
            memcpy(names[i], base, keep);
            memcpy(names[i] + keep, number, (size_t)len + 1);
        }
    }
}

cr_status cr_zonal_driver(cr_ctx *ctx, const char *out_path, const cr_zonal_opts *o,
                          GDALDriverH *out)
{
    const char *name = o->format ? o->format : cr_vector_driver_for_path(out_path);
    if (!name)
        name = "GeoJSON";
    GDALDriverH drv = GDALGetDriverByName(name);
    if (!drv || !GDALGetMetadataItem(drv, GDAL_DCAP_VECTOR, NULL) ||
        !GDALGetMetadataItem(drv, GDAL_DCAP_CREATE, NULL))
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "-of %s: not a vector format GDAL can create (e.g. GeoJSON, GPKG, "
                           "FlatGeobuf, CSV, \"ESRI Shapefile\")",
                           name);
    if (cr_output_is_stream(out_path) && strcmp(GDALGetDriverShortName(drv), "GeoJSON") != 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "-o %s is a stream: GeoJSON only, not %s", out_path, name);
    *out = drv;
    return CR_OK;
}

/* The file name without folder and extension: the layer's name. */
static void layer_name(const char *path, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/');
    snprintf(buf, size, "%s", slash ? slash + 1 : path);
    char *dot = strrchr(buf, '.');
    if (dot && dot != buf)
        *dot = '\0';
    if (!*buf || strcmp(path, "-") == 0)
        snprintf(buf, size, "zones");
}

/* Layer creation options: the defaults of the format, then the user's. Provenance goes
 * into a GeoJSON's FeatureCollection as a foreign member "cityrisk". */
static char **creation_options(const char *driver, const cr_zonal_opts *o, char **metadata)
{
    char **lco = NULL;
    if (strcmp(driver, "GeoJSON") == 0) {
        lco = cr_geojson_creation_options(metadata);
    } else if (strcmp(driver, "GPKG") == 0) {
        lco = CSLSetNameValue(lco, "SPATIAL_INDEX", "YES");
    }
    for (char **l = o->layer_options; l && *l; l++) {
        char *key = NULL;
        const char *value = CPLParseNameValue(*l, &key);
        if (key)
            lco = CSLSetNameValue(lco, key, value);
        CPLFree(key);
    }
    return lco;
}

/* The fields of the output: the source's (those a statistic does not replace), then the
 * statistics, with names the format accepts. */
typedef struct field_plan {
    int *source_map;  /* [source field]: output field, or -1 when replaced */
    int first_column; /* output index of the first statistic */
    char **full;      /* every output field's full name, in order (CSL) */
} field_plan;

static cr_status create_fields(cr_ctx *ctx, OGRLayerH src, OGRLayerH dst, const char *driver,
                               const cr_column *columns, int ncolumns, field_plan *fp,
                               cr_zonal_summary *summary, const char *zones_path)
{
    OGRFeatureDefnH sd = OGR_L_GetLayerDefn(src);
    int nsrc = OGR_FD_GetFieldCount(sd), total = nsrc + ncolumns;
    const char **long_names = calloc((size_t)(total ? total : 1), sizeof *long_names);
    char(*names)[NAME_BUF] = calloc((size_t)(total ? total : 1), sizeof *names);
    fp->source_map = calloc((size_t)(nsrc ? nsrc : 1), sizeof *fp->source_map);
    if (!long_names || !names || !fp->source_map) {
        free(long_names);
        free(names);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    }
    int n = 0;
    for (int i = 0; i < nsrc; i++) {
        const char *name = OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(sd, i));
        fp->source_map[i] = -1;
        int replaced = 0;
        for (int c = 0; c < ncolumns && !replaced; c++)
            replaced = strcasecmp(columns[c].name, name) == 0;
        if (replaced) {
            cr_ctx_log(ctx, CR_LOG_WARNING,
                       "zones '%s': field '%s' is replaced by the statistic of the same name",
                       zones_path, name);
            continue;
        }
        fp->source_map[i] = n;
        long_names[n++] = name;
    }
    fp->first_column = n;
    for (int c = 0; c < ncolumns; c++)
        long_names[n++] = columns[c].name;
    /* Only GeoJSON keeps names that differ in case apart (JSON keys); other formats, and
     * OGR's field lookup, take them for one. */
    int shapefile = strcmp(driver, "ESRI Shapefile") == 0, geojson = strcmp(driver, "GeoJSON") == 0;
    if (!geojson)
        unique_names(long_names, n, shapefile, names);
    cr_status st = CR_OK;
    for (int i = 0; i < n && st == CR_OK; i++) {
        const char *name = geojson ? long_names[i] : names[i];
        if (strcmp(name, long_names[i]) != 0) {
            char pair[2 * NAME_BUF + 2];
            snprintf(pair, sizeof pair, "%s=%s", long_names[i], name);
            summary->renamed = CSLAddString(summary->renamed, pair);
            if (!shapefile)
                cr_ctx_log(ctx, CR_LOG_WARNING, "zones '%s': field '%s' is written as '%s' (%s "
                           "field names ignore case)", zones_path, long_names[i], name, driver);
        }
        /* A name that is not UTF-8 would make GeoJSON invalid JSON: its bad bytes become
         * U+FFFD, as in the values (write_features). */
        char *utf8 = cr_text_is_utf8(name) ? NULL : cr_text_utf8_dup(name);
        if (utf8)
            name = utf8;
        OGRFieldDefnH fd;
        if (i < fp->first_column) {
            int s = 0;
            while (fp->source_map[s] != i)
                s++;
            fd = OGR_Fld_Create(name, OGR_Fld_GetType(OGR_FD_GetFieldDefn(sd, s)));
            OGRFieldDefnH from = OGR_FD_GetFieldDefn(sd, s);
            OGR_Fld_SetSubType(fd, OGR_Fld_GetSubType(from));
            OGR_Fld_SetWidth(fd, OGR_Fld_GetWidth(from));
            OGR_Fld_SetPrecision(fd, OGR_Fld_GetPrecision(from));
        } else {
            const cr_column *col = &columns[i - fp->first_column];
            fd = OGR_Fld_Create(name, col->integer ? OFTInteger : OFTReal);
            if (shapefile && !col->integer) {
                /* dBase numbers are fixed-point text: 13 digits before the point (arrival
                 * sums, areas in m2) and 10 after (shares). */
                OGR_Fld_SetWidth(fd, 24);
                OGR_Fld_SetPrecision(fd, 10);
            }
        }
        if (OGR_L_CreateField(dst, fd, TRUE) != OGRERR_NONE)
            st = cr_ctx_fail(ctx, CR_E_IO, "cannot create field '%s'", name);
        OGR_Fld_Destroy(fd);
        free(utf8);
    }
    for (int i = 0; i < n && st == CR_OK; i++)
        if (!(fp->full = CSLAddString(fp->full, long_names[i])))
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    free(long_names);
    free(names);
    return st;
}

/* ---- the field names of a Shapefile, in full ---- */

char *cr_zonal_fields_path(const char *out_path, const char *driver)
{
    if (strcmp(driver, "ESRI Shapefile") != 0)
        return NULL;
    size_t n = strlen(out_path);
    if (n > 4 && strcasecmp(out_path + n - 4, ".shp") == 0)
        n -= 4;
    char *path = malloc(n + sizeof ".fields.csv");
    if (path)
        sprintf(path, "%.*s.fields.csv", (int)n, out_path);
    return path;
}

/* What a statistic column holds, and its unit: SCORING.md's metrics. */
static const char *const METRICS[][3] = {
    {"area_km2", "area of the zone", "km2"},
    {"data_coverage", "share of the zone's area with a value in every raster", "0-1"},
    {"land_data_coverage", "share of the zone's land (its area less its sea: cells without a "
                           "depth or a score) with a value in every raster", "0-1"},
    {"arrivals_total", "arrivals in the zone: sum of f a", "people"},
    {"arrivals_per_km2", "arrivals_total per km2 of the zone", "people/km2"},
    {"flood_area_share", "share of the zone's area flooded (depth > 0)", "0-1"},
    {"arrivals_flooded", "arrivals on flooded cells", "people"},
    {"arrivals_flooded_share", "share of the zone's arrivals on flooded cells", "0-1"},
    {"informal_area_share", "share of the zone's area in informal settlement", "0-1"},
    {"informal_flooded_share", "share of the informal settlement that is flooded", "0-1"},
    {"arrivals_informal", "expected arrivals in informal housing: sum of f a v", "people"},
    {"water_stress_mean", "area-weighted mean Aqueduct water-stress score", "score 0-5"},
    {"water_stress_arrivals", "arrival-weighted mean water-stress score", "score 0-5"},
    {"arrivals_high_water_stress", "arrivals where the water-stress score is 3 or more", "people"},
    {"arrivals_compound", "arrivals flooded, in informal settlement (v >= 0.5) and under high "
                          "water stress (b >= 3)", "people"},
    {"water_uplift_mean", "arrival-weighted rise of the water-stress score from the arrivals' "
                          "demand", "score points"},
    {"score_mean", "area-weighted mean exposure score", "score 0-10"},
    {"score_p90", "90th percentile of the exposure score, weighted by area", "score 0-10"},
    {"score_arrivals", "arrival-weighted mean exposure score", "score 0-10"},
    {"score_class", "class of score_mean (1 = the lowest); null below --min-coverage", "class"},
    {"score_rank", "rank of score_mean (1 = the highest); null below --min-coverage", "rank"},
};

/* The description and unit of output field `full` (fields of the zones, SCORING.md's metrics
 * with their scenario, the statistics of -r rasters). */
static void describe_field(const char *full, int is_source, const cr_zonal_opts *o,
                           const cr_zonal_summary *s, char *desc, size_t size, const char **unit)
{
    *unit = "";
    if (is_source) {
        snprintf(desc, size, "attribute of the zones (%s)", o->zones_path);
        return;
    }
    for (size_t k = 0; k < sizeof METRICS / sizeof *METRICS; k++)
        for (int sc = -1; sc < s->scenarios; sc++) {
            char name[160];
            snprintf(name, sizeof name, "%s%s", METRICS[k][0], sc < 0 ? "" : s->scenario_suffix[sc]);
            if (strcmp(name, full) != 0)
                continue;
            snprintf(desc, size, "%s%s%s", METRICS[k][1], sc < 0 || !s->scenario_suffix[sc][0] ? "" : ", scenario ",
                     sc < 0 || !s->scenario_suffix[sc][0] ? "" : s->scenario[sc]);
            *unit = METRICS[k][2];
            return;
        }
    for (int r = 0; r < o->nrasters; r++)
        for (int k = 0; k < o->nstats; k++) {
            char name[160];
            snprintf(name, sizeof name, "%s_%s", o->rasters[r].name, o->stats[k].suffix);
            if (strcmp(name, full) == 0) {
                snprintf(desc, size, "%s of -r %s (%s, band %d)%s", o->stats[k].suffix,
                         o->rasters[r].name, o->rasters[r].path, o->rasters[r].band,
                         o->rasters[r].count ? ", counts per cell" : "");
                *unit = o->stats[k].kind == CR_STAT_COUNT ? "cells" : "";
                return;
            }
        }
    snprintf(desc, size, "statistic");
}

/* A CSV value: quoted, quotes doubled, bytes that are not UTF-8 as U+FFFD. */
static void put_csv(FILE *f, const char *text, int last)
{
    char *utf8 = cr_text_utf8_dup(text ? text : "");
    fputc('"', f);
    for (const char *p = utf8 ? utf8 : ""; *p; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    fputs(last ? "\"\r\n" : "\",", f);
    free(utf8);
}

/* Writes NAME.fields.csv into the temporary folder: for each field of the layer written, its
 * name there (10 characters in dBase), its full name, what it holds and its unit. It is
 * published with the Shapefile's files, or not at all. */
static cr_status write_fields_csv(cr_ctx *ctx, const char *folder, const char *fields_path, OGRLayerH dst, const field_plan *fp,
                                  const cr_zonal_opts *o, const cr_zonal_summary *s)
{
    const char *slash = strrchr(fields_path, '/'), *base = slash ? slash + 1 : fields_path;
    char *path = malloc(strlen(folder) + strlen(base) + 2);
    FILE *f = path ? (sprintf(path, "%s/%s", folder, base), fopen(path, "wb")) : NULL;
    free(path);
    if (!f)
        return cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", fields_path, strerror(errno));
    OGRFeatureDefnH dd = OGR_L_GetLayerDefn(dst);
    fputs("short_name,full_name,description,unit\r\n", f);
    for (int i = 0; i < OGR_FD_GetFieldCount(dd) && fp->full && fp->full[i]; i++) {
        char desc[512];
        const char *unit;
        describe_field(fp->full[i], i < fp->first_column, o, s, desc, sizeof desc, &unit);
        put_csv(f, OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(dd, i)), 0);
        put_csv(f, fp->full[i], 0);
        put_csv(f, desc, 0);
        put_csv(f, unit, 1);
    }
    int failed = ferror(f);
    if (fclose(f) != 0 || failed)
        return cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", fields_path, strerror(errno ? errno : EIO));
    return CR_OK;
}

/* Text values that are not UTF-8: written with U+FFFD for their bad bytes, counted. */
typedef struct bad_text {
    int64_t count, feature;
    int field;
} bad_text;

static void fix_text_fields(OGRFeatureH out, int nfields, int64_t z, bad_text *bad)
{
    OGRFeatureDefnH dd = OGR_F_GetDefnRef(out);
    for (int k = 0; k < nfields; k++) {
        if (OGR_Fld_GetType(OGR_FD_GetFieldDefn(dd, k)) != OFTString ||
            !OGR_F_IsFieldSetAndNotNull(out, k))
            continue;
        const char *v = OGR_F_GetFieldAsString(out, k);
        if (cr_text_is_utf8(v))
            continue;
        char *fixed = cr_text_utf8_dup(v);
        if (fixed)
            OGR_F_SetFieldString(out, k, fixed);
        free(fixed);
        if (bad->count++ == 0)
            bad->feature = z, bad->field = k;
    }
}

/* Writes every feature. */
static cr_status write_features(cr_ctx *ctx, OGRLayerH src, OGRLayerH dst, const field_plan *fp,
                                const cr_column *columns, int ncolumns, const double *values,
                                int64_t nzones, const char *zones_path)
{
    OGRFeatureDefnH dd = OGR_L_GetLayerDefn(dst);
    OGR_L_ResetReading(src);
    OGRFeatureH f;
    int64_t z = 0;
    cr_status st = CR_OK;
    bad_text bad = {0, 0, 0};
    while (st == CR_OK && (f = OGR_L_GetNextFeature(src)) != NULL) {
        if (z >= nzones) {
            OGR_F_Destroy(f);
            return cr_ctx_fail(ctx, CR_E_DATA, "zones '%s' changed while being read", zones_path);
        }
        OGRFeatureH out = OGR_F_Create(dd);
        OGR_F_SetFromWithMap(out, f, TRUE, fp->source_map);
        fix_text_fields(out, fp->first_column, z, &bad);
        for (int c = 0; c < ncolumns; c++) {
            int k = fp->first_column + c;
            double v = values[(size_t)c * (size_t)nzones + (size_t)z];
            if (isnan(v))
                OGR_F_SetFieldNull(out, k);
            else if (columns[c].integer)
                OGR_F_SetFieldInteger64(out, k, (GIntBig)llround(v));
            else
                OGR_F_SetFieldDouble(out, k, v);
        }
        if (OGR_L_CreateFeature(dst, out) != OGRERR_NONE)
            st = cr_ctx_fail(ctx, CR_E_IO, "cannot write zone %lld", (long long)z);
        OGR_F_Destroy(out);
        OGR_F_Destroy(f);
        if (st == CR_OK && (z % 1024) == 0 && !cr_ctx_progress(ctx, (double)z / (double)nzones, NULL))
            st = cr_ctx_fail(ctx, CR_E_CANCELLED, "zonal statistics were cancelled");
        z++;
    }
    if (st == CR_OK && z != nzones)
        st = cr_ctx_fail(ctx, CR_E_DATA, "zones '%s' changed while being read", zones_path);
    if (st == CR_OK && bad.count)
        cr_ctx_log(ctx, CR_LOG_WARNING,
                   "zones '%s': %lld text value%s not UTF-8 (the first: feature %lld, field '%s'); "
                   "written with U+FFFD for the bytes that are not", zones_path,
                   (long long)bad.count, bad.count == 1 ? " is" : "s are", (long long)bad.feature,
                   OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(dd, bad.field)));
    return st;
}

/* 1 when the folder holds a file (a driver such as Memory writes none). */
static int dir_has_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;
    while (d && !found && (e = readdir(d)) != NULL)
        found = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return found;
}

/* A failed write of a file under written (a full disk) explains any failure better than
 * what the driver made of it ("database disk image is malformed"). */
static cr_status watched_failure(cr_ctx *ctx, cr_status st, const char *written, const char *out_path)
{
    int err = cr_watch_failure(written);
    if (!err || st == CR_E_CANCELLED)
        return st;
    if (strcmp(out_path, "-") == 0)
        return cr_ctx_fail(ctx, CR_E_IO, "cannot write to standard output: %s", strerror(err));
    return cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", out_path, strerror(err));
}

/* ---- what GDAL says about the files it writes ---- */

/* GDAL writes into the temporary folder through the watch ("/vsicrwatch/" + the folder):
 * what it says names those paths, which mean nothing to the user. Its messages go through
 * this handler while it writes, with those paths given as the output's own name. */
typedef struct scrub {
    cr_ctx *ctx;
    const char *from[4]; /* internal prefixes, longest first */
    const char *to[4];   /* what each becomes */
    char failure[1024];  /* the last failure, scrubbed; "" when none */
} scrub;

/* Replaces every occurrence of from in buf (size bytes) by to. */
static void replace_all(char *buf, size_t size, const char *from, const char *to)
{
    size_t nf = strlen(from), nt = strlen(to);
    char *p = nf ? strstr(buf, from) : NULL;
    while (p) {
        size_t tail = strlen(p + nf);
        if ((size_t)(p - buf) + nt + tail + 1 > size)
            return;
        memmove(p + nt, p + nf, tail + 1);
        memcpy(p, to, nt);
        p = strstr(p + nt, from);
    }
}

static void scrub_text(const scrub *s, const char *msg, char *out, size_t size)
{
    snprintf(out, size, "%s", msg ? msg : "");
    for (int k = 0; k < 4 && s->from[k]; k++)
        replace_all(out, size, s->from[k], s->to[k]);
    replace_all(out, size, "/vsicrwatch/", "");
}

static void CPL_STDCALL scrub_handler(CPLErr level, CPLErrorNum number, const char *msg)
{
    (void)number;
    scrub *s = CPLGetErrorHandlerUserData();
    char text[1024];
    scrub_text(s, msg, text, sizeof text);
    if (level >= CE_Failure)
        snprintf(s->failure, sizeof s->failure, "%s", text);
    else if (level == CE_Warning)
        cr_ctx_log(s->ctx, CR_LOG_WARNING, "GDAL: %s", text);
    else if (level == CE_Debug)
        cr_ctx_log(s->ctx, CR_LOG_DEBUG, "GDAL: %s", text);
}

/* Fails with what GDAL said last, scrubbed, after the message. */
static cr_status scrub_fail(cr_ctx *ctx, const scrub *s, cr_status st, const char *what,
                            const char *name)
{
    if (s->failure[0])
        return cr_ctx_fail(ctx, st, "%s '%s': %s", what, name, s->failure);
    return cr_ctx_fail(ctx, st, "%s '%s'", what, name);
}

/* A failure to write (CR_E_IO) that the library named, with what GDAL said of it. */
static cr_status scrub_explain(cr_ctx *ctx, scrub *s, cr_status st)
{
    if (st == CR_E_IO && s->failure[0]) {
        char what[1024];
        snprintf(what, sizeof what, "%s", cr_ctx_error(ctx));
        st = cr_ctx_fail(ctx, st, "%s: %s", what, s->failure);
    }
    s->failure[0] = '\0';
    return st;
}

/* The folder GDAL is given for the temporary folder: /proc/self/fd/N of its open descriptor
 * where /proc is there, else its path. GDAL 3.6 finds the archive in a path written through
 * /vsizip/ (XLSX, ODS) at the first name holding the format's extension, even one followed by
 * more ("/out/.t.xlsx.zonal.Ab12Cd/t.xlsx" is split after ".t.xlsx"): the temporary folder's
 * own name, or a user's folder such as "2024.xlsx.d/", would make it write an empty archive
 * (ODS, exit 0) or fail (XLSX). A path of digits holds no extension. */
static char *gdal_folder(const cr_temp *temp)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", temp->fd);
    return strdup(temp->fd >= 0 && access(proc, W_OK) == 0 ? proc : temp->path);
}

cr_status cr_zonal_write(cr_ctx *ctx, const char *out_path, const cr_zonal_opts *opts,
                         const cr_column *columns, int ncolumns, const double *values,
                         int64_t nzones, char **metadata, cr_zonal_summary *summary)
{
    GDALDriverH drv = NULL;
    cr_status st = cr_zonal_driver(ctx, out_path, opts, &drv);
    if (st != CR_OK)
        return st;
    const char *driver = GDALGetDriverShortName(drv);
    snprintf(summary->driver, sizeof summary->driver, "%s", driver);
    int to_stdout = strcmp(out_path, "-") == 0, stream = cr_output_is_stream(out_path);
    cr_temp temp = CR_TEMP_NONE;
    cr_vector_layout layout = {0};
    char *target = NULL, *written = NULL, *folder = NULL, *prefix = NULL, *watched = NULL;
    char *shown_folder = NULL;
    FILE *device = NULL; /* -o /dev/full, a named pipe */
    GDALDatasetH in = NULL, out = NULL;
    char **lco = NULL;
    field_plan fp = {0};
    scrub sc = {ctx, {NULL}, {NULL}, ""};
    int scrubbing = 0;
    /* Files go to a hidden folder, under the name that makes the driver write one file
     * (layout.driver_name), and are moved into place when complete. */
    if (!stream && ((st = cr_vector_layout_init(ctx, out_path, driver, &layout)) != CR_OK ||
                    (st = cr_temp_dir(ctx, out_path, "zonal", &temp)) != CR_OK)) {
        cr_vector_layout_release(&layout);
        return st;
    }
    /* GDAL's GeoJSON driver creates no file that exists, so a device is written as GDAL's
     * standard output, redirected to it. */
    if (stream && !to_stdout) {
        if (!(device = fopen(out_path, "wb"))) {
            st = cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", out_path, strerror(errno));
            goto done;
        }
        VSIStdoutSetRedirection(fwrite, device);
    }
    if (!stream) {
        folder = gdal_folder(&temp);
        const char *slash = strrchr(out_path, '/');
        shown_folder = strndup(out_path, slash ? (size_t)(slash - out_path) + 1 : 0);
        written = folder ? malloc(strlen(folder) + strlen(layout.driver_name) + 2) : NULL;
        prefix = folder ? malloc(strlen(folder) + 2) : NULL;
        if (written && prefix) {
            sprintf(written, "%s/%s", folder, layout.driver_name);
            sprintf(prefix, "%s/", folder);
        }
    } else {
        written = strdup("/vsistdout/");
        prefix = strdup("/vsistdout/");
    }
    target = written ? cr_watch_path(written) : NULL; /* a failed write is not lost */
    watched = prefix ? cr_watch_path(prefix) : NULL;
    if (!target || !watched || (!stream && !shown_folder)) {
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        goto done;
    }
    /* What GDAL says names the output as the user does: the file itself, and the others
     * (a Shapefile's .dbf) beside it. */
    sc.from[0] = target, sc.to[0] = stream ? "standard output" : out_path;
    sc.from[1] = written, sc.to[1] = sc.to[0];
    sc.from[2] = watched, sc.to[2] = stream ? "" : shown_folder;
    sc.from[3] = prefix, sc.to[3] = sc.to[2];
    if ((st = cr_open_vector(ctx, opts->zones_path, &in)) != CR_OK)
        goto done;
    OGRLayerH src;
    if ((st = cr_zones_layer(ctx, in, opts, &src)) != CR_OK)
        goto done;
    CPLPushErrorHandlerEx(scrub_handler, &sc);
    CPLErrorReset();
    scrubbing = 1;
    out = GDALCreate(drv, target, 0, 0, 0, GDT_Unknown, NULL);
    if (!out) {
        st = scrub_fail(ctx, &sc, CR_E_IO, "cannot create", out_path);
        goto done;
    }
    char name[256];
    layer_name(out_path, name, sizeof name);
    lco = creation_options(driver, opts, metadata);
    OGRSpatialReferenceH srs = OGR_L_GetSpatialRef(src);
    OGRSpatialReferenceH srs_copy = srs ? OSRClone(srs) : NULL;
    if (srs_copy)
        OSRSetAxisMappingStrategy(srs_copy, OAMS_TRADITIONAL_GIS_ORDER);
    OGRLayerH dst = GDALDatasetCreateLayer(out, name, srs_copy, OGR_L_GetGeomType(src), lco);
    if (srs_copy)
        OSRDestroySpatialReference(srs_copy);
    if (!dst) {
        char what[300];
        snprintf(what, sizeof what, "cannot create layer '%s' in", name);
        st = scrub_fail(ctx, &sc, CR_E_IO, what, out_path);
        goto done;
    }
    if (strcmp(driver, "GeoJSON") != 0 && strcmp(driver, "CSV") != 0 &&
        strcmp(driver, "ESRI Shapefile") != 0) {
        CPLPushErrorHandler(CPLQuietErrorHandler); /* formats without metadata ignore it */
        GDALSetMetadata((GDALMajorObjectH)dst, metadata, NULL);
        CPLPopErrorHandler();
    }
    st = scrub_explain(ctx, &sc, create_fields(ctx, src, dst, driver, columns, ncolumns, &fp,
                                               summary, opts->zones_path));
    int transaction = st == CR_OK && GDALDatasetStartTransaction(out, FALSE) == OGRERR_NONE;
    if (st == CR_OK)
        st = scrub_explain(ctx, &sc, write_features(ctx, src, dst, &fp, columns, ncolumns, values,
                                                    nzones, opts->zones_path));
    if (st == CR_OK && transaction && GDALDatasetCommitTransaction(out) != OGRERR_NONE)
        st = scrub_fail(ctx, &sc, CR_E_IO, "cannot write", out_path);
    /* dBase keeps 10 characters of a name: the full names go beside, in the same folder. */
    char *fields_path = stream ? NULL : cr_zonal_fields_path(out_path, driver);
    if (st == CR_OK && fields_path)
        st = write_fields_csv(ctx, temp.path, fields_path, dst, &fp, opts, summary);
    free(fields_path);
    /* Some drivers write everything on close (XLSX, ODS): what fails there is a failure. */
    sc.failure[0] = '\0';
    GDALClose(out);
    out = NULL;
    st = watched_failure(ctx, st, prefix, out_path);
    if (st == CR_OK && sc.failure[0])
        st = scrub_fail(ctx, &sc, CR_E_IO, "cannot write", out_path);
    CPLPopErrorHandler();
    scrubbing = 0;
    if (st == CR_OK && !stream && !dir_has_files(temp.path))
        st = cr_ctx_fail(ctx, CR_E_USAGE, "-of %s writes no file; choose a file format", driver);
    if (st == CR_OK && !stream)
        st = cr_temp_publish_dir(ctx, &temp, out_path, &layout, opts->overwrite);
done:
    if (out)
        GDALClose(out);
    if (scrubbing)
        CPLPopErrorHandler();
    if (prefix && (stream || temp.path)) /* a published folder's failures are read above */
        st = watched_failure(ctx, st, prefix, out_path);
    if (device) {
        VSIStdoutSetRedirection(fwrite, stdout);
        if (fclose(device) != 0 && st == CR_OK)
            st = cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", out_path, strerror(errno));
    }
    if (in)
        GDALClose(in);
    cr_temp_discard(&temp);
    cr_vector_layout_release(&layout);
    free(target);
    free(written);
    free(watched);
    free(prefix);
    free(folder);
    free(shown_folder);
    free(fp.source_map);
    CSLDestroy(fp.full);
    CSLDestroy(lco);
    return st;
}
