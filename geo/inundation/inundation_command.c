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
#include "projections.h"

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
    /* local relative sea level (docs/inundation.md "Local sea level") */
    const char *vlm_text;        /* --vlm: a raster or a value */
    int vlm_unit;                /* --vlm-unit: 0 mm/yr, 1 m */
    double years;                /* --years; NAN when not given */
    char **projection_files;     /* --projections, each occurrence (CSL, freed by the table) */
    const char *location;        /* --location */
    char *projections_paths;     /* the files, comma-separated */
    cr_projections *projections; /* what they hold at the location */
    char projections_source[1200];
    char *confidence_path, *probability_path; /* with confidence: the files written */
    char *confidence_style;      /* with --qml and confidence: the classes' style */
    const char **styles;         /* the command's styles and confidence_style */
    /* in parts across machines (docs/inundation.md "In tiles across machines") */
    int phase;                   /* --phase: PHASE_WHOLE, or one of PHASES' index + 1 */
    const char *tile;            /* --tile I/N */
    const char *window;          /* --window XOFF,YOFF,XSIZE,YSIZE */
    char **edge_files;           /* --phase join: the edge files (positional) */
} inundation_args;

/* --phase: the three phases of a run in parts; none given: the whole run. */
static const char *const PHASES[] = {"edges", "join", "depth", NULL};
enum { PHASE_EDGES, PHASE_JOIN, PHASE_DEPTH, PHASE_WHOLE = -1 };

static void init(void *opts)
{
    inundation_args *a = opts;
    cr_inundation_opts_init(&a->o);
    a->years = NAN;
    a->phase = PHASE_WHOLE;
    /* NaN until given: --datum-rmse and --confidence mean nothing without --dem-rmse. */
    a->o.dem_rmse_m = a->o.datum_rmse_m = a->o.confidence = NAN;
}

static void clear(void *opts)
{
    inundation_args *a = opts;
    free(a->levels);
    CSLDestroy(a->names);
    free(a->stats);
    free(a->projections_paths);
    cr_projections_free(a->projections);
    free(a->confidence_path);
    free(a->probability_path);
    free(a->confidence_style);
    free(a->styles);
}

static cr_status parse_connectivity(cr_ctx *ctx, const char *text, void *dest)
{
    return cr_connectivity_parse(ctx, text, dest);
}

static cr_status parse_dem_unit(cr_ctx *ctx, const char *text, void *dest)
{
    return cr_dem_unit_parse(ctx, text, dest);
}

