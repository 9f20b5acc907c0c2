/* objread.c - open an object file and read byte or line ranges from it.
 *
 * The trailer is validated against the file size before anything is trusted:
 * frame sizes must add up to the file, raw sizes to the content size, and the line
 * index must be monotonic. A read decompresses only the frames that cover the
 * range; each frame's zstd checksum and the seek table's XXH64 are both checked, so
 * a flipped byte anywhere in a frame is reported, never returned. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "store_impl.h"

static int pread_all(int fd, void *p, size_t n, uint64_t off)
{
    unsigned char *b = p;
    while (n) {
        ssize_t k = pread(fd, b, n, (off_t)off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (k == 0)
            return SPILL_E_CORRUPT; /* shorter than its own table says */
        b += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

static int bad(spill__obj *o, int code, const char *what)
{
    snprintf(o->err, sizeof o->err, "%s", what);
    return code;
}

int spill__obj_open(spill__obj *o, int fd)
{
    memset(o, 0, sizeof *o);
    o->fd = fd;
    o->cur = -1;
    struct stat sb;
    unsigned char foot[9];
    uint32_t n;
    int rc;
    if (fstat(fd, &sb) != 0) {
        rc = -errno;
        goto err;
    }
    o->file_size = (uint64_t)sb.st_size;
    if (!S_ISREG(sb.st_mode) || o->file_size < 9) {
        rc = bad(o, SPILL_E_FORMAT, "too short to be an object");
        goto err;
    }
    if ((rc = pread_all(fd, foot, 9, o->file_size - 9)) != 0 ||
        (rc = spill__seek_footer(foot, &n)) != 0) {
        bad(o, rc, "no seek table at the end of the file");
        goto err;
    }
    size_t ts = spill__seek_frame_size(n);
    if (ts > o->file_size) {
        rc = bad(o, SPILL_E_CORRUPT, "seek table larger than the file");
        goto err;
    }
    unsigned char *tbuf = malloc(ts);
    o->ent = malloc(n * sizeof *o->ent);
    o->coff = malloc(n * sizeof *o->coff);
    if (!tbuf || !o->ent || !o->coff) {
        free(tbuf);
        rc = SPILL_E_NOMEM;
        goto err;
    }
    rc = pread_all(fd, tbuf, ts, o->file_size - ts);
    if (rc == 0)
        rc = spill__seek_decode(tbuf, ts, o->ent, n);
    free(tbuf);
    if (rc) {
        bad(o, rc, "unreadable seek table");
        goto err;
    }
    uint64_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        o->coff[i] = off;
        off += o->ent[i].csize;
    }
    spill__seek_entry *me = &o->ent[n - 1];
    if (off + ts != o->file_size || me->dsize != 0 || me->csize < 8 ||
        me->check != (uint32_t)XXH64(NULL, 0, 0)) {
        rc = bad(o, SPILL_E_CORRUPT, "seek table does not add up to the file size");
        goto err;
    }
    if (!(o->metabuf = malloc(me->csize))) {
        rc = SPILL_E_NOMEM;
        goto err;
    }
    if ((rc = pread_all(fd, o->metabuf, me->csize, o->coff[n - 1])) != 0 ||
        (rc = spill__meta_decode(o->metabuf, me->csize, &o->meta)) != 0) {
        bad(o, rc, "unreadable metadata frame");
        goto err;
    }
    o->nframes = n - 1;
    if (o->meta.nframes != o->nframes) {
        rc = bad(o, SPILL_E_CORRUPT, "frame count differs between seek table and metadata");
        goto err;
    }
    size_t bound = ZSTD_compressBound(o->meta.frame_size);
    uint64_t raw = 0;
    for (uint32_t i = 0; i < o->nframes; i++) {
        const spill__seek_entry *e = &o->ent[i];
        int last = i + 1 == o->nframes;
        if (e->csize == 0 || e->csize > bound || e->dsize > o->meta.frame_size ||
            (!last && e->dsize != o->meta.frame_size)) {
            rc = bad(o, SPILL_E_CORRUPT, "frame sizes in the seek table are inconsistent");
            goto err;
        }
        if (e->csize > o->ccap)
            o->ccap = e->csize;
        raw += e->dsize;
    }
    if (raw != o->meta.raw_size) {
        rc = bad(o, SPILL_E_CORRUPT, "frame sizes do not add up to the content size");
        goto err;
    }
    o->lines = o->meta.newlines + ((o->meta.flags & SPILL__FLAG_PARTIAL_LAST) != 0);
    return 0;
