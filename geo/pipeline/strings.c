/* strings.c: small text helpers of the pipeline reader: messages, argument lists, paths. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpl_hash_set.h>
#include <cpl_string.h>
#include <json-c/json.h>

#include "cityrisk/command.h"
#include "cityrisk/json.h"
#include "cityrisk/number.h"
#include "cityrisk/pipeline.h"
#include "cityrisk/qml.h"
#include "core/internal.h"
#include "core/output.h"
#include "pipeline/internal.h"

/* The command a stage may run: one of the table's that may be a stage; NULL otherwise. */
const cr_command *cr_pl_stage_command(const char *name)
{
    const cr_command *cmd = cr_command_find(name);
    return cmd && (cmd->flags & CR_COMMAND_STAGE) ? cmd : NULL;
}

/* The names of the commands a stage may run, "inundation, arrivals, ...", for a message. */
void cr_pl_stage_commands(char *buf, size_t size)
{
    buf[0] = '\0';
    for (int i = 0; i < cr_command_count(); i++)
        if (cr_command_get(i)->flags & CR_COMMAND_STAGE)
            snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", buf[0] ? ", " : "", cr_command_get(i)->name);
}

/* printf into a new string to CPLFree(). Long values are why: CPLSPrintf() and the CPL
 * path functions write into fixed buffers, cut what does not fit and say so on stderr. */
char *cr_pl_format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *out = CPLMalloc(n > 0 ? (size_t)n + 1 : 1);
    *out = '\0';
    if (n > 0) {
        va_start(ap, fmt);
        vsnprintf(out, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return out;
}

/* The items of the CSL list joined with commas; a new string to CPLFree(). */
char *cr_pl_join(char **list)
{
    size_t len = 1;
    for (char **e = list; e && *e; e++)
        len += strlen(*e) + 1;
    char *out = CPLMalloc(len), *o = out;
    for (char **e = list; e && *e; e++) {
        size_t n = strlen(*e);
        if (e != list)
            *o++ = ',';
        memcpy(o, *e, n);
        o += n;
    }
    *o = '\0';
    return out;
}

/* Appends "--KEY" to the CSL argv. */
char **cr_pl_add_option(char **argv, const char *key)
{
    char *option = cr_pl_format("--%s", key);
    argv = CSLAddString(argv, option);
    CPLFree(option);
    return argv;
}

/* The length of path without the extension of its file name (from its last '.', not the
 * first character of the name), as cr_qml_path() cuts it. */
size_t cr_pl_stem_length(const char *path)
{
    const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
    const char *dot = strrchr(name, '.');
    return dot && dot != name ? (size_t)(dot - path) : strlen(path);
}
