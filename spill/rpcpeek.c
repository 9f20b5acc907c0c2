/* rpcpeek.c - a tolerant look at the top level of a JSON-RPC request line (see rpcpeek.h).
 * Only indexes move: nothing is allocated, nothing recurses, every loop ends at n. */
#define _GNU_SOURCE
#include <string.h>
#include <strings.h>

#include "mcptools.h"
#include "rpcpeek.h"

static size_t ws(const char *p, size_t i, size_t n)
{
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    return i;
}

/* From an opening quote to just after the closing one (n if cut). */
static size_t skip_string(const char *p, size_t i, size_t n)
{
    for (i++; i < n; i++) {
        if (p[i] == '\\')
            i++;
        else if (p[i] == '"')
            return i + 1;
    }
    return n;
}

/* Past one value starting at i (n if cut). Containers are skipped by counting brackets
 * outside strings, so nesting depth costs nothing. */
static size_t skip_value(const char *p, size_t i, size_t n)
{
    if (i >= n)
        return n;
    if (p[i] == '"')
        return skip_string(p, i, n);
    if (p[i] == '{' || p[i] == '[') {
        size_t depth = 0;
        while (i < n) {
            char c = p[i];
            if (c == '"') {
                i = skip_string(p, i, n);
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if ((c == '}' || c == ']') && --depth == 0)
                return i + 1;
            i++;
        }
        return n;
    }
    while (i < n && !strchr(",}] \t\r\n", p[i]))
        i++;
    return i;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void put(char *out, size_t cap, size_t *len, unsigned char c)
{
    if (*len < cap)
        out[*len] = (char)c;
    (*len)++;
}

/* Decodes the string at p[i] == '"' into out (cap bytes kept, *len the whole decoded length);
 * returns the index after it. A lone surrogate becomes U+FFFD, as a reader that tolerates
 * it would show it. */
static size_t decode(const char *p, size_t i, size_t n, char *out, size_t cap, size_t *len)
{
    *len = 0;
    for (i++; i < n && p[i] != '"'; i++) {
        if (p[i] != '\\') {
            put(out, cap, len, (unsigned char)p[i]);
            continue;
        }
        if (++i >= n)
            break;
        const char *esc = strchr("\"\\/bfnrt", p[i]);
        if (esc && p[i]) {
            put(out, cap, len, (unsigned char)"\"\\/\b\f\n\r\t"[esc - "\"\\/bfnrt"]);
            continue;
        }
        if (p[i] != 'u' || i + 4 >= n)
            continue;
        unsigned cp = 0;
        int bad = 0;
        for (int k = 1; k <= 4; k++)
            bad |= hexval(p[i + k]) < 0, cp = cp << 4 | (unsigned)(hexval(p[i + k]) & 15);
        i += 4;
        if (bad)
            continue;
        if (cp >= 0xd800 && cp <= 0xdbff && i + 6 < n && p[i + 1] == '\\' && p[i + 2] == 'u') {
            unsigned lo = 0;
            for (int k = 3; k <= 6; k++)
                lo = lo << 4 | (unsigned)(hexval(p[i + k]) & 15);
            if (lo >= 0xdc00 && lo <= 0xdfff)
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00), i += 6;
        }
        if (cp >= 0xd800 && cp <= 0xdfff)
            cp = 0xfffd;
        if (cp < 0x80) {
            put(out, cap, len, (unsigned char)cp);
        } else if (cp < 0x800) {
            put(out, cap, len, (unsigned char)(0xc0 | cp >> 6));
            put(out, cap, len, (unsigned char)(0x80 | (cp & 63)));
        } else if (cp < 0x10000) {
            put(out, cap, len, (unsigned char)(0xe0 | cp >> 12));
            put(out, cap, len, (unsigned char)(0x80 | (cp >> 6 & 63)));
            put(out, cap, len, (unsigned char)(0x80 | (cp & 63)));
        } else {
            put(out, cap, len, (unsigned char)(0xf0 | cp >> 18));
            put(out, cap, len, (unsigned char)(0x80 | (cp >> 12 & 63)));
            put(out, cap, len, (unsigned char)(0x80 | (cp >> 6 & 63)));
            put(out, cap, len, (unsigned char)(0x80 | (cp & 63)));
        }
    }
    return i < n ? i + 1 : n;
}

static int key_is(const char *k, size_t klen, const char *want)
{
    return klen == strlen(want) && !memcmp(k, want, klen);
}

/* Walks the members of the object at p[i] == '{'; for each calls back with the decoded key
 * and the value's span. Returns the index after the object, or BAD if cut or malformed. */
#define BAD ((size_t)-1)
typedef void (*member_fn)(spill__rpc_peek *pk, const char *key, size_t klen, const char *p, size_t v, size_t e);
static size_t members(const char *p, size_t i, size_t n, spill__rpc_peek *pk, member_fn fn)
{
    i = ws(p, i + 1, n);
    if (i < n && p[i] == '}')
        return i + 1;
    while (i < n && p[i] == '"') {
        char key[16];
        size_t klen;
        i = ws(p, decode(p, i, n, key, sizeof key, &klen), n);
        if (i >= n || p[i] != ':')
            return BAD;
        size_t v = ws(p, i + 1, n), e = skip_value(p, v, n);
        if (v >= n)
            return BAD;
        fn(pk, key, klen, p, v, e);
        i = ws(p, e, n);
        if (i < n && p[i] == '}')
            return i + 1;
        if (i >= n || p[i] != ',')
            return BAD;
        i = ws(p, i + 1, n);
    }
    return BAD;
}

static void param_member(spill__rpc_peek *pk, const char *key, size_t klen, const char *p, size_t v, size_t e)
{
    (void)e;
    if (p[v] != '"')
        return;
    if (key_is(key, klen, "name")) {
        pk->has_name = 1, decode(p, v, e, pk->name, sizeof pk->name - 1, &pk->name_len);
        pk->name[pk->name_len < sizeof pk->name ? pk->name_len : sizeof pk->name - 1] = 0;
    } else if (key_is(key, klen, "uri")) {
        pk->has_uri = 1, decode(p, v, e, pk->uri, sizeof pk->uri, &pk->uri_len);
    }
}

static void top_member(spill__rpc_peek *pk, const char *key, size_t klen, const char *p, size_t v, size_t e)
{
    if (key_is(key, klen, "id")) {
        char c = p[v];
        int closed = e > v && (c == '"' ? e - v >= 2 && p[e - 1] == '"' : c == '{' ? p[e - 1] == '}' : c == '[' ? p[e - 1] == ']' : 1);
        pk->id = p + v, pk->id_len = e - v;
        pk->id_type = !closed ? '?' : c == '"' ? 's' : c == '{' ? 'o' : c == '[' ? 'a' : c == 'n' ? 'z'
                    : c == 't' || c == 'f' ? 'b' : c == '-' || (c >= '0' && c <= '9') ? 'n' : '?';
    } else if (key_is(key, klen, "method") && p[v] == '"') {
        pk->has_method = 1, decode(p, v, e, pk->method, sizeof pk->method, &pk->method_len);
    } else if (key_is(key, klen, "params") && p[v] == '{') {
        members(p, v, e, pk, param_member);
    }
}

void spill__rpc_peek_scan(const char *p, size_t n, spill__rpc_peek *pk)
{
    memset(pk, 0, sizeof *pk);
    size_t i = ws(p, 0, n), e;
    if (i >= n)
        return;
    if (p[i] == '{') {
        pk->kind = '{';
        e = members(p, i, n, pk, top_member);
        pk->complete = e != BAD && ws(p, e, n) == n;
    } else if (p[i] == '[') {
        pk->kind = '[';
        pk->complete = spill__rpc_elems(p, n, NULL, NULL, 0) >= 0;
    }
}

int spill__rpc_elems(const char *p, size_t n, const char **start, size_t *len, int max)
{
    size_t i = ws(p, 0, n);
    int k = 0;
    if (i >= n || p[i] != '[')
        return -1;
    i = ws(p, i + 1, n);
    if (i < n && p[i] == ']')
        return 0;
    while (i < n) {
        size_t e = skip_value(p, i, n);
        if (e >= n)
            return -1;
        if (k < max)
            start[k] = p + i, len[k] = e - i;
        k++;
        i = ws(p, e, n);
        if (i < n && p[i] == ']')
            return k < max ? k : max;
        if (i >= n || p[i] != ',')
            return -1;
        i = ws(p, i + 1, n);
    }
    return -1;
}

int spill__rpc_peek_is_local(const spill__rpc_peek *pk)
{
    if (!pk->has_method)
        return 0;
    if (pk->method_len == 10 && !memcmp(pk->method, "tools/call", 10))
        return pk->has_name && pk->name_len < sizeof pk->name && !memchr(pk->name, 0, pk->name_len) &&
               spill_mcp_is_tool(pk->name);
    if (pk->method_len == 14 && !memcmp(pk->method, "resources/read", 14))
        return pk->has_uri && pk->uri_len >= 8 && !strncasecmp(pk->uri, "spill://", 8);
    return 0;
}
