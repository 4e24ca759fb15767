/* dem_tiles.c: the DEM's tiles decoded on worker threads and kept within a budget
 * (see dem_tiles.h). */
#define _POSIX_C_SOURCE 200809L
#include "dem_tiles.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/raster.h"
#include "core/internal.h"
#include "core/pool.h"

/* Tiles in flight per worker: one being decoded, one waiting to be consumed. */
enum { SLOTS_PER_WORKER = 2 };

struct cr_dem_tiles {
    char *path;
    cr_grid *grid;       /* the DEM's grid, which the readers read on */
    cr_grid *part_grid;  /* the part's, whose windows are the tiles */
    cr_window part;
    int tile, threads, slots;
    int64_t count;       /* tiles */
    cr_layer **readers;  /* per worker, opened on first use */
    double **z;          /* per slot */
    uint8_t **valid;
    float **kept;        /* per tile: its cells, or NULL */
    int64_t keep_tiles;  /* tiles 0 .. keep_tiles-1 are kept by the first pass */
    int first_done;      /* a pass ran: what could be kept is */
    int64_t kept_cells;
    /* one pass */
    cr_dem_tile_fn fn;
    void *arg;
};

/* The share of the budget the tiles in flight may take: a fraction, so that many threads on
 * large tiles leave room for the rest. */
static const int64_t FLIGHT_SHARE_DIVISOR = 4;

int cr_dem_tiles_workers(int64_t budget, int64_t tile_cells, int threads)
{
    int64_t per_worker = (int64_t)SLOTS_PER_WORKER * CR_DEM_TILES_FLIGHT_CELL * tile_cells;
    int64_t most = per_worker > 0 ? budget / FLIGHT_SHARE_DIVISOR / per_worker : threads;
    if (threads > most)
        threads = (int)most;
    return threads < 1 ? 1 : threads;
}

int64_t cr_dem_tiles_keep_bytes(const cr_dem_tiles_memory *m, int passes)
{
    int workers = cr_dem_tiles_workers(m->budget, m->tile_cells, m->threads);
    int64_t flight = (int64_t)SLOTS_PER_WORKER * workers * CR_DEM_TILES_FLIGHT_CELL * m->tile_cells;
    int64_t reaches = (int64_t)m->reaches * (8 * m->width + 4 * m->tiles);
    int64_t left = m->budget - m->block_cache - m->fixed - flight - reaches;
    int64_t keep = m->budget / 2;
    keep = keep < left ? keep : left;
    return passes > 1 && keep > 0 ? keep : 0;
}

/* The most tiles, from the first, whose cells fit keep_bytes. */
static int64_t tiles_to_keep(const cr_dem_tiles *t, int64_t keep_bytes)
{
    int64_t used = 0, n = 0;
    for (; n < t->count; n++) {
        cr_window w = cr_grid_window(t->part_grid, t->tile, n);
        used += (int64_t)w.w * w.h * CR_DEM_TILES_KEPT_CELL;
        if (used > keep_bytes)
            break;
    }
    return n;
}

cr_status cr_dem_tiles_open(cr_ctx *ctx, const char *path, const cr_grid *grid,
                            const cr_grid *part_grid, const cr_window *part, int tile, int threads,
                            int64_t keep_bytes, cr_dem_tiles **out)
{
    *out = NULL;
    cr_dem_tiles *t = calloc(1, sizeof *t);
    if (!t)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory reading '%s'", path);
    t->tile = tile;
    t->count = cr_grid_window_count(part_grid, tile);
    int64_t cells = (int64_t)(tile < part_grid->width ? tile : part_grid->width) *
                    (tile < part_grid->height ? tile : part_grid->height);
    t->threads = cr_dem_tiles_workers(cr_ctx_max_memory(ctx), cells, threads);
    t->slots = SLOTS_PER_WORKER * t->threads;
    t->part = *part;
    int ok = (t->path = strdup(path)) != NULL && (t->grid = cr_grid_clone(grid)) != NULL &&
             (t->part_grid = cr_grid_clone(part_grid)) != NULL;
    ok = ok && (t->readers = calloc((size_t)t->threads, sizeof *t->readers)) != NULL;
    ok = ok && (t->z = calloc((size_t)t->slots, sizeof *t->z)) != NULL &&
         (t->valid = calloc((size_t)t->slots, sizeof *t->valid)) != NULL &&
         (t->kept = calloc((size_t)(t->count > 0 ? t->count : 1), sizeof *t->kept)) != NULL;
    size_t n = (size_t)(tile < part_grid->width ? tile : part_grid->width) *
               (size_t)(tile < part_grid->height ? tile : part_grid->height);
    for (int s = 0; ok && s < t->slots; s++)
        ok = (t->z[s] = malloc(n * sizeof **t->z)) != NULL && (t->valid[s] = malloc(n)) != NULL;
    if (!ok) {
        cr_dem_tiles_close(t);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory reading '%s'", path);
    }
    t->keep_tiles = keep_bytes > 0 ? tiles_to_keep(t, keep_bytes) : 0;
    *out = t;
    return CR_OK;
}

