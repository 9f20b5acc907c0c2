/* Unit tests of the pre-tokenizers (spill/pretok.c) and the text front end
 * (spill/textnorm.c): hand-checked pieces per vocabulary, the same pieces for every
 * chunking, WHATWG UTF-8 replacement and NFKC for every chunking, and the bounded NFKC
 * hold. The differential test against the reference regexes and tokenizers is
 * tests/cli/test_pretok_ref.sh. */
#include "../harness.h"
#include "pretok.h"
#include "spill.h"
#include "textnorm.h"

#define MAXP 4096

/* spill__pretok_next on a heap copy of exactly the bytes it is given, so that ASan
 * catches any read past them. */
static size_t next_guarded(spill__pretok_kind k, const uint8_t *text, size_t n, int at_end)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        abort();
    memcpy(copy, text, n);
    const size_t r = spill__pretok_next(k, copy, n, at_end);
    free(copy);
    return r;
}

/* Piece ends of text[0..n) for a streaming caller: the text arrives `first` bytes,
 * then `step` bytes at a time, and pieces are taken each time until "need more". */
static size_t stream_split(spill__pretok_kind k, const uint8_t *text, size_t n, size_t first, size_t step,
                           size_t *ends)
{
    size_t have = first < n ? first : n, off = 0, np = 0;
    for (;;) {
        const int at_end = have == n;
        size_t r;
        while ((r = next_guarded(k, text + off, have - off, at_end)) > 0) {
            if (r > have - off || np == MAXP)
                return (size_t)-1; /* never past the text */
            off += r;
            ends[np++] = off;
        }
        if (at_end)
            return off == n ? np : (size_t)-1;
        have = have + step < n ? have + step : n;
    }
}

/* ---- hand-checked pieces: "\1" separates the expected pieces ---- */
struct pcase { spill__pretok_kind k; const char *pieces; };
#define CL SPILL__PRETOK_CL100K
#define O2 SPILL__PRETOK_O200K
#define CD SPILL__PRETOK_CLAUDE
static const struct pcase pcases[] = {
    {CL, "Hello\1 world"}, {CL, "don\1't"}, {CL, "DON\1'T"}, {CL, "it\1'\xc5\xbf\1x"}, {CL, "'lx"},
    {CL, "'ll"}, {CL, "123\1" "45"}, {CL, "a\1 \1 b"}, {CL, "a\1  "}, {CL, "x\1\n\n\1 \1 y"},
    {CL, "foo\1.\n\n\1" "bar"}, {CL, " !!"}, {CL, "\t\1\tx"}, {CL, "a\1\xc2\xa0" "b"},
    {CL, "x\1 \xcc\x81\1y"}, {CL, "\xe4\xb8\xad\xe6\x96\x87" "abc"}, {CL, "  \n"}, {CL, "\r\n\r\n"}, {CL, " \r\n\1 x"},
    {O2, "HTTPServer"}, {O2, "camel\1" "Case\1Word"}, {O2, "HELLO\1 world"}, {O2, "don't"},
    {O2, "DON'T"}, {O2, "x\1/\n//\1y"}, {O2, "123\1" "456"}, {O2, "\xc7\x85" "emo"},
    {O2, "\xcc\x81\1" "ABC\1 d"}, {O2, "A\xcc\x81\1" "BC\1 d"}, {O2, " \xcc\x81"},
    {O2, "\xe4\xb8\xad\xe6\x96\x87" "Abc"}, {O2, "I'm"}, {O2, "IT'S"}, {O2, "a\1 \1 b"},
    {O2, "x\1\n\n\1 \1 y"}, {O2, "we'\xc5\xbf"}, {O2, "it'll"}, {O2, "it\1'lx"},
    {CD, "don\1't"}, {CD, "DON\1'\1T"}, {CD, "12345\1 678"}, {CD, "a\1\n\1\n\1" "b"}, {CD, "a\1  "},
    {CD, " \xc2\xbd"}, {CD, "hello\1 \1 world"}, {CD, "x\1'll\1y"}, {CD, "\xe4\xb8\xad\xe6\x96\x87\1 ok"},
    {CD, "'\1\xc5\xbf"}, {CD, "\n\n"}, {CD, "Hello\1 World"}, {CD, "camelCase\1 x"}, {CL, "camelCase\1 x"},
};

