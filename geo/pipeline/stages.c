/* stages.c: building the stages of a pipeline: values substituted, paths resolved, the
 * arguments of each stage's command, --set applied. */
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

/* Characters a label may not hold where it names a stage or a gathered file: they
 * separate the parts of "NAME[label,label]", of --set's "STAGE.OPTION=VALUE" and of
 * gather's "LABEL;LABEL=FILE" (and a '/' would put a stage's name in a folder). */
static const char BAD_LABEL[] = "=;[],/";

/* How a variable is written into a value: its label in a stage's name and in file paths,
 * its value elsewhere. */
typedef enum sub_mode { AS_VALUE, AS_LABEL } sub_mode;

/* The variable referred to at p ("{NAME}", or "{NAME*}": *all set), NULL when p starts no
 * reference to a variable; *len is the reference's length, *index the variable's.
 * "{scenarios}" is "{scenario*}" unless a variable has that name (the old form), empty
 * when there is no variable scenario. */
static const variable *reference(const loader *L, const char *p, size_t *len, int *all, int *index)
{
    const char *close = *p == '{' ? strchr(p + 1, '}') : NULL;
    if (!close || close == p + 1)
        return NULL;
    size_t n = (size_t)(close - p - 1);
    *len = n + 2;
    *all = p[n] == '*';
    size_t name_len = n - (size_t)*all;
    for (int v = 0; v < L->nvars; v++)
        if (strlen(L->vars[v].name) == name_len && strncmp(p + 1, L->vars[v].name, name_len) == 0)
            return *index = v, &L->vars[v];
    static const variable none = {NULL, NULL, NULL, 0};
    if (!*all && name_len == 9 && strncmp(p + 1, "scenarios", 9) == 0) {
        *all = 1, *index = -1;
        for (int v = 0; v < L->nvars; v++)
            if (strcmp(L->vars[v].name, "scenario") == 0)
                return *index = v, &L->vars[v];
        return &none; /* empty, as it always was without scenarios: the command's default */
    }
    return NULL;
}

/* How a variable fills a file option: a value that is exactly one variable ("dem": "{dem}")
 * names its file by the variable's value ({"a": "data/dem-a.tif", ...}); inside a longer
 * path ("out/exposure-{scenario}-{weights}.tif") a variable gives its label, which names
 * files the way it names stages. */
static sub_mode file_mode(const loader *L, const char *text)
{
    size_t len = 0;
    int all = 0, v = -1;
    const variable *var = reference(L, text, &len, &all, &v);
    return var && !all && len == strlen(text) ? AS_VALUE : AS_LABEL;
}

/* text with each reference to a variable replaced, in one pass: a value holding a
 * reference is taken as it is, not expanded again (which never ended). "{NAME}" gives the
 * label or value pick[] chooses (and stays as written when pick is NULL or chooses none),
 * "{NAME*}" all of them joined with commas; braces that name no variable stay. A new
 * string, counted in L->arg_bytes; NULL when that would pass CR_PIPELINE_MAX_ARG_BYTES (a
 * failure with a message), before anything that large is allocated. */
static char *substitute(loader *L, const char *text, const int *pick, sub_mode mode)
{
    size_t need = 1;
    for (int pass = 0; pass < 2; pass++) {
        char *out = pass ? CPLMalloc(need) : NULL, *o = out;
        for (const char *p = text; *p;) {
            size_t len = 0;
            int all = 0, v = -1;
            const variable *var = reference(L, p, &len, &all, &v);
            char *joined = NULL;
            const char *value = NULL;
            if (var && all)
                value = joined = cr_pl_join(mode == AS_LABEL ? var->labels : var->values);
            else if (var && pick && pick[v] >= 0)
                value = (mode == AS_LABEL ? var->labels : var->values)[pick[v]];
            size_t n = value ? strlen(value) : 1;
            if (!pass) {
                need += n;
                if (need > CR_PIPELINE_MAX_ARG_BYTES - L->arg_bytes) {
                    CPLFree(joined);
                    cr_ctx_fail(L->ctx, CR_E_DATA,
                                "pipeline '%s': the values of its stages, with their variables "
                                "replaced, take more than the %zu MiB a pipeline may",
                                L->path, CR_PIPELINE_MAX_ARG_BYTES >> 20);
                    return NULL;
                }
            } else {
                memcpy(o, value ? value : p, n);
                o += n;
            }
            CPLFree(joined);
            p += value ? len : 1;
        }
        if (pass) {
            *o = '\0';
            L->arg_bytes += need;
            return out;
        }
    }
    return NULL;
}

/* Marks in used[] the variables text takes one value of ("{NAME}", not "{NAME*}"). */
static void mark_uses(const loader *L, const char *text, int *used)
{
    for (const char *p = strchr(text, '{'); p; p = strchr(p + 1, '{')) {
        size_t len;
        int all, v;
        if (reference(L, p, &len, &all, &v) && !all)
            used[v] = 1;
    }
}

/* mark_uses() over a value: a string, or the strings of an array. */
static void mark_value_uses(const loader *L, json_object *v, int *used)
{
    if (json_object_is_type(v, json_type_string))
        mark_uses(L, json_object_get_string(v), used);
    for (size_t i = 0; json_object_is_type(v, json_type_array) && i < json_object_array_length(v); i++)
        mark_value_uses(L, json_object_array_get_idx(v, i), used);
}

/* The first combination of the used variables in pick (-1 for the others). */
static void first_pick(const loader *L, const int *used, int *pick)
{
    for (int v = 0; v < L->nvars; v++)
        pick[v] = used[v] ? 0 : -1;
}

/* The next combination (the last variable declared varying fastest, as nested loops in the
 * order of the declarations); 0 after the last. */
static int next_pick(const loader *L, const int *used, int *pick)
{
    for (int v = L->nvars - 1; v >= 0; v--) {
        if (!used[v])
            continue;
        if (++pick[v] < L->vars[v].n)
            return 1;
        pick[v] = 0;
    }
    return 0;
}

/* The number of combinations of the used variables, or a failure when they are more than
 * the stages a pipeline may have (counted without overflowing). */
static cr_status count_picks(loader *L, const int *used, size_t k, const char *base, long *count)
{
    long n = 1;
    for (int v = 0; v < L->nvars; v++)
        if (used[v] && (n *= L->vars[v].n) > CR_PIPELINE_MAX_STAGES)
            return cr_ctx_fail(L->ctx, CR_E_DATA,
                               "pipeline '%s': stage %zu (%s): its variables make more than the %d "
                               "stages a pipeline may have",
                               L->path, k + 1, base, CR_PIPELINE_MAX_STAGES);
    *count = n;
    return CR_OK;
}

/* The labels of the combination pick: "VAR=LABEL" (kv) or the labels joined with sep; a
 * label holding a character of BAD_LABEL fails, naming the stage and the variable. */