static const char *const VLM_UNITS[] = {"mm/yr", "m", NULL};

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
    CR_OPT_DOUBLE("dem-rmse", inundation_args, o.dem_rmse_m, "M",
                  "vertical RMSE of the DEM: writes the confidence classes and p_inundated"),
    CR_OPT_DOUBLE("datum-rmse", inundation_args, o.datum_rmse_m, "M",
                  "RMSE of the datum transformation, with --dem-rmse (default 0)"),
    CR_OPT_DOUBLE("confidence", inundation_args, o.confidence, "P",
                  "confidence of the classes, 0.5 < P < 1 (default 0.8)"),
    CR_OPT_OUTPUT_FILE("confidence-output", inundation_args, o.confidence_path, "FILE",
                       "the confidence classes (default: <stem>_confidence.tif beside -o)"),
    CR_OPT_OUTPUT_FILE("probability-output", inundation_args, o.probability_path, "FILE",
                       "p_inundated (default: <stem>_p_inundated.tif beside -o)"),
    CR_OPT__OVERWRITE,
    CR_OPT__CREATION_OPTION,
    CR_OPT__JSON,
    CR_OPT_FLAG("list-scenarios", inundation_args, list, "print the scenario presets and exit"),
    /* local relative sea level */
    /* a raster is an input like --dem (resolved, fingerprinted, never an output); a number is not */
    CR_OPT_ROW(CR_ARG_STRING, CR_ROLE_INPUT, CR_ARGF_NUMBER_OR_PATH, "vlm", NULL, inundation_args, vlm_text,
               "RASTER|VALUE", "vertical land motion, subsidence negative, in mm/yr (with --years) or m",
               NULL, NULL),
    CR_OPT_CHOICE("vlm-unit", inundation_args, vlm_unit, "mm/yr|m", VLM_UNITS,
                  "unit of --vlm (default mm/yr)"),
    CR_OPT_DOUBLE("years", inundation_args, years, "N", "years of land motion for --vlm in mm/yr (e.g. 80 for 2020-2100)"),
    /* an input (a pipeline resolves it beside itself and re-runs when it changes); repeatable */
    CR_OPT_ROW(CR_ARG_LIST, CR_ROLE_INPUT, 0, "projections", NULL, inundation_args, projection_files,
               "FILE[,FILE]", "local sea-level projections (CSV or AR6 NetCDF): --scenario picks from them",
               NULL, NULL),
    CR_OPT_STRING("location", NULL, inundation_args, location, "ID",
                  "location id in NetCDF projections (default: the nearest to the DEM's centre)"),
    CR_OPT__QML,
    /* in parts across machines */
    CR_OPT_CHOICE("phase", inundation_args, phase, "edges|join|depth", PHASES,
                  "one phase of a run in parts: edges per part, join once, depth per part"),
    CR_OPT_STRING("tile", NULL, inundation_args, tile, "I/N", "the part: tile I of N (phases edges and depth)"),
    CR_OPT_STRING("window", NULL, inundation_args, window, "XOFF,YOFF,XSIZE,YSIZE",
                  "the part: a window on the 512-cell block grid (phases edges and depth)"),
    CR_OPT_INPUT("join", inundation_args, o.join_path, "FILE", "phase depth: the join file of every part's edges"),
    CR_OPT_ROW(CR_ARG_LIST, CR_ROLE_INPUT, CR_ARGF_POSITIONAL, "edges", NULL, inundation_args, edge_files,
               "EDGES", "phase join: the edge file of every part", NULL, NULL),
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
            cr_status st = a->projections ? cr_projections_resolve(ctx, a->projections, item, &l->rise_m)
                                          : cr_scenario_resolve(ctx, item, &l->rise_m);
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

/* The confidence options: all of them need --dem-rmse, which must make sigma > 0. */
static cr_status check_confidence(cr_ctx *ctx, cr_inundation_opts *o)
{
    int given = !isnan(o->dem_rmse_m);
    const char *needs = !isnan(o->datum_rmse_m) ? "--datum-rmse"
                        : !isnan(o->confidence) ? "--confidence"
                        : o->confidence_path    ? "--confidence-output"
                        : o->probability_path   ? "--probability-output"
                                                : NULL;
    if (!given && needs)
        return cr_ctx_fail(ctx, CR_E_USAGE, "%s needs --dem-rmse (the vertical RMSE of the DEM)", needs);
    if (isnan(o->datum_rmse_m))
        o->datum_rmse_m = 0;
    if (isnan(o->confidence))
        o->confidence = 0.8;
    if (!given) {
        o->dem_rmse_m = 0;
        return CR_OK;
    }
    if (o->dem_rmse_m < 0 || o->datum_rmse_m < 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--%s wants metres, not negative, not %g",
                           o->dem_rmse_m < 0 ? "dem-rmse" : "datum-rmse",
                           o->dem_rmse_m < 0 ? o->dem_rmse_m : o->datum_rmse_m);
    if (!(o->confidence > 0.5 && o->confidence < 1))
        return cr_ctx_fail(ctx, CR_E_USAGE, "--confidence wants a probability between 0.5 and 1 (both "
                           "excluded), not %g", o->confidence);
    if (!cr_inundation_has_confidence(o))
        return cr_ctx_fail(ctx, CR_E_USAGE, "--dem-rmse 0 with no --datum-rmse leaves nothing "
                           "uncertain (sigma = 0): give the DEM's RMSE, or leave the option out");
    return CR_OK;
}

/* --vlm, --vlm-unit and --years into the library's VLM fields. */
static cr_status check_vlm(cr_ctx *ctx, inundation_args *a)
{
    int years = !isnan(a->years);
    if (!a->vlm_text)
        return years ? cr_ctx_fail(ctx, CR_E_USAGE, "--years is for --vlm in mm/yr") : CR_OK;
    if (!cr_number_finite(a->vlm_text, &a->o.vlm))
        a->o.vlm_path = a->vlm_text; /* not a number: a raster */
    if (a->vlm_unit == 1) {
        if (years)
            return cr_ctx_fail(ctx, CR_E_USAGE, "--years is for --vlm in mm/yr, not with --vlm-unit m");
        a->o.vlm_to_m = 1.0;
        return CR_OK;
    }
    if (!years)
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "--vlm in mm/yr needs --years N (the years of motion, e.g. 80 for "
                           "2020-2100), or give metres with --vlm-unit m");
    if (!(a->years > 0))
        return cr_ctx_fail(ctx, CR_E_USAGE, "--years wants a positive number, not %g", a->years);
    a->o.vlm_to_m = a->years / 1000.0;
    a->o.vlm_years = a->years;
    return CR_OK;
}