err:
    spill__obj_close(o);
    return rc;
}

void spill__obj_close(spill__obj *o)
{
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
    free(o->ent);
    free(o->coff);
    free(o->metabuf);
    free(o->cbuf);
    free(o->dbuf);
    ZSTD_freeDCtx(o->dctx);
    o->ent = NULL;
    o->coff = NULL;
    o->metabuf = o->cbuf = o->dbuf = NULL;
    o->dctx = NULL;
}

int spill__obj_frame(spill__obj *o, uint32_t i, const unsigned char **p, size_t *n)
{
    if (i >= o->nframes)
        return SPILL_E_RANGE;
    const spill__seek_entry *e = &o->ent[i];
    if (o->cur == (int64_t)i) {
        *p = o->dbuf;
        *n = e->dsize;
        return 0;
    }
    if (!o->dctx && !(o->dctx = ZSTD_createDCtx()))
        return SPILL_E_NOMEM;
    if (!o->cbuf && !(o->cbuf = malloc(o->ccap)))
        return SPILL_E_NOMEM;
    if (!o->dbuf && !(o->dbuf = malloc(o->meta.frame_size)))
        return SPILL_E_NOMEM;
    o->cur = -1;
    int rc = pread_all(o->fd, o->cbuf, e->csize, o->coff[i]);
    if (rc) {
        snprintf(o->err, sizeof o->err, "frame %u: cannot read: %s", i, spill_strerror(rc));
        return rc;
    }
    unsigned long long cs = ZSTD_getFrameContentSize(o->cbuf, e->csize);
    size_t r = ZSTD_decompressDCtx(o->dctx, o->dbuf, o->meta.frame_size, o->cbuf, e->csize);
    if (ZSTD_isError(r) || cs != e->dsize || r != e->dsize) {
        snprintf(o->err, sizeof o->err, "frame %u (file offset %llu): %s", i,
                 (unsigned long long)o->coff[i],
                 ZSTD_isError(r) ? ZSTD_getErrorName(r) : "wrong decompressed size");
        return SPILL_E_CORRUPT;
    }
    if ((uint32_t)XXH64(o->dbuf, r, 0) != e->check) {
        snprintf(o->err, sizeof o->err, "frame %u: checksum differs from the seek table", i);
        return SPILL_E_CORRUPT;
    }
    o->cur = i;
    *p = o->dbuf;
    *n = r;
    return 0;
}

int spill__obj_read_bytes(spill__obj *o, uint64_t begin, uint64_t end, spill_sink_fn sink, void *ud)
{
    if (end > o->meta.raw_size)
        end = o->meta.raw_size;
    if (begin > end)
        return SPILL_E_RANGE;
    uint64_t fs = o->meta.frame_size;
    while (begin < end) {
        uint32_t i = (uint32_t)(begin / fs);
        const unsigned char *p;
        size_t n;
        int rc = spill__obj_frame(o, i, &p, &n);
        if (rc)
            return rc;
        uint64_t at = begin - (uint64_t)i * fs;
        uint64_t k = n - at;
        if (k > end - begin)
            k = end - begin;
        rc = sink(ud, p + at, (size_t)k);
        if (rc)
            return rc > 0 ? 0 : rc;
        begin += k;
    }
    return 0;
}

/* Counts newlines while passing bytes on, and stops after the wanted number. */
typedef struct line_sink {
    spill_sink_fn sink;
    void *ud;
    uint64_t left;
} line_sink;

