/* qml.c: QGIS styles (.qml) beside the outputs, written as XML text (see qml.h). */
#define _POSIX_C_SOURCE 200809L
#include "cityrisk/qml.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cpl_string.h>
#include <gdal.h>
#include <json-c/json.h>
#include <ogr_api.h>

#include "cityrisk/number.h"
#include "core/internal.h"
#include "core/output.h"
#include "core/text.h"
#include "categories.h"

/* The QGIS version whose format is written; 3.22 and later read it. */
#define QML_VERSION "3.22.0"

/* Class colours: ColorBrewer YlOrRd (colour-blind safe), interpolated for other class
 * counts: the same as `cityrisk score` records in CLASS_COLORS. */
static const unsigned char YLORRD[][3] = {
    {255, 255, 178}, {254, 204, 92}, {253, 141, 60}, {240, 59, 32}, {189, 0, 38}};
/* ColorBrewer Purples, for arrivals_total ranges. */
static const unsigned char PURPLES[][3] = {
    {242, 240, 247}, {203, 201, 226}, {158, 154, 200}, {117, 107, 177}, {84, 39, 143}};
/* ColorBrewer Blues, light to dark, for depths. */
static const char *const BLUES[] = {"#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c", "#08306b"};
/* magma, light to dark (low to high arrivals). */
static const char *const MAGMA[] = {"#fcfdbf", "#fe9f6d", "#de4968", "#8c2981", "#3b0f70", "#000004"};

static const double INFORM_BREAKS[] = {2.0, 3.5, 5.0, 6.5};

void cr_qml_opts_init(cr_qml_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->ramp_max = NAN;
}

/* ---- classes ---- */

typedef struct classes {
    int count;
    double breaks[CR_CLASSES_MAX - 1];
    char names[CR_CLASSES_MAX][96];
    unsigned char rgb[CR_CLASSES_MAX][3];
} classes;

static void ramp_colour(const unsigned char (*ramp)[3], int stops, int k, int count, unsigned char *rgb)
{
    double at = count > 1 ? (double)k * (stops - 1) / (count - 1) : 0;
    int i = (int)at;
    if (i >= stops - 1)
        i = stops - 2;
    double f = at - i;
    for (int c = 0; c < 3; c++)
        rgb[c] = (unsigned char)lround(ramp[i][c] + f * (ramp[i + 1][c] - ramp[i][c]));
}

static int is_inform(const classes *c)
{
    if (c->count != 5)
        return 0;
    for (int k = 0; k < 4; k++)
        if (c->breaks[k] != INFORM_BREAKS[k])
            return 0;
    return 1;
}

/* Names and colours generated from the breaks: INFORM's names for INFORM's breaks,
 * else the ranges; YlOrRd colours. */
static void classes_generate(classes *c)
{
    int inform = is_inform(c), nb = c->count - 1;
    for (int k = 0; k < c->count; k++) {
        if (inform)
            snprintf(c->names[k], sizeof c->names[k], "%s", cr_class_default_name(k + 1));
        else if (k == 0)
            snprintf(c->names[k], sizeof c->names[k], "< %.4g", c->breaks[0]);
        else if (k == nb)
            snprintf(c->names[k], sizeof c->names[k], ">= %.4g", c->breaks[nb - 1]);
        else
            snprintf(c->names[k], sizeof c->names[k], "%.4g - < %.4g", c->breaks[k - 1], c->breaks[k]);
        ramp_colour(YLORRD, 5, k, c->count, c->rgb[k]);
    }
}

static void classes_set(classes *c, int count, const double *breaks)
{
    c->count = count;
    memcpy(c->breaks, breaks, sizeof(double) * (size_t)(count - 1));
    classes_generate(c);
}

static int parse_hex(const char *s, unsigned char *rgb)
{
    unsigned r, g, b;
    if (!s || strlen(s) != 7 || sscanf(s, "#%2x%2x%2x", &r, &g, &b) != 3)
        return 0;
    rgb[0] = (unsigned char)r, rgb[1] = (unsigned char)g, rgb[2] = (unsigned char)b;
    return 1;
}

/* A JSON array from a metadata item, or NULL. Release with json_object_put(). */
static json_object *json_array_item(GDALRasterBandH band, const char *key)
{
    const char *text = GDALGetMetadataItem(band, key, NULL);
    json_object *doc = text ? json_tokener_parse(text) : NULL;
    if (doc && !json_object_is_type(doc, json_type_array)) {
        json_object_put(doc);
        doc = NULL;
    }
    return doc;
}

/* The band described as name, 0 when none. */
static int band_named(GDALDatasetH ds, const char *name)
{
    for (int b = 1; b <= GDALGetRasterCount(ds); b++)
        if (strcmp(GDALGetDescription(GDALGetRasterBand(ds, b)), name) == 0)
            return b;
    return 0;
}

/* Reads the class band's CLASS_BREAKS, CLASS_NAMES and CLASS_COLORS into c. With
 * breaks already in c (c->count > 0), only names and colours of the same count are
 * taken. Returns 1 when anything was read. */
