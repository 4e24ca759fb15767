/* records.c: arrival records from CSV (our reader, for line numbers) or OGR, validated
 * one by one, filtered, and transformed to the grid CRS in batches. */
#define _POSIX_C_SOURCE 200809L
#include "records.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "cityrisk/number.h"
#include "cityrisk/vector.h"
#include "core/csv.h"
#include "core/internal.h"
#include "isodate.h"
#include "where.h"

/* The forms of dates cr_date_parse() reads, for messages. */
#define DATE_FORMS "YYYY-MM-DD[Thh:mm[:ss]], YYYY-MM or YYYY"

/* Records transformed per call to PROJ: large enough to amortise its per-call cost. */
#define BATCH 4096

/* Where a record's values come from, and what the report needs of it. */
typedef struct reader {
    cr_ctx *ctx;
    const char *path;
    const cr_arrivals_opts *opts;
    cr_arrivals_summary *sum;
    cr_report *report;
    OGRCoordinateTransformationH ct;
    int geographic; /* the source CRS is geographic: check the ranges */
    cr_date from, to;
    int has_from, has_to;
    int dated;      /* some record had a valid date */
    int32_t first_day, last_day;
    cr_point_sink sink;
    void *sink_arg;
    /* the batch waiting for its transformation */
    size_t n;
    int64_t ids[BATCH];
    double x[BATCH], y[BATCH], z[BATCH], count[BATCH];
    int ok[BATCH];
    int first[BATCH]; /* 1 unless a later point of a multipoint */
    char **raw[BATCH]; /* the record's values for the report (CSL), when reporting */
    cr_point out[BATCH];
} reader;

/* The values of the record being read, for the report: CSV fields or OGR field
 * strings. */
typedef struct record_view {
    int64_t id;
    const char *const *values;
    int nvalues;
} record_view;

static const char *const REASON_NAMES[CR_REJECT_REASONS] = {
    "missing_coordinate", "bad_coordinate",  "latitude_out_of_range", "longitude_out_of_range",
    "not_a_point",        "unprojectable",   "count_not_numeric",     "count_negative",
    "count_nan",          "count_infinite",  "count_too_large",       "missing_date",
    "bad_date",           "no_allowed_cell", "unmatched_area",        "area_matched_twice",
};

/* What the warnings say after "N records rejected: ". */
static const char *const REASON_TEXTS[CR_REJECT_REASONS] = {
    "missing coordinates",
    "coordinates that are not numbers",
    "latitude outside -90..90",
    "longitude outside -180..180",
    "geometries that are not points",
    "coordinates that cannot be transformed to the grid CRS",
    "counts that are empty or not numbers",
    "negative counts",
    "NaN counts",
    "infinite counts",
    "counts above 1e+12",
    "missing dates",
    "dates that are not ISO 8601 (" DATE_FORMS ")",
    "no cell allowed by --mask within the bandwidth",
    "codes that match no polygon of --areas",
    "codes whose area an earlier row already matched",
};

const char *cr_reject_reason_name(cr_reject_reason reason)
{
    return reason >= 0 && reason < CR_REJECT_REASONS ? REASON_NAMES[reason] : "unknown";
}

cr_status cr_reject_record(cr_ctx *ctx, const cr_reject_target *t, int64_t id,
                           cr_reject_reason reason, const char *message, const char *const *values,
                           int nvalues)
{
    cr_arrivals_summary *s = t->sum;
    int64_t k = s->rejected[reason]++;
    s->records_rejected++;
    if (k < CR_ARRIVALS_FIRST_IDS)
        s->first_ids[reason][k] = id;
    if (t->report) {
        cr_status st = cr_report_add(ctx, t->report, id, REASON_NAMES[reason], message, values,
                                     nvalues);
        if (st != CR_OK)
            return st;
    }
    if (!t->strict)
        return CR_OK;
    if (s->ids_are_lines)
        return cr_ctx_fail(ctx, CR_E_DATA, "%s:%" PRId64 ": %s", t->path, id, message);
    return cr_ctx_fail(ctx, CR_E_DATA, "%s: feature %" PRId64 ": %s", t->path, id, message);
}

