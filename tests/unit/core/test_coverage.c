/* test_coverage.c: exact cell-coverage fractions: shapes worked out by hand, holes and
 * orientations, windows cutting through polygons, invariants on random star-shaped
 * polygons, and random convex polygons against a clip of each cell (Sutherland-Hodgman). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/coverage.h"
#include "polyclip.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif


/* An integer in [lo, hi]. */
static int rng_int(int lo, int hi)
{
    return lo + (int)(tu_rng_next() % (uint64_t)(hi - lo + 1));
}

/* A polygon being built: rings appended one after the other. */
#define MAX_POINTS 512
#define MAX_RINGS 8

typedef struct poly {
    double xy[2 * MAX_POINTS];
    int ring_end[MAX_RINGS];
    signed char sign[MAX_RINGS];
    int nrings, npoints;
} poly;

static void poly_clear(poly *p)
{
    p->nrings = p->npoints = 0;
}

/* Appends a ring of n points (x, y pairs), reversed when reverse is set. */
static void poly_ring(poly *p, const double *xy, int n, int sign, int reverse)
{
    assert_true(p->nrings < MAX_RINGS && p->npoints + n <= MAX_POINTS);
    for (int k = 0; k < n; k++) {
        int from = reverse ? n - 1 - k : k;
        p->xy[2 * (p->npoints + k)] = xy[2 * from];
        p->xy[2 * (p->npoints + k) + 1] = xy[2 * from + 1];
    }
    p->npoints += n;
    p->ring_end[p->nrings] = p->npoints;
    p->sign[p->nrings++] = (signed char)sign;
}

/* Appends the rectangle [x0, x1] x [y0, y1], counter-clockwise (from +x towards +y)
 * unless cw. */
static void poly_rect(poly *p, double x0, double y0, double x1, double y1, int sign, int cw)
{
    const double xy[8] = {x0, y0, x1, y0, x1, y1, x0, y1};
    poly_ring(p, xy, 4, sign, cw);
}

static cr_rings rings_of(const poly *p)
{
    return (cr_rings){p->xy, p->ring_end, p->sign, p->nrings};
}

/* The fractions of the window (x, y, w, h), in a new array to free(). */
static double *cover(cr_ctx *ctx, cr_coverage_scratch *scratch, const poly *p, int x, int y, int w,
                     int h)
{
    cr_rings rings = rings_of(p);
    cr_window win = {x, y, w, h};
    double *f = malloc((size_t)(w * h > 0 ? w * h : 1) * sizeof *f);
    assert_non_null(f);
    assert_int_equal(cr_coverage(ctx, &rings, &win, scratch, f), CR_OK);
    return f;
}

/* The same with a scratch of its own. */
static double *cover1(cr_ctx *ctx, const poly *p, int x, int y, int w, int h)
{
    cr_coverage_scratch scratch = {0};
    double *f = cover(ctx, &scratch, p, x, y, w, h);
    cr_coverage_scratch_free(&scratch);
    return f;
}

static void expect_fractions(const double *got, const double *expect, int w, int h, double tol)
{
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) {
            double g = got[r * w + c], e = expect[r * w + c];
            if (!(fabs(g - e) <= tol))
                fail_msg("cell (col %d, row %d): got %.17g, expected %.17g", c, r, g, e);
        }
}

static double sum_of(const double *f, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += f[i];
    return s;
}

