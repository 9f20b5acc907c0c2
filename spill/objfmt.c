/* objfmt.c - encode and decode the trailer of an object file (see internal.h).
 * Pure: no I/O; every decoder bounds-checks its input, because object files are
 * read back from disk where they may have been damaged. */
#include <xxhash.h>

#include "internal.h"

#define META_FIXED (4 + 4 + 4 + 4 + 4 + 8 + 8 + 8 + 16 + 8 + 2)
#define META_CHECK 4 /* XXH64 (low 32 bits) of the payload before it */

size_t spill__meta_frame_size(size_t nframes, size_t mime_len)
{
    return 8 + META_FIXED + mime_len + 8 * nframes + META_CHECK;
}

size_t spill__seek_frame_size(size_t nentries)
{
    return 8 + 12 * nentries + 9;
}

void spill__meta_encode(unsigned char *out, const spill__meta *m, const uint64_t *first_line)
{
    size_t mlen = strlen(m->mime);
    size_t total = spill__meta_frame_size(m->nframes, mlen);
    unsigned char *p = out;
    spill__put32(p, SPILL__SKIP_META);
    spill__put32(p + 4, (uint32_t)(total - 8));
    p += 8;
    spill__put32(p, SPILL__META_MAGIC);
    spill__put32(p + 4, m->version);
    spill__put32(p + 8, m->flags);
    spill__put32(p + 12, m->frame_size);
    spill__put32(p + 16, m->nframes);
    spill__put64(p + 20, m->raw_size);
    spill__put64(p + 28, m->newlines);
    spill__put64(p + 36, m->xxh64);
    memcpy(p + 44, m->hash, 16);
    spill__put64(p + 60, (uint64_t)m->created_ns);
    p[68] = (unsigned char)mlen;
    p[69] = (unsigned char)(mlen >> 8);
    p += META_FIXED;
    memcpy(p, m->mime, mlen);
    p += mlen;
    for (uint32_t i = 0; i < m->nframes; i++, p += 8)
        spill__put64(p, first_line[i]);
    spill__put32(p, (uint32_t)XXH64(out + 8, (size_t)(p - (out + 8)), 0));
}

int spill__meta_decode(const unsigned char *f, size_t size, spill__meta *m)
{
    if (size < 8 + META_FIXED + META_CHECK || spill__get32(f) != SPILL__SKIP_META ||
        spill__get32(f + 4) != size - 8)
        return SPILL_E_FORMAT;
    const unsigned char *p = f + 8;
    if (spill__get32(p) != SPILL__META_MAGIC)
        return SPILL_E_FORMAT;
    if (spill__get32(f + size - META_CHECK) != (uint32_t)XXH64(p, size - 8 - META_CHECK, 0))
        return SPILL_E_CORRUPT;
    memset(m, 0, sizeof *m);
    m->version = spill__get32(p + 4);
    if (m->version != SPILL__META_VERSION)
        return SPILL_E_FORMAT;
    m->flags = spill__get32(p + 8);
    m->frame_size = spill__get32(p + 12);
    m->nframes = spill__get32(p + 16);
    m->raw_size = spill__get64(p + 20);
    m->newlines = spill__get64(p + 28);
    m->xxh64 = spill__get64(p + 36);
    memcpy(m->hash, p + 44, 16);
    m->created_ns = (int64_t)spill__get64(p + 60);
    size_t mlen = (size_t)p[68] | (size_t)p[69] << 8;
    if (mlen >= sizeof m->mime || m->nframes == 0 || m->nframes > SPILL__MAX_FRAMES ||
        m->frame_size == 0 || spill__meta_frame_size(m->nframes, mlen) != size)
        return SPILL_E_CORRUPT;
    memcpy(m->mime, p + META_FIXED, mlen);
    m->mime[mlen] = 0;
    m->first_line = p + META_FIXED + mlen;
    /* The line index must be a non-decreasing count bounded by the total. */
    uint64_t prev = 0;
    for (uint32_t i = 0; i < m->nframes; i++) {
        uint64_t v = spill__first_line(m, i);
        if (v < prev || v > m->newlines || (i == 0 && v != 0))
            return SPILL_E_CORRUPT;
        prev = v;
    }
    return 0;
}

uint64_t spill__first_line(const spill__meta *m, size_t i)
{
    return spill__get64(m->first_line + 8 * i);
}

