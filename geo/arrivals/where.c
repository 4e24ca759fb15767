/* where.c: the --where filter for CSV records. A recursive-descent parser compiles the
 * expression once into flat arrays (nodes, operands, LIKE steps, a string pool); the
 * evaluator walks them per record without allocating or re-reading literals. AND and OR
 * lists are n-ary nodes, so the tree is only as deep as the nesting of parentheses and
 * NOTs, which the parser bounds: neither side can exhaust the stack. */
#include "where.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/number.h"
#include "core/internal.h"

/* SQL truth values: a NULL comparison is UNKNOWN, not FALSE, so that NOT keeps it out. */
typedef enum truth { T_FALSE, T_TRUE, T_UNKNOWN } truth;

typedef enum cmp_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE } cmp_op;

typedef enum node_kind { N_OR, N_AND, N_NOT, N_CMP, N_LIKE, N_IN, N_BETWEEN, N_ISNULL } node_kind;

/* A column or a literal. */
typedef struct operand {
    int column;          /* index of the column, -1 for a literal */
    int text;            /* literal: offset of its text in the pool */
    double num;          /* literal: its value, when num_ok */
    unsigned char num_ok; /* literal: its text is a finite number */
    unsigned char number; /* literal written as a number: comparisons with it are numeric */
} operand;

typedef struct node {
    unsigned char kind;    /* node_kind */
    unsigned char op;      /* N_CMP: cmp_op */
    unsigned char negated; /* NOT LIKE, NOT IN, NOT BETWEEN, IS NOT NULL */
    unsigned char icase;   /* N_LIKE: ILIKE */
    int first, count;      /* N_OR, N_AND, N_NOT: children in kids; others: operands */
    int pattern, nsteps;   /* N_LIKE: its compiled pattern in steps */
} node;

/* One step of a compiled LIKE pattern: a literal byte, _ or %. */
enum { STEP_BYTE, STEP_ONE, STEP_ANY };
typedef struct like_step {
    unsigned char kind;
    unsigned char byte; /* STEP_BYTE; folded to lower case for ILIKE */
} like_step;

/* A growable array; items are read through ITEM(). */
typedef struct vec {
    void *items;
    int n, cap;
} vec;

#define ITEM(v, type, i) (((type *)(v).items)[i])

struct cr_where {
    vec nodes, kids, operands, steps, pool;
    int root;
};

/* ------------------------------------------------------------------------------------ */
/* Characters and numbers. ASCII only and locale-free, as OGR SQL's lexer. */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static int fold(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int is_name_start(char c)
{
    int u = fold((unsigned char)c);
    return (u >= 'a' && u <= 'z') || u == '_' || u >= 0x80;
}

static int is_name_char(char c)
{
    return is_name_start(c) || is_digit(c);
}

/* Compares as OGR SQL compares strings: bytewise, ignoring ASCII case. */
static int text_cmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    while (*x && fold(*x) == fold(*y)) {
        x++;
        y++;
    }
    return fold(*x) - fold(*y);
}

/* Reads text as a comparison with a number literal does: all of it but the blanks around
 * must be a finite decimal number, as everywhere in cityrisk (cityrisk/number.h): not
 * "0x1A", "inf" or "nan", which strtod() would also take. */
static int parse_number(const char *text, double *out)
{
    return cr_number_finite(text, out);
}

/* The length of the UTF-8 character at s, so that _ matches a character, not a byte;
 * an invalid byte counts as one character. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n = s[0] < 0xC0 ? 1 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : s[0] < 0xF8 ? 4 : 1;
    size_t i = 1;
    while (i < n && (s[i] & 0xC0) == 0x80)
        i++;
    return i;
}

/* ------------------------------------------------------------------------------------ */
/* Storage. */

/* Makes room for extra more items of size bytes; 0 when out of memory. The capacity
 * doubles so that parsing stays linear in the length of the expression. */
static int vec_reserve(vec *v, int extra, size_t size)
{
    if (v->n + extra <= v->cap)
        return 1;
    int cap = v->cap ? v->cap : 16;
    while (cap < v->n + extra)
        cap *= 2;
    void *items = realloc(v->items, (size_t)cap * size);
    if (!items)
        return 0;
    v->items = items;
    v->cap = cap;
    return 1;
}

