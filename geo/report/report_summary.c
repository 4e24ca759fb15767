/* report_summary.c: the summary and the drivers (report_internal.h). STUB: helper C. */
#include "report/report_internal.h"

void report_summary_html(const report_model *r, report_buf *out)
{
    (void)r, (void)out;
}

void report_drivers(const report_model *r, int v, int z, char *buf, size_t size)
{
    (void)r, (void)v, (void)z;
    if (size)
        buf[0] = '\0';
}
