/* zonal.c: `cityrisk zonal`: the rasters read once, tile by tile, for every zone.
 *
 * Each zone's bounding box is cut by the 512 x 512 tiles of the grid. A tile met by
 * at least one zone is read (only the part the zones' boxes cover) by a worker, which
 * computes the coverage of each of its zones over the tile and their partial sums; the
 * calling thread merges the partials into the zones in tile order, and a zone is
 * finished (its statistics computed, its cells' lists freed) when its last tile is
 * merged.
 *
 * Split across machines (--tile, --window with --partial), a run reads only the blocks of
 * its window and writes each zone's partial accumulator over each block to a part file
 * instead of merging it; cr_zonal_merge() merges the parts' records in the same block
 * order, so that every zone gets the same sums in the same order, to the last bit. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cpl_string.h>
#include <json-c/json.h>

#include "cityrisk/json.h"
#include "cityrisk/raster.h"
#include "core/inputs.h"
#include "core/internal.h"
#include "core/text.h"
#include "core/output.h"
#include "core/pool.h"
#include "zonal_internal.h"

void cr_zonal_opts_init(cr_zonal_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    cr_classes_default(&opts->classes);
    opts->demand_share = 1.0;
    opts->min_coverage = CR_ZONAL_MIN_COVERAGE;
}

void cr_zonal_summary_clear(cr_zonal_summary *summary)
{
    if (!summary)
        return;
    cr_grid_free(summary->grid);
    CSLDestroy(summary->renamed);
    free(summary->exposure_path);
    memset(summary, 0, sizeof *summary);
}

/* One input band read on the grid. */
typedef struct source {
    const char *role; /* "exposure", "arrivals", "sea", ..., or the generic name */
    const char *path;
    cr_layer_opts layer;
    char label[96];   /* for provenance: "sea ssp245-2100" */
    int input;        /* the domain input (cr_input) it is, whose range its values must lie
                       * in, or -1 */
    cr_layer *probe;  /* as opened once on the grid: the workers share its polygons */
} source;

/* What a tile's worker hands to the merge. */
typedef struct tile_out {
    double *acc;      /* [zone in tile][plan.acc_size] */
    cr_wlist *lists;  /* [zone in tile][plan.nlists] */
    size_t cap;       /* zones in tile the buffers hold */
    int bad_source;   /* the first source with a value beyond its range, or -1 */
    size_t bad_cell;  /* its index in the read window */
    float bad_value;
} tile_out;

/* A worker's own readers and buffers. */
typedef struct worker_state {
    cr_layer **layers; /* [source] */
    float **values;    /* [source], a tile's cells */
    double *coverage;
    cr_coverage_scratch scratch;
} worker_state;

typedef struct job {
    const cr_zonal_opts *o;
    cr_grid *grid;
    const char *grid_path; /* what the grid was taken from, for messages */
    source *src;
    cr_zplan plan;
    cr_zones zones;
    /* Tiles met by zones, in raster order, and their zones (CSR). */
    int64_t ntiles;
    int64_t *tile_index;   /* [ntiles]: the grid window index */
    cr_window *tile_read;  /* [ntiles]: the part of the tile the zones' boxes cover */
    int64_t *tile_start;   /* [ntiles + 1] */
    int64_t *tile_zones;   /* zone ids */
    int *remaining;        /* [zone]: tiles not merged yet */
    double **acc;          /* [zone]: while its tiles are merged */
    cr_wlist **lists;      /* [zone]: while its tiles are merged */
    double *values;        /* [column][zone] */
    cr_column *columns;
    int ncolumns;
    int64_t without_data;  /* zones finished without a valid cell in any raster */
    int workers, slots;
    worker_state *ws;
    tile_out *out;
    cr_window part;        /* the cells read: the whole grid, or --tile's or --window's */
    FILE *part_file;       /* --partial: where the records go */
    int64_t part_records;
    cr_class_spec classes; /* the class scheme of score_mean, once resolved */
    int classes_resolved;
} job;

/* ---- the inputs ---- */

/* Adds a source; input is the domain input it is (read with the resampling of its kind),
 * or -1 for another raster (continuous). */
static cr_status add_source(cr_ctx *ctx, job *j, int *count, const char *role, const char *path,
                            int band, int input, const char *label)
{
    source *grown = realloc(j->src, (size_t)(*count + 1) * sizeof *grown);
    if (!grown)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    j->src = grown;
    source *s = &j->src[*count];
    s->role = role;
    s->path = path;
    cr_input_layer_opts(input, NULL, band, &s->layer);
    s->probe = NULL;
    if (input == CR_INPUT_WATER) { /* polygons: Aqueduct's basins */
        s->layer.field = j->o->water_field;
        s->layer.vector_layer = j->o->water_layer;
    } else if (input == CR_INPUT_INFORMAL) {
        s->layer.vector_layer = j->o->informal_layer;
    }
    snprintf(s->label, sizeof s->label, "%s", label ? label : role);
    s->input = input;
    return (*count)++, CR_OK;
}

/* The band of ds whose description is name, 0 when none. */
static int band_by_description(GDALDatasetH ds, const char *name)
{
    for (int b = 1; b <= GDALGetRasterCount(ds); b++)
        if (strcmp(GDALGetDescription(GDALGetRasterBand(ds, b)), name) == 0)
            return b;
    return 0;
}

/* The exposure's score (and water_uplift) bands. */
static cr_status add_exposure(cr_ctx *ctx, job *j, int *n)
{
    GDALDatasetH ds;
    cr_status st = cr_open_raster(ctx, j->o->exposure_path, &ds);
    if (st != CR_OK)
        return st;
    int score = band_by_description(ds, "score"), uplift = band_by_description(ds, "water_uplift");
    GDALClose(ds);
    if (!score)
        return cr_ctx_fail(ctx, CR_E_DATA,
                           "exposure raster '%s' has no band described 'score' (an output of "
                           "cityrisk score has one)",
                           j->o->exposure_path);
    j->plan.src_score = *n;
    st = add_source(ctx, j, n, "exposure", j->o->exposure_path, score, -1, "exposure score");
    if (st == CR_OK && uplift && !j->o->population_path) {
        j->plan.src_uplift = *n;
        st = add_source(ctx, j, n, "exposure", j->o->exposure_path, uplift, -1,
                        "exposure water_uplift");
    }
    return st;
}

/* Every band of the sea raster is a scenario, named by its SCENARIO metadata. */
static cr_status add_sea(cr_ctx *ctx, job *j, int *n, cr_zonal_summary *s)
{
    GDALDatasetH ds;
    cr_status st = cr_open_raster(ctx, j->o->sea_path, &ds);
    if (st != CR_OK)
        return st;
    if ((st = cr_check_sea_depths(ctx, j->o->sea_path, ds)) != CR_OK) {
        GDALClose(ds);
        return st;
    }
    int bands = GDALGetRasterCount(ds);
    if (bands > CR_ZONAL_MAX_SCENARIOS) {
        GDALClose(ds);
        return cr_ctx_fail(ctx, CR_E_DATA, "sea raster '%s' has %d bands; at most %d scenarios",
                           j->o->sea_path, bands, CR_ZONAL_MAX_SCENARIOS);
    }
    for (int b = 1; st == CR_OK && b <= bands; b++) {
        const char *name = GDALGetMetadataItem(GDALGetRasterBand(ds, b), "SCENARIO", NULL);
        char fallback[32];
        snprintf(fallback, sizeof fallback, "band%d", b);
        snprintf(s->scenario[b - 1], sizeof s->scenario[b - 1], "%s", name && *name ? name : fallback);
        if (bands > 1)
            cr_field_suffix(s->scenario[b - 1], j->plan.scen_suffix[b - 1],
                            sizeof j->plan.scen_suffix[b - 1]);
        memcpy(s->scenario_suffix[b - 1], j->plan.scen_suffix[b - 1], sizeof s->scenario_suffix[b - 1]);
        char label[96];
        snprintf(label, sizeof label, "sea %s", s->scenario[b - 1]);
        j->plan.src_sea[b - 1] = *n;
        st = add_source(ctx, j, n, cr_input_name(CR_INPUT_SEA), j->o->sea_path, b, CR_INPUT_SEA,
                        label);
    }
    j->plan.nscen = s->scenarios = bands;
    GDALClose(ds);
    return st;
}

/* Where the plan keeps the source of domain input k; NULL for the sea, which has one
 * per scenario. */
static int *input_source(cr_zplan *p, int input)
{
    switch (input) {
    case CR_INPUT_WATER:
        return &p->src_water;
    case CR_INPUT_INFORMAL:
        return &p->src_informal;
    case CR_INPUT_ARRIVALS:
        return &p->src_arrivals;
    case CR_INPUT_POPULATION:
        return &p->src_population;
    default:
        return NULL;
    }
}

/* The domain inputs in the order of the sources: the grid is the first one's when no
 * exposure raster is given, and provenance lists them so. */
static const int SOURCE_ORDER[] = {CR_INPUT_ARRIVALS, CR_INPUT_WATER, CR_INPUT_INFORMAL,
                                   CR_INPUT_POPULATION, CR_INPUT_SEA};

/* Adds a source for each domain input given (one per band of the sea raster). */
static cr_status add_inputs(cr_ctx *ctx, job *j, int *n, cr_zonal_summary *s)
{
    const cr_zonal_opts *o = j->o;
    const char *path[CR_INPUTS] = {[CR_INPUT_SEA] = o->sea_path, [CR_INPUT_WATER] = o->water_path,
                                   [CR_INPUT_INFORMAL] = o->informal_path,
                                   [CR_INPUT_ARRIVALS] = o->arrivals_path,
                                   [CR_INPUT_POPULATION] = o->population_path};
    cr_status st = CR_OK;
    for (size_t i = 0; st == CR_OK && i < sizeof SOURCE_ORDER / sizeof *SOURCE_ORDER; i++) {
        int k = SOURCE_ORDER[i];
        if (!path[k])
            continue;
        if (k == CR_INPUT_SEA) {
            st = add_sea(ctx, j, n, s);
            continue;
        }
        *input_source(&j->plan, k) = *n;
        st = add_source(ctx, j, n, cr_input_name(k), path[k], 1, k, NULL);
    }
    return st;
}

