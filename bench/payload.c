/* payload.c - deterministic payload generator for spill's tests and benchmarks.
 *
 *   payload SIZE [SEED] [--kind mixed|text|random]
 *
 * Writes exactly SIZE bytes to stdout. Identical arguments give identical bytes
 * on every platform: we use our own PRNG (xoshiro256** seeded by splitmix64),
 * bounded multiply-shift instead of modulo, and explicit little-endian stores.
 * Output is built in place in one fixed buffer, so memory use is constant.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUFSZ (1u << 20)
#define LINEMAX 1024 /* upper bound of any mixed-kind line; checked once per line */

/* +64: tokens are copied with a fixed 16-byte memcpy (cheaper than a variable
 * one) and may scribble a few bytes past the logical end. */
static char buf[BUFSZ + 64];
static char *p = buf;
static uint64_t left; /* bytes still owed to stdout */

static void flush(void)
{
    size_t n = (size_t)(p - buf), off = 0;
    if (n > left)
        n = left; /* the stream is cut here, so SIZE is exact */
    while (off < n) {
        ssize_t w = write(STDOUT_FILENO, buf + off, n - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EPIPE) exit(0); /* reader went away (`| head`): not our error */
            fprintf(stderr, "payload: write error: %s\n", strerror(errno));
            exit(1);
        }
        off += (size_t)w; /* short writes just loop */
    }
    p = buf;
    if ((left -= n) == 0) exit(0);
}

/* Make room for n more bytes; lines never straddle a flush. */
static inline void need(size_t n)
{
    if ((size_t)(buf + BUFSZ - p) < n) flush();
}

