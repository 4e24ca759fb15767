/* pipeline.c: reading pipeline files, ordering their stages, deciding what to re-run. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cpl_string.h>
#include <json-c/json.h>

#include "cityrisk/json.h"
#include "cityrisk/pipeline.h"
#include "internal.h"
#include "output.h"

/* The commands a pipeline may run, and which of their options name files. */
static const struct {
    const char *command;
    const char *inputs[10];
    const char *outputs[3];
    int qml; /* takes --qml */
} COMMANDS[] = {
    {"inundation", {"dem", "sea", NULL}, {"output", NULL}, 1},
    {"arrivals", {"points", "grid", NULL}, {"output", "report", NULL}, 1},
    {"score", {"sea", "water", "informal", "arrivals", "population", "grid", NULL}, {"output", NULL}, 1},
    {"zonal",
     {"zones", "exposure", "arrivals", "sea", "water", "informal", "population", "raster", NULL},
     {"output", NULL},
     1},
    {"map", {"raster", "zones", NULL}, {"output", NULL}, 0},
};

/* Options given once per value rather than as one comma-joined value. */
static const char *const REPEATABLE[] = {"raster", "creation-option", "layer-creation-option", NULL};

static int in_list(const char *const *list, const char *key)
{
    for (; *list; list++)
        if (strcmp(*list, key) == 0)
            return 1;
    return 0;
}

static int command_index(const char *command)
{
    for (size_t i = 0; i < sizeof COMMANDS / sizeof *COMMANDS; i++)
        if (strcmp(COMMANDS[i].command, command) == 0)
            return (int)i;
    return -1;
}

/* printf into a new string to CPLFree(). Long values are why: CPLSPrintf() and the CPL
 * path functions write into fixed buffers, cut what does not fit and say so on stderr. */
static char *format(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

static char *format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *out = CPLMalloc(n > 0 ? (size_t)n + 1 : 1);
    *out = '\0';
    if (n > 0) {
        va_start(ap, fmt);
        vsnprintf(out, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return out;
}

/* The items of the CSL list joined with commas; a new string to CPLFree(). */
static char *join(char **list)
{
    size_t len = 1;
    for (char **e = list; e && *e; e++)
        len += strlen(*e) + 1;
    char *out = CPLMalloc(len), *o = out;
    for (char **e = list; e && *e; e++) {
        size_t n = strlen(*e);
        if (e != list)
            *o++ = ',';
        memcpy(o, *e, n);
        o += n;
    }
    *o = '\0';
    return out;
}

/* Appends "--KEY" to the CSL argv. */
static char **add_option(char **argv, const char *key)
{
    char *option = format("--%s", key);
    argv = CSLAddString(argv, option);
    CPLFree(option);
    return argv;
}

/* The length of path without the extension of its file name (from its last '.'). */
static size_t stem_length(const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? (size_t)(dot - path) : strlen(path);
}

void cr_pipeline_free(cr_pipeline *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->nstages; i++) {
        free(p->stage[i].name);
        free(p->stage[i].command);
        CSLDestroy(p->stage[i].argv);
        CSLDestroy(p->stage[i].inputs);
        CSLDestroy(p->stage[i].outputs);
        free(p->stage[i].deps);
    }
    free(p->stage);
    free(p->path);
    free(p->state_path);
    free(p);
}

/* text with each "{scenarios}" and "{scenario}" in it replaced, in one pass: a scenario
 * name holding either key is taken as it is, not expanded again (which never ended).
 * "{scenario}" stays when scenario is NULL. A new string. */
static char *substitute(const char *text, const char *scenario, const char *scenarios)
{
    static const char many[] = "{scenarios}", one[] = "{scenario}";
    size_t cap = strlen(text) + 1, grow = strlen(scenarios) + (scenario ? strlen(scenario) : 0);
    for (const char *p = text; (p = strstr(p, "{scenario")) != NULL; p++)
        cap += grow;
    char *out = CPLMalloc(cap), *o = out;
    for (const char *p = text; *p;) {
        const char *value = NULL;
        size_t skip = 0;
        if (strncmp(p, many, sizeof many - 1) == 0)
            value = scenarios, skip = sizeof many - 1;
        else if (scenario && strncmp(p, one, sizeof one - 1) == 0)
            value = scenario, skip = sizeof one - 1;
        if (!value) {
            *o++ = *p++;
            continue;
        }
        size_t n = strlen(value);
        memcpy(o, value, n);
        o += n;
        p += skip;
    }
    *o = '\0';
    return out;
}

/* A path relative to the pipeline's folder, as it will be opened. */
static char *resolve(const char *dir, const char *path)
{
    if (path[0] == '/' || strncmp(path, "/vsi", 4) == 0 || strcmp(path, "-") == 0 || !*dir)
        return CPLStrdup(path);
    return format("%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", path);
}

/* The path inside "NAME=PATH[:BAND]", resolved, with the rest kept. */
static char *resolve_raster_spec(const char *dir, const char *spec, char **path_out)
{
    const char *eq = strchr(spec, '=');
    if (!eq) {
        *path_out = resolve(dir, spec);
        return CPLStrdup(*path_out);
    }
    char *path = CPLStrdup(eq + 1);
    char *colon = strrchr(path, ':');
    const char *band = "";
    if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
        *colon = '\0';
        band = colon + 1;
    }
    *path_out = resolve(dir, path);
    char *out = format("%.*s=%s%s%s", (int)(eq - spec), spec, *path_out, *band ? ":" : "", band);
    CPLFree(path);
    return out;
}