/* The source a weighted_mean's weight names: a generic raster, else a domain one (not
 * the sea, whose scenarios are several), else the exposure's score. */
static int weight_source(job *j, const char *name)
{
    for (int g = 0; g < j->plan.ngeneric; g++)
        if (strcmp(j->o->rasters[g].name, name) == 0)
            return j->plan.src_generic + g;
    for (int k = 0; k < CR_INPUTS; k++) {
        int *at = input_source(&j->plan, k);
        if (at && strcmp(cr_input_name(k), name) == 0)
            return *at;
    }
    return strcmp(name, "score") == 0 ? j->plan.src_score : -1;
}

/* A -r raster that is not on the grid and not declared a count is averaged or interpolated
 * onto it: right for values per area (a density, an elevation), wrong for counts per cell
 * (people, arrivals), whose sum then grows with the ratio of the cell areas (a 100 m
 * population raster over a 30 m grid: 11 times; issue 18 saw 14.6 M people for 1.32 M). Its
 * sum or mean is warned about, with the remedy. */
static void warn_resampled(cr_ctx *ctx, const job *j, int k, const char *resampling)
{
    const source *s = &j->src[k];
    if (s->layer.kind == CR_KIND_COUNT || !resampling || strcmp(resampling, "none") == 0)
        return;
    const char *stat = NULL;
    for (int i = 0; i < j->plan.nstats && !stat; i++)
        if (j->plan.stats[i].kind == CR_STAT_SUM || j->plan.stats[i].kind == CR_STAT_MEAN)
            stat = j->plan.stats[i].suffix;
    if (!stat)
        return;
    cr_ctx_log(ctx, CR_LOG_WARNING,
               "-r %s: '%s' is not on the grid and is resampled (%s) as a continuous raster, so "
               "%s_%s counts its values per source cell on every grid cell; if it holds counts "
               "per cell (people, arrivals), give --counts %s to read it with sum resampling, "
               "which keeps its total",
               s->role, s->path, resampling, s->role, stat, s->role);
}

/* Lists the sources in plan order, opens each once on the grid (so that a bad input
 * fails before any work) and lays out the accumulators. */
static cr_status prepare_sources(cr_ctx *ctx, job *j, cr_zonal_summary *s)
{
    const cr_zonal_opts *o = j->o;
    cr_zplan *p = &j->plan;
    p->src_score = p->src_uplift = p->src_arrivals = p->src_water = p->src_informal =
        p->src_population = -1;
    int n = 0;
    /* Polygons where a raster is needed, said with the remedy before anything is read. */
    cr_status st = cr_refuse_polygons(ctx, "exposure", o->exposure_path, 0,
                                      "the output of cityrisk score");
    const char *by_input[] = {[CR_INPUT_SEA] = o->sea_path, [CR_INPUT_ARRIVALS] = o->arrivals_path,
                              [CR_INPUT_POPULATION] = o->population_path};
    for (size_t k = 0; st == CR_OK && k < sizeof by_input / sizeof *by_input; k++)
        if (by_input[k])
            st = cr_input_refuse_polygons(ctx, (int)k, NULL, by_input[k]);
    for (int g = 0; st == CR_OK && g < o->nrasters; g++) {
        char role[CR_STAT_NAME_MAX + 8];
        snprintf(role, sizeof role, "-r %s", o->rasters[g].name);
        st = cr_refuse_polygons(ctx, role, o->rasters[g].path, o->rasters[g].count,
                                "-r reads raster bands (polygons with a value: rasterize them, or "
                                "give Aqueduct basins to --water and settlements to --informal)");
    }
    if (st == CR_OK && o->exposure_path)
        st = add_exposure(ctx, j, &n);
    if (st == CR_OK)
        st = add_inputs(ctx, j, &n, s);
    p->src_generic = n;
    p->ngeneric = o->nrasters;
    p->generic = o->rasters;
    for (int g = 0; st == CR_OK && g < o->nrasters; g++) {
        for (int k = 0; k < g; k++)
            if (strcmp(o->rasters[k].name, o->rasters[g].name) == 0)
                return cr_ctx_fail(ctx, CR_E_USAGE, "-r: the name '%s' is given twice",
                                   o->rasters[g].name);
        st = add_source(ctx, j, &n, o->rasters[g].name, o->rasters[g].path, o->rasters[g].band, -1,
                        NULL);
        if (st == CR_OK && o->rasters[g].count)
            j->src[n - 1].layer.kind = CR_KIND_COUNT; /* sum resampling: the total is kept */
    }
    if (st != CR_OK)
        return st;
    p->nsources = n;
    if (n == 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "no raster given: --exposure, --arrivals, --sea, "
                                            "--water, --informal, --population or -r NAME=RASTER");
    p->stats = o->stats;
    p->nstats = o->nstats;
    p->demand_share = o->demand_share;
    p->weight_src = malloc((size_t)(p->nstats ? p->nstats : 1) * sizeof *p->weight_src);
    if (!p->weight_src)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    for (int k = 0; k < p->nstats; k++) {
        p->weight_src[k] = -1;
        if (p->stats[k].kind != CR_STAT_WEIGHTED_MEAN)
            continue;
        p->weight_src[k] = weight_source(j, p->stats[k].weight);
        if (p->weight_src[k] < 0)
            return cr_ctx_fail(ctx, CR_E_USAGE,
                               "--stats weighted_mean(%s): no raster named '%s' (a -r name, or "
                               "arrivals, population, water, informal, score when given)",
                               p->stats[k].weight, p->stats[k].weight);
    }
    cr_zplan_layout(p);
    /* The grid is --grid's, or --crs's over --bounds or the first raster's extent, else the
     * first raster's: polygons (water, informal) have none. Without any raster, --crs's
     * extent is the zones' (the study area), and without --crs there is no grid to take. */
    int first = 0;
    while (first < n && cr_holds_polygons(j->src[first].path))
        first++;
    if (first == n && !o->grid.ref && !o->grid.crs)
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "every layer given is polygons, which have no grid: give the analysis "
                           "grid with --grid REF, or --crs CRS --resolution M (over the zones' "
                           "extent, or --bounds)");
    j->grid_path = first < n ? j->src[first].path : o->zones_path;
    if ((st = cr_grid_from_spec(ctx, &o->grid, j->grid_path, &j->grid)) != CR_OK)
        return st;
    if (o->grid.ref)
        j->grid_path = o->grid.ref;
    for (int k = 0; k < n && st == CR_OK; k++) {
        const char *resampling = NULL;
        st = cr_input_probe_keep(ctx, j->src[k].input, NULL, j->src[k].path, j->grid,
                                 &j->src[k].layer, &resampling, &j->src[k].probe);
        if (st == CR_OK && k >= p->src_generic)
            warn_resampled(ctx, j, k, resampling);
    }
    return st;
}

/* ---- tiles ---- */

/* Calls fn for every grid tile (index) zone z's box meets. */
#define FOR_ZONE_TILES(box, cols, index)                                                           \
    for (int ty_ = (box).y / CR_BLOCK_SIZE; (box).w && ty_ <= ((box).y + (box).h - 1) / CR_BLOCK_SIZE; \
         ty_++)                                                                                    \
        for (int tx_ = (box).x / CR_BLOCK_SIZE; tx_ <= ((box).x + (box).w - 1) / CR_BLOCK_SIZE;     \
             tx_++)                                                                                \
            for (int64_t index = (int64_t)ty_ * (cols) + tx_, once_ = 1; once_; once_ = 0)

/* 1 when grid block t lies in the part of the grid the run reads (blocks lie wholly
 * inside or outside it: parts are aligned to them). */
static int block_in_part(const job *j, int64_t t)
{
    cr_window b = cr_grid_window(j->grid, CR_BLOCK_SIZE, t);
    return b.x >= j->part.x && b.x < j->part.x + j->part.w && b.y >= j->part.y &&
           b.y < j->part.y + j->part.h;
}

/* Lists the tiles of the part met by zones, each with its zones in feature order. */
static cr_status index_tiles(cr_ctx *ctx, job *j)
{
    int64_t all = cr_grid_window_count(j->grid, CR_BLOCK_SIZE);
    int cols = (j->grid->width + CR_BLOCK_SIZE - 1) / CR_BLOCK_SIZE;
    int64_t *count = calloc((size_t)all + 1, sizeof *count);
    int64_t *slot = malloc(((size_t)all + 1) * sizeof *slot);
    j->remaining = calloc((size_t)(j->zones.count ? j->zones.count : 1), sizeof *j->remaining);
    if (!count || !slot || !j->remaining) {
        free(count);
        free(slot);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    }
    int64_t pairs = 0;
    for (int64_t z = 0; z < j->zones.count; z++)
        FOR_ZONE_TILES(j->zones.zone[z].box, cols, t) {
            if (!block_in_part(j, t))
                continue;
            count[t]++;
            j->remaining[z]++;
            pairs++;
        }
    j->ntiles = 0;
    for (int64_t t = 0; t < all; t++)
        if (count[t])
            slot[t] = j->ntiles++;
    j->tile_index = malloc((size_t)(j->ntiles ? j->ntiles : 1) * sizeof *j->tile_index);
    j->tile_read = malloc((size_t)(j->ntiles ? j->ntiles : 1) * sizeof *j->tile_read);
    j->tile_start = calloc((size_t)j->ntiles + 1, sizeof *j->tile_start);
    j->tile_zones = malloc((size_t)(pairs ? pairs : 1) * sizeof *j->tile_zones);
    if (!j->tile_index || !j->tile_read || !j->tile_start || !j->tile_zones) {
        free(count);
        free(slot);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    }
    for (int64_t t = 0; t < all; t++)
        if (count[t]) {
            j->tile_index[slot[t]] = t;
            j->tile_start[slot[t] + 1] = j->tile_start[slot[t]] + count[t];
            j->tile_read[slot[t]] = (cr_window){0, 0, 0, 0};
        }
    memset(count, 0, ((size_t)all + 1) * sizeof *count);
    for (int64_t z = 0; z < j->zones.count; z++)
        FOR_ZONE_TILES(j->zones.zone[z].box, cols, t) {
            if (!block_in_part(j, t))
                continue;
            int64_t k = slot[t];
            j->tile_zones[j->tile_start[k] + count[t]++] = z;
            cr_window part = cr_window_intersect(j->zones.zone[z].box, cr_grid_window(j->grid, CR_BLOCK_SIZE, t));
            cr_window *r = &j->tile_read[k];
            if (r->w == 0) {
                *r = part;
            } else {
                int x1 = r->x + r->w > part.x + part.w ? r->x + r->w : part.x + part.w;
                int y1 = r->y + r->h > part.y + part.h ? r->y + r->h : part.y + part.h;
                r->x = r->x < part.x ? r->x : part.x;
                r->y = r->y < part.y ? r->y : part.y;
                r->w = x1 - r->x;
                r->h = y1 - r->y;
            }
        }
    free(count);
    free(slot);
    return CR_OK;
}

