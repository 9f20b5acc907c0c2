/* Unit tests of the sidecar's filter thread (spill/relay.c), without libuv: the filter
 * learns requests from the client's copies and hands back only server-to-client bytes,
 * a stalled store never makes relay_post wait, a reconfigure applies in order with the
 * stream and owns its rules, and an abandoned thread lets go. */
#include "../harness.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "relay.h"
#include "spill.h"

/* ---- a sink whose commit can be held at a gate ---- */

typedef struct gate_sink {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int hold, in_commit, commits;
    size_t bytes;
} gate_sink;

static int gs_begin(void *ctx, void **obj, const spill_put_info *pi)
{
    (void)pi;
    *obj = ctx;
    return 0;
}

static int gs_write(void *obj, const void *p, size_t n)
{
    (void)p;
    gate_sink *g = obj;
    pthread_mutex_lock(&g->mu);
    g->bytes += n;
    pthread_mutex_unlock(&g->mu);
    return 0;
}

static int gs_commit(void *obj, const char *mime, uint64_t tokens, const char *counter, spill_object_info *info)
{
    (void)tokens;
    (void)counter;
    gate_sink *g = obj;
    pthread_mutex_lock(&g->mu);
    g->in_commit = 1;
    pthread_cond_broadcast(&g->cv);
    while (g->hold) /* a disk that takes its time, or a neighbour holding the index lock */
        pthread_cond_wait(&g->cv, &g->mu);
    g->in_commit = 0;
    g->commits++;
    memset(info, 0, sizeof *info);
    strcpy(info->id, "00112233445566778899aabbccddeeff");
    info->raw_size = g->bytes;
    info->lines = 1;
    snprintf(info->mime, sizeof info->mime, "%s", mime ? mime : "text/plain");
    pthread_mutex_unlock(&g->mu);
    return 0;
}

static void gs_abort(void *obj) { (void)obj; }

static void gate_set(gate_sink *g, int hold)
{
    pthread_mutex_lock(&g->mu);
    g->hold = hold;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static int gate_wait_commit(gate_sink *g)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&g->mu);
    int rc = 0;
    while (!g->in_commit && rc == 0)
        rc = pthread_cond_timedwait(&g->cv, &g->mu, &until);
    int in = g->in_commit;
    pthread_mutex_unlock(&g->mu);
    return in;
}

/* ---- the loop's side, played by the test ---- */

static atomic_int wakes;
static void count_wake(void *ud)
{
    (void)ud;
    atomic_fetch_add(&wakes, 1);
}

typedef struct harness {
    gate_sink g;
    spill_object_sink sink;
    relay *r;
    char out[1 << 16];
    size_t out_len;
    char note[32];
    int done, error;
} harness;

static int start(harness *h, uint64_t threshold)
{
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->g.mu, NULL);
    pthread_cond_init(&h->g.cv, NULL);
    h->sink = (spill_object_sink){&h->g, gs_begin, gs_write, gs_commit, gs_abort, NULL};
    spill_filter_opts o;
    spill_filter_opts_init(&o);
    o.threshold_tokens = threshold;
    o.client_defaults = 0;
    o.sink = &h->sink;
    relay_opts ro = {.out_high = 1 << 20, .input_low = 1 << 10, .spin_us = 0, .wake = count_wake};
    return relay_start(&h->r, &o, &ro);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Takes output for up to secs, or until DONE; returns the items taken. */
static int drain(harness *h, double secs)
{
    int n = 0;
    double until = now_s() + secs;
    while (!h->done && now_s() < until) {
        relayq_item *it = relay_take(h->r);
        if (!it) {
            struct timespec t = {0, 2000000};
            nanosleep(&t, NULL);
            continue;
        }
        n++;
        if (it->kind == RELAY_OUT_DATA && h->out_len + it->len < sizeof h->out) {
            memcpy(h->out + h->out_len, it->data, it->len);
            h->out_len += it->len;
        } else if (it->kind == RELAY_OUT_NOTE) {
            snprintf(h->note, sizeof h->note, "%s", it->data);
        } else if (it->kind == RELAY_OUT_ERROR) {
            h->error = 1;
        } else if (it->kind == RELAY_OUT_DONE) {
            h->done = 1;
        }
        free(it);
    }
    return n;
}

static void finish(harness *h, spill_filter_stats *st)
{
    relay_join(h->r, st);
    pthread_cond_destroy(&h->g.cv);
    pthread_mutex_destroy(&h->g.mu);
}

static void post_str(harness *h, int kind, const char *s) { relay_post(h->r, kind, s, strlen(s)); }

/* A tools/call result of n bytes of text, for request id. */
static char *result_of(int id, size_t n)
{
    char *m = malloc(n + 200);
    int k = sprintf(m, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"", id);
    for (size_t i = 0; i < n; i++)
        m[k + i] = "abcdefgh ij"[i % 11];
    strcpy(m + k + n, "\"}]}}\n");
    return m;
}

