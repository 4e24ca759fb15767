/* charts.c: the two charts of the sensitivity command, drawn with Cairo as PNG or SVG (by the
 * output's extension): the rank intervals of the zones and the Sobol' indices of the factors.
 * See geo/sensitivity/internal.h.
 *
 * Colours are those of Okabe & Ito ("Color Universal Design", 2008), which stay apart for
 * the common colour-vision deficiencies and in greyscale by their lightness:
 *   blue      #0072B2  the highlighted (top N) zones' bars; the first-order index S_i
 *   orange    #E69F00  the total index S_Ti (lighter than the blue: apart in greyscale too)
 *   vermilion #D55E00  the nominal rank's tick (a thin line: told from the blue by hue and
 *                      by shape, and from the grey bars by both)
 *   grey      #BBBBBB  the other zones' bars (light, so that the top N stand out)
 *   ink       #262626  text, median dots, whiskers, axes.
 * Every colour is a whole number of 255ths, so that a PNG shows it exactly inside a shape
 * (the unit test looks for it). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* M_PI */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cairo-svg.h>
#include <cairo.h>

#include "internal.h"
#include "core/output.h"
#include "core/buf.h"
#include "core/text.h"

#define RGB8(r, g, b) (r) / 255.0, (g) / 255.0, (b) / 255.0
#define BLUE RGB8(0, 114, 178)
#define ORANGE RGB8(230, 159, 0)
#define VERMILION RGB8(213, 94, 0)
#define OTHER_GREY RGB8(187, 187, 187)
#define INK RGB8(38, 38, 38)
#define MUTED RGB8(102, 102, 102)     /* subtitles, tick labels, notes */
#define GRIDLINE RGB8(229, 229, 229)  /* light grid lines behind the data */

#define FONT "DejaVu Sans" /* as the map: installed with Cairo's usual fontconfig */

/* ---- layout of the rank chart, in pixels ---- */
#define CHART_WIDTH 1200.0
#define MARGIN 24.0
#define TITLE_BASE 46.0   /* baselines of the title (22 px) and the subtitle (14 px) */
#define SUBTITLE_BASE 72.0
#define LEGEND_MID 98.0   /* centre line of the legend */
#define PLOT_TOP 124.0    /* first row's top */
#define AXIS_BELOW 64.0   /* under the rows: ticks, tick labels, the axis title */
#define RANK_COL 40.0     /* the nominal rank, right-aligned, left of the names */
#define LABEL_W 280.0     /* the labels' column (rank and name) left of the plot */
#define ROW_MAX 24.0      /* a row's height when all rows fit */
#define HEIGHT_MAX 4000.0 /* the chart never grows taller: rows get thinner instead */
/* Labels are drawn at 0.75 of the row height, at most 14 px; below LABEL_FONT_MIN (rows
 * thinner than 13.3 px, which happens from about 290 zones under HEIGHT_MAX) text is no
 * longer legible: the names are dropped and the rank axis alone tells the rows apart (every
 * zone is still drawn; the names are in the GeoJSON and the SVG's description). */
#define LABEL_FONT_MAX 14.0
#define LABEL_FONT_MIN 10.0

/* ---- layout of the indices chart ---- */
#define INDEX_HEIGHT 680.0
#define INDEX_PLOT_LEFT 84.0 /* room for the y tick labels */
#define INDEX_PLOT_TOP 150.0 /* y = 1; the headroom above holds the labels of a full bar */
#define INDEX_PLOT_BOTTOM 570.0 /* y = 0; factor names and the note below */

/* The longest text drawn. */
enum { SHOWN_MAX = 1024 };

typedef enum chart_format { CHART_PNG, CHART_SVG } chart_format;

/* ---- text ---- */

