/* inundation.c: `cityrisk inundation`: sea-level inundation depths from a DEM. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>

#include "cityrisk/inundation.h"
#include "cityrisk/json.h"
#include "cityrisk/number.h"
#include "cityrisk/qml.h"
#include "cli.h"

static const cli_usage USAGE = {
    "inundation",
    "--dem DEM -o OUT.tif (--sea-level M[,M...] | --scenario NAME[,NAME...]) [options]\n"
    "       cityrisk inundation --list-scenarios [--json]",
    "Water depth under sea-level rise, one band per level. The water level is\n"
    "W = sea-level rise + tide + surge - datum offset (metres). A cell is inundated when\n"
    "its elevation is below W and it is joined to the sea through cells that are all\n"
    "below W: 8 neighbours by default, because water passes between diagonal cells as\n"
    "it does in GRASS r.lake and NOAA's method; 4 is stricter; 'none' is the plain\n"
    "bathtub, flooding every cell below W. The sea is --sea (polygons, or a raster whose\n"
    "non-zero cells are sea) or, by default, the cells with DEM nodata or elevation at\n"
    "or below 0 that are joined to the raster edge. Output (Float32 COG on the DEM's\n"
    "grid, or --grid's): depth W - elevation in metres where inundated, 0 on dry land,\n"
    "nodata on the sea and where the DEM has none. The DEM dominates the result:\n"
    "SRTM-class DEMs overstate coastal elevation by about 2 m on average (Kulp & Strauss\n"
    "2019); use a lidar or coastal DEM where there is one. Memory does not grow with\n"
    "the DEM: three streaming passes over tiles of --tile-size cells.",
    "  cityrisk inundation --dem samples/data/dem.tif --scenario ssp245-2100,ssp585-2100-p83 \\\n"
    "      --tide 0.9 -o inundation.tif\n"
    "  cityrisk inundation --dem dem.tif --sea-level 0.5,1,2 --connectivity 4 --json -o flood.tif\n"
    "  cityrisk inundation --list-scenarios",
};

/* Splits a comma-separated list into levels. The names point into the token list,
 * which is handed to *keep for the caller to free with CSLDestroy(). */
static int add_levels(cr_ctx *ctx, const char *list, int scenarios, cr_sea_level **levels,
                      int *count, char ***keep)
{
    char **items = CSLTokenizeString2(list, ",", CSLT_STRIPLEADSPACES | CSLT_STRIPENDSPACES |
                                                     CSLT_ALLOWEMPTYTOKENS);
    int ok = CSLCount(items) > 0;
    for (int i = 0; ok && items[i]; i++) {
        cr_sea_level *grown = realloc(*levels, sizeof *grown * (size_t)(*count + 1));
        if (!grown) {
            ok = 0;
            break;
        }
        *levels = grown;
        cr_sea_level *l = &(*levels)[(*count)++];
        l->name = NULL;
        if (scenarios) {
            l->name = items[i];
            if (!*items[i]) {
                cli_usage_error(&USAGE, "--scenario has an empty name in '%s'", list);
                CSLDestroy(items);
                return 0;
            }
            if (cr_scenario_resolve(ctx, items[i], &l->rise_m) != CR_OK) {
                cli_usage_error(&USAGE, "%s", cr_ctx_error(ctx));
                CSLDestroy(items);
                return 0;
            }
            continue;
        }
        if (!cr_number_finite(items[i], &l->rise_m) || l->rise_m < 0) {
            cli_usage_error(&USAGE, "--sea-level wants non-negative numbers of metres, not '%s'", items[i]);
            CSLDestroy(items);
            return 0;
        }
    }
    if (!ok) {
        cli_usage_error(&USAGE, "%s wants a comma-separated list", scenarios ? "--scenario" : "--sea-level");
        CSLDestroy(items);
        return 0;
    }
    *keep = items;
    return 1;
}

