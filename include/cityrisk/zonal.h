/*
 * zonal.h: neighbourhood statistics with exact cell coverage.
 *
 * Every statistic weights a cell by the fraction f of its area inside the zone
 * (coverage.h), so a zone's totals are those of the area it really covers: counts
 * and sums of arrivals are kept across neighbourhood boundaries. The domain metrics
 * of the scoring model (docs/zonal.md) come from the domain rasters given; any
 * other raster gets the generic statistics asked for.
 *
 * The rasters are read once, tile by tile in raster order on the context's
 * threads: each tile is read for every zone whose bounding box meets it, and its
 * partial statistics are merged into the zones in tile order, so results do not
 * depend on the thread count. Memory holds the zones' geometries (in cell
 * coordinates) and one row of results per zone, plus, for quantile statistics, the
 * covered cells of the zones being worked on.
 */
#ifndef CITYRISK_ZONAL_H
#define CITYRISK_ZONAL_H

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

/* The generic statistics of `--stats`. */
typedef enum cr_stat_kind {
    CR_STAT_COUNT = 0,     /* sum of f over valid cells (cells, fractional) */
    CR_STAT_SUM,           /* sum of f x */
    CR_STAT_MEAN,          /* sum f x / sum f */
    CR_STAT_MIN,           /* smallest x of the cells with f > 0 */
    CR_STAT_MAX,           /* largest x of the cells with f > 0 */
    CR_STAT_STDEV,         /* population standard deviation weighted by f */
    CR_STAT_MEDIAN,        /* the weighted quantile 0.5 */
    CR_STAT_QUANTILE,      /* the weighted quantile arg (cr_weighted_quantile()) */
    CR_STAT_MAJORITY,      /* the value with the largest sum of f (the smallest of ties) */
    CR_STAT_FRAC,          /* share of the valid covered area with x >= arg */
    CR_STAT_WEIGHTED_MEAN  /* sum f w x / sum f w, w the raster named by weight */
} cr_stat_kind;

/* The longest raster name and column suffix. */
#define CR_STAT_NAME_MAX 64

/* One statistic as parsed. */
typedef struct cr_stat {
    cr_stat_kind kind;
    double arg;                    /* q of quantile (0..1), threshold of frac */
    char weight[CR_STAT_NAME_MAX]; /* the weight raster's name, for weighted_mean */
    char suffix[CR_STAT_NAME_MAX + 16]; /* column suffix: "mean", "p90", "frac_ge_0_5",
                                         * "weighted_mean_pop" */
} cr_stat;

/* Parses a comma-separated list of statistics: count, sum, mean, min, max, stdev,
 * median, quantile(q) with 0 <= q <= 1, majority, frac(threshold),
 * weighted_mean(name). Blanks around items are allowed. Fails with CR_E_USAGE quoting
 * the item on an unknown name, a bad argument, or a statistic given twice. *out is an
 * array of *count statistics to free(). */
CR_API cr_status cr_stats_parse(cr_ctx *ctx, const char *text, cr_stat **out, int *count);

/* The weighted quantile q (0..1) of n values with weights w (> 0), by linear
 * interpolation of the weighted distribution: with the values sorted and S_k the sum
 * of the weights before value k (0-based), value k sits at s_k = k w_k + (n - 1) S_k,
 * and the quantile is interpolated at q (n - 1) W between the two values around it
 * (W the total weight). With equal weights this is numpy's default ('linear', type 7)
 * quantile; with integer weights it stays within the range of the repeated values.
 * values and weights are reordered together (sorted by value). NaN when n is 0. */
CR_API double cr_weighted_quantile(double *values, double *weights, size_t n, double q);

/* The value with the largest total weight (the smallest of equal totals) of n values
 * sorted by value, as cr_weighted_quantile() leaves them. NaN when n is 0. */
CR_API double cr_weighted_majority(const double *values, const double *weights, size_t n);

/* A raster of `-r NAME=RASTER[:BAND]`. */
typedef struct cr_zonal_raster {
    const char *name; /* column prefix: [A-Za-z_][A-Za-z0-9_]* */
    const char *path;
    int band;         /* 1-based; default 1 */
    int count;        /* 1: counts per cell (people, arrivals), read with sum resampling so
                       * that the total is kept when it is not on the grid; default 0:
                       * continuous (average / bilinear) */
} cr_zonal_raster;

