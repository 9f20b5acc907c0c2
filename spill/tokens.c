/* tokens.c - the calibrated token estimator: a streaming linear model over byte-class
 * features.
 *
 * Why an estimator and not the tokenizer: spill must decide "is this result over
 * 100,000 tokens?" while the bytes stream past, at memory speed. Exact BPE runs at
 * 3-100 MB/s; this runs at 1-3 GB/s, and the research (shared/research/
 * token-counting.md §3b C, §4b) shows a linear model over a dozen pre-tokenizer
 * features is within a few percent on content like its calibration data.
 *
 * The model. Every feature is the number of byte positions i where a pattern over
 * the classes of bytes i, i-1, ..., i-k holds. Patterns look only backwards (k <= 12,
 * and one follows a whitespace run back to its newline). Three things follow:
 *  - any chunking gives the same counts: the only state is the class masks of the
 *    previous bytes, and a pattern's count never depends on where blocks start;
 *  - the count never decreases as bytes are added: each new byte can only add
 *    positions, and every weight is >= 0;
 *  - a SIMD version is exact, not an approximation: classify 64 bytes into bit
 *    masks (one bit per byte), shift masks by k to look k bytes back (carrying the
 *    previous block's masks in), AND them, popcount. The scalar fallback builds
 *    the same masks one byte at a time, so all code paths give identical counts.
 * Estimate = sum of weight[vocab][f] * count[f], weights fitted offline by
 * bench/calibrate/calibrate.mjs against tiktoken (o200k, cl100k) and
 * @anthropic-ai/tokenizer (legacy Claude). The features mirror how the
 * pre-tokenizer regexes cut text into pieces (research §2); a piece is usually one
 * token, longer words, digit runs and non-ASCII cost more. The result is kept
 * within [bytes/64, bytes] (see spill__est_tokens), which is monotonic too.
 *
 * Bytes are buffered into 64-byte blocks at absolute offsets (buf holds the
 * incomplete one); spill__est_tokens scores the incomplete block on a copy of the
 * state, with the positions past the end masked off. */
#include "tokens.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__GNUC__) && defined(__x86_64__) && !defined(SPILL_EST_NO_DISPATCH)
#define EST_DISPATCH 1 /* runtime dispatch to POPCNT and AVX2 builds of the block loop */
#include <immintrin.h>
#endif

