/* relay.c - the sidecar's filter thread (see relay.h). */
#define _GNU_SOURCE
#include "relay.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct relay {
    spill_filter *f;
    relayq *in, *out;
    relay_opts o;
    spill_object_sink inner, locked;
    pthread_mutex_t store_mu;
    atomic_int store_busy;     /* the loop gave up waiting; cleared when the thread lets go */
    atomic_int working;        /* the thread is inside an item */
    int discard;               /* the output of the line being fed is dropped (S2C_SEEN) */
    pthread_mutex_t wake_mu;   /* orders wake calls against relay_abandon */
    int abandoned;
    pthread_t th;
    spill_filter_stats stats;
    char errbuf[512];
};

static void wake(relay *r)
{
    pthread_mutex_lock(&r->wake_mu);
    if (!r->abandoned)
        r->o.wake(r->o.wake_ud);
    pthread_mutex_unlock(&r->wake_mu);
}

/* ---- the sink, under the store lock ---- */

/* The loop thread reads the same store for spill's own tools (and a read updates the
 * index), and a spill_store is for one thread at a time: each sink call holds the lock,
 * so a loop-side read waits at most for one call, never for a whole object. */
static void store_release(relay *r)
{
    pthread_mutex_unlock(&r->store_mu);
    atomic_store(&r->store_busy, 0);
}

typedef struct locked_obj {
    relay *r;
    void *obj;
} locked_obj;

static int locked_begin(void *ctx, void **obj, const spill_put_info *pi)
{
    relay *r = ctx;
    locked_obj *o = malloc(sizeof *o);
    if (!o)
        return SPILL_E_NOMEM;
    o->r = r;
    pthread_mutex_lock(&r->store_mu);
    int rc = r->inner.begin(r->inner.ctx, &o->obj, pi);
    store_release(r);
    if (rc) {
        free(o);
        return rc;
    }
    *obj = o;
    return 0;
}

static int locked_write(void *obj, const void *data, size_t size)
{
    locked_obj *o = obj;
    pthread_mutex_lock(&o->r->store_mu);
    int rc = o->r->inner.write(o->obj, data, size);
    store_release(o->r);
    return rc;
}

static int locked_commit(void *obj, const char *mime, uint64_t tokens, const char *counter,
                         spill_object_info *info)
{
    locked_obj *o = obj;
    relay *r = o->r;
    pthread_mutex_lock(&r->store_mu);
    int rc = r->inner.commit(o->obj, mime, tokens, counter, info); /* frees o->obj either way */
    store_release(r);
    free(o);
    return rc;
}

static void locked_abort(void *obj)
{
    locked_obj *o = obj;
    pthread_mutex_lock(&o->r->store_mu);
    o->r->inner.abort(o->obj);
    store_release(o->r);
    free(o);
}

static const char *locked_error(void *ctx)
{
    relay *r = ctx;
    const char *msg = NULL;
    pthread_mutex_lock(&r->store_mu);
    if (r->inner.last_error && (msg = r->inner.last_error(r->inner.ctx)) != NULL)
        snprintf(r->errbuf, sizeof r->errbuf, "%s", msg); /* the store's buffer is shared */
    pthread_mutex_unlock(&r->store_mu);
    return msg ? r->errbuf : NULL;
}

int relay_store_lock_within(relay *r, unsigned ms)
{
    if (atomic_load(&r->store_busy)) /* still in the call that made the last wait fail */
        return pthread_mutex_trylock(&r->store_mu) == 0 ? 0 : -EBUSY;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    if (pthread_mutex_timedlock(&r->store_mu, &until) == 0)
        return 0;
    atomic_store(&r->store_busy, 1);
    return -EBUSY;
}

void relay_store_unlock(relay *r) { pthread_mutex_unlock(&r->store_mu); }

/* ---- the thread ---- */

