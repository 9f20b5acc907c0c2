/* benchrun.c - the in-process measurements of `spill bench` and two baselines: the
 * pipe floor and the zstd CLI. Each in-process run happens in a forked child: its peak
 * RSS (wait4's ru_maxrss) is then the point's own, not the largest seen so far, and a
 * crash or a leak cannot spoil the next point. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

const char *const bench_counter_names[3] = {"early-exit", "estimate", "exact"};

double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double tv_s(struct timeval t) { return (double)t.tv_sec + (double)t.tv_usec / 1e6; }

static double self_cpu(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return tv_s(u.ru_utime) + tv_s(u.ru_stime);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb, (void)flag, (void)f;
    remove(p);
    return 0;
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the sink tap: the store sink, plus what the filter stored ---- */

typedef struct tap {
    spill_object_sink inner;
    double raw, stored, tokens;
    uint64_t biggest;
    char biggest_id[SPILL_ID_HEX + 1], counter[64];
} tap;
typedef struct tap_obj { tap *t; void *inner; } tap_obj;

static int tap_begin(void *ctx, void **obj, const spill_put_info *pi)
{
    tap_obj *o = malloc(sizeof *o);
    if (!o)
        return SPILL_E_NOMEM;
    o->t = ctx;
    int rc = o->t->inner.begin(o->t->inner.ctx, &o->inner, pi);
    if (rc)
        free(o);
    else
        *obj = o;
    return rc;
}

static int tap_write(void *obj, const void *p, size_t n)
{
    tap_obj *o = obj;
    return o->t->inner.write(o->inner, p, n);
}

static int tap_commit(void *obj, const char *mime, uint64_t tokens, const char *counter,
                      spill_object_info *info)
{
    tap_obj *o = obj;
    tap *t = o->t;
    spill_object_info local;
    if (!info)
        info = &local;
    int rc = t->inner.commit(o->inner, mime, tokens, counter, info);
    free(o);
    if (rc)
        return rc;
    t->raw += (double)info->raw_size;
    t->stored += (double)info->comp_size;
    t->tokens += (double)tokens;
    snprintf(t->counter, sizeof t->counter, "%s", counter ? counter : "");
    if (info->raw_size >= t->biggest) {
        t->biggest = info->raw_size;
        memcpy(t->biggest_id, info->id, sizeof t->biggest_id);
    }
    return 0;
}

static void tap_abort(void *obj)
{
    tap_obj *o = obj;
    o->t->inner.abort(o->inner);
    free(o);
}

static const char *tap_error(void *ctx)
{
    tap *t = ctx;
    return t->inner.last_error(t->inner.ctx);
}

/* ---- in-process runs ---- */

static int discard_emit(void *ud, spill_dir dir, const void *p, size_t n)
{
    (void)dir, (void)p;
    *(uint64_t *)ud += n;
    return 0;
}

static int discard_sink(void *ud, const void *p, size_t n)
{
    (void)p;
    *(uint64_t *)ud += n;
    return 0;
}

static int feed_file(const char *path, int (*fn)(void *, const void *, size_t), void *ud, char *buf,
                     size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf, cap);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : 0;
            break;
        }
        if ((rc = fn(ud, buf, (size_t)n)) != 0)
            break;
    }
    close(fd);
    return rc;
}

static int to_filter(void *ud, const void *p, size_t n) { return spill_filter_feed(ud, SPILL_S2C, p, n); }
static int to_writer(void *ud, const void *p, size_t n) { return spill_writer_write(ud, p, n); }

/* One tools/call request and its result per payload, the request first so the filter
 * knows the id as a tools/call (as it would in the sidecar). */
static int run_filter(const bench_env *e, spill_filter *f, char *buf, size_t cap)
{
    int rc = 0;
    for (int i = 0; i < e->npl && rc == 0; i++) {
        char line[256];
        int k = snprintf(line, sizeof line,
                         "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":"
                         "{\"name\":\"payload\",\"arguments\":{\"index\":%d}}}\n", i + 1, i);
        if ((rc = spill_filter_feed(f, SPILL_C2S, line, (size_t)k)) != 0)
            break;
        k = snprintf(line, sizeof line, BENCH_MSG_PREFIX "%d", i + 1);
        if ((rc = spill_filter_feed(f, SPILL_S2C, line, (size_t)k)) == 0)
            rc = feed_file(e->pl[i].msg, to_filter, f, buf, cap);
    }
    if (rc == 0)
        rc = spill_filter_finish(f, SPILL_S2C);
    return rc;
}