static void set_font(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

/* The width of text already clean (Cairo draws only valid UTF-8). */
static double clean_width(cairo_t *cr, double size, int bold, const char *text)
{
    set_font(cr, size, bold);
    cairo_text_extents_t e;
    cairo_text_extents(cr, text, &e);
    return e.x_advance;
}

/* raw, cleaned (cr_text_clean: whole UTF-8 characters, no controls) and cut to max_w pixels
 * with an ellipsis at a whole character, into out. */
static void fit_text(cairo_t *cr, double size, int bold, const char *raw, double max_w, char *out,
                     size_t out_size)
{
    static const char ellipsis[] = "\xe2\x80\xa6"; /* U+2026 */
    cr_text_clean(out, out_size, raw ? raw : "");
    if (clean_width(cr, size, bold, out) <= max_w)
        return;
    size_t len = strlen(out);
    while (len > 0) {
        do
            len--;
        while (len > 0 && ((unsigned char)out[len] & 0xC0) == 0x80);
        while (len > 0 && out[len - 1] == ' ')
            len--; /* no space left before the ellipsis */
        if (len + sizeof ellipsis > out_size)
            continue;
        memcpy(out + len, ellipsis, sizeof ellipsis);
        if (clean_width(cr, size, bold, out) <= max_w)
            return;
    }
    if (out_size >= sizeof ellipsis)
        memcpy(out, ellipsis, sizeof ellipsis);
    else if (out_size > 0)
        out[0] = '\0';
}

/* Draws raw at (x, y) (baseline), aligned left (align 0), centred (1) or right (2), cut to
 * max_w (<= 0: no limit). Returns the width drawn. */
static double text_at(cairo_t *cr, double x, double y, double size, int bold, int align,
                      double max_w, const char *raw)
{
    char text[SHOWN_MAX];
    fit_text(cr, size, bold, raw, max_w > 0 ? max_w : INFINITY, text, sizeof text);
    double w = clean_width(cr, size, bold, text);
    cairo_move_to(cr, x - (align == 1 ? w / 2 : align == 2 ? w : 0), y);
    cairo_show_text(cr, text);
    return w;
}

/* "S" with a subscript ("i", "Ti") and a tail, at (x, y); returns the width drawn. */
static double index_name_at(cairo_t *cr, double x, double y, double size, const char *sub,
                            const char *tail)
{
    double w = text_at(cr, x, y, size, 1, 0, 0, "S");
    w += text_at(cr, x + w, y + size * 0.3, size * 0.7, 1, 0, 0, sub);
    return w + text_at(cr, x + w, y, size, 0, 0, 0, tail);
}

/* A "nice" step (1, 2 or 5 times a power of ten) for about `want` intervals over span. */
static double nice_step(double span, int want)
{
    double raw = span / want;
    if (!(raw > 0) || !isfinite(raw))
        return 1;
    double p = pow(10, floor(log10(raw)));
    double f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/* ---- growing buffers: the rendered file, the SVG's description ---- */

typedef cr_buf chart_buf;

/* Appends raw as XML character data (cleaned and escaped: at most 6 bytes a byte). */
static void buf_xml(chart_buf *b, const char *raw)
{
    size_t n = strlen(raw);
    if (!cr_buf_reserve(b, 6 * n + 1))
        return;
    b->len = cr_xml_append(b->data, b->cap, raw);
}

static cairo_status_t buf_write(void *closure, const unsigned char *data, unsigned int length)
{
    chart_buf *b = closure;
    cr_buf_add(b, data, length);
    return b->failed ? CAIRO_STATUS_NO_MEMORY : CAIRO_STATUS_SUCCESS;
}

/* ---- output ---- */

typedef void (*chart_draw_fn)(cairo_t *cr, const void *model);

/* The format path's extension asks for. */
static cr_status chart_format_of(cr_ctx *ctx, const char *path, chart_format *format)
{
    const char *dot = path ? strrchr(path, '.') : NULL;
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (dot && (!slash || dot > slash)) {
        if (strcasecmp(dot, ".png") == 0) {
            *format = CHART_PNG;
            return CR_OK;
        }
        if (strcasecmp(dot, ".svg") == 0) {
            *format = CHART_SVG;
            return CR_OK;
        }
    }
    return cr_ctx_fail(ctx, CR_E_USAGE, "chart '%s': give a name ending in .png or .svg",
                       path ? path : "");
}

/* Draws the chart (width x height pixels) into memory, then writes it to a temporary file
 * beside path and publishes it (no replace unless overwrite); with keep, the temporary is
 * handed over to *keep unpublished instead, for the caller to publish with others. An SVG gets a <title> and a
 * <desc> (the chart's numbers in words, for screen readers and text search: Cairo writes
 * text as glyph outlines) right after its start tag. */
static cr_status chart_write(cr_ctx *ctx, const char *path, int overwrite, cr_temp *keep,
                             double width, double height, chart_draw_fn draw, const void *model,
                             const char *title, const chart_buf *desc)
{
    chart_format format = CHART_PNG;
    cr_status st = chart_format_of(ctx, path, &format);
    if (st != CR_OK)
        return st;
    st = keep ? CR_OK : cr_output_check(ctx, path, overwrite); /* kept: the caller checks */
    if (st != CR_OK)
        return st;
    if (desc->failed)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory drawing chart '%s'", path);

    chart_buf file = {NULL, 0, 0, 0};
    cairo_surface_t *surface =
        format == CHART_PNG
            ? cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)width, (int)height)
            : cairo_svg_surface_create_for_stream(buf_write, &file, width, height);
    if (format == CHART_SVG)
        cairo_svg_surface_set_document_unit(surface, CAIRO_SVG_UNIT_PX);
    cairo_t *cr = cairo_create(surface);
    draw(cr, model);
    cairo_status_t cst = cairo_status(cr);
    cairo_destroy(cr);
    if (cst == CAIRO_STATUS_SUCCESS && format == CHART_PNG)
        cst = cairo_surface_write_to_png_stream(surface, buf_write, &file);
    cairo_surface_finish(surface);
    if (cst == CAIRO_STATUS_SUCCESS)
        cst = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    if (cst != CAIRO_STATUS_SUCCESS || file.failed || !file.data) {
        free(file.data);
        return cr_ctx_fail(ctx, CR_E_IO, "cannot draw chart '%s': %s", path,
                           file.failed ? "out of memory" : cairo_status_to_string(cst));
    }

    /* where the SVG's head goes: after the '>' of "<svg ..." */
    size_t head_at = 0;
    chart_buf head = {NULL, 0, 0, 0};
    if (format == CHART_SVG) {
        const char *svg = strstr(file.data, "<svg");
        const char *end = svg ? strchr(svg, '>') : NULL;
        head_at = end ? (size_t)(end + 1 - file.data) : 0;
        if (end) {
            cr_buf_add(&head, "\n<title>", 8);
            buf_xml(&head, title);
            cr_buf_add(&head, "</title>\n<desc>", 15);
            cr_buf_add(&head, desc->data ? desc->data : "", desc->len);
            cr_buf_add(&head, "</desc>\n", 8);
        }
        if (head.failed) {
            free(file.data);
            free(head.data);
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory drawing chart '%s'", path);
        }
    }

    cr_temp temp = CR_TEMP_NONE;
    st = cr_temp_file(ctx, path, "chart", &temp);
    if (st == CR_OK) {
        FILE *f = fopen(temp.path, "wb");
        int err = f ? 0 : errno;
        if (f) {
            errno = 0;
            if (fwrite(file.data, 1, head_at, f) != head_at ||
                (head.len && fwrite(head.data, 1, head.len, f) != head.len) ||
                fwrite(file.data + head_at, 1, file.len - head_at, f) != file.len - head_at)
                err = errno ? errno : EIO;
            errno = 0;
            if (fclose(f) != 0 && !err) /* the last bytes: a full disk shows here */
                err = errno ? errno : EIO;
        }
        if (err)
            st = cr_ctx_fail(ctx, CR_E_IO, "cannot write chart '%s': %s", path, strerror(err));
        else if (keep) {
            *keep = temp;
            temp = (cr_temp)CR_TEMP_NONE;
        } else
            st = cr_temp_publish(ctx, &temp, path, overwrite);
    }
    cr_temp_discard(&temp);
    free(file.data);
    free(head.data);
    return st;
}

