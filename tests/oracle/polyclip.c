/* polyclip.c: Sutherland-Hodgman clipping of a ring to a unit cell, the oracle of the
 * coverage tests (polyclip.h). Simple rather than fast. */
#include "polyclip.h"

#include <stdio.h>
#include <stdlib.h>

double oracle_shoelace(const double *xy, int n)
{
    double sum = 0.0;
    for (int k = 0; k < n; k++) {
        int next = (k + 1) % n;
        sum += xy[2 * k] * xy[2 * next + 1] - xy[2 * next] * xy[2 * k + 1];
    }
    return 0.5 * sum;
}

/* Keeps the part of the polygon in[0..n) where side * (coordinate axis - bound) >= 0
 * (axis 0: x, 1: y) in out; returns its points, at most 2n: every point kept once, plus
 * one per edge that crosses the line. */
static int clip_half(const double *in, int n, int axis, double bound, double side, double *out)
{
    int m = 0;
    for (int k = 0; k < n; k++) {
        const double *a = in + 2 * k, *b = in + 2 * ((k + 1) % n);
        double da = side * (a[axis] - bound), db = side * (b[axis] - bound);
        if (da >= 0) {
            out[2 * m] = a[0];
            out[2 * m + 1] = a[1];
            m++;
        }
        if ((da >= 0) != (db >= 0)) {
            double t = da / (da - db);
            out[2 * m] = a[0] + t * (b[0] - a[0]);
            out[2 * m + 1] = a[1] + t * (b[1] - a[1]);
            out[2 * m + axis] = bound; /* exactly on the line */
            m++;
        }
    }
    return m;
}

double oracle_ring_in_cell(const double *xy, int n, int c, int r)
{
    /* Four clips, each at most doubling the points: 16n points in the last. Two buffers
     * kept from call to call: the fuzz target calls this for every cell of every input,
     * and a fresh allocation each time (poisoned and unpoisoned by ASan) made it 3x
     * slower. Single-threaded, as the tests are. */
    static double *a, *b;
    static size_t cap;
    size_t need = 2 * 16 * (size_t)(n > 0 ? n : 1);
    if (need > cap) {
        free(a);
        free(b);
        a = malloc(need * sizeof *a);
        b = malloc(need * sizeof *b);
        if (!a || !b) {
            fprintf(stderr, "polyclip: out of memory\n");
            abort();
        }
        cap = need;
    }
    int m = clip_half(xy, n, 0, c, 1.0, a);
    m = m ? clip_half(a, m, 0, c + 1, -1.0, b) : 0;
    m = m ? clip_half(b, m, 1, r, 1.0, a) : 0;
    m = m ? clip_half(a, m, 1, r + 1, -1.0, b) : 0;
    return m >= 3 ? oracle_shoelace(b, m) : 0.0;
}
