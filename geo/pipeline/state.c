/* state.c: the state file: what each stage ran with and made, whether it must run again,
 * and whether the outputs in its way are the pipeline's to replace. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
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
                             const char *key, int optional)
{
    json_object *files = NULL;
    if (optional && !json_object_object_get_ex(entry, key, &files))
        return CR_OK;
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
        cr_status st = check_files(ctx, path, name, entry, "inputs", 0);
        if (st == CR_OK)
            st = check_files(ctx, path, name, entry, "outputs", 0);
        if (st == CR_OK)
            st = check_files(ctx, path, name, entry, "owned", 1);
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

/* The files whose change makes stage s run: its inputs, each Shapefile (.shp) followed by
 * the other files of it a reader opens (.dbf, .shx, .prj, .cpg), whether they exist or
 * not: QGIS edits a layer's attributes in its .dbf alone. A CSL to CSLDestroy(). */
static char **checked_inputs(const cr_stage *s)
{
    static const char *const others[] = {"dbf", "shx", "prj", "cpg"};
    char **list = NULL;
    for (char **in = s->inputs; in && *in; in++) {
        list = CSLAddString(list, *in);
        size_t stem = cr_pl_stem_length(*in);
        if (strcasecmp(*in + stem, ".shp") != 0 || strncmp(*in, "/vsi", 4) == 0)
            continue;
        int upper = (*in)[stem + 1] == 'S'; /* ".SHP": its files are ".DBF"... */
        for (size_t e = 0; e < sizeof others / sizeof *others; e++) {
            char *other = cr_pl_format("%.*s.%s", (int)stem, *in, others[e]);
            for (char *c = other + stem + 1; upper && *c; c++)
                *c = (char)(*c - 'a' + 'A');
            list = CSLAddString(list, other);
            CPLFree(other);
        }
    }
    return list;
}

/* Fills r (of stage s) with the run entry (of the state's shape) records; 0 when out of
 * memory. */
static int run_from(loader *L, const cr_stage *s, json_object *entry, struct cr_stage_record *r)
{
    json_object *argv = NULL, *version = NULL, *inputs = NULL, *outputs = NULL;
    json_object_object_get_ex(entry, "argv", &argv);
    json_object_object_get_ex(entry, "version", &version);
    json_object_object_get_ex(entry, "inputs", &inputs);
    json_object_object_get_ex(entry, "outputs", &outputs);
    size_t n = json_object_array_length(argv);
    if (!(r->argv = calloc(n + 1, sizeof *r->argv)))
        return 0;
    int ok = 1;
    for (size_t k = 0; ok && k < n; k++)
        ok = (r->argv[k] = CPLStrdup(json_object_get_string(json_object_array_get_idx(argv, k)))) != NULL;
    char **checked = checked_inputs(s);
    ok = ok && (r->version = strdup(json_object_get_string(version))) != NULL;
    ok = ok && (r->inputs = prints_of(L, inputs, checked)) != NULL;
    ok = ok && (r->outputs = prints_of(L, outputs, s->outputs)) != NULL;
    CSLDestroy(checked);
    return ok;
}

/* An output of a stage, by its one spelling: what the records read are matched against. */
typedef struct out_key {
    char *key;
    int stage, k; /* the stage (index in p) and which of its outputs */
} out_key;

static unsigned long out_key_hash(const void *e)
{
    return CPLHashSetHashStr(((const out_key *)e)->key);
}

static int out_key_equal(const void *a, const void *b)
{
    return strcmp(((const out_key *)a)->key, ((const out_key *)b)->key) == 0;
}

static void out_key_free(void *e)
{
    CPLFree(((out_key *)e)->key);
    free(e);
}

/* What the load of the state files builds. */
typedef struct state_reader {
    loader L;
    cr_pipeline *p;
    CPLHashSet *outs;     /* out_key of every output of every stage */
    char *named;          /* per stage, 1 when the pipeline's own state has its record by name */
} state_reader;

