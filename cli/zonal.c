/* zonal.c: `cityrisk zonal`: neighbourhood exposure with exact cell coverage. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>

#include "cityrisk/json.h"
#include "cityrisk/qml.h"
#include "cityrisk/zonal.h"
#include "cli.h"

static const cli_usage USAGE = {
    "zonal",
    "--zones ZONES [--layer L] [--exposure EXPOSURE.tif] [--arrivals A.tif]\n"
    "       [--sea DEPTH.tif] [--water W.tif] [--informal S.tif] [--population P.tif]\n"
    "       [-r NAME=RASTER[:BAND]]... [--stats LIST] -o OUT|- [options]",
    "Per-neighbourhood statistics of the rasters, every cell weighted by the exact\n"
    "fraction f of its area inside the zone (holes removed, parts added), so totals of\n"
    "arrivals are kept across neighbourhood boundaries. The zones keep all their\n"
    "attributes and get one property per statistic (docs/zonal.md):\n"
    "  area_km2, data_coverage                         always\n"
    "  arrivals_total, arrivals_per_km2                 --arrivals\n"
    "  flood_area_share[_SCENARIO]                      --sea (one set per band)\n"
    "  arrivals_flooded[_share][_SCENARIO]              --sea, --arrivals\n"
    "  informal_area_share, informal_flooded_share, arrivals_informal\n"
    "  water_stress_mean, water_stress_arrivals, arrivals_high_water_stress (b >= 3)\n"
    "  arrivals_compound[_SCENARIO]     arrivals where d > 0, v >= 0.5 and b >= 3\n"
    "  water_uplift_mean               --population (or the exposure's water_uplift)\n"
    "  score_mean, score_p90, score_arrivals, score_class, score_rank   --exposure\n"
    "  NAME_STAT                       each -r raster and --stats statistic\n"
    "Statistics of -r rasters: count (sum of f), sum, mean, min, max, stdev, median,\n"
    "quantile(q), majority, frac(t) (share of the valid area with value >= t),\n"
    "weighted_mean(NAME) (weights from another raster). Default count,sum,mean.\n"
    "Rasters are read onto the grid of --exposure (else the first raster given);\n"
    "zones in any CRS are reprojected to it; invalid polygons are repaired with a\n"
    "warning; zones without geometry or data get nulls, never a made-up 0.\n"
    "\n"
    "Output: GeoJSON per RFC 7946 (WGS 84, 7 decimals; -o - writes it to stdout), or\n"
    "any OGR format with -of (GPKG, FlatGeobuf, CSV without geometry, \"ESRI\n"
    "Shapefile\" with field names shortened to 10 characters, listed by --json).",
    "  cityrisk zonal --zones samples/data/neighbourhoods.gpkg --exposure exposure.tif \\\n"
    "      --arrivals arrivals.tif --sea inundation.tif --water samples/data/water_stress.tif \\\n"
    "      --informal samples/data/settlement.tif -o neighbourhoods.geojson\n"
    "  cityrisk zonal --zones wards.shp -r pop=worldpop.tif -r dem=dem.tif \\\n"
    "      --stats sum,mean,median,quantile(0.9),weighted_mean(pop) -of GPKG -o wards.gpkg",
};

static json_object *number_or_null(double v)
{
    return cr_json_number(v, 10);
}

static json_object *summary_json(const char *out, const cr_zonal_summary *s)
{
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "output", json_object_new_string(out));
    json_object_object_add(doc, "format", json_object_new_string(s->driver));
    json_object_object_add(doc, "zones", json_object_new_int64(s->zones));
    json_object_object_add(doc, "zones_repaired", json_object_new_int64(s->zones_repaired));
    json_object_object_add(doc, "zones_empty", json_object_new_int64(s->zones_empty));
    json_object_object_add(doc, "zones_without_data", json_object_new_int64(s->zones_without_data));
    json_object_object_add(doc, "columns", json_object_new_int(s->columns));
    json_object *totals = json_object_new_object();
    if (!isnan(s->arrivals_total))
        json_object_object_add(totals, "arrivals_total", number_or_null(s->arrivals_total));
    if (!isnan(s->arrivals_informal))
        json_object_object_add(totals, "arrivals_informal", number_or_null(s->arrivals_informal));
    if (!isnan(s->arrivals_high_water_stress))
        json_object_object_add(totals, "arrivals_high_water_stress",
                               number_or_null(s->arrivals_high_water_stress));
    for (int k = 0; k < s->scenarios; k++) {
        char name[128];
        const char *scen = s->scenario_suffix[k];
        if (!isnan(s->arrivals_flooded[k])) {
            snprintf(name, sizeof name, "arrivals_flooded%s", scen);
            json_object_object_add(totals, name, number_or_null(s->arrivals_flooded[k]));
        }
        if (!isnan(s->arrivals_compound[k])) {
            snprintf(name, sizeof name, "arrivals_compound%s", scen);
            json_object_object_add(totals, name, number_or_null(s->arrivals_compound[k]));
        }
    }
    json_object_object_add(doc, "totals", totals);
    json_object *scen = json_object_new_array();
    for (int k = 0; k < s->scenarios; k++)
        json_object_array_add(scen, json_object_new_string(s->scenario[k]));
    json_object_object_add(doc, "scenarios", scen);
    if (s->class_count > 0) {
        json_object *classes = json_object_new_object(), *breaks = json_object_new_array();
        json_object_object_add(classes, "scheme", json_object_new_string(s->class_scheme));
        for (int k = 0; k < s->class_count - 1; k++)
            json_object_array_add(breaks, cr_json_number(s->breaks[k], 10));
        json_object_object_add(classes, "breaks", breaks);
        json_object_object_add(doc, "classes", classes);
    }
    json_object *renamed = json_object_new_object();
    for (char **r = s->renamed; r && *r; r++) {
        char *key = NULL;
        const char *value = CPLParseNameValue(*r, &key);
        if (key)
            json_object_object_add(renamed, key, json_object_new_string(value));
        CPLFree(key);
    }
    json_object_object_add(doc, "renamed_fields", renamed);
    json_object_object_add(doc, "tiles_read", json_object_new_int(s->tiles_read));
    json_object_object_add(doc, "grid", cr_grid_to_json(s->grid));
    return doc;
}

/* Parses the -r and --stats options into o; 0 on a usage error (printed). */
static int parse_rasters_and_stats(cr_ctx *ctx, char **rasters, const char *stats,
                                   const char *classes, cr_zonal_opts *o,
                                   cr_zonal_raster **list, char ***storage, cr_stat **parsed)
{
    int n = CSLCount(rasters);
    *list = calloc((size_t)(n ? n : 1), sizeof **list);
    *storage = calloc((size_t)n + 1, sizeof **storage);
    if (!*list || !*storage) {
        cli_usage_error(&USAGE, "out of memory");
        return 0;
    }
    for (int i = 0; i < n; i++)
        if (cr_zonal_raster_parse(ctx, rasters[i], &(*list)[i], &(*storage)[i]) != CR_OK) {
            cli_usage_error(&USAGE, "%s", cr_ctx_error(ctx));
            return 0;
        }
    o->rasters = *list;
    o->nrasters = n;
    if (cr_stats_parse(ctx, stats ? stats : "count,sum,mean", parsed, &o->nstats) != CR_OK) {
        cli_usage_error(&USAGE, "%s", cr_ctx_error(ctx));
        return 0;
    }
    o->stats = *parsed;
    if (classes) {
        if (cr_classes_parse(ctx, classes, &o->classes) != CR_OK) {
            cli_usage_error(&USAGE, "%s", cr_ctx_error(ctx));
            return 0;
        }
        o->classes_given = 1;
    }
    return 1;
}

