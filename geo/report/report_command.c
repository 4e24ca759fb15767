/* report_command.c: `cityrisk report` in the command table: its arguments and its summary
 * as JSON and as text. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <cpl_string.h>

#include "cityrisk/command.h"
#include "cityrisk/report.h"

typedef struct report_args {
    cr_command_base base;
    cr_report_opts o;
    const char *by; /* --by VAR[,VAR...] */
    char **by_list;
    cr_report_summary s;
} report_args;

static void init(void *opts)
{
    cr_report_opts_init(&((report_args *)opts)->o);
}

static void clear(void *opts)
{
    CSLDestroy(((report_args *)opts)->by_list);
}

static const cr_arg ARGS[] = {
    CR_OPT_ROW(CR_ARG_LIST, CR_ROLE_INPUT, 0, "zones", NULL, report_args, o.zones, "[LABEL;LABEL=]FILE",
               "a zonal output, repeatable: one position of the scenario switch each", NULL, NULL),
    CR_OPT_STRING("by", NULL, report_args, by, "VAR[,VAR...]",
                  "the variables each --zones and --exposure label is of (LABEL;LABEL=FILE)"),
    CR_OPT_ROW(CR_ARG_LIST, CR_ROLE_INPUT, 0, "exposure", NULL, report_args, o.exposure, "[LABEL;LABEL=]FILE",
               "the exposure raster of a --zones (cityrisk score), drawn under the outlines", NULL, NULL),
    CR_OPT_INPUT("sensitivity", report_args, o.sensitivity, "FILE",
                 "cityrisk sensitivity's zones: rank intervals and the rank chart"),
    CR_OPT_INPUT("inundation", report_args, o.inundation, "FILE",
                 "cityrisk inundation's depths: sea-level source and DEM error for the caveats"),
    CR_OPT_STRING("id-field", NULL, report_args, o.id_field, "FIELD",
                  "the zones' id (default: as zonal recorded it, else the first field)"),
    CR_OPT_STRING("name-field", NULL, report_args, o.name_field, "FIELD",
                  "the zones' name (default: as zonal recorded it, else name)"),
    CR_OPT_STRING("title", NULL, report_args, o.title, "TEXT",
                  "the report's title (default: Migrant exposure to climate hazards)"),
    CR_OPT_STRING("city", NULL, report_args, o.city, "NAME", "the city, under the title"),
    CR_OPT_STRING("lang", NULL, report_args, o.lang, "LANG", "the report's language: en (the only one so far)"),
    CR_OPT_INT("top", report_args, o.top, "N", "a card for each of the top N zones (5; 0: none; at most 256)"),
    CR_OPT__OUTPUT("the report: one HTML file"),
    CR_OPT__OVERWRITE,
    CR_OPT__JSON,
    CR_OPT_END,
};

static cr_status check(cr_ctx *ctx, void *opts)
{
    report_args *a = opts;
    if (!a->base.output)
        return cr_ctx_fail(ctx, CR_E_USAGE, "-o is required");
    if (strcmp(a->base.output, "-") == 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "-o -: report writes a file");
    if (CSLCount(a->o.zones) == 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--zones is required");
    if (cr_report_opts_check(ctx, &a->o) != CR_OK)
        return cr_ctx_status(ctx);
    if (a->by) {
        a->by_list = CSLTokenizeString2(a->by, ",", CSLT_STRIPLEADSPACES | CSLT_STRIPENDSPACES);
        if (CSLCount(a->by_list) == 0)
            return cr_ctx_fail(ctx, CR_E_USAGE, "--by '%s': no variable", a->by);
    }
    a->o.by = a->by_list;
    return CR_OK;
}

static cr_status run(cr_ctx *ctx, void *opts, const cr_command_call *call, cr_command_result *result)
{
    (void)call, (void)result;
    report_args *a = opts;
    a->o.overwrite = a->base.overwrite;
    return cr_report(ctx, a->base.output, &a->o, &a->s);
}

static void summarise(const void *opts, FILE *text, cr_command_result *result)
{
    const report_args *a = opts;
    const cr_report_summary *s = &a->s;
    if (a->base.json) {
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "output", json_object_new_string(a->base.output));
        json_object_object_add(doc, "bytes", json_object_new_int64(s->bytes));
        json_object_object_add(doc, "views", json_object_new_int(s->views));
        json_object_object_add(doc, "zones", json_object_new_int64(s->zones));
        json_object_object_add(doc, "images", json_object_new_int(s->images));
        json_object_object_add(doc, "sensitivity", json_object_new_boolean(s->sensitivity));
        json_object_object_add(doc, "paged", json_object_new_boolean(s->paged));
        json_object_object_add(doc, "simplify_tolerance", json_object_new_double(s->tolerance));
        result->json = doc;
        return;
    }
    fprintf(text, "%" PRId64 " zone%s, %d scenario view%s%s, %.1f kB, written to %s\n", s->zones,
            s->zones == 1 ? "" : "s", s->views, s->views == 1 ? "" : "s", s->paged ? " (table paged)" : "", (double)s->bytes / 1000.0, a->base.output);
}

const cr_command cr_report_command = {
    .name = "report",
    .summary = "one self-contained HTML report: summary, map, table, top zones, methods, provenance",
    .synopsis = "--zones [LABEL;LABEL=]ZONAL... [--by VAR,...] [--exposure [LABEL;LABEL=]TIF...]\n"
                "       [--sensitivity FILE] [--inundation TIF] [--title T] [--city C] -o REPORT.html [options]",
    .description =
        "One HTML file an adaptation team can open offline, share and print (docs/report.md):\n"
        "every style, script and image inline, nothing fetched. From zonal outputs (one per\n"
        "--zones, each a position of the scenario switch, labelled LABEL;LABEL=FILE with the\n"
        "--by variables as gather takes them): a summary written from the numbers, a map of\n"
        "the zones coloured by class (the --exposure raster of each view under the outlines),\n"
        "a table of every zone sortable by any column and filterable by name, a card for each\n"
        "of the --top zones, with --sensitivity their rank intervals and the rank chart, the\n"
        "methods (formulas, weights, classes, caveats; --inundation adds the sea-level source\n"
        "and DEM error) and the provenance of every input. A pipeline's report stage is given\n"
        "every file of the sweep (docs/pipeline.md).",
    .examples = "  cityrisk report --zones neighbourhoods.geojson --exposure exposure.tif -o report.html\n"
                "  cityrisk report --by scenario --zones 'ssp245-2100=n-ssp245.geojson' \\\n"
                "      --zones 'ssp585-2100=n-ssp585.geojson' --sensitivity sensitivity.geojson \\\n"
                "      --city 'Port Azul' -o report.html",
    .args = ARGS, .flags = CR_COMMAND_STAGE, .opts_size = sizeof(report_args),
    .init = init, .clear = clear, .check = check, .run = run, .summarise = summarise,
};
