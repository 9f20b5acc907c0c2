/* preview.c - head/tail/line counts and JSON shape of a payload, the handle text,
 * and streaming base64. See preview.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "preview.h"
#include "utf8.h"

/* ---- text buffer ---- */

int spill__buf_put(spill__buf *b, const void *p, size_t n)
{
    if (b->oom || b->full)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > b->max)
            cap = b->max;
        if (b->len + n + 1 > cap) {
            b->full = 1; /* over the hard cap */
            return -1;
        }
        char *q = b->realloc(b->ctx, b->p, cap);
        if (!q) {
            b->oom = 1;
            return -1;
        }
        b->p = q;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}

int spill__buf_printf(spill__buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    return spill__buf_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

int spill__buf_json(spill__buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (spill__buf_put(b, "\"", 1))
        return -1;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (spill__buf_put(b, s + run, i - run))
            return -1;
        char esc[7] = {'\\', 0};
        size_t k = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
            esc[4] = hex[c >> 4]; esc[5] = hex[c & 15];
            k = 6;
        }
        if (spill__buf_put(b, esc, k))
            return -1;
        run = i + 1;
    }
    if (spill__buf_put(b, s + run, n - run))
        return -1;
    return spill__buf_put(b, "\"", 1);
}

/* ---- shape ---- */

static size_t utf8_cut_tail(const unsigned char *p, size_t n);

/* Copies a key's name, cut to fit at a character's end. */
static void key_name(char dst[SPILL__SHAPE_NAME], const spill__scan_ev *ev)
{
    size_t n = ev->n < SPILL__SHAPE_NAME - 1 ? ev->n : SPILL__SHAPE_NAME - 1;
    if (n < ev->n)
        n -= utf8_cut_tail((const unsigned char *)ev->s, n);
    memcpy(dst, ev->s, n);
    dst[n] = 0;
}

static char type_of(spill__tok t)
{
    switch (t) {
    case SPILL__TOK_OBJ_BEGIN: return 'o';
    case SPILL__TOK_ARR_BEGIN: return 'a';
    case SPILL__TOK_STR_BEGIN: return 's';
    case SPILL__TOK_NUMBER: return 'n';
    case SPILL__TOK_TRUE: case SPILL__TOK_FALSE: return 'b';
    case SPILL__TOK_NULL: return 'z';
    default: return 0;
    }
}

static int is_value_end(spill__tok t)
{
    return t == SPILL__TOK_OBJ_END || t == SPILL__TOK_ARR_END || t == SPILL__TOK_STR_END ||
           t == SPILL__TOK_NUMBER || t == SPILL__TOK_TRUE || t == SPILL__TOK_FALSE ||
           t == SPILL__TOK_NULL;
}

static void sample_begin(spill__shape *s, uint64_t off)
{
    s->sample_state = 1;
    s->sample_off = off;
    s->sample_end = UINT64_MAX;
}

