/* bpe.c - vocabulary loading and exact byte-pair-encoding token counts of one piece.
 *
 * The rank table is open addressing with linear probing, at most 80% full, over
 * 16-byte slots that hold a token's first 8 bytes, length, rank and a hash tag: a
 * token of up to 8 bytes (most lookups) is found in one cache line; a longer one also
 * compares the rest with its record in a byte blob (u32 rank, u16 length, the bytes).
 * The hash is a multiply of the first and last 8 bytes and the length (XXH3 past 16
 * bytes). Single bytes and byte pairs, the lookups the merge loops make most, get
 * direct arrays. The table (4 MiB for o200k) does not fit the L2 cache, so two small
 * structures sit in front of it: a Bloom filter that turns away most strings that are
 * not tokens, and a per-thread cache of recent lookups (see "lookup cache" below).
 * A merge's lookups ask the filter first (most of its candidates are not tokens) and
 * start the reads of both of its lookups before either is resolved.
 *
 * Counting mirrors tiktoken's byte_pair_encode: a piece that is a token is one token;
 * otherwise parts start as single bytes and the adjacent pair whose concatenation has
 * the lowest rank is merged, the leftmost on ties, until no pair is a token. Short
 * pieces rescan an array (what tiktoken does below 100 bytes: cache-friendly, n is
 * small, and the scan is SSE2, or SSE4.1 where the CPU has it, over keys that carry
 * their position, so one pass finds the merge); long ones take candidates in (rank, start) order from a radix-sorted list of
 * the initial pairs and a binary heap of the pairs merges form, skipping stale entries,
 * so a long piece costs O(n log n), not O(n^2). Both orders are the same, so the split
 * between the two paths does not change any result. */
#define _GNU_SOURCE
#include "bpe.h"

#include <assert.h>
#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "internal.h"

#ifndef SPILL_VOCAB_DIR_DEFAULT
#define SPILL_VOCAB_DIR_DEFAULT "/usr/local/share/spill/vocab"
#endif

#define NONE UINT32_MAX         /* "not a token" as a rank */
#define REC_HDR 6               /* u32 rank, u16 length */
#define MAX_TOKEN_LEN 65535     /* fits the u16 length (the longest known token is 1,024 B) */
#define SMALL_PIECE 100         /* below this, the array rescan (tiktoken's threshold) */
#define MAX_PIECE (UINT32_MAX - 1) /* positions are u32 in the merge state */

/* A slot of the table, 16 bytes: four to a cache line, and a probe for a token of up to
 * 8 bytes (most lookups) reads nothing else. len 0 is an empty slot. */
struct slot {
    uint64_t head; /* the first min(len, 8) bytes, little-endian, zero-padded */
    uint32_t rank;
    uint16_t len;
    uint16_t tag;  /* top 16 bits of the hash: spares most blob reads for longer keys */
};

struct spill__ranks {
    struct slot *slots;
    uint32_t *tail; /* per slot, for len > 8: the blob offset of the token's bytes */
    size_t mask;
    uint8_t *blob; /* the records */
    size_t ntokens;
    size_t max_len; /* longest token: a longer string needs no probe */
    uint32_t max_rank;
    uint64_t id; /* tells the per-thread lookup caches one table from another */
    uint64_t *filter; /* blocked Bloom filter of the tokens of 3 bytes or more */
    size_t fmask;     /* words of filter - 1 */
    uint32_t byte_rank[256];
    uint32_t pair_rank[65536]; /* two-byte strings, b0 << 8 | b1 */
};

/* ---- rank table ---- */

static uint32_t rec_rank(const uint8_t *rec)
{
    uint32_t v;
    memcpy(&v, rec, 4);
    return v;
}
static size_t rec_len(const uint8_t *rec)
{
    uint16_t v;
    memcpy(&v, rec + 4, 2);
    return v;
}

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static inline uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* p[0..n), n <= 8, as a little-endian integer, zero-padded; reads only those bytes. */
static inline uint64_t load_short(const uint8_t *p, size_t n)
{
    if (n >= 4) /* two overlapping 4-byte loads; the overlap ORs equal bytes */
        return load32(p) | (uint64_t)load32(p + n - 4) << (8 * (n - 4));
    if (n == 0)
        return 0;
    return p[0] | (uint64_t)p[n / 2] << (8 * (n / 2)) | (uint64_t)p[n - 1] << (8 * (n - 1));
}

static inline uint64_t head_of(const uint8_t *p, size_t n)
{
    return n >= 8 ? load64(p) : load_short(p, n);
}

static inline uint64_t mum(uint64_t a, uint64_t b)
{
    const __uint128_t m = (__uint128_t)a * b;
    return (uint64_t)m ^ (uint64_t)(m >> 64);
}

/* The key hash: a 64x64->128 multiply of the first and the last 8 bytes (overlapping
 * for 9..16) with the length folded in, as wyhash does for short inputs; XXH3 beyond
 * 16 bytes, which few lookups are. */
