/* internal.h: what the files of geo/sensitivity/ share (internal): the charts of the
 * sensitivity command, and the in-memory model (sensitivity.c). */
#ifndef CITYRISK_SENSITIVITY_INTERNAL_H
#define CITYRISK_SENSITIVITY_INTERNAL_H

#include "cityrisk/context.h"
#include "cityrisk/sobol.h"

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

#endif
