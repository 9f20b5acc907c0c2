/* textnorm.c - bytes in any chunking -> valid UTF-8 (WHATWG replacement) -> NFKC (pure).
 *
 * Decoding follows the WHATWG "UTF-8 decode" algorithm byte by byte: a lead byte sets
 * how many continuation bytes follow and the range the first one must fall in (E0 A0..,
 * ED ..9F, F0 90.., F4 ..8F exclude overlongs, surrogates and > U+10FFFF); a byte out
 * of range ends the sequence with one U+FFFD and is read again as a lead. The pending
 * bytes of an unfinished sequence are the only state carried between feeds.
 *
 * NFKC: a cut just before a code point c is a safe boundary when nothing after it can
 * interact with what is before it: c is a starter (ccc 0), and c (or, when NFKC
 * changes c, the first code point of its decomposition) is a starter that never
 * composes with what precedes it (the code points that can are exactly the NFKC_QC =
 * Maybe ones, e.g. Hangul V/T jamo). Then NFKC(x y) = NFKC(x) NFKC(y), so held text is
 * normalized up to its last safe boundary. Between boundaries, code points that NFKC
 * leaves alone (ccc 0, NFKC_QC = Yes) are copied; only the stretches around the
 * others go through utf8proc, so ASCII, CJK and most text are copied. The generated
 * table has both properties (UCD_NFKC_HOLD, UCD_NFKC_CHANGE).
 *
 * A run of HOLD_MAX bytes without a safe boundary (hundreds of combining marks, which
 * no real text has: Unicode's stream-safe format allows 30) gets a forced boundary,
 * placed by the text alone so that every chunking still gives the same output, and the
 * overflow flag is set. Besides bounding the hold, this bounds utf8proc's canonical
 * ordering, which is quadratic in the length of a run of marks.
 */
#include "textnorm.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "spill.h"
#include "ucd_tables.h"

/* Longest run without a safe boundary; see above. */
#define HOLD_MAX 256u
/* Longest stretch given to utf8proc at once (it is cut at a safe boundary). */
#define SEG_MAX 4096u

struct buf {
    uint8_t *p;
    size_t off, len, cap; /* bytes [off, len) are live */
};

struct spill__textnorm {
    int nfkc, overflowed;
    uint8_t seq[4];       /* an unfinished UTF-8 sequence, seq_len bytes so far */
    unsigned seq_len, seq_left;
    uint8_t lo, hi;       /* range of the next continuation byte */
    struct buf out;       /* final output not consumed yet */
    struct buf hold;      /* nfkc: decoded text after the last safe boundary */
    size_t hold_seen;     /* held bytes already known to hold no later safe boundary */
    int32_t *u32;         /* utf8proc scratch */
    size_t u32_cap;
};

/* Room for `extra` more bytes after b->len. The live bytes move to the front only when
 * the end is full: a caller that leaves an open piece unconsumed while feeding small
 * chunks would otherwise have it moved on every feed. */
static int buf_reserve(struct buf *b, size_t extra)
{
    if (extra <= b->cap - b->len)
        return 0;
    if (b->off > 0) {
        memmove(b->p, b->p + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
    }
    if (extra <= b->cap - b->len)
        return 0;
    if (extra > SIZE_MAX / 2 - b->len)
        return SPILL_E_NOMEM;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < extra)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return SPILL_E_NOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int buf_append(struct buf *b, const uint8_t *p, size_t n)
{
    if (n == 0)
        return 0;
    const int rc = buf_reserve(b, n);
    if (rc)
        return rc;
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

spill__textnorm *spill__textnorm_new(int nfkc)
{
    spill__textnorm *t = calloc(1, sizeof *t);
    if (t)
        t->nfkc = nfkc != 0;
    return t;
}

void spill__textnorm_free(spill__textnorm *t)
{
    if (!t)
        return;
    free(t->out.p);
    free(t->hold.p);
    free(t->u32);
    free(t);
}

static uint8_t *put_fffd(uint8_t *o)
{
    o[0] = 0xEF, o[1] = 0xBF, o[2] = 0xBD;
    return o + 3;
}

/* The range of the first continuation byte after lead byte b, and how many follow;
 * 0 when b cannot start a sequence. */
static unsigned lead(uint8_t b, uint8_t *lo, uint8_t *hi)
{
    *lo = 0x80, *hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF)
        return 1;
    if (b >= 0xE0 && b <= 0xEF) {
        *lo = b == 0xE0 ? 0xA0 : 0x80, *hi = b == 0xED ? 0x9F : 0xBF;
        return 2;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        *lo = b == 0xF0 ? 0x90 : 0x80, *hi = b == 0xF4 ? 0x8F : 0xBF;
        return 3;
    }
    return 0;
}

/* Length of the longest prefix of p[0..n) made of complete, valid sequences. */
static size_t valid_prefix(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        for (uint64_t w; i + 8 <= n; i += 8) {
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ull)
                break;
        }
        if (i == n)
            break;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        uint8_t lo, hi;
        const unsigned left = lead(p[i], &lo, &hi);
        if (left == 0 || n - i <= left || p[i + 1] < lo || p[i + 1] > hi ||
            (left >= 2 && (p[i + 2] & 0xC0) != 0x80) || (left == 3 && (p[i + 3] & 0xC0) != 0x80))
            break;
        i += left + 1;
    }
    return i;
}

