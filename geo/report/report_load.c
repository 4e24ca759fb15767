/* report_load.c: the report's model from its inputs (report_internal.h): the zonal outputs
 * as views of the same zones matched by id, the exposure rasters' metadata, the sensitivity
 * output joined by id, the inundation raster's parameters, the classes, and the provenance
 * of every file read. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "cityrisk/version.h"
#include "core/internal.h"
#include "core/provenance.h"
#include "core/text.h"
#include "report/report_internal.h"

#define DEFAULT_TITLE "Migrant exposure to climate hazards"

/* The rows one zones file gave: the zone of each row and its metric values, put into the
 * model's values once every file is read (only then is the number of zones known). */
typedef struct view_rows {
    int n, cap;
    int *zone;
    double *values; /* n x nmetrics */
} view_rows;

/* An --exposure as given: its file, the role it is listed under among the sources, and its
 * metadata, read once however many views it serves. */
typedef struct exposure_spec {
    const char *path; /* borrowed from the options */
    char *role;
    json_object *metadata;
    int read;
} exposure_spec;

/* What loading needs beside the model. */
typedef struct loader {
    cr_ctx *ctx;
    report_model *r;
    const cr_report_opts *o;
    int nby;
    int *index;               /* open addressing over the zones' ids: zone + 1, 0 when empty */
    size_t index_size;        /* a power of two, at least twice the zones */
    int zones_cap;
    int *last_view;           /* [zone]: the last view that had it (duplicate ids in a file) */
    view_rows *rows;          /* [view] */
    exposure_spec *exp;
    int nexp;
    int *view_exp;            /* [view]: its exposure, -1 when none */
    OGRSpatialReferenceH srs; /* the first view's CRS (x = easting or longitude), NULL when none */
    char id_field[256];       /* the first view's id field: the sensitivity is joined on it */
} loader;

static cr_status out_of_memory(cr_ctx *ctx)
{
    return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
}

/* s in a string to free() ("" for NULL), NULL when out of memory. */
static char *text_dup(const char *s)
{
    return strdup(s ? s : "");
}

/* The labels joined with sep, in a string to free(). */
static char *join_labels(char **labels, const char *sep)
{
    size_t n = 1;
    for (char **p = labels; p && *p; p++)
        n += strlen(*p) + strlen(sep);
    char *out = malloc(n);
    if (!out)
        return NULL;
    out[0] = '\0';
    for (char **p = labels; p && *p; p++) {
        if (p != labels)
            strcat(out, sep);
        strcat(out, *p);
    }
    return out;
}

/* The file name of path without folder and extension ("n-ssp245.geojson" gives "n-ssp245"):
 * a view's label when no --by is given. In a string to free(). */
static char *file_stem(const char *path)
{
    const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
    size_t n = cr_path_stem(name);
    char *out = malloc(n + 1);
    if (out) {
        memcpy(out, name, n);
        out[n] = '\0';
    }
    return out;
}

/* The labels of a labelled spec ("a;b=FILE" gives a, b), a CSL; CR_E_USAGE unless there is
 * one for each --by variable. what names the option in messages. */
static cr_status spec_labels(loader *l, const char *what, const char *spec, char ***labels)
{
    const char *eq = strchr(spec, '=');
    *labels = NULL;
    if (!eq)
        return cr_ctx_fail(l->ctx, CR_E_USAGE, "%s '%s': expected LABEL[;LABEL...]=FILE, a label for each --by variable",
                           what, spec);
    char *text = CPLStrdup(spec);
    text[eq - spec] = '\0';
    *labels = CSLTokenizeString2(text, ";", CSLT_ALLOWEMPTYTOKENS);
    CPLFree(text);
    if (CSLCount(*labels) != l->nby)
        return cr_ctx_fail(l->ctx, CR_E_USAGE, "%s '%s': %d labels for %d --by variables", what, spec,
                           CSLCount(*labels), l->nby);
    return CR_OK;
}

/* The views of the --zones: label, title and file of each. */
static cr_status parse_views(loader *l)
{
    report_model *r = l->r;
    int n = CSLCount(l->o->zones);
    r->views = calloc((size_t)n, sizeof *r->views);
    l->rows = calloc((size_t)n, sizeof *l->rows);
    l->view_exp = malloc((size_t)n * sizeof *l->view_exp);
    if (!r->views || !l->rows || !l->view_exp)
        return out_of_memory(l->ctx);
    for (int v = 0; v < n; v++) {
        const char *spec = l->o->zones[v];
        report_view *view = &r->views[r->nviews++];
        l->view_exp[v] = -1;
        if (l->nby) {
            char **labels = NULL;
            cr_status st = spec_labels(l, "zones", spec, &labels);
            if (st == CR_OK) {
                view->label = join_labels(labels, ";");
                view->title = join_labels(labels, " / ");
            }
            CSLDestroy(labels);
            if (st != CR_OK)
                return st;
            for (int w = 0; view->label && w < v; w++)
                if (strcmp(r->views[w].label, view->label) == 0)
                    return cr_ctx_fail(l->ctx, CR_E_USAGE, "zones '%s': the labels '%s' are given twice", spec,
                                       view->label);
        } else {
            view->label = file_stem(spec);
            view->title = text_dup(view->label);
        }
        view->path = text_dup(report_spec_file(spec, l->nby > 0));
        if (!view->label || !view->title || !view->path)
            return out_of_memory(l->ctx);
    }
    return CR_OK;
}

/* Opens path (a vector or raster as flags say) for role ("zones", "exposure", ...): CR_E_IO
 * when the file cannot be read, CR_E_DATA when it is not what GDAL reads as kind. */
