/* zonal_internal.h: the parts of `cityrisk zonal` shared between its files (internal). */
#ifndef CITYRISK_ZONAL_INTERNAL_H
#define CITYRISK_ZONAL_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include <gdal.h>
#include <json-c/json.h>

#include "cityrisk/coverage.h"
#include "cityrisk/zonal.h"
#include "core/polygons.h"
#include "core/zones.h"

/* Where each input sits among the values of a cell, and what is accumulated: the
 * plan of a run, fixed before the first tile. Source indices are -1 for inputs not
 * given. */
typedef struct cr_zplan {
    int src_score, src_uplift, src_arrivals, src_water, src_informal, src_population;
    int src_sea[CR_ZONAL_MAX_SCENARIOS];
    int nscen;
    char scen_suffix[CR_ZONAL_MAX_SCENARIOS][64]; /* "_ssp245_2100", "" for one band */
    int src_generic;        /* the first generic raster; they follow in order */
    int ngeneric;
    const cr_zonal_raster *generic;
    int nsources;
    const cr_stat *stats;
    int nstats;
    int *weight_src;        /* per statistic: the weight's source for weighted_mean, else -1 */
    int generic_lists;      /* a median, quantile or majority needs the cells */
    int moments;            /* a stdev needs the weighted moments */
    int generic_extra;      /* a frac or weighted_mean needs its sums */
    int domain;             /* a domain raster is given */
    double demand_share;
    size_t acc_size;        /* doubles per zone */
    size_t off_scen, off_generic, generic_stride;
    int nlists;             /* value lists per zone: the score's, then one per generic raster */
    int col_score_mean, col_score_class, col_score_rank; /* -1 when absent */
    int col_coverage;       /* the coverage --min-coverage asks of a zone: land_data_coverage
                             * with --sea, else data_coverage */
} cr_zplan;

/* Lays out the accumulators of plan (sources, stats and demand_share set). */
void cr_zplan_layout(cr_zplan *plan);

/* Sets an accumulator to "nothing seen" (zeros, and the min/max sentinels). */
void cr_zacc_init(const cr_zplan *plan, double *acc);

/* A growable list of (value, weight) pairs. */
typedef struct cr_wlist {
    double *x, *w;
    size_t n, cap;
} cr_wlist;

void cr_wlist_free(cr_wlist *l);

/* Adds one cell to acc: v[nsources] its values (NaN = invalid), f its coverage fraction
 * (above 0: callers skip uncovered cells), ca = f times its area in m2; lists (plan->nlists) receive the listed values. Returns 0
 * when out of memory. */
int cr_zacc_add(const cr_zplan *plan, double *acc, const double *v, double f, double ca,
                cr_wlist *lists);

/* Adds n cells of one grid row to acc as cr_zacc_add() does each (with the same
 * result): values[source] points to the row's values of each source, cov to the
 * fractions (cells with 0 are skipped), cell_area is the row's cell area in m2. */
int cr_zacc_add_row(const cr_zplan *plan, double *acc, const float *const *values,
                    const double *cov, int n, double cell_area, cr_wlist *lists);

/* Merges src into dst. */
void cr_zacc_merge(const cr_zplan *plan, double *dst, const double *src);

/* The output columns of plan, in order: *out (free()) and their number. Also sets the
 * plan's col_* indices. Returns 0 when out of memory. */
int cr_zplan_columns(cr_zplan *plan, cr_column **out, int *count);

/* Writes zone z's values into values[c * nzones + z] from its accumulator (NULL when no
 * cell of the grid was covered) and lists; empty is set for a zone without geometry.
 * The score class and rank are left NaN (they need every zone). Returns 1 when a covered
 * cell had a valid value in some raster. */
int cr_zacc_finish(const cr_zplan *plan, const double *acc, cr_wlist *lists, double area_m2,
                    int empty, double *values, int64_t nzones, int64_t z);

/* ---- part files (zonal_part.c) ---- */

#define CR_ZPART_FORMAT "cityrisk-zonal-part"

/* v as JSON text that reads back to the same double (NaN and infinities as the strings
 * "nan", "inf", "-inf"), into text (40 bytes are enough). */
void cr_zpart_format(double v, char *text, size_t size);

/* v as a JSON value written by cr_zpart_format(). */
json_object *cr_zpart_json_number(double v);

/* A number written by cr_zpart_format() into *out; 0 when o is none. */
int cr_zpart_number(json_object *o, double *out);

/* Writes the record of zone's accumulator acc and its value lists over block (its index
 * among the grid's blocks in raster order), preceded by a comma unless first. */
void cr_zpart_write_record(FILE *f, const cr_zplan *plan, int64_t block, int64_t zone,
                           const double *acc, const cr_wlist *lists, int first);

/* A fingerprint of the bytes of the file at path ("fnv1a64:HEX,N bytes") into out. */
cr_status cr_zpart_fingerprint(cr_ctx *ctx, const char *path, char *out, size_t size);

/* A part file as read. */
typedef struct cr_zpart {
    const char *path;
    json_object *doc;     /* the whole file */
    json_object *run;     /* what every part of the run shares (in doc) */
    json_object *records; /* (in doc) */
    cr_window window;     /* the cells of the grid it covers */
    char tile[32];        /* "I/N", "" for --window */
    int64_t blocks;       /* blocks it read */
} cr_zpart;

/* Reads the part file at path; fails with CR_E_DATA naming it when it is not one (not
 * JSON, truncated, another format or version, parts missing). Close with cr_zpart_close(). */
cr_status cr_zpart_open(cr_ctx *ctx, const char *path, cr_zpart *p);
void cr_zpart_close(cr_zpart *p);

/* One zone's partial accumulator over one block. */
typedef struct cr_zrecord {
    int64_t block, zone;
    double *acc;       /* plan->acc_size */
    cr_wlist *lists;   /* plan->nlists */
} cr_zrecord;

void cr_zrecord_free(const cr_zplan *plan, cr_zrecord *r);

/* Appends the records of p to *all (*count of them, grown), each checked against plan
 * (its accumulator and lists), the zones' count and p's window of grid: CR_E_DATA
 * naming the part and record otherwise. */
cr_status cr_zpart_records(cr_ctx *ctx, cr_zpart *p, const cr_zplan *plan, const cr_grid *grid,
                           int64_t nzones, cr_zrecord **all, size_t *count);

#endif
