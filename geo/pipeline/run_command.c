/* run_command.c: `cityrisk run` in the command table, and its runner: every stage of a
 * pipeline checked before any runs, then those not up to date run in this process, each
 * through the command table with the program's hooks, and their summaries gathered. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>

#include "cityrisk/command.h"
#include "cityrisk/json.h"
#include "cityrisk/pipeline.h"
#include "core/internal.h"

/* The options of the command, and what the run did. */
typedef struct run_args {
    cr_command_base base;
    char **files;        /* PIPELINE (one) */
    int force;
    int dry_run;
    const char *only;    /* --only STAGE[,STAGE] */
    char **sets;         /* --set STAGE.OPTION=VALUE */
    cr_pipeline *p;
    int *runs;           /* per stage: it runs */
    char (*why)[512];    /* per stage: why it runs or not */
    int done;            /* stages that ran */
} run_args;

static void clear(void *opts)
{
    run_args *a = opts;
    cr_pipeline_free(a->p);
    free(a->runs);
    free(a->why);
}

static const cr_arg ARGS[] = {
    CR_OPT_ROW(CR_ARG_LIST, CR_ROLE_INPUT, CR_ARGF_POSITIONAL, "pipeline", NULL, run_args, files, "PIPELINE",
               "the pipeline file", NULL, NULL),
    CR_OPT_FLAG("force", run_args, force, "run every stage, up to date or not"),
    CR_OPT_FLAG("dry-run", run_args, dry_run, "print the plan: which stages would run and why"),
    CR_OPT_STRING("only", NULL, run_args, only, "LIST", "run only these stages (names or commands)"),
    CR_OPT_LIST("set", NULL, run_args, sets, "STAGE.OPTION=VALUE", "override an option of a stage"),
    CR_OPT__JSON_HELP("print a summary of every stage as JSON on stdout"),
    CR_OPT_END,
};

static cr_status check(cr_ctx *ctx, void *opts)
{
    int n = CSLCount(((run_args *)opts)->files);
    if (n == 1)
        return CR_OK;
    return n ? cr_ctx_fail(ctx, CR_E_USAGE, "one pipeline file, not %d", n)
             : cr_ctx_fail(ctx, CR_E_USAGE, "no pipeline file given");
}

/* Says a line of the run through the program's hooks; printf-style. */
static void say(const cr_command_call *call, cr_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void say(const cr_command_call *call, cr_log_level level, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    call->hooks->say(call->hooks->arg, call, level, msg);
}

/* What asked the program to stop, NULL while nothing did. */
static const char *stopping(const cr_command_call *call)
{
    return call->hooks->stopping(call->hooks->arg);
}

/* Stage i's arguments read by its command's parser, as far as they can be before it runs:
 * a stage that cannot is invalid pipeline data. */
static cr_status check_stage(cr_ctx *ctx, const cr_pipeline *p, int i)
{
    const cr_stage *s = &p->stage[i];
    if (strcmp(s->command, "exec") == 0) /* an external program: no parser of ours */
        return CR_OK;
    cr_status st = cr_command_check_syntax(ctx, cr_command_find(s->command), CSLCount(s->argv), s->argv);
    if (st == CR_OK)
        return st;
    char *msg = strdup(cr_ctx_error(ctx));
    st = cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s' stage %s: %s", p->path, s->name, msg ? msg : "out of memory");
    free(msg);
    return st;
}

/* 1 when stage s is one of --only's names (cr_pipeline_stage_matches()). */
static int selected(char **only, const cr_stage *s)
{
    if (!only)
        return 1;
    for (char **o = only; *o; o++)
        if (cr_pipeline_stage_matches(s, *o))
            return 1;
    return 0;
}

static json_object *stage_json(const cr_stage *s, const char *status, const char *why, double seconds,
                               int exit_code)
{
    json_object *o = json_object_new_object(), *outs = json_object_new_array();
    json_object_object_add(o, "name", json_object_new_string(s->name));
    json_object_object_add(o, "command", json_object_new_string(s->command));
    json_object_object_add(o, "status", json_object_new_string(status));
    json_object_object_add(o, "reason", json_object_new_string(why));
    for (char **out = s->outputs; out && *out; out++)
        json_object_array_add(outs, json_object_new_string(*out));
    json_object_object_add(o, "outputs", outs);
    json_object_object_add(o, "seconds", cr_json_number(seconds, 4));
    if (exit_code >= 0)
        json_object_object_add(o, "exit", json_object_new_int(exit_code));
    return o;
}

/* --json's document, {"pipeline": ..., "stages": stages}, the same for a run and a
 * --dry-run; takes stages. */
static json_object *document(const cr_pipeline *p, json_object *stages)
{
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "pipeline", json_object_new_string(p->path));
    json_object_object_add(doc, "stages", stages);
    return doc;
}

