/* map_command.c: `cityrisk map` in the command table: its arguments and its summary as
 * JSON and as text. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <gdal.h>

#include "cityrisk/command.h"
#include "cityrisk/map.h"
#include "core/budget.h"
#include "core/internal.h"

/* A format, and whether -of named it (else the output's extension does). */
typedef struct format_choice {
    cr_map_format format;
    int given;
} format_choice;

/* The options of the command: the library's, and what the command line says otherwise. */
typedef struct map_args {
    cr_command_base base;
    cr_map_opts o;
    format_choice format;
    cr_map_summary s; /* what was drawn */
} map_args;

static void init(void *opts)
{
    cr_map_opts_init(&((map_args *)opts)->o);
}

static cr_status parse_format(cr_ctx *ctx, const char *text, void *dest)
{
    format_choice *f = dest;
    f->given = 1;
    return cr_map_format_parse(ctx, text, &f->format);
}

static const cr_arg ARGS[] = {
    CR_OPT_INPUT("raster", map_args, o.raster_path, "FILE", "the raster to map (cityrisk score's output)"),
    CR_OPT_STRING("band", NULL, map_args, o.band, "NAME|N", "band by description or number (score)"),
    CR_OPT_INPUT("zones", map_args, o.zones_path, "FILE", "neighbourhood polygons to outline (any OGR vector)"),
    CR_OPT_STRING("layer", NULL, map_args, o.layer, "NAME", "the zones' layer (default: the first)"),
    CR_OPT_STRING("field", NULL, map_args, o.field, "FIELD",
                  "ranks zones for labels, highest first (score_rank, else score_mean)"),
    CR_OPT_STRING("labels", NULL, map_args, o.label_field, "FIELD", "label text (default: the field 'name')"),
    CR_OPT_INT("top", map_args, o.top, "N", "label the N highest-ranked zones (10; 0: none)"),
    CR_OPT_STRING("title", NULL, map_args, o.title, "TEXT", "map title (default: from the file name)"),
    CR_OPT_INT("width", map_args, o.width, "PX", "image width in pixels (1600)"),
    CR_OPT__OUTPUT("the map file"),
    CR_OPT_CHOICE_PARSED("format", "of", map_args, format, "FORMAT", cr_map_format_names, parse_format,
                         "png, pdf or svg (default: from -o's extension)"),
    CR_OPT__OVERWRITE,
    CR_OPT__JSON,
    CR_OPT_END,
};

static cr_status check(cr_ctx *ctx, void *opts)
{
    map_args *a = opts;
    if (!a->o.raster_path || !a->base.output)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--raster and -o are required");
    if (strcmp(a->base.output, "-") == 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "a map cannot be written to standard output; give a file");
    a->o.format = a->format.given ? a->format.format : cr_map_format_from_path(a->base.output);
    return CR_OK;
}

/* What map holds per pixel (geo/map/map.c, map_draw.c): of the raster drawn, its values
 * (4 bytes), two masks (2), the flood queue of the hatching (8) and its image (4); of the
 * page, its image (4) and what the PNG encoder holds (4). */
#define BYTES_PER_RASTER_PIXEL 18
#define BYTES_PER_PAGE_PIXEL 8

/* What map holds of its --zones per byte of their file: the features as OGR reads them and
 * their outlines as drawn. Measured: 10,000 zonal zones in a 46 MB GeoJSON add 206 MB to
 * map's peak (docs/performance.md, "Memory"). */
#define ZONES_BYTES_PER_FILE_BYTE 4.5

/* Refuses a --width whose images could not be held within the budget, before drawing. */
static cr_status check_image_fits(cr_ctx *ctx, const map_args *a)
{
    cr_gdal_begin(ctx);
    GDALDatasetH ds = cr_budget_peekable(a->o.raster_path) ? GDALOpen(a->o.raster_path, GA_ReadOnly) : NULL;
    double rw = ds ? GDALGetRasterXSize(ds) : 0, rh = ds ? GDALGetRasterYSize(ds) : 0;
    if (ds)
        GDALClose(ds);
    cr_gdal_end(ctx);
    cr_ctx_clear_error(ctx); /* cr_map() names what is wrong with the raster */
    if (!(rw > 0 && rh > 0) || a->o.width <= 0)
        return CR_OK;
    double w = a->o.width, h = w * rh / rw; /* the raster drawn at most at its own size */
    double raster = w < rw ? w * h : rw * rh;
    struct stat file;
    double zones = a->o.zones_path && stat(a->o.zones_path, &file) == 0 && S_ISREG(file.st_mode)
                       ? (double)file.st_size * ZONES_BYTES_PER_FILE_BYTE
                       : 0;
    char what[512];
    if (zones > 0)
        snprintf(what, sizeof what, "a %.0f x %.0f map of the zones of %s", w, h, a->o.zones_path);
    else
        snprintf(what, sizeof what, "a %.0f x %.0f map of %s", w, h, a->o.raster_path);
    return cr_budget_check(ctx, raster * BYTES_PER_RASTER_PIXEL + w * h * BYTES_PER_PAGE_PIXEL + zones,
                           what, zones > 0 ? "a smaller --width or fewer zones" : "a smaller --width");
}

