/* scan.c - the incremental JSON scanner (see scan.h).
 *
 * A byte-driven state machine whose whole state lives in spill__scan, so a token
 * may be cut anywhere by the chunking and the scan resumes on the next feed. Each
 * state consumes as much of the chunk as it can in its own tight loop (whitespace,
 * digits, hex digits, plain string bytes) and only goes back through the dispatch
 * switch when the kind of token changes.
 *
 * The hot path is the body of a huge string value: plain_end() finds the next
 * byte that is not plain ('"', '\\' or a control byte) 16 or 64 bytes at a time,
 * and str_out() hands plain runs of SPILL__SCAN_CHUNK bytes or more to the
 * callback straight from the caller's buffer. Short runs between escapes are copied
 * into buf together with the decoded escapes (plain_copy() scans and copies in one
 * pass), so a text dense in escapes gives full STR_CHUNK events rather than one tiny
 * event per run, and costs no call per run.
 *
 * Numbers, keys and literals are always copied (they are short and may straddle
 * chunks); string values are never held longer than SPILL__SCAN_CHUNK bytes. */
#include "scan.h"

#include <string.h>

#include "spill.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

enum {
    S_VALUE = 0, /* a value must come: start of text, after ':', after ',' in an array */
    S_ARR_FIRST, /* after '[': a value or ']' */
    S_OBJ_FIRST, /* after '{': a key or '}' */
    S_KEY,       /* after ',' in an object: a key */
    S_COLON,     /* after a key */
    S_AFTER,     /* after a member: ',' or the container's closing bracket */
    S_DONE,      /* the top-level value is complete: whitespace only */
    S_STR,       /* inside a string (in_key tells key from value) */
    S_ESC,       /* after a backslash inside a string */
    S_HEX,       /* inside \uXXXX; sub = digits seen, uhex = their value */
    S_NUM,       /* inside a number; sub = N_* */
    S_LIT,       /* inside true/false/null; lit = which, sub = bytes matched */
};

/* Number sub-states. The grammar -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
 * as a DFA; N_ZERO, N_INT, N_FRAC and N_EXP accept. N_END means "the number ended
 * before this byte" and N_BAD "this byte cannot follow". */
enum { N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP, N_END, N_BAD };

static const char *const lit_text[3] = {"true", "false", "null"};
static const uint8_t lit_len[3] = {4, 5, 4};
static const spill__tok lit_tok[3] = {SPILL__TOK_TRUE, SPILL__TOK_FALSE, SPILL__TOK_NULL};

/* What the byte after a backslash decodes to; 0 = not a valid escape ('u' is
 * handled apart). */
static const char esc_map[256] = {
    ['"'] = '"', ['\\'] = '\\', ['/'] = '/', ['b'] = '\b',
    ['f'] = '\f', ['n'] = '\n', ['r'] = '\r', ['t'] = '\t',
};

static int is_ws(unsigned c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
static int is_digit(unsigned c) { return c - '0' < 10u; }
static int is_plain(unsigned c) { return c >= 0x20 && c != '"' && c != '\\'; }

static int hex_val(unsigned c)
{
    if (c - '0' < 10u)
        return (int)(c - '0');
    c |= 0x20; /* ASCII letters to lower case; other bytes stay out of range */
    if (c - 'a' < 6u)
        return (int)(c - 'a' + 10);
    return -1;
}

static int num_step(int st, unsigned c)
{
    const int digit = is_digit(c), e = (c | 0x20) == 'e';
    switch (st) {
    case N_MINUS: return c == '0' ? N_ZERO : digit ? N_INT : N_BAD;
    case N_ZERO: return c == '.' ? N_DOT : e ? N_E : N_END;
    case N_INT: return digit ? N_INT : c == '.' ? N_DOT : e ? N_E : N_END;
    case N_DOT: return digit ? N_FRAC : N_BAD;
    case N_FRAC: return digit ? N_FRAC : e ? N_E : N_END;
    case N_E: return digit ? N_EXP : (c == '+' || c == '-') ? N_ESIGN : N_BAD;
    case N_ESIGN: return digit ? N_EXP : N_BAD;
    default: return digit ? N_EXP : N_END; /* N_EXP */
    }
}

static int num_accepts(int st) { return st == N_ZERO || st == N_INT || st == N_FRAC || st == N_EXP; }

#if defined(__GNUC__) || defined(__clang__)
#define CTZ64(x) ((unsigned)__builtin_ctzll(x))
#else
static unsigned CTZ64(uint64_t x)
{
    unsigned n = 0;
    while (!(x & 1)) x >>= 1, n++;
    return n;
}
#endif

#if defined(__SSE2__)
/* Bit i set = byte i of x ends a plain run. x <= 0x1f unsigned is tested as
 * min(x, 0x1f) == x: SSE2 has no unsigned byte compare. */
static __m128i special16(__m128i x)
{
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i c1f = _mm_set1_epi8(0x1f);
    return _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                        _mm_cmpeq_epi8(_mm_min_epu8(x, c1f), x));
}
#define LOAD16(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#else
/* SWAR: the "has a byte < n" test (exact for n <= 128) per pattern. On a hit the
 * caller's bytewise loop finds which byte, so byte order does not matter. */
