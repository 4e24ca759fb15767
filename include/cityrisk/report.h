/*
 * report.h: one self-contained HTML report of a city's exposure, from the outputs
 * cityrisk already writes (docs/report.md).
 *
 * The report reads one or more zonal outputs (any OGR vector, each a "view": one
 * combination of a sweep, "LABEL;LABEL=FILE" or just FILE), optionally the exposure
 * raster of each view (drawn under the outlines), the sensitivity output (rank
 * intervals) and the inundation raster (its sea-level source and DEM error for the
 * caveats). It writes one HTML file with every style, script and image inline: a summary
 * generated from the numbers, an interactive SVG map with a scenario switch, a sortable
 * and filterable table, cards for the top zones, the rank-interval chart, the methods and
 * the provenance of every input. Nothing in it requests the network.
 */
#ifndef CITYRISK_REPORT_H
#define CITYRISK_REPORT_H

#include <stdint.h>

#include "cityrisk/context.h"
#include "cityrisk/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Above this many zones the table is paged (CR_REPORT_PAGE_ROWS rows a page) and the
 * map's outlines are simplified more (docs/report.md gives the tolerances). */
#define CR_REPORT_LARGE_ZONES 2000
#define CR_REPORT_PAGE_ROWS 100

typedef struct cr_report_opts {
    char **zones;            /* CSL, required: "LABEL[;LABEL...]=FILE" or FILE, one per view */
    char **by;               /* CSL: the variables the labels are of (as gather's --by); NULL */
    char **exposure;         /* CSL: with by, "LABEL[;LABEL...]=FILE" matching a view's labels;
                              * without, FILEs in the order of zones; one FILE alone (no
                              * labels) serves every view; NULL: no raster under the outlines */
    const char *sensitivity; /* cityrisk sensitivity's zones output; NULL: none */
    const char *inundation;  /* cityrisk inundation's depth raster; NULL: none */
    const char *id_field;    /* NULL: zonal's recorded id field, else the first field */
    const char *name_field;  /* NULL: zonal's recorded name field, else "name" when present */
    const char *title;       /* NULL: "Migrant exposure to climate hazards" */
    const char *city;        /* NULL: none shown */
    const char *lang;        /* NULL or "en": the only language so far */
    int top;                 /* cards and chart for the top N zones (default 5; 0: none) */
    int overwrite;
} cr_report_opts;

/* Sets the defaults above. */
CR_API void cr_report_opts_init(cr_report_opts *o);

/* What a report holds. */
typedef struct cr_report_summary {
    int views;              /* zonal outputs read */
    int64_t zones;          /* zones (rows of the table) */
    int images;             /* exposure rasters embedded */
    int sensitivity;        /* 1 when rank intervals are shown */
    int paged;              /* 1 when the table is paged (more than CR_REPORT_LARGE_ZONES) */
    double tolerance;       /* the map's simplification tolerance, in the zones' CRS units */
    int64_t bytes;          /* the size of the HTML file */
} cr_report_summary;

/* Checks the options that need no file (some zones, --lang, --top within 0..256): CR_E_USAGE
 * naming the option. cr_report() applies it; `cityrisk run` through the command's check
 * before any stage runs. */
CR_API cr_status cr_report_opts_check(cr_ctx *ctx, const cr_report_opts *o);

/* Writes the report to out (atomically: a temporary file in out's folder renamed over
 * nothing; an existing out only with overwrite, else CR_E_EXISTS). CR_E_USAGE for a
 * malformed LABEL=FILE or an unknown language; CR_E_DATA for an input that is not what
 * the report reads (a zones file without the id field or without score_mean, an exposure
 * label matching no view, zones files with different zones' CRS); CR_E_IO when a file
 * cannot be read or written. */
CR_API cr_status cr_report(cr_ctx *ctx, const char *out, const cr_report_opts *o, cr_report_summary *summary);

#ifdef __cplusplus
}
#endif

#endif
