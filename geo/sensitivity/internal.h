/* internal.h: what the files of geo/sensitivity/ share (internal): the charts of the
 * sensitivity command, and the in-memory model (sensitivity.c). */
#ifndef CITYRISK_SENSITIVITY_INTERNAL_H
#define CITYRISK_SENSITIVITY_INTERNAL_H

#include <json-c/json.h>

#include "cityrisk/context.h"
#include "cityrisk/sensitivity.h"
#include "cityrisk/score.h"
#include "cityrisk/sobol.h"
#include "core/output.h"

/* One zone's rank interval, as the rank chart draws it. */
typedef struct cr_rank_interval {
    const char *label; /* the zone's name (or id), UTF-8 */
    int nominal;       /* its rank with the nominal options, 1 = most exposed */
    double p05, p50, p95; /* rank quantiles over the model runs */
    int top;           /* highlighted: among the top N at the nominal options */
} cr_rank_interval;

/* Writes the rank-interval chart of n zones (sorted by nominal rank by the caller) to
 * path, PNG or SVG by its extension (.png, .svg; CR_E_USAGE otherwise): one row per zone,
 * its p05-p95 bar and its median dot, the top ones highlighted, the nominal rank as a
 * tick; title on top, axis "rank (1 = most exposed)". Many zones (more than fit) are
 * drawn at a smaller row height, never cut. Written to a temporary file beside path and
 * renamed (no replace unless overwrite). */
cr_status cr_chart_rank_intervals(cr_ctx *ctx, const char *path, const cr_rank_interval *zones,
                                  int n, const char *title, int overwrite);

/* Writes the bar chart of d factors' indices to path (PNG or SVG): per factor, side by
 * side, S_i and S_Ti bars with their confidence intervals as whiskers when not NaN;
 * factors in the given order, names as labels, a legend. As cr_chart_rank_intervals(). */
cr_status cr_chart_indices(cr_ctx *ctx, const char *path, const char *const *factors,
                           const cr_sobol_index *indices, int d, const char *title, int overwrite);

/* As cr_chart_rank_intervals() and cr_chart_indices(), but the chart is left unpublished
 * in *temp (a temporary file beside path, cr_temp_file()): the caller publishes it with
 * the other outputs of its run (cr_temp_publish()), or discards it (cr_temp_discard()) so
 * that a run that fails leaves no chart. path is not checked here: the caller checks it
 * with its other outputs before any work, and cr_temp_publish() does not replace. */
cr_status cr_chart_rank_intervals_temp(cr_ctx *ctx, const char *path,
                                       const cr_rank_interval *zones, int n, const char *title,
                                       cr_temp *temp);
cr_status cr_chart_indices_temp(cr_ctx *ctx, const char *path, const char *const *factors,
                                const cr_sobol_index *indices, int d, const char *title,
                                cr_temp *temp);

/* ---- the in-memory model (model.c) ---- */

/* One covered cell of a zone as the model keeps it: its coverage and the values of its
 * layers as `cityrisk score` reads them (Float32, checked and clamped to their ranges). */
typedef struct cr_sens_cell {
    double f;          /* the exact fraction of the cell inside the zone */
    double ca;         /* f times the cell's area (m2): zonal's weight of score_mean */
    float water;       /* water indicator 0-1, NaN when missing */
    float informal;    /* informal indicator 0-1 */
    float arrivals;    /* arrivals per cell, clamped to their range (not normalised) */
    float water_raw;   /* the water layer's value (score, or ratio), for the uplift */
    float population;  /* residents per cell, for the uplift; NaN without */
    const float *sea;  /* the sea indicator of each sea band the model keeps */
} cr_sens_cell;

