/* test_command.c: the command table and its argv parser: every type of value, choices and
 * their message, repeatable lists, --name=value, missing values, unknown options; that the
 * table holds together (help on every row, names unique, files named by their role). */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cpl_conv.h>
#include <cpl_string.h>

#include "cityrisk/command.h"
#include "core/internal.h"
#include "cityrisk/pipeline.h"

/* ---- a command of every kind of argument, for the parser ---- */

typedef struct demo_args {
    cr_command_base base;
    int flag;
    const char *string;
    int number;
    double real;
    char **list;
    int pick;          /* by index */
    int parsed;        /* by parse_twice */
    int picked_parse;  /* by parse_pick */
    char **files;      /* positional */
    int checked;       /* the check ran */
} demo_args;

static const char *const PICKS[] = {"low", "mid", "high", NULL};

/* Doubles a whole number: a stand-in for a library parser. */
static cr_status parse_twice(cr_ctx *ctx, const char *text, void *dest)
{
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (!*text || *end)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--parsed: '%s' is no whole number", text);
    *(int *)dest = (int)(2 * v);
    return CR_OK;
}

/* "one" is 1, "two" 2: a choice whose values are not indices. */
static cr_status parse_pick(cr_ctx *ctx, const char *text, void *dest)
{
    if (strcmp(text, "one") && strcmp(text, "two"))
        return cr_ctx_fail(ctx, CR_E_USAGE, "--picked wants one or two, not '%s'", text);
    *(int *)dest = strcmp(text, "one") == 0 ? 1 : 2;
    return CR_OK;
}

static const char *const ONE_TWO[] = {"one", "two", NULL};

static const cr_arg DEMO_ARGS[] = {
    CR_OPT_FLAG("flag", demo_args, flag, "a flag"),
    CR_OPT_STRING("string", "s", demo_args, string, "TEXT", "a string"),
    CR_OPT_INT("number", demo_args, number, "N", "a whole number"),
    CR_OPT_DOUBLE("real", demo_args, real, "X", "a number"),
    CR_OPT_LIST("list", "l", demo_args, list, "ITEM", "repeatable"),
    CR_OPT_CHOICE("pick", demo_args, pick, "LEVEL", PICKS, "low, mid or high"),
    CR_OPT_PARSED("parsed", demo_args, parsed, "N", parse_twice, "twice N"),
    CR_OPT_CHOICE_PARSED("picked", NULL, demo_args, picked_parse, "WHICH", ONE_TWO, parse_pick, "one or two"),
    CR_OPT_ROW(CR_ARG_LIST, CR_ROLE_INPUT, CR_ARGF_POSITIONAL, "file", NULL, demo_args, files, "FILE",
               "the inputs", NULL, NULL),
    CR_OPT__OUTPUT("the output"),
    CR_OPT__JSON,
    CR_OPT_END,
};

static void demo_init(void *opts)
{
    ((demo_args *)opts)->real = NAN;
}

static cr_status demo_check(cr_ctx *ctx, void *opts)
{
    demo_args *a = opts;
    a->checked = 1;
    if (a->number == 13)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--number must not be 13");
    return CR_OK;
}

static const cr_command DEMO = {
    .name = "demo",
    .summary = "a command of every kind of argument",
    .synopsis = "[options] FILE...",
    .description = "For the tests.",
    .examples = "  cityrisk demo a b",
    .args = DEMO_ARGS,
    .opts_size = sizeof(demo_args),
    .init = demo_init,
    .check = demo_check,
};

/* The same without positional arguments. */
static const cr_arg BARE_ARGS[] = {
    CR_OPT_FLAG("flag", demo_args, flag, "a flag"),
    CR_OPT_END,
};
static const cr_command BARE = {
    .name = "bare", .summary = "s", .synopsis = "", .description = "d", .examples = "e",
    .args = BARE_ARGS, .opts_size = sizeof(demo_args),
};

/* Parses the words after "demo" (NULL-terminated); the status, the options in *out (free
 * with cr_command_opts_free), the message in msg. */