/* The record of stage i, made empty when it has none; NULL when out of memory. */
static struct cr_stage_record *record_of(state_reader *R, int i)
{
    cr_stage *s = &R->p->stage[i];
    if (s->record)
        return s->record;
    int n = CSLCount(s->outputs);
    struct cr_stage_record *r = calloc(1, sizeof *r);
    if (!r || !(r->owners = calloc((size_t)n + 1, sizeof *r->owners))) {
        free(r);
        return NULL;
    }
    r->owners[n].n = -1; /* the end, for cr_pl_record_free() */
    return s->record = r;
}

/* Adds to each output of the pipeline that the files (of a record's "outputs" or "owned")
 * list their fingerprint; with entry, gives a stage with no record of a run the run of
 * entry when it lists the stage's first output. Fails only when out of memory. */
static cr_status scan_files(state_reader *R, json_object *files, json_object *entry)
{
    json_object_object_foreach(files, path, fp)
    {
        out_key probe = {path, 0, 0};
        const out_key *o = CPLHashSetLookup(R->outs, &probe);
        struct cr_stage_record *r = o ? record_of(R, o->stage) : NULL;
        if (o && !r)
            return cr_ctx_fail(R->L.ctx, CR_E_IO, "out of memory");
        if (!o)
            continue;
        cr_file_prints *owners = &r->owners[o->k];
        cr_file_print *grown = realloc(owners->print, ((size_t)owners->n + 1) * sizeof *grown);
        if (!grown)
            return cr_ctx_fail(R->L.ctx, CR_E_IO, "out of memory");
        owners->print = grown;
        owners->print[owners->n++] = print_from(fp);
        if (entry && o->k == 0 && !r->argv && !R->named[o->stage] &&
            !run_from(&R->L, &R->p->stage[o->stage], entry, r))
            return cr_ctx_fail(R->L.ctx, CR_E_IO, "out of memory");
    }
    return CR_OK;
}

/* Reads the records of the state doc (of the state's shape) for what they made and ran. */
static cr_status scan_state(state_reader *R, json_object *doc)
{
    json_object *stages = NULL;
    json_object_object_get_ex(doc, "stages", &stages);
    cr_status st = CR_OK;
    json_object_object_foreach(stages, name, entry)
    {
        json_object *files = NULL;
        (void)name;
        if (st == CR_OK && json_object_object_get_ex(entry, "outputs", &files))
            st = scan_files(R, files, entry);
        if (st == CR_OK && json_object_object_get_ex(entry, "owned", &files))
            st = scan_files(R, files, NULL);
    }
    return st;
}

/* At most this many state files besides the pipeline's own are read for what they made:
 * each may be as large as the limits allow. */
enum { OTHER_STATES = 64 };

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The state files ("*.state.json") in the .cityrisk/ folder of the folder where (a file's key
 * cut at its last '/') but the pipeline's own, added to the CSL *list (sorted within the
 * folder), while it has fewer than OTHER_STATES. */
static void other_states(const cr_pipeline *p, const char *where, char ***list)
{
    char *dir = cr_pl_format("%s/.cityrisk", where);
    DIR *d = opendir(dir);
    char **found = NULL;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name), suffix = strlen(".state.json");
        if (e->d_name[0] == '.' || len <= suffix || strcmp(e->d_name + len - suffix, ".state.json") != 0)
            continue;
        char *path = cr_pl_format("%s/%s", dir, e->d_name);
        if (strcmp(path, p->state_path) != 0 && CSLCount(*list) + CSLCount(found) < OTHER_STATES)
            found = CSLAddString(found, path);
        CPLFree(path);
    }
    if (d)
        closedir(d);
    if (found)
        qsort(found, (size_t)CSLCount(found), sizeof *found, by_name);
    for (char **f = found; f && *f; f++)
        *list = CSLAddString(*list, *f);
    CSLDestroy(found);
    CPLFree(dir);
}