int cli_cmd_zonal(int argc, char **argv)
{
    cr_zonal_opts o;
    cr_zonal_opts_init(&o);
    const char *out = NULL, *stats = NULL, *classes = NULL;
    char **rasters = NULL;
    int json = 0, qml = 0;
    const cli_option options[] = {
        {NULL, "--zones", CLI_OPT_STRING, &o.zones_path, "FILE", "neighbourhood polygons (any OGR format, any CRS)"},
        {NULL, "--layer", CLI_OPT_STRING, &o.layer, "NAME", "the zones' layer (default: the first)"},
        {NULL, "--id-field", CLI_OPT_STRING, &o.id_field, "FIELD", "names zones in messages"},
        {NULL, "--name-field", CLI_OPT_STRING, &o.name_field, "FIELD", "names zones in messages"},
        {NULL, "--exposure", CLI_OPT_STRING, &o.exposure_path, "FILE", "cityrisk score output: score_* properties"},
        {NULL, "--arrivals", CLI_OPT_STRING, &o.arrivals_path, "FILE", "arrivals per cell (cityrisk arrivals)"},
        {NULL, "--sea", CLI_OPT_STRING, &o.sea_path, "FILE", "inundation depth (m); each band a scenario"},
        {NULL, "--water", CLI_OPT_STRING, &o.water_path, "FILE", "Aqueduct water-stress score 0-5"},
        {NULL, "--informal", CLI_OPT_STRING, &o.informal_path, "FILE", "informal-settlement fraction 0-1"},
        {NULL, "--population", CLI_OPT_STRING, &o.population_path, "FILE", "residents per cell: water_uplift_mean"},
        {NULL, "--demand-share", CLI_OPT_DOUBLE, &o.demand_share, "S", "share of water demand growing with residents (1)"},
        {"-r", "--raster", CLI_OPT_LIST, &rasters, "NAME=FILE[:BAND]", "another raster, repeatable: NAME_STAT columns"},
        {NULL, "--stats", CLI_OPT_STRING, &stats, "LIST", "statistics of -r rasters (count,sum,mean)"},
        {NULL, "--classes", CLI_OPT_STRING, &classes, "SPEC", "classes of score_mean (default: the exposure's)"},
        {"-o", "--output", CLI_OPT_STRING, &out, "FILE", "output vector, or - for GeoJSON on stdout"},
        {"-of", "--format", CLI_OPT_STRING, &o.format, "FORMAT", "OGR driver (default GeoJSON)"},
        {"-lco", "--layer-creation-option", CLI_OPT_LIST, &o.layer_options, "NAME=VALUE", "OGR layer creation option"},
        {NULL, "--overwrite", CLI_OPT_FLAG, &o.overwrite, NULL, "replace an existing output"},
        {NULL, "--json", CLI_OPT_FLAG, &json, NULL, "print a summary as JSON on stdout"},
        {NULL, "--qml", CLI_OPT_FLAG, &qml, NULL, "also write a QGIS style beside the output (NAME.qml)"},
        {NULL, NULL, CLI_OPT_END, NULL, NULL, NULL},
    };
    cli_common common;
    int rc = CLI_EXIT_USAGE;
    cr_ctx *ctx = NULL;
    char *style_path = NULL;
    cr_zonal_summary s;
    memset(&s, 0, sizeof s);
    cr_zonal_raster *list = NULL;
    char **storage = NULL;
    cr_stat *parsed = NULL;
    int parsed_rc = cli_parse_options(&USAGE, options, argc, argv, &common);
    if (parsed_rc >= 0) {
        rc = parsed_rc;
        goto out;
    }
    if (!o.zones_path || !out) {
        cli_usage_error(&USAGE, "--zones and -o are required");
        goto out;
    }
    int to_stdout = strcmp(out, "-") == 0;
    if (to_stdout && json) {
        cli_usage_error(&USAGE, "--json prints on stdout, where -o - writes the GeoJSON: give one");
        goto out;
    }
    if (to_stdout && qml) {
        cli_usage_error(&USAGE, "--qml writes a file beside the output: not with -o -");
        goto out;
    }
    if (to_stdout)
        common.quiet = 1; /* stderr stays for errors; no progress bar over a pipe's output */
    ctx = cli_context(&USAGE, &common, argc, argv);
    if (!ctx) {
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    if (!parse_rasters_and_stats(ctx, rasters, stats, classes, &o, &list, &storage, &parsed))
        goto out;
    /* The style is checked with the output, against the inputs, before any work. */
    cr_status st = qml ? cr_qml_path(ctx, out, &style_path) : CR_OK;
    if (st != CR_OK) {
        rc = cli_fail(&USAGE, ctx, st);
        goto out;
    }
    const char *styles[] = {style_path, NULL};
    o.styles = styles;
    st = cr_zonal(ctx, out, &o, &s);
    cr_qml_opts qo;
    cr_qml_opts_init(&qo);
    qo.overwrite = o.overwrite;
    qo.classes_from = o.exposure_path; /* the class names and colours of the exposure */
    qo.renamed = s.renamed;
    if (st == CR_OK && s.class_count >= 2 && !isnan(s.breaks[0])) {
        qo.class_count = s.class_count;
        memcpy(qo.breaks, s.breaks, sizeof(double) * (size_t)(s.class_count - 1));
    }
    cr_qml_info style;
    memset(&style, 0, sizeof style);
    if (st != CR_OK) {
        rc = cli_fail(&USAGE, ctx, st);
    } else if (to_stdout) {
        rc = cli_finish_stdout(&USAGE);
    } else if (qml && (st = cr_qml_write(ctx, out, CR_QML_ZONES, &qo, &style)) != CR_OK) {
        cli_fail(&USAGE, ctx, st);
        rc = CLI_EXIT_FAILURE; /* the output is written; its style is not */
    } else if (json) {
        json_object *doc = summary_json(out, &s);
        if (qml)
            json_object_object_add(doc, "qml", json_object_new_string(style.path));
        rc = cli_print_json(&USAGE, doc);
        json_object_put(doc);
    } else {
        if (!common.quiet)
            fprintf(stderr,
                    "cityrisk zonal: %" PRId64 " zones (%" PRId64 " repaired, %" PRId64
                    " without data), %d properties added, written to %s\n",
                    s.zones, s.zones_repaired, s.zones_without_data, s.columns, out);
        if (qml && !common.quiet)
            fprintf(stderr, "cityrisk zonal: QGIS style written to %s (graduated on %s)\n", style.path,
                    style.field[0] ? style.field : "nothing: outlines");
        rc = CLI_EXIT_OK;
    }
out:
    free(style_path);
    cr_zonal_summary_clear(&s);
    cr_ctx_free(ctx);
    free(parsed);
    for (char **p = storage; p && *p; p++)
        free(*p);
    free(storage);
    free(list);
    CSLDestroy(rasters);
    CSLDestroy(o.layer_options);
    return rc;
}
