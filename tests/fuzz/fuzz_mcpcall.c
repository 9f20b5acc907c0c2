/* fuzz_mcpcall.c - spill's own MCP tools and spill:// resources (spill/mcptools.c,
 * spill/mcpquery.c) with the arguments an agent sends: spill_mcp_call for spill_read,
 * spill_grep, spill_stat, spill_jq (and any tool name), spill_mcp_read_resource for
 * spill://ID[?lines=A:B|bytes=A:B].
 *
 * The first input makes a store in a temp directory (removed at exit) with ten objects
 * (see make_objects) and reopens it read-only, so that no read changes what spill_stat
 * says (access time, read count) and every answer depends on the call alone.
 *
 * Input: byte 0 selects the call, byte 1 max_bytes, the rest is the call's text (up to a
 * NUL: the functions take C strings).
 *   byte 0 & 7: 0 spill_read, 1 spill_grep, 2 spill_stat, 3 spill_jq, 4 and 6 resources/read
 *               (the text is the URI), 5 a tool named by the text's first line (the rest
 *               is the arguments), 7 spill_grep
 *          & 8: the 2026-07-28 protocol (era2026)
 *   byte 1: max_bytes: 0 the default (64 KiB), 255 1 MiB, else 900 + 41 * v (below
 *           SPILL_MCP_MIN_BYTES, which counts as that)
 *   In the text, "@D" (D a digit) stands for object D's id, "@-D" for its first 8 hex
 *   digits and "@^D" for its id in capitals, so that the fuzzer reaches past the lookup.
 *
 * Checks beyond ASan/UBSan/LSan: a tool call returns 0 with a CallToolResult that jansson
 * loads: one text item, isError absent or true, resultType exactly in era2026, its text
 * within max_bytes counted JSON-escaped (mcptools.h) and the whole answer within that
 * plus its JSON frame; a resource read returns 0 with a ReadResourceResult (the page's
 * bytes are the object's bytes its _meta range names, text and note within max_bytes) or
 * one of the documented error codes with a message; the same call twice gives the same
 * bytes. A spill_read page is the object's bytes its footer names; a spill_grep line
 * "N:text" is line N of the object; a "next" call (spill_read, spill_grep, resource) that
 * an answer offers is made once and must succeed and go on where the page ended.
 *
 * spill_jq runs libjq 1.6, which has no time or memory limit and aborts or loops on some
 * filters (issue 11; the sidecar moves it into a limited worker). The fuzzer must not stop
 * on those known libjq faults, so a spill_jq call runs only when its filter is in a subset
 * that always ends quickly in small memory (jq_safe below: paths, at most one `..`, array
 * construction and a list of builtins that cannot loop or multiply); any other filter is
 * not run at all. Every other tool and every resource call runs whatever the input. */
#define _GNU_SOURCE
#include <ctype.h>
#include <ftw.h>
#include <jansson.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <strings.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "mcptools.h"

#define NOBJ 10
#define MAX_FRAME 512 /* a result's JSON around its text: content, type, isError, resultType */

typedef struct fobj {
    unsigned char *p;
    size_t n;
    size_t *ls; /* ls[i]: where line i + 1 starts; ls[nl] == n */
    uint64_t nl;
    spill_object_info info;
} fobj;

static fobj objs[NOBJ];
static spill_store *store;
static char store_dir[512];

/* ---- the store ---- */

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path), 0;
}

