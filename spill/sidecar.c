/* sidecar.c - `spill run -- CMD`: libuv glue between an agent (our stdin/stdout) and
 * an MCP server (a child process), with the filter on the server-to-client side.
 * This file: the I/O, the lifecycle and the server-to-client side; the agent's messages
 * (spill's own calls answered in workers) are sidecar_requests.c's; their shared state is
 * sidecar_impl.h. With sidecar_jobs.c, these are the only files that use libuv.
 *
 *   agent stdin --> [requests: spill's own tools and spill:// reads answered here, each in
 *                    a worker process (sidecar_jobs.c running mcpworker.c); tools/list and
 *                    initialize ids remembered] --> sc_forward_c2s --> server
 *                                                                \-> copy: filter (learns)
 *   agent stdout <-- [tools/list: spill's tools added, outputSchema dropped;
 *                     initialize: resources capability added] <-- filter <-- server stdout
 *   server stderr is inherited: it reaches ours directly and can never block on us.
 *
 * The filter runs on its own thread (relay.c), so storing a large result (fdatasync,
 * LMDB commit) never stalls this loop: requests keep reaching the server and spill's
 * own answers keep coming while it runs. The loop does all I/O; the thread gets the
 * server's bytes and copies of the client's in one ordered queue and hands back the
 * server-to-client output, which the loop writes to the agent. While the thread is
 * behind, an empty result (a ping's answer) overtakes it (post_s2c).
 *
 * Backpressure: a direction stops reading when more than HIGH bytes wait to be written
 * on its other side and resumes below LOW, so a slow agent or a slow server never makes
 * spill buffer without bound; the agent's stdin also stops while LOCAL_MAX local calls
 * wait (agent_flow), and workers start only while the agent's stdout has room. Local
 * answers are held until the server-to-client stream is between two messages, so they
 * never land inside another message. Output is queued whole or not at all (outq_write). */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "cli.h"
#include "image.h"
#include "mcptools.h"
#include "sidecar_impl.h"

/* ---- logging (stderr only: stdout carries MCP messages and nothing else) ---- */

void sc_log(sidecar *s, const char *level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!strcmp(level, "debug") && !s->cfg->verbose)
        return;
    if (s->cfg->log_json) {
        json_t *o = json_pack("{s:I,s:s,s:s}", "time_ms", (json_int_t)(uv_now(s->loop)), "level", level,
                              "msg", msg);
        char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (t)
            fprintf(stderr, "%s\n", t);
        free(t);
        json_decref(o);
    } else {
        fprintf(stderr, "spill: %s%s%s\n", strcmp(level, "info") ? level : "", strcmp(level, "info") ? ": " : "", msg);
    }
}

/* ---- output queues ---- */

typedef struct wreq {
    uv_write_t req;
    outq *q;
    size_t n;
    char data[];
} wreq;

static void maybe_finish(sidecar *s);
static void begin_shutdown(sidecar *s, const char *why);
static void agent_flow(sidecar *s);
void spill__resume(uv_stream_t *st);

static void on_written(uv_write_t *req, int status)
{
    wreq *w = (wreq *)req;
    outq *q = w->q;
    sidecar *s = req->handle->data;
    q->queued -= w->n;
    free(w);
    if (status < 0 && !q->closed) {
        q->closed = 1;
        if (q == &s->agent_out) {
            s->agent_gone = 1;
            begin_shutdown(s, "the agent closed its end (stdout)");
        } else {
            sc_log(s, "warning", "cannot write to the server: %s", uv_strerror(status));
        }
    }
    if (q->paused && q->queued < LOW && q->source && !uv_is_closing((uv_handle_t *)q->source)) {
        q->paused = 0;
        extern void spill__resume(uv_stream_t *);
        spill__resume(q->source);
    }
    if (q == &s->srv_in)
        agent_flow(s);
    else if (s->jobs && q->queued < HIGH)
        spill_jobs_pump(s->jobs); /* workers wait while the agent's stdout is full */
    maybe_finish(s);
}

/* Test hook: SPILL_TEST_OUTQ_FAIL=N makes every Nth allocation for queued output fail, the
 * injected allocator of the test that no failure ever sends half a line. */
static void *outq_alloc(size_t n)
{
    static long every = -1, count;
    if (every < 0) {
        const char *e = getenv("SPILL_TEST_OUTQ_FAIL");
        every = e ? strtol(e, NULL, 10) : 0;
    }
    if (every > 0 && ++count % every == 0)
        return NULL;
    return malloc(n);
}

/* Queues p[0..n) whole or not at all: the room for what the pipe may not take is allocated
 * before the first byte is written, so a failed allocation (SPILL_E_NOMEM, nothing written)
 * never leaves half a message on the wire. Small messages still go out in one system call. */
static int outq_write(sidecar *s, outq *q, const void *p, size_t n)
{
    if (q->closed || !q->open || n == 0)
        return 0;
    wreq *w = outq_alloc(sizeof *w + n);
    if (!w)
        return SPILL_E_NOMEM;
    if (q->queued == 0) {
        /* Nothing waits: write now, and queue only what the pipe did not take. */
        uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
        int k = uv_try_write((uv_stream_t *)&q->pipe, &b, 1);
        if (k > 0) {
            p = (const char *)p + k;
            n -= (size_t)k;
            if (n == 0) {
                free(w);
                return 0;
            }
        }
    }
    memcpy(w->data, p, n);
    w->q = q;
    w->n = n;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    int rc = uv_write(&w->req, (uv_stream_t *)&q->pipe, &b, 1, on_written);
    if (rc < 0) {
        free(w);
        q->closed = 1;
        if (q == &s->agent_out) {
            s->agent_gone = 1;
            begin_shutdown(s, "the agent closed its end (stdout)");
        }
        return 0;
    }
    q->queued += n;
    if (q->queued > HIGH && q->source && !q->paused) {
        q->paused = 1;
        uv_read_stop(q->source);
    }
    if (q == &s->srv_in)
        agent_flow(s);
    return 0;
}