/* Appends a copy of item; returns its index, or -1 when out of memory. */
static int vec_push(vec *v, const void *item, size_t size)
{
    if (!vec_reserve(v, 1, size))
        return -1;
    memcpy((char *)v->items + (size_t)v->n * size, item, size);
    return v->n++;
}

void cr_where_free(cr_where *w)
{
    if (!w)
        return;
    free(w->nodes.items);
    free(w->kids.items);
    free(w->operands.items);
    free(w->steps.items);
    free(w->pool.items);
    free(w);
}

int cr_where_uses(const cr_where *w, int column)
{
    for (int i = 0; w && i < w->operands.n; i++)
        if (ITEM(w->operands, operand, i).column == column)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Lexer. */

typedef enum tok_kind {
    TOK_END, TOK_NAME, TOK_QNAME, TOK_STRING, TOK_NUMBER, TOK_LPAREN, TOK_RPAREN, TOK_COMMA,
    TOK_CMP, TOK_AND, TOK_OR, TOK_NOT, TOK_LIKE, TOK_ILIKE, TOK_IN, TOK_BETWEEN, TOK_IS,
    TOK_NULL, TOK_ESCAPE
} tok_kind;

typedef struct token {
    tok_kind kind;
    cmp_op op;     /* TOK_CMP */
    size_t at, len; /* where it is in the expression, quotes included */
} token;

typedef struct parser {
    cr_ctx *ctx;
    const char *expr;
    const char *const *columns;
    int ncolumns;
    size_t pos;        /* where the lexer goes on */
    token tok, prev;   /* the lookahead and the last token consumed */
    int has_prev;
    int depth;         /* parentheses and NOTs open */
    vec scratch;       /* children of the AND and OR lists being parsed, innermost last */
    cr_where *w;
} parser;

static int fail(parser *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Records a usage failure "--where: ..." and returns -1, the parser's error value. */
static int fail(parser *p, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cr_ctx_fail(p->ctx, CR_E_USAGE, "--where: %s", msg);
    return -1;
}

static int fail_memory(parser *p)
{
    cr_ctx_fail(p->ctx, CR_E_IO, "--where: out of memory");
    return -1;
}

/* At most this many bytes of user text go into a message. */
enum { QUOTE_MAX = 40 };

static int quote_len(size_t len)
{
    return len > QUOTE_MAX ? QUOTE_MAX : (int)len;
}

/* Names a token for a message: 'text' (shortened) or "the end". */
static void describe(const parser *p, const token *t, char *buf, size_t size)
{
    if (t->kind == TOK_END)
        snprintf(buf, size, "the end");
    else
        snprintf(buf, size, "'%.*s%s'", quote_len(t->len), p->expr + t->at,
                 t->len > QUOTE_MAX ? "..." : "");
}

/* Fails with "PREFIXexpected WHAT after 'PREVIOUS', found TOKEN at offset N". */
static int fail_expected_in(parser *p, const char *prefix, const char *what)
{
    char found[QUOTE_MAX + 8];
    describe(p, &p->tok, found, sizeof found);
    if (!p->has_prev)
        return fail(p, "%sexpected %s, found %s at offset %zu", prefix, what, found, p->tok.at);
    return fail(p, "%sexpected %s after '%.*s', found %s at offset %zu", prefix, what,
                quote_len(p->prev.len), p->expr + p->prev.at, found, p->tok.at);
}

static int fail_expected(parser *p, const char *what)
{
    return fail_expected_in(p, "", what);
}

/* The length of the quoted text at s, both quotes included, or 0 when it is not closed.
 * Inside, a doubled quote or a backslash before a quote stands for the quote, as OGR SQL
 * reads them; *backslash tells whether the latter was seen, for the error message. */
static size_t quoted_span(const char *s, int *backslash)
{
    char q = s[0];
    size_t i = 1;
    for (;;) {
        if (s[i] == '\0')
            return 0;
        if ((s[i] == '\\' || s[i] == q) && s[i + 1] == q) {
            *backslash |= s[i] == '\\';
            i += 2;
        } else if (s[i] == q) {
            return i + 1;
        } else {
            i++;
        }
    }
}

static int lex_quoted(parser *p, token *t)
{
    int backslash = 0;
    t->len = quoted_span(p->expr + t->at, &backslash);
    t->kind = p->expr[t->at] == '"' ? TOK_QNAME : TOK_STRING;
    if (t->len)
        return 0;
    return fail(p, "unterminated %s starting at offset %zu%s",
                t->kind == TOK_QNAME ? "quoted column name" : "string", t->at,
                backslash ? " (a backslash before a quote escapes it, as in OGR SQL)" : "");
}

static int lex_number(parser *p, token *t)
{
    const char *s = p->expr + t->at;
    size_t n = cr_decimal_span(s);
    if (is_name_char(s[n]) || s[n] == '.') {
        while (is_name_char(s[n]) || s[n] == '.')
            n++;
        return fail(p, "'%.*s' at offset %zu is neither a number nor a column name (quote "
                       "column names that start with a digit)",
                    quote_len(n), s, t->at);
    }
    t->kind = TOK_NUMBER;
    t->len = n;
    return 0;
}

static void lex_word(parser *p, token *t)
{
    static const struct {
        const char *word;
        tok_kind kind;
    } keywords[] = {
        {"AND", TOK_AND},     {"OR", TOK_OR},         {"NOT", TOK_NOT}, {"LIKE", TOK_LIKE},
        {"ILIKE", TOK_ILIKE}, {"IN", TOK_IN},         {"IS", TOK_IS},   {"NULL", TOK_NULL},
        {"ESCAPE", TOK_ESCAPE}, {"BETWEEN", TOK_BETWEEN},
    };
    const char *s = p->expr + t->at;
    size_t n = 1;
    while (is_name_char(s[n]))
        n++;
    t->kind = TOK_NAME;
    t->len = n;
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++) {
        const char *word = keywords[k].word;
        size_t i = 0;
        while (i < n && word[i] && fold((unsigned char)s[i]) == fold(word[i]))
            i++;
        if (i == n && !word[i])
            t->kind = keywords[k].kind;
    }
}

/* The length of the comparison operator that starts s, 0 when none does. */
static size_t lex_operator(const char *s, cmp_op *op)
{
    static const struct {
        const char *text;
        cmp_op op;
    } ops[] = {
        /* two-character operators first, so that "<=" is not read as "<" */
        {"==", OP_EQ}, {"!=", OP_NE}, {"<>", OP_NE}, {"<=", OP_LE},
        {">=", OP_GE}, {"=", OP_EQ},  {"<", OP_LT},  {">", OP_GT},
    };
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        size_t len = strlen(ops[k].text);
        if (strncmp(s, ops[k].text, len) == 0) {
            *op = ops[k].op;
            return len;
        }
    }
    return 0;
}

