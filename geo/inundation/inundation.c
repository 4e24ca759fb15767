/* inundation.c: the inundation stage: sea, then connected flooding per level, tile by tile. */
#define _POSIX_C_SOURCE 200809L
#include "cityrisk/inundation.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cpl_string.h>
#include <json-c/json.h>

#include "cityrisk/number.h"
#include "cityrisk/raster.h"
#include "core/crs.h"
#include "core/internal.h"
#include "core/output.h"
#include "reach.h"
#include "sea.h"

static const double US_SURVEY_FOOT_M = 1200.0 / 3937.0;
static const double FOOT_M = 0.3048;

void cr_inundation_opts_init(cr_inundation_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->connectivity = 8;
    opts->tile = CR_INUNDATION_DEFAULT_TILE;
    opts->confidence = 0.8;
}

/* Everything one run holds: the grid, the readers, the reaches and one tile's buffers. */
typedef struct run {
    const cr_inundation_opts *o;
    const char *dem_path;
    cr_grid *grid;
    cr_layer *dem;
    cr_sea_source *sea_file;
    cr_reach *sea_reach;   /* the default sea: low or nodata cells joined to the edge */
    cr_reach **reaches;    /* one per level when connectivity is on */
    cr_reach_labels *labels; /* one tile's labels, shared by the reaches */
    double *water;         /* per level: W in metres */
    double to_m;           /* metres per DEM unit */
    int sea_conn;
    /* one tile */
    double *z;
    uint8_t *valid, *cand, *seed, *sea, *wet, *joined;
    float *depth;
    int64_t seeds, sea_cells;
    int64_t windows;
    /* vertical land motion (docs/inundation.md "Local sea level") */
    cr_layer *vlm;         /* the VLM raster on the grid, or NULL */
    double *vlm_m;         /* one tile's land motion, metres */
    uint8_t *vlm_valid;
    int64_t vlm_missing;   /* land cells the raster has no value for: motion 0 */
    char **input_files;    /* what no output may replace (input_files()), a CSL */
} run;

/* Fails when a level's part (what: "tide") cannot be stored in the Float32 output. */
static cr_status check_float32(cr_ctx *ctx, const char *what, double v)
{
    if (fabs(v) <= FLT_MAX)
        return CR_OK;
    return cr_ctx_fail(ctx, CR_E_USAGE, "%s %.10g m is beyond what a Float32 output holds (%.10g)",
                       what, v, (double)FLT_MAX);
}

/* Vertical land motion: a finite value or a raster, and its metres per unit. */
static cr_status check_vlm(cr_ctx *ctx, const cr_inundation_opts *o)
{
    if (!isfinite(o->vlm_to_m) || o->vlm_to_m < 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "VLM unit factor %g is not a non-negative number", o->vlm_to_m);
    if (!isfinite(o->vlm) || !isfinite(o->vlm * o->vlm_to_m))
        return cr_ctx_fail(ctx, CR_E_USAGE, "vertical land motion %g is not a finite number", o->vlm);
    if ((o->vlm_path || o->vlm != 0) && o->vlm_to_m == 0)
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "vertical land motion needs its unit: --years N for mm/yr, or --vlm-unit m");
    return CR_OK;
}