static int special8(const uint8_t *p)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t w;
    memcpy(&w, p, 8);
    const uint64_t xq = w ^ (ones * '"'), xb = w ^ (ones * '\\');
    return (((xq - ones) & ~xq) | ((xb - ones) & ~xb) | ((w - ones * 0x20) & ~w)) & highs ? 1 : 0;
}
#endif

/* First byte in [q, e) that is not plain, or e. Never reads outside [q, e): the
 * vector loops stop while a whole vector still fits and the tail goes bytewise. */
static const uint8_t *plain_end(const uint8_t *q, const uint8_t *const e)
{
#if defined(__SSE2__)
    /* 64 bytes a round keeps four loads in flight; one branch per round. */
    while (e - q >= 64) {
        const __m128i a = special16(LOAD16(q)), b = special16(LOAD16(q + 16));
        const __m128i c = special16(LOAD16(q + 32)), d = special16(LOAD16(q + 48));
        if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d)))) {
            const uint64_t m = (uint64_t)(unsigned)_mm_movemask_epi8(a) |
                               (uint64_t)(unsigned)_mm_movemask_epi8(b) << 16 |
                               (uint64_t)(unsigned)_mm_movemask_epi8(c) << 32 |
                               (uint64_t)(unsigned)_mm_movemask_epi8(d) << 48;
            return q + CTZ64(m);
        }
        q += 64;
    }
    for (; e - q >= 16; q += 16) {
        const unsigned m = (unsigned)_mm_movemask_epi8(special16(LOAD16(q)));
        if (m)
            return q + CTZ64(m);
    }
#else
    while (e - q >= 8 && !special8(q))
        q += 8;
#endif
    while (q < e && is_plain(*q))
        q++;
    return q;
}

/* plain_end() that also copies the run to dst, for runs that join pending bytes in
 * buf anyway: one pass over the bytes and no memcpy call per run, which is what a
 * string with an escape every few dozen bytes spends its time on. Stops after
 * `room` bytes; whole vectors are stored, so dst[0..room) may get bytes past the
 * run (harmless: they lie beyond buf_len). */
static const uint8_t *plain_copy(const uint8_t *q, const uint8_t *const e, uint8_t *dst,
                                 size_t room)
{
    const uint8_t *const lim = (size_t)(e - q) < room ? e : q + room;
#if defined(__SSE2__)
    for (; lim - q >= 16; q += 16, dst += 16) {
        const __m128i x = LOAD16(q);
        _mm_storeu_si128((__m128i *)(void *)dst, x);
        const unsigned m = (unsigned)_mm_movemask_epi8(special16(x));
        if (m)
            return q + CTZ64(m);
    }
#else
    for (; lim - q >= 8 && !special8(q); q += 8, dst += 8)
        memcpy(dst, q, 8);
#endif
    while (q < lim && is_plain(*q))
        *dst++ = *q++;
    return q;
}

#if defined(__SSE2__)
/* Copies the 64 bytes at src to dst, whatever part of them is wanted: four fixed
 * stores cost less than a branch on a run length that varies from escape to escape. */