/* ---- the parallel pass ---- */

static cr_status worker_init(cr_ctx *ctx, job *j, worker_state *w)
{
    if (w->layers)
        return CR_OK;
    int n = j->plan.nsources;
    size_t cells = (size_t)CR_BLOCK_SIZE * CR_BLOCK_SIZE;
    w->layers = calloc((size_t)n, sizeof *w->layers);
    w->values = calloc((size_t)n, sizeof *w->values);
    w->coverage = malloc(cells * sizeof *w->coverage);
    if (!w->layers || !w->values || !w->coverage)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    for (int k = 0; k < n; k++) {
        if (!(w->values[k] = malloc(cells * sizeof(float))))
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        cr_status st = cr_layer_share(ctx, j->src[k].probe, &j->src[k].layer, &w->layers[k]);
        if (st != CR_OK)
            return st;
    }
    return CR_OK;
}

/* Makes room in out for nz zones and empties their partials. */
static int tile_out_reset(const cr_zplan *plan, tile_out *out, size_t nz)
{
    if (nz > out->cap) {
        double *acc = realloc(out->acc, nz * plan->acc_size * sizeof *acc);
        if (!acc)
            return 0;
        out->acc = acc;
        size_t nl = nz * (size_t)plan->nlists;
        cr_wlist *lists = realloc(out->lists, (nl ? nl : 1) * sizeof *lists);
        if (!lists)
            return 0;
        memset(lists + out->cap * (size_t)plan->nlists, 0,
               (nl - out->cap * (size_t)plan->nlists) * sizeof *lists);
        out->lists = lists;
        out->cap = nz;
    }
    for (size_t i = 0; i < nz; i++)
        cr_zacc_init(plan, out->acc + i * plan->acc_size);
    for (size_t i = 0; i < nz * (size_t)plan->nlists; i++)
        out->lists[i].n = 0;
    return 1;
}

/* The value beyond its range that a tile found, as an error naming it and its cell. */
static cr_status range_error(cr_ctx *ctx, const job *j, int64_t index, const tile_out *t)
{
    const cr_window rw = j->tile_read[index];
    const source *s = &j->src[t->bad_source];
    return cr_input_range_error(ctx, s->input, NULL, s->path, s->layer.band, (double)t->bad_value,
                                j->grid, rw.x + (int)(t->bad_cell % (size_t)rw.w),
                                rw.y + (int)(t->bad_cell / (size_t)rw.w));
}

static cr_status work(cr_ctx *ctx, void *arg, int64_t index, int worker, int slot)
{
    job *j = arg;
    worker_state *w = &j->ws[worker];
    tile_out *out = &j->out[slot];
    const cr_zplan *plan = &j->plan;
    cr_status st = worker_init(ctx, j, w);
    if (st != CR_OK)
        return st;
    const cr_window rw = j->tile_read[index];
    size_t cells = (size_t)rw.w * (size_t)rw.h;
    out->bad_source = -1;
    for (int k = 0; k < plan->nsources; k++) {
        if ((st = cr_layer_read_f32(ctx, w->layers[k], &rw, w->values[k], NULL)) != CR_OK)
            return st;
        if (j->src[k].input < 0 || out->bad_source >= 0)
            continue;
        /* Values just outside their layer's range are clamped, as `cityrisk score` does. */
        int64_t clamped = 0;
        size_t bad = cr_input_check_block(j->src[k].input, NULL, w->values[k], cells, &clamped);
        if (bad < cells) {
            out->bad_source = k;
            out->bad_cell = bad;
            out->bad_value = w->values[k][bad];
            return CR_OK; /* emit() reports it, so that the first in tile order wins */
        }
    }
    int64_t first = j->tile_start[index], nz = j->tile_start[index + 1] - first;
    if (!tile_out_reset(plan, out, (size_t)nz))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    for (int64_t i = 0; i < nz; i++) {
        const cr_zone *zone = &j->zones.zone[j->tile_zones[first + i]];
        cr_window sub = cr_window_intersect(zone->box, rw);
        if (sub.w == 0)
            continue;
        if ((st = cr_coverage(ctx, &zone->rings, &sub, &w->scratch, w->coverage)) != CR_OK)
            return st;
        double *acc = out->acc + (size_t)i * plan->acc_size;
        cr_wlist *lists = out->lists + (size_t)i * plan->nlists;
        const float *row[plan->nsources > 0 ? plan->nsources : 1];
        for (int r = 0; r < sub.h; r++) {
            size_t base = (size_t)(sub.y - rw.y + r) * rw.w + (size_t)(sub.x - rw.x);
            for (int k = 0; k < plan->nsources; k++)
                row[k] = w->values[k] + base;
            if (!cr_zacc_add_row(plan, acc, row, w->coverage + (size_t)r * sub.w, sub.w,
                                 j->zones.cell_area_m2[sub.y + r], lists))
                return cr_ctx_fail(ctx, CR_E_IO, "out of memory for the cells of a zone");
        }
    }
    return CR_OK;
}

/* Computes zone z's columns and frees what it held. */
static void finish_zone(job *j, int64_t z)
{
    const cr_zone *zone = &j->zones.zone[z];
    if (!cr_zacc_finish(&j->plan, j->acc[z], j->lists[z], zone->area_m2, zone->empty,
                        j->values, j->zones.count, z))
        j->without_data++;
    free(j->acc[z]);
    j->acc[z] = NULL;
    for (int l = 0; j->lists[z] && l < j->plan.nlists; l++)
        cr_wlist_free(&j->lists[z][l]);
    free(j->lists[z]);
    j->lists[z] = NULL;
}

/* Moves the cells of part to the end of list and empties part, so that neither the
 * slots nor the zones keep more memory than the cells of the zones being worked on:
 * the first part is taken over whole, later ones are appended into an exact size. */
static int take_list(cr_wlist *list, cr_wlist *part)
{
    if (part->n == 0) {
        cr_wlist_free(part);
        return 1;
    }
    if (list->n == 0) {
        cr_wlist_free(list);
        *list = *part;
        memset(part, 0, sizeof *part);
        return 1;
    }
    size_t n = list->n + part->n;
    if (n > list->cap) {
        double *x = realloc(list->x, n * sizeof *x);
        if (!x)
            return 0;
        list->x = x;
        double *w = realloc(list->w, n * sizeof *w);
        if (!w)
            return 0;
        list->w = w;
        list->cap = n;
    }
    memcpy(list->x + list->n, part->x, part->n * sizeof *part->x);
    memcpy(list->w + list->n, part->w, part->n * sizeof *part->w);
    list->n = n;
    cr_wlist_free(part);
    return 1;
}

static cr_status emit(cr_ctx *ctx, void *arg, int64_t index, int slot)
{
    job *j = arg;
    tile_out *out = &j->out[slot];
    const cr_zplan *plan = &j->plan;
    if (out->bad_source >= 0)
        return range_error(ctx, j, index, out);
    int64_t first = j->tile_start[index], nz = j->tile_start[index + 1] - first;
    for (int64_t i = 0; j->part_file && i < nz; i++)
        cr_zpart_write_record(j->part_file, plan, j->tile_index[index], j->tile_zones[first + i],
                              out->acc + (size_t)i * plan->acc_size,
                              out->lists + (size_t)i * plan->nlists, j->part_records++ == 0);
    for (int64_t i = 0; !j->part_file && i < nz; i++) {
        int64_t z = j->tile_zones[first + i];
        if (!j->acc[z]) {
            j->acc[z] = malloc(plan->acc_size * sizeof(double));
            j->lists[z] = calloc((size_t)(plan->nlists ? plan->nlists : 1), sizeof(cr_wlist));
            if (!j->acc[z] || !j->lists[z])
                return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
            cr_zacc_init(plan, j->acc[z]);
        }
        cr_zacc_merge(plan, j->acc[z], out->acc + (size_t)i * plan->acc_size);
        for (int l = 0; l < plan->nlists; l++)
            if (!take_list(&j->lists[z][l], &out->lists[(size_t)i * plan->nlists + l]))
                return cr_ctx_fail(ctx, CR_E_IO, "out of memory for the cells of a zone");
        if (--j->remaining[z] == 0)
            finish_zone(j, z);
    }
    if (!cr_ctx_progress(ctx, (double)(index + 1) / (double)j->ntiles, NULL))
        return cr_ctx_fail(ctx, CR_E_CANCELLED, "zonal statistics were cancelled");
    return CR_OK;
}

/* The zones' accumulators while their blocks are merged, and the table of results. */
static cr_status alloc_results(cr_ctx *ctx, job *j)
{
    size_t nz = (size_t)(j->zones.count ? j->zones.count : 1);
    j->acc = calloc(nz, sizeof *j->acc);
    j->lists = calloc(nz, sizeof *j->lists);
    j->values = malloc((size_t)(j->ncolumns ? j->ncolumns : 1) * nz * sizeof *j->values);
    if (!j->acc || !j->lists || !j->values)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    return CR_OK;
}