/* A JSON scalar as an argument; NULL for other types. */
static char *scalar_text(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_string: return CPLStrdup(json_object_get_string(v));
    case json_type_int: return CPLStrdup(CPLSPrintf("%lld", (long long)json_object_get_int64(v)));
    case json_type_double: return CPLStrdup(CPLSPrintf("%.17g", json_object_get_double(v)));
    default: return NULL;
    }
}

/* 1 when a stage's value mentions "{scenario}". */
static int sweeps(json_object *stage)
{
    json_object_object_foreach(stage, key, v)
    {
        (void)key;
        if (json_object_is_type(v, json_type_string) && strstr(json_object_get_string(v), "{scenario}"))
            return 1;
        if (json_object_is_type(v, json_type_array))
            for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *e = json_object_array_get_idx(v, i);
                if (json_object_is_type(e, json_type_string) &&
                    strstr(json_object_get_string(e), "{scenario}"))
                    return 1;
            }
    }
    return 0;
}

/* What building the stages needs. */
typedef struct loader {
    cr_ctx *ctx;
    const char *path;
    char dir[4096];
    char *scenarios; /* comma-joined */
    cr_pipeline *p;
} loader;

/* Adds one argument list for the stage object obj, index k in the file. */
static cr_status build_stage(loader *L, json_object *obj, int k, const char *command,
                             const char *base_name, const char *scenario)
{
    int c = command_index(command);
    cr_stage st = {0};
    st.command = CPLStrdup(command);
    char *name = substitute(base_name, scenario, L->scenarios);
    st.name = scenario && !strstr(base_name, "{scenario}")
                  ? format("%s[%s]", name, scenario)
                  : CPLStrdup(name);
    CPLFree(name);
    st.argv = CSLAddString(NULL, command);
    cr_status status = CR_OK;
    json_object_object_foreach(obj, key, v)
    {
        if (strcmp(key, "stage") == 0 || strcmp(key, "name") == 0)
            continue;
        if (strcmp(key, "json") == 0 || strcmp(key, "help") == 0) {
            status = cr_ctx_fail(L->ctx, CR_E_DATA,
                                 "pipeline '%s': stage %d (%s): key '%s' is not allowed in a "
                                 "pipeline (use cityrisk run --json)",
                                 L->path, k + 1, st.name, key);
            break;
        }
        int is_input = in_list(COMMANDS[c].inputs, key), is_output = in_list(COMMANDS[c].outputs, key);
        char **values = NULL;
        if (json_object_is_type(v, json_type_boolean)) {
            if (json_object_get_boolean(v))
                st.argv = add_option(st.argv, key);
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
        if (status != CR_OK) {
            CSLDestroy(values);
            break;
        }
        for (char **e = values; e && *e; e++) {
            char *s = substitute(*e, scenario, L->scenarios);
            CPLFree(*e);
            *e = s;
            if (is_input || is_output) {
                char *path = NULL;
                char *arg = strcmp(key, "raster") == 0 ? resolve_raster_spec(L->dir, *e, &path)
                                                        : (path = resolve(L->dir, *e), CPLStrdup(path));
                if (is_input)
                    st.inputs = CSLAddString(st.inputs, path);
                else if (strcmp(path, "-") != 0)
                    st.outputs = CSLAddString(st.outputs, path);
                CPLFree(path);
                CPLFree(*e);
                *e = arg;
            }
        }
        if (in_list(REPEATABLE, key) || CSLCount(values) == 1) {
            for (char **e = values; e && *e; e++) {
                st.argv = add_option(st.argv, key);
                st.argv = CSLAddString(st.argv, *e);
            }
        } else if (values) {
            char *joined = join(values);
            st.argv = add_option(st.argv, key);
            st.argv = CSLAddString(st.argv, joined);
            CPLFree(joined);
        }
        CSLDestroy(values);
    }
    /* QGIS styles are on by default in pipelines ("qml": false turns them off), and are
     * outputs like the others: a missing one makes the stage run. */
    json_object *qml = NULL;
    if (status == CR_OK && COMMANDS[c].qml && !json_object_object_get_ex(obj, "qml", &qml)) {
        st.argv = CSLAddString(st.argv, "--qml");
        qml = json_object_new_boolean(1);
        json_object_object_add(obj, "qml", qml); /* the other instances of a sweep see it too */
    }
    if (status == CR_OK && qml && json_object_get_boolean(qml)) {
        int n = CSLCount(st.outputs);
        for (int i = 0; i < n; i++) {
            size_t stem = stem_length(st.outputs[i]);
            if (strcmp(st.outputs[i] + stem, ".csv") == 0 && strcmp(command, "zonal") != 0)
                continue;
            char *style = format("%.*s.qml", (int)stem, st.outputs[i]);
            st.outputs = CSLAddString(st.outputs, style);
            CPLFree(style);
        }
    }
    cr_pipeline *p = L->p;
    cr_stage *grown = status == CR_OK ? realloc(p->stage, (size_t)(p->nstages + 1) * sizeof *grown) : NULL;
    if (!grown) {
        if (status == CR_OK)
            status = cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
        CPLFree(st.name);
        CPLFree(st.command);
        CSLDestroy(st.argv);
        CSLDestroy(st.inputs);
        CSLDestroy(st.outputs);
        return status;
    }
    /* The strings came from CPL: move them to malloc ownership for cr_pipeline_free(). */
    p->stage = grown;
    cr_stage *dst = &p->stage[p->nstages++];
    *dst = st;
    dst->name = strdup(st.name);
    dst->command = strdup(st.command);
    CPLFree(st.name);
    CPLFree(st.command);
    if (!dst->name || !dst->command)
        return cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
    return CR_OK;
}

/* Applies "STAGE.OPTION=VALUE" to the stages named (or of the command) STAGE. */
static cr_status apply_sets(cr_ctx *ctx, json_object *stages, char **sets)
{
    for (char **s = sets; s && *s; s++) {
        const char *dot = strchr(*s, '.'), *eq = strchr(*s, '=');
        if (!dot || !eq || eq < dot || dot == *s || eq == dot + 1)
            return cr_ctx_fail(ctx, CR_E_USAGE, "--set '%s': expected STAGE.OPTION=VALUE", *s);
        char *stage = strndup(*s, (size_t)(dot - *s)), *key = strndup(dot + 1, (size_t)(eq - dot - 1));
        int matched = 0;
        for (size_t i = 0; stage && key && i < json_object_array_length(stages); i++) {
            json_object *obj = json_object_array_get_idx(stages, i), *name = NULL, *cmd = NULL;
            json_object_object_get_ex(obj, "name", &name);
            json_object_object_get_ex(obj, "stage", &cmd);
            const char *n = name ? json_object_get_string(name) : NULL;
            const char *c = cmd ? json_object_get_string(cmd) : NULL;
            if ((n && strcmp(n, stage) == 0) || (!n && c && strcmp(c, stage) == 0)) {
                /* true and false set flags, as in the file; anything else is text. */
                json_object *value = strcmp(eq + 1, "true") == 0    ? json_object_new_boolean(1)
                                     : strcmp(eq + 1, "false") == 0 ? json_object_new_boolean(0)
                                                                    : json_object_new_string(eq + 1);
                json_object_object_add(obj, key, value);
                matched = 1;
            }
        }
        free(stage);
        free(key);
        if (!matched)
            return cr_ctx_fail(ctx, CR_E_USAGE, "--set '%s': no stage of that name", *s);
    }
    return CR_OK;
}

/* Orders the stages so that each comes after those whose outputs it reads (file order
 * otherwise) and fills deps; fails naming a cycle. */
static cr_status order_stages(cr_ctx *ctx, loader *L)
{
    cr_pipeline *p = L->p;
    int n = p->nstages;
    int *order = malloc((size_t)(n ? n : 1) * sizeof *order), *placed = calloc((size_t)(n ? n : 1), sizeof *placed);
    if (!order || !placed) {
        free(order);
        free(placed);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    }
    int done = 0;
    while (done < n) {
        int progress = 0;
        for (int i = 0; i < n; i++) {
            if (placed[i])
                continue;
            int ready = 1;
            for (char **in = p->stage[i].inputs; ready && in && *in; in++)
                for (int j = 0; ready && j < n; j++)
                    if (j != i && !placed[j] && CSLFindString(p->stage[j].outputs, *in) >= 0)
                        ready = 0;
            if (ready) {
                order[done++] = i;
                placed[i] = 1;
                progress = 1;
            }
        }
        if (!progress) {
            int i = 0;
            while (placed[i])
                i++;
            free(order);
            free(placed);
            return cr_ctx_fail(ctx, CR_E_DATA,
                               "pipeline '%s': stage %s depends on its own output through a cycle "
                               "of stages",
                               L->path, p->stage[i].name);
        }
    }
    cr_stage *sorted = malloc((size_t)(n ? n : 1) * sizeof *sorted);
    if (!sorted) {
        free(order);
        free(placed);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    }
    for (int i = 0; i < n; i++)
        sorted[i] = p->stage[order[i]];
    free(p->stage);
    p->stage = sorted;
    free(order);
    free(placed);
    for (int i = 0; i < n; i++) {
        cr_stage *s = &p->stage[i];
        s->deps = malloc((size_t)(n ? n : 1) * sizeof *s->deps);
        if (!s->deps)
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        for (int j = 0; j < i; j++) {
            int reads = 0;
            for (char **in = s->inputs; !reads && in && *in; in++)
                reads = CSLFindString(p->stage[j].outputs, *in) >= 0;
            if (reads)
                s->deps[s->ndeps++] = j;
        }
    }
    return CR_OK;
}

/* Every input exists or is made by a stage. */
static cr_status check_inputs(cr_ctx *ctx, loader *L)
{
    cr_pipeline *p = L->p;
    for (int i = 0; i < p->nstages; i++)
        for (char **in = p->stage[i].inputs; in && *in; in++) {
            int made = 0;
            for (int j = 0; !made && j < p->nstages; j++)
                made = CSLFindString(p->stage[j].outputs, *in) >= 0;
            struct stat sb;
            if (!made && strncmp(*in, "/vsi", 4) != 0 && stat(*in, &sb) != 0)
                return cr_ctx_fail(ctx, CR_E_DATA,
                                   "pipeline '%s': stage %s: input '%s' does not exist and no "
                                   "stage makes it",
                                   L->path, p->stage[i].name, *in);
        }
    return CR_OK;
}

static cr_status load_stages(loader *L, json_object *doc, char **sets)
{
    cr_ctx *ctx = L->ctx;
    json_object *stages = NULL, *scen = NULL;
    json_object_object_foreach(doc, key, v)
    {
        (void)v;
        if (strcmp(key, "stages") != 0 && strcmp(key, "scenarios") != 0 && strcmp(key, "description") != 0)
            return cr_ctx_fail(ctx, CR_E_DATA,
                               "pipeline '%s': unknown key '%s' (stages, scenarios, description)",
                               L->path, key);
    }
    if (!json_object_object_get_ex(doc, "stages", &stages) || !json_object_is_type(stages, json_type_array))
        return cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s': 'stages' must be an array of stages", L->path);
    char **names = NULL;
    if (json_object_object_get_ex(doc, "scenarios", &scen)) {
        if (!json_object_is_type(scen, json_type_array) || json_object_array_length(scen) == 0)
            return cr_ctx_fail(ctx, CR_E_DATA,
                               "pipeline '%s': 'scenarios' must be a non-empty array of names",
                               L->path);
        for (size_t i = 0; i < json_object_array_length(scen); i++) {
            json_object *e = json_object_array_get_idx(scen, i);
            if (!json_object_is_type(e, json_type_string)) {
                CSLDestroy(names);
                return cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s': scenario %zu must be a string",
                                   L->path, i + 1);
            }
            names = CSLAddString(names, json_object_get_string(e));
        }
    }
    L->scenarios = join(names);
    cr_status st = apply_sets(ctx, stages, sets);
    for (size_t k = 0; st == CR_OK && k < json_object_array_length(stages); k++) {
        json_object *obj = json_object_array_get_idx(stages, k), *cmd = NULL, *name = NULL;
        if (!json_object_is_type(obj, json_type_object)) {
            st = cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s': stage %zu must be an object", L->path, k + 1);
            break;
        }
        if (!json_object_object_get_ex(obj, "stage", &cmd) || !json_object_is_type(cmd, json_type_string) ||
            command_index(json_object_get_string(cmd)) < 0) {
            st = cr_ctx_fail(ctx, CR_E_DATA,
                             "pipeline '%s': stage %zu: key 'stage' must name a command "
                             "(inundation, arrivals, score, zonal, map)",
                             L->path, k + 1);
            break;
        }
        const char *command = json_object_get_string(cmd);
        const char *base = command;
        if (json_object_object_get_ex(obj, "name", &name)) {
            if (!json_object_is_type(name, json_type_string) || !*json_object_get_string(name)) {
                st = cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s': stage %zu: key 'name' must be a string",
                                 L->path, k + 1);
                break;
            }
            base = json_object_get_string(name);
        }
        if (sweeps(obj)) {
            if (!names)
                st = cr_ctx_fail(ctx, CR_E_DATA,
                                 "pipeline '%s': stage %zu (%s) uses {scenario} but the pipeline "
                                 "has no 'scenarios'",
                                 L->path, k + 1, base);
            for (char **s = names; st == CR_OK && s && *s; s++)
                st = build_stage(L, obj, (int)k, command, base, *s);
        } else {
            st = build_stage(L, obj, (int)k, command, base, NULL);
        }
    }
    CSLDestroy(names);
    for (int i = 0; st == CR_OK && i < L->p->nstages; i++)
        for (int j = 0; st == CR_OK && j < i; j++)
            if (strcmp(L->p->stage[i].name, L->p->stage[j].name) == 0)
                st = cr_ctx_fail(ctx, CR_E_DATA,
                                 "pipeline '%s': two stages are named '%s'; give one a \"name\"",
                                 L->path, L->p->stage[i].name);
    if (st == CR_OK)
        st = order_stages(ctx, L);
    if (st == CR_OK)
        st = check_inputs(ctx, L);
    return st;
}

