/* writer.c - the streaming object writer.
 *
 * Bytes are cut into frames of frame_size raw bytes. The calling thread copies them
 * into a ring of slots, hashes them (XXH3-128 for the id, XXH64 as the independent
 * checksum that confirms dedup hits) and counts newlines; worker threads compress
 * slots, one zstd context each; the calling thread writes compressed frames to the
 * temp file strictly in order. The ring has threads + 2 slots, so memory is bounded
 * by (threads + 2) * (frame_size + compressBound(frame_size)) whatever the total.
 *
 * Commit follows the crash-safe recipe: temp file under objects/ (same filesystem
 * as the final name) -> fdatasync -> link to objects/xx/<rest>.zst -> fsync(xx) ->
 * index row (inside the index's write lock, relinking if a GC removed the name
 * meanwhile) -> unlink temp. A crash at any point leaves at worst a temp file or an
 * unindexed complete object, both swept by GC; never a row without a file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "store_impl.h"

enum { SLOT_FREE, SLOT_READY, SLOT_BUSY, SLOT_DONE };
enum { MAX_COLLISIONS = 64 };

typedef struct slot {
    unsigned char *raw, *out;
    size_t len, out_len;
    uint64_t frame;
    uint32_t check;
    int state, err;
} slot;

struct spill_writer {
    spill_store *st;
    char mime[128], name[256], session[256], server[256], tool[256], request_id[256];
    char counter[32];
    uint64_t tokens;
    int fd;
    char tmpname[64];
    XXH3_state_t *h3;
    XXH64_state_t *h64;
    uint64_t raw_size, newlines, comp_size;
    unsigned char last_byte;
    unsigned char sniff[4096];
    size_t sniff_len;
    spill__seek_entry *ent;
    uint64_t *first_line;
    size_t nframes, cap;
    size_t frame_size, out_cap;
    slot *slots;
    int nslots, fill, head, submitted, written;
    int nthreads, stop;
    pthread_t *tids;
    ZSTD_CCtx **cctx;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    int err;
};

static int copy_field(char *dst, size_t cap, const char *src)
{
    if (!src) {
        dst[0] = 0;
        return 0;
    }
    size_t n = strlen(src);
    if (n >= cap)
        return SPILL_E_TOOBIG;
    memcpy(dst, src, n + 1);
    return 0;
}

typedef struct worker_arg { spill_writer *w; int idx; } worker_arg;

static void *worker_main(void *p)
{
    worker_arg *a = p;
    spill_writer *w = a->w;
    ZSTD_CCtx *cctx = w->cctx[a->idx];
    pthread_mutex_lock(&w->mu);
    for (;;) {
        slot *s = NULL;
        for (int i = 0; i < w->nslots && !s; i++) {
            slot *c = &w->slots[(w->head + i) % w->nslots];
            if (c->state == SLOT_READY)
                s = c; /* the oldest ready slot: frames finish roughly in order */
        }
        if (!s) {
            if (w->stop)
                break;
            pthread_cond_wait(&w->work_cv, &w->mu);
            continue;
        }
        s->state = SLOT_BUSY;
        pthread_mutex_unlock(&w->mu);
        size_t r = ZSTD_compress2(cctx, s->out, w->out_cap, s->raw, s->len);
        uint32_t check = (uint32_t)XXH64(s->raw, s->len, 0);
        pthread_mutex_lock(&w->mu);
        s->err = ZSTD_isError(r) ? SPILL_E_ZSTD : 0;
        s->out_len = ZSTD_isError(r) ? 0 : r;
        s->check = check;
        s->state = SLOT_DONE;
        pthread_cond_broadcast(&w->done_cv);
    }
    pthread_mutex_unlock(&w->mu);
    free(a);
    return NULL;
}

