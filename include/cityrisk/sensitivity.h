/*
 * sensitivity.h: how stable each neighbourhood's exposure rank is, and which modelling
 * choices drive it (`cityrisk sensitivity`).
 *
 * The composite score rests on choices (weights, aggregation method, the arrivals
 * reference a_ref, the sea level, the water demand share) that a city council may
 * question. This runs the whole score + zonal chain many times over a Saltelli design
 * (sobol.h) of those choices, from memory: every layer is read once onto the analysis
 * grid as `cityrisk score` reads it, each zone keeps its covered cells with their exact
 * coverage, and each model run re-scores and re-aggregates them. It reports per zone the
 * score and rank at the nominal options (exactly what score then zonal --exposure give),
 * the rank's 5-95 % interval and median, the probability of being in the top N, and the
 * first-order and total Sobol' indices of the zone's score per factor; and city-wide, the
 * indices of the mean absolute rank shift (docs/sensitivity.md).
 */
#ifndef CITYRISK_SENSITIVITY_H
#define CITYRISK_SENSITIVITY_H

#include <stddef.h>
#include <stdint.h>

#include "cityrisk/context.h"
#include "cityrisk/export.h"
#include "cityrisk/score.h"
#include "cityrisk/sobol.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a factor varies. */
typedef enum cr_factor_kind {
    CR_FACTOR_WEIGHT = 0,   /* one indicator's weight (cr_factor.indicator) */
    CR_FACTOR_METHOD,       /* the aggregation method, categorical */
    CR_FACTOR_ARRIVALS_REF, /* a_ref */
    CR_FACTOR_SEA_LEVEL,    /* the band of the sea raster, categorical by scenario name */
    CR_FACTOR_DEMAND_SHARE  /* the water demand share (enters only the water uplift) */
} cr_factor_kind;

/* The most values of a categorical factor. */
#define CR_FACTOR_MAX_VALUES 16

/* One factor: a uniform range [min, max], or categorical values chosen by
 * floor(u * count). */
typedef struct cr_factor {
    cr_factor_kind kind;
    int indicator;           /* CR_FACTOR_WEIGHT: the cr_indicator */
    int has_range;           /* min and max given; else the documented default range */
    double min, max;         /* the range (resolved by cr_sensitivity()) */
    int nvalues;             /* categorical: values given (0: the default set) */
    char values[CR_FACTOR_MAX_VALUES][64]; /* method names, or scenario names */
    int of_set;              /* CR_FACTOR_WEIGHT from `weights` (all four): without a range,
                              * one whose nominal weight is 0 is left out (it stays 0)
                              * rather than refused as a lone weight.X is */
} cr_factor;

/* The factor's name: "weight.sea", "method", "arrivals_ref", "sea_level", "demand_share". */
CR_API const char *cr_factor_name(const cr_factor *factor, char *buf, size_t size);

/* Parses one --factor SPEC: NAME, NAME=MIN:MAX (ranges) or NAME=V1,V2,... (method,
 * sea_level), or "weights" (the four weights at their default ranges), appending to
 * factors (*count of them, at most CR_SOBOL_MAX_FACTORS). Fails with CR_E_USAGE quoting
 * the spec on an unknown name, a bad range (not two finite numbers with min < max; weights
 * and a_ref positive, a share within 0..1), an unknown method, a factor given twice, too
 * many. */
CR_API cr_status cr_factor_parse(cr_ctx *ctx, const char *spec, cr_factor *factors, int *count);

/* Reads the factors of a JSON file {"factors": [{"name": N, "min": A, "max": B} or
 * {"name": N, "values": [...]} or {"name": N}, ...]}, appending as cr_factor_parse().
 * Fails with CR_E_USAGE naming the file and the item on bad JSON, an unknown name, ... */
CR_API cr_status cr_factors_read(cr_ctx *ctx, const char *path, cr_factor *factors, int *count);

/* Options of cr_sensitivity(); initialise with cr_sensitivity_opts_init(). Strings are
 * borrowed. */
typedef struct cr_sensitivity_opts {
    cr_score_opts model;        /* the nominal model: inputs, grid, weights, method, a_ref...
                                 * (classes, bands and styles unused) */
    const char *zones_path;     /* the neighbourhoods */
    const char *layer, *id_field, *name_field; /* as cr_zonal_opts */
    double min_coverage;        /* zones below it get no rank; default 0.5 */
    const char *format;         /* OGR driver of the zones output; default GeoJSON */
    cr_factor factors[CR_SOBOL_MAX_FACTORS];
    int nfactors;               /* 0: weights (those with a nominal weight above 0), method
                                 * (the nominal one, then geometric and arithmetic),
                                 * arrivals_ref, and sea_level when the sea raster has
                                 * several bands */
    const char *factors_path;   /* the JSON file the factors were read from (cr_factors_read),
                                 * or NULL: an input, never overwritten by an output, and
                                 * recorded in the zones output's CITYRISK_INPUTS */
    int samples;                /* base samples N; runs = N (d + 2); default 256 */
    uint64_t seed;              /* default 1 */
    int bootstrap;              /* resamples of the city-wide indices; default 200 */
    int top;                    /* p_top: share of runs with rank <= top; default 10 */
    double max_memory_mb;       /* refuse above; default 0: the context's budget less GDAL's
                                 * cache (cr_ctx_max_memory(), --max-memory) */
    const char *indices_path;   /* CSV of the city-wide indices; default NULL */
    const char *rank_chart_path, *indices_chart_path; /* PNG or SVG; default NULL */
    const char *runs_path;      /* CSV of every run's factor values and zone scores */
    int overwrite;
} cr_sensitivity_opts;

CR_API void cr_sensitivity_opts_init(cr_sensitivity_opts *opts);

/* What a run found. */
typedef struct cr_sensitivity_summary {
    int64_t zones, ranked;          /* zones, and those ranked at the nominal options */
    int64_t cells;                  /* (zone, cell) pairs held in memory */
    int factors;
    cr_factor factor[CR_SOBOL_MAX_FACTORS]; /* as resolved: ranges and values filled */
    int samples;
    int64_t runs;
    uint64_t seed;
    int bootstrap, top;
    double arrivals_ref;            /* nominal a_ref */
    int arrivals_ref_from_data;
    int sea_band;                   /* the nominal band */
    char scenario[64];
    double memory_mb, memory_limit_mb; /* the estimate, and the budget */
    double peak_mb;                 /* the process's peak resident memory at the end */
    double seconds_read, seconds_runs, seconds_indices, seconds_write;
    cr_sobol_index shift[CR_SOBOL_MAX_FACTORS];   /* of mean_abs_rank_shift */
    cr_sobol_index changed[CR_SOBOL_MAX_FACTORS]; /* of top_n_changed */
    char driver[64];
} cr_sensitivity_summary;

/* Runs the analysis and writes the zones (out_path) and the optional outputs. Fails with
 * CR_E_USAGE on bad options and factors (a sea_level factor on a one-band raster, a
 * budget the data would exceed: naming the estimate and --max-memory), CR_E_DATA on
 * bad data, CR_E_EXISTS, CR_E_IO; no output appears then. */
CR_API cr_status cr_sensitivity(cr_ctx *ctx, const char *out_path, const cr_sensitivity_opts *opts,
                                cr_sensitivity_summary *summary);

#ifdef __cplusplus
}
#endif

#endif