static cr_status open_input(loader *l, const char *role, const char *path, unsigned flags, GDALDatasetH *ds)
{
    cr_status st = CR_OK;
    cr_gdal_begin(l->ctx);
    /* a GeoJSON's "cityrisk" member is read with its features, not by parsing it twice */
    GDALDriverH drv = flags & GDAL_OF_VECTOR ? GDALIdentifyDriverEx(path, GDAL_OF_VECTOR, NULL, NULL) : NULL;
    int geojson = drv && strcmp(GDALGetDriverShortName(drv), "GeoJSON") == 0;
    const char *const native[] = {"NATIVE_DATA=YES", NULL};
    *ds = GDALOpenEx(path, flags | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR, NULL, geojson ? native : NULL, NULL);
    if (!*ds) {
        VSILFILE *f = VSIFOpenL(path, "rb");
        const char *msg = cr_gdal_message(l->ctx);
        if (!f)
            st = cr_ctx_fail(l->ctx, CR_E_IO, "%s '%s': cannot open it (%s)", role, path,
                             *msg ? msg : "no such file or no permission to read it");
        else
            st = cr_ctx_fail(l->ctx, CR_E_DATA, "%s '%s': not a %s GDAL can read", role, path,
                             flags & GDAL_OF_RASTER ? "raster" : "vector");
        if (f)
            VSIFCloseL(f);
    }
    cr_gdal_end(l->ctx);
    return st;
}

/* The view labelled label, -1 when none. */
static int view_of_label(const report_model *r, const char *label, size_t n)
{
    for (int v = 0; v < r->nviews; v++)
        if (strlen(r->views[v].label) == n && strncmp(r->views[v].label, label, n) == 0)
            return v;
    return -1;
}

/* The views' labels as "a, b, c" for messages, in a string to free(). */
static char *views_list(const report_model *r)
{
    char **labels = NULL;
    for (int v = 0; v < r->nviews; v++)
        labels = CSLAddString(labels, r->views[v].label);
    char *out = join_labels(labels, ", ");
    CSLDestroy(labels);
    return out;
}

/* The view a labelled --exposure spec serves (with --by): the one whose labels it names. */
static cr_status exposure_view(loader *l, const char *spec, int *view)
{
    char **labels = NULL;
    cr_status st = spec_labels(l, "exposure", spec, &labels);
    CSLDestroy(labels);
    if (st != CR_OK)
        return st;
    size_t n = (size_t)(strchr(spec, '=') - spec);
    if ((*view = view_of_label(l->r, spec, n)) < 0) {
        char *list = views_list(l->r);
        st = cr_ctx_fail(l->ctx, CR_E_DATA, "exposure '%s': no --zones view is labelled '%.*s' (the views: %s)",
                         spec, (int)n, spec, list ? list : "");
        free(list);
    } else if (l->view_exp[*view] >= 0) {
        st = cr_ctx_fail(l->ctx, CR_E_USAGE, "exposure '%s': view '%s' has an exposure raster already", spec,
                         l->r->views[*view].label);
    }
    return st;
}

/* Which --exposure serves which view: with --by, by label (one FILE alone serves every
 * view); without, one for all or one per --zones in their order. */
static cr_status parse_exposure(loader *l)
{
    report_model *r = l->r;
    int n = CSLCount(l->o->exposure);
    if (n == 0)
        return CR_OK;
    int one_for_all = n == 1 && (!l->nby || !strchr(l->o->exposure[0], '='));
    if (!l->nby && !one_for_all && n != r->nviews)
        return cr_ctx_fail(l->ctx, CR_E_USAGE, "--exposure: %d files for %d --zones: give one for every view or one "
                           "per --zones, in their order", n, r->nviews);
    if (!(l->exp = calloc((size_t)n, sizeof *l->exp)))
        return out_of_memory(l->ctx);
    for (int e = 0; e < n; e++) {
        const char *spec = l->o->exposure[e];
        exposure_spec *x = &l->exp[l->nexp++];
        int view = e;
        if (l->nby && !one_for_all) {
            cr_status st = exposure_view(l, spec, &view);
            if (st != CR_OK)
                return st;
        }
        x->path = one_for_all ? spec : report_spec_file(spec, l->nby > 0);
        char role[1024];
        if (one_for_all)
            snprintf(role, sizeof role, "exposure");
        else
            snprintf(role, sizeof role, "exposure %s", r->views[view].label);
        if (!(x->role = text_dup(role)))
            return out_of_memory(l->ctx);
        for (int v = 0; v < r->nviews; v++)
            if (one_for_all || v == view)
                l->view_exp[v] = e;
    }
    for (int v = 0; v < r->nviews; v++)
        if (l->view_exp[v] >= 0 && !(r->views[v].exposure_path = text_dup(l->exp[l->view_exp[v]].path)))
            return out_of_memory(l->ctx);
    return CR_OK;
}

/* Reads exposure e's metadata (CITYRISK_* items) unless done. */
static cr_status read_exposure(loader *l, int e)
{
    exposure_spec *x = &l->exp[e];
    if (x->read)
        return CR_OK;
    GDALDatasetH ds;
    cr_status st = open_input(l, "exposure", x->path, GDAL_OF_RASTER, &ds);
    if (st != CR_OK)
        return st;
    x->metadata = cr_metadata_provenance(ds);
    x->read = 1;
    GDALClose(ds);
    return CR_OK;
}

/* ---- The zones' ids: an open-addressing hash index, so that matching is linear ---- */

/* FNV-1a of the text. */
static size_t hash_text(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)h;
}

/* The zone whose id is id, -1 when none. */
static int find_zone(const loader *l, const char *id)
{
    if (!l->index_size)
        return -1;
    size_t mask = l->index_size - 1;
    for (size_t i = hash_text(id) & mask; l->index[i]; i = (i + 1) & mask)
        if (strcmp(l->r->zones[l->index[i] - 1].id, id) == 0)
            return l->index[i] - 1;
    return -1;
}

/* Puts zone z into the index (it is not there). */
static void index_put(loader *l, int z)
{
    size_t mask = l->index_size - 1, i = hash_text(l->r->zones[z].id) & mask;
    while (l->index[i])
        i = (i + 1) & mask;
    l->index[i] = z + 1;
}

