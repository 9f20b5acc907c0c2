/* fuzz_common.h - static helpers shared by the filter fuzz targets (fuzz_frame.c,
 * fuzz_filter.c): a growable byte buffer and an in-memory object sink that fuzz
 * bytes can tell to fail. Every failure mode depends only on the content and the
 * order of the objects, never on how the filter's input was chunked, so a chunked
 * run must reproduce a whole run exactly, failures included. */
#ifndef SPILL_FUZZ_COMMON_H
#define SPILL_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "spill.h"

/* An invariant failed: say which, then abort() (what libFuzzer and the replay catch). */
#define FZ_FAIL() fz_fail(__FILE__, __LINE__)
static inline void fz_fail(const char *file, int line)
{
    fprintf(stderr, "%s:%d: invariant violated\n", file, line);
    abort();
}

/* SPILL_FUZZ_SKIP=name,name,...: named checks not to make, so that a fuzzing run can
 * go on past a finding already saved in the corpus and reported (corpus files bug_*).
 * Names: other_method, b64_junk, broken_chunking (see the targets), null_commit (the
 * sink refuses a commit of a NULL object instead of failing). Nothing sets it in
 * `make test`, so the bug_* files fail there until the bugs are fixed. */
static inline int fz_skip(const char *name)
{
    const char *s = getenv("SPILL_FUZZ_SKIP");
    const size_t n = strlen(name);
    for (const char *p = s; p && (p = strstr(p, name)) != NULL; p += n)
        if ((p == s || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
            return 1;
    return 0;
}

typedef struct fz_buf {
    unsigned char *p;
    size_t n, cap;
} fz_buf;

static inline void fz_put(fz_buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->n + n)
            cap *= 2;
        unsigned char *np = realloc(b->p, cap);
        if (!np)
            FZ_FAIL();
        b->p = np;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}

static inline void fz_puts(fz_buf *b, const char *s) { fz_put(b, s, strlen(s)); }

static inline int fz_eq(const fz_buf *a, const fz_buf *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
}

/* ---- the in-memory sink ---- */

enum { FZ_FAIL_NONE = 0, FZ_FAIL_BEGIN, FZ_FAIL_WRITE, FZ_FAIL_COMMIT };

typedef struct fz_obj {
    fz_buf data;
    char id[SPILL_ID_HEX + 1];
    char mime[128];
    uint64_t tokens;
} fz_obj;

typedef struct fz_sink {
    fz_obj *objs; /* committed, in order */
    size_t n, cap;
    int fail_mode;
    unsigned fail_k;        /* BEGIN/COMMIT: call c (0-based) fails when c % (k + 1) == k */
    uint64_t fail_bytes;    /* WRITE: the write that takes an object past this many bytes fails */
    unsigned begun, committed;
    unsigned failures;      /* begin/write/commit calls that failed */
    unsigned live;          /* begun, neither committed nor aborted */
    int detail;             /* last_error returns a detail */
} fz_sink;

/* The sink gets its own object list through ctx; objects carry a back pointer. */
typedef struct fz_live {
    fz_sink *s;
    fz_obj o;
} fz_live;

static inline int fz_hit(unsigned count, unsigned k)
{
    return k == 0 ? count == 0 : count % (k + 1) == k;
}

static inline int fz_begin(void *ctx, void **obj, const spill_put_info *pi)
{
    fz_sink *s = ctx;
    (void)pi;
    const unsigned k = s->begun++;
    if (s->fail_mode == FZ_FAIL_BEGIN && fz_hit(k, s->fail_k)) {
        s->failures++;
        return -28; /* ENOSPC */
    }
    fz_live *l = calloc(1, sizeof *l);
    if (!l)
        FZ_FAIL();
    l->s = s;
    s->live++;
    *obj = l;
    return 0;
}

static inline int fz_write(void *obj, const void *p, size_t n)
{
    fz_live *l = obj;
    if (!l)
        FZ_FAIL(); /* a write to an object never begun */
    if (n == 0)
        FZ_FAIL(); /* the filter never writes nothing */
    if (l->s->fail_mode == FZ_FAIL_WRITE && l->o.data.n + n > l->s->fail_bytes) {
        l->s->failures++;
        return -5; /* EIO */
    }
    fz_put(&l->o.data, p, n);
    return 0;
}

static inline void fz_free_live(fz_live *l)
{
    l->s->live--;
    free(l->o.data.p);
    free(l);
}

static inline int fz_commit(void *obj, const char *mime, uint64_t tokens, const char *counter,
                     spill_object_info *info)
{
    fz_live *l = obj;
    if (!l) { /* a real sink crashes here (spill_writer_set_meta(NULL, ...)) */
        fputs("the filter committed a NULL object\n", stderr);
        if (fz_skip("null_commit"))
            return -22;
        FZ_FAIL();
    }
    fz_sink *s = l->s;
    (void)counter;
    const unsigned k = s->committed++;
    if (s->fail_mode == FZ_FAIL_COMMIT && fz_hit(k, s->fail_k)) {
        s->failures++;
        fz_free_live(l); /* commit consumes the object either way */
        return -122; /* EDQUOT */
    }
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(l->o.data.p, l->o.data.n));
    for (int i = 0; i < 16; i++)
        snprintf(l->o.id + 2 * i, 3, "%02x", c.digest[i]);
    snprintf(l->o.mime, sizeof l->o.mime, "%s", mime ? mime : "text/plain");
    l->o.tokens = tokens;
    memset(info, 0, sizeof *info);
    memcpy(info->id, l->o.id, sizeof info->id);
    info->raw_size = l->o.data.n;
    for (size_t i = 0; i < l->o.data.n; i++)
        info->lines += l->o.data.p[i] == '\n';
    if (l->o.data.n && l->o.data.p[l->o.data.n - 1] != '\n')
        info->lines++;
    info->tokens = tokens;
    snprintf(info->mime, sizeof info->mime, "%s", l->o.mime);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        if (!(s->objs = realloc(s->objs, s->cap * sizeof *s->objs)))
            FZ_FAIL();
    }
    s->objs[s->n++] = l->o; /* takes the data */
    s->live--;
    free(l);
    return 0;
}

