/* Images stay images (issue 11 §4): the header reader (spill/image.c), the token rules,
 * downscaling (spill/imgscale.c), the filter's image items (spill/imgfilter.c through
 * spill_filter), audio durations, and resources/read of a stored image
 * (spill/mcpimage.c). Every image is made here, with libspng, libjpeg and libwebp:
 * nothing large is committed. */
#define _GNU_SOURCE
#include <jansson.h>
#include <jpeglib.h>
#include <spng.h>
#include <webp/encode.h>

#include "../harness.h"
#include "image.h"
#include "imgscale.h"
#include "mcptools.h"
#include "preview.h"
#include "spill.h"

/* ---- making images ---- */

#include "bytes_buf.h"
static void puts_(bytes *b, const char *s) { put(b, s, strlen(s)); }

/* w x h RGBA: a gradient with `noise` random low bits per channel (0: smooth). */
static unsigned char *pixels(uint32_t w, uint32_t h, int noise)
{
    unsigned char *px = malloc((size_t)w * h * 4);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            unsigned char *q = px + ((size_t)y * w + x) * 4;
            q[0] = (unsigned char)(x * 255 / (w > 1 ? w - 1 : 1));
            q[1] = (unsigned char)(y * 255 / (h > 1 ? h - 1 : 1));
            q[2] = (unsigned char)((x ^ y) & 0xff);
            if (noise)
                for (int c = 0; c < 3; c++)
                    q[c] ^= (unsigned char)(h_rand() & ((1u << noise) - 1));
            q[3] = 255;
        }
    return px;
}

static bytes make_png(uint32_t w, uint32_t h, int noise, int interlace)
{
    bytes b = {0};
    unsigned char *px = pixels(w, h, noise);
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ih = {.width = w, .height = h, .bit_depth = 8, .color_type = SPNG_COLOR_TYPE_TRUECOLOR_ALPHA,
                           .interlace_method = (uint8_t)interlace};
    spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
    spng_set_ihdr(ctx, &ih);
    int err = spng_encode_image(ctx, px, (size_t)w * h * 4, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    size_t len = 0;
    void *out = err ? NULL : spng_get_png_buffer(ctx, &len, &err);
    if (out)
        put(&b, out, len);
    free(out);
    spng_ctx_free(ctx);
    free(px);
    return b;
}

/* A JPEG with an APP1 segment of `app1` bytes before its frame header (as a camera's
 * Exif block comes first). */
static bytes make_jpeg(uint32_t w, uint32_t h, size_t app1)
{
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr e;
    unsigned char *buf = NULL, *px = pixels(w, h, 2);
    unsigned long len = 0;
    ci.err = jpeg_std_error(&e);
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, &buf, &len);
    ci.image_width = w;
    ci.image_height = h;
    ci.input_components = 4;
    ci.in_color_space = JCS_EXT_RGBA;
    jpeg_set_defaults(&ci);
    jpeg_start_compress(&ci, TRUE);
    if (app1) {
        unsigned char *m = calloc(1, app1);
        memcpy(m, "Exif\0\0", 6);
        jpeg_write_marker(&ci, JPEG_APP0 + 1, m, (unsigned)app1);
        free(m);
    }
    while (ci.next_scanline < h) {
        JSAMPROW r = px + (size_t)ci.next_scanline * w * 4;
        jpeg_write_scanlines(&ci, &r, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    bytes b = {0};
    put(&b, buf, len);
    free(buf);
    free(px);
    return b;
}

static bytes make_webp(uint32_t w, uint32_t h, int lossless)
{
    unsigned char *px = pixels(w, h, 0), *out = NULL;
    size_t len = lossless ? WebPEncodeLosslessRGBA(px, (int)w, (int)h, (int)w * 4, &out)
                          : WebPEncodeRGBA(px, (int)w, (int)h, (int)w * 4, 80, &out);
    bytes b = {0};
    put(&b, out, len);
    WebPFree(out);
    free(px);
    return b;
}

/* Decodes a PNG's size and checks that it decodes whole. */
static int png_decodes(const void *p, size_t n, uint32_t *w, uint32_t *h)
{
    spng_ctx *ctx = spng_ctx_new(0);
    struct spng_ihdr ih;
    size_t size;
    int ok = 0;
    if (!spng_set_png_buffer(ctx, p, n) && !spng_get_ihdr(ctx, &ih) &&
        !spng_decoded_image_size(ctx, SPNG_FMT_RGBA8, &size)) {
        void *img = malloc(size);
        ok = img && !spng_decode_image(ctx, img, size, SPNG_FMT_RGBA8, 0);
        free(img);
        *w = ih.width, *h = ih.height;
    }
    spng_ctx_free(ctx);
    return ok;
}

static int jpeg_decodes(const void *p, size_t n, uint32_t *w, uint32_t *h)
{
    struct jpeg_decompress_struct ci;
    struct jpeg_error_mgr e;
    ci.err = jpeg_std_error(&e);
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, p, (unsigned long)n);
    jpeg_read_header(&ci, TRUE);
    jpeg_start_decompress(&ci);
    unsigned char *row = malloc((size_t)ci.output_width * ci.output_components);
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW r = row;
        jpeg_read_scanlines(&ci, &r, 1);
    }
    *w = ci.output_width, *h = ci.output_height;
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    free(row);
    return 1;
}

