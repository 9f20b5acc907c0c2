/* fuzz_filter.c - the rewrite path of the filter. Fuzz bytes become MCP messages:
 * the payload of a tools/call result (content[].text, image data as base64,
 * structuredContent, an embedded resource), of a resources/read result (contents[]
 * text or blob) or of a prompts/get result, one message a line; or a raw line as it
 * is. A tiny threshold and min_spill make the filter rewrite. The stream is fed whole,
 * line by line, and in fuzzer-chosen chunks; abort() unless:
 *   - all three runs agree exactly (return codes, output, stats, sink objects);
 *   - each input line gives exactly one output line (framing kept);
 *   - an output line is valid JSON (spill__scan) when its input line was;
 *   - a line that is not valid JSON passes unchanged, or (a rewrite had begun before
 *     the error showed) is replaced by a valid message that says so;
 *   - a valid line for which nothing was stored and nothing failed is unchanged;
 *   - every object stored names itself (its id) in its line's output;
 *   - a wrapped payload that was stored is in the sink exactly: the decoded text, the
 *     decoded binary, or structuredContent's JSON text as it was in the line;
 *   - a response to a request of another method (tools/list) is never touched.
 * ASan/LSan catch crashes and leaks.
 *
 * Input: 4 header bytes, then (h & 7) + 1 plan bytes, then segments.
 *   h = byte 0: & 7 plan bytes - 1 (chunk sizes cycle through them; 0 = an empty feed;
 *       all zero: 1 byte at a time); & 0x08 chunk sizes times 61; & 0x10 the last line
 *       has no newline (the stream is cut off); & 0x20 inline budget 16 + 8 * byte 2
 *       (else 1 MiB); & 0x40 resource_links always (else auto, which the era decides);
 *       & 0x80 announce protocol 2025-06-18 (resource links in auto mode)
 *   byte 1: & 3 threshold {10, 1, 40, 200} tokens; >> 2 & 3 min_spill {16, 1, 64, 1000};
 *       >> 4 & 3 preview head {0, 16, 64, 2048}; >> 6 tail {0, 8, 32, 1024}
 *   byte 3: sink failures as in fuzz_frame.c: & 3 mode (none, begin, write, commit),
 *       >> 2 & 0x1f = k, & 0x80 last_error has a detail
 *   segment: kind byte, 2 length bytes (little endian; cut to what is left), payload.
 *     kind & 7: 0 content text, 1 content image (base64), 2 structuredContent (the
 *       bytes if they are JSON, else {"text": bytes}), 3 contents[] text, 4 contents[]
 *       blob, 5 embedded resource (text, or blob when style & 1), 6 prompt message
 *       text, 7 the bytes as a raw line ('\n' in them ends lines, as it would)
 *     style = kind >> 3 & 3: text: 0 minimal escapes, 1 ASCII as \u00XX, 2 mixed
 *       ('/' as "\/", every other ASCII byte as \u00XX), 3 \u escapes with upper-case
 *       hex; base64: 0 padded, 1 with "\n" escapes every 76 characters, 2 no padding,
 *       3 a '!' in it (not base64: stays text, or the store fails)
 *     kind >> 5 & 3 the request: 0 the right method, 1 none (unknown id), 2 tools/list,
 *       3 the right method with a string id
 *     kind & 0x80: the id after the result, and extra members before the payload
 *     content text: each 0x1e byte in it starts another text item (many small items
 *       are stored together: each object of such a line is an item's text exactly, or
 *       a JSON array of items, one a line)
 * SPILL_FUZZ_SKIP (fuzz_common.h) names checks to leave out while fuzzing past a known
 * finding: other_method; b64_junk (no malformed base64 is made, and runs that differ
 * by it are not compared); broken_chunking (runs are not compared when a begun rewrite
 * met invalid JSON). */
#include "fuzz_common.h"
#include "scan.h"