static void square_over_four_cells_covers_a_quarter_of_each(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    poly p;
    for (int cw = 0; cw < 2; cw++) {
        poly_clear(&p);
        poly_rect(&p, 0.5, 0.5, 1.5, 1.5, 1, cw);
        cr_rings rings = rings_of(&p);
        assert_float_equal(cr_rings_area(&rings), 1.0, 1e-15);
        double *f = cover1(ctx, &p, 0, 0, 2, 2);
        const double expect[4] = {0.25, 0.25, 0.25, 0.25};
        expect_fractions(f, expect, 2, 2, 1e-15);
        free(f);
    }
    /* A repeated first point changes nothing. */
    const double closed[10] = {0.5, 0.5, 1.5, 0.5, 1.5, 1.5, 0.5, 1.5, 0.5, 0.5};
    poly_clear(&p);
    poly_ring(&p, closed, 5, 1, 0);
    cr_rings rings = rings_of(&p);
    assert_float_equal(cr_rings_area(&rings), 1.0, 1e-15);
    double *f = cover1(ctx, &p, 0, 0, 2, 2);
    const double expect[4] = {0.25, 0.25, 0.25, 0.25};
    expect_fractions(f, expect, 2, 2, 1e-15);
    free(f);
    /* The unit square on cell lines fills exactly its cell. */
    poly_clear(&p);
    poly_rect(&p, 1, 1, 2, 2, 1, 0);
    f = cover1(ctx, &p, 0, 0, 3, 3);
    const double one[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0};
    expect_fractions(f, one, 3, 3, 0);
    free(f);
    cr_ctx_free(ctx);
}

static void triangles_by_hand(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    poly p;
    for (int rev = 0; rev < 2; rev++) {
        /* Half of the cell below its diagonal. */
        const double half[6] = {0, 0, 1, 0, 0, 1};
        poly_clear(&p);
        poly_ring(&p, half, 3, 1, rev);
        double *f = cover1(ctx, &p, 0, 0, 1, 1);
        assert_float_equal(f[0], 0.5, 1e-15);
        free(f);

        /* x + y <= 2 over 2 x 2 cells: a whole cell, two halves, nothing. */
        const double big[6] = {0, 0, 2, 0, 0, 2};
        poly_clear(&p);
        poly_ring(&p, big, 3, 1, rev);
        f = cover1(ctx, &p, 0, 0, 2, 2);
        const double e2[4] = {1, 0.5, 0.5, 0};
        expect_fractions(f, e2, 2, 2, 1e-15);
        free(f);

        /* y <= 1 - x / 2: integral of (1 - x/2) over [0, 1] is 3/4, over [1, 2] 1/4. */
        const double flat[6] = {0, 0, 2, 0, 0, 1};
        poly_clear(&p);
        poly_ring(&p, flat, 3, 1, rev);
        f = cover1(ctx, &p, 0, 0, 2, 2);
        const double e3[4] = {0.75, 0.25, 0, 0};
        expect_fractions(f, e3, 2, 2, 1e-15);
        free(f);

        /* x >= 0.5, y >= 0.5, x + y <= 3 over 3 x 3 cells (area 2): the corner cell a
         * quarter, (1, 0) and (0, 1) the strip y or x in [0.5, 1], the diagonal cell (1, 1)
         * half, (2, 0) and (0, 2) the integral of (2.5 - x) over [2, 2.5] = 1/8. */
        const double off[6] = {0.5, 0.5, 2.5, 0.5, 0.5, 2.5};
        poly_clear(&p);
        poly_ring(&p, off, 3, 1, rev);
        f = cover1(ctx, &p, 0, 0, 3, 3);
        const double e4[9] = {0.25, 0.5, 0.125, 0.5, 0.5, 0, 0.125, 0, 0};
        expect_fractions(f, e4, 3, 3, 1e-15);
        cr_rings rings = rings_of(&p);
        assert_float_equal(cr_rings_area(&rings), 2.0, 1e-15);
        assert_float_equal(sum_of(f, 9), 2.0, 1e-14);
        free(f);

        /* x + y <= 3 from the origin: rows of 1, 1, 1/2 / 1, 1/2, 0 / 1/2, 0, 0. */
        const double tri3[6] = {0, 0, 3, 0, 0, 3};
        poly_clear(&p);
        poly_ring(&p, tri3, 3, 1, rev);
        f = cover1(ctx, &p, 0, 0, 3, 3);
        const double e5[9] = {1, 1, 0.5, 1, 0.5, 0, 0.5, 0, 0};
        expect_fractions(f, e5, 3, 3, 1e-15);
        free(f);
    }
    cr_ctx_free(ctx);
}

