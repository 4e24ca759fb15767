/* test_charts.c: the sensitivity command's charts (geo/sensitivity/charts.c): PNG and SVG by
 * the extension, one row per zone with the top ones highlighted, the indices chart with NaN
 * indices, the existing-output rule and atomic publication, hundreds of zones never cut.
 *
 * The PNG checks do not repeat the chart's layout constants: they find the rows of the
 * image that hold the highlight colour (Okabe-Ito blue, #0072B2) and those that hold the
 * other zones' grey (#BBBBBB) and check their count and order (the legend's swatches, then
 * one band per zone, the top zones above the others, evenly spaced). */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>

#include "sensitivity/internal.h"

typedef struct rgb {
    int r, g, b;
} rgb;

static const rgb HIGHLIGHT = {0, 114, 178}, OTHER = {187, 187, 187}, TICK = {213, 94, 0},
                 TOTAL = {230, 159, 0};

/* Five zones by nominal rank, the first two highlighted; names with UTF-8, XML's special
 * characters and one too long for the label column. */
static const cr_rank_interval ZONES[] = {
    {"Harbour & Docks", 1, 1, 1, 3, 1},
    {"Altstadt-S\xc3\xbc" "d", 2, 1, 2, 4, 1},
    {"\xce\x92\xcf\x8c\xcf\x81\xce\xb5\xce\xb9\xce\xb1 \xce\xa3\xcf\x85\xce\xbd\xce\xbf\xce\xb9"
     "\xce\xba\xce\xaf\xce\xb1", 3, 2, 3, 5, 0}, /* Βόρεια Συνοικία */
    {"The very long name of a neighbourhood that cannot possibly fit in the label column", 4, 3,
     4.5, 5, 0},
    {"Old Town", 5, 4, 5, 5, 0},
};
#define NZONES 5
#define NTOP 2

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return text;
}

/* 1 when row y of the image has a run of at least `run_min` pixels of colour c (within 1
 * per channel). */
static int row_has_run(cairo_surface_t *img, int y, rgb c, int run_min)
{
    const unsigned char *data = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img), w = cairo_image_surface_get_width(img);
    const uint32_t *row = (const uint32_t *)(data + (size_t)y * stride);
    int run = 0;
    for (int x = 0; x < w; x++) {
        uint32_t p = row[x];
        int r = (p >> 16) & 255, g = (p >> 8) & 255, b = p & 255;
        run = abs(r - c.r) <= 1 && abs(g - c.g) <= 1 && abs(b - c.b) <= 1 ? run + 1 : 0;
        if (run >= run_min)
            return 1;
    }
    return 0;
}

/* A run of 10: the inside of a bar or swatch, not the antialiased edge of a letter. */
static int row_has(cairo_surface_t *img, int y, rgb c)
{
    return row_has_run(img, y, c, 10);
}

/* The bands of consecutive rows holding colour c: their first and last rows, at most max;
 * returns how many. */
static int bands_of(cairo_surface_t *img, rgb c, int (*band)[2], int max)
{
    int n = 0, h = cairo_image_surface_get_height(img), in = 0;
    for (int y = 0; y < h; y++) {
        int has = row_has(img, y, c);
        if (has && !in) {
            if (n < max)
                band[n][0] = y;
            n++;
        }
        if (has && n <= max)
            band[n - 1][1] = y;
        in = has;
    }
    return n;
}

static cairo_surface_t *load_png(const char *path)
{
    cairo_surface_t *img = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(img), CAIRO_STATUS_SUCCESS);
    cairo_surface_flush(img);
    return img;
}

