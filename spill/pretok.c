/* pretok.c - the three pre-tokenizer regexes as hand-written matchers (pure).
 *
 * Each next_* function returns the match a backtracking regex engine finds at text[0]
 * (leftmost-first: the first alternative that matches wins, with its quantifiers'
 * preferred path), which is what tiktoken's fancy-regex/regex crates report. Every
 * code point starts a match of some alternative (it is a letter, a number, \s or
 * [^\s\p{L}\p{N}]), so the matches tile the text and the caller only needs ends.
 *
 * Streaming: a matcher reads code points through char_at(); when it needs one at or
 * past n and the text is not at its end, the answer depends on unseen text and it
 * returns 0. Since that is the only way to reach past n, the pieces are the same for
 * every chunking. */
#include "pretok.h"

#include <string.h>

#include "ucd_tables.h"

/* Classes of a code point: UCD_* from the generated tables (0..6) plus these. */
enum {
    K_OTHER = UCD_OTHER,   /* punctuation, symbols, controls, unassigned: [^\s\p{L}\p{N}\p{M}] */
    K_UPPER = UCD_UPPER,   /* Lu, Lt */
    K_LOWER = UCD_LOWER,   /* Ll */
    K_LOTHER = UCD_LOTHER, /* Lm, Lo: in both of o200k's case classes */
    K_MARK = UCD_MARK,     /* M: in both case classes of o200k, punctuation to the others */
    K_NUM = UCD_NUMBER,
    K_SPACE = UCD_SPACE,   /* White_Space other than \r \n */
    K_NL = 7,              /* \r or \n */
    K_END = 8,             /* no code point: past the text (or an incomplete one) */
};
#define BIT(k) (1u << (k))
#define IN(c, mask) (((mask) >> (c)) & 1u)
#define M_L (BIT(K_UPPER) | BIT(K_LOWER) | BIT(K_LOTHER))      /* \p{L} */
#define M_A (BIT(K_UPPER) | BIT(K_LOTHER) | BIT(K_MARK))       /* [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] */
#define M_B (BIT(K_LOWER) | BIT(K_LOTHER) | BIT(K_MARK))       /* [\p{Ll}\p{Lm}\p{Lo}\p{M}] */
#define M_X (BIT(K_LOTHER) | BIT(K_MARK))                      /* in both A and B */
#define M_WS (BIT(K_SPACE) | BIT(K_NL))                        /* \s */
#define M_PUNCT (BIT(K_OTHER) | BIT(K_MARK))                   /* [^\s\p{L}\p{N}] */
#define M_PREFIX (BIT(K_OTHER) | BIT(K_MARK) | BIT(K_SPACE))   /* [^\r\n\p{L}\p{N}] */

/* A position no match can have: "the answer depends on text not seen yet". */
#define NEED ((size_t)-1)
/* A matcher alternative that does not match here. */
#define FAIL ((size_t)-2)

static const uint8_t ascii_class[128] = {
    /* 0x00 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, K_SPACE, K_NL, K_SPACE, K_SPACE, K_NL, 0, 0,
    /* 0x10 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x20 */ K_SPACE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x30 */ K_NUM, K_NUM, K_NUM, K_NUM, K_NUM, K_NUM, K_NUM, K_NUM, K_NUM, K_NUM, 0, 0, 0, 0, 0, 0,
    /* 0x40 */ 0, K_UPPER, K_UPPER, K_UPPER, K_UPPER, K_UPPER, K_UPPER, K_UPPER, K_UPPER, K_UPPER,
    K_UPPER, K_UPPER, K_UPPER, K_UPPER, K_UPPER, K_UPPER,
    /* 0x50 */ K_UPPER, K_UPPER, K_UPPER, K_UPPER, K_UPPER, K_UPPER, K_UPPER, K_UPPER, K_UPPER,
    K_UPPER, K_UPPER, 0, 0, 0, 0, 0,
    /* 0x60 */ 0, K_LOWER, K_LOWER, K_LOWER, K_LOWER, K_LOWER, K_LOWER, K_LOWER, K_LOWER, K_LOWER,
    K_LOWER, K_LOWER, K_LOWER, K_LOWER, K_LOWER, K_LOWER,
    /* 0x70 */ K_LOWER, K_LOWER, K_LOWER, K_LOWER, K_LOWER, K_LOWER, K_LOWER, K_LOWER, K_LOWER,
    K_LOWER, K_LOWER, 0, 0, 0, 0, 0,
};

