/* Unit tests of the incremental JSON scanner: every token, offsets, escapes and
 * surrogates cut at every position, the caps, errors and their offsets, callback
 * stops, chunking invariance over generated documents (checked against the events
 * the generator expects), JSONTestSuite, and a throughput figure.
 *
 * Every run feeds each chunk from the end of a buffer followed by a PROT_NONE page,
 * so a read past the chunk faults at once (picohttpparser's guard page). */
#include "../harness.h"

#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "scan.h"
#include "spill.h"

/* ---- growable bytes, the event log -------------------------------------------- */

typedef struct bytes {
    char *p;
    size_t n, cap;
} bytes;

static void b_add(bytes *b, const void *p, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->n + n + 1 > cap)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            abort();
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void b_str(bytes *b, const char *s) { b_add(b, s, strlen(s)); }
static void b_free(bytes *b) { free(b->p); memset(b, 0, sizeof *b); }
static int b_eq(const bytes *a, const bytes *b) { return a->n == b->n && (!a->n || !memcmp(a->p, b->p, a->n)); }

/* One record per event; the STR_CHUNKs of a string are concatenated into one record
 * written just before its STR_END, so logs compare equal across chunkings. */
static void rec(bytes *b, int tok, int depth, uint64_t off, uint64_t end, const void *s, size_t n,
                int trunc)
{
    char h[96];
    snprintf(h, sizeof h, "%d %d %" PRIu64 " %" PRIu64 " %d %zu:", tok, depth, off, end, trunc, n);
    b_str(b, h);
    b_add(b, s, n);
    b_add(b, "\n", 1);
}

typedef struct lg {
    bytes out, str;
    int str_depth;
    long nev, stop_at; /* stop_at > 0: return SPILL_E_ABORTED from that event on */
    const char *bad;   /* first broken event invariant */
    const char *lo, *hi; /* the buffer fed from, to count zero-copy chunks */
    long zero_copy, chunks;
} lg;

static int log_cb(void *ud, const spill__scan_ev *ev)
{
    lg *l = ud;
    l->nev++;
    switch (ev->tok) {
    case SPILL__TOK_STR_BEGIN:
        l->str.n = 0;
        l->str_depth = ev->depth;
        break;
    case SPILL__TOK_STR_CHUNK:
        if (ev->n < 1 || ev->n > SPILL__SCAN_CHUNK)
            l->bad = "STR_CHUNK size out of 1..SPILL__SCAN_CHUNK";
        if (ev->off || ev->end || ev->truncated || ev->depth != l->str_depth)
            l->bad = "STR_CHUNK off/end/truncated/depth";
        if (ev->s >= l->lo && ev->s < l->hi)
            l->zero_copy++;
        l->chunks++;
        b_add(&l->str, ev->s, ev->n);
        goto out;
    case SPILL__TOK_STR_END:
        if (ev->depth != l->str_depth)
            l->bad = "STR_END depth";
        rec(&l->out, SPILL__TOK_STR_CHUNK, ev->depth, 0, 0, l->str.p, l->str.n, 0);
        break;
    case SPILL__TOK_KEY:
        if (ev->n > SPILL__SCAN_KEY_MAX)
            l->bad = "KEY longer than SPILL__SCAN_KEY_MAX";
        break;
    case SPILL__TOK_NUMBER:
        if (ev->n > SPILL__SCAN_NUM_MAX || ev->n == 0)
            l->bad = "NUMBER size";
        break;
    default:
        break;
    }
    if (ev->end <= ev->off)
        l->bad = "end <= off";
    rec(&l->out, ev->tok, ev->depth, ev->off, ev->end, ev->s, ev->n, ev->truncated);
out:
    return l->stop_at && l->nev >= l->stop_at ? SPILL_E_ABORTED : 0;
}

static void lg_free(lg *l) { b_free(&l->out); b_free(&l->str); }

/* ---- runs under a guard page ---------------------------------------------------- */

enum { GUARD_DATA = 16 << 20 };
static char *guard_lo, *guard_hi; /* [guard_lo, guard_hi) is readable; guard_hi is not */

static void guard_setup(void)
{
    const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, GUARD_DATA + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || mprotect(m + GUARD_DATA, pg, PROT_NONE) != 0)
        abort();
    guard_lo = m;
    guard_hi = m + GUARD_DATA;
}

/* Feeds t[0..n) cut at cuts[0..ncuts) (ascending, inside (0, n)), then finishes.
 * Returns the first error/stop or finish's result. */
static int narrow; /* set: runs use the generic string decoder even where AVX-512 is */

static int run(const void *t, size_t n, const size_t *cuts, size_t ncuts, lg *l, uint64_t *eo)
{
    spill__scan sc;
    spill__scan_init(&sc);
    if (narrow)
        sc.wide = 0;
    l->lo = guard_lo;
    l->hi = guard_hi;
    size_t at = 0;
    int complete = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        const size_t to = i < ncuts ? cuts[i] : n, k = to - at;
        const char *p = (const char *)t + at;
        if (k <= GUARD_DATA) {
            memcpy(guard_hi - k, p, k);
            p = guard_hi - k;
        }
        const int r = spill__scan_feed(&sc, k ? p : NULL, k, log_cb, l, eo);
        if (r < 0)
            return r;
        if (complete && r != 1)
            return 99; /* once complete, a value stays complete */
        complete = r == 1;
        at = to;
    }
    const int r = spill__scan_finish(&sc, log_cb, l, eo);
    return complete && r != 1 ? 98 : r;
}

static size_t *cuts_bytewise(size_t n, size_t *nc)
{
    size_t *c = malloc((n ? n : 1) * sizeof *c);
    *nc = n ? n - 1 : 0;
    for (size_t i = 0; i + 1 < n; i++)
        c[i] = i + 1;
    return c;
}

/* Mostly small pieces (where the state machine is cut inside tokens), some large. */
static size_t *cuts_random(size_t n, size_t *nc)
{
    size_t *c = malloc((n ? n : 1) * sizeof *c), k = 0, at = 0;
    for (;;) {
        at += h_below(4) ? 1 + h_below(17) : 1 + h_below(5000);
        if (at >= n)
            break;
        c[k++] = at;
    }
    *nc = k;
    return c;
}

