/* test_sweep.c: variables expanded into stages: names, labels, values and labels in the
 * arguments, gather stages given every file of the sweep, exec stages' arguments. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cpl_string.h>

#include "cityrisk/pipeline.h"

typedef struct fixture {
    char *dir;
    char path[4096];
    cr_ctx *ctx;
    cr_pipeline *p;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    free(tu_write_file(f->dir, "dem.tif", "x"));
    free(tu_write_file(f->dir, "points.csv", "x"));
    snprintf(f->path, sizeof f->path, "%s/pipeline.json", f->dir);
    f->ctx = cr_ctx_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    cr_pipeline_free(f->p);
    cr_ctx_free(f->ctx);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f->dir);
    free(f);
    return 0;
}

static cr_status load(fixture *f, const char *text, char **sets)
{
    FILE *fh = fopen(f->path, "wb");
    assert_non_null(fh);
    fputs(text, fh);
    fclose(fh);
    cr_pipeline_free(f->p);
    f->p = NULL;
    cr_ctx_clear_error(f->ctx);
    return cr_pipeline_load(f->ctx, f->path, sets, &f->p);
}

static const cr_stage *stage(const fixture *f, const char *name)
{
    for (int i = 0; i < f->p->nstages; i++)
        if (strcmp(f->p->stage[i].name, name) == 0)
            return &f->p->stage[i];
    fail_msg("no stage %s", name);
    return NULL;
}

/* The value after --key in a CSL. */
static const char *opt(char **argv, const char *key)
{
    for (char **a = argv; a && a[0] && a[1]; a++)
        if (a[0][0] == '-' && strcmp(a[0] + 2, key) == 0)
            return a[1];
    return NULL;
}

/* The path name relative to the fixture's folder, as argv holds it. */
static void check_path(const fixture *f, const char *got, const char *rel)
{
    char want[8192];
    snprintf(want, sizeof want, "%s/%s", f->dir, rel);
    assert_string_equal(got, want);
}

#define VARS "\"variables\": {\"c\": [\"x\", \"y\"], \"w\": {\"eq\": \"1,1\", \"fl\": 3}}, "

static void combinations_in_declaration_order_values_and_labels(void **state)
{
    fixture *f = *state;
    assert_int_equal(load(f, "{" VARS "\"stages\": [{\"stage\": \"arrivals\", \"name\": \"a-{c}-{w}\", "
                             "\"points\": \"points.csv\", \"grid\": \"dem.tif\", \"date-field\": \"{w}\", "
                             "\"count-field\": \"{c*}|{w*}\", \"output\": \"out/a-{c}-{w}.tif\"}]}",
                          NULL),
                     CR_OK);
    assert_int_equal(f->p->nstages, 4);
    /* the first variable varies slowest */
    const char *names[] = {"a-x-eq", "a-x-fl", "a-y-eq", "a-y-fl"};
    const char *values[] = {"1,1", "3", "1,1", "3"};
    for (int i = 0; i < 4; i++) {
        const cr_stage *s = &f->p->stage[i];
        assert_string_equal(s->name, names[i]);
        assert_string_equal(s->base, "a-{c}-{w}");
        assert_int_equal(CSLCount(s->labels), 2);
        char lc[16], lw[16];
        snprintf(lc, sizeof lc, "c=%c", names[i][2]);
        snprintf(lw, sizeof lw, "w=%s", names[i] + 4);
        assert_string_equal(s->labels[0], lc);
        assert_string_equal(s->labels[1], lw);
        /* a value in an option, a label in a path; {NAME*}: every value or label */
        assert_string_equal(opt(s->argv, "date-field"), values[i]);
        assert_string_equal(opt(s->argv, "count-field"), "x,y|1,1,3");
        char out[64];
        snprintf(out, sizeof out, "out/%s.tif", names[i]);
        check_path(f, opt(s->argv, "output"), out);
        assert_string_equal(opt(s->written, "output"), out);
    }
}

