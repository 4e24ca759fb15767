/* reach.c: tiled connected components joined to seeds (see reach.h). */
#include "reach.h"

#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

/* The labelling of one tile: a union-find over its cells, then components numbered
 * in order of first appearance, row-major, so that the same masks always give the
 * same numbering. */
struct cr_reach_labels {
    int32_t *parent;  /* per cell: union-find parent, -1 for dry cells */
    int32_t *comp;    /* per cell: component number, -1 for dry cells */
    uint8_t *seeded;  /* per component: holds a seed */
    int32_t *global;  /* per component: global id when it touches the border, else -1 */
    int32_t count;
    size_t capacity;  /* cells */
};
typedef struct cr_reach_labels tile_labels;

struct cr_reach {
    int width, height, tile, connectivity;
    int tile_cols;
    tile_labels *t;   /* the scratch of one scan or resolve call */
    int own_labels;
    int32_t *tile_base;    /* per tile: first global id of its border components */
    int32_t *above;        /* global ids of the row above the current tile row */
    int32_t *below;        /* global ids of the current tile row's bottom row */
    int32_t *left;         /* global ids of the left tile's right column */
    int32_t *uf_parent;    /* global union-find */
    uint8_t *uf_seeded;
    int64_t uf_count, uf_capacity;
    /* a land reach linked to the sea's (cr_reach_scan_linked): pairs (land global id << 32 |
     * sea global id) of components that touch, each once per tile */
    uint64_t *link;
    int64_t links, link_capacity;
};

cr_reach_labels *cr_reach_labels_new(void)
{
    return calloc(1, sizeof(cr_reach_labels));
}

void cr_reach_labels_free(cr_reach_labels *t)
{
    if (!t)
        return;
    free(t->parent);
    free(t->comp);
    free(t->seeded);
    free(t->global);
    free(t);
}

cr_reach *cr_reach_new(int width, int height, int tile, int connectivity, cr_reach_labels *labels)
{
    cr_reach *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->own_labels = labels == NULL;
    r->t = labels ? labels : cr_reach_labels_new();
    r->width = width;
    r->height = height;
    r->tile = tile;
    r->connectivity = connectivity;
    r->tile_cols = (width + tile - 1) / tile;
    int64_t tiles = (int64_t)r->tile_cols * ((height + tile - 1) / tile);
    r->tile_base = malloc(sizeof *r->tile_base * (size_t)tiles);
    r->above = malloc(sizeof *r->above * (size_t)width);
    r->below = malloc(sizeof *r->below * (size_t)width);
    r->left = malloc(sizeof *r->left * (size_t)tile);
    if (!r->t || !r->tile_base || !r->above || !r->below || !r->left) {
        cr_reach_free(r);
        return NULL;
    }
    for (int i = 0; i < width; i++)
        r->above[i] = r->below[i] = -1;
    return r;
}

void cr_reach_free(cr_reach *r)
{
    if (!r)
        return;
    if (r->own_labels)
        cr_reach_labels_free(r->t);
    free(r->tile_base);
    free(r->above);
    free(r->below);
    free(r->left);
    free(r->uf_parent);
    free(r->uf_seeded);
    free(r->link);
    free(r);
}

static int reserve_tile(tile_labels *t, size_t cells)
{
    if (cells <= t->capacity)
        return 1;
    int32_t *parent = realloc(t->parent, cells * sizeof *parent);
    if (parent)
        t->parent = parent;
    int32_t *comp = realloc(t->comp, cells * sizeof *comp);
    if (comp)
        t->comp = comp;
    uint8_t *seeded = realloc(t->seeded, cells * sizeof *seeded);
    if (seeded)
        t->seeded = seeded;
    int32_t *global = realloc(t->global, cells * sizeof *global);
    if (global)
        t->global = global;
    if (!parent || !comp || !seeded || !global)
        return 0;
    t->capacity = cells;
    return 1;
}

int32_t cr_reach_uf_root(int32_t *parent, int32_t i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]]; /* path halving */
        i = parent[i];
    }
    return i;
}

static void union_local(int32_t *parent, int32_t a, int32_t b)
{
    a = cr_reach_uf_root(parent, a);
    b = cr_reach_uf_root(parent, b);
    if (a < b)
        parent[b] = a;
    else if (b < a)
        parent[a] = b;
}

/* Links cell i to its already-labelled wet neighbours. Neighbours that touch each
 * other are already one component, so one link per group is enough: with 8
 * neighbours a wet north cell stands for north-west, west and north-east too. A
 * new link always points to a smaller cell, so a root stays the smallest cell of
 * its component. */
