/* state.c: the state file: what each stage ran with and made, whether it must run again,
 * and whether the outputs in its way are the pipeline's to replace. */
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

/* The shape of the state file this cityrisk reads and writes ("cityrisk_state"). */
#define STATE_VERSION 2

/* ---- one spelling per file, outside the loader ---- */

/* A loader that only spells paths (cr_pl_path_key): the state names files as the stages'
 * canonical arguments do, whatever the spelling of the pipeline's path or the folder run
 * from. Fails only when out of memory. */
static cr_status spelling_init(cr_ctx *ctx, loader *L)
{
    memset(L, 0, sizeof *L);
    L->ctx = ctx;
    if (!getcwd(L->cwd, sizeof L->cwd))
        L->cwd[0] = '\0';
    L->folders = CPLHashSetNew(cr_pl_folder_hash, cr_pl_folder_equal, cr_pl_folder_free);
    return L->folders ? CR_OK : cr_ctx_fail(ctx, CR_E_IO, "out of memory");
}

static void spelling_release(loader *L)
{
    if (L->folders)
        CPLHashSetDestroy(L->folders);
    L->folders = NULL;
}

/* ---- files: their fingerprints ---- */

static long long mtime_ns(const struct stat *sb)
{
    return (long long)sb->st_mtim.tv_sec * 1000000000LL + sb->st_mtim.tv_nsec;
}

/* FNV-1a 64 of the bytes of the file at path, read by blocks, into *hash: fast, and
 * enough to tell an edited file from a copied or checked-out one (not a defence against
 * someone forging a file). 0 when read, -1 when it cannot be. */
static int hash_file(const char *path, unsigned long long *hash)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat sb;
    if (fd < 0)
        return -1;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) { /* never a device or a pipe */
        close(fd);
        return -1;
    }
    enum { BLOCK = 1 << 20 };
    unsigned char *block = malloc(BLOCK);
    unsigned long long h = 14695981039346656037ULL;
    ssize_t got = 0;
    while (block && ((got = read(fd, block, BLOCK)) > 0 || (got < 0 && errno == EINTR)))
        for (ssize_t k = 0; k < got; k++)
            h = (h ^ block[k]) * 1099511628211ULL;
    int ok = block && got == 0;
    free(block);
    close(fd);
    *hash = h;
    return ok ? 0 : -1;
}

/* The fingerprint of the file at path now: known 0 when it cannot be seen (absent, a
 * /vsi path). Hashed when hash is set and it can be read. */
static cr_file_print print_of(const char *path, int hash)
{
    cr_file_print fp = {0};
    struct stat sb;
    if (stat(path, &sb) != 0)
        return fp;
    fp.known = 1;
    fp.size = (long long)sb.st_size;
    fp.mtime_ns = mtime_ns(&sb);
    fp.hashed = hash && hash_file(path, &fp.hash) == 0;
    return fp;
}

static json_object *print_json(const cr_file_print *fp)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "size", json_object_new_int64(fp->size));
    json_object_object_add(o, "mtime_ns", json_object_new_int64(fp->mtime_ns));
    if (fp->hashed) {
        char hex[24];
        snprintf(hex, sizeof hex, "%016llx", fp->hash);
        json_object_object_add(o, "hash", json_object_new_string(hex));
    }
    return o;
}

/* The fingerprint o records (of the shape check_files() checked). */
static cr_file_print print_from(json_object *o)
{
    cr_file_print fp = {.known = 1};
    json_object *v = NULL;
    json_object_object_get_ex(o, "size", &v);
    fp.size = (long long)json_object_get_int64(v);
    json_object_object_get_ex(o, "mtime_ns", &v);
    fp.mtime_ns = (long long)json_object_get_int64(v);
    if (json_object_object_get_ex(o, "hash", &v)) {
        fp.hashed = 1;
        fp.hash = strtoull(json_object_get_string(v), NULL, 16);
    }
    return fp;
}

/* ---- the state file ---- */

static int is_hash(json_object *v)
{
    const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    return s && strlen(s) == 16 && strspn(s, "0123456789abcdef") == 16;
}

/* The files of a record (its "inputs" or "outputs"): an object of objects, each with
 * whole numbers "size" (not negative) and "mtime_ns", and maybe a "hash" of 16 hex
 * digits. */
