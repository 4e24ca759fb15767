/* zonal_command.c: `cityrisk zonal` in the command table: its arguments, the rules between
 * them, its QGIS style and its summary as JSON and as text. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cpl_string.h>
#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "cityrisk/command.h"
#include "cityrisk/json.h"
#include "cityrisk/zonal.h"
#include "core/budget.h"
#include "core/inputs.h"
#include "core/internal.h"
#include "core/polygons.h"

/* Classes of score_mean, and whether --classes gave them. */
typedef struct classes_choice {
    cr_class_spec spec;
    int given;
} classes_choice;

/* The statistics of -r rasters. */
typedef struct stats_choice {
    cr_stat *list; /* free() */
    int count;
} stats_choice;

/* The options of the command: the library's, and what the command line says otherwise. */
typedef struct zonal_args {
    cr_command_base base;
    cr_zonal_opts o;
    char **rasters;          /* -r NAME=FILE[:BAND], as written */
    char **counts;           /* --counts NAME[,NAME...], as written */
    stats_choice stats;
    classes_choice classes;
    cr_zonal_raster *list;   /* the -r rasters parsed */
    char **storage;          /* their texts, NULL-terminated */
    cr_zonal_summary s;      /* what the run found */
    int merge;               /* --merge: the zones from the part files */
    char **parts;            /* PART...: the part files to merge */
} zonal_args;

static void init(void *opts)
{
    cr_zonal_opts_init(&((zonal_args *)opts)->o);
}

static void clear(void *opts)
{
    zonal_args *a = opts;
    cr_zonal_summary_clear(&a->s);
    free(a->stats.list);
    for (char **p = a->storage; p && *p; p++)
        free(*p);
    free(a->storage);
    free(a->list);
}

static cr_status parse_stats(cr_ctx *ctx, const char *text, void *dest)
{
    stats_choice *s = dest;
    free(s->list);
    s->list = NULL;
    return cr_stats_parse(ctx, text, &s->list, &s->count);
}

static cr_status parse_classes(cr_ctx *ctx, const char *text, void *dest)
{
    classes_choice *c = dest;
    c->given = 1;
    return cr_classes_parse(ctx, text, &c->spec);
}

static const cr_arg ARGS[] = {
    CR_OPT_INPUT("zones", zonal_args, o.zones_path, "FILE", "neighbourhood polygons (any OGR format, any CRS)"),
    CR_OPT_STRING("layer", NULL, zonal_args, o.layer, "NAME", "the zones' layer (default: the first)"),
    CR_OPT_STRING("id-field", NULL, zonal_args, o.id_field, "FIELD", "names zones in messages"),
    CR_OPT_STRING("name-field", NULL, zonal_args, o.name_field, "FIELD", "names zones in messages"),
    CR_OPT_INPUT("exposure", zonal_args, o.exposure_path, "FILE", "cityrisk score output: score_* properties"),
    CR_OPT_INPUT("arrivals", zonal_args, o.arrivals_path, "FILE", "arrivals per cell (cityrisk arrivals)"),
    CR_OPT_INPUT("sea", zonal_args, o.sea_path, "FILE", "inundation depth (m); each band a scenario"),
    CR_INPUT_POLYGON_ARGS(zonal_args, "field of water polygons (default bws_score)"),
    CR_OPT_INPUT("population", zonal_args, o.population_path, "FILE", "residents per cell: water_uplift_mean"),
    CR_OPT_DOUBLE("demand-share", zonal_args, o.demand_share, "S", "share of water demand growing with residents (1)"),
    CR_OPT_ROW(CR_ARG_LIST, CR_ROLE_INPUT, CR_ARGF_NAMED_FILE, "raster", "r", zonal_args, rasters,
               "NAME=FILE[:BAND]", "another raster, repeatable: NAME_STAT columns", NULL, NULL),
    CR_OPT_LIST("counts", NULL, zonal_args, counts, "NAME[,NAME...]",
                "-r rasters of counts per cell (people): sum resampling keeps their total"),
    CR_OPT_PARSED("stats", zonal_args, stats, "LIST", parse_stats, "statistics of -r rasters (count,sum,mean)"),
    CR_OPT_PARSED("classes", zonal_args, classes, "SPEC", parse_classes,
                  "classes of score_mean (default: the exposure's)"),
    CR_OPT_DOUBLE("min-coverage", zonal_args, o.min_coverage, "SHARE",
                  "data coverage of its land a zone needs for a class and rank (0.5)"),
    CR_OPT__GRID("read every layer onto this raster's grid (default: the first raster's)",
                 "grid extent in --crs (default: the first raster's as gdalwarp has it, else "
                 "the zones')"),
    CR_OPT__TILE(zonal_args, o.tile,
                 "only tile I of N of the grid (include/cityrisk/tile.h), with --partial",
                 "only this window of the grid's cells (512-cell blocks), with --partial"),
    CR_OPT_FLAG("partial", zonal_args, o.partial,
                "write the part's partial statistics to -o (a part file for --merge)"),
    CR_OPT_FLAG("merge", zonal_args, merge, "write the zones from the part files PART..."),
    CR_OPT_ROW(CR_ARG_LIST, CR_ROLE_INPUT, CR_ARGF_POSITIONAL, "part", NULL, zonal_args, parts,
               "PART", "with --merge: the part files of every tile of one run", NULL, NULL),
    CR_OPT__OUTPUT("output vector, or - for GeoJSON on stdout"),
    CR_OPT_STRING("format", "of", zonal_args, o.format, "FORMAT", "OGR driver (default GeoJSON)"),
    CR_OPT_LIST("layer-creation-option", "lco", zonal_args, o.layer_options, "NAME=VALUE",
                "OGR layer creation option"),
    CR_OPT__OVERWRITE,
    CR_OPT__JSON,
    CR_OPT__QML,
    CR_OPT_END,
};