static int classes_from_raster(GDALDatasetH ds, classes *c)
{
    int band = band_named(ds, "class");
    if (!band)
        return 0;
    GDALRasterBandH h = GDALGetRasterBand(ds, band);
    int read = 0;
    if (c->count == 0) {
        json_object *br = json_array_item(h, "CLASS_BREAKS");
        int n = br ? (int)json_object_array_length(br) : 0;
        if (n >= 1 && n < CR_CLASSES_MAX) {
            double b[CR_CLASSES_MAX - 1];
            int ok = 1;
            for (int k = 0; k < n; k++) {
                b[k] = json_object_get_double(json_object_array_get_idx(br, k));
                ok &= isfinite(b[k]) && (k == 0 || b[k] >= b[k - 1]);
            }
            if (ok) {
                classes_set(c, n + 1, b);
                read = 1;
            }
        }
        json_object_put(br);
        if (!read)
            return 0;
    }
    json_object *names = json_array_item(h, "CLASS_NAMES"), *colours = json_array_item(h, "CLASS_COLORS");
    if (names && (int)json_object_array_length(names) == c->count) {
        for (int k = 0; k < c->count; k++) {
            const char *s = json_object_get_string(json_object_array_get_idx(names, k));
            if (s)
                cr_text_clean(c->names[k], sizeof c->names[k], s); /* from any tool */
        }
        read = 1;
    }
    if (colours && (int)json_object_array_length(colours) == c->count) {
        unsigned char rgb[CR_CLASSES_MAX][3];
        int ok = 1;
        for (int k = 0; k < c->count && ok; k++)
            ok = parse_hex(json_object_get_string(json_object_array_get_idx(colours, k)), rgb[k]);
        if (ok) {
            memcpy(c->rgb, rgb, sizeof(unsigned char) * 3 * (size_t)c->count);
            read = 1;
        }
    }
    json_object_put(names);
    json_object_put(colours);
    return read;
}

/* ---- XML text ---- */

/* XML attribute text: valid UTF-8 without control characters, & < > " ' escaped (text.h). */
static void put_escaped(FILE *f, const char *s)
{
    cr_xml_put(f, s);
}

static void put_head(FILE *f, const char *categories)
{
    fprintf(f,
            "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            "<!-- written by cityrisk; QGIS applies it when the layer beside it is loaded -->\n"
            "<qgis version=\"" QML_VERSION "\" styleCategories=\"%s\" hasScaleBasedVisibilityFlag=\"0\" "
            "minScale=\"1e+08\" maxScale=\"0\">\n",
            categories);
}

/* One colour ramp item. */
typedef struct ramp_item {
    double value;     /* upper bound (DISCRETE) or stop (INTERPOLATED); inf allowed */
    unsigned char rgb[3];
    int alpha;
    char label[96];
} ramp_item;

static void put_number(FILE *f, double v)
{
    char text[32];
    fputs(cr_number_shortest(v, text, sizeof text), f);
}

static void put_pipe_head(FILE *f)
{
    put_head(f, "AllStyleCategories");
    fprintf(f, "  <pipe>\n"
               "    <provider>\n"
               "      <resampling enabled=\"false\" maxOversampling=\"2\" "
               "zoomedInResamplingMethod=\"nearestNeighbour\" zoomedOutResamplingMethod=\"nearestNeighbour\"/>\n"
               "    </provider>\n");
}

static void put_pipe_tail(FILE *f)
{
    fputs("    <brightnesscontrast brightness=\"0\" contrast=\"0\" gamma=\"1\"/>\n"
          "    <huesaturation saturation=\"0\" grayscaleMode=\"0\" invertColors=\"0\" colorizeOn=\"0\" "
          "colorizeRed=\"255\" colorizeGreen=\"128\" colorizeBlue=\"128\" colorizeStrength=\"100\"/>\n"
          "    <rasterresampler maxOversampling=\"2\"/>\n"
          "    <resamplingStage>resamplingFilter</resamplingStage>\n"
          "  </pipe>\n"
          "  <blendMode>0</blendMode>\n"
          "</qgis>\n",
          f);
}

/* What a raster renderer records of its statistics (none used: the styles give the values). */
static const char MIN_MAX_ORIGIN[] = "      <rasterTransparency/>\n"
                                     "      <minMaxOrigin>\n"
                                     "        <limits>None</limits>\n"
                                     "        <extent>WholeRaster</extent>\n"
                                     "        <statAccuracy>Estimated</statAccuracy>\n"
                                     "        <cumulativeCutLower>0.02</cumulativeCutLower>\n"
                                     "        <cumulativeCutUpper>0.98</cumulativeCutUpper>\n"
                                     "        <stdDevFactor>2</stdDevFactor>\n"
                                     "      </minMaxOrigin>\n";

/* The items of a colour ramp or palette: <element value="" color="" alpha="" label=""/>. */
static void put_items(FILE *f, const char *element, const ramp_item *items, int n)
{
    for (int i = 0; i < n; i++) {
        fprintf(f, "%s value=\"", element);
        put_number(f, items[i].value);
        fprintf(f, "\" color=\"#%02x%02x%02x\" alpha=\"%d\" label=\"", items[i].rgb[0], items[i].rgb[1],
                items[i].rgb[2], items[i].alpha);
        put_escaped(f, items[i].label);
        fputs("\"/>\n", f);
    }
}