static int write_all(int fd, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n) {
        ssize_t k = write(fd, b, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

static int grow_tables(spill_writer *w)
{
    if (w->nframes < w->cap)
        return 0;
    if (w->nframes >= SPILL__MAX_FRAMES)
        return SPILL_E_TOOBIG;
    size_t cap = w->cap ? w->cap * 2 : 64;
    void *e = realloc(w->ent, (cap + 1) * sizeof *w->ent);
    if (!e)
        return SPILL_E_NOMEM;
    w->ent = e;
    void *f = realloc(w->first_line, cap * sizeof *w->first_line);
    if (!f)
        return SPILL_E_NOMEM;
    w->first_line = f;
    w->cap = cap;
    return 0;
}

/* Writes out the oldest slot if it is compressed; with wait set, waits for it.
 * Called with the mutex held; returns with it held. */
static int drain_one(spill_writer *w, int wait)
{
    slot *s = &w->slots[w->head];
    while (s->state != SLOT_DONE) {
        if (!wait || w->written == w->submitted)
            return 0;
        pthread_cond_wait(&w->done_cv, &w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    int rc = s->err;
    if (rc == 0 && s->out_len > UINT32_MAX)
        rc = SPILL_E_TOOBIG;
    if (rc == 0)
        rc = write_all(w->fd, s->out, s->out_len);
    if (rc == 0) {
        w->ent[s->frame].csize = (uint32_t)s->out_len;
        w->ent[s->frame].check = s->check;
        w->comp_size += s->out_len;
    }
    pthread_mutex_lock(&w->mu);
    s->state = SLOT_FREE;
    s->len = 0;
    w->head = (w->head + 1) % w->nslots;
    w->written++;
    return rc ? rc : 1;
}

/* Newlines in p[0..n). memchr costs a call per line, which on text of short lines is
 * most of the time; SSE2 compares 16 bytes a step and sums the hits in byte lanes,
 * folded with psadbw before a lane can pass 255. */
static uint64_t count_newlines(const unsigned char *p, size_t n)
{
    uint64_t total = 0;
#if defined(__SSE2__)
    const __m128i nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
    while (n >= 16) {
        const size_t steps = n / 16 < 255 ? n / 16 : 255;
        __m128i acc = zero;
        for (size_t i = 0; i < steps; i++, p += 16)
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), nl));
        uint64_t half[2];
        _mm_storeu_si128((__m128i *)(void *)half, _mm_sad_epu8(acc, zero));
        total += half[0] + half[1];
        n -= steps * 16;
    }
#endif
    for (; n; n--, p++)
        total += *p == '\n';
    return total;
}

/* Hands the filling slot to the workers and makes the next slot free to fill. */
static int submit(spill_writer *w)
{
    slot *s = &w->slots[w->fill];
    int rc = grow_tables(w);
    if (rc)
        return rc;
    XXH3_128bits_update(w->h3, s->raw, s->len);
    XXH64_update(w->h64, s->raw, s->len);
    w->first_line[w->nframes] = w->newlines;
    w->ent[w->nframes].dsize = (uint32_t)s->len;
    w->newlines += count_newlines(s->raw, s->len);
    if (s->len)
        w->last_byte = s->raw[s->len - 1];
    s->frame = w->nframes++;
    pthread_mutex_lock(&w->mu);
    s->state = SLOT_READY;
    w->submitted++;
    pthread_cond_signal(&w->work_cv);
    w->fill = (w->fill + 1) % w->nslots;
    while (rc >= 0 && (rc = drain_one(w, w->slots[w->fill].state != SLOT_FREE)) > 0)
        ;
    pthread_mutex_unlock(&w->mu);
    return rc < 0 ? rc : 0;
}

static void stop_workers(spill_writer *w)
{
    if (!w->tids)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->work_cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->nthreads; i++)
        pthread_join(w->tids[i], NULL);
    free(w->tids);
    w->tids = NULL;
}

