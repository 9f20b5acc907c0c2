/* Unit tests of the token estimator (spill/tokens.c): features equal a naive
 * by-definition count, every code path and every chunking gives the same result,
 * the count never decreases, and sanity bounds. Accuracy against the real
 * tokenizers is tests/cli/test_estimator_accuracy.sh (needs Node). */
#include "../harness.h"
#include "tokens.h"

#define NF SPILL__EST_NFEAT
static const int vocabs[3] = {SPILL__VOCAB_CLAUDE, SPILL__VOCAB_O200K, SPILL__VOCAB_CL100K};

/* ---- inputs ---- */
static const char *const pieces[] = {
    "the", "of", "Hello", "camelCaseWord", "HTTPServer", "ALLCAPS", "x", "internationalization",
    "0", "42", "1234", "1234567", "12345678901234567890", "0x7fff", "a1b2c3", "3f2a9c1bde",
    " ", "  ", "    ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\n    ", "  \n", "\n  \n  ", " \t \n",
    ".", ",", "(", "\"", "\");", "==========", "--", "->", "/*", "*/", "{\"", "\":", "'s",
    "\xc3\xa9", "na\xc3\xafve", "\xe4\xb8\xad\xe6\x96\x87", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
    "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4", "\xe3\x81\x82\xe3\x80\x82", "\xef\xbc\x8c",
    "\xe2\x80\x94", "\xf0\x9f\x98\x80", "\xef\xbb\xbf", "\x80", "\xff", "\0",
};
#define NPIECES (sizeof pieces / sizeof pieces[0])

/* A seeded text of about n bytes built from the pieces above (and random bytes when
 * raw is set), so every feature and every 64-byte-block boundary case turns up. */
static size_t make_text(unsigned char *buf, size_t n, int raw)
{
    size_t o = 0;
    while (o < n) {
        if (raw && h_below(4) == 0) {
            buf[o++] = (unsigned char)h_below(256);
            continue;
        }
        const char *p = pieces[h_below(NPIECES)];
        size_t k = strlen(p);
        if (*p == 0)
            k = 1; /* the NUL piece */
        if (o + k > n)
            break;
        memcpy(buf + o, p, k);
        o += k;
    }
    return o;
}

/* ---- a naive reference: each feature by its definition, looking back over the
 * whole input (see the feature list in tokens.c) ---- */
enum { C_LO = 1, C_UP, C_D, C_S, C_N, C_H, C_P };
static int cls_at(const unsigned char *b, long i)
{
    if (i < 0)
        return 0;
    const unsigned char c = b[i];
    if (c >= 'a' && c <= 'z') return C_LO;
    if (c >= 'A' && c <= 'Z') return C_UP;
    if (c >= '0' && c <= '9') return C_D;
    if (c == ' ' || c == '\t') return C_S;
    if (c == '\n' || c == '\r') return C_N;
    if (c >= 0x80) return C_H;
    return C_P;
}
#define IS(k, j) (cls_at(b, (j)) == (k))
#define ISL(j) (IS(C_LO, j) || IS(C_UP, j))
#define ISW(j) (IS(C_S, j) || IS(C_N, j))
static int cont_at(const unsigned char *b, long j) /* letter continuing a camel-aware run */
{
    return j >= 0 && ISL(j) && ISL(j - 1) && !(IS(C_UP, j) && IS(C_LO, j - 1));
}
static void reference_features(const unsigned char *b, size_t n, uint64_t *f)
{
    memset(f, 0, NF * sizeof *f);
    int inN = 0; /* byte i-1 is in a whitespace run at/after one of its newlines */
    for (long i = 0; i < (long)n; i++) {
        const int start = ISL(i) && !ISL(i - 1);
        const int absorb = IS(C_P, i - 1) && !IS(C_P, i - 2) && !IS(C_S, i - 2);
        f[0] += start && !absorb;
        f[1] += start && absorb;
        f[2] += IS(C_UP, i) && IS(C_LO, i - 1);
        f[3] += IS(C_UP, i) && IS(C_UP, i - 1);
        int crun = 0;
        while (crun < 4 && cont_at(b, i - crun))
            crun++;
        f[4] += crun >= 4;
        int dk = 0; /* digits right before i */
        while (dk < 13 && IS(C_D, i - 1 - dk))
            dk++;
        if (IS(C_D, i)) {
            f[5] += dk == 0;
            f[6] += dk == 0 && IS(C_S, i - 1);
            f[7] += dk == 3 || dk == 6 || dk == 9;
            f[8] += dk >= 3;
            f[9] += dk >= 12;
        }
        f[10] += (ISL(i) && IS(C_D, i - 1)) || (IS(C_D, i) && ISL(i - 1));
        if (IS(C_P, i)) {
            f[11] += !IS(C_P, i - 1);
            f[12] += IS(C_P, i - 1) && b[i] != b[i - 1];
            f[13] += IS(C_P, i - 1) && b[i] == b[i - 1];
        }
        if (IS(C_N, i) && !inN) {
            f[14] += !IS(C_P, i - 1);
            f[15] += IS(C_P, i - 1);
        }
        inN = ISW(i) && (IS(C_N, i) || inN);
        f[16] += !ISW(i) && IS(C_S, i - 1) && IS(C_S, i - 2);
        f[17] += ISW(i) && ISW(i - 1);
        const unsigned char c = b[i];
        if (c >= 0xc0)
            f[c < 0xe0 ? 18 : c < 0xe3 ? 19 : c == 0xe3 ? 20 : c < 0xea ? 21 : c < 0xee ? 22
              : c < 0xf0 ? 23 : 24]++;
    }
}

