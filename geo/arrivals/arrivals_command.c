/* arrivals_command.c: `cityrisk arrivals` in the command table: its arguments, the rules
 * between them, and its summary as JSON and as text. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <ogr_api.h>

#include "cityrisk/arrivals.h"
#include "cityrisk/command.h"
#include "cityrisk/json.h"
#include "cityrisk/number.h"
#include "core/budget.h"
#include "core/internal.h"

/* A kernel, and whether --kernel named it (--bandwidth alone means quartic). */
typedef struct kernel_choice {
    cr_kernel kernel;
    int given;
} kernel_choice;

/* The options of the command: the library's, and what the command line says otherwise. */
typedef struct arrivals_args {
    cr_command_base base;
    cr_arrivals_opts o;
    const char *points;
    double bandwidth;     /* NaN when not given */
    kernel_choice kernel;
    cr_arrivals_summary s; /* what the run found */
} arrivals_args;

static void init(void *opts)
{
    arrivals_args *a = opts;
    cr_arrivals_opts_init(&a->o);
    a->bandwidth = NAN;
}

static void clear(void *opts)
{
    cr_arrivals_summary_clear(&((arrivals_args *)opts)->s);
}

static cr_status parse_kernel(cr_ctx *ctx, const char *text, void *dest)
{
    kernel_choice *k = dest;
    k->given = 1;
    return cr_kernel_parse(ctx, text, &k->kernel);
}

static const cr_arg ARGS[] = {
    CR_OPT_INPUT("points", arrivals_args, points, "FILE", "arrival records: CSV or any OGR point layer"),
    CR_OPT_INPUT("areas", arrivals_args, o.areas_path, "FILE",
                 "counts by area instead: polygons with --count-field, or joined to --table"),
    CR_OPT_STRING("area-key", NULL, arrivals_args, o.area_key, "FIELD",
                  "the areas' code field that --table-key matches (e.g. ADM2_PCODE)"),
    CR_OPT_INPUT("table", arrivals_args, o.table_path, "CSV", "counts per area code (HXL tags allowed)"),
    CR_OPT_STRING("table-key", NULL, arrivals_args, o.table_key, "COLUMN",
                  "the table's code column, name or HXL tag (e.g. #adm2+code)"),
    CR_OPT_INPUT("weight", arrivals_args, o.weight_path, "RASTER",
                 "spread each area's count in proportion to this raster (population, as counts)"),
    CR_OPT__OUTPUT("output COG"),
    CR_OPT_STRING("layer", NULL, arrivals_args, o.layer, "NAME", "layer of a multi-layer source"),
    CR_OPT_STRING("x-field", NULL, arrivals_args, o.x_field, "NAME", "x / longitude column (default: detected)"),
    CR_OPT_STRING("y-field", NULL, arrivals_args, o.y_field, "NAME", "y / latitude column (default: detected)"),
    CR_OPT_STRING("src-crs", NULL, arrivals_args, o.src_crs, "CRS",
                  "CRS of the records (default: the layer's; CSV EPSG:4326)"),
    CR_OPT_STRING("count-field", NULL, arrivals_args, o.count_field, "NAME", "arrivals per record (default: 1 each)"),
    CR_OPT_STRING("date-field", NULL, arrivals_args, o.date_field, "NAME", "ISO 8601 date of each record"),
    CR_OPT_STRING("from", NULL, arrivals_args, o.from, "DATE", "keep records dated on or after DATE"),
    CR_OPT_STRING("to", NULL, arrivals_args, o.to, "DATE", "keep records dated on or before DATE"),
    CR_OPT_STRING("where", NULL, arrivals_args, o.where, "EXPR", "keep records matching an OGR SQL filter"),
    CR_OPT__GRID("write on this raster's grid",
                 "grid extent in --crs (default: the records', grown by the bandwidth; the polygons' with --areas)"),
    CR_OPT_CHOICE_PARSED("kernel", NULL, arrivals_args, kernel, "NAME", cr_kernel_names, parse_kernel,
                         "none (default), quartic, epanechnikov, triweight, uniform, triangular, gaussian"),
    CR_OPT_DOUBLE("bandwidth", arrivals_args, bandwidth, "M",
                  "kernel radius in grid units (metres), at most the grid's shorter side"),
    CR_OPT_INPUT("mask", arrivals_args, o.mask_path, "FILE",
                 "keep kernels on allowed cells: a raster's valid non-zero cells, or polygons"),
    CR_OPT_STRING("mask-layer", NULL, arrivals_args, o.mask_layer, "NAME",
                  "layer of a multi-layer mask of polygons"),
    CR_OPT_FLAG("strict", arrivals_args, o.strict, "stop at the first bad record (exit 3)"),
    CR_OPT_OUTPUT_FILE("report", arrivals_args, o.report_path, "FILE", "write every rejected record to a CSV"),
    CR_OPT__TILE(arrivals_args, o.tile,
                 "write only tile I of N of the grid (512-cell blocks; --points only)",
                 "write only this window of the grid, in cells, on the 512-cell blocks"),
    CR_OPT__OVERWRITE,
    CR_OPT__CREATION_OPTION,
    CR_OPT__JSON,
    CR_OPT__QML,
    CR_OPT_END,
};

