/*
 * qml.h: QGIS styles (.qml) beside the outputs.
 *
 * QGIS 3 applies a file "<base name>.qml" found beside a layer's file when the layer
 * is loaded (exposure.tif -> exposure.qml, neighbourhoods.geojson ->
 * neighbourhoods.qml). cr_qml_write() writes such a style for the output of a stage,
 * as plain XML text (QGIS 3.22's QML format; no Qt needed), atomically (a hidden
 * temporary file renamed into place):
 *
 *   CR_QML_SCORE       `cityrisk score`: band `score` with a singlebandpseudocolor
 *                      renderer, a DISCRETE colour ramp at the class breaks with the
 *                      class names and colours the `class` band records (CLASS_BREAKS,
 *                      CLASS_NAMES, CLASS_COLORS; else INFORM's 2 / 3.5 / 5 / 6.5 and
 *                      ColorBrewer YlOrRd). Without a score band, the class band by class.
 *   CR_QML_INUNDATION  `cityrisk inundation`: an INTERPOLATED blue ramp of the depth from
 *                      0 m (dry, transparent) to the deepest cell of every band.
 *   CR_QML_ARRIVALS    `cityrisk arrivals`: an INTERPOLATED purple-to-yellow (magma-like)
 *                      ramp from 0 (transparent) to the 99th percentile of the cells with
 *                      arrivals, its stops spaced evenly in log(1 + a) as the score's
 *                      arrivals indicator is.
 *   CR_QML_ZONES       `cityrisk zonal`: a graduatedSymbol renderer on `score_mean` with the
 *                      class breaks and colours; without score_mean, on `arrivals_total`
 *                      with quantile ranges of its values; without either, outlines.
 *   CR_QML_PALETTED    a class raster with a colour table and category names (`cityrisk
 *                      inundation --dem-rmse`'s confidence classes): a paletted renderer
 *                      with a value per named category, its colour and its name.
 *
 * Nodata is transparent in every raster style (QGIS draws nothing where the band's
 * nodata is). The style names the band it colours by number, so it matches the file it
 * was written for.
 */
#ifndef CITYRISK_QML_H
#define CITYRISK_QML_H

#include "cityrisk/classes.h"
#include "cityrisk/context.h"
#include "cityrisk/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which stage's output a style is for. */
typedef enum cr_qml_style {
    CR_QML_SCORE = 0,
    CR_QML_INUNDATION,
    CR_QML_ARRIVALS,
    CR_QML_ZONES,
    CR_QML_PALETTED
} cr_qml_style;

/* Options of cr_qml_write(); cr_qml_opts_init() sets the defaults. */
typedef struct cr_qml_opts {
    int overwrite;       /* default 0: an existing .qml is not replaced (CR_E_EXISTS) */
    int band;            /* rasters: the band to colour, 1-based; default 0: `score` (or
                          * `class`) for CR_QML_SCORE, band 1 otherwise */
    double ramp_max;     /* INUNDATION, ARRIVALS: the value the ramp must reach; default
                          * NAN: from the data (the deepest cell of every band; the 99th
                          * percentile of the cells above 0, within 1 %), which costs one
                          * read of the raster. The ramp's top is it rounded up to 1, 1.5,
                          * 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten (1 when 0) */
    int class_count;     /* SCORE, ZONES: default 0: the breaks the output records (the
                          * class band's CLASS_BREAKS; the zonal provenance), else INFORM's;
                          * 2..CR_CLASSES_MAX: use breaks[0..class_count - 2] */
    double breaks[CR_CLASSES_MAX - 1];
    const char *classes_from; /* ZONES: a `cityrisk score` raster whose class band's names
                               * and colours label the ranges when its class count matches
                               * (zonal's --exposure); default NULL: generated */
    char **renamed;      /* ZONES: "long=short" field names of the written vector, as
                          * cr_zonal_summary.renamed (Shapefile); default NULL */
} cr_qml_opts;

/* Sets the defaults documented in cr_qml_opts. */
CR_API void cr_qml_opts_init(cr_qml_opts *opts);

/* What cr_qml_write() wrote. */
typedef struct cr_qml_info {
    char path[4096];     /* the .qml written */
    char renderer[32];   /* "singlebandpseudocolor", "paletted", "graduatedSymbol" or "singleSymbol" */
    char field[64];      /* ZONES: the field graduated on, "" for singleSymbol */
    int band;            /* rasters: the band coloured */
    int items;           /* colour ramp items or palette entries (rasters), or ranges
                          * (graduatedSymbol) */
    double ramp_max;     /* INUNDATION, ARRIVALS: the top of the ramp */
} cr_qml_info;

/* The style's path for an output: output with its extension (after the last '.' of
 * the file name) replaced by ".qml", or ".qml" appended when it has none. *qml is
 * malloc()ed (free()). Fails with CR_E_USAGE for "-" (stdout) or an empty path, CR_E_IO
 * when out of memory. */
CR_API cr_status cr_qml_path(cr_ctx *ctx, const char *output, char **qml);

/* Checks, before a stage runs, that the style of output can be written: its folder
 * is writable and it does not exist unless overwrite (CR_E_EXISTS), and it is not the
 * output itself (an output already named *.qml: CR_E_USAGE). */
CR_API cr_status cr_qml_check(cr_ctx *ctx, const char *output, int overwrite);

/* Writes the style of the finished output of a stage beside it (see the top of this
 * header). opts may be NULL for the defaults; info, when not NULL, receives what was
 * written. Fails with CR_E_IO / CR_E_DATA when the output cannot be read or is not
 * what the style expects (a raster without the band, a vector without layers),
 * CR_E_EXISTS when the .qml exists and !opts->overwrite, CR_E_USAGE on bad options;
 * the output is never changed, and no partial .qml is left. */
CR_API cr_status cr_qml_write(cr_ctx *ctx, const char *output, cr_qml_style style,
                              const cr_qml_opts *opts, cr_qml_info *info);

#ifdef __cplusplus
}
#endif

#endif