/* Counts, reports and (when strict) fails on one rejected record. */
static cr_status reject_now(reader *r, int64_t id, cr_reject_reason reason,
                            const char *const *values, int nvalues, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

static cr_status reject_now(reader *r, int64_t id, cr_reject_reason reason,
                            const char *const *values, int nvalues, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    cr_reject_target t = {r->path, r->sum, r->report, r->opts->strict};
    return cr_reject_record(r->ctx, &t, id, reason, message, values, nvalues);
}

/* Transforms the batch and hands the points that made it to the sink. */
static cr_status flush(reader *r)
{
    if (r->n == 0)
        return CR_OK;
    size_t n = r->n, k = 0;
    r->n = 0;
    for (size_t i = 0; i < n; i++)
        r->ok[i] = 1, r->z[i] = 0;
    if (r->ct) {
        /* FALSE when any point failed: the flags say which, so the result is unused.
         * PROJ's complaints about such points are not errors of the run. */
        CPLPushErrorHandler(CPLQuietErrorHandler);
        (void)OCTTransformEx(r->ct, (int)n, r->x, r->y, r->z, r->ok);
        CPLPopErrorHandler();
    }
    cr_status st = CR_OK;
    for (size_t i = 0; i < n && st == CR_OK; i++) {
        if (!r->ok[i] || !isfinite(r->x[i]) || !isfinite(r->y[i])) {
            const char *const *raw = (const char *const *)r->raw[i];
            st = reject_now(r, r->ids[i], CR_REJECT_UNPROJECTABLE, raw, CSLCount(r->raw[i]),
                            "the point cannot be transformed to the grid CRS");
            continue;
        }
        r->out[k].x = r->x[i], r->out[k].y = r->y[i], r->out[k].count = r->count[i];
        r->out[k].id = r->ids[i];
        r->sum->arrivals_total += r->count[i];
        r->sum->records_accepted += r->first[i];
        k++;
    }
    for (size_t i = 0; i < n; i++) {
        CSLDestroy(r->raw[i]);
        r->raw[i] = NULL;
    }
    if (st == CR_OK && k > 0)
        st = r->sink(r->ctx, r->sink_arg, r->out, k);
    return st;
}

/* Rejects a record after the accepted ones before it, so that the report and the
 * strict failure follow the input order. */
static cr_status reject(reader *r, const record_view *v, cr_reject_reason reason,
                        const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static cr_status reject(reader *r, const record_view *v, cr_reject_reason reason,
                        const char *fmt, ...)
{
    cr_status st = flush(r);
    if (st != CR_OK)
        return st;
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return reject_now(r, v->id, reason, v->values, v->nvalues, "%s", message);
}

/* Queues an accepted point for transformation; first is 0 for the second and later
 * points of a multipoint, so that records, not points, are counted. */
static cr_status accept(reader *r, const record_view *v, double x, double y, double count,
                        int first)
{
    size_t i = r->n;
    r->ids[i] = v->id, r->x[i] = x, r->y[i] = y, r->count[i] = count, r->first[i] = first;
    r->raw[i] = NULL;
    if (r->report) {
        for (int k = 0; k < v->nvalues; k++)
            r->raw[i] = CSLAddString(r->raw[i], v->values[k] ? v->values[k] : "");
    }
    return ++r->n == BATCH ? flush(r) : CR_OK;
}

/* Parses text, blanks around allowed, as cityrisk reads every number: a decimal one
 * (cityrisk/number.h); the words nan and inf stand for themselves. 1 on success, with a
 * number beyond a double's range as +-HUGE_VAL. */
static int parse_double(const char *text, double *out)
{
    return cr_number_parse(text, (size_t)-1, out) != CR_NUMBER_NONE;
}

static int blank(const char *text)
{
    if (!text)
        return 1;
    while (isspace((unsigned char)*text))
        text++;
    return *text == '\0';
}

/* Checks a coordinate pair; CR_OK with *rejected = 0 when it is good. */
static cr_status check_position(reader *r, const record_view *v, double x, double y, int *rejected)
{
    *rejected = 1;
    if (!isfinite(x) || !isfinite(y))
        return reject(r, v, CR_REJECT_BAD_COORDINATE, "coordinates (%g, %g) are not finite", x, y);
    if (r->geographic && (y < -90 || y > 90))
        return reject(r, v, CR_REJECT_LATITUDE_RANGE, "latitude %.10g is outside -90..90", y);
    if (r->geographic && (x < -180 || x > 180))
        return reject(r, v, CR_REJECT_LONGITUDE_RANGE, "longitude %.10g is outside -180..180", x);
    *rejected = 0;
    return CR_OK;
}

/* Parses the coordinates in texts; CR_OK with *rejected = 0 when they are good. */
static cr_status parse_position(reader *r, const record_view *v, const char *tx, const char *ty,
                                double *x, double *y, int *rejected)
{
    *rejected = 1;
    if (blank(tx) || blank(ty))
        return reject(r, v, CR_REJECT_MISSING_COORDINATE, "the %s coordinate is empty",
                      blank(tx) ? "x (longitude)" : "y (latitude)");
    if (!parse_double(tx, x))
        return reject(r, v, CR_REJECT_BAD_COORDINATE, "x (longitude) '%.64s' is not a number", tx);
    if (!parse_double(ty, y))
        return reject(r, v, CR_REJECT_BAD_COORDINATE, "y (latitude) '%.64s' is not a number", ty);
    return check_position(r, v, *x, *y, rejected);
}

int cr_count_check(double count, char *message, size_t size)
{
    if (isnan(count))
        return snprintf(message, size, "count is NaN"), CR_REJECT_COUNT_NAN;
    if (isinf(count))
        return snprintf(message, size, "count is infinite"), CR_REJECT_COUNT_INFINITE;
    if (count < 0)
        return snprintf(message, size, "count %.10g is negative", count), CR_REJECT_COUNT_NEGATIVE;
    if (count > CR_ARRIVALS_MAX_COUNT)
        return snprintf(message, size, "count %.10g is too large: more than %g arrivals in one record",
                        count, CR_ARRIVALS_MAX_COUNT), CR_REJECT_COUNT_TOO_LARGE;
    return -1;
}

int cr_count_parse(const char *text, double *count, char *message, size_t size)
{
    cr_number_kind kind = cr_number_parse(text ? text : "", (size_t)-1, count);
    if (kind == CR_NUMBER_OVERFLOW) /* 1e400: a decimal number, beyond a double's range */
        return snprintf(message, size, "count '%.64s' is too large: more than %g arrivals in one "
                        "record", text, CR_ARRIVALS_MAX_COUNT), CR_REJECT_COUNT_TOO_LARGE;
    if (kind == CR_NUMBER_NONE && blank(text))
        return snprintf(message, size, "count is empty"), CR_REJECT_COUNT_NOT_NUMERIC;
    if (kind == CR_NUMBER_NONE)
        return snprintf(message, size, "count '%.64s' is not a number", text),
               CR_REJECT_COUNT_NOT_NUMERIC;
    return cr_count_check(*count, message, size);
}

/* Rejects a record for the count reason found (CR_OK with *rejected = 0 when the count is
 * good). */
static cr_status count_verdict(reader *r, const record_view *v, int reason, const char *message,
                               int *rejected)
{
    *rejected = reason >= 0;
    return reason >= 0 ? reject(r, v, (cr_reject_reason)reason, "%s", message) : CR_OK;
}

static cr_status check_count(reader *r, const record_view *v, double count, int *rejected)
{
    char message[200];
    int reason = cr_count_check(count, message, sizeof message);
    return count_verdict(r, v, reason, message, rejected);
}

static cr_status parse_count(reader *r, const record_view *v, const char *text, double *count,
                             int *rejected)
{
    char message[200];
    int reason = cr_count_parse(text, count, message, sizeof message);
    return count_verdict(r, v, reason, message, rejected);
}

/* Applies the date window to a valid date: *keep is 0 when it falls outside. */
static void window(reader *r, const cr_date *d, int *keep)
{
    if (!r->dated || d->day < r->first_day)
        r->first_day = d->day;
    if (!r->dated || d->last > r->last_day)
        r->last_day = d->last;
    r->dated = 1;
    *keep = cr_date_in_window(d, r->has_from ? &r->from : NULL, r->has_to ? &r->to : NULL);
    if (!*keep)
        r->sum->excluded_by_date++;
}

static cr_status parse_date(reader *r, const record_view *v, const char *text, int *keep)
{
    *keep = 0;
    cr_date d;
    if (blank(text))
        return reject(r, v, CR_REJECT_MISSING_DATE, "date is empty");
    if (!cr_date_parse(text, &d))
        return reject(r, v, CR_REJECT_BAD_DATE, "date '%.64s' is not an ISO 8601 date", text);
    window(r, &d, keep);
    return CR_OK;
}

static cr_status cancelled(reader *r)
{
    return cr_ctx_fail(r->ctx, CR_E_CANCELLED, "reading '%s' was cancelled", r->path);
}

/* What a source tells the driver before its records are read. */
typedef struct source_info {
    char *src_wkt;             /* CPLFree() */
    const char *const *columns; /* for the report, owned by the source */
    int ncolumns;
} source_info;

/* ---- CSV ---------------------------------------------------------------------- */

typedef struct csv_source {
    cr_csv *csv;
    cr_csv_header head;
    cr_where *where;
    int x, y, count, date; /* columns, -1 for none */
    unsigned char *used;   /* per column: 1 when this run reads it */
    int ncolumns;          /* of used: names or HXL tags, whichever row is longer */
} csv_source;

/* Resolves a named column (header name or HXL tag pattern) or fails naming the columns
 * and their tags. */
static cr_status csv_column(reader *r, const cr_csv_header *h, const char *option,
                            const char *name, int *column)
{
    return cr_csv_header_column(r->ctx, h, r->path, option, name, column);
}

static cr_status csv_find_columns(reader *r, csv_source *c)
{
    const cr_arrivals_opts *o = r->opts;
    const cr_csv_header *h = &c->head;
    cr_status st = CR_OK;
    c->count = c->date = -1;
    if (o->x_field) {
        if ((st = csv_column(r, h, "--x-field", o->x_field, &c->x)) != CR_OK ||
            (st = csv_column(r, h, "--y-field", o->y_field, &c->y)) != CR_OK)
            return st;
    } else {
        cr_csv_columns found;
        cr_csv_find_coordinates((const char *const *)h->names, h->count,
                                (const char *const *)h->tags, h->tag_count, &found);
        if (found.x < 0 || found.y < 0)
            return cr_ctx_fail(r->ctx, CR_E_DATA,
                               "'%s' has no coordinate columns (looked for lon/lat, longitude/latitude, "
                               "x/y, easting/northing and HXL #geo+lon/#geo+lat); name them with "
                               "--x-field and --y-field",
                               r->path);
        c->x = found.x, c->y = found.y;
    }
    if (o->count_field && (st = csv_column(r, h, "--count-field", o->count_field, &c->count)) != CR_OK)
        return st;
    if (o->date_field && (st = csv_column(r, h, "--date-field", o->date_field, &c->date)) != CR_OK)
        return st;
    return CR_OK;
}

/* Marks column k as read by this run (what: "--count-field", ...) and fails when another
 * column has its name: which one is meant would be a guess (OGR's CSV driver renames the
 * second one silently). Columns found by HXL tag are told apart by the tag. */
static cr_status csv_use(reader *r, csv_source *c, int k, const char *what, int by_tag)
{
    const cr_csv_header *h = &c->head;
    c->used[k] = 1;
    if (by_tag)
        return CR_OK;
    for (int i = cr_csv_header_find(h, h->names[k]); i >= 0;
         i = cr_csv_header_find_from(h, h->names[k], i + 1))
        if (i != k)
            return cr_ctx_fail(r->ctx, CR_E_DATA,
                               "CSV '%s' line %ld: columns %d and %d are both named '%s', which "
                               "this run reads (%s): rename one",
                               r->path, h->line, (i < k ? i : k) + 1, (i < k ? k : i) + 1,
                               h->names[k], what);
    return CR_OK;
}

/* Marks the columns this run reads: only their values must be UTF-8 and their names
 * unique. */
static cr_status csv_mark_used(reader *r, csv_source *c)
{
    const cr_arrivals_opts *o = r->opts;
    const cr_csv_header *h = &c->head;
    /* A column found by HXL tag may lie beyond the names: the tag row can be longer. */
    int columns = h->tag_count > h->count ? h->tag_count : h->count;
    c->ncolumns = columns;
    if (!(c->used = calloc((size_t)columns + 1, 1)))
        return cr_ctx_fail(r->ctx, CR_E_IO, "out of memory reading '%s'", r->path);
    int coords_by_tag = o->x_field ? o->x_field[0] == '#' : h->tags != NULL;
    cr_status st = csv_use(r, c, c->x, "x coordinate", coords_by_tag);
    if (st == CR_OK)
        st = csv_use(r, c, c->y, "y coordinate", coords_by_tag);
    if (st == CR_OK && c->count >= 0)
        st = csv_use(r, c, c->count, "--count-field", o->count_field[0] == '#');
    if (st == CR_OK && c->date >= 0)
        st = csv_use(r, c, c->date, "--date-field", o->date_field[0] == '#');
    for (int k = 0; st == CR_OK && k < h->count; k++)
        if (cr_where_uses(c->where, k))
            st = csv_use(r, c, k, "--where", 0);
    return st;
}

static cr_status csv_open(reader *r, csv_source *c, source_info *info)
{
    r->sum->ids_are_lines = 1;
    cr_status st = cr_csv_open(r->ctx, r->path, &c->csv);
    if (st == CR_OK)
        st = cr_csv_read_header(r->ctx, c->csv, &c->head);
    if (st == CR_OK)
        st = csv_find_columns(r, c);
    if (st == CR_OK && r->opts->where)
        st = cr_where_parse(r->ctx, r->opts->where, (const char *const *)c->head.names,
                            c->head.count, &c->where);
    if (st == CR_OK)
        st = csv_mark_used(r, c);
    if (st == CR_OK)
        st = cr_crs_to_wkt(r->ctx, r->opts->src_crs ? r->opts->src_crs : "EPSG:4326", &info->src_wkt);
    info->columns = (const char *const *)c->head.names;
    info->ncolumns = c->head.count;
    return st;
}

static const char *field(const cr_csv_record *rec, int column)
{
    return column >= 0 && column < rec->count ? rec->fields[column] : NULL;
}

/* Fails when a value this run reads is not UTF-8: a filter or a date would silently
 * miss it, so the file's encoding is named rather than its records rejected one by one. */
static cr_status csv_check_utf8(reader *r, const csv_source *c, const cr_csv_record *rec)
{
    for (int k = 0; k < rec->count && k < c->ncolumns; k++) {
        if (!c->used[k])
            continue;
        size_t at = cr_utf8_invalid_at(rec->fields[k]);
        /* a column found by its HXL tag may have no name */
        const char *name = k < c->head.count ? c->head.names[k] : c->head.tags[k];
        if (rec->fields[k][at])
            return cr_ctx_fail(r->ctx, CR_E_DATA,
                               "CSV '%s' line %ld, column '%s': the value is not UTF-8 text (byte "
                               "0x%02X at offset %zu); " CR_CSV_UTF8_HINT,
                               r->path, rec->line, name, (unsigned char)rec->fields[k][at], at);
    }
    return CR_OK;
}

/* Validates one CSV record and queues it when it is good. */
static cr_status csv_record(reader *r, const csv_source *c, const cr_csv_record *rec)
{
    record_view v = {rec->line, (const char *const *)rec->fields, rec->count};
    r->sum->records_read++;
    cr_status st = csv_check_utf8(r, c, rec);
    if (st != CR_OK)
        return st;
    if (c->where && !cr_where_eval(c->where, (const char *const *)rec->fields, rec->count)) {
        r->sum->excluded_by_where++;
        return CR_OK;
    }
    double x, y, count = 1;
    int rejected = 0, keep = 1;
    st = parse_position(r, &v, field(rec, c->x), field(rec, c->y), &x, &y, &rejected);
    if (st == CR_OK && !rejected && c->count >= 0)
        st = parse_count(r, &v, field(rec, c->count), &count, &rejected);
    if (st == CR_OK && !rejected && c->date >= 0)
        st = parse_date(r, &v, field(rec, c->date), &keep);
    if (st != CR_OK || rejected || !keep)
        return st;
    return accept(r, &v, x, y, count, 1);
}

static cr_status csv_loop(reader *r, csv_source *c)
{
    cr_csv_record rec;
    cr_status st;
    int64_t k = 0;
    while ((st = cr_csv_next_data(r->ctx, c->csv, &rec)) == CR_OK && rec.fields) {
        if ((st = csv_record(r, c, &rec)) != CR_OK)
            break;
        if (++k % BATCH == 0 && !cr_ctx_progress(r->ctx, cr_csv_progress(c->csv), NULL))
            return cancelled(r);
    }
    return st;
}

static void csv_close(csv_source *c)
{
    free(c->used);
    cr_where_free(c->where);
    cr_csv_header_clear(&c->head);
    cr_csv_close(c->csv);
}

/* ---- OGR ---------------------------------------------------------------------- */

typedef struct ogr_source {
    GDALDatasetH ds;
    OGRLayerH layer;
    int x, y, count, date; /* fields, -1 for none; x, y >= 0 when coordinates come from fields */
    OGRFieldType count_type, date_type;
    char **names;          /* field names (CSL) */
    GIntBig features;      /* for progress, -1 when unknown */
} ogr_source;

static cr_status ogr_field(reader *r, ogr_source *g, const char *option, const char *name, int *index)
{
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(g->layer);
    *index = OGR_FD_GetFieldIndex(defn, name);
    if (*index >= 0)
        return CR_OK;
    return cr_ctx_fail(r->ctx, CR_E_USAGE, "%s '%s' is not a field of '%s' layer '%s'", option, name,
                       r->path, OGR_L_GetName(g->layer));
}

/* Picks the layer: the one named, else the only one. */
static cr_status ogr_layer(reader *r, ogr_source *g)
{
    int n = GDALDatasetGetLayerCount(g->ds);
    if (r->opts->layer) {
        g->layer = GDALDatasetGetLayerByName(g->ds, r->opts->layer);
        if (!g->layer)
            return cr_ctx_fail(r->ctx, CR_E_USAGE, "'%s' has no layer '%s'", r->path, r->opts->layer);
        return CR_OK;
    }
    if (n == 1) {
        g->layer = GDALDatasetGetLayer(g->ds, 0);
        return CR_OK;
    }
    if (n == 0)
        return cr_ctx_fail(r->ctx, CR_E_DATA, "'%s' has no layers", r->path);
    char names[512] = "";
    size_t used = 0;
    for (int i = 0; i < n && used + 1 < sizeof names; i++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                 OGR_L_GetName(GDALDatasetGetLayer(g->ds, i)));
    return cr_ctx_fail(r->ctx, CR_E_USAGE, "'%s' has %d layers (%s); choose one with --layer",
                       r->path, n, names);
}

/* Decides where the coordinates come from: named fields, the geometry, or fields
 * recognised by name when the layer has no geometry. */
static cr_status ogr_coordinates(reader *r, ogr_source *g)
{
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(g->layer);
    cr_status st;
    g->x = g->y = -1;
    if (r->opts->x_field) {
        if ((st = ogr_field(r, g, "--x-field", r->opts->x_field, &g->x)) != CR_OK)
            return st;
        return ogr_field(r, g, "--y-field", r->opts->y_field, &g->y);
    }
    OGRwkbGeometryType type = wkbFlatten(OGR_L_GetGeomType(g->layer));
    if (OGR_FD_GetGeomFieldCount(defn) > 0) {
        if (type == wkbPoint || type == wkbMultiPoint || type == wkbUnknown ||
            type == wkbGeometryCollection)
            return CR_OK;
        return cr_ctx_fail(r->ctx, CR_E_DATA, "'%s' layer '%s' holds %s geometries; arrivals wants points",
                           r->path, OGR_L_GetName(g->layer), OGRGeometryTypeToName(type));
    }
    cr_csv_columns found;
    cr_csv_find_coordinates((const char *const *)g->names, CSLCount(g->names), NULL, 0, &found);
    if (found.x < 0 || found.y < 0)
        return cr_ctx_fail(r->ctx, CR_E_DATA,
                           "'%s' layer '%s' has no geometry and no coordinate fields; name them with "
                           "--x-field and --y-field",
                           r->path, OGR_L_GetName(g->layer));
    g->x = found.x, g->y = found.y;
    return CR_OK;
}

/* The source CRS: --src-crs, else the layer's, else WGS 84 for coordinate fields. */
static cr_status ogr_crs(reader *r, ogr_source *g, char **wkt)
{
    if (r->opts->src_crs)
        return cr_crs_to_wkt(r->ctx, r->opts->src_crs, wkt);
    OGRSpatialReferenceH srs = g->x >= 0 ? NULL : OGR_L_GetSpatialRef(g->layer);
    if (!srs && g->x >= 0)
        return cr_crs_to_wkt(r->ctx, "EPSG:4326", wkt);
    if (!srs)
        return cr_ctx_fail(r->ctx, CR_E_DATA, "'%s' layer '%s' has no CRS; give it with --src-crs",
                           r->path, OGR_L_GetName(g->layer));
    const char *options[] = {"FORMAT=WKT2_2019", NULL};
    if (OSRExportToWktEx(srs, wkt, options) != OGRERR_NONE)
        return cr_ctx_fail(r->ctx, CR_E_DATA, "'%s': cannot read the layer's CRS", r->path);
    return CR_OK;
}

static cr_status ogr_open(reader *r, ogr_source *g, source_info *info)
{
    r->sum->ids_are_lines = 0;
    g->count = g->date = -1;
    cr_status st = cr_open_vector(r->ctx, r->path, &g->ds);
    if (st == CR_OK)
        st = ogr_layer(r, g);
    if (st != CR_OK)
        return st;
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(g->layer);
    for (int i = 0; i < OGR_FD_GetFieldCount(defn); i++)
        g->names = CSLAddString(g->names, OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, i)));
    info->columns = (const char *const *)g->names;
    info->ncolumns = CSLCount(g->names);
    /* A layer without features has no records, and a GeoJSON one no fields either: like
     * a CSV with only a header, it makes an all-zero raster (with a warning), so its
     * fields and CRS are not asked for. */
    OGRFeatureH first = OGR_L_GetNextFeature(g->layer);
    OGR_L_ResetReading(g->layer);
    if (!first)
        return cr_crs_to_wkt(r->ctx, r->opts->src_crs ? r->opts->src_crs : "EPSG:4326",
                             &info->src_wkt);
    OGR_F_Destroy(first);
    if ((st = ogr_coordinates(r, g)) != CR_OK)
        return st;
    if (r->opts->count_field &&
        (st = ogr_field(r, g, "--count-field", r->opts->count_field, &g->count)) != CR_OK)
        return st;
    if (r->opts->date_field &&
        (st = ogr_field(r, g, "--date-field", r->opts->date_field, &g->date)) != CR_OK)
        return st;
    if (g->count >= 0)
        g->count_type = OGR_Fld_GetType(OGR_FD_GetFieldDefn(defn, g->count));
    if (g->date >= 0)
        g->date_type = OGR_Fld_GetType(OGR_FD_GetFieldDefn(defn, g->date));
    if (r->opts->where) {
        cr_gdal_begin(r->ctx);
        OGRErr err = OGR_L_SetAttributeFilter(g->layer, r->opts->where);
        cr_gdal_end(r->ctx);
        if (err != OGRERR_NONE)
            return cr_ctx_fail_gdal(r->ctx, CR_E_USAGE, "--where '%s' is not a valid filter",
                                    r->opts->where);
    }
    if ((st = ogr_crs(r, g, &info->src_wkt)) != CR_OK)
        return st;
    g->features = OGR_L_GetFeatureCount(g->layer, FALSE);
    OGR_L_ResetReading(g->layer);
    return CR_OK;
}

