/* arrivals.c: arrival records to arrivals per cell, accumulated tile by tile.
 *
 * The accepted records are kept as points (32 bytes each) and bucketed by the
 * output tile that holds them. Each output tile then sums the records of its own
 * bucket and of the buckets within the kernel's reach (the halo), into one tile of
 * doubles per worker; tiles are written in order as they finish. A record whose
 * footprint spans several tiles has its normalisation (the sum of its weights over
 * the grid) computed once beforehand, so every tile scales it the same way.
 *
 * With --tile or --window only the output tiles of that window are summed and written
 * (at their place in the window's raster); everything before, the records, their buckets
 * and normalisations, is the whole grid's, so that each tile sums exactly what the single
 * run's does, in the same order. */
#define _POSIX_C_SOURCE 200809L
#include "cityrisk/arrivals.h"

#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>

#include "cityrisk/json.h"
#include "cityrisk/raster.h"
#include "core/internal.h"
#include "core/outliers.h"
#include "areas.h"
#include "kernel.h"
#include "mask.h"
#include "core/output.h"
#include "core/pool.h"
#include "records.h"

/* Records per chunk of the normalisation pass. */
#define CHUNK 16384

/* Kernel cells summed or added between two looks for a stop request: a few milliseconds. */
#define CHECK_CELLS ((int64_t)1 << 22)

void cr_arrivals_opts_init(cr_arrivals_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->kernel = CR_KERNEL_NONE;
}

void cr_arrivals_summary_clear(cr_arrivals_summary *summary)
{
    if (!summary)
        return;
    cr_grid_free(summary->grid);
    summary->grid = NULL;
}

/* The accepted points as they arrive, and their extent. */
typedef struct point_list {
    cr_point *p;
    size_t n, cap;
    cr_bounds extent;
} point_list;

static cr_status collect(cr_ctx *ctx, void *arg, const cr_point *points, size_t n)
{
    point_list *l = arg;
    if (l->n + n > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 65536;
        while (cap < l->n + n)
            cap *= 2;
        cr_point *grown = realloc(l->p, cap * sizeof *grown);
        if (!grown)
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory holding %zu arrival records", l->n + n);
        l->p = grown, l->cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        const cr_point *q = &points[i];
        if (l->n == 0 && i == 0)
            l->extent = (cr_bounds){q->x, q->y, q->x, q->y};
        l->extent.xmin = fmin(l->extent.xmin, q->x), l->extent.xmax = fmax(l->extent.xmax, q->x);
        l->extent.ymin = fmin(l->extent.ymin, q->y), l->extent.ymax = fmax(l->extent.ymax, q->y);
    }
    memcpy(l->p + l->n, points, n * sizeof *points);
    l->n += n;
    return CR_OK;
}

/* A record in cell coordinates: cell (c, r) spans [c, c + 1) x [r, r + 1). */
typedef struct cell_point {
    double fx, fy;
    double count;
} cell_point;

/* Everything the tile pass shares. */
typedef struct job {
    const cr_arrivals_opts *o;
    const cr_grid *grid;
    int tile;                 /* tile side, cells */
    int tiles_x, tiles_y;
    int64_t tiles;
    cr_window part;           /* the window written (the whole grid without --tile) */
    const cr_grid *part_grid; /* its grid */
    int64_t part_tiles;       /* its output tiles */
    int halo_x, halo_y;       /* tiles a footprint can reach beyond its own */
    double cell_w, cell_h;
    /* the records inside the grid, sorted by tile, one per position */
    size_t n;
    cell_point *p;
    double *norm;             /* kernel weight sum over the grid (the allowed cells under a
                               * mask); NAN: computed in the tile; < 0: no allowed cell within
                               * the bandwidth, the record is rejected */
    const cr_mask *mask;      /* --mask, or NULL */
    int64_t *start;           /* tiles + 1 offsets into the records */
    double *chunk_mass;       /* kernel mass outside the grid, per chunk */
    double *chunk_masked;     /* kernel mass on refused cells of the grid, per chunk */
    int64_t dropped;          /* positions rejected: no allowed cell within the bandwidth */
    double **acc;             /* per worker: one tile of doubles */
    float **out;              /* per slot: one tile of floats */
    cr_writer *writer;
    double raster_sum;
    atomic_int stop;          /* a stop request seen by the calling thread */
    _Atomic double at;        /* the progress last reported, to ask the callback again */
} job;

/* Where a work item is in its kernel cells since it last looked for a stop request. */
typedef struct watch {
    job *j;
    cr_ctx *ctx;
    int64_t cells;
} watch;

/* 1 when the work must stop: the calling thread saw a stop request (cr_parallel_ordered_poll
 * asks it while workers run), or, when this work runs on the calling thread (one thread,
 * whose ctx has the progress callback), the callback asks for it now. Looks only every
 * CHECK_CELLS cells, so that a kernel of any size stops within milliseconds. */
static int stopping(watch *w, int64_t cells)
{
    if ((w->cells += cells) < CHECK_CELLS)
        return 0;
    w->cells = 0;
    if (atomic_load(&w->j->stop))
        return 1;
    if (cr_ctx_progress(w->ctx, atomic_load(&w->j->at), NULL))
        return 0;
    atomic_store(&w->j->stop, 1);
    return 1;
}

static cr_status cancelled(cr_ctx *ctx)
{
    return cr_ctx_fail(ctx, CR_E_CANCELLED, "arrivals were cancelled");
}

/* The calling thread's look for a stop request while workers run. */
static cr_status poll_stop(cr_ctx *ctx, void *arg)
{
    job *j = arg;
    if (cr_ctx_progress(ctx, atomic_load(&j->at), NULL))
        return CR_OK;
    atomic_store(&j->stop, 1);
    return cancelled(ctx);
}

static int64_t tile_of(const job *j, double fx, double fy)
{
    return (int64_t)(fy / j->tile) * j->tiles_x + (int64_t)(fx / j->tile);
}

static cr_cells tile_cells(const job *j, int64_t index)
{
    cr_window w = cr_grid_window(j->grid, j->tile, index);
    return (cr_cells){w.x, w.y, w.x + w.w - 1, w.y + w.h - 1};
}

/* Cell coordinates of a point, wrapping longitudes by 360 degrees onto grids that
 * cross the antimeridian. Returns 1 when the point lies inside the grid. */
static int locate(const cr_grid *g, int geographic, double x, double y, double *fx, double *fy)
{
    *fy = (y - g->gt[3]) / g->gt[5];
    *fx = (x - g->gt[0]) / g->gt[1];
    if (geographic && (*fx < 0 || *fx >= g->width)) {
        double east = (x + 360 - g->gt[0]) / g->gt[1], west = (x - 360 - g->gt[0]) / g->gt[1];
        *fx = east >= 0 && east < g->width ? east : west >= 0 && west < g->width ? west : *fx;
    }
    return *fx >= 0 && *fx < g->width && *fy >= 0 && *fy < g->height;
}

