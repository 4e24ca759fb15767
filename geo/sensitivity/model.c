/* model.c: the in-memory model of `cityrisk sensitivity`: each zone's covered cells with
 * their layers' values, normalised once, and a model run that re-scores and re-aggregates
 * them as `cityrisk score` then `cityrisk zonal --exposure` would.
 *
 * Agreement with the real commands to 1e-6 rests on three things: the indicators are kept
 * as Float32, as score's tiles hold them; a cell's score is computed with the same
 * operations in the same order as cr_score_cell() (the logs of the indicators that do not
 * vary are taken once: log1p(9 c) of the same double gives the same bits), then rounded
 * to Float32 as the exposure raster stores it; and a zone's mean weights each cell by its
 * coverage times its area, as zonal's score_mean does. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A cell's record while building: f, ca, water, informal, arrivals, water_raw, population,
 * then the sea bands. */
enum { R_F, R_CA, R_WATER, R_INFORMAL, R_ARRIVALS, R_WATER_RAW, R_POP, R_SEA };

int cr_sens_model_init(cr_sens_model *m, int64_t nzones, int nsea, const cr_normalise_opts *norm,
                       int renormalise, int uplift)
{
    memset(m, 0, sizeof *m);
    m->nzones = nzones;
    m->nsea = nsea;
    m->norm = *norm;
    m->renormalise = renormalise;
    m->uplift = uplift;
    size_t nz = (size_t)(nzones ? nzones : 1);
    m->rec = calloc(nz, sizeof *m->rec);
    m->n = calloc(nz, sizeof *m->n);
    m->cap = calloc(nz, sizeof *m->cap);
    return m->rec && m->n && m->cap;
}

int cr_sens_model_add(cr_sens_model *m, int64_t z, const cr_sens_cell *cell)
{
    size_t width = (size_t)(R_SEA + m->nsea);
    if (m->n[z] == m->cap[z]) {
        int64_t cap = m->cap[z] ? 2 * m->cap[z] : 16;
        double *r = realloc(m->rec[z], (size_t)cap * width * sizeof *r);
        if (!r)
            return 0;
        m->rec[z] = r;
        m->cap[z] = cap;
    }
    double *r = m->rec[z] + (size_t)m->n[z]++ * width;
    r[R_F] = cell->f;
    r[R_CA] = cell->ca;
    r[R_WATER] = cell->water;
    r[R_INFORMAL] = cell->informal;
    r[R_ARRIVALS] = cell->arrivals;
    r[R_WATER_RAW] = cell->water_raw;
    r[R_POP] = cell->population;
    for (int b = 0; b < m->nsea; b++)
        r[R_SEA + b] = cell->sea[b];
    return 1;
}

double cr_sens_model_cell_bytes(int nsea)
{
    /* f, ca, 4 indicators and their logs, the sea bands and theirs, the arrivals' transform,
     * the three uplift inputs; and the record while building. */
    return 2 * 8 + 4 * (4 + 8) + nsea * (4 + 8) + 8 + 3 * 4 + (R_SEA + nsea) * 8;
}

/* The arrivals indicator of a transformed value t (log1p(a), or a) for scale 1 / log1p(a_ref)
 * (1 / a_ref), as core/inputs.c computes it, rounded to Float32 as score's tiles hold it. */
static float arrivals_indicator(double t, double scale)
{
    if (isnan(t))
        return NAN;
    return t == 0 ? 0.0f : (float)fmin(1, t * scale);
}

static double arrivals_scale(const cr_normalise_opts *n, double ref)
{
    return n->arrivals_linear ? 1 / ref : 1 / log1p(ref);
}

static double lg9(float c)
{
    return log1p(9 * (double)c);
}