/* The kernel from --kernel and --bandwidth. */
static cr_status check_kernel(cr_ctx *ctx, arrivals_args *a)
{
    cr_arrivals_opts *o = &a->o;
    double bandwidth = a->bandwidth;
    o->kernel = a->kernel.given ? a->kernel.kernel : !isnan(bandwidth) ? CR_KERNEL_QUARTIC : CR_KERNEL_NONE;
    if (o->kernel == CR_KERNEL_NONE && !isnan(bandwidth))
        return cr_ctx_fail(ctx, CR_E_USAGE, "--bandwidth has no effect with --kernel none; choose a kernel");
    if (o->kernel != CR_KERNEL_NONE && !(bandwidth > 0 && isfinite(bandwidth)))
        return cr_ctx_fail(ctx, CR_E_USAGE, "--kernel %s needs a positive --bandwidth in grid units (metres)",
                           cr_kernel_name(o->kernel));
    o->bandwidth = o->kernel != CR_KERNEL_NONE ? bandwidth : 0;
    return CR_OK;
}

static cr_status check(cr_ctx *ctx, void *opts)
{
    arrivals_args *a = opts;
    cr_arrivals_opts *o = &a->o;
    if ((!a->points == !o->areas_path) || !a->base.output)
        return cr_ctx_fail(ctx, CR_E_USAGE, "give -o and either --points or --areas");
    if (!o->areas_path && (o->table_path || o->area_key || o->table_key || o->weight_path))
        return cr_ctx_fail(ctx, CR_E_USAGE, "--table, --area-key, --table-key and --weight need --areas");
    /* The rules between the grid options are the parser's (cr_grid_spec_check()); records
     * and areas have no grid of their own, so one must be given. */
    const cr_grid_spec *g = &a->base.grid;
    if (!g->ref && !g->crs)
        return cr_ctx_fail(ctx, CR_E_USAGE, "give --grid, or --resolution and --crs (and optionally --bounds)");
    o->grid_path = g->ref;
    o->crs = g->crs;
    o->resolution = g->resolution;
    o->has_bounds = g->has_bounds;
    o->bounds = g->bounds;
    return check_kernel(ctx, a);
}

/* What arrivals holds per record it reads (geo/arrivals/arrivals.c): the point as read
 * (x, y, count, id: 32 bytes), then in cell coordinates (24) with its kernel's weight sum
 * (8), both at once while it buckets them by tile. */
#define BYTES_PER_RECORD 64

/* The most records path can hold, without reading them: the lines of a CSV file (a
 * memchr() pass, about 0.1 s for 1 M records), the features of an OGR layer (its count,
 * which GeoPackage and shapefiles store). -1 when unknown. */
static int64_t records_at_most(const char *path, const char *layer_name)
{
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/') && (EQUAL(dot, ".csv") || EQUAL(dot, ".tsv"))) {
        enum { CHUNK = 1 << 16 };
        VSILFILE *f = VSIFOpenL(path, "rb");
        char *buf = malloc(CHUNK); /* not static: run -j N reads in several threads */
        int64_t lines = 0;
        size_t n;
        char last = '\n';
        while (f && buf && (n = VSIFReadL(buf, 1, CHUNK, f)) > 0) {
            for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + n - p))) != NULL; p++)
                lines++;
            last = buf[n - 1];
        }
        int ok = f && buf;
        free(buf);
        if (f)
            VSIFCloseL(f);
        return ok ? lines + (last != '\n') : -1; /* a last line without its newline */
    }
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    if (!ds)
        return -1;
    OGRLayerH layer = layer_name ? GDALDatasetGetLayerByName(ds, layer_name) : GDALDatasetGetLayer(ds, 0);
    int64_t count = layer ? (int64_t)OGR_L_GetFeatureCount(layer, 1) : -1;
    GDALClose(ds);
    return count;
}

