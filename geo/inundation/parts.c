/* parts.c: the edge and join files of inundation in parts, and phase 2, the join (see
 * parts.h and docs/inundation.md "In tiles across machines"). */
#define _POSIX_C_SOURCE 200809L
#include "parts.h"
#include "reach.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/internal.h"
#include "core/output.h"

static const char EDGE_MAGIC[8] = {'C', 'R', 'I', 'N', 'E', 'D', 'G', 'E'};
static const char JOIN_MAGIC[8] = {'C', 'R', 'I', 'N', 'J', 'O', 'I', 'N'};

/* The largest file either phase reads: far above what a part's border needs (a tile
 * of 65536 x 65536 cells with 3000 thresholds is below it), so that a corrupt size
 * cannot make a reader allocate without bound. */
static const long long MAX_FILE_BYTES = 4LL << 30;

/* The most land planes: three thresholds (W, W - k sigma, W + k sigma) per level. */
static const uint32_t MAX_THRESHOLDS = 3000;

uint64_t cr_fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* ---- writing: a growing buffer of little-endian values ---- */

typedef struct out_buf {
    unsigned char *data;
    size_t len, cap;
    int failed; /* out of memory */
} out_buf;

static void put_bytes(out_buf *b, const void *data, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *grown = realloc(b->data, cap);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
}

static void put_u32(out_buf *b, uint32_t v)
{
    unsigned char c[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put_bytes(b, c, 4);
}

static void put_u64(out_buf *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

/* Appends the checksum of what is there and publishes the buffer as path. */
static cr_status publish(cr_ctx *ctx, out_buf *b, const char *path, const char *what, int overwrite)
{
    put_u64(b, cr_fnv(CR_FNV_START, b->data, b->len));
    if (b->failed)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory writing %s '%s'", what, path);
    cr_temp temp = CR_TEMP_NONE;
    cr_status st = cr_temp_file(ctx, path, "part", &temp);
    if (st != CR_OK)
        return st;
    FILE *f = fopen(temp.path, "wb");
    int ok = f && fwrite(b->data, 1, b->len, f) == b->len;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok) {
        cr_temp_discard(&temp);
        return cr_ctx_fail(ctx, CR_E_IO, "%s: cannot write the %s", path, what);
    }
    st = cr_temp_publish(ctx, &temp, path, overwrite);
    if (st != CR_OK)
        cr_temp_discard(&temp);
    return st;
}

/* ---- reading: a cursor over the whole file, every read bounded ---- */

typedef struct in_buf {
    const unsigned char *data;
    size_t len, at;
    int bad; /* a read went past the end */
} in_buf;

static const unsigned char *take(in_buf *b, size_t n)
{
    if (b->bad || n > b->len - b->at) {
        b->bad = 1;
        return NULL;
    }
    const unsigned char *p = b->data + b->at;
    b->at += n;
    return p;
}

static uint32_t get_u32(in_buf *b)
{
    const unsigned char *c = take(b, 4);
    return c ? (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 | (uint32_t)c[3] << 24 : 0;
}

static uint64_t get_u64(in_buf *b)
{
    uint64_t lo = get_u32(b);
    return lo | (uint64_t)get_u32(b) << 32;
}

/* Reads the whole file at path (what: "edge file") after checking its size, its magic
 * and its checksum; *data is malloc()ed, *len excludes the checksum. */
static cr_status slurp(cr_ctx *ctx, const char *path, const char *what, const char magic[8],
                       unsigned char **data, size_t *len)
{
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return cr_ctx_fail(ctx, CR_E_IO, "%s '%s' cannot be opened", what, path);
    struct stat sb;
    cr_status st = CR_OK;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode))
        st = cr_ctx_fail(ctx, CR_E_DATA, "%s '%s' is not a regular file", what, path);
    else if (sb.st_size < 8 + 4 + 8 || (long long)sb.st_size > MAX_FILE_BYTES)
        st = cr_ctx_fail(ctx, CR_E_DATA, "%s '%s' is not one: %lld bytes (truncated?)", what, path,
                         (long long)sb.st_size);
    size_t n = st == CR_OK ? (size_t)sb.st_size : 0;
    unsigned char *buf = st == CR_OK ? malloc(n) : NULL;
    if (st == CR_OK && !buf)
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory reading %s '%s'", what, path);
    if (st == CR_OK && fread(buf, 1, n, f) != n)
        st = cr_ctx_fail(ctx, CR_E_IO, "%s '%s' cannot be read", what, path);
    fclose(f);
    if (st == CR_OK && memcmp(buf, magic, 8) != 0)
        st = cr_ctx_fail(ctx, CR_E_DATA, "%s '%s' is not one (no %.8s header)", what, path, magic);
    if (st == CR_OK) {
        in_buf tail = {buf + n - 8, 8, 0, 0};
        if (get_u64(&tail) != cr_fnv(CR_FNV_START, buf, n - 8))
            st = cr_ctx_fail(ctx, CR_E_DATA, "%s '%s' is corrupt or truncated (checksum differs)", what, path);
    }
    if (st == CR_OK) {
        in_buf head = {buf, n - 8, 8, 0};
        uint32_t version = get_u32(&head);
        if (version != CR_PARTS_VERSION)
            st = cr_ctx_fail(ctx, CR_E_DATA, "%s '%s' is of version %u; this cityrisk reads version %u",
                             what, path, version, CR_PARTS_VERSION);
    }
    if (st != CR_OK) {
        free(buf);
        return st;
    }
    *data = buf;
    *len = n - 8;
    return CR_OK;
}

