/*
 * cityrisk.h: the whole public API of the cityrisk library, in one include.
 *
 * cityrisk tells which neighbourhoods put newly arriving migrants most at risk from
 * climate hazards. Each stage of the analysis (inundation, arrivals, score, zonal, map,
 * info, pipelines) is one call that reads files and writes files GDAL, OGR and QGIS open;
 * the headers below declare each, with the building blocks they share (the analysis
 * grid, rasters on it, the COG writer, classes, cell coverage).
 *
 * What a caller does:
 *
 *   - First, register GDAL's drivers: GDALAllRegister() (gdal.h), once, before any call
 *     that opens a file. The library never registers them itself, so that a program
 *     chooses its drivers and GDAL's configuration (GDAL_CACHEMAX, ...) before.
 *   - Create a context with cr_ctx_new() and pass it to every call. A context is not
 *     thread-safe: use one per thread. A fallible call returns a cr_status (CR_OK is 0)
 *     and leaves a one-line message in the context, cr_ctx_error(); the library never
 *     prints or exits. Progress, cancellation, thread count and log sink are set on the
 *     context (context.h).
 *   - Options structs are filled with their defaults by their *_opts_init() function
 *     before the caller changes a field; strings in them are borrowed.
 *   - Free what the library allocates with the function its header names: every *_new
 *     and *_open has a *_free or *_close that accepts NULL, a stage's summary is
 *     released with its *_summary_clear(), a json-c document with json_object_put(), and
 *     strings documented as malloc()ed with free(). Free the context last with
 *     cr_ctx_free().
 *
 * Build: pkg-config --cflags --libs cityrisk, or find_package(cityrisk) and link
 * cityrisk::cityrisk. GDAL and json-c are public dependencies (these headers include
 * theirs). tests/install/consumer.c is a complete example.
 */
#ifndef CITYRISK_CITYRISK_H
#define CITYRISK_CITYRISK_H

#include "cityrisk/version.h"

#include "cityrisk/context.h"

#include "cityrisk/arrivals.h"
#include "cityrisk/classes.h"
#include "cityrisk/command.h"
#include "cityrisk/coverage.h"
#include "cityrisk/gather.h"
#include "cityrisk/grid.h"
#include "cityrisk/tile.h"
#include "cityrisk/info.h"
#include "cityrisk/inundation.h"
#include "cityrisk/json.h"
#include "cityrisk/map.h"
#include "cityrisk/mosaic.h"
#include "cityrisk/number.h"
#include "cityrisk/pipeline.h"
#include "cityrisk/qml.h"
#include "cityrisk/raster.h"
#include "cityrisk/score.h"
#include "cityrisk/report.h"
#include "cityrisk/sensitivity.h"
#include "cityrisk/sobol.h"
#include "cityrisk/vector.h"
#include "cityrisk/zonal.h"

#endif
