/* exact.c - the streaming exact token counter: textnorm -> (claude) special tokens ->
 * pre-tokenizer -> BPE per piece, with a piece cap and an early exit to the estimator.
 *
 * Text flows from the textnorm output either straight into process() (the common case,
 * no copy) or, when a piece is still open at the end of what arrived, into `buf`, which
 * holds only that open tail. The pre-tokenizer rescans an open piece from its start on
 * every call, so a long open piece is retried only after the pending text has grown by
 * a fair share of its length: the work stays linear however small the chunks are. When
 * the retry happens never changes the result, because a piece the pre-tokenizer calls
 * final cannot change with more text.
 *
 * Chunking invariance of the cap: the pre-tokenizer is never shown more than `cap`
 * bytes from a piece start. If it cannot finish a piece within them, the text from
 * that start to the last character boundary within the cap is counted as a slice
 * (pieces as if the text ended there). Both depend on the text alone.
 *
 * Special tokens (claude): tiktoken's encode(text, 'all') finds the leftmost special
 * token, runs the pre-tokenizer regex over the text before it as a string of its own
 * (so `\s+(?!\S)` and friends see an end of string there), emits the special token and
 * goes on after it. None of the five names is a prefix of another, so the leftmost
 * match is unique. A '<' near the end that could still begin one holds the text back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exact.h"
#include "pretok.h"
#include "textnorm.h"

enum { FEED_SLICE = 64 << 10, RETRY_MAX = 256 << 10, RETRY_MIN = 64 };

struct spill__exact {
    const spill__ranks *ranks;
    spill__pretok_kind kind;
    int specials;              /* claude: the five special tokens count 1 each */
    double mul;
    uint64_t exit_raw;         /* go over to estimating once exact >= this */
    size_t cap;
    const void *user;
    spill__textnorm *tn;
    spill__bpe_scratch scratch;
    uint8_t *buf;              /* the open tail of the text, not yet counted */
    size_t len, bufcap;
    size_t retry;              /* ask the pre-tokenizer again once len reaches this */
    uint64_t exact;            /* tokens counted exactly */
    uint64_t bytes;            /* input bytes fed */
    uint64_t text_bytes;       /* normalized bytes produced */
    uint64_t text_done;        /* normalized bytes counted (the offset of buf[0]) */
    uint64_t est_from;
    int capped, estimating, went_over, raw_est, finished;
    spill__est est;
};

/* ---- special tokens ---- */

static const struct { const char *s; size_t n; } special_tokens[] = {
    {"<EOT>", 5}, {"<META>", 6}, {"<META_START>", 12}, {"<META_END>", 10}, {"<SOS>", 5},
};

/* > 0: the length of the special token at p; -1: p[0..n) is a proper prefix of one;
 * 0: neither. */
static long special_at(const uint8_t *p, size_t n)
{
    long partial = 0;
    for (size_t i = 0; i < sizeof special_tokens / sizeof special_tokens[0]; i++) {
        const size_t k = special_tokens[i].n;
        if (n >= k) {
            if (!memcmp(p, special_tokens[i].s, k))
                return (long)k;
        } else if (!memcmp(p, special_tokens[i].s, n)) {
            partial = -1;
        }
    }
    return partial;
}

/* The first special token in t[from, n): *start and its length in *len. A '<' that may
 * begin one once more text comes (not at_end) stops the search with *len = 0. None:
 * *start = n, *len = 0. */
static void next_special(const uint8_t *t, size_t from, size_t n, int at_end, size_t *start, size_t *len)
{
    const uint8_t *p = t + from, *e = t + n;
    while (p < e && (p = memchr(p, '<', (size_t)(e - p))) != NULL) {
        const long k = special_at(p, (size_t)(e - p));
        if (k > 0 || (k < 0 && !at_end)) {
            *start = (size_t)(p - t);
            *len = k > 0 ? (size_t)k : 0;
            return;
        }
        p++;
    }
    *start = n;
    *len = 0;
}

/* ---- counting ---- */

uint64_t spill__exact_scale(uint64_t raw, double multiplier)
{
    if (multiplier == 1.0)
        return raw;
    const double v = (double)raw * multiplier + 0.5;
    return v >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)v;
}

/* From here on the estimator counts: the rest of t (text offset `at`) first. */
static void go_estimate(spill__exact *x, uint64_t at, const uint8_t *rest, size_t n)
{
    x->estimating = 1;
    x->est_from = at;
    if (n)
        spill__est_feed(&x->est, rest, n);
    x->len = 0;
}

