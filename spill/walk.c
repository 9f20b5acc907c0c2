/* walk.c - roles of values in MCP messages. See walk.h. */
#include <string.h>

#include "walk.h"

static const struct { const char *name; spill__key key; } keys[] = {
    {"id", K_ID}, {"method", K_METHOD}, {"result", K_RESULT}, {"error", K_ERROR},
    {"params", K_PARAMS}, {"content", K_CONTENT}, {"structuredContent", K_STRUCTURED},
    {"contents", K_CONTENTS}, {"messages", K_MESSAGES}, {"type", K_TYPE}, {"text", K_TEXT},
    {"data", K_DATA}, {"mimeType", K_MIMETYPE}, {"resource", K_RESOURCE}, {"blob", K_BLOB},
    {"uri", K_URI}, {"name", K_NAME}, {"_meta", K_META}, {"clientInfo", K_CLIENTINFO},
    {"serverInfo", K_SERVERINFO}, {"protocolVersion", K_PROTOCOL},
    {"io.modelcontextprotocol/clientInfo", K_MCP_CLIENTINFO},
    {"io.modelcontextprotocol/protocolVersion", K_MCP_PROTOCOL}, {"resultType", K_RESULTTYPE},
};

static spill__key key_of(const char *s, size_t n, int truncated)
{
    if (truncated)
        return K_OTHER;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strlen(keys[i].name) == n && memcmp(keys[i].name, s, n) == 0)
            return keys[i].key;
    return K_OTHER;
}

void spill__walk_init(spill__walk *w)
{
    memset(w, 0, sizeof *w);
    w->msg_depth = -1;
    w->item_depth = -1;
}

static void capture_start(spill__walk *w, char *buf, size_t max)
{
    w->cap = buf;
    w->cap_len = 0;
    w->cap_max = max - 1;
    w->capturing = 1;
    buf[0] = 0;
}

static void capture_slot(spill__walk *w, spill__slot s)
{
    switch (s) {
    case S_ID:
        w->msg.id[0] = 's'; /* strings and numbers never compare equal */
        capture_start(w, w->msg.id + 1, sizeof w->msg.id - 1);
        w->msg.id_set = 1;
        break;
    case S_METHOD: capture_start(w, w->msg.method, sizeof w->msg.method); break;
    case S_TOOL: capture_start(w, w->msg.tool, sizeof w->msg.tool); break;
    case S_URI_PARAM: capture_start(w, w->msg.uri, sizeof w->msg.uri); break;
    case S_PROTOCOL: capture_start(w, w->msg.protocol, sizeof w->msg.protocol); break;
    case S_CLIENT: capture_start(w, w->msg.client, sizeof w->msg.client); break;
    case S_SERVER: capture_start(w, w->msg.server, sizeof w->msg.server); break;
    case S_RESULTTYPE: capture_start(w, w->msg.result_type, sizeof w->msg.result_type); break;
    case S_ITEM_TYPE: capture_start(w, w->item_type, sizeof w->item_type); break;
    case S_ITEM_MIME: capture_start(w, w->item_mime, sizeof w->item_mime); break;
    case S_ITEM_URI: capture_start(w, w->item_uri, sizeof w->item_uri); break;
    default: break;
    }
}

