/* rings.c: what repairing a polygon needs beyond GEOS: how costly its repair would be (the
 * crossings of its edges) and a simplification that bounds that cost. Zonal's zones and the
 * polygon layers (polygons.c) share them. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/polygons.h"

/* ------------------------------------------------------------------------------------ */
/* Crossings */

typedef struct edge {
    double x0, y0, x1, y1;
    double xmin, xmax, ymin, ymax;
} edge;

static int cmp_xmin(const void *a, const void *b)
{
    const edge *p = a, *q = b;
    return (p->xmin > q->xmin) - (p->xmin < q->xmin);
}

/* > 0 when c lies to the left of a -> b, < 0 to its right, 0 on its line. */
static double orient(double ax, double ay, double bx, double by, double cx, double cy)
{
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
}

static int is_end(const edge *e, double x, double y)
{
    return (x == e->x0 && y == e->y0) || (x == e->x1 && y == e->y1);
}

/* 1 when (x, y), known to lie on e's line, lies within e. */
static int on_edge(const edge *e, double x, double y)
{
    return x >= e->xmin && x <= e->xmax && y >= e->ymin && y <= e->ymax;
}

/* 1 when s and t meet at a point where at least one of them does not end: a node the
 * repair must add. Floating-point predicates: a cost estimate, not a topology. */
static int splits(const edge *s, const edge *t)
{
    double o1 = orient(s->x0, s->y0, s->x1, s->y1, t->x0, t->y0);
    double o2 = orient(s->x0, s->y0, s->x1, s->y1, t->x1, t->y1);
    double o3 = orient(t->x0, t->y0, t->x1, t->y1, s->x0, s->y0);
    double o4 = orient(t->x0, t->y0, t->x1, t->y1, s->x1, s->y1);
    if (((o1 > 0 && o2 < 0) || (o1 < 0 && o2 > 0)) && ((o3 > 0 && o4 < 0) || (o3 < 0 && o4 > 0)))
        return 1; /* a proper crossing */
    if (o1 == 0 && o2 == 0) {
        /* Collinear: the overlap along the longer axis of s. */
        int use_x = s->xmax - s->xmin >= s->ymax - s->ymin;
        double s0 = use_x ? s->xmin : s->ymin, s1 = use_x ? s->xmax : s->ymax;
        double t0 = use_x ? t->xmin : t->ymin, t1 = use_x ? t->xmax : t->ymax;
        double lo = s0 > t0 ? s0 : t0, hi = s1 < t1 ? s1 : t1;
        if (lo > hi)
            return 0;
        /* Identical edges, or edges that only share an end, add no node. */
        if (is_end(s, t->x0, t->y0) && is_end(s, t->x1, t->y1))
            return 0;
        if (lo == hi)
            return 0; /* touching at an end of both */
        return 1;
    }
    /* A vertex of one on the other: a node unless it is an end of both. */
    const edge *on[4] = {s, s, t, t};
    const double px[4] = {t->x0, t->x1, s->x0, s->x1}, py[4] = {t->y0, t->y1, s->y0, s->y1};
    const double o[4] = {o1, o2, o3, o4};
    for (int k = 0; k < 4; k++)
        if (o[k] == 0 && on_edge(on[k], px[k], py[k]) && !is_end(on[k], px[k], py[k]))
            return 1;
    return 0;
}