static cr_status pick_labels(loader *L, const int *pick, size_t k, const char *base, char ***kv,
                             char **joined, char sep)
{
    size_t len = 1;
    for (int v = 0; v < L->nvars; v++)
        if (pick[v] >= 0) {
            const char *label = L->vars[v].labels[pick[v]];
            if (strpbrk(label, BAD_LABEL))
                return cr_ctx_fail(L->ctx, CR_E_DATA,
                                   "pipeline '%s': stage %zu (%s): variable '%s': '%s' cannot name a "
                                   "stage or a gathered file (no '=', ';', '[', ']', ',' or '/'): "
                                   "give the variable as an object of labels and values",
                                   L->path, k + 1, base, L->vars[v].name, label);
            len += strlen(label) + 1;
        }
    char *out = CPLMalloc(len), *o = out;
    for (int v = 0; v < L->nvars; v++)
        if (pick[v] >= 0) {
            const char *label = L->vars[v].labels[pick[v]];
            if (kv) {
                char *item = cr_pl_format("%s=%s", L->vars[v].name, label);
                *kv = CSLAddString(*kv, item);
                CPLFree(item);
            }
            if (o != out)
                *o++ = sep;
            memcpy(o, label, strlen(label));
            o += strlen(label);
        }
    *o = '\0';
    *joined = out;
    return CR_OK;
}

/* A JSON scalar as an argument; NULL for other types. A number is passed as the pipeline
 * writes it (json-c keeps the text it parsed: "1.10", "1e-7"), so that the stage reads the
 * number the user wrote and its outputs record it so; a number json-c did not parse (none
 * today) falls back to the shortest text that reads back as the same double. */
static char *scalar_text(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_string: return CPLStrdup(json_object_get_string(v));
    case json_type_int:
    case json_type_double: {
        const char *written = json_object_get_string(v);
        double value = json_object_get_double(v), read;
        if (written && cr_number_parse(written, strlen(written), &read) == CR_NUMBER_FINITE && read == value)
            return CPLStrdup(written);
        char text[32];
        return CPLStrdup(cr_number_shortest(value, text, sizeof text));
    }
    default: return NULL;
    }
}

/* The value of option "--KEY" in argv, NULL when absent. */
static const char *option_value(char **argv, const char *key)
{
    for (char **a = argv; a && a[0] && a[1]; a++)
        if (a[0][0] == '-' && a[0][1] == '-' && strcmp(a[0] + 2, key) == 0)
            return a[1];
    return NULL;
}

/* The files stage (index in the file's order) writes besides its outputs: the QGIS style
 * its command writes beside "output" (with --qml; also an output of the stage, so that a
 * missing style makes it run), and the other files of a Shapefile. */
static cr_status claim_outputs(loader *L, cr_stage *st, int stage, const char *output, int qml)
{
    cr_status status = CR_OK;
    for (char **o = st->outputs; status == CR_OK && o && *o; o++)
        status = cr_pl_add_claim(L, stage, *o, cr_pl_format("'%s'", *o));
    if (status != CR_OK || !output || strcmp(output, "-") == 0 || !*output)
        return status;
    size_t stem = cr_pl_stem_length(output);
    if (qml) {
        char *style = cr_pl_format("%.*s.qml", (int)stem, output);
        st->outputs = CSLAddString(st->outputs, style);
        status = cr_pl_add_claim(L, stage, style, cr_pl_format("'%s' (the QGIS style of '%s')", style, output));
        CPLFree(style);
    }
    const char *driver = option_value(st->argv, "format");
    if (strcmp(st->command, "zonal") == 0 &&
        (driver ? strcasecmp(driver, "ESRI Shapefile") == 0 : strcasecmp(output + stem, ".shp") == 0)) {
        static const char *const parts[] = {".shp", ".shx", ".dbf", ".prj", ".cpg"};
        for (size_t i = 0; status == CR_OK && i < sizeof parts / sizeof *parts; i++) {
            char *part = cr_pl_format("%.*s%s", (int)stem, output, parts[i]);
            if (strcmp(part, output) != 0)
                status = cr_pl_add_claim(L, stage, part, cr_pl_format("'%s' (a file of the Shapefile '%s')", part, output));
            CPLFree(part);
        }
        /* zonal's full field names beside it (cr_zonal_fields_path(): only ".shp" is cut) */
        size_t n = strlen(output), cut = n > 4 && strcasecmp(output + n - 4, ".shp") == 0 ? n - 4 : n;
        char *fields = cr_pl_format("%.*s.fields.csv", (int)cut, output);
        if (status == CR_OK)
            status = cr_pl_add_claim(L, stage, fields, cr_pl_format("'%s' (the field names of the Shapefile '%s')",
                                                                    fields, output));
        CPLFree(fields);
    }
    return status;
}

/* Appends --KEY and values to argv: each after its own --KEY when the option repeats, else
 * one value, or the values joined with commas (an array for a list such as --sea-level). */
static char **add_values(char **argv, const char *key, char **values, int repeatable)
{
    if (repeatable || CSLCount(values) == 1) {
        for (char **e = values; e && *e; e++) {
            argv = cr_pl_add_option(argv, key);
            argv = CSLAddString(argv, *e);
        }
    } else if (values) {
        char *joined = cr_pl_join(values);
        argv = cr_pl_add_option(argv, key);
        argv = CSLAddString(argv, joined);
        CPLFree(joined);
    }
    return argv;
}

/* Room for one more stage in L->p, or a failure past CR_PIPELINE_MAX_STAGES. */
static cr_status stage_slot(loader *L)
{
    cr_pipeline *p = L->p;
    if (p->nstages >= CR_PIPELINE_MAX_STAGES)
        return cr_ctx_fail(L->ctx, CR_E_DATA,
                           "pipeline '%s': its stages expand to more than the %d stages a pipeline "
                           "may have",
                           L->path, CR_PIPELINE_MAX_STAGES);
    if (p->nstages == L->cap) {
        int cap = L->cap ? 2 * L->cap : 16;
        cr_stage *grown = realloc(p->stage, (size_t)cap * sizeof *grown);
        if (!grown)
            return cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
        p->stage = grown;
        L->cap = cap;
    }
    return CR_OK;
}

/* Moves st (its name and command CPL strings) into the next slot of L->p, which owns it
 * from then on, whole or not (freed with the pipeline). */
static cr_status stage_done(loader *L, cr_stage *st, const char *base_name, cr_status status)
{
    cr_pipeline *p = L->p;
    cr_stage *dst = &p->stage[p->nstages];
    *dst = *st;
    dst->name = status == CR_OK ? strdup(st->name) : NULL;
    dst->command = status == CR_OK ? strdup(st->command) : NULL;
    dst->base = status == CR_OK ? strdup(base_name) : NULL;
    CPLFree(st->name);
    CPLFree(st->command);
    p->nstages++;
    if (status == CR_OK && (!dst->name || !dst->command || !dst->base))
        status = cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
    return status;
}