/* ---- header reader ---- */

/* The size read whole, byte by byte, and in 7-byte pieces must agree. */
static int sized(const bytes *b, int want_fmt, uint32_t w, uint32_t h)
{
    int fmt;
    uint32_t gw, gh;
    if (spill__image_size(b->p, b->n, &fmt, &gw, &gh) != 1 || fmt != want_fmt || gw != w || gh != h)
        return 0;
    for (size_t step = 1; step <= 7; step += 6) {
        spill__imghdr s;
        spill__imghdr_init(&s);
        for (size_t i = 0; i < b->n && s.state == 0; i += step)
            spill__imghdr_feed(&s, b->p + i, b->n - i < step ? b->n - i : step);
        if (spill__imghdr_finish(&s) != 1 || s.fmt != want_fmt || s.width != w || s.height != h)
            return 0;
    }
    return 1;
}

static void header_sizes(void)
{
    bytes png = make_png(1600, 1000, 0, 0), jpg = make_jpeg(640, 480, 0), exif = make_jpeg(320, 200, 60000);
    bytes webp = make_webp(300, 170, 0), webpl = make_webp(301, 171, 1);
    ASSERT(sized(&png, SPILL__IMG_PNG, 1600, 1000));
    ASSERT(sized(&jpg, SPILL__IMG_JPEG, 640, 480));
    ASSERT(sized(&exif, SPILL__IMG_JPEG, 320, 200)); /* the frame header after 60 KB of Exif */
    ASSERT(sized(&webp, SPILL__IMG_WEBP, 300, 170));
    ASSERT(sized(&webpl, SPILL__IMG_WEBP, 301, 171));
    /* GIF's logical screen, and WebP's extended header (VP8X), by hand. */
    bytes gif = {0}, vp8x = {0};
    put(&gif, "GIF89a\x40\x01\xf0\x00\x80\x00\x00", 13);
    ASSERT(sized(&gif, SPILL__IMG_GIF, 320, 240));
    put(&vp8x, "RIFF\x24\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x10\x00\x00\x00\x3f\x1f\x00\xff\x0f\x00", 30);
    ASSERT(sized(&vp8x, SPILL__IMG_WEBP, 8000, 4096));
    /* Not images, or images spill cannot size: -1, never a guess. */
    int fmt;
    uint32_t w, h;
    ASSERT_EQ(spill__image_size("hello world, not an image", 25, &fmt, &w, &h), -1);
    ASSERT_EQ(spill__image_size(png.p, 20, &fmt, &w, &h), -1);      /* cut inside IHDR */
    ASSERT_EQ(fmt, SPILL__IMG_PNG);
    ASSERT_EQ(spill__image_size("\xff\xd8\xff\xda\x00\x02", 6, &fmt, &w, &h), -1); /* a scan before any frame */
    ASSERT_EQ(spill__image_size("\xff\xd8\xff\xe1\x00\x01", 6, &fmt, &w, &h), -1); /* a length under 2 */
    bytes bad = {0};
    put(&bad, png.p, png.n);
    memcpy(bad.p + 12, "IHDX", 4);
    ASSERT_EQ(spill__image_size(bad.p, bad.n, &fmt, &w, &h), -1);
    /* A size of 0 is no image. */
    ASSERT_EQ(spill__image_size("GIF87a\x00\x00\x10\x00", 10, &fmt, &w, &h), -1);
    free(png.p), free(jpg.p), free(exif.p), free(webp.p), free(webpl.p), free(gif.p), free(vp8x.p), free(bad.p);
}

/* ---- token rules, worked by hand ---- */