static cr_status parse_words(const cr_command *cmd, const char *const *words, demo_args **out, char *msg,
                             size_t size)
{
    char *argv[32] = {(char *)cmd->name};
    int argc = 1;
    for (; words[argc - 1]; argc++)
        argv[argc] = (char *)words[argc - 1];
    cr_ctx *ctx = cr_ctx_new();
    *out = cr_command_opts_new(cmd);
    assert_non_null(*out);
    cr_status st = cr_command_parse(ctx, cmd, argc, argv, *out);
    snprintf(msg, size, "%s", cr_ctx_error(ctx));
    cr_ctx_free(ctx);
    return st;
}

/* The message of a usage error the words make. */
static const char *usage_error(const cr_command *cmd, const char *const *words)
{
    static char msg[512];
    demo_args *a = NULL;
    cr_status st = parse_words(cmd, words, &a, msg, sizeof msg);
    cr_command_opts_free(cmd, a);
    if (st != CR_E_USAGE)
        fail_msg("expected a usage error, got status %d", (int)st);
    return msg;
}

/* Words that stay valid while the options point into them. */
static const char *const EVERY_TYPE[] = {
    "--flag", "-s", "text", "--number", "-12", "--real=2.5", "-l", "a", "--list", "b,c", "--list=d",
    "--pick", "high", "--parsed=21", "--picked", "two", "in1", "-", "-o", "out.tif", "--json", NULL};

static void every_type_lands_in_its_field(void **state)
{
    (void)state;
    char msg[512];
    demo_args *a = NULL;
    assert_int_equal(parse_words(&DEMO, EVERY_TYPE, &a, msg, sizeof msg), CR_OK);
    assert_int_equal(a->flag, 1);
    assert_string_equal(a->string, "text");
    assert_int_equal(a->number, -12);
    assert_true(a->real == 2.5);
    assert_int_equal(CSLCount(a->list), 3);
    assert_string_equal(a->list[0], "a");
    assert_string_equal(a->list[1], "b,c"); /* one value: a list item is not split */
    assert_string_equal(a->list[2], "d");
    assert_int_equal(a->pick, 2);
    assert_int_equal(a->parsed, 42);
    assert_int_equal(a->picked_parse, 2);
    assert_int_equal(CSLCount(a->files), 2); /* "-" is an argument, not an option */
    assert_string_equal(a->files[1], "-");
    assert_string_equal(a->base.output, "out.tif");
    assert_int_equal(a->base.json, 1);
    assert_int_equal(a->checked, 1);
    cr_command_opts_free(&DEMO, a);
}

static void the_last_value_wins_and_defaults_stay(void **state)
{
    (void)state;
    char msg[512];
    demo_args *a = NULL;
    const char *const words[] = {"-s", "one", "--string", "two", "--pick", "low", "--pick", "mid", NULL};
    assert_int_equal(parse_words(&DEMO, words, &a, msg, sizeof msg), CR_OK);
    assert_string_equal(a->string, "two");
    assert_int_equal(a->pick, 1);
    assert_true(isnan(a->real)); /* init's default */
    assert_null(a->list);
    cr_command_opts_free(&DEMO, a);
}

static void double_dash_ends_the_options(void **state)
{
    (void)state;
    char msg[512];
    demo_args *a = NULL;
    const char *const words[] = {"--flag", "--", "--json", "-x", NULL};
    assert_int_equal(parse_words(&DEMO, words, &a, msg, sizeof msg), CR_OK);
    assert_int_equal(a->base.json, 0);
    assert_int_equal(CSLCount(a->files), 2);
    assert_string_equal(a->files[0], "--json");
    cr_command_opts_free(&DEMO, a);
}

