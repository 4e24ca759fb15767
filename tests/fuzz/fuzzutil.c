/* fuzzutil.c: the quiet context, the scratch folder and the invariant failures of the
 * fuzz targets. */
#define _POSIX_C_SOURCE 200809L
#include "fuzzutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpl_error.h>

static cr_ctx *ctx;
static char dir[4096];
static char path[4096 + 256];

/* GDAL's global error handler, which sees only what the library did not capture (its
 * cr_gdal_begin() and CPLPushErrorHandler() calls take the others): anything reaching it
 * would have been printed by the library, which must never print. */
static void escaped(CPLErr level, CPLErrorNum number, const char *message)
{
    if (level == CE_Debug || level == CE_None)
        return;
    fz_fail("GDAL message escaped the library (level %d, error %d): %s", (int)level, number,
            message);
}

cr_ctx *fz_ctx(void)
{
    if (!ctx) {
        CPLSetErrorHandler(escaped);
        ctx = cr_ctx_new();
        if (!ctx)
            fz_fail("cannot create a cityrisk context");
        cr_ctx_set_threads(ctx, 1);
    }
    cr_ctx_clear_error(ctx);
    return ctx;
}

/* Removes the scratch folder and what the targets wrote into it (no subfolders). */
static void remove_dir(void)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

const char *fz_dir(void)
{
    if (dir[0])
        return dir;
    struct stat sb;
    const char *base = getenv("CITYRISK_FUZZ_TMP");
    if (!base || !*base) {
        base = getenv("TMPDIR");
        if (stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0)
            base = "/dev/shm";
        else if (!base || !*base)
            base = "/tmp";
    }
    snprintf(dir, sizeof dir, "%s/cityrisk-fuzz-XXXXXX", base);
    if (!mkdtemp(dir))
        fz_fail("cannot make a scratch folder under %s", base);
    atexit(remove_dir);
    return dir;
}

const char *fz_write(const char *name, const uint8_t *data, size_t size)
{
    snprintf(path, sizeof path, "%s/%s", fz_dir(), name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        fz_fail("cannot write %s", path);
    for (size_t done = 0; done < size;) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0)
            fz_fail("cannot write %s", path);
        done += (size_t)n;
    }
    close(fd);
    return path;
}

char *fz_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        fz_fail("out of memory");
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

void fz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("invariant broken: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}