static int by_position(const void *a, const void *b)
{
    const cell_point *p = a, *q = b;
    if (p->fy != q->fy)
        return p->fy < q->fy ? -1 : 1;
    if (p->fx != q->fx)
        return p->fx < q->fx ? -1 : 1;
    return 0;
}

/* Sorts each tile's records by position and merges those at the same position into
 * one with their summed count: a kernel's weights depend only on the position, so
 * this is exact, and arrival records repeat their site's coordinates (1 000 000
 * records at about 1 000 sites is typical of displacement tracking). */
static void merge_positions(job *j)
{
    size_t kept = 0;
    int64_t from = 0;
    for (int64_t t = 0; t < j->tiles; t++) {
        int64_t to = j->start[t + 1];
        qsort(j->p + from, (size_t)(to - from), sizeof *j->p, by_position);
        j->start[t] = (int64_t)kept;
        for (int64_t i = from; i < to; i++) {
            if (kept > (size_t)j->start[t] && by_position(&j->p[kept - 1], &j->p[i]) == 0)
                j->p[kept - 1].count += j->p[i].count;
            else
                j->p[kept++] = j->p[i];
        }
        from = to;
    }
    j->start[j->tiles] = (int64_t)kept;
    j->n = kept;
}

/* Keeps the points inside the grid, bucketed by tile, and counts the others. */
static cr_status bucket(cr_ctx *ctx, job *j, const point_list *l, int geographic,
                        cr_arrivals_summary *s)
{
    j->start = calloc((size_t)j->tiles + 1, sizeof *j->start);
    if (!j->start)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    double fx, fy;
    for (size_t i = 0; i < l->n; i++) {
        if (locate(j->grid, geographic, l->p[i].x, l->p[i].y, &fx, &fy)) {
            j->start[tile_of(j, fx, fy) + 1]++;
            j->n++;
            s->arrivals_in_grid += l->p[i].count;
        } else {
            s->records_outside_grid++;
            s->arrivals_outside_grid += l->p[i].count;
        }
    }
    for (int64_t t = 0; t < j->tiles; t++)
        j->start[t + 1] += j->start[t];
    j->p = malloc((j->n ? j->n : 1) * sizeof *j->p);
    int64_t *next = malloc((size_t)j->tiles * sizeof *next);
    if (!j->p || !next) {
        free(next);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory bucketing %zu records", j->n);
    }
    memcpy(next, j->start, (size_t)j->tiles * sizeof *next);
    for (size_t i = 0; i < l->n; i++) {
        if (!locate(j->grid, geographic, l->p[i].x, l->p[i].y, &fx, &fy))
            continue;
        j->p[next[tile_of(j, fx, fy)]++] = (cell_point){fx, fy, l->p[i].count};
    }
    free(next);
    merge_positions(j);
    return CR_OK;
}

static cr_cells grid_cells(const job *j)
{
    return (cr_cells){0, 0, j->grid->width - 1, j->grid->height - 1};
}

static void stamp_of(const job *j, size_t i, cr_stamp *s)
{
    cr_stamp_init(s, j->o->kernel, j->o->bandwidth, j->cell_w, j->cell_h, j->p[i].fx, j->p[i].fy);
    s->mask = j->mask;
}

/* The sum of a footprint's weights inside area, in bands of rows with a look for a stop
 * request between them (the same bits as cr_stamp_sum()). 0 when asked to stop. */
static int stamp_sum(watch *w, const cr_stamp *s, const cr_cells *area, double *sum)
{
    int r0 = s->r0 > area->r0 ? s->r0 : area->r0, r1 = s->r1 < area->r1 ? s->r1 : area->r1;
    int64_t width = (int64_t)area->c1 - area->c0 + 1, span = (int64_t)s->c1 - s->c0 + 1;
    if (span < width)
        width = span;
    int64_t band = CHECK_CELLS / (width > 0 ? width : 1);
    *sum = 0;
    for (int64_t r = r0; r <= r1; r += band) {
        cr_cells rows = {area->c0, (int)r, area->c1, (int)(r + band - 1 < r1 ? r + band - 1 : r1)};
        cr_stamp_sum_into(s, &rows, sum);
        if (stopping(w, width * ((int64_t)rows.r1 - rows.r0 + 1)))
            return 0;
    }
    return 1;
}

/* Under a mask, a record without a kernel keeps its count in its own cell, which must be
 * allowed: -1 (rejected) when it is not. */
static double own_cell(const job *j, size_t i)
{
    return j->mask && !cr_mask_allowed(j->mask, (int)j->p[i].fx, (int)j->p[i].fy) ? -1 : NAN;
}

/* The normalisation of record i under a mask: the weights of its allowed cells, or 0 when no
 * cell centre of the grid lies within the bandwidth (its count then stays in its own cell,
 * if allowed), or -1 when the kernel reaches cells but none allowed: rejected. *grid_sum is
 * the sum over the grid without the mask. 0 when asked to stop. */
static int masked_norm(watch *w, const cr_stamp *s, const job *j, size_t i, double grid_sum,
                       double *norm)
{
    cr_cells grid = grid_cells(j);
    if (!stamp_sum(w, s, &grid, norm))
        return 0;
    if (!(*norm > 0))
        *norm = grid_sum > 0 ? -1 : own_cell(j, i) < 0 ? -1 : 0;
    return 1;
}

/* The normalisation of the records whose footprint leaves their tile (of every record under
 * a mask), the kernel mass that falls beyond the grid and, under a mask, on refused cells,
 * for one chunk of records. */