static void token_rules(void)
{
    const int C = SPILL__IMGRULE_CLAUDE, O = SPILL__IMGRULE_OPENAI;
    /* Claude: 1600x1000 fits 1568 on the long side at 0.98: 1568x980 = 1,536,640 px,
     * / 750 = 2048.85, so 2049 tokens. */
    ASSERT_EQ(spill__img_tokens(C, 1600, 1000), 2049);
    /* 1000x1000 is within 1568: 1,000,000 / 750 = 1333.3 -> 1334. */
    ASSERT_EQ(spill__img_tokens(C, 1000, 1000), 1334);
    /* 200x100: 20,000 / 750 = 26.7 -> 27. */
    ASSERT_EQ(spill__img_tokens(C, 200, 100), 27);
    /* 9000x600 to 1568 wide: 600 * 1568 / 9000 = 104.5 -> 104; 1568 * 104 = 163,072 / 750 = 217.4 -> 218. */
    ASSERT_EQ(spill__img_tokens(C, 9000, 600), 218);
    /* OpenAI: 1600x1000 fits 2048; its short side 1000 goes to 768 (x0.768): 1228x768;
     * tiles ceil(1228/512) = 3 by ceil(768/512) = 2 = 6: 85 + 170 * 6 = 1105. */
    ASSERT_EQ(spill__img_tokens(O, 1600, 1000), 1105);
    /* 512x512: one tile: 85 + 170 = 255. */
    ASSERT_EQ(spill__img_tokens(O, 512, 512), 255);
    /* 4096x2048: to 2048x1024, short side to 768: 1536x768, 3 x 2 tiles: 1105. */
    ASSERT_EQ(spill__img_tokens(O, 4096, 2048), 1105);
    /* 100x100: one tile, never scaled up: 255. */
    ASSERT_EQ(spill__img_tokens(O, 100, 100), 255);
    ASSERT_EQ(spill__img_rule("estimate:o200k"), O);
    ASSERT_EQ(spill__img_rule("bpe:cl100k_base"), O);
    ASSERT_EQ(spill__img_rule("estimate:claude*1.10"), C);
    /* Fitting a budget: the copy's tokens stay within it. */
    uint32_t w, h;
    ASSERT_OK(spill__img_fit(C, 1600, 1000, 500, &w, &h));
    ASSERT(spill__img_tokens(C, w, h) <= 500 && w * 100 / h >= 158 && w * 100 / h <= 162);
    ASSERT_OK(spill__img_fit(O, 1600, 1000, 255, &w, &h));
    ASSERT(spill__img_tokens(O, w, h) <= 255);
    ASSERT_EQ(spill__img_fit(C, 1600, 1000, 0, &w, &h), -1);
}

/* ---- downscaling ---- */