/* For forwarded bytes, which cannot wait in a queue of their own (that needs memory too) and
 * may continue a message already partly written: when memory runs out, wait for it a moment
 * (up to 100 ms) rather than cut the message; only then fail, which stops spill. */
static int outq_write_forwarded(sidecar *s, outq *q, const void *p, size_t n)
{
    int rc = outq_write(s, q, p, n);
    for (int i = 0; rc == SPILL_E_NOMEM && i < 50; i++) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
        rc = outq_write(s, q, p, n);
    }
    if (rc)
        sc_log(s, "error", "out of memory while passing a message to the %s", q == &s->srv_in ? "server" : "agent");
    return rc;
}

/* One whole line: p[0..n) and its newline in a single all-or-nothing write. */
static int outq_line(sidecar *s, outq *q, const char *p, size_t n)
{
    char *t = malloc(n + 1);
    if (!t)
        return SPILL_E_NOMEM;
    memcpy(t, p, n);
    t[n] = '\n';
    int rc = outq_write(s, q, t, n + 1);
    free(t);
    return rc;
}

/* ---- the server-to-client side, after the filter ---- */

static int pending_take(char list[PENDING][96], const char *id)
{
    for (int i = 0; i < PENDING; i++)
        if (list[i][0] && !strcmp(list[i], id)) {
            list[i][0] = 0;
            return 1;
        }
    return 0;
}

static void pending_add(char list[PENDING][96], const char *id)
{
    for (int i = 0; i < PENDING; i++)
        if (!list[i][0]) {
            snprintf(list[i], 96, "%s", id);
            return;
        }
    snprintf(list[0], 96, "%s", id); /* a client with 64 unanswered lists: reuse a slot */
}

static int pending_any(sidecar *s)
{
    for (int i = 0; i < PENDING; i++)
        if (s->pending_list[i][0] || s->pending_init[i][0])
            return 1;
    return 0;
}

static void id_key(json_t *id, char *out, size_t n)
{
    char *t = id ? json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    snprintf(out, n, "%s", t ? t : "");
    free(t);
}

static void on_retry(uv_timer_t *t);

/* Writes the held answers in order. One that cannot be queued (memory) stays first in
 * line and is tried again shortly: an answer is never lost, never sent in part. */
void sc_flush_held(sidecar *s)
{
    held_line *h;
    while ((h = s->held_head)) {
        if (outq_write(s, &s->agent_out, h->data, h->n) != 0) {
            if (!uv_is_active((uv_handle_t *)&s->retry_timer) && !uv_is_closing((uv_handle_t *)&s->retry_timer))
                uv_timer_start(&s->retry_timer, on_retry, 20, 0);
            return;
        }
        if (!(s->held_head = h->next))
            s->held_tail = NULL;
        s->local_inflight -= h->count;
        free(h);
    }
    s->byp_held = 0;
    agent_flow(s);
    maybe_finish(s);
}

static void on_retry(uv_timer_t *t)
{
    sidecar *s = t->data;
    if (s->resp_mode == 0)
        sc_flush_held(s);
    else if (s->held_head)
        uv_timer_start(&s->retry_timer, on_retry, 20, 0);
}

/* tools/list: spill's tools join the server's, and no tool keeps an outputSchema (the
 * SDK client rejects a result whose structuredContent spill replaced otherwise). */
static void edit_tools_list(json_t *result)
{
    json_t *tools = json_object_get(result, "tools");
    if (!json_is_array(tools))
        return;
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) json_object_del(t, "outputSchema");
    json_t *ours = json_loads(spill_mcp_tools_json(), 0, NULL);
    if (json_is_array(ours))
        json_array_extend(tools, ours);
    json_decref(ours);
}

/* initialize (and 2026 server/discover): spill serves spill:// resources itself. */
static void edit_capabilities(json_t *result)
{
    json_t *caps = json_object_get(result, "capabilities");
    if (json_is_object(caps) && !json_object_get(caps, "resources"))
        json_object_set_new(caps, "resources", json_object());
}

/* Edits one response if it answers a request we watch; returns 1 if it changed. */
static int edit_response(sidecar *s, json_t *m)
{
    if (!json_is_object(m) || !json_object_get(m, "id"))
        return 0;
    char key[96];
    id_key(json_object_get(m, "id"), key, sizeof key);
    /* An error answers the request too: its id is forgotten, or every later message would
     * be held and parsed here while it waits. */
    int list = pending_take(s->pending_list, key), init = !list && pending_take(s->pending_init, key);
    if (!json_is_object(json_object_get(m, "result")))
        return 0;
    if (list)
        edit_tools_list(json_object_get(m, "result"));
    else if (init)
        edit_capabilities(json_object_get(m, "result"));
    return list || init;
}

/* One complete message from the filter (a 2025-03-26 batch too): edit it if it answers
 * a request we watch. */
