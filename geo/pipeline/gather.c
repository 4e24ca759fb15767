/* gather.c: the outputs of a sweep of zonal runs gathered into one table (gather.h). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_hash_set.h>
#include <cpl_string.h>
#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include <json-c/json.h>

#include "cityrisk/gather.h"
#include "cityrisk/version.h"
#include "core/internal.h"
#include "core/output.h"
#include "core/text.h"

void cr_gather_opts_init(cr_gather_opts *o)
{
    memset(o, 0, sizeof *o);
}

/* A zone: its id (as text, what matches it across inputs), and what its first feature
 * gives the row: the id and name fields as they are, its geometry. */
typedef struct zone {
    char *key;
    OGRFeatureH first; /* the feature it was first seen in (id, name, geometry) */
    int min_rank, max_rank, min_at, max_at; /* across the inputs; at: the input, -1 none */
} zone;

/* One input: its labels and file, and per zone its feature (NULL: not in it). */
typedef struct input {
    char **labels; /* CSL, one per --by variable */
    const char *file;
    GDALDatasetH ds;
    OGRLayerH layer;
    OGRFeatureH *feature; /* [zone] */
} input;

typedef struct gathering {
    cr_ctx *ctx;
    const cr_gather_opts *o;
    input *in;
    int nin, nby;
    zone *zones;
    int64_t nzones, cap;
    CPLHashSet *index; /* of zone_ref: the zones by id */
    char **fields; /* the metrics, CSL: the table's column names */
    int *swept;    /* per metric: -1, or the --by variable whose label picks its field in each
                    * input (zonal's arrivals_flooded_<scenario>: column arrivals_flooded) */
    int id, name;  /* fields of the first input; name -1 when none */
    int rank;      /* the index of score_rank in fields, -1 when not gathered */
} gathering;

/* Splits each input into its labels and file. */
static cr_status parse_inputs(gathering *g)
{
    g->nin = CSLCount(g->o->inputs);
    g->nby = CSLCount(g->o->by);
    g->in = calloc((size_t)g->nin + 1, sizeof *g->in);
    if (!g->in)
        return cr_ctx_fail(g->ctx, CR_E_IO, "out of memory");
    if (g->nin == 0)
        return cr_ctx_fail(g->ctx, CR_E_USAGE, "no input to gather");
    for (int i = 0; i < g->nin; i++) {
        const char *spec = g->o->inputs[i], *eq = g->nby ? strchr(spec, '=') : NULL;
        if (g->nby && !eq)
            return cr_ctx_fail(g->ctx, CR_E_USAGE, "input '%s': expected LABEL[;LABEL...]=FILE, a label for each --by variable", spec);
        g->in[i].file = eq ? eq + 1 : spec;
        if (eq) {
            char *labels = CPLStrdup(spec);
            labels[eq - spec] = '\0';
            g->in[i].labels = CSLTokenizeString2(labels, ";", CSLT_ALLOWEMPTYTOKENS);
            CPLFree(labels);
            if (CSLCount(g->in[i].labels) != g->nby)
                return cr_ctx_fail(g->ctx, CR_E_USAGE, "input '%s': %d labels for %d --by variables", spec,
                                   CSLCount(g->in[i].labels), g->nby);
        }
    }
    return CR_OK;
}

/* The field of the layer named name (exactly), -1 when none. */
static int field_index(OGRLayerH layer, const char *name)
{
    OGRFeatureDefnH d = OGR_L_GetLayerDefn(layer);
    for (int i = 0; i < OGR_FD_GetFieldCount(d); i++)
        if (strcmp(OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(d, i)), name) == 0)
            return i;
    return -1;
}

/* The field of input i that metric m reads: its name, or for a swept metric its name and
 * the suffix of the input's label ("arrivals_flooded" + "_ssp245_2100"). */
