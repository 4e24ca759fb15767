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

/* text with each "{scenarios}" and "{scenario}" in it replaced, in one pass: a scenario
 * name holding either key is taken as it is, not expanded again (which never ended).
 * "{scenario}" stays when scenario is NULL. A new string, counted in L->arg_bytes; NULL
 * when that would pass CR_PIPELINE_MAX_ARG_BYTES (a failure with a message), before
 * anything that large is allocated. */
static char *substitute(loader *L, const char *text, const char *scenario)
{
    static const char many[] = "{scenarios}", one[] = "{scenario}";
    const char *scenarios = L->scenarios;
    size_t need = 1;
    for (int pass = 0; pass < 2; pass++) {
        char *out = pass ? CPLMalloc(need) : NULL, *o = out;
        for (const char *p = text; *p;) {
            const char *value = NULL;
            size_t skip = 0;
            if (strncmp(p, many, sizeof many - 1) == 0)
                value = scenarios, skip = sizeof many - 1;
            else if (scenario && strncmp(p, one, sizeof one - 1) == 0)
                value = scenario, skip = sizeof one - 1;
            size_t n = value ? strlen(value) : 1;
            if (!pass) {
                need += n;
                if (need > CR_PIPELINE_MAX_ARG_BYTES - L->arg_bytes) {
                    cr_ctx_fail(L->ctx, CR_E_DATA,
                                "pipeline '%s': the values of its stages, with {scenario} and "
                                "{scenarios} replaced, take more than the %zu MiB a pipeline may",
                                L->path, CR_PIPELINE_MAX_ARG_BYTES >> 20);
                    return NULL;
                }
            } else {
                memcpy(o, value ? value : p, n);
                o += n;
            }
            p += value ? skip : 1;
        }
        if (pass) {
            *o = '\0';
            L->arg_bytes += need;
            return out;
        }
    }
    return NULL;
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

/* Adds one argument list for the stage object obj, index k in the file. */
static cr_status build_stage(loader *L, json_object *obj, int k, const char *command,
                             const char *base_name, const char *scenario)
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
    const cr_command *cmd = cr_pl_stage_command(command);
    cr_stage st = {0};
    char *name = substitute(L, base_name, scenario);
    if (!name)
        return cr_ctx_status(L->ctx);
    st.command = CPLStrdup(command);
    st.name = scenario && !strstr(base_name, "{scenario}")
                  ? cr_pl_format("%s[%s]", name, scenario)
                  : CPLStrdup(name);
    CPLFree(name);
    st.argv = CSLAddString(NULL, command);
    st.written = CSLAddString(NULL, command);
    st.canonical = CSLAddString(NULL, command);
    char *output = NULL; /* the value of "output" */
    cr_status status = CR_OK;
    json_object_object_foreach(obj, key, v)
    {
        if (strcmp(key, "stage") == 0 || strcmp(key, "name") == 0)
            continue;
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
            char *s = substitute(L, *e, scenario);
            if (!s) {
                status = cr_ctx_status(L->ctx);
                break;
            }
            CPLFree(*e);
            *e = s;
            written = CSLAddString(written, s);
            if (is_input || is_output) {
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
        st.argv = add_values(st.argv, key, values, repeatable);
        st.written = add_values(st.written, key, written, repeatable);
        st.canonical = add_values(st.canonical, key, (is_input || is_output) ? canonical : values, repeatable);
        CSLDestroy(values);
        CSLDestroy(written);
        CSLDestroy(canonical);
    }
    /* QGIS styles are on by default in pipelines ("qml": false turns them off), and are
     * outputs like the others: a missing one makes the stage run. */
    json_object *qml = NULL;
    if (status == CR_OK && cr_command_has_style(cmd) && !json_object_object_get_ex(obj, "qml", &qml)) {
        st.argv = CSLAddString(st.argv, "--qml");
        st.canonical = CSLAddString(st.canonical, "--qml");
        qml = json_object_new_boolean(1);
        json_object_object_add(obj, "qml", qml); /* the other instances of a sweep see it too */
    }
    if (status == CR_OK)
        status = claim_outputs(L, &st, p->nstages, output, qml && json_object_get_boolean(qml));
    CPLFree(output);
    /* The strings came from CPL: move them to malloc ownership for cr_pipeline_free(). */
    cr_stage *dst = &p->stage[p->nstages];
    *dst = st;
    dst->name = status == CR_OK ? strdup(st.name) : NULL;
    dst->command = status == CR_OK ? strdup(st.command) : NULL;
    dst->base = status == CR_OK ? strdup(base_name) : NULL;
    CPLFree(st.name);
    CPLFree(st.command);
    p->nstages++; /* freed with the pipeline, whole or not */
    if (status == CR_OK && (!dst->name || !dst->command || !dst->base))
        status = cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
    return status;
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

cr_status cr_pl_build_stages(loader *L, json_object *doc, char **sets)
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
    L->scenarios = cr_pl_join(names);
    cr_status st = apply_sets(ctx, stages, sets);
    for (size_t k = 0; st == CR_OK && k < json_object_array_length(stages); k++) {
        json_object *obj = json_object_array_get_idx(stages, k), *cmd = NULL, *name = NULL;
        if (!json_object_is_type(obj, json_type_object)) {
            st = cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s': stage %zu must be an object", L->path, k + 1);
            break;
        }
        if (!json_object_object_get_ex(obj, "stage", &cmd) || !json_object_is_type(cmd, json_type_string) ||
            !cr_pl_stage_command(json_object_get_string(cmd))) {
            char commands[256];
            cr_pl_stage_commands(commands, sizeof commands);
            st = cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s': stage %zu: key 'stage' must name a command (%s)",
                             L->path, k + 1, commands);
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
    return st;
}
