/* state.c: the state file: what each stage ran with, and whether it must run again. */
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

/* ---- the state file ---- */

/* Checks that doc has the state's shape: an object of stages, each an object whose
 * "argv" is an array of strings; fails naming the state file otherwise. */
static cr_status check_state(cr_ctx *ctx, const char *path, json_object *doc)
{
    if (!json_object_is_type(doc, json_type_object))
        return cr_ctx_fail(ctx, CR_E_DATA, "state '%s' is not a JSON object", path);
    json_object_object_foreach(doc, name, entry)
    {
        json_object *argv = NULL;
        if (!json_object_is_type(entry, json_type_object) || !json_object_object_get_ex(entry, "argv", &argv) ||
            !json_object_is_type(argv, json_type_array))
            return cr_ctx_fail(ctx, CR_E_DATA, "state '%s': stage '%s' has no 'argv' array", path, name);
        for (size_t k = 0; k < json_object_array_length(argv); k++)
            if (!json_object_is_type(json_object_array_get_idx(argv, k), json_type_string))
                return cr_ctx_fail(ctx, CR_E_DATA, "state '%s': stage '%s': 'argv' item %zu is not a string", path,
                                   name, k + 1);
    }
    return CR_OK;
}

/* The state file as it is on disk, in *doc: NULL when absent or when it cannot be used,
 * which is said in *why (a message to free(), NULL when absent or fine); *not_regular
 * when it is there but not a regular file. Fails only when cancelled. */
static cr_status read_state(cr_ctx *ctx, const char *path, int cancellable, json_object **doc, char **why,
                            int *not_regular)
{
    *doc = NULL;
    *why = NULL;
    *not_regular = 0;
    struct stat sb;
    if (stat(path, &sb) != 0 && errno == ENOENT)
        return CR_OK; /* no state yet (or a symlink to nothing) */
    cr_status st = cr_pl_read_json(ctx, path, &CR_PL_STATE_LIMITS, cancellable, doc, not_regular);
    if (st == CR_E_CANCELLED)
        return st;
    if (st == CR_OK)
        st = check_state(ctx, path, *doc);
    if (st != CR_OK) {
        json_object_put(*doc);
        *doc = NULL;
        *why = strdup(cr_ctx_error(ctx));
        cr_ctx_clear_error(ctx);
        if (!*why)
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    }
    return CR_OK;
}

/* Reads each stage's recorded arguments from the state file, once. */
cr_status cr_pl_load_state(cr_ctx *ctx, cr_pipeline *p)
{
    json_object *doc = NULL;
    char *why = NULL;
    int not_regular = 0;
    cr_status st = read_state(ctx, p->state_path, 1, &doc, &why, &not_regular);
    if (st != CR_OK)
        return st;
    if (why) {
        cr_ctx_log(ctx, CR_LOG_WARNING, "%s: treated as absent, so every stage runs%s", why,
                   not_regular ? ", and no state is recorded there" : "");
        free(why);
    }
    for (int i = 0; doc && i < p->nstages; i++) {
        json_object *entry = NULL, *argv = NULL;
        if (!json_object_object_get_ex(doc, p->stage[i].name, &entry))
            continue;
        json_object_object_get_ex(entry, "argv", &argv);
        size_t n = json_object_array_length(argv);
        char **list = calloc(n + 1, sizeof *list);
        for (size_t k = 0; list && k < n; k++)
            if (!(list[k] = CPLStrdup(json_object_get_string(json_object_array_get_idx(argv, k))))) {
                CSLDestroy(list);
                list = NULL;
            }
        if (!list) {
            json_object_put(doc);
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        }
        struct cr_stage_record *r = calloc(1, sizeof *r);
        if (!r) {
            CSLDestroy(list);
            json_object_put(doc);
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        }
        r->argv = list;
        p->stage[i].record = r;
    }
    json_object_put(doc);
    return CR_OK;
}
/* ---- what runs ---- */

static int same_args(char **recorded, char **args)
{
    if (!recorded || !args)
        return 0;
    for (; *recorded && *args; recorded++, args++)
        if (strcmp(*recorded, *args) != 0)
            return 0;
    return !*recorded && !*args;
}

static double mtime_of(const struct stat *sb)
{
    return (double)sb->st_mtim.tv_sec + sb->st_mtim.tv_nsec * 1e-9;
}

cr_stage_state cr_pipeline_stage_state(const cr_pipeline *p, int i, const int *runs, char *why,
                                       size_t size)
{
    const cr_stage *s = &p->stage[i];
    for (int d = 0; d < s->ndeps; d++)
        if (runs[s->deps[d]]) {
            snprintf(why, size, "stage %s, whose output it reads, runs", p->stage[s->deps[d]].name);
            return CR_STAGE_UPSTREAM;
        }
    double oldest = 1e300, newest = -1e300;
    struct stat sb;
    for (char **o = s->outputs; o && *o; o++) {
        if (stat(*o, &sb) != 0) {
            snprintf(why, size, "output %s does not exist", *o);
            return CR_STAGE_NO_OUTPUT;
        }
        oldest = mtime_of(&sb) < oldest ? mtime_of(&sb) : oldest;
    }
    const char *newer = NULL;
    for (char **in = s->inputs; in && *in; in++)
        if (stat(*in, &sb) == 0 && mtime_of(&sb) > newest) {
            newest = mtime_of(&sb);
            newer = *in;
        }
    if (!s->outputs || newest > oldest) {
        snprintf(why, size, s->outputs ? "input %s is newer than its outputs" : "it has no output",
                 newer);
        return CR_STAGE_INPUT_CHANGED;
    }
    if (!same_args(s->record ? s->record->argv : NULL, s->canonical)) {
        snprintf(why, size, "its options differ from those of its last run");
        return CR_STAGE_CHANGED;
    }
    snprintf(why, size, "up to date");
    return CR_STAGE_UP_TO_DATE;
}