static void learns_and_passes_only_the_servers_bytes(void)
{
    harness *h = calloc(1, sizeof *h);
    ASSERT_OK(start(h, 100000));
    const char *req = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\"}}\n";
    const char *resp = "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}}\n";
    post_str(h, RELAY_C2S, req);
    post_str(h, RELAY_S2C, resp);
    ASSERT_OK(relay_post(h->r, RELAY_C2S_END, NULL, 0));
    ASSERT_OK(relay_post(h->r, RELAY_S2C_END, NULL, 0));
    drain(h, 10);
    int done = h->done, same = h->out_len == strlen(resp) && !memcmp(h->out, resp, h->out_len);
    spill_filter_stats st;
    finish(h, &st);
    free(h);
    ASSERT(done);
    ASSERT(same); /* the client's bytes, which the loop forwards itself, are not echoed */
    ASSERT_EQ(st.messages[SPILL_C2S], 1);
    ASSERT_EQ(st.messages[SPILL_S2C], 1);
    ASSERT(atomic_load(&wakes) > 0);
}

/* A relay whose thread is inside the sink's commit of a large result, held at the
 * gate; returns 1 once it is there. */
static int start_stalled(harness *h)
{
    if (start(h, 1000) != 0)
        return 0;
    gate_set(&h->g, 1);
    post_str(h, RELAY_C2S, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"big\"}}\n");
    char *big = result_of(1, 200000);
    post_str(h, RELAY_S2C, big);
    free(big);
    return gate_wait_commit(&h->g);
}

static void a_stalled_store_never_makes_post_wait(void)
{
    harness *h = calloc(1, sizeof *h);
    int stalled = start_stalled(h);
    ASSERT(h->r);
    /* The thread is inside the sink's commit: posting still returns at once. */
    double t0 = now_s(), worst = 0;
    for (int i = 0; i < 100; i++) {
        double a = now_s();
        post_str(h, RELAY_C2S, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\"}\n");
        post_str(h, RELAY_S2C, "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{}}\n");
        worst = now_s() - a > worst ? now_s() - a : worst;
    }
    int queued = relay_queued(h->r, SPILL_S2C) > 0 && relay_queued(h->r, SPILL_C2S) > 0;
    int early = drain(h, 0.1);
    double spent = now_s() - t0;
    gate_set(&h->g, 0);
    ASSERT_OK(relay_post(h->r, RELAY_S2C_END, NULL, 0));
    drain(h, 10);
    spill_filter_stats st;
    int done = h->done, commits = h->g.commits;
    char *handle = strstr(h->out, "00112233445566778899aabbccddeeff");
    char *after = strstr(h->out, "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{}}\n");
    finish(h, &st);
    free(h);
    ASSERT(stalled);
    if (worst > 0.05)
        FAILF("relay_post took %.3f s while the sink was stalled", worst);
    ASSERT(spent < 5);
    ASSERT(queued);
    ASSERT_EQ(early, 0); /* nothing overtakes the result being stored */
    ASSERT(done && commits == 1);
    ASSERT(handle && after && handle < after); /* the handle, then the later answers */
    ASSERT_EQ(st.payloads_spilled, 1);
}

/* The loop's own store calls wait a bounded time for a sink call, then fail fast until
 * that call ends. */
static void the_loop_waits_for_the_store_a_bounded_time(void)
{
    harness *h = calloc(1, sizeof *h);
    int stalled = start_stalled(h);
    ASSERT(h->r);
    double t0 = now_s();
    int first = relay_store_lock_within(h->r, 50);
    double t1 = now_s();
    int second = relay_store_lock_within(h->r, 1000);
    double t2 = now_s();
    gate_set(&h->g, 0);
    ASSERT_OK(relay_post(h->r, RELAY_S2C_END, NULL, 0));
    drain(h, 10); /* the commit ended: the lock is free again */
    int after = relay_store_lock_within(h->r, 1000);
    if (after == 0)
        relay_store_unlock(h->r);
    finish(h, NULL);
    free(h);
    ASSERT(stalled);
    ASSERT_EQ(first, -EBUSY);
    ASSERT(t1 - t0 >= 0.045 && t1 - t0 < 1);
    ASSERT_EQ(second, -EBUSY);
    ASSERT(t2 - t1 < 0.5); /* the same long call: no second 1 s wait */
    ASSERT_EQ(after, 0);
}