/* Which stages run, and why: a->runs and a->why; the number that run in *planned. A name
 * of --only that is no stage's is a usage error, said through the hooks. */
static cr_status plan(cr_ctx *ctx, const cr_command_call *call, run_args *a, int *planned,
                      cr_command_result *result)
{
    cr_pipeline *p = a->p;
    size_t n = (size_t)(p->nstages ? p->nstages : 1);
    char **only = a->only ? CSLTokenizeString2(a->only, ",", 0) : NULL;
    for (char **o = only; o && *o; o++) {
        int known = 0;
        for (int i = 0; i < p->nstages && !known; i++)
            known = selected((char *[]){*o, NULL}, &p->stage[i]);
        if (!known) {
            char msg[1024];
            snprintf(msg, sizeof msg, "--only: the pipeline has no stage '%s'", *o);
            cr_ctx_fail(ctx, CR_E_USAGE, "%s", msg);
            call->hooks->usage(call->hooks->arg, call, msg);
            result->failure_said = 1;
            CSLDestroy(only);
            return CR_E_USAGE;
        }
    }
    a->runs = calloc(n, sizeof *a->runs);
    a->why = calloc(n, sizeof *a->why);
    if (!a->runs || !a->why) {
        CSLDestroy(only);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    }
    *planned = 0;
    for (int i = 0; i < p->nstages; i++) {
        if (!selected(only, &p->stage[i])) {
            snprintf(a->why[i], sizeof a->why[i], "not selected by --only");
            continue;
        }
        cr_stage_state state = cr_pipeline_stage_state(p, i, a->runs, a->why[i], sizeof a->why[i]);
        if (a->force)
            snprintf(a->why[i], sizeof a->why[i], "--force");
        a->runs[i] = a->force || state != CR_STAGE_UP_TO_DATE;
        *planned += a->runs[i];
    }
    CSLDestroy(only);
    return CR_OK;
}

/* What the outputs of stage s record as their command (CITYRISK_COMMAND): the run as the
 * user typed it, then the stage as the pipeline writes it, both without what changes no
 * output, and without the options run adds (-q, --threads, --json, --qml) or the paths it
 * resolves: "run p.json; stage flood: inundation --dem dem.tif --tide 1.10 --output f.tif".
 * A new string to free(), NULL when out of memory. */
static char *stage_provenance(const cr_command_call *call, const cr_stage *s)
{
    char *run = cr_command_recorded(call->command, call->argc, call->argv);
    char *stage = cr_command_recorded(cr_command_find(s->command), CSLCount(s->written), s->written);
    char *line = NULL;
    if (run && stage) {
        size_t size = strlen(run) + strlen(s->name) + strlen(stage) + 16;
        if ((line = malloc(size)) != NULL)
            snprintf(line, size, "%s; stage %s: %s", run, s->name, stage);
    }
    free(run);
    free(stage);
    return line;
}

/* Runs stage i in this process through the command table, its progress the share from..to
 * of the run's; adds its entry to stages. Returns the status it ended with. */
