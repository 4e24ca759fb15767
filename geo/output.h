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

#endif