static cr_status check_options(cr_ctx *ctx, const cr_inundation_opts *o)
{
    if (o->level_count < 1 || !o->levels)
        return cr_ctx_fail(ctx, CR_E_USAGE, "no sea level given");
    if (o->level_count > CR_INUNDATION_MAX_LEVELS)
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "%d sea levels: at most %d make one output (a band each, and GDAL's "
                           "COG driver holds a tile of every band at once); split them over "
                           "several runs",
                           o->level_count, CR_INUNDATION_MAX_LEVELS);
    if (!isfinite(o->tide_m) || !isfinite(o->surge_m) || !isfinite(o->datum_offset_m))
        return cr_ctx_fail(ctx, CR_E_USAGE, "tide, surge and datum offset must be finite numbers");
    cr_status st = CR_OK;
    if ((st = check_float32(ctx, "tide", o->tide_m)) != CR_OK ||
        (st = check_float32(ctx, "surge", o->surge_m)) != CR_OK ||
        (st = check_float32(ctx, "datum offset", o->datum_offset_m)) != CR_OK)
        return st;
    for (int i = 0; i < o->level_count; i++) {
        double v = o->levels[i].rise_m;
        /* Local projections may fall (land uplift outpacing the sea); global ones do not. */
        if (!isfinite(v) || (v < 0 && !o->projections_path))
            return cr_ctx_fail(ctx, CR_E_USAGE, "sea-level rise %g m is not a non-negative number", v);
        if ((st = check_float32(ctx, "sea-level rise", v)) != CR_OK)
            return st;
        /* W is written as band metadata and is what depths start from. */
        double w = v + o->tide_m + o->surge_m - o->datum_offset_m;
        if (!(fabs(w) <= FLT_MAX))
            return cr_ctx_fail(ctx, CR_E_USAGE,
                               "water level W = %.10g m (sea-level rise %.10g + tide %.10g + surge "
                               "%.10g - datum offset %.10g) is beyond what a Float32 output holds "
                               "(%.10g)",
                               w, v, o->tide_m, o->surge_m, o->datum_offset_m, (double)FLT_MAX);
    }
    if (o->connectivity != 0 && o->connectivity != 4 && o->connectivity != 8)
        return cr_ctx_fail(ctx, CR_E_USAGE, "connectivity %d is not 8, 4 or none", o->connectivity);
    if (o->tile < 2 || o->tile > 16384)
        return cr_ctx_fail(ctx, CR_E_USAGE, "tile size %d is outside 2 .. 16384", o->tile);
    if (!(o->dem_to_m >= 0) || !isfinite(o->dem_to_m))
        return cr_ctx_fail(ctx, CR_E_USAGE, "DEM unit factor %g is not positive", o->dem_to_m);
    return check_vlm(ctx, o);
}

/* Metres per DEM unit, from the band's unit type unless given. */
static cr_status dem_unit(cr_ctx *ctx, run *r)
{
    if (r->o->dem_to_m > 0) {
        r->to_m = r->o->dem_to_m;
        return CR_OK;
    }
    GDALDatasetH ds = NULL;
    cr_status st = cr_open_raster(ctx, r->dem_path, &ds);
    if (st != CR_OK)
        return st;
    const char *unit = GDALGetRasterUnitType(GDALGetRasterBand(ds, 1));
    r->to_m = 1.0;
    if (unit && (strcasecmp(unit, "ft") == 0 || strcasecmp(unit, "foot") == 0 ||
                 strcasecmp(unit, "feet") == 0 || strcasecmp(unit, "international foot") == 0))
        r->to_m = FOOT_M;
    else if (unit && (strcasecmp(unit, "US survey foot") == 0 || strcasecmp(unit, "ftUS") == 0 ||
                      strcasecmp(unit, "us-ft") == 0))
        r->to_m = US_SURVEY_FOOT_M;
    else if (unit && *unit && strcasecmp(unit, "m") != 0 && strcasecmp(unit, "metre") != 0 &&
             strcasecmp(unit, "meter") != 0 && strcasecmp(unit, "metres") != 0 &&
             strcasecmp(unit, "meters") != 0)
        cr_ctx_log(ctx, CR_LOG_WARNING, "DEM '%s' has unit '%s'; reading it as metres (see --dem-unit)",
                   r->dem_path, unit);
    GDALClose(ds);
    return CR_OK;
}

/* The most tiles a pass may have: the reaches keep a few bytes per tile. */
static const int64_t MAX_TILES = 1 << 24;

