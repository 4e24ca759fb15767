/* pipeline.c: loading a pipeline file (stages built, checked and ordered, state read) and
 * freeing it. */
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

void cr_pipeline_free(cr_pipeline *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->nstages; i++) {
        free(p->stage[i].name);
        free(p->stage[i].command);
        CSLDestroy(p->stage[i].argv);
        CSLDestroy(p->stage[i].written);
        CSLDestroy(p->stage[i].inputs);
        CSLDestroy(p->stage[i].outputs);
        CSLDestroy(p->stage[i].canonical);
        CSLDestroy(p->stage[i].labels);
        free(p->stage[i].base);
        cr_pl_record_free(p->stage[i].record);
        free(p->stage[i].deps);
    }
    free(p->stage);
    free(p->path);
    free(p->state_path);
    free(p);
}

cr_status cr_pipeline_load(cr_ctx *ctx, const char *path, char **sets, cr_pipeline **out)
{
    *out = NULL;
    /* a missing, unreadable or empty file or a folder, named as every input is */
    cr_status checked = cr_check_input_path(ctx, path, "pipeline");
    if (checked != CR_OK)
        return checked;
    json_object *doc = NULL;
    int not_regular = 0;
    cr_status st = cr_pl_read_json(ctx, path, &CR_PL_PIPELINE_LIMITS, 1, &doc, &not_regular);
    if (st != CR_OK)
        return st;
    cr_pipeline *p = calloc(1, sizeof *p);
    loader L = {.ctx = ctx, .path = path, .p = p};
    L.folders = CPLHashSetNew(cr_pl_folder_hash, cr_pl_folder_equal, cr_pl_folder_free);
    if (!p || !L.folders) {
        json_object_put(doc);
        free(p);
        if (L.folders)
            CPLHashSetDestroy(L.folders);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    }
    if (!getcwd(L.cwd, sizeof L.cwd))
        L.cwd[0] = '\0';
    /* The folder relative paths are read from: CPLGetPath() would cut a long one. */
    const char *slash = strrchr(path, '/');
    size_t dir_len = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
    if (dir_len >= sizeof L.dir) {
        json_object_put(doc);
        free(p);
        CPLHashSetDestroy(L.folders);
        return cr_ctx_fail(ctx, CR_E_USAGE, "pipeline '%s': its folder's path is too long", path);
    }
    memcpy(L.dir, path, dir_len);
    L.dir[dir_len] = '\0';
    p->path = strdup(path);
    if (!p->path)
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    if (st == CR_OK)
        st = cr_pl_add_claim(&L, -1, p->path, cr_pl_format("'%s', the pipeline file itself", p->path));
    if (st == CR_OK)
        st = json_object_is_type(doc, json_type_object)
                 ? cr_pl_build_stages(&L, doc, sets)
                 : cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s' must be a JSON object", path);
    /* the state lives with the outputs, which the stages name */
    if (st == CR_OK)
        st = cr_pl_state_locate(&L);
    if (st == CR_OK)
        st = cr_pl_add_claim(&L, -1, p->state_path, cr_pl_format("'%s', the pipeline's state file", p->state_path));
    if (st == CR_OK)
        st = cr_pl_check_names(&L);
    if (st == CR_OK)
        st = cr_pl_check_claims(&L);
    if (st == CR_OK)
        st = cr_pl_order_stages(&L);
    for (size_t i = 0; i < L.nclaims; i++) {
        CPLFree(L.claims[i].key);
        CPLFree(L.claims[i].what);
    }
    free(L.claims);
    CPLHashSetDestroy(L.folders);
    json_object_put(doc);
    if (st == CR_OK)
        st = cr_pl_load_state(ctx, p);
    if (st != CR_OK) {
        cr_pipeline_free(p);
        return st;
    }
    *out = p;
    return CR_OK;
}

int cr_pipeline_stage_matches(const cr_stage *s, const char *selector)
{
    if (strcmp(selector, s->name) == 0 || strcmp(selector, s->command) == 0 ||
        (s->base && strcmp(selector, s->base) == 0))
        return 1;
    /* the name before its first variable, separators cut: "score-{scenario}" is "score" */
    const char *base = s->base ? s->base : s->name, *brace = strchr(base, '{');
    size_t len = brace ? (size_t)(brace - base) : strlen(base);
    while (len > 0 && strchr("-_.[ ", base[len - 1]))
        len--;
    if (brace && len > 0 && strlen(selector) == len && strncmp(selector, base, len) == 0)
        return 1;
    /* "score" selects "score[ssp245-2100]", a swept stage whose name has no variable */
    len = strlen(selector);
    return strncmp(selector, s->name, len) == 0 && s->name[len] == '[';
}
