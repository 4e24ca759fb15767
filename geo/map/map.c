/* map.c: `cityrisk map`: reads the raster (downsampled), its classes and the zones
 * into a map model, which map_draw.c draws with Cairo. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* M_PI */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <json-c/json.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "cityrisk/zonal.h"
#include "core/internal.h"
#include "categories.h"
#include "map_internal.h"
#include "core/text.h"
#include "core/output.h"
#include "core/provenance.h"

void cr_map_opts_init(cr_map_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->top = 10;
    opts->width = 1600;
    opts->format = CR_MAP_PNG;
}

const char *const cr_map_format_names[] = {"png", "pdf", "svg", NULL};

cr_status cr_map_format_parse(cr_ctx *ctx, const char *text, cr_map_format *out)
{
    for (int i = 0; text && cr_map_format_names[i]; i++)
        if (strcasecmp(text, cr_map_format_names[i]) == 0) {
            *out = (cr_map_format)i;
            return CR_OK;
        }
    return cr_ctx_fail(ctx, CR_E_USAGE, "unknown map format '%s': use png, pdf or svg", text ? text : "");
}

cr_map_format cr_map_format_from_path(const char *path)
{
    const char *dot = path ? strrchr(path, '.') : NULL;
    if (dot && strcasecmp(dot, ".pdf") == 0)
        return CR_MAP_PDF;
    if (dot && strcasecmp(dot, ".svg") == 0)
        return CR_MAP_SVG;
    return CR_MAP_PNG;
}

const char *cr_map_format_name(cr_map_format format)
{
    return format == CR_MAP_PDF || format == CR_MAP_SVG ? cr_map_format_names[format] : "png";
}

/* ---- the model */

static void model_free(map_model *m)
{
    if (m->image)
        cairo_surface_destroy(m->image);
    free(m->xy);
    free(m->rings);
    free(m->hatched);
    for (int i = 0; i < m->nlabels; i++)
        free(m->labels[i].text);
    free(m->labels);
    memset(m, 0, sizeof *m);
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* ColorBrewer YlOrRd (5 classes), colour-blind safe. */
static const double YLORRD[5][3] = {{1.000, 1.000, 0.698}, {0.996, 0.800, 0.361},
                                    {0.992, 0.553, 0.235}, {0.941, 0.231, 0.125},
                                    {0.741, 0.000, 0.149}};

static void ylorrd(int k, int n, double rgb[3])
{
    double t = n > 1 ? 4.0 * k / (n - 1) : 4.0;
    int i = (int)floor(t);
    if (i >= 4)
        i = 3;
    double f = t - i;
    for (int c = 0; c < 3; c++)
        rgb[c] = YLORRD[i][c] + f * (YLORRD[i + 1][c] - YLORRD[i][c]);
}

/* A JSON array from a metadata item, or NULL. json_object_put() it. */
static json_object *json_array_item(GDALRasterBandH band, const char *key)
{
    const char *text = band ? GDALGetMetadataItem(band, key, NULL) : NULL;
    json_object *doc = text ? json_tokener_parse(text) : NULL;
    if (doc && !json_object_is_type(doc, json_type_array)) {
        json_object_put(doc);
        doc = NULL;
    }
    return doc;
}

static int parse_hex(const char *s, double rgb[3])
{
    unsigned r, g, b;
    if (!s || strlen(s) != 7 || s[0] != '#' || sscanf(s + 1, "%2x%2x%2x", &r, &g, &b) != 3)
        return 0;
    rgb[0] = r / 255.0;
    rgb[1] = g / 255.0;
    rgb[2] = b / 255.0;
    return 1;
}

/* Classes from the class band's CLASS_BREAKS, CLASS_NAMES and CLASS_COLORS, each
 * falling back to INFORM's breaks and names and YlOrRd. */
static void load_classes(map_model *m, GDALRasterBandH class_band)
{
    cr_class_spec def;
    cr_classes_default(&def);
    int nbreaks = 0;
    json_object *breaks = json_array_item(class_band, "CLASS_BREAKS");
    json_object *names = json_array_item(class_band, "CLASS_NAMES");
    json_object *colors = json_array_item(class_band, "CLASS_COLORS");
    if (breaks) {
        size_t n = json_object_array_length(breaks);
        int ok = n >= 1 && n < CR_CLASSES_MAX;
        for (size_t i = 0; ok && i < n; i++) {
            json_object *v = json_object_array_get_idx(breaks, i);
            ok = json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int);
            if (ok) {
                m->breaks[i] = json_object_get_double(v);
                ok = isfinite(m->breaks[i]) && (i == 0 || m->breaks[i] >= m->breaks[i - 1]);
            }
        }
        nbreaks = ok ? (int)n : 0;
    }
    if (m->mode == MAP_MODE_CLASS && !nbreaks && names && json_object_array_length(names) >= 2 &&
        json_object_array_length(names) <= CR_CLASSES_MAX)
        nbreaks = (int)json_object_array_length(names) - 1; /* class values need no breaks */
    if (!nbreaks) {
        nbreaks = def.count - 1;
        memcpy(m->breaks, def.breaks, sizeof(double) * (size_t)nbreaks);
    }
    m->nclasses = nbreaks + 1;
    int names_ok = names && (int)json_object_array_length(names) == m->nclasses;
    int colors_ok = colors && (int)json_object_array_length(colors) == m->nclasses;
    for (int k = 0; k < m->nclasses; k++) {
        const char *name = names_ok ? json_object_get_string(json_object_array_get_idx(names, k)) : NULL;
        if (name)
            cr_text_clean(m->names[k], sizeof m->names[k], name); /* from any tool */
        else if (m->nclasses == 5 && cr_class_default_name(k + 1))
            snprintf(m->names[k], sizeof m->names[k], "%s", cr_class_default_name(k + 1));
        else
            snprintf(m->names[k], sizeof m->names[k], "Class %d", k + 1);
        if (!colors_ok ||
            !parse_hex(json_object_get_string(json_object_array_get_idx(colors, k)), m->colors[k]))
            ylorrd(k, m->nclasses, m->colors[k]);
    }
    json_object_put(breaks);
    json_object_put(names);
    json_object_put(colors);
}

/* The categories of a band with class names and colours: CLASS_NAMES and CLASS_COLORS
 * (JSON arrays, as `cityrisk inundation --dem-rmse` writes its confidence classes on every
 * band) else GDAL's category names and colour table (as other tools write them), as
 * cr_band_categories reads them for the QGIS style too: the values with a name and a
 * colour, gaps skipped (at most CR_CLASSES_MAX). 0 when the band has none. */
