/* mcptools_impl.h - what mcptools.c (tools/list, spill_read, spill_stat, resources) and
 * mcpquery.c (spill_grep, spill_jq) share; never installed. */
#ifndef SPILL_MCPTOOLS_IMPL_H
#define SPILL_MCPTOOLS_IMPL_H

#include <jansson.h>
#include <stdint.h>

#include "mcptools.h"

/* Room a page keeps for its footer line (and the newline before it). */
#define SPILL__MCP_FOOTER 512

/* A growable buffer; oom is sticky, checked once at the end. p is NUL-terminated. */
typedef struct spill__sbuf { char *p; size_t n, cap; int oom; } spill__sbuf;
void spill__sb_add(spill__sbuf *b, const void *d, size_t n);
void spill__sb_printf(spill__sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sizes are JSON-escaped bytes: what a text costs inside the JSON-RPC line. */
typedef struct spill__walk {
    size_t fit;      /* bytes taken */
    size_t cost;     /* their escaped size, an invalid byte counted as U+FFFD (3) */
    size_t last_nl;  /* just after the last newline taken, or 0 */
    size_t bad;      /* invalid UTF-8 bytes taken */
    uint64_t nls;    /* newlines taken */
} spill__walk;
/* Takes whole characters of p[0..n) while their escaped cost stays within budget. No
 * character may cross lim (the end of the asked range; bytes up to n are look-ahead),
 * except that a first character crossing it counts as invalid bytes, so a page is never
 * empty. cut: p was cut off at n, so a character cut there is missing bytes, not invalid. */
void spill__walk_text(const unsigned char *p, size_t n, size_t lim, int cut, size_t budget,
                      spill__walk *w);
size_t spill__text_cost(const char *s);
/* Appends p[0..n), each invalid byte as U+FFFD (the same decisions as spill__walk_text). */
void spill__put_text(spill__sbuf *b, const void *p, size_t n);

/* One tools/call being answered. */
typedef struct spill__mcp_call {
    spill_store *st;
    size_t max;              /* max_bytes, at least SPILL_MCP_MIN_BYTES */
    int era2026;
    char **out;
    size_t *outlen;
    json_t *args;            /* the arguments object */
    spill_object_info info;  /* the object "id" names, once spill__mcp_begin resolved it */
} spill__mcp_call;

/* Checks the arguments against known (NULL-terminated) and resolves "id" into c->info.
 * Returns 1 when it has answered already (an error result, or *rc < 0), else 0. */
int spill__mcp_begin(spill__mcp_call *c, const char *tool, const char *const *known, int *rc);
/* Optional integer (a JSON integer or a string of digits) in [lo, hi]; optional boolean.
 * 0, or -1 when present but wrong; *v is left alone when absent. */
int spill__mcp_arg_uint(json_t *args, const char *k, uint64_t *v, uint64_t lo, uint64_t hi);
int spill__mcp_arg_bool(json_t *args, const char *k, int *v);
/* Sets *c->out to the CallToolResult with text (clipped to c->max if it is over). */
int spill__mcp_result(spill__mcp_call *c, const char *text, size_t len, int is_error);
int spill__mcp_fail(spill__mcp_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An isError result for a store error about id (SPILL_E_NOMEM passes through). */
int spill__mcp_store_fail(spill__mcp_call *c, int rc, const char *id);

/* mcpquery.c */
int spill__mcp_grep(spill__mcp_call *c);
int spill__mcp_jq(spill__mcp_call *c);

#endif
