/* cli_filter.c - `spill filter`: the interceptor over a recorded server-to-client
 * stream, for debugging, pipelines and embedders who want to see what spill does. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Output is gathered into large writes: small messages would otherwise cost a
 * system call each. */
typedef struct outbuf { char *p; size_t n, cap; } outbuf;

static int out_flush(outbuf *o)
{
    int rc = cli_write_all(1, o->p, o->n);
    o->n = 0;
    return rc;
}

static int out_emit(void *ud, spill_dir dir, const void *p, size_t n)
{
    outbuf *o = ud;
    if (dir != SPILL_S2C)
        return 0; /* the requests were only read to learn from */
    if (o->n + n > o->cap && out_flush(o))
        return -1;
    if (n >= o->cap)
        return cli_write_all(1, p, n) ? -1 : 0;
    memcpy(o->p + o->n, p, n);
    o->n += n;
    return 0;
}

static int feed_fd(spill_filter *f, spill_dir dir, int fd, const char *name)
{
    enum { BUF = 1 << 20 };
    char *buf = malloc(BUF);
    if (!buf)
        return cli_error("filter: out of memory");
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf, BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = cli_error("filter: reading %s: %s", name, strerror(errno));
            break;
        }
        if (n == 0) {
            int e = spill_filter_finish(f, dir);
            if (e)
                rc = cli_error("filter: %s", spill_filter_last_error(f)->msg);
            break;
        }
        int e = spill_filter_feed(f, dir, buf, (size_t)n);
        if (e) {
            rc = cli_error("filter: %s", spill_filter_last_error(f)->msg);
            break;
        }
    }
    free(buf);
    return rc;
}

int cmd_filter(cli *c)
{
    spill_filter_opts o;
    spill_filter_opts_init(&o);
    const char *requests = NULL, *input = NULL;
    int stats = 0, exact = 1;
    const char *vocab = "claude";
    double mul = 0;
    uint64_t v;
    for (int i = 0; i < c->argc; i++) {
        const char *a = c->argv[i], *val = i + 1 < c->argc ? c->argv[i + 1] : NULL;
        if (!strcmp(a, "--stats"))
            stats = 1;
        else if (!strcmp(a, "--message"))
            o.framing = SPILL_FRAMING_MESSAGE;
        else if (!strcmp(a, "--no-client-defaults"))
            o.client_defaults = 0;
        else if (a[0] != '-' && !input)
            input = a;
        else if (!val)
            return cli_usage("filter: %s needs a value", a);
        else if (!strcmp(a, "--requests"))
            requests = val, i++;
        else if (!strcmp(a, "--threshold") && !cli_parse_u64(val, &v) && v > 0)
            o.threshold_tokens = v, i++;
        else if (!strcmp(a, "--byte-cap") && !cli_parse_size(val, &v) && v > 0)
            o.byte_cap = v, i++;
        else if (!strcmp(a, "--min-spill") && !cli_parse_size(val, &v) && v > 0 && v < (1u << 30))
            o.min_spill_bytes = (size_t)v, i++;
        else if (!strcmp(a, "--preview-head") && !cli_parse_size(val, &v) && v < (1u << 20))
            o.preview_head_bytes = (size_t)v, i++;
        else if (!strcmp(a, "--preview-tail") && !cli_parse_size(val, &v) && v < (1u << 20))
            o.preview_tail_bytes = (size_t)v, i++;
        else if (!strcmp(a, "--inline-budget") && !cli_parse_size(val, &v) && v >= 4096 && v < (1ull << 32))
            o.inline_budget = (size_t)v, i++;
        else if (!strcmp(a, "--vocab") && cli_vocab_ok(val))
            vocab = val, i++;
        else if (!strcmp(a, "--counter") && (!strcmp(val, "exact") || !strcmp(val, "estimate")))
            exact = !strcmp(val, "exact"), i++;
        else if (!strcmp(a, "--multiplier") && !cli_parse_multiplier(val, &mul))
            i++;
        else if (!strcmp(a, "--links") && (!strcmp(val, "on") || !strcmp(val, "off") || !strcmp(val, "auto")))
            o.resource_links = !strcmp(val, "on") ? 1 : !strcmp(val, "off") ? 0 : -1, i++;
        else if (!strcmp(a, "--server"))
            o.server_name = val, i++;
        else if (!strcmp(a, "--session"))
            o.session = val, i++;
        else
            return cli_usage("filter: bad argument %s %s", a, val);
    }
    int fd = 0, rfd = -1;
    if (input && strcmp(input, "-") && (fd = open(input, O_RDONLY | O_CLOEXEC)) < 0)
        return cli_error("filter: cannot open %s: %s", input, strerror(errno));
    if (requests && (rfd = open(requests, O_RDONLY | O_CLOEXEC)) < 0)
        return cli_error("filter: cannot open %s: %s", requests, strerror(errno));
    spill_store *st;
    int rc = cli_open(c, &st);
    if (rc)
        return rc;
    spill_object_sink sink;
    spill_store_sink(st, &sink);
    o.sink = &sink;
    o.emit = out_emit;
    outbuf ob = {malloc(1 << 20), 0, 1 << 20};
    if (!ob.p) {
        spill_store_close(st);
        return cli_error("filter: out of memory");
    }
    o.emit_ud = &ob;
    /* Exact up to the threshold decides exactly; past it the estimator keeps the
     * filter's throughput. */
    char warn[512];
    o.counter = cli_counter(vocab, exact, mul, o.threshold_tokens, warn, sizeof warn);
    if (warn[0])
        fprintf(stderr, "spill: filter: %s\n", warn);
    spill_filter *f;
    if ((rc = spill_filter_new(&f, &o)) != 0) {
        free(ob.p);
        spill_store_close(st);
        cli_counters_free();
        return cli_error("filter: %s", spill_strerror(rc));
    }
    /* Requests first: they only teach the filter which ids are which calls. */
    if (rfd >= 0)
        rc = feed_fd(f, SPILL_C2S, rfd, requests);
    if (rc == 0)
        rc = feed_fd(f, SPILL_S2C, fd, input ? input : "stdin");
    if (out_flush(&ob) && rc == 0)
        rc = cli_error("filter: writing output: %s", strerror(errno));
    free(ob.p);
    if (stats) {
        spill_filter_stats s;
        spill_filter_get_stats(f, &s);
        fprintf(stderr, "spill filter: %llu messages, %llu rewritten, %llu payloads spilled (%llu bytes), "
                "%llu unparseable, %llu store failures, %llu cut off; %llu bytes in, %llu out\n",
                (unsigned long long)s.messages[SPILL_S2C], (unsigned long long)s.results_rewritten,
                (unsigned long long)s.payloads_spilled, (unsigned long long)s.spilled_bytes,
                (unsigned long long)s.unparseable, (unsigned long long)s.store_failures,
                (unsigned long long)s.cut_off, (unsigned long long)s.bytes_in[SPILL_S2C],
                (unsigned long long)s.bytes_out[SPILL_S2C]);
    }
    spill_filter_free(f);
    spill_store_close(st);
    cli_counters_free();
    if (fd > 0)
        close(fd);
    if (rfd >= 0)
        close(rfd);
    return rc;
}
