/* test_pipeline.c: pipeline files and their state: what is refused, the order of the
 * stages, the state read once and recorded, what makes a stage run, which outputs a stage
 * may replace, reading cancelled. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cpl_string.h>

#include "cityrisk/pipeline.h"
#include "pipeline/internal.h" /* struct cr_stage_record */

/* A folder with the inputs the pipelines below read (empty files: loading only checks
 * that they exist), and an out/ folder. */
typedef struct fixture {
    char *dir;
    char path[4096]; /* its pipeline.json */
    char log[4096];  /* the warnings logged, one a line */
} fixture;

static void keep_log(void *arg, cr_log_level level, const char *msg)
{
    fixture *f = arg;
    (void)level;
    size_t n = strlen(f->log);
    snprintf(f->log + n, sizeof f->log - n, "%s\n", msg);
}

static fixture *fixture_new(void)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tu_mkdtemp();
    free(tu_write_file(f->dir, "dem.tif", "x"));
    free(tu_write_file(f->dir, "points.csv", "x"));
    char *out = tu_path(f->dir, "out");
    assert_int_equal(mkdir(out, 0777), 0);
    free(out);
    snprintf(f->path, sizeof f->path, "%s/pipeline.json", f->dir);
    return f;
}

static void fixture_free(fixture *f)
{
    char *out = tu_path(f->dir, "out");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", out); /* out/ and what the tests put there */
    assert_int_equal(system(cmd), 0);
    free(out);
    char *link = tu_path(f->dir, "link");
    unlink(link);
    free(link);
    tu_rmdir(f->dir);
    free(f);
}

/* Writes the pipeline text and loads it; returns the status, the pipeline in *p. */
static cr_status load(fixture *f, cr_ctx *ctx, const char *text, cr_pipeline **p)
{
    FILE *fh = fopen(f->path, "wb");
    assert_non_null(fh);
    fputs(text, fh);
    fclose(fh);
    f->log[0] = '\0';
    cr_ctx_clear_error(ctx);
    cr_ctx_set_log(ctx, keep_log, f, CR_LOG_WARNING);
    return cr_pipeline_load(ctx, f->path, NULL, p);
}

/* The state of the pipelines below, whose first output is in out/. */
static char *state_file(fixture *f)
{
    char *hidden = tu_path(f->dir, "out/.cityrisk");
    mkdir(hidden, 0777);
    free(hidden);
    return tu_path(f->dir, "out/.cityrisk/pipeline.json.state.json");
}

static void write_state(fixture *f, const char *text)
{
    char *state = state_file(f);
    FILE *fh = fopen(state, "wb");
    assert_non_null(fh);
    fputs(text, fh);
    fclose(fh);
    free(state);
}

#define ARRIVALS(NAME, GRID, OUTPUT)                                                               \
    "{\"stage\": \"arrivals\", \"name\": \"" NAME "\", \"points\": \"points.csv\", \"grid\": \"" GRID \
    "\", \"output\": \"" OUTPUT "\", \"qml\": false}"

static int index_of(const cr_pipeline *p, const char *name)
{
    for (int i = 0; i < p->nstages; i++)
        if (strcmp(p->stage[i].name, name) == 0)
            return i;
    fail_msg("no stage %s", name);
    return -1;
}

static void stages_run_in_file_order_after_what_they_read(void **state)
{
    (void)state;
    fixture *f = fixture_new();
    cr_ctx *ctx = cr_ctx_new();
    cr_pipeline *p = NULL;
    /* x reads z's output: of the stages ready, the first in the file runs first */
    assert_int_equal(load(f, ctx,
                          "{\"stages\": [" ARRIVALS("x", "out/z.tif", "out/x.tif") ","
                          ARRIVALS("y", "dem.tif", "out/y.tif") "," ARRIVALS("z", "dem.tif", "out/z.tif") ","
                          ARRIVALS("w", "./out/../out/x.tif", "out/w.tif") "]}",
                          &p),
                     CR_OK);
    assert_int_equal(p->nstages, 4);
    const char *order[] = {"y", "z", "x", "w"};
    for (int i = 0; i < 4; i++)
        assert_string_equal(p->stage[i].name, order[i]);
    assert_int_equal(p->stage[2].ndeps, 1);
    assert_int_equal(p->stage[2].deps[0], index_of(p, "z"));
    assert_int_equal(p->stage[3].ndeps, 1); /* x's output spelled otherwise */
    assert_int_equal(p->stage[3].deps[0], index_of(p, "x"));
    cr_pipeline_free(p);
    cr_ctx_free(ctx);
    fixture_free(f);
}

