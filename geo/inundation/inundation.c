/* inundation.c: the inundation stage: sea, then connected flooding per level, tile by tile. */
#define _POSIX_C_SOURCE 200809L
#include "cityrisk/inundation.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cpl_string.h>
#include <gdal.h>
#include <json-c/json.h>

#include "cityrisk/number.h"
#include "cityrisk/raster.h"
#include "cityrisk/tile.h"
#include "core/crs.h"
#include "core/internal.h"
#include "core/output.h"
#include "confidence.h"
#include "dem_tiles.h"
#include "parts.h"
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
    cr_reach **low, **high; /* with confidence: per level, the reaches at W -/+ k sigma */
    int conf;              /* confidence asked for (sigma > 0) */
    double sigma, quantile; /* sqrt(dem^2 + datum^2) RMSE, and k = Phi^-1(P) */
    double spread;         /* k sigma: the levels of the classes are W -/+ spread */
    cr_reach_labels *labels; /* one tile's labels, shared by the reaches */
    double *water;         /* per level: W in metres */
    double to_m;           /* metres per DEM unit */
    int sea_conn;
    /* one tile */
    double *z;
    uint8_t *valid, *cand, *seed, *sea, *wet, *joined, *joined_high;
    float *depth;
    int64_t seeds, sea_cells;
    int64_t windows;
    /* vertical land motion (docs/inundation.md "Local sea level") */
    cr_layer *vlm;         /* the VLM raster on the grid, or NULL */
    double *vlm_m;         /* one tile's land motion, metres */
    uint8_t *vlm_valid;
    int64_t vlm_missing;   /* land cells the raster has no value for: motion 0 */
    char **input_files;    /* what no output may replace (input_files()), a CSL */
    /* in parts (docs/inundation.md "In tiles across machines"): the passes run over the part
     * only, with windows relative to it */
    cr_window part;        /* the part of the grid: the whole grid unless --tile/--window */
    cr_grid *part_grid;    /* its grid, on which the outputs are written */
    int parted;            /* a part was given */
    int thresholds;        /* land planes: levels, times 3 with confidence; 0 without connectivity */
    uint8_t *bits;         /* phase 3: the join file's planes for the part's border cells */
    uint8_t *lseed;        /* phase 3 or fused: one tile's seeds of a level's reach */
    cr_dem_tiles *tiles;   /* the DEM's tiles for the passes of cr_inundation() */
    /* The sea pass fused into the scan pass (reach.h, "Fused with the sea"): with
     * connectivity and the default sea, in one run (a part's depths take seeds from their
     * join file: three passes there).
     * The reaches of the levels are then of land below the level only, linked to the sea's. */
    int fused;
} run;

/* The window of the grid that win, a window of the part, is. */
static cr_window in_grid(const run *r, const cr_window *win)
{
    return (cr_window){win->x + r->part.x, win->y + r->part.y, win->w, win->h};
}

/* The index among the part's border cells (parts.h) of cell (x, y) of the part, -1 inside. */
static int64_t border_index(const run *r, int x, int y)
{
    int w = r->part.w, h = r->part.h;
    if (y == 0)
        return x;
    if (y == h - 1)
        return (int64_t)w + x;
    if (x == 0)
        return 2 * (int64_t)w + y;
    if (x == w - 1)
        return 2 * (int64_t)w + h + y;
    return -1;
}

/* Phase 3: sets seed[i] of the tile's border cells whose bit in plane p of the join file is
 * set: components joined to the sea outside the part. */
static void add_border_seeds(const run *r, const cr_window *win, int plane, uint8_t *seed)
{
    const uint8_t *bits = r->bits + (int64_t)plane * cr_part_border_cells(r->part.w, r->part.h);
    for (int y = 0; y < win->h; y++) {
        int py = win->y + y, whole_row = py == 0 || py == r->part.h - 1;
        for (int x = 0; x < win->w; x++) {
            int px = win->x + x;
            if (!whole_row && px != 0 && px != r->part.w - 1)
                continue;
            if (bits[border_index(r, px, py)])
                seed[(size_t)y * win->w + x] = 1;
        }
    }
}

/* The seeds of threshold t's reach over the tile: the sea, and in phase 3 the border cells
 * the join file says are joined to it. */
static const uint8_t *level_seeds(run *r, const cr_window *win, int t)
{
    if (r->fused) { /* the land below the level that touches the sea (r->wet: the land) */
        cr_reach_touching(win->w, win->h, r->o->connectivity, r->wet, r->sea, r->lseed);
        return r->lseed;
    }
    if (!r->bits)
        return r->sea;
    memcpy(r->lseed, r->sea, (size_t)win->w * win->h);
    add_border_seeds(r, win, 1 + t, r->lseed);
    return r->lseed;
}

/* Fails when a level's part (what: "tide") cannot be stored in the Float32 output. */
static cr_status check_float32(cr_ctx *ctx, const char *what, double v)
{
    if (fabs(v) <= FLT_MAX)
        return CR_OK;
    return cr_ctx_fail(ctx, CR_E_USAGE, "%s %.10g m is beyond what a Float32 output holds (%.10g)",
                       what, v, (double)FLT_MAX);
}

int cr_inundation_has_confidence(const cr_inundation_opts *opts)
{
    return hypot(opts->dem_rmse_m, opts->datum_rmse_m) > 0;
}

double cr_inundation_confidence_k(const cr_inundation_opts *opts)
{
    return opts->confidence > 0 && opts->confidence < 1 ? cr_normal_quantile(opts->confidence) : NAN;
}