static cr_status allocate(cr_ctx *ctx, run *r)
{
    int64_t windows = cr_grid_window_count(r->grid, r->o->tile);
    if (windows > MAX_TILES)
        return cr_ctx_fail(ctx, CR_E_USAGE, "tile size %d is too small for a %d x %d grid; use a larger --tile-size",
                           r->o->tile, r->grid->width, r->grid->height);
    /* The reaches number the wet components along tile edges with 32-bit ids: at most
     * the edge cells of every tile. */
    double edge_cells = (double)windows * 4.0 * r->o->tile;
    if (edge_cells > INT32_MAX)
        return cr_ctx_fail(ctx, CR_E_DATA,
                           "the %d x %d grid of '%s' is too large to trace the sea's reach in tiles "
                           "of %d cells: up to %.3g components along tile edges, beyond the 2^31 "
                           "it can number; use a coarser DEM or a larger --tile-size",
                           r->grid->width, r->grid->height, r->dem_path, r->o->tile, edge_cells);
    /* One window: a tile, or the whole grid when it is smaller (an 8 x 8 DEM does not need
     * 512 x 512 buffers). */
    size_t n = (size_t)(r->o->tile < r->grid->width ? r->o->tile : r->grid->width) *
               (size_t)(r->o->tile < r->grid->height ? r->o->tile : r->grid->height);
    r->z = malloc(n * sizeof *r->z);
    r->depth = malloc(n * sizeof *r->depth);
    uint8_t **masks[] = {&r->valid, &r->cand, &r->seed, &r->sea, &r->wet, &r->joined};
    int ok = r->z && r->depth;
    for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++)
        ok = (*masks[i] = malloc(n)) != NULL && ok;
    r->water = malloc(sizeof *r->water * (size_t)r->o->level_count);
    r->reaches = calloc((size_t)r->o->level_count, sizeof *r->reaches);
    ok = ok && r->water && r->reaches && (r->labels = cr_reach_labels_new()) != NULL;
    if (ok && r->vlm)
        ok = (r->vlm_m = malloc(n * sizeof *r->vlm_m)) != NULL && (r->vlm_valid = malloc(n)) != NULL;
    for (int k = 0; ok && r->o->connectivity && k < r->o->level_count; k++)
        ok = (r->reaches[k] = cr_reach_new(r->grid->width, r->grid->height, r->o->tile,
                                           r->o->connectivity, r->labels)) != NULL;
    if (ok && !r->o->sea_path)
        ok = (r->sea_reach = cr_reach_new(r->grid->width, r->grid->height, r->o->tile,
                                          r->sea_conn, r->labels)) != NULL;
    return ok ? CR_OK : cr_ctx_fail(ctx, CR_E_IO, "out of memory for inundation of '%s'", r->dem_path);
}

static void release(run *r)
{
    cr_layer_close(r->dem);
    cr_layer_close(r->vlm);
    free(r->vlm_m), free(r->vlm_valid);
    CSLDestroy(r->input_files);
    cr_sea_source_close(r->sea_file);
    cr_reach_free(r->sea_reach);
    for (int k = 0; r->reaches && k < r->o->level_count; k++)
        cr_reach_free(r->reaches[k]);
    free(r->reaches);
    cr_reach_labels_free(r->labels);
    free(r->water);
    cr_grid_free(r->grid);
    free(r->z);
    free(r->depth);
    free(r->valid), free(r->cand), free(r->seed), free(r->sea), free(r->wet), free(r->joined);
}

/* Moves the land of the tile by its vertical land motion, after the sea was told from the
 * DEM as it is today: z becomes z + vlm_m, so that depth = W - (z + vlm_m) = W_cell - z
 * with W_cell = W - vlm_m (subsidence, negative, raises the water over the land). Where
 * the VLM raster has no value the motion is 0 (counted, and warned of, in the write pass). */
static cr_status apply_vlm(cr_ctx *ctx, run *r, const cr_window *win)
{
    size_t n = (size_t)win->w * win->h;
    double to_m = r->o->vlm_to_m;
    if (to_m == 0 || (!r->vlm && r->o->vlm == 0))
        return CR_OK;
    if (!r->vlm) {
        for (size_t i = 0; i < n; i++)
            r->z[i] += r->o->vlm * to_m;
        return CR_OK;
    }
    cr_status st = cr_layer_read_f64(ctx, r->vlm, win, r->vlm_m, r->vlm_valid);
    for (size_t i = 0; st == CR_OK && i < n; i++)
        if (r->vlm_valid[i])
            r->z[i] += r->vlm_m[i] * to_m;
    return st;
}

/* Land cells of the tile (valid, not sea) the VLM raster has no value for. */
static int64_t count_vlm_missing(const run *r, const cr_window *win)
{
    int64_t count = 0;
    size_t n = (size_t)win->w * win->h;
    for (size_t i = 0; r->vlm && i < n; i++)
        count += r->valid[i] && !r->sea[i] && !r->vlm_valid[i];
    return count;
}