static int shape_cb(void *ud, const spill__scan_ev *ev)
{
    spill__shape *s = ud;
    char t = type_of(ev->tok);
    if (ev->depth == 0 && t)
        s->top = t;
    if (s->top == 'o') {
        if (ev->tok == SPILL__TOK_KEY && ev->depth == 1) {
            s->top_count++;
            if (s->nkeys < SPILL__SHAPE_KEYS) {
                key_name(s->keys[s->nkeys].name, ev);
                s->keys[s->nkeys].type = 0;
                s->keys[s->nkeys].count = 0;
                s->nkeys++;
            }
        } else if (t && ev->depth == 1 && s->nkeys && s->keys[s->nkeys - 1].type == 0 &&
                   s->top_count == (uint64_t)s->nkeys) {
            s->keys[s->nkeys - 1].type = t;
            if (t == 'a')
                s->arr_key = s->nkeys - 1;
        } else if (t && ev->depth == 2 && s->arr_key >= 0) {
            s->keys[s->arr_key].count++;
            if (s->sample_state == 0) {
                snprintf(s->sample_path, sizeof s->sample_path, "%s[0]", s->keys[s->arr_key].name);
                sample_begin(s, ev->off);
            }
        } else if (ev->tok == SPILL__TOK_ARR_END && ev->depth == 1) {
            s->arr_key = -1;
        }
    } else if (s->top == 'a') {
        if (t && ev->depth == 1) {
            if (s->top_count++ == 0) {
                s->elem_type = t;
                snprintf(s->sample_path, sizeof s->sample_path, "[0]");
                sample_begin(s, ev->off);
            }
        } else if (ev->tok == SPILL__TOK_KEY && ev->depth == 2 && s->top_count == 1 &&
                   s->nkeys < SPILL__SHAPE_KEYS) {
            key_name(s->keys[s->nkeys].name, ev);
            s->nkeys++;
        }
    }
    int sample_depth = s->top == 'a' ? 1 : 2;
    if (s->sample_state == 1 && is_value_end(ev->tok) && ev->depth == sample_depth &&
        s->sample_end == UINT64_MAX)
        s->sample_end = ev->end;
    return 0;
}

static void shape_feed(spill__shape *s, const unsigned char *p, size_t n)
{
    if (s->state != 0)
        return;
    s->base = s->sc.pos;
    int rc = spill__scan_feed(&s->sc, p, n, shape_cb, s, NULL);
    if (rc < 0) {
        s->state = -1;
        return;
    }
    if (s->sample_state == 1) {
        uint64_t from = s->sample_off > s->base ? s->sample_off : s->base;
        uint64_t to = s->sample_end < s->base + n ? s->sample_end : s->base + n;
        if (to > from) {
            size_t k = (size_t)(to - from), room = sizeof s->sample - s->sample_len;
            if (k > room) {
                k = room;
                s->sample_cut = 1;
            }
            memcpy(s->sample + s->sample_len, p + (from - s->base), k);
            s->sample_len += k;
        }
        if (s->sample_end != UINT64_MAX || s->sample_len == sizeof s->sample) {
            s->sample_cut |= s->sample_end == UINT64_MAX;
            s->sample_state = 2;
        }
    }
}

/* ---- preview ---- */

void spill__preview_init(spill__preview *p, unsigned char *head, size_t head_cap,
                         unsigned char *tail, size_t tail_cap, int json)
{
    memset(p, 0, sizeof *p);
    p->head = head;
    p->head_cap = head_cap;
    p->tail = tail;
    p->tail_cap = tail_cap;
    p->json = json;
    p->last = '\n';
    spill__scan_init(&p->shape.sc);
    p->shape.arr_key = -1;
}

/* Newlines in p[0..n) (a head or tail preview). */
static size_t count_nl(const unsigned char *p, size_t n)
{
    size_t k = 0, i = 0;
#if defined(__SSE2__)
    /* Byte lanes count matches (a match is -1, subtracted) for up to 255 vectors,
     * then psadbw sums the lanes: no popcount instruction needed at -O2. */
    const __m128i nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
    while (n - i >= 16) {
        __m128i acc = zero;
        for (int round = 0; round < 255 && n - i >= 16; round++, i += 16) {
            const __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(x, nl));
        }
        const __m128i sum = _mm_sad_epu8(acc, zero);
        k += (size_t)_mm_cvtsi128_si32(sum) + (size_t)_mm_cvtsi128_si32(_mm_srli_si128(sum, 8));
    }
#endif
    for (; i < n; i++)
        k += p[i] == '\n';
    return k;
}

