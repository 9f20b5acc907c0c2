/* tokens.h - the fast calibrated token estimator (pure: no I/O, no allocation).
 *
 * Counts features of the text in one streaming pass (runs of letters split at
 * lower->Upper, long-word tails, digit groups, punctuation runs, whitespace pieces,
 * CJK and other non-ASCII code points, letter<->digit transitions) and weighs them
 * with per-vocabulary weights fitted offline against the exact tokenizers. Any
 * chunking of the same bytes gives the same count. */
#ifndef SPILL_TOKENS_H
#define SPILL_TOKENS_H

#include <stddef.h>
#include <stdint.h>

typedef enum spill__vocab {
    SPILL__VOCAB_CLAUDE = 0, /* legacy Claude vocabulary (the public proxy for Claude) */
    SPILL__VOCAB_O200K = 1,
    SPILL__VOCAB_CL100K = 2,
} spill__vocab;

typedef struct spill__est {
    /* Internal; fields may change. Use spill__est_init(). */
    uint64_t feat[16];
    uint64_t carry[4];
    uint32_t state;
    int vocab;
} spill__est;

void spill__est_init(spill__est *e, spill__vocab v);
void spill__est_feed(spill__est *e, const void *p, size_t n);
/* Estimated tokens of everything fed so far (the vocabulary's own count, without any
 * multiplier). Cheap; may be called after every feed. */
uint64_t spill__est_tokens(const spill__est *e);

#endif
