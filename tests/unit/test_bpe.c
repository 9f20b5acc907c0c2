/* Unit tests of the rank table and the BPE counter (spill/bpe.c): the three real
 * vocabularies load whole (every line looks up to its own rank), malformed files are
 * refused with the line, and counts equal a naive by-definition BPE on random pieces,
 * on both sides of the short/long split, including vocabularies made to hit tie-breaking,
 * non-monotone ranks and the heap compaction. Counts against tiktoken itself are
 * tests/cli/test_bpe_ref.sh. */
#include "../harness.h"

#include <errno.h>
#include <sys/stat.h>

#include "bpe.h"
#include "spill.h"

static const char *const names[3] = {"claude", "o200k", "cl100k"};
static const size_t sizes[3] = {64995, 199998, 100256};
static spill__ranks *vocab[3];
static char vocab_file[3][4096];
static char tmpdir[] = "/tmp/spill-bpe.XXXXXX";

/* ---- helpers ---- */

static long b64(const char *s, size_t len, uint8_t *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t acc = 0;
    int bits = 0;
    long n = 0;
    for (size_t i = 0; i < len && s[i] != '='; i++) {
        const char *p = strchr(a, s[i]);
        if (!p || !s[i])
            return -1;
        acc = acc << 6 | (uint32_t)(p - a);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    return n;
}

static void b64_encode(const uint8_t *p, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        const uint32_t w = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                           (i + 2 < n ? p[i + 2] : 0);
        out[o++] = a[w >> 18];
        out[o++] = a[(w >> 12) & 63];
        out[o++] = i + 1 < n ? a[(w >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? a[w & 63] : '=';
    }
    out[o] = 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* A vocabulary file: the 256 single bytes at ranks 0..255, then the given tokens at
 * the given ranks (which must increase). */
static void write_vocab(const char *path, const char *const *tok, const uint32_t *rank, size_t n)
{
    FILE *f = fopen(path, "w");
    char enc[512];
    for (int b = 0; b < 256; b++) {
        const uint8_t c = (uint8_t)b;
        b64_encode(&c, 1, enc);
        fprintf(f, "%s %d\n", enc, b);
    }
    for (size_t i = 0; i < n; i++) {
        b64_encode((const uint8_t *)tok[i], strlen(tok[i]), enc);
        fprintf(f, "%s %u\n", enc, rank[i]);
    }
    fclose(f);
}

/* BPE by definition: merge the adjacent pair whose concatenation has the lowest rank,
 * the leftmost on ties, until none is a token; a piece that is a token is one. */
static uint64_t naive_count(const spill__ranks *r, const uint8_t *p, size_t n)
{
    if (spill__ranks_get(r, p, n) >= 0)
        return 1;
    size_t *start = malloc((n + 1) * sizeof *start), m = n;
    for (size_t i = 0; i <= n; i++)
        start[i] = i;
    for (;;) {
        int64_t best = -1;
        size_t at = 0;
        for (size_t i = 0; i + 1 < m; i++) {
            const int64_t k = spill__ranks_get(r, p + start[i], start[i + 2] - start[i]);
            if (k >= 0 && (best < 0 || k < best)) {
                best = k;
                at = i;
            }
        }
        if (best < 0)
            break;
        memmove(start + at + 1, start + at + 2, (m - at - 1) * sizeof *start);
        m--;
    }
    free(start);
    return m;
}

/* Random pieces over `alphabet` (strings of 1 to 4 bytes each, so UTF-8 works), of
 * lengths hitting both paths, counted both ways. */
static int compare_random(const spill__ranks *r, const char *const *alphabet, size_t na,
                          size_t max_len, int rounds, char *why, size_t whylen)
{
    spill__bpe_scratch s = {0};
    uint8_t *buf = malloc(max_len + 4);
    int bad = 0;
    for (int k = 0; k < rounds && !bad; k++) {
        size_t target = 1 + h_below(k % 4 == 0 ? max_len : 120), n = 0;
        while (n < target) {
            const char *a = alphabet[h_below(na)];
            const size_t l = strlen(a);
            if (n + l > max_len)
                break;
            memcpy(buf + n, a, l);
            n += l;
        }
        if (n == 0)
            continue;
        const uint64_t want = naive_count(r, buf, n), got = spill__bpe_count(r, &s, buf, n);
        if (want != got) {
            snprintf(why, whylen, "%zu-byte piece starting \"%.40s\": naive %" PRIu64 ", bpe %" PRIu64, n,
                     (const char *)buf, want, got);
            bad = 1;
        }
    }
    free(buf);
    spill__bpe_scratch_free(&s);
    return bad;
}

/* ---- vocabulary files ---- */

static void vocab_path(void)
{
    char out[4096];
    ASSERT_EQ(spill__vocab_path("gpt2", out, sizeof out), SPILL_E_INVAL);
    /* $SPILL_VOCAB_DIR comes first. */
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/vdir", tmpdir);
    mkdir(dir, 0700);
    char file[4300];
    snprintf(file, sizeof file, "%s/o200k_base.tiktoken", dir);
    write_file(file, "x\n");
    const char *old = getenv("SPILL_VOCAB_DIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("SPILL_VOCAB_DIR", dir, 1);
    const int rc = spill__vocab_path("o200k", out, sizeof out);
    const int rc_small = spill__vocab_path("o200k", out + 2048, 8);
    const int rc_missing = spill__vocab_path("cl100k", out + 1024, 1024);
    if (saved) {
        setenv("SPILL_VOCAB_DIR", saved, 1);
        free(saved);
    } else {
        unsetenv("SPILL_VOCAB_DIR");
    }
    ASSERT_OK(rc);
    ASSERT(strcmp(out, file) == 0);
    ASSERT_EQ(rc_small, SPILL_E_TOOBIG);
    /* Found elsewhere (build tree, install) or not at all, with the places tried. */
    if (rc_missing == SPILL_E_NOTFOUND)
        ASSERT(strstr(out + 1024, "tried") && strstr(out + 1024, dir));
    else
        ASSERT_OK(rc_missing);
}

static void load_all(void)
{
    for (int v = 0; v < 3; v++) {
        char err[512];
        const int rc = spill__vocab_path(names[v], vocab_file[v], sizeof vocab_file[v]);
        if (rc) {
            char what[64];
            snprintf(what, sizeof what, "load_%s", names[v]);
            printf("skip - %s: SKIPPED, vocabulary not found, run `make vocab`: %s\n", what, vocab_file[v]);
            continue;
        }
        ASSERT_OK(spill__ranks_load(vocab_file[v], &vocab[v], err, sizeof err));
        ASSERT_EQ(spill__ranks_size(vocab[v]), sizes[v]);
    }
}

/* Every line of each file looks up to its own rank; every byte is a token. */
static void every_token(void)
{
    for (int v = 0; v < 3; v++) {
        if (!vocab[v])
            continue;
        FILE *f = fopen(vocab_file[v], "r");
        ASSERT(f);
        char *line = NULL;
        size_t cap = 0, lines = 0;
        uint8_t tok[2048];
        int bad = 0;
        while (getline(&line, &cap, f) > 0 && !bad) {
            char *sp = strchr(line, ' ');
            const long n = sp ? b64(line, (size_t)(sp - line), tok) : -1;
            bad = n <= 0 || spill__ranks_get(vocab[v], tok, (size_t)n) != strtoll(sp + 1, NULL, 10) ||
                  spill__bpe_count(vocab[v], NULL, tok, (size_t)n) != 1;
            lines++;
        }
        free(line);
        fclose(f);
        if (bad)
            FAILF("%s line %zu does not look up to its rank", names[v], lines);
        ASSERT_EQ(lines, sizes[v]);
        for (int b = 0; b < 256; b++) {
            const uint8_t c = (uint8_t)b;
            ASSERT(spill__ranks_get(vocab[v], &c, 1) >= 0);
        }
        ASSERT_EQ(spill__ranks_get(vocab[v], "", 0), -1);
        ASSERT_EQ(spill__ranks_get(vocab[v], "\xff\xfe\xfd\xfc\xfb", 5), -1);
    }
}

static void malformed(void)
{
    char path[4200], err[512];
    spill__ranks *r = (spill__ranks *)1;
    snprintf(path, sizeof path, "%s/missing.tiktoken", tmpdir);
    ASSERT_EQ(spill__ranks_load(path, &r, err, sizeof err), -ENOENT);
    ASSERT(r == NULL);
    ASSERT(strstr(err, "missing.tiktoken"));

    /* The 256 bytes, then one bad line 257. */
    static const struct { const char *line, *what; } cases[] = {
        {"YWI= 256\n", NULL},              /* "ab": fine */
        {"YWI 256\n", "base64"},          /* not a multiple of 4 */
        {"Y*I= 256\n", "base64"},
        {"=WI= 256\n", "base64"},
        {"YWI=256\n", "expected"},        /* no space */
        {"YWI= \n", "expected"},          /* no rank */
        {"YWI= 25x\n", "rank"},
        {"YWI= 99999999999\n", "rank"},
        {"YWI= 100\n", "previous"},       /* rank not increasing */
        {"YQ== 256\n", "duplicate"},      /* "a" again */
        {"YWI= 256\r\n", "rank"},
        {"\n", "expected"},
    };
    snprintf(path, sizeof path, "%s/bad.tiktoken", tmpdir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_vocab(path, NULL, NULL, 0);
        FILE *f = fopen(path, "a");
        fputs(cases[i].line, f);
        fclose(f);
        err[0] = 0;
        const int rc = spill__ranks_load(path, &r, err, sizeof err);
        if (!cases[i].what) {
            ASSERT_OK(rc);
            ASSERT_EQ(spill__ranks_size(r), 257);
            spill__ranks_free(r);
            continue;
        }
        if (rc != SPILL_E_CORRUPT || !strstr(err, cases[i].what) ||
            (cases[i].line[0] != '\n' && !strstr(err, ":257:")))
            FAILF("line %s gave %d, \"%s\"", cases[i].line, rc, err);
        ASSERT(r == NULL);
    }
    /* A byte that is not a token, and an empty file. */
    write_file(path, "YQ== 0\n");
    ASSERT_EQ(spill__ranks_load(path, &r, err, sizeof err), SPILL_E_CORRUPT);
    ASSERT(strstr(err, "0x00"));
    write_file(path, "");
    ASSERT_EQ(spill__ranks_load(path, &r, err, sizeof err), SPILL_E_CORRUPT);
    /* No final newline is fine. */
    write_vocab(path, NULL, NULL, 0);
    FILE *f = fopen(path, "a");
    fputs("YWI= 256", f);
    fclose(f);
    ASSERT_OK(spill__ranks_load(path, &r, err, sizeof err));
    ASSERT_EQ(spill__ranks_get(r, "ab", 2), 256);
    spill__ranks_free(r);
    spill__ranks_free(NULL);
}

/* ---- counting ---- */

static void basics(void)
{
    if (!vocab[1]) {
        SKIP("basics", "SKIPPED, o200k vocabulary not found");
        return;
    }
    spill__bpe_scratch s = {0};
    ASSERT_EQ(spill__bpe_count(vocab[1], &s, (const uint8_t *)"x", 1), 1);
    ASSERT_EQ(spill__bpe_count(vocab[1], &s, (const uint8_t *)"hello", 5), 1);
    ASSERT(spill__bpe_count(vocab[1], &s, (const uint8_t *)"qzxqjvkwpz", 10) > 1);
    ASSERT(s.mem == NULL); /* short pieces need no scratch */
    uint8_t big[300];
    memset(big, 'z', sizeof big);
    const uint64_t c = spill__bpe_count(vocab[1], &s, big, sizeof big);
    ASSERT(c > 1 && c < sizeof big);
    ASSERT(s.cap >= sizeof big * SPILL__BPE_SCRATCH_PER_BYTE);
    ASSERT_EQ(c, naive_count(vocab[1], big, sizeof big));
    spill__bpe_scratch_free(&s);
    ASSERT(s.mem == NULL && s.cap == 0);
}

static void real_vocabs_vs_naive(void)
{
    static const char *const ascii[] = {"a", "b", "e", "t", "h", "s", "o", "n", " ", "1", "7", "0", "=", "/",
                                        "+", "Q", "x", "\n", "(", "_", "-", "ing", "the", "tion"};
    static const char *const letters[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m",
                                          "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z"};
    static const char *const utf8[] = {"\xe7\x9a\x84", "\xe4\xb8\x80", "\xe6\x98\xaf", "\xe4\xb8\x8d",
                                       "\xe3\x81\x82", "\xed\x95\x9c", "\xc3\xa9", "\xf0\x9f\x98\x80", "a",
                                       "\xe5\x9b\xbd", "\xe4\xba\xba", "\xff", "\x80"};
    static const char *const rep[] = {"a", "aa", " ", "0", "ab"};
    for (int v = 0; v < 3; v++) {
        if (!vocab[v])
            continue;
        char why[256];
        if (compare_random(vocab[v], ascii, sizeof ascii / sizeof *ascii, 1500, 200, why, sizeof why) ||
            compare_random(vocab[v], letters, 26, 3000, 120, why, sizeof why) ||
            compare_random(vocab[v], utf8, sizeof utf8 / sizeof *utf8, 1500, 120, why, sizeof why) ||
            compare_random(vocab[v], rep, sizeof rep / sizeof *rep, 3000, 60, why, sizeof why))
            FAILF("%s: %s", names[v], why);
    }
}

/* Made-up vocabularies where ranks do not grow with length, so a merge can create a
 * pair of lower rank than the one just merged, and runs of one letter that make ties
 * everywhere and, in the long path, many stale heap entries. */
static void synthetic_vocabs(void)
{
    char path[4200], err[512], why[256];
    snprintf(path, sizeof path, "%s/syn.tiktoken", tmpdir);
    static const char *const abc[] = {"a", "b", "c", "d"};
    for (int round = 0; round < 8; round++) {
        /* Random strings over abcd of length 2..6, at random increasing ranks. */
        const char *tok[300];
        uint32_t rank[300];
        char store[300][8];
        size_t n = 0;
        uint32_t next = 256;
        for (int k = 0; k < 300; k++) {
            const size_t l = 2 + h_below(5);
            for (size_t i = 0; i < l; i++)
                store[n][i] = (char)('a' + h_below(4));
            store[n][l] = 0;
            int dup = 0;
            for (size_t j = 0; j < n; j++)
                dup |= strcmp(store[j], store[n]) == 0;
            if (dup)
                continue;
            tok[n] = store[n];
            next += 1 + (uint32_t)h_below(3);
            rank[n++] = next;
        }
        write_vocab(path, tok, rank, n);
        spill__ranks *r;
        ASSERT_OK(spill__ranks_load(path, &r, err, sizeof err));
        const int bad = compare_random(r, abc, 4, 2500, 80, why, sizeof why);
        spill__ranks_free(r);
        if (bad)
            FAILF("round %d: %s", round, why);
    }
    /* a^k for k = 2..64 with rank growing in k: "aaaa..." merges pairs first, each
     * merge pushes two pairs and leaves one stale, filling the heap to its bound. */
    const char *tok[63];
    uint32_t rank[63];
    char store[63][65];
    for (int k = 2; k <= 64; k++) {
        memset(store[k - 2], 'a', (size_t)k);
        store[k - 2][k] = 0;
        tok[k - 2] = store[k - 2];
        rank[k - 2] = (uint32_t)(256 + k);
    }
    write_vocab(path, tok, rank, 63);
    spill__ranks *r;
    ASSERT_OK(spill__ranks_load(path, &r, err, sizeof err));
    spill__bpe_scratch s = {0};
    uint8_t *buf = malloc(5000);
    memset(buf, 'a', 5000);
    int bad = 0;
    size_t at = 0;
    for (size_t n = 90; n <= 5000 && !bad; n += n < 300 ? 1 : 97) {
        bad = spill__bpe_count(r, &s, buf, n) != naive_count(r, buf, n);
        at = n;
    }
    free(buf);
    spill__bpe_scratch_free(&s);
    spill__ranks_free(r);
    if (bad)
        FAILF("a x %zu differs from the naive count", at);
}

/* Equal ranks go leftmost first, which changes counts only next to a run of one part:
 * with aa < ab, "aaab" is [aa][ab] (leftmost) but [a][aa][b] (rightmost); with
 * ab < abab < abc, "abababc" is [abab][abc], not [ab][abab][c]. Repeated, each group
 * is independent, on both the short path and the long one, initial pairs and merged. */
static void ties_leftmost(void)
{
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/ties.tiktoken", tmpdir);
    static const char *const tok[] = {"aa", "ab", "abab", "abc"};
    static const uint32_t rank[] = {256, 257, 258, 259};
    write_vocab(path, tok, rank, 4);
    spill__ranks *r;
    ASSERT_OK(spill__ranks_load(path, &r, err, sizeof err));
    spill__bpe_scratch s = {0};
    char buf[2000];
    static const struct { const char *group; uint64_t tokens; } cases[] = {{"aaab", 2}, {"abababc", 2}};
    for (size_t c = 0; c < 2; c++)
        for (size_t reps = 1; reps < 200; reps += reps < 30 ? 1 : 37) {
            const size_t l = strlen(cases[c].group);
            for (size_t k = 0; k < reps; k++)
                memcpy(buf + k * l, cases[c].group, l);
            const uint64_t got = spill__bpe_count(r, &s, (const uint8_t *)buf, reps * l);
            if (got != reps * cases[c].tokens)
                FAILF("%s x %zu: %" PRIu64 " tokens, expected %" PRIu64, cases[c].group, reps, got,
                      reps * cases[c].tokens);
        }
    spill__bpe_scratch_free(&s);
    spill__ranks_free(r);
}

int main(void)
{
    h_seed();
    if (!mkdtemp(tmpdir)) {
        printf("not ok - setup: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    RUN(vocab_path);
    RUN(load_all);
    RUN(every_token);
    RUN(malformed);
    RUN(basics);
    RUN(real_vocabs_vs_naive);
    RUN(synthetic_vocabs);
    RUN(ties_leftmost);
    for (int v = 0; v < 3; v++)
        spill__ranks_free(vocab[v]);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmpdir);
    return h_failures ? 1 : 0;
}
