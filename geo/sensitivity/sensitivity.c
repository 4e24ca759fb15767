/* sensitivity.c: `cityrisk sensitivity`: the layers read once onto the analysis grid as
 * `cityrisk score` reads them, the zones' covered cells kept in memory (model.c), the
 * model run over a Saltelli design on the context's threads, and the outputs: the zones
 * with their nominal score and rank, rank interval, p_top and Sobol' indices; the
 * city-wide indices; every run; the charts.
 *
 * Steps:
 *   1. options, factors and every output checked before any work;
 *   2. the grid (score's rule), the inputs opened, the zones loaded (zonal's loader);
 *   3. the memory estimate against the budget;
 *   4. a_ref at the nominal options: the 99th percentile of the arrivals > 0 over the
 *      whole grid, as score computes it (unless --arrivals-ref);
 *   5. the tiles that meet a zone read once, each zone's covered cells kept;
 *   6. the nominal run, then the design's runs in parallel, each run's zone scores and
 *      ranks in its own row, so results do not depend on the thread count;
 *   7. quantiles and indices per zone; city-wide indices with bootstrap; the outputs. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cpl_string.h>
#include <json-c/json.h>
#include <ogr_api.h>

#include "cityrisk/json.h"
#include "cityrisk/sensitivity.h"
#include "cityrisk/zonal.h"
#include "core/budget.h"
#include "core/inputs.h"
#include "core/internal.h"
#include "core/output.h"
#include "core/pool.h"
#include "core/radix.h"
#include "core/zones.h"
#include "internal.h"

void cr_sensitivity_opts_init(cr_sensitivity_opts *o)
{
    memset(o, 0, sizeof *o);
    cr_score_opts_init(&o->model);
    o->min_coverage = CR_ZONAL_MIN_COVERAGE;
    o->samples = 256;
    o->seed = 1;
    o->bootstrap = 200;
    o->top = 10;
}

/* Everything a run holds. */
typedef struct job {
    cr_ctx *ctx;
    const cr_sensitivity_opts *o;
    cr_sensitivity_summary *s;
    cr_zonal_opts zo; /* the zones, as zonal reads and writes them */
    const char *path[CR_INPUTS];
    cr_normalise_opts norm;
    cr_grid *grid;
    const char *grid_source;
    int nbands;                          /* of the sea raster */
    char (*band_name)[64];               /* SCENARIO of each band ("" when none) */
    double *band_level;                  /* its WATER_LEVEL_M (or SEA_LEVEL_RISE_M), or NaN */
    int sea_bands[CR_FACTOR_MAX_VALUES]; /* the bands kept (1-based) */
    int nsea, nominal_sea;               /* how many; the nominal one's index among them */
    cr_layer *layer[CR_INPUTS];
    cr_layer *sea_layer[CR_FACTOR_MAX_VALUES];
    const char *resampling[CR_INPUTS];
    cr_zones zones;
    cr_sens_model m;
    cr_factor *f; /* the resolved factors (s->factor) */
    int d;
    cr_sens_point nominal;
    double w_nominal[CR_INDICATORS];
    /* results */
    int64_t runs;
    double *design;                   /* runs x d */
    double *y, *rank, *uplift;        /* runs x zones */
    double *shift, *changed;          /* per run */
    double *score0, *rank0, *uplift0; /* nominal, per zone */
    unsigned char *eligible, *top0;
    cr_sens_ranked **order; /* per worker */
    int workers;
} job;

/* ------------------------------------------------------------------------------------ */
/* Factors */

/* The sea raster's bands and their SCENARIO names. */
static cr_status read_sea_bands(job *j)
{
    GDALDatasetH ds;
    cr_status st = cr_open_raster(j->ctx, j->path[CR_INPUT_SEA], &ds);
    if (st != CR_OK)
        return st;
    if ((st = cr_check_sea_depths(j->ctx, j->path[CR_INPUT_SEA], ds)) != CR_OK) {
        GDALClose(ds);
        return st;
    }
    j->nbands = GDALGetRasterCount(ds);
    j->band_name = calloc((size_t)(j->nbands ? j->nbands : 1), sizeof *j->band_name);
    j->band_level = calloc((size_t)(j->nbands ? j->nbands : 1), sizeof *j->band_level);
    if (!j->band_name || !j->band_level) {
        GDALClose(ds);
        return cr_ctx_fail(j->ctx, CR_E_IO, "out of memory");
    }
    for (int b = 1; b <= j->nbands; b++) {
        GDALRasterBandH band = GDALGetRasterBand(ds, b);
        const char *name = GDALGetMetadataItem(band, "SCENARIO", NULL);
        snprintf(j->band_name[b - 1], sizeof j->band_name[0], "%s", name ? name : "");
        const char *level = GDALGetMetadataItem(band, "WATER_LEVEL_M", NULL);
        if (!level)
            level = GDALGetMetadataItem(band, "SEA_LEVEL_RISE_M", NULL);
        char *end = NULL;
        j->band_level[b - 1] = level ? strtod(level, &end) : NAN;
        if (level && (end == level || *end))
            j->band_level[b - 1] = NAN;
    }
    GDALClose(ds);
    return CR_OK;
}

static int band_of(const job *j, const char *name)
{
    for (int b = 1; b <= j->nbands; b++)
        if (strcmp(j->band_name[b - 1], name) == 0)
            return b;
    return 0;
}

/* The band of sea_level's values at the median water level (the median of p17, median,
 * p83 in whatever order they are listed): the values ordered by each band's WATER_LEVEL_M
 * (SEA_LEVEL_RISE_M when absent; a band with neither after those with one, in list
 * order), the lower middle one for an even count. */
static int median_band(const job *j)
{
    int order[CR_FACTOR_MAX_VALUES];
    for (int i = 0; i < j->nsea; i++) {
        /* insertion sort: stable, so equal or unknown levels keep the list's order */
        int b = j->sea_bands[i], k = i;
        double level = j->band_level[b - 1];
        while (k > 0) {
            double prev = j->band_level[order[k - 1] - 1];
            if (isnan(level) || (!isnan(prev) && prev <= level))
                break;
            order[k] = order[k - 1];
            k--;
        }
        order[k] = b;
    }
    return order[(j->nsea - 1) / 2];
}

/* The nominal band: --sea-band, --scenario's, the only one; with several bands and
 * neither, the median level among sea_level's values (median_band()). */
static cr_status nominal_band(job *j, const cr_factor *sea_level, int *band)
{
    const cr_score_opts *o = &j->o->model;
    *band = o->sea_band;
    if (o->scenario && !(*band = band_of(j, o->scenario)))
        return cr_ctx_fail(j->ctx, CR_E_USAGE, "sea raster '%s' has no band for scenario '%s'",
                           j->path[CR_INPUT_SEA], o->scenario);
    if (*band > j->nbands)
        return cr_ctx_fail(j->ctx, CR_E_USAGE, "sea raster '%s' has no band %d (it has %d)",
                           j->path[CR_INPUT_SEA], *band, j->nbands);
    if (!*band && j->nbands == 1)
        *band = 1;
    if (!*band && sea_level)
        *band = median_band(j);
    if (!*band)
        return cr_ctx_fail(
            j->ctx, CR_E_USAGE,
            "sea raster '%s' has %d bands: choose the nominal one with --scenario NAME",
            j->path[CR_INPUT_SEA], j->nbands);
    return CR_OK;
}

/* The length of a scenario name without a -pNN percentile suffix ("ssp245-2100-p17" ->
 * "ssp245-2100"). */
static size_t stem_length(const char *name)
{
    size_t n = strlen(name);
    const char *dash = strrchr(name, '-');
    if (!dash || dash[1] != 'p' || !dash[2])
        return n;
    for (const char *c = dash + 2; *c; c++)
        if (*c < '0' || *c > '9')
            return n;
    return (size_t)(dash - name);
}

/* The default sea_level factor takes every band: meant for one scenario's likely range
 * (one stem, -p17/-p83 around it), it otherwise mixes years or stress tests, which the
 * user is told (the run goes on: such a mix may be wanted). */
