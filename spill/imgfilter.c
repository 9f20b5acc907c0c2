/* imgfilter.c - images in the filter: counted by pixels, kept whole or downscaled.
 * See imgfilter.h. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter_impl.h"
#include "imgscale.h"

/* ---- probe ---- */

enum { IC_MAGIC = 0, IC_IMAGE, IC_TEXT };

int spill__img_candidate(const spill__walk *w, int depth)
{
    return depth >= 1 && w->st[depth - 1].key == K_DATA && w->st[depth - 1].role == R_CITEM;
}

void spill__imgcount_begin(spill__imgcount *c) { memset(c, 0, sizeof *c); }

/* Decodes base64 into the header reader (until it is done); -1 if not base64. */
static int sniff(spill__imgcount *c, const unsigned char *p, size_t n)
{
    unsigned char out[3 * 256 / 4 + 3];
    for (size_t i = 0; i < n && c->hdr.state == 0; i += 256) {
        size_t k = n - i < 256 ? n - i : 256;
        long d = spill__b64_decode(&c->b64, p + i, k, out);
        if (d < 0)
            return -1;
        spill__imghdr_feed(&c->hdr, out, (size_t)d);
    }
    return 0;
}

int spill__imgcount_feed(spill__imgcount *c, const void *data, size_t n, spill__span out[2])
{
    const unsigned char *p = data;
    c->chars += n;
    if (c->mode == IC_TEXT) {
        out[0].p = p, out[0].n = n;
        return 1;
    }
    if (c->mode == IC_IMAGE) {
        if (c->hdr.state == 0 && sniff(c, p, n) < 0)
            c->hdr.state = -1;
        return 0;
    }
    /* Reading the magic: a few characters at a time, each kept until it tells. */
    size_t i = 0;
    while (i < n && c->mode == IC_MAGIC) {
        size_t k = sizeof c->stash - c->stash_n;
        k = k < 4 ? k : 4;
        k = k < n - i ? k : n - i;
        if (k == 0) { /* 64 characters and no magic (whitespace?): text */
            c->mode = IC_TEXT;
            break;
        }
        memcpy(c->stash + c->stash_n, p + i, k);
        c->stash_n += k;
        if (sniff(c, p + i, k) < 0 || c->hdr.state < 0)
            c->mode = IC_TEXT;
        else if (c->hdr.fmt)
            c->mode = IC_IMAGE;
        i += k;
    }
    if (c->mode == IC_TEXT) {
        out[0].p = c->stash, out[0].n = c->stash_n;
        out[1].p = p + i, out[1].n = n - i;
        return 2;
    }
    if (c->mode == IC_IMAGE && i < n && sniff(c, p + i, n - i) < 0)
        c->hdr.state = -1;
    return 0;
}

int spill__imgcount_end(spill__imgcount *c, int rule, uint64_t threshold, uint64_t *tokens, int *force,
                        spill__span out[2])
{
    *tokens = 0;
    *force = 0;
    if (c->mode == IC_MAGIC) { /* ended before it told: text, as it came */
        c->mode = IC_TEXT;
        out[0].p = c->stash, out[0].n = c->stash_n;
        return 1;
    }
    if (c->mode == IC_TEXT)
        return 0;
    if (spill__imghdr_finish(&c->hdr) != 1) {
        *force = 1; /* an image by its magic, but not one spill can size: stored */
        return 0;
    }
    *tokens = spill__img_tokens(rule, c->hdr.width, c->hdr.height);
    *force = c->chars / 4 * 3 > SPILL__IMG_MAX_BYTES || c->hdr.width > SPILL__IMG_MAX_SIDE ||
             c->hdr.height > SPILL__IMG_MAX_SIDE || *tokens > threshold;
    return 0;
}

/* ---- rewrite ---- */

struct spill__rwimg {
    char *txt;                 /* the base64 as it came (unescaped); decoded in place later */
    size_t len, cap;
    int over;                  /* past SPILL__IMG_KEEP_MAX: being stored as it streams */
    uint64_t kept_tokens;      /* of the images this result passes on */
    char *b64;                 /* the downscaled copy, for the item's rebuild */
    size_t b64_len;
    char mime[32];
    char note[600];
};

#define TXT_MAX ((size_t)SPILL__IMG_KEEP_MAX / 3 * 4 + 4096)

static spill__rwimg *get(spill_filter *f, spill__rw *r)
{
    if (!r->img && (r->img = spill__falloc(f, sizeof *r->img)) != NULL)
        memset(r->img, 0, sizeof *r->img);
    return r->img;
}

static void drop_txt(spill_filter *f, spill__rwimg *ri)
{
    spill__ffree(f, ri->txt);
    ri->txt = NULL;
    ri->len = ri->cap = 0;
}