static void usage_errors_say_what_is_wrong(void **state)
{
    (void)state;
    assert_string_equal(usage_error(&DEMO, (const char *const[]){"--bogus", NULL}), "unknown option '--bogus'");
    assert_string_equal(usage_error(&DEMO, (const char *const[]){"--flag=1", NULL}), "unknown option '--flag=1'");
    assert_string_equal(usage_error(&DEMO, (const char *const[]){"--number", NULL}), "--number wants a value (N)");
    assert_string_equal(usage_error(&DEMO, (const char *const[]){"-s", NULL}), "-s wants a value (TEXT)");
    assert_string_equal(usage_error(&DEMO, (const char *const[]){"--number", "4x", NULL}),
                        "--number wants a whole number, not '4x'");
    assert_string_equal(usage_error(&DEMO, (const char *const[]){"--number=99999999999", NULL}),
                        "--number=99999999999 wants a whole number, not '99999999999'");
    assert_string_equal(usage_error(&DEMO, (const char *const[]){"--real", "0x10", NULL}),
                        "--real wants a number, not '0x10'");
    assert_string_equal(usage_error(&DEMO, (const char *const[]){"--real", "inf", NULL}),
                        "--real wants a number, not 'inf'");
    assert_string_equal(usage_error(&DEMO, (const char *const[]){"--pick", "top", NULL}),
                        "--pick: unknown value 'top' (low, mid, high)");
    assert_string_equal(usage_error(&DEMO, (const char *const[]){"--picked", "three", NULL}),
                        "--picked wants one or two, not 'three'");
    assert_string_equal(usage_error(&DEMO, (const char *const[]){"--parsed", "x", NULL}),
                        "--parsed: 'x' is no whole number");
    assert_string_equal(usage_error(&DEMO, (const char *const[]){"--number", "13", NULL}),
                        "--number must not be 13");
    assert_string_equal(usage_error(&BARE, (const char *const[]){"--flag", "extra", NULL}),
                        "unexpected argument 'extra'");
    assert_string_equal(usage_error(&DEMO, (const char *const[]){"--config", "A", NULL}), "--config wants KEY VALUE");
    assert_string_equal(usage_error(&DEMO, (const char *const[]){"--threads", "many", NULL}),
                        "--threads wants a whole number, not 'many'");
    const char *threads = usage_error(&DEMO, (const char *const[]){"--threads=0", NULL});
    assert_non_null(strstr(threads, "--threads 0 is outside 1 .. "));
}

static void help_skips_the_checks(void **state)
{
    (void)state;
    char msg[512];
    demo_args *a = NULL;
    const char *const words[] = {"--pick", "top", "-h", NULL};
    assert_int_equal(parse_words(&BARE, (const char *const[]){"--help", "extra", NULL}, &a, msg, sizeof msg),
                     CR_OK);
    assert_int_equal(a->base.help, 1);
    cr_command_opts_free(&BARE, a);
    assert_int_equal(parse_words(&DEMO, words, &a, msg, sizeof msg), CR_OK);
    assert_int_equal(a->base.help, 1);
    assert_int_equal(a->checked, 0);
    cr_command_opts_free(&DEMO, a);
}

static void config_is_applied_at_once(void **state)
{
    (void)state;
    char msg[512];
    demo_args *a = NULL;
    const char *const words[] = {"--config", "CR_TEST_KEY", "set", "--flag", NULL};
    assert_int_equal(parse_words(&DEMO, words, &a, msg, sizeof msg), CR_OK);
    assert_string_equal(CPLGetConfigOption("CR_TEST_KEY", ""), "set");
    assert_int_equal(a->flag, 1);
    CPLSetConfigOption("CR_TEST_KEY", NULL);
    cr_command_opts_free(&DEMO, a);
}

static void the_syntax_check_leaves_values_to_the_run(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    char *good[] = {"demo", "--pick", "top", "--parsed", "x", "--number", "13", NULL};
    assert_int_equal(cr_command_check_syntax(ctx, &DEMO, 7, good), CR_OK);
    char *bad[] = {"demo", "--number", "x", NULL};
    assert_int_equal(cr_command_check_syntax(ctx, &DEMO, 3, bad), CR_E_USAGE);
    assert_string_equal(cr_ctx_error(ctx), "--number wants a whole number, not 'x'");
    char *extra[] = {"bare", "extra", NULL};
    assert_int_equal(cr_command_check_syntax(ctx, &BARE, 2, extra), CR_E_USAGE);
    cr_ctx_free(ctx);
}

