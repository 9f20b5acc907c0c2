/*
 * mcptools.h - spill's own MCP tools and spill:// resources, answered by the sidecar itself.
 *
 * A handle tells the agent to read a spilled output back with spill_read, spill_grep,
 * spill_stat, spill_jq or resources/read on spill://ID. The sidecar appends
 * spill_mcp_tools_json() to the server's tools/list result and answers those calls here,
 * without the upstream server. Part of the spill executable (not libspill): it uses
 * jansson, libjq and PCRE2.
 *
 * Bounds: max_bytes bounds every answer's text, counted as JSON-escaped bytes (what the
 * text costs inside the JSON-RPC line): a page never exceeds it and says exactly what it
 * shows and which call gives the next page. max_bytes below SPILL_MCP_MIN_BYTES counts as
 * SPILL_MCP_MIN_BYTES. Objects are streamed through the store's range reads; only spill_jq
 * loads a whole object, and refuses objects over 256 MiB.
 *
 * Threads: the functions keep no state of their own (except the test hook below); calls on
 * different stores may run at once, calls on one store follow spill.h's rule. A spill_jq
 * filter can run for long (jq has no time limit), so a sidecar calls these off its event
 * loop.
 */
#ifndef SPILL_MCPTOOLS_H
#define SPILL_MCPTOOLS_H

#include <stddef.h>

#include "spill.h"

#define SPILL_MCP_MIN_BYTES 1024
#define SPILL_MCP_DEFAULT_BYTES (64 * 1024)

/* The JSON text of spill's tool definitions: an array of Tool objects
   ({name, title, description, inputSchema, annotations:{readOnlyHint:true}}) to append to a
   server's tools/list result. Static storage. */
const char *spill_mcp_tools_json(void);

/* 1 if name is one of spill's tools (spill_read, spill_grep, spill_stat, spill_jq). */
int spill_mcp_is_tool(const char *name);

/* Answers tools/call for one of spill's tools. args: the call's "arguments" as JSON text
   (NULL or "" = none). Writes the CallToolResult object as JSON text into *out (malloc'd,
   caller frees; NUL-terminated) and returns 0; a bad call (unknown tool or id, bad range,
   bad pattern, unknown argument...) is a result with isError:true and a clear message,
   still 0. SPILL_E_NOMEM (and *out NULL) only when memory ran out.
   max_bytes bounds the result's text; era2026: adds "resultType":"complete". */
int spill_mcp_call(spill_store *st, const char *name, const char *args, size_t max_bytes,
                   int era2026, char **out, size_t *outlen);

/* 1 if uri is a spill:// URI (spill://<id>[?lines=A:B|bytes=A:B]); the sidecar answers
   every such URI itself, even a malformed one (with an error). */
int spill_mcp_is_uri(const char *uri);

/* Answers resources/read for a spill:// URI with a ReadResourceResult as JSON text:
   {contents:[{uri, mimeType, text | blob, _meta:{"spill/page":{...}}}]}. Text objects give
   text pages (whole lines with ?lines=A:B, else bytes from ?bytes=A:B or 0, never cutting a
   UTF-8 sequence); binary objects, and text pages with bytes that are not UTF-8, give
   base64 blob pages of the exact bytes. A page that is not the whole object carries a second
   text item saying so and giving the next page's URI, which is also in _meta "next". The
   text (escaped) or blob plus that note stay within max_bytes. era2026 adds
   "resultType":"complete", "ttlMs":3600000 (objects are immutable) and "cacheScope":"private".
   Returns 0, or a negative code with a plain-text message in *out (malloc'd):
   SPILL_E_BADID (not a spill:// URI with an 8-32 hex id), SPILL_E_INVAL (bad query),
   SPILL_E_NOTFOUND, SPILL_E_AMBIGUOUS, SPILL_E_RANGE (past the end), or another store error
   (e.g. SPILL_E_CORRUPT). The sidecar turns them into JSON-RPC error -32002 (-32602 in
   2026-07-28). SPILL_E_NOMEM with *out NULL when memory ran out. */
int spill_mcp_read_resource(spill_store *st, const char *uri, size_t max_bytes, int era2026,
                            char **out, size_t *outlen);

/* The time one spill_grep call may search before it stops and says where to go on (default
   2000 ms; 0 keeps the default). Process-wide: `spill run` sets it in its worker processes. */
void spill_mcp_set_time_budget(unsigned ms);

/* Test hook: the largest object spill_jq loads (default 256 MiB). Process-wide. */
void spill_mcp_set_jq_limit(size_t bytes);

#endif
