/* map_draw.c: the map's layout and its one drawing function, rendered to PNG, PDF
 * or SVG by Cairo. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* M_PI */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo-pdf.h>
#include <cairo-svg.h>

#include "map_internal.h"
#include "core/internal.h"
#include "core/text.h"

#define FONT "DejaVu Sans"
#define BACKGROUND 0.933, 0.945, 0.957 /* nodata shows this light grey-blue */
#define INK 0.15, 0.15, 0.15
#define GREY 0.40, 0.40, 0.40

void cr_map_layout(const map_model *m, int width, map_layout *L)
{
    memset(L, 0, sizeof *L);
    double s = width / 1600.0;
    L->width = width;
    L->s = s;
    L->margin = 32 * s;
    L->panel_w = 340 * s;
    double gap = 28 * s, title_h = 96 * s, footer_h = 58 * s;
    L->frame_x = L->margin;
    L->frame_y = L->margin + title_h;
    L->frame_w = width - 2 * L->margin - L->panel_w - gap;
    double gw = (m->xmax - m->xmin) * (m->geographic ? m->metres_per_unit / 111319.49 : 1.0);
    double gh = m->ymax - m->ymin;
    double aspect = gw > 0 && gh > 0 ? gh / gw : 1.0;
    if (aspect > 3)
        aspect = 3; /* a very tall raster: keep the page reasonable, the frame is narrowed */
    L->frame_h = L->frame_w * aspect;
    double data_aspect = gw > 0 && gh > 0 ? gh / gw : 1.0;
    if (data_aspect > aspect) {
        double w = L->frame_h / data_aspect;
        L->frame_x += (L->frame_w - w) / 2;
        L->frame_w = w;
    }
    double panel_min = 620 * s;
    double body = L->frame_h > panel_min ? L->frame_h : panel_min;
    L->panel_x = width - L->margin - L->panel_w;
    L->panel_y = L->frame_y;
    L->height = ceil(L->frame_y + body + footer_h + L->margin * 0.5);
}

/* Map coordinates to page pixels. */
static void to_page(const map_model *m, const map_layout *L, double x, double y, double *px,
                    double *py)
{
    *px = L->frame_x + (x - m->xmin) / (m->xmax - m->xmin) * L->frame_w;
    *py = L->frame_y + (m->ymax - y) / (m->ymax - m->ymin) * L->frame_h;
}

/* The longest text drawn (the model's strings are shorter). */
enum { SHOWN_MAX = 1024 };

/* Cairo draws only valid UTF-8 (anything else puts the drawing in an error state and the
 * map is not written): every text goes through cr_text_clean() first. */
static void text_at(cairo_t *cr, double x, double y, double size, int bold, const char *raw)
{
    char text[SHOWN_MAX];
    cr_text_clean(text, sizeof text, raw);
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, text);
}

static double text_width(cairo_t *cr, double size, int bold, const char *raw)
{
    char text[SHOWN_MAX];
    cr_text_clean(text, sizeof text, raw);
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_text_extents_t e;
    cairo_text_extents(cr, text, &e);
    return e.x_advance;
}

/* Text with a white halo, so that it reads over any colour. */
static void halo_text(cairo_t *cr, double x, double y, double size, const char *raw, double s)
{
    char text[SHOWN_MAX];
    cr_text_clean(text, sizeof text, raw);
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, size);
    cairo_move_to(cr, x, y);
    cairo_text_path(cr, text);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.92);
    cairo_set_line_width(cr, 3.6 * s);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, INK);
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, text);
}

static void ring_paths(cairo_t *cr, const map_model *m, const map_layout *L, size_t r0, size_t r1)
{
    for (size_t r = r0; r < r1; r++) {
        size_t a = m->rings[r], b = m->rings[r + 1];
        for (size_t i = a; i < b; i++) {
            double px, py;
            to_page(m, L, m->xy[2 * i], m->xy[2 * i + 1], &px, &py);
            if (i == a)
                cairo_move_to(cr, px, py);
            else
                cairo_line_to(cr, px, py);
        }
        if (b > a)
            cairo_close_path(cr);
    }
}

/* Diagonal lines (lower left to upper right) every `spacing` px over the current clip, in
 * the current colour: the hatch of nodata on inundation maps and, over a light wash, of
 * zones with too little data. */
