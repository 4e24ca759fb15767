/* run_command.c: `cityrisk run` in the command table, and its runner: every stage of a
 * pipeline checked before any runs, then those not up to date run in this process, each
 * through the command table with the program's hooks, and their summaries gathered. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpl_string.h>

#include "cityrisk/command.h"
#include "cityrisk/json.h"
#include "cityrisk/pipeline.h"
#include "core/budget.h"
#include "core/internal.h"
#include "pipeline/internal.h"

/* The options of the command, and what the run did. */
typedef struct run_args {
    cr_command_base base;
    char **files;        /* PIPELINE (one) */
    int force;
    int dry_run;
    int checksum;        /* --checksum: inputs of another time compared by content */
    int jobs;            /* -j N: stages at once */
    const char *only;    /* --only STAGE[,STAGE] */
    char **sets;         /* --set STAGE.OPTION=VALUE */
    int show_plan;       /* --plan: print the expanded graph, run nothing */
    const char *stage;   /* --stage NAME: run exactly that stage */
    const char *emit;    /* --emit FORMAT: the plan for another engine (jobs, snakemake, slurm) */
    char *emitted;       /* what --emit prints, made by run */
    cr_pipeline *p;
    int *runs;           /* per stage: it runs */
    char (*why)[512];    /* per stage: why it runs or not */
    cr_stage_state *state; /* per stage: its state when planned */
    int *chosen;         /* per stage: selected by --only (all without it) */
    char *dir;           /* the pipeline's folder, NULL for the one run from */
    int done;            /* stages that ran */
} run_args;

static void clear(void *opts)
{
    run_args *a = opts;
    cr_pipeline_free(a->p);
    free(a->runs);
    free(a->why);
    free(a->state);
    free(a->chosen);
    free(a->dir);
    free(a->emitted);
}

static const cr_arg ARGS[] = {
    CR_OPT_ROW(CR_ARG_LIST, CR_ROLE_INPUT, CR_ARGF_POSITIONAL, "pipeline", NULL, run_args, files, "PIPELINE",
               "the pipeline file", NULL, NULL),
    CR_OPT_FLAG("force", run_args, force, "run every stage, up to date or not"),
    CR_OPT_FLAG("dry-run", run_args, dry_run, "print the plan: which stages would run and why"),
    CR_OPT_FLAG("checksum", run_args, checksum,
                "compare an input of the same size but another time by its content (mtimes a checkout reset)"),
    CR_OPT_ROW(CR_ARG_INT, CR_ROLE_PARAMETER, CR_ARGF_NO_EFFECT, "jobs", "j", run_args, jobs, "N",
               "run up to N independent stages at once (default 1); each gets the cores shared out", NULL,
               NULL),
    CR_OPT_STRING("only", NULL, run_args, only, "LIST", "run only these stages (names or commands)"),
    CR_OPT_LIST("set", NULL, run_args, sets, "STAGE.OPTION=VALUE", "override an option of a stage"),
    CR_OPT_FLAG("plan", run_args, show_plan,
                "print every stage with its command line, files and the stages it waits for; run nothing"),
    CR_OPT_ROW(CR_ARG_STRING, CR_ROLE_PARAMETER, CR_ARGF_NO_EFFECT, "stage", NULL, run_args, stage, "NAME",
               "run exactly this stage (its inputs must exist), skipped when up to date unless --force", NULL,
               NULL),
    CR_OPT_STRING("emit", NULL, run_args, emit, "FORMAT",
                  "print the plan for another engine: jobs (one run --stage line per stage, by levels), "
                  "snakemake (a Snakefile) or slurm (a script of sbatch job arrays)"),
    CR_OPT__OUTPUT("with --emit: the file to write it to (default stdout)"),
    CR_OPT__OVERWRITE,
    CR_OPT__JSON_HELP("print a summary of every stage as JSON on stdout"),
    CR_OPT_END,
};

static void init(void *opts)
{
    ((run_args *)opts)->jobs = 1;
}

/* What writes the plan in the --emit format, NULL for a format not known. */
static cr_status (*emitter(const char *format))(cr_ctx *, const cr_pipeline *, const char *, char **, FILE *)
{
    if (strcmp(format, "jobs") == 0)
        return cr_pl_jobs_text;
    if (strcmp(format, "snakemake") == 0)
        return cr_pl_snakefile_text;
    return strcmp(format, "slurm") == 0 ? cr_pl_slurm_text : NULL;
}

/* The options that choose which stages run or what is printed instead: one at most, and
 * --dry-run only with a choice of stages. */
