/* imgscale.h - a smaller copy of an image, in bounded memory (libspng, libjpeg-turbo,
 * libwebp from Debian).
 *
 * The size comes from the header first, and an image whose pixels would cost too
 * much to decode (a decompression bomb: a few KB that claim 100,000 x 100,000 px) is
 * refused before any decoding. PNG and JPEG are decoded row by row into an area-average
 * scaler, WebP by libwebp's own scaler, so memory is the output's, not the input's. */
#ifndef SPILL_IMGSCALE_H
#define SPILL_IMGSCALE_H

#include <stddef.h>
#include <stdint.h>

/* Pixels of an input decoded at most (the CPU it costs), and of an interlaced PNG,
 * which is decoded whole. */
#define SPILL__IMG_DECODE_MAX_PIXELS (64u * 1000 * 1000)
#define SPILL__IMG_WHOLE_MAX_PIXELS (4u * 1024 * 1024)

typedef struct spill__imgout {
    unsigned char *data;       /* malloc'd; free() it */
    size_t len;
    uint32_t width, height;
    const char *mime;          /* image/png, or image/jpeg for a JPEG input */
} spill__imgout;

enum {
    SPILL__IMGS_OK = 0,
    SPILL__IMGS_UNSUPPORTED = -1,  /* a format or variant not decoded here (GIF, CMYK, animation) */
    SPILL__IMGS_BOMB = -2,         /* more pixels than SPILL__IMG_DECODE_MAX_PIXELS */
    SPILL__IMGS_BAD = -3,          /* the bytes do not decode */
    SPILL__IMGS_NOMEM = -4,
};

/* Decodes src (PNG, JPEG or WebP) and encodes a copy that fits in max_w x max_h
 * (aspect kept, never enlarged) and in max_bytes (made smaller until it does).
 * Returns SPILL__IMGS_OK with *out filled, or an error above. */
int spill__img_downscale(const void *src, size_t n, uint32_t max_w, uint32_t max_h, size_t max_bytes,
                         spill__imgout *out);
const char *spill__imgs_strerror(int rc);

#endif
