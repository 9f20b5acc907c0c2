/* image.c - image sizes and token rules, audio durations, from headers. See image.h. */
#include <math.h>
#include <string.h>

#include "image.h"

static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | be16(p + 2); }
static uint32_t le16(const uint8_t *p) { return (uint32_t)p[1] << 8 | p[0]; }
static uint32_t le24(const uint8_t *p) { return le16(p) | (uint32_t)p[2] << 16; }
static uint32_t le32(const uint8_t *p) { return le16(p) | le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

/* ---- image headers ---- */

static const struct { int fmt; const char *magic; uint32_t n; } MAGICS[] = {
    {SPILL__IMG_PNG, "\x89PNG\r\n\x1a\n", 8},
    {SPILL__IMG_JPEG, "\xff\xd8\xff", 3},
    {SPILL__IMG_GIF, "GIF87a", 6},
    {SPILL__IMG_GIF, "GIF89a", 6},
    {SPILL__IMG_WEBP, "RIFF????WEBP", 12}, /* ? : the RIFF size, any byte */
};

/* The format, 0 while the bytes so far could still begin one, -1 if none. */
static int magic(const uint8_t *p, uint32_t n)
{
    int open = 0;
    for (size_t i = 0; i < sizeof MAGICS / sizeof MAGICS[0]; i++) {
        uint32_t k = n < MAGICS[i].n ? n : MAGICS[i].n, j = 0;
        while (j < k && (MAGICS[i].magic[j] == '?' || (uint8_t)MAGICS[i].magic[j] == p[j]))
            j++;
        if (j < k)
            continue;
        if (k == MAGICS[i].n)
            return MAGICS[i].fmt;
        open = 1;
    }
    return open ? 0 : -1;
}

void spill__imghdr_init(spill__imghdr *h) { memset(h, 0, sizeof *h); }

static int done(spill__imghdr *h, uint32_t w, uint32_t ht)
{
    h->width = w;
    h->height = ht;
    return h->state = w && ht ? 1 : -1;
}

/* The fixed-place headers: how many head bytes each needs, then their size. */
static uint32_t fixed_need(int fmt) { return fmt == SPILL__IMG_PNG ? 26 : fmt == SPILL__IMG_GIF ? 10 : 30; }

static int fixed_parse(spill__imghdr *h)
{
    const uint8_t *p = h->head;
    switch (h->fmt) {
    case SPILL__IMG_PNG: /* the first chunk is IHDR: length 13 */
        if (be32(p + 8) != 13 || memcmp(p + 12, "IHDR", 4))
            return h->state = -1;
        if (p[24] == 0 || be32(p + 16) > 0x7fffffffu || be32(p + 20) > 0x7fffffffu)
            return h->state = -1;
        return done(h, be32(p + 16), be32(p + 20));
    case SPILL__IMG_GIF: /* the logical screen */
        return done(h, le16(p + 6), le16(p + 8));
    default: /* WebP: the first chunk says which of three headers follows */
        if (!memcmp(p + 12, "VP8X", 4))
            return done(h, 1 + le24(p + 24), 1 + le24(p + 27));
        if (!memcmp(p + 12, "VP8L", 4) && p[20] == 0x2f) {
            uint32_t b = le32(p + 21);
            return done(h, 1 + (b & 0x3fff), 1 + (b >> 14 & 0x3fff));
        }
        if (!memcmp(p + 12, "VP8 ", 4) && p[23] == 0x9d && p[24] == 0x01 && p[25] == 0x2a)
            return done(h, le16(p + 26) & 0x3fff, le16(p + 28) & 0x3fff);
        return h->state = -1;
    }
}

/* JPEG after its SOI: markers, lengths, segments skipped, until a SOFn frame header
 * gives the size. A scan (SOS) or the end (EOI) before it: not an image we can size. */
enum { J_FF = 0, J_MARKER, J_LEN, J_SKIP, J_SOF };
enum { JPEG_MAX_SEGS = 4096 };

static int is_sof(uint8_t m) { return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc; }

static int jpeg_feed(spill__imghdr *h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n && h->state == 0;) {
        uint8_t c = p[i];
        switch (h->js) {
        case J_FF:
            if (c != 0xff)
                return h->state = -1;
            h->js = J_MARKER;
            i++;
            break;
        case J_MARKER:
            i++;
            if (c == 0xff) /* fill bytes */
                break;
            if (c == 0x00 || c == 0xd9 || c == 0xda || ++h->segs > JPEG_MAX_SEGS)
                return h->state = -1;
            if (c == 0x01 || (c >= 0xd0 && c <= 0xd8)) { /* markers without a segment */
                h->js = J_FF;
                break;
            }
            h->marker = c;
            h->sn = 0;
            h->js = J_LEN;
            break;
        case J_LEN:
            h->seg[h->sn++] = c;
            i++;
            if (h->sn < 2)
                break;
            if (be16(h->seg) < 2)
                return h->state = -1;
            h->skip = be16(h->seg) - 2;
            h->sn = 0;
            h->js = is_sof(h->marker) ? J_SOF : J_SKIP;
            if (h->js == J_SOF && h->skip < 5)
                return h->state = -1;
            if (h->js == J_SKIP && h->skip == 0)
                h->js = J_FF;
            break;
        case J_SKIP: {
            size_t k = n - i < h->skip ? n - i : h->skip;
            h->skip -= (uint32_t)k;
            i += k;
            if (h->skip == 0)
                h->js = J_FF;
            break;
        }
        case J_SOF: /* precision, height, width */
            h->seg[h->sn++] = c;
            i++;
            if (h->sn == 5)
                return done(h, be16(h->seg + 3), be16(h->seg + 1));
            break;
        }
    }
    return h->state;
}