static cr_status check_modes(cr_ctx *ctx, const run_args *a)
{
    if ((a->show_plan != 0) + (a->stage != NULL) + (a->emit != NULL) + (a->only != NULL) > 1)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--plan, --stage, --emit and --only go alone");
    if (a->dry_run && (a->show_plan || a->emit))
        return cr_ctx_fail(ctx, CR_E_USAGE, "--dry-run: --plan and --emit run nothing already");
    if ((a->base.output || a->base.overwrite) && !a->emit)
        return cr_ctx_fail(ctx, CR_E_USAGE, "-o and --overwrite go with --emit only");
    if (a->emit && !emitter(a->emit))
        return cr_ctx_fail(ctx, CR_E_USAGE, "--emit: unknown format '%s' (known: jobs, snakemake, slurm)", a->emit);
    return CR_OK;
}

static cr_status check(cr_ctx *ctx, void *opts)
{
    int n = CSLCount(((run_args *)opts)->files);
    if (n == 1 && check_modes(ctx, opts) != CR_OK)
        return CR_E_USAGE;
    if (n == 1 && ((run_args *)opts)->jobs < 1)
        return cr_ctx_fail(ctx, CR_E_USAGE, "-j: at least 1 stage at once, not %d", ((run_args *)opts)->jobs);
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

/* --only's names, split at the commas outside brackets: "zonal[stress-2m,equal]" is one
 * name, as a swept stage is named. A CSL. */
static char **split_names(const char *text)
{
    char **names = NULL;
    int depth = 0;
    const char *start = text;
    for (const char *c = text;; c++) {
        if (*c == '[')
            depth++;
        else if (*c == ']' && depth > 0)
            depth--;
        if (*c == '\0' || (*c == ',' && depth == 0)) {
            if (c > start) {
                char *name = strndup(start, (size_t)(c - start));
                if (name)
                    names = CSLAddString(names, name);
                free(name);
            }
            if (!*c)
                break;
            start = c + 1;
        }
    }
    return names;
}

/* The index of the stage named name (exactly, as --stage names it), -1 when none is. */
static int stage_named(const cr_pipeline *p, const char *name)
{
    for (int i = 0; i < p->nstages; i++)
        if (strcmp(p->stage[i].name, name) == 0)
            return i;
    return -1;
}

/* A usage error of run's options, said through the hooks. */
static cr_status usage(cr_ctx *ctx, const cr_command_call *call, cr_command_result *result, const char *msg)
{
    cr_ctx_fail(ctx, CR_E_USAGE, "%s", msg);
    call->hooks->usage(call->hooks->arg, call, msg);
    result->failure_said = 1;
    return CR_E_USAGE;
}

/* Which stages run, and why: a->runs and a->why; the number that run in *planned. A name
 * of --only or --stage that is no stage's is a usage error, said through the hooks. */
static cr_status plan(cr_ctx *ctx, const cr_command_call *call, run_args *a, int *planned,
                      cr_command_result *result)
{
    cr_pipeline *p = a->p;
    size_t n = (size_t)(p->nstages ? p->nstages : 1);
    char **only = a->only ? split_names(a->only) : NULL;
    for (char **o = only; o && *o; o++) {
        int known = 0;
        for (int i = 0; i < p->nstages && !known; i++)
            known = selected((char *[]){*o, NULL}, &p->stage[i]);
        if (!known) {
            char msg[1024];
            snprintf(msg, sizeof msg, "--only: the pipeline has no stage '%s'", *o);
            CSLDestroy(only);
            return usage(ctx, call, result, msg);
        }
    }
    int target = a->stage ? stage_named(p, a->stage) : -1;
    if (a->stage && target < 0) {
        char msg[1024];
        snprintf(msg, sizeof msg, "--stage: the pipeline has no stage named '%s' (run --plan lists them)", a->stage);
        return usage(ctx, call, result, msg);
    }
    a->runs = calloc(n, sizeof *a->runs);
    a->why = calloc(n, sizeof *a->why);
    a->state = calloc(n, sizeof *a->state);
    a->chosen = calloc(n, sizeof *a->chosen);
    if (!a->runs || !a->why || !a->state || !a->chosen) {
        CSLDestroy(only);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    }
    *planned = 0;
    for (int i = 0; i < p->nstages; i++) {
        a->chosen[i] = a->stage ? i == target : selected(only, &p->stage[i]);
        if (!a->chosen[i]) {
            snprintf(a->why[i], sizeof a->why[i], "not selected by %s", a->stage ? "--stage" : "--only");
            continue;
        }
        cr_stage_state state = cr_pipeline_stage_state(p, i, a->runs, a->why[i], sizeof a->why[i]);
        a->state[i] = state;
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

/* What became of a stage in this run. */
typedef enum outcome {
    PENDING = 0, /* to run, not started yet */
    RUNNING,
    RAN,
    FAILED,
    SKIPPED,     /* up to date, or not selected */
    NOT_STARTED, /* to run, but a stage failed or a signal came first */
    INTERRUPTED  /* stopped by a signal while it ran */
} outcome;

/* A stage's run, filled by whichever thread runs it. */
typedef struct slot {
    outcome outcome;      /* the main thread's only */
    int done;             /* the stage ended: set by the thread that ran it, under the lock */
    int index;            /* its place among the stages that run, from 1 */
    cr_status status;
    int exit_code;
    double seconds;
    json_object *summary; /* its own --json document, NULL when none */
    char *cause;          /* its error, NULL when it ran */
} slot;

/* The run in progress: the slots, and how the threads that run stages tell the main one
 * that they ended. */
typedef struct runner {
    const cr_command_call *call;
    cr_ctx *run_ctx;  /* run's own */
    const char *dir;  /* the pipeline's folder */
    run_args *a;
    slot *slots;
    int concurrent;   /* -j N with N > 1: stages in threads */
    int stage_threads; /* --threads given to each stage; 0 for the command's own default */
    char stage_memory[32]; /* --max-memory given to each stage; "" for the default */
    int64_t resident_baseline; /* the process's resident set before any stage started */
    pthread_mutex_t lock;
    pthread_cond_t ended;
    int finished;     /* stages that ended and that the main thread has not handled */
} runner;

/* One stage's run, on the thread that runs it. */
typedef struct job {
    runner *r;
    int i;
    pthread_t thread;
    int joinable; /* it runs in thread */
} job;

/* What run adds to stage s's arguments: -q, --threads, --max-memory (before the stage's own
 * options, which win), --json for its summary, --overwrite when its outputs are the pipeline's to
 * replace. None is recorded in the state. */
static char **stage_argv(const runner *r, const cr_stage *s, int overwrite)
{
    const run_args *a = r->a;
    char **argv = CSLDuplicate(s->argv);
    if (a->base.quiet)
        argv = CSLAddString(argv, "-q");
    int threads = a->base.threads > 0 ? a->base.threads : r->stage_threads;
    if (threads > 0) {
        char text[16];
        snprintf(text, sizeof text, "%d", threads);
        argv = CSLInsertStrings(argv, 1, (CSLConstList)(const char *const[]){"--threads", text, NULL});
    }
    if (r->stage_memory[0])
        argv = CSLInsertStrings(argv, 1,
                                (CSLConstList)(const char *const[]){"--max-memory", r->stage_memory, NULL});
    if (a->base.json)
        argv = CSLAddString(argv, "--json");
    if (overwrite && CSLFindString(argv, "--overwrite") < 0)
        argv = CSLAddString(argv, "--overwrite");
    return argv;
}

/* An external program's line, said as the run's. */
static void exec_line(void *arg, const char *line)
{
    const job *j = arg;
    if (!j->r->a->base.quiet) /* as a command's own messages: shown, bar or not, unless -q */
        say(j->r->call, CR_LOG_WARNING, "stage %s: %s", j->r->a->p->stage[j->i].name, line);
}

static const char *exec_stopping(void *arg)
{
    return stopping(arg);
}

/* Runs stage i, in this process, on whichever thread: a cityrisk command through the
 * command table (its messages and progress through the program's hooks), or an external
 * program. Fills its slot. */
static void run_one(job *j)
{
    runner *r = j->r;
    run_args *a = r->a;
    const cr_stage *s = &a->p->stage[j->i];
    slot *sl = &r->slots[j->i];
    const cr_command_call *call = r->call;
    double start = cr_seconds();
    cr_command_result result;
    memset(&result, 0, sizeof result);
    cr_ctx *ctx = cr_ctx_new();
    if (ctx) /* the others' holdings, at once or left behind, are not this stage's to count */
        cr_ctx_set_resident_baseline(ctx, r->resident_baseline);
    int overwrite = 0;
    /* its output folders made; the outputs the pipeline made are its to replace */
    int is_exec = strcmp(s->command, "exec") == 0;
    /* an external stage has no "overwrite" key: its program's own --overwrite is not ours */
    int replace_foreign = a->force || (!is_exec && CSLFindString(s->argv, "--overwrite") >= 0);
    cr_status st = ctx ? cr_pipeline_prepare(ctx, a->p, j->i, replace_foreign, &overwrite) : CR_E_IO;
    if (st == CR_OK && is_exec) {
        cr_ctx_share_temp_hook(ctx, r->run_ctx); /* a second signal removes its temporaries too */
        cr_pl_exec_how how = {r->dir, exec_line, j, exec_stopping, (void *)call};
        st = cr_pl_exec_run(ctx, s, overwrite, &how);
    } else if (st == CR_OK) {
        char **argv = stage_argv(r, s, overwrite);
        char label[1024];
        snprintf(label, sizeof label, "pipeline '%s' stage %s", a->p->path, s->name);
        char *provenance = stage_provenance(call, s); /* NULL (out of memory): argv is recorded */
        cr_command_call how = {.hooks = call->hooks, .within = label, .progress_from = 0, .progress_to = 1,
                               .provenance = provenance, .concurrent = r->concurrent};
        st = cr_command_invoke(ctx, cr_command_find(s->command), CSLCount(argv), argv, &how, &result);
        CSLDestroy(argv);
        free(provenance);
    }
    sl->seconds = cr_seconds() - start;
    sl->status = st;
    sl->exit_code = call->hooks->exit_code(call->hooks->arg, st);
    if (result.json)
        sl->summary = json_object_get(result.json);
    if (st != CR_OK) {
        const char *cause = !ctx ? "out of memory" : *cr_ctx_error(ctx) ? cr_ctx_error(ctx) : cr_status_name(st);
        sl->cause = strdup(cause);
    }
    cr_command_result_clear(&result);
    cr_ctx_free(ctx);
}

static void *stage_thread(void *arg)
{
    job *j = arg;
    run_one(j);
    pthread_mutex_lock(&j->r->lock);
    j->r->slots[j->i].done = 1;
    j->r->finished++;
    pthread_cond_signal(&j->r->ended);
    pthread_mutex_unlock(&j->r->lock);
    return NULL;
}

/* Tells the program of stage i's start or end. */
static void tell(const runner *r, int i, const char *status, int planned)
{
    const cr_command_hooks *h = r->call->hooks;
    const slot *sl = &r->slots[i];
    cr_stage_event ev = {.name = r->a->p->stage[i].name, .index = sl->index, .count = planned,
                         .status = status, .reason = r->a->why[i], .seconds = sl->seconds,
                         .exit_code = strcmp(status, "started") == 0 ? -1 : sl->exit_code,
                         .concurrent = r->concurrent};
    if (h->stage)
        h->stage(h->arg, r->call, &ev);
}

/* 1 when every stage i reads from has ended well (or did not need to run). */
static int ready(const runner *r, int i)
{
    const cr_stage *s = &r->a->p->stage[i];
    for (int d = 0; d < s->ndeps; d++)
        if (r->slots[s->deps[d]].outcome != RAN && r->slots[s->deps[d]].outcome != SKIPPED)
            return 0;
    return 1;
}

/* One line naming what became of every stage, after a failure or a signal. */
static void say_outcomes(const runner *r)
{
    static const char *const names[] = {"not started", "running",     "ran",        "failed",
                                        "up to date",  "not started", "interrupted"};
    const cr_pipeline *p = r->a->p;
    size_t size = 64;
    for (int i = 0; i < p->nstages; i++)
        size += strlen(p->stage[i].name) + 32;
    char *line = malloc(size);
    if (!line)
        return;
    size_t at = (size_t)snprintf(line, size, "stages:");
    for (int i = 0; i < p->nstages; i++) {
        const slot *sl = &r->slots[i];
        if (sl->outcome == FAILED)
            at += (size_t)snprintf(line + at, size - at, "%s %s failed (exit %d)", i ? "," : "", p->stage[i].name,
                                   sl->exit_code);
        else
            at += (size_t)snprintf(line + at, size - at, "%s %s %s", i ? "," : "", p->stage[i].name,
                                   names[sl->outcome]);
    }
    say(r->call, CR_LOG_ERROR, "%s", line);
    free(line);
}

/* Runs the stages planned: of those whose inputs are ready, the first in order first, up
 * to -j at once (in threads when more than one), each recorded in the state file as it
 * ends. A failure or a signal starts no new stage; those running finish. */
static cr_status run_stages(cr_ctx *ctx, const cr_command_call *call, run_args *a, int planned,
                            cr_command_result *result, runner *r)
{
    cr_pipeline *p = a->p;
    int jobs = a->jobs > 0 ? a->jobs : 1;
    r->call = call;
    r->run_ctx = ctx;
    r->a = a;
    r->concurrent = jobs > 1;
    if (r->concurrent && a->base.threads <= 0) { /* the cores shared out, not oversubscribed */
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        r->stage_threads = cores > jobs ? (int)(cores / jobs) : 1;
    }
    /* The memory budget, the run's (--max-memory, else CITYRISK_MAX_MEMORY or half the RAM),
     * shared out among the stages that run at once, as the cores are. */
    if (r->concurrent)
        snprintf(r->stage_memory, sizeof r->stage_memory, "%.3fMB",
                 (double)(cr_ctx_max_memory(ctx) / jobs) / (1024.0 * 1024.0));
    else if (a->base.max_memory)
        snprintf(r->stage_memory, sizeof r->stage_memory, "%s", a->base.max_memory);
    /* Measured once: each stage counts this as held, not the process's resident set at its
     * checks, which holds the other stages' buffers (threads of this process) and what
     * earlier ones left in the allocator; the stages' shares then add up to the budget. */
    r->resident_baseline = cr_budget_resident();
    for (int i = 0; i < p->nstages; i++)
        r->slots[i].outcome = a->runs[i] ? PENDING : SKIPPED;
    job *jobs_of = calloc((size_t)(p->nstages ? p->nstages : 1), sizeof *jobs_of);
    int *ended = calloc((size_t)(p->nstages ? p->nstages : 1), sizeof *ended);
    if (!jobs_of || !ended) {
        free(jobs_of);
        free(ended);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    }
    int running = 0, started = 0, stop = 0, first_failed = -1;
    cr_status st = CR_OK;
    for (;;) {
        if (!stop && stopping(call))
            stop = 1;
        for (int i = 0; !stop && running < jobs && i < p->nstages; i++) {
            if (r->slots[i].outcome != PENDING || !ready(r, i))
                continue;
            r->slots[i].outcome = RUNNING;
            r->slots[i].index = ++started;
            tell(r, i, "started", planned);
            if (!a->base.json) /* with --json, its events say it */
                say(call, CR_LOG_INFO, "[%d/%d] %s (%s)", started, planned, p->stage[i].name, a->why[i]);
            jobs_of[i] = (job){.r = r, .i = i};
            if (r->concurrent && pthread_create(&jobs_of[i].thread, NULL, stage_thread, &jobs_of[i]) == 0) {
                jobs_of[i].joinable = 1;
                running++;
            } else {
                stage_thread(&jobs_of[i]); /* in this thread: -j 1, or no thread to be had */
                break; /* handle it before starting another */
            }
        }
        /* wait for a stage to end, unless one ended in this thread; take those that ended */
        int nended = 0;
        pthread_mutex_lock(&r->lock);
        while (running > 0 && r->finished == 0)
            pthread_cond_wait(&r->ended, &r->lock);
        r->finished = 0;
        for (int i = 0; i < p->nstages; i++)
            if (r->slots[i].done && r->slots[i].outcome == RUNNING)
                ended[nended++] = i;
        pthread_mutex_unlock(&r->lock);
        if (nended == 0 && running == 0)
            break; /* nothing running, nothing more to start */
        for (int e = 0; e < nended; e++) {
            int i = ended[e];
            slot *sl = &r->slots[i];
            if (r->concurrent && jobs_of[i].joinable) {
                pthread_join(jobs_of[i].thread, NULL);
                running--;
            }
            sl->outcome = sl->status == CR_OK ? RAN : sl->status == CR_E_CANCELLED ? INTERRUPTED : FAILED;
            if (sl->outcome == RAN) {
                cr_status recorded = cr_pipeline_record(ctx, p, i);
                if (recorded != CR_OK && st == CR_OK) {
                    st = recorded; /* its outputs are whole, but the next run would not know them */
                    stop = 1;
                }
                a->done++;
            } else if (first_failed < 0 || i < first_failed) {
                first_failed = i;
                stop = 1;
            }
            tell(r, i, sl->outcome == RAN ? "ran" : sl->outcome == INTERRUPTED ? "interrupted" : "failed", planned);
        }
    }
    for (int i = 0; i < p->nstages; i++)
        if (r->slots[i].outcome == PENDING)
            r->slots[i].outcome = NOT_STARTED;
    free(jobs_of);
    free(ended);
    if (first_failed >= 0) {
        const cr_stage *s = &p->stage[first_failed];
        const slot *sl = &r->slots[first_failed];
        if (started > 1 || planned > 1)
            say_outcomes(r);
        /* the cause again, so that the last line of a log says it all */
        say(call, CR_LOG_ERROR, "stage %s %s (exit %d): %s; the outputs of the stages before it are kept", s->name,
            sl->status == CR_E_CANCELLED && stopping(call) ? "was interrupted" : "failed", sl->exit_code,
            sl->cause ? sl->cause : cr_status_name(sl->status));
        result->failure_said = 1;
        cr_ctx_fail(ctx, sl->status, "%s", sl->cause ? sl->cause : cr_status_name(sl->status));
        return sl->status;
    }
    if (st == CR_OK && stop && stopping(call)) {
        int next = -1;
        for (int i = 0; i < p->nstages && next < 0; i++)
            if (r->slots[i].outcome == NOT_STARTED)
                next = i;
        if (next >= 0) {
            say(call, CR_LOG_ERROR, "interrupted before stage %s; the outputs of the stages before it are kept",
                p->stage[next].name);
            result->failure_said = 1;
            return cr_ctx_fail(ctx, CR_E_CANCELLED, "interrupted before stage %s", p->stage[next].name);
        }
    }
    return st;
}

/* The --json entry of stage i. */
static json_object *stage_entry(const run_args *a, const runner *r, int i)
{
    const cr_stage *s = &a->p->stage[i];
    const slot *sl = r ? &r->slots[i] : NULL;
    const char *status = a->dry_run ? (a->runs[i] ? "would run" : "skip")
                         : !sl || sl->outcome == SKIPPED ? "skipped"
                         : sl->outcome == RAN            ? "ran"
                         : sl->outcome == FAILED         ? "failed"
                         : sl->outcome == INTERRUPTED    ? "interrupted"
                                                         : "not started";
    int ran = sl && (sl->outcome == RAN || sl->outcome == FAILED || sl->outcome == INTERRUPTED);
    json_object *o = stage_json(s, status, a->why[i], ran ? sl->seconds : 0.0, ran ? sl->exit_code : -1);
    json_object_object_add(o, "why", json_object_new_string(!a->chosen[i]           ? "not selected"
                                                            : a->force && a->runs[i] ? "forced"
                                                                                     : cr_stage_state_name(a->state[i])));
    if (ran && sl->summary)
        json_object_object_add(o, "summary", json_object_get(sl->summary));
    if (ran && sl->cause)
        json_object_object_add(o, "error", json_object_new_string(sl->cause));
    return o;
}

/* Before --stage runs its stage i alone: every file it reads exists. A missing one is
 * invalid data naming it and the stage that makes it, to run first. */
static cr_status check_stage_inputs(cr_ctx *ctx, const cr_pipeline *p, int i)
{
    const cr_stage *s = &p->stage[i];
    for (char **in = s->inputs; in && *in; in++) {
        struct stat sb;
        if (strncmp(*in, "/vsi", 4) == 0 || stat(*in, &sb) == 0)
            continue;
        for (int k = 0; k < p->nstages; k++)
            if (CSLFindString(p->stage[k].outputs, *in) >= 0)
                return cr_ctx_fail(ctx, CR_E_DATA,
                                   "pipeline '%s' stage %s: input '%s' does not exist; stage %s makes it: run "
                                   "that stage first",
                                   p->path, s->name, *in, p->stage[k].name);
        return cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s' stage %s: input '%s' does not exist and no stage makes it",
                           p->path, s->name, *in);
    }
    return CR_OK;
}

/* Writes a->emitted to the file of -o, which must not exist unless --overwrite (exit 4). */
static cr_status write_emitted(cr_ctx *ctx, const run_args *a)
{
    const char *path = a->base.output;
    FILE *f = fopen(path, a->base.overwrite ? "w" : "wx");
    if (!f && errno == EEXIST)
        return cr_ctx_fail(ctx, CR_E_EXISTS, "-o '%s': the file exists (--overwrite replaces it)", path);
    if (!f)
        return cr_ctx_fail(ctx, CR_E_IO, "-o '%s': cannot create: %s", path, strerror(errno));
    const char *text = a->emitted ? a->emitted : "";
    int bad = fwrite(text, 1, strlen(text), f) != strlen(text);
    bad |= fclose(f) != 0;
    return bad ? cr_ctx_fail(ctx, CR_E_IO, "-o '%s': cannot write: %s", path, strerror(errno)) : CR_OK;
}

/* The plan in the --emit format into a->emitted: each stage run alone by a line naming the
 * pipeline by its absolute path, with the --set, --checksum and --force given to this run. */
static cr_status emit_plan(cr_ctx *ctx, run_args *a)
{
    char *path = realpath(a->files[0], NULL);
    if (!path)
        return cr_ctx_fail(ctx, CR_E_IO, "cannot resolve '%s': %s", a->files[0], strerror(errno));
    char **tail = NULL;
    for (char **s = a->sets; s && *s; s++) {
        tail = CSLAddString(tail, "--set");
        tail = CSLAddString(tail, *s);
    }
    if (a->checksum)
        tail = CSLAddString(tail, "--checksum");
    if (a->force)
        tail = CSLAddString(tail, "--force");
    size_t size = 0;
    FILE *out = open_memstream(&a->emitted, &size);
    cr_status st = out ? emitter(a->emit)(ctx, a->p, path, tail, out) : cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    if (out && fclose(out) != 0 && st == CR_OK)
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    CSLDestroy(tail);
    free(path);
    return st == CR_OK && a->base.output ? write_emitted(ctx, a) : st;
}

/* --plan and --emit: what would run, for people, scripts or another engine; nothing runs. */
static cr_status show(cr_ctx *ctx, run_args *a, cr_command_result *result)
{
    if (a->emit)
        return emit_plan(ctx, a);
    if (a->base.json && !(result->json = cr_pl_plan_json(a->p)))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    return CR_OK;
}

static cr_status run(cr_ctx *ctx, void *opts, const cr_command_call *call, cr_command_result *result)
{
    run_args *a = opts;
    /* What --emit writes runs elsewhere (Snakemake's folder, a cluster node): every path in it
     * absolute, so the pipeline is read by its absolute path. */
    char *absolute = a->emit ? realpath(a->files[0], NULL) : NULL;
    cr_status st = cr_pipeline_load(ctx, absolute ? absolute : a->files[0], a->sets, &a->p);
    free(absolute);
    if (st == CR_OK)
        a->p->content_hash = a->checksum;
    const char *slash = strrchr(a->files[0], '/');
    a->dir = slash ? strndup(a->files[0], slash == a->files[0] ? 1 : (size_t)(slash - a->files[0])) : NULL;
    /* Every stage's options, read by its own command, before anything runs. */
    for (int i = 0; st == CR_OK && i < a->p->nstages && !stopping(call); i++)
        st = strcmp(a->p->stage[i].command, "exec") == 0 ? cr_pl_exec_check(ctx, a->p, &a->p->stage[i], a->dir)
                                                         : check_stage(ctx, a->p, i);
    if (st == CR_OK && (a->show_plan || a->emit))
        return show(ctx, a, result);
    int planned = 0;
    if (st == CR_OK && !stopping(call))
        st = plan(ctx, call, a, &planned, result);
    if (st == CR_OK && a->stage && !a->dry_run && a->runs[stage_named(a->p, a->stage)])
        st = check_stage_inputs(ctx, a->p, stage_named(a->p, a->stage));
    if (st != CR_OK)
        return st;
    if (stopping(call)) {
        say(call, CR_LOG_ERROR, "interrupted by %s before any stage ran", stopping(call));
        result->failure_said = 1;
        return cr_ctx_fail(ctx, CR_E_CANCELLED, "interrupted before any stage ran");
    }
    runner r = {.dir = a->dir, .slots = calloc((size_t)(a->p->nstages ? a->p->nstages : 1), sizeof *r.slots)};
    if (!r.slots)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.ended, NULL);
    if (!a->dry_run)
        st = run_stages(ctx, call, a, planned, result, &r);
    if (a->base.json) {
        json_object *stages = json_object_new_array();
        for (int i = 0; i < a->p->nstages; i++)
            json_object_array_add(stages, stage_entry(a, a->dry_run ? NULL : &r, i));
        result->json = document(a->p, stages);
    }
    for (int i = 0; i < a->p->nstages; i++) {
        json_object_put(r.slots[i].summary);
        free(r.slots[i].cause);
    }
    free(r.slots);
    pthread_mutex_destroy(&r.lock);
    pthread_cond_destroy(&r.ended);
    return st;
}

static void summarise(const void *opts, FILE *text, cr_command_result *result)
{
    const run_args *a = opts;
    const cr_pipeline *p = a->p;
    result->is_report = a->dry_run || a->show_plan || a->emit;
    if (a->emit) {
        if (!a->base.output)
            fputs(a->emitted ? a->emitted : "", text);
        return;
    }
    if (a->base.json)
        return; /* the run made its document */
    if (a->show_plan) {
        cr_pl_plan_text(p, text);
        return;
    }
    if (!a->dry_run)
        fprintf(text, "%d of %d stages ran, %d up to date\n", a->done, p->nstages, p->nstages - a->done);
    for (int i = 0; a->dry_run && i < p->nstages; i++)
        fprintf(text, "%-5s %s: %s\n", a->runs[i] ? "run" : "skip", p->stage[i].name, a->why[i]);
}

const cr_command cr_run_command = {
    .name = "run",
    .summary = "run a pipeline file: every stage, skipping those up to date",
    .synopsis = "PIPELINE.json [-j N] [--force] [--dry-run] [--only STAGE[,STAGE]]\n"
                "       [--set STAGE.OPTION=VALUE]... [--json]\n"
                "       PIPELINE.json --plan [--json] | --stage NAME [--force] | --emit jobs|snakemake|slurm\n"
                "       [-o FILE [--overwrite]]",
    .description =
        "Runs the stages of a pipeline file in the order their files need, like make: a stage\n"
        "runs when an output is missing, an input changed (size, time; --checksum: content),\n"
        "its options or the cityrisk version changed, or a stage it reads from runs. The state\n"
        "is kept with the outputs (.cityrisk/ in the first output's folder), never beside the\n"
        "pipeline file; outputs the pipeline made are its to replace, other files are not\n"
        "(exit 4; --force replaces them). Output folders are made.\n"
        "A stage is a command (inundation, arrivals, score, zonal, sensitivity, map, gather,\n"
        "report, mosaic) with its long options as keys (positional arguments by their name): {\"stage\": \"score\", \"sea\":\n"
        "\"out/inundation.tif\", ..., \"output\": \"out/exposure.tif\"}; true adds a flag, an\n"
        "array is joined with commas;\n"
        "or an external program: {\"exec\": [\"gdal_translate\", \"{input}\", \"{output}\"],\n"
        "\"input\": ..., \"output\": ...}, run without a shell. Relative paths resolve against\n"
        "the pipeline's folder. \"variables\": {\"scenario\": [...], \"weights\": {...}} at the\n"
        "top sweep: a stage using {NAME} runs once per combination of the variables it uses.\n"
        "Everything is checked before any stage runs (exit 3 naming the stage and key). -j N\n"
        "runs up to N independent stages at once (the cores shared out between them, outputs\n"
        "byte-identical); a failed stage starts nothing new and the run ends with its exit\n"
        "code. --threads N, --max-memory SIZE and -q apply to every stage (a stage's own\n"
        "\"threads\" and \"max-memory\" win; with -j N each stage gets 1/N of the budget).\n"
        "--plan prints every stage with its command line, files, level and the stages it\n"
        "waits for, and runs nothing; --stage NAME runs that stage alone (its inputs must\n"
        "exist: exit 3 naming the stage that makes one); --emit jobs prints one\n"
        "cityrisk run PIPELINE --stage NAME line per stage, by levels of the graph, for GNU\n"
        "parallel or xargs; --emit snakemake a Snakefile of one rule per stage; --emit slurm\n"
        "a bash script submitting one sbatch job array per level (afterok between levels);\n"
        "-o FILE writes what --emit prints to FILE instead. \"tiles\": N on an inundation,\n"
        "arrivals, score or zonal stage runs it as N --tile jobs and the step that joins them\n"
        "(mosaic, zonal --merge; inundation's --phase edges, join, depth), named NAME-tile-I,\n"
        "NAME-edges-I, NAME-join, NAME-depth-I, NAME-part-I; the join keeps the name NAME.\n"
        "Reference: docs/pipeline.md.",
    .examples = "  cityrisk run samples/pipeline.json\n"
                "  cityrisk run samples/pipeline.json --dry-run\n"
                "  cityrisk run samples/pipeline.json -j 2 --json > run.json\n"
                "  cityrisk run samples/pipeline.json --set score.method=arithmetic --only score,zonal\n"
                "  cityrisk run samples/pipeline.json --plan --json > plan.json\n"
                "  cityrisk run samples/pipeline.json --emit jobs > jobs.txt\n"
                "  cityrisk run samples/pipeline.json --emit snakemake -o Snakefile",
    .args = ARGS, .opts_size = sizeof(run_args),
    .init = init, .clear = clear, .check = check, .run = run, .summarise = summarise,
};
