/* paths.c: one spelling per file (folders resolved, symlinks too) and the claims of the
 * files stages write. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpl_hash_set.h>
#include <cpl_string.h>
#include <json-c/json.h>

#include "cityrisk/command.h"
#include "cityrisk/json.h"
#include "cityrisk/number.h"
#include "cityrisk/pipeline.h"
#include "cityrisk/qml.h"
#include "core/internal.h"
#include "core/output.h"
#include "pipeline/internal.h"

/* A path relative to the pipeline's folder, as it will be opened. */
char *cr_pl_resolve(const char *dir, const char *path)
{
    if (path[0] == '/' || strncmp(path, "/vsi", 4) == 0 || strcmp(path, "-") == 0 || !*dir)
        return CPLStrdup(path);
    return cr_pl_format("%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", path);
}

/* The path inside "NAME=PATH[:BAND]", resolved, with the rest kept. */
char *cr_pl_resolve_raster_spec(const char *dir, const char *spec, char **path_out)
{
    const char *eq = strchr(spec, '=');
    if (!eq) {
        *path_out = cr_pl_resolve(dir, spec);
        return CPLStrdup(*path_out);
    }
    char *path = CPLStrdup(eq + 1);
    char *colon = strrchr(path, ':');
    const char *band = "";
    if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
        *colon = '\0';
        band = colon + 1;
    }
    *path_out = cr_pl_resolve(dir, path);
    char *out = cr_pl_format("%.*s=%s%s%s", (int)(eq - spec), spec, *path_out, *band ? ":" : "", band);
    CPLFree(path);
    return out;
}
/* ---- one spelling per file ---- */

unsigned long cr_pl_folder_hash(const void *e)
{
    return CPLHashSetHashStr(((const folder *)e)->path);
}

int cr_pl_folder_equal(const void *a, const void *b)
{
    return strcmp(((const folder *)a)->path, ((const folder *)b)->path) == 0;
}

void cr_pl_folder_free(void *e)
{
    folder *f = e;
    free(f->path);
    free(f->resolved);
    free(f);
}

/* The absolute path abs without empty, "." and ".." components. A new string. */
static char *lexical(const char *abs)
{
    size_t len = 0;
    char *out = CPLMalloc(strlen(abs) + 2);
    for (const char *p = abs; *p;) {
        while (*p == '/')
            p++;
        const char *end = p;
        while (*end && *end != '/')
            end++;
        size_t k = (size_t)(end - p);
        if (k == 2 && p[0] == '.' && p[1] == '.') {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--;
        } else if (k > 0 && !(k == 1 && p[0] == '.')) {
            out[len++] = '/';
            memcpy(out + len, p, k);
            len += k;
        }
        p = end;
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = '\0';
    return out;
}

/* The folder dir (absolute) with symlinks and ".." resolved when it exists, else its
 * deepest existing ancestor resolved and the rest lexically; owned by the cache. */
static const char *resolved_folder(loader *L, const char *dir)
{
    folder probe = {(char *)dir, NULL};
    folder *f = CPLHashSetLookup(L->folders, &probe);
    if (f)
        return f->resolved;
    f = malloc(sizeof *f);
    char *real = realpath(dir, NULL);
    char *resolved = real ? strdup(real) : NULL;
    free(real);
    if (!resolved) {
        /* A folder still to be made (an output's): its deepest existing ancestor resolved,
         * the rest as written, so that its spelling stays the same once the run made it
         * (a pipeline reached through a symlinked folder otherwise changed spelling, and
         * its stages' arguments with it, between its first run and its second). */
        char *lex = lexical(dir);
        for (char *cut = lex + strlen(lex); !resolved && cut > lex;) {
            while (--cut > lex && *cut != '/')
                ;
            char c = *cut;
            *cut = '\0';
            char *base = realpath(*lex ? lex : "/", NULL);
            *cut = c;
            if (base && (resolved = malloc(strlen(base) + strlen(cut) + 1)) != NULL)
                sprintf(resolved, "%s%s", strcmp(base, "/") == 0 ? "" : base, cut);
            free(base);
        }
        if (!resolved)
            resolved = strdup(lex);
        CPLFree(lex);
    }
    if (!f || !resolved || !(f->path = strdup(dir))) {
        free(f);
        free(resolved);
        return NULL;
    }
    f->resolved = resolved;
    CPLHashSetInsert(L->folders, f);
    return f->resolved;
}

/* One spelling for the file path names, so that "q.tif", "./q.tif", "out/../q.tif" and
 * the absolute path compare equal: absolute, its folder resolved (symlinks too) when it
 * exists. The file name itself is kept: writing renames over it, which replaces a
 * symlink rather than its target. GDAL's /vsi paths stay as they are. A new string, NULL
 * when out of memory. */
char *cr_pl_path_key(loader *L, const char *path)
{
    if (strncmp(path, "/vsi", 4) == 0 || strcmp(path, "-") == 0 || (path[0] != '/' && !*L->cwd))
        return CPLStrdup(path);
    char *abs = path[0] == '/' ? CPLStrdup(path) : cr_pl_format("%s/%s", L->cwd, path);
    char *slash = strrchr(abs, '/');
    const char *name = slash + 1;
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        char *out = lexical(abs);
        CPLFree(abs);
        return out;
    }
    *slash = '\0';
    const char *dir = resolved_folder(L, *abs ? abs : "/");
    char *out = dir ? cr_pl_format("%s/%s", strcmp(dir, "/") == 0 ? "" : dir, name) : NULL;
    CPLFree(abs);
    return out;
}

/* Records that stage (-1: none) writes path, described by what (taken). */
cr_status cr_pl_add_claim(loader *L, int stage, const char *path, char *what)
{
    if (L->nclaims == L->claims_cap) {
        size_t cap = L->claims_cap ? 2 * L->claims_cap : 64;
        claim *grown = realloc(L->claims, cap * sizeof *grown);
        if (!grown) {
            CPLFree(what);
            return cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
        }
        L->claims = grown;
        L->claims_cap = cap;
    }
    char *key = cr_pl_path_key(L, path);
    if (!key) {
        CPLFree(what);
        return cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
    }
    L->claims[L->nclaims] = (claim){key, what, stage, L->nclaims};
    L->nclaims++;
    return CR_OK;
}

int cr_pl_claim_order(const void *a, const void *b)
{
    const claim *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* The claim of the file key, NULL when nothing claims it (claims sorted). */
const claim *cr_pl_find_claim(const loader *L, const char *key)
{
    size_t lo = 0, hi = L->nclaims;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(L->claims[mid].key, key);
        if (c == 0)
            return &L->claims[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