static int load_categories(map_model *m, GDALRasterBandH band)
{
    cr_band_category cats[CR_CLASSES_MAX];
    int n = cr_band_categories(band, cats, CR_CLASSES_MAX);
    for (int k = 0; k < n; k++) {
        m->class_values[k] = cats[k].value;
        for (int c = 0; c < 3; c++)
            m->colors[k][c] = cats[k].rgb[c] / 255.0;
        cr_text_clean(m->names[k], sizeof m->names[k], cats[k].name);
    }
    if (n < 1)
        return 0;
    m->nclasses = n;
    m->class_base = 0;
    m->valued = 1;
    return 1;
}

/* Lists the bands as "1 'score', 2 'class', ..." for messages. */
static void list_bands(GDALDatasetH ds, char *buf, size_t size)
{
    buf[0] = '\0';
    int n = GDALGetRasterCount(ds);
    for (int b = 1; b <= n; b++) {
        size_t len = strlen(buf);
        const char *d = GDALGetDescription(GDALGetRasterBand(ds, b));
        snprintf(buf + len, size - len, "%s%d '%s'", b > 1 ? ", " : "", b, d ? d : "");
    }
}

/* The band described name, else the band whose SCENARIO metadata is name (cityrisk
 * inundation's bands), else 0. */
static int find_described(GDALDatasetH ds, const char *name)
{
    for (int b = 1; b <= GDALGetRasterCount(ds); b++) {
        const char *d = GDALGetDescription(GDALGetRasterBand(ds, b));
        if (d && strcasecmp(d, name) == 0)
            return b;
    }
    for (int b = 1; b <= GDALGetRasterCount(ds); b++) {
        const char *d = GDALGetMetadataItem(GDALGetRasterBand(ds, b), "SCENARIO", NULL);
        if (d && strcmp(d, name) == 0)
            return b;
    }
    return 0;
}

static cr_status find_band(cr_ctx *ctx, GDALDatasetH ds, const char *path, const char *spec,
                           int *out)
{
    int n = GDALGetRasterCount(ds);
    char bands[512];
    list_bands(ds, bands, sizeof bands);
    if (!spec || !*spec) {
        *out = find_described(ds, "score");
        if (!*out && n == 1)
            *out = 1;
        if (!*out)
            return cr_ctx_fail(ctx, CR_E_DATA,
                               "raster '%s' has no band described 'score'; choose one with --band "
                               "(bands: %s)", path, bands);
        return CR_OK;
    }
    int digits = 1;
    for (const char *p = spec; *p; p++)
        digits = digits && isdigit((unsigned char)*p);
    if (digits) {
        long b = strtol(spec, NULL, 10);
        if (b < 1 || b > n)
            return cr_ctx_fail(ctx, CR_E_DATA, "raster '%s' has no band %s (bands: %s)", path, spec,
                               bands);
        *out = (int)b;
        return CR_OK;
    }
    *out = find_described(ds, spec);
    if (!*out)
        return cr_ctx_fail(ctx, CR_E_DATA, "raster '%s' has no band described '%s' (bands: %s)",
                           path, spec, bands);
    return CR_OK;
}

/* An opaque colour as premultiplied ARGB. */
static uint32_t opaque(const double rgb[3])
{
    uint32_t r = (uint32_t)lround(rgb[0] * 255), g = (uint32_t)lround(rgb[1] * 255),
             b = (uint32_t)lround(rgb[2] * 255);
    return 0xff000000u | r << 16 | g << 8 | b;
}

/* The pixels of a w x h image without a value (NaN) that are joined to its edge through
 * such pixels (8 neighbours), as a mask to free(); NULL when out of memory. In the depths
 * of cityrisk inundation, nodata is the sea and the DEM's own nodata: the sea is what
 * inundation found joined to the raster's edge (with its default sea), and inland nodata
 * is not, so the pixels joined to the edge are the sea (docs/map.md says where this is
 * approximate). */
static uint8_t *edge_nodata(const float *values, int w, int h)
{
    size_t n = (size_t)w * (size_t)h;
    uint8_t *mask = calloc(n ? n : 1, 1);
    size_t *queue = malloc((n ? n : 1) * sizeof *queue);
    if (!mask || !queue) {
        free(mask);
        free(queue);
        return NULL;
    }
    size_t head = 0, tail = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * (size_t)w + (size_t)x;
            if ((x == 0 || y == 0 || x == w - 1 || y == h - 1) && isnan(values[i]) && !mask[i]) {
                mask[i] = 1;
                queue[tail++] = i;
            }
        }
    while (head < tail) {
        size_t i = queue[head++];
        int x = (int)(i % (size_t)w), y = (int)(i / (size_t)w);
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                int nx = x + dx, ny = y + dy;
                if (nx < 0 || ny < 0 || nx >= w || ny >= h)
                    continue;
                size_t k = (size_t)ny * (size_t)w + (size_t)nx;
                if (!mask[k] && isnan(values[k])) {
                    mask[k] = 1;
                    queue[tail++] = k;
                }
            }
    }
    free(queue);
    return mask;
}

/* The colour of a valid value, premultiplied ARGB (alpha 255), or 0 (transparent). */
static uint32_t colour_of(const map_model *m, double v)
{
    double rgb[3];
    if (m->mode == MAP_MODE_CLASSES) {
        int k = cr_class_of(m->breaks, m->nclasses - 1, v);
        if (k < 1)
            return 0;
        memcpy(rgb, m->colors[k - 1], sizeof rgb);
    } else if (m->mode == MAP_MODE_CLASS) {
        long k = lround(v) - m->class_base;
        if (m->valued) /* named categories may skip values: found by value */
            for (k = 0; k < m->nclasses && m->class_values[k] != lround(v); k++)
                ;
        if (k < 0 || k >= m->nclasses)
            return 0;
        memcpy(rgb, m->colors[k], sizeof rgb);
    } else {
        static const double ramp[5][3] = {{0.871, 0.922, 0.969}, {0.620, 0.792, 0.882},
                                          {0.259, 0.573, 0.776}, {0.031, 0.318, 0.612},
                                          {0.031, 0.188, 0.420}};
        double t = (v - m->vmin) / (m->vmax - m->vmin);
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        double u = t * 4;
        int i = u >= 4 ? 3 : (int)floor(u);
        double f = u - i;
        for (int c = 0; c < 3; c++)
            rgb[c] = ramp[i][c] + f * (ramp[i + 1][c] - ramp[i][c]);
    }
    return opaque(rgb);
}

