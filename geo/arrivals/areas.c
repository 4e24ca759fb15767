/* areas.c: counts per area (polygons with a count, or a table joined to them by code)
 * spread over the cells of their polygons by exact area share or a weight raster. */
#define _POSIX_C_SOURCE 200809L
#include "areas.h"

#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "core/csv.h"
#include "core/internal.h"
#include "core/polygons.h"
#include "core/pool.h"
#include "isodate.h"
#include "records.h"
#include "where.h"

/* One area: the polygons of one feature (a count on the polygons), or of every feature
 * sharing a code (a table row). */
typedef struct area {
    char *key;       /* the code (table), NULL otherwise */
    double count;    /* NAN until a count is accepted for it */
    int64_t id;      /* the line of its row, or its feature id */
    int64_t first_fid;
    double whole;    /* the polygons' whole area, in cells (NAN: unknown) */
    int beyond;      /* a polygon's extent reaches beyond the grid */
    double cover;    /* S_g: covered cells inside the grid */
    double weight;   /* W_g: weight on them */
    double scale;    /* C_g / S_g, or C_g / W_g */
    int weighted;    /* spread by weight (0: by area share) */
} area;

/* What one polygon of a tile added in the first pass. */
typedef struct part_sum {
    int64_t poly;
    double cover, weight;
} part_sum;

typedef struct slot_parts {
    part_sum *p;
    size_t n, cap;
    int failed;
} slot_parts;

struct cr_areas {
    const cr_arrivals_opts *o;
    const cr_grid *grid;
    const char *path;      /* the polygons, or the table when there is one */
    cr_polyset *set;
    int64_t npoly;
    int64_t *group;        /* per polygon: its area, -1 for none */
    area *a;
    int64_t nareas;
    /* the passes */
    int pass;              /* 1: sums, 2: cells */
    int tile, threads, slots;
    int64_t tiles;
    cr_layer **weight;     /* per worker, NULL without --weight */
    double **wvalues;      /* per worker: a tile of weights */
    uint8_t **wvalid;
    cr_coverage_scratch *scratch;
    double **acc;          /* per worker: a tile of arrivals */
    float **out;           /* per slot */
    slot_parts *parts;     /* per slot */
    cr_writer *writer;
    double raster_sum;
    atomic_int stop;
};

/* ---- reading ------------------------------------------------------------------ */

cr_status cr_areas_extent(cr_ctx *ctx, const cr_arrivals_opts *o, const char *grid_wkt,
                          cr_bounds *out)
{
    GDALDatasetH ds = NULL;
    OGRLayerH layer = NULL;
    cr_status st = cr_open_vector(ctx, o->areas_path, &ds);
    if (st == CR_OK)
        st = cr_vector_layer(ctx, ds, o->areas_path, "areas", o->layer, "--layer", &layer);
    if (st == CR_OK)
        st = cr_vector_extent(ctx, o->areas_path, ds, layer, grid_wkt, out);
    if (ds)
        GDALClose(ds);
    return st;
}

/* Reading the features' attributes and the table. */
typedef struct reading {
    cr_ctx *ctx;
    cr_areas *r;
    cr_arrivals_summary *s;
    cr_reject_target t;
    cr_date from, to;
    int has_from, has_to, dated;
    int32_t first_day, last_day;
    OGRCoordinateTransformationH ct; /* the polygons' CRS to the grid's, NULL when the same */
} reading;

static cr_status reject(reading *g, int64_t id, cr_reject_reason why, const char *message,
                        const char *const *values, int nvalues)
{
    return cr_reject_record(g->ctx, &g->t, id, why, message, values, nvalues);
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const area *)a)->key, ((const area *)b)->key);
}

/* The area whose code is key, -1 for none. */
static int64_t find_area(const cr_areas *r, const char *key)
{
    area probe = {.key = (char *)key};
    const area *hit = bsearch(&probe, r->a, (size_t)r->nareas, sizeof *r->a, by_key);
    return hit ? hit - r->a : -1;
}

/* The codes of text without surrounding blanks, as they are compared. */
static char *trimmed(const char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t'))
        n--;
    char *copy = CPLMalloc(n + 1);
    memcpy(copy, text, n);
    copy[n] = '\0';
    return copy;
}

static char **feature_values(OGRFeatureH f, int n)
{
    char **values = NULL;
    for (int i = 0; i < n; i++)
        values = CSLAddString(values, OGR_F_IsFieldSetAndNotNull(f, i) ? OGR_F_GetFieldAsString(f, i)
                                                                        : "");
    return values;
}

/* Fails with CR_E_USAGE naming the fields of the layer. */
static cr_status no_field(cr_ctx *ctx, OGRLayerH layer, const char *path, const char *flag,
                          const char *name)
{
    OGRFeatureDefnH d = OGR_L_GetLayerDefn(layer);
    char list[512] = "";
    size_t used = 0;
    for (int i = 0; i < OGR_FD_GetFieldCount(d) && used + 1 < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                 OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(d, i)));
    return cr_ctx_fail(ctx, CR_E_USAGE, "%s '%s' is not a field of areas '%s' layer '%s' (fields: %s)",
                       flag, name, path, OGR_L_GetName(layer), list);
}

