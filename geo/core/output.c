/* output.c: the files a command writes: checked before any work, written under hidden
 * temporary names locked by their writer, published atomically. */
#define _GNU_SOURCE /* renameat2(), mkostemp(), flock() */
#include "output.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cpl_string.h>
#include <gdal.h>
#include <json-c/json.h>

#include "cityrisk/json.h"

#include "internal.h"

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

/* cr_output_check(), naming the output path is a file of (part_of) when not NULL. */
static cr_status check_one(cr_ctx *ctx, const char *path, int overwrite, const char *part_of)
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
        status = cr_ctx_fail(ctx, CR_E_EXISTS, "output '%s'%s%s%s exists; use --overwrite to replace it",
                             path, part_of ? " (a file of '" : "", part_of ? part_of : "",
                             part_of ? "')" : "");
    free(dir);
    return status;
}

cr_status cr_output_check(cr_ctx *ctx, const char *path, int overwrite)
{
    return check_one(ctx, path, overwrite, NULL);
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

/* ---- the plan of a command's files ---- */

/* The extension of path's file name (after its last dot, not a leading one), or NULL. */
size_t cr_path_stem(const char *path)
{
    const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
    const char *dot = strrchr(name, '.');
    return dot && dot != name && dot[1] ? (size_t)(dot - path) : strlen(path);
}

static const char *extension_of(const char *path)
{
    size_t stem = cr_path_stem(path);
    return path[stem] ? path + stem + 1 : NULL;
}

/* The extensions of the other files of a dataset of several files: by the OGR driver that
 * writes it, or (driver NULL) by the extension of its main file. GDAL writes them in lower
 * case; a file that an older dataset of that name may have and the new one need not (a
 * spatial index, a GML schema) counts too, since it would describe the wrong data. */
static const char *const *family_extensions(const char *driver, const char *ext)
{
    static const char *const SHP[] = {"shx", "dbf", "prj", "cpg", "qix", "sbn", "sbx", NULL};
    static const char *const TAB[] = {"dat", "map", "id", "ind", NULL};
    static const char *const MIF[] = {"mid", NULL};
    static const char *const CSV[] = {"csvt", "prj", NULL};
    static const char *const GML[] = {"xsd", "gfs", NULL};
    static const char *const NONE[] = {NULL};
    if (!driver && ext) /* the driver that reads the file by its extension */
        driver = strcasecmp(ext, "shp") == 0                                     ? "ESRI Shapefile"
                 : strcasecmp(ext, "tab") == 0 || strcasecmp(ext, "mif") == 0 ? "MapInfo File"
                 : strcasecmp(ext, "csv") == 0                                   ? "CSV"
                 : strcasecmp(ext, "gml") == 0                                   ? "GML"
                                                                                 : NULL;
    if (!driver)
        return NONE;
    if (strcmp(driver, "ESRI Shapefile") == 0)
        return SHP;
    if (strcmp(driver, "MapInfo File") == 0)
        return ext && strcasecmp(ext, "mif") == 0 ? MIF : TAB;
    if (strcmp(driver, "CSV") == 0)
        return CSV;
    if (strcmp(driver, "GML") == 0)
        return GML;
    return NONE;
}

/* Frees a NULL-terminated list of strings. */
static void free_list(char **list)
{
    for (char **p = list; p && *p; p++)
        free(*p);
    free(list);
}

/* The files beside path of its format (see family_extensions), in lower case and, when
 * both_cases, in upper case too (a Shapefile copied from Windows: X.SHP, X.DBF). */
static char **family_list(const char *path, const char *driver, int both_cases)
{
    const char *ext = extension_of(path);
    const char *const *exts = family_extensions(driver, ext);
    size_t n = 0, stem = ext ? (size_t)(ext - 1 - path) : strlen(path);
    while (exts[n])
        n++;
    char **list = calloc(2 * n + 1, sizeof *list);
    if (!list)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        for (int upper = 0; upper <= both_cases; upper++) {
            size_t len = stem + strlen(exts[i]) + 2;
            char *file = malloc(len);
            if (!file) {
                free_list(list);
                return NULL;
            }
            snprintf(file, len, "%.*s.%s", (int)stem, path, exts[i]);
            for (char *c = file + stem + 1; upper && *c; c++)
                *c = (char)toupper((unsigned char)*c);
            list[k++] = file;
        }
    }
    return list;
}