int64_t cr_rings_crossings(const cr_rings *rings, int64_t limit, int64_t budget)
{
    int npoints = rings->nrings ? rings->ring_end[rings->nrings - 1] : 0;
    edge *edges = malloc((size_t)(npoints ? npoints : 1) * sizeof *edges);
    int *active = malloc((size_t)(npoints ? npoints : 1) * sizeof *active);
    if (!edges || !active) {
        free(edges);
        free(active);
        return -1;
    }
    int n = 0;
    for (int r = 0; r < rings->nrings; r++) {
        int start = r ? rings->ring_end[r - 1] : 0, end = rings->ring_end[r];
        for (int k = start; k < end; k++) {
            int next = k + 1 < end ? k + 1 : start;
            edge e = {rings->xy[2 * k], rings->xy[2 * k + 1], rings->xy[2 * next],
                      rings->xy[2 * next + 1], 0, 0, 0, 0};
            if (e.x0 == e.x1 && e.y0 == e.y1)
                continue; /* a repeated point (the closing one, too) */
            e.xmin = fmin(e.x0, e.x1), e.xmax = fmax(e.x0, e.x1);
            e.ymin = fmin(e.y0, e.y1), e.ymax = fmax(e.y0, e.y1);
            edges[n++] = e;
        }
    }
    /* A sweep along x: each edge is compared with the edges still open at its start (the
     * active ones) whose y ranges meet its own. The edges open at once are about the sum
     * of their extents along the sweep over its range: sweep along y when that is fewer. */
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY, sx = 0.0, sy = 0.0;
    for (int i = 0; i < n; i++) {
        x0 = fmin(x0, edges[i].xmin), x1 = fmax(x1, edges[i].xmax);
        y0 = fmin(y0, edges[i].ymin), y1 = fmax(y1, edges[i].ymax);
        sx += edges[i].xmax - edges[i].xmin, sy += edges[i].ymax - edges[i].ymin;
    }
    if (sy * (x1 - x0) < sx * (y1 - y0))
        for (int i = 0; i < n; i++) {
            edge *e = &edges[i], t = *e;
            *e = (edge){t.y0, t.x0, t.y1, t.x1, t.ymin, t.ymax, t.xmin, t.xmax};
        }
    qsort(edges, (size_t)n, sizeof *edges, cmp_xmin);
    int64_t found = 0, compared = 0;
    int nactive = 0;
    for (int i = 0; i < n && found <= limit; i++) {
        const edge *e = &edges[i];
        int kept = 0;
        for (int a = 0; a < nactive && found <= limit; a++) {
            const edge *f = &edges[active[a]];
            if (f->xmax < e->xmin)
                continue; /* closed: dropped from the list */
            active[kept++] = active[a];
            if (++compared > budget) {
                found = -1;
                break;
            }
            if (f->ymax >= e->ymin && f->ymin <= e->ymax && splits(e, f))
                found++;
        }
        if (found < 0)
            break;
        if (found > limit)
            break;
        nactive = kept;
        active[nactive++] = i;
    }
    free(edges);
    free(active);
    return found > limit ? limit + 1 : found;
}

/* ------------------------------------------------------------------------------------ */
/* Visvalingam-Whyatt thinning */

typedef struct vtx {
    int prev, next, ring;
    int heap;     /* position in the heap, -1 once removed */
    double area;  /* of the triangle with its neighbours */
} vtx;

typedef struct thin_state {
    const double *xy;
    vtx *v;
    int *heap;
    int nheap;
} thin_state;

/* Heap order: the least area first, then the lower index, so that the result does not
 * depend on anything but the input. */
static int before(const thin_state *s, int a, int b)
{
    return s->v[a].area < s->v[b].area || (s->v[a].area == s->v[b].area && a < b);
}

static void heap_set(thin_state *s, int pos, int item)
{
    s->heap[pos] = item;
    s->v[item].heap = pos;
}

static void sift_up(thin_state *s, int pos)
{
    int item = s->heap[pos];
    while (pos > 0) {
        int parent = (pos - 1) / 2;
        if (!before(s, item, s->heap[parent]))
            break;
        heap_set(s, pos, s->heap[parent]);
        pos = parent;
    }
    heap_set(s, pos, item);
}

static void sift_down(thin_state *s, int pos)
{
    int item = s->heap[pos];
    for (;;) {
        int child = 2 * pos + 1;
        if (child >= s->nheap)
            break;
        if (child + 1 < s->nheap && before(s, s->heap[child + 1], s->heap[child]))
            child++;
        if (!before(s, s->heap[child], item))
            break;
        heap_set(s, pos, s->heap[child]);
        pos = child;
    }
    heap_set(s, pos, item);
}

static void heap_remove(thin_state *s, int item)
{
    int pos = s->v[item].heap;
    s->v[item].heap = -1;
    int last = s->heap[--s->nheap];
    if (pos == s->nheap)
        return;
    heap_set(s, pos, last);
    sift_up(s, pos);
    sift_down(s, s->v[last].heap);
}