static cr_status run_tiles(cr_ctx *ctx, job *j)
{
    j->workers = cr_ctx_threads(ctx);
    j->slots = 2 * j->workers;
    j->ws = calloc((size_t)j->workers, sizeof *j->ws);
    j->out = calloc((size_t)j->slots, sizeof *j->out);
    if (!j->ws || !j->out)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    cr_status st = alloc_results(ctx, j);
    if (st != CR_OK)
        return st;
    /* Zones that meet no tile (outside the grid, or empty) are finished now; a part
     * finishes none (the merge does). */
    for (int64_t z = 0; !j->part_file && z < j->zones.count; z++)
        if (j->remaining[z] == 0)
            finish_zone(j, z);
    return cr_parallel_ordered(ctx, j->workers, j->slots, j->ntiles, work, emit, j);
}

/* ---- after every zone ---- */

/* 1 when zone z has the data coverage to be classed and ranked (opts->min_coverage, with
 * 1e-9 for the rounding of a coverage that is exactly the threshold). */
static int well_covered(const job *j, int64_t z)
{
    double cov = j->values[(size_t)j->plan.col_coverage * (size_t)j->zones.count + (size_t)z];
    return !isnan(cov) && cov >= j->o->min_coverage - 1e-9;
}

/* The class scheme of score_mean: the user's; else the breaks the exposure raster's class
 * band records; else INFORM's. A part resolves it (it has the exposure raster at hand) and
 * records it for the merge. */
static void resolve_classes(cr_ctx *ctx, job *j, cr_zonal_summary *s)
{
    if (j->classes_resolved)
        return;
    const cr_zonal_opts *o = j->o;
    cr_class_spec spec = o->classes;
    snprintf(s->class_scheme, sizeof s->class_scheme, "%s", cr_class_kind_name(spec.kind));
    if (!o->classes_given) {
        cr_classes_default(&spec);
        snprintf(s->class_scheme, sizeof s->class_scheme, "fixed (INFORM)");
        GDALDatasetH ds = NULL;
        if (cr_open_raster(ctx, o->exposure_path, &ds) == CR_OK) {
            int band = band_by_description(ds, "class");
            const char *text = band ? GDALGetMetadataItem(GDALGetRasterBand(ds, band), "CLASS_BREAKS", NULL) : NULL;
            json_object *doc = text ? json_tokener_parse(text) : NULL;
            int n = doc && json_object_is_type(doc, json_type_array) ? (int)json_object_array_length(doc) : 0;
            if (n >= 1 && n < CR_CLASSES_MAX) {
                spec.kind = CR_CLASSES_FIXED;
                spec.count = n + 1;
                for (int k = 0; k < n; k++)
                    spec.breaks[k] = json_object_get_double(json_object_array_get_idx(doc, k));
                snprintf(s->class_scheme, sizeof s->class_scheme, "from the exposure raster");
            }
            json_object_put(doc);
            GDALClose(ds);
        }
        cr_ctx_clear_error(ctx);
    }
    j->classes = spec;
    j->classes_resolved = 1;
}

/* The class breaks: the scheme's (resolve_classes()), computed from the zones' score_mean
 * for data-derived kinds. */
static cr_status class_breaks(cr_ctx *ctx, job *j, cr_zonal_summary *s)
{
    resolve_classes(ctx, j, s);
    const cr_class_spec spec = j->classes;
    const double *mean = j->values + (size_t)j->plan.col_score_mean * (size_t)j->zones.count;
    s->class_count = spec.count;
    if (!cr_classes_need_data(&spec)) {
        memcpy(s->breaks, spec.breaks, sizeof(double) * (size_t)(spec.count - 1));
        return CR_OK;
    }
    double *v = malloc((size_t)(j->zones.count ? j->zones.count : 1) * sizeof *v);
    if (!v)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    size_t n = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t z = 0; z < j->zones.count; z++)
        if (!isnan(mean[z]) && well_covered(j, z)) { /* zones not classed do not set breaks */
            v[n++] = mean[z];
            lo = fmin(lo, mean[z]);
            hi = fmax(hi, mean[z]);
        }
    cr_status st = CR_OK;
    if (n == 0) {
        cr_ctx_log(ctx, CR_LOG_WARNING, "no zone has a score: every score_class is null");
        for (int k = 0; k < spec.count - 1; k++)
            s->breaks[k] = NAN;
    } else if (spec.kind == CR_CLASSES_EQUAL) {
        cr_equal_breaks(lo, hi, spec.count, s->breaks);
    } else if (spec.kind == CR_CLASSES_QUANTILE) {
        st = cr_quantile_breaks(ctx, v, n, spec.count, s->breaks);
    } else {
        /* Zones are few next to cells: Jenks runs on every score_mean. */
        st = cr_jenks_breaks(ctx, v, n, spec.count, s->breaks);
        if (st != CR_OK)
            st = cr_ctx_fail(ctx, st, "--classes jenks:%d over the zones' score_mean: %s",
                             spec.count, cr_ctx_error(ctx));
    }
    free(v);
    return st;
}

/* A zone's score_mean, for ranking. */
typedef struct ranked {
    double mean;
    int64_t zone;
} ranked;

/* Highest score first; equal scores in feature order. */
static int by_score_desc(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->mean != y->mean)
        return (x->mean < y->mean) - (x->mean > y->mean);
    return (x->zone > y->zone) - (x->zone < y->zone);
}

/* score_class from the breaks, score_rank 1 for the highest score_mean (equal means
 * share a rank, the next rank skips: 1, 2, 2, 4), for the zones with the data coverage to
 * be ranked: a zone with a tenth of its area covered was ranked 1st on a mean of that
 * tenth (issue 18). */
static cr_status class_and_rank(cr_ctx *ctx, job *j, const cr_zonal_summary *s)
{
    int64_t nz = j->zones.count;
    const double *mean = j->values + (size_t)j->plan.col_score_mean * (size_t)nz;
    double *cls = j->values + (size_t)j->plan.col_score_class * (size_t)nz;
    double *rank = j->values + (size_t)j->plan.col_score_rank * (size_t)nz;
    ranked *order = malloc((size_t)(nz ? nz : 1) * sizeof *order);
    if (!order)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    int64_t n = 0;
    for (int64_t z = 0; z < nz; z++) {
        int ranks = !isnan(mean[z]) && well_covered(j, z);
        cls[z] = !ranks || isnan(s->breaks[0]) ? NAN
                                               : cr_class_of(s->breaks, s->class_count - 1, mean[z]);
        rank[z] = NAN;
        if (ranks)
            order[n++] = (ranked){mean[z], z};
    }
    qsort(order, (size_t)n, sizeof *order, by_score_desc);
    for (int64_t i = 0; i < n; i++)
        rank[order[i].zone] = i > 0 && order[i].mean == order[i - 1].mean ? rank[order[i - 1].zone]
                                                                           : (double)(i + 1);
    free(order);
    return CR_OK;
}

/* Totals across zones for the summary. */
static double column_total(const job *j, const char *name)
{
    for (int c = 0; c < j->ncolumns; c++)
        if (strcmp(j->columns[c].name, name) == 0) {
            double sum = 0.0;
            for (int64_t z = 0; z < j->zones.count; z++) {
                double v = j->values[(size_t)c * (size_t)j->zones.count + (size_t)z];
                sum += isnan(v) ? 0.0 : v;
            }
            return sum;
        }
    return NAN;
}

static void summarise(job *j, cr_zonal_summary *s)
{
    s->zones = j->zones.count;
    s->zones_repaired = j->zones.repaired;
    s->zones_empty = j->zones.empty;
    s->columns = j->ncolumns;
    s->tiles_read = (int)j->ntiles;
    s->zones_without_data = j->without_data;
    s->min_coverage = j->o->min_coverage;
    s->zones_below_coverage = 0;
    for (int64_t z = 0; z < j->zones.count; z++)
        s->zones_below_coverage += !well_covered(j, z);
    s->arrivals_total = column_total(j, "arrivals_total");
    s->arrivals_informal = column_total(j, "arrivals_informal");
    s->arrivals_high_water_stress = column_total(j, "arrivals_high_water_stress");
    for (int k = 0; k < s->scenarios; k++) {
        char name[128];
        snprintf(name, sizeof name, "arrivals_flooded%s", j->plan.scen_suffix[k]);
        s->arrivals_flooded[k] = column_total(j, name);
        snprintf(name, sizeof name, "arrivals_compound%s", j->plan.scen_suffix[k]);
        s->arrivals_compound[k] = column_total(j, name);
    }
}

/* ---- provenance ---- */

