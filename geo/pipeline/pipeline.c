/* pipeline.c: reading pipeline files, ordering their stages, deciding what to re-run. */
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

/* The command a stage may run: one of the table's that may be a stage; NULL otherwise. */
static const cr_command *stage_command(const char *name)
{
    const cr_command *cmd = cr_command_find(name);
    return cmd && (cmd->flags & CR_COMMAND_STAGE) ? cmd : NULL;
}

/* The names of the commands a stage may run, "inundation, arrivals, ...", for a message. */
static void stage_commands(char *buf, size_t size)
{
    buf[0] = '\0';
    for (int i = 0; i < cr_command_count(); i++)
        if (cr_command_get(i)->flags & CR_COMMAND_STAGE)
            snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", buf[0] ? ", " : "", cr_command_get(i)->name);
}

/* printf into a new string to CPLFree(). Long values are why: CPLSPrintf() and the CPL
 * path functions write into fixed buffers, cut what does not fit and say so on stderr. */
static char *format(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

static char *format(const char *fmt, ...)
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
static char *join(char **list)
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
static char **add_option(char **argv, const char *key)
{
    char *option = format("--%s", key);
    argv = CSLAddString(argv, option);
    CPLFree(option);
    return argv;
}

/* The length of path without the extension of its file name (from its last '.', not the
 * first character of the name), as cr_qml_path() cuts it. */
static size_t stem_length(const char *path)
{
    const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
    const char *dot = strrchr(name, '.');
    return dot && dot != name ? (size_t)(dot - path) : strlen(path);
}

/* ---- reading the JSON files: the pipeline and its state ---- */

/* What a JSON file that run reads may hold (pipeline.h). */
typedef struct json_limits {
    const char *kind; /* "pipeline", "state": the file in messages */
    size_t bytes;
    long containers; /* objects and arrays */
    long tokens;     /* values and keys: objects, arrays, commas and colons counted */
} json_limits;

static const json_limits PIPELINE_LIMITS = {"pipeline", CR_PIPELINE_MAX_BYTES, CR_PIPELINE_MAX_CONTAINERS,
                                            CR_PIPELINE_MAX_TOKENS};
static const json_limits STATE_LIMITS = {"state", CR_STATE_MAX_BYTES, CR_STATE_MAX_CONTAINERS,
                                         CR_STATE_MAX_TOKENS};

/* Bytes read at a time; between the blocks of a larger file the progress callback may
 * cancel. */
#define READ_BLOCK ((size_t)1 << 20)

/* A scan of the bytes json-c parses, for what json-c does not say: a NUL (a raw byte, or
 * \u0000 in a string, which json-c keeps but which cuts every C string made of it short:
 * a path would silently lose its end), and how many containers and tokens it will hold
 * (json-c needs about 800 bytes per object: a 16 MiB file of "{}," took 4.2 GB). It
 * follows json-c's lexer: strings in double or single quotes, comments. */
typedef struct json_scan {
    char quote;     /* the quote of the string we are in, 0 outside */
    char escape;    /* after a backslash in a string */
    char hex;       /* \u digits still to come */
    char comment;   /* '*' in a block comment, '/' in a line comment, 0 outside */
    char slash;     /* a '/' just seen outside strings, or a '*' inside a block comment */
    unsigned code;  /* the \u digits so far */
    long containers, tokens;
    long line;      /* the line being scanned, from 1 */
} json_scan;

enum { SCAN_OK, SCAN_NUL_BYTE, SCAN_NUL_ESCAPE, SCAN_CONTAINERS, SCAN_TOKENS };

static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static int scan_bytes(json_scan *s, const char *b, size_t n, const json_limits *lim)
{
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        if (c == '\0')
            return SCAN_NUL_BYTE;
        if (c == '\n')
            s->line++;
        if (s->quote) {
            if (s->hex) {
                int d = hex_digit(c);
                if (d < 0) { /* json-c refuses it */
                    s->hex = 0;
                    if (c == s->quote)
                        s->quote = 0;
                    continue;
                }
                s->code = s->code * 16 + (unsigned)d;
                if (--s->hex == 0 && s->code == 0)
                    return SCAN_NUL_ESCAPE;
            } else if (s->escape) {
                s->escape = 0;
                if (c == 'u') {
                    s->hex = 4;
                    s->code = 0;
                }
            } else if (c == '\\') {
                s->escape = 1;
            } else if (c == s->quote) {
                s->quote = 0;
            }
            continue;
        }
        if (s->comment) {
            if (s->comment == '/' ? c == '\n' : s->slash && c == '/')
                s->comment = 0;
            s->slash = s->comment == '*' && c == '*';
            continue;
        }
        if (s->slash) {
            s->slash = 0;
            if (c == '*' || c == '/') {
                s->comment = c == '*' ? '*' : '/';
                continue;
            }
        }
        if (c == '"' || c == '\'') {
            s->quote = c;
        } else if (c == '/') {
            s->slash = 1;
        } else if (c == '{' || c == '[' || c == ',' || c == ':') {
            if ((c == '{' || c == '[') && ++s->containers > lim->containers)
                return SCAN_CONTAINERS;
            if (++s->tokens > lim->tokens)
                return SCAN_TOKENS;
        }
    }
    return SCAN_OK;
}

/* The line of the byte at offset end of block b, which starts on line. */
static long line_at(const char *b, size_t end, long line)
{
    for (size_t i = 0; i < end; i++)
        line += b[i] == '\n';
    return line;
}

static const char *file_type(mode_t mode)
{
    return S_ISCHR(mode)    ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISFIFO(mode) ? "a named pipe"
           : S_ISSOCK(mode) ? "a socket"
           : S_ISDIR(mode)  ? "a folder"
                            : "not a regular file";
}

/* Reads the JSON value of the file at path into *doc, within lim: a regular file only
 * (opened without blocking, so that a named pipe is refused rather than waited for, and a
 * device such as /dev/zero is never read), at most lim->bytes, read by blocks (the
 * progress callback may cancel between the blocks of a larger file), a UTF-8 byte-order
 * mark skipped, no NUL, and nothing but blanks after the value. Fails naming the file as
 * "<kind> '<path>'": CR_E_IO when it cannot be read, CR_E_CANCELLED (only when
 * cancellable), else CR_E_DATA. *not_regular is set when the file exists but is not a
 * regular file. */