void cr_output_plan_init(cr_output_plan *plan)
{
    memset(plan, 0, sizeof *plan);
}

void cr_output_plan_release(cr_output_plan *plan)
{
    for (int i = 0; i < plan->count; i++) {
        free(plan->file[i].path);
        free(plan->file[i].part_of);
    }
    free(plan->file);
    cr_output_plan_init(plan);
}

static cr_status plan_add(cr_ctx *ctx, cr_output_plan *plan, const char *path, const char *what,
                          const char *part_of)
{
    if (plan->count == plan->capacity) {
        int capacity = plan->capacity ? 2 * plan->capacity : 8;
        cr_planned *grown = realloc(plan->file, (size_t)capacity * sizeof *grown);
        if (!grown)
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory checking '%s'", path);
        plan->file = grown;
        plan->capacity = capacity;
    }
    cr_planned *f = &plan->file[plan->count];
    f->path = strdup(path);
    f->part_of = part_of ? strdup(part_of) : NULL;
    f->what = what;
    if (!f->path || (part_of && !f->part_of)) {
        free(f->path);
        free(f->part_of);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory checking '%s'", path);
    }
    plan->count++;
    return CR_OK;
}

cr_status cr_output_plan_add(cr_ctx *ctx, cr_output_plan *plan, const char *path, const char *what)
{
    return plan_add(ctx, plan, path, what, NULL);
}

cr_status cr_output_plan_add_styles(cr_ctx *ctx, cr_output_plan *plan, const char *const *paths)
{
    cr_status st = CR_OK;
    for (const char *const *p = paths; st == CR_OK && p && *p; p++)
        st = plan_add(ctx, plan, *p, "QGIS style", NULL);
    return st;
}

cr_status cr_output_plan_add_vector(cr_ctx *ctx, cr_output_plan *plan, const char *path,
                                    const char *driver)
{
    cr_vector_layout layout;
    cr_status st = cr_vector_layout_init(ctx, path, driver, &layout);
    for (char **f = layout.files; st == CR_OK && f && *f; f++)
        st = plan_add(ctx, plan, *f, "vector", f == layout.files ? NULL : path);
    cr_vector_layout_release(&layout);
    return st;
}

/* Where a file is or would be: its folder's device and inode and its name; the folder's
 * path when it cannot be seen (cr_output_check then says why). */
typedef struct place {
    dev_t dev;
    ino_t ino;
    int seen;
    char *dir;
    const char *name;
} place;

static int place_of(const char *path, place *p)
{
    struct stat st;
    p->dir = folder_of(path, &p->name);
    if (!p->dir)
        return 0;
    p->seen = stat(p->dir, &st) == 0;
    p->dev = p->seen ? st.st_dev : 0;
    p->ino = p->seen ? st.st_ino : 0;
    return 1;
}

static int same_place(const place *a, const place *b)
{
    if (strcmp(a->name, b->name) != 0)
        return 0;
    if (a->seen && b->seen)
        return a->dev == b->dev && a->ino == b->ino;
    return !a->seen && !b->seen && strcmp(a->dir, b->dir) == 0;
}

/* Fails when the planned file f is input or a file of input's format. */
static cr_status check_against_input(cr_ctx *ctx, const cr_planned *f, const struct stat *out,
                                     const char *input)
{
    /* A style names the file it styles ("QGIS style of the depth raster"): still a style. */
    const char *label = strcmp(f->what, "report") == 0 ? f->what
                        : strncmp(f->what, "QGIS style", 10) == 0 ? "QGIS style"
                                                                   : "output";
    char part[1200] = "";
    if (f->part_of)
        snprintf(part, sizeof part, " (a file of '%s')", f->part_of);
    struct stat in;
    if (stat(input, &in) == 0 && in.st_dev == out->st_dev && in.st_ino == out->st_ino)
        return cr_ctx_fail(ctx, CR_E_USAGE, "%s '%s'%s is the input '%s'; write to another file",
                           label, f->path, part, input);
    char **family = family_list(input, NULL, 1);
    if (!family)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory checking '%s'", f->path);
    cr_status st = CR_OK;
    for (char **m = family; st == CR_OK && *m; m++)
        if (stat(*m, &in) == 0 && in.st_dev == out->st_dev && in.st_ino == out->st_ino)
            st = cr_ctx_fail(ctx, CR_E_USAGE,
                             "%s '%s'%s is the input '%s' (a file of '%s'); write to another file",
                             label, f->path, part, *m, input);
    free_list(family);
    return st;
}

