/* plan.c: a pipeline as a plan other engines run: its stages with the command line each
 * gets, their files and the stages they wait for (run --plan), and the levels of the graph
 * (stages of one level depend only on earlier levels), which the job list of run --emit
 * jobs separates so that GNU parallel or xargs can run one level at a time. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>

#include "pipeline/internal.h"

int *cr_pl_levels(const cr_pipeline *p)
{
    int *level = calloc((size_t)(p->nstages ? p->nstages : 1), sizeof *level);
    if (!level)
        return NULL;
    /* deps are earlier in the order: one pass sees every dependency's level first */
    for (int i = 0; i < p->nstages; i++)
        for (int d = 0; d < p->stage[i].ndeps; d++)
            if (level[p->stage[i].deps[d]] + 1 > level[i])
                level[i] = level[p->stage[i].deps[d]] + 1;
    return level;
}

char **cr_pl_stage_line(const cr_stage *s)
{
    char **line = strcmp(s->command, "exec") == 0 ? NULL : CSLAddString(NULL, "cityrisk");
    return CSLInsertStrings(line, -1, (CSLConstList)s->argv);
}

/* 1 when c needs no quoting in a POSIX shell word. */
static int shell_safe(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("_./=:,+-@%", c);
}

char *cr_pl_shell_quote(const char *arg)
{
    size_t quotes = 0, unsafe = !*arg;
    for (const char *c = arg; *c; c++) {
        quotes += *c == '\'';
        unsafe += !shell_safe(*c);
    }
    if (!unsafe)
        return CPLStrdup(arg);
    /* 'it'\''s': each quote closes the quoted text, adds an escaped one, and reopens it */
    char *out = VSIMalloc(strlen(arg) + 3 * quotes + 3);
    if (!out)
        return NULL;
    char *o = out;
    *o++ = '\'';
    for (const char *c = arg; *c; c++) {
        if (*c == '\'') {
            memcpy(o, "'\\''", 4);
            o += 4;
        } else
            *o++ = *c;
    }
    *o++ = '\'';
    *o = '\0';
    return out;
}

char *cr_pl_shell_join(char **argv)
{
    size_t size = 1;
    char **quoted = NULL;
    for (char **a = argv; a && *a; a++) {
        char *q = cr_pl_shell_quote(*a);
        if (!q) {
            CSLDestroy(quoted);
            return NULL;
        }
        size += strlen(q) + 1;
        quoted = CSLAddString(quoted, q);
        CPLFree(q);
    }
    char *line = VSIMalloc(size);
    if (line) {
        *line = '\0';
        for (char **q = quoted; q && *q; q++) {
            if (q != quoted)
                strcat(line, " ");
            strcat(line, *q);
        }
    }
    CSLDestroy(quoted);
    return line;
}

/* The CSL list as a JSON array of strings. */
static json_object *strings_json(char **list)
{
    json_object *a = json_object_new_array();
    for (char **s = list; a && s && *s; s++)
        json_object_array_add(a, json_object_new_string(*s));
    return a;
}

/* Stage i's entry of the plan (docs/pipeline.md, "The plan as JSON"). */
static json_object *plan_stage_json(const cr_pipeline *p, int i, int level)
{
    const cr_stage *s = &p->stage[i];
    json_object *o = json_object_new_object(), *after = json_object_new_array();
    char **line = cr_pl_stage_line(s);
    json_object_object_add(o, "name", json_object_new_string(s->name));
    json_object_object_add(o, "command", json_object_new_string(s->command));
    json_object_object_add(o, "argv", strings_json(line));
    json_object_object_add(o, "inputs", strings_json(s->inputs));
    json_object_object_add(o, "outputs", strings_json(s->outputs));
    for (int d = 0; d < s->ndeps; d++)
        json_object_array_add(after, json_object_new_string(p->stage[s->deps[d]].name));
    json_object_object_add(o, "after", after);
    json_object_object_add(o, "level", json_object_new_int(level + 1));
    CSLDestroy(line);
    return o;
}

json_object *cr_pl_plan_json(const cr_pipeline *p)
{
    int *level = cr_pl_levels(p);
    if (!level)
        return NULL;
    json_object *doc = json_object_new_object(), *stages = json_object_new_array();
    json_object_object_add(doc, "pipeline", json_object_new_string(p->path));
    json_object_object_add(doc, "state", json_object_new_string(p->state_path ? p->state_path : ""));
    for (int i = 0; i < p->nstages; i++)
        json_object_array_add(stages, plan_stage_json(p, i, level[i]));
    json_object_object_add(doc, "stages", stages);
    free(level);
    return doc;
}

/* Writes "  LABEL: a, b" (or "(none)") for the CSL list. */
static void write_list(FILE *out, const char *label, char **list)
{
    fprintf(out, "  %-8s", label);
    if (!list || !*list)
        fprintf(out, " (none)");
    for (char **s = list; s && *s; s++)
        fprintf(out, "%s %s", s == list ? "" : ",", *s);
    fputc('\n', out);
}

void cr_pl_plan_text(const cr_pipeline *p, FILE *out)
{
    int *level = cr_pl_levels(p);
    for (int i = 0; i < p->nstages; i++) {
        const cr_stage *s = &p->stage[i];
        char **line = cr_pl_stage_line(s);
        char *text = cr_pl_shell_join(line);
        char **after = NULL;
        for (int d = 0; d < s->ndeps; d++)
            after = CSLAddString(after, p->stage[s->deps[d]].name);
        fprintf(out, "%s (level %d)\n  command  %s\n", s->name, level ? level[i] + 1 : 0, text ? text : "");
        write_list(out, "inputs", s->inputs);
        write_list(out, "outputs", s->outputs);
        write_list(out, "after", after);
        CSLDestroy(after);
        CSLDestroy(line);
        CPLFree(text);
    }
    free(level);
}

cr_status cr_pl_jobs_text(cr_ctx *ctx, const cr_pipeline *p, const char *path, char **tail, FILE *out)
{
    int *level = cr_pl_levels(p);
    if (!level)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    int top = -1;
    for (int i = 0; i < p->nstages; i++)
        top = level[i] > top ? level[i] : top;
    fprintf(out, "# cityrisk jobs of pipeline %s: one stage a line; run the lines under '# level N' (at once,\n"
                 "# in any order) only after every line of the levels before it ended with exit 0\n",
            path);
    cr_status st = CR_OK;
    for (int l = 0; st == CR_OK && l <= top; l++) {
        fprintf(out, "# level %d\n", l + 1);
        for (int i = 0; st == CR_OK && i < p->nstages; i++) {
            if (level[i] != l)
                continue;
            char **argv = CSLAddString(NULL, "cityrisk");
            argv = CSLAddString(argv, "run");
            argv = CSLAddString(argv, path);
            argv = CSLAddString(argv, "--stage");
            argv = CSLAddString(argv, p->stage[i].name);
            argv = CSLInsertStrings(argv, -1, (CSLConstList)tail);
            char *line = cr_pl_shell_join(argv);
            if (line)
                fprintf(out, "%s\n", line);
            else
                st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
            CPLFree(line);
            CSLDestroy(argv);
        }
    }
    free(level);
    return st;
}
