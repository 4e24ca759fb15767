/* zonal_acc.c: what `cityrisk zonal` sums per zone, and the columns it makes of it.
 *
 * A zone's accumulator is a flat array of doubles: the domain sums, then per sea-level
 * scenario its sums, then per generic raster its statistics. Every domain quantity is a
 * sum, so partial accumulators of a zone (one per tile) merge by adding; the generic
 * ones also keep a minimum, a maximum and weighted moments (merged as Chan et al.). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/score.h"
#include "zonal_internal.h"

/* Domain sums; f is the coverage fraction, ca = f times the cell area (m2). */
typedef struct domain_acc {
    double all_valid;         /* sum ca, every input valid */
    double any_valid;         /* sum ca, some input valid */
    double a_valid, a_sum;    /* sum ca [a], sum f a */
    double v_valid, v_area;   /* sum ca [v], sum ca v */
    double b_valid, b_area;   /* sum ca [b], sum ca b */
    double av_valid, av;      /* sum ca [a, v], sum f a v */
    double ab_valid, ab_a, ab_ab, ab_high; /* [a, b]: sum ca, sum f a, sum f a b, sum f a [b >= 3] */
    double u_a, u_au;         /* [a, u]: sum f a, sum f a u */
    double s_valid, s_area;   /* sum ca [S], sum ca S */
    double as_a, as_as;       /* [a, S]: sum f a, sum f a S */
    double sea;               /* sum ca [sea]: every --sea band and the score missing */
} domain_acc;

/* Sums per scenario. */
typedef struct scen_acc {
    double d_valid, flood_area; /* sum ca [d], sum ca [d > 0] */
    double ad_valid, ad_flood;  /* [a, d]: sum ca, sum f a [d > 0] */
    double vd_v, vd_flood;      /* [v, d]: sum f v, sum f v [d > 0] */
    double c_valid, compound;   /* [a, v, b, d]: sum ca, sum f a [d > 0][v >= 0.5][b >= 3] */
} scen_acc;

/* A generic raster's statistics; then one frac sum per frac statistic and two sums
 * (sum f w x, sum f w) per weighted_mean statistic, in the order of the statistics. */
enum { G_COUNT, G_SUM, G_MIN, G_MAX, G_W, G_MEAN, G_M2, G_FIXED };

#define D_SIZE (sizeof(domain_acc) / sizeof(double))
#define S_SIZE (sizeof(scen_acc) / sizeof(double))

/* The thresholds of water stress and informality in the compound metrics (SCORING.md:
 * Aqueduct "High" and above, a majority of informal housing). */
#define HIGH_WATER_STRESS 3.0
#define MOSTLY_INFORMAL 0.5

void cr_zplan_layout(cr_zplan *plan)
{
    size_t extra = 0;
    plan->generic_lists = plan->moments = plan->generic_extra = 0;
    plan->domain = plan->src_score >= 0 || plan->src_arrivals >= 0 || plan->src_water >= 0 ||
                   plan->src_informal >= 0 || plan->nscen > 0;
    for (int s = 0; s < plan->nstats; s++) {
        cr_stat_kind k = plan->stats[s].kind;
        extra += k == CR_STAT_FRAC ? 1 : k == CR_STAT_WEIGHTED_MEAN ? 2 : 0;
        plan->generic_lists |= k == CR_STAT_MEDIAN || k == CR_STAT_QUANTILE || k == CR_STAT_MAJORITY;
        plan->moments |= k == CR_STAT_STDEV;
        plan->generic_extra |= k == CR_STAT_FRAC || k == CR_STAT_WEIGHTED_MEAN;
    }
    plan->off_scen = D_SIZE;
    plan->off_generic = D_SIZE + (size_t)plan->nscen * S_SIZE;
    plan->generic_stride = G_FIXED + extra;
    plan->acc_size = plan->off_generic + (size_t)plan->ngeneric * plan->generic_stride;
    plan->nlists = (plan->src_score >= 0) + (plan->generic_lists ? plan->ngeneric : 0);
}

void cr_zacc_init(const cr_zplan *plan, double *acc)
{
    memset(acc, 0, plan->acc_size * sizeof *acc);
    for (int g = 0; g < plan->ngeneric; g++) {
        double *G = acc + plan->off_generic + (size_t)g * plan->generic_stride;
        G[G_MIN] = INFINITY;
        G[G_MAX] = -INFINITY;
    }
}