static void warn_mixed_scenarios(const job *j)
{
    size_t stem = stem_length(j->band_name[0]);
    int mixed = 0;
    for (int b = 1; b < j->nbands && !mixed; b++)
        mixed = stem_length(j->band_name[b]) != stem ||
                strncmp(j->band_name[b], j->band_name[0], stem) != 0;
    if (!mixed)
        return;
    char list[512] = "";
    size_t used = 0;
    for (int b = 0; b < j->nbands && used < sizeof list; b++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", b ? ", " : "",
                                 j->band_name[b]);
    cr_ctx_log(j->ctx, CR_LOG_WARNING,
               "factor sea_level: the bands of '%s' (%s) are not one scenario's likely range: "
               "the factor mixes scenarios; name the bands (--factor sea_level=A,B,C) or give "
               "a likely-range raster (cityrisk inundation --scenario S-p17,S,S-p83)",
               j->path[CR_INPUT_SEA], list);
}

/* Fills the default factors, checks them against the inputs and resolves their ranges
 * and values (a_ref's needs the nominal a_ref: done later, resolve_aref()). */
static cr_status resolve_factors(job *j)
{
    const cr_sensitivity_opts *o = j->o;
    cr_sensitivity_summary *s = j->s;
    cr_ctx *ctx = j->ctx;
    s->factors = o->nfactors;
    memcpy(s->factor, o->factors, sizeof s->factor);
    if (!s->factors) {
        cr_status st = CR_OK;
        const char *defaults[] = {"weights", "method=geometric,arithmetic", "arrivals_ref"};
        for (int i = 0; i < 3 && st == CR_OK; i++)
            st = cr_factor_parse(ctx, defaults[i], s->factor, &s->factors);
        if (st == CR_OK && j->nbands > 1 && !o->model.sea_band)
            st = cr_factor_parse(ctx, "sea_level", s->factor, &s->factors);
        if (st != CR_OK)
            return st;
        /* The nominal method first, then geometric and arithmetic: the nominal run is
         * one of the factor's values whatever --method says. */
        for (int i = 0; i < s->factors; i++) {
            cr_factor *f = &s->factor[i];
            const char *nominal = cr_score_method_name(o->model.method);
            if (f->kind != CR_FACTOR_METHOD || !nominal)
                continue;
            int k = 0;
            while (k < f->nvalues && strcmp(f->values[k], nominal) != 0)
                k++;
            if (k == f->nvalues && f->nvalues < CR_FACTOR_MAX_VALUES)
                f->nvalues++;
            for (; k > 0; k--)
                memcpy(f->values[k], f->values[k - 1], sizeof f->values[0]);
            snprintf(f->values[0], sizeof f->values[0], "%s", nominal);
        }
    }
    /* A weight of 0 stays 0: `weights` (given or by default) leaves such an indicator out
     * unless a range is given; a lone weight.X without one is refused below. */
    int kept = 0;
    for (int i = 0; i < s->factors; i++) {
        const cr_factor *f = &s->factor[i];
        if (!(f->kind == CR_FACTOR_WEIGHT && f->of_set && !f->has_range &&
              !(j->w_nominal[f->indicator] > 0)))
            s->factor[kept++] = *f;
    }
    s->factors = kept;
    if (!s->factors)
        return cr_ctx_fail(ctx, CR_E_USAGE, "no factor left to vary: name one (--factor)");
    j->f = s->factor;
    j->d = s->factors;
    const cr_factor *sea_level = NULL;
    for (int i = 0; i < j->d; i++) {
        cr_factor *f = &j->f[i];
        if (f->kind == CR_FACTOR_METHOD && !f->nvalues) {
            for (int k = 0; cr_score_method_names[k]; k++)
                snprintf(f->values[f->nvalues++], sizeof f->values[0], "%s",
                         cr_score_method_names[k]);
        } else if (f->kind == CR_FACTOR_WEIGHT && !f->has_range) {
            double w = j->w_nominal[f->indicator];
            f->min = 0.5 * w, f->max = 1.5 * w;
            if (!(w > 0))
                return cr_ctx_fail(ctx, CR_E_USAGE,
                                   "factor weight.%s: its nominal weight is 0; give a range "
                                   "(--factor weight.%s=MIN:MAX)",
                                   cr_indicator_name((cr_indicator)f->indicator),
                                   cr_indicator_name((cr_indicator)f->indicator));
        } else if (f->kind == CR_FACTOR_DEMAND_SHARE && !j->path[CR_INPUT_POPULATION]) {
            return cr_ctx_fail(ctx, CR_E_USAGE,
                               "factor demand_share: it changes no output without --population "
                               "(the share enters only the water uplift); give --population "
                               "or leave the factor out");
        } else if (f->kind == CR_FACTOR_DEMAND_SHARE && !f->has_range) {
            double v = o->model.demand_share;
            f->min = fmax(0, 0.5 * v), f->max = fmin(1, 1.5 * v);
            if (!(f->min < f->max))
                return cr_ctx_fail(ctx, CR_E_USAGE,
                                   "factor demand_share: its nominal value %g leaves "
                                   "no range; give one (--factor demand_share=MIN:MAX)",
                                   v);
        } else if (f->kind == CR_FACTOR_SEA_LEVEL) {
            sea_level = f;
            if (!f->nvalues && j->nbands < 2)
                return cr_ctx_fail(ctx, CR_E_USAGE,
                                   "factor sea_level: sea raster '%s' has one band; give a raster "
                                   "of several scenarios (cityrisk inundation --scenario A,B,C) or "
                                   "leave the factor out",
                                   j->path[CR_INPUT_SEA]);
            if (!f->nvalues && j->nbands > CR_FACTOR_MAX_VALUES)
                return cr_ctx_fail(ctx, CR_E_USAGE,
                                   "factor sea_level: sea raster '%s' has %d bands; "
                                   "name at most %d (sea_level=A,B,...)",
                                   j->path[CR_INPUT_SEA], j->nbands, CR_FACTOR_MAX_VALUES);
            for (int b = 1; !f->nvalues && b <= j->nbands; b++) {
                if (!j->band_name[b - 1][0])
                    return cr_ctx_fail(ctx, CR_E_USAGE,
                                       "factor sea_level: band %d of '%s' has no "
                                       "SCENARIO name",
                                       b, j->path[CR_INPUT_SEA]);
            }
            if (!f->nvalues) {
                for (int b = 1; b <= j->nbands; b++)
                    snprintf(f->values[f->nvalues++], sizeof f->values[0], "%s",
                             j->band_name[b - 1]);
                warn_mixed_scenarios(j);
            }
            for (int v = 0; v < f->nvalues; v++) {
                int b = band_of(j, f->values[v]);
                if (!b)
                    return cr_ctx_fail(ctx, CR_E_USAGE,
                                       "factor sea_level: sea raster '%s' has no band "
                                       "for scenario '%s'",
                                       j->path[CR_INPUT_SEA], f->values[v]);
                j->sea_bands[v] = b;
            }
            j->nsea = f->nvalues;
        }
    }
    int band;
    cr_status st = nominal_band(j, sea_level, &band);
    if (st != CR_OK)
        return st;
    s->sea_band = band;
    snprintf(s->scenario, sizeof s->scenario, "%s", j->band_name[band - 1]);
    j->nominal_sea = -1;
    for (int i = 0; i < j->nsea; i++)
        if (j->sea_bands[i] == band)
            j->nominal_sea = i;
    if (j->nominal_sea < 0) {
        if (j->nsea >= CR_FACTOR_MAX_VALUES)
            return cr_ctx_fail(ctx, CR_E_USAGE, "factor sea_level: too many bands");
        j->sea_bands[j->nsea] = band;
        j->nominal_sea = j->nsea++;
    }
    return CR_OK;
}

static void resolve_aref(job *j)
{
    for (int i = 0; i < j->d; i++)
        if (j->f[i].kind == CR_FACTOR_ARRIVALS_REF && !j->f[i].has_range)
            j->f[i].min = 0.5 * j->norm.arrivals_ref, j->f[i].max = 1.5 * j->norm.arrivals_ref;
}