/* ---- helpers ---- */
static void est_all(spill__est *e, int vocab, int impl, const unsigned char *p, size_t n,
                    size_t step)
{
    spill__est_init(e, (spill__vocab)vocab);
    if (impl >= 0)
        spill__est_set_impl(e, impl);
    for (size_t o = 0; o < n; o += step)
        spill__est_feed(e, p + o, n - o < step ? n - o : step);
}
static void est_random_splits(spill__est *e, int vocab, const unsigned char *p, size_t n)
{
    spill__est_init(e, (spill__vocab)vocab);
    for (size_t o = 0; o < n;) {
        size_t k = h_below(4) == 0 ? h_below(300) : h_below(8);
        if (k > n - o)
            k = n - o;
        spill__est_feed(e, p + o, k);
        o += k;
    }
}
static int same_features(const spill__est *a, const spill__est *b)
{
    uint64_t fa[NF], fb[NF];
    spill__est_features(a, fa);
    spill__est_features(b, fb);
    return memcmp(fa, fb, sizeof fa) == 0;
}

/* ---- cases ---- */
static void empty_input(void)
{
    for (int v = 0; v < 3; v++) {
        spill__est e;
        spill__est_init(&e, (spill__vocab)vocabs[v]);
        ASSERT_EQ(spill__est_tokens(&e), 0);
        spill__est_feed(&e, NULL, 0);
        spill__est_feed(&e, "", 0);
        ASSERT_EQ(spill__est_tokens(&e), 0);
        uint64_t f[NF];
        spill__est_features(&e, f);
        for (int i = 0; i < NF; i++)
            ASSERT_EQ(f[i], 0);
    }
    ASSERT(spill__est_feature_name(0) != NULL);
    ASSERT(spill__est_feature_name(NF - 1) != NULL);
    ASSERT(spill__est_feature_name(NF) == NULL);
    ASSERT(spill__est_feature_name(-1) == NULL);
}

static void features_match_definition(void)
{
    enum { MAX = 6000 };
    static unsigned char buf[MAX];
    uint64_t want[NF], got[NF];
    for (int t = 0; t < 300; t++) {
        const size_t n = make_text(buf, 1 + h_below(t < 100 ? 200 : MAX), t % 3 == 0);
        reference_features(buf, n, want);
        for (int impl = SPILL__EST_SCALAR; impl <= SPILL__EST_AVX2; impl++) {
            spill__est e;
            spill__est_init(&e, SPILL__VOCAB_O200K);
            if (spill__est_set_impl(&e, impl) != 0)
                continue;
            spill__est_feed(&e, buf, n);
            spill__est_features(&e, got);
            for (int i = 0; i < NF; i++)
                if (got[i] != want[i])
                    FAILF("input %d (%zu bytes), path %d: feature %s = %llu, by definition %llu", t,
                          n, impl, spill__est_feature_name(i), (unsigned long long)got[i],
                          (unsigned long long)want[i]);
        }
    }
}

static void chunking_invariance(void)
{
    enum { MAX = 20000 };
    static unsigned char buf[MAX];
    for (int t = 0; t < 60; t++) {
        const size_t n = make_text(buf, 1 + h_below(MAX), t % 4 == 0);
        for (int v = 0; v < 3; v++) {
            spill__est whole, bytewise, split, other;
            est_all(&whole, vocabs[v], -1, buf, n, n);
            est_all(&bytewise, vocabs[v], -1, buf, n, 1);
            est_random_splits(&split, vocabs[v], buf, n);
            const uint64_t w = spill__est_tokens(&whole);
            ASSERT_EQ(spill__est_tokens(&bytewise), w);
            ASSERT_EQ(spill__est_tokens(&split), w);
            ASSERT(same_features(&whole, &bytewise));
            ASSERT(same_features(&whole, &split));
            for (int impl = SPILL__EST_SCALAR; impl <= SPILL__EST_AVX2; impl++) {
                spill__est probe;
                spill__est_init(&probe, (spill__vocab)vocabs[v]);
                if (spill__est_set_impl(&probe, impl) != 0)
                    continue;
                est_all(&other, vocabs[v], impl, buf, n, 1 + h_below(200));
                if (spill__est_tokens(&other) != w || !same_features(&whole, &other))
                    FAILF("input %d: path %d counts %llu, default path %llu", t, impl,
                          (unsigned long long)spill__est_tokens(&other), (unsigned long long)w);
            }
        }
    }
}

