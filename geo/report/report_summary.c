/* report_summary.c: the summary written from the numbers, the drivers of a zone, the top
 * zones of a view and numbers formatted for people (report_internal.h).
 *
 * The drivers of a zone in a view (docs/report.md states the same rules), in this order:
 *   "flooding"          arrivals_flooded_share >= 0.25 or flood_area_share >= 0.25
 *                       (a quarter of the zone's arrivals or of its area in flooded cells)
 *   "informal housing"  informal_area_share >= 0.5 (half the zone is informal settlement)
 *   "high water stress" water_stress_mean >= 3 (Aqueduct's "High" baseline water stress,
 *                       scores 3-4, and above)
 *   "many arrivals"     arrivals_total > 0 and fewer than a quarter of the view's zones
 *                       with a value have more arrivals (the city's top quartile)
 * A missing value never makes a driver. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"

#define DRIVER_FLOOD_SHARE 0.25
#define DRIVER_INFORMAL_SHARE 0.5
#define DRIVER_WATER_STRESS 3.0
#define SUMMARY_TOP 5
#define SUMMARY_FULL_VIEWS 3 /* more views than this: the others as a compact list */

/* The value of the metric named field (NaN when the metric or the value is missing). */
static double metric_value(const report_model *r, int v, int z, const char *field)
{
    return report_value(r, v, z, report_metric_find(field));
}

void report_format_number(char *buf, size_t size, double x, int decimals)
{
    if (!size)
        return;
    if (!isfinite(x)) {
        snprintf(buf, size, "n/a");
        return;
    }
    if (decimals < 0)
        decimals = 0;
    /* half away from zero, as JavaScript's toFixed() does for the table */
    double scale = pow(10, decimals);
    double rounded = round(x * scale) / scale;
    if (rounded == 0)
        rounded = 0; /* no "-0" */
    char plain[64];
    snprintf(plain, sizeof plain, "%.*f", decimals, fabs(rounded));
    size_t digits = strcspn(plain, ".");
    size_t o = 0;
    if (rounded < 0 && o + 1 < size)
        buf[o++] = '-';
    for (size_t i = 0; plain[i] && o + 1 < size; i++) {
        if (i < digits && i > 0 && (digits - i) % 3 == 0 && o + 2 < size)
            buf[o++] = ',';
        buf[o++] = plain[i];
    }
    buf[o] = '\0';
}

void report_format_people(char *buf, size_t size, double x)
{
    if (isfinite(x) && fabs(x) >= 1000) {
        double step = pow(10, floor(log10(fabs(x))) - 2); /* 3 significant figures */
        x = round(x / step) * step;
    }
    report_format_number(buf, size, x, 0);
}

/* 1 when zone a ranks before zone b in view v: lower score_rank, then higher score, then
 * the model's order; zones without a rank after all others. */
static int ranks_before(const report_model *r, int v, int a, int b)
{
    int m_rank = report_metric_find("score_rank"), m_score = report_metric_find("score_mean");
    double ra = report_value(r, v, a, m_rank), rb = report_value(r, v, b, m_rank);
    if (isnan(ra) != isnan(rb))
        return isnan(rb);
    if (!isnan(ra) && ra != rb)
        return ra < rb;
    double sa = report_value(r, v, a, m_score), sb = report_value(r, v, b, m_score);
    if (!isnan(sa) && !isnan(sb) && sa != sb)
        return sa > sb;
    return a < b;
}

int report_top_zones(const report_model *r, int v, int *out, int n)
{
    int m_rank = report_metric_find("score_rank");
    int count = 0;
    /* insertion into a sorted list of at most n: n is small (the cards, the summary) */
    for (int z = 0; z < r->nzones; z++) {
        if (isnan(report_value(r, v, z, m_rank)))
            continue;
        int at = count < n ? count : n;
        while (at > 0 && ranks_before(r, v, z, out[at - 1]))
            at--;
        if (at >= n)
            continue;
        int last = count < n ? count : n - 1;
        memmove(out + at + 1, out + at, (size_t)(last - at) * sizeof *out);
        out[at] = z;
        if (count < n)
            count++;
    }
    return count;
}

/* 1 when zone z's arrivals are in the top quartile of view v (rule in the file's comment). */
static int many_arrivals(const report_model *r, int v, int z)
{
    int m = report_metric_find("arrivals_total");
    double a = report_value(r, v, z, m);
    if (!(a > 0))
        return 0;
    int with_value = 0, more = 0;
    for (int k = 0; k < r->nzones; k++) {
        double b = report_value(r, v, k, m);
        with_value += !isnan(b);
        more += b > a;
    }
    return more * 4 < with_value;
}