/* Decodes the non-ASCII code point at t[i]. The text should be valid UTF-8; anything
 * else is read as one byte of K_OTHER so that a matcher always makes progress. */
static unsigned decode_class(const uint8_t *t, size_t n, size_t i, int at_end, size_t *len)
{
    const uint8_t b = t[i];
    size_t need;
    uint32_t cp;
    if (b >= 0xC2 && b <= 0xDF)
        need = 2, cp = b & 0x1Fu;
    else if (b >= 0xE0 && b <= 0xEF)
        need = 3, cp = b & 0x0Fu;
    else if (b >= 0xF0 && b <= 0xF4)
        need = 4, cp = b & 0x07u;
    else
        goto bad;
    if (n - i < need) {
        if (at_end)
            goto bad;
        *len = 0;
        return K_END;
    }
    for (size_t k = 1; k < need; k++) {
        if ((t[i + k] & 0xC0) != 0x80)
            goto bad;
        cp = cp << 6 | (t[i + k] & 0x3Fu);
    }
    if (cp > 0x10FFFF)
        goto bad;
    *len = need;
    return ucd_lookup(cp) & 7u;
bad:
    *len = 1;
    return K_OTHER;
}

static inline unsigned char_at(const uint8_t *t, size_t n, size_t i, int at_end, size_t *len)
{
    if (i >= n) {
        *len = 0;
        return K_END;
    }
    if (t[i] < 0x80) {
        *len = 1;
        return ascii_class[t[i]];
    }
    /* Inline the three-byte case: CJK and most other BMP scripts. */
    if ((t[i] & 0xF0) == 0xE0 && n - i >= 3 && (t[i + 1] & 0xC0) == 0x80 && (t[i + 2] & 0xC0) == 0x80) {
        *len = 3;
        return ucd_lookup((uint32_t)(t[i] & 0x0F) << 12 | (uint32_t)(t[i + 1] & 0x3F) << 6 | (t[i + 2] & 0x3Fu)) & 7u;
    }
    return decode_class(t, n, i, at_end, len);
}

/* Inside a next_* function: reads the class of the code point at i into c and its
 * length into l, returning "need more" from the function when it is not known yet. */
#define READ(c, i, l)                                                                       \
    do {                                                                                    \
        (c) = char_at(t, n, (i), at_end, &(l));                                             \
        if ((c) == K_END && !at_end)                                                        \
            return 0;                                                                       \
    } while (0)

/* End of the run of code points of the classes in mask that starts at i, or NEED. */
static inline size_t run(const uint8_t *t, size_t n, int at_end, size_t i, unsigned mask)
{
    for (;;) {
        size_t l;
        const unsigned c = char_at(t, n, i, at_end, &l);
        if (!IN(c, mask))
            return c == K_END && !at_end ? NEED : i;
        i += l;
    }
}

/* End of a run of the given ASCII bytes at i, or NEED. */
static size_t run_bytes(const uint8_t *t, size_t n, int at_end, size_t i, int slash)
{
    while (i < n && (t[i] == '\r' || t[i] == '\n' || (slash && t[i] == '/')))
        i++;
    return i == n && !at_end ? NEED : i;
}

/* Length of a contraction 's 't 're 've 'm 'll 'd at t[i] == '\'', 0 if none, or NEED.
 * With fold, (?i:...) as the regex crate does it: Unicode simple case folding, under
 * which the only non-ASCII code point equivalent to one of these letters is U+017F
 * LATIN SMALL LETTER LONG S (= s; checked against tiktoken). */
static size_t contraction(const uint8_t *t, size_t n, int at_end, size_t i, int fold)
{
    const size_t miss = at_end ? 0 : NEED;
    if (i + 1 >= n)
        return miss;
    unsigned a = t[i + 1];
    if (fold && a == 0xC5) {
        if (i + 2 >= n)
            return miss;
        return t[i + 2] == 0xBF ? 3 : 0;
    }
    if (fold && a >= 'A' && a <= 'Z')
        a += 'a' - 'A';
    switch (a) {
    case 's': case 't': case 'm': case 'd':
        return 2;
    case 'r': case 'v': case 'l': {
        if (i + 2 >= n)
            return miss;
        unsigned b = t[i + 2];
        if (fold && b >= 'A' && b <= 'Z')
            b += 'a' - 'A';
        return b == (a == 'l' ? 'l' : 'e') ? 3 : 0;
    }
    default:
        return 0;
    }
}

