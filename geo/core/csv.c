/* csv.c: streaming CSV records with their line numbers. */
#define _POSIX_C_SOURCE 200809L
#include "csv.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cityrisk/vector.h"
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
    int replay;     /* 1: the next read returns the last record again */
    int last_count; /* the last record returned, for replay */
    long last_line;
    double size;    /* of the file in bytes, for progress; 0 when unknown */
};

/* Picks the delimiter that occurs most often outside quotes in the header line. */
static char sniff_delimiter(FILE *fp)
{
    static const char candidates[] = {',', ';', '\t', '|'};
    long counts[4] = {0};
    int quoted = 0, c;
    /* The header is the first line that is not blank, as cr_csv_read_header() reads it. */
    while ((c = getc(fp)) == '\n' || c == '\r')
        ;
    for (; c != EOF && (quoted || (c != '\n' && c != '\r')); c = getc(fp)) {
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
    struct stat info;
    if (fstat(fileno(csv->fp), &info) == 0)
        csv->size = (double)info.st_size;
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
    if (csv->replay) {
        csv->replay = 0;
        rec->fields = csv->last_count ? csv->fields : NULL;
        rec->count = csv->last_count;
        rec->line = csv->last_line;
        return CR_OK;
    }
    csv->last_count = 0;
    rec->fields = NULL;
    rec->count = 0;
    rec->line = csv->line;
    csv->text_len = 0;
    int count = 0, quoted = 0, c, any = 0, ok = 1;
    if (!reserve_fields(csv, 0))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory reading '%s'", csv->path);
    csv->starts[0] = 0;
    while (ok && (c = getc_unlocked(csv->fp)) != EOF) {
        any = 1;
        if (quoted) {
            if (c == '"') {
                int next = getc_unlocked(csv->fp);
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
                int next = getc_unlocked(csv->fp);
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
    csv->last_count = count;
    csv->last_line = rec->line;
    return CR_OK;
}

cr_status cr_csv_next_data(cr_ctx *ctx, cr_csv *csv, cr_csv_record *rec)
{
    cr_status st;
    while ((st = cr_csv_next(ctx, csv, rec)) == CR_OK && rec->fields && rec->count == 1 &&
           rec->fields[0][0] == '\0')
        ;
    return st;
}

static char **copy_fields(const cr_csv_record *rec)
{
    char **copy = calloc((size_t)rec->count, sizeof *copy);
    for (int i = 0; copy && i < rec->count; i++)
        if (!(copy[i] = strdup(rec->fields[i]))) {
            while (i-- > 0)
                free(copy[i]);
            free(copy);
            return NULL;
        }
    return copy;
}

size_t cr_utf8_invalid_at(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (s[i]) {
        unsigned c = s[i];
        /* the continuation bytes a lead byte announces: 110xxxxx 1, 1110xxxx 2, 11110xxx 3 */
        int more = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : 3;
        if (more == 3 && (c & 0xF8) != 0xF0)
            more = -1;
        if (more < 0 || c == 0xC0 || c == 0xC1 || c > 0xF4) /* C0, C1: overlong two-byte forms */
            return i;
        for (int k = 1; k <= more; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        /* overlong three- and four-byte forms, UTF-16 surrogates, beyond U+10FFFF */
        if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] >= 0xA0) ||
            (c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] >= 0x90))
            return i;
        i += (size_t)more + 1;
    }
    return i;
}

/* Column names end up in JSON summaries, reports and outputs, which must be UTF-8: a
 * header in another encoding (a spreadsheet's Windows-1252) is refused, naming it. */
static cr_status check_names_utf8(cr_ctx *ctx, const cr_csv *csv, const cr_csv_header *h)
{
    for (int i = 0; i < h->count; i++) {
        size_t at = cr_utf8_invalid_at(h->names[i]);
        if (h->names[i][at])
            return cr_ctx_fail(ctx, CR_E_DATA,
                               "CSV '%s' line %ld, column %d: the name is not UTF-8 text (byte "
                               "0x%02X at offset %zu); " CR_CSV_UTF8_HINT,
                               csv->path, h->line, i + 1, (unsigned char)h->names[i][at], at);
    }
    return CR_OK;
}

cr_status cr_csv_read_header(cr_ctx *ctx, cr_csv *csv, cr_csv_header *out)
{
    memset(out, 0, sizeof *out);
    cr_csv_record rec;
    cr_status st = cr_csv_next_data(ctx, csv, &rec);
    if (st != CR_OK)
        return st;
    if (!rec.fields)
        return cr_ctx_fail(ctx, CR_E_DATA, "CSV '%s' has no header line", csv->path);
    if (!(out->names = copy_fields(&rec)))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory reading '%s'", csv->path);
    out->count = rec.count;
    out->line = rec.line;
    if ((st = check_names_utf8(ctx, csv, out)) != CR_OK)
        return st;
    if ((st = cr_csv_next_data(ctx, csv, &rec)) != CR_OK || !rec.fields)
        return st;
    if (!cr_csv_is_hxl_row((const char *const *)rec.fields, rec.count)) {
        csv->replay = 1; /* the first data record: read it again next */
        return CR_OK;
    }
    if (!(out->tags = copy_fields(&rec)))
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory reading '%s'", csv->path);
    out->tag_count = rec.count;
    return CR_OK;
}

static void free_strings(char **list, int n)
{
    for (int i = 0; list && i < n; i++)
        free(list[i]);
    free(list);
}

void cr_csv_header_clear(cr_csv_header *header)
{
    free_strings(header->names, header->count);
    free_strings(header->tags, header->tag_count);
    memset(header, 0, sizeof *header);
}

/* Compares text, without surrounding blanks, to name case-insensitively. */
static int same_name(const char *text, const char *name)
{
    while (*text == ' ' || *text == '\t')
        text++;
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t'))
        n--;
    return n == strlen(name) && strncasecmp(text, name, n) == 0;
}

int cr_csv_header_find(const cr_csv_header *header, const char *name)
{
    return cr_csv_header_find_from(header, name, 0);
}

int cr_csv_header_find_from(const cr_csv_header *header, const char *name, int from)
{
    int tag = name[0] == '#';
    char **list = tag ? header->tags : header->names;
    int n = tag ? header->tag_count : header->count;
    for (int i = from; list && i < n; i++)
        if (tag ? cr_hxl_match(name, list[i]) : same_name(list[i], name))
            return i;
    return -1;
}

void cr_csv_header_list(const cr_csv_header *header, char *buf, size_t size)
{
    int n = header->count > header->tag_count ? header->count : header->tag_count;
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used + 1 < size; i++) {
        const char *name = i < header->count ? header->names[i] : "";
        const char *tag = i < header->tag_count ? header->tags[i] : "";
        int w = snprintf(buf + used, size - used, "%s%s%s%s%s", i ? ", " : "", name,
                         *tag ? " (" : "", tag, *tag ? ")" : "");
        used += w > 0 ? (size_t)w : 0;
    }
}

