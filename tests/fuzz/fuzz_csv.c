/* fuzz_csv.c: the arrivals CSV reader (geo/core/csv.c under geo/arrivals/records.c), from the bytes
 * of a file to accepted points, rejections and the rejection report.
 *
 * Input: one byte of options, then the CSV file. Bits of the options byte: 1 count
 * field "count", 2 date field "date", 4 strict, 8 a --where filter on the first line
 * (which is then not part of the file), 16 a date window, 32 coordinate columns named
 * "lon" and "lat", 64 named by HXL tags, 128 a rejection report. A run must end with
 * CR_OK or a failure with its message; on success the counts must add up, every point
 * must be finite and in range, and the report must read back, with the same reader,
 * as the rejected records. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <gdal.h>

#include "cityrisk/arrivals.h"
#include "core/csv.h"
#include "fuzzutil.h"
#include "core/internal.h"
#include "arrivals/records.h"

static char *wgs84; /* the grid CRS: the records' own, so nothing is transformed */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    GDALAllRegister();
    if (cr_crs_to_wkt(fz_ctx(), "EPSG:4326", &wgs84) != CR_OK)
        fz_fail("EPSG:4326: %s", cr_ctx_error(fz_ctx()));
    return 0;
}

/* What the sink saw. */
typedef struct seen {
    size_t points;
    double total;
} seen;

static cr_status sink(cr_ctx *ctx, void *arg, const cr_point *p, size_t n)
{
    (void)ctx;
    seen *s = arg;
    for (size_t i = 0; i < n; i++) {
        FZ_CHECK(isfinite(p[i].x) && isfinite(p[i].y), "point (%g, %g) is not finite", p[i].x,
                 p[i].y);
        FZ_CHECK(p[i].x >= -180 && p[i].x <= 180 && p[i].y >= -90 && p[i].y <= 90,
                 "point (%g, %g) is outside lon/lat", p[i].x, p[i].y);
        FZ_CHECK(isfinite(p[i].count) && p[i].count >= 0, "count %g", p[i].count);
        s->total += p[i].count;
    }
    s->points += n;
    return CR_OK;
}

/* Every record of the input as the reader sees it, to compare the report with. */
typedef struct row {
    long line;
    int count;
    char **fields;
} row;

typedef struct table {
    row *rows;
    size_t n;
} table;

static char **copy_fields(char **fields, int count)
{
    char **copy = calloc((size_t)count + 1, sizeof *copy);
    for (int i = 0; copy && i < count; i++)
        copy[i] = strdup(fields[i]);
    return copy;
}

static void free_table(table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        for (int k = 0; k < t->rows[i].count; k++)
            free(t->rows[i].fields[k]);
        free(t->rows[i].fields);
    }
    free(t->rows);
}

/* Reads every record of path; 0 when the reader fails (the report then has nothing to
 * be compared with). */
static int read_table(cr_ctx *ctx, const char *path, table *t)
{
    cr_csv *csv = NULL;
    cr_csv_record rec;
    memset(t, 0, sizeof *t);
    if (cr_csv_open(ctx, path, &csv) != CR_OK)
        return 0;
    while (cr_csv_next(ctx, csv, &rec) == CR_OK && rec.fields) {
        row *grown = realloc(t->rows, (t->n + 1) * sizeof *grown);
        if (!grown)
            fz_fail("out of memory");
        t->rows = grown;
        t->rows[t->n++] = (row){rec.line, rec.count, copy_fields(rec.fields, rec.count)};
    }
    int ok = cr_ctx_status(ctx) == CR_OK;
    cr_csv_close(csv);
    return ok;
}

static const row *find_line(const table *t, long line)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->rows[i].line == line)
            return &t->rows[i];
    return NULL;
}

/* The report lists each rejected record once, in input order, with its values. */
static void check_report(cr_ctx *ctx, const char *input, const char *report,
                         const cr_arrivals_summary *sum)
{
    table t;
    if (!read_table(ctx, input, &t)) {
        cr_ctx_clear_error(ctx);
        free_table(&t);
        return;
    }
    const row *head = NULL;
    for (size_t i = 0; i < t.n && !head; i++)
        if (!(t.rows[i].count == 1 && !t.rows[i].fields[0][0]))
            head = &t.rows[i];
    FZ_CHECK(head, "a header was read but the file has none");
    cr_csv *csv = NULL;
    cr_csv_header h;
    cr_csv_record rec;
    FZ_CHECK(cr_csv_open(ctx, report, &csv) == CR_OK && cr_csv_read_header(ctx, csv, &h) == CR_OK,
             "report: %s", cr_ctx_error(ctx));
    FZ_CHECK(cr_csv_delimiter(csv) == ',', "report: read with delimiter '%c'", cr_csv_delimiter(csv));
    FZ_CHECK(h.count == head->count + 3, "report: %d columns for %d", h.count, head->count);
    for (int i = 0; i < head->count; i++)
        FZ_CHECK(strcmp(h.names[3 + i], head->fields[i]) == 0, "report: column %d is '%s', not '%s'",
                 i, h.names[3 + i], head->fields[i]);
    int64_t rows = 0;
    long last = 0;
    while (cr_csv_next_data(ctx, csv, &rec) == CR_OK && rec.fields) {
        FZ_CHECK(rec.count == h.count, "report line %ld: %d fields", rec.line, rec.count);
        char *end;
        long line = strtol(rec.fields[0], &end, 10);
        FZ_CHECK(!*end && line > last, "report line %ld: id '%s' after %ld", rec.line,
                 rec.fields[0], last);
        last = line;
        const row *r = find_line(&t, line);
        FZ_CHECK(r, "report line %ld: no record starts on line %ld", rec.line, line);
        for (int i = 0; i < head->count; i++) {
            const char *want = i < r->count ? r->fields[i] : "";
            FZ_CHECK(strcmp(rec.fields[3 + i], want) == 0,
                     "report line %ld: value %d is '%s', the record's '%s'", rec.line, i,
                     rec.fields[3 + i], want);
        }
        rows++;
    }
    FZ_CHECK(cr_ctx_status(ctx) == CR_OK, "report: %s", cr_ctx_error(ctx));
    FZ_CHECK(rows == sum->records_rejected, "report: %lld rows for %lld rejections",
             (long long)rows, (long long)sum->records_rejected);
    cr_csv_header_clear(&h);
    cr_csv_close(csv);
    free_table(&t);
}

