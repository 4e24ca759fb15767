/*
 * score.h: the exposure scoring model: indicators normalised to 0-1, their
 * composite score 0-10, and the arrival-driven water-demand uplift.
 *
 * The formulas follow the project's scoring model (docs/score.md): INFORM's 0-10
 * scale and reverse geometric mean, Aqueduct's water-stress score, weighted overlay.
 * These functions compute one cell; the streaming command builds on them.
 */
#ifndef CITYRISK_SCORE_H
#define CITYRISK_SCORE_H

#include <stddef.h>
#include <stdint.h>

#include "cityrisk/classes.h"
#include "cityrisk/context.h"
#include "cityrisk/export.h"
#include "cityrisk/grid.h"
#include "cityrisk/tile.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The indicators, in band order. */
typedef enum cr_indicator {
    CR_IND_SEA = 0,   /* inundation depth -> 0-1 */
    CR_IND_WATER,     /* Aqueduct baseline water-stress score 0-5 -> 0-1 */
    CR_IND_INFORMAL,  /* informal-settlement fraction 0-1 */
    CR_IND_ARRIVALS,  /* arrivals per cell -> 0-1 */
    CR_INDICATORS
} cr_indicator;

/* "sea", "water", "informal", "arrivals". */
CR_API const char *cr_indicator_name(cr_indicator indicator);

/* The domain input layers: those of the indicators, in cr_indicator order, then the
 * residents, which only the water uplift reads. `cityrisk score` and `zonal` read each
 * with the resampling of its kind and check its values against its range. */
typedef enum cr_input {
    CR_INPUT_SEA = 0,    /* inundation depth (m) */
    CR_INPUT_WATER,      /* water-stress score 0-5, or withdrawal ratio */
    CR_INPUT_INFORMAL,   /* informal-settlement fraction, percentage or 0/1 */
    CR_INPUT_ARRIVALS,   /* arrivals per cell (a count) */
    CR_INPUT_POPULATION, /* residents per cell (a count) */
    CR_INPUTS
} cr_input;

/* The name of a domain input: "sea", "water", "informal", "arrivals", "population",
 * as its option (--sea), its key in a pipeline and in JSON summaries; "unknown" for
 * another number. */
CR_API const char *cr_input_name(int input);

/* How indicators combine into the score. */
typedef enum cr_score_method {
    CR_METHOD_GEOMETRIC = 0, /* 10 (prod (1 + 9 c_i)^w_i - 1) / 9 */
    CR_METHOD_ARITHMETIC,    /* 10 sum w_i c_i */
    CR_METHOD_INFORM         /* 10 (H arrivals informal)^(1/3), H the reverse geometric mean of the hazards */
} cr_score_method;

/* Parses "geometric", "arithmetic" or "inform"; CR_E_USAGE otherwise. */
CR_API cr_status cr_score_method_parse(cr_ctx *ctx, const char *name, cr_score_method *out);
CR_API const char *cr_score_method_name(cr_score_method method);

/* The names of the methods in the enum's order, NULL-terminated. */
CR_API extern const char *const cr_score_method_names[];

/* The names of what a cell missing an indicator gets (--missing), NULL-terminated, each
 * at the index cr_score_opts.renormalise takes for it: "nodata" (0), "renormalise" (1). */
CR_API extern const char *const cr_missing_names[];

/* The default weights: sea 0.30, water 0.20, informal 0.25, arrivals 0.25. */
CR_API void cr_weights_default(double weights[CR_INDICATORS]);

/* Parses "sea=0.3,water=0.2,informal=0.25,arrivals=0.25" into weights; indicators
 * not named get 0. Fails with CR_E_USAGE on an unknown or repeated name, a value
 * that is not a finite number, or a negative one, quoting the item. */
CR_API cr_status cr_weights_parse(cr_ctx *ctx, const char *text, double weights[CR_INDICATORS]);

/* Scales weights to sum 1, whatever their magnitude (four of 1e308 are equal weights);
 * CR_E_USAGE when one is negative or not finite, or when they sum to 0. */
CR_API cr_status cr_weights_normalise(cr_ctx *ctx, double weights[CR_INDICATORS]);

/* Aqueduct: the water-stress score of a withdrawal ratio r = withdrawals / available,
 * clamp(log2(r / 0.1) + 1, 0, 5) (0 for r <= 0), and the ratio of a score,
 * 0.1 * 2^(score - 1). */
