/* buf.h: a growing string, for outputs made in memory before they are written (the report's
 * page, a chart's SVG or PNG bytes); internal to the library. */
#ifndef CITYRISK_BUF_H
#define CITYRISK_BUF_H

#include <stddef.h>

typedef struct cr_buf {
    char *data; /* NUL-terminated; NULL until the first append */
    size_t len, cap;
    int failed; /* an allocation failed: every later append is a no-op */
} cr_buf;

/* Makes room for more bytes after len (and a NUL): 1, or 0 when out of memory (then failed
 * is set and stays). The room doubles, so appends cost amortised O(1). */
int cr_buf_reserve(cr_buf *b, size_t more);

/* Appends n bytes of data (always NUL-terminated after). */
void cr_buf_add(cr_buf *b, const void *data, size_t n);

/* Frees the text; the buffer is empty again. */
void cr_buf_free(cr_buf *b);

#endif
