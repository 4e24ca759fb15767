/* arrivals.c: `cityrisk arrivals`: arrival records to arrivals per grid cell. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>

#include "cityrisk/arrivals.h"
#include "cityrisk/json.h"
#include "cityrisk/number.h"
#include "cityrisk/qml.h"
#include "cli.h"

static const cli_usage USAGE = {
    "arrivals",
    "--points FILE -o OUT.tif (--grid REF | --resolution M --crs CRS [--bounds XMIN,YMIN,XMAX,YMAX])\n"
    "       [--kernel NAME --bandwidth M] [options]",
    "Arrivals per grid cell from migrant arrival records. FILE is a CSV with coordinate\n"
    "columns (found by name, e.g. longitude/latitude or x/y, or by HXL tags #geo+lon and\n"
    "#geo+lat; lon/lat in EPSG:4326 unless --src-crs) or any OGR point layer (GeoJSON,\n"
    "GeoPackage, Shapefile, ...) in its own CRS. Each record counts 1, or --count-field.\n"
    "Every record is checked: empty or non-numeric coordinates, latitude or longitude out\n"
    "of range, a count that is empty, non-numeric, negative, NaN, infinite or above 1e12,\n"
    "and a date that is not ISO 8601 are rejected with their line (CSV) or feature id.\n"
    "Numbers are decimal (12, -3.5, 1e3), never hexadecimal. By default each reason is\n"
    "reported once with its first lines and the run goes on; --strict stops at the first\n"
    "bad record (exit 3) and writes nothing; --report writes every rejected record with\n"
    "its reason. --from/--to keep the records dated inside the window (inclusive);\n"
    "--where keeps those matching an OGR SQL filter (for CSV: =, <>, <, <=, >, >=, LIKE,\n"
    "ILIKE, IN, BETWEEN, IS NULL, AND, OR, NOT).\n"
    "\n"
    "With --kernel none (the default) each record's count goes to the cell holding it.\n"
    "With a kernel (quartic, epanechnikov, triweight, uniform, triangular, gaussian;\n"
    "--bandwidth alone means quartic) it is spread over the cells whose centres lie\n"
    "within the bandwidth, in proportion to the kernel, and the weights are renormalised\n"
    "over the cells inside the grid so that each record adds exactly its count: the\n"
    "raster's sum is the arrivals inside the grid. The kernel mass that fell beyond the\n"
    "grid edge is reported, and records outside the grid are counted, not spread.\n"
    "Output: Float32 COG, arrivals per cell. Memory: about 48 bytes per record and a\n"
    "few tiles per thread, whatever the grid's size. Details: docs/arrivals.md.",
    "  cityrisk arrivals --points samples/data/arrivals.csv --count-field arrivals \\\n"
    "      --grid samples/data/dem.tif --kernel quartic --bandwidth 500 -o arrivals.tif\n"
    "  cityrisk arrivals --points sites.gpkg --layer camps --count-field households \\\n"
    "      --date-field reported --from 2024-01-01 --to 2024-06-30 \\\n"
    "      --resolution 100 --crs EPSG:32736 --report rejected.csv --json -o arrivals.tif",
};

/* Parses "xmin,ymin,xmax,ymax"; 0 on a usage error (printed). */
static int parse_bounds(const char *text, cr_bounds *b)
{
    double v[4];
    const char *p = text;
    for (int i = 0; i < 4; i++) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if ((i < 3) != (comma != NULL) || cr_number_parse(p, n, &v[i]) != CR_NUMBER_FINITE) {
            cli_usage_error(&USAGE, "--bounds wants xmin,ymin,xmax,ymax, not '%s'", text);
            return 0;
        }
        p += n + 1;
    }
    *b = (cr_bounds){v[0], v[1], v[2], v[3]};
    return 1;
}

