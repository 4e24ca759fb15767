/* output.h: publishing outputs atomically (internal to the library). */
#ifndef CITYRISK_OUTPUT_H
#define CITYRISK_OUTPUT_H

#include "cityrisk/context.h"
#include "cityrisk/grid.h"

/* Checks that path can become an output: its folder exists and is writable, it is
 * not a directory, and it does not exist unless overwrite is set (CR_E_EXISTS). */
cr_status cr_output_check(cr_ctx *ctx, const char *path, int overwrite);

/* 1 when path is "-" (standard output) or an existing character device or FIFO
 * (/dev/full, a named pipe): such an output is written in place as a stream, not
 * through a temporary file, and needs no --overwrite. */
int cr_output_is_stream(const char *path);

/* The bytes of the uncompressed staging file of a raster of `bands` Float32 bands on grid,
 * overviews (a third more) included: what writer.c compresses beyond a threshold and
 * cr_output_check_size() weighs against the disk and memory. */
double cr_output_staging_bytes(const cr_grid *grid, int bands);

/* Refuses, before any work, a grid so large that its raster of `bands` Float32 bands
 * (uncompressed, with overviews) could be held neither by the whole file system of path's
 * folder nor in this machine's memory: a request far beyond the task (a 10^6 x 10^6 grid),
 * refused with the size it would need rather than after hours of writing. A merely full
 * disk is not this: writing then fails with CR_E_IO. source is the raster the grid comes
 * from (the failure is then CR_E_DATA, naming it), NULL when it comes from options
 * (CR_E_USAGE). Passes when the sizes cannot be known. */
cr_status cr_output_check_size(cr_ctx *ctx, const char *path, const cr_grid *grid, int bands,
                               const char *source);

/* Fails with CR_E_USAGE when path names the same file as one of inputs (a
 * NULL-terminated list, may be NULL): an output must never replace an input. */
cr_status cr_output_check_not_input(cr_ctx *ctx, const char *path, const char *const *inputs);

/* Creates an empty hidden temporary file beside path, ".<name>.<tag>.XXXXXX", and
 * returns its name in *temp (free()). */
cr_status cr_output_temp(cr_ctx *ctx, const char *path, const char *tag, char **temp);

/* Renames temp over path in one step. */
cr_status cr_output_publish(cr_ctx *ctx, const char *temp, const char *path);

/* Creates a hidden temporary folder beside path, ".<name>.<tag>.XXXXXX", for outputs
 * made of several files (a Shapefile); its name goes to *temp (free()). */
cr_status cr_output_temp_dir(cr_ctx *ctx, const char *path, const char *tag, char **temp);

/* Moves every file of the temporary folder into path's folder, each in one step, and
 * removes the folder. */
cr_status cr_output_publish_dir(cr_ctx *ctx, const char *temp, const char *path);

/* Removes the temporary folder and everything in it. Accepts NULL. */
void cr_output_discard_dir(const char *temp);

#endif
