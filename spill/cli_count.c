/* cli_count.c - `spill count`, and the choice of token counter for `spill filter` and
 * `spill run`: the exact counter when its vocabulary loads, else the estimator. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* The executable's tokenizers, one per vocabulary, opened on first use and kept to the
 * end of the process: counters made from them may live as long as a filter does, and
 * a reloaded config may point back to them. */
static const char *const vocabs[3] = {"claude", "o200k", "cl100k"};
static spill_tokenizer *tokenizers[3];
static int tried[3];
static char load_err[3][512];

/* The estimator with a multiplier other than its default: the scaled count of the
 * built-in one. */
typedef struct est_scaled {
    spill_counter_vtab v;
    const spill_counter_vtab *inner;
    double factor;
    char name[48];
    struct est_scaled *next;
} est_scaled;
static est_scaled *scaled;

/* count has no context but the state, so a state remembers its wrapper. */
typedef struct es_state { const est_scaled *e; void *inner; } es_state;
static int es_create2(void *ctx, void **state)
{
    es_state *s = malloc(sizeof *s);
    if (!s)
        return SPILL_E_NOMEM;
    s->e = ctx;
    int rc = s->e->inner->create(s->e->inner->ctx, &s->inner);
    if (rc) {
        free(s);
        return rc;
    }
    *state = s;
    return 0;
}
static void es_feed2(void *state, const void *p, size_t n)
{
    es_state *s = state;
    s->e->inner->feed(s->inner, p, n);
}
static uint64_t es_count2(const void *state)
{
    const es_state *s = state;
    return (uint64_t)((double)s->e->inner->count(s->inner) * s->e->factor + 0.5);
}
static void es_destroy2(void *state)
{
    es_state *s = state;
    s->e->inner->destroy(s->inner);
    free(s);
}

static int vocab_index(const char *v)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(v, vocabs[i]))
            return i;
    return -1;
}

int cli_vocab_ok(const char *vocab) { return vocab && vocab_index(vocab) >= 0; }

static const spill_counter_vtab *estimator(const char *vocab, double multiplier)
{
    const spill_counter_vtab *inner = spill_estimator(vocab);
    const double def = !strcmp(vocab, "claude") ? 1.10 : 1.00;
    if (!inner || multiplier <= 0 || multiplier == def)
        return inner;
    for (est_scaled *e = scaled; e; e = e->next)
        if (e->inner == inner && e->factor == multiplier / def)
            return &e->v;
    est_scaled *e = calloc(1, sizeof *e);
    if (!e)
        return inner;
    e->inner = inner;
    e->factor = multiplier / def;
    snprintf(e->name, sizeof e->name, "estimate:%s*%.2f", vocab, multiplier);
    e->v.name = e->name;
    e->v.ctx = e;
    e->v.create = es_create2;
    e->v.feed = es_feed2;
    e->v.count = es_count2;
    e->v.destroy = es_destroy2;
    e->v.max_per_byte = inner->max_per_byte * e->factor;
    e->next = scaled;
    scaled = e;
    return &e->v;
}

spill_tokenizer *cli_tokenizer(const char *vocab, const char **why)
{
    int i = vocab_index(vocab);
    if (i < 0) {
        *why = "unknown vocabulary";
        return NULL;
    }
    if (!tried[i]) {
        tried[i] = 1;
        int rc = spill_tokenizer_open(&tokenizers[i], vocabs[i], NULL, load_err[i], sizeof load_err[i]);
        if (rc && !load_err[i][0])
            snprintf(load_err[i], sizeof load_err[i], "%s", spill_strerror(rc));
    }
    *why = load_err[i];
    return tokenizers[i];
}

const spill_counter_vtab *cli_counter(const char *vocab, int exact, double multiplier,
                                      uint64_t early_exit, char *warn, size_t warnlen)
{
    if (warn && warnlen)
        warn[0] = 0;
    if (exact) {
        const char *why;
        spill_tokenizer *tk = cli_tokenizer(vocab, &why);
        if (tk) {
            spill_count_opts o;
            spill_count_opts_init(&o);
            o.multiplier = multiplier;
            o.early_exit = early_exit;
            const spill_counter_vtab *v = spill_tokenizer_counter(tk, &o);
            if (v)
                return v;
            why = "out of memory";
        }
        if (warn && warnlen)
            snprintf(warn, warnlen,
                     "warning: cannot load the %s vocabulary (%s); counting tokens with the "
                     "estimator instead (make vocab, or set SPILL_VOCAB_DIR)", vocab, why);
    }
    return estimator(vocab, multiplier);
}

void cli_counters_free(void)
{
    for (int i = 0; i < 3; i++) {
        spill_tokenizer_free(tokenizers[i]);
        tokenizers[i] = NULL;
        tried[i] = 0;
    }
    while (scaled) {
        est_scaled *n = scaled->next;
        free(scaled);
        scaled = n;
    }
}

int cli_parse_multiplier(const char *s, double *m)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v > 0 && v <= 1000))
        return -1;
    *m = v;
    return 0;
}

/* ---- spill count ---- */

