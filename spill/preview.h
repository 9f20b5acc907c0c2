/* preview.h - what a handle shows of a spilled payload (pure: no I/O).
 *
 * A preview watches a payload's bytes stream past once: it keeps the head and a
 * ring of the tail (bounded), counts bytes and lines, and for JSON sketches the shape
 * (top-level type, keys, array lengths, one sample record) with a nested scanner.
 * spill__handle_text() then renders the handle an agent reads: deterministic, so the
 * same content and settings give the same bytes. Also the streaming base64 decoder
 * the filter uses for image/audio/blob payloads. */
#ifndef SPILL_PREVIEW_H
#define SPILL_PREVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "scan.h"

enum { SPILL__SHAPE_KEYS = 16, SPILL__SHAPE_NAME = 40, SPILL__SHAPE_SAMPLE = 320 };

typedef struct spill__shape {
    spill__scan sc;
    int state;                 /* 0 scanning, 1 complete JSON, -1 not JSON */
    char top;                  /* 'o' object, 'a' array, 's' 'n' 'b' 'z' scalars */
    char elem_type;            /* of a top array's first element */
    uint64_t top_count;        /* members or elements of the top value */
    int nkeys;
    struct { char name[SPILL__SHAPE_NAME]; char type; uint64_t count; } keys[SPILL__SHAPE_KEYS];
    char sample_path[SPILL__SHAPE_NAME + 8];
    char sample[SPILL__SHAPE_SAMPLE];
    size_t sample_len;
    int sample_state;          /* 0 looking, 1 capturing, 2 done */
    int sample_cut;
    uint64_t sample_off, sample_end, base;
    int arr_key;               /* index in keys[] of the array being counted, or -1 */
} spill__shape;

typedef struct spill__preview {
    unsigned char *head, *tail; /* caller-provided buffers */
    size_t head_cap, tail_cap, head_len, tail_len, tail_pos;
    uint64_t bytes;
    unsigned char last;
    int json;                   /* sketch the shape */
    spill__shape shape;
} spill__preview;

void spill__preview_init(spill__preview *p, unsigned char *head, size_t head_cap,
                         unsigned char *tail, size_t tail_cap, int json);
void spill__preview_feed(spill__preview *p, const void *data, size_t n);
void spill__preview_finish(spill__preview *p);

typedef struct spill__handle_in {
    const char *id;            /* 32 hex */
    const char *path;          /* object file, may be "" */
    const char *view;          /* plain-text copy, may be "" */
    const char *mime;          /* media type of the stored bytes */
    const char *where;         /* e.g. "content[0].text", "structuredContent" */
    const char *origin;        /* e.g. "tools/call read_text_file", may be "" */
    const char *orig_uri;      /* an embedded resource's uri, may be "" */
    const char *orig_mime;     /* the server's mimeType, may be "" */
    uint64_t tokens;           /* 0: not counted (binary) */
    uint64_t lines;            /* of the stored object (spill_object_info.lines); unused with error */
    const char *counter;
    int binary;
    const char *error;         /* the store failed: say so, show the preview, no id */
    const spill__preview *pv;
} spill__handle_in;

/* A growable text buffer with a hard cap (curl's dynbuf idea). */
typedef struct spill__buf {
    char *p;
    size_t len, cap, max;
    int oom;                   /* an allocation failed: the buffer is unusable */
    int full;                  /* an append would pass max: the buffer is unusable */
    void *(*realloc)(void *ctx, void *p, size_t size);
    void *ctx;
} spill__buf;
int spill__buf_put(spill__buf *b, const void *p, size_t n);
int spill__buf_printf(spill__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s[0..n) as a JSON string (quotes included), escaping as JSON requires. */
int spill__buf_json(spill__buf *b, const char *s, size_t n);

/* Renders the handle text for a spilled payload into b. */
int spill__handle_text(spill__buf *b, const spill__handle_in *in);

/* Streaming base64 (RFC 4648, standard alphabet; whitespace ignored, '=' padding). */
typedef struct spill__b64 {
    uint32_t acc;
    int nbits, pad, bad;
    uint64_t pos;              /* input bytes seen, for the error offset */
} spill__b64;
/* Decodes in[0..n) into out (room for n * 3 / 4 + 3 bytes); returns bytes written, or
 * -1 at the first invalid byte (b->pos tells where). */
long spill__b64_decode(spill__b64 *b, const unsigned char *in, size_t n, unsigned char *out);
/* 0 if the input ended on a valid boundary, -1 otherwise. */
int spill__b64_finish(spill__b64 *b);

#endif