/* Appends (x, w) to l; 0 when out of memory. */
static int wlist_push(cr_wlist *l, double x, double w)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        double *nx = realloc(l->x, cap * sizeof *nx);
        if (!nx)
            return 0;
        l->x = nx;
        double *nw = realloc(l->w, cap * sizeof *nw);
        if (!nw)
            return 0;
        l->w = nw;
        l->cap = cap;
    }
    l->x[l->n] = x;
    l->w[l->n++] = w;
    return 1;
}

void cr_wlist_free(cr_wlist *l)
{
    if (!l)
        return;
    free(l->x);
    free(l->w);
    memset(l, 0, sizeof *l);
}

static double value_of(const double *v, int src)
{
    return src >= 0 ? v[src] : NAN;
}

/* The domain sums of one cell (see cr_zacc_add()). */
static int add_domain(const cr_zplan *plan, double *acc, const double *v, double f, double ca,
                      cr_wlist *lists)
{
    domain_acc *D = (domain_acc *)acc;
    double a = value_of(v, plan->src_arrivals), b = value_of(v, plan->src_water);
    double iv = value_of(v, plan->src_informal), S = value_of(v, plan->src_score);
    int has_a = !isnan(a), has_b = !isnan(b), has_v = !isnan(iv);
    if (has_a) {
        D->a_valid += ca;
        D->a_sum += f * a;
    }
    if (has_v) {
        D->v_valid += ca;
        D->v_area += ca * iv;
    }
    if (has_b) {
        D->b_valid += ca;
        D->b_area += ca * b;
    }
    if (has_a && has_v) {
        D->av_valid += ca;
        D->av += f * a * iv;
    }
    if (has_a && has_b) {
        D->ab_valid += ca;
        D->ab_a += f * a;
        D->ab_ab += f * a * b;
        D->ab_high += b >= HIGH_WATER_STRESS ? f * a : 0.0;
    }
    double u = plan->src_uplift >= 0 ? v[plan->src_uplift]
               : plan->src_population >= 0
                   ? cr_water_uplift(b, a, v[plan->src_population], plan->demand_share)
                   : NAN;
    if (has_a && !isnan(u)) {
        D->u_a += f * a;
        D->u_au += f * a * u;
    }
    if (plan->src_score >= 0) {
        if (!isnan(S)) {
            D->s_valid += ca;
            D->s_area += ca * S;
            if (has_a) {
                D->as_a += f * a;
                D->as_as += f * a * S;
            }
            if (!wlist_push(&lists[0], S, ca))
                return 0;
        }
    }
    scen_acc *SC = (scen_acc *)(acc + plan->off_scen);
    /* The sea: no depth in any scenario (inundation writes nodata on the sea, and beyond
     * the DEM) and no score (score writes none there either). */
    int sea = plan->nscen > 0 && isnan(S);
    for (int j = 0; sea && j < plan->nscen; j++)
        sea = isnan(v[plan->src_sea[j]]);
    D->sea += sea ? ca : 0.0;
    for (int j = 0; j < plan->nscen; j++) {
        double d = v[plan->src_sea[j]];
        if (isnan(d))
            continue;
        int wet = d > 0.0;
        SC[j].d_valid += ca;
        SC[j].flood_area += wet ? ca : 0.0;
        if (has_a) {
            SC[j].ad_valid += ca;
            SC[j].ad_flood += wet ? f * a : 0.0;
        }
        if (has_v) {
            SC[j].vd_v += f * iv;
            SC[j].vd_flood += wet ? f * iv : 0.0;
        }
        if (has_a && has_v && has_b) {
            SC[j].c_valid += ca;
            SC[j].compound +=
                wet && iv >= MOSTLY_INFORMAL && b >= HIGH_WATER_STRESS ? f * a : 0.0;
        }
    }
    return 1;
}

/* The statistics of generic raster g beyond count, sum, min and max, for one cell of
 * value x: moments, frac and weighted_mean sums, the list. */
