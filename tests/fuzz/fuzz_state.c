/* fuzz_state.c: pipeline state files (what cr_pipeline_load reads into each stage's
 * record, and cr_pipeline_record rewrites).
 *
 * Input: the bytes of the state file of a fixed pipeline of four stages (a scenario sweep
 * among them) whose inputs and outputs exist with fixed sizes and times, so that only the
 * state decides whether a stage is up to date. The state names files by their canonical
 * paths, which hold the scratch folder, and records the version of cityrisk: in the input,
 * "@DIR@" stands for the scratch folder and "@VERSION@" for cr_version(), so that a seed
 * (corpus/state/up-to-date.json) can record every stage up to date on any machine. The
 * target works in its scratch folder (and returns to the folder it was started in between
 * inputs, where libFuzzer keeps its files). Whatever the state holds: the pipeline loads;
 * a state that cannot be used is reported (a warning) and treated as absent (no stage has
 * a record); a usable one gives each stage the arguments recorded under its name; deciding
 * what runs never fails, says "no record" exactly for the stages without one, and "up to
 * date" only for a record of the stage's canonical arguments; recording a stage writes a
 * state that loads again without a warning, in which that stage is up to date and the
 * other stages keep what a usable state recorded for them (and have nothing from an
 * unusable one). */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cpl_string.h>
#include <json-c/json.h>

#include "cityrisk/context.h"
#include "cityrisk/pipeline.h"
#include "pipeline/internal.h"

/* The canonical arguments the state records of stage s, NULL when none. */
#define RECORDED(s) ((s)->record ? (s)->record->argv : NULL)
#include "fuzzutil.h"

static const char PIPELINE[] =
    "{\"scenarios\": [\"s1\", \"s2\"], \"stages\": [\n"
    " {\"stage\": \"arrivals\", \"name\": \"a\", \"points\": \"points.csv\", \"grid\": \"dem.tif\",\n"
    "  \"output\": \"a.tif\"},\n"
    " {\"stage\": \"score\", \"name\": \"score-{scenario}\", \"scenario\": \"{scenario}\",\n"
    "  \"sea\": \"dem.tif\", \"arrivals\": \"a.tif\", \"output\": \"e-{scenario}.tif\"},\n"
    " {\"stage\": \"map\", \"raster\": \"e-s1.tif\", \"title\": \"\\u00e9t\\u00e9\", \"output\": \"m.png\"}]}\n";

/* The pipeline, named from inside the scratch folder: its stages' arguments hold relative
 * paths, the same in every run, so that seeds can record them. */
static const char path[] = "pipeline.json";
static const char state[] = ".cityrisk/pipeline.json.state.json"; /* beside its first output */
static char scratch[4096]; /* the scratch folder, resolved: what "@DIR@" stands for */
static char warned[1024]; /* the first warning of the last load */
static int started = -1;  /* the folder the target was started in */