/* A feature's count in the count field: CR_OK with *ok 1 when it is good. */
static cr_status feature_count(reading *g, OGRFeatureH f, int field, double *count, int *ok)
{
    char message[200];
    int reason;
    OGRFieldType type = OGR_Fld_GetType(OGR_F_GetFieldDefnRef(f, field));
    if (!OGR_F_IsFieldSetAndNotNull(f, field))
        reason = (snprintf(message, sizeof message, "count is empty"), CR_REJECT_COUNT_NOT_NUMERIC);
    else if (type == OFTInteger || type == OFTInteger64 || type == OFTReal)
        reason = cr_count_check(*count = OGR_F_GetFieldAsDouble(f, field), message, sizeof message);
    else
        reason = cr_count_parse(OGR_F_GetFieldAsString(f, field), count, message, sizeof message);
    *ok = reason < 0;
    if (*ok)
        return CR_OK;
    int n = OGR_F_GetFieldCount(f);
    char **values = g->t.report ? feature_values(f, n) : NULL;
    cr_status st = reject(g, OGR_F_GetFID(f), (cr_reject_reason)reason, message,
                          (const char *const *)values, values ? n : 0);
    CSLDestroy(values);
    return st;
}

/* Applies the window to the date of a row or feature id (text, or parsed when a date field
 * gave it): *keep 0 outside it; CR_OK with *keep 0 after a rejection too. */
static cr_status check_date(reading *g, int64_t id, const char *text, const cr_date *parsed,
                            const char *const *values, int nvalues, int *keep)
{
    cr_date d;
    *keep = 0;
    if (!parsed && (!text || !*text))
        return reject(g, id, CR_REJECT_MISSING_DATE, "date is empty", values, nvalues);
    if (parsed) {
        d = *parsed;
    } else if (!cr_date_parse(text, &d)) {
        char message[128];
        snprintf(message, sizeof message, "date '%.64s' is not an ISO 8601 date", text);
        return reject(g, id, CR_REJECT_BAD_DATE, message, values, nvalues);
    }
    if (!g->dated || d.day < g->first_day)
        g->first_day = d.day;
    if (!g->dated || d.last > g->last_day)
        g->last_day = d.last;
    g->dated = 1;
    *keep = cr_date_in_window(&d, g->has_from ? &g->from : NULL, g->has_to ? &g->to : NULL);
    g->s->excluded_by_date += !*keep;
    return CR_OK;
}

/* A feature's date in field (a date field, or text as a CSV's): *keep as check_date(). */
static cr_status feature_date(reading *g, OGRFeatureH f, int field, int *keep)
{
    int n = OGR_F_GetFieldCount(f);
    char **values = g->t.report ? feature_values(f, n) : NULL;
    OGRFieldType type = OGR_Fld_GetType(OGR_F_GetFieldDefnRef(f, field));
    int y, m, d, h, min, tz;
    float sec;
    cr_date date;
    const cr_date *parsed = NULL;
    const char *text = OGR_F_IsFieldSetAndNotNull(f, field) ? OGR_F_GetFieldAsString(f, field) : "";
    if ((type == OFTDate || type == OFTDateTime) && *text) {
        if (OGR_F_GetFieldAsDateTimeEx(f, field, &y, &m, &d, &h, &min, &sec, &tz) &&
            cr_date_from_parts(y, m, d, type == OFTDate ? -1 : h * 3600 + min * 60 + (int)sec,
                               &date))
            parsed = &date;
    }
    cr_status st = check_date(g, OGR_F_GetFID(f), text, parsed, (const char *const *)values,
                              values ? n : 0, keep);
    CSLDestroy(values);
    return st;
}

/* The whole area of a feature's polygons in the grid's CRS, in cells (NAN when it cannot
 * be transformed), and whether their extent reaches beyond the grid. */
static void feature_area(reading *g, OGRFeatureH f, area *a)
{
    const cr_grid *grid = g->r->grid;
    OGRGeometryH geom = OGR_F_GetGeometryRef(f);
    a->whole = NAN;
    a->beyond = 1;
    if (!geom || OGR_G_IsEmpty(geom))
        return;
    OGRGeometryH copy = OGR_G_Clone(geom);
    cr_gdal_begin(g->ctx);
    int ok = copy && (!g->ct || OGR_G_Transform(copy, g->ct) == OGRERR_NONE);
    cr_gdal_end(g->ctx);
    if (ok) {
        OGREnvelope e;
        OGR_G_GetEnvelope(copy, &e);
        cr_bounds b = cr_grid_bounds(grid);
        a->beyond = !(e.MinX >= b.xmin && e.MaxX <= b.xmax && e.MinY >= b.ymin && e.MaxY <= b.ymax);
        a->whole = OGR_G_Area(copy) / fabs(grid->gt[1] * grid->gt[5]);
    }
    OGR_G_DestroyGeometry(copy);
}

/* The features of the areas: with a count field, one area each; with a code, one area per
 * distinct code (features sharing one are reported and make one area). */