static int layout(cr_sens_model *m)
{
    size_t width = (size_t)(R_SEA + m->nsea);
    m->start = malloc((size_t)(m->nzones + 1) * sizeof *m->start);
    if (!m->start)
        return 0;
    int64_t total = 0;
    for (int64_t z = 0; z < m->nzones; z++) {
        m->start[z] = total;
        total += m->n[z];
    }
    m->start[m->nzones] = total;
    m->ncells = total;
    size_t n = (size_t)(total ? total : 1), nb = (size_t)m->nsea;
    m->f = malloc(n * sizeof *m->f);
    m->ca = malloc(n * sizeof *m->ca);
    for (int k = 0; k < CR_INDICATORS; k++) {
        m->ind[k] = malloc(n * sizeof *m->ind[k]);
        m->lg[k] = malloc(n * sizeof *m->lg[k]);
    }
    m->sea = malloc(n * nb * sizeof *m->sea);
    m->sea_lg = malloc(n * nb * sizeof *m->sea_lg);
    m->arrivals_t = malloc(n * sizeof *m->arrivals_t);
    m->water_raw = malloc(n * sizeof *m->water_raw);
    m->arrivals = malloc(n * sizeof *m->arrivals);
    m->population = malloc(n * sizeof *m->population);
    int ok = m->f && m->ca && m->sea && m->sea_lg && m->arrivals_t && m->water_raw && m->arrivals &&
             m->population;
    for (int k = 0; k < CR_INDICATORS; k++)
        ok &= m->ind[k] && m->lg[k];
    if (!ok)
        return 0;
    double scale = arrivals_scale(&m->norm, m->norm.arrivals_ref);
    for (int64_t z = 0; z < m->nzones; z++) {
        for (int64_t i = 0; i < m->n[z]; i++) {
            const double *r = m->rec[z] + (size_t)i * width;
            size_t c = (size_t)(m->start[z] + i);
            m->f[c] = r[R_F];
            m->ca[c] = r[R_CA];
            for (size_t b = 0; b < nb; b++) {
                m->sea[b * n + c] = (float)r[R_SEA + b];
                m->sea_lg[b * n + c] = lg9((float)r[R_SEA + b]);
            }
            double a = r[R_ARRIVALS];
            m->arrivals_t[c] = isnan(a) ? NAN : m->norm.arrivals_linear ? a : log1p(a);
            m->ind[CR_IND_SEA][c] = m->sea[c];
            m->ind[CR_IND_WATER][c] = (float)r[R_WATER];
            m->ind[CR_IND_INFORMAL][c] = (float)r[R_INFORMAL];
            m->ind[CR_IND_ARRIVALS][c] = arrivals_indicator(m->arrivals_t[c], scale);
            for (int k = 0; k < CR_INDICATORS; k++)
                m->lg[k][c] = lg9(m->ind[k][c]);
            m->water_raw[c] = (float)r[R_WATER_RAW];
            m->arrivals[c] = (float)a;
            m->population[c] = (float)r[R_POP];
        }
        free(m->rec[z]);
        m->rec[z] = NULL;
    }
    return 1;
}

/* A cell's score from its indicators c and their logs lg, as cr_score_cell() computes it:
 * the common cases (every indicator present, geometric or arithmetic) inline, with the same
 * operations in the same order; the others through it. */
static double cell_score(const cr_sens_point *p, int renormalise, const double c[CR_INDICATORS],
                         const double lg[CR_INDICATORS])
{
    int complete = !isnan(c[0]) && !isnan(c[1]) && !isnan(c[2]) && !isnan(c[3]);
    if (complete && p->method == CR_METHOD_GEOMETRIC) {
        double total = 0, acc = 0;
        for (int i = 0; i < CR_INDICATORS; i++) {
            total += p->w[i];
            acc += p->w[i] * lg[i];
        }
        if (total > 0)
            return 10 * (exp(acc / total) - 1) / 9;
    } else if (complete && p->method == CR_METHOD_ARITHMETIC) {
        double total = 0, acc = 0;
        for (int i = 0; i < CR_INDICATORS; i++) {
            total += p->w[i];
            acc += p->w[i] * c[i];
        }
        if (total > 0)
            return 10 * acc / total;
    }
    return cr_score_cell(p->method, c, p->w, renormalise, NULL);
}

static float cell_uplift(const cr_sens_model *m, size_t c, double share)
{
    double raw = m->water_raw[c];
    double b = m->norm.water_ratio ? cr_water_score_from_ratio(raw)
               : raw < 0           ? 0
               : raw > 5           ? 5
                                   : raw;
    if (isnan(raw))
        b = NAN;
    return (float)cr_water_uplift(b, m->arrivals[c], m->population[c], share);
}

void cr_sens_model_run(const cr_sens_model *m, const cr_sens_point *p, double *score,
                       double *uplift)
{
    size_t n = (size_t)(m->ncells ? m->ncells : 1);
    int own_arrivals = p->arrivals_ref != m->norm.arrivals_ref;
    double scale = arrivals_scale(&m->norm, p->arrivals_ref);
    const float *sea = m->sea + (size_t)p->sea * n;
    const double *sea_lg = m->sea_lg + (size_t)p->sea * n;
    for (int64_t z = 0; z < m->nzones; z++) {
        double sum = 0, weight = 0, usum = 0, uweight = 0;
        for (int64_t i = m->start[z]; i < m->start[z + 1]; i++) {
            size_t c = (size_t)i;
            double v[CR_INDICATORS] = {sea[c], m->ind[CR_IND_WATER][c], m->ind[CR_IND_INFORMAL][c],
                                       m->ind[CR_IND_ARRIVALS][c]};
            double lg[CR_INDICATORS] = {sea_lg[c], m->lg[CR_IND_WATER][c],
                                        m->lg[CR_IND_INFORMAL][c], m->lg[CR_IND_ARRIVALS][c]};
            if (own_arrivals) {
                float a = arrivals_indicator(m->arrivals_t[c], scale);
                v[CR_IND_ARRIVALS] = a;
                lg[CR_IND_ARRIVALS] = a == 0 ? 0 : lg9(a);
            }
            float s = (float)cell_score(p, m->renormalise, v, lg);
            if (!isnan(s)) {
                sum += m->ca[c] * s;
                weight += m->ca[c];
            }
            if (uplift && m->uplift) {
                float u = cell_uplift(m, c, p->share);
                double a = m->arrivals[c];
                if (!isnan(a) && !isnan(u)) {
                    usum += m->f[c] * a * u;
                    uweight += m->f[c] * a;
                }
            }
        }
        score[z] = weight > 0 ? sum / weight : NAN;
        if (uplift)
            uplift[z] = uweight > 0 ? usum / uweight : NAN;
    }
}