/* ---- edge files ---- */

cr_status cr_part_edges_alloc(cr_ctx *ctx, cr_part_edges *e)
{
    int64_t cells = cr_part_border_cells(e->win.w, e->win.h);
    e->plane = calloc((size_t)e->thresholds + 1, sizeof *e->plane);
    int ok = e->plane != NULL;
    for (int p = 0; ok && p <= e->thresholds; p++) {
        ok = (e->plane[p].labels = malloc(sizeof(int32_t) * (size_t)cells)) != NULL;
        for (int64_t i = 0; ok && i < cells; i++)
            e->plane[p].labels[i] = -1;
    }
    return ok ? CR_OK : cr_ctx_fail(ctx, CR_E_IO, "out of memory for the edges of a part");
}

void cr_part_edges_release(cr_part_edges *e)
{
    for (int p = 0; e->plane && p <= e->thresholds; p++) {
        free(e->plane[p].seeded);
        free(e->plane[p].labels);
        free(e->plane[p].pair);
    }
    free(e->plane);
    e->plane = NULL;
}

cr_status cr_part_edges_write(cr_ctx *ctx, const char *path, const cr_part_edges *e, int overwrite)
{
    out_buf b = {0};
    put_bytes(&b, EDGE_MAGIC, 8);
    put_u32(&b, CR_PARTS_VERSION);
    put_u64(&b, e->fingerprint);
    uint32_t head[] = {(uint32_t)e->full_w, (uint32_t)e->full_h, (uint32_t)e->win.x, (uint32_t)e->win.y,
                       (uint32_t)e->win.w, (uint32_t)e->win.h, (uint32_t)e->tile_index,
                       (uint32_t)e->tile_count, (uint32_t)e->connectivity,
                       (uint32_t)e->sea_connectivity, (uint32_t)e->thresholds};
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
        put_u32(&b, head[i]);
    put_u64(&b, (uint64_t)e->seeds);
    int64_t cells = cr_part_border_cells(e->win.w, e->win.h);
    for (int p = 0; p <= e->thresholds; p++) {
        const cr_part_plane *pl = &e->plane[p];
        put_u32(&b, (uint32_t)pl->count);
        put_bytes(&b, pl->seeded, (size_t)pl->count);
        for (int64_t i = 0; i < cells; i++)
            put_u32(&b, (uint32_t)pl->labels[i]);
        put_u64(&b, (uint64_t)pl->pairs);
        for (int64_t i = 0; i < 2 * pl->pairs; i++)
            put_u32(&b, pl->pair[i]);
    }
    cr_status st = publish(ctx, &b, path, "edge file", overwrite);
    free(b.data);
    return st;
}