/* A CSL's item i, or fails. */
static const char *item(char **list, int i)
{
    assert_true(i < CSLCount(list));
    return list[i];
}

/* --vlm RASTER|VALUE (CR_ARGF_NUMBER_OR_PATH): a number, as JSON or as text, is a value,
 * passed as written and no input; anything else is an input file like --dem, resolved
 * beside the pipeline file. */
static void a_number_or_path_is_an_input_unless_a_number(void **state)
{
    (void)state;
    fixture *f = fixture_new();
    free(tu_write_file(f->dir, "vlm.tif", "x"));
    cr_ctx *ctx = cr_ctx_new();
    cr_pipeline *p = NULL;
#define FLOOD(NAME, VLM)                                                                           \
    "{\"stage\": \"inundation\", \"name\": \"" NAME "\", \"dem\": \"dem.tif\", \"sea-level\": 1, "      \
    "\"vlm\": " VLM ", \"vlm-unit\": \"m\", \"output\": \"out/" NAME ".tif\", \"qml\": false}"
    assert_int_equal(load(f, ctx,
                          "{\"stages\": [" FLOOD("n", "-2") "," FLOOD("t", "\"-0.5e-1\"") ","
                          FLOOD("r", "\"vlm.tif\"") "]}",
                          &p),
                     CR_OK);
#undef FLOOD
    char *dem = tu_path(f->dir, "dem.tif"), *vlm = tu_path(f->dir, "vlm.tif");
    const char *values[] = {"-2", "-0.5e-1"};
    for (int i = 0; i < 2; i++) {
        const cr_stage *s = &p->stage[index_of(p, i ? "t" : "n")];
        assert_int_equal(CSLCount(s->inputs), 1);
        assert_string_equal(s->inputs[0], dem);
        int at = CSLFindString(s->argv, "--vlm");
        assert_true(at > 0);
        assert_string_equal(item(s->argv, at + 1), values[i]);
        at = CSLFindString(s->canonical, "--vlm");
        assert_string_equal(item(s->canonical, at + 1), values[i]);
    }
    const cr_stage *r = &p->stage[index_of(p, "r")];
    assert_int_equal(CSLCount(r->inputs), 2);
    assert_true(CSLFindString(r->inputs, vlm) >= 0);
    assert_string_equal(item(r->argv, CSLFindString(r->argv, "--vlm") + 1), vlm);
    assert_string_equal(item(r->written, CSLFindString(r->written, "--vlm") + 1), "vlm.tif");
    free(dem);
    free(vlm);
    cr_pipeline_free(p);
    cr_ctx_free(ctx);
    fixture_free(f);
}

static void cycles_and_self_dependence_are_refused(void **state)
{
    (void)state;
    fixture *f = fixture_new();
    cr_ctx *ctx = cr_ctx_new();
    cr_pipeline *p = NULL;
    assert_int_equal(load(f, ctx, "{\"stages\": [" ARRIVALS("a", "out/a.tif", "out/a.tif") "]}", &p), CR_E_DATA);
    assert_null(p);
    assert_non_null(strstr(cr_ctx_error(ctx), "stage a reads"));
    assert_non_null(strstr(cr_ctx_error(ctx), "which it writes itself: a cycle"));
    assert_int_equal(load(f, ctx,
                          "{\"stages\": [" ARRIVALS("a", "out/b.tif", "out/a.tif") ","
                          ARRIVALS("b", "out/a.tif", "out/b.tif") "]}",
                          &p),
                     CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(ctx), "stage a depends on its own output through a cycle"));
    cr_ctx_free(ctx);
    fixture_free(f);
}

