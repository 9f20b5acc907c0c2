/* filter.c - the streaming interceptor: framing, what the client asked for, and the
 * decision to pass a server message on or rewrite it (rewrite.c does the rewriting).
 *
 * Server-to-client messages go through three modes:
 *   probe    the message is held (up to the inline budget) and scanned; tokens of its
 *            payloads are counted. Most messages end here and leave byte-identical.
 *   pass     known not to concern us (a request, a notification, an error, a response
 *            to another method, or unparseable): what is held is emitted and the rest
 *            streams straight through.
 *   rewrite  a large result: the held bytes and the rest go through rewrite.c.
 * Client-to-server bytes always stream straight through; a scan on the side learns
 * request ids, methods, tool names, the client's name and the protocol era. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filter_impl.h"
#include "tokens.h"

/* ---- allocation, errors, output ---- */

static void *libc_alloc(void *ctx, size_t n) { (void)ctx; return malloc(n); }
static void *libc_realloc(void *ctx, void *p, size_t n) { (void)ctx; return realloc(p, n); }
static void libc_free(void *ctx, void *p) { (void)ctx; free(p); }

void *spill__falloc(spill_filter *f, size_t n) { return f->a.alloc(f->a.ctx, n); }
void spill__ffree(spill_filter *f, void *p) { if (p) f->a.free(f->a.ctx, p); }
void *spill__frealloc(void *ctx, void *p, size_t n)
{
    spill_filter *f = ctx;
    return f->a.realloc(f->a.ctx, p, n);
}

int spill__ferror(spill_filter *f, int code, uint64_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->errmsg, sizeof f->errmsg, fmt, ap);
    va_end(ap);
    f->err.code = code;
    f->err.offset = off;
    f->err.msg = f->errmsg;
    if (code == SPILL_E_NOMEM || code == SPILL_E_ABORTED)
        f->sticky = code;
    return code;
}

int spill__femit(spill_filter *f, spill_dir dir, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (f->o.emit(f->o.emit_ud, dir, p, n) != 0)
        return spill__ferror(f, SPILL_E_ABORTED, f->d[dir].off, "the emit callback said stop");
    f->stats.bytes_out[dir] += n;
    return 0;
}

const spill_filter_error *spill_filter_last_error(const spill_filter *f) { return &f->err; }
void spill_filter_get_stats(const spill_filter *f, spill_filter_stats *s) { *s = f->stats; }

void spill_filter_on_structured(spill_filter *f, spill_structured_fn fn, void *ud)
{
    f->on_structured = fn;
    f->on_structured_ud = ud;
}

/* ---- counters ---- */

typedef struct est_ctx { spill__vocab vocab; unsigned mul100; } est_ctx;
static const est_ctx est_claude = {SPILL__VOCAB_CLAUDE, 110}, est_o200k = {SPILL__VOCAB_O200K, 100},
                     est_cl100k = {SPILL__VOCAB_CL100K, 100};

static int est_create(void *ctx, void **state)
{
    const est_ctx *c = ctx;
    spill__est *e = malloc(sizeof *e);
    if (!e)
        return SPILL_E_NOMEM;
    spill__est_init(e, c->vocab);
    *state = e;
    return 0;
}
static void est_feed(void *state, const void *p, size_t n) { spill__est_feed(state, p, n); }
static uint64_t est_count(const void *state)
{
    const spill__est *e = state;
    const est_ctx *c = e->vocab == SPILL__VOCAB_O200K ? &est_o200k
                     : e->vocab == SPILL__VOCAB_CL100K ? &est_cl100k : &est_claude;
    return spill__est_tokens(e) * c->mul100 / 100;
}
static void est_destroy(void *state) { free(state); }

static const spill_counter_vtab est_vtabs[] = {
    /* The estimate never passes the bytes fed (tokens.h), times the multiplier. */
    {"estimate:claude*1.10", (void *)&est_claude, est_create, est_feed, est_count, est_destroy, NULL, NULL, 1.10, NULL},
    {"estimate:o200k", (void *)&est_o200k, est_create, est_feed, est_count, est_destroy, NULL, NULL, 1.0, NULL},
    {"estimate:cl100k", (void *)&est_cl100k, est_create, est_feed, est_count, est_destroy, NULL, NULL, 1.0, NULL},
};

const spill_counter_vtab *spill_estimator(const char *vocab)
{
    if (!vocab || !strcmp(vocab, "claude"))
        return &est_vtabs[0];
    if (!strcmp(vocab, "o200k"))
        return &est_vtabs[1];
    if (!strcmp(vocab, "cl100k"))
        return &est_vtabs[2];
    return NULL;
}

