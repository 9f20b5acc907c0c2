/* sidecar_requests.c - `spill run`: the agent's messages. spill's own calls (spill_read,
 * spill_grep, spill_stat, spill_jq, resources/read of spill://) are answered here, each in a
 * worker process (sidecar_jobs.c running mcpworker.c), with the request's id exactly as the
 * agent wrote it; a call of spill's that jansson cannot read, or that is too long, is
 * answered with an error; everything else goes on to the server (sc_forward_c2s). Answers
 * wait in s->held for a boundary between two server messages (sc_flush_held). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mcptools.h"
#include "rpcpeek.h"
#include "sidecar_impl.h"

/* ---- local answers: spill's own tools and spill:// reads ----
 *
 * Each call runs in a worker process (mcpworker.c through sidecar_jobs.c), so nothing a
 * query does (libjq's assertions and unbounded recursion, a pattern that backtracks for
 * minutes, a damaged store, a slow disk) can stop, freeze or bloat the sidecar. Answers
 * carry the request's id exactly as the agent wrote it: its raw bytes (rpcpeek.h), never
 * jansson's reading of them (1e2 stays 1e2, -0 stays -0, 2^70 stays 2^70). */

/* Answers to one 2025-03-26 batch: they go back together, as one array. */
typedef struct lbatch {
    int pending, sealed, count;
    char *buf;
    size_t len, cap;
    int oom;
} lbatch;

typedef struct lreq {
    sidecar *s;
    lbatch *batch;
    int resource, era;
    char what[24];             /* the tool's name, or "resources/read" */
    size_t id_len;
    char id[];                 /* raw id bytes; "null" when it had none that was valid */
} lreq;

static void held_push(sidecar *s, char *line, size_t n, int count)
{
    held_line *h = malloc(sizeof *h + n + 1);
    if (!h) {
        /* Nowhere to keep it: the calls it answers are lost, and said so. */
        sc_log(s, "error", "out of memory: %d local answer%s dropped", count, count == 1 ? "" : "s");
        s->local_inflight -= count;
    } else {
        h->next = NULL, h->count = count, h->n = n + 1;
        memcpy(h->data, line, n);
        h->data[n] = '\n';
        if (s->held_tail)
            s->held_tail->next = h;
        else
            s->held_head = h;
        s->held_tail = h;
    }
    if (s->resp_mode == 0)
        sc_flush_held(s);
}

static void batch_add(sidecar *s, lbatch *b, const char *line, size_t n)
{
    if (line && !b->oom) {
        if (b->len + n + 3 > b->cap) {
            size_t c = (b->len + n + 3) * 2;
            char *q = realloc(b->buf, c);
            if (!q)
                b->oom = 1;
            else
                b->buf = q, b->cap = c;
        }
        if (!b->oom) {
            b->buf[b->len] = b->len ? ',' : '[';
            b->len++;
            memcpy(b->buf + b->len, line, n);
            b->len += n;
        }
    }
    if (b->pending || !b->sealed)
        return;
    if (b->len && !b->oom) {
        b->buf[b->len++] = ']';
        held_push(s, b->buf, b->len, b->count);
    } else {
        if (b->oom)
            sc_log(s, "error", "out of memory: the answers to a batch were dropped");
        s->local_inflight -= b->count;
    }
    free(b->buf);
    free(b);
}

/* {"jsonrpc":"2.0","id":ID,"KIND":BODY}, ID the raw bytes. */
static void answer_raw(sidecar *s, lbatch *batch, const char *id, size_t idn, const char *kind,
                       const char *body, size_t bn)
{
    size_t cap = idn + bn + 64;
    char *line = malloc(cap);
    size_t n = 0;
    if (line) {
        n = (size_t)snprintf(line, cap, "{\"jsonrpc\":\"2.0\",\"id\":");
        memcpy(line + n, id, idn), n += idn;
        n += (size_t)snprintf(line + n, cap - n, ",\"%s\":", kind);
        memcpy(line + n, body, bn), n += bn;
        line[n++] = '}';
    }
    if (batch) {
        batch->pending--;
        batch_add(s, batch, line, n);
    } else if (line) {
        held_push(s, line, n, 1);
    } else {
        sc_log(s, "error", "out of memory: a local answer was dropped");
        s->local_inflight--;
    }
    free(line);
}

