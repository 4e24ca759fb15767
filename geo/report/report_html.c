/* report_html.c: the page (report_internal.h): header, summary, map, table, cards of the
 * top zones, rank chart, methods and provenance, with the style sheet, the script and the
 * data the script renders the table from. The DOM it writes is the contract that
 * tests/e2e/test_report.py and report.js rely on (docs/report.md). Every text from a file
 * goes through report_buf_html() (HTML) or report_buf_json_string() (the data block). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "report/report_internal.h"

extern const char report_css[], report_js[];

#define NO_DATA_COLOR "#d9d9d9"
#define VALUE_DIGITS 10 /* significant digits of the values in the data block */
/* ... and above CR_REPORT_LARGE_ZONES zones, where they are most of the file: six digits are
 * beyond what the table shows (two decimals at most) and keep the order of any two values
 * that differ by more than one part in a million (10,000 zones x 8 views: 11.6 MB to 8.7 MB) */
#define LARGE_VALUE_DIGITS 6

/* ---- small helpers ---- */

/* The colour of class k (1-based) when it is "#rrggbb", else the no-data grey: colours come
 * from files and are written into attributes and styles. */
static const char *class_color(const report_model *r, double k)
{
    if (!(k >= 1 && k <= r->classes.n))
        return NO_DATA_COLOR;
    const char *c = r->classes.colors[(int)k - 1];
    if (c[0] != '#' || strlen(c) != 7 || strspn(c + 1, "0123456789abcdefABCDEF") != 6)
        return NO_DATA_COLOR;
    return c;
}

/* A zone's name as shown: its name, else its id. */
static const char *zone_label(const report_zone *z)
{
    return z->name && *z->name ? z->name : z->id ? z->id : "";
}

/* The value of the metric named field of zone z in view v (NaN when missing). */
static double metric(const report_model *r, int v, int z, const char *field)
{
    return report_value(r, v, z, report_metric_find(field));
}

/* A member of a provenance object as JSON: members written as text holding JSON (raster
 * metadata items) are parsed. *owned is what to json_object_put() after use. */
static json_object *member_json(json_object *obj, const char *key, json_object **owned)
{
    json_object *m = NULL;
    *owned = NULL;
    if (!obj || !json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, key, &m))
        return NULL;
    if (json_object_is_type(m, json_type_string)) {
        const char *s = json_object_get_string(m);
        if (s && (*s == '{' || *s == '['))
            *owned = json_tokener_parse(s);
        if (*owned)
            return *owned;
    }
    return m;
}

/* The text of a string member, NULL when none. */
static const char *member_text(json_object *obj, const char *key)
{
    json_object *m = NULL;
    if (!obj || !json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, key, &m)
        || !json_object_is_type(m, json_type_string))
        return NULL;
    return json_object_get_string(m);
}

#define JSON_LINE 128 /* a JSON value shorter than this stays on one line (a printed line of 6.5 pt) */

/* Appends a JSON value as HTML-escaped text, indented by indent spaces: on one line when it
 * fits JSON_LINE, else an object or array with one member or item a line (json-c's pretty
 * printing puts every number of an array on a line of its own). */
static void put_json_value(report_buf *out, json_object *val, int indent)
{
    const char *flat = json_object_to_json_string_ext(val, JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    int is_object = json_object_is_type(val, json_type_object), is_array = json_object_is_type(val, json_type_array);
    if ((!is_object && !is_array) || strlen(flat) + (size_t)indent <= JSON_LINE) {
        report_buf_html(out, flat);
        return;
    }
    report_buf_puts(out, is_object ? "{" : "[");
    int first = 1;
    if (is_object) {
        json_object_object_foreach(val, key, member)
        {
            report_buf_printf(out, "%s\n%*s", first ? "" : ",", indent + 2, "");
            json_object *k = json_object_new_string(key);
            report_buf_html(out, json_object_to_json_string_ext(k, JSON_C_TO_STRING_NOSLASHESCAPE));
            json_object_put(k);
            report_buf_puts(out, ": ");
            put_json_value(out, member, indent + 2);
            first = 0;
        }
    } else {
        for (size_t i = 0; i < json_object_array_length(val); i++) {
            report_buf_printf(out, "%s\n%*s", first ? "" : ",", indent + 2, "");
            put_json_value(out, json_object_array_get_idx(val, i), indent + 2);
            first = 0;
        }
    }
    report_buf_printf(out, "\n%*s%s", indent, "", is_object ? "}" : "]");
}

/* Appends a provenance object as pretty-printed, HTML-escaped text; text members holding
 * JSON (raster metadata items) are shown as the JSON they hold. */
static void put_json_pretty(report_buf *out, json_object *obj)
{
    json_object *copy = NULL;
    if (obj && json_object_is_type(obj, json_type_object)) {
        copy = json_object_new_object();
        json_object_object_foreach(obj, key, val)
        {
            (void)val;
            json_object *owned = NULL, *m = member_json(obj, key, &owned);
            json_object_object_add(copy, key, owned ? owned : json_object_get(m));
        }
        obj = copy;
    }
    put_json_value(out, obj, 0);
    json_object_put(copy);
}

/* ---- head and header ---- */

static void put_head(const report_model *r, report_buf *out)
{
    report_buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                         "<meta name=\"generator\" content=\"cityrisk ");
    report_buf_html(out, r->version);
    report_buf_puts(out, "\">\n<title>");
    report_buf_html(out, r->title);
    report_buf_puts(out, "</title>\n<style>\n");
    report_buf_puts(out, report_css);
    report_buf_puts(out, "</style>\n</head>\n<body>\n");
}

