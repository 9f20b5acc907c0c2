/* bench_e2e.c - `spill bench --e2e`: the generated MCP server (the hidden command
 * `spill bench-server`), and the client that times a tools/call from request to the
 * whole response, through `spill run` or directly. Both ends are this executable, so
 * the figures measure spill and the pipes, not a Python or Node peer. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* ---- the server ---- */

static int reply(const char *id, const char *result)
{
    char buf[1024];
    int n = snprintf(buf, sizeof buf, BENCH_MSG_PREFIX "%s,\"result\":%s}\n", id, result);
    return cli_write_all(1, buf, (size_t)n);
}

static int send_payload(const char *id, const char *msg_path)
{
    char head[160];
    int n = snprintf(head, sizeof head, BENCH_MSG_PREFIX "%s", id);
    int rc = cli_write_all(1, head, (size_t)n);
    int fd = open(msg_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    enum { BUF = 1 << 20 };
    char *buf = malloc(BUF);
    while (rc == 0 && buf) {
        ssize_t k = read(fd, buf, BUF);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        rc = cli_write_all(1, buf, (size_t)k);
    }
    free(buf);
    close(fd);
    return rc;
}

/* Requests come from bench_run_e2e, through spill run or not. */
int cmd_bench_server(cli *c)
{
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    while (rc == 0 && getline(&line, &cap, stdin) > 0) {
        char id[64];
        const mcp_stub_method m = mcp_stub_request(line, id, sizeof id);
        if (m == MCP_STUB_INITIALIZE)
            rc = reply(id, MCP_STUB_INITIALIZE_RESULT("spill-bench-server", "1"));
        else if (m == MCP_STUB_PING)
            rc = reply(id, "{}");
        else if (m == MCP_STUB_TOOLS_LIST)
            rc = reply(id, "{\"tools\":[{\"name\":\"payload\",\"description\":\"Returns payload number "
                           "index of the benchmark.\",\"inputSchema\":{\"type\":\"object\",\"properties\":"
                           "{\"index\":{\"type\":\"integer\"}}}}]}");
        else if (m == MCP_STUB_TOOLS_CALL) {
            const char *ix = mcp_stub_value(line, "index");
            long i = ix ? atol(ix) : 0;
            if (i < 0 || i >= c->argc)
                rc = reply(id, "{\"content\":[{\"type\":\"text\",\"text\":\"no such payload\"}],\"isError\":true}");
            else
                rc = send_payload(id, c->argv[i]);
        } else if (m == MCP_STUB_OTHER) {
            char buf[160];
            int n = snprintf(buf, sizeof buf, BENCH_MSG_PREFIX "%s" MCP_STUB_NO_METHOD, id);
            rc = cli_write_all(1, buf, (size_t)n);
        } /* MCP_STUB_NONE: a notification or a response, nothing to answer */
    }
    free(line);
    return rc ? 1 : 0;
}

/* ---- the client ---- */

/* Lines from the peer; a line is kept up to keep's size (enough to find the id),
 * the rest only counted, so a 200 MB direct response costs one buffer. */
typedef struct peer {
    pid_t pid;
    int in, out;
    char buf[1 << 16];
    size_t start, end;
} peer;

enum { PEER_TIMEOUT_MS = 300000 };

static long long read_line(peer *p, char *keep, size_t keepcap)
{
    long long total = 0;
    size_t kept = 0;
    for (;;) {
        char *s = p->buf + p->start, *nl = memchr(s, '\n', p->end - p->start);
        size_t n = nl ? (size_t)(nl - s) : p->end - p->start;
        size_t k = n < keepcap - 1 - kept ? n : keepcap - 1 - kept;
        memcpy(keep + kept, s, k);
        kept += k;
        total += (long long)n;
        if (nl) {
            p->start += n + 1;
            keep[kept] = 0;
            return total;
        }
        p->start = p->end = 0;
        struct pollfd pf = {p->out, POLLIN, 0};
        int r = poll(&pf, 1, PEER_TIMEOUT_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t got = read(p->out, p->buf, sizeof p->buf);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        p->end = (size_t)got;
    }
}

/* Reads until the response with this id; other lines (notifications) are skipped. */
static int await(peer *p, long id)
{
    char keep[512], pat[40];
    int n = snprintf(pat, sizeof pat, "\"id\":%ld", id);
    for (;;) {
        if (read_line(p, keep, sizeof keep) < 0)
            return -1;
        const char *h = strstr(keep, pat);
        if (h && (h[n] == ',' || h[n] == '}'))
            return 0;
    }
}

static int send_line(peer *p, const char *s) { return cli_write_all(p->in, s, strlen(s)); }

static int peer_start(peer *p, char *const argv[], const char *logpath)
{
    int to[2], from[2];
    if (pipe2(to, O_CLOEXEC))
        return -errno;
    if (pipe2(from, O_CLOEXEC)) {
        close(to[0]), close(to[1]);
        return -errno;
    }
    fflush(NULL);
    p->pid = fork();
    if (p->pid == 0) {
        int log = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        dup2(to[0], 0);
        dup2(from[1], 1);
        if (log >= 0)
            dup2(log, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    p->in = to[1];
    p->out = from[0];
    p->start = p->end = 0;
    return p->pid < 0 ? -1 : 0;
}

static double tv_s(struct timeval t) { return (double)t.tv_sec + (double)t.tv_usec / 1e6; }

static void peer_stop(peer *p, bench_sample *out)
{
    close(p->in);
    close(p->out);
    struct rusage ru;
    int status;
    while (wait4(p->pid, &status, 0, &ru) < 0 && errno == EINTR)
        ;
    out->cpu_s = tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
    out->rss_kib = (double)ru.ru_maxrss;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int pings(peer *p, int n, bench_sample *out)
{
    double *t = malloc((size_t)(n > 0 ? n : 1) * sizeof *t);
    if (!t)
        return -1;
    for (int i = 0; i < n; i++) {
        char req[96];
        snprintf(req, sizeof req, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"ping\"}\n", 1000000 + i);
        double a = bench_now();
        if (send_line(p, req) || await(p, 1000000 + i)) {
            free(t);
            return -1;
        }
        t[i] = (bench_now() - a) * 1e6;
    }
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    out->p50_us = n ? t[n / 2] : 0;
    out->p99_us = n ? t[(size_t)n * 99 / 100 < (size_t)n ? (size_t)n * 99 / 100 : (size_t)n - 1] : 0;
    free(t);
    return 0;
}

static double stored_bytes;
static int add_zst(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
    (void)f;
    size_t n = strlen(path);
    if (flag == FTW_F && n > 4 && !strcmp(path + n - 4, ".zst") && !strstr(path, "/.tmp-"))
        stored_bytes += (double)sb->st_size;
    return 0;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb, (void)flag, (void)f;
    remove(p);
    return 0;
}

/* The last bytes of the children's stderr, on one line: the work directory with the
 * whole log is removed at the end of the bench. */
static void log_tail(const char *path, char *buf, size_t n)
{
    snprintf(buf, n, "(nothing)");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    off_t end = lseek(fd, 0, SEEK_END);
    off_t from = end > (off_t)n - 1 ? end - (off_t)n + 1 : 0;
    ssize_t k = pread(fd, buf, n - 1, from);
    close(fd);
    if (k <= 0)
        return;
    buf[k] = 0;
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

/* s NULL: direct. calls 0: only the pings. */
static int session(const bench_env *e, const bench_setting *s, int calls, bench_sample *out)
{
    memset(out, 0, sizeof *out);
    if (s && s->counter == BENCH_C_EXACT)
        return snprintf(out->err, sizeof out->err, "spill run counts exactly only up to the threshold"), -1;
    char dir[4096], log[4200], lv[16], fr[32], th[16], thr[32];
    snprintf(dir, sizeof dir, "%s/e2e.XXXXXX", e->workdir);
    snprintf(log, sizeof log, "%s/e2e-stderr.log", e->workdir);
    if (s && !mkdtemp(dir))
        return snprintf(out->err, sizeof out->err, "mkdtemp: %s", strerror(errno)), -1;
    const char *argv[64];
    int k = 0;
    argv[k++] = e->self;
    if (s) {
        snprintf(lv, sizeof lv, "%d", s->level);
        snprintf(fr, sizeof fr, "%llu", (unsigned long long)s->frame);
        snprintf(th, sizeof th, "%d", s->threads);
        snprintf(thr, sizeof thr, "%llu", (unsigned long long)s->threshold);
        const char *run[] = {"--store", dir, "run", "--level", lv, "--frame-size", fr, "--threads", th,
                             "--threshold", thr, "--vocab", e->vocab, "--counter",
                             s->counter == BENCH_C_ESTIMATE ? "estimate" : "exact", "--", e->self};
        for (size_t i = 0; i < sizeof run / sizeof run[0]; i++)
            argv[k++] = run[i];
    }
    argv[k++] = "bench-server";
    for (int i = 0; i < e->npl && k < 62; i++)
        argv[k++] = e->pl[i].msg;
    argv[k] = NULL;

    peer *p = malloc(sizeof *p);
    int rc = p ? peer_start(p, (char *const *)argv, log) : -1;
    if (rc) {
        free(p);
        return snprintf(out->err, sizeof out->err, "cannot start %s", e->self), -1;
    }
    rc = send_line(p, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
                      "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"spill-bench\","
                      "\"version\":\"1\"}}}\n");
    if (rc == 0)
        rc = await(p, 1);
    if (rc == 0)
        rc = send_line(p, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n"
                          "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}\n");
    if (rc == 0)
        rc = await(p, 2);
    if (rc == 0)
        rc = pings(p, e->latency_n, out);
    for (int i = 0; i < calls && i < e->npl && rc == 0; i++) {
        char req[256];
        snprintf(req, sizeof req, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":"
                                  "{\"name\":\"payload\",\"arguments\":{\"index\":%d}}}\n", 100 + i, i);
        double a = bench_now();
        rc = send_line(p, req);
        if (rc == 0)
            rc = await(p, 100 + i);
        out->wall_s += bench_now() - a;
        out->raw += (double)e->pl[i].bytes;
    }
    peer_stop(p, out);
    free(p);
    if (s) {
        stored_bytes = 0;
        nftw(dir, add_zst, 16, FTW_PHYS);
        out->stored = stored_bytes;
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    } else
        out->stored = out->raw;
    if (rc) {
        char tail[160];
        log_tail(log, tail, sizeof tail);
        snprintf(out->err, sizeof out->err, "the %s session failed; its stderr ends: %s",
                 s ? "spill run" : "direct", tail);
        return -1;
    }
    return 0;
}

int bench_run_e2e(const bench_env *e, const bench_setting *s, bench_sample *out)
{
    return session(e, s, e->npl, out);
}

int bench_run_latency(const bench_env *e, int through_spill, bench_sample *out)
{
    /* spill run's defaults; compression settings play no part in a ping */
    bench_setting s = {BENCH_E2E, 3, 2, 1 << 20, BENCH_C_EARLY, 100000};
    return session(e, through_spill ? &s : NULL, 0, out);
}
