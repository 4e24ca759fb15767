/* plan.c: a pipeline as a plan other engines run: its stages with the command line each
 * gets, their files and the stages they wait for (run --plan), and the levels of the graph
 * (stages of one level depend only on earlier levels), which the job list of run --emit
 * jobs separates so that GNU parallel or xargs can run one level at a time; the same graph
 * as a Snakefile (--emit snakemake) and as a Slurm script of job arrays (--emit slurm). */
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

/* The line that runs stage i alone: "cityrisk run PATH --stage NAME" and tail, each word
 * shell-quoted. A new string to CPLFree(), NULL when out of memory. */
static char *job_line(const cr_pipeline *p, int i, const char *path, char **tail)
{
    char **argv = CSLAddString(NULL, "cityrisk");
    argv = CSLAddString(argv, "run");
    argv = CSLAddString(argv, path);
    argv = CSLAddString(argv, "--stage");
    argv = CSLAddString(argv, p->stage[i].name);
    argv = CSLInsertStrings(argv, -1, (CSLConstList)tail);
    char *line = cr_pl_shell_join(argv);
    CSLDestroy(argv);
    return line;
}

/* The job lines of the stages of level l, one a line, into out; CR_OK or out of memory. */
static cr_status write_level_lines(cr_ctx *ctx, const cr_pipeline *p, const int *level, int l, const char *path,
                                   char **tail, FILE *out)
{
    for (int i = 0; i < p->nstages; i++) {
        if (level[i] != l)
            continue;
        char *line = job_line(p, i, path, tail);
        if (!line)
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        fprintf(out, "%s\n", line);
        CPLFree(line);
    }
    return CR_OK;
}

/* The highest level in level[] (-1 for no stages). */
static int top_level(const cr_pipeline *p, const int *level)
{
    int top = -1;
    for (int i = 0; i < p->nstages; i++)
        top = level[i] > top ? level[i] : top;
    return top;
}

/* The stages of level l. */
static int level_size(const cr_pipeline *p, const int *level, int l)
{
    int n = 0;
    for (int i = 0; i < p->nstages; i++)
        n += level[i] == l;
    return n;
}

cr_status cr_pl_jobs_text(cr_ctx *ctx, const cr_pipeline *p, const char *path, char **tail, FILE *out)
{
    int *level = cr_pl_levels(p);
    if (!level)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    int top = top_level(p, level);
    fprintf(out, "# cityrisk jobs of pipeline %s: one stage a line; run the lines under '# level N' (at once,\n"
                 "# in any order) only after every line of the levels before it ended with exit 0\n",
            path);
    cr_status st = CR_OK;
    for (int l = 0; st == CR_OK && l <= top; l++) {
        fprintf(out, "# level %d\n", l + 1);
        st = write_level_lines(ctx, p, level, l, path, tail, out);
    }
    free(level);
    return st;
}

/* s as a Python string literal in double quotes (a Snakefile is Python); with
 * double_braces, { and } doubled too, as Snakemake formats a shell command. */
static void write_py_string(FILE *out, const char *s, int double_braces)
{
    fputc('"', out);
    for (const char *c = s; *c; c++) {
        if (*c == '\\' || *c == '"')
            fputc('\\', out);
        if (*c == '\n') {
            fputs("\\n", out);
            continue;
        }
        if (double_braces && (*c == '{' || *c == '}'))
            fputc(*c, out);
        fputc(*c, out);
    }
    fputc('"', out);
}

/* Writes "    LABEL:" and one quoted path a line; nothing for an empty list. A path with a
 * brace fails: Snakemake reads braces in file names as wildcards. */
static cr_status write_files(cr_ctx *ctx, const cr_pipeline *p, const cr_stage *s, const char *label, char **files,
                             FILE *out)
{
    for (char **f = files; f && *f; f++)
        if (strpbrk(*f, "{}"))
            return cr_ctx_fail(ctx, CR_E_DATA,
                               "pipeline '%s' stage %s: '%s' has a brace, which Snakemake reads as a wildcard: "
                               "rename it for --emit snakemake",
                               p->path, s->name, *f);
    if (files && *files)
        fprintf(out, "    %s:\n", label);
    for (char **f = files; f && *f; f++) {
        fputs("        ", out);
        write_py_string(out, *f, 0);
        fputs(",\n", out);
    }
    return CR_OK;
}

/* The rule name of stage i: "stage_" and its name with every character Python does not
 * take in a name as '_' (a prefix keeps digits and keywords out of the first place), and
 * "_<i+1>" when an earlier rule has that name already. Added to *used; a new string to
 * CPLFree(). */
