/* Filter tests over recorded MCP transcripts (tests/data/mcp/NAME.txt): chunking
 * invariance, byte-identical pass-through, valid rewritten messages, and every
 * spilled payload stored byte for byte (through an in-memory sink). */
#define _GNU_SOURCE
#include <dirent.h>
#include <xxhash.h>

#include "../harness.h"
#include "preview.h"
#include "scan.h"
#include "spill.h"

/* ---- a growable byte buffer ---- */
#include "bytes_buf.h"

/* ---- in-memory sink ---- */
typedef struct mem_obj { bytes data; char id[33]; char mime[128]; } mem_obj;
typedef struct mem_sink { mem_obj objs[256]; int n; int fail_after; int begun; char tool[64]; } mem_sink;

static int ms_begin(void *ctx, void **obj, const spill_put_info *pi)
{
    mem_sink *s = ctx;
    snprintf(s->tool, sizeof s->tool, "%s", pi && pi->tool ? pi->tool : "-"); /* what spill log shows */
    if (s->fail_after >= 0 && s->begun++ >= s->fail_after)
        return -28; /* ENOSPC, as a full disk would say */
    mem_obj *o = calloc(1, sizeof *o);
    *obj = o;
    return o ? 0 : SPILL_E_NOMEM;
}
static int ms_write(void *obj, const void *p, size_t n)
{
    put(&((mem_obj *)obj)->data, p, n);
    return 0;
}
static int ms_commit(void *obj, const char *mime, uint64_t tokens, const char *counter,
                     spill_object_info *info)
{
    (void)tokens;
    (void)counter;
    mem_obj *o = obj;
    extern mem_sink *g_sink;
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(o->data.p, o->data.n));
    for (int i = 0; i < 16; i++)
        sprintf(o->id + 2 * i, "%02x", c.digest[i]);
    snprintf(o->mime, sizeof o->mime, "%s", mime ? mime : "text/plain");
    memset(info, 0, sizeof *info);
    strcpy(info->id, o->id);
    info->raw_size = o->data.n;
    for (size_t i = 0; i < o->data.n; i++) /* lines as the store counts them */
        info->lines += o->data.p[i] == '\n';
    info->lines += o->data.n && o->data.p[o->data.n - 1] != '\n';
    snprintf(info->mime, sizeof info->mime, "%s", o->mime);
    if (g_sink->n < 256)
        g_sink->objs[g_sink->n++] = *o;
    else
        free(o->data.p);
    free(o);
    return 0;
}
static void ms_abort(void *obj)
{
    mem_obj *o = obj;
    free(o->data.p);
    free(o);
}
mem_sink *g_sink;

/* An empty in-memory sink that never fails, and the interface over it. */
static void sink_start(mem_sink *m, spill_object_sink *s)
{
    memset(m, 0, sizeof *m);
    m->fail_after = -1;
    g_sink = m;
    spill_object_sink iface = {m, ms_begin, ms_write, ms_commit, ms_abort, NULL};
    *s = iface;
}

static void sink_clear(mem_sink *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->objs[i].data.p);
    memset(s, 0, sizeof *s);
    s->fail_after = -1;
}

/* ---- transcripts ---- */

typedef struct payload { bytes data; } payload;
typedef struct line { char kind; bytes text; payload pl[8]; int npl; } line;
typedef struct transcript { line lines[64]; int n; bytes c2s, s2c; } transcript;

static uint64_t rng;
static uint64_t next(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void gen_text(bytes *b, size_t n)
{
    static const char *w[] = {"alpha", "beta", "gamma", "\"quoted\"", "back\\slash", "tab\t",
                              "café", "日本語", "emoji😀", "ERROR", "took=12ms", "{\"k\":1}"};
    while (b->n < n) {
        const char *s = w[next() % 12];
        put(b, s, strlen(s));
        put(b, next() % 9 == 0 ? "\n" : " ", 1);
    }
    b->n = n;
    while (b->n && (b->p[b->n - 1] & 0xc0) == 0x80) /* never end inside a UTF-8 sequence */
        b->n--;
    if (b->n && b->p[b->n - 1] >= 0xc0)
        b->n--;
}

static void gen_json(bytes *b, size_t n)
{
    put(b, "{\"items\":[", 10);
    for (int i = 0; b->n < n; i++) {
        char rec[160];
        int k = snprintf(rec, sizeof rec, "%s{\"id\":%d,\"name\":\"item %d\",\"tags\":[\"a\",\"b\"],\"ok\":%s}",
                         i ? "," : "", i, (int)(next() % 1000), next() % 2 ? "true" : "false");
        put(b, rec, (size_t)k);
    }
    put(b, "],\"total\":1}", 12);
}

static void json_escape(bytes *out, const bytes *in)
{
    for (size_t i = 0; i < in->n; i++) {
        unsigned char c = in->p[i];
        char e[8];
        if (c == '"' || c == '\\') { e[0] = '\\'; e[1] = (char)c; put(out, e, 2); }
        else if (c == '\n') put(out, "\\n", 2);
        else if (c == '\t') put(out, "\\t", 2);
        else if (c < 0x20) { snprintf(e, sizeof e, "\\u%04x", c); put(out, e, 6); }
        else if (c == '/' && next() % 50 == 0) put(out, "\\/", 2); /* legal, and must decode */
        else put(out, &c, 1);
    }
}

static void b64(bytes *out, const bytes *in)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < in->n; i += 3) {
        uint32_t v = (uint32_t)in->p[i] << 16;
        if (i + 1 < in->n) v |= (uint32_t)in->p[i + 1] << 8;
        if (i + 2 < in->n) v |= in->p[i + 2];
        char q[4] = {t[v >> 18], t[(v >> 12) & 63], i + 1 < in->n ? t[(v >> 6) & 63] : '=',
                     i + 2 < in->n ? t[v & 63] : '='};
        put(out, q, 4);
    }
}

/* Expands @@KIND:BYTES:SEED@@ in src into out, recording each payload's content. */
static void expand(line *ln, const char *src)
{
    const char *p = src;
    for (;;) {
        const char *a = strstr(p, "@@");
        if (!a) {
            put(&ln->text, p, strlen(p));
            return;
        }
        put(&ln->text, p, (size_t)(a - p));
        char kind[16];
        unsigned long n, seed;
        const char *b = strstr(a + 2, "@@");
        if (!b || sscanf(a + 2, "%15[A-Z0-9]:%lu:%lu", kind, &n, &seed) != 3) {
            put(&ln->text, a, 2);
            p = a + 2;
            continue;
        }
        rng = seed * 7919;
        payload *pl = &ln->pl[ln->npl < 8 ? ln->npl++ : 7];
        memset(pl, 0, sizeof *pl);
        if (!strcmp(kind, "TEXT")) {
            gen_text(&pl->data, n);
            json_escape(&ln->text, &pl->data);
        } else if (!strcmp(kind, "JSONTEXT")) {
            gen_json(&pl->data, n);
            json_escape(&ln->text, &pl->data);
        } else if (!strcmp(kind, "B64")) {
            put(&pl->data, "\x89PNG\r\n\x1a\n", 8);
            while (pl->data.n < n) {
                unsigned char c = (unsigned char)next();
                put(&pl->data, &c, 1);
            }
            b64(&ln->text, &pl->data);
        } else if (!strcmp(kind, "ROWS")) {
            bytes rows = {0};
            put(&rows, "[", 1);
            for (unsigned long i = 0; i < n; i++) {
                char r[96];
                int k = snprintf(r, sizeof r, "%s{\"row\":%lu,\"v\":\"%08llx\"}", i ? "," : "", i,
                                 (unsigned long long)(next() & 0xffffffff));
                put(&rows, r, (size_t)k);
            }
            put(&rows, "]", 1);
            put(&ln->text, rows.p, rows.n);
            free(rows.p);
            ln->npl--; /* checked through the structuredContent span instead */
        }
        p = b + 2;
    }
}