/* Fails on the first infinite value of the image read as Float32 (pixel `at` of bw x bh
 * from the band's rw x rh cells): a value infinite only in Float32 (a Float64 band beyond
 * its range) is named as the source holds it, read again from that pixel's cells. */
static cr_status infinite_error(cr_ctx *ctx, GDALRasterBandH band, const char *path, int band_no,
                                float value, size_t at, int bw, int bh, GDALRasterIOExtraArg *extra)
{
    int rw = GDALGetRasterBandXSize(band), rh = GDALGetRasterBandYSize(band);
    int i = (int)(at % (size_t)bw), j = (int)(at / (size_t)bw);
    int x0 = (int)((double)i * rw / bw), y0 = (int)((double)j * rh / bh);
    int x1 = (int)((double)(i + 1) * rw / bw), y1 = (int)((double)(j + 1) * rh / bh);
    double wide = value;
    GDALRasterIOExtraArg one = *extra;
    one.pfnProgress = NULL;
    one.pProgressData = NULL;
    cr_gdal_begin(ctx);
    int reread = GDALRasterIOEx(band, GF_Read, x0, y0, x1 > x0 ? x1 - x0 : 1, y1 > y0 ? y1 - y0 : 1,
                                &wide, 1, 1, GDT_Float64, 0, 0, &one) == CE_None;
    cr_gdal_end(ctx);
    if (reread && isfinite(wide))
        return cr_ctx_fail(ctx, CR_E_DATA, "raster '%s' band %d: value %.10g near column %d, row %d "
                           CR_FLOAT32_HINT, path, band_no, wide, x0, y0);
    return cr_ctx_fail(ctx, CR_E_DATA,
                       "raster '%s' band %d: value %g near column %d, row %d is infinite; "
                       CR_INFINITE_HINT, path, band_no, value, x0, y0);
}

/* Reads the band at bw x bh (GDAL averages, or takes the most frequent class, over
 * the cells behind each pixel, from an overview when there is one) and colours it. */
static cr_status read_image(cr_ctx *ctx, map_model *m, GDALRasterBandH band, const char *path,
                            int band_no, int bw, int bh)
{
    int rw = GDALGetRasterBandXSize(band), rh = GDALGetRasterBandYSize(band);
    size_t n = (size_t)bw * (size_t)bh;
    float *values = malloc(n * sizeof *values);
    uint8_t *mask = NULL;
    if (!values)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory reading raster '%s'", path);
    GDALRasterIOExtraArg extra;
    INIT_RASTERIO_EXTRA_ARG(extra);
    int down = bw < rw || bh < rh;
    extra.eResampleAlg = !down ? GRIORA_NearestNeighbour
                         : m->mode == MAP_MODE_CLASS ? GRIORA_Mode : GRIORA_Average;
    void *parg = NULL;
    GDALProgressFunc pfn = cr_ctx_progress_fn(ctx, &parg);
    void *scaled = GDALCreateScaledProgress(0.0, 0.8, pfn, parg);
    extra.pfnProgress = GDALScaledProgress;
    extra.pProgressData = scaled;
    cr_status st = CR_OK;
    cr_gdal_begin(ctx);
    if (GDALRasterIOEx(band, GF_Read, 0, 0, rw, rh, values, bw, bh, GDT_Float32, 0, 0, &extra) !=
        CE_None) {
        st = strstr(cr_gdal_message(ctx), "nterrupt") || strstr(cr_gdal_message(ctx), "ancel")
                 ? cr_ctx_fail(ctx, CR_E_CANCELLED, "map cancelled")
                 : cr_ctx_fail_gdal(ctx, CR_E_IO, "cannot read raster '%s'", path);
    }
    int flags = GDALGetMaskFlags(band);
    if (st == CR_OK && !(flags & GMF_ALL_VALID) && !(flags & GMF_NODATA)) {
        mask = malloc(n);
        if (!mask)
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory reading raster '%s'", path);
        else if (GDALRasterIO(GDALGetMaskBand(band), GF_Read, 0, 0, rw, rh, mask, bw, bh, GDT_Byte,
                              0, 0) != CE_None)
            st = cr_ctx_fail_gdal(ctx, CR_E_IO, "cannot read the mask of raster '%s'", path);
    }
    cr_gdal_end(ctx);
    GDALDestroyScaledProgress(scaled);
    if (st == CR_OK) {
        int has_nodata = 0;
        double nodata = GDALGetRasterNoDataValue(band, &has_nodata);
        cr_mark_valid_f32(values, n, mask, has_nodata, (double)(float)nodata, NULL);
        size_t bad = cr_first_infinite_f32(values, n);
        if (bad < n) /* it would make the colour ramp NaN */
            st = infinite_error(ctx, band, path, band_no, values[bad], bad, bw, bh, &extra);
    }
    if (st == CR_OK) {
        if (m->mode == MAP_MODE_CONTINUOUS) {
            m->vmin = INFINITY;
            m->vmax = -INFINITY;
            for (size_t i = 0; i < n; i++)
                if (!isnan(values[i]) && !(m->zero_clear && values[i] <= 0)) {
                    if (values[i] < m->vmin)
                        m->vmin = values[i];
                    if (values[i] > m->vmax)
                        m->vmax = values[i];
                }
            if (!(m->vmin <= m->vmax))
                m->vmin = 0, m->vmax = 1;
            if (m->zero_clear)
                m->vmin = 0;
            if (m->vmax == m->vmin)
                m->vmax = m->vmin + 1;
        }
        m->image = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, bw, bh);
        if (cairo_surface_status(m->image) != CAIRO_STATUS_SUCCESS) {
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory for a %d x %d map image", bw, bh);
        } else {
            cairo_surface_flush(m->image);
            unsigned char *data = cairo_image_surface_get_data(m->image);
            int stride = cairo_image_surface_get_stride(m->image);
            uint8_t *sea = m->inundation ? edge_nodata(values, bw, bh) : NULL;
            if (m->inundation && !sea)
                st = cr_ctx_fail(ctx, CR_E_IO, "out of memory for a %d x %d map image", bw, bh);
            static const double sea_rgb[3] = {MAP_SEA_RGB}, dry_rgb[3] = {MAP_DRY_RGB};
            for (int y = 0; st == CR_OK && y < bh; y++) {
                uint32_t *row = (uint32_t *)(void *)(data + (size_t)y * (size_t)stride);
                for (int x = 0; x < bw; x++) {
                    size_t i = (size_t)y * (size_t)bw + (size_t)x;
                    float v = values[i];
                    if (m->inundation && (isnan(v) ? sea[i] : v <= 0))
                        row[x] = opaque(isnan(v) ? sea_rgb : dry_rgb);
                    else
                        row[x] = isnan(v) || (m->zero_clear && v <= 0) ? 0 : colour_of(m, v);
                }
            }
            free(sea);
            cairo_surface_mark_dirty(m->image);
        }
    }
    free(values);
    free(mask);
    return st;
}