/* Decodes p[0..n) onto d: valid UTF-8 out, U+FFFD for each maximal invalid subpart.
 * Valid stretches are found first and copied whole; the byte-at-a-time state machine
 * runs only where a sequence is broken or cut by the end of the feed. */
static int decode(spill__textnorm *t, struct buf *d, const uint8_t *p, size_t n)
{
    /* Each byte yields at most 3 bytes, plus one U+FFFD for a sequence left pending. */
    if (n > SIZE_MAX / 4)
        return SPILL_E_NOMEM;
    const int rc = buf_reserve(d, 3 * n + 4);
    if (rc)
        return rc;
    uint8_t *o = d->p + d->len;
    size_t i = 0;
    while (i < n) {
        if (t->seq_left == 0) {
            const size_t v = valid_prefix(p + i, n - i);
            memcpy(o, p + i, v);
            o += v;
            i += v;
            if (i == n)
                break;
            const unsigned left = lead(p[i], &t->lo, &t->hi);
            if (left == 0) {
                o = put_fffd(o);
            } else {
                t->seq[0] = p[i];
                t->seq_len = 1;
                t->seq_left = left;
            }
            i++;
            continue;
        }
        const uint8_t b = p[i];
        if (b < t->lo || b > t->hi) {
            o = put_fffd(o);
            t->seq_left = 0; /* b is read again, as a lead byte */
            continue;
        }
        t->seq[t->seq_len++] = b;
        t->lo = 0x80, t->hi = 0xBF;
        i++;
        if (--t->seq_left == 0) {
            memcpy(o, t->seq, t->seq_len);
            o += t->seq_len;
        }
    }
    d->len = (size_t)(o - d->p);
    return 0;
}

/* Code point at s[i] of valid UTF-8 and its length. */
static uint32_t utf8_get(const uint8_t *s, size_t i, size_t *len)
{
    const uint8_t b = s[i];
    if (b < 0xE0) {
        *len = 2;
        return (uint32_t)(b & 0x1F) << 6 | (s[i + 1] & 0x3Fu);
    }
    if (b < 0xF0) {
        *len = 3;
        return (uint32_t)(b & 0x0F) << 12 | (uint32_t)(s[i + 1] & 0x3F) << 6 | (s[i + 2] & 0x3Fu);
    }
    *len = 4;
    return (uint32_t)(b & 0x07) << 18 | (uint32_t)(s[i + 1] & 0x3F) << 12 |
           (uint32_t)(s[i + 2] & 0x3F) << 6 | (s[i + 3] & 0x3Fu);
}

/* The NFKC bits (UCD_NFKC_*) of the code point at s[i] and its length. */
static unsigned nfkc_bits(const uint8_t *s, size_t i, size_t *len)
{
    if (s[i] < 0x80) {
        *len = 1;
        return 0;
    }
    return ucd_lookup(utf8_get(s, i, len)) & (UCD_NFKC_HOLD | UCD_NFKC_CHANGE);
}

/* Appends NFKC(s[0..n)) to out. */
static int nfkc_append(spill__textnorm *t, const uint8_t *s, size_t n)
{
    const utf8proc_option_t opts = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
    utf8proc_ssize_t r;
    for (;;) {
        r = utf8proc_decompose(s, (utf8proc_ssize_t)n, t->u32, (utf8proc_ssize_t)t->u32_cap, opts);
        if (r < 0) /* cannot happen on valid UTF-8; keep the text rather than lose it */
            return buf_append(&t->out, s, n);
        /* One slot more than the code points: utf8proc_reencode writes a NUL after
         * the UTF-8, which fills all 4r bytes when every character takes 4. */
        if ((size_t)r < t->u32_cap)
            break;
        int32_t *p = realloc(t->u32, ((size_t)r + 1) * sizeof *p);
        if (!p)
            return SPILL_E_NOMEM;
        t->u32 = p;
        t->u32_cap = (size_t)r + 1;
    }
    r = utf8proc_reencode(t->u32, r, opts); /* UTF-8, in place */
    if (r < 0)
        return buf_append(&t->out, s, n);
    return buf_append(&t->out, (const uint8_t *)t->u32, (size_t)r);
}