static double triangle_area(const thin_state *s, int i)
{
    const double *a = s->xy + 2 * s->v[i].prev, *b = s->xy + 2 * i, *c = s->xy + 2 * s->v[i].next;
    return 0.5 * fabs(orient(a[0], a[1], b[0], b[1], c[0], c[1]));
}

static void update(thin_state *s, int i)
{
    s->v[i].area = triangle_area(s, i);
    sift_up(s, s->v[i].heap);
    sift_down(s, s->v[i].heap);
}

int cr_rings_thin(const cr_rings *in, int target, double **out_xy, int **out_ring_end,
                  int **out_source)
{
    *out_xy = NULL;
    *out_ring_end = NULL;
    *out_source = NULL;
    int n = in->nrings ? in->ring_end[in->nrings - 1] : 0;
    thin_state s = {in->xy, malloc((size_t)(n ? n : 1) * sizeof *s.v),
                    malloc((size_t)(n ? n : 1) * sizeof *s.heap), 0};
    int *left = calloc((size_t)(in->nrings ? in->nrings : 1), sizeof *left);
    if (!s.v || !s.heap || !left)
        goto oom;
    for (int r = 0; r < in->nrings; r++) {
        int start = r ? in->ring_end[r - 1] : 0, end = in->ring_end[r];
        /* A repeated closing point is dropped first: it is no vertex of its own. */
        if (end - start > 1 && in->xy[2 * start] == in->xy[2 * (end - 1)] &&
            in->xy[2 * start + 1] == in->xy[2 * (end - 1) + 1]) {
            s.v[end - 1] = (vtx){-1, -1, r, -1, 0.0};
            end--;
        }
        for (int k = start; k < end; k++) {
            s.v[k] = (vtx){k > start ? k - 1 : end - 1, k + 1 < end ? k + 1 : start, r, -1, 0.0};
            heap_set(&s, s.nheap++, k);
        }
        left[r] = end - start;
    }
    int total = s.nheap;
    for (int i = 0; i < s.nheap; i++)
        s.v[s.heap[i]].area = triangle_area(&s, s.heap[i]);
    for (int pos = s.nheap / 2 - 1; pos >= 0; pos--)
        sift_down(&s, pos);
    while (total > target && s.nheap > 0) {
        int i = s.heap[0], r = s.v[i].ring;
        if (left[r] <= 3) {
            /* A triangle's turn: the ring goes whole. */
            for (int k = i, m = 0; m < left[r]; m++) {
                int next = s.v[k].next;
                heap_remove(&s, k);
                k = next;
            }
            total -= left[r];
            left[r] = 0;
            continue;
        }
        heap_remove(&s, i);
        int p = s.v[i].prev, q = s.v[i].next;
        s.v[p].next = q;
        s.v[q].prev = p;
        left[r]--;
        total--;
        update(&s, p);
        update(&s, q);
    }
    int nrings = 0;
    for (int r = 0; r < in->nrings; r++)
        nrings += left[r] >= 3;
    *out_xy = malloc((size_t)(total ? total : 1) * 2 * sizeof **out_xy);
    *out_ring_end = malloc((size_t)(nrings ? nrings : 1) * sizeof **out_ring_end);
    *out_source = malloc((size_t)(nrings ? nrings : 1) * sizeof **out_source);
    if (!*out_xy || !*out_ring_end || !*out_source)
        goto oom;
    int k = 0, j = 0;
    for (int r = 0; r < in->nrings; r++) {
        if (left[r] < 3)
            continue;
        int start = r ? in->ring_end[r - 1] : 0;
        for (int i = start; i < in->ring_end[r]; i++)
            if (s.v[i].heap >= 0) {
                (*out_xy)[2 * k] = in->xy[2 * i];
                (*out_xy)[2 * k + 1] = in->xy[2 * i + 1];
                k++;
            }
        (*out_ring_end)[j] = k;
        (*out_source)[j++] = r;
    }
    free(s.v);
    free(s.heap);
    free(left);
    return nrings;
oom:
    free(s.v);
    free(s.heap);
    free(left);
    free(*out_xy);
    free(*out_ring_end);
    free(*out_source);
    *out_xy = NULL;
    *out_ring_end = NULL;
    *out_source = NULL;
    return -1;
}