static cr_status read_json(cr_ctx *ctx, const char *path, const json_limits *lim, int cancellable,
                           json_object **doc, int *not_regular)
{
    *doc = NULL;
    *not_regular = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return cr_ctx_fail(ctx, CR_E_IO, "cannot read %s '%s': %s", lim->kind, path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int err = errno;
        close(fd);
        return cr_ctx_fail(ctx, CR_E_IO, "cannot read %s '%s': %s", lim->kind, path, strerror(err));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        *not_regular = 1;
        return cr_ctx_fail(ctx, CR_E_DATA, "%s '%s' is not a regular file (%s)", lim->kind, path,
                           file_type(sb.st_mode));
    }
    const double mib = 1024.0 * 1024.0;
    if ((uintmax_t)sb.st_size > (uintmax_t)lim->bytes) {
        close(fd);
        return cr_ctx_fail(ctx, CR_E_DATA, "%s '%s' is %.1f MiB, more than the %.0f MiB a %s file may be",
                           lim->kind, path, (double)sb.st_size / mib, (double)lim->bytes / mib, lim->kind);
    }
    /* a small file in a small block: no megabyte to allocate (and clear, under ASan) */
    size_t block_size = (size_t)sb.st_size < READ_BLOCK ? (size_t)sb.st_size + 1 : READ_BLOCK;
    char *block = malloc(block_size);
    json_tokener *tok = json_tokener_new();
    if (!block || !tok) {
        free(block);
        if (tok)
            json_tokener_free(tok);
        close(fd);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory reading %s '%s'", lim->kind, path);
    }
    json_scan scan = {.line = 1};
    json_object *value = NULL;
    size_t total = 0;
    cr_status st = CR_OK;
    for (;;) {
        ssize_t got = read(fd, block, block_size);
        if (got < 0 && errno == EINTR) { /* a signal: cancelled if it asked to stop */
            double done = sb.st_size > 0 ? (double)total / (double)sb.st_size : 0.0;
            if (cancellable && !cr_ctx_progress(ctx, done, NULL)) {
                st = cr_ctx_fail(ctx, CR_E_CANCELLED, "reading %s '%s' was cancelled", lim->kind, path);
                break;
            }
            continue;
        }
        if (got < 0) {
            st = cr_ctx_fail(ctx, CR_E_IO, "cannot read %s '%s': %s", lim->kind, path, strerror(errno));
            break;
        }
        if (got == 0)
            break;
        size_t n = (size_t)got, skip = total == 0 && n >= 3 && memcmp(block, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        total += n;
        if (total > lim->bytes) { /* it grew since fstat() */
            st = cr_ctx_fail(ctx, CR_E_DATA, "%s '%s' is more than the %.0f MiB a %s file may be", lim->kind,
                             path, (double)lim->bytes / mib, lim->kind);
            break;
        }
        const char *text = block + skip;
        size_t len = n - skip;
        long line = scan.line;
        switch (scan_bytes(&scan, text, len, lim)) {
        case SCAN_NUL_BYTE:
            st = cr_ctx_fail(ctx, CR_E_DATA, "%s '%s' line %ld: a NUL byte; a %s file is text", lim->kind, path,
                             scan.line, lim->kind);
            break;
        case SCAN_NUL_ESCAPE:
            st = cr_ctx_fail(ctx, CR_E_DATA,
                             "%s '%s' line %ld: a string holds \\u0000 (NUL), which would cut a path "
                             "or value short",
                             lim->kind, path, scan.line);
            break;
        case SCAN_CONTAINERS:
            st = cr_ctx_fail(ctx, CR_E_DATA,
                             "%s '%s' line %ld: more than the %ld objects and arrays a %s file may hold",
                             lim->kind, path, scan.line, lim->containers, lim->kind);
            break;
        case SCAN_TOKENS:
            st = cr_ctx_fail(ctx, CR_E_DATA,
                             "%s '%s' line %ld: more than the %ld values and keys a %s file may hold",
                             lim->kind, path, scan.line, lim->tokens, lim->kind);
            break;
        default: break;
        }
        if (st != CR_OK)
            break;
        size_t rest = len; /* where the bytes after the value start */
        if (!value) {
            value = json_tokener_parse_ex(tok, text, (int)len);
            enum json_tokener_error err = json_tokener_get_error(tok);
            if (!value && err != json_tokener_continue) {
                st = cr_ctx_fail(ctx, CR_E_DATA, "%s '%s' is not valid JSON: line %ld: %s", lim->kind, path,
                                 line_at(text, json_tokener_get_parse_end(tok), line), json_tokener_error_desc(err));
                break;
            }
            rest = value ? json_tokener_get_parse_end(tok) : len;
        } else {
            rest = 0;
        }
        for (size_t i = rest; value && i < len; i++)
            if (!strchr(" \t\r\n", text[i])) {
                st = cr_ctx_fail(ctx, CR_E_DATA,
                                 "%s '%s' is not valid JSON: line %ld: text after the end of its value",
                                 lim->kind, path, line_at(text, i, line));
                break;
            }
        if (st != CR_OK)
            break;
        if (cancellable && (size_t)sb.st_size > READ_BLOCK &&
            !cr_ctx_progress(ctx, (double)total / (double)sb.st_size, NULL)) {
            st = cr_ctx_fail(ctx, CR_E_CANCELLED, "reading %s '%s' was cancelled", lim->kind, path);
            break;
        }
    }
    if (st == CR_OK && !value) { /* the end of the file ends a value (a number) or leaves it open */
        value = json_tokener_parse_ex(tok, "", 1);
        if (!value)
            st = cr_ctx_fail(ctx, CR_E_DATA, "%s '%s' is not valid JSON: line %ld: %s", lim->kind, path, scan.line,
                             total ? json_tokener_error_desc(json_tokener_get_error(tok)) : "the file is empty");
    }
    json_tokener_free(tok);
    free(block);
    close(fd);
    if (st != CR_OK) {
        json_object_put(value);
        return st;
    }
    *doc = value;
    return CR_OK;
}

void cr_pipeline_free(cr_pipeline *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->nstages; i++) {
        free(p->stage[i].name);
        free(p->stage[i].command);
        CSLDestroy(p->stage[i].argv);
        CSLDestroy(p->stage[i].written);
        CSLDestroy(p->stage[i].inputs);
        CSLDestroy(p->stage[i].outputs);
        CSLDestroy(p->stage[i].recorded);
        free(p->stage[i].deps);
    }
    free(p->stage);
    free(p->path);
    free(p->state_path);
    free(p);
}

/* ---- building the stages ---- */

/* A file a stage writes (an output, the QGIS style beside it, another file of a
 * Shapefile), or the pipeline or its state file, which no stage may write. */
typedef struct claim {
    char *key;  /* the file, one spelling for all (path_key) */
    char *what; /* how the pipeline names it: "'out/q.qml' (the QGIS style of 'out/q.tif')" */
    int stage;  /* the stage in the order of the file, -1 for the pipeline and state files */
    size_t seq; /* the order of the claims: a stage's output before its style */
} claim;

/* A folder and its realpath(), cached: a pipeline names few folders many times. */
typedef struct folder {
    char *path, *resolved;
} folder;

/* What building the stages needs. */
typedef struct loader {
    cr_ctx *ctx;
    const char *path;
    char dir[4096];
    char cwd[4096];    /* "" when unknown */
    char *scenarios;   /* comma-joined */
    size_t arg_bytes;  /* of every stage's substituted values so far */
    cr_pipeline *p;
    int cap;           /* slots of p->stage */
    claim *claims;
    size_t nclaims, claims_cap;
    CPLHashSet *folders;
} loader;