static void a_name_without_every_variable_gets_the_labels(void **state)
{
    fixture *f = *state;
    assert_int_equal(load(f, "{" VARS "\"stages\": [{\"stage\": \"arrivals\", \"points\": \"points.csv\", "
                             "\"grid\": \"dem.tif\", \"date-field\": \"{w}\", \"output\": \"out/{c}{w}.tif\"}, "
                             "{\"stage\": \"arrivals\", \"name\": \"b-{c}\", \"points\": \"points.csv\", "
                             "\"grid\": \"dem.tif\", \"date-field\": \"{w}\", \"output\": \"out/b{c}{w}.tif\"}, "
                             "{\"stage\": \"arrivals\", \"name\": \"{nope}\", \"points\": \"points.csv\", "
                             "\"grid\": \"dem.tif\", \"output\": \"out/n.tif\"}]}",
                          NULL),
                     CR_OK);
    assert_int_equal(f->p->nstages, 9);
    assert_string_equal(stage(f, "arrivals[x,eq]")->base, "arrivals");
    assert_non_null(stage(f, "arrivals[y,fl]"));
    assert_non_null(stage(f, "b-x[x,fl]"));
    /* braces that name no variable stay as written; a stage without variables, once */
    assert_null(stage(f, "{nope}")->labels);
}

static void sets_by_base_name_or_one_expansion(void **state)
{
    fixture *f = *state;
    const char *text = "{" VARS "\"stages\": [{\"stage\": \"arrivals\", \"name\": \"a-{c}-{w}\", "
                       "\"points\": \"points.csv\", \"grid\": \"dem.tif\", \"output\": \"out/a-{c}-{w}.tif\"}]}";
    char *by_base[] = {"a.kernel=quartic", NULL};
    assert_int_equal(load(f, text, by_base), CR_OK);
    for (int i = 0; i < 4; i++)
        assert_string_equal(opt(f->p->stage[i].argv, "kernel"), "quartic");
    char *as_written[] = {"a-{c}-{w}.date-field={w}", "a-y-fl.kernel=gaussian", NULL};
    assert_int_equal(load(f, text, as_written), CR_OK);
    assert_string_equal(opt(stage(f, "a-x-eq")->argv, "date-field"), "1,1"); /* variables substitute */
    assert_string_equal(opt(stage(f, "a-y-fl")->argv, "date-field"), "3");
    assert_string_equal(opt(stage(f, "a-y-fl")->argv, "kernel"), "gaussian");
    assert_null(opt(stage(f, "a-y-eq")->argv, "kernel"));
    char *nothing[] = {"a-z-fl.kernel=quartic", NULL};
    assert_int_equal(load(f, text, nothing), CR_E_USAGE);
}

static void a_gather_stage_gets_every_file_of_the_sweep(void **state)
{
    fixture *f = *state;
    assert_int_equal(load(f, "{" VARS "\"stages\": [{\"stage\": \"zonal\", \"name\": \"z-{c}-{w}\", \"zones\": "
                             "\"points.csv\", \"exposure\": \"dem.tif\", \"output\": \"out/n-{c}-{w}.geojson\"}, "
                             "{\"stage\": \"gather\", \"input\": \"out/n-{c}-{w}.geojson\", \"output\": "
                             "\"out/sweep.csv\"}]}",
                          NULL),
                     CR_OK);
    assert_int_equal(f->p->nstages, 5);
    const cr_stage *g = stage(f, "gather");
    assert_null(g->labels);
    assert_string_equal(opt(g->argv, "by"), "c,w");
    assert_int_equal(CSLCount(g->inputs), 4);
    assert_int_equal(g->ndeps, 4); /* after every zonal stage */
    int n = CSLCount(g->written);
    assert_string_equal(g->written[n - 4], "x;eq=out/n-x-eq.geojson");
    assert_string_equal(g->written[n - 1], "y;fl=out/n-y-fl.geojson");
    char want[8192];
    snprintf(want, sizeof want, "y;fl=%s/out/n-y-fl.geojson", f->dir);
    assert_string_equal(g->argv[CSLCount(g->argv) - 1], want);
}

/* A report stage gathers like gather: --zones and --exposure once per combination, labelled
 * alike, after every stage writing them; a key using other variables cannot be matched. */