static int deliver_message(sidecar *s, const char *p, size_t n)
{
    json_t *m = json_loadb(p, n, JSON_DECODE_ANY, NULL);
    int changed = 0;
    if (json_is_array(m)) {
        size_t i;
        json_t *e;
        json_array_foreach(m, i, e) changed |= edit_response(s, e);
    } else {
        changed = edit_response(s, m);
    }
    char *t = changed ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
    if (t && outq_line(s, &s->agent_out, t, strlen(t)) == 0) {
        free(t);
        return 0;
    }
    free(t); /* no memory to edit it: it goes as the server sent it */
    return outq_write_forwarded(s, &s->agent_out, p, n);
}

/* The filter's server-to-client output, as the loop takes it from the filter thread:
 * whole messages that answer a watched request are edited, and held local answers go
 * out between two messages. */
static int filter_emit(sidecar *s, const void *data, size_t size)
{
    const char *p = data;
    /* Every write below is whole or nothing (outq_write); one that fails even after waiting
     * for memory stops spill: nothing more follows a cut message. */
    while (size) {
        const char *nl = memchr(p, '\n', size);
        size_t k = nl ? (size_t)(nl - p) + 1 : size;
        if (s->resp_mode == 0)
            s->resp_mode = pending_any(s) ? 1 : 2;
        if (s->resp_mode == 1 && s->resp_len + k > RESP_CAP) {
            /* Too big to edit: it goes through as it is. */
            if (outq_write_forwarded(s, &s->agent_out, s->resp, s->resp_len))
                return -1;
            s->resp_len = 0;
            s->resp_mode = 2;
        }
        if (s->resp_mode == 1) {
            if (!s->resp && !(s->resp = malloc(RESP_CAP)))
                return -1;
            memcpy(s->resp + s->resp_len, p, k);
            s->resp_len += k;
            if (nl) {
                int rc = deliver_message(s, s->resp, s->resp_len);
                s->resp_len = 0;
                if (rc)
                    return -1;
            }
        } else if (outq_write_forwarded(s, &s->agent_out, p, k)) {
            return -1;
        }
        if (nl) {
            s->resp_mode = 0;
            if (s->held_head)
                sc_flush_held(s); /* between two messages: local answers may go now */
        }
        p += k;
        size -= k;
    }
    return 0;
}

/* ---- the client-to-server side ---- */

/* Remembers requests whose responses spill edits. */
void sc_watch_request(sidecar *s, json_t *m)
{
    const char *method = json_string_value(json_object_get(m, "method"));
    json_t *id = json_object_get(m, "id");
    if (!method || !id)
        return;
    char key[96];
    id_key(id, key, sizeof key);
    if (!strcmp(method, "tools/list"))
        pending_add(s->pending_list, key);
    else if (!strcmp(method, "initialize") || !strcmp(method, "server/discover"))
        pending_add(s->pending_init, key);
}

/* Every client byte bound for the server goes through here: the loop forwards it at
 * once and posts a copy to the filter thread, which learns request ids (and tool
 * names) from it. The copy goes into the queue the server's bytes go into too, before
 * the server can have seen the request, so the filter learns a request before its
 * response. */
int sc_forward_c2s(sidecar *s, const char *p, size_t n)
{
    int rc = outq_write_forwarded(s, &s->srv_in, p, n);
    if (n == 0 || !s->r)
        return rc;
    int prc = relay_post(s->r, RELAY_C2S, p, n);
    if (prc == SPILL_E_NOMEM && rc == 0)
        rc = prc; /* a copy the filter missed would misattribute a response */
    if (!s->c2s_full && relay_queued(s->r, SPILL_C2S) > IN_HIGH) {
        s->c2s_full = 1;
        uv_read_stop((uv_stream_t *)&s->agent_in);
    }
    return rc;
}

/* Reading the agent stops while the server's stdin is full or too many local calls wait,
 * and resumes when both have drained to half. */
static void agent_flow(sidecar *s)
{
    uv_stream_t *in = (uv_stream_t *)&s->agent_in;
    if (s->agent_eof || !in->loop || uv_is_closing((uv_handle_t *)in))
        return;
    int full = s->srv_in.queued > HIGH || s->local_inflight >= LOCAL_MAX;
    int low = s->srv_in.queued < LOW && s->local_inflight <= LOCAL_MAX / 2;
    if (full && !s->in_paused) {
        s->in_paused = 1;
        uv_read_stop(in);
    } else if (s->in_paused && low) {
        s->in_paused = 0;
        spill__resume(in);
    }
}

void spill__resume(uv_stream_t *st);

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)h;
    (void)suggested;
    static char bufs[2][64 << 10]; /* one per reading stream; reads never overlap on one loop */
    static int which;
    b->base = bufs[which ^= 1];
    b->len = sizeof bufs[0];
}

static void spin_arm(sidecar *s);

