/* report_load.c: the report's model from its inputs (report_internal.h). STUB: helper A. */
#include <stdlib.h>
#include "report/report_internal.h"

cr_status report_load(cr_ctx *ctx, report_model *r, const cr_report_opts *o)
{
    (void)ctx;
    r->o = o;
    return CR_OK;
}

void report_model_free(report_model *r)
{
    (void)r;
}