static char **provenance(cr_ctx *ctx, const job *j, const cr_zonal_summary *s)
{
    json_object *inputs = json_object_new_array();
    json_object *zones = json_object_new_object();
    json_object_object_add(zones, "role", json_object_new_string("zones"));
    json_object_object_add(zones, "path", json_object_new_string(j->o->zones_path));
    if (j->o->layer)
        json_object_object_add(zones, "layer", json_object_new_string(j->o->layer));
    json_object_array_add(inputs, zones);
    for (int k = 0; k < j->plan.nsources; k++) {
        json_object *in = json_object_new_object();
        json_object_object_add(in, "role", json_object_new_string(j->src[k].label));
        json_object_object_add(in, "path", json_object_new_string(j->src[k].path));
        json_object_object_add(in, "band", json_object_new_int(j->src[k].layer.band));
        json_object_object_add(in, "kind", json_object_new_string(
                                               j->src[k].layer.kind == CR_KIND_COUNT ? "count" : "continuous"));
        json_object_array_add(inputs, in);
    }
    json_object *par = json_object_new_object();
    json_object *stats = json_object_new_array();
    for (int k = 0; k < j->plan.nstats; k++)
        json_object_array_add(stats, json_object_new_string(j->plan.stats[k].suffix));
    json_object_object_add(par, "stats", stats);
    json_object_object_add(par, "coverage", json_object_new_string("exact cell fractions"));
    json_object_object_add(par, "demand_share", cr_json_number(j->plan.demand_share, 6));
    json_object_object_add(par, "min_coverage", cr_json_number(j->o->min_coverage, 6));
    /* The fields that name the zones: `cityrisk map` labels by the name field. */
    if (j->o->id_field)
        json_object_object_add(par, "id_field", json_object_new_string(j->o->id_field));
    if (j->o->name_field)
        json_object_object_add(par, "name_field", json_object_new_string(j->o->name_field));
    if (j->plan.src_score >= 0) {
        json_object *cls = json_object_new_object();
        json_object_object_add(cls, "scheme", json_object_new_string(s->class_scheme));
        json_object *br = json_object_new_array();
        for (int k = 0; k < s->class_count - 1; k++)
            json_object_array_add(br, cr_json_number(s->breaks[k], 6));
        json_object_object_add(cls, "breaks", br);
        json_object_object_add(par, "classes", cls);
    }
    return cr_provenance_items(
        ctx, inputs, par,
        "f = exact fraction of a cell inside the zone, ca = f x cell area; arrivals_total = sum f a; "
        "flood_area_share = sum ca [d > 0] / area; arrivals_flooded = sum f a [d > 0]; "
        "informal_area_share = sum ca v / area; informal_flooded_share = sum f v [d > 0] / sum f v; "
        "arrivals_informal = sum f a v; water_stress_mean = sum ca b / sum ca; water_stress_arrivals "
        "= sum f a b / sum f a; arrivals_high_water_stress = sum f a [b >= 3]; arrivals_compound = "
        "sum f a [d > 0][v >= 0.5][b >= 3]; score_mean = sum ca S / sum ca; score_p90 = weighted "
        "quantile 0.9 of S; score_arrivals = sum f a S / sum f a; <name>_count = sum f, _sum = sum "
        "f x, _mean = sum f x / sum f");
}

/* ---- the command ---- */

static void job_free(job *j)
{
    for (int w = 0; j->ws && w < j->workers; w++) {
        for (int k = 0; k < j->plan.nsources; k++) {
            if (j->ws[w].layers)
                cr_layer_close(j->ws[w].layers[k]);
            if (j->ws[w].values)
                free(j->ws[w].values[k]);
        }
        free(j->ws[w].layers);
        free(j->ws[w].values);
        free(j->ws[w].coverage);
        cr_coverage_scratch_free(&j->ws[w].scratch);
    }
    free(j->ws);
    for (int s = 0; j->out && s < j->slots; s++) {
        for (size_t i = 0; i < j->out[s].cap * (size_t)j->plan.nlists; i++)
            cr_wlist_free(&j->out[s].lists[i]);
        free(j->out[s].acc);
        free(j->out[s].lists);
    }
    free(j->out);
    for (int64_t z = 0; j->acc && z < j->zones.count; z++) {
        free(j->acc[z]);
        for (int l = 0; j->lists[z] && l < j->plan.nlists; l++)
            cr_wlist_free(&j->lists[z][l]);
        free(j->lists[z]);
    }
    free(j->acc);
    free(j->lists);
    free(j->values);
    free(j->columns);
    free(j->remaining);
    free(j->tile_index);
    free(j->tile_read);
    free(j->tile_start);
    free(j->tile_zones);
    free(j->plan.weight_src);
    for (int k = 0; j->src && k < j->plan.nsources; k++)
        cr_layer_close(j->src[k].probe);
    free(j->src);
    cr_zones_free(&j->zones);
    cr_grid_free(j->grid);
}

/* Two statistics must not share a column (compared without case, as SQLite and dBase
 * do): a -r name can make one that a domain raster makes too. */
static cr_status check_column_names(cr_ctx *ctx, const job *j)
{
    for (int a = 0; a < j->ncolumns; a++)
        for (int b = a + 1; b < j->ncolumns; b++)
            if (strcasecmp(j->columns[a].name, j->columns[b].name) == 0)
                return cr_ctx_fail(ctx, CR_E_USAGE,
                                   "two statistics would be written as '%s'; give the -r raster "
                                   "another name",
                                   j->columns[b].name);
    return CR_OK;
}

/* Every path read, for the check that the output replaces none of them. */
static const char **input_paths(const job *j)
{
    const char **paths = calloc((size_t)j->plan.nsources + 3, sizeof *paths);
    if (!paths)
        return NULL;
    paths[0] = j->o->zones_path;
    for (int k = 0; k < j->plan.nsources; k++)
        paths[k + 1] = j->src[k].path;
    paths[j->plan.nsources + 1] = j->o->grid.ref;
    return paths;
}

/* Checks every file the run writes (a Shapefile's .dbf, a style; or the part file),
 * against every input and each other, before any work. paths: the inputs. */
static cr_status check_outputs(cr_ctx *ctx, const job *j, const char *out_path,
                               const char *const *paths)
{
    const cr_zonal_opts *opts = j->o;
    if (opts->partial)
        return cr_outputs_check(ctx, out_path, "zonal part", NULL, paths, opts->overwrite);
    if (cr_output_is_stream(out_path))
        return CR_OK;
    GDALDriverH drv = NULL;
    cr_output_plan plan;
    cr_output_plan_init(&plan);
    cr_status st = cr_zonal_driver(ctx, out_path, opts, &drv);
    if (st == CR_OK)
        st = cr_output_plan_add_vector(ctx, &plan, out_path, GDALGetDriverShortName(drv));
    char *fields = st == CR_OK ? cr_zonal_fields_path(out_path, GDALGetDriverShortName(drv)) : NULL;
    if (fields)
        st = cr_output_plan_add(ctx, &plan, fields, "field names");
    free(fields);
    if (st == CR_OK)
        st = cr_output_plan_add_styles(ctx, &plan, opts->styles);
    if (st == CR_OK)
        st = cr_output_plan_check(ctx, &plan, paths, opts->overwrite);
    cr_output_plan_release(&plan);
    return st;
}

/* What needs every zone's statistics (classes, ranks, totals), then the output: the end
 * of a run over the whole grid and of a merge of parts alike. */
static cr_status conclude(cr_ctx *ctx, job *j, const char *out_path, cr_zonal_summary *summary)
{
    cr_status st = CR_OK;
    if (j->plan.col_score_mean >= 0) {
        st = class_breaks(ctx, j, summary);
        if (st == CR_OK)
            st = class_and_rank(ctx, j, summary);
    }
    if (st == CR_OK) {
        summarise(j, summary);
        char **md = provenance(ctx, j, summary);
        cr_ctx_set_progress_range(ctx, 0.9, 1.0);
        double start = cr_seconds();
        st = cr_zonal_write(ctx, out_path, j->o, j->columns, j->ncolumns, j->values,
                            j->zones.count, md, summary);
        cr_ctx_log(ctx, CR_LOG_DEBUG, "zonal: writing took %.2f s", cr_seconds() - start);
        CSLDestroy(md);
        cr_ctx_set_progress_range(ctx, 0.0, 1.0);
    }
    if (st == CR_OK) {
        summary->grid = j->grid;
        j->grid = NULL;
        if (j->o->exposure_path && !(summary->exposure_path = strdup(j->o->exposure_path)))
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    }
    return st;
}

/* ---- part files: what a part records of its run ---- */

static json_object *string_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static json_object *numbers_json(const double *v, size_t n)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(a, cr_zpart_json_number(v[i]));
    return a;
}

static json_object *ints_json(const int *v, int n)
{
    json_object *a = json_object_new_array();
    for (int i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_int(v[i]));
    return a;
}

static json_object *zones_json(const job *j, const char *fingerprint)
{
    const cr_zonal_opts *o = j->o;
    json_object *zones = json_object_new_object(), *area = json_object_new_array();
    json_object *empty = json_object_new_array();
    json_object_object_add(zones, "path", json_object_new_string(o->zones_path));
    json_object_object_add(zones, "layer", string_or_null(o->layer));
    json_object_object_add(zones, "id_field", string_or_null(o->id_field));
    json_object_object_add(zones, "name_field", string_or_null(o->name_field));
    json_object_object_add(zones, "fingerprint", json_object_new_string(fingerprint));
    json_object_object_add(zones, "count", json_object_new_int64(j->zones.count));
    json_object_object_add(zones, "repaired", json_object_new_int64(j->zones.repaired));
    for (int64_t z = 0; z < j->zones.count; z++) {
        json_object_array_add(area, cr_zpart_json_number(j->zones.zone[z].area_m2));
        if (j->zones.zone[z].empty)
            json_object_array_add(empty, json_object_new_int64(z));
    }
    json_object_object_add(zones, "area_m2", area);
    json_object_object_add(zones, "empty", empty);
    return zones;
}

static json_object *sources_json(const job *j)
{
    json_object *sources = json_object_new_array();
    for (int k = 0; k < j->plan.nsources; k++) {
        json_object *in = json_object_new_object();
        json_object_object_add(in, "label", json_object_new_string(j->src[k].label));
        json_object_object_add(in, "path", json_object_new_string(j->src[k].path));
        json_object_object_add(in, "band", json_object_new_int(j->src[k].layer.band));
        json_object_object_add(in, "count", json_object_new_int(j->src[k].layer.kind == CR_KIND_COUNT));
        json_object_array_add(sources, in);
    }
    return sources;
}

