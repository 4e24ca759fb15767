/* report_html.c: the page (report_internal.h). STUB: helper C. */
#include "report/report_internal.h"

extern const char report_css[], report_js[];

void report_html(const report_model *r, report_buf *out)
{
    (void)r;
    report_buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><style>");
    report_buf_puts(out, report_css);
    report_buf_puts(out, "</style></head><body><script>");
    report_buf_puts(out, report_js);
    report_buf_puts(out, "</script></body></html>\n");
}