/* Counts one piece; 0 when BPE had no memory (the caller goes over to estimating). */
static int count_piece(spill__exact *x, const uint8_t *p, size_t n)
{
    const uint64_t c = spill__bpe_count(x->ranks, &x->scratch, p, n);
    if (c == 0)
        return 0;
    x->exact += c;
    return 1;
}

/* Counts the pieces of t[0..n) (text offset `base`) that are final and returns the
 * bytes consumed. Everything when at_end, or once estimating began. */
static size_t process(spill__exact *x, uint64_t base, const uint8_t *t, size_t n, int at_end)
{
    size_t pos = 0, sp = 0, splen = 0;
    int sp_known = 0;
    /* The piece after the one being counted is found first, and its lookups started,
     * so that their memory reads overlap the counting: pretok_next at npos with the
     * window nw and end flag nae gave nk (npos == SIZE_MAX: none). */
    size_t npos = SIZE_MAX, nw = 0, nk = 0;
    int nae = 0;
    while (pos < n) {
        size_t limit = n;
        int seg_end = at_end;
        if (x->specials) {
            if (!sp_known || sp < pos) {
                next_special(t, pos, n, at_end, &sp, &splen);
                sp_known = 1;
            }
            limit = sp;
            seg_end = splen > 0 || (sp == n && at_end);
            if (pos == limit) {
                if (splen == 0)
                    break; /* the start of a special token, maybe: wait for more */
                x->exact++;
                pos += splen;
                sp_known = 0;
                goto check;
            }
        }
        size_t w = limit - pos;
        int ae = seg_end;
        if (w > x->cap) {
            w = x->cap;
            ae = 0;
        }
        size_t k = pos == npos && w == nw && ae == nae ? nk : spill__pretok_next(x->kind, t + pos, w, ae);
        npos = SIZE_MAX;
        if (k > 0) {
            if (pos + k < limit) {
                /* What the next round will ask (limit and seg_end stay as they are). */
                nw = limit - pos - k;
                nae = seg_end;
                if (nw > x->cap) {
                    nw = x->cap;
                    nae = 0;
                }
                npos = pos + k;
                nk = spill__pretok_next(x->kind, t + npos, nw, nae);
                if (nk)
                    spill__bpe_prefetch(x->ranks, &x->scratch, t + npos, nk);
            }
            if (!count_piece(x, t + pos, k))
                goto nomem;
            pos += k;
        } else if (w < x->cap) {
            break; /* the piece is still open */
        } else {
            /* Longer than the cap: count a slice up to a character boundary. The text
             * is whole characters, so its end is one. */
            size_t s = x->cap;
            while (s > 1 && pos + s < n && (t[pos + s] & 0xC0) == 0x80)
                s--;
            const size_t end = pos + s;
            while (pos < end) {
                k = spill__pretok_next(x->kind, t + pos, end - pos, 1);
                if (!count_piece(x, t + pos, k))
                    goto nomem;
                pos += k;
            }
            x->capped = 1;
        }
    check:
        if (x->exact >= x->exit_raw) {
            x->went_over = 1;
            go_estimate(x, base + pos, t + pos, n - pos);
            return n;
        }
    }
    return pos;
nomem:
    x->capped = 1;
    go_estimate(x, base + pos, t + pos, n - pos);
    return n;
}

/* Keeps t[0..n) as the open tail; 0, or -1 without memory. */
static int stash(spill__exact *x, const uint8_t *t, size_t n)
{
    if (x->len + n > x->bufcap) {
        size_t c = x->bufcap ? x->bufcap : 4096;
        while (c < x->len + n)
            c *= 2;
        uint8_t *b = realloc(x->buf, c);
        if (!b)
            return -1;
        x->buf = b;
        x->bufcap = c;
    }
    memcpy(x->buf + x->len, t, n);
    x->len += n;
    return 0;
}

/* Counts what the front end has produced. */
static void drain(spill__exact *x, int at_end)
{
    size_t m;
    const uint8_t *o = spill__textnorm_out(x->tn, &m);
    int ran = 0;
    x->text_bytes += m;
    if (x->estimating) {
        if (m)
            spill__est_feed(&x->est, o, m);
    } else if (x->len == 0) {
        const size_t k = process(x, x->text_done, o, m, at_end);
        ran = 1;
        if (!x->estimating) {
            x->text_done += k;
            if (k < m && stash(x, o + k, m - k) != 0) {
                x->capped = 1;
                go_estimate(x, x->text_done, o + k, m - k);
            }
        }
    } else if (stash(x, o, m) != 0) {
        x->capped = 1;
        const uint64_t at = x->text_done;
        spill__est_feed(&x->est, x->buf, x->len);
        go_estimate(x, at, o, m);
    } else if (at_end || x->len >= x->retry) {
        const size_t k = process(x, x->text_done, x->buf, x->len, at_end);
        ran = 1;
        if (!x->estimating) {
            x->text_done += k;
            memmove(x->buf, x->buf + k, x->len - k);
            x->len -= k;
        }
    }
    spill__textnorm_consume(x->tn, m);
    if (x->estimating || !x->len) {
        x->retry = 0;
    } else if (ran) {
        /* Retry once the text has grown by a share of the open tail: linear work. */
        const size_t grow = x->len < RETRY_MIN ? RETRY_MIN : x->len < RETRY_MAX ? x->len : RETRY_MAX;
        x->retry = x->len + grow;
    }
}