static void downscale(void)
{
    spill__imgout o;
    uint32_t w, h;
    /* A PNG too wide for a model: a copy that fits 1568 px, decodes, keeps the aspect. */
    bytes wide = make_png(9000, 600, 0, 0);
    ASSERT_EQ(spill__img_downscale(wide.p, wide.n, 1568, 1568, SPILL__IMG_MAX_BYTES, &o), 0);
    ASSERT(!strcmp(o.mime, "image/png") && o.width == 1568 && o.height == 104);
    ASSERT(png_decodes(o.data, o.len, &w, &h) && w == 1568 && h == 104);
    free(o.data);
    /* A JPEG stays a JPEG (DCT scaling, then the area average). */
    bytes jpg = make_jpeg(3000, 2000, 1000);
    ASSERT_EQ(spill__img_downscale(jpg.p, jpg.n, 1000, 1000, SPILL__IMG_MAX_BYTES, &o), 0);
    ASSERT(!strcmp(o.mime, "image/jpeg") && o.width == 1000 && o.height == 666);
    ASSERT(jpeg_decodes(o.data, o.len, &w, &h) && w == 1000 && h == 666);
    free(o.data);
    /* WebP, by libwebp's own scaler; out as PNG. */
    bytes webp = make_webp(2000, 1000, 0);
    ASSERT_EQ(spill__img_downscale(webp.p, webp.n, 500, 500, SPILL__IMG_MAX_BYTES, &o), 0);
    ASSERT(png_decodes(o.data, o.len, &w, &h) && w == 500 && h == 250);
    free(o.data);
    /* An interlaced PNG, decoded whole (it is small). */
    bytes il = make_png(800, 600, 0, 1);
    ASSERT_EQ(spill__img_downscale(il.p, il.n, 400, 400, SPILL__IMG_MAX_BYTES, &o), 0);
    ASSERT(png_decodes(o.data, o.len, &w, &h) && w == 400 && h == 300);
    free(o.data);
    /* A byte cap under the copy's size: made smaller until it fits. */
    bytes noisy = make_png(1200, 1200, 8, 0);
    ASSERT_EQ(spill__img_downscale(noisy.p, noisy.n, 1200, 1200, 300000, &o), 0);
    ASSERT(o.len <= 300000 && o.width < 1200 && png_decodes(o.data, o.len, &w, &h));
    free(o.data);
    /* A decompression bomb: IHDR claims 100,000 x 100,000 px, refused by the header
     * (the bytes after it do not even decode: BAD would mean it tried). */
    bytes bomb = {0};
    put(&bomb, wide.p, 33);
    bomb.p[16] = 0, bomb.p[17] = 1, bomb.p[18] = 0x86, bomb.p[19] = 0xa0; /* width 100,000 */
    bomb.p[20] = 0, bomb.p[21] = 1, bomb.p[22] = 0x86, bomb.p[23] = 0xa0;
    put(&bomb, "\x00\x00\x00\x00IEND\xae\x42\x60\x82", 12);
    ASSERT_EQ(spill__img_downscale(bomb.p, bomb.n, 1568, 1568, SPILL__IMG_MAX_BYTES, &o), SPILL__IMGS_BOMB);
    /* Truncated data: an error, never a crash. */
    ASSERT_EQ(spill__img_downscale(wide.p, wide.n / 2, 1568, 1568, SPILL__IMG_MAX_BYTES, &o), SPILL__IMGS_BAD);
    ASSERT_EQ(spill__img_downscale(jpg.p, jpg.n / 3, 1568, 1568, SPILL__IMG_MAX_BYTES, &o) != 0 ||
                  (free(o.data), 1), 1);
    /* GIF is read for its size but not decoded. */
    ASSERT_EQ(spill__img_downscale("GIF89a\x40\x01\xf0\x00\x80\x00\x00", 13, 100, 100, 1000, &o),
              SPILL__IMGS_UNSUPPORTED);
    free(wide.p), free(jpg.p), free(webp.p), free(il.p), free(noisy.p), free(bomb.p);
}

/* ---- audio ---- */

static bytes make_wav(uint32_t rate, uint32_t samples)
{
    bytes b = {0};
    uint32_t data = samples * 2, v;
    uint16_t s;
    puts_(&b, "RIFF");
    v = 36 + data, put(&b, &v, 4);
    puts_(&b, "WAVEfmt ");
    v = 16, put(&b, &v, 4);
    s = 1, put(&b, &s, 2);      /* PCM */
    s = 1, put(&b, &s, 2);      /* mono */
    put(&b, &rate, 4);
    v = rate * 2, put(&b, &v, 4);
    s = 2, put(&b, &s, 2);
    s = 16, put(&b, &s, 2);
    puts_(&b, "data");
    put(&b, &data, 4);
    for (uint32_t i = 0; i < samples; i++) {
        s = (uint16_t)(h_rand() & 0xffff);
        put(&b, &s, 2);
    }
    return b;
}

static void audio(void)
{
    const char *mime;
    double sec;
    bytes wav = make_wav(8000, 12000);
    ASSERT_EQ(spill__audio_info(wav.p, wav.n, &mime, &sec), 1);
    ASSERT(!strcmp(mime, "audio/wav") && sec == 1.5);
    /* MP3: 10 MPEG-1 layer III frames of 128 kbit/s at 44.1 kHz (417 bytes, 1152 samples
     * each, no padding): 11520 / 44100 s. */
    bytes mp3 = {0};
    for (int i = 0; i < 10; i++) {
        unsigned char fr[417] = {0xff, 0xfb, 0x90, 0x00};
        put(&mp3, fr, sizeof fr);
    }
    ASSERT_EQ(spill__audio_info(mp3.p, mp3.n, &mime, &sec), 1);
    ASSERT(!strcmp(mime, "audio/mpeg") && sec > 0.2612 && sec < 0.2613);
    /* Ogg Opus: the last page's granule 96,312 less a pre-skip of 312, at 48 kHz: 2 s. */
    bytes ogg = {0};
    unsigned char page[27 + 1 + 19] = "OggS\0\2";
    page[26] = 1, page[27] = 19;
    memcpy(page + 28, "OpusHead\1\1\x38\x01\x80\xbb\0\0\0\0\0", 19);
    put(&ogg, page, sizeof page);
    unsigned char last[28] = "OggS\0\4";
    uint64_t g = 96312;
    memcpy(last + 6, &g, 8);
    put(&ogg, last, sizeof last);
    ASSERT_EQ(spill__audio_info(ogg.p, ogg.n, &mime, &sec), 1);
    ASSERT(!strcmp(mime, "audio/ogg") && sec == 2.0);
    ASSERT_EQ(spill__audio_info("not audio at all", 16, &mime, &sec), 0);
    free(wav.p), free(mp3.p), free(ogg.p);
}