cr_status cr_pipeline_load(cr_ctx *ctx, const char *path, char **sets, cr_pipeline **out)
{
    *out = NULL;
    /* a missing, unreadable or empty file or a folder, named as every input is */
    cr_status checked = cr_check_input_path(ctx, path, "pipeline");
    if (checked != CR_OK)
        return checked;
    json_object *doc = json_object_from_file(path);
    if (!doc) {
        struct stat sb;
        if (stat(path, &sb) != 0)
            return cr_ctx_fail(ctx, CR_E_IO, "cannot read pipeline '%s': %s", path, strerror(errno));
        return cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s' is not valid JSON: %s", path,
                           json_util_get_last_err() ? json_util_get_last_err() : "parse error");
    }
    cr_pipeline *p = calloc(1, sizeof *p);
    loader L = {ctx, path, "", NULL, p};
    if (!p) {
        json_object_put(doc);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    }
    /* The folder relative paths are read from: CPLGetPath() would cut a long one. */
    const char *slash = strrchr(path, '/');
    size_t dir_len = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
    if (dir_len >= sizeof L.dir) {
        json_object_put(doc);
        free(p);
        return cr_ctx_fail(ctx, CR_E_USAGE, "pipeline '%s': its folder's path is too long", path);
    }
    memcpy(L.dir, path, dir_len);
    L.dir[dir_len] = '\0';
    p->path = strdup(path);
    const char *sep = *L.dir && L.dir[strlen(L.dir) - 1] != '/' ? "/" : "";
    char *state = format("%s%s.%s.state.json", L.dir, sep, CPLGetFilename(path));
    p->state_path = strdup(state);
    CPLFree(state);
    cr_status st = json_object_is_type(doc, json_type_object)
                       ? load_stages(&L, doc, sets)
                       : cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s' must be a JSON object", path);
    CPLFree(L.scenarios);
    json_object_put(doc);
    if (st != CR_OK) {
        cr_pipeline_free(p);
        return st;
    }
    *out = p;
    return CR_OK;
}