static void hatch_clip(cairo_t *cr, double spacing, double width)
{
    double x0, y0, x1, y1;
    cairo_clip_extents(cr, &x0, &y0, &x1, &y1);
    if (!(x1 > x0 && y1 > y0) || !(spacing > 0))
        return;
    double h = y1 - y0;
    /* lines x + y = c, c a multiple of spacing, so that hatches line up across zones */
    for (double c = floor((x0 + y0) / spacing) * spacing; c <= x1 + y1; c += spacing) {
        cairo_move_to(cr, c - y1, y1);
        cairo_line_to(cr, c - y1 + h, y0);
    }
    cairo_set_line_width(cr, width);
    cairo_stroke(cr);
}

/* The look of a zone with insufficient data over the current clip: a white wash that
 * greys out the colours under it, and dark hatching. */
static void insufficient_fill(cairo_t *cr, double s)
{
    cairo_set_source_rgba(cr, 1, 1, 1, 0.6);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    hatch_clip(cr, fmax(4.0, 7 * s), fmax(1.0, 1.2 * s));
}

/* The look of nodata on an inundation map over the current clip: the background, hatched
 * in grey. */
static void nodata_fill(cairo_t *cr, double s)
{
    cairo_set_source_rgb(cr, BACKGROUND);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 0.62, 0.64, 0.67);
    hatch_clip(cr, fmax(4.0, 6 * s), fmax(1.0, 1.2 * s));
}

/* A legend swatch at (x, y), filled by fill (NULL: by the current colour), outlined. */
static void swatch(cairo_t *cr, double x, double y, double w, double h, double s,
                   void (*fill)(cairo_t *, double))
{
    cairo_save(cr);
    cairo_rectangle(cr, x, y, w, h);
    if (fill) {
        cairo_clip(cr);
        fill(cr, s);
        cairo_reset_clip(cr);
    } else {
        cairo_fill(cr);
    }
    cairo_rectangle(cr, x, y, w, h);
    cairo_set_source_rgb(cr, GREY);
    cairo_set_line_width(cr, 0.8 * s);
    cairo_stroke(cr);
    cairo_restore(cr);
}

/* The labels, nudged up or down when they would overlap one drawn before. */
static void draw_labels(cairo_t *cr, const map_model *m, const map_layout *L)
{
    double s = L->s, size = 15 * s;
    enum { MAXBOX = 256 };
    double box[MAXBOX][4];
    int nbox = 0;
    for (int i = 0; i < m->nlabels; i++) {
        const map_label *lab = &m->labels[i];
        if (!lab->has_point || !lab->text)
            continue;
        char text[160];
        int n = snprintf(text, sizeof text, "%d ", i + 1);
        cr_text_clean(text + n, sizeof text - (size_t)n, lab->text); /* whole characters */
        double px, py;
        to_page(m, L, lab->x, lab->y, &px, &py);
        double w = text_width(cr, size, 1, text), h = size * 1.25;
        double x = px - w / 2, y = py + size * 0.35;
        if (x < L->frame_x + 2 * s)
            x = L->frame_x + 2 * s;
        if (x + w > L->frame_x + L->frame_w - 2 * s)
            x = L->frame_x + L->frame_w - 2 * s - w;
        static const double shifts[] = {0, 1, -1, 2, -2};
        double best_y = y;
        for (size_t k = 0; k < sizeof shifts / sizeof *shifts; k++) {
            double yy = y + shifts[k] * h, top = yy - size;
            int clash = 0;
            for (int j = 0; j < nbox && !clash; j++)
                clash = x < box[j][2] && x + w > box[j][0] && top < box[j][3] && top + h > box[j][1];
            if (!clash) {
                best_y = yy;
                break;
            }
        }
        if (nbox < MAXBOX) {
            box[nbox][0] = x;
            box[nbox][1] = best_y - size;
            box[nbox][2] = x + w;
            box[nbox][3] = best_y - size + h;
            nbox++;
        }
        /* the anchor */
        cairo_arc(cr, px, py, 2.6 * s, 0, 2 * M_PI);
        cairo_set_source_rgb(cr, INK);
        cairo_fill(cr);
        halo_text(cr, x, best_y, size, text, s);
    }
}

/* A "nice" length (1, 2 or 5 times a power of ten) not above max. */
static double nice_length(double max)
{
    if (!(max > 0))
        return 0;
    double p = pow(10, floor(log10(max)));
    if (5 * p <= max)
        return 5 * p;
    if (2 * p <= max)
        return 2 * p;
    return p;
}

