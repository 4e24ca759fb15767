/* score.c: `cityrisk score`: the per-cell composite exposure score. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>

#include "cityrisk/json.h"
#include "cityrisk/qml.h"
#include "cityrisk/score.h"
#include "cli.h"

static const cli_usage USAGE = {
    "score",
    "--sea DEPTH.tif [--scenario NAME | --sea-band N] --water WATER.tif\n"
    "       --informal SETTLEMENT.tif --arrivals ARRIVALS.tif [--population POP.tif]\n"
    "       -o EXPOSURE.tif [options]",
    "The composite exposure score 0-10 of every cell, and its class. The rasters may\n"
    "differ in CRS, resolution and extent: all are read onto the grid of --grid, else of\n"
    "--informal (depths, scores and fractions averaged when coarsening and bilinear when\n"
    "refining; arrivals and population summed, keeping their totals).\n"
    "\n"
    "Indicators, each 0-1 (formulas and sources: docs/score.md):\n"
    "  sea       min(1, d / 1 m) of the inundation depth d (--sea-depth-full, --sea-binary)\n"
    "  water     b / 5 of the Aqueduct water-stress score b (--water-input ratio: the\n"
    "            withdrawal ratio r, b = clamp(log2(r / 0.1) + 1, 0, 5))\n"
    "  informal  the informal-settlement fraction (--settlement-input percent | binary)\n"
    "  arrivals  min(1, log1p(a) / log1p(a_ref)), a_ref the 99th percentile of the cells\n"
    "            with arrivals above 0 (--arrivals-ref, --arrivals-transform linear)\n"
    "Score, with weights w (default sea 0.3, water 0.2, informal 0.25, arrivals 0.25,\n"
    "scaled to sum 1):\n"
    "  geometric   S = 10 (prod (1 + 9 c_i)^w_i - 1) / 9     (default)\n"
    "  arithmetic  S = 10 sum w_i c_i                       (weighted overlay)\n"
    "  inform      S = 10 (H c_arrivals c_informal)^(1/3), H = 1 - (prod (10 - 9 h)^(1/n)\n"
    "              - 1) / 9 over the hazards sea and water   (no arrivals or informality: 0)\n"
    "Classes (INFORM): Very Low < 2.0 <= Low < 3.5 <= Medium < 5.0 <= High < 6.5 <= Very\n"
    "High; or --classes quantile:N, jenks:N (Fisher's natural breaks on a deterministic\n"
    "sample of 10 000 scores), equal:N, fixed:b1,b2,...\n"
    "A cell missing any indicator is nodata, unless --missing renormalise, which drops\n"
    "the missing ones and spreads their weight over the others (hazards are never\n"
    "imputed). With --population, water_uplift is the rise of the water score when\n"
    "demand grows with the arrivals: r' = r (1 + s a / p), s = --demand-share.\n"
    "Values outside a layer's range beyond its tolerance (a water score of 7, a\n"
    "fraction of 1.8) stop the run with exit 3 naming the layer, value and cell; values\n"
    "within it are clamped and counted.\n"
    "\n"
    "Output: a Float32 COG with the bands score, class, sea, water, informal, arrivals,\n"
    "then water_uplift (with --population) and indicators_present (with --missing\n"
    "renormalise), or those named by --bands. The class band carries its names, breaks\n"
    "and colours in metadata; the file records the method, weights, a_ref and formula.",
    "  cityrisk score --sea inundation.tif --scenario ssp245-2100 \\\n"
    "      --water samples/data/water_stress.tif --informal samples/data/settlement.tif \\\n"
    "      --arrivals arrivals.tif --grid samples/data/dem.tif -o exposure.tif\n"
    "  cityrisk score --sea depth.tif --water ratio.tif --water-input ratio \\\n"
    "      --informal slums.tif --settlement-input percent --arrivals arrivals.tif \\\n"
    "      --method inform --classes jenks:5 --bands score,class --json -o exposure.tif",
};

/* Picks one of names by text into *out; 0 on a usage error (printed). */
static int parse_choice(const char *flag, const char *text, const char *const *names, int *out)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(text, names[i]) == 0) {
            *out = i;
            return 1;
        }
    char list[128] = "";
    for (int i = 0; names[i]; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, names[i], sizeof list - strlen(list) - 1);
    }
    cli_usage_error(&USAGE, "%s: unknown value '%s' (%s)", flag, text, list);
    return 0;
}