static void put_raster(FILE *f, int band, int discrete, double lo, double hi, const ramp_item *items, int n)
{
    put_pipe_head(f);
    fprintf(f, "    <rasterrenderer type=\"singlebandpseudocolor\" band=\"%d\" opacity=\"1\" alphaBand=\"-1\" "
               "nodataColor=\"\" classificationMin=\"", band);
    put_number(f, lo);
    fputs("\" classificationMax=\"", f);
    put_number(f, hi);
    fputs("\">\n", f);
    fputs(MIN_MAX_ORIGIN, f);
    fputs("      <rastershader>\n", f);
    fprintf(f, "        <colorrampshader colorRampType=\"%s\" classificationMode=\"1\" clip=\"0\" "
               "labelPrecision=\"4\" minimumValue=\"",
            discrete ? "DISCRETE" : "INTERPOLATED");
    put_number(f, lo);
    fputs("\" maximumValue=\"", f);
    put_number(f, hi);
    fputs("\">\n", f);
    put_items(f, "          <item", items, n);
    fputs("        </colorrampshader>\n"
          "      </rastershader>\n"
          "    </rasterrenderer>\n",
          f);
    put_pipe_tail(f);
}

/* QGIS's paletted renderer: one entry per value, its colour and label. */
static void put_paletted(FILE *f, int band, const ramp_item *items, int n)
{
    put_pipe_head(f);
    fprintf(f, "    <rasterrenderer type=\"paletted\" band=\"%d\" opacity=\"1\" alphaBand=\"-1\" "
               "nodataColor=\"\">\n",
            band);
    fputs(MIN_MAX_ORIGIN, f);
    fputs("      <colorPalette>\n", f);
    put_items(f, "        <paletteEntry", items, n);
    fputs("      </colorPalette>\n"
          "    </rasterrenderer>\n",
          f);
    put_pipe_tail(f);
}

/* A fill symbol: the colour with alpha, a thin dark grey outline. */
static void put_fill_symbol(FILE *f, const char *name, const unsigned char *rgb, int alpha, const char *indent)
{
    static const char *const keys[] = {"color", "outline_color", "outline_style", "outline_width",
                                       "outline_width_unit", "style", "joinstyle", "offset", "offset_unit"};
    char colour[32];
    snprintf(colour, sizeof colour, "%d,%d,%d,%d", rgb[0], rgb[1], rgb[2], alpha);
    const char *values[] = {colour, "80,80,80,255", "solid", "0.26", "MM", "solid", "bevel", "0,0", "MM"};
    int n = (int)(sizeof keys / sizeof keys[0]);
    fprintf(f, "%s<symbol type=\"fill\" name=\"%s\" alpha=\"1\" clip_to_extent=\"1\" force_rhr=\"0\">\n", indent, name);
    fprintf(f, "%s  <layer class=\"SimpleFill\" pass=\"0\" enabled=\"1\" locked=\"0\">\n", indent);
    /* QGIS 3.22 reads the Option map; the prop list keeps older readers working. */
    fprintf(f, "%s    <Option type=\"Map\">\n", indent);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s      <Option type=\"QString\" name=\"%s\" value=\"%s\"/>\n", indent, keys[i], values[i]);
    fprintf(f, "%s    </Option>\n", indent);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s    <prop k=\"%s\" v=\"%s\"/>\n", indent, keys[i], values[i]);
    fprintf(f, "%s  </layer>\n%s</symbol>\n", indent, indent);
}

typedef struct range {
    double lower, upper;
    unsigned char rgb[3];
    char label[96];
} range;

/* QGIS field aliases: the full name of each field a format shortened (a Shapefile's
 * "arrfldssp1" shows as "arrivals_flooded_ssp126_2100" in the attribute table, forms and
 * expressions' field list). aliases holds "index|short|full" items (CSL). */
static void put_aliases(FILE *f, char **aliases)
{
    fputs("  <aliases>\n", f);
    for (char **a = aliases; a && *a; a++) {
        char **parts = CSLTokenizeString2(*a, "|", CSLT_ALLOWEMPTYTOKENS);
        if (CSLCount(parts) == 3) {
            fputs("    <alias field=\"", f);
            put_escaped(f, parts[1]);
            fprintf(f, "\" index=\"%s\" name=\"", parts[0]);
            put_escaped(f, parts[2]);
            fputs("\"/>\n", f);
        }
        CSLDestroy(parts);
    }
    fputs("  </aliases>\n", f);
}