cr_status cr_output_plan_check(cr_ctx *ctx, const cr_output_plan *plan, const char *const *inputs,
                               int overwrite)
{
    for (int i = 0; i < plan->count; i++) {
        const cr_planned *f = &plan->file[i];
        if (strcmp(f->path, "-") == 0)
            return cr_ctx_fail(ctx, CR_E_USAGE,
                               "a %s cannot be written to standard output (%s -); give a file name",
                               f->what, strcmp(f->what, "report") == 0 ? "--report" : "-o");
    }
    cr_status st = CR_OK;
    for (int i = 0; st == CR_OK && i < plan->count; i++) {
        struct stat out;
        if (stat(plan->file[i].path, &out) != 0)
            continue; /* a file that does not exist yet is no input */
        for (const char *const *in = inputs; st == CR_OK && in && *in; in++)
            st = check_against_input(ctx, &plan->file[i], &out, *in);
    }
    place *places = st == CR_OK ? calloc((size_t)plan->count + 1, sizeof *places) : NULL;
    if (st == CR_OK && !places)
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory checking the outputs");
    for (int i = 0; st == CR_OK && i < plan->count; i++) {
        if (!place_of(plan->file[i].path, &places[i]))
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory checking '%s'", plan->file[i].path);
        for (int j = 0; st == CR_OK && j < i; j++)
            if (same_place(&places[i], &places[j]))
                st = cr_ctx_fail(ctx, CR_E_USAGE,
                                 "'%s' would be written twice (as the %s and as the %s); give each "
                                 "its own name",
                                 plan->file[i].path, plan->file[j].what, plan->file[i].what);
    }
    for (int i = 0; places && i < plan->count; i++)
        free(places[i].dir);
    free(places);
    for (int i = 0; st == CR_OK && i < plan->count; i++)
        st = check_one(ctx, plan->file[i].path, overwrite, plan->file[i].part_of);
    return st;
}

cr_status cr_outputs_check(cr_ctx *ctx, const char *path, const char *what,
                           const char *const *styles, const char *const *inputs, int overwrite)
{
    cr_output_plan plan;
    cr_output_plan_init(&plan);
    cr_status st = cr_output_plan_add(ctx, &plan, path ? path : "", what);
    if (st == CR_OK)
        st = cr_output_plan_add_styles(ctx, &plan, styles);
    if (st == CR_OK)
        st = cr_output_plan_check(ctx, &plan, inputs, overwrite);
    cr_output_plan_release(&plan);
    return st;
}

cr_status cr_vector_layout_init(cr_ctx *ctx, const char *path, const char *driver,
                                cr_vector_layout *layout)
{
    memset(layout, 0, sizeof *layout);
    const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
    const char *ext = extension_of(path);
    size_t stem = ext ? (size_t)(ext - 1 - name) : strlen(name);
    size_t len = strlen(name) + 8;
    char *family_base = NULL; /* the file whose format's other files are the output's */
    if (strcmp(driver, "ESRI Shapefile") == 0 && (!ext || strcasecmp(ext, "shp") != 0))
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "a Shapefile is named NAME.shp (its .shx, .dbf and .prj go beside it), "
                           "not '%s'", path);
    if (strcmp(driver, "MapInfo File") == 0 &&
        (!ext || (strcasecmp(ext, "tab") != 0 && strcasecmp(ext, "mif") != 0)))
        return cr_ctx_fail(ctx, CR_E_USAGE,
                           "a MapInfo table is named NAME.tab or NAME.mif, not '%s'", path);
    if (!(layout->driver_name = malloc(len)))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory writing '%s'", path);
    if (strcmp(driver, "ESRI Shapefile") == 0) /* GDAL writes NAME.shp whatever the case */
        snprintf(layout->driver_name, len, "%.*s.shp", (int)stem, name);
    else if (strcmp(driver, "CSV") == 0 && (!ext || strcasecmp(ext, "csv") != 0))
        snprintf(layout->driver_name, len, "%s.csv", name); /* else GDAL makes a folder */
    else
        snprintf(layout->driver_name, len, "%s", name);
    if (strcmp(driver, "CSV") == 0) { /* its .csvt and .prj are named after what it writes */
        size_t n = (size_t)(name - path) + strlen(layout->driver_name) + 1;
        if ((family_base = malloc(n)) != NULL)
            snprintf(family_base, n, "%.*s%s", (int)(name - path), path, layout->driver_name);
    } else {
        family_base = strdup(path);
    }
    char **family = family_base ? family_list(family_base, driver, 0) : NULL;
    free(family_base);
    size_t count = 0;
    while (family && family[count])
        count++;
    layout->files = family ? calloc(count + 2, sizeof *layout->files) : NULL;
    if (layout->files && (layout->files[0] = strdup(path)) != NULL) {
        memcpy(layout->files + 1, family, count * sizeof *family);
        free(family);
        return CR_OK;
    }
    free_list(family);
    free(layout->files);
    layout->files = NULL;
    cr_vector_layout_release(layout);
    return cr_ctx_fail(ctx, CR_E_IO, "out of memory writing '%s'", path);
}