static void hand_pieces(void)
{
    static const char *const kn[3] = {"claude", "o200k", "cl100k"};
    for (size_t c = 0; c < sizeof pcases / sizeof *pcases; c++) {
        uint8_t text[256];
        size_t want[64], nw = 0, n = 0, ends[MAXP];
        for (const char *p = pcases[c].pieces; *p; p++) {
            if (*p == '\1')
                want[nw++] = n;
            else
                text[n++] = (uint8_t)*p;
        }
        want[nw++] = n;
        for (size_t first = 0; first <= n; first++) {
            for (size_t step = 1; step <= n; step++) {
                const size_t np = stream_split(pcases[c].k, text, n, first, step, ends);
                if (np != nw || memcmp(ends, want, nw * sizeof *ends) != 0)
                    FAILF("%s case %zu (\"%.*s\") first %zu step %zu: %zu pieces, want %zu", kn[pcases[c].k], c,
                          (int)n, (const char *)text, first, step, np, nw);
            }
        }
    }
}

/* ---- random text: every chunking gives the pieces of the whole ---- */
static const char *const units[] = {
    "a", "b", "Z", "Q", "7", "12", " ", "  ", "\t", "\n", "\r\n", "'", "'s", "'LL", "'re", "/", ".", "(",
    "\xc2\xa0", "\xe2\x80\xa8", "\xe3\x80\x80", "\xc2\x85", "\xe4\xb8\xad", "\xea\xb0\x80", "\xe1\x84\x80",
    "\xe1\x85\xa1", "\xce\xb1", "\xd0\x96", "\xcc\x81", "\xcc\xa3", "\xf0\x9f\x98\x80", "\xc7\x85", "\xca\xb0",
    "\xef\xbc\xa1", "\xef\xbc\x8c", "\xef\xac\x81", "\xc5\xbf", "\xd9\xa3", "\xc2\xbd", "\xe0\xa4\x95",
};
static size_t random_text(uint8_t *b, size_t cap)
{
    size_t n = 0;
    const size_t units_n = 1 + h_below(60);
    for (size_t i = 0; i < units_n; i++) {
        const char *u = units[h_below(sizeof units / sizeof *units)];
        const size_t reps = h_below(4) == 0 ? 1 + h_below(6) : 1, l = strlen(u);
        for (size_t r = 0; r < reps && n + l <= cap; r++, n += l)
            memcpy(b + n, u, l);
    }
    return n;
}

static void chunking_invariance(void)
{
    uint8_t text[1024];
    size_t whole[MAXP], ends[MAXP];
    const int trials = h_light() ? 300 : 3000;
    for (int t = 0; t < trials; t++) {
        const size_t n = random_text(text, sizeof text);
        for (int k = 0; k < 3; k++) {
            const size_t nw = stream_split((spill__pretok_kind)k, text, n, n, 1, whole);
            ASSERT(nw != (size_t)-1);
            for (int s = 0; s < 6; s++) {
                const size_t first = h_below(n + 1), step = s == 0 ? 1 : 1 + h_below(16);
                const size_t np = stream_split((spill__pretok_kind)k, text, n, first, step, ends);
                if (np != nw || memcmp(ends, whole, nw * sizeof *ends) != 0)
                    FAILF("kind %d trial %d: first %zu step %zu gives %zu pieces, whole %zu", k, t, first, step,
                          np, nw);
            }
        }
    }
}

/* Bytes that are not UTF-8 break no rule of the splitter: it moves on and stays
 * within the text (the front end never passes such bytes; ASan checks the reads). */