static void provenance_leaves_out_what_changes_no_output(void **state)
{
    (void)state;
    cr_ctx *ctx = cr_ctx_new();
    char *argv[] = {"demo", "--threads", "2", "-q", "--string", "-q", "--threads=3", "--debug", "in", NULL};
    assert_int_equal(cr_command_provenance(ctx, &DEMO, 9, argv), CR_OK);
    assert_string_equal(cr_ctx_command(ctx), "demo --string -q in");
    /* --json prints a summary: it changes no output either. Numbers stay as typed. */
    char *json[] = {"demo", "--real", "1.10", "--json", "--string", "it's", "in", NULL};
    char *line = cr_command_recorded(&DEMO, 7, json);
    assert_string_equal(line, "demo --real 1.10 --string 'it'\\''s' in");
    free(line);
    /* A caller that records another line (run, for its stages) gives it whole. */
    assert_int_equal(cr_ctx_set_command_line(ctx, "run p.json; stage s: demo in"), CR_OK);
    assert_string_equal(cr_ctx_command(ctx), "run p.json; stage s: demo in");
    cr_ctx_free(ctx);
}

/* The grid options: one set of rows, the same rules in every command (issue 18, point 5). */
static void grid_options_are_checked_by_the_parser(void **state)
{
    (void)state;
    static const cr_arg GRID_ARGS[] = {
        CR_OPT__GRID("the grid", "the extent"),
        CR_OPT_END,
    };
    static const cr_command GRIDDED = {.name = "gridded", .args = GRID_ARGS, .opts_size = sizeof(cr_command_base)};
    cr_ctx *ctx = cr_ctx_new();
    char *good[] = {"gridded", "--crs", "EPSG:32736", "--resolution", "30", "--bounds", "1,2,3,4", NULL};
    cr_command_base *opts = cr_command_opts_new(&GRIDDED);
    assert_int_equal(cr_command_parse(ctx, &GRIDDED, 7, good, opts), CR_OK);
    assert_string_equal(opts->grid.crs, "EPSG:32736");
    assert_float_equal(opts->grid.resolution, 30.0, 0);
    assert_int_equal(opts->grid.has_bounds, 1);
    assert_float_equal(opts->grid.bounds.ymin, 2.0, 0);
    assert_float_equal(opts->grid.bounds.xmax, 3.0, 0);
    cr_command_opts_free(&GRIDDED, opts);
    char *both[] = {"gridded", "--grid", "ref.tif", "--crs", "EPSG:32736", "--resolution", "30", NULL};
    opts = cr_command_opts_new(&GRIDDED);
    assert_int_equal(cr_command_parse(ctx, &GRIDDED, 7, both, opts), CR_E_USAGE);
    assert_non_null(strstr(cr_ctx_error(ctx), "--grid takes the grid from a raster"));
    cr_command_opts_free(&GRIDDED, opts);
    char *negative[] = {"gridded", "--crs", "EPSG:32736", "--resolution", "-5", NULL};
    opts = cr_command_opts_new(&GRIDDED);
    assert_int_equal(cr_command_parse(ctx, &GRIDDED, 5, negative, opts), CR_E_USAGE);
    assert_string_equal(cr_ctx_error(ctx), "--resolution wants a positive number of CRS units, not '-5'");
    cr_command_opts_free(&GRIDDED, opts);
    cr_ctx_free(ctx);
}

static void help_lists_every_option_with_the_common_ones(void **state)
{
    (void)state;
    char *help = cr_command_help(&DEMO);
    assert_non_null(help);
    assert_non_null(strstr(help, "usage: cityrisk demo [options] FILE...\n\nFor the tests.\n\noptions:\n"));
    assert_non_null(strstr(help, "  -s, --string TEXT            a string\n"));
    assert_non_null(strstr(help, "  -o, --output FILE            the output\n"));
    assert_non_null(strstr(help, "  --config KEY VALUE           set a GDAL configuration option\n"));
    assert_non_null(strstr(help, "\nexamples:\n  cityrisk demo a b\n"));
    assert_null(strstr(help, "--file")); /* positional: in the synopsis */
    free(help);
}