/* A path value of a stage: *path resolved against the pipeline's folder, *key in its one
 * spelling (cr_pl_path_key); new CPL strings. */
static cr_status resolve_path(loader *L, const char *written, char **path, char **key)
{
    *path = cr_pl_resolve(L->dir, written);
    *key = cr_pl_path_key(L, *path);
    if (*key)
        return CR_OK;
    CPLFree(*path);
    *path = NULL;
    return cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
}

/* The keys of a stage that gather the files of a sweep: a stage with them runs once, and
 * each such key names one file per combination of the variables it uses, passed as
 * "LABEL;LABEL=FILE" after --by and the variables' names (gather's positional inputs,
 * report's --zones and --exposure). */
typedef struct gathering_key {
    const char *command, *key;
    const char *option; /* NULL: positional */
    int required;
} gathering_key;

static const gathering_key GATHERING_KEYS[] = {
    {"gather", "input", NULL, 1},
    {"report", "zones", "--zones", 1},
    {"report", "exposure", "--exposure", 0},
};
#define N_GATHERING_KEYS (sizeof GATHERING_KEYS / sizeof *GATHERING_KEYS)

/* 1 when the command's stages gather a sweep (and so never expand). */
static int gathers_sweep(const char *command)
{
    for (size_t i = 0; command && i < N_GATHERING_KEYS; i++)
        if (strcmp(GATHERING_KEYS[i].command, command) == 0)
            return 1;
    return 0;
}

/* The gathering key of the command named key, NULL when key is none. */
static const gathering_key *gathering_key_of(const char *command, const char *key)
{
    for (size_t i = 0; command && i < N_GATHERING_KEYS; i++)
        if (strcmp(GATHERING_KEYS[i].command, command) == 0 && strcmp(GATHERING_KEYS[i].key, key) == 0)
            return &GATHERING_KEYS[i];
    return NULL;
}

/* 1 when the two lists hold the same strings in the same order. */
static int same_list(char **a, char **b)
{
    int n = CSLCount(a);
    if (n != CSLCount(b))
        return 0;
    for (int i = 0; i < n; i++)
        if (strcmp(a[i], b[i]) != 0)
            return 0;
    return 1;
}

/* The files of one gathering key g: one "LABEL;LABEL=FILE" per combination of the
 * variables its value uses (just FILE when it uses none), added to *argv, *canonical and
 * *written (as passed, in one spelling, as written) and to the stage's inputs; *by is set
 * to the variables (a CSL) for the first key and must be the same for the others. */
static cr_status gather_key(loader *L, cr_stage *st, json_object *in, const gathering_key *g, int k, char ***by,
                            int first, char ***argv, char ***canonical, char ***written)
{
    if (!json_object_is_type(in, json_type_string))
        return cr_ctx_fail(L->ctx, CR_E_DATA,
                           "pipeline '%s': stage %d (%s): key '%s' must be a string: the files "
                           "to gather, with the variables of the sweep in it",
                           L->path, k + 1, st->name, g->key);
    int *used = calloc((size_t)L->nvars + 1, sizeof *used), *pick = calloc((size_t)L->nvars + 1, sizeof *pick);
    long count = 0;
    cr_status status = used && pick ? CR_OK : cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
    if (status == CR_OK) {
        mark_uses(L, json_object_get_string(in), used);
        status = count_picks(L, used, (size_t)k, st->name, &count);
    }
    char **vars = NULL;
    for (int v = 0; status == CR_OK && v < L->nvars; v++)
        if (used[v])
            vars = CSLAddString(vars, L->vars[v].name);
    if (status == CR_OK && first) {
        *by = vars;
        vars = NULL;
    } else if (status == CR_OK && vars && !same_list(vars, *by)) {
        char *mine = cr_pl_join(vars), *theirs = *by ? cr_pl_join(*by) : CPLStrdup("none");
        status = cr_ctx_fail(L->ctx, CR_E_DATA,
                             "pipeline '%s': stage %d (%s): key '%s' uses the variables %s but the "
                             "first gathered key uses %s: its files could not be matched",
                             L->path, k + 1, st->name, g->key, mine, theirs);
        CPLFree(mine), CPLFree(theirs);
    }
    int labelled = vars != NULL || (first && *by);
    CSLDestroy(vars);
    if (status == CR_OK)
        first_pick(L, used, pick);
    for (int more = status == CR_OK; more; more = next_pick(L, used, pick)) {
        char *labels = NULL, *text = NULL, *path = NULL, *key = NULL;
        if ((status = pick_labels(L, pick, (size_t)k, st->name, NULL, &labels, ';')) != CR_OK ||
            !(text = substitute(L, json_object_get_string(in), pick, AS_LABEL)) ||
            (status = resolve_path(L, text, &path, &key)) != CR_OK) {
            if (status == CR_OK)
                status = cr_ctx_status(L->ctx);
            CPLFree(labels);
            CPLFree(text);
            break;
        }
        if (labels[0] == '-') { /* it would read as an option */
            status = cr_ctx_fail(L->ctx, CR_E_DATA, "pipeline '%s': stage %d (%s): a gathered file's label "
                                 "'%s' begins with '-'", L->path, k + 1, st->name, labels);
            CPLFree(labels), CPLFree(text), CPLFree(path), CPLFree(key);
            break;
        }
        st->inputs = CSLAddString(st->inputs, path);
        const char *fmt = labelled ? "%s=%s" : "%s%s";
        char *item = cr_pl_format(fmt, labels, path), *one = cr_pl_format(fmt, labels, key),
             *as_written = cr_pl_format(fmt, labels, text);
        if (g->option) {
            *argv = CSLAddString(*argv, g->option);
            *canonical = CSLAddString(*canonical, g->option);
            *written = CSLAddString(*written, g->option);
        }
        *argv = CSLAddString(*argv, item);
        *canonical = CSLAddString(*canonical, one);
        *written = CSLAddString(*written, as_written);
        CPLFree(item), CPLFree(one), CPLFree(as_written);
        CPLFree(labels), CPLFree(text), CPLFree(path), CPLFree(key);
    }
    free(used);
    free(pick);
    return status;
}

/* The gathered files of a gather or report stage (GATHERING_KEYS), so that it reads, and
 * depends on, every file of the sweep: --by and the variables' names, then the files. */