/* --counts NAME[,NAME...] (repeatable): the -r rasters so named hold counts per cell.
 * arrivals and population, counts always, are accepted as they are. */
static cr_status parse_counts(cr_ctx *ctx, zonal_args *a)
{
    for (char **c = a->counts; c && *c; c++) {
        char **names = CSLTokenizeString2(*c, ",", CSLT_STRIPLEADSPACES | CSLT_STRIPENDSPACES);
        cr_status st = CR_OK;
        for (char **name = names; st == CR_OK && name && *name; name++) {
            int found = strcmp(*name, "arrivals") == 0 || strcmp(*name, "population") == 0;
            for (int i = 0; i < a->o.nrasters; i++)
                if (strcmp(a->list[i].name, *name) == 0)
                    a->list[i].count = found = 1;
            if (!found)
                st = cr_ctx_fail(ctx, CR_E_USAGE, "--counts %s: no -r raster is named '%s'", *name,
                                 *name);
        }
        CSLDestroy(names);
        if (st != CR_OK)
            return st;
    }
    return CR_OK;
}

/* The -r rasters into the options. */
static cr_status parse_rasters(cr_ctx *ctx, zonal_args *a)
{
    int n = CSLCount(a->rasters);
    a->list = calloc((size_t)(n ? n : 1), sizeof *a->list);
    a->storage = calloc((size_t)n + 1, sizeof *a->storage);
    if (!a->list || !a->storage)
        return cr_ctx_fail(ctx, CR_E_USAGE, "out of memory");
    for (int i = 0; i < n; i++) {
        cr_status st = cr_zonal_raster_parse(ctx, a->rasters[i], &a->list[i], &a->storage[i]);
        if (st != CR_OK)
            return st;
    }
    a->o.rasters = a->list;
    a->o.nrasters = n;
    return parse_counts(ctx, a);
}

/* --merge takes the part files and the output's options; everything else comes from the
 * parts. */
