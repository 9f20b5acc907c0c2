/* tokenizer.c - the public face of the exact counter (spill.h, "Exact token counting"):
 * loading a vocabulary, one-shot and streaming counts, and the counter interface the
 * filter takes. The counting itself is exact.c; the file lookup is bpe.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exact.h"

/* A counter interface made by spill_tokenizer_counter; kept in the tokenizer's list. */
typedef struct tk_vtab {
    spill_counter_vtab v, sampler; /* the counter; the same estimating from the start */
    struct tk_vtab *next;
    const spill_tokenizer *tk;
    spill_count_opts o;
    char name[32], name_est[48];
} tk_vtab;

struct spill_tokenizer {
    spill__ranks *ranks;
    spill__vocab vocab;
    tk_vtab *vtabs;
};

struct spill_counter {
    spill__exact *x;
    int finished;
};

static const char *const vocab_names[] = {"claude", "o200k", "cl100k"};

static int vocab_of(const char *name, spill__vocab *v)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, vocab_names[i])) {
            *v = (spill__vocab)i;
            return 0;
        }
    return -1;
}

static void set_err(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, a, b);
}

int spill_tokenizer_open(spill_tokenizer **out, const char *vocab, const char *dir, char *err,
                         size_t errlen)
{
    static const char *const files[] = {"claude-legacy.tiktoken", "o200k_base.tiktoken",
                                        "cl100k_base.tiktoken"};
    *out = NULL;
    if (err && errlen)
        err[0] = 0;
    spill__vocab v;
    if (!vocab)
        vocab = "claude";
    if (vocab_of(vocab, &v) != 0) {
        set_err(err, errlen, "unknown vocabulary \"%s\"%s (claude, o200k or cl100k)", vocab, "");
        return SPILL_E_INVAL;
    }
    char path[4096];
    if (dir) {
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, files[v]) >= sizeof path)
            return SPILL_E_TOOBIG;
    } else {
        int rc = spill__vocab_path(vocab, path, sizeof path);
        if (rc) {
            set_err(err, errlen, "no %s vocabulary file: %s", vocab, path);
            return rc;
        }
    }
    spill_tokenizer *tk = calloc(1, sizeof *tk);
    if (!tk)
        return SPILL_E_NOMEM;
    tk->vocab = v;
    int rc = spill__ranks_load(path, &tk->ranks, err, errlen);
    if (rc) {
        if (err && errlen && !err[0])
            set_err(err, errlen, "%s: %s", path, spill_strerror(rc));
        free(tk);
        return rc;
    }
    *out = tk;
    return 0;
}

void spill_tokenizer_free(spill_tokenizer *tk)
{
    if (!tk)
        return;
    for (tk_vtab *t = tk->vtabs, *n; t; t = n) {
        n = t->next;
        free(t);
    }
    spill__ranks_free(tk->ranks);
    free(tk);
}

const char *spill_tokenizer_vocab(const spill_tokenizer *tk) { return vocab_names[tk->vocab]; }

void spill_count_opts_init(spill_count_opts *o)
{
    memset(o, 0, sizeof *o);
    o->early_exit = SPILL_NO_LIMIT;
}

/* The options with defaults filled in; -1 when they are out of range. */
static int resolve(const spill_tokenizer *tk, const spill_count_opts *in, spill_count_opts *o)
{
    if (in)
        *o = *in;
    else
        spill_count_opts_init(o);
    if (!(o->multiplier >= 0 && o->multiplier <= 1000) ||
        (o->piece_cap && o->piece_cap < SPILL__EXACT_PIECE_CAP_MIN))
        return -1;
    if (o->multiplier == 0)
        o->multiplier = tk->vocab == SPILL__VOCAB_CLAUDE ? 1.10 : 1.00;
    return 0;
}

int spill_counter_new(spill_counter **out, const spill_tokenizer *tk, const spill_count_opts *in)
{
    spill_count_opts o;
    *out = NULL;
    if (!tk || resolve(tk, in, &o) != 0)
        return SPILL_E_INVAL;
    spill_counter *c = calloc(1, sizeof *c);
    if (!c)
        return SPILL_E_NOMEM;
    c->x = spill__exact_new(tk->ranks, tk->vocab, o.multiplier, o.early_exit, o.piece_cap, NULL);
    if (!c->x) {
        free(c);
        return SPILL_E_NOMEM;
    }
    *out = c;
    return 0;
}

int spill_counter_feed(spill_counter *c, const void *data, size_t size)
{
    if (c->finished)
        return SPILL_E_STATE;
    spill__exact_feed(c->x, data, size);
    return 0;
}

