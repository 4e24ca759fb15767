/* completion.c: the bash completion of cityrisk, written from the command table: the
 * commands, each command's options, the values of its choices, and file names where an
 * argument names a file. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/command.h"

/* The helpers and the start of _cityrisk. bash splits "--name=value" and "NAME=FILE" at
 * '=' (COMP_WORDBREAKS) into words of their own: opt (the option before a value), named
 * (the option before NAME=) and before (two words back: KEY VALUE) see through that. */
static const char HEAD[] =
    "# bash completion for cityrisk(1), generated from its command table\n"
    "# (cr_command_completion_bash()): edit the table, not this file.\n"
    "\n"
    "# Completes the current word from a list of words.\n"
    "_cityrisk_words()\n"
    "{\n"
    "    local IFS=$' \\t\\n'\n"
    "    COMPREPLY=($(compgen -W \"$1\" -- \"$cur\"))\n"
    "}\n"
    "\n"
    "# Completes the current word as a file name: with bash-completion's _filedir when it is\n"
    "# loaded (quoting, ~, folders), else with compgen -f.\n"
    "_cityrisk_files()\n"
    "{\n"
    "    if declare -F _filedir >/dev/null; then\n"
    "        _filedir\n"
    "    else\n"
    "        compopt -o filenames 2>/dev/null\n"
    "        local IFS=$'\\n'\n"
    "        COMPREPLY=($(compgen -f -- \"$cur\"))\n"
    "    fi\n"
    "}\n"
    "\n"
    "_cityrisk()\n"
    "{\n"
    "    local cur=${COMP_WORDS[COMP_CWORD]} opt= named= before= options=1 positional= opts= i\n"
    "    COMPREPLY=()\n";

/* After the list of commands: the command, and the option whose value is being typed. */
static const char BODY[] =
    "    if ((COMP_CWORD <= 1)); then\n"
    "        _cityrisk_words \"help --help --version $commands\"\n"
    "        return 0\n"
    "    fi\n"
    "    if [[ ${COMP_WORDS[1]} == help ]]; then\n"
    "        ((COMP_CWORD == 2)) && _cityrisk_words \"$commands\"\n"
    "        return 0\n"
    "    fi\n"
    "    opt=${COMP_WORDS[COMP_CWORD-1]}\n"
    "    before=${COMP_WORDS[COMP_CWORD-2]}\n"
    "    if [[ $cur == = ]]; then\n"
    "        cur=\n"
    "        named=$before\n"
    "    elif [[ $opt == = ]]; then\n"
    "        opt=$before\n"
    "        ((COMP_CWORD >= 3)) && named=${COMP_WORDS[COMP_CWORD-3]}\n"
    "    fi\n"
    "    # After --, every word is a positional argument.\n"
    "    for ((i = 2; i < COMP_CWORD; i++)); do\n"
    "        [[ ${COMP_WORDS[i]} == -- ]] && options=0\n"
    "    done\n"
    "    case ${COMP_WORDS[1]} in\n";

/* The end of _cityrisk: options, or files where the command takes positional files. */
static const char TAIL[] =
    "    *)\n"
    "        return 0\n"
    "        ;;\n"
    "    esac\n"
    "    if ((options)) && [[ $cur == -* || -z $positional ]]; then\n"
    "        _cityrisk_words \"$opts\"\n"
    "    elif [[ -n $positional ]]; then\n"
    "        _cityrisk_files\n"
    "    fi\n"
    "    return 0\n"
    "}\n"
    "\n"
    "complete -F _cityrisk cityrisk\n";

/* Whether a name may go into the script unquoted, in a word list and a case pattern: the
 * table's names and values are plain words ("mm/yr" too: a slash is special to neither),
 * and one that is not is left out rather than let the shell expand it. */
static int plain_word(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("-_.,:+@%/", *s)))
            return 0;
    return 1;
}

/* What completes the value of an option. */
typedef enum value_kind {
    VALUE_NONE,   /* a flag, or a positional argument: no value of its own */
    VALUE_FILE,   /* a file it reads or writes */
    VALUE_CHOICE, /* one of its names */
    VALUE_OTHER   /* text, a number, NAME=FILE: nothing to offer */
} value_kind;

static value_kind value_of(const cr_arg *a)
{
    if (a->type == CR_ARG_FLAG || (a->flags & CR_ARGF_POSITIONAL))
        return VALUE_NONE;
    if (a->type == CR_ARG_CHOICE && a->names)
        return VALUE_CHOICE;
    if (a->role != CR_ROLE_PARAMETER && !(a->flags & CR_ARGF_NAMED_FILE) && a->type != CR_ARG_PAIR)
        return VALUE_FILE;
    return VALUE_OTHER;
}