static cr_status add_gathered(loader *L, cr_stage *st, json_object *obj, int k)
{
    char **by = NULL, **argv = NULL, **canonical = NULL, **written = NULL;
    cr_status status = CR_OK;
    int first = 1;
    for (size_t i = 0; status == CR_OK && i < N_GATHERING_KEYS; i++) {
        const gathering_key *g = &GATHERING_KEYS[i];
        json_object *in = NULL;
        if (strcmp(g->command, st->command) != 0)
            continue;
        if (!json_object_object_get_ex(obj, g->key, &in)) {
            if (g->required)
                status = cr_ctx_fail(L->ctx, CR_E_DATA,
                                     "pipeline '%s': stage %d (%s): key '%s' must be a string: the files "
                                     "to gather, with the variables of the sweep in it",
                                     L->path, k + 1, st->name, g->key);
            continue;
        }
        status = gather_key(L, st, in, g, k, &by, first, &argv, &canonical, &written);
        first = 0;
    }
    if (status == CR_OK && by) {
        char *vars = cr_pl_join(by);
        st->argv = CSLAddString(CSLAddString(st->argv, "--by"), vars);
        st->canonical = CSLAddString(CSLAddString(st->canonical, "--by"), vars);
        st->written = CSLAddString(CSLAddString(st->written, "--by"), vars);
        CPLFree(vars);
    }
    if (status == CR_OK) { /* after the options: run adds its own (-q, --overwrite) after them */
        st->argv = CSLInsertStrings(st->argv, -1, argv);
        st->canonical = CSLInsertStrings(st->canonical, -1, canonical);
        st->written = CSLInsertStrings(st->written, -1, written);
    }
    CSLDestroy(by), CSLDestroy(argv), CSLDestroy(canonical), CSLDestroy(written);
    return status;
}

/* Adds the stage of the object obj (index k in the file) for the combination pick of the
 * variables (-1 where it uses none): its arguments, files and claims. name and labels are
 * its expanded name and "VAR=LABEL" list, taken. */
static cr_status build_stage(loader *L, json_object *obj, int k, const char *command, const char *base_name,
                             char *name, char **labels, const int *pick)
{
    cr_pipeline *p = L->p;
    cr_status slot = stage_slot(L);
    if (slot != CR_OK) {
        CPLFree(name);
        CSLDestroy(labels);
        return slot;
    }
    const cr_command *cmd = cr_pl_stage_command(command);
    int gather = gathers_sweep(command);
    cr_stage st = {0};
    st.command = CPLStrdup(command);
    st.name = name;
    st.labels = labels;
    st.argv = CSLAddString(NULL, command);
    st.written = CSLAddString(NULL, command);
    st.canonical = CSLAddString(NULL, command);
    char *output = NULL; /* the value of "output" */
    cr_status status = CR_OK;
    json_object_object_foreach(obj, key, v)
    {
        if (strcmp(key, "stage") == 0 || strcmp(key, "name") == 0 || gathering_key_of(command, key))
            continue;
        if (gather && strcmp(key, "by") == 0) {
            status = cr_ctx_fail(L->ctx, CR_E_DATA,
                                 "pipeline '%s': stage %d (%s): key 'by' is not allowed: a %s "
                                 "stage is by the variables its gathered files use",
                                 L->path, k + 1, st.name, command);
            break;
        }
        /* What the key is, from the command's table: unknown keys are its parser's to refuse. */
        const cr_arg *arg = cr_command_arg(cmd, key);
        if (arg && (arg->flags & CR_ARGF_NOT_IN_PIPELINE)) {
            status = cr_ctx_fail(L->ctx, CR_E_DATA,
                                 "pipeline '%s': stage %d (%s): key '%s' is not allowed in a "
                                 "pipeline (use cityrisk run --json)",
                                 L->path, k + 1, st.name, key);
            break;
        }
        int is_input = arg && arg->role == CR_ROLE_INPUT, is_output = arg && arg->role == CR_ROLE_OUTPUT;
        int repeatable = arg && arg->type == CR_ARG_LIST;
        int main_output = is_output && arg->offset == offsetof(cr_command_base, output);
        char **values = NULL, **written = NULL; /* as passed, and as the pipeline writes them */
        char **canonical = NULL; /* as passed, each path in its one spelling (cr_pl_path_key) */
        if (json_object_is_type(v, json_type_boolean)) {
            if (json_object_get_boolean(v)) {
                st.argv = cr_pl_add_option(st.argv, key);
                st.written = cr_pl_add_option(st.written, key);
                st.canonical = cr_pl_add_option(st.canonical, key);
            }
            continue;
        }
        if (json_object_is_type(v, json_type_array)) {
            for (size_t i = 0; i < json_object_array_length(v) && status == CR_OK; i++) {
                char *text = scalar_text(json_object_array_get_idx(v, i));
                if (!text)
                    status = cr_ctx_fail(L->ctx, CR_E_DATA,
                                         "pipeline '%s': stage %d (%s): key '%s': item %zu must "
                                         "be a string or a number",
                                         L->path, k + 1, st.name, key, i + 1);
                else
                    values = CSLAddString(values, text);
                CPLFree(text);
            }
        } else {
            char *text = scalar_text(v);
            if (!text)
                status = cr_ctx_fail(L->ctx, CR_E_DATA,
                                     "pipeline '%s': stage %d (%s): key '%s' must be a string, "
                                     "a number, a boolean or an array of them",
                                     L->path, k + 1, st.name, key);
            else
                values = CSLAddString(values, text);
            CPLFree(text);
        }
        /* A file option takes one file: joined with commas, two would name neither. */
        if (status == CR_OK && (is_input || is_output) && !repeatable && CSLCount(values) > 1)
            status = cr_ctx_fail(L->ctx, CR_E_DATA,
                                 "pipeline '%s': stage %d (%s): key '%s' names one file, not an "
                                 "array of %d",
                                 L->path, k + 1, st.name, key, CSLCount(values));
        for (char **e = values; status == CR_OK && e && *e; e++) {
            char *s = substitute(L, *e, pick, is_input || is_output ? file_mode(L, *e) : AS_VALUE);
            if (!s) {
                status = cr_ctx_status(L->ctx);
                break;
            }
            CPLFree(*e);
            *e = s;
            written = CSLAddString(written, s);
            if ((is_input || is_output) && !cr_arg_names_file(arg, *e)) {
                canonical = CSLAddString(canonical, *e); /* --vlm -2: a number, not a file */
            } else if (is_input || is_output) {
                char *path = NULL;
                char *value = arg->flags & CR_ARGF_NAMED_FILE ? cr_pl_resolve_raster_spec(L->dir, *e, &path)
                                                              : (path = cr_pl_resolve(L->dir, *e), CPLStrdup(path));
                if (is_input)
                    st.inputs = CSLAddString(st.inputs, path);
                else if (strcmp(path, "-") != 0)
                    st.outputs = CSLAddString(st.outputs, path);
                if (main_output) {
                    CPLFree(output);
                    output = CPLStrdup(path);
                }
                char *spelling = cr_pl_path_key(L, path);
                if (!spelling) {
                    CPLFree(path);
                    CPLFree(value);
                    status = cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
                    break;
                }
                /* the value with its path in one spelling: "NAME=KEY[:BAND]" keeps the rest */
                size_t at = strstr(value, path) ? (size_t)(strstr(value, path) - value) : 0;
                char *one = cr_pl_format("%.*s%s%s", (int)at, value, spelling, value + at + strlen(path));
                canonical = CSLAddString(canonical, one);
                CPLFree(one);
                CPLFree(spelling);
                CPLFree(path);
                CPLFree(*e);
                *e = value;
            }
        }
        if (status != CR_OK) {
            CSLDestroy(values);
            CSLDestroy(written);
            CSLDestroy(canonical);
            break;
        }
        if (arg && (arg->flags & CR_ARGF_POSITIONAL)) { /* given without its name: mosaic's TILE... */
            st.argv = CSLInsertStrings(st.argv, -1, values);
            st.written = CSLInsertStrings(st.written, -1, written);
            st.canonical = CSLInsertStrings(st.canonical, -1, (is_input || is_output) ? canonical : values);
        } else {
            st.argv = add_values(st.argv, key, values, repeatable);
            st.written = add_values(st.written, key, written, repeatable);
            st.canonical = add_values(st.canonical, key, (is_input || is_output) ? canonical : values,
                                      repeatable);
        }
        CSLDestroy(values);
        CSLDestroy(written);
        CSLDestroy(canonical);
    }
    /* QGIS styles are on by default in pipelines ("qml": false turns them off), and are
     * outputs like the others: a missing one makes the stage run. */
    json_object *qml = NULL;
    int styled = 0;
    if (status == CR_OK && cr_command_has_style(cmd)) {
        if (!json_object_object_get_ex(obj, "qml", &qml)) { /* last, the same in every expansion */
            st.argv = CSLAddString(st.argv, "--qml");
            st.canonical = CSLAddString(st.canonical, "--qml");
            styled = 1;
        } else {
            styled = json_object_get_boolean(qml);
        }
    }
    if (status == CR_OK && gather)
        status = add_gathered(L, &st, obj, k);
    if (status == CR_OK)
        status = claim_outputs(L, &st, p->nstages, output, styled);
    CPLFree(output);
    /* The strings came from CPL: move them to malloc ownership for cr_pipeline_free(). */
    return stage_done(L, &st, base_name, status);
}