/* The field values of a feature as strings, for the report (CSL). */
static char **ogr_values(OGRFeatureH f, int n)
{
    char **values = NULL;
    for (int i = 0; i < n; i++)
        values = CSLAddString(values, OGR_F_IsFieldSetAndNotNull(f, i) ? OGR_F_GetFieldAsString(f, i) : "");
    return values;
}

static cr_status ogr_count(reader *r, const record_view *v, const ogr_source *g, OGRFeatureH f,
                           double *count, int *rejected)
{
    *rejected = 0;
    if (g->count < 0)
        return CR_OK;
    if (!OGR_F_IsFieldSetAndNotNull(f, g->count)) {
        *rejected = 1;
        return reject(r, v, CR_REJECT_COUNT_NOT_NUMERIC, "count is empty");
    }
    if (g->count_type == OFTInteger || g->count_type == OFTInteger64 || g->count_type == OFTReal) {
        *count = OGR_F_GetFieldAsDouble(f, g->count);
        return check_count(r, v, *count, rejected);
    }
    return parse_count(r, v, OGR_F_GetFieldAsString(f, g->count), count, rejected);
}

static cr_status ogr_date(reader *r, const record_view *v, const ogr_source *g, OGRFeatureH f,
                          int *keep)
{
    *keep = 1;
    if (g->date < 0)
        return CR_OK;
    if (!OGR_F_IsFieldSetAndNotNull(f, g->date)) {
        *keep = 0;
        return reject(r, v, CR_REJECT_MISSING_DATE, "date is empty");
    }
    if (g->date_type != OFTDate && g->date_type != OFTDateTime)
        return parse_date(r, v, OGR_F_GetFieldAsString(f, g->date), keep);
    int y, m, d, h, min, tz;
    float s;
    cr_date date;
    if (!OGR_F_GetFieldAsDateTimeEx(f, g->date, &y, &m, &d, &h, &min, &s, &tz) ||
        !cr_date_from_parts(y, m, d, g->date_type == OFTDate ? -1 : h * 3600 + min * 60 + (int)s,
                            &date)) {
        *keep = 0;
        return reject(r, v, CR_REJECT_BAD_DATE, "date '%s' is not a valid date",
                      OGR_F_GetFieldAsString(f, g->date));
    }
    window(r, &date, keep);
    return CR_OK;
}