static cr_status read_features(reading *g, OGRLayerH layer, int64_t **fids, int64_t *nfids)
{
    cr_areas *r = g->r;
    const cr_arrivals_opts *o = r->o;
    OGRFeatureDefnH d = OGR_L_GetLayerDefn(layer);
    int by_code = o->table_path != NULL;
    const char *name = by_code ? o->area_key : o->count_field;
    int field = OGR_FD_GetFieldIndex(d, name), date = -1;
    if (field < 0)
        return no_field(g->ctx, layer, o->areas_path, by_code ? "--area-key" : "--count-field", name);
    /* Without a table, --date-field and --where select the polygons, as they select records. */
    if (!by_code && o->date_field && (date = OGR_FD_GetFieldIndex(d, o->date_field)) < 0)
        return no_field(g->ctx, layer, o->areas_path, "--date-field", o->date_field);
    if (!by_code && o->where) {
        g->s->excluded_by_where = OGR_L_GetFeatureCount(layer, TRUE);
        /* Some drivers (GPKG) check the filter only when it runs: count with it. */
        cr_gdal_begin(g->ctx);
        OGRErr err = OGR_L_SetAttributeFilter(layer, o->where);
        GIntBig kept = err == OGRERR_NONE ? OGR_L_GetFeatureCount(layer, TRUE) : -1;
        cr_gdal_end(g->ctx);
        if (err != OGRERR_NONE || kept < 0 || *cr_gdal_message(g->ctx))
            return cr_ctx_fail_gdal(g->ctx, CR_E_USAGE, "--where '%s' is not a valid filter of "
                                    "areas '%s'", o->where, o->areas_path);
        g->s->records_read = g->s->excluded_by_where;
        g->s->excluded_by_where -= kept;
    }
    OGR_L_ResetReading(layer);
    int64_t cap = 0;
    cr_status st = CR_OK;
    OGRFeatureH f;
    while (st == CR_OK && (f = OGR_L_GetNextFeature(layer)) != NULL) {
        if (r->nareas == cap) {
            cap = cap ? 2 * cap : 1024;
            area *grown = realloc(r->a, (size_t)cap * sizeof *grown);
            int64_t *gf = realloc(*fids, (size_t)cap * sizeof *gf);
            if (grown)
                r->a = grown;
            if (gf)
                *fids = gf;
            if (!grown || !gf) {
                OGR_F_Destroy(f);
                return cr_ctx_fail(g->ctx, CR_E_IO, "out of memory reading areas");
            }
        }
        area *a = &r->a[r->nareas];
        memset(a, 0, sizeof *a);
        a->count = NAN;
        a->id = a->first_fid = OGR_F_GetFID(f);
        (*fids)[r->nareas] = a->id;
        feature_area(g, f, a);
        if (by_code) {
            int set = OGR_F_IsFieldSetAndNotNull(f, field);
            a->key = trimmed(set ? OGR_F_GetFieldAsString(f, field) : "");
            r->nareas++;
        } else {
            int ok = 0, keep = 1;
            if (!o->where)
                g->s->records_read++;
            st = feature_count(g, f, field, &a->count, &ok);
            if (st == CR_OK && ok && date >= 0)
                st = feature_date(g, f, date, &keep);
            if (ok && keep) {
                g->s->records_accepted++;
                g->s->arrivals_total += a->count;
            } else {
                a->count = NAN;
            }
            r->nareas++;
        }
        OGR_F_Destroy(f);
    }
    *nfids = r->nareas;
    return st;
}

/* Sorts the codes and merges features sharing one into one area, reporting them. Fills
 * fid_area: the area of each feature (in the order of fids), -1 for an empty code. */
static cr_status merge_codes(reading *g, const int64_t *fids, int64_t n, int64_t *fid_area)
{
    cr_areas *r = g->r;
    /* Sort the areas by code, each carrying where it was read, then merge runs. */
    for (int64_t i = 0; i < n; i++)
        r->a[i].scale = (double)i; /* where it was read, carried through the sort */
    qsort(r->a, (size_t)n, sizeof *r->a, by_key);
    int64_t kept = 0;
    cr_status st = CR_OK;
    for (int64_t i = 0; i < n && st == CR_OK; i++) {
        int64_t at = (int64_t)r->a[i].scale;
        if (!r->a[i].key[0]) {
            fid_area[at] = -1;
            CPLFree(r->a[i].key);
            continue;
        }
        if (kept > 0 && strcmp(r->a[kept - 1].key, r->a[i].key) == 0) {
            fid_area[at] = kept - 1;
            r->a[kept - 1].whole += r->a[i].whole;
            r->a[kept - 1].beyond |= r->a[i].beyond;
            g->s->areas_duplicate++;
            char message[400];
            snprintf(message, sizeof message,
                     "feature %" PRId64 " of areas '%s' has the code '%.64s' of feature %" PRId64
                     ": one area with it, its count spread over both",
                     fids[at], r->o->areas_path, r->a[i].key, r->a[kept - 1].first_fid);
            if (g->t.report)
                st = cr_report_add(g->ctx, g->t.report, fids[at], "duplicate_area", message, NULL, 0);
            CPLFree(r->a[i].key);
            continue;
        }
        r->a[kept] = r->a[i];
        r->a[kept].scale = 0;
        fid_area[at] = kept++;
    }
    r->nareas = kept;
    if (g->s->areas_duplicate)
        cr_ctx_log(g->ctx, CR_LOG_WARNING,
                   "areas '%s': %" PRId64 " feature%s share%s a code with an earlier one: each code "
                   "is one area, its count spread over all its polygons (--report lists them)",
                   r->o->areas_path, g->s->areas_duplicate, g->s->areas_duplicate == 1 ? "" : "s",
                   g->s->areas_duplicate == 1 ? "s" : "");
    return st;
}