static inline void fz_abort(void *obj)
{
    if (!obj)
        FZ_FAIL(); /* an abort of an object never begun */
    fz_free_live(obj);
}

static inline const char *fz_last_error(void *ctx)
{
    fz_sink *s = ctx;
    return s->detail ? "the fuzz sink was told to fail" : NULL;
}

static inline void fz_sink_make(fz_sink *s, spill_object_sink *out)
{
    out->ctx = s;
    out->begin = fz_begin;
    out->write = fz_write;
    out->commit = fz_commit;
    out->abort = fz_abort;
    out->last_error = fz_last_error;
}

static inline void fz_sink_free(fz_sink *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->objs[i].data.p);
    free(s->objs);
    s->objs = NULL;
    s->n = s->cap = 0;
}

/* Begin and commit failures are injected by call count. After a JSON error in a
 * rewritten message, one chunking may begin (and abort) an object the other never
 * began, which shifts every later injected failure: such runs cannot be compared
 * object by object, so they are not (a real store keeps nothing of an aborted one). */
static inline int fz_incomparable(const fz_sink *a, const fz_sink *b)
{
    return a->begun != b->begun && a->fail_mode != FZ_FAIL_NONE;
}

/* Same objects committed, same failures. How many were begun may differ: in a message
 * whose JSON breaks, an object can be started in one chunking and not in another, but
 * it is then aborted and leaves nothing (the sink still checks that none stays live). */
static inline int fz_sink_same(const fz_sink *a, const fz_sink *b)
{
    if (a->n != b->n || a->failures != b->failures || a->committed != b->committed)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (!fz_eq(&a->objs[i].data, &b->objs[i].data) || strcmp(a->objs[i].mime, b->objs[i].mime) ||
            a->objs[i].tokens != b->objs[i].tokens)
            return 0;
    return 1;
}

