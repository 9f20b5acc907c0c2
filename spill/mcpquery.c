/* mcpquery.c - spill_grep (PCRE2, streaming) and spill_jq (libjq), spill's own MCP tools
 * that search and query a stored object. The helpers and the bounds are mcptools.c's. */
#define _GNU_SOURCE
#define PCRE2_CODE_UNIT_WIDTH 8
#include <jq.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcptools_impl.h"

typedef spill__mcp_call call;

/* ---- spill_grep ----
 *
 * The object streams through spill_store_read_lines from from_line on, a line at a time as
 * `spill grep` does (matched up to 4 MiB of a line, a trailing CR ignored). Output lines cost
 * their escaped size against the page; a line is shown up to 64 KiB (or a quarter of the
 * page). The scan stops at the first match past max (so "there are more" is known), when
 * the page is full, or when the call's time budget is spent (checked before each line; a
 * line whose matching backtracks past MATCH_LIMIT steps counts as not matching, and is said);
 * whichever it was, the footer gives the call that goes on (from_line). */

enum {
    GREP_LINE_CAP = 4 << 20,
    GREP_SHOW_CAP = 64 << 10,
    GREP_MAX_CONTEXT = 20,
    GREP_MAX_MATCHES = 1000,
    PATTERN_MAX = 4096,
    MATCH_LIMIT = 1000000,    /* backtracking steps for one line: milliseconds, not minutes */
};

static unsigned time_budget_ms = 2000;