/* ---- the rank chart ---- */

typedef struct rank_model {
    const cr_rank_interval *zones;
    int n, ntop;
    char title[256];
    double height, row, label_font; /* label_font 0: names dropped */
    double plot_x, plot_w, xmax;    /* ranks 0.5 .. xmax + 0.5 across the plot */
} rank_model;

static double rank_x(const rank_model *m, double rank)
{
    return m->plot_x + (rank - 0.5) / m->xmax * m->plot_w;
}

static void rank_layout(rank_model *m)
{
    double room = HEIGHT_MAX - PLOT_TOP - AXIS_BELOW;
    m->row = fmin(ROW_MAX, room / m->n);
    m->height = ceil(PLOT_TOP + m->n * m->row + AXIS_BELOW);
    double font = fmin(LABEL_FONT_MAX, 0.75 * m->row);
    m->label_font = font >= LABEL_FONT_MIN ? font : 0;
    /* without names the column holds only a few rank numbers: the plot takes its room */
    m->plot_x = MARGIN + (m->label_font > 0 ? LABEL_W : RANK_COL + 16);
    m->plot_w = CHART_WIDTH - MARGIN - 16 - m->plot_x;
    m->xmax = m->n;
    for (int i = 0; i < m->n; i++) {
        const cr_rank_interval *z = &m->zones[i];
        double v[] = {z->p05, z->p50, z->p95, z->nominal};
        for (int k = 0; k < 4; k++)
            if (isfinite(v[k]) && v[k] > m->xmax)
                m->xmax = ceil(v[k]);
    }
}