/* The point of design row u (d values in [0, 1)). */
static void point_of(const job *j, const double *u, cr_sens_point *p)
{
    *p = j->nominal;
    double w[CR_INDICATORS];
    memcpy(w, j->w_nominal, sizeof w);
    int weights = 0;
    for (int i = 0; i < j->d; i++) {
        const cr_factor *f = &j->f[i];
        double x = f->min + u[i] * (f->max - f->min);
        int pick = (int)floor(u[i] * f->nvalues);
        pick = pick < 0 ? 0 : pick >= f->nvalues ? f->nvalues - 1 : pick;
        switch (f->kind) {
        case CR_FACTOR_WEIGHT:
            w[f->indicator] = x;
            weights = 1;
            break;
        case CR_FACTOR_METHOD:
            cr_score_method_parse(NULL, f->values[pick], &p->method);
            break;
        case CR_FACTOR_ARRIVALS_REF:
            p->arrivals_ref = x;
            break;
        case CR_FACTOR_SEA_LEVEL:
            p->sea = pick;
            break;
        case CR_FACTOR_DEMAND_SHARE:
            p->share = x;
            break;
        }
    }
    if (weights) {
        /* Renormalised to sum 1 as score does (cr_weights_normalise); the ranges are
         * non-negative and the nominal weights sum above 0, so it cannot fail. */
        double sum = 0;
        for (int k = 0; k < CR_INDICATORS; k++)
            sum += w[k];
        for (int k = 0; k < CR_INDICATORS; k++)
            p->w[k] = sum > 0 ? w[k] / sum : j->w_nominal[k];
    }
}

json_object *cr_sens_factor_json(const cr_factor *f)
{
    char name[32];
    json_object *e = json_object_new_object();
    json_object_object_add(e, "name", json_object_new_string(cr_factor_name(f, name, sizeof name)));
    if (f->nvalues) {
        json_object *v = json_object_new_array();
        for (int k = 0; k < f->nvalues; k++)
            json_object_array_add(v, json_object_new_string(f->values[k]));
        json_object_object_add(e, "values", v);
    } else {
        json_object_object_add(e, "min", cr_json_number(f->min, 10));
        json_object_object_add(e, "max", cr_json_number(f->max, 10));
    }
    return e;
}

/* ------------------------------------------------------------------------------------ */
/* Inputs */

static cr_status open_inputs(job *j)
{
    cr_ctx *ctx = j->ctx;
    const cr_score_opts *o = &j->o->model;
    cr_status st = CR_OK;
    for (int k = 0; k < CR_INPUTS && st == CR_OK; k++) {
        if (!j->path[k] || k == CR_INPUT_SEA)
            continue;
        cr_layer_opts lo;
        cr_input_layer_opts(k, &j->norm, 1, &lo);
        if (k == CR_INPUT_WATER)
            lo.field = o->water_field, lo.vector_layer = o->water_layer;
        if (k == CR_INPUT_INFORMAL)
            lo.vector_layer = o->informal_layer;
        st = cr_input_probe_keep(ctx, k, &j->norm, j->path[k], j->grid, &lo, &j->resampling[k],
                                 &j->layer[k]);
    }
    for (int b = 0; b < j->nsea && st == CR_OK; b++) {
        cr_layer_opts lo;
        cr_input_layer_opts(CR_INPUT_SEA, &j->norm, j->sea_bands[b], &lo);
        st = cr_input_probe_keep(ctx, CR_INPUT_SEA, &j->norm, j->path[CR_INPUT_SEA], j->grid, &lo,
                                 &j->resampling[CR_INPUT_SEA], &j->sea_layer[b]);
    }
    return st;
}

/* a_ref: the 99th percentile of the cells with arrivals > 0 over the whole grid, as score
 * finds it (two counting passes of a radix quantile over the tiles in order). */
static cr_status find_arrivals_ref(job *j)
{
    cr_ctx *ctx = j->ctx;
    cr_radix_quantile radix;
    if (!cr_radix_quantile_init(&radix, 0.99))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    int64_t count = cr_grid_window_count(j->grid, CR_BLOCK_SIZE);
    float *a = malloc((size_t)CR_BLOCK_SIZE * CR_BLOCK_SIZE * sizeof *a);
    float(*range)[2] = malloc((size_t)(count ? count : 1) * sizeof *range);
    cr_status st = a && range ? CR_OK : cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    for (int pass = 1; pass <= 2 && st == CR_OK; pass++) {
        if (pass == 2 && cr_radix_quantile_next_pass(&radix) <= 0)
            break;
        for (int64_t t = 0; t < count && st == CR_OK; t++) {
            if (pass == 2 && !cr_radix_quantile_wants(&radix, range[t][0], range[t][1]))
                continue;
            cr_window win = cr_grid_window(j->grid, CR_BLOCK_SIZE, t);
            size_t n = (size_t)win.w * (size_t)win.h;
            st = cr_layer_read_f32(ctx, j->layer[CR_INPUT_ARRIVALS], &win, a, NULL);
            float lo = INFINITY, hi = -INFINITY;
            for (size_t i = 0; st == CR_OK && i < n; i++)
                if (a[i] > 0 && isfinite(a[i])) {
                    cr_radix_quantile_add(&radix, a[i]);
                    lo = fminf(lo, a[i]);
                    hi = fmaxf(hi, a[i]);
                }
            if (pass == 1)
                range[t][0] = lo, range[t][1] = hi;
        }
    }
    double ref = cr_radix_quantile_value(&radix);
    cr_radix_quantile_free(&radix);
    free(a);
    free(range);
    if (st == CR_OK && isnan(ref))
        cr_ctx_log(ctx, CR_LOG_WARNING, "arrivals raster '%s' has no cell with arrivals above 0",
                   j->path[CR_INPUT_ARRIVALS]);
    j->norm.arrivals_ref = isnan(ref) ? 1 : ref;
    return st;
}

/* The buffers of one tile. */
typedef struct tile {
    float *raw[CR_INPUTS], *ind[CR_INDICATORS];
    float *sea[CR_FACTOR_MAX_VALUES];
    double *cov;
    cr_coverage_scratch scratch;
} tile;

/* Reads input k (a sea band when sea >= 0) and checks it; normalised into ind when it
 * is an indicator. A value beyond its range's tolerance fails naming it and its cell. */
static cr_status read_checked(job *j, cr_layer *layer, int k, int band, const cr_window *win,
                              float *raw, float *ind)
{
    size_t n = (size_t)win->w * (size_t)win->h;
    cr_status st = cr_layer_read_f32(j->ctx, layer, win, raw, NULL);
    if (st != CR_OK)
        return st;
    int64_t clamped = 0;
    size_t bad =
        ind ? cr_indicator_normalise_block((cr_indicator)k, &j->norm, raw, n, ind, &clamped)
            : cr_input_check_block(k, &j->norm, raw, n, &clamped);
    if (bad < n)
        return cr_input_range_error(j->ctx, k, &j->norm, j->path[k], band, (double)raw[bad],
                                    j->grid, win->x + (int)(bad % (size_t)win->w),
                                    win->y + (int)(bad / (size_t)win->w));
    return CR_OK;
}

static cr_status read_tile(job *j, tile *t, const cr_window *win)
{
    cr_status st = CR_OK;
    for (int b = 0; b < j->nsea && st == CR_OK; b++)
        st = read_checked(j, j->sea_layer[b], CR_INPUT_SEA, j->sea_bands[b], win,
                          t->raw[CR_INPUT_SEA], t->sea[b]);
    for (int k = CR_INPUT_WATER; k < CR_INPUTS && st == CR_OK; k++) {
        if (!j->layer[k])
            continue;
        /* arrivals and population: checked and clamped in place (arrivals normalised per run) */
        int indicator = k == CR_INPUT_WATER || k == CR_INPUT_INFORMAL;
        st = read_checked(j, j->layer[k], k, 1, win, t->raw[k], indicator ? t->ind[k] : NULL);
    }
    return st;
}