void spill_mcp_set_time_budget(unsigned ms)
{
    if (ms)
        time_budget_ms = ms;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

typedef struct ctx_line { unsigned char *text; size_t len; uint64_t no; int longer; } ctx_line;

typedef struct grep_run {
    call *c;
    pcre2_code *re;
    pcre2_match_data *md;
    unsigned char *line;      /* the current line, up to GREP_LINE_CAP bytes */
    size_t len;
    int longer;               /* it was longer than that */
    uint64_t no, matches, max, last_printed, first_shown, resume;
    int context, after;       /* lines of context; after-context still owed */
    ctx_line ring[GREP_MAX_CONTEXT]; /* the last lines, for before-context */
    int ring_n, ring_at;
    size_t show_cap, budget, cost;
    int state;                /* 0 scanning, 1 max shown (looking for one more), 2 stopped */
    int more, full;           /* more matches follow; the page filled up */
    int timeout;              /* the time budget ran out */
    uint64_t deadline;        /* now_ms() at which it does */
    uint64_t hard, first_hard; /* lines that hit MATCH_LIMIT, and the first of them */
    pcre2_match_context *mc;
    spill__sbuf out;
    char err[300];
} grep_run;

/* Appends "N:text" (or "N-text") if it fits: 0, or 1 when the page is full. */
static int grep_emit(grep_run *g, uint64_t no, char sep, const unsigned char *text, size_t len, int longer)
{
    char head[32], note[96] = "";
    int hn = snprintf(head, sizeof head, "%llu%c", (unsigned long long)no, sep);
    spill__walk w;
    spill__walk_text(text, len, len, longer, g->show_cap, &w);
    if (w.fit < len || longer)
        snprintf(note, sizeof note, " [spill: line cut here; spill_read lines %llu:%llu shows it all]",
                 (unsigned long long)no, (unsigned long long)no);
    int group = g->context && g->last_printed && no > g->last_printed + 1; /* "--" as grep */
    size_t cost = (size_t)hn + w.cost + strlen(note) + 2 + (group ? 4 : 0);
    if (g->cost + cost > g->budget)
        return 1;
    spill__sb_add(&g->out, "--\n", group ? 3 : 0);
    spill__sb_add(&g->out, head, (size_t)hn);
    spill__put_text(&g->out, text, w.fit);
    spill__sb_add(&g->out, note, strlen(note));
    spill__sb_add(&g->out, "\n", 1);
    g->cost += cost;
    if (!g->first_shown)
        g->first_shown = no;
    g->last_printed = no;
    return 0;
}

static int grep_stop(grep_run *g, uint64_t resume, int full)
{
    g->state = 2, g->more = 1, g->full = full, g->resume = resume;
    return 1; /* stops the read */
}

static int grep_line(grep_run *g)
{
    if (now_ms() >= g->deadline) { /* this line is the first not searched */
        g->timeout = 1;
        return grep_stop(g, g->no + 1, 0);
    }
    g->no++;
    size_t len = g->len;
    if (len && g->line[len - 1] == '\r')
        len--;
    int m = pcre2_match(g->re, (PCRE2_SPTR)g->line, len, 0, 0, g->md, g->mc);
    if (m == PCRE2_ERROR_MATCHLIMIT || m == PCRE2_ERROR_DEPTHLIMIT || m == PCRE2_ERROR_HEAPLIMIT) {
        if (!g->hard++)
            g->first_hard = g->no;
        m = PCRE2_ERROR_NOMATCH;
    }
    if (m < 0 && m != PCRE2_ERROR_NOMATCH) {
        PCRE2_UCHAR msg[200];
        pcre2_get_error_message(m, msg, sizeof msg);
        snprintf(g->err, sizeof g->err, "matching line %llu: %s", (unsigned long long)g->no, (char *)msg);
        return SPILL_E_ABORTED;
    }
    if (m >= 0 && g->state == 1) /* one match past max: there are more */
        return grep_stop(g, g->last_printed + 1, 0);
    if (m >= 0 && g->matches >= g->max) /* ... inside the last match's after-context */
        return grep_stop(g, g->no, 0);
    if (m >= 0) {
        for (int i = 0; i < g->ring_n; i++) {
            ctx_line *cl = &g->ring[(g->ring_at + i) % g->context];
            if (cl->no > g->last_printed && grep_emit(g, cl->no, '-', cl->text, cl->len, cl->longer))
                return grep_stop(g, cl->no, 1);
        }
        g->ring_n = 0;
        if (grep_emit(g, g->no, ':', g->line, len, g->longer))
            return grep_stop(g, g->no, 1);
        g->matches++;
        g->after = g->context;
    } else if (g->after > 0) {
        g->after--;
        if (grep_emit(g, g->no, '-', g->line, len, g->longer))
            return grep_stop(g, g->no, 1);
    } else if (g->context) {
        ctx_line *cl = &g->ring[(g->ring_at + g->ring_n) % g->context];
        if (g->ring_n == g->context)
            cl = &g->ring[g->ring_at], g->ring_at = (g->ring_at + 1) % g->context;
        else
            g->ring_n++;
        cl->len = len < g->show_cap + 4 ? len : g->show_cap + 4; /* + a character of look-ahead */
        cl->longer = g->longer || cl->len < len;
        cl->no = g->no;
        memcpy(cl->text, g->line, cl->len);
    }
    g->len = 0, g->longer = 0;
    if (g->matches >= g->max && g->after == 0 && g->state == 0)
        g->state = 1;
    return 0;
}

static int grep_sink(void *ud, const void *data, size_t size)
{
    grep_run *g = ud;
    const unsigned char *p = data, *end = p + size;
    while (p < end) {
        const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p), room = GREP_LINE_CAP - g->len;
        if (n > room)
            n = room, g->longer = 1;
        memcpy(g->line + g->len, p, n);
        g->len += n;
        if (!nl)
            break;
        int rc = grep_line(g);
        if (rc)
            return rc;
        p = nl + 1;
    }
    return 0;
}