static cr_status check_files(cr_ctx *ctx, const char *path, const char *stage, json_object *entry,
                             const char *key)
{
    json_object *files = NULL;
    if (!json_object_object_get_ex(entry, key, &files) || !json_object_is_type(files, json_type_object))
        return cr_ctx_fail(ctx, CR_E_DATA, "state '%s': stage '%s' has no '%s' object", path, stage, key);
    json_object_object_foreach(files, file, fp)
    {
        json_object *size = NULL, *time = NULL, *hash = NULL;
        if (!json_object_is_type(fp, json_type_object) || !json_object_object_get_ex(fp, "size", &size) ||
            !json_object_is_type(size, json_type_int) || json_object_get_int64(size) < 0 ||
            !json_object_object_get_ex(fp, "mtime_ns", &time) || !json_object_is_type(time, json_type_int))
            return cr_ctx_fail(ctx, CR_E_DATA, "state '%s': stage '%s': file '%s' has no whole 'size' and 'mtime_ns'",
                               path, stage, file);
        if (json_object_object_get_ex(fp, "hash", &hash) && !is_hash(hash))
            return cr_ctx_fail(ctx, CR_E_DATA, "state '%s': stage '%s': file '%s': 'hash' is not 16 hexadecimal digits",
                               path, stage, file);
    }
    return CR_OK;
}

/* Checks that doc has the state's shape: {"cityrisk_state": 2, "pipeline": "...",
 * "stages": {NAME: {"argv": [strings], "version": "...", "inputs": {...}, "outputs":
 * {...}}}}; fails naming the state file otherwise. */