/* The covered cells of the zones that meet tile win, into the model. */
static cr_status add_zones(job *j, tile *t, const cr_window *win)
{
    cr_sens_cell cell;
    float sea[CR_FACTOR_MAX_VALUES];
    cell.sea = sea;
    for (int64_t z = 0; z < j->zones.count; z++) {
        const cr_zone *zone = &j->zones.zone[z];
        cr_window sub = cr_window_intersect(zone->box, *win);
        if (zone->empty || sub.w == 0)
            continue;
        cr_status st = cr_coverage(j->ctx, &zone->rings, &sub, &t->scratch, t->cov);
        if (st != CR_OK)
            return st;
        for (int r = 0; r < sub.h; r++) {
            double area = j->zones.cell_area_m2[sub.y + r];
            for (int c = 0; c < sub.w; c++) {
                double f = t->cov[(size_t)r * (size_t)sub.w + (size_t)c];
                if (f == 0.0)
                    continue;
                size_t i =
                    (size_t)(sub.y - win->y + r) * (size_t)win->w + (size_t)(sub.x - win->x + c);
                cell.f = f;
                cell.ca = f * area;
                cell.water = t->ind[CR_IND_WATER][i];
                cell.informal = t->ind[CR_IND_INFORMAL][i];
                cell.arrivals = t->raw[CR_INPUT_ARRIVALS][i];
                cell.water_raw = t->raw[CR_INPUT_WATER][i];
                cell.population =
                    j->layer[CR_INPUT_POPULATION] ? t->raw[CR_INPUT_POPULATION][i] : NAN;
                for (int b = 0; b < j->nsea; b++)
                    sea[b] = t->sea[b][i];
                if (!cr_sens_model_add(&j->m, z, &cell))
                    return cr_ctx_fail(j->ctx, CR_E_IO, "out of memory for the zones' cells");
            }
        }
    }
    return CR_OK;
}

/* Reads every tile that meets a zone's box, once. */
static cr_status read_cells(job *j)
{
    cr_ctx *ctx = j->ctx;
    size_t cells = (size_t)CR_BLOCK_SIZE * CR_BLOCK_SIZE;
    tile t;
    memset(&t, 0, sizeof t);
    int ok = 1;
    for (int k = 0; k < CR_INPUTS; k++)
        ok &= (t.raw[k] = malloc(cells * sizeof(float))) != NULL;
    for (int k = 0; k < CR_INDICATORS; k++)
        ok &= (t.ind[k] = malloc(cells * sizeof(float))) != NULL;
    for (int b = 0; b < j->nsea; b++)
        ok &= (t.sea[b] = malloc(cells * sizeof(float))) != NULL;
    ok &= (t.cov = malloc(cells * sizeof(double))) != NULL;
    cr_status st = ok ? CR_OK : cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    int64_t count = cr_grid_window_count(j->grid, CR_BLOCK_SIZE);
    for (int64_t i = 0; i < count && st == CR_OK; i++) {
        cr_window win = cr_grid_window(j->grid, CR_BLOCK_SIZE, i);
        int meets = 0;
        for (int64_t z = 0; z < j->zones.count && !meets; z++)
            meets = !j->zones.zone[z].empty && cr_window_intersect(j->zones.zone[z].box, win).w > 0;
        if (!meets)
            continue;
        st = read_tile(j, &t, &win);
        if (st == CR_OK)
            st = add_zones(j, &t, &win);
        if (st == CR_OK && !cr_ctx_progress(ctx, 0.2 * (double)(i + 1) / (double)count, NULL))
            st = cr_ctx_fail(ctx, CR_E_CANCELLED, "sensitivity was cancelled");
    }
    for (int k = 0; k < CR_INPUTS; k++)
        free(t.raw[k]);
    for (int k = 0; k < CR_INDICATORS; k++)
        free(t.ind[k]);
    for (int b = 0; b < j->nsea; b++)
        free(t.sea[b]);
    free(t.cov);
    cr_coverage_scratch_free(&t.scratch);
    return st;
}

/* ------------------------------------------------------------------------------------ */
/* Memory */

/* The estimate: the cells of the zones' boxes (at most the covered ones), and per run the
 * zones' scores, ranks (and uplifts) and the design's row. */
static cr_status check_memory(job *j)
{
    cr_sensitivity_summary *s = j->s;
    double cells = 0;
    for (int64_t z = 0; z < j->zones.count; z++)
        cells += (double)j->zones.zone[z].box.w * (double)j->zones.zone[z].box.h;
    double per_run = (double)j->zones.count * 8 * (2 + (j->path[CR_INPUT_POPULATION] != NULL)) +
                     (double)j->d * 8 + 16;
    double bytes = cells * cr_sens_model_cell_bytes(j->nsea) + (double)j->runs * per_run +
                   (double)j->zones.count * 64 * (double)j->workers;
    s->memory_mb = bytes / (1024.0 * 1024.0);
    /* The context's budget less GDAL's block cache (cr_budget_available()), unless the
     * options name their own. */
    s->memory_limit_mb = j->o->max_memory_mb > 0 ? j->o->max_memory_mb
                                                 : (double)cr_budget_available(j->ctx) / (1024.0 * 1024.0);
    if (s->memory_mb > s->memory_limit_mb)
        return cr_ctx_fail(j->ctx, CR_E_USAGE,
                           "the analysis needs about %.0f MB (%.0f cells in the zones' boxes, %lld "
                           "runs x %lld zones), over the budget of %.0f MB%s; give a larger "
                           "--max-memory, fewer --samples or fewer zones",
                           s->memory_mb, cells, (long long)j->runs, (long long)j->zones.count,
                           s->memory_limit_mb,
                           j->o->max_memory_mb > 0 ? "" : " (--max-memory less GDAL's cache)");
    return CR_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Runs */

/* Runs per work item: enough to amortise the pool's hand-over, few enough to balance. */
#define RUNS_PER_ITEM 8

/* mean |rank - rank_nominal| over the zones ranked in both; the share of the nominal top
 * N not in this run's top N. */
static void city_outputs(const job *j, const double *rank, double *shift, double *changed)
{
    double sum = 0;
    int64_t n = 0, top = 0, lost = 0;
    for (int64_t z = 0; z < j->zones.count; z++) {
        if (!isnan(j->rank0[z]) && !isnan(rank[z])) {
            sum += fabs(rank[z] - j->rank0[z]);
            n++;
        }
        if (j->top0[z]) {
            top++;
            lost += !(rank[z] <= j->o->top);
        }
    }
    *shift = n ? sum / (double)n : NAN;
    *changed = top ? (double)lost / (double)top : NAN;
}

static cr_status work(cr_ctx *ctx, void *arg, int64_t index, int worker, int slot)
{
    (void)ctx, (void)slot;
    job *j = arg;
    int64_t nz = j->zones.count;
    for (int64_t r = index * RUNS_PER_ITEM; r < (index + 1) * RUNS_PER_ITEM && r < j->runs; r++) {
        cr_sens_point p;
        point_of(j, j->design + (size_t)r * (size_t)j->d, &p);
        double *y = j->y + (size_t)r * (size_t)nz, *rank = j->rank + (size_t)r * (size_t)nz;
        cr_sens_model_run(&j->m, &p, y, j->uplift ? j->uplift + (size_t)r * (size_t)nz : NULL);
        cr_sens_rank(y, j->eligible, nz, rank, j->order[worker]);
        city_outputs(j, rank, &j->shift[r], &j->changed[r]);
    }
    return CR_OK;
}

static cr_status emit(cr_ctx *ctx, void *arg, int64_t index, int slot)
{
    (void)slot;
    job *j = arg;
    int64_t items = (j->runs + RUNS_PER_ITEM - 1) / RUNS_PER_ITEM;
    if (!cr_ctx_progress(ctx, 0.2 + 0.7 * (double)(index + 1) / (double)items, NULL))
        return cr_ctx_fail(ctx, CR_E_CANCELLED, "sensitivity was cancelled");
    return CR_OK;
}

static cr_status run_model(job *j)
{
    cr_ctx *ctx = j->ctx;
    int64_t nz = j->zones.count;
    size_t cells = (size_t)j->runs * (size_t)(nz ? nz : 1);
    j->y = malloc(cells * sizeof *j->y);
    j->rank = malloc(cells * sizeof *j->rank);
    if (j->path[CR_INPUT_POPULATION])
        j->uplift = malloc(cells * sizeof *j->uplift);
    j->shift = malloc((size_t)j->runs * sizeof *j->shift);
    j->changed = malloc((size_t)j->runs * sizeof *j->changed);
    j->order = calloc((size_t)j->workers, sizeof *j->order);
    int ok = j->y && j->rank && (j->uplift || !j->path[CR_INPUT_POPULATION]) && j->shift &&
             j->changed && j->order;
    for (int w = 0; ok && w < j->workers; w++)
        ok &= (j->order[w] = malloc((size_t)(nz ? nz : 1) * sizeof **j->order)) != NULL;
    if (!ok)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory for %lld runs x %lld zones",
                           (long long)j->runs, (long long)nz);
    int64_t items = (j->runs + RUNS_PER_ITEM - 1) / RUNS_PER_ITEM;
    return cr_parallel_ordered(ctx, j->workers, 2 * j->workers, items, work, emit, j);
}

