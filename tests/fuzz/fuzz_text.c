/* fuzz_text.c: the text writers (geo/core/text.c) and the outputs made with them: names and
 * titles holding any bytes must give outputs that parse.
 *
 * Input: a first byte of flags, then up to eight strings separated by NUL bytes (a C string
 * can hold any byte but NUL; titles from argv, labels and names from files). Always:
 *   - XML: each string through cr_xml_append() as an attribute value and as character data
 *     of a small document, parsed by libxml2; both read back as cr_text_clean() made them;
 *   - JSON: an object with the strings as keys and values, through cr_json_text(), parsed by
 *     json-c as strict JSON with UTF-8 validation; values read back as cr_text_utf8() made
 *     them.
 * Flag 1, the SVG map: a small map model whose title, subtitle, legend, source, CRS name,
 * labels and description hold the strings, rendered by cr_map_render() (Cairo), which must
 * succeed; the file parses as XML, its <title> and <desc> read back as cr_text_clean() made
 * them.
 * Flag 2, the QGIS style: a score raster whose class names (CLASS_NAMES) are the strings,
 * styled by cr_qml_write(CR_QML_SCORE); the .qml parses as XML.
 * Any GDAL message the library does not capture is a finding too (fuzzutil.c). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gdal.h>
#include <json-c/json.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "cityrisk/json.h"
#include "cityrisk/qml.h"
#include "fuzzutil.h"
#include "map/map_internal.h"
#include "core/text.h"

enum { STRINGS = 8, FLAG_SVG = 1, FLAG_QML = 2 };

static char raster[4096];

/* libxml2 reports through this; a document that does not parse is reported by the check. */
static void quiet(void *ctx, const char *msg, ...)
{
    (void)ctx, (void)msg;
}

/* A score raster (bands "score" and "class") in the scratch folder, for the styles. */
static void make_raster(void)
{
    snprintf(raster, sizeof raster, "%s/exposure.tif", fz_dir());
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), raster, 4, 4, 2, GDT_Float32, NULL);
    FZ_CHECK(ds, "cannot create '%s'", raster);
    double gt[6] = {500000, 30, 0, 8000000, 0, -30};
    GDALSetGeoTransform(ds, gt);
    GDALSetProjection(ds, "EPSG:32736");
    GDALSetDescription(GDALGetRasterBand(ds, 1), "score");
    GDALSetDescription(GDALGetRasterBand(ds, 2), "class");
    GDALClose(ds);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    GDALAllRegister();
    xmlInitParser();
    xmlSetGenericErrorFunc(NULL, quiet);
    make_raster();
    return 0;
}

/* Parses an XML file or buffer; aborts, showing it, when it does not parse. */
static xmlDocPtr parse_xml(const char *what, const char *text, int size)
{
    xmlDocPtr doc = xmlReadMemory(text, size, what, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        const xmlError *e = xmlGetLastError();
        fz_fail("%s does not parse as XML (%s): %.*s", what, e && e->message ? e->message : "?",
                size > 4000 ? 4000 : size, text);
    }
    return doc;
}

