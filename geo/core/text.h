/* text.h: text that every output can hold, whatever bytes came in. Titles, labels, class
 * and band names, field names and file names come from the command line and from files
 * any tool made: they may hold control characters or bytes that are not UTF-8, which XML
 * (SVG, QML) forbids, JSON (GeoJSON, --json) must not carry raw, and Cairo refuses to draw.
 * One helper per kind of output; internal to the library. */
#ifndef CITYRISK_TEXT_H
#define CITYRISK_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* Copies src into dst (size bytes, always NUL-terminated when size > 0) as text to show:
 * valid UTF-8, where every byte that does not start a valid UTF-8 sequence (a stray
 * continuation byte, an overlong form, a surrogate, beyond U+10FFFF) becomes U+FFFD, as do
 * U+FFFE and U+FFFF; tab, newline and carriage return become a space; every other control
 * character (U+0000-U+001F, U+007F-U+009F) is dropped. Stops at the last whole character
 * that fits. Returns the length written. */
size_t cr_text_clean(char *dst, size_t size, const char *src);

/* As cr_text_clean() but for data that keeps its control characters (the format escapes
 * them, as JSON does): only what is not UTF-8 becomes U+FFFD. */
size_t cr_text_utf8(char *dst, size_t size, const char *src);

/* 1 when s is valid UTF-8 (control characters allowed), 0 otherwise. */
int cr_text_is_utf8(const char *s);

/* src as cr_text_utf8() makes it, in a string to free(), or NULL when out of memory. */
char *cr_text_utf8_dup(const char *src);

/* Appends src to dst (a NUL-terminated string in size bytes) as XML 1.0 character data or
 * attribute value: cleaned as cr_text_clean() does, then & < > " ' escaped. Stops at the
 * last whole character (or entity) that fits. Returns the length of dst. */
size_t cr_xml_append(char *dst, size_t size, const char *src);

/* Writes src to f as cr_xml_append() would. */
void cr_xml_put(FILE *f, const char *src);

/* The column suffix of a scenario (or any label) in a field name: "_" and name with every
 * character other than an ASCII letter or digit made '_' ("ssp245-2100" gives
 * "_ssp245_2100"): field names travel to SQL and QGIS expressions. Cut to size. */
void cr_field_suffix(const char *name, char *buf, size_t size);

#endif