void spill__rwimg_reset(spill_filter *f, spill__rw *r)
{
    if (!r->img)
        return;
    drop_txt(f, r->img);
    spill__ffree(f, r->img->b64);
    memset(r->img, 0, sizeof *r->img);
}

void spill__rwimg_free(spill_filter *f, spill__rw *r)
{
    spill__rwimg_reset(f, r);
    spill__ffree(f, r->img);
    r->img = NULL;
}

/* Decodes ri->txt in place with the payload's decoder (so the stream can go on from
 * it); returns the decoded length, or -1 if the base64 is malformed. */
static long decode_in_place(spill__rw *r)
{
    spill__rwimg *ri = r->img;
    long d = spill__b64_decode(&r->pl.b64, (unsigned char *)ri->txt, ri->len, (unsigned char *)ri->txt);
    return d;
}

int spill__rwimg_data(spill_filter *f, spill__rw *r, const unsigned char *p, size_t n)
{
    spill__rwimg *ri = get(f, r);
    if (!ri)
        return spill__ferror(f, SPILL_E_NOMEM, 0, "out of memory keeping an image");
    if (ri->len + n > TXT_MAX) {
        /* Too big to keep: stored as it streams, as any large payload (no copy then). */
        long d = decode_in_place(r);
        if (d < 0)
            d = 0; /* process() reports the malformed base64 as the stream goes on */
        int rc = spill__rw_spill_decoded(f, (unsigned char *)ri->txt, (size_t)d);
        drop_txt(f, ri);
        ri->over = 1;
        r->pl.img = 0;
        snprintf(ri->note, sizeof ri->note, "[spill] The image is over %u MB, more than spill downscales in "
                 "memory; it is stored whole.", SPILL__IMG_KEEP_MAX >> 20);
        return rc ? rc : 1; /* the caller streams p[0..n) on through the usual path */
    }
    if (ri->len + n > ri->cap) {
        size_t cap = ri->cap ? ri->cap : 64u << 10;
        while (cap < ri->len + n)
            cap *= 2;
        cap = cap > TXT_MAX ? TXT_MAX : cap;
        char *q = spill__frealloc(f, ri->txt, cap);
        if (!q)
            return spill__ferror(f, SPILL_E_NOMEM, 0, "out of memory keeping an image");
        ri->txt = q;
        ri->cap = cap;
    }
    memcpy(ri->txt + ri->len, p, n);
    ri->len += n;
    return 0;
}

/* Validates the kept base64 and reads the header, without changing it. */
static int inspect(spill__rw *r, uint64_t *bytes, spill__imghdr *h)
{
    spill__rwimg *ri = r->img;
    spill__b64 b;
    memset(&b, 0, sizeof b);
    spill__imghdr_init(h);
    *bytes = 0;
    for (size_t i = 0; i < ri->len; i += SPILL__SCAN_CHUNK) {
        size_t k = ri->len - i < SPILL__SCAN_CHUNK ? ri->len - i : SPILL__SCAN_CHUNK;
        long d = spill__b64_decode(&b, (unsigned char *)ri->txt + i, k, r->pl.b64out);
        if (d < 0)
            return -1;
        if (h->state == 0)
            spill__imghdr_feed(h, r->pl.b64out, (size_t)d);
        *bytes += (uint64_t)d;
    }
    spill__imghdr_finish(h);
    return spill__b64_finish(&b);
}

static const char *human(uint64_t n, char *buf, size_t cap)
{
    if (n >= 1u << 20)
        snprintf(buf, cap, "%.1f MB", n / 1048576.0);
    else
        snprintf(buf, cap, "%.0f KB", n / 1024.0);
    return buf;
}

/* Makes the downscaled copy (ri->b64) of the decoded image p[0..n); 0, or a reason. */
static const char *reduce(spill_filter *f, spill__rwimg *ri, const unsigned char *p, size_t n, int rule,
                          uint32_t w, uint32_t h, uint64_t budget, uint32_t *ow, uint32_t *oh)
{
    uint32_t tw, th;
    if (spill__img_fit(rule, w, h, budget, &tw, &th) != 0)
        return "no copy fits in what is left of the token threshold";
    if (tw > SPILL__IMG_MAX_SIDE || th > SPILL__IMG_MAX_SIDE)
        return "internal: the copy would be too large";
    spill__imgout o;
    int rc = spill__img_downscale(p, n, tw, th, SPILL__IMG_MAX_BYTES, &o);
    if (rc)
        return spill__imgs_strerror(rc);
    char *b = spill__falloc(f, (o.len + 2) / 3 * 4 + 1);
    if (!b) {
        free(o.data);
        return "out of memory";
    }
    ri->b64 = b;
    ri->b64_len = spill__b64_encode(b, o.data, o.len);
    snprintf(ri->mime, sizeof ri->mime, "%s", o.mime);
    *ow = o.width;
    *oh = o.height;
    free(o.data);
    return NULL;
}