static void source_name(const gathering *g, int i, int m, char *buf, size_t size)
{
    char suffix[256] = "";
    if (g->swept[m] >= 0)
        cr_field_suffix(g->in[i].labels[g->swept[m]], suffix, sizeof suffix);
    snprintf(buf, size, "%s%s", g->fields[m], suffix);
}

/* Zonal writes a metric of each scenario of its inundation raster under the scenario's
 * suffix (arrivals_flooded_ssp245_2100, ...), in every file of a sweep. When the sweep has
 * a variable whose label suffixes such a metric in every input, the table has one column,
 * the stem (arrivals_flooded), and each row the value of its own combination: a row of
 * ssp245-2100 is not given the flood of stress-2m. */
static cr_status sweep_columns(gathering *g)
{
    int n = CSLCount(g->fields);
    char **kept = NULL;
    int *swept = malloc(((size_t)n + 1) * sizeof *swept), k = 0;
    if (!swept)
        return cr_ctx_fail(g->ctx, CR_E_IO, "out of memory");
    for (int m = 0; m < n; m++) {
        const char *f = g->fields[m];
        int var = -1;
        char stem[256] = "";
        for (int v = 0; v < g->nby * g->nin && var < 0; v++) { /* each variable, each input's label */
            char suffix[256];
            cr_field_suffix(g->in[v % g->nin].labels[v / g->nin], suffix, sizeof suffix);
            size_t lf = strlen(f), ls = strlen(suffix);
            if (lf <= ls || strcmp(f + lf - ls, suffix) != 0 || lf - ls >= sizeof stem)
                continue;
            snprintf(stem, sizeof stem, "%.*s", (int)(lf - ls), f);
            int everywhere = 1;
            for (int i = 0; i < g->nin && everywhere; i++) {
                char name[512];
                cr_field_suffix(g->in[i].labels[v / g->nin], suffix, sizeof suffix);
                snprintf(name, sizeof name, "%s%s", stem, suffix);
                everywhere = field_index(g->in[i].layer, name) >= 0;
            }
            if (everywhere)
                var = v / g->nin;
        }
        if (var < 0) {
            kept = CSLAddString(kept, f);
            swept[k++] = -1;
            continue;
        }
        /* the stem once, where its first form was; its other forms are the same column */
        int seen = CSLFindStringCaseSensitive(kept, stem) >= 0;
        for (int j = 0; !seen && j < k; j++)
            seen = swept[j] == var && strcmp(kept[j], stem) == 0;
        if (!seen && field_index(g->in[0].layer, stem) < 0) {
            kept = CSLAddString(kept, stem);
            swept[k++] = var;
        } else if (!seen) { /* a field of that very name: keep the forms apart */
            kept = CSLAddString(kept, f);
            swept[k++] = -1;
        }
    }
    CSLDestroy(g->fields);
    g->fields = kept;
    free(g->swept);
    g->swept = swept;
    g->rank = CSLFindStringCaseSensitive(g->fields, "score_rank");
    if (g->rank >= 0 && g->swept[g->rank] >= 0)
        g->rank = -1;
    return CR_OK;
}