/* --projections: the files (repeated or comma-separated), read at the DEM's location. */
static cr_status load_projections(cr_ctx *ctx, inundation_args *a)
{
    if (!a->projection_files)
        return CR_OK;
    size_t len = 1;
    for (int i = 0; a->projection_files[i]; i++)
        len += strlen(a->projection_files[i]) + 1;
    if (!(a->projections_paths = calloc(1, len)))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    for (int i = 0; a->projection_files[i]; i++) {
        if (i)
            strcat(a->projections_paths, ",");
        strcat(a->projections_paths, a->projection_files[i]);
    }
    cr_status st = cr_projections_load(ctx, a->projections_paths, a->location, a->dem, &a->projections);
    if (st != CR_OK)
        return st;
    cr_projections_source(a->projections, a->projections_source, sizeof a->projections_source);
    a->o.projections_path = a->projections_paths;
    a->o.projections_source = a->projections_source;
    return CR_OK;
}

/* The options of a run in parts: which phase takes what. */
static cr_status check_phase(cr_ctx *ctx, inundation_args *a)
{
    if (a->edge_files && a->phase != PHASE_JOIN)
        return cr_ctx_fail(ctx, CR_E_USAGE, "'%s': only --phase join takes files without an option (the DEM is --dem)",
                           a->edge_files[0]);
    if (a->phase == PHASE_JOIN) {
        if (a->dem || a->tile || a->window || a->o.join_path)
            return cr_ctx_fail(ctx, CR_E_USAGE, "--phase join takes the edge files and -o only");
        if (!a->edge_files || !a->base.output)
            return cr_ctx_fail(ctx, CR_E_USAGE, "--phase join wants the edge file of every part and -o JOIN_FILE");
        a->base.qml = 0;
        return CR_OK;
    }
    if (a->phase == PHASE_WHOLE && (a->tile || a->window || a->o.join_path))
        return cr_ctx_fail(ctx, CR_E_USAGE, "%s is for a run in parts: give --phase edges or depth",
                           a->tile ? "--tile" : a->window ? "--window" : "--join");
    if (a->phase == PHASE_EDGES && a->o.join_path)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--join is for --phase depth");
    if (a->phase == PHASE_DEPTH && !a->o.join_path)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--phase depth needs --join JOIN_FILE (from --phase join)");
    if (a->phase == PHASE_EDGES)
        a->base.qml = 0; /* the edge file is no raster */
    cr_status st = a->tile ? cr_tile_parse(ctx, a->tile, &a->o.part) : CR_OK;
    if (st == CR_OK && a->window)
        st = cr_tile_parse_window(ctx, a->window, &a->o.part);
    return st;
}

static cr_status check(cr_ctx *ctx, void *opts)
{
    inundation_args *a = opts;
    cr_status phase = a->list ? CR_OK : check_phase(ctx, a);
    if (phase != CR_OK || a->phase == PHASE_JOIN)
        return phase;
    if (a->list) {
        a->base.qml = 0; /* nothing is written */
        return a->location && !a->projection_files
                   ? cr_ctx_fail(ctx, CR_E_USAGE, "--location is for --projections")
                   : CR_OK;
    }
    if (!a->dem || !a->base.output)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--dem and -o are required");
    if (!a->sea_levels == !a->scenarios)
        return cr_ctx_fail(ctx, CR_E_USAGE, "give either --sea-level or --scenario");
    cr_status st = check_confidence(ctx, &a->o);
    if (st == CR_OK)
        st = check_vlm(ctx, a);
    if (st == CR_OK && a->projection_files && !a->scenarios)
        st = cr_ctx_fail(ctx, CR_E_USAGE, "--projections gives the values of --scenario names");
    if (st == CR_OK && a->location && !a->projection_files)
        st = cr_ctx_fail(ctx, CR_E_USAGE, "--location is for --projections");
    if (st != CR_OK || a->projection_files) /* their levels are resolved by run(): GDAL reads
                                              * NetCDF files once its drivers are registered */
        return st;
    return add_levels(ctx, a, a->scenarios ? a->scenarios : a->sea_levels, a->scenarios != NULL);
}