/* data_coverage at the nominal point: the share of the zone's area whose cells have a
 * score (and an uplift, which the exposure raster then also holds), as zonal computes it
 * from the exposure's bands. */
static void coverage(cr_sens_model *m, const double *area_m2, const cr_sens_point *p)
{
    size_t n = (size_t)(m->ncells ? m->ncells : 1);
    for (int64_t z = 0; z < m->nzones; z++) {
        double valid = 0;
        for (int64_t i = m->start[z]; i < m->start[z + 1]; i++) {
            size_t c = (size_t)i;
            double v[CR_INDICATORS] = {m->sea[(size_t)p->sea * n + c], m->ind[1][c], m->ind[2][c],
                                       m->ind[3][c]};
            double lg[CR_INDICATORS] = {m->sea_lg[(size_t)p->sea * n + c], m->lg[1][c], m->lg[2][c],
                                        m->lg[3][c]};
            int ok = !isnan((float)cell_score(p, m->renormalise, v, lg));
            if (m->uplift)
                ok &= !isnan(cell_uplift(m, c, p->share));
            valid += ok ? m->ca[c] : 0.0;
        }
        double area = area_m2[z];
        double cov = area > 0 ? valid / area : NAN;
        m->area_m2[z] = area;
        m->coverage[z] = isnan(area) ? NAN : cov > 1.0 - 1e-9 ? 1.0 : cov;
    }
}

int cr_sens_model_finish(cr_sens_model *m, const double *area_m2, const cr_sens_point *nominal)
{
    size_t nz = (size_t)(m->nzones ? m->nzones : 1);
    m->area_m2 = malloc(nz * sizeof *m->area_m2);
    m->coverage = malloc(nz * sizeof *m->coverage);
    if (!m->area_m2 || !m->coverage || !layout(m))
        return 0;
    coverage(m, area_m2, nominal);
    return 1;
}

void cr_sens_model_release(cr_sens_model *m)
{
    for (int64_t z = 0; m->rec && z < m->nzones; z++)
        free(m->rec[z]);
    free(m->rec);
    free(m->n);
    free(m->cap);
    free(m->start);
    free(m->f);
    free(m->ca);
    for (int k = 0; k < CR_INDICATORS; k++) {
        free(m->ind[k]);
        free(m->lg[k]);
    }
    free(m->sea);
    free(m->sea_lg);
    free(m->arrivals_t);
    free(m->water_raw);
    free(m->arrivals);
    free(m->population);
    free(m->area_m2);
    free(m->coverage);
    memset(m, 0, sizeof *m);
}

/* Highest score first; equal scores in zone order (zonal's rule). */
static int by_score_desc(const void *a, const void *b)
{
    const cr_sens_ranked *x = a, *y = b;
    if (x->score != y->score)
        return (x->score < y->score) - (x->score > y->score);
    return (x->zone > y->zone) - (x->zone < y->zone);
}

void cr_sens_rank(const double *score, const unsigned char *eligible, int64_t n, double *rank,
                  cr_sens_ranked *order)
{
    int64_t k = 0;
    for (int64_t z = 0; z < n; z++) {
        rank[z] = NAN;
        if (eligible[z] && !isnan(score[z]))
            order[k++] = (cr_sens_ranked){score[z], z};
    }
    qsort(order, (size_t)k, sizeof *order, by_score_desc);
    for (int64_t i = 0; i < k; i++)
        rank[order[i].zone] = i > 0 && order[i].score == order[i - 1].score
                                  ? rank[order[i - 1].zone]
                                  : (double)(i + 1);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double cr_sens_quantile(double *values, int64_t n, double q)
{
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        if (!isnan(values[i]))
            values[k++] = values[i];
    if (k == 0)
        return NAN;
    qsort(values, (size_t)k, sizeof *values, by_value);
    double at = q * (double)(k - 1);
    int64_t lo = (int64_t)floor(at);
    if (lo >= k - 1)
        return values[k - 1];
    double frac = at - (double)lo;
    return values[lo] + (values[lo + 1] - values[lo]) * frac;
}
