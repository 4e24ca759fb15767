/* report.h: the CSV of rejected records that `arrivals --report` writes (internal).
 * Rows go to a temporary file beside the destination, which appears only when
 * the run succeeds. */
#ifndef CITYRISK_REPORT_H
#define CITYRISK_REPORT_H

#include <stdint.h>

#include "cityrisk/context.h"

typedef struct cr_report cr_report;

/* Starts a report at path with the header "ID_NAME,reason,message,COLUMNS...".
 * Fails as cr_outputs_check() does: with CR_E_USAGE when path is one of inputs
 * (NULL-terminated, may be NULL), CR_E_EXISTS when it exists and not overwrite. Finish
 * with cr_report_publish() or cr_report_discard(). */
cr_status cr_report_open(cr_ctx *ctx, const char *path, int overwrite, const char *const *inputs,
                         const char *id_name, const char *const *columns, int ncolumns,
                         cr_report **out);

/* Appends one rejected record: its id, reason identifier, message and the values of
 * its columns (nvalues of them; missing trailing ones are written empty). */
cr_status cr_report_add(cr_ctx *ctx, cr_report *report, int64_t id, const char *reason,
                        const char *message, const char *const *values, int nvalues);

/* Closes the report and renames it into place (without overwrite, never over a file that
 * appeared meanwhile: CR_E_EXISTS); frees it in every case. */
cr_status cr_report_publish(cr_ctx *ctx, cr_report *report);

/* Removes the temporary file and frees the report. Accepts NULL. */
void cr_report_discard(cr_report *report);

#endif
