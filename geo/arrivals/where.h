/*
 * where.h: the --where attribute filter for CSV records (internal to the library).
 *
 * OGR sources are filtered by OGR itself (OGR_L_SetAttributeFilter). CSV records read
 * by the library's own reader go through this evaluator instead, which implements the
 * part of an OGR SQL WHERE clause that a filter on text fields needs and gives it the
 * meaning OGR's generic evaluator gives it, so that one --where means the same for a
 * CSV file and for any other source:
 *
 *   expr      := or
 *   or        := and (OR and)*
 *   and       := not (AND not)*
 *   not       := NOT not | '(' expr ')' | predicate
 *   predicate := operand op operand            op: = == != <> < <= > >=
 *              | operand [NOT] LIKE 'pattern' [ESCAPE 'c']
 *              | operand [NOT] ILIKE 'pattern' [ESCAPE 'c']
 *              | operand [NOT] IN (operand, ...)
 *              | operand [NOT] BETWEEN operand AND operand
 *              | operand IS [NOT] NULL
 *   operand   := column | number | 'string'
 *
 * Keywords are case-insensitive. A column is a bare name (a letter, '_' or a non-ASCII
 * byte, then also digits) or a "double-quoted" one for names with other characters or
 * that are keywords; either is looked up exactly first, then ignoring ASCII case, as
 * OGR does. Numbers are decimal, with an optional sign (attached), fraction and
 * exponent. In strings '' and \' stand for a quote (OGR SQL reads both), in quoted names
 * "" and \". == is accepted as =, though OGR SQL itself rejects it: suggest =.
 *
 * Comparisons: when either side is a number literal the comparison is numeric and a
 * value that is not wholly a finite decimal number (blanks around it aside) makes it
 * NULL; two columns compare as numbers when both values are numbers; anything else
 * compares as text, ignoring ASCII case (OGR compares strings with strcasecmp). LIKE is
 * case-sensitive, ILIKE ignores ASCII case (GDAL >= 3.1); in patterns % matches any run
 * of characters and _ one UTF-8 character, and the ESCAPE character makes the next one
 * literal. IN is a chain of = and BETWEEN a >= and <=, both bounds included.
 *
 * NULL: an empty or missing field is NULL. Any comparison, LIKE, IN or BETWEEN with a
 * NULL value is NULL; NOT NULL is NULL; NULL AND FALSE is FALSE, NULL OR TRUE is TRUE
 * (SQL three-valued logic, as OGR SQL since GDAL 3.10). A record matches only when the
 * whole expression is TRUE.
 */
#ifndef CITYRISK_WHERE_H
#define CITYRISK_WHERE_H

#include "cityrisk/context.h"

/* A compiled filter: read-only once parsed, so threads may share it. */
typedef struct cr_where cr_where;

/* The longest expression accepted, in bytes, and the deepest nesting of parentheses
 * and NOTs. They bound the parser's work and recursion on hostile input. */
#define CR_WHERE_MAX_LENGTH 65536
#define CR_WHERE_MAX_DEPTH 64

/* Parses expr for records with the given column names (ncolumns of them) and compiles
 * it into *out. Fails with CR_E_USAGE and a one-line message naming the problem and its
 * byte offset in expr, e.g. "--where: unknown column 'arivals' at offset 0 (columns:
 * date, site_name, ...)" or "--where: expected a value after '>=', found the end at
 * offset 11"; with CR_E_IO when out of memory. *out is NULL on failure. The columns are
 * only read during the call. Free the filter with cr_where_free(). */
cr_status cr_where_parse(cr_ctx *ctx, const char *expr, const char *const *columns,
                         int ncolumns, cr_where **out);

/* 1 when the record matches (the expression is TRUE), else 0. fields[i] is the value of
 * column i; a record may have fewer fields than columns (count of them; the missing ones
 * are NULL), and a NULL or empty field is SQL NULL. Does not allocate. */
int cr_where_eval(const cr_where *w, const char *const *fields, int count);

/* 1 when the filter reads column (0-based), else 0. Accepts NULL. */
int cr_where_uses(const cr_where *w, int column);

/* Frees a filter. Accepts NULL. */
void cr_where_free(cr_where *w);

#endif
