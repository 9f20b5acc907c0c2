/* fuzz_scan.c - the JSON scanner fed in fuzzer-chosen chunks must agree with itself
 * fed whole: same result, same error offset, same events (the STR_CHUNKs of a string
 * concatenated, since their boundaries may differ). Also checks the event invariants
 * scan.h promises and, when asked, a callback stop. Any mismatch abort()s.
 *
 * Input: byte 0 = h, then (h & 7) + 1 plan bytes, then the JSON text.
 *   chunk sizes cycle through the plan bytes, times 61 when h & 0x80 (0 = an empty
 *   feed; all-zero plans feed 1 byte at a time);
 *   h & 0x40: the callback stops (SPILL_E_ABORTED) at the k-th event that is not a
 *   STR_CHUNK, k = plan[0] + 1;
 *   h & 0x20: the chunked run uses the generic string decoder, so where the CPU has
 *   the AVX-512 one the two decoders are checked against each other.
 * Each chunk is fed from its own malloc'd copy, so ASan sees a read past it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"
#include "spill.h"

typedef struct fz_bytes {
    uint8_t *p;
    size_t n, cap;
} fz_bytes;

static void fz_add(fz_bytes *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->n + n)
            cap *= 2;
        if (!(b->p = realloc(b->p, cap)))
            abort();
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}

typedef struct fz_log {
    fz_bytes out, str;
    long events, stop_at; /* events counts all but STR_CHUNK */
    uint64_t last_off;
    int in_str, str_depth;
} fz_log;

static void fz_rec(fz_bytes *b, const spill__scan_ev *ev, const void *s, size_t n)
{
    const uint64_t h[5] = {(uint64_t)ev->tok, (uint64_t)ev->depth, ev->off, ev->end,
                           (uint64_t)n << 1 | (uint64_t)(ev->truncated != 0)};
    fz_add(b, h, sizeof h);
    fz_add(b, s, n);
}

static int fz_cb(void *ud, const spill__scan_ev *ev)
{
    fz_log *l = ud;
    if (ev->depth < 0 || ev->depth > SPILL__SCAN_MAX_DEPTH)
        abort();
    if (ev->tok == SPILL__TOK_STR_CHUNK) {
        if (!l->in_str || ev->n < 1 || ev->n > SPILL__SCAN_CHUNK || ev->off || ev->end ||
            ev->truncated || ev->depth != l->str_depth)
            abort();
        fz_add(&l->str, ev->s, ev->n);
        return 0;
    }
    /* Every other event spans bytes after the previous one's start. */
    if (ev->end <= ev->off || ev->off < l->last_off || (l->events && ev->off == l->last_off))
        abort();
    l->last_off = ev->off;
    switch (ev->tok) {
    case SPILL__TOK_STR_BEGIN:
        if (l->in_str || ev->end != ev->off + 1)
            abort();
        l->in_str = 1;
        l->str_depth = ev->depth;
        l->str.n = 0;
        break;
    case SPILL__TOK_STR_END:
        if (!l->in_str || ev->depth != l->str_depth || ev->end != ev->off + 1)
            abort();
        l->in_str = 0;
        fz_rec(&l->out, ev, l->str.p, l->str.n);
        break;
    case SPILL__TOK_KEY:
        if (ev->n > SPILL__SCAN_KEY_MAX || (ev->truncated && ev->n != SPILL__SCAN_KEY_MAX))
            abort();
        break;
    case SPILL__TOK_NUMBER:
        if (ev->n < 1 || ev->n > SPILL__SCAN_NUM_MAX || ev->n > ev->end - ev->off ||
            (ev->truncated && ev->n != SPILL__SCAN_NUM_MAX))
            abort();
        break;
    default:
        if (ev->tok < SPILL__TOK_OBJ_BEGIN || ev->tok > SPILL__TOK_NULL)
            abort();
        break;
    }
    fz_rec(&l->out, ev, ev->s, ev->n);
    return ++l->events == l->stop_at ? SPILL_E_ABORTED : 0;
}

/* Feeds text[0..n) in chunks of sizes[i % nsizes] (NULL: whole), then finishes. */
static int fz_run(const uint8_t *text, size_t n, const uint8_t *sizes, size_t nsizes, int mul,
                  int narrow, fz_log *l, uint64_t *off)
{
    spill__scan sc;
    spill__scan_init(&sc);
    if (narrow)
        sc.wide = 0;
    int r = 0, complete = 0;
    for (size_t at = 0, i = 0; at < n || (sizes && i < nsizes && at == n);) {
        size_t k = sizes ? (size_t)sizes[i++ % nsizes] * (size_t)mul : n;
        if (k > n - at)
            k = n - at;
        uint8_t *copy = malloc(k ? k : 1);
        if (!copy)
            abort();
        if (k)
            memcpy(copy, text + at, k);
        r = spill__scan_feed(&sc, k ? copy : NULL, k, fz_cb, l, off);
        free(copy);
        if (r < 0)
            break;
        if (r != 0 && r != 1)
            abort();
        if (complete && r != 1) /* once complete, a value stays complete */
            abort();
        complete = r;
        at += k;
    }
    if (r >= 0) {
        r = spill__scan_finish(&sc, fz_cb, l, off);
        if (complete && r != 1)
            abort();
    }
    if (r != 1 && r != SPILL_E_JSON && r != SPILL_E_ABORTED)
        abort();
    if (r == SPILL_E_JSON && *off > n)
        abort();
    /* Errors and stops are sticky and call nothing more. */
    const long events = l->events;
    uint64_t again = UINT64_MAX;
    if (r != 1 && (spill__scan_feed(&sc, "[", 1, fz_cb, l, &again) != r ||
                   spill__scan_finish(&sc, fz_cb, l, &again) != r || l->events != events ||
                   again != (r == SPILL_E_JSON ? *off : UINT64_MAX)))
        abort();
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t h = data[0];
    const size_t nplan = (size_t)(h & 7) + 1;
    if (size < 1 + nplan)
        return 0;
    const uint8_t *plan = data + 1, *text = data + 1 + nplan;
    const size_t n = size - 1 - nplan;
    static const uint8_t one = 1;
    int any = 0;
    for (size_t i = 0; i < nplan; i++)
        any |= plan[i];
    const int mul = h & 0x80 ? 61 : 1;
    const long stop_at = h & 0x40 ? (long)plan[0] + 1 : 0;

    fz_log a = {0}, b = {0};
    a.stop_at = b.stop_at = stop_at;
    uint64_t off_a = UINT64_MAX, off_b = UINT64_MAX;
    const int ra = fz_run(text, n, NULL, 0, 1, 0, &a, &off_a);
    const int rb = fz_run(text, n, any ? plan : &one, any ? nplan : 1, any ? mul : 1, h & 0x20, &b,
                          &off_b);
    if (ra != rb || off_a != off_b || a.out.n != b.out.n ||
        (a.out.n && memcmp(a.out.p, b.out.p, a.out.n)))
        abort();
    free(a.out.p);
    free(a.str.p);
    free(b.out.p);
    free(b.str.p);
    return 0;
}