static inline uint64_t key_hash(const uint8_t *p, size_t n)
{
    enum { S0 = 0, S1 = 1 };
    static const uint64_t k[2] = {0xa0761d6478bd642full, 0xe7037ed1a0b428dbull};
    if (n <= 8)
        return mum(load_short(p, n) ^ k[S0], (uint64_t)n ^ k[S1]);
    if (n <= 16)
        return mum(load64(p) ^ k[S0], load64(p + n - 8) ^ k[S1] ^ (uint64_t)n);
    return XXH3_64bits(p, n);
}

/* The filter: two bits of one word per token, both from the key hash, so a probe costs
 * one access to an array that stays in L2 (about 10 bits per token) and tells most
 * strings that are not tokens (4% false positives) without touching the table. */
static inline uint64_t filter_bits(uint64_t h)
{
    return (uint64_t)1 << (h & 63) | (uint64_t)1 << ((h >> 6) & 63);
}
static inline int filter_may(const spill__ranks *r, uint64_t h)
{
    const uint64_t b = filter_bits(h);
    return (r->filter[(h >> 12) & r->fmask] & b) == b;
}

/* The slot that holds p[0..n) (whose hash is h, n <= max_len), or the empty slot
 * where it would go. */
static inline size_t find_slot(const spill__ranks *r, const uint8_t *p, size_t n, uint64_t h)
{
    const uint64_t head = head_of(p, n);
    const uint16_t tag = (uint16_t)(h >> 48);
    size_t i = (size_t)h & r->mask;
    for (;;) {
        const struct slot *s = &r->slots[i];
        if (s->len == n && s->head == head &&
            (n <= 8 || (s->tag == tag && memcmp(r->blob + r->tail[i] + 8, p + 8, n - 8) == 0)))
            return i;
        if (s->len == 0)
            return i;
        i = (i + 1) & r->mask;
    }
}

static inline uint32_t lookup_h(const spill__ranks *r, const uint8_t *p, size_t n, uint64_t h)
{
    if (!filter_may(r, h))
        return NONE;
    const struct slot *s = &r->slots[find_slot(r, p, n, h)];
    return s->len ? s->rank : NONE;
}

/* ---- the per-thread lookup cache ----
 * The table (4 MiB for o200k) does not fit the L2 cache, so nearly every probe is a
 * miss to L3 or memory, and those misses were most of the counting time. Text repeats
 * its words, and the merges of a script (CJK above all) look up the same few thousand
 * strings again and again, so a small direct-mapped cache in front of the table, with
 * the key inline, answers most lookups from L2. It is direct-mapped, not an LRU: a miss
 * costs one overwrite, so unique pieces (base64) cost little. It also keeps the count
 * of a whole piece that is not a token, which spares repeated merges. */
#define CACHE_BITS 13
#define CACHE_MAX 24 /* longest key cached */
struct centry {
    uint64_t k[3]; /* the key, zero-padded */
    uint32_t rank; /* NONE: not a token */
    uint16_t len;  /* 0: empty */
    uint16_t count; /* BPE count of the key as a whole piece, 0: not known yet */
};

/* p[0..n), 3 <= n <= CACHE_MAX, as three zero-padded words. */
static inline void pack_key(const uint8_t *p, size_t n, uint64_t k[3])
{
    if (n <= 8) {
        k[0] = load_short(p, n), k[1] = 0, k[2] = 0;
    } else if (n <= 16) {
        k[0] = load64(p), k[1] = load_short(p + 8, n - 8), k[2] = 0;
    } else {
        k[0] = load64(p), k[1] = load64(p + 8), k[2] = load_short(p + 16, n - 16);
    }
}

static inline struct centry *centry_of(struct centry *c, uint64_t h)
{
    return &c[(h >> 40) & ((1u << CACHE_BITS) - 1)];
}

static inline int centry_is(const struct centry *e, const uint64_t k[3], size_t n)
{
    return e->len == n && ((e->k[0] ^ k[0]) | (e->k[1] ^ k[1]) | (e->k[2] ^ k[2])) == 0;
}

static inline void centry_set(struct centry *e, const uint64_t k[3], size_t n, uint32_t rank, uint64_t count)
{
    e->k[0] = k[0], e->k[1] = k[1], e->k[2] = k[2];
    e->rank = rank;
    e->len = (uint16_t)n;
    e->count = (uint16_t)count;
}

/* The rank of p[0..n), 3 <= n <= max_len, whose key hash is h, through the cache c
 * (NULL: none); NONE when it is not a token. */
static inline uint32_t rank_ch(const spill__ranks *r, struct centry *c, const uint8_t *p, size_t n,
                               uint64_t h)
{
    if (!c || n > CACHE_MAX)
        return lookup_h(r, p, n, h);
    /* The filter first: it answers most strings that are not tokens (most merge
     * candidates in CJK) from one L2 read, and keeps them out of the cache. */
    if (!filter_may(r, h))
        return NONE;
    uint64_t k[3];
    pack_key(p, n, k);
    struct centry *e = centry_of(c, h);
    if (centry_is(e, k, n))
        return e->rank;
    const struct slot *s = &r->slots[find_slot(r, p, n, h)];
    const uint32_t rank = s->len ? s->rank : NONE;
    centry_set(e, k, n, rank, rank != NONE);
    return rank;
}