static void on_agent_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    sidecar *s = st->data;
    if (n > 0)
        spin_arm(s);
    if (n == UV_EOF || n < 0) {
        if (n != UV_EOF)
            sc_log(s, "warning", "reading from the agent: %s", uv_strerror((int)n));
        uv_read_stop(st);
        if (s->big_drop)
            sc_long_line_end(s);
        else if (s->req_len)
            sc_client_message(s, s->req, s->req_len);
        s->req_len = 0;
        if (s->r)
            relay_post(s->r, RELAY_C2S_END, NULL, 0); /* a last request without its newline */
        s->agent_eof = 1;
        begin_shutdown(s, NULL);
        return;
    }
    const char *p = b->base;
    size_t size = (size_t)n;
    while (size) {
        const char *nl = memchr(p, '\n', size);
        size_t k = nl ? (size_t)(nl - p) + 1 : size;
        int rc = 0;
        if (s->big_drop) {
            if (nl)
                sc_long_line_end(s);
        } else if (s->req_streaming) {
            rc = sc_forward_c2s(s, p, k);
        } else if (s->req_len + k > REQ_CAP) {
            /* Too big to be one of spill's calls: the head decides whether it is one
             * (answered here, too large) or not (sent on as it streams). */
            size_t fill = REQ_CAP - s->req_len;
            memcpy(s->req + s->req_len, p, fill);
            rc = sc_long_line_head(s, s->req, REQ_CAP);
            if (rc == 0 && !s->big_drop)
                rc = sc_forward_c2s(s, p + fill, k - fill);
            if (s->big_drop && nl)
                sc_long_line_end(s);
            s->req_len = 0;
            s->req_streaming = !s->big_drop;
        } else {
            memcpy(s->req + s->req_len, p, k);
            s->req_len += k;
            if (nl) {
                rc = sc_client_message(s, s->req, s->req_len);
                s->req_len = 0;
            }
        }
        if (nl)
            s->req_streaming = 0;
        if (rc) {
            sc_log(s, "error", "forwarding to the server: %s", spill_strerror(rc));
            s->failed = 1;
            begin_shutdown(s, NULL);
            return;
        }
        p += k;
        size -= k;
    }
}

static void relay_abandon_now(sidecar *s, const char *why);

/* A server line the filter passes unchanged, to the agent ahead of the thread's output:
 * now if that output is between two messages, else at its next boundary. */
static int overtake(sidecar *s, const char *line, size_t n)
{
    if (s->resp_mode == 0)
        return outq_write(s, &s->agent_out, line, n) == 0;
    held_line *h = malloc(sizeof *h + n);
    if (!h)
        return 0; /* then it waits its turn */
    h->next = NULL, h->count = 0, h->n = n; /* it answers none of spill's calls */
    memcpy(h->data, line, n);
    if (s->held_tail)
        s->held_tail->next = h;
    else
        s->held_head = h;
    s->held_tail = h;
    s->byp_held += n;
    return 1;
}

/* Posts the server's bytes to the filter thread. While the thread is behind (a result
 * being stored: compression, fsync, the index commit), a whole short line that the
 * filter would pass unchanged whatever its settings (an empty result: a ping's answer)
 * goes to the agent at once, and the thread gets it as RELAY_S2C_SEEN (it learns from
 * it and drops its output): JSON-RPC lets responses come in any order, and the agent's
 * ping need not wait for the store. Otherwise the bytes go in as they came. */
static int post_s2c(sidecar *s, const char *p, size_t n)
{
    int rc;
    while (n) {
        if (s->byp_len || (!s->s2c_mid_line && s->byp_held < BYPASS_HELD_MAX && relay_busy(s->r))) {
            const char *nl = memchr(p, '\n', n);
            size_t k = nl ? (size_t)(nl - p) + 1 : n;
            if (s->byp_len + k <= sizeof s->byp) { /* a line short enough to overtake */
                memcpy(s->byp + s->byp_len, p, k);
                s->byp_len += k;
                p += k;
                n -= k;
                if (!nl)
                    return 0; /* the rest of it comes with the next read */
                int seen = relay_passes_unchanged(s->byp, s->byp_len) && overtake(s, s->byp, s->byp_len);
                rc = relay_post(s->r, seen ? RELAY_S2C_SEEN : RELAY_S2C, s->byp, s->byp_len);
                s->byp_len = 0;
                s->s2c_mid_line = 0;
                if (rc)
                    return rc;
                continue;
            }
            if ((rc = relay_post(s->r, RELAY_S2C, s->byp, s->byp_len)) != 0) /* too long: as it came */
                return rc;
            s->byp_len = 0;
            s->s2c_mid_line = 1;
        }
        /* Inside a line: to its end, then look again. Between lines: to the last end. */
        const char *nl = s->s2c_mid_line ? memchr(p, '\n', n) : memrchr(p, '\n', n);
        size_t k = nl ? (size_t)(nl - p) + 1 : n;
        if ((rc = relay_post(s->r, RELAY_S2C, p, k)) != 0)
            return rc;
        s->s2c_mid_line = !nl;
        p += k;
        n -= k;
    }
    return 0;
}

/* The server's bytes go to the filter thread; its output comes back through relay_pump. */
static void on_server_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    sidecar *s = st->data;
    if (n > 0)
        spin_arm(s);
    if (n == UV_EOF || n < 0) {
        uv_read_stop(st);
        s->srv_eof = 1;
        /* The thread finishes the stream and says DONE; relay_pump then ends it here. */
        if (s->r && s->byp_len && relay_post(s->r, RELAY_S2C, s->byp, s->byp_len) != 0)
            relay_abandon_now(s, "out of memory at the end of the server's output");
        s->byp_len = 0;
        if (s->r && relay_post(s->r, RELAY_S2C_END, NULL, 0) != 0)
            relay_abandon_now(s, "out of memory at the end of the server's output");
        maybe_finish(s);
        return;
    }
    if (!s->r || post_s2c(s, b->base, (size_t)n) != 0) {
        if (!s->failed)
            sc_log(s, "error", "cannot pass the server's output on: %s", s->r ? "out of memory" : "the filter stopped");
        s->failed = 1;
        begin_shutdown(s, NULL);
        return;
    }
    if (relay_queued(s->r, SPILL_S2C) > IN_HIGH) {
        s->s2c_full = 1;
        uv_read_stop(st);
    }
}