/* Builds the jobs of a stage object with "tiles" (tiles.c): each a stage of its own, named
 * after name and taking the expansion's labels; name and labels are taken. */
static cr_status build_tiled(loader *L, json_object *obj, int k, const char *base_name, char *name,
                             char **labels, const int *pick, const char *command)
{
    cr_pl_parts parts;
    cr_status st = cr_pl_tiled_parts(L, obj, k, command, name, &parts);
    for (int i = 0; st == CR_OK && i < parts.n; i++) {
        cr_pl_part *part = &parts.part[i];
        st = build_stage(L, part->obj, k, part->command, base_name, part->name, CSLDuplicate(labels), pick);
        part->name = NULL; /* taken */
    }
    cr_pl_parts_free(&parts);
    CPLFree(name);
    CSLDestroy(labels);
    return st;
}

/* text with every "{input}" (or "{output}": what) replaced by the one file of files;
 * NULL (a failure) when there is not exactly one. A new CPL string. */
static char *replace_file(loader *L, const char *text, const char *what, char **files, int k, const char *name)
{
    char ref[16];
    snprintf(ref, sizeof ref, "{%s}", what);
    if (!strstr(text, ref))
        return CPLStrdup(text);
    if (CSLCount(files) != 1) {
        cr_ctx_fail(L->ctx, CR_E_DATA,
                    "pipeline '%s': stage %d (%s): key 'exec': '%s' inside an argument needs "
                    "exactly one %s file, not %d",
                    L->path, k + 1, name, text, what, CSLCount(files));
        return NULL;
    }
    size_t n = 0, len = strlen(ref);
    for (const char *q = strstr(text, ref); q; q = strstr(q + len, ref))
        n++;
    if (n * strlen(files[0]) > CR_PIPELINE_MAX_ARG_BYTES - L->arg_bytes) {
        cr_ctx_fail(L->ctx, CR_E_DATA, "pipeline '%s': the values of its stages take more than the %zu MiB a pipeline may",
                    L->path, CR_PIPELINE_MAX_ARG_BYTES >> 20);
        return NULL;
    }
    L->arg_bytes += n * strlen(files[0]);
    char *out = CPLMalloc(strlen(text) + n * strlen(files[0]) + 1), *o = out;
    for (const char *q = text; *q;) {
        if (strncmp(q, ref, len) == 0) {
            memcpy(o, files[0], strlen(files[0]));
            o += strlen(files[0]), q += len;
        } else {
            *o++ = *q++;
        }
    }
    *o = '\0';
    return out;
}

/* The files of an exec stage's "input" or "output" (a string or an array of strings) for
 * the combination pick: as written, resolved, and in one spelling (CSLs). */
static cr_status exec_files(loader *L, json_object *obj, const char *key, const int *pick, int k, const char *name,
                            char ***written, char ***paths, char ***keys)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v))
        return CR_OK;
    int array = json_object_is_type(v, json_type_array);
    size_t n = array ? json_object_array_length(v) : 1;
    for (size_t i = 0; i < n; i++) {
        json_object *e = array ? json_object_array_get_idx(v, i) : v;
        if (!json_object_is_type(e, json_type_string) || !*json_object_get_string(e))
            return cr_ctx_fail(L->ctx, CR_E_DATA,
                               "pipeline '%s': stage %d (%s): key '%s' must be a file or an array of "
                               "files (strings)",
                               L->path, k + 1, name, key);
        const char *as_written = json_object_get_string(e);
        char *text = substitute(L, as_written, pick, file_mode(L, as_written)), *path = NULL, *one = NULL;
        if (!text)
            return cr_ctx_status(L->ctx);
        cr_status st = resolve_path(L, text, &path, &one);
        if (st == CR_OK) {
            *written = CSLAddString(*written, text);
            *paths = CSLAddString(*paths, path);
            *keys = CSLAddString(*keys, one);
        }
        CPLFree(text), CPLFree(path), CPLFree(one);
        if (st != CR_OK)
            return st;
    }
    return CR_OK;
}

/* Adds the stage of the exec object obj (index k) for the combination pick: the program
 * and its arguments, "{input}" and "{output}" replaced by its files (an argument that is
 * exactly one of them by one argument per file). name and labels are taken. */