static int list_scenarios(int json)
{
    if (json) {
        json_object *a = json_object_new_array();
        for (int i = 0; i < cr_scenario_count(); i++) {
            const cr_scenario *s = cr_scenario_get(i);
            json_object *o = json_object_new_object();
            json_object_object_add(o, "name", json_object_new_string(s->name));
            json_object_object_add(o, "label", json_object_new_string(s->label));
            json_object_object_add(o, "sea_level_rise_m", cr_json_number(s->median_m, 6));
            json_object_object_add(o, "p17_m", cr_json_number(s->p17_m, 6));
            json_object_object_add(o, "p83_m", cr_json_number(s->p83_m, 6));
            json_object_object_add(o, "source", json_object_new_string(cr_scenario_source()));
            json_object_array_add(a, o);
        }
        int rc = cli_print_json(&USAGE, a);
        json_object_put(a);
        return rc;
    }
    printf("Sea-level scenarios: %s.\n", cr_scenario_source());
    printf("Use NAME for the median, NAME-p17 / NAME-p83 for the likely range.\n\n");
    printf("%-14s %8s %17s  %s\n", "name", "median", "likely range", "scenario");
    for (int i = 0; i < cr_scenario_count(); i++) {
        const cr_scenario *s = cr_scenario_get(i);
        if (isnan(s->p17_m))
            printf("%-14s %6.2f m %17s  %s\n", s->name, s->median_m, "-", s->label);
        else
            printf("%-14s %6.2f m  %5.2f - %5.2f m  %s\n", s->name, s->median_m, s->p17_m,
                   s->p83_m, s->label);
    }
    return cli_finish_stdout(&USAGE);
}

static json_object *summary(const char *out, const cr_inundation_opts *o,
                            const cr_inundation_stats *stats, int64_t sea_cells)
{
    json_object *doc = json_object_new_object(), *list = json_object_new_array();
    json_object_object_add(doc, "output", json_object_new_string(out));
    json_object_object_add(doc, "sea_cells", json_object_new_int64(sea_cells));
    for (int k = 0; k < o->level_count; k++) {
        json_object *s = json_object_new_object();
        json_object_object_add(s, "name", o->levels[k].name ? json_object_new_string(o->levels[k].name) : NULL);
        json_object_object_add(s, "sea_level_rise_m", cr_json_number(o->levels[k].rise_m, 10));
        json_object_object_add(s, "water_level_m", cr_json_number(stats[k].water_level_m, 10));
        json_object_object_add(s, "inundated_cells", json_object_new_int64(stats[k].inundated_cells));
        json_object_object_add(s, "inundated_area_m2", cr_json_number(stats[k].inundated_area_m2, 12));
        json_object_object_add(s, "max_depth_m", cr_json_number(stats[k].max_depth_m, 6));
        json_object_array_add(list, s);
    }
    json_object_object_add(doc, "scenarios", list);
    return doc;
}

static void print_summary(const cr_inundation_opts *o, const cr_inundation_stats *stats, int64_t sea_cells)
{
    fprintf(stderr, "cityrisk inundation: %lld sea cells\n", (long long)sea_cells);
    for (int k = 0; k < o->level_count; k++) {
        char name[64];
        if (o->levels[k].name)
            snprintf(name, sizeof name, "%s", o->levels[k].name);
        else
            snprintf(name, sizeof name, "sea-level %g m", o->levels[k].rise_m);
        char w[32], depth[32];
        fprintf(stderr, "cityrisk inundation: %s, W=%s m: %lld cells inundated (%.3f km2), max depth %s m\n",
                name, cr_number_fixed(stats[k].water_level_m, 3, w, sizeof w),
                (long long)stats[k].inundated_cells, stats[k].inundated_area_m2 / 1e6,
                cr_number_fixed(stats[k].max_depth_m, 2, depth, sizeof depth));
    }
}

