/* image.h - images and audio as a model takes them (pure: no I/O, no allocation).
 *
 * A model reads an image item by its pixels, not by the length of its base64: these
 * functions read an image's format and size from its first bytes (PNG, JPEG, GIF,
 * WebP headers; incrementally, so a filter can feed base64 as it decodes it), turn
 * the size into the tokens a model charges, and read an audio clip's media type and
 * duration from its header. Decoding and scaling pixels is imgscale.h. */
#ifndef SPILL_IMAGE_H
#define SPILL_IMAGE_H

#include <stddef.h>
#include <stdint.h>

enum { SPILL__IMG_NONE = 0, SPILL__IMG_PNG, SPILL__IMG_JPEG, SPILL__IMG_GIF, SPILL__IMG_WEBP };

/* What an image a model could take whole stays within (Anthropic's limits for an
 * image in a request: 5 MB of image bytes, 8000 px on a side). */
#define SPILL__IMG_MAX_BYTES (5u << 20)
#define SPILL__IMG_MAX_SIDE 8000u

/* Incremental header reader. Zero-filled (or spill__imghdr_init) is the start. */
typedef struct spill__imghdr {
    uint8_t head[32];          /* the first bytes: magic and the fixed-place headers */
    uint32_t hn;
    int fmt;                   /* SPILL__IMG_*, once the magic is known */
    int state;                 /* 0 more bytes wanted, 1 size known, -1 not an image we read */
    uint32_t width, height;
    /* JPEG: the marker segments are walked (an Exif or ICC segment may come first) */
    int js;
    uint32_t skip, segs;
    uint8_t seg[8];
    uint32_t sn;
    uint8_t marker;
} spill__imghdr;

void spill__imghdr_init(spill__imghdr *h);
/* Feeds the next decoded bytes. Returns h->state: 0 wants more, 1 done, -1 not an
 * image or malformed. h->fmt is set as soon as the magic tells (3 to 12 bytes). */
int spill__imghdr_feed(spill__imghdr *h, const void *p, size_t n);
/* The bytes ended: returns 1 if the size is known, else -1. */
int spill__imghdr_finish(spill__imghdr *h);
/* Whole-buffer form: 1 with the format and size set, or -1. */
int spill__image_size(const void *p, size_t n, int *fmt, uint32_t *w, uint32_t *h);
const char *spill__img_mime(int fmt);

/* How a model counts an image: Claude's (tokens ~ w*h/750 once scaled to fit 1568 px
 * on the long side) or OpenAI's tiles (fit 2048x2048, shortest side to 768, then 85 +
 * 170 per 512-px tile), chosen by the token counter's name (o200k or cl100k: OpenAI). */
enum { SPILL__IMGRULE_CLAUDE = 0, SPILL__IMGRULE_OPENAI = 1 };
int spill__img_rule(const char *counter_name);
uint64_t spill__img_tokens(int rule, uint32_t w, uint32_t h);
/* The size the model scales an image to before counting (never larger than w x h). */
void spill__img_model_size(int rule, uint32_t w, uint32_t h, uint32_t *ow, uint32_t *oh);
/* The size to send instead: the model's own size, made smaller until the tokens are
 * at most max_tokens (0 if even a 16-px side costs more). Returns 0 or -1. */
int spill__img_fit(int rule, uint32_t w, uint32_t h, uint64_t max_tokens, uint32_t *ow, uint32_t *oh);

/* Standard base64 with padding of p[0..n) into dst, which has room for (n + 2) / 3 * 4
 * bytes; returns that length. */
size_t spill__b64_encode(char *dst, const void *p, size_t n);

/* Audio: media type and, where the header gives it exactly, the duration. WAV from its
 * fmt and data chunks; MP3 by walking every frame (exact for CBR and VBR alike); Ogg
 * (Vorbis, Opus) from the last page's granule position. Returns 1 if the bytes are
 * audio it knows (then *mime is set; *seconds is -1 where the duration is not known). */
int spill__audio_info(const void *p, size_t n, const char **mime, double *seconds);

#endif