/* The table's columns. */
typedef struct table {
    cr_csv *csv;
    cr_csv_header head;
    cr_where *where;
    int key, count, date;
} table;

static const char *column(const cr_csv_record *rec, int k)
{
    return k >= 0 && k < rec->count ? rec->fields[k] : "";
}

/* One row of the table: filtered, its count and date checked, its code joined. */
static cr_status table_row(reading *g, const table *t, const cr_csv_record *rec)
{
    cr_areas *r = g->r;
    const char *const *values = (const char *const *)rec->fields;
    g->s->records_read++;
    if (t->where && !cr_where_eval(t->where, values, rec->count)) {
        g->s->excluded_by_where++;
        return CR_OK;
    }
    double count;
    char message[300];
    int reason = cr_count_parse(column(rec, t->count), &count, message, sizeof message);
    if (reason >= 0)
        return reject(g, rec->line, (cr_reject_reason)reason, message, values, rec->count);
    int keep = 1;
    cr_status st = t->date >= 0 ? check_date(g, rec->line, column(rec, t->date), NULL, values,
                                             rec->count, &keep)
                                : CR_OK;
    if (st != CR_OK || !keep)
        return st;
    char *key = trimmed(column(rec, t->key));
    int64_t k = *key ? find_area(r, key) : -1;
    if (k < 0) {
        snprintf(message, sizeof message, "code '%.64s' matches no polygon of '%s' (field %s)", key,
                 r->o->areas_path, r->o->area_key);
        CPLFree(key);
        return reject(g, rec->line, CR_REJECT_UNMATCHED_AREA, message, values, rec->count);
    }
    CPLFree(key);
    area *a = &r->a[k];
    if (!isnan(a->count)) {
        snprintf(message, sizeof message,
                 "area '%.64s' was already matched by line %" PRId64 "; keep one row per area "
                 "(--where, or --from/--to for one round)", a->key, a->id);
        return reject(g, rec->line, CR_REJECT_AREA_MATCHED_TWICE, message, values, rec->count);
    }
    a->count = count;
    a->id = rec->line;
    g->s->records_accepted++;
    g->s->arrivals_total += count;
    return CR_OK;
}

static cr_status table_open(reading *g, table *t)
{
    const cr_arrivals_opts *o = g->r->o;
    const char *path = o->table_path;
    t->count = t->date = -1;
    cr_status st = cr_csv_open(g->ctx, path, &t->csv);
    if (st == CR_OK)
        st = cr_csv_read_header(g->ctx, t->csv, &t->head);
    if (st == CR_OK)
        st = cr_csv_header_column(g->ctx, &t->head, path, "--table-key", o->table_key, &t->key);
    if (st == CR_OK)
        st = cr_csv_header_column(g->ctx, &t->head, path, "--count-field", o->count_field, &t->count);
    if (st == CR_OK && o->date_field)
        st = cr_csv_header_column(g->ctx, &t->head, path, "--date-field", o->date_field, &t->date);
    if (st == CR_OK && o->where)
        st = cr_where_parse(g->ctx, o->where, (const char *const *)t->head.names, t->head.count,
                            &t->where);
    return st;
}

static cr_status read_table(reading *g, table *t)
{
    cr_csv_record rec;
    cr_status st;
    while ((st = cr_csv_next_data(g->ctx, t->csv, &rec)) == CR_OK && rec.fields)
        if ((st = table_row(g, t, &rec)) != CR_OK)
            break;
    return st;
}

static void table_close(table *t)
{
    cr_where_free(t->where);
    cr_csv_header_clear(&t->head);
    cr_csv_close(t->csv);
}

static cr_status window_bounds(reading *g)
{
    const cr_arrivals_opts *o = g->r->o;
    if ((o->from || o->to) && !o->date_field)
        return cr_ctx_fail(g->ctx, CR_E_USAGE, "--from and --to need --date-field");
    if (o->from && !(g->has_from = cr_date_parse(o->from, &g->from)))
        return cr_ctx_fail(g->ctx, CR_E_USAGE, "--from '%s' is not an ISO 8601 date", o->from);
    if (o->to && !(g->has_to = cr_date_parse(o->to, &g->to)))
        return cr_ctx_fail(g->ctx, CR_E_USAGE, "--to '%s' is not an ISO 8601 date", o->to);
    return CR_OK;
}

/* The transformation of the polygons to the grid's CRS, for their whole areas (none when
 * the CRSs are the same). */
