/* report.c: cr_report(): the files checked, the model loaded, the map and chart drawn,
 * the page written to a temporary file and published (report.h). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>

#include "core/internal.h"
#include "core/output.h"
#include "report/report_internal.h"

void cr_report_opts_init(cr_report_opts *o)
{
    memset(o, 0, sizeof *o);
    o->top = 5;
}

/* zonal's metrics the report shows (docs/zonal.md defines them; docs/report.md lists these). */
const report_metric REPORT_METRICS[] = {
    {"score_mean", "Score", "0-10", 0, 2, 0},
    {"score_class", "Class", "", 0, 0, 0},
    {"score_rank", "Rank", "", 0, 0, 0},
    {"arrivals_total", "Arrivals", "people", 0, 0, 0},
    {"arrivals_flooded", "Arrivals in flooded cells", "people", 0, 0, 1},
    {"arrivals_flooded_share", "Arrivals flooded", "%", 1, 0, 1},
    {"flood_area_share", "Area flooded", "%", 1, 1, 1},
    {"informal_area_share", "Informal area", "%", 1, 0, 0},
    {"water_stress_mean", "Water stress", "0-5", 0, 2, 0},
    {"arrivals_high_water_stress", "Arrivals in high water stress", "people", 0, 0, 0},
    {"arrivals_compound", "Arrivals facing all three", "people", 0, 0, 1},
    {"data_coverage", "Data coverage", "%", 1, 0, 0},
};

int report_metric_count(void)
{
    return (int)(sizeof REPORT_METRICS / sizeof *REPORT_METRICS);
}

int report_metric_find(const char *field)
{
    for (int m = 0; field && m < report_metric_count(); m++)
        if (strcmp(REPORT_METRICS[m].field, field) == 0)
            return m;
    return -1;
}

const char *report_spec_file(const char *spec, int labelled)
{
    const char *eq = labelled ? strchr(spec, '=') : NULL;
    return eq ? eq + 1 : spec;
}

double report_value(const report_model *r, int v, int z, int m)
{
    if (!r->values || v < 0 || v >= r->nviews || z < 0 || z >= r->nzones || m < 0 || m >= r->nmetrics)
        return NAN;
    return r->values[((size_t)v * (size_t)r->nzones + (size_t)z) * (size_t)r->nmetrics + (size_t)m];
}

/* Every file the report reads, NULL-terminated (CSLDestroy). */
static char **input_files(const cr_report_opts *o)
{
    char **files = NULL;
    int labelled = o->by != NULL;
    for (int i = 0; o->zones && o->zones[i]; i++)
        files = CSLAddString(files, report_spec_file(o->zones[i], labelled));
    for (int i = 0; o->exposure && o->exposure[i]; i++)
        files = CSLAddString(files, report_spec_file(o->exposure[i], labelled));
    if (o->sensitivity)
        files = CSLAddString(files, o->sensitivity);
    if (o->inundation)
        files = CSLAddString(files, o->inundation);
    return files;
}

/* Writes text to the temporary file and publishes it as out. */
static cr_status write_page(cr_ctx *ctx, const char *out, const report_buf *page, int overwrite)
{
    cr_temp temp = CR_TEMP_NONE;
    cr_status st = cr_temp_file(ctx, out, "report", &temp);
    if (st != CR_OK)
        return st;
    FILE *f = fopen(temp.path, "wb");
    int ok = f && fwrite(page->data, 1, page->len, f) == page->len;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok) {
        cr_temp_discard(&temp);
        return cr_ctx_fail(ctx, CR_E_IO, "%s: cannot write the report", out);
    }
    st = cr_temp_publish(ctx, &temp, out, overwrite);
    if (st != CR_OK)
        cr_temp_discard(&temp);
    return st;
}

cr_status cr_report_opts_check(cr_ctx *ctx, const cr_report_opts *o)
{
    if (!o || CSLCount(o->zones) == 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "report: no zones to report");
    if (o->lang && strcmp(o->lang, "en") != 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--lang '%s': the report is written in en only so far", o->lang);
    if (o->top < 0 || o->top > REPORT_TOP_MAX)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--top %d: expected 0 to %d", o->top, REPORT_TOP_MAX);
    return CR_OK;
}

cr_status cr_report(cr_ctx *ctx, const char *out, const cr_report_opts *o, cr_report_summary *s)
{
    if (s)
        memset(s, 0, sizeof *s);
    if (!out)
        return cr_ctx_fail(ctx, CR_E_USAGE, "report: no output");
    if (cr_report_opts_check(ctx, o) != CR_OK)
        return cr_ctx_status(ctx);
    char **inputs = input_files(o);
    cr_status st = cr_outputs_check(ctx, out, "report", NULL, (const char *const *)inputs, o->overwrite);
    CSLDestroy(inputs);
    if (st != CR_OK)
        return st;

    report_model r = {0};
    report_buf page = {0};
    st = report_load(ctx, &r, o);
    if (st == CR_OK)
        st = report_map(ctx, &r);
    if (st == CR_OK)
        st = report_chart(ctx, &r);
    if (st == CR_OK) {
        report_html(&r, &page);
        if (page.failed || !page.data)
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory writing the report");
    }
    if (st == CR_OK)
        st = write_page(ctx, out, &page, o->overwrite);
    if (st == CR_OK && s) {
        s->views = r.nviews;
        s->zones = r.nzones;
        for (int v = 0; v < r.nviews; v++)
            s->images += r.views[v].image_base64 != NULL;
        s->sensitivity = r.has_sensitivity;
        s->paged = r.paged;
        s->tolerance = r.tolerance;
        s->bytes = (int64_t)page.len;
    }
    report_buf_free(&page);
    report_model_free(&r);
    return st;
}
