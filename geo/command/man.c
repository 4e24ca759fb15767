/* man.c: the man pages of cityrisk(1) and of each command, cityrisk-NAME(1), written in
 * roff from the command table, so that `man cityrisk-score` says what `cityrisk score
 * --help` says. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/command.h"

/* What the program's exit codes mean, in the words `cityrisk help` prints them
 * (cli_print_exit_codes() in cli/common.c). The codes are the program's, not the library's
 * (it maps statuses to them), so the two lists are kept in step by tests/e2e/test_docs.py
 * rather than shared. */
static const struct {
    int code;
    const char *meaning;
} EXIT_STATUS[] = {
    {0, "success"},
    {1, "processing failure"},
    {2, "usage error"},
    {3, "invalid input data"},
    {4, "output exists (see --overwrite)"},
    {130, "interrupted (SIGINT)"},
    {143, "terminated (SIGTERM)"},
};

/* The first paragraph of cityrisk(1), as `cityrisk help` begins. */
static const char OVERVIEW[] =
    "Where newly arriving migrants are most at risk from climate hazards, per\n"
    "neighbourhood.\n"
    "\n"
    "Each command is one stage of the analysis, a library call with a command line: it\n"
    "reads files and writes files that GDAL, OGR and QGIS open directly (Cloud-Optimized\n"
    "GeoTIFF, GeoJSON or any OGR format, QGIS styles), so any stage can be inspected,\n"
    "replaced or re-run from a shell script. Inputs may be in any CRS and any GDAL or OGR\n"
    "format. Messages and the progress bar go to standard error; with --json a command\n"
    "prints a summary as JSON on standard output. An existing output is never replaced\n"
    "without --overwrite.\n"
    "\n"
    "cityrisk help COMMAND or cityrisk COMMAND --help prints a command's usage;\n"
    "man cityrisk-COMMAND shows its page.";

/* Text as roff reads it: a backslash is roff's escape, so it is written \e; every hyphen
 * is written \- (a minus), because the text is mostly option names, file names and values
 * ("--sea-band", "ssp245-2100") that must copy as the ASCII hyphen-minus they are, which
 * groff would render as a typographic hyphen; a double quote is \(dq, which is also safe
 * inside a macro's arguments. */
static void put_text(FILE *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '\\': fputs("\\e", out); break;
        case '-': fputs("\\-", out); break;
        case '"': fputs("\\(dq", out); break;
        default: fputc(s[i], out);
        }
    }
}

static void put_str(FILE *out, const char *s)
{
    put_text(out, s, strlen(s));
}

/* One input line of text: a line beginning with a dot or an apostrophe would be read as
 * a request, so \& (nothing, of no width) goes first. */
static void put_line(FILE *out, const char *s, size_t n)
{
    if (n > 0 && (s[0] == '.' || s[0] == '\''))
        fputs("\\&", out);
    put_text(out, s, n);
    fputc('\n', out);
}

/* Text wrapped by hand into lines, as the table holds descriptions: prose is refilled by
 * the formatter, indented lines (tables of formulas, properties) keep their layout in
 * no-fill mode, and a blank line starts a new paragraph. */
static void put_block(FILE *out, const char *text)
{
    int nofill = 0, blank = 0;
    for (const char *line = text; *line;) {
        size_t n = strcspn(line, "\n");
        if (strspn(line, " ") >= n) {
            blank = 1;
        } else {
            int indented = line[0] == ' ';
            if (nofill && (!indented || blank))
                fputs(".fi\n", out), nofill = 0;
            if (blank)
                fputs(".PP\n", out), blank = 0;
            if (indented && !nofill)
                fputs(".nf\n", out), nofill = 1;
            put_line(out, line, n);
        }
        line += n + (line[n] == '\n');
    }
    if (nofill)
        fputs(".fi\n", out);
}

