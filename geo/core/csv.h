/* csv.h: a streaming RFC 4180 CSV reader that knows the line each record starts on
 * (internal to the library). It strips a UTF-8 byte-order mark, accepts LF and
 * CRLF line ends, quoted fields holding delimiters, quotes ("") and newlines, and
 * sniffs the delimiter (',', ';', tab or '|') from the header line. */
#ifndef CITYRISK_CSV_H
#define CITYRISK_CSV_H

#include "cityrisk/context.h"

typedef struct cr_csv cr_csv;

/* One record. fields[i] are NUL-terminated and owned by the reader, valid until the
 * next cr_csv_next(). line is the 1-based line the record starts on. */
typedef struct cr_csv_record {
    char **fields;
    int count;
    long line;
} cr_csv_record;

/* Opens path and sniffs its delimiter. Close with cr_csv_close(). */
cr_status cr_csv_open(cr_ctx *ctx, const char *path, cr_csv **out);

/* Reads the next record into *rec; at the end of the file returns CR_OK with
 * rec->fields NULL. A blank line is a record of one empty field. Fails with
 * CR_E_DATA on a quote left open at the end of the file. */
cr_status cr_csv_next(cr_ctx *ctx, cr_csv *csv, cr_csv_record *rec);

/* Reads the next record that is not a blank line, as cr_csv_next(). */
cr_status cr_csv_next_data(cr_ctx *ctx, cr_csv *csv, cr_csv_record *rec);

/* The head of a CSV table: the column names and, when the row after them is an
 * HXL hashtag row (cr_csv_is_hxl_row()), the tags. Blank lines before either are
 * skipped. */
typedef struct cr_csv_header {
    char **names; /* count copies, owned */
    int count;
    long line;    /* the line of the names */
    char **tags;  /* tag_count copies, owned, or NULL without an HXL row */
    int tag_count;
} cr_csv_header;

/* Reads the header line and the HXL row if there is one, leaving the reader on the
 * first data record. Fails with CR_E_DATA naming the file when it has no header, and
 * naming the line and column when a name is not UTF-8.
 * Clear *out with cr_csv_header_clear() whatever the result. */
cr_status cr_csv_read_header(cr_ctx *ctx, cr_csv *csv, cr_csv_header *out);

/* Frees what a header owns and zeroes it. */
void cr_csv_header_clear(cr_csv_header *header);

/* 1 when the HXL tag pattern (#hashtag+attr-attr...) matches a column's tag as HXL's
 * tag patterns do: the same hashtag, every +attribute of the pattern among the tag's
 * (#date matches #date+reported; #affected+idps matches #affected+idps+ind) and no
 * -attribute of the pattern among them. Case and blanks are ignored; so is the order of
 * attributes. A pattern or tag that is not a hashtag matches nothing. */
int cr_hxl_match(const char *pattern, const char *tag);

/* 1 when pattern and tag name the same hashtag with the same set of attributes. */
int cr_hxl_same(const char *pattern, const char *tag);

/* The 0-based column named name: a header name compared case-insensitively without
 * surrounding blanks, or, when name starts with '#', the first column whose HXL tag
 * the pattern name matches (cr_hxl_match()). -1 when there is none. */
int cr_csv_header_find(const cr_csv_header *header, const char *name);

/* As cr_csv_header_find(), from column `from` on: another column of the same name. */
int cr_csv_header_find_from(const cr_csv_header *header, const char *name, int from);

/* The column that option (as "--count-field") names in the CSV at path: as
 * cr_csv_header_find(), but a tag pattern matching several columns takes the one whose
 * tag is the pattern exactly, and fails with CR_E_DATA naming the candidates when there
 * is no such single column (#affected matching #affected+idps and #affected+refugees is
 * a guess the caller must not make). Fails with CR_E_USAGE listing every column's name
 * and tag when nothing matches. */
cr_status cr_csv_header_column(cr_ctx *ctx, const cr_csv_header *header, const char *path,
                               const char *option, const char *name, int *column);

/* Writes "name (#tag), ..." for every column into buf (truncated to size), for messages. */
void cr_csv_header_list(const cr_csv_header *header, char *buf, size_t size);

/* The offset of the first byte of text that is not part of valid UTF-8 (RFC 3629: no
 * overlong forms, surrogates or code points beyond U+10FFFF), or strlen(text) when it
 * is all valid. */
size_t cr_utf8_invalid_at(const char *text);

/* What a message about text that is not UTF-8 advises. */
#define CR_CSV_UTF8_HINT "save the file as UTF-8 (e.g. iconv -f WINDOWS-1252 -t UTF-8)"

/* The share of the file read so far, 0..1, for progress reports. */
double cr_csv_progress(const cr_csv *csv);

/* The delimiter in use. */
char cr_csv_delimiter(const cr_csv *csv);

/* Closes the file and frees the reader. Accepts NULL. */
void cr_csv_close(cr_csv *csv);

#endif