/* text with each "{scenarios}" and "{scenario}" in it replaced, in one pass: a scenario
 * name holding either key is taken as it is, not expanded again (which never ended).
 * "{scenario}" stays when scenario is NULL. A new string, counted in L->arg_bytes; NULL
 * when that would pass CR_PIPELINE_MAX_ARG_BYTES (a failure with a message), before
 * anything that large is allocated. */
static char *substitute(loader *L, const char *text, const char *scenario)
{
    static const char many[] = "{scenarios}", one[] = "{scenario}";
    const char *scenarios = L->scenarios;
    size_t need = 1;
    for (int pass = 0; pass < 2; pass++) {
        char *out = pass ? CPLMalloc(need) : NULL, *o = out;
        for (const char *p = text; *p;) {
            const char *value = NULL;
            size_t skip = 0;
            if (strncmp(p, many, sizeof many - 1) == 0)
                value = scenarios, skip = sizeof many - 1;
            else if (scenario && strncmp(p, one, sizeof one - 1) == 0)
                value = scenario, skip = sizeof one - 1;
            size_t n = value ? strlen(value) : 1;
            if (!pass) {
                need += n;
                if (need > CR_PIPELINE_MAX_ARG_BYTES - L->arg_bytes) {
                    cr_ctx_fail(L->ctx, CR_E_DATA,
                                "pipeline '%s': the values of its stages, with {scenario} and "
                                "{scenarios} replaced, take more than the %zu MiB a pipeline may",
                                L->path, CR_PIPELINE_MAX_ARG_BYTES >> 20);
                    return NULL;
                }
            } else {
                memcpy(o, value ? value : p, n);
                o += n;
            }
            p += value ? skip : 1;
        }
        if (pass) {
            *o = '\0';
            L->arg_bytes += need;
            return out;
        }
    }
    return NULL;
}

/* A path relative to the pipeline's folder, as it will be opened. */
static char *resolve(const char *dir, const char *path)
{
    if (path[0] == '/' || strncmp(path, "/vsi", 4) == 0 || strcmp(path, "-") == 0 || !*dir)
        return CPLStrdup(path);
    return format("%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", path);
}

/* The path inside "NAME=PATH[:BAND]", resolved, with the rest kept. */
static char *resolve_raster_spec(const char *dir, const char *spec, char **path_out)
{
    const char *eq = strchr(spec, '=');
    if (!eq) {
        *path_out = resolve(dir, spec);
        return CPLStrdup(*path_out);
    }
    char *path = CPLStrdup(eq + 1);
    char *colon = strrchr(path, ':');
    const char *band = "";
    if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
        *colon = '\0';
        band = colon + 1;
    }
    *path_out = resolve(dir, path);
    char *out = format("%.*s=%s%s%s", (int)(eq - spec), spec, *path_out, *band ? ":" : "", band);
    CPLFree(path);
    return out;
}

/* A JSON scalar as an argument; NULL for other types. A number is passed as the pipeline
 * writes it (json-c keeps the text it parsed: "1.10", "1e-7"), so that the stage reads the
 * number the user wrote and its outputs record it so; a number json-c did not parse (none
 * today) falls back to the shortest text that reads back as the same double. */
static char *scalar_text(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_string: return CPLStrdup(json_object_get_string(v));
    case json_type_int:
    case json_type_double: {
        const char *written = json_object_get_string(v);
        double value = json_object_get_double(v), read;
        if (written && cr_number_parse(written, strlen(written), &read) == CR_NUMBER_FINITE && read == value)
            return CPLStrdup(written);
        char text[32];
        return CPLStrdup(cr_number_shortest(value, text, sizeof text));
    }
    default: return NULL;
    }
}

/* 1 when a stage's value mentions "{scenario}". */
static int sweeps(json_object *stage)
{
    json_object_object_foreach(stage, key, v)
    {
        (void)key;
        if (json_object_is_type(v, json_type_string) && strstr(json_object_get_string(v), "{scenario}"))
            return 1;
        if (json_object_is_type(v, json_type_array))
            for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *e = json_object_array_get_idx(v, i);
                if (json_object_is_type(e, json_type_string) &&
                    strstr(json_object_get_string(e), "{scenario}"))
                    return 1;
            }
    }
    return 0;
}

/* ---- one spelling per file ---- */

static unsigned long folder_hash(const void *e)
{
    return CPLHashSetHashStr(((const folder *)e)->path);
}

static int folder_equal(const void *a, const void *b)
{
    return strcmp(((const folder *)a)->path, ((const folder *)b)->path) == 0;
}

static void folder_free(void *e)
{
    folder *f = e;
    free(f->path);
    free(f->resolved);
    free(f);
}

/* The absolute path abs without empty, "." and ".." components. A new string. */
static char *lexical(const char *abs)
{
    size_t len = 0;
    char *out = CPLMalloc(strlen(abs) + 2);
    for (const char *p = abs; *p;) {
        while (*p == '/')
            p++;
        const char *end = p;
        while (*end && *end != '/')
            end++;
        size_t k = (size_t)(end - p);
        if (k == 2 && p[0] == '.' && p[1] == '.') {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--;
        } else if (k > 0 && !(k == 1 && p[0] == '.')) {
            out[len++] = '/';
            memcpy(out + len, p, k);
            len += k;
        }
        p = end;
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = '\0';
    return out;
}

/* The folder dir (absolute) with symlinks and ".." resolved when it exists, lexically
 * otherwise; owned by the cache. */
static const char *resolved_folder(loader *L, const char *dir)
{
    folder probe = {(char *)dir, NULL};
    folder *f = CPLHashSetLookup(L->folders, &probe);
    if (f)
        return f->resolved;
    f = malloc(sizeof *f);
    char *real = realpath(dir, NULL);
    char *resolved = real ? strdup(real) : NULL;
    free(real);
    if (!resolved) {
        char *lex = lexical(dir);
        resolved = strdup(lex);
        CPLFree(lex);
    }
    if (!f || !resolved || !(f->path = strdup(dir))) {
        free(f);
        free(resolved);
        return NULL;
    }
    f->resolved = resolved;
    CPLHashSetInsert(L->folders, f);
    return f->resolved;
}

/* One spelling for the file path names, so that "q.tif", "./q.tif", "out/../q.tif" and
 * the absolute path compare equal: absolute, its folder resolved (symlinks too) when it
 * exists. The file name itself is kept: writing renames over it, which replaces a
 * symlink rather than its target. GDAL's /vsi paths stay as they are. A new string, NULL
 * when out of memory. */
static char *path_key(loader *L, const char *path)
{
    if (strncmp(path, "/vsi", 4) == 0 || (path[0] != '/' && !*L->cwd))
        return CPLStrdup(path);
    char *abs = path[0] == '/' ? CPLStrdup(path) : format("%s/%s", L->cwd, path);
    char *slash = strrchr(abs, '/');
    const char *name = slash + 1;
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        char *out = lexical(abs);
        CPLFree(abs);
        return out;
    }
    *slash = '\0';
    const char *dir = resolved_folder(L, *abs ? abs : "/");
    char *out = dir ? format("%s/%s", strcmp(dir, "/") == 0 ? "" : dir, name) : NULL;
    CPLFree(abs);
    return out;
}