/* The header of an edge file into e, checked. */
static int read_edge_header(in_buf *b, cr_part_edges *e)
{
    e->fingerprint = get_u64(b);
    uint32_t v[11];
    for (int i = 0; i < 11; i++)
        v[i] = get_u32(b);
    e->seeds = (int64_t)get_u64(b);
    if (b->bad)
        return 0;
    for (int i = 0; i < 6; i++) /* no side beyond a grid's (block sums stay in an int) */
        if (v[i] > CR_GRID_MAX_SIDE)
            return 0;
    e->full_w = (int)v[0], e->full_h = (int)v[1];
    e->win = (cr_window){(int)v[2], (int)v[3], (int)v[4], (int)v[5]};
    e->tile_index = (int)(v[6] <= INT32_MAX ? v[6] : 0), e->tile_count = (int)(v[7] <= INT32_MAX ? v[7] : 0);
    e->connectivity = (int)(v[8] & 0xff), e->sea_connectivity = (int)(v[9] & 0xff);
    e->thresholds = (int)(v[10] <= MAX_THRESHOLDS ? v[10] : 0);
    return e->full_w > 0 && e->full_h > 0 && e->win.w > 0 && e->win.h > 0 &&
           e->win.x <= e->full_w - e->win.w && e->win.y <= e->full_h - e->win.h &&
           v[6] <= v[7] && (v[6] > 0) == (v[7] > 0) && v[8] == (uint32_t)e->connectivity &&
           (e->connectivity == 0 || e->connectivity == 4 || e->connectivity == 8) &&
           (e->sea_connectivity == 4 || e->sea_connectivity == 8) && v[9] == (uint32_t)e->sea_connectivity &&
           v[10] <= MAX_THRESHOLDS && (e->thresholds == 0) == (e->connectivity == 0) && e->seeds >= 0;
}

/* One plane of an edge file into pl, every label and pair inside its range. */
static int read_edge_plane(in_buf *b, cr_part_plane *pl, int64_t cells, int32_t sea_count)
{
    uint32_t count = get_u32(b);
    if (b->bad || count > (uint64_t)cells)
        return 0;
    pl->count = (int32_t)count;
    const unsigned char *seeded = take(b, count);
    if (!seeded || !(pl->seeded = malloc(count ? count : 1)))
        return 0;
    memcpy(pl->seeded, seeded, count);
    for (uint32_t i = 0; i < count; i++)
        if (pl->seeded[i] > 1)
            return 0;
    for (int64_t i = 0; i < cells; i++) {
        uint32_t v = get_u32(b);
        int32_t label = v == UINT32_MAX ? -1 : (int32_t)(v < count ? v : 0);
        if (b->bad || (v != UINT32_MAX && v >= count))
            return 0;
        pl->labels[i] = label;
    }
    uint64_t pairs = get_u64(b);
    if (b->bad || pairs > (b->len - b->at) / 8 || (sea_count < 0 && pairs > 0))
        return 0;
    pl->pairs = (int64_t)pairs;
    if (!(pl->pair = malloc(sizeof *pl->pair * (size_t)(2 * pairs + 1))))
        return 0;
    for (uint64_t i = 0; i < pairs; i++) {
        pl->pair[2 * i] = get_u32(b);
        pl->pair[2 * i + 1] = get_u32(b);
        if (pl->pair[2 * i] >= count || (int64_t)pl->pair[2 * i + 1] >= sea_count)
            return 0;
    }
    return !b->bad;
}