/* ---- zones */

/* data (capacity *cap elements of size bytes) with room for n: itself, or grown (doubled,
 * from first) with *cap updated; NULL when out of memory (data is then still valid). */
static void *reserve(void *data, size_t *cap, size_t n, size_t size, size_t first)
{
    if (n <= *cap)
        return data;
    size_t c = *cap ? 2 * *cap : first;
    if (c < n)
        c = n;
    void *grown = realloc(data, c * size);
    if (grown)
        *cap = c;
    return grown;
}

static int push_point(map_model *m, double x, double y)
{
    double *xy = reserve(m->xy, &m->cap_xy, m->nxy + 1, 2 * sizeof *xy, 1024);
    if (!xy)
        return 0;
    m->xy = xy;
    m->xy[2 * m->nxy] = x;
    m->xy[2 * m->nxy + 1] = y;
    m->nxy++;
    return 1;
}

/* Closes the ring being built: rings[nrings] becomes nxy. */
static int end_ring(map_model *m)
{
    if (m->nrings + 2 > m->cap_rings) {
        size_t cap = m->cap_rings ? 2 * m->cap_rings : 256;
        size_t *r = realloc(m->rings, cap * sizeof *r);
        if (!r)
            return 0;
        m->rings = r;
        m->cap_rings = cap;
    }
    if (m->nrings == 0)
        m->rings[0] = 0;
    m->nrings++;
    m->rings[m->nrings] = m->nxy;
    return 1;
}

/* Adds the rings of the polygons of g, dropping points closer than tol to the last one
 * kept. Returns 0 when out of memory. */
static int add_rings(map_model *m, OGRGeometryH g, double tol)
{
    OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(g));
    if (t == wkbPolygon) {
        for (int r = 0; r < OGR_G_GetGeometryCount(g); r++) {
            OGRGeometryH ring = OGR_G_GetGeometryRef(g, r);
            int n = OGR_G_GetPointCount(ring);
            if (n < 3)
                continue;
            double lx = 0, ly = 0;
            for (int i = 0; i < n; i++) {
                double x = OGR_G_GetX(ring, i), y = OGR_G_GetY(ring, i);
                if (i == 0 || i == n - 1 || fabs(x - lx) > tol || fabs(y - ly) > tol) {
                    if (!push_point(m, x, y))
                        return 0;
                    lx = x;
                    ly = y;
                }
            }
            if (!end_ring(m))
                return 0;
        }
    } else if (t == wkbMultiPolygon || t == wkbGeometryCollection) {
        for (int k = 0; k < OGR_G_GetGeometryCount(g); k++)
            if (!add_rings(m, OGR_G_GetGeometryRef(g, k), tol))
                return 0;
    }
    return 1;
}

