/*
 * arrivals.h: migrant arrival records to arrivals per grid cell.
 *
 * Records come from a CSV with coordinate columns (read by the library's own
 * reader, so that every rejection names its line) or from any OGR point layer
 * (named by feature id). Each record counts 1 or the value of a count field; a
 * record is validated (coordinates, count, date) and either accepted, excluded by
 * the date window or the --where filter, or rejected with a reason.
 *
 * Accepted records inside the grid are placed on it: with no kernel, each
 * record's count goes to the cell holding it; with a kernel of bandwidth h, it is
 * spread over the cells whose centres lie within h, in proportion to the kernel,
 * and the weights are renormalised over the cells inside the grid so that each
 * record adds exactly its count. The raster's sum is therefore the arrivals
 * inside the grid; the part of the kernels that reached beyond the grid edge is
 * reported (kernel_mass_outside) and records outside the grid are counted, not
 * spread.
 *
 * Memory is O(records) (56 bytes each at the peak) plus a few tiles per thread;
 * the grid is accumulated tile by tile, never held whole.
 */
#ifndef CITYRISK_ARRIVALS_H
#define CITYRISK_ARRIVALS_H

#include <stdint.h>

#include "cityrisk/context.h"
#include "cityrisk/export.h"
#include "cityrisk/grid.h"
#include "cityrisk/tile.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Kernels (density per unit area, u = d / h, zero for u >= 1). */
typedef enum cr_kernel {
    CR_KERNEL_NONE = 0,     /* the record's cell only */
    CR_KERNEL_QUARTIC,      /* 3 / (pi h^2) (1 - u^2)^2 */
    CR_KERNEL_EPANECHNIKOV, /* 2 / (pi h^2) (1 - u^2) */
    CR_KERNEL_TRIWEIGHT,    /* 4 / (pi h^2) (1 - u^2)^3 */
    CR_KERNEL_UNIFORM,      /* 1 / (pi h^2) */
    CR_KERNEL_TRIANGULAR,   /* 3 / (pi h^2) (1 - u) */
    CR_KERNEL_GAUSSIAN      /* exp(-d^2 / 2 s^2) / (2 pi s^2), s = h / 3, cut at h */
} cr_kernel;

/* The kernel named name ("none", "quartic", ...); fails with CR_E_USAGE listing the
 * names. */
CR_API cr_status cr_kernel_parse(cr_ctx *ctx, const char *name, cr_kernel *out);

/* The names of the kernels in the enum's order, NULL-terminated. */
CR_API extern const char *const cr_kernel_names[];

/* The name of a kernel ("quartic"). */
CR_API const char *cr_kernel_name(cr_kernel kernel);

/* The continuous density of the kernel at distance d for bandwidth h, per unit
 * area (it integrates to 1 over the plane; the Gaussian to 1 - exp(-4.5) inside its
 * cut). 0 for CR_KERNEL_NONE. */
CR_API double cr_kernel_density(cr_kernel kernel, double d, double h);

/* Why a record was rejected. */
typedef enum cr_reject_reason {
    CR_REJECT_MISSING_COORDINATE = 0, /* empty coordinate field, null or empty geometry */
    CR_REJECT_BAD_COORDINATE,         /* not a number, or not finite */
    CR_REJECT_LATITUDE_RANGE,         /* geographic input, latitude outside -90..90 */
    CR_REJECT_LONGITUDE_RANGE,        /* geographic input, longitude outside -180..180 */
    CR_REJECT_NOT_A_POINT,            /* an OGR geometry that is not a point or multipoint */
    CR_REJECT_UNPROJECTABLE,          /* the transformation to the grid CRS failed */
    CR_REJECT_COUNT_NOT_NUMERIC,      /* empty or not a number */
    CR_REJECT_COUNT_NEGATIVE,
    CR_REJECT_COUNT_NAN,
    CR_REJECT_COUNT_INFINITE,
    CR_REJECT_COUNT_TOO_LARGE,        /* above CR_ARRIVALS_MAX_COUNT */
    CR_REJECT_MISSING_DATE,           /* empty date when a date field is used */
    CR_REJECT_BAD_DATE,               /* not an ISO 8601 date */
    CR_REJECT_NO_ALLOWED_CELL,        /* --mask allows no cell within the bandwidth (the
                                       * record's own cell without a kernel) */
    CR_REJECT_UNMATCHED_AREA,         /* --table: the row's code is empty or matches no
                                       * polygon of --areas */
    CR_REJECT_AREA_MATCHED_TWICE,     /* --table: an earlier row matched the same area */
    CR_REJECT_REASONS                 /* the number of reasons */
} cr_reject_reason;