/* With --qml, the style of the classes beside them, checked with every output before any
 * work (the styles list the library checks). */
static cr_status add_confidence_style(cr_ctx *ctx, inundation_args *a)
{
    cr_status st = cr_qml_path(ctx, a->confidence_path, &a->confidence_style);
    int n = 0;
    while (st == CR_OK && a->base.styles[n])
        n++;
    if (st == CR_OK && !(a->styles = calloc((size_t)n + 2, sizeof *a->styles)))
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    for (int i = 0; st == CR_OK && i < n; i++)
        a->styles[i] = a->base.styles[i];
    if (st == CR_OK) {
        a->styles[n] = a->confidence_style;
        a->o.styles = a->styles;
    }
    return st;
}

static cr_status run(cr_ctx *ctx, void *opts, const cr_command_call *call, cr_command_result *result)
{
    (void)call, (void)result;
    inundation_args *a = opts;
    if (a->phase == PHASE_JOIN)
        return cr_inundation_join(ctx, (const char *const *)a->edge_files, CSLCount(a->edge_files),
                                  a->base.output, a->base.overwrite);
    cr_status st = load_projections(ctx, a);
    if (st != CR_OK || a->list)
        return st;
    if (a->projections && (st = add_levels(ctx, a, a->scenarios, 1)) != CR_OK)
        return st;
    a->o.overwrite = a->base.overwrite;
    a->o.creation_options = a->base.creation_options;
    a->o.styles = a->base.styles;
    a->o.grid = a->base.grid;
    a->stats = calloc((size_t)a->o.level_count, sizeof *a->stats);
    if (!a->stats)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    if (a->phase == PHASE_EDGES)
        return cr_inundation_edges(ctx, a->dem, a->base.output, &a->o);
    if (cr_inundation_has_confidence(&a->o)) {
        st = cr_inundation_confidence_paths(ctx, a->base.output, &a->o, &a->confidence_path,
                                            &a->probability_path);
        if (st == CR_OK && a->base.styles && a->base.styles[0])
            st = add_confidence_style(ctx, a);
    }
    if (st == CR_OK)
        st = cr_inundation(ctx, a->dem, a->base.output, &a->o, a->stats, &a->sea_cells);
    /* The classes' style; the depths' is the command's, written after this. */
    if (st == CR_OK && a->confidence_style) {
        cr_qml_opts qo;
        cr_qml_opts_init(&qo);
        qo.overwrite = a->base.overwrite;
        st = cr_qml_write(ctx, a->confidence_path, CR_QML_PALETTED, &qo, NULL);
    }
    return st;
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

/* A level's classes: the levels they come from, cells and areas. */
static json_object *confidence_json(const cr_inundation_stats *s)
{
    json_object *c = json_object_new_object();
    json_object_object_add(c, "low_water_level_m", cr_json_number(s->low_level_m, 10));
    json_object_object_add(c, "high_water_level_m", cr_json_number(s->high_level_m, 10));
    const char *names[] = {"inundated", "possibly_inundated", "dry"};
    int64_t cells[] = {s->confident_cells, s->possible_cells, s->dry_cells};
    double areas[] = {s->confident_area_m2, s->possible_area_m2, s->dry_area_m2};
    for (int i = 0; i < 3; i++) {
        char key[64];
        snprintf(key, sizeof key, "%s_cells", names[i]);
        json_object_object_add(c, key, json_object_new_int64(cells[i]));
        snprintf(key, sizeof key, "%s_area_m2", names[i]);
        json_object_object_add(c, key, cr_json_number(areas[i], 12));
    }
    return c;
}

static json_object *summary_json(const inundation_args *a, const cr_inundation_opts *o,
                                 const cr_inundation_stats *stats, int64_t sea_cells)
{
    json_object *doc = json_object_new_object(), *list = json_object_new_array();
    json_object_object_add(doc, "output", json_object_new_string(a->base.output));
    if (cr_inundation_has_confidence(o)) {
        json_object *c = json_object_new_object();
        json_object_object_add(c, "output", json_object_new_string(a->confidence_path));
        json_object_object_add(c, "probability_output", json_object_new_string(a->probability_path));
        if (a->confidence_style)
            json_object_object_add(c, "qml", json_object_new_string(a->confidence_style));
        json_object_object_add(c, "confidence", cr_json_number(o->confidence, 10));
        json_object_object_add(c, "k", cr_json_number(cr_inundation_confidence_k(o), 12));
        json_object_object_add(c, "dem_rmse_m", cr_json_number(o->dem_rmse_m, 10));
        json_object_object_add(c, "datum_rmse_m", cr_json_number(o->datum_rmse_m, 10));
        json_object_object_add(c, "sigma_m", cr_json_number(hypot(o->dem_rmse_m, o->datum_rmse_m), 10));
        json_object_object_add(doc, "confidence", c);
    }
    json_object_object_add(doc, "sea_cells", json_object_new_int64(sea_cells));
    for (int k = 0; k < o->level_count; k++) {
        json_object *s = json_object_new_object();
        json_object_object_add(s, "name", o->levels[k].name ? json_object_new_string(o->levels[k].name) : NULL);
        json_object_object_add(s, "sea_level_rise_m", cr_json_number(o->levels[k].rise_m, 10));
        json_object_object_add(s, "water_level_m", cr_json_number(stats[k].water_level_m, 10));
        json_object_object_add(s, "inundated_cells", json_object_new_int64(stats[k].inundated_cells));
        json_object_object_add(s, "inundated_area_m2", cr_json_number(stats[k].inundated_area_m2, 12));
        json_object_object_add(s, "max_depth_m", cr_json_number(stats[k].max_depth_m, 6));
        if (cr_inundation_has_confidence(o))
            json_object_object_add(s, "confidence", confidence_json(&stats[k]));
        json_object_array_add(list, s);
    }
    json_object_object_add(doc, "scenarios", list);
    return doc;
}

static void summary_text(FILE *out, const inundation_args *a, const cr_inundation_opts *o,
                         const cr_inundation_stats *stats, int64_t sea_cells)
{
    fprintf(out, "%lld sea cells\n", (long long)sea_cells);
    if (cr_inundation_has_confidence(o))
        fprintf(out, "confidence classes written to %s, p_inundated to %s (sigma %g m, k %.4f)%s%s\n",
                a->confidence_path, a->probability_path, hypot(o->dem_rmse_m, o->datum_rmse_m),
                cr_inundation_confidence_k(o), a->confidence_style ? "; QGIS style " : "",
                a->confidence_style ? a->confidence_style : "");
    for (int k = 0; k < o->level_count; k++) {
        char w[32], depth[32];
        fprintf(out, "%s, W=%s m: %lld cells inundated (%.3f km2), max depth %s m\n", o->levels[k].name,
                cr_number_fixed(stats[k].water_level_m, 3, w, sizeof w), (long long)stats[k].inundated_cells,
                stats[k].inundated_area_m2 / 1e6, cr_number_fixed(stats[k].max_depth_m, 2, depth, sizeof depth));
        if (cr_inundation_has_confidence(o)) {
            char lo[32], hi[32];
            const cr_inundation_stats *s = &stats[k];
            fprintf(out, "  confidence %g (W %s .. %s m): %lld cells inundated (%.3f km2), %lld possibly "
                    "(%.3f km2), %lld dry (%.3f km2)\n", o->confidence,
                    cr_number_fixed(s->low_level_m, 3, lo, sizeof lo),
                    cr_number_fixed(s->high_level_m, 3, hi, sizeof hi), (long long)s->confident_cells,
                    s->confident_area_m2 / 1e6, (long long)s->possible_cells, s->possible_area_m2 / 1e6,
                    (long long)s->dry_cells, s->dry_area_m2 / 1e6);
        }
    }
}

/* The (scenario, year) pairs of local projections with a median, each once, in file order:
 * calls fn with the pair's median, p17 and p83 (NAN when missing). */
static void each_local(const cr_projections *p, void (*fn)(void *arg, const char *name, double median,
                                                            double p17, double p83),
                       void *arg)
{
    for (size_t i = 0; i < p->count; i++) {
        const cr_projection *r = &p->rows[i];
        double median = NAN, p17 = NAN, p83 = NAN;
        if (!cr_projections_find(p, r->scenario, r->year, 50, &median))
            continue;
        int first = 1; /* the pair's first row carries it */
        for (size_t j = 0; j < i && first; j++)
            first = !(p->rows[j].year == r->year && strcmp(p->rows[j].scenario, r->scenario) == 0);
        if (!first)
            continue;
        cr_projections_find(p, r->scenario, r->year, 17, &p17);
        cr_projections_find(p, r->scenario, r->year, 83, &p83);
        char name[48];
        snprintf(name, sizeof name, "%s-%d", r->scenario, r->year);
        fn(arg, name, median, p17, p83);
    }
}

static void local_json_row(void *arg, const char *name, double median, double p17, double p83)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(name));
    json_object_object_add(o, "sea_level_rise_m", cr_json_number(median, 6));
    json_object_object_add(o, "p17_m", cr_json_number(p17, 6));
    json_object_object_add(o, "p83_m", cr_json_number(p83, 6));
    json_object_array_add(arg, o);
}