/* Room for one more zone: the zones, their last views and an index at most half full. */
static int zones_room(loader *l)
{
    report_model *r = l->r;
    if (r->nzones == l->zones_cap) {
        int cap = l->zones_cap ? 2 * l->zones_cap : 256;
        report_zone *zones = realloc(r->zones, (size_t)cap * sizeof *zones);
        if (zones)
            r->zones = zones;
        int *last = realloc(l->last_view, (size_t)cap * sizeof *last);
        if (last)
            l->last_view = last;
        if (!zones || !last)
            return 0;
        l->zones_cap = cap;
    }
    if (2 * ((size_t)r->nzones + 1) > l->index_size) {
        size_t size = l->index_size ? 2 * l->index_size : 512;
        int *index = calloc(size, sizeof *index);
        if (!index)
            return 0;
        free(l->index);
        l->index = index;
        l->index_size = size;
        for (int z = 0; z < r->nzones; z++)
            index_put(l, z);
    }
    return 1;
}

/* A new zone with id (no name, geometry or sensitivity yet); its index, -1 when out of
 * memory. */
static int add_zone(loader *l, const char *id)
{
    if (!zones_room(l))
        return -1;
    report_model *r = l->r;
    report_zone *zone = &r->zones[r->nzones];
    memset(zone, 0, sizeof *zone);
    zone->rank_nominal = zone->rank_p05 = zone->rank_p50 = zone->rank_p95 = NAN;
    zone->p_top = zone->score_p05 = zone->score_p50 = zone->score_p95 = NAN;
    zone->id = text_dup(id);
    zone->name = text_dup("");
    if (!zone->id || !zone->name) {
        free(zone->id);
        free(zone->name);
        return -1;
    }
    l->last_view[r->nzones] = -1;
    index_put(l, r->nzones);
    return r->nzones++;
}

/* ---- One zones file ---- */

/* The field of the layer called name, -1 when none. */
static int field_of(OGRLayerH layer, const char *name)
{
    return name && *name ? OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(layer), name) : -1;
}

/* The string item key of zonal's recorded parameters, NULL when none. */
static const char *recorded(json_object *prov, const char *key)
{
    json_object *v = NULL;
    json_object_object_get_ex(cr_provenance_object(prov, "CITYRISK_PARAMETERS"), key, &v);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* The id and name fields of view v: the options', else zonal's recorded ones, else the
 * first field and "name" when present; checks that score_mean is there. */
static cr_status choose_fields(loader *l, int v, OGRLayerH layer, int *idf, int *namef)
{
    const report_view *view = &l->r->views[v];
    const char *id = l->o->id_field ? l->o->id_field : recorded(view->provenance, "id_field");
    const char *name = l->o->name_field ? l->o->name_field : recorded(view->provenance, "name_field");
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
    if (!id && OGR_FD_GetFieldCount(defn) > 0)
        id = OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, 0));
    if ((*idf = field_of(layer, id)) < 0)
        return cr_ctx_fail(l->ctx, CR_E_DATA, "zones '%s': no field %s%s", view->path, id ? id : "at all",
                           l->o->id_field ? " (--id-field)" : id ? " (the id field zonal recorded)" : "");
    *namef = field_of(layer, name);
    if (*namef < 0 && l->o->name_field)
        return cr_ctx_fail(l->ctx, CR_E_DATA, "zones '%s': no field %s (--name-field)", view->path, name);
    if (*namef < 0)
        *namef = field_of(layer, "name");
    if (field_of(layer, "score_mean") < 0)
        return cr_ctx_fail(l->ctx, CR_E_DATA, "zones '%s': no field score_mean: report reads cityrisk zonal's outputs",
                           view->path);
    if (v == 0)
        snprintf(l->id_field, sizeof l->id_field, "%s", OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, *idf)));
    return CR_OK;
}

/* The sea scenarios zonal recorded (CITYRISK_INPUTS entries with role "sea NAME"), a CSL. */
static char **sea_scenarios(json_object *prov)
{
    json_object *inputs = NULL;
    char **names = NULL;
    if (!prov || !json_object_object_get_ex(prov, "CITYRISK_INPUTS", &inputs) ||
        !json_object_is_type(inputs, json_type_array))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(inputs); i++) {
        json_object *role = NULL;
        json_object_object_get_ex(json_object_array_get_idx(inputs, i), "role", &role);
        const char *text = role && json_object_is_type(role, json_type_string) ? json_object_get_string(role) : "";
        if (strncmp(text, "sea ", 4) == 0 && text[4])
            names = CSLAddString(names, text + 4);
    }
    return names;
}

/* 1 when the layer has a per-scenario metric with the suffix of scenario. */
static int has_suffixed_field(OGRLayerH layer, const char *scenario)
{
    char suffix[256], name[512];
    cr_field_suffix(scenario, suffix, sizeof suffix);
    for (int m = 0; m < report_metric_count(); m++) {
        snprintf(name, sizeof name, "%s%s", REPORT_METRICS[m].field, suffix);
        if (REPORT_METRICS[m].per_scenario && field_of(layer, name) >= 0)
            return 1;
    }
    return 0;
}

/* The sea scenario score recorded in view v's exposure raster (CITYRISK_INPUTS.sea.scenario),
 * NULL when none. */
static const char *exposure_scenario(loader *l, int v)
{
    int e = l->view_exp[v];
    json_object *sea = NULL, *name = NULL;
    if (e < 0 || read_exposure(l, e) != CR_OK)
        return NULL;
    json_object_object_get_ex(cr_provenance_object(l->exp[e].metadata, "CITYRISK_INPUTS"), "sea", &sea);
    json_object_object_get_ex(sea, "scenario", &name);
    return name && json_object_is_type(name, json_type_string) ? json_object_get_string(name) : NULL;
}