/* Records that stage (-1: none) writes path, described by what (taken). */
static cr_status add_claim(loader *L, int stage, const char *path, char *what)
{
    if (L->nclaims == L->claims_cap) {
        size_t cap = L->claims_cap ? 2 * L->claims_cap : 64;
        claim *grown = realloc(L->claims, cap * sizeof *grown);
        if (!grown) {
            CPLFree(what);
            return cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
        }
        L->claims = grown;
        L->claims_cap = cap;
    }
    char *key = path_key(L, path);
    if (!key) {
        CPLFree(what);
        return cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
    }
    L->claims[L->nclaims] = (claim){key, what, stage, L->nclaims};
    L->nclaims++;
    return CR_OK;
}

static int claim_order(const void *a, const void *b)
{
    const claim *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* The claim of the file key, NULL when nothing claims it (claims sorted). */
static const claim *find_claim(const loader *L, const char *key)
{
    size_t lo = 0, hi = L->nclaims;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(L->claims[mid].key, key);
        if (c == 0)
            return &L->claims[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The value of option "--KEY" in argv, NULL when absent. */
static const char *option_value(char **argv, const char *key)
{
    for (char **a = argv; a && a[0] && a[1]; a++)
        if (a[0][0] == '-' && a[0][1] == '-' && strcmp(a[0] + 2, key) == 0)
            return a[1];
    return NULL;
}

/* The files stage (index in the file's order) writes besides its outputs: the QGIS style
 * its command writes beside "output" (with --qml; also an output of the stage, so that a
 * missing style makes it run), and the other files of a Shapefile. */
static cr_status claim_outputs(loader *L, cr_stage *st, int stage, const char *output, int qml)
{
    cr_status status = CR_OK;
    for (char **o = st->outputs; status == CR_OK && o && *o; o++)
        status = add_claim(L, stage, *o, format("'%s'", *o));
    if (status != CR_OK || !output || strcmp(output, "-") == 0 || !*output)
        return status;
    size_t stem = stem_length(output);
    if (qml) {
        char *style = format("%.*s.qml", (int)stem, output);
        st->outputs = CSLAddString(st->outputs, style);
        status = add_claim(L, stage, style, format("'%s' (the QGIS style of '%s')", style, output));
        CPLFree(style);
    }
    const char *driver = option_value(st->argv, "format");
    if (strcmp(st->command, "zonal") == 0 &&
        (driver ? strcasecmp(driver, "ESRI Shapefile") == 0 : strcasecmp(output + stem, ".shp") == 0)) {
        static const char *const parts[] = {".shp", ".shx", ".dbf", ".prj", ".cpg"};
        for (size_t i = 0; status == CR_OK && i < sizeof parts / sizeof *parts; i++) {
            char *part = format("%.*s%s", (int)stem, output, parts[i]);
            if (strcmp(part, output) != 0)
                status = add_claim(L, stage, part, format("'%s' (a file of the Shapefile '%s')", part, output));
            CPLFree(part);
        }
    }
    return status;
}

/* Appends --KEY and values to argv: each after its own --KEY when the option repeats, else
 * one value, or the values joined with commas (an array for a list such as --sea-level). */
static char **add_values(char **argv, const char *key, char **values, int repeatable)
{
    if (repeatable || CSLCount(values) == 1) {
        for (char **e = values; e && *e; e++) {
            argv = add_option(argv, key);
            argv = CSLAddString(argv, *e);
        }
    } else if (values) {
        char *joined = join(values);
        argv = add_option(argv, key);
        argv = CSLAddString(argv, joined);
        CPLFree(joined);
    }
    return argv;
}

/* Adds one argument list for the stage object obj, index k in the file. */
static cr_status build_stage(loader *L, json_object *obj, int k, const char *command,
                             const char *base_name, const char *scenario)
{
    cr_pipeline *p = L->p;
    if (p->nstages >= CR_PIPELINE_MAX_STAGES)
        return cr_ctx_fail(L->ctx, CR_E_DATA,
                           "pipeline '%s': its stages expand to more than the %d stages a pipeline "
                           "may have",
                           L->path, CR_PIPELINE_MAX_STAGES);
    if (p->nstages == L->cap) {
        int cap = L->cap ? 2 * L->cap : 16;
        cr_stage *grown = realloc(p->stage, (size_t)cap * sizeof *grown);
        if (!grown)
            return cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
        p->stage = grown;
        L->cap = cap;
    }
    const cr_command *cmd = stage_command(command);
    cr_stage st = {0};
    char *name = substitute(L, base_name, scenario);
    if (!name)
        return cr_ctx_status(L->ctx);
    st.command = CPLStrdup(command);
    st.name = scenario && !strstr(base_name, "{scenario}")
                  ? format("%s[%s]", name, scenario)
                  : CPLStrdup(name);
    CPLFree(name);
    st.argv = CSLAddString(NULL, command);
    st.written = CSLAddString(NULL, command);
    char *output = NULL; /* the value of "output" */
    cr_status status = CR_OK;
    json_object_object_foreach(obj, key, v)
    {
        if (strcmp(key, "stage") == 0 || strcmp(key, "name") == 0)
            continue;
        /* What the key is, from the command's table: unknown keys are its parser's to refuse. */
        const cr_arg *arg = cr_command_arg(cmd, key);
        if (arg && (arg->flags & CR_ARGF_NOT_IN_PIPELINE)) {
            status = cr_ctx_fail(L->ctx, CR_E_DATA,
                                 "pipeline '%s': stage %d (%s): key '%s' is not allowed in a "
                                 "pipeline (use cityrisk run --json)",
                                 L->path, k + 1, st.name, key);
            break;
        }
        int is_input = arg && arg->role == CR_ROLE_INPUT, is_output = arg && arg->role == CR_ROLE_OUTPUT;
        int repeatable = arg && arg->type == CR_ARG_LIST;
        int main_output = is_output && arg->offset == offsetof(cr_command_base, output);
        char **values = NULL, **written = NULL; /* as passed, and as the pipeline writes them */
        if (json_object_is_type(v, json_type_boolean)) {
            if (json_object_get_boolean(v)) {
                st.argv = add_option(st.argv, key);
                st.written = add_option(st.written, key);
            }
            continue;
        }
        if (json_object_is_type(v, json_type_array)) {
            for (size_t i = 0; i < json_object_array_length(v) && status == CR_OK; i++) {
                char *text = scalar_text(json_object_array_get_idx(v, i));
                if (!text)
                    status = cr_ctx_fail(L->ctx, CR_E_DATA,
                                         "pipeline '%s': stage %d (%s): key '%s': item %zu must "
                                         "be a string or a number",
                                         L->path, k + 1, st.name, key, i + 1);
                else
                    values = CSLAddString(values, text);
                CPLFree(text);
            }
        } else {
            char *text = scalar_text(v);
            if (!text)
                status = cr_ctx_fail(L->ctx, CR_E_DATA,
                                     "pipeline '%s': stage %d (%s): key '%s' must be a string, "
                                     "a number, a boolean or an array of them",
                                     L->path, k + 1, st.name, key);
            else
                values = CSLAddString(values, text);
            CPLFree(text);
        }
        /* A file option takes one file: joined with commas, two would name neither. */
        if (status == CR_OK && (is_input || is_output) && !repeatable && CSLCount(values) > 1)
            status = cr_ctx_fail(L->ctx, CR_E_DATA,
                                 "pipeline '%s': stage %d (%s): key '%s' names one file, not an "
                                 "array of %d",
                                 L->path, k + 1, st.name, key, CSLCount(values));
        for (char **e = values; status == CR_OK && e && *e; e++) {
            char *s = substitute(L, *e, scenario);
            if (!s) {
                status = cr_ctx_status(L->ctx);
                break;
            }
            CPLFree(*e);
            *e = s;
            written = CSLAddString(written, s);
            if (is_input || is_output) {
                char *path = NULL;
                char *value = arg->flags & CR_ARGF_NAMED_FILE ? resolve_raster_spec(L->dir, *e, &path)
                                                              : (path = resolve(L->dir, *e), CPLStrdup(path));
                if (is_input)
                    st.inputs = CSLAddString(st.inputs, path);
                else if (strcmp(path, "-") != 0)
                    st.outputs = CSLAddString(st.outputs, path);
                if (main_output) {
                    CPLFree(output);
                    output = CPLStrdup(path);
                }
                CPLFree(path);
                CPLFree(*e);
                *e = value;
            }
        }
        if (status != CR_OK) {
            CSLDestroy(values);
            CSLDestroy(written);
            break;
        }
        st.argv = add_values(st.argv, key, values, repeatable);
        st.written = add_values(st.written, key, written, repeatable);
        CSLDestroy(values);
        CSLDestroy(written);
    }
    /* QGIS styles are on by default in pipelines ("qml": false turns them off), and are
     * outputs like the others: a missing one makes the stage run. */
    json_object *qml = NULL;
    if (status == CR_OK && cr_command_has_style(cmd) && !json_object_object_get_ex(obj, "qml", &qml)) {
        st.argv = CSLAddString(st.argv, "--qml");
        qml = json_object_new_boolean(1);
        json_object_object_add(obj, "qml", qml); /* the other instances of a sweep see it too */
    }
    if (status == CR_OK)
        status = claim_outputs(L, &st, p->nstages, output, qml && json_object_get_boolean(qml));
    CPLFree(output);
    /* The strings came from CPL: move them to malloc ownership for cr_pipeline_free(). */
    cr_stage *dst = &p->stage[p->nstages];
    *dst = st;
    dst->name = status == CR_OK ? strdup(st.name) : NULL;
    dst->command = status == CR_OK ? strdup(st.command) : NULL;
    CPLFree(st.name);
    CPLFree(st.command);
    p->nstages++; /* freed with the pipeline, whole or not */
    if (status == CR_OK && (!dst->name || !dst->command))
        status = cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
    return status;
}

/* Applies "STAGE.OPTION=VALUE" to the stages named (or of the command) STAGE. */
static cr_status apply_sets(cr_ctx *ctx, json_object *stages, char **sets)
{
    for (char **s = sets; s && *s; s++) {
        const char *dot = strchr(*s, '.'), *eq = strchr(*s, '=');
        if (!dot || !eq || eq < dot || dot == *s || eq == dot + 1)
            return cr_ctx_fail(ctx, CR_E_USAGE, "--set '%s': expected STAGE.OPTION=VALUE", *s);
        char *stage = strndup(*s, (size_t)(dot - *s)), *key = strndup(dot + 1, (size_t)(eq - dot - 1));
        int matched = 0;
        for (size_t i = 0; stage && key && i < json_object_array_length(stages); i++) {
            json_object *obj = json_object_array_get_idx(stages, i), *name = NULL, *cmd = NULL;
            json_object_object_get_ex(obj, "name", &name);
            json_object_object_get_ex(obj, "stage", &cmd);
            const char *n = name ? json_object_get_string(name) : NULL;
            const char *c = cmd ? json_object_get_string(cmd) : NULL;
            if ((n && strcmp(n, stage) == 0) || (!n && c && strcmp(c, stage) == 0)) {
                /* true and false set flags, as in the file; anything else is text. */
                json_object *value = strcmp(eq + 1, "true") == 0    ? json_object_new_boolean(1)
                                     : strcmp(eq + 1, "false") == 0 ? json_object_new_boolean(0)
                                                                    : json_object_new_string(eq + 1);
                json_object_object_add(obj, key, value);
                matched = 1;
            }
        }
        free(stage);
        free(key);
        if (!matched)
            return cr_ctx_fail(ctx, CR_E_USAGE, "--set '%s': no stage of that name", *s);
    }
    return CR_OK;
}

/* ---- checking and ordering: sorting and searching, so that 100 000 stages take a
 * second, not hours ---- */

/* A stage's name and its index, sorted by name then index. */
typedef struct named {
    const char *name;
    int index;
} named;

static int by_name(const void *a, const void *b)
{
    const named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

static int by_index(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Stage names are unique; the first repeated one (in the file's order) is named. */
static cr_status check_names(loader *L)
{
    cr_pipeline *p = L->p;
    int n = p->nstages, worst = -1;
    named *idx = malloc((size_t)(n ? n : 1) * sizeof *idx);
    if (!idx)
        return cr_ctx_fail(L->ctx, CR_E_IO, "out of memory");
    for (int i = 0; i < n; i++)
        idx[i] = (named){p->stage[i].name, i};
    qsort(idx, (size_t)n, sizeof *idx, by_name);
    for (int i = 1; i < n; i++)
        if (strcmp(idx[i].name, idx[i - 1].name) == 0 && (worst < 0 || idx[i].index < worst))
            worst = idx[i].index;
    free(idx);
    if (worst >= 0)
        return cr_ctx_fail(L->ctx, CR_E_DATA, "pipeline '%s': two stages are named '%s'; give one a \"name\"",
                           L->path, p->stage[worst].name);
    return CR_OK;
}

/* No two stages write one file, and none writes the pipeline or its state file (claimed
 * first, by no stage): the later would replace what the earlier made, and both would
 * seem up to date. The conflict met first in the file's order is named. Sorts the
 * claims. */
static cr_status check_claims(loader *L)
{
    qsort(L->claims, L->nclaims, sizeof *L->claims, claim_order);
    const claim *first = NULL, *second = NULL;
    for (size_t i = 1; i < L->nclaims; i++) {
        const claim *a = &L->claims[i - 1], *b = &L->claims[i];
        if (strcmp(a->key, b->key) == 0 && (!second || b->seq < second->seq)) {
            first = a;
            second = b;
        }
    }
    if (!second)
        return CR_OK;
    const char *name = L->p->stage[second->stage].name;
    if (first->stage < 0)
        return cr_ctx_fail(L->ctx, CR_E_DATA, "pipeline '%s': stage %s would write %s", L->path, name, first->what);
    if (first->stage == second->stage)
        return cr_ctx_fail(L->ctx, CR_E_DATA, "pipeline '%s': stage %s writes one file twice: %s and %s", L->path,
                           name, first->what, second->what);
    return cr_ctx_fail(L->ctx, CR_E_DATA,
                       "pipeline '%s': stages %s and %s write one file: %s and %s; give each stage "
                       "outputs of its own",
                       L->path, L->p->stage[first->stage].name, name, first->what, second->what);
}

/* A min-heap of stage indices: of the stages ready to run, the first in the file. */
static void heap_push(int *heap, int *n, int v)
{
    int i = (*n)++;
    while (i > 0 && heap[(i - 1) / 2] > v) {
        heap[i] = heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    heap[i] = v;
}

static int heap_pop(int *heap, int *n)
{
    int top = heap[0], v = heap[--(*n)], i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && heap[c + 1] < heap[c])
            c++;
        if (heap[c] >= v)
            break;
        heap[i] = heap[c];
        i = c;
    }
    if (*n > 0)
        heap[i] = v;
    return top;
}

/* Orders the stages so that each comes after those whose outputs it reads, and otherwise
 * as early as the file puts it (of the stages ready, the first in the file runs first),
 * fills deps (rising), and checks that every input exists or is made by a stage; fails
 * naming a stage that reads its own output, directly or through a cycle. The claims are
 * sorted (check_claims). */
static cr_status order_stages(loader *L)
{
    cr_ctx *ctx = L->ctx;
    cr_pipeline *p = L->p;
    size_t n = (size_t)p->nstages, n1 = n ? n : 1;
    int *ndeps = calloc(n1, sizeof *ndeps), *start = calloc(n1 + 1, sizeof *start);
    int *indeg = calloc(n1, sizeof *indeg), *next = calloc(n1 + 1, sizeof *next);
    int *heap = malloc(n1 * sizeof *heap), *order = malloc(n1 * sizeof *order);
    int *pos = malloc(n1 * sizeof *pos);
    int **deps = calloc(n1, sizeof *deps), *succ = NULL;
    cr_status st = CR_OK;
    if (!ndeps || !start || !indeg || !next || !heap || !order || !pos || !deps) {
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        goto done;
    }
    /* the stages each reads from, and whether what it reads exists */
    for (size_t i = 0; st == CR_OK && i < n; i++) {
        cr_stage *s = &p->stage[i];
        int nin = CSLCount(s->inputs);
        deps[i] = malloc((size_t)(nin ? nin : 1) * sizeof **deps);
        if (!deps[i]) {
            st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
            break;
        }
        for (int k = 0; k < nin; k++) {
            char *key = path_key(L, s->inputs[k]);
            const claim *c = key ? find_claim(L, key) : NULL;
            CPLFree(key);
            if (!key) {
                st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
                break;
            }
            if (c && c->stage == (int)i) {
                st = cr_ctx_fail(ctx, CR_E_DATA,
                                 "pipeline '%s': stage %s reads '%s', which it writes itself: a cycle", L->path,
                                 s->name, s->inputs[k]);
                break;
            }
            if (c && c->stage >= 0)
                deps[i][ndeps[i]++] = c->stage;
        }
        qsort(deps[i], (size_t)ndeps[i], sizeof **deps, by_index);
        int u = 0;
        for (int k = 0; k < ndeps[i]; k++)
            if (u == 0 || deps[i][u - 1] != deps[i][k])
                deps[i][u++] = deps[i][k];
        ndeps[i] = u;
        indeg[i] = u;
    }
    if (st != CR_OK)
        goto done;
    /* who waits for whom, as one array per stage (counting sort) */
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < ndeps[i]; k++)
            start[deps[i][k] + 1]++;
    for (size_t i = 0; i < n; i++)
        start[i + 1] += start[i];
    succ = malloc((size_t)(start[n] ? start[n] : 1) * sizeof *succ);
    if (!succ) {
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        goto done;
    }
    memcpy(next, start, (n + 1) * sizeof *next);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < ndeps[i]; k++)
            succ[next[deps[i][k]]++] = (int)i;
    int nheap = 0, done = 0;
    for (size_t i = 0; i < n; i++)
        if (indeg[i] == 0)
            heap_push(heap, &nheap, (int)i);
    while (nheap > 0) {
        int i = heap_pop(heap, &nheap);
        pos[i] = done;
        order[done++] = i;
        for (int e = start[i]; e < start[i + 1]; e++)
            if (--indeg[succ[e]] == 0)
                heap_push(heap, &nheap, succ[e]);
    }
    if ((size_t)done < n) {
        /* from the first stage left, n steps back through stages left reach a cycle */
        int i = 0;
        while (indeg[i] == 0)
            i++;
        for (size_t step = 0; step < n; step++) {
            int k = 0;
            while (indeg[deps[i][k]] == 0) /* one of them is left: that is why i is */
                k++;
            i = deps[i][k];
        }
        char *cycle = CPLStrdup(p->stage[i].name);
        for (int j = i, len = 1;;) {
            int k = 0;
            while (indeg[deps[j][k]] == 0)
                k++;
            j = deps[j][k];
            if (j == i || ++len > 6) {
                char *longer = format("%s, %s", cycle, j == i ? p->stage[j].name : "...");
                CPLFree(cycle);
                cycle = longer;
                break;
            }
            char *longer = format("%s, %s", cycle, p->stage[j].name);
            CPLFree(cycle);
            cycle = longer;
        }
        st = cr_ctx_fail(ctx, CR_E_DATA,
                         "pipeline '%s': stage %s depends on its own output through a cycle of stages, "
                         "each reading the next one's output: %s",
                         L->path, p->stage[i].name, cycle);
        CPLFree(cycle);
        goto done;
    }
    /* every input exists or is made, in the file's order */
    for (size_t i = 0; st == CR_OK && i < n; i++)
        for (char **in = p->stage[i].inputs; in && *in; in++) {
            struct stat sb;
            if (strncmp(*in, "/vsi", 4) == 0 || stat(*in, &sb) == 0)
                continue;
            char *key = path_key(L, *in);
            const claim *c = key ? find_claim(L, key) : NULL;
            CPLFree(key);
            if (!c || c->stage < 0) {
                st = cr_ctx_fail(ctx, CR_E_DATA,
                                 "pipeline '%s': stage %s: input '%s' does not exist and no stage makes it",
                                 L->path, p->stage[i].name, *in);
                break;
            }
        }
    if (st != CR_OK)
        goto done;
    cr_stage *sorted = malloc(n1 * sizeof *sorted);
    if (!sorted) {
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < n; k++) {
        int i = order[k];
        sorted[k] = p->stage[i];
        for (int d = 0; d < ndeps[i]; d++)
            deps[i][d] = pos[deps[i][d]];
        qsort(deps[i], (size_t)ndeps[i], sizeof **deps, by_index);
        free(sorted[k].deps);
        sorted[k].deps = deps[i];
        sorted[k].ndeps = ndeps[i];
        deps[i] = NULL;
    }
    free(p->stage);
    p->stage = sorted;
    L->cap = (int)n;
done:
    for (size_t i = 0; deps && i < n; i++)
        free(deps[i]);
    free(deps);
    free(ndeps);
    free(start);
    free(indeg);
    free(next);
    free(heap);
    free(order);
    free(pos);
    free(succ);
    return st;
}

static cr_status load_stages(loader *L, json_object *doc, char **sets)
{
    cr_ctx *ctx = L->ctx;
    json_object *stages = NULL, *scen = NULL;
    json_object_object_foreach(doc, key, v)
    {
        (void)v;
        if (strcmp(key, "stages") != 0 && strcmp(key, "scenarios") != 0 && strcmp(key, "description") != 0)
            return cr_ctx_fail(ctx, CR_E_DATA,
                               "pipeline '%s': unknown key '%s' (stages, scenarios, description)",
                               L->path, key);
    }
    if (!json_object_object_get_ex(doc, "stages", &stages) || !json_object_is_type(stages, json_type_array))
        return cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s': 'stages' must be an array of stages", L->path);
    char **names = NULL;
    if (json_object_object_get_ex(doc, "scenarios", &scen)) {
        if (!json_object_is_type(scen, json_type_array) || json_object_array_length(scen) == 0)
            return cr_ctx_fail(ctx, CR_E_DATA,
                               "pipeline '%s': 'scenarios' must be a non-empty array of names",
                               L->path);
        for (size_t i = 0; i < json_object_array_length(scen); i++) {
            json_object *e = json_object_array_get_idx(scen, i);
            if (!json_object_is_type(e, json_type_string)) {
                CSLDestroy(names);
                return cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s': scenario %zu must be a string",
                                   L->path, i + 1);
            }
            names = CSLAddString(names, json_object_get_string(e));
        }
    }
    L->scenarios = join(names);
    cr_status st = apply_sets(ctx, stages, sets);
    for (size_t k = 0; st == CR_OK && k < json_object_array_length(stages); k++) {
        json_object *obj = json_object_array_get_idx(stages, k), *cmd = NULL, *name = NULL;
        if (!json_object_is_type(obj, json_type_object)) {
            st = cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s': stage %zu must be an object", L->path, k + 1);
            break;
        }
        if (!json_object_object_get_ex(obj, "stage", &cmd) || !json_object_is_type(cmd, json_type_string) ||
            !stage_command(json_object_get_string(cmd))) {
            char commands[256];
            stage_commands(commands, sizeof commands);
            st = cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s': stage %zu: key 'stage' must name a command (%s)",
                             L->path, k + 1, commands);
            break;
        }
        const char *command = json_object_get_string(cmd);
        const char *base = command;
        if (json_object_object_get_ex(obj, "name", &name)) {
            if (!json_object_is_type(name, json_type_string) || !*json_object_get_string(name)) {
                st = cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s': stage %zu: key 'name' must be a string",
                                 L->path, k + 1);
                break;
            }
            base = json_object_get_string(name);
        }
        if (sweeps(obj)) {
            if (!names)
                st = cr_ctx_fail(ctx, CR_E_DATA,
                                 "pipeline '%s': stage %zu (%s) uses {scenario} but the pipeline "
                                 "has no 'scenarios'",
                                 L->path, k + 1, base);
            for (char **s = names; st == CR_OK && s && *s; s++)
                st = build_stage(L, obj, (int)k, command, base, *s);
        } else {
            st = build_stage(L, obj, (int)k, command, base, NULL);
        }
    }
    CSLDestroy(names);
    if (st == CR_OK)
        st = check_names(L);
    if (st == CR_OK)
        st = check_claims(L);
    if (st == CR_OK)
        st = order_stages(L);
    return st;
}