static cr_status normalise_chunk(cr_ctx *ctx, void *arg, int64_t index, int worker, int slot)
{
    (void)worker, (void)slot;
    job *j = arg;
    watch w = {j, ctx, 0};
    cr_cells grid = grid_cells(j);
    size_t end = (size_t)(index + 1) * CHUNK < j->n ? (size_t)(index + 1) * CHUNK : j->n;
    double mass = 0, masked = 0;
    for (size_t i = (size_t)index * CHUNK; i < end; i++) {
        j->norm[i] = NAN;
        if (stopping(&w, 1))
            return cancelled(ctx);
        if (j->o->kernel == CR_KERNEL_NONE) {
            j->norm[i] = own_cell(j, i);
            continue;
        }
        cr_stamp s, open;
        stamp_of(j, i, &s);
        open = s;
        open.mask = NULL;
        cr_cells home = tile_cells(j, tile_of(j, j->p[i].fx, j->p[i].fy));
        if (!j->mask && cr_stamp_inside(&s, &home))
            continue;
        double in_grid, full;
        if (!stamp_sum(&w, &open, &grid, &in_grid))
            return cancelled(ctx);
        j->norm[i] = in_grid;
        if (j->mask && !masked_norm(&w, &s, j, i, in_grid, &j->norm[i]))
            return cancelled(ctx);
        /* The whole footprint, for the mass beyond the edge: the bandwidth is at most the
         * grid's shorter side, so this is at most 16 times the part inside the grid. */
        cr_cells all = {s.c0, s.r0, s.c1, s.r1};
        if (cr_stamp_inside(&s, &grid))
            full = in_grid;
        else if (!stamp_sum(&w, &open, &all, &full))
            return cancelled(ctx);
        if (full > 0 && j->norm[i] >= 0)
            mass += j->p[i].count * (1 - in_grid / full);
        if (full > 0 && j->norm[i] > 0 && j->mask)
            masked += j->p[i].count * (in_grid - j->norm[i]) / full;
    }
    j->chunk_mass[index] = mass;
    j->chunk_masked[index] = masked;
    return CR_OK;
}

/* Adds record i to the tile's accumulator: its weights scaled to its count, or its
 * whole count in its cell when no cell centre of the grid lies within the
 * bandwidth. Returns the cells it went over. */
static int64_t add_record(const job *j, size_t i, const cr_cells *area, double *acc)
{
    size_t stride = (size_t)(area->c1 - area->c0 + 1);
    int c = (int)j->p[i].fx, r = (int)j->p[i].fy;
    if (j->norm && j->norm[i] < 0)
        return 1; /* rejected: no allowed cell within the bandwidth */
    if (j->o->kernel != CR_KERNEL_NONE) {
        cr_stamp s;
        stamp_of(j, i, &s);
        if (s.c1 < area->c0 || s.c0 > area->c1 || s.r1 < area->r0 || s.r0 > area->r1)
            return 1;
        double norm = j->norm[i];
        if (isnan(norm)) { /* the footprint lies inside its own tile */
            cr_cells grid = grid_cells(j);
            norm = cr_stamp_sum(&s, &grid);
        }
        if (norm > 0) {
            cr_stamp_add(&s, area, j->p[i].count / norm, acc, stride);
            return (int64_t)stride * (area->r1 - area->r0 + 1);
        }
    }
    if (c >= area->c0 && c <= area->c1 && r >= area->r0 && r <= area->r1)
        acc[(size_t)(r - area->r0) * stride + (size_t)(c - area->c0)] += j->p[i].count;
    return 1;
}

/* The index among the grid's output tiles of tile k of the window written: the window is
 * aligned to the tiles, so its tiles are the grid's. */
static int64_t grid_tile(const job *j, int64_t k)
{
    cr_window w = cr_grid_window(j->part_grid, j->tile, k);
    return (int64_t)((j->part.y + w.y) / j->tile) * j->tiles_x + (j->part.x + w.x) / j->tile;
}

/* Sums tile part_index of the window written. */
static cr_status accumulate_tile(cr_ctx *ctx, void *arg, int64_t part_index, int worker, int slot)
{
    job *j = arg;
    watch w = {j, ctx, 0};
    int64_t index = grid_tile(j, part_index);
    cr_cells area = tile_cells(j, index);
    size_t cells = (size_t)(area.c1 - area.c0 + 1) * (size_t)(area.r1 - area.r0 + 1);
    double *acc = j->acc[worker];
    memset(acc, 0, cells * sizeof *acc);
    int tx = (int)(index % j->tiles_x), ty = (int)(index / j->tiles_x);
    /* The tiles within the kernel's reach, clipped to the grid. */
    int x0 = tx - j->halo_x > 0 ? tx - j->halo_x : 0, y0 = ty - j->halo_y > 0 ? ty - j->halo_y : 0;
    int x1 = tx + j->halo_x < j->tiles_x - 1 ? tx + j->halo_x : j->tiles_x - 1;
    int y1 = ty + j->halo_y < j->tiles_y - 1 ? ty + j->halo_y : j->tiles_y - 1;
    for (int y = y0; y <= y1; y++) {
        for (int x = x0; x <= x1; x++) {
            int64_t t = (int64_t)y * j->tiles_x + x;
            for (int64_t i = j->start[t]; i < j->start[t + 1]; i++)
                if (stopping(&w, add_record(j, (size_t)i, &area, acc)))
                    return cancelled(ctx);
        }
    }
    float *out = j->out[slot];
    for (size_t k = 0; k < cells; k++)
        out[k] = (float)acc[k];
    return CR_OK;
}

/* Writes tile index of the window written, at its place in the window's raster. */
static cr_status write_tile(cr_ctx *ctx, void *arg, int64_t index, int slot)
{
    job *j = arg;
    cr_window win = cr_grid_window(j->part_grid, j->tile, index);
    const float *out = j->out[slot];
    double sum = 0;
    for (size_t k = 0; k < (size_t)win.w * (size_t)win.h; k++)
        sum += out[k];
    j->raster_sum += sum;
    cr_status st = cr_writer_write(ctx, j->writer, 1, &win, out);
    atomic_store(&j->at, (double)(index + 1) / (double)j->part_tiles);
    if (st == CR_OK && !cr_ctx_progress(ctx, atomic_load(&j->at), NULL))
        st = cancelled(ctx);
    return st;
}

static void free_buffers(void **list, int n)
{
    for (int i = 0; list && i < n; i++)
        free(list[i]);
    free(list);
}

static void job_free(job *j, int workers, int slots)
{
    free(j->p), free(j->norm), free(j->start), free(j->chunk_mass), free(j->chunk_masked);
    free_buffers((void **)j->acc, workers);
    free_buffers((void **)j->out, slots);
}

/* The kernel pass over all records (every record under a mask, even without a kernel):
 * their normalisation, the mass beyond the grid and on refused cells. */
static cr_status normalise(cr_ctx *ctx, job *j, int threads, int slots, cr_arrivals_summary *s)
{
    if ((j->o->kernel == CR_KERNEL_NONE && !j->mask) || j->n == 0)
        return CR_OK;
    int64_t chunks = (int64_t)((j->n + CHUNK - 1) / CHUNK);
    j->norm = malloc(j->n * sizeof *j->norm);
    j->chunk_mass = calloc((size_t)chunks, sizeof *j->chunk_mass);
    j->chunk_masked = calloc((size_t)chunks, sizeof *j->chunk_masked);
    if (!j->norm || !j->chunk_mass || !j->chunk_masked)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    cr_status st = cr_parallel_ordered_poll(ctx, threads, slots, chunks, normalise_chunk, NULL,
                                            poll_stop, j);
    for (int64_t k = 0; k < chunks; k++) {
        s->kernel_mass_outside += j->chunk_mass[k];
        s->kernel_mass_masked += j->chunk_masked[k];
    }
    for (size_t i = 0; i < j->n; i++)
        j->dropped += j->norm[i] < 0;
    return st;
}