static void reconfigure_applies_in_order_and_owns_its_rules(void)
{
    harness *h = calloc(1, sizeof *h);
    ASSERT_OK(start(h, 1000000));
    const char *req = "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\"}}\n";
    char line[256];
    snprintf(line, sizeof line, req, 1);
    post_str(h, RELAY_C2S, line);
    char *r1 = result_of(1, 50000);
    post_str(h, RELAY_S2C, r1);
    /* A rule for this tool, from names in a buffer that changes right after. */
    char name[16] = "echo";
    spill_rule rule = {NULL, name, NULL, 100};
    spill_filter_opts o;
    spill_filter_opts_init(&o);
    o.threshold_tokens = 1000000;
    o.client_defaults = 0;
    o.rules = &rule;
    o.nrules = 1;
    o.session = "s1";
    ASSERT_OK(relay_reconfigure(h->r, &o));
    strcpy(name, "zzzz");
    snprintf(line, sizeof line, req, 2);
    post_str(h, RELAY_C2S, line);
    char *r2 = result_of(2, 50000);
    post_str(h, RELAY_S2C, r2);
    ASSERT_OK(relay_post(h->r, RELAY_S2C_END, NULL, 0));
    drain(h, 10);
    int first_whole = h->out_len > strlen(r1) && !memcmp(h->out, r1, strlen(r1));
    int second_spilled = h->out_len < strlen(r1) + 20000 && strstr(h->out + strlen(r1), "[spill]") != NULL;
    int noted = !strcmp(h->note, "0"), done = h->done;
    free(r1);
    free(r2);
    finish(h, NULL);
    free(h);
    ASSERT(done && noted);
    ASSERT(first_whole);   /* before the reconfigure: under 1,000,000 tokens, whole */
    ASSERT(second_spilled); /* after it: over the rule's 100 tokens, stored */
}

static void an_abandoned_thread_lets_go(void)
{
    harness *h = calloc(1, sizeof *h);
    int stalled = start_stalled(h);
    ASSERT(h->r);
    relay_abandon(h->r);
    int before = atomic_load(&wakes);
    ASSERT_EQ(relay_post(h->r, RELAY_S2C, "x", 1), SPILL_E_ABORTED);
    gate_set(&h->g, 0); /* the write ends later; the thread must not wake the loop */
    finish(h, NULL);
    free(h);
    ASSERT(stalled);
    ASSERT_EQ(atomic_load(&wakes), before);
}

static void passes_unchanged_only_for_empty_results(void)
{
    const char *yes[] = {"{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}\n",
                         "{\"result\": { }, \"id\": \"a\", \"jsonrpc\": \"2.0\"}\r\n"};
    const char *no[] = {"{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}",           /* no end of line */
                        "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"a\":1}}\n",  /* a result with something */
                        "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{},\"x\":1}\n",  /* more than a response */
                        "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":{}}\n",
                        "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"result\":{}}\n",
                        "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":1,\"message\":\"result\"}}\n",
                        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"result\"}\n",
                        "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}{\"x\":1}\n", /* two values */
                        "{\"jsonrpc\":\"2.0\",\"id\":3,\"id\":4,\"result\":{}}\n",  /* a duplicate key */
                        "[{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}]\n",       /* a batch */
                        "\"result\"\n", "\n", ""};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!relay_passes_unchanged(yes[i], strlen(yes[i])))
            FAILF("not taken: %s", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (relay_passes_unchanged(no[i], strlen(no[i])))
            FAILF("taken: %s", no[i]);
}

/* A line the loop gave the agent already: the filter counts it, and nothing of it is
 * given back (the agent would see it twice). */
static void seen_lines_are_learned_not_echoed(void)
{
    harness *h = calloc(1, sizeof *h);
    ASSERT_OK(start(h, 100000));
    const char *ping = "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{}}\n";
    const char *other = "{\"jsonrpc\":\"2.0\",\"id\":6,\"result\":{\"a\":1}}\n";
    post_str(h, RELAY_C2S, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\"}\n");
    post_str(h, RELAY_S2C_SEEN, ping);
    post_str(h, RELAY_S2C, other);
    ASSERT_OK(relay_post(h->r, RELAY_S2C_END, NULL, 0));
    drain(h, 10);
    int done = h->done, only_other = h->out_len == strlen(other) && !memcmp(h->out, other, h->out_len);
    spill_filter_stats st;
    finish(h, &st);
    free(h);
    ASSERT(done);
    ASSERT(only_other);
    ASSERT_EQ(st.messages[SPILL_S2C], 2);
}

int main(void)
{
    h_seed();
    RUN(learns_and_passes_only_the_servers_bytes);
    RUN(a_stalled_store_never_makes_post_wait);
    RUN(the_loop_waits_for_the_store_a_bounded_time);
    RUN(reconfigure_applies_in_order_and_owns_its_rules);
    RUN(an_abandoned_thread_lets_go);
    RUN(passes_unchanged_only_for_empty_results);
    RUN(seen_lines_are_learned_not_echoed);
    return h_failures ? 1 : 0;
}