int spill__rwimg_end(spill_filter *f, spill__rw *r)
{
    spill__rwimg *ri = get(f, r);
    rw_payload *pl = &r->pl;
    if (!ri)
        return spill__ferror(f, SPILL_E_NOMEM, 0, "out of memory keeping an image");
    const dirstate *d = &f->d[SPILL_S2C];
    const int rule = spill__img_rule(f->counter->name);
    uint64_t bytes;
    spill__imghdr h;
    const int valid = inspect(r, &bytes, &h) == 0;
    const int image = valid && h.state == 1;
    const uint64_t tokens = image ? spill__img_tokens(rule, h.width, h.height) : 0;
    const uint64_t budget = d->threshold > ri->kept_tokens ? d->threshold - ri->kept_tokens : 0;
    const char *why = !image ? NULL
                    : bytes > SPILL__IMG_MAX_BYTES ? "over 5 MB"
                    : h.width > SPILL__IMG_MAX_SIDE || h.height > SPILL__IMG_MAX_SIDE ? "over 8000 px on a side"
                    : tokens > budget ? "over the token threshold"
                    : r->out.len + ri->len + 64 > r->out.max ? "more than the result's size limit" : NULL;
    int rc = 0;
    if ((image && !why) || (!image && ri->len <= f->o.min_spill_bytes)) {
        /* Passed on as it is: the image whole (or a small non-image, as any small value). */
        if (image)
            ri->kept_tokens += tokens;
        spill__buf_json(&r->out, ri->txt ? ri->txt : "", ri->len);
        drop_txt(f, ri);
        return 0;
    }
    char b1[32], b2[32];
    if (!valid) { /* not base64 after all: stored as the text it is */
        pl->slot = S_TEXT_REBUILD;
        rc = spill__rw_spill_decoded(f, (unsigned char *)ri->txt, ri->len);
        drop_txt(f, ri);
        return rc;
    }
    long n = decode_in_place(r);
    const unsigned char *p = (const unsigned char *)ri->txt;
    if (image) {
        uint32_t ow = 0, oh = 0;
        const char *fail = reduce(f, ri, p, (size_t)n, rule, h.width, h.height, budget, &ow, &oh);
        if (!fail) {
            ri->kept_tokens += spill__img_tokens(rule, ow, oh);
            snprintf(ri->note, sizeof ri->note, "[spill] The image (%s, %ux%u px, %s) is %s for the model to "
                     "take whole; the image item is a copy scaled to %ux%u px (%s). The original is stored byte "
                     "for byte:", spill__img_mime(h.fmt), h.width, h.height, human(bytes, b1, sizeof b1), why,
                     ow, oh, ri->mime);
        } else {
            snprintf(ri->note, sizeof ri->note, "[spill] The image (%s, %ux%u px, %s) is %s for the model to "
                     "take whole, and no smaller copy was made (%s). The original is stored byte for byte:",
                     spill__img_mime(h.fmt), h.width, h.height, human(bytes, b1, sizeof b1), why, fail);
        }
    } else {
        const char *mime;
        double sec;
        if (spill__audio_info(p, (size_t)n, &mime, &sec)) {
            if (sec >= 0)
                snprintf(ri->note, sizeof ri->note, "audio: %s, %.3f s, %s", mime, sec, human((uint64_t)n, b2, sizeof b2));
            else
                snprintf(ri->note, sizeof ri->note, "audio: %s, duration not in its header, %s", mime,
                         human((uint64_t)n, b2, sizeof b2));
        }
    }
    rc = spill__rw_spill_decoded(f, p, (size_t)n);
    drop_txt(f, ri);
    return rc;
}

int spill__rwimg_item_head(spill_filter *f, spill__rw *r, spill__buf *b)
{
    spill__rwimg *ri = r->img;
    if (!ri)
        return 0;
    if (ri->note[0]) {
        spill__buf t = r->item_text;
        spill__buf n = {0};
        n.realloc = spill__frealloc;
        n.ctx = f;
        n.max = r->item_text.max;
        spill__buf_printf(&n, "%s\n", ri->note);
        spill__buf_put(&n, t.p, t.len);
        if (!n.oom && !n.full) {
            spill__ffree(f, r->item_text.p);
            r->item_text.p = n.p;
            r->item_text.len = n.len;
            r->item_text.cap = n.cap;
        } else {
            spill__ffree(f, n.p);
        }
        ri->note[0] = 0;
    }
    if (!ri->b64)
        return 0;
    spill__buf_printf(b, "{\"type\":\"image\",\"data\":");
    spill__buf_json(b, ri->b64, ri->b64_len);
    spill__buf_printf(b, ",\"mimeType\":");
    spill__buf_json(b, ri->mime, strlen(ri->mime));
    spill__ffree(f, ri->b64);
    ri->b64 = NULL;
    return 1;
}