static void rank_png_has_one_row_per_zone_top_highlighted(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), *png = tu_path(dir, "ranks.png");
    cr_ctx *ctx = cr_ctx_new();
    assert_int_equal(cr_chart_rank_intervals(ctx, png, ZONES, NZONES, "Rank intervals", 0), CR_OK);
    cairo_surface_t *img = load_png(png);
    assert_int_equal(cairo_image_surface_get_width(img), 1200);
    int h = cairo_image_surface_get_height(img);
    assert_true(h > 200 && h < 600);

    int hb[16][2], gb[16][2];
    int nh = bands_of(img, HIGHLIGHT, hb, 16), ng = bands_of(img, OTHER, gb, 16);
    /* the legend's swatch, then one bar per zone */
    assert_int_equal(nh, 1 + NTOP);
    assert_int_equal(ng, 1 + NZONES - NTOP);
    assert_true(hb[0][1] < hb[1][0] && gb[0][1] < hb[1][0]); /* the legend above the rows */
    /* the rows in the callers' order: the top ones first, evenly spaced */
    double mid[NZONES];
    for (int i = 0; i < NTOP; i++)
        mid[i] = (hb[1 + i][0] + hb[1 + i][1]) / 2.0;
    for (int i = NTOP; i < NZONES; i++)
        mid[i] = (gb[1 + i - NTOP][0] + gb[1 + i - NTOP][1]) / 2.0;
    double step = mid[1] - mid[0];
    assert_true(step >= 10);
    for (int i = 1; i < NZONES; i++)
        assert_true(fabs(mid[i] - mid[i - 1] - step) <= 1.0);
    /* each row has its nominal tick; the labels' column has text */
    for (int i = 0; i < NZONES; i++)
        assert_true(row_has_run(img, (int)mid[i], TICK, 1)); /* a thin vertical line */
    const unsigned char *data = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img), dark = 0;
    for (int y = (int)(mid[0] - step / 2); y < (int)(mid[NZONES - 1] + step / 2); y++)
        for (int x = 0; x < 300; x++) {
            uint32_t p = ((const uint32_t *)(data + (size_t)y * stride))[x];
            dark += ((p >> 16) & 255) < 100 && ((p >> 8) & 255) < 100 && (p & 255) < 100;
        }
    assert_true(dark > 200);
    cairo_surface_destroy(img);
    assert_int_equal(tu_count_entries(dir), 1); /* no temporary left */
    cr_ctx_free(ctx);
    free(png);
    tu_rmdir(dir);
}

/* A minimal well-formedness check of XML: tags balance and nest, one root, every '&' starts
 * an entity, comments, declarations and processing instructions closed. */
static int xml_well_formed(const char *s)
{
    enum { DEPTH = 256 };
    char stack[DEPTH][64];
    int depth = 0, roots = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '&') {
            const char *q = p + 1;
            while (*q && *q != ';' && (q[0] == '#' || (q[0] >= 'a' && q[0] <= 'z') ||
                                       (q[0] >= 'A' && q[0] <= 'Z') || (q[0] >= '0' && q[0] <= '9')))
                q++;
            if (*q != ';' || q == p + 1)
                return 0;
            continue;
        }
        if (*p != '<')
            continue;
        if (strncmp(p, "<!--", 4) == 0 || strncmp(p, "<?", 2) == 0 || strncmp(p, "<!", 2) == 0) {
            const char *end = strncmp(p, "<!--", 4) == 0 ? strstr(p, "-->")
                              : p[1] == '?'              ? strstr(p, "?>")
                                                         : strchr(p, '>');
            if (!end)
                return 0;
            p = end;
            continue;
        }
        const char *end = strchr(p, '>');
        if (!end)
            return 0;
        int closing = p[1] == '/', empty = end[-1] == '/';
        const char *name = p + 1 + closing;
        size_t len = strcspn(name, " \t\r\n/>");
        if (len == 0 || len >= 64)
            return 0;
        if (closing) {
            if (depth == 0 || strlen(stack[depth - 1]) != len ||
                strncmp(stack[depth - 1], name, len) != 0)
                return 0;
            depth--;
        } else if (!empty) {
            if (depth == 0)
                roots++;
            if (depth == DEPTH)
                return 0;
            memcpy(stack[depth], name, len);
            stack[depth++][len] = '\0';
        } else if (depth == 0) {
            roots++;
        }
        p = end;
    }
    return depth == 0 && roots == 1;
}