/* ---- PRNG: xoshiro256** (fast, good quality, trivially reproducible) ---- */
static uint64_t rs[4];
static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static inline uint64_t rnd(void)
{
    uint64_t r = rotl(rs[1] * 5, 7) * 9, t = rs[1] << 17;
    rs[2] ^= rs[0]; rs[3] ^= rs[1]; rs[1] ^= rs[2]; rs[0] ^= rs[3];
    rs[2] ^= t; rs[3] = rotl(rs[3], 45);
    return r;
}
static void seed_rng(uint64_t x)
{
    for (int i = 0; i < 4; i++) { /* splitmix64 spreads any seed (even 0) over the state */
        uint64_t z = (x += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        rs[i] = z ^ (z >> 31);
    }
}
/* Uniform in [0,n) without modulo bias worth caring about. */
static inline uint32_t below(uint32_t n) { return (uint32_t)(((rnd() >> 32) * n) >> 32); }
/* Skewed toward 0 (density ~ x^-1/2): real text reuses a few tokens a lot,
 * which is what makes it compress the way real tool output does. */
static inline uint32_t skew(uint32_t n)
{
    uint64_t u = rnd() >> 32;
    u = (u * u) >> 32;
    return (uint32_t)((u * n) >> 32);
}

/* ---- token pools, built from the PRNG at startup ---- */
typedef struct { char s[16]; uint8_t n; } tok; /* fixed stride for the 16-byte copy */
typedef struct { uint32_t off; uint16_t len; } str;
#define NIDENT 4096
#define NWORD 2048
#define NSENT 4096
#define NPATH 2048
static tok ident[NIDENT], word[NWORD];
static str sent[NSENT], path[NPATH];
static char arena[1u << 20];
static uint32_t arena_len;

static void make_tok(tok *t, int len, int underscores)
{
    memset(t->s, 0, sizeof t->s);
    for (int i = 0; i < len; i++)
        t->s[i] = (underscores && i > 0 && i < len - 1 && below(8) == 0) ? '_' : (char)('a' + below(26));
    t->n = (uint8_t)len;
}
static void arena_put(const char *src, size_t n) { memcpy(arena + arena_len, src, n); arena_len += (uint32_t)n; }

static void build_pools(void)
{
    static const char *ext[] = {".py", ".c", ".h", ".rs", ".go", ".ts", ".js", ".md", ".json"};
    for (int i = 0; i < NIDENT; i++)
        make_tok(&ident[i], 3 + (int)below(10), 1);
    for (int i = 0; i < NWORD; i++)
        make_tok(&word[i], 2 + (int)below(8), 0);
    for (int i = 0; i < NSENT; i++) {
        sent[i].off = arena_len;
        for (int j = 0, nw = 3 + (int)below(12); j < nw; j++) {
            const tok *w = &word[skew(NWORD)];
            if (j) arena_put(" ", 1);
            arena_put(w->s, w->n);
        }
        sent[i].len = (uint16_t)(arena_len - sent[i].off);
    }
    for (int i = 0; i < NPATH; i++) {
        path[i].off = arena_len;
        for (int j = 0, nd = 1 + (int)below(4); j < nd; j++) { /* few dirs, as in a real repo */
            const tok *d = &ident[below(64)];
            arena_put(d->s, d->n);
            arena_put("/", 1);
        }
        const tok *f = &ident[below(NIDENT)];
        const char *e = ext[below(9)];
        arena_put(f->s, f->n);
        arena_put(e, strlen(e));
        path[i].len = (uint16_t)(arena_len - path[i].off);
    }
}

/* ---- emitters (caller has done need(LINEMAX)) ---- */
typedef struct { const char *s; uint8_t n; } lit;
#define L(x) { x, sizeof(x) - 1 }
#define PUTS(x) put(x, sizeof(x) - 1)
static inline void put(const void *src, size_t n) { memcpy(p, src, n); p += n; }
static inline void put_lit(lit l) { put(l.s, l.n); }
static inline void put_tok(const tok *t) { memcpy(p, t->s, 16); p += t->n; }
static inline void put_str(str x) { put(arena + x.off, x.len); }
static void put_u(uint64_t v)
{
    char t[20];
    int i = 20;
    do t[--i] = (char)('0' + v % 10); while (v /= 10);
    put(t + i, (size_t)(20 - i));
}
static void put_pad(uint32_t v, int digits) /* zero-padded, for fractions */
{
    for (int i = digits - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    p += digits;
}
static void put_hex(int n)
{
    static const char hx[] = "0123456789abcdef";
    while (n > 0) {
        uint64_t r = rnd();
        for (int i = 0; i < 16 && n > 0; i++, n--, r >>= 4)
            *p++ = hx[r & 15];
    }
}
static void put_indent(int depth) { memset(p, ' ', (size_t)depth * 4); p += depth * 4; }

/* ---- mixed-kind line generators ---- */
static uint64_t json_id, ts_ms;
static int depth;

static void json_line(void)
{
    static const lit status[] = {L("open"), L("closed"), L("merged"), L("draft"), L("pending")};
    PUTS("  {\"id\": "); put_u(json_id += 1 + skew(5));
    PUTS(", \"sha\": \""); put_hex(40);
    PUTS("\", \"path\": \""); put_str(path[skew(NPATH)]);
    PUTS("\", \"status\": \""); put_lit(status[skew(5)]);
    PUTS("\", \"size\": "); put_u(skew(100000));
    PUTS(", \"score\": 0."); put_pad(below(10000), 4);
    PUTS(", \"author\": \""); put_tok(&ident[skew(256)]);
    PUTS("\", \"message\": \""); put_str(sent[skew(NSENT)]);
    PUTS("\", \"tags\": [");
    for (int i = 0, n = (int)below(4); i < n; i++) {
        if (i) PUTS(", ");
        *p++ = '"'; put_tok(&ident[skew(32)]); *p++ = '"';
    }
    PUTS("], \"meta\": {\"line\": "); put_u(1 + skew(5000));
    PUTS(", \"col\": "); put_u(1 + skew(120));
    if (below(5)) PUTS(", \"ok\": true}}"); else PUTS(", \"ok\": false}}");
}

static void log_line(void)
{
    static const lit level[] = {L("INFO  "), L("DEBUG "), L("WARN  "), L("ERROR ")};
    static const lit method[] = {L(" GET /"), L(" POST /"), L(" PUT /"), L(" DELETE /")};
    ts_ms += skew(200); /* monotonic clock, like a real log */
    put_u(ts_ms / 1000); *p++ = '.'; put_pad((uint32_t)(ts_ms % 1000), 3); *p++ = ' ';
    put_lit(level[skew(4)]);
    *p++ = '['; put_tok(&ident[skew(16)]); PUTS("] req="); put_hex(16);
    put_lit(method[skew(4)]); put_str(path[skew(NPATH)]);
    PUTS(" took="); put_u(skew(5000)); PUTS("ms ");
    put_str(sent[skew(NSENT)]); *p++ = '\n';
}

static void code_line(void)
{
    static const lit type[] = {L("int "), L("size_t "), L("char *"), L("const char *"), L("uint64_t "),
                               L("struct node *"), L("bool "), L("double ")};
    static const lit op[] = {L(" == "), L(" != "), L(" < "), L(" > "), L(" <= "), L(" >= ")};
    uint32_t r = below(100);
    if (depth == 0) { /* top level: a comment, a blank, or a new function */
        if (r < 25) { PUTS("// "); put_str(sent[skew(NSENT)]); *p++ = '\n'; }
        else if (r < 35) *p++ = '\n';
        else {
            PUTS("static "); put_lit(type[skew(8)]); put_tok(&ident[skew(NIDENT)]); *p++ = '(';
            for (int i = 0, n = (int)below(4); i < n; i++) {
                if (i) PUTS(", ");
                put_lit(type[skew(8)]); put_tok(&ident[skew(512)]);
            }
            PUTS(")\n{\n");
            depth = 1;
        }
        return;
    }
    if (r < 14 || (depth > 1 && r < 24)) { /* close a block; more likely when nested */
        put_indent(--depth);
        if (depth == 0) PUTS("}\n\n");
        else if (r < 3) { PUTS("} else {\n"); depth++; }
        else PUTS("}\n");
        return;
    }
    put_indent(depth);
    if (r < 40) {
        put_lit(type[skew(8)]); put_tok(&ident[skew(512)]); PUTS(" = ");
        put_tok(&ident[skew(512)]); PUTS(" + "); put_u(skew(256)); PUTS(";\n");
    } else if (r < 60) {
        put_tok(&ident[skew(512)]); PUTS(" = "); put_tok(&ident[skew(NIDENT)]); *p++ = '(';
        put_tok(&ident[skew(512)]); PUTS(", "); put_tok(&ident[skew(512)]); PUTS(");\n");
    } else if (r < 70 && depth < 7) {
        PUTS("if ("); put_tok(&ident[skew(512)]); put_lit(op[below(6)]); put_u(skew(100)); PUTS(") {\n");
        depth++;
    } else if (r < 76 && depth < 7) {
        PUTS("for (i = 0; i < "); put_tok(&ident[skew(512)]); PUTS("; i++) {\n");
        depth++;
    } else if (r < 88) {
        PUTS("/* "); put_str(sent[skew(NSENT)]); PUTS(" */\n");
    } else {
        PUTS("return "); put_tok(&ident[skew(512)]); PUTS(";\n");
        if (depth == 1) { PUTS("}\n\n"); depth = 0; } /* top-level return ends the function */
    }
}

static void b64_line(void)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 76;) {
        uint64_t r = rnd();
        for (int j = 0; j < 10 && i < 76; j++, i++, r >>= 6)
            *p++ = b64[r & 63];
    }
    *p++ = '\n';
}

