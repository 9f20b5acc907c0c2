/* fuzz_frame.c - NDJSON framing and the probe/pass path of the filter. The input's
 * tail is a server-to-client stream; it is fed once whole and once in fuzzer-chosen
 * chunks, and both runs must agree exactly: return codes, emitted bytes in both
 * directions, stats, and the objects in the sink (failures included). When no line
 * can be over the threshold or the inline budget, the output must be the input byte
 * for byte and the sink untouched. Client-to-server bytes always pass unchanged.
 * ASan/LSan catch crashes and leaks; any mismatch abort()s.
 *
 * Input: 5 header bytes, then (h & 7) + 1 plan bytes, then the stream.
 *   h = byte 0:
 *     & 7     plan bytes - 1; chunk sizes cycle through them (0 = an empty feed; an
 *             all-zero plan feeds 1 byte at a time)
 *     & 0x08  chunk sizes times 61
 *     & 0x30  threshold: 0x00, 0x30 none (SPILL_NO_LIMIT); 0x10 t + 1 tokens;
 *             0x20 (t + 1) * 64 tokens
 *     & 0x40  inline budget 1 + 4 * b bytes (else 1 MiB)
 *     & 0x80  a client-to-server preamble first: initialize and requests with
 *             ids 1-5 (tools/call, resources/read, prompts/get, tools/list,
 *             tasks/result), so responses to them are judged by method
 *   t = byte 1, b = byte 2
 *   byte 3: sink failures: & 3 mode (none, begin, write, commit); k = (v >> 2) & 31; a write
 *           fails past 16 * k bytes of one object; begin/commit call c (from 0) fails when
 *           c % (k + 1) == k (k = 0: only the first);
 *           & 0x80 also says why through last_error
 *   byte 4: & 15 min_spill_bytes = 1 + 16 * (v & 15); >> 4 preview head = 8 * v,
 *           tail = 4 * v (0 ok)
 * Each chunk is fed from its own malloc'd copy, so ASan sees a read past it.
 * SPILL_FUZZ_SKIP=broken_chunking,b64_junk (fuzz_common.h): the runs are not compared
 * where they differ by a known finding, so that fuzzing can go on past it. */
#include "fuzz_common.h"

typedef struct fz_cfg {
    uint64_t threshold, byte_cap;
    size_t budget, min_spill, head, tail;
    int fail_mode, detail, preamble;
    unsigned fail_k;
} fz_cfg;

static const char preamble[] =
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
    "\"2025-06-18\",\"clientInfo\":{\"name\":\"fuzz\",\"version\":\"1\"}}}\n"
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"read\"}}\n"
    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/read\",\"params\":{\"uri\":\"file:///x\"}}\n"
    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"prompts/get\",\"params\":{\"name\":\"p\"}}\n"
    "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/list\"}\n"
    "{\"jsonrpc\":\"2.0\",\"id\":\"5\",\"method\":\"tasks/result\",\"params\":{}}\n";

typedef struct fz_run_out {
    fz_out out;
    fz_sink sink;
    spill_filter_stats st;
    int rc;
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

/* sizes == NULL: the stream in one feed. */
static void fz_run(const fz_cfg *c, const unsigned char *s, size_t n, const uint8_t *sizes,
                   size_t nsizes, size_t mul, fz_run_out *r)
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
    o.byte_cap = c->byte_cap;
    o.inline_budget = c->budget;
    o.min_spill_bytes = c->min_spill;
    o.preview_head_bytes = c->head;
    o.preview_tail_bytes = c->tail;
    o.client_defaults = 0;
    o.sink = &sk;
    o.emit = fz_emit;
    o.emit_ud = &r->out;
    spill_filter *f;
    if (spill_filter_new(&f, &o) != 0)
        FZ_FAIL();
    int rc = 0;
    if (c->preamble) {
        rc = fz_feed(f, SPILL_C2S, (const unsigned char *)preamble, sizeof preamble - 1);
        if (rc || !fz_eq(&r->out.dir[SPILL_C2S], &(fz_buf){(unsigned char *)preamble,
                                                          sizeof preamble - 1, 0}))
            FZ_FAIL();
    }
    for (size_t at = 0, i = 0; rc == 0 && (at < n || (sizes && i < nsizes && at == n));) {
        size_t k = sizes ? (size_t)sizes[i++ % nsizes] * mul : n;
        if (k > n - at)
            k = n - at;
        rc = fz_feed(f, SPILL_S2C, s + at, k);
        at += k;
    }
    if (rc == 0)
        rc = spill_filter_finish(f, SPILL_S2C);
    if (rc == 0)
        rc = spill_filter_finish(f, SPILL_C2S);
    r->rc = rc;
    spill_filter_get_stats(f, &r->st);
    spill_filter_free(f);
    if (r->sink.live != 0) /* every object begun was committed or aborted */
        FZ_FAIL();
}