/* ------------------------------------------------------------------------------------ */
/* Per zone */

/* A column of the output. */
typedef struct columns {
    cr_column *col;
    double *values; /* [c * nzones + z] */
    int n, cap;
    int64_t nz;
} columns;

static double *column_add(columns *c, const char *name, int integer)
{
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 32;
        cr_column *col = realloc(c->col, (size_t)cap * sizeof *col);
        if (!col)
            return NULL;
        c->col = col;
        double *v = realloc(c->values, (size_t)cap * (size_t)(c->nz ? c->nz : 1) * sizeof *v);
        if (!v)
            return NULL;
        c->values = v;
        c->cap = cap;
    }
    memset(&c->col[c->n], 0, sizeof c->col[0]);
    snprintf(c->col[c->n].name, sizeof c->col[0].name, "%s", name);
    c->col[c->n].integer = integer;
    return c->values + (size_t)c->n++ * (size_t)(c->nz ? c->nz : 1);
}

/* The column name of a factor: its name with '.' as '_'. */
static void factor_column(const cr_factor *f, const char *prefix, char *buf, size_t size)
{
    char name[32];
    cr_factor_name(f, name, sizeof name);
    for (char *p = name; *p; p++)
        *p = *p == '.' ? '_' : *p;
    snprintf(buf, size, "%s%s", prefix, name);
}

static cr_status zone_columns(job *j, columns *c)
{
    cr_ctx *ctx = j->ctx;
    int64_t nz = j->zones.count, runs = j->runs;
    c->nz = nz;
    double *cov = column_add(c, "data_coverage", 0), *s0 = column_add(c, "score_nominal", 0),
           *r0 = column_add(c, "rank_nominal", 1);
    double *q[6];
    static const char *const qnames[6] = {"score_p05", "score_p50", "score_p95",
                                          "rank_p05",  "rank_p50",  "rank_p95"};
    for (int k = 0; k < 6; k++)
        q[k] = column_add(c, qnames[k], 0);
    double *ptop = column_add(c, "p_top", 0);
    double *s1[CR_SOBOL_MAX_FACTORS], *st[CR_SOBOL_MAX_FACTORS];
    for (int i = 0; i < j->d; i++) {
        char name[64];
        factor_column(&j->f[i], "s1_", name, sizeof name);
        s1[i] = column_add(c, name, 0);
        factor_column(&j->f[i], "st_", name, sizeof name);
        st[i] = column_add(c, name, 0);
    }
    double *up[3] = {NULL, NULL, NULL};
    if (j->uplift) {
        up[0] = column_add(c, "water_uplift_p05", 0);
        up[1] = column_add(c, "water_uplift_p50", 0);
        up[2] = column_add(c, "water_uplift_p95", 0);
    }
    if (!c->values || !ptop || (j->d && !st[j->d - 1]) || (j->uplift && !up[2]))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    /* column_add() may move the values: take the pointers again. */
    size_t stride = (size_t)(nz ? nz : 1);
    for (int k = 0; k < c->n; k++) {
        double *v = c->values + (size_t)k * stride;
        if (k == 0)
            cov = v;
        else if (k == 1)
            s0 = v;
        else if (k == 2)
            r0 = v;
        else if (k < 9)
            q[k - 3] = v;
        else if (k == 9)
            ptop = v;
        else if (k < 10 + 2 * j->d) {
            if ((k - 10) % 2 == 0)
                s1[(k - 10) / 2] = v;
            else
                st[(k - 10) / 2] = v;
        } else {
            up[k - 10 - 2 * j->d] = v;
        }
    }
    double *col = malloc((size_t)(runs ? runs : 1) * sizeof *col);
    if (!col)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    cr_sobol_indices_opts so;
    cr_sobol_indices_opts_init(&so);
    so.bootstrap = 0;
    cr_sobol_index idx[CR_SOBOL_MAX_FACTORS];
    cr_status status = CR_OK;
    for (int64_t z = 0; z < nz && status == CR_OK; z++) {
        cov[z] = j->m.coverage[z];
        s0[z] = j->score0[z];
        r0[z] = j->rank0[z];
        int has_nan = 0;
        for (int64_t r = 0; r < runs; r++) {
            col[r] = j->y[(size_t)r * (size_t)nz + (size_t)z];
            has_nan |= isnan(col[r]);
        }
        for (int i = 0; i < j->d; i++)
            s1[i][z] = st[i][z] = NAN;
        /* The indices need every run's output: a zone that some run cannot score has none. */
        if (!has_nan && runs > 0) {
            status = cr_sobol_indices(ctx, col, j->o->samples, j->d, &so, idx);
            for (int i = 0; status == CR_OK && i < j->d; i++)
                s1[i][z] = idx[i].first, st[i][z] = idx[i].total;
        }
        q[0][z] = cr_sens_quantile(col, runs, 0.05);
        q[1][z] = cr_sens_quantile(col, runs, 0.5);
        q[2][z] = cr_sens_quantile(col, runs, 0.95);
        int64_t in_top = 0, ranked = 0;
        for (int64_t r = 0; r < runs; r++) {
            col[r] = j->rank[(size_t)r * (size_t)nz + (size_t)z];
            in_top += col[r] <= j->o->top;
            ranked += !isnan(col[r]);
        }
        ptop[z] = ranked ? (double)in_top / (double)runs : NAN;
        q[3][z] = cr_sens_quantile(col, runs, 0.05);
        q[4][z] = cr_sens_quantile(col, runs, 0.5);
        q[5][z] = cr_sens_quantile(col, runs, 0.95);
        if (j->uplift) {
            for (int64_t r = 0; r < runs; r++)
                col[r] = j->uplift[(size_t)r * (size_t)nz + (size_t)z];
            up[0][z] = cr_sens_quantile(col, runs, 0.05);
            up[1][z] = cr_sens_quantile(col, runs, 0.5);
            up[2][z] = cr_sens_quantile(col, runs, 0.95);
        }
    }
    free(col);
    return status;
}

/* City-wide indices of mean_abs_rank_shift and top_n_changed, with bootstrap. A run
 * without a value (no zone ranked) leaves the indices NaN. */