/* Where each input sits among the sources, and the statistics asked. */
static json_object *plan_json(const job *j, const cr_zonal_summary *s)
{
    const cr_zplan *p = &j->plan;
    json_object *plan = json_object_new_object();
    int src[] = {p->src_score, p->src_uplift, p->src_arrivals, p->src_water, p->src_informal,
                 p->src_population, p->src_generic};
    json_object_object_add(plan, "sources", ints_json(src, (int)(sizeof src / sizeof *src)));
    json_object_object_add(plan, "sea", ints_json(p->src_sea, p->nscen));
    json_object *names = json_object_new_array(), *suffixes = json_object_new_array();
    for (int k = 0; k < p->nscen; k++) {
        json_object_array_add(names, json_object_new_string(s->scenario[k]));
        json_object_array_add(suffixes, json_object_new_string(p->scen_suffix[k]));
    }
    json_object_object_add(plan, "scenarios", names);
    json_object_object_add(plan, "scenario_suffixes", suffixes);
    json_object *rasters = json_object_new_array(), *stats = json_object_new_array();
    for (int g = 0; g < p->ngeneric; g++) {
        json_object *r = json_object_new_object();
        json_object_object_add(r, "name", json_object_new_string(p->generic[g].name));
        json_object_object_add(r, "path", json_object_new_string(p->generic[g].path));
        json_object_object_add(r, "band", json_object_new_int(p->generic[g].band));
        json_object_object_add(r, "count", json_object_new_int(p->generic[g].count));
        json_object_array_add(rasters, r);
    }
    for (int k = 0; k < p->nstats; k++) {
        json_object *st = json_object_new_object();
        json_object_object_add(st, "kind", json_object_new_int(p->stats[k].kind));
        json_object_object_add(st, "arg", cr_zpart_json_number(p->stats[k].arg));
        json_object_object_add(st, "weight", json_object_new_string(p->stats[k].weight));
        json_object_object_add(st, "suffix", json_object_new_string(p->stats[k].suffix));
        json_object_object_add(st, "weight_source", json_object_new_int(p->weight_src[k]));
        json_object_array_add(stats, st);
    }
    json_object_object_add(plan, "rasters", rasters);
    json_object_object_add(plan, "stats", stats);
    json_object_object_add(plan, "demand_share", cr_zpart_json_number(p->demand_share));
    return plan;
}

/* What every part of one run shares, and the merge needs: the grid, the zones (their
 * file's fingerprint, areas), the inputs, the options, the class scheme. */
static json_object *run_json(const job *j, const cr_zonal_summary *s, const char *fingerprint)
{
    const cr_zonal_opts *o = j->o;
    json_object *run = json_object_new_object(), *grid = json_object_new_object();
    json_object_object_add(grid, "crs_wkt", json_object_new_string(j->grid->crs_wkt ? j->grid->crs_wkt : ""));
    json_object_object_add(grid, "geotransform", numbers_json(j->grid->gt, 6));
    json_object_object_add(grid, "width", json_object_new_int(j->grid->width));
    json_object_object_add(grid, "height", json_object_new_int(j->grid->height));
    json_object_object_add(run, "grid", grid);
    json_object_object_add(run, "zones", zones_json(j, fingerprint));
    json_object_object_add(run, "sources", sources_json(j));
    json_object_object_add(run, "plan", plan_json(j, s));
    json_object_object_add(run, "min_coverage", cr_zpart_json_number(o->min_coverage));
    json_object_object_add(run, "exposure", string_or_null(o->exposure_path));
    if (j->classes_resolved) {
        json_object *cls = json_object_new_object();
        json_object_object_add(cls, "kind", json_object_new_int(j->classes.kind));
        json_object_object_add(cls, "count", json_object_new_int(j->classes.count));
        json_object_object_add(cls, "breaks", numbers_json(j->classes.breaks, CR_CLASSES_MAX));
        json_object_object_add(cls, "scheme", json_object_new_string(s->class_scheme));
        json_object_object_add(run, "classes", cls);
    }
    return run;
}

/* The part's window as the part file says it: "tile": "I/N" (or null), "window". */
static void part_header(const job *j, char *text, size_t size)
{
    char tile[48] = "null";
    if (j->o->tile.count > 0)
        snprintf(tile, sizeof tile, "\"%d/%d\"", j->o->tile.index, j->o->tile.count);
    snprintf(text, size, "\"part\":{\"tile\":%s,\"window\":[%d,%d,%d,%d]}", tile, j->part.x,
             j->part.y, j->part.w, j->part.h);
}

/* --partial: reads the part's blocks and writes their records, then what the merge needs
 * of the run, to a temporary file published at out_path when complete. */
static cr_status write_part(cr_ctx *ctx, job *j, const char *out_path, cr_zonal_summary *s)
{
    char fingerprint[96], header[160];
    cr_temp temp = CR_TEMP_NONE;
    FILE *f = NULL;
    cr_status st = cr_zpart_fingerprint(ctx, j->o->zones_path, fingerprint, sizeof fingerprint);
    if (st == CR_OK)
        st = cr_temp_file(ctx, out_path, "part", &temp);
    if (st == CR_OK && !(f = fopen(temp.path, "w")))
        st = cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", out_path, strerror(errno));
    if (st == CR_OK) {
        fprintf(f, "{\"format\":\"%s\",\"version\":%d,\"records\":[", CR_ZPART_FORMAT,
                CR_ZONAL_PART_VERSION);
        j->part_file = f;
        cr_ctx_set_progress_range(ctx, 0.1, 0.95);
        st = run_tiles(ctx, j);
        cr_ctx_set_progress_range(ctx, 0.0, 1.0);
        j->part_file = NULL;
    }
    if (st == CR_OK && j->plan.src_score >= 0)
        resolve_classes(ctx, j, s);
    char *run = st == CR_OK ? cr_json_take_text(run_json(j, s, fingerprint)) : NULL;
    if (st == CR_OK && !run)
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    if (st == CR_OK) {
        part_header(j, header, sizeof header);
        fprintf(f, "\n],\"record_count\":%" PRId64 ",\"blocks\":%" PRId64 ",%s,\"run\":%s}\n",
                j->part_records, j->ntiles, header, run);
    }
    free(run);
    if (f && (ferror(f) | (fclose(f) != 0)) && st == CR_OK)
        st = cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", out_path, strerror(errno));
    if (st == CR_OK)
        st = cr_temp_publish(ctx, &temp, out_path, j->o->overwrite);
    cr_temp_discard(&temp);
    if (st == CR_OK) {
        snprintf(s->driver, sizeof s->driver, "zonal part");
        s->zones = j->zones.count;
        s->zones_repaired = j->zones.repaired;
        s->zones_empty = j->zones.empty;
        s->columns = j->ncolumns;
        s->tiles_read = (int)j->ntiles;
        s->min_coverage = j->o->min_coverage;
        /* Totals come with the merge. */
        s->arrivals_total = s->arrivals_informal = s->arrivals_high_water_stress = NAN;
        for (int k = 0; k < CR_ZONAL_MAX_SCENARIOS; k++)
            s->arrivals_flooded[k] = s->arrivals_compound[k] = NAN;
        s->grid = j->grid;
        j->grid = NULL;
    }
    return st;
}

cr_status cr_zonal(cr_ctx *ctx, const char *out_path, const cr_zonal_opts *opts,
                   cr_zonal_summary *summary)
{
    memset(summary, 0, sizeof *summary);
    if (!opts->zones_path || !*opts->zones_path)
        return cr_ctx_fail(ctx, CR_E_USAGE, "no zones given (--zones)");
    if (!out_path || !*out_path)
        return cr_ctx_fail(ctx, CR_E_USAGE, "no output given (-o)");
    if (!(opts->min_coverage >= 0.0 && opts->min_coverage <= 1.0))
        return cr_ctx_fail(ctx, CR_E_USAGE, "--min-coverage %g: give a share of the zone's area, 0 to 1",
                           opts->min_coverage);
    if (cr_tile_given(&opts->tile) && !opts->partial)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--tile and --window compute a part of the zones' "
                                            "statistics: give --partial, then join the parts "
                                            "with --merge");
    job j = {0};
    j.o = opts;
    cr_status st = prepare_sources(ctx, &j, summary);
    if (st == CR_OK)
        st = cr_tile_window(ctx, j.grid, &opts->tile, &j.part);
    const char **paths = st == CR_OK ? input_paths(&j) : NULL;
    if (st == CR_OK && !paths)
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    if (st == CR_OK)
        st = check_outputs(ctx, &j, out_path, paths);
    free(paths);
    if (st == CR_OK) {
        double start = cr_seconds();
        /* Zones cost little to read, except the rare one that needs a costly repair. */
        cr_ctx_set_progress_range(ctx, 0.0, 0.1);
        st = cr_zones_load(ctx, opts, j.grid, j.grid_path, &j.zones);
        cr_ctx_set_progress_range(ctx, 0.0, 1.0);
        cr_ctx_log(ctx, CR_LOG_DEBUG, "zonal: reading the zones took %.2f s", cr_seconds() - start);
    }
    if (st == CR_OK && !cr_zplan_columns(&j.plan, &j.columns, &j.ncolumns))
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    if (st == CR_OK)
        st = check_column_names(ctx, &j);
    if (st == CR_OK)
        st = index_tiles(ctx, &j);
    if (st == CR_OK && opts->partial) {
        st = write_part(ctx, &j, out_path, summary);
        job_free(&j);
        return st;
    }
    if (st == CR_OK) {
        double start = cr_seconds();
        cr_ctx_set_progress_range(ctx, 0.1, 0.9);
        st = run_tiles(ctx, &j);
        cr_ctx_log(ctx, CR_LOG_DEBUG, "zonal: %lld zones over %lld tiles took %.2f s",
                   (long long)j.zones.count, (long long)j.ntiles, cr_seconds() - start);
    }
    if (st == CR_OK)
        st = conclude(ctx, &j, out_path, summary);
    job_free(&j);
    return st;
}

/* ---- merging parts ---- */

/* The member key of o when it has the type, else NULL. */
static json_object *member(json_object *o, const char *key, json_type type)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, type) ? v : NULL;
}

/* The member key of o as a string; NULL when absent, null or not a string. */
static const char *member_string(json_object *o, const char *key)
{
    json_object *v = member(o, key, json_type_string);
    return v ? json_object_get_string(v) : NULL;
}

/* The whole-number member key of o into *out when it lies in lo..hi; 0 otherwise. */
static int member_int(json_object *o, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
    json_object *v = member(o, key, json_type_int);
    int64_t x = v ? json_object_get_int64(v) : lo - 1;
    *out = x;
    return v && x >= lo && x <= hi;
}

static int member_number(json_object *o, const char *key, double *out)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) && cr_zpart_number(v, out);
}

/* Item i of the array a as a whole number in lo..hi into *out; 0 otherwise. */
static int item_int(json_object *a, size_t i, int64_t lo, int64_t hi, int *out)
{
    json_object *v = json_object_array_get_idx(a, i);
    if (!json_object_is_type(v, json_type_int))
        return 0;
    int64_t x = json_object_get_int64(v);
    *out = (int)x;
    return x >= lo && x <= hi;
}

