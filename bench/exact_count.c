/* exact_count - batch driver of the exact token counter (spill_count*), for the
 * differential tests against the reference tokenizers and for the benchmark.
 *
 *   exact_count [--vocab V]... [options] < FRAMES
 * FRAMES: "LEN\n" then LEN bytes, repeated (est_count --frames reads the same). For each
 * frame one line: the vocabulary tokens (exact, without multiplier) per --vocab, in
 * order, space-separated; a capped count is suffixed with "c".
 *   --chunk N          feed N bytes at a time (default: the whole frame at once)
 *   --check-chunks all|rotate   also count each frame fed in other chunkings and compare
 *                      with the whole count: every size 1..64 and powers of two up to
 *                      1 MiB that are below the frame's length, plus 3 random splittings
 *                      (all); or one of those sizes per frame, taking turns, plus one
 *                      random splitting (rotate). Mismatches are printed as
 *                      "mismatch frame=I vocab=V chunking=C whole=X got=Y"; exit 1.
 *   --small-upto N     sizes below 128 only for frames of at most N bytes (all mode)
 *   --seed S           random splittings (default 1)
 *   --early-exit N, --cap N, --multiplier X   options of the counter; the line then
 *                      reads "TOKENS EXACT ESTIMATED FROM CAPPED EARLY" per vocab
 *   --bench R          per frame and vocab: best-of-R seconds, printed as "SECONDS"
 *   --load-time        print the vocabularies' load times in ms and exit
 *   --piece MiB        count one unsplittable piece of MiB MiB of seeded lowercase
 *                      letters and print seconds, tokens and the capped flag */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spill.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t rng;
static uint64_t rnd(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static spill_count_opts opts;

static spill_count_result count_chunked(const spill_tokenizer *tk, const unsigned char *p, size_t n,
                                        size_t chunk)
{
    spill_counter *c;
    spill_count_result r;
    if (spill_counter_new(&c, tk, &opts) != 0) {
        fprintf(stderr, "exact_count: out of memory\n");
        exit(2);
    }
    if (!chunk)
        chunk = n ? n : 1;
    for (size_t i = 0; i < n; i += chunk)
        spill_counter_feed(c, p + i, n - i < chunk ? n - i : chunk);
    spill_counter_finish(c, &r);
    spill_counter_free(c);
    return r;
}

/* Fed at 1 + rnd(50) random split points. */
static spill_count_result count_split(const spill_tokenizer *tk, const unsigned char *p, size_t n)
{
    spill_counter *c;
    spill_count_result r;
    if (spill_counter_new(&c, tk, &opts) != 0)
        exit(2);
    size_t k = 1 + (size_t)(rnd() % 50), cuts[64];
    for (size_t i = 0; i < k; i++)
        cuts[i] = n ? (size_t)(rnd() % (n + 1)) : 0;
    for (size_t i = 1; i < k; i++) /* insertion sort */
        for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
            size_t t = cuts[j];
            cuts[j] = cuts[j - 1];
            cuts[j - 1] = t;
        }
    size_t at = 0;
    for (size_t i = 0; i <= k; i++) {
        size_t e = i < k ? cuts[i] : n;
        spill_counter_feed(c, p + at, e - at);
        at = e;
    }
    spill_counter_finish(c, &r);
    spill_counter_free(c);
    return r;
}

static size_t sizes[128];
static size_t nsizes;