static void cleanup(void)
{
    spill_store_close(store);
    store = NULL;
    if (store_dir[0])
        nftw(store_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    for (int i = 0; i < NOBJ; i++)
        free(objs[i].p), free(objs[i].ls);
}

static uint32_t rng = 2463534242u;
static uint32_t next_rand(void)
{
    rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
    return rng;
}

static void rep(fz_buf *b, const char *s, size_t times)
{
    for (size_t i = 0; i < times; i++)
        fz_puts(b, s);
}

/* Text with short, long and very long lines (one over a default page), escapes that cost
 * more than a byte, CRLF, empty lines, multi-byte characters that page cuts fall into. */
static void obj_text(fz_buf *b)
{
    fz_puts(b, "alpha beta gamma NEEDLE 1\n\n\"quoted\" back\\slash\ttab \x01\x1f ctl\x7f\n");
    fz_puts(b, "windows line NEEDLE\r\n\r\n");
    for (int i = 1; i <= 60; i++) {
        char l[80];
        snprintf(l, sizeof l, "line %d: status=%s id=%05d%s\n", i, i % 7 ? "ok" : "error", i * 37,
                 i % 11 ? "" : " NEEDLE");
        fz_puts(b, l);
    }
    rep(b, "abcdefghij", 150);
    fz_puts(b, " NEEDLE ");
    rep(b, "0123456789", 150);
    fz_puts(b, "\n");
    rep(b, "h\xc3\xa9 \xe2\x98\x83\xf0\x9d\x84\x9e", 900); /* e-acute, snowman, G clef */
    fz_puts(b, "\nshort\n");
    rep(b, "a long line of words, ", 3300); /* 72 KB: longer than a default page */
    fz_puts(b, "NEEDLE end\n");
    for (int i = 0; i < 30; i++)
        fz_puts(b, i % 3 ? "tail line\n" : "Tail Needle line\n");
}

/* Invalid UTF-8 of every kind jansson refuses, and a NUL. */
static void obj_bad_utf8(fz_buf *b)
{
    static const char head[] = "ok line\n\xff\xfe bad start\ncut \xe2\x82\noverlong \xc0\xaf\n"
                               "surrogate \xed\xa0\x80\npast max \xf4\x90\x80\x80\nnul\0byte\n"
                               "lone continuation \x80\x80 NEEDLE\n";
    fz_put(b, head, sizeof head - 1);
    for (int i = 0; i < 600; i++)
        fz_puts(b, i % 5 ? "\xe2\x82\xac" : "\xe2\x82"); /* euro signs, some cut */
    fz_puts(b, "\nlatin1 caf\xe9 NEEDLE\n");
}

static void obj_json(fz_buf *b)
{
    fz_puts(b, "{\n  \"items\": [\n");
    for (int i = 0; i < 12; i++) {
        char l[200];
        snprintf(l, sizeof l, "    {\"id\": %d, \"name\": \"item %d \\u00e9\", \"status\": \"%s\", "
                 "\"tags\": [\"x\", \"y%d\"], \"n\": %d.5}%s\n", i, i, i % 4 ? "ok" : "error", i, i * 3,
                 i < 11 ? "," : "");
        fz_puts(b, l);
    }
    fz_puts(b, "  ],\n  \"meta\": {\"count\": 12, \"nested\": {\"deep\": [1, [2, [3, [4, {\"k\": null}]]]]}, "
               "\"flag\": true},\n  \"text\": \"h\\u00e9llo \\\"w\\\" \\n\\t\\ud83d\\ude00\",\n"
               "  \"empty\": {}, \"list\": []\n}\n");
}

static void obj_ndjson(fz_buf *b)
{
    for (int i = 0; i < 20; i++) {
        char l[120];
        snprintf(l, sizeof l, "{\"n\":%d,\"s\":\"row %d\",\"ok\":%s,\"v\":[%d,%d]}\n", i, i, i % 3 ? "true" : "false",
                 i, i * i);
        fz_puts(b, l);
    }
    fz_puts(b, "\"a string value\"\n42\nnull\n[1,2,3]\n{\"broken\": \n");
}

static void obj_binary(fz_buf *b, size_t n)
{
    fz_put(b, "\x89PNG\r\n\x1a\n", 8);
    for (size_t i = 8; i < n; i++) {
        unsigned char c = (unsigned char)next_rand();
        fz_put(b, &c, 1);
    }
}

static void make_objects(fz_buf b[NOBJ], const char *mime[NOBJ], const char *name[NOBJ])
{
    obj_text(&b[0]), mime[0] = "text/plain", name[0] = "fuzz \"text\" \xc3\xa9";
    obj_bad_utf8(&b[1]), mime[1] = "text/plain";
    obj_json(&b[2]), mime[2] = "application/json", name[2] = "items.json";
    obj_ndjson(&b[3]), mime[3] = "application/x-ndjson";
    obj_binary(&b[4], 12000), mime[4] = "image/png", name[4] = "shot.png";
    mime[5] = "text/plain"; /* empty */
    fz_puts(&b[6], "no trailing newline\nthe last line ");
    rep(&b[6], "goes on and on, ", 400);
    mime[6] = "text/plain";
    obj_binary(&b[7], 300), mime[7] = "application/octet-stream";
    fz_puts(&b[8], "<a>\n  <b attr=\"1\">x &amp; y</b>\n</a>\n"), mime[8] = "application/xml";
    fz_puts(&b[9], "\n\n\r\n\n"), mime[9] = "text/plain"; /* empty lines only */
}

static void index_lines(fobj *o)
{
    o->ls = malloc((o->n + 2) * sizeof *o->ls);
    if (!o->ls)
        FZ_FAIL();
    o->ls[0] = 0, o->nl = 0;
    for (size_t i = 0; i < o->n; i++)
        if (o->p[i] == '\n')
            o->ls[++o->nl] = i + 1;
    if (o->n && o->p[o->n - 1] != '\n')
        o->ls[++o->nl] = o->n;
}

static void init(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(store_dir, sizeof store_dir, "%s/spill-fuzz-mcp.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(store_dir)) {
        perror(store_dir);
        FZ_FAIL();
    }
    atexit(cleanup);
    spill_store_opts o;
    spill_store_opts_init(&o);
    o.dir = store_dir;
    o.frame_size = 4096; /* pages cross frames */
    spill_store *w = NULL;
    if (spill_store_open(&w, &o))
        FZ_FAIL();
    fz_buf b[NOBJ] = {{0}};
    const char *mime[NOBJ] = {0}, *name[NOBJ] = {0};
    make_objects(b, mime, name);
    for (int i = 0; i < NOBJ; i++) {
        spill_put_info pi = {0};
        pi.mime = mime[i], pi.name = name[i], pi.tokens = 7 * b[i].n / 30, pi.token_counter = "fuzz";
        if (spill_store_put(w, b[i].n ? (const void *)b[i].p : "", b[i].n, &pi, &objs[i].info))
            FZ_FAIL();
        objs[i].p = b[i].p ? b[i].p : calloc(1, 1), objs[i].n = b[i].n; /* never NULL: o->p + 0 */
        if (!objs[i].p)
            FZ_FAIL();
        index_lines(&objs[i]);
    }
    spill_store_close(w);
    o.read_only = 1;
    if (spill_store_open(&store, &o))
        FZ_FAIL();
    for (int i = 0; i < NOBJ; i++)
        if (spill_store_stat(store, objs[i].info.id, &objs[i].info) || objs[i].info.lines != objs[i].nl ||
            objs[i].info.raw_size != objs[i].n)
            FZ_FAIL();
}

/* ---- the input ---- */

/* The text up to a NUL with "@D", "@-D", "@^D" replaced (see the top). Malloc'd. */
static char *expand(const uint8_t *p, size_t n)
{
    fz_buf b = {0};
    for (size_t i = 0; i < n && p[i]; i++) {
        size_t k = i + 1 < n && (p[i + 1] == '-' || p[i + 1] == '^') ? 2 : 1;
        if (p[i] != '@' || i + k >= n || p[i + k] < '0' || p[i + k] > '9') {
            fz_put(&b, p + i, 1);
            continue;
        }
        char id[SPILL_ID_HEX + 1];
        memcpy(id, objs[p[i + k] - '0'].info.id, sizeof id);
        for (char *c = id; k == 2 && p[i + 1] == '^' && *c; c++)
            *c = (char)toupper((unsigned char)*c);
        fz_put(&b, id, k == 2 && p[i + 1] == '-' ? 8 : SPILL_ID_HEX);
        i += k;
    }
    fz_put(&b, "", 1);
    return (char *)b.p;
}

/* The spill_jq filters the fuzzer runs (see the top): field paths, .[], .[N], .[N:M],
 * ."s", at most one `..`, [E], (E), E?, `|`, string literals without a backslash (no
 * interpolation), numbers of up to 9 digits (also after `-`), comments, and the builtins
 * below, which neither recurse nor loop nor multiply their input. Left out on purpose:
 * `,` `and` `or` `if` `select` and comparisons (each multiplies the results, N^k over k of
 * them), + * / % (doubling sizes), tojson/tostring (growing escapes), `;` `$` `{` `@` and
 * every other builtin (range, recurse, limit, input, debug, env, def, reduce, ...). */
static int jq_safe(const char *f)
{
    static const char *const words[] = {
        "length", "keys", "keys_unsorted", "type", "not", "add", "first", "last", "reverse", "sort",
        "unique", "min", "max", "to_entries", "from_entries", "values", "nulls", "booleans", "numbers",
        "strings", "arrays", "objects", "iterables", "scalars", "empty", "utf8bytelength", "ascii_downcase",
        "ascii_upcase", "floor", "sqrt", "null", "true", "false", "map", "has", "contains", NULL};
    int depth = 0, recurse = 0;
    for (const char *p = f; *p;) {
        const unsigned char c = (unsigned char)*p;
        size_t k;
        if (c == '"' || c == '#') { /* a string to its quote, a comment to the line's end */
            const char *e = strchr(p + 1, c == '"' ? '"' : '\n');
            if (!e)
                e = p + strlen(p);
            if (memchr(p, '\\', (size_t)(e - p)) || (c == '"' && !*e))
                return 0;
            p = *e ? e + 1 : e;
        } else if (c == '.') {
            if ((k = strspn(p, ".")) > 2 || (k == 2 && ++recurse > 1))
                return 0;
            p += k;
            if (k == 1 && (isalpha((unsigned char)*p) || *p == '_')) /* a field */
                p += strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
        } else if (isalpha(c) || c == '_') {
            k = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
            int i = 0;
            while (words[i] && (strlen(words[i]) != k || strncmp(words[i], p, k)))
                i++;
            if (!words[i])
                return 0;
            p += k;
        } else if (isdigit(c) || (c == '-' && isdigit((unsigned char)p[1]))) {
            p += c == '-';
            if ((k = strspn(p, "0123456789")) > 9)
                return 0;
            p += k;
        } else if (c == '[' || c == '(') {
            if (++depth > 32)
                return 0;
            p++;
        } else if (c == ']' || c == ')') {
            depth--, p++;
        } else if (strchr("|?: \t\r\n", c)) {
            p++;
        } else {
            return 0;
        }
    }
    return 1;
}

/* 0 if a spill_jq call with these arguments may run. Parsed as spill_mcp_call parses them:
 * where that fails or there is no string filter, spill answers before libjq starts. */
static int jq_skip(const char *args)
{
    json_t *a = args && *args ? json_loads(args, JSON_REJECT_DUPLICATES, NULL) : NULL;
    const char *f = json_string_value(json_object_get(a, "filter")), *g = f ? f + strspn(f, " \t\r\n") : f;
    /* spill refuses import and include before libjq sees the filter */
    int skip = f && !jq_safe(f) && strncmp(g, "import", 6) && strncmp(g, "include", 7);
    json_decref(a);
    return skip;
}

/* ---- checks ---- */

/* A page's media type: the object's, except that a page of an image's bytes is no image
 * (application/octet-stream); a whole image keeps its type. */
static int mime_fits(const char *got, const char *mime)
{
    if (!got)
        return 0;
    return !strcmp(got, mime) || (!strncmp(mime, "image/", 6) && !strcmp(got, "application/octet-stream"));
}

static size_t max_eff;

static size_t escaped_len(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    char *d = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    if (!d)
        FZ_FAIL();
    size_t len = strlen(d) - 2;
    free(d);
    json_decref(j);
    return len;
}

static void fail_with(const char *what, const char *call, const char *args, const char *out)
{
    fprintf(stderr, "%s\n  call: %.300s %.600s\n  answer: %.2000s\n", what, call, args ? args : "",
            out ? out : "(null)");
    cleanup(); /* abort() skips atexit: remove the temp store here */
    FZ_FAIL();
}

/* SPILL_FUZZ_SHOW=1: each call and the head of its answer on stderr (to see what a corpus
 * file reaches). */
static void show(const char *call, const char *args, const char *out)
{
    static int on = -1;
    if (on < 0)
        on = getenv("SPILL_FUZZ_SHOW") != NULL;
    if (on)
        fprintf(stderr, "  %s %.200s\n    -> %.300s\n", call, args, out ? out : "(null)");
}

static unsigned char *b64_decode(const char *s, size_t n, size_t *outn)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char *o = malloc(n / 4 * 3 + 3);
    size_t k = 0, pad = 0;
    uint32_t v = 0;
    int bits = 0;
    if (!o || n % 4)
        return free(o), NULL;
    for (size_t i = 0; i < n; i++) {
        const char *q = s[i] ? strchr(a, s[i]) : NULL;
        if (s[i] == '=' && i + 2 >= n && ++pad)
            continue;
        if (!q || pad)
            return free(o), NULL;
        v = v << 6 | (uint32_t)(q - a);
        if ((bits += 6) >= 8)
            o[k++] = (unsigned char)(v >> (bits -= 8));
    }
    *outn = k;
    return o;
}

