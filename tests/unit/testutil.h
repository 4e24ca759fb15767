/* testutil.h: what the unit tests share: cmocka, temporary folders, small rasters. */
#ifndef CITYRISK_TESTUTIL_H
#define CITYRISK_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <gdal.h>

#include "cityrisk/context.h"
#include "cityrisk/grid.h"

/* A seeded generator for the tests' own data (xorshift64*), independent of the library's
 * sampler: set tu_rng_state to a non-zero seed, then draw. */
extern uint64_t tu_rng_state;
uint64_t tu_rng_next(void);

/* A uniform double in [0, 1) from tu_rng_next(). */
double tu_rng_unit(void);

/* A fresh temporary folder, removed with everything in it by tu_rmdir(). */
char *tu_mkdtemp(void);
void tu_rmdir(char *dir);

/* dir/name in a new string to free(). */
char *tu_path(const char *dir, const char *name);

/* Writes text to dir/name and returns the path (free() it). */
char *tu_write_file(const char *dir, const char *name, const char *text);

/* The number of entries in a folder, hidden ones included. */
int tu_count_entries(const char *dir);

/* Writes a Float32 GeoTIFF at path with the given EPSG CRS (0 for none), origin,
 * cell size and values (width*height, row-major); nodata set when has_nodata. */
void tu_write_raster(const char *path, int epsg, double x0, double y0, double res, int width,
                     int height, const float *values, int has_nodata, double nodata);

/* A grid in the given EPSG CRS; fails the test on error. */
cr_grid *tu_grid(int epsg, double x0, double y0, double res, int width, int height);

/* Sum of the valid cells of a whole grid read through a layer. */
double tu_layer_sum(cr_ctx *ctx, const char *path, const cr_grid *grid, int kind, const char **resampling);

#endif