/* The id, name and metric fields, from the first input. */
static cr_status choose_fields(gathering *g)
{
    OGRLayerH layer = g->in[0].layer;
    OGRFeatureDefnH d = OGR_L_GetLayerDefn(layer);
    const char *file = g->in[0].file;
    if (OGR_FD_GetFieldCount(d) == 0)
        return cr_ctx_fail(g->ctx, CR_E_DATA, "input '%s' has no fields: not a zonal output", file);
    g->id = g->o->id_field ? field_index(layer, g->o->id_field) : 0;
    if (g->id < 0)
        return cr_ctx_fail(g->ctx, CR_E_DATA, "input '%s' has no field '%s' (--id-field)", file, g->o->id_field);
    g->name = field_index(layer, g->o->name_field ? g->o->name_field : "name");
    if (g->name < 0 && g->o->name_field)
        return cr_ctx_fail(g->ctx, CR_E_DATA, "input '%s' has no field '%s' (--name-field)", file, g->o->name_field);
    if (g->name == g->id)
        g->name = -1;
    char **asked = g->o->fields ? CSLDuplicate(g->o->fields)
                                : CSLTokenizeString2(CR_GATHER_DEFAULT_FIELDS, ",", 0);
    cr_status st = CR_OK;
    for (char **a = asked; st == CR_OK && a && *a; a++) {
        size_t len = strlen(*a);
        int prefix = len > 0 && (*a)[len - 1] == '*', found = 0;
        for (int i = 0; i < OGR_FD_GetFieldCount(d); i++) {
            const char *name = OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(d, i));
            if ((prefix ? strncmp(name, *a, len - 1) == 0 : strcmp(name, *a) == 0) && i != g->id && i != g->name &&
                CSLFindStringCaseSensitive(g->fields, name) < 0) {
                g->fields = CSLAddString(g->fields, name);
                found = 1;
            }
        }
        /* a field asked for by name must be there; the defaults are what there is */
        if (!found && !prefix && g->o->fields)
            st = cr_ctx_fail(g->ctx, CR_E_DATA, "input '%s' has no field '%s' (--fields)", file, *a);
    }
    CSLDestroy(asked);
    if (st == CR_OK)
        st = sweep_columns(g);
    return st;
}

/* A zone's id in the index of zones: 10,000 zones in 16 inputs are found in a hash, not
 * by scanning every zone for every feature. */
typedef struct zone_ref {
    const char *key; /* the zone's */
    int64_t index;
} zone_ref;

static unsigned long zone_ref_hash(const void *e)
{
    return CPLHashSetHashStr(((const zone_ref *)e)->key);
}

static int zone_ref_equal(const void *a, const void *b)
{
    return strcmp(((const zone_ref *)a)->key, ((const zone_ref *)b)->key) == 0;
}

/* The zone of id key, added when new; -1 when out of memory. */
static int64_t zone_of(gathering *g, const char *key, OGRFeatureH f)
{
    zone_ref probe = {key, -1};
    const zone_ref *found = CPLHashSetLookup(g->index, &probe);
    if (found)
        return found->index;
    if (g->nzones == g->cap) {
        int64_t cap = g->cap ? 2 * g->cap : 64;
        zone *grown = realloc(g->zones, (size_t)cap * sizeof *grown);
        if (!grown)
            return -1;
        g->zones = grown, g->cap = cap;
        for (int i = 0; i < g->nin; i++) {
            OGRFeatureH *more = realloc(g->in[i].feature, (size_t)cap * sizeof *more);
            if (!more)
                return -1;
            g->in[i].feature = more;
        }
    }
    zone *z = &g->zones[g->nzones];
    *z = (zone){CPLStrdup(key), OGR_F_Clone(f), 0, 0, -1, -1};
    zone_ref *ref = malloc(sizeof *ref);
    if (!ref)
        return -1;
    *ref = (zone_ref){z->key, g->nzones};
    CPLHashSetInsert(g->index, ref);
    for (int i = 0; i < g->nin; i++)
        g->in[i].feature[g->nzones] = NULL;
    return g->nzones++;
}

/* Reads input i's features into its zones. */
static cr_status read_input(gathering *g, int i)
{
    input *in = &g->in[i];
    const char *idname = OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(OGR_L_GetLayerDefn(g->in[0].layer), g->id));
    int id = field_index(in->layer, idname);
    if (id < 0)
        return cr_ctx_fail(g->ctx, CR_E_DATA, "input '%s' has no field '%s' (the zones' id)", in->file, idname);
    OGR_L_ResetReading(in->layer);
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(in->layer))) {
        if (!OGR_F_IsFieldSetAndNotNull(f, id)) {
            OGR_F_Destroy(f);
            continue; /* a zone without an id cannot be matched */
        }
        int64_t z = zone_of(g, OGR_F_GetFieldAsString(f, id), f);
        if (z < 0) {
            OGR_F_Destroy(f);
            return cr_ctx_fail(g->ctx, CR_E_IO, "out of memory");
        }
        if (in->feature[z]) {
            cr_ctx_log(g->ctx, CR_LOG_WARNING, "input '%s': zone '%s' appears twice: its first feature is gathered",
                       in->file, g->zones[z].key);
            OGR_F_Destroy(f);
            continue;
        }
        in->feature[z] = f;
    }
    return CR_OK;
}

