/* Error records and the one-line-per-file report on stdout. */
#include "synthcity.h"

#include <stdio.h>
#include <string.h>

#include <cpl_error.h>
#include <cpl_vsi.h>

static void copy_text(char *out, size_t out_size, const char *text)
{
    snprintf(out, out_size, "%s", text ? text : "");
}

/* Always returns -1 so callers can write `return synth_fail(...)`. */
int synth_fail(SynthError *err, const char *path, const char *reason)
{
    copy_text(err->path, sizeof err->path, path);
    copy_text(err->reason, sizeof err->reason, reason);
    return -1;
}

/* GDAL keeps its last message per thread; prefer it, as it names the real cause (disk full,
 * permission denied, missing driver). Newlines would break the one-line error contract. */
int synth_fail_gdal(SynthError *err, const char *path, const char *fallback)
{
    const char *msg = CPLGetLastErrorMsg();
    synth_fail(err, path, msg && *msg ? msg : fallback);
    for (char *c = err->reason; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    return -1;
}

int join_path(char *out, size_t out_size, const char *dir, const char *name)
{
    size_t len = strlen(dir);
    const char *sep = (len > 0 && dir[len - 1] == '/') ? "" : "/";
    int n = snprintf(out, out_size, "%s%s%s", dir, sep, name);
    return n >= 0 && (size_t)n < out_size ? 0 : -1;
}

/* Size by seeking: VSIStatBufL is a struct stat64, hidden from strict C11 builds. */
static long long file_size(const char *path)
{
    VSILFILE *f = VSIFOpenL(path, "rb");
    if (!f)
        return -1;
    long long size = VSIFSeekL(f, 0, SEEK_END) == 0 ? (long long)VSIFTellL(f) : -1;
    VSIFCloseL(f);
    return size;
}

void report_written(const char *path)
{
    printf("%s\t%lld\n", path, file_size(path));
    fflush(stdout);
}