/* The object an "id" argument names as spill__mcp_begin takes it (a spill:// prefix, a
 * unique prefix of the id), or NULL. */
static fobj *find_obj(const char *id)
{
    fobj *hit = NULL;
    if (id && !strncasecmp(id, "spill://", 8))
        id += 8;
    size_t n = id ? strlen(id) : 0;
    for (int i = 0; n >= 8 && n <= SPILL_ID_HEX && i < NOBJ; i++)
        if (!strncasecmp(objs[i].info.id, id, n)) {
            if (hit)
                return NULL;
            hit = &objs[i];
        }
    return hit;
}

typedef struct answer {
    char *out;
    size_t outlen;
    json_t *root;
    const char *text; /* content[0].text */
    size_t tlen;
    int is_error;
} answer;

static void answer_free(answer *a)
{
    json_decref(a->root);
    free(a->out);
    memset(a, 0, sizeof *a);
}

/* libjq 1.6 leaks what its backtracking held when a filter fails after a generator
 * (`.[]|.[]` on {"a":[1,2]}, `null[..]`: the same with libjq alone, jq_next until the
 * error then jq_teardown, as the jq command does), so LSan ignores what is allocated
 * while spill_jq runs. Weak: the replay under gcc has no LSan. */
void __lsan_disable(void) __attribute__((weak));
void __lsan_enable(void) __attribute__((weak));