/* Refuses records that could not all be held within the budget, before any is read.
 * The count is only a ceiling: --from, --to and --where filter while reading, so with any
 * of them given the unfiltered count says nothing and nothing is refused here. */
static cr_status check_records_fit(cr_ctx *ctx, const arrivals_args *a)
{
    if (!cr_budget_peekable(a->points) || a->o.from || a->o.to || a->o.where)
        return CR_OK;
    cr_gdal_begin(ctx); /* a file the library then fails to open is its to report */
    int64_t records = records_at_most(a->points, a->o.layer);
    cr_gdal_end(ctx);
    if (records <= 0)
        return CR_OK;
    char what[256];
    snprintf(what, sizeof what, "the up to %" PRId64 " records of %s", records, a->points);
    return cr_budget_check(ctx, (double)records * BYTES_PER_RECORD, what,
                           "fewer records, or --from, --to or --where to keep only some");
}

static cr_status run(cr_ctx *ctx, void *opts, const cr_command_call *call, cr_command_result *result)
{
    (void)call, (void)result;
    arrivals_args *a = opts;
    cr_status st = check_records_fit(ctx, a);
    if (st != CR_OK)
        return st;
    a->o.overwrite = a->base.overwrite;
    a->o.creation_options = a->base.creation_options;
    a->o.styles = a->base.styles;
    return cr_arrivals(ctx, a->points, a->base.output, &a->o, &a->s);
}