static char msg[4096];

static void show(bytes *o, const char *p, size_t n)
{
    for (size_t i = 0; i < n && o->n < 300; i++) {
        char e[8];
        const unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            snprintf(e, sizeof e, "%c", c);
        else
            snprintf(e, sizeof e, "\\x%02x", c);
        b_str(o, e);
    }
}

/* Where two logs first differ, for the failure message. */
static const char *diff(const char *what, const bytes *want, const bytes *got)
{
    size_t i = 0;
    while (i < want->n && i < got->n && want->p[i] == got->p[i])
        i++;
    size_t s = i;
    while (s > 0 && want->p[s - 1] != '\n')
        s--;
    bytes o = {0};
    b_str(&o, "want [");
    show(&o, want->p + s, want->n - s < 120 ? want->n - s : 120);
    b_str(&o, "] got [");
    show(&o, got->p + s, got->n - s < 120 ? got->n - s : 120);
    b_str(&o, "]");
    snprintf(msg, sizeof msg, "%s: logs differ at byte %zu: %s", what, i, o.p);
    b_free(&o);
    return msg;
}

/* Runs t whole, byte by byte, at `nrand` random splits, and (when `every` and t is
 * short) at every one and two cut positions. Each run must give want_log (or, if
 * NULL, the whole run's log), want_r and, on SPILL_E_JSON, want_off. want_r == 0
 * means "whatever the whole run gives". Returns NULL or a message. */
static const char *check(const void *t, size_t n, const bytes *want_log, int want_r,
                         uint64_t want_off, int nrand, int every, int *verdict)
{
    lg ref = {0};
    uint64_t ref_off = UINT64_MAX;
    const int ref_r = run(t, n, NULL, 0, &ref, &ref_off);
    const char *m = NULL;
    if (verdict)
        *verdict = ref_r;
    if (ref.bad) {
        snprintf(msg, sizeof msg, "whole: %s", ref.bad);
        m = msg;
    } else if (want_r && (ref_r != want_r || (want_r == SPILL_E_JSON && ref_off != want_off))) {
        snprintf(msg, sizeof msg, "whole: returned %d at %" PRIu64 ", expected %d at %" PRIu64,
                 ref_r, ref_off, want_r, want_off);
        m = msg;
    } else if (want_log && !b_eq(&ref.out, want_log))
        m = diff("whole", want_log, &ref.out);
    const size_t pairs = every && n <= 40 ? (n + 1) * (n + 1) : every && n <= 400 ? n + 1 : 0;
    const long runs = 2 + nrand + (long)pairs;
    for (long k = 1; !m && k < runs; k++) {
        size_t nc = 0, two[2], *c = two;
        char what[64];
        if (k == 1) {
            c = cuts_bytewise(n, &nc);
            snprintf(what, sizeof what, "byte by byte");
        } else if (k < 2 + nrand) {
            c = cuts_random(n, &nc);
            snprintf(what, sizeof what, "random split %ld", k - 1);
        } else {
            /* Cuts at i and j (a cut at 0 or n is an empty feed, also worth a try). */
            const size_t q = (size_t)(k - 2 - nrand), i = n <= 40 ? q / (n + 1) : q,
                         j = n <= 40 ? q % (n + 1) : q;
            if (j < i)
                continue;
            two[0] = i;
            two[1] = j;
            nc = 2;
            snprintf(what, sizeof what, "cut at %zu and %zu", i, j);
        }
        lg l = {0};
        uint64_t off = UINT64_MAX;
        const int r = run(t, n, c, nc, &l, &off);
        if (c != two)
            free(c);
        if (l.bad) {
            snprintf(msg, sizeof msg, "%s: %s", what, l.bad);
            m = msg;
        } else if (r != ref_r || off != ref_off) {
            snprintf(msg, sizeof msg, "%s: returned %d at %" PRIu64 ", whole gave %d at %" PRIu64,
                     what, r, off, ref_r, ref_off);
            m = msg;
        } else if (!b_eq(&l.out, &ref.out))
            m = diff(what, &ref.out, &l.out);
        lg_free(&l);
    }
    lg_free(&ref);
    return m;
}

#define CHECK(call)                                                                    \
    do {                                                                               \
        const char *_m = (call);                                                       \
        if (_m)                                                                        \
            FAILF("%s", _m);                                                           \
    } while (0)

/* Expected-event shorthands for the hand-written cases. */
#define T(tok) SPILL__TOK_##tok
#define R(tok, d, off, end) rec(&want, SPILL__TOK_##tok, d, off, end, NULL, 0, 0)
#define RS(tok, d, off, end, s) rec(&want, SPILL__TOK_##tok, d, off, end, s, sizeof(s) - 1, 0)
/* A string value: its BEGIN, the concatenated decoded bytes, its END. */
#define RSTR(d, off, end, s)                                                           \
    do {                                                                               \
        R(STR_BEGIN, d, off, (off) + 1);                                               \
        rec(&want, T(STR_CHUNK), d, 0, 0, s, sizeof(s) - 1, 0);                        \
        R(STR_END, d, (end) - 1, end);                                                 \
    } while (0)
#define TXT(s) s, sizeof(s) - 1

/* ---- hand-written cases ------------------------------------------------------------ */

static void every_token(void)
{
    bytes want = {0};
    /*            0123456789012345678901234567890123456789012345 */
    const char t[] = "{\"a\":[1,-2.5e+3,true,false,null,\"x\"],\"b\":{}}";
    R(OBJ_BEGIN, 0, 0, 1);
    RS(KEY, 1, 1, 4, "a");
    R(ARR_BEGIN, 1, 5, 6);
    RS(NUMBER, 2, 6, 7, "1");
    RS(NUMBER, 2, 8, 15, "-2.5e+3");
    R(TRUE, 2, 16, 20);
    R(FALSE, 2, 21, 26);
    R(NULL, 2, 27, 31);
    RSTR(2, 32, 35, "x");
    R(ARR_END, 1, 35, 36);
    RS(KEY, 1, 37, 40, "b");
    R(OBJ_BEGIN, 1, 41, 42);
    R(OBJ_END, 1, 42, 43);
    R(OBJ_END, 0, 43, 44);
    CHECK(check(t, sizeof t - 1, &want, 1, 0, 20, 1, NULL));
    b_free(&want);
}