/* The lowest and highest rank of each zone across the inputs, and where first. */
static void rank_range(gathering *g)
{
    if (g->rank < 0)
        return;
    const char *field = g->fields[g->rank];
    for (int i = 0; i < g->nin; i++) {
        int at = field_index(g->in[i].layer, field);
        for (int64_t z = 0; at >= 0 && z < g->nzones; z++) {
            OGRFeatureH f = g->in[i].feature[z];
            if (!f || !OGR_F_IsFieldSetAndNotNull(f, at))
                continue;
            int r = OGR_F_GetFieldAsInteger(f, at);
            zone *zz = &g->zones[z];
            if (zz->min_at < 0 || r < zz->min_rank)
                zz->min_rank = r, zz->min_at = i;
            if (zz->max_at < 0 || r > zz->max_rank)
                zz->max_rank = r, zz->max_at = i;
        }
    }
}

/* What the table records of how it was made: the version, the command line and the inputs
 * (NAME=VALUE items). */
static char **provenance(const gathering *g)
{
    char **md = CSLSetNameValue(NULL, "CITYRISK_VERSION", cr_version());
    md = CSLSetNameValue(md, "CITYRISK_COMMAND", cr_ctx_command(g->ctx) ? cr_ctx_command(g->ctx) : "");
    json_object *inputs = json_object_new_array();
    for (int i = 0; i < g->nin; i++)
        json_object_array_add(inputs, json_object_new_string(g->o->inputs[i]));
    md = CSLSetNameValue(md, "CITYRISK_INPUTS", json_object_to_json_string_ext(inputs, JSON_C_TO_STRING_PLAIN));
    json_object_put(inputs);
    return md;
}

/* A field of the output like field f of the first input, named name. */
static int add_field(OGRLayerH dst, const char *name, OGRFieldType type)
{
    OGRFieldDefnH fd = OGR_Fld_Create(name, type);
    int ok = OGR_L_CreateField(dst, fd, TRUE) == OGRERR_NONE;
    OGR_Fld_Destroy(fd);
    return ok;
}

/* The labels of input i joined with ';' ("ssp245-2050;equal"): a new string. */
static char *combination(const gathering *g, int i)
{
    if (!g->in[i].labels)
        return CPLStrdup(g->in[i].file);
    size_t len = 1;
    for (char **l = g->in[i].labels; *l; l++)
        len += strlen(*l) + 1;
    char *out = CPLMalloc(len);
    out[0] = '\0';
    for (char **l = g->in[i].labels; *l; l++) {
        if (l != g->in[i].labels)
            strcat(out, ";");
        strcat(out, *l);
    }
    return out;
}

