/* score_command.c: `cityrisk score` in the command table: its arguments, and its summary
 * as JSON and as text. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/command.h"
#include "cityrisk/json.h"
#include "cityrisk/score.h"
#include "core/budget.h"
#include "core/inputs.h"
#include "score_internal.h"

/* The options of the command: the library's, and what the command line says otherwise. */
typedef struct score_args {
    cr_command_base base;
    cr_score_opts o;
    int sea_band;        /* --sea-band; -1 when not given */
    double arrivals_ref; /* --arrivals-ref; NaN when not given: from the data */
    cr_score_summary s;  /* what the run found */
} score_args;

/* A choice stored by its index lands in an int. */
_Static_assert(sizeof(cr_settlement_input) == sizeof(int), "--settlement-input lands in an int");

static void init(void *opts)
{
    score_args *a = opts;
    cr_score_opts_init(&a->o);
    a->sea_band = -1;
    a->arrivals_ref = NAN;
}

static void clear(void *opts)
{
    cr_score_summary_clear(&((score_args *)opts)->s);
}

static cr_status parse_classes(cr_ctx *ctx, const char *text, void *dest)
{
    return cr_classes_parse(ctx, text, dest);
}

static cr_status parse_bands(cr_ctx *ctx, const char *text, void *dest)
{
    return cr_score_bands_parse(ctx, text, dest);
}

static const cr_arg ARGS[] = {
    CR_OPT_INPUT("sea", score_args, o.sea_path, "FILE", "inundation depths in metres (cityrisk inundation)"),
    CR_OPT_STRING("scenario", NULL, score_args, o.scenario, "NAME", "the band of --sea for this scenario"),
    CR_OPT_INT("sea-band", score_args, sea_band, "N", "the band of --sea (default: the only one)"),
    CR_INPUT_POLYGON_ARGS(score_args, "field of water polygons (default bws_score; bws_raw with --water-input ratio)"),
    CR_OPT_INPUT("arrivals", score_args, o.arrivals_path, "FILE", "arrivals per cell (cityrisk arrivals)"),
    CR_OPT_INPUT("population", score_args, o.population_path, "FILE", "residents per cell: adds water_uplift"),
    CR_OPT__OUTPUT("output COG"),
    CR_OPT__GRID("write on this raster's grid (default: --informal's when a raster, else "
                 "--sea's)",
                 "grid extent in --crs (default: the --sea raster's, reprojected as gdalwarp does)"),
    CR_SCORE_COMBINE_ARGS(score_args),
    CR_OPT_PARSED("classes", score_args, o.classes, "SPEC", parse_classes,
                  "fixed (default), quantile:N, jenks:N, equal:N, fixed:b1,..."),
    CR_SCORE_NORMALISE_ARGS(score_args),
    CR_OPT_PARSED("bands", score_args, o.bands, "LIST", parse_bands, "write only these bands, e.g. score,class"),
    CR_OPT__TILE(score_args, o.tile,
                 "write only tile I of N of the grid (512-cell blocks; cityrisk mosaic joins them)",
                 "write only this window of the grid, in cells, on the 512-cell blocks"),
    CR_OPT__OVERWRITE,
    CR_OPT__CREATION_OPTION,
    CR_OPT__JSON,
    CR_OPT__QML,
    CR_OPT_END,
};

static cr_status check(cr_ctx *ctx, void *opts)
{
    score_args *a = opts;
    cr_score_opts *o = &a->o;
    if (!o->sea_path || !o->water_path || !o->informal_path || !o->arrivals_path || !a->base.output)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--sea, --water, --informal, --arrivals and -o are required");
    cr_status st = cr_arg_sea_band(ctx, a->sea_band, o);
    if (st != CR_OK)
        return st;
    if (!isnan(a->arrivals_ref)) {
        o->arrivals_ref_auto = 0;
        o->normalise.arrivals_ref = a->arrivals_ref;
    }
    return CR_OK;
}

/* What each worker thread holds (geo/score/score.c): two tiles in flight, each a block of
 * floats per input, per indicator and per band score computes itself, and a decoded
 * block of each input it reads. Measured at 10000 x 10000: about 45 MB a thread
 * (docs/performance.md, "Memory"). */
static int64_t worker_bytes(void)
{
    const int64_t block = (int64_t)CR_BLOCK_SIZE * CR_BLOCK_SIZE * (int64_t)sizeof(float);
    return 2 * block * (CR_INPUTS + CR_INDICATORS + 5) + block * CR_INPUTS;
}

/* What score holds beside its workers whatever the grid's size: the COG writer's and the
 * inputs' buffers, PROJ's database. Measured: score at one thread less info on the same
 * files, about 48 MB on the sample city and at 10000 x 10000. */