/* The header: title, city, date and version, and a short table of contents. */
static void put_header(const report_model *r, report_buf *out)
{
    report_buf_puts(out, "<header>\n<h1>");
    report_buf_html(out, r->title);
    report_buf_puts(out, "</h1>\n");
    if (r->city && *r->city) {
        report_buf_puts(out, "<p class=\"city\">");
        report_buf_html(out, r->city);
        report_buf_puts(out, "</p>\n");
    }
    report_buf_puts(out, "<p class=\"meta\"><time>");
    report_buf_html(out, r->date);
    report_buf_puts(out, "</time> &middot; cityrisk ");
    report_buf_html(out, r->version);
    report_buf_puts(out, "</p>\n<nav class=\"toc\" aria-label=\"Sections\"><ul>"
                         "<li><a href=\"#summary\">Summary</a></li><li><a href=\"#map\">Map</a></li>"
                         "<li><a href=\"#table\">All zones</a></li>");
    if (r->o && r->o->top > 0)
        report_buf_puts(out, "<li><a href=\"#top\">Top zones</a></li>");
    if (r->has_sensitivity)
        report_buf_puts(out, "<li><a href=\"#ranks\">Rank certainty</a></li>");
    report_buf_puts(out, "<li><a href=\"#methods\">Methods</a></li><li><a href=\"#provenance\">Provenance</a></li>"
                         "</ul></nav>\n</header>\n<main>\n");
}

/* The summary written from the numbers (report_summary.c). */
static void put_summary(const report_model *r, report_buf *out)
{
    report_buf_puts(out, "<section id=\"summary\">\n<h2>Summary</h2>\n");
    report_summary_html(r, out);
    report_buf_puts(out, "</section>\n");
}

/* ---- the map ---- */

/* "3 Very High, 5 High, ..., 2 no data" for view v. */
static void put_class_counts(const report_model *r, int v, report_buf *out)
{
    int m = report_metric_find("score_class");
    int first = 1;
    for (int k = r->classes.n; k >= 0; k--) {
        int count = 0;
        for (int z = 0; z < r->nzones; z++) {
            double c = report_value(r, v, z, m);
            count += k ? c == k : !(c >= 1 && c <= r->classes.n);
        }
        if (!count && k)
            continue;
        if (!count)
            break;
        report_buf_printf(out, "%s%d ", first ? "" : ", ", count);
        report_buf_html(out, k ? r->classes.names[k - 1] : "no data");
        first = 0;
    }
    if (first)
        report_buf_puts(out, "no zones");
}

/* The aria-label of zone z in view v: its name and key figures. */
static void put_zone_label(const report_model *r, int v, int z, report_buf *out)
{
    char score[32], rank[32];
    report_buf_html(out, zone_label(&r->zones[z]));
    report_format_number(score, sizeof score, metric(r, v, z, "score_mean"), 2);
    report_format_number(rank, sizeof rank, metric(r, v, z, "score_rank"), 0);
    const char *cls = report_class_name(r, metric(r, v, z, "score_class"));
    report_buf_printf(out, ": score %s, ", score);
    report_buf_html(out, *cls ? cls : "no data");
    report_buf_printf(out, ", rank %s", rank);
}

/* The scenario switch, only with two views or more (option value = view index). */
static void put_scenario_select(const report_model *r, report_buf *out)
{
    if (r->nviews < 2)
        return;
    report_buf_puts(out, "<p class=\"controls\"><label for=\"scenario\">Scenario</label> <select id=\"scenario\">");
    for (int v = 0; v < r->nviews; v++) {
        report_buf_printf(out, "<option value=\"%d\"%s>", v, v ? "" : " selected");
        report_buf_html(out, r->views[v].title);
        report_buf_puts(out, "</option>");
    }
    report_buf_puts(out, "</select></p>\n");
}

/* The exposure image of each view that has one, under the outlines; only the first view's
 * shown (report.js shows the active view's). */
static void put_images(const report_model *r, report_buf *out)
{
    for (int v = 0; v < r->nviews; v++) {
        const report_view *w = &r->views[v];
        if (!w->image_base64)
            continue;
        report_buf_printf(out, "<image class=\"exposure\" data-view=\"%d\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
                               "height=\"%.2f\" preserveAspectRatio=\"none\"%s href=\"data:image/png;base64,",
                          v, w->image_x, w->image_y, w->image_w, w->image_h, v ? " style=\"display:none\"" : "");
        report_buf_puts(out, w->image_base64);
        report_buf_puts(out, "\"/>\n");
    }
}

/* 1 when any view has an exposure image (the raster switch is offered then). */
static int any_image(const report_model *r)
{
    for (int v = 0; v < r->nviews; v++)
        if (r->views[v].image_base64)
            return 1;
    return 0;
}

/* One item a class with its colour, its name and its score range, and one for no data:
 * every colour has a text label. */
static void put_legend(const report_model *r, report_buf *out)
{
    report_buf_puts(out, "<ul class=\"legend\" aria-label=\"Classes\">\n");
    for (int k = 0; k < r->classes.n; k++) {
        char lo[32], hi[32];
        report_buf_printf(out, "<li><span class=\"swatch\" style=\"background:%s\"></span>", class_color(r, k + 1));
        report_buf_html(out, r->classes.names[k]);
        if (k > 0)
            report_format_number(lo, sizeof lo, r->classes.breaks[k - 1], 1);
        if (k < r->classes.n - 1)
            report_format_number(hi, sizeof hi, r->classes.breaks[k], 1);
        if (k == 0 && r->classes.n > 1)
            report_buf_printf(out, " <span class=\"range\">(below %s)</span>", hi);
        else if (k == r->classes.n - 1 && k > 0)
            report_buf_printf(out, " <span class=\"range\">(%s and above)</span>", lo);
        else if (k > 0)
            report_buf_printf(out, " <span class=\"range\">(%s to %s)</span>", lo, hi);
        report_buf_puts(out, "</li>\n");
    }
    report_buf_puts(out, "<li><span class=\"swatch\" style=\"background:" NO_DATA_COLOR "\"></span>No data "
                         "<span class=\"range\">(too little data to score)</span></li>\n</ul>\n");
}