/* Creates the table's fields and writes its rows into dst. */
static cr_status write_rows(gathering *g, OGRLayerH dst, int geometry)
{
    OGRFeatureDefnH sd = OGR_L_GetLayerDefn(g->in[0].layer);
    OGRFieldDefnH idd = OGR_FD_GetFieldDefn(sd, g->id);
    int ok = add_field(dst, OGR_Fld_GetNameRef(idd), OGR_Fld_GetType(idd));
    if (ok && g->name >= 0) {
        OGRFieldDefnH nd = OGR_FD_GetFieldDefn(sd, g->name);
        ok = add_field(dst, OGR_Fld_GetNameRef(nd), OGR_Fld_GetType(nd));
    }
    for (int v = 0; ok && v < g->nby; v++)
        ok = add_field(dst, g->o->by[v], OFTString);
    if (ok && g->nby == 0) /* without labels, the file says which input a row is of */
        ok = add_field(dst, "input", OFTString);
    for (int m = 0; ok && g->fields && g->fields[m]; m++) {
        char source[512];
        source_name(g, 0, m, source, sizeof source);
        ok = add_field(dst, g->fields[m], OGR_Fld_GetType(OGR_FD_GetFieldDefn(sd, field_index(g->in[0].layer, source))));
    }
    if (ok && g->rank >= 0)
        ok = add_field(dst, "score_rank_min", OFTInteger) && add_field(dst, "score_rank_max", OFTInteger) &&
             add_field(dst, "score_rank_min_at", OFTString) && add_field(dst, "score_rank_max_at", OFTString);
    if (!ok)
        return cr_ctx_fail(g->ctx, CR_E_IO, "cannot create the table's fields: %s", CPLGetLastErrorMsg());
    OGRFeatureDefnH dd = OGR_L_GetLayerDefn(dst);
    int nmetrics = CSLCount(g->fields), base = 1 + (g->name >= 0), nkeys = g->nby ? g->nby : 1;
    for (int i = 0; i < g->nin; i++) {
        int *at = malloc(((size_t)nmetrics + 1) * sizeof *at);
        if (!at)
            return cr_ctx_fail(g->ctx, CR_E_IO, "out of memory");
        for (int m = 0; m < nmetrics; m++) {
            char source[512];
            source_name(g, i, m, source, sizeof source);
            at[m] = field_index(g->in[i].layer, source);
        }
        for (int64_t z = 0; z < g->nzones; z++) {
            zone *zz = &g->zones[z];
            OGRFeatureH src = g->in[i].feature[z], out = OGR_F_Create(dd);
            OGR_F_SetFieldString(out, 0, zz->key);
            if (g->name >= 0 && OGR_F_IsFieldSetAndNotNull(zz->first, g->name))
                OGR_F_SetFieldString(out, 1, OGR_F_GetFieldAsString(zz->first, g->name));
            for (int v = 0; v < g->nby; v++)
                OGR_F_SetFieldString(out, base + v, g->in[i].labels[v]);
            if (g->nby == 0)
                OGR_F_SetFieldString(out, base, g->in[i].file);
            for (int m = 0; m < nmetrics; m++) {
                int k = base + nkeys + m;
                if (!src || at[m] < 0 || !OGR_F_IsFieldSetAndNotNull(src, at[m]))
                    OGR_F_SetFieldNull(out, k);
                else if (OGR_Fld_GetType(OGR_FD_GetFieldDefn(dd, k)) == OFTReal)
                    OGR_F_SetFieldDouble(out, k, OGR_F_GetFieldAsDouble(src, at[m]));
                else if (OGR_Fld_GetType(OGR_FD_GetFieldDefn(dd, k)) == OFTInteger64 ||
                         OGR_Fld_GetType(OGR_FD_GetFieldDefn(dd, k)) == OFTInteger)
                    OGR_F_SetFieldInteger64(out, k, OGR_F_GetFieldAsInteger64(src, at[m]));
                else
                    OGR_F_SetFieldString(out, k, OGR_F_GetFieldAsString(src, at[m]));
            }
            int r = base + nkeys + nmetrics;
            if (g->rank >= 0 && zz->min_at >= 0) {
                char *min_at = combination(g, zz->min_at), *max_at = combination(g, zz->max_at);
                OGR_F_SetFieldInteger(out, r, zz->min_rank);
                OGR_F_SetFieldInteger(out, r + 1, zz->max_rank);
                OGR_F_SetFieldString(out, r + 2, min_at);
                OGR_F_SetFieldString(out, r + 3, max_at);
                CPLFree(min_at), CPLFree(max_at);
            }
            OGRGeometryH geom = OGR_F_GetGeometryRef(zz->first);
            if (geometry && geom)
                OGR_F_SetGeometry(out, geom);
            ok = OGR_L_CreateFeature(dst, out) == OGRERR_NONE;
            OGR_F_Destroy(out);
            if (!ok) {
                free(at);
                return cr_ctx_fail(g->ctx, CR_E_IO, "cannot write a row: %s", CPLGetLastErrorMsg());
            }
        }
        free(at);
    }
    return CR_OK;
}

