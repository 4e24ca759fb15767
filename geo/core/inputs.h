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
#include "core/polygons.h"

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

/* cr_input_probe() that keeps the layer open in *out (for cr_layer_share()), when out is
 * not NULL. */
cr_status cr_input_probe_keep(cr_ctx *ctx, int input, const cr_normalise_opts *norm,
                              const char *path, const cr_grid *grid, const cr_layer_opts *opts,
                              const char **resampling, cr_layer **out);

/* What input's layer means when its file holds polygons (raster.h): water polygons take
 * the coverage-weighted mean of a field (default bws_score, bws_raw with --water-input
 * ratio) with Aqueduct's sentinels (below); informal polygons the covered share of their
 * union. Fills po (names and flags for messages, default field, hook); returns 0 for an
 * input that cannot be polygons (sea depths, counts, -1), po then zeroed.
 *
 * Aqueduct's sentinels, on the value read (and the feature's bws_cat and bws_label when it
 * has them): "Arid and Low Water Use" (value -1, bws_cat -1 or that bws_label) is the
 * highest stress, score 5 (ratio 1.6, the lowest whose score is 5), and marked; -9999 and
 * 9999 are no data, the polygon left out (docs/score.md). */
int cr_input_polygon_opts(int input, const cr_normalise_opts *norm, cr_polyset_opts *po);

/* The sentinel rule above in one line, for provenance. */
#define CR_AQUEDUCT_SENTINELS                                                                   \
    "Aqueduct 'Arid and Low Water Use' (value -1, bws_cat -1 or that bws_label) read as the "   \
    "highest stress, score 5 (ratio 1.6); -9999 and 9999 no data (polygon left out)"

/* The option rows of the inputs that may be polygons, for a command (score, zonal) whose
 * options struct TYPE keeps them in its member o (water_path, water_field, water_layer,
 * informal_path, informal_layer): --water, --water-field, --water-layer, --informal,
 * --informal-layer. FIELD_HELP says the field's default. Expands to CR_OPT_* rows
 * (cityrisk/command.h). */
#define CR_INPUT_POLYGON_ARGS(TYPE, FIELD_HELP)                                                   \
    CR_OPT_INPUT("water", TYPE, o.water_path, "FILE",                                            \
                 "Aqueduct water-stress scores 0-5: a raster, or basin polygons"),               \
    CR_OPT_STRING("water-field", NULL, TYPE, o.water_field, "NAME", FIELD_HELP),                 \
    CR_OPT_STRING("water-layer", NULL, TYPE, o.water_layer, "NAME",                              \
                  "layer of water polygons (default: the only one)"),                            \
    CR_OPT_INPUT("informal", TYPE, o.informal_path, "FILE",                                      \
                 "informal-settlement fraction 0-1: a raster, or polygons"),                     \
    CR_OPT_STRING("informal-layer", NULL, TYPE, o.informal_layer, "NAME",                        \
                  "layer of informal polygons (default: the only one)")

/* The parsers of CR_SCORE_COMBINE_ARGS' rows: --weights as given (normalised by the
 * command), refused when they cannot be normalised; --method by name. */
cr_status cr_arg_parse_weights(cr_ctx *ctx, const char *text, void *dest);
cr_status cr_arg_parse_method(cr_ctx *ctx, const char *text, void *dest);

/* --sea-band N as a command's row gives it (-1: not given) into o->sea_band (0 when not
 * given): refused below 1, or with --scenario (one names the band, not both). */
cr_status cr_arg_sea_band(cr_ctx *ctx, int given, cr_score_opts *o);

/* The checks of the scoring model's options that score and sensitivity share, before any
 * work, so that both refuse the same things with the same words: the four indicator
 * inputs given (path, CR_INPUTS entries), the method known, the weights 0 or more and
 * normalisable (normalised into weights), --sea-depth-full, --arrivals-ref (unless from the
 * data), --demand-share, and --sea-band with --scenario. CR_E_USAGE naming the option. */