static void copy64(uint8_t *dst, const uint8_t *src)
{
    const __m128i a = LOAD16(src), b = LOAD16(src + 16), c = LOAD16(src + 32), d = LOAD16(src + 48);
    _mm_storeu_si128((__m128i *)(void *)dst, a);
    _mm_storeu_si128((__m128i *)(void *)(dst + 16), b);
    _mm_storeu_si128((__m128i *)(void *)(dst + 32), c);
    _mm_storeu_si128((__m128i *)(void *)(dst + 48), d);
}

/* A string with an escape every few dozen bytes (JSON or code inside a text block)
 * spends its time per escape, not per byte. This decodes one 64-byte block from a
 * single special-byte mask: each two-byte escape ("\n", "\"") is decoded and its
 * bits cleared without rescanning. It stops at the first byte it leaves to the
 * general loop (the closing quote, a control byte, \u, a bad escape, a backslash
 * in the block's last byte), with every byte before it decoded to dst. Needs 128
 * readable bytes at q and 128 writable at dst. Returns the bytes consumed (64 when
 * the whole block was decoded); *out gets the bytes written. */
static size_t esc_block(const uint8_t *q, uint8_t *dst, size_t *out)
{
    uint64_t m = (uint64_t)(unsigned)_mm_movemask_epi8(special16(LOAD16(q))) |
                 (uint64_t)(unsigned)_mm_movemask_epi8(special16(LOAD16(q + 16))) << 16 |
                 (uint64_t)(unsigned)_mm_movemask_epi8(special16(LOAD16(q + 32))) << 32 |
                 (uint64_t)(unsigned)_mm_movemask_epi8(special16(LOAD16(q + 48))) << 48;
    size_t from = 0, w = 0;
    while (m) {
        const unsigned i = CTZ64(m);
        copy64(dst + w, q + from);
        w += i - from;
        const char d = i < 63 && q[i] == '\\' ? esc_map[q[i + 1]] : 0;
        if (!d) {
            *out = w;
            return i;
        }
        dst[w++] = (uint8_t)d;
        from = i + 2;
        m &= m - 1;                    /* the backslash */
        m &= ~((uint64_t)1 << (i + 1)); /* the escaped byte, itself special for \\ and \" */
    }
    copy64(dst + w, q + from);
    *out = w + 64 - from;
    return 64;
}
#endif

#if defined(__SSE2__) && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SCAN_WIDE 1
#include <immintrin.h>

/* esc_block() for CPUs with AVX-512 VBMI2, where a block costs the same whatever
 * number of escapes it holds: which bytes are escaped comes from bit arithmetic on
 * the backslash mask, the escaped letters are mapped through esc_map in one
 * permute, and one compress drops the backslashes. An escape that begins in the
 * block's last byte is left to the caller; a block with anything else (the closing
 * quote, a control byte, \u, a bad escape) goes to esc_block(), which decodes up to
 * that byte. Same contract as esc_block(). */