/* ---- the state file ---- */

/* Checks that doc has the state's shape: an object of stages, each an object whose
 * "argv" is an array of strings; fails naming the state file otherwise. */
static cr_status check_state(cr_ctx *ctx, const char *path, json_object *doc)
{
    if (!json_object_is_type(doc, json_type_object))
        return cr_ctx_fail(ctx, CR_E_DATA, "state '%s' is not a JSON object", path);
    json_object_object_foreach(doc, name, entry)
    {
        json_object *argv = NULL;
        if (!json_object_is_type(entry, json_type_object) || !json_object_object_get_ex(entry, "argv", &argv) ||
            !json_object_is_type(argv, json_type_array))
            return cr_ctx_fail(ctx, CR_E_DATA, "state '%s': stage '%s' has no 'argv' array", path, name);
        for (size_t k = 0; k < json_object_array_length(argv); k++)
            if (!json_object_is_type(json_object_array_get_idx(argv, k), json_type_string))
                return cr_ctx_fail(ctx, CR_E_DATA, "state '%s': stage '%s': 'argv' item %zu is not a string", path,
                                   name, k + 1);
    }
    return CR_OK;
}

/* The state file as it is on disk, in *doc: NULL when absent or when it cannot be used,
 * which is said in *why (a message to free(), NULL when absent or fine); *not_regular
 * when it is there but not a regular file. Fails only when cancelled. */