/* Tick labels of the rank axis at y: 1 and the multiples of a nice step. */
static void rank_ticks(cairo_t *cr, const rank_model *m, double y, double step)
{
    cairo_set_source_rgb(cr, MUTED);
    for (double r = step > 1 ? 0 : 1; r <= m->xmax + 1e-9; r += step) {
        double v = r < 1 ? 1 : r;
        char t[32];
        snprintf(t, sizeof t, "%.0f", v);
        text_at(cr, rank_x(m, v), y, 13, 0, 1, 0, t);
    }
}

static void draw_rank_legend(cairo_t *cr, const rank_model *m)
{
    double x = MARGIN, y = LEGEND_MID, sw = 28, sh = 12;
    char t[96];
    if (m->ntop > 0) {
        cairo_rectangle(cr, x, y - sh / 2, sw, sh);
        cairo_set_source_rgb(cr, BLUE);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, INK);
        snprintf(t, sizeof t, "top %d at the nominal options", m->ntop);
        x += sw + 8 + text_at(cr, x + sw + 8, y + 5, 14, 0, 0, 0, t) + 24;
    }
    cairo_rectangle(cr, x, y - sh / 2, sw, sh);
    cairo_set_source_rgb(cr, OTHER_GREY);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, INK);
    x += sw + 8 + text_at(cr, x + sw + 8, y + 5, 14, 0, 0, 0, m->ntop ? "other zones" : "zones") + 24;
    cairo_set_source_rgb(cr, INK);
    x += 8 + text_at(cr, x, y + 5, 14, 0, 0, 0, "bar: ranks of 5\xe2\x80\x93" "95 % of the runs") + 24;
    cairo_arc(cr, x + 6, y, 5, 0, 2 * M_PI);
    cairo_fill(cr);
    x += 18 + text_at(cr, x + 18, y + 5, 14, 0, 0, 0, "median rank") + 24;
    cairo_move_to(cr, x + 6, y - 8);
    cairo_line_to(cr, x + 6, y + 8);
    cairo_set_source_rgb(cr, VERMILION);
    cairo_set_line_width(cr, 2.5);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, INK);
    text_at(cr, x + 18, y + 5, 14, 0, 0, 0, "nominal rank");
}

