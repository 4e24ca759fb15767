/* score.c: `cityrisk score`, streamed: the four layers (and population) are read
 * tile by tile onto the grid on worker threads, normalised, scored and classed, and
 * the tiles are written in order.
 *
 * Passes over the grid, each an ordered parallel loop over the output tiles:
 *   1-2. a_ref: the exact 99th percentile of the arrivals > 0 (two counting passes
 *        over the arrivals alone), unless --arrivals-ref;
 *   3.   class breaks from the scores (quantile, jenks, equal), when asked for;
 *   4.   the output.
 * Results do not depend on the number of threads: statistics are gathered on the
 * calling thread in tile order, and range errors are raised in tile order too.
 *
 * With --tile or --window the passes that write go over the blocks of that window only,
 * each read on the whole analysis grid exactly as the single run reads it (the window is
 * block-aligned, so its blocks are the single run's), and written at its place in the
 * tile: the values are the single run's. The a_ref passes still go over the whole grid. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cityrisk/raster.h"
#include "cityrisk/score.h"
#include "core/inputs.h"
#include "core/internal.h"
#include "core/pool.h"
#include "core/radix.h"
#include "score_internal.h"

/* What one tile computed, in one buffer slot. */
typedef struct tile {
    float *raw[CR_INPUTS];          /* values read */
    float *ind[CR_INDICATORS];      /* normalised 0-1 */
    float *band[CR_SCORE_BANDS];    /* score, class, uplift, present (indicators alias ind) */
    int64_t clamped[CR_INPUTS];
    int64_t missing[CR_INPUTS];     /* cells without a value */
    uint8_t *marked;                /* cells of Aqueduct's arid basins (water polygons) */
    int64_t arid;                   /* how many */
    int bad_input;                  /* the first input with a value beyond tolerance, or -1 */
    size_t bad_cell;
    float bad_value;
} tile;

enum pass { PASS_AREF_1, PASS_AREF_2, PASS_CLASSES, PASS_WRITE };

typedef struct job {
    const cr_score_opts *o;
    const cr_score_inputs *in;
    const cr_grid *grid;     /* the analysis grid, whole */
    cr_normalise_opts norm;
    double w[CR_INDICATORS];
    int workers, slots;
    cr_layer **layers;   /* [worker * CR_INPUTS + input], opened on first use */
    tile *tiles;         /* [slot] */
    int64_t count;       /* blocks of the pass: the whole grid's for a_ref, the window's else */
    enum pass pass;
    cr_radix_quantile radix;
    float (*aref_range)[2]; /* per tile: the least and greatest arrivals > 0 of pass 1 */
    cr_sampler sampler;
    double score_min, score_max, score_sum;
    int nbreaks;
    double breaks[CR_CLASSES_MAX - 1];
    cr_writer *writer;
    cr_score_summary *s;
} job;

static void tile_free(tile *t)
{
    for (int k = 0; k < CR_INPUTS; k++)
        free(t->raw[k]);
    for (int k = 0; k < CR_INDICATORS; k++)
        free(t->ind[k]);
    free(t->band[CR_BAND_SCORE]);
    free(t->band[CR_BAND_CLASS]);
    free(t->band[CR_BAND_WATER_UPLIFT]);
    free(t->band[CR_BAND_INDICATORS_PRESENT]);
    free(t->marked);
}

static int tile_alloc(tile *t, size_t cells)
{
    int ok = 1;
    for (int k = 0; k < CR_INPUTS; k++)
        ok &= (t->raw[k] = malloc(cells * sizeof(float))) != NULL;
    for (int k = 0; k < CR_INDICATORS; k++)
        ok &= (t->ind[k] = t->band[CR_BAND_SEA + k] = malloc(cells * sizeof(float))) != NULL;
    const cr_score_band own[] = {CR_BAND_SCORE, CR_BAND_CLASS, CR_BAND_WATER_UPLIFT,
                                 CR_BAND_INDICATORS_PRESENT};
    for (size_t k = 0; k < sizeof own / sizeof own[0]; k++)
        ok &= (t->band[own[k]] = malloc(cells * sizeof(float))) != NULL;
    ok &= (t->marked = malloc(cells)) != NULL;
    return ok;
}