static inline int fz_stats_same(const spill_filter_stats *a, const spill_filter_stats *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* Prints where two runs' results differ (for the report of a failed check). */
static inline void fz_show_at(const char *what, const fz_buf *b, size_t at)
{
    size_t a = at > 300 ? at - 300 : 0, e = at + 300 < b->n ? at + 300 : b->n;
    fprintf(stderr, "  %s (%zu bytes) around byte %zu: ", what, b->n, at);
    for (size_t i = a; i < e; i++)
        fputc(b->p[i] >= 0x20 && b->p[i] < 0x7f ? b->p[i] : '.', stderr);
    fputc('\n', stderr);
}

static inline void fz_diff_buf(const char *what, const fz_buf *a, const fz_buf *b)
{
    if (fz_eq(a, b))
        return;
    size_t i = 0;
    while (i < a->n && i < b->n && a->p[i] == b->p[i])
        i++;
    fprintf(stderr, "%s differs at byte %zu:\n", what, i);
    fz_show_at("first run ", a, i);
    fz_show_at("second run", b, i);
}

static inline void fz_diff(const char *names, int rc_a, int rc_b, const fz_buf out_a[2],
                           const fz_buf out_b[2], const fz_sink *sa, const fz_sink *sb,
                           const spill_filter_stats *ta, const spill_filter_stats *tb)
{
    fprintf(stderr, "runs differ (%s): rc %d / %d\n", names, rc_a, rc_b);
    fz_diff_buf("server-to-client output", &out_a[0], &out_b[0]);
    fz_diff_buf("client-to-server output", &out_a[1], &out_b[1]);
    fprintf(stderr, "sink: %zu / %zu objects, %u / %u begun, %u / %u failures\n", sa->n, sb->n,
            sa->begun, sb->begun, sa->failures, sb->failures);
    for (size_t i = 0; i < sa->n && i < sb->n; i++)
        fz_diff_buf("an object", &sa->objs[i].data, &sb->objs[i].data);
    fprintf(stderr, "stats: rewritten %llu / %llu, spilled %llu / %llu, store failures %llu / %llu, "
            "unparseable %llu / %llu\n",
            (unsigned long long)ta->results_rewritten, (unsigned long long)tb->results_rewritten,
            (unsigned long long)ta->payloads_spilled, (unsigned long long)tb->payloads_spilled,
            (unsigned long long)ta->store_failures, (unsigned long long)tb->store_failures,
            (unsigned long long)ta->unparseable, (unsigned long long)tb->unparseable);
}

static inline int fz_has(const fz_buf *b, const char *s)
{
    const size_t k = strlen(s);
    for (size_t i = 0; i + k <= b->n; i++)
        if (b->p[i] == (unsigned char)s[0] && memcmp(b->p + i, s, k) == 0)
            return 1;
    return 0;
}

/* Two runs differ in a way already reported and named in SPILL_FUZZ_SKIP:
 * broken_chunking: a rewrite that had begun met invalid JSON or the end of the stream;
 * b64_junk: base64 that is not base64 (stored as text in one run, failed in the other). */
static inline int fz_known_diff(const fz_buf *a, const fz_buf *b)
{
    static const char broken[] = "could not be passed on: it is not valid JSON at byte",
                      cut[] = "could not be passed on: the stream ended",
                      junk[] = "the base64 data is malformed";
    return ((fz_has(a, broken) || fz_has(b, broken) || fz_has(a, cut) || fz_has(b, cut)) &&
            fz_skip("broken_chunking")) ||
           ((fz_has(a, junk) || fz_has(b, junk)) && fz_skip("b64_junk"));
}

/* ---- output ---- */

typedef struct fz_out {
    fz_buf dir[2];
} fz_out;

static inline int fz_emit(void *ud, spill_dir dir, const void *p, size_t n)
{
    fz_out *o = ud;
    if (n == 0 || (dir != SPILL_S2C && dir != SPILL_C2S))
        FZ_FAIL(); /* the filter never emits nothing */
    fz_put(&o->dir[dir], p, n);
    return 0;
}

#endif
