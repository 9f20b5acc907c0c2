/* benchgen.c - payloads of `spill bench`: seeded generators (JSON records, logs, source
 * code, prose, CJK text, a binary image) and the tools/call result built around a
 * payload. Everything streams through fixed buffers, so a 10 GB payload costs the
 * same memory as a 1 MB one. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* ---- PRNG: xoshiro256** seeded by splitmix64; our own, so a seed gives the same
 * bytes on every platform and libc. ---- */

typedef struct rng { uint64_t s[4]; } rng;

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&seed);
}

static uint64_t rnd(rng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5, res = ((x << 7) | (x >> 57)) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return res;
}

/* Uniform in [0, n) by multiply-shift (no modulo bias worth the name at these n). */
static unsigned below(rng *r, unsigned n) { return (unsigned)(((rnd(r) >> 32) * n) >> 32); }
/* Skewed towards 0, as word frequencies are: real text compresses like this. */
static unsigned zipfish(rng *r, unsigned n) { return below(r, n) * below(r, n) / n; }

static const char *const words[] = {
    "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be",
    "by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have",
    "an", "had", "they", "you", "were", "their", "one", "all", "we", "can", "her", "has",
    "there", "been", "if", "more", "when", "will", "would", "who", "so", "no", "time", "server",
    "request", "response", "output", "result", "agent", "context", "token", "window", "file",
    "store", "object", "stream", "frame", "level", "buffer", "memory", "thread", "process",
    "network", "latency", "throughput", "compression", "index", "record", "value", "error",
    "warning", "connection", "session", "client", "message", "payload", "handle", "preview",
    "system", "between", "through", "without", "because", "however", "several", "important",
    "different", "following", "example", "configuration", "performance", "operator", "machine",
    "measure", "benchmark", "careful", "quickly", "slowly", "large", "small", "every", "never",
    "always", "sometimes", "often", "under", "above", "before", "after", "during", "until",
    "river", "mountain", "city", "garden", "morning", "evening", "history", "language", "music",
    "people", "government", "company", "market", "question", "answer", "problem", "solution",
};
enum { NWORDS = sizeof words / sizeof words[0] };
static const char *const levels[] = {"INFO ", "INFO ", "INFO ", "DEBUG", "DEBUG", "WARN ", "ERROR"};
static const char *const services[] = {"api", "db", "auth", "cache", "worker", "gateway", "billing"};
static const char *const types[] = {"int", "size_t", "uint64_t", "const char *", "double", "void *"};

/* Each generator writes one record (a line or a few) of at most REC_MAX bytes. */
enum { REC_MAX = 2048 };

static size_t put(char *o, const char *s)
{
    size_t n = strlen(s);
    memcpy(o, s, n);
    return n;
}

static size_t sentence(rng *r, char *o, unsigned nw)
{
    size_t n = 0;
    for (unsigned i = 0; i < nw; i++) {
        if (i)
            o[n++] = ' ';
        n += put(o + n, words[zipfish(r, NWORDS)]);
    }
    o[0] = (char)(o[0] - 'a' + 'A'); /* every word starts with a lowercase letter */
    o[n++] = '.';
    return n;
}

static size_t gen_json(rng *r, char *o, uint64_t i)
{
    size_t n = (size_t)sprintf(o, "%s{\"id\":%llu,\"user\":\"%s_%s%u\",\"email\":\"%s%u@example.com\","
                                  "\"score\":%u.%02u,\"active\":%s,\"created\":\"2026-%02u-%02uT%02u:%02u:%02uZ\","
                                  "\"tags\":[\"%s\",\"%s\"],\"note\":\"",
                               i ? ",\n" : "", (unsigned long long)i + 1, words[zipfish(r, NWORDS)],
                               words[below(r, NWORDS)], below(r, 1000), words[below(r, NWORDS)],
                               below(r, 100), below(r, 1000), below(r, 100), below(r, 2) ? "true" : "false",
                               1 + below(r, 12), 1 + below(r, 28), below(r, 24), below(r, 60), below(r, 60),
                               words[zipfish(r, NWORDS)], words[zipfish(r, NWORDS)]);
    n += sentence(r, o + n, 4 + below(r, 12));
    n += put(o + n, "\"}");
    return n;
}