/* The map: the SVG of the zones in the first view's class colours over the exposure images,
 * its title and description (the classes per view), the tooltip and the legend. */
static void put_map(const report_model *r, report_buf *out)
{
    report_buf_puts(out, "<section id=\"map\">\n<h2>Map</h2>\n");
    put_scenario_select(r, out);
    if (any_image(r))
        report_buf_puts(out, "<p class=\"controls\"><label><input type=\"checkbox\" id=\"show-exposure\"> "
                             "Show the exposure raster under the outlines</label></p>\n");
    report_buf_puts(out, "<p class=\"map-caption\">Zones coloured by exposure class");
    if (r->nviews > 1) {
        report_buf_puts(out, " under <strong class=\"view-title\">");
        report_buf_html(out, r->views[0].title);
        report_buf_puts(out, "</strong>");
    }
    report_buf_puts(out, ".<span class=\"screen-only\"> Hover over or tab to a zone for its figures.</span></p>\n");
    report_buf_printf(out, "<div class=\"map-wrap\">\n<svg id=\"zones-map\" role=\"img\" "
                           "aria-labelledby=\"zones-map-title zones-map-desc\" viewBox=\"0 0 %.2f %.2f\" "
                           "preserveAspectRatio=\"xMidYMid meet\">\n<title id=\"zones-map-title\">",
                      r->map_width > 0 ? r->map_width : 100, r->map_height > 0 ? r->map_height : 100);
    report_buf_puts(out, "Map of the zones coloured by exposure class");
    report_buf_puts(out, "</title>\n<desc id=\"zones-map-desc\">");
    for (int v = 0; v < r->nviews; v++) {
        if (r->nviews > 1) {
            report_buf_puts(out, v ? " Under " : "Under ");
            report_buf_html(out, r->views[v].title);
            report_buf_puts(out, ": ");
        } else {
            report_buf_puts(out, "Zones by class: ");
        }
        put_class_counts(r, v, out);
        report_buf_puts(out, ".");
    }
    report_buf_puts(out, "</desc>\n");
    put_images(r, out);
    report_buf_puts(out, "<g class=\"zones\" fill-rule=\"evenodd\">\n");
    int m_class = report_metric_find("score_class");
    for (int z = 0; z < r->nzones; z++) {
        if (!r->zones[z].svg_path)
            continue;
        report_buf_printf(out, "<path class=\"zone\" data-zone=\"%d\" tabindex=\"0\" fill=\"%s\" aria-label=\"",
                          z, class_color(r, report_value(r, 0, z, m_class)));
        put_zone_label(r, 0, z, out);
        report_buf_puts(out, "\" d=\"");
        report_buf_html(out, r->zones[z].svg_path);
        report_buf_puts(out, "\"/>\n");
    }
    report_buf_puts(out, "</g>\n</svg>\n<div id=\"tooltip\" role=\"tooltip\" hidden></div>\n</div>\n");
    put_legend(r, out);
    report_buf_puts(out, "</section>\n");
}

/* ---- the table (rows rendered by report.js from the data block) ---- */

static void put_table(const report_model *r, report_buf *out)
{
    report_buf_puts(out, "<section id=\"table\">\n<h2>All zones</h2>\n<p class=\"controls\"><label for=\"filter\">"
                         "Filter by name</label> <input id=\"filter\" type=\"search\" autocomplete=\"off\"> "
                         "<span id=\"row-count\" aria-live=\"polite\"></span></p>\n"
                         "<p class=\"hint\">Select a column header (click, Enter or Space) to sort by it; again "
                         "to reverse. Missing values sort last.</p>\n"
                         "<div class=\"table-wrap\">\n<table id=\"zones-table\">\n<caption>Zones");
    if (r->nviews > 1) {
        report_buf_puts(out, " under ");
        report_buf_html(out, r->views[0].title);
    }
    report_buf_puts(out, "</caption>\n<thead><tr><th scope=\"col\" data-key=\"name\" tabindex=\"0\" aria-sort=\"none\">Name</th>");
    for (int m = 0; m < r->nmetrics; m++) {
        const report_metric *mt = &REPORT_METRICS[m];
        report_buf_puts(out, "<th scope=\"col\" class=\"num\" data-key=\"");
        report_buf_html(out, mt->field);
        report_buf_puts(out, "\" tabindex=\"0\" aria-sort=\"none\">");
        report_buf_html(out, mt->label);
        if (*mt->unit) {
            report_buf_puts(out, " <span class=\"unit\">(");
            report_buf_html(out, mt->unit);
            report_buf_puts(out, ")</span>");
        }
        report_buf_puts(out, "</th>");
    }
    report_buf_puts(out, "</tr></thead>\n<tbody></tbody>\n</table>\n</div>\n<p class=\"print-note\" hidden></p>\n");
    if (r->paged)
        report_buf_puts(out, "<nav id=\"pager\" aria-label=\"Pages of the table\"><button type=\"button\" class=\"prev\">"
                             "Previous</button> <span class=\"page\" aria-live=\"polite\"></span> "
                             "<button type=\"button\" class=\"next\">Next</button></nav>\n");
    report_buf_puts(out, "</section>\n");
}

/* ---- cards of the top zones ---- */