static void check_summary(const cr_arrivals_summary *s, const seen *got)
{
    FZ_CHECK(s->ids_are_lines, "CSV ids are not lines");
    FZ_CHECK(s->records_read == s->records_accepted + s->records_rejected + s->excluded_by_date +
                                    s->excluded_by_where,
             "%lld read != %lld accepted + %lld rejected + %lld + %lld excluded",
             (long long)s->records_read, (long long)s->records_accepted,
             (long long)s->records_rejected, (long long)s->excluded_by_date,
             (long long)s->excluded_by_where);
    FZ_CHECK((int64_t)got->points == s->records_accepted, "%zu points for %lld accepted records",
             got->points, (long long)s->records_accepted);
    FZ_CHECK(got->total == s->arrivals_total, "points add up to %.17g, summary says %.17g",
             got->total, s->arrivals_total);
    int64_t rejected = 0;
    for (int k = 0; k < CR_REJECT_REASONS; k++) {
        rejected += s->rejected[k];
        for (int i = 0; i < CR_ARRIVALS_FIRST_IDS; i++) {
            int64_t id = s->first_ids[k][i];
            FZ_CHECK(i < s->rejected[k] ? id >= 1 && (i == 0 || id > s->first_ids[k][i - 1])
                                        : id == -1,
                     "reason %d: first id %d is %lld", k, i, (long long)id);
        }
    }
    FZ_CHECK(rejected == s->records_rejected, "rejections by reason add up to %lld, not %lld",
             (long long)rejected, (long long)s->records_rejected);
    FZ_CHECK(!s->date_first[0] == !s->date_last[0] && strcmp(s->date_first, s->date_last) <= 0,
             "dates '%s' to '%s'", s->date_first, s->date_last);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    cr_ctx *ctx = fz_ctx();
    unsigned flags = data[0];
    data++, size--;
    cr_arrivals_opts o;
    cr_arrivals_opts_init(&o);
    char *where = NULL;
    if (flags & 8) {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t n = nl ? (size_t)(nl - data) : size;
        where = fz_string(data, n);
        o.where = where;
        data += n + (nl != NULL), size -= n + (nl != NULL);
    }
    if (flags & 1)
        o.count_field = "count";
    if (flags & 2)
        o.date_field = "date";
    o.strict = (flags & 4) != 0;
    if (flags & 16)
        o.from = "2015-06-01", o.to = "2016-03-20T12:00";
    if (flags & 32)
        o.x_field = "lon", o.y_field = "lat";
    else if (flags & 64)
        o.x_field = "#geo+lon", o.y_field = "#geo+lat";
    char report_path[4200];
    snprintf(report_path, sizeof report_path, "%s/rejected.csv", fz_dir());
    if (flags & 128)
        o.report_path = report_path, o.overwrite = 1;
    /* fz_write's buffer is reused: keep the input's path. */
    char input[4200];
    snprintf(input, sizeof input, "%s", fz_write("records.csv", data, size));

    cr_arrivals_summary sum;
    memset(&sum, 0, sizeof sum);
    cr_report *report = NULL;
    seen got = {0, 0.0};
    cr_status st = cr_records_read(ctx, input, &o, wgs84, sink, &got, o.report_path, &sum, &report);
    if (st != CR_OK) {
        FZ_CHECK(!report, "failed with a report");
        FZ_CHECK(cr_ctx_status(ctx) == st && *cr_ctx_error(ctx),
                 "failed with status %d without a message", (int)st);
        FZ_CHECK(st != CR_E_IO, "I/O failure on a readable file: %s", cr_ctx_error(ctx));
    } else {
        FZ_CHECK(!o.strict || sum.records_rejected == 0, "strict run with %lld rejections",
                 (long long)sum.records_rejected);
        check_summary(&sum, &got);
        if (report) {
            FZ_CHECK(cr_report_publish(ctx, report) == CR_OK, "report: %s", cr_ctx_error(ctx));
            check_report(ctx, input, report_path, &sum);
        } else {
            FZ_CHECK(!o.report_path, "no report");
        }
    }
    free(where);
    return 0;
}