static int add_generic_rest(const cr_zplan *plan, double *G, const double *v, double x, double f,
                            cr_wlist *list)
{
    if (plan->moments) {
        /* West's weighted update of the mean and the sum of squared deviations. */
        G[G_W] += f;
        double delta = x - G[G_MEAN];
        G[G_MEAN] += f / G[G_W] * delta;
        G[G_M2] += f * delta * (x - G[G_MEAN]);
    }
    double *extra = G + G_FIXED;
    for (int s = 0; plan->generic_extra && s < plan->nstats; s++) {
        const cr_stat *st = &plan->stats[s];
        if (st->kind == CR_STAT_FRAC) {
            *extra++ += x >= st->arg ? f : 0.0;
        } else if (st->kind == CR_STAT_WEIGHTED_MEAN) {
            double w = v[plan->weight_src[s]];
            if (!isnan(w)) {
                extra[0] += f * w * x;
                extra[1] += f * w;
            }
            extra += 2;
        }
    }
    return !plan->generic_lists || wlist_push(list, x, f);
}

int cr_zacc_add(const cr_zplan *plan, double *acc, const double *v, double f, double ca,
                cr_wlist *lists)
{
    domain_acc *D = (domain_acc *)acc;
    int all = 1, any = 0;
    for (int k = 0; k < plan->nsources; k++) {
        all &= !isnan(v[k]);
        any |= !isnan(v[k]);
    }
    D->all_valid += all ? ca : 0.0;
    D->any_valid += any ? ca : 0.0;
    if (plan->domain && !add_domain(plan, acc, v, f, ca, lists))
        return 0;
    int list0 = plan->src_score >= 0;
    for (int g = 0; g < plan->ngeneric; g++) {
        double x = v[plan->src_generic + g];
        if (isnan(x))
            continue;
        double *G = acc + plan->off_generic + (size_t)g * plan->generic_stride;
        G[G_COUNT] += f;
        G[G_SUM] += f * x;
        G[G_MIN] = x < G[G_MIN] ? x : G[G_MIN];
        G[G_MAX] = x > G[G_MAX] ? x : G[G_MAX];
        if (!add_generic_rest(plan, G, v, x, f, &lists[list0 + g]))
            return 0;
    }
    return 1;
}

/* The cells [*first, *end) of a row between its first and last covered cell (both 0
 * when none is): the cells beyond add nothing, so skipping them changes no sum. */
static void covered_span(const double *cov, int n, int *first, int *end)
{
    int a = 0, b = n;
    while (a < b && cov[a] == 0.0)
        a++;
    while (b > a && cov[b - 1] == 0.0)
        b--;
    *first = a;
    *end = b;
}

/* The generic rasters' count, sum, minimum and maximum are summed up to 4 rasters at a
 * time in one pass over the cells: each raster's sums still take the cells in row order
 * (the same additions in the same order as one raster at a time, so the same bits), but
 * the rasters' additions do not wait for each other. */

/* Adds cells [c0, c1) of a row to the count, sum, min and max of the lanes (1 to 4)
 * rasters x[0 .. lanes-1], whose statistics are G[0 .. lanes-1]. A cell without coverage
 * or value adds nothing: its terms are +0.0, which leave a sum that starts at +0.0
 * unchanged to the bit (such a sum is never -0.0), and NaN is never below a minimum nor
 * above a maximum. Inlined with lanes a constant, so that each count gets its own loop. */
static inline __attribute__((always_inline)) void
add_lanes(double *const *G, const float *const *x, int lanes, const double *cov, int c0, int c1)
{
    double count[4], sum[4], lo[4], hi[4];
    for (int k = 0; k < lanes; k++)
        count[k] = G[k][G_COUNT], sum[k] = G[k][G_SUM], lo[k] = G[k][G_MIN], hi[k] = G[k][G_MAX];
    for (int c = c0; c < c1; c++) {
        double f = cov[c];
        if (f == 0.0)
            continue;
        for (int k = 0; k < lanes; k++) {
            double v = x[k][c];
            int valid = !isnan(v);
            count[k] += valid ? f : 0.0;
            sum[k] += valid ? f * v : 0.0;
            lo[k] = v < lo[k] ? v : lo[k];
            hi[k] = v > hi[k] ? v : hi[k];
        }
    }
    for (int k = 0; k < lanes; k++)
        G[k][G_COUNT] = count[k], G[k][G_SUM] = sum[k], G[k][G_MIN] = lo[k], G[k][G_MAX] = hi[k];
}