/* The arguments the state file records for a stage, or NULL. */
static json_object *recorded(const cr_pipeline *p, const char *name)
{
    json_object *doc = json_object_from_file(p->state_path), *entry = NULL, *argv = NULL;
    if (!doc)
        return NULL;
    if (json_object_object_get_ex(doc, name, &entry) && json_object_object_get_ex(entry, "argv", &argv))
        json_object_get(argv);
    else
        argv = NULL;
    json_object_put(doc);
    return argv;
}

static int same_args(json_object *argv, char **args)
{
    if (!argv || !json_object_is_type(argv, json_type_array) ||
        (int)json_object_array_length(argv) != CSLCount(args))
        return 0;
    for (int i = 0; args[i]; i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(argv, (size_t)i)), args[i]) != 0)
            return 0;
    return 1;
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
        return CR_STAGE_INPUT_NEWER;
    }
    json_object *argv = recorded(p, s->name);
    int same = same_args(argv, s->argv);
    json_object_put(argv);
    if (!same) {
        snprintf(why, size, "its options differ from those of its last run");
        return CR_STAGE_CHANGED;
    }
    snprintf(why, size, "up to date");
    return CR_STAGE_UP_TO_DATE;
}

cr_status cr_pipeline_record(cr_ctx *ctx, const cr_pipeline *p, int i)
{
    json_object *doc = json_object_from_file(p->state_path);
    if (!doc || !json_object_is_type(doc, json_type_object)) {
        json_object_put(doc);
        doc = json_object_new_object();
    }
    json_object *entry = json_object_new_object(), *argv = json_object_new_array();
    for (char **a = p->stage[i].argv; a && *a; a++)
        json_object_array_add(argv, json_object_new_string(*a));
    json_object_object_add(entry, "argv", argv);
    json_object_object_add(doc, p->stage[i].name, entry);
    char *temp = NULL;
    cr_status st = cr_output_temp(ctx, p->state_path, "run", &temp);
    if (st == CR_OK && json_object_to_file_ext(temp, doc, JSON_C_TO_STRING_PRETTY) != 0)
        st = cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s'", p->state_path);
    if (st == CR_OK)
        st = cr_output_publish(ctx, temp, p->state_path);
    if (st != CR_OK && temp)
        remove(temp);
    free(temp);
    json_object_put(doc);
    return st;
}