void cr_vector_layout_release(cr_vector_layout *layout)
{
    free(layout->driver_name);
    free_list(layout->files);
    memset(layout, 0, sizeof *layout);
}

/* ---- temporary files ---- */

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

/* The deepest folder a temporary folder holds that is removed (GDAL writes at most one
 * level of layers). */
enum { TREE_DEPTH_MAX = 8 };

/* Removes what the open folder fd holds, without following symbolic links; closes fd. */
static void empty_tree(int fd, int depth)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(fd, e->d_name, 0) == 0 || (errno != EISDIR && errno != EPERM))
            continue;
        int sub = depth < TREE_DEPTH_MAX
                      ? openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                      : -1;
        if (sub >= 0) {
            empty_tree(sub, depth + 1);
            unlinkat(fd, e->d_name, AT_REMOVEDIR);
        }
    }
    closedir(d); /* closes fd */
}

/* Removes the folder path and what it holds. */
static void remove_tree(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0)
        empty_tree(fd, 0);
    rmdir(path);
}

/* 1 when name is ".<output>.<tag>.XXXXXX" (a temporary of output: tag lower-case letters,
 * six letters or digits of mkstemp), with *companion set when GDAL's own suffix follows
 * (".ovr.tmp" of the COG driver): then *base_len is the length of the temporary's name. */
static int is_temp_of(const char *name, const char *output, size_t *base_len, int *companion)
{
    size_t n = strlen(output);
    if (name[0] != '.' || strncmp(name + 1, output, n) != 0 || name[n + 1] != '.')
        return 0;
    const char *p = name + n + 2, *tag = p;
    while (*p >= 'a' && *p <= 'z')
        p++;
    if (p == tag || *p != '.')
        return 0;
    p++;
    for (int i = 0; i < 6; i++, p++)
        if (!isalnum((unsigned char)*p))
            return 0;
    if (*p && *p != '.')
        return 0;
    *base_len = (size_t)(p - name);
    *companion = *p == '.';
    return 1;
}

/* Removes the temporary name of folder dfd (dir) when no process holds its lock: the lock of
 * a live writer is held from just after creation until it is published or removed, and the
 * kernel drops it when its process ends, so a lock free to take means the writer is gone.
 * A lock that cannot be tried (a file system without flock, a file of another user) keeps
 * the file. Returns 1 when removed. */
static int remove_if_stale(cr_ctx *ctx, int dfd, const char *shown, const char *name)
{
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct stat st, now;
    int removed = 0;
    if (fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) &&
        flock(fd, LOCK_EX | LOCK_NB) == 0 &&
        fstatat(dfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_dev == st.st_dev &&
        now.st_ino == st.st_ino) {
        if (S_ISDIR(st.st_mode)) {
            int inner = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (inner >= 0)
                empty_tree(inner, 0);
            removed = unlinkat(dfd, name, AT_REMOVEDIR) == 0;
        } else {
            removed = unlinkat(dfd, name, 0) == 0;
        }
        if (removed)
            cr_ctx_log(ctx, CR_LOG_WARNING,
                       "removed '%s%s', a temporary %s of a run that did not finish (no process "
                       "holds it)",
                       shown, name, S_ISDIR(st.st_mode) ? "folder" : "file");
    }
    close(fd);
    return removed;
}