/* The sea scenario in the metadata of the raster at path (CITYRISK_INPUTS.sea.scenario of
 * cityrisk score), a string to free(), NULL when there is none or the file does not open
 * (quietly: it is only a guess). */
static char *raster_scenario(const char *path)
{
    CPLPushErrorHandler(CPLQuietErrorHandler);
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
    CPLPopErrorHandler();
    if (!ds)
        return NULL;
    json_object *md = cr_metadata_provenance(ds), *sea = NULL, *name = NULL;
    json_object_object_get_ex(cr_provenance_object(md, "CITYRISK_INPUTS"), "sea", &sea);
    json_object_object_get_ex(sea, "scenario", &name);
    char *scenario = name && json_object_is_type(name, json_type_string) ? text_dup(json_object_get_string(name)) : NULL;
    json_object_put(md);
    GDALClose(ds);
    return scenario;
}

/* The sea scenario of the exposure raster zonal recorded for view v (its CITYRISK_INPUTS
 * entry "exposure score"), opened where the path says (zonal records it as it was given,
 * relative to where zonal ran) or, failing that, by its name in the zones file's folder (a
 * pipeline writes both in one folder); a string to free(), NULL when neither opens. */
static char *recorded_exposure_scenario(const report_view *view)
{
    json_object *inputs = NULL;
    if (!view->provenance || !json_object_object_get_ex(view->provenance, "CITYRISK_INPUTS", &inputs) ||
        !json_object_is_type(inputs, json_type_array))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(inputs); i++) {
        json_object *item = json_object_array_get_idx(inputs, i), *role = NULL, *path = NULL;
        if (!json_object_object_get_ex(item, "role", &role) || !json_object_object_get_ex(item, "path", &path) ||
            strcmp(json_object_get_string(role), "exposure score") != 0)
            continue;
        const char *recorded = json_object_get_string(path);
        char *scenario = raster_scenario(recorded);
        if (!scenario) {
            char *beside = CPLStrdup(CPLFormFilename(CPLGetPath(view->path), CPLGetFilename(recorded), NULL));
            scenario = raster_scenario(beside);
            CPLFree(beside);
        }
        return scenario;
    }
    return NULL;
}

/* The sea scenario of view v's per-scenario metrics: the recorded one that is a label of the
 * view, else the only one, else its exposure raster's (--exposure, else the one zonal
 * recorded when it opens), else the first (with a warning);
 * without recorded scenarios the label whose suffix the fields carry, else "". */
static const char *choose_scenario(loader *l, int v, OGRLayerH layer, char **scenarios, char **labels)
{
    int n = CSLCount(scenarios);
    for (char **p = labels; p && *p; p++)
        if (n ? CSLFindStringCaseSensitive(scenarios, *p) >= 0 : has_suffixed_field(layer, *p))
            return *p;
    if (n == 0)
        return "";
    if (n == 1)
        return scenarios[0];
    const char *exposure = exposure_scenario(l, v);
    if (exposure && CSLFindStringCaseSensitive(scenarios, exposure) >= 0)
        return exposure;
    char *recorded = exposure ? NULL : recorded_exposure_scenario(&l->r->views[v]);
    int found = recorded ? CSLFindStringCaseSensitive(scenarios, recorded) : -1;
    free(recorded);
    if (found >= 0)
        return scenarios[found];
    char *list = join_labels(scenarios, ", ");
    cr_ctx_log(l->ctx, CR_LOG_WARNING,
               "zones '%s': sea scenarios %s, none of them a label of the view: its flood figures are those of %s",
               l->r->views[v].path, list ? list : "", scenarios[0]);
    free(list);
    return scenarios[0];
}

/* Sets view v's scenario and the fields its metrics are read from (-1: none). */
static cr_status metric_fields(loader *l, int v, OGRLayerH layer, int *fields)
{
    report_view *view = &l->r->views[v];
    char **scenarios = sea_scenarios(view->provenance);
    char **labels = CSLTokenizeString2(view->label, ";", CSLT_ALLOWEMPTYTOKENS);
    view->scenario = text_dup(choose_scenario(l, v, layer, scenarios, labels));
    CSLDestroy(scenarios);
    CSLDestroy(labels);
    if (!view->scenario)
        return out_of_memory(l->ctx);
    char suffix[256], name[512];
    cr_field_suffix(view->scenario, suffix, sizeof suffix);
    for (int m = 0; m < l->r->nmetrics; m++) {
        snprintf(name, sizeof name, "%s%s", REPORT_METRICS[m].field, suffix);
        fields[m] = REPORT_METRICS[m].per_scenario && *view->scenario ? field_of(layer, name) : -1;
        if (fields[m] < 0)
            fields[m] = field_of(layer, REPORT_METRICS[m].field);
    }
    return CR_OK;
}

/* The layer's CRS with x = easting or longitude, NULL when it has none. */
static OGRSpatialReferenceH layer_srs(OGRLayerH layer)
{
    OGRSpatialReferenceH srs = OGR_L_GetSpatialRef(layer);
    srs = srs ? OSRClone(srs) : NULL;
    if (srs)
        OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
    return srs;
}

/* The first view's CRS becomes the model's; a later view's geometries are transformed into
 * it when its CRS differs (*ct, NULL when not needed). */
