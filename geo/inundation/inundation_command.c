/* inundation_command.c: `cityrisk inundation` in the command table: its arguments, the
 * levels they give, its QGIS style, its summary as JSON and as text, and the list of
 * scenario presets. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>

#include "cityrisk/command.h"
#include "cityrisk/inundation.h"
#include "cityrisk/json.h"
#include "cityrisk/number.h"

/* The options of the command: the library's, and what the command line says otherwise. */
typedef struct inundation_args {
    cr_command_base base;
    cr_inundation_opts o;
    const char *dem;
    const char *sea_levels;      /* --sea-level as written */
    const char *scenarios;       /* --scenario as written */
    int list;                    /* --list-scenarios */
    cr_sea_level *levels;        /* the levels they give */
    char **names;                /* the scenario names the levels point into (CSL) */
    cr_inundation_stats *stats;  /* per level, from the run */
    int64_t sea_cells;
} inundation_args;

static void init(void *opts)
{
    cr_inundation_opts_init(&((inundation_args *)opts)->o);
}

static void clear(void *opts)
{
    inundation_args *a = opts;
    free(a->levels);
    CSLDestroy(a->names);
    free(a->stats);
}

static cr_status parse_connectivity(cr_ctx *ctx, const char *text, void *dest)
{
    return cr_connectivity_parse(ctx, text, dest);
}

static cr_status parse_dem_unit(cr_ctx *ctx, const char *text, void *dest)
{
    return cr_dem_unit_parse(ctx, text, dest);
}

static const cr_arg ARGS[] = {
    CR_OPT_INPUT("dem", inundation_args, dem, "DEM", "elevation raster (any GDAL format, any CRS)"),
    CR_OPT__OUTPUT("output COG"),
    CR_OPT_STRING("sea-level", NULL, inundation_args, sea_levels, "M[,M...]",
                  "sea-level rise in metres, one band each (at most 1000)"),
    CR_OPT_STRING("scenario", NULL, inundation_args, scenarios, "NAME[,...]", "IPCC AR6 presets (see --list-scenarios)"),
    CR_OPT_DOUBLE("tide", inundation_args, o.tide_m, "M", "tide, e.g. MHHW above the DEM's datum (default 0)"),
    CR_OPT_DOUBLE("surge", inundation_args, o.surge_m, "M", "storm surge (default 0)"),
    CR_OPT_DOUBLE("datum-offset", inundation_args, o.datum_offset_m, "M", "subtracted from the water level (default 0)"),
    CR_OPT_CHOICE_PARSED("connectivity", NULL, inundation_args, o.connectivity, "8|4|none", cr_connectivity_names,
                         parse_connectivity, "how water joins cells (default 8)"),
    CR_OPT_INPUT("sea", inundation_args, o.sea_path, "FILE", "sea polygons or raster mask (default: from the DEM)"),
    CR_OPT__GRID("write on this raster's grid (default: the DEM's)",
                 "grid extent in --crs (default: the DEM's, reprojected as gdalwarp does)"),
    CR_OPT_CHOICE_PARSED("dem-unit", NULL, inundation_args, o.dem_to_m, "m|ft|us-ft", cr_dem_unit_names,
                         parse_dem_unit, "DEM vertical unit (default: the band's unit, else m)"),
    CR_OPT_INT("tile-size", inundation_args, o.tile, "N", "tile side of the streaming passes (default 512)"),
    CR_OPT__OVERWRITE,
    CR_OPT__CREATION_OPTION,
    CR_OPT__JSON,
    CR_OPT_FLAG("list-scenarios", inundation_args, list, "print the scenario presets and exit"),
    CR_OPT__QML,
    CR_OPT_END,
};

/* Adds the levels of a comma-separated list: scenario names, or metres of rise. The names
 * point into the words, kept in a->names. */
static cr_status add_levels(cr_ctx *ctx, inundation_args *a, const char *list, int scenarios)
{
    a->names = CSLTokenizeString2(list, ",", CSLT_STRIPLEADSPACES | CSLT_STRIPENDSPACES | CSLT_ALLOWEMPTYTOKENS);
    int count = CSLCount(a->names);
    a->levels = count > 0 ? calloc((size_t)count, sizeof *a->levels) : NULL;
    if (!a->levels)
        return cr_ctx_fail(ctx, CR_E_USAGE, "%s wants a comma-separated list",
                           scenarios ? "--scenario" : "--sea-level");
    for (int i = 0; i < count; i++) {
        cr_sea_level *l = &a->levels[i];
        const char *item = a->names[i];
        if (scenarios && !*item)
            return cr_ctx_fail(ctx, CR_E_USAGE, "--scenario has an empty name in '%s'", list);
        if (scenarios) {
            l->name = item;
            cr_status st = cr_scenario_resolve(ctx, item, &l->rise_m);
            if (st != CR_OK)
                return st;
        } else if (!cr_number_finite(item, &l->rise_m) || l->rise_m < 0) {
            return cr_ctx_fail(ctx, CR_E_USAGE, "--sea-level wants non-negative numbers of metres, not '%s'", item);
        } else { /* named as its band will be: "sl0.50" */
            char name[32];
            cr_sea_level_name(l->rise_m, name, sizeof name);
            CPLFree(a->names[i]);
            l->name = a->names[i] = CPLStrdup(name);
        }
    }
    a->o.levels = a->levels;
    a->o.level_count = count;
    return CR_OK;
}

static cr_status check(cr_ctx *ctx, void *opts)
{
    inundation_args *a = opts;
    if (a->list) {
        a->base.qml = 0; /* nothing is written */
        return CR_OK;
    }
    if (!a->dem || !a->base.output)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--dem and -o are required");
    if (!a->sea_levels == !a->scenarios)
        return cr_ctx_fail(ctx, CR_E_USAGE, "give either --sea-level or --scenario");
    return add_levels(ctx, a, a->scenarios ? a->scenarios : a->sea_levels, a->scenarios != NULL);
}