enum { K_TEXT = 0, K_IMAGE, K_STRUCT, K_RTEXT, K_RBLOB, K_EMBED, K_PROMPT, K_RAW };

typedef struct fz_line {
    size_t a, b;       /* the line in the stream, without its '\n' */
    int nl;            /* ends with '\n' */
    int wrapped;       /* built from a segment (else raw) */
    int other_method;  /* a response to tools/list, its id first */
    int exact;         /* expect holds the payload as it must be stored */
    int items;         /* content text items (more than 1: see fz_items_ok) */
    fz_buf expect;
} fz_line;

typedef struct fz_cfg {
    uint64_t threshold;
    size_t budget, min_spill, head, tail;
    int links, fail_mode, detail;
    unsigned fail_k;
} fz_cfg;

static int fz_valid_json(const unsigned char *p, size_t n)
{
    spill__scan sc;
    spill__scan_init(&sc);
    uint64_t off;
    int rc = spill__scan_feed(&sc, n ? p : NULL, n, NULL, NULL, &off);
    if (rc < 0)
        return 0;
    return spill__scan_finish(&sc, NULL, NULL, &off) == 1;
}

/* Appends p[0..n) as a JSON string in the given escape style. Decodes to p exactly. */
static void fz_json_str(fz_buf *o, const unsigned char *p, size_t n, int style)
{
    static const char hexl[] = "0123456789abcdef", hexu[] = "0123456789ABCDEF";
    const char *hex = style == 3 ? hexu : hexl;
    fz_put(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        const unsigned char c = p[i];
        const char *sh = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r"
                       : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
        if (c < 0x20 && sh && style == 0) {
            fz_puts(o, sh);
        } else if (c < 0x20 || (c < 0x80 && (style == 1 || style == 3 || (style == 2 && i % 2)))) {
            const char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            fz_put(o, e, 6);
        } else if (c == '"' || c == '\\') {
            fz_put(o, "\\", 1);
            fz_put(o, &c, 1);
        } else if (c == '/' && style == 2) {
            fz_puts(o, "\\/");
        } else {
            fz_put(o, &c, 1);
        }
    }
    fz_put(o, "\"", 1);
}

/* Base64 of p[0..n) into t (the decoded JSON string) in the given style. */
static void fz_b64(fz_buf *t, const unsigned char *p, size_t n, int style)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t col = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {al[v >> 18], al[v >> 12 & 63], i + 1 < n ? al[v >> 6 & 63] : '=',
                     i + 2 < n ? al[v & 63] : '='};
        size_t k = 4;
        if (style == 2)
            while (k && q[k - 1] == '=')
                k--;
        fz_put(t, q, k);
        if (style == 1 && (col += 4) >= 76) {
            fz_put(t, "\n", 1);
            col = 0;
        }
    }
    if (style == 3) /* not base64: '!' in the middle */
        fz_put(t, "!", 1);
    if (style == 3 && t->n > 1) {
        unsigned char x = t->p[t->n - 1];
        size_t at = (t->n - 1) / 2;
        memmove(t->p + at + 1, t->p + at, t->n - 1 - at);
        t->p[at] = x;
    }
}

static void fz_id(fz_buf *o, unsigned id, int str)
{
    char s[32];
    snprintf(s, sizeof s, str ? "\"s%u\"" : "%u", id);
    fz_puts(o, s);
}

