/* output.c: checks and atomic publication of output files. */
#define _POSIX_C_SOURCE 200809L
#include "output.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* Splits path into its folder ("." when none) and file name; free() *dir. */
static char *folder_of(const char *path, const char **name)
{
    const char *slash = strrchr(path, '/');
    *name = slash ? slash + 1 : path;
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

cr_status cr_output_check(cr_ctx *ctx, const char *path, int overwrite)
{
    if (!path || !*path)
        return cr_ctx_fail(ctx, CR_E_USAGE, "no output file given");
    const char *name;
    char *dir = folder_of(path, &name);
    if (!dir)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory checking '%s'", path);
    struct stat st;
    cr_status status = CR_OK;
    if (!*name)
        status = cr_ctx_fail(ctx, CR_E_USAGE, "output '%s' names a folder, not a file", path);
    else if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        status = cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': folder '%s' does not exist", path, dir);
    else if (access(dir, W_OK | X_OK) != 0)
        status = cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': folder '%s' is not writable", path, dir);
    else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        status = cr_ctx_fail(ctx, CR_E_USAGE, "cannot write '%s': it is a directory", path);
    else if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) /* renaming over a device replaces it */
        status = cr_ctx_fail(ctx, CR_E_USAGE, "cannot write '%s': not a regular file", path);
    else if (stat(path, &st) == 0 && !overwrite)
        status = cr_ctx_fail(ctx, CR_E_EXISTS, "output '%s' exists; use --overwrite to replace it", path);
    free(dir);
    return status;
}

int cr_output_is_stream(const char *path)
{
    struct stat st;
    return strcmp(path, "-") == 0 ||
           (stat(path, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)));
}

/* The bytes of physical memory, 0 when unknown. */
static double physical_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (double)pages * (double)size : 0.0;
}

double cr_output_staging_bytes(const cr_grid *grid, int bands)
{
    return 4.0 * grid->width * (double)grid->height * bands * 4.0 / 3.0;
}

cr_status cr_output_check_size(cr_ctx *ctx, const char *path, const cr_grid *grid, int bands,
                               const char *source)
{
    double bytes = cr_output_staging_bytes(grid, bands);
    const char *name;
    char *dir = folder_of(path, &name);
    struct statvfs fs;
    double disk = dir && statvfs(dir, &fs) == 0 ? (double)fs.f_blocks * (double)fs.f_frsize : 0.0;
    double memory = physical_memory();
    cr_status st = CR_OK;
    if (disk > 0 && memory > 0 && bytes > disk && bytes > memory)
        st = cr_ctx_fail(ctx, source ? CR_E_DATA : CR_E_USAGE,
                         "the %d x %d grid%s%s%s makes '%s' %.1f GB uncompressed (%d Float32 band%s "
                         "with overviews), more than the whole file system of '%s' (%.1f GB) and "
                         "this machine's memory (%.1f GB) hold; use a coarser resolution or a "
                         "smaller extent",
                         grid->width, grid->height, source ? " of '" : "", source ? source : "",
                         source ? "'" : "", path, bytes / 1e9, bands, bands == 1 ? "" : "s", dir,
                         disk / 1e9, memory / 1e9);
    free(dir);
    return st;
}

cr_status cr_output_check_not_input(cr_ctx *ctx, const char *path, const char *const *inputs)
{
    struct stat out, in;
    if (!inputs || stat(path, &out) != 0)
        return CR_OK; /* a file that does not exist yet is no input */
    for (const char *const *p = inputs; *p; p++) {
        if (stat(*p, &in) == 0 && in.st_dev == out.st_dev && in.st_ino == out.st_ino)
            return cr_ctx_fail(ctx, CR_E_USAGE, "output '%s' is the input '%s'; write to another file",
                               path, *p);
    }
    return CR_OK;
}

/* "<folder>/.<name>.<tag>.XXXXXX" beside path, the template of mkstemp() / mkdtemp(). */
static cr_status temp_template(cr_ctx *ctx, const char *path, const char *tag, char **temp)
{
    const char *name;
    char *dir = folder_of(path, &name);
    size_t len = (dir ? strlen(dir) : 0) + strlen(name) + strlen(tag) + 16;
    *temp = dir ? malloc(len) : NULL;
    if (!*temp) {
        free(dir);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory writing '%s'", path);
    }
    snprintf(*temp, len, "%s/.%s.%s.XXXXXX", dir, name, tag);
    free(dir);
    return CR_OK;
}

cr_status cr_output_temp(cr_ctx *ctx, const char *path, const char *tag, char **temp)
{
    cr_status st = temp_template(ctx, path, tag, temp);
    if (st != CR_OK)
        return st;
    int fd = mkstemp(*temp);
    if (fd < 0) {
        st = cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", path, strerror(errno));
        free(*temp);
        *temp = NULL;
        return st;
    }
    close(fd);
    return CR_OK;
}

cr_status cr_output_publish(cr_ctx *ctx, const char *temp, const char *path)
{
    /* Temporary files are created 0600 by mkstemp; outputs get the usual umask mode. */
    mode_t mask = umask(0);
    umask(mask);
    chmod(temp, 0666 & ~mask);
    if (rename(temp, path) != 0)
        return cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", path, strerror(errno));
    return CR_OK;
}

cr_status cr_output_temp_dir(cr_ctx *ctx, const char *path, const char *tag, char **temp)
{
    cr_status st = temp_template(ctx, path, tag, temp);
    if (st == CR_OK && !mkdtemp(*temp)) {
        st = cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", path, strerror(errno));
        free(*temp);
        *temp = NULL;
    }
    return st;
}

cr_status cr_output_publish_dir(cr_ctx *ctx, const char *temp, const char *path)
{
    const char *name;
    char *dir = folder_of(path, &name);
    DIR *d = dir ? opendir(temp) : NULL;
    if (!d) {
        free(dir);
        return cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", path, strerror(errno));
    }
    cr_status st = CR_OK;
    struct dirent *e;
    while (st == CR_OK && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        size_t lf = strlen(temp) + strlen(e->d_name) + 2, lt = strlen(dir) + strlen(e->d_name) + 2;
        char *from = malloc(lf), *to = malloc(lt);
        if (from && to) {
            snprintf(from, lf, "%s/%s", temp, e->d_name);
            snprintf(to, lt, "%s/%s", dir, e->d_name);
            if (rename(from, to) != 0)
                st = cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", to, strerror(errno));
        } else {
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory writing '%s'", path);
        }
        free(from);
        free(to);
    }
    closedir(d);
    free(dir);
    if (st == CR_OK)
        rmdir(temp);
    return st;
}

void cr_output_discard_dir(const char *temp)
{
    if (!temp)
        return;
    DIR *d = opendir(temp);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        size_t len = strlen(temp) + strlen(e->d_name) + 2;
        char *file = malloc(len);
        if (file) {
            snprintf(file, len, "%s/%s", temp, e->d_name);
            unlink(file);
            free(file);
        }
    }
    if (d)
        closedir(d);
    rmdir(temp);
}