static char *read_file(const char *path, int *size)
{
    FILE *f = fopen(path, "rb");
    FZ_CHECK(f, "cannot open '%s'", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *text = malloc((size_t)n + 1);
    FZ_CHECK(text && fread(text, 1, (size_t)n, f) == (size_t)n, "cannot read '%s'", path);
    fclose(f);
    text[n] = '\0';
    *size = (int)n;
    return text;
}

/* The string as an attribute and as character data read back as cr_text_clean() makes it. */
static void check_xml(const char *s)
{
    size_t size = 6 * strlen(s) + 64;
    char *doc_text = malloc(2 * size), *clean = malloc(size);
    FZ_CHECK(doc_text && clean, "out of memory");
    strcpy(doc_text, "<t a=\"");
    cr_xml_append(doc_text, 2 * size, s);
    strcat(doc_text, "\">");
    cr_xml_append(doc_text, 2 * size, s);
    strcat(doc_text, "</t>");
    cr_text_clean(clean, size, s);
    xmlDocPtr doc = parse_xml("escaped text", doc_text, (int)strlen(doc_text));
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlChar *a = xmlGetProp(root, (const xmlChar *)"a"), *t = xmlNodeGetContent(root);
    /* XML turns a space run in an attribute into spaces as they are (no newlines: cleaned). */
    FZ_CHECK(a && strcmp((const char *)a, clean) == 0, "attribute reads '%s', not '%s'",
             a ? (const char *)a : "(none)", clean);
    FZ_CHECK(t && strcmp((const char *)t, clean) == 0, "text reads '%s', not '%s'",
             t ? (const char *)t : "(none)", clean);
    xmlFree(a);
    xmlFree(t);
    xmlFreeDoc(doc);
    free(doc_text);
    free(clean);
}

static void check_json(char **s, int n)
{
    json_object *doc = json_object_new_object(), *list = json_object_new_array(),
                *keys = json_object_new_object();
    for (int i = 0; i < n; i++) {
        json_object_object_add(keys, s[i], json_object_new_string(s[i]));
        json_object_array_add(list, json_object_new_string(s[i]));
    }
    json_object_object_add(doc, "keys", keys);
    json_object_object_add(doc, "list", list);
    char *text = cr_json_text(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    json_object_put(doc);
    FZ_CHECK(text, "cr_json_text gave nothing");
    FZ_CHECK(cr_text_is_utf8(text), "JSON text is not UTF-8: %s", text);
    json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *back = json_tokener_parse_ex(tok, text, (int)strlen(text));
    FZ_CHECK(back && json_tokener_get_error(tok) == json_tokener_success,
             "JSON does not parse (%s): %s", json_tokener_error_desc(json_tokener_get_error(tok)),
             text);
    json_object *items = NULL;
    FZ_CHECK(json_object_object_get_ex(back, "list", &items) &&
                 json_object_is_type(items, json_type_array) &&
                 (int)json_object_array_length(items) == n,
             "the list did not come back: %s", text);
    for (int i = 0; i < n; i++) {
        size_t size = 3 * strlen(s[i]) + 1;
        char *want = malloc(size);
        cr_text_utf8(want, size, s[i]);
        const char *got = json_object_get_string(json_object_array_get_idx(items, (size_t)i));
        FZ_CHECK(got && strcmp(got, want) == 0, "string %d reads '%s', not '%s'", i, got, want);
        free(want);
    }
    json_object_put(back);
    json_tokener_free(tok);
    free(text);
}

/* The text of the first element named name under node, or NULL (xmlFree() it). */
static xmlChar *element_text(xmlNodePtr node, const char *name)
{
    for (xmlNodePtr c = node->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return xmlNodeGetContent(c);
    return NULL;
}

static void check_svg(cr_ctx *ctx, char **s)
{
    static double xy[] = {10, 10, 90, 10, 90, 90, 10, 90, 10, 10};
    static size_t rings[] = {0, 5};
    map_label labels[2] = {{.text = s[6], .x = 50, .y = 50, .ring0 = 0, .ring1 = 1, .has_point = 1},
                           {.text = s[7], .x = 20, .y = 80, .ring0 = 0, .ring1 = 1, .has_point = 1}};
    map_model *m = calloc(1, sizeof *m);
    FZ_CHECK(m, "out of memory");
    m->xmin = 0, m->ymin = 0, m->xmax = 100, m->ymax = 100;
    m->metres_per_unit = 1;
    m->mode = MAP_MODE_CONTINUOUS;
    m->vmin = 0, m->vmax = 1;
    m->xy = xy, m->nxy = 5, m->rings = rings, m->nrings = 1, m->zones = 1;
    m->labels = labels, m->nlabels = 2;
    /* raw bytes, cut wherever the arrays end: the drawing and the writer clean them */
    snprintf(m->title, sizeof m->title, "%s", s[0]);
    snprintf(m->subtitle, sizeof m->subtitle, "%s", s[1]);
    snprintf(m->legend_title, sizeof m->legend_title, "%s", s[2]);
    snprintf(m->legend_unit, sizeof m->legend_unit, "%s", s[3]);
    snprintf(m->source, sizeof m->source, "%s", s[4]);
    snprintf(m->crs_name, sizeof m->crs_name, "%s", s[5]);
    snprintf(m->rank_note, sizeof m->rank_note, "%s", s[2]);
    snprintf(m->desc, sizeof m->desc, "%s; %s; %s", s[1], s[6], s[7]);
    map_layout L;
    cr_map_layout(m, 200, &L);
    char path[4200];
    snprintf(path, sizeof path, "%s/map.svg", fz_dir());
    cr_status st = cr_map_render(ctx, m, &L, CR_MAP_SVG, path, "map.svg");
    FZ_CHECK(st == CR_OK, "the SVG map failed: %s", cr_ctx_error(ctx));
    int size = 0;
    char *text = read_file(path, &size);
    xmlDocPtr doc = parse_xml("the SVG map", text, size);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    FZ_CHECK(root && strcmp((const char *)root->name, "svg") == 0, "the SVG's root is not <svg>");
    char want[sizeof m->desc];
    xmlChar *title = element_text(root, "title"), *desc = element_text(root, "desc");
    cr_text_clean(want, sizeof want, m->title);
    FZ_CHECK(title && strcmp((const char *)title, want) == 0, "<title> reads '%s', not '%s'",
             title ? (const char *)title : "(none)", want);
    cr_text_clean(want, sizeof want, m->desc);
    FZ_CHECK(desc && strcmp((const char *)desc, want) == 0, "<desc> reads '%s', not '%s'",
             desc ? (const char *)desc : "(none)", want);
    xmlFree(title);
    xmlFree(desc);
    xmlFreeDoc(doc);
    free(text);
    free(m);
}

static void check_qml(cr_ctx *ctx, char **s)
{
    json_object *names = json_object_new_array();
    for (int i = 0; i < 5; i++)
        json_object_array_add(names, json_object_new_string(s[i]));
    GDALDatasetH ds = GDALOpen(raster, GA_Update);
    FZ_CHECK(ds, "cannot open '%s'", raster);
    GDALRasterBandH band = GDALGetRasterBand(ds, 2);
    GDALSetMetadataItem(band, "CLASS_BREAKS", "[2,3.5,5,6.5]", NULL);
    GDALSetMetadataItem(band, "CLASS_NAMES", json_object_to_json_string(names), NULL);
    GDALClose(ds);
    json_object_put(names);
    cr_qml_opts o;
    cr_qml_opts_init(&o);
    o.overwrite = 1;
    cr_qml_info info;
    cr_status st = cr_qml_write(ctx, raster, CR_QML_SCORE, &o, &info);
    FZ_CHECK(st == CR_OK, "the style failed: %s", cr_ctx_error(ctx));
    int size = 0;
    char *text = read_file(info.path, &size);
    xmlFreeDoc(parse_xml("the QGIS style", text, size));
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    cr_ctx *ctx = fz_ctx();
    int flags = data[0];
    char *all = fz_string(data + 1, size - 1); /* NUL after the last byte */
    char *s[STRINGS], *end = all + (size - 1);
    int n = 0;
    for (char *p = all; n < STRINGS && p <= end; p += strlen(p) + 1)
        s[n++] = p; /* the last ends at the NUL fz_string() adds */
    static char empty[] = "";
    for (int i = n; i < STRINGS; i++)
        s[i] = empty;
    for (int i = 0; i < n; i++)
        check_xml(s[i]);
    check_json(s, n);
    if (flags & FLAG_SVG)
        check_svg(ctx, s);
    if (flags & FLAG_QML)
        check_qml(ctx, s);
    free(all);
    return 0;
}