static int lines_cb(void *p, const void *data, size_t size)
{
    line_sink *ls = p;
    const unsigned char *b = data, *end = b + size, *q = b;
    while (ls->left && (q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
        q++;
        if (--ls->left == 0) {
            int rc = ls->sink(ls->ud, b, (size_t)(q - b));
            return rc ? rc : 1;
        }
    }
    return ls->sink(ls->ud, b, size);
}

/* Byte offset where 0-based line l starts (l <= newlines). */
static int line_start(spill__obj *o, uint64_t l, uint64_t *off)
{
    if (l == 0) {
        *off = 0;
        return 0;
    }
    /* The l-th newline lies in the last frame with fewer than l newlines before it. */
    uint32_t lo = 0, hi = o->nframes;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (spill__first_line(&o->meta, mid) < l)
            lo = mid;
        else
            hi = mid;
    }
    const unsigned char *p, *q;
    size_t n;
    int rc = spill__obj_frame(o, lo, &p, &n);
    if (rc)
        return rc;
    uint64_t need = l - spill__first_line(&o->meta, lo);
    for (q = p; (q = memchr(q, '\n', n - (size_t)(q - p))) != NULL; q++)
        if (--need == 0) {
            *off = (uint64_t)lo * o->meta.frame_size + (uint64_t)(q - p) + 1;
            return 0;
        }
    snprintf(o->err, sizeof o->err, "frame %u: line index does not match the content", lo);
    return SPILL_E_CORRUPT;
}

int spill__obj_read_lines(spill__obj *o, uint64_t first, uint64_t last, spill_sink_fn sink, void *ud)
{
    if (first == 0 || first > last)
        return SPILL_E_RANGE;
    if (first > o->lines)
        return SPILL_E_RANGE;
    if (last > o->lines)
        last = o->lines;
    uint64_t off;
    int rc = line_start(o, first - 1, &off);
    if (rc)
        return rc;
    line_sink ls = {sink, ud, last - first + 1};
    return spill__obj_read_bytes(o, off, o->meta.raw_size, lines_cb, &ls);
}

int spill__obj_digest(spill__obj *o, spill__digest *d)
{
    XXH3_state_t *h3 = XXH3_createState();
    XXH64_state_t *h64 = XXH64_createState();
    int rc = SPILL_E_NOMEM;
    if (!h3 || !h64)
        goto out;
    XXH3_128bits_reset(h3);
    XXH64_reset(h64, 0);
    memset(d, 0, sizeof *d);
    d->last = '\n';
    for (uint32_t i = 0; i < o->nframes; i++) {
        const unsigned char *p;
        size_t n;
        if ((rc = spill__obj_frame(o, i, &p, &n)) != 0)
            goto out;
        if (spill__first_line(&o->meta, i) != d->newlines) {
            snprintf(o->err, sizeof o->err, "line index wrong at frame %u", i);
            rc = SPILL_E_CORRUPT;
            goto out;
        }
        XXH3_128bits_update(h3, p, n);
        XXH64_update(h64, p, n);
        for (const unsigned char *q = p; (q = memchr(q, '\n', n - (size_t)(q - p))) != NULL; q++)
            d->newlines++;
        if (n)
            d->last = p[n - 1];
    }
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(h3));
    memcpy(d->hash, c.digest, 16);
    d->xxh64 = XXH64_digest(h64);
    rc = 0;
    if (d->newlines != o->meta.newlines ||
        (o->meta.raw_size && d->last != '\n') != !!(o->meta.flags & SPILL__FLAG_PARTIAL_LAST)) {
        snprintf(o->err, sizeof o->err, "line count differs from the metadata");
        rc = SPILL_E_CORRUPT;
    } else if (memcmp(d->hash, o->meta.hash, 16) != 0 || d->xxh64 != o->meta.xxh64) {
        snprintf(o->err, sizeof o->err, "content hash differs from the metadata");
        rc = SPILL_E_CORRUPT;
    }
out:
    XXH3_freeState(h3);
    XXH64_freeState(h64);
    return rc;
}