cr_status cr_part_edges_read(cr_ctx *ctx, const char *path, cr_part_edges *e)
{
    memset(e, 0, sizeof *e);
    unsigned char *data;
    size_t len;
    cr_status st = slurp(ctx, path, "edge file", EDGE_MAGIC, &data, &len);
    if (st != CR_OK)
        return st;
    in_buf b = {data, len, 12, 0};
    int ok = read_edge_header(&b, e);
    if (ok) {
        e->plane = calloc((size_t)e->thresholds + 1, sizeof *e->plane);
        ok = e->plane != NULL;
    }
    int64_t cells = ok ? cr_part_border_cells(e->win.w, e->win.h) : 0;
    ok = ok && (uint64_t)cells * 4 <= len;
    for (int p = 0; ok && p <= e->thresholds; p++) {
        ok = (e->plane[p].labels = malloc(sizeof(int32_t) * (size_t)cells)) != NULL &&
             read_edge_plane(&b, &e->plane[p], cells, p == 0 ? -1 : e->plane[0].count);
    }
    ok = ok && b.at == b.len;
    free(data);
    if (ok)
        return CR_OK;
    cr_part_edges_release(e);
    return cr_ctx_fail(ctx, CR_E_DATA, "edge file '%s' is corrupt: its sizes or labels are out of range", path);
}

/* ---- phase 2 ---- */

/* The parts of the join, with the block each cell's part is found by. */
typedef struct join {
    cr_part_edges *part;
    const char *const *paths;
    int count;
    int full_w, full_h;
    int blocks_x, blocks_y;
    int32_t *owner;   /* per block of the grid: the part holding it, -1 none */
    int64_t *offset;  /* per part: first node of the plane being joined */
    int32_t *parent;  /* the union-find over the border components of all parts */
    uint8_t *seeded;
    int64_t nodes;
    uint8_t *sea;     /* per node of plane 0: the component is sea */
    int64_t *sea_offset; /* per part: its first node of plane 0 */
} join;

/* Numbers the border components of plane p of every part as one union-find, seeded as
 * within their parts. */
static cr_status start_plane(cr_ctx *ctx, join *j, int p)
{
    int64_t n = 0;
    for (int i = 0; i < j->count; i++) {
        j->offset[i] = n;
        n += j->part[i].plane[p].count;
    }
    if (n > INT32_MAX)
        return cr_ctx_fail(ctx, CR_E_DATA, "the edge files hold %lld components along tile edges, beyond "
                           "the 2^31 the join can number", (long long)n);
    int32_t *parent = realloc(j->parent, sizeof *parent * (size_t)(n + 1));
    if (parent)
        j->parent = parent;
    uint8_t *seeded = realloc(j->seeded, (size_t)n + 1);
    if (seeded)
        j->seeded = seeded;
    if (!parent || !seeded)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory joining %lld components", (long long)n);
    j->nodes = n;
    for (int i = 0; i < j->count; i++)
        for (int32_t c = 0; c < j->part[i].plane[p].count; c++) {
            int32_t node = (int32_t)(j->offset[i] + c);
            j->parent[node] = node;
            j->seeded[node] = j->part[i].plane[p].seeded[c];
        }
    return CR_OK;
}

/* The part holding cell (x, y). */
static int owner_of(const join *j, int x, int y)
{
    return j->owner[(int64_t)(y / CR_BLOCK_SIZE) * j->blocks_x + x / CR_BLOCK_SIZE];
}

/* What to do with each pair of neighbour cells in two parts (a's border cell ia and b's
 * border cell ib). */
typedef void (*pair_fn)(join *j, int p, int a, int64_t ia, int b, int64_t ib);

/* The index among part b's border cells (parts.h) of cell (x, y) of the grid, which is on
 * its border: the top and bottom rows first, as phase 1 numbers them. */
static int64_t border_at(const join *j, int b, int x, int y)
{
    const cr_window *v = &j->part[b].win;
    int px = x - v->x, py = y - v->y;
    if (py == 0)
        return px;
    if (py == v->h - 1)
        return (int64_t)v->w + px;
    return px == 0 ? 2 * (int64_t)v->w + py : 2 * (int64_t)v->w + v->h + py;
}