/* Reads the next token into p->tok. Returns 0, or -1 after recording a failure. */
static int lex(parser *p)
{
    const char *s = p->expr;
    size_t i = p->pos;
    while (is_space(s[i]))
        i++;
    token t = {TOK_END, OP_EQ, i, 1};
    char c = s[i];
    int rc = 0;
    if (c == '\0')
        t.len = 0;
    else if (c == '(' || c == ')' || c == ',')
        t.kind = c == '(' ? TOK_LPAREN : c == ')' ? TOK_RPAREN : TOK_COMMA;
    else if (c == '\'' || c == '"')
        rc = lex_quoted(p, &t);
    else if (cr_decimal_span(s + i))
        rc = lex_number(p, &t);
    else if (is_name_start(c))
        lex_word(p, &t);
    else if ((t.len = lex_operator(s + i, &t.op)) != 0)
        t.kind = TOK_CMP;
    else if (c > ' ' && c < 0x7F)
        rc = fail(p, "unexpected character '%c' at offset %zu", c, i);
    else
        rc = fail(p, "unexpected byte 0x%02X at offset %zu", (unsigned)(unsigned char)c, i);
    if (rc < 0)
        return -1;
    p->tok = t;
    p->pos = t.at + t.len;
    return 0;
}

/* Consumes the lookahead and reads the next token. */
static int advance(parser *p)
{
    p->prev = p->tok;
    p->has_prev = 1;
    return lex(p);
}

/* ------------------------------------------------------------------------------------ */
/* Parser: each function returns the index of what it built, or -1 after a failure. */

/* Pushes onto v or fails for lack of memory. */
static int push(parser *p, vec *v, const void *item, size_t size)
{
    int index = vec_push(v, item, size);
    return index < 0 ? fail_memory(p) : index;
}