/* The rank of p[0..n), any n >= 1, through the cache c (NULL: none). */
static inline uint32_t rank_c(const spill__ranks *r, struct centry *c, const uint8_t *p, size_t n)
{
    if (n == 2)
        return r->pair_rank[p[0] << 8 | p[1]];
    if (n == 1)
        return r->byte_rank[p[0]];
    if (n > r->max_len)
        return NONE;
    return rank_ch(r, c, p, n, key_hash(p, n));
}

/* Starts the reads rank_ch(.., h) will make, so that the two lookups of a merge
 * overlap their L2 misses instead of taking turns. */
static inline void rank_prefetch(const spill__ranks *r, const struct centry *c, uint64_t h)
{
    __builtin_prefetch(&r->filter[(h >> 12) & r->fmask]);
    __builtin_prefetch(&r->slots[(size_t)h & r->mask]); /* needed when the filter lets it by */
    if (c)
        __builtin_prefetch(centry_of((struct centry *)c, h));
}

size_t spill__ranks_size(const spill__ranks *r) { return r->ntokens; }

int64_t spill__ranks_get(const spill__ranks *r, const void *p, size_t n)
{
    if (n == 0)
        return -1;
    const uint32_t k = rank_c(r, NULL, p, n);
    return k == NONE ? -1 : (int64_t)k;
}

void spill__ranks_free(spill__ranks *r)
{
    if (!r)
        return;
    free(r->slots);
    free(r->tail);
    free(r->filter);
    free(r->blob);
    free(r);
}

/* ---- loading ---- */

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

static int read_file(const char *path, uint8_t **buf, size_t *size)
{
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = 0;
    uint8_t *b = NULL;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size >= (off_t)UINT32_MAX / 2) {
        rc = S_ISREG(st.st_mode) ? SPILL_E_TOOBIG : -EINVAL;
        goto out;
    }
    b = malloc((size_t)st.st_size + 1);
    if (!b) {
        rc = SPILL_E_NOMEM;
        goto out;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        const ssize_t k = read(fd, b + got, (size_t)st.st_size - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            rc = k < 0 ? -errno : -EIO; /* the file shrank under us */
            goto out;
        }
        got += (size_t)k;
    }
    *buf = b;
    *size = got;
    b = NULL;
out:
    free(b);
    close(fd);
    return rc;
}

/* Strict standard base64 with padding (what tiktoken writes). Returns the decoded
 * length, or -1. out has room for len / 4 * 3 bytes. */
static long b64_decode(const int8_t *tab, const uint8_t *s, size_t len, uint8_t *out)
{
    if (len == 0 || len % 4)
        return -1;
    size_t pad = (s[len - 1] == '=') + (s[len - 2] == '=');
    uint8_t *o = out;
    for (size_t i = 0; i < len; i += 4) {
        const int last = i + 4 == len;
        int v[4];
        for (int k = 0; k < 4; k++) {
            v[k] = tab[s[i + k]];
            if (v[k] < 0 && !(last && s[i + k] == '=' && k >= 4 - (int)pad))
                return -1;
        }
        const uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
                           (uint32_t)(v[2] & 63) << 6 | (uint32_t)(v[3] & 63);
        *o++ = (uint8_t)(w >> 16);
        if (!(last && pad == 2))
            *o++ = (uint8_t)(w >> 8);
        if (!(last && pad >= 1))
            *o++ = (uint8_t)w;
    }
    return (long)(o - out);
}

/* Puts the records blob[8..used) into the table: 0, or the (1-based) number of the
 * first record that repeats an earlier token. A fresh table does not fit the
 * cache, so the slots of the next records are prefetched while one is inserted:
 * that overlaps the misses, which otherwise are most of the load time. */
static size_t insert_all(spill__ranks *r, size_t used)
{
    enum { AHEAD = 16 };
    uint64_t hash[AHEAD];
    size_t off[AHEAD];
    size_t next = 8, queued = 0;
    for (size_t i = 0; i < r->ntokens; i++) {
        for (; queued < r->ntokens && queued < i + AHEAD; queued++) {
            const uint8_t *rec = r->blob + next;
            const uint64_t h = key_hash(rec + REC_HDR, rec_len(rec));
            __builtin_prefetch(&r->slots[(size_t)h & r->mask], 1);
            hash[queued % AHEAD] = h;
            off[queued % AHEAD] = next;
            next += REC_HDR + rec_len(rec);
        }
        const uint64_t h = hash[i % AHEAD];
        const uint8_t *rec = r->blob + off[i % AHEAD];
        const size_t len = rec_len(rec);
        const size_t slot = find_slot(r, rec + REC_HDR, len, h);
        struct slot *s = &r->slots[slot];
        if (s->len)
            return i + 1;
        s->head = head_of(rec + REC_HDR, len);
        s->rank = rec_rank(rec);
        s->len = (uint16_t)len;
        s->tag = (uint16_t)(h >> 48);
        r->tail[slot] = (uint32_t)(off[i % AHEAD] + REC_HDR);
        r->filter[(h >> 12) & r->fmask] |= filter_bits(h);
    }
    assert(next == used);
    (void)used;
    return 0;
}