static json_object *ids_json(const cr_arrivals_summary *s, int reason)
{
    json_object *a = json_object_new_array();
    for (int i = 0; i < CR_ARRIVALS_FIRST_IDS && s->first_ids[reason][i] >= 0; i++)
        json_object_array_add(a, json_object_new_int64(s->first_ids[reason][i]));
    return a;
}

static json_object *summary_json(const char *points, const char *out, const cr_arrivals_opts *o,
                                 const cr_arrivals_summary *s)
{
    json_object *doc = json_object_new_object(), *rejected = json_object_new_object();
    json_object_object_add(doc, "output", json_object_new_string(out));
    json_object_object_add(doc, "points", json_object_new_string(points));
    json_object_object_add(doc, "records_read", json_object_new_int64(s->records_read));
    json_object_object_add(doc, "records_accepted", json_object_new_int64(s->records_accepted));
    json_object_object_add(doc, "records_rejected", json_object_new_int64(s->records_rejected));
    json_object_object_add(doc, "id", json_object_new_string(s->ids_are_lines ? "line" : "feature"));
    for (int k = 0; k < CR_REJECT_REASONS; k++) {
        json_object *r = json_object_new_object();
        json_object_object_add(r, "count", json_object_new_int64(s->rejected[k]));
        json_object_object_add(r, "first", ids_json(s, k));
        json_object_object_add(rejected, cr_reject_reason_name((cr_reject_reason)k), r);
    }
    json_object_object_add(doc, "rejected", rejected);
    json_object_object_add(doc, "excluded_by_date", json_object_new_int64(s->excluded_by_date));
    json_object_object_add(doc, "excluded_by_where", json_object_new_int64(s->excluded_by_where));
    json_object_object_add(doc, "records_outside_grid", json_object_new_int64(s->records_outside_grid));
    json_object_object_add(doc, "arrivals_total", cr_json_number(s->arrivals_total, 15));
    json_object_object_add(doc, "arrivals_in_grid", cr_json_number(s->arrivals_in_grid, 15));
    json_object_object_add(doc, "arrivals_outside_grid", cr_json_number(s->arrivals_outside_grid, 15));
    json_object_object_add(doc, "kernel", json_object_new_string(cr_kernel_name(o->kernel)));
    json_object_object_add(doc, "bandwidth",
                           o->kernel != CR_KERNEL_NONE ? cr_json_number(o->bandwidth, 12) : NULL);
    json_object_object_add(doc, "kernel_mass_outside", cr_json_number(s->kernel_mass_outside, 12));
    json_object_object_add(doc, "raster_sum", cr_json_number(s->raster_sum, 15));
    json_object *dates = NULL;
    if (s->date_first[0]) {
        dates = json_object_new_object();
        json_object_object_add(dates, "first", json_object_new_string(s->date_first));
        json_object_object_add(dates, "last", json_object_new_string(s->date_last));
    }
    json_object_object_add(doc, "date_range", dates);
    json_object_object_add(doc, "grid", cr_grid_to_json(s->grid));
    return doc;
}

static void print_summary(const cr_arrivals_opts *o, const cr_arrivals_summary *s)
{
    fprintf(stderr,
            "cityrisk arrivals: %" PRId64 " records read, %" PRId64 " accepted, %" PRId64
            " rejected, %" PRId64 " outside the date window, %" PRId64 " left out by --where\n",
            s->records_read, s->records_accepted, s->records_rejected, s->excluded_by_date,
            s->excluded_by_where);
    fprintf(stderr,
            "cityrisk arrivals: %.10g arrivals inside the %dx%d grid, %.10g in %" PRId64
            " records outside it\n",
            s->arrivals_in_grid, s->grid->width, s->grid->height, s->arrivals_outside_grid,
            s->records_outside_grid);
    if (o->kernel != CR_KERNEL_NONE)
        fprintf(stderr,
                "cityrisk arrivals: %s kernel, bandwidth %g: %.6g arrivals of kernel mass reached "
                "beyond the grid edge and were renormalised onto it\n",
                cr_kernel_name(o->kernel), o->bandwidth, s->kernel_mass_outside);
}