/* ---- the filter ---- */

typedef struct mem_sink { bytes objs[16]; char mime[16][64]; int n; } mem_sink;
typedef struct mem_obj { bytes data; mem_sink *s; } mem_obj;
static int ms_begin(void *ctx, void **obj, const spill_put_info *pi)
{
    (void)pi;
    mem_obj *o = calloc(1, sizeof *o);
    o->s = ctx;
    *obj = o;
    return 0;
}
static int ms_write(void *obj, const void *p, size_t n)
{
    put(&((mem_obj *)obj)->data, p, n);
    return 0;
}
static int ms_commit(void *obj, const char *mime, uint64_t tokens, const char *counter, spill_object_info *info)
{
    (void)tokens, (void)counter;
    mem_obj *o = obj;
    memset(info, 0, sizeof *info);
    snprintf(info->id, sizeof info->id, "%032x", o->s->n + 1);
    info->raw_size = o->data.n;
    snprintf(info->mime, sizeof info->mime, "%s", mime ? mime : "application/octet-stream");
    if (o->s->n < 16) {
        snprintf(o->s->mime[o->s->n], 64, "%.63s", info->mime);
        o->s->objs[o->s->n++] = o->data;
    } else {
        free(o->data.p);
    }
    free(o);
    return 0;
}
static void ms_abort(void *obj)
{
    free(((mem_obj *)obj)->data.p);
    free(obj);
}
static void sink_clear(mem_sink *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->objs[i].p);
    memset(s, 0, sizeof *s);
}
static int out_emit(void *ud, spill_dir dir, const void *p, size_t n)
{
    if (dir == SPILL_S2C)
        put(ud, p, n);
    return 0;
}

static void b64(bytes *out, const bytes *in)
{
    size_t at = out->n;
    if (out->cap < out->n + (in->n + 2) / 3 * 4) {
        out->cap = out->n + (in->n + 2) / 3 * 4 + 64;
        out->p = realloc(out->p, out->cap);
    }
    out->n = at + spill__b64_encode((char *)out->p + at, in->p, in->n);
}

/* One tools/call of `tool` by client `client`, answered by a result with `items` (JSON
 * text, with @IMG@ replaced by the base64 of img). */