static void draw_rank_chart(cairo_t *cr, const void *model)
{
    const rank_model *m = model;
    double plot_bottom = PLOT_TOP + m->n * m->row;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, INK);
    text_at(cr, MARGIN, TITLE_BASE, 22, 1, 0, CHART_WIDTH - 2 * MARGIN, m->title);
    char sub[256];
    snprintf(sub, sizeof sub, "%d zones, most exposed at the nominal options first%s", m->n,
             m->label_font > 0 ? "" : "; too many rows to name legibly: rows by nominal rank");
    cairo_set_source_rgb(cr, MUTED);
    text_at(cr, MARGIN, SUBTITLE_BASE, 14, 0, 0, CHART_WIDTH - 2 * MARGIN, sub);
    draw_rank_legend(cr, m);

    /* grid lines at the ticks */
    double step = fmax(1, nice_step(m->xmax, 10)); /* ranks are whole numbers */
    cairo_set_source_rgb(cr, GRIDLINE);
    cairo_set_line_width(cr, 1);
    for (double r = step > 1 ? 0 : 1; r <= m->xmax + 1e-9; r += step) {
        double x = floor(rank_x(m, r < 1 ? 1 : r)) + 0.5;
        cairo_move_to(cr, x, PLOT_TOP);
        cairo_line_to(cr, x, plot_bottom);
    }
    cairo_stroke(cr);

    /* the rows: bar, median dot, nominal tick, label */
    double bar_h = fmax(1, round(0.5 * m->row)), dot_r = fmax(1, fmin(6, 0.3 * m->row));
    double tick_h = 0.84 * m->row, tick_w = fmax(1, fmin(2.5, 0.12 * m->row));
    for (int i = 0; i < m->n; i++) {
        const cr_rank_interval *z = &m->zones[i];
        double yc = PLOT_TOP + (i + 0.5) * m->row;
        if (isfinite(z->p05) && isfinite(z->p95)) {
            double x0 = rank_x(m, fmin(z->p05, z->p95)), x1 = rank_x(m, fmax(z->p05, z->p95));
            if (x1 - x0 < 3) { /* a zone whose rank never moves: still a visible bar */
                x0 = (x0 + x1) / 2 - 1.5;
                x1 = x0 + 3;
            }
            /* on whole pixels, all of one height: crisp bars, however thin the rows */
            cairo_rectangle(cr, x0, round(yc - bar_h / 2), x1 - x0, bar_h);
            if (z->top)
                cairo_set_source_rgb(cr, BLUE);
            else
                cairo_set_source_rgb(cr, OTHER_GREY);
            cairo_fill(cr);
        }
        if (isfinite(z->p50)) {
            cairo_arc(cr, rank_x(m, z->p50), yc, dot_r, 0, 2 * M_PI);
            cairo_set_source_rgb(cr, INK);
            cairo_fill(cr);
        }
        if (z->nominal > 0) {
            double x = rank_x(m, z->nominal);
            cairo_move_to(cr, x, yc - tick_h / 2);
            cairo_line_to(cr, x, yc + tick_h / 2);
            cairo_set_source_rgb(cr, VERMILION);
            cairo_set_line_width(cr, tick_w);
            cairo_stroke(cr);
        }
        if (m->label_font > 0) {
            double base = yc + 0.36 * m->label_font;
            char r[16];
            snprintf(r, sizeof r, "%d", z->nominal);
            cairo_set_source_rgb(cr, MUTED);
            text_at(cr, MARGIN + RANK_COL, base, m->label_font, 0, 2, 0, r);
            cairo_set_source_rgb(cr, INK);
            text_at(cr, MARGIN + RANK_COL + 10, base, m->label_font, z->top, 0,
                    m->plot_x - 12 - (MARGIN + RANK_COL + 10), z->label);
        }
    }
    if (m->label_font == 0) {
        /* no names: the rows' nominal ranks at a nice step, so that a row can be found */
        double rstep = nice_step(m->n, (int)fmax(2, (plot_bottom - PLOT_TOP) / 60));
        cairo_set_source_rgb(cr, MUTED);
        for (double k = rstep > 1 ? 0 : 1; k <= m->n; k += rstep) {
            int i = k < 1 ? 0 : (int)k - 1;
            char r[32];
            snprintf(r, sizeof r, "%d", m->zones[i].nominal);
            text_at(cr, m->plot_x - 8, PLOT_TOP + (i + 0.5) * m->row + 4, 12, 0, 2, 0, r);
        }
    }

    /* the axis */
    cairo_set_source_rgb(cr, INK);
    cairo_set_line_width(cr, 1);
    cairo_move_to(cr, m->plot_x, floor(plot_bottom) + 0.5);
    cairo_line_to(cr, m->plot_x + m->plot_w, floor(plot_bottom) + 0.5);
    cairo_stroke(cr);
    rank_ticks(cr, m, plot_bottom + 20, step);
    if (plot_bottom - PLOT_TOP > 600) /* a tall chart: the ranks on top as well */
        rank_ticks(cr, m, PLOT_TOP - 6, step);
    cairo_set_source_rgb(cr, INK);
    text_at(cr, m->plot_x + m->plot_w / 2, plot_bottom + 48, 14, 0, 1, 0,
            "rank (1 = most exposed)");
}

