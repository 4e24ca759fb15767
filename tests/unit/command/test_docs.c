/* test_docs.c: the man pages and the bash completion made from the command table: every
 * option of every command is in its page and in the script, text is escaped for roff,
 * and no line of a page is a request it did not mean. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/command.h"

/* s as the pages write it: every hyphen a roff minus, \-. */
static void roff(char *dst, size_t size, const char *prefix, const char *s)
{
    size_t n = (size_t)snprintf(dst, size, "%s", prefix);
    for (; *s && n + 3 < size; s++) {
        if (*s == '-')
            dst[n++] = '\\';
        dst[n++] = *s;
    }
    dst[n] = '\0';
}

static void assert_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("'%s' is not in the text", needle);
}

/* Every line that begins with a dot is one of the requests the pages use, and none begins
 * with an apostrophe (roff's other request character). */
static void assert_requests_known(const char *page)
{
    static const char *const KNOWN[] = {".TH ", ".SH ", ".SS ", ".TP\n", ".PP\n", ".nf\n", ".fi\n",
                                        ".br\n", ".B ", ".BR ", NULL};
    for (const char *line = page; *line; line = strchr(line, '\n') + 1) {
        assert_non_null(strchr(line, '\n'));
        if (*line == '\'')
            fail_msg("a line begins with an apostrophe: %.40s", line);
        if (*line != '.')
            continue;
        int known = 0;
        for (int i = 0; KNOWN[i]; i++)
            known |= strncmp(line, KNOWN[i], strlen(KNOWN[i])) == 0;
        if (!known)
            fail_msg("unknown request: %.40s", line);
    }
}

/* Each row of rows in the page: "\fB\-\-name\fR", "\fB\-o\fR", a positional's metavar,
 * each value of a choice. */
static void assert_rows_in_page(const char *page, const cr_arg *rows)
{
    char needle[256];
    for (const cr_arg *a = rows; a->type != CR_ARG_END; a++) {
        if (a->flags & CR_ARGF_POSITIONAL) {
            roff(needle, sizeof needle, "\\fI", a->metavar);
            assert_contains(page, needle);
            continue;
        }
        roff(needle, sizeof needle, "\\fB\\-\\-", a->name);
        strcat(needle, "\\fR");
        assert_contains(page, needle);
        if (a->short_name) {
            roff(needle, sizeof needle, "\\fB\\-", a->short_name);
            strcat(needle, "\\fR");
            assert_contains(page, needle);
        }
        for (int i = 0; a->type == CR_ARG_CHOICE && a->names && a->names[i]; i++) {
            roff(needle, sizeof needle, "\\fB", a->names[i]);
            strcat(needle, "\\fR");
            assert_contains(page, needle);
        }
    }
}

static void every_option_is_in_its_page(void **state)
{
    (void)state;
    for (int c = 0; c < cr_command_count(); c++) {
        const cr_command *cmd = cr_command_get(c);
        char *page = cr_command_man(cmd, "1.2.3");
        assert_non_null(page);
        char needle[256];
        roff(needle, sizeof needle, ".TH \"CITYRISK\\-", cmd->name);
        for (char *up = needle + strlen(".TH \"CITYRISK\\-"); *up; up++)
            *up = (char)toupper((unsigned char)*up);
        assert_contains(page, needle);
        assert_contains(page, "\" 1 \"\" \"cityrisk 1.2.3\" \"User Commands\"\n");
        roff(needle, sizeof needle, ".SH NAME\ncityrisk\\-", cmd->name);
        strcat(needle, " \\- ");
        assert_contains(page, needle);
        for (const char *section = "SYNOPSIS\0DESCRIPTION\0OPTIONS\0EXAMPLES\0\"EXIT STATUS\"\0\"SEE ALSO\"\0";
             *section; section += strlen(section) + 1) {
            snprintf(needle, sizeof needle, "\n.SH %s\n", section);
            assert_contains(page, needle);
        }
        assert_rows_in_page(page, cmd->args);
        assert_rows_in_page(page, cr_command_common_args());
        assert_contains(page, ".BR cityrisk (1)");
        /* Every other command's page, and not its own. */
        for (int o = 0; o < cr_command_count(); o++) {
            roff(needle, sizeof needle, ".BR cityrisk\\-", cr_command_get(o)->name);
            strcat(needle, " (1)");
            if (o == c)
                assert_null(strstr(page, needle));
            else
                assert_contains(page, needle);
        }
        assert_contains(page, ".TP\n.B 130\ninterrupted (SIGINT)\n");
        assert_requests_known(page);
        free(page);
    }
}

static void the_overview_lists_every_command(void **state)
{
    (void)state;
    char *page = cr_command_man(NULL, NULL);
    assert_non_null(page);
    assert_contains(page, ".TH \"CITYRISK\" 1 \"\" \"cityrisk\" \"User Commands\"\n");
    assert_contains(page, ".SH NAME\ncityrisk \\- ");
    char needle[256];
    for (int c = 0; c < cr_command_count(); c++) {
        const cr_command *cmd = cr_command_get(c);
        snprintf(needle, sizeof needle, ".TP\n\\fB%s\\fR\n", cmd->name);
        assert_contains(page, needle);
        roff(needle, sizeof needle, ".BR cityrisk\\-", cmd->name);
        assert_contains(page, needle);
        /* The first words of its summary, and the start of its first example. */
        roff(needle, sizeof needle, "", cmd->summary);
        needle[20] = '\0';
        assert_contains(page, needle);
        roff(needle, sizeof needle, "", cmd->examples);
        needle[24] = '\0';
        assert_contains(page, needle);
    }
    assert_rows_in_page(page, cr_command_common_args());
    assert_contains(page, "\\fB\\-\\-version\\fR");
    assert_requests_known(page);
    free(page);
}