static void writer_free(spill_writer *w)
{
    stop_workers(w);
    if (w->fd >= 0) {
        close(w->fd);
        unlinkat(w->st->objfd, w->tmpname, 0);
    }
    for (int i = 0; w->slots && i < w->nslots; i++) {
        free(w->slots[i].raw);
        free(w->slots[i].out);
    }
    for (int i = 0; w->cctx && i < w->nthreads; i++)
        ZSTD_freeCCtx(w->cctx[i]);
    free(w->cctx);
    free(w->slots);
    free(w->ent);
    free(w->first_line);
    XXH3_freeState(w->h3);
    XXH64_freeState(w->h64);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->work_cv);
    pthread_cond_destroy(&w->done_cv);
    free(w);
}

int spill_writer_begin(spill_store *st, spill_writer **out, const spill_put_info *pi)
{
    *out = NULL;
    if (st->opts.read_only)
        return spill__fail(st, -EROFS, "store opened read-only");
    spill_writer *w = calloc(1, sizeof *w);
    if (!w)
        return SPILL_E_NOMEM;
    w->st = st;
    w->fd = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work_cv, NULL);
    pthread_cond_init(&w->done_cv, NULL);
    int rc = 0;
    spill_put_info none = {0};
    if (!pi)
        pi = &none;
    if ((rc = copy_field(w->mime, sizeof w->mime, pi->mime)) ||
        (rc = copy_field(w->name, sizeof w->name, pi->name)) ||
        (rc = copy_field(w->session, sizeof w->session, pi->session)) ||
        (rc = copy_field(w->server, sizeof w->server, pi->server)) ||
        (rc = copy_field(w->tool, sizeof w->tool, pi->tool)) ||
        (rc = copy_field(w->request_id, sizeof w->request_id, pi->request_id)) ||
        (rc = copy_field(w->counter, sizeof w->counter, pi->token_counter))) {
        spill__fail(st, rc, "a put field is longer than 255 bytes");
        goto err;
    }
    w->tokens = pi->tokens;
    w->frame_size = st->opts.frame_size;
    w->out_cap = ZSTD_compressBound(w->frame_size);
    w->nthreads = st->opts.threads;
    w->nslots = w->nthreads + 2;
    w->h3 = XXH3_createState();
    w->h64 = XXH64_createState();
    w->slots = calloc((size_t)w->nslots, sizeof *w->slots);
    w->cctx = calloc((size_t)w->nthreads, sizeof *w->cctx);
    w->tids = calloc((size_t)w->nthreads, sizeof *w->tids);
    rc = SPILL_E_NOMEM;
    if (!w->h3 || !w->h64 || !w->slots || !w->cctx || !w->tids)
        goto err;
    XXH3_128bits_reset(w->h3);
    XXH64_reset(w->h64, 0);
    for (int i = 0; i < w->nslots; i++) {
        w->slots[i].raw = malloc(w->frame_size);
        w->slots[i].out = malloc(w->out_cap);
        if (!w->slots[i].raw || !w->slots[i].out)
            goto err;
    }
    for (int i = 0; i < w->nthreads; i++) {
        if (!(w->cctx[i] = ZSTD_createCCtx()))
            goto err;
        ZSTD_CCtx_setParameter(w->cctx[i], ZSTD_c_compressionLevel, st->opts.level);
        ZSTD_CCtx_setParameter(w->cctx[i], ZSTD_c_checksumFlag, 1);
        ZSTD_CCtx_setParameter(w->cctx[i], ZSTD_c_contentSizeFlag, 1);
    }
    static unsigned counter;
    for (int tries = 0; w->fd < 0; tries++) {
        snprintf(w->tmpname, sizeof w->tmpname, ".tmp-%ld-%u-%08lx", (long)getpid(),
                 __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED),
                 (unsigned long)(spill__now_ns() & 0xffffffff));
        w->fd = openat(st->objfd, w->tmpname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                       0600);
        if (w->fd < 0 && (errno != EEXIST || tries > 16)) {
            rc = spill__fail(st, -errno, "cannot create a temp file in %s/objects: %s", st->dir,
                             strerror(errno));
            goto err;
        }
    }
    for (int i = 0; i < w->nthreads; i++) {
        worker_arg *a = malloc(sizeof *a);
        if (!a) {
            w->nthreads = i; /* join the ones already started */
            rc = SPILL_E_NOMEM;
            goto err;
        }
        a->w = w;
        a->idx = i;
        if (pthread_create(&w->tids[i], NULL, worker_main, a) != 0) {
            free(a);
            w->nthreads = i;
            rc = SPILL_E_NOMEM;
            goto err;
        }
    }
    *out = w;
    return 0;
