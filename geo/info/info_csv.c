/* info_csv.c: describing CSV point records: columns, their types, coordinates, extent. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>

#include "cityrisk/number.h"
#include "cityrisk/vector.h"
#include "core/crs.h"
#include "core/csv.h"
#include "core/outliers.h"
#include "info_internal.h"
#include "core/internal.h"

/* What the values of a column have looked like so far. */
typedef struct column_type {
    int seen;                  /* non-empty values */
    int integer, real, date;   /* all non-empty values so far parse as such */
} column_type;

static int parse_number(const char *s, double *v)
{
    return cr_number_finite(s, v);
}

static int is_integer(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    if (*s == '-' || *s == '+')
        s++;
    if (!isdigit((unsigned char)*s))
        return 0;
    while (isdigit((unsigned char)*s))
        s++;
    while (isspace((unsigned char)*s))
        s++;
    return *s == '\0';
}

/* ISO 8601 date YYYY-MM-DD, optionally followed by a time ("T" or " "), or a month YYYY-MM
 * (the reduced form arrivals reads as the month's period). */
static int is_date(const char *s)
{
    int month = 1;
    for (int i = 0; i < 7; i++)
        month = month && (i == 4 ? s[i] == '-' : isdigit((unsigned char)s[i]));
    if (month && (s[7] == '\0' || isspace((unsigned char)s[7])))
        return 1;
    for (int i = 0; i < 10; i++) {
        int want_dash = i == 4 || i == 7;
        if (want_dash ? s[i] != '-' : !isdigit((unsigned char)s[i]))
            return 0;
    }
    return s[10] == '\0' || s[10] == 'T' || s[10] == ' ';
}

static void observe(column_type *t, const char *value)
{
    const char *p = value;
    while (isspace((unsigned char)*p))
        p++;
    if (!*p)
        return;
    double v;
    if (!t->seen)
        t->integer = t->real = t->date = 1;
    t->seen++;
    t->integer = t->integer && is_integer(p);
    t->real = t->real && parse_number(p, &v);
    t->date = t->date && is_date(p);
}

static const char *type_name(const column_type *t)
{
    if (!t->seen)
        return "String";
    if (t->integer)
        return "Integer";
    if (t->real)
        return "Real";
    if (t->date)
        return "Date";
    return "String";
}

/* Running state of the scan. */
typedef struct csv_scan {
    cr_csv_header head;
    column_type *types;
    cr_csv_columns coords;
    long rows, rows_without_coordinates;
    cr_bounds bounds;
    long located;
    double *xy;       /* x, y, line of each located row, for the outlier rule */
    size_t xy_cap;
    int out_of_memory;
} csv_scan;

/* Keeps a located row for the outlier rule (core/outliers.h). */
static void keep_point(csv_scan *s, double x, double y, long line)
{
    size_t n = (size_t)s->located;
    if (n == s->xy_cap) {
        size_t cap = s->xy_cap ? 2 * s->xy_cap : 1024;
        double *grown = realloc(s->xy, 3 * cap * sizeof *grown);
        if (!grown) {
            s->out_of_memory = 1;
            return;
        }
        s->xy = grown, s->xy_cap = cap;
    }
    s->xy[3 * n] = x, s->xy[3 * n + 1] = y, s->xy[3 * n + 2] = (double)line;
}

static void observe_row(csv_scan *s, const cr_csv_record *rec)
{
    s->rows++;
    for (int i = 0; i < rec->count && i < s->head.count; i++)
        observe(&s->types[i], rec->fields[i]);
    double x, y;
    if (s->coords.x < 0 || s->coords.y < 0 || s->coords.x >= rec->count || s->coords.y >= rec->count ||
        !parse_number(rec->fields[s->coords.x], &x) || !parse_number(rec->fields[s->coords.y], &y)) {
        s->rows_without_coordinates++;
        return;
    }
    keep_point(s, x, y, rec->line);
    if (s->located++ == 0) {
        s->bounds.xmin = s->bounds.xmax = x;
        s->bounds.ymin = s->bounds.ymax = y;
    }
    s->bounds.xmin = fmin(s->bounds.xmin, x), s->bounds.xmax = fmax(s->bounds.xmax, x);
    s->bounds.ymin = fmin(s->bounds.ymin, y), s->bounds.ymax = fmax(s->bounds.ymax, y);
}