/* The out_key of every output, and the other state files of the folders they are in. */
static cr_status index_outputs(state_reader *R, char ***states)
{
    CPLHashSet *folders = CPLHashSetNew(CPLHashSetHashStr, CPLHashSetEqualStr, CPLFree);
    R->outs = CPLHashSetNew(out_key_hash, out_key_equal, out_key_free);
    if (!folders || !R->outs) {
        if (folders)
            CPLHashSetDestroy(folders);
        return cr_ctx_fail(R->L.ctx, CR_E_IO, "out of memory");
    }
    for (int i = 0; i < R->p->nstages; i++)
        for (int k = 0; R->p->stage[i].outputs && R->p->stage[i].outputs[k]; k++) {
            out_key *o = malloc(sizeof *o);
            char *key = cr_pl_path_key(&R->L, R->p->stage[i].outputs[k]);
            if (!o || !key) {
                free(o);
                CPLFree(key);
                CPLHashSetDestroy(folders);
                return cr_ctx_fail(R->L.ctx, CR_E_IO, "out of memory");
            }
            *o = (out_key){key, i, k};
            CPLHashSetInsert(R->outs, o);
            char *slash = strrchr(key, '/');
            if (slash && slash != key && strncmp(key, "/vsi", 4) != 0) {
                char *dirname = CPLStrdup(key);
                dirname[slash - key] = 0;
                if (CPLHashSetLookup(folders, dirname))
                    CPLFree(dirname);
                else {
                    CPLHashSetInsert(folders, dirname);
                    other_states(R->p, dirname, states);
                }
            }
        }
    CPLHashSetDestroy(folders);
    return CR_OK;
}

/* Reads each stage's record from the pipeline's state file, once: by the stage's name. Then
 * reads, for what the pipeline made, every record of it and of the other state files in
 * the .cityrisk/ folders of the outputs' folders (those of a renamed pipeline file, or
 * left where the state was before a stage writing elsewhere came first): an output any
 * of them lists with its size and time is the pipeline's, and a stage with no record by
 * its name takes the run of a record that lists its first output (renamed, or a new
 * variable in its name). Those other files are read only; one that cannot be used is
 * ignored without a word (the pipeline's own state is warned about). */
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
    state_reader R = {.p = p};
    char **states = NULL;
    st = spelling_init(ctx, &R.L);
    if (st == CR_OK && !(R.named = calloc((size_t)p->nstages + 1, 1)))
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    if (st == CR_OK)
        st = index_outputs(&R, &states);
    if (doc)
        json_object_object_get_ex(doc, "stages", &stages);
    for (int i = 0; st == CR_OK && stages && i < p->nstages; i++) {
        json_object *entry = NULL;
        if (!json_object_object_get_ex(stages, p->stage[i].name, &entry))
            continue;
        R.named[i] = 1;
        struct cr_stage_record *r = record_of(&R, i);
        if (!r || !run_from(&R.L, &p->stage[i], entry, r))
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    }
    if (st == CR_OK && doc)
        st = scan_state(&R, doc);
    json_object_put(doc);
    for (char **f = states; st == CR_OK && f && *f; f++) {
        json_object *other = NULL;
        st = read_state(ctx, *f, 1, &other, &why, &not_regular);
        free(why);
        if (st == CR_OK && other)
            st = scan_state(&R, other);
        json_object_put(other);
    }
    CSLDestroy(states);
    free(R.named);
    if (R.outs)
        CPLHashSetDestroy(R.outs);
    spelling_release(&R.L);
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
    for (int k = 0; r->owners && r->owners[k].n >= 0; k++)
        free(r->owners[k].print);
    free(r->owners);
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
    if (!r || !r->argv) {
        snprintf(why, size, "no record of an earlier run in %s", p->state_path);
        return CR_STAGE_NO_RECORD;
    }
    if (strcmp(r->version, cr_version()) != 0) {
        snprintf(why, size, "made by cityrisk %s, this is %s", r->version, cr_version());
        return CR_STAGE_VERSION;
    }
    if (options_differ(r->argv, s->canonical ? s->canonical : (char *[]){NULL}, why, size))
        return CR_STAGE_CHANGED;
    char **checked = checked_inputs(s);
    for (int k = 0; checked && checked[k]; k++)
        if (input_changed(p, checked[k], &r->inputs[k], why, size)) {
            CSLDestroy(checked);
            return CR_STAGE_INPUT_CHANGED;
        }
    CSLDestroy(checked);
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

/* The files the record was (of the state's shape, NULL for none) lists as made, in its
 * "outputs" or "owned", that outputs (those of the stage now) does not and that are still as
 * it recorded them, added to owned: an output moved elsewhere (--set STAGE.output=) stays
 * the pipeline's while it is unchanged, so moving it back replaces it. */