static cr_status polygons_to_grid(reading *g, OGRLayerH layer)
{
    OGRSpatialReferenceH src = OGR_L_GetSpatialRef(layer);
    OGRSpatialReferenceH dst = cr_srs_from_wkt(g->r->grid->crs_wkt);
    cr_status st = CR_OK;
    if (src && dst && !OSRIsSame(src, dst)) {
        OGRSpatialReferenceH s = OSRClone(src);
        OSRSetAxisMappingStrategy(s, OAMS_TRADITIONAL_GIS_ORDER);
        cr_gdal_begin(g->ctx);
        g->ct = OCTNewCoordinateTransformation(s, dst);
        cr_gdal_end(g->ctx);
        OSRDestroySpatialReference(s);
        if (!g->ct)
            st = cr_ctx_fail(g->ctx, CR_E_DATA, "areas '%s' cannot be transformed to the grid CRS",
                             g->r->o->areas_path);
    }
    OSRDestroySpatialReference(dst);
    return st;
}

/* The polygons' areas: group[i] for polygon i of the set, by its feature id. */
static void assign_polygons(cr_areas *r, const int64_t *fids, const int64_t *fid_area, int64_t n)
{
    /* fids are read in layer order: usually increasing; search them by bisection. */
    int sorted = 1;
    for (int64_t i = 1; i < n && sorted; i++)
        sorted = fids[i] > fids[i - 1];
    for (int64_t p = 0; p < r->npoly; p++) {
        int64_t fid = cr_polyset_fid(r->set, p), at = -1;
        if (sorted) {
            int64_t lo = 0, hi = n - 1;
            while (lo <= hi && at < 0) {
                int64_t mid = lo + (hi - lo) / 2;
                if (fids[mid] == fid)
                    at = mid;
                else if (fids[mid] < fid)
                    lo = mid + 1;
                else
                    hi = mid - 1;
            }
        } else {
            for (int64_t i = 0; i < n && at < 0; i++)
                at = fids[i] == fid ? i : -1;
        }
        r->group[p] = at < 0 ? -1 : fid_area ? fid_area[at] : at;
    }
}

cr_status cr_areas_read(cr_ctx *ctx, const cr_arrivals_opts *o, const cr_grid *grid,
                        cr_report **report, cr_arrivals_summary *s, cr_areas **out)
{
    *out = NULL;
    *report = NULL;
    cr_areas *r = calloc(1, sizeof *r);
    if (!r)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    r->o = o, r->grid = grid;
    r->path = o->table_path ? o->table_path : o->areas_path;
    s->ids_are_lines = o->table_path != NULL;
    reading g = {ctx, r, s, {r->path, s, NULL, o->strict}, {0, 0, 0}, {0, 0, 0}, 0, 0, 0, 0, 0,
                 NULL};
    cr_polyset_opts po;
    memset(&po, 0, sizeof po);
    po.what = "areas";
    po.layer = o->layer;
    po.layer_flag = "--layer";
    po.cancelled = "arrivals were cancelled";
    GDALDatasetH ds = NULL;
    OGRLayerH layer = NULL;
    int64_t *fids = NULL, nfids = 0, *fid_area = NULL;
    table t;
    memset(&t, 0, sizeof t);
    cr_status st = window_bounds(&g);
    cr_ctx_set_progress_range(ctx, 0.0, 0.3);
    if (st == CR_OK)
        st = cr_polyset_load(ctx, o->areas_path, grid, &po, &r->set);
    cr_ctx_set_progress_range(ctx, 0.0, 1.0);
    if (st == CR_OK)
        st = cr_open_vector(ctx, o->areas_path, &ds);
    if (st == CR_OK)
        st = cr_vector_layer(ctx, ds, o->areas_path, "areas", o->layer, "--layer", &layer);
    if (st == CR_OK)
        st = polygons_to_grid(&g, layer);
    if (st == CR_OK && o->table_path)
        st = table_open(&g, &t);
    /* The report's columns: the table's, or the polygons' fields. */
    char **names = NULL;
    if (st == CR_OK && !o->table_path) {
        OGRFeatureDefnH d = OGR_L_GetLayerDefn(layer);
        for (int i = 0; i < OGR_FD_GetFieldCount(d); i++)
            names = CSLAddString(names, OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(d, i)));
    }
    if (st == CR_OK && o->report_path) {
        const char *inputs[] = {o->areas_path, o->table_path, NULL};
        const char *const *columns = (const char *const *)(o->table_path ? t.head.names : names);
        st = cr_report_open(ctx, o->report_path, o->overwrite, inputs,
                            o->table_path ? "line" : "feature", columns,
                            o->table_path ? t.head.count : CSLCount(names), &g.t.report);
    }
    CSLDestroy(names);
    if (st == CR_OK)
        st = read_features(&g, layer, &fids, &nfids);
    if (st == CR_OK && o->table_path) {
        fid_area = malloc((size_t)(nfids ? nfids : 1) * sizeof *fid_area);
        st = fid_area ? merge_codes(&g, fids, nfids, fid_area)
                      : cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        if (st == CR_OK)
            st = read_table(&g, &t);
    }
    if (st == CR_OK) {
        r->npoly = cr_polyset_size(r->set);
        r->group = malloc((size_t)(r->npoly ? r->npoly : 1) * sizeof *r->group);
        if (!r->group)
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        else
            assign_polygons(r, fids, fid_area, nfids);
    }
    if (st == CR_OK && g.dated) {
        cr_date_format(g.first_day, s->date_first);
        cr_date_format(g.last_day, s->date_last);
    }
    for (int64_t k = 0; st == CR_OK && k < r->nareas; k++)
        s->areas += !isnan(r->a[k].count);
    for (int k = 0; st == CR_OK && k < CR_REJECT_REASONS; k++)
        cr_records_warn(ctx, r->path, s, (cr_reject_reason)k);
    table_close(&t);
    if (g.ct)
        OCTDestroyCoordinateTransformation(g.ct);
    free(fids);
    free(fid_area);
    if (ds)
        GDALClose(ds);
    if (st == CR_OK) {
        *out = r;
        *report = g.t.report;
    } else {
        cr_report_discard(g.t.report);
        cr_areas_free(r);
    }
    return st;
}

