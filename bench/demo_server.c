/* demo_server - a small MCP stdio server in C, bundled for `make demo` and the
 * benchmarks. Tools: echo {text} returns the text; logs {lines, seed?} returns a
 * generated log of that many lines (a large output on demand). Also answers ping,
 * initialize and tools/list. One request per line, read as spill/mcp_stub.h reads them
 * (ids are echoed byte for byte). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp_stub.h"

static void reply(const char *id, const char *result)
{
    printf(MCP_STUB_REPLY_PREFIX "%s,\"result\":%s}\n", id, result);
    fflush(stdout);
}

static void logs(const char *id, long lines, unsigned seed)
{
    static const char *lvl[] = {"INFO ", "INFO ", "DEBUG", "WARN ", "ERROR"};
    static const char *svc[] = {"api", "db", "auth", "cache", "worker"};
    printf(MCP_STUB_REPLY_PREFIX "%s,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"", id);
    unsigned x = seed ? seed : 1;
    for (long i = 0; i < lines; i++) {
        x = x * 1103515245u + 12345u;
        printf("2026-11-27T10:%02ld:%02ld.%03u %s [%s] request %u took %ums\\n", (i / 60) % 60, i % 60,
               x % 1000, lvl[(x >> 8) % 5], svc[(x >> 12) % 5], x >> 4, (x >> 16) % 3000);
    }
    printf("\"}]}}\n");
    fflush(stdout);
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        char id[128];
        const mcp_stub_method m = mcp_stub_request(line, id, sizeof id);
        if (m == MCP_STUB_INITIALIZE)
            reply(id, MCP_STUB_INITIALIZE_RESULT("spill-demo-server", "1.0"));
        else if (m == MCP_STUB_PING)
            reply(id, "{}");
        else if (m == MCP_STUB_TOOLS_LIST)
            reply(id, "{\"tools\":[{\"name\":\"echo\",\"description\":\"Returns the text.\",\"inputSchema\":"
                      "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}}}},"
                      "{\"name\":\"logs\",\"description\":\"Returns a service log of the given number of lines.\","
                      "\"inputSchema\":{\"type\":\"object\",\"properties\":{\"lines\":{\"type\":\"integer\"}}}}]}");
        else if (m == MCP_STUB_TOOLS_CALL) {
            const char *name = mcp_stub_value(line, "name");
            if (name && !strncmp(name, "\"logs\"", 6)) {
                const char *l = mcp_stub_value(line, "lines"), *sd = mcp_stub_value(line, "seed");
                logs(id, l ? atol(l) : 100, sd ? (unsigned)atol(sd) : 1);
            } else {
                const char *t = mcp_stub_value(line, "text");
                size_t k = 0;
                if (t && *t == '"')
                    for (k = 1; t[k] && !(t[k] == '"' && t[k - 1] != '\\'); k++)
                        ;
                printf(MCP_STUB_REPLY_PREFIX "%s,\"result\":{\"content\":[{\"type\":\"text\",\"text\":%.*s}]}}\n",
                       id, t ? (int)k + 1 : 2, t ? t : "\"\"");
                fflush(stdout);
            }
        } else if (m == MCP_STUB_OTHER) {
            printf(MCP_STUB_REPLY_PREFIX "%s" MCP_STUB_NO_METHOD, id);
            fflush(stdout);
        } /* MCP_STUB_NONE: notifications need no answer */
    }
    free(line);
    return 0;
}