/* Keeps tile index as Float32 when Float32 holds every value exactly; NaN stays NaN. Leaves
 * it unkept when not, or when out of memory (it is then decoded again: slower, not wrong). */
static void keep(cr_dem_tiles *t, int64_t index, const double *z, size_t n)
{
    float *k = malloc(n * sizeof *k);
    if (!k)
        return;
    for (size_t i = 0; i < n; i++) {
        k[i] = (float)z[i];
        if (!isnan(z[i]) && (double)k[i] != z[i]) {
            free(k);
            return;
        }
    }
    t->kept[index] = k;
}

static cr_status work(cr_ctx *ctx, void *arg, int64_t index, int worker, int slot)
{
    cr_dem_tiles *t = arg;
    cr_window win = cr_grid_window(t->part_grid, t->tile, index);
    size_t n = (size_t)win.w * win.h;
    double *z = t->z[slot];
    uint8_t *valid = t->valid[slot];
    const float *k = t->kept[index];
    if (k) {
        for (size_t i = 0; i < n; i++) {
            z[i] = k[i];
            valid[i] = !isnan(k[i]);
        }
        return CR_OK;
    }
    cr_status st = CR_OK;
    if (!t->readers[worker])
        st = cr_layer_open(ctx, t->path, t->grid, NULL, &t->readers[worker]);
    cr_window at = {win.x + t->part.x, win.y + t->part.y, win.w, win.h};
    if (st == CR_OK)
        st = cr_layer_read_f64(ctx, t->readers[worker], &at, z, valid);
    /* Each tile is kept by the one worker that decodes it, in the first pass only. */
    if (st == CR_OK && !t->first_done && index < t->keep_tiles)
        keep(t, index, z, n);
    return st;
}

static cr_status emit(cr_ctx *ctx, void *arg, int64_t index, int slot)
{
    cr_dem_tiles *t = arg;
    cr_window win = cr_grid_window(t->part_grid, t->tile, index);
    return t->fn(ctx, t->arg, index, &win, t->z[slot], t->valid[slot]);
}

cr_status cr_dem_tiles_pass(cr_ctx *ctx, cr_dem_tiles *t, cr_dem_tile_fn fn, void *arg)
{
    t->fn = fn;
    t->arg = arg;
    cr_status st = cr_parallel_ordered(ctx, t->threads, t->slots, t->count, work, emit, t);
    if (!t->first_done) {
        t->first_done = 1;
        t->kept_cells = 0;
        for (int64_t i = 0; i < t->count; i++)
            if (t->kept[i]) {
                cr_window w = cr_grid_window(t->part_grid, t->tile, i);
                t->kept_cells += (int64_t)w.w * w.h;
            }
    }
    return st;
}

int64_t cr_dem_tiles_kept_cells(const cr_dem_tiles *t)
{
    return t ? t->kept_cells : 0;
}

void cr_dem_tiles_drop(cr_dem_tiles *t)
{
    for (int64_t i = 0; t && t->kept && i < t->count; i++) {
        free(t->kept[i]);
        t->kept[i] = NULL;
    }
    if (t)
        t->kept_cells = 0;
}

void cr_dem_tiles_close(cr_dem_tiles *t)
{
    if (!t)
        return;
    cr_dem_tiles_drop(t);
    for (int i = 0; t->readers && i < t->threads; i++)
        cr_layer_close(t->readers[i]);
    for (int s = 0; t->z && t->valid && s < t->slots; s++)
        free(t->z[s]), free(t->valid[s]);
    free(t->z);
    free(t->valid);
    free(t->readers);
    free(t->kept);
    cr_grid_free(t->grid);
    cr_grid_free(t->part_grid);
    free(t->path);
    free(t);
}