/* Calls fn for every pair of neighbouring cells in different parts: across each part's
 * right column and bottom row, with the diagonals (and so the cells across a corner, in
 * whichever part holds them) when neighbours are 8. */
static void each_neighbour_pair(join *j, int p, int diagonal, pair_fn fn)
{
    for (int a = 0; a < j->count; a++) {
        const cr_window *w = &j->part[a].win;
        int right = w->x + w->w, below = w->y + w->h;
        for (int ly = 0; right < j->full_w && ly < w->h; ly++)
            for (int ny = w->y + ly - diagonal; ny <= w->y + ly + diagonal; ny++) {
                if (ny < 0 || ny >= j->full_h)
                    continue;
                int b = owner_of(j, right, ny);
                fn(j, p, a, border_at(j, a, right - 1, w->y + ly), b, border_at(j, b, right, ny));
            }
        for (int lx = 0; below < j->full_h && lx < w->w; lx++)
            for (int nx = w->x + lx - diagonal; nx <= w->x + lx + diagonal; nx++) {
                if (nx < 0 || nx >= j->full_w)
                    continue;
                int b = owner_of(j, nx, below);
                fn(j, p, a, border_at(j, a, w->x + lx, below - 1), b, border_at(j, b, nx, below));
            }
    }
}

/* The node of part a's border cell i in plane p, or -1 when the cell is not in it. */
static int32_t node_at(const join *j, int p, int a, int64_t i)
{
    int32_t c = j->part[a].plane[p].labels[i];
    return c < 0 ? -1 : (int32_t)(j->offset[a] + c);
}

static void unite_pair(join *j, int p, int a, int64_t ia, int b, int64_t ib)
{
    int32_t na = node_at(j, p, a, ia), nb = node_at(j, p, b, ib);
    if (na >= 0 && nb >= 0)
        cr_reach_uf_unite(j->parent, j->seeded, na, nb);
}

/* Is part a's border cell i sea (after plane 0 was joined)? */
static int sea_at(const join *j, int a, int64_t i)
{
    int32_t c = j->part[a].plane[0].labels[i];
    return c >= 0 && j->sea[j->sea_offset[a] + c];
}

/* Land cells beside a sea cell of the other part are joined to the sea. */
static void seed_pair(join *j, int p, int a, int64_t ia, int b, int64_t ib)
{
    int32_t na = node_at(j, p, a, ia), nb = node_at(j, p, b, ib);
    if (na >= 0 && sea_at(j, b, ib))
        j->seeded[cr_reach_uf_root(j->parent, na)] = 1;
    if (nb >= 0 && sea_at(j, a, ia))
        j->seeded[cr_reach_uf_root(j->parent, nb)] = 1;
}

/* Land components touching a sea candidate of their own part that is sea are joined. */
static void seed_pairs(join *j, int p)
{
    for (int a = 0; a < j->count; a++) {
        const cr_part_plane *pl = &j->part[a].plane[p];
        for (int64_t i = 0; i < pl->pairs; i++)
            if (j->sea[j->sea_offset[a] + pl->pair[2 * i + 1]])
                j->seeded[cr_reach_uf_root(j->parent, (int32_t)(j->offset[a] + pl->pair[2 * i]))] = 1;
    }
}

/* Checks that the parts are of one grid and options, block-aligned, each given once, and
 * together cover the grid; fills j->owner. CR_E_DATA naming the file otherwise. */