static int call_once(const char *name, const char *args, size_t max, int era, char **out, size_t *outlen)
{
    const int jq = name && !strcmp(name, "spill_jq") && __lsan_disable && __lsan_enable;
    if (jq)
        __lsan_disable();
    int rc = spill_mcp_call(store, name, args, max, era, out, outlen);
    if (jq)
        __lsan_enable();
    return rc;
}

/* Calls a tool twice and checks the CallToolResult's shape, bounds and determinism. */
static void call_tool(const char *name, const char *args, size_t max, int era, answer *a)
{
    memset(a, 0, sizeof *a);
    char *again = NULL;
    size_t againlen = 0;
    int rc = call_once(name, args, max, era, &a->out, &a->outlen);
    int rc2 = call_once(name, args, max, era, &again, &againlen);
    if (rc || !a->out || strlen(a->out) != a->outlen)
        fail_with("tool call: rc != 0, no answer, or outlen wrong", name, args, a->out);
    if (rc2 || !again || againlen != a->outlen || memcmp(again, a->out, againlen))
        fail_with("tool call: the same call twice gave different bytes", name, args, again);
    free(again);
    show(name, args, a->out);
    json_error_t e;
    a->root = json_loadb(a->out, a->outlen, JSON_ALLOW_NUL, &e);
    json_t *content = json_object_get(a->root, "content"), *item = json_array_get(content, 0);
    json_t *text = json_object_get(item, "text"), *ie = json_object_get(a->root, "isError");
    json_t *rt = json_object_get(a->root, "resultType");
    if (!json_is_object(a->root))
        fail_with("tool call: the answer is not a JSON object", name, args, a->out);
    if (json_array_size(content) != 1 || !json_is_string(text) ||
        strcmp(json_string_value(json_object_get(item, "type")) ?: "", "text"))
        fail_with("tool call: not a CallToolResult with one text item", name, args, a->out);
    if ((ie && !json_is_true(ie)) || json_object_size(a->root) != 1u + (ie != NULL) + (rt != NULL))
        fail_with("tool call: isError not absent or true, or an unknown member", name, args, a->out);
    if (era ? !json_is_string(rt) || strcmp(json_string_value(rt), "complete") : rt != NULL)
        fail_with("tool call: resultType wrong for the protocol version", name, args, a->out);
    a->text = json_string_value(text), a->tlen = json_string_length(text), a->is_error = ie != NULL;
    if (escaped_len(a->text, a->tlen) > max_eff || a->outlen > max_eff + MAX_FRAME)
        fail_with("tool call: over max_bytes", name, args, a->out);
}