/* One segment as one response line (and, for a request, one client line). */
static void fz_wrap(fz_buf *s2c, fz_buf *c2s, fz_line *ln, unsigned id, uint8_t kind,
                    const unsigned char *p, size_t n)
{
    const int shape = kind & 7, style = kind >> 3 & 3, req = kind >> 5 & 3, late = kind >> 7;
    const char *method = shape == K_RTEXT || shape == K_RBLOB ? "resources/read"
                       : shape == K_PROMPT ? "prompts/get" : "tools/call";
    if (req != 1) {
        fz_puts(c2s, "{\"jsonrpc\":\"2.0\",\"id\":");
        fz_id(c2s, id, req == 3);
        fz_puts(c2s, ",\"method\":\"");
        fz_puts(c2s, req == 2 ? "tools/list" : method);
        fz_puts(c2s, req == 2 ? "\"}\n"
                     : !strcmp(method, "resources/read") ? "\",\"params\":{\"uri\":\"file:///f\"}}\n"
                                                         : "\",\"params\":{\"name\":\"fz\"}}\n");
    }
    ln->a = s2c->n;
    ln->wrapped = 1;
    ln->other_method = req == 2 && !late;
    fz_puts(s2c, "{\"jsonrpc\":\"2.0\",");
    if (!late) {
        fz_puts(s2c, "\"id\":");
        fz_id(s2c, id, req == 3);
        fz_puts(s2c, ",");
    }
    fz_puts(s2c, "\"result\":{");
    if (late)
        fz_puts(s2c, "\"isError\":false,\"_meta\":{\"content\":[{\"text\":\"x\"}]},");
    fz_buf b64 = {0};
    const int blob = shape == K_IMAGE || shape == K_RBLOB || (shape == K_EMBED && (style & 1));
    int bstyle = shape == K_EMBED ? style & 2 ? 3 : 0 : style;
    if (bstyle == 3 && fz_skip("b64_junk"))
        bstyle = 0;
    if (blob) {
        fz_b64(&b64, p, n, bstyle);
        ln->exact = 1;
        if (bstyle == 3)
            fz_put(&ln->expect, b64.p, b64.n); /* stays text */
        else
            fz_put(&ln->expect, p, n);
    } else if (shape != K_STRUCT) {
        ln->exact = 1;
        fz_put(&ln->expect, p, n);
    }
    switch (shape) {
    case K_TEXT:
        fz_puts(s2c, "\"content\":[");
        for (size_t a = 0, i = 0; i <= n; i++) {
            if (i < n && p[i] != 0x1e)
                continue;
            fz_puts(s2c, ln->items++ ? "," : "");
            fz_puts(s2c, late ? "{\"text\":" : "{\"type\":\"text\",\"text\":");
            fz_json_str(s2c, p + a, i - a, style);
            fz_puts(s2c, late ? ",\"type\":\"text\"}" : "}");
            a = i + 1;
        }
        fz_puts(s2c, "]");
        ln->exact = ln->items == 1;
        break;
    case K_IMAGE:
        fz_puts(s2c, "\"content\":[{\"type\":\"image\",");
        if (late)
            fz_puts(s2c, "\"annotations\":{\"priority\":1},");
        fz_puts(s2c, "\"data\":");
        fz_json_str(s2c, b64.p, b64.n, 0);
        fz_puts(s2c, ",\"mimeType\":\"image/png\"}]");
        break;
    case K_STRUCT: {
        fz_puts(s2c, "\"content\":[],\"structuredContent\":");
        fz_buf v = {0};
        fz_put(&v, p, n);
        for (size_t i = 0; i < v.n; i++)
            if (v.p[i] == '\n')
                v.p[i] = ' ';
        if (n && fz_valid_json(v.p, v.n)) {
            size_t a = 0, e = v.n;
            while (a < e && (v.p[a] == ' ' || v.p[a] == '\t' || v.p[a] == '\r'))
                a++;
            while (e > a && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t' || v.p[e - 1] == '\r'))
                e--;
            fz_put(&ln->expect, v.p + a, e - a);
            fz_put(s2c, v.p, v.n);
        } else {
            size_t at = s2c->n;
            fz_puts(s2c, "{\"text\":");
            fz_json_str(s2c, p, n, style);
            fz_puts(s2c, "}");
            fz_put(&ln->expect, s2c->p + at, s2c->n - at);
        }
        ln->exact = 1;
        free(v.p);
        break;
    }
    case K_RTEXT:
    case K_RBLOB:
        fz_puts(s2c, "\"contents\":[{\"uri\":\"file:///f\",\"mimeType\":");
        fz_puts(s2c, shape == K_RTEXT ? "\"text/plain\"" : "\"application/octet-stream\"");
        fz_puts(s2c, shape == K_RTEXT ? ",\"text\":" : ",\"blob\":");
        if (shape == K_RTEXT)
            fz_json_str(s2c, p, n, style);
        else
            fz_json_str(s2c, b64.p, b64.n, 0);
        fz_puts(s2c, "}]");
        break;
    case K_EMBED:
        fz_puts(s2c, "\"content\":[{\"type\":\"resource\",\"resource\":{\"uri\":\"file:///r\",");
        if (blob) {
            fz_puts(s2c, "\"mimeType\":\"application/pdf\",\"blob\":");
            fz_json_str(s2c, b64.p, b64.n, 0);
        } else {
            fz_puts(s2c, "\"mimeType\":\"text/plain\",\"text\":");
            fz_json_str(s2c, p, n, style & 2 ? 3 : 0);
        }
        fz_puts(s2c, "}}]");
        break;
    case K_PROMPT:
        fz_puts(s2c, "\"description\":\"d\",\"messages\":[{\"role\":\"user\",\"content\":{\"type\":\"text\","
                     "\"text\":");
        fz_json_str(s2c, p, n, style);
        fz_puts(s2c, "}}]");
        break;
    }
    fz_puts(s2c, "}");
    if (late) {
        fz_puts(s2c, ",\"id\":");
        fz_id(s2c, id, req == 3);
    }
    fz_puts(s2c, "}");
    ln->b = s2c->n;
    fz_put(s2c, "\n", 1);
    ln->nl = 1;
    free(b64.p);
}

typedef struct fz_run_out {
    fz_out out;
    fz_sink sink;
    spill_filter_stats st;
    int rc;
    /* by line (line-by-line run only): output end, objects stored, store failures so far */
    size_t *out_end, *objs, *fails;
} fz_run_out;

static int fz_feed(spill_filter *f, spill_dir dir, const unsigned char *p, size_t n)
{
    unsigned char *copy = malloc(n ? n : 1);
    if (!copy)
        FZ_FAIL();
    if (n)
        memcpy(copy, p, n);
    int rc = spill_filter_feed(f, dir, n ? copy : NULL, n);
    free(copy);
    return rc;
}

/* mode 0: whole; 1: line by line; 2: chunk sizes from sizes[]. */
static void fz_run(const fz_cfg *c, const fz_buf *c2s, const fz_buf *s2c, const fz_line *lines,
                   size_t nlines, int mode, const uint8_t *sizes, size_t nsizes, size_t mul,
                   fz_run_out *r)
{
    memset(r, 0, sizeof *r);
    r->sink.fail_mode = c->fail_mode;
    r->sink.fail_k = c->fail_k;
    r->sink.fail_bytes = 16 * (uint64_t)c->fail_k;
    r->sink.detail = c->detail;
    spill_object_sink sk;
    fz_sink_make(&r->sink, &sk);
    spill_filter_opts o;
    spill_filter_opts_init(&o);
    o.threshold_tokens = c->threshold;
    o.inline_budget = c->budget;
    o.min_spill_bytes = c->min_spill;
    o.preview_head_bytes = c->head;
    o.preview_tail_bytes = c->tail;
    o.resource_links = c->links;
    o.client_defaults = 0;
    o.sink = &sk;
    o.emit = fz_emit;
    o.emit_ud = &r->out;
    spill_filter *f;
    if (spill_filter_new(&f, &o) != 0)
        FZ_FAIL();
    int rc = fz_feed(f, SPILL_C2S, c2s->p, c2s->n);
    if (rc || !fz_eq(&r->out.dir[SPILL_C2S], c2s))
        FZ_FAIL();
    if (mode == 1) {
        r->out_end = calloc(nlines + 1, sizeof *r->out_end);
        r->objs = calloc(nlines + 1, sizeof *r->objs);
        r->fails = calloc(nlines + 1, sizeof *r->fails);
        if (!r->out_end || !r->objs || !r->fails)
            FZ_FAIL();
        for (size_t i = 0; rc == 0 && i < nlines; i++) {
            rc = fz_feed(f, SPILL_S2C, s2c->p + lines[i].a, lines[i].b - lines[i].a + lines[i].nl);
            if (rc == 0 && i + 1 == nlines)
                rc = spill_filter_finish(f, SPILL_S2C);
            r->out_end[i] = r->out.dir[SPILL_S2C].n;
            r->objs[i] = r->sink.n;
            spill_filter_stats st;
            spill_filter_get_stats(f, &st);
            r->fails[i] = (size_t)st.store_failures;
        }
    } else {
        const size_t n = s2c->n;
        for (size_t at = 0, i = 0; rc == 0 && (at < n || (mode == 2 && i < nsizes && at == n));) {
            size_t k = mode == 2 ? (size_t)sizes[i++ % nsizes] * mul : n;
            if (k > n - at)
                k = n - at;
            rc = fz_feed(f, SPILL_S2C, s2c->p + at, k);
            at += k;
        }
    }
    if (rc == 0)
        rc = spill_filter_finish(f, SPILL_S2C);
    if (rc == 0)
        rc = spill_filter_finish(f, SPILL_C2S);
    r->rc = rc;
    spill_filter_get_stats(f, &r->st);
    spill_filter_free(f);
    if (r->sink.live != 0)
        FZ_FAIL();
}

static void fz_run_free(fz_run_out *r)
{
    free(r->out.dir[0].p);
    free(r->out.dir[1].p);
    fz_sink_free(&r->sink);
    free(r->out_end);
    free(r->objs);
    free(r->fails);
}

static int fz_same(const fz_run_out *a, const fz_run_out *b)
{
    return a->rc == b->rc && fz_eq(&a->out.dir[0], &b->out.dir[0]) &&
           fz_eq(&a->out.dir[1], &b->out.dir[1]) && fz_sink_same(&a->sink, &b->sink) &&
           fz_stats_same(&a->st, &b->st);
}

static int fz_contains(const unsigned char *p, size_t n, const char *s)
{
    const size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, s, k) == 0)
            return 1;
    return 0;
}