static void one_file_written_by_two_stages_is_refused(void **state)
{
    (void)state;
    fixture *f = fixture_new();
    cr_ctx *ctx = cr_ctx_new();
    cr_pipeline *p = NULL;
    /* through a symlinked folder */
    char *link = tu_path(f->dir, "link");
    assert_int_equal(symlink("out", link), 0);
    free(link);
    assert_int_equal(load(f, ctx,
                          "{\"stages\": [" ARRIVALS("a", "dem.tif", "out/q.tif") ","
                          ARRIVALS("b", "dem.tif", "link/q.tif") "]}",
                          &p),
                     CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(ctx), "stages a and b write one file"));
    assert_non_null(strstr(cr_ctx_error(ctx), "/link/q.tif'"));
    /* styles: on by default, named as cr_qml_path() names them */
    assert_int_equal(load(f, ctx,
                          "{\"stages\": [{\"stage\": \"arrivals\", \"points\": \"points.csv\", "
                          "\"grid\": \"dem.tif\", \"output\": \"out/.hidden\"}]}",
                          &p),
                     CR_OK);
    assert_int_equal(CSLCount(p->stage[0].outputs), 2);
    assert_non_null(strstr(p->stage[0].outputs[1], "/out/.hidden.qml"));
    cr_pipeline_free(p);
    /* a report gets no style (the command writes none) */
    assert_int_equal(load(f, ctx,
                          "{\"stages\": [{\"stage\": \"arrivals\", \"points\": \"points.csv\", "
                          "\"grid\": \"dem.tif\", \"output\": \"out/a.tif\", \"report\": \"out/r.txt\"}]}",
                          &p),
                     CR_OK);
    assert_int_equal(CSLCount(p->stage[0].outputs), 3);
    assert_non_null(strstr(p->stage[0].outputs[2], "/out/a.qml"));
    cr_pipeline_free(p);
    cr_ctx_free(ctx);
    fixture_free(f);
}

static void nul_bom_and_the_scan_follow_json_c(void **state)
{
    (void)state;
    fixture *f = fixture_new();
    cr_ctx *ctx = cr_ctx_new();
    cr_pipeline *p = NULL;
    /* a byte-order mark is skipped */
    assert_int_equal(load(f, ctx, "\xEF\xBB\xBF{\"stages\": []}", &p), CR_OK);
    cr_pipeline_free(p);
    /* \u0000 in a string, also in single quotes, after a comment holding a quote */
    const char *nul[] = {
        "{\"stages\": [], \"description\": \"a\\u0000b\"}",
        "{\"stages\": [], 'description': 'it\"s \\u0000'}",
        "// it's\n{\"stages\": [], \"description\": \"\\u0000\"}",
        "/* \" */ {\"stages\": [], \"description\": \"x\\\\\\u0000\"}",
    };
    for (size_t i = 0; i < sizeof nul / sizeof *nul; i++) {
        assert_int_equal(load(f, ctx, nul[i], &p), CR_E_DATA);
        assert_non_null(strstr(cr_ctx_error(ctx), "\\u0000 (NUL)"));
    }
    assert_non_null(strstr(cr_ctx_error(ctx), "line 1:"));
    /* what only looks like \u0000, or like containers, is fine */
    assert_int_equal(load(f, ctx, "{\"stages\": [], \"description\": \"\\\\u0000 {[{[,:\"}", &p), CR_OK);
    cr_pipeline_free(p);
    assert_int_equal(load(f, ctx, "{\"stages\": [], \"description\": \"\\u0001\"}", &p), CR_OK);
    cr_pipeline_free(p);
    /* errors name the line */
    assert_int_equal(load(f, ctx, "{\"stages\": [],\n\n\"x\" 1}", &p), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(ctx), "is not valid JSON: line 3:"));
    assert_int_equal(load(f, ctx, "{\"stages\": []}\n\n  x", &p), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(ctx), "line 3: text after the end of its value"));
    assert_int_equal(load(f, ctx, "{\"stages\": [", &p), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(ctx), "is not valid JSON"));
    cr_ctx_free(ctx);
    fixture_free(f);
}

static void expansion_is_bounded(void **state)
{
    (void)state;
    fixture *f = fixture_new();
    cr_ctx *ctx = cr_ctx_new();
    cr_pipeline *p = NULL;
    /* 1000 scenarios of 1000 bytes, their list 4000 times in each of 1000 stages: 4 TB */
    size_t n = 1000, name = 1000, size = n * (name + 3) + 100000;
    char *text = malloc(size), *o = text;
    assert_non_null(text);
    o += sprintf(o, "{\"scenarios\": [");
    for (size_t i = 0; i < n; i++)
        o += sprintf(o, "%s\"%0*zu\"", i ? "," : "", (int)name, i);
    o += sprintf(o, "], \"stages\": [{\"stage\": \"map\", \"name\": \"m{scenario}\", \"title\": \"");
    for (int i = 0; i < 4000; i++)
        o += sprintf(o, "{scenarios}");
    sprintf(o, "\"}]}");
    assert_int_equal(load(f, ctx, text, &p), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(ctx), "take more than the 32 MiB a pipeline may"));
    free(text);
    cr_ctx_free(ctx);
    fixture_free(f);
}