static int load(const char *path, transcript *t)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    memset(t, 0, sizeof *t);
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&buf, &cap, f)) > 0) {
        if (buf[len - 1] == '\n')
            buf[--len] = 0;
        if (len < 2 || buf[0] == '#')
            continue;
        if (buf[0] == '>') {
            put(&t->c2s, buf + 2, (size_t)len - 2);
            put(&t->c2s, "\n", 1);
            continue;
        }
        line *ln = &t->lines[t->n++];
        ln->kind = buf[0];
        expand(ln, buf + 2);
        put(&t->s2c, ln->text.p, ln->text.n);
        put(&t->s2c, "\n", 1);
    }
    free(buf);
    fclose(f);
    return 0;
}

static void free_transcript(transcript *t)
{
    for (int i = 0; i < t->n; i++) {
        free(t->lines[i].text.p);
        for (int k = 0; k < t->lines[i].npl; k++)
            free(t->lines[i].pl[k].data.p);
    }
    free(t->c2s.p);
    free(t->s2c.p);
}

/* ---- running the filter ---- */

static int out_emit(void *ud, spill_dir dir, const void *p, size_t n)
{
    if (dir == SPILL_S2C)
        put(ud, p, n);
    return 0;
}

/* An allocator that fails the Nth allocation and counts what is outstanding. */
typedef struct failing { long n, count, live; int failed; } failing;
static void *fa_alloc(void *ctx, size_t n)
{
    failing *a = ctx;
    if (++a->count == a->n) {
        a->failed = 1;
        return NULL;
    }
    void *p = malloc(n);
    a->live += p != NULL;
    return p;
}
static void *fa_realloc(void *ctx, void *p, size_t n)
{
    failing *a = ctx;
    if (++a->count == a->n) {
        a->failed = 1;
        return NULL;
    }
    void *q = realloc(p, n);
    a->live += q && !p;
    return q;
}
static void fa_free(void *ctx, void *p)
{
    failing *a = ctx;
    a->live -= p != NULL;
    free(p);
}
static failing *g_fail;

static int run(const transcript *t, size_t chunk, uint64_t seed, bytes *out, mem_sink *sink,
               spill_filter_stats *st)
{
    spill_object_sink s = {sink, ms_begin, ms_write, ms_commit, ms_abort, NULL};
    spill_filter_opts o;
    spill_filter_opts_init(&o);
    o.threshold_tokens = 2000;
    o.min_spill_bytes = 2048;
    o.inline_budget = 64 << 10;
    o.client_defaults = 0;
    o.sink = &s;
    o.emit = out_emit;
    o.emit_ud = out;
    if (g_fail) {
        o.alloc.ctx = g_fail;
        o.alloc.alloc = fa_alloc;
        o.alloc.realloc = fa_realloc;
        o.alloc.free = fa_free;
    }
    g_sink = sink;
    spill_filter *f;
    int rc = spill_filter_new(&f, &o);
    if (rc)
        return rc;
    rc = spill_filter_feed(f, SPILL_C2S, t->c2s.p, t->c2s.n);
    rng = seed;
    for (size_t i = 0; rc == 0 && i < t->s2c.n;) {
        size_t k = chunk ? chunk : 1 + next() % 70000;
        if (k > t->s2c.n - i)
            k = t->s2c.n - i;
        rc = spill_filter_feed(f, SPILL_S2C, t->s2c.p + i, k);
        i += k;
    }
    if (rc == 0)
        rc = spill_filter_finish(f, SPILL_S2C);
    spill_filter_get_stats(f, st);
    spill_filter_free(f);
    return rc;
}

static int noop_cb(void *ud, const spill__scan_ev *ev) { (void)ud; (void)ev; return 0; }
static int valid_json(const unsigned char *p, size_t n)
{
    spill__scan sc;
    spill__scan_init(&sc);
    uint64_t off;
    int rc = spill__scan_feed(&sc, p, n, noop_cb, NULL, &off);
    if (rc < 0)
        return 0;
    return spill__scan_finish(&sc, noop_cb, NULL, &off) == 1;
}

static int has_object(const mem_sink *s, const bytes *b)
{
    for (int i = 0; i < s->n; i++)
        if (s->objs[i].data.n == b->n && memcmp(s->objs[i].data.p, b->p, b->n) == 0)
            return 1;
    return 0;
}