/* The member of run (one level down: "zones.fingerprint") where b differs from a, into
 * out; "" when they are the same. */
static void run_difference(json_object *a, json_object *b, char *out, size_t size)
{
    out[0] = '\0';
    json_object_object_foreach(a, key, va) {
        json_object *vb = NULL;
        if (json_object_object_get_ex(b, key, &vb) && json_object_equal(va, vb))
            continue;
        snprintf(out, size, "%s", key);
        if (!vb || !json_object_is_type(va, json_type_object))
            return;
        json_object_object_foreach(va, sub, wa) {
            json_object *wb = NULL;
            if (!json_object_object_get_ex(vb, sub, &wb) || !json_object_equal(wa, wb)) {
                snprintf(out, size, "%s.%s", key, sub);
                return;
            }
        }
        return;
    }
    json_object_object_foreach(b, extra, vextra) {
        (void)vextra;
        if (!json_object_object_get_ex(a, extra, NULL)) {
            snprintf(out, size, "%s", extra);
            return;
        }
    }
}

/* What a merge holds besides its job: the options made of the parts' run. */
typedef struct merged {
    cr_zonal_opts o;
    cr_zonal_raster *rasters;
    cr_stat *stats;
} merged;

static int decode_grid(cr_ctx *ctx, json_object *run, job *j)
{
    json_object *g = member(run, "grid", json_type_object);
    json_object *gt = member(g, "geotransform", json_type_array);
    const char *wkt = member_string(g, "crs_wkt");
    int64_t w, h;
    double t[6];
    if (!wkt || !gt || json_object_array_length(gt) != 6 || !member_int(g, "width", 1, INT32_MAX, &w) ||
        !member_int(g, "height", 1, INT32_MAX, &h))
        return 0;
    for (size_t k = 0; k < 6; k++)
        if (!cr_zpart_number(json_object_array_get_idx(gt, k), &t[k]))
            return 0;
    return cr_grid_new(ctx, wkt, t, (int)w, (int)h, &j->grid) == CR_OK;
}

/* The zones as the parts read them: how many, their areas, which are empty. */
static int decode_zones(json_object *run, job *j, merged *m)
{
    json_object *z = member(run, "zones", json_type_object);
    json_object *area = member(z, "area_m2", json_type_array), *empty = member(z, "empty", json_type_array);
    int64_t count, repaired;
    m->o.zones_path = member_string(z, "path");
    m->o.layer = member_string(z, "layer");
    m->o.id_field = member_string(z, "id_field");
    m->o.name_field = member_string(z, "name_field");
    if (!m->o.zones_path || !area || !empty || !member_int(z, "count", 0, INT32_MAX, &count) ||
        !member_int(z, "repaired", 0, count, &repaired) || json_object_array_length(area) != (size_t)count)
        return 0;
    j->zones.zone = calloc((size_t)(count ? count : 1), sizeof *j->zones.zone);
    if (!j->zones.zone)
        return 0;
    j->zones.count = count;
    j->zones.repaired = repaired;
    for (int64_t k = 0; k < count; k++)
        if (!cr_zpart_number(json_object_array_get_idx(area, (size_t)k), &j->zones.zone[k].area_m2))
            return 0;
    for (size_t k = 0; k < json_object_array_length(empty); k++) {
        int e;
        if (!item_int(empty, k, 0, count - 1, &e))
            return 0;
        j->zones.zone[e].empty = 1;
        j->zones.empty++;
    }
    return 1;
}

static int decode_sources(json_object *run, job *j)
{
    json_object *list = member(run, "sources", json_type_array);
    size_t n = list ? json_object_array_length(list) : 0;
    if (!list || n == 0 || n > 4096 || !(j->src = calloc(n, sizeof *j->src)))
        return 0;
    for (size_t k = 0; k < n; k++) {
        json_object *in = json_object_array_get_idx(list, k);
        source *s = &j->src[k];
        int64_t band, count;
        const char *label = member_string(in, "label");
        s->path = member_string(in, "path");
        if (!label || !s->path || !member_int(in, "band", 1, INT32_MAX, &band) ||
            !member_int(in, "count", 0, 1, &count))
            return 0;
        s->role = s->path;
        snprintf(s->label, sizeof s->label, "%s", label);
        s->layer.band = (int)band;
        s->layer.kind = count ? CR_KIND_COUNT : CR_KIND_CONTINUOUS;
        s->input = -1;
    }
    j->plan.nsources = (int)n;
    return 1;
}

/* The -r rasters and --stats of the run. */
static int decode_generic(json_object *plan, job *j, merged *m)
{
    cr_zplan *p = &j->plan;
    json_object *rasters = member(plan, "rasters", json_type_array);
    json_object *stats = member(plan, "stats", json_type_array);
    size_t nr = rasters ? json_object_array_length(rasters) : 0;
    size_t ns = stats ? json_object_array_length(stats) : 0;
    if (!rasters || !stats || p->src_generic < 0 || (size_t)p->src_generic + nr != (size_t)p->nsources ||
        ns > 1024)
        return 0;
    m->rasters = calloc(nr ? nr : 1, sizeof *m->rasters);
    m->stats = calloc(ns ? ns : 1, sizeof *m->stats);
    p->weight_src = calloc(ns ? ns : 1, sizeof *p->weight_src);
    if (!m->rasters || !m->stats || !p->weight_src)
        return 0;
    for (size_t g = 0; g < nr; g++) {
        json_object *r = json_object_array_get_idx(rasters, g);
        int64_t band, count;
        m->rasters[g].name = member_string(r, "name");
        m->rasters[g].path = member_string(r, "path");
        if (!m->rasters[g].name || !m->rasters[g].path || !member_int(r, "band", 1, INT32_MAX, &band) ||
            !member_int(r, "count", 0, 1, &count))
            return 0;
        m->rasters[g].band = (int)band;
        m->rasters[g].count = (int)count;
    }
    for (size_t k = 0; k < ns; k++) {
        json_object *st = json_object_array_get_idx(stats, k);
        cr_stat *s = &m->stats[k];
        int64_t kind, ws;
        const char *weight = member_string(st, "weight"), *suffix = member_string(st, "suffix");
        if (!member_int(st, "kind", CR_STAT_COUNT, CR_STAT_WEIGHTED_MEAN, &kind) ||
            !member_number(st, "arg", &s->arg) || !weight || !suffix ||
            strlen(weight) >= sizeof s->weight || strlen(suffix) >= sizeof s->suffix ||
            !member_int(st, "weight_source", -1, p->nsources - 1, &ws) ||
            (kind == CR_STAT_WEIGHTED_MEAN) != (ws >= 0))
            return 0;
        s->kind = (cr_stat_kind)kind;
        snprintf(s->weight, sizeof s->weight, "%s", weight);
        snprintf(s->suffix, sizeof s->suffix, "%s", suffix);
        p->weight_src[k] = (int)ws;
    }
    p->ngeneric = (int)nr;
    p->generic = m->o.rasters = m->rasters;
    m->o.nrasters = (int)nr;
    p->stats = m->o.stats = m->stats;
    p->nstats = m->o.nstats = (int)ns;
    return 1;
}

/* Where each input sits among the sources, the scenarios, the statistics. */
static int decode_plan(json_object *run, job *j, merged *m, cr_zonal_summary *s)
{
    cr_zplan *p = &j->plan;
    json_object *plan = member(run, "plan", json_type_object);
    json_object *src = member(plan, "sources", json_type_array), *sea = member(plan, "sea", json_type_array);
    json_object *names = member(plan, "scenarios", json_type_array);
    json_object *suffixes = member(plan, "scenario_suffixes", json_type_array);
    int *at[] = {&p->src_score, &p->src_uplift, &p->src_arrivals, &p->src_water, &p->src_informal,
                 &p->src_population, &p->src_generic};
    size_t nat = sizeof at / sizeof *at;
    if (!src || !sea || !names || !suffixes || json_object_array_length(src) != nat ||
        json_object_array_length(sea) > CR_ZONAL_MAX_SCENARIOS ||
        json_object_array_length(names) != json_object_array_length(sea) ||
        json_object_array_length(suffixes) != json_object_array_length(sea) ||
        !member_number(plan, "demand_share", &p->demand_share))
        return 0;
    for (size_t k = 0; k < nat; k++)
        if (!item_int(src, k, -1, p->nsources - (k + 1 < nat), at[k]))
            return 0;
    p->nscen = s->scenarios = (int)json_object_array_length(sea);
    for (int k = 0; k < p->nscen; k++) {
        json_object *name = json_object_array_get_idx(names, (size_t)k);
        json_object *suffix = json_object_array_get_idx(suffixes, (size_t)k);
        if (!item_int(sea, (size_t)k, 0, p->nsources - 1, &p->src_sea[k]) ||
            !json_object_is_type(name, json_type_string) || !json_object_is_type(suffix, json_type_string))
            return 0;
        snprintf(s->scenario[k], sizeof s->scenario[k], "%s", json_object_get_string(name));
        snprintf(p->scen_suffix[k], sizeof p->scen_suffix[k], "%s", json_object_get_string(suffix));
        memcpy(s->scenario_suffix[k], p->scen_suffix[k], sizeof s->scenario_suffix[k]);
    }
    if (!decode_generic(plan, j, m))
        return 0;
    m->o.demand_share = p->demand_share;
    cr_zplan_layout(p);
    return 1;
}

/* The class scheme the parts resolved (with a score only). */
static int decode_classes(json_object *run, job *j, cr_zonal_summary *s)
{
    json_object *cls = member(run, "classes", json_type_object);
    if (!cls)
        return j->plan.src_score < 0;
    json_object *breaks = member(cls, "breaks", json_type_array);
    const char *scheme = member_string(cls, "scheme");
    int64_t kind, count;
    if (!breaks || !scheme || json_object_array_length(breaks) != CR_CLASSES_MAX ||
        !member_int(cls, "kind", 0, 64, &kind) || !member_int(cls, "count", 2, CR_CLASSES_MAX, &count))
        return 0;
    j->classes.kind = (cr_class_kind)kind;
    j->classes.count = (int)count;
    for (size_t k = 0; k < CR_CLASSES_MAX; k++)
        if (!cr_zpart_number(json_object_array_get_idx(breaks, k), &j->classes.breaks[k]))
            return 0;
    snprintf(s->class_scheme, sizeof s->class_scheme, "%s", scheme);
    j->classes_resolved = 1;
    return 1;
}