/* The text options that need parsing, before they go into the library's options. */
typedef struct choices {
    const char *weights, *method, *missing, *classes, *water_input, *settlement_input,
        *arrivals_transform, *bands;
    double arrivals_ref, sea_depth_full;
} choices;

static int apply_choices(cr_ctx *ctx, const choices *c, cr_score_opts *o)
{
    static const char *const missing[] = {"nodata", "renormalise", NULL};
    static const char *const water[] = {"score", "ratio", NULL};
    static const char *const settlement[] = {"fraction", "percent", "binary", NULL};
    static const char *const transform[] = {"log", "linear", NULL};
    int pick = 0;
    cr_status st = CR_OK;
    if (c->weights && (st = cr_weights_parse(ctx, c->weights, o->weights)) == CR_OK) {
        double copy[CR_INDICATORS];
        memcpy(copy, o->weights, sizeof copy);
        st = cr_weights_normalise(ctx, copy);
    }
    if (st == CR_OK && c->method)
        st = cr_score_method_parse(ctx, c->method, &o->method);
    if (st == CR_OK && c->classes)
        st = cr_classes_parse(ctx, c->classes, &o->classes);
    if (st == CR_OK && c->bands)
        st = cr_score_bands_parse(ctx, c->bands, &o->bands);
    if (st != CR_OK) {
        cli_usage_error(&USAGE, "%s", cr_ctx_error(ctx));
        return 0;
    }
    if (c->missing) {
        if (!parse_choice("--missing", c->missing, missing, &pick))
            return 0;
        o->renormalise = pick;
    }
    if (c->water_input) {
        if (!parse_choice("--water-input", c->water_input, water, &pick))
            return 0;
        o->normalise.water_ratio = pick;
    }
    if (c->settlement_input) {
        if (!parse_choice("--settlement-input", c->settlement_input, settlement, &pick))
            return 0;
        o->normalise.settlement = (cr_settlement_input)pick;
    }
    if (c->arrivals_transform) {
        if (!parse_choice("--arrivals-transform", c->arrivals_transform, transform, &pick))
            return 0;
        o->normalise.arrivals_linear = pick;
    }
    if (!isnan(c->arrivals_ref)) {
        o->arrivals_ref_auto = 0;
        o->normalise.arrivals_ref = c->arrivals_ref;
    }
    if (!isnan(c->sea_depth_full))
        o->normalise.sea_depth_full = c->sea_depth_full;
    return 1;
}

static const char *const INPUT_NAMES[] = {"sea", "water", "informal", "arrivals", "population"};

static json_object *summary_json(const char *out, const cr_score_opts *o, const cr_score_summary *s)
{
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "output", json_object_new_string(out));
    json_object *bands = json_object_new_array();
    for (int b = 0; b < CR_SCORE_BANDS; b++)
        if (s->bands >> b & 1)
            json_object_array_add(bands, json_object_new_string(cr_score_band_name((cr_score_band)b)));
    json_object_object_add(doc, "bands", bands);
    json_object_object_add(doc, "method", json_object_new_string(cr_score_method_name(o->method)));
    json_object *w = json_object_new_object();
    for (int k = 0; k < CR_INDICATORS; k++)
        json_object_object_add(w, INPUT_NAMES[k], cr_json_number(s->weights[k], 10));
    json_object_object_add(doc, "weights", w);
    json_object_object_add(doc, "missing", json_object_new_string(o->renormalise ? "renormalise" : "nodata"));
    json_object_object_add(doc, "sea_band", json_object_new_int(s->sea_band));
    json_object_object_add(doc, "scenario", s->scenario[0] ? json_object_new_string(s->scenario) : NULL);
    json_object_object_add(doc, "arrivals_ref", cr_json_number(s->arrivals_ref, 10));
    json_object_object_add(doc, "arrivals_ref_from_data", json_object_new_boolean(s->arrivals_ref_from_data));
    json_object *res = json_object_new_object();
    for (int k = 0; k <= CR_INDICATORS; k++)
        if (s->resampling[k])
            json_object_object_add(res, INPUT_NAMES[k], json_object_new_string(s->resampling[k]));
    json_object_object_add(doc, "resampling", res);
    json_object *classes = json_object_new_object(), *breaks = json_object_new_array(),
                *per = json_object_new_array();
    json_object_object_add(classes, "scheme", json_object_new_string(s->class_scheme));
    json_object_object_add(classes, "count", json_object_new_int(s->class_count));
    for (int k = 0; k < s->class_count - 1; k++)
        json_object_array_add(breaks, cr_json_number(s->breaks[k], 10));
    json_object_object_add(classes, "breaks", breaks);
    json_object_object_add(doc, "classes", classes);
    json_object_object_add(doc, "cells", json_object_new_int64(s->cells));
    json_object_object_add(doc, "cells_scored", json_object_new_int64(s->cells_scored));
    json_object_object_add(doc, "cells_nodata", json_object_new_int64(s->cells_nodata));
    for (int k = 0; k < s->class_count; k++)
        json_object_array_add(per, json_object_new_int64(s->cells_per_class[k]));
    json_object_object_add(doc, "cells_per_class", per);
    json_object *score = json_object_new_object();
    json_object_object_add(score, "min", cr_json_number(s->score_min, 7));
    json_object_object_add(score, "mean", cr_json_number(s->score_mean, 7));
    json_object_object_add(score, "max", cr_json_number(s->score_max, 7));
    json_object_object_add(doc, "score", score);
    json_object *clamped = json_object_new_object();
    for (int k = 0; k <= CR_INDICATORS; k++)
        if (s->resampling[k])
            json_object_object_add(clamped, INPUT_NAMES[k], json_object_new_int64(s->clamped[k]));
    json_object_object_add(doc, "clamped", clamped);
    json_object_object_add(doc, "passes", json_object_new_int(s->passes));
    json_object_object_add(doc, "grid", cr_grid_to_json(s->grid));
    return doc;
}

