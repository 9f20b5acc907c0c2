/* scan.h - incremental JSON scanner (pure: no I/O, no allocation, no globals).
 *
 * Feeds on arbitrary chunks of one JSON text (RFC 8259: any value at top level,
 * surrounded by optional whitespace) and reports tokens through a callback as soon
 * as they are known. Strings are decoded on the fly (escapes, \u surrogate pairs;
 * a lone surrogate becomes U+FFFD) and delivered in chunks, so a string of any size
 * needs no more memory than the struct. The state is a plain struct: zero-filled,
 * or spill__scan_init(), is ready to use; copying it copies the scan.
 *
 * Offsets are absolute byte positions in the text (0 = first byte fed since init).
 *
 * Strictness: whitespace is space, tab, LF and CR only; no BOM; literals, numbers
 * and escapes exactly as RFC 8259 has them; raw control bytes (< 0x20) inside a
 * string are an error. Raw bytes >= 0x80 inside strings are passed through as they
 * are, even when they are not valid UTF-8 (the scanner does not validate UTF-8).
 *
 * Chunking: feeding the same text in any split gives the same events with the same
 * offsets and the same result; only the boundaries between STR_CHUNK events of one
 * string may differ. */
#ifndef SPILL_SCAN_H
#define SPILL_SCAN_H

#include <stddef.h>
#include <stdint.h>

#define SPILL__SCAN_MAX_DEPTH 512  /* nesting deeper than this is an error */
#define SPILL__SCAN_KEY_MAX 256    /* longer keys are reported cut, with truncated = 1 */
#define SPILL__SCAN_NUM_MAX 64     /* longer numbers are reported cut, with truncated = 1 */
#define SPILL__SCAN_CHUNK 4096     /* decoded string bytes per STR_CHUNK event at most */

/* Every event except STR_CHUNK carries off..end = the span of the bytes it stands
 * for (for the one-byte tokens, end = off + 1); STR_CHUNK has off = end = 0. */
typedef enum spill__tok {
    SPILL__TOK_OBJ_BEGIN = 1, /* off = position of '{' */
    SPILL__TOK_OBJ_END,       /* end = position after '}' */
    SPILL__TOK_ARR_BEGIN,     /* off = position of '[' */
    SPILL__TOK_ARR_END,       /* end = position after ']' */
    SPILL__TOK_KEY,           /* s/n = decoded key; off..end = the key's quotes included */
    SPILL__TOK_STR_BEGIN,     /* a string value starts; off = position of its '"' */
    SPILL__TOK_STR_CHUNK,     /* s/n = next decoded bytes of the string value (n >= 1) */
    SPILL__TOK_STR_END,       /* end = position after the closing '"' (off = that '"') */
    SPILL__TOK_NUMBER,        /* s/n = the number's text; off..end */
    SPILL__TOK_TRUE,          /* off..end */
    SPILL__TOK_FALSE,
    SPILL__TOK_NULL,
} spill__tok;

/* A string value is STR_BEGIN, zero or more STR_CHUNK (1..SPILL__SCAN_CHUNK bytes
 * each, in order; the empty string has none), STR_END. A STR_CHUNK's s may point
 * into the caller's input or into the struct; either way it is valid only during
 * the callback. Chunk boundaries can fall inside a UTF-8 sequence, and a KEY cut
 * at SPILL__SCAN_KEY_MAX can end inside one. Decoded strings may contain NUL
 * bytes (from \u0000). */
typedef struct spill__scan_ev {
    spill__tok tok;
    int depth;            /* nesting of the value or key: top-level value 0, its members 1 ...;
                             a KEY has its value's depth; an END event its container's */
    uint64_t off, end;    /* see spill__tok; 0 where not meaningful */
    const char *s;        /* borrowed: valid during the callback only */
    size_t n;
    int truncated;        /* KEY or NUMBER longer than its buffer */
} spill__scan_ev;

/* Return 0 to go on; anything else stops the feed, which returns it as it is. Do
 * not stop with 1 (feed's "complete"); SPILL_E_ABORTED or a code of the caller's
 * own (positive or negative) is fine. A stop is final: the feed does not say how
 * much input it consumed, so the scan cannot resume; every later feed/finish
 * returns the same value (and calls no callback) until spill__scan_init(). */
typedef int (*spill__scan_cb)(void *ud, const spill__scan_ev *ev);

typedef struct spill__scan {
    /* Internal; fields may change. Zero-filled is a valid initial state. */
    uint64_t pos;                         /* bytes consumed so far */
    uint64_t tok_off;                     /* where the current key/string/number/literal began */
    uint64_t err_off;                     /* offset of the offending byte once err is set */
    int state, depth, err;
    int stopped;                          /* err came from a callback, not from the text */
    int sub;                              /* number sub-state, literal bytes matched or \u digits */
    int lit;                              /* which literal: 0 true, 1 false, 2 null */
    int in_key, truncated;
    int8_t wide;                          /* use the AVX-512 block decoder; init sets it
                                           * where the CPU has one, tests may clear it */
    uint32_t uhex, hi_surrogate;          /* \u digits so far; pending high surrogate or 0 */
    size_t buf_len;
    uint8_t stack[SPILL__SCAN_MAX_DEPTH / 8 + 1]; /* 1 bit per level: object or array */
    char buf[SPILL__SCAN_CHUNK + 8];      /* key, number or pending decoded string bytes */
} spill__scan;

void spill__scan_init(spill__scan *sc);
/* 1 when this CPU runs the AVX-512 VBMI2 string decoder spill__scan_init() picks. */
int spill__scan_wide_available(void);

/* Scans p[0..n) (p may be NULL when n is 0). Returns 0 when all of it was consumed
 * and the text may go on, 1 when the top-level value is complete (trailing
 * whitespace is allowed later, anything else is an error), a callback's non-zero
 * value, or SPILL_E_JSON on malformed input with the absolute offset of the
 * offending byte in *err_off (err_off may be NULL; it is written only for
 * SPILL_E_JSON found in the text). Events for the bytes before an error or a stop
 * have been delivered. A top-level number is complete only once a byte after it
 * (whitespace) or spill__scan_finish() is seen. After an error or a stop every call
 * returns it again until spill__scan_init(). cb may be NULL to validate only. */
int spill__scan_feed(spill__scan *sc, const void *p, size_t n, spill__scan_cb cb, void *ud,
                     uint64_t *err_off);
/* End of the text: completes a top-level number; returns 1 if a whole value was
 * scanned, SPILL_E_JSON otherwise (empty or cut-off text; *err_off = the offset
 * where the text ended), or a stop value as spill__scan_feed() does. It may be
 * called again and returns the same. */
int spill__scan_finish(spill__scan *sc, spill__scan_cb cb, void *ud, uint64_t *err_off);

#endif
