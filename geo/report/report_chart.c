/* report_chart.c: the rank-interval chart (report_internal.h). STUB: helper B. */
#include "report/report_internal.h"

cr_status report_chart(cr_ctx *ctx, report_model *r)
{
    (void)ctx, (void)r;
    return CR_OK;
}