/* ---- options, rules ---- */

static const spill_rule client_rules[] = {
    /* Below the point where each client cuts or refuses output itself (research:
     * anchors-large-output.md §1), so spill acts first and nothing is lost. */
    {NULL, NULL, "claude-code", 25000}, {NULL, NULL, "claude", 25000},
    {NULL, NULL, "codex", 10000},       {NULL, NULL, "gemini", 10000},
    {NULL, NULL, "goose", 50000},       {NULL, NULL, "cline", 2000},
    {NULL, NULL, "copilot", 2500},
};

const spill_rule *spill_default_client_rules(size_t *n)
{
    *n = sizeof client_rules / sizeof client_rules[0];
    return client_rules;
}

void spill_filter_opts_init(spill_filter_opts *o)
{
    memset(o, 0, sizeof *o);
    o->framing = SPILL_FRAMING_NDJSON;
    o->threshold_tokens = 100000;
    o->byte_cap = SPILL_NO_LIMIT;
    o->min_spill_bytes = 4096;
    o->preview_head_bytes = 2048;
    o->preview_tail_bytes = 1024;
    o->max_skeleton_bytes = 16u << 20;
    o->client_defaults = 1;
    o->resource_links = -1;
}

static int name_eq(const char *rule, const char *v)
{
    return !rule || (v && strcasecmp(rule, v) == 0);
}

static int name_in(const char *rule, const char *v)
{
    if (!rule)
        return 1;
    if (!v || !*v)
        return 0;
    size_t n = strlen(rule);
    for (const char *p = v; *p; p++)
        if (strncasecmp(p, rule, n) == 0)
            return 1;
    return 0;
}

static uint64_t threshold_for(const spill_filter *f, const char *tool)
{
    uint64_t t = f->o.threshold_tokens;
    const char *server = f->server;
    for (size_t i = 0; i < f->o.nrules; i++) {
        const spill_rule *r = &f->o.rules[i];
        if (!r->client && name_eq(r->server, server) && name_eq(r->tool, tool)) {
            t = r->threshold_tokens;
            break;
        }
    }
    int capped = 0;
    for (size_t i = 0; i < f->o.nrules; i++) {
        const spill_rule *r = &f->o.rules[i];
        if (r->client && name_in(r->client, f->client) && name_eq(r->server, server) &&
            name_eq(r->tool, tool)) {
            t = r->threshold_tokens < t ? r->threshold_tokens : t;
            capped = 1;
            break;
        }
    }
    for (size_t i = 0; !capped && f->o.client_defaults && i < sizeof client_rules / sizeof client_rules[0]; i++)
        if (name_in(client_rules[i].client, f->client)) {
            t = client_rules[i].threshold_tokens < t ? client_rules[i].threshold_tokens : t;
            break;
        }
    return t;
}

int spill__links_enabled(const spill_filter *f)
{
    if (f->o.resource_links >= 0)
        return f->o.resource_links;
    /* resource_link content exists from 2025-06-18 on; dates compare as strings. */
    return f->protocol[0] && strcmp(f->protocol, "2025-06-18") >= 0;
}

/* ---- the request map: id -> method, tool ---- */

static int method_code(const char *m)
{
    if (!strcmp(m, "tools/call")) return METHOD_TOOLS_CALL;
    if (!strcmp(m, "tasks/result")) return METHOD_TASKS_RESULT;
    if (!strcmp(m, "resources/read")) return METHOD_RESOURCES_READ;
    if (!strcmp(m, "prompts/get")) return METHOD_PROMPTS_GET;
    return METHOD_OTHER;
}

/* A small hash table: 4 slots per bucket, the oldest entry of the bucket makes room.
 * An id pushed out this way only means its response is judged by shape. */
static size_t map_bucket(const char *id)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (size_t)(h % (MAP_SIZE / MAP_WAYS)) * MAP_WAYS;
}

static void map_put(spill_filter *f, const spill__msg *m)
{
    size_t b = map_bucket(m->id), victim = b;
    for (size_t i = b; i < b + MAP_WAYS; i++) {
        if (!f->map[i].id[0] || !strcmp(f->map[i].id, m->id)) {
            victim = i;
            break;
        }
        if (f->map[i].seq < f->map[victim].seq)
            victim = i;
    }
    req_entry *e = &f->map[victim];
    snprintf(e->id, sizeof e->id, "%s", m->id);
    snprintf(e->tool, sizeof e->tool, "%s", method_code(m->method) == METHOD_RESOURCES_READ ? m->uri : m->tool);
    e->method = method_code(m->method);
    e->seq = ++f->map_next;
}