/* The role of a container value from its parent's role and its key/position. */
static spill__role child_role(spill__role parent, spill__key key, char type)
{
    switch (parent) {
    case R_TOP: return R_OTHER;
    case R_BATCH: return type == 'o' ? R_MSG : R_OTHER;
    case R_MSG:
        if (key == K_RESULT && type == 'o') return R_RESULT;
        if (key == K_PARAMS && type == 'o') return R_PARAMS;
        return R_OTHER;
    case R_RESULT:
        if (key == K_STRUCTURED) return R_STRUCT;
        if (key == K_CONTENT && type == 'a') return R_CONTENT_ARR;
        if (key == K_CONTENTS && type == 'a') return R_CONTENTS_ARR;
        if (key == K_MESSAGES && type == 'a') return R_MESSAGES_ARR;
        if (key == K_SERVERINFO && type == 'o') return R_SERVERINFO;
        return R_OTHER;
    case R_PARAMS:
        if (key == K_CLIENTINFO && type == 'o') return R_CLIENTINFO;
        if (key == K_META && type == 'o') return R_PMETA;
        return R_OTHER;
    case R_PMETA: return key == K_MCP_CLIENTINFO && type == 'o' ? R_CLIENTINFO : R_OTHER;
    case R_CONTENT_ARR: return type == 'o' ? R_CITEM : R_OTHER;
    case R_CONTENTS_ARR: return type == 'o' ? R_RITEM : R_OTHER;
    case R_MESSAGES_ARR: return type == 'o' ? R_PMSG : R_OTHER;
    case R_PMSG:
        if (key == K_CONTENT && type == 'o') return R_MCONTENT;
        if (key == K_CONTENT && type == 'a') return R_CONTENT_ARR;
        return R_OTHER;
    case R_CITEM: case R_MCONTENT:
        return key == K_RESOURCE && type == 'o' ? R_RESOURCE : R_OTHER;
    default: return R_OTHER;
    }
}

/* What a string (or, for structuredContent, any value) is at parent/key. */
static spill__slot slot_of(spill__role parent, spill__key key, int is_string)
{
    switch (parent) {
    case R_MSG:
        if (key == K_ID) return S_ID;
        if (key == K_METHOD && is_string) return S_METHOD;
        return S_NONE;
    case R_RESULT:
        if (key == K_STRUCTURED) return S_STRUCTURED;
        if (key == K_PROTOCOL && is_string) return S_PROTOCOL;
        if (key == K_RESULTTYPE && is_string) return S_RESULTTYPE;
        return S_NONE;
    case R_PARAMS:
        if (!is_string) return S_NONE;
        if (key == K_NAME) return S_TOOL;
        if (key == K_URI) return S_URI_PARAM;
        if (key == K_PROTOCOL) return S_PROTOCOL;
        return S_NONE;
    case R_PMETA: return key == K_MCP_PROTOCOL && is_string ? S_PROTOCOL : S_NONE;
    case R_CLIENTINFO: return key == K_NAME && is_string ? S_CLIENT : S_NONE;
    case R_SERVERINFO: return key == K_NAME && is_string ? S_SERVER : S_NONE;
    case R_CITEM: case R_MCONTENT:
        if (!is_string) return S_NONE;
        if (key == K_TEXT) return S_TEXT_INPLACE;
        if (key == K_DATA) return S_B64_REBUILD;
        if (key == K_TYPE) return S_ITEM_TYPE;
        if (key == K_MIMETYPE) return S_ITEM_MIME;
        return S_NONE;
    case R_RESOURCE: case R_RITEM:
        if (!is_string) return S_NONE;
        if (key == K_TEXT) return S_TEXT_REBUILD;
        if (key == K_BLOB) return S_B64_REBUILD;
        if (key == K_MIMETYPE) return S_ITEM_MIME;
        if (key == K_URI) return S_ITEM_URI;
        return S_NONE;
    default: return S_NONE;
    }
}

static int is_begin(spill__tok t)
{
    return t == SPILL__TOK_OBJ_BEGIN || t == SPILL__TOK_ARR_BEGIN || t == SPILL__TOK_STR_BEGIN ||
           t == SPILL__TOK_NUMBER || t == SPILL__TOK_TRUE || t == SPILL__TOK_FALSE ||
           t == SPILL__TOK_NULL;
}