static cr_status city_indices(job *j)
{
    cr_sobol_indices_opts so;
    cr_sobol_indices_opts_init(&so);
    so.bootstrap = j->o->bootstrap;
    so.seed = j->o->seed;
    const double *y[2] = {j->shift, j->changed};
    cr_sobol_index *out[2] = {j->s->shift, j->s->changed};
    for (int k = 0; k < 2; k++) {
        int has_nan = 0;
        for (int64_t r = 0; r < j->runs; r++)
            has_nan |= isnan(y[k][r]);
        for (int i = 0; i < j->d; i++)
            out[k][i] = (cr_sobol_index){NAN, NAN, NAN, NAN, NAN, NAN};
        if (has_nan || j->runs == 0)
            continue;
        cr_status st = cr_sobol_indices(j->ctx, y[k], j->o->samples, j->d, &so, out[k]);
        if (st != CR_OK)
            return st;
    }
    return CR_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Outputs */

static void put_number(FILE *f, double v)
{
    if (!isnan(v))
        fprintf(f, "%.10g", v);
}

/* Writes a CSV into a temporary file beside path (temp), which the caller publishes once
 * every output is written: a failure leaves no output of the run. */
typedef cr_status (*csv_fn)(job *j, FILE *f);

static cr_status write_csv(job *j, const char *path, csv_fn fill, cr_temp *temp)
{
    cr_status st = cr_temp_file(j->ctx, path, "part", temp);
    FILE *f = st == CR_OK ? fopen(temp->path, "w") : NULL;
    if (st == CR_OK && !f)
        st = cr_ctx_fail(j->ctx, CR_E_IO, "cannot write '%s': %s", path, strerror(errno));
    if (st == CR_OK)
        st = fill(j, f);
    if (f) {
        int failed = ferror(f);
        if (fclose(f) != 0 || failed)
            st = st != CR_OK ? st
                             : cr_ctx_fail(j->ctx, CR_E_IO, "cannot write '%s': %s", path,
                                           strerror(errno ? errno : EIO));
    }
    return st;
}

static cr_status fill_indices(job *j, FILE *f)
{
    fputs("output,factor,s1,s1_lo,s1_hi,st,st_lo,st_hi\n", f);
    const char *outputs[2] = {"mean_abs_rank_shift", "top_n_changed"};
    const cr_sobol_index *idx[2] = {j->s->shift, j->s->changed};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < j->d; i++) {
            char name[32];
            fprintf(f, "%s,%s,", outputs[k], cr_factor_name(&j->f[i], name, sizeof name));
            const cr_sobol_index *x = &idx[k][i];
            double v[6] = {x->first, x->first_lo, x->first_hi, x->total, x->total_lo, x->total_hi};
            for (int c = 0; c < 6; c++) {
                put_number(f, v[c]);
                fputc(c < 5 ? ',' : '\n', f);
            }
        }
    return CR_OK;
}

static int has_kind(const job *j, cr_factor_kind kind)
{
    for (int i = 0; i < j->d; i++)
        if (j->f[i].kind == kind)
            return 1;
    return 0;
}

static cr_status fill_runs(job *j, FILE *f)
{
    int weights = has_kind(j, CR_FACTOR_WEIGHT);
    int64_t nz = j->zones.count;
    fputs("run", f);
    if (weights)
        fputs(",weight_sea,weight_water,weight_informal,weight_arrivals", f);
    static const cr_factor_kind order[] = {CR_FACTOR_METHOD, CR_FACTOR_ARRIVALS_REF,
                                           CR_FACTOR_SEA_LEVEL, CR_FACTOR_DEMAND_SHARE};
    static const char *const names[] = {"method", "arrivals_ref", "sea_level", "demand_share"};
    for (int k = 0; k < 4; k++)
        if (has_kind(j, order[k]))
            fprintf(f, ",%s", names[k]);
    for (int64_t z = 0; z < nz; z++)
        fprintf(f, ",score_%lld", (long long)z + 1);
    fputc('\n', f);
    for (int64_t r = 0; r < j->runs; r++) {
        cr_sens_point p;
        point_of(j, j->design + (size_t)r * (size_t)j->d, &p);
        fprintf(f, "%lld", (long long)r);
        for (int k = 0; weights && k < CR_INDICATORS; k++)
            fprintf(f, ",%.17g", p.w[k]);
        if (has_kind(j, CR_FACTOR_METHOD))
            fprintf(f, ",%s", cr_score_method_name(p.method));
        if (has_kind(j, CR_FACTOR_ARRIVALS_REF))
            fprintf(f, ",%.17g", p.arrivals_ref);
        if (has_kind(j, CR_FACTOR_SEA_LEVEL))
            fprintf(f, ",%s", j->band_name[j->sea_bands[p.sea] - 1]);
        if (has_kind(j, CR_FACTOR_DEMAND_SHARE))
            fprintf(f, ",%.17g", p.share);
        for (int64_t z = 0; z < nz; z++) {
            double v = j->y[(size_t)r * (size_t)nz + (size_t)z];
            fputc(',', f);
            if (!isnan(v))
                fprintf(f, "%.17g", v);
        }
        fputc('\n', f);
    }
    return CR_OK;
}

/* The zones' labels for the rank chart: the --name-field, else the --id-field, else the
 * feature's number. */
static cr_status zone_labels(job *j, char ***labels)
{
    *labels = NULL;
    GDALDatasetH ds;
    cr_status st = cr_open_vector(j->ctx, j->zo.zones_path, &ds);
    if (st != CR_OK)
        return st;
    OGRLayerH layer;
    st = cr_zones_layer(j->ctx, ds, &j->zo, &layer);
    const char *field = j->zo.name_field ? j->zo.name_field : j->zo.id_field;
    int fi = st == CR_OK && field ? OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(layer), field) : -1;
    char **out = NULL;
    if (st == CR_OK) {
        OGR_L_ResetReading(layer);
        OGRFeatureH feat;
        int64_t z = 0;
        while ((feat = OGR_L_GetNextFeature(layer)) != NULL && z < j->zones.count) {
            char buf[64];
            if (fi >= 0 && OGR_F_IsFieldSetAndNotNull(feat, fi))
                out = CSLAddString(out, OGR_F_GetFieldAsString(feat, fi));
            else
                out = CSLAddString(out,
                                   (snprintf(buf, sizeof buf, "zone %lld", (long long)z + 1), buf));
            OGR_F_Destroy(feat);
            z++;
        }
    }
    GDALClose(ds);
    *labels = out;
    return st;
}

static int by_nominal_rank(const void *a, const void *b)
{
    const cr_rank_interval *x = a, *y = b;
    return (x->nominal > y->nominal) - (x->nominal < y->nominal);
}

/* The charts, drawn to temporaries (rank, indices) left unpublished. */
static cr_status write_charts(job *j, const columns *c, cr_temp *rank, cr_temp *indices)
{
    const cr_sensitivity_opts *o = j->o;
    cr_status st = CR_OK;
    if (o->rank_chart_path) {
        char **labels = NULL;
        st = zone_labels(j, &labels);
        int64_t nz = j->zones.count, n = 0;
        size_t stride = (size_t)(nz ? nz : 1);
        cr_rank_interval *zones = malloc(stride * sizeof *zones);
        if (st == CR_OK && !zones)
            st = cr_ctx_fail(j->ctx, CR_E_IO, "out of memory");
        for (int64_t z = 0; st == CR_OK && z < nz; z++) {
            if (isnan(j->rank0[z]))
                continue;
            const double *q = c->values + 6 * stride; /* rank_p05 .. rank_p95 */
            zones[n++] = (cr_rank_interval){labels && z < CSLCount(labels) ? labels[z] : "",
                                            (int)j->rank0[z],
                                            q[z],
                                            q[stride + z],
                                            q[2 * stride + z],
                                            j->rank0[z] <= o->top};
        }
        if (st == CR_OK) {
            qsort(zones, (size_t)n, sizeof *zones, by_nominal_rank);
            st = cr_chart_rank_intervals_temp(j->ctx, o->rank_chart_path, zones, (int)n,
                                              "Rank of each zone over the model runs (5-95 %)",
                                              rank);
        }
        free(zones);
        CSLDestroy(labels);
    }
    if (st == CR_OK && o->indices_chart_path) {
        char names[CR_SOBOL_MAX_FACTORS][32];
        const char *list[CR_SOBOL_MAX_FACTORS];
        for (int i = 0; i < j->d; i++)
            list[i] = cr_factor_name(&j->f[i], names[i], sizeof names[i]);
        st = cr_chart_indices_temp(j->ctx, o->indices_chart_path, list, j->s->shift, j->d,
                                   "Sobol' indices of the mean absolute rank shift", indices);
    }
    return st;
}