/* Reads the DEM over win in metres, with its validity, and the candidate-sea mask
 * (nodata or at or below 0) and its seeds (candidates on the raster edge). */
static cr_status read_tile(cr_ctx *ctx, run *r, const cr_window *win)
{
    cr_status st = cr_layer_read_f64(ctx, r->dem, win, r->z, r->valid);
    if (st != CR_OK)
        return st;
    for (int y = 0; y < win->h; y++) {
        int row = win->y + y, edge_row = row == 0 || row == r->grid->height - 1;
        for (int x = 0; x < win->w; x++) {
            size_t i = (size_t)y * win->w + x;
            int col = win->x + x;
            r->z[i] *= r->to_m;
            r->cand[i] = !r->valid[i] || r->z[i] <= 0.0;
            r->seed[i] = r->cand[i] && (edge_row || col == 0 || col == r->grid->width - 1);
        }
    }
    return apply_vlm(ctx, r, win);
}

/* Fills r->sea for the tile: from the sea file, or resolved from the sea reach. */
static cr_status tile_sea(cr_ctx *ctx, run *r, const cr_window *win)
{
    if (r->sea_file)
        return cr_sea_source_read(ctx, r->sea_file, win, r->sea);
    return cr_reach_resolve(ctx, r->sea_reach, win, r->cand, r->seed, r->sea);
}

/* wet = sea, or valid land below W. */
static void wet_cells(run *r, const cr_window *win, double water)
{
    size_t n = (size_t)win->w * win->h;
    for (size_t i = 0; i < n; i++)
        r->wet[i] = r->sea[i] || (r->valid[i] && r->z[i] < water);
}

typedef enum pass { PASS_SEA, PASS_SCAN, PASS_WRITE } pass;

static int64_t count_set(const uint8_t *mask, size_t n)
{
    int64_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += mask[i];
    return count;
}

static cr_status depth_too_large(cr_ctx *ctx, const run *r, const cr_window *win, size_t i,
                                 double d)
{
    char cell[160];
    cr_grid_cell_text(r->grid, win->x + (int)(i % (size_t)win->w), win->y + (int)(i / (size_t)win->w),
                      cell, sizeof cell);
    return cr_ctx_fail(ctx, CR_E_DATA,
                       "DEM '%s': depth W - z = %.10g m at %s is beyond what a Float32 output "
                       "holds (%.10g); check the DEM's values and the water level",
                       r->dem_path, d, cell, (double)FLT_MAX);
}

static cr_status write_depths(cr_ctx *ctx, run *r, const cr_window *win, int k, cr_writer *w,
                              cr_inundation_stats *stats)
{
    size_t n = (size_t)win->w * win->h;
    double water = r->water[k];
    if (r->o->connectivity) {
        cr_status st = cr_reach_resolve(ctx, r->reaches[k], win, r->wet, r->sea, r->joined);
        if (st != CR_OK)
            return st;
    }
    const uint8_t *flooded = r->o->connectivity ? r->joined : r->wet;
    for (size_t i = 0; i < n; i++) {
        if (r->sea[i] || !r->valid[i]) {
            r->depth[i] = NAN;
        } else if (flooded[i] && r->z[i] < water) {
            double d = water - r->z[i];
            if (d > FLT_MAX) /* W near 1e38 over an elevation near -1e38: never +Inf */
                return depth_too_large(ctx, r, win, i, d);
            r->depth[i] = (float)d;
            stats->inundated_cells++;
            if (d > stats->max_depth_m)
                stats->max_depth_m = d;
        } else {
            r->depth[i] = 0.0f;
        }
    }
    return cr_writer_write(ctx, w, k + 1, win, r->depth);
}