/* Writes the table into the temporary folder and publishes it. */
static cr_status write_table(gathering *g, const char *out_path, GDALDriverH drv, cr_gather_summary *s)
{
    const char *driver = GDALGetDriverShortName(drv);
    cr_vector_layout layout = {0};
    cr_temp temp = CR_TEMP_NONE;
    cr_status st = cr_vector_layout_init(g->ctx, out_path, driver, &layout);
    if (st == CR_OK)
        st = cr_temp_dir(g->ctx, out_path, "gather", &temp);
    char *target = NULL;
    if (st == CR_OK && (target = malloc(strlen(temp.path) + strlen(layout.driver_name) + 2)))
        sprintf(target, "%s/%s", temp.path, layout.driver_name);
    GDALDatasetH out = target ? GDALCreate(drv, target, 0, 0, 0, GDT_Unknown, NULL) : NULL;
    if (st == CR_OK && !out)
        st = cr_ctx_fail(g->ctx, CR_E_IO, "cannot create '%s': %s", out_path, CPLGetLastErrorMsg());
    int geometry = strcmp(driver, "CSV") != 0;
    char **md = provenance(g), **lco = strcmp(driver, "GeoJSON") == 0 ? cr_geojson_creation_options(md) : NULL;
    if (strcmp(driver, "CSV") == 0) /* numbers bare, as a spreadsheet reads them */
        lco = CSLSetNameValue(lco, "STRING_QUOTING", "IF_NEEDED");
    OGRSpatialReferenceH srs = geometry ? OGR_L_GetSpatialRef(g->in[0].layer) : NULL;
    OGRSpatialReferenceH copy = srs ? OSRClone(srs) : NULL;
    if (copy)
        OSRSetAxisMappingStrategy(copy, OAMS_TRADITIONAL_GIS_ORDER);
    char *layer_name = CPLStrdup(CPLGetBasename(out_path));
    OGRLayerH dst = st == CR_OK ? GDALDatasetCreateLayer(out, layer_name, copy,
                                                        geometry ? OGR_L_GetGeomType(g->in[0].layer) : wkbNone, lco)
                                : NULL;
    if (st == CR_OK && !dst)
        st = cr_ctx_fail(g->ctx, CR_E_IO, "cannot create a layer in '%s': %s", out_path, CPLGetLastErrorMsg());
    if (st == CR_OK && strcmp(driver, "GeoJSON") != 0 && strcmp(driver, "CSV") != 0) {
        CPLPushErrorHandler(CPLQuietErrorHandler); /* formats without metadata ignore it */
        GDALSetMetadata((GDALMajorObjectH)dst, md, NULL);
        CPLPopErrorHandler();
    }
    int transaction = st == CR_OK && GDALDatasetStartTransaction(out, FALSE) == OGRERR_NONE;
    if (st == CR_OK)
        st = write_rows(g, dst, geometry);
    if (st == CR_OK && transaction && GDALDatasetCommitTransaction(out) != OGRERR_NONE)
        st = cr_ctx_fail(g->ctx, CR_E_IO, "cannot write '%s': %s", out_path, CPLGetLastErrorMsg());
    CPLErrorReset();
    if (out)
        GDALClose(out);
    if (st == CR_OK && CPLGetLastErrorType() >= CE_Failure)
        st = cr_ctx_fail(g->ctx, CR_E_IO, "cannot write '%s': %s", out_path, CPLGetLastErrorMsg());
    if (st == CR_OK)
        st = cr_temp_publish_dir(g->ctx, &temp, out_path, &layout, g->o->overwrite);
    cr_temp_discard(&temp);
    cr_vector_layout_release(&layout);
    if (copy)
        OSRDestroySpatialReference(copy);
    CSLDestroy(lco);
    CSLDestroy(md);
    CPLFree(layer_name);
    free(target);
    snprintf(s->driver, sizeof s->driver, "%s", driver);
    return st;
}

