/* imgscale.c - decode, scale down, encode (libspng, libjpeg-turbo, libwebp). See imgscale.h. */
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <spng.h>
#include <webp/decode.h>

#include "image.h"
#include "imgscale.h"

const char *spill__imgs_strerror(int rc)
{
    switch (rc) {
    case SPILL__IMGS_OK: return "ok";
    case SPILL__IMGS_UNSUPPORTED: return "a format spill does not decode (GIF, CMYK JPEG, animated WebP, or a large interlaced PNG)";
    case SPILL__IMGS_BOMB: return "more pixels than spill decodes";
    case SPILL__IMGS_BAD: return "the image data does not decode";
    default: return "out of memory";
    }
}

/* ---- area-average scaler: RGBA8 rows in, a dw x dh RGBA8 image out ---- */

typedef struct scaler {
    uint32_t sw, sh, dw, dh, y, oy;
    uint32_t *x0;              /* dw + 1 column bounds in the source */
    uint64_t *acc;             /* dw * 4 sums of the band of rows being read */
    unsigned char *dst;
} scaler;

static void scaler_free(scaler *s)
{
    free(s->x0);
    free(s->acc);
    free(s->dst);
    memset(s, 0, sizeof *s);
}

static int scaler_init(scaler *s, uint32_t sw, uint32_t sh, uint32_t dw, uint32_t dh)
{
    memset(s, 0, sizeof *s);
    s->sw = sw, s->sh = sh, s->dw = dw, s->dh = dh;
    s->x0 = malloc((dw + 1) * sizeof *s->x0);
    s->acc = calloc((size_t)dw * 4, sizeof *s->acc);
    s->dst = malloc((size_t)dw * dh * 4);
    if (!s->x0 || !s->acc || !s->dst) {
        scaler_free(s);
        return SPILL__IMGS_NOMEM;
    }
    for (uint32_t i = 0; i <= dw; i++)
        s->x0[i] = (uint32_t)((uint64_t)i * sw / dw);
    return 0;
}

static void scaler_row(scaler *s, const unsigned char *row)
{
    if (s->oy >= s->dh)
        return;
    for (uint32_t ox = 0; ox < s->dw; ox++) {
        uint64_t *a = s->acc + (size_t)ox * 4;
        for (uint32_t x = s->x0[ox]; x < s->x0[ox + 1]; x++)
            for (int c = 0; c < 4; c++)
                a[c] += row[(size_t)x * 4 + c];
    }
    s->y++;
    uint32_t y0 = (uint32_t)((uint64_t)s->oy * s->sh / s->dh), y1 = (uint32_t)((uint64_t)(s->oy + 1) * s->sh / s->dh);
    if (s->y < y1)
        return;
    unsigned char *out = s->dst + (size_t)s->oy * s->dw * 4;
    for (uint32_t ox = 0; ox < s->dw; ox++) {
        uint64_t n = (uint64_t)(s->x0[ox + 1] - s->x0[ox]) * (y1 - y0);
        for (int c = 0; c < 4; c++)
            out[ox * 4 + c] = (unsigned char)((s->acc[ox * 4 + c] + n / 2) / n);
    }
    memset(s->acc, 0, (size_t)s->dw * 4 * sizeof *s->acc);
    s->oy++;
}

/* The largest size within max_w x max_h with w x h's aspect, never larger (in integers:
 * a size image.c computed for w x h comes out as it is). */
static void fit_box(uint32_t w, uint32_t h, uint32_t max_w, uint32_t max_h, uint32_t *dw, uint32_t *dh)
{
    uint64_t a = w, b = h;
    if (a > max_w || b > max_h) {
        if ((uint64_t)h * max_w / w <= max_h)
            a = max_w, b = (uint64_t)h * max_w / w;
        else
            a = (uint64_t)w * max_h / h, b = max_h;
    }
    *dw = a < 1 ? 1 : (uint32_t)a;
    *dh = b < 1 ? 1 : (uint32_t)b;
}

/* ---- decoders ---- */

