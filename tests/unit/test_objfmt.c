/* Unit tests of the pure object-format module: ids, trailer encode/decode, sniffing. */
#include "../harness.h"
#include "internal.h"

static void hex_ids(void)
{
    uint8_t id[16], back[16];
    for (int i = 0; i < 16; i++)
        id[i] = (uint8_t)(h_rand() & 0xff);
    char hex[SPILL_ID_HEX + 1];
    spill__id_to_hex(id, hex);
    ASSERT_EQ(strlen(hex), 32);
    ASSERT_EQ(spill__hex_to_id(hex, back), 32);
    ASSERT_MEM_EQ(id, back, 16);
    ASSERT_EQ(spill__hex_to_id("0123abcd", back), 8);
    ASSERT_EQ(back[0], 0x01);
    ASSERT_EQ(back[3], 0xcd);
    ASSERT_EQ(back[4], 0);
    ASSERT_EQ(spill__hex_to_id("0123ABCDe", back), 9);
    ASSERT_EQ(back[4], 0xe0);
    const char *bad[] = {"", "0123abc", "../../etc/passwd", "/etc/passwd", "0123abcg",
                         "0123456789abcdef0123456789abcdef0", "0123abcd/", "0123 abcd", "-0123abcd"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (spill__hex_to_id(bad[i], back) != SPILL_E_BADID)
            FAILF("'%s' was accepted as an id", bad[i]);
}

static void trailer_roundtrip(void)
{
    enum { N = 5 };
    uint64_t fl[N] = {0, 10, 10, 25, 40};
    spill__meta m = {0}, d;
    m.version = SPILL__META_VERSION;
    m.flags = SPILL__FLAG_PARTIAL_LAST;
    m.frame_size = 4096;
    m.nframes = N;
    m.raw_size = 4 * 4096 + 100;
    m.newlines = 41;
    m.xxh64 = 0x1122334455667788ull;
    memset(m.hash, 0xab, 16);
    m.created_ns = 1234567890123;
    strcpy(m.mime, "application/json");
    size_t ms = spill__meta_frame_size(N, strlen(m.mime));
    unsigned char *buf = malloc(ms);
    ASSERT(buf);
    spill__meta_encode(buf, &m, fl);
    ASSERT_OK(spill__meta_decode(buf, ms, &d));
    ASSERT_EQ(d.nframes, N);
    ASSERT_EQ(d.raw_size, m.raw_size);
    ASSERT_EQ(d.newlines, 41);
    ASSERT_EQ(d.xxh64, m.xxh64);
    ASSERT_EQ(d.flags, SPILL__FLAG_PARTIAL_LAST);
    ASSERT(strcmp(d.mime, "application/json") == 0);
    for (int i = 0; i < N; i++)
        ASSERT_EQ(spill__first_line(&d, (size_t)i), fl[i]);
    /* Every truncation and a decreasing line index are rejected, never read past. */
    for (size_t cut = 0; cut < ms; cut++)
        if (spill__meta_decode(buf, cut, &d) == 0)
            FAILF("metadata cut to %zu bytes was accepted", cut);
    spill__put64(buf + ms - 8, 5); /* last first_line below the previous one */
    ASSERT_EQ(spill__meta_decode(buf, ms, &d), SPILL_E_CORRUPT);
    free(buf);

    spill__seek_entry e[3] = {{100, 4096, 7}, {50, 20, 8}, {90, 0, 9}}, o[3];
    size_t ss = spill__seek_frame_size(3);
    unsigned char *sb = malloc(ss);
    ASSERT(sb);
    spill__seek_encode(sb, e, 3);
    uint32_t n;
    ASSERT_OK(spill__seek_footer(sb + ss - 9, &n));
    ASSERT_EQ(n, 3);
    ASSERT_OK(spill__seek_decode(sb, ss, o, 3));
    ASSERT_MEM_EQ(e, o, sizeof e);
    ASSERT_EQ(spill__get32(sb + ss - 4), 0x8F92EAB1u); /* the seekable format's magic */
    sb[ss - 1] ^= 1;
    ASSERT_EQ(spill__seek_footer(sb + ss - 9, &n), SPILL_E_FORMAT);
    free(sb);
}

static void sniff(void)
{
    ASSERT(!strcmp(spill__sniff_mime((const unsigned char *)"hello\n", 6), "text/plain"));
    ASSERT(!strcmp(spill__sniff_mime((const unsigned char *)"  {\"a\":1}", 9), "application/json"));
    ASSERT(!strcmp(spill__sniff_mime((const unsigned char *)"\x89PNG\r\n\x1a\nxx", 10), "image/png"));
    ASSERT(!strcmp(spill__sniff_mime((const unsigned char *)"a\0b", 3), "application/octet-stream"));
    ASSERT(!strcmp(spill__sniff_mime((const unsigned char *)"\xc3\x28", 2), "application/octet-stream"));
    /* A UTF-8 sequence cut by the end of the sample is still text. */
    ASSERT(!strcmp(spill__sniff_mime((const unsigned char *)"caf\xc3", 4), "text/plain"));
    ASSERT(!strcmp(spill__sniff_mime((const unsigned char *)"", 0), "text/plain"));
}

static void collision_ids(void)
{
    uint8_t base[16] = {1}, a[16], b[16], c[16];
    spill__collision_id(base, 42, 1, a);
    spill__collision_id(base, 42, 2, b);
    spill__collision_id(base, 43, 1, c);
    ASSERT(memcmp(a, b, 16) != 0);
    ASSERT(memcmp(a, c, 16) != 0);
    ASSERT(memcmp(a, base, 16) != 0);
    spill__collision_id(base, 42, 1, b);
    ASSERT_MEM_EQ(a, b, 16); /* deterministic: the same content finds its id again */
}

static void error_table(void)
{
    ASSERT(strcmp(spill_strerror(SPILL_E_CORRUPT), "object is corrupt") == 0);
    ASSERT(strcmp(spill_err_name(SPILL_E_BADID), "SPILL_E_BADID") == 0);
    ASSERT(strlen(spill_strerror(-28)) > 0); /* ENOSPC via strerror */
    ASSERT(strcmp(spill_err_name(-28), "ENOSPC") == 0);
    ASSERT(strcmp(spill_strerror(-99999), "unknown error") == 0);
}

int main(void)
{
    h_seed();
    RUN(hex_ids);
    RUN(trailer_roundtrip);
    RUN(sniff);
    RUN(collision_ids);
    RUN(error_table);
    return h_failures ? 1 : 0;
}