static cr_status read_state(cr_ctx *ctx, const char *path, int cancellable, json_object **doc, char **why,
                            int *not_regular)
{
    *doc = NULL;
    *why = NULL;
    *not_regular = 0;
    struct stat sb;
    if (stat(path, &sb) != 0 && errno == ENOENT)
        return CR_OK; /* no state yet (or a symlink to nothing) */
    cr_status st = read_json(ctx, path, &STATE_LIMITS, cancellable, doc, not_regular);
    if (st == CR_E_CANCELLED)
        return st;
    if (st == CR_OK)
        st = check_state(ctx, path, *doc);
    if (st != CR_OK) {
        json_object_put(*doc);
        *doc = NULL;
        *why = strdup(cr_ctx_error(ctx));
        cr_ctx_clear_error(ctx);
        if (!*why)
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    }
    return CR_OK;
}

/* Reads each stage's recorded arguments from the state file, once. */
static cr_status load_state(cr_ctx *ctx, cr_pipeline *p)
{
    json_object *doc = NULL;
    char *why = NULL;
    int not_regular = 0;
    cr_status st = read_state(ctx, p->state_path, 1, &doc, &why, &not_regular);
    if (st != CR_OK)
        return st;
    if (why) {
        cr_ctx_log(ctx, CR_LOG_WARNING, "%s: treated as absent, so every stage runs%s", why,
                   not_regular ? ", and no state is recorded there" : "");
        free(why);
    }
    for (int i = 0; doc && i < p->nstages; i++) {
        json_object *entry = NULL, *argv = NULL;
        if (!json_object_object_get_ex(doc, p->stage[i].name, &entry))
            continue;
        json_object_object_get_ex(entry, "argv", &argv);
        size_t n = json_object_array_length(argv);
        char **list = calloc(n + 1, sizeof *list);
        for (size_t k = 0; list && k < n; k++)
            if (!(list[k] = CPLStrdup(json_object_get_string(json_object_array_get_idx(argv, k))))) {
                CSLDestroy(list);
                list = NULL;
            }
        if (!list) {
            json_object_put(doc);
            return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
        }
        p->stage[i].recorded = list;
    }
    json_object_put(doc);
    return CR_OK;
}