static void local_text_row(void *arg, const char *name, double median, double p17, double p83)
{
    if (isnan(p17) || isnan(p83))
        fprintf(arg, "%-14s %6.3f m %19s\n", name, median, "-");
    else
        fprintf(arg, "%-14s %6.3f m  %6.3f - %6.3f m\n", name, median, p17, p83);
}

/* --list-scenarios --projections: the local values. */
static void local_list(const inundation_args *a, FILE *text, cr_command_result *result)
{
    if (a->base.json) {
        json_object *doc = json_object_new_object(), *list = json_object_new_array();
        json_object_object_add(doc, "source", json_object_new_string(a->projections_source));
        each_local(a->projections, local_json_row, list);
        json_object_object_add(doc, "scenarios", list);
        result->json = doc;
        return;
    }
    fprintf(text, "Sea-level scenarios: %s.\n", a->projections_source);
    fprintf(text, "Use NAME for the median, NAME-p17 / NAME-p83 (or any -pNN the file has).\n\n");
    fprintf(text, "%-14s %8s %19s\n", "name", "median", "likely range");
    each_local(a->projections, local_text_row, text);
}

/* What the summary adds for local relative sea level: the source of the levels (with the
 * NetCDF location and its distance from the DEM's centre) and the land motion. */
static void local_summary(const inundation_args *a, json_object *doc, FILE *text)
{
    const char *source = a->projections ? a->projections_source
                         : a->scenarios ? "global AR6 preset"
                                        : "sea-level rise given in metres";
    if (doc)
        json_object_object_add(doc, "sea_level_source", json_object_new_string(source));
    else if (a->projections)
        fprintf(text, "sea level: %s\n", source);
    if (a->projections && a->projections->has_location) {
        const cr_projections *p = a->projections;
        if (doc) {
            json_object *l = json_object_new_object();
            json_object_object_add(l, "id", json_object_new_int64(p->location));
            json_object_object_add(l, "lat", cr_json_number(p->lat, 6));
            json_object_object_add(l, "lon", cr_json_number(p->lon, 6));
            json_object_object_add(l, "distance_km",
                                   p->distance_km >= 0 ? cr_json_number(p->distance_km, 4) : NULL);
            json_object_object_add(doc, "location", l);
        } else if (p->distance_km >= 0) {
            fprintf(text, "projection location %lld is %.1f km from the DEM's centre\n", p->location,
                    p->distance_km);
        }
    }
    if (!a->vlm_text)
        return;
    if (doc) {
        json_object *v = json_object_new_object();
        json_object_object_add(v, "source", json_object_new_string(a->o.vlm_path ? a->o.vlm_path : "value"));
        if (!a->o.vlm_path)
            json_object_object_add(v, "vlm_m", cr_json_number(a->o.vlm * a->o.vlm_to_m, 10));
        json_object_object_add(v, "unit", json_object_new_string(VLM_UNITS[a->vlm_unit]));
        json_object_object_add(v, "years", a->o.vlm_years > 0 ? cr_json_number(a->o.vlm_years, 10) : NULL);
        json_object_object_add(doc, "vlm", v);
    } else if (a->o.vlm_path) {
        if (a->o.vlm_years > 0)
            fprintf(text, "vertical land motion: raster %s (mm/yr over %.10g years)\n", a->o.vlm_path,
                    a->o.vlm_years);
        else
            fprintf(text, "vertical land motion: raster %s (%s)\n", a->o.vlm_path, VLM_UNITS[a->vlm_unit]);
    } else {
        fprintf(text, "vertical land motion: %.4f m\n", a->o.vlm * a->o.vlm_to_m);
    }
}

