/* sensitivity_command.c: `cityrisk sensitivity` in the command table: its arguments (the
 * scoring model's shared with score), the factors, and its summary as JSON and as text. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/command.h"
#include "cityrisk/json.h"
#include "cityrisk/sensitivity.h"
#include "core/inputs.h"
#include "internal.h"

/* The options of the command: the nominal model in o (as score keeps it, so that the rows
 * of the scoring model are score's), the rest in so. */
typedef struct sens_args {
    cr_command_base base;
    cr_score_opts o;
    double arrivals_ref; /* --arrivals-ref; NaN when not given: from the data */
    int sea_band;        /* --sea-band; -1 when not given */
    cr_sensitivity_opts so;
    char **factor;       /* --factor SPEC, as written */
    const char *factors; /* --factors FILE */
    int seed;            /* --seed */
    cr_sensitivity_summary s;
} sens_args;

static void init(void *opts)
{
    sens_args *a = opts;
    cr_score_opts_init(&a->o);
    cr_sensitivity_opts_init(&a->so);
    a->arrivals_ref = NAN;
    a->sea_band = -1;
    a->seed = 1;
}

static const cr_arg ARGS[] = {
    CR_OPT_INPUT("zones", sens_args, so.zones_path, "FILE",
                 "neighbourhood polygons (any OGR format, any CRS)"),
    CR_OPT_STRING("layer", NULL, sens_args, so.layer, "NAME",
                  "the zones' layer (default: the first)"),
    CR_OPT_STRING("id-field", NULL, sens_args, so.id_field, "FIELD", "names zones in messages"),
    CR_OPT_STRING("name-field", NULL, sens_args, so.name_field, "FIELD",
                  "labels zones in the rank chart"),
    CR_OPT_DOUBLE("min-coverage", sens_args, so.min_coverage, "SHARE",
                  "data coverage a zone needs to be ranked (0.5)"),
    CR_OPT_INPUT("sea", sens_args, o.sea_path, "FILE",
                 "inundation depths in metres (cityrisk inundation)"),
    CR_OPT_STRING("scenario", NULL, sens_args, o.scenario, "NAME", "the nominal band of --sea"),
    CR_OPT_INT("sea-band", sens_args, sea_band, "N",
               "the nominal band of --sea by number (default: the only one)"),
    CR_INPUT_POLYGON_ARGS(
        sens_args, "field of water polygons (default bws_score; bws_raw with --water-input ratio)"),
    CR_OPT_INPUT("arrivals", sens_args, o.arrivals_path, "FILE",
                 "arrivals per cell (cityrisk arrivals)"),
    CR_OPT_INPUT("population", sens_args, o.population_path, "FILE",
                 "residents per cell: water_uplift_p05/p50/p95"),
    CR_OPT__GRID(
        "read every layer onto this raster's grid (default: as score: --informal's "
        "when a raster, else --sea's)",
        "grid extent in --crs (default: the --sea raster's, reprojected as gdalwarp does)"),
    CR_SCORE_COMBINE_ARGS(sens_args),
    CR_SCORE_NORMALISE_ARGS(sens_args),
    CR_OPT_LIST("factor", NULL, sens_args, factor, "SPEC",
                "a factor, repeatable: weight.sea[=MIN:MAX], weights, method[=A,B], arrivals_ref, "
                "sea_level[=A,B], demand_share"),
    CR_OPT_INPUT("factors", sens_args, factors, "FILE.json", "factors from a JSON file"),
    CR_OPT_INT("samples", sens_args, so.samples, "N", "base samples: N (d + 2) runs (256)"),
    CR_OPT_INT("seed", sens_args, seed, "S", "seed of the scrambled Sobol' sequence (1)"),
    CR_OPT_INT("bootstrap", sens_args, so.bootstrap, "B",
               "resamples of the city-wide indices' intervals (200)"),
    CR_OPT_INT("top", sens_args, so.top, "N",
               "p_top: the share of runs in which a zone ranks within N (10)"),
    CR_OPT__OUTPUT("output vector: the zones with their ranks and indices"),
    CR_OPT_STRING("format", "of", sens_args, so.format, "FORMAT", "OGR driver (default GeoJSON)"),
    CR_OPT_OUTPUT_FILE("indices", sens_args, so.indices_path, "FILE.csv",
                       "city-wide Sobol' indices (mean_abs_rank_shift, top_n_changed)"),
    CR_OPT_OUTPUT_FILE("rank-chart", sens_args, so.rank_chart_path, "FILE.png|.svg",
                       "the zones' rank intervals"),
    CR_OPT_OUTPUT_FILE("indices-chart", sens_args, so.indices_chart_path, "FILE.png|.svg",
                       "the indices of mean_abs_rank_shift"),
    CR_OPT_OUTPUT_FILE("runs", sens_args, so.runs_path, "FILE.csv",
                       "every run's factor values and zone scores"),
    CR_OPT__OVERWRITE,
    CR_OPT__JSON,
    CR_OPT_END,
};

