/* map_internal.h: the map model shared by map.c (reading) and map_draw.c (drawing);
 * internal to the library. */
#ifndef CITYRISK_MAP_INTERNAL_H
#define CITYRISK_MAP_INTERNAL_H

#include <stddef.h>

#include <cairo.h>

#include "cityrisk/classes.h"
#include "cityrisk/map.h"

/* How the raster is coloured. */
typedef enum map_mode {
    MAP_MODE_CLASSES = 0, /* scores classed by breaks */
    MAP_MODE_CLASS,       /* class values class_base .. class_base + N - 1 */
    MAP_MODE_CONTINUOUS   /* a blue ramp over [vmin, vmax] */
} map_mode;

/* A label: its text, its anchor in the raster's CRS, and the rings of its zone. */
typedef struct map_label {
    char *text;
    double x, y;
    double key;           /* ranking value, larger first (ranks are negated) */
    size_t ring0, ring1;  /* the zone's rings [ring0, ring1) */
    long order;           /* feature order, for stable ties */
    int has_point;
} map_label;

/* Page layout in pixels (PDF and SVG share it; PDF scales it to points). */
typedef struct map_layout {
    double width, height, s;                    /* s: scale of sizes, width / 1600 */
    double margin;
    double frame_x, frame_y, frame_w, frame_h;  /* the data frame */
    double panel_x, panel_y, panel_w;           /* the legend panel, right of the frame */
} map_layout;

/* Everything the drawing needs; filled by map.c, drawn by map_draw.c. */
typedef struct map_model {
    /* raster */
    double xmin, ymin, xmax, ymax;   /* the raster's extent in its CRS */
    int geographic;                  /* CRS in degrees */
    double metres_per_unit;          /* linear unit (projected); metres per degree of
                                      * longitude at the centre (geographic) */
    double north;                    /* direction of true north at the centre, radians
                                      * clockwise from up */
    cairo_surface_t *image;          /* ARGB32, nodata transparent */
    map_mode mode;
    int nclasses;
    int class_base;                  /* MAP_MODE_CLASS: the value of the first class (1 for
                                      * score's class band, whose legend shows the values; 0
                                      * for a band's named categories, whose names say it) */
    int valued;                      /* MAP_MODE_CLASS of named categories: class k is the
                                      * value class_values[k] (values without a name are
                                      * none), not class_base + k */
    int class_values[CR_CLASSES_MAX];
    double breaks[CR_CLASSES_MAX];
    char names[CR_CLASSES_MAX][48];
    double colors[CR_CLASSES_MAX][3];
    double vmin, vmax;               /* continuous */
    int zero_clear;                  /* continuous: values <= 0 are drawn as no data (dry) */
    int inundation;                  /* a depth band of cityrisk inundation: the sea, dry land
                                      * and nodata are drawn apart (SEA and DRY colours in the
                                      * image, nodata hatched behind it) */
    char legend_title[96];
    char legend_unit[64];
    /* zones: rings of points in the raster's CRS */
    double *xy;                      /* x0 y0 x1 y1 ... */
    size_t nxy, cap_xy;              /* points */
    size_t *rings;                   /* start of ring k in points; rings[nrings] = nxy */
    size_t nrings, cap_rings;
    int zones;
    size_t *hatched;                 /* ring ranges [2k, 2k + 1) of zones with too little data
                                      * (data_coverage below zonal's threshold): hatched */
    int nhatched;
    size_t cap_hatched;
    char hatch_note[96];             /* "Insufficient data (coverage < 50 %)" */
    map_label *labels;               /* the labelled zones, best first */
    int nlabels;
    char rank_note[96];              /* "Top 10 by score_rank" */
    /* text */
    char title[256];
    char subtitle[256];
    char source[768];
    char crs_name[128];
    char desc[4096];                 /* SVG <desc>: subtitle, labels, source */
} map_model;

/* Colours of an inundation map: the sea (nodata joined to the raster's edge) and dry land
 * (0 m), apart from the Blues ramp of the depths and from the hatched nodata. */
#define MAP_SEA_RGB 0.427, 0.514, 0.612 /* #6d839c, slate */
#define MAP_DRY_RGB 0.929, 0.894, 0.800 /* #ede4cc, sand */

/* The layout of a map of the given width for the model's extent. */
void cr_map_layout(const map_model *m, int width, map_layout *L);

/* Writes the map to path (an existing temporary file) in format; CR_E_IO on a Cairo
 * or file error, naming the output name in the message. */
cr_status cr_map_render(cr_ctx *ctx, const map_model *m, const map_layout *L,
                        cr_map_format format, const char *path, const char *name);

#endif