static int add_node(parser *p, const node *nd)
{
    return push(p, &p->w->nodes, nd, sizeof *nd);
}

/* Appends the text of a quoted token to the pool without its quotes and with its escaped
 * quotes undone; returns its offset in the pool. */
static int pool_quoted(parser *p, const token *t)
{
    vec *pool = &p->w->pool;
    if (!vec_reserve(pool, (int)t->len, 1))
        return fail_memory(p);
    const char *s = p->expr + t->at;
    char q = s[0];
    char *out = &ITEM(*pool, char, pool->n);
    size_t k = 0;
    for (size_t i = 1; i + 1 < t->len; i++) {
        if ((s[i] == '\\' || s[i] == q) && s[i + 1] == q && i + 2 < t->len)
            i++;
        out[k++] = s[i];
    }
    out[k] = '\0';
    int at = pool->n;
    pool->n += (int)k + 1;
    return at;
}

/* Appends the text of a token as it is written. */
static int pool_raw(parser *p, const token *t)
{
    vec *pool = &p->w->pool;
    if (!vec_reserve(pool, (int)t->len + 1, 1))
        return fail_memory(p);
    char *out = &ITEM(*pool, char, pool->n);
    memcpy(out, p->expr + t->at, t->len);
    out[t->len] = '\0';
    int at = pool->n;
    pool->n += (int)t->len + 1;
    return at;
}

/* The column called name: its exact spelling first, then ignoring ASCII case as OGR
 * looks fields up; -1 when there is none. */
static int find_column(const parser *p, const char *name)
{
    for (int i = 0; i < p->ncolumns; i++)
        if (p->columns[i] && strcmp(p->columns[i], name) == 0)
            return i;
    for (int i = 0; i < p->ncolumns; i++)
        if (p->columns[i] && text_cmp(p->columns[i], name) == 0)
            return i;
    return -1;
}

/* "a, b, c" or "a, b, ..." when the names would not fit in a message. */
static void list_columns(const parser *p, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    if (p->ncolumns == 0)
        snprintf(buf, size, "none");
    for (int i = 0; i < p->ncolumns; i++) {
        const char *name = p->columns[i] ? p->columns[i] : "";
        if (n + strlen(name) + 8 > size) {
            snprintf(buf + n, size - n, "...");
            return;
        }
        n += (size_t)snprintf(buf + n, size - n, "%s%s", name, i + 1 < p->ncolumns ? ", " : "");
    }
}

/* Resolves the name token p->tok to a column index. */
static int resolve_column(parser *p)
{
    vec *pool = &p->w->pool;
    int at = p->tok.kind == TOK_QNAME ? pool_quoted(p, &p->tok) : pool_raw(p, &p->tok);
    if (at < 0)
        return -1;
    const char *name = &ITEM(*pool, char, at);
    int column = find_column(p, name);
    if (column < 0) {
        char columns[320];
        list_columns(p, columns, sizeof columns);
        fail(p, "unknown column '%.*s' at offset %zu (columns: %s)", quote_len(strlen(name)),
             name, p->tok.at, columns);
    }
    pool->n = at; /* the name is not needed once resolved */
    return column;
}

/* A number literal: read once here, never at evaluation. */
static int read_number(parser *p, operand *o)
{
    o->text = pool_raw(p, &p->tok);
    if (o->text < 0)
        return -1;
    o->number = 1;
    o->num_ok = (unsigned char)parse_number(&ITEM(p->w->pool, char, o->text), &o->num);
    if (!o->num_ok)
        return fail(p, "number '%.*s' at offset %zu is out of range", quote_len(p->tok.len),
                    p->expr + p->tok.at, p->tok.at);
    return 0;
}

static int parse_operand(parser *p)
{
    operand o = {-1, 0, 0.0, 0, 0};
    switch (p->tok.kind) {
    case TOK_NAME:
    case TOK_QNAME:
        o.column = resolve_column(p);
        if (o.column < 0)
            return -1;
        break;
    case TOK_STRING:
        o.text = pool_quoted(p, &p->tok);
        if (o.text < 0)
            return -1;
        o.num_ok = (unsigned char)parse_number(&ITEM(p->w->pool, char, o.text), &o.num);
        break;
    case TOK_NUMBER:
        if (read_number(p, &o) < 0)
            return -1;
        break;
    case TOK_NULL:
        return fail(p, "NULL at offset %zu can only be tested with IS NULL or IS NOT NULL",
                    p->tok.at);
    default:
        return fail_expected(p, "a value");
    }
    int index = push(p, &p->w->operands, &o, sizeof o);
    if (index < 0 || advance(p) < 0)
        return -1;
    return index;
}