static void summarise(const void *opts, FILE *text, cr_command_result *result)
{
    const inundation_args *a = opts;
    result->is_report = a->list;
    if (a->phase == PHASE_EDGES || a->phase == PHASE_JOIN) { /* files between the phases */
        if (a->base.json) {
            result->json = json_object_new_object();
            json_object_object_add(result->json, "phase", json_object_new_string(PHASES[a->phase]));
            json_object_object_add(result->json, "output", json_object_new_string(a->base.output));
        } else {
            fprintf(text, "wrote the %s file %s\n", a->phase == PHASE_EDGES ? "edge" : "join", a->base.output);
        }
    } else if (a->list && a->projections)
        local_list(a, text, result);
    else if (a->list && a->base.json)
        result->json = scenarios_json();
    else if (a->list)
        scenarios_text(text);
    else if (a->base.json)
        local_summary(a, result->json = summary_json(a, &a->o, a->stats, a->sea_cells), text);
    else {
        summary_text(text, a, &a->o, a->stats, a->sea_cells);
        local_summary(a, NULL, text);
    }
}

const cr_command cr_inundation_command = {
    .name = "inundation",
    .summary = "sea-level inundation depth from a DEM, connected to the sea",
    .synopsis = "--dem DEM -o OUT.tif (--sea-level M[,M...] | --scenario NAME[,NAME...])\n"
                "       [--grid REF | --crs CRS --resolution M [--bounds XMIN,YMIN,XMAX,YMAX]] [options]\n"
                "       [--vlm RASTER|VALUE (--years N | --vlm-unit m)] [--projections FILE[,FILE...] [--location ID]]\n"
                "       cityrisk inundation --list-scenarios [--projections FILE [--dem DEM | --location ID]] [--json]",
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
        "the DEM: three streaming passes over tiles of --tile-size cells.\n"
        "Local relative sea level: --vlm moves the land (subsidence negative, mm/yr over\n"
        "--years, or metres), so depth = W - (z + vlm_m); --projections (a CSV in long format\n"
        "or IPCC AR6 NetCDF, at the location nearest the DEM) gives --scenario names their\n"
        "local values. Band metadata records the sources (SEA_LEVEL_SOURCE, VLM_SOURCE).\n"
        "With --dem-rmse (and --datum-rmse), NOAA's mapping confidence: sigma =\n"
        "sqrt(dem^2 + datum^2), k = Phi^-1(P) for --confidence P (0.8): two more COGs with\n"
        "a band per level, <stem>_confidence.tif (Byte: 2 inundated with confidence >= P,\n"
        "joined to the sea at W - k sigma; 1 possibly inundated, joined at W + k sigma only;\n"
        "0 dry with confidence >= P) and <stem>_p_inundated.tif (Phi((W - z) / sigma)\n"
        "where joined at W + k sigma, 0 elsewhere; errors taken as independent per cell).\n"
        "The depths stay the answer at W.",
    .examples =
        "  cityrisk inundation --dem samples/data/dem.tif --scenario ssp245-2100,ssp585-2100-p83 \\\n"
        "      --tide 0.9 -o inundation.tif\n"
        "  cityrisk inundation --dem dem.tif --sea-level 0.5,1,2 --connectivity 4 --json -o flood.tif\n"
        "  cityrisk inundation --dem dem.tif --sea-level 1 --dem-rmse 0.15 --qml -o flood.tif\n"
        "  cityrisk inundation --dem dem.tif --scenario ssp245-2100 --projections local.csv \\\n"
        "      --vlm subsidence.tif --years 80 -o inundation.tif\n"
        "  cityrisk inundation --list-scenarios",
    .args = ARGS, .flags = CR_COMMAND_STAGE, .opts_size = sizeof(inundation_args),
    .init = init, .clear = clear, .check = check, .run = run, .style = style, .summarise = summarise,
};