static cr_qml_style style(const void *opts, cr_qml_opts *qml)
{
    (void)opts, (void)qml;
    return CR_QML_ARRIVALS;
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
    json_object_object_add(doc, "points", points ? json_object_new_string(points) : NULL);
    json_object *areas = NULL;
    if (o->areas_path) {
        areas = json_object_new_object();
        json_object_object_add(areas, "file", json_object_new_string(o->areas_path));
        json_object_object_add(areas, "table", o->table_path ? json_object_new_string(o->table_path) : NULL);
        json_object_object_add(areas, "weight", o->weight_path ? json_object_new_string(o->weight_path) : NULL);
        json_object_object_add(areas, "with_count", json_object_new_int64(s->areas));
        json_object_object_add(areas, "zero_weight", json_object_new_int64(s->areas_zero_weight));
        json_object_object_add(areas, "duplicate_features", json_object_new_int64(s->areas_duplicate));
    }
    json_object_object_add(doc, "areas", areas);
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
    json_object *far = json_object_new_object(), *far_ids = json_object_new_array();
    for (int i = 0; i < CR_ARRIVALS_FIRST_IDS && s->far_ids[i] >= 0; i++)
        json_object_array_add(far_ids, json_object_new_int64(s->far_ids[i]));
    json_object_object_add(far, "count", json_object_new_int64(s->records_far));
    json_object_object_add(far, "first", far_ids);
    json_object_object_add(far, "arrivals", cr_json_number(s->arrivals_far, 15));
    json_object_object_add(doc, "records_far_outside", far);
    json_object_object_add(doc, "arrivals_total", cr_json_number(s->arrivals_total, 15));
    json_object_object_add(doc, "arrivals_in_grid", cr_json_number(s->arrivals_in_grid, 15));
    json_object_object_add(doc, "arrivals_outside_grid", cr_json_number(s->arrivals_outside_grid, 15));
    json_object_object_add(doc, "kernel", json_object_new_string(cr_kernel_name(o->kernel)));
    json_object_object_add(doc, "bandwidth",
                           o->kernel != CR_KERNEL_NONE ? cr_json_number(o->bandwidth, 12) : NULL);
    json_object_object_add(doc, "kernel_mass_outside", cr_json_number(s->kernel_mass_outside, 12));
    json_object_object_add(doc, "mask", o->mask_path ? json_object_new_string(o->mask_path) : NULL);
    json_object_object_add(doc, "kernel_mass_masked", cr_json_number(s->kernel_mass_masked, 12));
    json_object_object_add(doc, "raster_sum", cr_json_number(s->raster_sum, 15));
    cr_json_add_tile(doc, &o->tile, &s->window); /* raster_sum and grid are the window's */
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

static void summary_text(FILE *out, const cr_arrivals_opts *o, const cr_arrivals_summary *s)
{
    fprintf(out,
            "%" PRId64 " record%s read, %" PRId64 " accepted, %" PRId64 " rejected, %" PRId64
            " outside the date window, %" PRId64 " left out by --where\n",
            s->records_read, s->records_read == 1 ? "" : "s", s->records_accepted,
            s->records_rejected, s->excluded_by_date, s->excluded_by_where);
    fprintf(out, "%.10g arrivals inside the %dx%d grid, %.10g in %" PRId64 " records outside it\n",
            s->arrivals_in_grid, s->full_width, s->full_height, s->arrivals_outside_grid,
            s->records_outside_grid);
    if (cr_tile_given(&o->tile))
        fprintf(out, "window %d,%d,%d,%d written: %.10g arrivals in its cells\n", s->window.x,
                s->window.y, s->window.w, s->window.h, s->raster_sum);
    if (o->areas_path)
        fprintf(out, "%" PRId64 " areas with a count; %" PRId64 " spread by area share for want of "
                "weight; %" PRId64 " features sharing a code\n", s->areas, s->areas_zero_weight,
                s->areas_duplicate);
    if (s->records_far)
        fprintf(out, "%" PRId64 " of them far outside the others, left out of the grid's extent\n",
                s->records_far);
    if (o->kernel != CR_KERNEL_NONE)
        fprintf(out,
                "%s kernel, bandwidth %g: %.6g arrivals of kernel mass reached beyond the grid edge "
                "and were renormalised onto it\n",
                cr_kernel_name(o->kernel), o->bandwidth, s->kernel_mass_outside);
    if (o->mask_path)
        fprintf(out,
                "--mask: %.6g arrivals of kernel mass fell on refused cells and were renormalised "
                "onto allowed ones; %" PRId64 " records had no allowed cell within reach\n",
                s->kernel_mass_masked, s->rejected[CR_REJECT_NO_ALLOWED_CELL]);
}

static void summarise(const void *opts, FILE *text, cr_command_result *result)
{
    const arrivals_args *a = opts;
    if (a->base.json)
        result->json = summary_json(a->points, a->base.output, &a->o, &a->s);
    else
        summary_text(text, &a->o, &a->s);
}

const cr_command cr_arrivals_command = {
    .name = "arrivals",
    .summary = "arrival records to arrivals per grid cell, counts or kernel density",
    .synopsis = "--points FILE -o OUT.tif (--grid REF | --resolution M --crs CRS [--bounds XMIN,YMIN,XMAX,YMAX])\n"
                "       [--kernel NAME --bandwidth M] [options]\n"
                "       --areas POLYGONS (--count-field F | --area-key K --table CSV --table-key T --count-field F)\n"
                "       [--weight RASTER] -o OUT.tif (--grid REF | --resolution M --crs CRS [--bounds ...])",
    .description =
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
        "--mask keeps the kernels on the cells a raster allows (valid, non-zero) or polygons\n"
        "cover: each record's weights are renormalised over its allowed cells, and a record\n"
        "with no allowed cell within the bandwidth is rejected (no_allowed_cell).\n"
        "--areas takes counts per area instead of records: polygons carrying a count\n"
        "(--count-field), or a table of counts per code (--table, --table-key; HXL tags allowed)\n"
        "joined to the polygons' --area-key. Each area's count is spread over its cells by\n"
        "exact area share, or in proportion to --weight (a population raster, any CRS, read\n"
        "as counts); rows matching no polygon or an area already matched are rejected and\n"
        "reported. An area partly beyond the grid puts on it the share of its count that its\n"
        "area inside has; the rest counts outside the grid.\n"
        "Output: Float32 COG, arrivals per cell. Memory: about 56 bytes per record and a\n"
        "few tiles per thread, whatever the grid's size. Details: docs/arrivals.md.",
    .examples =
        "  cityrisk arrivals --points samples/data/arrivals.csv --count-field arrivals \\\n"
        "      --grid samples/data/dem.tif --kernel quartic --bandwidth 500 -o arrivals.tif\n"
        "  cityrisk arrivals --points sites.gpkg --layer camps --count-field households \\\n"
        "      --date-field reported --from 2024-01-01 --to 2024-06-30 \\\n"
        "      --resolution 100 --crs EPSG:32736 --report rejected.csv --json -o arrivals.tif\n"
        "  cityrisk arrivals --areas adm2.shp --area-key ADM2_PCODE --table dtm.csv \\\n"
        "      --table-key '#adm2+code' --count-field '#affected+idps' --weight worldpop.tif \\\n"
        "      --grid dem.tif -o arrivals.tif",
    .args = ARGS, .flags = CR_COMMAND_STAGE, .opts_size = sizeof(arrivals_args),
    .init = init, .clear = clear, .check = check, .run = run, .style = style, .summarise = summarise,
};
