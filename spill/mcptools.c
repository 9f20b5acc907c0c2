/* mcptools.c - spill's own MCP tools and spill:// resources: tools/list, the tools/call
 * dispatch, spill_read, spill_stat, resources/read, and the helpers mcpquery.c shares
 * (spill_grep, spill_jq).
 *
 * Every answer is a jansson DOM dumped compactly, so its bytes depend only on the object and
 * the call. Sizes are counted as JSON-escaped bytes (spill__walk_text), the cost a text has
 * inside the JSON-RPC line: a page takes what fits in max_bytes less room for its footer, and
 * spill__mcp_result clips anything else (an echoed argument, say) to max_bytes. Invalid UTF-8
 * is shown as U+FFFD (jansson takes only valid UTF-8), counted, and said. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mcpimage.h"
#include "mcptools_impl.h"
#include "image.h"
#include "utf8.h"

#define TTL_MS 3600000 /* resources/read in 2026-07-28: objects never change */

/* ---- buffers, UTF-8, escaped size ---- */

/* Makes room for n more bytes and the NUL; 0, or -1 (and oom) when memory ran out. */
static int sb_grow(spill__sbuf *b, size_t n)
{
    if (b->oom)
        return -1;
    if (b->n + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->n + n + 1)
            c *= 2;
        char *q = realloc(b->p, c);
        if (!q)
            return b->oom = 1, -1;
        b->p = q, b->cap = c;
    }
    return 0;
}

void spill__sb_add(spill__sbuf *b, const void *d, size_t n)
{
    if (!n || sb_grow(b, n))
        return;
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = 0;
}

void spill__sb_printf(spill__sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0 || sb_grow(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}


/* Bytes jansson writes for one ASCII byte inside a string. */
static size_t esc_cost(unsigned char c)
{
    if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
        return 2;
    return c < 0x20 ? 6 : 1;
}

void spill__walk_text(const unsigned char *p, size_t n, size_t lim, int cut, size_t budget, spill__walk *w)
{
    memset(w, 0, sizeof *w);
    size_t i = 0;
    if (lim > n)
        lim = n;
    while (i < lim) {
        int len = spill__u8_seq(p + i, n - i);
        if (len < 0 && cut)
            break;
        if (len > 0 && i + (size_t)len > lim) {
            if (i)
                break;
            len = 0;
        }
        size_t c = len <= 0 ? 3 : len > 1 ? (size_t)len : esc_cost(p[i]);
        if (w->cost + c > budget)
            break;
        w->cost += c;
        w->bad += len <= 0;
        if (p[i] == '\n')
            w->nls++, w->last_nl = i + 1;
        i += len > 0 ? (size_t)len : 1;
    }
    w->fit = i;
}

size_t spill__text_cost(const char *s)
{
    spill__walk w;
    size_t n = strlen(s);
    spill__walk_text((const unsigned char *)s, n, n, 0, SIZE_MAX, &w);
    return w.cost;
}

void spill__put_text(spill__sbuf *b, const void *data, size_t n)
{
    const unsigned char *p = data;
    size_t i = 0, run = 0;
    while (i < n) {
        int len = spill__u8_seq(p + i, n - i);
        if (len > 0) {
            i += (size_t)len;
            continue;
        }
        spill__sb_add(b, p + run, i - run);
        spill__sb_add(b, "\xef\xbf\xbd", 3);
        run = ++i;
    }
    if (n) /* an empty page has no data at all (NULL): no pointer arithmetic on it */
        spill__sb_add(b, p + run, n - run);
}

static void base64(spill__sbuf *b, const unsigned char *p, size_t n)
{
    char q[4096]; /* 3072 bytes (a multiple of 3: no padding inside) at a time */
    for (size_t i = 0; i < n; i += 3072) {
        size_t k = n - i < 3072 ? n - i : 3072;
        spill__sb_add(b, q, spill__b64_encode(q, p + i, k));
    }
}

static int is_text_mime(const char *m)
{
    static const char *const sub[] = {"json", "xml", "javascript", "yaml", "csv", "x-sh", "sql", "toml"};
    if (!*m || !strncasecmp(m, "text/", 5))
        return 1;
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++)
        if (strcasestr(m, sub[i]))
            return 1;
    return 0;
}

/* ---- paging an object ---- */

typedef struct grab { unsigned char *p; size_t n, cap; int cut; } grab;

static int grab_sink(void *ud, const void *d, size_t n)
{
    grab *g = ud;
    if (n > g->cap - g->n)
        n = g->cap - g->n, g->cut = 1;
    memcpy(g->p + g->n, d, n);
    g->n += n;
    return g->cut;
}