static void put_card(const report_model *r, int v, int z, report_buf *out)
{
    const report_zone *zone = &r->zones[z];
    char a[64], b[64], c[64];
    report_buf_printf(out, "<article class=\"card\" data-zone=\"%d\">\n<h3>", z);
    report_format_number(a, sizeof a, metric(r, v, z, "score_rank"), 0);
    report_buf_printf(out, "<span class=\"rank\">#%s</span> ", a);
    report_buf_html(out, zone_label(zone));
    report_buf_puts(out, "</h3>\n<dl>\n");
    report_format_number(a, sizeof a, metric(r, v, z, "score_mean"), 2);
    report_buf_printf(out, "<dt>Score</dt><dd>%s <span class=\"unit\">(0&ndash;10)</span></dd>\n", a);
    double k = metric(r, v, z, "score_class");
    const char *cls = report_class_name(r, k);
    report_buf_printf(out, "<dt>Class</dt><dd><span class=\"swatch\" style=\"background:%s\"></span>", class_color(r, k));
    report_buf_html(out, *cls ? cls : "no data");
    report_format_number(a, sizeof a, metric(r, v, z, "score_rank"), 0);
    report_buf_printf(out, "</dd>\n<dt>Rank</dt><dd>%s of %d", a, r->nzones);
    if (!isnan(zone->rank_p05) && !isnan(zone->rank_p95)) {
        /* the interval is of the sensitivity's own scenario, which need not be this view's */
        json_object *scenario = NULL;
        json_object_object_get_ex(r->sensitivity_parameters, "scenario", &scenario);
        report_buf_printf(out, " <span class=\"interval\">(5&ndash;95 %%");
        if (scenario && json_object_is_type(scenario, json_type_string)) {
            report_buf_puts(out, " under ");
            report_buf_html(out, json_object_get_string(scenario));
        }
        report_buf_printf(out, ": ranks %.0f&ndash;%.0f)</span>", zone->rank_p05, zone->rank_p95);
    }
    report_buf_puts(out, "</dd>\n");
    double flooded = metric(r, v, z, "arrivals_flooded"), total = metric(r, v, z, "arrivals_total");
    report_format_number(a, sizeof a, flooded, 0);
    report_format_number(b, sizeof b, total, 0);
    report_buf_printf(out, "<dt>Arrivals in flood zone</dt><dd>%s", a);
    if (isfinite(total))
        report_buf_printf(out, " of %s", b);
    report_buf_puts(out, "</dd>\n");
    report_format_number(a, sizeof a, 100 * metric(r, v, z, "informal_area_share"), 0);
    report_buf_printf(out, "<dt>Informal area</dt><dd>%s%s</dd>\n", a, strcmp(a, "n/a") ? " %" : "");
    report_format_number(c, sizeof c, metric(r, v, z, "water_stress_mean"), 2);
    report_buf_printf(out, "<dt>Water stress</dt><dd>%s <span class=\"unit\">(0&ndash;5)</span></dd>\n", c);
    char drivers[128];
    report_drivers(r, v, z, drivers, sizeof drivers);
    report_buf_puts(out, "<dt>Drivers</dt><dd>");
    report_buf_html(out, *drivers ? drivers : "none stands out");
    report_buf_puts(out, "</dd>\n</dl>\n</article>\n");
}

/* The cards of view v. */
static void put_cards_of(const report_model *r, int v, report_buf *out)
{
    int n = r->o ? r->o->top : 5;
    int top[REPORT_TOP_MAX];
    if (n > REPORT_TOP_MAX)
        n = REPORT_TOP_MAX;
    n = report_top_zones(r, v, top, n);
    for (int i = 0; i < n; i++)
        put_card(r, v, top[i], out);
    if (!n)
        report_buf_puts(out, "<p>No zone has a rank in this view.</p>\n");
}

/* The active view's cards; every view's in a <template> the script swaps in. */
static void put_top(const report_model *r, report_buf *out)
{
    if (r->o && r->o->top <= 0)
        return;
    report_buf_printf(out, "<section id=\"top\">\n<h2>Top %d zones</h2>\n<p class=\"view-note\">", r->o ? r->o->top : 5);
    if (r->nviews > 1) {
        report_buf_puts(out, "Under <span class=\"view-title\">");
        report_buf_html(out, r->views[0].title);
        report_buf_puts(out, "</span>, by rank");
    } else {
        report_buf_puts(out, "By rank");
    }
    report_buf_puts(out, " (1 = most exposed).</p>\n<div class=\"cards\">\n");
    put_cards_of(r, 0, out);
    report_buf_puts(out, "</div>\n");
    for (int v = 0; r->nviews > 1 && v < r->nviews; v++) {
        report_buf_printf(out, "<template class=\"cards-of\" data-view=\"%d\">\n", v);
        put_cards_of(r, v, out);
        report_buf_puts(out, "</template>\n");
    }
    report_buf_puts(out, "</section>\n");
}

/* ---- rank certainty ---- */

/* Appends an SVG document (report_chart.c's, names escaped there) inline: without its
 * xmlns attribute, which HTML does not need, so that no network address appears outside
 * the provenance's text. */
static void put_inline_svg(report_buf *out, const char *svg)
{
    static const char XMLNS[] = " xmlns=\"http://www.w3.org/2000/svg\"";
    const char *at = svg ? strstr(svg, XMLNS) : NULL;
    if (!at) {
        report_buf_puts(out, svg);
        return;
    }
    report_buf_add(out, svg, (size_t)(at - svg));
    report_buf_puts(out, at + strlen(XMLNS));
}

/* The rank-interval chart (sensitivity only) and a sentence reading it. */
static void put_ranks(const report_model *r, report_buf *out)
{
    if (!r->has_sensitivity)
        return;
    report_buf_puts(out, "<section id=\"ranks\">\n<h2>How sure are the ranks?</h2>\n");
    const char *scenario = member_text(r->sensitivity_parameters, "scenario");
    report_buf_puts(out, "<p>The sensitivity analysis re-scored every zone many times with the weights, the method "
                         "of combining the indicators and the other uncertain inputs varied");
    if (scenario) {
        report_buf_puts(out, " (sea level around ");
        report_buf_html(out, scenario);
        report_buf_puts(out, ")");
    }
    report_buf_puts(out, ". In the chart each bar spans the ranks a zone took in 90 % of the runs (the 5th to the "
                         "95th percentile), the tick is its median rank and the dot its rank with the chosen settings: "
                         "a short bar is a rank that holds whatever the choices, a long one a rank that depends on "
                         "them.");
    int top[REPORT_TOP_MAX], n = r->o && r->o->top > 0 ? (r->o->top < REPORT_TOP_MAX ? r->o->top : REPORT_TOP_MAX) : 5;
    n = report_top_zones(r, 0, top, n);
    int sure = 0, with = 0;
    for (int i = 0; i < n; i++) {
        const report_zone *z = &r->zones[top[i]];
        if (isnan(z->rank_p95))
            continue;
        with++;
        sure += z->rank_p95 <= n;
    }
    if (with)
        report_buf_printf(out, " Here %d of the top %d zones stay within the top %d in 95 %% of the runs.", sure, with, n);
    report_buf_puts(out, "</p>\n<div class=\"chart\">\n");
    put_inline_svg(out, r->rank_chart_svg);
    report_buf_puts(out, "\n</div>\n</section>\n");
}

