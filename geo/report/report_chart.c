/* report_chart.c: the rank-interval chart of the sensitivity analysis (report_internal.h).
 *
 * One row per top zone by nominal rank (max(top, 10) rows, at most 20): a line from the
 * 5th to the 95th percentile of its rank over the runs, a tick at the median, a dot at the
 * nominal rank; an x axis of ranks with 1 (most exposed) at the left. Okabe-Ito colours
 * (blue line, vermillion dot) stay apart for colour-blind readers; <title> and <desc> give
 * the chart's content as text. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"

/* Rows at least (when enough zones have ranks) and at most. */
#define CHART_ROWS_MIN 10
#define CHART_ROWS_MAX 20
/* A name longer than this many characters is cut with an ellipsis. */
#define CHART_NAME_CHARS 28
/* The layout, in SVG units. */
#define CHART_WIDTH 640.0
#define CHART_LEFT 210.0  /* the names' column */
#define CHART_RIGHT 24.0
#define CHART_TOP 44.0    /* the legend above the rows */
#define CHART_ROW 24.0
#define CHART_BOTTOM 52.0 /* the axis below */
#define CHART_LINE "#0072B2"
#define CHART_DOT "#D55E00"
#define CHART_FONT "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"

/* 1 when every rank the chart draws of the zone is a number. */
static int has_ranks(const report_zone *z)
{
    return isfinite(z->rank_nominal) && isfinite(z->rank_p05) && isfinite(z->rank_p50) && isfinite(z->rank_p95);
}

/* A zone with its nominal rank, for sorting without global state. */
typedef struct ranked_zone {
    double rank;
    int zone;
} ranked_zone;

/* Zones by nominal rank, then by their order in the model. */
static int by_nominal_rank(const void *a, const void *b)
{
    const ranked_zone *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return (x->zone > y->zone) - (x->zone < y->zone);
}

/* The indices of the zones to draw, best rank first (malloc'd); their count in *n. */
static int *top_zones(const report_model *r, int *n)
{
    size_t size = (size_t)(r->nzones > 0 ? r->nzones : 1);
    ranked_zone *ranked = malloc(sizeof *ranked * size);
    int *rows = malloc(sizeof *rows * size);
    *n = 0;
    if (!ranked || !rows) {
        free(ranked);
        free(rows);
        return NULL;
    }
    for (int z = 0; z < r->nzones; z++)
        if (has_ranks(&r->zones[z]))
            ranked[(*n)++] = (ranked_zone){r->zones[z].rank_nominal, z};
    qsort(ranked, (size_t)*n, sizeof *ranked, by_nominal_rank);
    int top = r->o ? r->o->top : 0;
    int want = top > CHART_ROWS_MIN ? top : CHART_ROWS_MIN;
    want = want < CHART_ROWS_MAX ? want : CHART_ROWS_MAX;
    if (*n > want)
        *n = want;
    for (int i = 0; i < *n; i++)
        rows[i] = ranked[i].zone;
    free(ranked);
    return rows;
}

/* A rank as text: whole ranks without decimals, a median between two ranks with one. */
static void rank_text(double rank, char *buf, size_t size)
{
    snprintf(buf, size, fabs(rank - round(rank)) < 1e-9 ? "%.0f" : "%.1f", rank);
}

/* The name shown for a zone: its name, else its id. */
static const char *zone_label(const report_zone *z)
{
    return z->name && *z->name ? z->name : z->id ? z->id : "";
}

/* Appends a name escaped, cut to CHART_NAME_CHARS characters (at a whole UTF-8
 * character) with an ellipsis when longer. */
static void put_short_name(report_buf *b, const char *name)
{
    size_t chars = 0, cut = 0;
    for (const char *p = name; *p; p++)
        if (((unsigned char)*p & 0xC0) != 0x80 && ++chars == CHART_NAME_CHARS)
            cut = (size_t)(p - name); /* where the last character kept ends, if cut */
    if (chars <= CHART_NAME_CHARS) {
        report_buf_html(b, name);
        return;
    }
    char *head = strndup(name, cut);
    if (!head) {
        b->failed = 1;
        return;
    }
    report_buf_html(b, head);
    report_buf_puts(b, "\xE2\x80\xA6");
    free(head);
}

/* Appends "Name: nominal rank 3, 5-95 % of runs between ranks 2 and 6", escaped. */
static void put_zone_sentence(report_buf *b, const report_zone *z)
{
    char nominal[32], low[32], high[32];
    rank_text(z->rank_nominal, nominal, sizeof nominal);
    rank_text(z->rank_p05, low, sizeof low);
    rank_text(z->rank_p95, high, sizeof high);
    report_buf_html(b, zone_label(z));
    report_buf_printf(b, ": nominal rank %s, 5-95 %% of runs between ranks %s and %s", nominal, low, high);
}

/* The axis's largest rank and tick step: steps of 1, 2 or 5 times a power of ten, about
 * six ticks. */
static void axis_scale(double max_rank, double *axis_max, double *step)
{
    double raw = fmax(max_rank - 1, 1) / 6, power = pow(10, floor(log10(raw)));
    double m = raw / power;
    *step = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power;
    *axis_max = fmax(ceil(max_rank / *step) * *step, 2);
    if (!isfinite(*axis_max)) /* rounded up beyond the largest double: the ticks would never end */
        *axis_max = max_rank;
}

/* The chart's geometry: where rank 1 and the axis's largest rank are. */
typedef struct chart_axis {
    double max, step;
} chart_axis;

static double rank_x(const chart_axis *a, double rank)
{
    return CHART_LEFT + (rank - 1) / (a->max - 1) * (CHART_WIDTH - CHART_LEFT - CHART_RIGHT);
}