static int count_sink(void *ud, const void *d, size_t n)
{
    (void)d;
    *(uint64_t *)ud += n;
    return 0;
}

/* Where line `line` starts. spill.h has no line-index lookup, so this reads the lines before
 * it: only for a line longer than a page, or a resource page that is not UTF-8. */
static int line_offset(spill_store *st, const char *id, uint64_t line, uint64_t *off)
{
    *off = 0;
    return line > 1 ? spill_store_read_lines(st, id, 1, line - 1, count_sink, off) : 0;
}

typedef struct page {
    int by_lines, binary;  /* in: lines [a, b] or bytes [a, b) (b UINT64_MAX: open) */
    uint64_t a, b;
    size_t budget;         /* in: escaped size (text) or base64 length (binary) allowed */
    unsigned char *data;   /* out: the bytes shown (malloc'd) and how many */
    size_t len;
    int bytes_out;         /* out: a byte range [first, last) (bytes asked, or line a too long) */
    uint64_t first, last;  /* out: lines [first, last] or bytes [first, last) */
    size_t bad;            /* out: invalid UTF-8 bytes (text) */
} page;

/* Reads one page: whole lines that fit, else the head of line a alone, else a byte range
 * cut on a character boundary; for binary a byte range. Store errors pass through. */
static int read_page(spill_store *st, const spill_object_info *info, page *pg)
{
    uint64_t size = info->raw_size, end = pg->b < size ? pg->b : size;
    grab g = {0};
    spill__walk w;
    int rc = 0;
    pg->data = NULL, pg->len = 0, pg->bad = 0, pg->first = pg->last = 0;
    pg->bytes_out = !pg->by_lines;
    if (size == 0)
        return pg->a <= 1 ? 0 : SPILL_E_RANGE;
    if (pg->by_lines) {
        if (pg->a == 0 || pg->a > pg->b || pg->a > info->lines)
            return SPILL_E_RANGE;
        g.cap = pg->budget + 4;
        if (!(g.p = malloc(g.cap)))
            return SPILL_E_NOMEM;
        if ((rc = spill_store_read_lines(st, info->id, pg->a, pg->b, grab_sink, &g)) != 0)
            goto out;
        spill__walk_text(g.p, g.n, g.n, g.cut, pg->budget, &w);
        if ((g.cut || w.fit < g.n) && !w.last_nl) { /* line a alone is too long: its head */
            if ((rc = line_offset(st, info->id, pg->a, &pg->first)) == 0)
                pg->bytes_out = 1, pg->last = pg->first + w.fit, pg->bad = w.bad, pg->len = w.fit;
            goto out;
        }
        if (g.cut || w.fit < g.n)
            g.n = w.last_nl;
        spill__walk_text(g.p, g.n, g.n, 0, SIZE_MAX, &w);
        pg->first = pg->a, pg->last = pg->a + w.nls - (g.p[g.n - 1] == '\n');
        pg->len = g.n, pg->bad = w.bad;
        goto out;
    }
    if (pg->a >= end)
        return SPILL_E_RANGE;
    if (pg->binary) {
        uint64_t want = end - pg->a < pg->budget / 4 * 3 ? end - pg->a : pg->budget / 4 * 3;
        if (!(g.p = malloc(g.cap = (size_t)want)))
            return SPILL_E_NOMEM;
        rc = spill_store_read_bytes(st, info->id, pg->a, pg->a + want, grab_sink, &g);
        pg->first = pg->a, pg->last = pg->a + g.n, pg->len = g.n;
        goto out;
    }
    /* Text bytes: start on the character that holds byte a, and read a page plus a
     * character of look-ahead, so the last one is whole or known to cross the range's end. */
    size_t back = pg->a < 3 ? (size_t)pg->a : 3, s = back;
    uint64_t a0 = pg->a - back, stop = end - pg->a < pg->budget ? end : pg->a + pg->budget;
    stop = stop + 4 < size ? stop + 4 : size;
    if (!(g.p = malloc(g.cap = (size_t)(stop - a0))))
        return SPILL_E_NOMEM;
    if ((rc = spill_store_read_bytes(st, info->id, a0, stop, grab_sink, &g)) != 0)
        goto out;
    for (size_t i = 0; i < back; i++) {
        int len = spill__u8_seq(g.p + i, g.n - i);
        if (len > 0 && i + (size_t)len > back) {
            s = i;
            break;
        }
    }
    spill__walk_text(g.p + s, g.n - s, (size_t)(end - a0) - s, stop < size, pg->budget, &w);
    memmove(g.p, g.p + s, w.fit);
    pg->first = a0 + s, pg->last = a0 + s + w.fit, pg->len = w.fit, pg->bad = w.bad;
out:
    if (rc)
        free(g.p);
    else
        pg->data = g.p;
    return rc;
}