#if defined(__GNUC__)
#define EST_INLINE static inline __attribute__((always_inline))
#define PC(x) ((uint64_t)__builtin_popcountll(x)) /* POPCNT where the target has it */
#define CTZ(x) ((unsigned)__builtin_ctzll(x))
#else
#define EST_INLINE static inline
static inline uint64_t PC(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    return (((x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full) * 0x0101010101010101ull) >> 56;
}
static inline unsigned CTZ(uint64_t x)
{
    unsigned n = 0;
    while (!(x & 1)) x >>= 1, n++;
    return n;
}
#endif

/* Features. "run" = maximal run of one class; letters runs are split at lower->Upper
 * (o200k/cl100k cut camelCase there). "P" = ASCII punctuation and control bytes,
 * "S" = space or tab, "N" = \n or \r. */
enum {
    F_WORD,     /* letter run start, not absorbing a punctuation char before it */
    F_WORD_ABS, /* letter run start right after a lone P char that follows no space:
                   o200k/cl100k glue that char onto the word ("(foo", ".bar", "\"key") */
    F_CAMEL,    /* upper case letter after a lower case one (a split, not a new run) */
    F_UPRUN,    /* upper case after upper case (ALL CAPS words cost more) */
    F_L5,       /* letters at position >= 5 of a run: long words cost more (a weight
                   per letter past 8 or 12 fitted to zero, so there is none) */
    F_DSTART,   /* digit run start */
    F_DSP,      /* digit run start after a space (o200k: the space is its own piece) */
    F_DGRP,     /* digit with exactly 3, 6 or 9 digits before it: \p{N}{1,3} groups */
    F_D4,       /* digits at position >= 4 of a run */
    F_DLONG,    /* digits at position >= 13 (groups continue at 1/3 per digit) */
    F_ALNUM,    /* letter<->digit transition (hex, ids, base64) */
    F_PRUN,     /* P run start */
    F_PCH,      /* P char continuing a run, different from the one before */
    F_PREP,     /* P char repeating the one before ("=====", "----") */
    F_NL,       /* first newline of a whitespace run (the regexes' \s*[\r\n]+ makes one
                   piece of all whitespace up to the run's last newline), not after P */
    F_NLP,      /* ... after P (o200k/cl100k glue it onto the P piece) */
    F_SP2,      /* non-space after >= 2 spaces: \s+(?!\S) makes the run but its last
                   char a piece (the last one is glued to what follows) */
    F_WSC,      /* whitespace char continuing a whitespace run: long runs cost more */
    F_U2,       /* UTF-8 lead bytes by range: C0-DF (Latin, Greek, Cyrillic...) */
    F_U3A,      /* E0-E2 (Indic, general punctuation, symbols) */
    F_U3K,      /* E3 (CJK punctuation, kana) */
    F_U3H,      /* E4-E9 (CJK ideographs) */
    F_U3G,      /* EA-ED (Hangul) */
    F_U3F,      /* EE-EF (private use, fullwidth forms, BOM) */
    F_U4,       /* F0-FF (emoji, rare ideographs, invalid) */
    NFEAT
};
_Static_assert(NFEAT == SPILL__EST_NFEAT, "SPILL__EST_NFEAT must match the feature list");

static const char *const feature_names[NFEAT] = {
    "word", "word_abs", "camel", "uprun", "l5", "dstart", "dsp", "dgrp",
    "d4", "dlong", "alnum", "prun", "pch", "prep", "nl", "nlp", "sp2", "wsc",
    "u2", "u3a", "u3k", "u3h", "u3g", "u3f", "u4"};

/* Carried masks of the previous block (bit 63 = its last byte), K_LAST = its last byte. */
enum { K_L, K_LO, K_UP, K_D, K_P, K_S, K_N, K_C, K_C2, K_E1, K_E2, K_E3, K_E4, K_E6, K_INN,
       K_LAST, NCARRY };
_Static_assert(NCARRY == SPILL__EST_NCARRY, "SPILL__EST_NCARRY must match the carry list");

/* Weights in 1/65536 token per count, per vocabulary (rows in spill__vocab order).
 * Generated by bench/calibrate/calibrate.mjs --write; do not edit by hand. */
/* BEGIN WEIGHTS */
static const uint32_t weights[3][NFEAT] = {
    /* claude */
    {71058, 76458, 129853, 7211, 4137, 61320, 18106, 74691, 8093, 2068,
        9949, 61968, 2697, 8284, 63146, 14009, 66974, 65, 16548, 113258,
        55178, 61241, 87687, 74444, 165478},
    /* o200k */
    {66061, 33065, 118476, 4505, 5601, 85001, 44468, 70363, 0, 22064,
        8409, 51309, 1034, 1605, 87489, 0, 89906, 517, 16548, 74989,
        36157, 50232, 34773, 33096, 165478},
    /* cl100k */
    {67499, 29527, 129378, 4752, 5508, 87410, 42686, 65865, 0, 22064,
        8425, 49594, 1034, 2046, 96770, 0, 93383, 517, 16548, 69485,
        56742, 63193, 71448, 69731, 165478},
};
/* END WEIGHTS */

/* Per-lead-byte increments for the non-ASCII features, packed one 8-bit lane per
 * feature (F_U2 + lane): at most 64 leads per block, so lanes never overflow. */
#define LN(k) ((uint64_t)1 << (8 * (k)))
static const uint64_t lead_lane[64] = {
    /* C0-DF */ LN(0), LN(0), LN(0), LN(0), LN(0), LN(0), LN(0), LN(0), LN(0), LN(0), LN(0),
    LN(0), LN(0), LN(0), LN(0), LN(0), LN(0), LN(0), LN(0), LN(0), LN(0), LN(0), LN(0),
    LN(0), LN(0), LN(0), LN(0), LN(0), LN(0), LN(0), LN(0), LN(0),
    /* E0-E2 */ LN(1), LN(1), LN(1), /* E3 */ LN(2),
    /* E4-E9 */ LN(3), LN(3), LN(3), LN(3), LN(3), LN(3),
    /* EA-ED */ LN(4), LN(4), LN(4), LN(4), /* EE-EF */ LN(5), LN(5),
    /* F0-FF */ LN(6), LN(6), LN(6), LN(6), LN(6), LN(6), LN(6), LN(6), LN(6), LN(6), LN(6),
    LN(6), LN(6), LN(6), LN(6), LN(6)};

/* The class masks of one 64-byte block; bit i = byte i. */
typedef struct masks {
    uint64_t lo, up, d, s, n, h, lead, eq; /* eq: byte equals the byte before it */
} masks;

/* Byte class bits for the scalar classifier. */
enum { B_LO = 1, B_UP = 2, B_D = 4, B_S = 8, B_N = 16, B_H = 32, B_LEAD = 64 };
#define R4(x) x, x, x, x
#define R8(x) R4(x), R4(x)
#define R16(x) R8(x), R8(x)
static const uint8_t byte_class[256] = {
    /* 00 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, B_S, B_N, 0, 0, B_N, 0, 0,
    /* 10 */ R16(0),
    /* 20 */ B_S, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 30 */ R8(B_D), B_D, B_D, 0, 0, 0, 0, 0, 0,
    /* 40 */ 0, R8(B_UP), R4(B_UP), B_UP, B_UP, B_UP,
    /* 50 */ R8(B_UP), B_UP, B_UP, B_UP, 0, 0, 0, 0, 0,
    /* 60 */ 0, R8(B_LO), R4(B_LO), B_LO, B_LO, B_LO,
    /* 70 */ R8(B_LO), B_LO, B_LO, B_LO, 0, 0, 0, 0, 0,
    /* 80 */ R16(B_H), R16(B_H), R16(B_H), R16(B_H),
    /* C0 */ R16(B_H | B_LEAD), R16(B_H | B_LEAD), R16(B_H | B_LEAD), R16(B_H | B_LEAD)};

static void classify_scalar(masks *m, const uint8_t *p, uint8_t last)
{
    uint64_t lo = 0, up = 0, d = 0, s = 0, n = 0, h = 0, lead = 0, eq = 0;
    uint8_t prev = last;
    for (unsigned i = 0; i < 64; i++) {
        const unsigned c = byte_class[p[i]];
        lo |= (uint64_t)(c & 1) << i;
        up |= (uint64_t)((c >> 1) & 1) << i;
        d |= (uint64_t)((c >> 2) & 1) << i;
        s |= (uint64_t)((c >> 3) & 1) << i;
        n |= (uint64_t)((c >> 4) & 1) << i;
        h |= (uint64_t)((c >> 5) & 1) << i;
        lead |= (uint64_t)((c >> 6) & 1) << i;
        eq |= (uint64_t)(p[i] == prev) << i;
        prev = p[i];
    }
    *m = (masks){lo, up, d, s, n, h, lead, eq};
}

#if defined(__SSE2__)
/* Unsigned range test lo <= b <= hi with SSE2's signed compare: shift the range to
 * start at -128. */
#define RANGE16(v, lo, hi)                                                              \
    _mm_cmplt_epi8(_mm_add_epi8((v), _mm_set1_epi8((char)(128 - (lo)))),               \
                   _mm_set1_epi8((char)(-128 + ((hi) - (lo) + 1))))
#define MM16(x) ((uint64_t)(uint16_t)_mm_movemask_epi8(x))

EST_INLINE void classify_sse2(masks *m, const uint8_t *p, uint8_t last)
{
    uint64_t lo = 0, up = 0, d = 0, s = 0, n = 0, h = 0, lead = 0, eq = 0;
    __m128i prev = _mm_slli_si128(_mm_cvtsi32_si128(last), 15);
    for (int k = 0; k < 4; k++) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
        const __m128i before = _mm_or_si128(_mm_slli_si128(v, 1), _mm_srli_si128(prev, 15));
        const int sh = 16 * k;
        lo |= MM16(RANGE16(v, 'a', 'z')) << sh;
        up |= MM16(RANGE16(v, 'A', 'Z')) << sh;
        d |= MM16(RANGE16(v, '0', '9')) << sh;
        s |= MM16(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')),
                               _mm_cmpeq_epi8(v, _mm_set1_epi8('\t')))) << sh;
        n |= MM16(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')),
                               _mm_cmpeq_epi8(v, _mm_set1_epi8('\r')))) << sh;
        h |= MM16(v) << sh;
        lead |= MM16(_mm_cmpgt_epi8(v, _mm_set1_epi8((char)0xbf))) << sh; /* signed: C0..FF */
        eq |= MM16(_mm_cmpeq_epi8(v, before)) << sh;
        prev = v;
    }
    lead &= h; /* 00..7F are > 0xBF as signed bytes too */
    *m = (masks){lo, up, d, s, n, h, lead, eq};
}
#endif