/* The largest count one record may hold: a hundred times the world's population, so
 * that no sum of records (there are fewer than 10^20 of them) comes near what a Float32
 * cell holds (3.4e38) and no output cell can be +Inf. */
#define CR_ARRIVALS_MAX_COUNT 1e12

/* The identifier of a reason, "latitude_out_of_range", as used in summaries and
 * the rejection report. */
CR_API const char *cr_reject_reason_name(cr_reject_reason reason);

/* How many record ids each reason keeps for messages and summaries. */
#define CR_ARRIVALS_FIRST_IDS 5

/* Options of cr_arrivals(); initialise with cr_arrivals_opts_init(). */
typedef struct cr_arrivals_opts {
    const char *layer;       /* OGR layer name; default NULL: the only layer */
    const char *x_field;     /* coordinate fields (name or HXL tag); default NULL: detected */
    const char *y_field;     /*   for CSV, the geometry or detected fields for OGR */
    const char *src_crs;     /* CRS of the records; default NULL: the layer's, EPSG:4326 for CSV */
    const char *count_field; /* default NULL: each record counts 1 */
    const char *date_field;  /* default NULL: dates are not read */
    const char *from;        /* inclusive ISO 8601 window, needs date_field; default NULL */
    const char *to;
    const char *where;       /* attribute filter, OGR SQL (a subset for CSV); default NULL */
    const char *mask_path;   /* raster whose valid non-zero cells are allowed (or polygons):
                              * kernels keep their mass on allowed cells; default NULL */
    const char *mask_layer;  /* the layer of polygons of a multi-layer mask; default NULL */

    /* Counts by area instead of records (areas_path set, points_path NULL): polygons each
     * carrying a count (count_field), or a code (area_key) joined to the rows of a CSV
     * table (table_path: table_key and count_field, names or HXL tag patterns; date_field,
     * from, to and where apply to its rows). layer picks the polygons' layer. Each area's
     * count is spread over its cells by exact area share, or in proportion to the raster
     * weight_path read as counts (sum resampling). */
    const char *areas_path;
    const char *area_key;
    const char *table_path;
    const char *table_key;
    const char *weight_path;

    /* The grid: grid_path's, else bounds (when has_bounds, else the records' extent
     * grown by the bandwidth) at resolution in crs. */
    const char *grid_path;
    int has_bounds;
    cr_bounds bounds;
    double resolution;
    const char *crs;

    cr_kernel kernel;        /* default CR_KERNEL_NONE */
    double bandwidth;        /* in grid CRS units (metres), > 0 with a kernel */
    int strict;              /* fail (CR_E_DATA) at the first rejected record; default 0 */
    const char *report_path; /* CSV of every rejected record; default NULL */
    int overwrite;           /* default 0 */
    const char *const *styles;  /* QGIS styles the caller writes beside the output
                                 * (cr_qml_write), NULL-terminated: checked with the output,
                                 * before any work; default NULL */
    char **creation_options; /* -co for the COG; default NULL */
    cr_tile_spec tile;       /* --tile / --window: write only that window of the grid, as a tile
                              * (cityrisk/tile.h); zeroed: the whole grid. Records only: refused
                              * (CR_E_USAGE) with areas_path */
} cr_arrivals_opts;