static void link_cell(int32_t *p, const uint8_t *wet, int32_t i, int x, int y, int w,
                      int connectivity)
{
    int n = y > 0 && wet[i - w], west = x > 0 && wet[i - 1];
    if (connectivity == 4) {
        p[i] = n ? i - w : west ? i - 1 : i;
        if (n && west)
            union_local(p, i, i - 1);
        return;
    }
    if (n) {
        p[i] = i - w;
        return;
    }
    int nw = y > 0 && x > 0 && wet[i - w - 1], ne = y > 0 && x + 1 < w && wet[i - w + 1];
    int32_t left = west ? i - 1 : nw ? i - w - 1 : -1;
    p[i] = left >= 0 ? left : ne ? i - w + 1 : i;
    if (left >= 0 && ne)
        union_local(p, i, i - w + 1);
}

/* Labels the wet cells of a w x h tile into components (see tile_labels); seed may be
 * NULL (no seeds). */
static void label_tile(tile_labels *t, int w, int h, int connectivity, const uint8_t *wet,
                       const uint8_t *seed)
{
    int32_t *p = t->parent;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            int32_t i = y * w + x;
            if (wet[i])
                link_cell(p, wet, i, x, y, w, connectivity);
            else
                p[i] = -1;
        }
    }
    /* Roots are the smallest cell of their component, so numbering roots in scan
     * order numbers components by first appearance. */
    t->count = 0;
    int32_t n = w * h;
    for (int32_t i = 0; i < n; i++) {
        if (p[i] < 0) {
            t->comp[i] = -1;
            continue;
        }
        int32_t root = cr_reach_uf_root(p, i);
        if (root == i) {
            t->seeded[t->count] = 0;
            t->global[t->count] = -1;
            t->comp[i] = t->count++;
        } else {
            t->comp[i] = t->comp[root];
        }
        if (seed && seed[i])
            t->seeded[t->comp[i]] = 1;
    }
}

/* Marks the components touching the tile border; returns how many there are. Their
 * global ids are base, base+1, ... in component order. */
static int32_t number_border_components(tile_labels *t, int w, int h, int32_t base)
{
    for (int y = 0; y < h; y++) {
        int step = (y == 0 || y == h - 1) ? 1 : (w > 1 ? w - 1 : 1);
        for (int x = 0; x < w; x += step) {
            int32_t c = t->comp[y * w + x];
            if (c >= 0)
                t->global[c] = 0; /* mark; numbered below */
        }
    }
    int32_t k = 0;
    for (int32_t c = 0; c < t->count; c++)
        t->global[c] = t->global[c] == 0 ? base + k++ : -1;
    return k;
}

void cr_reach_uf_unite(int32_t *parent, uint8_t *seeded, int32_t a, int32_t b)
{
    a = cr_reach_uf_root(parent, a);
    b = cr_reach_uf_root(parent, b);
    if (a == b)
        return;
    if (b < a) {
        int32_t s = a;
        a = b;
        b = s;
    }
    parent[b] = a;
    seeded[a] |= seeded[b];
}

static int grow_global(cr_reach *r, int64_t needed)
{
    if (needed <= r->uf_capacity)
        return 1;
    int64_t cap = r->uf_capacity ? r->uf_capacity : 1024;
    while (cap < needed)
        cap *= 2;
    int32_t *parent = realloc(r->uf_parent, sizeof *parent * (size_t)cap);
    if (parent)
        r->uf_parent = parent;
    uint8_t *seeded = realloc(r->uf_seeded, sizeof *seeded * (size_t)cap);
    if (seeded)
        r->uf_seeded = seeded;
    if (!parent || !seeded)
        return 0;
    r->uf_capacity = cap;
    return 1;
}

/* Joins the cell's global component to the wet neighbours across the tile's top and
 * left borders (their global ids are in r->above and r->left). */