static cr_status build_exec(loader *L, json_object *obj, int k, const char *base_name, char *name, char **labels,
                            const int *pick)
{
    cr_status status = stage_slot(L);
    if (status != CR_OK) {
        CPLFree(name);
        CSLDestroy(labels);
        return status;
    }
    cr_stage st = {0};
    st.command = CPLStrdup("exec");
    st.name = name;
    st.labels = labels;
    char **in_written = NULL, **out_written = NULL, **in_keys = NULL, **out_keys = NULL;
    status = exec_files(L, obj, "input", pick, k, name, &in_written, &st.inputs, &in_keys);
    if (status == CR_OK)
        status = exec_files(L, obj, "output", pick, k, name, &out_written, &st.outputs, &out_keys);
    json_object *exec = NULL;
    json_object_object_get_ex(obj, "exec", &exec);
    for (size_t i = 0; status == CR_OK && i < json_object_array_length(exec); i++) {
        const char *item = json_object_get_string(json_object_array_get_idx(exec, i));
        int whole_in = strcmp(item, "{input}") == 0, whole_out = strcmp(item, "{output}") == 0;
        if (i > 0 && (whole_in || whole_out)) {
            st.argv = CSLInsertStrings(st.argv, -1, whole_in ? st.inputs : st.outputs);
            st.canonical = CSLInsertStrings(st.canonical, -1, whole_in ? in_keys : out_keys);
            st.written = CSLInsertStrings(st.written, -1, whole_in ? in_written : out_written);
            continue;
        }
        char *text = substitute(L, item, pick, AS_VALUE);
        char *forms[3] = {NULL, NULL, NULL}; /* argv, canonical, written */
        char **files[3][2] = {{st.inputs, st.outputs}, {in_keys, out_keys}, {in_written, out_written}};
        for (int f = 0; text && f < 3; f++) {
            char *with_in = replace_file(L, text, "input", files[f][0], k, name);
            forms[f] = with_in ? replace_file(L, with_in, "output", files[f][1], k, name) : NULL;
            CPLFree(with_in);
            if (!forms[f])
                status = cr_ctx_status(L->ctx);
        }
        if (!text)
            status = cr_ctx_status(L->ctx);
        if (status == CR_OK) {
            st.argv = CSLAddString(st.argv, forms[0]);
            st.canonical = CSLAddString(st.canonical, forms[1]);
            st.written = CSLAddString(st.written, forms[2]);
        }
        CPLFree(text), CPLFree(forms[0]), CPLFree(forms[1]), CPLFree(forms[2]);
    }
    for (char **o = st.outputs; status == CR_OK && o && *o; o++)
        status = cr_pl_add_claim(L, L->p->nstages, *o, cr_pl_format("'%s'", *o));
    CSLDestroy(in_written), CSLDestroy(out_written), CSLDestroy(in_keys), CSLDestroy(out_keys);
    return stage_done(L, &st, base_name, status);
}

/* The checks of an exec stage's keys before it expands: "exec" a non-empty array of
 * strings, "name" a string, nothing but "input" and "output" besides. */
static cr_status check_exec(loader *L, json_object *obj, size_t k)
{
    json_object *exec = NULL;
    json_object_object_get_ex(obj, "exec", &exec);
    int ok = json_object_is_type(exec, json_type_array) && json_object_array_length(exec) > 0;
    for (size_t i = 0; ok && i < json_object_array_length(exec); i++) {
        json_object *e = json_object_array_get_idx(exec, i);
        ok = json_object_is_type(e, json_type_string) && (i > 0 || *json_object_get_string(e));
    }
    if (!ok)
        return cr_ctx_fail(L->ctx, CR_E_DATA,
                           "pipeline '%s': stage %zu: key 'exec' must be a non-empty array of strings: "
                           "the program, then its arguments",
                           L->path, k + 1);
    json_object_object_foreach(obj, key, v)
    {
        if (strcmp(key, "name") == 0 && (!json_object_is_type(v, json_type_string) || !*json_object_get_string(v)))
            return cr_ctx_fail(L->ctx, CR_E_DATA, "pipeline '%s': stage %zu: key 'name' must be a string",
                               L->path, k + 1);
        if (strcmp(key, "exec") != 0 && strcmp(key, "name") != 0 && strcmp(key, "input") != 0 &&
            strcmp(key, "output") != 0)
            return cr_ctx_fail(L->ctx, CR_E_DATA,
                               "pipeline '%s': stage %zu: key '%s' is not one of an exec stage's "
                               "(exec, input, output, name)",
                               L->path, k + 1, key);
    }
    return CR_OK;
}

/* One --set: "STAGE.OPTION=VALUE" taken apart. */
typedef struct set_item {
    char *stage, *key;
    const char *value;
    int matched;
} set_item;

/* A --set value as a pipeline value: true and false set flags, as in the file; anything
 * else is text. */
static json_object *set_value(const char *text)
{
    return strcmp(text, "true") == 0    ? json_object_new_boolean(1)
           : strcmp(text, "false") == 0 ? json_object_new_boolean(0)
                                        : json_object_new_string(text);
}

/* 1 when the set names the stage object by its name before expansion ("score-{scenario}",
 * "score") or its command, as cr_pipeline_stage_matches() reads names. */
static int set_names_base(const set_item *set, const char *base, const char *command)
{
    cr_stage s = {.name = (char *)base, .base = (char *)base, .command = (char *)command};
    return cr_pipeline_stage_matches(&s, set->stage);
}

/* The --set items, parsed; CR_E_USAGE for one not of the form STAGE.OPTION=VALUE. */
static cr_status parse_sets(cr_ctx *ctx, char **sets, set_item **out, int *count)
{
    int n = CSLCount(sets);
    set_item *items = calloc((size_t)n + 1, sizeof *items);
    if (!items)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    *out = items, *count = n;
    for (int i = 0; i < n; i++) {
        /* the stage is up to the last '.' before '=': an option has no dot, a stage's
         * name may ("inund-0.5", from a sweep of sea levels) */
        const char *s = sets[i], *eq = strchr(s, '='), *dot = NULL;
        for (const char *c = s; eq && c < eq; c++)
            if (*c == '.')
                dot = c;
        if (!dot || !eq || dot == s || eq == dot + 1)
            return cr_ctx_fail(ctx, CR_E_USAGE, "--set '%s': expected STAGE.OPTION=VALUE", s);
        items[i].stage = cr_pl_format("%.*s", (int)(dot - s), s);
        items[i].key = cr_pl_format("%.*s", (int)(eq - dot - 1), dot + 1);
        items[i].value = eq + 1;
        if (strcmp(items[i].key, "stage") == 0 || strcmp(items[i].key, "name") == 0 ||
            strcmp(items[i].key, "exec") == 0)
            return cr_ctx_fail(ctx, CR_E_USAGE,
                               "--set '%s': a stage's '%s' is the pipeline's to say, not --set's", s,
                               items[i].key);
    }
    return CR_OK;
}

