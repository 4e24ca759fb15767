/* info.c: `cityrisk info FILE...`: describe inputs and how they overlap. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "cityrisk/info.h"
#include "cli.h"

static const cli_usage USAGE = {
    "info",
    "[--json] [--no-stats] [--src-crs CRS] FILE...",
    "Describe rasters (any GDAL format), vectors (any OGR format) and CSV point records\n"
    "(coordinate columns found by name -- lon/lat, longitude/latitude, x/y -- or by HXL\n"
    "tags #geo+lon/#geo+lat). Rasters: driver, size, bands, type, CRS and EPSG code,\n"
    "extent in the CRS and in lon/lat, resolution, nodata, min/max/mean of valid cells.\n"
    "Vectors: layers, geometry type, feature count, fields and types, CRS, extent.\n"
    "With several files: the share of each extent that overlaps the others, and the\n"
    "warnings to heed before an overlay (no CRS, geographic CRS, no nodata, no overlap).\n"
    "The text report goes to stdout; --json prints the same as JSON.",
    "  cityrisk info samples/data/dem.tif\n"
    "  cityrisk info --json samples/data/*.tif samples/data/arrivals.csv | jq '.warnings'",
};

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

static void print_crs_and_extent(json_object *o)
{
    json_object *crs = member(o, "crs"), *ext = member(o, "extent"), *ll = member(o, "extent_lonlat");
    if (crs) {
        json_object *epsg = member(crs, "epsg");
        printf("  CRS: %s", text(crs, "name"));
        if (epsg)
            printf(" (EPSG:%d)", json_object_get_int(epsg));
        printf(", %s%s\n", text(crs, "units"),
               json_object_get_boolean(member(o, "crs_assumed")) ? " (assumed)" : "");
    } else {
        printf("  CRS: none\n");
    }
    if (ext)
        printf("  Extent: %s\n", json_object_to_json_string_ext(ext, JSON_C_TO_STRING_SPACED));
    if (ll)
        printf("  Extent (lon/lat): %s\n", json_object_to_json_string_ext(ll, JSON_C_TO_STRING_SPACED));
}

static void print_raster(json_object *in)
{
    json_object *size = member(in, "size"), *res = member(in, "resolution"),
                *bands = member(in, "bands");
    size_t nbands = json_object_array_length(bands);
    printf("%s: raster (%s), %d x %d cells, %zu band%s\n", text(in, "file"), text(in, "driver"),
           json_object_get_int(json_object_array_get_idx(size, 0)),
           json_object_get_int(json_object_array_get_idx(size, 1)), nbands, nbands == 1 ? "" : "s");
    print_crs_and_extent(in);
    if (res)
        printf("  Resolution: %s x %s\n", json_object_get_string(json_object_array_get_idx(res, 0)),
               json_object_get_string(json_object_array_get_idx(res, 1)));
    for (size_t i = 0; i < nbands; i++) {
        json_object *b = json_object_array_get_idx(bands, i);
        const char *desc = text(b, "description"), *unit = text(b, "unit");
        printf("  Band %d %s%s%s%s%s%s: nodata %s", (int)number(b, "band"), text(b, "type"),
               *desc ? " \"" : "", desc, *desc ? "\"" : "", *unit ? ", unit " : "", unit,
               value_or_dash(b, "nodata"));
        if (member(b, "valid_cells"))
            printf(", min %s, max %s, mean %s (%s valid cells)", value_or_dash(b, "min"),
                   value_or_dash(b, "max"), value_or_dash(b, "mean"), text(b, "valid_cells"));
        printf("\n");
    }
}

static void print_fields(json_object *fields)
{
    printf("  Fields:");
    for (size_t i = 0; i < json_object_array_length(fields); i++) {
        json_object *f = json_object_array_get_idx(fields, i);
        const char *hxl = text(f, "hxl");
        printf("%s %s (%s%s%s)", i ? "," : "", text(f, "name"), text(f, "type"), *hxl ? " " : "",
               hxl);
    }
    printf("\n");
}

static void print_vector(json_object *in)
{
    json_object *layers = member(in, "layers");
    const char *delim = member(in, "delimiter") ? text(in, "delimiter") : NULL;
    printf("%s: vector (%s%s%s%s), %zu layer%s\n", text(in, "file"), text(in, "driver"),
           delim ? ", delimiter '" : "", delim ? (strcmp(delim, "\t") ? delim : "\\t") : "",
           delim ? "'" : "", json_object_array_length(layers),
           json_object_array_length(layers) == 1 ? "" : "s");
    for (size_t i = 0; i < json_object_array_length(layers); i++) {
        json_object *l = json_object_array_get_idx(layers, i), *c = member(l, "coordinates");
        printf("  Layer '%s': %s, %s features\n", text(l, "name"), text(l, "geometry_type"),
               text(l, "feature_count"));
        if (c)
            printf("  Coordinates: x = %s, y = %s%s\n", text(c, "x"), text(c, "y"),
                   json_object_get_boolean(member(c, "hxl")) ? " (found by HXL tags)" : "");
        print_fields(member(l, "fields"));
        print_crs_and_extent(l);
    }
}

static void print_report(json_object *report)
{
    json_object *inputs = member(report, "inputs");
    for (size_t i = 0; i < json_object_array_length(inputs); i++) {
        json_object *in = json_object_array_get_idx(inputs, i);
        if (i)
            printf("\n");
        if (strcmp(text(in, "kind"), "raster") == 0)
            print_raster(in);
        else
            print_vector(in);
        if (member(in, "overlap_with_others"))
            printf("  Overlaps the other inputs: %.1f %% of its extent\n",
                   100.0 * number(in, "overlap_with_others"));
    }
    json_object *pairs = member(report, "overlaps"), *warnings = member(report, "warnings");
    if (json_object_array_length(pairs) > 0)
        printf("\nOverlaps (share of each extent, in lon/lat):\n");
    for (size_t i = 0; i < json_object_array_length(pairs); i++) {
        json_object *p = json_object_array_get_idx(pairs, i);
        printf("  %s ~ %s: %.1f %% of the first, %.1f %% of the second\n", text(p, "a"),
               text(p, "b"), 100.0 * number(p, "share_of_a"), 100.0 * number(p, "share_of_b"));
    }
    if (json_object_array_length(warnings) > 0)
        printf("\nWarnings:\n");
    for (size_t i = 0; i < json_object_array_length(warnings); i++)
        printf("  %s\n", text(json_object_array_get_idx(warnings, i), "message"));
}

int cli_cmd_info(int argc, char **argv)
{
    int json = 0, no_stats = 0;
    const char *src_crs = NULL;
    const cli_option options[] = {
        {NULL, "--json", CLI_OPT_FLAG, &json, NULL, "print the report as JSON"},
        {NULL, "--no-stats", CLI_OPT_FLAG, &no_stats, NULL,
         "skip band min/max/mean (which read every cell)"},
        {NULL, "--src-crs", CLI_OPT_STRING, &src_crs, "CRS",
         "CRS of CSV coordinates (default EPSG:4326)"},
        {NULL, NULL, CLI_OPT_END, NULL, NULL, NULL},
    };
    cli_common common;
    char **files = NULL;
    int nfiles = 0;
    int parsed = cli_parse(&USAGE, options, argc, argv, &common, &files, &nfiles);
    if (parsed != 0) {
        free(files);
        return parsed > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    if (nfiles == 0) {
        free(files);
        return cli_usage_error(&USAGE, "no input files given");
    }
    cr_ctx *ctx = cli_context(&USAGE, &common, argc, argv);
    if (!ctx) {
        free(files);
        return CLI_EXIT_FAILURE;
    }
    cr_info_opts opts;
    cr_info_opts_init(&opts);
    opts.stats = !no_stats;
    if (src_crs)
        opts.csv_crs = src_crs;
    json_object *report = NULL;
    cr_status st = cr_info(ctx, (const char *const *)files, nfiles, &opts, &report);
    int rc;
    if (st != CR_OK) {
        rc = cli_fail(&USAGE, ctx, st);
    } else if (json) {
        rc = cli_print_json(&USAGE, report);
    } else {
        print_report(report);
        rc = cli_finish_stdout(&USAGE);
    }
    json_object_put(report);
    cr_ctx_free(ctx);
    free(files);
    return rc;
}
