/* inputs.h: the domain inputs that score and zonal both read (sea, water, informal,
 * arrivals, population): how each layer is resampled, the range its values must lie in,
 * and how they become indicators, all from one table in core/inputs.c (internal).
 *
 * The names (cr_input_name()) and the normalisation (cr_indicator_range(),
 * cr_indicator_normalise(), cr_indicator_normalise_block(), cr_water_score_from_ratio())
 * are public, in cityrisk/score.h; this header holds what only the stages use.
 *
 * Every function takes the normalisation options that say how the layers are expressed
 * (--water-input, --settlement-input, ...); NULL stands for the defaults, which is how
 * zonal reads its inputs. */
#ifndef CITYRISK_CORE_INPUTS_H
#define CITYRISK_CORE_INPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "cityrisk/raster.h"
#include "cityrisk/score.h"

/* Fills opts to read band of input's layer with the resampling of its kind: depths,
 * scores and fractions continuous, a binary settlement map a class map, arrivals and
 * residents counts whose total is kept. input -1 is a raster that is no domain input
 * (zonal's exposure and -r rasters): continuous. */
void cr_input_layer_opts(int input, const cr_normalise_opts *norm, int band, cr_layer_opts *opts);

/* Opens the raster at path once on grid, so that a bad input fails before any work,
 * and warns when it declares a nodata value inside the range of input's values (0 on a
 * depth, water-stress, fraction or count layer): those cells are read as missing, which
 * a layer that means 0 by them does not intend. input -1 is a raster that is no domain
 * input (zonal's -r): only opened. *resampling, when resampling is not NULL, receives
 * the resampling used (a static name). */
cr_status cr_input_probe(cr_ctx *ctx, int input, const cr_normalise_opts *norm, const char *path,
                         const cr_grid *grid, const cr_layer_opts *opts, const char **resampling);

/* Checks n raw values of input against its range: those beyond it by no more than the
 * tolerance are clamped and counted into *clamped, NaN left. Returns the index of the
 * first value beyond the tolerance, or n. */
size_t cr_input_check_block(int input, const cr_normalise_opts *norm, float *values, size_t n,
                            int64_t *clamped);

/* Fails with CR_E_DATA naming input's raster (path and band), the value beyond its
 * range's tolerance, its cell (col, row) of grid, and the range with a hint at the option
 * that reads the layer otherwise. */
cr_status cr_input_range_error(cr_ctx *ctx, int input, const cr_normalise_opts *norm,
                               const char *path, int band, double value, const cr_grid *grid,
                               int col, int row);

#endif