/* The rows of a command: its own, then the common ones. */
typedef struct rows {
    const cr_arg *tables[2];
} rows;

/* "-o|--output" */
static void put_pattern(FILE *out, const cr_arg *a)
{
    if (plain_word(a->short_name))
        fprintf(out, "-%s|", a->short_name);
    fprintf(out, "--%s", a->name);
}

/* One arm of a case: the options whose values are of kind (VALUE_NONE: any), which have
 * flag (0: any) and are of type (CR_ARG_END: any), and the action for them; nothing when
 * there are none. */
static void put_arm(FILE *out, const rows *r, value_kind kind, unsigned flag, cr_arg_type type,
                    const char *action)
{
    int any = 0;
    for (int t = 0; t < 2; t++)
        for (const cr_arg *a = r->tables[t]; a->type != CR_ARG_END; a++) {
            if (!plain_word(a->name) || (kind != VALUE_NONE && value_of(a) != kind) ||
                (flag && !(a->flags & flag)) || (type != CR_ARG_END && a->type != type))
                continue;
            fputs(any ? "|" : "        ", out);
            put_pattern(out, a);
            any = 1;
        }
    if (any)
        fprintf(out, ")\n            %s\n            ;;\n", action);
}

/* The arm of one command in _cityrisk's case. */
static void put_command(FILE *out, const cr_command *cmd)
{
    rows r = {{cmd->args, cr_command_common_args()}};
    int positional = 0;
    fprintf(out, "    %s)\n        opts='", cmd->name);
    int first = 1;
    for (int t = 0; t < 2; t++)
        for (const cr_arg *a = r.tables[t]; a->type != CR_ARG_END; a++) {
            if (a->flags & CR_ARGF_POSITIONAL) {
                positional = 1;
                continue;
            }
            if (!plain_word(a->name))
                continue;
            if (plain_word(a->short_name))
                fprintf(out, "%s-%s", first ? "" : " ", a->short_name), first = 0;
            fprintf(out, "%s--%s", first ? "" : " ", a->name), first = 0;
        }
    fputs("'\n", out);
    if (positional)
        fputs("        positional=1\n", out);
    fputs("        ((options)) || opt= named= before=\n        case $opt in\n", out);
    put_arm(out, &r, VALUE_FILE, 0, CR_ARG_END, "_cityrisk_files\n            return 0");
    for (int t = 0; t < 2; t++)
        for (const cr_arg *a = r.tables[t]; a->type != CR_ARG_END; a++) {
            if (value_of(a) != VALUE_CHOICE || !plain_word(a->name))
                continue;
            fputs("        ", out);
            put_pattern(out, a);
            fputs(")\n            _cityrisk_words '", out);
            int n = 0;
            for (int i = 0; a->names[i]; i++)
                if (plain_word(a->names[i]))
                    fprintf(out, "%s%s", n++ ? " " : "", a->names[i]);
            fputs("'\n            return 0\n            ;;\n", out);
        }
    put_arm(out, &r, VALUE_OTHER, 0, CR_ARG_END, "return 0");
    fputs("        esac\n", out);
    /* NAME=FILE (zonal's -r): the file after the '='. */
    int named = 0;
    for (int t = 0; t < 2; t++)
        for (const cr_arg *a = r.tables[t]; a->type != CR_ARG_END; a++)
            named |= (a->flags & CR_ARGF_NAMED_FILE) != 0;
    if (named) {
        fputs("        case $named in\n", out);
        put_arm(out, &r, VALUE_NONE, CR_ARGF_NAMED_FILE, CR_ARG_END, "_cityrisk_files\n            return 0");
        fputs("        esac\n", out);
    }
    /* KEY VALUE (--config): nothing to offer for the value either. */
    fputs("        case $before in\n", out);
    put_arm(out, &r, VALUE_NONE, 0, CR_ARG_PAIR, "return 0");
    fputs("        esac\n        ;;\n", out);
}

char *cr_command_completion_bash(void)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out)
        return NULL;
    fputs(HEAD, out);
    fputs("    local commands='", out);
    for (int i = 0, n = 0; i < cr_command_count(); i++)
        if (plain_word(cr_command_get(i)->name))
            fprintf(out, "%s%s", n++ ? " " : "", cr_command_get(i)->name);
    fputs("'\n", out);
    fputs(BODY, out);
    for (int i = 0; i < cr_command_count(); i++)
        if (plain_word(cr_command_get(i)->name))
            put_command(out, cr_command_get(i));
    fputs(TAIL, out);
    int failed = ferror(out);
    if (fclose(out) != 0 || failed) {
        free(text);
        return NULL;
    }
    return text;
}