void spill__seek_encode(unsigned char *out, const spill__seek_entry *e, size_t n)
{
    size_t total = spill__seek_frame_size(n);
    spill__put32(out, SPILL__SKIP_SEEK);
    spill__put32(out + 4, (uint32_t)(total - 8));
    unsigned char *p = out + 8;
    for (size_t i = 0; i < n; i++, p += 12) {
        spill__put32(p, e[i].csize);
        spill__put32(p + 4, e[i].dsize);
        spill__put32(p + 8, e[i].check);
    }
    spill__put32(p, (uint32_t)n);
    p[4] = 0x80; /* checksum flag; reserved bits zero */
    spill__put32(p + 5, SPILL__SEEK_MAGIC);
}

int spill__seek_footer(const unsigned char foot[9], uint32_t *nentries)
{
    if (spill__get32(foot + 5) != SPILL__SEEK_MAGIC)
        return SPILL_E_FORMAT;
    if ((foot[4] & 0x7c) != 0 || !(foot[4] & 0x80)) /* we always write checksums */
        return SPILL_E_FORMAT;
    *nentries = spill__get32(foot);
    if (*nentries < 2 || *nentries > SPILL__MAX_FRAMES + 1)
        return SPILL_E_CORRUPT;
    return 0;
}

int spill__seek_decode(const unsigned char *f, size_t size, spill__seek_entry *e, size_t n)
{
    if (size != spill__seek_frame_size(n) || spill__get32(f) != SPILL__SKIP_SEEK ||
        spill__get32(f + 4) != size - 8)
        return SPILL_E_CORRUPT;
    const unsigned char *p = f + 8;
    for (size_t i = 0; i < n; i++, p += 12) {
        e[i].csize = spill__get32(p);
        e[i].dsize = spill__get32(p + 4);
        e[i].check = spill__get32(p + 8);
    }
    return 0;
}

/* Valid UTF-8 (a sequence cut by the end of the sample counts as valid). */
static int utf8_ok(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (len == 0 || (len == 2 && c < 0xc2) || c > 0xf4)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if (i + k >= n)
                return 1;
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
        }
        i += len;
    }
    return 1;
}

const char *spill__sniff_mime(const unsigned char *p, size_t n)
{
    static const struct { const char *magic; size_t len; const char *mime; } sig[] = {
        {"\x89PNG\r\n\x1a\n", 8, "image/png"}, {"\xff\xd8\xff", 3, "image/jpeg"},
        {"GIF8", 4, "image/gif"},              {"%PDF-", 5, "application/pdf"},
        {"\x1f\x8b", 2, "application/gzip"},   {"PK\x03\x04", 4, "application/zip"},
        {"\x28\xb5\x2f\xfd", 4, "application/zstd"},
    };
    for (size_t i = 0; i < sizeof sig / sizeof sig[0]; i++)
        if (n >= sig[i].len && memcmp(p, sig[i].magic, sig[i].len) == 0)
            return sig[i].mime;
    if (n >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
        return "image/webp";
    if (memchr(p, 0, n) || !utf8_ok(p, n))
        return "application/octet-stream";
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    if (i < n && (p[i] == '{' || p[i] == '['))
        return "application/json";
    return "text/plain";
}

void spill__collision_id(const uint8_t base[16], uint64_t xxh64, uint32_t k, uint8_t out[16])
{
    unsigned char in[16 + 8 + 4];
    memcpy(in, base, 16);
    spill__put64(in + 16, xxh64);
    spill__put32(in + 24, k);
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(in, sizeof in));
    memcpy(out, c.digest, 16);
}

void spill__id_to_hex(const uint8_t id[16], char hex[SPILL_ID_HEX + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        hex[2 * i] = digits[id[i] >> 4];
        hex[2 * i + 1] = digits[id[i] & 15];
    }
    hex[SPILL_ID_HEX] = 0;
}

int spill__hex_to_id(const char *s, uint8_t id[16])
{
    memset(id, 0, 16);
    int n = 0;
    for (; s[n]; n++) {
        if (n >= SPILL_ID_HEX)
            return SPILL_E_BADID;
        int c = (unsigned char)s[n], v;
        if (c >= '0' && c <= '9') v = c - '0';
        else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
        else return SPILL_E_BADID;
        id[n / 2] |= (uint8_t)(n % 2 ? v : v << 4);
    }
    return n >= 8 ? n : SPILL_E_BADID;
}