/* Removes the stale temporaries of path left in its folder by runs that ended without
 * cleaning up (kill -9, a power cut, a second signal before this version), and the files
 * GDAL made beside them. Those of other outputs, and those of live runs, are left alone. */
static void sweep_stale(cr_ctx *ctx, const char *path)
{
    const char *name;
    char *dir = folder_of(path, &name);
    DIR *d = dir && *name ? opendir(dir) : NULL;
    if (!d) {
        free(dir);
        return;
    }
    /* The names first: the folder changes while they are removed. */
    char **bases = NULL, **companions = NULL;
    size_t nb = 0, nc = 0, cb = 0, cc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t base_len;
        int companion;
        if (!is_temp_of(e->d_name, name, &base_len, &companion))
            continue;
        char ***list = companion ? &companions : &bases;
        size_t *n = companion ? &nc : &nb, *cap = companion ? &cc : &cb;
        if (*n + 1 >= *cap) {
            size_t grown_cap = *cap ? 2 * *cap : 8;
            char **grown = realloc(*list, grown_cap * sizeof *grown);
            if (!grown)
                break;
            *list = grown;
            *cap = grown_cap;
        }
        char *copy = strdup(e->d_name);
        if (!copy)
            break;
        (*list)[(*n)++] = copy;
    }
    int dfd = dirfd(d);
    /* Messages name the files as the output is named: "out/.x.tif.part.Ab12Cd". */
    char *shown = strndup(path, (size_t)(name - path));
    for (size_t i = 0; shown && i < nb; i++)
        remove_if_stale(ctx, dfd, shown, bases[i]);
    /* GDAL's files beside a temporary are not locked: they are stale once their temporary
     * is gone (removed above, or by a run that ended). */
    for (size_t i = 0; shown && i < nc; i++) {
        size_t base_len;
        int companion;
        struct stat st;
        is_temp_of(companions[i], name, &base_len, &companion);
        char *base = strndup(companions[i], base_len);
        if (base && fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT &&
            fstatat(dfd, companions[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            unlinkat(dfd, companions[i], 0) == 0)
            cr_ctx_log(ctx, CR_LOG_WARNING,
                       "removed '%s%s', a temporary file of a run that did not finish", shown,
                       companions[i]);
        free(base);
    }
    for (size_t i = 0; i < nb; i++)
        free(bases[i]);
    for (size_t i = 0; i < nc; i++)
        free(companions[i]);
    free(bases);
    free(companions);
    free(shown);
    closedir(d);
    free(dir);
}

/* The most attempts at a temporary that a sweep of another run removes between its
 * creation and its lock (each such race is a few microseconds wide). */
enum { TEMP_ATTEMPTS = 16 };

static cr_status make_temp(cr_ctx *ctx, const char *path, const char *tag, int dir, cr_temp *t)
{
    *t = (cr_temp)CR_TEMP_NONE;
    sweep_stale(ctx, path);
    for (int attempt = 0; attempt < TEMP_ATTEMPTS; attempt++) {
        char *name = NULL;
        cr_status st = temp_template(ctx, path, tag, &name);
        if (st != CR_OK)
            return st;
        int fd = -1;
        if (dir) {
            if (mkdtemp(name))
                fd = open(name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        } else {
            fd = mkostemp(name, O_CLOEXEC);
        }
        if (fd < 0 && !(dir && errno == ENOENT)) { /* ENOENT: swept before it was opened */
            st = cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", path, strerror(errno));
            free(name);
            return st;
        }
        /* Told at once, before the lock: from here on a second stop signal removes it (the
         * program's hook), so a temporary held locked is always one the program knows. */
        if (fd >= 0)
            cr_ctx_temp_event(ctx, name, dir, 1);
        /* Held from now until published or removed. A file system without flock() (some
         * network ones) says so with an error: then no run can take the lock either, and
         * sweeps leave the temporary alone. */
        int locked = fd >= 0 ? flock(fd, LOCK_EX) : -1;
        while (fd >= 0 && locked != 0 && errno == EINTR)
            locked = flock(fd, LOCK_EX);
        struct stat st_now;
        if (fd >= 0 && fstat(fd, &st_now) == 0 && st_now.st_nlink > 0) {
            t->path = name;
            t->fd = fd;
            t->dir = dir;
            t->ctx = ctx;
            return CR_OK;
        }
        /* A sweep removed it between its creation and the lock: make another. */
        if (fd >= 0) {
            cr_ctx_temp_event(ctx, name, dir, 0);
            close(fd);
        }
        free(name);
    }
    return cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': its temporary file kept disappearing", path);
}

cr_status cr_temp_file(cr_ctx *ctx, const char *path, const char *tag, cr_temp *temp)
{
    return make_temp(ctx, path, tag, 0, temp);
}

cr_status cr_temp_dir(cr_ctx *ctx, const char *path, const char *tag, cr_temp *temp)
{
    return make_temp(ctx, path, tag, 1, temp);
}

/* Forgets the temporary (gone: published or removed) and drops its lock. */
static void release(cr_temp *t)
{
    if (t->path)
        cr_ctx_temp_event(t->ctx, t->path, t->dir, 0);
    if (t->fd >= 0)
        close(t->fd);
    free(t->path);
    *t = (cr_temp)CR_TEMP_NONE;
}

void cr_temp_discard(cr_temp *t)
{
    if (!t || !t->path) {
        if (t && t->fd >= 0)
            close(t->fd);
        return;
    }
    if (t->dir)
        remove_tree(t->path);
    else
        unlink(t->path);
    release(t);
}

/* Renames from to `to` without replacing it: 0, or -1 with errno (EEXIST when `to` exists).
 * renameat2(RENAME_NOREPLACE) does it in one step. Where the file system does not know
 * it (EINVAL: NFS, ENOSYS: old kernels), link() then unlink(): link() fails when `to`
 * exists, and a reader never sees a partial file. Where hard links are refused too (EPERM:
 * FAT, some FUSE), only a check before an ordinary rename is left, which a concurrent run
 * can beat. */
static int rename_new(const char *from, const char *to)
{
#ifdef RENAME_NOREPLACE
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
#endif
    if (link(from, to) == 0) {
        unlink(from);
        return 0;
    }
    if (errno != EPERM && errno != ENOTSUP && errno != ENOSYS)
        return -1;
    struct stat st;
    if (lstat(to, &st) == 0) {
        errno = EEXIST;
        return -1;
    }
    return rename(from, to);
}

/* Moves from to `to` (replacing it when overwrite); names `to` in the failure. */
static cr_status move_into_place(cr_ctx *ctx, const char *from, const char *to, int overwrite,
                                 const char *part_of)
{
    if ((overwrite ? rename(from, to) : rename_new(from, to)) == 0)
        return CR_OK;
    if (!overwrite && errno == EEXIST)
        return cr_ctx_fail(ctx, CR_E_EXISTS,
                           "output '%s'%s%s%s exists; use --overwrite to replace it (it appeared "
                           "while this run was working)",
                           to, part_of ? " (a file of '" : "", part_of ? part_of : "",
                           part_of ? "')" : "");
    return cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", to, strerror(errno));
}

/* The process's umask, read once without changing it: umask() can only be read by setting
 * it, and setting it to 0 for a moment would give every file another thread (run -j N's
 * stages, GDAL's) creates meanwhile no mask at all. */
static mode_t process_umask;

static void read_umask(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned mask = 0;
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        found = sscanf(line, "Umask: %o", &mask) == 1;
    if (f)
        fclose(f);
    if (found) {
        process_umask = (mode_t)mask;
    } else { /* no /proc: read by setting, once, before it matters */
        process_umask = umask(0);
        umask(process_umask);
    }
}

/* Temporary files are created 0600 by mkstemp; outputs get the usual umask mode. */
static void set_output_mode(const char *file)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, read_umask);
    chmod(file, 0666 & ~process_umask);
}