/* ---- methods ---- */

/* A formula of the first view holding it, with the views that share it. */
static void put_formulas(const report_model *r, report_buf *out, int exposure)
{
    int shown = 0;
    for (int v = 0; v < r->nviews; v++) {
        json_object *meta = exposure ? r->views[v].exposure_metadata : r->views[v].provenance;
        const char *f = member_text(meta, "CITYRISK_FORMULA");
        int earlier = 0;
        for (int u = 0; f && u < v && !earlier; u++) {
            const char *g = member_text(exposure ? r->views[u].exposure_metadata : r->views[u].provenance, "CITYRISK_FORMULA");
            earlier = g && strcmp(f, g) == 0;
        }
        if (!f || earlier)
            continue;
        report_buf_puts(out, "<figure class=\"formula\">");
        int sharing = 0;
        for (int u = v; u < r->nviews; u++) {
            const char *g = member_text(exposure ? r->views[u].exposure_metadata : r->views[u].provenance, "CITYRISK_FORMULA");
            sharing += g && strcmp(f, g) == 0;
        }
        if (r->nviews > 1 && sharing == r->nviews)
            report_buf_puts(out, "<figcaption>All views</figcaption>");
        else if (r->nviews > 1) {
            report_buf_puts(out, "<figcaption>");
            for (int u = v, first = 1; u < r->nviews; u++) {
                const char *g = member_text(exposure ? r->views[u].exposure_metadata : r->views[u].provenance, "CITYRISK_FORMULA");
                if (!g || strcmp(f, g) != 0)
                    continue;
                report_buf_puts(out, first ? "" : ", ");
                report_buf_html(out, r->views[u].title);
                first = 0;
            }
            report_buf_puts(out, "</figcaption>");
        }
        report_buf_puts(out, "<pre>");
        report_buf_html(out, f);
        report_buf_puts(out, "</pre></figure>\n");
        shown++;
    }
    if (!shown)
        report_buf_puts(out, exposure ? "<p>Not recorded: no exposure raster with cityrisk metadata was given.</p>\n"
                                      : "<p>Not recorded in the zones files.</p>\n");
}

/* "sea 0.3, water 0.2, ..." from a weights object. */
static void put_weights(report_buf *out, json_object *weights)
{
    int first = 1;
    if (!weights || !json_object_is_type(weights, json_type_object)) {
        report_buf_puts(out, "not recorded");
        return;
    }
    json_object_object_foreach(weights, key, val)
    {
        report_buf_puts(out, first ? "" : ", ");
        report_buf_html(out, key);
        report_buf_puts(out, " ");
        report_buf_html(out, json_object_get_string(val));
        first = 0;
    }
}

/* The weights and method of each view, from its exposure raster's CITYRISK_PARAMETERS. */
static void put_weights_table(const report_model *r, report_buf *out)
{
    report_buf_puts(out, "<h3>Weights and method</h3>\n<table class=\"plain\"><thead><tr><th scope=\"col\">View</th>"
                         "<th scope=\"col\">Method</th><th scope=\"col\">Weights</th></tr></thead><tbody>\n");
    for (int v = 0; v < r->nviews; v++) {
        json_object *owned = NULL, *p = member_json(r->views[v].exposure_metadata, "CITYRISK_PARAMETERS", &owned);
        json_object *weights = NULL, *method = NULL;
        if (p && json_object_is_type(p, json_type_object)) {
            json_object_object_get_ex(p, "weights", &weights);
            json_object_object_get_ex(p, "method", &method);
        }
        report_buf_puts(out, "<tr><th scope=\"row\">");
        report_buf_html(out, r->views[v].title);
        report_buf_puts(out, "</th><td>");
        report_buf_html(out, method ? json_object_get_string(method) : "not recorded");
        report_buf_puts(out, "</td><td>");
        put_weights(out, weights);
        report_buf_puts(out, "</td></tr>\n");
        json_object_put(owned);
    }
    report_buf_puts(out, "</tbody></table>\n");
}

/* The classes: breaks, names and colours as a small table. */
static void put_classes_table(const report_model *r, report_buf *out)
{
    report_buf_puts(out, "<h3>Classes</h3>\n<table class=\"plain\"><thead><tr><th scope=\"col\">Class</th>"
                         "<th scope=\"col\">Name</th><th scope=\"col\">Score</th><th scope=\"col\">Colour</th></tr>"
                         "</thead><tbody>\n");
    for (int k = 0; k < r->classes.n; k++) {
        char lo[32] = "0", hi[32] = "10";
        if (k > 0)
            report_format_number(lo, sizeof lo, r->classes.breaks[k - 1], 2);
        if (k < r->classes.n - 1)
            report_format_number(hi, sizeof hi, r->classes.breaks[k], 2);
        report_buf_printf(out, "<tr><td>%d</td><td>", k + 1);
        report_buf_html(out, r->classes.names[k]);
        report_buf_printf(out, "</td><td>%s to %s%s</td><td><span class=\"swatch\" style=\"background:%s\"></span>%s</td></tr>\n",
                          lo, k < r->classes.n - 1 ? "below " : "", hi, class_color(r, k + 1), class_color(r, k + 1));
    }
    report_buf_puts(out, "</tbody></table>\n<p>A score equal to a break belongs to the upper class. Zones with too "
                         "little data are not classed (grey on the map).</p>\n");
}