static char g_why[512];
static int check_transcript(const char *path)
{
    transcript *t = calloc(1, sizeof *t);
    if (!t || load(path, t) != 0) {
        snprintf(g_why, sizeof g_why, "cannot load %.400s", path);
        free(t);
        return 0;
    }
    int ok = 0;
    bytes ref = {0};
    mem_sink *refsink = calloc(1, sizeof *refsink), *sink = calloc(1, sizeof *sink);
    sink_clear(refsink);
    spill_filter_stats st;
    int rc = run(t, SIZE_MAX, 1, &ref, refsink, &st);
    if (rc) {
        snprintf(g_why, sizeof g_why, "filter failed: %s", spill_strerror(rc));
        goto out;
    }
    /* Line by line against the expectations. */
    size_t at = 0;
    for (int i = 0; i < t->n; i++) {
        line *ln = &t->lines[i];
        unsigned char *nl = memchr(ref.p + at, '\n', ref.n - at);
        if (!nl) {
            snprintf(g_why, sizeof g_why, "output has fewer lines than input (line %d)", i + 1);
            goto out;
        }
        size_t len = (size_t)(nl - (ref.p + at));
        const unsigned char *o = ref.p + at;
        at += len + 1;
        int same = len == ln->text.n && memcmp(o, ln->text.p, len) == 0;
        if (ln->kind == '=' && !same) {
            snprintf(g_why, sizeof g_why, "s2c line %d should pass unchanged but differs", i + 1);
            goto out;
        }
        if (ln->kind != 'R')
            continue;
        if (same || !valid_json(o, len) || !memmem(o, len, "[spill]", 7)) {
            snprintf(g_why, sizeof g_why, "s2c line %d should be a valid rewritten result (same=%d)",
                     i + 1, same);
            goto out;
        }
        if (len > ln->text.n / 2 + 40000) {
            snprintf(g_why, sizeof g_why, "s2c line %d: rewritten result is %zu bytes of %zu", i + 1,
                     len, ln->text.n);
            goto out;
        }
        const char *idk = strstr((const char *)ln->text.p, "\"id\":");
        if (idk) {
            size_t idlen = strcspn(idk, ",}");
            if (!memmem(o, len, idk, idlen)) {
                snprintf(g_why, sizeof g_why, "s2c line %d lost its id %.*s", i + 1, (int)idlen, idk);
                goto out;
            }
        }
        for (int k = 0; k < ln->npl; k++)
            if (ln->pl[k].data.n >= 2048 && !has_object(refsink, &ln->pl[k].data)) {
                snprintf(g_why, sizeof g_why, "s2c line %d: payload %d (%zu bytes) is not stored byte for byte",
                         i + 1, k, ln->pl[k].data.n);
                goto out;
            }
    }
    if (at != ref.n) {
        snprintf(g_why, sizeof g_why, "output has more lines than input");
        goto out;
    }
    /* Every chunking gives the same bytes and the same objects. */
    size_t chunks[] = {1, 7, 4096, 0, 0};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        bytes out = {0};
        sink_clear(sink);
        rc = run(t, chunks[c], 1000 + c, &out, sink, &st);
        int same = rc == 0 && out.n == ref.n && memcmp(out.p, ref.p, ref.n) == 0 && sink->n == refsink->n;
        for (int i = 0; same && i < sink->n; i++)
            same = strcmp(sink->objs[i].id, refsink->objs[i].id) == 0;
        FILE *d = !same && getenv("SPILL_TEST_DUMP") ? fopen("/tmp/spill-filter-chunked.ndjson", "w") : NULL;
        if (d) {
            fwrite(out.p, 1, out.n, d);
            fclose(d);
        }
        free(out.p);
        if (!same) {
            snprintf(g_why, sizeof g_why, "chunking %zu (seed %zu) changed the output (rc %d)", chunks[c],
                     1000 + c, rc);
            goto out;
        }
    }
    ok = 1;
out:
    if (!ok && getenv("SPILL_TEST_DUMP")) { /* for debugging: what went in and out */
        FILE *d = fopen("/tmp/spill-filter-in.ndjson", "w");
        if (d) { fwrite(t->s2c.p, 1, t->s2c.n, d); fclose(d); }
        d = fopen("/tmp/spill-filter-out.ndjson", "w");
        if (d) { fwrite(ref.p, 1, ref.n, d); fclose(d); }
        d = fopen("/tmp/spill-filter-req.ndjson", "w");
        if (d) { fwrite(t->c2s.p, 1, t->c2s.n, d); fclose(d); }
    }
    sink_clear(sink);
    sink_clear(refsink);
    free(sink);
    free(refsink);
    free(ref.p);
    free_transcript(t);
    free(t);
    return ok;
}

static const char *data_dir(void)
{
    const char *d = getenv("SPILL_TESTS");
    static char path[512];
    snprintf(path, sizeof path, "%s/data/mcp", d ? d : "tests");
    return path;
}

static void transcripts(void)
{
    DIR *d = opendir(data_dir());
    ASSERT(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)) != NULL) {
        if (!strstr(de->d_name, ".txt"))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", data_dir(), de->d_name);
        if (!check_transcript(path)) {
            closedir(d);
            FAILF("%s: %s", de->d_name, g_why);
        }
        printf("# %s: ok at whole, 1, 7, 4096 and random chunks\n", de->d_name);
        n++;
    }
    closedir(d);
    ASSERT(n >= 4);
}

/* Failing allocation N, for every N until the run needs no more: each failure is
 * SPILL_E_NOMEM and nothing stays allocated. */
static void allocation_failures(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/modern-2025-06-18.txt", data_dir());
    transcript *t = calloc(1, sizeof *t);
    ASSERT(t && load(path, t) == 0);
    mem_sink *sink = calloc(1, sizeof *sink);
    long n;
    for (n = 1; n < 100000; n++) {
        failing a = {n, 0, 0, 0};
        g_fail = &a;
        bytes out = {0};
        spill_filter_stats st;
        sink_clear(sink);
        int rc = run(t, 4096, 7, &out, sink, &st);
        g_fail = NULL;
        free(out.p);
        if (a.live != 0)
            FAILF("failing allocation %ld left %ld allocations behind", n, a.live);
        if (!a.failed) {
            ASSERT_EQ(rc, 0);
            break;
        }
        if (rc != SPILL_E_NOMEM)
            FAILF("failing allocation %ld gave %d (%s), not SPILL_E_NOMEM", n, rc, spill_strerror(rc));
    }
    printf("# %ld allocations failed one at a time\n", n - 1);
    ASSERT(n > 5);
    sink_clear(sink);
    free(sink);
    free_transcript(t);
    free(t);
}

/* Thresholds: a client cap (built in or given), a per-tool rule, the byte cap. */
/* Runs the client stream c2s, then the server stream s2c (in pieces of `chunk` bytes, 0
 * whole) through a filter with options o, an in-memory sink and output. Returns 1 if
 * something was spilled, 0 if not (then the output must be s2c byte for byte, else
 * -2), -1 if the filter failed. Frees c2s and s2c. */
/* call_spills() that also hands back the output (keep: where it goes, or NULL). */
static int call_spills_out(spill_filter_opts *o, bytes *c2s, bytes *s2c, size_t chunk, bytes *keep)
{
    bytes out = {0};
    mem_sink sink;
    spill_object_sink s;
    sink_start(&sink, &s);
    o->sink = &s;
    o->emit = out_emit;
    o->emit_ud = &out;
    spill_filter *f = NULL;
    int spilled = -1;
    if (spill_filter_new(&f, o) == 0 && spill_filter_feed(f, SPILL_C2S, c2s->p, c2s->n) == 0) {
        int rc = 0;
        const size_t step = chunk ? chunk : s2c->n;
        for (size_t i = 0; rc == 0 && i < s2c->n; i += step)
            rc = spill_filter_feed(f, SPILL_S2C, s2c->p + i, s2c->n - i < step ? s2c->n - i : step);
        if (rc == 0) {
            spilled = sink.n > 0;
            if (spilled == 0 && (out.n != s2c->n || memcmp(out.p, s2c->p, s2c->n)))
                spilled = -2; /* a pass-through must be byte-identical */
        }
    }
    spill_filter_free(f);
    sink_clear(&sink);
    free(c2s->p);
    free(s2c->p);
    if (keep)
        *keep = out;
    else
        free(out.p);
    return spilled;
}

static int call_spills(spill_filter_opts *o, bytes *c2s, bytes *s2c, size_t chunk)
{
    return call_spills_out(o, c2s, s2c, chunk, NULL);
}