static void answer_error(sidecar *s, lbatch *batch, const char *id, size_t idn, int code, const char *msg)
{
    json_t *e = json_pack("{s:i,s:s}", "code", code, "message", msg);
    char *t = e ? json_dumps(e, JSON_COMPACT) : NULL;
    json_decref(e);
    if (!t) /* the message was not UTF-8, or memory ran out: a plain one */
        t = strdup("{\"code\":-32603,\"message\":\"spill: internal error\"}");
    answer_raw(s, batch, id, idn, "error", t ? t : "{}", t ? strlen(t) : 2);
    free(t);
}

/* A CallToolResult with isError: what a failed call of spill's tools gives the agent. */
static void answer_tool_error(sidecar *s, lreq *r, const char *msg)
{
    json_t *o = json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text", "text", msg, "isError", 1);
    if (o && r->era)
        json_object_set_new(o, "resultType", json_string("complete"));
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (t)
        answer_raw(s, r->batch, r->id, r->id_len, "result", t, strlen(t));
    else
        answer_error(s, r->batch, r->id, r->id_len, -32603, "spill: out of memory");
    free(t);
}

/* Says why a worker gave no answer: the limit it hit, or how it died and what it said. */
static void worker_failure(sidecar *s, lreq *r, const spill_job_result *res, char *msg, size_t cap)
{
    sidecar_config *c = s->cfg;
    const char *e = res->err;
    size_t el = strcspn(e, "\n");
    char said[400] = "";
    if (el)
        snprintf(said, sizeof said, "; it said: %.*s", (int)(el < 300 ? el : 300), e);
    if (res->spawn_error)
        snprintf(msg, cap, "%s: spill could not start a worker process for it: %s", r->what,
                 uv_strerror(res->spawn_error));
    else if (res->timed_out)
        snprintf(msg, cap, "%s: stopped at the time limit of spill's own calls (%u ms, spill run --tool-timeout): "
                 "make the query smaller (a narrower filter or pattern, a smaller range)", r->what, c->tool_timeout_ms);
    else if (res->out_capped)
        snprintf(msg, cap, "%s: stopped: its answer passed the output limit of spill's own calls", r->what);
    else if (res->term_signal == SIGXCPU)
        snprintf(msg, cap, "%s: stopped at the CPU time limit of spill's own calls (spill run --tool-timeout): "
                 "make the query smaller", r->what);
    else if (res->term_signal == SIGKILL)
        snprintf(msg, cap, "%s: its worker process was killed (SIGKILL: the CPU time limit of spill's own calls, "
                 "spill run --tool-timeout, or the system ran out of memory): make the query smaller", r->what);
    else if (res->term_signal || res->exit_status)
        snprintf(msg, cap, "%s: the query failed in its worker process (%s %d%s)%s%s", r->what,
                 res->term_signal ? "signal" : "exit status", res->term_signal ? res->term_signal : (int)res->exit_status,
                 res->term_signal == SIGSEGV ? ", SIGSEGV: too deep a recursion, or a fault"
                 : res->term_signal == SIGABRT ? ", SIGABRT: an assertion, or memory ran out" : "",
                 said, strstr(e, "alloc") || (res->term_signal == SIGABRT && !el)
                 ? "; the memory limit of spill's own calls is spill run --tool-memory" : "");
    else
        snprintf(msg, cap, "%s: the worker process gave no answer%s", r->what, said);
}