/* The text from the last line that starts with tag, or NULL. */
static const char *footer(const answer *a, const char *tag)
{
    const char *f = NULL, *end = a->text + a->tlen;
    const size_t k = strlen(tag);
    for (const char *p = a->text; (p = memmem(p, (size_t)(end - p), tag, k)) != NULL; p++)
        if (p == a->text || p[-1] == '\n')
            f = p;
    return f;
}

/* The arguments after "next: TOOL " at the end of a footer, or "". */
static void next_args(const char *f, const char *tool, char *out, size_t cap)
{
    char key[64];
    snprintf(key, sizeof key, "next: %s ", tool);
    const char *nx = strstr(f, key);
    snprintf(out, cap, "%s", nx ? nx + strlen(key) : "");
}

/* A spill_read page: the footer says which bytes [start, end) of which object it shows,
 * and the content before it is those bytes (text), or their base64 (binary). */
static void check_read(const char *args, const answer *a, size_t *start, size_t *end, char *next, size_t cap)
{
    json_t *j = json_loads(args, 0, NULL);
    fobj *o = find_obj(json_string_value(json_object_get(j, "id")));
    const char *f = footer(a, "[spill_read] ");
    unsigned long long x, y, n, len;
    json_decref(j);
    if (!f || strstr(a->text, "[spill: message cut to fit]"))
        fail_with("spill_read: no footer, or the page was cut to fit", "spill_read", args, a->out);
    next_args(f, "spill_read", next, cap);
    if (!*next && !strstr(f, ". end of output."))
        fail_with("spill_read: neither a next call nor the end", "spill_read", args, a->out);
    if (!o)
        return;
    const int binary = strstr(f, "of a binary object") != NULL;
    if (sscanf(f, "[spill_read] lines %llu-%llu of %llu (%llu bytes)", &x, &y, &n, &len) == 4 ||
        (sscanf(f, "[spill_read] line %llu of %llu (%llu bytes)", &x, &n, &len) == 3 && (y = x, 1))) {
        if (n != o->nl || x < 1 || x > y || y > n || len != o->ls[y] - o->ls[x - 1])
            fail_with("spill_read: the lines footer is wrong", "spill_read", args, a->out);
        *start = o->ls[x - 1], *end = o->ls[y];
    } else if (strstr(f, "is longer than one page") &&
               sscanf(strstr(f, ", bytes ") ?: "", ", bytes %llu:%llu of %llu", &x, &y, &n) == 3) {
        *start = x, *end = y;
    } else if (sscanf(f, "[spill_read] bytes %llu:%llu of %llu", &x, &y, &n) == 3) {
        *start = x, *end = y;
    } else if (strstr(f, " is empty (0 bytes)")) {
        *start = *end = 0, n = 0;
    } else {
        fail_with("spill_read: footer not understood", "spill_read", args, a->out);
        return;
    }
    if (*end > o->n || *start > *end || (n != o->n && n != o->nl))
        fail_with("spill_read: the range is outside the object", "spill_read", args, a->out);
    const size_t head = (size_t)(f - a->text), want = *end - *start;
    if (binary) {
        size_t dn = 0;
        unsigned char *d = head ? b64_decode(a->text, head - 1, &dn) : NULL;
        if (!d || dn != want || memcmp(d, o->p + *start, want))
            fail_with("spill_read: the base64 is not the bytes the footer names", "spill_read", args, a->out);
        free(d);
    } else if (!strstr(f, "are not UTF-8")) { /* else some bytes are U+FFFD */
        if ((head != want && head != want + 1) || memcmp(a->text, o->p + *start, want))
            fail_with("spill_read: the page is not the bytes the footer names", "spill_read", args, a->out);
    }
}