static int spilled_with(const char *client, const spill_rule *rules, size_t nrules, int defaults,
                        uint64_t byte_cap, const char *tool, size_t text_bytes)
{
    bytes c2s = {0}, s2c = {0}, text = {0};
    char head[512];
    int k = snprintf(head, sizeof head, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
                     "{\"protocolVersion\":\"2025-06-18\",\"clientInfo\":{\"name\":\"%s\"}}}\n"
                     "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\"}}\n",
                     client, tool);
    put(&c2s, head, (size_t)k);
    rng = 5;
    gen_text(&text, text_bytes);
    const char *pre = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"";
    put(&s2c, pre, strlen(pre));
    json_escape(&s2c, &text);
    put(&s2c, "\"}]}}\n", 6);
    spill_filter_opts o;
    spill_filter_opts_init(&o);
    o.rules = rules;
    o.nrules = nrules;
    o.client_defaults = defaults;
    o.byte_cap = byte_cap;
    free(text.p);
    return call_spills(&o, &c2s, &s2c, 0);
}

static void thresholds(void)
{
    /* About 40,000 tokens: under the 100,000 default, over Claude Code's 25,000. */
    size_t n = 110000;
    ASSERT_EQ(spilled_with("some-client", NULL, 0, 1, SPILL_NO_LIMIT, "t", n), 0);
    ASSERT_EQ(spilled_with("claude-code", NULL, 0, 1, SPILL_NO_LIMIT, "t", n), 1);
    ASSERT_EQ(spilled_with("Claude-Code/2.1", NULL, 0, 1, SPILL_NO_LIMIT, "t", n), 1);
    ASSERT_EQ(spilled_with("claude-code", NULL, 0, 0, SPILL_NO_LIMIT, "t", n), 0); /* defaults off */
    spill_rule tool_rule[] = {{NULL, "tiny_tool", NULL, 1000}};
    ASSERT_EQ(spilled_with("some-client", tool_rule, 1, 1, SPILL_NO_LIMIT, "tiny_tool", n), 1);
    ASSERT_EQ(spilled_with("some-client", tool_rule, 1, 1, SPILL_NO_LIMIT, "other_tool", n), 0);
    spill_rule client_rule[] = {{NULL, NULL, "some-client", 500000}};
    /* A client rule only caps: it never raises the threshold above the default. */
    ASSERT_EQ(spilled_with("some-client", client_rule, 1, 1, SPILL_NO_LIMIT, "t", 400000), 1);
    ASSERT_EQ(spilled_with("some-client", NULL, 0, 1, 50000, "t", n), 1); /* byte cap */
}

/* Message framing (an HTTP body, one SSE event): the caller marks each end; newlines
 * inside a pretty-printed body are just whitespace. */
static void message_framing(void)
{
    bytes text = {0}, body = {0}, small = {0};
    rng = 9;
    gen_text(&text, 60000);
    const char *pre = "{\n  \"jsonrpc\": \"2.0\",\n  \"id\": 7,\n  \"result\": {\n    \"content\": [\n"
                      "      {\"type\": \"text\", \"text\": \"";
    put(&body, pre, strlen(pre));
    json_escape(&body, &text);
    const char *post = "\"}\n    ]\n  }\n}\n";
    put(&body, post, strlen(post));
    const char *sm = "{\n \"jsonrpc\": \"2.0\",\n \"method\": \"notifications/progress\"\n}";
    put(&small, sm, strlen(sm));
    bytes ref = {0};
    for (size_t chunk = 0; chunk < 3; chunk++) {
        size_t step = chunk == 0 ? SIZE_MAX : chunk == 1 ? 1 : 333;
        bytes out = {0};
        mem_sink sink;
        spill_object_sink s;
        sink_start(&sink, &s);
        spill_filter_opts o;
        spill_filter_opts_init(&o);
        o.framing = SPILL_FRAMING_MESSAGE;
        o.threshold_tokens = 1000;
        o.sink = &s;
        o.emit = out_emit;
        o.emit_ud = &out;
        spill_filter *f;
        ASSERT_OK(spill_filter_new(&f, &o));
        for (int m = 0; m < 2; m++) {
            const bytes *b = m ? &small : &body;
            for (size_t i = 0; i < b->n; i += step)
                ASSERT_OK(spill_filter_feed(f, SPILL_S2C, b->p + i, b->n - i < step ? b->n - i : step));
            ASSERT_OK(spill_filter_end_message(f, SPILL_S2C));
        }
        spill_filter_free(f);
        ASSERT_EQ(sink.n, 1);
        ASSERT_EQ(sink.objs[0].data.n, text.n);
        ASSERT_MEM_EQ(sink.objs[0].data.p, text.p, text.n);
        /* The rewritten body, then the small message exactly as it was. */
        ASSERT(out.n > small.n && memcmp(out.p + out.n - small.n, small.p, small.n) == 0);
        ASSERT(valid_json(out.p, out.n - small.n));
        if (chunk == 0)
            ref = out;
        else {
            ASSERT_EQ(out.n, ref.n);
            ASSERT_MEM_EQ(out.p, ref.p, ref.n);
            free(out.p);
        }
        sink_clear(&sink);
    }
    free(ref.p);
    free(text.p);
    free(body.p);
    free(small.p);
}


/* ---- lazy counting: small results cost no counting ---------------------------------- */

/* A counter that calls every byte a token and records how many bytes it was fed. */
static uint64_t lz_fed;
static int lz_create(void *ctx, void **state)
{
    (void)ctx;
    *state = calloc(1, sizeof(uint64_t));
    return *state ? 0 : SPILL_E_NOMEM;
}
static void lz_feed(void *state, const void *p, size_t n)
{
    (void)p;
    *(uint64_t *)state += n;
    lz_fed += n;
}
static uint64_t lz_count(const void *state) { return *(const uint64_t *)state; }
static void lz_destroy(void *state) { free(state); }

/* One tools/call of `tool` (rules: tiny_tool 1000 tokens) answered with a text of n
 * bytes, the result's key before "id" when late_id; threshold 2000. Returns whether it
 * was spilled, and the bytes the counter saw in *fed. */
static int lz_run(double max_per_byte, size_t n, const char *tool, int late_id, uint64_t *fed)
{
    spill_counter_vtab cv = {"bytes", NULL, lz_create, lz_feed, lz_count, lz_destroy, NULL, NULL, max_per_byte, NULL};
    spill_rule rule[] = {{NULL, "tiny_tool", NULL, 1000}};
    bytes c2s = {0}, s2c = {0}, text = {0};
    char head[256];
    int k = snprintf(head, sizeof head, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\"}}\n", tool);
    put(&c2s, head, (size_t)k);
    for (size_t i = 0; i < n; i++)
        put(&text, "abcdefgh" + i % 8, 1);
    const char *pre = late_id ? "{\"jsonrpc\":\"2.0\",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\""
                              : "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"";
    put(&s2c, pre, strlen(pre));
    put(&s2c, text.p, text.n);
    put(&s2c, late_id ? "\"}]},\"id\":1}\n" : "\"}]}}\n", late_id ? 13 : 6);
    spill_filter_opts o;
    spill_filter_opts_init(&o);
    o.threshold_tokens = 2000;
    o.min_spill_bytes = 256;
    o.client_defaults = 0;
    o.rules = rule;
    o.nrules = 1;
    o.counter = &cv;
    free(text.p);
    lz_fed = 0;
    const int spilled = call_spills(&o, &c2s, &s2c, 1); /* a byte at a time */
    *fed = lz_fed;
    return spilled;
}