static void exchange(bytes *c2s, bytes *s2c, const char *client, const char *items, const bytes *img)
{
    char head[600];
    snprintf(head, sizeof head, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
             "{\"protocolVersion\":\"2025-03-26\",\"clientInfo\":{\"name\":\"%s\"}}}\n"
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"browser_take_screenshot\"}}\n",
             client);
    puts_(c2s, head);
    puts_(s2c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[");
    for (const char *p = items;;) {
        const char *a = strstr(p, "@IMG@");
        if (!a) {
            puts_(s2c, p);
            break;
        }
        put(s2c, p, (size_t)(a - p));
        b64(s2c, img);
        p = a + 5;
    }
    puts_(s2c, "]}}\n");
}

/* Runs the exchange through a filter in pieces of `chunk` bytes (0: whole). */
static int run(const bytes *c2s, const bytes *s2c, size_t chunk, uint64_t threshold, const char *counter,
               bytes *out, mem_sink *sink)
{
    spill_object_sink s = {sink, ms_begin, ms_write, ms_commit, ms_abort, NULL};
    spill_filter_opts o;
    spill_filter_opts_init(&o);
    o.threshold_tokens = threshold;
    o.sink = &s;
    o.emit = out_emit;
    o.emit_ud = out;
    o.counter = spill_estimator(counter);
    spill_filter *f;
    int rc = spill_filter_new(&f, &o);
    if (rc)
        return rc;
    rc = spill_filter_feed(f, SPILL_C2S, c2s->p, c2s->n);
    const size_t step = chunk ? chunk : s2c->n;
    for (size_t i = 0; rc == 0 && i < s2c->n; i += step)
        rc = spill_filter_feed(f, SPILL_S2C, s2c->p + i, s2c->n - i < step ? s2c->n - i : step);
    if (rc == 0)
        rc = spill_filter_finish(f, SPILL_S2C);
    spill_filter_free(f);
    return rc;
}

/* The run in pieces of 1 byte and of `chunk` bytes gives ref, byte for byte. */
static int same_chunked(const bytes *c2s, const bytes *s2c, const bytes *ref, size_t chunk)
{
    int same = 1;
    for (size_t step = 1; same && step <= chunk; step = step == 1 ? chunk : chunk + 1) {
        bytes out = {0};
        mem_sink s2 = {0};
        same = run(c2s, s2c, step, 100000, "claude", &out, &s2) == 0 && out.n == ref->n &&
               !memcmp(out.p, ref->p, ref->n);
        free(out.p);
        sink_clear(&s2);
    }
    return same;
}

/* The result's content items, parsed. */
static json_t *content_of(const bytes *out)
{
    json_t *m = json_loadb((const char *)out->p, out->n, JSON_DISABLE_EOF_CHECK, NULL);
    json_t *c = json_incref(json_object_get(json_object_get(m, "result"), "content"));
    json_decref(m);
    return c;
}

static bytes unb64(const char *s)
{
    bytes b = {0};
    size_t n = strlen(s);
    b.p = malloc(n / 4 * 3 + 3);
    spill__b64 d = {0};
    long k = spill__b64_decode(&d, (const unsigned char *)s, n, b.p);
    b.n = k < 0 ? 0 : (size_t)k;
    return b;
}

static void screenshot_passes(void)
{
    /* A 1600x1000 screenshot (noisy enough to be some 750 KB of PNG): 2049 tokens by
     * Claude's rule, 1105 by OpenAI's. Its ~1 MB of base64 was counted as text before,
     * hundreds of thousands of tokens, and the agent got a text handle instead. */
    bytes png = make_png(1600, 1000, 2, 0);
    printf("# screenshot: %zu bytes of PNG\n", png.n);
    ASSERT(png.n > 500000);
    const char *clients[] = {"claude-code", "some-client"};
    const char *counters[] = {"claude", "o200k"};
    for (int k = 0; k < 2; k++) {
        bytes c2s = {0}, s2c = {0}, out = {0};
        mem_sink sink = {0};
        exchange(&c2s, &s2c, clients[k], "{\"type\":\"image\",\"data\":\"@IMG@\",\"mimeType\":\"image/png\"}", &png);
        ASSERT_OK(run(&c2s, &s2c, 0, 100000, counters[k], &out, &sink));
        ASSERT_EQ(sink.n, 0);
        ASSERT(out.n == s2c.n && !memcmp(out.p, s2c.p, s2c.n)); /* byte for byte */
        free(c2s.p), free(s2c.p), free(out.p);
        sink_clear(&sink);
    }
    free(png.p);
}

static void image_kept_beside_spilled_text(void)
{
    /* A result over the threshold for its text: the text is stored, the image item goes
     * on whole (data, mimeType, annotations), at every chunking. */
    bytes png = make_png(1600, 1000, 2, 0), text = {0};
    for (int i = 0; i < 40000; i++)
        puts_(&text, "row of page text ");
    bytes items = {0};
    puts_(&items, "{\"type\":\"text\",\"text\":\"");
    put(&items, text.p, text.n);
    puts_(&items, "\"},{\"data\":\"@IMG@\",\"type\":\"image\",\"mimeType\":\"image/png\",\"annotations\":{\"priority\":1}}");
    put(&items, "", 1);
    bytes c2s = {0}, s2c = {0}, ref = {0};
    exchange(&c2s, &s2c, "claude-code", (const char *)items.p, &png);
    mem_sink sink = {0};
    ASSERT_OK(run(&c2s, &s2c, 0, 100000, "claude", &ref, &sink));
    ASSERT_EQ(sink.n, 1);
    ASSERT_EQ(sink.objs[0].n, text.n);
    json_t *c = content_of(&ref);
    json_t *img = json_array_get(c, 2); /* text handle, resource_link-free era, image */
    if (!img || strcmp(json_string_value(json_object_get(img, "type")) ?: "", "image"))
        img = json_array_get(c, 1);
    ASSERT(img && !strcmp(json_string_value(json_object_get(img, "type")), "image"));
    bytes got = unb64(json_string_value(json_object_get(img, "data")));
    ASSERT(got.n == png.n && !memcmp(got.p, png.p, png.n));
    ASSERT(json_object_get(img, "annotations") != NULL);
    json_decref(c);
    ASSERT(same_chunked(&c2s, &s2c, &ref, 7));
    sink_clear(&sink);
    free(png.p), free(text.p), free(items.p), free(c2s.p), free(s2c.p), free(ref.p), free(got.p);
}

static void huge_image_downscaled(void)
{
    /* 9000 px wide: more than a model takes. Out: a PNG copy that fits (1568x104 by
     * Claude's rule), then a text item with the handle; the original stored byte for
     * byte. Chunking does not change a byte of it. */
    bytes png = make_png(9000, 600, 1, 0);
    bytes c2s = {0}, s2c = {0}, ref = {0};
    exchange(&c2s, &s2c, "some-client", "{\"type\":\"image\",\"data\":\"@IMG@\",\"mimeType\":\"image/png\"}", &png);
    mem_sink sink = {0};
    ASSERT_OK(run(&c2s, &s2c, 0, 100000, "claude", &ref, &sink));
    ASSERT_EQ(sink.n, 1);
    ASSERT(sink.objs[0].n == png.n && !memcmp(sink.objs[0].p, png.p, png.n));
    ASSERT(!strcmp(sink.mime[0], "image/png"));
    json_t *c = content_of(&ref);
    ASSERT_EQ(json_array_size(c), 2);
    json_t *img = json_array_get(c, 0), *txt = json_array_get(c, 1);
    ASSERT(!strcmp(json_string_value(json_object_get(img, "type")), "image"));
    ASSERT(!strcmp(json_string_value(json_object_get(img, "mimeType")), "image/png"));
    bytes got = unb64(json_string_value(json_object_get(img, "data")));
    uint32_t w, h;
    ASSERT(png_decodes(got.p, got.n, &w, &h) && w == 1568 && h == 104);
    const char *t = json_string_value(json_object_get(txt, "text"));
    ASSERT(t && strstr(t, "9000x600") && strstr(t, "over 8000 px") && strstr(t, "1568x104"));
    ASSERT(strstr(t, "00000000000000000000000000000001")); /* the handle names the stored original */
    json_decref(c);
    ASSERT(same_chunked(&c2s, &s2c, &ref, 4096));
    /* Over a small threshold by its tokens (1105 by OpenAI's rule, threshold 600): a copy
     * within the threshold. */
    bytes small = make_png(1600, 1000, 0, 0), c2 = {0}, s2 = {0}, out = {0};
    exchange(&c2, &s2, "some-client", "{\"type\":\"image\",\"data\":\"@IMG@\",\"mimeType\":\"image/png\"}", &small);
    mem_sink s3 = {0};
    ASSERT_OK(run(&c2, &s2, 0, 600, "o200k", &out, &s3));
    ASSERT_EQ(s3.n, 1);
    c = content_of(&out);
    bytes g2 = unb64(json_string_value(json_object_get(json_array_get(c, 0), "data")));
    ASSERT(png_decodes(g2.p, g2.n, &w, &h) && spill__img_tokens(SPILL__IMGRULE_OPENAI, w, h) <= 600);
    json_decref(c);
    sink_clear(&s3);
    sink_clear(&sink);
    free(png.p), free(c2s.p), free(s2c.p), free(ref.p), free(got.p);
    free(small.p), free(c2.p), free(s2.p), free(out.p), free(g2.p);
}

static void audio_in_handle(void)
{
    /* Audio keeps the text path (stored, a handle), and the handle says what it is. */
    bytes wav = make_wav(8000, 40000), c2s = {0}, s2c = {0}, out = {0};
    exchange(&c2s, &s2c, "some-client", "{\"type\":\"audio\",\"data\":\"@IMG@\",\"mimeType\":\"audio/wav\"}", &wav);
    mem_sink sink = {0};
    ASSERT_OK(run(&c2s, &s2c, 0, 2000, "claude", &out, &sink));
    ASSERT_EQ(sink.n, 1);
    ASSERT(sink.objs[0].n == wav.n && !memcmp(sink.objs[0].p, wav.p, wav.n));
    json_t *c = content_of(&out);
    const char *t = json_string_value(json_object_get(json_array_get(c, 0), "text"));
    ASSERT(t && strstr(t, "audio: audio/wav, 5.000 s"));
    json_decref(c);
    sink_clear(&sink);
    free(wav.p), free(c2s.p), free(s2c.p), free(out.p);
}

static void not_base64_is_text(void)
{
    /* "data" that is not base64 is stored as the text it is (a result over the threshold
     * by it), and a short one stays as it came. */
    bytes text = {0}, c2s = {0}, s2c = {0}, out = {0};
    for (int i = 0; i < 3000; i++)
        puts_(&text, "not base64! ");
    bytes items = {0};
    puts_(&items, "{\"type\":\"image\",\"data\":\"");
    put(&items, text.p, text.n);
    puts_(&items, "\",\"mimeType\":\"image/png\"},{\"type\":\"image\",\"data\":\"tiny!\",\"mimeType\":\"image/png\"}");
    put(&items, "", 1);
    exchange(&c2s, &s2c, "some-client", (const char *)items.p, NULL);
    mem_sink sink = {0};
    ASSERT_OK(run(&c2s, &s2c, 0, 2000, "claude", &out, &sink));
    ASSERT_EQ(sink.n, 1);
    ASSERT(sink.objs[0].n == text.n && !memcmp(sink.objs[0].p, text.p, text.n));
    ASSERT(memmem(out.p, out.n, "\"data\":\"tiny!\"", 14) != NULL);
    sink_clear(&sink);
    free(text.p), free(items.p), free(c2s.p), free(s2c.p), free(out.p);
}

/* ---- resources/read ---- */

/* resources/read of spill://ID + query, parsed (NULL if it failed). */
static json_t *read_json(spill_store *st, const char *id, const char *query, int era2026)
{
    char uri[128], *out = NULL;
    size_t outlen = 0;
    snprintf(uri, sizeof uri, "spill://%s%s", id, query);
    int rc = spill_mcp_read_resource(st, uri, 24 << 10, era2026, &out, &outlen);
    json_t *r = rc ? NULL : json_loadb(out, outlen, 0, NULL);
    free(out);
    return r;
}

static void resource_read(void)
{
    char *dir = h_tmpdir();
    spill_store_opts so;
    spill_store_opts_init(&so);
    so.dir = dir;
    spill_store *st = NULL;
    ASSERT_OK(spill_store_open(&st, &so));
    bytes small = make_png(1600, 1000, 2, 0), wide = make_png(9000, 600, 0, 0);
    spill_object_info a, b;
    spill_put_info pi = {0};
    pi.mime = "image/png";
    ASSERT_OK(spill_store_put(st, small.p, small.n, &pi, &a));
    ASSERT_OK(spill_store_put(st, wide.p, wide.n, &pi, &b));
    /* Whole, as one blob, though it is far over the page size (an image is not paged). */
    json_t *r = read_json(st, a.id, "", 0);
    json_t *it = json_array_get(json_object_get(r, "contents"), 0);
    ASSERT(!strcmp(json_string_value(json_object_get(it, "mimeType")), "image/png"));
    bytes got = unb64(json_string_value(json_object_get(it, "blob")));
    ASSERT(got.n == small.n && !memcmp(got.p, small.p, small.n));
    json_decref(r);
    free(got.p);
    /* Too wide: a copy that fits, then a note with where the exact bytes are. */
    r = read_json(st, b.id, "", 1);
    json_t *c = json_object_get(r, "contents");
    ASSERT_EQ(json_array_size(c), 2);
    got = unb64(json_string_value(json_object_get(json_array_get(c, 0), "blob")));
    uint32_t w, h;
    ASSERT(png_decodes(got.p, got.n, &w, &h) && w == 1568 && h == 104);
    ASSERT(strstr(json_string_value(json_object_get(json_array_get(c, 1), "text")), "?bytes=0:"));
    json_decref(r);
    free(got.p);
    /* A range asks for bytes: a page of them, not labelled as an image. */
    r = read_json(st, a.id, "?bytes=0:1000", 0);
    it = json_array_get(json_object_get(r, "contents"), 0);
    ASSERT(!strcmp(json_string_value(json_object_get(it, "mimeType")), "application/octet-stream"));
    json_decref(r);
    spill_store_close(st);
    h_rmrf(dir);
    free(small.p), free(wide.p);
}

int main(void)
{
    h_seed();
    RUN(header_sizes);
    RUN(token_rules);
    RUN(downscale);
    RUN(audio);
    RUN(screenshot_passes);
    RUN(image_kept_beside_spilled_text);
    RUN(huge_image_downscaled);
    RUN(audio_in_handle);
    RUN(not_base64_is_text);
    RUN(resource_read);
    return h_failures ? 1 : 0;
}