/* Normalizes s[0..n), which starts and ends at boundaries, onto out. `bound` is the
 * last boundary seen (safe or forced): the forced-boundary rule counts from it. */
static int nfkc_span(spill__textnorm *t, const uint8_t *s, size_t n)
{
    size_t i = 0, copied = 0, bound = 0, l;
    int rc;
    while (i < n) {
        uint64_t w;
        if (i + 8 <= n && (memcpy(&w, s + i, 8), !(w & 0x8080808080808080ull))) {
            bound = i + 7;
            i += 8;
            continue;
        }
        unsigned v = nfkc_bits(s, i, &l);
        if (!(v & UCD_NFKC_CHANGE)) {
            bound = i;
            i += l;
            continue;
        }
        /* A stretch NFKC may change: from its boundary to the next code point that NFKC
         * leaves alone (a safe boundary), a forced boundary, or SEG_MAX. */
        if (!(v & UCD_NFKC_HOLD))
            bound = i;
        const size_t start = bound;
        size_t j = i + l;
        while (j < n) {
            v = nfkc_bits(s, j, &l);
            if (!(v & UCD_NFKC_CHANGE))
                break;
            if (!(v & UCD_NFKC_HOLD)) {
                bound = j;
                if (j - start >= SEG_MAX)
                    break;
            } else if (j - bound >= HOLD_MAX) {
                t->overflowed = 1;
                break;
            }
            j += l;
        }
        if ((rc = buf_append(&t->out, s + copied, start - copied)) != 0 ||
            (rc = nfkc_append(t, s + start, j - start)) != 0)
            return rc;
        copied = bound = i = j;
    }
    return buf_append(&t->out, s + copied, n - copied);
}

/* Start of the last boundary in the held text s[0..n), which starts at one and has
 * none in s[1..seen). */
static size_t last_boundary(spill__textnorm *t, const uint8_t *s, size_t n, size_t seen)
{
    size_t i = n, b = 0, l;
    while (i > seen) {
        i--;
        while (i > 0 && (s[i] & 0xC0) == 0x80)
            i--;
        if (!(nfkc_bits(s, i, &l) & UCD_NFKC_HOLD)) {
            b = i;
            break;
        }
    }
    if (n - b <= HOLD_MAX)
        return b;
    /* Forced boundaries after b, by the rule nfkc_span applies. */
    for (i = b; i < n; i += l) {
        if (!(nfkc_bits(s, i, &l) & UCD_NFKC_HOLD))
            b = i;
        else if (i - b >= HOLD_MAX)
            b = i, t->overflowed = 1;
    }
    return b;
}

/* Moves the held text up to its last boundary (all of it when final) to out. */
static int nfkc_flush(spill__textnorm *t, int final)
{
    struct buf *h = &t->hold;
    const uint8_t *s = h->p + h->off;
    const size_t n = h->len - h->off;
    const size_t cut = final ? n : last_boundary(t, s, n, t->hold_seen);
    const int rc = nfkc_span(t, s, cut);
    if (rc)
        return rc;
    t->hold_seen = n - cut;
    h->off += cut;
    if (h->off == h->len)
        h->off = h->len = 0;
    return 0;
}

int spill__textnorm_feed(spill__textnorm *t, const void *p, size_t n)
{
    if (!t->nfkc)
        return decode(t, &t->out, p, n);
    const int rc = decode(t, &t->hold, p, n);
    return rc ? rc : nfkc_flush(t, 0);
}

int spill__textnorm_end(spill__textnorm *t)
{
    struct buf *d = t->nfkc ? &t->hold : &t->out;
    if (t->seq_left) {
        t->seq_left = 0;
        static const uint8_t fffd[3] = {0xEF, 0xBF, 0xBD};
        const int rc = buf_append(d, fffd, 3);
        if (rc)
            return rc;
    }
    return t->nfkc ? nfkc_flush(t, 1) : 0;
}

const uint8_t *spill__textnorm_out(const spill__textnorm *t, size_t *n)
{
    *n = t->out.len - t->out.off;
    return t->out.p ? t->out.p + t->out.off : (const uint8_t *)"";
}

void spill__textnorm_consume(spill__textnorm *t, size_t k)
{
    t->out.off += k <= t->out.len - t->out.off ? k : t->out.len - t->out.off;
    if (t->out.off == t->out.len)
        t->out.off = t->out.len = 0;
}

int spill__textnorm_overflowed(const spill__textnorm *t) { return t->overflowed; }