static char *rule_name(const cr_pipeline *p, int i, char ***used)
{
    char *name = CPLStrdup(CPLSPrintf("stage_%s", p->stage[i].name));
    for (char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
            *c = '_';
    if (CSLFindString(*used, name) >= 0) {
        char *unique = CPLStrdup(CPLSPrintf("%s_%d", name, i + 1));
        CPLFree(name);
        name = unique;
    }
    *used = CSLAddString(*used, name);
    return name;
}

/* Stage i's rule: a comment with its name, the rule, its inputs and outputs, and the shell
 * line that runs it alone. */
static cr_status write_rule(cr_ctx *ctx, const cr_pipeline *p, int i, const char *path, char **tail, char ***used,
                            FILE *out)
{
    const cr_stage *s = &p->stage[i];
    char *name = rule_name(p, i, used), *line = job_line(p, i, path, tail);
    cr_status st = line ? CR_OK : cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    if (st == CR_OK)
        fprintf(out, "\n# stage %s\nrule %s:\n", s->name, name);
    if (st == CR_OK)
        st = write_files(ctx, p, s, "input", s->inputs, out);
    if (st == CR_OK)
        st = write_files(ctx, p, s, "output", s->outputs, out);
    if (st == CR_OK) {
        fputs("    shell:\n        ", out);
        write_py_string(out, line, 1);
        fputc('\n', out);
    }
    CPLFree(name);
    CPLFree(line);
    return st;
}

cr_status cr_pl_snakefile_text(cr_ctx *ctx, const cr_pipeline *p, const char *path, char **tail, FILE *out)
{
    fprintf(out, "# Snakefile of cityrisk pipeline %s: one rule per stage, each running it alone\n"
                 "# with cityrisk run --stage (cityrisk on PATH); snakemake --cores N runs it all.\n\n"
                 "rule all:\n    input:\n",
            path);
    for (int i = 0; i < p->nstages; i++)
        for (char **f = p->stage[i].outputs; f && *f; f++) {
            fputs("        ", out);
            write_py_string(out, *f, 0);
            fputs(",\n", out);
        }
    char **used = CSLAddString(NULL, "all");
    cr_status st = CR_OK;
    for (int i = 0; st == CR_OK && i < p->nstages; i++)
        st = write_rule(ctx, p, i, path, tail, &used, out);
    CSLDestroy(used);
    return st;
}

/* The top of the Slurm script: what it does, the folder of the level files and the task
 * script every array task runs. */
static void write_slurm_head(const char *path, FILE *out)
{
    fprintf(out,
            "#!/usr/bin/env bash\n"
            "# Submits cityrisk pipeline %s to Slurm: one job array per level of its graph,\n"
            "# each task running one stage alone (cityrisk run --stage; cityrisk on the nodes' PATH),\n"
            "# each level once every task of the level before it ended with exit 0 (afterok).\n"
            "# CITYRISK_SBATCH_OPTIONS go to every sbatch (e.g. '--partition=p --time=1:00:00');\n"
            "# the level files go to CITYRISK_SLURM_DIR (default a new cityrisk-slurm.* folder\n"
            "# here), which the nodes must see. Prints each level's job id.\n"
            "set -euo pipefail\n"
            "dir=${CITYRISK_SLURM_DIR:-$(mktemp -d \"$PWD/cityrisk-slurm.XXXXXX\")}\n"
            "mkdir -p \"$dir\"\n"
            "dir=$(cd \"$dir\" && pwd)\n"
            "cat > \"$dir/task.sh\" <<'CITYRISK_LEVEL_END'\n"
            "#!/usr/bin/env bash\n"
            "# runs line SLURM_ARRAY_TASK_ID (from 0) of the level file $1\n"
            "set -euo pipefail\n"
            "line=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" \"$1\")\n"
            "exec bash -c \"$line\"\n"
            "CITYRISK_LEVEL_END\n"
            "chmod +x \"$dir/task.sh\"\n",
            path);
}

cr_status cr_pl_slurm_text(cr_ctx *ctx, const cr_pipeline *p, const char *path, char **tail, FILE *out)
{
    int *level = cr_pl_levels(p);
    if (!level)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    write_slurm_head(path, out);
    int top = top_level(p, level);
    cr_status st = CR_OK;
    for (int l = 0; st == CR_OK && l <= top; l++) {
        fprintf(out, "# level %d\ncat > \"$dir/level-%d.txt\" <<'CITYRISK_LEVEL_END'\n", l + 1, l + 1);
        st = write_level_lines(ctx, p, level, l, path, tail, out);
        fprintf(out,
                "CITYRISK_LEVEL_END\n"
                "job=$(sbatch --parsable --kill-on-invalid-dep=yes ${CITYRISK_SBATCH_OPTIONS:-} %s"
                "--job-name=cityrisk-level-%d --array=0-%d \"$dir/task.sh\" \"$dir/level-%d.txt\")\n"
                "job=${job%%%%;*}\n"
                "echo \"level %d: job $job\"\n",
                l ? "--dependency=afterok:\"$job\" " : "", l + 1, level_size(p, level, l) - 1, l + 1, l + 1);
    }
    free(level);
    return st;
}