static cr_status view_crs(loader *l, int v, OGRLayerH layer, OGRCoordinateTransformationH *ct)
{
    report_model *r = l->r;
    OGRSpatialReferenceH srs = layer_srs(layer);
    cr_status st = CR_OK;
    *ct = NULL;
    if (v == 0) {
        l->srs = srs;
        if (!srs)
            return CR_OK;
        const char *const wkt2[] = {"FORMAT=WKT2_2019", NULL};
        char *wkt = NULL;
        const char *name = OSRGetName(srs);
        if (OSRExportToWktEx(srs, &wkt, wkt2) == OGRERR_NONE && wkt)
            r->crs_wkt = text_dup(wkt);
        CPLFree(wkt);
        r->crs_name = text_dup(name ? name : "");
        r->geographic = OSRIsGeographic(srs);
        return CR_OK;
    }
    if (!srs != !l->srs) {
        st = cr_ctx_fail(l->ctx, CR_E_DATA, "zones '%s' has %s CRS but zones '%s' has %s", r->views[v].path,
                         srs ? "a" : "no", r->views[0].path, srs ? "none" : "one");
    } else if (srs && !OSRIsSame(srs, l->srs)) {
        cr_gdal_begin(l->ctx);
        if (!(*ct = OCTNewCoordinateTransformation(srs, l->srs)))
            st = cr_ctx_fail_gdal(l->ctx, CR_E_DATA, "zones '%s': cannot transform its CRS into that of '%s'",
                                  r->views[v].path, r->views[0].path);
        cr_gdal_end(l->ctx);
    }
    if (srs)
        OSRDestroySpatialReference(srs);
    return st;
}

/* The value of field i of f, NaN when none or null. */
static double field_number(OGRFeatureH f, int i)
{
    return i >= 0 && OGR_F_IsFieldSetAndNotNull(f, i) ? OGR_F_GetFieldAsDouble(f, i) : NAN;
}

/* Room for one more row of view v. */
static int row_room(loader *l, view_rows *rows)
{
    if (rows->n < rows->cap)
        return 1;
    int cap = rows->cap ? 2 * rows->cap : 256;
    int *zone = realloc(rows->zone, (size_t)cap * sizeof *zone);
    if (zone)
        rows->zone = zone;
    double *values = realloc(rows->values, (size_t)cap * (size_t)l->r->nmetrics * sizeof *values);
    if (values)
        rows->values = values;
    if (!zone || !values)
        return 0;
    rows->cap = cap;
    return 1;
}

/* A zone's outline from feature f of view v (in the model's CRS), when it has none yet. */
static cr_status take_geometry(loader *l, int v, OGRFeatureH f, report_zone *zone, OGRCoordinateTransformationH ct)
{
    if (zone->geometry)
        return CR_OK;
    OGRGeometryH g = OGR_F_StealGeometry(f);
    if (g && ct && OGR_G_Transform(g, ct) != OGRERR_NONE) {
        OGR_G_DestroyGeometry(g);
        return cr_ctx_fail(l->ctx, CR_E_DATA, "zones '%s': zone %s cannot be transformed into the CRS of '%s'",
                           l->r->views[v].path, zone->id, l->r->views[0].path);
    }
    zone->geometry = g;
    return CR_OK;
}

/* Counts of what a file held that the report leaves out, for one warning each. */
typedef struct left_out {
    int no_id, duplicates;
    char first_duplicate[128];
} left_out;

/* One feature of view v: its zone (found or added) and its row of values. */
static cr_status read_feature(loader *l, int v, OGRFeatureH f, const int *fields, int idf, int namef,
                              OGRCoordinateTransformationH ct, left_out *out)
{
    if (!OGR_F_IsFieldSetAndNotNull(f, idf)) {
        out->no_id++;
        return CR_OK;
    }
    /* OGR keeps one text per feature: the id's is gone once the name's is asked for */
    const char *id = OGR_F_GetFieldAsString(f, idf);
    int z = find_zone(l, id);
    if (z >= 0 && l->last_view[z] == v) {
        if (out->duplicates++ == 0)
            snprintf(out->first_duplicate, sizeof out->first_duplicate, "%s", id);
        return CR_OK;
    }
    if (z < 0 && (z = add_zone(l, id)) < 0)
        return out_of_memory(l->ctx);
    report_zone *zone = &l->r->zones[z];
    const char *name = namef >= 0 && OGR_F_IsFieldSetAndNotNull(f, namef) ? OGR_F_GetFieldAsString(f, namef) : "";
    if (!*zone->name && *name) {
        char *copy = text_dup(name);
        if (!copy)
            return out_of_memory(l->ctx);
        free(zone->name);
        zone->name = copy;
    }
    l->last_view[z] = v;
    view_rows *rows = &l->rows[v];
    if (!row_room(l, rows))
        return out_of_memory(l->ctx);
    double *values = rows->values + (size_t)rows->n * (size_t)l->r->nmetrics;
    for (int m = 0; m < l->r->nmetrics; m++)
        values[m] = field_number(f, fields[m]);
    rows->zone[rows->n++] = z;
    return take_geometry(l, v, f, zone, ct);
}

/* Warns about the features of view v left out. */
static void warn_left_out(loader *l, int v, const left_out *out)
{
    const char *path = l->r->views[v].path;
    if (out->no_id)
        cr_ctx_log(l->ctx, CR_LOG_WARNING, "zones '%s': %d features without an id are left out", path, out->no_id);
    if (out->duplicates)
        cr_ctx_log(l->ctx, CR_LOG_WARNING,
                   "zones '%s': %d features repeat an id already read (the first: '%s'): the first feature of "
                   "each id is kept", path, out->duplicates, out->first_duplicate);
}