static void rank_svg_is_xml_with_the_labels(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), *svg = tu_path(dir, "ranks.SVG");
    cr_ctx *ctx = cr_ctx_new();
    assert_int_equal(cr_chart_rank_intervals(ctx, svg, ZONES, NZONES, "Ranks <sample>", 0), CR_OK);
    char *text = read_all(svg, NULL);
    assert_non_null(strstr(text, "<svg"));
    assert_non_null(strstr(text, "</svg>"));
    assert_true(xml_well_formed(text));
    assert_non_null(strstr(text, "<title>Ranks &lt;sample&gt;</title>"));
    assert_non_null(strstr(text, "Harbour &amp; Docks"));
    assert_non_null(strstr(text, "Altstadt-S\xc3\xbc" "d"));
    assert_non_null(strstr(text, ZONES[2].label));
    assert_non_null(strstr(text, ZONES[3].label)); /* whole in the description */
    free(text);
    free(svg);
    cr_ctx_free(ctx);
    tu_rmdir(dir);
}

static void bad_extension_is_a_usage_error(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    cr_ctx *ctx = cr_ctx_new();
    const char *names[] = {"ranks.jpg", "ranks", "ranks.png.txt", "dir.png/ranks"};
    const char *factors[] = {"a"};
    cr_sobol_index idx = {0.5, NAN, NAN, 0.6, NAN, NAN};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char *path = tu_path(dir, names[i]);
        assert_int_equal(cr_chart_rank_intervals(ctx, path, ZONES, NZONES, NULL, 0), CR_E_USAGE);
        assert_non_null(strstr(cr_ctx_error(ctx), ".png or .svg"));
        assert_int_equal(cr_chart_indices(ctx, path, factors, &idx, 1, NULL, 0), CR_E_USAGE);
        free(path);
    }
    char *png = tu_path(dir, "x.png");
    assert_int_equal(cr_chart_rank_intervals(ctx, png, ZONES, 0, NULL, 0), CR_E_USAGE);
    assert_int_equal(cr_chart_indices(ctx, png, factors, &idx, 0, NULL, 0), CR_E_USAGE);
    assert_int_equal(tu_count_entries(dir), 0);
    free(png);
    cr_ctx_free(ctx);
    tu_rmdir(dir);
}

static void existing_output_is_kept_without_overwrite(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *png = tu_write_file(dir, "ranks.png", "keep me");
    cr_ctx *ctx = cr_ctx_new();
    assert_int_equal(cr_chart_rank_intervals(ctx, png, ZONES, NZONES, NULL, 0), CR_E_EXISTS);
    char *text = read_all(png, NULL);
    assert_string_equal(text, "keep me");
    free(text);
    const char *factors[] = {"a"};
    cr_sobol_index idx = {0.5, NAN, NAN, 0.6, NAN, NAN};
    assert_int_equal(cr_chart_indices(ctx, png, factors, &idx, 1, NULL, 0), CR_E_EXISTS);
    assert_int_equal(tu_count_entries(dir), 1);
    /* with overwrite: replaced by a PNG */
    assert_int_equal(cr_chart_rank_intervals(ctx, png, ZONES, NZONES, NULL, 1), CR_OK);
    cairo_surface_t *img = load_png(png);
    cairo_surface_destroy(img);
    assert_int_equal(tu_count_entries(dir), 1);
    free(png);
    cr_ctx_free(ctx);
    tu_rmdir(dir);
}