CR_API double cr_water_score_from_ratio(double ratio);
CR_API double cr_water_ratio_from_score(double score);

/* The water-stress score once demand grows with the arrivals a among the residents p:
 * r' = r (1 + share a / p), score' = clamp(log2(r' / 0.1) + 1, 0, 5), returned as
 * score' - score. No residents (p <= 0) with arrivals saturates the score at 5; no
 * arrivals gives 0. NaN when an input is NaN. */
CR_API double cr_water_uplift(double score, double arrivals, double population, double share);

/* How the informal-settlement layer is expressed. */
typedef enum cr_settlement_input {
    CR_SETTLEMENT_FRACTION = 0, /* 0-1 (default) */
    CR_SETTLEMENT_PERCENT,      /* 0-100 */
    CR_SETTLEMENT_BINARY        /* 0 formal, anything above 0 informal */
} cr_settlement_input;

/* The names of cr_settlement_input in the enum's order (--settlement-input),
 * NULL-terminated: "fraction", "percent", "binary". */
CR_API extern const char *const cr_settlement_input_names[];

/* The names of what the water layer holds (--water-input), NULL-terminated, each at the
 * index cr_normalise_opts.water_ratio takes for it: "score" (0), "ratio" (1). */
CR_API extern const char *const cr_water_input_names[];

/* The names of the arrivals transforms (--arrivals-transform), NULL-terminated, each at
 * the index cr_normalise_opts.arrivals_linear takes for it: "log" (0), "linear" (1). */
CR_API extern const char *const cr_arrivals_transform_names[];

/* How raw layer values become indicators; initialise with cr_normalise_opts_init(). */
typedef struct cr_normalise_opts {
    double sea_depth_full;          /* depth (m) at which sea = 1; default 1.0 */
    int sea_binary;                 /* sea = 1 wherever the depth is above 0; default 0 */
    int water_ratio;                /* the water layer holds withdrawal ratios, not scores; default 0 */
    cr_settlement_input settlement; /* default CR_SETTLEMENT_FRACTION */
    double arrivals_ref;            /* a_ref > 0: arrivals at which the indicator reaches 1 */
    int arrivals_linear;            /* a / a_ref instead of log1p(a) / log1p(a_ref); default 0 */
} cr_normalise_opts;

CR_API void cr_normalise_opts_init(cr_normalise_opts *opts);

/* What normalising one value found. */
typedef enum cr_norm_result {
    CR_NORM_OK = 0,
    CR_NORM_CLAMPED,     /* outside the layer's range by no more than its tolerance: clamped */
    CR_NORM_OUT_OF_RANGE /* beyond the tolerance: the layer is not what it claims to be */
} cr_norm_result;

/* The documented range of an indicator's raw values, and the tolerance beyond it
 * within which values are clamped rather than refused (resampling and storage
 * rounding). For the current options. */
CR_API void cr_indicator_range(cr_indicator indicator, const cr_normalise_opts *opts, double *min,
                               double *max, double *tolerance);

/* Normalises a raw, valid (not NaN) value of an indicator to 0-1 into *out:
 *   sea       min(1, d / sea_depth_full), or [d > 0] with sea_binary;
 *   water     score / 5, the score from the ratio with water_ratio;
 *   informal  the fraction, percent / 100, or [v > 0];
 *   arrivals  min(1, log1p(a) / log1p(a_ref)), or min(1, a / a_ref).
 * Values beyond the range's tolerance give CR_NORM_OUT_OF_RANGE and leave *out
 * unset. */
CR_API cr_norm_result cr_indicator_normalise(cr_indicator indicator, const cr_normalise_opts *opts,
                                             double raw, double *out);

/* The composite score 0-10 of one cell from indicators c (0-1; NaN = missing) and
 * normalised weights w. Missing indicators make the score NaN unless renormalise,
 * which drops them and spreads their weight over those present (the hazards are
 * never imputed: inform needs arrivals and informal, and at least one hazard).
 * The sea indicator is never dropped: a cell without an inundation depth is the sea
 * itself or outside the DEM (cityrisk inundation writes both as nodata), land the study
 * does not cover, so its score is NaN even with renormalise.
 * *present, when non-NULL, receives the number of indicators present. */