static void join_across(cr_reach *r, const cr_window *win, int x, int y, int32_t id)
{
    int gx = win->x + x;
    if (y == 0 && win->y > 0) {
        int from = r->connectivity == 8 ? gx - 1 : gx, to = r->connectivity == 8 ? gx + 1 : gx;
        for (int nx = from; nx <= to; nx++) {
            if (nx >= 0 && nx < r->width && r->above[nx] >= 0)
                cr_reach_uf_unite(r->uf_parent, r->uf_seeded, id, r->above[nx]);
        }
    }
    if (x == 0 && win->x > 0) {
        int from = r->connectivity == 8 ? y - 1 : y, to = r->connectivity == 8 ? y + 1 : y;
        for (int ny = from; ny <= to; ny++) {
            /* ny = -1 is the above-left corner, already handled through r->above. */
            if (ny >= 0 && ny < win->h && r->left[ny] >= 0)
                cr_reach_uf_unite(r->uf_parent, r->uf_seeded, id, r->left[ny]);
        }
    }
}

/* The first half of a tile's scan: labels it, numbers its border components and joins them
 * across the top and left borders. The tile's labels stay in r->t until scan_store(). */
static cr_status scan_label(cr_ctx *ctx, cr_reach *r, const cr_window *win, const uint8_t *wet,
                            const uint8_t *seed)
{
    size_t cells = (size_t)win->w * win->h;
    if (!reserve_tile(r->t, cells))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory labelling connected cells");
    if (win->x == 0 && win->y > 0) { /* a new tile row: its "above" is the last bottom row */
        int32_t *s = r->above;
        r->above = r->below;
        r->below = s;
    }
    tile_labels *t = r->t;
    label_tile(t, win->w, win->h, r->connectivity, wet, seed);
    int64_t tile_index = (int64_t)(win->y / r->tile) * r->tile_cols + win->x / r->tile;
    if (r->uf_count > INT32_MAX - (int64_t)cells)
        return cr_ctx_fail(ctx, CR_E_IO, "too many components for the tiled labelling; use a larger tile size");
    int32_t base = (int32_t)r->uf_count;
    int32_t k = number_border_components(t, win->w, win->h, base);
    if (!grow_global(r, r->uf_count + k))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory labelling connected cells");
    r->tile_base[tile_index] = base;
    for (int32_t c = 0; c < t->count; c++) {
        if (t->global[c] >= 0) {
            r->uf_parent[t->global[c]] = t->global[c];
            r->uf_seeded[t->global[c]] = t->seeded[c];
        }
    }
    r->uf_count += k;
    /* Join across the top row and the left column; the other borders are joined
     * when the tiles below and to the right are scanned. */
    for (int x = 0; x < win->w; x++) {
        int32_t c = t->comp[x];
        if (c >= 0)
            join_across(r, win, x, 0, t->global[c]);
    }
    for (int y = 1; y < win->h; y++) {
        int32_t c = t->comp[y * win->w];
        if (c >= 0)
            join_across(r, win, 0, y, t->global[c]);
    }
    return CR_OK;
}

/* The second half: keeps the tile's bottom row and right column for the tiles below and to
 * the right. */
static void scan_store(cr_reach *r, const cr_window *win)
{
    const tile_labels *t = r->t;
    for (int x = 0; x < win->w; x++) {
        int32_t c = t->comp[(win->h - 1) * win->w + x];
        r->below[win->x + x] = c >= 0 ? t->global[c] : -1;
    }
    for (int y = 0; y < win->h; y++) {
        int32_t c = t->comp[y * win->w + win->w - 1];
        r->left[y] = c >= 0 ? t->global[c] : -1;
    }
}

cr_status cr_reach_scan(cr_ctx *ctx, cr_reach *r, const cr_window *win, const uint8_t *wet,
                        const uint8_t *seed)
{
    cr_status st = scan_label(ctx, r, win, wet, seed);
    if (st == CR_OK)
        scan_store(r, win);
    return st;
}

cr_status cr_reach_resolve(cr_ctx *ctx, cr_reach *r, const cr_window *win, const uint8_t *wet,
                           const uint8_t *seed, uint8_t *joined)
{
    size_t cells = (size_t)win->w * win->h;
    if (!reserve_tile(r->t, cells))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory labelling connected cells");
    tile_labels *t = r->t;
    label_tile(t, win->w, win->h, r->connectivity, wet, seed);
    int64_t tile_index = (int64_t)(win->y / r->tile) * r->tile_cols + win->x / r->tile;
    number_border_components(t, win->w, win->h, r->tile_base[tile_index]);
    /* Reuse the per-component seeded flags as "joined". */
    for (int32_t c = 0; c < t->count; c++)
        if (!t->seeded[c] && t->global[c] >= 0)
            t->seeded[c] = r->uf_seeded[cr_reach_uf_root(r->uf_parent, t->global[c])];
    for (size_t i = 0; i < cells; i++)
        joined[i] = t->comp[i] >= 0 ? t->seeded[t->comp[i]] : 0;
    return CR_OK;
}