static int png_scale(const void *src, size_t n, scaler *s, uint32_t max_w, uint32_t max_h)
{
    spng_ctx *ctx = spng_ctx_new(0);
    unsigned char *buf = NULL;
    int rc = SPILL__IMGS_BAD;
    struct spng_ihdr ih;
    size_t size;
    if (!ctx)
        return SPILL__IMGS_NOMEM;
    spng_set_chunk_limits(ctx, 32u << 20, 8u << 20);
    if (spng_set_png_buffer(ctx, src, n) || spng_get_ihdr(ctx, &ih) ||
        spng_decoded_image_size(ctx, SPNG_FMT_RGBA8, &size))
        goto out;
    uint32_t dw, dh;
    fit_box(ih.width, ih.height, max_w, max_h, &dw, &dh);
    if ((rc = scaler_init(s, ih.width, ih.height, dw, dh)) != 0)
        goto out;
    size_t rowlen = (size_t)ih.width * 4;
    if (ih.interlace_method) { /* Adam7 rows come pass by pass: decoded whole, if small */
        rc = SPILL__IMGS_UNSUPPORTED;
        if ((uint64_t)ih.width * ih.height > SPILL__IMG_WHOLE_MAX_PIXELS)
            goto out;
        rc = SPILL__IMGS_NOMEM;
        if (!(buf = malloc(size)))
            goto out;
        rc = SPILL__IMGS_BAD;
        if (spng_decode_image(ctx, buf, size, SPNG_FMT_RGBA8, SPNG_DECODE_TRNS))
            goto out;
        for (uint32_t y = 0; y < ih.height; y++)
            scaler_row(s, buf + y * rowlen);
        rc = 0;
        goto out;
    }
    rc = SPILL__IMGS_NOMEM;
    if (!(buf = malloc(rowlen)))
        goto out;
    rc = SPILL__IMGS_BAD;
    if (spng_decode_image(ctx, NULL, 0, SPNG_FMT_RGBA8, SPNG_DECODE_PROGRESSIVE | SPNG_DECODE_TRNS))
        goto out;
    int r;
    do {
        r = spng_decode_row(ctx, buf, rowlen);
        if (r == 0 || r == SPNG_EOI)
            scaler_row(s, buf);
    } while (r == 0);
    if (r == SPNG_EOI && s->oy == dh)
        rc = 0;
out:
    free(buf);
    spng_ctx_free(ctx);
    return rc;
}

typedef struct jerr { struct jpeg_error_mgr m; jmp_buf jb; } jerr;
static void jerr_exit(j_common_ptr c) { longjmp(((jerr *)c->err)->jb, 1); }
static void jerr_quiet(j_common_ptr c) { (void)c; }

static int jpeg_scale(const void *src, size_t n, scaler *s, uint32_t max_w, uint32_t max_h)
{
    struct jpeg_decompress_struct ci;
    jerr e;
    unsigned char *volatile row = NULL;
    volatile int rc = SPILL__IMGS_BAD;
    ci.err = jpeg_std_error(&e.m);
    e.m.error_exit = jerr_exit;
    e.m.output_message = jerr_quiet;
    if (setjmp(e.jb)) {
        free(row);
        jpeg_destroy_decompress(&ci);
        return rc;
    }
    jpeg_create_decompress(&ci);
    ci.mem->max_memory_to_use = 48l << 20; /* a progressive JPEG keeps its coefficients */
    jpeg_mem_src(&ci, src, (unsigned long)n);
    jpeg_read_header(&ci, TRUE);
    if (ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK) {
        rc = SPILL__IMGS_UNSUPPORTED;
        longjmp(e.jb, 1);
    }
    if (ci.progressive_mode && (uint64_t)ci.image_width * ci.image_height > 8u * 1000 * 1000) {
        rc = SPILL__IMGS_BOMB;
        longjmp(e.jb, 1);
    }
    uint32_t dw, dh;
    fit_box(ci.image_width, ci.image_height, max_w, max_h, &dw, &dh);
    /* The DCT scales by 1/2, 1/4, 1/8 for free: the most that still leaves dw x dh. */
    ci.scale_num = 1;
    ci.scale_denom = 1;
    for (unsigned d = 8; d > 1; d /= 2)
        if ((ci.image_width + d - 1) / d >= dw && (ci.image_height + d - 1) / d >= dh) {
            ci.scale_denom = d;
            break;
        }
    ci.out_color_space = JCS_EXT_RGBA;
    jpeg_start_decompress(&ci);
    if (ci.output_width < dw || ci.output_height < dh)
        longjmp(e.jb, 1);
    if (scaler_init(s, ci.output_width, ci.output_height, dw, dh)) {
        rc = SPILL__IMGS_NOMEM;
        longjmp(e.jb, 1);
    }
    if (!(row = malloc((size_t)ci.output_width * 4))) {
        rc = SPILL__IMGS_NOMEM;
        longjmp(e.jb, 1);
    }
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW r = row;
        if (jpeg_read_scanlines(&ci, &r, 1) != 1)
            longjmp(e.jb, 1);
        scaler_row(s, row);
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    free(row);
    return 0;
}