CR_API double cr_score_cell(cr_score_method method, const double c[CR_INDICATORS],
                            const double w[CR_INDICATORS], int renormalise, int *present);

/* Normalises n raw values of an indicator (NaN = missing) into out (0-1, NaN where
 * missing), as cr_indicator_normalise() does one value: the loop the streaming
 * command runs per tile. Values clamped are counted into *clamped. Returns the
 * index of the first value beyond its range's tolerance, or n when there is none;
 * out is then complete only up to that index. */
CR_API size_t cr_indicator_normalise_block(cr_indicator indicator,
                                           const cr_normalise_opts *opts, const float *raw,
                                           size_t n, float *out, int64_t *clamped);

/* The output bands of `cityrisk score`, in file order. */
typedef enum cr_score_band {
    CR_BAND_SCORE = 0,          /* composite score 0-10 */
    CR_BAND_CLASS,              /* class 1..N of the score */
    CR_BAND_SEA,                /* the normalised indicators 0-1 */
    CR_BAND_WATER,
    CR_BAND_INFORMAL,
    CR_BAND_ARRIVALS,
    CR_BAND_WATER_UPLIFT,       /* score' - score of the water demand grown by arrivals */
    CR_BAND_INDICATORS_PRESENT, /* indicators used per cell (with renormalise) */
    CR_SCORE_BANDS
} cr_score_band;

/* "score", "class", "sea", "water", "informal", "arrivals", "water_uplift",
 * "indicators_present". */
CR_API const char *cr_score_band_name(cr_score_band band);

/* Parses a comma-separated list of band names into a bit set (1 << band). Fails
 * with CR_E_USAGE naming an unknown or repeated band. */
CR_API cr_status cr_score_bands_parse(cr_ctx *ctx, const char *text, unsigned *bands);

/* The largest sample from which quantile class breaks are computed: up to this many
 * scored cells the breaks are exact, beyond it they come from a deterministic
 * uniform sample of this size (rank error about 0.1 %). */
#define CR_QUANTILE_SAMPLE 1000000

/* Options of cr_score(); initialise with cr_score_opts_init(). */
typedef struct cr_score_opts {
    const char *sea_path;        /* inundation depths (m), e.g. from cityrisk inundation */
    int sea_band;                /* 1-based band of sea_path; 0: by scenario, or the only band */
    const char *scenario;        /* the band whose SCENARIO metadata is this name; default NULL */
    const char *water_path;      /* Aqueduct water-stress scores 0-5 (or ratios, see normalise):
                                  * a raster, or polygons (Aqueduct's basins) */
    const char *water_field;     /* water polygons: the numeric field; default NULL: bws_score
                                  * (bws_raw with water_ratio) */
    const char *water_layer;     /* water polygons: the layer; default NULL: the only one */
    const char *informal_path;   /* informal-settlement fraction (or percent, binary): a raster,
                                  * or polygons, whose union's share of each cell is the fraction */
    const char *informal_layer;  /* informal polygons: the layer; default NULL: the only one */
    const char *arrivals_path;   /* arrivals per cell, e.g. from cityrisk arrivals */
    const char *population_path; /* residents per cell: adds the water_uplift band; default NULL */
    cr_grid_spec grid;           /* the output's grid (cr_grid_from_spec()); default: informal's,
                                  * or the sea's when informal holds polygons; with a CRS but no
                                  * bounds, the sea raster's extent in it */
    double weights[CR_INDICATORS]; /* >= 0, normalised to sum 1 by cr_score(); default cr_weights_default() */
    cr_score_method method;      /* default CR_METHOD_GEOMETRIC */
    int renormalise;             /* drop missing indicators instead of nodata; default 0 */
    cr_class_spec classes;       /* default INFORM's fixed classes */
    cr_normalise_opts normalise; /* arrivals_ref is used only when arrivals_ref_auto is 0 */
    int arrivals_ref_auto;       /* a_ref = 99th percentile of the cells with arrivals > 0; default 1 */
    double demand_share;         /* share of water demand that grows with residents; default 1.0 */
    unsigned bands;              /* bit set of cr_score_band to write; 0: all that apply */
    int overwrite;               /* default 0 */
    const char *const *styles;  /* QGIS styles the caller writes beside the output
                                 * (cr_qml_write), NULL-terminated: checked with the output,
                                 * before any work; default NULL */
    char **creation_options;     /* -co for the COG; default NULL */
    cr_tile_spec tile;           /* --tile / --window: score only that window of the grid and
                                  * write it as a tile (cityrisk/tile.h); zeroed: the whole grid.
                                  * Class breaks from the data (quantile, jenks, equal) are refused
                                  * with it (CR_E_USAGE): they need every cell's score */
} cr_score_opts;