int spill__imghdr_feed(spill__imghdr *h, const void *data, size_t n)
{
    const uint8_t *p = data;
    if (h->state)
        return h->state;
    if (h->fmt == SPILL__IMG_JPEG && h->hn == sizeof h->head)
        return jpeg_feed(h, p, n);
    uint32_t k = (uint32_t)(n < sizeof h->head - h->hn ? n : sizeof h->head - h->hn);
    uint32_t had = h->hn;
    memcpy(h->head + h->hn, p, k);
    h->hn += k;
    if (!h->fmt) {
        int m = magic(h->head, h->hn);
        if (m < 0)
            return h->state = -1;
        h->fmt = m;
        if (!m)
            return 0;
    }
    if (h->fmt == SPILL__IMG_JPEG) {
        /* The head's bytes past the SOI go through the walk once, then the rest. */
        uint32_t from = had > 2 ? had : 2;
        if (jpeg_feed(h, h->head + from, h->hn - from) != 0 || h->hn < sizeof h->head)
            return h->state;
        return jpeg_feed(h, p + k, n - k);
    }
    if (h->hn >= fixed_need(h->fmt))
        return fixed_parse(h);
    return 0;
}

int spill__imghdr_finish(spill__imghdr *h)
{
    if (h->state == 0)
        h->state = -1;
    return h->state;
}

int spill__image_size(const void *p, size_t n, int *fmt, uint32_t *w, uint32_t *h)
{
    spill__imghdr s;
    spill__imghdr_init(&s);
    spill__imghdr_feed(&s, p, n);
    *fmt = s.fmt;
    *w = s.width;
    *h = s.height;
    return spill__imghdr_finish(&s);
}

const char *spill__img_mime(int fmt)
{
    static const char *m[] = {"application/octet-stream", "image/png", "image/jpeg", "image/gif", "image/webp"};
    return fmt >= 0 && fmt <= SPILL__IMG_WEBP ? m[fmt] : m[0];
}

/* ---- token rules ---- */