static _Noreturn void gen_mixed(void)
{
    static const int64_t share[4] = {35, 30, 25, 10}; /* percent of bytes: json, log, code, b64 */
    int64_t made[4] = {0, 0, 0, 0}, total = 0;
    for (;;) {
        /* Pick the kind furthest behind its byte share, jittered by up to 2 MiB:
         * order stays random, but the mix holds even for ~100 sections, where
         * plain weighted picks of 64 KiB..2 MiB sections drift by 10 points. */
        int kind = 0;
        int64_t best = INT64_MIN;
        for (int k = 0; k < 4; k++) {
            int64_t debt = share[k] * total / 100 - made[k] + (int64_t)below(2u << 20);
            if (debt > best) {
                best = debt;
                kind = k;
            }
        }
        uint64_t target = 65536 + below(2 * 1048576 - 65536 + 1), done = 0;
        if (kind == 0) { json_id = below(1000000); need(2); PUTS("[\n"); }
        if (kind == 1 && ts_ms == 0) ts_ms = 1700000000000ull + below(100000000);
        depth = 0;
        for (int first = 1; done < target; first = 0) {
            need(LINEMAX);
            char *start = p;
            switch (kind) {
            case 0: if (!first) PUTS(",\n"); json_line(); break;
            case 1: log_line(); break;
            case 2: code_line(); break;
            default: b64_line(); break;
            }
            done += (uint64_t)(p - start);
        }
        if (kind == 0) { need(3); PUTS("\n]\n"); done += 3; }
        made[kind] += (int64_t)done;
        total += (int64_t)done;
    }
}