static cr_status check_parts(cr_ctx *ctx, join *j)
{
    const cr_part_edges *first = &j->part[0];
    j->full_w = first->full_w, j->full_h = first->full_h;
    j->blocks_x = (j->full_w + CR_BLOCK_SIZE - 1) / CR_BLOCK_SIZE;
    j->blocks_y = (j->full_h + CR_BLOCK_SIZE - 1) / CR_BLOCK_SIZE;
    int64_t blocks = (int64_t)j->blocks_x * j->blocks_y;
    if (!(j->owner = malloc(sizeof *j->owner * (size_t)blocks)))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory joining %d edge files", j->count);
    for (int64_t i = 0; i < blocks; i++)
        j->owner[i] = -1;
    for (int i = 0; i < j->count; i++) {
        const cr_part_edges *e = &j->part[i];
        const cr_window *w = &e->win;
        if (e->fingerprint != first->fingerprint || e->full_w != first->full_w ||
            e->full_h != first->full_h || e->thresholds != first->thresholds ||
            e->connectivity != first->connectivity)
            return cr_ctx_fail(ctx, CR_E_DATA,
                               "edge file '%s' is of another DEM or other options than '%s' (its "
                               "fingerprint differs): run phase 1 of every part with the same DEM and options",
                               j->paths[i], j->paths[0]);
        if (w->x % CR_BLOCK_SIZE || w->y % CR_BLOCK_SIZE ||
            (w->w % CR_BLOCK_SIZE && w->x + w->w != j->full_w) ||
            (w->h % CR_BLOCK_SIZE && w->y + w->h != j->full_h))
            return cr_ctx_fail(ctx, CR_E_DATA, "edge file '%s' is corrupt: its window is not on the %d-cell block grid",
                               j->paths[i], CR_BLOCK_SIZE);
        for (int by = w->y / CR_BLOCK_SIZE; by * CR_BLOCK_SIZE < w->y + w->h; by++)
            for (int bx = w->x / CR_BLOCK_SIZE; bx * CR_BLOCK_SIZE < w->x + w->w; bx++) {
                int32_t *o = &j->owner[(int64_t)by * j->blocks_x + bx];
                if (*o >= 0 && e->tile_count > 0 && j->part[*o].tile_index == e->tile_index &&
                    j->part[*o].tile_count == e->tile_count)
                    return cr_ctx_fail(ctx, CR_E_DATA, "edge file '%s' is tile %d/%d again (as '%s')",
                                       j->paths[i], e->tile_index, e->tile_count, j->paths[*o]);
                if (*o >= 0)
                    return cr_ctx_fail(ctx, CR_E_DATA, "edge file '%s' covers cells of '%s' too (window %d,%d,%d,%d)",
                                       j->paths[i], j->paths[*o], w->x, w->y, w->w, w->h);
                *o = i;
            }
    }
    for (int64_t b = 0; b < blocks; b++) {
        if (j->owner[b] >= 0)
            continue;
        int x = (int)(b % j->blocks_x) * CR_BLOCK_SIZE, y = (int)(b / j->blocks_x) * CR_BLOCK_SIZE;
        int n = first->tile_count;
        for (int t = 1; n > 0 && t <= n; t++) { /* name the tile whose file is missing */
            int found = 0;
            for (int i = 0; i < j->count && !found; i++)
                found = j->part[i].tile_index == t && j->part[i].tile_count == n;
            if (!found)
                return cr_ctx_fail(ctx, CR_E_DATA, "tile %d/%d has no edge file among the %d given "
                                   "(%s, ...)", t, n, j->count, j->paths[0]);
        }
        return cr_ctx_fail(ctx, CR_E_DATA, "no edge file covers cell %d,%d of the %d x %d grid (%d files "
                           "given: %s, ...)", x, y, j->full_w, j->full_h, j->count, j->paths[0]);
    }
    return CR_OK;
}

/* The bits of part a, plane p of the join file: 1 where the border cell is sea (plane 0)
 * or sea or land joined to it (planes 1+). */
static void put_part_bits(out_buf *b, join *j, int p, int a)
{
    const cr_part_edges *e = &j->part[a];
    int64_t cells = cr_part_border_cells(e->win.w, e->win.h);
    unsigned char byte = 0;
    for (int64_t i = 0; i < cells; i++) {
        int bit = sea_at(j, a, i);
        int32_t n = p > 0 ? node_at(j, p, a, i) : -1;
        if (!bit && n >= 0)
            bit = j->seeded[cr_reach_uf_root(j->parent, n)];
        byte |= (unsigned char)(bit << (i % 8));
        if (i % 8 == 7 || i == cells - 1) {
            put_bytes(b, &byte, 1);
            byte = 0;
        }
    }
}

