/*
 * gather.h: the outputs of a sweep of zonal runs gathered into one table.
 *
 * Each input is a zonal output (any OGR vector) of one combination of the sweep's
 * variables, given as "LABEL;LABEL=FILE" (the labels of the --by variables in order) or
 * just FILE. The table has one row per combination and per zone (zones matched across
 * inputs by their id, in the order they first appear; the combinations in the order
 * given): the zone's id and name, one column per variable with its label, the chosen
 * metrics of the zone in that combination's file (null when the zone is not in it), and,
 * when score_rank is one of them, the zone's lowest and highest rank across the sweep and
 * the first combination where each occurs.
 */
#ifndef CITYRISK_GATHER_H
#define CITYRISK_GATHER_H

#include <stdint.h>

#include "cityrisk/context.h"
#include "cityrisk/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The metrics gathered by default, each a field name or a prefix ending in '*': those of
 * the first input that match are the columns. */
#define CR_GATHER_DEFAULT_FIELDS                                                                  \
    "score_mean,score_class,score_rank,arrivals_total,arrivals_flooded*,arrivals_informal,"        \
    "informal_area_share,water_stress_mean,arrivals_high_water_stress"

typedef struct cr_gather_opts {
    char **inputs;          /* CSL: "LABEL[;LABEL...]=FILE", or FILE without by */
    char **by;              /* CSL: the variables the labels are of; NULL: none */
    const char *id_field;   /* NULL: the first field of the first input (a zonal output
                             * keeps the zones' own fields first) */
    const char *name_field; /* NULL: "name" when the first input has it */
    char **fields;          /* CSL of names and "prefix*"; NULL: CR_GATHER_DEFAULT_FIELDS */
    const char *format;     /* OGR driver; NULL: from the output's extension, else GeoJSON */
    int overwrite;
} cr_gather_opts;

/* Sets the defaults above. */
CR_API void cr_gather_opts_init(cr_gather_opts *o);

/* What a gathering made. */
typedef struct cr_gather_summary {
    int64_t rows, zones;
    int inputs, columns; /* columns: the metrics gathered */
    char driver[64];
} cr_gather_summary;

/* Writes the table of the inputs to out (atomically; an existing out only with overwrite:
 * CR_E_EXISTS). CR_E_USAGE for an input not of the --by form, CR_E_DATA for an input
 * without the id field or a field asked for, CR_E_IO when one cannot be read. */
CR_API cr_status cr_gather(cr_ctx *ctx, const char *out, const cr_gather_opts *o, cr_gather_summary *summary);

#ifdef __cplusplus
}
#endif

#endif