static cr_status rank_chart(cr_ctx *ctx, const char *path, const cr_rank_interval *zones, int n,
                            const char *title, int overwrite, cr_temp *keep)
{
    if (!zones || n < 1)
        return cr_ctx_fail(ctx, CR_E_USAGE, "chart '%s': no zones to draw", path ? path : "");
    rank_model m;
    memset(&m, 0, sizeof m);
    m.zones = zones;
    m.n = n;
    for (int i = 0; i < n; i++)
        m.ntop += zones[i].top != 0;
    cr_text_clean(m.title, sizeof m.title, title ? title : "Rank intervals");
    rank_layout(&m);

    chart_buf desc = {NULL, 0, 0, 0};
    char item[160];
    snprintf(item, sizeof item, "%d zones by nominal rank: nominal rank, name, ranks of 5-95 %% "
             "of the runs, median rank", n);
    buf_xml(&desc, item);
    for (int i = 0; i < n; i++) {
        snprintf(item, sizeof item, "%s %d ", i ? ";" : ":", zones[i].nominal);
        buf_xml(&desc, item);
        buf_xml(&desc, zones[i].label ? zones[i].label : "");
        snprintf(item, sizeof item, " %g-%g, %g%s", zones[i].p05, zones[i].p95, zones[i].p50,
                 zones[i].top ? " (top)" : "");
        buf_xml(&desc, item);
    }
    buf_xml(&desc, ".");
    cr_status st = chart_write(ctx, path, overwrite, keep, CHART_WIDTH, m.height,
                               draw_rank_chart, &m, m.title, &desc);
    free(desc.data);
    return st;
}

cr_status cr_chart_rank_intervals(cr_ctx *ctx, const char *path, const cr_rank_interval *zones,
                                  int n, const char *title, int overwrite)
{
    return rank_chart(ctx, path, zones, n, title, overwrite, NULL);
}

cr_status cr_chart_rank_intervals_temp(cr_ctx *ctx, const char *path,
                                       const cr_rank_interval *zones, int n, const char *title,
                                       cr_temp *temp)
{
    return rank_chart(ctx, path, zones, n, title, 0, temp);
}

/* ---- the indices chart ---- */

typedef struct index_model {
    const char *const *factors;
    const cr_sobol_index *idx;
    int d;
    char title[256];
} index_model;

/* y of an index value, the drawing kept to 0..1: an estimate slightly outside (sampling
 * error) is drawn at the edge and labelled with its own value. */
static double index_y(double v)
{
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    return INDEX_PLOT_BOTTOM - v * (INDEX_PLOT_BOTTOM - INDEX_PLOT_TOP);
}

/* One bar of value v with its interval [lo, hi] (drawn when both are numbers), its value
 * written above; "n/a" when v is NaN. */
