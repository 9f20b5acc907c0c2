/* rpcpeek.h - a tolerant look at a JSON-RPC request line, for the sidecar.
 *
 * jansson refuses lines that are still requests (invalid UTF-8, \u0000, a lone surrogate, an
 * integer past int64, nesting past its depth cap), and it turns an id such as 1e2 into 100.0.
 * The sidecar must still tell whether a line calls one of spill's tools or reads a spill://
 * resource, and echo the id exactly as sent. This scanner reads the top level of one JSON
 * value without building anything: the raw bytes of "id", and the decoded heads of "method",
 * "params"."name" and "params"."uri". It never fails; what it cannot read it leaves unset.
 * Works on a cut line (the head of a line too long to buffer) as well. */
#ifndef SPILL_RPCPEEK_H
#define SPILL_RPCPEEK_H

#include <stddef.h>

typedef struct spill__rpc_peek {
    char kind;            /* '{' an object, '[' an array, 0 anything else */
    int complete;         /* the value ended, and only whitespace follows */
    const char *id;       /* the raw bytes of the top-level "id" value (NULL: no id seen) */
    size_t id_len;
    char id_type;         /* 's' string, 'n' number, 'z' null, 'b' boolean, 'o' object, 'a' array, '?' cut */
    /* Decoded string values, cut to fit (len counts what was kept; NUL bytes kept as they are).
     * has_*: the key was seen with a string value. */
    char method[48], name[48], uri[16];
    size_t method_len, name_len, uri_len;
    int has_method, has_name, has_uri;
} spill__rpc_peek;

void spill__rpc_peek_scan(const char *p, size_t n, spill__rpc_peek *pk);

/* The spans of the elements of a top-level array (a batch), up to max of them. Returns how
 * many were found; -1 when p is not an array or is cut or malformed before its end. */
int spill__rpc_elems(const char *p, size_t n, const char **start, size_t *len, int max);

/* 1 if the call the peek describes is one spill answers itself: tools/call of a spill tool,
 * or resources/read of a spill:// URI (any letter case). */
int spill__rpc_peek_is_local(const spill__rpc_peek *pk);

#endif