void cr_areas_free(cr_areas *r)
{
    if (!r)
        return;
    for (int64_t k = 0; r->a && k < r->nareas; k++)
        CPLFree(r->a[k].key);
    free(r->a);
    free(r->group);
    cr_polyset_free(r->set);
    free(r);
}

/* ---- spreading ----------------------------------------------------------------- */

/* What a polygon's coverage callback needs of its tile. */
typedef struct tile_view {
    cr_areas *r;
    const cr_window *win;
    int worker, slot;
} tile_view;

/* The weight of cell (c, r) of the tile (0 without --weight, or where it is not valid). */
static double weight_at(const tile_view *v, int c, int row)
{
    size_t k = (size_t)(row - v->win->y) * (size_t)v->win->w + (size_t)(c - v->win->x);
    return v->r->wvalid[v->worker][k] ? v->r->wvalues[v->worker][k] : 0.0;
}

static cr_status sum_polygon(void *arg, int64_t i, const cr_window *part, const double *f)
{
    tile_view *v = arg;
    cr_areas *r = v->r;
    if (r->group[i] < 0)
        return CR_OK;
    double cover = 0, weight = 0;
    for (int y = 0; y < part->h; y++)
        for (int x = 0; x < part->w; x++) {
            double fr = f[(size_t)y * (size_t)part->w + (size_t)x];
            cover += fr;
            if (fr > 0 && r->weight)
                weight += fr * weight_at(v, part->x + x, part->y + y);
        }
    if (cover <= 0)
        return CR_OK;
    slot_parts *sp = &r->parts[v->slot];
    if (sp->n == sp->cap) {
        size_t cap = sp->cap ? 2 * sp->cap : 256;
        part_sum *grown = realloc(sp->p, cap * sizeof *grown);
        if (!grown)
            return CR_E_IO;
        sp->p = grown, sp->cap = cap;
    }
    sp->p[sp->n++] = (part_sum){i, cover, weight};
    return CR_OK;
}

static cr_status add_polygon(void *arg, int64_t i, const cr_window *part, const double *f)
{
    tile_view *v = arg;
    cr_areas *r = v->r;
    if (r->group[i] < 0)
        return CR_OK;
    const area *a = &r->a[r->group[i]];
    if (!(a->scale > 0))
        return CR_OK;
    double *acc = r->acc[v->worker];
    for (int y = 0; y < part->h; y++)
        for (int x = 0; x < part->w; x++) {
            double fr = f[(size_t)y * (size_t)part->w + (size_t)x];
            if (!(fr > 0))
                continue;
            double w = a->weighted ? weight_at(v, part->x + x, part->y + y) : 1.0;
            size_t at = (size_t)(part->y + y - v->win->y) * (size_t)v->win->w +
                        (size_t)(part->x + x - v->win->x);
            acc[at] += a->scale * fr * w;
        }
    return CR_OK;
}

static cr_status tile_work(cr_ctx *ctx, void *arg, int64_t index, int worker, int slot)
{
    cr_areas *r = arg;
    if (atomic_load(&r->stop))
        return cr_ctx_fail(ctx, CR_E_CANCELLED, "arrivals were cancelled");
    cr_window win = cr_grid_window(r->grid, r->tile, index);
    size_t cells = (size_t)win.w * (size_t)win.h;
    cr_status st = CR_OK;
    if (r->weight) {
        st = cr_layer_read_f64(ctx, r->weight[worker], &win, r->wvalues[worker], r->wvalid[worker]);
        for (size_t k = 0; st == CR_OK && k < cells; k++) /* a negative weight counts no one */
            r->wvalid[worker][k] = r->wvalid[worker][k] && r->wvalues[worker][k] > 0;
    }
    tile_view v = {r, &win, worker, slot};
    if (st == CR_OK && r->pass == 1) {
        r->parts[slot].n = 0;
        st = cr_polyset_cover(ctx, r->set, &win, &r->scratch[worker], sum_polygon, &v);
        if (st == CR_E_IO && !*cr_ctx_error(ctx))
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        return st;
    }
    if (st == CR_OK) {
        memset(r->acc[worker], 0, cells * sizeof **r->acc);
        st = cr_polyset_cover(ctx, r->set, &win, &r->scratch[worker], add_polygon, &v);
    }
    for (size_t k = 0; st == CR_OK && k < cells; k++)
        r->out[slot][k] = (float)r->acc[worker][k];
    return st;
}

