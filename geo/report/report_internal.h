/* report_internal.h: the report's model, filled by report_load.c (the zonal outputs,
 * sensitivity, rasters' metadata), report_map.c (SVG outlines, embedded images) and
 * report_chart.c (the rank-interval chart), written by report_html.c with the sentences of
 * report_summary.c; internal to the library. */
#ifndef CITYRISK_REPORT_INTERNAL_H
#define CITYRISK_REPORT_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "cityrisk/classes.h"
#include "cityrisk/report.h"
#include "core/buf.h"

/* ---- A growing string (report_buf.c) ---- */

/* The core's growing string (core/buf.h), with the escapes the page needs. */
typedef cr_buf report_buf;

/* Appends n bytes of s (always NUL-terminated after). */
void report_buf_add(report_buf *b, const char *s, size_t n);
/* Appends the string s (nothing for NULL). */
void report_buf_puts(report_buf *b, const char *s);
/* Appends printf-style text. */
void report_buf_printf(report_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Appends s as HTML text or attribute value: cleaned to UTF-8 as cr_text_clean() does
 * (control characters dropped, invalid bytes U+FFFD), then & < > " ' escaped. */
void report_buf_html(report_buf *b, const char *s);
/* Appends s as the contents of a JSON string (without the quotes) that is safe inside a
 * <script> element: " \ and control characters escaped, and < > & as \u003c \u003e \u0026
 * so that no "</script>" or "<!--" can appear; invalid UTF-8 becomes U+FFFD. */
void report_buf_json_string(report_buf *b, const char *s);
/* Appends x as a JSON number with at most the given significant digits ("%.*g"), or
 * null when x is NaN or infinite. */
void report_buf_json_number(report_buf *b, double x, int digits);
/* Appends the base64 (RFC 4648, with padding) of n bytes. */
void report_buf_base64(report_buf *b, const unsigned char *data, size_t n);
/* Frees the text; the buffer is empty again. */
void report_buf_free(report_buf *b);

/* The most top zones (--top) with a card each. */
#define REPORT_TOP_MAX 256

/* ---- The metrics ---- */

/* A metric of the table: zonal's field (for a per-scenario metric, the stem, read as
 * FIELD_<scenario suffix> when the file has it, else FIELD), its header and unit. */
typedef struct report_metric {
    const char *field;    /* "arrivals_flooded" */
    const char *label;    /* "Arrivals in flooded cells" */
    const char *unit;     /* "people", "%" (a share shown x100), "0-10", "1-5", ""; the header
                           * shows it in parentheses */
    int percent;          /* 1: a share in 0..1 shown as a percentage */
    int decimals;         /* digits after the point when shown */
    int per_scenario;     /* 1: zonal writes it per sea scenario (a suffix) */
} report_metric;

/* The table's metrics in column order (after the name); report_metric_count() of them. */
extern const report_metric REPORT_METRICS[];
int report_metric_count(void);
/* The index of the metric with the given field, -1 when none. */
int report_metric_find(const char *field);

/* ---- The model ---- */

/* A zone: one row of the table, one outline of the map. */
typedef struct report_zone {
    char *id;           /* the id field as text */
    char *name;         /* the name field ("" when none: the id is shown) */
    void *geometry;     /* OGRGeometryH in the model's CRS (from the first view that has the
                         * zone), owned; NULL when none */
    char *svg_path;     /* "M x y L ... Z ..." in map units (report_map.c); NULL when none */
    /* sensitivity (NaN when none) */
    double rank_nominal, rank_p05, rank_p50, rank_p95, p_top, score_p05, score_p50, score_p95;
} report_zone;

/* A view: one zonal output, one position of the scenario switch. */
typedef struct report_view {
    char *label;        /* the labels joined with ';' ("ssp245-2100;default"), or the file's
                         * stem without labels */
    char *title;        /* as shown: the labels joined with " / " */
    char *path;         /* the zonal output */
    char *scenario;     /* the sea scenario of its per-scenario metrics ("ssp245-2100"): the
                         * label whose suffix the file's fields carry, else the only one; ""
                         * when the file has none */
    json_object *provenance; /* the file's cityrisk member (CITYRISK_VERSION, _COMMAND,
                              * _INPUTS, _PARAMETERS, _FORMULA), owned; NULL when none */
    char *exposure_path;     /* the exposure raster of this view; NULL when none */
    json_object *exposure_metadata; /* its dataset metadata (CITYRISK_*): items holding JSON
                                     * text parsed, the others strings; owned; NULL when none */
    char *image_base64;      /* the exposure classes as a PNG (report_map.c), malloc'd; NULL
                              * when none */
    double image_x, image_y, image_w, image_h; /* where the image goes, in map units */
    int absent;              /* the model's zones its file lacks (their values all NaN) */
} report_view;

/* The classes of the score (from the exposure raster's or zonal's CITYRISK_PARAMETERS,
 * else the INFORM defaults of classes.h). */
typedef struct report_classes {
    int n;
    double breaks[CR_CLASSES_MAX];
    char names[CR_CLASSES_MAX][48];
    char colors[CR_CLASSES_MAX][8]; /* "#rrggbb" (ColorBrewer YlOrRd by default) */
} report_classes;

/* A file the report read, and what its provenance says. */
typedef struct report_source {
    char *role;          /* "zones ssp245-2100;default", "exposure ...", "sensitivity", "inundation" */
    char *path;
    int64_t bytes;       /* -1 when it cannot be read */
    int64_t mtime;       /* seconds since the epoch, -1 when unknown */
    json_object *provenance; /* CITYRISK_* items, owned; NULL when none */
} report_source;

typedef struct report_model {
    const cr_report_opts *o;
    char *title, *city, *date, *version; /* date: YYYY-MM-DD (SOURCE_DATE_EPOCH when set) */
    /* zones x views x metrics: values[(v * nzones + z) * nmetrics + m], NaN when missing */
    int nzones, nviews, nmetrics;
    report_zone *zones;
    report_view *views;
    double *values;
    report_classes classes;
    /* the zones' CRS */
    char *crs_name;     /* "WGS 84 / UTM zone 36S" */
    char *crs_wkt;      /* for transforming rasters into it */
    int geographic;
    /* the map (report_map.c) */
    double map_width, map_height; /* the SVG's viewBox is 0 0 map_width map_height */
    double map_xmin, map_ymax, map_scale; /* map x = (X - xmin) * scale, y = (ymax - Y) * scale
                                           * (X scaled by cos(latitude) when geographic) */
    double tolerance;   /* simplification tolerance in CRS units */
    /* sensitivity */
    int has_sensitivity;
    char *sensitivity_path;
    json_object *sensitivity_parameters; /* its CITYRISK_PARAMETERS, owned; NULL when none */
    char *rank_chart_svg;                /* report_chart.c; NULL without sensitivity */
    /* inundation */
    char *inundation_path;
    json_object *inundation_parameters;  /* its CITYRISK_PARAMETERS, owned; NULL when none */
    /* every file read, in the order read */
    report_source *sources;
    int nsources;
    int paged;          /* nzones > CR_REPORT_LARGE_ZONES */
} report_model;

/* The file of a "LABEL[;LABEL...]=FILE" spec when labelled (by given), else the spec. */
const char *report_spec_file(const char *spec, int labelled);

/* The value of metric m of zone z in view v (NaN when missing). */
double report_value(const report_model *r, int v, int z, int m);

/* Fills the model from the options: views, zones, values, classes, CRS, sensitivity,
 * rasters' metadata, sources (report_load.c). */
cr_status report_load(cr_ctx *ctx, report_model *r, const cr_report_opts *o);

/* Frees everything the model owns. */
void report_model_free(report_model *r);

/* The map: viewBox, each zone's svg_path (simplified), each view's image (report_map.c). */
cr_status report_map(cr_ctx *ctx, report_model *r);

/* The rank-interval chart of the top zones as an SVG element with <title> and <desc>
 * (report_chart.c); sets r->rank_chart_svg, NULL without sensitivity. */
cr_status report_chart(cr_ctx *ctx, report_model *r);

/* The summary paragraph(s) as HTML (report_summary.c). */
void report_summary_html(const report_model *r, report_buf *out);

/* The drivers of zone z in view v as HTML-safe text ("flooding, informal housing"), ""
 * when none stands out (report_summary.c; rules in docs/report.md). */
void report_drivers(const report_model *r, int v, int z, char *buf, size_t size);

/* x with the given decimals (half away from zero, as JavaScript's toFixed()) and thousands
 * separators ("12,345.6"); "n/a" when not finite (report_summary.c). */
void report_format_number(char *buf, size_t size, double x, int decimals);
/* A count of people as the summary shows it: whole people, 3 significant figures from
 * 1,000 ("4,320", "123,000") (report_summary.c). */
void report_format_people(char *buf, size_t size, double x);
/* The first n zones of view v by score_rank (ties: higher score_mean, then the model's
 * order; zones without a rank left out) into out; returns how many (report_summary.c). */
int report_top_zones(const report_model *r, int v, int *out, int n);
/* The name of class k (1-based) of r->classes, "" when k is out of range or NaN. */
const char *report_class_name(const report_model *r, double k);

/* The whole page (report_html.c). */
void report_html(const report_model *r, report_buf *out);

#endif
