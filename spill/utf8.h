/* utf8.h - the one rule for well-formed UTF-8 that spill applies to a server's bytes before
 * they reach an agent (previews, spill_read pages): jansson's rule, so that what spill
 * passes on is what a JSON client takes. Pure, header only. */
#ifndef SPILL_UTF8_H
#define SPILL_UTF8_H

#include <stddef.h>

/* Length (1..4) of the well-formed UTF-8 sequence at p[0..n) (no overlongs, surrogates or
 * code points past U+10FFFF); 0 if the bytes there are not one; -1 if they are well-formed
 * so far but cut at n (the rest may come with more bytes). n >= 1. */
static inline int spill__u8_seq(const unsigned char *p, size_t n)
{
    const unsigned c = p[0];
    if (c < 0x80)
        return 1;
    const int len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return -1;
        const unsigned d = p[i];
        if ((d & 0xc0) != 0x80 || (i == 1 && ((c == 0xe0 && d < 0xa0) || (c == 0xed && d > 0x9f) ||
                                              (c == 0xf0 && d < 0x90) || (c == 0xf4 && d > 0x8f))))
            return 0;
    }
    return len;
}

#endif