/* Reads the header, the optional HXL row and every record. */
static cr_status scan(cr_ctx *ctx, cr_csv *csv, csv_scan *s)
{
    cr_status st = cr_csv_read_header(ctx, csv, &s->head);
    if (st != CR_OK)
        return st;
    if (!(s->types = calloc((size_t)s->head.count, sizeof *s->types)))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    cr_csv_find_coordinates((const char *const *)s->head.names, s->head.count,
                            (const char *const *)s->head.tags, s->head.tag_count, &s->coords);
    cr_csv_record rec;
    for (st = cr_csv_next_data(ctx, csv, &rec); st == CR_OK && rec.fields;
         st = cr_csv_next_data(ctx, csv, &rec))
        observe_row(s, &rec);
    if (st == CR_OK && s->out_of_memory)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    return st;
}

/* Warns about rows far outside the others, by arrivals' rule (core/outliers.h) and its
 * floor: a central box of at least max(2 bandwidth, 100 cells, 1 km; 0.01 degree in
 * lon/lat); a CSV has neither bandwidth nor cells, so 1 km (0.01 degree): what arrivals
 * leaves out of a grid made from the records' extent without a kernel at 10 m cells or
 * finer. */
static cr_status warn_far(cr_ctx *ctx, const char *path, const csv_scan *s, const char *crs_wkt,
                          json_object *warnings)
{
    OGRSpatialReferenceH srs = cr_srs_from_wkt(crs_wkt);
    int geographic = srs && OSRIsGeographic(srs);
    double floor_size = geographic ? 0.01 : 1000;
    OSRDestroySpatialReference(srs);
    cr_outliers rule;
    cr_status st = cr_outliers_find(ctx, s->xy, s->xy + 1, 3, (size_t)s->located, floor_size, &rule);
    long far = 0;
    char rows[400] = "";
    size_t used = 0;
    for (long i = 0; st == CR_OK && i < s->located; i++) {
        const double *p = s->xy + 3 * i;
        if (!cr_outliers_far(&rule, p[0], p[1]))
            continue;
        if (far++ < 5)
            used += (size_t)snprintf(rows + used, sizeof rows - used, "%sline %.0f at (%.10g, %.10g)",
                                     far > 1 ? ", " : "", p[2], p[0], p[1]);
    }
    if (st == CR_OK && far > 0)
        cr_info_warn(warnings, path, "far_records",
                     "%ld of %ld rows of '%s' lie far outside the others, more than %g times the "
                     "size of their central extent (%.6g %s) beyond it (%s%s): latitude and "
                     "longitude swapped? arrivals leaves such records out of a grid made from the "
                     "records' extent",
                     far, s->located, path, CR_OUTLIER_FACTOR, rule.size,
                     geographic ? "degrees" : "m", rows,
                     far > 5 ? ", ..." : "");
    return st;
}

static json_object *describe_columns(const csv_scan *s)
{
    json_object *fields = json_object_new_array();
    for (int i = 0; i < s->head.count; i++) {
        json_object *f = json_object_new_object();
        json_object_object_add(f, "name", json_object_new_string(s->head.names[i]));
        json_object_object_add(f, "type", json_object_new_string(type_name(&s->types[i])));
        if (s->head.tags)
            json_object_object_add(f, "hxl", json_object_new_string(i < s->head.tag_count && s->head.tags[i] ? s->head.tags[i] : ""));
        json_object_array_add(fields, f);
    }
    return fields;
}

/* The warnings every CSV may earn, whatever its coordinates: no records, and column
 * names given twice (a command reading such a column refuses it as ambiguous). */