/* ---- results and arguments ---- */

/* Sets *c->out to root dumped compactly (with resultType in 2026-07-28), and frees root. */
static int dump(spill__mcp_call *c, json_t *root)
{
    if (root && c->era2026 && json_object_set_new(root, "resultType", json_string("complete")))
        json_decref(root), root = NULL;
    char *s = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (!s)
        return SPILL_E_NOMEM;
    *c->out = s;
    if (c->outlen)
        *c->outlen = strlen(s);
    return 0;
}

int spill__mcp_result(spill__mcp_call *c, const char *text, size_t len, int is_error)
{
    static const char note[] = "\n[spill: message cut to fit]";
    spill__walk w;
    spill__sbuf b = {0};
    spill__walk_text((const unsigned char *)text, len, len, 0, c->max, &w);
    if (w.fit < len || w.bad) {
        spill__walk_text((const unsigned char *)text, len, len, 0, c->max - sizeof note - 8, &w);
        spill__put_text(&b, text, w.fit);
        spill__sb_add(&b, note, w.fit < len ? sizeof note - 1 : 0);
        if (b.oom)
            return SPILL_E_NOMEM;
        text = b.p ? b.p : "", len = b.n;
    }
    json_t *root = json_pack("{s:[{s:s,s:s%}]}", "content", "type", "text", "text", text, len);
    free(b.p);
    if (root && is_error && json_object_set_new(root, "isError", json_true()))
        json_decref(root), root = NULL;
    return dump(c, root);
}

int spill__mcp_fail(spill__mcp_call *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return spill__mcp_result(c, msg, strlen(msg), 1);
}

static void store_msg(spill_store *st, int rc, const char *id, char *msg, size_t cap)
{
    if (rc == SPILL_E_BADID)
        snprintf(msg, cap, "'%.64s' is not an object id: give the id from spill's handle (32 hex "
                 "digits, or a unique prefix of 8 or more)", id);
    else if (rc == SPILL_E_NOTFOUND)
        snprintf(msg, cap, "no object %.64s in the store: spill's GC may have removed it; run the "
                 "original tool again to get the output anew", id);
    else if (rc == SPILL_E_AMBIGUOUS)
        snprintf(msg, cap, "id prefix %.64s matches more than one object: give more digits", id);
    else
        snprintf(msg, cap, "could not read object %.64s: %s (%.300s)", id, spill_strerror(rc),
                 spill_store_last_error(st));
}

int spill__mcp_store_fail(spill__mcp_call *c, int rc, const char *id)
{
    char msg[512];
    if (rc == SPILL_E_NOMEM)
        return rc;
    store_msg(c->st, rc, id, msg, sizeof msg);
    return spill__mcp_fail(c, "%s", msg);
}

/* "A:B", "A:", ":B" or "A-B"; *a is left alone and *b is UINT64_MAX when not given. */
static int parse_range(const char *s, uint64_t *a, uint64_t *b)
{
    uint64_t v[2] = {*a, UINT64_MAX};
    for (int k = 0; k < 2; k++) {
        if (k && *s != ':' && *s != '-')
            return -1;
        s += k;
        if (*s >= '0' && *s <= '9')
            v[k] = 0;
        for (; *s >= '0' && *s <= '9'; s++) {
            if (v[k] > (UINT64_MAX - 9) / 10)
                return -1;
            v[k] = v[k] * 10 + (uint64_t)(*s - '0');
        }
    }
    *a = v[0], *b = v[1];
    return *s ? -1 : 0;
}

int spill__mcp_arg_uint(json_t *args, const char *k, uint64_t *v, uint64_t lo, uint64_t hi)
{
    json_t *j = json_object_get(args, k);
    const char *s = json_is_string(j) ? json_string_value(j) : "";
    uint64_t x;
    if (!j)
        return 0;
    if (json_is_integer(j) && json_integer_value(j) >= 0)
        x = (uint64_t)json_integer_value(j);
    else if (*s && strlen(s) < 19 && strspn(s, "0123456789") == strlen(s))
        x = strtoull(s, NULL, 10); /* "5": models often quote numbers */
    else
        return -1;
    if (x < lo || x > hi)
        return -1;
    *v = x;
    return 0;
}