/* Appends the file name of path (after the last '/') unless it is in seen (a CSL-like list
 * of names appended to, at most 64). */
static void put_input_name(report_buf *out, const char *path, const char **seen, int *nseen)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    for (int i = 0; i < *nseen; i++)
        if (strcmp(seen[i], name) == 0)
            return;
    if (*nseen >= 64)
        return;
    report_buf_puts(out, *nseen ? ", " : "");
    report_buf_html(out, name);
    seen[(*nseen)++] = name;
}

/* The distinct file names a provenance's CITYRISK_INPUTS lists (an array of {role, path} or
 * an object of name: {path}); the full entries are in the provenance section. */
static void put_inputs(report_buf *out, json_object *provenance)
{
    json_object *owned = NULL, *in = member_json(provenance, "CITYRISK_INPUTS", &owned);
    const char *seen[64];
    int nseen = 0;
    if (in && json_object_is_type(in, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(in); i++) {
            json_object *item = json_object_array_get_idx(in, i);
            const char *path = json_object_is_type(item, json_type_string) ? json_object_get_string(item)
                                                                            : member_text(item, "path");
            if (path)
                put_input_name(out, path, seen, &nseen);
        }
    } else if (in && json_object_is_type(in, json_type_object)) {
        json_object_object_foreach(in, key, val)
        {
            (void)key;
            const char *path = member_text(val, "path");
            if (path)
                put_input_name(out, path, seen, &nseen);
        }
    }
    if (!nseen)
        report_buf_puts(out, "&ndash;");
    json_object_put(owned);
}

/* Every file read: role, path, file date (mtime, UTC), size and the files it was made from. */
static void put_sources_table(const report_model *r, report_buf *out)
{
    report_buf_puts(out, "<h3>Data sources</h3>\n<table class=\"plain sources\"><thead><tr><th scope=\"col\">Role</th>"
                         "<th scope=\"col\">File</th><th scope=\"col\">Date</th><th scope=\"col\">Size</th>"
                         "<th scope=\"col\">Made from</th></tr></thead><tbody>\n");
    for (int i = 0; i < r->nsources; i++) {
        const report_source *s = &r->sources[i];
        char date[16] = "unknown", size[32] = "unknown";
        if (s->mtime >= 0) {
            time_t t = (time_t)s->mtime;
            struct tm tm;
            if (gmtime_r(&t, &tm))
                strftime(date, sizeof date, "%Y-%m-%d", &tm);
        }
        if (s->bytes >= 0) {
            report_format_number(size, sizeof size, (double)s->bytes / 1024.0, 0);
            strncat(size, " KiB", sizeof size - strlen(size) - 1);
        }
        report_buf_puts(out, "<tr><td>");
        report_buf_html(out, s->role);
        report_buf_puts(out, "</td><td class=\"path\">");
        report_buf_html(out, s->path);
        report_buf_printf(out, "</td><td>%s</td><td class=\"num\">%s</td><td class=\"path\">", date, size);
        put_inputs(out, s->provenance);
        report_buf_puts(out, "</td></tr>\n");
    }
    report_buf_puts(out, "</tbody></table>\n<p>Dates are the files' modification dates (UTC).</p>\n");
}

/* The DEM's vertical error and the sea level's source, from the inundation raster. */
static void put_inundation_caveats(const report_model *r, report_buf *out)
{
    json_object *p = r->inundation_parameters, *conf = NULL, *rmse = NULL;
    if (p && json_object_object_get_ex(p, "confidence", &conf) && json_object_is_type(conf, json_type_object))
        json_object_object_get_ex(conf, "dem_rmse_m", &rmse);
    report_buf_puts(out, "<li><strong>DEM vertical error.</strong> ");
    if (!r->inundation_path) {
        report_buf_puts(out, "No inundation raster was given to the report, so its DEM error is not known here. ");
    } else if (rmse) {
        char m[32];
        report_format_number(m, sizeof m, json_object_get_double(rmse), 2);
        report_buf_printf(out, "The elevation model's vertical error (RMSE) was given as %s m: cells within about "
                               "that height of the water level may be wrongly shown wet or dry, and the inundation's "
                               "confidence layers account for it. ",
                          m);
    } else {
        report_buf_puts(out, "No vertical error of the elevation model was given (cityrisk inundation --dem-rmse), so "
                             "the flood extent is treated as exact. Global elevation models often err by one to a "
                             "few metres in cities; cells near the water level may be wrongly wet or dry. ");
    }
    report_buf_puts(out, "</li>\n<li><strong>Sea level.</strong> ");
    const char *source = member_text(p, "sea_level_source");
    if (!r->inundation_path) {
        report_buf_puts(out, "Without the inundation raster the report cannot tell whether the sea-level rise is a "
                             "global mean or a local projection; a global mean ignores local subsidence and regional "
                             "ocean changes.");
    } else if (source) {
        report_buf_puts(out, "The sea-level rise comes from: ");
        report_buf_html(out, source);
        report_buf_puts(out, ". ");
        if (strstr(source, "global"))
            report_buf_puts(out, "A global mean rise ignores local land subsidence or uplift and regional ocean "
                                 "changes, which can add or remove tens of centimetres; a local projection "
                                 "(cityrisk inundation's local sea-level options) is better where one exists.");
    } else {
        report_buf_puts(out, "The inundation raster does not record whether its sea-level rise is a global mean or a "
                             "local projection; a global mean ignores local subsidence and regional ocean changes.");
    }
    report_buf_puts(out, "</li>\n");
}