/* In tile order on the calling thread: the sums of pass 1, or the tile of pass 2. */
static cr_status tile_emit(cr_ctx *ctx, void *arg, int64_t index, int slot)
{
    cr_areas *r = arg;
    cr_status st = CR_OK;
    if (r->pass == 1) {
        const slot_parts *sp = &r->parts[slot];
        for (size_t k = 0; k < sp->n; k++) {
            area *a = &r->a[r->group[sp->p[k].poly]];
            a->cover += sp->p[k].cover;
            a->weight += sp->p[k].weight;
        }
    } else {
        cr_window win = cr_grid_window(r->grid, r->tile, index);
        double sum = 0;
        for (size_t k = 0; k < (size_t)win.w * (size_t)win.h; k++)
            sum += r->out[slot][k];
        r->raster_sum += sum;
        st = cr_writer_write(ctx, r->writer, 1, &win, r->out[slot]);
    }
    double done = (r->pass - 1 + (double)(index + 1) / (double)r->tiles) / 2;
    if (st == CR_OK && !cr_ctx_progress(ctx, done, NULL)) {
        atomic_store(&r->stop, 1);
        st = cr_ctx_fail(ctx, CR_E_CANCELLED, "arrivals were cancelled");
    }
    return st;
}

static cr_status alloc_buffers(cr_ctx *ctx, cr_areas *r)
{
    size_t cells = (size_t)r->tile * (size_t)r->tile;
    r->scratch = calloc((size_t)r->threads, sizeof *r->scratch);
    r->acc = calloc((size_t)r->threads, sizeof *r->acc);
    r->out = calloc((size_t)r->slots, sizeof *r->out);
    r->parts = calloc((size_t)r->slots, sizeof *r->parts);
    if (!r->scratch || !r->acc || !r->out || !r->parts)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    for (int i = 0; i < r->threads; i++)
        if (!(r->acc[i] = malloc(cells * sizeof **r->acc)))
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    for (int i = 0; i < r->slots; i++)
        if (!(r->out[i] = malloc(cells * sizeof **r->out)))
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    if (!r->o->weight_path)
        return CR_OK;
    /* One dataset per worker: GDAL datasets are not shared between threads. */
    r->weight = calloc((size_t)r->threads, sizeof *r->weight);
    r->wvalues = calloc((size_t)r->threads, sizeof *r->wvalues);
    r->wvalid = calloc((size_t)r->threads, sizeof *r->wvalid);
    if (!r->weight || !r->wvalues || !r->wvalid)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    cr_layer_opts lo;
    cr_layer_opts_init(&lo);
    lo.kind = CR_KIND_COUNT;
    for (int i = 0; i < r->threads; i++) {
        r->wvalues[i] = malloc(cells * sizeof **r->wvalues);
        r->wvalid[i] = malloc(cells);
        if (!r->wvalues[i] || !r->wvalid[i])
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        cr_status st = cr_layer_open(ctx, r->o->weight_path, r->grid, &lo, &r->weight[i]);
        if (st != CR_OK)
            return st;
    }
    return CR_OK;
}

static void free_buffers(cr_areas *r)
{
    for (int i = 0; i < r->threads; i++) {
        if (r->scratch)
            cr_coverage_scratch_free(&r->scratch[i]);
        if (r->acc)
            free(r->acc[i]);
        if (r->weight) {
            cr_layer_close(r->weight[i]);
            free(r->wvalues[i]);
            free(r->wvalid[i]);
        }
    }
    for (int i = 0; i < r->slots; i++) {
        if (r->out)
            free(r->out[i]);
        if (r->parts)
            free(r->parts[i].p);
    }
    free(r->scratch), free(r->acc), free(r->out), free(r->parts);
    free(r->weight), free(r->wvalues), free(r->wvalid);
}

/* "feature 3" or "area 'MZ0102'" for messages. */
static void area_name(const area *a, char *buf, size_t size)
{
    if (a->key)
        snprintf(buf, size, "area '%.64s'", a->key);
    else
        snprintf(buf, size, "feature %" PRId64, a->id);
}

/* The first of n areas (indices), with what each adds (may be NULL), for a warning. */
static void area_list(const cr_areas *r, const int64_t *k, const double *share, int64_t n,
                      char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int64_t i = 0; i < n && i < CR_ARRIVALS_FIRST_IDS && used < size; i++) {
        char name[100];
        area_name(&r->a[k[i]], name, sizeof name);
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", name);
        if (share && used < size)
            used += (size_t)snprintf(buf + used, size - used, ": %.4g inside", share[i]);
    }
    if (n > CR_ARRIVALS_FIRST_IDS && used < size)
        snprintf(buf + used, size - used, ", ...");
}