static int relay_emit(void *ud, spill_dir dir, const void *data, size_t size)
{
    relay *r = ud;
    /* The filter passes a client's bytes on unchanged (msg_bytes and msg_end in
     * filter.c emit exactly what was fed), and the loop forwarded them already. */
    if (dir == SPILL_C2S || size == 0 || r->discard)
        return 0;
    if (relayq_put_wait(r->out, RELAY_OUT_DATA, data, size, NULL, r->o.out_high) != 0)
        return -1;
    wake(r);
    return 0;
}

static void give(relay *r, int kind, const char *text)
{
    relayq_put(r->out, kind, text, strlen(text), NULL);
    wake(r);
}

static uint64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* The next input. As the loop does after traffic (sidecar.c, on_spin), the thread
 * polls for spin_us before it sleeps: the answer to a message comes soon after it,
 * and a wake-up from a condition variable costs tens of microseconds on a virtual
 * machine. Each turn yields, so only otherwise idle CPU goes to it. */
static relayq_item *next_input(relay *r)
{
    relayq_item *it = relayq_take(r->in, 0);
    if (it || !r->o.spin_us)
        return it ? it : relayq_take(r->in, 1);
    uint64_t until = now_us() + r->o.spin_us;
    do {
        sched_yield();
        if ((it = relayq_take(r->in, 0)) != NULL)
            return it;
    } while (now_us() < until);
    return relayq_take(r->in, 1);
}

static void *relay_main(void *arg)
{
    relay *r = arg;
    int failed = 0, end = 0;
    relayq_item *it;
    while (!end && (it = next_input(r)) != NULL) {
        int rc = 0;
        atomic_store(&r->working, 1);
        switch (it->kind) {
        case RELAY_S2C_SEEN: /* a whole line: nothing before it is still being emitted */
            r->discard = 1;
            rc = failed ? 0 : spill_filter_feed(r->f, SPILL_S2C, it->data, it->len);
            r->discard = 0;
            break;
        case RELAY_C2S:
        case RELAY_S2C: {
            if (!failed)
                rc = spill_filter_feed(r->f, (spill_dir)it->kind, it->data, it->len);
            /* The loop stops reading a direction over its mark: tell it of room. */
            size_t left = relayq_bytes(r->in, it->kind);
            if (left < r->o.input_low && left + it->len >= r->o.input_low)
                wake(r);
            break;
        }
        case RELAY_C2S_END:
            rc = failed ? 0 : spill_filter_finish(r->f, SPILL_C2S);
            break;
        case RELAY_S2C_END:
            rc = failed ? 0 : spill_filter_finish(r->f, SPILL_S2C);
            end = 1;
            break;
        case RELAY_RECONF: {
            char note[16];
            snprintf(note, sizeof note, "%d", spill_filter_reconfigure(r->f, it->ptr));
            give(r, RELAY_OUT_NOTE, note);
            break;
        }
        default:
            break;
        }
        if (rc && !failed) {
            failed = 1; /* the filter's errors are sticky: nothing more passes */
            give(r, RELAY_OUT_ERROR, spill_filter_last_error(r->f)->msg);
        }
        atomic_store(&r->working, 0);
        free(it->ptr);
        free(it);
    }
    relayq_close(r->in);
    spill_filter_get_stats(r->f, &r->stats);
    give(r, RELAY_OUT_DONE, "");
    return NULL;
}

/* ---- the loop's side ---- */

int relay_post(relay *r, int kind, const void *p, size_t n)
{
    return relayq_put(r->in, kind, p, n, NULL);
}

size_t relay_queued(relay *r, spill_dir dir) { return relayq_bytes(r->in, dir); }

relayq_item *relay_take(relay *r) { return relayq_take(r->out, 0); }

int relay_busy(relay *r) { return atomic_load(&r->working) || relayq_bytes(r->in, RELAY_S2C) > 0; }