/* One tile of a pass. */
static cr_status run_tile(cr_ctx *ctx, run *r, pass p, const cr_window *win, cr_writer *w,
                          cr_inundation_stats *stats)
{
    size_t n = (size_t)win->w * win->h;
    cr_status st = read_tile(ctx, r, win);
    if (st != CR_OK)
        return st;
    if (p == PASS_SEA) {
        r->seeds += count_set(r->seed, n);
        return cr_reach_scan(ctx, r->sea_reach, win, r->cand, r->seed);
    }
    if ((st = tile_sea(ctx, r, win)) != CR_OK)
        return st;
    /* A sea file's cells are its seeds; the written sea is what the summary counts. */
    if (p == PASS_SCAN && r->sea_file)
        r->seeds += count_set(r->sea, n);
    if (p == PASS_WRITE)
        r->sea_cells += count_set(r->sea, n);
    if (p == PASS_WRITE)
        r->vlm_missing += count_vlm_missing(r, win);
    for (int k = 0; k < r->o->level_count && st == CR_OK; k++) {
        wet_cells(r, win, r->water[k]);
        if (p == PASS_SCAN)
            st = cr_reach_scan(ctx, r->reaches[k], win, r->wet, r->sea);
        else
            st = write_depths(ctx, r, win, k, w, &stats[k]);
    }
    return st;
}

/* One pass over every tile, reporting progress 0..1 in the context's range. */
static cr_status run_pass(cr_ctx *ctx, run *r, pass p, cr_writer *w, cr_inundation_stats *stats)
{
    cr_status st = CR_OK;
    for (int64_t i = 0; i < r->windows && st == CR_OK; i++) {
        cr_window win = cr_grid_window(r->grid, r->o->tile, i);
        st = run_tile(ctx, r, p, &win, w, stats);
        if (st == CR_OK && !cr_ctx_progress(ctx, (double)(i + 1) / (double)r->windows, NULL))
            st = cr_ctx_fail(ctx, CR_E_CANCELLED, "inundation of '%s' was cancelled", r->dem_path);
    }
    return st;
}

/* The level's name: its scenario's, else made from its rise ("sl0.50"). */
static const char *level_name(const cr_sea_level *level, char *buf, size_t size)
{
    if (level->name)
        return level->name;
    cr_sea_level_name(level->rise_m, buf, size);
    return buf;
}

static char *band_name(const cr_sea_level *level, double water)
{
    char buf[160], w[32], name[32];
    cr_number_fixed(water, 3, w, sizeof w);
    snprintf(buf, sizeof buf, "%s (W=%s m)", level_name(level, name, sizeof name), w);
    return strdup(buf);
}

static const char *FORMULA =
    "depth = W - z where z < W and the cell is joined to the sea through cells with z < W "
    "(connectivity as in CITYRISK_PARAMETERS); W = sea-level rise + tide + surge - datum offset; "
    "0 on dry land; nodata on the sea and where the DEM has none. Sea by default: cells with "
    "DEM nodata or z <= 0 joined to the raster edge.";

/* Where a level's rise came from (SEA_LEVEL_SOURCE): local projections, a global preset,
 * or metres given as such. */
static void sea_level_source(const cr_inundation_opts *o, const cr_sea_level *level, char *buf,
                             size_t size)
{
    if (o->projections_path) {
        if (o->projections_source)
            snprintf(buf, size, "%s", o->projections_source);
        else
            snprintf(buf, size, "local projections %s", o->projections_path);
        return;
    }
    for (int i = 0; level->name && i < cr_scenario_count(); i++) {
        const char *preset = cr_scenario_get(i)->name;
        size_t n = strlen(preset);
        if (strncmp(level->name, preset, n) == 0 &&
            (level->name[n] == '\0' || strcmp(level->name + n, "-p17") == 0 ||
             strcmp(level->name + n, "-p83") == 0)) {
            snprintf(buf, size, "global AR6 preset");
            return;
        }
    }
    snprintf(buf, size, "sea-level rise given in metres");
}

/* The VLM's source (VLM_SOURCE): "raster PATH", "value", or NULL without VLM. */
static const char *vlm_source(const cr_inundation_opts *o, char *buf, size_t size)
{
    if (o->vlm_to_m == 0 || (!o->vlm_path && o->vlm == 0))
        return NULL;
    if (o->vlm_path)
        snprintf(buf, size, "raster %s", o->vlm_path);
    else
        snprintf(buf, size, "value");
    return buf;
}

