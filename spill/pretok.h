/* pretok.h - the pre-tokenizers of the three vocabularies, as streaming state machines
 * (pure: no I/O, no allocation). They split valid UTF-8 text into the pieces the
 * vocabulary's regex would find with leftmost-first matching:
 *   cl100k: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *           ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *   o200k:  the seven alternatives with case classes (research/token-counting.md §2)
 *   claude (GPT-2): 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * Unicode general categories come from tables generated at build time from Debian's
 * UnicodeData.txt.
 *
 * Streaming: the caller appends text to its own buffer and asks for the end of the
 * next piece; a piece whose end depends on bytes not yet seen (a letter run, the
 * \s+(?!\S) lookahead, a contraction) is reported as "need more" until more text or
 * the end of the stream is known. Any chunking therefore gives the same pieces. */
#ifndef SPILL_PRETOK_H
#define SPILL_PRETOK_H

#include <stddef.h>
#include <stdint.h>

typedef enum spill__pretok_kind {
    SPILL__PRETOK_CLAUDE = 0, /* same order as spill__vocab in tokens.h */
    SPILL__PRETOK_O200K = 1,
    SPILL__PRETOK_CL100K = 2,
} spill__pretok_kind;

/* Length in bytes of the first piece of text[0..n), which must be valid UTF-8 and
 * start at a piece boundary. Returns:
 *   > 0  the piece is text[0..ret) and is final;
 *   0    more text is needed to decide (only when !at_end; never when n == 0 and at_end
 *        is not set, the caller simply has nothing to do);
 * With at_end set, text[0..n) is all that remains and the result is > 0 for n > 0.
 * Never reads past text + n. The work is linear in the piece length (plus a bounded
 * lookahead), so calling it again after appending text re-scans only the open piece. */
size_t spill__pretok_next(spill__pretok_kind k, const uint8_t *text, size_t n, int at_end);

/* Unicode general-category helpers (exposed for the tests). */
int spill__uc_is_letter(uint32_t cp);  /* \p{L} */
int spill__uc_is_number(uint32_t cp);  /* \p{N} */
int spill__uc_is_space(uint32_t cp);   /* \s as the reference regex engines define it */

#endif