/* from_line as spill_grep takes it (an integer or a string of digits), 1 when absent. */
static uint64_t from_line(const char *args)
{
    json_t *j = json_loads(args, 0, NULL), *f = json_object_get(j, "from_line");
    uint64_t v = json_is_integer(f) ? (uint64_t)json_integer_value(f)
                 : json_is_string(f) ? strtoull(json_string_value(f), NULL, 10) : 1;
    json_decref(j);
    return v;
}

/* Whether line no of o matches the call's pattern, by PCRE2 itself with spill_grep's
 * options (a trailing CR ignored): 1, 0, or -1 when the match fails (e.g. its limit). */
static int oracle(pcre2_code *re, pcre2_match_data *md, const fobj *o, uint64_t no)
{
    const unsigned char *l = o->p + o->ls[no - 1];
    size_t ln = o->ls[no] - o->ls[no - 1];
    ln -= ln && l[ln - 1] == '\n';
    ln -= ln && l[ln - 1] == '\r';
    int m = pcre2_match(re, (PCRE2_SPTR)l, ln, 0, 0, md, NULL);
    return m >= 0 ? 1 : m == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

static pcre2_code *compile_args(const char *args)
{
    json_t *j = json_loads(args, 0, NULL), *ic = json_object_get(j, "ignore_case");
    const char *pat = json_string_value(json_object_get(j, "pattern"));
    int icase = json_is_true(ic) || (json_is_string(ic) && !strcmp(json_string_value(ic), "true")), err;
    PCRE2_SIZE off;
    pcre2_code *re = pat ? pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
                                         PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | (icase ? PCRE2_CASELESS : 0),
                                         &err, &off, NULL)
                         : NULL;
    json_decref(j);
    if (re)
        pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    return re;
}

/* A spill_grep answer: "N:text", "N-text" and "--" lines with N rising, each shown line
 * the object's line N (cut with a note, or with U+FFFD for bytes that are not UTF-8).
 * Against PCRE2 run here: "N:" lines match and "N-" lines do not, every match from
 * from_line to the last line shown is shown, none is skipped up to the next call's
 * from_line (or to the end when there is none), and the footer counts them. */
static void check_grep(const char *args, const answer *a, char *next, size_t cap)
{
    json_t *j = json_loads(args, 0, NULL);
    fobj *o = find_obj(json_string_value(json_object_get(j, "id")));
    json_decref(j);
    const char *f = footer(a, "[spill_grep] ");
    static const char cutnote[] = " [spill: line cut here; spill_read lines ";
    if (!f || strstr(a->text, "[spill: message cut to fit]"))
        fail_with("spill_grep: no footer, or the answer was cut to fit", "spill_grep", args, a->out);
    next_args(f, "spill_grep", next, cap);
    pcre2_code *re = o ? compile_args(args) : NULL;
    pcre2_match_data *md = re ? pcre2_match_data_create_from_pattern(re, NULL) : NULL;
    char *shown = re ? calloc(o->nl + 2, 1) : NULL;
    unsigned long long prev = 0, matches = 0, k;
    if (re && (!md || !shown))
        FZ_FAIL();
    for (const char *p = a->text; p < f;) {
        const char *nl = memchr(p, '\n', (size_t)(f - p));
        if (!nl)
            fail_with("spill_grep: a line before the footer has no newline", "spill_grep", args, a->out);
        char *sep;
        unsigned long long no = strtoull(p, &sep, 10);
        if (nl - p == 2 && !memcmp(p, "--", 2)) {
            p = nl + 1;
            continue;
        }
        if (!isdigit((unsigned char)*p) || (*sep != ':' && *sep != '-') || no <= prev || (o && no > o->nl))
            fail_with("spill_grep: a line is not N:text or N-text with N rising", "spill_grep", args, a->out);
        prev = no;
        matches += *sep == ':';
        if (re && (shown[no] = *sep) && oracle(re, md, o, no) == (*sep == '-'))
            fail_with("spill_grep: an N: line does not match, or an N- line does", "spill_grep", args, a->out);
        const char *t = sep + 1, *cut = memmem(t, (size_t)(nl - t), cutnote, sizeof cutnote - 1);
        size_t tn = (size_t)((cut ? cut : nl) - t);
        if (o && !memmem(t, tn, "\xef\xbf\xbd", 3)) {
            const unsigned char *l = o->p + o->ls[no - 1];
            size_t ln = o->ls[no] - o->ls[no - 1];
            ln -= ln && l[ln - 1] == '\n';
            ln -= ln && l[ln - 1] == '\r';
            if (cut ? tn > ln || memcmp(t, l, tn) : tn != ln || memcmp(t, l, tn))
                fail_with("spill_grep: a shown line is not the object's line", "spill_grep", args, a->out);
        }
        p = nl + 1;
    }
    if (strstr(f, "[spill_grep] no line matches") ? matches != 0
        : sscanf(f, "[spill_grep] %llu matching line", &k) != 1 || k != matches)
        fail_with("spill_grep: the footer does not count the N: lines", "spill_grep", args, a->out);
    if (re) {
        const uint64_t from = from_line(args), upto = *next ? from_line(next) : o->nl + 1;
        for (uint64_t no = from; no < upto && no <= o->nl; no++)
            if (shown[no] != ':' && oracle(re, md, o, no) == 1)
                fail_with("spill_grep: a matching line is neither shown nor left to the next call", "spill_grep",
                          args, a->out);
    }
    free(shown);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
}