req_entry *spill__map_get(spill_filter *f, const char *id)
{
    size_t b = map_bucket(id);
    for (size_t i = b; i < b + MAP_WAYS; i++)
        if (f->map[i].id[0] && strcmp(f->map[i].id, id) == 0)
            return &f->map[i];
    return NULL;
}

/* ---- lifecycle ---- */

/* Copies rules and their strings into one allocation the filter owns. */
static int copy_rules(spill_filter *f, const spill_rule *rules, size_t n)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        const char *v[3] = {rules[i].server, rules[i].tool, rules[i].client};
        for (int k = 0; k < 3; k++)
            bytes += v[k] ? strlen(v[k]) + 1 : 0;
    }
    spill_rule *r = n ? spill__falloc(f, n * sizeof *r) : NULL;
    char *str = bytes ? spill__falloc(f, bytes) : NULL;
    if ((n && !r) || (bytes && !str)) {
        spill__ffree(f, r);
        spill__ffree(f, str);
        return SPILL_E_NOMEM;
    }
    char *at = str;
    for (size_t i = 0; i < n; i++) {
        const char *v[3] = {rules[i].server, rules[i].tool, rules[i].client};
        const char *c[3] = {NULL, NULL, NULL};
        for (int k = 0; k < 3; k++)
            if (v[k]) {
                size_t l = strlen(v[k]) + 1;
                memcpy(at, v[k], l);
                c[k] = at;
                at += l;
            }
        r[i].server = c[0];
        r[i].tool = c[1];
        r[i].client = c[2];
        r[i].threshold_tokens = rules[i].threshold_tokens;
    }
    spill__ffree(f, f->rules);
    spill__ffree(f, f->rule_strings);
    f->rules = r;
    f->rule_strings = str;
    f->o.rules = r;
    f->o.nrules = n;
    return 0;
}

/* The highest threshold a message may get: the default, or a tool or server rule that
 * raises it (client rules only cap). The inline budget must hold a result that large. */
static uint64_t highest_threshold(const spill_filter_opts *o)
{
    uint64_t t = o->threshold_tokens;
    for (size_t i = 0; i < o->nrules; i++)
        if (!o->rules[i].client && o->rules[i].threshold_tokens > t)
            t = o->rules[i].threshold_tokens;
    return t;
}

static size_t auto_budget(uint64_t threshold)
{
    uint64_t b = threshold > (64u << 20) / 16 ? (64u << 20) : threshold * 16;
    return b < (1u << 20) ? (1u << 20) : (size_t)b;
}

int spill_filter_reconfigure(spill_filter *f, const spill_filter_opts *o)
{
    if (!o || o->threshold_tokens == 0 || o->min_spill_bytes == 0)
        return SPILL_E_INVAL;
    size_t budget = o->inline_budget ? o->inline_budget : auto_budget(highest_threshold(o));
    if (budget != f->o.inline_budget && !f->d[SPILL_S2C].in_msg) {
        unsigned char *nb = spill__falloc(f, budget);
        if (!nb)
            return SPILL_E_NOMEM;
        spill__ffree(f, f->d[SPILL_S2C].buf);
        f->d[SPILL_S2C].buf = nb;
        f->o.inline_budget = budget;
    }
    int rc = copy_rules(f, o->rules, o->nrules);
    if (rc)
        return rc;
    f->o.threshold_tokens = o->threshold_tokens;
    f->o.byte_cap = o->byte_cap;
    f->o.min_spill_bytes = o->min_spill_bytes;
    f->o.client_defaults = o->client_defaults;
    f->o.resource_links = o->resource_links;
    f->counter = o->counter ? o->counter : spill_estimator("claude");
    f->base_valid = 0;
    /* Preview sizes and min_spill size buffers of the rewriter: drop it, it is rebuilt
     * with the new sizes for the next large result (never during one). */
    if (f->d[SPILL_S2C].mode != M_REWRITE) {
        f->o.preview_head_bytes = o->preview_head_bytes;
        f->o.preview_tail_bytes = o->preview_tail_bytes;
        f->o.max_skeleton_bytes = o->max_skeleton_bytes;
        spill__rw_free(f);
    }
    return 0;
}