static void index_bar(cairo_t *cr, double x, double w, double v, double lo, double hi, int total)
{
    char t[32];
    double top = INDEX_PLOT_BOTTOM;
    if (isfinite(v)) {
        top = index_y(v);
        cairo_rectangle(cr, x, top, w, INDEX_PLOT_BOTTOM - top);
        if (total)
            cairo_set_source_rgb(cr, ORANGE);
        else
            cairo_set_source_rgb(cr, BLUE);
        cairo_fill(cr);
        snprintf(t, sizeof t, "%.2f", v);
    } else {
        snprintf(t, sizeof t, "n/a");
    }
    if (isfinite(lo) && isfinite(hi) && isfinite(v)) {
        double xc = x + w / 2, y0 = index_y(lo), y1 = index_y(hi), cap = fmin(8, w / 4);
        cairo_set_source_rgb(cr, INK);
        cairo_set_line_width(cr, 1.5);
        cairo_move_to(cr, xc, y0);
        cairo_line_to(cr, xc, y1);
        cairo_move_to(cr, xc - cap, y0);
        cairo_line_to(cr, xc + cap, y0);
        cairo_move_to(cr, xc - cap, y1);
        cairo_line_to(cr, xc + cap, y1);
        cairo_stroke(cr);
        top = fmin(top, y1);
    }
    if (isfinite(v) && w < 22)
        return; /* many factors: no room for the numbers (they are in the CSV); n/a stays */
    if (isfinite(v))
        cairo_set_source_rgb(cr, INK);
    else
        cairo_set_source_rgb(cr, MUTED);
    text_at(cr, x + w / 2, top - 6, fmin(13, fmax(9, w / 3)), 0, 1, 0, t);
}

static void draw_index_chart(cairo_t *cr, const void *model)
{
    const index_model *m = model;
    double plot_x = INDEX_PLOT_LEFT, plot_w = CHART_WIDTH - MARGIN - plot_x;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, INK);
    text_at(cr, MARGIN, TITLE_BASE, 22, 1, 0, CHART_WIDTH - 2 * MARGIN, m->title);
    cairo_set_source_rgb(cr, MUTED);
    text_at(cr, MARGIN, SUBTITLE_BASE, 14, 0, 0, CHART_WIDTH - 2 * MARGIN,
            "Sobol' indices per factor: the share of the variance due to the factor alone "
            "(first order) and with its interactions (total)");

    /* legend */
    double x = MARGIN, y = LEGEND_MID;
    cairo_rectangle(cr, x, y - 7, 28, 14);
    cairo_set_source_rgb(cr, BLUE);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, INK);
    x += 36 + index_name_at(cr, x + 36, y + 5, 14, "i", "  first order") + 28;
    cairo_rectangle(cr, x, y - 7, 28, 14);
    cairo_set_source_rgb(cr, ORANGE);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, INK);
    x += 36 + index_name_at(cr, x + 36, y + 5, 14, "Ti", "  total") + 28;
    cairo_set_line_width(cr, 1.5);
    cairo_move_to(cr, x + 6, y - 8);
    cairo_line_to(cr, x + 6, y + 8);
    cairo_move_to(cr, x + 1, y - 8);
    cairo_line_to(cr, x + 11, y - 8);
    cairo_move_to(cr, x + 1, y + 8);
    cairo_line_to(cr, x + 11, y + 8);
    cairo_stroke(cr);
    text_at(cr, x + 20, y + 5, 14, 0, 0, 0, "bootstrap confidence interval");

    /* y axis 0..1 */
    cairo_set_line_width(cr, 1);
    for (int k = 0; k <= 5; k++) {
        double yy = floor(index_y(k / 5.0)) + 0.5;
        if (k > 0) {
            cairo_set_source_rgb(cr, GRIDLINE);
            cairo_move_to(cr, plot_x, yy);
            cairo_line_to(cr, plot_x + plot_w, yy);
            cairo_stroke(cr);
        }
        char t[16];
        snprintf(t, sizeof t, "%.1f", k / 5.0);
        cairo_set_source_rgb(cr, MUTED);
        text_at(cr, plot_x - 10, yy + 5, 13, 0, 2, 0, t);
    }
    cairo_save(cr);
    cairo_translate(cr, MARGIN + 14, (INDEX_PLOT_TOP + INDEX_PLOT_BOTTOM) / 2);
    cairo_rotate(cr, -M_PI / 2);
    cairo_set_source_rgb(cr, INK);
    text_at(cr, 0, 0, 14, 0, 1, 0, "index (share of variance)");
    cairo_restore(cr);

    /* the groups */
    double gw = plot_w / m->d, bw = fmin(0.34 * gw, 90), gap = fmin(0.04 * gw, 8);
    for (int i = 0; i < m->d; i++) {
        const cr_sobol_index *s = &m->idx[i];
        double xc = plot_x + (i + 0.5) * gw;
        index_bar(cr, xc - gap / 2 - bw, bw, s->first, s->first_lo, s->first_hi, 0);
        index_bar(cr, xc + gap / 2, bw, s->total, s->total_lo, s->total_hi, 1);
        char name[SHOWN_MAX];
        cr_text_clean(name, sizeof name, m->factors[i] ? m->factors[i] : "");
        double size = clean_width(cr, 14, 0, name) <= gw - 8 ? 14 : 12; /* then cut */
        cairo_set_source_rgb(cr, INK);
        text_at(cr, xc, INDEX_PLOT_BOTTOM + 24, size, 0, 1, gw - 8, name);
    }
    cairo_set_source_rgb(cr, INK);
    cairo_move_to(cr, plot_x, floor(INDEX_PLOT_BOTTOM) + 0.5);
    cairo_line_to(cr, plot_x + plot_w, floor(INDEX_PLOT_BOTTOM) + 0.5);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, MUTED);
    text_at(cr, MARGIN, INDEX_HEIGHT - 56, 13, 0, 0, CHART_WIDTH - 2 * MARGIN,
            "Bars are drawn within 0\xe2\x80\x93" "1; the numbers are the estimates, which sampling "
            "error can put slightly outside. n/a: the output did not vary.");
    text_at(cr, MARGIN, INDEX_HEIGHT - 34, 13, 0, 0, CHART_WIDTH - 2 * MARGIN,
            "Total minus first order: the share due to interactions with other factors. The "
            "indices hold only for the factors' chosen ranges.");
}

