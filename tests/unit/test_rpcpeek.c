/* test_rpcpeek - the sidecar's tolerant look at a request line (spill/rpcpeek.c): raw ids,
 * method and tool name through escapes, lines jansson refuses, cut lines, batches. */
#include "../harness.h"
#include "rpcpeek.h"

static void peek(const char *s, spill__rpc_peek *pk) { spill__rpc_peek_scan(s, strlen(s), pk); }

static int id_is(const spill__rpc_peek *pk, const char *want)
{
    return pk->id && pk->id_len == strlen(want) && !memcmp(pk->id, want, pk->id_len);
}

static void raw_ids(void)
{
    static const char *const ids[] = {"1e2", "-0", "1.50", "\"a\\\"b\"", "123456789012345678901234567890", "null"};
    static const char types[] = {'n', 'n', 'n', 's', 'n', 'z'};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char line[200];
        spill__rpc_peek pk;
        snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\", \"id\" : %s ,\"method\":\"tools/call\"}", ids[i]);
        peek(line, &pk);
        ASSERT(id_is(&pk, ids[i]));
        ASSERT_EQ(pk.id_type, types[i]);
        ASSERT(pk.complete);
    }
    spill__rpc_peek pk;
    peek("{\"id\":{\"a\":[1,\"}\"]},\"method\":\"x\"}", &pk);
    ASSERT_EQ(pk.id_type, 'o');
    ASSERT(id_is(&pk, "{\"a\":[1,\"}\"]}"));
    peek("{\"id\":[1],\"method\":\"x\"}", &pk);
    ASSERT_EQ(pk.id_type, 'a');
    peek("{\"id\":true}", &pk);
    ASSERT_EQ(pk.id_type, 'b');
}

static void spill_calls(void)
{
    spill__rpc_peek pk;
    peek("{\"method\":\"tools/call\",\"params\":{\"arguments\":{\"name\":\"x\"},\"name\":\"spill_jq\"},\"id\":1}", &pk);
    ASSERT(spill__rpc_peek_is_local(&pk));
    peek("{\"method\":\"tools\\/call\",\"params\":{\"name\":\"\\u0073pill_read\"},\"id\":1}", &pk);
    ASSERT(spill__rpc_peek_is_local(&pk));
    peek("{\"method\":\"tools/call\",\"params\":{\"name\":\"spill_read\\u0000\"},\"id\":1}", &pk);
    ASSERT(!spill__rpc_peek_is_local(&pk));
    peek("{\"method\":\"tools/call\",\"params\":{\"name\":\"echo\"},\"id\":1}", &pk);
    ASSERT(!spill__rpc_peek_is_local(&pk));
    peek("{\"method\":\"resources/read\",\"params\":{\"uri\":\"SPILL://abc\"},\"id\":1}", &pk);
    ASSERT(spill__rpc_peek_is_local(&pk));
    peek("{\"method\":\"resources/read\",\"params\":{\"uri\":\"file://abc\"},\"id\":1}", &pk);
    ASSERT(!spill__rpc_peek_is_local(&pk));
    /* What jansson refuses is still read: invalid UTF-8, a lone surrogate. */
    peek("{\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"spill_stat\",\"arguments\":{\"id\":\"\xff\\ud800\"}}}", &pk);
    ASSERT(spill__rpc_peek_is_local(&pk));
    ASSERT(id_is(&pk, "7"));
    ASSERT(pk.complete);
}

static void cut_and_bad(void)
{
    const char *full = "{\"id\":\"abc\",\"method\":\"tools/call\",\"params\":{\"name\":\"spill_grep\",\"arguments\":{\"pattern\":\"xxxx";
    spill__rpc_peek pk;
    for (size_t n = 0; n <= strlen(full); n++) { /* every cut: no crash, never complete */
        spill__rpc_peek_scan(full, n, &pk);
        ASSERT(!pk.complete);
    }
    peek(full, &pk);
    ASSERT(spill__rpc_peek_is_local(&pk));
    ASSERT(id_is(&pk, "\"abc\""));
    spill__rpc_peek_scan("{\"id\":\"ab", 9, &pk);
    ASSERT_EQ(pk.id_type, '?');
    peek("{\"id\" 1}", &pk);
    ASSERT(!pk.id && !pk.complete);
    peek("[1,2", &pk);
    ASSERT_EQ(pk.kind, '[');
    ASSERT(!pk.complete);
    char deep[20001];
    memset(deep, '[', 10000), memset(deep + 10000, ']', 10000), deep[20000] = 0;
    peek(deep, &pk);
    ASSERT(pk.complete);
}

static void batch_elems(void)
{
    const char *b = " [ {\"id\":1} , 2,\"x,]\" ,[3,[4]] ] ";
    const char *st[8];
    size_t len[8];
    ASSERT_EQ(spill__rpc_elems(b, strlen(b), st, len, 8), 4);
    ASSERT(len[0] == 8 && !memcmp(st[0], "{\"id\":1}", 8));
    ASSERT(len[2] == 5 && !memcmp(st[2], "\"x,]\"", 5));
    ASSERT(len[3] == 7 && !memcmp(st[3], "[3,[4]]", 7));
    ASSERT_EQ(spill__rpc_elems("[]", 2, st, len, 8), 0);
    ASSERT_EQ(spill__rpc_elems("[1,", 3, st, len, 8), -1);
    ASSERT_EQ(spill__rpc_elems("{}", 2, st, len, 8), -1);
}

int main(void)
{
    h_seed();
    RUN(raw_ids);
    RUN(spill_calls);
    RUN(cut_and_bad);
    RUN(batch_elems);
    return h_failures != 0;
}
