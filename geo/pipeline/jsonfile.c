/* jsonfile.c: reading the JSON files run reads (the pipeline and its state) within limits,
 * cancellably, refusing NUL characters and files that are not regular. */
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

/* ---- reading the JSON files: the pipeline and its state ---- */
const json_limits CR_PL_PIPELINE_LIMITS = {"pipeline", CR_PIPELINE_MAX_BYTES, CR_PIPELINE_MAX_CONTAINERS,
                                         CR_PIPELINE_MAX_TOKENS};
const json_limits CR_PL_STATE_LIMITS = {"state", CR_STATE_MAX_BYTES, CR_STATE_MAX_CONTAINERS,
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
cr_status cr_pl_read_json(cr_ctx *ctx, const char *path, const json_limits *lim, int cancellable,
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
