/* The exact counter's own behaviour (the differential test against the reference
 * tokenizers is tests/cli/test_count_exact.sh): early exit, the piece cap, results
 * before finish, chunking invariance of both, and its counter interface in the filter. */
#include "../harness.h"
#include "spill.h"

static spill_tokenizer *tk_o200k, *tk_claude;

/* "word" then n x " word": one o200k token per piece. */
static char *words(size_t n, size_t *len)
{
    char *s = malloc(5 * n + 8);
    size_t k = 0;
    memcpy(s, "word", 4);
    k = 4;
    for (size_t i = 0; i < n; i++, k += 5)
        memcpy(s + k, " word", 5);
    s[k] = 0;
    *len = k;
    return s;
}

static spill_count_result count_in(const spill_tokenizer *tk, const spill_count_opts *o, const char *p,
                                   size_t n, size_t chunk)
{
    spill_counter *c;
    spill_count_result r;
    memset(&r, 0, sizeof r);
    if (spill_counter_new(&c, tk, o) != 0)
        return r;
    for (size_t i = 0; i < n; i += chunk)
        spill_counter_feed(c, p + i, n - i < chunk ? n - i : chunk);
    spill_counter_finish(c, &r);
    spill_counter_free(c);
    return r;
}

static void early_exit(void)
{
    size_t n;
    char *s = words(100000, &n);
    spill_count_opts o;
    spill_count_opts_init(&o);
    o.early_exit = 1000;
    spill_count_result r;
    ASSERT_OK(spill_count(tk_o200k, &o, s, n, &r));
    ASSERT_EQ(r.early_exit, 1);
    ASSERT_EQ(r.exact_tokens, 1001);       /* the first count over 1000 */
    ASSERT_EQ(r.estimated_from, 4 + 1000 * 5);
    ASSERT(r.estimated_tokens > 90000 && r.estimated_tokens < 110000);
    ASSERT_EQ(r.tokens, r.exact_tokens + r.estimated_tokens);
    ASSERT_EQ(r.bytes, n);
    ASSERT_EQ(r.capped, 0);
    /* Any chunking: the same crossing, the same estimate. */
    size_t chunks[] = {1, 2, 3, 7, 64, 4096, 65537};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        spill_count_result q = count_in(tk_o200k, &o, s, n, chunks[i]);
        ASSERT_EQ(q.tokens, r.tokens);
        ASSERT_EQ(q.exact_tokens, r.exact_tokens);
        ASSERT_EQ(q.estimated_from, r.estimated_from);
    }
    /* Without early exit: exact throughout. */
    spill_count_opts_init(&o);
    ASSERT_OK(spill_count(tk_o200k, &o, s, n, &r));
    ASSERT_EQ(r.early_exit, 0);
    ASSERT_EQ(r.exact_tokens, 100001);
    ASSERT_EQ(r.estimated_tokens, 0);
    ASSERT_EQ(r.estimated_from, n);
    free(s);
}

static void early_exit_scaled(void)
{
    /* Legacy Claude x1.10: over 1000 reported means 910 raw (910 x 1.1 = 1001). */
    size_t n;
    char *s = words(5000, &n);
    spill_count_opts o;
    spill_count_opts_init(&o);
    o.early_exit = 1000;
    spill_count_result r;
    ASSERT_OK(spill_count(tk_claude, &o, s, n, &r));
    ASSERT_EQ(r.early_exit, 1);
    ASSERT_EQ(r.exact_tokens, 910);
    ASSERT_EQ(r.tokens, (uint64_t)((double)(r.exact_tokens + r.estimated_tokens) * 1.1 + 0.5));
    free(s);
}