/* Parses "NAME=RASTER[:BAND]" into out (count 0), pointing into text's copy *storage (free()).
 * A trailing ":N" of digits is a band; anything else stays in the path (so
 * "/vsizip/a.zip/b.tif" works). Fails with CR_E_USAGE on a missing or bad name. */
CR_API cr_status cr_zonal_raster_parse(cr_ctx *ctx, const char *text, cr_zonal_raster *out,
                                       char **storage);

/* Options of cr_zonal(); initialise with cr_zonal_opts_init(). Strings are borrowed. */
typedef struct cr_zonal_opts {
    const char *zones_path;    /* polygons, any OGR format and CRS */
    const char *layer;         /* the zones' layer; default NULL: the first */
    const char *id_field;      /* names zones in messages; default NULL */
    const char *name_field;    /* names zones in messages; default NULL */
    const char *exposure_path; /* `cityrisk score` output: score metrics (its score and
                                * water_uplift bands, by description) */
    const char *arrivals_path; /* arrivals per cell */
    const char *sea_path;      /* inundation depth (m); every band is a scenario */
    const char *water_path;    /* Aqueduct water-stress score 0-5: a raster or basin polygons */
    const char *water_field;   /* water polygons: the numeric field; default NULL: bws_score */
    const char *water_layer;   /* water polygons: the layer; default NULL: the only one */
    const char *informal_path; /* informal-settlement fraction 0-1: a raster or polygons (the
                                * share of each cell their union covers) */
    const char *informal_layer; /* informal polygons: the layer; default NULL: the only one */
    const char *population_path; /* residents per cell: water_uplift_mean */
    const cr_zonal_raster *rasters; /* generic rasters; default NULL */
    int nrasters;
    const cr_stat *stats;      /* statistics of the generic rasters; default NULL: count,sum,mean */
    int nstats;
    cr_class_spec classes;     /* classes of score_mean; used when classes_given */
    int classes_given;         /* default 0: the exposure's class breaks, else INFORM's */
    double demand_share;       /* as cr_score_opts; default 1.0 */
    cr_grid_spec grid;         /* the analysis grid (cr_grid_from_spec()); default: the first
                                * raster's (see cr_zonal()), and with a CRS but no bounds, that
                                * raster's extent in it */
    double min_coverage;       /* zones whose data_coverage is below it (0..1) get no
                                * score_class or score_rank; default 0.5 (CR_ZONAL_MIN_COVERAGE) */
    const char *format;        /* OGR driver; default NULL: GeoJSON (RFC 7946) */
    char **layer_options;      /* -lco NAME=VALUE (CSL) over the defaults; default NULL */
    int overwrite;             /* default 0 */
    const char *const *styles;  /* QGIS styles the caller writes beside the output
                                 * (cr_qml_write), NULL-terminated: checked with the output,
                                 * before any work; default NULL */
    cr_tile_spec tile;         /* --tile I/N or --window: only the blocks of that window of the
                                * grid are read (with partial); default zeroed: the whole grid */
    int partial;               /* default 0; 1: out_path gets the part's partial accumulators
                                * (a part file, docs/zonal.md "Tiles") instead of the zones */
} cr_zonal_opts;

CR_API void cr_zonal_opts_init(cr_zonal_opts *opts);

/* The default data coverage a zone needs to be classed and ranked: the JRC/OECD composite
 * indicator practice of a data-availability threshold (a unit is scored only when most of
 * its data are there), here the share of its area with a value in every raster. */
#define CR_ZONAL_MIN_COVERAGE 0.5

/* The most sea-level scenarios (bands of the sea raster) one run handles. */
#define CR_ZONAL_MAX_SCENARIOS 16

/* What a run found; free with cr_zonal_summary_clear(). Totals are sums over zones
 * (zones may overlap, then cells count in each). */