cr_status cr_pipeline_load(cr_ctx *ctx, const char *path, char **sets, cr_pipeline **out)
{
    *out = NULL;
    /* a missing, unreadable or empty file or a folder, named as every input is */
    cr_status checked = cr_check_input_path(ctx, path, "pipeline");
    if (checked != CR_OK)
        return checked;
    json_object *doc = NULL;
    int not_regular = 0;
    cr_status st = read_json(ctx, path, &PIPELINE_LIMITS, 1, &doc, &not_regular);
    if (st != CR_OK)
        return st;
    cr_pipeline *p = calloc(1, sizeof *p);
    loader L = {.ctx = ctx, .path = path, .p = p};
    L.folders = CPLHashSetNew(folder_hash, folder_equal, folder_free);
    if (!p || !L.folders) {
        json_object_put(doc);
        free(p);
        if (L.folders)
            CPLHashSetDestroy(L.folders);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    }
    if (!getcwd(L.cwd, sizeof L.cwd))
        L.cwd[0] = '\0';
    /* The folder relative paths are read from: CPLGetPath() would cut a long one. */
    const char *slash = strrchr(path, '/');
    size_t dir_len = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
    if (dir_len >= sizeof L.dir) {
        json_object_put(doc);
        free(p);
        CPLHashSetDestroy(L.folders);
        return cr_ctx_fail(ctx, CR_E_USAGE, "pipeline '%s': its folder's path is too long", path);
    }
    memcpy(L.dir, path, dir_len);
    L.dir[dir_len] = '\0';
    p->path = strdup(path);
    const char *sep = *L.dir && L.dir[strlen(L.dir) - 1] != '/' ? "/" : "";
    char *state = format("%s%s.%s.state.json", L.dir, sep, CPLGetFilename(path));
    p->state_path = strdup(state);
    CPLFree(state);
    if (!p->path || !p->state_path)
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    if (st == CR_OK)
        st = add_claim(&L, -1, p->path, format("'%s', the pipeline file itself", p->path));
    if (st == CR_OK)
        st = add_claim(&L, -1, p->state_path, format("'%s', the pipeline's state file", p->state_path));
    if (st == CR_OK)
        st = json_object_is_type(doc, json_type_object)
                 ? load_stages(&L, doc, sets)
                 : cr_ctx_fail(ctx, CR_E_DATA, "pipeline '%s' must be a JSON object", path);
    CPLFree(L.scenarios);
    for (size_t i = 0; i < L.nclaims; i++) {
        CPLFree(L.claims[i].key);
        CPLFree(L.claims[i].what);
    }
    free(L.claims);
    CPLHashSetDestroy(L.folders);
    json_object_put(doc);
    if (st == CR_OK)
        st = load_state(ctx, p);
    if (st != CR_OK) {
        cr_pipeline_free(p);
        return st;
    }
    *out = p;
    return CR_OK;
}