static void put_vector(FILE *f, const char *field, const range *ranges, int n, char **aliases)
{
    static const unsigned char OUTLINE_FILL[3] = {0, 0, 0};
    put_head(f, aliases ? "Symbology|Fields" : "Symbology");
    if (aliases)
        put_aliases(f, aliases);
    if (n == 0) {
        fputs("  <renderer-v2 type=\"singleSymbol\" symbollevels=\"0\" enableorderby=\"0\" forceraster=\"0\" "
              "referencescale=\"-1\">\n    <symbols>\n",
              f);
        put_fill_symbol(f, "0", OUTLINE_FILL, 0, "      ");
        fputs("    </symbols>\n    <rotation/>\n    <sizescale/>\n  </renderer-v2>\n", f);
    } else {
        fputs("  <renderer-v2 type=\"graduatedSymbol\" attr=\"", f);
        put_escaped(f, field);
        fputs("\" graduatedMethod=\"GraduatedColor\" symbollevels=\"0\" enableorderby=\"0\" forceraster=\"0\" "
              "referencescale=\"-1\">\n    <ranges>\n",
              f);
        for (int i = 0; i < n; i++) {
            fprintf(f, "      <range render=\"true\" symbol=\"%d\" lower=\"", i);
            put_number(f, ranges[i].lower);
            fputs("\" upper=\"", f);
            put_number(f, ranges[i].upper);
            fputs("\" label=\"", f);
            put_escaped(f, ranges[i].label);
            fputs("\"/>\n", f);
        }
        fputs("    </ranges>\n    <symbols>\n", f);
        for (int i = 0; i < n; i++) {
            char name[16];
            snprintf(name, sizeof name, "%d", i);
            put_fill_symbol(f, name, ranges[i].rgb, 255, "      ");
        }
        fputs("    </symbols>\n    <source-symbol>\n", f);
        put_fill_symbol(f, "0", ranges[n - 1].rgb, 255, "      ");
        fputs("    </source-symbol>\n"
              "    <classificationMethod id=\"Custom\">\n"
              "      <symmetricMode enabled=\"0\" symmetrypoint=\"0\" astride=\"0\"/>\n"
              "      <labelFormat format=\"%1 - %2\" labelprecision=\"4\" trimtrailingzeroes=\"1\"/>\n"
              "      <parameters>\n        <Option/>\n      </parameters>\n"
              "      <extraInformation/>\n"
              "    </classificationMethod>\n"
              "    <rotation/>\n    <sizescale/>\n  </renderer-v2>\n",
              f);
    }
    fputs("  <blendMode>0</blendMode>\n  <featureBlendMode>0</featureBlendMode>\n"
          "  <layerOpacity>1</layerOpacity>\n</qgis>\n",
          f);
}

/* ---- numbers from the data ---- */

/* A value for a label: whole numbers from 100 up, else 3 significant digits. */
static void format_value(char *buf, size_t size, double v)
{
    if (fabs(v) >= 100)
        snprintf(buf, size, "%.0f", v);
    else
        snprintf(buf, size, "%.3g", v);
}