/* A JSON scalar's text as a variable's label or value. */
static char *variable_text(json_object *v)
{
    return json_object_is_type(v, json_type_boolean) ? NULL : scalar_text(v);
}

/* Adds the variable name with its list or object of values v. */
static cr_status add_variable(loader *L, const char *name, json_object *v)
{
    if (!*name || strpbrk(name, "{}*"))
        return cr_ctx_fail(L->ctx, CR_E_DATA, "pipeline '%s': variables: '%s' is not a variable name (no braces or '*')",
                           L->path, name);
    if (strcmp(name, "input") == 0 || strcmp(name, "output") == 0)
        return cr_ctx_fail(L->ctx, CR_E_DATA,
                           "pipeline '%s': variables: '%s' is reserved: exec stages name their files so",
                           L->path, name);
    variable *grown = realloc(L->vars, (size_t)(L->nvars + 1) * sizeof *grown);
    if (!grown)
        return cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
    L->vars = grown;
    variable *var = &L->vars[L->nvars++];
    *var = (variable){CPLStrdup(name), NULL, NULL, 0};
    int list = json_object_is_type(v, json_type_array), object = json_object_is_type(v, json_type_object);
    if ((!list && !object) || (list ? json_object_array_length(v) : (size_t)json_object_object_length(v)) == 0)
        return cr_ctx_fail(L->ctx, CR_E_DATA,
                           "pipeline '%s': variables: '%s' must be a non-empty array of values or an "
                           "object of labels and values",
                           L->path, name);
    for (size_t i = 0; list && i < json_object_array_length(v); i++) {
        char *text = variable_text(json_object_array_get_idx(v, i));
        if (!text)
            return cr_ctx_fail(L->ctx, CR_E_DATA, "pipeline '%s': variables: '%s': item %zu must be a string or a number",
                               L->path, name, i + 1);
        var->labels = CSLAddString(var->labels, text);
        var->values = CSLAddString(var->values, text);
        var->n++;
        CPLFree(text);
    }
    if (object) {
        json_object_object_foreach(v, label, value)
        {
            char *text = variable_text(value);
            if (!text)
                return cr_ctx_fail(L->ctx, CR_E_DATA,
                                   "pipeline '%s': variables: '%s': '%s' must be a string or a number",
                                   L->path, name, label);
            if (!*label || strpbrk(label, BAD_LABEL)) {
                CPLFree(text);
                return cr_ctx_fail(L->ctx, CR_E_DATA,
                                   "pipeline '%s': variables: '%s': label '%s' cannot name a stage or "
                                   "a file (no '=', ';', '[', ']', ',' or '/', not empty)",
                                   L->path, name, label);
            }
            var->labels = CSLAddString(var->labels, label);
            var->values = CSLAddString(var->values, text);
            var->n++;
            CPLFree(text);
        }
    }
    return CR_OK;
}

/* The pipeline's variables: "variables", or the old "scenarios" (the variable scenario). */
static cr_status read_variables(loader *L, json_object *doc)
{
    json_object *vars = NULL, *scen = NULL;
    int has_vars = json_object_object_get_ex(doc, "variables", &vars);
    if (json_object_object_get_ex(doc, "scenarios", &scen)) {
        if (has_vars)
            return cr_ctx_fail(L->ctx, CR_E_DATA,
                               "pipeline '%s': 'scenarios' and 'variables' both given: declare the "
                               "variable scenario in 'variables'",
                               L->path);
        if (!json_object_is_type(scen, json_type_array) || json_object_array_length(scen) == 0)
            return cr_ctx_fail(L->ctx, CR_E_DATA, "pipeline '%s': 'scenarios' must be a non-empty array of names",
                               L->path);
        for (size_t i = 0; i < json_object_array_length(scen); i++)
            if (!json_object_is_type(json_object_array_get_idx(scen, i), json_type_string))
                return cr_ctx_fail(L->ctx, CR_E_DATA, "pipeline '%s': scenario %zu must be a string", L->path, i + 1);
        return add_variable(L, "scenario", scen);
    }
    if (!has_vars)
        return CR_OK;
    if (!json_object_is_type(vars, json_type_object))
        return cr_ctx_fail(L->ctx, CR_E_DATA,
                           "pipeline '%s': 'variables' must be an object: each variable's name and its "
                           "values",
                           L->path);
    json_object_object_foreach(vars, name, v)
    {
        cr_status st = add_variable(L, name, v);
        if (st != CR_OK)
            return st;
    }
    return CR_OK;
}

/* The expanded name of the stage whose name before expansion is base, for the combination
 * pick: base with its variables' labels, and "[label,label]" after it when it does not
 * name every variable the stage uses. Its "VAR=LABEL" list into *labels. A new CPL
 * string; NULL (a failure) for a label that cannot name a stage. */
static char *expanded_name(loader *L, const char *base, const int *pick, size_t k, char ***labels)
{
    char *joined = NULL;
    *labels = NULL;
    if (pick_labels(L, pick, k, base, labels, &joined, ',') != CR_OK)
        return NULL;
    int all_named = 1;
    for (int v = 0; v < L->nvars; v++)
        if (pick[v] >= 0) {
            char *ref = cr_pl_format("{%s}", L->vars[v].name);
            all_named = all_named && strstr(base, ref);
            CPLFree(ref);
        }
    char *name = substitute(L, base, pick, AS_LABEL), *out = NULL;
    if (name)
        out = all_named || !*joined ? CPLStrdup(name) : cr_pl_format("%s[%s]", name, joined);
    else
        CSLDestroy(*labels), *labels = NULL;
    CPLFree(name);
    CPLFree(joined);
    return out;
}

/* Builds the stages of the object obj (index k): once per combination of the variables
 * it uses (once when it uses none; a gather stage never expands), the --sets that name one
 * expansion applied to it alone. */