/* The whitespace alternatives at t[0], a \s code point of class c0 and length l0:
 *   \s*[\r\n]+  (nl set): the maximal \s run up to and including its last \r or \n;
 *   \s+(?!\S):  the run, less its last code point when a non-space follows it (a run
 *               that ends the text is kept whole);
 *   \s+:        the one code point left when the run is that single code point. */
static size_t whitespace(const uint8_t *t, size_t n, int at_end, unsigned c0, size_t l0, int nl)
{
    size_t i = l0, l, last = 0, after_nl = c0 == K_NL ? l0 : 0;
    unsigned c;
    for (;;) {
        READ(c, i, l);
        if (!IN(c, M_WS))
            break;
        last = i;
        i += l;
        if (c == K_NL)
            after_nl = i;
    }
    if (nl && after_nl)
        return after_nl;
    if (c == K_END)
        return i;
    return last ? last : l0;
}

/* \p{N}{1,3} where the first code point, l0 bytes long, is a number. 0: need more. */
static size_t digits_1_3(const uint8_t *t, size_t n, int at_end, size_t l0)
{
    size_t r = l0, l;
    unsigned c;
    for (int k = 1; k < 3; k++) {
        READ(c, r, l);
        if (c != K_NUM)
            break;
        r += l;
    }
    return r;
}

/* The alternatives cl100k and o200k end alike: ` ?[^\s\p{L}\p{N}]+` then [\r\n]*
 * ([\r\n/]* with slash, o200k), else the whitespace ones. c1 and l1 are the second
 * code point when it was read (c1 K_END otherwise). 0: need more. */
static size_t punct_or_space(const uint8_t *t, size_t n, int at_end, unsigned c0, size_t l0,
                             unsigned c1, size_t l1, int slash)
{
    size_t r;
    if (t[0] == ' ' && IN(c1, M_PUNCT))
        r = run(t, n, at_end, l0 + l1, M_PUNCT);
    else if (IN(c0, M_PUNCT))
        r = run(t, n, at_end, l0, M_PUNCT);
    else
        return whitespace(t, n, at_end, c0, l0, 1);
    if (r != NEED)
        r = run_bytes(t, n, at_end, r, slash);
    return r == NEED ? 0 : r;
}

/* cl100k: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *          ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
static size_t next_cl100k(const uint8_t *t, size_t n, int at_end)
{
    size_t l0, l1 = 0, r;
    unsigned c0, c1 = K_END;
    READ(c0, 0, l0);
    if (t[0] == '\'' && (r = contraction(t, n, at_end, 0, 1)) != 0)
        return r == NEED ? 0 : r;
    if (IN(c0, M_L))
        return (r = run(t, n, at_end, l0, M_L)) == NEED ? 0 : r;
    if (c0 == K_NUM)
        return digits_1_3(t, n, at_end, l0);
    if (IN(c0, M_PREFIX)) {
        READ(c1, l0, l1);
        if (IN(c1, M_L))
            return (r = run(t, n, at_end, l0 + l1, M_L)) == NEED ? 0 : r;
    }
    return punct_or_space(t, n, at_end, c0, l0, c1, l1, 0);
}

/* o200k's first letter alternative without its prefix, [A]*[B]+ at s, as a
 * backtracking engine matches it: A* takes the whole A run; if a Ll follows, B+
 * extends over the B run from there. Otherwise A* gives back code points until B+ can
 * start, i.e. up to the last X (Lm, Lo or M, in both classes) of the run, and B+ takes
 * just that X (what follows it is an A-only code point or ends the run). */
static size_t o200k_lower(const uint8_t *t, size_t n, int at_end, size_t s)
{
    size_t i = s, l, x_end = 0;
    unsigned c;
    for (;;) {
        c = char_at(t, n, i, at_end, &l);
        if (!IN(c, M_A))
            break;
        i += l;
        if (IN(c, M_X))
            x_end = i;
    }
    if (c == K_END && !at_end)
        return NEED;
    if (c == K_LOWER)
        return run(t, n, at_end, i, M_B);
    return x_end ? x_end : FAIL;
}