static void top_level_scalars(void)
{
    bytes want = {0};
    RS(NUMBER, 0, 2, 6, "-0.5");
    CHECK(check(TXT(" \t-0.5\r\n"), &want, 1, 0, 5, 1, NULL));
    want.n = 0;
    RS(NUMBER, 0, 0, 3, "1E9"); /* completed by finish */
    CHECK(check(TXT("1E9"), &want, 1, 0, 5, 1, NULL));
    want.n = 0;
    RS(NUMBER, 0, 0, 1, "0");
    CHECK(check(TXT("0"), &want, 1, 0, 5, 1, NULL));
    want.n = 0;
    R(NULL, 0, 1, 5);
    CHECK(check(TXT(" null "), &want, 1, 0, 5, 1, NULL));
    want.n = 0;
    RSTR(0, 0, 2, "");
    CHECK(check(TXT("\"\""), &want, 1, 0, 5, 1, NULL));
    want.n = 0;
    R(ARR_BEGIN, 0, 0, 1);
    R(ARR_END, 0, 1, 2);
    CHECK(check(TXT("[]"), &want, 1, 0, 5, 1, NULL));
    b_free(&want);
}

static void nesting_and_depth(void)
{
    bytes want = {0};
    const char t[] = "[{\"k\":[[]]},[]]";
    R(ARR_BEGIN, 0, 0, 1);
    R(OBJ_BEGIN, 1, 1, 2);
    RS(KEY, 2, 2, 5, "k");
    R(ARR_BEGIN, 2, 6, 7);
    R(ARR_BEGIN, 3, 7, 8);
    R(ARR_END, 3, 8, 9);
    R(ARR_END, 2, 9, 10);
    R(OBJ_END, 1, 10, 11);
    R(ARR_BEGIN, 1, 12, 13);
    R(ARR_END, 1, 13, 14);
    R(ARR_END, 0, 14, 15);
    CHECK(check(t, sizeof t - 1, &want, 1, 0, 20, 1, NULL));
    b_free(&want);
}

