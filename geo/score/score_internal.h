/* score_internal.h: the parts of `cityrisk score` shared between its files (internal). */
#ifndef CITYRISK_SCORE_INTERNAL_H
#define CITYRISK_SCORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "cityrisk/raster.h"
#include "cityrisk/score.h"

/* The inputs of a run as resolved from its options. */
typedef struct cr_score_inputs {
    const char *out_path;
    cr_grid *grid;                    /* the analysis grid, whole (the output's is the summary's:
                                       * its window with --tile) */
    const char *path[CR_INPUTS];      /* by cr_input; NULL: no population */
    cr_layer_opts layer[CR_INPUTS];   /* band and resampling kind of each */
    cr_normalise_opts norm;           /* arrivals_ref set when given */
    cr_layer *probe[CR_INPUTS];       /* each input as opened once by cr_score_prepare(): the
                                       * workers share its polygons (cr_layer_share()) */
} cr_score_inputs;

/* Checks the options and the output path, resolves the sea band, makes the grid and
 * the window written (--tile, --window), and opens every input once on the grid (so
 * that a bad input fails before any pass), filling in and the summary's grid, window,
 * weights, bands, sea band and resamplings. */
cr_status cr_score_prepare(cr_ctx *ctx, const char *out_path, const cr_score_opts *o,
                           cr_score_inputs *in, cr_score_summary *s);

void cr_score_inputs_free(cr_score_inputs *in);

/* Opens the writer with the bands of s->bands, their descriptions and the provenance
 * known before the write pass. */
cr_status cr_score_open_writer(cr_ctx *ctx, const cr_score_opts *o, const cr_score_inputs *in,
                               const cr_score_summary *s, cr_writer **out);

/* Records what only the write pass knows (the statistics) in the metadata. */
cr_status cr_score_finish_metadata(cr_ctx *ctx, cr_writer *w, const cr_score_summary *s);

/* The composite score of n cells from the indicator blocks c (NaN = missing), as
 * cr_score_cell(); present, when non-NULL, receives the indicators used (NaN where
 * the score is). */
void cr_score_block(cr_score_method method, const float *const c[CR_INDICATORS], size_t n,
                    const double w[CR_INDICATORS], int renormalise, float *score, float *present);

/* The water uplift of n cells from the raw water layer (scores, or ratios when
 * water_ratio), arrivals and population, as cr_water_uplift(). */
void cr_uplift_block(const float *water, int water_ratio, const float *arrivals,
                     const float *population, size_t n, double share, float *out);

#endif