int spill__ranks_load(const char *path, spill__ranks **out, char *err, size_t errlen)
{
    *out = NULL;
    uint8_t *file = NULL;
    size_t size = 0;
    int rc = read_file(path, &file, &size);
    if (rc)
        return fail(err, errlen, rc, "%s: %s", path, spill_strerror(rc));

    spill__ranks *r = calloc(1, sizeof *r);
    if (!r) {
        free(file);
        return fail(err, errlen, SPILL_E_NOMEM, "%s: out of memory", path);
    }
    size_t lines = 0;
    for (const uint8_t *p = file; (p = memchr(p, '\n', (size_t)(file + size - p))); p++)
        lines++;
    lines += size && file[size - 1] != '\n';
    /* At most 80% full: the filter turns away most strings that are not tokens before
     * they probe, and a hit's probe (2.5 slots on average at 76%) stays within one or
     * two cache lines; a half-full table measured no faster and doubles the memory. */
    size_t nslots = 1024;
    while (nslots < lines + lines / 4)
        nslots *= 2;
    r->mask = nslots - 1;
    r->slots = calloc(nslots, sizeof *r->slots);
    r->tail = malloc(nslots * sizeof *r->tail);
    size_t fwords = 64; /* 8 to 16 bits per token */
    while (fwords * 64 < 8 * lines)
        fwords *= 2;
    r->fmask = fwords - 1;
    r->filter = calloc(fwords, sizeof *r->filter);
    /* A record takes at most REC_HDR + 3/4 of its line, and offset 0 stays unused. */
    const size_t blob_cap = 8 + size + REC_HDR * lines;
    r->blob = malloc(blob_cap);
    if (!r->slots || !r->tail || !r->filter || !r->blob) {
        rc = fail(err, errlen, SPILL_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
    static _Atomic uint64_t next_id;
    r->id = ++next_id;
    memset(r->byte_rank, 0xff, sizeof r->byte_rank);
    memset(r->pair_rank, 0xff, sizeof r->pair_rank);

    int8_t tab[256];
    memset(tab, -1, sizeof tab);
    for (int i = 0; i < 64; i++)
        tab[(uint8_t)"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[i]] = (int8_t)i;

    size_t used = 8, lineno = 0;
    int64_t prev_rank = -1;
    for (const uint8_t *p = file, *end = file + size; p < end;) {
        lineno++;
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        const uint8_t *eol = nl ? nl : end;
        const uint8_t *sp = memchr(p, ' ', (size_t)(eol - p));
        if (!sp || sp == eol - 1) {
            rc = fail(err, errlen, SPILL_E_CORRUPT, "%s:%zu: expected \"base64 rank\"", path, lineno);
            goto out;
        }
        uint8_t *rec = r->blob + used;
        const long len = b64_decode(tab, p, (size_t)(sp - p), rec + REC_HDR);
        if (len <= 0 || len > MAX_TOKEN_LEN) {
            rc = fail(err, errlen, SPILL_E_CORRUPT, "%s:%zu: %s", path, lineno,
                      len > 0 ? "token longer than 65535 bytes" : "bad base64");
            goto out;
        }
        uint64_t rank = 0;
        for (const uint8_t *d = sp + 1; d < eol; d++) {
            if (*d < '0' || *d > '9' || rank > NONE / 10) {
                rc = fail(err, errlen, SPILL_E_CORRUPT, "%s:%zu: bad rank", path, lineno);
                goto out;
            }
            rank = rank * 10 + (uint64_t)(*d - '0');
        }
        /* Increasing ranks make them unique, which the merge loop relies on (a rank
         * names one byte string); tiktoken's files are sorted by rank. */
        if (rank >= NONE || (int64_t)rank <= prev_rank) {
            rc = fail(err, errlen, SPILL_E_CORRUPT, "%s:%zu: rank %" PRIu64 " not above the previous one",
                      path, lineno, rank);
            goto out;
        }
        prev_rank = (int64_t)rank;
        r->max_rank = (uint32_t)rank;
        const uint32_t rk = (uint32_t)rank;
        const uint16_t l16 = (uint16_t)len;
        memcpy(rec, &rk, 4);
        memcpy(rec + 4, &l16, 2);
        if (len == 1)
            r->byte_rank[rec[REC_HDR]] = rk;
        else if (len == 2)
            r->pair_rank[rec[REC_HDR] << 8 | rec[REC_HDR + 1]] = rk;
        if ((size_t)len > r->max_len)
            r->max_len = (size_t)len;
        used += REC_HDR + (size_t)len;
        assert(used <= blob_cap);
        r->ntokens++;
        p = eol + 1;
    }
    if (r->ntokens == 0) {
        rc = fail(err, errlen, SPILL_E_CORRUPT, "%s: no tokens", path);
        goto out;
    }
    const size_t dup = insert_all(r, used);
    if (dup) {
        rc = fail(err, errlen, SPILL_E_CORRUPT, "%s:%zu: duplicate token", path, dup);
        goto out;
    }
    /* Byte-level BPE starts from single bytes: every byte must be a token. */
    for (int b = 0; b < 256; b++)
        if (r->byte_rank[b] == NONE) {
            rc = fail(err, errlen, SPILL_E_CORRUPT, "%s: byte 0x%02x is not a token", path, b);
            goto out;
        }
    uint8_t *shrunk = realloc(r->blob, used);
    if (shrunk)
        r->blob = shrunk;
    *out = r;
    r = NULL;
out:
    spill__ranks_free(r);
    free(file);
    return rc;
}

/* ---- counting ---- */

void spill__bpe_scratch_free(spill__bpe_scratch *s)
{
    free(s->mem);
    free(s->cache);
    s->mem = NULL;
    s->cap = 0;
    s->cache = NULL;
    s->cache_of = 0;
}

/* count_small's array holds keys, rank << 7 | position as int32 (KEY_NONE when the
 * pair is not a token): the least key is then the lowest rank, leftmost on ties (the
 * same token pair can occur more than once), and it carries its own position, so one
 * min-scan finds the merge and no second pass has to look for where the minimum was.
 * Positions are < 128 (SMALL_PIECE) and ranks < KEY_RANK_LIMIT (checked at the call);
 * a key is then below INT32_MAX = KEY_NONE. */
#define KEY_NONE INT32_MAX
#define KEY_RANK_LIMIT ((1u << 24) - 1)
static inline int32_t key_of(uint32_t rank, size_t i)
{
    return rank == NONE ? KEY_NONE : (int32_t)(rank << 7 | (uint32_t)i);
}

/* The least element of a[0..len), len a positive multiple of 4. The merge loop of
 * short pieces spends much of its time here. */
static inline int32_t least(const int32_t *a, size_t len)
{
#ifdef __SSE2__
    __m128i mn = _mm_loadu_si128((const __m128i *)(const void *)a), m2 = mn;
    size_t k = 4;
    for (; k + 4 < len; k += 8) { /* two chains: the blend's latency, not its work, bounds the loop */
        const __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(a + k));
        const __m128i y = _mm_loadu_si128((const __m128i *)(const void *)(a + k + 4));
        const __m128i gx = _mm_cmpgt_epi32(mn, x), gy = _mm_cmpgt_epi32(m2, y);
        mn = _mm_or_si128(_mm_and_si128(gx, x), _mm_andnot_si128(gx, mn));
        m2 = _mm_or_si128(_mm_and_si128(gy, y), _mm_andnot_si128(gy, m2));
    }
    if (k < len) {
        const __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(a + k));
        const __m128i gx = _mm_cmpgt_epi32(m2, x);
        m2 = _mm_or_si128(_mm_and_si128(gx, x), _mm_andnot_si128(gx, m2));
    }
    const __m128i g = _mm_cmpgt_epi32(mn, m2);
    mn = _mm_or_si128(_mm_and_si128(g, m2), _mm_andnot_si128(g, mn));
    for (int sh = 0; sh < 2; sh++) {
        const __m128i x = sh ? _mm_shuffle_epi32(mn, 0xB1) : _mm_shuffle_epi32(mn, 0x4E);
        const __m128i gt = _mm_cmpgt_epi32(mn, x);
        mn = _mm_or_si128(_mm_and_si128(gt, x), _mm_andnot_si128(gt, mn));
    }
    return _mm_cvtsi128_si32(mn);
#else
    int32_t best = a[0];
    for (size_t k = 1; k < len; k++)
        if (a[k] < best)
            best = a[k];
    return best;
#endif
}

#if defined(__SSE2__) && !defined(__SSE4_1__) && defined(__GNUC__)
#define HAVE_LEAST41 1
#include <smmintrin.h>
/* least with SSE4.1's pminsd, one instruction where SSE2 needs four. Used when the
 * CPU has it (see count_small). */
__attribute__((target("sse4.1"), always_inline)) static inline int32_t least41(const int32_t *a, size_t len)
{
    __m128i mn = _mm_loadu_si128((const __m128i *)(const void *)a), m2 = mn;
    size_t k = 4;
    for (; k + 4 < len; k += 8) {
        mn = _mm_min_epi32(mn, _mm_loadu_si128((const __m128i *)(const void *)(a + k)));
        m2 = _mm_min_epi32(m2, _mm_loadu_si128((const __m128i *)(const void *)(a + k + 4)));
    }
    if (k < len)
        m2 = _mm_min_epi32(m2, _mm_loadu_si128((const __m128i *)(const void *)(a + k)));
    mn = _mm_min_epi32(mn, m2);
    mn = _mm_min_epi32(mn, _mm_shuffle_epi32(mn, 0x4E));
    mn = _mm_min_epi32(mn, _mm_shuffle_epi32(mn, 0xB1));
    return _mm_cvtsi128_si32(mn);
}
#endif

/* tiktoken's vector variant, without its shifting: key[i] is the key (above) of the
 * part that starts at byte i together with the next part, KEY_NONE when that is not a
 * token or no part starts at i; next[i] is where the part after i starts. Dead starts
 * stay in the array as KEY_NONE, so a merge writes three entries instead of moving two
 * arrays, and the scan, in steps of 4, sees the padding as KEY_NONE too. least_of is
 * least or least41, a constant once this is inlined. */
__attribute__((always_inline)) static inline uint64_t
count_small_with(const spill__ranks *r, struct centry *c, const uint8_t *p, size_t n,
                 int32_t (*least_of)(const int32_t *, size_t))
{
    uint8_t next[SMALL_PIECE + 1], prev[SMALL_PIECE + 1];
    int32_t key[SMALL_PIECE + 4];
    assert(n >= 2 && n <= SMALL_PIECE && SMALL_PIECE < 128 && r->max_rank < KEY_RANK_LIMIT);
    for (size_t i = 0; i + 1 < n; i++)
        key[i] = key_of(r->pair_rank[p[i] << 8 | p[i + 1]], i);
    for (size_t i = 0; i <= n; i++) {
        next[i] = (uint8_t)(i + 1);
        prev[i] = (uint8_t)(i - 1); /* unused for i == 0 */
    }
    for (size_t i = n - 1; i < n + 3; i++)
        key[i] = KEY_NONE;
    const size_t len = (n + 2) & ~(size_t)3; /* n - 1 pairs, rounded up */
    size_t m = n; /* parts */
    for (;;) {
        const int32_t best = least_of(key, len);
        if (best == KEY_NONE)
            break;
        /* Part i absorbs part j; then re-rank the pairs that now touch it. */
        const size_t i = (size_t)best & 127, j = next[i], k = next[j];
        key[j] = KEY_NONE;
        next[i] = (uint8_t)k;
        prev[k] = (uint8_t)i;
        /* Both new pairs are 3 bytes or more: hash both and start their reads, then
         * look them up. */
        const size_t h = prev[i], nr = k < n ? next[k] - i : 0, nl = i > 0 ? k - h : 0;
        const int lr = nr && nr <= r->max_len, ll = nl && nl <= r->max_len;
        const uint64_t hr = lr ? key_hash(p + i, nr) : 0, hl = ll ? key_hash(p + h, nl) : 0;
        if (lr)
            rank_prefetch(r, c, hr);
        if (ll)
            rank_prefetch(r, c, hl);
        key[i] = lr ? key_of(rank_ch(r, c, p + i, nr, hr), i) : KEY_NONE;
        if (i > 0)
            key[h] = ll ? key_of(rank_ch(r, c, p + h, nl, hl), h) : KEY_NONE;
        m--;
    }
    return m;
}

#ifdef HAVE_LEAST41
__attribute__((target("sse4.1"))) static uint64_t count_small41(const spill__ranks *r, struct centry *c,
                                                                const uint8_t *p, size_t n)
{
    return count_small_with(r, c, p, n, least41);
}
#endif
static uint64_t count_small_base(const spill__ranks *r, struct centry *c, const uint8_t *p, size_t n)
{
    return count_small_with(r, c, p, n, least);
}
/* BPE count of p[0..n), 2 <= n <= SMALL_PIECE, by the array rescan; ranks must be
 * below KEY_RANK_LIMIT (the caller sends other pieces to count_large). */
static uint64_t count_small(const spill__ranks *r, struct centry *c, const uint8_t *p, size_t n)
{
#ifdef HAVE_LEAST41
    static int has41 = -1; /* every thread finds the same answer: a benign race */
    int h = __atomic_load_n(&has41, __ATOMIC_RELAXED);
    if (h < 0) {
        __builtin_cpu_init();
        h = __builtin_cpu_supports("sse4.1") ? 1 : 0;
        __atomic_store_n(&has41, h, __ATOMIC_RELAXED);
    }
    if (h)
        return count_small41(r, c, p, n);
#endif
    return count_small_base(r, c, p, n);
}

/* Binary min-heap of (rank << 32 | start): lowest rank first, leftmost on ties. */
static void heap_down(uint64_t *h, size_t len, size_t i)
{
    const uint64_t v = h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= len)
            break;
        if (c + 1 < len && h[c + 1] < h[c])
            c++;
        if (h[c] >= v)
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = v;
}
static void heap_push(uint64_t *h, size_t *len, uint64_t v)
{
    size_t i = (*len)++;
    while (i > 0 && h[(i - 1) / 2] > v) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}