static cr_status check_merge(cr_ctx *ctx, zonal_args *a)
{
    const cr_zonal_opts *o = &a->o;
    if (!a->parts)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--merge needs the part files: --merge PART... -o OUT");
    if (o->partial || cr_tile_given(&o->tile))
        return cr_ctx_fail(ctx, CR_E_USAGE, "--merge joins the parts: not with --partial, --tile or --window");
    if (o->zones_path || o->exposure_path || o->arrivals_path || o->sea_path || o->water_path ||
        o->informal_path || o->population_path || a->rasters || a->counts || a->stats.list ||
        a->classes.given || o->layer || o->id_field || o->name_field || o->water_field ||
        o->water_layer || o->informal_layer || o->demand_share != 1.0 ||
        o->min_coverage != CR_ZONAL_MIN_COVERAGE || a->base.grid.ref || a->base.grid.crs ||
        a->base.grid.has_bounds || a->base.grid.resolution > 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--merge takes the zones, rasters and options of the "
                                            "run its parts recorded: give only PART... and the "
                                            "output's options");
    return CR_OK;
}

static cr_status check(cr_ctx *ctx, void *opts)
{
    zonal_args *a = opts;
    cr_zonal_opts *o = &a->o;
    if (a->parts && !a->merge)
        return cr_ctx_fail(ctx, CR_E_USAGE, "zonal takes files without an option name only with "
                                            "--merge (the part files): '%s'", a->parts[0]);
    if ((!o->zones_path && !a->merge) || !a->base.output)
        return cr_ctx_fail(ctx, CR_E_USAGE, a->merge ? "--merge needs -o" : "--zones and -o are required");
    int to_stdout = strcmp(a->base.output, "-") == 0;
    if (to_stdout && a->base.json)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--json prints on stdout, where -o - writes the GeoJSON: give one");
    if (to_stdout && a->base.qml)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--qml writes a file beside the output: not with -o -");
    if (a->merge)
        return check_merge(ctx, a);
    /* With -o -, the program shows no progress bar; warnings still go to stderr (a -r count
     * raster read as continuous is one to see). */
    cr_status st = parse_rasters(ctx, a);
    if (st == CR_OK && !a->stats.list)
        st = cr_stats_parse(ctx, "count,sum,mean", &a->stats.list, &a->stats.count);
    if (st != CR_OK)
        return st;
    o->stats = a->stats.list;
    o->nstats = a->stats.count;
    if (a->classes.given) {
        o->classes = a->classes.spec;
        o->classes_given = 1;
    }
    return CR_OK;
}

/* ---- the memory budget ---- */

/* What a zone holds while it is in progress: its accumulators (a few per statistic and
 * raster) and its record; a (value, weight) pair per covered cell for each value list
 * (the exposure's score_p90, and each -r raster when a median, quantile or majority is
 * asked for): geo/zonal/zonal_acc.c. */
#define ZONE_BYTES 256
#define ZONE_BYTES_PER_STAT 32
#define LIST_BYTES_PER_CELL 16

/* What zonal holds of its zones' shapes (geo/core/zones.c) per byte of their file: measured
 * 47 MB beside GDAL's cache for 10,000 zones in a 30 MB GeoPackage, at 10000 x 10000 without
 * value lists (docs/performance.md, "Memory"). */
#define SHAPE_BYTES_PER_FILE_BYTE 1.5

/* The value lists zonal keeps per zone. */
static int value_lists(const zonal_args *a)
{
    int generic = 0;
    for (int k = 0; k < a->stats.count; k++)
        generic |= a->stats.list[k].kind == CR_STAT_MEDIAN ||
                   a->stats.list[k].kind == CR_STAT_QUANTILE || a->stats.list[k].kind == CR_STAT_MAJORITY;
    return (a->o.exposure_path != NULL) + (generic ? a->o.nrasters : 0);
}

/* The raster whose grid zonal takes when no --grid is given: its first raster input
 * (geo/zonal/zonal.c), NULL when every input is polygons. */
static const char *first_raster(const cr_zonal_opts *o)
{
    const char *in[] = {o->exposure_path, o->arrivals_path, o->sea_path, o->water_path,
                        o->informal_path, o->population_path};
    for (size_t k = 0; k < sizeof in / sizeof in[0]; k++)
        if (in[k] && !cr_holds_polygons(in[k]))
            return in[k];
    for (int k = 0; k < o->nrasters; k++)
        if (!cr_holds_polygons(o->rasters[k].path))
            return o->rasters[k].path;
    return NULL;
}