cr_status cr_reach_label_window(cr_ctx *ctx, cr_reach_labels *t, int w, int h, int connectivity,
                                const uint8_t *wet, const uint8_t *seed, cr_reach_view *out)
{
    size_t cells = (size_t)w * (size_t)h;
    if (cells > (size_t)INT32_MAX)
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "a part of %d x %d cells is too large to label at once; use more tiles", w, h);
    if (!reserve_tile(t, cells))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory labelling connected cells of %d x %d", w, h);
    label_tile(t, w, h, connectivity, wet, seed);
    out->border_count = number_border_components(t, w, h, 0);
    out->comp = t->comp;
    out->seeded = t->seeded;
    out->border = t->global;
    out->count = t->count;
    return CR_OK;
}

/* ---- a land reach linked to the sea's (reach.h, "Fused with the sea") ---- */

cr_status cr_reach_scan_sea(cr_ctx *ctx, cr_reach *sea, const cr_window *win, const uint8_t *cand,
                            const uint8_t *seed)
{
    return scan_label(ctx, sea, win, cand, seed);
}

void cr_reach_scan_sea_done(cr_reach *sea, const cr_window *win)
{
    scan_store(sea, win);
}

static int key_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts the tile's pairs (from on) and keeps each once. */
static void unique_links(cr_reach *land, int64_t from)
{
    int64_t n = land->links - from;
    if (n < 2)
        return;
    uint64_t *p = land->link + from;
    qsort(p, (size_t)n, sizeof *p, key_cmp);
    int64_t k = 1;
    for (int64_t i = 1; i < n; i++)
        if (p[i] != p[k - 1])
            p[k++] = p[i];
    land->links = from + k;
}

/* Adds the pair (land, sea) unless it was the last one added in this tile (from). When the
 * room is full, the tile's pairs are first made distinct (the land along two sea components
 * touches them in turn, A, B, A, B...): it grows only when they still fill more than half. */
static int add_link(cr_reach *land, int64_t from, int32_t l, int32_t s)
{
    uint64_t key = (uint64_t)(uint32_t)l << 32 | (uint32_t)s;
    if (land->links > from && land->link[land->links - 1] == key)
        return 1;
    if (land->links == land->link_capacity) {
        unique_links(land, from);
        if (land->link_capacity == 0 || 2 * land->links > land->link_capacity) {
            int64_t cap = land->link_capacity ? 2 * land->link_capacity : 1024;
            uint64_t *p = realloc(land->link, sizeof *p * (size_t)cap);
            if (!p)
                return 0;
            land->link = p;
            land->link_capacity = cap;
        }
    }
    land->link[land->links++] = key;
    return 1;
}

/* Links the land's border components to the sea's components they touch (overlap, or are
 * neighbours of) within the tile. A sea component inside the tile holds a seed or not for
 * good: the land component is marked seeded at once; one on the tile border is known only
 * after the pass, so the pair is kept. */
static int link_inside(cr_reach *land, const cr_reach *sea, const cr_window *win, int64_t from)
{
    const tile_labels *lt = land->t, *st = sea->t;
    int w = win->w, h = win->h, eight = land->connectivity == 8;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int32_t cl = lt->comp[y * w + x];
            if (cl < 0 || lt->global[cl] < 0)
                continue;
            int32_t lg = lt->global[cl];
            /* The cell's sea components, each once (a cell between two of them touches them
             * in turn, up to 9 pairs). */
            int32_t seen[9];
            int nseen = 0;
            for (int ny = y > 0 ? y - 1 : 0; ny <= y + 1 && ny < h; ny++)
                for (int nx = x > 0 ? x - 1 : 0; nx <= x + 1 && nx < w; nx++) {
                    if (!eight && nx != x && ny != y)
                        continue;
                    int32_t cs = st->comp[ny * w + nx];
                    if (cs < 0)
                        continue;
                    if (st->global[cs] >= 0) {
                        int s = 0;
                        while (s < nseen && seen[s] != st->global[cs])
                            s++;
                        if (s == nseen)
                            seen[nseen++] = st->global[cs];
                    } else if (st->seeded[cs]) {
                        land->uf_seeded[cr_reach_uf_root(land->uf_parent, lg)] = 1;
                    }
                }
            for (int s = 0; s < nseen; s++)
                if (!add_link(land, from, lg, seen[s]))
                    return 0;
        }
    return 1;
}