int spill_counter_finish(spill_counter *c, spill_count_result *r)
{
    c->finished = 1;
    spill__exact_finish(c->x);
    if (r)
        spill__exact_result(c->x, r);
    return 0;
}

void spill_counter_result(const spill_counter *c, spill_count_result *r) { spill__exact_result(c->x, r); }

void spill_counter_free(spill_counter *c)
{
    if (!c)
        return;
    spill__exact_free(c->x);
    free(c);
}

int spill_count(const spill_tokenizer *tk, const spill_count_opts *o, const void *data, size_t size,
                spill_count_result *r)
{
    spill_counter *c;
    int rc = spill_counter_new(&c, tk, o);
    if (rc)
        return rc;
    spill_counter_feed(c, data, size);
    spill_counter_finish(c, r);
    spill_counter_free(c);
    return 0;
}

/* ---- the filter's counter interface ---- */

static int vt_create(void *ctx, void **state)
{
    const tk_vtab *t = ctx;
    spill__exact *x = spill__exact_new(t->tk->ranks, t->tk->vocab, t->o.multiplier, t->o.early_exit,
                                       t->o.piece_cap, t);
    if (!x)
        return SPILL_E_NOMEM;
    *state = x;
    return 0;
}
/* The sampler: an early exit at 0 tokens, so it estimates from its first piece on. */
static int vt_create_sampler(void *ctx, void **state)
{
    const tk_vtab *t = ctx;
    spill__exact *x = spill__exact_new(t->tk->ranks, t->tk->vocab, t->o.multiplier, 0, t->o.piece_cap, t);
    if (!x)
        return SPILL_E_NOMEM;
    *state = x;
    return 0;
}
static void vt_feed(void *state, const void *p, size_t n) { spill__exact_feed(state, p, n); }
static uint64_t vt_count(const void *state)
{
    spill_count_result r;
    spill__exact_result(state, &r);
    return r.tokens;
}
static void vt_destroy(void *state) { spill__exact_free(state); }
static void vt_finish(void *state) { spill__exact_finish(state); }
static const char *vt_state_name(const void *state)
{
    const tk_vtab *t = spill__exact_user(state);
    spill_count_result r;
    spill__exact_result(state, &r);
    return r.early_exit ? t->name_est : t->name;
}

const spill_counter_vtab *spill_tokenizer_counter(spill_tokenizer *tk, const spill_count_opts *in)
{
    spill_count_opts o;
    if (!tk || resolve(tk, in, &o) != 0)
        return NULL;
    for (tk_vtab *t = tk->vtabs; t; t = t->next)
        if (t->o.multiplier == o.multiplier && t->o.early_exit == o.early_exit &&
            t->o.piece_cap == o.piece_cap)
            return &t->v;
    tk_vtab *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->tk = tk;
    t->o = o;
    const double m100 = o.multiplier * 100, frac = m100 - (double)(uint64_t)(m100 + 0.5);
    if (o.multiplier == 1.0)
        snprintf(t->name, sizeof t->name, "bpe:%s", vocab_names[tk->vocab]);
    else if (frac < 1e-9 && frac > -1e-9)
        snprintf(t->name, sizeof t->name, "bpe:%s*%.2f", vocab_names[tk->vocab], o.multiplier);
    else
        snprintf(t->name, sizeof t->name, "bpe:%s*%.6g", vocab_names[tk->vocab], o.multiplier);
    snprintf(t->name_est, sizeof t->name_est, "%s+estimate", t->name);
    t->v.name = t->name;
    t->v.ctx = t;
    t->v.create = vt_create;
    t->v.feed = vt_feed;
    t->v.count = vt_count;
    t->v.destroy = vt_destroy;
    t->v.finish = vt_finish;
    t->v.state_name = vt_state_name;
    /* A token is at least one byte of the normalized text. That text is at most 3 bytes
     * per input byte (an invalid byte becomes U+FFFD), and NFKC's largest expansion in
     * UTF-8 is 11 bytes per byte (U+FDFA, 3 bytes, becomes 33; UAX #15). */
    t->v.max_per_byte = (tk->vocab == SPILL__VOCAB_CLAUDE ? 11.0 : 3.0) * o.multiplier;
    t->sampler = t->v;
    t->sampler.name = t->name_est;
    t->sampler.create = vt_create_sampler;
    t->v.sampler = &t->sampler;
    t->next = tk->vtabs;
    tk->vtabs = t;
    return &t->v;
}