static size_t gen_logs(rng *r, char *o, uint64_t i)
{
    size_t n = (size_t)sprintf(o, "2026-11-27T%02u:%02u:%02u.%03u %s [%s] ", (unsigned)(i / 3600000) % 24,
                               (unsigned)(i / 60000) % 60, (unsigned)(i / 1000) % 60, (unsigned)(i % 1000),
                               levels[below(r, 7)], services[below(r, 7)]);
    if (below(r, 3) == 0) {
        n += sentence(r, o + n, 3 + below(r, 10));
        o[n++] = '\n';
    } else
        n += (size_t)sprintf(o + n, "request %llu %s took %ums status=%u bytes=%u\n",
                             (unsigned long long)(rnd(r) >> 40), words[zipfish(r, NWORDS)],
                             below(r, 3000), below(r, 4) ? 200 : 500, below(r, 1 << 20));
    return n;
}

static size_t gen_code(rng *r, char *o, uint64_t i)
{
    const char *a = words[zipfish(r, NWORDS)], *b = words[below(r, NWORDS)];
    size_t n = (size_t)sprintf(o, "/* %s_%s: ", a, b);
    n += sentence(r, o + n, 5 + below(r, 8));
    n += (size_t)sprintf(o + n, " */\nstatic %s %s_%s_%llu(%s %s, %s n)\n{\n", types[below(r, 6)], a, b,
                         (unsigned long long)i, types[below(r, 6)], words[zipfish(r, NWORDS)], types[below(r, 3)]);
    for (unsigned k = 0, m = 2 + below(r, 6); k < m; k++) {
        const char *v = words[zipfish(r, NWORDS)];
        switch (below(r, 3)) {
        case 0: n += (size_t)sprintf(o + n, "    if (%s > %u)\n        return %s_%u(n - 1);\n", v,
                                     below(r, 4096), words[below(r, NWORDS)], below(r, 100)); break;
        case 1: n += (size_t)sprintf(o + n, "    for (size_t i = 0; i < n; i++)\n        %s[i] += %u;\n", v,
                                     below(r, 64)); break;
        default: n += (size_t)sprintf(o + n, "    %s = %s(%s, %u);\n", v, words[zipfish(r, NWORDS)],
                                      words[below(r, NWORDS)], below(r, 1000)); break;
        }
    }
    n += put(o + n, "    return 0;\n}\n\n");
    return n;
}

static size_t gen_prose(rng *r, char *o, uint64_t i)
{
    (void)i;
    size_t n = 0;
    for (unsigned k = 0, m = 2 + below(r, 5); k < m; k++) {
        n += sentence(r, o + n, 6 + below(r, 16));
        o[n++] = ' ';
    }
    o[n - 1] = '\n';
    if (below(r, 4) == 0)
        o[n++] = '\n';
    return n;
}

static size_t utf8_3(char *o, unsigned cp)
{
    o[0] = (char)(0xe0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
}

/* Chinese-like runs of common ideographs with Japanese kana between them. */
static size_t gen_cjk(rng *r, char *o, uint64_t i)
{
    (void)i;
    size_t n = 0;
    for (unsigned k = 0, m = 2 + below(r, 4); k < m; k++) {
        for (unsigned c = 0, len = 6 + below(r, 20); c < len; c++) {
            unsigned cp = below(r, 5) == 0 ? 0x3041 + below(r, 83) : 0x4e00 + zipfish(r, 3000);
            n += utf8_3(o + n, cp);
        }
        n += utf8_3(o + n, below(r, 3) ? 0x3002 : 0xff0c); /* 。 or ， */
    }
    o[n++] = '\n';
    return n;
}

/* A grayscale image: smooth gradients with noise, the rows of a PGM. */
static size_t gen_image(rng *r, char *o, uint64_t i)
{
    enum { W = 1024 };
    size_t n = 0;
    if (i == 0)
        n = (size_t)sprintf(o, "P5\n%u %u\n255\n", W, 1u << 20);
    for (unsigned x = 0; x < W; x++) {
        unsigned v = (x / 4 + (unsigned)i * 3) & 0xff;
        o[n++] = (char)(below(r, 8) ? v : (v ^ below(r, 256)));
    }
    return n;
}

typedef size_t (*gen_fn)(rng *, char *, uint64_t);
static const struct { const char *name; gen_fn fn; } kinds[] = {
    {"json", gen_json}, {"logs", gen_logs}, {"code", gen_code}, {"prose", gen_prose},
    {"cjk", gen_cjk}, {"base64", gen_image}, {"mix", NULL},
};

static gen_fn kind_fn(const char *kind)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(kind, kinds[i].name))
            return kinds[i].fn;
    return NULL;
}

int bench_gen_kind_ok(const char *kind)
{
    return kind && (kind_fn(kind) || !strcmp(kind, "mix"));
}