/* x rounded up to 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten. */
static double nice_up(double x)
{
    if (!(x > 0) || !isfinite(x))
        return 1;
    double e = pow(10, floor(log10(x)));
    static const double m[] = {1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (m[i] * e >= x * (1 - 1e-12))
            return m[i] * e;
    return 10 * e;
}

/* Histogram of log1p(v) in bins of 0.01, enough for any Float32. */
#define LOG_BINS 8900

/* One read of a band by blocks: the largest valid value and, when hist is not NULL,
 * the histogram of log1p(v) of the valid values above 0 (their number in *positive). */
static cr_status scan_band(cr_ctx *ctx, const char *path, GDALRasterBandH band, double *max, uint64_t *hist,
                           uint64_t *positive)
{
    int bx = 0, by = 0, has_nodata = 0;
    GDALGetBlockSize(band, &bx, &by);
    if (bx <= 0 || by <= 0)
        bx = by = 512;
    if ((int64_t)bx * by > 4096 * 4096)
        bx = by = 512;
    double nodata = GDALGetRasterNoDataValue(band, &has_nodata);
    int w = GDALGetRasterBandXSize(band), h = GDALGetRasterBandYSize(band);
    float *buf = malloc(sizeof(float) * (size_t)bx * (size_t)by);
    if (!buf)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    float nd = (float)nodata;
    cr_status st = CR_OK;
    for (int y = 0; y < h && st == CR_OK; y += by)
        for (int x = 0; x < w && st == CR_OK; x += bx) {
            int cw = x + bx > w ? w - x : bx, ch = y + by > h ? h - y : by;
            if (GDALRasterIO(band, GF_Read, x, y, cw, ch, buf, cw, ch, GDT_Float32, 0, 0) != CE_None) {
                st = cr_ctx_fail_gdal(ctx, CR_E_IO, "reading '%s' for its style", path);
                break;
            }
            for (size_t i = 0; i < (size_t)cw * (size_t)ch; i++) {
                float v = buf[i];
                if (isnan(v) || (has_nodata && v == nd))
                    continue;
                if (v > *max)
                    *max = v;
                if (hist && v > 0) {
                    double b = log1p((double)v) * 100;
                    int k = b >= LOG_BINS - 1 ? LOG_BINS - 1 : (int)b;
                    hist[k]++;
                    (*positive)++;
                }
            }
        }
    free(buf);
    return st;
}

/* The smallest float32 value >= b and the largest below it, halfway: a DISCRETE item
 * value that puts a Float32 cell equal to the break in the upper class, as cityrisk
 * classes it (QGIS gives a value equal to an item's value that item's colour). */
static double discrete_bound(double b)
{
    float u = (float)b;
    if ((double)u < b)
        u = nextafterf(u, INFINITY);
    float l = nextafterf(u, -INFINITY);
    return ((double)l + (double)u) / 2;
}

/* ---- the styles ---- */

static cr_status write_score(cr_ctx *ctx, const char *output, GDALDatasetH ds, const cr_qml_opts *o,
                             FILE *f, cr_qml_info *info)
{
    classes c;
    memset(&c, 0, sizeof c);
    if (o->class_count > 0)
        classes_set(&c, o->class_count, o->breaks);
    classes_from_raster(ds, &c);
    if (c.count == 0)
        classes_set(&c, 5, INFORM_BREAKS);
    int band = o->band, by_class = 0;
    if (!band) {
        band = band_named(ds, "score");
        if (!band && (band = band_named(ds, "class")) != 0)
            by_class = 1;
        if (!band && GDALGetRasterCount(ds) == 1)
            band = 1;
    } else if (band == band_named(ds, "class")) {
        by_class = 1;
    }
    if (band < 1 || band > GDALGetRasterCount(ds))
        return cr_ctx_fail(ctx, CR_E_DATA, "'%s' has no band %s to style", output,
                           o->band ? "of that number" : "'score' or 'class'");
    ramp_item items[CR_CLASSES_MAX];
    for (int k = 0; k < c.count; k++) {
        ramp_item *it = &items[k];
        it->value = k == c.count - 1 ? INFINITY : by_class ? k + 1 : discrete_bound(c.breaks[k]);
        memcpy(it->rgb, c.rgb[k], 3);
        it->alpha = 255;
        snprintf(it->label, sizeof it->label, "%s", c.names[k]);
    }
    double lo = by_class ? 1 : fmin(0, c.breaks[0]), hi = by_class ? c.count : fmax(10, c.breaks[c.count - 2]);
    put_raster(f, band, 1, lo, hi, items, c.count);
    info->band = band;
    info->items = c.count;
    return CR_OK;
}

static cr_status write_ramp(cr_ctx *ctx, const char *output, GDALDatasetH ds, cr_qml_style style,
                            const cr_qml_opts *o, FILE *f, cr_qml_info *info)
{
    int band = o->band ? o->band : 1;
    if (band < 1 || band > GDALGetRasterCount(ds))
        return cr_ctx_fail(ctx, CR_E_DATA, "'%s' has no band %d to style", output, band);
    double top = o->ramp_max;
    if (isnan(top)) {
        double max = 0;
        if (style == CR_QML_INUNDATION) {
            /* Every scenario's band shares one ramp, so that switching bands compares. */
            for (int b = 1; b <= GDALGetRasterCount(ds); b++) {
                cr_status st = scan_band(ctx, output, GDALGetRasterBand(ds, b), &max, NULL, NULL);
                if (st != CR_OK)
                    return st;
            }
            top = max;
        } else {
            uint64_t *hist = calloc(LOG_BINS, sizeof *hist), positive = 0;
            if (!hist)
                return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
            cr_status st = scan_band(ctx, output, GDALGetRasterBand(ds, band), &max, hist, &positive);
            top = 0;
            if (st == CR_OK && positive > 0) {
                uint64_t rank = (uint64_t)ceil(0.99 * (double)positive), seen = 0;
                for (int k = 0; k < LOG_BINS; k++)
                    if ((seen += hist[k]) >= rank) {
                        top = fmin(max, expm1((k + 1) / 100.0));
                        break;
                    }
            }
            free(hist);
            if (st != CR_OK)
                return st;
        }
    }
    top = nice_up(top);
    ramp_item items[7];
    int n = 0;
    if (style == CR_QML_INUNDATION) {
        static const double at[] = {0.01, 0.2, 0.4, 0.6, 0.8, 1.0};
        items[n].value = 0;
        parse_hex(BLUES[0], items[n].rgb);
        items[n].alpha = 0;
        snprintf(items[n].label, sizeof items[n].label, "0 m (dry)");
        n++;
        for (int i = 0; i < 6; i++, n++) {
            items[n].value = top * at[i];
            parse_hex(BLUES[i], items[n].rgb);
            items[n].alpha = 255;
            snprintf(items[n].label, sizeof items[n].label, "%.3g m%s", items[n].value,
                     i == 5 ? " and deeper" : "");
        }
    } else {
        items[n].value = 0;
        parse_hex(MAGMA[0], items[n].rgb);
        items[n].alpha = 0;
        snprintf(items[n].label, sizeof items[n].label, "0 (none)");
        n++;
        for (int i = 1; i <= 6; i++, n++) {
            items[n].value = expm1(i / 6.0 * log1p(top));
            parse_hex(MAGMA[i - 1], items[n].rgb);
            items[n].alpha = 255;
            char v[32];
            format_value(v, sizeof v, items[n].value);
            snprintf(items[n].label, sizeof items[n].label, "%s%s", v, i == 6 ? " and more" : "");
        }
    }
    put_raster(f, band, 0, 0, top, items, n);
    info->band = band;
    info->items = n;
    info->ramp_max = top;
    return CR_OK;
}

int cr_band_categories(GDALRasterBandH b, cr_band_category *out, int max)
{
    GDALColorTableH table = GDALGetRasterColorTable(b);
    json_object *names = json_array_item(b, "CLASS_NAMES"), *colors = json_array_item(b, "CLASS_COLORS");
    char **gdal_names = GDALGetRasterCategoryNames(b);
    int count = names ? (int)json_object_array_length(names) : CSLCount(gdal_names);
    int n = 0;
    for (int v = 0; v < count && n < max; v++) {
        const char *name = names ? json_object_get_string(json_object_array_get_idx(names, v)) : gdal_names[v];
        const GDALColorEntry *e = table && v < GDALGetColorEntryCount(table) ? GDALGetColorEntry(table, v) : NULL;
        cr_band_category *it = &out[n];
        int coloured = colors ? v < (int)json_object_array_length(colors) &&
                                    parse_hex(json_object_get_string(json_object_array_get_idx(colors, v)), it->rgb)
                              : e != NULL;
        if (!name || !name[0] || !coloured)
            continue;
        if (!colors)
            it->rgb[0] = (unsigned char)e->c1, it->rgb[1] = (unsigned char)e->c2, it->rgb[2] = (unsigned char)e->c3;
        it->value = v;
        cr_text_clean(it->name, sizeof it->name, name); /* from any tool */
        n++;
    }
    json_object_put(names);
    json_object_put(colors);
    return n;
}

/* A band's classes (cr_band_categories: the first CR_CLASSES_MAX; the nodata has none, and
 * stays transparent). */
static cr_status write_paletted(cr_ctx *ctx, const char *output, GDALDatasetH ds, const cr_qml_opts *o,
                                FILE *f, cr_qml_info *info)
{
    int band = o->band ? o->band : 1;
    if (band < 1 || band > GDALGetRasterCount(ds))
        return cr_ctx_fail(ctx, CR_E_DATA, "'%s' has no band %d to style", output, band);
    cr_band_category cats[CR_CLASSES_MAX];
    int n = cr_band_categories(GDALGetRasterBand(ds, band), cats, CR_CLASSES_MAX);
    ramp_item items[CR_CLASSES_MAX];
    for (int i = 0; i < n; i++) {
        items[i].value = cats[i].value;
        memcpy(items[i].rgb, cats[i].rgb, sizeof items[i].rgb);
        items[i].alpha = 255; /* a named class is drawn; GeoTIFF colour tables keep no alpha */
        snprintf(items[i].label, sizeof items[i].label, "%s", cats[i].name);
    }
    if (n == 0)
        return cr_ctx_fail(ctx, CR_E_DATA, "band %d of '%s' has no named and coloured classes to style",
                           band, output);
    put_paletted(f, band, items, n);
    info->band = band;
    info->items = n;
    return CR_OK;
}

/* The class breaks of the zonal provenance: CITYRISK_PARAMETERS's classes.breaks, in the
 * dataset or layer metadata (GPKG, FlatGeobuf) or the GeoJSON foreign member "cityrisk".
 * Returns the number of breaks read, 0 when none. */
static int zonal_breaks(const char *path, GDALDatasetH ds, OGRLayerH layer, double *breaks)
{
    const char *text = GDALGetMetadataItem(ds, "CITYRISK_PARAMETERS", NULL);
    if (!text)
        text = GDALGetMetadataItem(layer, "CITYRISK_PARAMETERS", NULL);
    json_object *params = text ? json_tokener_parse(text) : NULL, *native = NULL;
    GDALDatasetH ds2 = NULL;
    if (!params && GDALGetDatasetDriver(ds) &&
        strcmp(GDALGetDriverShortName(GDALGetDatasetDriver(ds)), "GeoJSON") == 0) {
        const char *const oo[] = {"NATIVE_DATA=YES", NULL};
        ds2 = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, oo, NULL);
        OGRLayerH l2 = ds2 ? GDALDatasetGetLayer(ds2, 0) : NULL;
        const char *nat = l2 ? GDALGetMetadataItem(l2, "NATIVE_DATA", "NATIVE_DATA") : NULL;
        native = nat ? json_tokener_parse(nat) : NULL;
        json_object *cr = NULL, *p = NULL;
        if (native && json_object_object_get_ex(native, "cityrisk", &cr) &&
            json_object_object_get_ex(cr, "CITYRISK_PARAMETERS", &p))
            params = json_object_get(p);
    }
    int n = 0;
    json_object *cls = NULL, *br = NULL;
    if (params && json_object_object_get_ex(params, "classes", &cls) &&
        json_object_object_get_ex(cls, "breaks", &br) && json_object_is_type(br, json_type_array)) {
        n = (int)json_object_array_length(br);
        if (n >= CR_CLASSES_MAX)
            n = 0;
        for (int k = 0; k < n; k++) {
            json_object *v = json_object_array_get_idx(br, k);
            breaks[k] = v && (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int))
                            ? json_object_get_double(v)
                            : NAN;
            if (!isfinite(breaks[k]))
                n = 0;
        }
    }
    json_object_put(params);
    json_object_put(native);
    if (ds2)
        GDALClose(ds2);
    return n;
}