/* Makes every output of the stages, empty. */
static void make_outputs(fixture *f, const cr_pipeline *p)
{
    for (int i = 0; i < p->nstages; i++)
        for (char **o = p->stage[i].outputs; o && *o; o++) {
            (void)f;
            FILE *fh = fopen(*o, "wb");
            assert_non_null(fh);
            fclose(fh);
        }
}

static cr_stage_state state_of(const cr_pipeline *p, int i)
{
    int runs[8] = {0};
    char why[512];
    return cr_pipeline_stage_state(p, i, runs, why, sizeof why);
}

static void a_state_that_cannot_be_used_is_reported_and_absent(void **state)
{
    (void)state;
    fixture *f = fixture_new();
    cr_ctx *ctx = cr_ctx_new();
    cr_pipeline *p = NULL;
    const char *text =
        "{\"stages\": [" ARRIVALS("a", "dem.tif", "out/a.tif") "," ARRIVALS("b", "dem.tif", "out/b.tif") "]}";
    assert_int_equal(load(f, ctx, text, &p), CR_OK);
    make_outputs(f, p);
    assert_int_equal(state_of(p, 0), CR_STAGE_NO_RECORD); /* no state yet */
    assert_int_equal(cr_pipeline_record(ctx, p, 0), CR_OK);
    assert_int_equal(cr_pipeline_record(ctx, p, 1), CR_OK);
    cr_pipeline_free(p);
    assert_int_equal(load(f, ctx, text, &p), CR_OK);
    assert_string_equal(f->log, "");
    assert_int_equal(state_of(p, 0), CR_STAGE_UP_TO_DATE);
    assert_int_equal(state_of(p, 1), CR_STAGE_UP_TO_DATE);
    cr_pipeline_free(p);
    const char *bad[] = {
        "{\"a\": {\"argv\": [\"arrivals\", null]}}", /* segfaulted */
        "{\"a\": {\"argv\": \"arrivals\"}}",
        "{\"a\": []}",
        "[]",
        "{\"a\": ",
        "",
        "{\"a\": {\"argv\": [\"arri\\u0000vals\"]}}",
        /* the shape of issue 19, broken */
        "{\"cityrisk_state\": 3, \"pipeline\": \"p\", \"stages\": {}}",
        "{\"cityrisk_state\": 2, \"stages\": {}}",
        "{\"cityrisk_state\": 2, \"pipeline\": \"p\", \"stages\": []}",
        "{\"cityrisk_state\": 2, \"pipeline\": \"p\", \"stages\": {\"a\": {\"argv\": [], \"inputs\": {}, "
        "\"outputs\": {}}}}",
        "{\"cityrisk_state\": 2, \"pipeline\": \"p\", \"stages\": {\"a\": {\"argv\": [], \"version\": \"1\", "
        "\"inputs\": {\"x\": {\"size\": -1, \"mtime_ns\": 0}}, \"outputs\": {}}}}",
        "{\"cityrisk_state\": 2, \"pipeline\": \"p\", \"stages\": {\"a\": {\"argv\": [], \"version\": \"1\", "
        "\"inputs\": {}, \"outputs\": {\"x\": {\"size\": 1, \"mtime_ns\": 1.5}}}}}",
        "{\"cityrisk_state\": 2, \"pipeline\": \"p\", \"stages\": {\"a\": {\"argv\": [], \"version\": \"1\", "
        "\"inputs\": {\"x\": {\"size\": 1, \"mtime_ns\": 1, \"hash\": \"XYZ\"}}, \"outputs\": {}}}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_state(f, bad[i]);
        assert_int_equal(load(f, ctx, text, &p), CR_OK);
        assert_non_null(strstr(f->log, "treated as absent, so every stage runs"));
        assert_null(p->stage[0].record);
        assert_null(p->stage[1].record);
        assert_int_equal(state_of(p, 1), CR_STAGE_NO_RECORD);
        assert_string_equal(cr_ctx_error(ctx), "");
        /* recording replaces it, keeping nothing of it */
        assert_int_equal(cr_pipeline_record(ctx, p, 1), CR_OK);
        cr_pipeline_free(p);
        assert_int_equal(load(f, ctx, text, &p), CR_OK);
        assert_string_equal(f->log, "");
        assert_null(p->stage[0].record);
        assert_int_equal(state_of(p, 1), CR_STAGE_UP_TO_DATE);
        cr_pipeline_free(p);
    }
    /* a device is neither read nor replaced */
    char *state_path = state_file(f);
    unlink(state_path);
    assert_int_equal(symlink("/dev/zero", state_path), 0);
    assert_int_equal(load(f, ctx, text, &p), CR_OK);
    assert_non_null(strstr(f->log, "is not a regular file (a character device): treated as absent, so "
                                   "every stage runs, and no state is recorded there"));
    assert_int_equal(cr_pipeline_record(ctx, p, 0), CR_OK);
    char target[64] = "";
    assert_int_equal(readlink(state_path, target, sizeof target - 1), 9);
    assert_string_equal(target, "/dev/zero");
    unlink(state_path);
    free(state_path);
    cr_pipeline_free(p);
    cr_ctx_free(ctx);
    fixture_free(f);
}