/* The tile pass into the writer. */
static cr_status run_tiles(cr_ctx *ctx, job *j, int threads, int slots)
{
    size_t cells = (size_t)j->tile * (size_t)j->tile;
    j->acc = calloc((size_t)threads, sizeof *j->acc);
    j->out = calloc((size_t)slots, sizeof *j->out);
    if (!j->acc || !j->out)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    for (int i = 0; i < threads; i++)
        if (!(j->acc[i] = malloc(cells * sizeof **j->acc)))
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    for (int i = 0; i < slots; i++)
        if (!(j->out[i] = malloc(cells * sizeof **j->out)))
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    return cr_parallel_ordered_poll(ctx, threads, slots, j->part_tiles, accumulate_tile,
                                    write_tile, poll_stop, j);
}

/* The merged position of point (fx, fy), by binary search in its tile's sorted bucket. */
static int64_t position_of(const job *j, double fx, double fy)
{
    int64_t t = tile_of(j, fx, fy), lo = j->start[t], hi = j->start[t + 1] - 1;
    cell_point key = {fx, fy, 0};
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = by_position(&j->p[mid], &key);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* Rejects, in input order, the records at positions with no allowed cell of the mask within
 * the bandwidth: counted and reported like the records rejected while reading. */
static cr_status reject_masked(cr_ctx *ctx, const char *points_path, const job *j,
                               const point_list *l, int geographic, cr_report *report,
                               cr_arrivals_summary *s)
{
    if (j->dropped == 0)
        return CR_OK;
    cr_status st = CR_OK;
    double fx, fy;
    const cr_reject_reason why = CR_REJECT_NO_ALLOWED_CELL;
    for (size_t i = 0; i < l->n && st == CR_OK; i++) {
        const cr_point *p = &l->p[i];
        if (!locate(j->grid, geographic, p->x, p->y, &fx, &fy))
            continue;
        int64_t k = position_of(j, fx, fy);
        if (k < 0 || !(j->norm[k] < 0))
            continue;
        char message[256];
        snprintf(message, sizeof message,
                 "no cell the mask allows lies within %s of the record at (%.10g, %.10g) in the "
                 "grid CRS",
                 j->o->kernel == CR_KERNEL_NONE ? "the cell" : "the bandwidth", p->x, p->y);
        s->records_accepted--;
        s->arrivals_total -= p->count;
        s->arrivals_in_grid -= p->count;
        cr_reject_target t = {points_path, s, report, j->o->strict};
        st = cr_reject_record(ctx, &t, p->id, why, message, NULL, 0);
    }
    if (st == CR_OK)
        cr_records_warn(ctx, points_path, s, why);
    return st;
}

/* "line 12" or "feature 12". */
static const char *id_word(const cr_arrivals_summary *s, int64_t n)
{
    return s->ids_are_lines ? (n == 1 ? "line" : "lines") : (n == 1 ? "feature" : "features");
}

/* The least size of the records' central box (core/outliers.h): twice the bandwidth, 100
 * cells, and at least 1 km (0.01 degree on a geographic grid), the floor `info` uses for a
 * CSV, which has neither; units receives the grid CRS's unit ("m", "degrees", ...). */
static double outlier_floor(const char *grid_wkt, const cr_arrivals_opts *o, char *units,
                            size_t size)
{
    OGRSpatialReferenceH srs = cr_srs_from_wkt(grid_wkt);
    int geographic = srs && OSRIsGeographic(srs);
    char *unit = NULL;
    double to_metre = srs && !geographic ? OSRGetLinearUnits(srs, &unit) : 1.0;
    const char *name = unit;
    if (geographic)
        name = "degrees";
    else if (!name || EQUAL(name, "metre") || EQUAL(name, "meter"))
        name = "m";
    snprintf(units, size, "%s", name);
    OSRDestroySpatialReference(srs);
    double least = geographic ? 0.01 : 1000 / (to_metre > 0 ? to_metre : 1.0);
    return fmax(fmax(2 * o->bandwidth, 100 * o->resolution), least);
}

/* Counts, lists and reports a record far outside the others. */
static cr_status note_far(cr_ctx *ctx, const cr_point *p, cr_report *report, cr_arrivals_summary *s,
                          const cr_outliers *rule, const char *units)
{
    if (s->records_far < CR_ARRIVALS_FIRST_IDS)
        s->far_ids[s->records_far] = p->id;
    s->records_far++;
    s->arrivals_far += p->count;
    if (!report)
        return CR_OK;
    char message[320];
    snprintf(message, sizeof message,
             "the record at (%.10g, %.10g) in the grid CRS lies more than %g times %.6g %s (the "
             "size of the records' central extent) beyond it: left out of the grid's extent",
             p->x, p->y, CR_OUTLIER_FACTOR, rule->size, units);
    return cr_report_add(ctx, report, p->id, "far_outside", message, NULL, 0);
}

/* The extent of the records that are not far outside the others (core/outliers.h), which
 * are counted, reported and warned about. */
static cr_status records_extent(cr_ctx *ctx, const char *points_path, const cr_arrivals_opts *o,
                                const point_list *l, const char *grid_wkt, cr_report *report,
                                cr_arrivals_summary *s, cr_bounds *b)
{
    cr_outliers rule;
    char units[64];
    double floor_size = outlier_floor(grid_wkt, o, units, sizeof units);
    cr_status st = cr_outliers_find(ctx, &l->p[0].x, &l->p[0].y, sizeof *l->p / sizeof(double), l->n,
                                    floor_size, &rule);
    int any = 0;
    for (size_t i = 0; st == CR_OK && i < l->n; i++) {
        const cr_point *p = &l->p[i];
        if (cr_outliers_far(&rule, p->x, p->y)) {
            st = note_far(ctx, p, report, s, &rule, units);
            continue;
        }
        if (!any++)
            *b = (cr_bounds){p->x, p->y, p->x, p->y};
        b->xmin = fmin(b->xmin, p->x), b->xmax = fmax(b->xmax, p->x);
        b->ymin = fmin(b->ymin, p->y), b->ymax = fmax(b->ymax, p->y);
    }
    if (st != CR_OK || s->records_far == 0)
        return st;
    char ids[200];
    cr_records_ids(s, s->far_ids, s->records_far, ids, sizeof ids);
    cr_ctx_log(ctx, CR_LOG_WARNING,
               "%s: %" PRId64 " record%s (%.10g arrivals) %s far outside the others, more than %g "
               "times the size of their central extent (%.6g %s) beyond it (%s): left out of the "
               "grid's extent and counted outside the grid; check their coordinates (latitude and "
               "longitude swapped?) or give --bounds to include them",
               points_path, s->records_far, s->records_far == 1 ? "" : "s", s->arrivals_far,
               s->records_far == 1 ? "lies" : "lie", CR_OUTLIER_FACTOR, rule.size, units, ids);
    return CR_OK;
}

/* Fails when a grid from the records' extent b would exceed CR_EXTENT_MAX_CELLS, naming the
 * records at its edges: a grid that size is a mistake in the records far more often than
 * a study area, and --bounds says which it is. */
static cr_status check_extent_size(cr_ctx *ctx, const char *points_path, const cr_arrivals_opts *o,
                                   const point_list *l, const cr_arrivals_summary *s,
                                   const cr_bounds *b)
{
    double cells = cr_bounds_cells(b, o->resolution);
    if (cells <= CR_EXTENT_MAX_CELLS)
        return CR_OK;
    /* The records at the four edges of the extent (the far ones are not in it). */
    const cr_point *edge[4] = {NULL, NULL, NULL, NULL};
    for (size_t i = 0; i < l->n; i++) {
        const cr_point *p = &l->p[i];
        if (p->x < b->xmin || p->x > b->xmax || p->y < b->ymin || p->y > b->ymax)
            continue;
        if (!edge[0] || p->x < edge[0]->x) edge[0] = p;
        if (!edge[1] || p->x > edge[1]->x) edge[1] = p;
        if (!edge[2] || p->y < edge[2]->y) edge[2] = p;
        if (!edge[3] || p->y > edge[3]->y) edge[3] = p;
    }
    char named[600] = "";
    size_t used = 0;
    static const char *const sides[4] = {"west", "east", "south", "north"};
    for (int k = 0; k < 4 && edge[k]; k++)
        used += (size_t)snprintf(named + used, sizeof named - used, "%s%s %s %" PRId64
                                 " at (%.10g, %.10g)", k ? ", " : "", sides[k], id_word(s, 1),
                                 edge[k]->id, edge[k]->x, edge[k]->y);
    return cr_ctx_fail(ctx, CR_E_DATA,
                       "the grid from the records' extent of '%s' would have %.4g cells (more than "
                       "%g) at resolution %g: the records span x %.10g to %.10g, y %.10g to %.10g in "
                       "the grid CRS (%s); check those records, or give --bounds or --grid for the "
                       "study area",
                       points_path, cells, CR_EXTENT_MAX_CELLS, o->resolution, b->xmin, b->xmax,
                       b->ymin, b->ymax, named);
}

/* The grid: --grid's, --bounds', or the extent of the records not far outside the others,
 * grown by the bandwidth. */
static cr_status make_grid(cr_ctx *ctx, const char *points_path, const cr_arrivals_opts *o,
                           const point_list *l, const char *grid_wkt, cr_report *report,
                           cr_arrivals_summary *s, cr_grid **grid)
{
    if (o->grid_path)
        return CR_OK; /* read before the records, for their CRS */
    cr_bounds b = o->bounds;
    if (!o->has_bounds) {
        cr_status st = records_extent(ctx, points_path, o, l, grid_wkt, report, s, &b);
        double grow = o->kernel != CR_KERNEL_NONE ? o->bandwidth : o->resolution / 2;
        b.xmin -= grow, b.ymin -= grow, b.xmax += grow, b.ymax += grow;
        if (st == CR_OK)
            st = check_extent_size(ctx, points_path, o, l, s, &b);
        if (st != CR_OK)
            return st;
    }
    return cr_grid_from_bounds(ctx, &b, o->resolution, o->resolution, o->crs, grid);
}

/* Every file the run reads, NULL-terminated, into list (6 entries). */
static const char *const *input_list(const char *points_path, const cr_arrivals_opts *o,
                                     const char **list)
{
    const char *all[] = {points_path, o->areas_path, o->table_path, o->grid_path, o->mask_path,
                         o->weight_path};
    int n = 0;
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (all[i])
            list[n++] = all[i];
    list[n] = NULL;
    return list;
}

static cr_status check_options(cr_ctx *ctx, const char *points_path, const char *out_path,
                               const cr_arrivals_opts *o)
{
    if (o->kernel != CR_KERNEL_NONE && !(o->bandwidth > 0 && isfinite(o->bandwidth)))
        return cr_ctx_fail(ctx, CR_E_USAGE, "the %s kernel needs a positive --bandwidth",
                           cr_kernel_name(o->kernel));
    if (!o->grid_path && !(o->resolution > 0 && isfinite(o->resolution) && o->crs))
        return cr_ctx_fail(ctx, CR_E_USAGE, "give --grid, or --resolution and --crs (and --bounds)");
    /* Every file the run writes, against every input and each other, before any work. */
    const char *list[7], *const *inputs = input_list(points_path, o, list);
    cr_output_plan plan;
    cr_output_plan_init(&plan);
    cr_status st = cr_output_plan_add(ctx, &plan, out_path, "raster");
    if (st == CR_OK && o->report_path)
        st = cr_output_plan_add(ctx, &plan, o->report_path, "report");
    if (st == CR_OK)
        st = cr_output_plan_add_styles(ctx, &plan, o->styles);
    if (st == CR_OK)
        st = cr_output_plan_check(ctx, &plan, inputs, o->overwrite);
    cr_output_plan_release(&plan);
    return st;
}

/* The grid CRS and whether a kernel can be used on it. */
static cr_status grid_crs(cr_ctx *ctx, const cr_arrivals_opts *o, const cr_grid *grid, char **wkt,
                          int *geographic)
{
    cr_status st = grid ? ((*wkt = CPLStrdup(grid->crs_wkt)), CR_OK) : cr_crs_to_wkt(ctx, o->crs, wkt);
    if (st != CR_OK)
        return st;
    char name[256];
    const char *kind = grid ? NULL : cr_crs_not_a_grid(*wkt, name, sizeof name);
    if (kind) /* before the records are read: a grid from bounds could not be made */
        return cr_ctx_fail(ctx, CR_E_USAGE, "--crs %s is %s (%s); %s", o->crs, kind, name,
                           CR_GRID_CRS_HINT);
    OGRSpatialReferenceH srs = cr_srs_from_wkt(*wkt);
    *geographic = srs && OSRIsGeographic(srs);
    OSRDestroySpatialReference(srs);
    if (*geographic && o->kernel != CR_KERNEL_NONE)
        return cr_ctx_fail(ctx, CR_E_DATA,
                           "the %s kernel needs a projected grid (its bandwidth is in metres) but the "
                           "grid CRS is geographic; use a projected CRS such as the local UTM zone",
                           cr_kernel_name(o->kernel));
    return CR_OK;
}

static void add_string(json_object *o, const char *key, const char *value)
{
    json_object_object_add(o, key, value ? json_object_new_string(value) : NULL);
}

static char *parameters_json(const cr_arrivals_opts *o)
{
    json_object *p = json_object_new_object();
    add_string(p, "kernel", cr_kernel_name(o->kernel));
    json_object_object_add(p, "bandwidth", o->kernel != CR_KERNEL_NONE ? cr_json_number(o->bandwidth, 10) : NULL);
    add_string(p, "layer", o->layer);
    add_string(p, "x_field", o->x_field);
    add_string(p, "y_field", o->y_field);
    add_string(p, "src_crs", o->src_crs);
    add_string(p, "count_field", o->count_field);
    add_string(p, "date_field", o->date_field);
    add_string(p, "from", o->from);
    add_string(p, "to", o->to);
    add_string(p, "where", o->where);
    add_string(p, "mask", o->mask_path);
    add_string(p, "mask_layer", o->mask_layer);
    add_string(p, "area_key", o->area_key);
    add_string(p, "table_key", o->table_key);
    add_string(p, "weight", o->weight_path);
    return cr_json_take_text(p);
}

static char *inputs_json(const char *points_path, const cr_arrivals_opts *o)
{
    json_object *a = json_object_new_array();
    const char *list[7];
    for (const char *const *p = input_list(points_path, o, list); *p; p++)
        json_object_array_add(a, json_object_new_string(*p));
    return cr_json_take_text(a);
}

static char *formula(const cr_arrivals_opts *o)
{
    static const char *const shapes[] = {"", "(1 - u^2)^2", "1 - u^2", "(1 - u^2)^3", "1", "1 - u",
                                         "exp(-4.5 u^2)"};
    char buf[640];
    if (o->areas_path && o->weight_path)
        snprintf(buf, sizeof buf,
                 "a(cell) = sum over areas g of s_g * C_g * f_g(cell) * p(cell) / sum over grid "
                 "cells c of f_g(c) * p(c); C_g = the area's count, f_g = the exact share of the "
                 "cell its polygons cover, s_g = the share of the area's whole area inside the "
                 "grid, p = the weight raster read as counts (area share where an area's cells "
                 "have no weight)");
    else if (o->areas_path)
        snprintf(buf, sizeof buf,
                 "a(cell) = sum over areas g of C_g * f_g(cell) / A_g; C_g = the area's count, "
                 "f_g = the exact share of the cell its polygons cover, A_g = the area's whole "
                 "area in cells (inside the grid or not)");
    else if (o->kernel == CR_KERNEL_NONE)
        snprintf(buf, sizeof buf, "a(cell) = sum of the counts of the records inside the cell");
    else
        snprintf(buf, sizeof buf,
                 "a(cell) = sum over records r inside the grid of count_r * w(u_r,cell) / "
                 "sum over grid cells c of w(u_r,c); u = distance from r to the cell centre / h, "
                 "h = %.10g; w(u) = %s for u < 1 (%s kernel), 0 otherwise",
                 o->bandwidth, shapes[o->kernel], cr_kernel_name(o->kernel));
    return strdup(buf);
}

static cr_status open_writer(cr_ctx *ctx, const char *points_path, const char *out_path,
                             const cr_arrivals_opts *o, const cr_grid *grid, cr_writer **w)
{
    const char *names[] = {"arrivals"}, *units[] = {"arrivals per cell"};
    char *params = parameters_json(o), *inputs = inputs_json(points_path, o), *text = formula(o);
    cr_status st = params && inputs && text ? CR_OK : cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    if (st == CR_OK) {
        cr_writer_opts wo;
        cr_writer_opts_init(&wo);
        wo.band_names = names;
        wo.band_units = units;
        wo.overwrite = o->overwrite;
        wo.creation_options = o->creation_options;
        wo.inputs = inputs;
        wo.parameters = params;
        wo.formula = text;
        const char *list[7];
        wo.input_paths = input_list(points_path, o, list);
        st = cr_writer_open(ctx, out_path, grid, &wo, w);
    }
    free(params);
    free(inputs);
    free(text);
    return st;
}

/* Fails when records were accepted but none lies in the grid and their extent does not
 * even meet it: the records are of another place, or their CRS is not the one assumed
 * (lat/lon read as x/y, a missing --src-crs). Records merely around the grid are counted
 * outside it, as documented. */
static cr_status check_overlap(cr_ctx *ctx, const char *points_path, const cr_arrivals_opts *o,
                               const point_list *l, const job *j, const cr_grid *grid)
{
    cr_bounds g = cr_grid_bounds(grid), e = l->extent;
    if (l->n == 0 || j->n > 0 ||
        (e.xmax >= g.xmin && e.xmin <= g.xmax && e.ymax >= g.ymin && e.ymin <= g.ymax))
        return CR_OK;
    char what[2200];
    snprintf(what, sizeof what, "none of the %zu accepted records of '%s' lies in the grid%s%s%s",
             l->n, points_path, o->grid_path ? " of '" : "", o->grid_path ? o->grid_path : "",
             o->grid_path ? "'" : "");
    return cr_fail_apart(ctx, what, &e, "the grid's", &g,
                         " (in the grid's CRS); check the coordinate columns and --src-crs");
}

/* Fails when no record was accepted, whatever the options: an all-zero raster would
 * read as "no arrivals" where the truth is "no usable records" (every date in a form
 * not read, a window that misses every record, a filter that matches none). The report
 * (*report, then NULL) is published all the same: it says why each record was rejected. */
static cr_status check_accepted(cr_ctx *ctx, const char *points_path, const cr_arrivals_opts *o,
                                const cr_arrivals_summary *s, cr_report **report)
{
    if (s->records_accepted > 0)
        return CR_OK;
    if (*report) {
        cr_status st = cr_report_publish(ctx, *report);
        *report = NULL;
        if (st != CR_OK)
            return st;
    }
    if (s->records_read == 0)
        return cr_ctx_fail(ctx, CR_E_DATA, "'%s' has no records%s: no arrivals to count; nothing "
                           "was written", points_path,
                           !s->ids_are_lines && o->where ? " that match --where" : "");
    return cr_ctx_fail(ctx, CR_E_DATA,
                       "no record of '%s' was accepted (%" PRId64 " read: %" PRId64
                       " rejected, %" PRId64 " outside the date window, %" PRId64
                       " left out by --where); nothing was written",
                       points_path, s->records_read, s->records_rejected, s->excluded_by_date,
                       s->excluded_by_where);
}

/* Sizes the tiles and the halo; fails when a footprint could not be indexed. */
static cr_status plan(cr_ctx *ctx, job *j, const cr_arrivals_opts *o, const cr_grid *grid)
{
    j->o = o, j->grid = grid, j->tile = CR_BLOCK_SIZE;
    j->tiles_x = (grid->width + j->tile - 1) / j->tile;
    j->tiles_y = (grid->height + j->tile - 1) / j->tile;
    j->tiles = (int64_t)j->tiles_x * j->tiles_y;
    j->cell_w = grid->gt[1], j->cell_h = -grid->gt[5];
    if (o->kernel == CR_KERNEL_NONE)
        return CR_OK;
    /* A kernel wider than the grid spreads every record over all of it, and its cost grows
     * with its area, not with the grid's: the bandwidth is at most the grid's shorter side
     * (a grid from the records' extent grows by the bandwidth on every side, so it always
     * passes). Then a footprint is at most 16 times its part inside the grid. */
    double side = fmin(grid->width * j->cell_w, grid->height * j->cell_h);
    if (!(o->bandwidth <= side))
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "--bandwidth %.10g is beyond the grid's shorter side, %.10g (%d x %d "
                           "cells of %.10g x %.10g): a kernel wider than the grid spreads every "
                           "record over all of it; give a smaller bandwidth or a larger grid",
                           o->bandwidth, side, grid->width, grid->height, j->cell_w, j->cell_h);
    double rx = o->bandwidth / j->cell_w, ry = o->bandwidth / j->cell_h;
    /* + 2: the footprint's cell of margin on each side */
    j->halo_x = (int)ceil((rx + 2) / j->tile), j->halo_y = (int)ceil((ry + 2) / j->tile);
    return CR_OK;
}