/* What the numbers cannot say: DEM error, sea level, zones without data, estimated arrivals. */
static void put_caveats(const report_model *r, report_buf *out)
{
    report_buf_puts(out, "<h3>Caveats</h3>\n<ul class=\"caveats\">\n");
    put_inundation_caveats(r, out);
    int unclassed = 0, m = report_metric_find("score_class");
    for (int z = 0; z < r->nzones; z++)
        unclassed += isnan(report_value(r, 0, z, m));
    json_object *owned = NULL, *p = r->nviews ? member_json(r->views[0].provenance, "CITYRISK_PARAMETERS", &owned) : NULL;
    json_object *min = NULL;
    if (p && json_object_is_type(p, json_type_object))
        json_object_object_get_ex(p, "min_coverage", &min);
    report_buf_puts(out, "<li><strong>Zones with too little data</strong> are not scored or ranked");
    if (min) {
        char share[32];
        report_format_number(share, sizeof share, 100 * json_object_get_double(min), 0);
        report_buf_printf(out, " (less than %s %% of the zone covered by data, zonal's min_coverage)", share);
    }
    /* a zone missing from the view's file has no class either: counted apart */
    int absent = r->nviews ? r->views[0].absent : 0;
    report_buf_printf(out, ": %d here%s", unclassed - absent, r->nviews > 1 ? " in the first view" : "");
    if (absent > 0)
        report_buf_printf(out, ", besides %d zone%s not in its file", absent, absent == 1 ? "" : "s");
    report_buf_puts(out, "; they are grey on the map and last in the table.</li>\n");
    json_object_put(owned);
    report_buf_puts(out, "<li><strong>Arrivals are estimates.</strong> They are records placed on the grid "
                         "(cityrisk arrivals): totals are kept, but where people live within a zone is approximate "
                         "and arrivals never recorded are missing.</li>\n");
    report_buf_puts(out, "<li><strong>Classes are relative to fixed breaks</strong> of a 0&ndash;10 score that "
                         "combines indicators with chosen weights; a zone's class says how its indicators compare, "
                         "not a probability of harm.</li>\n</ul>\n");
}

/* What the sensitivity run varied: each factor with its range or values, the samples and
 * runs (its full parameters are in the provenance). */
static void put_sensitivity_method(const report_model *r, report_buf *out)
{
    json_object *p = r->sensitivity_parameters, *factors = NULL, *x = NULL;
    if (!r->has_sensitivity || !p || !json_object_is_type(p, json_type_object))
        return;
    report_buf_puts(out, "<h3>Sensitivity</h3>\n<p>Factors varied:");
    if (json_object_object_get_ex(p, "factors", &factors) && json_object_is_type(factors, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(factors); i++) {
            json_object *f = json_object_array_get_idx(factors, i), *min = NULL, *max = NULL, *values = NULL;
            report_buf_puts(out, i ? "; " : " ");
            report_buf_html(out, member_text(f, "name"));
            if (json_object_object_get_ex(f, "min", &min) && json_object_object_get_ex(f, "max", &max)) {
                report_buf_printf(out, " %.4g&ndash;%.4g", json_object_get_double(min), json_object_get_double(max));
            } else if (json_object_object_get_ex(f, "values", &values) && json_object_is_type(values, json_type_array)) {
                report_buf_puts(out, " (");
                for (size_t k = 0; k < json_object_array_length(values); k++) {
                    report_buf_puts(out, k ? ", " : "");
                    report_buf_html(out, json_object_get_string(json_object_array_get_idx(values, k)));
                }
                report_buf_puts(out, ")");
            }
        }
    } else {
        report_buf_puts(out, " not recorded");
    }
    report_buf_puts(out, ".");
    const char *keys[] = {"samples", "runs", "seed"}, *labels[] = {"Samples", "Runs", "Seed"};
    for (int i = 0; i < 3; i++)
        if (json_object_object_get_ex(p, keys[i], &x)) {
            report_buf_printf(out, " %s: ", labels[i]);
            report_buf_html(out, json_object_get_string(x));
            report_buf_puts(out, ".");
        }
    report_buf_puts(out, "</p>\n");
}

/* The methods: formulas, weights, classes, sensitivity, data sources, caveats. */
static void put_methods(const report_model *r, report_buf *out)
{
    report_buf_puts(out, "<section id=\"methods\">\n<h2>Methods</h2>\n<h3>The exposure score of a cell</h3>\n");
    put_formulas(r, out, 1);
    report_buf_puts(out, "<h3>The figures of a zone</h3>\n");
    put_formulas(r, out, 0);
    put_weights_table(r, out);
    put_classes_table(r, out);
    put_sensitivity_method(r, out);
    put_sources_table(r, out);
    put_caveats(r, out);
    report_buf_puts(out, "</section>\n");
}

/* Every source's full provenance as pretty-printed JSON in a <pre> (printed, unlike <details>). */
static void put_provenance(const report_model *r, report_buf *out)
{
    report_buf_puts(out, "<section id=\"provenance\">\n<h2>Provenance</h2>\n<p>What each input file records about how "
                         "it was made: the cityrisk version, the command, its inputs and parameters.</p>\n");
    for (int i = 0; i < r->nsources; i++) {
        const report_source *s = &r->sources[i];
        report_buf_puts(out, "<article class=\"source\">\n<h3>");
        report_buf_html(out, s->role);
        report_buf_puts(out, "</h3>\n<p class=\"path\">");
        report_buf_html(out, s->path);
        report_buf_puts(out, "</p>\n");
        if (s->provenance) {
            report_buf_puts(out, "<pre class=\"json\">");
            put_json_pretty(out, s->provenance);
            report_buf_puts(out, "</pre>\n");
        } else {
            report_buf_puts(out, "<p>No cityrisk provenance recorded.</p>\n");
        }
        report_buf_puts(out, "</article>\n");
    }
    report_buf_puts(out, "</section>\n");
}

/* ---- the data block ---- */

/* Appends ,"key":"value" (the comma when comma), value escaped for the data block. */
static void put_json_key_string(report_buf *out, const char *key, const char *value, int comma)
{
    report_buf_printf(out, "%s\"%s\":\"", comma ? "," : "", key);
    report_buf_json_string(out, value ? value : "");
    report_buf_puts(out, "\"");
}