/* Expects a token of the given kind and consumes it. */
static int expect(parser *p, tok_kind kind, const char *what)
{
    if (p->tok.kind != kind)
        return fail_expected(p, what);
    return advance(p);
}

static int parse_comparison(parser *p, node *nd)
{
    nd->kind = N_CMP;
    nd->op = (unsigned char)p->tok.op;
    nd->count = 2;
    if (advance(p) < 0 || parse_operand(p) < 0)
        return -1;
    return add_node(p, nd);
}

static int parse_is(parser *p, node *nd)
{
    nd->kind = N_ISNULL;
    nd->count = 1;
    if (advance(p) < 0)
        return -1;
    if (p->tok.kind == TOK_NOT) {
        nd->negated = 1;
        if (advance(p) < 0)
            return -1;
    }
    if (expect(p, TOK_NULL, nd->negated ? "NULL" : "NULL or NOT NULL") < 0)
        return -1;
    return add_node(p, nd);
}

/* Compiles pattern into steps: escaped characters become literal bytes, runs of % one
 * step, and ILIKE's bytes are folded here so that matching folds only the value. */
static int compile_pattern(parser *p, node *nd, const char *pattern, char escape,
                           size_t pattern_at)
{
    vec *steps = &p->w->steps;
    /* one more than needed, so that even an empty pattern has storage to point at */
    if (!vec_reserve(steps, (int)strlen(pattern) + 1, sizeof(like_step)))
        return fail_memory(p);
    nd->pattern = steps->n;
    for (const char *s = pattern; *s; s++) {
        like_step st = {STEP_BYTE, (unsigned char)*s};
        if (escape && *s == escape) {
            if (!s[1])
                return fail(p, "the LIKE pattern at offset %zu ends with its escape character",
                            pattern_at);
            st.byte = (unsigned char)*++s;
        } else if (*s == '%') {
            st.kind = STEP_ANY;
        } else if (*s == '_') {
            st.kind = STEP_ONE;
        }
        if (nd->icase)
            st.byte = (unsigned char)fold(st.byte);
        if (st.kind == STEP_ANY && steps->n > nd->pattern &&
            ITEM(*steps, like_step, steps->n - 1).kind == STEP_ANY)
            continue;
        ITEM(*steps, like_step, steps->n++) = st;
    }
    nd->nsteps = steps->n - nd->pattern;
    return 0;
}

/* Reads the ESCAPE clause, when there is one, into *escape; 0 there when there is none. */
static int parse_escape(parser *p, char *escape)
{
    *escape = 0;
    if (p->tok.kind != TOK_ESCAPE)
        return 0;
    if (advance(p) < 0)
        return -1;
    if (p->tok.kind != TOK_STRING)
        return fail_expected(p, "a quoted escape character");
    int at = pool_quoted(p, &p->tok);
    if (at < 0)
        return -1;
    const char *text = &ITEM(p->w->pool, char, at);
    if (strlen(text) != 1)
        return fail(p, "ESCAPE takes a single character, found '%.*s' at offset %zu",
                    quote_len(strlen(text)), text, p->tok.at);
    *escape = text[0];
    p->w->pool.n = at;
    return advance(p);
}

static int parse_like(parser *p, node *nd)
{
    nd->kind = N_LIKE;
    nd->icase = p->tok.kind == TOK_ILIKE;
    nd->count = 1;
    if (advance(p) < 0)
        return -1;
    if (p->tok.kind != TOK_STRING)
        return fail_expected(p, "a quoted pattern");
    token pattern = p->tok;
    char escape;
    if (advance(p) < 0 || parse_escape(p, &escape) < 0)
        return -1;
    int at = pool_quoted(p, &pattern);
    if (at < 0 ||
        compile_pattern(p, nd, &ITEM(p->w->pool, char, at), escape, pattern.at) < 0)
        return -1;
    p->w->pool.n = at; /* matching reads the steps, not the text */
    return add_node(p, nd);
}