/* The grid of a run by area: --grid's, --bounds', or the polygons' extent. */
static cr_status areas_grid(cr_ctx *ctx, const cr_arrivals_opts *o, cr_grid **grid)
{
    if (o->grid_path)
        return cr_grid_from_raster(ctx, o->grid_path, grid);
    cr_bounds b = o->bounds;
    char *wkt = NULL;
    cr_status st = o->has_bounds ? CR_OK : cr_crs_to_wkt(ctx, o->crs, &wkt);
    if (st == CR_OK && !o->has_bounds)
        st = cr_areas_extent(ctx, o, wkt, &b);
    CPLFree(wkt);
    if (st == CR_OK && !o->has_bounds && cr_bounds_cells(&b, o->resolution) > CR_EXTENT_MAX_CELLS)
        st = cr_ctx_fail(ctx, CR_E_DATA,
                         "the grid from the extent of areas '%s' would have %.4g cells (more than "
                         "%g) at resolution %g; give --bounds or --grid for the study area",
                         o->areas_path, cr_bounds_cells(&b, o->resolution), CR_EXTENT_MAX_CELLS,
                         o->resolution);
    return st == CR_OK ? cr_grid_from_bounds(ctx, &b, o->resolution, o->resolution, o->crs, grid)
                       : st;
}

