/* A perturbed-grid tessellation of the city, built in a parameter space (s across from the
 * western city limit to the shoreline, t from the southern to the northern limit, both 0..1).
 *
 * Rows hold different numbers of cells, so any N is possible. Horizontal lines wiggle, and the
 * vertical edges of each row are jittered and bowed; every vertex is a pure function of (line, s)
 * or (row, edge, t), so two neighbours compute bit-identical shared vertices and the tiling has
 * no gaps or overlaps. A gentle warp of the whole parameter space, and the mapping onto the
 * coast, then bend the edges into plausible street-block shapes. Only the shoreline edge is
 * pinned; the other city limits wiggle like the inner lines. A last, local shift centres one cell
 * on a chosen point (the lagoon), so that point can become a hole inside a single cell. */
#include "tessellation.h"

#include <math.h>
#include <stdlib.h>

#define BREAK_JITTER 0.35  /* of a cell width: neighbouring vertical edges never meet */
#define EDGE_BEND 0.12     /* of a cell width: how far a vertical edge bows sideways */
#define LINE_JITTER 0.22   /* of a row height: neighbouring lines never cross */
#define WARP 0.03          /* small enough that the warp stays one-to-one */
#define WARP_FREQUENCY 2.0
#define LINE_SAMPLES_PER_CELL 3
#define EDGE_SAMPLES 4     /* segments per vertical edge */
#define BUMP_MAX_SLOPE 1.54 /* steepest slope of bump() below */
#define FOCUS_MAX_STRETCH 0.6 /* keeps the focus shift one-to-one (Jacobian determinant >= 0.4) */

enum { SEED_BREAKS = 11, SEED_LINES, SEED_WARP_S, SEED_WARP_T, SEED_BENDS };

/* Hashed, not added, so the octaves of one noise stream never reuse another stream's lattice. */
static uint64_t stream(const Tessellation *ts, int id)
{
    return hash3(ts->seed, 0x7e55e11a, (uint64_t)id);
}

static double line_t(const Tessellation *ts, int line, double s)
{
    double base = (double)line / ts->rows;
    double n = fbm(s * ts->line_freq + line * 7.31, line * 3.17, 2, stream(ts, SEED_LINES));
    return base + LINE_JITTER / ts->rows * (2.0 * n - 1.0);
}

/* Displacement vanishes on the boundary, so the city limits and the shoreline stay put. */
static void warp(const Tessellation *ts, double *s, double *t)
{
    double fs = *s * WARP_FREQUENCY, ft = *t * WARP_FREQUENCY;
    double ws = 2.0 * fbm(fs, ft, 2, stream(ts, SEED_WARP_S)) - 1.0;
    double wt = 2.0 * fbm(fs + 5.2, ft + 1.3, 2, stream(ts, SEED_WARP_T)) - 1.0;
    double ns = *s + WARP * ws * 4.0 * *s * (1.0 - *s);
    double nt = *t + WARP * wt * 4.0 * *t * (1.0 - *t);
    *s = ns;
    *t = nt;
}

/* Compactly supported and C1: 1 at the centre, 0 from r = 1 on. */
static double bump(double r)
{
    return r < 1.0 ? sc_sq(1.0 - r * r) : 0.0;
}

/* p + D * bump(|p - c| / reach): its Jacobian is I plus a rank-one term whose size is at most
 * |D| * BUMP_MAX_SLOPE / reach, so it stays one-to-one while that is below 1. */
static void focus_shift(const Tessellation *ts, double *s, double *t)
{
    const Focus *f = &ts->focus;
    if (f->reach <= 0.0)
        return;
    double w = bump(hypot(*s - f->s, *t - f->t) / f->reach);
    *s += f->ds * w;
    *t += f->dt * w;
}

static void param_to_uv(const Tessellation *ts, double s, double t, double *u, double *v)
{
    focus_shift(ts, &s, &t);
    warp(ts, &s, &t);
    *v = CITY_V_SOUTH + t * (CITY_V_NORTH - CITY_V_SOUTH);
    double west = landuse_city_west(*v);
    *u = west + s * (terrain_coast_u(ts->terrain, *v) - west);
}

static void add_point(OGRGeometryH ring, const Tessellation *ts, double s, double t)
{
    double u, v, x, y;
    param_to_uv(ts, s, t, &u, &v);
    terrain_uv_to_utm(ts->terrain, u, v, &x, &y);
    OGR_G_AddPoint_2D(ring, x, y);
}

/* The city is about 0.45 wide and 0.83 tall in map units: square-ish cells need this many rows. */
static int row_count(int cells)
{
    int rows = (int)lround(sqrt(cells * (CITY_V_NORTH - CITY_V_SOUTH) / 0.45));
    return rows < 1 ? 1 : (rows > cells ? cells : rows);
}

