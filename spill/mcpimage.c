/* mcpimage.c - resources/read of a stored image: the image itself, whole where a model
 * takes it whole, else a downscaled copy, never a page of its bytes labelled as an image
 * (a client would hand the model a broken picture). */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "imgfilter.h"
#include "imgscale.h"
#include "mcpimage.h"

typedef struct whole { unsigned char *p; size_t n, cap; } whole;

static int whole_sink(void *ud, const void *d, size_t n)
{
    whole *w = ud;
    if (n > w->cap - w->n)
        return 1;
    memcpy(w->p + w->n, d, n);
    w->n += n;
    return 0;
}

int spill__mcp_image(spill_store *st, const spill_object_info *info, const char *uri, json_t **out)
{
    *out = NULL;
    if (info->raw_size == 0 || info->raw_size > SPILL__IMG_KEEP_MAX)
        return SPILL_E_RANGE; /* more than spill reads into memory: pages of bytes instead */
    whole w = {malloc((size_t)info->raw_size), 0, (size_t)info->raw_size};
    if (!w.p)
        return SPILL_E_NOMEM;
    int rc = spill_store_read_bytes(st, info->id, 0, info->raw_size, whole_sink, &w);
    int fmt;
    uint32_t wd, ht;
    if (!rc && (w.n != info->raw_size || spill__image_size(w.p, w.n, &fmt, &wd, &ht) != 1))
        rc = SPILL_E_INVAL; /* not an image spill can read */
    spill__imgout o = {0};
    const unsigned char *img = w.p;
    size_t len = w.n;
    const char *mime = info->mime;
    char note[600] = "";
    if (!rc && (w.n > SPILL__IMG_MAX_BYTES || wd > SPILL__IMG_MAX_SIDE || ht > SPILL__IMG_MAX_SIDE)) {
        uint32_t tw, th;
        spill__img_model_size(SPILL__IMGRULE_CLAUDE, wd, ht, &tw, &th);
        int s = spill__img_downscale(w.p, w.n, tw, th, SPILL__IMG_MAX_BYTES, &o);
        if (s) {
            rc = SPILL_E_INVAL;
        } else {
            img = o.data, len = o.len, mime = o.mime;
            snprintf(note, sizeof note, "[spill] %s is an image of %ux%u px (%llu bytes), more than a model takes "
                     "whole: above is a copy scaled to %ux%u px (%s). Its exact bytes: spill://%s?bytes=0: "
                     "(pages of base64), spill_read or spill cat.", uri, wd, ht,
                     (unsigned long long)info->raw_size, o.width, o.height, o.mime, info->id);
        }
    }
    char *b64 = rc ? NULL : malloc((len + 2) / 3 * 4 + 1);
    if (!rc && !b64)
        rc = SPILL_E_NOMEM;
    if (!rc) {
        size_t bn = spill__b64_encode(b64, img, len);
        json_t *item = json_pack("{s:s,s:s,s:s%}", "uri", uri, "mimeType", mime, "blob", b64, bn);
        json_t *root = item ? json_pack("{s:[o]}", "contents", item) : NULL;
        if (root && note[0] &&
            json_array_append_new(json_object_get(root, "contents"),
                                  json_pack("{s:s,s:s,s:s}", "uri", uri, "mimeType", "text/plain", "text", note)))
            json_decref(root), root = NULL;
        *out = root;
        rc = root ? 0 : SPILL_E_NOMEM;
    }
    free(b64);
    free(o.data);
    free(w.p);
    return rc;
}