static void on_job_done(void *ud, const spill_job_result *res)
{
    lreq *r = ud;
    sidecar *s = r->s;
    char msg[1024];
    const char *nl = memchr(res->out, '\n', res->out_len);
    int ran = !res->cancelled && !res->spawn_error && !res->timed_out && !res->out_capped && !res->term_signal &&
              res->exit_status == 0 && nl;
    if (res->cancelled) {
        if (r->batch) {
            r->batch->pending--;
            batch_add(s, r->batch, NULL, 0);
        } else {
            s->local_inflight--;
        }
    } else if (!ran) {
        worker_failure(s, r, res, msg, sizeof msg);
        sc_log(s, "warning", "%s", msg);
        if (r->resource)
            answer_error(s, r->batch, r->id, r->id_len, -32603, msg);
        else
            answer_tool_error(s, r, msg);
    } else {
        int rc = atoi(res->out);
        const char *body = nl + 1;
        size_t bn = res->out_len - (size_t)(body - res->out);
        /* The body goes into the answer as it is: one JSON object on one line. The worker
         * is this program, which dumped it with jansson; its shape is checked, not parsed
         * again here on the loop (an image's answer is megabytes). */
        int valid = bn >= 2 && body[0] == '{' && body[bn - 1] == '}' && !memchr(body, '\n', bn);
        if (rc == 0 && valid)
            answer_raw(s, r->batch, r->id, r->id_len, "result", body, bn);
        else if (rc == 0 || rc == SPILL_E_NOMEM)
            answer_error(s, r->batch, r->id, r->id_len, -32603, rc ? "spill: out of memory" : "spill: bad worker answer");
        else if (r->resource)
            snprintf(msg, sizeof msg, "%.*s", (int)(bn < 900 ? bn : 900), body),
                answer_error(s, r->batch, r->id, r->id_len, r->era ? -32602 : -32002, msg);
        else
            snprintf(msg, sizeof msg, "%s: %.*s", r->what, (int)(bn < 900 ? bn : 900), body),
                answer_tool_error(s, r, msg);
        sc_log(s, "debug", "answered %s locally in %llu ms", r->what, (unsigned long long)res->ms);
    }
    free(r);
}

/* Workers start only while the agent's stdout has room: an agent that stops reading stops
 * spill's work for it, as it stops the server's. */
int sc_jobs_gate(void *ud)
{
    sidecar *s = ud;
    return s->agent_out.queued < HIGH;
}

/* Hands one of spill's calls to a worker; the answer comes from on_job_done. */
static void local_call(sidecar *s, lbatch *batch, const char *id, size_t idn, const char *tool, json_t *args,
                       const char *uri)
{
    lreq *r = malloc(sizeof *r + idn);
    json_t *q = json_pack("{s:I,s:b,s:I}", "max", (json_int_t)s->cfg->page_bytes, "era", s->era2026, "budget_ms",
                          (json_int_t)(s->cfg->tool_timeout_ms * 6 / 10));
    char *argtext = args ? json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (q && s->st)
        json_object_set_new(q, "checked", json_true());
    if (q && tool)
        json_object_set_new(q, "tool", json_string(tool));
    if (q && argtext)
        json_object_set_new(q, "args", json_string(argtext));
    if (q && uri)
        json_object_set_new(q, "uri", json_string(uri));
    char *input = q ? json_dumps(q, JSON_COMPACT) : NULL;
    json_decref(q);
    free(argtext);
    if (!r || !input || !s->jobs) {
        free(r);
        free(input);
        answer_error(s, batch, id, idn, -32603, s->jobs ? "spill: out of memory" : "spill is stopping");
        return;
    }
    r->s = s, r->batch = batch, r->resource = !tool, r->era = s->era2026, r->id_len = idn;
    snprintf(r->what, sizeof r->what, "%s", tool ? tool : "resources/read");
    memcpy(r->id, id, idn);
    if (spill_jobs_submit(s->jobs, input, strlen(input), on_job_done, r) != 0) {
        free(r);
        answer_error(s, batch, id, idn, -32603, "spill: out of memory");
    }
}

/* A valid JSON-RPC id: a string or a number (null tolerated). */
static int id_ok(char t) { return t == 's' || t == 'n' || t == 'z'; }

/* An id from a line jansson refused may be what it refused (invalid UTF-8, \u0000): it is
 * echoed only when it is valid JSON itself (a number of any size, a clean string), so the
 * answer is valid JSON; otherwise the answer's id is null. */
