/* pretok_split MODE [CHUNK] - test driver for tests/cli/test_pretok_ref.sh (not a test
 * on its own). Reads records (u32 little-endian length, then the bytes) from stdin and
 * writes one line per record:
 *   MODE claude|o200k|cl100k: the byte lengths of the pieces of the record after the
 *     text front end (NFKC for claude), space-separated;
 *   MODE utf8: the hex of the record after WHATWG UTF-8 replacement (no NFKC);
 *   MODE nfkc: the hex of the record after replacement and NFKC.
 * CHUNK > 0 feeds the front end CHUNK bytes at a time and asks for pieces after each
 * feed, as a streaming counter does; 0 feeds the record whole. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pretok.h"
#include "textnorm.h"

static int read_record(unsigned char **buf, size_t *cap, size_t *n)
{
    unsigned char h[4];
    if (fread(h, 1, 4, stdin) != 4)
        return 0;
    *n = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16 | (size_t)h[3] << 24;
    if (*n + 1 > *cap) {
        *cap = *n + 1;
        *buf = realloc(*buf, *cap);
        if (!*buf)
            exit(2);
    }
    if (fread(*buf, 1, *n, stdin) != *n)
        exit(2);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: pretok_split claude|o200k|cl100k|utf8|nfkc [CHUNK]\n");
        return 2;
    }
    const char *mode = argv[1];
    const size_t chunk = argc > 2 ? strtoul(argv[2], NULL, 10) : 0;
    int kind = -1, nfkc = 0;
    if (!strcmp(mode, "claude"))
        kind = SPILL__PRETOK_CLAUDE, nfkc = 1;
    else if (!strcmp(mode, "o200k"))
        kind = SPILL__PRETOK_O200K;
    else if (!strcmp(mode, "cl100k"))
        kind = SPILL__PRETOK_CL100K;
    else if (!strcmp(mode, "nfkc"))
        nfkc = 1;
    else if (strcmp(mode, "utf8")) {
        fprintf(stderr, "pretok_split: unknown mode %s\n", mode);
        return 2;
    }
    unsigned char *buf = NULL;
    size_t cap = 0, n;
    while (read_record(&buf, &cap, &n)) {
        spill__textnorm *t = spill__textnorm_new(nfkc);
        if (!t)
            return 2;
        const size_t step = chunk ? chunk : (n ? n : 1);
        int sep = 0;
        for (size_t i = 0;; i += step) {
            const int last = i + step >= n;
            if (i < n && spill__textnorm_feed(t, buf + i, last ? n - i : step))
                return 2;
            if (last && spill__textnorm_end(t))
                return 2;
            size_t m, r;
            const uint8_t *o = spill__textnorm_out(t, &m), *p = o;
            if (kind < 0) {
                for (size_t k = 0; k < m; k++)
                    printf("%02x", o[k]);
                p += m;
            } else {
                while ((r = spill__pretok_next((spill__pretok_kind)kind, p, m - (size_t)(p - o), last)) > 0) {
                    printf(sep ? " %zu" : "%zu", r);
                    sep = 1;
                    p += r;
                }
            }
            spill__textnorm_consume(t, (size_t)(p - o));
            if (last)
                break;
        }
        putchar('\n');
        spill__textnorm_free(t);
    }
    free(buf);
    return 0;
}
