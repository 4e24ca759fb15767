/* info_command.c: `cityrisk info` in the command table: its arguments, and its report as
 * JSON or as text. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include <cpl_string.h>

#include "cityrisk/command.h"
#include "cityrisk/info.h"

/* The options of the command. */
typedef struct info_args {
    cr_command_base base;
    char **files;         /* FILE... */
    int no_stats;
    const char *src_crs;
    json_object *report;  /* what cr_info() found */
} info_args;

static void clear(void *opts)
{
    json_object_put(((info_args *)opts)->report);
}

static const cr_arg ARGS[] = {
    CR_OPT__JSON_HELP("print the report as JSON"),
    CR_OPT_FLAG("no-stats", info_args, no_stats, "skip band min/max/mean (which read every cell)"),
    CR_OPT_STRING("src-crs", NULL, info_args, src_crs, "CRS", "CRS of CSV coordinates (default EPSG:4326)"),
    CR_OPT_ROW(CR_ARG_LIST, CR_ROLE_INPUT, CR_ARGF_POSITIONAL, "file", NULL, info_args, files, "FILE",
               "a raster, vector or CSV to describe", NULL, NULL),
    CR_OPT_END,
};

static cr_status check(cr_ctx *ctx, void *opts)
{
    if (CSLCount(((info_args *)opts)->files) == 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "no input files given");
    return CR_OK;
}

static cr_status run(cr_ctx *ctx, void *opts, const cr_command_call *call, cr_command_result *result)
{
    (void)call, (void)result;
    info_args *a = opts;
    cr_info_opts o;
    cr_info_opts_init(&o);
    o.stats = !a->no_stats;
    if (a->src_crs)
        o.csv_crs = a->src_crs;
    return cr_info(ctx, (const char *const *)a->files, CSLCount(a->files), &o, &a->report);
}

/* ---- the report as text, from its JSON ---- */

static double number(json_object *o, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, key, &v) && v ? json_object_get_double(v) : 0.0;
}

/* The member as text, "" when it is missing or null. */
static const char *text(json_object *o, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : "";
}