/* Appends the legend: a line, a tick and a dot with what each means. */
static void put_legend(report_buf *b)
{
    double y = 18;
    report_buf_printf(b,
                      "<g class=\"legend\" font-size=\"12\">"
                      "<line x1=\"%g\" x2=\"%g\" y1=\"%g\" y2=\"%g\" stroke=\"" CHART_LINE "\" stroke-width=\"3\"/>"
                      "<text x=\"%g\" y=\"%g\">5-95 %% of runs</text>"
                      "<line x1=\"%g\" x2=\"%g\" y1=\"%g\" y2=\"%g\" stroke=\"#000\" stroke-width=\"2\"/>"
                      "<text x=\"%g\" y=\"%g\">median</text>"
                      "<circle cx=\"%g\" cy=\"%g\" r=\"5\" fill=\"" CHART_DOT "\"/>"
                      "<text x=\"%g\" y=\"%g\">nominal rank</text></g>",
                      CHART_LEFT, CHART_LEFT + 28, y, y, CHART_LEFT + 34, y + 4, CHART_LEFT + 150, CHART_LEFT + 150,
                      y - 6, y + 6, CHART_LEFT + 156, y + 4, CHART_LEFT + 230, y, CHART_LEFT + 240, y + 4);
}

/* Appends one zone's row. */
static void put_row(report_buf *b, const report_model *r, int z, int row, const chart_axis *a)
{
    const report_zone *zone = &r->zones[z];
    double y = CHART_TOP + (row + 0.5) * CHART_ROW;
    report_buf_printf(b, "<g class=\"row\" data-zone=\"%d\"><title>", z);
    put_zone_sentence(b, zone);
    report_buf_printf(b, "</title><text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">", CHART_LEFT - 10, y + 4);
    put_short_name(b, zone_label(zone));
    report_buf_printf(b,
                      "</text><line class=\"interval\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
                      "stroke=\"" CHART_LINE "\" stroke-width=\"3\" stroke-linecap=\"round\"/>"
                      "<line class=\"median\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
                      "stroke=\"#000\" stroke-width=\"2\"/>"
                      "<circle class=\"nominal\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"" CHART_DOT "\"/></g>",
                      rank_x(a, zone->rank_p05), rank_x(a, zone->rank_p95), y, y, rank_x(a, zone->rank_p50),
                      rank_x(a, zone->rank_p50), y - 7, y + 7, rank_x(a, zone->rank_nominal), y);
}

/* Appends the x axis below rows rows: a line, ticks at 1 and every step, their ranks, and
 * the axis's label. */
static void put_axis(report_buf *b, int rows, const chart_axis *a)
{
    double y = CHART_TOP + rows * CHART_ROW + 6;
    report_buf_printf(b,
                      "<g class=\"axis\" font-size=\"12\">"
                      "<line x1=\"%g\" x2=\"%g\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>",
                      CHART_LEFT, CHART_WIDTH - CHART_RIGHT, y, y);
    for (double t = 1; t <= a->max + 1e-9; t = t == 1 && a->step > 1 ? a->step : t + a->step)
        report_buf_printf(b,
                          "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>",
                          rank_x(a, t), rank_x(a, t), y, y + 5, rank_x(a, t), y + 18, t);
    report_buf_printf(b, "<text x=\"%g\" y=\"%.1f\" text-anchor=\"middle\">Rank (1 = most exposed)</text></g>",
                      (CHART_LEFT + CHART_WIDTH - CHART_RIGHT) / 2, y + 38);
}

/* Appends the whole chart of the given rows. */
static void put_chart(report_buf *b, const report_model *r, const int *rows, int n)
{
    double max_rank = 2;
    for (int i = 0; i < n; i++) {
        const report_zone *z = &r->zones[rows[i]];
        max_rank = fmax(max_rank, fmax(z->rank_p95, fmax(z->rank_nominal, z->rank_p50)));
    }
    chart_axis a;
    axis_scale(max_rank, &a.max, &a.step);
    report_buf_printf(b,
                      "<svg id=\"rank-chart\" role=\"img\" viewBox=\"0 0 %g %g\" "
                      "xmlns=\"http://www.w3.org/2000/svg\" font-family=\"" CHART_FONT "\" font-size=\"13\" "
                      "aria-labelledby=\"rank-chart-title rank-chart-desc\"><title id=\"rank-chart-title\">"
                      "Rank intervals of the %d most exposed zones over the sensitivity runs</title>"
                      "<desc id=\"rank-chart-desc\">Each row is a zone, best nominal rank first: "
                      "the dot is its nominal rank, "
                      "the line spans its ranks in 5 %% to 95 %% of runs, the tick is the median.",
                      CHART_WIDTH, CHART_TOP + n * CHART_ROW + CHART_BOTTOM, n);
    for (int i = 0; i < n; i++) {
        report_buf_puts(b, " ");
        put_zone_sentence(b, &r->zones[rows[i]]);
        report_buf_puts(b, ".");
    }
    report_buf_puts(b, "</desc>");
    put_legend(b);
    for (int i = 0; i < n; i++)
        put_row(b, r, rows[i], i, &a);
    put_axis(b, n, &a);
    report_buf_puts(b, "</svg>");
}

cr_status report_chart(cr_ctx *ctx, report_model *r)
{
    free(r->rank_chart_svg);
    r->rank_chart_svg = NULL;
    if (!r->has_sensitivity)
        return CR_OK;
    int n = 0;
    int *rows = top_zones(r, &n);
    report_buf b = {0};
    if (rows)
        put_chart(&b, r, rows, n);
    free(rows);
    if (!rows || b.failed) {
        report_buf_free(&b);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory drawing the rank chart");
    }
    r->rank_chart_svg = b.data;
    return CR_OK;
}