static void a_report_stage_gets_the_zones_and_exposure_of_the_sweep(void **state)
{
    fixture *f = *state;
    const char *zonal = "{\"stage\": \"zonal\", \"name\": \"z-{c}-{w}\", \"zones\": \"points.csv\", "
                        "\"exposure\": \"out/e-{c}-{w}.tif\", \"output\": \"out/n-{c}-{w}.geojson\"}";
    char text[4096];
    snprintf(text, sizeof text,
             "{" VARS "\"stages\": [{\"stage\": \"score\", \"name\": \"s-{c}-{w}\", \"sea\": \"dem.tif\", "
             "\"output\": \"out/e-{c}-{w}.tif\"}, %s, {\"stage\": \"report\", \"zones\": "
             "\"out/n-{c}-{w}.geojson\", \"exposure\": \"out/e-{c}-{w}.tif\", \"city\": \"X\", "
             "\"output\": \"out/report.html\"}]}",
             zonal);
    assert_int_equal(load(f, text, NULL), CR_OK);
    const cr_stage *r = stage(f, "report");
    assert_null(r->labels);
    assert_string_equal(opt(r->argv, "by"), "c,w");
    assert_int_equal(CSLCount(r->inputs), 8);
    assert_int_equal(r->ndeps, 8); /* after every score and zonal stage */
    int n = CSLCount(r->written);
    assert_string_equal(r->written[n - 16], "--zones");
    assert_string_equal(r->written[n - 15], "x;eq=out/n-x-eq.geojson");
    assert_string_equal(r->written[n - 2], "--exposure");
    assert_string_equal(r->written[n - 1], "y;fl=out/e-y-fl.tif");
    assert_string_equal(opt(r->argv, "city"), "X");

    snprintf(text, sizeof text,
             "{" VARS "\"stages\": [%s, {\"stage\": \"report\", \"zones\": \"out/n-{c}-{w}.geojson\", "
             "\"exposure\": \"out/e-{c}.tif\", \"output\": \"out/report.html\"}]}",
             zonal);
    assert_int_equal(load(f, text, NULL), CR_E_DATA);
    assert_non_null(strstr(cr_ctx_error(f->ctx), "key 'exposure' uses the variables c but the first gathered key uses c,w"));
}

static void an_exec_stage(void **state)
{
    fixture *f = *state;
    assert_int_equal(load(f, "{" VARS "\"stages\": [{\"exec\": [\"/usr/bin/cp\", \"-v\", \"{input}\", "
                             "\"--to={output}\", \"{w}\"], \"input\": [\"dem.tif\", \"points.csv\"], "
                             "\"output\": \"out/c-{w}.tif\"}, "
                             "{\"exec\": [\"gdal_translate\", \"{input}\", \"{output}\"], \"name\": \"t\", "
                             "\"input\": \"out/c-fl.tif\", \"output\": [\"out/t.tif\"]}]}",
                          NULL),
                     CR_OK);
    assert_int_equal(f->p->nstages, 3);
    const cr_stage *s = stage(f, "cp[fl]"), *t = stage(f, "t");
    assert_string_equal(s->command, "exec");
    assert_string_equal(s->base, "cp");
    assert_int_equal(CSLCount(s->argv), 6);
    assert_string_equal(s->argv[0], "/usr/bin/cp");
    assert_string_equal(s->argv[1], "-v");
    check_path(f, s->argv[2], "dem.tif");
    check_path(f, s->argv[3], "points.csv");
    assert_string_equal(s->written[4], "--to=out/c-fl.tif");
    assert_string_equal(s->argv[5], "3");
    assert_int_equal(CSLCount(s->inputs), 2);
    assert_int_equal(CSLCount(s->outputs), 1);
    check_path(f, s->outputs[0], "out/c-fl.tif");
    assert_int_equal(CSLCount(s->canonical), 6);
    assert_int_equal(t->ndeps, 1);
    assert_string_equal(f->p->stage[t->deps[0]].name, "cp[fl]");
    assert_string_equal(t->argv[0], "gdal_translate");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(combinations_in_declaration_order_values_and_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(a_name_without_every_variable_gets_the_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(sets_by_base_name_or_one_expansion, setup, teardown),
        cmocka_unit_test_setup_teardown(a_gather_stage_gets_every_file_of_the_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(a_report_stage_gets_the_zones_and_exposure_of_the_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(an_exec_stage, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