cr_status cr_csv_header_column(cr_ctx *ctx, const cr_csv_header *header, const char *path,
                               const char *option, const char *name, int *column)
{
    char list[1024];
    *column = cr_csv_header_find(header, name);
    if (*column < 0) {
        cr_csv_header_list(header, list, sizeof list);
        return cr_ctx_fail(ctx, CR_E_USAGE, "%s '%s' is not a column of '%s' (columns: %s)%s",
                           option, name, path, list,
                           name[0] == '#' && !header->tags ? "; it has no HXL row" : "");
    }
    if (name[0] != '#' || cr_csv_header_find_from(header, name, *column + 1) < 0)
        return CR_OK;
    /* Several tags match the pattern: only the one that is the pattern exactly is meant. */
    int exact = -1, exacts = 0;
    size_t used = 0;
    list[0] = '\0';
    for (int i = *column; i >= 0; i = cr_csv_header_find_from(header, name, i + 1)) {
        if (cr_hxl_same(name, header->tags[i]))
            exact = i, exacts++;
        if (used + 1 < sizeof list) {
            int w = snprintf(list + used, sizeof list - used, "%s%d %s (%s)", used ? ", " : "",
                             i + 1, i < header->count ? header->names[i] : "", header->tags[i]);
            used += w > 0 ? (size_t)w : 0;
        }
    }
    if (exacts == 1) {
        *column = exact;
        return CR_OK;
    }
    return cr_ctx_fail(ctx, CR_E_DATA,
                       "%s '%s' matches several columns of '%s' (columns %s); give a tag with "
                       "more attributes or the column's name",
                       option, name, path, list);
}

double cr_csv_progress(const cr_csv *csv)
{
    if (csv->size <= 0)
        return 0;
    long at = ftell(csv->fp);
    return at <= 0 ? 0 : fmin(1.0, (double)at / csv->size);
}