/* The data block's views and metrics. */
static void put_data_views_metrics(const report_model *r, report_buf *out)
{
    report_buf_puts(out, "\"views\":[");
    for (int v = 0; v < r->nviews; v++) {
        report_buf_puts(out, v ? ",{" : "{");
        put_json_key_string(out, "label", r->views[v].label, 0);
        put_json_key_string(out, "title", r->views[v].title, 1);
        put_json_key_string(out, "scenario", r->views[v].scenario, 1);
        report_buf_puts(out, "}");
    }
    report_buf_puts(out, "],\n\"metrics\":[");
    for (int m = 0; m < r->nmetrics; m++) {
        const report_metric *mt = &REPORT_METRICS[m];
        report_buf_puts(out, m ? ",{" : "{");
        put_json_key_string(out, "field", mt->field, 0);
        put_json_key_string(out, "label", mt->label, 1);
        put_json_key_string(out, "unit", mt->unit, 1);
        report_buf_printf(out, ",\"percent\":%s,\"decimals\":%d}", mt->percent ? "true" : "false", mt->decimals);
    }
    report_buf_puts(out, "],\n");
}

/* The data block's zones and values (per view, zone-major, null when missing). */
static void put_data_zones_values(const report_model *r, report_buf *out)
{
    report_buf_puts(out, "\"zones\":[");
    for (int z = 0; z < r->nzones; z++) {
        report_buf_puts(out, z ? ",\n{" : "{");
        put_json_key_string(out, "id", r->zones[z].id, 0);
        put_json_key_string(out, "name", r->zones[z].name, 1);
        report_buf_puts(out, "}");
    }
    report_buf_puts(out, "],\n\"values\":[");
    for (int v = 0; v < r->nviews; v++) {
        report_buf_puts(out, v ? ",\n[" : "\n[");
        for (int z = 0; z < r->nzones; z++)
            for (int m = 0; m < r->nmetrics; m++) {
                if (z || m)
                    report_buf_puts(out, m ? "," : ",\n");
                report_buf_json_number(out, report_value(r, v, z, m), r->paged ? LARGE_VALUE_DIGITS : VALUE_DIGITS);
            }
        report_buf_puts(out, "]");
    }
    report_buf_puts(out, "],\n");
}

/* The data block's classes and the zones' rank intervals (null without sensitivity). */
static void put_data_classes_sensitivity(const report_model *r, report_buf *out)
{
    report_buf_puts(out, "\"classes\":{\"breaks\":[");
    for (int k = 0; k + 1 < r->classes.n; k++) {
        report_buf_puts(out, k ? "," : "");
        report_buf_json_number(out, r->classes.breaks[k], VALUE_DIGITS);
    }
    report_buf_puts(out, "],\"names\":[");
    for (int k = 0; k < r->classes.n; k++) {
        report_buf_puts(out, k ? ",\"" : "\"");
        report_buf_json_string(out, r->classes.names[k]);
        report_buf_puts(out, "\"");
    }
    report_buf_puts(out, "],\"colors\":[");
    for (int k = 0; k < r->classes.n; k++)
        report_buf_printf(out, "%s\"%s\"", k ? "," : "", class_color(r, k + 1));
    report_buf_puts(out, "]},\n\"sensitivity\":");
    if (!r->has_sensitivity) {
        report_buf_puts(out, "null");
    } else {
        report_buf_puts(out, "[");
        for (int z = 0; z < r->nzones; z++) {
            const report_zone *q = &r->zones[z];
            double f[] = {q->rank_nominal, q->rank_p05, q->rank_p50, q->rank_p95, q->p_top};
            report_buf_puts(out, z ? ",\n{" : "{");
            const char *keys[] = {"rank_nominal", "rank_p05", "rank_p50", "rank_p95", "p_top"};
            for (int i = 0; i < 5; i++) {
                report_buf_printf(out, "%s\"%s\":", i ? "," : "", keys[i]);
                report_buf_json_number(out, f[i], VALUE_DIGITS);
            }
            report_buf_puts(out, "}");
        }
        report_buf_puts(out, "]");
    }
}

/* The data the script renders the table and tooltips from, as one JSON block. */
static void put_data(const report_model *r, report_buf *out)
{
    report_buf_puts(out, "<script type=\"application/json\" id=\"report-data\">\n{");
    put_data_views_metrics(r, out);
    put_data_zones_values(r, out);
    put_data_classes_sensitivity(r, out);
    report_buf_printf(out, ",\n\"options\":{\"top\":%d,\"paged\":%s,\"page_rows\":%d,\"print_rows\":%d,\"no_data_color\":\"%s\"}",
                      r->o ? r->o->top : 5, r->paged ? "true" : "false", CR_REPORT_PAGE_ROWS, CR_REPORT_LARGE_ZONES,
                      NO_DATA_COLOR);
    report_buf_puts(out, "}\n</script>\n");
}

void report_html(const report_model *r, report_buf *out)
{
    put_head(r, out);
    put_header(r, out);
    /* side by side on a wide screen: the first screenful holds the findings and the map */
    report_buf_puts(out, "<div class=\"overview\">\n");
    put_summary(r, out);
    put_map(r, out);
    report_buf_puts(out, "</div>\n");
    put_table(r, out);
    put_top(r, out);
    put_ranks(r, out);
    put_methods(r, out);
    put_provenance(r, out);
    report_buf_puts(out, "</main>\n<footer><p>Made with cityrisk ");
    report_buf_html(out, r->version);
    report_buf_puts(out, ". This file is self-contained: it opens offline and requests nothing.</p></footer>\n");
    put_data(r, out);
    report_buf_puts(out, "<script>\n");
    report_buf_puts(out, report_js);
    report_buf_puts(out, "</script>\n</body>\n</html>\n");
}
