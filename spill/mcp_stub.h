/* mcp_stub.h - the request side shared by the two small MCP stdio servers of the
 * benchmarks: `spill bench-server` (bench_e2e.c) and bench/demo_server.c (make demo and
 * bench/sidecar_bench.sh; a standalone program without libspill, so the direct baseline
 * is a minimal peer). Requests come from our own clients one per line, so JSON is read
 * just enough for their shapes. Header-only, for demo_server's sake. */
#ifndef SPILL_MCP_STUB_H
#define SPILL_MCP_STUB_H

#include <stdio.h>
#include <string.h>

typedef enum mcp_stub_method {
    MCP_STUB_NONE,        /* a notification or a response: nothing to answer */
    MCP_STUB_INITIALIZE,
    MCP_STUB_PING,
    MCP_STUB_TOOLS_LIST,
    MCP_STUB_TOOLS_CALL,
    MCP_STUB_OTHER        /* answer MCP_STUB_NO_METHOD */
} mcp_stub_method;

/* The start of the answer to a request, up to and including `"id":`. */
#define MCP_STUB_REPLY_PREFIX "{\"jsonrpc\":\"2.0\",\"id\":"
/* What follows the id in the answer to a method the server does not know. */
#define MCP_STUB_NO_METHOD ",\"error\":{\"code\":-32601,\"message\":\"no such method\"}}\n"
/* The result of initialize for a server of this name and version (string literals). */
#define MCP_STUB_INITIALIZE_RESULT(name, version)                                              \
    "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"tools\":{}},"                  \
    "\"serverInfo\":{\"name\":\"" name "\",\"version\":\"" version "\"}}"

/* Just after the first `"key":` in msg and any spaces, or NULL. */
static inline const char *mcp_stub_value(const char *msg, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(msg, pat);
    if (!p)
        return NULL;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    return p;
}

/* The method of the request on line; its id, the raw JSON token (a number, or a string
 * without escapes) to be echoed byte for byte, goes to id. MCP_STUB_NONE also when the
 * id is empty or does not fit in idcap. */
static inline mcp_stub_method mcp_stub_request(const char *line, char *id, size_t idcap)
{
    const char *m = mcp_stub_value(line, "method"), *p = mcp_stub_value(line, "id");
    if (!m || !p)
        return MCP_STUB_NONE;
    const char *close = *p == '"' ? strchr(p + 1, '"') : NULL;
    if (*p == '"' && !close)
        return MCP_STUB_NONE;
    size_t k = close ? (size_t)(close - p + 1) : strcspn(p, ",}");
    if (k == 0 || k >= idcap)
        return MCP_STUB_NONE;
    memcpy(id, p, k);
    id[k] = 0;
    /* the closing quote is compared too, so these are whole names */
    return !strncmp(m, "\"initialize\"", 12)   ? MCP_STUB_INITIALIZE
           : !strncmp(m, "\"ping\"", 6)         ? MCP_STUB_PING
           : !strncmp(m, "\"tools/list\"", 12) ? MCP_STUB_TOOLS_LIST
           : !strncmp(m, "\"tools/call\"", 12) ? MCP_STUB_TOOLS_CALL
                                               : MCP_STUB_OTHER;
}

#endif
