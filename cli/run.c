/* run.c: `cityrisk run`: a pipeline file's stages, make-like. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cpl_string.h>

#include "cityrisk/json.h"
#include "cityrisk/pipeline.h"
#include "cli.h"

static const cli_usage USAGE = {
    "run",
    "PIPELINE.json [--force] [--dry-run] [--only STAGE[,STAGE]] [--set STAGE.OPTION=VALUE]...\n"
    "       [--json]",
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
    "  cityrisk run samples/pipeline.json\n"
    "  cityrisk run samples/pipeline.json --dry-run\n"
    "  cityrisk run samples/pipeline.json --set score.method=arithmetic --only score,zonal",
};

/* The commands a stage may run. */
static const struct {
    const char *name;
    int (*fn)(int, char **);
} COMMANDS[] = {
    {"inundation", cli_cmd_inundation},
    {"arrivals", cli_cmd_arrivals},
    {"score", cli_cmd_score},
    {"zonal", cli_cmd_zonal},
    {"map", cli_cmd_map},
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* Runs (or, with check_only, parses) stage s; returns the command's exit code. */
static int call_stage(const cr_pipeline *p, const cr_stage *s, int check_only, const cli_common *common,
                      json_object **figures)
{
    char label[512];
    snprintf(label, sizeof label, "pipeline '%s' stage %s", p->path, s->name);
    int (*fn)(int, char **) = NULL;
    for (size_t k = 0; k < sizeof COMMANDS / sizeof *COMMANDS; k++)
        if (strcmp(COMMANDS[k].name, s->command) == 0)
            fn = COMMANDS[k].fn;
    char **argv = CSLDuplicate(s->argv);
    /* Not recorded in the state file: neither changes any output. */
    if (common && common->quiet)
        argv = CSLAddString(argv, "-q");
    if (common && common->threads > 0) { /* before the stage's own options, which win */
        char threads[16];
        snprintf(threads, sizeof threads, "%d", common->threads);
        argv = CSLInsertStrings(argv, 1, (CSLConstList)(const char *const[]){"--threads", threads, NULL});
    }
    /* The stage's own --json summary, caught from stdout, gives its key figures. */
    FILE *caught = figures ? tmpfile() : NULL;
    int saved = -1;
    if (caught) {
        argv = CSLAddString(argv, "--json");
        fflush(stdout);
        saved = dup(STDOUT_FILENO);
        if (saved < 0 || dup2(fileno(caught), STDOUT_FILENO) < 0) {
            if (saved >= 0)
                close(saved);
            saved = -1;
        }
    }
    cli_run.stage = label;
    cli_run.check_only = check_only;
    int rc = fn ? fn(CSLCount(argv), argv) : CLI_EXIT_USAGE;
    if (saved >= 0) {
        fflush(stdout);
        dup2(saved, STDOUT_FILENO);
        close(saved);
        rewind(caught);
        char text[1 << 16];
        size_t n = fread(text, 1, sizeof text - 1, caught);
        text[n] = '\0';
        *figures = json_tokener_parse(text);
    }
    if (caught)
        fclose(caught);
    cli_run.stage = NULL;
    cli_run.check_only = 0;
    CSLDestroy(argv);
    return rc;
}

/* The exit code of a stop signal that came while the pipeline was checked or planned
 * (said on stderr), 0 when none did: nothing has run yet. */
static int stopped_before_any_stage(void)
{
    int sig = cli_stop_signal();
    if (sig)
        fprintf(stderr, "cityrisk run: interrupted by %s before any stage ran\n",
                sig == SIGINT ? "SIGINT" : "SIGTERM");
    return sig ? 128 + sig : 0;
}

/* 1 when stage s is one of --only's names (stage names or commands). */
static int selected(char **only, const cr_stage *s)
{
    if (!only)
        return 1;
    for (char **o = only; *o; o++) {
        size_t len = strlen(*o);
        if (strcmp(*o, s->name) == 0 || strcmp(*o, s->command) == 0 ||
            (strncmp(*o, s->name, len) == 0 && s->name[len] == '['))
            return 1;
    }
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

/* Prints --json's document, {"pipeline": ..., "stages": summary}, the same for a run and
 * a --dry-run; returns the exit code of printing it. */
static int print_summary(const cr_pipeline *p, json_object *summary)
{
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "pipeline", json_object_new_string(p->path));
    json_object_object_add(doc, "stages", json_object_get(summary));
    int rc = cli_print_json(&USAGE, doc);
    json_object_put(doc);
    return rc;
}

int cli_cmd_run(int argc, char **argv)
{
    int force = 0, dry_run = 0, json = 0;
    const char *only_text = NULL;
    char **sets = NULL, **only = NULL, **positional = NULL;
    int npositional = 0;
    const cli_option options[] = {
        {NULL, "--force", CLI_OPT_FLAG, &force, NULL, "run every stage, up to date or not"},
        {NULL, "--dry-run", CLI_OPT_FLAG, &dry_run, NULL, "print the plan: which stages would run and why"},
        {NULL, "--only", CLI_OPT_STRING, &only_text, "LIST", "run only these stages (names or commands)"},
        {NULL, "--set", CLI_OPT_LIST, &sets, "STAGE.OPTION=VALUE", "override an option of a stage"},
        {NULL, "--json", CLI_OPT_FLAG, &json, NULL, "print a summary of every stage as JSON on stdout"},
        {NULL, NULL, CLI_OPT_END, NULL, NULL, NULL},
    };
    cli_common common;
    int rc = CLI_EXIT_USAGE;
    cr_ctx *ctx = NULL;
    cr_pipeline *p = NULL;
    int *runs = NULL;
    json_object *summary = NULL;
    int parsed = cli_parse(&USAGE, options, argc, argv, &common, &positional, &npositional);
    if (parsed != 0) {
        rc = parsed > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
        goto out;
    }
    if (npositional != 1) {
        cli_usage_error(&USAGE, npositional ? "one pipeline file, not %d" : "no pipeline file given",
                        npositional);
        goto out;
    }
    ctx = cli_context(&USAGE, &common, argc, argv);
    if (!ctx) {
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    cr_status st = cr_pipeline_load(ctx, positional[0], sets, &p);
    if (st != CR_OK) {
        rc = cli_fail(&USAGE, ctx, st);
        goto out;
    }
    /* Every stage's options, parsed by its own command, before anything runs. */
    for (int i = 0; i < p->nstages; i++) {
        int stopped = stopped_before_any_stage();
        if (stopped) {
            rc = stopped;
            goto out;
        }
        if (call_stage(p, &p->stage[i], 1, NULL, NULL) != CLI_EXIT_OK) {
            rc = CLI_EXIT_DATA;
            goto out;
        }
    }
    only = only_text ? CSLTokenizeString2(only_text, ",", 0) : NULL;
    for (char **o = only; o && *o; o++) {
        int known = 0;
        for (int i = 0; i < p->nstages && !known; i++)
            known = selected((char *[]){*o, NULL}, &p->stage[i]);
        if (!known) {
            cli_usage_error(&USAGE, "--only: the pipeline has no stage '%s'", *o);
            goto out;
        }
    }
    runs = calloc((size_t)(p->nstages ? p->nstages : 1), sizeof *runs);
    char (*why)[512] = calloc((size_t)(p->nstages ? p->nstages : 1), sizeof *why);
    if (!runs || !why) {
        free(why);
        fprintf(stderr, "cityrisk run: out of memory\n");
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    int planned = 0;
    for (int i = 0; i < p->nstages; i++) {
        if (!selected(only, &p->stage[i])) {
            snprintf(why[i], sizeof why[i], "not selected by --only");
            continue;
        }
        cr_stage_state state = cr_pipeline_stage_state(p, i, runs, why[i], sizeof why[i]);
        if (force)
            snprintf(why[i], sizeof why[i], "--force");
        runs[i] = force || state != CR_STAGE_UP_TO_DATE;
        planned += runs[i];
    }
    summary = json_object_new_array();
    int stopped = stopped_before_any_stage();
    if (stopped) {
        rc = stopped;
        free(why);
        goto out;
    }
    if (dry_run) {
        for (int i = 0; i < p->nstages; i++) {
            if (json)
                json_object_array_add(summary, stage_json(&p->stage[i], runs[i] ? "would run" : "skip",
                                                          why[i], 0.0, -1));
            else
                printf("%-5s %s: %s\n", runs[i] ? "run" : "skip", p->stage[i].name, why[i]);
        }
        free(why);
        rc = json ? print_summary(p, summary) : cli_finish_stdout(&USAGE);
        goto out;
    }
    cli_run.progress = !common.quiet && isatty(STDERR_FILENO) && planned > 0;
    int done = 0;
    rc = CLI_EXIT_OK;
    for (int i = 0; i < p->nstages; i++) {
        if (!runs[i]) {
            json_object_array_add(summary, stage_json(&p->stage[i], "skipped", why[i], 0.0, -1));
            continue;
        }
        if (cli_stop_signal()) { /* came between two stages */
            fprintf(stderr, "cityrisk run: interrupted before stage %s; the outputs of the stages "
                            "before it are kept\n",
                    p->stage[i].name);
            rc = 128 + cli_stop_signal();
            break;
        }
        if (!common.quiet && !cli_run.progress)
            fprintf(stderr, "cityrisk run: %s (%s)\n", p->stage[i].name, why[i]);
        cli_run.from = (double)done / planned;
        cli_run.to = (double)(done + 1) / planned;
        double start = now();
        json_object *figures = NULL;
        cli_forget_error();
        int code = call_stage(p, &p->stage[i], 0, &common, json ? &figures : NULL);
        double seconds = now() - start;
        json_object *entry = stage_json(&p->stage[i], code == 0 ? "ran" : "failed", why[i], seconds, code);
        if (figures)
            json_object_object_add(entry, "summary", figures);
        if (code != CLI_EXIT_OK && *cli_last_error())
            json_object_object_add(entry, "error", json_object_new_string(cli_last_error()));
        json_object_array_add(summary, entry);
        if (code != CLI_EXIT_OK) {
            /* the cause again, so that the last line of a log says it all */
            fprintf(stderr, "cityrisk run: stage %s %s (exit %d)%s%s; the outputs of the stages "
                            "before it are kept\n",
                    p->stage[i].name, cli_stop_signal() ? "was interrupted" : "failed", code,
                    *cli_last_error() ? ": " : "", cli_last_error());
            rc = code;
            break;
        }
        st = cr_pipeline_record(ctx, p, i);
        if (st != CR_OK) {
            rc = cli_fail(&USAGE, ctx, st);
            break;
        }
        done++;
    }
    free(why);
    if (json) {
        int prc = print_summary(p, summary);
        if (rc == CLI_EXIT_OK)
            rc = prc;
    } else if (!common.quiet && rc == CLI_EXIT_OK) {
        fprintf(stderr, "cityrisk run: %d of %d stages ran, %d up to date\n", done, p->nstages,
                p->nstages - done);
    }
out:
    json_object_put(summary);
    free(runs);
    cr_pipeline_free(p);
    cr_ctx_free(ctx);
    CSLDestroy(sets);
    CSLDestroy(only);
    free(positional);
    cli_run = (cli_run_state){0};
    return rc;
}