static void lazy_counting(void)
{
    uint64_t fed;
    /* 500 bytes can never be 2000 tokens at 1 per byte: nothing is counted. */
    ASSERT_EQ(lz_run(1.0, 500, "t", 0, &fed), 0);
    ASSERT_EQ(fed, 0);
    /* At up to 5 per byte it could: counted, every byte, and still under. */
    ASSERT_EQ(lz_run(5.0, 500, "t", 0, &fed), 0);
    ASSERT_EQ(fed, 500);
    /* A counter without a bound is fed everything. */
    ASSERT_EQ(lz_run(0, 500, "t", 0, &fed), 0);
    ASSERT_EQ(fed, 500);
    /* Over the threshold only with the kept bytes counted: they are counted first. */
    ASSERT_EQ(lz_run(1.0, 2100, "t", 0, &fed), 1);
    ASSERT(fed >= 2100);
    ASSERT_EQ(lz_run(1.0, 1999, "t", 0, &fed), 0);
    /* The id comes after the payload and names a tool whose threshold (1000) is under
     * the bound of the bytes kept: they are counted at the end, and the result spills. */
    ASSERT_EQ(lz_run(1.0, 1500, "tiny_tool", 1, &fed), 1);
    ASSERT_EQ(lz_run(1.0, 1500, "other_tool", 1, &fed), 0);
    ASSERT_EQ(fed, 0);
}

/* ---- the decision's counter goes on counting the payload ------------------------- */

/* Runs one tools/call answered by s2c (built from the parts: a text of n bytes where
 * a part is NULL, the parts' own bytes otherwise) through a filter whose counter
 * calls each byte a token (threshold 2000), fed `chunk` bytes at a time. Returns the
 * bytes all counter states were fed (UINT64_MAX if nothing spilled); *out gets the
 * output. */
static uint64_t ho_run(const char *const *parts, const size_t *sizes, size_t nparts, size_t chunk,
                       bytes *out)
{
    spill_counter_vtab cv = {"bytes", NULL, lz_create, lz_feed, lz_count, lz_destroy, NULL, NULL, 1.0, NULL};
    bytes c2s = {0}, s2c = {0};
    const char *call = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\"}}\n";
    put(&c2s, call, strlen(call));
    for (size_t i = 0; i < nparts; i++)
        if (parts[i])
            put(&s2c, parts[i], strlen(parts[i]));
        else
            for (size_t k = 0; k < sizes[i]; k++)
                put(&s2c, "abcdefgh" + k % 8, 1);
    spill_filter_opts o;
    spill_filter_opts_init(&o);
    o.threshold_tokens = 2000;
    o.min_spill_bytes = 256;
    o.client_defaults = 0;
    o.counter = &cv;
    lz_fed = 0;
    free(out->p);
    const int spilled = call_spills_out(&o, &c2s, &s2c, chunk, out);
    return spilled == 1 ? lz_fed : UINT64_MAX;
}

static int has(const bytes *b, const char *s) { return b->n && memmem(b->p, b->n, s, strlen(s)) != NULL; }

static void counter_handover(void)
{
    static const char *const head = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"";
    static const char *const mid = "\"},{\"type\":\"text\",\"text\":\"";
    static const char *const end = "\"}]}}\n";
    for (int w = 0; w < 2; w++) {
        const size_t chunk = w ? 1 : 1u << 20;
        bytes out = {0};
        /* One payload: the bytes the decision counted are not counted again. */
        const char *one[] = {head, NULL, end};
        const size_t one_n[] = {0, 10000, 0};
        ASSERT_EQ(ho_run(one, one_n, 3, chunk, &out), 10000);
        ASSERT(has(&out, "about 10,000 tokens (bytes)"));
        /* Decided inside the first of two: it goes on; the second has its own counter. */
        const char *two[] = {head, NULL, mid, NULL, end};
        const size_t two_n[] = {0, 3000, 0, 3000, 0};
        ASSERT_EQ(ho_run(two, two_n, 5, chunk, &out), 6000);
        ASSERT(has(&out, "about 3,000 tokens (bytes)"));
        /* Decided in the second: the decision's count spans both, so both start over
         * (the decision saw 2001 bytes or more, as the scanner's chunks fell). */
        const size_t small_n[] = {0, 1500, 0, 1500, 0};
        uint64_t fed = ho_run(two, small_n, 5, chunk, &out);
        ASSERT(fed >= 2001 + 3000 && fed <= 3000 + 3000);
        ASSERT(has(&out, "about 1,500 tokens (bytes)"));
        /* A batch: the decision's count may span its messages, so it is not handed on. */
        const char *batch[] = {"[", head, NULL, "\"}]}}]\n"};
        const size_t batch_n[] = {0, 0, 10000, 0};
        fed = ho_run(batch, batch_n, 4, chunk, &out);
        ASSERT(fed >= 2001 + 10000 && fed <= 2 * 10000);
        ASSERT(has(&out, "about 10,000 tokens (bytes)"));
        free(out.p);
    }
}

/* ---- whole and split at random points ------------------------------------------ */

/* What one run of a server stream gave. */
typedef struct split_run { bytes out; int nobj; char tool[64]; bytes objs[8]; } split_run;

static void split_free(split_run *r)
{
    free(r->out.p);
    for (int i = 0; i < 8; i++)
        free(r->objs[i].p);
    memset(r, 0, sizeof *r);
}

/* Runs c2s, then s2c whole (seed 0), a byte at a time (seed 1) or cut at random points
 * (other seeds), through a filter with options o. 0, or the filter's error. */
static int split_feed(spill_filter_opts *o, const bytes *c2s, const bytes *s2c, uint64_t seed, split_run *res)
{
    memset(res, 0, sizeof *res);
    mem_sink *sink = calloc(1, sizeof *sink);
    spill_object_sink s;
    sink_start(sink, &s);
    o->sink = &s;
    o->emit = out_emit;
    o->emit_ud = &res->out;
    spill_filter *f = NULL;
    int rc = spill_filter_new(&f, o);
    if (rc == 0)
        rc = spill_filter_feed(f, SPILL_C2S, c2s->p, c2s->n);
    rng = seed * 131 + 17;
    for (size_t i = 0; rc == 0 && i < s2c->n;) {
        size_t k = seed == 0 ? s2c->n : seed == 1 ? 1 : 1 + next() % (next() % 2 ? 64 : 40000);
        if (k > s2c->n - i)
            k = s2c->n - i;
        rc = spill_filter_feed(f, SPILL_S2C, s2c->p + i, k);
        i += k;
    }
    if (rc == 0)
        rc = spill_filter_finish(f, SPILL_S2C);
    spill_filter_free(f);
    res->nobj = sink->n;
    snprintf(res->tool, sizeof res->tool, "%s", sink->tool);
    for (int i = 0; i < sink->n && i < 8; i++)
        put(&res->objs[i], sink->objs[i].data.p, sink->objs[i].data.n);
    sink_clear(sink);
    free(sink);
    return rc;
}