/* mix: text kinds in blocks of 64 records, as a log with embedded documents would be. */
static size_t gen_mix(rng *r, char *o, uint64_t i)
{
    static const gen_fn text[] = {gen_logs, gen_json, gen_code, gen_prose, gen_cjk};
    gen_fn f = text[(i / 64) % 5];
    if (f != gen_json)
        return f(r, o, i);
    size_t n = gen_json(r, o, 0);
    o[n++] = '\n';
    return n;
}

int bench_gen_write(const char *kind, uint64_t size, uint64_t seed, int fd)
{
    gen_fn fn = !strcmp(kind, "mix") ? gen_mix : kind_fn(kind);
    if (!fn)
        return SPILL_E_INVAL;
    /* A JSON payload stays a valid document: records stop FINAL bytes before the
     * size, and a last record padded to the exact size closes the array. */
    const int is_json = fn == gen_json && size >= 64;
    enum { BUF = 1 << 20, FINAL = REC_MAX + 64 };
    char *buf = malloc(BUF + 2 * REC_MAX + 128);
    if (!buf)
        return SPILL_E_NOMEM;
    rng r;
    rng_seed(&r, seed);
    uint64_t left = size, rec = 0;
    size_t n = is_json ? (size_t)sprintf(buf, "[\n") : 0;
    int rc = 0;
    while (left > 0 && rc == 0) {
        while (n < BUF && (!is_json || left - n > FINAL))
            n += fn(&r, buf + n, rec++);
        if (is_json && left - n <= FINAL) {
            const char *sep = rec ? ",\n" : "";
            size_t pad = (size_t)(left - n) - 13 - strlen(sep);
            n += (size_t)sprintf(buf + n, "%s{\"end\":\"", sep);
            memset(buf + n, 'x', pad);
            n += pad;
            n += (size_t)sprintf(buf + n, "\"}\n]\n");
        }
        size_t out = n < left ? n : (size_t)left;
        rc = cli_write_all(fd, buf, out);
        left -= out;
        n = 0;
    }
    free(buf);
    return rc;
}

/* ---- survey and the tools/call result ---- */

/* Incremental UTF-8 check (RFC 3629 ranges): a payload is text only if all of it is. */
typedef struct u8check { int need; unsigned char lo, hi; } u8check;

static int u8_ok(u8check *v, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned c = p[i];
        if (v->need) {
            if (c < v->lo || c > v->hi)
                return 0;
            v->lo = 0x80, v->hi = 0xbf, v->need--;
        } else if (c >= 0x80) {
            if (c >= 0xc2 && c <= 0xdf) v->need = 1, v->lo = 0x80, v->hi = 0xbf;
            else if (c >= 0xe0 && c <= 0xef)
                v->need = 2, v->lo = c == 0xe0 ? 0xa0 : 0x80, v->hi = c == 0xed ? 0x9f : 0xbf;
            else if (c >= 0xf0 && c <= 0xf4)
                v->need = 3, v->lo = c == 0xf0 ? 0x90 : 0x80, v->hi = c == 0xf4 ? 0x8f : 0xbf;
            else
                return 0;
        } else if (c == 0)
            return 0;
    }
    return 1;
}

static const char *sniff_mime(const unsigned char *p, size_t n)
{
    if (n >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8)) return "image/png";
    if (n >= 3 && !memcmp(p, "\xff\xd8\xff", 3)) return "image/jpeg";
    if (n >= 4 && !memcmp(p, "GIF8", 4)) return "image/gif";
    if (n >= 3 && !memcmp(p, "P5\n", 3)) return "image/x-portable-graymap";
    return "application/octet-stream";
}

typedef struct wbuf { int fd; char *p; size_t n, cap; int rc; } wbuf;

static void wb_flush(wbuf *w)
{
    if (w->n && w->rc == 0)
        w->rc = cli_write_all(w->fd, w->p, w->n);
    w->n = 0;
}

static void wb_put(wbuf *w, const char *s, size_t n)
{
    if (w->n + n > w->cap)
        wb_flush(w);
    memcpy(w->p + w->n, s, n);
    w->n += n;
}

/* Text as a JSON string body; the survey found it valid UTF-8, so only quotes,
 * backslashes and control characters need escaping. */
static void put_escaped(wbuf *w, const unsigned char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = p[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        wb_put(w, (const char *)p + run, i - run);
        run = i + 1;
        char e[6] = {'\\', (char)c, 0, 0, 0, 0};
        size_t k = 2;
        if (c == '\n') e[1] = 'n';
        else if (c == '\t') e[1] = 't';
        else if (c == '\r') e[1] = 'r';
        else if (c < 0x20) e[1] = 'u', e[2] = '0', e[3] = '0', e[4] = hex[c >> 4], e[5] = hex[c & 15], k = 6;
        wb_put(w, e, k);
    }
    wb_put(w, (const char *)p + run, n - run);
}