static cr_status expand_stage(loader *L, json_object *obj, size_t k, const char *command, const char *base,
                              set_item *sets, int nsets, const int *base_set)
{
    int exec = command == NULL;
    int *used = calloc((size_t)L->nvars + 1, sizeof *used), *pick = calloc((size_t)L->nvars + 1, sizeof *pick);
    if (!used || !pick) {
        free(used), free(pick);
        return cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
    }
    int gathers = gathers_sweep(command);
    json_object_object_foreach(obj, key, v)
    {
        if (!gathers) {
            mark_value_uses(L, v, used);
            continue;
        }
        if (gathering_key_of(command, key))
            continue;
        /* a gather (or report) stage runs once, over the sweep its gathered files name: a
         * variable elsewhere would stay as written ("sweep-{weights}.csv") */
        mark_value_uses(L, v, used);
        for (int i = 0; i < L->nvars; i++)
            if (used[i]) {
                free(used), free(pick);
                return cr_ctx_fail(L->ctx, CR_E_DATA,
                                   "pipeline '%s': stage %zu (%s): key '%s' uses the variable %s; a %s "
                                   "stage runs once over the sweep, and only its gathered files may use "
                                   "variables",
                                   L->path, k + 1, base, key, L->vars[i].name, command);
            }
    }
    /* the old sweep without its "scenarios": a mistake, not text to keep */
    int has_scenario = 0;
    for (int i = 0; i < L->nvars; i++)
        has_scenario = has_scenario || strcmp(L->vars[i].name, "scenario") == 0;
    const char *text = has_scenario ? NULL : json_object_to_json_string(obj);
    if (text && strstr(text, "{scenario}")) {
        free(used), free(pick);
        return cr_ctx_fail(L->ctx, CR_E_DATA,
                           "pipeline '%s': stage %zu (%s) uses {scenario} but the pipeline has no "
                           "variable scenario ('variables' or 'scenarios')",
                           L->path, k + 1, base);
    }
    long count = 0;
    cr_status st = count_picks(L, used, k, base, &count);
    if (st == CR_OK)
        first_pick(L, used, pick);
    for (int more = st == CR_OK; more; more = next_pick(L, used, pick)) {
        char **labels = NULL;
        char *name = expanded_name(L, base, pick, k, &labels);
        if (!name) {
            st = cr_ctx_status(L->ctx);
            break;
        }
        /* a --set naming this expansion by its full name changes it alone */
        json_object *one = obj;
        for (int s = 0; s < nsets; s++)
            if (!base_set[s] && strcmp(sets[s].stage, name) == 0) {
                json_object *copy = NULL; /* deep_copy wants it NULL */
                if (one == obj && json_object_deep_copy(obj, &copy, NULL) != 0) {
                    st = cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
                    break;
                }
                if (one == obj)
                    one = copy;
                json_object_object_add(one, sets[s].key, set_value(sets[s].value));
                sets[s].matched = 1;
            }
        if (st == CR_OK && exec && one != obj)
            st = check_exec(L, one, k);
        if (st == CR_OK && !exec && json_object_object_get_ex(one, "tiles", NULL))
            st = build_tiled(L, one, (int)k, base, name, labels, pick, command);
        else if (st == CR_OK)
            st = exec ? build_exec(L, one, (int)k, base, name, labels, pick)
                      : build_stage(L, one, (int)k, command, base, name, labels, pick);
        else
            CPLFree(name), CSLDestroy(labels);
        if (one != obj)
            json_object_put(one);
        if (st != CR_OK)
            break;
    }
    free(used);
    free(pick);
    return st;
}

cr_status cr_pl_build_stages(loader *L, json_object *doc, char **sets)
{
    cr_ctx *ctx = L->ctx;
    json_object *stages = NULL;
    json_object_object_foreach(doc, key, v)
    {
        (void)v;
        if (strcmp(key, "stages") != 0 && strcmp(key, "scenarios") != 0 && strcmp(key, "variables") != 0 &&
            strcmp(key, "description") != 0)
            return cr_ctx_fail(ctx, CR_E_DATA,
                               "pipeline '%s': unknown key '%s' (stages, variables, scenarios, description)",
                               L->path, key);
    }
    if (!json_object_object_get_ex(doc, "stages", &stages) || !json_object_is_type(stages, json_type_array))
        return cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s': 'stages' must be an array of stages", L->path);
    set_item *items = NULL;
    int nsets = 0;
    cr_status st = read_variables(L, doc);
    if (st == CR_OK)
        st = parse_sets(ctx, sets, &items, &nsets);
    int *base_set = st == CR_OK ? calloc((size_t)nsets + 1, sizeof *base_set) : NULL;
    if (st == CR_OK && !base_set)
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    for (size_t k = 0; st == CR_OK && k < json_object_array_length(stages); k++) {
        json_object *obj = json_object_array_get_idx(stages, k), *cmd = NULL, *name = NULL, *exec = NULL;
        if (!json_object_is_type(obj, json_type_object)) {
            st = cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s': stage %zu must be an object", L->path, k + 1);
            break;
        }
        const char *command = NULL, *base = NULL;
        if (json_object_object_get_ex(obj, "exec", &exec)) {
            if ((st = check_exec(L, obj, k)) != CR_OK)
                break;
            base = CPLGetFilename(json_object_get_string(json_object_array_get_idx(exec, 0)));
        } else if (!json_object_object_get_ex(obj, "stage", &cmd) || !json_object_is_type(cmd, json_type_string) ||
                   !cr_pl_stage_command(json_object_get_string(cmd))) {
            char commands[256];
            cr_pl_stage_commands(commands, sizeof commands);
            st = cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s': stage %zu: key 'stage' must name a command (%s) or the "
                             "stage be an 'exec'",
                             L->path, k + 1, commands);
            break;
        } else {
            command = base = json_object_get_string(cmd);
        }
        if (json_object_object_get_ex(obj, "name", &name)) {
            if (!json_object_is_type(name, json_type_string) || !*json_object_get_string(name)) {
                st = cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s': stage %zu: key 'name' must be a string",
                                 L->path, k + 1);
                break;
            }
            base = json_object_get_string(name);
        }
        /* --set before expansion: a set naming the stage by its name as written (or the
         * command) changes every expansion, and may use the variables */
        /* a set may replace "name" or "stage", freeing the strings base and command point to */
        char *base_copy = CPLStrdup(base), *command_copy = command ? CPLStrdup(command) : NULL;
        command = command_copy;
        for (int s = 0; s < nsets; s++)
            if ((base_set[s] = set_names_base(&items[s], base_copy, command ? command : "exec"))) {
                json_object_object_add(obj, items[s].key, set_value(items[s].value));
                items[s].matched = 1;
            }
        if (!command && st == CR_OK) /* what a set added to an exec stage is checked as the file's keys */
            st = check_exec(L, obj, k);
        if (st == CR_OK)
            st = expand_stage(L, obj, k, command, base_copy, items, nsets, base_set);
        CPLFree(base_copy);
        CPLFree(command_copy);
    }
    for (int s = 0; st == CR_OK && s < nsets; s++)
        if (!items[s].matched)
            st = cr_ctx_fail(ctx, CR_E_USAGE, "--set '%s': no stage of that name", sets[s]);
    for (int s = 0; s < nsets; s++)
        CPLFree(items[s].stage), CPLFree(items[s].key);
    free(items);
    free(base_set);
    for (int i = 0; i < L->nvars; i++) {
        CPLFree(L->vars[i].name);
        CSLDestroy(L->vars[i].labels);
        CSLDestroy(L->vars[i].values);
    }
    free(L->vars);
    L->vars = NULL;
    L->nvars = 0;
    return st;
}