/* o200k's second letter alternative without its prefix, [A]+[B]* at s (t[s] is in A). */
static size_t o200k_upper(const uint8_t *t, size_t n, int at_end, size_t s)
{
    size_t i = run(t, n, at_end, s, M_A), l;
    if (i == NEED)
        return NEED;
    const unsigned c = char_at(t, n, i, at_end, &l);
    return c == K_LOWER ? run(t, n, at_end, i, M_B) : i;
}

/* o200k (research/token-counting.md §2), A = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}],
 * B = [\p{Ll}\p{Lm}\p{Lo}\p{M}], C = (?i:'s|'t|'re|'ve|'m|'ll|'d):
 *   [^\r\n\p{L}\p{N}]?A*B+C? | [^\r\n\p{L}\p{N}]?A+B*C? | \p{N}{1,3} |
 *    ?[^\s\p{L}\p{N}]+[\r\n/]* | \s*[\r\n]+ | \s+(?!\S) | \s+
 * The optional prefix is greedy, so each letter alternative is tried with a
 * one-code-point prefix first and then without one (possible only when t[0], being a
 * prefix, is a mark). */
static size_t next_o200k(const uint8_t *t, size_t n, int at_end)
{
    size_t l0, l1 = 0, r = FAIL;
    unsigned c0, c1 = K_END;
    READ(c0, 0, l0);
    const int prefix = IN(c0, M_PREFIX) != 0;
    if (prefix)
        READ(c1, l0, l1);
    if (prefix && IN(c1, M_A | M_B))
        r = o200k_lower(t, n, at_end, l0);
    if (r == FAIL && IN(c0, M_A | M_B))
        r = o200k_lower(t, n, at_end, 0);
    if (r == FAIL && prefix && IN(c1, M_A))
        r = o200k_upper(t, n, at_end, l0);
    if (r == FAIL && IN(c0, M_A))
        r = o200k_upper(t, n, at_end, 0);
    if (r == NEED)
        return 0;
    if (r != FAIL) {
        /* The letter run ended at a code point that was read, so r < n here unless the
         * text ends; C? is greedy, so a contraction there belongs to the piece. */
        if (r < n && t[r] == '\'') {
            const size_t k = contraction(t, n, at_end, r, 1);
            if (k == NEED)
                return 0;
            r += k;
        }
        return r;
    }
    if (c0 == K_NUM)
        return digits_1_3(t, n, at_end, l0);
    return punct_or_space(t, n, at_end, c0, l0, c1, l1, 1);
}

/* GPT-2 / legacy Claude:
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static size_t next_claude(const uint8_t *t, size_t n, int at_end)
{
    size_t l0, l1, s = 0, r;
    unsigned c0, c1, c;
    READ(c0, 0, l0);
    if (t[0] == '\'' && (r = contraction(t, n, at_end, 0, 0)) != 0)
        return r == NEED ? 0 : r;
    c = c0;
    if (t[0] == ' ') {
        READ(c1, l0, l1);
        if (IN(c1, M_L | BIT(K_NUM) | M_PUNCT))
            s = l0, c = c1;
    }
    if (IN(c, M_L))
        r = run(t, n, at_end, s, M_L);
    else if (c == K_NUM)
        r = run(t, n, at_end, s, BIT(K_NUM));
    else if (IN(c, M_PUNCT))
        r = run(t, n, at_end, s, M_PUNCT);
    else
        return whitespace(t, n, at_end, c0, l0, 0);
    return r == NEED ? 0 : r;
}

/* ---- ASCII fast paths ----
 * Most pieces are ASCII and decided by ASCII: these match them with byte loops over
 * one flag table. They return 0 ("ask the general matcher") whenever a byte they would
 * need is non-ASCII, lies past the text, or starts a contraction, so they never decide
 * anything the general matcher would decide differently. */
enum { F_LO = 1, F_UP = 2, F_N = 4, F_WS = 8, F_NL = 16, F_P = 32, F_HI = 64 };
#define F_L (F_LO | F_UP)
#define FL(b)                                                                               \
    ((b) >= 0x80 ? F_HI                                                                     \
     : (b) >= 'a' && (b) <= 'z' ? F_LO                                                      \
     : (b) >= 'A' && (b) <= 'Z' ? F_UP                                                      \
     : (b) >= '0' && (b) <= '9' ? F_N                                                       \
     : (b) == '\n' || (b) == '\r' ? F_WS | F_NL                                             \
     : (b) == ' ' || ((b) >= '\t' && (b) <= '\f') ? F_WS                                     \
     : F_P)