/* The layers of worker, opened on its first tile (GDAL datasets are per thread). */
static cr_status worker_layers(cr_ctx *ctx, job *j, int worker, cr_layer ***out)
{
    cr_layer **l = &j->layers[(size_t)worker * CR_INPUTS];
    for (int k = 0; k < CR_INPUTS; k++) {
        if (l[k] || !j->in->path[k])
            continue;
        /* Polygons are shared, not loaded again; a raster is opened again (GDAL's
         * datasets are per thread). */
        cr_status st = cr_layer_share(ctx, j->in->probe[k], &j->in->layer[k], &l[k]);
        if (st != CR_OK)
            return st;
    }
    *out = l;
    return CR_OK;
}

/* Reads input k and normalises it (the residents are only checked against their range);
 * notes the first value beyond its tolerance. */
static cr_status read_input(cr_ctx *ctx, job *j, cr_layer *layer, int k, const cr_window *win,
                            tile *t)
{
    size_t n = (size_t)win->w * (size_t)win->h;
    cr_status st = k == CR_INPUT_WATER ? cr_layer_read_marked(ctx, layer, win, t->raw[k], NULL,
                                                              t->marked)
                                       : cr_layer_read_f32(ctx, layer, win, t->raw[k], NULL);
    if (st != CR_OK)
        return st;
    int64_t missing = 0;
    for (size_t i = 0; i < n; i++)
        missing += isnan(t->raw[k][i]);
    t->missing[k] = missing;
    if (k == CR_INPUT_WATER) {
        int64_t arid = 0;
        for (size_t i = 0; i < n; i++)
            arid += t->marked[i];
        t->arid = arid;
    }
    size_t bad = k < CR_INDICATORS
                     ? cr_indicator_normalise_block((cr_indicator)k, &j->norm, t->raw[k], n,
                                                    t->ind[k], &t->clamped[k])
                     : cr_input_check_block(k, &j->norm, t->raw[k], n, &t->clamped[k]);
    if (bad < n && t->bad_input < 0)
        t->bad_input = k, t->bad_cell = bad, t->bad_value = t->raw[k][bad];
    return CR_OK;
}

/* 1 in the passes over the arrivals for a_ref, which go over the whole grid. */
static int aref_pass(const job *j)
{
    return j->pass == PASS_AREF_1 || j->pass == PASS_AREF_2;
}

/* Block index of the pass as a window of the analysis grid: of the whole grid for a_ref,
 * else of the window written (s->grid is its grid, s->window its place). */
static cr_window block_window(const job *j, int64_t index)
{
    if (aref_pass(j))
        return cr_grid_window(j->grid, CR_BLOCK_SIZE, index);
    cr_window w = cr_grid_window(j->s->grid, CR_BLOCK_SIZE, index);
    w.x += j->s->window.x;
    w.y += j->s->window.y;
    return w;
}

static cr_status work(cr_ctx *ctx, void *arg, int64_t index, int worker, int slot)
{
    job *j = arg;
    tile *t = &j->tiles[slot];
    cr_window win = block_window(j, index);
    size_t n = (size_t)win.w * (size_t)win.h;
    cr_layer **layers;
    cr_status st = worker_layers(ctx, j, worker, &layers);
    if (st != CR_OK)
        return st;
    t->bad_input = -1;
    memset(t->clamped, 0, sizeof t->clamped);
    if (j->pass == PASS_AREF_2 &&
        !cr_radix_quantile_wants(&j->radix, j->aref_range[index][0], j->aref_range[index][1]))
        return CR_OK; /* emit_aref() skips it too */
    if (aref_pass(j))
        return cr_layer_read_f32(ctx, layers[CR_IND_ARRIVALS], &win, t->raw[CR_IND_ARRIVALS], NULL);
    for (int k = 0; k < CR_INPUTS && st == CR_OK && t->bad_input < 0; k++)
        if (layers[k])
            st = read_input(ctx, j, layers[k], k, &win, t);
    if (st != CR_OK || t->bad_input >= 0)
        return st;
    const float *c[CR_INDICATORS] = {t->ind[0], t->ind[1], t->ind[2], t->ind[3]};
    int want_present = (j->s->bands >> CR_BAND_INDICATORS_PRESENT) & 1;
    cr_score_block(j->o->method, c, n, j->w, j->o->renormalise, t->band[CR_BAND_SCORE],
                   want_present ? t->band[CR_BAND_INDICATORS_PRESENT] : NULL);
    if (j->pass != PASS_WRITE)
        return CR_OK;
    float *klass = t->band[CR_BAND_CLASS];
    for (size_t i = 0; i < n; i++) {
        int k = cr_class_of(j->breaks, j->nbreaks, t->band[CR_BAND_SCORE][i]);
        klass[i] = k > 0 ? (float)k : NAN;
    }
    if (j->in->path[CR_INPUT_POPULATION])
        cr_uplift_block(t->raw[CR_IND_WATER], j->norm.water_ratio, t->raw[CR_IND_ARRIVALS],
                        t->raw[CR_INPUT_POPULATION], n, j->o->demand_share,
                        t->band[CR_BAND_WATER_UPLIFT]);
    return CR_OK;
}