void spill__preview_feed(spill__preview *p, const void *data, size_t n)
{
    const unsigned char *b = data;
    if (n == 0)
        return;
    if (p->head_len < p->head_cap) {
        size_t k = p->head_cap - p->head_len < n ? p->head_cap - p->head_len : n;
        memcpy(p->head + p->head_len, b, k);
        p->head_len += k;
    }
    /* Tail ring: only the last tail_cap bytes matter. */
    if (p->tail_cap) {
        const unsigned char *q = b;
        size_t m = n;
        if (m > p->tail_cap) {
            q += m - p->tail_cap;
            m = p->tail_cap;
        }
        while (m) {
            size_t k = p->tail_cap - p->tail_pos < m ? p->tail_cap - p->tail_pos : m;
            memcpy(p->tail + p->tail_pos, q, k);
            p->tail_pos = (p->tail_pos + k) % p->tail_cap;
            q += k;
            m -= k;
        }
        p->tail_len = p->tail_len + n > p->tail_cap ? p->tail_cap : p->tail_len + n;
    }
    p->last = b[n - 1];
    p->bytes += n;
    if (p->json)
        shape_feed(&p->shape, b, n);
}

void spill__preview_finish(spill__preview *p)
{
    /* Unroll the ring so the tail reads in order. */
    if (p->tail_len == p->tail_cap && p->tail_pos) {
        unsigned char tmp[256];
        for (size_t done = 0; done < p->tail_pos;) { /* rotate left by tail_pos, in slices */
            size_t k = p->tail_pos - done < sizeof tmp ? p->tail_pos - done : sizeof tmp;
            memcpy(tmp, p->tail, k);
            memmove(p->tail, p->tail + k, p->tail_cap - k);
            memcpy(p->tail + p->tail_cap - k, tmp, k);
            done += k;
        }
        p->tail_pos = 0;
    }
    if (p->json && p->shape.state == 0) {
        uint64_t off;
        p->shape.state = spill__scan_finish(&p->shape.sc, shape_cb, &p->shape, &off) == 1 ? 1 : -1;
    }
}

/* ---- handle text ---- */

static const char *num(uint64_t v, char buf[32])
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v), o = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
    return buf;
}

/* ---- the server's bytes in the handle: valid UTF-8 only ---- */

/* Length (1..4) of the well-formed UTF-8 sequence at p[0..n), 0 if there is none (one
 * cut at n is none here: the bytes are all there are). */
static size_t u8_seq(const unsigned char *p, size_t n)
{
    const int k = spill__u8_seq(p, n);
    return k > 0 ? (size_t)k : 0;
}

/* Appends p[0..n) with each byte that is not part of well-formed UTF-8 as U+FFFD, as
 * spill_read shows them; *bad counts those bytes. A server's bytes never reach the
 * agent as they are: its client (and jansson) may reject invalid UTF-8. */
static int put_clean(spill__buf *b, const void *data, size_t n, uint64_t *bad)
{
    const unsigned char *p = data;
    size_t run = 0, i = 0;
    int rc = 0;
    while (i < n) {
        const size_t k = u8_seq(p + i, n - i);
        if (k) {
            i += k;
            continue;
        }
        rc |= spill__buf_put(b, p + run, i - run);
        rc |= spill__buf_put(b, "\xef\xbf\xbd", 3);
        ++*bad;
        run = ++i;
    }
    rc |= spill__buf_put(b, p + run, n - run);
    return rc ? -1 : 0;
}

/* A NUL-terminated copy of s made valid as put_clean makes it, cut to fit (at a
 * character's end) into dst[0..cap); returns dst. */
static const char *clean_str(char *dst, size_t cap, const char *s, uint64_t *bad)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    const size_t n = strlen((const char *)p);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        const size_t k = u8_seq(p + i, n - i), m = k ? k : 3;
        if (o + m >= cap)
            break;
        memcpy(dst + o, k ? (const void *)(p + i) : "\xef\xbf\xbd", m);
        o += m;
        *bad += !k;
        i += k ? k : 1;
    }
    dst[o] = 0;
    return dst;
}