static const char count_help[] =
    "usage: spill count [FILE|-] [--vocab claude|o200k|cl100k] [--multiplier X]\n"
    "                   [--exact | --early-exit TOKENS | --estimate] [--json]\n"
    "Counts the tokens of a file or stdin. claude (the default) is the legacy Claude\n"
    "vocabulary reported x1.10, the public proxy for Claude's tokenizer; o200k and cl100k\n"
    "are OpenAI's (x1.00). --exact (the default) counts every byte exactly; --early-exit N\n"
    "counts exactly until N tokens, then estimates the rest; --estimate only estimates.\n"
    "The vocabulary files are looked up in $SPILL_VOCAB_DIR, then beside the installation.\n";

int cmd_count(cli *c)
{
    const char *vocab = "claude", *file = NULL;
    double mul = 0;
    int json = 0, mode = 0; /* 0 exact, 1 early exit, 2 estimate */
    uint64_t limit = SPILL_NO_LIMIT;
    for (int i = 0; i < c->argc; i++) {
        const char *a = c->argv[i], *v = i + 1 < c->argc ? c->argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(count_help, stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--exact")) {
            mode = 0;
        } else if (!strcmp(a, "--estimate")) {
            mode = 2;
        } else if (!strcmp(a, "-") || a[0] != '-') {
            if (file)
                return cli_usage("count: one input only");
            file = a;
        } else if (!v) {
            return cli_usage("count: %s needs a value", a);
        } else if (!strcmp(a, "--vocab") && cli_vocab_ok(v)) {
            vocab = v, i++;
        } else if (!strcmp(a, "--multiplier") && !cli_parse_multiplier(v, &mul)) {
            i++;
        } else if (!strcmp(a, "--early-exit") && !cli_parse_u64(v, &limit)) {
            mode = 1, i++;
        } else {
            return cli_usage("count: bad argument %s %s", a, v);
        }
    }
    if (mode != 1)
        limit = SPILL_NO_LIMIT;
    int fd = 0;
    if (file && strcmp(file, "-") && (fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
        return cli_error("count: cannot open %s: %s", file, strerror(errno));
    spill_counter *ctr = NULL;
    const spill_counter_vtab *bpe = NULL; /* names ctr's count */
    const spill_counter_vtab *est = NULL;
    void *est_state = NULL;
    int rc = 0;
    if (mode == 2) {
        est = estimator(vocab, mul);
        if (!est || est->create(est->ctx, &est_state) != 0)
            rc = cli_error("count: out of memory");
    } else {
        const char *why;
        spill_tokenizer *tk = cli_tokenizer(vocab, &why);
        spill_count_opts o;
        spill_count_opts_init(&o);
        o.multiplier = mul;
        o.early_exit = limit;
        if (!tk)
            rc = cli_error("count: cannot load the %s vocabulary: %s (make vocab, set SPILL_VOCAB_DIR, "
                           "or count with --estimate)", vocab, why);
        else if (spill_counter_new(&ctr, tk, &o) != 0 || !(bpe = spill_tokenizer_counter(tk, &o)))
            rc = cli_error("count: out of memory");
    }
    enum { BUF = 1 << 20 };
    char *buf = rc ? NULL : malloc(BUF);
    if (!rc && !buf)
        rc = cli_error("count: out of memory");
    while (!rc) {
        ssize_t n = read(fd, buf, BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = cli_error("count: reading %s: %s", file ? file : "stdin", strerror(errno));
        if (n <= 0)
            break;
        if (ctr)
            spill_counter_feed(ctr, buf, (size_t)n);
        else
            est->feed(est_state, buf, (size_t)n);
    }
    free(buf);
    if (fd > 0)
        close(fd);
    if (!rc) {
        spill_count_result r;
        const char *name;
        char nb[64];
        if (ctr) {
            spill_counter_finish(ctr, &r);
            /* The name the filter's handles use for the same counter. */
            snprintf(nb, sizeof nb, "%s%s", bpe->name, r.early_exit ? "+estimate" : "");
            name = nb;
        } else {
            memset(&r, 0, sizeof r);
            r.tokens = est->count(est_state);
            name = est->name;
        }
        if (!json) {
            printf("%llu\n", (unsigned long long)r.tokens);
        } else {
            printf("{\"tokens\":%llu,\"counter\":", (unsigned long long)r.tokens);
            cli_json_string(stdout, name);
            printf(",\"vocab\":\"%s\",\"exact\":%s", vocab, ctr ? "true" : "false");
            if (ctr)
                printf(",\"exact_tokens\":%llu,\"estimated_tokens\":%llu,\"estimated_from\":%llu,"
                       "\"bytes\":%llu,\"text_bytes\":%llu,\"capped\":%s,\"early_exit\":%s",
                       (unsigned long long)r.exact_tokens, (unsigned long long)r.estimated_tokens,
                       (unsigned long long)r.estimated_from, (unsigned long long)r.bytes,
                       (unsigned long long)r.text_bytes, r.capped ? "true" : "false",
                       r.early_exit ? "true" : "false");
            printf("}\n");
        }
    }
    spill_counter_free(ctr);
    if (est_state)
        est->destroy(est_state);
    cli_counters_free();
    return rc;
}