/* Shows a line that failed a check (in, out, what was stored), then fails. */
static void fz_show(const char *what, const unsigned char *p, size_t n)
{
    fprintf(stderr, "%s (%zu bytes): ", what, n);
    for (size_t i = 0; i < n && i < 600; i++)
        fputc(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.', stderr);
    fputs(n > 600 ? " ...\n" : "\n", stderr);
}
#define LINE_FAIL()                                                                    \
    do {                                                                               \
        fz_show("input line", in, in_n);                                               \
        fz_show("output line", out, out_n);                                            \
        for (size_t k_ = obj_a; k_ < obj_b; k_++)                                      \
            fz_show("stored", r->sink.objs[k_].data.p, r->sink.objs[k_].data.n);       \
        if (ln->exact)                                                                 \
            fz_show("expected", ln->expect.p, ln->expect.n);                           \
        FZ_FAIL();                                                                     \
    } while (0)

/* An object stored from a line of several text items: one item's text exactly, or a
 * run of them as a JSON array, one item a line. */
static int fz_item_ok(const fz_buf *o, const unsigned char *p, size_t n)
{
    if (o->n >= 3 && o->p[0] == '[' && o->p[o->n - 2] == ']' && o->p[o->n - 1] == '\n' &&
        fz_valid_json(o->p, o->n))
        return 1;
    for (size_t a = 0, i = 0; i <= n; i++)
        if (i == n || p[i] == 0x1e) {
            if (i - a == o->n && (o->n == 0 || memcmp(p + a, o->p, o->n) == 0))
                return 1;
            a = i + 1;
        }
    return 0;
}

/* Checks one line of the line-by-line run. */
static void fz_check_line(const fz_buf *s2c, const fz_line *ln, const fz_run_out *r, size_t i,
                          int last)
{
    static const unsigned char none[1];
    const unsigned char *in = s2c->p ? s2c->p + ln->a : none;
    const size_t in_n = ln->b - ln->a;
    const size_t o_a = i ? r->out_end[i - 1] : 0, o_b = r->out_end[i];
    const unsigned char *out = r->out.dir[SPILL_S2C].p ? r->out.dir[SPILL_S2C].p + o_a : none;
    size_t out_n = o_b - o_a;
    const size_t obj_a = i ? r->objs[i - 1] : 0, obj_b = r->objs[i];
    const size_t nfail = r->fails[i] - (i ? r->fails[i - 1] : 0);
    const int cut = last && !ln->nl;

    /* Framing: one line out for one line in. */
    if (ln->nl && (out_n == 0 || out[out_n - 1] != '\n'))
        LINE_FAIL();
    out_n -= ln->nl;
    /* A message spill writes in place of a cut-off one ends its line, so a line-reading
     * client gets it. */
    if (cut && out_n && out[out_n - 1] == '\n')
        out_n--;
    if (memchr(out, '\n', out_n))
        LINE_FAIL();
    const int same = out_n == in_n && (in_n == 0 || memcmp(out, in, in_n) == 0);
    const int in_valid = fz_valid_json(in, in_n);
    const int out_valid = fz_valid_json(out, out_n);
    if (in_valid && !out_valid)
        LINE_FAIL();
    if (!in_valid && !same && !(out_valid && fz_contains(out, out_n, "could not be passed on")))
        LINE_FAIL();
    if (in_valid && !cut && obj_a == obj_b && nfail == 0 && !same)
        LINE_FAIL();
    for (size_t k = obj_a; k < obj_b; k++)
        if (!fz_contains(out, out_n, r->sink.objs[k].id))
            LINE_FAIL();
    if (!ln->wrapped || !in_valid || cut)
        return; /* a cut-off line's object is what arrived of the message, not the payload */
    if (ln->other_method && (!same || obj_b != obj_a || nfail) && !fz_skip("other_method"))
        LINE_FAIL();
    if (ln->items > 1) {
        for (size_t k = obj_a; k < obj_b; k++)
            if (!fz_item_ok(&r->sink.objs[k].data, ln->expect.p, ln->expect.n))
                LINE_FAIL();
        return;
    }
    if (obj_b - obj_a > 1)
        LINE_FAIL(); /* one payload per wrapped line */
    if (obj_b == obj_a + 1 && ln->exact && !fz_eq(&r->sink.objs[obj_a].data, &ln->expect))
        LINE_FAIL();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    const uint8_t h = data[0], v = data[1], bb = data[2], fl = data[3];
    const size_t nplan = (size_t)(h & 7) + 1;
    if (size < 4 + nplan)
        return 0;
    const uint8_t *plan = data + 4;
    const unsigned char *p = data + 4 + nplan, *end = data + size;

    static const uint64_t thr[] = {10, 1, 40, 200};
    static const size_t msp[] = {16, 1, 64, 1000}, hd[] = {0, 16, 64, 2048}, tl[] = {0, 8, 32, 1024};
    fz_cfg c = {0};
    c.threshold = thr[v & 3];
    c.min_spill = msp[v >> 2 & 3];
    c.head = hd[v >> 4 & 3];
    c.tail = tl[v >> 6 & 3];
    c.budget = h & 0x20 ? 16 + 8 * (size_t)bb : (size_t)1 << 20;
    c.links = h & 0x40 ? 1 : -1;
    c.fail_mode = fl & 3;
    c.fail_k = (fl >> 2) & 0x1f;
    c.detail = (fl & 0x80) != 0;

    /* Build the two streams. */
    fz_buf c2s = {0}, s2c = {0};
    fz_line *lines = NULL;
    size_t nlines = 0, lcap = 0;
    if (h & 0x80)
        fz_puts(&c2s, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
                      "{\"protocolVersion\":\"2025-06-18\",\"clientInfo\":{\"name\":\"fz\"}}}\n");
    for (unsigned seg = 1; end - p >= 3; seg++) {
        const uint8_t kind = p[0];
        size_t n = (size_t)p[1] | (size_t)p[2] << 8;
        p += 3;
        if (n > (size_t)(end - p))
            n = (size_t)(end - p);
        if (nlines + n + 2 > lcap) {
            lcap = (nlines + n + 2) * 2;
            if (!(lines = realloc(lines, lcap * sizeof *lines)))
                FZ_FAIL();
        }
        if ((kind & 7) == K_RAW) {
            /* Raw bytes: every '\n' in them ends a line. */
            size_t a = 0;
            for (size_t i = 0; i <= n; i++)
                if (i == n || p[i] == '\n') {
                    fz_line *ln = &lines[nlines++];
                    memset(ln, 0, sizeof *ln);
                    ln->a = s2c.n;
                    fz_put(&s2c, p + a, i - a);
                    ln->b = s2c.n;
                    fz_put(&s2c, "\n", 1);
                    ln->nl = 1;
                    a = i + 1;
                }
        } else {
            fz_line *ln = &lines[nlines++];
            memset(ln, 0, sizeof *ln);
            fz_wrap(&s2c, &c2s, ln, seg, kind, p, n);
        }
        p += n;
    }
    if (nlines == 0) {
        free(c2s.p);
        free(s2c.p);
        free(lines);
        return 0;
    }
    if (h & 0x10) { /* cut off: no newline after the last line */
        s2c.n--;
        lines[nlines - 1].nl = 0;
    }

    static const uint8_t one = 1;
    int any = 0;
    for (size_t i = 0; i < nplan; i++)
        any |= plan[i];
    const size_t mul = h & 0x08 ? 61 : 1;

    fz_run_out whole, bylines, chunked;
    fz_run(&c, &c2s, &s2c, lines, nlines, 0, NULL, 0, 1, &whole);
    fz_run(&c, &c2s, &s2c, lines, nlines, 1, NULL, 0, 1, &bylines);
    fz_run(&c, &c2s, &s2c, lines, nlines, 2, any ? plan : &one, any ? nplan : 1,
           any ? mul : 1, &chunked);
    if (fz_incomparable(&whole.sink, &bylines.sink) || fz_incomparable(&whole.sink, &chunked.sink)) {
        fz_run_free(&whole);
        fz_run_free(&bylines);
        fz_run_free(&chunked);
        return 0;
    }
    const int bad_lines = !fz_same(&whole, &bylines) &&
                          !fz_known_diff(&whole.out.dir[SPILL_S2C], &bylines.out.dir[SPILL_S2C]);
    const int bad_chunks = !fz_same(&whole, &chunked) &&
                           !fz_known_diff(&whole.out.dir[SPILL_S2C], &chunked.out.dir[SPILL_S2C]);
    if (bad_lines || bad_chunks) {
        const fz_run_out *o = bad_lines ? &bylines : &chunked;
        fz_diff(o == &chunked ? "whole, chunked" : "whole, line by line", whole.rc, o->rc,
                whole.out.dir, o->out.dir, &whole.sink, &o->sink, &whole.st, &o->st);
        FZ_FAIL();
    }
    if (whole.rc != 0)
        FZ_FAIL(); /* no allocation or emit failure was injected */
    for (size_t i = 0; i < nlines; i++)
        fz_check_line(&s2c, &lines[i], &bylines, i, i + 1 == nlines);

    fz_run_free(&whole);
    fz_run_free(&bylines);
    fz_run_free(&chunked);
    for (size_t i = 0; i < nlines; i++)
        free(lines[i].expect.p);
    free(lines);
    free(c2s.p);
    free(s2c.p);
    return 0;
}