static json_object *member(json_object *o, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* "-" for null, else the number as JSON wrote it. */
static const char *value_or_dash(json_object *o, const char *key)
{
    const char *t = text(o, key);
    return *t ? t : "-";
}

static void print_crs_and_extent(FILE *out, json_object *o)
{
    json_object *crs = member(o, "crs"), *ext = member(o, "extent"), *ll = member(o, "extent_lonlat");
    if (crs) {
        json_object *epsg = member(crs, "epsg");
        fprintf(out, "  CRS: %s", text(crs, "name"));
        if (epsg)
            fprintf(out, " (EPSG:%d)", json_object_get_int(epsg));
        fprintf(out, ", %s%s\n", text(crs, "units"),
                json_object_get_boolean(member(o, "crs_assumed")) ? " (assumed)" : "");
    } else {
        fprintf(out, "  CRS: none\n");
    }
    if (ext)
        fprintf(out, "  Extent: %s\n", json_object_to_json_string_ext(ext, JSON_C_TO_STRING_SPACED));
    if (ll)
        fprintf(out, "  Extent (lon/lat): %s\n", json_object_to_json_string_ext(ll, JSON_C_TO_STRING_SPACED));
}

static void print_raster(FILE *out, json_object *in)
{
    json_object *size = member(in, "size"), *res = member(in, "resolution"),
                *bands = member(in, "bands");
    size_t nbands = json_object_array_length(bands);
    fprintf(out, "%s: raster (%s), %d x %d cells, %zu band%s\n", text(in, "file"), text(in, "driver"),
            json_object_get_int(json_object_array_get_idx(size, 0)),
            json_object_get_int(json_object_array_get_idx(size, 1)), nbands, nbands == 1 ? "" : "s");
    print_crs_and_extent(out, in);
    if (res)
        fprintf(out, "  Resolution: %s x %s\n", json_object_get_string(json_object_array_get_idx(res, 0)),
                json_object_get_string(json_object_array_get_idx(res, 1)));
    for (size_t i = 0; i < nbands; i++) {
        json_object *b = json_object_array_get_idx(bands, i);
        const char *desc = text(b, "description"), *unit = text(b, "unit");
        fprintf(out, "  Band %d %s%s%s%s%s%s: nodata %s", (int)number(b, "band"), text(b, "type"),
                *desc ? " \"" : "", desc, *desc ? "\"" : "", *unit ? ", unit " : "", unit,
                value_or_dash(b, "nodata"));
        if (member(b, "valid_cells"))
            fprintf(out, ", min %s, max %s, mean %s (%s valid cells)", value_or_dash(b, "min"),
                    value_or_dash(b, "max"), value_or_dash(b, "mean"), text(b, "valid_cells"));
        fputc('\n', out);
    }
}

static void print_fields(FILE *out, json_object *fields)
{
    fprintf(out, "  Fields:");
    for (size_t i = 0; i < json_object_array_length(fields); i++) {
        json_object *f = json_object_array_get_idx(fields, i);
        const char *hxl = text(f, "hxl");
        fprintf(out, "%s %s (%s%s%s)", i ? "," : "", text(f, "name"), text(f, "type"), *hxl ? " " : "",
                hxl);
    }
    fputc('\n', out);
}

static void print_vector(FILE *out, json_object *in)
{
    json_object *layers = member(in, "layers");
    const char *delim = member(in, "delimiter") ? text(in, "delimiter") : NULL;
    fprintf(out, "%s: vector (%s%s%s%s), %zu layer%s\n", text(in, "file"), text(in, "driver"),
            delim ? ", delimiter '" : "", delim ? (strcmp(delim, "\t") ? delim : "\\t") : "",
            delim ? "'" : "", json_object_array_length(layers),
            json_object_array_length(layers) == 1 ? "" : "s");
    for (size_t i = 0; i < json_object_array_length(layers); i++) {
        json_object *l = json_object_array_get_idx(layers, i), *c = member(l, "coordinates");
        fprintf(out, "  Layer '%s': %s, %s features\n", text(l, "name"), text(l, "geometry_type"),
                text(l, "feature_count"));
        if (c)
            fprintf(out, "  Coordinates: x = %s, y = %s%s\n", text(c, "x"), text(c, "y"),
                    json_object_get_boolean(member(c, "hxl")) ? " (found by HXL tags)" : "");
        print_fields(out, member(l, "fields"));
        print_crs_and_extent(out, l);
    }
}

static void print_report(FILE *out, json_object *report)
{
    json_object *inputs = member(report, "inputs");
    for (size_t i = 0; i < json_object_array_length(inputs); i++) {
        json_object *in = json_object_array_get_idx(inputs, i);
        if (i)
            fputc('\n', out);
        if (strcmp(text(in, "kind"), "raster") == 0)
            print_raster(out, in);
        else
            print_vector(out, in);
        if (member(in, "overlap_with_others"))
            fprintf(out, "  Overlaps the other inputs: %.1f %% of its extent\n",
                    100.0 * number(in, "overlap_with_others"));
    }
    json_object *pairs = member(report, "overlaps"), *warnings = member(report, "warnings");
    if (json_object_array_length(pairs) > 0)
        fprintf(out, "\nOverlaps (share of each extent, in lon/lat):\n");
    for (size_t i = 0; i < json_object_array_length(pairs); i++) {
        json_object *p = json_object_array_get_idx(pairs, i);
        fprintf(out, "  %s ~ %s: %.1f %% of the first, %.1f %% of the second\n", text(p, "a"),
                text(p, "b"), 100.0 * number(p, "share_of_a"), 100.0 * number(p, "share_of_b"));
    }
    if (json_object_array_length(warnings) > 0)
        fprintf(out, "\nWarnings:\n");
    for (size_t i = 0; i < json_object_array_length(warnings); i++)
        fprintf(out, "  %s\n", text(json_object_array_get_idx(warnings, i), "message"));
}

static void summarise(const void *opts, FILE *out, cr_command_result *result)
{
    const info_args *a = opts;
    result->is_report = 1;
    if (a->base.json)
        result->json = json_object_get(a->report);
    else
        print_report(out, a->report);
}

const cr_command cr_info_command = {
    .name = "info",
    .summary = "describe rasters, vectors and CSV records, and how they overlap",
    .synopsis = "[--json] [--no-stats] [--src-crs CRS] FILE...",
    .description =
        "Describe rasters (any GDAL format), vectors (any OGR format) and CSV point records\n"
        "(coordinate columns found by name -- lon/lat, longitude/latitude, x/y -- or by HXL\n"
        "tags #geo+lon/#geo+lat). Rasters: driver, size, bands, type, CRS and EPSG code,\n"
        "extent in the CRS and in lon/lat, resolution, nodata, min/max/mean of valid cells.\n"
        "Vectors: layers, geometry type, feature count, fields and types, CRS, extent.\n"
        "With several files: the share of each extent that overlaps the others, and the\n"
        "warnings to heed before an overlay (no CRS, geographic CRS, no nodata, no overlap).\n"
        "The text report goes to stdout; --json prints the same as JSON.",
    .examples = "  cityrisk info samples/data/dem.tif\n"
                "  cityrisk info --json samples/data/*.tif samples/data/arrivals.csv | jq '.warnings'",
    .args = ARGS, .opts_size = sizeof(info_args),
    .clear = clear, .check = check, .run = run, .summarise = summarise,
};