/* Shift a mask k bytes later, filling from the previous block's mask. 1 <= k <= 63. */
#define SH(x, k, prevx) (((x) << (k)) | ((prevx) >> (64 - (k))))

/* Counts the features of one classified block into f[] and updates the carried masks.
 * valid masks off positions past the end of a partial block. */
EST_INLINE void count_block(uint64_t *f, uint64_t *c, const masks *m, const uint8_t *p,
                            uint64_t valid)
{
    const uint64_t L = m->lo | m->up, D = m->d, S = m->s, N = m->n;
    const uint64_t P = ~(L | D | S | N | m->h);
    const uint64_t pL = SH(L, 1, c[K_L]), pLO = SH(m->lo, 1, c[K_LO]), pUP = SH(m->up, 1, c[K_UP]);
    const uint64_t pD = SH(D, 1, c[K_D]), pP = SH(P, 1, c[K_P]), pS = SH(S, 1, c[K_S]);
    const uint64_t pN = SH(N, 1, c[K_N]), p2P = SH(P, 2, c[K_P]), p2S = SH(S, 2, c[K_S]);

    /* Words. A lone P char glued to the word is a piece boundary the P run count
     * already paid for, so such starts get their own (smaller) weight. */
    const uint64_t start = L & ~pL & valid;
    const uint64_t absorb = pP & ~p2P & ~p2S;
    const uint64_t camel = m->up & pLO;
    f[F_WORD] += PC(start & ~absorb);
    f[F_WORD_ABS] += PC(start & absorb);
    f[F_CAMEL] += PC(camel & valid);
    f[F_UPRUN] += PC(m->up & pUP & valid);
    /* Run positions by doubling: cK = this and the K-1 letters before it continue
     * one run, i.e. position >= K+1. */
    const uint64_t c1 = L & pL & ~camel;
    const uint64_t c2 = c1 & SH(c1, 1, c[K_C]);
    const uint64_t c4 = c2 & SH(c2, 2, c[K_C2]);
    f[F_L5] += PC(c4 & valid);

    /* Digits: eK = digit with >= K digits before it. o200k/cl100k cut digit runs
     * into groups of 3 from the left, so a group starts at exactly 3, 6, 9 before. */
    const uint64_t e1 = D & pD;
    const uint64_t e2 = e1 & SH(e1, 1, c[K_E1]);
    const uint64_t e3 = e2 & SH(e1, 2, c[K_E1]);
    const uint64_t e4 = e2 & SH(e2, 2, c[K_E2]);
    const uint64_t e6 = e3 & SH(e3, 3, c[K_E3]);
    const uint64_t e7 = e4 & SH(e3, 4, c[K_E3]);
    const uint64_t e9 = e6 & SH(e3, 6, c[K_E3]);
    const uint64_t e10 = e6 & SH(e4, 6, c[K_E4]);
    const uint64_t e12 = e6 & SH(e6, 6, c[K_E6]);
    const uint64_t dstart = D & ~pD & valid;
    f[F_DSTART] += PC(dstart);
    f[F_DSP] += PC(dstart & pS);
    f[F_DGRP] += PC(((e3 & ~e4) | (e6 & ~e7) | (e9 & ~e10)) & valid);
    f[F_D4] += PC(e3 & valid);
    f[F_DLONG] += PC(e12 & valid);
    f[F_ALNUM] += PC(((L & pD) | (D & pL)) & valid);

    /* Punctuation and whitespace. */
    const uint64_t pcont = P & pP & valid;
    f[F_PRUN] += PC(P & ~pP & valid);
    f[F_PCH] += PC(pcont & ~m->eq);
    f[F_PREP] += PC(pcont & m->eq);
    /* inN = inside a whitespace run at or after one of its newlines. Spreading the
     * newline bits up through the whitespace runs is one addition: adding a seed bit
     * inside a run of ones clears the run from there up, so ws & ~(ws + seeds) marks
     * it, and "| seeds" restores later seeds of the same run that the carry skipped.
     * A run still open at the previous block's end seeds bit 0. */
    const uint64_t ws = S | N;
    const uint64_t seeds = N | (ws & (c[K_INN] >> 63));
    const uint64_t inN = (ws & ~(ws + seeds)) | seeds;
    const uint64_t nfirst = N & ~SH(inN, 1, c[K_INN]) & valid;
    f[F_NL] += PC(nfirst & ~pP);
    f[F_NLP] += PC(nfirst & pP);
    f[F_SP2] += PC(~ws & pS & p2S & valid);
    f[F_WSC] += PC(ws & (pS | pN) & valid);

    /* Non-ASCII: one count per UTF-8 lead byte, by range. Split sequences need no
     * state: the lead byte alone decides. */
    uint64_t leads = m->lead & valid;
    if (leads) {
        uint64_t acc = 0;
        do {
            acc += lead_lane[p[CTZ(leads)] - 0xc0];
            leads &= leads - 1;
        } while (leads);
        for (int k = 0; k <= F_U4 - F_U2; k++)
            f[F_U2 + k] += (acc >> (8 * k)) & 0xff;
    }

    c[K_L] = L, c[K_LO] = m->lo, c[K_UP] = m->up, c[K_D] = D, c[K_P] = P, c[K_S] = S;
    c[K_N] = N, c[K_C] = c1, c[K_C2] = c2, c[K_E1] = e1, c[K_E2] = e2, c[K_E3] = e3;
    c[K_E4] = e4, c[K_E6] = e6, c[K_INN] = inN;
    c[K_LAST] = p[63];
}