/* The i-th point of a point or multipoint, NULL when it is empty. */
static OGRGeometryH part(OGRGeometryH geom, int multi, int i)
{
    OGRGeometryH p = multi ? OGR_G_GetGeometryRef(geom, i) : geom;
    return p && !OGR_G_IsEmpty(p) ? p : NULL;
}

/* Queues the points of a point or multipoint geometry, the count split evenly
 * between its non-empty points so that the record's total is kept. */
static cr_status ogr_geometry(reader *r, const record_view *v, OGRGeometryH geom, double count)
{
    if (!geom || OGR_G_IsEmpty(geom))
        return reject(r, v, CR_REJECT_MISSING_COORDINATE, "the feature has no geometry");
    OGRwkbGeometryType type = wkbFlatten(OGR_G_GetGeometryType(geom));
    if (type != wkbPoint && type != wkbMultiPoint)
        return reject(r, v, CR_REJECT_NOT_A_POINT, "the geometry is a %s, not a point",
                      OGRGeometryTypeToName(type));
    int multi = type == wkbMultiPoint, parts = multi ? OGR_G_GetGeometryCount(geom) : 1, placed = 0;
    for (int i = 0; i < parts; i++) {
        OGRGeometryH p = part(geom, multi, i);
        int rejected = 0;
        cr_status st = p ? check_position(r, v, OGR_G_GetX(p, 0), OGR_G_GetY(p, 0), &rejected) : CR_OK;
        if (st != CR_OK || rejected)
            return st;
        placed += p != NULL;
    }
    cr_status st = CR_OK;
    for (int i = 0, first = 1; i < parts && st == CR_OK; i++) {
        OGRGeometryH p = part(geom, multi, i);
        if (p) {
            st = accept(r, v, OGR_G_GetX(p, 0), OGR_G_GetY(p, 0), count / placed, first);
            first = 0;
        }
    }
    return st;
}