static cr_status check(cr_ctx *ctx, void *opts)
{
    sens_args *a = opts;
    cr_score_opts *o = &a->o;
    if (!a->so.zones_path || !o->sea_path || !o->water_path || !o->informal_path ||
        !o->arrivals_path || !a->base.output)
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "--zones, --sea, --water, --informal, --arrivals and -o are required");
    if (!isnan(a->arrivals_ref)) {
        o->arrivals_ref_auto = 0;
        o->normalise.arrivals_ref = a->arrivals_ref;
    }
    cr_status st = cr_arg_sea_band(ctx, a->sea_band, o);
    if (st != CR_OK)
        return st;
    if (a->seed < 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--seed must be 0 or more, not %d", a->seed);
    a->so.seed = (uint64_t)a->seed;
    return CR_OK;
}

static cr_status run(cr_ctx *ctx, void *opts, const cr_command_call *call,
                     cr_command_result *result)
{
    (void)call, (void)result;
    sens_args *a = opts;
    /* The factors are read here rather than by check: their message is the run's, one line
     * naming the spec or the file and item, as the run's other refusals before any work. */
    a->so.nfactors = 0;
    for (char **f = a->factor; f && *f; f++) {
        cr_status st = cr_factor_parse(ctx, *f, a->so.factors, &a->so.nfactors);
        if (st != CR_OK)
            return st;
    }
    if (a->factors) {
        cr_status st = cr_factors_read(ctx, a->factors, a->so.factors, &a->so.nfactors);
        if (st != CR_OK)
            return st;
    }
    a->so.factors_path = a->factors;
    a->o.grid = a->base.grid;
    a->so.model = a->o;
    a->so.overwrite = a->base.overwrite;
    return cr_sensitivity(ctx, a->base.output, &a->so, &a->s);
}

static json_object *index_json(const cr_sobol_index *x)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "s1", cr_json_number(x->first, 6));
    json_object_object_add(o, "s1_lo", cr_json_number(x->first_lo, 6));
    json_object_object_add(o, "s1_hi", cr_json_number(x->first_hi, 6));
    json_object_object_add(o, "st", cr_json_number(x->total, 6));
    json_object_object_add(o, "st_lo", cr_json_number(x->total_lo, 6));
    json_object_object_add(o, "st_hi", cr_json_number(x->total_hi, 6));
    return o;
}

static json_object *summary_json(const sens_args *a)
{
    const cr_sensitivity_summary *s = &a->s;
    const cr_sensitivity_opts *o = &a->so;
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "zones", json_object_new_int64(s->zones));
    json_object_object_add(doc, "ranked_zones", json_object_new_int64(s->ranked));
    json_object_object_add(doc, "cells", json_object_new_int64(s->cells));
    json_object *factors = json_object_new_array();
    for (int i = 0; i < s->factors; i++) {
        json_object *e = cr_sens_factor_json(&s->factor[i]);
        json_object_object_add(e, "mean_abs_rank_shift", index_json(&s->shift[i]));
        json_object_object_add(e, "top_n_changed", index_json(&s->changed[i]));
        json_object_array_add(factors, e);
    }
    json_object_object_add(doc, "factors", factors);
    json_object_object_add(doc, "samples", json_object_new_int(s->samples));
    json_object_object_add(doc, "runs", json_object_new_int64(s->runs));
    json_object_object_add(doc, "seed", json_object_new_uint64(s->seed));
    json_object_object_add(doc, "bootstrap", json_object_new_int(s->bootstrap));
    json_object_object_add(doc, "top", json_object_new_int(s->top));
    json_object_object_add(doc, "arrivals_ref", cr_json_number(s->arrivals_ref, 10));
    json_object_object_add(doc, "arrivals_ref_from_data",
                           json_object_new_boolean(s->arrivals_ref_from_data));
    json_object_object_add(doc, "sea_band", json_object_new_int(s->sea_band));
    json_object_object_add(doc, "scenario",
                           s->scenario[0] ? json_object_new_string(s->scenario) : NULL);
    json_object *t = json_object_new_object();
    json_object_object_add(t, "read", cr_json_number(s->seconds_read, 4));
    json_object_object_add(t, "runs", cr_json_number(s->seconds_runs, 4));
    json_object_object_add(t, "indices", cr_json_number(s->seconds_indices, 4));
    json_object_object_add(t, "write", cr_json_number(s->seconds_write, 4));
    json_object_object_add(doc, "seconds", t);
    json_object *mem = json_object_new_object();
    json_object_object_add(mem, "estimate_mb", cr_json_number(s->memory_mb, 4));
    json_object_object_add(mem, "limit_mb", cr_json_number(s->memory_limit_mb, 4));
    json_object_object_add(mem, "peak_mb", cr_json_number(s->peak_mb, 4));
    json_object_object_add(doc, "memory", mem);
    json_object *out = json_object_new_object();
    json_object_object_add(out, "zones", json_object_new_string(a->base.output));
    json_object_object_add(out, "driver", json_object_new_string(s->driver));
    const char *keys[] = {"indices", "rank_chart", "indices_chart", "runs"};
    const char *paths[] = {o->indices_path, o->rank_chart_path, o->indices_chart_path,
                           o->runs_path};
    for (int k = 0; k < 4; k++)
        if (paths[k])
            json_object_object_add(out, keys[k], json_object_new_string(paths[k]));
    json_object_object_add(doc, "outputs", out);
    return doc;
}