static cr_status run(cr_ctx *ctx, void *opts, const cr_command_call *call, cr_command_result *result)
{
    (void)call, (void)result;
    inundation_args *a = opts;
    if (a->list)
        return CR_OK;
    a->o.overwrite = a->base.overwrite;
    a->o.creation_options = a->base.creation_options;
    a->o.styles = a->base.styles;
    a->o.grid = a->base.grid;
    a->stats = calloc((size_t)a->o.level_count, sizeof *a->stats);
    if (!a->stats)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    return cr_inundation(ctx, a->dem, a->base.output, &a->o, a->stats, &a->sea_cells);
}

static cr_qml_style style(const void *opts, cr_qml_opts *qml)
{
    const inundation_args *a = opts;
    qml->ramp_max = 0; /* one ramp for every scenario's band: to the deepest cell of any */
    for (int k = 0; k < a->o.level_count; k++)
        qml->ramp_max = fmax(qml->ramp_max, a->stats[k].max_depth_m);
    return CR_QML_INUNDATION;
}

static json_object *scenarios_json(void)
{
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
    return a;
}

static void scenarios_text(FILE *out)
{
    fprintf(out, "Sea-level scenarios: %s.\n", cr_scenario_source());
    fprintf(out, "Use NAME for the median, NAME-p17 / NAME-p83 for the likely range.\n\n");
    fprintf(out, "%-14s %8s %17s  %s\n", "name", "median", "likely range", "scenario");
    for (int i = 0; i < cr_scenario_count(); i++) {
        const cr_scenario *s = cr_scenario_get(i);
        if (isnan(s->p17_m))
            fprintf(out, "%-14s %6.2f m %17s  %s\n", s->name, s->median_m, "-", s->label);
        else
            fprintf(out, "%-14s %6.2f m  %5.2f - %5.2f m  %s\n", s->name, s->median_m, s->p17_m, s->p83_m,
                    s->label);
    }
}

static json_object *summary_json(const char *out, const cr_inundation_opts *o, const cr_inundation_stats *stats,
                                 int64_t sea_cells)
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

static void summary_text(FILE *out, const cr_inundation_opts *o, const cr_inundation_stats *stats,
                         int64_t sea_cells)
{
    fprintf(out, "%lld sea cells\n", (long long)sea_cells);
    for (int k = 0; k < o->level_count; k++) {
        char w[32], depth[32];
        fprintf(out, "%s, W=%s m: %lld cells inundated (%.3f km2), max depth %s m\n", o->levels[k].name,
                cr_number_fixed(stats[k].water_level_m, 3, w, sizeof w), (long long)stats[k].inundated_cells,
                stats[k].inundated_area_m2 / 1e6, cr_number_fixed(stats[k].max_depth_m, 2, depth, sizeof depth));
    }
}

static void summarise(const void *opts, FILE *text, cr_command_result *result)
{
    const inundation_args *a = opts;
    result->is_report = a->list;
    if (a->list && a->base.json)
        result->json = scenarios_json();
    else if (a->list)
        scenarios_text(text);
    else if (a->base.json)
        result->json = summary_json(a->base.output, &a->o, a->stats, a->sea_cells);
    else
        summary_text(text, &a->o, a->stats, a->sea_cells);
}

const cr_command cr_inundation_command = {
    .name = "inundation",
    .summary = "sea-level inundation depth from a DEM, connected to the sea",
    .synopsis = "--dem DEM -o OUT.tif (--sea-level M[,M...] | --scenario NAME[,NAME...])\n"
                "       [--grid REF | --crs CRS --resolution M [--bounds XMIN,YMIN,XMAX,YMAX]] [options]\n"
                "       cityrisk inundation --list-scenarios [--json]",
    .description =
        "Water depth under sea-level rise, one band per level. The water level is\n"
        "W = sea-level rise + tide + surge - datum offset (metres). A cell is inundated when\n"
        "its elevation is below W and it is joined to the sea through cells that are all\n"
        "below W: 8 neighbours by default, because water passes between diagonal cells as\n"
        "it does in GRASS r.lake and NOAA's method; 4 is stricter; 'none' is the plain\n"
        "bathtub, flooding every cell below W. The sea is --sea (polygons, or a raster whose\n"
        "non-zero cells are sea) or, by default, the cells with DEM nodata or elevation at\n"
        "or below 0 that are joined to the raster edge. Output (Float32 COG on the DEM's\n"
        "grid, --grid's, or --crs/--resolution's over --bounds or the DEM's extent):\n"
        "depth W - elevation in metres where inundated, 0 on dry land,\n"
        "nodata on the sea and where the DEM has none. The DEM dominates the result:\n"
        "SRTM-class DEMs overstate coastal elevation by about 2 m on average (Kulp & Strauss\n"
        "2019); use a lidar or coastal DEM where there is one. Memory does not grow with\n"
        "the DEM: three streaming passes over tiles of --tile-size cells.",
    .examples =
        "  cityrisk inundation --dem samples/data/dem.tif --scenario ssp245-2100,ssp585-2100-p83 \\\n"
        "      --tide 0.9 -o inundation.tif\n"
        "  cityrisk inundation --dem dem.tif --sea-level 0.5,1,2 --connectivity 4 --json -o flood.tif\n"
        "  cityrisk inundation --list-scenarios",
    .args = ARGS, .flags = CR_COMMAND_STAGE, .opts_size = sizeof(inundation_args),
    .init = init, .clear = clear, .check = check, .run = run, .style = style, .summarise = summarise,
};