static cr_status ogr_feature(reader *r, const ogr_source *g, OGRFeatureH f)
{
    int n = CSLCount(g->names);
    char **values = r->report ? ogr_values(f, n) : NULL;
    record_view v = {OGR_F_GetFID(f), (const char *const *)values, values ? n : 0};
    r->sum->records_read++;
    double count = 1;
    int rejected = 0, keep = 1;
    cr_status st = ogr_count(r, &v, g, f, &count, &rejected);
    if (st == CR_OK && !rejected)
        st = ogr_date(r, &v, g, f, &keep);
    if (st == CR_OK && !rejected && keep) {
        if (g->x >= 0) {
            double x, y;
            const char *tx = OGR_F_IsFieldSetAndNotNull(f, g->x) ? OGR_F_GetFieldAsString(f, g->x) : "";
            char *xcopy = CPLStrdup(tx);
            const char *ty = OGR_F_IsFieldSetAndNotNull(f, g->y) ? OGR_F_GetFieldAsString(f, g->y) : "";
            st = parse_position(r, &v, xcopy, ty, &x, &y, &rejected);
            CPLFree(xcopy);
            if (st == CR_OK && !rejected)
                st = accept(r, &v, x, y, count, 1);
        } else {
            st = ogr_geometry(r, &v, OGR_F_GetGeometryRef(f), count);
        }
    }
    CSLDestroy(values);
    return st;
}