static cr_status run_stage(const cr_command_call *call, run_args *a, int i, double from, double to,
                           json_object *stages)
{
    const cr_stage *s = &a->p->stage[i];
    if (strcmp(s->command, "exec") == 0) { /* placeholder until the runner runs programs */
        say(call, CR_LOG_ERROR, "stage %s: external programs are not run yet", s->name);
        return CR_E_USAGE;
    }
    char **argv = CSLDuplicate(s->argv);
    /* its output folders made; the outputs the pipeline made are its to replace */
    int overwrite = 0;
    cr_ctx *ctx = cr_ctx_new();
    cr_status prepared = ctx ? cr_pipeline_prepare(ctx, a->p, i, a->force, &overwrite) : CR_E_IO;
    if (prepared == CR_OK && overwrite && CSLFindString(argv, "--overwrite") < 0)
        argv = CSLAddString(argv, "--overwrite");
    /* Not recorded in the state file: neither changes any output. */
    if (a->base.quiet)
        argv = CSLAddString(argv, "-q");
    if (a->base.threads > 0) { /* before the stage's own options, which win */
        char threads[16];
        snprintf(threads, sizeof threads, "%d", a->base.threads);
        argv = CSLInsertStrings(argv, 1, (CSLConstList)(const char *const[]){"--threads", threads, NULL});
    }
    if (a->base.json) /* its own summary, in the run's */
        argv = CSLAddString(argv, "--json");
    char label[1024];
    snprintf(label, sizeof label, "pipeline '%s' stage %s", a->p->path, s->name);
    char *provenance = stage_provenance(call, s); /* NULL (out of memory): argv is recorded */
    cr_command_call how = {.hooks = call->hooks, .within = label, .progress_from = from, .progress_to = to,
                           .provenance = provenance};
    cr_command_result result;
    memset(&result, 0, sizeof result);
    double start = cr_seconds();
    cr_status st = prepared != CR_OK ? prepared
                   : cr_command_invoke(ctx, cr_command_find(s->command), CSLCount(argv), argv, &how, &result);
    double seconds = cr_seconds() - start;
    const cr_command_hooks *h = call->hooks;
    int code = h->exit_code(h->arg, st);
    const char *cause = !ctx ? "out of memory" : *cr_ctx_error(ctx) ? cr_ctx_error(ctx) : cr_status_name(st);
    json_object *entry = stage_json(s, st == CR_OK ? "ran" : "failed", a->why[i], seconds, code);
    if (result.json)
        json_object_object_add(entry, "summary", json_object_get(result.json));
    if (st != CR_OK)
        json_object_object_add(entry, "error", json_object_new_string(cause));
    json_object_array_add(stages, entry);
    if (st != CR_OK) /* the cause again, so that the last line of a log says it all */
        say(call, CR_LOG_ERROR, "stage %s %s (exit %d): %s; the outputs of the stages before it are kept",
            s->name, stopping(call) ? "was interrupted" : "failed", code, cause);
    cr_command_result_clear(&result);
    cr_ctx_free(ctx);
    CSLDestroy(argv);
    free(provenance);
    return st;
}

/* Runs the stages planned, in order, recording each in the state file. */
static cr_status run_stages(cr_ctx *ctx, const cr_command_call *call, run_args *a, int planned,
                            json_object *stages, cr_command_result *result)
{
    cr_pipeline *p = a->p;
    for (int i = 0; i < p->nstages; i++) {
        if (!a->runs[i]) {
            json_object_array_add(stages, stage_json(&p->stage[i], "skipped", a->why[i], 0.0, -1));
            continue;
        }
        if (stopping(call)) { /* came between two stages */
            say(call, CR_LOG_ERROR, "interrupted before stage %s; the outputs of the stages before it are kept",
                p->stage[i].name);
            result->failure_said = 1;
            return cr_ctx_fail(ctx, CR_E_CANCELLED, "interrupted before stage %s", p->stage[i].name);
        }
        say(call, CR_LOG_INFO, "%s (%s)", p->stage[i].name, a->why[i]);
        cr_status st = run_stage(call, a, i, (double)a->done / planned, (double)(a->done + 1) / planned, stages);
        if (st != CR_OK) {
            result->failure_said = 1;
            return st;
        }
        st = cr_pipeline_record(ctx, p, i);
        if (st != CR_OK)
            return st;
        a->done++;
    }
    return CR_OK;
}

