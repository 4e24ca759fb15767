/* test_plan.c: a pipeline as a plan: the levels of its graph, shell quoting, the plan as
 * JSON and the job list, on a pipeline built by hand whose answers are worked out below. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>

#include "pipeline/internal.h"

/* Five stages: prep (an external cp) and arrivals wait for none (level 1); "score[a b]"
 * reads both (level 2); zonal reads score (level 3); map reads arrivals only (level 2). */
static char *PREP[] = {"cp", "in.tif", "mid.tif", NULL};
static char *ARRIVALS[] = {"arrivals", "--points", "pts.csv", "--output", "arr.tif", NULL};
static char *SCORE[] = {"score", "--sea", "mid.tif", "--arrivals", "arr.tif", "--output", "x y.tif", NULL};
static char *ZONAL[] = {"zonal", "--exposure", "x y.tif", "--output", "z.geojson", NULL};
static char *MAP[] = {"map", "--arrivals", "arr.tif", "--output", "m.png", NULL};
static char *IN_PREP[] = {"in.tif", NULL}, *OUT_PREP[] = {"mid.tif", NULL};
static char *IN_ARR[] = {"pts.csv", NULL}, *OUT_ARR[] = {"arr.tif", NULL};
static char *IN_SCORE[] = {"mid.tif", "arr.tif", NULL}, *OUT_SCORE[] = {"x y.tif", NULL};
static char *IN_ZONAL[] = {"x y.tif", NULL}, *OUT_ZONAL[] = {"z.geojson", NULL};
static char *IN_MAP[] = {"arr.tif", NULL}, *OUT_MAP[] = {"m.png", NULL};
static int DEPS_SCORE[] = {0, 1}, DEPS_ZONAL[] = {2}, DEPS_MAP[] = {1};

static cr_pipeline *five_stages(void)
{
    static cr_stage stages[5];
    static cr_pipeline p;
    stages[0] = (cr_stage){.name = "prep", .command = "exec", .argv = PREP, .inputs = IN_PREP, .outputs = OUT_PREP};
    stages[1] = (cr_stage){.name = "arrivals", .command = "arrivals", .argv = ARRIVALS, .inputs = IN_ARR,
                           .outputs = OUT_ARR};
    stages[2] = (cr_stage){.name = "score[a b]", .command = "score", .argv = SCORE, .inputs = IN_SCORE,
                           .outputs = OUT_SCORE, .deps = DEPS_SCORE, .ndeps = 2};
    stages[3] = (cr_stage){.name = "zonal", .command = "zonal", .argv = ZONAL, .inputs = IN_ZONAL,
                           .outputs = OUT_ZONAL, .deps = DEPS_ZONAL, .ndeps = 1};
    stages[4] = (cr_stage){.name = "map", .command = "map", .argv = MAP, .inputs = IN_MAP, .outputs = OUT_MAP,
                           .deps = DEPS_MAP, .ndeps = 1};
    p = (cr_pipeline){.path = "/p/pipe.json", .state_path = "/p/.cityrisk/pipe.json.state.json", .stage = stages,
                      .nstages = 5};
    return &p;
}

static void levels_are_one_past_the_highest_dependency(void **state)
{
    (void)state;
    int *level = cr_pl_levels(five_stages());
    assert_non_null(level);
    int want[] = {0, 0, 1, 2, 1};
    for (int i = 0; i < 5; i++)
        assert_int_equal(level[i], want[i]);
    free(level);
}

static void shell_quoting_only_where_the_shell_reads(void **state)
{
    (void)state;
    struct {
        const char *in, *out;
    } cases[] = {{"out/a-1.tif", "out/a-1.tif"},
                 {"w=sea=0.3,water=0.2", "w=sea=0.3,water=0.2"},
                 {"a b", "'a b'"},
                 {"", "''"},
                 {"zonal[x,y]", "'zonal[x,y]'"},
                 {"it's", "'it'\\''s'"},
                 {"$HOME", "'$HOME'"}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *q = cr_pl_shell_quote(cases[k].in);
        assert_string_equal(q, cases[k].out);
        CPLFree(q);
    }
    char *line = cr_pl_shell_join((char *[]){"cityrisk", "run", "a b.json", NULL});
    assert_string_equal(line, "cityrisk run 'a b.json'");
    CPLFree(line);
}