/* The index of field name (or its shortened name in renamed) in the layer, -1 if none. */
static int find_field(OGRLayerH layer, const char *name, char **renamed, char *found, size_t size)
{
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
    const char *shortened = CSLFetchNameValue(renamed, name);
    const char *names[] = {name, shortened};
    for (int i = 0; i < 2; i++) {
        if (!names[i])
            continue;
        int idx = OGR_FD_GetFieldIndex(defn, names[i]);
        if (idx >= 0) {
            snprintf(found, size, "%s", names[i]);
            return idx;
        }
    }
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The values of field idx that are set and finite, sorted; *n of them. */
static cr_status field_values(cr_ctx *ctx, OGRLayerH layer, int idx, double **out, size_t *n)
{
    size_t cap = 1024, count = 0;
    double *v = malloc(cap * sizeof *v);
    if (!v)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    OGR_L_ResetReading(layer);
    OGRFeatureH feat;
    while ((feat = OGR_L_GetNextFeature(layer)) != NULL) {
        if (OGR_F_IsFieldSetAndNotNull(feat, idx)) {
            double x = OGR_F_GetFieldAsDouble(feat, idx);
            if (isfinite(x)) {
                if (count == cap) {
                    double *grown = realloc(v, 2 * cap * sizeof *v);
                    if (!grown) {
                        OGR_F_Destroy(feat);
                        free(v);
                        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
                    }
                    v = grown, cap *= 2;
                }
                v[count++] = x;
            }
        }
        OGR_F_Destroy(feat);
    }
    qsort(v, count, sizeof *v, cmp_double);
    *out = v;
    *n = count;
    return CR_OK;
}

static cr_status write_zones(cr_ctx *ctx, const char *output, const cr_qml_opts *o, FILE *f, cr_qml_info *info)
{
    GDALDatasetH ds = NULL;
    cr_status st = cr_open_vector(ctx, output, &ds);
    if (st != CR_OK)
        return st;
    OGRLayerH layer = GDALDatasetGetLayerCount(ds) > 0 ? GDALDatasetGetLayer(ds, 0) : NULL;
    if (!layer) {
        GDALClose(ds);
        return cr_ctx_fail(ctx, CR_E_DATA, "'%s' has no layer to style", output);
    }
    range ranges[CR_CLASSES_MAX];
    int n = 0;
    char field[64] = "";
    double *values = NULL;
    size_t nvalues = 0;
    int idx = find_field(layer, "score_mean", o->renamed, field, sizeof field);
    if (idx >= 0) {
        classes c;
        memset(&c, 0, sizeof c);
        double b[CR_CLASSES_MAX - 1];
        int nb = 0;
        if (o->class_count > 0)
            classes_set(&c, o->class_count, o->breaks);
        else if ((nb = zonal_breaks(output, ds, layer, b)) > 0)
            classes_set(&c, nb + 1, b);
        else
            classes_set(&c, 5, INFORM_BREAKS);
        if (o->classes_from) {
            GDALDatasetH ex = NULL;
            if (cr_open_raster(ctx, o->classes_from, &ex) == CR_OK) {
                classes_from_raster(ex, &c);
                GDALClose(ex);
            }
            cr_ctx_clear_error(ctx);
        }
        st = field_values(ctx, layer, idx, &values, &nvalues);
        double lo = nvalues ? fmin(0, values[0]) : 0, hi = nvalues ? fmax(10, values[nvalues - 1]) : 10;
        lo = fmin(lo, c.breaks[0]);
        hi = fmax(hi, c.breaks[c.count - 2]);
        for (int k = 0; k < c.count; k++, n++) {
            ranges[n].lower = k == 0 ? lo : c.breaks[k - 1];
            ranges[n].upper = k == c.count - 1 ? hi : c.breaks[k];
            memcpy(ranges[n].rgb, c.rgb[k], 3);
            snprintf(ranges[n].label, sizeof ranges[n].label, "%s", c.names[k]);
        }
    } else if ((idx = find_field(layer, "arrivals_total", o->renamed, field, sizeof field)) >= 0) {
        st = field_values(ctx, layer, idx, &values, &nvalues);
        if (st == CR_OK && nvalues > 0) {
            /* Quintiles of the values, repeated breaks merged. */
            double edges[6];
            int ne = 0;
            edges[ne++] = values[0];
            for (int k = 1; k <= 5; k++) {
                double h = (double)(nvalues - 1) * k / 5;
                size_t i = (size_t)floor(h);
                double q = i + 1 < nvalues ? values[i] + (h - (double)i) * (values[i + 1] - values[i]) : values[i];
                if (q > edges[ne - 1])
                    edges[ne++] = q;
            }
            if (ne == 1) /* every zone the same: one range */
                edges[ne++] = values[0];
            for (int k = 0; k + 1 < ne; k++, n++) {
                ranges[n].lower = edges[k];
                ranges[n].upper = edges[k + 1];
                ramp_colour(PURPLES, 5, k, ne - 1, ranges[n].rgb);
                char a[32], b[32];
                format_value(a, sizeof a, edges[k]);
                format_value(b, sizeof b, edges[k + 1]);
                snprintf(ranges[n].label, sizeof ranges[n].label, "%s - %s arrivals", a, b);
            }
        }
    } else {
        field[0] = '\0';
    }
    free(values);
    /* The full names of the fields the format shortened, as QGIS aliases. */
    char **aliases = NULL;
    for (char **r = o->renamed; r && *r; r++) {
        char *full = NULL;
        const char *shortened = CPLParseNameValue(*r, &full);
        int k = full && shortened ? OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(layer), shortened) : -1;
        if (k >= 0)
            aliases = CSLAddString(aliases, CPLSPrintf("%d|%s|%s", k, shortened, full));
        CPLFree(full);
    }
    GDALClose(ds);
    if (st != CR_OK) {
        CSLDestroy(aliases);
        return st;
    }
    if (n == 0)
        field[0] = '\0';
    put_vector(f, field, ranges, n, aliases);
    CSLDestroy(aliases);
    snprintf(info->renderer, sizeof info->renderer, "%s", n ? "graduatedSymbol" : "singleSymbol");
    snprintf(info->field, sizeof info->field, "%s", field);
    info->items = n;
    return CR_OK;
}

