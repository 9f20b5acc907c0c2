/* demo_server - a small MCP stdio server in C, bundled for `make demo` and the
 * benchmarks. Tools: echo {text} returns the text; logs {lines, seed?} returns a
 * generated log of that many lines (a large output on demand). Also answers ping,
 * initialize and tools/list. One request per line; JSON is handled just enough for
 * these shapes (ids are echoed byte for byte). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *find_value(const char *msg, const char *key)
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

/* The raw JSON token of "id" (a number or a string without escapes). */
static int get_id(const char *msg, char *out, size_t n)
{
    const char *p = find_value(msg, "id");
    if (!p)
        return 0;
    size_t k = *p == '"' ? (size_t)(strchr(p + 1, '"') - p + 1) : strcspn(p, ",}");
    if (k >= n)
        return 0;
    memcpy(out, p, k);
    out[k] = 0;
    return 1;
}

static void reply(const char *id, const char *result)
{
    printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":%s}\n", id, result);
    fflush(stdout);
}

static void logs(const char *id, long lines, unsigned seed)
{
    static const char *lvl[] = {"INFO ", "INFO ", "DEBUG", "WARN ", "ERROR"};
    static const char *svc[] = {"api", "db", "auth", "cache", "worker"};
    printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"", id);
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
        const char *method = find_value(line, "method");
        if (!method || !get_id(line, id, sizeof id))
            continue; /* notifications need no answer */
        if (!strncmp(method, "\"initialize\"", 12))
            reply(id, "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"tools\":{}},"
                      "\"serverInfo\":{\"name\":\"spill-demo-server\",\"version\":\"1.0\"}}");
        else if (!strncmp(method, "\"ping\"", 6))
            reply(id, "{}");
        else if (!strncmp(method, "\"tools/list\"", 12))
            reply(id, "{\"tools\":[{\"name\":\"echo\",\"description\":\"Returns the text.\",\"inputSchema\":"
                      "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}}}},"
                      "{\"name\":\"logs\",\"description\":\"Returns a service log of the given number of lines.\","
                      "\"inputSchema\":{\"type\":\"object\",\"properties\":{\"lines\":{\"type\":\"integer\"}}}}]}");
        else if (!strncmp(method, "\"tools/call\"", 12)) {
            const char *name = find_value(line, "name");
            if (name && !strncmp(name, "\"logs\"", 6)) {
                const char *l = find_value(line, "lines"), *sd = find_value(line, "seed");
                logs(id, l ? atol(l) : 100, sd ? (unsigned)atol(sd) : 1);
            } else {
                const char *t = find_value(line, "text");
                size_t k = 0;
                if (t && *t == '"')
                    for (k = 1; t[k] && !(t[k] == '"' && t[k - 1] != '\\'); k++)
                        ;
                printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"content\":[{\"type\":\"text\",\"text\":%.*s}]}}\n",
                       id, t ? (int)k + 1 : 2, t ? t : "\"\"");
                fflush(stdout);
            }
        } else {
            printf("{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":-32601,\"message\":\"no such method\"}}\n", id);
            fflush(stdout);
        }
    }
    free(line);
    return 0;
}