int spill_filter_new(spill_filter **out, const spill_filter_opts *o)
{
    *out = NULL;
    if (!o || !o->sink || !o->sink->begin || !o->emit || o->threshold_tokens == 0 ||
        o->min_spill_bytes == 0)
        return SPILL_E_INVAL;
    spill_allocator a = o->alloc;
    if (!a.alloc || !a.realloc || !a.free) {
        a.alloc = libc_alloc;
        a.realloc = libc_realloc;
        a.free = libc_free;
    }
    spill_filter *f = a.alloc(a.ctx, sizeof *f);
    if (!f)
        return SPILL_E_NOMEM;
    memset(f, 0, sizeof *f);
    f->a = a;
    f->o = *o;
    f->sink = *o->sink;
    f->o.sink = &f->sink;
    f->counter = o->counter ? o->counter : spill_estimator("claude");
    if (!f->o.inline_budget)
        f->o.inline_budget = auto_budget(highest_threshold(o));
    f->o.rules = NULL;
    f->o.nrules = 0;
    if (copy_rules(f, o->rules, o->nrules) != 0) {
        spill_filter_free(f);
        return SPILL_E_NOMEM;
    }
    if (o->server_name)
        snprintf(f->server, sizeof f->server, "%s", o->server_name);
    f->o.server_name = NULL; /* the copy in f->server is what counts */
    if (o->session)
        snprintf(f->session, sizeof f->session, "%s", o->session);
    f->o.session = NULL;     /* the copy in f->session is what counts */
    f->map = spill__falloc(f, MAP_SIZE * sizeof *f->map);
    f->d[0].walk = spill__falloc(f, sizeof *f->d[0].walk);
    f->d[1].walk = spill__falloc(f, sizeof *f->d[1].walk);
    f->d[0].buf = spill__falloc(f, f->o.inline_budget);
    f->d[0].lazy = spill__falloc(f, SPILL__LAZY_MAX);
    if (!f->map || !f->d[0].walk || !f->d[1].walk || !f->d[0].buf || !f->d[0].lazy) {
        spill_filter_free(f);
        return SPILL_E_NOMEM;
    }
    memset(f->map, 0, MAP_SIZE * sizeof *f->map);
    *out = f;
    return 0;
}

void spill_filter_free(spill_filter *f)
{
    if (!f)
        return;
    spill__rw_free(f);
    for (int i = 0; i < 2; i++) {
        if (f->d[i].counter)
            f->d[i].cv->destroy(f->d[i].counter);
        spill__ffree(f, f->d[i].walk);
        spill__ffree(f, f->d[i].buf);
        spill__ffree(f, f->d[i].lazy);
    }
    spill__ffree(f, f->map);
    spill__ffree(f, f->rules);
    spill__ffree(f, f->rule_strings);
    f->a.free(f->a.ctx, f);
}

/* ---- client to server: learn, pass through ---- */

static void learn_request(spill_filter *f, const spill__msg *m)
{
    if (!m->has_method)
        return;
    if (m->client[0] && strcmp(f->client, m->client) != 0) {
        snprintf(f->client, sizeof f->client, "%s", m->client);
        f->base_valid = 0;
    }
    if (m->protocol[0]) /* initialize's requested version, or a 2026 request's own */
        snprintf(f->protocol, sizeof f->protocol, "%s", m->protocol);
    if (m->id_set) /* every id: a response to tools/list must be known as one, too */
        map_put(f, m);
}

static int c2s_cb(void *ud, const spill__scan_ev *ev)
{
    spill_filter *f = ud;
    dirstate *d = &f->d[SPILL_C2S];
    int begin;
    spill__walk_event(d->walk, ev, &begin);
    if (begin) { /* a batch's next element: what the previous one asked is complete */
        if (d->has_msg)
            learn_request(f, &d->walk->msg);
        d->has_msg = 1;
    }
    return 0;
}

/* ---- server to client: probe ---- */

static void learn_response(spill_filter *f, const spill__msg *m)
{
    if (!m->has_result)
        return;
    if (m->server[0] && !f->o.server_name && strcmp(f->server, m->server) != 0) {
        snprintf(f->server, sizeof f->server, "%s", m->server);
        f->base_valid = 0;
    }
    if (m->protocol[0]) /* the version the server chose */
        snprintf(f->protocol, sizeof f->protocol, "%s", m->protocol);
}

/* Looks the response's id up once it is known: sets eligibility and threshold.
 * Returns 1 when it did so now. */
static int probe_id(spill_filter *f, dirstate *d)
{
    spill__msg *m = &d->walk->msg;
    if (d->id_looked || !m->id_set || d->walk->capturing)
        return 0;
    d->id_looked = 1;
    req_entry *e = spill__map_get(f, m->id);
    if (e && e->method == METHOD_OTHER)
        d->elig_no = 1;
    /* The tool's own threshold, which a tool rule may set above the default. In a
     * batch (one decision for all its messages) the lowest of theirs holds. */
    uint64_t t = threshold_for(f, e ? e->tool : NULL);
    if (d->nmsgs <= 1 || t < d->threshold)
        d->threshold = t;
    if (e) {
        f->cur_method = e->method;
        snprintf(f->cur_tool, sizeof f->cur_tool, "%s", e->tool);
    }
    return 1;
}