typedef struct cr_zonal_summary {
    cr_grid *grid;               /* the analysis grid */
    char driver[64];             /* the OGR driver written */
    int64_t zones, zones_repaired, zones_empty;
    int64_t zones_without_data;  /* no covered cell valid in any raster (empty zones too) */
    int64_t zones_below_coverage; /* data_coverage below min_coverage (or none: empty zones),
                                   * not classed or ranked */
    double min_coverage;         /* the threshold used */
    int columns;                 /* statistic columns added */
    int scenarios;               /* bands of the sea raster (0 without one) */
    char scenario[CR_ZONAL_MAX_SCENARIOS][64];        /* band SCENARIO metadata, or "bandN" */
    char scenario_suffix[CR_ZONAL_MAX_SCENARIOS][64]; /* of the column names: "_ssp245_2100", ""
                                                       * for a single band */
    /* Totals across zones of the arrival metrics; NaN when not computed. */
    double arrivals_total, arrivals_informal, arrivals_high_water_stress;
    double arrivals_flooded[CR_ZONAL_MAX_SCENARIOS], arrivals_compound[CR_ZONAL_MAX_SCENARIOS];
    char class_scheme[32];
    int class_count;
    double breaks[CR_CLASSES_MAX - 1];
    char **renamed;              /* "long=short" field names shortened for the format (CSL) */
    int tiles_read;              /* tiles of the grid read */
    char *exposure_path;         /* the exposure raster of the run (a merge: as its parts
                                  * record it), NULL when none */
} cr_zonal_summary;

CR_API void cr_zonal_summary_clear(cr_zonal_summary *summary);

/* Computes the statistics of every zone and writes the zones, with all their
 * attributes and one column per statistic, to out_path ("-": GeoJSON on stdout):
 * GeoJSON per RFC 7946 by default (WGS 84 lon/lat, right-hand winding, 7 decimals),
 * or opts->format. The analysis grid is opts->grid's, else the exposure raster's, else the
 * first domain raster's (arrivals, water, informal, population, sea), else the first
 * generic one's; the others are read onto it with the resampling of their kind.
 *
 * Zones are reprojected to the grid's CRS (edges densified to the cell size first);
 * invalid polygons are repaired with a warning naming the feature; null and empty
 * geometries are written with null statistics. Values of the domain rasters outside
 * their range (as `cityrisk score` checks them: a water-stress score of 7) stop the run
 * unless within the tolerance, where they are clamped. Fails with CR_E_USAGE on bad
 * options, CR_E_DATA on zones without a CRS or that are not polygons (naming the
 * feature) and on values out of range (naming the raster, value and cell), CR_E_EXISTS
 * (any file of the output's format, a Shapefile's .dbf too), CR_E_IO; no output appears
 * then. Every file written is checked against the inputs before any work (CR_E_USAGE). A
 * CSV is one file under any name; a Shapefile is named NAME.shp (CR_E_USAGE otherwise). */
CR_API cr_status cr_zonal(cr_ctx *ctx, const char *out_path, const cr_zonal_opts *opts,
                          cr_zonal_summary *summary);

/* The version of the part files cr_zonal() writes with opts->partial and
 * cr_zonal_merge() reads. */
#define CR_ZONAL_PART_VERSION 1

/* Writes the zones with their statistics from the part files of one zonal run split by
 * --tile or --window (each written by cr_zonal() with opts->partial), exactly as that
 * run over the whole grid writes them (docs/zonal.md "Tiles"): the zones are read again
 * from the path the parts record, every other input is taken from the parts. Of opts,
 * only the output's are used (format, layer_options, overwrite, styles). Fails with
 * CR_E_DATA naming the part that is not a part file (corrupt, truncated, of another
 * version), that comes from another run than the first part (another grid, zones file,
 * raster or option), whose window overlaps another's (a tile given twice), or when the
 * parts leave a block of the grid uncovered; CR_E_USAGE, CR_E_EXISTS and CR_E_IO as
 * cr_zonal(); nothing is written then. */
CR_API cr_status cr_zonal_merge(cr_ctx *ctx, const char *const *parts, int nparts,
                                const char *out_path, const cr_zonal_opts *opts,
                                cr_zonal_summary *summary);

#ifdef __cplusplus
}
#endif

#endif