/* The whole text of the file at path, to free(). */
static char *slurp(const char *path)
{
    FILE *fh = fopen(path, "rb");
    assert_non_null(fh);
    char *text = calloc(1, 1 << 16);
    assert_non_null(text);
    size_t n = fread(text, 1, (1 << 16) - 1, fh);
    text[n] = '\0';
    fclose(fh);
    return text;
}

/* Sets the time of the file at path to when (seconds, nanoseconds). */
static void set_time(const char *path, time_t sec, long nsec)
{
    struct timespec times[2] = {{sec, nsec}, {sec, nsec}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

static cr_stage_state why_of(const cr_pipeline *p, int i, char *why, size_t size)
{
    int runs[8] = {0};
    return cr_pipeline_stage_state(p, i, runs, why, size);
}

static void the_record_says_what_changed(void **state)
{
    (void)state;
    fixture *f = fixture_new();
    cr_ctx *ctx = cr_ctx_new();
    cr_pipeline *p = NULL;
    const char *text =
        "{\"stages\": [" ARRIVALS("a", "dem.tif", "out/a.tif") "," ARRIVALS("b", "out/a.tif", "out/b.tif") "]}";
    char *points = tu_path(f->dir, "points.csv"), *why = calloc(1, 512), *expect = calloc(1, 8192);
    assert_non_null(why);
    assert_non_null(expect);
    free(tu_write_file(f->dir, "points.csv", "a"));
    set_time(points, 1000000000, 123456789);
    assert_int_equal(load(f, ctx, text, &p), CR_OK);
    make_outputs(f, p);
    /* recorded in either order, the file lists them in the pipeline's */
    p->content_hash = 1;
    assert_int_equal(cr_pipeline_record(ctx, p, 1), CR_OK);
    assert_int_equal(cr_pipeline_record(ctx, p, 0), CR_OK);
    char *state_path = state_file(f);
    char *saved = slurp(state_path);
    assert_true(strstr(saved, "\"a\":") < strstr(saved, "\"b\":"));
    /* FNV-1a 64 of "a", the published test vector; the time to the nanosecond */
    assert_non_null(strstr(saved, "\"size\":1,\n          \"mtime_ns\":1000000000123456789,\n"
                                  "          \"hash\":\"af63dc4c8601ec8c\""));
    snprintf(expect, 8192, "\"version\":\"%s\"", cr_version());
    assert_non_null(strstr(saved, expect));
    cr_pipeline_free(p);
    assert_int_equal(load(f, ctx, text, &p), CR_OK);
    assert_string_equal(f->log, "");
    assert_int_equal(why_of(p, 0, why, 512), CR_STAGE_UP_TO_DATE);
    assert_int_equal(why_of(p, 1, why, 512), CR_STAGE_UP_TO_DATE);
    /* the same content at another time: changed, unless compared by content */
    set_time(points, 1000000001, 0);
    assert_int_equal(why_of(p, 0, why, 512), CR_STAGE_INPUT_CHANGED);
    snprintf(expect, 8192, "input %s changed since its last run: another time", p->stage[0].inputs[0]);
    assert_string_equal(why, expect);
    p->content_hash = 1;
    assert_int_equal(why_of(p, 0, why, 512), CR_STAGE_UP_TO_DATE);
    free(tu_write_file(f->dir, "points.csv", "b")); /* another content of the same size */
    assert_int_equal(why_of(p, 0, why, 512), CR_STAGE_INPUT_CHANGED);
    assert_non_null(strstr(why, "changed since its last run: another content"));
    free(tu_write_file(f->dir, "points.csv", "bb"));
    assert_int_equal(why_of(p, 0, why, 512), CR_STAGE_INPUT_CHANGED);
    assert_non_null(strstr(why, "changed since its last run: another size"));
    /* another version made it; other options */
    free(p->stage[0].record->version);
    p->stage[0].record->version = strdup("0.0.1");
    assert_int_equal(why_of(p, 0, why, 512), CR_STAGE_VERSION);
    snprintf(expect, 8192, "made by cityrisk 0.0.1, this is %s", cr_version());
    assert_string_equal(why, expect);
    char **argv = p->stage[1].record->argv;
    int grid = CSLFindString(argv, "--grid");
    assert_true(grid > 0);
    CPLFree(argv[grid + 1]);
    argv[grid + 1] = CPLStrdup("elsewhere.tif");
    assert_int_equal(why_of(p, 1, why, 512), CR_STAGE_CHANGED);
    assert_string_equal(why, "option --grid differs from its last run");
    cr_pipeline_free(p);
    /* no record: where the state is said */
    unlink(state_path);
    assert_int_equal(load(f, ctx, text, &p), CR_OK);
    assert_int_equal(why_of(p, 0, why, 512), CR_STAGE_NO_RECORD);
    snprintf(expect, 8192, "no record of an earlier run in %s", p->state_path);
    assert_string_equal(why, expect);
    cr_pipeline_free(p);
    free(saved);
    free(state_path);
    free(points);
    free(why);
    free(expect);
    cr_ctx_free(ctx);
    fixture_free(f);
}

static void prepare_replaces_only_what_the_pipeline_made(void **state)
{
    (void)state;
    fixture *f = fixture_new();
    cr_ctx *ctx = cr_ctx_new();
    cr_pipeline *p = NULL;
    const char *text = "{\"stages\": [{\"stage\": \"arrivals\", \"name\": \"a\", \"points\": \"points.csv\", "
                       "\"grid\": \"dem.tif\", \"output\": \"out/x/y/a.tif\"}]}";
    char *deep = tu_path(f->dir, "out/x/y"), *tif = tu_path(f->dir, "out/x/y/a.tif");
    char *expect = calloc(1, 8192);
    assert_non_null(expect);
    assert_int_equal(load(f, ctx, text, &p), CR_OK);
    assert_int_equal(CSLCount(p->stage[0].outputs), 2); /* a.tif and a.qml */
    /* nothing there, no record: deeps made (two levels), nothing to replace */
    int overwrite = -1;
    struct stat sb;
    assert_int_not_equal(stat(deep, &sb), 0);
    assert_int_equal(cr_pipeline_prepare(ctx, p, 0, 0, &overwrite), CR_OK);
    assert_int_equal(overwrite, 0);
    assert_int_equal(stat(deep, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    /* a file the pipeline did not make: refused, kept */
    free(tu_write_file(deep, "a.tif", "theirs"));
    assert_int_equal(cr_pipeline_prepare(ctx, p, 0, 0, &overwrite), CR_E_EXISTS);
    snprintf(expect, 8192,
             "pipeline '%s' stage a: output '%s' exists and this pipeline did not make it (or it changed since "
             "it did): remove it, give the stage \"overwrite\": true, or run with --force",
             f->path, p->stage[0].outputs[0]);
    assert_string_equal(cr_ctx_error(ctx), expect);
    char *kept = slurp(tif);
    assert_string_equal(kept, "theirs");
    free(kept);
    cr_ctx_clear_error(ctx);
    assert_int_equal(cr_pipeline_prepare(ctx, p, 0, 1, &overwrite), CR_OK); /* --force */
    assert_int_equal(overwrite, 1);
    /* recorded: the pipeline's own, to replace */
    assert_int_equal(cr_pipeline_record(ctx, p, 0), CR_OK);
    cr_pipeline_free(p);
    assert_int_equal(load(f, ctx, text, &p), CR_OK);
    assert_int_equal(cr_pipeline_prepare(ctx, p, 0, 0, &overwrite), CR_OK);
    assert_int_equal(overwrite, 1);
    /* a style that appeared since, not the pipeline's */
    free(tu_write_file(deep, "a.qml", "<qgis/>"));
    assert_int_equal(cr_pipeline_prepare(ctx, p, 0, 0, &overwrite), CR_E_EXISTS);
    assert_non_null(strstr(cr_ctx_error(ctx), "/a.qml' exists and this pipeline did not make it"));
    char *qml = tu_path(deep, "a.qml");
    unlink(qml);
    free(qml);
    /* changed since it made it */
    set_time(tif, 1000000000, 5);
    assert_int_equal(cr_pipeline_prepare(ctx, p, 0, 0, &overwrite), CR_E_EXISTS);
    assert_non_null(strstr(cr_ctx_error(ctx), "/a.tif' exists and this pipeline did not make it"));
    /* gone: a record alone lets it replace what it wrote beside its outputs */
    unlink(tif);
    assert_int_equal(cr_pipeline_prepare(ctx, p, 0, 0, &overwrite), CR_OK);
    assert_int_equal(overwrite, 1);
    cr_pipeline_free(p);
    free(deep);
    free(tif);
    free(expect);
    cr_ctx_free(ctx);
    fixture_free(f);
}

/* Ownership is by path: a record of any state file beside the outputs, under any stage
 * name, makes a file the pipeline's when it lists its path with its size and time; a stage
 * with no record by name takes the run of the record that lists its first output; and a
 * record of other paths grants no --overwrite. */
static void ownership_is_by_path_in_any_state_read(void **state)
{
    (void)state;
    fixture *f = fixture_new();
    cr_ctx *ctx = cr_ctx_new();
    cr_pipeline *p = NULL;
    const char *text = "{\"stages\": [" ARRIVALS("a", "dem.tif", "out/a.tif") "]}";
    char *tif = tu_path(f->dir, "out/a.tif"), *real = realpath(f->dir, NULL), *doc = calloc(1, 8192);
    char *other = tu_path(f->dir, "out/.cityrisk/renamed.json.state.json");
    assert_non_null(real);
    assert_non_null(doc);
    free(tu_write_file(f->dir, "out/a.tif", "mine\n"));
    set_time(tif, 1000000000, 7);
    /* the pipeline's own state has "a", but of another path: a.tif is not its, and with no
     * output there that record grants no --overwrite */
    snprintf(doc, 8192,
             "{\"cityrisk_state\": 2, \"pipeline\": \"x\", \"stages\": {\"a\": {\"argv\": [\"arrivals\"], "
             "\"version\": \"0\", \"inputs\": {}, \"outputs\": {\"%s/out/b.tif\": {\"size\": 5, \"mtime_ns\": "
             "1000000000000000007}}}}}",
             real);
    write_state(f, doc);
    int overwrite = -1;
    assert_int_equal(load(f, ctx, text, &p), CR_OK);
    assert_int_equal(cr_pipeline_prepare(ctx, p, 0, 0, &overwrite), CR_E_EXISTS);
    cr_ctx_clear_error(ctx);
    unlink(tif);
    assert_int_equal(cr_pipeline_prepare(ctx, p, 0, 0, &overwrite), CR_OK);
    assert_int_equal(overwrite, 0);
    cr_pipeline_free(p);
    /* another state file in out/.cityrisk/ (a renamed pipeline file) lists a.tif, under
     * another stage name: the file as it lists it is the pipeline's */
    free(tu_write_file(f->dir, "out/a.tif", "mine\n"));
    set_time(tif, 1000000000, 7);
    snprintf(doc, 8192,
             "{\"cityrisk_state\": 2, \"pipeline\": \"x\", \"stages\": {\"old\": {\"argv\": [\"arrivals\"], "
             "\"version\": \"0\", \"inputs\": {}, \"outputs\": {\"%s/out/a.tif\": {\"size\": 5, \"mtime_ns\": "
             "1000000000000000007}}}}}",
             real);
    FILE *fh = fopen(other, "wb");
    assert_non_null(fh);
    fputs(doc, fh);
    fclose(fh);
    assert_int_equal(load(f, ctx, text, &p), CR_OK);
    assert_int_equal(cr_pipeline_prepare(ctx, p, 0, 0, &overwrite), CR_OK);
    assert_int_equal(overwrite, 1);
    /* "a" has its record by name: the other file's run is not its */
    assert_string_equal(p->stage[0].record->version, "0");
    /* changed since: not its */
    set_time(tif, 1000000000, 8);
    assert_int_equal(cr_pipeline_prepare(ctx, p, 0, 0, &overwrite), CR_E_EXISTS);
    cr_ctx_clear_error(ctx);
    cr_pipeline_free(p);
    /* no record by name ("b" now): the run of "old", which lists its first output, stands
     * for it, and the comparisons decide */
    set_time(tif, 1000000000, 7);
    const char *renamed = "{\"stages\": [" ARRIVALS("b", "dem.tif", "out/a.tif") "]}";
    assert_int_equal(load(f, ctx, renamed, &p), CR_OK);
    assert_non_null(p->stage[0].record);
    assert_non_null(p->stage[0].record->argv);
    assert_int_equal(state_of(p, 0), CR_STAGE_VERSION);
    assert_int_equal(cr_pipeline_prepare(ctx, p, 0, 0, &overwrite), CR_OK);
    assert_int_equal(overwrite, 1);
    cr_pipeline_free(p);
    /* a state of the pipeline's own name beside no output of it is never read */
    unlink(other);
    assert_int_equal(load(f, ctx, renamed, &p), CR_OK);
    assert_int_equal(state_of(p, 0), CR_STAGE_NO_RECORD);
    assert_int_equal(cr_pipeline_prepare(ctx, p, 0, 0, &overwrite), CR_E_EXISTS);
    cr_pipeline_free(p);
    free(other);
    free(doc);
    free(real);
    free(tif);
    cr_ctx_free(ctx);
    fixture_free(f);
}

static int cancel(double complete, const char *message, void *arg)
{
    (void)complete;
    (void)message;
    (*(int *)arg)++;
    return 0;
}

static void reading_a_large_file_can_be_cancelled(void **state)
{
    (void)state;
    fixture *f = fixture_new();
    cr_ctx *ctx = cr_ctx_new();
    cr_pipeline *p = NULL;
    /* 3 MiB: blanks inside the object */
    size_t size = 3u << 20;
    char *text = malloc(size + 32);
    assert_non_null(text);
    memset(text, ' ', size);
    memcpy(text, "{\"stages\": []", 13);
    strcpy(text + size, "}");
    assert_int_equal(load(f, ctx, text, &p), CR_OK); /* no callback: read whole */
    cr_pipeline_free(p);
    int calls = 0;
    cr_ctx_set_progress(ctx, cancel, &calls);
    assert_int_equal(load(f, ctx, text, &p), CR_E_CANCELLED);
    assert_null(p);
    assert_int_equal(calls, 1); /* after the first block */
    assert_non_null(strstr(cr_ctx_error(ctx), "reading pipeline '"));
    assert_non_null(strstr(cr_ctx_error(ctx), "' was cancelled"));
    /* a small file reports no progress */
    calls = 0;
    assert_int_equal(load(f, ctx, "{\"stages\": [" ARRIVALS("a", "dem.tif", "out/a.tif") "]}", &p), CR_OK);
    assert_int_equal(calls, 0);
    /* the state is read cancellably when loading, never when a stage that ran is recorded */
    char *big = malloc(size + 3);
    assert_non_null(big);
    memset(big, ' ', size);
    big[0] = '{';
    strcpy(big + size, "}"); /* a state of 3 MiB: an object of blanks */
    write_state(f, big);
    assert_int_equal(cr_pipeline_record(ctx, p, 0), CR_OK);
    assert_int_equal(calls, 0);
    cr_pipeline_free(p);
    write_state(f, big);
    assert_int_equal(load(f, ctx, "{\"stages\": [" ARRIVALS("a", "dem.tif", "out/a.tif") "]}", &p), CR_E_CANCELLED);
    assert_non_null(strstr(cr_ctx_error(ctx), "reading state '"));
    assert_int_equal(calls, 1);
    free(big);
    free(text);
    cr_ctx_free(ctx);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stages_run_in_file_order_after_what_they_read),
        cmocka_unit_test(a_number_or_path_is_an_input_unless_a_number),
        cmocka_unit_test(cycles_and_self_dependence_are_refused),
        cmocka_unit_test(one_file_written_by_two_stages_is_refused),
        cmocka_unit_test(nul_bom_and_the_scan_follow_json_c),
        cmocka_unit_test(expansion_is_bounded),
        cmocka_unit_test(a_state_that_cannot_be_used_is_reported_and_absent),
        cmocka_unit_test(reading_a_large_file_can_be_cancelled),
        cmocka_unit_test(the_record_says_what_changed),
        cmocka_unit_test(prepare_replaces_only_what_the_pipeline_made),
        cmocka_unit_test(ownership_is_by_path_in_any_state_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