void report_drivers(const report_model *r, int v, int z, char *buf, size_t size)
{
    if (!size)
        return;
    buf[0] = '\0';
    const char *found[4];
    int n = 0;
    if (metric_value(r, v, z, "arrivals_flooded_share") >= DRIVER_FLOOD_SHARE
        || metric_value(r, v, z, "flood_area_share") >= DRIVER_FLOOD_SHARE)
        found[n++] = "flooding";
    if (metric_value(r, v, z, "informal_area_share") >= DRIVER_INFORMAL_SHARE)
        found[n++] = "informal housing";
    if (metric_value(r, v, z, "water_stress_mean") >= DRIVER_WATER_STRESS)
        found[n++] = "high water stress";
    if (many_arrivals(r, v, z))
        found[n++] = "many arrivals";
    size_t used = 0;
    for (int i = 0; i < n && used < size; i++) {
        int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", found[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* The name of class k (1-based), "" when out of range. */
const char *report_class_name(const report_model *r, double k)
{
    if (!(k >= 1 && k <= r->classes.n))
        return "";
    return r->classes.names[(int)k - 1];
}

/* What view v's numbers say: zones in the top two classes, zones without a class, arrivals
 * in flooded cells and all arrivals. */
typedef struct view_counts {
    int high, unclassed, classed;
    double flooded, arrivals;
    int has_flooded, has_arrivals;
} view_counts;

/* Counts view v's zones in the top two classes and without a class, and sums its arrivals. */
static view_counts count_view(const report_model *r, int v)
{
    view_counts c = {0};
    int m_class = report_metric_find("score_class"), m_flooded = report_metric_find("arrivals_flooded"),
        m_total = report_metric_find("arrivals_total");
    int lowest_high = r->classes.n - 1; /* the top two classes, 1-based */
    for (int z = 0; z < r->nzones; z++) {
        double k = report_value(r, v, z, m_class);
        double f = report_value(r, v, z, m_flooded), a = report_value(r, v, z, m_total);
        if (isnan(k))
            c.unclassed++;
        else
            c.classed++, c.high += k >= lowest_high;
        if (!isnan(f))
            c.flooded += f, c.has_flooded = 1;
        if (!isnan(a))
            c.arrivals += a, c.has_arrivals = 1;
    }
    return c;
}

/* "High or Very High": the names of the top two classes. */
static void put_high_names(const report_model *r, report_buf *out)
{
    int n = r->classes.n;
    if (n >= 2) {
        report_buf_html(out, r->classes.names[n - 2]);
        report_buf_puts(out, " or ");
    }
    if (n >= 1)
        report_buf_html(out, r->classes.names[n - 1]);
}

/* The arrivals in flooded cells of a view, with their share of all arrivals. */
static void put_flooded(report_buf *out, const view_counts *c)
{
    char num[64];
    if (!c->has_flooded) {
        report_buf_puts(out, "no arrivals in flooded cells are recorded");
        return;
    }
    report_format_people(num, sizeof num, c->flooded);
    if (strcmp(num, "0") == 0)
        report_buf_puts(out, "no arrivals live in flood-exposed cells");
    else
        report_buf_printf(out, "%s<strong>%s</strong> arrivals live in flood-exposed cells",
                          c->flooded >= 1000 ? "about " : "", num);
    if (c->has_arrivals && c->arrivals > 0 && strcmp(num, "0") == 0) {
        report_format_people(num, sizeof num, c->arrivals);
        report_buf_printf(out, " (of %s%s arrivals)", c->arrivals >= 1000 ? "about " : "the ", num);
    } else if (c->has_arrivals && c->arrivals > 0) {
        report_format_people(num, sizeof num, c->arrivals);
        char share[32];
        report_format_number(share, sizeof share, 100 * c->flooded / c->arrivals, 0);
        /* some flooded arrivals are not "0 %" */
        report_buf_printf(out, " (%s %% of %s)", strcmp(share, "0") == 0 ? "under 1" : share, num);
    }
}

/* ", the highest class reached is Low (3 zones)" when any zone has a class. */
static void put_highest_class(const report_model *r, int v, report_buf *out)
{
    int m = report_metric_find("score_class"), top = 0, count = 0;
    for (int z = 0; z < r->nzones; z++) {
        double k = report_value(r, v, z, m);
        if (!(k >= 1 && k <= r->classes.n))
            continue;
        if ((int)k > top)
            top = (int)k, count = 0;
        count += (int)k == top;
    }
    if (!top)
        return;
    report_buf_puts(out, " (the highest class reached is ");
    report_buf_html(out, r->classes.names[top - 1]);
    report_buf_printf(out, ", %d zone%s)", count, count == 1 ? "" : "s");
}

/* The full sentence of view v. */
static void put_view_sentence(const report_model *r, int v, report_buf *out)
{
    view_counts c = count_view(r, v);
    report_buf_puts(out, "<p>");
    if (r->nviews > 1) {
        report_buf_puts(out, "Under <strong>");
        report_buf_html(out, r->views[v].title);
        report_buf_puts(out, "</strong>, ");
    }
    char high[32], zones[32];
    report_format_number(high, sizeof high, c.high, 0);
    report_format_number(zones, sizeof zones, r->nzones, 0);
    if (c.high) {
        report_buf_printf(out, "<strong>%s</strong> of %s zones are ", high, zones);
        put_high_names(r, out);
    } else {
        /* the sentence's first word when no "Under ..." comes before it */
        report_buf_printf(out, "<strong>%s</strong> of the %s zones is ", r->nviews > 1 ? "none" : "None", zones);
        put_high_names(r, out);
        put_highest_class(r, v, out);
    }
    report_buf_puts(out, " and ");
    put_flooded(out, &c);
    report_buf_puts(out, ".");
    /* a zone missing from the view's file has no class either: said apart */
    int absent = r->views[v].absent, unscored = c.unclassed - absent;
    char count[32];
    if (unscored > 0) {
        report_format_number(count, sizeof count, unscored, 0);
        report_buf_printf(out, " %s zone%s had too little data to be classed or ranked.", count,
                          unscored == 1 ? "" : "s");
    }
    if (absent > 0) {
        report_format_number(count, sizeof count, absent, 0);
        report_buf_printf(out, " %s zone%s not in this view's file.", count, absent == 1 ? " is" : "s are");
    }
    report_buf_puts(out, "</p>\n");
}

/* One item of the compact list of the other views. */
static void put_view_item(const report_model *r, int v, report_buf *out)
{
    view_counts c = count_view(r, v);
    char num[64];
    report_buf_puts(out, "<li><strong>");
    report_buf_html(out, r->views[v].title);
    report_format_number(num, sizeof num, c.high, 0);
    report_buf_printf(out, "</strong>: %s ", num);
    put_high_names(r, out);
    if (c.has_flooded) {
        report_format_people(num, sizeof num, c.flooded);
        report_buf_printf(out, "; %s arrivals in flooded cells", num);
    }
    report_buf_puts(out, "</li>\n");
}

/* The top five of view v with what drives each. */
static void put_top_five(const report_model *r, int v, report_buf *out)
{
    int top[SUMMARY_TOP];
    int n = report_top_zones(r, v, top, SUMMARY_TOP);
    if (!n)
        return;
    report_buf_printf(out, "<p>The %d highest-ranked zones", n);
    if (r->nviews > 1) {
        report_buf_puts(out, " under <strong>");
        report_buf_html(out, r->views[v].title);
        report_buf_puts(out, "</strong>");
    }
    report_buf_puts(out, ", and what drives each:</p>\n<ol class=\"top-five\">\n");
    for (int i = 0; i < n; i++) {
        int z = top[i];
        char score[32], drivers[128];
        report_format_number(score, sizeof score, metric_value(r, v, z, "score_mean"), 1);
        report_drivers(r, v, z, drivers, sizeof drivers);
        report_buf_puts(out, "<li><strong>");
        report_buf_html(out, r->zones[z].name && *r->zones[z].name ? r->zones[z].name : r->zones[z].id);
        report_buf_printf(out, "</strong> (score %s", score);
        const char *cls = report_class_name(r, metric_value(r, v, z, "score_class"));
        if (*cls) {
            report_buf_puts(out, ", ");
            report_buf_html(out, cls);
        }
        report_buf_puts(out, "): ");
        report_buf_puts(out, *drivers ? drivers : "no single factor stands out");
        report_buf_puts(out, "</li>\n");
    }
    report_buf_puts(out, "</ol>\n");
}

/* How sure the top five's ranks are (sensitivity's 5-95 % rank intervals). */
static void put_certainty(const report_model *r, int v, report_buf *out)
{
    int top[SUMMARY_TOP];
    int n = report_top_zones(r, v, top, SUMMARY_TOP), shown = 0, sure = 0;
    for (int i = 0; i < n; i++) {
        const report_zone *z = &r->zones[top[i]];
        if (isnan(z->rank_p05) || isnan(z->rank_p95))
            continue;
        report_buf_puts(out, shown ? "; " : "<p>How sure are these ranks? Over the sensitivity runs, ");
        report_buf_html(out, z->name && *z->name ? z->name : z->id);
        report_buf_printf(out, " ranks %.0f&ndash;%.0f", z->rank_p05, z->rank_p95);
        shown++;
        sure += z->rank_p95 <= n;
    }
    if (!shown)
        return;
    report_buf_printf(out, " (5&ndash;95 %% of the runs). %d of these %d stay within the top %d in 95 %% of the "
                           "runs; a wide interval means the rank depends on the weights, method or sea level "
                           "chosen.</p>\n",
                      sure, shown, n);
}

void report_summary_html(const report_model *r, report_buf *out)
{
    if (r->nviews <= 0)
        return;
    int full = r->nviews <= SUMMARY_FULL_VIEWS ? r->nviews : 1;
    for (int v = 0; v < full; v++)
        put_view_sentence(r, v, out);
    if (full < r->nviews) {
        report_buf_puts(out, "<p>Under the other scenarios:</p>\n<ul class=\"views-summary\">\n");
        for (int v = full; v < r->nviews; v++)
            put_view_item(r, v, out);
        report_buf_puts(out, "</ul>\n");
    }
    put_top_five(r, 0, out);
    if (r->has_sensitivity)
        put_certainty(r, 0, out);
}