static void holes_subtract_whatever_the_orientations(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    poly p;
    double *first = NULL;
    for (int shell_cw = 0; shell_cw < 2; shell_cw++)
        for (int hole_cw = 0; hole_cw < 2; hole_cw++) {
            poly_clear(&p);
            poly_rect(&p, 0, 0, 4, 4, 1, shell_cw);
            poly_rect(&p, 1, 1, 3, 3, -1, hole_cw);
            cr_rings rings = rings_of(&p);
            assert_float_equal(cr_rings_area(&rings), 12.0, 1e-15);
            double *f = cover1(ctx, &p, 0, 0, 4, 4);
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < 4; c++) {
                    int inner = r >= 1 && r <= 2 && c >= 1 && c <= 2;
                    assert_true(f[r * 4 + c] == (inner ? 0.0 : 1.0));
                }
            if (!first)
                first = f;
            else {
                assert_memory_equal(f, first, 16 * sizeof *f);
                free(f);
            }

            /* A hole cutting cells: [1.5, 2.5]^2 takes a quarter of each inner cell. */
            poly_clear(&p);
            poly_rect(&p, 0, 0, 4, 4, 1, shell_cw);
            poly_rect(&p, 1.5, 1.5, 2.5, 2.5, -1, hole_cw);
            f = cover1(ctx, &p, 0, 0, 4, 4);
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < 4; c++) {
                    int inner = r >= 1 && r <= 2 && c >= 1 && c <= 2;
                    assert_float_equal(f[r * 4 + c], inner ? 0.75 : 1.0, 1e-15);
                }
            free(f);
        }
    free(first);
    cr_ctx_free(ctx);
}

static void multipolygon_cut_by_the_window_edges(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    poly p;
    for (int cw = 0; cw < 2; cw++) {
        /* [-0.5, 1.5] x [-1, 1] leaves x in [0, 1.5], y in [0, 1] in the window;
         * [2.5, 4] x [0.5, 1.5] leaves x in [2.5, 3], y in [0.5, 1.5]. */
        poly_clear(&p);
        poly_rect(&p, -0.5, -1, 1.5, 1, 1, cw);
        poly_rect(&p, 2.5, 0.5, 4, 1.5, 1, !cw);
        cr_rings rings = rings_of(&p);
        assert_float_equal(cr_rings_area(&rings), 4.0 + 1.5, 1e-15);
        double *f = cover1(ctx, &p, 0, 0, 3, 2);
        const double expect[6] = {1, 0.5, 0.25, 0, 0, 0.25};
        expect_fractions(f, expect, 3, 2, 1e-15);
        assert_float_equal(sum_of(f, 6), 1.5 + 0.5, 1e-14);
        free(f);
    }
    cr_ctx_free(ctx);
}

static void polygon_smaller_than_a_cell(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    poly p;
    poly_clear(&p);
    poly_rect(&p, 2.3, 3.45, 2.4, 3.55, 1, 0);
    double *f = cover1(ctx, &p, 0, 0, 5, 5);
    for (int r = 0; r < 5; r++)
        for (int c = 0; c < 5; c++) {
            if (r == 3 && c == 2)
                assert_float_equal(f[r * 5 + c], 0.01, 1e-15);
            else
                assert_true(f[r * 5 + c] == 0.0);
        }
    free(f);
    /* The same in a window of that one cell only, and in a window beside it. */
    f = cover1(ctx, &p, 2, 3, 1, 1);
    assert_float_equal(f[0], 0.01, 1e-15);
    free(f);
    f = cover1(ctx, &p, 3, 3, 2, 2);
    for (int i = 0; i < 4; i++)
        assert_true(f[i] == 0.0);
    free(f);
    cr_ctx_free(ctx);
}