/* Links the land and sea components on the tile's top and left borders to those across them,
 * in the tiles above and to the left (their ids in above and left, not yet replaced by this
 * tile's). */
static int link_across(cr_reach *land, const cr_reach *sea, const cr_window *win, int64_t from)
{
    const tile_labels *lt = land->t, *st = sea->t;
    int w = win->w, h = win->h, reach = land->connectivity == 8;
    for (int x = 0; win->y > 0 && x < w; x++) {
        int32_t cl = lt->comp[x], cs = st->comp[x];
        int gx = win->x + x;
        for (int nx = gx - reach; nx <= gx + reach; nx++) {
            if (nx < 0 || nx >= land->width)
                continue;
            if (cl >= 0 && sea->above[nx] >= 0 && !add_link(land, from, lt->global[cl], sea->above[nx]))
                return 0;
            if (cs >= 0 && land->above[nx] >= 0 && !add_link(land, from, land->above[nx], st->global[cs]))
                return 0;
        }
    }
    for (int y = 0; win->x > 0 && y < h; y++) {
        int32_t cl = lt->comp[y * w], cs = st->comp[y * w];
        /* ny = -1 is the above-left corner, linked through above. */
        for (int ny = y - reach; ny <= y + reach; ny++) {
            if (ny < 0 || ny >= h)
                continue;
            if (cl >= 0 && sea->left[ny] >= 0 && !add_link(land, from, lt->global[cl], sea->left[ny]))
                return 0;
            if (cs >= 0 && land->left[ny] >= 0 && !add_link(land, from, land->left[ny], st->global[cs]))
                return 0;
        }
    }
    return 1;
}

cr_status cr_reach_scan_linked(cr_ctx *ctx, cr_reach *land, const cr_window *win, const uint8_t *wet,
                               const cr_reach *sea, const char *path)
{
    cr_status st = scan_label(ctx, land, win, wet, NULL);
    if (st != CR_OK)
        return st;
    int64_t from = land->links;
    if (!link_inside(land, sea, win, from) || !link_across(land, sea, win, from))
        return cr_ctx_fail(ctx, CR_E_IO, "%s: out of memory linking the land to the sea", path);
    /* Each pair once per tile: the pass keeps about one pair per component and tile. */
    unique_links(land, from);
    scan_store(land, win);
    return CR_OK;
}

int64_t cr_reach_links(const cr_reach *land)
{
    return land->links;
}

int64_t cr_reach_link_capacity(const cr_reach *land)
{
    return land->link_capacity;
}

void cr_reach_link_done(cr_reach *land, cr_reach *sea)
{
    for (int64_t i = 0; i < land->links; i++) {
        int32_t l = (int32_t)(land->link[i] >> 32), s = (int32_t)(land->link[i] & 0xffffffffu);
        if (sea->uf_seeded[cr_reach_uf_root(sea->uf_parent, s)])
            land->uf_seeded[cr_reach_uf_root(land->uf_parent, l)] = 1;
    }
    free(land->link);
    land->link = NULL;
    land->links = land->link_capacity = 0;
}

/* out[x] |= v[x], and with wide v[x - 1] and v[x + 1] (within the row). */
static void or_row(uint8_t *out, const uint8_t *v, int w, int wide)
{
    for (int x = 0; x < w; x++)
        out[x] |= v[x];
    if (!wide)
        return;
    for (int x = 1; x < w; x++)
        out[x] |= v[x - 1];
    for (int x = 0; x + 1 < w; x++)
        out[x] |= v[x + 1];
}

void cr_reach_touching(int w, int h, int connectivity, const uint8_t *wet, const uint8_t *sea,
                       uint8_t *seed)
{
    /* Row by row (vectorised): the sea of the row widened by a cell each side (west and east
     * are neighbours either way), and of the rows above and below, widened with 8. */
    int eight = connectivity == 8;
    for (int y = 0; y < h; y++) {
        uint8_t *out = seed + (size_t)y * w;
        memset(out, 0, (size_t)w);
        or_row(out, sea + (size_t)y * w, w, 1);
        if (y > 0)
            or_row(out, sea + (size_t)(y - 1) * w, w, eight);
        if (y + 1 < h)
            or_row(out, sea + (size_t)(y + 1) * w, w, eight);
        const uint8_t *row_wet = wet + (size_t)y * w;
        for (int x = 0; x < w; x++)
            out[x] &= row_wet[x];
    }
}