int spill__mcp_arg_bool(json_t *args, const char *k, int *v)
{
    json_t *j = json_object_get(args, k);
    const char *s = json_is_string(j) ? json_string_value(j) : "";
    if (!j || json_is_null(j))
        return 0;
    if (!json_is_boolean(j) && strcmp(s, "true") && strcmp(s, "false"))
        return -1;
    *v = json_is_true(j) || !strcmp(s, "true");
    return 0;
}

int spill__mcp_begin(spill__mcp_call *c, const char *tool, const char *const *known, int *rc)
{
    const char *k, *id = json_string_value(json_object_get(c->args, "id"));
    json_t *v;
    json_object_foreach(c->args, k, v) { /* an agent used to other tools may send offset/limit */
        size_t i = 0;
        while (known[i] && strcmp(known[i], k))
            i++;
        if (known[i])
            continue;
        spill__sbuf b = {0};
        for (i = 0; known[i]; i++)
            spill__sb_printf(&b, "%s%s", i ? ", " : "", known[i]);
        *rc = b.oom ? SPILL_E_NOMEM
                    : spill__mcp_fail(c, "%s: unknown argument '%.64s'; it takes %s", tool, k, b.p);
        free(b.p);
        return 1;
    }
    if (!id) {
        *rc = spill__mcp_fail(c, "%s: give \"id\", the object id from spill's handle (a string of hex "
                              "digits)", tool);
        return 1;
    }
    if (!strncasecmp(id, "spill://", 8))
        id += 8;
    if ((*rc = spill_store_stat(c->st, id, &c->info)) != 0) {
        *rc = spill__mcp_store_fail(c, *rc, id);
        return 1;
    }
    return 0;
}

/* ---- spill_read ---- */