static void heapify(uint64_t *h, size_t len)
{
    for (size_t i = len / 2; i-- > 0;)
        heap_down(h, len, i);
}

/* Scratch per byte of piece: struct pos (12), order (4) and 3/4 of a u64 heap entry. */
#define LARGE_BYTES_PER SPILL__BPE_SCRATCH_PER_BYTE

/* The initial pairs (p[i], p[i+1]) that are tokens, as starts in (rank, start) order:
 * a stable LSD radix sort of (rank << 32 | start) keys, built in increasing start
 * order, in tmp1 and tmp2 (8 bytes per pair each); the last pass writes the bare starts
 * to order. Returns how many there are. */
static size_t sort_initial(const uint32_t *pair, size_t n, uint32_t max_rank, uint64_t *tmp1,
                           uint64_t *tmp2, uint32_t *order)
{
    enum { MAX_DIGIT = 10 };
    size_t m = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (pair[i] != NONE)
            tmp1[m++] = (uint64_t)pair[i] << 32 | i;
    int bits = 1;
    while (bits < 32 && max_rank >> bits)
        bits++;
    const int passes = (bits + MAX_DIGIT - 1) / MAX_DIGIT, width = (bits + passes - 1) / passes;
    const uint32_t mask = (1u << width) - 1;
    uint32_t count[1u << MAX_DIGIT];
    const uint64_t *src = tmp1;
    for (int pass = 0; pass < passes; pass++) {
        const int shift = 32 + pass * width;
        memset(count, 0, sizeof count);
        for (size_t k = 0; k < m; k++)
            count[(src[k] >> shift) & mask]++;
        uint32_t sum = 0;
        for (uint32_t d = 0; d <= mask; d++) {
            const uint32_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        uint64_t *dst = src == tmp1 ? tmp2 : tmp1;
        if (pass + 1 == passes) {
            for (size_t k = 0; k < m; k++)
                order[count[(src[k] >> shift) & mask]++] = (uint32_t)src[k];
        } else {
            for (size_t k = 0; k < m; k++)
                dst[count[(src[k] >> shift) & mask]++] = src[k];
            src = dst;
        }
    }
    return m;
}

/* The merge state of one byte position; one struct, not three arrays, because the
 * merge loop visits positions in rank order, i.e. at random, and this way one cache
 * miss fetches all three. */
struct pos {
    uint32_t end;  /* end of the part that starts here */
    uint32_t prev; /* start of the part before it */
    uint32_t pair; /* rank of this part and the next together; NONE when that is not a
                    * token or this is no longer a part start */
};

/* tiktoken's heap variant, in two queues. Most pops are of initial pairs (on random
 * letters 85%), so those are sorted once (order[]) and only pairs formed by merges go
 * through a heap; the smaller head of the two is the next candidate, which is the order
 * one heap holding both would give. A candidate whose rank differs from st[s].pair is
 * stale and skipped; ranks are unique, so an equal rank means the same pair. At most
 * one heap entry per part start is live, and each merge touches at most 2 starts while
 * removing one, so at most 2n/3 are live: a heap of 3n/4 entries that is full is
 * compacted by dropping its stale entries (which leaves the order of the live ones
 * unchanged), and that frees at least n/12 of it. */
static uint64_t count_large(const spill__ranks *r, struct centry *c, uint8_t *mem, const uint8_t *p, size_t n)
{
    const size_t hcap = n / 4 * 3 + 8;
    uint64_t *heap = (uint64_t *)(void *)mem; /* first, for alignment */
    struct pos *st = (struct pos *)(void *)(heap + hcap);
    uint32_t *order = (uint32_t *)(void *)(st + n);
    size_t hlen = 0, head = 0, parts = n;

    /* Pair ranks go to order[] first, as the sort's input; heap and st, still unused
     * and together 18 bytes per byte, hold its two 8-byte buffers. */
    uint32_t *pair0 = order;
    for (size_t i = 0; i + 1 < n; i++)
        pair0[i] = r->pair_rank[p[i] << 8 | p[i + 1]];
    pair0[n - 1] = NONE;
    const size_t m = sort_initial(pair0, n, r->max_rank, heap, heap + n, order);
    for (size_t i = 0; i < n; i++) {
        st[i].end = (uint32_t)(i + 1);
        st[i].prev = (uint32_t)(i - 1); /* unused for i == 0 */
        st[i].pair = i + 1 < n ? r->pair_rank[p[i] << 8 | p[i + 1]] : NONE;
    }

    for (;;) {
        uint64_t top = UINT64_MAX;
        if (head < m) {
            const uint32_t i = order[head];
            top = (uint64_t)r->pair_rank[p[i] << 8 | p[i + 1]] << 32 | i;
            /* The sorted queue knows its future: fetch those positions early. */
            if (head + 16 < m)
                __builtin_prefetch(&st[order[head + 16]], 1);
        }
        if (hlen > 0 && heap[0] < top) {
            top = heap[0];
            heap[0] = heap[--hlen];
            heap_down(heap, hlen, 0);
        } else if (head < m) {
            head++;
        } else {
            break;
        }
        const uint32_t s = (uint32_t)top;
        if (st[s].pair != (uint32_t)(top >> 32))
            continue;
        const uint32_t right = st[s].end, right_end = st[right].end;
        st[s].end = right_end;
        st[s].pair = st[right].pair = NONE;
        parts--;
        if (hlen + 2 > hcap) {
            size_t k = 0;
            for (size_t j = 0; j < hlen; j++)
                if (st[(uint32_t)heap[j]].pair == (uint32_t)(heap[j] >> 32))
                    heap[k++] = heap[j];
            hlen = k;
            heapify(heap, hlen);
            assert(hlen + 2 <= hcap);
        }
        if (right_end < n) {
            st[right_end].prev = s;
            const uint32_t k = rank_c(r, c, p + s, st[right_end].end - s);
            st[s].pair = k;
            if (k != NONE)
                heap_push(heap, &hlen, (uint64_t)k << 32 | s);
        }
        if (s > 0) {
            const uint32_t ps = st[s].prev;
            const uint32_t k = rank_c(r, c, p + ps, right_end - ps);
            st[ps].pair = k;
            if (k != NONE)
                heap_push(heap, &hlen, (uint64_t)k << 32 | ps);
        }
    }
    return parts;
}

/* The cache of s for table r: NULL when there is no s or no memory for one. */
static struct centry *cache_for(const spill__ranks *r, spill__bpe_scratch *s)
{
    if (!s)
        return NULL;
    if (!s->cache) {
        s->cache = calloc((size_t)1 << CACHE_BITS, sizeof(struct centry));
        if (!s->cache)
            return NULL;
        s->cache_of = r->id;
    } else if (s->cache_of != r->id) {
        memset(s->cache, 0, ((size_t)1 << CACHE_BITS) * sizeof(struct centry));
        s->cache_of = r->id;
    }
    return s->cache;
}

void spill__bpe_prefetch(const spill__ranks *r, const spill__bpe_scratch *s, const uint8_t *piece, size_t n)
{
    if (n <= 2 || n > r->max_len)
        return;
    const uint64_t h = key_hash(piece, n);
    __builtin_prefetch(&r->filter[(h >> 12) & r->fmask]);
    __builtin_prefetch(&r->slots[(size_t)h & r->mask]);
    if (s && s->cache && s->cache_of == r->id && n <= CACHE_MAX)
        __builtin_prefetch(centry_of(s->cache, h));
}

/* The BPE count of a piece (n >= 2) that is not a token: the array rescan for short
 * pieces (when the ranks fit its keys), else the two queues; 0 without memory. */
static uint64_t count_merge(const spill__ranks *r, spill__bpe_scratch *s, struct centry *c,
                            const uint8_t *piece, size_t n)
{
    if (n <= SMALL_PIECE && r->max_rank < KEY_RANK_LIMIT)
        return count_small(r, c, piece, n);
    if (n > MAX_PIECE || !s)
        return 0;
    const size_t need = n * LARGE_BYTES_PER + 128;
    if (s->cap < need) {
        void *m = malloc(need); /* no realloc: the old contents are not needed */
        if (!m)
            return 0;
        free(s->mem);
        s->mem = m;
        s->cap = need;
    }
    return count_large(r, c, s->mem, piece, n);
}

uint64_t spill__bpe_count(const spill__ranks *r, spill__bpe_scratch *s, const uint8_t *piece, size_t n)
{
    assert(n >= 1);
    if (n <= 1)
        return n;
    if (n == 2)
        return r->pair_rank[piece[0] << 8 | piece[1]] != NONE ? 1 : 2;
    struct centry *c = cache_for(r, s);
    if (c && n <= CACHE_MAX) {
        const uint64_t h = key_hash(piece, n);
        uint64_t k[3];
        pack_key(piece, n, k);
        struct centry *e = centry_of(c, h);
        if (centry_is(e, k, n)) {
            if (e->count)
                return e->count;
        } else {
            const uint32_t rank = n <= r->max_len ? lookup_h(r, piece, n, h) : NONE;
            centry_set(e, k, n, rank, rank != NONE);
            if (rank != NONE)
                return 1;
        }
        /* Not a token: merge, then note the count (the merge may have reused e). */
        const uint64_t cnt = count_merge(r, s, c, piece, n);
        if (cnt)
            centry_set(e, k, n, NONE, cnt);
        return cnt;
    }
    if (n <= r->max_len && rank_c(r, c, piece, n) != NONE)
        return 1;
    return count_merge(r, s, c, piece, n);
}

/* ---- finding the vocabulary files ---- */

static const char *vocab_file(const char *name)
{
    static const char *const map[][2] = {
        {"claude", "claude-legacy.tiktoken"},
        {"o200k", "o200k_base.tiktoken"},
        {"cl100k", "cl100k_base.tiktoken"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(name, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

int spill__vocab_path(const char *name, char *out, size_t outlen)
{
    const char *file = name ? vocab_file(name) : NULL;
    if (!file || !out || outlen == 0)
        return SPILL_E_INVAL;

    /* Candidate directories, best first (see bpe.h). */
    char exe_dir[PATH_MAX];
    const ssize_t k = readlink("/proc/self/exe", exe_dir, sizeof exe_dir - 1);
    size_t exe_len = 0;
    if (k > 0) {
        exe_dir[k] = 0;
        char *slash = strrchr(exe_dir, '/');
        if (slash) {
            *slash = 0;
            exe_len = strlen(exe_dir);
        }
    }
    const char *env = getenv("SPILL_VOCAB_DIR");
    const char *dirs[5][2] = {
        {env && *env ? env : NULL, ""},
        {exe_len ? exe_dir : NULL, "/../share/spill/vocab"},
        {exe_len ? exe_dir : NULL, "/../vocab"},
        {exe_len ? exe_dir : NULL, "/../../vocab"},
        {SPILL_VOCAB_DIR_DEFAULT, ""},
    };

    char tried[1024] = "";
    size_t tlen = 0;
    for (size_t i = 0; i < 5; i++) {
        if (!dirs[i][0])
            continue;
        char path[PATH_MAX];
        const int w = snprintf(path, sizeof path, "%s%s/%s", dirs[i][0], dirs[i][1], file);
        if (w < 0 || (size_t)w >= sizeof path)
            continue;
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0) {
            if ((size_t)w >= outlen)
                return SPILL_E_TOOBIG;
            memcpy(out, path, (size_t)w + 1);
            return 0;
        }
        const int t = snprintf(tried + tlen, sizeof tried - tlen, "%s%s", tlen ? ", " : "", path);
        if (t > 0)
            tlen = tlen + (size_t)t < sizeof tried ? tlen + (size_t)t : sizeof tried - 1;
    }
    snprintf(out, outlen, "%s not found (tried %s; set SPILL_VOCAB_DIR)", file, tried);
    return SPILL_E_NOTFOUND;
}
