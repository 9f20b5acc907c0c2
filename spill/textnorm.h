/* textnorm.h - the text front end of the exact counter (pure: no I/O). Turns arbitrary
 * bytes, fed in any chunking, into the valid UTF-8 the pre-tokenizer reads:
 *   - invalid UTF-8 becomes U+FFFD per maximal subpart, exactly as the WHATWG decoder
 *     (Node's Buffer.toString / TextDecoder) does, so counts match a reference that was
 *     given the same bytes as a JavaScript string;
 *   - for the legacy Claude vocabulary, NFKC (libutf8proc), applied so that the output
 *     for any chunking equals NFKC of the whole text: text is held back only up to the
 *     last position where normalization cannot change across the boundary (a bounded
 *     hold; past the bound it is normalized as is and the result says so).
 * Output is appended to a caller-visible buffer that the caller drains. It holds at
 * most about 3 bytes per byte fed since it was last drained (U+FFFD for each invalid
 * byte), NFKC expansion aside, so the caller bounds it by feeding bounded chunks. */
#ifndef SPILL_TEXTNORM_H
#define SPILL_TEXTNORM_H

#include <stddef.h>
#include <stdint.h>

typedef struct spill__textnorm spill__textnorm;

/* nfkc: 1 for the legacy Claude vocabulary. NULL when out of memory. */
spill__textnorm *spill__textnorm_new(int nfkc);
void spill__textnorm_free(spill__textnorm *t);

/* Feeds bytes. Returns 0, or SPILL_E_NOMEM. After it, spill__textnorm_out() holds
 * every output byte that is now final. */
int spill__textnorm_feed(spill__textnorm *t, const void *p, size_t n);
/* End of input: flushes everything held back (an incomplete UTF-8 tail becomes U+FFFD). */
int spill__textnorm_end(spill__textnorm *t);
/* The final output not yet consumed; the caller consumes k bytes with _consume(). The
 * pointer is valid until the next call on t. */
const uint8_t *spill__textnorm_out(const spill__textnorm *t, size_t *n);
void spill__textnorm_consume(spill__textnorm *t, size_t k);
/* 1 if the bounded hold was ever exceeded: a run of hundreds of combining marks got a
 * forced boundary, so the output may differ from NFKC of the whole text there (it is
 * still the same for every chunking). */
int spill__textnorm_overflowed(const spill__textnorm *t);

#endif