/* The RMSEs and P, and the levels W -/+ k sigma, which must fit Float32 as W does. */
static cr_status check_confidence(cr_ctx *ctx, const cr_inundation_opts *o)
{
    if (!(o->dem_rmse_m >= 0) || !isfinite(o->dem_rmse_m) || !(o->datum_rmse_m >= 0) ||
        !isfinite(o->datum_rmse_m))
        return cr_ctx_fail(ctx, CR_E_USAGE, "DEM RMSE %g m and datum RMSE %g m must be finite and not negative",
                           o->dem_rmse_m, o->datum_rmse_m);
    if (!(o->confidence > 0.5 && o->confidence < 1))
        return cr_ctx_fail(ctx, CR_E_USAGE, "confidence %g is not between 0.5 and 1 (both excluded)",
                           o->confidence);
    if (!cr_inundation_has_confidence(o))
        return CR_OK;
    double spread = hypot(o->dem_rmse_m, o->datum_rmse_m) * cr_normal_quantile(o->confidence);
    for (int i = 0; i < o->level_count; i++) {
        double w = o->levels[i].rise_m + o->tide_m + o->surge_m - o->datum_offset_m;
        if (!(fabs(w) + spread <= FLT_MAX))
            return cr_ctx_fail(ctx, CR_E_USAGE,
                               "water level W = %.10g m -/+ k sigma = %.10g m is beyond what a Float32 "
                               "output holds (%.10g)", w, spread, (double)FLT_MAX);
    }
    return CR_OK;
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
    st = check_vlm(ctx, o);
    return st == CR_OK ? check_confidence(ctx, o) : st;
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
    const cr_grid *g = r->part_grid;
    int64_t windows = cr_grid_window_count(g, r->o->tile);
    if (windows > MAX_TILES)
        return cr_ctx_fail(ctx, CR_E_USAGE, "tile size %d is too small for a %d x %d grid; use a larger --tile-size",
                           r->o->tile, g->width, g->height);
    /* The reaches number the wet components along tile edges with 32-bit ids: at most
     * the edge cells of every tile. */
    double edge_cells = (double)windows * 4.0 * r->o->tile;
    if (edge_cells > INT32_MAX)
        return cr_ctx_fail(ctx, CR_E_DATA,
                           "the %d x %d grid of '%s' is too large to trace the sea's reach in tiles "
                           "of %d cells: up to %.3g components along tile edges, beyond the 2^31 "
                           "it can number; use a coarser DEM or a larger --tile-size",
                           g->width, g->height, r->dem_path, r->o->tile, edge_cells);
    /* One window: a tile, or the whole grid when it is smaller (an 8 x 8 DEM does not need
     * 512 x 512 buffers). */
    size_t n = (size_t)(r->o->tile < g->width ? r->o->tile : g->width) *
               (size_t)(r->o->tile < g->height ? r->o->tile : g->height);
    r->z = malloc(n * sizeof *r->z);
    r->depth = malloc(n * sizeof *r->depth);
    uint8_t **masks[] = {&r->valid, &r->cand, &r->seed, &r->sea, &r->wet, &r->joined, &r->joined_high};
    int ok = r->z && r->depth;
    for (size_t i = 0; i < sizeof masks / sizeof masks[0] - !r->conf; i++) /* joined_high: confidence */
        ok = (*masks[i] = malloc(n)) != NULL && ok;
    r->water = malloc(sizeof *r->water * (size_t)r->o->level_count);
    r->reaches = calloc((size_t)r->o->level_count, sizeof *r->reaches);
    ok = ok && r->water && r->reaches && (r->labels = cr_reach_labels_new()) != NULL;
    if (ok && (r->bits || r->fused))
        ok = (r->lseed = malloc(n)) != NULL;
    if (ok && r->vlm)
        ok = (r->vlm_m = malloc(n * sizeof *r->vlm_m)) != NULL && (r->vlm_valid = malloc(n)) != NULL;
    for (int k = 0; ok && r->o->connectivity && k < r->o->level_count; k++)
        ok = (r->reaches[k] = cr_reach_new(g->width, g->height, r->o->tile,
                                           r->o->connectivity, r->labels)) != NULL;
    /* Confidence: two more reaches per level, scanned and resolved in the same passes
     * (the same tile read), sharing the labels. */
    if (ok && r->conf && r->o->connectivity) {
        r->low = calloc((size_t)r->o->level_count, sizeof *r->low);
        r->high = calloc((size_t)r->o->level_count, sizeof *r->high);
        ok = r->low && r->high;
        for (int k = 0; ok && k < r->o->level_count; k++)
            ok = (r->low[k] = cr_reach_new(g->width, g->height, r->o->tile,
                                           r->o->connectivity, r->labels)) != NULL &&
                 (r->high[k] = cr_reach_new(g->width, g->height, r->o->tile,
                                            r->o->connectivity, r->labels)) != NULL;
    }
    if (ok && !r->o->sea_path)
        ok = (r->sea_reach = cr_reach_new(g->width, g->height, r->o->tile, r->sea_conn,
                                          r->fused ? NULL : r->labels)) != NULL; /* fused: its own */
    return ok ? CR_OK : cr_ctx_fail(ctx, CR_E_IO, "out of memory for inundation of '%s'", r->dem_path);
}

