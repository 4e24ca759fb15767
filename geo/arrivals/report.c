/* report.c: the CSV of rejected records. */
#define _POSIX_C_SOURCE 200809L
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "core/output.h"

struct cr_report {
    char *path;
    cr_temp temp;
    FILE *fp;
    int columns;
    int overwrite;
};

/* Writes one CSV field, quoted when it holds a delimiter, a quote, a line break or
 * surrounding blanks (RFC 4180). Any of the delimiters readers sniff counts (';', tab,
 * '|' too): a column name full of them would otherwise make the report's header look
 * delimited by them. */
static void put_field(FILE *fp, const char *text)
{
    size_t n = text ? strlen(text) : 0;
    int quote = n > 0 && (strpbrk(text, ",;\t|\"\r\n") || text[0] == ' ' || text[n - 1] == ' ');
    if (!quote) {
        if (n)
            fputs(text, fp);
        return;
    }
    putc('"', fp);
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            putc('"', fp);
        putc(*p, fp);
    }
    putc('"', fp);
}

static cr_status write_failed(cr_ctx *ctx, const cr_report *r)
{
    return cr_ctx_fail(ctx, CR_E_IO, "cannot write report '%s': %s", r->path, strerror(errno));
}

cr_status cr_report_open(cr_ctx *ctx, const char *path, int overwrite, const char *const *inputs,
                         const char *id_name, const char *const *columns, int ncolumns,
                         cr_report **out)
{
    *out = NULL;
    cr_status st = cr_outputs_check(ctx, path, "report", NULL, inputs, overwrite);
    if (st != CR_OK)
        return st;
    cr_report *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    }
    r->temp = (cr_temp)CR_TEMP_NONE;
    r->columns = ncolumns;
    r->overwrite = overwrite;
    if ((st = cr_temp_file(ctx, path, "report", &r->temp)) != CR_OK) {
        cr_report_discard(r);
        return st;
    }
    if (!(r->fp = fopen(r->temp.path, "w"))) {
        st = write_failed(ctx, r);
        cr_report_discard(r);
        return st;
    }
    fprintf(r->fp, "%s,reason,message", id_name);
    for (int i = 0; i < ncolumns; i++) {
        putc(',', r->fp);
        put_field(r->fp, columns[i]);
    }
    putc('\n', r->fp);
    *out = r;
    return CR_OK;
}

cr_status cr_report_add(cr_ctx *ctx, cr_report *r, int64_t id, const char *reason,
                        const char *message, const char *const *values, int nvalues)
{
    fprintf(r->fp, "%" PRId64 ",%s,", id, reason);
    put_field(r->fp, message);
    for (int i = 0; i < r->columns; i++) {
        putc(',', r->fp);
        put_field(r->fp, i < nvalues ? values[i] : NULL);
    }
    if (putc('\n', r->fp) == EOF)
        return write_failed(ctx, r);
    return CR_OK;
}

cr_status cr_report_publish(cr_ctx *ctx, cr_report *r)
{
    FILE *fp = r->fp;
    r->fp = NULL;
    int failed = ferror(fp) | fflush(fp);
    failed |= fclose(fp);
    cr_status st = failed ? write_failed(ctx, r) : cr_temp_publish(ctx, &r->temp, r->path, r->overwrite);
    cr_report_discard(r);
    return st;
}

void cr_report_discard(cr_report *r)
{
    if (!r)
        return;
    if (r->fp)
        fclose(r->fp);
    cr_temp_discard(&r->temp);
    free(r->path);
    free(r);
}