/* Starts reading a stream again if nothing holds it back: its own end, the queue it
 * fills (the other side's output, or the filter thread's input). */
static void read_again(sidecar *s, uv_stream_t *st)
{
    if (uv_is_closing((uv_handle_t *)st))
        return;
    if (st == (uv_stream_t *)&s->agent_in) {
        if (!s->agent_eof && !s->c2s_full && !s->in_paused)
            uv_read_start(st, alloc_cb, on_agent_read);
    } else if (!s->srv_eof && !s->s2c_full && !s->agent_out.paused) {
        uv_read_start(st, alloc_cb, on_server_read);
    }
}

static void relay_pump(sidecar *s);

void spill__resume(uv_stream_t *st)
{
    sidecar *s = st->data;
    read_again(s, st);
    if (st == (uv_stream_t *)&s->srv_out)
        relay_pump(s); /* the agent took some: more of the thread's output may go */
}

/* ---- the filter thread's output ---- */

static void reconfigured(sidecar *s, int rc)
{
    if (rc)
        sc_log(s, "error", "SIGHUP: %s", spill_strerror(rc));
    else
        sc_log(s, "info", "SIGHUP: reloaded %s (threshold %llu tokens, %zu rules)", s->cfg->config_path,
             (unsigned long long)s->cfg->threshold, s->cfg->nrules);
}

/* The thread finished the server's stream: what was held for a message boundary goes
 * now, and the sidecar may end. */
static void relay_finished(sidecar *s)
{
    relay_join(s->r, &s->stats);
    s->r = NULL;
    s->relay_done = 1;
    if (s->resp_len) {
        outq_write_forwarded(s, &s->agent_out, s->resp, s->resp_len);
        s->resp_len = 0;
    }
    s->resp_mode = 0;
    sc_flush_held(s);
    maybe_finish(s);
}

/* Writes the thread's output to the agent while the agent keeps up (agent_out below
 * its mark), and restarts reading a direction whose queue to the thread has room. */
static void relay_pump(sidecar *s)
{
    relayq_item *it;
    while (s->r && !s->agent_out.paused && (it = relay_take(s->r)) != NULL) {
        switch (it->kind) {
        case RELAY_OUT_DATA:
            if (filter_emit(s, it->data, it->len) != 0 && !s->failed) {
                sc_log(s, "error", "out of memory passing the server's output on");
                s->failed = 1;
                begin_shutdown(s, NULL);
            }
            break;
        case RELAY_OUT_ERROR:
            sc_log(s, "error", "filter: %s", it->data);
            s->failed = 1;
            begin_shutdown(s, NULL);
            break;
        case RELAY_OUT_NOTE:
            reconfigured(s, atoi(it->data));
            break;
        case RELAY_OUT_DONE:
            free(it);
            relay_finished(s);
            return;
        }
        free(it);
    }
    if (!s->r)
        return;
    if (s->s2c_full && relay_queued(s->r, SPILL_S2C) < IN_LOW) {
        s->s2c_full = 0;
        read_again(s, (uv_stream_t *)&s->srv_out);
    }
    if (s->c2s_full && relay_queued(s->r, SPILL_C2S) < IN_LOW) {
        s->c2s_full = 0;
        read_again(s, (uv_stream_t *)&s->agent_in);
    }
}

static void on_wake(uv_async_t *h) { relay_pump(h->data); }

/* Called by the filter thread (uv_async_send may be). */
static void wake_loop(void *ud) { uv_async_send(ud); }

/* A store write that does not end (a hung disk, a neighbour holding the index lock)
 * must not keep spill from stopping: the thread is left to the process's exit. What
 * it was writing is lost, never torn (objects are linked whole, the index commits
 * whole). */
static void relay_abandon_now(sidecar *s, const char *why)
{
    if (!s->r)
        return;
    sc_log(s, "warning", "%s; leaving the result being stored unfinished", why);
    relay_abandon(s->r);
    s->r = NULL;
    s->relay_done = s->abandoned = 1;
    /* We are stopping: no more requests. */
    s->agent_eof = 1;
    if (!uv_is_closing((uv_handle_t *)&s->agent_in))
        uv_read_stop((uv_stream_t *)&s->agent_in);
    maybe_finish(s);
}

/* A stop signal's moment has passed: a thread still at work (a store write) is left to
 * the exit; one that is idle is not (the server may go on, as the signal let it decide),
 * and is looked at again shortly. */
static void on_abandon_timer(uv_timer_t *t)
{
    sidecar *s = t->data;
    if (s->r && !relay_busy(s->r)) {
        uv_timer_start(t, on_abandon_timer, 100, 0);
        return;
    }
    relay_abandon_now(s, "a store write is still running after the stop signal");
}

/* ---- lifecycle ---- */

static void on_close(uv_handle_t *h) { (void)h; }

/* ---- latency: a moment of polling after each read ---- */

/* A message that comes in is most likely followed soon by another in one direction or
 * the other (its answer, the next request). Sleeping in epoll between them costs a
 * wake-up each time, which on a virtual machine with idle vCPUs means tens of
 * microseconds per hop: most of what a sidecar adds to a round trip. While the idle
 * handle is active, uv_run polls without blocking, so for spin_us after the last read
 * spill stays awake, at the price of that much CPU per burst of traffic (none when
 * nothing comes). Each turn yields the CPU, so the polling only takes time no other
 * process wants: on a loaded machine the server and the agent run first. spin_us 0
 * turns it off. */