#define FL4(b) FL(b), FL((b) + 1), FL((b) + 2), FL((b) + 3)
#define FL16(b) FL4(b), FL4((b) + 4), FL4((b) + 8), FL4((b) + 12)
#define FL64(b) FL16(b), FL16((b) + 16), FL16((b) + 32), FL16((b) + 48)
static const uint8_t fl[256] = {FL64(0), FL64(64), FL64(128), FL64(192)};

/* End of the run of bytes with a flag in f from i, or 0 when the run may go on
 * (it reaches a non-ASCII byte or the end of the text). */
static inline size_t fast_run(const uint8_t *t, size_t n, size_t i, unsigned f)
{
    while (i < n && (fl[t[i]] & f))
        i++;
    return i < n && !(fl[t[i]] & F_HI) ? i : 0;
}

/* Letter runs 8 bytes at a time: a byte-loop exit costs a branch miss per word. */
#define ONES 0x0101010101010101ull
#define HIGH 0x8080808080808080ull
/* The high bit of each byte of w that is in [lo, hi] (ASCII only). */
static inline uint64_t in_range(uint64_t w, unsigned lo, unsigned hi)
{
    const uint64_t x = w & ~HIGH; /* no byte sum below carries into the next byte */
    return (x + ONES * (0x80 - lo)) & ~(x + ONES * (0x7F - hi)) & ~w & HIGH;
}
static inline uint64_t load64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}
/* End of the run from i of ASCII letters in [lo, hi] (with fold, of either case). */
static inline size_t letters(const uint8_t *t, size_t n, size_t i, unsigned lo, unsigned hi, int fold)
{
    for (; i + 8 <= n; i += 8) {
        const uint64_t w = load64(t + i);
        const uint64_t stop = ~in_range(fold ? w | ONES * 0x20 : w, lo, hi) & HIGH;
        if (stop)
            return i + ((size_t)__builtin_ctzll(stop) >> 3);
    }
    for (; i < n; i++) {
        const unsigned b = fold ? t[i] | 0x20u : t[i];
        if (b < lo || b > hi)
            break;
    }
    return i;
}

/* End of [A-Z]*[a-z]* at i: from one load when the word fits in it. */
static inline size_t o200k_letters(const uint8_t *t, size_t n, size_t i)
{
    if (i + 8 <= n) {
        const uint64_t w = load64(t + i), up_stop = ~in_range(w, 'A', 'Z') & HIGH;
        if (up_stop) {
            const unsigned first = (unsigned)__builtin_ctzll(up_stop) & ~7u; /* bit of that byte */
            const uint64_t lo_stop = ~in_range(w, 'a', 'z') & HIGH & (~0ull << first);
            if (lo_stop)
                return i + ((size_t)__builtin_ctzll(lo_stop) >> 3);
            return letters(t, n, i + 8, 'a', 'z', 0);
        }
    }
    return letters(t, n, letters(t, n, i, 'A', 'Z', 0), 'a', 'z', 0);
}

/* r if the byte there is ASCII (so the run that ended at r cannot go on), else 0. */
static inline size_t fast_end(const uint8_t *t, size_t n, size_t r)
{
    return r < n && !(fl[t[r]] & F_HI) ? r : 0;
}

/* The whitespace alternatives (see whitespace()) over ASCII. */
static inline size_t fast_ws(const uint8_t *t, size_t n, int nl)
{
    size_t i = 1, after_nl = fl[t[0]] & F_NL ? 1 : 0;
    while (i < n && (fl[t[i]] & F_WS)) {
        if (fl[t[i]] & F_NL)
            after_nl = i + 1;
        i++;
    }
    if (i >= n || (fl[t[i]] & F_HI))
        return 0;
    if (nl && after_nl)
        return after_nl;
    return i >= 2 ? i - 1 : 1;
}

/* \p{N}{1,3} over ASCII digits at t[0]. */
static inline size_t fast_digits(const uint8_t *t, size_t n)
{
    size_t i = 1;
    while (i < 3 && i < n && (fl[t[i]] & F_N))
        i++;
    return i == 3 || (i < n && !(fl[t[i]] & F_HI)) ? i : 0;
}

