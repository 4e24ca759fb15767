/* zonal.c: `cityrisk zonal`: the rasters read once, tile by tile, for every zone.
 *
 * Each zone's bounding box is cut by the 512 x 512 tiles of the grid. A tile met by
 * at least one zone is read (only the part the zones' boxes cover) by a worker, which
 * computes the coverage of each of its zones over the tile and their partial sums; the
 * calling thread merges the partials into the zones in tile order, and a zone is
 * finished (its statistics computed, its cells' lists freed) when its last tile is
 * merged. */
#define _POSIX_C_SOURCE 200809L
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

/* Lists the tiles met by zones, each with its zones in feature order. */
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
    for (int64_t i = 0; i < nz; i++) {
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

static cr_status run_tiles(cr_ctx *ctx, job *j)
{
    j->workers = cr_ctx_threads(ctx);
    j->slots = 2 * j->workers;
    j->ws = calloc((size_t)j->workers, sizeof *j->ws);
    j->out = calloc((size_t)j->slots, sizeof *j->out);
    size_t nz = (size_t)(j->zones.count ? j->zones.count : 1);
    j->acc = calloc(nz, sizeof *j->acc);
    j->lists = calloc(nz, sizeof *j->lists);
    j->values = malloc((size_t)(j->ncolumns ? j->ncolumns : 1) * nz * sizeof *j->values);
    if (!j->ws || !j->out || !j->acc || !j->lists || !j->values)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    /* Zones that meet no tile (outside the grid, or empty) are finished now. */
    for (int64_t z = 0; z < j->zones.count; z++)
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

/* The class breaks: the user's, computed from the zones' score_mean for data-derived
 * kinds; else those the exposure raster's class band records; else INFORM's. */
static cr_status class_breaks(cr_ctx *ctx, job *j, cr_zonal_summary *s)
{
    const cr_zonal_opts *o = j->o;
    cr_class_spec spec = o->classes;
    const double *mean = j->values + (size_t)j->plan.col_score_mean * (size_t)j->zones.count;
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
    job j = {0};
    j.o = opts;
    cr_status st = prepare_sources(ctx, &j, summary);
    const char **paths = st == CR_OK ? input_paths(&j) : NULL;
    if (st == CR_OK && !paths)
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    if (st == CR_OK && !cr_output_is_stream(out_path)) {
        /* Every file the run writes (a Shapefile's .dbf, a style), against every input and
         * each other, before any work. */
        GDALDriverH drv = NULL;
        cr_output_plan plan;
        cr_output_plan_init(&plan);
        st = cr_zonal_driver(ctx, out_path, opts, &drv);
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
    }
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
    if (st == CR_OK) {
        double start = cr_seconds();
        cr_ctx_set_progress_range(ctx, 0.1, 0.9);
        st = run_tiles(ctx, &j);
        cr_ctx_log(ctx, CR_LOG_DEBUG, "zonal: %lld zones over %lld tiles took %.2f s",
                   (long long)j.zones.count, (long long)j.ntiles, cr_seconds() - start);
    }
    if (st == CR_OK && j.plan.col_score_mean >= 0) {
        st = class_breaks(ctx, &j, summary);
        if (st == CR_OK)
            st = class_and_rank(ctx, &j, summary);
    }
    if (st == CR_OK) {
        summarise(&j, summary);
        char **md = provenance(ctx, &j, summary);
        cr_ctx_set_progress_range(ctx, 0.9, 1.0);
        double start = cr_seconds();
        st = cr_zonal_write(ctx, out_path, opts, j.columns, j.ncolumns, j.values, j.zones.count,
                            md, summary);
        cr_ctx_log(ctx, CR_LOG_DEBUG, "zonal: writing took %.2f s", cr_seconds() - start);
        CSLDestroy(md);
        cr_ctx_set_progress_range(ctx, 0.0, 1.0);
    }
    if (st == CR_OK) {
        summary->grid = j.grid;
        j.grid = NULL;
    }
    job_free(&j);
    return st;
}