static void offset_windows_and_a_polygon_larger_than_them(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    poly p;
    const int wx = 10, wy = 20, w = 3, h = 2;
    struct {
        double x0, y0, x1, y1;
        double expect; /* every cell */
    } whole[] = {
        {0, 0, 100, 100, 1},        /* window inside */
        {-50.5, 0, 10, 100, 0},     /* left of the window, touching it */
        {-50.5, 0, 9.25, 100, 0},   /* left of the window */
        {13, 0, 100.5, 100, 0},     /* right, touching */
        {14.5, -3, 100.5, 100, 0},  /* right */
        {0, 0, 100, 20, 0},         /* above (smaller rows), touching */
        {0, -7.5, 100, 19.5, 0},    /* above */
        {0, 22, 100, 100, 0},       /* below, touching */
        {0, 23.5, 100, 100, 0},     /* below */
        {10, 20, 13, 22, 1},        /* exactly the window */
        {-1e4, -1e4, 1e4, 1e4, 1},  /* far larger */
    };
    for (size_t i = 0; i < LEN(whole); i++)
        for (int cw = 0; cw < 2; cw++) {
            poly_clear(&p);
            poly_rect(&p, whole[i].x0, whole[i].y0, whole[i].x1, whole[i].y1, 1, cw);
            double *f = cover1(ctx, &p, wx, wy, w, h);
            for (int k = 0; k < w * h; k++)
                if (f[k] != whole[i].expect)
                    fail_msg("rectangle %zu (cw %d): cell %d is %.17g, expected %g", i, cw, k,
                             f[k], whole[i].expect);
            free(f);
        }
    /* A large triangle containing the window: all 1. */
    const double tri[6] = {-1000, -1000, 3000, -1000, -1000, 3000};
    poly_clear(&p);
    poly_ring(&p, tri, 3, 1, 0);
    double *f = cover1(ctx, &p, wx, wy, w, h);
    for (int k = 0; k < w * h; k++)
        assert_true(f[k] == 1.0);
    free(f);
    /* [11.5, 100] x [0, 21.25] over columns 10..12, rows 20..21: column 10 none, column 11
     * half, column 12 whole; row 20 whole, row 21 a quarter. */
    poly_clear(&p);
    poly_rect(&p, 11.5, 0, 100, 21.25, 1, 1);
    f = cover1(ctx, &p, wx, wy, w, h);
    const double expect[6] = {0, 0.5, 1, 0, 0.125, 0.25};
    expect_fractions(f, expect, w, h, 1e-15);
    free(f);
    /* A hole larger than the window inside a larger shell: all 0. */
    poly_clear(&p);
    poly_rect(&p, -100, -100, 200, 200, 1, 0);
    poly_rect(&p, 0, 0, 50, 50, -1, 0);
    f = cover1(ctx, &p, wx, wy, w, h);
    for (int k = 0; k < w * h; k++)
        assert_true(f[k] == 0.0);
    free(f);
    cr_ctx_free(ctx);
}

static void scratch_is_reused_and_grows(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_coverage_scratch scratch = {0};
    poly p;
    poly_clear(&p);
    poly_rect(&p, 0.5, 0.5, 1.5, 1.5, 1, 0);
    /* Small, then large, then small again: each call starts from clean sums. */
    int sizes[][2] = {{2, 2}, {40, 30}, {2, 2}, {3, 1}, {1, 3}};
    for (size_t i = 0; i < LEN(sizes); i++) {
        int w = sizes[i][0], h = sizes[i][1];
        double *f = cover(ctx, &scratch, &p, 0, 0, w, h);
        for (int r = 0; r < h; r++)
            for (int c = 0; c < w; c++)
                assert_float_equal(f[r * w + c], r <= 1 && c <= 1 ? 0.25 : 0.0, 1e-15);
        free(f);
    }
    assert_true(scratch.cap >= (size_t)41 * 30);
    cr_coverage_scratch_free(&scratch);
    assert_null(scratch.diff);
    assert_int_equal(scratch.cap, 0);
    cr_coverage_scratch_free(&scratch); /* twice is harmless */
    cr_coverage_scratch_free(NULL);
    cr_ctx_free(ctx);
}

/* ------------------------------------------------------------------------------------ */
/* Random polygons. */

static double cross3(double ax, double ay, double bx, double by, double cx, double cy)
{
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
}

/* 1 when the centre (cx, cy) is strictly left of the edge from point a to point b. */
static int sees(const double *xy, int a, int b, double cx, double cy)
{
    return cross3(cx, cy, xy[2 * a], xy[2 * a + 1], xy[2 * b], xy[2 * b + 1]) > 1e-6;
}