/* Bytes at the end of p[0..n) that start an unfinished UTF-8 sequence. */
static size_t utf8_cut_tail(const unsigned char *p, size_t n)
{
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        unsigned char c = p[n - back];
        if ((c & 0xc0) == 0x80)
            continue;
        size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        return len > back ? back : 0;
    }
    return 0;
}


static const char *type_name(char t)
{
    switch (t) {
    case 'o': return "object";
    case 'a': return "array";
    case 's': return "string";
    case 'n': return "number";
    case 'b': return "boolean";
    case 'z': return "null";
    default: return "value";
    }
}

static int shape_text(spill__buf *b, const spill__shape *s, uint64_t *bad)
{
    char n1[32], name[3 * SPILL__SHAPE_NAME + 8];
    int rc = 0;
    if (s->top == 'o') {
        rc |= spill__buf_printf(b, "shape: JSON object with %s key%s:", num(s->top_count, n1),
                                s->top_count == 1 ? "" : "s");
        for (int i = 0; i < s->nkeys; i++) {
            rc |= spill__buf_printf(b, "%s \"%s\" (%s", i ? "," : "",
                                    clean_str(name, sizeof name, s->keys[i].name, bad),
                                    type_name(s->keys[i].type));
            if (s->keys[i].type == 'a')
                rc |= spill__buf_printf(b, " of %s", num(s->keys[i].count, n1));
            rc |= spill__buf_put(b, ")", 1);
        }
        if (s->top_count > (uint64_t)s->nkeys)
            rc |= spill__buf_printf(b, ", ...");
    } else if (s->top == 'a') {
        rc |= spill__buf_printf(b, "shape: JSON array of %s", num(s->top_count, n1));
        if (s->top_count)
            rc |= spill__buf_printf(b, " (the first is %s %s)",
                                    s->elem_type == 'a' || s->elem_type == 'o' ? "an" : "a",
                                    type_name(s->elem_type));
        if (s->nkeys) {
            rc |= spill__buf_printf(b, "; keys of the first:");
            for (int i = 0; i < s->nkeys; i++)
                rc |= spill__buf_printf(b, "%s %s", i ? "," : "",
                                        clean_str(name, sizeof name, s->keys[i].name, bad));
        }
    } else {
        rc |= spill__buf_printf(b, "shape: a JSON %s", type_name(s->top));
    }
    rc |= spill__buf_put(b, "\n", 1);
    if (s->sample_len) {
        size_t n = s->sample_len - utf8_cut_tail((const unsigned char *)s->sample, s->sample_len);
        rc |= spill__buf_printf(b, "sample %s: ", clean_str(name, sizeof name, s->sample_path, bad));
        rc |= put_clean(b, s->sample, n, bad);
        rc |= spill__buf_printf(b, "%s\n", s->sample_cut ? " [...]" : "");
    }
    return rc ? -1 : 0;
}

/* Says how many bytes were shown as U+FFFD, as spill_read does, if any were. */
static int say_bad(spill__buf *b, uint64_t bad)
{
    char n1[32];
    if (!bad)
        return 0;
    return spill__buf_printf(b, "--- %s byte%s that %s not UTF-8 %s shown as U+FFFD (spill cat gives the "
                                "exact bytes) ---\n", num(bad, n1), bad == 1 ? "" : "s",
                             bad == 1 ? "is" : "are", bad == 1 ? "is" : "are");
}