static void put_base64(wbuf *w, const unsigned char *p, size_t n, unsigned char carry[3], size_t *nc,
                       int final)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i++) {
        carry[(*nc)++] = p[i];
        if (*nc == 3) {
            char q[4] = {b64[carry[0] >> 2], b64[(carry[0] & 3) << 4 | carry[1] >> 4],
                         b64[(carry[1] & 15) << 2 | carry[2] >> 6], b64[carry[2] & 63]};
            wb_put(w, q, 4);
            *nc = 0;
        }
    }
    if (final && *nc) {
        unsigned char c1 = *nc > 1 ? carry[1] : 0;
        char q[4] = {b64[carry[0] >> 2], b64[(carry[0] & 3) << 4 | c1 >> 4],
                     *nc > 1 ? b64[(c1 & 15) << 2] : '=', '='};
        wb_put(w, q, 4);
    }
}

/* Reads the whole file through fn(ud, chunk, n). */
static int each_chunk(const char *path, int (*fn)(void *, const unsigned char *, size_t), void *ud)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    enum { BUF = 1 << 20 };
    unsigned char *buf = malloc(BUF);
    int rc = buf ? 0 : SPILL_E_NOMEM;
    while (rc == 0) {
        ssize_t n = read(fd, buf, BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = -errno;
        if (n <= 0)
            break;
        rc = fn(ud, buf, (size_t)n);
    }
    free(buf);
    close(fd);
    return rc;
}

typedef struct survey { bench_payload *p; u8check u8; int text; unsigned char head[16]; size_t nhead, last; } survey;

static int survey_chunk(void *ud, const unsigned char *b, size_t n)
{
    survey *s = ud;
    if (s->nhead < sizeof s->head) {
        size_t k = n < sizeof s->head - s->nhead ? n : sizeof s->head - s->nhead;
        memcpy(s->head + s->nhead, b, k);
        s->nhead += k;
    }
    if (s->text)
        s->text = u8_ok(&s->u8, b, n);
    for (const unsigned char *q = b; (q = memchr(q, '\n', (size_t)(b + n - q))) != NULL; q++)
        s->p->lines++;
    s->p->bytes += n;
    s->last = b[n - 1];
    return 0;
}

typedef struct wrapper { wbuf w; int binary; unsigned char carry[3]; size_t nc; } wrapper;

static int wrap_chunk(void *ud, const unsigned char *b, size_t n)
{
    wrapper *x = ud;
    if (x->binary)
        put_base64(&x->w, b, n, x->carry, &x->nc, 0);
    else
        put_escaped(&x->w, b, n);
    return x->w.rc;
}

int bench_payload_prepare(bench_payload *p, const char *msg_path)
{
    survey s = {.p = p, .text = 1};
    p->bytes = p->lines = 0;
    int rc = each_chunk(p->path, survey_chunk, &s);
    if (rc)
        return rc;
    if (p->bytes && s.last != '\n')
        p->lines++;
    p->binary = !(s.text && s.u8.need == 0);
    snprintf(p->mime, sizeof p->mime, "%s", p->binary ? sniff_mime(s.head, s.nhead) : "text/plain");
    snprintf(p->msg, sizeof p->msg, "%s", msg_path);

    wrapper x = {.binary = p->binary};
    x.w.fd = open(msg_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (x.w.fd < 0)
        return -errno;
    x.w.cap = 1 << 20;
    if (!(x.w.p = malloc(x.w.cap))) {
        close(x.w.fd);
        return SPILL_E_NOMEM;
    }
    const char *head = p->binary ? ",\"result\":{\"content\":[{\"type\":\"image\",\"data\":\""
                                 : ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"";
    wb_put(&x.w, head, strlen(head));
    rc = each_chunk(p->path, wrap_chunk, &x);
    if (p->binary) {
        put_base64(&x.w, NULL, 0, x.carry, &x.nc, 1);
        char tail[128];
        snprintf(tail, sizeof tail, "\",\"mimeType\":\"%s\"}]}}\n", p->mime);
        wb_put(&x.w, tail, strlen(tail));
    } else
        wb_put(&x.w, "\"}]}}\n", 6);
    wb_flush(&x.w);
    if (rc == 0)
        rc = x.w.rc;
    off_t end = lseek(x.w.fd, 0, SEEK_END);
    p->msg_bytes = end > 0 ? (uint64_t)end : 0;
    free(x.w.p);
    if (close(x.w.fd) && rc == 0)
        rc = -errno;
    return rc;
}