static void on_spin(uv_idle_t *h)
{
    sidecar *s = h->data;
    if (uv_hrtime() >= s->spin_until)
        uv_idle_stop(h);
    else
        sched_yield(); /* a busy machine's other processes (the server) come first */
}

static void spin_arm(sidecar *s)
{
    if (!s->cfg->spin_us || !s->spin.loop || uv_is_closing((uv_handle_t *)&s->spin))
        return;
    s->spin_until = uv_hrtime() + (uint64_t)s->cfg->spin_us * 1000;
    if (!uv_is_active((uv_handle_t *)&s->spin))
        uv_idle_start(&s->spin, on_spin);
}

static void close_all(sidecar *s)
{
    uv_handle_t *hs[] = {(uv_handle_t *)&s->agent_in, (uv_handle_t *)&s->srv_out,
                         (uv_handle_t *)&s->agent_out.pipe, (uv_handle_t *)&s->srv_in.pipe,
                         (uv_handle_t *)&s->sig_int, (uv_handle_t *)&s->sig_term,
                         (uv_handle_t *)&s->sig_hup, (uv_handle_t *)&s->kill_timer,
                         (uv_handle_t *)&s->abandon_timer, (uv_handle_t *)&s->spin,
                         (uv_handle_t *)&s->child, (uv_handle_t *)&s->wake,
                         (uv_handle_t *)&s->retry_timer, (uv_handle_t *)&s->drain_timer};
    spill_jobs_close(s->jobs); /* running workers are killed */
    s->jobs = NULL;
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        if (hs[i]->loop && !uv_is_closing(hs[i]))
            uv_close(hs[i], on_close);
}

/* Done when the server has exited, its output is drained through the filter thread,
 * and what we owe the agent is written (or the agent is gone). */
static void maybe_finish(sidecar *s)
{
    if (s->child_running || !s->srv_eof || !s->relay_done)
        return;
    if (s->local_inflight && !s->agent_out.closed && !s->terminating)
        return; /* the agent still waits for answers of spill's */
    if (s->agent_out.queued && !s->agent_out.closed && !s->drain_over)
        return;
    close_all(s);
}

static void on_drain_timer(uv_timer_t *t)
{
    sidecar *s = t->data;
    s->drain_over = 1;
    maybe_finish(s);
}

static void on_kill_timer(uv_timer_t *t)
{
    sidecar *s = t->data;
    if (!s->child_running)
        return;
    int sig = s->kill_stage++ == 0 ? SIGTERM : SIGKILL;
    sc_log(s, "debug", "the server is still running: sending %s", sig == SIGTERM ? "SIGTERM" : "SIGKILL");
    uv_process_kill(&s->child, sig);
    if (sig == SIGTERM)
        uv_timer_start(&s->kill_timer, on_kill_timer, 2000, 0);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    free(req);
}

/* The MCP stdio shutdown: close the server's stdin, wait, SIGTERM, wait, SIGKILL. */
static void begin_shutdown(sidecar *s, const char *why)
{
    if (why)
        sc_log(s, "info", "%s; stopping the server", why);
    if (!s->srv_in.closed && s->srv_in.open) {
        s->srv_in.closed = 1;
        uv_shutdown_t *req = malloc(sizeof *req);
        if (!req || uv_shutdown(req, (uv_stream_t *)&s->srv_in.pipe, on_shutdown) != 0) {
            free(req);
            uv_close((uv_handle_t *)&s->srv_in.pipe, on_close);
        }
    }
    if (!uv_is_active((uv_handle_t *)&s->kill_timer) && s->child_running)
        uv_timer_start(&s->kill_timer, on_kill_timer, 2000, 0);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
    sidecar *s = p->data;
    s->child_running = 0;
    s->child_status = (int)status;
    s->child_signal = sig;
    if (sig && s->kill_stage == 0)
        sc_log(s, "warning", "the server was killed by signal %d", sig);
    else if (status && !s->agent_eof)
        sc_log(s, "warning", "the server exited with status %d", (int)status);
    uv_timer_stop(&s->kill_timer);
    maybe_finish(s);
}

static void filter_opts(sidecar *s, spill_filter_opts *o);

static void on_signal(uv_signal_t *h, int sig)
{
    sidecar *s = h->data;
    if (sig == SIGHUP) {
        if (!s->cfg->config_path[0]) {
            sc_log(s, "info", "SIGHUP: no config file to reload");
            return;
        }
        sidecar_config next = *s->cfg;
        char err[512];
        if (sidecar_config_load(&next, s->cfg->config_path, err, sizeof err) != 0) {
            sc_log(s, "error", "SIGHUP: %s; keeping the old configuration", err);
            return;
        }
        *s->cfg = next;
        /* The rules' names point into the config they were parsed into: into next,
         * which ends here, unless moved over to the copy that stays. */
        const char *lo = (const char *)&next, *hi = (const char *)(&next + 1);
        for (size_t i = 0; i < s->cfg->nrules; i++) {
            const char **f[3] = {&s->cfg->rules[i].server, &s->cfg->rules[i].tool, &s->cfg->rules[i].client};
            for (int k = 0; k < 3; k++)
                if (*f[k] >= lo && *f[k] < hi)
                    *f[k] = (const char *)s->cfg + (*f[k] - lo);
        }
        spill_filter_opts o = s->fo;
        filter_opts(s, &o);
        /* Applied on the filter thread, in order with the stream; reconfigured() logs
         * the outcome when it comes back. */
        int rc = s->r ? relay_reconfigure(s->r, &o) : 0;
        if (rc)
            sc_log(s, "error", "SIGHUP: %s", spill_strerror(rc));
        else if (!s->r)
            reconfigured(s, 0);
        return;
    }
    /* Ctrl-C or a stop request: the server gets the same signal and decides. A stop request
     * also ends spill's own calls at once, and leaves half a second for what is queued for the
     * agent to drain: SIGTERM ends spill within 2 s whatever the agent does. */
    if (sig == SIGTERM && !s->terminating) {
        s->terminating = 1;
        spill_jobs_close(s->jobs);
        s->jobs = NULL;
        uv_timer_start(&s->drain_timer, on_drain_timer, 500, 0);
    }
    /* Ctrl-C or a stop request: the server gets the same signal and decides. A store
     * write in progress gets a moment to end, then is left unfinished. */
    if (s->r && !uv_is_active((uv_handle_t *)&s->abandon_timer))
        uv_timer_start(&s->abandon_timer, on_abandon_timer, ABANDON_MS, 0);
    if (s->child_running)
        uv_process_kill(&s->child, sig);
}