static int fill_breaks(Tessellation *ts, int row)
{
    int c = ts->cols[row];
    double *b = malloc((size_t)(c + 1) * sizeof *b);
    if (!b)
        return -1;
    b[0] = 0.0;
    b[c] = 1.0;
    for (int k = 1; k < c; k++) {
        double h = hash_unit(stream(ts, SEED_BREAKS), (uint64_t)row, (uint64_t)k);
        b[k] = (k + BREAK_JITTER * (2.0 * h - 1.0)) / c;
    }
    ts->breaks[row] = b;
    return 0;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* True when s is within eps of a vertical edge of row `row` (rows outside the grid have none). */
static int near_break(const Tessellation *ts, int row, double s, double eps)
{
    if (row < 0 || row >= ts->rows)
        return 0;
    for (int k = 0; k <= ts->cols[row]; k++)
        if (fabs(ts->breaks[row][k] - s) < eps)
            return 1;
    return 0;
}

static int append_breaks(const Tessellation *ts, int row, double *out, int n)
{
    if (row < 0 || row >= ts->rows)
        return n;
    for (int k = 0; k <= ts->cols[row]; k++)
        out[n++] = ts->breaks[row][k];
    return n;
}

/* A line's vertices: every vertical-edge foot from the rows on both sides, plus evenly spaced
 * points (skipping any too close to an edge foot) so the line can bend between them. */
static int fill_line(Tessellation *ts, int line)
{
    int below = line > 0 ? ts->cols[line - 1] : 0, above = line < ts->rows ? ts->cols[line] : 0;
    int even = LINE_SAMPLES_PER_CELL * (below > above ? below : above);
    double *s = malloc((size_t)(below + above + 2 + even) * sizeof *s);
    if (!s)
        return -1;
    int n = append_breaks(ts, line - 1, s, 0);
    n = append_breaks(ts, line, s, n);
    for (int m = 1; m < even; m++) {
        double p = (double)m / even, eps = 0.2 / even;
        if (!near_break(ts, line - 1, p, eps) && !near_break(ts, line, p, eps))
            s[n++] = p;
    }
    qsort(s, (size_t)n, sizeof *s, compare_double);
    int kept = 0;
    for (int i = 0; i < n; i++)
        if (kept == 0 || s[i] != s[kept - 1])
            s[kept++] = s[i];
    ts->line_s[line] = s;
    ts->line_n[line] = kept;
    return 0;
}

static int allocate(Tessellation *ts)
{
    size_t rows = (size_t)ts->rows;
    ts->cols = calloc(rows, sizeof *ts->cols);
    ts->breaks = calloc(rows, sizeof *ts->breaks);
    ts->line_s = calloc(rows + 1, sizeof *ts->line_s);
    ts->line_n = calloc(rows + 1, sizeof *ts->line_n);
    return ts->cols && ts->breaks && ts->line_s && ts->line_n ? 0 : -1;
}

/* Inverse of param_to_uv without the focus shift: the coast mapping inverts exactly, and the warp
 * is a small perturbation, so a fixed-point iteration converges quickly. */
static void uv_to_param(const Tessellation *ts, double u, double v, double *s, double *t)
{
    double west = landuse_city_west(v);
    double target_s = (u - west) / (terrain_coast_u(ts->terrain, v) - west);
    double target_t = (v - CITY_V_SOUTH) / (CITY_V_NORTH - CITY_V_SOUTH);
    *s = target_s;
    *t = target_t;
    for (int i = 0; i < 30; i++) {
        double ws = *s, wt = *t;
        warp(ts, &ws, &wt);
        *s -= ws - target_s;
        *t -= wt - target_t;
    }
}

static int row_holding(const Tessellation *ts, double s, double t)
{
    int row = ts->rows - 1;
    while (row > 0 && t < line_t(ts, row, s))
        row--;
    return row;
}

static int col_holding(const Tessellation *ts, int row, double s)
{
    int col = ts->cols[row] - 1;
    while (col > 0 && s < ts->breaks[row][col])
        col--;
    return col;
}

/* Move the middle of the cell holding (u, v) onto it. The shift fades out within about three cells
 * and before the city limits; when the cell is too big for that room, the grid is left alone. */
static void set_focus(Tessellation *ts, double u, double v)
{
    double s, t;
    uv_to_param(ts, u, v, &s, &t);
    int row = row_holding(ts, s, t), col = col_holding(ts, row, s);
    double cs = 0.5 * (ts->breaks[row][col] + ts->breaks[row][col + 1]);
    double ct = 0.5 * (line_t(ts, row, cs) + line_t(ts, row + 1, cs));
    double cell = fmax(1.0 / ts->cols[row], 1.0 / ts->rows);
    double room = fmin(fmin(cs, 1.0 - cs), fmin(ct, 1.0 - ct));
    double reach = fmin(3.0 * cell, room);
    if (hypot(s - cs, t - ct) * BUMP_MAX_SLOPE < FOCUS_MAX_STRETCH * reach)
        ts->focus = (Focus){cs, ct, s - cs, t - ct, reach};
}

int tess_init(Tessellation *ts, int cells, const Terrain *t, uint64_t seed, double focus_u,
              double focus_v)
{
    *ts = (Tessellation){.terrain = t, .seed = seed, .rows = row_count(cells)};
    if (allocate(ts) != 0) {
        tess_free(ts);
        return -1;
    }
    int widest = 0;
    for (int j = 0; j < ts->rows; j++) {
        /* Spread the cells so row widths differ by at most one. */
        ts->cols[j] = (int)((long long)(j + 1) * cells / ts->rows - (long long)j * cells / ts->rows);
        widest = ts->cols[j] > widest ? ts->cols[j] : widest;
    }
    ts->line_freq = 0.5 * widest;
    int rc = 0;
    for (int j = 0; rc == 0 && j < ts->rows; j++)
        rc = fill_breaks(ts, j);
    for (int j = 0; rc == 0 && j <= ts->rows; j++)
        rc = fill_line(ts, j);
    if (rc != 0) {
        tess_free(ts);
        return rc;
    }
    set_focus(ts, focus_u, focus_v);
    return 0;
}

void tess_free(Tessellation *ts)
{
    for (int j = 0; ts->breaks && j < ts->rows; j++)
        free(ts->breaks[j]);
    for (int j = 0; ts->line_s && j <= ts->rows; j++)
        free(ts->line_s[j]);
    free(ts->cols);
    free(ts->breaks);
    free(ts->line_s);
    free(ts->line_n);
    *ts = (Tessellation){0};
}

static int find_vertex(const Tessellation *ts, int line, double s)
{
    const double *v = ts->line_s[line];
    int lo = 0, hi = ts->line_n[line] - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (v[mid] < s)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo; /* s is always present: it is an edge foot of this line */
}

/* Vertices of `line` from s_from to s_to inclusive, in either direction. */
static void add_line_run(OGRGeometryH ring, const Tessellation *ts, int line, double s_from,
                         double s_to)
{
    int from = find_vertex(ts, line, s_from), to = find_vertex(ts, line, s_to);
    int step = from <= to ? 1 : -1;
    for (int i = from;; i += step) {
        double s = ts->line_s[line][i];
        add_point(ring, ts, s, line_t(ts, line, s));
        if (i == to)
            break;
    }
}

/* Interior vertices of vertical edge k of `row`, upwards or downwards. The edge bows sideways
 * by an amount hashed from (row, k), so both cells sharing it bend it the same way; the shoreline
 * edge (k = cols) stays on the coast. */
static void add_edge(OGRGeometryH ring, const Tessellation *ts, int row, int k, int upwards)
{
    double s = ts->breaks[row][k];
    double t0 = line_t(ts, row, s), t1 = line_t(ts, row + 1, s);
    double h = hash_unit(stream(ts, SEED_BENDS), (uint64_t)row, (uint64_t)k);
    double bend = k == ts->cols[row] ? 0.0 : EDGE_BEND / ts->cols[row] * (2.0 * h - 1.0);
    for (int m = 1; m < EDGE_SAMPLES; m++) {
        int i = upwards ? m : EDGE_SAMPLES - m;
        double along = (double)i / EDGE_SAMPLES;
        add_point(ring, ts, s + bend * sin(SC_PI * along), t0 + (t1 - t0) * along);
    }
}

/* Counter-clockwise: along the bottom line, up the right edge, back along the top, down the left. */
OGRGeometryH tess_cell_polygon(const Tessellation *ts, int row, int col)
{
    double west = ts->breaks[row][col], east = ts->breaks[row][col + 1];
    OGRGeometryH ring = OGR_G_CreateGeometry(wkbLinearRing);
    add_line_run(ring, ts, row, west, east);
    add_edge(ring, ts, row, col + 1, 1);
    add_line_run(ring, ts, row + 1, east, west);
    add_edge(ring, ts, row, col, 0);
    add_point(ring, ts, west, line_t(ts, row, west));
    OGRGeometryH polygon = OGR_G_CreateGeometry(wkbPolygon);
    OGR_G_AddGeometryDirectly(polygon, ring);
    return polygon;
}

/* The point at fractions (fs, ft) across and up a cell, in normalised map units. */
void tess_cell_point(const Tessellation *ts, int row, int col, double fs, double ft, double *u,
                     double *v)
{
    double west = ts->breaks[row][col], east = ts->breaks[row][col + 1];
    double s = west + fs * (east - west);
    double t = line_t(ts, row, s) + ft * (line_t(ts, row + 1, s) - line_t(ts, row, s));
    param_to_uv(ts, s, t, u, v);
}

/* Row nearest to a map latitude v (ignoring the small warp). */
int tess_row_at(const Tessellation *ts, double v)
{
    double t = (v - CITY_V_SOUTH) / (CITY_V_NORTH - CITY_V_SOUTH);
    return (int)sc_clamp(floor(t * ts->rows), 0.0, ts->rows - 1.0);
}