static cr_status check_state(cr_ctx *ctx, const char *path, json_object *doc)
{
    json_object *version = NULL, *pipeline = NULL, *stages = NULL;
    if (!json_object_is_type(doc, json_type_object))
        return cr_ctx_fail(ctx, CR_E_DATA, "state '%s' is not a JSON object", path);
    if (!json_object_object_get_ex(doc, "cityrisk_state", &version))
        return cr_ctx_fail(ctx, CR_E_DATA, "state '%s' has no 'cityrisk_state': an earlier cityrisk wrote it", path);
    if (!json_object_is_type(version, json_type_int) || json_object_get_int64(version) != STATE_VERSION)
        return cr_ctx_fail(ctx, CR_E_DATA, "state '%s' is of version %s; this cityrisk reads version %d", path,
                           json_object_to_json_string(version), STATE_VERSION);
    if (!json_object_object_get_ex(doc, "pipeline", &pipeline) || !json_object_is_type(pipeline, json_type_string))
        return cr_ctx_fail(ctx, CR_E_DATA, "state '%s' has no 'pipeline' string", path);
    if (!json_object_object_get_ex(doc, "stages", &stages) || !json_object_is_type(stages, json_type_object))
        return cr_ctx_fail(ctx, CR_E_DATA, "state '%s' has no 'stages' object", path);
    json_object_object_foreach(stages, name, entry)
    {
        json_object *argv = NULL, *made_by = NULL;
        if (!json_object_is_type(entry, json_type_object) || !json_object_object_get_ex(entry, "argv", &argv) ||
            !json_object_is_type(argv, json_type_array))
            return cr_ctx_fail(ctx, CR_E_DATA, "state '%s': stage '%s' has no 'argv' array", path, name);
        for (size_t k = 0; k < json_object_array_length(argv); k++)
            if (!json_object_is_type(json_object_array_get_idx(argv, k), json_type_string))
                return cr_ctx_fail(ctx, CR_E_DATA, "state '%s': stage '%s': 'argv' item %zu is not a string", path,
                                   name, k + 1);
        if (!json_object_object_get_ex(entry, "version", &made_by) || !json_object_is_type(made_by, json_type_string))
            return cr_ctx_fail(ctx, CR_E_DATA, "state '%s': stage '%s' has no 'version' string", path, name);
        cr_status st = check_files(ctx, path, name, entry, "inputs");
        if (st == CR_OK)
            st = check_files(ctx, path, name, entry, "outputs");
        if (st != CR_OK)
            return st;
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

/* The fingerprints files records of the files paths (one each, in their order; known 0
 * for a file it does not record), NULL when out of memory. */
static cr_file_print *prints_of(loader *L, json_object *files, char **paths)
{
    int n = CSLCount(paths);
    cr_file_print *prints = calloc((size_t)n + 1, sizeof *prints);
    for (int k = 0; prints && k < n; k++) {
        char *key = cr_pl_path_key(L, paths[k]);
        json_object *fp = NULL;
        if (!key) {
            free(prints);
            return NULL;
        }
        if (json_object_object_get_ex(files, key, &fp))
            prints[k] = print_from(fp);
        CPLFree(key);
    }
    return prints;
}

/* The record of stage s in entry (of the state's shape); NULL when out of memory. */
static struct cr_stage_record *record_from(loader *L, const cr_stage *s, json_object *entry)
{
    json_object *argv = NULL, *version = NULL, *inputs = NULL, *outputs = NULL;
    json_object_object_get_ex(entry, "argv", &argv);
    json_object_object_get_ex(entry, "version", &version);
    json_object_object_get_ex(entry, "inputs", &inputs);
    json_object_object_get_ex(entry, "outputs", &outputs);
    struct cr_stage_record *r = calloc(1, sizeof *r);
    size_t n = json_object_array_length(argv);
    if (!r || !(r->argv = calloc(n + 1, sizeof *r->argv))) {
        free(r);
        return NULL;
    }
    int ok = 1;
    for (size_t k = 0; ok && k < n; k++)
        ok = (r->argv[k] = CPLStrdup(json_object_get_string(json_object_array_get_idx(argv, k)))) != NULL;
    ok = ok && (r->version = strdup(json_object_get_string(version))) != NULL;
    ok = ok && (r->inputs = prints_of(L, inputs, s->inputs)) != NULL;
    ok = ok && (r->outputs = prints_of(L, outputs, s->outputs)) != NULL;
    if (!ok) {
        cr_pl_record_free(r);
        return NULL;
    }
    return r;
}

/* Reads each stage's record from the state file, once. */
cr_status cr_pl_load_state(cr_ctx *ctx, cr_pipeline *p)
{
    json_object *doc = NULL, *stages = NULL;
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
    if (!doc || !json_object_object_get_ex(doc, "stages", &stages)) {
        json_object_put(doc);
        return CR_OK;
    }
    loader L;
    st = spelling_init(ctx, &L);
    for (int i = 0; st == CR_OK && i < p->nstages; i++) {
        json_object *entry = NULL;
        if (json_object_object_get_ex(stages, p->stage[i].name, &entry) &&
            !(p->stage[i].record = record_from(&L, &p->stage[i], entry)))
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    }
    spelling_release(&L);
    json_object_put(doc);
    return st;
}

void cr_pl_record_free(struct cr_stage_record *r)
{
    if (!r)
        return;
    CSLDestroy(r->argv);
    free(r->version);
    free(r->inputs);
    free(r->outputs);
    free(r);
}

/* ---- what runs ---- */

/* An option of a command line ("--bandwidth", "-of"), not a value ("-5", "-"). */
static int is_option(const char *arg)
{
    return arg && arg[0] == '-' && ((arg[1] == '-' && arg[2]) || (arg[1] >= 'a' && arg[1] <= 'z') ||
                                    (arg[1] >= 'A' && arg[1] <= 'Z'));
}

/* Says in why which option of now (the stage's canonical arguments) first differs from
 * was (those recorded); 0 when none does. */
static int options_differ(char **was, char **now, char *why, size_t size)
{
    int k = 0;
    while (was[k] && now[k] && strcmp(was[k], now[k]) == 0)
        k++;
    if (!was[k] && !now[k])
        return 0;
    if (k == 0) {
        snprintf(why, size, "its command differs from its last run");
        return 1;
    }
    if (is_option(now[k]) && CSLFindString(was, now[k]) < 0) {
        snprintf(why, size, "option %s is new since its last run", now[k]);
        return 1;
    }
    if (is_option(was[k]) && CSLFindString(now, was[k]) < 0) {
        snprintf(why, size, "option %s of its last run is gone", was[k]);
        return 1;
    }
    char **list = now[k] ? now : was; /* the value differs: its option is before it */
    int j = k;
    while (j > 1 && !is_option(list[j]))
        j--;
    snprintf(why, size, "option %s differs from its last run", list[j]);
    return 1;
}

/* Whether input in (recorded as rec) changed since the stage's last run; says why. */
static int input_changed(const cr_pipeline *p, const char *in, const cr_file_print *rec, char *why, size_t size)
{
    struct stat sb;
    int here = stat(in, &sb) == 0;
    if (!rec->known) { /* not seen then: a /vsi path, or an input added to the record */
        if (here)
            snprintf(why, size, "input %s is not in the record of its last run", in);
        return here;
    }
    if (!here) {
        snprintf(why, size, "input %s is gone since its last run", in);
        return 1;
    }
    if ((long long)sb.st_size != rec->size) {
        snprintf(why, size, "input %s changed since its last run: another size", in);
        return 1;
    }
    if (mtime_ns(&sb) == rec->mtime_ns)
        return 0;
    /* Same size, another time: a checkout, a copy or a network file system may have set the
     * time of an unchanged file. With --checksum its content decides. */
    unsigned long long hash = 0;
    if (p->content_hash && rec->hashed && hash_file(in, &hash) == 0 && hash == rec->hash)
        return 0;
    snprintf(why, size, "input %s changed since its last run: %s", in,
             !p->content_hash ? "another time" : rec->hashed ? "another content" : "another time, and no hash recorded");
    return 1;
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
    if (!s->outputs) {
        snprintf(why, size, "it writes no file, so it always runs");
        return CR_STAGE_NO_OUTPUT;
    }
    struct stat sb;
    for (char **o = s->outputs; *o; o++)
        if (stat(*o, &sb) != 0) {
            snprintf(why, size, "output %s does not exist", *o);
            return CR_STAGE_NO_OUTPUT;
        }
    const struct cr_stage_record *r = s->record;
    if (!r) {
        snprintf(why, size, "no record of an earlier run in %s", p->state_path);
        return CR_STAGE_NO_RECORD;
    }
    if (strcmp(r->version, cr_version()) != 0) {
        snprintf(why, size, "made by cityrisk %s, this is %s", r->version, cr_version());
        return CR_STAGE_VERSION;
    }
    if (options_differ(r->argv, s->canonical ? s->canonical : (char *[]){NULL}, why, size))
        return CR_STAGE_CHANGED;
    for (int k = 0; s->inputs && s->inputs[k]; k++)
        if (input_changed(p, s->inputs[k], &r->inputs[k], why, size))
            return CR_STAGE_INPUT_CHANGED;
    snprintf(why, size, "up to date");
    return CR_STAGE_UP_TO_DATE;
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

/* ---- recording a run ---- */

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

/* {PATH: fingerprint} of the files paths as they are now, PATH in its one spelling; files
 * that cannot be seen are left out. NULL when out of memory. */
static json_object *files_json(loader *L, char **paths, int hash)
{
    json_object *files = json_object_new_object();
    for (char **f = paths; files && f && *f; f++) {
        cr_file_print fp = print_of(*f, hash);
        char *key = fp.known ? cr_pl_path_key(L, *f) : NULL;
        if (fp.known && !key) {
            json_object_put(files);
            return NULL;
        }
        if (key)
            json_object_object_add(files, key, print_json(&fp));
        CPLFree(key);
    }
    return files;
}

/* The record of stage s as it ran just now. */
static json_object *record_json(loader *L, const cr_pipeline *p, const cr_stage *s)
{
    json_object *entry = json_object_new_object(), *argv = json_object_new_array();
    json_object *inputs = files_json(L, s->inputs, p->content_hash), *outputs = files_json(L, s->outputs, 0);
    if (!entry || !argv || !inputs || !outputs) {
        json_object_put(entry);
        json_object_put(argv);
        json_object_put(inputs);
        json_object_put(outputs);
        return NULL;
    }
    for (char **a = s->canonical; a && *a; a++)
        json_object_array_add(argv, json_object_new_string(*a));
    json_object_object_add(entry, "argv", argv);
    json_object_object_add(entry, "version", json_object_new_string(cr_version()));
    json_object_object_add(entry, "inputs", inputs);
    json_object_object_add(entry, "outputs", outputs);
    return entry;
}

/* The state to write: stage i's record, the records on disk (old) of the pipeline's other
 * stages, in the pipeline's order, then those of stages it does not have, in their order
 * there: the same bytes whatever order the stages finished in. Takes entry. */
static json_object *state_json(loader *L, const cr_pipeline *p, int i, json_object *entry, json_object *old)
{
    json_object *doc = json_object_new_object(), *stages = json_object_new_object(), *was = NULL;
    CPLHashSet *names = CPLHashSetNew(CPLHashSetHashStr, CPLHashSetEqualStr, NULL);
    char *key = cr_pl_path_key(L, p->path);
    if (!doc || !stages || !names || !key) {
        json_object_put(doc);
        json_object_put(stages);
        json_object_put(entry);
        if (names)
            CPLHashSetDestroy(names);
        CPLFree(key);
        return NULL;
    }
    json_object_object_add(doc, "cityrisk_state", json_object_new_int(STATE_VERSION));
    json_object_object_add(doc, "pipeline", json_object_new_string(key));
    CPLFree(key);
    if (old)
        json_object_object_get_ex(old, "stages", &was);
    for (int k = 0; k < p->nstages; k++) {
        json_object *kept = NULL;
        CPLHashSetInsert(names, p->stage[k].name);
        if (k == i)
            json_object_object_add(stages, p->stage[k].name, entry);
        else if (was && json_object_object_get_ex(was, p->stage[k].name, &kept))
            json_object_object_add(stages, p->stage[k].name, json_object_get(kept));
    }
    if (was) {
        json_object_object_foreach(was, name, kept)
        {
            if (!CPLHashSetLookup(names, name))
                json_object_object_add(stages, name, json_object_get(kept));
        }
    }
    CPLHashSetDestroy(names);
    json_object_object_add(doc, "stages", stages);
    return doc;
}

cr_status cr_pipeline_record(cr_ctx *ctx, const cr_pipeline *p, int i)
{
    /* The records of other stages as they are now on disk (another run may have added
     * some); a state that cannot be used is replaced, one that is not a regular file is
     * left alone (load warned). Not cancellable: the stage has run, and a signal now must
     * not make the next run repeat it. */
    json_object *old = NULL;
    char *why = NULL;
    int not_regular = 0;
    cr_status st = read_state(ctx, p->state_path, 0, &old, &why, &not_regular);
    free(why);
    if (st != CR_OK || not_regular) {
        json_object_put(old);
        return st;
    }
    loader L;
    st = spelling_init(ctx, &L);
    json_object *entry = st == CR_OK ? record_json(&L, p, &p->stage[i]) : NULL;
    json_object *doc = entry ? state_json(&L, p, i, entry, old) : NULL;
    spelling_release(&L);
    json_object_put(old);
    if (st == CR_OK && !doc)
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    /* Through a locked temporary as every output, so that a second signal removes it and a
     * run after kill -9 sweeps it; the state is the pipeline's to replace. */
    cr_temp temp = CR_TEMP_NONE;
    if (st == CR_OK)
        st = make_folder_of(ctx, p->state_path);
    if (st == CR_OK)
        st = cr_temp_file(ctx, p->state_path, "run", &temp);
    if (st == CR_OK &&
        json_object_to_file_ext(temp.path, doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE) != 0)
        st = cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", p->state_path, strerror(errno));
    if (st == CR_OK)
        st = cr_temp_publish(ctx, &temp, p->state_path, 1);
    cr_temp_discard(&temp);
    json_object_put(doc);
    return st;
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

/* ---- before a stage runs ---- */

/* 1 when the file at path (seen by lstat() as lsb) is what rec records: the pipeline made
 * it, and it has not changed since. */
static int made_by_pipeline(const char *path, const struct stat *lsb, const cr_file_print *rec)
{
    struct stat sb;
    /* never a symlink: a stage replaces one of its output's name rather than write into it */
    return rec && rec->known && !S_ISLNK(lsb->st_mode) && stat(path, &sb) == 0 &&
           (long long)sb.st_size == rec->size && mtime_ns(&sb) == rec->mtime_ns;
}

cr_status cr_pipeline_prepare(cr_ctx *ctx, const cr_pipeline *p, int i, int replace_foreign, int *overwrite)
{
    const cr_stage *s = &p->stage[i];
    const struct cr_stage_record *r = s->record;
    int exists = 0;
    *overwrite = 0;
    /* Checked before any folder is made: a stage refused leaves nothing behind. */
    for (int k = 0; s->outputs && s->outputs[k]; k++) {
        struct stat lsb;
        if (lstat(s->outputs[k], &lsb) != 0)
            continue;
        exists = 1;
        if (!replace_foreign && !made_by_pipeline(s->outputs[k], &lsb, r ? &r->outputs[k] : NULL))
            return cr_ctx_fail(ctx, CR_E_EXISTS,
                               "pipeline '%s' stage %s: output '%s' exists and this pipeline did not make it (or it "
                               "changed since it did): remove it, give the stage \"overwrite\": true, or run with "
                               "--force",
                               p->path, s->name, s->outputs[k]);
    }
    /* With a record, the files the stage writes beside its outputs (a Shapefile's .dbf, its
     * .fields.csv) are the pipeline's too, even when the outputs themselves were removed. */
    *overwrite = replace_foreign || exists || r != NULL;
    for (char **o = s->outputs; o && *o; o++) {
        cr_status st = make_folder_of(ctx, *o);
        if (st != CR_OK)
            return st;
    }
    return CR_OK;
}