static int tool_read(spill__mcp_call *c)
{
    static const char *const known[] = {"id", "lines", "bytes", NULL};
    int rc;
    if (spill__mcp_begin(c, "spill_read", known, &rc))
        return rc;
    const char *id = c->info.id;
    json_t *jl = json_object_get(c->args, "lines"), *jb = json_object_get(c->args, "bytes");
    page pg = {0};
    pg.binary = !is_text_mime(c->info.mime);
    pg.by_lines = !jb && !pg.binary;
    pg.a = (uint64_t)pg.by_lines, pg.b = UINT64_MAX;
    pg.budget = c->max - SPILL__MCP_FOOTER;
    if ((jl && jb) || (jl && !json_is_string(jl)) || (jb && !json_is_string(jb)))
        return spill__mcp_fail(c, "spill_read: give \"lines\" (\"A:B\", 1-based, B included) or \"bytes\" "
                               "(\"A:B\", 0-based, B excluded) as a string, not both");
    if (jl && pg.binary)
        return spill__mcp_fail(c, "spill_read: object %s is binary (%s, %llu bytes), it has no lines: read it "
                               "by bytes, e.g. {\"id\":\"%s\",\"bytes\":\"0:%zu\"} (as base64)", id,
                               c->info.mime, (unsigned long long)c->info.raw_size, id, pg.budget / 4 * 3);
    const char *rs = json_string_value(jl ? jl : jb);
    if (rs && (parse_range(rs, &pg.a, &pg.b) || pg.a > pg.b || (jl && pg.a == 0)))
        return spill__mcp_fail(c, "spill_read: bad %s range '%.64s': use \"A:B\" (%s), \"A:\" or \":B\"",
                               jl ? "lines" : "bytes", rs, jl ? "1-based, both included, e.g. \"201:400\""
                                                              : "0-based, B excluded, e.g. \"0:65536\"");
    if ((rc = read_page(c->st, &c->info, &pg)) == SPILL_E_RANGE && pg.by_lines)
        return spill__mcp_fail(c, "spill_read: line %llu is past the end: object %s has %llu lines",
                               (unsigned long long)pg.a, id, (unsigned long long)c->info.lines);
    if (rc == SPILL_E_RANGE)
        return spill__mcp_fail(c, "spill_read: bytes %s are outside object %s (%llu bytes; bytes are 0-based, "
                               "the end excluded)", rs ? rs : "0:", id, (unsigned long long)c->info.raw_size);
    if (rc)
        return spill__mcp_store_fail(c, rc, id);

    spill__sbuf t = {0}, f = {0};
    char range[48], *next = NULL;
    unsigned long long first = pg.first, last = pg.last, len = pg.len;
    uint64_t total = pg.bytes_out ? c->info.raw_size : c->info.lines, asked = pg.b < total ? pg.b : total;
    if (pg.binary)
        base64(&t, pg.data, pg.len);
    else
        spill__put_text(&t, pg.data, pg.len);
    if (pg.last < total) { /* bytes: from here on; lines: as many as this page, 200 at least */
        if (pg.bytes_out)
            snprintf(range, sizeof range, "%llu:", last);
        else
            snprintf(range, sizeof range, "%llu:%llu", last + 1,
                     last + (last - first < 200 ? 200 : last - first + 1));
        json_t *o = json_pack("{s:s,s:s}", "id", id, pg.bytes_out ? "bytes" : "lines", range);
        if (!(next = o ? json_dumps(o, JSON_COMPACT) : NULL))
            t.oom = 1;
        json_decref(o);
    }
    if (c->info.raw_size == 0)
        spill__sb_printf(&f, "[spill_read] object %s is empty (0 bytes)", id);
    else if (!pg.bytes_out && first == last)
        spill__sb_printf(&f, "[spill_read] line %llu of %llu (%llu bytes)", first, (unsigned long long)total,
                         len);
    else if (!pg.bytes_out)
        spill__sb_printf(&f, "[spill_read] lines %llu-%llu of %llu (%llu bytes)", first, last,
                         (unsigned long long)total, len);
    else if (pg.by_lines)
        spill__sb_printf(&f, "[spill_read] line %llu is longer than one page: shown are its first %llu bytes, "
                         "bytes %llu:%llu of %llu%s", (unsigned long long)pg.a, len, first, last,
                         (unsigned long long)total,
                         strstr(c->info.mime, "json") ? " (spill_jq queries JSON)" : "");
    else
        spill__sb_printf(&f, "[spill_read] bytes %llu:%llu of %llu", first, last, (unsigned long long)total);
    if (pg.binary)
        spill__sb_printf(&f, " of a binary object (%s), as base64 above: decode it for exactly those bytes",
                         c->info.mime);
    if (pg.by_lines != pg.bytes_out && pg.b != UINT64_MAX && pg.last < asked)
        spill__sb_printf(&f, "; the rest of the range you asked (to %s %llu) did not fit in one page",
                         pg.bytes_out ? "byte" : "line", (unsigned long long)asked);
    if (pg.bad)
        spill__sb_printf(&f, "; %zu bytes that are not UTF-8 are shown as U+FFFD (spill cat gives the exact "
                         "bytes)", pg.bad);
    if (next)
        spill__sb_printf(&f, ". next: spill_read %s", next);
    else
        spill__sb_add(&f, ". end of output.", 16);
    if (t.n && t.p[t.n - 1] != '\n')
        spill__sb_add(&t, "\n", 1);
    spill__sb_add(&t, f.p, f.n);
    rc = t.oom || f.oom ? SPILL_E_NOMEM : spill__mcp_result(c, t.p, t.n, 0);
    free(t.p), free(f.p), free(next), free(pg.data);
    return rc;
}

/* ---- spill_stat ---- */

static const char *iso_time(int64_t ns, char *buf, size_t cap)
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    if (ns <= 0 || !gmtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, cap, "unknown");
    return buf;
}

static int tool_stat(spill__mcp_call *c)
{
    static const char *const known[] = {"id", NULL};
    int rc;
    if (spill__mcp_begin(c, "spill_stat", known, &rc))
        return rc;
    const spill_object_info *in = &c->info;
    char t1[40], t2[40];
    int text = is_text_mime(in->mime);
    spill__sbuf b = {0};
    spill__sb_printf(&b, "id: %s\nbytes: %llu (stored compressed in %llu bytes, %u frame%s)\n", in->id,
                     (unsigned long long)in->raw_size, (unsigned long long)in->comp_size, in->nframes,
                     in->nframes == 1 ? "" : "s");
    if (text)
        spill__sb_printf(&b, "lines: %llu\n", (unsigned long long)in->lines);
    if (in->tokens)
        spill__sb_printf(&b, "tokens: about %llu (%s)\n", (unsigned long long)in->tokens, in->token_counter);
    else
        spill__sb_printf(&b, "tokens: not counted\n");
    spill__sb_printf(&b, "type: %s%s\n", in->mime, text ? "" : " (binary)");
    if (in->name[0])
        spill__sb_printf(&b, "name: %s\n", in->name);
    spill__sb_printf(&b, "created: %s\nlast read: %s (%llu reads)\npinned: %s\npath: %s (zstd; `spill cat %s` "
                     "decompresses it)\nread it: ", iso_time(in->created_ns, t1, sizeof t1),
                     iso_time(in->atime_ns, t2, sizeof t2), (unsigned long long)in->access_count,
                     in->pins ? "yes" : "no", in->path, in->id);
    if (text)
        spill__sb_printf(&b, "spill_read {\"id\":\"%s\"} (pages of whole lines), spill_grep%s, resource "
                         "spill://%s\n", in->id, strstr(in->mime, "json") ? ", spill_jq" : "", in->id);
    else
        spill__sb_printf(&b, "spill_read {\"id\":\"%s\",\"bytes\":\"0:\"} (base64), resource spill://%s\n",
                         in->id, in->id);
    rc = b.oom ? SPILL_E_NOMEM : spill__mcp_result(c, b.p, b.n, 0);
    free(b.p);
    return rc;
}