/* The parameters of local relative sea level: the sea level's source, the land motion. */
static void add_local_parameters(const run *r, json_object *p)
{
    const cr_inundation_opts *o = r->o;
    char source[1200];
    if (o->level_count > 0) {
        sea_level_source(o, &o->levels[0], source, sizeof source);
        json_object_object_add(p, "sea_level_source", json_object_new_string(source));
    }
    if (!vlm_source(o, source, sizeof source))
        return;
    json_object *v = json_object_new_object();
    json_object_object_add(v, "source", json_object_new_string(source));
    if (!o->vlm_path) {
        json_object_object_add(v, "value", cr_json_number(o->vlm, 10));
        json_object_object_add(v, "vlm_m", cr_json_number(o->vlm * o->vlm_to_m, 10));
    }
    json_object_object_add(v, "unit", json_object_new_string(o->vlm_years > 0 ? "mm/yr" : "m"));
    if (o->vlm_years > 0)
        json_object_object_add(v, "years", cr_json_number(o->vlm_years, 10));
    json_object_object_add(v, "metres_per_unit", cr_json_number(o->vlm_to_m, 12));
    json_object_object_add(p, "vlm", v);
}

static const char *VLM_FORMULA =
    "With vertical land motion (VLM_SOURCE, metres = VLM x YEARS / 1000 for mm/yr, subsidence "
    "negative) z is the land after the motion, z + vlm_m: depth = W - vlm_m - z (W per cell); "
    "the sea is told from the DEM as it is.";

static char *parameters_json(const run *r)
{
    const cr_inundation_opts *o = r->o;
    json_object *p = json_object_new_object(), *levels = json_object_new_array();
    for (int k = 0; k < o->level_count; k++) {
        json_object *l = json_object_new_object();
        char name[32];
        json_object_object_add(l, "name", json_object_new_string(level_name(&o->levels[k], name, sizeof name)));
        json_object_object_add(l, "sea_level_rise_m", cr_json_number(o->levels[k].rise_m, 10));
        json_object_object_add(l, "water_level_m", cr_json_number(r->water[k], 10));
        json_object_array_add(levels, l);
    }
    json_object_object_add(p, "levels", levels);
    json_object_object_add(p, "tide_m", cr_json_number(o->tide_m, 10));
    json_object_object_add(p, "surge_m", cr_json_number(o->surge_m, 10));
    json_object_object_add(p, "datum_offset_m", cr_json_number(o->datum_offset_m, 10));
    json_object_object_add(p, "connectivity", o->connectivity ? json_object_new_int(o->connectivity)
                                                              : json_object_new_string("none"));
    json_object_object_add(p, "sea", json_object_new_string(o->sea_path ? o->sea_path : "dem-nodata-or-below-0-joined-to-edge"));
    json_object_object_add(p, "dem_unit_m", cr_json_number(r->to_m, 12));
    add_local_parameters(r, p);
    return cr_json_take_text(p);
}

static char *inputs_json(const run *r)
{
    json_object *a = json_object_new_array();
    for (int i = 0; r->input_files && r->input_files[i]; i++)
        json_object_array_add(a, json_object_new_string(r->input_files[i]));
    return cr_json_take_text(a);
}

/* Band k's SEA_LEVEL_SOURCE and, with land motion, VLM_SOURCE, VLM_M (a value) and YEARS. */
static cr_status set_local_metadata(cr_ctx *ctx, cr_writer *w, const cr_inundation_opts *o, int k)
{
    char text[1200];
    sea_level_source(o, &o->levels[k], text, sizeof text);
    cr_status st = cr_writer_set_metadata(ctx, w, k + 1, "SEA_LEVEL_SOURCE", text);
    if (st != CR_OK || !vlm_source(o, text, sizeof text))
        return st;
    st = cr_writer_set_metadata(ctx, w, k + 1, "VLM_SOURCE", text);
    if (st == CR_OK && !o->vlm_path) {
        snprintf(text, sizeof text, "%.10g", o->vlm * o->vlm_to_m);
        st = cr_writer_set_metadata(ctx, w, k + 1, "VLM_M", text);
    }
    snprintf(text, sizeof text, "%.10g", o->vlm_years);
    if (st == CR_OK && o->vlm_years > 0)
        st = cr_writer_set_metadata(ctx, w, k + 1, "YEARS", text);
    return st;
}