/* The block loops, one per code path. The AVX2 and POPCNT ones are the same C
 * compiled for those targets (classify + count_block inline into them). */
static void blocks_scalar(uint64_t *f, uint64_t *c, const uint8_t *p, size_t nb)
{
    for (; nb; nb--, p += 64) {
        masks m;
        classify_scalar(&m, p, (uint8_t)c[K_LAST]);
        count_block(f, c, &m, p, ~(uint64_t)0);
    }
}

#if defined(__SSE2__)
static void blocks_sse2(uint64_t *f, uint64_t *c, const uint8_t *p, size_t nb)
{
    for (; nb; nb--, p += 64) {
        masks m;
        classify_sse2(&m, p, (uint8_t)c[K_LAST]);
        count_block(f, c, &m, p, ~(uint64_t)0);
    }
}
#endif

#if defined(EST_DISPATCH)
__attribute__((target("popcnt"))) static void blocks_popcnt(uint64_t *f, uint64_t *c,
                                                            const uint8_t *p, size_t nb)
{
    for (; nb; nb--, p += 64) {
        masks m;
        classify_sse2(&m, p, (uint8_t)c[K_LAST]);
        count_block(f, c, &m, p, ~(uint64_t)0);
    }
}

#define RANGE32(v, lo, hi)                                                              \
    _mm256_cmpgt_epi8(_mm256_set1_epi8((char)(-128 + ((hi) - (lo) + 1))),              \
                      _mm256_add_epi8((v), _mm256_set1_epi8((char)(128 - (lo)))))
