/* vsiwatch.c: a GDAL virtual file system that passes everything through to the real
 * file and remembers which writes failed, and why. */
#define _POSIX_C_SOURCE 200809L
#include "vsiwatch.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_vsi.h>

#define PREFIX "/vsicrwatch/"

/* An open watched file. */
typedef struct watched {
    VSILFILE *fp;
    char *path;
} watched;

/* The failures not yet asked for: few, since a writer asks after every output. */
typedef struct failure {
    char *path;
    int err;
    struct failure *next;
} failure;

static pthread_mutex_t failures_lock = PTHREAD_MUTEX_INITIALIZER;
static failure *failures;
static pthread_once_t installed = PTHREAD_ONCE_INIT;

/* Records the first failure of path; errno 0 (a short write without a reason) is EIO. */
static void record_failure(const char *path, int err)
{
    pthread_mutex_lock(&failures_lock);
    failure *f = failures;
    while (f && strcmp(f->path, path) != 0)
        f = f->next;
    if (!f) { /* a later failure of the same file says less than the first */
        f = calloc(1, sizeof *f);
        char *copy = f ? strdup(path) : NULL;
        if (copy) {
            f->path = copy;
            f->err = err ? err : EIO;
            f->next = failures;
            failures = f;
        } else {
            free(f); /* out of memory: the writer still sees GDAL's own failure */
        }
    }
    pthread_mutex_unlock(&failures_lock);
}

int cr_watch_failure(const char *prefix)
{
    int err = 0;
    size_t len = strlen(prefix);
    pthread_mutex_lock(&failures_lock);
    for (failure **p = &failures; *p;) {
        failure *f = *p;
        if (strncmp(f->path, prefix, len) == 0) {
            err = f->err; /* the list is newest first: the oldest wins */
            *p = f->next;
            free(f->path);
            free(f);
        } else {
            p = &f->next;
        }
    }
    pthread_mutex_unlock(&failures_lock);
    return err;
}

static void *watch_open(void *unused, const char *path, const char *access)
{
    (void)unused;
    watched *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path)) || !(w->fp = VSIFOpenL(path, access))) {
        int err = errno;
        if (w)
            free(w->path);
        free(w);
        errno = err;
        return NULL;
    }
    return w;
}

static size_t watch_write(void *file, const void *buf, size_t size, size_t count)
{
    watched *w = file;
    errno = 0;
    size_t done = VSIFWriteL(buf, size, count, w->fp);
    if (done < count)
        record_failure(w->path, errno);
    return done;
}

static int watch_flush(void *file)
{
    watched *w = file;
    errno = 0;
    int rc = VSIFFlushL(w->fp);
    if (rc != 0)
        record_failure(w->path, errno);
    return rc;
}

static int watch_close(void *file)
{
    watched *w = file;
    errno = 0;
    int rc = VSIFCloseL(w->fp);
    if (rc != 0)
        record_failure(w->path, errno);
    free(w->path);
    free(w);
    return rc;
}

static size_t watch_read(void *file, void *buf, size_t size, size_t count)
{
    return VSIFReadL(buf, size, count, ((watched *)file)->fp);
}

static int watch_seek(void *file, vsi_l_offset offset, int whence)
{
    return VSIFSeekL(((watched *)file)->fp, offset, whence);
}

static vsi_l_offset watch_tell(void *file)
{
    return VSIFTellL(((watched *)file)->fp);
}

static int watch_eof(void *file)
{
    return VSIFEofL(((watched *)file)->fp);
}

static int watch_truncate(void *file, vsi_l_offset size)
{
    watched *w = file;
    errno = 0;
    int rc = VSIFTruncateL(w->fp, size);
    if (rc != 0)
        record_failure(w->path, errno);
    return rc;
}

static int watch_stat(void *unused, const char *path, VSIStatBufL *buf, int flags)
{
    (void)unused;
    return VSIStatExL(path, buf, flags);
}

static int watch_unlink(void *unused, const char *path)
{
    (void)unused;
    return VSIUnlink(path);
}

static int watch_rename(void *unused, const char *from, const char *to)
{
    (void)unused;
    return VSIRename(from, to);
}

static int watch_mkdir(void *unused, const char *path, long mode)
{
    (void)unused;
    return VSIMkdir(path, mode);
}

static int watch_rmdir(void *unused, const char *path)
{
    (void)unused;
    return VSIRmdir(path);
}

static char **watch_read_dir(void *unused, const char *path, int max_files)
{
    (void)unused;
    return VSIReadDirEx(path, max_files);
}

static void install(void)
{
    VSIFilesystemPluginCallbacksStruct *cb = VSIAllocFilesystemPluginCallbacksStruct();
    if (!cb)
        return;
    cb->open = watch_open;
    cb->write = watch_write;
    cb->flush = watch_flush;
    cb->close = watch_close;
    cb->read = watch_read;
    cb->seek = watch_seek;
    cb->tell = watch_tell;
    cb->eof = watch_eof;
    cb->truncate = watch_truncate;
    cb->stat = watch_stat;
    cb->unlink = watch_unlink;
    cb->rename = watch_rename;
    cb->mkdir = watch_mkdir;
    cb->rmdir = watch_rmdir;
    cb->read_dir = watch_read_dir;
    VSIInstallPluginHandler(PREFIX, cb); /* copies the struct */
    VSIFreeFilesystemPluginCallbacksStruct(cb);
}

void cr_watch_unwrap(char *text)
{
    size_t n = strlen(PREFIX);
    for (char *p = strstr(text, PREFIX); p; p = strstr(p, PREFIX))
        memmove(p, p + n, strlen(p + n) + 1);
}

char *cr_watch_path(const char *path)
{
    pthread_once(&installed, install);
    size_t len = strlen(PREFIX) + strlen(path) + 1;
    char *out = malloc(len);
    if (out) {
        memcpy(out, PREFIX, strlen(PREFIX));
        memcpy(out + strlen(PREFIX), path, strlen(path) + 1);
    }
    return out;
}