/* ---- tools/list and tools/call ---- */

#define ID_SCHEMA "\"id\":{\"type\":\"string\",\"description\":\"The object id from spill's handle: 32 hex " \
                  "digits, or a unique prefix of at least 8.\"}"
#define READ_ONLY ",\"additionalProperties\":false},\"annotations\":{\"readOnlyHint\":true}}"

static const char TOOLS_JSON[] = "["
    "{\"name\":\"spill_read\",\"title\":\"Read a stored output\",\"description\":\"Reads part of a "
    "large output that spill stored in place of a tool result (spill's handle gives its id). Returns "
    "one page: whole lines from line 1 by default, as many as fit, then a last line starting with "
    "[spill_read] that says exactly what was shown (lines A-B of N, bytes) and the next call to make, "
    "or 'end of output'. Give lines or bytes, not both. Binary objects come as base64 of a byte range."
    "\",\"inputSchema\":{\"type\":\"object\",\"properties\":{" ID_SCHEMA ",\"lines\":{\"type\":\"string\","
    "\"description\":\"Lines to read, 'A:B': 1-based, both included, e.g. '201:400'; 'A:' reads from "
    "line A on. Default: from line 1, as many whole lines as fit in one page.\"},\"bytes\":{\"type\":"
    "\"string\",\"description\":\"Bytes to read, 'A:B': 0-based, B excluded, e.g. '0:65536'; 'A:' "
    "reads from byte A on. For a line longer than a page, and for binary objects.\"}},"
    "\"required\":[\"id\"]" READ_ONLY ","
    "{\"name\":\"spill_grep\",\"title\":\"Search a stored output\",\"description\":\"Searches a large "
    "output that spill stored, line by line, with a PCRE2 regular expression, like grep -n: each "
    "matching line as 'N:text', context lines as 'N-text', groups split by '--'. The last line says "
    "how many matches were shown and whether there are more, with the call that goes on.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{" ID_SCHEMA ",\"pattern\":{\"type\":\"string\","
    "\"description\":\"PCRE2 regular expression (Perl syntax, like grep -P), matched against each line.\"},"
    "\"context\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":20,\"description\":\"Lines of context "
    "before and after each match (like grep -C). Default 0.\"},\"max\":{\"type\":\"integer\",\"minimum\":1,"
    "\"maximum\":1000,\"description\":\"Most matching lines to show. Default 50.\"},\"ignore_case\":{"
    "\"type\":\"boolean\",\"description\":\"Match case-insensitively. Default false.\"},\"from_line\":{"
    "\"type\":\"integer\",\"minimum\":1,\"description\":\"Start searching at this line (to go on after "
    "an earlier search). Default 1.\"}},\"required\":[\"id\",\"pattern\"]" READ_ONLY ","
    "{\"name\":\"spill_stat\",\"title\":\"Describe a stored output\",\"description\":\"Tells what spill "
    "stored under an id: size in bytes, lines and tokens, media type, name, when it was stored and last "
    "read, the file it is in, and which calls read it.\",\"inputSchema\":{\"type\":\"object\","
    "\"properties\":{" ID_SCHEMA "},\"required\":[\"id\"]" READ_ONLY ","
    "{\"name\":\"spill_jq\",\"title\":\"Query a stored JSON output\",\"description\":\"Runs a jq filter "
    "(jq 1.6 language) over a JSON output that spill stored (several JSON values one after another, as "
    "in NDJSON, are each given to the filter) and returns the results, one per line, like the jq "
    "command. Good for structure: '.items | length', 'keys', '.items[0]', '.items[] | "
    "select(.status == \\\"error\\\") | .id'. Long output is cut with a note.\",\"inputSchema\":{\"type\":"
    "\"object\",\"properties\":{" ID_SCHEMA ",\"filter\":{\"type\":\"string\",\"description\":\"The jq "
    "filter, e.g. '.items[0:5] | map(.name)'.\"},\"max_output\":{\"type\":\"integer\",\"minimum\":1,"
    "\"description\":\"Most bytes of output to return (default and ceiling: one page).\"},\"raw_output\":"
    "{\"type\":\"boolean\",\"description\":\"Print string results without quotes, like jq -r.\"},"
    "\"compact\":{\"type\":\"boolean\",\"description\":\"One line per result, like jq -c.\"}},"
    "\"required\":[\"id\",\"filter\"]" READ_ONLY "]";

