/* output.h: publishing outputs atomically (internal to the library). */
#ifndef CITYRISK_OUTPUT_H
#define CITYRISK_OUTPUT_H

#include "cityrisk/context.h"

/* Checks that path can become an output: its folder exists and is writable, it is
 * not a directory, and it does not exist unless overwrite is set (CR_E_EXISTS). */
cr_status cr_output_check(cr_ctx *ctx, const char *path, int overwrite);

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