cr_status cr_temp_publish(cr_ctx *ctx, cr_temp *t, const char *path, int overwrite)
{
    set_output_mode(t->path);
    cr_status st = move_into_place(ctx, t->path, path, overwrite, NULL);
    if (st == CR_OK)
        release(t);
    return st;
}

cr_status cr_temp_backup(cr_ctx *ctx, const char *path, cr_temp *backup)
{
    *backup = (cr_temp)CR_TEMP_NONE;
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return CR_OK;
    /* A locked temporary name first (no sweep of another run removes it), then the old file
     * under that name: a link keeps path in place until the new file replaces it. */
    cr_status s = cr_temp_file(ctx, path, "backup", backup);
    if (s != CR_OK)
        return s;
    if (unlink(backup->path) == 0 && (link(path, backup->path) == 0 || rename(path, backup->path) == 0)) {
        /* The lock moves to the file now under that name, or a concurrent run's sweep would
         * take it for a stale temporary (a lock it cannot take only keeps the file longer). */
        int fd = open(backup->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
            close(backup->fd);
            backup->fd = fd;
        } else if (fd >= 0) {
            close(fd);
        }
        return CR_OK;
    }
    s = cr_ctx_fail(ctx, CR_E_IO, "cannot keep a copy of '%s' while replacing it: %s", path,
                    strerror(errno));
    cr_temp_discard(backup);
    return s;
}