/* Joins every plane and writes the join file (its layout in docs/inundation.md). */
static cr_status join_planes(cr_ctx *ctx, join *j, const char *out, int overwrite)
{
    const cr_part_edges *first = &j->part[0];
    int planes = first->thresholds + 1;
    cr_status st = start_plane(ctx, j, 0);
    if (st != CR_OK)
        return st;
    each_neighbour_pair(j, 0, first->sea_connectivity == 8, unite_pair);
    if (!(j->sea = malloc((size_t)j->nodes + 1)))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory joining the edge files");
    for (int64_t n = 0; n < j->nodes; n++)
        j->sea[n] = j->seeded[cr_reach_uf_root(j->parent, (int32_t)n)];
    memcpy(j->sea_offset, j->offset, sizeof *j->offset * (size_t)j->count);
    out_buf b = {0};
    put_bytes(&b, JOIN_MAGIC, 8);
    put_u32(&b, CR_PARTS_VERSION);
    put_u64(&b, first->fingerprint);
    put_u32(&b, (uint32_t)j->full_w);
    put_u32(&b, (uint32_t)j->full_h);
    put_u32(&b, (uint32_t)planes);
    put_u32(&b, (uint32_t)j->count);
    /* Plane by plane into separate buffers, then part by part into the file. */
    out_buf *plane_buf = calloc((size_t)planes, sizeof *plane_buf);
    size_t **at = calloc((size_t)planes, sizeof *at);
    if (!plane_buf || !at)
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory joining the edge files");
    for (int p = 0; st == CR_OK && p < planes; p++) {
        if (p > 0 && (st = start_plane(ctx, j, p)) != CR_OK)
            break;
        if (p > 0) {
            seed_pairs(j, p);
            each_neighbour_pair(j, p, first->connectivity == 8, unite_pair);
            each_neighbour_pair(j, p, first->connectivity == 8, seed_pair);
        }
        if (!(at[p] = malloc(sizeof **at * (size_t)(j->count + 1)))) {
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory joining the edge files");
            break;
        }
        for (int a = 0; a < j->count; a++) {
            at[p][a] = plane_buf[p].len;
            put_part_bits(&plane_buf[p], j, p, a);
        }
        at[p][j->count] = plane_buf[p].len;
        if (plane_buf[p].failed)
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory joining the edge files");
    }
    for (int a = 0; st == CR_OK && a < j->count; a++) {
        const cr_part_edges *e = &j->part[a];
        uint32_t head[] = {(uint32_t)e->win.x, (uint32_t)e->win.y, (uint32_t)e->win.w,
                           (uint32_t)e->win.h, (uint32_t)e->tile_index, (uint32_t)e->tile_count};
        for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
            put_u32(&b, head[i]);
        for (int p = 0; p < planes; p++)
            put_bytes(&b, plane_buf[p].data + at[p][a], at[p][a + 1] - at[p][a]);
    }
    if (st == CR_OK)
        st = publish(ctx, &b, out, "join file", overwrite);
    for (int p = 0; p < planes; p++) {
        if (plane_buf)
            free(plane_buf[p].data);
        if (at)
            free(at[p]);
    }
    free(plane_buf);
    free(at);
    free(b.data);
    return st;
}