/* ---- the table itself ---- */

static void every_row_is_complete_and_named_once(void **state)
{
    (void)state;
    assert_int_equal(cr_command_count() > 0, 1);
    for (int c = 0; c < cr_command_count(); c++) {
        const cr_command *cmd = cr_command_get(c);
        assert_ptr_equal(cr_command_find(cmd->name), cmd);
        assert_true(cmd->summary && *cmd->summary && cmd->synopsis && cmd->description && cmd->examples);
        assert_non_null(cmd->run);
        assert_true(cmd->opts_size >= sizeof(cr_command_base));
        char *help = cr_command_help(cmd);
        const cr_arg *rows[2] = {cmd->args, cr_command_common_args()};
        for (int r = 0; r < 2; r++)
            for (const cr_arg *a = rows[r]; a->type != CR_ARG_END; a++) {
                if (!a->name || !a->help || !*a->help)
                    fail_msg("%s: a row without a name or help", cmd->name);
                assert_ptr_equal(cr_command_arg(cmd, a->name), a); /* long names once */
                for (int r2 = 0; r2 < 2; r2++)
                    for (const cr_arg *b = rows[r2]; b->type != CR_ARG_END; b++)
                        if (a != b && a->short_name && b->short_name && strcmp(a->short_name, b->short_name) == 0)
                            fail_msg("%s: -%s twice", cmd->name, a->short_name);
                if (a->type != CR_ARG_FLAG && !a->metavar)
                    fail_msg("%s --%s: a value without a metavar", cmd->name, a->name);
                if (a->type == CR_ARG_CHOICE && !a->names)
                    fail_msg("%s --%s: a choice without names", cmd->name, a->name);
                if (a->type == CR_ARG_PARSED && !a->parse)
                    fail_msg("%s --%s: parsed without a parser", cmd->name, a->name);
                if (a->role != CR_ROLE_PARAMETER && a->type != CR_ARG_STRING && a->type != CR_ARG_LIST)
                    fail_msg("%s --%s: a file that is not text", cmd->name, a->name);
                if (a->offset + sizeof(void *) > cmd->opts_size && a->type != CR_ARG_PAIR)
                    fail_msg("%s --%s: beyond the options", cmd->name, a->name);
                char name[64];
                snprintf(name, sizeof name, "--%s", a->name);
                if (!(a->flags & CR_ARGF_POSITIONAL) && !strstr(help, name))
                    fail_msg("%s: --%s is not in the help", cmd->name, a->name);
            }
        free(help);
    }
}

/* CR_ARGF_NUMBER_OR_PATH: a file unless the value reads as a finite number, as --vlm does. */
static void a_number_or_path_names_a_file_unless_a_number(void **state)
{
    (void)state;
    const cr_arg *vlm = cr_command_arg(cr_command_find("inundation"), "vlm");
    assert_non_null(vlm);
    assert_int_equal(vlm->role, CR_ROLE_INPUT);
    assert_true(vlm->flags & CR_ARGF_NUMBER_OR_PATH);
    const char *numbers[] = {"-2", "3", "0", "-0.5e-1", "+1.25", NULL};
    const char *files[] = {"vlm.tif", "data/-2.tif", "2mm", "inf", "nan", "0x10", "", NULL};
    for (int i = 0; numbers[i]; i++)
        if (cr_arg_names_file(vlm, numbers[i]))
            fail_msg("--vlm %s names a file", numbers[i]);
    for (int i = 0; files[i]; i++)
        if (!cr_arg_names_file(vlm, files[i]))
            fail_msg("--vlm '%s' is taken as a number", files[i]);
    /* without the flag, a file option's value is a file, whatever it reads as */
    assert_true(cr_arg_names_file(cr_command_arg(cr_command_find("inundation"), "dem"), "-2"));
    assert_false(cr_arg_names_file(cr_command_arg(cr_command_find("inundation"), "years"), "x.tif"));
}

