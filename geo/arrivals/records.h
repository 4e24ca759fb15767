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

/* Writes "lines 12, 57, ..." (or "feature 3") of the first of count ids into buf. */
void cr_records_ids(const cr_arrivals_summary *s, const int64_t *ids, int64_t count, char *buf,
                    size_t size);

/* Logs the warning for the records rejected for reason k, with their first ids; nothing
 * when there are none. */
void cr_records_warn(cr_ctx *ctx, const char *path, const cr_arrivals_summary *s,
                     cr_reject_reason k);

#endif
