/* internal.h - helpers shared by libspill's modules; never installed. */
#ifndef SPILL_INTERNAL_H
#define SPILL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "spill.h"

/* ---- little-endian fixed-width fields (the on-disk format is LE everywhere) ---- */
static inline void spill__put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}
static inline void spill__put64(unsigned char *p, uint64_t v)
{
    spill__put32(p, (uint32_t)v);
    spill__put32(p + 4, (uint32_t)(v >> 32));
}
static inline uint32_t spill__get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t spill__get64(const unsigned char *p)
{
    return (uint64_t)spill__get32(p) | (uint64_t)spill__get32(p + 4) << 32;
}

/* ---- ids ---- */
void spill__id_to_hex(const uint8_t id[16], char hex[SPILL_ID_HEX + 1]);
/* Parses 8..32 lowercase or uppercase hex digits into id (zero-padded) and returns
 * the number of digits, or SPILL_E_BADID. Nothing else is accepted. */
int spill__hex_to_id(const char *s, uint8_t id[16]);

/* ---- object file format (objfmt.c, pure: no I/O) ----
 *
 * An object file is:
 *   zstd frame 0 .. zstd frame n-1   independent frames, each frame_size raw bytes
 *                                    except the last; content size and checksum set
 *   skippable frame 0x184D2A5C       spill metadata + line index (below)
 *   skippable frame 0x184D2A5E       seek table, zstd seekable format v0.1 with
 *                                    checksums; the metadata frame is listed in it
 *                                    with decompressed size 0
 * so `zstd -d` restores the content and any seekable-format reader can seek in it.
 *
 * Metadata payload (LE): "SPL1" u32 version u32 flags u32 frame_size u32 nframes
 * u64 raw_size u64 newlines u64 xxh64(content) u8[16] xxh3-128(content) i64 created_ns
 * u16 mime_len mime u64 first_line[nframes] (newlines before frame i) u32 check, the
 * low 32 bits of XXH64 over everything after the frame header before it. */
#define SPILL__SKIP_META 0x184D2A5Cu
#define SPILL__SKIP_SEEK 0x184D2A5Eu
#define SPILL__SEEK_MAGIC 0x8F92EAB1u
#define SPILL__META_MAGIC 0x314C5053u /* "SPL1" */
#define SPILL__META_VERSION 1u
#define SPILL__FLAG_WEAK_ID 1u       /* written under the test hook that weakens the hash */
#define SPILL__FLAG_PARTIAL_LAST 2u  /* the last line has no newline */
#define SPILL__MAX_FRAMES 0x8000000u /* the seekable format's own limit */

typedef struct spill__seek_entry {
    uint32_t csize, dsize, check;
} spill__seek_entry;

typedef struct spill__meta {
    uint32_t version, flags, frame_size, nframes;
    uint64_t raw_size, newlines, xxh64;
    uint8_t hash[16];
    int64_t created_ns;
    char mime[128];
    const unsigned char *first_line; /* nframes LE u64, borrowed from the parsed buffer */
} spill__meta;

/* Sizes of the two trailing frames for n data frames. */
size_t spill__meta_frame_size(size_t nframes, size_t mime_len);
size_t spill__seek_frame_size(size_t nentries);
/* Encoders write exactly the sizes above. */
void spill__meta_encode(unsigned char *out, const spill__meta *m, const uint64_t *first_line);
void spill__seek_encode(unsigned char *out, const spill__seek_entry *e, size_t n);
/* Footer (last 9 bytes) -> entry count, or SPILL_E_FORMAT. */
int spill__seek_footer(const unsigned char foot[9], uint32_t *nentries);
/* Parses a whole seek-table frame (spill__seek_frame_size(n) bytes). */
int spill__seek_decode(const unsigned char *frame, size_t size, spill__seek_entry *e, size_t n);
/* Parses a metadata frame; m->first_line points into frame. */
int spill__meta_decode(const unsigned char *frame, size_t size, spill__meta *m);
uint64_t spill__first_line(const spill__meta *m, size_t i);

/* Media type from the first bytes of content. */
const char *spill__sniff_mime(const unsigned char *p, size_t n);

/* Id of the k-th colliding content (k >= 1): a hash of the content hash, its
 * independent checksum and k, so equal contents land on equal ids again. */
void spill__collision_id(const uint8_t base[16], uint64_t xxh64, uint32_t k, uint8_t out[16]);

#endif
