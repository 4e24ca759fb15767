/* number.h: the one reader of numbers written as text, for CSV fields, filters and
 * option values alike. */
#ifndef CITYRISK_NUMBER_H
#define CITYRISK_NUMBER_H

#include <stddef.h>

#include "cityrisk/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a text holds, as cr_number_parse() reads it. */
typedef enum cr_number_kind {
    CR_NUMBER_NONE = 0, /* no number: empty, hexadecimal (0x10, 0x1p1), digit separators, words */
    CR_NUMBER_FINITE,   /* a decimal number within the range of a double */
    CR_NUMBER_OVERFLOW, /* a decimal number beyond the range of a double (1e400): ±HUGE_VAL */
    CR_NUMBER_NAN,      /* the word nan, in any case and with an optional sign: NaN */
    CR_NUMBER_INFINITY  /* inf or infinity, in any case and with an optional sign: ±INFINITY */
} cr_number_kind;

/* The length of the decimal number at the start of s: an optional sign, digits with at
 * most one '.' (at least one digit), and an optional exponent (e or E, an optional sign,
 * digits); 0 when s does not start with one. */
CR_API size_t cr_decimal_span(const char *s);

/* Reads the len bytes at text (len (size_t)-1: up to its NUL) as a number: a decimal one
 * as the documentation promises everywhere, with ASCII blanks around it, and nothing
 * else (C's strtod() also takes hexadecimal and C99 hexadecimal floating point, which
 * no one writes in a table). The words nan, inf and infinity are recognised so that
 * callers can say what they hold rather than "not a number"; callers that want a finite
 * number take CR_NUMBER_FINITE only. *out is set for every kind but CR_NUMBER_NONE. */
CR_API cr_number_kind cr_number_parse(const char *text, size_t len, double *out);

/* 1 and *out set when text (NUL-terminated) is a finite decimal number, else 0. */
CR_API int cr_number_finite(const char *text, double *out);

/* Writes into buf (size bytes; 32 always suffice) the shortest decimal text that
 * cr_number_parse() reads back as exactly v ("0.1", not "0.10000000000000001"): for
 * numbers that become arguments or style values again. "nan", "inf" and "-inf" for the
 * others. Returns buf. */
CR_API const char *cr_number_shortest(double v, char *buf, size_t size);

/* Writes v into buf (size bytes; 32 always suffice) with `decimals` digits after the
 * point ("0.560"), or, when that would take more than ten significant digits before the
 * point (|v| >= 1e7), in ten significant digits ("1.5e+30"): messages and labels stay
 * readable whatever the value. Returns buf. */
CR_API const char *cr_number_fixed(double v, int decimals, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