spill__exact *spill__exact_new(const spill__ranks *ranks, spill__vocab v, double multiplier,
                               uint64_t early_exit, size_t piece_cap, const void *user)
{
    spill__exact *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->ranks = ranks;
    x->kind = (spill__pretok_kind)v;
    x->specials = v == SPILL__VOCAB_CLAUDE;
    x->mul = multiplier > 0 ? multiplier : 1.0;
    x->cap = piece_cap ? piece_cap : SPILL__EXACT_PIECE_CAP;
    if (x->cap < SPILL__EXACT_PIECE_CAP_MIN)
        x->cap = SPILL__EXACT_PIECE_CAP_MIN;
    x->user = user;
    x->exit_raw = UINT64_MAX;
    if (early_exit != SPILL_NO_LIMIT) {
        /* The least raw count whose scaled figure exceeds early_exit. */
        uint64_t r = (uint64_t)((double)early_exit / x->mul);
        while (r > 0 && spill__exact_scale(r - 1, x->mul) > early_exit)
            r--;
        while (spill__exact_scale(r, x->mul) <= early_exit)
            r++;
        x->exit_raw = r;
    }
    spill__est_init(&x->est, v);
    x->tn = spill__textnorm_new(v == SPILL__VOCAB_CLAUDE);
    if (!x->tn) {
        free(x);
        return NULL;
    }
    return x;
}

void spill__exact_free(spill__exact *x)
{
    if (!x)
        return;
    spill__textnorm_free(x->tn);
    spill__bpe_scratch_free(&x->scratch);
    free(x->buf);
    free(x);
}

const void *spill__exact_user(const spill__exact *x) { return x->user; }

void spill__exact_feed(spill__exact *x, const void *data, size_t n)
{
    const uint8_t *p = data;
    if (x->finished)
        return;
    x->bytes += n;
    if (x->raw_est) {
        spill__est_feed(&x->est, p, n);
        x->text_bytes += n;
        return;
    }
    while (n) {
        /* Bounded slices keep the front end's output buffer small. */
        const size_t k = n < FEED_SLICE ? n : FEED_SLICE;
        if (spill__textnorm_feed(x->tn, p, k) != 0) {
            /* No memory for the front end: estimate the raw bytes from here. */
            x->capped = 1;
            x->raw_est = 1;
            if (!x->estimating) {
                const uint64_t at = x->text_done;
                spill__est_feed(&x->est, x->buf, x->len);
                go_estimate(x, at, NULL, 0);
            }
            spill__est_feed(&x->est, p, n);
            x->text_bytes += n;
            return;
        }
        drain(x, 0);
        p += k;
        n -= k;
    }
}

void spill__exact_finish(spill__exact *x)
{
    if (x->finished)
        return;
    x->finished = 1;
    if (x->raw_est)
        return;
    if (spill__textnorm_end(x->tn) != 0) {
        x->capped = 1; /* what the front end still held is lost */
        x->raw_est = 1;
    }
    drain(x, 1);
    if (!x->estimating && x->len) {
        /* process() consumes everything at the end unless it failed to keep going. */
        x->capped = 1;
        spill__est_feed(&x->est, x->buf, x->len);
        go_estimate(x, x->text_done, NULL, 0);
    }
}

void spill__exact_result(const spill__exact *x, spill_count_result *r)
{
    memset(r, 0, sizeof *r);
    r->exact_tokens = x->exact;
    r->estimated_tokens = x->estimating ? spill__est_tokens(&x->est) : 0;
    const uint64_t held = !x->finished && !x->estimating && x->len > 0;
    r->tokens = spill__exact_scale(r->exact_tokens + r->estimated_tokens + held, x->mul);
    r->estimated_from = x->estimating ? x->est_from : x->text_bytes;
    r->bytes = x->bytes;
    r->text_bytes = x->text_bytes;
    r->capped = x->capped || spill__textnorm_overflowed(x->tn);
    r->early_exit = x->went_over && x->text_bytes > x->est_from; /* something was estimated */
}
