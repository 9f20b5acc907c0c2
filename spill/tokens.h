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

#define SPILL__EST_NFEAT 25 /* features counted (see spill__est_feature_name) */
#define SPILL__EST_NCARRY 16

typedef struct spill__est {
    /* Internal; fields may change. Use spill__est_init(). */
    uint64_t feat[SPILL__EST_NFEAT];   /* feature counts of the complete 64-byte blocks */
    uint64_t carry[SPILL__EST_NCARRY]; /* class masks of the last complete block */
    uint64_t bytes;                    /* bytes fed */
    uint8_t buf[64];                   /* the incomplete block (bytes % 64 of them) */
    int vocab;
    int impl;
} spill__est;

void spill__est_init(spill__est *e, spill__vocab v);
void spill__est_feed(spill__est *e, const void *p, size_t n);
/* Estimated tokens of everything fed so far (the vocabulary's own count, without any
 * multiplier). Never more than the bytes fed, never decreases as bytes are added.
 * Cheap; may be called after every feed. */
uint64_t spill__est_tokens(const spill__est *e);

/* For calibration and tests. */
/* The raw feature counts of everything fed so far, SPILL__EST_NFEAT of them. */
void spill__est_features(const spill__est *e, uint64_t out[SPILL__EST_NFEAT]);
/* Short name of feature i ("word", "cjk"...), NULL past the last. */
const char *spill__est_feature_name(int i);
/* Code paths: all give the same counts; init picks the fastest the CPU has. */
enum { SPILL__EST_SCALAR = 0, SPILL__EST_SSE2 = 1, SPILL__EST_POPCNT = 2, SPILL__EST_AVX2 = 3 };
/* Forces a code path (before the first feed). 0 if it is built and the CPU has it,
 * -1 otherwise (the path is then left as it was). */
int spill__est_set_impl(spill__est *e, int impl);
int spill__est_impl(const spill__est *e);

#endif