static cr_status open_writer(cr_ctx *ctx, run *r, const char *out_path, cr_writer **w)
{
    const cr_inundation_opts *o = r->o;
    char **names = calloc((size_t)o->level_count, sizeof *names);
    const char **units = calloc((size_t)o->level_count, sizeof *units);
    char *params = parameters_json(r), *inputs = inputs_json(r);
    char formula[1024];
    snprintf(formula, sizeof formula, "%s %s", FORMULA, VLM_FORMULA);
    cr_status st = names && units && params && inputs
                       ? CR_OK
                       : cr_ctx_fail(ctx, CR_E_IO, "out of memory writing '%s'", out_path);
    for (int k = 0; st == CR_OK && k < o->level_count; k++) {
        if (!(names[k] = band_name(&o->levels[k], r->water[k])))
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory naming the bands of '%s'", out_path);
        units[k] = "m";
    }
    if (st == CR_OK) {
        cr_writer_opts wo;
        cr_writer_opts_init(&wo);
        wo.band_count = o->level_count;
        wo.band_names = (const char *const *)names;
        wo.band_units = units;
        wo.overwrite = o->overwrite;
        wo.creation_options = o->creation_options;
        wo.inputs = inputs;
        wo.parameters = params;
        wo.formula = r->vlm || o->vlm * o->vlm_to_m != 0 ? formula : FORMULA;
        wo.input_paths = (const char *const *)r->input_files;
        st = cr_writer_open(ctx, out_path, r->grid, &wo, w);
    }
    for (int k = 0; st == CR_OK && k < o->level_count; k++) {
        char v[64];
        const char *keys[] = {"SEA_LEVEL_RISE_M", "TIDE_M", "SURGE_M", "DATUM_OFFSET_M", "WATER_LEVEL_M"};
        double values[] = {o->levels[k].rise_m, o->tide_m, o->surge_m, o->datum_offset_m, r->water[k]};
        for (int j = 0; j < 5 && st == CR_OK; j++) {
            snprintf(v, sizeof v, "%.10g", values[j]);
            st = cr_writer_set_metadata(ctx, *w, k + 1, keys[j], v);
        }
        char name[32];
        if (st == CR_OK)
            st = cr_writer_set_metadata(ctx, *w, k + 1, "SCENARIO", level_name(&o->levels[k], name, sizeof name));
        if (st == CR_OK)
            st = set_local_metadata(ctx, *w, o, k);
    }
    for (int k = 0; names && k < o->level_count; k++)
        free(names[k]);
    free(names);
    free(units);
    free(params);
    free(inputs);
    return st;
}

static cr_status prepare(cr_ctx *ctx, run *r, const char *out_path)
{
    const cr_inundation_opts *o = r->o;
    cr_status st = cr_grid_from_spec(ctx, &o->grid, r->dem_path, &r->grid);
    if (st == CR_OK)
        st = cr_output_check_size(ctx, out_path, r->grid, o->level_count,
                                  cr_grid_spec_source(&o->grid, r->dem_path));
    if (st == CR_OK)
        st = dem_unit(ctx, r);
    if (st == CR_OK)
        st = cr_layer_open(ctx, r->dem_path, r->grid, NULL, &r->dem);
    if (st == CR_OK && o->sea_path)
        st = cr_sea_source_open(ctx, o->sea_path, r->grid, &r->sea_file);
    /* A continuous layer, as the DEM: bilinear onto a finer grid, average onto a coarser. */
    if (st == CR_OK && o->vlm_path && o->vlm_to_m > 0)
        st = cr_layer_open(ctx, o->vlm_path, r->grid, NULL, &r->vlm);
    r->sea_conn = o->connectivity ? o->connectivity : 8;
    if (st == CR_OK)
        st = allocate(ctx, r);
    for (int k = 0; st == CR_OK && k < o->level_count; k++)
        r->water[k] = o->levels[k].rise_m + o->tide_m + o->surge_m - o->datum_offset_m;
    r->windows = r->grid ? cr_grid_window_count(r->grid, o->tile) : 0;
    return st;
}

/* The files the run reads, which no output may replace: the DEM, the sea, the grid's
 * reference, the VLM raster and each projections file. A CSL. */
