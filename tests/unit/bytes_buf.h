/* bytes_buf.h - a growable byte buffer for the unit tests that build messages and
 * images in memory (test_filter.c, test_image.c). Test code: a failed realloc aborts. */
#ifndef SPILL_TEST_BYTES_BUF_H
#define SPILL_TEST_BYTES_BUF_H

#include <stdlib.h>
#include <string.h>

typedef struct bytes { unsigned char *p; size_t n, cap; } bytes;
static void put(bytes *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

#endif