static cr_status ogr_loop(reader *r, ogr_source *g)
{
    OGRFeatureH f;
    cr_status st = CR_OK;
    int64_t k = 0;
    cr_gdal_begin(r->ctx);
    while (st == CR_OK && (f = OGR_L_GetNextFeature(g->layer)) != NULL) {
        st = ogr_feature(r, g, f);
        OGR_F_Destroy(f);
        if (st == CR_OK && ++k % BATCH == 0 && g->features > 0 &&
            !cr_ctx_progress(r->ctx, fmin(1.0, (double)k / (double)g->features), NULL))
            st = cancelled(r);
    }
    if (st == CR_OK && *cr_gdal_message(r->ctx))
        st = cr_ctx_fail_gdal(r->ctx, CR_E_DATA, "cannot read the features of '%s'", r->path);
    cr_gdal_end(r->ctx);
    return st;
}

static void ogr_close(ogr_source *g)
{
    CSLDestroy(g->names);
    if (g->ds)
        GDALClose(g->ds);
}

/* ---- the driver --------------------------------------------------------------- */

/* CSV files go through our reader, everything else through OGR. */
static int is_csv(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    return dot && (!slash || dot > slash) && (EQUAL(dot, ".csv") || EQUAL(dot, ".tsv"));
}

static cr_status setup(reader *r, const char *src_wkt, const char *target_wkt)
{
    const cr_arrivals_opts *o = r->opts;
    if ((o->from || o->to) && !o->date_field)
        return cr_ctx_fail(r->ctx, CR_E_USAGE, "--from and --to need --date-field");
    if (o->from && !(r->has_from = cr_date_parse(o->from, &r->from)))
        return cr_ctx_fail(r->ctx, CR_E_USAGE, "--from '%s' is not an ISO 8601 date (%s)", o->from,
                           DATE_FORMS);
    if (o->to && !(r->has_to = cr_date_parse(o->to, &r->to)))
        return cr_ctx_fail(r->ctx, CR_E_USAGE, "--to '%s' is not an ISO 8601 date (%s)", o->to,
                           DATE_FORMS);
    OGRSpatialReferenceH src = cr_srs_from_wkt(src_wkt), dst = cr_srs_from_wkt(target_wkt);
    cr_status st = CR_OK;
    if (!src || !dst) {
        st = cr_ctx_fail(r->ctx, CR_E_DATA, "cannot read the CRS of '%s' or of the grid", r->path);
    } else {
        r->geographic = OSRIsGeographic(src);
        if (!OSRIsSame(src, dst)) {
            cr_gdal_begin(r->ctx);
            r->ct = OCTNewCoordinateTransformation(src, dst);
            cr_gdal_end(r->ctx);
            if (!r->ct)
                st = cr_ctx_fail_gdal(r->ctx, CR_E_DATA,
                                      "cannot transform the CRS of '%s' to the grid CRS", r->path);
        }
    }
    OSRDestroySpatialReference(src);
    OSRDestroySpatialReference(dst);
    return st;
}