cr_status cr_part_join(cr_ctx *ctx, const char *const *paths, int count, const char *out,
                       int overwrite)
{
    if (count < 1)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--phase join wants the edge files of every part");
    join j = {.paths = paths, .count = count};
    j.part = calloc((size_t)count, sizeof *j.part);
    j.offset = calloc((size_t)count, sizeof *j.offset);
    j.sea_offset = calloc((size_t)count, sizeof *j.sea_offset);
    cr_status st = j.part && j.offset && j.sea_offset ? CR_OK
                                                      : cr_ctx_fail(ctx, CR_E_IO, "out of memory joining edge files");
    for (int i = 0; i < count && st == CR_OK; i++)
        st = cr_part_edges_read(ctx, paths[i], &j.part[i]);
    if (st == CR_OK)
        st = check_parts(ctx, &j);
    int64_t seeds = 0;
    for (int i = 0; st == CR_OK && i < count; i++)
        seeds += j.part[i].seeds;
    if (st == CR_OK && seeds == 0 && j.part[0].connectivity)
        st = cr_ctx_fail(ctx, CR_E_DATA,
                         "no sea found in the DEM of '%s' and the other edge files: no nodata or elevation "
                         "at or below 0 touches the raster edge, and no --sea cell is in the grid; give "
                         "the sea with --sea or use --connectivity none", paths[0]);
    if (st == CR_OK)
        st = join_planes(ctx, &j, out, overwrite);
    for (int i = 0; j.part && i < count; i++)
        cr_part_edges_release(&j.part[i]);
    free(j.part);
    free(j.offset);
    free(j.sea_offset);
    free(j.owner);
    free(j.parent);
    free(j.seeded);
    free(j.sea);
    return st;
}

cr_status cr_part_join_read(cr_ctx *ctx, const char *path, uint64_t fingerprint, int full_w,
                            int full_h, const cr_window *win, int planes, uint8_t **bits)
{
    *bits = NULL;
    unsigned char *data;
    size_t len;
    cr_status st = slurp(ctx, path, "join file", JOIN_MAGIC, &data, &len);
    if (st != CR_OK)
        return st;
    in_buf b = {data, len, 12, 0};
    uint64_t fp = get_u64(&b);
    uint32_t w = get_u32(&b), h = get_u32(&b), np = get_u32(&b), parts = get_u32(&b);
    if (!b.bad && (fp != fingerprint || w != (uint32_t)full_w || h != (uint32_t)full_h ||
                   np != (uint32_t)planes))
        st = cr_ctx_fail(ctx, CR_E_DATA,
                         "join file '%s' is of another DEM or other options (its fingerprint differs): "
                         "give the join of the edge files made with these options", path);
    int64_t cells = cr_part_border_cells(win->w, win->h);
    for (uint32_t i = 0; st == CR_OK && !b.bad && i < parts; i++) {
        uint32_t v[6];
        for (int k = 0; k < 6; k++)
            v[k] = get_u32(&b);
        if (b.bad || v[2] == 0 || v[3] == 0 || v[2] > w || v[3] > h) {
            b.bad = 1; /* a part of no size or larger than the grid: corrupt, not another tiling */
            break;
        }
        size_t bytes = (size_t)((cr_part_border_cells((int)v[2], (int)v[3]) + 7) / 8);
        if ((uint64_t)bytes * np > b.len - b.at) {
            b.bad = 1;
            break;
        }
        if (v[0] != (uint32_t)win->x || v[1] != (uint32_t)win->y || v[2] != (uint32_t)win->w ||
            v[3] != (uint32_t)win->h) {
            take(&b, bytes * np);
            continue;
        }
        if (!(*bits = malloc((size_t)cells * np))) {
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory reading join file '%s'", path);
            break;
        }
        for (uint32_t p = 0; p < np; p++) {
            const unsigned char *packed = take(&b, bytes);
            for (int64_t c = 0; c < cells; c++)
                (*bits)[(int64_t)p * cells + c] = (packed[c / 8] >> (c % 8)) & 1;
        }
        free(data);
        return CR_OK;
    }
    if (st == CR_OK && b.bad)
        st = cr_ctx_fail(ctx, CR_E_DATA, "join file '%s' is corrupt: its sizes are out of range", path);
    else if (st == CR_OK)
        st = cr_ctx_fail(ctx, CR_E_DATA, "join file '%s' has no part at window %d,%d,%d,%d: it joins other tiles",
                         path, win->x, win->y, win->w, win->h);
    free(data);
    return st;
}