static void format_length(double metres, char *buf, size_t size)
{
    if (metres >= 1000)
        snprintf(buf, size, "%g km", metres / 1000);
    else
        snprintf(buf, size, "%g m", metres);
}

static void draw_scale_bar(cairo_t *cr, const map_model *m, const map_layout *L, double x, double y)
{
    double s = L->s;
    double metres_per_px = (m->xmax - m->xmin) * m->metres_per_unit / L->frame_w;
    if (!(metres_per_px > 0) || !isfinite(metres_per_px))
        return;
    double len = nice_length(L->panel_w * 0.75 * metres_per_px);
    double px = len / metres_per_px, h = 8 * s;
    text_at(cr, x, y, 14 * s, 1, "Scale");
    y += 14 * s;
    for (int k = 0; k < 4; k++) {
        cairo_rectangle(cr, x + k * px / 4, y, px / 4, h);
        if (k % 2 == 0)
            cairo_set_source_rgb(cr, INK);
        else
            cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, INK);
        cairo_set_line_width(cr, 1 * s);
        cairo_stroke(cr);
    }
    char label[32];
    cairo_set_source_rgb(cr, INK);
    text_at(cr, x - 3 * s, y + h + 16 * s, 12 * s, 0, "0");
    format_length(len / 2, label, sizeof label);
    text_at(cr, x + px / 2 - text_width(cr, 12 * s, 0, label) / 2, y + h + 16 * s, 12 * s, 0, label);
    format_length(len, label, sizeof label);
    text_at(cr, x + px - text_width(cr, 12 * s, 0, label) / 2, y + h + 16 * s, 12 * s, 0, label);
}

static void draw_north_arrow(cairo_t *cr, const map_model *m, const map_layout *L, double cx,
                             double cy)
{
    double s = L->s, r = 26 * s;
    cairo_save(cr);
    cairo_translate(cr, cx, cy);
    cairo_rotate(cr, m->north);
    cairo_move_to(cr, 0, -r);
    cairo_line_to(cr, r * 0.45, r * 0.7);
    cairo_line_to(cr, 0, r * 0.35);
    cairo_close_path(cr);
    cairo_set_source_rgb(cr, INK);
    cairo_fill(cr);
    cairo_move_to(cr, 0, -r);
    cairo_line_to(cr, -r * 0.45, r * 0.7);
    cairo_line_to(cr, 0, r * 0.35);
    cairo_close_path(cr);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, INK);
    cairo_set_line_width(cr, 1.2 * s);
    cairo_stroke(cr);
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 16 * s);
    cairo_text_extents_t e;
    cairo_text_extents(cr, "N", &e);
    cairo_move_to(cr, -e.x_advance / 2, -r - 6 * s);
    cairo_show_text(cr, "N");
    cairo_restore(cr);
}

/* The legend: classes (highest first) or a ramp, no data, neighbourhoods. Returns the
 * y below it. */
