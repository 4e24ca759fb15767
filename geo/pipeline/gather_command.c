/* gather_command.c: `cityrisk gather` in the command table: its arguments and its summary
 * as JSON and as text. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <cpl_string.h>

#include "cityrisk/command.h"
#include "cityrisk/gather.h"

typedef struct gather_args {
    cr_command_base base;
    cr_gather_opts o;
    char **inputs;      /* INPUT... */
    const char *by;     /* --by VAR[,VAR...] */
    const char *fields; /* --fields LIST */
    char **by_list, **field_list;
    cr_gather_summary s;
} gather_args;

static void init(void *opts)
{
    cr_gather_opts_init(&((gather_args *)opts)->o);
}

static void clear(void *opts)
{
    gather_args *a = opts;
    CSLDestroy(a->by_list);
    CSLDestroy(a->field_list);
}

static const cr_arg ARGS[] = {
    CR_OPT_STRING("by", NULL, gather_args, by, "VAR[,VAR...]",
                  "the variables each input's labels are of (LABEL;LABEL=FILE)"),
    CR_OPT_STRING("id-field", NULL, gather_args, o.id_field, "FIELD",
                  "the zones' id, matching them across inputs (default: the first field)"),
    CR_OPT_STRING("name-field", NULL, gather_args, o.name_field, "FIELD", "the zones' name (default: name)"),
    CR_OPT_STRING("fields", NULL, gather_args, fields, "LIST",
                  "the metrics: names, or prefixes ending in * (default: docs/gather.md)"),
    CR_OPT__OUTPUT("the table: CSV (no geometry), GeoJSON or any OGR vector"),
    CR_OPT_STRING("format", "of", gather_args, o.format, "FORMAT", "OGR driver (default: from -o, else GeoJSON)"),
    CR_OPT__OVERWRITE,
    CR_OPT__JSON,
    CR_OPT_ROW(CR_ARG_LIST, CR_ROLE_INPUT, CR_ARGF_POSITIONAL, "input", NULL, gather_args, inputs,
               "[LABEL;LABEL=]FILE", "a zonal output of one combination of the sweep", NULL, NULL),
    CR_OPT_END,
};

static cr_status check(cr_ctx *ctx, void *opts)
{
    gather_args *a = opts;
    if (!a->base.output)
        return cr_ctx_fail(ctx, CR_E_USAGE, "-o is required");
    if (strcmp(a->base.output, "-") == 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "-o -: gather writes a file");
    if (CSLCount(a->inputs) == 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "no input to gather");
    if (a->by) {
        a->by_list = CSLTokenizeString2(a->by, ",", CSLT_STRIPLEADSPACES | CSLT_STRIPENDSPACES);
        if (CSLCount(a->by_list) == 0)
            return cr_ctx_fail(ctx, CR_E_USAGE, "--by '%s': no variable", a->by);
    }
    if (a->fields) {
        a->field_list = CSLTokenizeString2(a->fields, ",", CSLT_STRIPLEADSPACES | CSLT_STRIPENDSPACES);
        if (CSLCount(a->field_list) == 0)
            return cr_ctx_fail(ctx, CR_E_USAGE, "--fields '%s': no field", a->fields);
    }
    a->o.inputs = a->inputs;
    a->o.by = a->by_list;
    a->o.fields = a->field_list;
    return CR_OK;
}

static cr_status run(cr_ctx *ctx, void *opts, const cr_command_call *call, cr_command_result *result)
{
    (void)call, (void)result;
    gather_args *a = opts;
    a->o.overwrite = a->base.overwrite;
    return cr_gather(ctx, a->base.output, &a->o, &a->s);
}

static void summarise(const void *opts, FILE *text, cr_command_result *result)
{
    const gather_args *a = opts;
    const cr_gather_summary *s = &a->s;
    if (a->base.json) {
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "output", json_object_new_string(a->base.output));
        json_object_object_add(doc, "format", json_object_new_string(s->driver));
        json_object_object_add(doc, "inputs", json_object_new_int(s->inputs));
        json_object_object_add(doc, "zones", json_object_new_int64(s->zones));
        json_object_object_add(doc, "rows", json_object_new_int64(s->rows));
        json_object_object_add(doc, "metrics", json_object_new_int(s->columns));
        result->json = doc;
        return;
    }
    fprintf(text, "%" PRId64 " rows (%" PRId64 " zones x %d inputs), %d metrics, written to %s\n", s->rows,
            s->zones, s->inputs, s->columns, a->base.output);
}

const cr_command cr_gather_command = {
    .name = "gather",
    .summary = "the zonal outputs of a sweep gathered into one table (CSV, GeoJSON, any OGR vector)",
    .synopsis = "[--by VAR[,VAR...]] [--id-field F] [--name-field F] [--fields LIST] -o OUT\n"
                "       [LABEL[;LABEL...]=]ZONAL... [options]",
    .description =
        "One row per combination of a sweep and per zone, from the zonal outputs of the\n"
        "combinations (any OGR vector), each given as LABEL;LABEL=FILE, the labels of the\n"
        "--by variables in order (just FILE without --by). Zones are matched across the\n"
        "inputs by their id (--id-field, default the first field: zonal keeps the zones'\n"
        "own fields first). Columns: the id, the name, one per --by variable, the metrics\n"
        "(--fields: names or prefixes ending in *; default score_mean, score_class,\n"
        "score_rank, arrivals_total, arrivals_flooded*, arrivals_informal,\n"
        "informal_area_share, water_stress_mean, arrivals_high_water_stress, those the\n"
        "first input has), and with score_rank: score_rank_min, score_rank_max across the\n"
        "sweep and score_rank_min_at, score_rank_max_at, the first combination where each\n"
        "occurs (labels joined with ';'). A zone missing from an input has empty metrics\n"
        "in that input's rows. CSV has no geometry; GeoJSON (RFC 7946) and other formats\n"
        "get the zone's geometry from the first input that has it. A pipeline's gather\n"
        "stage is given every file of the sweep (docs/pipeline.md).",
    .examples = "  cityrisk gather --by scenario,weights -o sweep.csv \\\n"
                "      'ssp245-2050;equal=n-ssp245-2050-equal.geojson' \\\n"
                "      'ssp245-2050;flood=n-ssp245-2050-flood.geojson'",
    .args = ARGS, .flags = CR_COMMAND_STAGE, .opts_size = sizeof(gather_args),
    .init = init, .clear = clear, .check = check, .run = run, .summarise = summarise,
};