#define FIXED_BYTES ((int64_t)48 << 20)

static cr_status run(cr_ctx *ctx, void *opts, const cr_command_call *call, cr_command_result *result)
{
    (void)call, (void)result;
    score_args *a = opts;
    /* Fewer threads rather than more memory: the output is the same at any thread count. */
    cr_ctx_set_threads(ctx, cr_budget_threads(ctx, "score", FIXED_BYTES, worker_bytes()));
    a->o.overwrite = a->base.overwrite;
    a->o.creation_options = a->base.creation_options;
    a->o.styles = a->base.styles;
    a->o.grid = a->base.grid;
    return cr_score(ctx, a->base.output, &a->o, &a->s);
}

static cr_qml_style style(const void *opts, cr_qml_opts *qml)
{
    (void)opts, (void)qml;
    return CR_QML_SCORE;
}

static json_object *summary_json(const char *out, const cr_score_opts *o, const cr_score_summary *s)
{
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "output", json_object_new_string(out));
    cr_json_add_tile(doc, &o->tile, &s->window); /* the counts below are the window's */
    json_object *bands = json_object_new_array();
    for (int b = 0; b < CR_SCORE_BANDS; b++)
        if (s->bands >> b & 1)
            json_object_array_add(bands, json_object_new_string(cr_score_band_name((cr_score_band)b)));
    json_object_object_add(doc, "bands", bands);
    json_object_object_add(doc, "method", json_object_new_string(cr_score_method_name(o->method)));
    json_object *w = json_object_new_object();
    for (int k = 0; k < CR_INDICATORS; k++)
        json_object_object_add(w, cr_input_name(k), cr_json_number(s->weights[k], 10));
    json_object_object_add(doc, "weights", w);
    json_object_object_add(doc, "missing", json_object_new_string(cr_missing_names[o->renormalise != 0]));
    json_object_object_add(doc, "sea_band", json_object_new_int(s->sea_band));
    json_object_object_add(doc, "scenario", s->scenario[0] ? json_object_new_string(s->scenario) : NULL);
    json_object_object_add(doc, "arrivals_ref", cr_json_number(s->arrivals_ref, 10));
    json_object_object_add(doc, "arrivals_ref_from_data", json_object_new_boolean(s->arrivals_ref_from_data));
    json_object *res = json_object_new_object();
    for (int k = 0; k <= CR_INDICATORS; k++)
        if (s->resampling[k])
            json_object_object_add(res, cr_input_name(k), json_object_new_string(s->resampling[k]));
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
            json_object_object_add(clamped, cr_input_name(k), json_object_new_int64(s->clamped[k]));
    json_object_object_add(doc, "clamped", clamped);
    json_object *missing = json_object_new_object();
    for (int k = 0; k <= CR_INDICATORS; k++)
        if (s->resampling[k])
            json_object_object_add(missing, cr_input_name(k), json_object_new_int64(s->missing[k]));
    json_object_object_add(doc, "cells_missing", missing);
    json_object *polys = json_object_new_object();
    for (int k = 0; k <= CR_INDICATORS; k++) {
        if (!s->polygons[k])
            continue;
        json_object *e = json_object_new_object();
        json_object_object_add(e, "features", json_object_new_int64(s->polygons[k]));
        json_object_object_add(e, "skipped", json_object_new_int64(s->polygons_skipped[k]));
        if (k == CR_INPUT_WATER) {
            json_object_object_add(e, "field", json_object_new_string(s->water_field));
            json_object_object_add(e, "arid", json_object_new_int64(s->water_arid_polygons));
            json_object_object_add(e, "arid_cells", json_object_new_int64(s->water_arid_cells));
        }
        json_object_object_add(polys, cr_input_name(k), e);
    }
    json_object_object_add(doc, "polygons", polys);
    json_object_object_add(doc, "passes", json_object_new_int(s->passes));
    json_object_object_add(doc, "grid", cr_grid_to_json(s->grid));
    return doc;
}

