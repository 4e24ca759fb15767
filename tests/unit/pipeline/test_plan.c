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

/* Sets *text to what cr_pl_snakefile_text or cr_pl_slurm_text writes for p with tail, a new
 * string to free(). */
static void emitted(cr_status (*emit)(cr_ctx *, const cr_pipeline *, const char *, char **, FILE *),
                    const cr_pipeline *p, char **tail, char **text)
{
    cr_ctx *ctx = cr_ctx_new();
    size_t size = 0;
    FILE *out = open_memstream(text, &size);
    assert_int_equal(emit(ctx, p, "/p/pipe.json", tail, out), CR_OK);
    fclose(out);
    cr_ctx_free(ctx);
}

static void snakefile_has_a_rule_per_stage_and_all_outputs_first(void **state)
{
    (void)state;
    char *tail[] = {"--set", "score.w={\"a\"}", NULL};
    char *text = NULL;
    emitted(cr_pl_snakefile_text, five_stages(), tail, &text);
    /* rule all first (Snakemake's default target): every output, in the pipeline's order */
    const char *all = "rule all:\n"
                      "    input:\n"
                      "        \"mid.tif\",\n"
                      "        \"arr.tif\",\n"
                      "        \"x y.tif\",\n"
                      "        \"z.geojson\",\n"
                      "        \"m.png\",\n";
    const char *at = strstr(text, "rule all:\n");
    assert_non_null(at);
    assert_memory_equal(at, all, strlen(all));
    /* a name Python takes (stage_ and the name, other characters as _), the original in a
     * comment; the --set braces doubled for Snakemake's shell and its quotes escaped */
    const char *score = "# stage score[a b]\n"
                        "rule stage_score_a_b_:\n"
                        "    input:\n"
                        "        \"mid.tif\",\n"
                        "        \"arr.tif\",\n"
                        "    output:\n"
                        "        \"x y.tif\",\n"
                        "    shell:\n"
                        "        \"cityrisk run /p/pipe.json --stage 'score[a b]' --set "
                        "'score.w={{\\\"a\\\"}}'\"\n";
    assert_non_null(strstr(text, score));
    assert_non_null(strstr(text, "# stage prep\nrule stage_prep:\n"));
    assert_null(strstr(at + 1, "rule all:"));
    /* every rule before rule all is a comment line */
    for (const char *c = text; c < at; c = strchr(c, '\n') + 1)
        assert_true(*c == '#' || *c == '\n');
    free(text);
}

static void snakefile_names_colliding_rules_apart(void **state)
{
    (void)state;
    cr_pipeline *p = five_stages();
    p->stage[3].name = "score(a.b)"; /* stage_score_a_b_ like "score[a b]": becomes _4 */
    char *text = NULL;
    emitted(cr_pl_snakefile_text, p, NULL, &text);
    assert_non_null(strstr(text, "# stage score(a.b)\nrule stage_score_a_b__4:\n"));
    free(text);
}

static void snakefile_refuses_a_path_snakemake_reads_as_a_wildcard(void **state)
{
    (void)state;
    cr_pipeline *p = five_stages();
    char *outputs[] = {"z{n}.geojson", NULL};
    p->stage[3].outputs = outputs;
    cr_ctx *ctx = cr_ctx_new();
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_int_equal(cr_pl_snakefile_text(ctx, p, "/p/pipe.json", NULL, out), CR_E_DATA);
    fclose(out);
    assert_non_null(strstr(cr_ctx_error(ctx), "stage zonal"));
    assert_non_null(strstr(cr_ctx_error(ctx), "z{n}.geojson"));
    free(text);
    cr_ctx_free(ctx);
}

static void slurm_submits_one_array_per_level_after_the_one_before(void **state)
{
    (void)state;
    char *text = NULL;
    emitted(cr_pl_slurm_text, five_stages(), NULL, &text);
    assert_memory_equal(text, "#!/usr/bin/env bash\n", 20);
    assert_non_null(strstr(text, "\nset -euo pipefail\n"));
    /* level 2's file: its two stages in the pipeline's order, read literally (quoted end word) */
    const char *level2 = "cat > \"$dir/level-2.txt\" <<'CITYRISK_LEVEL_END'\n"
                         "cityrisk run /p/pipe.json --stage 'score[a b]'\n"
                         "cityrisk run /p/pipe.json --stage map\n"
                         "CITYRISK_LEVEL_END\n";
    assert_non_null(strstr(text, level2));
    /* level 1 waits for nothing, each later level for the job before it */
    const char *submit1 = "job=$(sbatch --parsable --kill-on-invalid-dep=yes ${CITYRISK_SBATCH_OPTIONS:-} "
                          "--job-name=cityrisk-level-1 --array=0-1 \"$dir/task.sh\" \"$dir/level-1.txt\")\n";
    const char *submit3 = "job=$(sbatch --parsable --kill-on-invalid-dep=yes ${CITYRISK_SBATCH_OPTIONS:-} "
                          "--dependency=afterok:\"$job\" --job-name=cityrisk-level-3 --array=0-0 \"$dir/task.sh\" "
                          "\"$dir/level-3.txt\")\n";
    assert_non_null(strstr(text, submit1));
    assert_non_null(strstr(text, submit3));
    assert_true(strstr(text, submit1) < strstr(text, level2));
    assert_null(strstr(text, "level-4"));
    /* a task runs line SLURM_ARRAY_TASK_ID (from 0) of its level file */
    assert_non_null(strstr(text, "line=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" \"$1\")\n"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(levels_are_one_past_the_highest_dependency),
        cmocka_unit_test(shell_quoting_only_where_the_shell_reads),
        cmocka_unit_test(stage_line_adds_the_program_for_commands_only),
        cmocka_unit_test(plan_json_lists_every_stage_in_order),
        cmocka_unit_test(jobs_by_level_with_the_options_given),
        cmocka_unit_test(snakefile_has_a_rule_per_stage_and_all_outputs_first),
        cmocka_unit_test(snakefile_names_colliding_rules_apart),
        cmocka_unit_test(snakefile_refuses_a_path_snakemake_reads_as_a_wildcard),
        cmocka_unit_test(slurm_submits_one_array_per_level_after_the_one_before),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