int spill__img_rule(const char *name)
{
    return name && (strstr(name, "o200k") || strstr(name, "cl100k")) ? SPILL__IMGRULE_OPENAI
                                                                     : SPILL__IMGRULE_CLAUDE;
}

/* Scales (w, h) by num/den in integers (a side scaled to exactly num is num, never
 * num - 1 from rounding), rounding down but never below 1 px. */
static void scale(uint32_t *w, uint32_t *h, uint64_t num, uint64_t den)
{
    uint64_t a = *w * num / den, b = *h * num / den;
    *w = a < 1 ? 1 : (uint32_t)a;
    *h = b < 1 ? 1 : (uint32_t)b;
}

void spill__img_model_size(int rule, uint32_t w, uint32_t h, uint32_t *ow, uint32_t *oh)
{
    uint32_t lo = w < h ? w : h, hi = w < h ? h : w;
    if (rule == SPILL__IMGRULE_OPENAI) {
        if (hi > 2048) {
            scale(&w, &h, 2048, hi);
            lo = w < h ? w : h;
        }
        if (lo > 768)
            scale(&w, &h, 768, lo);
    } else if (hi > 1568) {
        scale(&w, &h, 1568, hi);
    }
    *ow = w;
    *oh = h;
}

uint64_t spill__img_tokens(int rule, uint32_t w, uint32_t h)
{
    if (!w || !h)
        return 0;
    spill__img_model_size(rule, w, h, &w, &h);
    if (rule == SPILL__IMGRULE_OPENAI)
        return 85 + 170 * (uint64_t)((w + 511) / 512) * ((h + 511) / 512);
    return ((uint64_t)w * h + 749) / 750;
}

int spill__img_fit(int rule, uint32_t w, uint32_t h, uint64_t max_tokens, uint32_t *ow, uint32_t *oh)
{
    spill__img_model_size(rule, w, h, &w, &h);
    for (int i = 0; i < 64 && spill__img_tokens(rule, w, h) > max_tokens; i++) {
        double f = sqrt((double)max_tokens / (double)spill__img_tokens(rule, w, h));
        scale(&w, &h, (uint64_t)((f < 0.95 ? f : 0.95) * 1e6), 1000000);
        if (w < 16 || h < 16)
            return -1;
    }
    if (spill__img_tokens(rule, w, h) > max_tokens)
        return -1;
    *ow = w;
    *oh = h;
    return 0;
}

size_t spill__b64_encode(char *dst, const void *data, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const uint8_t *p = data;
    size_t j = 0;
    for (size_t i = 0; i < n; i += 3, j += 4) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        dst[j] = tab[v >> 18];
        dst[j + 1] = tab[v >> 12 & 63];
        dst[j + 2] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        dst[j + 3] = i + 2 < n ? tab[v & 63] : '=';
    }
    return j;
}

/* ---- audio ---- */

static int wav_info(const uint8_t *p, size_t n, double *sec)
{
    uint32_t byte_rate = 0;
    for (size_t at = 12; at + 8 <= n;) {
        uint32_t len = le32(p + at + 4);
        if (!memcmp(p + at, "fmt ", 4) && len >= 16 && at + 8 + 16 <= n)
            byte_rate = le32(p + at + 8 + 8);
        if (!memcmp(p + at, "data", 4)) {
            if (byte_rate && len != 0xffffffffu && len)
                *sec = (double)len / byte_rate;
            return 1;
        }
        at += 8 + (uint64_t)len + (len & 1);
    }
    return 1;
}

