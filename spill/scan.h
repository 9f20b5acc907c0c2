/* scan.h - incremental JSON scanner (pure: no I/O, no allocation, no globals).
 *
 * Feeds on arbitrary chunks of one JSON text (RFC 8259: any value at top level,
 * surrounded by optional whitespace) and reports tokens through a callback as soon
 * as they are known. Strings are decoded on the fly (escapes, \u surrogate pairs;
 * a lone surrogate becomes U+FFFD) and delivered in chunks, so a string of any size
 * needs no more memory than the struct. The state is a plain struct: zero-filled,
 * or spill__scan_init(), is ready to use; copying it copies the scan.
 *
 * Offsets are absolute byte positions in the text (0 = first byte fed since init). */
#ifndef SPILL_SCAN_H
#define SPILL_SCAN_H

#include <stddef.h>
#include <stdint.h>

#define SPILL__SCAN_MAX_DEPTH 512  /* nesting deeper than this is an error */
#define SPILL__SCAN_KEY_MAX 256    /* longer keys are reported cut, with truncated = 1 */
#define SPILL__SCAN_NUM_MAX 64     /* longer numbers are reported cut, with truncated = 1 */
#define SPILL__SCAN_CHUNK 1024     /* decoded string bytes per STR_CHUNK event at most */

typedef enum spill__tok {
    SPILL__TOK_OBJ_BEGIN = 1, /* off = position of '{' */
    SPILL__TOK_OBJ_END,       /* end = position after '}' */
    SPILL__TOK_ARR_BEGIN,     /* off = position of '[' */
    SPILL__TOK_ARR_END,       /* end = position after ']' */
    SPILL__TOK_KEY,           /* s/n = decoded key; off..end = the key's quotes included */
    SPILL__TOK_STR_BEGIN,     /* a string value starts; off = position of its '"' */
    SPILL__TOK_STR_CHUNK,     /* s/n = next decoded bytes of the string value (n >= 1) */
    SPILL__TOK_STR_END,       /* end = position after the closing '"' */
    SPILL__TOK_NUMBER,        /* s/n = the number's text; off..end */
    SPILL__TOK_TRUE,          /* off..end */
    SPILL__TOK_FALSE,
    SPILL__TOK_NULL,
} spill__tok;

typedef struct spill__scan_ev {
    spill__tok tok;
    int depth;            /* nesting of the value or key: top-level value 0, its members 1 ... */
    uint64_t off, end;    /* see spill__tok; 0 where not meaningful */
    const char *s;        /* borrowed: valid during the callback only */
    size_t n;
    int truncated;        /* KEY or NUMBER longer than its buffer */
} spill__scan_ev;

/* Return 0 to go on; anything else stops the feed, which returns it. */
typedef int (*spill__scan_cb)(void *ud, const spill__scan_ev *ev);

typedef struct spill__scan {
    /* Internal; fields may change. Zero-filled is a valid initial state. */
    uint64_t pos;                         /* bytes consumed so far */
    int state, depth, done, err;
    uint8_t stack[SPILL__SCAN_MAX_DEPTH / 8 + 1]; /* 1 bit per level: object or array */
    uint32_t uhex, hi_surrogate;
    int nhex, lit_len, esc, in_key, utf8_need;
    uint64_t tok_off;
    size_t buf_len;
    int truncated;
    char buf[SPILL__SCAN_CHUNK + 8];      /* key, number or pending decoded string bytes */
    char lit[8];
} spill__scan;

void spill__scan_init(spill__scan *sc);

/* Scans p[0..n). Returns 0 when all of it was consumed and the text may go on,
 * 1 when the top-level value is complete (trailing whitespace is allowed later,
 * anything else is an error), a callback's non-zero value, or SPILL_E_JSON on
 * malformed input with the offset in *err_off. After an error every call returns it
 * again until spill__scan_init(). */
int spill__scan_feed(spill__scan *sc, const void *p, size_t n, spill__scan_cb cb, void *ud,
                     uint64_t *err_off);
/* End of the text: completes a top-level number; returns 1 if a whole value was
 * scanned, SPILL_E_JSON otherwise (empty or cut-off text). */
int spill__scan_finish(spill__scan *sc, spill__scan_cb cb, void *ud, uint64_t *err_off);

#endif
