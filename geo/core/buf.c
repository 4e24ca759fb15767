/* buf.c: a growing string (buf.h). */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

int cr_buf_reserve(cr_buf *b, size_t more)
{
    if (b->failed)
        return 0;
    if (b->len + more + 1 <= b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *data = realloc(b->data, cap);
    if (!data) {
        b->failed = 1;
        return 0;
    }
    b->data = data;
    b->cap = cap;
    b->data[b->len] = '\0';
    return 1;
}

void cr_buf_add(cr_buf *b, const void *data, size_t n)
{
    if (!cr_buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void cr_buf_free(cr_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}