__attribute__((target("avx512f,avx512bw,avx512vbmi,avx512vbmi2,popcnt"))) static size_t
esc_block_wide(const uint8_t *q, uint8_t *dst, size_t *out)
{
    const __m512i x = _mm512_loadu_si512((const void *)q);
    const uint64_t bs = _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8('\\'));
    const uint64_t quote = _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8('"'));
    const uint64_t ctl = _mm512_cmplt_epu8_mask(x, _mm512_set1_epi8(0x20));
    if (!(bs | quote | ctl)) {
        _mm512_storeu_si512((void *)dst, x);
        *out = 64;
        return 64;
    }
    /* A run of backslashes escapes its 2nd, 4th, ... byte and, if its length is
     * odd, the byte after it. The block starts outside an escape (the caller stops
     * at escape boundaries), so parity is counted from each run's first byte: adding
     * a run's first bit to the run clears a run that starts on an odd bit and
     * leaves one that starts on an even bit, and that flips which parity of the
     * bytes after a backslash counts as escaped. */
    const uint64_t even = 0x5555555555555555ull;
    const uint64_t after_bs = bs << 1;
    const uint64_t odd_run_starts = bs & ~even & ~after_bs;
    const uint64_t even_runs = (odd_run_starts + bs) & bs;
    const uint64_t escaped = (even ^ even_runs << 1) & after_bs;
    const uint64_t starts = bs & ~escaped; /* the backslashes that begin an escape */
    const __m512i dec = _mm512_permutex2var_epi8(_mm512_loadu_si512((const void *)esc_map), x,
                                                 _mm512_loadu_si512((const void *)(esc_map + 64)));
    const uint64_t bad = escaped & (_mm512_testn_epi8_mask(dec, dec) | _mm512_movepi8_mask(x));
    if ((quote & ~escaped) | ctl | bad)
        return esc_block(q, dst, out);
    const __m512i decoded = _mm512_mask_mov_epi8(x, escaped, dec);
    if (__builtin_expect(starts >> 63, 0)) {
        /* An escape that begins in the last byte ends in the next block: stop before
         * it. A branch, not a select: the common return stays the constant 64, so
         * the next block's load does not wait for this block's masks. */
        const uint64_t keep = ~starts & ~((uint64_t)1 << 63);
        _mm512_storeu_si512((void *)dst, _mm512_maskz_compress_epi8(keep, decoded));
        *out = (size_t)__builtin_popcountll(keep);
        return 63;
    }
    _mm512_storeu_si512((void *)dst, _mm512_maskz_compress_epi8(~starts, decoded));
    *out = (size_t)__builtin_popcountll(~starts);
    return 64;
}

static int wide_available(void)
{
    __builtin_cpu_init(); /* needed when called before constructors run */
    return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi") &&
           __builtin_cpu_supports("avx512vbmi2") && __builtin_cpu_supports("popcnt");
}
#else
static int wide_available(void) { return 0; }
#endif

static int emit(spill__scan *sc, spill__scan_cb cb, void *ud, spill__tok tok, uint64_t off,
                uint64_t end, const void *s, size_t n, int truncated)
{
    if (!cb)
        return 0;
    spill__scan_ev ev;
    ev.tok = tok;
    ev.depth = sc->depth;
    ev.off = off;
    ev.end = end;
    ev.s = s;
    ev.n = n;
    ev.truncated = truncated;
    return cb(ud, &ev);
}

static int flush(spill__scan *sc, spill__scan_cb cb, void *ud)
{
    const size_t n = sc->buf_len;
    sc->buf_len = 0;
    return n ? emit(sc, cb, ud, SPILL__TOK_STR_CHUNK, 0, 0, sc->buf, n, 0) : 0;
}

/* Appends decoded bytes (or a plain run, which decodes to itself) to the current
 * key or string value. A key is kept up to SPILL__SCAN_KEY_MAX and the rest only
 * noted; a value goes out in STR_CHUNK events of at most SPILL__SCAN_CHUNK bytes. */
static int str_out(spill__scan *sc, spill__scan_cb cb, void *ud, const uint8_t *p, size_t n)
{
    if (sc->in_key) {
        const size_t room = SPILL__SCAN_KEY_MAX - sc->buf_len;
        if (n > room) {
            n = room;
            sc->truncated = 1;
        }
        memcpy(sc->buf + sc->buf_len, p, n);
        sc->buf_len += n;
        return 0;
    }
    if (n <= SPILL__SCAN_CHUNK - sc->buf_len) {
        memcpy(sc->buf + sc->buf_len, p, n);
        sc->buf_len += n;
        return 0;
    }
    int r = flush(sc, cb, ud);
    /* Full-sized pieces of a long run need no copy: p stays valid during the
     * callback, which is all scan.h promises for s. */
    for (; !r && n >= SPILL__SCAN_CHUNK; p += SPILL__SCAN_CHUNK, n -= SPILL__SCAN_CHUNK)
        r = emit(sc, cb, ud, SPILL__TOK_STR_CHUNK, 0, 0, p, SPILL__SCAN_CHUNK, 0);
    if (r)
        return r;
    memcpy(sc->buf, p, n);
    sc->buf_len = n;
    return 0;
}