static void enter_scratch(void)
{
    if (started < 0 && (started = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        fz_fail("cannot open the working folder");
    if (chdir(fz_dir()) != 0)
        fz_fail("cannot enter %s", fz_dir());
}

static void leave_scratch(void)
{
    if (fchdir(started) != 0)
        fz_fail("cannot return to the working folder");
}

static void keep_warning(void *arg, cr_log_level level, const char *msg)
{
    (void)arg;
    if (level <= CR_LOG_WARNING && !warned[0])
        snprintf(warned, sizeof warned, "%s", msg);
}

static cr_pipeline *load(cr_ctx *ctx)
{
    warned[0] = '\0';
    cr_ctx_set_log(ctx, keep_warning, NULL, CR_LOG_WARNING);
    cr_pipeline *p = NULL;
    cr_status st = cr_pipeline_load(ctx, path, NULL, &p);
    FZ_CHECK(st == CR_OK && p, "the pipeline did not load (%d): %s", (int)st, cr_ctx_error(ctx));
    FZ_CHECK(!*cr_ctx_error(ctx), "an error left after loading: %s", cr_ctx_error(ctx));
    FZ_CHECK(p->nstages == 4, "%d stages", p->nstages);
    return p;
}

/* Sets the modification time of the file at name in the scratch folder. */
static void touch(const char *name, time_t when)
{
    char file[4300];
    snprintf(file, sizeof file, "%s/%s", fz_dir(), name);
    struct timespec times[2] = {{when, 0}, {when, 0}};
    if (utimensat(AT_FDCWD, file, times, 0) != 0)
        fz_fail("cannot set the time of %s", file);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char *const inputs[] = {"dem.tif", "points.csv"};
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        fz_write(inputs[i], (const uint8_t *)"", 0);
        touch(inputs[i], 1000000000);
    }
    fz_write(path, (const uint8_t *)PIPELINE, strlen(PIPELINE));
    char hidden[4300];
    snprintf(hidden, sizeof hidden, "%s/.cityrisk", fz_dir());
    if (mkdir(hidden, 0777) != 0 && errno != EEXIST)
        fz_fail("cannot make %s", hidden);
    if (!realpath(fz_dir(), scratch))
        fz_fail("cannot resolve %s", fz_dir());
    enter_scratch();
    /* every output (styles too), newer than the inputs */
    cr_ctx *ctx = fz_ctx();
    cr_pipeline *p = load(ctx);
    for (int i = 0; i < p->nstages; i++)
        for (char **o = p->stage[i].outputs; o && *o; o++) {
            const char *name = strrchr(*o, '/') ? strrchr(*o, '/') + 1 : *o;
            fz_write(name, (const uint8_t *)"", 0);
            touch(name, 1500000000);
        }
    cr_pipeline_free(p);
    leave_scratch();
    return 0;
}

static int same_list(char **a, char **b)
{
    if (!a || !b)
        return !a && !b;
    for (; *a && *b; a++, b++)
        if (strcmp(*a, *b) != 0)
            return 0;
    return !*a && !*b;
}

/* data with "@DIR@" and "@VERSION@" replaced, in *size; free() it. */
static uint8_t *expand(const uint8_t *data, size_t *size)
{
    static const char *const from[] = {"@DIR@", "@VERSION@"};
    const char *to[] = {scratch, cr_version()};
    size_t n = *size, cap = n + 1;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 2; k++)
            if (n - i >= strlen(from[k]) && memcmp(data + i, from[k], strlen(from[k])) == 0)
                cap += strlen(to[k]);
    uint8_t *out = malloc(cap), *o = out;
    if (!out)
        fz_fail("out of memory");
    for (size_t i = 0; i < n;) {
        int k = 0;
        while (k < 2 && !(n - i >= strlen(from[k]) && memcmp(data + i, from[k], strlen(from[k])) == 0))
            k++;
        if (k < 2) {
            memcpy(o, to[k], strlen(to[k]));
            o += strlen(to[k]);
            i += strlen(from[k]);
        } else {
            *o++ = data[i++];
        }
    }
    *size = (size_t)(o - out);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t input_size)
{
    cr_ctx *ctx = fz_ctx();
    size_t size = input_size;
    uint8_t *data = expand(input, &size);
    fz_write(state, data, size);
    enter_scratch();
    cr_pipeline *p = load(ctx);
    int usable = !warned[0];
    FZ_CHECK(usable || strstr(warned, "treated as absent, so every stage runs"), "warning: %s", warned);
    char **before[4] = {NULL};
    int had[4] = {0}; /* a record, maybe empty: CSLDuplicate() makes NULL of an empty list */
    int runs[4] = {0};
    char why[512];
    for (int i = 0; i < p->nstages; i++) {
        const cr_stage *s = &p->stage[i];
        FZ_CHECK(usable || !RECORDED(s), "stage %s has arguments from an unusable state", s->name);
        cr_stage_state ss = cr_pipeline_stage_state(p, i, runs, why, sizeof why);
        FZ_CHECK(ss != CR_STAGE_UPSTREAM && ss != CR_STAGE_NO_OUTPUT, "stage %s: state %d (%s)", s->name, (int)ss,
                 why);
        FZ_CHECK((ss == CR_STAGE_NO_RECORD) == !RECORDED(s), "stage %s: state %d (%s), recorded %s", s->name,
                 (int)ss, why, RECORDED(s) ? "something" : "nothing");
        FZ_CHECK(ss != CR_STAGE_UP_TO_DATE || same_list(RECORDED(s), s->canonical),
                 "stage %s: up to date with other arguments", s->name);
        before[i] = CSLDuplicate(RECORDED(s));
        had[i] = RECORDED(s) != NULL;
    }
    /* the recorded arguments are those of the file: json-c agrees when it is usable */
    if (usable && size > 0) {
        size_t skip = size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        json_tokener *tok = json_tokener_new();
        json_object *doc = json_tokener_parse_ex(tok, (const char *)data + skip, (int)(size - skip));
        if (!doc && json_tokener_get_error(tok) == json_tokener_continue)
            doc = json_tokener_parse_ex(tok, "", 1);
        FZ_CHECK(doc, "a usable state json-c does not parse");
        json_object *stages = NULL;
        FZ_CHECK(json_object_object_get_ex(doc, "stages", &stages), "a usable state without stages");
        for (int i = 0; i < p->nstages; i++) {
            json_object *entry = NULL, *argv = NULL;
            int has = json_object_object_get_ex(stages, p->stage[i].name, &entry) &&
                      json_object_object_get_ex(entry, "argv", &argv);
            /* a stage the file does not name may still have a record: the one whose outputs
             * include its first output (a renamed stage keeps its record) */
            FZ_CHECK(!has || RECORDED(&p->stage[i]) != NULL, "stage %s: recorded %d, in the file %d",
                     p->stage[i].name, RECORDED(&p->stage[i]) != NULL, has);
            for (size_t k = 0; has && k < json_object_array_length(argv); k++) {
                json_object *item = json_object_array_get_idx(argv, k);
                FZ_CHECK(RECORDED(&p->stage[i])[k] &&
                             (size_t)json_object_get_string_len(item) == strlen(RECORDED(&p->stage[i])[k]) &&
                             strcmp(json_object_get_string(item), RECORDED(&p->stage[i])[k]) == 0,
                         "stage %s: argument %zu differs from the file's", p->stage[i].name, k + 1);
            }
        }
        json_object_put(doc);
        json_tokener_free(tok);
    }
    /* record the stage picked by the first byte; the state then loads cleanly */
    int chosen = size ? data[0] % 4 : 0;
    cr_status st = cr_pipeline_record(ctx, p, chosen);
    FZ_CHECK(st == CR_OK, "recording stage %d failed: %s", chosen, cr_ctx_error(ctx));
    char name[512];
    snprintf(name, sizeof name, "%s", p->stage[chosen].name);
    cr_pipeline_free(p);
    p = load(ctx);
    FZ_CHECK(!warned[0], "the state recorded does not load: %s", warned);
    for (int i = 0; i < p->nstages; i++) {
        const cr_stage *s = &p->stage[i];
        if (strcmp(s->name, name) == 0)
            FZ_CHECK(cr_pipeline_stage_state(p, i, runs, why, sizeof why) == CR_STAGE_UP_TO_DATE,
                     "stage %s just recorded: %s", s->name, why);
        else
            FZ_CHECK((RECORDED(s) != NULL) == had[i] &&
                         (!had[i] || same_list(RECORDED(s), before[i] ? before[i] : (char *[]){NULL})),
                     "stage %s lost or gained its record", s->name);
    }
    for (int i = 0; i < 4; i++)
        CSLDestroy(before[i]);
    cr_pipeline_free(p);
    leave_scratch();
    free(data);
    return 0;
}