const char *spill_mcp_tools_json(void) { return TOOLS_JSON; }

static const char *const TOOL_NAMES[] = {"spill_read", "spill_grep", "spill_stat", "spill_jq"};
static int (*const TOOL_FNS[])(spill__mcp_call *) = {tool_read, spill__mcp_grep, tool_stat, spill__mcp_jq};

static int tool_index(const char *name)
{
    int i = 0;
    while (i < 4 && (!name || strcmp(name, TOOL_NAMES[i])))
        i++;
    return i;
}

int spill_mcp_is_tool(const char *name) { return tool_index(name) < 4; }

int spill_mcp_call(spill_store *st, const char *name, const char *args, size_t max_bytes, int era2026,
                   char **out, size_t *outlen)
{
    spill__mcp_call c = {.st = st, .max = max_bytes < SPILL_MCP_MIN_BYTES ? SPILL_MCP_MIN_BYTES : max_bytes,
                         .era2026 = era2026, .out = out, .outlen = outlen};
    int i = tool_index(name), rc;
    *out = NULL;
    if (outlen)
        *outlen = 0;
    if (i == 4)
        return spill__mcp_fail(&c, "unknown tool '%.64s': spill's tools are spill_read, spill_grep, spill_stat "
                               "and spill_jq", name ? name : "");
    c.args = args && *args ? json_loads(args, JSON_REJECT_DUPLICATES, NULL) : json_object();
    if (!json_is_object(c.args))
        rc = spill__mcp_fail(&c, "%s: the arguments must be a JSON object such as {\"id\":\"...\"}", name);
    else
        rc = TOOL_FNS[i](&c);
    json_decref(c.args);
    return rc;
}

/* ---- resources ---- */

int spill_mcp_is_uri(const char *uri) { return uri && !strncasecmp(uri, "spill://", 8); }

