/* json.h: JSON helpers shared by the library and the program. */
#ifndef CITYRISK_JSON_H
#define CITYRISK_JSON_H

#include <json-c/json.h>

#include "cityrisk/export.h"
#include "cityrisk/grid.h"
#include "cityrisk/tile.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A JSON number written with `digits` significant digits (whole numbers as
 * integers), or NULL (JSON null) for NaN and infinities, so that summaries read
 * 0.56 rather than 0.56000000000000005. */
CR_API json_object *cr_json_number(double v, int digits);

/* The document as JSON text with json-c's flags (JSON_C_TO_STRING_*) in a string to
 * free(), or NULL when out of memory: valid UTF-8 whatever its strings held (bytes that
 * are not UTF-8 become U+FFFD; json-c escapes control characters), so strict parsers
 * read it. */
CR_API char *cr_json_text(json_object *doc, int flags);

/* The document as compact JSON text (slashes not escaped, valid UTF-8 as cr_json_text())
 * in a string to free(), or NULL when out of memory. Releases doc (json_object_put) in every case, so
 * that a document built for a metadata item is one expression. */
CR_API char *cr_json_take_text(json_object *doc);

/* A grid as {"width", "height", "resolution": [x, y], "bounds": [xmin, ymin, xmax,
 * ymax], "crs": {"name", "epsg", "geographic", "units"}}. */
CR_API json_object *cr_grid_to_json(const cr_grid *grid);

/* Adds to a command's JSON summary the part of the grid it computed, when spec names one:
 * "tile": "I/N" (with --tile) and "window": [x, y, w, h]; nothing for the whole grid. */
CR_API void cr_json_add_tile(json_object *doc, const cr_tile_spec *spec, const cr_window *window);

#ifdef __cplusplus
}
#endif

#endif
