/* json.h: JSON helpers shared by the library and the program. */
#ifndef CITYRISK_JSON_H
#define CITYRISK_JSON_H

#include <json-c/json.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A JSON number written with `digits` significant digits (whole numbers as
 * integers), or NULL (JSON null) for NaN and infinities, so that summaries read
 * 0.56 rather than 0.56000000000000005. */
json_object *cr_json_number(double v, int digits);

#ifdef __cplusplus
}
#endif

#endif
