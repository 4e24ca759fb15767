/* text.c: text that every output can hold (text.h), and JSON text that is valid UTF-8. */
#define _POSIX_C_SOURCE 200809L
#include "text.h"

#include <stdlib.h>
#include <string.h>

#include "cityrisk/json.h"

/* What a character becomes. */
typedef enum text_mode {
    KEEP_CONTROLS, /* only bytes that are not UTF-8 change (data: JSON escapes controls) */
    SHOWN,         /* cr_text_clean: no control characters */
    XML            /* SHOWN, then XML's five special characters as entities */
} text_mode;

static const char REPLACEMENT[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* The code point that starts s (s[0] != 0) and its length in *len; -1 (length 1) when s
 * does not start a valid UTF-8 sequence (RFC 3629: no overlong forms, no surrogates,
 * nothing beyond U+10FFFF). Never reads past a NUL: it fails the range checks. */
static long decode(const unsigned char *s, int *len)
{
    unsigned c = s[0];
    *len = 1;
    if (c < 0x80)
        return (long)c;
    int more;
    long cp;
    unsigned lo = 0x80, hi = 0xBF; /* the range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        more = 1, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        more = 2, cp = c & 0x0F;
        lo = c == 0xE0 ? 0xA0 : lo; /* overlong */
        hi = c == 0xED ? 0x9F : hi; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        more = 3, cp = c & 0x07;
        lo = c == 0xF0 ? 0x90 : lo; /* overlong */
        hi = c == 0xF4 ? 0x8F : hi; /* beyond U+10FFFF */
    } else {
        return -1;
    }
    for (int i = 1; i <= more; i++) {
        unsigned b = s[i];
        if (b < (i == 1 ? lo : 0x80u) || b > (i == 1 ? hi : 0xBFu))
            return -1;
        cp = (cp << 6) | (long)(b & 0x3F);
    }
    *len = more + 1;
    return cp;
}

/* What the character at *s becomes in mode: its bytes in *out (n returned, 0 when it is
 * dropped); advances *s past it. */
static size_t next_unit(const unsigned char **s, text_mode mode, const char **out)
{
    int len;
    long cp = decode(*s, &len);
    const char *from = (const char *)*s;
    *s += len;
    if (cp < 0 || (mode != KEEP_CONTROLS && (cp == 0xFFFE || cp == 0xFFFF))) {
        *out = REPLACEMENT;
        return sizeof REPLACEMENT - 1;
    }
    if (mode != KEEP_CONTROLS) {
        if (cp == '\t' || cp == '\n' || cp == '\r') {
            *out = " ";
            return 1;
        }
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
            return 0;
    }
    if (mode == XML) {
        const char *entity = cp == '&'    ? "&amp;"
                             : cp == '<'  ? "&lt;"
                             : cp == '>'  ? "&gt;"
                             : cp == '"'  ? "&quot;"
                             : cp == '\'' ? "&apos;"
                                          : NULL;
        if (entity) {
            *out = entity;
            return strlen(entity);
        }
    }
    *out = from;
    return (size_t)len;
}

/* Appends src converted by mode to dst, which holds n bytes of size; returns the length. */
static size_t convert(char *dst, size_t size, size_t n, const char *src, text_mode mode)
{
    if (size == 0)
        return 0;
    if (n >= size)
        n = size - 1;
    for (const unsigned char *s = (const unsigned char *)src; s && *s;) {
        const char *out = NULL;
        size_t k = next_unit(&s, mode, &out);
        if (n + k + 1 > size)
            break;
        if (k) /* 0: a dropped control character */
            memcpy(dst + n, out, k);
        n += k;
    }
    dst[n] = '\0';
    return n;
}

size_t cr_text_clean(char *dst, size_t size, const char *src)
{
    return convert(dst, size, 0, src, SHOWN);
}

size_t cr_text_utf8(char *dst, size_t size, const char *src)
{
    return convert(dst, size, 0, src, KEEP_CONTROLS);
}

int cr_text_is_utf8(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int len;
        if (decode(p, &len) < 0)
            return 0;
        p += len;
    }
    return 1;
}

char *cr_text_utf8_dup(const char *src)
{
    size_t size = 3 * strlen(src) + 1; /* a byte becomes at most U+FFFD's three */
    char *copy = malloc(size);
    if (copy)
        cr_text_utf8(copy, size, src);
    return copy;
}

size_t cr_xml_append(char *dst, size_t size, const char *src)
{
    return convert(dst, size, size ? strlen(dst) : 0, src, XML);
}

void cr_xml_put(FILE *f, const char *src)
{
    for (const unsigned char *s = (const unsigned char *)src; s && *s;) {
        const char *out = NULL;
        size_t k = next_unit(&s, XML, &out);
        if (k)
            fwrite(out, 1, k, f);
    }
}

char *cr_json_text(json_object *doc, int flags)
{
    /* json-c escapes control characters but copies other bytes as they are: a string that
     * is not UTF-8 would make the document invalid JSON (RFC 8259). JSON's own syntax is
     * ASCII, so replacing what is not UTF-8 only touches the insides of strings. */
    const char *text = json_object_to_json_string_ext(doc, flags);
    return text ? cr_text_utf8_dup(text) : NULL;
}

void cr_field_suffix(const char *name, char *buf, size_t size)
{
    size_t k = 0;
    if (size < 2) {
        if (size)
            buf[0] = '\0';
        return;
    }
    buf[k++] = '_';
    for (const char *p = name; *p && k + 1 < size; p++)
        buf[k++] = ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) ? *p : '_';
    buf[k] = '\0';
}