static void fz_run_free(fz_run_out *r)
{
    free(r->out.dir[0].p);
    free(r->out.dir[1].p);
    fz_sink_free(&r->sink);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    const uint8_t h = data[0], t = data[1], b = data[2], fl = data[3], ms = data[4];
    const size_t nplan = (size_t)(h & 7) + 1;
    if (size < 5 + nplan)
        return 0;
    const uint8_t *plan = data + 5;
    const unsigned char *s = data + 5 + nplan;
    const size_t n = size - 5 - nplan;

    fz_cfg c = {0};
    switch (h & 0x30) {
    case 0x10: c.threshold = (uint64_t)t + 1; break;
    case 0x20: c.threshold = ((uint64_t)t + 1) * 64; break;
    default: c.threshold = SPILL_NO_LIMIT; break;
    }
    c.byte_cap = SPILL_NO_LIMIT;
    c.budget = h & 0x40 ? 1 + 4 * (size_t)b : (size_t)1 << 20;
    c.preamble = (h & 0x80) != 0;
    c.fail_mode = fl & 3;
    c.fail_k = (fl >> 2) & 0x1f;
    c.detail = (fl & 0x80) != 0;
    c.min_spill = 1 + 16 * (size_t)(ms & 15);
    c.head = 8 * (size_t)(ms >> 4);
    c.tail = 4 * (size_t)(ms >> 4);

    static const uint8_t one = 1;
    int any = 0;
    for (size_t i = 0; i < nplan; i++)
        any |= plan[i];
    const size_t mul = h & 0x08 ? 61 : 1;

    fz_run_out whole, chunked;
    fz_run(&c, s, n, NULL, 0, 1, &whole);
    fz_run(&c, s, n, any ? plan : &one, any ? nplan : 1, any ? mul : 1, &chunked);
    if (fz_incomparable(&whole.sink, &chunked.sink))
        goto compared;
    if (whole.rc != chunked.rc || !fz_eq(&whole.out.dir[0], &chunked.out.dir[0]) ||
        !fz_eq(&whole.out.dir[1], &chunked.out.dir[1]) || !fz_sink_same(&whole.sink, &chunked.sink) ||
        !fz_stats_same(&whole.st, &chunked.st)) {
        if (fz_known_diff(&whole.out.dir[SPILL_S2C], &chunked.out.dir[SPILL_S2C]))
            goto compared;
        fz_diff("whole, chunked", whole.rc, chunked.rc, whole.out.dir, chunked.out.dir, &whole.sink,
                &chunked.sink, &whole.st, &chunked.st);
        FZ_FAIL();
    }
compared:
    if (whole.rc != 0)
        FZ_FAIL(); /* no allocation or emit failure was injected */

    /* Nothing can be over the threshold and no line is past the inline budget: the
     * filter must not touch anything. */
    size_t longest = 0;
    for (size_t i = 0, start = 0; i <= n; i++)
        if (i == n || s[i] == '\n') {
            if (i - start > longest)
                longest = i - start;
            start = i + 1;
        }
    /* A cut-off last line (no newline) is replaced by a whole message saying so; what
     * comes before it must pass untouched. */
    size_t keep = n;
    while (keep && s[keep - 1] != '\n')
        keep--;
    int cut_tail = 0;
    for (size_t i = keep; i < n; i++)
        cut_tail |= !(s[i] == ' ' || s[i] == '\t' || s[i] == '\r');
    if (c.threshold == SPILL_NO_LIMIT && longest <= c.budget && cut_tail) {
        const fz_buf in = {(unsigned char *)s, keep, 0};
        fz_buf head = whole.out.dir[SPILL_S2C];
        if (head.n < keep || memcmp(head.p, in.p, keep) != 0 || whole.st.results_rewritten ||
            whole.st.payloads_spilled)
            FZ_FAIL();
    } else if (c.threshold == SPILL_NO_LIMIT && longest <= c.budget) {
        const fz_buf in = {(unsigned char *)s, n, 0};
        if (!fz_eq(&whole.out.dir[SPILL_S2C], &in) || whole.sink.n || whole.sink.begun ||
            whole.sink.failures || whole.st.results_rewritten || whole.st.payloads_spilled)
            FZ_FAIL();
    }
    fz_run_free(&whole);
    fz_run_free(&chunked);
    return 0;
}