cr_status cr_temp_restore(cr_ctx *ctx, cr_temp *backup, const char *path)
{
    if (!backup->path)
        return CR_OK;
    cr_status s = CR_OK;
    struct stat now, kept;
    if (lstat(path, &now) == 0 && lstat(backup->path, &kept) == 0 && now.st_dev == kept.st_dev &&
        now.st_ino == kept.st_ino) {
        cr_temp_discard(backup); /* never replaced: path is still the file, the link goes */
        return CR_OK;
    }
    if (rename(backup->path, path) != 0) { /* the copy stays, named in the message */
        cr_ctx_log(ctx, CR_LOG_WARNING, "cannot put back the previous '%s' (kept as '%s'): %s",
                   path, backup->path, strerror(errno));
        s = CR_E_IO;
    }
    release(backup);
    return s;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

cr_status cr_temp_publish_dir(cr_ctx *ctx, cr_temp *t, const char *path,
                              const cr_vector_layout *layout, int overwrite)
{
    const char *name;
    char *dir = folder_of(path, &name);
    DIR *d = dir ? opendir(t->path) : NULL;
    char **files = NULL, **moved = NULL;
    size_t n = 0, cap = 0, done = 0;
    cr_status st = d ? CR_OK : cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", path, strerror(errno));
    struct dirent *e;
    while (st == CR_OK && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        struct stat sb;
        if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode)) {
            st = cr_ctx_fail(ctx, CR_E_USAGE,
                             "cannot write '%s': the format wrote a folder ('%s'), not files; "
                             "give the output the format's extension",
                             path, e->d_name);
            break;
        }
        if (n + 1 >= cap) {
            size_t grown_cap = cap ? 2 * cap : 8;
            char **grown = realloc(files, grown_cap * sizeof *grown);
            if (!grown) {
                st = cr_ctx_fail(ctx, CR_E_IO, "out of memory writing '%s'", path);
                break;
            }
            files = grown;
            cap = grown_cap;
        }
        if (!(files[n] = strdup(e->d_name)))
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory writing '%s'", path);
        else
            n++;
    }
    if (d)
        closedir(d);
    /* In one order for every run, the output itself last: of two runs at once, the first
     * file decides which one publishes, and a reader who sees the output sees its files. */
    if (n > 1)
        qsort(files, n, sizeof *files, compare_names);
    for (size_t i = 0; i + 1 < n; i++)
        if (strcmp(files[i], layout->driver_name) == 0) {
            char *main_file = files[i];
            memmove(files + i, files + i + 1, (n - i - 1) * sizeof *files);
            files[n - 1] = main_file;
            break;
        }
    if (st == CR_OK && !(moved = calloc(n + 1, sizeof *moved)))
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory writing '%s'", path);
    for (size_t i = 0; st == CR_OK && i < n; i++) {
        int is_main = strcmp(files[i], layout->driver_name) == 0;
        /* Beside path, spelt as path is (as layout->files are). */
        int prefix = (int)(name - path);
        size_t lf = strlen(t->path) + strlen(files[i]) + 2, lt = (size_t)prefix + strlen(files[i]) + 1;
        char *from = malloc(lf), *to = is_main ? strdup(path) : malloc(lt);
        if (from && to) {
            snprintf(from, lf, "%s/%s", t->path, files[i]);
            if (!is_main)
                snprintf(to, lt, "%.*s%s", prefix, path, files[i]);
            set_output_mode(from);
            st = move_into_place(ctx, from, to, overwrite, is_main ? NULL : path);
        } else {
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory writing '%s'", path);
        }
        free(from);
        if (st == CR_OK)
            moved[done++] = to;
        else
            free(to);
    }
    if (st != CR_OK && !overwrite) /* what this run put in place, nothing it replaced */
        for (size_t i = 0; i < done; i++)
            unlink(moved[i]);
    if (st == CR_OK && overwrite) {
        /* The files of the output replaced that the new one does not have. */
        for (char **f = layout->files; f && *f; f++) {
            int written = 0;
            for (size_t i = 0; i < done && !written; i++)
                written = strcmp(moved[i], *f) == 0;
            struct stat sb;
            if (!written && lstat(*f, &sb) == 0 && S_ISREG(sb.st_mode))
                unlink(*f);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
    for (size_t i = 0; i < done; i++)
        free(moved[i]);
    free(moved);
    free(dir);
    if (st == CR_OK) {
        rmdir(t->path);
        release(t);
    }
    return st;
}

/* The vector driver that creates files named like path ("n.gpkg": GPKG), as ogr2ogr
 * guesses it; NULL when the extension names none. */
const char *cr_vector_driver_for_path(const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash) || !dot[1])
        return NULL;
    for (int i = 0; i < GDALGetDriverCount(); i++) {
        GDALDriverH drv = GDALGetDriver(i);
        if (!GDALGetMetadataItem(drv, GDAL_DCAP_VECTOR, NULL) ||
            !GDALGetMetadataItem(drv, GDAL_DCAP_CREATE, NULL))
            continue;
        char **exts = CSLTokenizeString(GDALGetMetadataItem(drv, GDAL_DMD_EXTENSIONS, NULL));
        int match = CSLFindString(exts, dot + 1) >= 0; /* case-insensitive */
        CSLDestroy(exts);
        if (match)
            return GDALGetDriverShortName(drv);
    }
    return NULL;
}