static double draw_legend(cairo_t *cr, const map_model *m, const map_layout *L)
{
    double s = L->s, x = L->panel_x, y = L->panel_y + 18 * s;
    cairo_set_source_rgb(cr, INK);
    text_at(cr, x, y, 18 * s, 1, m->legend_title);
    y += 20 * s;
    if (m->legend_unit[0]) {
        cairo_set_source_rgb(cr, GREY);
        text_at(cr, x, y, 13 * s, 0, m->legend_unit);
        y += 10 * s;
    }
    y += 12 * s;
    double sw = 34 * s, sh = 22 * s, step = 30 * s;
    if (m->mode == MAP_MODE_CONTINUOUS) {
        double bar_h = 180 * s;
        cairo_pattern_t *g = cairo_pattern_create_linear(0, y + bar_h, 0, y);
        static const double ramp[5][3] = {{0.871, 0.922, 0.969}, {0.620, 0.792, 0.882},
                                          {0.259, 0.573, 0.776}, {0.031, 0.318, 0.612},
                                          {0.031, 0.188, 0.420}};
        for (int k = 0; k < 5; k++)
            cairo_pattern_add_color_stop_rgb(g, k / 4.0, ramp[k][0], ramp[k][1], ramp[k][2]);
        cairo_rectangle(cr, x, y, sw, bar_h);
        cairo_set_source(cr, g);
        cairo_fill_preserve(cr);
        cairo_pattern_destroy(g);
        cairo_set_source_rgb(cr, GREY);
        cairo_set_line_width(cr, 0.8 * s);
        cairo_stroke(cr);
        char v[48];
        cairo_set_source_rgb(cr, INK);
        snprintf(v, sizeof v, "%.4g", m->vmax);
        text_at(cr, x + sw + 10 * s, y + 12 * s, 14 * s, 0, v);
        snprintf(v, sizeof v, "%.4g", (m->vmin + m->vmax) / 2);
        text_at(cr, x + sw + 10 * s, y + bar_h / 2 + 5 * s, 14 * s, 0, v);
        snprintf(v, sizeof v, "%.4g", m->vmin);
        text_at(cr, x + sw + 10 * s, y + bar_h, 14 * s, 0, v);
        y += bar_h + 12 * s;
    } else {
        for (int k = m->nclasses - 1; k >= 0; k--) {
            cairo_rectangle(cr, x, y, sw, sh);
            cairo_set_source_rgb(cr, m->colors[k][0], m->colors[k][1], m->colors[k][2]);
            cairo_fill_preserve(cr);
            cairo_set_source_rgb(cr, GREY);
            cairo_set_line_width(cr, 0.8 * s);
            cairo_stroke(cr);
            cairo_set_source_rgb(cr, INK);
            text_at(cr, x + sw + 10 * s, y + sh - 6 * s, 14 * s, 0, m->names[k]);
            char range[64];
            if (m->mode == MAP_MODE_CLASSES && m->nclasses > 1) {
                char lo[24], hi[24];
                if (k > 0)
                    snprintf(lo, sizeof lo, "%.1f", m->breaks[k - 1]);
                if (k < m->nclasses - 1)
                    snprintf(hi, sizeof hi, "%.1f", m->breaks[k]);
                if (k == 0)
                    snprintf(range, sizeof range, "< %s", hi);
                else if (k == m->nclasses - 1)
                    snprintf(range, sizeof range, "\xe2\x89\xa5 %s", lo); /* >= */
                else
                    snprintf(range, sizeof range, "%s \xe2\x80\x93 %s", lo, hi); /* en dash */
            } else if (m->class_base == 1) {
                snprintf(range, sizeof range, "%d", k + 1);
            } else {
                range[0] = '\0'; /* a band's categories: their names are long and say it */
            }
            text_at(cr, x + sw + 150 * s, y + sh - 6 * s, 14 * s, 0, range);
            y += step;
        }
    }
    /* no data; on an inundation map, the sea and dry land apart from it */
    if (m->inundation) {
        cairo_set_source_rgb(cr, MAP_SEA_RGB);
        swatch(cr, x, y, sw, sh, s, NULL);
        cairo_set_source_rgb(cr, INK);
        text_at(cr, x + sw + 10 * s, y + sh - 6 * s, 14 * s, 0, "Sea");
        y += step;
        cairo_set_source_rgb(cr, MAP_DRY_RGB);
        swatch(cr, x, y, sw, sh, s, NULL);
        cairo_set_source_rgb(cr, INK);
        text_at(cr, x + sw + 10 * s, y + sh - 6 * s, 14 * s, 0, "Dry land (0 m)");
        y += step;
        swatch(cr, x, y, sw, sh, s, nodata_fill);
    } else {
        cairo_set_source_rgb(cr, BACKGROUND);
        swatch(cr, x, y, sw, sh, s, NULL);
    }
    cairo_set_source_rgb(cr, INK);
    text_at(cr, x + sw + 10 * s, y + sh - 6 * s, 14 * s, 0,
            m->zero_clear && !m->inundation ? "Dry or no data" : "No data");
    y += step;
    if (m->zones > 0) {
        y += 8 * s;
        cairo_rectangle(cr, x, y, sw, sh);
        cairo_set_source_rgba(cr, 0.2, 0.2, 0.2, 0.9);
        cairo_set_line_width(cr, 1.0 * s);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, INK);
        text_at(cr, x + sw + 10 * s, y + sh - 6 * s, 14 * s, 0, "Neighbourhood");
        y += step;
        if (m->nlabels > 0) {
            cairo_rectangle(cr, x, y, sw, sh);
            cairo_set_source_rgb(cr, 0, 0, 0);
            cairo_set_line_width(cr, 2.4 * s);
            cairo_stroke(cr);
            cairo_set_source_rgb(cr, INK);
            text_at(cr, x + sw + 10 * s, y + sh - 6 * s, 14 * s, 0, m->rank_note);
            y += step;
        }
        if (m->nhatched > 0) {
            cairo_set_source_rgb(cr, 1, 1, 1);
            swatch(cr, x, y, sw, sh, s, insufficient_fill);
            cairo_set_source_rgb(cr, INK);
            text_at(cr, x + sw + 10 * s, y + sh - 6 * s, 14 * s, 0, m->hatch_note);
            y += step;
        }
    }
    return y;
}

