/* report_buf.c: the growing string the report is written into, with the escapes HTML,
 * JSON inside <script> and base64 need (report_internal.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "report/report_internal.h"

void report_buf_add(report_buf *b, const char *s, size_t n)
{
    cr_buf_add(b, s, n);
}

void report_buf_puts(report_buf *b, const char *s)
{
    if (s)
        report_buf_add(b, s, strlen(s));
}

void report_buf_printf(report_buf *b, const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0 && cr_buf_reserve(b, (size_t)n)) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
        b->len += (size_t)n;
    }
    va_end(again);
}

/* s cleaned as text to show (cr_text_clean) or as UTF-8 keeping control characters, in
 * a string to free(); NULL when out of memory. An invalid byte becomes 3 bytes (U+FFFD). */
static char *cleaned(const char *s, int keep_controls)
{
    size_t size = strlen(s) * 3 + 1;
    char *t = malloc(size);
    if (t) {
        if (keep_controls)
            cr_text_utf8(t, size, s);
        else
            cr_text_clean(t, size, s);
    }
    return t;
}

void report_buf_html(report_buf *b, const char *s)
{
    if (!s)
        return;
    char *t = cleaned(s, 0);
    if (!t) {
        b->failed = 1;
        return;
    }
    const char *run = t;
    for (const char *p = t;; p++) {
        const char *esc = NULL;
        switch (*p) {
        case '&': esc = "&amp;"; break;
        case '<': esc = "&lt;"; break;
        case '>': esc = "&gt;"; break;
        case '"': esc = "&quot;"; break;
        case '\'': esc = "&#39;"; break;
        default: break;
        }
        if (!esc && *p)
            continue;
        report_buf_add(b, run, (size_t)(p - run));
        if (!*p)
            break;
        report_buf_puts(b, esc);
        run = p + 1;
    }
    free(t);
}

void report_buf_json_string(report_buf *b, const char *s)
{
    if (!s)
        return;
    char *t = cleaned(s, 1);
    if (!t) {
        b->failed = 1;
        return;
    }
    const char *run = t;
    for (const unsigned char *p = (const unsigned char *)t;; p++) {
        unsigned c = *p;
        int plain = c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&';
        /* U+2028 and U+2029 end a line in older JavaScript: escaped too */
        int separator = c == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9);
        if (plain && !separator)
            continue;
        report_buf_add(b, run, (size_t)((const char *)p - run));
        if (!c)
            break;
        if (separator) {
            report_buf_printf(b, "\\u%04x", p[2] == 0xA8 ? 0x2028 : 0x2029);
            p += 2;
        } else if (c == '"' || c == '\\') {
            report_buf_printf(b, "\\%c", (char)c);
        } else if (c == '\n') {
            report_buf_puts(b, "\\n");
        } else if (c == '\t') {
            report_buf_puts(b, "\\t");
        } else {
            report_buf_printf(b, "\\u%04x", c);
        }
        run = (const char *)p + 1;
    }
    free(t);
}

void report_buf_json_number(report_buf *b, double x, int digits)
{
    if (!isfinite(x)) {
        report_buf_puts(b, "null");
        return;
    }
    if (x == 0)
        x = 0; /* no "-0" */
    report_buf_printf(b, "%.*g", digits, x);
}

void report_buf_base64(report_buf *b, const unsigned char *data, size_t n)
{
    static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (!cr_buf_reserve(b, (n + 2) / 3 * 4))
        return;
    char *o = b->data + b->len;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8 | data[i + 2];
        *o++ = ALPHABET[v >> 18], *o++ = ALPHABET[v >> 12 & 63], *o++ = ALPHABET[v >> 6 & 63], *o++ = ALPHABET[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)data[i] << 16 | (i + 1 < n ? (unsigned)data[i + 1] << 8 : 0);
        *o++ = ALPHABET[v >> 18], *o++ = ALPHABET[v >> 12 & 63];
        *o++ = i + 1 < n ? ALPHABET[v >> 6 & 63] : '=';
        *o++ = '=';
    }
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
}

void report_buf_free(report_buf *b)
{
    cr_buf_free(b);
}