/* The share of an area's count that falls in the grid: its covered cells inside the grid
 * over its whole area (1 when its polygons lie inside the grid, or their whole area is
 * not known). */
static double in_grid_share(const area *a)
{
    if (!a->beyond || !(a->whole > 0) || !isfinite(a->whole))
        return 1.0;
    double share = a->cover / a->whole;
    return share > 1 - 1e-9 ? 1.0 : share;
}

/* After pass 1: each area's share in the grid and scale, the areas outside the grid, and
 * those whose cells have no weight (area share instead, reported). Fails when no area with
 * a count meets the grid. */
static cr_status plan_areas(cr_ctx *ctx, cr_areas *r, cr_report *report, cr_arrivals_summary *s)
{
    cr_status st = CR_OK;
    int64_t zero[CR_ARRIVALS_FIRST_IDS], partial[CR_ARRIVALS_FIRST_IDS], npartial = 0, counted = 0;
    double shares[CR_ARRIVALS_FIRST_IDS];
    for (int64_t k = 0; k < r->nareas && st == CR_OK; k++) {
        area *a = &r->a[k];
        if (isnan(a->count))
            continue;
        counted++;
        if (!(a->cover > 0)) {
            s->records_outside_grid++;
            s->arrivals_outside_grid += a->count;
            continue;
        }
        double share = in_grid_share(a), inside = a->count * share;
        s->arrivals_in_grid += inside;
        s->arrivals_outside_grid += a->count - inside;
        if (share < 1) {
            if (npartial < CR_ARRIVALS_FIRST_IDS)
                partial[npartial] = k, shares[npartial] = share;
            npartial++;
        }
        a->weighted = r->weight != NULL && a->weight > 0;
        a->scale = inside / (a->weighted ? a->weight : a->cover);
        if (!r->weight || a->weighted)
            continue;
        if (s->areas_zero_weight < CR_ARRIVALS_FIRST_IDS)
            zero[s->areas_zero_weight] = k;
        s->areas_zero_weight++;
        char message[300], name[100];
        area_name(a, name, sizeof name);
        snprintf(message, sizeof message,
                 "the cells of %s have no weight in '%s': its count is spread by area share",
                 name, r->o->weight_path);
        if (report)
            st = cr_report_add(ctx, report, a->id, "zero_weight", message, NULL, 0);
    }
    if (st == CR_OK && counted > 0 && s->records_outside_grid == counted)
        return cr_ctx_fail(ctx, CR_E_DATA,
                           "none of the %" PRId64 " area%s with a count in '%s' lies in the grid%s%s%s "
                           "(in the grid's CRS); check the grid and the areas' CRS; nothing was "
                           "written", counted, counted == 1 ? "" : "s", r->path,
                           r->o->grid_path ? " of '" : "", r->o->grid_path ? r->o->grid_path : "",
                           r->o->grid_path ? "'" : "");
    char list[600];
    if (st == CR_OK && npartial) {
        area_list(r, partial, shares, npartial, list, sizeof list);
        cr_ctx_log(ctx, CR_LOG_WARNING,
                   "%s: %" PRId64 " area%s only partly inside the grid: each count is spread over "
                   "the whole area and the share beyond the grid is counted outside it (%s)",
                   r->path, npartial, npartial == 1 ? " lies" : "s lie", list);
    }
    if (st == CR_OK && s->areas_zero_weight) {
        area_list(r, zero, NULL, s->areas_zero_weight, list, sizeof list);
        cr_ctx_log(ctx, CR_LOG_WARNING,
                   "%s: %" PRId64 " area%s whose cells have no weight in '%s' %s spread by area "
                   "share instead (%s)",
                   r->path, s->areas_zero_weight, s->areas_zero_weight == 1 ? "" : "s",
                   r->o->weight_path, s->areas_zero_weight == 1 ? "is" : "are", list);
    }
    return st;
}

static cr_status poll_stop(cr_ctx *ctx, void *arg)
{
    cr_areas *r = arg;
    if (cr_ctx_progress(ctx, (r->pass - 1) / 2.0, NULL))
        return CR_OK;
    atomic_store(&r->stop, 1);
    return cr_ctx_fail(ctx, CR_E_CANCELLED, "arrivals were cancelled");
}

cr_status cr_areas_spread(cr_ctx *ctx, cr_areas *r, cr_writer *writer, int threads,
                          cr_report *report, cr_arrivals_summary *s)
{
    r->tile = CR_BLOCK_SIZE;
    r->threads = threads, r->slots = 2 * threads;
    r->tiles = cr_grid_window_count(r->grid, r->tile);
    r->writer = writer;
    atomic_init(&r->stop, 0);
    cr_status st = alloc_buffers(ctx, r);
    for (r->pass = 1; st == CR_OK && r->pass <= 2; r->pass++) {
        st = cr_parallel_ordered_poll(ctx, threads, r->slots, r->tiles, tile_work, tile_emit,
                                      poll_stop, r);
        if (st == CR_OK && r->pass == 1)
            st = plan_areas(ctx, r, report, s);
    }
    s->raster_sum = r->raster_sum;
    free_buffers(r);
    return st;
}