/* MPEG audio frame header: its length in bytes and samples, or 0. */
static uint32_t mp3_frame(const uint8_t *p, uint32_t *samples, uint32_t *rate)
{
    static const uint16_t br[2][3][16] = {
        {{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448, 0},
         {0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 0},
         {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0}},
        {{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256, 0},
         {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0},
         {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0}}};
    static const uint32_t sr[3] = {44100, 48000, 32000};
    if (p[0] != 0xff || (p[1] & 0xe0) != 0xe0)
        return 0;
    int ver = p[1] >> 3 & 3, layer = p[1] >> 1 & 3, bri = p[2] >> 4, sri = p[2] >> 2 & 3, pad = p[2] >> 1 & 1;
    if (ver == 1 || layer == 0 || bri == 0 || bri == 15 || sri == 3)
        return 0;
    int v1 = ver == 3, l = 3 - layer; /* l: 0 layer I, 1 layer II, 2 layer III */
    uint32_t kbps = br[!v1][l][bri], hz = sr[sri] >> (ver == 3 ? 0 : ver == 2 ? 1 : 2);
    *rate = hz;
    if (l == 0) {
        *samples = 384;
        return (12000 * kbps / hz + pad) * 4;
    }
    *samples = l == 2 && !v1 ? 576 : 1152;
    return *samples / 8 * 1000 * kbps / hz + pad;
}

static int mp3_info(const uint8_t *p, size_t n, double *sec)
{
    size_t at = 0;
    if (n >= 10 && !memcmp(p, "ID3", 3)) /* ID3v2: a synchsafe size */
        at = 10 + ((size_t)(p[6] & 0x7f) << 21 | (size_t)(p[7] & 0x7f) << 14 | (size_t)(p[8] & 0x7f) << 7 |
                   (p[9] & 0x7f)) + (p[5] & 0x10 ? 10 : 0);
    uint32_t samples, rate;
    if (at + 4 > n || !mp3_frame(p + at, &samples, &rate))
        return 0;
    double total = 0;
    while (at + 4 <= n) {
        uint32_t len = mp3_frame(p + at, &samples, &rate);
        if (!len) { /* a trailing tag ends the frames; anything else: not exact */
            if (!(n - at == 128 && !memcmp(p + at, "TAG", 3)) && memcmp(p + at, "APETAGEX", n - at < 8 ? n - at : 8))
                return 1;
            break;
        }
        if (at + len > n)
            break;
        total += (double)samples / rate;
        at += len;
    }
    *sec = total;
    return 1;
}

static int ogg_info(const uint8_t *p, size_t n, const char **mime, double *sec)
{
    if (n < 28 + 19 || p[26] < 1 || (size_t)27 + p[26] > n)
        return 0; /* the segment table must be within the bytes */
    const uint8_t *pk = p + 27 + p[26];
    size_t left = n - (size_t)(pk - p);
    uint32_t rate = 0, preskip = 0;
    if (left >= 16 && !memcmp(pk, "\x01vorbis", 7)) {
        rate = le32(pk + 12);
        *mime = "audio/ogg";
    } else if (left >= 19 && !memcmp(pk, "OpusHead", 8)) {
        rate = 48000;
        preskip = le16(pk + 10);
        *mime = "audio/ogg";
    } else {
        return 0;
    }
    for (size_t at = n >= 27 ? n - 27 : 0;; at--) { /* the last page */
        if (!memcmp(p + at, "OggS", 4) && p[at + 4] == 0) {
            uint64_t g = le64(p + at + 6);
            if (rate && g != UINT64_MAX && g >= preskip)
                *sec = (double)(g - preskip) / rate;
            break;
        }
        if (at == 0)
            break;
    }
    return 1;
}

int spill__audio_info(const void *data, size_t n, const char **mime, double *sec)
{
    const uint8_t *p = data;
    *sec = -1;
    if (n >= 12 && !memcmp(p, "RIFF", 4) && !memcmp(p + 8, "WAVE", 4)) {
        *mime = "audio/wav";
        return wav_info(p, n, sec);
    }
    if (n >= 4 && !memcmp(p, "OggS", 4))
        return ogg_info(p, n, mime, sec);
    if (n >= 4 && !memcmp(p, "fLaC", 4)) {
        *mime = "audio/flac";
        return 1;
    }
    if (n >= 4 && mp3_info(p, n, sec)) {
        *mime = "audio/mpeg";
        return 1;
    }
    return 0;
}