enum { DECIDED_REWRITE = 2, DECIDED_PASS = 3 };

static int over(const spill_filter *f, const dirstate *d)
{
    if (f->o.byte_cap != SPILL_NO_LIMIT && d->payload_bytes > f->o.byte_cap)
        return 1;
    if (d->img_force && d->threshold != SPILL_NO_LIMIT) /* an image the model could not take whole */
        return 1; /* (no threshold: the filter is told to touch nothing) */
    return (d->counter ? d->cv->count(d->counter) : 0) + d->img_tokens > d->threshold;
}

/* Payload bytes are counted lazily. While even the most tokens the counter could ever
 * find in them (max_per_byte for each byte) stay within the threshold, they are only
 * kept, up to SPILL__LAZY_MAX: most results are small and then cost no counting at
 * all, which matters once counting is exact BPE rather than an estimate. The bytes kept
 * are counted first, in order, as soon as the bound passes the threshold (which may also
 * drop when the request's tool becomes known), so the count is the same either way. */
static int lazy_ok(const spill_filter *f, const dirstate *d, size_t more)
{
    const double m = f->counter->max_per_byte;
    return m > 0 && d->lazy_len + more <= SPILL__LAZY_MAX &&
           (double)(d->payload_bytes + more) * m + (double)d->img_tokens <= (double)d->threshold;
}

static int start_counting(spill_filter *f, dirstate *d, uint64_t off)
{
    int rc = f->counter->create(f->counter->ctx, &d->counter);
    if (rc) {
        d->counter = NULL;
        return spill__ferror(f, rc, off, "cannot create a token counter");
    }
    d->cv = f->counter;
    if (d->lazy_len)
        d->cv->feed(d->counter, d->lazy, d->lazy_len);
    d->lazy_len = 0;
    return 0;
}

static int count_payload(spill_filter *f, dirstate *d, const void *p, size_t n, uint64_t off)
{
    if (!d->counter) {
        if (lazy_ok(f, d, n)) {
            memcpy(d->lazy + d->lazy_len, p, n);
            d->lazy_len += n;
            d->payload_bytes += n;
            return 0;
        }
        int rc = start_counting(f, d, off);
        if (rc)
            return rc;
    }
    d->cv->feed(d->counter, p, n);
    d->payload_bytes += n;
    return 0;
}

/* Image data is counted by its pixels (imgfilter.c); what turns out not to be an image
 * is counted as text, as it came. */
static int count_image(spill_filter *f, dirstate *d, const spill__scan_ev *ev, int end)
{
    spill__span s[2];
    int k, rc;
    if (end) {
        uint64_t tokens;
        int force;
        k = spill__imgcount_end(&d->imgc, spill__img_rule(f->counter->name), d->threshold, &tokens, &force, s);
        d->img_tokens += tokens;
        d->img_force |= force;
    } else {
        k = spill__imgcount_feed(&d->imgc, ev->s, ev->n, s);
    }
    for (int i = 0; i < k; i++)
        if (s[i].n && (rc = count_payload(f, d, s[i].p, s[i].n, ev->off)) != 0)
            return rc;
    return 0;
}