/* The most cells of the value lists held at once: zones are finished tile row by tile
 * row, so those in progress at a row of blocks are those whose boxes (in the grid's CRS,
 * clipped to it) span it; the most, over the rows, of the cells of their boxes, at most the
 * grid's width x height. -1 when it cannot tell (the library then reports why). */
static double cells_in_progress(cr_ctx *ctx, OGRLayerH layer, const cr_grid *grid)
{
    OGRSpatialReferenceH from = OGR_L_GetSpatialRef(layer);
    OGRSpatialReferenceH to = OSRNewSpatialReference(grid->crs_wkt);
    OGRCoordinateTransformationH ct = NULL;
    if (from && to) {
        OSRSetAxisMappingStrategy(to, OAMS_TRADITIONAL_GIS_ORDER);
        OGRSpatialReferenceH f = OSRClone(from);
        OSRSetAxisMappingStrategy(f, OAMS_TRADITIONAL_GIS_ORDER);
        ct = OCTNewCoordinateTransformation(f, to);
        OSRDestroySpatialReference(f);
    }
    int rows = (grid->height + CR_BLOCK_SIZE - 1) / CR_BLOCK_SIZE;
    double *delta = calloc((size_t)rows + 1, sizeof *delta);
    double most = -1;
    if (ct && delta) {
        OGR_L_ResetReading(layer);
        OGRFeatureH feature;
        while ((feature = OGR_L_GetNextFeature(layer)) != NULL) {
            OGRGeometryH g = OGR_F_GetGeometryRef(feature);
            OGREnvelope e;
            double x0, y0, x1, y1;
            if (g && !OGR_G_IsEmpty(g)) {
                OGR_G_GetEnvelope(g, &e);
                if (OCTTransformBounds(ct, e.MinX, e.MinY, e.MaxX, e.MaxY, &x0, &y0, &x1, &y1, 21)) {
                    double c0 = floor((x0 - grid->gt[0]) / grid->gt[1]);
                    double c1 = ceil((x1 - grid->gt[0]) / grid->gt[1]);
                    double r0 = floor((y1 - grid->gt[3]) / grid->gt[5]); /* gt[5] < 0 */
                    double r1 = ceil((y0 - grid->gt[3]) / grid->gt[5]);
                    c0 = fmax(c0, 0), r0 = fmax(r0, 0);
                    c1 = fmin(c1, grid->width), r1 = fmin(r1, grid->height);
                    if (c1 > c0 && r1 > r0) {
                        double cells = (c1 - c0) * (r1 - r0);
                        delta[(int)(r0 / CR_BLOCK_SIZE)] += cells;
                        delta[(int)((r1 - 1) / CR_BLOCK_SIZE) + 1] -= cells;
                    }
                }
            }
            OGR_F_Destroy(feature);
        }
        double live = 0;
        most = 0;
        for (int r = 0; r < rows; r++)
            most = fmax(most, live += delta[r]);
        /* boxes of sprawling or multipart zones overlap far beyond their cells: a list
         * holds at most the grid's cells */
        most = fmin(most, (double)grid->width * grid->height);
    }
    (void)ctx;
    free(delta);
    if (ct)
        OCTDestroyCoordinateTransformation(ct);
    if (to)
        OSRDestroySpatialReference(to);
    return most;
}

/* Refuses zones whose accumulators and value lists could not be held within the budget,
 * before any output is written. What it cannot open or place it leaves to cr_zonal(),
 * which names the problem. */