/* add_lanes() over the plan's generic rasters: four at a time, then two, then one. */
static void add_generic_span(const cr_zplan *plan, double *acc, const float *const *values,
                             const double *cov, int c0, int c1)
{
    for (int g = 0; g < plan->ngeneric;) {
        int left = plan->ngeneric - g, lanes = left >= 4 ? 4 : left >= 2 ? 2 : 1;
        double *G[4];
        for (int k = 0; k < lanes; k++)
            G[k] = acc + plan->off_generic + (size_t)(g + k) * plan->generic_stride;
        const float *const *x = values + plan->src_generic + g;
        if (lanes == 4)
            add_lanes(G, x, 4, cov, c0, c1);
        else if (lanes == 2)
            add_lanes(G, x, 2, cov, c0, c1);
        else
            add_lanes(G, x, 1, cov, c0, c1);
        g += lanes;
    }
}

int cr_zacc_add_row(const cr_zplan *plan, double *acc, const float *const *values,
                    const double *cov, int n, double cell_area, cr_wlist *lists)
{
    domain_acc *D = (domain_acc *)acc;
    int ns = plan->nsources, list0 = plan->src_score >= 0;
    int c0, c1;
    covered_span(cov, n, &c0, &c1);
    /* How many sources have a value in each cell, a source at a time (a loop the compiler
     * vectorises), then the areas with every value and with some, in cell order. */
    int valid[n > 0 ? n : 1];
    memset(valid + c0, 0, (size_t)(c1 - c0) * sizeof *valid);
    for (int k = 0; k < ns; k++) {
        const float *x = values[k];
        for (int c = c0; c < c1; c++)
            valid[c] += x[c] == x[c];
    }
    double all_valid = D->all_valid, any_valid = D->any_valid;
    for (int c = c0; c < c1; c++) {
        if (cov[c] == 0.0)
            continue;
        all_valid += valid[c] == ns ? cov[c] * cell_area : 0.0;
        any_valid += valid[c] > 0 ? cov[c] * cell_area : 0.0;
    }
    D->all_valid = all_valid, D->any_valid = any_valid;
    /* Count, sum, min and max of each generic raster: the tight loop most runs need. */
    add_generic_span(plan, acc, values, cov, c0, c1);
    if (!plan->domain && !plan->moments && !plan->generic_extra && !plan->generic_lists)
        return 1;
    double v[ns > 0 ? ns : 1];
    for (int c = c0; c < c1; c++) {
        double f = cov[c];
        if (f == 0.0)
            continue;
        for (int k = 0; k < ns; k++)
            v[k] = values[k][c];
        if (plan->domain && !add_domain(plan, acc, v, f, f * cell_area, lists))
            return 0;
        for (int g = 0; g < plan->ngeneric; g++) {
            double x = v[plan->src_generic + g];
            double *G = acc + plan->off_generic + (size_t)g * plan->generic_stride;
            if (!isnan(x) && !add_generic_rest(plan, G, v, x, f, &lists[list0 + g]))
                return 0;
        }
    }
    return 1;
}

void cr_zacc_merge(const cr_zplan *plan, double *dst, const double *src)
{
    for (size_t i = 0; i < plan->off_generic; i++)
        dst[i] += src[i];
    for (int g = 0; g < plan->ngeneric; g++) {
        double *A = dst + plan->off_generic + (size_t)g * plan->generic_stride;
        const double *B = src + plan->off_generic + (size_t)g * plan->generic_stride;
        A[G_COUNT] += B[G_COUNT];
        A[G_SUM] += B[G_SUM];
        A[G_MIN] = B[G_MIN] < A[G_MIN] ? B[G_MIN] : A[G_MIN];
        A[G_MAX] = B[G_MAX] > A[G_MAX] ? B[G_MAX] : A[G_MAX];
        double w = A[G_W] + B[G_W];
        if (B[G_W] > 0.0 && w > 0.0) {
            double delta = B[G_MEAN] - A[G_MEAN];
            A[G_MEAN] += delta * B[G_W] / w;
            A[G_M2] += B[G_M2] + delta * delta * A[G_W] * B[G_W] / w;
            A[G_W] = w;
        }
        for (size_t i = G_FIXED; i < plan->generic_stride; i++)
            A[i] += B[i];
    }
}

/* Columns are named and filled by one walk (emit_columns), so that the order of the
 * names and of the values cannot drift apart. */
typedef struct sink {
    cr_column *cols;  /* naming: NULL while counting */
    double *values;   /* filling: values[c * nzones + z] */
    int64_t nzones, z;
    int c;
    cr_zplan *plan;   /* naming only: records the score columns */
} sink;