static void stages_write_an_output_and_style_it_with_qml(void **state)
{
    (void)state;
    for (int c = 0; c < cr_command_count(); c++) {
        const cr_command *cmd = cr_command_get(c);
        const cr_arg *output = cr_command_arg(cmd, "output"), *qml = cr_command_arg(cmd, "qml");
        if (cmd->flags & CR_COMMAND_STAGE) {
            assert_non_null(output);
            assert_int_equal(output->role, CR_ROLE_OUTPUT);
            assert_int_equal(output->offset, offsetof(cr_command_base, output));
        }
        /* a style is written beside the output exactly when --qml is taken */
        assert_int_equal(cr_command_has_style(cmd), qml != NULL);
        if (qml)
            assert_int_equal(qml->offset, offsetof(cr_command_base, qml));
        /* the summary comes from summarise, or the run fills it */
        const cr_arg *json = cr_command_arg(cmd, "json");
        if (json) {
            assert_int_equal(json->offset, offsetof(cr_command_base, json));
            assert_true(json->flags & CR_ARGF_NOT_IN_PIPELINE);
        }
    }
}

/* ---- the pipeline's keys come from the table ---- */

/* 1 when list (a CSL) holds text. */
static int holds(char **list, const char *text)
{
    for (; list && *list; list++)
        if (strcmp(*list, text) == 0)
            return 1;
    return 0;
}

/* A stage of each command that may be one, with every file argument its table has: the
 * inputs and outputs of the loaded stage are exactly those (and the QGIS style beside the
 * output, for a command that writes one), each an option of its arguments; a repeatable
 * one repeated, another joined with commas. */
static void pipeline_keys_come_from_the_table(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *out = tu_path(dir, "out");
    assert_int_equal(mkdir(out, 0777), 0);
    for (int c = 0; c < cr_command_count(); c++) {
        const cr_command *cmd = cr_command_get(c);
        if (!(cmd->flags & CR_COMMAND_STAGE))
            continue;
        json_object *stage = json_object_new_object();
        json_object_object_add(stage, "stage", json_object_new_string(cmd->name));
        char **inputs = NULL, **outputs = NULL;
        const char *repeated = NULL;
        for (const cr_arg *a = cmd->args; a->type != CR_ARG_END; a++) {
            char file[256], path[4096];
            if (a->role == CR_ROLE_PARAMETER) {
                /* a parameter that takes a list, once as an array of two */
                if (a->type == CR_ARG_LIST && !repeated) {
                    json_object *two = json_object_new_array();
                    json_object_array_add(two, json_object_new_string("A=1"));
                    json_object_array_add(two, json_object_new_string("B=2"));
                    json_object_object_add(stage, a->name, two);
                    repeated = a->name;
                }
                continue;
            }
            snprintf(file, sizeof file, "%s/%s-%s.dat", a->role == CR_ROLE_INPUT ? "." : "out", cmd->name, a->name);
            snprintf(path, sizeof path, "%s/%s", dir, file);
            if (a->role == CR_ROLE_INPUT) {
                free(tu_write_file(dir, file, "x"));
                inputs = CSLAddString(inputs, path);
            } else {
                outputs = CSLAddString(outputs, path);
            }
            char value[300];
            snprintf(value, sizeof value, "%s%s", a->flags & CR_ARGF_NAMED_FILE ? "name=" : "", file);
            json_object_object_add(stage, a->name, json_object_new_string(value));
        }
        if (cr_command_has_style(cmd)) {
            char style[4096];
            snprintf(style, sizeof style, "%s/out/%s-output.qml", dir, cmd->name);
            outputs = CSLAddString(outputs, style);
        }
        json_object *doc = json_object_new_object(), *stages = json_object_new_array();
        json_object_array_add(stages, stage);
        json_object_object_add(doc, "stages", stages);
        char *pipeline = tu_path(dir, "pipeline.json");
        assert_int_equal(json_object_to_file(pipeline, doc), 0);
        cr_ctx *ctx = cr_ctx_new();
        cr_pipeline *p = NULL;
        if (cr_pipeline_load(ctx, pipeline, NULL, &p) != CR_OK)
            fail_msg("%s: %s", cmd->name, cr_ctx_error(ctx));
        const cr_stage *st = &p->stage[0];
        assert_int_equal(CSLCount(st->inputs), CSLCount(inputs));
        for (char **i = inputs; i && *i; i++)
            if (!holds(st->inputs, *i))
                fail_msg("%s: %s is not an input", cmd->name, *i);
        assert_int_equal(CSLCount(st->outputs), CSLCount(outputs));
        for (char **o = outputs; o && *o; o++)
            if (!holds(st->outputs, *o))
                fail_msg("%s: %s is not an output", cmd->name, *o);
        assert_int_equal(holds(st->argv, "--qml"), cr_command_has_style(cmd));
        if (repeated) { /* --NAME A=1 --NAME B=2, not --NAME A=1,B=2 */
            char option[64];
            snprintf(option, sizeof option, "--%s", repeated);
            int at = CSLFindString(st->argv, option);
            assert_true(at > 0);
            assert_string_equal(st->argv[at + 1], "A=1");
            assert_string_equal(st->argv[at + 2], option);
            assert_string_equal(st->argv[at + 3], "B=2");
        }
        cr_pipeline_free(p);
        /* --json is the run's, not a stage's */
        json_object_object_add(stage, "json", json_object_new_boolean(1));
        assert_int_equal(json_object_to_file(pipeline, doc), 0);
        assert_int_equal(cr_pipeline_load(ctx, pipeline, NULL, &p), CR_E_DATA);
        assert_non_null(strstr(cr_ctx_error(ctx), "key 'json' is not allowed in a pipeline"));
        cr_ctx_free(ctx);
        json_object_put(doc);
        free(pipeline);
        CSLDestroy(inputs);
        CSLDestroy(outputs);
    }
    free(out);
    tu_rmdir(dir);
}