/* ---- escaping, on a command of awkward text ---- */

typedef struct odd_args {
    cr_command_base base;
    int flag;
    const char *path;
    int pick;
} odd_args;

static const char *const ODD_PICKS[] = {"a-b", "c", NULL};

static const cr_arg ODD_ARGS[] = {
    CR_OPT_FLAG("dash-flag", odd_args, flag, "a \\ backslash, and \"quotes\""),
    CR_OPT_STRING("path", "p", odd_args, path, "DIR\\NAME", ".starts with a dot"),
    CR_OPT_CHOICE("pick", odd_args, pick, "HOW", ODD_PICKS, "'starts with an apostrophe"),
    CR_OPT_END,
};

static const cr_command ODD = {
    .name = "odd",
    .summary = "a summary - with a dash",
    .synopsis = "--path DIR [--dash-flag]\n"
                "       .also a dotted line",
    .description = "First paragraph\n"
                   ".dot at the start of a line\n"
                   "'apostrophe at the start of a line\n"
                   "  indented: kept as it is\n"
                   "back to prose with C:\\temp\n"
                   "\n"
                   "Second paragraph.",
    .examples = "  cityrisk odd --path 'a\\b' \\\n"
                "      --dash-flag\n"
                ".x",
    .args = ODD_ARGS,
    .opts_size = sizeof(odd_args),
};

static void roff_text_is_escaped(void **state)
{
    (void)state;
    char *page = cr_command_man(&ODD, "0.1.0-dev");
    assert_non_null(page);
    assert_contains(page, ".TH \"CITYRISK\\-ODD\" 1 \"\" \"cityrisk 0.1.0\\-dev\" \"User Commands\"\n");
    assert_contains(page, ".SH NAME\ncityrisk\\-odd \\- a summary \\- with a dash\n");
    assert_contains(page, "\\fBcityrisk odd\\fR \\-\\-path DIR [\\-\\-dash\\-flag]\n"
                          "       .also a dotted line\n");
    assert_contains(page, "\nFirst paragraph\n\\&.dot at the start of a line\n"
                          "\\&'apostrophe at the start of a line\n"
                          ".nf\n  indented: kept as it is\n.fi\nback to prose with C:\\etemp\n"
                          ".PP\nSecond paragraph.\n");
    assert_contains(page, ".TP\n\\fB\\-\\-dash\\-flag\\fR\na \\e backslash, and \\(dqquotes\\(dq\n");
    assert_contains(page, ".TP\n\\fB\\-p\\fR, \\fB\\-\\-path\\fR \\fIDIR\\eNAME\\fR\n\\&.starts with a dot\n");
    assert_contains(page, ".TP\n\\fB\\-\\-pick\\fR \\fIHOW\\fR\n\\&'starts with an apostrophe\n"
                          ".br\nValues: \\fBa\\-b\\fR, \\fBc\\fR.\n");
    assert_contains(page, ".nf\n  cityrisk odd \\-\\-path 'a\\eb' \\e\n      \\-\\-dash\\-flag\n\\&.x\n.fi\n");
    assert_requests_known(page);
    free(page);
}

/* ---- the completion script ---- */

static void assert_word_in(const char *script, const char *prefix, const char *word)
{
    char needle[256];
    snprintf(needle, sizeof needle, "%s%s", prefix, word);
    /* A whole word: what ends it is a space, a quote, | or ). */
    for (const char *at = script; (at = strstr(at, needle)); at++) {
        char after = at[strlen(needle)];
        char before = at > script ? at[-1] : ' ';
        if (strchr(" '|)\n", after) && strchr(" '|\n", before))
            return;
    }
    fail_msg("'%s' is not a word of the script", needle);
}

static void completion_knows_every_command_and_option(void **state)
{
    (void)state;
    char *script = cr_command_completion_bash();
    assert_non_null(script);
    assert_contains(script, "\n_cityrisk()\n{\n");
    assert_contains(script, "\ncomplete -F _cityrisk cityrisk\n");
    assert_contains(script, "_filedir");
    assert_contains(script, "compgen -f");
    for (int c = 0; c < cr_command_count(); c++) {
        const cr_command *cmd = cr_command_get(c);
        assert_word_in(script, "", cmd->name);
        char arm[64];
        snprintf(arm, sizeof arm, "\n    %s)\n        opts='", cmd->name);
        assert_contains(script, arm);
        /* The options in the command's own arm. */
        const char *start = strstr(script, arm);
        const char *end = strstr(start + 1, "\n        ;;\n    ");
        assert_non_null(end);
        char *own = strndup(start, (size_t)(end - start));
        assert_non_null(own);
        const cr_arg *tables[] = {cmd->args, cr_command_common_args()};
        for (int t = 0; t < 2; t++)
            for (const cr_arg *a = tables[t]; a->type != CR_ARG_END; a++) {
                if (a->flags & CR_ARGF_POSITIONAL) {
                    assert_contains(own, "positional=1");
                    continue;
                }
                assert_word_in(own, "--", a->name);
                if (a->short_name)
                    assert_word_in(own, "-", a->short_name);
                for (int i = 0; a->type == CR_ARG_CHOICE && a->names[i]; i++)
                    assert_word_in(own, "", a->names[i]);
            }
        free(own);
    }
    free(script);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_option_is_in_its_page),
        cmocka_unit_test(the_overview_lists_every_command),
        cmocka_unit_test(roff_text_is_escaped),
        cmocka_unit_test(completion_knows_every_command_and_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