static cr_status run(cr_ctx *ctx, void *opts, const cr_command_call *call, cr_command_result *result)
{
    (void)call, (void)result;
    map_args *a = opts;
    cr_status st = check_image_fits(ctx, a);
    if (st != CR_OK)
        return st;
    a->o.overwrite = a->base.overwrite;
    return cr_map(ctx, a->base.output, &a->o, &a->s);
}

static void summarise(const void *opts, FILE *text, cr_command_result *result)
{
    const map_args *a = opts;
    const cr_map_summary *s = &a->s;
    const char *format = cr_map_format_name(a->o.format);
    if (!a->base.json) {
        fprintf(text, "%d x %d %s map of band %d%s%s%s, %d zones, %d labels, written to %s\n", s->width, s->height,
                format, s->band, s->band_name[0] ? " '" : "", s->band_name, s->band_name[0] ? "'" : "", s->zones,
                s->labels, a->base.output);
        if (s->insufficient > 0)
            fprintf(text, "%d zone%s hatched for insufficient data, not labelled\n", s->insufficient,
                    s->insufficient == 1 ? "" : "s");
        return;
    }
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "output", json_object_new_string(a->base.output));
    json_object_object_add(doc, "format", json_object_new_string(format));
    json_object_object_add(doc, "width", json_object_new_int(s->width));
    json_object_object_add(doc, "height", json_object_new_int(s->height));
    json_object_object_add(doc, "band", json_object_new_int(s->band));
    json_object_object_add(doc, "band_name", json_object_new_string(s->band_name));
    json_object_object_add(doc, "mode", json_object_new_string(s->mode));
    json_object_object_add(doc, "classes", json_object_new_int(s->classes));
    json_object_object_add(doc, "zones", json_object_new_int(s->zones));
    json_object_object_add(doc, "labels", json_object_new_int(s->labels));
    json_object_object_add(doc, "zones_insufficient", json_object_new_int(s->insufficient));
    json_object_object_add(doc, "scenario", s->scenario[0] ? json_object_new_string(s->scenario) : NULL);
    result->json = doc;
}

const cr_command cr_map_command = {
    .name = "map",
    .summary = "risk map (PNG, PDF, SVG) of a score raster and neighbourhoods",
    .synopsis = "--raster EXPOSURE.tif [--band NAME|N] [--zones ZONES [--layer L] [--field F]]\n"
                "       [--labels FIELD] [--top N] [--title TEXT] [--width PX] [-of png|pdf|svg]\n"
                "       [--overwrite] [--json] -o MAP.png",
    .description =
        "Draws a map for a report (docs/map.md): the raster, coloured by class for the\n"
        "exposure score (breaks, names and colours from the class band's CLASS_BREAKS,\n"
        "CLASS_NAMES and CLASS_COLORS, else INFORM's 2 / 3.5 / 5 / 6.5 and ColorBrewer\n"
        "YlOrRd), a band with a colour table and CLASS_NAMES (inundation's confidence\n"
        "classes) by those classes, any other band on a blue ramp; nodata shows the\n"
        "light background. Over it the outlines of the --zones (reprojected to the raster's CRS), the --top N\n"
        "zones outlined in black and labelled with --labels (default: the field 'name',\n"
        "else the name field zonal recorded), zones with too little data hatched,\n"
        "ranked by --field (highest first; default score_rank, else score_mean); then a\n"
        "legend, the title (default: from the raster's file name), a scale bar, a north\n"
        "arrow (true north) and a source line: file names, scenario, date (UTC).\n"
        "\n"
        "The raster is read downsampled to the map's size, so a large raster costs no\n"
        "more memory than a small one. PNG, PDF and SVG come from the same drawing; the\n"
        "format follows -of, else the output's extension. The file appears atomically.",
    .examples =
        "  cityrisk map --raster exposure.tif --zones neighbourhoods.geojson --labels name \\\n"
        "      --top 8 -o exposure.png\n"
        "  cityrisk map --raster exposure.tif --zones neighbourhoods.geojson -of pdf -o exposure.pdf\n"
        "  cityrisk map --raster inundation.tif --band ssp245-2100 --title \"Flood depth, 2100\" \\\n"
        "      --width 1200 -o flood.svg",
    .args = ARGS, .flags = CR_COMMAND_STAGE, .opts_size = sizeof(map_args),
    .init = init, .check = check, .run = run, .summarise = summarise,
};