static int parse_in(parser *p, node *nd)
{
    nd->kind = N_IN;
    nd->count = 1;
    if (advance(p) < 0 || expect(p, TOK_LPAREN, "'('") < 0)
        return -1;
    for (;;) {
        if (parse_operand(p) < 0)
            return -1;
        nd->count++;
        if (p->tok.kind != TOK_COMMA)
            break;
        if (advance(p) < 0)
            return -1;
    }
    if (expect(p, TOK_RPAREN, "',' or ')'") < 0)
        return -1;
    return add_node(p, nd);
}

static int parse_between(parser *p, node *nd)
{
    nd->kind = N_BETWEEN;
    nd->count = 3;
    if (advance(p) < 0 || parse_operand(p) < 0 || expect(p, TOK_AND, "AND") < 0 ||
        parse_operand(p) < 0)
        return -1;
    return add_node(p, nd);
}

/* operand, then what is said of it. The operands of one predicate are parsed one after
 * the other, so they lie side by side from nd.first on. */
static int parse_predicate(parser *p)
{
    node nd = {0};
    nd.first = parse_operand(p);
    if (nd.first < 0)
        return -1;
    if (p->tok.kind == TOK_CMP)
        return parse_comparison(p, &nd);
    if (p->tok.kind == TOK_IS)
        return parse_is(p, &nd);
    if (p->tok.kind == TOK_NOT) {
        nd.negated = 1;
        if (advance(p) < 0)
            return -1;
        if (p->tok.kind != TOK_LIKE && p->tok.kind != TOK_ILIKE && p->tok.kind != TOK_IN &&
            p->tok.kind != TOK_BETWEEN)
            return fail_expected(p, "LIKE, ILIKE, IN or BETWEEN");
    }
    switch (p->tok.kind) {
    case TOK_LIKE:
    case TOK_ILIKE:
        return parse_like(p, &nd);
    case TOK_IN:
        return parse_in(p, &nd);
    case TOK_BETWEEN:
        return parse_between(p, &nd);
    default:
        return fail_expected(p, "an operator (=, <>, <, <=, >, >=, LIKE, ILIKE, IN, BETWEEN "
                                "or IS)");
    }
}

/* A node whose children are the top count entries of the scratch stack. */
static int add_parent(parser *p, node_kind kind, int count)
{
    vec *kids = &p->w->kids;
    if (!vec_reserve(kids, count, sizeof(int)))
        return fail_memory(p);
    node nd = {0};
    nd.kind = (unsigned char)kind;
    nd.first = kids->n;
    nd.count = count;
    p->scratch.n -= count;
    memcpy(&ITEM(*kids, int, kids->n), &ITEM(p->scratch, int, p->scratch.n),
           (size_t)count * sizeof(int));
    kids->n += count;
    return add_node(p, &nd);
}

static int parse_or(parser *p);

/* NOT x, ( expr ) or a predicate. Nesting grows only here, so here it is counted. */
static int parse_not(parser *p)
{
    token open = p->tok;
    if (open.kind != TOK_NOT && open.kind != TOK_LPAREN)
        return parse_predicate(p);
    if (p->depth >= CR_WHERE_MAX_DEPTH)
        return fail(p, "expression nested deeper than %d levels at offset %zu",
                    CR_WHERE_MAX_DEPTH, open.at);
    p->depth++;
    int inner = advance(p) < 0 ? -1 : open.kind == TOK_NOT ? parse_not(p) : parse_or(p);
    p->depth--;
    if (inner < 0)
        return -1;
    if (open.kind == TOK_LPAREN) {
        if (p->tok.kind != TOK_RPAREN) {
            char prefix[64];
            snprintf(prefix, sizeof prefix, "the '(' at offset %zu is not closed: ", open.at);
            return fail_expected_in(p, prefix, "')'");
        }
        return advance(p) < 0 ? -1 : inner;
    }
    if (push(p, &p->scratch, &inner, sizeof inner) < 0)
        return -1;
    return add_parent(p, N_NOT, 1);
}

/* item (SEPARATOR item)*, as one n-ary node: a long chain adds no depth. The items are
 * kept on the scratch stack while parsing, above those of any enclosing list. */
