/* bpe.c - vocabulary loading and exact byte-pair-encoding token counts of one piece.
 *
 * The rank table is an open-addressing hash over one byte blob. Each token is a record
 * in the blob (u32 rank, u16 length, the bytes); a slot holds the upper 32 bits of the
 * token's XXH3 hash as a tag and the record's offset, so a probe touches the record
 * only when the tags agree. Single bytes and byte pairs, the lookups the merge loops
 * make most, also get direct arrays.
 *
 * Counting mirrors tiktoken's byte_pair_encode: a piece that is a token is one token;
 * otherwise parts start as single bytes and the adjacent pair whose concatenation has
 * the lowest rank is merged, the leftmost on ties, until no pair is a token. Short
 * pieces rescan an array (what tiktoken does below 100 bytes: cache-friendly, and n is
 * small); long ones take candidates in (rank, start) order from a radix-sorted list of
 * the initial pairs and a binary heap of the pairs merges form, skipping stale entries,
 * so a long piece costs O(n log n), not O(n^2). Both orders are the same, so the split
 * between the two paths does not change any result. */
#define _GNU_SOURCE
#include "bpe.h"

#include <assert.h>
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

struct spill__ranks {
    uint64_t *slots; /* tag << 32 | record offset; 0 is empty (offset 0 is never used) */
    size_t mask;
    uint8_t *blob; /* the records */
    size_t ntokens;
    size_t max_len; /* longest token: a longer string needs no probe */
    uint32_t max_rank;
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

/* The slot that holds p[0..n) (whose hash is h), or the empty slot where it would go. */
static size_t find_slot(const spill__ranks *r, const uint8_t *p, size_t n, uint64_t h)
{
    const uint64_t tag = h >> 32;
    size_t i = (size_t)h & r->mask;
    for (;;) {
        const uint64_t s = r->slots[i];
        if (s == 0)
            return i;
        if (s >> 32 == tag) {
            const uint8_t *rec = r->blob + (uint32_t)s;
            if (rec_len(rec) == n && memcmp(rec + REC_HDR, p, n) == 0)
                return i;
        }
        i = (i + 1) & r->mask;
    }
}

static uint32_t rank_of(const spill__ranks *r, const uint8_t *p, size_t n)
{
    if (n == 2)
        return r->pair_rank[p[0] << 8 | p[1]];
    if (n == 1)
        return r->byte_rank[p[0]];
    if (n > r->max_len)
        return NONE;
    const uint64_t s = r->slots[find_slot(r, p, n, XXH3_64bits(p, n))];
    return s ? rec_rank(r->blob + (uint32_t)s) : NONE;
}

size_t spill__ranks_size(const spill__ranks *r) { return r->ntokens; }

int64_t spill__ranks_get(const spill__ranks *r, const void *p, size_t n)
{
    if (n == 0)
        return -1;
    const uint32_t k = rank_of(r, p, n);
    return k == NONE ? -1 : (int64_t)k;
}

void spill__ranks_free(spill__ranks *r)
{
    if (!r)
        return;
    free(r->slots);
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
            const uint64_t h = XXH3_64bits(rec + REC_HDR, rec_len(rec));
            __builtin_prefetch(&r->slots[(size_t)h & r->mask], 1);
            hash[queued % AHEAD] = h;
            off[queued % AHEAD] = next;
            next += REC_HDR + rec_len(rec);
        }
        const uint64_t h = hash[i % AHEAD];
        const uint8_t *rec = r->blob + off[i % AHEAD];
        const size_t slot = find_slot(r, rec + REC_HDR, rec_len(rec), h);
        if (r->slots[slot])
            return i + 1;
        r->slots[slot] = h >> 32 << 32 | off[i % AHEAD];
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
    /* Half-full at most: linear probing stays short. */
    size_t nslots = 1024;
    while (nslots < 2 * lines)
        nslots *= 2;
    r->mask = nslots - 1;
    r->slots = calloc(nslots, sizeof *r->slots);
    /* A record takes at most REC_HDR + 3/4 of its line, and offset 0 stays unused. */
    const size_t blob_cap = 8 + size + REC_HDR * lines;
    r->blob = malloc(blob_cap);
    if (!r->slots || !r->blob) {
        rc = fail(err, errlen, SPILL_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
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
    s->mem = NULL;
    s->cap = 0;
}

/* tiktoken's vector variant: part i starts at start[i] (start[m] == n is a sentinel)
 * and pair[i] is the rank of parts i and i+1 together. */
static uint64_t count_small(const spill__ranks *r, const uint8_t *p, size_t n)
{
    uint32_t start[SMALL_PIECE + 1], pair[SMALL_PIECE + 1];
    assert(n >= 2 && n <= SMALL_PIECE);
    for (size_t i = 0; i + 1 < n; i++) {
        start[i] = (uint32_t)i;
        pair[i] = r->pair_rank[p[i] << 8 | p[i + 1]];
    }
    start[n - 1] = (uint32_t)(n - 1);
    pair[n - 1] = NONE;
    start[n] = (uint32_t)n;
    size_t m = n; /* parts */
    for (;;) {
        uint32_t best = NONE;
        size_t i = 0;
        for (size_t k = 0; k + 1 < m; k++)
            if (pair[k] < best) {
                best = pair[k];
                i = k;
            }
        if (best == NONE)
            break;
        /* Part i absorbs part i+1; then re-rank the pairs that now touch it. */
        pair[i] = i + 2 < m ? rank_of(r, p + start[i], start[i + 3] - start[i]) : NONE;
        if (i > 0)
            pair[i - 1] = rank_of(r, p + start[i - 1], start[i + 2] - start[i - 1]);
        memmove(start + i + 1, start + i + 2, (m - i - 1) * sizeof *start);
        memmove(pair + i + 1, pair + i + 2, (m - i - 2) * sizeof *pair);
        m--;
    }
    return m;
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
static uint64_t count_large(const spill__ranks *r, uint8_t *mem, const uint8_t *p, size_t n)
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
            const uint32_t k = rank_of(r, p + s, st[right_end].end - s);
            st[s].pair = k;
            if (k != NONE)
                heap_push(heap, &hlen, (uint64_t)k << 32 | s);
        }
        if (s > 0) {
            const uint32_t ps = st[s].prev;
            const uint32_t k = rank_of(r, p + ps, right_end - ps);
            st[ps].pair = k;
            if (k != NONE)
                heap_push(heap, &hlen, (uint64_t)k << 32 | ps);
        }
    }
    return parts;
}

uint64_t spill__bpe_count(const spill__ranks *r, spill__bpe_scratch *s, const uint8_t *piece, size_t n)
{
    assert(n >= 1);
    if (n <= 1)
        return n;
    if (n <= r->max_len && rank_of(r, piece, n) != NONE)
        return 1;
    if (n <= SMALL_PIECE)
        return count_small(r, piece, n);
    if (n > MAX_PIECE)
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
    return count_large(r, s->mem, piece, n);
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