static void indices_chart_draws_nan_and_out_of_range(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), *png = tu_path(dir, "indices.png"), *svg = tu_path(dir, "indices.svg");
    cr_ctx *ctx = cr_ctx_new();
    const char *factors[] = {"weights", "method", "a_ref \xe2\x80\x93 arrivals reference"};
    const cr_sobol_index idx[] = {
        {0.62, 0.55, 0.70, 0.71, 0.64, 0.80},
        {-0.02, -0.08, 0.04, 1.03, 0.95, 1.10}, /* estimation error beyond 0..1 */
        {NAN, NAN, NAN, NAN, NAN, NAN},         /* the output did not vary */
    };
    assert_int_equal(cr_chart_indices(ctx, png, factors, idx, 3, "Indices", 0), CR_OK);
    assert_int_equal(cr_chart_indices(ctx, svg, factors, idx, 3, "Indices", 0), CR_OK);
    cairo_surface_t *img = load_png(png);
    assert_int_equal(cairo_image_surface_get_width(img), 1200);
    int h = cairo_image_surface_get_height(img), b[8][2];
    assert_true(h >= 400 && h <= 1200);
    /* legend swatch and one bar each: S_i of the first factor (the second's is below 0, no
     * bar), S_Ti of the first two */
    assert_int_equal(bands_of(img, HIGHLIGHT, b, 8), 2);
    int first_top = b[1][0];
    assert_int_equal(bands_of(img, TOTAL, b, 8), 2);
    assert_true(b[1][0] < first_top); /* the clamped 1.03 stands above 0.71 and 0.62 */
    cairo_surface_destroy(img);
    char *text = read_all(svg, NULL);
    assert_true(xml_well_formed(text));
    assert_non_null(strstr(text, "weights S_i 0.62 [0.55, 0.7]"));
    assert_non_null(strstr(text, "method S_i -0.02"));
    assert_non_null(strstr(text, "S_Ti 1.03"));
    assert_non_null(strstr(text, "nan"));
    free(text);
    assert_int_equal(tu_count_entries(dir), 2);
    free(png);
    free(svg);
    cr_ctx_free(ctx);
    tu_rmdir(dir);
}

static void many_zones_are_all_drawn_within_a_capped_height(void **state)
{
    (void)state;
    enum { N = 2000, TOP = 10 };
    cr_rank_interval *zones = calloc(N, sizeof *zones);
    char (*names)[32] = calloc(N, sizeof *names);
    assert_non_null(zones);
    assert_non_null(names);
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "zone %d", i + 1);
        double lo = fmax(1, i + 1 - 40), hi = fmin(N, i + 1 + 40);
        zones[i] = (cr_rank_interval){names[i], i + 1, lo, i + 1, hi, i < TOP};
    }
    char *dir = tu_mkdtemp(), *png = tu_path(dir, "many.png");
    cr_ctx *ctx = cr_ctx_new();
    assert_int_equal(cr_chart_rank_intervals(ctx, png, zones, N, NULL, 0), CR_OK);
    cairo_surface_t *img = load_png(png);
    int h = cairo_image_surface_get_height(img);
    assert_true(h <= 4000);
    /* the last zone is drawn: grey close to the bottom, above the axis */
    int last = -1;
    for (int y = 0; y < h; y++)
        if (row_has(img, y, OTHER))
            last = y;
    assert_true(last > h - 100);
    int b[4][2];
    assert_true(bands_of(img, HIGHLIGHT, b, 4) >= 2);
    cairo_surface_destroy(img);
    /* fewer zones, a shorter chart */
    char *small = tu_path(dir, "small.png");
    assert_int_equal(cr_chart_rank_intervals(ctx, small, zones, 40, NULL, 0), CR_OK);
    img = load_png(small);
    assert_true(cairo_image_surface_get_height(img) < h);
    cairo_surface_destroy(img);
    free(small);
    free(png);
    free(zones);
    free(names);
    cr_ctx_free(ctx);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rank_png_has_one_row_per_zone_top_highlighted),
        cmocka_unit_test(rank_svg_is_xml_with_the_labels),
        cmocka_unit_test(bad_extension_is_a_usage_error),
        cmocka_unit_test(existing_output_is_kept_without_overwrite),
        cmocka_unit_test(indices_chart_draws_nan_and_out_of_range),
        cmocka_unit_test(many_zones_are_all_drawn_within_a_capped_height),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