static int webp_scale(const void *src, size_t n, scaler *s, uint32_t max_w, uint32_t max_h)
{
    WebPDecoderConfig c;
    if (!WebPInitDecoderConfig(&c) || WebPGetFeatures(src, n, &c.input) != VP8_STATUS_OK)
        return SPILL__IMGS_BAD;
    if (c.input.has_animation)
        return SPILL__IMGS_UNSUPPORTED;
    /* Lossless WebP is decoded into a whole ARGB frame, 4 bytes a pixel, and an alpha
     * plane takes a byte a pixel: the caps keep those under 32 MB. */
    const uint64_t px = (uint64_t)c.input.width * (uint64_t)c.input.height;
    if ((c.input.format == 2 && px > 8u * 1000 * 1000) || (c.input.has_alpha && px > 32u * 1000 * 1000))
        return SPILL__IMGS_BOMB;
    uint32_t dw, dh;
    fit_box((uint32_t)c.input.width, (uint32_t)c.input.height, max_w, max_h, &dw, &dh);
    /* libwebp scales as it decodes: only the output is in memory. */
    memset(s, 0, sizeof *s);
    s->dw = s->sw = dw, s->dh = s->sh = dh;
    if (!(s->dst = malloc((size_t)dw * dh * 4)))
        return SPILL__IMGS_NOMEM;
    c.options.use_scaling = (uint32_t)c.input.width != dw || (uint32_t)c.input.height != dh;
    c.options.scaled_width = (int)dw;
    c.options.scaled_height = (int)dh;
    c.output.colorspace = MODE_RGBA;
    c.output.is_external_memory = 1;
    c.output.u.RGBA.rgba = s->dst;
    c.output.u.RGBA.stride = (int)dw * 4;
    c.output.u.RGBA.size = (size_t)dw * dh * 4;
    int ok = WebPDecode(src, n, &c) == VP8_STATUS_OK;
    WebPFreeDecBuffer(&c.output);
    return ok ? 0 : SPILL__IMGS_BAD;
}

/* ---- encoders ---- */

static int png_encode(const unsigned char *rgba, uint32_t w, uint32_t h, spill__imgout *out)
{
    int opaque = 1;
    for (size_t i = 3; opaque && i < (size_t)w * h * 4; i += 4)
        opaque = rgba[i] == 255;
    unsigned char *rgb = NULL;
    const unsigned char *img = rgba;
    size_t len = (size_t)w * h * 4;
    if (opaque) { /* RGB: a quarter less to deflate */
        if (!(rgb = malloc((size_t)w * h * 3)))
            return SPILL__IMGS_NOMEM;
        for (size_t i = 0; i < (size_t)w * h; i++)
            memcpy(rgb + i * 3, rgba + i * 4, 3);
        img = rgb;
        len = (size_t)w * h * 3;
    }
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    int rc = SPILL__IMGS_NOMEM, err = 0;
    if (ctx) {
        struct spng_ihdr ih = {.width = w, .height = h, .bit_depth = 8,
                               .color_type = opaque ? SPNG_COLOR_TYPE_TRUECOLOR : SPNG_COLOR_TYPE_TRUECOLOR_ALPHA};
        spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
        if (!spng_set_ihdr(ctx, &ih) && !spng_encode_image(ctx, img, len, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE) &&
            (out->data = spng_get_png_buffer(ctx, &out->len, &err)) != NULL && !err)
            rc = 0;
        spng_ctx_free(ctx);
    }
    free(rgb);
    out->mime = "image/png";
    return rc;
}