/* punct_or_space() on ASCII: ` ?[^\s\p{L}\p{N}]+` then [\r\n]* ([\r\n/]* with
 * slash), else whitespace. f0, f1: the flags of the first two bytes (f1 0 if unread). */
static size_t fast_punct_or_space(const uint8_t *t, size_t n, unsigned f0, unsigned f1, int slash)
{
    size_t r;
    if (t[0] == ' ' && (f1 & F_P))
        r = fast_run(t, n, 2, F_P);
    else if (f0 & F_P)
        r = fast_run(t, n, 1, F_P);
    else
        return fast_ws(t, n, 1);
    while (r && r < n && ((fl[t[r]] & F_NL) || (slash && t[r] == '/')))
        r++;
    return r < n ? r : 0;
}

static size_t fast_cl100k(const uint8_t *t, size_t n)
{
    const unsigned f0 = fl[t[0]];
    if (f0 & F_L)
        return fast_end(t, n, letters(t, n, 1, 'a', 'z', 1));
    if (f0 & F_N)
        return fast_digits(t, n);
    if ((f0 & F_HI) || t[0] == '\'' || n < 2 || (fl[t[1]] & F_HI))
        return 0;
    const unsigned f1 = fl[t[1]];
    if (!(f0 & F_NL) && (f1 & F_L))
        return fast_end(t, n, letters(t, n, 2, 'a', 'z', 1));
    return fast_punct_or_space(t, n, f0, f1, 0);
}

static size_t fast_o200k(const uint8_t *t, size_t n)
{
    const unsigned f0 = fl[t[0]];
    unsigned f1 = 0;
    size_t i = 0;
    if (f0 & F_HI)
        return 0;
    if (!(f0 & (F_L | F_N | F_NL))) { /* a possible prefix */
        if (n < 2 || (fl[t[1]] & F_HI))
            return 0;
        f1 = fl[t[1]];
        i = (f1 & F_L) != 0;
    }
    if (i || (f0 & F_L)) {
        /* In ASCII both letter alternatives come to [A-Z]*[a-z]*, non-empty. */
        i = o200k_letters(t, n, i);
        return i < n && t[i] != '\'' ? fast_end(t, n, i) : 0;
    }
    if (f0 & F_N)
        return fast_digits(t, n);
    return fast_punct_or_space(t, n, f0, f1, 1);
}

static size_t fast_claude(const uint8_t *t, size_t n)
{
    unsigned f = fl[t[0]];
    size_t s = 0;
    if ((f & F_HI) || t[0] == '\'')
        return 0;
    if (t[0] == ' ') {
        if (n < 2 || (fl[t[1]] & F_HI))
            return 0;
        if (fl[t[1]] & (F_L | F_N | F_P))
            s = 1, f = fl[t[1]];
    }
    if (f & F_L)
        return fast_end(t, n, letters(t, n, s + 1, 'a', 'z', 1));
    if (f & (F_N | F_P))
        return fast_run(t, n, s + 1, f);
    return fast_ws(t, n, 0);
}

size_t spill__pretok_next(spill__pretok_kind k, const uint8_t *text, size_t n, int at_end)
{
    size_t r;
    if (n == 0)
        return 0;
    switch (k) {
    case SPILL__PRETOK_O200K:
        return (r = fast_o200k(text, n)) ? r : next_o200k(text, n, at_end);
    case SPILL__PRETOK_CL100K:
        return (r = fast_cl100k(text, n)) ? r : next_cl100k(text, n, at_end);
    case SPILL__PRETOK_CLAUDE:
    default:
        return (r = fast_claude(text, n)) ? r : next_claude(text, n, at_end);
    }
}

static unsigned uc_class(uint32_t cp)
{
    if (cp < 0x80)
        return ascii_class[cp];
    return cp > 0x10FFFF ? K_OTHER : ucd_lookup(cp) & 7u;
}

int spill__uc_is_letter(uint32_t cp) { return IN(uc_class(cp), M_L) != 0; }
int spill__uc_is_number(uint32_t cp) { return uc_class(cp) == K_NUM; }
int spill__uc_is_space(uint32_t cp) { return IN(uc_class(cp), M_WS) != 0; }