static cr_status check_zones_fit(cr_ctx *ctx, const zonal_args *a)
{
    const cr_zonal_opts *o = &a->o;
    cr_gdal_begin(ctx);
    GDALDatasetH ds = cr_budget_peekable(o->zones_path)
                          ? GDALOpenEx(o->zones_path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL)
                          : NULL;
    OGRLayerH layer = !ds ? NULL : o->layer ? GDALDatasetGetLayerByName(ds, o->layer)
                                            : GDALDatasetGetLayer(ds, 0);
    double zones = layer ? (double)OGR_L_GetFeatureCount(layer, 1) : -1;
    double bytes = zones * (ZONE_BYTES + ZONE_BYTES_PER_STAT * (double)(a->stats.count + 1) *
                                             (double)(o->nrasters + 6));
    double cells = 0;
    int lists = value_lists(a);
    const char *primary = first_raster(o);
    cr_grid *grid = NULL;
    if (layer && zones > 0 && lists > 0 && (o->grid.ref || primary) &&
        cr_grid_from_spec(ctx, &o->grid, primary, &grid) == CR_OK)
        cells = cells_in_progress(ctx, layer, grid);
    cr_ctx_clear_error(ctx); /* cr_zonal() reports what is wrong with the inputs */
    cr_grid_free(grid);
    if (ds)
        GDALClose(ds);
    cr_gdal_end(ctx);
    if (zones <= 0)
        return CR_OK;
    bytes += fmax(cells, 0) * LIST_BYTES_PER_CELL * lists;
    struct stat file;
    if (stat(o->zones_path, &file) == 0 && S_ISREG(file.st_mode))
        bytes += (double)file.st_size * SHAPE_BYTES_PER_FILE_BYTE;
    char what[512];
    snprintf(what, sizeof what,
             "the %.0f zones of %s (%d value lists per zone, up to %.0f cells of zones in "
             "progress at once)",
             zones, o->zones_path, lists, fmax(cells, 0));
    return cr_budget_check(ctx, bytes, what,
                           lists ? "fewer or smaller zones, or no median, quantile or majority"
                                 : "fewer zones");
}

static cr_status run(cr_ctx *ctx, void *opts, const cr_command_call *call, cr_command_result *result)
{
    (void)call, (void)result;
    zonal_args *a = opts;
    a->o.grid = a->base.grid; /* before the estimate: --grid, --crs, --resolution, --bounds size it */
    if (!a->merge) {
        cr_status st = check_zones_fit(ctx, a);
        if (st != CR_OK)
            return st;
    }
    a->o.overwrite = a->base.overwrite;
    a->o.styles = a->base.styles;
    if (a->merge)
        return cr_zonal_merge(ctx, (const char *const *)a->parts, CSLCount(a->parts),
                              a->base.output, &a->o, &a->s);
    return cr_zonal(ctx, a->base.output, &a->o, &a->s);
}

static cr_qml_style style(const void *opts, cr_qml_opts *qml)
{
    const zonal_args *a = opts;
    qml->classes_from = a->s.exposure_path; /* the class names and colours of the exposure */
    qml->renamed = a->s.renamed;
    if (a->s.class_count >= 2 && !isnan(a->s.breaks[0])) {
        qml->class_count = a->s.class_count;
        memcpy(qml->breaks, a->s.breaks, sizeof(double) * (size_t)(a->s.class_count - 1));
    }
    return CR_QML_ZONES;
}

static json_object *number_or_null(double v)
{
    return cr_json_number(v, 10);
}