static int res_fail(char **out, size_t *outlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int res_fail(char **out, size_t *outlen, int rc, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (rc == SPILL_E_NOMEM || !(*out = strdup(msg)))
        return SPILL_E_NOMEM;
    if (outlen)
        *outlen = strlen(msg);
    return rc;
}

int spill_mcp_read_resource(spill_store *st, const char *uri, size_t max_bytes, int era2026, char **out,
                            size_t *outlen)
{
    spill__mcp_call c = {.st = st, .max = max_bytes < SPILL_MCP_MIN_BYTES ? SPILL_MCP_MIN_BYTES : max_bytes,
                         .era2026 = era2026, .out = out, .outlen = outlen};
    char id[SPILL_ID_HEX + 1], msg[512], range[64], next[128] = "";
    page pg = {.b = UINT64_MAX};
    *out = NULL;
    if (outlen)
        *outlen = 0;
    if (!spill_mcp_is_uri(uri))
        return res_fail(out, outlen, SPILL_E_BADID, "not a spill:// URI");
    const char *p = uri + 8, *q = strchr(p, '?');
    size_t n = q ? (size_t)(q - p) : strlen(p);
    if (n < 8 || n > SPILL_ID_HEX || strspn(p, "0123456789abcdefABCDEF") < n)
        return res_fail(out, outlen, SPILL_E_BADID, "%.200s: not spill://ID with an id of 8 to 32 hex digits",
                        uri);
    memcpy(id, p, n);
    id[n] = 0;
    if (q && !strncmp(q + 1, "lines=", 6))
        pg.by_lines = 1, pg.a = 1;
    else if (q && strncmp(q + 1, "bytes=", 6))
        return res_fail(out, outlen, SPILL_E_INVAL, "%.200s: the query is ?lines=A:B (1-based, B included) "
                        "or ?bytes=A:B (0-based, B excluded)", uri);
    if (q && (parse_range(q + 7, &pg.a, &pg.b) || pg.a > pg.b || (pg.by_lines && pg.a == 0)))
        return res_fail(out, outlen, SPILL_E_INVAL, "%.200s: bad range, use A:B, A: or :B", uri);
    int rc = spill_store_stat(st, id, &c.info);
    const int image = !rc && !strncasecmp(c.info.mime, "image/", 6);
    json_t *img = NULL;
    if (image && !q && spill__mcp_image(st, &c.info, uri, &img) == 0) { /* the image, not a page */
        if (era2026 && (json_object_set_new(img, "ttlMs", json_integer(TTL_MS)) ||
                        json_object_set_new(img, "cacheScope", json_string("private"))))
            json_decref(img), img = NULL;
        return dump(&c, img);
    }
    pg.binary = !is_text_mime(c.info.mime);
    if (!rc && pg.binary && pg.by_lines)
        return res_fail(out, outlen, SPILL_E_INVAL, "%.200s: object %s is binary (%s): it has no lines, read "
                        "it with ?bytes=A:B", uri, c.info.id, c.info.mime);
    pg.budget = c.max - SPILL__MCP_FOOTER;
    if (!rc)
        rc = read_page(st, &c.info, &pg);
    if (!rc && pg.bad && !pg.binary) { /* not all UTF-8: the exact bytes, as a blob page */
        free(pg.data);
        pg.a = pg.first, pg.b = UINT64_MAX, pg.binary = 1;
        if (pg.bytes_out || (rc = line_offset(st, c.info.id, pg.first, &pg.a)) == 0)
            pg.by_lines = 0, rc = read_page(st, &c.info, &pg);
    }
    if (rc == SPILL_E_RANGE)
        return res_fail(out, outlen, rc, "%.200s: the range is outside object %s (%llu bytes, %llu lines)", uri,
                        c.info.id, (unsigned long long)c.info.raw_size, (unsigned long long)c.info.lines);
    if (rc) {
        store_msg(st, rc, id, msg, sizeof msg);
        return res_fail(out, outlen, rc, "%s", msg);
    }
    uint64_t total = pg.bytes_out ? c.info.raw_size : c.info.lines;
    snprintf(range, sizeof range, "%s=%llu:%llu", pg.bytes_out ? "bytes" : "lines",
             (unsigned long long)pg.first, (unsigned long long)pg.last);
    if (pg.last < total)
        snprintf(next, sizeof next, "spill://%s?%s=%llu:", c.info.id, pg.bytes_out ? "bytes" : "lines",
                 (unsigned long long)pg.last + !pg.bytes_out);
    spill__sbuf body = {0};
    if (pg.binary)
        base64(&body, pg.data, pg.len);
    else
        spill__sb_add(&body, pg.data, pg.len);
    free(pg.data);
    /* A page of an image's bytes is no image: a client must not show it as one. */
    json_t *item = json_pack("{s:s,s:s,s:s%,s:{s:{s:s,s:s,s:I,s:I}}}", "uri", uri, "mimeType",
                             image ? "application/octet-stream" : c.info.mime,
                             pg.binary ? "blob" : "text", body.p ? body.p : "", body.n, "_meta", "spill/page",
                             "object", c.info.id, "range", range, "bytes", (json_int_t)c.info.raw_size, "lines",
                             (json_int_t)c.info.lines);
    json_t *root = item ? json_pack("{s:[o]}", "contents", item) : NULL, *meta;
    free(body.p);
    meta = json_object_get(json_object_get(item, "_meta"), "spill/page");
    if (root && *next && json_object_set_new(meta, "next", json_string(next)))
        json_decref(root), root = NULL;
    /* Say so in the contents when a client asked for the resource, or an open range, and
     * got one page: a client that knows nothing of _meta must not take it for all of it. */
    if (root && *next && (pg.b == UINT64_MAX || pg.last < pg.b)) {
        /* Not the asked URI: it can be long (leading zeros), and msg must always hold next. */
        snprintf(msg, sizeof msg, "[spill] This is one page of spill://%s: %s of %llu %s. Next page: %s (or the "
                 "spill_read and spill_grep tools).", c.info.id, range, (unsigned long long)total,
                 pg.bytes_out ? "bytes" : "lines", next);
        json_t *note = json_pack("{s:s,s:s,s:s}", "uri", uri, "mimeType", "text/plain", "text", msg);
        if (json_array_append_new(json_object_get(root, "contents"), note))
            json_decref(root), root = NULL;
    }
    if (root && era2026 && (json_object_set_new(root, "ttlMs", json_integer(TTL_MS)) ||
                            json_object_set_new(root, "cacheScope", json_string("private"))))
        json_decref(root), root = NULL;
    return dump(&c, root);
}