static void filter_opts(sidecar *s, spill_filter_opts *o)
{
    sidecar_config *c = s->cfg;
    /* Exact up to the largest threshold any rule can ask for, so every decision is
     * exact; the estimator counts past it. */
    uint64_t early_exit = c->threshold;
    for (size_t i = 0; i < c->nrules; i++)
        if (c->rules[i].threshold_tokens > early_exit)
            early_exit = c->rules[i].threshold_tokens;
    char warn[512];
    o->counter = cli_counter(c->vocab, c->counter_exact, c->multiplier, early_exit, warn, sizeof warn);
    if (warn[0])
        sc_log(s, "warning", "%s", warn);
    o->threshold_tokens = c->threshold;
    o->byte_cap = c->byte_cap ? c->byte_cap : SPILL_NO_LIMIT;
    o->min_spill_bytes = c->min_spill;
    o->preview_head_bytes = c->preview_head;
    o->preview_tail_bytes = c->preview_tail;
    o->client_defaults = c->client_defaults;
    o->rules = c->rules;
    o->nrules = c->nrules;
    o->session = c->session[0] ? c->session : NULL;
}

/* The most a worker may answer: a page (bounded by --page, twice for escaping), or a whole
 * image that resources/read returns as base64 (mcpimage.c: at most SPILL__IMG_MAX_BYTES),
 * and room for the rest of the result. */
static size_t worker_out_cap(const sidecar_config *cfg)
{
    size_t page = (size_t)cfg->page_bytes * 2, image = ((size_t)SPILL__IMG_MAX_BYTES + 2) / 3 * 4;
    return (page > image ? page : image) + (64 << 10);
}

/* A pipe, a socket or a terminal: what epoll can wait on. */
static int pollable_fd(int fd)
{
    struct stat sb;
    return fstat(fd, &sb) == 0 && (S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode) || isatty(fd));
}