/* A follow-up call that an answer offered must work and go on where the page ended. */
static void follow_read(const char *next, size_t end, size_t max, int era)
{
    answer a;
    size_t s2 = 0, e2 = 0;
    char nn[600];
    call_tool("spill_read", next, max, era, &a);
    if (a.is_error)
        fail_with("spill_read: the next call it offered fails", "spill_read", next, a.out);
    check_read(next, &a, &s2, &e2, nn, sizeof nn);
    /* A text page starts on the character that holds its first byte: after a page that
     * ended inside a character (shown as U+FFFD), the next one starts on that character. */
    json_t *j = json_loads(next, 0, NULL);
    fobj *o = find_obj(json_string_value(json_object_get(j, "id")));
    json_decref(j);
    int inside = o && end < o->n && s2 < end && end - s2 <= 3 && (o->p[end] & 0xc0) == 0x80;
    if (s2 != end && !inside)
        fail_with("spill_read: the next page does not start where the page ended", "spill_read", next, a.out);
    answer_free(&a);
}

static void follow_grep(const char *args, const char *next, size_t max, int era)
{
    answer b;
    char nn[600];
    call_tool("spill_grep", next, max, era, &b);
    if (b.is_error || from_line(next) <= from_line(args))
        fail_with("spill_grep: the next call it offered fails or does not go on", "spill_grep", next, b.out);
    check_grep(next, &b, nn, sizeof nn);
    answer_free(&b);
}

static void run_tool(const char *name, const char *args, size_t max, int era)
{
    answer a;
    call_tool(name, args, max, era, &a);
    if (!spill_mcp_is_tool(name) && !a.is_error)
        fail_with("an unknown tool answered without isError", name, args, a.out);
    char next[600];
    if (!a.is_error && !strcmp(name, "spill_read")) {
        size_t s = 0, e = 0;
        check_read(args, &a, &s, &e, next, sizeof next);
        if (*next)
            follow_read(next, e, max, era);
    } else if (!a.is_error && !strcmp(name, "spill_grep")) {
        check_grep(args, &a, next, sizeof next);
        if (*next)
            follow_grep(args, next, max, era);
    }
    answer_free(&a);
}

/* ---- resources ---- */

static int range_of(json_t *meta, int *by_lines, size_t *x, size_t *y)
{
    const char *r = json_string_value(json_object_get(meta, "range"));
    unsigned long long a, b;
    if (!r || (sscanf(r, "lines=%llu:%llu", &a, &b) != 2 && sscanf(r, "bytes=%llu:%llu", &a, &b) != 2))
        return -1;
    *by_lines = r[0] == 'l', *x = a, *y = b;
    return 0;
}