static cr_status make_folder_of(cr_ctx *ctx, const char *path);

cr_status cr_pipeline_record(cr_ctx *ctx, const cr_pipeline *p, int i)
{
    /* The records of other stages as they are now on disk (another run may have added
     * some); a state that cannot be used is replaced, one that is not a regular file is
     * left alone (load warned). Not cancellable: the stage has run, and a signal now must
     * not make the next run repeat it. */
    json_object *doc = NULL;
    char *why = NULL;
    int not_regular = 0;
    cr_status st = read_state(ctx, p->state_path, 0, &doc, &why, &not_regular);
    free(why);
    if (st != CR_OK || not_regular)
        return st;
    if (!doc)
        doc = json_object_new_object();
    json_object *entry = json_object_new_object(), *argv = json_object_new_array();
    for (char **a = p->stage[i].canonical; a && *a; a++)
        json_object_array_add(argv, json_object_new_string(*a));
    json_object_object_add(entry, "argv", argv);
    json_object_object_add(doc, p->stage[i].name, entry);
    /* Through a locked temporary as every output, so that a second signal removes it and a
     * run after kill -9 sweeps it; the state is the pipeline's to replace. */
    cr_temp temp = CR_TEMP_NONE;
    st = make_folder_of(ctx, p->state_path);
    if (st == CR_OK)
        st = cr_temp_file(ctx, p->state_path, "run", &temp);
    if (st == CR_OK && json_object_to_file_ext(temp.path, doc, JSON_C_TO_STRING_PRETTY) != 0)
        st = cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", p->state_path, strerror(errno));
    if (st == CR_OK)
        st = cr_temp_publish(ctx, &temp, p->state_path, 1);
    cr_temp_discard(&temp);
    json_object_put(doc);
    return st;
}

void cr_pl_record_free(struct cr_stage_record *r)
{
    if (!r)
        return;
    CSLDestroy(r->argv);
    free(r);
}

const char *cr_stage_state_name(cr_stage_state state)
{
    switch (state) {
    case CR_STAGE_UP_TO_DATE: return "up to date";
    case CR_STAGE_NO_OUTPUT: return "missing output";
    case CR_STAGE_INPUT_CHANGED: return "input changed";
    case CR_STAGE_CHANGED: return "options changed";
    case CR_STAGE_UPSTREAM: return "upstream runs";
    case CR_STAGE_VERSION: return "version changed";
    case CR_STAGE_NO_RECORD: return "no record";
    }
    return "unknown";
}

cr_status cr_pl_state_locate(loader *L)
{
    cr_pipeline *p = L->p;
    const char *first = NULL;
    for (int i = 0; i < p->nstages && !first; i++)
        first = p->stage[i].outputs ? p->stage[i].outputs[0] : NULL;
    char *key = first ? cr_pl_path_key(L, first) : NULL;
    char *slash = key ? strrchr(key, '/') : NULL;
    if (slash && strncmp(key, "/vsi", 4) != 0)
        *slash = '\0';
    else if (*L->cwd) {
        CPLFree(key);
        key = CPLStrdup(L->cwd);
    } else {
        CPLFree(key);
        key = CPLStrdup(".");
    }
    char *state = cr_pl_format("%s/.cityrisk/%s.state.json", key, CPLGetFilename(L->path));
    CPLFree(key);
    p->state_path = strdup(state);
    CPLFree(state);
    return p->state_path ? CR_OK : cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
}

/* mkdir -p of the folder of path. */
static cr_status make_folder_of(cr_ctx *ctx, const char *path)
{
    char *dir = CPLStrdup(path);
    char *slash = strrchr(dir, '/');
    cr_status st = CR_OK;
    if (slash && slash != dir && strncmp(dir, "/vsi", 4) != 0) {
        *slash = '\0';
        for (char *p = dir + 1;; p++) {
            if (*p == '/' || *p == '\0') {
                char c = *p;
                *p = '\0';
                if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
                    st = cr_ctx_fail(ctx, CR_E_IO, "cannot create folder '%s': %s", dir, strerror(errno));
                    break;
                }
                *p = c;
                if (!c)
                    break;
            }
        }
    }
    CPLFree(dir);
    return st;
}

cr_status cr_pipeline_prepare(cr_ctx *ctx, const cr_pipeline *p, int i, int replace_foreign, int *overwrite)
{
    /* A first version: folders made; ownership comes with the fingerprints of the state. */
    const cr_stage *s = &p->stage[i];
    *overwrite = replace_foreign;
    for (char **o = s->outputs; o && *o; o++) {
        cr_status st = make_folder_of(ctx, *o);
        if (st != CR_OK)
            return st;
    }
    return CR_OK;
}