/* The first size bytes of text, lines as they are, in no-fill mode: the examples' shell. */
static void put_verbatim(FILE *out, const char *text, size_t size)
{
    fputs(".nf\n", out);
    for (size_t at = 0; at < size;) {
        size_t n = strcspn(text + at, "\n");
        n = n < size - at ? n : size - at;
        put_line(out, text + at, n);
        at += n + 1;
    }
    fputs(".fi\n", out);
}

/* An option's tag: "-o, --output FILE" in bold and italics; a positional argument is its
 * metavar ("FILE..." when it repeats). */
static void put_tag(FILE *out, const cr_arg *a)
{
    if (a->flags & CR_ARGF_POSITIONAL) {
        fputs("\\fI", out);
        put_str(out, a->metavar ? a->metavar : a->name);
        fputs(a->type == CR_ARG_LIST ? "\\fR...\n" : "\\fR\n", out);
        return;
    }
    if (a->short_name) {
        fputs("\\fB\\-", out);
        put_str(out, a->short_name);
        fputs("\\fR, ", out);
    }
    fputs("\\fB\\-\\-", out);
    put_str(out, a->name);
    fputs("\\fR", out);
    if (a->metavar) {
        fputs(" \\fI", out);
        put_str(out, a->metavar);
        fputs("\\fR", out);
    }
    fputc('\n', out);
}

/* One row: its tag, its help, and what the table says beside: the values of a choice,
 * and that an option may repeat. */
static void put_option(FILE *out, const cr_arg *a)
{
    fputs(".TP\n", out);
    put_tag(out, a);
    put_block(out, a->help ? a->help : "");
    if (a->type == CR_ARG_CHOICE && a->names) {
        fputs(".br\nValues:", out);
        for (int i = 0; a->names[i]; i++) {
            fputs(i ? ", \\fB" : " \\fB", out);
            put_str(out, a->names[i]);
            fputs("\\fR", out);
        }
        fputs(".\n", out);
    }
    if (a->type == CR_ARG_LIST && !(a->flags & CR_ARGF_POSITIONAL))
        fputs(".br\nMay be given more than once.\n", out);
}

/* The positional arguments first (as they end the synopsis), then the options. */
static void put_options(FILE *out, const cr_arg *rows)
{
    for (const cr_arg *a = rows; a->type != CR_ARG_END; a++)
        if (a->flags & CR_ARGF_POSITIONAL)
            put_option(out, a);
    for (const cr_arg *a = rows; a->type != CR_ARG_END; a++)
        if (!(a->flags & CR_ARGF_POSITIONAL))
            put_option(out, a);
}

/* .TH: the page's title in capitals, its section, no date (the same sources give the same
 * page), its source and manual. */
static void put_header(FILE *out, const char *title, const char *version)
{
    fputs(".TH \"", out);
    for (const char *c = title; *c; c++) {
        char upper = *c >= 'a' && *c <= 'z' ? (char)(*c - 'a' + 'A') : *c;
        put_text(out, &upper, 1);
    }
    fputs("\" 1 \"\" \"cityrisk", out);
    if (version && *version) {
        fputc(' ', out);
        put_str(out, version);
    }
    fputs("\" \"User Commands\"\n", out);
}

static void put_exit_status(FILE *out)
{
    fputs(".SH \"EXIT STATUS\"\n", out);
    for (size_t i = 0; i < sizeof EXIT_STATUS / sizeof *EXIT_STATUS; i++) {
        fprintf(out, ".TP\n.B %d\n", EXIT_STATUS[i].code);
        put_line(out, EXIT_STATUS[i].meaning, strlen(EXIT_STATUS[i].meaning));
    }
}

/* cityrisk(1) and every command's page but the one at hand (NULL: the overview). */
static void put_see_also(FILE *out, const cr_command *self)
{
    fputs(".SH \"SEE ALSO\"\n", out);
    int first = 1;
    if (self) {
        fputs(".BR cityrisk (1)", out);
        first = 0;
    }
    for (int i = 0; i < cr_command_count(); i++) {
        const cr_command *c = cr_command_get(i);
        if (c == self)
            continue;
        fputs(first ? ".BR cityrisk\\-" : ",\n.BR cityrisk\\-", out);
        put_str(out, c->name);
        fputs(" (1)", out);
        first = 0;
    }
    fputs("\n", out);
}