int relay_passes_unchanged(const char *line, size_t n)
{
    /* The filter changes a response only for a payload in its result; an empty result
     * has none. Cheap tests first: most lines are not this. */
    if (n < 2 || line[n - 1] != '\n' || !memmem(line, n, "\"result\"", 8))
        return 0;
    json_t *m = json_loadb(line, n, JSON_REJECT_DUPLICATES, NULL);
    json_t *id = json_object_get(m, "id"), *result = json_object_get(m, "result");
    int ok = json_is_object(m) && json_object_size(m) == 3 &&
             json_is_string(json_object_get(m, "jsonrpc")) && (json_is_string(id) || json_is_integer(id)) &&
             json_is_object(result) && json_object_size(result) == 0;
    json_decref(m);
    return ok;
}

/* A copy of o whose rules and session live in the same block: the loop may replace
 * its config before the thread gets to this. */
int relay_reconfigure(relay *r, const spill_filter_opts *o)
{
    size_t strs = o->session ? strlen(o->session) + 1 : 0;
    for (size_t i = 0; i < o->nrules; i++) {
        const char *v[3] = {o->rules[i].server, o->rules[i].tool, o->rules[i].client};
        for (int k = 0; k < 3; k++)
            strs += v[k] ? strlen(v[k]) + 1 : 0;
    }
    size_t head = sizeof(spill_filter_opts) + o->nrules * sizeof(spill_rule);
    char *blk = malloc(head + strs);
    if (!blk)
        return SPILL_E_NOMEM;
    spill_filter_opts *c = (spill_filter_opts *)blk;
    spill_rule *rules = (spill_rule *)(blk + sizeof *c);
    char *at = blk + head;
    *c = *o;
    for (size_t i = 0; i < o->nrules; i++) {
        const char *v[3] = {o->rules[i].server, o->rules[i].tool, o->rules[i].client};
        const char *cp[3] = {NULL, NULL, NULL};
        for (int k = 0; k < 3; k++)
            if (v[k]) {
                size_t l = strlen(v[k]) + 1;
                memcpy(at, v[k], l);
                cp[k] = at;
                at += l;
            }
        rules[i] = o->rules[i];
        rules[i].server = cp[0];
        rules[i].tool = cp[1];
        rules[i].client = cp[2];
    }
    c->rules = o->nrules ? rules : NULL;
    if (o->session) {
        memcpy(at, o->session, strlen(o->session) + 1);
        c->session = at;
    }
    return relayq_put(r->in, RELAY_RECONF, NULL, 0, blk);
}

static void relay_free(relay *r)
{
    spill_filter_free(r->f);
    relayq_free(r->in);
    relayq_free(r->out);
    pthread_mutex_destroy(&r->wake_mu);
    pthread_mutex_destroy(&r->store_mu);
    free(r);
}

int relay_start(relay **out, const spill_filter_opts *fo, const relay_opts *ro)
{
    relay *r = calloc(1, sizeof *r);
    if (!r)
        return SPILL_E_NOMEM;
    r->o = *ro;
    r->inner = *fo->sink;
    r->locked = (spill_object_sink){r, locked_begin, locked_write, locked_commit, locked_abort, locked_error};
    pthread_mutex_init(&r->store_mu, NULL);
    pthread_mutex_init(&r->wake_mu, NULL);
    spill_filter_opts o = *fo;
    o.sink = &r->locked;
    o.emit = relay_emit;
    o.emit_ud = r;
    int rc = relayq_new(&r->in);
    if (rc == 0)
        rc = relayq_new(&r->out);
    if (rc == 0)
        rc = spill_filter_new(&r->f, &o);
    if (rc == 0) {
        /* Signals are the loop's: the thread never runs a handler mid-write. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        rc = -pthread_create(&r->th, NULL, relay_main, r);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    if (rc) {
        relay_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void relay_join(relay *r, spill_filter_stats *stats)
{
    pthread_join(r->th, NULL);
    if (stats)
        *stats = r->stats;
    relay_free(r);
}

void relay_abandon(relay *r)
{
    pthread_mutex_lock(&r->wake_mu);
    r->abandoned = 1;
    pthread_mutex_unlock(&r->wake_mu);
    relayq_close(r->in);
    relayq_close(r->out);
}