/* Reads uri (twice) and checks the answer; a page's bytes [*ps, *pe) of the object. */
static void read_res(const char *uri, size_t max, int era, int depth, size_t *ps, size_t *pe)
{
    char *out = NULL, *again = NULL;
    size_t outlen = 0, againlen = 0;
    int rc = spill_mcp_read_resource(store, uri, max, era, &out, &outlen);
    int rc2 = spill_mcp_read_resource(store, uri, max, era, &again, &againlen);
    if (!out || strlen(out) != outlen)
        fail_with("resource: no answer, or outlen wrong", "resources/read", uri, out);
    if (rc2 != rc || !again || againlen != outlen || memcmp(again, out, outlen))
        fail_with("resource: the same read twice gave different answers", "resources/read", uri, again);
    free(again);
    show("resources/read", uri, out);
    if (rc) {
        if (rc != SPILL_E_BADID && rc != SPILL_E_INVAL && rc != SPILL_E_NOTFOUND && rc != SPILL_E_AMBIGUOUS &&
            rc != SPILL_E_RANGE)
            fail_with("resource: an error code that mcptools.h does not name", "resources/read", uri, out);
        if (!*out || (rc != SPILL_E_BADID && !spill_mcp_is_uri(uri)) || depth)
            fail_with("resource: an empty message, or the next page it offered fails", "resources/read", uri,
                      out);
        free(out);
        return;
    }
    if (!spill_mcp_is_uri(uri))
        fail_with("resource: answered a URI that is not spill://", "resources/read", uri, out);
    json_t *root = json_loadb(out, outlen, JSON_ALLOW_NUL, NULL), *c = json_object_get(root, "contents");
    json_t *it = json_array_get(c, 0), *meta = json_object_get(json_object_get(it, "_meta"), "spill/page");
    json_t *t = json_object_get(it, "text"), *b = json_object_get(it, "blob"), *rt = json_object_get(root, "resultType");
    fobj *o = find_obj(json_string_value(json_object_get(meta, "object")));
    const char *next = json_string_value(json_object_get(meta, "next"));
    int by_lines;
    size_t x, y, total = 0;
    /* A second item (the note) says there is more when the range asked was open. */
    const char *q = strchr(uri, '?');
    const int open = !q || strchr(":-", uri[strlen(uri) - 1]);
    const size_t items = json_array_size(c);
    if (!root || !o || !json_is_array(c) || items < 1u + (next && open) || items > 1u + (next != NULL) || !t == !b ||
        strcmp(json_string_value(json_object_get(it, "uri")) ?: "", uri) ||
        !mime_fits(json_string_value(json_object_get(it, "mimeType")), o->info.mime) ||
        json_integer_value(json_object_get(meta, "bytes")) != (json_int_t)o->n ||
        json_integer_value(json_object_get(meta, "lines")) != (json_int_t)o->nl || range_of(meta, &by_lines, &x, &y))
        fail_with("resource: not a ReadResourceResult for the object", "resources/read", uri, out);
    if (era ? !json_is_string(rt) || strcmp(json_string_value(rt), "complete") ||
                  json_integer_value(json_object_get(root, "ttlMs")) != 3600000 ||
                  strcmp(json_string_value(json_object_get(root, "cacheScope")) ?: "", "private")
            : rt || json_object_get(root, "ttlMs") || json_object_get(root, "cacheScope"))
        fail_with("resource: resultType, ttlMs or cacheScope wrong for the protocol version", "resources/read", uri,
                  out);
    for (size_t i = 0; i < json_array_size(c); i++) {
        json_t *e = json_array_get(c, i), *et = json_object_get(e, "text"), *eb = json_object_get(e, "blob");
        total += et ? escaped_len(json_string_value(et), json_string_length(et)) : json_string_length(eb);
    }
    if (total > max_eff || outlen > max_eff + MAX_FRAME + 3 * strlen(uri))
        fail_with("resource: page and note over max_bytes", "resources/read", uri, out);
    /* An empty object is "lines=0:0" (no lines) when lines were asked. */
    if (o->n == 0 ? x || y : by_lines ? x < 1 || x > y || y > o->nl : x > y || y > o->n)
        fail_with("resource: its range is outside the object", "resources/read", uri, out);
    size_t s = by_lines && o->n ? o->ls[x - 1] : x, e = by_lines ? o->ls[y] : y, dn = 0;
    unsigned char *d = b ? b64_decode(json_string_value(b), json_string_length(b), &dn) : NULL;
    const void *got = b ? (const void *)d : (const void *)json_string_value(t);
    if (!b)
        dn = json_string_length(t);
    if (!got || dn != e - s || memcmp(got, o->p + s, dn) || (dn == 0 && o->n))
        fail_with("resource: the page is not the bytes its range names", "resources/read", uri, out);
    free(d);
    *ps = s, *pe = e;
    if (next) {
        const char *note = json_string_value(json_object_get(json_array_get(c, 1), "text"));
        if (items == 2 && (!note || !strstr(note, next)))
            fail_with("resource: the note does not give the next page", "resources/read", uri, out);
        size_t s2 = 0, e2 = 0;
        if (!depth) { /* the next page starts where this one ended (see follow_read) */
            read_res(next, max, era, 1, &s2, &e2);
            if (s2 != e && !(e < o->n && s2 < e && e - s2 <= 3 && (o->p[e] & 0xc0) == 0x80))
                fail_with("resource: the next page does not start where the page ended", "resources/read",
                          next, out);
        }
    }
    json_decref(root);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const tools[] = {"spill_read", "spill_grep", "spill_stat", "spill_jq"};
    if (!store)
        init();
    if (size < 2)
        return 0;
    const int kind = data[0] & 7, era = (data[0] & 8) != 0;
    const size_t max = data[1] == 0 ? SPILL_MCP_DEFAULT_BYTES : data[1] == 255 ? (size_t)1 << 20 : 900 + 41 * (size_t)data[1];
    max_eff = max < SPILL_MCP_MIN_BYTES ? SPILL_MCP_MIN_BYTES : max;
    char *text = expand(data + 2, size - 2);
    if (kind == 4 || kind == 6) {
        size_t s, e;
        read_res(text, max, era, 0, &s, &e);
    } else {
        const char *name = kind == 7 ? "spill_grep" : kind < 4 ? tools[kind] : text, *args = text;
        if (kind == 5) {
            char *nl = strchr(text, '\n');
            args = nl ? nl + 1 : "";
            if (nl)
                *nl = 0;
        }
        if (strcmp(name, "spill_jq") || !jq_skip(args))
            run_tool(name, args, max, era);
    }
    free(text);
    return 0;
}