/* UTF-8 sequences cut at every possible point, CJK text in particular. */
static void split_utf8(void)
{
    static const char cjk[] =
        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9"
        "\xe3\x83\x88\xe3\x80\x81\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4 \xe4\xb8\xad\xe6\x96\x87"
        "\xef\xbc\x8c\xf0\x9f\x98\x80 caf\xc3\xa9 na\xc3\xafve \xe2\x80\x94 123";
    const size_t n = sizeof cjk - 1;
    for (int v = 0; v < 3; v++) {
        spill__est whole;
        est_all(&whole, vocabs[v], -1, (const unsigned char *)cjk, n, n);
        const uint64_t w = spill__est_tokens(&whole);
        ASSERT(w > 0);
        for (size_t a = 0; a <= n; a++)
            for (size_t b = a; b <= n; b += 3) {
                spill__est e;
                spill__est_init(&e, (spill__vocab)vocabs[v]);
                spill__est_feed(&e, cjk, a);
                spill__est_feed(&e, cjk + a, b - a);
                spill__est_feed(&e, cjk + b, n - b);
                if (spill__est_tokens(&e) != w)
                    FAILF("split at %zu and %zu: %llu, whole %llu", a, b,
                          (unsigned long long)spill__est_tokens(&e), (unsigned long long)w);
            }
    }
}

static void monotonic(void)
{
    enum { MAX = 5000 };
    static unsigned char buf[MAX];
    for (int t = 0; t < 40; t++) {
        const size_t n = make_text(buf, 1 + h_below(MAX), t % 2);
        for (int v = 0; v < 3; v++) {
            spill__est e;
            spill__est_init(&e, (spill__vocab)vocabs[v]);
            uint64_t last = 0;
            for (size_t o = 0; o < n; o++) {
                spill__est_feed(&e, buf + o, 1);
                const uint64_t k = spill__est_tokens(&e);
                if (k < last)
                    FAILF("input %d: count fell from %llu to %llu at byte %zu", t,
                          (unsigned long long)last, (unsigned long long)k, o);
                last = k;
            }
        }
    }
}

static void sanity_bounds(void)
{
    enum { MAX = 70000 };
    static unsigned char buf[MAX];
    for (int t = 0; t < 200; t++) {
        size_t n;
        if (t < 100) {
            n = make_text(buf, 1 + h_below(t < 50 ? 100 : MAX), t % 2);
        } else { /* long runs of one byte or one piece: the degenerate inputs */
            const char *p = pieces[h_below(NPIECES)];
            const size_t k = *p ? strlen(p) : 1, reps = 1 + h_below(MAX / k);
            for (size_t r = 0; r < reps; r++)
                memcpy(buf + r * k, p, k);
            n = reps * k;
        }
        size_t nonws = 0;
        for (size_t i = 0; i < n; i++)
            nonws += !(buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r');
        for (int v = 0; v < 3; v++) {
            spill__est e;
            est_all(&e, vocabs[v], -1, buf, n, 4096);
            const uint64_t k = spill__est_tokens(&e);
            if (k > n + 1)
                FAILF("input %d: %llu tokens for %zu bytes", t, (unsigned long long)k, n);
            if (nonws == n && k < n / 64)
                FAILF("input %d (vocab %d): %llu tokens for %zu non-whitespace bytes", t, v,
                      (unsigned long long)k, n);
            if (n > 0 && k == 0 && nonws > 0)
                FAILF("input %d: no tokens for %zu bytes", t, n);
        }
    }
}

/* Plain English and a run of digits land in sane ranges for every vocabulary
 * (ranges, not fitted values: the accuracy test checks the fit). */
static void plausible_values(void)
{
    static const char en[] = "The quick brown fox jumps over the lazy dog. ";
    for (int v = 0; v < 3; v++) {
        spill__est e;
        spill__est_init(&e, (spill__vocab)vocabs[v]);
        for (int i = 0; i < 100; i++)
            spill__est_feed(&e, en, sizeof en - 1);
        const uint64_t k = spill__est_tokens(&e); /* exactly 1000 in all three */
        if (k < 900 || k > 1150)
            FAILF("vocab %d: %llu tokens for 100 x 10-token sentence", v, (unsigned long long)k);
    }
}

int main(void)
{
    h_seed();
    RUN(empty_input);
    RUN(features_match_definition);
    RUN(chunking_invariance);
    RUN(split_utf8);
    RUN(monotonic);
    RUN(sanity_bounds);
    RUN(plausible_values);
    return h_failures ? 1 : 0;
}
