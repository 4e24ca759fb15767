/* fuzzutil.h: what the fuzz targets share: a quiet context, a scratch folder of their
 * own for the readers that take a path, and the abort that reports a broken invariant. */
#ifndef CITYRISK_FUZZUTIL_H
#define CITYRISK_FUZZUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "cityrisk/context.h"

/* libFuzzer's entry points, which every target defines (LLVMFuzzerInitialize where it
 * needs one); replay.c calls them in normal builds. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The context every input runs with, made on the first call: no log sink, no progress,
 * one thread. Its error is cleared before it is returned. The first call also makes any
 * GDAL message that the library does not capture (and so would print) a finding. */
cr_ctx *fz_ctx(void);

/* Writes size bytes to NAME in this process's scratch folder and returns its path, valid
 * until the next call. Aborts when the file cannot be written. The folder is made on the
 * first call under $CITYRISK_FUZZ_TMP, else /dev/shm (memory: fast), else $TMPDIR or
 * /tmp, and removed at a normal exit (a crash or timeout leaves it). */
const char *fz_write(const char *name, const uint8_t *data, size_t size);

/* The scratch folder (made on the first call). */
const char *fz_dir(void);

/* A copy of size bytes with a NUL after them, for the parsers of C strings, in a buffer
 * of exactly that size (so that ASan sees a read past the NUL): free() it. */
char *fz_string(const uint8_t *data, size_t size);

/* Reports a broken invariant on stderr and aborts, so that libFuzzer keeps the input. */
void fz_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;

#define FZ_CHECK(cond, ...)                                                                    \
    do {                                                                                       \
        if (!(cond))                                                                           \
            fz_fail(__VA_ARGS__);                                                              \
    } while (0)

#endif