#define MM32(x) ((uint64_t)(uint32_t)_mm256_movemask_epi8(x))

__attribute__((target("avx2,popcnt"))) static inline void classify_avx2(masks *m,
                                                                        const uint8_t *p,
                                                                        uint8_t last)
{
    uint64_t lo = 0, up = 0, d = 0, s = 0, n = 0, h = 0, lead = 0, eq = 0;
    __m256i prev = _mm256_set_epi8((char)last, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    for (int k = 0; k < 2; k++) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32 * k));
        /* bytes one position earlier: [prev.hi | v.lo] then alignr within lanes */
        const __m256i before =
            _mm256_alignr_epi8(v, _mm256_permute2x128_si256(prev, v, 0x21), 15);
        const int sh = 32 * k;
        lo |= MM32(RANGE32(v, 'a', 'z')) << sh;
        up |= MM32(RANGE32(v, 'A', 'Z')) << sh;
        d |= MM32(RANGE32(v, '0', '9')) << sh;
        s |= MM32(_mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(' ')),
                                  _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\t')))) << sh;
        n |= MM32(_mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\n')),
                                  _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\r')))) << sh;
        h |= MM32(v) << sh;
        lead |= MM32(_mm256_cmpgt_epi8(v, _mm256_set1_epi8((char)0xbf))) << sh;
        eq |= MM32(_mm256_cmpeq_epi8(v, before)) << sh;
        prev = v;
    }
    lead &= h;
    *m = (masks){lo, up, d, s, n, h, lead, eq};
}

__attribute__((target("avx2,popcnt"))) static void blocks_avx2(uint64_t *f, uint64_t *c,
                                                               const uint8_t *p, size_t nb)
{
    for (; nb; nb--, p += 64) {
        masks m;
        classify_avx2(&m, p, (uint8_t)c[K_LAST]);
        count_block(f, c, &m, p, ~(uint64_t)0);
    }
}
#endif

