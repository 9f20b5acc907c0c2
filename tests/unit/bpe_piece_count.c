/* bpe_piece_count VOCAB FILE - counts pieces with spill__bpe_count and compares with
 * reference counts. FILE has one piece a line: "<expected count> <piece as hex>"
 * (tests/cli/bpe_ref.mjs writes it). Prints "N pieces, M mismatches" and the first
 * mismatches; exit status 0 only when there are none. Run by tests/cli/test_bpe_ref.sh;
 * not named test_* because it needs its input file. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "spill.h"

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bpe_piece_count claude|o200k|cl100k FILE\n");
        return 2;
    }
    char path[4096], err[512];
    int rc = spill__vocab_path(argv[1], path, sizeof path);
    if (rc) {
        fprintf(stderr, "bpe_piece_count: %s\n", path);
        return 2;
    }
    spill__ranks *r;
    if ((rc = spill__ranks_load(path, &r, err, sizeof err)) != 0) {
        fprintf(stderr, "bpe_piece_count: %s\n", err);
        return 2;
    }
    FILE *f = fopen(argv[2], "r");
    if (!f) {
        perror(argv[2]);
        return 2;
    }
    spill__bpe_scratch s = {0};
    char *line = NULL;
    size_t cap = 0, pieces = 0, bad = 0;
    uint8_t *buf = NULL;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        char *sp = strchr(line, ' ');
        if (!sp) {
            fprintf(stderr, "bpe_piece_count: bad line %zu\n", pieces + 1);
            return 2;
        }
        const uint64_t want = strtoull(line, NULL, 10);
        const char *hex = sp + 1;
        size_t n = 0;
        buf = realloc(buf, (size_t)len / 2 + 1);
        while (hexval(hex[2 * n]) >= 0 && hexval(hex[2 * n + 1]) >= 0) {
            buf[n] = (uint8_t)(hexval(hex[2 * n]) << 4 | hexval(hex[2 * n + 1]));
            n++;
        }
        pieces++;
        const uint64_t got = spill__bpe_count(r, &s, buf, n);
        if (got != want && bad++ < 10)
            printf("mismatch: %zu-byte piece %.80s%s: reference %" PRIu64 ", spill %" PRIu64 "\n", n, hex,
                   2 * n > 80 ? "..." : "", want, got);
    }
    printf("%zu pieces, %zu mismatches\n", pieces, bad);
    free(line);
    free(buf);
    fclose(f);
    spill__bpe_scratch_free(&s);
    spill__ranks_free(r);
    return bad ? 1 : 0;
}