CR_API void cr_arrivals_opts_init(cr_arrivals_opts *opts);

/* What cr_arrivals() read and wrote. Ids are CSV line numbers (1-based, the line a
 * record starts on) or OGR feature ids, as ids_are_lines says. */
typedef struct cr_arrivals_summary {
    int ids_are_lines;
    int64_t records_read;      /* data records (not the header or HXL row) */
    int64_t records_accepted;
    int64_t records_rejected;
    int64_t rejected[CR_REJECT_REASONS];
    int64_t first_ids[CR_REJECT_REASONS][CR_ARRIVALS_FIRST_IDS]; /* the first ids, -1 unused */
    int64_t excluded_by_date;  /* valid records outside the --from/--to window */
    int64_t excluded_by_where; /* CSV records the filter left out (OGR filters at the source) */
    int64_t records_outside_grid;
    /* Records far outside the others, left out of a grid made from the records' extent
     * (docs/arrivals.md, "Outliers"); they are also among records_outside_grid. */
    int64_t records_far;
    int64_t far_ids[CR_ARRIVALS_FIRST_IDS]; /* the first ids, -1 unused */
    double arrivals_far;
    double arrivals_total;       /* the counts of the accepted records */
    double arrivals_in_grid;     /* ... of those inside the grid: the raster's sum */
    double arrivals_outside_grid;
    double kernel_mass_outside;  /* kernel mass beyond the grid edge, renormalised in */
    double kernel_mass_masked;   /* kernel mass on cells the mask refuses, renormalised onto
                                  * the allowed ones */
    double raster_sum;           /* the sum of the written cells (Float32), for checking: the
                                  * window's with opts.tile */
    /* Counts by area: the areas with a count, those that fell back to area share because
     * their cells have no weight, and the features of --areas sharing a code with an
     * earlier one (one area with it). */
    int64_t areas;
    int64_t areas_zero_weight;
    int64_t areas_duplicate;
    char date_first[11];         /* YYYY-MM-DD of the earliest and latest valid dates */
    char date_last[11];          /*   read, "" when none */
    cr_grid *grid;               /* the grid written, owned by the summary: the window's with
                                  * opts.tile */
    cr_window window;            /* the window of the whole grid written (all of it without
                                  * opts.tile) */
    int full_width, full_height; /* the whole grid's size */
} cr_arrivals_summary;

/* Frees what a summary owns (its grid). Accepts NULL. */
CR_API void cr_arrivals_summary_clear(cr_arrivals_summary *summary);

/* Reads the records at points_path and writes arrivals per cell to a Float32 COG at
 * out_path. summary, when non-NULL, is filled (clear it with
 * cr_arrivals_summary_clear()). Fails with CR_E_USAGE on bad options (a kernel
 * without a bandwidth, a window without a date field, a bad --where), CR_E_DATA on
 * a source without coordinates or CRS, a grid that is geographic under a kernel,
 * and on the first rejected record when strict; with CR_E_EXISTS when an output
 * exists; with CR_E_USAGE, before any work, when the output, the report or a style is
 * an input or two of them are one file. Rejections are logged as one warning per reason with the first ids.
 * Reports progress through the context. Writes nothing on failure.
 *
 * With opts->tile, every record is still read, checked, counted and normalised (the
 * summary's counts and the report are the whole run's), but only the blocks of the
 * window are summed and written, to a COG on the window's grid marked by cr_tile_mark():
 * its values are the single run's in the window, bit for bit (each block sums the same
 * records in the same order as the single run). A misaligned window fails with
 * CR_E_USAGE once the grid is known. */
CR_API cr_status cr_arrivals(cr_ctx *ctx, const char *points_path, const char *out_path,
                             const cr_arrivals_opts *opts, cr_arrivals_summary *summary);

#ifdef __cplusplus
}
#endif

#endif
