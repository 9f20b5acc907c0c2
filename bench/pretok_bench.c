/* pretok_bench [-n MB | FILE...] - throughput of the text front end (spill/textnorm.c) and the
 * pre-tokenizers (spill/pretok.c) on generated ASCII prose/code, JSON, CJK and base64
 * text (or of the given files), single thread, best of 3. Fed in 64 KiB chunks as the
 * counter does. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pretok.h"
#include "textnorm.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* not wall time: other jobs may share the CPUs */
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static const char *const words[] = {"the", "of", "and", "to", "in", "is", "that", "for", "it", "as",
    "with", "was", "on", "be", "by", "this", "are", "from", "an", "which", "camelCase", "HTTPServer",
    "value", "return", "if", "else", "const", "int", "size_t", "don't", "we're", "x", "buffer"};
static const char *const seps[] = {" ", " ", " ", " ", ", ", ". ", "\n", "(", ");\n    ", " = ", "\": \"", "_", "  ", "/", "42", " 1234"};

static size_t gen_ascii(char *b, size_t n)
{
    size_t o = 0;
    while (o + 64 < n) {
        const char *w = words[next() % (sizeof words / sizeof *words)];
        const char *s = seps[next() % (sizeof seps / sizeof *seps)];
        o += (size_t)sprintf(b + o, "%s%s", w, s);
    }
    return o;
}

static size_t gen_cjk(char *b, size_t n)
{
    size_t o = 0;
    while (o + 8 < n) {
        unsigned cp;
        const unsigned r = next() % 100;
        if (r < 60)
            cp = 0x4E00 + (unsigned)(next() % 0x5000); /* Han */
        else if (r < 80)
            cp = 0x3041 + (unsigned)(next() % 0x56);   /* Hiragana */
        else if (r < 92)
            cp = 0xAC00 + (unsigned)(next() % 11172);  /* Hangul syllables */
        else if (r < 96)
            cp = 0x3002;                                /* 。 */
        else
            cp = 0xFF0C;                                /* fullwidth comma: NFKC folds it */
        b[o++] = (char)(0xE0 | cp >> 12);
        b[o++] = (char)(0x80 | (cp >> 6 & 0x3F));
        b[o++] = (char)(0x80 | (cp & 0x3F));
        if (next() % 40 == 0)
            b[o++] = '\n';
    }
    return o;
}

static size_t gen_b64(char *b, size_t n)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    while (o + 2 < n) {
        b[o++] = al[next() % 64];
        if (o % 77 == 76)
            b[o++] = '\n';
    }
    return o;
}

/* MB/s of textnorm alone, and of textnorm + pre-tokenizer k, over text[0..n). */
static void bench(const char *name, const char *text, size_t n)
{
    static const char *const kn[3] = {"claude", "o200k", "cl100k"};
    for (int nfkc = 0; nfkc < 2; nfkc++) {
        double best_tn = 1e9;
        for (int rep = 0; rep < 3; rep++) {
            spill__textnorm *t = spill__textnorm_new(nfkc);
            const double t0 = now();
            for (size_t i = 0; i < n; i += 65536) {
                spill__textnorm_feed(t, text + i, n - i < 65536 ? n - i : 65536);
                size_t m;
                spill__textnorm_out(t, &m);
                spill__textnorm_consume(t, m);
            }
            spill__textnorm_end(t);
            const double dt = now() - t0;
            if (dt < best_tn)
                best_tn = dt;
            spill__textnorm_free(t);
        }
        printf("%-10s textnorm nfkc=%d        %8.0f MB/s\n", name, nfkc, n / best_tn / 1e6);
    }
    for (int k = 0; k < 3; k++) {
        double best = 1e9;
        size_t pieces = 0;
        for (int rep = 0; rep < 3; rep++) {
            const double t0 = now();
            size_t off = 0, p = 0;
            while (off < n) {
                const size_t r = spill__pretok_next((spill__pretok_kind)k, (const uint8_t *)text + off, n - off, 1);
                off += r;
                p++;
            }
            const double dt = now() - t0;
            if (dt < best)
                best = dt;
            pieces = p;
        }
        printf("%-10s pretok %-6s            %8.0f MB/s  (%zu pieces, %.2f B/piece)\n", name, kn[k],
               n / best / 1e6, pieces, (double)n / pieces);
    }
    /* Streaming both, as the counter runs them: textnorm output -> pieces, 64 KiB feeds. */
    for (int k = 0; k < 3; k++) {
        double best = 1e9;
        for (int rep = 0; rep < 3; rep++) {
            spill__textnorm *t = spill__textnorm_new(k == SPILL__PRETOK_CLAUDE);
            size_t pieces = 0;
            const double t0 = now();
            for (size_t i = 0; i <= n; i += 65536) {
                const int last = i + 65536 >= n;
                if (i < n)
                    spill__textnorm_feed(t, text + i, last ? n - i : 65536);
                if (last)
                    spill__textnorm_end(t);
                size_t m, r;
                const uint8_t *o = spill__textnorm_out(t, &m), *p = o;
                while ((r = spill__pretok_next((spill__pretok_kind)k, p, m - (size_t)(p - o), last)) > 0)
                    p += r, pieces++;
                spill__textnorm_consume(t, (size_t)(p - o));
                if (last)
                    break;
            }
            const double dt = now() - t0;
            if (dt < best)
                best = dt;
            spill__textnorm_free(t);
            if (pieces == 0)
                abort();
        }
        printf("%-10s textnorm+pretok %-6s   %8.0f MB/s\n", name, kn[k], n / best / 1e6);
    }
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20, len = 0, r;
    char *b = malloc(cap);
    while (b && (r = fread(b + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb)
                free(b);
            b = nb;
        }
    }
    fclose(f);
    *n = len;
    return b;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "-n") != 0) { /* files, e.g. the seeded corpus */
        for (int a = 1; a < argc; a++) {
            size_t n;
            char *b = slurp(argv[a], &n);
            if (!b) {
                fprintf(stderr, "pretok_bench: cannot read %s\n", argv[a]);
                return 1;
            }
            const char *name = strrchr(argv[a], '/') ? strrchr(argv[a], '/') + 1 : argv[a];
            bench(name, b, n);
            free(b);
        }
        return 0;
    }
    const size_t n = (size_t)(argc > 2 ? atof(argv[2]) : 32) * 1000000;
    char *b = malloc(n + 64);
    if (!b)
        return 1;
    bench("ascii", b, gen_ascii(b, n));
    bench("cjk", b, gen_cjk(b, n));
    bench("base64", b, gen_b64(b, n));
    free(b);
    return 0;
}