err:
    if (rc == SPILL_E_NOMEM)
        spill__fail(st, rc, "out of memory starting a writer");
    writer_free(w);
    return rc;
}

int spill_writer_write(spill_writer *w, const void *data, size_t size)
{
    if (w->err)
        return w->err;
    const unsigned char *p = data;
    if (w->sniff_len < sizeof w->sniff) {
        size_t k = sizeof w->sniff - w->sniff_len;
        if (k > size)
            k = size;
        memcpy(w->sniff + w->sniff_len, p, k);
        w->sniff_len += k;
    }
    while (size) {
        slot *s = &w->slots[w->fill];
        size_t k = w->frame_size - s->len;
        if (k > size)
            k = size;
        memcpy(s->raw + s->len, p, k);
        s->len += k;
        p += k;
        size -= k;
        w->raw_size += k;
        if (s->len == w->frame_size) {
            int rc = submit(w);
            if (rc) {
                w->err = rc;
                return spill__fail(w->st, rc, "writing %s/objects/%s: %s", w->st->dir, w->tmpname,
                                   spill_strerror(rc));
            }
        }
    }
    return 0;
}

int spill_writer_set_meta(spill_writer *w, const char *mime, uint64_t tokens,
                          const char *token_counter)
{
    if (mime && strlen(mime) >= sizeof w->mime)
        return SPILL_E_TOOBIG;
    if (token_counter && strlen(token_counter) >= sizeof w->counter)
        return SPILL_E_TOOBIG;
    if (mime)
        memcpy(w->mime, mime, strlen(mime) + 1);
    if (token_counter)
        memcpy(w->counter, token_counter, strlen(token_counter) + 1);
    if (tokens)
        w->tokens = tokens;
    return 0;
}

void spill_writer_abort(spill_writer *w)
{
    if (w)
        writer_free(w);
}

/* ---- commit ---- */

typedef struct link_ctx {
    spill_writer *w;
    int xxfd;
    char name[40];
} link_ctx;

/* 1: the file at name holds the same content; 0: a different content (a real hash
 * collision); < 0: unreadable or corrupt. The existing file is decompressed and
 * hashed in full: a dedup hit is confirmed on the bytes (both hashes and the size),
 * not on the name, and a damaged copy is found and replaced rather than handed out.
 * Reading is ~5x faster than the compression just done, so this costs little. */
typedef struct file_facts {
    uint64_t size;
    uint32_t frame_size, nframes;
} file_facts;