static void invalid_bytes_are_safe(void)
{
    uint8_t text[64];
    size_t whole[MAXP], ends[MAXP];
    for (int t = 0; t < 2000; t++) {
        const size_t n = 1 + h_below(sizeof text);
        for (size_t i = 0; i < n; i++)
            text[i] = (uint8_t)h_rand();
        for (int k = 0; k < 3; k++) {
            const size_t nw = stream_split((spill__pretok_kind)k, text, n, n, 1, whole);
            const size_t np = stream_split((spill__pretok_kind)k, text, n, 0, 1, ends);
            if (nw == (size_t)-1 || np != nw || memcmp(ends, whole, nw * sizeof *ends) != 0)
                FAILF("kind %d trial %d: %zu vs %zu pieces", k, t, np, nw);
        }
    }
}

static void need_more_contract(void)
{
    const uint8_t *t = (const uint8_t *)"hello";
    for (int k = 0; k < 3; k++) {
        ASSERT_EQ(spill__pretok_next((spill__pretok_kind)k, t, 0, 0), 0);
        ASSERT_EQ(spill__pretok_next((spill__pretok_kind)k, t, 0, 1), 0);
        ASSERT_EQ(spill__pretok_next((spill__pretok_kind)k, t, 5, 0), 0); /* the word may go on */
        ASSERT_EQ(spill__pretok_next((spill__pretok_kind)k, t, 5, 1), 5);
        /* half of a code point */
        ASSERT_EQ(spill__pretok_next((spill__pretok_kind)k, (const uint8_t *)"\xe4\xb8", 2, 0), 0);
    }
    ASSERT_EQ(spill__pretok_next(CL, (const uint8_t *)"12", 2, 0), 0);
    ASSERT_EQ(spill__pretok_next(CL, (const uint8_t *)"123", 3, 0), 3); /* \p{N}{1,3} is complete */
    ASSERT_EQ(spill__pretok_next(CD, (const uint8_t *)"'s", 2, 0), 2);
    ASSERT_EQ(spill__pretok_next(CD, (const uint8_t *)"'l", 2, 0), 0);
    ASSERT_EQ(spill__pretok_next(O2, (const uint8_t *)"it'", 3, 0), 0);
}

static void categories(void)
{
    ASSERT(spill__uc_is_letter('a') && spill__uc_is_letter(0x4E00) && spill__uc_is_letter(0x01C5));
    ASSERT(spill__uc_is_letter(0x20000) && spill__uc_is_letter(0x2A6DF) && spill__uc_is_letter(0xD7A3));
    ASSERT(!spill__uc_is_letter(0x0301) && !spill__uc_is_letter('1') && !spill__uc_is_letter(0x10FFFF));
    ASSERT(spill__uc_is_number('7') && spill__uc_is_number(0x0663) && spill__uc_is_number(0x00BD));
    ASSERT(spill__uc_is_number(0x2167) && !spill__uc_is_number('a'));
    ASSERT(spill__uc_is_space(0x85) && spill__uc_is_space(0xA0) && spill__uc_is_space(0x3000));
    ASSERT(spill__uc_is_space(0x2028) && spill__uc_is_space('\v') && !spill__uc_is_space(0xFEFF));
    ASSERT(!spill__uc_is_space(0x200B) && !spill__uc_is_space(0x1F) && !spill__uc_is_letter(0x110000));
}

/* ---- text front end ---- */

/* Output of the front end for in[0..n) fed `first` bytes, then `step` at a time. */
static size_t front(int nfkc, const uint8_t *in, size_t n, size_t first, size_t step, uint8_t *out, size_t cap,
                    int *overflow)
{
    spill__textnorm *t = spill__textnorm_new(nfkc);
    size_t o = 0, i = 0, m;
    if (!t)
        return (size_t)-1;
    for (int feeds = 0;; feeds++) {
        const size_t k = feeds == 0 ? first : step, take = k < n - i ? k : n - i;
        uint8_t *feed = malloc(take ? take : 1); /* exact size: ASan sees any over-read */
        if (!feed)
            break;
        memcpy(feed, in + i, take);
        const int rc = spill__textnorm_feed(t, feed, take);
        free(feed);
        if (rc != 0)
            break;
        i += take;
        const int last = i == n;
        if (last && spill__textnorm_end(t) != 0)
            break;
        const uint8_t *p = spill__textnorm_out(t, &m);
        if (o + m > cap)
            break;
        memcpy(out + o, p, m);
        o += m;
        /* Consume in two steps, to exercise partial consumption. */
        spill__textnorm_consume(t, m / 2);
        spill__textnorm_consume(t, m - m / 2);
        if (last) {
            spill__textnorm_out(t, &m);
            if (overflow)
                *overflow = spill__textnorm_overflowed(t);
            spill__textnorm_free(t);
            return m == 0 ? o : (size_t)-1;
        }
    }
    spill__textnorm_free(t);
    return (size_t)-1;
}

