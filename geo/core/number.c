/* number.c: decimal numbers in text (see cityrisk/number.h). */
#define _POSIX_C_SOURCE 200809L
#include "cityrisk/number.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

size_t cr_decimal_span(const char *s)
{
    size_t i = 0, digits = 0;
    if (s[i] == '+' || s[i] == '-')
        i++;
    for (; is_digit(s[i]); i++)
        digits++;
    if (s[i] == '.')
        for (i++; is_digit(s[i]); i++)
            digits++;
    if (!digits)
        return 0;
    if (s[i] == 'e' || s[i] == 'E') {
        size_t j = i + 1;
        if (s[j] == '+' || s[j] == '-')
            j++;
        if (is_digit(s[j])) {
            while (is_digit(s[j]))
                j++;
            i = j;
        }
    }
    return i;
}

/* The words strtod() gives a meaning to that are worth telling apart from text. */
static cr_number_kind word(const char *s, size_t n, double *out)
{
    double sign = 1;
    if (n && (*s == '+' || *s == '-')) {
        sign = *s == '-' ? -1 : 1;
        s++, n--;
    }
    if (n == 3 && strncasecmp(s, "nan", 3) == 0) {
        *out = sign * NAN;
        return CR_NUMBER_NAN;
    }
    if ((n == 3 && strncasecmp(s, "inf", 3) == 0) || (n == 8 && strncasecmp(s, "infinity", 8) == 0)) {
        *out = sign * INFINITY;
        return CR_NUMBER_INFINITY;
    }
    return CR_NUMBER_NONE;
}

cr_number_kind cr_number_parse(const char *text, size_t len, double *out)
{
    if (!text)
        return CR_NUMBER_NONE;
    if (len == (size_t)-1)
        len = strlen(text);
    while (len && is_blank(*text))
        text++, len--;
    while (len && is_blank(text[len - 1]))
        len--;
    if (len == 0 || memchr(text, '\0', len))
        return CR_NUMBER_NONE;
    /* strtod() wants a terminated string and would read on past len. */
    char small[128], *copy = len < sizeof small ? small : malloc(len + 1);
    if (!copy)
        return CR_NUMBER_NONE;
    memcpy(copy, text, len);
    copy[len] = '\0';
    cr_number_kind kind = CR_NUMBER_NONE;
    if (cr_decimal_span(copy) == len) {
        char *end;
        errno = 0;
        double v = strtod(copy, &end);
        if (end == copy + len) {
            /* ERANGE on underflow gives 0 or a subnormal: a fine number. */
            kind = isinf(v) ? CR_NUMBER_OVERFLOW : CR_NUMBER_FINITE;
            *out = v;
        }
    } else {
        kind = word(copy, len, out);
    }
    if (copy != small)
        free(copy);
    return kind;
}

int cr_number_finite(const char *text, double *out)
{
    double v;
    if (cr_number_parse(text, (size_t)-1, &v) != CR_NUMBER_FINITE)
        return 0;
    *out = v;
    return 1;
}

const char *cr_number_shortest(double v, char *buf, size_t size)
{
    if (!isfinite(v)) {
        snprintf(buf, size, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
        return buf;
    }
    /* 17 significant digits always read back (DBL_DECIMAL_DIG); fewer often do. */
    for (int digits = 1; digits <= 17; digits++) {
        double back;
        snprintf(buf, size, "%.*g", digits, v);
        if (cr_number_finite(buf, &back) && back == v)
            break;
    }
    return buf;
}

const char *cr_number_fixed(double v, int decimals, char *buf, size_t size)
{
    if (isfinite(v) && fabs(v) < 1e7)
        snprintf(buf, size, "%.*f", decimals, v);
    else
        snprintf(buf, size, "%.10g", v);
    return buf;
}
