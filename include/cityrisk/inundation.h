/*
 * inundation.h: sea-level inundation from a DEM, connected to the sea.
 *
 * For each sea level, the water level is W = sea-level rise + tide + surge - datum
 * offset (metres, as NOAA's modified bathtub). A cell is inundated when its elevation
 * is below W and it is joined to the sea through cells that are all below W (8 or 4
 * neighbours), or, with no connectivity, whenever it is below W (the plain bathtub).
 * The output holds one band per level: depth W - elevation where inundated, 0 on dry
 * land, nodata on the sea itself and where the DEM has none.
 *
 * The DEM is processed tile by tile in three streaming passes (sea, scan, resolve);
 * memory is O(tile) plus O(raster width) plus the components that touch tile
 * borders, never the raster.
 */
#ifndef CITYRISK_INUNDATION_H
#define CITYRISK_INUNDATION_H

#include <stddef.h>
#include <stdint.h>

#include "cityrisk/context.h"
#include "cityrisk/export.h"
#include "cityrisk/grid.h"
#include "cityrisk/tile.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The default tile side of the streaming passes, in cells (the COG block size). */
#define CR_INUNDATION_DEFAULT_TILE 512

/* The most levels of one run: each is a band of the output, and GDAL's COG driver (3.6)
 * holds a tile of every band at once (64 KiB per band in 128 x 128 tiles), so that 1000
 * levels take about 250 MB to write and memory stays bounded. */
#define CR_INUNDATION_MAX_LEVELS 1000

/* A sea-level scenario preset: IPCC AR6 WG1 global mean sea-level rise in metres,
 * relative to 1995-2014, median and likely range (17th-83rd percentile). */
typedef struct cr_scenario {
    const char *name;    /* "ssp245-2100" */
    const char *label;   /* "SSP2-4.5, 2100" */
    double median_m;
    double p17_m, p83_m; /* NAN when the preset has no range (stress-2m) */
} cr_scenario;

/* The number of presets and the i-th one (0-based). */
CR_API int cr_scenario_count(void);
CR_API const cr_scenario *cr_scenario_get(int i);

/* The source of the presets, one line. */
CR_API const char *cr_scenario_source(void);

/* Resolves a preset name, with an optional "-p17" / "-p83" suffix, to its rise in
 * metres. Fails with CR_E_USAGE naming the scenario when unknown. */
CR_API cr_status cr_scenario_resolve(cr_ctx *ctx, const char *name, double *rise_m);

/* One sea level to model. */
typedef struct cr_sea_level {
    const char *name; /* scenario name, or NULL for a plain level (named by cr_sea_level_name()) */
    double rise_m;    /* sea-level rise, metres, >= 0 */
} cr_sea_level;

/* The name of a sea level given in metres rather than by a scenario (--sea-level 0.5):
 * "sl" and the rise with two decimals, more when two do not give back the same number
 * ("sl0.50", "sl1.00", "sl0.125"). It is the band's SCENARIO metadata and the start of its
 * description, so that `score --scenario sl0.50` picks the band and zonal's properties end
 * in "_sl0_50". At most 25 characters: size 32 is enough. */
CR_API void cr_sea_level_name(double rise_m, char *buf, size_t size);

/* How water joins cells (--connectivity), NULL-terminated: "8", "4", "none" (the plain
 * bathtub, 0 in cr_inundation_opts.connectivity). */
CR_API extern const char *const cr_connectivity_names[];

/* Parses one of cr_connectivity_names into *connectivity (8, 4 or 0); fails with
 * CR_E_USAGE quoting the text otherwise. */
CR_API cr_status cr_connectivity_parse(cr_ctx *ctx, const char *text, int *connectivity);

/* The vertical units of a DEM (--dem-unit), NULL-terminated: "m", "ft", "us-ft". */
CR_API extern const char *const cr_dem_unit_names[];

/* Parses one of cr_dem_unit_names into metres per unit (1, 0.3048, 1200 / 3937); fails
 * with CR_E_USAGE quoting the text otherwise. */
CR_API cr_status cr_dem_unit_parse(cr_ctx *ctx, const char *text, double *to_m);

