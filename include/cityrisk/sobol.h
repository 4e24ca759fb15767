/*
 * sobol.h: variance-based sensitivity analysis: scrambled Sobol' points, Saltelli's
 * sampling design and the Saltelli 2010 / Jansen estimators of first-order and total
 * Sobol' indices, with bootstrap confidence intervals.
 *
 * The design for d factors and N base samples has N (d + 2) rows of d values in [0, 1):
 * for each base sample j, the row A_j, then B_j, then AB^1_j .. AB^d_j, where AB^i_j is
 * A_j with its i-th value taken from B_j. A and B are the first and last d coordinates
 * of one 2d-dimensional scrambled Sobol' point (Saltelli et al. 2010, section 3). The
 * caller maps each value to its factor's range, runs the model on every row, and passes
 * the outputs back in the same order.
 *
 * References: Saltelli A. et al. (2010), "Variance based sensitivity analysis of model
 * output. Design and estimator for the total sensitivity index", Computer Physics
 * Communications 181, 259-270 (first order: their eq. (b); total: Jansen 1999, their
 * eq. (f)); Joe S. and Kuo F. Y. (2008), direction numbers new-joe-kuo-6.21201; Owen (1995)
 * scrambling (here: Matousek's random linear matrix scramble with a digital shift, which
 * keeps the net properties).
 */
#ifndef CITYRISK_SOBOL_H
#define CITYRISK_SOBOL_H

#include <stddef.h>
#include <stdint.h>

#include "cityrisk/context.h"
#include "cityrisk/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most dimensions of one Sobol' sequence, and so the most factors of a design
 * (half of it). */
#define CR_SOBOL_MAX_DIMS 64
#define CR_SOBOL_MAX_FACTORS (CR_SOBOL_MAX_DIMS / 2)

/* The most points one sequence gives (2^31); after them it starts over. */
#define CR_SOBOL_MAX_POINTS 2147483648.0

typedef struct cr_sobol cr_sobol;

/* A scrambled Sobol' sequence of dims dimensions (1 .. CR_SOBOL_MAX_DIMS), in Gray-code
 * order, 32-bit: every power-of-two prefix of 2^m points puts one point in each interval
 * [i / 2^m, (i + 1) / 2^m) of every dimension. Seed 0 gives the unscrambled sequence,
 * any other seed one scramble (from splitmix64 seeded by it), the same on every
 * machine. NULL when dims is out of range or memory runs out. Free with
 * cr_sobol_free(), which accepts NULL. */
CR_API cr_sobol *cr_sobol_new(int dims, uint64_t seed);

/* Writes the next point (dims values in [0, 1), multiples of 2^-32) into point. The
 * first point of the unscrambled sequence is the origin. */
CR_API void cr_sobol_next(cr_sobol *s, double *point);

CR_API void cr_sobol_free(cr_sobol *s);

/* The number of model runs of a design: n (d + 2); 0 when n or d is out of the range
 * cr_saltelli_design() takes. */
CR_API int64_t cr_saltelli_runs(int n, int d);

/* Fills *rows (malloc'd, cr_saltelli_runs(n, d) x d values, row-major; free()) with
 * Saltelli's design for d factors (1 .. CR_SOBOL_MAX_FACTORS) and n base samples (>= 2),
 * from the scrambled sequence of seed (skipping its first point, the origin when
 * unscrambled). Fails with CR_E_USAGE on d or n out of range, CR_E_IO when out of memory. */
CR_API cr_status cr_saltelli_design(cr_ctx *ctx, int n, int d, uint64_t seed, double **rows);

/* One factor's indices, each with its bootstrap confidence interval (NaN bounds when
 * no bootstrap was asked for). Estimates: sampling noise may put them a little below 0
 * or above 1, and S_i a little above S_Ti. */
typedef struct cr_sobol_index {
    double first, first_lo, first_hi; /* S_i */
    double total, total_lo, total_hi; /* S_Ti */
} cr_sobol_index;

/* Options of cr_sobol_indices(); initialise with cr_sobol_indices_opts_init(). */
typedef struct cr_sobol_indices_opts {
    int bootstrap;     /* resamples of the base samples for the intervals; default 0: none */
    double confidence; /* level of the percentile intervals; default 0.95 */
    uint64_t seed;     /* of the resampling; default 1 */
} cr_sobol_indices_opts;

CR_API void cr_sobol_indices_opts_init(cr_sobol_indices_opts *opts);

/* The first-order and total indices of d factors from y, the model outputs of the
 * design's cr_saltelli_runs(n, d) rows in its order, into out (d entries). The
 * variance is the sample variance of the A and B outputs together; the outputs are
 * centred on their mean before the first-order estimate (same expectation, less noise
 * when the outputs sit far from 0). When the A and B outputs are all equal (variance 0)
 * every index and bound is NaN: nothing to apportion. With opts->bootstrap B > 0, the
 * bounds are the (1 - confidence) / 2 and (1 + confidence) / 2 quantiles (linear
 * interpolation) of the indices of B resamples of the n base samples with replacement,
 * drawn by splitmix64 from opts->seed: deterministic for a given seed (resamples whose
 * variance is 0 are left out). opts NULL means the defaults. Fails with
 * CR_E_USAGE on n, d or opts out of range, CR_E_DATA on a NaN or infinite output (naming
 * its design row, 1-based, and base sample), CR_E_IO when out of memory. */
CR_API cr_status cr_sobol_indices(cr_ctx *ctx, const double *y, int n, int d,
                                  const cr_sobol_indices_opts *opts, cr_sobol_index *out);

#ifdef __cplusplus
}
#endif

#endif
