/* report_map.c: the map's outlines and images (report_internal.h). STUB: helper B. */
#include "report/report_internal.h"

cr_status report_map(cr_ctx *ctx, report_model *r)
{
    (void)ctx, (void)r;
    return CR_OK;
}