/* The first example of a command: its first line and those its backslashes continue. */
static void put_first_example(FILE *out, const char *examples)
{
    size_t n = 0;
    for (;;) {
        size_t line = strcspn(examples + n, "\n");
        n += line;
        if (line == 0 || examples[n - 1] != '\\' || examples[n] == '\0')
            break;
        n++; /* the newline, and on to the continued line */
    }
    put_verbatim(out, examples, n);
}

static void put_overview(FILE *out, const char *version)
{
    put_header(out, "cityrisk", version);
    fputs(".SH NAME\n"
          "cityrisk \\- where newly arriving migrants are most at risk from climate hazards\n", out);
    fputs(".SH SYNOPSIS\n.nf\n"
          "\\fBcityrisk\\fR \\fIcommand\\fR [\\fIoptions\\fR]\n"
          "\\fBcityrisk help\\fR \\fIcommand\\fR\n"
          "\\fBcityrisk \\-\\-version\\fR\n"
          ".fi\n.SH DESCRIPTION\n", out);
    put_block(out, OVERVIEW);
    fputs(".SH COMMANDS\n", out);
    for (int i = 0; i < cr_command_count(); i++) {
        const cr_command *c = cr_command_get(i);
        fputs(".TP\n\\fB", out);
        put_str(out, c->name);
        fputs("\\fR\n", out);
        put_block(out, c->summary);
        fputs(".br\nSee \\fBcityrisk\\-", out);
        put_str(out, c->name);
        fputs("\\fR(1).\n", out);
    }
    fputs(".SH OPTIONS\nEvery command takes these options after its own.\n", out);
    put_options(out, cr_command_common_args());
    fputs(".TP\n\\fB\\-\\-version\\fR\n"
          "print the version of cityrisk and of the GDAL, PROJ and GEOS libraries it runs with\n"
          ".SH EXAMPLES\n", out);
    for (int i = 0; i < cr_command_count(); i++)
        put_first_example(out, cr_command_get(i)->examples);
    put_exit_status(out);
    put_see_also(out, NULL);
}

static void put_command(FILE *out, const cr_command *cmd, const char *version)
{
    char title[128];
    snprintf(title, sizeof title, "cityrisk-%s", cmd->name);
    put_header(out, title, version);
    fputs(".SH NAME\ncityrisk\\-", out);
    put_str(out, cmd->name);
    fputs(" \\- ", out);
    put_line(out, cmd->summary, strlen(cmd->summary));
    /* The synopsis as help prints it: its continuation lines are indented to follow
     * "usage: cityrisk NAME", which "cityrisk NAME" alone lines up with well enough. */
    fputs(".SH SYNOPSIS\n.nf\n\\fBcityrisk ", out);
    put_str(out, cmd->name);
    fputs("\\fR ", out);
    for (const char *line = cmd->synopsis; *line;) {
        size_t n = strcspn(line, "\n");
        put_line(out, line, n);
        line += n + (line[n] == '\n');
    }
    fputs(".fi\n.SH DESCRIPTION\n", out);
    put_block(out, cmd->description);
    fputs(".SH OPTIONS\n", out);
    put_options(out, cmd->args);
    fputs(".SS \"Common options\"\n", out);
    put_options(out, cr_command_common_args());
    fputs(".SH EXAMPLES\n", out);
    put_verbatim(out, cmd->examples, strlen(cmd->examples));
    put_exit_status(out);
    put_see_also(out, cmd);
}

char *cr_command_man(const cr_command *cmd, const char *version)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out)
        return NULL;
    if (cmd)
        put_command(out, cmd, version);
    else
        put_overview(out, version);
    /* A write that failed (out of memory, in a memory stream) leaves the stream in error. */
    int failed = ferror(out);
    if (fclose(out) != 0 || failed) {
        free(text);
        return NULL;
    }
    return text;
}