static char **input_files(const cr_inundation_opts *o, const char *dem_path)
{
    const char *one[] = {dem_path, o->sea_path, o->grid.ref, o->vlm_path};
    char **files = NULL;
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++)
        if (one[i])
            files = CSLAddString(files, one[i]);
    char **projections = o->projections_path ? CSLTokenizeString2(o->projections_path, ",", 0) : NULL;
    for (int i = 0; projections && projections[i]; i++)
        files = CSLAddString(files, projections[i]);
    CSLDestroy(projections);
    return files;
}

cr_status cr_inundation(cr_ctx *ctx, const char *dem_path, const char *out_path,
                        const cr_inundation_opts *opts, cr_inundation_stats *stats,
                        int64_t *sea_cells)
{
    cr_status st = check_options(ctx, opts);
    if (st != CR_OK)
        return st;
    /* Every file the run writes, against every input, before any work. */
    run r = {.o = opts, .dem_path = dem_path, .input_files = input_files(opts, dem_path)};
    st = cr_outputs_check(ctx, out_path, "raster", opts->styles, (const char *const *)r.input_files,
                          opts->overwrite);
    if (st != CR_OK) {
        CSLDestroy(r.input_files);
        return st;
    }
    cr_inundation_stats *local = calloc((size_t)opts->level_count, sizeof *local);
    cr_writer *w = NULL;
    if (!local) {
        CSLDestroy(r.input_files);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory for inundation of '%s'", dem_path);
    }
    st = prepare(ctx, &r, out_path);
    if (st == CR_OK)
        st = open_writer(ctx, &r, out_path, &w);
    /* Progress: the passes share the first 60 %, the COG copy the rest. */
    int passes = (r.sea_reach ? 1 : 0) + (opts->connectivity ? 1 : 0) + 1;
    double span = 0.6 / passes, at = 0.0;
    if (st == CR_OK && r.sea_reach) {
        cr_ctx_set_progress_range(ctx, at, at + span);
        st = run_pass(ctx, &r, PASS_SEA, NULL, NULL);
        at += span;
        if (st == CR_OK && r.seeds == 0 && opts->connectivity)
            st = cr_ctx_fail(ctx, CR_E_DATA,
                             "no sea found in DEM '%s': no nodata or elevation at or below 0 touches the raster edge; give the sea with --sea or use --connectivity none",
                             dem_path);
    }
    if (st == CR_OK && opts->connectivity) {
        cr_ctx_set_progress_range(ctx, at, at + span);
        st = run_pass(ctx, &r, PASS_SCAN, NULL, NULL);
        at += span;
        if (st == CR_OK && r.sea_file && r.seeds == 0)
            st = cr_ctx_fail(ctx, CR_E_DATA, "sea file '%s' covers no cell of the grid of '%s'",
                             opts->sea_path, dem_path);
    }
    if (st == CR_OK) {
        cr_ctx_set_progress_range(ctx, at, at + span);
        st = run_pass(ctx, &r, PASS_WRITE, w, local);
    }
    if (st == CR_OK) {
        double cell_m2 = cr_grid_cell_area_m2(r.grid);
        for (int k = 0; k < opts->level_count; k++) {
            local[k].water_level_m = r.water[k];
            local[k].inundated_area_m2 = (double)local[k].inundated_cells * cell_m2;
        }
        if (r.vlm_missing > 0)
            cr_ctx_log(ctx, CR_LOG_WARNING,
                       "VLM raster '%s' has no value for %lld land cells of DEM '%s': their land "
                       "motion is taken as 0",
                       opts->vlm_path, (long long)r.vlm_missing, dem_path);
        cr_ctx_set_progress_range(ctx, 0.6, 1.0);
        st = cr_writer_commit(ctx, w);
        w = NULL;
    }
    cr_ctx_set_progress_range(ctx, 0.0, 1.0);
    cr_writer_abort(w);
    if (st == CR_OK && stats)
        memcpy(stats, local, sizeof *local * (size_t)opts->level_count);
    if (st == CR_OK && sea_cells)
        *sea_cells = r.sea_cells;
    free(local);
    release(&r);
    return st;
}
