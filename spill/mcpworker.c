/* mcpworker.c - `spill --store DIR mcp-worker CPU_S MEM_BYTES` (hidden): answers one of
 * spill's own MCP calls in a process of its own, for the sidecar.
 *
 * libjq 1.6 asserts, recurses without bound and runs without a time limit on filters an
 * agent can send; a damaged store can fault; a slow disk blocks. None of that may stop the
 * sidecar, which carries every other message of the session. So the sidecar runs each call
 * here: the request on stdin, the answer on stdout, under CPU-time and address-space limits
 * set below (the sidecar adds the wall-time limit and the output cap, and reads a crash's
 * message from stderr).
 *
 * stdin:  {"tool":NAME,"args":JSON-TEXT,"max":N,"era":0|1,"budget_ms":N[,"checked":true]}
 *      or {"uri":URI,"max":N,"era":0|1,"budget_ms":N[,"checked":true]}
 * stdout: "RC\n" then the body: spill_mcp_call's or spill_mcp_read_resource's return code and
 *         *out (a result as JSON text, or a resource error's plain-text message). */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "mcptools.h"

#if defined(__SANITIZE_ADDRESS__)
#define ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN_BUILD 1
#endif
#endif

enum { REQ_MAX = 1 << 20 };

static void limits(uint64_t cpu_s, uint64_t mem)
{
    struct rlimit r = {0, 0};
    setrlimit(RLIMIT_CORE, &r); /* a libjq abort leaves no core file behind */
    /* On a busy machine the sidecar and the server it carries come first. */
    if (setpriority(PRIO_PROCESS, 0, 10) != 0) {
        /* not allowed: run at the sidecar's priority */
    }
    if (cpu_s) {
        r.rlim_cur = cpu_s, r.rlim_max = cpu_s + 1; /* SIGXCPU, then SIGKILL a second later */
        setrlimit(RLIMIT_CPU, &r);
    }
#ifndef ASAN_BUILD
    /* AddressSanitizer reserves terabytes of address space: under it no memory limit. */
    if (mem) {
        r.rlim_cur = r.rlim_max = mem;
        setrlimit(RLIMIT_AS, &r);
    }
#else
    (void)mem;
#endif
}

static int reply(int rc, const char *body, size_t n)
{
    char head[24];
    int k = snprintf(head, sizeof head, "%d\n", rc);
    return cli_write_all(1, head, (size_t)k) || (n && cli_write_all(1, body, n)) ? 1 : 0;
}

int cmd_mcp_worker(cli *c)
{
    uint64_t cpu = 0, mem = 0;
    if (c->argc != 2 || cli_parse_u64(c->argv[0], &cpu) || cli_parse_u64(c->argv[1], &mem) || !c->store_dir)
        return cli_usage("mcp-worker: spill --store DIR mcp-worker CPU_SECONDS MEMORY_BYTES (the sidecar runs it)");
    limits(cpu, mem);
    char *req = malloc(REQ_MAX);
    size_t n = 0;
    ssize_t k;
    while (req && n < REQ_MAX && (k = read(0, req + n, REQ_MAX - n)) > 0)
        n += (size_t)k;
    json_t *m = req ? json_loadb(req, n, 0, NULL) : NULL;
    free(req);
    const char *tool = json_string_value(json_object_get(m, "tool"));
    const char *args = json_string_value(json_object_get(m, "args"));
    const char *uri = json_string_value(json_object_get(m, "uri"));
    json_int_t max = json_integer_value(json_object_get(m, "max"));
    json_int_t budget = json_integer_value(json_object_get(m, "budget_ms"));
    int era = json_is_true(json_object_get(m, "era"));
    if (!tool && !uri) {
        json_decref(m);
        return reply(SPILL_E_INVAL, "bad worker request", 18);
    }
    if (budget > 0)
        spill_mcp_set_time_budget((unsigned)budget);
    spill_store *st = NULL;
    c->opts.dir = c->store_dir;
    /* spill run checked the index and swept temps when it opened the store: not again
     * for each call (where its own open failed, this one checks and says why). */
    c->opts.checked = json_is_true(json_object_get(m, "checked"));
    int rc = spill_store_open(&st, &c->opts);
    if (rc) {
        char msg[600];
        int len = snprintf(msg, sizeof msg, "spill cannot open its store %s: %s", c->store_dir, spill_strerror(rc));
        json_decref(m);
        return reply(rc, msg, (size_t)len);
    }
    char *out = NULL;
    size_t outlen = 0;
    rc = tool ? spill_mcp_call(st, tool, args, (size_t)max, era, &out, &outlen)
              : spill_mcp_read_resource(st, uri, (size_t)max, era, &out, &outlen);
    int status = reply(rc, out, out ? outlen : 0);
    free(out);
    spill_store_close(st);
    json_decref(m);
    return status;
}