struct bcase { const char *in, *out; };
#define FFFD "\xef\xbf\xbd"
static const struct bcase utf8_cases[] = {
    {"a\x80" "b", "a" FFFD "b"}, {"\xc0\x80", FFFD FFFD}, {"\xc1\xbf", FFFD FFFD},
    {"\xe0\x80\x80", FFFD FFFD FFFD}, {"\xe0\xa0\x80", "\xe0\xa0\x80"}, {"\xed\xa0\x80", FFFD FFFD FFFD},
    {"\xed\x9f\xbf", "\xed\x9f\xbf"}, {"\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD},
    {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"}, {"\xf0\x80\x80\x80", FFFD FFFD FFFD FFFD},
    {"\xe2\x82", FFFD}, {"\xe2\x82" "A", FFFD "A"}, {"\xf0\x9f\x98", FFFD}, {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},
    {"\xf8\x88\x80\x80\x80", FFFD FFFD FFFD FFFD FFFD}, {"a\xff" "b", "a" FFFD "b"}, {"\xe1\x80\xe2\x82\xac", FFFD "\xe2\x82\xac"},
    {"\xc3", FFFD}, {"\xc3\xa9\xc3", "\xc3\xa9" FFFD}, {"\xf0\x90\x80\x41", FFFD "A"}, {"\xfe\xfe\xff\xff", FFFD FFFD FFFD FFFD},
    {"plain ASCII text, long enough for the 8-byte path", "plain ASCII text, long enough for the 8-byte path"},
};
static const struct bcase nfkc_cases[] = {
    {"\x65\xcc\x81", "\xc3\xa9"}, {"\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8", "\xea\xb0\x81"},
    {"\xef\xbc\xa1\xef\xbc\xa2\xef\xbc\x91", "AB1"}, {"\xef\xac\x81x", "fix"}, {"\xc5\xbf", "s"},
    {"\xe2\x84\xab", "\xc3\x85"}, {"x\xcc\x81\xcc\xa3", "x\xcc\xa3\xcc\x81"}, {"e\xcc\xa3\xcc\x82", "\xe1\xbb\x87"},
    {"\xe2\x91\xa0\xc2\xbd", "11\xe2\x81\x84" "2"}, {"\xe3\x8c\x80", "\xe3\x82\xa2\xe3\x83\x91\xe3\x83\xbc\xe3\x83\x88"},
    {"\xea\xb0\x80\xe1\x86\xa8", "\xea\xb0\x81"}, {"a\xcc\x88\xcc\x81" "b", "\xc3\xa4\xcc\x81" "b"},
    {"\xe1\xba\x9b\xcc\xa3", "\xe1\xb9\xa9"}, {"\xc3\x85\xcc\x8a", "\xc3\x85\xcc\x8a"}, {"\xe0\xa5\x98", "\xe0\xa4\x95\xe0\xa4\xbc"},
    {"caf\x65\xcc\x81 \xef\xbc\x8c\xe4\xb8\xad\xe6\x96\x87 ok", "caf\xc3\xa9 ,\xe4\xb8\xad\xe6\x96\x87 ok"},
    {"\xcc\x81" "a", "\xcc\x81" "a"}, {"\xe1\x84\x85\xe3\x85\x92", "\xeb\x9f\x90"}, /* L jamo + compat V */
    {"\xe1\x84\x80\xe3\x85\x8f\xe1\x86\xa8", "\xea\xb0\x81"}, {"\xe0\xae\x92\xe0\xaf\x97", "\xe0\xae\x94"}, {"e\xed\xa0\x80\xcc\x81", "e" FFFD FFFD FFFD "\xcc\x81"},
};

static void check_front(int nfkc, const struct bcase *cs, size_t nc)
{
    uint8_t out[512];
    for (size_t c = 0; c < nc; c++) {
        const uint8_t *in = (const uint8_t *)cs[c].in;
        const size_t n = strlen(cs[c].in), wn = strlen(cs[c].out);
        for (size_t first = 0; first <= n; first++) {
            for (size_t step = 1; step <= (n ? n : 1); step++) {
                const size_t o = front(nfkc, in, n, first, step, out, sizeof out, NULL);
                if (o != wn || memcmp(out, cs[c].out, wn) != 0)
                    FAILF("nfkc=%d case %zu first %zu step %zu: %zu bytes, want %zu", nfkc, c, first, step, o, wn);
            }
        }
    }
}

static void utf8_replacement(void)
{
    check_front(0, utf8_cases, sizeof utf8_cases / sizeof *utf8_cases);
    /* The replacement does not depend on NFKC: U+FFFD and these are all stable. */
    check_front(1, utf8_cases, sizeof utf8_cases / sizeof *utf8_cases);
}

static void nfkc(void) { check_front(1, nfkc_cases, sizeof nfkc_cases / sizeof *nfkc_cases); }

/* Random text in random chunkings normalizes as the whole does. */
static void nfkc_chunking(void)
{
    uint8_t text[1024], want[8192], got[8192];
    const int trials = h_light() ? 300 : 2000;
    for (int t = 0; t < trials; t++) {
        const size_t n = random_text(text, sizeof text);
        const size_t wn = front(1, text, n, n, 1, want, sizeof want, NULL);
        ASSERT(wn != (size_t)-1);
        for (int s = 0; s < 4; s++) {
            const size_t first = h_below(n + 1), step = s == 0 ? 1 : 1 + h_below(12);
            const size_t gn = front(1, text, n, first, step, got, sizeof got, NULL);
            if (gn != wn || memcmp(got, want, wn) != 0)
                FAILF("trial %d first %zu step %zu: %zu bytes, whole %zu", t, first, step, gn, wn);
        }
    }
}

/* A run of combining marks longer than the hold gets a forced boundary: the output is
 * the same for every chunking, and the overflow flag says it is not exact NFKC. A run
 * of real-world length holds no surprise. Alternating ccc 230/220 marks are also the
 * worst case of canonical ordering, which the forced boundaries keep linear. */
static void nfkc_hold_is_bounded(void)
{
    const size_t marks_n[2] = {60, 40000};
    for (int c = 0; c < 2; c++) {
        const size_t marks = marks_n[c], n = 1 + 2 * marks + 1;
        uint8_t *in = malloc(n), *want = malloc(2 * n), *got = malloc(2 * n);
        ASSERT(in && want && got);
        in[0] = 'a';
        for (size_t i = 0; i < marks; i++)
            in[1 + 2 * i] = 0xcc, in[2 + 2 * i] = i & 1 ? 0x81 : 0xa3;
        in[n - 1] = 'b';
        int ovf = -1, ovf2 = -1, same = 1;
        const size_t wn = front(1, in, n, n, 1, want, 2 * n, &ovf);
        static const size_t steps[3] = {1, 7, 4096};
        for (int s = 0; s < 3 && wn != (size_t)-1; s++) {
            const size_t gn = front(1, in, n, steps[s] == 1 ? 0 : 3, steps[s], got, 2 * n, &ovf2);
            same &= gn == wn && memcmp(got, want, wn) == 0 && ovf2 == ovf;
        }
        const int last_b = wn != (size_t)-1 && want[wn - 1] == 'b';
        free(in);
        free(want);
        free(got);
        ASSERT(wn != (size_t)-1 && last_b);
        ASSERT(same);
        ASSERT_EQ(ovf, c == 1);
    }
}

int main(void)
{
    h_seed();
    RUN(hand_pieces);
    RUN(chunking_invariance);
    RUN(invalid_bytes_are_safe);
    RUN(need_more_contract);
    RUN(categories);
    RUN(utf8_replacement);
    RUN(nfkc);
    RUN(nfkc_chunking);
    RUN(nfkc_hold_is_bounded);
    return h_failures != 0;
}