/* Runs s2c whole into *ref, then a byte at a time and cut at random points: each must
 * give the same output and objects. Returns 1 if so. */
static int split_same(spill_filter_opts *o, const bytes *c2s, const bytes *s2c, split_run *ref)
{
    if (split_feed(o, c2s, s2c, 0, ref) != 0)
        return 0;
    for (uint64_t seed = s2c->n > (1u << 20) ? 2 : 1; seed < 5; seed++) {
        split_run r;
        int same = split_feed(o, c2s, s2c, seed, &r) == 0 && r.out.n == ref->out.n &&
                   memcmp(r.out.p, ref->out.p, r.out.n) == 0 && r.nobj == ref->nobj &&
                   strcmp(r.tool, ref->tool) == 0;
        for (int i = 0; same && i < r.nobj && i < 8; i++)
            same = r.objs[i].n == ref->objs[i].n && memcmp(r.objs[i].p, ref->objs[i].p, r.objs[i].n) == 0;
        split_free(&r);
        if (!same) {
            printf("# seed %llu changed the output\n", (unsigned long long)seed);
            return 0;
        }
    }
    return 1;
}

/* A tools/call of `tool` (id 1) answered with one text item of n bytes; Playwright MCP's
 * key order ({"result":...,"jsonrpc":"2.0","id":1}) when late_id. */
static void one_call(bytes *c2s, bytes *s2c, const char *client, const char *tool, size_t n, int late_id)
{
    char head[512];
    int k = snprintf(head, sizeof head, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
                     "{\"protocolVersion\":\"2025-06-18\",\"clientInfo\":{\"name\":\"%s\"}}}\n"
                     "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\"}}\n",
                     client, tool);
    put(c2s, head, (size_t)k);
    bytes text = {0};
    rng = 5;
    gen_text(&text, n);
    const char *pre = late_id ? "{\"result\":{\"content\":[{\"type\":\"text\",\"text\":\""
                              : "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"";
    put(s2c, pre, strlen(pre));
    json_escape(s2c, &text);
    const char *post = late_id ? "\"}]},\"jsonrpc\":\"2.0\",\"id\":1}\n" : "\"}]}}\n";
    put(s2c, post, strlen(post));
    free(text.p);
}

/* Issue 11 §5: a tool rule raises the threshold for its tool above the default; only
 * client rules (built in or given) cap. Whole and split: the same decision. */
static void tool_rule_raises(void)
{
    static const struct { const char *client, *tool; int client_rule, spills; } cases[] = {
        {"some-client", "big_tool", 0, 0},   /* raised to 500,000: about 145,000 tokens stay */
        {"some-client", "other_tool", 0, 1}, /* the default, 100,000, still holds for others */
        {"claude-code", "big_tool", 0, 1},   /* Claude Code's built-in cap (25,000) still caps */
        {"some-client", "big_tool", 1, 1},   /* and so does a client rule */
    };
    for (int late = 0; late < 2; late++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            spill_rule rules[] = {{NULL, "big_tool", NULL, 500000}, {NULL, NULL, "some-client", 50000}};
            bytes c2s = {0}, s2c = {0};
            one_call(&c2s, &s2c, cases[i].client, cases[i].tool, 400000, late);
            spill_filter_opts o;
            spill_filter_opts_init(&o);
            o.rules = rules;
            o.nrules = cases[i].client_rule ? 2 : 1;
            split_run ref;
            int same = split_same(&o, &c2s, &s2c, &ref);
            int spilled = ref.nobj > 0, identical = ref.out.n == s2c.n && !memcmp(ref.out.p, s2c.p, s2c.n);
            free(c2s.p);
            free(s2c.p);
            split_free(&ref);
            if (!same)
                FAILF("case %zu (late id %d): split input gave another output", i, late);
            if (spilled != cases[i].spills || identical == cases[i].spills)
                FAILF("case %zu (%s, %s, late id %d): spilled %d, expected %d", i, cases[i].client,
                      cases[i].tool, late, spilled, cases[i].spills);
        }
}

/* Issue 11 §5: the id after the result (Playwright MCP's key order). Within the inline
 * budget the decision waits for it: the tool's rule applies, and the handle and the
 * object's record name the tool. Past the budget the handle says the tool is unknown. */
static void late_id(void)
{
    spill_rule rules[] = {{NULL, "tiny_tool", NULL, 1000}};
    bytes c2s = {0}, s2c = {0};
    one_call(&c2s, &s2c, "some-client", "tiny_tool", 60000, 1);
    spill_filter_opts o;
    spill_filter_opts_init(&o);
    o.rules = rules;
    o.nrules = 1;
    split_run ref;
    int same = split_same(&o, &c2s, &s2c, &ref);
    int named = has(&ref.out, "from: content[0].text of tools/call tiny_tool\\n") && !strcmp(ref.tool, "tiny_tool");
    int valid = valid_json(ref.out.p, ref.out.n) && has(&ref.out, "\"id\":1}") && ref.nobj == 1;
    split_free(&ref);
    free(s2c.p);
    free(c2s.p);
    ASSERT(same);
    ASSERT(named);
    ASSERT(valid);
    /* A result of 400,000 bytes past a 64 KiB budget: decided on what is known. */
    memset(&c2s, 0, sizeof c2s);
    memset(&s2c, 0, sizeof s2c);
    one_call(&c2s, &s2c, "some-client", "big_tool", 400000, 1);
    spill_filter_opts_init(&o);
    o.inline_budget = 64 << 10;
    same = split_same(&o, &c2s, &s2c, &ref);
    int unknown = has(&ref.out, "from: content[0].text of a request not known yet") && !strcmp(ref.tool, "-");
    valid = valid_json(ref.out.p, ref.out.n) && ref.nobj == 1;
    split_free(&ref);
    free(s2c.p);
    free(c2s.p);
    ASSERT(same);
    ASSERT(unknown);
    ASSERT(valid);
}

/* Issue 11 §2: a result over the threshold made of many small items. Each item is
 * under min_spill, so each stayed inline: 50,000 texts of 20 bytes passed whole, and
 * 10,000 of 3 KB passed the skeleton's cap and were lost. Consecutive small items are
 * now stored together, as a JSON array with one item a line, exactly as they came. */
static void small_items_item(bytes *b, size_t i, size_t text_bytes)
{
    char head[64];
    int k = snprintf(head, sizeof head, "{\"type\":\"text\",\"text\":\"item %zu ", i);
    put(b, head, (size_t)k);
    for (size_t n = (size_t)k - 24; n < text_bytes; n++)
        put(b, "abcdefgh\\n" + n % 10, 1); /* "\n" escapes now and then */
    put(b, "\"}", 2);
}