static int parse_list(parser *p, node_kind kind)
{
    tok_kind separator = kind == N_OR ? TOK_OR : TOK_AND;
    int count = 0;
    for (;;) {
        int item = kind == N_OR ? parse_list(p, N_AND) : parse_not(p);
        if (item < 0)
            break;
        if (push(p, &p->scratch, &item, sizeof item) < 0)
            break;
        count++;
        if (p->tok.kind != separator)
            return count == 1 ? ITEM(p->scratch, int, --p->scratch.n)
                              : add_parent(p, kind, count);
        if (advance(p) < 0)
            break;
    }
    p->scratch.n -= count;
    return -1;
}

static int parse_or(parser *p)
{
    return parse_list(p, N_OR);
}

/* Checks the length and that there is something to parse, then reads the first token. */
static int start(parser *p)
{
    size_t len = strlen(p->expr);
    if (len > CR_WHERE_MAX_LENGTH)
        return fail(p, "expression is %zu bytes long, more than the %d allowed", len,
                    CR_WHERE_MAX_LENGTH);
    if (lex(p) < 0)
        return -1;
    if (p->tok.kind == TOK_END)
        return fail(p, "empty expression");
    return 0;
}

cr_status cr_where_parse(cr_ctx *ctx, const char *expr, const char *const *columns,
                         int ncolumns, cr_where **out)
{
    *out = NULL;
    if (!expr || ncolumns < 0 || (ncolumns > 0 && !columns))
        return cr_ctx_fail(ctx, CR_E_USAGE, "--where: no expression or no columns given");
    cr_where *w = calloc(1, sizeof *w);
    if (!w)
        return cr_ctx_fail(ctx, CR_E_IO, "--where: out of memory");
    parser p = {0};
    p.ctx = ctx;
    p.expr = expr;
    p.columns = columns;
    p.ncolumns = ncolumns;
    p.w = w;
    w->root = start(&p) < 0 ? -1 : parse_or(&p);
    if (w->root >= 0 && p.tok.kind != TOK_END)
        w->root = fail_expected(&p, "AND, OR or the end of the expression");
    free(p.scratch.items);
    if (w->root < 0) {
        cr_where_free(w);
        return cr_ctx_status(ctx);
    }
    *out = w;
    return CR_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Evaluation. */

typedef struct record {
    const char *const *fields;
    int count;
} record;

/* An operand's value in one record. Its number is read at most once, when needed. */
typedef struct value {
    const char *text;      /* NULL for SQL NULL */
    double num;
    signed char num_state; /* 1 a number, 0 not a number, -1 not read yet */
    unsigned char column;  /* comes from a column */
    unsigned char number;  /* a number literal */
} value;

static value load(const cr_where *w, int index, const record *r)
{
    const operand *o = &ITEM(w->operands, operand, index);
    value v = {NULL, o->num, -1, 0, o->number};
    if (o->column < 0) {
        v.text = &ITEM(w->pool, char, o->text);
        v.num_state = (signed char)o->num_ok;
        return v;
    }
    v.column = 1;
    if (o->column < r->count && r->fields[o->column] && r->fields[o->column][0])
        v.text = r->fields[o->column];
    return v;
}

static int as_number(value *v)
{
    if (v->num_state < 0)
        v->num_state = (signed char)parse_number(v->text, &v->num);
    return v->num_state;
}

static int holds(cmp_op op, int c)
{
    switch (op) {
    case OP_EQ: return c == 0;
    case OP_NE: return c != 0;
    case OP_LT: return c < 0;
    case OP_LE: return c <= 0;
    case OP_GT: return c > 0;
    default: return c >= 0;
    }
}

/* a op b: numeric with a number literal (UNKNOWN when the other is not a number) or
 * between two columns that both hold numbers, else text; UNKNOWN with a NULL. */
static truth compare(cmp_op op, value *a, value *b)
{
    if (!a->text || !b->text)
        return T_UNKNOWN;
    int literal = a->number || b->number;
    int c;
    if ((literal || (a->column && b->column)) && as_number(a) && as_number(b))
        c = (a->num > b->num) - (a->num < b->num);
    else if (literal)
        return T_UNKNOWN;
    else
        c = text_cmp(a->text, b->text);
    return holds(op, c) ? T_TRUE : T_FALSE;
}

static truth negate(truth t)
{
    return t == T_UNKNOWN ? T_UNKNOWN : t == T_TRUE ? T_FALSE : T_TRUE;
}

static truth both(truth a, truth b)
{
    if (a == T_FALSE || b == T_FALSE)
        return T_FALSE;
    return a == T_UNKNOWN || b == T_UNKNOWN ? T_UNKNOWN : T_TRUE;
}

/* LIKE by the greedy two-pointer walk with backtracking to the last %, in O(n m) at
 * worst, where trying every split at each % (as OGR does) can take exponential time. */
static int like_match(const like_step *pat, int n, const char *text, int icase)
{
    const unsigned char *s = (const unsigned char *)text, *star_s = NULL;
    int i = 0, star = -1;
    while (*s) {
        if (i < n && pat[i].kind == STEP_ANY) {
            star = i++;
            star_s = s;
        } else if (i < n && pat[i].kind == STEP_ONE) {
            s += utf8_len(s);
            i++;
        } else if (i < n && (icase ? fold(*s) : *s) == pat[i].byte) {
            s++;
            i++;
        } else if (star >= 0) {
            i = star + 1;
            star_s += utf8_len(star_s);
            s = star_s;
        } else {
            return 0;
        }
    }
    while (i < n && pat[i].kind == STEP_ANY)
        i++;
    return i == n;
}

static truth eval_node(const cr_where *w, int index, const record *r);

/* OR (decisive TRUE) or AND (decisive FALSE) of the children, stopping at the first
 * decisive one; otherwise UNKNOWN when any child is. */
static truth eval_list(const cr_where *w, const node *nd, const record *r, truth decisive)
{
    truth result = negate(decisive);
    for (int i = 0; i < nd->count; i++) {
        truth t = eval_node(w, ITEM(w->kids, int, nd->first + i), r);
        if (t == decisive)
            return t;
        if (t == T_UNKNOWN)
            result = T_UNKNOWN;
    }
    return result;
}

static truth eval_in(const cr_where *w, const node *nd, const record *r)
{
    value x = load(w, nd->first, r);
    truth result = T_FALSE;
    for (int i = 1; i < nd->count; i++) {
        value item = load(w, nd->first + i, r);
        truth t = compare(OP_EQ, &x, &item);
        if (t == T_TRUE)
            return t;
        if (t == T_UNKNOWN)
            result = T_UNKNOWN;
    }
    return result;
}

static truth eval_between(const cr_where *w, const node *nd, const record *r)
{
    value x = load(w, nd->first, r);
    value low = load(w, nd->first + 1, r);
    value high = load(w, nd->first + 2, r);
    return both(compare(OP_GE, &x, &low), compare(OP_LE, &x, &high));
}

static truth eval_predicate(const cr_where *w, const node *nd, const record *r)
{
    if (nd->kind == N_IN)
        return eval_in(w, nd, r);
    if (nd->kind == N_BETWEEN)
        return eval_between(w, nd, r);
    value x = load(w, nd->first, r);
    if (nd->kind == N_ISNULL)
        return x.text ? T_FALSE : T_TRUE;
    if (!x.text)
        return T_UNKNOWN;
    if (nd->kind == N_LIKE)
        return like_match(&ITEM(w->steps, like_step, nd->pattern), nd->nsteps, x.text,
                          nd->icase) ? T_TRUE : T_FALSE;
    value y = load(w, nd->first + 1, r);
    return compare((cmp_op)nd->op, &x, &y);
}

static truth eval_node(const cr_where *w, int index, const record *r)
{
    const node *nd = &ITEM(w->nodes, node, index);
    switch (nd->kind) {
    case N_OR:
        return eval_list(w, nd, r, T_TRUE);
    case N_AND:
        return eval_list(w, nd, r, T_FALSE);
    case N_NOT:
        return negate(eval_node(w, ITEM(w->kids, int, nd->first), r));
    default: {
        truth t = eval_predicate(w, nd, r);
        return nd->negated ? negate(t) : t;
    }
    }
}

int cr_where_eval(const cr_where *w, const char *const *fields, int count)
{
    if (!w)
        return 0;
    record r = {fields, fields && count > 0 ? count : 0};
    return eval_node(w, w->root, &r) == T_TRUE;
}