/* Draws the map on cr (any surface), in layout pixels. */
static void draw_map(cairo_t *cr, const map_model *m, const map_layout *L)
{
    double s = L->s;
    /* page */
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    /* title */
    cairo_set_source_rgb(cr, INK);
    text_at(cr, L->margin, L->margin + 34 * s, 34 * s, 1, m->title);
    cairo_set_source_rgb(cr, GREY);
    text_at(cr, L->margin, L->margin + 66 * s, 17 * s, 0, m->subtitle);
    /* data frame: background, raster, zones */
    cairo_save(cr);
    cairo_rectangle(cr, L->frame_x, L->frame_y, L->frame_w, L->frame_h);
    cairo_clip(cr);
    if (m->inundation)
        nodata_fill(cr, s); /* what the image leaves transparent: nodata inland */
    else {
        cairo_set_source_rgb(cr, BACKGROUND);
        cairo_paint(cr);
    }
    if (m->image) {
        int iw = cairo_image_surface_get_width(m->image);
        int ih = cairo_image_surface_get_height(m->image);
        cairo_save(cr);
        cairo_translate(cr, L->frame_x, L->frame_y);
        cairo_scale(cr, L->frame_w / iw, L->frame_h / ih);
        cairo_set_source_surface(cr, m->image, 0, 0);
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
        cairo_pattern_set_extend(cairo_get_source(cr), CAIRO_EXTEND_PAD);
        cairo_rectangle(cr, 0, 0, iw, ih);
        cairo_fill(cr);
        cairo_restore(cr);
    }
    if (m->nrings > 0) {
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
        cairo_set_fill_rule(cr, CAIRO_FILL_RULE_EVEN_ODD);
        for (int i = 0; i < m->nhatched; i++) {
            cairo_save(cr);
            ring_paths(cr, m, L, m->hatched[2 * i], m->hatched[2 * i + 1]);
            cairo_clip(cr);
            insufficient_fill(cr, s);
            cairo_restore(cr);
        }
        ring_paths(cr, m, L, 0, m->nrings);
        cairo_set_source_rgba(cr, 0.2, 0.2, 0.2, 0.85);
        cairo_set_line_width(cr, 1.0 * s);
        cairo_stroke(cr);
        for (int i = 0; i < m->nlabels; i++)
            ring_paths(cr, m, L, m->labels[i].ring0, m->labels[i].ring1);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_set_line_width(cr, 2.4 * s);
        cairo_stroke(cr);
        draw_labels(cr, m, L);
    }
    cairo_restore(cr);
    cairo_rectangle(cr, L->frame_x, L->frame_y, L->frame_w, L->frame_h);
    cairo_set_source_rgb(cr, GREY);
    cairo_set_line_width(cr, 1.0 * s);
    cairo_stroke(cr);
    /* panel: legend, north arrow, scale bar */
    double y = draw_legend(cr, m, L);
    y += 40 * s;
    draw_north_arrow(cr, m, L, L->panel_x + 30 * s, y + 26 * s);
    y += 90 * s;
    cairo_set_source_rgb(cr, INK);
    draw_scale_bar(cr, m, L, L->panel_x, y);
    /* footer: source line and CRS */
    double fy = L->height - L->margin * 0.5 - 12 * s;
    cairo_set_source_rgb(cr, GREY);
    text_at(cr, L->margin, fy, 13 * s, 0, m->source);
    if (m->crs_name[0]) {
        double w = text_width(cr, 13 * s, 0, m->crs_name);
        text_at(cr, L->width - L->margin - w, fy, 13 * s, 0, m->crs_name);
    }
}

/* ---- output */

/* The map's file. Cairo writes through it, so that a failure keeps its reason (a full
 * disk) rather than Cairo's "error while writing to output stream". */
typedef struct map_file {
    FILE *file;
    int err; /* errno of the first failed write, 0 while none */
} map_file;

static int map_file_put(map_file *f, const void *data, size_t n)
{
    if (f->err)
        return 0;
    errno = 0;
    if (fwrite(data, 1, n, f->file) != n) {
        f->err = errno ? errno : EIO;
        return 0;
    }
    return 1;
}

