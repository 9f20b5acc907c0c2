/* walk.h - where a JSON value sits in an MCP message (pure).
 *
 * The walker follows scanner events and gives every value a role: the message, its
 * result, a content item, an embedded resource, structuredContent, a request's params,
 * clientInfo, ... from the keys on its path. Roles, not paths, decide what a payload is,
 * so key order inside objects does not matter. It also captures the few short strings
 * the filter needs (id, method, tool name, mimeType, uri, versions, names). */
#ifndef SPILL_WALK_H
#define SPILL_WALK_H

#include <stdint.h>

#include "scan.h"

typedef enum spill__role {
    R_OTHER = 0, R_TOP, R_BATCH, R_MSG, R_RESULT, R_PARAMS, R_PMETA, R_CLIENTINFO, R_SERVERINFO,
    R_CONTENT_ARR, R_CITEM, R_RESOURCE, R_CONTENTS_ARR, R_RITEM, R_MESSAGES_ARR, R_PMSG,
    R_MCONTENT, R_STRUCT,
} spill__role;

typedef enum spill__key {
    K_OTHER = 0, K_ID, K_METHOD, K_RESULT, K_ERROR, K_PARAMS, K_CONTENT, K_STRUCTURED, K_CONTENTS,
    K_MESSAGES, K_TYPE, K_TEXT, K_DATA, K_MIMETYPE, K_RESOURCE, K_BLOB, K_URI, K_NAME, K_META,
    K_CLIENTINFO, K_SERVERINFO, K_PROTOCOL, K_MCP_CLIENTINFO, K_MCP_PROTOCOL, K_RESULTTYPE,
} spill__key;

/* What a string or value at a role/key is to the filter. */
typedef enum spill__slot {
    S_NONE = 0,
    /* payloads */
    S_TEXT_INPLACE,   /* content[].text, prompt message content.text: replace the string */
    S_TEXT_REBUILD,   /* resource.text, contents[].text: rebuild the item around a handle */
    S_B64_REBUILD,    /* content[].data, resource.blob, contents[].blob */
    S_STRUCTURED,     /* result.structuredContent: the whole value */
    /* captures */
    S_ID, S_METHOD, S_TOOL, S_URI_PARAM, S_PROTOCOL, S_CLIENT, S_SERVER, S_ITEM_TYPE,
    S_ITEM_MIME, S_ITEM_URI, S_RESULTTYPE,
} spill__slot;

#define SPILL__CAP 256 /* captured strings are cut here */

typedef struct spill__msg {
    int has_method, has_result, has_error;
    int id_set;              /* id captured: "n<number>" or "s<string>" */
    char id[SPILL__CAP + 2];
    char method[64], tool[SPILL__CAP], uri[SPILL__CAP], protocol[32], client[SPILL__CAP];
    char server[SPILL__CAP], result_type[32];
} spill__msg;

typedef struct spill__frame {
    uint8_t type;            /* 'o' or 'a' */
    uint8_t role;
    uint8_t key;             /* current member's key (objects) */
    uint32_t index;          /* next element's index (arrays) */
} spill__frame;

typedef struct spill__walk {
    spill__frame st[SPILL__SCAN_MAX_DEPTH + 1];
    int msg_depth;           /* depth of the current message object, or -1 */
    spill__msg msg;          /* the current message (a batch element resets it) */
    /* the value being reported */
    spill__slot slot;        /* at a value begin: what it is */
    spill__role role;        /* at a value begin: its role */
    int item_index;          /* index of the content/contents item around it */
    /* the content/contents item being walked (reset at each item) */
    int item_depth;          /* -1 outside an item */
    char item_type[32], item_mime[128], item_uri[SPILL__CAP];
    /* capture in progress (strings are captured by spill__walk_event itself) */
    char *cap;
    size_t cap_len, cap_max;
    int capturing;
} spill__walk;

void spill__walk_init(spill__walk *w);
/* Call for every scanner event before using w->slot / w->role. Returns the slot of a
 * value that begins with this event (S_NONE otherwise). Messages begin at
 * R_MSG objects: *msg_begin is set to 1 for that event (the caller resets its own
 * per-message state). Short strings in capture slots (id, method, tool, uri, versions,
 * names, item type/mimeType/uri) are collected into w->msg and w->item_* as they pass. */
spill__slot spill__walk_event(spill__walk *w, const spill__scan_ev *ev, int *msg_begin);

#endif