static void release(run *r)
{
    cr_layer_close(r->dem);
    cr_dem_tiles_close(r->tiles);
    cr_layer_close(r->vlm);
    free(r->vlm_m), free(r->vlm_valid);
    CSLDestroy(r->input_files);
    cr_sea_source_close(r->sea_file);
    cr_reach_free(r->sea_reach);
    for (int k = 0; r->reaches && k < r->o->level_count; k++)
        cr_reach_free(r->reaches[k]);
    free(r->reaches);
    for (int k = 0; r->low && r->high && k < r->o->level_count; k++)
        cr_reach_free(r->low[k]), cr_reach_free(r->high[k]);
    free(r->low);
    free(r->high);
    cr_reach_labels_free(r->labels);
    free(r->water);
    cr_grid_free(r->grid);
    cr_grid_free(r->part_grid);
    free(r->bits), free(r->lseed);
    free(r->z);
    free(r->depth);
    free(r->valid), free(r->cand), free(r->seed), free(r->sea), free(r->wet), free(r->joined);
    free(r->joined_high);
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
    cr_window at = in_grid(r, win);
    cr_status st = cr_layer_read_f64(ctx, r->vlm, &at, r->vlm_m, r->vlm_valid);
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

/* The DEM read over win (r->z, r->valid) into metres, the candidate-sea mask (nodata or at
 * or below 0) and its seeds (candidates on the raster edge), and the land motion. */
static cr_status prepare_tile(cr_ctx *ctx, run *r, const cr_window *win)
{
    cr_window at = in_grid(r, win);
    size_t n = (size_t)win->w * win->h, w = (size_t)win->w;
    double *z = r->z;
    const uint8_t *valid = r->valid;
    uint8_t *cand = r->cand, *seed = r->seed;
    if (r->to_m != 1.0) /* z * 1 is z: the loop is only time */
        for (size_t i = 0; i < n; i++)
            z[i] *= r->to_m;
    for (size_t i = 0; i < n; i++) /* invalid cells are NaN: a candidate by !valid */
        cand[i] = (uint8_t)(!valid[i] | (z[i] <= 0.0));
    memset(seed, 0, n);
    for (int y = 0; y < win->h; y++) { /* the seeds: candidates on the raster's edge */
        int row = at.y + y;
        size_t first = (size_t)y * w, last = first + w - 1;
        if (row == 0 || row == r->grid->height - 1) {
            memcpy(seed + first, cand + first, w);
            continue;
        }
        if (at.x == 0)
            seed[first] = cand[first];
        if (at.x + win->w == r->grid->width)
            seed[last] = cand[last];
    }
    if (r->bits && r->sea_reach) { /* phase 3: candidates joined to the sea outside the part */
        add_border_seeds(r, win, 0, r->seed);
        for (size_t i = 0; i < (size_t)win->w * win->h; i++)
            r->seed[i] &= r->cand[i];
    }
    return apply_vlm(ctx, r, win);
}

/* Reads the DEM over win in metres, with its validity, and the masks of prepare_tile(). */
static cr_status read_tile(cr_ctx *ctx, run *r, const cr_window *win)
{
    cr_window at = in_grid(r, win);
    cr_status st = cr_layer_read_f64(ctx, r->dem, &at, r->z, r->valid);
    return st == CR_OK ? prepare_tile(ctx, r, win) : st;
}

/* Fills r->sea for the tile: from the sea file, or resolved from the sea reach. */
static cr_status tile_sea(cr_ctx *ctx, run *r, const cr_window *win)
{
    cr_window at = in_grid(r, win);
    if (r->sea_file)
        return cr_sea_source_read(ctx, r->sea_file, &at, r->sea);
    return cr_reach_resolve(ctx, r->sea_reach, win, r->cand, r->seed, r->sea);
}

/* wet = sea, or valid land below W; fused with the sea, the land below W only. */
static void wet_cells(run *r, const cr_window *win, double water)
{
    size_t n = (size_t)win->w * win->h;
    if (r->fused) {
        for (size_t i = 0; i < n; i++)
            r->wet[i] = r->valid[i] && r->z[i] < water;
        return;
    }
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
    cr_window at = in_grid(r, win);
    cr_grid_cell_text(r->grid, at.x + (int)(i % (size_t)win->w), at.y + (int)(i / (size_t)win->w),
                      cell, sizeof cell);
    /* With land motion z is the moved land, z + vlm_m: an absurd motion overflows too. */
    int vlm = r->vlm || r->o->vlm * r->o->vlm_to_m != 0;
    return cr_ctx_fail(ctx, CR_E_DATA,
                       "DEM '%s': depth W - z = %.10g m at %s is beyond what a Float32 output "
                       "holds (%.10g); check the DEM's values, the water level%s",
                       r->dem_path, d, cell, (double)FLT_MAX,
                       vlm ? " and the vertical land motion (--vlm, the land's z + vlm_m)" : "");
}

/* Land planes per level: W, and with confidence W - k sigma and W + k sigma (parts.h). */
static int plane_step(const run *r)
{
    return r->conf ? 3 : 1;
}

static cr_status write_depths(cr_ctx *ctx, run *r, const cr_window *win, int k, cr_writer *w,
                              cr_inundation_stats *stats)
{
    size_t n = (size_t)win->w * win->h;
    double water = r->water[k];
    if (r->o->connectivity) {
        cr_status st = cr_reach_resolve(ctx, r->reaches[k], win, r->wet, level_seeds(r, win, k * plane_step(r)),
                                        r->joined);
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

/* The confidence outputs of level k over the tile (after its depths): the classes and
 * p_inundated, from the cells joined to the sea at W - k sigma (r->joined) and W + k sigma
 * (r->joined_high), or with no connectivity below those levels. r->depth is reused as the
 * buffer of each band in turn. */
static cr_status write_confidence(cr_ctx *ctx, run *r, const cr_window *win, int k,
                                  cr_writer *classes, cr_writer *probability,
                                  cr_inundation_stats *stats)
{
    size_t n = (size_t)win->w * win->h;
    double water = r->water[k], low = water - r->spread, high = water + r->spread;
    cr_status st = CR_OK;
    if (r->o->connectivity) {
        wet_cells(r, win, high);
        st = cr_reach_resolve(ctx, r->high[k], win, r->wet, level_seeds(r, win, 3 * k + 2), r->joined_high);
        wet_cells(r, win, low);
        if (st == CR_OK)
            st = cr_reach_resolve(ctx, r->low[k], win, r->wet, level_seeds(r, win, 3 * k + 1), r->joined);
    } else {
        for (size_t i = 0; i < n; i++) {
            r->joined[i] = r->valid[i] && r->z[i] < low;
            r->joined_high[i] = r->valid[i] && r->z[i] < high;
        }
    }
    if (st != CR_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        if (r->sea[i] || !r->valid[i]) {
            r->depth[i] = NAN;
        } else if (r->joined[i] && r->z[i] < low) {
            r->depth[i] = 2.0f;
            stats->confident_cells++;
        } else if (r->joined_high[i] && r->z[i] < high) {
            r->depth[i] = 1.0f;
            stats->possible_cells++;
        } else {
            r->depth[i] = 0.0f;
            stats->dry_cells++;
        }
    }
    st = cr_writer_write(ctx, classes, k + 1, win, r->depth);
    for (size_t i = 0; st == CR_OK && i < n; i++) {
        if (r->sea[i] || !r->valid[i])
            r->depth[i] = NAN;
        else if (r->joined_high[i] && r->z[i] < high)
            r->depth[i] = (float)cr_normal_cdf((water - r->z[i]) / r->sigma);
        else
            r->depth[i] = 0.0f;
    }
    return st == CR_OK ? cr_writer_write(ctx, probability, k + 1, win, r->depth) : st;
}

/* The outputs of a run: the depths, and with confidence the classes and probabilities. */
enum { OUT_DEPTH, OUT_CLASSES, OUT_PROBABILITY, OUT_COUNT };

/* Scans the reaches of level k at W -/+ k sigma over the tile. */
static cr_status scan_confidence(cr_ctx *ctx, run *r, const cr_window *win, int k)
{
    wet_cells(r, win, r->water[k] - r->spread);
    cr_status st = cr_reach_scan(ctx, r->low[k], win, r->wet, level_seeds(r, win, 3 * k + 1));
    wet_cells(r, win, r->water[k] + r->spread);
    return st == CR_OK ? cr_reach_scan(ctx, r->high[k], win, r->wet, level_seeds(r, win, 3 * k + 2)) : st;
}

/* The scan pass fused with the sea's (reach.h): the sea's tile, then the land of each level
 * (and its W -/+ k sigma) linked to it. */
static cr_status scan_fused(cr_ctx *ctx, run *r, const cr_window *win)
{
    r->seeds += count_set(r->seed, (size_t)win->w * win->h);
    cr_status st = cr_reach_scan_sea(ctx, r->sea_reach, win, r->cand, r->seed);
    for (int k = 0; k < r->o->level_count && st == CR_OK; k++) {
        wet_cells(r, win, r->water[k]);
        st = cr_reach_scan_linked(ctx, r->reaches[k], win, r->wet, r->sea_reach, r->dem_path);
        if (st == CR_OK && r->conf) {
            wet_cells(r, win, r->water[k] - r->spread);
            st = cr_reach_scan_linked(ctx, r->low[k], win, r->wet, r->sea_reach, r->dem_path);
        }
        if (st == CR_OK && r->conf) {
            wet_cells(r, win, r->water[k] + r->spread);
            st = cr_reach_scan_linked(ctx, r->high[k], win, r->wet, r->sea_reach, r->dem_path);
        }
    }
    if (st == CR_OK)
        cr_reach_scan_sea_done(r->sea_reach, win);
    return st;
}

/* After the fused scan pass: which land touches the sea. */
static void link_done(run *r)
{
    for (int k = 0; k < r->o->level_count; k++) {
        cr_reach_link_done(r->reaches[k], r->sea_reach);
        if (r->conf) {
            cr_reach_link_done(r->low[k], r->sea_reach);
            cr_reach_link_done(r->high[k], r->sea_reach);
        }
    }
}

/* One tile of a pass, its DEM read (r->z, r->valid). */
static cr_status run_tile(cr_ctx *ctx, run *r, pass p, const cr_window *win, cr_writer *const *w,
                          cr_inundation_stats *stats)
{
    size_t n = (size_t)win->w * win->h;
    cr_status st = prepare_tile(ctx, r, win);
    if (st != CR_OK)
        return st;
    if (p == PASS_SCAN && r->fused)
        return scan_fused(ctx, r, win);
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
            st = cr_reach_scan(ctx, r->reaches[k], win, r->wet, level_seeds(r, win, k * plane_step(r)));
        else
            st = write_depths(ctx, r, win, k, w[OUT_DEPTH], &stats[k]);
        if (st == CR_OK && r->conf && p == PASS_SCAN)
            st = scan_confidence(ctx, r, win, k);
        else if (st == CR_OK && r->conf)
            st = write_confidence(ctx, r, win, k, w[OUT_CLASSES], w[OUT_PROBABILITY], &stats[k]);
    }
    return st;
}

/* A pass over the tiles (run_pass). */
typedef struct pass_job {
    run *r;
    pass p;
    cr_writer *const *w;
    cr_inundation_stats *stats;
} pass_job;

/* One tile of a pass, decoded by dem_tiles: the tile's z and valid stand in for the run's
 * buffers while it runs. Reports progress 0..1 in the context's range. */
static cr_status pass_tile(cr_ctx *ctx, void *arg, int64_t index, const cr_window *win, double *z,
                           uint8_t *valid)
{
    pass_job *j = arg;
    run *r = j->r;
    double *own_z = r->z;
    uint8_t *own_valid = r->valid;
    r->z = z, r->valid = valid;
    cr_status st = run_tile(ctx, r, j->p, win, j->w, j->stats);
    r->z = own_z, r->valid = own_valid;
    if (st == CR_OK && !cr_ctx_progress(ctx, (double)(index + 1) / (double)r->windows, NULL))
        st = cr_ctx_fail(ctx, CR_E_CANCELLED, "inundation of '%s' was cancelled", r->dem_path);
    return st;
}

/* One pass over every tile in index order. */
static cr_status run_pass(cr_ctx *ctx, run *r, pass p, cr_writer *const *w, cr_inundation_stats *stats)
{
    pass_job j = {.r = r, .p = p, .w = w, .stats = stats};
    double start = cr_seconds();
    static const char *const names[] = {"sea", "scan", "write"};
    cr_status st = cr_dem_tiles_pass(ctx, r->tiles, pass_tile, &j);
    cr_ctx_log(ctx, CR_LOG_DEBUG, "inundation: the %s pass took %.2f s (%lld cells kept in memory)",
               names[p], cr_seconds() - start, (long long)cr_dem_tiles_kept_cells(r->tiles));
    return st;
}

/* What a run holds besides GDAL's block cache, the kept tiles, the tiles in flight and the
 * reaches' rows and tiles (which cr_dem_tiles_keep_bytes() adds): a tile's buffers and
 * labels, the union-find, the writer. A 10000 x 10000 DEM with nothing kept peaks at 159-163
 * MiB with a block cache of 64 MiB at 2 threads and T = 512 (bench/README.md): 96 MiB, of
 * which 9 MiB are the four tiles in flight and under 1 MiB the reaches. */
static const int64_t PASSES_BYTES = (int64_t)87 << 20;

/* The bytes of DEM tiles to keep (cr_dem_tiles_keep_bytes()); 0 when only one pass reads them. */
static int64_t keep_bytes(const cr_ctx *ctx, const run *r, int passes)
{
    const cr_grid *g = r->grid;
    int64_t tile = r->o->tile;
    int reaches = 0;
    if (r->o->connectivity)
        reaches = r->o->level_count * (r->conf ? 3 : 1) + (r->sea_reach ? 1 : 0);
    cr_dem_tiles_memory m = {
        .budget = cr_ctx_max_memory(ctx),
        .block_cache = GDALGetCacheMax64(),
        .fixed = PASSES_BYTES,
        .tile_cells = (tile < g->width ? tile : g->width) * (tile < g->height ? tile : g->height),
        .threads = cr_ctx_threads(ctx),
        .width = g->width,
        .tiles = cr_grid_window_count(g, r->o->tile),
        .reaches = reaches,
    };
    return cr_dem_tiles_keep_bytes(&m, passes);
}

/* Opens the DEM's tiles for the passes: kept in memory when more than one pass reads them. */
static cr_status open_tiles(cr_ctx *ctx, run *r, int passes)
{
    return cr_dem_tiles_open(ctx, r->dem_path, r->grid, r->part_grid, &r->part, r->o->tile,
                             cr_ctx_threads(ctx), keep_bytes(ctx, r, passes), &r->tiles);
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
    if (r->conf) {
        json_object *c = json_object_new_object();
        json_object_object_add(c, "dem_rmse_m", cr_json_number(o->dem_rmse_m, 10));
        json_object_object_add(c, "datum_rmse_m", cr_json_number(o->datum_rmse_m, 10));
        json_object_object_add(c, "sigma_m", cr_json_number(r->sigma, 10));
        json_object_object_add(c, "confidence", cr_json_number(o->confidence, 10));
        json_object_object_add(c, "k", cr_json_number(r->quantile, 10));
        json_object_object_add(p, "confidence", c);
    }
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

static const char *CLASSES_FORMULA =
    "class 2 (inundated with confidence >= P) where joined to the sea at W - k sigma, 1 (possibly "
    "inundated) where joined at W + k sigma only, 0 (dry with confidence >= P) elsewhere on land; "
    "sigma = sqrt(dem_rmse^2 + datum_rmse^2), k = Phi^-1(P) (NOAA mapping confidence); 255 on the "
    "sea and where the DEM has none.";

static const char *PROBABILITY_FORMULA =
    "p_inundated = Phi((W - z) / sigma) where joined to the sea at W + k sigma, 0 elsewhere on land; "
    "sigma = sqrt(dem_rmse^2 + datum_rmse^2), the errors of the cells taken as independent (as "
    "NOAA's mapping confidence does); nodata on the sea and where the DEM has none.";

/* The names and colours of the confidence classes 0, 1, 2: grey dry land, orange for the
 * uncertain band, blue water (as NOAA's viewer shows low confidence apart from water). */
static const char *const CLASS_COLORS[3] = {"#d9d9d9", "#fdae61", "#2166ac"};

/* The band metadata of the confidence outputs of level k. */
static cr_status confidence_metadata(cr_ctx *ctx, const run *r, cr_writer *w, int k, int which)
{
    /* Marks the band as no depth: score, zonal and sensitivity refuse it as --sea. */
    cr_status role = cr_writer_set_metadata(ctx, w, k + 1, CR_BAND_ROLE,
                                            which == OUT_CLASSES ? "confidence" : "p_inundated");
    if (role != CR_OK)
        return role;
    const char *keys[] = {"CONFIDENCE", "K", "SIGMA_M", "DEM_RMSE_M", "DATUM_RMSE_M",
                          "WATER_LEVEL_LOW_M", "WATER_LEVEL_HIGH_M"};
    double values[] = {r->o->confidence, r->quantile, r->sigma, r->o->dem_rmse_m, r->o->datum_rmse_m,
                       r->water[k] - r->spread, r->water[k] + r->spread};
    cr_status st = CR_OK;
    for (size_t j = 0; j < sizeof keys / sizeof keys[0] && st == CR_OK; j++) {
        char v[64];
        snprintf(v, sizeof v, "%.10g", values[j]);
        st = cr_writer_set_metadata(ctx, w, k + 1, keys[j], v);
    }
    return st;
}

static cr_status open_writer(cr_ctx *ctx, run *r, const char *out_path, int which, cr_writer **w)
{
    const cr_inundation_opts *o = r->o;
    char conf_names[3][96], p[32];
    const char *class_names[3] = {conf_names[0], conf_names[1], conf_names[2]};
    cr_number_shortest(o->confidence, p, sizeof p);
    snprintf(conf_names[0], sizeof conf_names[0], "Dry (confidence >= %s)", p);
    snprintf(conf_names[1], sizeof conf_names[1], "Possibly inundated");
    snprintf(conf_names[2], sizeof conf_names[2], "Inundated (confidence >= %s)", p);
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
        units[k] = which == OUT_DEPTH ? "m" : NULL;
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
        wo.formula = which == OUT_CLASSES       ? CLASSES_FORMULA
                     : which == OUT_PROBABILITY ? PROBABILITY_FORMULA
                     : r->vlm || o->vlm * o->vlm_to_m != 0 ? formula
                                                          : FORMULA;
        if (which == OUT_CLASSES) {
            wo.type = CR_WRITER_BYTE;
            wo.nodata = 255;
            wo.category_count = 3;
            wo.category_names = class_names;
            wo.category_colors = CLASS_COLORS;
        }
        wo.input_paths = (const char *const *)r->input_files;
        st = cr_writer_open(ctx, out_path, r->part_grid, &wo, w);
        if (st == CR_OK && r->parted)
            st = cr_tile_mark(ctx, *w, &o->part, &r->part, r->grid->width, r->grid->height);
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
        if (st == CR_OK && which != OUT_DEPTH)
            st = confidence_metadata(ctx, r, *w, k, which);
    }
    for (int k = 0; names && k < o->level_count; k++)
        free(names[k]);
    free(names);
    free(units);
    free(params);
    free(inputs);
    return st;
}

/* Adds a file's name (without its folder, which differs between machines) and size to a
 * fingerprint. */
static uint64_t fingerprint_file(uint64_t h, const char *path)
{
    if (!path)
        return cr_fnv(h, "-", 1);
    const char *name = CPLGetFilename(path);
    h = cr_fnv(h, name, strlen(name) + 1);
    struct stat sb;
    int64_t size = stat(path, &sb) == 0 ? (int64_t)sb.st_size : -1;
    return cr_fnv(h, &size, sizeof size);
}

/* What the phases of a run in parts must share (docs/inundation.md "In tiles across
 * machines"): the grid, the DEM, sea and VLM files (name and size), and every option that
 * changes the answer: connectivity, the thresholds of each land plane, the DEM unit, the
 * land motion. */
static uint64_t fingerprint(const run *r)
{
    const cr_inundation_opts *o = r->o;
    uint64_t h = CR_FNV_START;
    int32_t ints[] = {(int32_t)CR_PARTS_VERSION, r->grid->width, r->grid->height, o->connectivity,
                      r->sea_conn, o->level_count, r->conf, r->thresholds};
    h = cr_fnv(h, ints, sizeof ints);
    h = cr_fnv(h, r->grid->gt, sizeof r->grid->gt);
    if (r->grid->crs_wkt)
        h = cr_fnv(h, r->grid->crs_wkt, strlen(r->grid->crs_wkt));
    h = fingerprint_file(fingerprint_file(fingerprint_file(h, r->dem_path), o->sea_path), o->vlm_path);
    double doubles[] = {r->to_m, o->vlm, o->vlm_to_m, r->sigma, r->spread};
    h = cr_fnv(h, doubles, sizeof doubles);
    for (int k = 0; k < o->level_count; k++) {
        double w = o->levels[k].rise_m + o->tide_m + o->surge_m - o->datum_offset_m;
        h = cr_fnv(h, &w, sizeof w);
    }
    return h;
}

/* Phase 3: the join file's bits for the part, checked against the run's fingerprint. */
static cr_status read_join(cr_ctx *ctx, run *r)
{
    return cr_part_join_read(ctx, r->o->join_path, fingerprint(r), r->grid->width, r->grid->height,
                             &r->part, 1 + r->thresholds, &r->bits);
}

/* The VLM raster onto the grid. --vlm takes a number or a raster, so a mistyped number
 * ("5mm") arrives here as a path: the message says both readings failed, with GDAL's reason,
 * keeping the status of the open (1 for a missing file, 3 for one GDAL cannot read). */
static cr_status vlm_open(cr_ctx *ctx, const char *path, const cr_grid *grid, cr_layer **out)
{
    cr_status st = cr_layer_open(ctx, path, grid, NULL, out);
    if (st == CR_OK || st == CR_E_CANCELLED)
        return st;
    char *why = strdup(cr_ctx_error(ctx));
    st = cr_ctx_fail(ctx, st, "--vlm '%s' is neither a number nor a readable raster (%s)", path,
                     why ? why : "out of memory");
    free(why);
    return st;
}

static cr_status prepare(cr_ctx *ctx, run *r, const char *const *paths)
{
    const cr_inundation_opts *o = r->o;
    cr_status st = cr_grid_from_spec(ctx, &o->grid, r->dem_path, &r->grid);
    r->parted = cr_tile_given(&o->part);
    if (st == CR_OK)
        st = cr_tile_window(ctx, r->grid, &o->part, &r->part);
    if (st == CR_OK && !(r->part_grid = cr_grid_subgrid(r->grid, &r->part)))
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    for (int i = 0; i < OUT_COUNT && st == CR_OK; i++)
        if (paths[i])
            st = cr_output_check_size(ctx, paths[i], r->part_grid, o->level_count,
                                      cr_grid_spec_source(&o->grid, r->dem_path));
    if (st == CR_OK)
        st = dem_unit(ctx, r);
    if (st == CR_OK)
        st = cr_layer_open(ctx, r->dem_path, r->grid, NULL, &r->dem);
    if (st == CR_OK && o->sea_path)
        st = cr_sea_source_open(ctx, o->sea_path, r->grid, &r->sea_file);
    /* A continuous layer, as the DEM: bilinear onto a finer grid, average onto a coarser. */
    if (st == CR_OK && o->vlm_path && o->vlm_to_m > 0)
        st = vlm_open(ctx, o->vlm_path, r->grid, &r->vlm);
    r->sea_conn = o->connectivity ? o->connectivity : 8;
    r->thresholds = o->connectivity ? o->level_count * plane_step(r) : 0;
    if (st == CR_OK && o->join_path)
        st = read_join(ctx, r);
    r->fused = o->connectivity && !o->sea_path && !r->bits;
    if (st == CR_OK)
        st = allocate(ctx, r);
    for (int k = 0; st == CR_OK && k < o->level_count; k++)
        r->water[k] = o->levels[k].rise_m + o->tide_m + o->surge_m - o->datum_offset_m;
    r->windows = r->part_grid ? cr_grid_window_count(r->part_grid, o->tile) : 0;
    return st;
}

/* The files the run reads, which no output may replace: the DEM, the sea, the grid's
 * reference, the VLM raster and each projections file. A CSL. */
static char **input_files(const cr_inundation_opts *o, const char *dem_path)
{
    const char *one[] = {dem_path, o->sea_path, o->grid.ref, o->vlm_path, o->join_path};
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

/* out_path with the extension of its file name replaced by suffix. */
static char *beside(const char *out_path, const char *suffix)
{
    size_t stem = cr_path_stem(out_path);
    char *path = malloc(stem + strlen(suffix) + 1);
    if (path) {
        memcpy(path, out_path, stem);
        strcpy(path + stem, suffix);
    }
    return path;
}

cr_status cr_inundation_confidence_paths(cr_ctx *ctx, const char *out_path,
                                         const cr_inundation_opts *opts, char **confidence,
                                         char **probability)
{
    *confidence = opts->confidence_path ? strdup(opts->confidence_path) : beside(out_path, "_confidence.tif");
    *probability = opts->probability_path ? strdup(opts->probability_path)
                                          : beside(out_path, "_p_inundated.tif");
    if (*confidence && *probability)
        return CR_OK;
    free(*confidence), free(*probability);
    *confidence = *probability = NULL;
    return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
}

/* Every file the run writes (the depths, and with confidence the classes and
 * probabilities, and the styles), against every input, before any work. */
static cr_status check_outputs(cr_ctx *ctx, const run *r, const char *const *paths)
{
    const cr_inundation_opts *opts = r->o;
    cr_output_plan plan;
    cr_output_plan_init(&plan);
    cr_status st = CR_OK;
    /* Named as messages name them ("would be written twice, as the depth raster and as the
     * confidence classes"); a style by the file it styles, whose stem it shares. */
    const char *const role[OUT_COUNT] = {r->conf ? "depth raster" : "raster",
                                         "confidence classes", "p_inundated raster"};
    static const char *const style_role[OUT_COUNT] = {"QGIS style of the depth raster",
                                                      "QGIS style of the confidence classes",
                                                      "QGIS style of the p_inundated raster"};
    for (int i = 0; i < OUT_COUNT && st == CR_OK; i++)
        if (paths[i])
            st = cr_output_plan_add(ctx, &plan, paths[i], role[i]);
    int styled[OUT_COUNT] = {0}; /* each file has one style: two with one stem, two styles */
    for (const char *const *style = opts->styles; st == CR_OK && style && *style; style++) {
        const char *what = "QGIS style";
        size_t stem = cr_path_stem(*style);
        for (int i = 0, found = 0; i < OUT_COUNT && !found; i++)
            if (paths[i] && !styled[i] && cr_path_stem(paths[i]) == stem &&
                strncmp(paths[i], *style, stem) == 0) {
                what = style_role[i];
                styled[i] = found = 1;
            }
        st = cr_output_plan_add(ctx, &plan, *style, what);
    }
    if (st == CR_OK)
        st = cr_output_plan_check(ctx, &plan, (const char *const *)r->input_files, opts->overwrite);
    cr_output_plan_release(&plan);
    return st;
}

/* The default sea has no seed: nothing joins the land to it. */
static cr_status no_sea(cr_ctx *ctx, const char *dem_path)
{
    return cr_ctx_fail(ctx, CR_E_DATA,
                       "no sea found in DEM '%s': no nodata or elevation at or below 0 touches the "
                       "raster edge; give the sea with --sea or use --connectivity none",
                       dem_path);
}

cr_status cr_inundation(cr_ctx *ctx, const char *dem_path, const char *out_path,
                        const cr_inundation_opts *opts, cr_inundation_stats *stats,
                        int64_t *sea_cells)
{
    cr_status st = check_options(ctx, opts);
    if (st != CR_OK)
        return st;
    if (cr_tile_given(&opts->part) && !opts->join_path)
        return cr_ctx_fail(ctx, CR_E_USAGE, "the depths of a part need the join of every part's edges (--join)");
    run r = {.o = opts, .dem_path = dem_path, .conf = cr_inundation_has_confidence(opts),
             .input_files = input_files(opts, dem_path)};
    char *extra[2] = {NULL, NULL}; /* the classes and probabilities */
    if (r.conf) {
        r.sigma = hypot(opts->dem_rmse_m, opts->datum_rmse_m);
        r.quantile = cr_normal_quantile(opts->confidence);
        r.spread = r.quantile * r.sigma;
        st = cr_inundation_confidence_paths(ctx, out_path, opts, &extra[0], &extra[1]);
    }
    const char *paths[OUT_COUNT] = {out_path, extra[0], extra[1]};
    if (st == CR_OK)
        st = check_outputs(ctx, &r, paths);
    cr_inundation_stats *local = st == CR_OK ? calloc((size_t)opts->level_count, sizeof *local) : NULL;
    cr_writer *w[OUT_COUNT] = {NULL, NULL, NULL};
    if (st == CR_OK && !local)
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory for inundation of '%s'", dem_path);
    if (st == CR_OK)
        st = prepare(ctx, &r, paths);
    for (int i = 0; i < OUT_COUNT && st == CR_OK; i++)
        if (paths[i])
            st = open_writer(ctx, &r, paths[i], i, &w[i]);
    /* Progress: the passes share the first 60 %, the COG copies the rest. */
    int passes = (r.sea_reach && !r.fused ? 1 : 0) + (opts->connectivity ? 1 : 0) + 1;
    double span = 0.6 / passes, at = 0.0;
    if (st == CR_OK)
        st = open_tiles(ctx, &r, passes);
    if (st == CR_OK && r.sea_reach && !r.fused) {
        cr_ctx_set_progress_range(ctx, at, at + span);
        st = run_pass(ctx, &r, PASS_SEA, NULL, NULL);
        at += span;
        if (st == CR_OK && r.seeds == 0 && opts->connectivity && !r.parted)
            st = no_sea(ctx, dem_path);
    }
    if (st == CR_OK && opts->connectivity) {
        cr_ctx_set_progress_range(ctx, at, at + span);
        st = run_pass(ctx, &r, PASS_SCAN, NULL, NULL);
        at += span;
        if (st == CR_OK && r.fused)
            link_done(&r);
        if (st == CR_OK && r.fused && r.seeds == 0 && !r.parted)
            st = no_sea(ctx, dem_path);
        if (st == CR_OK && r.sea_file && r.seeds == 0 && !r.parted)
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
            cr_inundation_stats *s = &local[k];
            s->water_level_m = r.water[k];
            s->inundated_area_m2 = (double)s->inundated_cells * cell_m2;
            if (r.conf) {
                s->low_level_m = r.water[k] - r.spread;
                s->high_level_m = r.water[k] + r.spread;
                s->confident_area_m2 = (double)s->confident_cells * cell_m2;
                s->possible_area_m2 = (double)s->possible_cells * cell_m2;
                s->dry_area_m2 = (double)s->dry_cells * cell_m2;
            }
        }
        if (r.vlm_missing > 0)
            cr_ctx_log(ctx, CR_LOG_WARNING,
                       "VLM raster '%s' has no value for %lld land cells of DEM '%s': their land "
                       "motion is taken as 0",
                       opts->vlm_path, (long long)r.vlm_missing, dem_path);
        cr_dem_tiles_drop(r.tiles); /* the COG copy's memory */
        cr_ctx_set_progress_range(ctx, 0.6, 1.0);
        st = cr_writer_commit_all(ctx, w, OUT_COUNT); /* all of them or none */
        memset(w, 0, sizeof w);
    }
    cr_ctx_set_progress_range(ctx, 0.0, 1.0);
    for (int i = 0; i < OUT_COUNT; i++)
        cr_writer_abort(w[i]);
    if (st == CR_OK && stats)
        memcpy(stats, local, sizeof *local * (size_t)opts->level_count);
    if (st == CR_OK && sea_cells)
        *sea_cells = r.sea_cells;
    free(local);
    free(extra[0]), free(extra[1]);
    release(&r);
    return st;
}

/* ---- phase 1 of a run in parts: the edges of one part ---- */

/* The whole part in memory, for labelling it at once. */
typedef struct part_cells {
    double *z;
    uint8_t *valid, *cand, *seed, *land;
    cr_reach_labels *sea_labels, *land_labels;
} part_cells;

static void part_cells_free(part_cells *c)
{
    free(c->z), free(c->valid), free(c->cand), free(c->seed), free(c->land);
    cr_reach_labels_free(c->sea_labels);
    cr_reach_labels_free(c->land_labels);
}

/* Copies the tile's cells (a window of the part) into the part's arrays: the sea's
 * candidates and seeds are the --sea file's cells when there is one. */
static void keep_tile(const run *r, const cr_window *win, part_cells *c)
{
    for (int y = 0; y < win->h; y++) {
        size_t from = (size_t)y * win->w, to = (size_t)(win->y + y) * r->part.w + win->x;
        memcpy(c->z + to, r->z + from, sizeof *c->z * (size_t)win->w);
        memcpy(c->valid + to, r->valid + from, (size_t)win->w);
        memcpy(c->cand + to, r->sea_file ? r->sea + from : r->cand + from, (size_t)win->w);
        memcpy(c->seed + to, r->sea_file ? r->sea + from : r->seed + from, (size_t)win->w);
    }
}

/* Reads the part tile by tile (the windows the other phases read) into c. */
static cr_status read_part(cr_ctx *ctx, run *r, part_cells *c)
{
    size_t n = (size_t)r->part.w * r->part.h;
    c->z = malloc(sizeof *c->z * n);
    c->valid = malloc(n), c->cand = malloc(n), c->seed = malloc(n), c->land = malloc(n);
    c->sea_labels = cr_reach_labels_new(), c->land_labels = cr_reach_labels_new();
    if (!c->z || !c->valid || !c->cand || !c->seed || !c->land || !c->sea_labels || !c->land_labels)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory for a part of %d x %d cells of '%s'; use more tiles",
                           r->part.w, r->part.h, r->dem_path);
    cr_status st = CR_OK;
    for (int64_t i = 0; i < r->windows && st == CR_OK; i++) {
        cr_window win = cr_grid_window(r->part_grid, r->o->tile, i);
        st = read_tile(ctx, r, &win);
        if (st == CR_OK && r->sea_file)
            st = tile_sea(ctx, r, &win);
        if (st == CR_OK)
            keep_tile(r, &win, c);
        if (st == CR_OK && !cr_ctx_progress(ctx, 0.5 * (double)(i + 1) / (double)r->windows, NULL))
            st = cr_ctx_fail(ctx, CR_E_CANCELLED, "inundation of '%s' was cancelled", r->dem_path);
    }
    return st;
}

/* Fills a plane's labels of the part's border cells from a labelling of the part. */
static void border_labels(const run *r, const cr_reach_view *v, cr_part_plane *pl)
{
    int w = r->part.w, h = r->part.h;
    for (int x = 0; x < w; x++) {
        int32_t top = v->comp[x], bottom = v->comp[(size_t)(h - 1) * w + x];
        pl->labels[x] = top >= 0 ? v->border[top] : -1;
        pl->labels[w + x] = bottom >= 0 ? v->border[bottom] : -1;
    }
    for (int y = 0; y < h; y++) {
        int32_t left = v->comp[(size_t)y * w], right = v->comp[(size_t)y * w + w - 1];
        pl->labels[2 * w + y] = left >= 0 ? v->border[left] : -1;
        pl->labels[2 * w + h + y] = right >= 0 ? v->border[right] : -1;
    }
}

/* Orders (land, sea candidate) pairs. */
static int pair_cmp(const void *a, const void *b)
{
    const uint32_t *p = a, *q = b;
    return p[0] != q[0] ? (p[0] < q[0] ? -1 : 1) : p[1] != q[1] ? (p[1] < q[1] ? -1 : 1) : 0;
}

/* Adds the pair (land, sea) unless it was the last one added; fails when out of memory. */
static int add_pair(cr_part_plane *pl, int64_t *cap, uint32_t land, uint32_t sea)
{
    if (pl->pairs > 0 && pl->pair[2 * pl->pairs - 2] == land && pl->pair[2 * pl->pairs - 1] == sea)
        return 1;
    if (pl->pairs == *cap) {
        int64_t grown = *cap ? 2 * *cap : 1024;
        uint32_t *p = realloc(pl->pair, sizeof *p * (size_t)(2 * grown));
        if (!p)
            return 0;
        pl->pair = p;
        *cap = grown;
    }
    pl->pair[2 * pl->pairs] = land;
    pl->pair[2 * pl->pairs + 1] = sea;
    pl->pairs++;
    return 1;
}

/* The land plane of one threshold: the components of land below it that reach the part's
 * border, which of them touch (the cell or a neighbour) a sea candidate that is sea within
 * the part (seeded) and which sea candidates along the border they touch, for the join to
 * decide. */
static cr_status land_plane(cr_ctx *ctx, const run *r, part_cells *c, const cr_reach_view *sea,
                            double threshold, cr_part_plane *pl)
{
    int w = r->part.w, h = r->part.h;
    size_t n = (size_t)w * h;
    for (size_t i = 0; i < n; i++)
        c->land[i] = c->valid[i] && c->z[i] < threshold;
    cr_reach_view land;
    cr_status st = cr_reach_label_window(ctx, c->land_labels, w, h, r->o->connectivity, c->land, NULL, &land);
    if (st != CR_OK)
        return st;
    pl->count = land.border_count;
    if (!(pl->seeded = calloc((size_t)pl->count + 1, 1)))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory for the edges of '%s'", r->dem_path);
    border_labels(r, &land, pl);
    int reach = r->o->connectivity == 8;
    int64_t cap = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int32_t l = land.comp[(size_t)y * w + x];
            int32_t b = l >= 0 ? land.border[l] : -1;
            if (b < 0 || pl->seeded[b])
                continue;
            for (int ny = y - 1; ny <= y + 1; ny++)
                for (int nx = x - 1; nx <= x + 1; nx++) {
                    if (ny < 0 || ny >= h || nx < 0 || nx >= w || (!reach && nx != x && ny != y))
                        continue;
                    int32_t s = sea->comp[(size_t)ny * w + nx];
                    if (s < 0)
                        continue;
                    if (sea->seeded[s])
                        pl->seeded[b] = 1;
                    else if (sea->border[s] >= 0 && !add_pair(pl, &cap, (uint32_t)b, (uint32_t)sea->border[s]))
                        return cr_ctx_fail(ctx, CR_E_IO, "out of memory for the edges of '%s'", r->dem_path);
                }
        }
    if (pl->pairs > 1) { /* each pair once */
        qsort(pl->pair, (size_t)pl->pairs, 2 * sizeof *pl->pair, pair_cmp);
        int64_t k = 1;
        for (int64_t i = 1; i < pl->pairs; i++)
            if (pair_cmp(pl->pair + 2 * i, pl->pair + 2 * (k - 1)) != 0) {
                pl->pair[2 * k] = pl->pair[2 * i];
                pl->pair[2 * k + 1] = pl->pair[2 * i + 1];
                k++;
            }
        pl->pairs = k;
    }
    return CR_OK;
}