void cr_records_ids(const cr_arrivals_summary *s, const int64_t *ids, int64_t count, char *buf,
                    size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "%s ", s->ids_are_lines
                                                    ? (count == 1 ? "line" : "lines")
                                                    : (count == 1 ? "feature" : "features"));
    for (int i = 0; i < CR_ARRIVALS_FIRST_IDS && i < count && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%" PRId64, i ? ", " : "", ids[i]);
    if (count > CR_ARRIVALS_FIRST_IDS && used < size)
        snprintf(buf + used, size - used, ", ...");
}

void cr_records_warn(cr_ctx *ctx, const char *path, const cr_arrivals_summary *s,
                     cr_reject_reason k)
{
    if (s->rejected[k] == 0)
        return;
    char ids[200];
    cr_records_ids(s, s->first_ids[k], s->rejected[k], ids, sizeof ids);
    cr_ctx_log(ctx, CR_LOG_WARNING, "%s: %" PRId64 " record%s rejected: %s (%s)", path,
               s->rejected[k], s->rejected[k] == 1 ? "" : "s", REASON_TEXTS[k], ids);
}

/* One warning per rejection reason, with the first ids. */
static void warn(reader *r)
{
    for (int k = 0; k < CR_REJECT_REASONS; k++)
        cr_records_warn(r->ctx, r->path, r->sum, (cr_reject_reason)k);
}