CR_API void cr_score_opts_init(cr_score_opts *opts);

/* What a scoring run found. Free with cr_score_summary_clear(). */
typedef struct cr_score_summary {
    cr_grid *grid;                        /* the output grid: the tile's with opts.tile */
    cr_window window;                     /* the window of the analysis grid written: all of it
                                           * without opts.tile */
    int full_width, full_height;          /* the analysis grid's size */
    int sea_band;                         /* the band of the sea raster used */
    char scenario[64];                    /* its SCENARIO metadata, "" when none */
    const char *resampling[CR_INPUTS];    /* per input (cr_input; population NULL when none) */
    double weights[CR_INDICATORS];        /* as normalised */
    double arrivals_ref;                  /* a_ref used; NaN when no cell has arrivals */
    int arrivals_ref_from_data;
    unsigned bands;                       /* the bands written */
    char class_scheme[32];                /* "fixed (INFORM)", "fixed", "quantile:5", ... */
    int class_count;
    double breaks[CR_CLASSES_MAX - 1];    /* class_count - 1 inner breaks */
    int64_t cells, cells_scored, cells_nodata; /* of the window */
    int64_t cells_per_class[CR_CLASSES_MAX]; /* [k] = class k + 1 */
    double score_min, score_mean, score_max; /* NaN when nothing was scored */
    int64_t clamped[CR_INPUTS];           /* values clamped per input (cr_input) */
    int64_t missing[CR_INPUTS];           /* cells each input left without a value (its nodata,
                                           * outside it, no polygon with a value); the sea's are
                                           * never scored */
    int64_t polygons[CR_INPUTS];          /* features read per input on polygons, else 0 */
    int64_t polygons_skipped[CR_INPUTS];  /* of those, left out: no polygon, a null value or
                                           * Aqueduct's no data (-9999, 9999) */
    int64_t water_arid_polygons;          /* Aqueduct's "Arid and Low Water Use" basins, read as
                                           * the highest stress (score 5) */
    int64_t water_arid_cells;             /* cells they cover, wholly or in part */
    const char *water_field;              /* the field of water polygons (borrowed from the
                                           * options or static); NULL on a raster */
    int passes;                           /* reads of the inputs (1 to 4) */
} cr_score_summary;

CR_API void cr_score_summary_clear(cr_score_summary *summary);

/* Scores every cell of the grid into a COG at out_path: the score, its class, the
 * normalised indicators, and the water uplift when a population raster is given,
 * each band described and the run's method, weights, references, breaks and
 * formula in the metadata. Inputs in any CRS and resolution are read onto the grid
 * with the resampling of their kind (depths, scores and fractions continuous;
 * arrivals and population counts).
 *
 * The inputs are streamed tile by tile over the context's threads: one pass to
 * write, plus two over the arrivals for a data-derived a_ref and one over all
 * inputs for data-derived class breaks. Fails with CR_E_USAGE on bad options,
 * CR_E_DATA when a value lies outside its layer's range beyond the tolerance
 * (naming the layer, the value and the cell), and as the readers and the writer
 * do; no output appears then.
 *
 * With opts->tile, only the blocks of that window are read, scored and written, to a
 * COG on the window's grid marked by cr_tile_mark() and without CITYRISK_STATISTICS
 * (the summary's counts are the window's): the values are the single run's in the
 * window, bit for bit, since the blocks are the single run's blocks read on the same
 * grid. A data-derived a_ref still comes from the arrivals of the whole grid (the
 * two passes over the arrivals alone), so that every tile has the same; values out of
 * range are only found in the window. */
CR_API cr_status cr_score(cr_ctx *ctx, const char *out_path, const cr_score_opts *opts,
                          cr_score_summary *summary);

#ifdef __cplusplus
}
#endif

#endif