static cr_status run(cr_ctx *ctx, void *opts, const cr_command_call *call, cr_command_result *result)
{
    run_args *a = opts;
    cr_status st = cr_pipeline_load(ctx, a->files[0], a->sets, &a->p);
    /* Every stage's options, read by its own command, before anything runs. */
    for (int i = 0; st == CR_OK && i < a->p->nstages && !stopping(call); i++)
        st = check_stage(ctx, a->p, i);
    int planned = 0;
    if (st == CR_OK && !stopping(call))
        st = plan(ctx, call, a, &planned, result);
    if (st != CR_OK)
        return st;
    if (stopping(call)) {
        say(call, CR_LOG_ERROR, "interrupted by %s before any stage ran", stopping(call));
        result->failure_said = 1;
        return cr_ctx_fail(ctx, CR_E_CANCELLED, "interrupted before any stage ran");
    }
    json_object *stages = json_object_new_array();
    if (!a->dry_run)
        st = run_stages(ctx, call, a, planned, stages, result);
    else if (a->base.json)
        for (int i = 0; i < a->p->nstages; i++)
            json_object_array_add(stages, stage_json(&a->p->stage[i], a->runs[i] ? "would run" : "skip", a->why[i],
                                                     0.0, -1));
    if (a->base.json)
        result->json = document(a->p, json_object_get(stages));
    json_object_put(stages);
    return st;
}

static void summarise(const void *opts, FILE *text, cr_command_result *result)
{
    const run_args *a = opts;
    const cr_pipeline *p = a->p;
    result->is_report = a->dry_run;
    if (a->base.json)
        return; /* the run made its document */
    if (!a->dry_run)
        fprintf(text, "%d of %d stages ran, %d up to date\n", a->done, p->nstages, p->nstages - a->done);
    for (int i = 0; a->dry_run && i < p->nstages; i++)
        fprintf(text, "%-5s %s: %s\n", a->runs[i] ? "run" : "skip", p->stage[i].name, a->why[i]);
}

const cr_command cr_run_command = {
    .name = "run",
    .summary = "run a pipeline file: every stage, skipping those up to date",
    .synopsis = "PIPELINE.json [--force] [--dry-run] [--only STAGE[,STAGE]] [--set STAGE.OPTION=VALUE]...\n"
                "       [--json]",
    .description =
        "Runs the stages of a pipeline file in the order their files need, skipping those\n"
        "that are up to date: their outputs exist, are newer than their inputs, and were made\n"
        "with the same options (recorded in .PIPELINE.json.state.json beside the file).\n"
        "A stage is a command (inundation, arrivals, score, zonal, map) with its long options\n"
        "as keys: {\"stage\": \"score\", \"sea\": \"out/inundation.tif\", \"scenario\":\n"
        "\"ssp245-2100\", ..., \"output\": \"out/exposure.tif\"}; true adds a flag, an array is\n"
        "joined with commas (repeated for raster, creation-option, layer-creation-option).\n"
        "Relative paths resolve against the pipeline's folder. With \"scenarios\": [...] at the\n"
        "top, \"{scenarios}\" is their comma-joined list and a stage mentioning \"{scenario}\"\n"
        "runs once per scenario. Everything is checked before any stage runs (unknown keys,\n"
        "wrong types, missing inputs, cycles, two stages writing one file: exit 3 naming the\n"
        "stage and key). A failed stage stops the run with its exit code; the outputs of\n"
        "earlier stages stay. --threads N and -q apply to every stage (a stage's own \"threads\"\n"
        "wins). Reference: docs/pipeline.md.",
    .examples = "  cityrisk run samples/pipeline.json\n"
                "  cityrisk run samples/pipeline.json --dry-run\n"
                "  cityrisk run samples/pipeline.json --set score.method=arithmetic --only score,zonal",
    .args = ARGS, .opts_size = sizeof(run_args),
    .clear = clear, .check = check, .run = run, .summarise = summarise,
};