static int probe_cb(void *ud, const spill__scan_ev *ev)
{
    spill_filter *f = ud;
    dirstate *d = &f->d[SPILL_S2C];
    spill__walk *w = d->walk;
    int begin;
    spill__slot slot = spill__walk_event(w, ev, &begin);
    if (begin) { /* each message of a batch is judged on its own */
        d->id_looked = d->elig_no = 0;
        d->nmsgs++;
    }
    int rc;
    if (probe_id(f, d) && d->payload_seen && !d->elig_no) {
        /* The id came after (some of) the payload, as Playwright MCP sends it: the
         * decision held for it is taken now, with the tool's threshold. */
        if (!d->counter && d->lazy_len && !lazy_ok(f, d, 0) && (rc = start_counting(f, d, ev->off)) != 0)
            return rc;
        if (over(f, d))
            return DECIDED_REWRITE;
    }
    if (w->msg.has_method || w->msg.has_error || !strcmp(w->msg.result_type, "input_required"))
        d->elig_no = 1;
    if (d->elig_no && ev->depth >= 0 && w->msg_depth == 0 && !d->payload_seen)
        return DECIDED_PASS; /* a single message that is not ours: stream it */
    if (d->pl_slot == S_NONE && slot >= S_TEXT_INPLACE && slot <= S_STRUCTURED && !d->elig_no) {
        d->pl_slot = slot;
        d->pl_depth = ev->depth;
        d->pl_off = ev->off;
        d->payload_seen = 1;
        if (d->npayloads++ == 0) {
            d->first_slot = slot;
            d->first_off = ev->off;
        }
        if ((d->pl_img = slot == S_B64_REBUILD && spill__img_candidate(w, ev->depth)) != 0)
            spill__imgcount_begin(&d->imgc);
        return 0;
    }
    if (d->pl_slot == S_NONE)
        return 0;
    if (d->pl_slot != S_STRUCTURED && ev->tok == SPILL__TOK_STR_CHUNK) {
        if ((rc = d->pl_img ? count_image(f, d, ev, 0) : count_payload(f, d, ev->s, ev->n, ev->off)) != 0)
            return rc;
    } else if ((ev->tok == SPILL__TOK_STR_END || ev->tok == SPILL__TOK_OBJ_END ||
                ev->tok == SPILL__TOK_ARR_END) && ev->depth == d->pl_depth) {
        if (d->pl_slot == S_STRUCTURED) {
            /* The model would read structuredContent as JSON text: count its bytes. */
            uint64_t a = d->pl_off - d->msg_off, b = ev->end - d->msg_off;
            if ((rc = count_payload(f, d, d->buf + a, (size_t)(b - a), ev->off)) != 0)
                return rc;
        }
        if (d->pl_img && (rc = count_image(f, d, ev, 1)) != 0)
            return rc;
        d->pl_slot = S_NONE;
    } else {
        return 0;
    }
    if (!d->counter && d->lazy_len && !lazy_ok(f, d, 0) && (rc = start_counting(f, d, ev->off)) != 0)
        return rc; /* the threshold dropped under the bound */
    /* Over, but whose result it is (and so its threshold) is not known yet: held while
     * it fits in the inline budget, until its id comes or the message ends. */
    return d->id_looked && over(f, d) ? DECIDED_REWRITE : 0;
}

/* ---- per-message flow (server to client) ---- */

static int start_rewrite(spill_filter *f, dirstate *d)
{
    int rc = spill__rw_begin(f);
    if (rc)
        return rc;
    /* All the counter saw is the start of one text payload of a single message (not a
     * batch, where it spans the messages): the rewrite counts that payload on from it. */
    if (d->counter && d->npayloads == 1 && d->walk->msg_depth == 0 &&
        (d->first_slot == S_TEXT_INPLACE || d->first_slot == S_TEXT_REBUILD) &&
        spill__rw_handoff(f, d->counter, d->cv, d->payload_bytes, d->first_off, d->first_slot))
        d->counter = NULL;
    d->mode = M_REWRITE;
    return spill__rw_feed(f, d->buf, d->len);
}

static int start_pass(spill_filter *f, dirstate *d)
{
    d->mode = M_PASS;
    return spill__femit(f, SPILL_S2C, d->buf, d->len);
}

static int msg_begin(spill_filter *f, spill_dir dir)
{
    dirstate *d = &f->d[dir];
    d->in_msg = 1;
    d->msg_off = 0;
    d->msg_len = 0;
    d->len = 0;
    d->ws_only = 1;
    d->has_msg = 0;
    d->scan_failed = 0;
    spill__scan_init(&d->sc);
    spill__walk_init(d->walk);
    if (dir == SPILL_C2S) {
        d->mode = M_PASS;
        return 0;
    }
    d->mode = M_PROBE;
    d->payload_seen = d->elig_no = d->id_looked = 0;
    d->payload_bytes = 0;
    d->lazy_len = 0;
    d->pl_slot = S_NONE;
    d->npayloads = 0;
    d->img_tokens = 0;
    d->pl_img = d->img_force = 0;
    d->nmsgs = 0;
    if (!f->base_valid) { /* rules are re-read only when client or server change */
        f->base_threshold = threshold_for(f, NULL);
        f->base_valid = 1;
    }
    d->threshold = f->base_threshold;
    f->cur_method = METHOD_OTHER;
    f->cur_tool[0] = 0;
    if (d->counter)
        d->cv->destroy(d->counter);
    d->counter = NULL; /* created at the first payload: most messages have none */
    return 0;
}

