/* fuzz_image.c - the image header reader, the token rules, audio headers, and the
 * decoder/scaler (spill/image.c, spill/imgscale.c) on hostile bytes.
 *
 * Input: 1 plan byte, then the data. The header is read whole and in chunks of
 * 1 + (plan & 15) bytes, and both must agree exactly (format, state, size). The audio
 * reader must not read past the data. Where the header gives a size, the tokens must
 * be within each rule's range, and a copy scaled into a box of 1 + (plan >> 4) * 8 px
 * is made: it must succeed or fail with one of the known errors, and a success must
 * fit the box (a side over 65535 px is refused as a bomb). The decoder is tried only on images of at most 2 MP (the CPU a run costs;
 * the refusal of bigger ones by the header alone is a unit test). Each input comes in
 * its own malloc'd copy, so ASan sees a read past it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "imgscale.h"

static void fail(int line)
{
    fprintf(stderr, "fuzz_image.c:%d: invariant violated\n", line);
    abort();
}
#define CHECK(c) do { if (!(c)) fail(__LINE__); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const unsigned plan = data[0];
    const size_t n = size - 1;
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        return 0;
    memcpy(p, data + 1, n);

    int fmt;
    uint32_t w, h;
    const int whole = spill__image_size(p, n, &fmt, &w, &h);
    CHECK(whole == 1 || whole == -1);
    spill__imghdr s;
    spill__imghdr_init(&s);
    const size_t step = 1 + (plan & 15);
    for (size_t i = 0; i < n; i += step) {
        size_t k = n - i < step ? n - i : step;
        uint8_t *c = malloc(k);
        memcpy(c, p + i, k);
        spill__imghdr_feed(&s, c, k);
        free(c);
    }
    CHECK(spill__imghdr_finish(&s) == whole && s.fmt == fmt);
    if (whole == 1) {
        CHECK(s.width == w && s.height == h && w > 0 && h > 0);
        /* Claude: at most 1568 x 1568 / 750 rounded up; OpenAI: 85 + 170 x 8 tiles. */
        const uint64_t tc = spill__img_tokens(SPILL__IMGRULE_CLAUDE, w, h),
                       to = spill__img_tokens(SPILL__IMGRULE_OPENAI, w, h);
        CHECK(tc >= 1 && tc <= 3279 && to >= 255 && to <= 85 + 170 * 12);
        uint32_t ow, oh;
        if (spill__img_fit(SPILL__IMGRULE_CLAUDE, w, h, 400, &ow, &oh) == 0)
            CHECK(spill__img_tokens(SPILL__IMGRULE_CLAUDE, ow, oh) <= 400 && ow <= w && oh <= h);
        if ((uint64_t)w * h <= 2u * 1000 * 1000) {
            const uint32_t box = 1 + (plan >> 4) * 8;
            spill__imgout o;
            int rc = spill__img_downscale(p, n, box, box, 1u << 20, &o);
            CHECK(rc == SPILL__IMGS_OK || rc == SPILL__IMGS_UNSUPPORTED || rc == SPILL__IMGS_BAD ||
                  rc == SPILL__IMGS_NOMEM || (rc == SPILL__IMGS_BOMB && (w > 65535 || h > 65535)));
            if (rc == SPILL__IMGS_OK) {
                CHECK(o.width >= 1 && o.height >= 1 && o.width <= box && o.height <= box && o.len <= 1u << 20);
                free(o.data);
            }
        }
    }
    const char *mime = NULL;
    double sec;
    if (spill__audio_info(p, n, &mime, &sec))
        CHECK(mime && (sec == -1 || sec >= 0));
    char *b = malloc((n + 2) / 3 * 4 + 1);
    CHECK(spill__b64_encode(b, p, n) == (n + 2) / 3 * 4);
    free(b);
    free(p);
    return 0;
}