/* A polygon of n points star-shaped around (cx, cy), counter-clockwise: points at
 * sorted random angles, then some moved onto cell lines or corners, or made to share x
 * (a vertical edge) or y (a horizontal edge) with the point before. A point is moved only
 * when both of its edges keep the centre strictly on their left: the ring then still
 * winds once round the centre, so it stays simple and star-shaped from it. */
static void random_star(double *xy, int n, double cx, double cy, double rmax)
{
    double ang[64];
    assert_true(n <= 64);
    for (int attempt = 0;; attempt++) {
        if (attempt == 10000)
            fail_msg("no star-shaped polygon of %d points after 10000 attempts", n);
        for (int k = 0; k < n; k++)
            ang[k] = 2 * M_PI * tu_rng_unit();
        /* Insertion sort of the angles. */
        for (int k = 1; k < n; k++)
            for (int j = k; j > 0 && ang[j] < ang[j - 1]; j--) {
                double t = ang[j];
                ang[j] = ang[j - 1];
                ang[j - 1] = t;
            }
        for (int k = 0; k < n; k++) {
            double r = rmax * (0.25 + 0.75 * tu_rng_unit());
            xy[2 * k] = cx + r * cos(ang[k]);
            xy[2 * k + 1] = cy + r * sin(ang[k]);
        }
        int ok = 1;
        for (int k = 0; k < n && ok; k++)
            ok = sees(xy, k, (k + 1) % n, cx, cy);
        if (ok)
            break;
    }
    for (int k = 0; k < n; k++) {
        double x = xy[2 * k], y = xy[2 * k + 1];
        int prev = (k + n - 1) % n, next = (k + 1) % n;
        switch (rng_int(0, 9)) {
        case 0: x = round(x); break;                           /* on a column line */
        case 1: y = round(y); break;                           /* on a row line */
        case 2: x = round(x), y = round(y); break;             /* a cell corner */
        case 3: x = round(2 * x) / 2, y = round(2 * y) / 2; break;
        case 4: x = xy[2 * prev]; break;                       /* a vertical edge */
        case 5: y = xy[2 * prev + 1]; break;                   /* a horizontal edge */
        default: continue;
        }
        double ox = xy[2 * k], oy = xy[2 * k + 1];
        xy[2 * k] = x;
        xy[2 * k + 1] = y;
        if (!sees(xy, prev, k, cx, cy) || !sees(xy, k, next, cx, cy)) {
            xy[2 * k] = ox;
            xy[2 * k + 1] = oy;
        }
    }
}

/* A random centre: an integer, a half-integer, or any offset. */
static double random_centre(void)
{
    double base = rng_int(-40, 40);
    switch (rng_int(0, 2)) {
    case 0: return base;
    case 1: return base + 0.5;
    default: return base + tu_rng_unit();
    }
}

/* The bounding window of p, widened by margin cells. */
static cr_window bounding_window(const poly *p, int margin)
{
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (int k = 0; k < p->npoints; k++) {
        x0 = fmin(x0, p->xy[2 * k]);
        x1 = fmax(x1, p->xy[2 * k]);
        y0 = fmin(y0, p->xy[2 * k + 1]);
        y1 = fmax(y1, p->xy[2 * k + 1]);
    }
    cr_window win;
    win.x = (int)floor(x0) - margin;
    win.y = (int)floor(y0) - margin;
    win.w = (int)ceil(x1) + margin - win.x;
    win.h = (int)ceil(y1) + margin - win.y;
    if (win.w < 2)
        win.w = 2;
    if (win.h < 2)
        win.h = 2;
    return win;
}

/* A random polygon: one star, sometimes with a hole (the star shrunk about its centre,
 * which stays inside it), sometimes with a second part away from the first; each ring
 * in a random orientation. */
