/* csv.c: streaming CSV records with their line numbers. */
#define _POSIX_C_SOURCE 200809L
#include "csv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct cr_csv {
    char *path;
    FILE *fp;
    char delimiter;
    long line;      /* the line the reader is on */
    char *text;     /* the current record's field texts, NUL-separated */
    size_t text_len, text_cap;
    size_t *starts; /* offsets of the fields in text */
    char **fields;
    int field_cap;
};

/* Picks the delimiter that occurs most often outside quotes in the first line. */
static char sniff_delimiter(FILE *fp)
{
    static const char candidates[] = {',', ';', '\t', '|'};
    long counts[4] = {0};
    int quoted = 0, c;
    while ((c = getc(fp)) != EOF && (quoted || (c != '\n' && c != '\r'))) {
        if (c == '"')
            quoted = !quoted;
        for (int i = 0; i < 4 && !quoted; i++)
            counts[i] += c == candidates[i];
    }
    int best = 0;
    for (int i = 1; i < 4; i++)
        if (counts[i] > counts[best])
            best = i;
    return candidates[best];
}

/* Skips a UTF-8 byte-order mark at the start of fp. */
static void skip_bom(FILE *fp)
{
    unsigned char bom[3];
    size_t n = fread(bom, 1, 3, fp);
    if (!(n == 3 && bom[0] == 0xEF && bom[1] == 0xBB && bom[2] == 0xBF))
        rewind(fp);
}

cr_status cr_csv_open(cr_ctx *ctx, const char *path, cr_csv **out)
{
    *out = NULL;
    cr_status st = cr_check_input_path(ctx, path, "CSV");
    if (st != CR_OK)
        return st;
    cr_csv *csv = calloc(1, sizeof *csv);
    if (!csv || !(csv->path = strdup(path))) {
        free(csv);
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory reading '%s'", path);
    }
    csv->fp = fopen(path, "rb");
    if (!csv->fp) {
        st = cr_ctx_fail(ctx, CR_E_IO, "cannot open CSV '%s': %s", path, strerror(errno));
        cr_csv_close(csv);
        return st;
    }
    skip_bom(csv->fp);
    long start = ftell(csv->fp);
    csv->delimiter = sniff_delimiter(csv->fp);
    fseek(csv->fp, start, SEEK_SET);
    csv->line = 1;
    *out = csv;
    return CR_OK;
}

char cr_csv_delimiter(const cr_csv *csv)
{
    return csv->delimiter;
}

void cr_csv_close(cr_csv *csv)
{
    if (!csv)
        return;
    if (csv->fp)
        fclose(csv->fp);
    free(csv->text);
    free(csv->starts);
    free(csv->fields);
    free(csv->path);
    free(csv);
}

static int push_char(cr_csv *csv, char c)
{
    if (csv->text_len + 1 >= csv->text_cap) {
        size_t cap = csv->text_cap ? csv->text_cap * 2 : 256;
        char *grown = realloc(csv->text, cap);
        if (!grown)
            return 0;
        csv->text = grown;
        csv->text_cap = cap;
    }
    csv->text[csv->text_len++] = c;
    return 1;
}

/* Makes room for field offsets up to index `needed`. */
static int reserve_fields(cr_csv *csv, int needed)
{
    if (needed < csv->field_cap)
        return 1;
    int cap = csv->field_cap ? csv->field_cap * 2 : 16;
    size_t *grown = realloc(csv->starts, (size_t)cap * sizeof *grown);
    if (!grown)
        return 0;
    csv->starts = grown;
    csv->field_cap = cap;
    return 1;
}

/* Ends the current field and starts the next one. */
static int end_field(cr_csv *csv, int *count)
{
    if (!push_char(csv, '\0') || !reserve_fields(csv, *count + 1))
        return 0;
    csv->starts[++*count] = csv->text_len;
    return 1;
}

/* Points the record's fields into text once it is complete (text may have moved). */
static int finish_record(cr_csv *csv, int count, cr_csv_record *rec)
{
    char **fields = realloc(csv->fields, (size_t)(count + 1) * sizeof *fields);
    if (!fields)
        return 0;
    csv->fields = fields;
    for (int i = 0; i < count; i++)
        fields[i] = csv->text + csv->starts[i];
    fields[count] = NULL;
    rec->fields = fields;
    rec->count = count;
    return 1;
}

cr_status cr_csv_next(cr_ctx *ctx, cr_csv *csv, cr_csv_record *rec)
{
    rec->fields = NULL;
    rec->count = 0;
    rec->line = csv->line;
    csv->text_len = 0;
    int count = 0, quoted = 0, c, any = 0, ok = 1;
    if (!reserve_fields(csv, 0))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory reading '%s'", csv->path);
    csv->starts[0] = 0;
    while (ok && (c = getc(csv->fp)) != EOF) {
        any = 1;
        if (quoted) {
            if (c == '"') {
                int next = getc(csv->fp);
                if (next == '"')
                    ok = push_char(csv, '"');
                else {
                    quoted = 0;
                    if (next != EOF)
                        ungetc(next, csv->fp);
                }
            } else {
                csv->line += c == '\n';
                ok = push_char(csv, (char)c);
            }
        } else if (c == '"') {
            quoted = 1;
        } else if (c == csv->delimiter) {
            ok = end_field(csv, &count);
        } else if (c == '\n' || c == '\r') {
            if (c == '\r') {
                int next = getc(csv->fp);
                if (next != '\n' && next != EOF)
                    ungetc(next, csv->fp);
            }
            csv->line++;
            break;
        } else {
            ok = push_char(csv, (char)c);
        }
    }
    if (!ok || (any && !end_field(csv, &count)))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory reading '%s'", csv->path);
    if (ferror(csv->fp))
        return cr_ctx_fail(ctx, CR_E_IO, "cannot read CSV '%s' at line %ld: %s", csv->path,
                           csv->line, strerror(errno));
    if (quoted)
        return cr_ctx_fail(ctx, CR_E_DATA, "CSV '%s' line %ld: quoted field is never closed",
                           csv->path, rec->line);
    if (!any)
        return CR_OK;
    if (!finish_record(csv, count, rec))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory reading '%s'", csv->path);
    return CR_OK;
}