/* The provenance the zones output records (as zonal's CITYRISK_* items). */
static char **provenance(job *j)
{
    const cr_sensitivity_opts *o = j->o;
    json_object *inputs = json_object_new_array();
    json_object *zones = json_object_new_object();
    json_object_object_add(zones, "role", json_object_new_string("zones"));
    json_object_object_add(zones, "path", json_object_new_string(o->zones_path));
    json_object_array_add(inputs, zones);
    if (o->factors_path) {
        json_object *factors = json_object_new_object();
        json_object_object_add(factors, "role", json_object_new_string("factors"));
        json_object_object_add(factors, "path", json_object_new_string(o->factors_path));
        json_object_array_add(inputs, factors);
    }
    for (int k = 0; k < CR_INPUTS; k++) {
        if (!j->path[k])
            continue;
        json_object *in = json_object_new_object();
        json_object_object_add(in, "role", json_object_new_string(cr_input_name(k)));
        json_object_object_add(in, "path", json_object_new_string(j->path[k]));
        if (j->resampling[k])
            json_object_object_add(in, "resampling", json_object_new_string(j->resampling[k]));
        json_object_array_add(inputs, in);
    }
    json_object *par = json_object_new_object();
    json_object *w = json_object_new_object();
    for (int k = 0; k < CR_INDICATORS; k++)
        json_object_object_add(w, cr_input_name(k), cr_json_number(j->w_nominal[k], 10));
    json_object_object_add(par, "weights", w);
    json_object_object_add(par, "method",
                           json_object_new_string(cr_score_method_name(o->model.method)));
    json_object_object_add(par, "missing",
                           json_object_new_string(cr_missing_names[o->model.renormalise != 0]));
    json_object_object_add(par, "arrivals_ref", cr_json_number(j->norm.arrivals_ref, 10));
    json_object_object_add(par, "scenario", json_object_new_string(j->s->scenario));
    json_object_object_add(par, "demand_share", cr_json_number(o->model.demand_share, 6));
    json_object_object_add(par, "min_coverage", cr_json_number(o->min_coverage, 6));
    json_object *factors = json_object_new_array();
    for (int i = 0; i < j->d; i++)
        json_object_array_add(factors, cr_sens_factor_json(&j->f[i]));
    json_object_object_add(par, "factors", factors);
    json_object_object_add(par, "samples", json_object_new_int(o->samples));
    json_object_object_add(par, "runs", json_object_new_int64(j->runs));
    json_object_object_add(par, "seed", json_object_new_uint64(o->seed));
    json_object_object_add(par, "bootstrap", json_object_new_int(o->bootstrap));
    json_object_object_add(par, "top", json_object_new_int(o->top));
    if (o->id_field)
        json_object_object_add(par, "id_field", json_object_new_string(o->id_field));
    if (o->name_field)
        json_object_object_add(par, "name_field", json_object_new_string(o->name_field));
    return cr_provenance_items(
        j->ctx, inputs, par,
        "Saltelli design of N (d + 2) runs on a scrambled Sobol' sequence; per run every cell "
        "re-scored (docs/score.md) and rounded to Float32, score = sum ca S / sum ca (ca = covered "
        "fraction x cell area), ranks as zonal (1 = highest, ties share); score_pXX, rank_pXX: "
        "quantiles over the runs (linear); p_top = share of runs with rank <= top; s1_, st_: "
        "first-order (Saltelli 2010) and total (Jansen) Sobol' indices of the zone's score");
}

/* Every output, before any work. */
static cr_status check_outputs(job *j, const char *out_path)
{
    const cr_sensitivity_opts *o = j->o;
    cr_ctx *ctx = j->ctx;
    GDALDriverH drv;
    cr_status st = cr_zonal_driver(ctx, out_path, &j->zo, &drv);
    if (st != CR_OK)
        return st;
    if (cr_output_is_stream(out_path))
        return cr_ctx_fail(ctx, CR_E_USAGE, "-o: sensitivity writes a file, not a stream");
    cr_output_plan plan;
    cr_output_plan_init(&plan);
    st = cr_output_plan_add_vector(ctx, &plan, out_path, GDALGetDriverShortName(drv));
    if (st == CR_OK && o->indices_path)
        st = cr_output_plan_add(ctx, &plan, o->indices_path, "report");
    if (st == CR_OK && o->runs_path)
        st = cr_output_plan_add(ctx, &plan, o->runs_path, "report");
    const char *charts[2] = {o->rank_chart_path, o->indices_chart_path};
    for (int i = 0; i < 2 && st == CR_OK; i++) {
        if (!charts[i])
            continue;
        const char *dot = strrchr(charts[i], '.');
        if (!dot || (strcasecmp(dot, ".png") != 0 && strcasecmp(dot, ".svg") != 0))
            st = cr_ctx_fail(ctx, CR_E_USAGE, "%s '%s': a chart is .png or .svg",
                             i ? "--indices-chart" : "--rank-chart", charts[i]);
        else
            st = cr_output_plan_add(ctx, &plan, charts[i], "map");
    }
    const char *inputs[CR_INPUTS + 4] = {o->zones_path};
    int n = 1;
    if (o->factors_path)
        inputs[n++] = o->factors_path;
    for (int k = 0; k < CR_INPUTS; k++)
        if (j->path[k])
            inputs[n++] = j->path[k];
    if (o->model.grid.ref)
        inputs[n++] = o->model.grid.ref;
    inputs[n] = NULL;
    if (st == CR_OK)
        st = cr_output_plan_check(ctx, &plan, inputs, o->overwrite);
    cr_output_plan_release(&plan);
    return st;
}