int spill__handle_text(spill__buf *b, const spill__handle_in *in)
{
    const spill__preview *p = in->pv;
    char n1[32], n2[32], n3[32], n4[32];
    /* What came from the server (or client) is made valid UTF-8, and the handle says how
     * many bytes were not: 3 bytes out for each byte in, at most. */
    uint64_t bad = 0;
    char where[3 * 96 + 1], origin[3 * 300 + 1], mime[3 * 128 + 1], ouri[3 * 256 + 1], omime[3 * 128 + 1];
    clean_str(where, sizeof where, in->where, &bad);
    clean_str(origin, sizeof origin, in->origin, &bad);
    clean_str(mime, sizeof mime, in->mime, &bad);
    clean_str(ouri, sizeof ouri, in->orig_uri, &bad);
    clean_str(omime, sizeof omime, in->orig_mime, &bad);
    /* Lines come from the store, which counts them anyway (the line index): counting
     * here too cost a pass over every payload byte. Unknown after a store failure. */
    const int know_lines = !in->error;
    const uint64_t lines = in->lines, newlines = lines - (p->bytes && p->last != '\n');
    int rc = 0;
    if (in->error) {
        rc |= spill__buf_printf(b, "[spill] This output was too large for the context, and spill could "
                                   "not store it: %s. Only the preview below is left; ask the tool "
                                   "again (narrower, or once the store is fixed) for the rest. spill, "
                                   "not the server, shortened it.\n", in->error);
        rc |= spill__buf_printf(b, "size: %s bytes%s\n", num(p->bytes, n1), in->binary ? " of binary data" : "");
        if (*where)
            rc |= spill__buf_printf(b, "from: %s%s%s\n", where, *origin ? " of " : "", origin);
        goto preview;
    }
    rc |= spill__buf_printf(b, "[spill] This output was too large for the context, so spill stored "
                               "all of it and shows only a preview. Nothing was lost: read the rest "
                               "as shown below. spill, not the server, shortened it.\n");
    rc |= spill__buf_printf(b, "id: %s\n", in->id);
    if (in->binary)
        rc |= spill__buf_printf(b, "size: %s bytes of binary data (%s)\n", num(p->bytes, n1), mime);
    else
        rc |= spill__buf_printf(b, "size: %s bytes, %s lines, about %s tokens (%s); %s\n",
                                num(p->bytes, n1), num(lines, n2), num(in->tokens, n3), in->counter,
                                mime);
    if (*where)
        rc |= spill__buf_printf(b, "from: %s%s%s\n", where, *origin ? " of " : "", origin);
    if (*ouri) {
        rc |= spill__buf_printf(b, "resource: %s", ouri);
        rc |= spill__buf_printf(b, "%s%s\n", *omime ? " " : "", omime);
    }
    if (p->json && p->shape.state == 1)
        rc |= shape_text(b, &p->shape, &bad);
    rc |= spill__buf_printf(b, "read it:\n");
    if (in->binary) {
        rc |= spill__buf_printf(b, "  shell: spill cat %s > FILE   (the exact bytes)\n", in->id);
    } else {
        uint64_t page = 200;
        rc |= spill__buf_printf(b, "  tool spill_read {\"id\":\"%s\",\"lines\":\"1:%llu\"}   next: \"%llu:%llu\", ...\n",
                                in->id, (unsigned long long)page, (unsigned long long)page + 1,
                                (unsigned long long)page * 2);
        rc |= spill__buf_printf(b, "  tool spill_grep {\"id\":\"%s\",\"pattern\":\"REGEX\",\"context\":2}\n", in->id);
        if (p->json && p->shape.state == 1)
            rc |= spill__buf_printf(b, "  tool spill_jq {\"id\":\"%s\",\"filter\":\"JQ FILTER\"}\n", in->id);
        rc |= spill__buf_printf(b, "  shell: spill cat %s --lines 1:%llu; spill grep %s REGEX -C 2\n",
                                in->id, (unsigned long long)page, in->id);
    }
    if (in->view && *in->view)
        rc |= spill__buf_printf(b, "  file (plain text, for your own read/grep tools): %s\n", in->view);
    if (in->path && *in->path)
        rc |= spill__buf_printf(b, "  stored: %s (zstd-compressed; spill cat decompresses it)\n", in->path);
    rc |= spill__buf_printf(b, "  resource: spill://%s\n", in->id);
preview:
    if (in->binary || p->bytes == 0)
        return rc || say_bad(b, bad) ? -1 : 0;

    /* Head: cut at the last newline in its second half, else at a UTF-8 boundary. */
    size_t h = p->head_len;
    if (h < p->bytes) {
        const unsigned char *nl = NULL;
        for (size_t i = h; i > h / 2; i--)
            if (p->head[i - 1] == '\n') {
                nl = p->head + i;
                break;
            }
        h = nl ? (size_t)(nl - p->head) : h - utf8_cut_tail(p->head, h);
    }
    /* Tail: the bytes after the head, from a line start in its first half if any. */
    uint64_t tail_start = p->bytes - p->tail_len;
    size_t t_skip = 0;
    if (tail_start < h)
        t_skip = (size_t)(h - tail_start);
    else if (tail_start > h) {
        for (size_t i = 0; i < p->tail_len / 2; i++)
            if (p->tail[i] == '\n') {
                t_skip = i + 1;
                break;
            }
        for (int k = 0; k < 3 && t_skip < p->tail_len && (p->tail[t_skip] & 0xc0) == 0x80; k++)
            t_skip++; /* never start inside a UTF-8 sequence (more bytes like these are invalid) */
    }
    tail_start += t_skip;
    size_t t = p->tail_len - t_skip;
    uint64_t head_nl = count_nl(p->head, h), tail_nl = count_nl(p->tail + t_skip, t);
    rc |= spill__buf_printf(b, "--- preview: the first %s bytes ---\n", num(h, n1));
    rc |= put_clean(b, p->head, h, &bad);
    if (h && p->head[h - 1] != '\n')
        rc |= spill__buf_put(b, "\n", 1);
    uint64_t elided = tail_start - h;
    if (elided) {
        /* The line of the last elided byte: one past the newlines before it, unless that
         * byte is itself the newline that ends its line. */
        int prev_nl = t_skip ? p->tail[t_skip - 1] == '\n' : tail_start == h && h ? p->head[h - 1] == '\n' : 0;
        uint64_t first_line = 1 + head_nl, last_line = 1 + newlines - tail_nl - (uint64_t)prev_nl;
        if (know_lines)
            rc |= spill__buf_printf(b, "--- %s bytes elided by spill, not by the server (lines %s to %s of %s) ---\n",
                                    num(elided, n1), num(first_line, n2), num(last_line, n3), num(lines, n4));
        else
            rc |= spill__buf_printf(b, "--- %s bytes elided by spill, not by the server ---\n", num(elided, n1));
    }
    if (t) {
        rc |= spill__buf_printf(b, "--- preview: the last %s bytes ---\n", num(t, n1));
        rc |= put_clean(b, p->tail + t_skip, t, &bad);
        if (p->tail[t_skip + t - 1] != '\n')
            rc |= spill__buf_put(b, "\n", 1);
    }
    rc |= say_bad(b, bad);
    rc |= spill__buf_printf(b, "--- end of preview ---");
    return rc ? -1 : 0;
}

/* ---- base64 ---- */

static int b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

long spill__b64_decode(spill__b64 *b, const unsigned char *in, size_t n, unsigned char *out)
{
    long o = 0;
    if (b->bad)
        return -1;
    for (size_t i = 0; i < n; i++, b->pos++) {
        unsigned char c = in[i];
        if (c == '\n' || c == '\r' || c == ' ' || c == '\t')
            continue;
        if (c == '=') {
            b->pad++;
            continue;
        }
        int v = b64_val(c);
        if (v < 0 || b->pad) { /* data after padding is not base64 either */
            b->bad = 1;
            return -1;
        }
        b->acc = b->acc << 6 | (uint32_t)v;
        b->nbits += 6;
        if (b->nbits >= 8) {
            b->nbits -= 8;
            out[o++] = (unsigned char)(b->acc >> b->nbits);
        }
    }
    return o;
}

int spill__b64_finish(spill__b64 *b)
{
    /* Leftover bits must be the zero padding of a final group. */
    if (b->bad || b->nbits >= 6 || b->pad > 2)
        return -1;
    return 0;
}
