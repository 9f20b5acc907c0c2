/* exact.h - the streaming exact token counter (pure: no I/O, no clock, no globals).
 *
 * Pipeline, per state:
 *   bytes -> textnorm (U+FFFD for invalid UTF-8; NFKC for the legacy Claude vocabulary)
 *         -> claude only: the special tokens <EOT> <META> <META_START> <META_END> <SOS>
 *            count 1 each and end the text before them as the end of a string would
 *            (tiktoken's encode(text, 'all') runs the regex on each stretch between them)
 *         -> pre-tokenizer pieces -> BPE count per piece.
 * Any chunking of the same bytes gives the same result, the cap and early exit
 * included: every decision depends on the text only, never on where a chunk ended.
 *
 * Piece cap: a piece is held whole until its end is known. One longer than the cap
 * (default 2 MiB, far above the longest token, 1,024 bytes) is counted as slices of
 * the cap's length and the result is flagged `capped` (no longer exact; about one
 * token too many per cut).
 *
 * Early exit: once the exact count times the multiplier exceeds `early_exit`, the
 * rest of the (normalized) text goes to the fast estimator (tokens.h) instead. */
#ifndef SPILL_EXACT_H
#define SPILL_EXACT_H

#include <stddef.h>
#include <stdint.h>

#include "bpe.h"
#include "spill.h"
#include "tokens.h"

#define SPILL__EXACT_PIECE_CAP ((size_t)2 << 20)
#define SPILL__EXACT_PIECE_CAP_MIN ((size_t)4096)

typedef struct spill__exact spill__exact;

/* ranks must outlive the state and be the vocabulary v's. multiplier > 0 scales the
 * reported count; early_exit is in reported tokens (SPILL_NO_LIMIT: exact to the end);
 * piece_cap 0 means the default, else at least SPILL__EXACT_PIECE_CAP_MIN. user is
 * kept for the caller (spill__exact_user). NULL when out of memory. */
spill__exact *spill__exact_new(const spill__ranks *ranks, spill__vocab v, double multiplier,
                               uint64_t early_exit, size_t piece_cap, const void *user);
const void *spill__exact_user(const spill__exact *x);
void spill__exact_free(spill__exact *x); /* NULL is fine */

/* Feeds bytes. Never fails: without memory the state counts on with the estimator and
 * flags the result as capped (not exact). Nothing may be fed after _finish. */
void spill__exact_feed(spill__exact *x, const void *p, size_t n);
/* End of the text: counts everything still held. Idempotent. */
void spill__exact_finish(spill__exact *x);
/* The result so far. Before _finish the text still held (an open piece, a character
 * that normalization may still change) counts as one token, so the figure is a lower
 * bound of the final one. Cheap: the filter calls it after every chunk. */
void spill__exact_result(const spill__exact *x, spill_count_result *r);

/* round(raw x multiplier), the reported figure. */
uint64_t spill__exact_scale(uint64_t raw, double multiplier);

#endif