/* Parses --connectivity and --dem-unit into the options; 0 on a usage error. */
static int parse_choices(const char *connectivity, const char *dem_unit, cr_inundation_opts *o)
{
    if (connectivity) {
        if (strcmp(connectivity, "8") == 0)
            o->connectivity = 8;
        else if (strcmp(connectivity, "4") == 0)
            o->connectivity = 4;
        else if (strcmp(connectivity, "none") == 0)
            o->connectivity = 0;
        else {
            cli_usage_error(&USAGE, "--connectivity wants 8, 4 or none, not '%s'", connectivity);
            return 0;
        }
    }
    if (dem_unit) {
        if (strcmp(dem_unit, "m") == 0)
            o->dem_to_m = 1.0;
        else if (strcmp(dem_unit, "ft") == 0)
            o->dem_to_m = 0.3048;
        else if (strcmp(dem_unit, "us-ft") == 0)
            o->dem_to_m = 1200.0 / 3937.0;
        else {
            cli_usage_error(&USAGE, "--dem-unit wants m, ft or us-ft, not '%s'", dem_unit);
            return 0;
        }
    }
    return 1;
}

int cli_cmd_inundation(int argc, char **argv)
{
    const char *dem = NULL, *out = NULL, *sea_levels = NULL, *scenarios = NULL, *sea = NULL,
               *grid = NULL, *connectivity = NULL, *dem_unit = NULL;
    int json = 0, list = 0, overwrite = 0, qml = 0, tile = CR_INUNDATION_DEFAULT_TILE;
    double tide = 0, surge = 0, datum = 0;
    char **co = NULL;
    const cli_option options[] = {
        {NULL, "--dem", CLI_OPT_STRING, &dem, "DEM", "elevation raster (any GDAL format, any CRS)"},
        {"-o", "--output", CLI_OPT_STRING, &out, "FILE", "output COG"},
        {NULL, "--sea-level", CLI_OPT_STRING, &sea_levels, "M[,M...]", "sea-level rise in metres, one band each (at most 1000)"},
        {NULL, "--scenario", CLI_OPT_STRING, &scenarios, "NAME[,...]", "IPCC AR6 presets (see --list-scenarios)"},
        {NULL, "--tide", CLI_OPT_DOUBLE, &tide, "M", "tide, e.g. MHHW above the DEM's datum (default 0)"},
        {NULL, "--surge", CLI_OPT_DOUBLE, &surge, "M", "storm surge (default 0)"},
        {NULL, "--datum-offset", CLI_OPT_DOUBLE, &datum, "M", "subtracted from the water level (default 0)"},
        {NULL, "--connectivity", CLI_OPT_STRING, &connectivity, "8|4|none", "how water joins cells (default 8)"},
        {NULL, "--sea", CLI_OPT_STRING, &sea, "FILE", "sea polygons or raster mask (default: from the DEM)"},
        {NULL, "--grid", CLI_OPT_STRING, &grid, "REF", "write on this raster's grid (default: the DEM's)"},
        {NULL, "--dem-unit", CLI_OPT_STRING, &dem_unit, "m|ft|us-ft", "DEM vertical unit (default: the band's unit, else m)"},
        {NULL, "--tile-size", CLI_OPT_INT, &tile, "N", "tile side of the streaming passes (default 512)"},
        {NULL, "--overwrite", CLI_OPT_FLAG, &overwrite, NULL, "replace an existing output"},
        {"-co", "--creation-option", CLI_OPT_LIST, &co, "NAME=VALUE", "COG creation option"},
        {NULL, "--json", CLI_OPT_FLAG, &json, NULL, "print a summary as JSON on stdout"},
        {NULL, "--list-scenarios", CLI_OPT_FLAG, &list, NULL, "print the scenario presets and exit"},
        {NULL, "--qml", CLI_OPT_FLAG, &qml, NULL, "also write a QGIS style beside the output (NAME.qml)"},
        {NULL, NULL, CLI_OPT_END, NULL, NULL, NULL},
    };
    cli_common common;
    char **rest = NULL, **keep = NULL;
    int nrest = 0, rc = CLI_EXIT_USAGE;
    cr_sea_level *levels = NULL;
    cr_ctx *ctx = NULL;
    char *style_path = NULL;
    int parsed = cli_parse(&USAGE, options, argc, argv, &common, &rest, &nrest);
    if (parsed != 0) {
        rc = parsed > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
        goto out;
    }
    if (list) {
        rc = list_scenarios(json);
        goto out;
    }
    cr_inundation_opts o;
    cr_inundation_opts_init(&o);
    if (nrest > 0) {
        cli_usage_error(&USAGE, "unexpected argument '%s'", rest[0]);
        goto out;
    }
    if (!dem || !out) {
        cli_usage_error(&USAGE, "--dem and -o are required");
        goto out;
    }
    if (!sea_levels == !scenarios) {
        cli_usage_error(&USAGE, "give either --sea-level or --scenario");
        goto out;
    }
    if (!parse_choices(connectivity, dem_unit, &o))
        goto out;
    ctx = cli_context(&USAGE, &common, argc, argv);
    if (!ctx) {
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    int count = 0;
    if (!add_levels(ctx, scenarios ? scenarios : sea_levels, scenarios != NULL, &levels, &count, &keep))
        goto out;
    o.levels = levels;
    o.level_count = count;
    o.tide_m = tide, o.surge_m = surge, o.datum_offset_m = datum;
    o.sea_path = sea, o.grid_path = grid, o.tile = tile;
    o.overwrite = overwrite, o.creation_options = co;
    /* The style is checked with the output, against the inputs, before any work. */
    cr_status st = qml ? cr_qml_path(ctx, out, &style_path) : CR_OK;
    if (st != CR_OK) {
        rc = cli_fail(&USAGE, ctx, st);
        goto out;
    }
    const char *styles[] = {style_path, NULL};
    o.styles = styles;
    cr_inundation_stats *stats = calloc((size_t)count, sizeof *stats);
    if (!stats) {
        cli_remember_error("out of memory");
        fprintf(stderr, "cityrisk inundation: %s\n", cli_last_error());
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    int64_t sea_cells = 0;
    st = cr_inundation(ctx, dem, out, &o, stats, &sea_cells);
    cr_qml_opts qo;
    cr_qml_opts_init(&qo);
    qo.overwrite = overwrite;
    qo.ramp_max = 0; /* one ramp for every scenario's band: to the deepest cell of any */
    for (int k = 0; st == CR_OK && k < count; k++)
        qo.ramp_max = fmax(qo.ramp_max, stats[k].max_depth_m);
    cr_qml_info style;
    memset(&style, 0, sizeof style);
    if (st != CR_OK) {
        rc = cli_fail(&USAGE, ctx, st);
    } else if (qml && (st = cr_qml_write(ctx, out, CR_QML_INUNDATION, &qo, &style)) != CR_OK) {
        cli_fail(&USAGE, ctx, st);
        rc = CLI_EXIT_FAILURE; /* the output is written; its style is not */
    } else if (json) {
        json_object *doc = summary(out, &o, stats, sea_cells);
        if (qml)
            json_object_object_add(doc, "qml", json_object_new_string(style.path));
        rc = cli_print_json(&USAGE, doc);
        json_object_put(doc);
    } else {
        if (!common.quiet)
            print_summary(&o, stats, sea_cells);
        if (qml && !common.quiet)
            fprintf(stderr, "cityrisk inundation: QGIS style written to %s\n", style.path);
        rc = CLI_EXIT_OK;
    }
    free(stats);
out:
    free(style_path);
    cr_ctx_free(ctx);
    free(levels);
    CSLDestroy(keep);
    CSLDestroy(co);
    free(rest);
    return rc;
}