/* The first value beyond its layer's tolerance, as an error naming it and its cell. */
static cr_status range_error(cr_ctx *ctx, job *j, int64_t index, const tile *t)
{
    cr_window win = block_window(j, index);
    int k = t->bad_input;
    return cr_input_range_error(ctx, k, &j->norm, j->in->path[k], j->in->layer[k].band,
                                (double)t->bad_value, j->grid,
                                win.x + (int)(t->bad_cell % (size_t)win.w),
                                win.y + (int)(t->bad_cell / (size_t)win.w));
}

/* Counts the arrivals > 0 of a tile into the quantile; pass 1 also keeps their range,
 * by which pass 2 reads only the tiles that hold values of the buckets it counts
 * (the 99th percentile's, usually in a few dense tiles). */
static void emit_aref(job *j, int64_t index, const tile *t, size_t n)
{
    float *range = j->aref_range[index];
    if (j->pass == PASS_AREF_2 && !cr_radix_quantile_wants(&j->radix, range[0], range[1]))
        return;
    const float *a = t->raw[CR_IND_ARRIVALS];
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (a[i] > 0 && isfinite(a[i])) {
            cr_radix_quantile_add(&j->radix, a[i]);
            lo = fminf(lo, a[i]);
            hi = fmaxf(hi, a[i]);
        }
    }
    if (j->pass == PASS_AREF_1)
        range[0] = lo, range[1] = hi;
}

static void gather_scores(job *j, const tile *t, size_t n)
{
    const float *score = t->band[CR_BAND_SCORE];
    int sample = j->o->classes.kind == CR_CLASSES_JENKS || j->o->classes.kind == CR_CLASSES_QUANTILE;
    for (size_t i = 0; i < n; i++) {
        double v = score[i];
        if (isnan(v))
            continue;
        if (sample)
            cr_sampler_add(&j->sampler, v);
        j->score_min = fmin(j->score_min, v);
        j->score_max = fmax(j->score_max, v);
    }
}

static cr_status write_tile(cr_ctx *ctx, job *j, const tile *t, const cr_window *win, size_t n)
{
    cr_score_summary *s = j->s;
    const float *score = t->band[CR_BAND_SCORE], *klass = t->band[CR_BAND_CLASS];
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(score[i]))
            continue;
        s->cells_scored++;
        sum += score[i];
        s->score_min = fmin(s->score_min, score[i]);
        s->score_max = fmax(s->score_max, score[i]);
        s->cells_per_class[(int)klass[i] - 1]++;
    }
    j->score_sum += sum;
    for (int k = 0; k < CR_INPUTS; k++) {
        s->clamped[k] += t->clamped[k];
        s->missing[k] += t->missing[k];
    }
    s->water_arid_cells += t->arid;
    cr_status st = CR_OK;
    int out = 0;
    cr_window at = {win->x - s->window.x, win->y - s->window.y, win->w, win->h}; /* in the tile */
    for (int b = 0; b < CR_SCORE_BANDS && st == CR_OK; b++)
        if ((s->bands >> b) & 1)
            st = cr_writer_write(ctx, j->writer, ++out, &at, t->band[b]);
    return st;
}

static cr_status emit(cr_ctx *ctx, void *arg, int64_t index, int slot)
{
    job *j = arg;
    const tile *t = &j->tiles[slot];
    cr_window win = block_window(j, index);
    size_t n = (size_t)win.w * (size_t)win.h;
    cr_status st = CR_OK;
    if (aref_pass(j))
        emit_aref(j, index, t, n);
    else if (t->bad_input >= 0)
        st = range_error(ctx, j, index, t);
    else if (j->pass == PASS_CLASSES)
        gather_scores(j, t, n);
    else
        st = write_tile(ctx, j, t, &win, n);
    if (st == CR_OK && !cr_ctx_progress(ctx, (double)(index + 1) / (double)j->count, NULL))
        st = cr_ctx_fail(ctx, CR_E_CANCELLED, "scoring was cancelled");
    return st;
}