/* The zones' cells and what does not depend on a factor, normalised once. */
typedef struct cr_sens_model {
    int64_t nzones, ncells;
    int nsea;                   /* sea bands kept (1, or sea_level's values) */
    int64_t *start;             /* zone z holds cells start[z] .. start[z + 1] - 1 */
    double *f, *ca;
    float *ind[CR_INDICATORS];  /* nominal indicators; the sea's of band 0 */
    double *lg[CR_INDICATORS];  /* log1p(9 c) of them, for the geometric method */
    float *sea;                 /* [band * ncells + cell] */
    double *sea_lg;
    double *arrivals_t;         /* log1p(a) (a with a linear transform); NaN missing */
    float *water_raw, *arrivals, *population; /* for the uplift */
    cr_normalise_opts norm;     /* arrivals_ref the nominal one */
    int renormalise, uplift;    /* --missing renormalise; a population raster is given */
    double *area_m2;            /* per zone; NaN for an empty one */
    double *coverage;           /* per zone: data_coverage at the nominal options */
    /* building */
    double **rec;               /* per zone: its cells, (7 + nsea) doubles each */
    int64_t *n, *cap;
} cr_sens_model;

/* Starts a model of nzones zones keeping nsea sea bands; norm says how a_ref (its
 * nominal value) and the arrivals transform apply; renormalise is --missing renormalise;
 * uplift: a population raster is given. Returns 0 when out of memory. */
int cr_sens_model_init(cr_sens_model *m, int64_t nzones, int nsea, const cr_normalise_opts *norm,
                       int renormalise, int uplift);

/* Adds one covered cell (f > 0) to zone z; 0 when out of memory. */
int cr_sens_model_add(cr_sens_model *m, int64_t z, const cr_sens_cell *cell);

/* Lays the cells out per zone and normalises what does not vary; area_m2 per zone (NaN:
 * empty), the nominal point for data_coverage. 0 when out of memory. */
struct cr_sens_point;
int cr_sens_model_finish(cr_sens_model *m, const double *area_m2,
                         const struct cr_sens_point *nominal);

void cr_sens_model_release(cr_sens_model *m);

/* The bytes the model takes per cell with nsea sea bands (for the memory estimate). */
double cr_sens_model_cell_bytes(int nsea);

/* One model run: the values of the factors. */
typedef struct cr_sens_point {
    double w[CR_INDICATORS];  /* weights, normalised to sum 1 */
    cr_score_method method;
    double arrivals_ref;      /* a_ref */
    int sea;                  /* the sea band, an index among the model's */
    double share;             /* the demand share */
} cr_sens_point;

/* Each zone's score_mean under p into score (nzones; NaN when no covered cell has a
 * score): sum ca S / sum ca over its cells with a valid S, S the cell's score rounded to
 * Float32 as the exposure raster stores it; and, when uplift is not NULL, its
 * arrival-weighted mean water uplift, sum f a u / sum f a (u rounded to Float32). */
void cr_sens_model_run(const cr_sens_model *m, const cr_sens_point *p, double *score,
                       double *uplift);

/* Ranks n zones by score as zonal does: 1 for the highest, equal scores share a rank and
 * the next skips (1, 2, 2, 4); zones not eligible (or with a NaN score) get NaN. order is
 * scratch of n entries. */
typedef struct cr_sens_ranked {
    double score;
    int64_t zone;
} cr_sens_ranked;
void cr_sens_rank(const double *score, const unsigned char *eligible, int64_t n, double *rank,
                  cr_sens_ranked *order);

/* The quantile q (0..1) of n values, numpy's default 'linear' definition (Hyndman & Fan
 * type 7, R's default too); values is sorted in place; NaN values are left out (NaN when
 * none is left). The one quantile of the folder: the zones' score and rank intervals and
 * the bootstrap intervals of the indices (saltelli.c). */
double cr_sens_quantile(double *values, int64_t n, double q);

/* A factor as the summary and the provenance give it: {"name", "min", "max"} or
 * {"name", "values"}. */
json_object *cr_sens_factor_json(const cr_factor *f);

#endif