/* The threshold of land plane t (parts.h). */
static double plane_threshold(const run *r, int t)
{
    int k = t / plane_step(r), which = t % plane_step(r);
    return which == 0 ? r->water[k] : which == 1 ? r->water[k] - r->spread : r->water[k] + r->spread;
}

/* Labels the part and fills e: the sea's candidates, then each land plane. The labels of
 * the sea's candidates are kept while the land planes are labelled. */
static cr_status label_part(cr_ctx *ctx, run *r, part_cells *c, cr_part_edges *e)
{
    size_t n = (size_t)r->part.w * r->part.h;
    e->seeds = count_set(c->seed, n);
    cr_reach_view sea;
    cr_status st = cr_reach_label_window(ctx, c->sea_labels, r->part.w, r->part.h, r->sea_conn, c->cand,
                                         c->seed, &sea);
    if (st != CR_OK)
        return st;
    cr_part_plane *p0 = &e->plane[0];
    p0->count = sea.border_count;
    if (!(p0->seeded = calloc((size_t)p0->count + 1, 1)))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory for the edges of '%s'", r->dem_path);
    for (int32_t k = 0; k < sea.count; k++)
        if (sea.border[k] >= 0)
            p0->seeded[sea.border[k]] = sea.seeded[k];
    border_labels(r, &sea, p0);
    for (int t = 0; t < r->thresholds && st == CR_OK; t++) {
        st = land_plane(ctx, r, c, &sea, plane_threshold(r, t), &e->plane[1 + t]);
        if (st == CR_OK && !cr_ctx_progress(ctx, 0.5 + 0.5 * (double)(t + 1) / r->thresholds, NULL))
            st = cr_ctx_fail(ctx, CR_E_CANCELLED, "inundation of '%s' was cancelled", r->dem_path);
    }
    return st;
}