static int same_content(spill_writer *w, int xxfd, const char *name, uint32_t flags, file_facts *ff)
{
    int fd = openat(xxfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    spill__obj o;
    int rc = spill__obj_open(&o, fd);
    if (rc)
        return rc;
    spill__digest d;
    XXH128_canonical_t mine;
    XXH128_canonicalFromHash(&mine, XXH3_128bits_digest(w->h3));
    rc = o.meta.raw_size == w->raw_size && o.meta.xxh64 == XXH64_digest(w->h64) &&
         (o.meta.flags & SPILL__FLAG_WEAK_ID) == (flags & SPILL__FLAG_WEAK_ID) &&
         memcmp(o.meta.hash, mine.digest, 16) == 0;
    if (rc == 1) {
        int e = spill__obj_digest(&o, &d);
        rc = e ? e : d.xxh64 == XXH64_digest(w->h64) && memcmp(d.hash, mine.digest, 16) == 0;
    }
    ff->size = o.file_size;
    ff->frame_size = o.meta.frame_size;
    ff->nframes = o.nframes;
    spill__obj_close(&o);
    return rc;
}

/* Runs inside the index's write transaction: puts the name back if a GC in another
 * process unlinked it after our link(). */
static int ensure_linked(void *p)
{
    link_ctx *c = p;
    struct stat sb;
    if (fstatat(c->xxfd, c->name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
        return S_ISREG(sb.st_mode) ? 0 : SPILL_E_UNSAFE;
    if (errno != ENOENT)
        return -errno;
    if (linkat(c->w->st->objfd, c->w->tmpname, c->xxfd, c->name, 0) != 0)
        return -errno;
    return fsync(c->xxfd) ? -errno : 0;
}

static int finish_frames(spill_writer *w)
{
    /* An empty object still gets one (empty) frame: every reader then sees at least
     * one frame, and `zstd -d` prints nothing for it. */
    if (w->slots[w->fill].len || w->nframes == 0) {
        int rc = submit(w);
        if (rc)
            return rc;
    }
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    while (rc >= 0 && w->written < w->submitted)
        rc = drain_one(w, 1);
    pthread_mutex_unlock(&w->mu);
    stop_workers(w);
    return rc < 0 ? rc : 0;
}

static int write_trailer(spill_writer *w, uint32_t flags, const char *mime)
{
    spill__meta m = {0};
    m.version = SPILL__META_VERSION;
    m.flags = flags;
    m.frame_size = (uint32_t)w->frame_size;
    m.nframes = (uint32_t)w->nframes;
    m.raw_size = w->raw_size;
    m.newlines = w->newlines;
    m.xxh64 = XXH64_digest(w->h64);
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(w->h3));
    memcpy(m.hash, c.digest, 16);
    m.created_ns = spill__now_ns();
    snprintf(m.mime, sizeof m.mime, "%s", mime);
    size_t ms = spill__meta_frame_size(w->nframes, strlen(m.mime));
    size_t ss = spill__seek_frame_size(w->nframes + 1);
    unsigned char *buf = malloc(ms + ss);
    if (!buf)
        return SPILL_E_NOMEM;
    spill__meta_encode(buf, &m, w->first_line);
    w->ent[w->nframes].csize = (uint32_t)ms;
    w->ent[w->nframes].dsize = 0;
    w->ent[w->nframes].check = (uint32_t)XXH64(NULL, 0, 0);
    spill__seek_encode(buf + ms, w->ent, w->nframes + 1);
    int rc = write_all(w->fd, buf, ms + ss);
    free(buf);
    w->comp_size += ms + ss;
    return rc;
}

int spill_writer_commit(spill_writer *w, spill_object_info *info)
{
    spill_store *st = w->st;
    int rc = w->err;
    link_ctx lc = {w, -1, {0}};
    if (rc)
        goto out;
    if ((rc = finish_frames(w)) != 0) {
        spill__fail(st, rc, "writing %s/objects/%s: %s", st->dir, w->tmpname, spill_strerror(rc));
        goto out;
    }
    uint32_t flags = (st->weak_id ? SPILL__FLAG_WEAK_ID : 0) |
                     (w->raw_size && w->last_byte != '\n' ? SPILL__FLAG_PARTIAL_LAST : 0);
    const char *mime = w->mime[0] ? w->mime : spill__sniff_mime(w->sniff, w->sniff_len);
    if ((rc = write_trailer(w, flags, mime)) != 0 || (fdatasync(w->fd) != 0 && (rc = -errno))) {
        spill__fail(st, rc, "writing %s/objects/%s: %s", st->dir, w->tmpname, spill_strerror(rc));
        goto out;
    }
    uint8_t base[16], id[16];
    spill__content_id(st, w->h3, base);
    uint64_t xxh = XXH64_digest(w->h64);
    int deduped = 0;
    file_facts ff = {w->comp_size, (uint32_t)w->frame_size, (uint32_t)w->nframes};
    for (uint32_t k = 0;; k++) {
        if (k > MAX_COLLISIONS) {
            rc = spill__fail(st, SPILL_E_COLLISION, "more than %d stored contents share this hash",
                             MAX_COLLISIONS);
            goto out;
        }
        if (k == 0)
            memcpy(id, base, 16);
        else
            spill__collision_id(base, xxh, k, id);
        if (lc.xxfd >= 0)
            close(lc.xxfd);
        if ((lc.xxfd = spill__open_fanout(st, id, 1)) < 0) {
            rc = lc.xxfd;
            goto out;
        }
        spill__object_name(id, lc.name);
        if (linkat(st->objfd, w->tmpname, lc.xxfd, lc.name, 0) == 0) {
            if (fsync(lc.xxfd) != 0) {
                rc = spill__fail(st, -errno, "fsync of %s/objects: %s", st->dir, strerror(errno));
                goto out;
            }
            break;
        }
        if (errno != EEXIST) {
            rc = spill__fail(st, -errno, "link into %s/objects: %s", st->dir, strerror(errno));
            goto out;
        }
        file_facts theirs = {0};
        int same = same_content(w, lc.xxfd, lc.name, flags, &theirs);
        if (same == 1) {
            ff = theirs; /* the row must describe the copy that stays */
            deduped = 1;
            break;
        }
        if (same < 0) {
            /* The file under our id is damaged: replace it with our good copy. */
            if (unlinkat(lc.xxfd, lc.name, 0) != 0 && errno != ENOENT) {
                rc = spill__fail(st, -errno, "cannot replace damaged object: %s", strerror(errno));
                goto out;
            }
            k--; /* retry the same id */
        }
        /* same == 0: a different content under this id; try the next collision id. */
    }
    spill_index_row row = {0};
    memcpy(row.id, id, 16);
    row.raw_size = w->raw_size;
    row.comp_size = ff.size;
    row.lines = w->newlines + ((flags & SPILL__FLAG_PARTIAL_LAST) != 0);
    row.tokens = w->tokens;
    row.xxh64 = xxh;
    row.frame_size = ff.frame_size;
    row.nframes = ff.nframes;
    row.created_ns = row.atime_ns = spill__now_ns();
    snprintf(row.token_counter, sizeof row.token_counter, "%s", w->counter);
    snprintf(row.mime, sizeof row.mime, "%s", mime);
    snprintf(row.name, sizeof row.name, "%s", w->name);
    spill_index_event ev = {row.created_ns, w->session, w->server, w->tool, w->request_id};
    int existed = 0;
    rc = spill_index_commit(st->ix, &row, &ev, ensure_linked, &lc, &existed);
    if (rc) {
        spill__fail(st, rc, "%s", spill_index_errmsg(st->ix));
        goto out;
    }
    if (info) {
        char hex[SPILL_ID_HEX + 1];
        spill__id_to_hex(id, hex);
        rc = spill_store_stat(st, hex, info);
        info->deduplicated = deduped || existed;
    }
out:
    if (lc.xxfd >= 0)
        close(lc.xxfd);
    writer_free(w); /* closes and unlinks the temp file */
    return rc;
}

int spill_store_put(spill_store *st, const void *data, size_t size, const spill_put_info *pi,
                    spill_object_info *info)
{
    spill_writer *w;
    int rc = spill_writer_begin(st, &w, pi);
    if (rc)
        return rc;
    if ((rc = spill_writer_write(w, data, size)) != 0) {
        spill_writer_abort(w);
        return rc;
    }
    return spill_writer_commit(w, info);
}