cr_status cr_score_model_check(cr_ctx *ctx, const cr_score_opts *o,
                               const char *const path[CR_INPUTS],
                               double weights[CR_INDICATORS]);

/* The option rows of the scoring model that score and sensitivity share, for a command
 * whose options struct TYPE keeps a cr_score_opts in its member o and --arrivals-ref (NaN
 * when not given) in a double arrivals_ref: how the indicators combine (--weights,
 * --method, --missing), and how the layers become indicators (--sea-depth-full,
 * --sea-binary, --water-input, --settlement-input, --arrivals-ref, --arrivals-transform,
 * --demand-share). Expand to CR_OPT_* rows (cityrisk/command.h). */
#define CR_SCORE_COMBINE_ARGS(TYPE)                                                              \
    CR_OPT_PARSED("weights", TYPE, o.weights, "LIST", cr_arg_parse_weights,                      \
                  "sea=0.3,water=0.2,informal=0.25,arrivals=0.25"),                              \
    CR_OPT_CHOICE_PARSED("method", NULL, TYPE, o.method, "NAME", cr_score_method_names,          \
                         cr_arg_parse_method, "geometric (default), arithmetic, inform"),        \
    CR_OPT_CHOICE("missing", TYPE, o.renormalise, "HOW", cr_missing_names,                       \
                  "nodata (default) or renormalise")
#define CR_SCORE_NORMALISE_ARGS(TYPE)                                                            \
    CR_OPT_DOUBLE("sea-depth-full", TYPE, o.normalise.sea_depth_full, "M",                       \
                  "depth at which sea = 1 (default 1)"),                                         \
    CR_OPT_FLAG("sea-binary", TYPE, o.normalise.sea_binary, "sea = 1 wherever inundated"),       \
    CR_OPT_CHOICE("water-input", TYPE, o.normalise.water_ratio, "KIND", cr_water_input_names,    \
                  "score (default) or ratio"),                                                   \
    CR_OPT_CHOICE("settlement-input", TYPE, o.normalise.settlement, "KIND",                      \
                  cr_settlement_input_names, "fraction (default), percent, binary"),             \
    CR_OPT_DOUBLE("arrivals-ref", TYPE, arrivals_ref, "A",                                       \
                  "arrivals at which the indicator is 1 (default: 99th pct)"),                   \
    CR_OPT_CHOICE("arrivals-transform", TYPE, o.normalise.arrivals_linear, "KIND",               \
                  cr_arrivals_transform_names, "log (default) or linear"),                       \
    CR_OPT_DOUBLE("demand-share", TYPE, o.demand_share, "S",                                     \
                  "share of water demand growing with residents (1)")

/* Opens input's layer from path on grid (a raster, or polygons as cr_input_polygon_opts()
 * says). Fails with CR_E_USAGE on polygons for the sea depths ("score and zonal read
 * depths, a raster"), for informal with --settlement-input other than fraction, and as
 * cr_layer_open_ex() does. */
cr_status cr_input_open(cr_ctx *ctx, int input, const cr_normalise_opts *norm, const char *path,
                        const cr_grid *grid, const cr_layer_opts *opts, cr_layer **out);

/* The refusals of cr_input_open() alone, before anything is read (CR_E_USAGE): polygons
 * for the sea's depths (to inundation --sea), for the counts of arrivals and population
 * (to arrivals --areas), for informal with --settlement-input other than fraction. */
cr_status cr_input_refuse_polygons(cr_ctx *ctx, int input, const cr_normalise_opts *norm,
                                   const char *path);

/* Fails with CR_E_USAGE when path holds polygons where role (a message's name: "exposure",
 * "-r pop") needs a raster: for counts per cell (count set) pointing to arrivals --areas,
 * else saying that role needs a raster, then remedy when not NULL. CR_OK otherwise (path
 * NULL included). */
cr_status cr_refuse_polygons(cr_ctx *ctx, const char *role, const char *path, int count,
                             const char *remedy);

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