static int put_cp(spill__scan *sc, spill__scan_cb cb, void *ud, uint32_t cp)
{
    uint8_t u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (uint8_t)(0xc0 | cp >> 6);
        u[1] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (uint8_t)(0xe0 | cp >> 12);
        u[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        u[2] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (uint8_t)(0xf0 | cp >> 18);
        u[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
        u[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        u[3] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return str_out(sc, cb, ud, u, n);
}

/* A high surrogate waits in hi_surrogate for the \u that may complete it. Whatever
 * else comes next (a plain byte, another escape, the closing quote) turns it into
 * U+FFFD first, so the decoded bytes stay in text order. */
static int drop_hi(spill__scan *sc, spill__scan_cb cb, void *ud)
{
    if (!sc->hi_surrogate)
        return 0;
    sc->hi_surrogate = 0;
    return put_cp(sc, cb, ud, 0xfffd);
}

static int put_unit(spill__scan *sc, spill__scan_cb cb, void *ud, uint32_t u)
{
    const int low = u >= 0xdc00 && u <= 0xdfff;
    if (sc->hi_surrogate && low) {
        const uint32_t cp = 0x10000 + ((sc->hi_surrogate - 0xd800) << 10) + (u - 0xdc00);
        sc->hi_surrogate = 0;
        return put_cp(sc, cb, ud, cp);
    }
    const int r = drop_hi(sc, cb, ud);
    if (r)
        return r;
    if (u >= 0xd800 && u <= 0xdbff) {
        sc->hi_surrogate = u;
        return 0;
    }
    return put_cp(sc, cb, ud, low ? 0xfffd : u);
}

static int fail(spill__scan *sc, uint64_t off, uint64_t *err_off)
{
    sc->err = SPILL_E_JSON;
    sc->err_off = off;
    if (err_off)
        *err_off = off;
    return SPILL_E_JSON;
}

static int stop(spill__scan *sc, int r)
{
    sc->err = r;
    sc->stopped = 1;
    return r;
}

static int sticky(const spill__scan *sc, uint64_t *err_off)
{
    if (err_off && !sc->stopped)
        *err_off = sc->err_off;
    return sc->err;
}

static void value_done(spill__scan *sc) { sc->state = sc->depth ? S_AFTER : S_DONE; }

static int top_is_obj(const spill__scan *sc)
{
    const int l = sc->depth - 1;
    return sc->stack[l >> 3] >> (l & 7) & 1;
}

void spill__scan_init(spill__scan *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->wide = (int8_t)wide_available();
}

int spill__scan_wide_available(void) { return wide_available(); }

int spill__scan_feed(spill__scan *sc, const void *p, size_t n, spill__scan_cb cb, void *ud,
                     uint64_t *err_off)
{
    if (sc->err)
        return sticky(sc, err_off);
    if (n == 0) /* also keeps NULL + 0 out of the pointer arithmetic below */
        return sc->state == S_DONE;
    const uint8_t *const s0 = p, *q = s0, *const e = s0 + n;
    const uint64_t base = sc->pos;
    int r;
#define OFF(x) (base + (uint64_t)((x) - s0))
#define FAIL(x) return fail(sc, OFF(x), err_off)
#define TRY(call)                                                                      \
    do {                                                                               \
        if ((r = (call)) != 0)                                                         \
            return stop(sc, r);                                                        \
    } while (0)

    while (q < e) {
        unsigned c = *q;
        switch (sc->state) {
        case S_VALUE:
        case S_ARR_FIRST:
        case S_OBJ_FIRST:
        case S_KEY:
        case S_COLON:
        case S_AFTER:
        case S_DONE:
            while (is_ws(c))
                if (++q == e)
                    goto out;
                else
                    c = *q;
            break; /* the structural byte c at q is handled after the switch */

        case S_STR:
            if (sc->hi_surrogate && c != '\\')
                TRY(drop_hi(sc, cb, ud));
            for (;;) {
                const uint8_t *t;
                if (sc->buf_len && !sc->in_key) {
#if defined(__SSE2__)
                    while (e - q >= 128 && SPILL__SCAN_CHUNK - sc->buf_len >= 128 && !sc->hi_surrogate) {
                        size_t w, k;
#if defined(SCAN_WIDE)
                        if (sc->wide)
                            k = esc_block_wide(q, (uint8_t *)sc->buf + sc->buf_len, &w);
                        else
#endif
                            k = esc_block(q, (uint8_t *)sc->buf + sc->buf_len, &w);
                        q += k;
                        sc->buf_len += w;
                        if (k < 64)
                            break;
                    }
#endif
                    t = plain_copy(q, e, (uint8_t *)sc->buf + sc->buf_len,
                                   SPILL__SCAN_CHUNK - sc->buf_len);
                    sc->buf_len += (size_t)(t - q);
                    q = t;
                    if (sc->buf_len == SPILL__SCAN_CHUNK) {
                        TRY(flush(sc, cb, ud));
                        continue; /* buf was full, maybe mid-run */
                    }
                } else {
                    /* Keys, and value runs starting with nothing pending: a long run
                     * then goes out zero-copy. */
                    t = plain_end(q, e);
                    if (t != q)
                        TRY(str_out(sc, cb, ud, q, (size_t)(t - q)));
                    q = t;
                }
                if (q == e)
                    goto out;
                if (*q == '"') {
                    const uint64_t at = OFF(q);
                    q++;
                    if (sc->in_key) {
                        sc->state = S_COLON;
                        TRY(emit(sc, cb, ud, SPILL__TOK_KEY, sc->tok_off, at + 1, sc->buf,
                                 sc->buf_len, sc->truncated));
                    } else {
                        value_done(sc);
                        TRY(flush(sc, cb, ud));
                        TRY(emit(sc, cb, ud, SPILL__TOK_STR_END, at, at + 1, NULL, 0, 0));
                    }
                    break;
                }
                if (*q != '\\')
                    FAIL(q); /* raw control byte */
                if (++q == e) {
                    sc->state = S_ESC;
                    goto out;
                }
                /* The common escapes are decoded here without a trip through S_ESC,
                 * which only runs when a chunk ends right after the backslash. */
                if (*q == 'u') {
                    sc->state = S_HEX;
                    sc->sub = 0;
                    sc->uhex = 0;
                    q++;
                    break;
                }
                const char d = esc_map[*q];
                if (!d)
                    FAIL(q);
                q++;
                if (!sc->hi_surrogate && !sc->in_key && sc->buf_len < SPILL__SCAN_CHUNK) {
                    sc->buf[sc->buf_len++] = d;
                    continue;
                }
                TRY(drop_hi(sc, cb, ud));
                TRY(str_out(sc, cb, ud, (const uint8_t *)&d, 1));
            }
            continue;

        case S_ESC:
            if (c == 'u') {
                sc->state = S_HEX;
                sc->sub = 0;
                sc->uhex = 0;
            } else {
                const char d = esc_map[c];
                if (!d)
                    FAIL(q);
                sc->state = S_STR;
                TRY(drop_hi(sc, cb, ud));
                TRY(str_out(sc, cb, ud, (const uint8_t *)&d, 1));
            }
            q++;
            continue;

        case S_HEX:
            for (; sc->sub < 4; sc->sub++, q++) {
                if (q == e)
                    goto out;
                const int h = hex_val(*q);
                if (h < 0)
                    FAIL(q);
                sc->uhex = sc->uhex << 4 | (uint32_t)h;
            }
            sc->state = S_STR;
            TRY(put_unit(sc, cb, ud, sc->uhex));
            continue;

        case S_NUM:
            for (; q < e; q++) {
                const int nx = num_step(sc->sub, *q);
                if (nx == N_BAD)
                    FAIL(q);
                if (nx == N_END) {
                    /* The byte after the number is not consumed: it is rescanned as
                     * what follows a value. */
                    value_done(sc);
                    TRY(emit(sc, cb, ud, SPILL__TOK_NUMBER, sc->tok_off, OFF(q), sc->buf,
                             sc->buf_len, sc->truncated));
                    break;
                }
                sc->sub = nx;
                if (sc->buf_len < SPILL__SCAN_NUM_MAX)
                    sc->buf[sc->buf_len++] = (char)*q;
                else
                    sc->truncated = 1;
            }
            continue;

        default: /* S_LIT */
            for (; sc->sub < lit_len[sc->lit]; sc->sub++, q++) {
                if (q == e)
                    goto out;
                if (*q != (uint8_t)lit_text[sc->lit][sc->sub])
                    FAIL(q);
            }
            value_done(sc);
            TRY(emit(sc, cb, ud, lit_tok[sc->lit], sc->tok_off, OFF(q), NULL, 0, 0));
            continue;
        }

        /* A structural state with a non-whitespace byte c at q. */
        const uint64_t at = OFF(q);
        switch (sc->state) {
        case S_COLON:
            if (c != ':')
                FAIL(q);
            sc->state = S_VALUE;
            q++;
            continue;
        case S_AFTER:
            if (c == ',') {
                sc->state = top_is_obj(sc) ? S_KEY : S_VALUE;
                q++;
                continue;
            }
            if (c != (top_is_obj(sc) ? '}' : ']'))
                FAIL(q);
            goto close;
        case S_OBJ_FIRST:
            if (c == '}')
                goto close;
            /* fall through */
        case S_KEY:
            if (c != '"')
                FAIL(q);
            sc->state = S_STR;
            sc->in_key = 1;
            sc->truncated = 0;
            sc->buf_len = 0;
            sc->tok_off = at;
            q++;
            continue;
        case S_DONE:
            FAIL(q); /* trailing garbage */
        case S_ARR_FIRST:
            if (c == ']')
                goto close;
            break;
        default:
            break;
        }

        /* S_VALUE or S_ARR_FIRST: a value starts at q. */
        q++;
        switch (c) {
        case '{':
        case '[': {
            if (sc->depth == SPILL__SCAN_MAX_DEPTH)
                FAIL(q - 1);
            const int l = sc->depth, obj = c == '{';
            sc->stack[l >> 3] = (uint8_t)((sc->stack[l >> 3] & ~(1u << (l & 7))) |
                                          (unsigned)obj << (l & 7));
            sc->state = obj ? S_OBJ_FIRST : S_ARR_FIRST;
            TRY(emit(sc, cb, ud, obj ? SPILL__TOK_OBJ_BEGIN : SPILL__TOK_ARR_BEGIN, at, at + 1,
                     NULL, 0, 0));
            sc->depth++;
            continue;
        }
        case '"':
            sc->state = S_STR;
            sc->in_key = 0;
            sc->buf_len = 0;
            sc->tok_off = at;
            TRY(emit(sc, cb, ud, SPILL__TOK_STR_BEGIN, at, at + 1, NULL, 0, 0));
            continue;
        case 't':
        case 'f':
        case 'n':
            sc->state = S_LIT;
            sc->lit = c == 't' ? 0 : c == 'f' ? 1 : 2;
            sc->sub = 1;
            sc->tok_off = at;
            continue;
        default:
            if (c != '-' && !is_digit(c))
                FAIL(q - 1);
            sc->state = S_NUM;
            sc->sub = c == '-' ? N_MINUS : c == '0' ? N_ZERO : N_INT;
            sc->buf[0] = (char)c;
            sc->buf_len = 1;
            sc->truncated = 0;
            sc->tok_off = at;
            continue;
        }

    close:
        /* c at q closes the innermost container, whose kind the caller checked. */
        q++;
        sc->depth--;
        value_done(sc);
        TRY(emit(sc, cb, ud, c == '}' ? SPILL__TOK_OBJ_END : SPILL__TOK_ARR_END, at, at + 1,
                 NULL, 0, 0));
    }
out:
    sc->pos = base + n;
    return sc->state == S_DONE;
#undef OFF
#undef FAIL
#undef TRY
}

int spill__scan_finish(spill__scan *sc, spill__scan_cb cb, void *ud, uint64_t *err_off)
{
    if (sc->err)
        return sticky(sc, err_off);
    /* Only a number has no closing byte of its own; inside a container the closing
     * bracket is missing anyway. */
    if (sc->state == S_NUM && sc->depth == 0 && num_accepts(sc->sub)) {
        sc->state = S_DONE;
        const int r = emit(sc, cb, ud, SPILL__TOK_NUMBER, sc->tok_off, sc->pos, sc->buf,
                           sc->buf_len, sc->truncated);
        if (r)
            return stop(sc, r);
    }
    if (sc->state == S_DONE)
        return 1;
    return fail(sc, sc->pos, err_off);
}