/* Sets the kernel from --kernel and --bandwidth; 0 on a usage error (printed). */
static int parse_kernel(cr_ctx *ctx, const char *kernel, double bandwidth, cr_arrivals_opts *o)
{
    if (kernel && cr_kernel_parse(ctx, kernel, &o->kernel) != CR_OK) {
        cli_usage_error(&USAGE, "%s", cr_ctx_error(ctx));
        return 0;
    }
    if (!kernel && !isnan(bandwidth))
        o->kernel = CR_KERNEL_QUARTIC;
    if (o->kernel == CR_KERNEL_NONE && !isnan(bandwidth)) {
        cli_usage_error(&USAGE, "--bandwidth has no effect with --kernel none; choose a kernel");
        return 0;
    }
    if (o->kernel != CR_KERNEL_NONE && !(bandwidth > 0 && isfinite(bandwidth))) {
        cli_usage_error(&USAGE, "--kernel %s needs a positive --bandwidth in grid units (metres)",
                        cr_kernel_name(o->kernel));
        return 0;
    }
    o->bandwidth = o->kernel != CR_KERNEL_NONE ? bandwidth : 0;
    return 1;
}

int cli_cmd_arrivals(int argc, char **argv)
{
    cr_arrivals_opts o;
    cr_arrivals_opts_init(&o);
    const char *points = NULL, *out = NULL, *bounds = NULL, *kernel = NULL;
    int json = 0, qml = 0;
    double bandwidth = NAN, resolution = NAN;
    const cli_option options[] = {
        {NULL, "--points", CLI_OPT_STRING, &points, "FILE", "arrival records: CSV or any OGR point layer"},
        {"-o", "--output", CLI_OPT_STRING, &out, "FILE", "output COG"},
        {NULL, "--layer", CLI_OPT_STRING, &o.layer, "NAME", "layer of a multi-layer source"},
        {NULL, "--x-field", CLI_OPT_STRING, &o.x_field, "NAME", "x / longitude column (default: detected)"},
        {NULL, "--y-field", CLI_OPT_STRING, &o.y_field, "NAME", "y / latitude column (default: detected)"},
        {NULL, "--src-crs", CLI_OPT_STRING, &o.src_crs, "CRS", "CRS of the records (default: the layer's; CSV EPSG:4326)"},
        {NULL, "--count-field", CLI_OPT_STRING, &o.count_field, "NAME", "arrivals per record (default: 1 each)"},
        {NULL, "--date-field", CLI_OPT_STRING, &o.date_field, "NAME", "ISO 8601 date of each record"},
        {NULL, "--from", CLI_OPT_STRING, &o.from, "DATE", "keep records dated on or after DATE"},
        {NULL, "--to", CLI_OPT_STRING, &o.to, "DATE", "keep records dated on or before DATE"},
        {NULL, "--where", CLI_OPT_STRING, &o.where, "EXPR", "keep records matching an OGR SQL filter"},
        {NULL, "--grid", CLI_OPT_STRING, &o.grid_path, "REF", "write on this raster's grid"},
        {NULL, "--bounds", CLI_OPT_STRING, &bounds, "XMIN,YMIN,XMAX,YMAX", "grid extent in --crs (default: the records', grown by the bandwidth)"},
        {NULL, "--resolution", CLI_OPT_DOUBLE, &resolution, "M", "grid cell size in --crs units"},
        {NULL, "--crs", CLI_OPT_STRING, &o.crs, "CRS", "grid CRS, e.g. EPSG:32736"},
        {NULL, "--kernel", CLI_OPT_STRING, &kernel, "NAME", "none (default), quartic, epanechnikov, triweight, uniform, triangular, gaussian"},
        {NULL, "--bandwidth", CLI_OPT_DOUBLE, &bandwidth, "M", "kernel radius in grid units (metres), at most the grid's shorter side"},
        {NULL, "--strict", CLI_OPT_FLAG, &o.strict, NULL, "stop at the first bad record (exit 3)"},
        {NULL, "--report", CLI_OPT_STRING, &o.report_path, "FILE", "write every rejected record to a CSV"},
        {NULL, "--overwrite", CLI_OPT_FLAG, &o.overwrite, NULL, "replace existing outputs"},
        {"-co", "--creation-option", CLI_OPT_LIST, &o.creation_options, "NAME=VALUE", "COG creation option"},
        {NULL, "--json", CLI_OPT_FLAG, &json, NULL, "print a summary as JSON on stdout"},
        {NULL, "--qml", CLI_OPT_FLAG, &qml, NULL, "also write a QGIS style beside the output (NAME.qml)"},
        {NULL, NULL, CLI_OPT_END, NULL, NULL, NULL},
    };
    cli_common common;
    int rc = CLI_EXIT_USAGE;
    cr_ctx *ctx = NULL;
    char *style_path = NULL;
    cr_arrivals_summary s;
    memset(&s, 0, sizeof s);
    int parsed = cli_parse_options(&USAGE, options, argc, argv, &common);
    if (parsed >= 0) {
        rc = parsed;
        goto out;
    }
    if (!points || !out) {
        cli_usage_error(&USAGE, "--points and -o are required");
        goto out;
    }
    if (o.grid_path && (!isnan(resolution) || o.crs || bounds)) {
        cli_usage_error(&USAGE, "--grid takes the grid from a raster: leave out --resolution, --crs and --bounds");
        goto out;
    }
    if (!o.grid_path && (isnan(resolution) || !o.crs)) {
        cli_usage_error(&USAGE, "give --grid, or --resolution and --crs (and optionally --bounds)");
        goto out;
    }
    if (bounds && !parse_bounds(bounds, &o.bounds))
        goto out;
    o.has_bounds = bounds != NULL;
    o.resolution = isnan(resolution) ? 0 : resolution;
    ctx = cli_context(&USAGE, &common, argc, argv);
    if (!ctx) {
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    if (!parse_kernel(ctx, kernel, bandwidth, &o))
        goto out;
    /* The style is checked with the output, against the inputs, before any work. */
    cr_status st = qml ? cr_qml_path(ctx, out, &style_path) : CR_OK;
    if (st != CR_OK) {
        rc = cli_fail(&USAGE, ctx, st);
        goto out;
    }
    const char *styles[] = {style_path, NULL};
    o.styles = styles;
    st = cr_arrivals(ctx, points, out, &o, &s);
    cr_qml_opts qo;
    cr_qml_opts_init(&qo);
    qo.overwrite = o.overwrite;
    cr_qml_info style;
    memset(&style, 0, sizeof style);
    if (st != CR_OK) {
        rc = cli_fail(&USAGE, ctx, st);
    } else if (qml && (st = cr_qml_write(ctx, out, CR_QML_ARRIVALS, &qo, &style)) != CR_OK) {
        cli_fail(&USAGE, ctx, st);
        rc = CLI_EXIT_FAILURE; /* the output is written; its style is not */
    } else if (json) {
        json_object *doc = summary_json(points, out, &o, &s);
        if (qml)
            json_object_object_add(doc, "qml", json_object_new_string(style.path));
        rc = cli_print_json(&USAGE, doc);
        json_object_put(doc);
    } else {
        if (!common.quiet)
            print_summary(&o, &s);
        if (qml && !common.quiet)
            fprintf(stderr, "cityrisk arrivals: QGIS style written to %s\n", style.path);
        rc = CLI_EXIT_OK;
    }
out:
    free(style_path);
    cr_arrivals_summary_clear(&s);
    cr_ctx_free(ctx);
    CSLDestroy(o.creation_options);
    return rc;
}