static void piece_cap(void)
{
    /* 40,000 letters with no split point: one piece, over a 4 KiB cap. */
    size_t n = 40000;
    char *s = malloc(n);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + h_below(26));
    spill_count_opts o;
    spill_count_opts_init(&o);
    spill_count_result whole, capped;
    ASSERT_OK(spill_count(tk_o200k, &o, s, n, &whole));
    ASSERT_EQ(whole.capped, 0);
    o.piece_cap = 4096;
    ASSERT_OK(spill_count(tk_o200k, &o, s, n, &capped));
    ASSERT_EQ(capped.capped, 1);
    /* About one token per cut more or less than the exact count. */
    ASSERT(capped.exact_tokens + 12 >= whole.exact_tokens && capped.exact_tokens <= whole.exact_tokens + 12);
    size_t chunks[] = {1, 5, 100, 4095, 4096, 4097, 10000};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        spill_count_result q = count_in(tk_o200k, &o, s, n, chunks[i]);
        ASSERT_EQ(q.exact_tokens, capped.exact_tokens);
        ASSERT_EQ(q.capped, 1);
    }
    o.piece_cap = 100; /* below the minimum */
    spill_counter *c;
    ASSERT_EQ(spill_counter_new(&c, tk_o200k, &o), SPILL_E_INVAL);
    free(s);
}

static void before_finish(void)
{
    const char *t = "Hello world, this is a test of the counter before it is finished";
    spill_count_opts o;
    spill_count_opts_init(&o);
    spill_counter *c;
    ASSERT_OK(spill_counter_new(&c, tk_o200k, &o));
    spill_count_result mid, fin;
    uint64_t last = 0;
    for (size_t i = 0; t[i]; i++) {
        spill_counter_feed(c, t + i, 1);
        spill_counter_result(c, &mid);
        ASSERT(mid.tokens >= last); /* never goes down */
        last = mid.tokens;
    }
    spill_counter_finish(c, &fin);
    ASSERT(mid.tokens <= fin.tokens);
    ASSERT_EQ(fin.tokens, 14); /* tiktoken o200k_base */
    ASSERT_EQ(spill_counter_feed(c, "x", 1), SPILL_E_STATE);
    spill_counter_free(c);
}

static void vtab(void)
{
    spill_count_opts o;
    spill_count_opts_init(&o);
    o.early_exit = 50;
    const spill_counter_vtab *v = spill_tokenizer_counter(tk_claude, &o);
    ASSERT(v && !strcmp(v->name, "bpe:claude*1.10"));
    ASSERT(spill_tokenizer_counter(tk_claude, &o) == v); /* the same options, the same vtab */
    o.multiplier = 1.0;
    const spill_counter_vtab *v1 = spill_tokenizer_counter(tk_claude, &o);
    ASSERT(v1 && v1 != v && !strcmp(v1->name, "bpe:claude"));
    void *st;
    ASSERT_OK(v->create(v->ctx, &st));
    v->feed(st, "a few words", 11);
    ASSERT(!strcmp(v->state_name(st), "bpe:claude*1.10"));
    size_t n;
    char *s = words(1000, &n);
    v->feed(st, s, n);
    v->finish(st);
    ASSERT(!strcmp(v->state_name(st), "bpe:claude*1.10+estimate"));
    ASSERT(v->count(st) > 1000);
    v->destroy(st);
    free(s);
    char err[256];
    spill_tokenizer *none;
    ASSERT_EQ(spill_tokenizer_open(&none, "gpt2", NULL, err, sizeof err), SPILL_E_INVAL);
    ASSERT(none == NULL && strstr(err, "gpt2"));
    ASSERT(spill_tokenizer_open(&none, "o200k", "/nonexistent", err, sizeof err) < 0);
    ASSERT(none == NULL && strstr(err, "/nonexistent"));
}

/* ---- the counter in the filter ---- */

typedef struct sink_state { int objects; uint64_t tokens; char counter[64]; } sink_state;
static sink_state g_ss;
static int ms_begin(void *ctx, void **obj, const spill_put_info *pi)
{
    (void)ctx, (void)pi;
    *obj = &g_ss;
    return 0;
}
static int ms_write(void *obj, const void *p, size_t n)
{
    (void)obj, (void)p, (void)n;
    return 0;
}
static int ms_commit(void *obj, const char *mime, uint64_t tokens, const char *counter, spill_object_info *info)
{
    (void)obj, (void)mime;
    g_ss.objects++;
    g_ss.tokens = tokens;
    snprintf(g_ss.counter, sizeof g_ss.counter, "%s", counter);
    memset(info, 0, sizeof *info);
    strcpy(info->id, "0123456789abcdef0123456789abcdef");
    return 0;
}
static void ms_abort(void *obj) { (void)obj; }