static void warn_table(const char *path, const csv_scan *s, json_object *warnings)
{
    if (s->rows == 0)
        cr_info_warn(warnings, path, "empty", "'%s' has no records, only a header", path);
    for (int i = 0; i < s->head.count; i++) {
        int j = cr_csv_header_find_from(&s->head, s->head.names[i], i + 1);
        if (j > i && cr_csv_header_find(&s->head, s->head.names[i]) == i)
            cr_info_warn(warnings, path, "duplicate_column",
                         "'%s' line %ld: columns %d and %d are both named '%s'; a command that "
                         "reads that column refuses it as ambiguous",
                         path, s->head.line, i + 1, j + 1, s->head.names[i]);
    }
}

static json_object *describe_layer(cr_ctx *ctx, const char *path, const csv_scan *s, const char *crs_wkt,
                                   json_object *warnings, cr_info_extent *extent)
{
    warn_table(path, s, warnings);
    json_object *o = json_object_new_object();
    const char *slash = strrchr(path, '/');
    char *name = strdup(slash ? slash + 1 : path);
    char *dot = name ? strrchr(name, '.') : NULL;
    if (dot)
        *dot = '\0';
    json_object_object_add(o, "name", json_object_new_string(name ? name : path));
    free(name);
    int located = s->coords.x >= 0 && s->coords.y >= 0;
    json_object_object_add(o, "geometry_type", json_object_new_string(located ? "Point" : "None"));
    json_object_object_add(o, "feature_count", json_object_new_int64(s->rows));
    json_object_object_add(o, "fields", describe_columns(s));
    if (!located) {
        cr_info_warn(warnings, path, "no_coordinates",
                     "no coordinate columns recognised in '%s' (want lon/lat, longitude/latitude, x/y or "
                     "HXL #geo+lon/#geo+lat); a table of counts per area code joins to boundary "
                     "polygons with arrivals --areas --area-key --table --table-key",
                     path);
        return o;
    }
    json_object *c = json_object_new_object();
    json_object_object_add(c, "x", json_object_new_string(s->head.names[s->coords.x]));
    json_object_object_add(c, "y", json_object_new_string(s->head.names[s->coords.y]));
    json_object_object_add(c, "hxl", json_object_new_boolean(s->head.tags != NULL));
    json_object_object_add(o, "coordinates", c);
    json_object_object_add(o, "rows_without_coordinates",
                           json_object_new_int64(s->rows_without_coordinates));
    cr_info_add_georef(o, path, crs_wkt, s->located ? &s->bounds : NULL, warnings, extent);
    if (warn_far(ctx, path, s, crs_wkt, warnings) != CR_OK)
        cr_info_warn(warnings, path, "far_records", "'%s': %s", path, cr_ctx_error(ctx));
    json_object_object_add(o, "crs_assumed", json_object_new_boolean(1));
    if (s->rows_without_coordinates)
        cr_info_warn(warnings, path, "rows_without_coordinates",
                     "%ld of %ld rows of '%s' have missing or unparseable coordinates",
                     s->rows_without_coordinates, s->rows, path);
    return o;
}

cr_status cr_info_csv(cr_ctx *ctx, const char *path, const cr_info_opts *opts,
                      json_object *warnings, json_object **out, cr_info_extent *extent)
{
    cr_csv *csv = NULL;
    char *wkt = NULL;
    csv_scan s = {0};
    s.coords.x = s.coords.y = -1;
    cr_status st = cr_crs_to_wkt(ctx, opts->csv_crs, &wkt);
    if (st == CR_OK)
        st = cr_csv_open(ctx, path, &csv);
    if (st == CR_OK)
        st = scan(ctx, csv, &s);
    if (st == CR_OK) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "file", json_object_new_string(path));
        json_object_object_add(o, "kind", json_object_new_string("vector"));
        json_object_object_add(o, "driver", json_object_new_string("CSV"));
        char delimiter[2] = {cr_csv_delimiter(csv), '\0'};
        json_object_object_add(o, "delimiter", json_object_new_string(delimiter));
        json_object *layers = json_object_new_array();
        json_object_array_add(layers, describe_layer(ctx, path, &s, wkt, warnings, extent));
        json_object_object_add(o, "layers", layers);
        *out = o;
    }
    cr_csv_header_clear(&s.head);
    free(s.types);
    free(s.xy);
    cr_csv_close(csv);
    CPLFree(wkt);
    return st;
}