static void put(sink *s, const char *name, const char *suffix, int integer, double v)
{
    if (s->values)
        s->values[(int64_t)s->c * s->nzones + s->z] = v;
    else if (s->cols) {
        snprintf(s->cols[s->c].name, sizeof s->cols[s->c].name, "%s%s", name, suffix);
        s->cols[s->c].integer = integer;
    }
    s->c++;
}

/* num / den, NaN when den is not above 0. */
static double ratio(double num, double den)
{
    return den > 0.0 ? num / den : NAN;
}

/* Sum when some cell had the inputs (valid > 0), else NaN. */
static double total(double sum, double valid)
{
    return valid > 0.0 ? sum : NAN;
}

/* The weighted quantile q of a list, NaN when empty. */
static double list_quantile(cr_wlist *l, double q)
{
    return l && l->n ? cr_weighted_quantile(l->x, l->w, l->n, q) : NAN;
}

static void emit_generic(const cr_zplan *plan, const double *acc, cr_wlist *lists, int empty,
                         sink *s)
{
    int list0 = plan->src_score >= 0;
    for (int g = 0; g < plan->ngeneric; g++) {
        const double *G = acc ? acc + plan->off_generic + (size_t)g * plan->generic_stride : NULL;
        double count = empty ? NAN : G ? G[G_COUNT] : 0.0;
        int none = !(count > 0.0);
        cr_wlist *l = plan->generic_lists && lists ? &lists[list0 + g] : NULL;
        size_t extra = G_FIXED; /* the next frac or weighted_mean sums in G */
        char prefix[CR_STAT_NAME_MAX + 1];
        snprintf(prefix, sizeof prefix, "%s_", plan->generic[g].name);
        for (int k = 0; k < plan->nstats; k++) {
            const cr_stat *st = &plan->stats[k];
            double v = NAN;
            switch (st->kind) {
            case CR_STAT_COUNT: v = count; break;
            case CR_STAT_SUM: v = none ? NAN : G[G_SUM]; break;
            case CR_STAT_MEAN: v = none ? NAN : G[G_SUM] / count; break;
            case CR_STAT_MIN: v = none ? NAN : G[G_MIN]; break;
            case CR_STAT_MAX: v = none ? NAN : G[G_MAX]; break;
            case CR_STAT_STDEV: v = none ? NAN : sqrt(fmax(G[G_M2], 0.0) / G[G_W]); break;
            case CR_STAT_MEDIAN: v = none ? NAN : list_quantile(l, 0.5); break;
            case CR_STAT_QUANTILE: v = none ? NAN : list_quantile(l, st->arg); break;
            case CR_STAT_MAJORITY:
                if (!none && l && l->n) {
                    list_quantile(l, 0.5); /* sorts the list */
                    v = cr_weighted_majority(l->x, l->w, l->n);
                }
                break;
            case CR_STAT_FRAC:
                v = none ? NAN : G[extra] / count;
                extra += 1;
                break;
            case CR_STAT_WEIGHTED_MEAN:
                v = none ? NAN : ratio(G[extra], G[extra + 1]);
                extra += 2;
                break;
            }
            put(s, prefix, st->suffix, 0, v);
        }
    }
}

/* The columns of SCORING.md's neighbourhood metrics for the inputs given, then the
 * generic ones. acc NULL: no covered cell; empty: no geometry. */