static void random_polygon(poly *p)
{
    poly_clear(p);
    double star[2 * 64], hole[2 * 64];
    int n = rng_int(3, 50);
    double cx = random_centre(), cy = random_centre();
    double rmax = rng_int(0, 3) == 0 ? 0.2 + 0.8 * tu_rng_unit() : 0.5 + 7.5 * tu_rng_unit();
    random_star(star, n, cx, cy, rmax);
    poly_ring(p, star, n, 1, (int)(tu_rng_next() & 1));
    if (rng_int(0, 2) == 0) {
        double t = 0.2 + 0.6 * tu_rng_unit();
        for (int k = 0; k < n; k++) {
            hole[2 * k] = cx + t * (star[2 * k] - cx);
            hole[2 * k + 1] = cy + t * (star[2 * k + 1] - cy);
        }
        poly_ring(p, hole, n, -1, (int)(tu_rng_next() & 1));
    }
    if (rng_int(0, 2) == 0) {
        int m = rng_int(3, 50);
        double r2 = 0.3 + 4 * tu_rng_unit();
        /* Far enough along x that the two cannot overlap. */
        double dx = rmax + r2 + 0.5 + 3 * tu_rng_unit();
        random_star(star, m, cx + dx, cy + tu_rng_unit() * 3, r2);
        poly_ring(p, star, m, 1, (int)(tu_rng_next() & 1));
    }
}

static void random_polygons_keep_the_invariants(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_coverage_scratch scratch = {0};
    poly p;
    tu_rng_state = UINT64_C(0x9e3779b97f4a7c15);
    for (int trial = 0; trial < 400; trial++) {
        random_polygon(&p);
        cr_rings rings = rings_of(&p);
        double area = cr_rings_area(&rings);
        assert_true(area > 0.0);
        cr_window win = bounding_window(&p, rng_int(0, 2));
        double *f = cover(ctx, &scratch, &p, win.x, win.y, win.w, win.h);
        double sum = 0.0;
        for (int k = 0; k < win.w * win.h; k++) {
            if (!(f[k] >= 0.0 && f[k] <= 1.0))
                fail_msg("trial %d: fraction %.17g at cell %d out of [0, 1]", trial, f[k], k);
            sum += f[k];
        }
        if (!(fabs(sum - area) <= 1e-9 * area))
            fail_msg("trial %d: fractions sum to %.17g, the area is %.17g", trial, sum, area);

        /* Four sub-windows give the same fractions as the whole. */
        int sx = rng_int(1, win.w - 1), sy = rng_int(1, win.h - 1);
        int xs[2][2] = {{0, sx}, {sx, win.w}}, ys[2][2] = {{0, sy}, {sy, win.h}};
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                int x0 = xs[i][0], w = xs[i][1] - x0, y0 = ys[j][0], h = ys[j][1] - y0;
                double *g = cover(ctx, &scratch, &p, win.x + x0, win.y + y0, w, h);
                for (int r = 0; r < h; r++)
                    for (int c = 0; c < w; c++) {
                        double a = f[(y0 + r) * win.w + x0 + c], b = g[r * w + c];
                        if (!(fabs(a - b) <= 1e-12))
                            fail_msg("trial %d: cell (%d, %d) is %.17g in the window and %.17g "
                                     "in the sub-window",
                                     trial, win.x + x0 + c, win.y + y0 + r, a, b);
                    }
                free(g);
            }

        /* A window shifted half over the polygon agrees too. */
        int ox = rng_int(-win.w / 2, win.w / 2), oy = rng_int(-win.h / 2, win.h / 2);
        double *g = cover(ctx, &scratch, &p, win.x + ox, win.y + oy, win.w, win.h);
        for (int r = 0; r < win.h; r++)
            for (int c = 0; c < win.w; c++) {
                int fr = r + oy, fc = c + ox;
                double a = fr >= 0 && fr < win.h && fc >= 0 && fc < win.w ? f[fr * win.w + fc] : 0.0;
                if (!(fabs(a - g[r * win.w + c]) <= 1e-12))
                    fail_msg("trial %d: shifted window cell (%d, %d): %.17g against %.17g", trial,
                             win.x + ox + c, win.y + oy + r, g[r * win.w + c], a);
            }
        free(g);
        free(f);
    }
    cr_coverage_scratch_free(&scratch);
    cr_ctx_free(ctx);
}

/* A random convex polygon of n points: on an ellipse, or a triangle or rectangle with
 * corners on the lines of a half-cell lattice. */