static int run_store(const bench_env *e, spill_store *st, tap *t, char *buf, size_t cap)
{
    for (int i = 0; i < e->npl; i++) {
        spill_writer *w;
        spill_object_info info;
        spill_put_info pi = {.name = e->pl[i].name};
        int rc = spill_writer_begin(st, &w, &pi);
        if (rc)
            return rc;
        if ((rc = feed_file(e->pl[i].path, to_writer, w, buf, cap)) != 0) {
            spill_writer_abort(w);
            return rc;
        }
        if ((rc = spill_writer_commit(w, &info)) != 0)
            return rc;
        t->raw += (double)info.raw_size;
        t->stored += (double)info.comp_size;
        if (info.raw_size >= t->biggest) {
            t->biggest = info.raw_size;
            memcpy(t->biggest_id, info.id, sizeof t->biggest_id);
        }
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* 200 lines from the middle, the median of 5 reads. An object with few lines (a
 * binary) is read as 20,000 bytes from the middle instead, which is what a line range
 * of a text costs. */
static double readback_ms(spill_store *st, const char *id)
{
    spill_object_info i;
    if (!id[0] || spill_store_stat(st, id, &i))
        return -1;
    double t[5];
    for (int k = 0; k < 5; k++) {
        uint64_t got = 0;
        double a = bench_now();
        int rc = i.lines >= 1000 ? spill_store_read_lines(st, id, i.lines / 2 - 100, i.lines / 2 + 99,
                                                          discard_sink, &got)
                                 : spill_store_read_bytes(st, id, i.raw_size / 2,
                                                          i.raw_size / 2 + 20000, discard_sink, &got);
        if (rc)
            return -1;
        t[k] = (bench_now() - a) * 1e3;
    }
    qsort(t, 5, sizeof t[0], cmp_double);
    return t[2];
}

static void child_inproc(const bench_env *e, const bench_setting *s, const char *dir, bench_sample *out)
{
    cli c = {.store_dir = dir};
    spill_store_opts_init(&c.opts);
    c.opts.level = s->level;
    c.opts.frame_size = (size_t)s->frame;
    c.opts.threads = s->threads;
    spill_store *st;
    if (cli_open(&c, &st)) {
        snprintf(out->err, sizeof out->err, "cannot open a store in %.200s", dir);
        return;
    }
    enum { BUF = 1 << 20 };
    char *buf = malloc(BUF);
    tap t = {0};
    spill_store_sink(st, &t.inner);
    spill_object_sink sink = {&t, tap_begin, tap_write, tap_commit, tap_abort, tap_error};
    spill_filter *f = NULL;
    uint64_t emitted = 0;
    int rc = buf ? 0 : SPILL_E_NOMEM;
    if (rc == 0 && s->mode == BENCH_FILTER) {
        spill_filter_opts o;
        spill_filter_opts_init(&o);
        o.threshold_tokens = s->threshold;
        o.sink = &sink;
        o.emit = discard_emit;
        o.emit_ud = &emitted;
        /* The tokenizer loads here, before the clock starts: a sidecar loads it once. */
        o.counter = cli_counter(e->vocab, s->counter != BENCH_C_ESTIMATE, 0,
                                s->counter == BENCH_C_EXACT ? SPILL_NO_LIMIT : s->threshold, NULL, 0);
        rc = spill_filter_new(&f, &o);
    }
    double c0 = self_cpu(), t0 = bench_now();
    if (rc == 0)
        rc = s->mode == BENCH_FILTER ? run_filter(e, f, buf, BUF) : run_store(e, st, &t, buf, BUF);
    out->wall_s = bench_now() - t0;
    out->cpu_s = self_cpu() - c0;
    if (rc) {
        const char *why = f ? spill_filter_last_error(f)->msg : spill_store_last_error(st);
        snprintf(out->err, sizeof out->err, "%s", why && *why ? why : spill_strerror(rc));
    } else if (t.raw == 0)
        snprintf(out->err, sizeof out->err, "nothing was stored (a payload under the threshold?)");
    out->raw = t.raw;
    out->stored = t.stored;
    out->tokens = t.tokens;
    snprintf(out->counter, sizeof out->counter, "%s", t.counter);
    if (!out->err[0])
        out->read_ms = readback_ms(st, t.biggest_id);
    spill_filter_free(f);
    free(buf);
    spill_store_close(st);
}

int bench_run_inproc(const bench_env *e, const bench_setting *s, bench_sample *out)
{
    memset(out, 0, sizeof *out);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/store.XXXXXX", e->workdir);
    if (!mkdtemp(dir))
        return snprintf(out->err, sizeof out->err, "mkdtemp: %s", strerror(errno)), -1;
    int p[2];
    if (pipe(p)) {
        rmdir(dir);
        return snprintf(out->err, sizeof out->err, "pipe: %s", strerror(errno)), -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        bench_sample s1 = {0};
        child_inproc(e, s, dir, &s1);
        _exit(cli_write_all(p[1], &s1, sizeof s1) ? 1 : 0);
    }
    close(p[1]);
    ssize_t got = 0;
    if (pid > 0)
        while ((size_t)got < sizeof *out) {
            ssize_t n = read(p[0], (char *)out + got, sizeof *out - (size_t)got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            got += n;
        }
    close(p[0]);
    int status = 0;
    struct rusage ru;
    if (pid > 0)
        while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
            ;
    rm_tree(dir);
    if (pid < 0 || (size_t)got != sizeof *out || !WIFEXITED(status) || WEXITSTATUS(status)) {
        memset(out, 0, sizeof *out);
        snprintf(out->err, sizeof out->err, "the measuring process %s",
                 pid < 0 ? "could not start" : WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "failed");
        return -1;
    }
    out->rss_kib = (double)ru.ru_maxrss;
    return out->err[0] ? -1 : 0;
}

/* ---- baselines ---- */

/* Reads a forked child's output to its end (closing rfd), then reaps the child: the
 * bytes read and its resource use. 1 when the child ran and exited with status 0. */
static int collect(pid_t pid, int rfd, char *buf, size_t cap, uint64_t *n, struct rusage *ru)
{
    *n = 0;
    for (;;) {
        ssize_t k = read(rfd, buf, cap);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        *n += (uint64_t)k;
    }
    close(rfd);
    int status = 0;
    memset(ru, 0, sizeof *ru);
    if (pid > 0)
        while (wait4(pid, &status, 0, ru) < 0 && errno == EINTR)
            ;
    return pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

typedef struct fdw { int fd; } fdw;
static int to_fd(void *ud, const void *p, size_t n) { return cli_write_all(((fdw *)ud)->fd, p, n); }

int bench_run_pipe(const bench_env *e, bench_sample *out)
{
    memset(out, 0, sizeof *out);
    enum { BUF = 1 << 17 }; /* cat's buffer size */
    char *buf = malloc(BUF);
    int p[2];
    if (!buf || pipe(p)) {
        free(buf);
        return snprintf(out->err, sizeof out->err, "out of memory or pipes"), -1;
    }
    double c0 = self_cpu(), t0 = bench_now();
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        fdw w = {p[1]};
        for (int i = 0; i < e->npl; i++)
            if (feed_file(e->pl[i].path, to_fd, &w, buf, BUF))
                _exit(1);
        _exit(0);
    }
    close(p[1]);
    uint64_t n;
    struct rusage ru;
    const int ok = collect(pid, p[0], buf, BUF, &n, &ru);
    out->wall_s = bench_now() - t0;
    out->cpu_s = self_cpu() - c0 + tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
    out->raw = out->stored = (double)n;
    free(buf);
    if (!ok)
        return snprintf(out->err, sizeof out->err, "the copying process failed"), -1;
    return 0;
}

static int on_path(const char *prog)
{
    const char *path = getenv("PATH");
    char buf[4096];
    while (path && *path) {
        size_t n = strcspn(path, ":");
        snprintf(buf, sizeof buf, "%.*s/%s", (int)n, path, prog);
        if (n && access(buf, X_OK) == 0)
            return 1;
        path += n + (path[n] == ':');
    }
    return 0;
}

int bench_run_zstd(const bench_env *e, int level, int threads, bench_sample *out)
{
    memset(out, 0, sizeof *out);
    if (!on_path("zstd"))
        return snprintf(out->err, sizeof out->err, "the zstd CLI is not installed (apt-get install zstd)"), 1;
    enum { BUF = 1 << 20 };
    char *buf = malloc(BUF);
    if (!buf)
        return snprintf(out->err, sizeof out->err, "out of memory"), -1;
    char lv[16], th[16];
    snprintf(lv, sizeof lv, "-%d", level);
    snprintf(th, sizeof th, "-T%d", threads);
    int rc = 0;
    for (int i = 0; i < e->npl && rc == 0; i++) {
        int p[2];
        if (pipe(p)) {
            rc = -1;
            break;
        }
        double t0 = bench_now();
        pid_t pid = fork();
        if (pid == 0) {
            dup2(p[1], 1);
            close(p[0]);
            close(p[1]);
            char *argv[8];
            int k = 0;
            argv[k++] = "zstd", argv[k++] = "-q", argv[k++] = lv, argv[k++] = th;
            if (level > 19)
                argv[k++] = "--ultra";
            argv[k++] = "-c", argv[k++] = (char *)e->pl[i].path, argv[k] = NULL;
            execvp("zstd", argv);
            _exit(127);
        }
        close(p[1]);
        uint64_t n;
        struct rusage ru;
        const int ok = collect(pid, p[0], buf, BUF, &n, &ru);
        out->wall_s += bench_now() - t0;
        out->cpu_s += tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
        if (ru.ru_maxrss > out->rss_kib)
            out->rss_kib = (double)ru.ru_maxrss;
        out->raw += (double)e->pl[i].bytes;
        out->stored += (double)n;
        if (!ok) {
            snprintf(out->err, sizeof out->err, "zstd %s %s failed on %.200s", lv, th, e->pl[i].name);
            rc = -1;
        }
    }
    free(buf);
    return rc;
}