static void emit_columns(const cr_zplan *plan, const double *acc, cr_wlist *lists,
                         double area_m2, int empty, sink *s)
{
    static const double zero[D_SIZE + CR_ZONAL_MAX_SCENARIOS * S_SIZE];
    const domain_acc *D = (const domain_acc *)(acc ? acc : zero);
    const scen_acc *SC = (const scen_acc *)((acc ? acc : zero) + plan->off_scen);
    double area = empty ? NAN : area_m2, km2 = area / 1e6;
    int a = plan->src_arrivals >= 0, v = plan->src_informal >= 0, b = plan->src_water >= 0;
    put(s, "area_km2", "", 0, km2);
    /* The cells' areas sum to the polygon's up to rounding: a full zone reads 1. */
    double coverage = ratio(D->all_valid, area);
    if (s->plan)
        s->plan->col_coverage = s->c;
    put(s, "data_coverage", "", 0, empty ? NAN : coverage > 1.0 - 1e-9 ? 1.0 : coverage);
    if (plan->nscen > 0) {
        /* The same over the zone's land: its sea cells leave the area (null when all sea). */
        double land = area - D->sea;
        double on_land = land > 1e-9 * area ? D->all_valid / land : NAN;
        if (s->plan)
            s->plan->col_coverage = s->c;
        put(s, "land_data_coverage", "", 0, empty ? NAN : on_land > 1.0 - 1e-9 ? 1.0 : on_land);
    }
    double arrivals = total(D->a_sum, D->a_valid);
    if (a) {
        put(s, "arrivals_total", "", 0, arrivals);
        put(s, "arrivals_per_km2", "", 0, ratio(arrivals, km2));
    }
    for (int j = 0; j < plan->nscen; j++)
        put(s, "flood_area_share", plan->scen_suffix[j], 0,
            SC[j].d_valid > 0.0 ? SC[j].flood_area / area : NAN);
    for (int j = 0; a && j < plan->nscen; j++)
        put(s, "arrivals_flooded", plan->scen_suffix[j], 0, total(SC[j].ad_flood, SC[j].ad_valid));
    for (int j = 0; a && j < plan->nscen; j++)
        put(s, "arrivals_flooded_share", plan->scen_suffix[j], 0,
            SC[j].ad_valid > 0.0 ? ratio(SC[j].ad_flood, arrivals) : NAN);
    if (v)
        put(s, "informal_area_share", "", 0, D->v_valid > 0.0 ? D->v_area / area : NAN);
    for (int j = 0; v && j < plan->nscen; j++)
        put(s, "informal_flooded_share", plan->scen_suffix[j], 0, ratio(SC[j].vd_flood, SC[j].vd_v));
    if (v && a)
        put(s, "arrivals_informal", "", 0, total(D->av, D->av_valid));
    if (b)
        put(s, "water_stress_mean", "", 0, ratio(D->b_area, D->b_valid));
    if (b && a) {
        put(s, "water_stress_arrivals", "", 0, ratio(D->ab_ab, D->ab_a));
        put(s, "arrivals_high_water_stress", "", 0, total(D->ab_high, D->ab_valid));
    }
    for (int j = 0; a && v && b && j < plan->nscen; j++)
        put(s, "arrivals_compound", plan->scen_suffix[j], 0, total(SC[j].compound, SC[j].c_valid));
    if (a && (plan->src_uplift >= 0 || (plan->src_population >= 0 && b)))
        put(s, "water_uplift_mean", "", 0, ratio(D->u_au, D->u_a));
    if (plan->src_score >= 0) {
        if (s->plan)
            s->plan->col_score_mean = s->c;
        put(s, "score_mean", "", 0, ratio(D->s_area, D->s_valid));
        put(s, "score_p90", "", 0, lists ? list_quantile(&lists[0], 0.9) : NAN);
        if (a)
            put(s, "score_arrivals", "", 0, ratio(D->as_as, D->as_a));
        if (s->plan)
            s->plan->col_score_class = s->c;
        put(s, "score_class", "", 1, NAN);
        if (s->plan)
            s->plan->col_score_rank = s->c;
        put(s, "score_rank", "", 1, NAN);
    }
    emit_generic(plan, acc, lists, empty, s);
}

int cr_zplan_columns(cr_zplan *plan, cr_column **out, int *count)
{
    plan->col_score_mean = plan->col_score_class = plan->col_score_rank = plan->col_coverage = -1;
    sink counter = {0};
    emit_columns(plan, NULL, NULL, 0.0, 1, &counter);
    cr_column *cols = calloc((size_t)(counter.c ? counter.c : 1), sizeof *cols);
    if (!cols)
        return 0;
    sink namer = {cols, NULL, 0, 0, 0, plan};
    emit_columns(plan, NULL, NULL, 0.0, 1, &namer);
    *out = cols;
    *count = namer.c;
    return 1;
}

int cr_zacc_finish(const cr_zplan *plan, const double *acc, cr_wlist *lists, double area_m2,
                   int empty, double *values, int64_t nzones, int64_t z)
{
    sink filler = {NULL, values, nzones, z, 0, NULL};
    emit_columns(plan, acc, lists, area_m2, empty, &filler);
    return acc && ((const domain_acc *)acc)->any_valid > 0.0;
}