static void summarise(const void *opts, FILE *text, cr_command_result *result)
{
    const sens_args *a = opts;
    const cr_sensitivity_summary *s = &a->s;
    if (a->base.json) {
        result->json = summary_json(a);
        return;
    }
    fprintf(text,
            "%" PRId64 " zones (%" PRId64 " ranked), %d factors, %" PRId64 " runs of %" PRId64
            " cells in %.1f s; a_ref %.6g\n",
            s->zones, s->ranked, s->factors, s->runs, s->cells, s->seconds_runs, s->arrivals_ref);
    for (int i = 0; i < s->factors; i++) {
        /* An index without variance is NaN: shown as n/a, as docs/uncertainty.md says. */
        char name[32], s1[16] = "n/a", st[16] = "n/a";
        if (!isnan(s->shift[i].first))
            snprintf(s1, sizeof s1, "%.3f", s->shift[i].first);
        if (!isnan(s->shift[i].total))
            snprintf(st, sizeof st, "%.3f", s->shift[i].total);
        fprintf(text, "mean_abs_rank_shift: %s S1 %s ST %s\n",
                cr_factor_name(&s->factor[i], name, sizeof name), s1, st);
    }
}

const cr_command cr_sensitivity_command = {
    .name = "sensitivity",
    .summary = "how stable each zone's rank is, and which choices drive it (Sobol' indices)",
    .synopsis =
        "--zones ZONES --sea DEPTH.tif [--scenario NAME | --sea-band N] --water WATER --informal INFORMAL\n"
        "       --arrivals ARRIVALS.tif [--population POP.tif] [score's options]\n"
        "       [--factor SPEC]... [--factors FILE.json] [--samples N] [--seed S]\n"
        "       -o ZONES.geojson [--indices FILE.csv] [--rank-chart FILE.png] [options]",
    .description =
        "Runs `cityrisk score` then `cityrisk zonal --exposure` many times over the modelling\n"
        "choices, from memory, and says per zone how stable its rank is and which choices\n"
        "drive its score (docs/sensitivity.md). Every layer is read once onto the analysis\n"
        "grid as score reads it; each zone keeps its covered cells with their exact coverage.\n"
        "\n"
        "Factors (--factor SPEC, repeatable, or --factors FILE.json), each uniform in a range\n"
        "or categorical:\n"
        "  weight.sea, weight.water, weight.informal, weight.arrivals   nominal +/-50 %, or\n"
        "            weight.sea=0.1:0.5; weights: all four. Each run's weights sum to 1.\n"
        "  method    geometric,arithmetic,inform, or method=geometric,arithmetic\n"
        "  arrivals_ref   the nominal a_ref +/-50 %, or arrivals_ref=100:300\n"
        "  sea_level the bands of --sea by their scenario (meant for one scenario's likely\n"
        "            range, S-p17,S,S-p83), or sea_level=A,B,C\n"
        "  demand_share   nominal +/-50 % within 0..1 (the water uplift: needs --population)\n"
        "Without factors: the weights above 0, method (the nominal one, geometric,\n"
        "arithmetic), arrivals_ref, and sea_level when --sea has several bands.\n"
        "\n"
        "Saltelli's design on a scrambled Sobol' sequence: N (d + 2) runs for N base samples\n"
        "(--samples) and d factors, reproducible by --seed. Per zone: data_coverage,\n"
        "score_nominal and rank_nominal (as score + zonal give them), score_p05/p50/p95,\n"
        "rank_p05/p50/p95, p_top (share of runs in the top --top), s1_<factor> and\n"
        "st_<factor> (first-order and total Sobol' indices of its score). --indices: the\n"
        "city-wide indices of mean_abs_rank_shift and top_n_changed, with bootstrap\n"
        "intervals (--bootstrap). --runs: every run's factor values and zone scores.",
    .examples =
        "  cityrisk sensitivity --zones samples/data/neighbourhoods.gpkg --name-field name \\\n"
        "      --sea inundation-likely.tif --scenario ssp245-2100 --water "
        "samples/data/aqueduct_baseline.gpkg \\\n"
        "      --informal samples/data/informal_settlements.shp --arrivals arrivals.tif \\\n"
        "      --grid samples/data/dem.tif --samples 512 -o sensitivity.geojson \\\n"
        "      --indices indices.csv --rank-chart ranks.png --indices-chart indices.png\n"
        "  cityrisk sensitivity ... --factor weights --factor method=geometric,arithmetic \\\n"
        "      --factor sea_level=ssp245-2100-p17,ssp245-2100,ssp245-2100-p83 -o zones.geojson",
    .args = ARGS,
    .flags = CR_COMMAND_STAGE,
    .opts_size = sizeof(sens_args),
    .init = init,
    .check = check,
    .run = run,
    .summarise = summarise,
};
