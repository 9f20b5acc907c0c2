/* imgfilter.h - the filter's image hooks: an image item of a tools/call result is
 * counted as the model counts it (its pixels, image.h), passed on whole where the model
 * could take it whole, and otherwise stored byte for byte and replaced by a downscaled
 * copy plus the handle (imgscale.h). Audio and other data keep the text path, with the
 * audio's type and duration noted in the handle. Never installed. */
#ifndef SPILL_IMGFILTER_H
#define SPILL_IMGFILTER_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "preview.h"
#include "walk.h"

struct spill_filter;
struct spill__rw;

/* ---- probe: counting ---- */

typedef struct spill__imgcount {
    int mode;                  /* 0 reading the magic, 1 image, 2 text */
    spill__b64 b64;
    spill__imghdr hdr;
    unsigned char stash[64];   /* base64 held until the magic tells */
    size_t stash_n;
    uint64_t chars;
} spill__imgcount;

typedef struct spill__span { const void *p; size_t n; } spill__span;

/* A string at depth `depth` is an image candidate: the data of a content item. */
int spill__img_candidate(const spill__walk *w, int depth);
void spill__imgcount_begin(spill__imgcount *c);
/* Base64 text of a candidate. Returns how many spans (0-2, in order) the caller counts
 * as text: all of it once the bytes are not an image. */
int spill__imgcount_feed(spill__imgcount *c, const void *p, size_t n, spill__span out[2]);
/* The string ended. *tokens: the image's tokens by `rule` (0 if it was text); *force
 * set if the model could not take it whole (too big, too many pixels or tokens, or a
 * header spill cannot read). Returns spans of text to count, as feed does. */
int spill__imgcount_end(spill__imgcount *c, int rule, uint64_t threshold, uint64_t *tokens, int *force,
                        spill__span out[2]);

/* ---- rewrite: keeping, reducing ---- */

/* Decoded bytes kept to decide on and downscale an image; past this it is only stored. */
#define SPILL__IMG_KEEP_MAX (12u << 20)

typedef struct spill__rwimg spill__rwimg;
void spill__rwimg_reset(struct spill_filter *f, struct spill__rw *r); /* a new result */
void spill__rwimg_free(struct spill_filter *f, struct spill__rw *r);
int spill__rwimg_data(struct spill_filter *f, struct spill__rw *r, const unsigned char *p, size_t n);
/* The string ended: either it went to out unchanged, or it is being stored (the payload
 * is then spilling, its item rebuilt at its end). */
int spill__rwimg_end(struct spill_filter *f, struct spill__rw *r);
/* At the item's end: puts the note (if any) before the handle in r->item_text, and
 * opens the rebuilt item as the downscaled image (returns 1) or does nothing (0). */
int spill__rwimg_item_head(struct spill_filter *f, struct spill__rw *r, spill__buf *b);

#endif