/* Options of cr_inundation(); initialise with cr_inundation_opts_init(). */
typedef struct cr_inundation_opts {
    const cr_sea_level *levels; /* level_count levels, one output band each */
    int level_count;
    double tide_m;              /* e.g. MHHW above the DEM's vertical datum; default 0 */
    double surge_m;             /* default 0 */
    double datum_offset_m;      /* subtracted from the water level; default 0 */
    int connectivity;           /* 8 (default), 4, or 0 for none (plain bathtub) */
    const char *sea_path;       /* polygons or a raster mask of the sea; default NULL: from the DEM */
    cr_grid_spec grid;          /* the output's grid (cr_grid_from_spec()); default: the DEM's,
                                 * and with a CRS but no bounds, the DEM's extent in it */
    double dem_to_m;            /* metres per DEM unit; default 0: from the band's unit (m, ft) */
    int tile;                   /* tile side of the connectivity passes; default 512 */
    int overwrite;              /* default 0 */
    const char *const *styles;  /* QGIS styles the caller writes beside the output
                                 * (cr_qml_write), NULL-terminated: checked with the output,
                                 * before any work; default NULL */
    char **creation_options;    /* -co for the COG; default NULL */
    /* Confidence (issue 20, docs/inundation.md "Confidence"): with sigma =
     * sqrt(dem_rmse_m^2 + datum_rmse_m^2) > 0 and k = Phi^-1(P), two more files get a band
     * per level (a GeoTIFF's bands share one cell type, so they are files of their own; the
     * depth output is unchanged): the confidence classes (Byte: 2 inundated with confidence
     * >= P, joined to the sea at W - k sigma; 1 possibly inundated, joined at W + k sigma
     * only; 0 dry with confidence >= P; 255 nodata) and p_inundated (Float32: Phi((W - z) /
     * sigma) where joined at W + k sigma, 0 elsewhere on land). Paths: see
     * cr_inundation_confidence_paths(). */
    double dem_rmse_m;          /* vertical RMSE of the DEM, metres; default 0: no confidence */
    double datum_rmse_m;        /* RMSE of the datum transformation, metres; default 0 */
    double confidence;          /* P, in (0.5, 1); default 0.8 (k = 0.8416) */
    const char *confidence_path;  /* the classes; default NULL: "<stem>_confidence.tif" */
    const char *probability_path; /* p_inundated; default NULL: "<stem>_p_inundated.tif" */
    /* Local relative sea level (issue 20, docs/inundation.md "Local sea level"): vertical
     * land motion, subsidence negative, raises the water level where the land sinks. */
    const char *vlm_path;       /* VLM raster (any CRS, read bilinear); default NULL */
    double vlm;                 /* VLM everywhere when vlm_path is NULL; default 0 */
    double vlm_to_m;            /* metres of land motion per VLM unit: years / 1000 for mm/yr,
                                 * 1 for --vlm-unit m; default 0: no VLM */
    const char *projections_path; /* the local projections the levels came from (provenance:
                                 * band metadata and parameters); default NULL: global presets */
    const char *projections_source; /* one line saying which values of projections_path were
                                 * used (the location of a NetCDF file), for SEA_LEVEL_SOURCE;
                                 * default NULL: "local projections" and the path */
    double vlm_years;           /* provenance: the years of motion of a VLM in mm/yr (YEARS);
                                 * default 0: the VLM is in metres */
    /* In parts across machines (docs/inundation.md "In tiles across machines"). */
    cr_tile_spec part;          /* --tile / --window: the part of the grid phase 1 labels and
                                 * phase 3 writes; default zeroed: the whole grid */
    const char *join_path;      /* phase 3: the join file of every part's edges (required with
                                 * part in cr_inundation()); default NULL */
} cr_inundation_opts;

CR_API void cr_inundation_opts_init(cr_inundation_opts *opts);

/* What one band holds. */
typedef struct cr_inundation_stats {
    double water_level_m;
    int64_t inundated_cells;
    double inundated_area_m2;
    double max_depth_m; /* 0 when nothing is inundated */
    /* With confidence (else 0): the levels W -/+ k sigma, and the land cells of each class
     * with their areas (m2): inundated with confidence >= P (class 2), possibly inundated
     * (1), dry with confidence >= P (0). */
    double low_level_m, high_level_m;
    int64_t confident_cells, possible_cells, dry_cells;
    double confident_area_m2, possible_area_m2, dry_area_m2;
} cr_inundation_stats;

/* The files of the confidence classes and probabilities of a run writing out_path:
 * opts->confidence_path and opts->probability_path when set, else out_path with its
 * extension (after the last '.' of the file name, if any) replaced by "_confidence.tif"
 * and "_p_inundated.tif". Both are malloc()ed (free()). Fails with CR_E_IO when out of
 * memory. */
CR_API cr_status cr_inundation_confidence_paths(cr_ctx *ctx, const char *out_path,
                                                const cr_inundation_opts *opts, char **confidence,
                                                char **probability);

/* 1 when opts ask for confidence: sqrt(dem_rmse_m^2 + datum_rmse_m^2) > 0. */
CR_API int cr_inundation_has_confidence(const cr_inundation_opts *opts);

/* k = Phi^-1(opts->confidence), the standard normal quantile (0.8416 for 0.8); NaN when
 * the confidence is outside (0, 1). */
CR_API double cr_inundation_confidence_k(const cr_inundation_opts *opts);

/* Writes the inundation depths of the DEM at dem_path to a COG at out_path (and, with
 * confidence, the classes and probabilities beside it: all of them or none). stats,
 * when non-NULL, receives opts->level_count entries; *sea_cells the number of sea
 * cells. Fails with CR_E_USAGE on bad options (negative or NaN levels), CR_E_DATA
 * when no sea is found and connectivity is on, and as the readers and the writer do.
 * Reports progress through the context. */
CR_API cr_status cr_inundation(cr_ctx *ctx, const char *dem_path, const char *out_path,
                               const cr_inundation_opts *opts, cr_inundation_stats *stats,
                               int64_t *sea_cells);

/* The inundation of one DEM in parts, each phase a separate run (docs/inundation.md "In
 * tiles across machines"): phase 1 per part, cr_inundation_edges(); phase 2 once,
 * cr_inundation_join(); phase 3 per part, cr_inundation() with opts->part and
 * opts->join_path, writing the part's tile of the single run's output. */

/* Phase 1: labels opts->part of the DEM (the whole part in memory: about 24 bytes per
 * cell) and writes its edge file at edges_path: the components of the sea's candidates and
 * of land below each level along the part's four edges, and the options' fingerprint.
 * Fails as cr_inundation() does on bad options and inputs. */
CR_API cr_status cr_inundation_edges(cr_ctx *ctx, const char *dem_path, const char *edges_path,
                                     const cr_inundation_opts *opts);

/* Phase 2: joins the edge files of every part of one grid (count of them) into the join
 * file at join_path: which border cells of each part are sea, and joined to the sea at
 * each level. Fails with CR_E_DATA naming the file when one is not an edge file, is
 * corrupt, of another DEM or options, a part twice or overlapping another, or when a part
 * has no file. */
CR_API cr_status cr_inundation_join(cr_ctx *ctx, const char *const *edge_paths, int count,
                                    const char *join_path, int overwrite);

#ifdef __cplusplus
}
#endif

#endif
