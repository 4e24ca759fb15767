/* mosaic_command.c: `cityrisk mosaic` in the command table: its arguments and summary. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include <cpl_string.h>

#include "cityrisk/command.h"
#include "cityrisk/mosaic.h"

typedef struct mosaic_args {
    cr_command_base base;
    char **tiles; /* TILE... */
    cr_mosaic_summary s;
} mosaic_args;

static const cr_arg ARGS[] = {
    CR_OPT__OUTPUT("the joined COG"),
    CR_OPT__OVERWRITE,
    CR_OPT__CREATION_OPTION,
    CR_OPT__JSON,
    CR_OPT__QML,
    CR_OPT_ROW(CR_ARG_LIST, CR_ROLE_INPUT, CR_ARGF_POSITIONAL, "tile", NULL, mosaic_args, tiles, "TILE",
               "a tile written with --tile I/N or --window (any order)", NULL, NULL),
    CR_OPT_END,
};

static cr_status check(cr_ctx *ctx, void *opts)
{
    mosaic_args *a = opts;
    if (!a->base.output)
        return cr_ctx_fail(ctx, CR_E_USAGE, "-o is required");
    if (CSLCount(a->tiles) == 0)
        return cr_ctx_fail(ctx, CR_E_USAGE, "no tile to join");
    return CR_OK;
}

static cr_status run(cr_ctx *ctx, void *opts, const cr_command_call *call, cr_command_result *result)
{
    (void)call, (void)result;
    mosaic_args *a = opts;
    cr_mosaic_opts o;
    cr_mosaic_opts_init(&o);
    o.overwrite = a->base.overwrite;
    o.creation_options = a->base.creation_options;
    return cr_mosaic(ctx, (const char *const *)a->tiles, CSLCount(a->tiles), a->base.output, &o, &a->s);
}

/* The style the command that wrote the tiles gives its output (score, inundation, arrivals),
 * from the joined cells; named classes are paletted, other rasters take arrivals' ramp of
 * values from 0. */
static cr_qml_style style(const void *opts, cr_qml_opts *qml)
{
    (void)qml;
    const cr_mosaic_summary *s = &((const mosaic_args *)opts)->s;
    if (s->categories)
        return CR_QML_PALETTED;
    if (strcmp(s->writer, "score") == 0)
        return CR_QML_SCORE;
    if (strcmp(s->writer, "inundation") == 0)
        return CR_QML_INUNDATION;
    return CR_QML_ARRIVALS;
}

static void summarise(const void *opts, FILE *text, cr_command_result *result)
{
    const mosaic_args *a = opts;
    const cr_mosaic_summary *s = &a->s;
    if (a->base.json) {
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "output", json_object_new_string(a->base.output));
        json_object_object_add(doc, "tiles", json_object_new_int(s->tiles));
        json_object *size = json_object_new_array();
        json_object_array_add(size, json_object_new_int(s->width));
        json_object_array_add(size, json_object_new_int(s->height));
        json_object_object_add(doc, "size", size);
        json_object_object_add(doc, "bands", json_object_new_int(s->bands));
        json_object_object_add(doc, "command_kept", json_object_new_boolean(s->command_kept));
        json_object_object_add(doc, "statistics_dropped", json_object_new_boolean(s->statistics_dropped));
        json_object_object_add(doc, "written_by", json_object_new_string(s->writer));
        result->json = doc;
        return;
    }
    fprintf(text, "%d tiles joined into %s (%d x %d cells, %d band%s)\n", s->tiles, a->base.output,
            s->width, s->height, s->bands, s->bands == 1 ? "" : "s");
}

const cr_command cr_mosaic_command = {
    .name = "mosaic",
    .summary = "join the tiles of a per-cell command (--tile I/N, --window) into its single-run COG",
    .synopsis = "TILE... -o OUT.tif [--overwrite] [-co NAME=VALUE]... [--qml] [options]",
    .description =
        "Joins the tiles that per-cell commands write with --tile I/N or --window (each a\n"
        "COG of one part of the grid, marked with CITYRISK_TILE, CITYRISK_WINDOW and\n"
        "CITYRISK_FULL_SIZE) into the file one run over the whole grid writes: the same\n"
        "cells, overviews (most frequent value for class bands, mean otherwise), tiling,\n"
        "compression and metadata. The tiles may come in any order (a glob); they must be\n"
        "of one grid (CRS, cell size, origin), have the same bands, cell types, nodata,\n"
        "descriptions, units and metadata, and cover the grid exactly once: otherwise exit\n"
        "3, naming the file, both files and the item, the missing tiles or the first window\n"
        "no tile holds. CITYRISK_COMMAND is the tiles' command without --tile, --window,\n"
        "--phase or --join and with the mosaic's -o (what the single run records) when the\n"
        "tiles agree on\n"
        "the rest; CITYRISK_STATISTICS, of a tile's own cells, is left out when the tiles'\n"
        "differ. Give the -co options the single run had. Only one block of all bands is in\n"
        "memory at a time. --qml writes the style of the command that wrote the tiles\n"
        "(docs/mosaic.md).",
    .examples = "  for i in 1 2 3 4; do cityrisk score ... --tile $i/4 -o tiles/exposure_$i.tif; done\n"
                "  cityrisk mosaic tiles/exposure_*.tif -o exposure.tif",
    .args = ARGS, .flags = CR_COMMAND_STAGE, .opts_size = sizeof(mosaic_args),
    .check = check, .run = run, .style = style, .summarise = summarise,
};