static void escapes_and_surrogates(void)
{
    static const struct {
        const char *in, *out;
    } c[] = {
        {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t"},
        {"\"a\\u00e9b\\u20AC\"", "a\xc3\xa9" "b\xe2\x82\xac"},
        {"\"\\u0000\\u007f\\u0080\\u07FF\\u0800\\uffff\"",
         "\0\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"},
        {"\"\\uD83D\\uDE00\"", "\xf0\x9f\x98\x80"},
        {"\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf"},
        {"\"\\uD800\"", "\xef\xbf\xbd"},
        {"\"\\uD800x\"", "\xef\xbf\xbdx"},
        {"\"\\uD800\\n\"", "\xef\xbf\xbd\n"},
        {"\"\\uD800\\u0041\"", "\xef\xbf\xbd" "A"},
        {"\"\\uDC00\"", "\xef\xbf\xbd"},
        {"\"\\uDC00\\uD800\"", "\xef\xbf\xbd\xef\xbf\xbd"},
        {"\"\\uD800\\uD83D\\uDE00!\"", "\xef\xbf\xbd\xf0\x9f\x98\x80!"},
        {"\"\xc3\xa9\xff\x80 raw\"", "\xc3\xa9\xff\x80 raw"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        const size_t n = strlen(c[i].in), m = i == 2 ? 12 : strlen(c[i].out);
        bytes want = {0};
        R(STR_BEGIN, 0, 0, 1);
        rec(&want, T(STR_CHUNK), 0, 0, 0, c[i].out, m, 0);
        R(STR_END, 0, n - 1, n);
        CHECK(check(c[i].in, n, &want, 1, 0, 10, 1, NULL));
        /* The same as a key, inside an object. */
        bytes t = {0}, wk = {0};
        b_str(&t, "{");
        b_str(&t, c[i].in);
        b_str(&t, ":0}");
        rec(&wk, T(OBJ_BEGIN), 0, 0, 1, NULL, 0, 0);
        rec(&wk, T(KEY), 1, 1, n + 1, c[i].out, m, 0);
        rec(&wk, T(NUMBER), 1, n + 2, n + 3, "0", 1, 0);
        rec(&wk, T(OBJ_END), 0, n + 3, n + 4, NULL, 0, 0);
        CHECK(check(t.p, t.n, &wk, 1, 0, 10, 1, NULL));
        b_free(&want);
        b_free(&wk);
        b_free(&t);
    }
}

static void key_cap(void)
{
    for (size_t len = SPILL__SCAN_KEY_MAX - 2; len <= SPILL__SCAN_KEY_MAX + 40; len++) {
        bytes t = {0}, k = {0}, want = {0};
        for (size_t i = 0; i < len; i++)
            b_add(&k, &"abcdefghij"[i % 10], 1);
        b_str(&t, "{\"");
        b_add(&t, k.p, k.n);
        b_str(&t, "\\u00e9\":1}"); /* a 2-byte escape right at the cap */
        b_add(&k, "\xc3\xa9", 2);
        const size_t kn = k.n < SPILL__SCAN_KEY_MAX ? k.n : SPILL__SCAN_KEY_MAX;
        R(OBJ_BEGIN, 0, 0, 1);
        rec(&want, T(KEY), 1, 1, len + 9, k.p, kn, k.n > SPILL__SCAN_KEY_MAX);
        RS(NUMBER, 1, len + 10, len + 11, "1");
        R(OBJ_END, 0, len + 11, len + 12);
        CHECK(check(t.p, t.n, &want, 1, 0, 3, 0, NULL));
        b_free(&t);
        b_free(&k);
        b_free(&want);
    }
}

static void number_cap(void)
{
    for (size_t len = SPILL__SCAN_NUM_MAX - 2; len <= SPILL__SCAN_NUM_MAX + 100; len += 3) {
        bytes t = {0}, want = {0};
        b_str(&t, "[-1");
        while (t.n < len)
            b_add(&t, "7", 1);
        b_str(&t, "e+5]");
        const size_t nl = t.n - 2;
        R(ARR_BEGIN, 0, 0, 1);
        rec(&want, T(NUMBER), 1, 1, 1 + nl, t.p + 1, nl < SPILL__SCAN_NUM_MAX ? nl : SPILL__SCAN_NUM_MAX,
            nl > SPILL__SCAN_NUM_MAX);
        R(ARR_END, 0, 1 + nl, 2 + nl);
        CHECK(check(t.p, t.n, &want, 1, 0, 3, 0, NULL));
        b_free(&t);
        b_free(&want);
    }
}

static void depth_cap(void)
{
    for (int obj = 0; obj < 2; obj++)
        for (int d = SPILL__SCAN_MAX_DEPTH - 1; d <= SPILL__SCAN_MAX_DEPTH + 1; d++) {
            bytes t = {0};
            for (int i = 0; i < d; i++)
                b_str(&t, obj ? "{\"k\":" : "[");
            b_str(&t, "0");
            for (int i = 0; i < d; i++)
                b_str(&t, obj ? "}" : "]");
            const uint64_t bad = (uint64_t)SPILL__SCAN_MAX_DEPTH * (obj ? 5 : 1);
            int v;
            CHECK(check(t.p, t.n, NULL, d <= SPILL__SCAN_MAX_DEPTH ? 1 : SPILL_E_JSON, bad, 2, 0, &v));
            b_free(&t);
        }
}

static void errors_and_offsets(void)
{
    static const struct {
        const char *t;
        uint64_t off;
    } c[] = {
        {"", 0}, {"  ", 2}, {"[1,]", 3}, {"{\"a\" 1}", 5}, {"tru", 3}, {"trUe", 2},
        {"nulx", 3}, {"[\"a\x01\"]", 3}, {"\"\\x\"", 2}, {"\"\\u12G4\"", 5}, {"01", 1},
        {"-", 1}, {"-a", 1}, {"1.", 2}, {"1.e5", 2}, {"1e", 2}, {"1e+", 3}, {"[1 2]", 3},
        {"{\"a\":1,}", 7}, {"[}", 1}, {"{]", 1}, {"[1}", 2}, {"{\"a\":1]", 6}, {"+1", 0},
        {".5", 0}, {"[-]", 2}, {"\xef\xbb\xbf{}", 0}, {"{}x", 2}, {"1 2", 2}, {"\"abc", 4},
        {"[", 1}, {"{\"a\"", 4}, {"\"\\", 2}, {"\"\\u00", 5}, {"[\f]", 1}, {"[1,2", 4},
        {"{\"a\":1 \"b\":2}", 7}, {"{} {}", 3}, {"[]]", 2}, {"\"a\"\"b\"", 3}, {"{,}", 1},
        {"[,1]", 1}, {"{\"a\":}", 5}, {"{1:2}", 1}, {"[\"\t\"]", 2}, {"'a'", 0}, {"[1,,2]", 3},
        {"\"\\uD800\\u\"", 9}, {"-01", 2}, {"0x1", 1}, {"Infinity", 0}, {"[NaN]", 1},
        {"{\"a\":1}}", 7}, {"\"\x7f\x1f\"", 2}, {"[\"a\\\xc3\xa9\"]", 4},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        const char *m = check(c[i].t, strlen(c[i].t), NULL, SPILL_E_JSON, c[i].off, 5, 1, NULL);
        if (m)
            FAILF("'%s': %s", c[i].t, m);
    }
    CHECK(check("1\0", 2, NULL, SPILL_E_JSON, 1, 5, 1, NULL));
}

static void feed_results_and_sticky(void)
{
    spill__scan sc;
    uint64_t off = 77;
    spill__scan_init(&sc);
    ASSERT_EQ(spill__scan_feed(&sc, NULL, 0, NULL, NULL, &off), 0);
    ASSERT_EQ(spill__scan_feed(&sc, "[1", 2, NULL, NULL, &off), 0);
    ASSERT_EQ(spill__scan_feed(&sc, "]", 1, NULL, NULL, &off), 1);
    ASSERT_EQ(spill__scan_feed(&sc, " \n", 2, NULL, NULL, &off), 1);
    ASSERT_EQ(spill__scan_feed(&sc, NULL, 0, NULL, NULL, &off), 1);
    ASSERT_EQ(spill__scan_finish(&sc, NULL, NULL, &off), 1);
    ASSERT_EQ(spill__scan_finish(&sc, NULL, NULL, &off), 1);
    ASSERT_EQ(off, 77);
    ASSERT_EQ(spill__scan_feed(&sc, " x", 2, NULL, NULL, &off), SPILL_E_JSON);
    ASSERT_EQ(off, 6);
    off = 0;
    ASSERT_EQ(spill__scan_feed(&sc, "[]", 2, NULL, NULL, &off), SPILL_E_JSON); /* sticky */
    ASSERT_EQ(off, 6);
    off = 0;
    ASSERT_EQ(spill__scan_finish(&sc, NULL, NULL, &off), SPILL_E_JSON);
    ASSERT_EQ(off, 6);
    ASSERT_EQ(spill__scan_feed(&sc, "[]", 2, NULL, NULL, NULL), SPILL_E_JSON);

    spill__scan_init(&sc);
    ASSERT_EQ(spill__scan_feed(&sc, "12", 2, NULL, NULL, NULL), 0); /* a number may go on */
    ASSERT_EQ(spill__scan_feed(&sc, "3 ", 2, NULL, NULL, NULL), 1);
    memset(&sc, 0, sizeof sc); /* zero-filled is valid too */
    ASSERT_EQ(spill__scan_feed(&sc, "[", 1, NULL, NULL, NULL), 0);
    ASSERT_EQ(spill__scan_finish(&sc, NULL, NULL, &off), SPILL_E_JSON);
    ASSERT_EQ(off, 1);

    /* Copying the struct copies the scan: both copies finish the same way. */
    lg a = {0}, b = {0};
    spill__scan_init(&sc);
    ASSERT_EQ(spill__scan_feed(&sc, "{\"key\":\"val\\u00", 15, log_cb, &a, NULL), 0);
    spill__scan copy = sc;
    ASSERT_EQ(spill__scan_feed(&sc, "e9\",\"n\":12", 10, log_cb, &a, NULL), 0);
    ASSERT_EQ(spill__scan_feed(&copy, "e9\",\"n\":12", 10, log_cb, &b, NULL), 0);
    ASSERT_EQ(spill__scan_feed(&sc, "}", 1, log_cb, &a, NULL), 1);
    ASSERT_EQ(spill__scan_feed(&copy, "}", 1, log_cb, &b, NULL), 1);
    ASSERT(b.out.n > 0 && a.out.n > b.out.n);
    ASSERT(memcmp(a.out.p + a.out.n - b.out.n, b.out.p, b.out.n) == 0);
    lg_free(&a);
    lg_free(&b);
}

static void callback_stop(void)
{
    const char t[] = "{\"a\":[1,\"xyz\",{\"b\":null}],\"c\":\"" /* then a long string */;
    bytes doc = {0};
    b_str(&doc, t);
    for (int i = 0; i < 3000; i++)
        b_add(&doc, &"0123456789\\n"[i % 12], 1);
    b_str(&doc, "\"} ");
    lg all = {0};
    ASSERT_EQ(run(doc.p, doc.n, NULL, 0, &all, NULL), 1);
    for (long k = 1; k <= all.nev; k++)
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            size_t nc = 0, *c = bytewise ? cuts_bytewise(doc.n, &nc) : NULL;
            lg l = {0};
            l.stop_at = k;
            uint64_t off = 12345;
            const int r = run(doc.p, doc.n, c, nc, &l, &off);
            free(c);
            const long seen = l.nev;
            lg_free(&l);
            if (r != SPILL_E_ABORTED || seen != k || off != 12345)
                FAILF("stop at event %ld (%s): returned %d after %ld events, off %" PRIu64, k,
                      bytewise ? "bytewise" : "whole", r, seen, off);
        }
    lg_free(&all);

    /* A stop is sticky and calls nothing; a stop in finish too. */
    spill__scan sc;
    spill__scan_init(&sc);
    lg l = {0};
    l.stop_at = 1;
    ASSERT_EQ(spill__scan_feed(&sc, "42", 2, log_cb, &l, NULL), 0);
    ASSERT_EQ(spill__scan_finish(&sc, log_cb, &l, NULL), SPILL_E_ABORTED);
    ASSERT_EQ(l.nev, 1);
    ASSERT_EQ(spill__scan_feed(&sc, " ", 1, log_cb, &l, NULL), SPILL_E_ABORTED);
    ASSERT_EQ(spill__scan_finish(&sc, log_cb, &l, NULL), SPILL_E_ABORTED);
    ASSERT_EQ(l.nev, 1);
    lg_free(&l);
    b_free(&doc);
}

/* A long string arrives in chunks of at most SPILL__SCAN_CHUNK, plain runs straight
 * from the input, whatever the escape density. */
static void big_strings(void)
{
    /* kind 0: plain; 1: rare escapes; 2: dense \n and \u; 3: every escape at every
     * offset, runs of backslashes among them (the 64-byte block decoder's cases). */
    static const char *const esc_in[] = {"\\n", "\\\"", "\\\\", "\\/", "\\t", "\\r", "\\b", "\\f", "\\u00e9", "\\ud83d\\ude00"};
    static const char *const esc_out[] = {"\n", "\"", "\\", "/", "\t", "\r", "\b", "\f", "\xc3\xa9", "\xf0\x9f\x98\x80"};
    for (int kind = 0; kind < 4; kind++) {
        bytes t = {0}, dec = {0}, want = {0};
        b_str(&t, "[\"");
        for (size_t i = 0; t.n < 300000; i++) {
            const int esc = kind == 0 ? 0 : kind == 1 ? h_below(200) == 0 : h_below(3) == 0;
            if (esc && kind == 3) {
                const size_t k = h_below(8) ? h_below(8) : h_below(10);
                b_str(&t, esc_in[k]);
                b_str(&dec, esc_out[k]);
            } else if (!esc) {
                const char ch = (char)(0x23 + h_below(0x5b - 0x23 + 1)); /* no '"' or '\\' */
                b_add(&t, &ch, 1);
                b_add(&dec, &ch, 1);
            } else if (h_below(2)) {
                b_str(&t, "\\n");
                b_str(&dec, "\n");
            } else {
                b_str(&t, "\\u00e9");
                b_str(&dec, "\xc3\xa9");
            }
        }
        b_str(&t, "\"]");
        R(ARR_BEGIN, 0, 0, 1);
        R(STR_BEGIN, 1, 1, 2);
        rec(&want, T(STR_CHUNK), 1, 0, 0, dec.p, dec.n, 0);
        R(STR_END, 1, t.n - 2, t.n - 1);
        R(ARR_END, 0, t.n - 1, t.n);
        CHECK(check(t.p, t.n, &want, 1, 0, 3, 0, NULL));
        lg l = {0};
        ASSERT_EQ(run(t.p, t.n, NULL, 0, &l, NULL), 1);
        if (kind == 0) /* all but the tail come zero-copy, in full chunks */
            ASSERT(l.zero_copy >= (long)(dec.n / SPILL__SCAN_CHUNK) && l.chunks <= l.zero_copy + 1);
        else /* escapes do not break the output into tiny events */
            ASSERT(l.chunks <= (long)(dec.n / (SPILL__SCAN_CHUNK / 2)) + 2);
        lg_free(&l);
        b_free(&t);
        b_free(&dec);
        b_free(&want);
    }
}

/* The AVX-512 string decoder against the generic one (skipped loudly on a CPU
 * without it): strings dense in everything a 64-byte block can hold (backslash runs
 * of every length at every offset, each escape letter, bad escapes, \u, quotes that
 * end the string early, control and high bytes) must give the same events, results
 * and error offsets, whole and cut at random. */
static void wide_decoder(void)
{
    /* \xa2 and \xee are \" and \n with the high bit set. */
    static const char letters[] = "\"\\/bfnrtu\"\\nnnxX0 \x01\x80\xa2\xee";
    const int docs = h_light() ? 300 : 3000;
    long errors = 0;
    for (int d = 0; d < docs; d++) {
        bytes t = {0};
        b_str(&t, "[\"");
        const size_t len = 200 + h_below(3000);
        const int density = 2 + (int)h_below(30); /* one special per `density` bytes */
        while (t.n < len) {
            if (h_below((uint64_t)density)) {
                const char ch = (char)(h_below(8) ? 0x23 + h_below(0x5b - 0x23 + 1) : 0x5d + h_below(0x7f - 0x5d));
                b_add(&t, &ch, 1);
                continue;
            }
            const uint64_t k = h_below(100);
            if (k < 70) { /* a run of backslashes and the byte after it */
                const size_t run_len = h_below(4) ? 1 : 1 + h_below(9);
                for (size_t i = 0; i < run_len; i++)
                    b_str(&t, "\\");
                const int odd = d % 2 && h_below(300) == 0; /* a bad escape, in half the documents */
                char ch = (char)(odd ? letters[h_below(sizeof letters - 1)] : "\"\\/bfnrtu"[h_below(9)]);
                if ((ch == '"' || ch == '\\') && run_len % 2 == 0 && !odd)
                    ch = 'n'; /* not escaped: a quote would end the string, a backslash escape what follows */
                b_add(&t, &ch, 1);
                if (ch == 'u' && (!odd || h_below(2)))
                    b_str(&t, h_below(2) ? "00e9" : "d83d\\ude00");
            } else if (k < 80) {
                const char hi = (char)(0x80 + h_below(0x80));
                b_add(&t, &hi, 1);
            } else if (k < 81 && d % 4 == 1 && h_below(10) == 0) {
                b_str(&t, "\""); /* the string ends: what follows is an error or more JSON */
                if (h_below(2))
                    b_str(&t, ",\"");
            } else if (k < 82 && d % 8 == 3 && h_below(10) == 0) {
                const char c = (char)h_below(0x20);
                b_add(&t, &c, 1);
            } else
                b_str(&t, "\\n");
        }
        b_str(&t, "\"]");
        lg ref = {0};
        uint64_t ref_off = UINT64_MAX;
        narrow = 1;
        const int ref_r = run(t.p, t.n, NULL, 0, &ref, &ref_off);
        narrow = 0;
        errors += ref_r < 0;
        for (int k = 0; k < 3; k++) {
            size_t nc = 0, *c = k ? cuts_random(t.n, &nc) : NULL;
            lg l = {0};
            uint64_t off = UINT64_MAX;
            const int r = run(t.p, t.n, c, nc, &l, &off);
            free(c);
            if (l.bad)
                FAILF("doc %d: %s", d, l.bad);
            else if (r != ref_r || off != ref_off)
                FAILF("doc %d: returned %d at %" PRIu64 ", generic gave %d at %" PRIu64, d, r, off,
                      ref_r, ref_off);
            else if (!b_eq(&l.out, &ref.out))
                FAILF("doc %d: %s", d, diff("wide vs generic", &ref.out, &l.out));
            lg_free(&l);
        }
        lg_free(&ref);
        b_free(&t);
    }
    printf("# %d documents, %ld of them malformed, same events from both decoders\n", docs, errors);
}

/* ---- generated documents, with the events the generator expects ---------------------- */

typedef struct gen {
    bytes t, want;
    int deep_left; /* one deep chain per document at most */
} gen;

static void g_ws(gen *g)
{
    if (h_below(3))
        return;
    for (uint64_t k = 1 + h_below(3); k; k--)
        b_add(&g->t, &" \t\n\r"[h_below(4)], 1);
}

static void g_utf8(bytes *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80)
        u[0] = (char)cp, n = 1;
    else if (cp < 0x800)
        u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
    else if (cp < 0x10000)
        u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3f)),
        u[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
    else
        u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3f)),
        u[2] = (char)(0x80 | (cp >> 6 & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
    b_add(b, u, n);
}

static void g_u(gen *g, uint32_t unit)
{
    char h[8];
    snprintf(h, sizeof h, h_below(2) ? "\\u%04x" : "\\u%04X", unit);
    b_str(&g->t, h);
}

static void g_string(gen *g, int key, int depth)
{
    const uint64_t off = g->t.n;
    bytes dec = {0};
    b_add(&g->t, "\"", 1);
    const uint64_t pieces = h_below(4) ? h_below(6) : h_below(40);
    int lone_hi = 0;
    for (uint64_t p = 0; p < pieces; p++) {
        uint64_t kind = h_below(10);
        if (kind == 9 && lone_hi)
            kind = 0; /* a low surrogate right after a lone high one would pair with it */
        lone_hi = 0;
        if (kind <= 3) {
            const uint64_t n = h_below(25) ? 1 + h_below(20) : 500 + h_below(3000);
            for (uint64_t i = 0; i < n; i++) {
                char ch = (char)(0x20 + h_below(95));
                if (ch == '"' || ch == '\\')
                    ch = '.';
                b_add(&g->t, &ch, 1);
                b_add(&dec, &ch, 1);
            }
        } else if (kind == 4) {
            static const char *const raw[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                              "\xff", "\x80", "\xed\xa0\x80", "\xc0"};
            const char *r = raw[h_below(7)];
            b_str(&g->t, r);
            b_str(&dec, r);
        } else if (kind == 5) {
            const uint64_t i = h_below(8);
            char e[3] = {'\\', "\"\\/bfnrt"[i], 0};
            b_str(&g->t, e);
            b_add(&dec, &"\"\\/\b\f\n\r\t"[i], 1);
        } else if (kind == 6) {
            uint32_t cp = (uint32_t)(h_below(4) ? h_below(0x100) : h_below(0x10000));
            if (cp >= 0xd800 && cp <= 0xdfff)
                cp -= 0x800;
            g_u(g, cp);
            g_utf8(&dec, cp);
        } else if (kind == 7) {
            const uint32_t cp = 0x10000 + (uint32_t)h_below(0x100000);
            g_u(g, 0xd800 + ((cp - 0x10000) >> 10));
            g_u(g, 0xdc00 + ((cp - 0x10000) & 0x3ff));
            g_utf8(&dec, cp);
        } else {
            g_u(g, (kind == 8 ? 0xd800 : 0xdc00) + (uint32_t)h_below(0x400));
            g_utf8(&dec, 0xfffd);
            lone_hi = kind == 8;
        }
    }
    b_add(&g->t, "\"", 1);
    if (key) {
        const int cut = dec.n > SPILL__SCAN_KEY_MAX;
        rec(&g->want, T(KEY), depth, off, g->t.n, dec.p, cut ? SPILL__SCAN_KEY_MAX : dec.n, cut);
    } else {
        rec(&g->want, T(STR_BEGIN), depth, off, off + 1, NULL, 0, 0);
        rec(&g->want, T(STR_CHUNK), depth, 0, 0, dec.p, dec.n, 0);
        rec(&g->want, T(STR_END), depth, g->t.n - 1, g->t.n, NULL, 0, 0);
    }
    b_free(&dec);
}

static void g_digits(gen *g, uint64_t n, int nonzero_first)
{
    for (uint64_t i = 0; i < n; i++) {
        const char d = (char)('0' + (i == 0 && nonzero_first ? 1 + h_below(9) : h_below(10)));
        b_add(&g->t, &d, 1);
    }
}

static void g_number(gen *g, int depth)
{
    const uint64_t off = g->t.n;
    const int longer = h_below(15) == 0;
    if (h_below(3) == 0)
        b_add(&g->t, "-", 1);
    if (h_below(4) == 0)
        b_add(&g->t, "0", 1);
    else
        g_digits(g, 1 + (longer ? h_below(120) : h_below(6)), 1);
    if (h_below(3) == 0) {
        b_add(&g->t, ".", 1);
        g_digits(g, 1 + (longer ? h_below(50) : h_below(6)), 0);
    }
    if (h_below(4) == 0) {
        b_add(&g->t, &"eE"[h_below(2)], 1);
        const uint64_t s = h_below(3);
        if (s)
            b_add(&g->t, &"+-"[s - 1], 1);
        g_digits(g, 1 + h_below(3), 0);
    }
    const size_t n = g->t.n - off;
    rec(&g->want, T(NUMBER), depth, off, g->t.n, g->t.p + off,
        n < SPILL__SCAN_NUM_MAX ? n : SPILL__SCAN_NUM_MAX, n > SPILL__SCAN_NUM_MAX);
}

static void g_value(gen *g, int depth, int maxd)
{
    const uint64_t off = g->t.n;
    uint64_t kind = h_below(depth < maxd ? 8 : 5);
    if (g->deep_left && depth < 5 && h_below(40) == 0) {
        /* A chain down to the depth cap exactly: maxd counts open containers. */
        g->deep_left = 0;
        maxd = SPILL__SCAN_MAX_DEPTH - (int)h_below(20);
    }
    if (depth < maxd && maxd > 20)
        kind = 5 + h_below(3) % 2 * 2; /* keep going down the chain */
    static const char *const lits[] = {"true", "false", "null"};
    switch (kind) {
    case 0:
    case 1:
        g_string(g, 0, depth);
        break;
    case 2:
    case 3:
        g_number(g, depth);
        break;
    case 4: {
        const uint64_t i = h_below(3);
        b_str(&g->t, lits[i]);
        rec(&g->want, (int)(T(TRUE) + i), depth, off, g->t.n, NULL, 0, 0);
        break;
    }
    case 5:
    case 6: {
        rec(&g->want, T(ARR_BEGIN), depth, off, off + 1, NULL, 0, 0);
        b_add(&g->t, "[", 1);
        const uint64_t n = maxd > 20 ? 1 : h_below(6);
        for (uint64_t i = 0; i < n; i++) {
            g_ws(g);
            if (i) {
                b_add(&g->t, ",", 1);
                g_ws(g);
            }
            g_value(g, depth + 1, maxd);
        }
        g_ws(g);
        rec(&g->want, T(ARR_END), depth, g->t.n, g->t.n + 1, NULL, 0, 0);
        b_add(&g->t, "]", 1);
        break;
    }
    default: {
        rec(&g->want, T(OBJ_BEGIN), depth, off, off + 1, NULL, 0, 0);
        b_add(&g->t, "{", 1);
        const uint64_t n = maxd > 20 ? 1 : h_below(6);
        for (uint64_t i = 0; i < n; i++) {
            g_ws(g);
            if (i) {
                b_add(&g->t, ",", 1);
                g_ws(g);
            }
            g_string(g, 1, depth + 1);
            g_ws(g);
            b_add(&g->t, ":", 1);
            g_ws(g);
            g_value(g, depth + 1, maxd);
        }
        g_ws(g);
        rec(&g->want, T(OBJ_END), depth, g->t.n, g->t.n + 1, NULL, 0, 0);
        b_add(&g->t, "}", 1);
        break;
    }
    }
}

static void generated_documents(void)
{
    const int docs = h_light() ? 150 : 400;
    size_t total = 0;
    for (int d = 0; d < docs; d++) {
        gen g = {0};
        g.deep_left = 1;
        g_ws(&g);
        g_value(&g, 0, 1 + (int)h_below(8));
        g_ws(&g);
        total += g.t.n;
        const char *m = check(g.t.p, g.t.n, &g.want, 1, 0, 3, 0, NULL);
        if (m)
            FAILF("document %d (%zu bytes): %s", d, g.t.n, m);
        /* Broken copies: every chunking must still agree on the verdict, the error
         * offset and the events before it. */
        for (int k = 0; k < 3; k++) {
            bytes t = {0};
            b_add(&t, g.t.p, g.t.n);
            const uint64_t muts = 1 + h_below(3);
            for (uint64_t i = 0; i < muts && t.n; i++) {
                const size_t at = (size_t)h_below(t.n);
                const uint64_t how = h_below(4);
                if (how == 0)
                    t.p[at] = (char)h_below(256);
                else if (how == 1)
                    t.p[at] = "{}[]\":,\\ 0-eE.tu"[h_below(17)];
                else if (how == 2)
                    memmove(t.p + at, t.p + at + 1, --t.n - at);
                else
                    t.n = at; /* cut short */
            }
            m = check(t.p, t.n, NULL, 0, 0, 2, 0, NULL);
            b_free(&t);
            if (m)
                FAILF("document %d, broken copy %d: %s", d, k, m);
        }
        b_free(&g.t);
        b_free(&g.want);
    }
    printf("# %d generated documents, %zu bytes\n", docs, total);
}

/* ---- JSONTestSuite --------------------------------------------------------------- */

static char suite_dir[4096];

static int find_suite(void)
{
    const char *env = getenv("SPILL_JSONTESTSUITE"), *tests = getenv("SPILL_TESTS");
    struct stat st;
    if (env && *env)
        snprintf(suite_dir, sizeof suite_dir, "%s", env);
    else if (tests && *tests) /* tests/run.sh exports the tests/ directory */
        snprintf(suite_dir, sizeof suite_dir, "%s/../../shared/data/JSONTestSuite/test_parsing", tests);
    else /* the test runner runs from the repository root */
        snprintf(suite_dir, sizeof suite_dir, "../shared/data/JSONTestSuite/test_parsing");
    return stat(suite_dir, &st) == 0 && S_ISDIR(st.st_mode);
}

static void suite(char prefix)
{
    DIR *d = opendir(suite_dir);
    ASSERT(d);
    struct dirent *de;
    int files = 0, accepted = 0;
    char path[8192];
    while ((de = readdir(d))) {
        if (de->d_name[0] != prefix || de->d_name[1] != '_')
            continue;
        snprintf(path, sizeof path, "%s/%s", suite_dir, de->d_name);
        FILE *f = fopen(path, "rb");
        bytes t = {0};
        char chunk[65536];
        size_t k;
        while (f && (k = fread(chunk, 1, sizeof chunk, f)) > 0)
            b_add(&t, chunk, k);
        if (f)
            fclose(f);
        int verdict = 0;
        const char *m = f ? check(t.p ? t.p : "", t.n, NULL, 0, 0, 3, 0, &verdict) : "cannot read";
        b_free(&t);
        files++;
        accepted += verdict == 1;
        if (!m && prefix == 'y' && verdict != 1)
            m = "rejected";
        if (!m && prefix == 'n' && verdict == 1)
            m = "accepted";
        if (!m && verdict != 1 && verdict != SPILL_E_JSON)
            m = "returned neither 1 nor SPILL_E_JSON";
        if (m) {
            closedir(d);
            FAILF("%s: %s", de->d_name, m);
        }
    }
    closedir(d);
    ASSERT(files > 0);
    printf("# %c_*: %d files, %d accepted, %d rejected\n", prefix, files, accepted, files - accepted);
}
static void jsontestsuite_y(void) { suite('y'); }
static void jsontestsuite_n(void) { suite('n'); }
static void jsontestsuite_i(void) { suite('i'); }

/* ---- throughput -------------------------------------------------------------------- */

static int sum_cb(void *ud, const spill__scan_ev *ev)
{
    *(size_t *)ud += ev->n;
    return 0;
}

/* A big string value of mostly plain text with some \n \" \\ \u00e9 escapes, fed in
 * 1 MiB chunks to a callback that only sums n. Prints GB/s; the size is
 * SPILL_SCAN_BENCH_MB (default 64, 8 under SPILL_TEST_LIGHT). */
static void throughput(void)
{
    const char *env = getenv("SPILL_SCAN_BENCH_MB");
    const size_t mb = env && *env ? (size_t)strtoul(env, NULL, 10) : h_light() ? 8 : 64;
    const size_t cap = mb << 20;
    char *t = malloc(cap + 64);
    ASSERT(t);
    static const char *const words[] = {"the ", "function ", "returns ", "a ", "value ",
                                        "error: ", "file ", "src/main.c ", "42 ", "line "};
    size_t n = 0, dec = 0, line = 0;
    t[n++] = '"';
    while (n < cap) {
        const char *w = words[h_below(10)];
        const size_t k = strlen(w);
        memcpy(t + n, w, k), n += k, dec += k, line += k;
        const uint64_t r = h_below(64);
        if (line > 70)
            memcpy(t + n, "\\n", 2), n += 2, dec += 1, line = 0;
        else if (r == 0)
            memcpy(t + n, "\\\"", 2), n += 2, dec += 1;
        else if (r == 1)
            memcpy(t + n, "\\\\", 2), n += 2, dec += 1;
        else if (r == 2)
            memcpy(t + n, "\\u00e9", 6), n += 6, dec += 2;
    }
    t[n++] = '"';
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        spill__scan sc;
        spill__scan_init(&sc);
        size_t sum = 0;
        int r = 0;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (size_t at = 0; at < n && r >= 0; at += 1u << 20)
            r = spill__scan_feed(&sc, t + at, n - at < (1u << 20) ? n - at : 1u << 20, sum_cb, &sum, NULL);
        clock_gettime(CLOCK_MONOTONIC, &b);
        ASSERT_EQ(r, 1);
        ASSERT_EQ(sum, dec);
        const double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
        if (n / s / 1e9 > best)
            best = n / s / 1e9;
    }
    printf("# throughput: %.2f GB/s scanning a %zu MB string (%.1f%% escapes by bytes), 1 MiB feeds\n",
           best, n >> 20, 100.0 * (double)(n - dec) / (double)n);
    free(t);
}

int main(void)
{
    h_seed();
    guard_setup();
    RUN(every_token);
    RUN(top_level_scalars);
    RUN(nesting_and_depth);
    RUN(escapes_and_surrogates);
    RUN(key_cap);
    RUN(number_cap);
    RUN(depth_cap);
    RUN(errors_and_offsets);
    RUN(feed_results_and_sticky);
    RUN(callback_stop);
    RUN(big_strings);
    if (spill__scan_wide_available())
        RUN(wide_decoder);
    else
        SKIP("wide_decoder", "SKIPPED LOUDLY: this CPU has no AVX-512 VBMI2, so only the generic decoder runs here");
    RUN(generated_documents);
    if (find_suite()) {
        RUN(jsontestsuite_y);
        RUN(jsontestsuite_n);
        RUN(jsontestsuite_i);
    } else
        SKIP("jsontestsuite", "SKIPPED LOUDLY: ../shared/data/JSONTestSuite not found (CI has it)");
    RUN(throughput);
    return h_failures ? 1 : 0;
}