typedef struct out { char *p; size_t n; } out;
static int emit(void *ud, spill_dir dir, const void *p, size_t n)
{
    out *o = ud;
    if (dir != SPILL_S2C)
        return 0;
    o->p = realloc(o->p, o->n + n + 1);
    memcpy(o->p + o->n, p, n);
    o->n += n;
    o->p[o->n] = 0;
    return 0;
}

/* Runs one tools/call result with `text` through a filter; returns its output. */
static char *filter_one(const spill_counter_vtab *cv, const char *text, uint64_t threshold)
{
    spill_object_sink sink = {NULL, ms_begin, ms_write, ms_commit, ms_abort, NULL};
    spill_filter_opts o;
    spill_filter_opts_init(&o);
    out res = {0};
    o.sink = &sink;
    o.emit = emit;
    o.emit_ud = &res;
    o.counter = cv;
    o.threshold_tokens = threshold;
    o.client_defaults = 0;
    spill_filter *f;
    if (spill_filter_new(&f, &o) != 0)
        return NULL;
    const char *req = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\"}}\n";
    const char *head = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"";
    const char *tail = "\"}]}}\n";
    spill_filter_feed(f, SPILL_C2S, req, strlen(req));
    spill_filter_feed(f, SPILL_S2C, head, strlen(head));
    for (size_t i = 0, n = strlen(text); i < n; i += 777) /* odd chunks */
        spill_filter_feed(f, SPILL_S2C, text + i, n - i < 777 ? n - i : 777);
    spill_filter_feed(f, SPILL_S2C, tail, strlen(tail));
    spill_filter_finish(f, SPILL_S2C);
    spill_filter_free(f);
    return res.p;
}

static void in_filter(void)
{
    spill_count_opts o;
    spill_count_opts_init(&o);
    o.early_exit = 10000; /* the threshold, as spill run and spill filter set it */
    const spill_counter_vtab *cv = spill_tokenizer_counter(tk_o200k, &o);
    ASSERT(cv);
    size_t n;
    char *s = words(9000, &n); /* 9,001 tokens: under the threshold, passes */
    memset(&g_ss, 0, sizeof g_ss);
    char *r = filter_one(cv, s, 10000);
    if (!r || !strstr(r, s) || g_ss.objects != 0)
        FAILF("objects %d, output %zu bytes for %zu: %.100s", g_ss.objects, r ? strlen(r) : 0, n, r ? r + strlen(r) - 100 : "(none)");
    free(r);
    free(s);
    s = words(10000, &n); /* 10,001 tokens: one over, spilled; counted exactly */
    r = filter_one(cv, s, 10000);
    if (!r || g_ss.objects != 1)
        FAILF("objects %d, output %.300s", g_ss.objects, r ? r : "(none)");
    ASSERT(strstr(r, "about 10,001 tokens (bpe:o200k)"));
    ASSERT_EQ(g_ss.tokens, 10001);
    ASSERT(!strcmp(g_ss.counter, "bpe:o200k"));
    free(r);
    free(s);
    s = words(100000, &n); /* far over: exact to the threshold, then estimated */
    r = filter_one(cv, s, 10000);
    ASSERT(r && g_ss.objects == 2);
    ASSERT(strstr(r, "tokens (bpe:o200k+estimate)"));
    ASSERT(!strcmp(g_ss.counter, "bpe:o200k+estimate"));
    ASSERT(g_ss.tokens > 90000 && g_ss.tokens < 110000);
    free(r);
    free(s);
}

int main(void)
{
    h_seed();
    char err[512];
    if (spill_tokenizer_open(&tk_o200k, "o200k", NULL, err, sizeof err) != 0 ||
        spill_tokenizer_open(&tk_claude, "claude", NULL, err, sizeof err) != 0) {
        printf("not ok - exact counter: the vocabularies do not load (make vocab): %s\n", err);
        return 1;
    }
    RUN(early_exit);
    RUN(early_exit_scaled);
    RUN(piece_cap);
    RUN(before_finish);
    RUN(vtab);
    RUN(in_filter);
    spill_tokenizer_free(tk_o200k);
    spill_tokenizer_free(tk_claude);
    return h_failures ? 1 : 0;
}