spill__slot spill__walk_event(spill__walk *w, const spill__scan_ev *ev, int *msg_begin)
{
    *msg_begin = 0;
    w->slot = S_NONE;
    int d = ev->depth;
    if (w->capturing) {
        if (ev->tok == SPILL__TOK_STR_CHUNK) {
            size_t k = w->cap_max - w->cap_len < ev->n ? w->cap_max - w->cap_len : ev->n;
            memcpy(w->cap + w->cap_len, ev->s, k);
            w->cap_len += k;
            w->cap[w->cap_len] = 0;
            return S_NONE;
        }
        if (ev->tok == SPILL__TOK_STR_END) {
            w->capturing = 0;
            return S_NONE;
        }
    }
    if (ev->tok == SPILL__TOK_KEY) {
        if (d >= 1 && d <= SPILL__SCAN_MAX_DEPTH)
            w->st[d - 1].key = (uint8_t)key_of(ev->s, ev->n, ev->truncated);
        if (d - 1 == w->msg_depth) {
            spill__key k = w->st[d - 1].key;
            w->msg.has_method |= k == K_METHOD;
            w->msg.has_result |= k == K_RESULT;
            w->msg.has_error |= k == K_ERROR;
        }
        return S_NONE;
    }
    if (!is_begin(ev->tok)) {
        if ((ev->tok == SPILL__TOK_OBJ_END || ev->tok == SPILL__TOK_ARR_END) && d == w->msg_depth)
            w->msg_depth = -1;
        if (ev->tok == SPILL__TOK_OBJ_END && d == w->item_depth)
            w->item_depth = -1;
        return S_NONE;
    }
    /* A value begins at depth d. */
    spill__role parent = d == 0 ? R_OTHER : (spill__role)w->st[d - 1].role;
    spill__key key = K_OTHER;
    if (d > 0) {
        spill__frame *pf = &w->st[d - 1];
        if (pf->type == 'a')
            w->item_index = (int)pf->index++;
        else
            key = (spill__key)pf->key;
    }
    char type = ev->tok == SPILL__TOK_OBJ_BEGIN ? 'o' : ev->tok == SPILL__TOK_ARR_BEGIN ? 'a' : 's';
    spill__role role;
    if (d == 0)
        role = type == 'o' ? R_MSG : type == 'a' ? R_BATCH : R_OTHER;
    else
        role = (type == 'o' || type == 'a') ? child_role(parent, key, type) : R_OTHER;
    if (d > 0 && parent == R_RESULT && key == K_STRUCTURED)
        role = R_STRUCT;
    w->role = role;
    if (type == 'o' || type == 'a') {
        w->st[d].type = (uint8_t)type;
        w->st[d].role = (uint8_t)role;
        w->st[d].key = K_OTHER;
        w->st[d].index = 0;
    }
    if (role == R_MSG) {
        memset(&w->msg, 0, sizeof w->msg);
        w->msg_depth = d;
        *msg_begin = 1;
    }
    if (role == R_CITEM || role == R_RITEM || role == R_MCONTENT) {
        w->item_depth = d;
        w->item_type[0] = w->item_mime[0] = w->item_uri[0] = 0;
    }
    if (d > 0)
        w->slot = slot_of(parent, key, ev->tok == SPILL__TOK_STR_BEGIN);
    if (w->slot == S_STRUCTURED && (ev->tok == SPILL__TOK_NUMBER || ev->tok == SPILL__TOK_TRUE ||
                                    ev->tok == SPILL__TOK_FALSE || ev->tok == SPILL__TOK_NULL))
        w->slot = S_NONE; /* a scalar is small: nothing to spill */
    if (w->slot == S_ID && ev->tok == SPILL__TOK_NUMBER) {
        size_t n = ev->n < SPILL__CAP ? ev->n : SPILL__CAP;
        w->msg.id[0] = 'n';
        memcpy(w->msg.id + 1, ev->s, n);
        w->msg.id[n + 1] = 0;
        w->msg.id_set = 1;
        w->slot = S_NONE;
    }
    if (ev->tok == SPILL__TOK_STR_BEGIN)
        capture_slot(w, w->slot);
    return w->slot;
}
