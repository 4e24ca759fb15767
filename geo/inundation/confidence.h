/* confidence.h: the standard normal distribution for inundation confidence (internal).
 *
 * NOAA's sea-level-rise mapping confidence (Schmid, Hadley & Waters 2014) treats the
 * elevation of each cell as normal around the DEM's value with the standard deviation
 * sigma = sqrt(RMSE_dem^2 + RMSE_datum^2): a cell at z is below W with probability
 * Phi((W - z) / sigma), and at confidence P the classes come from the levels W -/+ k sigma
 * with k = Phi^-1(P). */
#ifndef CITYRISK_CONFIDENCE_H
#define CITYRISK_CONFIDENCE_H

/* Phi(x), the standard normal cumulative distribution, to double precision. */
double cr_normal_cdf(double x);

/* Phi^-1(p) for 0 < p < 1 (Wichura's algorithm AS 241, PPND16: relative error about
 * 1e-16); -INFINITY at 0, +INFINITY at 1, NaN outside [0, 1]. */
double cr_normal_quantile(double p);

#endif