int main(int argc, char **argv)
{
    const char *vocabs[3];
    int nv = 0, check = 0, load_time = 0, bench = 0, detail = 0;
    size_t chunk = 0, small_upto = (size_t)-1;
    double piece_mib = 0;
    spill_count_opts_init(&opts);
    opts.multiplier = 1.0;
    rng = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--load-time")) {
            load_time = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "exact_count: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--vocab") && nv < 3)
            vocabs[nv++] = v;
        else if (!strcmp(a, "--chunk"))
            chunk = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--check-chunks"))
            check = !strcmp(v, "all") ? 1 : 2;
        else if (!strcmp(a, "--small-upto"))
            small_upto = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--seed"))
            rng = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--early-exit"))
            opts.early_exit = strtoull(v, NULL, 10), detail = 1;
        else if (!strcmp(a, "--cap"))
            opts.piece_cap = strtoull(v, NULL, 10), detail = 1;
        else if (!strcmp(a, "--multiplier"))
            opts.multiplier = strtod(v, NULL), detail = 1;
        else if (!strcmp(a, "--bench"))
            bench = atoi(v);
        else if (!strcmp(a, "--piece"))
            piece_mib = strtod(v, NULL);
        else {
            fprintf(stderr, "exact_count: unknown option %s\n", a);
            return 2;
        }
    }
    if (!nv)
        vocabs[nv++] = "o200k";
    spill_tokenizer *tk[3];
    for (int i = 0; i < nv; i++) {
        char err[512];
        double t0 = now();
        int rc = spill_tokenizer_open(&tk[i], vocabs[i], NULL, err, sizeof err);
        if (rc) {
            fprintf(stderr, "exact_count: %s\n", err[0] ? err : spill_strerror(rc));
            return 2;
        }
        if (load_time)
            printf("%s %.2f\n", vocabs[i], (now() - t0) * 1e3);
    }
    if (load_time) {
        for (int i = 0; i < nv; i++)
            spill_tokenizer_free(tk[i]);
        return 0;
    }
    if (piece_mib > 0) {
        size_t n = (size_t)(piece_mib * 1048576);
        unsigned char *p = malloc(n);
        if (!p)
            return 2;
        for (size_t i = 0; i < n; i++)
            p[i] = (unsigned char)('a' + rnd() % 26);
        for (int v = 0; v < nv; v++) {
            double t0 = now();
            spill_count_result r;
            spill_count(tk[v], &opts, p, n, &r);
            printf("%s %.4f %llu %d\n", vocabs[v], now() - t0, (unsigned long long)r.exact_tokens, r.capped);
        }
        free(p);
        for (int i = 0; i < nv; i++)
            spill_tokenizer_free(tk[i]);
        return 0;
    }
    for (size_t s = 1; s <= 64; s++)
        sizes[nsizes++] = s;
    for (size_t s = 128; s <= (1u << 20); s *= 2)
        sizes[nsizes++] = s;

    size_t cap = 1 << 20, frame = 0;
    unsigned char *buf = malloc(cap);
    int bad = 0;
    unsigned long long len;
    while (scanf("%llu", &len) == 1) {
        if (getchar() != '\n')
            return 2;
        if (len > cap) {
            cap = (size_t)len;
            buf = realloc(buf, cap);
            if (!buf)
                return 2;
        }
        if (fread(buf, 1, (size_t)len, stdin) != len) {
            fprintf(stderr, "exact_count: short frame\n");
            return 2;
        }
        const size_t n = (size_t)len;
        for (int v = 0; v < nv; v++) {
            spill_count_result r = count_chunked(tk[v], buf, n, chunk);
            if (bench > 0) {
                double best = 1e9;
                for (int k = 0; k < bench; k++) {
                    double t0 = now();
                    count_chunked(tk[v], buf, n, 1 << 20);
                    double t = now() - t0;
                    if (t < best)
                        best = t;
                }
                printf("%s%.6f", v ? " " : "", best);
                continue;
            }
            if (detail)
                printf("%s%llu %llu %llu %llu %d %d", v ? " " : "", (unsigned long long)r.tokens,
                       (unsigned long long)r.exact_tokens, (unsigned long long)r.estimated_tokens,
                       (unsigned long long)r.estimated_from, r.capped, r.early_exit);
            else
                printf("%s%llu%s", v ? " " : "", (unsigned long long)r.exact_tokens, r.capped ? "c" : "");
            if (!check)
                continue;
            for (size_t si = 0; si < nsizes; si++) {
                size_t s = sizes[si];
                if (check == 2 && si != frame % nsizes)
                    continue;
                if (s >= n || (check == 1 && s < 128 && n > small_upto))
                    continue;
                spill_count_result q = count_chunked(tk[v], buf, n, s);
                if (q.tokens != r.tokens || q.exact_tokens != r.exact_tokens || q.capped != r.capped) {
                    fprintf(stdout, "\nmismatch frame=%zu vocab=%s chunking=%zu whole=%llu got=%llu\n", frame,
                            vocabs[v], s, (unsigned long long)r.tokens, (unsigned long long)q.tokens);
                    bad = 1;
                }
            }
            for (int k = 0; k < (check == 1 ? 3 : 1); k++) {
                spill_count_result q = count_split(tk[v], buf, n);
                if (q.tokens != r.tokens || q.exact_tokens != r.exact_tokens || q.capped != r.capped) {
                    fprintf(stdout, "\nmismatch frame=%zu vocab=%s chunking=random whole=%llu got=%llu\n",
                            frame, vocabs[v], (unsigned long long)r.tokens, (unsigned long long)q.tokens);
                    bad = 1;
                }
            }
        }
        printf("\n");
        frame++;
    }
    free(buf);
    for (int i = 0; i < nv; i++)
        spill_tokenizer_free(tk[i]);
    return bad;
}