cr_status cr_inundation_edges(cr_ctx *ctx, const char *dem_path, const char *edges_path,
                              const cr_inundation_opts *opts)
{
    cr_status st = check_options(ctx, opts);
    if (st != CR_OK)
        return st;
    run r = {.o = opts, .dem_path = dem_path, .conf = cr_inundation_has_confidence(opts),
             .input_files = input_files(opts, dem_path)};
    if (r.conf) {
        r.sigma = hypot(opts->dem_rmse_m, opts->datum_rmse_m);
        r.quantile = cr_normal_quantile(opts->confidence);
        r.spread = r.quantile * r.sigma;
    }
    st = cr_outputs_check(ctx, edges_path, "edge file", NULL, (const char *const *)r.input_files,
                          opts->overwrite);
    const char *no_outputs[OUT_COUNT] = {NULL, NULL, NULL};
    if (st == CR_OK)
        st = prepare(ctx, &r, no_outputs);
    part_cells cells = {0};
    cr_part_edges e = {.full_w = r.grid ? r.grid->width : 0, .full_h = r.grid ? r.grid->height : 0,
                       .win = r.part, .tile_index = opts->part.index, .tile_count = opts->part.count,
                       .connectivity = opts->connectivity, .sea_connectivity = r.sea_conn,
                       .thresholds = r.thresholds};
    if (st == CR_OK) {
        e.fingerprint = fingerprint(&r);
        st = cr_part_edges_alloc(ctx, &e);
    }
    if (st == CR_OK)
        st = read_part(ctx, &r, &cells);
    if (st == CR_OK)
        st = label_part(ctx, &r, &cells, &e);
    part_cells_free(&cells);
    if (st == CR_OK)
        st = cr_part_edges_write(ctx, edges_path, &e, opts->overwrite);
    cr_part_edges_release(&e);
    release(&r);
    return st;
}

cr_status cr_inundation_join(cr_ctx *ctx, const char *const *edge_paths, int count, const char *join_path,
                             int overwrite)
{
    cr_status st = cr_outputs_check(ctx, join_path, "join file", NULL, edge_paths, overwrite);
    return st == CR_OK ? cr_part_join(ctx, edge_paths, count, join_path, overwrite) : st;
}
