/* map.c: `cityrisk map`: a risk map for reports, as PNG, PDF or SVG. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "cityrisk/map.h"
#include "cli.h"

static const cli_usage USAGE = {
    "map",
    "--raster EXPOSURE.tif [--band NAME|N] [--zones ZONES [--layer L] [--field F]]\n"
    "       [--labels FIELD] [--top N] [--title TEXT] [--width PX] [-of png|pdf|svg]\n"
    "       [--overwrite] [--json] -o MAP.png",
    "Draws a map for a report (docs/map.md): the raster, coloured by class for the\n"
    "exposure score (breaks, names and colours from the class band's CLASS_BREAKS,\n"
    "CLASS_NAMES and CLASS_COLORS, else INFORM's 2 / 3.5 / 5 / 6.5 and ColorBrewer\n"
    "YlOrRd), any other band on a blue ramp; nodata shows the light background. Over\n"
    "it the outlines of the --zones (reprojected to the raster's CRS), the --top N\n"
    "zones outlined in black and labelled with --labels (default: the field 'name'),\n"
    "ranked by --field (highest first; default score_rank, else score_mean); then a\n"
    "legend, the title (default: from the raster's file name), a scale bar, a north\n"
    "arrow (true north) and a source line: file names, scenario, date (UTC).\n"
    "\n"
    "The raster is read downsampled to the map's size, so a large raster costs no\n"
    "more memory than a small one. PNG, PDF and SVG come from the same drawing; the\n"
    "format follows -of, else the output's extension. The file appears atomically.",
    "  cityrisk map --raster exposure.tif --zones neighbourhoods.geojson --labels name \\\n"
    "      --top 8 -o exposure.png\n"
    "  cityrisk map --raster exposure.tif --zones neighbourhoods.geojson -of pdf -o exposure.pdf\n"
    "  cityrisk map --raster inundation.tif --band ssp245-2100 --title \"Flood depth, 2100\" \\\n"
    "      --width 1200 -o flood.svg",
};

int cli_cmd_map(int argc, char **argv)
{
    cr_map_opts o;
    cr_map_opts_init(&o);
    const char *out = NULL, *format = NULL;
    int json = 0;
    const cli_option options[] = {
        {NULL, "--raster", CLI_OPT_STRING, &o.raster_path, "FILE", "the raster to map (cityrisk score's output)"},
        {NULL, "--band", CLI_OPT_STRING, &o.band, "NAME|N", "band by description or number (score)"},
        {NULL, "--zones", CLI_OPT_STRING, &o.zones_path, "FILE", "neighbourhood polygons to outline (any OGR vector)"},
        {NULL, "--layer", CLI_OPT_STRING, &o.layer, "NAME", "the zones' layer (default: the first)"},
        {NULL, "--field", CLI_OPT_STRING, &o.field, "FIELD", "ranks zones for labels, highest first (score_rank, else score_mean)"},
        {NULL, "--labels", CLI_OPT_STRING, &o.label_field, "FIELD", "label text (default: the field 'name')"},
        {NULL, "--top", CLI_OPT_INT, &o.top, "N", "label the N highest-ranked zones (10; 0: none)"},
        {NULL, "--title", CLI_OPT_STRING, &o.title, "TEXT", "map title (default: from the file name)"},
        {NULL, "--width", CLI_OPT_INT, &o.width, "PX", "image width in pixels (1600)"},
        {"-o", "--output", CLI_OPT_STRING, &out, "FILE", "the map file"},
        {"-of", "--format", CLI_OPT_STRING, &format, "FORMAT", "png, pdf or svg (default: from -o's extension)"},
        {NULL, "--overwrite", CLI_OPT_FLAG, &o.overwrite, NULL, "replace an existing output"},
        {NULL, "--json", CLI_OPT_FLAG, &json, NULL, "print a summary as JSON on stdout"},
        {NULL, NULL, CLI_OPT_END, NULL, NULL, NULL},
    };
    cli_common common;
    cr_ctx *ctx = NULL;
    int rc = cli_parse_options(&USAGE, options, argc, argv, &common);
    if (rc >= 0)
        return rc;
    if (!o.raster_path || !out)
        return cli_usage_error(&USAGE, "--raster and -o are required");
    if (strcmp(out, "-") == 0)
        return cli_usage_error(&USAGE, "a map cannot be written to standard output; give a file");
    ctx = cli_context(&USAGE, &common, argc, argv);
    if (!ctx)
        return CLI_EXIT_FAILURE;
    o.format = cr_map_format_from_path(out);
    if (format && cr_map_format_parse(ctx, format, &o.format) != CR_OK) {
        rc = cli_usage_error(&USAGE, "%s", cr_ctx_error(ctx));
        cr_ctx_free(ctx);
        return rc;
    }
    cr_map_summary s;
    cr_status st = cr_map(ctx, out, &o, &s);
    if (st != CR_OK) {
        rc = cli_fail(&USAGE, ctx, st);
    } else if (json) {
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "output", json_object_new_string(out));
        json_object_object_add(doc, "format", json_object_new_string(cr_map_format_name(o.format)));
        json_object_object_add(doc, "width", json_object_new_int(s.width));
        json_object_object_add(doc, "height", json_object_new_int(s.height));
        json_object_object_add(doc, "band", json_object_new_int(s.band));
        json_object_object_add(doc, "band_name", json_object_new_string(s.band_name));
        json_object_object_add(doc, "mode", json_object_new_string(s.mode));
        json_object_object_add(doc, "classes", json_object_new_int(s.classes));
        json_object_object_add(doc, "zones", json_object_new_int(s.zones));
        json_object_object_add(doc, "labels", json_object_new_int(s.labels));
        json_object_object_add(doc, "scenario",
                               s.scenario[0] ? json_object_new_string(s.scenario) : NULL);
        rc = cli_print_json(&USAGE, doc);
        json_object_put(doc);
    } else {
        if (!common.quiet)
            fprintf(stderr, "cityrisk map: %d x %d %s map of band %d%s%s%s, %d zones, %d labels, written to %s\n",
                    s.width, s.height, cr_map_format_name(o.format), s.band, s.band_name[0] ? " '" : "",
                    s.band_name, s.band_name[0] ? "'" : "", s.zones, s.labels, out);
        rc = CLI_EXIT_OK;
    }
    cr_ctx_free(ctx);
    return rc;
}