static void carry_owned(json_object *was, json_object *outputs, json_object *owned)
{
    static const char *const keys[] = {"outputs", "owned"};
    for (size_t k = 0; was && k < sizeof keys / sizeof *keys; k++) {
        json_object *files = NULL;
        if (!json_object_object_get_ex(was, keys[k], &files))
            continue;
        json_object_object_foreach(files, path, fp)
        {
            cr_file_print then = print_from(fp), now = print_of(path, 0);
            if (!json_object_object_get_ex(outputs, path, NULL) && !json_object_object_get_ex(owned, path, NULL) &&
                now.known && now.size == then.size && now.mtime_ns == then.mtime_ns)
                json_object_object_add(owned, path, print_json(&then));
        }
    }
}

/* The record of stage s as it ran just now; was, its record before (NULL for none). */
static json_object *record_json(loader *L, const cr_pipeline *p, const cr_stage *s, json_object *was)
{
    char **checked = checked_inputs(s);
    json_object *entry = json_object_new_object(), *argv = json_object_new_array();
    json_object *inputs = files_json(L, checked, p->content_hash), *outputs = files_json(L, s->outputs, 0);
    json_object *owned = json_object_new_object();
    CSLDestroy(checked);
    if (!entry || !argv || !inputs || !outputs || !owned) {
        json_object_put(entry);
        json_object_put(argv);
        json_object_put(inputs);
        json_object_put(outputs);
        json_object_put(owned);
        return NULL;
    }
    for (char **a = s->canonical; a && *a; a++)
        json_object_array_add(argv, json_object_new_string(*a));
    carry_owned(was, outputs, owned);
    json_object_object_add(entry, "argv", argv);
    json_object_object_add(entry, "version", json_object_new_string(cr_version()));
    json_object_object_add(entry, "inputs", inputs);
    json_object_object_add(entry, "outputs", outputs);
    if (json_object_object_length(owned) > 0)
        json_object_object_add(entry, "owned", owned);
    else
        json_object_put(owned);
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

/* Takes an exclusive flock() on the lock file of the state at path ("<path>.lock", made
 * when missing), so that two runs of one pipeline (two processes) rewrite the state one
 * after the other, neither dropping the record the other just wrote. The file is removed
 * when released (unlock_state()); a run that locked a file removed meanwhile locks the new
 * one. Sets *fd and *lock (to free()); fails with CR_E_IO. */
static cr_status lock_state(cr_ctx *ctx, const char *path, int *fd, char **lock)
{
    *fd = -1;
    if (!(*lock = malloc(strlen(path) + 6)))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    sprintf(*lock, "%s.lock", path);
    for (;;) {
        struct stat held, named;
        int f = open(*lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
        int locked = f >= 0;
        while (locked && flock(f, LOCK_EX) != 0)
            locked = errno == EINTR;
        if (!locked) {
            cr_status st = cr_ctx_fail(ctx, CR_E_IO, "cannot lock '%s': %s", *lock, strerror(errno));
            if (f >= 0)
                close(f);
            free(*lock);
            *lock = NULL;
            return st;
        }
        if (fstat(f, &held) == 0 && stat(*lock, &named) == 0 && held.st_dev == named.st_dev &&
            held.st_ino == named.st_ino) {
            *fd = f;
            return CR_OK;
        }
        close(f); /* removed by the run that held it: lock the one there now */
    }
}

/* Releases lock_state()'s lock, removing its file first (while held: no run locks a file
 * that is gone by then but for a moment, and that one retries). */
static void unlock_state(int fd, char *lock)
{
    if (fd >= 0) {
        unlink(lock);
        close(fd);
    }
    free(lock);
}

cr_status cr_pipeline_record(cr_ctx *ctx, const cr_pipeline *p, int i)
{
    /* A state that is not a regular file is left alone (load warned), and no lock is made
     * beside it. */
    struct stat sb;
    if (stat(p->state_path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return CR_OK;
    cr_status st = make_folder_of(ctx, p->state_path);
    int fd = -1;
    char *lock = NULL;
    if (st == CR_OK)
        st = lock_state(ctx, p->state_path, &fd, &lock);
    if (st != CR_OK)
        return st;
    /* The records of other stages as they are now on disk (another run may have added
     * some), read under the lock; a state that cannot be used is replaced, one that is not
     * a regular file is left alone. Not cancellable: the stage has run, and a signal now
     * must not make the next run repeat it. */
    json_object *old = NULL, *stages = NULL, *was = NULL;
    char *why = NULL;
    int not_regular = 0;
    st = read_state(ctx, p->state_path, 0, &old, &why, &not_regular);
    free(why);
    if (st != CR_OK || not_regular) {
        json_object_put(old);
        unlock_state(fd, lock);
        return st;
    }
    if (old && json_object_object_get_ex(old, "stages", &stages))
        json_object_object_get_ex(stages, p->stage[i].name, &was);
    loader L;
    st = spelling_init(ctx, &L);
    json_object *entry = st == CR_OK ? record_json(&L, p, &p->stage[i], was) : NULL;
    json_object *doc = entry ? state_json(&L, p, i, entry, old) : NULL;
    spelling_release(&L);
    json_object_put(old);
    if (st == CR_OK && !doc)
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    /* Through a locked temporary as every output, so that a second signal removes it and a
     * run after kill -9 sweeps it; the state is the pipeline's to replace. */
    cr_temp temp = CR_TEMP_NONE;
    if (st == CR_OK)
        st = cr_temp_file(ctx, p->state_path, "run", &temp);
    if (st == CR_OK &&
        json_object_to_file_ext(temp.path, doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE) != 0)
        st = cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", p->state_path, strerror(errno));
    if (st == CR_OK)
        st = cr_temp_publish(ctx, &temp, p->state_path, 1);
    cr_temp_discard(&temp);
    unlock_state(fd, lock);
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

/* 1 when the file at path (seen by lstat() as lsb) is one of the fingerprints a record
 * read lists for its path: the pipeline made it, and it has not changed since. */
static int made_by_pipeline(const char *path, const struct stat *lsb, const cr_file_prints *owners)
{
    struct stat sb;
    /* never a symlink: a stage replaces one of its output's name rather than write into it */
    if (!owners || S_ISLNK(lsb->st_mode) || stat(path, &sb) != 0)
        return 0;
    for (int k = 0; k < owners->n; k++)
        if ((long long)sb.st_size == owners->print[k].size && mtime_ns(&sb) == owners->print[k].mtime_ns)
            return 1;
    return 0;
}

cr_status cr_pipeline_prepare(cr_ctx *ctx, const cr_pipeline *p, int i, int replace_foreign, int *overwrite)
{
    const cr_stage *s = &p->stage[i];
    const struct cr_stage_record *r = s->record;
    int exists = 0, listed = 0;
    *overwrite = 0;
    /* Checked before any folder is made: a stage refused leaves nothing behind. */
    for (int k = 0; s->outputs && s->outputs[k]; k++) {
        struct stat lsb;
        const cr_file_prints *owners = r ? &r->owners[k] : NULL;
        listed = listed || (owners && owners->n > 0);
        if (lstat(s->outputs[k], &lsb) != 0)
            continue;
        exists = 1;
        if (!replace_foreign && !made_by_pipeline(s->outputs[k], &lsb, owners))
            return cr_ctx_fail(ctx, CR_E_EXISTS,
                               "pipeline '%s' stage %s: output '%s' exists and this pipeline did not make it (or it "
                               "changed since it did): remove it, give the stage \"overwrite\": true, or run with "
                               "--force",
                               p->path, s->name, s->outputs[k]);
    }
    /* The files the stage writes beside its outputs (a Shapefile's .dbf, its .fields.csv)
     * are the pipeline's too when its outputs are (every one there is), or when none is
     * there but a record lists their paths (the outputs were removed). A record of the
     * stage that lists other paths grants nothing: the files there may be anyone's. */
    *overwrite = replace_foreign || exists || listed;
    for (char **o = s->outputs; o && *o; o++) {
        cr_status st = make_folder_of(ctx, *o);
        if (st != CR_OK)
            return st;
    }
    return CR_OK;
}