/* The end of a run that wrote the raster (st CR_OK): commits it (the progress bar from
 * `from` to the end), then publishes the report; on failure, or after it, discards what is
 * left. Both are consumed. */
static cr_status finish_outputs(cr_ctx *ctx, cr_status st, cr_writer *writer, cr_report *report,
                                double from)
{
    if (st == CR_OK) {
        cr_ctx_set_progress_range(ctx, from, 1.0);
        st = cr_writer_commit(ctx, writer);
        writer = NULL;
    }
    if (st == CR_OK && report) {
        st = cr_report_publish(ctx, report);
        report = NULL;
    }
    cr_ctx_set_progress_range(ctx, 0.0, 1.0);
    cr_writer_abort(writer);
    cr_report_discard(report);
    return st;
}

/* The window written (the whole grid without --tile or --window, else the one way of
 * cityrisk/tile.h: a misaligned window fails, exit 2) and its grid, into the job and the
 * summary. */
static cr_status choose_window(cr_ctx *ctx, job *j, const cr_arrivals_opts *o,
                               const cr_grid *grid, cr_arrivals_summary *s, cr_grid **part_grid)
{
    cr_status st = cr_tile_window(ctx, grid, &o->tile, &j->part);
    if (st != CR_OK)
        return st;
    if (!(*part_grid = cr_grid_subgrid(grid, &j->part)))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    j->part_grid = *part_grid;
    j->part_tiles = cr_grid_window_count(*part_grid, j->tile);
    s->window = j->part;
    s->full_width = grid->width;
    s->full_height = grid->height;
    return CR_OK;
}