/* The CPU seconds so far of the process (clock CLOCK_PROCESS_CPUTIME_ID) or of the calling
 * thread, which writes the tiles (CLOCK_THREAD_CPUTIME_ID), for the debug log. */
static double cpu_seconds(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static cr_status run_pass(cr_ctx *ctx, job *j, enum pass pass)
{
    static const char *const names[] = {"a_ref 1", "a_ref 2", "class breaks", "write"};
    j->pass = pass;
    j->count = cr_grid_window_count(aref_pass(j) ? j->grid : j->s->grid, CR_BLOCK_SIZE);
    j->s->passes++;
    double start = cr_seconds(), cpu = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
    double emitting = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
    cr_status st = cr_parallel_ordered(ctx, j->workers, j->slots, j->count, work, emit, j);
    cr_ctx_log(ctx, CR_LOG_DEBUG, "score: pass %s took %.2f s (CPU %.2f s, %.2f s of them writing)",
               names[pass], cr_seconds() - start, cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu,
               cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - emitting);
    return st;
}

/* a_ref: the 99th percentile of the cells with arrivals > 0 (SCORING.md). */
static cr_status find_arrivals_ref(cr_ctx *ctx, job *j)
{
    j->aref_range = malloc((size_t)cr_grid_window_count(j->grid, CR_BLOCK_SIZE) * sizeof *j->aref_range);
    if (!j->aref_range || !cr_radix_quantile_init(&j->radix, 0.99))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    cr_status st = run_pass(ctx, j, PASS_AREF_1);
    if (st == CR_OK && cr_radix_quantile_next_pass(&j->radix) > 0)
        st = run_pass(ctx, j, PASS_AREF_2);
    double ref = cr_radix_quantile_value(&j->radix);
    cr_radix_quantile_free(&j->radix);
    j->s->arrivals_ref = ref;
    if (st == CR_OK && isnan(ref))
        cr_ctx_log(ctx, CR_LOG_WARNING,
                   "arrivals raster '%s' has no cell with arrivals above 0: the arrivals indicator "
                   "is 0 wherever it has data",
                   j->in->path[CR_IND_ARRIVALS]);
    /* With no arrivals every valid value is 0 and any reference gives 0. */
    j->norm.arrivals_ref = isnan(ref) ? 1 : ref;
    return st;
}

/* Breaks from the scores of a first pass, for quantile, jenks and equal classes. */
static cr_status find_breaks(cr_ctx *ctx, job *j)
{
    const cr_class_spec *c = &j->o->classes;
    size_t cap = c->kind == CR_CLASSES_JENKS ? CR_JENKS_SAMPLE : CR_QUANTILE_SAMPLE;
    cr_status st = CR_OK;
    if (c->kind != CR_CLASSES_EQUAL)
        st = cr_sampler_init(ctx, &j->sampler, cap);
    j->score_min = INFINITY, j->score_max = -INFINITY;
    if (st == CR_OK)
        st = run_pass(ctx, j, PASS_CLASSES);
    if (st == CR_OK && !(j->score_max >= j->score_min))
        st = cr_ctx_fail(ctx, CR_E_DATA,
                         "no cell has a score to compute %s class breaks from: every cell misses "
                         "an indicator",
                         cr_class_kind_name(c->kind));
    if (st == CR_OK && c->kind == CR_CLASSES_EQUAL)
        cr_equal_breaks(j->score_min, j->score_max, c->count, j->breaks);
    else if (st == CR_OK && c->kind == CR_CLASSES_QUANTILE)
        st = cr_quantile_breaks(ctx, j->sampler.values, j->sampler.n, c->count, j->breaks);
    else if (st == CR_OK)
        st = cr_jenks_breaks(ctx, j->sampler.values, j->sampler.n, c->count, j->breaks);
    if (st == CR_E_DATA && c->kind == CR_CLASSES_JENKS) {
        char why[256];
        snprintf(why, sizeof why, "%s", cr_ctx_error(ctx));
        st = cr_ctx_fail(ctx, CR_E_DATA, "--classes jenks:%d on the scores: %s; ask for fewer classes",
                         c->count, why);
    }
    cr_sampler_free(&j->sampler);
    j->nbreaks = c->count - 1;
    return st;
}

static cr_status setup(cr_ctx *ctx, job *j)
{
    size_t cells = (size_t)CR_BLOCK_SIZE * CR_BLOCK_SIZE;
    j->workers = cr_ctx_threads(ctx);
    j->slots = 2 * j->workers;
    j->layers = calloc((size_t)j->workers * CR_INPUTS, sizeof *j->layers);
    j->tiles = calloc((size_t)j->slots, sizeof *j->tiles);
    if (!j->layers || !j->tiles)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    for (int i = 0; i < j->slots; i++)
        if (!tile_alloc(&j->tiles[i], cells))
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    return CR_OK;
}

static void job_free(job *j)
{
    for (int i = 0; j->layers && i < j->workers * CR_INPUTS; i++)
        cr_layer_close(j->layers[i]);
    for (int i = 0; j->tiles && i < j->slots; i++)
        tile_free(&j->tiles[i]);
    free(j->layers);
    free(j->tiles);
    free(j->aref_range);
}

/* Runs the passes; the caller has opened the writer when write is set. */
static cr_status run(cr_ctx *ctx, job *j)
{
    cr_score_summary *s = j->s;
    cr_status st = setup(ctx, j);
    /* Progress: a pass over the arrivals alone counts a quarter of a full pass, and
     * writing the COG at the end one full pass. */
    double total = (j->o->arrivals_ref_auto ? 0.5 : 0) + (cr_classes_need_data(&j->o->classes) ? 1 : 0) + 2;
    double at = 0;
    if (st == CR_OK && j->o->arrivals_ref_auto) {
        cr_ctx_set_progress_range(ctx, 0, 0.5 / total);
        st = find_arrivals_ref(ctx, j);
        at = 0.5;
    } else {
        s->arrivals_ref = j->norm.arrivals_ref;
    }
    if (st == CR_OK && cr_classes_need_data(&j->o->classes)) {
        cr_ctx_set_progress_range(ctx, at / total, (at + 1) / total);
        st = find_breaks(ctx, j);
        at += 1;
    } else {
        j->nbreaks = j->o->classes.count - 1;
        memcpy(j->breaks, j->o->classes.breaks, sizeof j->breaks);
    }
    s->class_count = j->nbreaks + 1;
    memcpy(s->breaks, j->breaks, sizeof s->breaks);
    if (st == CR_OK)
        st = cr_score_open_writer(ctx, j->o, j->in, s, &j->writer);
    if (st == CR_OK) {
        s->score_min = INFINITY, s->score_max = -INFINITY;
        cr_ctx_set_progress_range(ctx, at / total, (at + 1) / total);
        st = run_pass(ctx, j, PASS_WRITE);
    }
    if (st == CR_OK) {
        s->cells_nodata = s->cells - s->cells_scored;
        s->score_mean = s->cells_scored ? j->score_sum / (double)s->cells_scored : NAN;
        if (!s->cells_scored) {
            s->score_min = s->score_max = NAN;
            cr_ctx_log(ctx, CR_LOG_WARNING,
                       "no cell could be scored: every cell misses an indicator (do the inputs "
                       "overlap the %s?)", cr_tile_given(&j->o->tile) ? "window" : "grid");
        }
        /* A tile's statistics are not the whole grid's: it carries its place instead. */
        st = cr_tile_given(&j->o->tile)
                 ? cr_tile_mark(ctx, j->writer, &j->o->tile, &s->window, s->full_width,
                                s->full_height)
                 : cr_score_finish_metadata(ctx, j->writer, s);
    }
    if (st == CR_OK) {
        cr_ctx_set_progress_range(ctx, (at + 1) / total, 1);
        st = cr_writer_commit(ctx, j->writer);
        j->writer = NULL;
    }
    cr_ctx_set_progress_range(ctx, 0, 1);
    cr_writer_abort(j->writer);
    return st;
}

cr_status cr_score(cr_ctx *ctx, const char *out_path, const cr_score_opts *o,
                   cr_score_summary *summary)
{
    cr_score_summary local;
    cr_score_summary *s = summary ? summary : &local;
    memset(s, 0, sizeof *s);
    cr_score_inputs in;
    job j;
    memset(&j, 0, sizeof j);
    j.o = o, j.s = s;
    cr_status st = cr_score_prepare(ctx, out_path, o, &in, s);
    if (st == CR_OK) {
        j.in = &in, j.grid = in.grid, j.norm = in.norm;
        memcpy(j.w, s->weights, sizeof j.w);
        st = run(ctx, &j);
    }
    job_free(&j);
    cr_score_inputs_free(&in);
    if (st != CR_OK || !summary)
        cr_score_summary_clear(s);
    return st;
}