/* The arguments of the call that goes on from line `from`, as JSON text. */
static char *grep_next(grep_run *g, const char *pattern, int icase, uint64_t from)
{
    json_t *o = json_pack("{s:s,s:s}", "id", g->c->info.id, "pattern", pattern);
    if (o && g->context && json_object_set_new(o, "context", json_integer(g->context)))
        json_decref(o), o = NULL;
    if (o && g->max != 50 && json_object_set_new(o, "max", json_integer((json_int_t)g->max)))
        json_decref(o), o = NULL;
    if (o && icase && json_object_set_new(o, "ignore_case", json_true()))
        json_decref(o), o = NULL;
    if (o && json_object_set_new(o, "from_line", json_integer((json_int_t)from)))
        json_decref(o), o = NULL;
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

int spill__mcp_grep(call *c)
{
    static const char *const known[] = {"id", "pattern", "context", "max", "ignore_case", "from_line", NULL};
    int rc, icase = 0;
    if (spill__mcp_begin(c, "spill_grep", known, &rc))
        return rc;
    const char *pattern = json_string_value(json_object_get(c->args, "pattern"));
    uint64_t context = 0, max = 50, from = 1, lines = c->info.lines;
    if (!pattern || !*pattern || strlen(pattern) > PATTERN_MAX)
        return spill__mcp_fail(c, "spill_grep: give \"pattern\", a PCRE2 regular expression (1 to %d bytes)",
                               PATTERN_MAX);
    if (spill__mcp_arg_uint(c->args, "context", &context, 0, GREP_MAX_CONTEXT) ||
        spill__mcp_arg_uint(c->args, "max", &max, 1, GREP_MAX_MATCHES) ||
        spill__mcp_arg_uint(c->args, "from_line", &from, 1, INT64_MAX) ||
        spill__mcp_arg_bool(c->args, "ignore_case", &icase))
        return spill__mcp_fail(c, "spill_grep: context is 0 to %d lines, max 1 to %d matches, from_line a line "
                               "number from 1, ignore_case true or false", GREP_MAX_CONTEXT, GREP_MAX_MATCHES);
    if (from > lines && !(from == 1 && lines == 0))
        return spill__mcp_fail(c, "spill_grep: from_line %llu is past the end: object %s has %llu lines",
                               (unsigned long long)from, c->info.id, (unsigned long long)lines);
    grep_run g = {.c = c, .context = (int)context, .max = max, .no = from - 1, .deadline = now_ms() + time_budget_ms};
    int errcode;
    PCRE2_SIZE erroff;
    g.re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                         PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | (icase ? PCRE2_CASELESS : 0), &errcode, &erroff,
                         NULL);
    if (!g.re) {
        PCRE2_UCHAR msg[200];
        pcre2_get_error_message(errcode, msg, sizeof msg);
        return spill__mcp_fail(c, "spill_grep: bad pattern at offset %zu: %s (PCRE2 syntax, like grep -P)",
                               (size_t)erroff, (char *)msg);
    }
    pcre2_jit_compile(g.re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter */
    /* The footer's room: its words (under 400 bytes) and the longest next call it can hold. */
    char *next = grep_next(&g, pattern, icase, INT64_MAX);
    size_t reserve = next ? 400 + spill__text_cost(next) : 0;
    free(next), next = NULL;
    g.budget = c->max >= reserve + 256 ? c->max - reserve : 0;
    g.show_cap = g.budget / 4 < GREP_SHOW_CAP ? g.budget / 4 : GREP_SHOW_CAP;
    g.md = pcre2_match_data_create_from_pattern(g.re, NULL);
    g.line = malloc(GREP_LINE_CAP);
    if ((g.mc = pcre2_match_context_create(NULL))) {
        pcre2_set_match_limit(g.mc, MATCH_LIMIT);
        pcre2_set_depth_limit(g.mc, MATCH_LIMIT);
    }
    rc = !reserve || !g.md || !g.line || !g.mc ? SPILL_E_NOMEM : 0;
    for (int i = 0; !rc && i < g.context; i++)
        if (!(g.ring[i].text = malloc(g.show_cap + 4)))
            rc = SPILL_E_NOMEM;
    if (rc)
        goto out;
    if (!g.budget) {
        rc = spill__mcp_fail(c, "spill_grep: the pattern is too long for a page of %zu bytes", c->max);
        goto out;
    }
    if (lines)
        rc = spill_store_read_lines(c->st, c->info.id, from, UINT64_MAX, grep_sink, &g);
    if (rc == 0 && g.state != 2 && (g.len || g.longer))
        rc = grep_line(&g); /* a last line without a newline */
    if (rc == SPILL_E_ABORTED || rc < 0) {
        rc = rc == SPILL_E_ABORTED ? spill__mcp_fail(c, "spill_grep: %s", g.err)
                                   : spill__mcp_store_fail(c, rc, c->info.id);
        goto out;
    }
    if (g.more && !(next = grep_next(&g, pattern, icase, g.resume)))
        g.out.oom = 1;
    spill__sbuf *o = &g.out;
    if (g.hard) /* a line of its own above the footer, which stays the last line */
        spill__sb_printf(o, "[spill_grep] %llu line%s could not be searched to the end (first: line %llu): the "
                         "pattern backtracks too much there (PCRE2 match limit); they count as not matching. "
                         "Simplify the pattern (e.g. (a+)+ to a+).\n", (unsigned long long)g.hard,
                         g.hard == 1 ? "" : "s", (unsigned long long)g.first_hard);
    if (g.timeout)
        spill__sb_printf(o, "[spill_grep] stopped at the time budget of one call (%u ms) after searching lines "
                         "%llu-%llu of %llu: %llu matching line%s shown%s. next: spill_grep %s", time_budget_ms,
                         (unsigned long long)from, (unsigned long long)g.resume - 1, (unsigned long long)lines,
                         (unsigned long long)g.matches, g.matches == 1 ? "" : "s",
                         g.hard ? "" : " (a simpler pattern searches faster)", next);
    else if (!g.matches && !g.full)
        spill__sb_printf(o, "[spill_grep] no line matches (searched lines %llu-%llu of object %s).",
                         (unsigned long long)from, (unsigned long long)lines, c->info.id);
    else
        spill__sb_printf(o, "[spill_grep] %llu matching line%s shown%s, lines %llu-%llu",
                         (unsigned long long)g.matches, g.matches == 1 ? "" : "s",
                         g.context ? " with context (N:match, N-context)" : "",
                         (unsigned long long)g.first_shown, (unsigned long long)g.last_printed);
    if (g.timeout)
        ;
    else if (g.full)
        spill__sb_printf(o, "; the page is full (%zu bytes), more matches may follow: narrow the pattern, use "
                         "less context, or go on. next: spill_grep %s", c->max, next);
    else if (g.more)
        spill__sb_printf(o, "; there are more matches: raise max (now %llu, up to %d), narrow the pattern, or "
                         "go on. next: spill_grep %s", (unsigned long long)g.max, GREP_MAX_MATCHES, next);
    else if (g.matches)
        spill__sb_printf(o, "; these are all the matches from line %llu to the end (line %llu).",
                         (unsigned long long)from, (unsigned long long)lines);
    rc = o->oom ? SPILL_E_NOMEM : spill__mcp_result(c, o->p, o->n, 0);
out:
    free(next);
    for (int i = 0; i < g.context; i++)
        free(g.ring[i].text);
    free(g.line);
    free(g.out.p);
    pcre2_match_data_free(g.md);
    pcre2_match_context_free(g.mc);
    pcre2_code_free(g.re);
    return rc;
}

/* ---- spill_jq ---- */

static size_t jq_limit = (size_t)256 << 20;

void spill_mcp_set_jq_limit(size_t bytes) { jq_limit = bytes; }

/* The user's filter runs inside this wrapper so it cannot read the sidecar's environment
 * ($ENV, env: the wrapped server's API keys live there), print to its stderr, or load modules
 * from disk (import/include cannot stand inside parentheses; libjq 1.6 also asserts on them
 * when no library path is set), and so that input and inputs say there is no more input
 * (each JSON value of the object is given to the filter in turn) as the jq command does. No newline before the filter, so error line numbers stay the
 * user's; the one after it ends a trailing # comment. */
static const char JQ_PRE[] = "def env: {}; def stderr: .; def input_filename: null; "
                             "def input: error(\"No more inputs (spill_jq gives the filter each JSON value of "
                             "the object in turn)\"); def inputs: empty; "
                             "def modulemeta: error(\"modules are off in spill_jq\"); {} as $ENV | (";

static void jq_err_cb(void *ud, jv msg)
{
    static const char *const drop[] = {JQ_PRE, " (Unix shell quoting issues?)"};
    spill__sbuf *b = ud;
    jv s = jv_get_kind(msg) == JV_KIND_STRING ? msg : jv_dump_string(msg, 0);
    const char *p = jv_string_value(s), *q;
    spill__sb_add(b, "\n", b->n ? 1 : 0);
    for (;;) { /* drop the wrapper and the shell hint, whichever comes first */
        const char *q0 = strstr(p, drop[0]), *q1 = strstr(p, drop[1]);
        int k = q0 && (!q1 || q0 < q1) ? 0 : 1;
        if (!(q = k ? q1 : q0))
            break;
        spill__sb_add(b, p, (size_t)(q - p));
        p = q + strlen(drop[k]);
    }
    spill__sb_add(b, p, strlen(p));
    jv_free(s);
}

/* libjq 1.6 calls the input callback without checking it is set: `input` and `inputs` then
 * jump through an uninitialised pointer. The wrapper (JQ_PRE) defines input and inputs
 * itself; this guards whatever else reaches the callback: there is no further input. */
static jv jq_no_input(jq_state *jq, void *ud)
{
    (void)jq, (void)ud;
    return jv_invalid();
}

/* `debug` would print to the sidecar's stderr: its messages are dropped. */
static void jq_drop_debug(void *ud, jv msg)
{
    (void)ud;
    jv_free(msg);
}

/* Appends one result and a newline: 0, or 1 when only a head of it fitted. */
static int jq_put(spill__sbuf *o, size_t *cost, size_t limit, jv s)
{
    spill__walk w;
    size_t n = (size_t)jv_string_length_bytes(jv_copy(s));
    spill__walk_text((const unsigned char *)jv_string_value(s), n, n, 0, limit - *cost, &w);
    spill__put_text(o, jv_string_value(s), w.fit);
    jv_free(s);
    *cost += w.cost;
    if (w.fit < n || *cost + 2 > limit)
        return 1;
    spill__sb_add(o, "\n", 1);
    *cost += 2;
    return 0;
}

typedef struct fill { unsigned char *p; size_t n, cap; } fill;

static int fill_sink(void *ud, const void *d, size_t n)
{
    fill *f = ud;
    if (n > f->cap - f->n)
        return SPILL_E_CORRUPT; /* more than its size: cannot happen with an intact index */
    memcpy(f->p + f->n, d, n);
    f->n += n;
    return 0;
}

static void jv_msg(spill__sbuf *b, const char *what, jv m)
{
    jv s = jv_get_kind(m) == JV_KIND_STRING ? m : jv_dump_string(m, 0);
    spill__sb_printf(b, "%s%s", what, jv_string_value(s));
    jv_free(s);
}

int spill__mcp_jq(call *c)
{
    static const char *const known[] = {"id", "filter", "max_output", "raw_output", "compact", NULL};
    int rc, raw = 0, compact = 0;
    if (spill__mcp_begin(c, "spill_jq", known, &rc))
        return rc;
    const char *filter = json_string_value(json_object_get(c->args, "filter")), *f = filter;
    size_t page = c->max - SPILL__MCP_FOOTER, n = (size_t)c->info.raw_size;
    uint64_t limit = page;
    if (!filter)
        return spill__mcp_fail(c, "spill_jq: give \"filter\", a jq program such as \".items | length\"");
    if (spill__mcp_arg_uint(c->args, "max_output", &limit, 1, page) ||
        spill__mcp_arg_bool(c->args, "raw_output", &raw) || spill__mcp_arg_bool(c->args, "compact", &compact))
        return spill__mcp_fail(c, "spill_jq: max_output is 1 to %zu bytes; raw_output and compact are true or "
                               "false", page);
    if (c->info.raw_size > jq_limit || c->info.raw_size > INT32_MAX)
        return spill__mcp_fail(c, "spill_jq: object %s is %llu bytes, more than spill_jq loads (%zu): search "
                               "it with spill_grep or read it in pages with spill_read", c->info.id,
                               (unsigned long long)c->info.raw_size, jq_limit);
    f += strspn(f, " \t\r\n");
    if (!strncmp(f, "import", 6) || !strncmp(f, "include", 7))
        return spill__mcp_fail(c, "spill_jq: jq modules (import/include) are not available here");
    spill__sbuf em = {0}, prog = {0}, o = {0};
    unsigned char *doc = NULL;
    jq_state *jq = jq_init();
    jv_parser *parser = NULL;
    uint64_t results = 0;
    size_t cost = 0;
    int cut = 0, errored = 0;
    spill__sb_printf(&prog, "%s%s\n)", JQ_PRE, *f ? filter : ".");
    if (!jq || prog.oom) {
        rc = SPILL_E_NOMEM;
        goto out;
    }
    jq_set_error_cb(jq, jq_err_cb, &em);
    jq_set_input_cb(jq, jq_no_input, NULL);
    jq_set_debug_cb(jq, jq_drop_debug, NULL);
    jq_set_attr(jq, jv_string("JQ_LIBRARY_PATH"), jv_array());
    if (!jq_compile(jq, prog.p)) {
        rc = em.oom ? SPILL_E_NOMEM
                    : spill__mcp_fail(c, "spill_jq: the filter does not compile (an error at a ')' on the line "
                                      "after it means the filter ended too early):\n%.700s", em.p ? em.p : "");
        goto out;
    }
    if (!(doc = malloc(n ? n : 1))) {
        rc = spill__mcp_fail(c, "spill_jq: not enough memory to load object %s (%zu bytes)", c->info.id, n);
        goto out;
    }
    fill g = {doc, 0, n};
    if ((rc = spill_store_read_bytes(c->st, c->info.id, 0, n, fill_sink, &g)) != 0) {
        rc = spill__mcp_store_fail(c, rc, c->info.id);
        goto out;
    }
    parser = jv_parser_new(0);
    jv_parser_set_buf(parser, (const char *)doc, (int)g.n, 0);
    for (int stop = 0; !stop;) { /* each JSON value of the object in turn, as the jq command does */
        jv in = jv_parser_next(parser), r;
        if (!jv_is_valid(in)) {
            if (jv_invalid_has_msg(jv_copy(in)))
                jv_msg(&em, "the object is not JSON: ", jv_invalid_get_msg(in)), errored = 1;
            break;
        }
        jq_start(jq, in, 0);
        while (!cut && jv_is_valid(r = jq_next(jq))) {
            if (!raw || jv_get_kind(r) != JV_KIND_STRING)
                r = jv_dump_string(r, compact ? 0 : JV_PRINT_INDENT_FLAGS(2));
            results++;
            cut = jq_put(&o, &cost, limit, r);
        }
        if (cut)
            break;
        if (jv_invalid_has_msg(jv_copy(r)))
            jv_msg(&em, "jq error: ", jv_invalid_get_msg(r)), errored = stop = 1;
        if (jq_halted(jq)) { /* halt: stop; halt_error: stop with its message */
            jv m = jq_get_error_message(jq);
            if (jv_is_valid(m) && jv_get_kind(m) != JV_KIND_NULL)
                jv_msg(&em, "halt_error: ", m), errored = 1;
            else
                jv_free(m);
            stop = 1;
        }
    }
    if (cut)
        spill__sb_printf(&o, "\n[spill_jq] output cut at %llu bytes after %llu result%s: narrow the filter "
                         "(e.g. .items[0:20], keys, length, map(.name)) or raise max_output (up to %zu).",
                         (unsigned long long)limit, (unsigned long long)results, results == 1 ? "" : "s", page);
    else
        spill__sb_printf(&o, "[spill_jq] %llu result%s%s%.300s", (unsigned long long)results,
                         results == 1 ? "" : "s", errored ? "; then " : ".", errored ? em.p : "");
    rc = o.oom || em.oom ? SPILL_E_NOMEM : spill__mcp_result(c, o.p, o.n, errored);
out:
    if (parser)
        jv_parser_free(parser);
    jq_teardown(&jq);
    free(doc), free(prog.p), free(o.p), free(em.p);
    return rc;
}
