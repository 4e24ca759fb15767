/* records.h: reading arrival records, validating them row by row, filtering them
 * by date and attribute, and bringing them to the grid's CRS (internal to the
 * arrivals module). */
#ifndef CITYRISK_RECORDS_H
#define CITYRISK_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "cityrisk/arrivals.h"
#include "report.h"

/* One accepted point in the target CRS. */
typedef struct cr_point {
    double x, y;
    double count;
    int64_t id; /* the record's line or feature id, for reports */
} cr_point;

/* Receives accepted points in input order, in batches. */
typedef cr_status (*cr_point_sink)(cr_ctx *ctx, void *arg, const cr_point *points, size_t n);

/* Reads every record of path as opts says (layer, coordinate, count and date
 * fields, source CRS, date window, where filter, strictness), transforms the
 * accepted ones to the CRS target_wkt and passes them to sink. Rejected records go
 * to report when it is non-NULL. Fills the record counts, rejections, exclusions,
 * arrivals_total, ids_are_lines and date range of summary (zeroed by the caller)
 * and logs one warning per rejection reason. Reports progress 0..1. */
cr_status cr_records_read(cr_ctx *ctx, const char *path, const cr_arrivals_opts *opts,
                          const char *target_wkt, cr_point_sink sink, void *arg,
                          const char *report_path, cr_arrivals_summary *summary,
                          cr_report **report);

/* Where rejected records are counted and reported. */
typedef struct cr_reject_target {
    const char *path;         /* the source, for a strict failure */
    cr_arrivals_summary *sum; /* counts, first ids; ids_are_lines says how ids read */
    cr_report *report;        /* may be NULL */
    int strict;
} cr_reject_target;

/* Counts one rejected record (id, reason) in t->sum, adds it to the report with message
 * and its values, and, when strict, fails with CR_E_DATA "PATH:LINE: message" (or "PATH:
 * feature ID: message"). */
cr_status cr_reject_record(cr_ctx *ctx, const cr_reject_target *t, int64_t id,
                           cr_reject_reason reason, const char *message, const char *const *values,
                           int nvalues);

/* Writes "lines 12, 57, ..." (or "feature 3") of the first of count ids into buf. */
void cr_records_ids(const cr_arrivals_summary *s, const int64_t *ids, int64_t count, char *buf,
                    size_t size);

/* Logs the warning for the records rejected for reason k, with their first ids; nothing
 * when there are none. */
void cr_records_warn(cr_ctx *ctx, const char *path, const cr_arrivals_summary *s,
                     cr_reject_reason k);

/* Checks a count: -1 when it is good, else the cr_reject_reason, with message (one line,
 * size bytes). parse first reads it from text as cityrisk reads numbers. */
int cr_count_check(double count, char *message, size_t size);
int cr_count_parse(const char *text, double *count, char *message, size_t size);

#endif