cr_status cr_records_read(cr_ctx *ctx, const char *path, const cr_arrivals_opts *opts,
                          const char *target_wkt, cr_point_sink sink, void *arg,
                          const char *report_path, cr_arrivals_summary *summary,
                          cr_report **report)
{
    *report = NULL;
    if ((opts->x_field != NULL) != (opts->y_field != NULL))
        return cr_ctx_fail(ctx, CR_E_USAGE, "give both --x-field and --y-field");
    reader *r = calloc(1, sizeof *r);
    if (!r)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    r->ctx = ctx, r->path = path, r->opts = opts, r->sum = summary;
    r->sink = sink, r->sink_arg = arg;
    memset(summary->first_ids, 0xff, sizeof summary->first_ids); /* -1: unused */
    int csv = is_csv(path);
    csv_source c;
    ogr_source g;
    source_info info;
    memset(&c, 0, sizeof c);
    memset(&g, 0, sizeof g);
    memset(&info, 0, sizeof info);
    cr_status st = csv ? csv_open(r, &c, &info) : ogr_open(r, &g, &info);
    if (st == CR_OK)
        st = setup(r, info.src_wkt, target_wkt);
    if (st == CR_OK && report_path) {
        const char *inputs[] = {path, NULL};
        st = cr_report_open(ctx, report_path, opts->overwrite, inputs, csv ? "line" : "feature",
                            info.columns, info.ncolumns, &r->report);
    }
    if (st == CR_OK)
        st = csv ? csv_loop(r, &c) : ogr_loop(r, &g);
    if (st == CR_OK)
        st = flush(r);
    if (st == CR_OK && r->dated) {
        cr_date_format(r->first_day, summary->date_first);
        cr_date_format(r->last_day, summary->date_last);
    }
    if (st == CR_OK)
        warn(r);
    for (size_t i = 0; i < r->n; i++)
        CSLDestroy(r->raw[i]);
    if (st == CR_OK)
        *report = r->report;
    else
        cr_report_discard(r->report);
    if (r->ct)
        OCTDestroyCoordinateTransformation(r->ct);
    csv ? csv_close(&c) : ogr_close(&g);
    CPLFree(info.src_wkt);
    free(r);
    return st;
}