static void summary_text(FILE *out, const cr_score_opts *o, const cr_score_summary *s)
{
    if (cr_tile_given(&o->tile))
        fprintf(out, "window %d,%d,%d,%d of the %d x %d grid (the counts below are its own):\n",
                s->window.x, s->window.y, s->window.w, s->window.h, s->full_width, s->full_height);
    fprintf(out,
            "%" PRId64 " of %" PRId64 " cells scored (%" PRId64 " nodata), score min %.3f mean %.3f max %.3f\n",
            s->cells_scored, s->cells, s->cells_nodata, s->score_min, s->score_mean, s->score_max);
    fprintf(out, "cells per class:");
    for (int k = 0; k < s->class_count; k++)
        fprintf(out, " %" PRId64, s->cells_per_class[k]);
    fprintf(out, "; a_ref %.6g\n", s->arrivals_ref);
    for (int k = 0; k <= CR_INDICATORS; k++)
        if (s->clamped[k])
            fprintf(out, "%" PRId64 " %s values just outside their range were clamped\n", s->clamped[k],
                    cr_input_name(k));
    fprintf(out, "cells without a value:");
    for (int k = 0; k <= CR_INDICATORS; k++)
        if (s->resampling[k])
            fprintf(out, "%s %s %" PRId64 "%s", k ? "," : "", cr_input_name(k), s->missing[k],
                    k == CR_INPUT_SEA ? " (the sea or beyond the DEM: never scored)" : "");
    fprintf(out, "\n");
    for (int k = 0; k <= CR_INDICATORS; k++) {
        if (!s->polygons[k])
            continue;
        fprintf(out, "%s polygons: %" PRId64 " features, %" PRId64 " left out (no polygon, null "
                "or no data)", cr_input_name(k), s->polygons[k], s->polygons_skipped[k]);
        if (k == CR_INPUT_WATER)
            fprintf(out, ", field '%s'; %" PRId64 " 'Arid and Low Water Use' basins read as score 5 "
                    "over %" PRId64 " cells", s->water_field, s->water_arid_polygons,
                    s->water_arid_cells);
        fprintf(out, "\n");
    }
}

static void summarise(const void *opts, FILE *text, cr_command_result *result)
{
    const score_args *a = opts;
    if (a->base.json)
        result->json = summary_json(a->base.output, &a->o, &a->s);
    else
        summary_text(text, &a->o, &a->s);
}

const cr_command cr_score_command = {
    .name = "score",
    .summary = "per-cell composite exposure score 0-10 and class from the four layers",
    .synopsis = "--sea DEPTH.tif [--scenario NAME | --sea-band N] --water WATER.tif\n"
                "       --informal SETTLEMENT.tif --arrivals ARRIVALS.tif [--population POP.tif]\n"
                "       [--grid REF | --crs CRS --resolution M [--bounds XMIN,YMIN,XMAX,YMAX]]\n"
                "       -o EXPOSURE.tif [options]",
    .description =
        "The composite exposure score 0-10 of every cell, and its class. The rasters may\n"
        "differ in CRS, resolution and extent: all are read onto the grid of --grid, or of\n"
        "--crs and --resolution (over --bounds, else the --sea raster's extent), else of\n"
        "--informal (else --sea's when --informal holds polygons; depths, scores and\n"
        "fractions averaged when coarsening and bilinear when refining; arrivals and\n"
        "population summed, keeping their totals).\n"
        "--water and --informal may be polygons (any OGR format and CRS): a cell takes the\n"
        "coverage-weighted mean of the water basins' --water-field (Aqueduct's -9999 and\n"
        "9999 no data, 'Arid and Low Water Use' score 5), and the exact share of it that\n"
        "the informal polygons' union covers.\n"
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
        "imputed; a cell without a sea depth, the sea or beyond the DEM, is never\n"
        "scored). With --population, water_uplift is the rise of the water score when\n"
        "demand grows with the arrivals: r' = r (1 + s a / p), s = --demand-share.\n"
        "Values outside a layer's range beyond its tolerance (a water score of 7, a\n"
        "fraction of 1.8) stop the run with exit 3 naming the layer, value and cell (for\n"
        "polygons, the feature); values within it are clamped and counted.\n"
        "\n"
        "Output: a Float32 COG with the bands score, class, sea, water, informal, arrivals,\n"
        "then water_uplift (with --population) and indicators_present (with --missing\n"
        "renormalise), or those named by --bands. The class band carries its names, breaks\n"
        "and colours in metadata; the file records the method, weights, a_ref and formula.",
    .examples =
        "  cityrisk score --sea inundation.tif --scenario ssp245-2100 \\\n"
        "      --water samples/data/water_stress.tif --informal samples/data/settlement.tif \\\n"
        "      --arrivals arrivals.tif --grid samples/data/dem.tif -o exposure.tif\n"
        "  cityrisk score --sea depth.tif --water ratio.tif --water-input ratio \\\n"
        "      --informal slums.tif --settlement-input percent --arrivals arrivals.tif \\\n"
        "      --method inform --classes jenks:5 --bands score,class --json -o exposure.tif",
    .args = ARGS, .flags = CR_COMMAND_STAGE, .opts_size = sizeof(score_args),
    .init = init, .clear = clear, .check = check, .run = run, .style = style, .summarise = summarise,
};