/* The result of `nitems` items of text_bytes each (id 1, tools/call "t"); *stored gets the
 * object they must be stored as. */
static void small_items_result(bytes *c2s, bytes *s2c, bytes *stored, size_t nitems, size_t text_bytes)
{
    const char *call = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\"}}\n";
    put(c2s, call, strlen(call));
    const char *pre = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[";
    put(s2c, pre, strlen(pre));
    put(stored, "[", 1);
    for (size_t i = 0; i < nitems; i++) {
        if (i) {
            put(s2c, i % 3 ? "," : " , ", i % 3 ? 1 : 3); /* whitespace between is not stored */
            put(stored, ",\n", 2);
        }
        size_t at = s2c->n;
        small_items_item(s2c, i, text_bytes);
        put(stored, s2c->p + at, s2c->n - at);
    }
    put(s2c, "]}}\n", 4);
    put(stored, "]\n", 2);
}

static int small_items_case(size_t nitems, size_t text_bytes, char *why, size_t whylen)
{
    bytes c2s = {0}, s2c = {0}, stored = {0};
    small_items_result(&c2s, &s2c, &stored, nitems, text_bytes);
    spill_filter_opts o;
    spill_filter_opts_init(&o);
    o.client_defaults = 0;
    split_run ref;
    int ok = split_same(&o, &c2s, &s2c, &ref);
    if (!ok)
        snprintf(why, whylen, "split input gave another output");
    else if (ref.nobj != 1 || ref.objs[0].n != stored.n || memcmp(ref.objs[0].p, stored.p, stored.n))
        snprintf(why, whylen, "%d objects, not the items as one JSON array (%zu bytes, not %zu): %.200s", ref.nobj,
                 ref.objs[0].n, stored.n, ref.out.p ? (const char *)ref.out.p : "");
    else if (!valid_json(ref.out.p, ref.out.n) || ref.out.n > 8000 || !has(&ref.out, "[spill]"))
        snprintf(why, whylen, "the result is not one small valid handle (%zu bytes): %.200s", ref.out.n,
                 (const char *)ref.out.p);
    else
        ok = 2;
    split_free(&ref);
    free(c2s.p);
    free(s2c.p);
    free(stored.p);
    return ok == 2;
}

static void small_items(void)
{
    char why[512];
    if (!small_items_case(50000, 20, why, sizeof why))
        FAILF("50,000 items of 20 bytes: %s", why);
    if (!small_items_case(10000, 3000, why, sizeof why))
        FAILF("10,000 items of 3 KB: %s", why);
}

/* Many medium items (each over min_spill): a handle each would pass most of the result
 * on (2,000 x 5 KB gave 8.3 MB of handles, and 2,000 objects). Past a few handles the
 * rest join one run, stored as one JSON array; the output stays small. */
static void medium_items(void)
{
    bytes c2s = {0}, s2c = {0}, stored = {0};
    small_items_result(&c2s, &s2c, &stored, 2000, 5000);
    spill_filter_opts o;
    spill_filter_opts_init(&o);
    o.client_defaults = 0;
    split_run ref;
    int same = split_same(&o, &c2s, &s2c, &ref);
    /* The first k items have a handle each (their texts stored); the rest are one run. */
    int k = ref.nobj - 1, objs = k >= 1 && k <= 7 && ref.nobj <= 8;
    const unsigned char *at = s2c.p;
    for (int i = 0; objs && i < k; i++) { /* item i's text is the object, as it decodes */
        const unsigned char *t = memmem(at, s2c.n - (size_t)(at - s2c.p), "\"text\":\"", 8);
        objs = t && ref.objs[i].n > 4000 && ref.objs[i].n < 5000 && !memcmp(ref.objs[i].p, "item ", 5);
        at = t ? t + 8 : at;
    }
    char want[64];
    snprintf(want, sizeof want, "[{\"type\":\"text\",\"text\":\"item %d ", k);
    const unsigned char *from = objs ? memmem(stored.p, stored.n, want + 1, strlen(want) - 1) : NULL;
    objs = objs && from && ref.objs[k].n == 1 + stored.n - (size_t)(from - stored.p) &&
           ref.objs[k].p[0] == '[' && !memcmp(ref.objs[k].p + 1, from, stored.n - (size_t)(from - stored.p));
    char label[96];
    snprintf(label, sizeof label, "from: content[%d..1999] (%d items, stored as a JSON array", k, 2000 - k);
    int small = valid_json(ref.out.p, ref.out.n) && ref.out.n < 40000 && has(&ref.out, label);
    split_free(&ref);
    free(c2s.p);
    free(s2c.p);
    free(stored.p);
    ASSERT(same);
    ASSERT(objs);
    ASSERT(small);
}

/* Runs of small items around a large one and an image: each run is one object and one
 * item in its place, in order; a run under min_spill stays as it came; the image stays. */
static void small_item_runs(void)
{
    bytes c2s = {0}, s2c = {0}, run1 = {0}, run2 = {0}, big = {0};
    const char *call = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\"}}\n";
    put(&c2s, call, strlen(call));
    const char *pre = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[";
    put(&s2c, pre, strlen(pre));
    put(&run1, "[", 1);
    for (size_t i = 0; i < 300; i++) { /* content[0..299] */
        if (i)
            put(&s2c, ",", 1), put(&run1, ",\n", 2);
        size_t at = s2c.n;
        small_items_item(&s2c, i, 100);
        put(&run1, s2c.p + at, s2c.n - at);
    }
    put(&run1, "]\n", 2);
    rng = 3;
    gen_text(&big, 9000); /* content[300]: spilled on its own, the run before it ends */
    put(&s2c, ",{\"type\":\"text\",\"text\":\"", 24);
    json_escape(&s2c, &big);
    const char *img = "{\"type\":\"image\",\"data\":\"iVBORw0KGgo=\",\"mimeType\":\"image/png\"}";
    put(&s2c, "\"},", 3);
    put(&s2c, img, strlen(img)); /* content[301]: stays an image */
    put(&run2, "[", 1);
    for (size_t i = 302; i < 602; i++) { /* content[302..601] */
        put(&s2c, ",", 1);
        if (i > 302)
            put(&run2, ",\n", 2);
        size_t at = s2c.n;
        small_items_item(&s2c, i, 100);
        put(&run2, s2c.p + at, s2c.n - at);
    }
    put(&run2, "]\n", 2);
    const char *tiny = ",[\"not an item\"],{\"type\":\"text\",\"text\":\"tiny\"},{\"type\":\"text\",\"text\":\"tiny 2\"}";
    put(&s2c, tiny, strlen(tiny)); /* a value that is no item ends the run; a small run stays */
    put(&s2c, "]}}\n", 4);
    spill_filter_opts o;
    spill_filter_opts_init(&o);
    o.threshold_tokens = 1000;
    split_run ref;
    int same = split_same(&o, &c2s, &s2c, &ref);
    const unsigned char *p = ref.out.p;
    const size_t n = ref.out.n;
    const char *g1 = memmem(p, n, "from: content[0..299] (300 items", 32);
    const char *b = memmem(p, n, "from: content[300].text", 23);
    const char *im = memmem(p, n, img, strlen(img));
    const char *g2 = memmem(p, n, "from: content[302..601] (300 items", 34);
    const char *t = memmem(p, n, tiny, strlen(tiny));
    int objs = ref.nobj == 3 && ref.objs[0].n == run1.n && !memcmp(ref.objs[0].p, run1.p, run1.n) &&
               ref.objs[1].n == big.n && !memcmp(ref.objs[1].p, big.p, big.n) && ref.objs[2].n == run2.n &&
               !memcmp(ref.objs[2].p, run2.p, run2.n);
    int valid = valid_json(p, n);
    FILE *d = getenv("SPILL_TEST_DUMP") ? fopen("/tmp/spill-runs.ndjson", "w") : NULL;
    if (d) {
        fwrite(p, 1, n, d);
        fclose(d);
    }
    split_free(&ref);
    free(c2s.p);
    free(s2c.p);
    free(run1.p);
    free(run2.p);
    free(big.p);
    ASSERT(same);
    ASSERT(objs);
    ASSERT(valid);
    ASSERT(g1 && b && im && g2 && t);
    ASSERT(g1 < b && b < im && im < g2 && g2 < t);
}

/* ---- the preview is valid UTF-8 ---------------------------------------------------- */

/* Well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF)? */
static int utf8_ok(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        if (!len || i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++) {
            unsigned d = p[i + k];
            if ((d & 0xc0) != 0x80 || (k == 1 && ((c == 0xe0 && d < 0xa0) || (c == 0xed && d > 0x9f) ||
                                                  (c == 0xf0 && d < 0x90) || (c == 0xf4 && d > 0x8f))))
                return 0;
        }
        i += len;
    }
    return 1;
}

static size_t count_of(const bytes *b, const char *s)
{
    size_t k = 0, n = strlen(s);
    for (const unsigned char *p = b->p, *e = b->p + b->n; (p = memmem(p, (size_t)(e - p), s, n)) != NULL; p += n)
        k++;
    return k;
}

/* A result of one text payload (raw bytes, JSON-escaped only where JSON must be) through
 * the filter whole and split; the output must be valid UTF-8 and the same each time. */
static int preview_run(const bytes *text, size_t head, size_t tail, bytes *out)
{
    bytes c2s = {0}, s2c = {0};
    const char *call = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\"}}\n";
    put(&c2s, call, strlen(call));
    const char *pre = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"";
    put(&s2c, pre, strlen(pre));
    for (size_t i = 0; i < text->n; i++) {
        unsigned char c = text->p[i];
        if (c == '"' || c == '\\')
            put(&s2c, "\\", 1);
        if (c == '\n')
            put(&s2c, "\\n", 2);
        else
            put(&s2c, &c, 1);
    }
    put(&s2c, "\"}]}}\n", 6);
    spill_filter_opts o;
    spill_filter_opts_init(&o);
    o.threshold_tokens = 1000;
    o.client_defaults = 0;
    o.preview_head_bytes = head;
    o.preview_tail_bytes = tail;
    split_run ref;
    int ok = split_same(&o, &c2s, &s2c, &ref) && ref.nobj == 1 && ref.objs[0].n == text->n &&
             !memcmp(ref.objs[0].p, text->p, text->n) && valid_json(ref.out.p, ref.out.n);
    *out = ref.out; /* kept */
    ref.out.p = NULL;
    split_free(&ref);
    free(c2s.p);
    free(s2c.p);
    return ok;
}

/* Issue 11 §2: the server's invalid UTF-8 never reaches the agent in a preview (each
 * such byte is U+FFFD, counted and said, as spill_read does); valid characters are
 * never cut, wherever the head and tail end. */
static void preview_utf8(void)
{
    static const char fffd[] = "\xef\xbf\xbd";
    for (size_t head = 2046; head <= 2049; head++)
        for (size_t tail = 1021; tail <= 1024; tail++) {
            /* Valid text of 2-, 3- and 4-byte characters, no newline to cut at. */
            bytes text = {0}, out = {0};
            for (int i = 0; text.n < 20000; i++)
                put(&text, i % 3 == 0 ? "日本語" : i % 3 == 1 ? "é😀x" : "ü", i % 3 == 0 ? 9 : i % 3 == 1 ? 7 : 2);
            int ok = preview_run(&text, head, tail, &out);
            int clean = utf8_ok(out.p, out.n) && count_of(&out, fffd) == 0 && !has(&out, "not UTF-8");
            free(out.p);
            memset(&out, 0, sizeof out);
            /* The same with invalid bytes among them, at the head's and tail's edges too. */
            for (size_t at = 0; at < text.n; at += 1 + at % 997)
                text.p[at] = at % 2 ? 0xff : 0xc3;
            text.p[head - 1] = 0xe6; /* a lead cut where the head ends */
            text.p[text.n - tail] = 0x80; /* a continuation where the tail begins */
            text.p[text.n - 1] = 0xf0; /* and an unfinished sequence at the very end */
            int ok2 = preview_run(&text, head, tail, &out);
            char note[96];
            snprintf(note, sizeof note, "--- %zu bytes that are not UTF-8 are shown as U+FFFD", count_of(&out, fffd));
            int said = utf8_ok(out.p, out.n) && count_of(&out, fffd) > 3 && has(&out, note);
            free(out.p);
            free(text.p);
            if (!ok || !ok2)
                FAILF("head %zu, tail %zu: split input gave another output, or the object differs", head, tail);
            if (!clean)
                FAILF("head %zu, tail %zu: a valid character was cut or replaced in the preview", head, tail);
            if (!said)
                FAILF("head %zu, tail %zu: invalid UTF-8 in the preview, or not counted and said", head, tail);
        }
    /* A JSON text: key names and the sample are cleaned too. */
    bytes text = {0}, out = {0};
    put(&text, "{\"k\xff\xfe\":[", 8);
    for (int i = 0; text.n < 20000; i++) {
        char rec[64];
        put(&text, rec, (size_t)snprintf(rec, sizeof rec, "%s{\"v\":\"\xc0\xaf %d\"}", i ? "," : "", i));
    }
    put(&text, "]}", 2);
    int ok = preview_run(&text, 2048, 1024, &out);
    int clean = utf8_ok(out.p, out.n) && has(&out, "shape: JSON object") && has(&out, "not UTF-8");
    free(out.p);
    free(text.p);
    ASSERT(ok);
    ASSERT(clean);
}

int main(void)
{
    h_seed();
    RUN(thresholds);
    RUN(lazy_counting);
    RUN(counter_handover);
    RUN(tool_rule_raises);
    RUN(late_id);
    RUN(small_items);
    RUN(small_item_runs);
    RUN(medium_items);
    RUN(preview_utf8);
    RUN(message_framing);
    RUN(transcripts);
    RUN(allocation_failures);
    return h_failures ? 1 : 0;
}