/* ---- public ---- */

cr_status cr_qml_path(cr_ctx *ctx, const char *output, char **qml)
{
    *qml = NULL;
    if (!output || !output[0] || strcmp(output, "-") == 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "a QGIS style needs an output file, not %s",
                           output && output[0] ? "stdout" : "an empty name");
    size_t keep = cr_path_stem(output);
    char *p = malloc(keep + 5);
    if (!p)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    memcpy(p, output, keep);
    memcpy(p + keep, ".qml", 5);
    *qml = p;
    return CR_OK;
}

cr_status cr_qml_check(cr_ctx *ctx, const char *output, int overwrite)
{
    char *qml = NULL;
    cr_status st = cr_qml_path(ctx, output, &qml);
    if (st == CR_OK && strcmp(qml, output) == 0)
        st = cr_ctx_fail(ctx, CR_E_USAGE, "the output '%s' is named like its QGIS style: give it another extension",
                         output);
    if (st == CR_OK) {
        st = cr_output_check(ctx, qml, overwrite);
        if (st == CR_E_EXISTS)
            st = cr_ctx_fail(ctx, CR_E_EXISTS, "the QGIS style '%s' exists: give --overwrite to replace it", qml);
    }
    free(qml);
    return st;
}

cr_status cr_qml_write(cr_ctx *ctx, const char *output, cr_qml_style style, const cr_qml_opts *opts,
                       cr_qml_info *info)
{
    cr_qml_opts defaults;
    cr_qml_info local;
    if (!opts) {
        cr_qml_opts_init(&defaults);
        opts = &defaults;
    }
    if (!info)
        info = &local;
    memset(info, 0, sizeof *info);
    if (style < CR_QML_SCORE || style > CR_QML_PALETTED)
        return cr_ctx_fail(ctx, CR_E_USAGE, "unknown QGIS style %d", (int)style);
    if (opts->class_count != 0) {
        if (opts->class_count < 2 || opts->class_count > CR_CLASSES_MAX)
            return cr_ctx_fail(ctx, CR_E_USAGE, "QGIS style: %d classes, not 2 to %d", opts->class_count,
                               CR_CLASSES_MAX);
        for (int k = 0; k < opts->class_count - 1; k++)
            if (!isfinite(opts->breaks[k]) || (k > 0 && opts->breaks[k] < opts->breaks[k - 1]))
                return cr_ctx_fail(ctx, CR_E_USAGE, "QGIS style: the class breaks are not finite and increasing");
    }
    if (opts->band < 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "QGIS style: band %d", opts->band);
    char *qml = NULL;
    cr_temp temp = CR_TEMP_NONE;
    cr_status st = cr_qml_check(ctx, output, opts->overwrite);
    if (st == CR_OK)
        st = cr_qml_path(ctx, output, &qml);
    if (st == CR_OK)
        st = cr_temp_file(ctx, qml, "qml", &temp);
    if (st != CR_OK) {
        free(qml);
        return st;
    }
    FILE *f = fopen(temp.path, "w");
    if (!f)
        st = cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", qml, strerror(errno));
    cr_gdal_begin(ctx);
    if (st == CR_OK && style == CR_QML_ZONES) {
        st = write_zones(ctx, output, opts, f, info);
    } else if (st == CR_OK) {
        GDALDatasetH ds = NULL;
        st = cr_open_raster(ctx, output, &ds);
        if (st == CR_OK) {
            snprintf(info->renderer, sizeof info->renderer,
                     style == CR_QML_PALETTED ? "paletted" : "singlebandpseudocolor");
            st = style == CR_QML_SCORE      ? write_score(ctx, output, ds, opts, f, info)
                 : style == CR_QML_PALETTED ? write_paletted(ctx, output, ds, opts, f, info)
                                            : write_ramp(ctx, output, ds, style, opts, f, info);
            GDALClose(ds);
        }
    }
    cr_gdal_end(ctx);
    if (f) {
        int bad = ferror(f);
        if (fclose(f) != 0 || bad) {
            if (st == CR_OK)
                st = cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", qml, strerror(errno ? errno : EIO));
        }
    }
    if (st == CR_OK)
        st = cr_temp_publish(ctx, &temp, qml, opts->overwrite);
    cr_temp_discard(&temp);
    if (st == CR_OK)
        snprintf(info->path, sizeof info->path, "%s", qml);
    free(qml);
    return st;
}