static cr_status index_chart(cr_ctx *ctx, const char *path, const char *const *factors,
                             const cr_sobol_index *indices, int d, const char *title,
                             int overwrite, cr_temp *keep)
{
    if (!factors || !indices || d < 1)
        return cr_ctx_fail(ctx, CR_E_USAGE, "chart '%s': no factors to draw", path ? path : "");
    index_model m = {factors, indices, d, ""};
    cr_text_clean(m.title, sizeof m.title, title ? title : "Sensitivity of the ranking");
    chart_buf desc = {NULL, 0, 0, 0};
    buf_xml(&desc, "First-order and total Sobol' indices, with their intervals, per factor");
    for (int i = 0; i < d; i++) {
        const cr_sobol_index *s = &indices[i];
        char item[200];
        buf_xml(&desc, i ? "; " : ": ");
        buf_xml(&desc, factors[i] ? factors[i] : "");
        snprintf(item, sizeof item, " S_i %.3g [%.3g, %.3g], S_Ti %.3g [%.3g, %.3g]", s->first,
                 s->first_lo, s->first_hi, s->total, s->total_lo, s->total_hi);
        buf_xml(&desc, item);
    }
    buf_xml(&desc, ".");
    cr_status st = chart_write(ctx, path, overwrite, keep, CHART_WIDTH, INDEX_HEIGHT,
                               draw_index_chart, &m, m.title, &desc);
    free(desc.data);
    return st;
}

cr_status cr_chart_indices(cr_ctx *ctx, const char *path, const char *const *factors,
                           const cr_sobol_index *indices, int d, const char *title, int overwrite)
{
    return index_chart(ctx, path, factors, indices, d, title, overwrite, NULL);
}

cr_status cr_chart_indices_temp(cr_ctx *ctx, const char *path, const char *const *factors,
                                const cr_sobol_index *indices, int d, const char *title,
                                cr_temp *temp)
{
    return index_chart(ctx, path, factors, indices, d, title, 0, temp);
}