static void print_summary(const cr_score_summary *s)
{
    fprintf(stderr,
            "cityrisk score: %" PRId64 " of %" PRId64 " cells scored (%" PRId64
            " nodata), score min %.3f mean %.3f max %.3f\n",
            s->cells_scored, s->cells, s->cells_nodata, s->score_min, s->score_mean, s->score_max);
    fprintf(stderr, "cityrisk score: cells per class:");
    for (int k = 0; k < s->class_count; k++)
        fprintf(stderr, " %" PRId64, s->cells_per_class[k]);
    fprintf(stderr, "; a_ref %.6g\n", s->arrivals_ref);
    for (int k = 0; k <= CR_INDICATORS; k++)
        if (s->clamped[k])
            fprintf(stderr, "cityrisk score: %" PRId64 " %s values just outside their range were clamped\n",
                    s->clamped[k], INPUT_NAMES[k]);
}

int cli_cmd_score(int argc, char **argv)
{
    cr_score_opts o;
    cr_score_opts_init(&o);
    choices c = {.arrivals_ref = NAN, .sea_depth_full = NAN};
    const char *out = NULL;
    int json = 0, qml = 0, sea_band = -1; /* -1: not given */
    const cli_option options[] = {
        {NULL, "--sea", CLI_OPT_STRING, &o.sea_path, "FILE", "inundation depths in metres (cityrisk inundation)"},
        {NULL, "--scenario", CLI_OPT_STRING, &o.scenario, "NAME", "the band of --sea for this scenario"},
        {NULL, "--sea-band", CLI_OPT_INT, &sea_band, "N", "the band of --sea (default: the only one)"},
        {NULL, "--water", CLI_OPT_STRING, &o.water_path, "FILE", "Aqueduct water-stress scores 0-5"},
        {NULL, "--informal", CLI_OPT_STRING, &o.informal_path, "FILE", "informal-settlement fraction 0-1"},
        {NULL, "--arrivals", CLI_OPT_STRING, &o.arrivals_path, "FILE", "arrivals per cell (cityrisk arrivals)"},
        {NULL, "--population", CLI_OPT_STRING, &o.population_path, "FILE", "residents per cell: adds water_uplift"},
        {"-o", "--output", CLI_OPT_STRING, &out, "FILE", "output COG"},
        {NULL, "--grid", CLI_OPT_STRING, &o.grid_path, "REF", "write on this raster's grid (default: --informal's)"},
        {NULL, "--weights", CLI_OPT_STRING, &c.weights, "LIST", "sea=0.3,water=0.2,informal=0.25,arrivals=0.25"},
        {NULL, "--method", CLI_OPT_STRING, &c.method, "NAME", "geometric (default), arithmetic, inform"},
        {NULL, "--missing", CLI_OPT_STRING, &c.missing, "HOW", "nodata (default) or renormalise"},
        {NULL, "--classes", CLI_OPT_STRING, &c.classes, "SPEC", "fixed (default), quantile:N, jenks:N, equal:N, fixed:b1,..."},
        {NULL, "--sea-depth-full", CLI_OPT_DOUBLE, &c.sea_depth_full, "M", "depth at which sea = 1 (default 1)"},
        {NULL, "--sea-binary", CLI_OPT_FLAG, &o.normalise.sea_binary, NULL, "sea = 1 wherever inundated"},
        {NULL, "--water-input", CLI_OPT_STRING, &c.water_input, "KIND", "score (default) or ratio"},
        {NULL, "--settlement-input", CLI_OPT_STRING, &c.settlement_input, "KIND", "fraction (default), percent, binary"},
        {NULL, "--arrivals-ref", CLI_OPT_DOUBLE, &c.arrivals_ref, "A", "arrivals at which the indicator is 1 (default: 99th pct)"},
        {NULL, "--arrivals-transform", CLI_OPT_STRING, &c.arrivals_transform, "KIND", "log (default) or linear"},
        {NULL, "--demand-share", CLI_OPT_DOUBLE, &o.demand_share, "S", "share of water demand growing with residents (1)"},
        {NULL, "--bands", CLI_OPT_STRING, &c.bands, "LIST", "write only these bands, e.g. score,class"},
        {NULL, "--overwrite", CLI_OPT_FLAG, &o.overwrite, NULL, "replace an existing output"},
        {"-co", "--creation-option", CLI_OPT_LIST, &o.creation_options, "NAME=VALUE", "COG creation option"},
        {NULL, "--json", CLI_OPT_FLAG, &json, NULL, "print a summary as JSON on stdout"},
        {NULL, "--qml", CLI_OPT_FLAG, &qml, NULL, "also write a QGIS style beside the output (NAME.qml)"},
        {NULL, NULL, CLI_OPT_END, NULL, NULL, NULL},
    };
    cli_common common;
    int rc = CLI_EXIT_USAGE;
    cr_ctx *ctx = NULL;
    char *style_path = NULL;
    cr_score_summary s;
    memset(&s, 0, sizeof s);
    int parsed = cli_parse_options(&USAGE, options, argc, argv, &common);
    if (parsed >= 0) {
        rc = parsed;
        goto out;
    }
    if (!o.sea_path || !o.water_path || !o.informal_path || !o.arrivals_path || !out) {
        cli_usage_error(&USAGE, "--sea, --water, --informal, --arrivals and -o are required");
        goto out;
    }
    if (sea_band != -1 && o.scenario) {
        cli_usage_error(&USAGE, "give --scenario or --sea-band, not both");
        goto out;
    }
    if (sea_band != -1 && sea_band < 1) {
        cli_usage_error(&USAGE, "--sea-band must be 1 or more, not %d", sea_band);
        goto out;
    }
    o.sea_band = sea_band > 0 ? sea_band : 0;
    ctx = cli_context(&USAGE, &common, argc, argv);
    if (!ctx) {
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    if (!apply_choices(ctx, &c, &o))
        goto out;
    /* The style is checked with the output, against the inputs, before any work. */
    cr_status st = qml ? cr_qml_path(ctx, out, &style_path) : CR_OK;
    if (st != CR_OK) {
        rc = cli_fail(&USAGE, ctx, st);
        goto out;
    }
    const char *styles[] = {style_path, NULL};
    o.styles = styles;
    st = cr_score(ctx, out, &o, &s);
    cr_qml_opts qo;
    cr_qml_opts_init(&qo);
    qo.overwrite = o.overwrite;
    cr_qml_info style;
    memset(&style, 0, sizeof style);
    if (st != CR_OK) {
        rc = cli_fail(&USAGE, ctx, st);
    } else if (qml && (st = cr_qml_write(ctx, out, CR_QML_SCORE, &qo, &style)) != CR_OK) {
        cli_fail(&USAGE, ctx, st);
        rc = CLI_EXIT_FAILURE; /* the output is written; its style is not */
    } else if (json) {
        json_object *doc = summary_json(out, &o, &s);
        if (qml)
            json_object_object_add(doc, "qml", json_object_new_string(style.path));
        rc = cli_print_json(&USAGE, doc);
        json_object_put(doc);
    } else {
        if (!common.quiet)
            print_summary(&s);
        if (qml && !common.quiet)
            fprintf(stderr, "cityrisk score: QGIS style written to %s\n", style.path);
        rc = CLI_EXIT_OK;
    }
out:
    free(style_path);
    cr_score_summary_clear(&s);
    cr_ctx_free(ctx);
    CSLDestroy(o.creation_options);
    return rc;
}