/* Refuses an output too big for the disk or memory: the whole grid's, or with --tile or
 * --window only the window's, since a tile of a continent's grid is small. */
static cr_status check_output_size(cr_ctx *ctx, const char *out_path, const cr_grid *grid,
                                   const cr_arrivals_opts *o, const char *ref)
{
    if (!cr_tile_given(&o->tile))
        return cr_output_check_size(ctx, out_path, grid, 1, ref);
    cr_window w;
    cr_status st = cr_tile_window(ctx, grid, &o->tile, &w);
    cr_grid *part = st == CR_OK ? cr_grid_subgrid(grid, &w) : NULL;
    if (st == CR_OK && !part)
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    if (st == CR_OK)
        st = cr_output_check_size(ctx, out_path, part, 1, ref);
    cr_grid_free(part);
    return st;
}

/* Fails on a window that does not fit a grid known before the records are read (--grid,
 * --bounds), so that a misaligned one stops the run before any work; a grid from the records'
 * extent is only known after them (choose_window() checks it then). */
static cr_status check_window_early(cr_ctx *ctx, const cr_arrivals_opts *o, const cr_grid *grid)
{
    cr_grid *made = NULL;
    cr_window window;
    cr_status st = CR_OK;
    if (!grid && o->has_bounds)
        st = cr_grid_from_bounds(ctx, &o->bounds, o->resolution, o->resolution, o->crs, &made);
    if (st == CR_OK && (grid || made))
        st = cr_tile_window(ctx, grid ? grid : made, &o->tile, &window);
    cr_grid_free(made);
    return st;
}

/* Marks a tile's raster with its place (cr_tile_mark()); nothing for the whole grid. */
static cr_status mark_tile(cr_ctx *ctx, const job *j, const cr_arrivals_opts *o, cr_writer *w)
{
    if (!cr_tile_given(&o->tile))
        return CR_OK;
    return cr_tile_mark(ctx, w, &o->tile, &j->part, j->grid->width, j->grid->height);
}