/* The job of the run the parts come from, made of what they record. */
static cr_status decode_run(cr_ctx *ctx, job *j, merged *m, const cr_zpart *p, cr_zonal_summary *s)
{
    const char *what = "grid";
    int ok = decode_grid(ctx, p->run, j);
    if (ok && !(ok = decode_zones(p->run, j, m)))
        what = "zones";
    if (ok && !(ok = decode_sources(p->run, j)))
        what = "sources";
    if (ok && !(ok = decode_plan(p->run, j, m, s)))
        what = "plan";
    if (ok && !(ok = decode_classes(p->run, j, s)))
        what = "classes";
    if (ok && !(ok = member_number(p->run, "min_coverage", &m->o.min_coverage)))
        what = "min_coverage";
    m->o.exposure_path = member_string(p->run, "exposure");
    return ok ? CR_OK
              : cr_ctx_fail(ctx, CR_E_DATA, "'%s' is not a whole zonal part file (its run's %s "
                                            "are malformed)", p->path, what);
}

/* The parts' windows cover the grid, each cell once: no part overlaps another (a tile
 * given twice) and none is missing. */
static cr_status check_cover(cr_ctx *ctx, const cr_grid *grid, const cr_zpart *p, int n)
{
    int64_t cells = 0;
    for (int a = 0; a < n; a++) {
        const cr_window *w = &p[a].window;
        if ((int64_t)w->x + w->w > grid->width || (int64_t)w->y + w->h > grid->height)
            return cr_ctx_fail(ctx, CR_E_DATA, "'%s': its window %d,%d,%d,%d is not inside the "
                               "run's %d x %d grid", p[a].path, w->x, w->y, w->w, w->h,
                               grid->width, grid->height);
        cells += (int64_t)w->w * w->h;
        for (int b = 0; b < a; b++) {
            if (cr_window_intersect(*w, p[b].window).w == 0)
                continue;
            if (p[a].tile[0] && strcmp(p[a].tile, p[b].tile) == 0)
                return cr_ctx_fail(ctx, CR_E_DATA, "'%s' and '%s' are both tile %s: give each "
                                   "tile once", p[b].path, p[a].path, p[a].tile);
            return cr_ctx_fail(ctx, CR_E_DATA, "'%s' and '%s' overlap (windows %d,%d,%d,%d and "
                               "%d,%d,%d,%d): give each part of the grid once", p[b].path,
                               p[a].path, p[b].window.x, p[b].window.y, p[b].window.w,
                               p[b].window.h, w->x, w->y, w->w, w->h);
        }
    }
    if (cells == (int64_t)grid->width * grid->height)
        return CR_OK;
    for (int64_t t = 0; t < cr_grid_window_count(grid, CR_BLOCK_SIZE); t++) {
        cr_window b = cr_grid_window(grid, CR_BLOCK_SIZE, t);
        int covered = 0;
        for (int a = 0; a < n && !covered; a++)
            covered = cr_window_intersect(b, p[a].window).w > 0;
        if (!covered)
            return cr_ctx_fail(ctx, CR_E_DATA, "no part covers the block at cells %d,%d of the "
                               "%d x %d grid: a tile is missing (%d parts given)", b.x, b.y,
                               grid->width, grid->height, n);
    }
    return cr_ctx_fail(ctx, CR_E_DATA, "the parts' windows do not cover the %d x %d grid",
                       grid->width, grid->height);
}

/* Block order first (the order the single run merges a zone's blocks in), then zones. */
static int by_block_zone(const void *a, const void *b)
{
    const cr_zrecord *x = a, *y = b;
    if (x->block != y->block)
        return (x->block > y->block) - (x->block < y->block);
    return (x->zone > y->zone) - (x->zone < y->zone);
}

/* Merges the records into their zones in block order, as emit() does, and finishes every
 * zone. */
static cr_status merge_records(cr_ctx *ctx, job *j, cr_zrecord *r, size_t n)
{
    const cr_zplan *plan = &j->plan;
    qsort(r, n, sizeof *r, by_block_zone);
    for (size_t i = 0; i < n; i++) {
        int64_t z = r[i].zone;
        if (i > 0 && by_block_zone(&r[i - 1], &r[i]) == 0)
            return cr_ctx_fail(ctx, CR_E_DATA, "the parts hold zone %lld over block %lld twice",
                               (long long)z + 1, (long long)r[i].block);
        if (!j->acc[z]) {
            j->acc[z] = malloc(plan->acc_size * sizeof(double));
            j->lists[z] = calloc((size_t)(plan->nlists ? plan->nlists : 1), sizeof(cr_wlist));
            if (!j->acc[z] || !j->lists[z])
                return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
            cr_zacc_init(plan, j->acc[z]);
        }
        cr_zacc_merge(plan, j->acc[z], r[i].acc);
        for (int l = 0; l < plan->nlists; l++)
            if (!take_list(&j->lists[z][l], &r[i].lists[l]))
                return cr_ctx_fail(ctx, CR_E_IO, "out of memory for the cells of a zone");
    }
    for (int64_t z = 0; z < j->zones.count; z++)
        finish_zone(j, z);
    return CR_OK;
}

/* Reads part k's records into *r (the first part is open: the job's strings point into
 * its run; the others are opened, checked against it and closed), keeping one part's JSON
 * in memory at a time. */
static cr_status read_part(cr_ctx *ctx, job *j, const char *const *parts, cr_zpart *p, int k,
                           cr_zrecord **r, size_t *count)
{
    cr_status st = k > 0 ? cr_zpart_open(ctx, parts[k], &p[k]) : CR_OK;
    if (st == CR_OK && k > 0) {
        char key[160];
        run_difference(p[0].run, p[k].run, key, sizeof key);
        if (key[0])
            st = cr_ctx_fail(ctx, CR_E_DATA, "'%s' is a part of another run than '%s' (its %s "
                             "differs)", parts[k], parts[0], key);
    }
    if (st == CR_OK)
        st = cr_zpart_records(ctx, &p[k], &j->plan, j->grid, j->zones.count, r, count);
    j->ntiles += p[k].blocks;
    if (k > 0) {
        cr_zpart_close(&p[k]);
    } else {
        json_object_object_del(p[0].doc, "records");
        p[0].records = NULL;
    }
    return st;
}

/* Reads the records of every part, checks that the parts cover the grid once, and merges
 * them. */
static cr_status merge_parts(cr_ctx *ctx, job *j, const char *const *parts, cr_zpart *p, int n)
{
    cr_zrecord *r = NULL;
    size_t count = 0;
    cr_status st = CR_OK;
    j->ntiles = 0;
    for (int k = 0; k < n && st == CR_OK; k++)
        st = read_part(ctx, j, parts, p, k, &r, &count);
    if (st == CR_OK)
        st = check_cover(ctx, j->grid, p, n);
    if (st == CR_OK)
        st = merge_records(ctx, j, r, count);
    for (size_t i = 0; i < count; i++)
        cr_zrecord_free(&j->plan, &r[i]);
    free(r);
    return st;
}

/* The parts' zones file is the one they were made from. */
static cr_status check_zones_file(cr_ctx *ctx, const job *j, const cr_zpart *p)
{
    char now[96];
    const char *then = member_string(member(p->run, "zones", json_type_object), "fingerprint");
    cr_status st = cr_zpart_fingerprint(ctx, j->o->zones_path, now, sizeof now);
    if (st == CR_OK && (!then || strcmp(now, then) != 0))
        st = cr_ctx_fail(ctx, CR_E_DATA, "the zones '%s' are not the file the parts were made "
                         "from (%s, the parts': %s)", j->o->zones_path, now, then ? then : "none");
    return st;
}

cr_status cr_zonal_merge(cr_ctx *ctx, const char *const *parts, int nparts, const char *out_path,
                         const cr_zonal_opts *opts, cr_zonal_summary *summary)
{
    memset(summary, 0, sizeof *summary);
    if (nparts < 1)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--merge: no part files given");
    if (!out_path || !*out_path)
        return cr_ctx_fail(ctx, CR_E_USAGE, "no output given (-o)");
    cr_zpart *p = calloc((size_t)nparts, sizeof *p);
    const char **paths = calloc((size_t)nparts + 2, sizeof *paths);
    merged m = {0};
    cr_zonal_opts_init(&m.o);
    m.o.format = opts->format;
    m.o.layer_options = opts->layer_options;
    m.o.overwrite = opts->overwrite;
    m.o.styles = opts->styles;
    job j = {0};
    j.o = &m.o;
    cr_status st = p && paths ? cr_zpart_open(ctx, parts[0], &p[0]) : cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    if (st == CR_OK)
        st = decode_run(ctx, &j, &m, &p[0], summary);
    if (st == CR_OK)
        st = check_zones_file(ctx, &j, &p[0]);
    if (st == CR_OK) {
        paths[0] = m.o.zones_path;
        memcpy(paths + 1, parts, (size_t)nparts * sizeof *parts);
        st = check_outputs(ctx, &j, out_path, paths);
    }
    if (st == CR_OK && !cr_zplan_columns(&j.plan, &j.columns, &j.ncolumns))
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    if (st == CR_OK)
        st = check_column_names(ctx, &j);
    if (st == CR_OK)
        st = alloc_results(ctx, &j);
    if (st == CR_OK)
        st = merge_parts(ctx, &j, parts, p, nparts);
    if (st == CR_OK)
        st = conclude(ctx, &j, out_path, summary);
    job_free(&j);
    for (int k = 0; p && k < nparts; k++)
        cr_zpart_close(&p[k]);
    free(p);
    free(paths);
    free(m.rasters);
    free(m.stats);
    return st;
}