/* Only the commands the table marks as stages may be one, and the message lists them. */
static void stages_are_the_commands_the_table_marks(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *pipeline = tu_write_file(dir, "pipeline.json", "{\"stages\": [{\"stage\": \"info\"}]}");
    cr_ctx *ctx = cr_ctx_new();
    cr_pipeline *p = NULL;
    assert_int_equal(cr_pipeline_load(ctx, pipeline, NULL, &p), CR_E_DATA);
    char expected[256] = "";
    for (int c = 0; c < cr_command_count(); c++)
        if (cr_command_get(c)->flags & CR_COMMAND_STAGE)
            snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "%s%s", *expected ? ", " : "",
                     cr_command_get(c)->name);
    assert_string_equal(expected, "inundation, arrivals, score, mosaic, zonal, sensitivity, map, gather, report");
    assert_non_null(strstr(cr_ctx_error(ctx), expected));
    cr_ctx_free(ctx);
    free(pipeline);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_type_lands_in_its_field),
        cmocka_unit_test(the_last_value_wins_and_defaults_stay),
        cmocka_unit_test(double_dash_ends_the_options),
        cmocka_unit_test(usage_errors_say_what_is_wrong),
        cmocka_unit_test(help_skips_the_checks),
        cmocka_unit_test(config_is_applied_at_once),
        cmocka_unit_test(the_syntax_check_leaves_values_to_the_run),
        cmocka_unit_test(provenance_leaves_out_what_changes_no_output),
        cmocka_unit_test(grid_options_are_checked_by_the_parser),
        cmocka_unit_test(help_lists_every_option_with_the_common_ones),
        cmocka_unit_test(every_row_is_complete_and_named_once),
        cmocka_unit_test(a_number_or_path_names_a_file_unless_a_number),
        cmocka_unit_test(stages_write_an_output_and_style_it_with_qml),
        cmocka_unit_test(pipeline_keys_come_from_the_table),
        cmocka_unit_test(stages_are_the_commands_the_table_marks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