static json_object *summary_json(const char *out, const cr_zonal_summary *s)
{
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "output", json_object_new_string(out));
    json_object_object_add(doc, "format", json_object_new_string(s->driver));
    json_object_object_add(doc, "zones", json_object_new_int64(s->zones));
    json_object_object_add(doc, "zones_repaired", json_object_new_int64(s->zones_repaired));
    json_object_object_add(doc, "zones_empty", json_object_new_int64(s->zones_empty));
    json_object_object_add(doc, "zones_without_data", json_object_new_int64(s->zones_without_data));
    json_object_object_add(doc, "zones_below_min_coverage", json_object_new_int64(s->zones_below_coverage));
    json_object_object_add(doc, "min_coverage", cr_json_number(s->min_coverage, 6));
    json_object_object_add(doc, "columns", json_object_new_int(s->columns));
    json_object *totals = json_object_new_object();
    if (!isnan(s->arrivals_total))
        json_object_object_add(totals, "arrivals_total", number_or_null(s->arrivals_total));
    if (!isnan(s->arrivals_informal))
        json_object_object_add(totals, "arrivals_informal", number_or_null(s->arrivals_informal));
    if (!isnan(s->arrivals_high_water_stress))
        json_object_object_add(totals, "arrivals_high_water_stress",
                               number_or_null(s->arrivals_high_water_stress));
    for (int k = 0; k < s->scenarios; k++) {
        char name[128];
        const char *scen = s->scenario_suffix[k];
        if (!isnan(s->arrivals_flooded[k])) {
            snprintf(name, sizeof name, "arrivals_flooded%s", scen);
            json_object_object_add(totals, name, number_or_null(s->arrivals_flooded[k]));
        }
        if (!isnan(s->arrivals_compound[k])) {
            snprintf(name, sizeof name, "arrivals_compound%s", scen);
            json_object_object_add(totals, name, number_or_null(s->arrivals_compound[k]));
        }
    }
    json_object_object_add(doc, "totals", totals);
    json_object *scen = json_object_new_array();
    for (int k = 0; k < s->scenarios; k++)
        json_object_array_add(scen, json_object_new_string(s->scenario[k]));
    json_object_object_add(doc, "scenarios", scen);
    if (s->class_count > 0) {
        json_object *classes = json_object_new_object(), *breaks = json_object_new_array();
        json_object_object_add(classes, "scheme", json_object_new_string(s->class_scheme));
        for (int k = 0; k < s->class_count - 1; k++)
            json_object_array_add(breaks, cr_json_number(s->breaks[k], 10));
        json_object_object_add(classes, "breaks", breaks);
        json_object_object_add(doc, "classes", classes);
    }
    json_object *renamed = json_object_new_object();
    for (char **r = s->renamed; r && *r; r++) {
        char *key = NULL;
        const char *value = CPLParseNameValue(*r, &key);
        if (key)
            json_object_object_add(renamed, key, json_object_new_string(value));
        CPLFree(key);
    }
    json_object_object_add(doc, "renamed_fields", renamed);
    json_object_object_add(doc, "tiles_read", json_object_new_int(s->tiles_read));
    json_object_object_add(doc, "grid", cr_grid_to_json(s->grid));
    return doc;
}

static void summarise(const void *opts, FILE *text, cr_command_result *result)
{
    const zonal_args *a = opts;
    const cr_zonal_summary *s = &a->s;
    if (strcmp(a->base.output, "-") == 0) {
        result->wrote_stdout = 1;
        return;
    }
    if (a->o.partial && !a->base.json) {
        fprintf(text, "%" PRId64 " zones over %d blocks of the part, written to %s\n", s->zones,
                s->tiles_read, a->base.output);
        return;
    }
    if (a->base.json) {
        result->json = summary_json(a->base.output, s);
        return;
    }
    fprintf(text, "%" PRId64 " zones (%" PRId64 " repaired, %" PRId64 " without data), %d properties added, "
                  "written to %s\n",
            s->zones, s->zones_repaired, s->zones_without_data, s->columns, a->base.output);
    if (s->zones_below_coverage > 0)
        fprintf(text, "%" PRId64 " zone%s below %g %% data coverage%s: %s\n",
                s->zones_below_coverage, s->zones_below_coverage == 1 ? "" : "s",
                100.0 * s->min_coverage, a->o.sea_path ? " of their land" : "",
                a->o.exposure_path ? "no score_class or score_rank (--min-coverage)"
                                   : "look at data_coverage before comparing them");
}