/* ---- what runs ---- */

static int same_args(char **recorded, char **args)
{
    if (!recorded || !args)
        return 0;
    for (; *recorded && *args; recorded++, args++)
        if (strcmp(*recorded, *args) != 0)
            return 0;
    return !*recorded && !*args;
}

static double mtime_of(const struct stat *sb)
{
    return (double)sb->st_mtim.tv_sec + sb->st_mtim.tv_nsec * 1e-9;
}

cr_stage_state cr_pipeline_stage_state(const cr_pipeline *p, int i, const int *runs, char *why,
                                       size_t size)
{
    const cr_stage *s = &p->stage[i];
    for (int d = 0; d < s->ndeps; d++)
        if (runs[s->deps[d]]) {
            snprintf(why, size, "stage %s, whose output it reads, runs", p->stage[s->deps[d]].name);
            return CR_STAGE_UPSTREAM;
        }
    double oldest = 1e300, newest = -1e300;
    struct stat sb;
    for (char **o = s->outputs; o && *o; o++) {
        if (stat(*o, &sb) != 0) {
            snprintf(why, size, "output %s does not exist", *o);
            return CR_STAGE_NO_OUTPUT;
        }
        oldest = mtime_of(&sb) < oldest ? mtime_of(&sb) : oldest;
    }
    const char *newer = NULL;
    for (char **in = s->inputs; in && *in; in++)
        if (stat(*in, &sb) == 0 && mtime_of(&sb) > newest) {
            newest = mtime_of(&sb);
            newer = *in;
        }
    if (!s->outputs || newest > oldest) {
        snprintf(why, size, s->outputs ? "input %s is newer than its outputs" : "it has no output",
                 newer);
        return CR_STAGE_INPUT_NEWER;
    }
    if (!same_args(s->recorded, s->argv)) {
        snprintf(why, size, "its options differ from those of its last run");
        return CR_STAGE_CHANGED;
    }
    snprintf(why, size, "up to date");
    return CR_STAGE_UP_TO_DATE;
}

cr_status cr_pipeline_record(cr_ctx *ctx, const cr_pipeline *p, int i)
{
    /* The records of other stages as they are now on disk (another run may have added
     * some); a state that cannot be used is replaced, one that is not a regular file is
     * left alone (load warned). Not cancellable: the stage has run, and a signal now must
     * not make the next run repeat it. */
    json_object *doc = NULL;
    char *why = NULL;
    int not_regular = 0;
    cr_status st = read_state(ctx, p->state_path, 0, &doc, &why, &not_regular);
    free(why);
    if (st != CR_OK || not_regular)
        return st;
    if (!doc)
        doc = json_object_new_object();
    json_object *entry = json_object_new_object(), *argv = json_object_new_array();
    for (char **a = p->stage[i].argv; a && *a; a++)
        json_object_array_add(argv, json_object_new_string(*a));
    json_object_object_add(entry, "argv", argv);
    json_object_object_add(doc, p->stage[i].name, entry);
    /* Through a locked temporary as every output, so that a second signal removes it and a
     * run after kill -9 sweeps it; the state is the pipeline's to replace. */
    cr_temp temp = CR_TEMP_NONE;
    st = cr_temp_file(ctx, p->state_path, "run", &temp);
    if (st == CR_OK && json_object_to_file_ext(temp.path, doc, JSON_C_TO_STRING_PRETTY) != 0)
        st = cr_ctx_fail(ctx, CR_E_IO, "cannot write '%s': %s", p->state_path, strerror(errno));
    if (st == CR_OK)
        st = cr_temp_publish(ctx, &temp, p->state_path, 1);
    cr_temp_discard(&temp);
    json_object_put(doc);
    return st;
}