/* Printable ASCII only: lowercase words, some capitalized or punctuated. */
static _Noreturn void gen_text(void)
{
    static const char punct[] = ",.;:";
    for (;;) {
        uint32_t r = below(2000);
        uint64_t len = r < 100 ? 0 : r == 100 ? 201 + below(100000 - 200) : 1 + below(200);
        while (len) {
            need(32);
            const tok *w = &word[skew(NWORD)];
            uint64_t n = w->n;
            memcpy(p, w->s, 16);
            r = below(32);
            if (r < 3) p[0] = (char)(p[0] - 32);
            if (r >= 28) p[n++] = punct[r - 28];
            p[n++] = ' ';
            if (n > len) n = len; /* cut the last word to hit the exact line length */
            p += n;
            len -= n;
        }
        need(1); *p++ = '\n';
    }
}

static _Noreturn void gen_random(void)
{
    for (;;) {
        while (p < buf + BUFSZ) { /* byte-wise stores keep output endian-independent */
            uint64_t r = rnd();
            for (int i = 0; i < 8; i++, r >>= 8)
                p[i] = (char)(unsigned char)r;
            p += 8;
        }
        flush();
    }
}

/* ---- argument parsing ---- */
static int parse_u64(const char **sp, uint64_t *out)
{
    const char *s = *sp;
    uint64_t v = 0;
    if (*s < '0' || *s > '9') return 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *sp = s; *out = v;
    return 1;
}

static int parse_size(const char *s, uint64_t *out)
{
    static const struct { const char *suf; uint64_t mul; } sufs[] = {
        {"", 1}, {"k", 1000}, {"K", 1000}, {"M", 1000000}, {"G", 1000000000},
        {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30}};
    uint64_t v;
    if (!parse_u64(&s, &v)) return 0;
    for (size_t i = 0; i < sizeof sufs / sizeof sufs[0]; i++)
        if (!strcmp(s, sufs[i].suf)) {
            if (v && sufs[i].mul > UINT64_MAX / v) return 0;
            *out = v * sufs[i].mul;
            return 1;
        }
    return 0;
}

static _Noreturn void usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "payload: %s%s%s%s (usage: payload SIZE[k|K|M|G|KiB|MiB|GiB] [SEED] [--kind mixed|text|random])\n",
            msg, arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *pos[2] = {0, 0}, *kind = "mixed";
    int npos = 0;
    uint64_t size, seed = 42;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--kind")) {
            if (++i >= argc) usage_error("--kind needs a value", NULL);
            kind = argv[i];
        } else if (!strncmp(a, "--kind=", 7)) {
            kind = a + 7;
        } else if (a[0] == '-' && a[1]) {
            usage_error("unknown option", a);
        } else if (npos < 2) {
            pos[npos++] = a;
        } else
            usage_error("too many arguments at", a);
    }
    const char *sp = pos[1];
    if (!npos) usage_error("missing SIZE", NULL);
    if (!parse_size(pos[0], &size)) usage_error("invalid SIZE", pos[0]);
    if (sp && (!parse_u64(&sp, &seed) || *sp)) usage_error("invalid SEED", pos[1]);
    int k = !strcmp(kind, "mixed") ? 0 : !strcmp(kind, "text") ? 1 : !strcmp(kind, "random") ? 2 : -1;
    if (k < 0) usage_error("invalid --kind", kind);

    /* Ignore SIGPIPE so a closed reader surfaces as EPIPE and we exit 0. */
    signal(SIGPIPE, SIG_IGN);
    if ((left = size) == 0) return 0;
    seed_rng(seed);
    if (k == 2) gen_random();
    build_pools();
    if (k == 1) gen_text();
    gen_mixed(); /* the generators never return: flush() exits once SIZE bytes are out */
}