static int by_key(const void *a, const void *b)
{
    const map_label *x = a, *y = b;
    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int numeric_field(OGRFeatureDefnH defn, int i)
{
    OGRFieldType t = OGR_Fld_GetType(OGR_FD_GetFieldDefn(defn, i));
    return t == OFTInteger || t == OFTInteger64 || t == OFTReal;
}

/* Fails when no outline comes near the raster: the zones are of another place, or in a
 * CRS they do not declare, and the map would show none of them. */
static cr_status check_zones_meet_raster(cr_ctx *ctx, const map_model *m, const cr_map_opts *o,
                                         const char *lname)
{
    cr_bounds z = {INFINITY, INFINITY, -INFINITY, -INFINITY};
    cr_bounds r = {m->xmin, m->ymin, m->xmax, m->ymax};
    for (size_t i = 0; i < m->nxy; i++) {
        z.xmin = fmin(z.xmin, m->xy[2 * i]), z.xmax = fmax(z.xmax, m->xy[2 * i]);
        z.ymin = fmin(z.ymin, m->xy[2 * i + 1]), z.ymax = fmax(z.ymax, m->xy[2 * i + 1]);
    }
    if (z.xmax >= r.xmin && z.xmin <= r.xmax && z.ymax >= r.ymin && z.ymin <= r.ymax)
        return CR_OK;
    char what[2200];
    snprintf(what, sizeof what, "zones '%s' layer '%s' do not overlap raster '%s'", o->zones_path,
             lname, o->raster_path);
    return cr_fail_apart(ctx, what, &z, "the raster's", &r, " (in the raster's CRS)");
}

/* What `cityrisk zonal` recorded of the zones (its CITYRISK_PARAMETERS: the name and id
 * fields, the coverage threshold), from the layer's metadata (GPKG) or the GeoJSON's
 * "cityrisk" member (which OGR shows only when asked, NATIVE_DATA=YES); NULL when none (a
 * Shapefile, FlatGeobuf or CSV keeps no metadata, or the zones come from elsewhere).
 * json_object_put() it. */
static json_object *zonal_parameters(GDALDatasetH ds, OGRLayerH layer, const char *path)
{
    json_object *prov = cr_vector_provenance(ds, layer, path);
    json_object *par = cr_provenance_object(prov, "CITYRISK_PARAMETERS");
    json_object *doc = par ? json_object_get(par) : NULL;
    json_object_put(prov);
    return doc;
}

/* The string parameter key of zonal's parameters, NULL when none. */
static const char *parameter_text(json_object *par, const char *key)
{
    json_object *v;
    return par && json_object_object_get_ex(par, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

/* Keeps zone rings [r0, r1) to be hatched. Returns 0 when out of memory. */
static int add_hatched(map_model *m, size_t r0, size_t r1)
{
    const size_t range[2] = {r0, r1};
    size_t *h = reserve(m->hatched, &m->cap_hatched, (size_t)m->nhatched + 1, sizeof range, 16);
    if (h) {
        memcpy(h + 2 * m->nhatched++, range, sizeof range);
        m->hatched = h;
    }
    return h != NULL;
}

static cr_status load_zones(cr_ctx *ctx, map_model *m, const cr_map_opts *o,
                            OGRSpatialReferenceH dst, double tol)
{
    GDALDatasetH ds = NULL;
    cr_status st = cr_open_vector(ctx, o->zones_path, &ds);
    if (st != CR_OK)
        return st;
    OGRCoordinateTransformationH ct = NULL;
    OGRSpatialReferenceH src = NULL;
    map_label *cand = NULL;
    size_t ncand = 0, capcand = 0;
    json_object *par = NULL;
    cr_gdal_begin(ctx);
    OGRLayerH layer = o->layer ? GDALDatasetGetLayerByName(ds, o->layer) : GDALDatasetGetLayer(ds, 0);
    if (!layer) {
        st = o->layer ? cr_ctx_fail(ctx, CR_E_USAGE, "zones '%s' have no layer '%s'", o->zones_path,
                                    o->layer)
                      : cr_ctx_fail(ctx, CR_E_DATA, "zones '%s' have no layer", o->zones_path);
        goto done;
    }
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
    const char *lname = OGR_L_GetName(layer);
    int li = -1, fi = -1, is_rank = 0;
    par = zonal_parameters(ds, layer, o->zones_path);
    if (o->label_field) {
        li = OGR_FD_GetFieldIndex(defn, o->label_field);
        if (li < 0) {
            st = cr_ctx_fail(ctx, CR_E_USAGE, "--labels: zones '%s' layer '%s' have no field '%s'",
                             o->zones_path, lname, o->label_field);
            goto done;
        }
    } else {
        /* "name", else the field zonal was told names the zones (--name-field), else its id
         * field: zones named "ward_name" were labelled with nothing before. */
        li = OGR_FD_GetFieldIndex(defn, "name");
        const char *recorded[] = {parameter_text(par, "name_field"), parameter_text(par, "id_field")};
        for (int k = 0; li < 0 && k < 2; k++)
            if (recorded[k])
                li = OGR_FD_GetFieldIndex(defn, recorded[k]);
    }
    const char *rank_name = o->field;
    if (o->field) {
        fi = OGR_FD_GetFieldIndex(defn, o->field);
        if (fi < 0) {
            st = cr_ctx_fail(ctx, CR_E_USAGE, "--field: zones '%s' layer '%s' have no field '%s'",
                             o->zones_path, lname, o->field);
            goto done;
        }
    } else if ((fi = OGR_FD_GetFieldIndex(defn, "score_rank")) >= 0) {
        is_rank = 1;
        rank_name = "score_rank";
    } else if ((fi = OGR_FD_GetFieldIndex(defn, "score_mean")) >= 0) {
        rank_name = "score_mean";
    } else if (o->top > 0 && o->label_field) {
        st = cr_ctx_fail(ctx, CR_E_USAGE,
                         "--labels: zones '%s' have neither score_rank nor score_mean to choose the "
                         "top %d; give --field", o->zones_path, o->top);
        goto done;
    }
    if (fi >= 0 && !numeric_field(defn, fi)) {
        st = cr_ctx_fail(ctx, CR_E_USAGE, "--field: field '%s' of zones '%s' is not numeric",
                         rank_name, o->zones_path);
        goto done;
    }
    OGRSpatialReferenceH lsrs = OGR_L_GetSpatialRef(layer);
    if (lsrs) {
        src = OSRClone(lsrs);
        OSRSetAxisMappingStrategy(src, OAMS_TRADITIONAL_GIS_ORDER);
        if (!OSRIsSame(src, dst)) {
            ct = OCTNewCoordinateTransformation(src, dst);
            if (!ct) {
                st = cr_ctx_fail_gdal(ctx, CR_E_DATA,
                                      "zones '%s': cannot transform their CRS to the raster's",
                                      o->zones_path);
                goto done;
            }
        }
    } else {
        st = cr_ctx_fail(ctx, CR_E_DATA, "zones '%s' layer '%s' have no CRS; assign one (e.g. "
                         "ogr2ogr -a_srs EPSG:4326)", o->zones_path, lname);
        goto done;
    }
    int want_labels = o->top > 0 && li >= 0 && fi >= 0;
    if (o->top > 0 && fi >= 0 && li < 0)
        cr_ctx_log(ctx, CR_LOG_WARNING,
                   "zones '%s' layer '%s' have no field 'name' and no name field recorded by "
                   "cityrisk zonal (--name-field): no labels; give --labels FIELD",
                   o->zones_path, lname);
    /* Zones whose data coverage is below zonal's threshold have no rank (docs/zonal.md):
     * they are hatched, and never labelled, whatever ranks them. The threshold is taken
     * over the zone's land (land_data_coverage) when zonal had the sea's depths, else over
     * its area (data_coverage). A Shapefile names the fields as zonal shortens them. */
    static const char *const COVERAGE_FIELDS[] = {"land_data_coverage", "landdatcov",
                                                  "data_coverage", "dat_cov"};
    int ci = -1;
    for (size_t k = 0; ci < 0 && k < sizeof COVERAGE_FIELDS / sizeof *COVERAGE_FIELDS; k++)
        ci = OGR_FD_GetFieldIndex(defn, COVERAGE_FIELDS[k]);
    if (ci >= 0 && !numeric_field(defn, ci))
        ci = -1;
    double min_coverage = CR_ZONAL_MIN_COVERAGE;
    json_object *mc;
    if (par && json_object_object_get_ex(par, "min_coverage", &mc) &&
        (json_object_is_type(mc, json_type_double) || json_object_is_type(mc, json_type_int)))
        min_coverage = json_object_get_double(mc);
    snprintf(m->hatch_note, sizeof m->hatch_note, "Insufficient data (coverage < %g %%)",
             100 * min_coverage);
    OGR_L_ResetReading(layer);
    OGRFeatureH f;
    long order = 0, skipped = 0, no_polygon = 0;
    while ((f = OGR_L_GetNextFeature(layer)) != NULL) {
        order++;
        OGRGeometryH g = OGR_F_GetGeometryRef(f);
        OGRGeometryH lin = NULL;
        if (g && OGR_G_HasCurveGeometry(g, TRUE))
            g = lin = OGR_G_GetLinearGeometry(g, 0, NULL);
        if (!g || (ct && OGR_G_Transform(g, ct) != OGRERR_NONE)) {
            skipped += g != NULL;
            no_polygon += g == NULL;
            if (lin)
                OGR_G_DestroyGeometry(lin);
            OGR_F_Destroy(f);
            continue;
        }
        size_t r0 = m->nrings;
        if (!add_rings(m, g, tol)) {
            if (lin)
                OGR_G_DestroyGeometry(lin);
            OGR_F_Destroy(f);
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory reading zones '%s'", o->zones_path);
            goto done;
        }
        no_polygon += m->nrings == r0;
        int thin = m->nrings > r0 && ci >= 0 &&
                   (!OGR_F_IsFieldSetAndNotNull(f, ci) ||
                    OGR_F_GetFieldAsDouble(f, ci) < min_coverage - 1e-9);
        if (thin && !add_hatched(m, r0, m->nrings)) {
            if (lin)
                OGR_G_DestroyGeometry(lin);
            OGR_F_Destroy(f);
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory reading zones '%s'", o->zones_path);
            goto done;
        }
        if (m->nrings > r0) {
            m->zones++;
            if (want_labels && !thin && OGR_F_IsFieldSetAndNotNull(f, fi) &&
                OGR_F_IsFieldSetAndNotNull(f, li)) {
                if (ncand == capcand) {
                    size_t cap = capcand ? 2 * capcand : 64;
                    map_label *c = realloc(cand, cap * sizeof *c);
                    if (!c) {
                        if (lin)
                            OGR_G_DestroyGeometry(lin);
                        OGR_F_Destroy(f);
                        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory reading zones '%s'", o->zones_path);
                        goto done;
                    }
                    cand = c;
                    capcand = cap;
                }
                map_label *lab = &cand[ncand];
                memset(lab, 0, sizeof *lab);
                double v = OGR_F_GetFieldAsDouble(f, fi);
                lab->key = is_rank ? -v : v;
                lab->order = order;
                lab->ring0 = r0;
                lab->ring1 = m->nrings;
                /* any bytes: shown as valid UTF-8 without control characters */
                const char *raw = OGR_F_GetFieldAsString(f, li);
                size_t size = 3 * strlen(raw) + 1;
                if ((lab->text = malloc(size)) != NULL)
                    cr_text_clean(lab->text, size, raw);
                OGRGeometryH p = OGR_G_PointOnSurface(g);
                if (!p)
                    p = OGR_G_CreateGeometry(wkbPoint), OGR_G_Centroid(g, p);
                if (p && !OGR_G_IsEmpty(p)) {
                    lab->x = OGR_G_GetX(p, 0);
                    lab->y = OGR_G_GetY(p, 0);
                    lab->has_point = 1;
                }
                if (p)
                    OGR_G_DestroyGeometry(p);
                if (lab->text)
                    ncand++;
            }
        }
        if (lin)
            OGR_G_DestroyGeometry(lin);
        OGR_F_Destroy(f);
    }
    if (skipped)
        cr_ctx_log(ctx, CR_LOG_WARNING, "zones '%s': %ld features could not be reprojected; not drawn",
                   o->zones_path, skipped);
    if (no_polygon && m->zones > 0) /* with none at all, the failure below says it */
        cr_ctx_log(ctx, CR_LOG_WARNING,
                   "zones '%s' layer '%s': %ld feature%s no polygon (null, empty or not "
                   "polygonal geometry); not drawn",
                   o->zones_path, lname, no_polygon, no_polygon == 1 ? " has" : "s have");
    if (m->zones == 0) {
        st = cr_ctx_fail(ctx, CR_E_DATA, "zones '%s' layer '%s' hold no polygons", o->zones_path,
                         lname);
        goto done;
    }
    if ((st = check_zones_meet_raster(ctx, m, o, lname)) != CR_OK)
        goto done;
    if (ncand > 0) {
        qsort(cand, ncand, sizeof *cand, by_key);
        size_t keep = ncand < (size_t)o->top ? ncand : (size_t)o->top;
        for (size_t i = keep; i < ncand; i++)
            free(cand[i].text);
        m->labels = cand;
        m->nlabels = (int)keep;
        cand = NULL;
        ncand = 0;
        snprintf(m->rank_note, sizeof m->rank_note, "Top %d by %s", m->nlabels, rank_name);
    }
done:
    cr_gdal_end(ctx);
    json_object_put(par);
    for (size_t i = 0; i < ncand; i++)
        free(cand[i].text);
    free(cand);
    if (ct)
        OCTDestroyCoordinateTransformation(ct);
    if (src)
        OSRDestroySpatialReference(src);
    GDALClose(ds);
    return st;
}

/* ---- metadata and text */

/* The scenario: the band's SCENARIO, else the sea layer's in CITYRISK_INPUTS, else
 * "scenario" in CITYRISK_PARAMETERS. */
static void find_scenario(GDALDatasetH ds, GDALRasterBandH band, char *buf, size_t size)
{
    buf[0] = '\0';
    const char *s = GDALGetMetadataItem(band, "SCENARIO", NULL);
    if (s && *s) {
        snprintf(buf, size, "%s", s);
        return;
    }
    const char *keys[2] = {"CITYRISK_INPUTS", "CITYRISK_PARAMETERS"};
    for (int k = 0; k < 2 && !buf[0]; k++) {
        const char *text = GDALGetMetadataItem(ds, keys[k], NULL);
        json_object *doc = text ? json_tokener_parse(text) : NULL, *v = NULL, *sea = NULL;
        if (doc && json_object_is_type(doc, json_type_object)) {
            if (k == 0 && json_object_object_get_ex(doc, "sea", &sea) &&
                json_object_object_get_ex(sea, "scenario", &v) && json_object_is_type(v, json_type_string))
                snprintf(buf, size, "%s", json_object_get_string(v));
            else if (k == 1 && json_object_object_get_ex(doc, "scenario", &v) &&
                     json_object_is_type(v, json_type_string))
                snprintf(buf, size, "%s", json_object_get_string(v));
        }
        json_object_put(doc);
    }
}

/* "exposure_2050.tif" -> "Exposure 2050". */
static void title_from_path(const char *path, char *buf, size_t size)
{
    snprintf(buf, size, "%s", base_name(path));
    char *dot = strrchr(buf, '.');
    if (dot && dot != buf)
        *dot = '\0';
    for (char *p = buf; *p; p++)
        if (*p == '_' || *p == '-')
            *p = ' ';
    buf[0] = (char)toupper((unsigned char)buf[0]);
}

/* The direction of true north at the centre, radians clockwise from up; 0 (up), with a
 * warning, where it cannot be computed (a centre outside the projection's domain). */
static double true_north(cr_ctx *ctx, const char *path, OGRSpatialReferenceH srs, double cx,
                         double cy)
{
    if (OSRIsGeographic(srs))
        return 0;
    cr_gdal_begin(ctx);
    OGRSpatialReferenceH geo = OSRCloneGeogCS(srs);
    if (!geo) {
        cr_gdal_end(ctx);
        return 0;
    }
    OSRSetAxisMappingStrategy(geo, OAMS_TRADITIONAL_GIS_ORDER);
    OGRCoordinateTransformationH to = OCTNewCoordinateTransformation(srs, geo);
    OGRCoordinateTransformationH back = OCTNewCoordinateTransformation(geo, srs);
    double angle = 0, x = cx, y = cy;
    int known = 0;
    if (to && back && OCTTransform(to, 1, &x, &y, NULL)) {
        double lat = y + (y > 89 ? -0.01 : 0.01), lon = x;
        if (OCTTransform(back, 1, &lon, &lat, NULL)) {
            double dx = lon - cx, dy = lat - cy;
            if (y > 89)
                dx = -dx, dy = -dy;
            if (dx != 0 || dy != 0)
                angle = atan2(dx, dy);
            known = isfinite(angle);
        }
    }
    if (!known) {
        const char *why = cr_gdal_message(ctx);
        cr_ctx_log(ctx, CR_LOG_WARNING,
                   "raster '%s': true north at its centre is unknown%s%s%s; the north arrow points "
                   "up", path, *why ? " (" : "", why, *why ? ")" : "");
        angle = 0;
    }
    cr_gdal_end(ctx);
    if (to)
        OCTDestroyCoordinateTransformation(to);
    if (back)
        OCTDestroyCoordinateTransformation(back);
    OSRDestroySpatialReference(geo);
    return isfinite(angle) ? angle : 0;
}

static void append(char *buf, size_t size, const char *fmt, const char *text)
{
    size_t n = strlen(buf);
    if (n < size)
        snprintf(buf + n, size - n, fmt, text);
}

cr_status cr_map(cr_ctx *ctx, const char *out, const cr_map_opts *o, cr_map_summary *summary)
{
    if (!o->raster_path || !*o->raster_path)
        return cr_ctx_fail(ctx, CR_E_USAGE, "no raster given (--raster)");
    if (o->width < CR_MAP_WIDTH_MIN || o->width > CR_MAP_WIDTH_MAX)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--width %d is outside %d..%d pixels", o->width,
                           CR_MAP_WIDTH_MIN, CR_MAP_WIDTH_MAX);
    if (o->top < 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--top %d: give 0 or more zones to label", o->top);
    if (o->format != CR_MAP_PNG && o->format != CR_MAP_PDF && o->format != CR_MAP_SVG)
        return cr_ctx_fail(ctx, CR_E_USAGE, "unknown map format");
    const char *inputs[] = {o->raster_path, o->zones_path, NULL};
    cr_status st = cr_outputs_check(ctx, out, "map", NULL, inputs, o->overwrite);
    if (st != CR_OK)
        return st;

    map_model m;
    memset(&m, 0, sizeof m);
    GDALDatasetH ds = NULL;
    OGRSpatialReferenceH srs = NULL;
    cr_temp temp = CR_TEMP_NONE;
    map_layout L;
    int band_no = 0;
    char scenario[128] = "", band_name[64] = "";
    st = cr_open_raster(ctx, o->raster_path, &ds);
    if (st != CR_OK)
        goto done;
    double gt[6];
    const char *wkt = GDALGetProjectionRef(ds);
    if (GDALGetGeoTransform(ds, gt) != CE_None) {
        st = cr_ctx_fail(ctx, CR_E_DATA, "raster '%s' has no geotransform: cannot place it on a map",
                         o->raster_path);
        goto done;
    }
    st = cr_check_geotransform(ctx, o->raster_path, gt, GDALGetRasterXSize(ds),
                               GDALGetRasterYSize(ds));
    if (st != CR_OK)
        goto done;
    if (gt[2] != 0 || gt[4] != 0 || gt[1] <= 0 || gt[5] >= 0) {
        st = cr_ctx_fail(ctx, CR_E_DATA, "raster '%s' is rotated or not north-up; warp it first "
                         "(gdalwarp)", o->raster_path);
        goto done;
    }
    if (!wkt || !*wkt || !(srs = cr_srs_from_wkt(wkt))) {
        st = cr_ctx_fail(ctx, CR_E_DATA, "raster '%s' has no CRS: assign one (gdal_edit.py -a_srs)",
                         o->raster_path);
        goto done;
    }
    st = find_band(ctx, ds, o->raster_path, o->band, &band_no);
    if (st != CR_OK)
        goto done;
    GDALRasterBandH band = GDALGetRasterBand(ds, band_no);
    const char *desc = GDALGetDescription(band);
    snprintf(band_name, sizeof band_name, "%s", desc ? desc : "");
    int rw = GDALGetRasterXSize(ds), rh = GDALGetRasterYSize(ds);
    m.xmin = gt[0];
    m.xmax = gt[0] + rw * gt[1];
    m.ymax = gt[3];
    m.ymin = gt[3] + rh * gt[5];
    m.geographic = OSRIsGeographic(srs);
    if (m.geographic)
        m.metres_per_unit = 111319.49 * cos((m.ymin + m.ymax) / 2 * M_PI / 180);
    else
        m.metres_per_unit = OSRGetLinearUnits(srs, NULL);
    m.north = true_north(ctx, o->raster_path, srs, (m.xmin + m.xmax) / 2, (m.ymin + m.ymax) / 2);
    const char *crs_name = OSRGetName(srs);
    snprintf(m.crs_name, sizeof m.crs_name, "%s", crs_name ? crs_name : "");

    /* how to colour it */
    GDALRasterBandH class_band = NULL;
    int categories = 0;
    if (strcasecmp(band_name, "class") == 0 || GDALGetMetadataItem(band, "CLASS_BREAKS", NULL)) {
        m.mode = MAP_MODE_CLASS;
        m.class_base = 1;
        class_band = band;
    } else if ((categories = load_categories(&m, band)) != 0) {
        m.mode = MAP_MODE_CLASS;
    } else if (strcasecmp(band_name, "score") == 0) {
        m.mode = MAP_MODE_CLASSES;
        int cb = find_described(ds, "class");
        class_band = cb ? GDALGetRasterBand(ds, cb) : NULL;
    } else {
        m.mode = MAP_MODE_CONTINUOUS;
    }
    if (m.mode != MAP_MODE_CONTINUOUS && !categories)
        load_classes(&m, class_band);
    const char *unit = GDALGetRasterUnitType(band);
    snprintf(m.legend_unit, sizeof m.legend_unit, "%s", unit ? unit : "");
    if (m.mode == MAP_MODE_CLASSES)
        snprintf(m.legend_title, sizeof m.legend_title, "Exposure score");
    else if (m.mode == MAP_MODE_CLASS && categories && GDALGetMetadataItem(band, "CONFIDENCE", NULL))
        snprintf(m.legend_title, sizeof m.legend_title, "Inundation confidence");
    else if (m.mode == MAP_MODE_CLASS && categories)
        snprintf(m.legend_title, sizeof m.legend_title, "%s", band_name[0] ? band_name : "Class");
    else if (m.mode == MAP_MODE_CLASS)
        snprintf(m.legend_title, sizeof m.legend_title, "Exposure class");
    else if (band_name[0])
        snprintf(m.legend_title, sizeof m.legend_title, "%s", band_name);
    else
        snprintf(m.legend_title, sizeof m.legend_title, "Band %d", band_no);
    /* A depth band (cityrisk inundation: metres, 0 where dry): dry cells show the
     * background, so that only water is blue. */
    m.zero_clear = m.mode == MAP_MODE_CONTINUOUS && unit &&
                   (strcmp(unit, "m") == 0 || strcasecmp(unit, "metre") == 0 ||
                    strcasecmp(unit, "metres") == 0 || strcasecmp(unit, "meters") == 0);
    /* cityrisk inundation's depths (their band records the water level): the sea, dry land
     * and nodata each get their own look instead of one background. */
    m.inundation = m.zero_clear && GDALGetMetadataItem(band, "WATER_LEVEL_M", NULL) != NULL;

    cr_map_layout(&m, o->width, &L);
    int bw = (int)ceil(L.frame_w), bh = (int)ceil(L.frame_h);
    bw = bw < rw ? bw : rw;
    bh = bh < rh ? bh : rh;
    st = read_image(ctx, &m, band, o->raster_path, band_no, bw < 1 ? 1 : bw, bh < 1 ? 1 : bh);
    if (st != CR_OK)
        goto done;
    if (!cr_ctx_progress(ctx, 0.8, NULL)) {
        st = cr_ctx_fail(ctx, CR_E_CANCELLED, "map cancelled");
        goto done;
    }
    if (o->zones_path) {
        double tol = 0.5 * (m.xmax - m.xmin) / L.frame_w;
        st = load_zones(ctx, &m, o, srs, tol);
        if (st != CR_OK)
            goto done;
    }

    /* text */
    find_scenario(ds, band, scenario, sizeof scenario);
    if (o->title)
        cr_text_clean(m.title, sizeof m.title, o->title); /* whole characters, none a control */
    else
        title_from_path(o->raster_path, m.title, sizeof m.title);
    if (m.mode == MAP_MODE_CONTINUOUS)
        snprintf(m.subtitle, sizeof m.subtitle, "Band %d%s%s%s", band_no, band_name[0] ? " '" : "",
                 band_name, band_name[0] ? "'" : "");
    else
        snprintf(m.subtitle, sizeof m.subtitle, "%s%s", m.legend_title,
                 m.mode == MAP_MODE_CLASSES ? " by class" : "");
    if (scenario[0])
        append(m.subtitle, sizeof m.subtitle, ", scenario %s", scenario);
    if (m.zones > 0) {
        char z[96];
        snprintf(z, sizeof z, ", %d neighbourhoods", m.zones);
        append(m.subtitle, sizeof m.subtitle, "%s", z);
        if (m.nlabels > 0) {
            snprintf(z, sizeof z, " (top %d labelled)", m.nlabels);
            append(m.subtitle, sizeof m.subtitle, "%s", z);
        }
        if (m.nhatched > 0) {
            snprintf(z, sizeof z, ", %d with insufficient data", m.nhatched);
            append(m.subtitle, sizeof m.subtitle, "%s", z);
        }
    }
    char date[32] = "";
    /* SOURCE_DATE_EPOCH (reproducible-builds.org) fixes the date, for byte-identical maps. */
    const char *epoch = CPLGetConfigOption("SOURCE_DATE_EPOCH", NULL);
    time_t now = epoch && *epoch ? (time_t)strtoll(epoch, NULL, 10) : time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(date, sizeof date, "%Y-%m-%d", &tm);
    snprintf(m.source, sizeof m.source, "Source: %s (band %d", base_name(o->raster_path), band_no);
    if (band_name[0])
        append(m.source, sizeof m.source, " '%s'", band_name);
    append(m.source, sizeof m.source, "%s", ")");
    if (o->zones_path)
        append(m.source, sizeof m.source, ", %s", base_name(o->zones_path));
    if (scenario[0])
        append(m.source, sizeof m.source, " \xc2\xb7 scenario %s", scenario);
    append(m.source, sizeof m.source, " \xc2\xb7 cityrisk %s", cr_version());
    append(m.source, sizeof m.source, " \xc2\xb7 %s UTC", date);
    snprintf(m.desc, sizeof m.desc, "%s.", m.subtitle);
    if (m.nlabels > 0) {
        append(m.desc, sizeof m.desc, " %s:", m.rank_note);
        for (int i = 0; i < m.nlabels; i++) {
            char item[24];
            snprintf(item, sizeof item, "%s %d ", i ? ";" : "", i + 1);
            append(m.desc, sizeof m.desc, "%s", item);
            append(m.desc, sizeof m.desc, "%s", m.labels[i].text);
        }
        append(m.desc, sizeof m.desc, "%s", ".");
    }
    append(m.desc, sizeof m.desc, " %s.", m.source);

    /* draw, then publish */
    st = cr_temp_file(ctx, out, "map", &temp);
    if (st != CR_OK)
        goto done;
    st = cr_map_render(ctx, &m, &L, o->format, temp.path, out);
    if (st != CR_OK)
        goto done;
    if (!cr_ctx_progress(ctx, 1.0, NULL)) {
        st = cr_ctx_fail(ctx, CR_E_CANCELLED, "map cancelled");
        goto done;
    }
    st = cr_temp_publish(ctx, &temp, out, o->overwrite);
    if (st == CR_OK && summary) {
        memset(summary, 0, sizeof *summary);
        summary->width = (int)L.width;
        summary->height = (int)L.height;
        summary->band = band_no;
        snprintf(summary->band_name, sizeof summary->band_name, "%s", band_name);
        snprintf(summary->mode, sizeof summary->mode, "%s",
                 m.mode == MAP_MODE_CLASSES ? "classes" : m.mode == MAP_MODE_CLASS ? "class" : "continuous");
        summary->classes = m.mode == MAP_MODE_CONTINUOUS ? 0 : m.nclasses;
        summary->zones = m.zones;
        summary->labels = m.nlabels;
        summary->insufficient = m.nhatched;
        snprintf(summary->scenario, sizeof summary->scenario, "%s", scenario);
    }
done:
    cr_temp_discard(&temp);
    model_free(&m);
    if (srs)
        OSRDestroySpatialReference(srs);
    if (ds)
        GDALClose(ds);
    return st;
}