/* Message bytes (no terminator) of one direction. */
static int msg_bytes(spill_filter *f, spill_dir dir, const unsigned char *p, size_t n)
{
    dirstate *d = &f->d[dir];
    int rc;
    if (!d->in_msg && (rc = msg_begin(f, dir)) != 0)
        return rc;
    for (size_t i = 0; d->ws_only && i < n; i++)
        d->ws_only = p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n';
    d->msg_len += n;
    if (dir == SPILL_C2S) {
        if (!d->scan_failed && spill__scan_feed(&d->sc, p, n, c2s_cb, f, NULL) < 0)
            d->scan_failed = 1;
        return spill__femit(f, dir, p, n);
    }
    while (n) {
        switch (d->mode) {
        case M_PASS:
            return spill__femit(f, dir, p, n);
        case M_REWRITE:
            return spill__rw_feed(f, p, n);
        default:
            break;
        }
        /* Probe: hold what fits in the budget and scan it. */
        size_t room = f->o.inline_budget - d->len, k = n < room ? n : room;
        if (k == 0) {
            /* Past the budget: decided as large if it is a result of ours, else passed. */
            rc = d->payload_seen && !d->elig_no && !d->scan_failed ? start_rewrite(f, d)
                                                                     : start_pass(f, d);
            if (rc)
                return rc;
            continue;
        }
        memcpy(d->buf + d->len, p, k);
        d->len += k;
        p += k;
        n -= k;
        if (d->scan_failed)
            continue;
        uint64_t erroff;
        rc = spill__scan_feed(&d->sc, d->buf + d->len - k, k, probe_cb, f, &erroff);
        if (rc == DECIDED_REWRITE) {
            if ((rc = start_rewrite(f, d)) != 0)
                return rc;
        } else if (rc == DECIDED_PASS) {
            if ((rc = start_pass(f, d)) != 0)
                return rc;
        } else if (rc < 0) {
            d->scan_failed = 1; /* held until the end, then passed on as it came */
        }
    }
    return 0;
}

static int cut_off_held(spill_filter *f, dirstate *d);

static int msg_end(spill_filter *f, spill_dir dir, const char *term, size_t tn, int cut_off)
{
    dirstate *d = &f->d[dir];
    int rc = 0;
    if (!d->in_msg) { /* an empty line */
        return spill__femit(f, dir, term, tn);
    }
    d->in_msg = 0;
    f->stats.messages[dir]++;
    if (dir == SPILL_C2S) {
        uint64_t off;
        if (!d->scan_failed && spill__scan_finish(&d->sc, c2s_cb, f, &off) == 1 && d->has_msg)
            learn_request(f, &d->walk->msg);
        return spill__femit(f, dir, term, tn);
    }
    if (cut_off)
        f->stats.cut_off++;
    if (d->mode == M_PROBE && cut_off && !d->ws_only)
        return cut_off_held(f, d);
    if (d->mode == M_PROBE) {
        uint64_t off;
        if (!d->scan_failed && (cut_off || spill__scan_finish(&d->sc, probe_cb, f, &off) != 1))
            d->scan_failed = 1;
        if (d->scan_failed) {
            if (!d->ws_only && !cut_off)
                f->stats.unparseable++;
        } else {
            learn_response(f, &d->walk->msg);
            if (!d->counter && d->lazy_len && !lazy_ok(f, d, 0) && (rc = start_counting(f, d, d->off)) != 0)
                return rc;
            if (d->counter && d->cv->finish)
                d->cv->finish(d->counter); /* every payload is in: the count is final */
            if (d->payload_seen && !d->elig_no && over(f, d)) {
                if ((rc = start_rewrite(f, d)) != 0)
                    return rc;
                return spill__rw_end(f, term, tn, 0);
            }
        }
        if ((rc = spill__femit(f, dir, d->buf, d->len)) != 0)
            return rc;
        return spill__femit(f, dir, term, tn);
    }
    if (d->mode == M_REWRITE) /* a synthesized message always ends its line */
        return spill__rw_end(f, cut_off && f->o.framing == SPILL_FRAMING_NDJSON ? "\n" : term,
                             cut_off && f->o.framing == SPILL_FRAMING_NDJSON ? 1 : tn, cut_off);
    return spill__femit(f, dir, term, tn); /* pass */
}

/* ---- messages that cannot be passed on ---- */