int sidecar_run(sidecar_config *cfg, char **argv)
{
    sidecar *s = calloc(1, sizeof *s);
    if (!s)
        return 1;
    s->cfg = cfg;
    s->loop = uv_default_loop();
    s->exit_code = 1;
    s->req = malloc(REQ_CAP);
    int rc;
    spill_store_opts so;
    spill_store_opts_init(&so);
    so.dir = cfg->store;
    so.level = cfg->level;
    so.threads = cfg->threads;
    so.frame_size = (size_t)cfg->frame_size;
    if (!s->req) {
        sc_log(s, "error", "out of memory");
        goto out;
    }
    /* A broken store must not cost the agent its server: messages still pass, and
     * large results get the store-failure result. */
    if ((rc = spill_store_open(&s->st, &so)) != 0)
        sc_log(s, "error", "cannot open the store %s: %s; running without it (large results "
             "will say they could not be stored)", cfg->store, spill_store_last_error(NULL));
    if (cfg->session[0] && s->st)
        spill_store_session_begin(s->st, cfg->session);
    if (s->st)
        spill_store_sink(s->st, &s->store_sink);
    else
        spill_store_unavailable_sink(&s->store_sink);
    s->sink = s->store_sink;
    if (cfg->views && s->st) {
        spill_views_wrap(&s->views, cfg->store, cfg->views_quota, &s->store_sink, &s->sink);
        if (!s->views.ok)
            sc_log(s, "warning", "no plain-text views: %s", s->views.why);
    }
    spill_filter_opts_init(&s->fo);
    filter_opts(s, &s->fo);
    s->fo.sink = &s->sink;
    uv_async_init(s->loop, &s->wake, on_wake);
    s->wake.data = s;
    relay_opts ro = {.out_high = OUT_HIGH, .input_low = IN_LOW, .spin_us = cfg->spin_us, .wake = wake_loop,
                     .wake_ud = &s->wake};
    if ((rc = relay_start(&s->r, &s->fo, &ro)) != 0) {
        sc_log(s, "error", "cannot start the filter: %s", spill_strerror(rc));
        goto loop_out;
    }

    uv_pipe_init(s->loop, &s->agent_in, 0);
    uv_pipe_init(s->loop, &s->srv_out, 0);
    uv_pipe_init(s->loop, &s->agent_out.pipe, 0);
    uv_pipe_init(s->loop, &s->srv_in.pipe, 0);
    s->agent_in.data = s->srv_out.data = s->agent_out.pipe.data = s->srv_in.pipe.data = s;
    /* libuv polls stdin: a file or /dev/null would abort it inside epoll, so say it here.
     * (stdout may be a file or /dev/null: writes to those never wait.) */
    if (!pollable_fd(0)) {
        sc_log(s, "error", "stdin must be a pipe or a socket (an agent runs spill run), not a file or a device");
        goto loop_out;
    }
    if ((rc = uv_pipe_open(&s->agent_in, 0)) != 0 || (rc = uv_pipe_open(&s->agent_out.pipe, 1)) != 0) {
        sc_log(s, "error", "stdin and stdout must be pipes or sockets (an agent runs spill run): %s",
             uv_strerror(rc));
        goto loop_out;
    }
    s->agent_out.open = 1;
    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
    stdio[0].data.stream = (uv_stream_t *)&s->srv_in.pipe;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&s->srv_out;
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = 2;
    uv_process_options_t po = {0};
    po.file = argv[0];
    po.args = argv;
    po.exit_cb = on_exit_cb;
    po.stdio = stdio;
    po.stdio_count = 3;
    s->child.data = s;
    if ((rc = uv_spawn(s->loop, &s->child, &po)) != 0) {
        sc_log(s, "error", "cannot start %s: %s", argv[0], uv_strerror(rc));
        s->exit_code = 127;
        goto loop_out;
    }
    s->child_running = 1;
    s->srv_in.open = 1;
    /* Each side throttles the stream that fills it. */
    s->agent_out.source = (uv_stream_t *)&s->srv_out;
    s->srv_in.source = NULL; /* agent_flow decides for the agent's stdin */
    uv_timer_init(s->loop, &s->kill_timer);
    s->kill_timer.data = s;
    uv_timer_init(s->loop, &s->retry_timer);
    uv_timer_init(s->loop, &s->drain_timer);
    s->retry_timer.data = s->drain_timer.data = s;
    /* Local calls run in `spill --store DIR mcp-worker CPU MEM`, this same executable. */
    snprintf(s->worker_args[0], sizeof s->worker_args[0], "%u", (cfg->tool_timeout_ms + 999) / 1000 + 1);
    snprintf(s->worker_args[1], sizeof s->worker_args[1], "%llu", (unsigned long long)cfg->tool_memory);
    char *wargv[] = {"spill", "--store", cfg->store, "mcp-worker", s->worker_args[0], s->worker_args[1], NULL};
    memcpy(s->worker_argv, wargv, sizeof wargv);
    spill_jobs_opts jo = {.file = "/proc/self/exe", .argv = s->worker_argv, .timeout_ms = cfg->tool_timeout_ms,
                          .out_cap = worker_out_cap(cfg), .max_running = cfg->tool_workers,
                          .gate = sc_jobs_gate, .gate_ud = s};
    if (spill_jobs_new(&s->jobs, s->loop, &jo) != 0) {
        sc_log(s, "error", "out of memory");
        goto loop_out;
    }
    uv_timer_init(s->loop, &s->abandon_timer);
    s->abandon_timer.data = s;
    uv_idle_init(s->loop, &s->spin);
    s->spin.data = s;
    uv_signal_init(s->loop, &s->sig_int);
    uv_signal_init(s->loop, &s->sig_term);
    uv_signal_init(s->loop, &s->sig_hup);
    s->sig_int.data = s->sig_term.data = s->sig_hup.data = s;
    uv_signal_start(&s->sig_int, on_signal, SIGINT);
    uv_signal_start(&s->sig_term, on_signal, SIGTERM);
    uv_signal_start(&s->sig_hup, on_signal, SIGHUP);
    uv_read_start((uv_stream_t *)&s->agent_in, alloc_cb, on_agent_read);
    uv_read_start((uv_stream_t *)&s->srv_out, alloc_cb, on_server_read);
    sc_log(s, "debug", "started %s (store %s, threshold %llu tokens)", argv[0], cfg->store,
         (unsigned long long)cfg->threshold);
    uv_run(s->loop, UV_RUN_DEFAULT);
    if (s->failed)
        s->exit_code = 1;
    else if (s->child_signal)
        s->exit_code = 128 + s->child_signal;
    else
        s->exit_code = s->child_status;
    if (s->agent_gone && s->exit_code == 0)
        s->exit_code = 0; /* the agent left and the server stopped cleanly */
    if (!s->abandoned)
        sc_log(s, "debug", "%llu messages from the server, %llu results rewritten, %llu payloads spilled",
             (unsigned long long)s->stats.messages[SPILL_S2C], (unsigned long long)s->stats.results_rewritten,
             (unsigned long long)s->stats.payloads_spilled);
loop_out:
    if (s->r) { /* it never got the end of a stream: stop it after what it holds */
        relay_abandon(s->r);
        relay_join(s->r, NULL);
        s->r = NULL;
    }
    close_all(s);
    uv_run(s->loop, UV_RUN_DEFAULT);
    if (s->abandoned) /* the thread may still use the store and the filter: the exit frees */
        return s->exit_code;
    uv_loop_close(s->loop);
out:
    rc = s->exit_code;
    cli_counters_free(); /* after the filter: its counters come from these */
    if (cfg->session[0] && s->st)
        spill_store_session_end(s->st, cfg->session);
    spill_store_close(s->st);
    while (s->held_head) {
        held_line *h = s->held_head;
        s->held_head = h->next;
        free(h);
    }
    free(s->req);
    free(s->resp);
    free(s);
    return rc;
}