static int jpeg_encode(const unsigned char *rgba, uint32_t w, uint32_t h, spill__imgout *out)
{
    struct jpeg_compress_struct ci;
    jerr e;
    unsigned char *buf = NULL;
    unsigned long len = 0;
    ci.err = jpeg_std_error(&e.m);
    e.m.error_exit = jerr_exit;
    e.m.output_message = jerr_quiet;
    if (setjmp(e.jb)) {
        jpeg_destroy_compress(&ci);
        free(buf);
        return SPILL__IMGS_NOMEM;
    }
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, &buf, &len);
    ci.image_width = w;
    ci.image_height = h;
    ci.input_components = 4;
    ci.in_color_space = JCS_EXT_RGBA;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, 85, TRUE);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < h) {
        JSAMPROW r = (JSAMPROW)(rgba + (size_t)ci.next_scanline * w * 4);
        jpeg_write_scanlines(&ci, &r, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    out->data = buf;
    out->len = len;
    out->mime = "image/jpeg";
    return 0;
}

int spill__img_downscale(const void *src, size_t n, uint32_t max_w, uint32_t max_h, size_t max_bytes,
                         spill__imgout *out)
{
    memset(out, 0, sizeof *out);
    int fmt;
    uint32_t w, h;
    if (spill__image_size(src, n, &fmt, &w, &h) != 1)
        return SPILL__IMGS_BAD;
    if (fmt == SPILL__IMG_GIF)
        return SPILL__IMGS_UNSUPPORTED;
    /* Refused by the header's word, before a byte is inflated. */
    if ((uint64_t)w * h > SPILL__IMG_DECODE_MAX_PIXELS || w > 65535 || h > 65535)
        return SPILL__IMGS_BOMB;
    if (!max_w || !max_h)
        return SPILL__IMGS_BAD;
    scaler s;
    memset(&s, 0, sizeof s);
    int rc = fmt == SPILL__IMG_PNG ? png_scale(src, n, &s, max_w, max_h)
           : fmt == SPILL__IMG_JPEG ? jpeg_scale(src, n, &s, max_w, max_h)
                                   : webp_scale(src, n, &s, max_w, max_h);
    for (int tries = 0; rc == 0; tries++) {
        rc = fmt == SPILL__IMG_JPEG ? jpeg_encode(s.dst, s.dw, s.dh, out) : png_encode(s.dst, s.dw, s.dh, out);
        if (rc || out->len <= max_bytes)
            break;
        /* Too many bytes still: scale what we have down by the excess, and again. */
        const size_t got = out->len;
        free(out->data);
        memset(out, 0, sizeof *out);
        if (tries == 8 || s.dw < 2 || s.dh < 2) {
            rc = SPILL__IMGS_BAD;
            break;
        }
        double f = sqrt((double)max_bytes / (double)got) * 0.9;
        f = f > 0.7 ? 0.7 : f;
        scaler t;
        uint32_t nw = (uint32_t)(s.dw * f) ? (uint32_t)(s.dw * f) : 1, nh = (uint32_t)(s.dh * f) ? (uint32_t)(s.dh * f) : 1;
        if ((rc = scaler_init(&t, s.dw, s.dh, nw, nh)) != 0)
            break;
        for (uint32_t y = 0; y < s.dh; y++)
            scaler_row(&t, s.dst + (size_t)y * s.dw * 4);
        scaler_free(&s);
        s = t;
    }
    if (rc == 0) {
        out->width = s.dw;
        out->height = s.dh;
    }
    scaler_free(&s);
    return rc;
}
