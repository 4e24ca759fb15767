/*
 * map.h: risk maps for reports, drawn with Cairo as PNG, PDF or SVG.
 *
 * One drawing function serves the three formats: the raster (the exposure score
 * coloured by class, or any other band on a continuous blue ramp) over a light
 * background where it has no data, the outlines of the neighbourhoods, labels of the
 * N highest-ranked ones, a legend, the title, a scale bar, a north arrow and a source
 * line (input file names, scenario, date).
 *
 * The raster is read once, downsampled by GDAL (through its overviews when it has
 * them) to at most the size of the map's data frame in pixels, so memory depends on
 * the map's size, not on the raster's. Zone outlines are reprojected to the raster's
 * CRS and thinned to half a map pixel as they are read.
 *
 * The output is written beside its destination under a hidden temporary name and
 * renamed over it once complete; on any failure nothing is left behind.
 */
#ifndef CITYRISK_MAP_H
#define CITYRISK_MAP_H

#include "cityrisk/context.h"
#include "cityrisk/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The output formats. */
typedef enum cr_map_format {
    CR_MAP_PNG = 0, /* 8-bit RGBA PNG, width x height pixels */
    CR_MAP_PDF,     /* one page, vectors and text, the raster embedded; 1 px = 0.5 pt */
    CR_MAP_SVG      /* SVG 1.1 in px units; text is drawn as glyph outlines, so the title,
                     * source line and labels are also written as <title> and <desc> */
} cr_map_format;

/* The smallest and largest --width accepted, in pixels. */
#define CR_MAP_WIDTH_MIN 400
#define CR_MAP_WIDTH_MAX 20000

/* What to draw and where. Strings are borrowed, not copied. */
typedef struct cr_map_opts {
    const char *raster_path;  /* required: the raster to map (e.g. cityrisk score's output) */
    const char *band;         /* band by description ("score") or 1-based number ("2");
                               * NULL: the band described "score", else band 1 of a
                               * one-band raster */
    const char *zones_path;   /* neighbourhood polygons, any OGR vector and CRS; NULL: none */
    const char *layer;        /* the zones' layer; NULL: the first */
    const char *field;        /* ranks the zones for labels, highest value first; NULL:
                               * score_rank (1 first) when the zones have it, else score_mean */
    const char *label_field;  /* the label text; NULL: the field "name" when present, else
                               * the name field (then the id field) zonal recorded in its
                               * CITYRISK_PARAMETERS */
    int top;                  /* label the top N zones (default 10; 0: no labels) */
    const char *title;        /* NULL: from the raster's file name */
    int width;                /* image width in pixels (default 1600) */
    cr_map_format format;     /* default CR_MAP_PNG */
    int overwrite;            /* replace an existing output (default 0) */
} cr_map_opts;

/* Fills opts with the defaults above. */
CR_API void cr_map_opts_init(cr_map_opts *opts);

/* What was drawn. */
typedef struct cr_map_summary {
    int width, height;      /* pixels (PDF: points are half of these) */
    int band;               /* the band drawn, 1-based */
    char band_name[64];     /* its description, "" when none */
    char mode[16];          /* "classes" (score classed by breaks), "class" (class values)
                             * or "continuous" */
    int classes;            /* the number of classes in the legend, 0 when continuous */
    int zones;              /* zones drawn */
    int labels;             /* labels drawn */
    int insufficient;       /* zones hatched for too little data (data_coverage below the
                             * threshold zonal recorded, default 0.5): never labelled */
    char scenario[128];     /* the scenario named in the raster's metadata, "" when none */
} cr_map_summary;

/* Parses a format name, "png", "pdf" or "svg" in any case; fails with CR_E_USAGE
 * quoting the text otherwise. */
CR_API cr_status cr_map_format_parse(cr_ctx *ctx, const char *text, cr_map_format *out);

/* The names of the formats in the enum's order, NULL-terminated: "png", "pdf", "svg". */
CR_API extern const char *const cr_map_format_names[];

/* The format named by the output's extension (.png, .pdf, .svg, any case), PNG when
 * the extension names none of them. */
CR_API cr_map_format cr_map_format_from_path(const char *path);

/* The lower-case name of a format: "png", "pdf", "svg". */
CR_API const char *cr_map_format_name(cr_map_format format);

/* Draws the map described by opts into the file out (atomically: a hidden temporary
 * file beside it, renamed when complete). summary, when non-NULL, is filled on success.
 *
 * Fails with CR_E_USAGE on a width outside CR_MAP_WIDTH_MIN..CR_MAP_WIDTH_MAX, a
 * negative top, an unknown layer or field (--field, --labels), or an output that is
 * an input; with CR_E_EXISTS when out exists and overwrite is 0; with CR_E_DATA when
 * the raster has no CRS or geotransform, is rotated, has no band opts->band, or the
 * zones are no polygons; with CR_E_IO when a file cannot be read or written (a missing
 * raster); with CR_E_CANCELLED when the progress callback asks to stop. */
CR_API cr_status cr_map(cr_ctx *ctx, const char *out, const cr_map_opts *opts,
                        cr_map_summary *summary);

#ifdef __cplusplus
}
#endif

#endif