static int impl_available(int impl)
{
    switch (impl) {
    case SPILL__EST_SCALAR:
        return 1;
#if defined(__SSE2__)
    case SPILL__EST_SSE2:
        return 1;
#endif
#if defined(EST_DISPATCH)
    case SPILL__EST_POPCNT:
        __builtin_cpu_init(); /* needed when called before constructors run */
        return __builtin_cpu_supports("popcnt");
    case SPILL__EST_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
#endif
    default:
        return 0;
    }
}

static void run_blocks(spill__est *e, const uint8_t *p, size_t nb)
{
    switch (e->impl) {
#if defined(EST_DISPATCH)
    case SPILL__EST_AVX2:
        blocks_avx2(e->feat, e->carry, p, nb);
        return;
    case SPILL__EST_POPCNT:
        blocks_popcnt(e->feat, e->carry, p, nb);
        return;
#endif
#if defined(__SSE2__)
    case SPILL__EST_SSE2:
        blocks_sse2(e->feat, e->carry, p, nb);
        return;
#endif
    default:
        blocks_scalar(e->feat, e->carry, p, nb);
    }
}

void spill__est_init(spill__est *e, spill__vocab v)
{
    memset(e, 0, sizeof *e);
    e->vocab = (unsigned)v <= SPILL__VOCAB_CL100K ? (int)v : SPILL__VOCAB_CLAUDE;
    for (int impl = SPILL__EST_AVX2; impl >= SPILL__EST_SCALAR; impl--)
        if (impl_available(impl)) {
            e->impl = impl;
            break;
        }
}

int spill__est_set_impl(spill__est *e, int impl)
{
    if (!impl_available(impl))
        return -1;
    e->impl = impl;
    return 0;
}

int spill__est_impl(const spill__est *e) { return e->impl; }

void spill__est_feed(spill__est *e, const void *src, size_t n)
{
    const uint8_t *p = src;
    if (n == 0)
        return;
    const size_t have = (size_t)(e->bytes & 63);
    e->bytes += n;
    if (have) {
        const size_t take = n < 64 - have ? n : 64 - have;
        memcpy(e->buf + have, p, take);
        p += take;
        n -= take;
        if (have + take < 64)
            return;
        run_blocks(e, e->buf, 1);
    }
    const size_t nb = n / 64;
    if (nb)
        run_blocks(e, p, nb);
    memcpy(e->buf, p + 64 * nb, n % 64);
}

void spill__est_features(const spill__est *e, uint64_t out[SPILL__EST_NFEAT])
{
    memcpy(out, e->feat, sizeof e->feat);
    const unsigned have = (unsigned)(e->bytes & 63);
    if (!have)
        return;
    /* Score the incomplete block on copies: the padding is masked off, and the
     * carried masks are thrown away (the real block is counted once it is full). */
    uint8_t blk[64] = {0};
    uint64_t carry[NCARRY];
    masks m;
    memcpy(blk, e->buf, have);
    memcpy(carry, e->carry, sizeof carry);
    classify_scalar(&m, blk, (uint8_t)carry[K_LAST]);
    count_block(out, carry, &m, blk, ((uint64_t)1 << have) - 1);
}

const char *spill__est_feature_name(int i)
{
    return i >= 0 && i < NFEAT ? feature_names[i] : NULL;
}

uint64_t spill__est_tokens(const spill__est *e)
{
    uint64_t f[NFEAT];
    spill__est_features(e, f);
    /* Exact fixed point without overflow: whole multiples of 2^16 counts times the
     * weight are whole tokens; the rest sums below 2^40. Rounded to nearest. */
    const uint32_t *w = weights[e->vocab];
    uint64_t whole = 0, frac = 0;
    for (int i = 0; i < NFEAT; i++) {
        whole += (f[i] >> 16) * w[i];
        frac += (f[i] & 0xffff) * w[i];
    }
    uint64_t est = whole + ((frac + 0x8000) >> 16);
    /* Floor: a token spans at most 128 bytes in o200k/cl100k and long runs of one
     * byte come out near 64 bytes per token, so a model that sees one feature in a
     * degenerate input (a line of 10k '=', a lone stray byte) still reports that. */
    const uint64_t floor = (e->bytes + 63) / 64;
    if (est < floor)
        est = floor;
    /* No tokenizer here makes more tokens than bytes (each token is >= 1 byte). */
    return est < e->bytes ? est : e->bytes;
}