static cairo_status_t file_write(void *closure, const unsigned char *data, unsigned int length)
{
    return map_file_put(closure, data, length) ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

/* Cairo's SVG writer with <title> and <desc> added after the <svg ...> start tag. */
typedef struct svg_stream {
    map_file *out;
    int state;       /* 0: looking for "<svg", 1: for the '>' closing it, 2: done */
    int matched;     /* characters of "<svg" matched */
    const char *insert;
} svg_stream;

static cairo_status_t svg_write(void *closure, const unsigned char *data, unsigned int length)
{
    svg_stream *w = closure;
    size_t start = 0;
    for (size_t i = 0; i < length && w->state < 2; i++) {
        char c = (char)data[i];
        if (w->state == 0) {
            static const char tag[] = "<svg";
            w->matched = c == tag[w->matched] ? w->matched + 1 : (c == '<' ? 1 : 0);
            if (w->matched == 4)
                w->state = 1;
        } else if (c == '>') {
            if (!map_file_put(w->out, data, i + 1) || !map_file_put(w->out, w->insert, strlen(w->insert)))
                return CAIRO_STATUS_WRITE_ERROR;
            start = i + 1;
            w->state = 2;
        }
    }
    if (length > start && !map_file_put(w->out, data + start, length - start))
        return CAIRO_STATUS_WRITE_ERROR;
    return CAIRO_STATUS_SUCCESS;
}

cr_status cr_map_render(cr_ctx *ctx, const map_model *m, const map_layout *L,
                        cr_map_format format, const char *path, const char *name)
{
    cairo_surface_t *surface = NULL;
    double k = 1.0;
    char *insert = NULL;
    map_file out = {fopen(path, "wb"), 0};
    if (!out.file)
        return cr_ctx_fail(ctx, CR_E_IO, "cannot write map '%s': %s", name, strerror(errno));
    svg_stream stream = {&out, 0, 0, NULL};
    int w = (int)L->width, h = (int)L->height;
    if (format == CR_MAP_PNG) {
        surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    } else if (format == CR_MAP_PDF) {
        k = 0.5;
        surface = cairo_pdf_surface_create_for_stream(file_write, &out, w * k, h * k);
        char text[sizeof m->desc];
        cr_text_clean(text, sizeof text, m->title);
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, text);
        cr_text_clean(text, sizeof text, m->desc);
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_SUBJECT, text);
        char creator[64];
        snprintf(creator, sizeof creator, "cityrisk %s", cr_version());
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, creator);
    } else {
        /* an escaped character takes at most 6 bytes (&quot;) */
        size_t size = 6 * (sizeof m->title + sizeof m->desc) + 64;
        if (!(insert = calloc(1, size))) {
            fclose(out.file);
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory writing map '%s'", name);
        }
        strcat(insert, "\n<title>");
        cr_xml_append(insert, size, m->title);
        strcat(insert, "</title>\n<desc>");
        cr_xml_append(insert, size, m->desc);
        strcat(insert, "</desc>\n");
        stream.insert = insert;
        surface = cairo_svg_surface_create_for_stream(svg_write, &stream, w, h);
        cairo_svg_surface_set_document_unit(surface, CAIRO_SVG_UNIT_PX);
    }
    cairo_t *cr = cairo_create(surface);
    if (k != 1.0)
        cairo_scale(cr, k, k);
    draw_map(cr, m, L);
    cairo_status_t cst = cairo_status(cr);
    cairo_destroy(cr);
    if (cst == CAIRO_STATUS_SUCCESS && format == CR_MAP_PNG)
        cst = cairo_surface_write_to_png_stream(surface, file_write, &out);
    cairo_surface_finish(surface);
    if (cst == CAIRO_STATUS_SUCCESS)
        cst = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    errno = 0;
    if (fclose(out.file) != 0 && !out.err) /* flushes the last bytes: a full disk shows here */
        out.err = errno ? errno : EIO;
    free(insert);
    if (out.err)
        return cr_ctx_fail(ctx, CR_E_IO, "cannot write map '%s': %s", name, strerror(out.err));
    if (cst != CAIRO_STATUS_SUCCESS)
        return cr_ctx_fail(ctx, CR_E_IO, "cannot write map '%s': %s", name,
                           cairo_status_to_string(cst));
    return CR_OK;
}
