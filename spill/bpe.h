/* bpe.h - exact byte-pair-encoding token counts for one pre-tokenized piece.
 *
 * A vocabulary is loaded once from a .tiktoken file (one "base64(token) rank" line per
 * token, ranks as in the file) into a rank hash table; after that it is read-only and
 * may be shared by any number of threads. Counting does no I/O: a piece is looked up
 * whole first (most pieces are one token), otherwise merged lowest rank first, in
 * O(n log n) or better, so a long piece is never quadratic. */
#ifndef SPILL_BPE_H
#define SPILL_BPE_H

#include <stddef.h>
#include <stdint.h>

typedef struct spill__ranks spill__ranks;

/* Loads a .tiktoken file. 0 and *out on success; otherwise *out is NULL and the result
 * is -errno for a missing/unreadable file, SPILL_E_CORRUPT for a malformed line (bad
 * base64, a rank that is not above the previous line's, a duplicate token, a token over
 * 65,535 bytes, or a single byte that is not a token), SPILL_E_TOOBIG for a file over
 * 2 GiB, or SPILL_E_NOMEM. `err`, when not NULL, gets a one-line detail (file and
 * line) of size errlen. */
int spill__ranks_load(const char *path, spill__ranks **out, char *err, size_t errlen);
void spill__ranks_free(spill__ranks *r); /* NULL is fine */
size_t spill__ranks_size(const spill__ranks *r); /* number of tokens */
/* Rank of the exact byte string, or -1 when it is not a token. */
int64_t spill__ranks_get(const spill__ranks *r, const void *p, size_t n);

/* Per-thread working memory for counting: buffers that grow to the longest piece seen
 * (up to the caller's piece cap) and a 256 KiB cache of rank lookups, which makes
 * repeated words and scripts cheaper (without memory for it, counting goes on
 * uncached). Freed by spill__bpe_scratch_free. Zero-initialise before use; one
 * scratch may serve several vocabularies (the cache notices the switch). */
typedef struct spill__bpe_scratch {
    void *mem;
    size_t cap;        /* bytes of mem */
    void *cache;       /* a small direct-mapped cache of lookups (256 KiB), made on first use */
    uint64_t cache_of; /* the table whose lookups it holds */
} spill__bpe_scratch;
void spill__bpe_scratch_free(spill__bpe_scratch *s);

/* Tokens of one piece (n >= 1 bytes) under byte-level BPE: the number of ids
 * tiktoken's encode would give for that piece alone. Returns the count (>= 1), or 0
 * when scratch memory could not be had (the caller reports SPILL_E_NOMEM) or n is 4 GiB
 * or more. Pieces of up to 100 bytes need no scratch; a longer one needs
 * SPILL__BPE_SCRATCH_PER_BYTE bytes per byte of piece, so the caller's piece cap bounds
 * the memory. Time is O(n log n). */
#define SPILL__BPE_SCRATCH_PER_BYTE 22
uint64_t spill__bpe_count(const spill__ranks *r, spill__bpe_scratch *s, const uint8_t *piece, size_t n);
/* A hint: starts the memory reads spill__bpe_count(r, s, piece, n) will begin with (its
 * lookup-cache entry, filter word and table slot), so that they overlap with other
 * work. Changes nothing else. */
void spill__bpe_prefetch(const spill__ranks *r, const spill__bpe_scratch *s, const uint8_t *piece, size_t n);

/* Finds the vocabulary file of `name` ("claude", "o200k" or "cl100k": the files
 * claude-legacy.tiktoken, o200k_base.tiktoken, cl100k_base.tiktoken), looking in
 *   1. $SPILL_VOCAB_DIR, when set;
 *   2. <directory of the executable>/../share/spill/vocab (the installed layout);
 *   3. <directory of the executable>/../vocab and /../../vocab (the build tree:
 *      build/spill and build/tests/x next to the repository's vocab/);
 *   4. the directory compiled in as SPILL_VOCAB_DIR_DEFAULT ($(PREFIX)/share/spill/vocab).
 * Returns 0 with the path in out; SPILL_E_NOTFOUND with a message listing the places
 * tried in out (truncated to outlen); SPILL_E_INVAL for an unknown name; SPILL_E_TOOBIG
 * when the path found does not fit in outlen. */
int spill__vocab_path(const char *name, char *out, size_t outlen);

#endif