int spill__emit_failure(spill_filter *f, const spill__msg *m, const char *why, const char *notes,
                        const char *term, size_t tn)
{
    spill__buf b = {0};
    b.realloc = spill__frealloc;
    b.ctx = f;
    b.max = 1u << 20;
    spill__buf text = b;
    spill__buf_printf(&text, "[spill] The server's message could not be passed on: %s. ", why);
    if (notes) { /* whole: a printf would cut a long list at its buffer */
        spill__buf_printf(&text, "spill stored what arrived (read it with spill_read or spill cat):\n");
        spill__buf_put(&text, notes, strlen(notes));
    } else {
        spill__buf_printf(&text, "No part of it could be stored.");
    }
    if (m && m->id_set && !m->has_method) {
        spill__buf_printf(&b, "{\"jsonrpc\":\"2.0\",\"id\":");
        if (m->id[0] == 'n')
            spill__buf_put(&b, m->id + 1, strlen(m->id + 1));
        else
            spill__buf_json(&b, m->id + 1, strlen(m->id + 1));
        spill__buf_printf(&b, ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":");
        spill__buf_json(&b, text.p ? text.p : "", text.len);
        spill__buf_printf(&b, "}],\"isError\":true}}");
    } else {
        spill__buf_printf(&b, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":"
                          "{\"level\":\"error\",\"logger\":\"spill\",\"data\":");
        spill__buf_json(&b, text.p ? text.p : "", text.len);
        spill__buf_printf(&b, "}}");
    }
    int rc = b.oom || text.oom ? spill__ferror(f, SPILL_E_NOMEM, 0, "out of memory") : 0;
    if (!rc)
        rc = spill__femit(f, SPILL_S2C, b.p, b.len);
    if (!rc)
        rc = spill__femit(f, SPILL_S2C, term, tn);
    spill__ffree(f, b.p);
    spill__ffree(f, text.p);
    return rc;
}

/* The stream ended inside a held message: a torn line would break the client, so the
 * bytes that came are stored and a valid message says so instead. */
static int cut_off_held(spill_filter *f, dirstate *d)
{
    char notes[160] = "", why[128];
    spill_put_info pi = {0};
    pi.mime = "application/octet-stream";
    void *obj = NULL;
    spill_object_info info;
    memset(&info, 0, sizeof info);
    int rc = f->sink.begin(f->sink.ctx, &obj, &pi);
    if (rc == 0 && (rc = f->sink.write(obj, d->buf, d->len)) != 0)
        f->sink.abort(obj);
    else if (rc == 0 && (rc = f->sink.commit(obj, "text/plain", 0, "", &info)) == 0)
        snprintf(notes, sizeof notes, "%s the partial message (%llu bytes)\n", info.id,
                 (unsigned long long)d->len);
    if (rc)
        f->stats.store_failures++;
    snprintf(why, sizeof why, "the stream ended %llu bytes into it, before the message was complete",
             (unsigned long long)d->len);
    return spill__emit_failure(f, d->scan_failed ? NULL : &d->walk->msg, why, notes[0] ? notes : NULL, "\n", 1);
}

/* ---- public feed ---- */

int spill_filter_feed(spill_filter *f, spill_dir dir, const void *data, size_t size)
{
    if (f->sticky)
        return f->sticky;
    if (dir != SPILL_S2C && dir != SPILL_C2S)
        return SPILL_E_INVAL;
    const unsigned char *p = data;
    dirstate *d = &f->d[dir];
    f->stats.bytes_in[dir] += size;
    int rc = 0;
    while (size && rc == 0) {
        if (f->o.framing == SPILL_FRAMING_MESSAGE) {
            rc = msg_bytes(f, dir, p, size);
            d->off += size;
            break;
        }
        const unsigned char *nl = memchr(p, '\n', size);
        size_t n = nl ? (size_t)(nl - p) : size;
        if (n)
            rc = msg_bytes(f, dir, p, n);
        d->off += n;
        if (nl && rc == 0) {
            rc = msg_end(f, dir, "\n", 1, 0);
            d->off++;
            n++;
        }
        p += n;
        size -= n;
    }
    return rc;
}

int spill_filter_end_message(spill_filter *f, spill_dir dir)
{
    if (f->sticky)
        return f->sticky;
    if (dir != SPILL_S2C && dir != SPILL_C2S)
        return SPILL_E_INVAL;
    return msg_end(f, dir, "", 0, 0);
}

int spill_filter_finish(spill_filter *f, spill_dir dir)
{
    if (f->sticky)
        return f->sticky;
    if (dir != SPILL_S2C && dir != SPILL_C2S)
        return SPILL_E_INVAL;
    if (!f->d[dir].in_msg)
        return 0;
    /* Message framing: the last message had no explicit end; NDJSON: no newline. */
    return msg_end(f, dir, "", 0, f->o.framing == SPILL_FRAMING_NDJSON);
}