static void stage_line_adds_the_program_for_commands_only(void **state)
{
    (void)state;
    cr_pipeline *p = five_stages();
    char **prep = cr_pl_stage_line(&p->stage[0]), **score = cr_pl_stage_line(&p->stage[2]);
    assert_int_equal(CSLCount(prep), 3);
    assert_string_equal(prep[0], "cp");
    assert_int_equal(CSLCount(score), 8);
    assert_string_equal(score[0], "cityrisk");
    assert_string_equal(score[1], "score");
    assert_string_equal(score[7], "x y.tif");
    CSLDestroy(prep);
    CSLDestroy(score);
}

/* The names in the JSON array a, joined with spaces. */
static void assert_names(json_object *a, const char *want)
{
    char got[1024] = "";
    for (size_t k = 0; k < json_object_array_length(a); k++) {
        if (k)
            strcat(got, " ");
        strcat(got, json_object_get_string(json_object_array_get_idx(a, k)));
    }
    assert_string_equal(got, want);
}

static void plan_json_lists_every_stage_in_order(void **state)
{
    (void)state;
    json_object *doc = cr_pl_plan_json(five_stages()), *v;
    assert_non_null(doc);
    assert_true(json_object_object_get_ex(doc, "pipeline", &v));
    assert_string_equal(json_object_get_string(v), "/p/pipe.json");
    json_object *stages = json_object_object_get(doc, "stages");
    assert_int_equal(json_object_array_length(stages), 5);
    const char *names[] = {"prep", "arrivals", "score[a b]", "zonal", "map"};
    const char *after[] = {"", "", "prep arrivals", "score[a b]", "arrivals"};
    int levels[] = {1, 1, 2, 3, 2};
    for (int i = 0; i < 5; i++) {
        json_object *s = json_object_array_get_idx(stages, i);
        assert_string_equal(json_object_get_string(json_object_object_get(s, "name")), names[i]);
        assert_names(json_object_object_get(s, "after"), after[i]);
        assert_int_equal(json_object_get_int(json_object_object_get(s, "level")), levels[i]);
    }
    json_object *score = json_object_array_get_idx(stages, 2);
    assert_string_equal(json_object_get_string(json_object_object_get(score, "command")), "score");
    assert_names(json_object_object_get(score, "argv"),
                 "cityrisk score --sea mid.tif --arrivals arr.tif --output x y.tif");
    assert_names(json_object_object_get(score, "inputs"), "mid.tif arr.tif");
    assert_names(json_object_object_get(score, "outputs"), "x y.tif");
    assert_names(json_object_object_get(json_object_array_get_idx(stages, 0), "argv"), "cp in.tif mid.tif");
    json_object_put(doc);
}

static void jobs_by_level_with_the_options_given(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    char *tail[] = {"--set", "score.weights=it's", NULL};
    assert_int_equal(cr_pl_jobs_text(ctx, five_stages(), "/p/pipe.json", tail, out), CR_OK);
    fclose(out);
    const char *want = "# level 1\n"
                       "cityrisk run /p/pipe.json --stage prep --set 'score.weights=it'\\''s'\n"
                       "cityrisk run /p/pipe.json --stage arrivals --set 'score.weights=it'\\''s'\n"
                       "# level 2\n"
                       "cityrisk run /p/pipe.json --stage 'score[a b]' --set 'score.weights=it'\\''s'\n"
                       "cityrisk run /p/pipe.json --stage map --set 'score.weights=it'\\''s'\n"
                       "# level 3\n"
                       "cityrisk run /p/pipe.json --stage zonal --set 'score.weights=it'\\''s'\n";
    const char *from = strstr(text, "# level 1\n");
    assert_non_null(from);
    assert_string_equal(from, want);
    /* before the levels only comment lines */
    for (const char *c = text; c < from; c = strchr(c, '\n') + 1)
        assert_int_equal(*c, '#');
    free(text);
    cr_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(levels_are_one_past_the_highest_dependency),
        cmocka_unit_test(shell_quoting_only_where_the_shell_reads),
        cmocka_unit_test(stage_line_adds_the_program_for_commands_only),
        cmocka_unit_test(plan_json_lists_every_stage_in_order),
        cmocka_unit_test(jobs_by_level_with_the_options_given),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