static cr_status check_options(job *j)
{
    const cr_sensitivity_opts *o = j->o;
    const cr_score_opts *m = &o->model;
    cr_ctx *ctx = j->ctx;
    if (!o->zones_path)
        return cr_ctx_fail(ctx, CR_E_USAGE, "the zones are missing (--zones)");
    if (o->samples < 2)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--samples must be 2 or more, not %d", o->samples);
    if (o->bootstrap < 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--bootstrap must be 0 or more, not %d", o->bootstrap);
    if (o->top < 1)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--top must be 1 or more, not %d", o->top);
    if (!(o->min_coverage >= 0 && o->min_coverage <= 1))
        return cr_ctx_fail(ctx, CR_E_USAGE, "--min-coverage must be from 0 to 1, not %g",
                           o->min_coverage);
    if (!(o->max_memory_mb >= 0))
        return cr_ctx_fail(ctx, CR_E_USAGE, "--max-memory must be 0 or more MB");
    cr_status st = cr_score_model_check(ctx, m, j->path, j->w_nominal);
    for (int k = 0; k < CR_INPUTS && st == CR_OK; k++)
        if (j->path[k])
            st = cr_input_refuse_polygons(ctx, k, &m->normalise, j->path[k]);
    return st;
}

static void job_free(job *j)
{
    for (int k = 0; k < CR_INPUTS; k++)
        cr_layer_close(j->layer[k]);
    for (int b = 0; b < CR_FACTOR_MAX_VALUES; b++)
        cr_layer_close(j->sea_layer[b]);
    cr_zones_free(&j->zones);
    cr_sens_model_release(&j->m);
    cr_grid_free(j->grid);
    free(j->band_name);
    free(j->band_level);
    free(j->design);
    free(j->y);
    free(j->rank);
    free(j->uplift);
    free(j->shift);
    free(j->changed);
    free(j->score0);
    free(j->rank0);
    free(j->uplift0);
    free(j->eligible);
    free(j->top0);
    for (int w = 0; j->order && w < j->workers; w++)
        free(j->order[w]);
    free(j->order);
}

/* The nominal run: score_nominal, rank_nominal, and who is eligible for a rank. */
static cr_status nominal_run(job *j)
{
    int64_t nz = j->zones.count;
    size_t n = (size_t)(nz ? nz : 1);
    j->score0 = malloc(n * sizeof *j->score0);
    j->rank0 = malloc(n * sizeof *j->rank0);
    j->uplift0 = malloc(n * sizeof *j->uplift0);
    j->eligible = malloc(n);
    j->top0 = malloc(n);
    cr_sens_ranked *order = malloc(n * sizeof *order);
    if (!j->score0 || !j->rank0 || !j->uplift0 || !j->eligible || !j->top0 || !order) {
        free(order);
        return cr_ctx_fail(j->ctx, CR_E_IO, "out of memory");
    }
    cr_sens_model_run(&j->m, &j->nominal, j->score0, j->uplift0);
    for (int64_t z = 0; z < nz; z++) {
        double cov = j->m.coverage[z];
        j->eligible[z] = !isnan(cov) && cov >= j->o->min_coverage - 1e-9;
    }
    cr_sens_rank(j->score0, j->eligible, nz, j->rank0, order);
    free(order);
    j->s->ranked = 0;
    for (int64_t z = 0; z < nz; z++) {
        j->top0[z] = j->rank0[z] <= j->o->top;
        j->s->ranked += !isnan(j->rank0[z]);
    }
    return CR_OK;
}

static cr_status load(job *j)
{
    cr_ctx *ctx = j->ctx;
    const cr_score_opts *m = &j->o->model;
    /* The grid as score makes it. */
    const char *primary =
        m->grid.crs || cr_holds_polygons(m->informal_path) ? m->sea_path : m->informal_path;
    cr_status st = cr_grid_from_spec(ctx, &m->grid, primary, &j->grid);
    j->grid_source = cr_grid_spec_source(&m->grid, primary);
    if (st == CR_OK)
        st = read_sea_bands(j);
    if (st == CR_OK)
        st = resolve_factors(j);
    if (st == CR_OK)
        st = cr_zones_load(ctx, &j->zo, j->grid, j->grid_source, &j->zones);
    j->s->zones = j->zones.count;
    j->runs = st == CR_OK ? cr_saltelli_runs(j->o->samples, j->d) : 0;
    j->s->runs = j->runs;
    if (st == CR_OK)
        st = check_memory(j);
    cr_ctx_set_progress_range(ctx, 0, 0);
    if (st == CR_OK)
        st = open_inputs(j);
    cr_ctx_set_progress_range(ctx, 0, 1);
    if (st == CR_OK && m->arrivals_ref_auto)
        st = find_arrivals_ref(j);
    if (st != CR_OK)
        return st;
    j->s->arrivals_ref = j->norm.arrivals_ref;
    j->s->arrivals_ref_from_data = m->arrivals_ref_auto;
    resolve_aref(j);
    memcpy(j->nominal.w, j->w_nominal, sizeof j->nominal.w);
    j->nominal.method = m->method;
    j->nominal.arrivals_ref = j->norm.arrivals_ref;
    j->nominal.sea = j->nominal_sea;
    j->nominal.share = m->demand_share;
    if (!cr_sens_model_init(&j->m, j->zones.count, j->nsea, &j->norm, m->renormalise,
                            j->path[CR_INPUT_POPULATION] != NULL))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    st = read_cells(j);
    if (st != CR_OK)
        return st;
    double *area = malloc((size_t)(j->zones.count ? j->zones.count : 1) * sizeof *area);
    if (!area)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    for (int64_t z = 0; z < j->zones.count; z++)
        area[z] = j->zones.zone[z].empty ? NAN : j->zones.zone[z].area_m2;
    int ok = cr_sens_model_finish(&j->m, area, &j->nominal);
    free(area);
    j->s->cells = j->m.ncells;
    return ok ? CR_OK : cr_ctx_fail(ctx, CR_E_IO, "out of memory for the zones' cells");
}

cr_status cr_sensitivity(cr_ctx *ctx, const char *out_path, const cr_sensitivity_opts *o,
                         cr_sensitivity_summary *summary)
{
    cr_sensitivity_summary local;
    cr_sensitivity_summary *s = summary ? summary : &local;
    memset(s, 0, sizeof *s);
    job j;
    memset(&j, 0, sizeof j);
    j.ctx = ctx, j.o = o, j.s = s;
    j.workers = cr_ctx_threads(ctx) > 0 ? cr_ctx_threads(ctx) : 1;
    const cr_score_opts *m = &o->model;
    const char *paths[CR_INPUTS] = {m->sea_path, m->water_path, m->informal_path, m->arrivals_path,
                                    m->population_path};
    memcpy(j.path, paths, sizeof j.path);
    j.norm = m->normalise;
    cr_zonal_opts_init(&j.zo);
    j.zo.zones_path = o->zones_path, j.zo.layer = o->layer;
    j.zo.id_field = o->id_field, j.zo.name_field = o->name_field;
    j.zo.format = o->format, j.zo.overwrite = o->overwrite;
    j.zo.min_coverage = o->min_coverage;
    s->samples = o->samples, s->seed = o->seed, s->bootstrap = o->bootstrap, s->top = o->top;
    cr_status st = check_options(&j);
    if (st == CR_OK)
        st = check_outputs(&j, out_path);
    double t0 = cr_seconds();
    if (st == CR_OK)
        st = load(&j);
    double t1 = cr_seconds();
    s->seconds_read = t1 - t0;
    s->factors = j.d;
    if (st == CR_OK)
        st = nominal_run(&j);
    if (st == CR_OK)
        st = cr_saltelli_design(ctx, o->samples, j.d, o->seed, &j.design);
    if (st == CR_OK)
        st = run_model(&j);
    double t2 = cr_seconds();
    s->seconds_runs = t2 - t1;
    columns c = {0};
    if (st == CR_OK)
        st = zone_columns(&j, &c);
    if (st == CR_OK)
        st = city_indices(&j);
    double t3 = cr_seconds();
    s->seconds_indices = t3 - t2;
    /* The CSVs and the charts to temporaries, unpublished; then the zones, which publish
     * themselves; then the rest: a failure up to the zones leaves no output at all. */
    enum { INDICES, RUNS, RANK_CHART, INDICES_CHART, SIDECARS };
    cr_temp temp[SIDECARS] = {CR_TEMP_NONE, CR_TEMP_NONE, CR_TEMP_NONE, CR_TEMP_NONE};
    const char *dest[SIDECARS] = {o->indices_path, o->runs_path, o->rank_chart_path,
                                  o->indices_chart_path};
    if (st == CR_OK && o->indices_path)
        st = write_csv(&j, o->indices_path, fill_indices, &temp[INDICES]);
    if (st == CR_OK && o->runs_path)
        st = write_csv(&j, o->runs_path, fill_runs, &temp[RUNS]);
    if (st == CR_OK)
        st = write_charts(&j, &c, &temp[RANK_CHART], &temp[INDICES_CHART]);
    if (st == CR_OK) {
        char **md = provenance(&j);
        cr_zonal_summary zs;
        memset(&zs, 0, sizeof zs);
        st = cr_zonal_write(ctx, out_path, &j.zo, c.col, c.n, c.values, j.zones.count, md, &zs);
        snprintf(s->driver, sizeof s->driver, "%s", zs.driver);
        cr_zonal_summary_clear(&zs);
        CSLDestroy(md);
    }
    /* The renames, undone when one fails (as cr_writer_commit_all() does), so that no part
     * of the set but the zones is left; their existence was checked before any work. */
    int published = 0;
    for (int k = 0; k < SIDECARS && st == CR_OK; k++) {
        if (dest[k])
            st = cr_temp_publish(ctx, &temp[k], dest[k], o->overwrite);
        if (st == CR_OK)
            published = k + 1;
    }
    for (int k = 0; st != CR_OK && k < published; k++)
        if (dest[k] && unlink(dest[k]) != 0 && errno != ENOENT)
            cr_ctx_log(ctx, CR_LOG_WARNING, "cannot remove '%s' of a failed run: %s", dest[k],
                       strerror(errno));
    for (int k = 0; k < SIDECARS; k++)
        cr_temp_discard(&temp[k]);
    s->seconds_write = cr_seconds() - t3;
    struct rusage usage;
    s->peak_mb = getrusage(RUSAGE_SELF, &usage) == 0 ? (double)usage.ru_maxrss / 1024.0 : NAN;
    free(c.col);
    free(c.values);
    job_free(&j);
    return st;
}