char **cr_geojson_creation_options(char **metadata)
{
    char **lco = NULL;
    lco = CSLSetNameValue(lco, "RFC7946", "YES");
    lco = CSLSetNameValue(lco, "COORDINATE_PRECISION", "7");
    lco = CSLSetNameValue(lco, "WRITE_NAME", "NO");
    json_object *doc = json_object_new_object(), *prov = json_object_new_object();
    for (char **m = metadata; m && *m; m++) {
        char *key = NULL;
        const char *value = CPLParseNameValue(*m, &key);
        json_object *parsed = value && (value[0] == '{' || value[0] == '[') ? json_tokener_parse(value) : NULL;
        if (key)
            json_object_object_add(prov, key, parsed ? parsed : json_object_new_string(value));
        CPLFree(key);
    }
    json_object_object_add(doc, "cityrisk", prov);
    lco = CSLSetNameValue(lco, "NATIVE_MEDIA_TYPE", "application/vnd.geo+json");
    char *text = cr_json_text(doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (text)
        lco = CSLSetNameValue(lco, "NATIVE_DATA", text);
    free(text);
    json_object_put(doc);
    return lco;
}

char **cr_provenance_items(cr_ctx *ctx, json_object *inputs, json_object *parameters,
                           const char *formula)
{
    char **md = NULL;
    char *text = cr_json_take_text(inputs);
    md = CSLSetNameValue(md, "CITYRISK_VERSION", cr_version());
    md = CSLSetNameValue(md, "CITYRISK_COMMAND", cr_ctx_command(ctx));
    md = CSLSetNameValue(md, "CITYRISK_INPUTS", text ? text : "");
    free(text);
    text = cr_json_take_text(parameters);
    md = CSLSetNameValue(md, "CITYRISK_PARAMETERS", text ? text : "");
    free(text);
    return CSLSetNameValue(md, "CITYRISK_FORMULA", formula);
}