static int id_echoable(const spill__rpc_peek *pk)
{
    if (!pk->id || !id_ok(pk->id_type))
        return 0;
    if (pk->id_type != 's') {
        for (size_t i = 0; i < pk->id_len; i++)
            if (!strchr("0123456789+-.eEnul", pk->id[i]) || !pk->id[i])
                return 0;
        return 1;
    }
    json_t *v = json_loadb(pk->id, pk->id_len, JSON_DECODE_ANY, NULL);
    json_decref(v);
    return v != NULL;
}

/* Handles spill's own tools and spill:// reads (raw: the message's own bytes, for its id);
 * returns 1 if it was spill's and will be answered, 2 if spill's and a notification (dropped),
 * 0 if not spill's. */
static int local_request(sidecar *s, json_t *m, const char *raw, size_t rawn, lbatch *batch)
{
    const char *method = json_string_value(json_object_get(m, "method"));
    json_t *params = json_object_get(m, "params"), *id = json_object_get(m, "id");
    if (!method)
        return 0;
    json_t *meta = json_object_get(params, "_meta");
    const char *ver = json_string_value(json_object_get(meta, "io.modelcontextprotocol/protocolVersion"));
    if (ver)
        s->era2026 = strcmp(ver, "2026") > 0;
    const char *name = NULL, *uri = NULL;
    if (!strcmp(method, "tools/call")) {
        name = json_string_value(json_object_get(params, "name"));
        if (!name || !spill_mcp_is_tool(name))
            return 0;
    } else if (!strcmp(method, "resources/read")) {
        uri = json_string_value(json_object_get(params, "uri"));
        if (!uri || !spill_mcp_is_uri(uri))
            return 0;
    } else {
        return 0;
    }
    if (!id) {
        sc_log(s, "debug", "a notification calling %s: spill's calls need an id; dropped", name ? name : uri);
        return 2;
    }
    s->local_inflight++;
    if (batch)
        batch->pending++;
    spill__rpc_peek pk;
    spill__rpc_peek_scan(raw, rawn, &pk);
    if (!pk.id || !id_ok(pk.id_type)) {
        answer_error(s, batch, "null", 4, -32600, "Invalid Request: the id must be a string or a number");
        return 1;
    }
    local_call(s, batch, pk.id, pk.id_len, name, name ? json_object_get(params, "arguments") : NULL, uri);
    return 1;
}

/* Case-insensitive memmem for a lowercase needle. */
static int has_ci(const char *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if ((p[i] | 0x20) == needle[0] && !strncasecmp(p + i, needle, k))
            return 1;
    return 0;
}

/* Could p be a call of spill's? Names and the scheme in any case, or any \u escape (which
 * can spell them); cheap enough to run on every line, and the lines it passes are parsed. */
static int maybe_spill(const char *p, size_t n)
{
    return has_ci(p, n, "spill") || memmem(p, n, "\\u", 2) || memmem(p, n, "\\U", 2);
}

/* A line jansson refused (invalid UTF-8, \u0000, a lone surrogate, an integer past int64,
 * too deep): if it calls spill, spill answers, with the error; never the server. */
static int malformed_message(sidecar *s, const char *p, size_t n, const json_error_t *je)
{
    spill__rpc_peek pk;
    spill__rpc_peek_scan(p, n, &pk);
    int mine = spill__rpc_peek_is_local(&pk);
    if (!mine && pk.kind == '[') /* a batch: any element of spill's makes it spill's */
        mine = has_ci(p, n, "\"spill_") || has_ci(p, n, "spill://");
    if (!mine)
        return sc_forward_c2s(s, p, n);
    char msg[400];
    snprintf(msg, sizeof msg, "Parse error: spill cannot read this call of its own tools: %s (at byte %d); send "
             "valid JSON in UTF-8, without \\u0000, with an id that is a string or a 64-bit integer", je->text,
             je->position);
    int idv = pk.kind == '{' && id_echoable(&pk);
    s->local_inflight++;
    answer_error(s, NULL, idv ? pk.id : "null", idv ? pk.id_len : 4, -32700, msg);
    return 0;
}