/* Reads view v's zones file: provenance, fields, scenario, CRS, and every feature. */
static cr_status read_view(loader *l, int v)
{
    report_view *view = &l->r->views[v];
    GDALDatasetH ds;
    cr_status st = open_input(l, "zones", view->path, GDAL_OF_VECTOR, &ds);
    if (st != CR_OK)
        return st;
    OGRLayerH layer = GDALDatasetGetLayer(ds, 0);
    OGRCoordinateTransformationH ct = NULL;
    int idf = -1, namef = -1, *fields = malloc((size_t)l->r->nmetrics * sizeof *fields);
    if (!fields)
        st = out_of_memory(l->ctx);
    else if (!layer)
        st = cr_ctx_fail(l->ctx, CR_E_DATA, "zones '%s': no layer", view->path);
    if (st == CR_OK) {
        view->provenance = cr_vector_provenance(ds, layer, view->path);
        st = choose_fields(l, v, layer, &idf, &namef);
    }
    if (st == CR_OK)
        st = metric_fields(l, v, layer, fields);
    if (st == CR_OK)
        st = view_crs(l, v, layer, &ct);
    left_out out = {0};
    if (st == CR_OK)
        OGR_L_ResetReading(layer);
    for (OGRFeatureH f; st == CR_OK && (f = OGR_L_GetNextFeature(layer));) {
        st = read_feature(l, v, f, fields, idf, namef, ct, &out);
        OGR_F_Destroy(f);
    }
    if (st == CR_OK)
        warn_left_out(l, v, &out);
    if (ct)
        OCTDestroyCoordinateTransformation(ct);
    free(fields);
    GDALClose(ds);
    return st;
}

/* The model's values from every view's rows: NaN where a view lacks a zone. */
static cr_status gather_values(loader *l)
{
    report_model *r = l->r;
    size_t nm = (size_t)r->nmetrics, total = (size_t)r->nviews * (size_t)r->nzones * nm;
    if (!(r->values = malloc((total ? total : 1) * sizeof *r->values)))
        return out_of_memory(l->ctx);
    for (size_t i = 0; i < total; i++)
        r->values[i] = NAN;
    for (int v = 0; v < r->nviews; v++) {
        r->views[v].absent = r->nzones - l->rows[v].n; /* a view's rows are distinct zones */
        for (int k = 0; k < l->rows[v].n; k++)
            memcpy(r->values + ((size_t)v * (size_t)r->nzones + (size_t)l->rows[v].zone[k]) * nm,
                   l->rows[v].values + (size_t)k * nm, nm * sizeof *r->values);
    }
    return CR_OK;
}

/* ---- Sensitivity, inundation, classes, sources ---- */

/* SOURCE_DATE_EPOCH (reproducible-builds.org) when it is a whole number of seconds: 1 and
 * *t set, else 0. */
static int source_date_epoch(time_t *t)
{
    const char *env = getenv("SOURCE_DATE_EPOCH");
    if (!env || !*env || strspn(env, "0123456789") != strlen(env) || strlen(env) >= 16)
        return 0;
    *t = (time_t)strtoll(env, NULL, 10);
    return 1;
}

/* A source's date: its modification time, no later than SOURCE_DATE_EPOCH when that is set
 * (clamped as reproducible builds clamp file times), so that the same inputs made again
 * give the same report; -1 when unknown. */
static int64_t source_time(const struct stat *sb)
{
    time_t epoch;
    int64_t t = (int64_t)sb->st_mtime;
    return source_date_epoch(&epoch) && (int64_t)epoch < t ? (int64_t)epoch : t;
}

/* Adds a source: a file read, its size, time and provenance (a reference is taken). */
static cr_status add_source(loader *l, const char *role, const char *path, json_object *prov)
{
    report_model *r = l->r;
    report_source *s = realloc(r->sources, ((size_t)r->nsources + 1) * sizeof *s);
    if (!s)
        return out_of_memory(l->ctx);
    r->sources = s;
    s += r->nsources++;
    memset(s, 0, sizeof *s);
    struct stat sb;
    int known = stat(path, &sb) == 0;
    s->bytes = known ? (int64_t)sb.st_size : -1;
    s->mtime = known ? source_time(&sb) : -1;
    s->provenance = prov ? json_object_get(prov) : NULL;
    s->role = text_dup(role);
    s->path = text_dup(path);
    return s->role && s->path ? CR_OK : out_of_memory(l->ctx);
}

/* The sensitivity fields the zones take, and where. */
static const struct {
    const char *field;
    size_t offset;
} SENSITIVITY_FIELDS[] = {
    {"rank_nominal", offsetof(report_zone, rank_nominal)}, {"rank_p05", offsetof(report_zone, rank_p05)},
    {"rank_p50", offsetof(report_zone, rank_p50)},         {"rank_p95", offsetof(report_zone, rank_p95)},
    {"p_top", offsetof(report_zone, p_top)},               {"score_p05", offsetof(report_zone, score_p05)},
    {"score_p50", offsetof(report_zone, score_p50)},       {"score_p95", offsetof(report_zone, score_p95)},
};
#define NSENSITIVITY ((int)(sizeof SENSITIVITY_FIELDS / sizeof *SENSITIVITY_FIELDS))

/* The sensitivity's id field (the zones', else the one it recorded) and its fields, checking
 * that it is sensitivity's output. */
static cr_status sensitivity_fields(loader *l, OGRLayerH layer, json_object *prov, int *idf, int *fields)
{
    const char *path = l->o->sensitivity, *needed[] = {"rank_p05", "rank_p95"};
    for (int k = 0; k < 2; k++)
        if (field_of(layer, needed[k]) < 0)
            return cr_ctx_fail(l->ctx, CR_E_DATA, "sensitivity '%s': not a cityrisk sensitivity output (no %s)", path,
                               needed[k]);
    for (int k = 0; k < NSENSITIVITY; k++)
        fields[k] = field_of(layer, SENSITIVITY_FIELDS[k].field);
    if ((*idf = field_of(layer, l->id_field)) < 0 && (*idf = field_of(layer, recorded(prov, "id_field"))) < 0)
        return cr_ctx_fail(l->ctx, CR_E_DATA, "sensitivity '%s': no field %s to join the zones on", path,
                           l->id_field);
    return CR_OK;
}