static int random_convex(double *xy)
{
    double cx = random_centre(), cy = random_centre();
    int kind = rng_int(0, 3);
    if (kind <= 1) {
        int n = rng_int(3, 40);
        double a = 0.2 + 6 * tu_rng_unit(), b = 0.2 + 6 * tu_rng_unit(), rot = M_PI * tu_rng_unit();
        double ang[64];
        for (int k = 0; k < n; k++)
            ang[k] = 2 * M_PI * tu_rng_unit();
        for (int k = 1; k < n; k++)
            for (int j = k; j > 0 && ang[j] < ang[j - 1]; j--) {
                double t = ang[j];
                ang[j] = ang[j - 1];
                ang[j - 1] = t;
            }
        for (int k = 0; k < n; k++) {
            double ex = a * cos(ang[k]), ey = b * sin(ang[k]);
            xy[2 * k] = cx + ex * cos(rot) - ey * sin(rot);
            xy[2 * k + 1] = cy + ex * sin(rot) + ey * cos(rot);
        }
        return n;
    }
    if (kind == 2) {
        for (;;) {
            for (int k = 0; k < 3; k++) {
                xy[2 * k] = cx + rng_int(-8, 8) * 0.5;
                xy[2 * k + 1] = cy + rng_int(-8, 8) * 0.5;
            }
            if (fabs(cross3(xy[0], xy[1], xy[2], xy[3], xy[4], xy[5])) > 0.1)
                return 3;
        }
    }
    double w = rng_int(1, 12) * 0.5, h = rng_int(1, 12) * 0.5;
    const double r[8] = {cx, cy, cx + w, cy, cx + w, cy + h, cx, cy + h};
    memcpy(xy, r, sizeof r);
    return 4;
}

static void convex_polygons_match_clipping_each_cell(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    cr_coverage_scratch scratch = {0};
    poly p;
    tu_rng_state = UINT64_C(0x2545f4914f6cdd1d);
    double xy[2 * 64];
    for (int trial = 0; trial < 400; trial++) {
        int n = random_convex(xy);
        poly_clear(&p);
        poly_ring(&p, xy, n, 1, (int)(tu_rng_next() & 1));
        cr_window win = bounding_window(&p, 1);
        double *f = cover(ctx, &scratch, &p, win.x, win.y, win.w, win.h);
        for (int r = 0; r < win.h; r++)
            for (int c = 0; c < win.w; c++) {
                double expect = fabs(oracle_ring_in_cell(xy, n, win.x + c, win.y + r));
                double got = f[r * win.w + c];
                if (!(fabs(got - expect) <= 1e-9))
                    fail_msg("trial %d (%d points): cell (%d, %d) covers %.17g, clipping gives "
                             "%.17g",
                             trial, n, win.x + c, win.y + r, got, expect);
            }
        free(f);
    }
    cr_coverage_scratch_free(&scratch);
    cr_ctx_free(ctx);
}

/* An empty window has nothing to fill and is not an error. */
static void empty_windows_are_fine(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    const double xy[] = {0, 0, 2, 0, 2, 2, 0, 2};
    const int end[] = {4};
    const signed char sign[] = {1};
    cr_rings rings = {xy, end, sign, 1};
    cr_coverage_scratch scratch = {0};
    cr_window flat = {0, 0, 0, 5}, thin = {0, 0, 5, 0};
    assert_int_equal(cr_coverage(ctx, &rings, &flat, &scratch, NULL), CR_OK);
    assert_int_equal(cr_coverage(ctx, &rings, &thin, &scratch, NULL), CR_OK);
    cr_coverage_scratch_free(&scratch);
    cr_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(square_over_four_cells_covers_a_quarter_of_each),
        cmocka_unit_test(triangles_by_hand),
        cmocka_unit_test(holes_subtract_whatever_the_orientations),
        cmocka_unit_test(multipolygon_cut_by_the_window_edges),
        cmocka_unit_test(polygon_smaller_than_a_cell),
        cmocka_unit_test(offset_windows_and_a_polygon_larger_than_them),
        cmocka_unit_test(scratch_is_reused_and_grows),
        cmocka_unit_test(empty_windows_are_fine),
        cmocka_unit_test(random_polygons_keep_the_invariants),
        cmocka_unit_test(convex_polygons_match_clipping_each_cell),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