/* A whole client message (with its newline): answer it here or send it on. */
int sc_client_message(sidecar *s, const char *p, size_t n)
{
    /* Only a few requests concern spill; the rest go on without being parsed twice. */
    if (!maybe_spill(p, n) && !memmem(p, n, "tools/list", 10) && !memmem(p, n, "initialize", 10) &&
        !memmem(p, n, "server/discover", 15) && !memmem(p, n, "io.modelcontextprotocol/protocolVersion", 39))
        return sc_forward_c2s(s, p, n);
    json_error_t je;
    json_t *m = json_loadb(p, n, 0, &je);
    if (!m)
        return malformed_message(s, p, n, &je);
    if (json_is_array(m)) {
        /* A 2025-03-26 batch: spill's own requests are answered here (as a batch of
         * their own) and the rest goes on; untouched if none is spill's. */
        enum { MAXE = 1024 };
        const char **starts = malloc(MAXE * sizeof *starts);
        size_t *lens = malloc(MAXE * sizeof *lens);
        int ne = starts && lens ? spill__rpc_elems(p, n, starts, lens, MAXE) : -1;
        json_t *rest = json_array();
        lbatch *b = calloc(1, sizeof *b);
        int rc = 0, any = 0;
        size_t i;
        json_t *e;
        if (!b || !rest || ne != (int)json_array_size(m)) {
            /* Out of memory, or more than MAXE elements: no batch that large is spill's to split. */
            free(b), b = NULL;
            json_array_foreach(m, i, e) sc_watch_request(s, e);
            rc = sc_forward_c2s(s, p, n);
        } else {
            json_array_foreach(m, i, e)
            {
                int mine = json_is_object(e) ? local_request(s, e, starts[i], lens[i], b) : 0;
                b->count += mine == 1;
                any |= mine;
                if (mine)
                    continue;
                sc_watch_request(s, e);
                json_array_append(rest, e);
            }
        }
        if (b && any) {
            b->sealed = 1;
            batch_add(s, b, NULL, 0); /* goes out now if every answer is in already */
            if (json_array_size(rest)) {
                char *t = json_dumps(rest, JSON_COMPACT);
                rc = t ? sc_forward_c2s(s, t, strlen(t)) : SPILL_E_NOMEM; /* never lost unsaid */
                if (rc == 0)
                    rc = sc_forward_c2s(s, "\n", 1);
                free(t);
            }
        } else if (b) {
            free(b);
            rc = sc_forward_c2s(s, p, n);
        }
        free(starts), free(lens);
        json_decref(rest);
        json_decref(m);
        return rc;
    }
    if (json_is_object(m)) {
        if (local_request(s, m, p, n, NULL)) {
            json_decref(m);
            return 0;
        }
        sc_watch_request(s, m);
    }
    json_decref(m);
    return sc_forward_c2s(s, p, n);
}

/* A line longer than REQ_CAP, seen by its head: if the head shows a call of spill's, spill
 * answers it (too large) and drops the rest of the line; else the line streams on. */
int sc_long_line_head(sidecar *s, const char *head, size_t n)
{
    spill__rpc_peek pk;
    spill__rpc_peek_scan(head, n, &pk);
    if (!spill__rpc_peek_is_local(&pk))
        return sc_forward_c2s(s, head, n);
    s->big_drop = 1;
    if (id_echoable(&pk) && pk.id_len <= BIG_ID_CAP) {
        memcpy(s->big_id, pk.id, pk.id_len);
        s->big_id_len = pk.id_len;
    } else {
        memcpy(s->big_id, "null", 4);
        s->big_id_len = 4;
    }
    return 0;
}

void sc_long_line_end(sidecar *s)
{
    char msg[200];
    snprintf(msg, sizeof msg, "spill: request too large: a call of spill's own tools is at most %d bytes", REQ_CAP);
    s->big_drop = 0;
    s->local_inflight++;
    answer_error(s, NULL, s->big_id, s->big_id_len, -32600, msg);
}