const cr_command cr_zonal_command = {
    .name = "zonal",
    .summary = "per-neighbourhood exposure with exact cell coverage, to GeoJSON or any OGR format",
    .synopsis = "--zones ZONES [--layer L] [--exposure EXPOSURE.tif] [--arrivals A.tif]\n"
                "       [--sea DEPTH.tif] [--water W.tif] [--informal S.tif] [--population P.tif]\n"
                "       [-r NAME=RASTER[:BAND]]... [--stats LIST] -o OUT|-\n"
                "       [--grid REF | --crs CRS --resolution M [--bounds XMIN,YMIN,XMAX,YMAX]] [options]\n"
                "       [--tile I/N | --window XOFF,YOFF,XSIZE,YSIZE] --partial -o PART\n"
                "   or: cityrisk zonal --merge PART... -o OUT|- [output options]",
    .description =
        "Per-neighbourhood statistics of the rasters, every cell weighted by the exact\n"
        "fraction f of its area inside the zone (holes removed, parts added), so totals of\n"
        "arrivals are kept across neighbourhood boundaries. The zones keep all their\n"
        "attributes and get one property per statistic (docs/zonal.md):\n"
        "  area_km2, data_coverage                         always\n"
        "  land_data_coverage   data_coverage of the land   --sea\n"
        "  arrivals_total, arrivals_per_km2                 --arrivals\n"
        "  flood_area_share[_SCENARIO]                      --sea (one set per band)\n"
        "  arrivals_flooded[_share][_SCENARIO]              --sea, --arrivals\n"
        "  informal_area_share, informal_flooded_share, arrivals_informal\n"
        "  water_stress_mean, water_stress_arrivals, arrivals_high_water_stress (b >= 3)\n"
        "  arrivals_compound[_SCENARIO]     arrivals where d > 0, v >= 0.5 and b >= 3\n"
        "  water_uplift_mean               --population (or the exposure's water_uplift)\n"
        "  score_mean, score_p90, score_arrivals, score_class, score_rank   --exposure\n"
        "    (class and rank only for zones with data_coverage >= --min-coverage, 0.5;\n"
        "    with --sea, land_data_coverage: the sea, cells without a depth or a score,\n"
        "    is no missing data)\n"
        "  NAME_STAT                       each -r raster and --stats statistic\n"
        "Statistics of -r rasters: count (sum of f), sum, mean, min, max, stdev, median,\n"
        "quantile(q), majority, frac(t) (share of the valid area with value >= t),\n"
        "weighted_mean(NAME) (weights from another raster). Default count,sum,mean.\n"
        "A -r raster of counts per cell (people) not on the grid needs --counts NAME, so\n"
        "that it is read with sum resampling and its total kept (a warning says so).\n"
        "Rasters are read onto the grid of --grid, or of --crs and --resolution (over\n"
        "--bounds, else the first raster's extent, else the zones'), else of --exposure\n"
        "(else the first raster given; polygons have no grid, so layers that are all\n"
        "polygons need --grid or --crs). Polygons are refused (exit 2) where a raster is\n"
        "needed: --exposure, -r, --sea (cityrisk inundation --sea makes depths), and\n"
        "counts: --arrivals, --population (cityrisk arrivals --areas makes them);\n"
        "zones in any CRS are reprojected to it; invalid polygons are repaired with a\n"
        "warning; zones without geometry or data get nulls, never a made-up 0.\n"
        "\n"
        "Output: GeoJSON per RFC 7946 (WGS 84, 7 decimals; -o - writes it to stdout), or\n"
        "any OGR format with -of (GPKG, FlatGeobuf, CSV without geometry, \"ESRI\n"
        "Shapefile\" with field names shortened to 10 characters, listed by --json).\n"
        "\n"
        "Split across machines: each job runs the same command with --tile I/N (or\n"
        "--window) and --partial -o PART, which writes the partial sums, minima, maxima\n"
        "and value lists of each zone over each block of its tile; one job then runs\n"
        "--merge PART... -o OUT, which writes exactly what one run over the whole grid\n"
        "writes (classes, ranks and breaks computed from all the zones). The merge reads\n"
        "the zones file again (it must be unchanged), not the rasters (docs/zonal.md, Tiles).",
    .examples =
        "  cityrisk zonal --zones samples/data/neighbourhoods.gpkg --exposure exposure.tif \\\n"
        "      --arrivals arrivals.tif --sea inundation.tif --water samples/data/water_stress.tif \\\n"
        "      --informal samples/data/settlement.tif -o neighbourhoods.geojson\n"
        "  cityrisk zonal --zones wards.shp -r pop=worldpop.tif -r dem=dem.tif \\\n"
        "      --stats sum,mean,median,quantile(0.9),weighted_mean(pop) -of GPKG -o wards.gpkg\n"
        "  for i in 1 2 3 4; do cityrisk zonal --zones wards.shp -r pop=worldpop.tif \\\n"
        "      --tile $i/4 --partial -o part$i.json; done\n"
        "  cityrisk zonal --merge part1.json part2.json part3.json part4.json -o wards.geojson",
    .args = ARGS, .flags = CR_COMMAND_STAGE, .opts_size = sizeof(zonal_args),
    .init = init, .clear = clear, .check = check, .run = run, .style = style, .summarise = summarise,
};