/* Joins the sensitivity output to the zones by id. */
static cr_status read_sensitivity(loader *l)
{
    report_model *r = l->r;
    const char *path = l->o->sensitivity;
    GDALDatasetH ds;
    cr_status st = open_input(l, "sensitivity", path, GDAL_OF_VECTOR, &ds);
    if (st != CR_OK)
        return st;
    OGRLayerH layer = GDALDatasetGetLayer(ds, 0);
    json_object *prov = layer ? cr_vector_provenance(ds, layer, path) : NULL;
    int idf = -1, fields[NSENSITIVITY], unmatched = 0;
    st = layer ? sensitivity_fields(l, layer, prov, &idf, fields)
               : cr_ctx_fail(l->ctx, CR_E_DATA, "sensitivity '%s': no layer", path);
    OGRFeatureH f;
    while (st == CR_OK && (f = OGR_L_GetNextFeature(layer))) {
        int z = OGR_F_IsFieldSetAndNotNull(f, idf) ? find_zone(l, OGR_F_GetFieldAsString(f, idf)) : -1;
        for (int k = 0; z >= 0 && k < NSENSITIVITY; k++)
            *(double *)((char *)&r->zones[z] + SENSITIVITY_FIELDS[k].offset) = field_number(f, fields[k]);
        unmatched += z < 0;
        OGR_F_Destroy(f);
    }
    if (st == CR_OK && unmatched)
        cr_ctx_log(l->ctx, CR_LOG_WARNING, "sensitivity '%s': %d zones are in no --zones file", path, unmatched);
    GDALClose(ds);
    if (st == CR_OK) {
        json_object *par = cr_provenance_object(prov, "CITYRISK_PARAMETERS");
        r->has_sensitivity = 1;
        r->sensitivity_parameters = par ? json_object_get(par) : NULL;
        if (!(r->sensitivity_path = text_dup(path)))
            st = out_of_memory(l->ctx);
    }
    if (st == CR_OK)
        st = add_source(l, "sensitivity", path, prov);
    json_object_put(prov);
    return st;
}

/* Reads the inundation raster's parameters (sea-level source, levels, DEM error). */
static cr_status read_inundation(loader *l)
{
    report_model *r = l->r;
    GDALDatasetH ds;
    cr_status st = open_input(l, "inundation", l->o->inundation, GDAL_OF_RASTER, &ds);
    if (st != CR_OK)
        return st;
    json_object *meta = cr_metadata_provenance(ds), *par = cr_provenance_object(meta, "CITYRISK_PARAMETERS");
    GDALClose(ds);
    r->inundation_parameters = par ? json_object_get(par) : NULL;
    if (!(r->inundation_path = text_dup(l->o->inundation)))
        st = out_of_memory(l->ctx);
    if (st == CR_OK)
        st = add_source(l, "inundation", l->o->inundation, meta);
    json_object_put(meta);
    return st;
}

/* The inner breaks of a classes object ({"breaks": [...]}): their number (1 to
 * CR_CLASSES_MAX - 1, finite, non-decreasing), 0 when missing or not so. */
static int class_breaks(json_object *classes, double *breaks)
{
    json_object *a = NULL;
    if (!json_object_object_get_ex(classes, "breaks", &a) || !json_object_is_type(a, json_type_array))
        return 0;
    int n = (int)json_object_array_length(a);
    if (n < 1 || n >= CR_CLASSES_MAX)
        return 0;
    for (int k = 0; k < n; k++) {
        json_object *b = json_object_array_get_idx(a, k);
        if (!json_object_is_type(b, json_type_double) && !json_object_is_type(b, json_type_int))
            return 0;
        breaks[k] = json_object_get_double(b);
        if (!isfinite(breaks[k]) || (k && breaks[k] < breaks[k - 1]))
            return 0;
    }
    return n;
}