/* Counts by area (--areas): read the areas and their counts, then spread them. */
static cr_status arrivals_by_area(cr_ctx *ctx, const char *out_path, const cr_arrivals_opts *o,
                                  cr_arrivals_summary *s)
{
    cr_grid *grid = NULL;
    cr_areas *areas = NULL;
    cr_report *report = NULL;
    cr_writer *writer = NULL;
    cr_status st = check_options(ctx, NULL, out_path, o);
    if (st == CR_OK && cr_tile_given(&o->tile))
        st = cr_ctx_fail(ctx, CR_E_USAGE, "--areas with --tile or --window: an area's count is "
                         "shared over all its cells, which no tile holds alone; run --areas on "
                         "the whole grid");
    if (st == CR_OK && (o->kernel != CR_KERNEL_NONE || o->mask_path))
        st = cr_ctx_fail(ctx, CR_E_USAGE, "--areas spreads counts over polygons: leave out "
                         "--kernel, --bandwidth and --mask");
    if (st == CR_OK && !o->count_field)
        st = cr_ctx_fail(ctx, CR_E_USAGE, "--areas needs --count-field");
    if (st == CR_OK && (o->x_field || o->y_field || o->src_crs))
        st = cr_ctx_fail(ctx, CR_E_USAGE, "%s is for --points: --areas has polygons in their "
                         "own CRS", o->x_field ? "--x-field" : o->y_field ? "--y-field"
                                                                          : "--src-crs");
    if (st == CR_OK && (o->table_path != NULL) != (o->area_key != NULL && o->table_key != NULL))
        st = cr_ctx_fail(ctx, CR_E_USAGE, "--table needs --area-key and --table-key, and they "
                         "need --table");
    if (st == CR_OK)
        st = areas_grid(ctx, o, &grid);
    if (st == CR_OK)
        st = cr_output_check_size(ctx, out_path, grid, 1, o->grid_path);
    if (st == CR_OK)
        st = cr_areas_read(ctx, o, grid, &report, s, &areas);
    if (st == CR_OK)
        st = check_accepted(ctx, o->table_path ? o->table_path : o->areas_path, o, s, &report);
    if (st == CR_OK)
        st = open_writer(ctx, NULL, out_path, o, grid, &writer);
    if (st == CR_OK) {
        cr_ctx_set_progress_range(ctx, 0.3, 0.9);
        st = cr_areas_spread(ctx, areas, writer, cr_ctx_threads(ctx), report, s);
    }
    st = finish_outputs(ctx, st, writer, report, 0.9);
    cr_areas_free(areas);
    if (st == CR_OK) {
        s->grid = grid;
        s->window = (cr_window){0, 0, grid->width, grid->height};
        s->full_width = grid->width;
        s->full_height = grid->height;
    } else
        cr_grid_free(grid);
    return st;
}

cr_status cr_arrivals(cr_ctx *ctx, const char *points_path, const char *out_path,
                      const cr_arrivals_opts *o, cr_arrivals_summary *summary)
{
    cr_arrivals_summary local;
    cr_arrivals_summary *s = summary ? summary : &local;
    memset(s, 0, sizeof *s);
    memset(s->far_ids, 0xff, sizeof s->far_ids); /* -1: unused */
    if (o->areas_path) {
        memset(s->first_ids, 0xff, sizeof s->first_ids);
        cr_status st = arrivals_by_area(ctx, out_path, o, s);
        if (!summary)
            cr_arrivals_summary_clear(&local);
        return st;
    }
    cr_grid *grid = NULL, *part_grid = NULL;
    char *wkt = NULL;
    int geographic = 0;
    point_list points = {0};
    cr_report *report = NULL;
    cr_writer *writer = NULL;
    cr_mask *mask = NULL;
    job j;
    memset(&j, 0, sizeof j);
    atomic_init(&j.stop, 0);
    atomic_init(&j.at, 0.0);
    int threads = cr_ctx_threads(ctx), slots = 2 * threads;
    cr_status st = check_options(ctx, points_path, out_path, o);
    if (st == CR_OK && o->grid_path)
        st = cr_grid_from_raster(ctx, o->grid_path, &grid);
    if (st == CR_OK && grid)
        st = check_output_size(ctx, out_path, grid, o, o->grid_path);
    if (st == CR_OK)
        st = grid_crs(ctx, o, grid, &wkt, &geographic);
    if (st == CR_OK && cr_tile_given(&o->tile))
        st = check_window_early(ctx, o, grid);
    if (st == CR_OK) {
        cr_ctx_set_progress_range(ctx, 0.0, 0.4);
        st = cr_records_read(ctx, points_path, o, wkt, collect, &points, o->report_path, s, &report);
    }
    if (st == CR_OK)
        st = check_accepted(ctx, points_path, o, s, &report);
    if (st == CR_OK)
        st = make_grid(ctx, points_path, o, &points, wkt, report, s, &grid);
    if (st == CR_OK && !o->grid_path)
        st = check_output_size(ctx, out_path, grid, o, NULL);
    if (st == CR_OK)
        st = plan(ctx, &j, o, grid);
    if (st == CR_OK)
        st = choose_window(ctx, &j, o, grid, s, &part_grid);
    if (st == CR_OK)
        st = bucket(ctx, &j, &points, geographic, s);
    if (st == CR_OK)
        st = check_overlap(ctx, points_path, o, &points, &j, grid);
    /* The writer's temporaries exist from here on, so that a stop request during the kernel
     * sums has them to remove (and tests can wait for them). */
    if (st == CR_OK)
        st = open_writer(ctx, points_path, out_path, o, part_grid, &writer);
    if (st == CR_OK)
        st = mark_tile(ctx, &j, o, writer);
    if (st == CR_OK && o->mask_path) {
        cr_ctx_set_progress_range(ctx, 0.4, 0.5);
        st = cr_mask_open(ctx, o->mask_path, o->mask_layer, grid, j.tile, &mask);
        j.mask = mask;
    }
    if (st == CR_OK) {
        cr_ctx_set_progress_range(ctx, 0.5, 0.6);
        st = normalise(ctx, &j, threads, slots, s);
    }
    if (st == CR_OK)
        st = reject_masked(ctx, points_path, &j, &points, geographic, report, s);
    if (st == CR_OK)
        st = check_accepted(ctx, points_path, o, s, &report);
    free(points.p);
    points.p = NULL;
    if (st == CR_OK) {
        j.writer = writer;
        cr_ctx_set_progress_range(ctx, 0.6, 0.75);
        st = run_tiles(ctx, &j, threads, slots);
    }
    if (st == CR_OK)
        s->raster_sum = j.raster_sum;
    st = finish_outputs(ctx, st, writer, report, 0.75);
    job_free(&j, threads, slots);
    cr_mask_free(mask);
    cr_grid_free(grid);
    if (st == CR_OK)
        s->grid = part_grid;
    else
        cr_grid_free(part_grid);
    if (!summary)
        cr_arrivals_summary_clear(&local);
    CPLFree(wkt);
    return st;
}