cr_status cr_gather(cr_ctx *ctx, const char *out_path, const cr_gather_opts *o, cr_gather_summary *s)
{
    memset(s, 0, sizeof *s);
    gathering g = {.ctx = ctx, .o = o, .rank = -1, .name = -1};
    const char *name = o->format ? o->format : cr_vector_driver_for_path(out_path);
    GDALDriverH drv = GDALGetDriverByName(name ? name : "GeoJSON");
    cr_status st = CR_OK;
    if (!drv || !GDALGetMetadataItem(drv, GDAL_DCAP_VECTOR, NULL) || !GDALGetMetadataItem(drv, GDAL_DCAP_CREATE, NULL))
        st = cr_ctx_fail(ctx, CR_E_USAGE, "-of %s: not a vector format GDAL can create (e.g. CSV, GeoJSON, GPKG)",
                         name ? name : "GeoJSON");
    if (st == CR_OK)
        st = parse_inputs(&g);
    /* every file checked before any work: no input is the output, no output exists */
    cr_output_plan plan;
    cr_output_plan_init(&plan);
    char **files = NULL;
    for (int i = 0; st == CR_OK && i < g.nin; i++)
        files = CSLAddString(files, g.in[i].file);
    if (st == CR_OK)
        st = cr_output_plan_add_vector(ctx, &plan, out_path, GDALGetDriverShortName(drv));
    if (st == CR_OK)
        st = cr_output_plan_check(ctx, &plan, (const char *const *)files, o->overwrite);
    cr_output_plan_release(&plan);
    CSLDestroy(files);
    for (int i = 0; st == CR_OK && i < g.nin; i++) {
        if ((st = cr_open_vector(ctx, g.in[i].file, &g.in[i].ds)) != CR_OK)
            break;
        if (!(g.in[i].layer = GDALDatasetGetLayer(g.in[i].ds, 0)))
            st = cr_ctx_fail(ctx, CR_E_DATA, "input '%s' has no layer", g.in[i].file);
        g.in[i].feature = calloc(1, sizeof *g.in[i].feature);
        if (st == CR_OK && !g.in[i].feature)
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    }
    if (st == CR_OK && !(g.index = CPLHashSetNew(zone_ref_hash, zone_ref_equal, free)))
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    if (st == CR_OK)
        st = choose_fields(&g);
    for (int i = 0; st == CR_OK && i < g.nin; i++)
        st = read_input(&g, i);
    if (st == CR_OK) {
        rank_range(&g);
        st = write_table(&g, out_path, drv, s);
    }
    s->rows = (int64_t)g.nin * g.nzones;
    s->zones = g.nzones;
    s->inputs = g.nin;
    s->columns = CSLCount(g.fields);
    for (int i = 0; g.in && i < g.nin; i++) {
        for (int64_t z = 0; g.in[i].feature && z < g.nzones; z++)
            if (g.in[i].feature[z])
                OGR_F_Destroy(g.in[i].feature[z]);
        free(g.in[i].feature);
        CSLDestroy(g.in[i].labels);
        if (g.in[i].ds)
            GDALClose(g.in[i].ds);
    }
    for (int64_t z = 0; z < g.nzones; z++) {
        CPLFree(g.zones[z].key);
        OGR_F_Destroy(g.zones[z].first);
    }
    if (g.index)
        CPLHashSetDestroy(g.index);
    free(g.zones);
    free(g.in);
    CSLDestroy(g.fields);
    free(g.swept);
    return st;
}
