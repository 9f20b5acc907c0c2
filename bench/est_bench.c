/* est_bench - throughput of the token estimator (spill/tokens.c), single core.
 *
 *   est_bench [MB=100] [reps=5]
 * Builds a seeded mixed buffer (prose, code, JSON, logs, CJK, base64 in 64 KiB
 * segments), feeds it in 1 MiB chunks, and prints GB/s (best of reps) for every
 * code path the CPU has, plus the default path per content class. All paths must
 * agree on the count; a mismatch exits 1. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokens.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)((rng >> 32) % n);
}

static const char *const words[] = {
    "the", "of", "and", "to", "in", "is", "that", "for", "it", "with", "as", "was", "on",
    "software", "permission", "notwithstanding", "buffer", "request", "response", "server",
    "configuration", "information", "development", "people", "water", "morning", "however"};
#define NWORDS (sizeof words / sizeof words[0])

typedef struct { char *p; size_t n, cap; } out_t;
static void put(out_t *o, const char *s, size_t n)
{
    if (o->n + n > o->cap)
        return;
    memcpy(o->p + o->n, s, n);
    o->n += n;
}
static void puts_(out_t *o, const char *s) { put(o, s, strlen(s)); }
static void putf(out_t *o, const char *fmt, unsigned a, unsigned b)
{
    char t[64];
    int k = snprintf(t, sizeof t, fmt, a, b);
    put(o, t, (size_t)k);
}
static const char *word(void) { return words[rnd(NWORDS)]; }

static void gen(out_t *o, int cls, size_t n)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const size_t end = o->n + n < o->cap ? o->n + n : o->cap;
    while (o->n < end) {
        switch (cls) {
        case 0: /* prose */
            puts_(o, word()), puts_(o, rnd(12) ? " " : rnd(2) ? ". " : ",\n");
            break;
        case 1: /* code */
            puts_(o, "    "), puts_(o, word()), puts_(o, "_"), puts_(o, word());
            putf(o, " = fooBar(%u, 0x%x);\n", rnd(1000), rnd(65536));
            break;
        case 2: /* JSON */
            putf(o, "{\"id\": %u, \"score\": %u.5, \"name\": \"", rnd(100000), rnd(100));
            puts_(o, word()), puts_(o, "\", \"ok\": true},\n");
            break;
        case 3: /* logs */
            putf(o, "2024-06-01T12:%02u:%02u.123Z INFO [worker] ", rnd(60), rnd(60));
            puts_(o, word()), puts_(o, " "), puts_(o, word());
            putf(o, " id=%u ms=%u\n", rnd(1u << 30), rnd(5000));
            break;
        case 4: { /* CJK: U+4E00..U+9FFF, with fullwidth punctuation */
            unsigned cp = 0x4e00 + rnd(0x5200);
            char t[3] = {(char)(0xe0 | (cp >> 12)), (char)(0x80 | ((cp >> 6) & 0x3f)),
                         (char)(0x80 | (cp & 0x3f))};
            put(o, t, 3);
            if (!rnd(16))
                puts_(o, "\xe3\x80\x82");
            break;
        }
        default: /* base64, 76 columns */
            for (int i = 0; i < 76; i++)
                put(o, &b64[rnd(64)], 1);
            puts_(o, "\n");
        }
    }
    /* never leave a partial UTF-8 sequence: pad a cut one with spaces */
    while (o->n < o->cap && (o->p[o->n - 1] & 0xc0) == 0x80)
        o->p[o->n++] = ' ';
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* best seconds over reps; *tokens = the count */
static double run(const char *p, size_t n, int impl, int reps, uint64_t *tokens)
{
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        spill__est e;
        spill__est_init(&e, SPILL__VOCAB_CLAUDE);
        if (impl >= 0)
            spill__est_set_impl(&e, impl);
        const double t0 = now();
        for (size_t o = 0; o < n; o += 1 << 20) {
            spill__est_feed(&e, p + o, n - o < (1 << 20) ? n - o : (1 << 20));
            *tokens = spill__est_tokens(&e); /* as a caller checking the threshold would */
        }
        const double dt = now() - t0;
        if (dt < best)
            best = dt;
    }
    return best;
}

int main(int argc, char **argv)
{
    const size_t mb = argc > 1 ? strtoull(argv[1], NULL, 10) : 100;
    const int reps = argc > 2 ? atoi(argv[2]) : 5;
    out_t mix = {malloc(mb << 20), 0, mb << 20};
    if (!mix.p)
        return 1;
    while (mix.n + 16 < mix.cap)
        gen(&mix, (int)rnd(6), 64 * 1024);
    static const char *const impl_name[] = {"scalar", "sse2", "popcnt", "avx2"};
    spill__est probe;
    spill__est_init(&probe, SPILL__VOCAB_CLAUDE);
    printf("est_bench: %zu MB mixed input, 1 MiB feeds, best of %d; default path %s\n",
           mix.n >> 20, reps, impl_name[spill__est_impl(&probe)]);
    uint64_t first = 0;
    int bad = 0;
    for (int impl = 0; impl < 4; impl++) {
        if (spill__est_set_impl(&probe, impl) != 0) {
            printf("  %-7s not available on this CPU/build\n", impl_name[impl]);
            continue;
        }
        uint64_t tok = 0;
        const double s = run(mix.p, mix.n, impl, impl == 0 ? 1 : reps, &tok);
        printf("  %-7s %6.2f GB/s  %llu tokens (claude)\n", impl_name[impl],
               (double)mix.n / s / 1e9, (unsigned long long)tok);
        if (!first)
            first = tok;
        else if (tok != first)
            bad = 1, printf("  MISMATCH: %s counts differently\n", impl_name[impl]);
    }
    static const char *const cls_name[] = {"prose", "code", "json", "logs", "cjk", "base64"};
    out_t one = {malloc(16 << 20), 0, 16 << 20};
    if (!one.p)
        return 1;
    printf("  default path per class (16 MB each):");
    double slowest = 1e30;
    for (int c = 0; c < 6; c++) {
        uint64_t tok;
        one.n = 0;
        gen(&one, c, one.cap - 16);
        const double s = run(one.p, one.n, -1, reps, &tok);
        const double gbs = (double)one.n / s / 1e9;
        printf(" %s %.2f", cls_name[c], gbs);
        if (gbs < slowest)
            slowest = gbs;
    }
    printf(" GB/s\n");
    printf("%-46s %7.2f GB/s %8s %s\n", "estimator, slowest class on the default path", slowest, ">=1", slowest >= 1.0 ? "ok" : "MISSED");
    free(mix.p);
    free(one.p);
    return bad;
}