/* 1 when s is a colour "#rrggbb". */
static int is_colour(const char *s)
{
    if (strlen(s) != 7 || s[0] != '#')
        return 0;
    for (int i = 1; i < 7; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Copies the n strings of classes' array key (names or colors) into out (each size bytes),
 * when there are n of them and each passes ok (NULL: any). Returns 1 when copied. */
static int class_texts(json_object *classes, const char *key, int n, char *out, size_t size, int (*ok)(const char *))
{
    json_object *a = NULL;
    if (!json_object_object_get_ex(classes, key, &a) || !json_object_is_type(a, json_type_array) ||
        (int)json_object_array_length(a) != n)
        return 0;
    for (int k = 0; k < n; k++) {
        json_object *s = json_object_array_get_idx(a, k);
        if (!json_object_is_type(s, json_type_string) || (ok && !ok(json_object_get_string(s))))
            return 0;
    }
    for (int k = 0; k < n; k++)
        cr_text_clean(out + (size_t)k * size, size, json_object_get_string(json_object_array_get_idx(a, k)));
    return 1;
}

/* INFORM's names for five classes, else each class's score range. */
static void default_name(const report_classes *c, int k, char *buf, size_t size)
{
    if (c->n == 5)
        snprintf(buf, size, "%s", cr_class_default_name(k + 1));
    else if (k == 0)
        snprintf(buf, size, "< %.4g", c->breaks[0]);
    else if (k == c->n - 1)
        snprintf(buf, size, ">= %.4g", c->breaks[k - 1]);
    else
        snprintf(buf, size, "%.4g - < %.4g", c->breaks[k - 1], c->breaks[k]);
}

/* The classes: the first view's exposure raster's, else the breaks zonal recorded with
 * default names and colours, else INFORM's defaults. */
static void set_classes(loader *l)
{
    report_classes *c = &l->r->classes;
    json_object *exposure = l->view_exp && l->r->nviews && l->view_exp[0] >= 0 ? l->exp[l->view_exp[0]].metadata
                                                                              : NULL;
    json_object *from_exposure = NULL, *from_zonal = NULL;
    json_object_object_get_ex(cr_provenance_object(exposure, "CITYRISK_PARAMETERS"), "classes", &from_exposure);
    json_object_object_get_ex(cr_provenance_object(l->r->nviews ? l->r->views[0].provenance : NULL,
                                                   "CITYRISK_PARAMETERS"),
                              "classes", &from_zonal);
    int nb = class_breaks(from_exposure, c->breaks);
    json_object *named = nb ? from_exposure : NULL; /* zonal records breaks only */
    if (!nb)
        nb = class_breaks(from_zonal, c->breaks);
    if (!nb) {
        cr_class_spec spec;
        cr_classes_default(&spec);
        nb = spec.count - 1;
        memcpy(c->breaks, spec.breaks, (size_t)nb * sizeof *c->breaks);
    }
    c->n = nb + 1;
    if (!class_texts(named, "names", c->n, &c->names[0][0], sizeof c->names[0], NULL))
        for (int k = 0; k < c->n; k++)
            default_name(c, k, c->names[k], sizeof c->names[k]);
    if (!class_texts(named, "colors", c->n, &c->colors[0][0], sizeof c->colors[0], is_colour))
        for (int k = 0; k < c->n; k++)
            cr_class_colour(k + 1, c->n, c->colors[k], sizeof c->colors[k]);
}

/* The exposure rasters: each read (when not yet) and listed among the sources; each view
 * holds a reference to its raster's metadata. */
static cr_status read_exposures(loader *l)
{
    cr_status st = CR_OK;
    for (int e = 0; st == CR_OK && e < l->nexp; e++) {
        st = read_exposure(l, e);
        if (st == CR_OK)
            st = add_source(l, l->exp[e].role, l->exp[e].path, l->exp[e].metadata);
    }
    for (int v = 0; st == CR_OK && v < l->r->nviews; v++) {
        json_object *meta = l->view_exp[v] >= 0 ? l->exp[l->view_exp[v]].metadata : NULL;
        l->r->views[v].exposure_metadata = meta ? json_object_get(meta) : NULL;
    }
    return st;
}

/* The date shown: SOURCE_DATE_EPOCH's (reproducible builds) when it is a whole number of
 * seconds, else today's; YYYY-MM-DD in UTC, in a string to free(). */
static char *report_date(void)
{
    time_t t;
    if (!source_date_epoch(&t))
        t = time(NULL);
    struct tm tm;
    char buf[32] = "";
    if (gmtime_r(&t, &tm))
        strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return text_dup(buf);
}

/* The titles and the date. */
static cr_status set_header(loader *l)
{
    report_model *r = l->r;
    r->title = text_dup(l->o->title ? l->o->title : DEFAULT_TITLE);
    r->city = l->o->city ? text_dup(l->o->city) : NULL;
    r->version = text_dup(CR_VERSION_STRING);
    r->date = report_date();
    return r->title && r->version && r->date && (r->city || !l->o->city) ? CR_OK : out_of_memory(l->ctx);
}

/* Frees what the loader holds beside the model. */
static void loader_release(loader *l)
{
    for (int v = 0; l->rows && v < l->r->nviews; v++) {
        free(l->rows[v].zone);
        free(l->rows[v].values);
    }
    for (int e = 0; e < l->nexp; e++) {
        free(l->exp[e].role);
        json_object_put(l->exp[e].metadata);
    }
    free(l->rows);
    free(l->exp);
    free(l->view_exp);
    free(l->index);
    free(l->last_view);
    if (l->srs)
        OSRDestroySpatialReference(l->srs);
}

cr_status report_load(cr_ctx *ctx, report_model *r, const cr_report_opts *o)
{
    memset(r, 0, sizeof *r);
    r->o = o;
    r->nmetrics = report_metric_count();
    loader l = {.ctx = ctx, .r = r, .o = o, .nby = CSLCount(o->by)};
    cr_status st = set_header(&l);
    if (st == CR_OK && CSLCount(o->zones) == 0)
        st = cr_ctx_fail(ctx, CR_E_USAGE, "report: no zones to report");
    if (st == CR_OK)
        st = parse_views(&l);
    if (st == CR_OK)
        st = parse_exposure(&l);
    for (int v = 0; st == CR_OK && v < r->nviews; v++) {
        char role[1024];
        snprintf(role, sizeof role, "zones %s", r->views[v].label);
        st = read_view(&l, v);
        if (st == CR_OK)
            st = add_source(&l, role, r->views[v].path, r->views[v].provenance);
    }
    if (st == CR_OK)
        st = gather_values(&l);
    if (st == CR_OK)
        st = read_exposures(&l);
    if (st == CR_OK && o->sensitivity)
        st = read_sensitivity(&l);
    if (st == CR_OK && o->inundation)
        st = read_inundation(&l);
    if (st == CR_OK)
        set_classes(&l);
    r->paged = r->nzones > CR_REPORT_LARGE_ZONES;
    loader_release(&l);
    return st;
}

void report_model_free(report_model *r)
{
    if (!r)
        return;
    for (int z = 0; r->zones && z < r->nzones; z++) {
        free(r->zones[z].id);
        free(r->zones[z].name);
        free(r->zones[z].svg_path);
        if (r->zones[z].geometry)
            OGR_G_DestroyGeometry((OGRGeometryH)r->zones[z].geometry);
    }
    for (int v = 0; r->views && v < r->nviews; v++) {
        report_view *view = &r->views[v];
        free(view->label);
        free(view->title);
        free(view->path);
        free(view->scenario);
        json_object_put(view->provenance);
        free(view->exposure_path);
        json_object_put(view->exposure_metadata);
        free(view->image_base64);
    }
    for (int s = 0; r->sources && s < r->nsources; s++) {
        free(r->sources[s].role);
        free(r->sources[s].path);
        json_object_put(r->sources[s].provenance);
    }
    free(r->zones);
    free(r->views);
    free(r->sources);
    free(r->values);
    free(r->title);
    free(r->city);
    free(r->date);
    free(r->version);
    free(r->crs_name);
    free(r->crs_wkt);
    free(r->sensitivity_path);
    json_object_put(r->sensitivity_parameters);
    free(r->rank_chart_svg);
    free(r->inundation_path);
    json_object_put(r->inundation_parameters);
    memset(r, 0, sizeof *r);
}
