/* cli_bench.c - `spill bench`: how fast spill is on this machine and these payloads,
 * and which settings to pick. Builds the sweep, runs it (benchrun.c, bench_e2e.c) and
 * summarises each point as median and range; bench_report.c prints the result. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

static const char bench_help[] =
    "usage: spill bench [--payload FILE...] [--gen KIND[,KIND...]] [options]\n"
    "\n"
    "Measures spill on this machine and these payloads, with baselines from the same run,\n"
    "and recommends settings. Each payload becomes one MCP tools/call result (text JSON-\n"
    "escaped into content[0].text; anything not UTF-8 as base64 image data) and is measured:\n"
    "  filter  in-process: spill_filter over the result with the store as sink (what the\n"
    "          library hook and `spill run` do), from the first byte to the last stored\n"
    "  store   in-process: the raw payload through spill_writer (what `spill put` does)\n"
    "  e2e     with --e2e: a client here, `spill run -- spill bench-server` (a generated MCP\n"
    "          server answering initialize, tools/list, tools/call and ping), timed from\n"
    "          the tools/call request to the whole response; the same server without spill\n"
    "          is the direct baseline\n"
    "Every in-process run is a forked child, so its CPU time and peak RSS are its own; each\n"
    "run writes to a fresh store under the work directory (dedup would make repeats free).\n"
    "\n"
    "inputs:\n"
    "  --payload FILE...      your files (any mix of text, JSON, logs, binary); several\n"
    "                         files are measured together, one result each\n"
    "  --gen KIND[,KIND...]   generated payloads instead: json (an array of records), logs,\n"
    "                         code (C-like source), prose, cjk (Chinese/Japanese text),\n"
    "                         base64 (a binary grayscale image, sent as base64 image data),\n"
    "                         mix (text kinds interleaved)\n"
    "  --size SIZE            bytes of each generated payload (64M; 200M, 1G, 64MiB ...)\n"
    "  --seed N               generator seed (1): the same seed gives the same bytes\n"
    "\n"
    "sweeps (comma lists):\n"
    "  --level LIST           zstd levels (1,3,6)\n"
    "  --frame LIST           raw bytes per frame, K and M binary (256K,1M,4M)\n"
    "                         with neither --level nor --frame: the levels at 1M and the\n"
    "                         frame sizes at level 3; with either: every combination\n"
    "  --threads LIST         compression threads (the number of cores, up to 16)\n"
    "  --counter LIST         early-exit (exact up to the threshold, then the estimator:\n"
    "                         spill's default), estimate, exact (no early exit; in the\n"
    "                         filter a spilled payload's first 4 MiB are then counted\n"
    "                         exactly and the rest sampled) (early-exit,estimate,exact)\n"
    "  --threshold LIST       tokens (25000,100000)\n"
    "                         counters and thresholds are swept in the filter mode at level 3,\n"
    "                         frame 1M and the most threads (or the first of each list);\n"
    "                         exact only at the compression sweep's threshold (it counts to the\n"
    "                         end whatever the threshold);\n"
    "                         the compression sweep uses early-exit and 100000 (or the firsts)\n"
    "  --runs N               runs per point (3; 1 when the payloads add up to more than\n"
    "                         512 MiB: a 200 MB payload takes about a minute on 2 cores);\n"
    "                         figures are medians with [min-max] over the runs\n"
    "  --latency-n N          ping round trips for the small-message latency (1000)\n"
    "  --vocab claude|o200k|cl100k   tokenizer vocabulary (claude)\n"
    "  --e2e                  also measure end to end through spill run (slower)\n"
    "\n"
    "output:\n"
    "  (default)              a table on stdout; a progress bar on stderr when it is a terminal\n"
    "  --json                 one JSON document: machine, parameters, baselines, every point\n"
    "                         (median, min, max of each figure), recommendation\n"
    "  --plot FILE.svg        an SVG: throughput and compression ratio (filter mode) against\n"
    "                         level (a line per frame size) and against frame size (a line per\n"
    "                         level), the zstd CLI dashed\n"
    "  --dir DIR              where payloads and stores are made ($TMPDIR or /tmp); removed after\n"
    "\n"
    "per point: MB/s of payload and tokens/s (median [min-max]), speed as a fraction of the\n"
    "pipe floor (xpipe) and of the zstd CLI at the same level and threads (xzstd), the\n"
    "compression ratio (payload / object files) and its fraction of zstd's, CPU seconds,\n"
    "peak RSS, the read-back of 200 lines from the middle of the largest object (ms), and\n"
    "for e2e the ping p50/p99 through spill run and the speed as a fraction of direct.\n"
    "Baselines: the payload copied through a pipe (the floor); `zstd -T<threads> -<level>`\n"
    "on the same bytes (skipped, with a note, when zstd is not installed); direct\n"
    "server-to-client without spill; ping round trips directly and through spill run.\n"
    "Recommendation: the fastest filter setting whose ratio is within 5% of the best\n"
    "measured ratio, and advice on the counter and the threshold from their sweep.\n";

/* ---- parsing ---- */

/* K and M are binary here: frame sizes are powers of two (the default is 1 MiB). */
static int parse_frame(const char *s, double *v)
{
    uint64_t x;
    char num[32];
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n >= sizeof num)
        return -1;
    memcpy(num, s, n);
    num[n] = 0;
    if (cli_parse_u64(num, &x))
        return -1;
    const char *u = s + n;
    uint64_t mul = !*u ? 1 : !strcmp(u, "K") || !strcmp(u, "KiB") || !strcmp(u, "k") ? 1024
                 : !strcmp(u, "M") || !strcmp(u, "MiB") ? 1 << 20 : 0;
    if (!mul || x * mul < 4096 || x * mul > (256u << 20))
        return -1;
    *v = (double)(x * mul);
    return 0;
}

static int parse_list(const char *s, bench_list *l, int (*one)(const char *, double *))
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", s);
    l->n = 0;
    for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (l->n >= BENCH_MAXL || one(t, &l->v[l->n]))
            return -1;
        l->n++;
    }
    return l->n ? 0 : -1;
}

static int parse_level(const char *s, double *v)
{
    uint64_t x;
    return cli_parse_u64(s, &x) || x < 1 || x > 22 ? -1 : (*v = (double)x, 0);
}
static int parse_threads(const char *s, double *v)
{
    uint64_t x;
    return cli_parse_u64(s, &x) || x < 1 || x > 16 ? -1 : (*v = (double)x, 0);
}
static int parse_threshold(const char *s, double *v)
{
    uint64_t x;
    return cli_parse_u64(s, &x) || x < 1 ? -1 : (*v = (double)x, 0);
}
static int parse_counter(const char *s, double *v)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, bench_counter_names[i]))
            return *v = i, 0;
    return -1;
}

/* The default when the list has it, else the list's first. */
static double base_of(const bench_list *l, double def)
{
    for (int i = 0; i < l->n; i++)
        if (l->v[i] == def)
            return def;
    return l->v[0];
}

/* ---- the sweep ---- */

static int same(const bench_setting *x, const bench_setting *y)
{
    return x->mode == y->mode && x->level == y->level && x->threads == y->threads && x->frame == y->frame &&
           x->counter == y->counter && x->threshold == y->threshold;
}

static void add_point(bench_sweep *b, bench_setting s)
{
    for (int i = 0; i < b->npts; i++)
        if (same(&b->pts[i].s, &s))
            return;
    if (b->npts < BENCH_MAXPTS)
        b->pts[b->npts++].s = s;
}

static void add_compression(bench_sweep *b, bench_mode mode, int level, uint64_t frame)
{
    for (int t = 0; t < b->threads.n; t++) {
        bench_setting s = {mode, level, (int)b->threads.v[t], frame, b->base_counter, b->base_threshold};
        add_point(b, s);
    }
}

static void build_points(bench_sweep *b)
{
    const bench_mode modes[3] = {BENCH_FILTER, BENCH_STORE, BENCH_E2E};
    for (int m = 0; m < (b->e2e ? 3 : 2); m++)
        for (int l = 0; l < b->levels.n; l++)
            for (int f = 0; f < b->frames.n; f++) {
                int level = (int)b->levels.v[l];
                uint64_t frame = (uint64_t)b->frames.v[f];
                if (!b->cross || frame == b->base_frame || level == b->base_level)
                    add_compression(b, modes[m], level, frame);
            }
    for (int c = 0; c < b->counters.n; c++)
        for (int t = 0; t < b->thresholds.n; t++) {
            int counter = (int)b->counters.v[c];
            if (counter == BENCH_C_EXACT && (uint64_t)b->thresholds.v[t] != b->base_threshold)
                continue;
            bench_setting s = {BENCH_FILTER, b->base_level, b->base_threads, b->base_frame, counter,
                               (uint64_t)b->thresholds.v[t]};
            add_point(b, s);
        }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static bench_stat stats(double *v, int n)
{
    bench_stat s = {0, 0, 0, 0};
    int k = 0;
    for (int i = 0; i < n; i++)
        if (v[i] > 0)
            v[k++] = v[i];
    if (k == 0)
        return s;
    qsort(v, (size_t)k, sizeof *v, cmp_double);
    s.med = k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
    s.min = v[0];
    s.max = v[k - 1];
    s.n = k;
    return s;
}

static void progress(bench_sweep *b, const char *what)
{
    if (!b->progress)
        return;
    enum { WIDTH = 30 };
    int fill = b->total ? b->done * WIDTH / b->total : 0;
    fprintf(stderr, "\r\033[K[%.*s%*s] %d/%d %s", fill, "##############################", WIDTH - fill, "",
            b->done, b->total, what);
    fflush(stderr);
}

static void describe(const bench_setting *s, char *buf, size_t n)
{
    char fr[24];
    snprintf(buf, n, "%s level %d frame %s threads %d %s %llu", bench_mode_name(s->mode), s->level,
             bench_frame_str(s->frame, fr), s->threads, bench_counter_names[s->counter],
             (unsigned long long)s->threshold);
}

static double payload_bytes(const bench_sweep *b)
{
    double t = 0;
    for (int i = 0; i < b->env.npl; i++)
        t += (double)b->pl[i].bytes;
    return t;
}

static void measure_point(bench_sweep *b, bench_point *p)
{
    double mb[64], tok[64], ratio[64], cpu[64], rss[64], rd[64], p50[64], p99[64];
    const double bytes = payload_bytes(b);
    int n = b->runs < 64 ? b->runs : 64;
    char what[160];
    describe(&p->s, what, sizeof what);
    for (int r = 0; r < n; r++) {
        progress(b, what);
        bench_sample s;
        int rc = p->s.mode == BENCH_E2E ? bench_run_e2e(&b->env, &p->s, &s) : bench_run_inproc(&b->env, &p->s, &s);
        b->done++;
        mb[r] = tok[r] = ratio[r] = cpu[r] = rss[r] = rd[r] = p50[r] = p99[r] = 0;
        if (rc) {
            snprintf(p->err, sizeof p->err, "%s", s.err);
            continue;
        }
        p->nok++;
        mb[r] = bytes / 1e6 / s.wall_s;
        tok[r] = s.tokens > 0 ? s.tokens / s.wall_s : 0;
        ratio[r] = s.stored > 0 ? s.raw / s.stored : 0;
        cpu[r] = s.cpu_s;
        rss[r] = s.rss_kib / 1024;
        rd[r] = s.read_ms;
        p50[r] = s.p50_us;
        p99[r] = s.p99_us;
        p->tokens = s.tokens;
        snprintf(p->counter, sizeof p->counter, "%s", s.counter);
    }
    p->mb_s = stats(mb, n), p->tok_s = stats(tok, n), p->ratio = stats(ratio, n);
    p->cpu_s = stats(cpu, n), p->rss_mib = stats(rss, n), p->read_ms = stats(rd, n);
    p->p50 = stats(p50, n), p->p99 = stats(p99, n);
}

static void measure_baselines(bench_sweep *b)
{
    const double bytes = payload_bytes(b);
    double v[64];
    int n = b->runs < 64 ? b->runs : 64;
    for (int r = 0; r < n; r++) {
        progress(b, "pipe floor");
        bench_sample s;
        v[r] = bench_run_pipe(&b->env, &s) ? 0 : bytes / 1e6 / s.wall_s;
        b->done++;
    }
    b->pipe_mb_s = stats(v, n);
    /* zstd at every level and thread count the compression points use */
    for (int i = 0; i < b->npts && !b->zstd_missing; i++) {
        const bench_setting *s = &b->pts[i].s;
        int have = 0;
        for (int k = 0; k < b->nzstd; k++)
            have |= b->zstd[k].level == s->level && b->zstd[k].threads == s->threads;
        if (have || s->mode != BENCH_FILTER || b->nzstd >= BENCH_MAXL * BENCH_MAXL)
            continue;
        double ratio = 0;
        char what[64];
        snprintf(what, sizeof what, "zstd -%d -T%d", s->level, s->threads);
        for (int r = 0; r < n; r++) {
            progress(b, what);
            bench_sample z;
            int rc = bench_run_zstd(&b->env, s->level, s->threads, &z);
            if (rc == 1) {
                b->zstd_missing = 1;
                snprintf(b->zstd_why, sizeof b->zstd_why, "%s", z.err);
                break;
            }
            v[r] = rc ? 0 : bytes / 1e6 / z.wall_s;
            ratio = rc || z.stored <= 0 ? ratio : z.raw / z.stored;
        }
        b->done += n;
        if (b->zstd_missing)
            break;
        b->zstd[b->nzstd].level = s->level;
        b->zstd[b->nzstd].threads = s->threads;
        b->zstd[b->nzstd].mb_s = stats(v, n);
        b->zstd[b->nzstd++].ratio = ratio;
    }
    progress(b, "ping latency");
    b->lat_ok = bench_run_latency(&b->env, 0, &b->lat_direct) == 0 &&
                bench_run_latency(&b->env, 1, &b->lat_spill) == 0;
    b->done++;
    if (b->e2e) {
        for (int r = 0; r < n; r++) {
            progress(b, "direct server->client");
            bench_sample s;
            v[r] = bench_run_e2e(&b->env, NULL, &s) ? 0 : bytes / 1e6 / s.wall_s;
            b->done++;
        }
        b->direct_mb_s = stats(v, n);
    }
}

/* ---- setup ---- */

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb, (void)flag, (void)f;
    remove(p);
    return 0;
}

/* Loads the vocabulary in a child, so the parent (and every child forked from it)
 * does not carry the tokenizer in its RSS. */
static int vocab_loads(const char *vocab)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        const char *why;
        _exit(cli_tokenizer(vocab, &why) ? 0 : 1);
    }
    int st = 0;
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int prepare(bench_sweep *b, const char **files, int nfiles, const char *gen, uint64_t size, uint64_t seed)
{
    char kinds[256];
    snprintf(kinds, sizeof kinds, "%s", gen ? gen : "");
    char *save = NULL, *kind = gen ? strtok_r(kinds, ",", &save) : NULL;
    int n = 0;
    for (int i = 0; i < nfiles && n < BENCH_MAXPL; i++, n++) {
        bench_payload *p = &b->pl[n];
        snprintf(p->path, sizeof p->path, "%s", files[i]);
        const char *base = strrchr(files[i], '/');
        snprintf(p->name, sizeof p->name, "%s", base ? base + 1 : files[i]);
    }
    for (; kind && n < BENCH_MAXPL; kind = strtok_r(NULL, ",", &save), n++) {
        bench_payload *p = &b->pl[n];
        snprintf(p->path, sizeof p->path, "%s/gen-%d.%s", b->env.workdir, n, kind);
        snprintf(p->name, sizeof p->name, "gen:%s", kind);
        int fd = open(p->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
            return cli_error("bench: cannot create %s: %s", p->path, strerror(errno));
        if (b->progress)
            fprintf(stderr, "\r\033[Kgenerating %s (%llu bytes)", p->name, (unsigned long long)size);
        int rc = bench_gen_write(kind, size, seed + (uint64_t)n, fd);
        if (close(fd) || rc)
            return cli_error("bench: writing %s: %s", p->path, spill_strerror(rc ? rc : -errno));
    }
    b->env.npl = n;
    for (int i = 0; i < n; i++) {
        char msg[4200];
        snprintf(msg, sizeof msg, "%s/msg-%d.json", b->env.workdir, i);
        if (b->progress)
            fprintf(stderr, "\r\033[Kpreparing the tools/call result of %s", b->pl[i].name);
        int rc = bench_payload_prepare(&b->pl[i], msg);
        if (rc)
            return cli_error("bench: %s: %s", b->pl[i].path, spill_strerror(rc));
        if (b->pl[i].bytes == 0)
            return cli_usage("bench: %s is empty", b->pl[i].path);
    }
    return 0;
}

int cmd_bench(cli *c)
{
    static bench_sweep b; /* large (the points); one per process */
    memset(&b, 0, sizeof b);
    const char *files[BENCH_MAXPL], *gen = NULL, *dir = NULL;
    int nfiles = 0, levels_given = 0, frames_given = 0;
    uint64_t size = 64000000, seed = 1, v;
    b.env.vocab = "claude";
    b.env.latency_n = 1000;
    b.runs = 3;
    parse_list("1,3,6", &b.levels, parse_level);
    parse_list("256K,1M,4M", &b.frames, parse_frame);
    parse_list("early-exit,estimate,exact", &b.counters, parse_counter);
    parse_list("25000,100000", &b.thresholds, parse_threshold);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    b.threads.v[0] = ncpu < 1 ? 1 : ncpu > 16 ? 16 : (double)ncpu;
    b.threads.n = 1;
    for (int i = 0; i < c->argc; i++) {
        const char *a = c->argv[i], *val = i + 1 < c->argc ? c->argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return fputs(bench_help, stdout) < 0;
        else if (!strcmp(a, "--json"))
            b.json = 1;
        else if (!strcmp(a, "--e2e"))
            b.e2e = 1;
        else if (!strcmp(a, "--payload")) {
            while (i + 1 < c->argc && strncmp(c->argv[i + 1], "--", 2) && nfiles < BENCH_MAXPL)
                files[nfiles++] = c->argv[++i];
            if (!nfiles)
                return cli_usage("bench: --payload needs a file");
        } else if (!val)
            return cli_usage("bench: %s needs a value", a);
        else if (!strcmp(a, "--gen")) {
            char tmp[256];
            snprintf(tmp, sizeof tmp, "%s", val);
            for (char *s2, *k = strtok_r(tmp, ",", &s2); k; k = strtok_r(NULL, ",", &s2))
                if (!bench_gen_kind_ok(k))
                    return cli_usage("bench: --gen wants json, logs, code, prose, cjk, base64 or mix");
            gen = val, i++;
        } else if (!strcmp(a, "--size") && !cli_parse_size(val, &size) && size > 0)
            i++;
        else if (!strcmp(a, "--seed") && !cli_parse_u64(val, &seed))
            i++;
        else if (!strcmp(a, "--level") && !parse_list(val, &b.levels, parse_level))
            levels_given = 1, i++;
        else if (!strcmp(a, "--frame") && !parse_list(val, &b.frames, parse_frame))
            frames_given = 1, i++;
        else if (!strcmp(a, "--threads") && !parse_list(val, &b.threads, parse_threads))
            i++;
        else if (!strcmp(a, "--counter") && !parse_list(val, &b.counters, parse_counter))
            i++;
        else if (!strcmp(a, "--threshold") && !parse_list(val, &b.thresholds, parse_threshold))
            i++;
        else if (!strcmp(a, "--runs") && !cli_parse_u64(val, &v) && v >= 1 && v <= 64)
            b.runs = (int)v, b.runs_given = 1, i++;
        else if (!strcmp(a, "--latency-n") && !cli_parse_u64(val, &v) && v >= 1 && v <= 10000000)
            b.env.latency_n = (int)v, i++;
        else if (!strcmp(a, "--vocab") && cli_vocab_ok(val))
            b.env.vocab = val, i++;
        else if (!strcmp(a, "--plot"))
            b.plot = val, i++;
        else if (!strcmp(a, "--dir"))
            dir = val, i++;
        else
            return cli_usage("bench: bad argument %s %s", a, val);
    }
    if (!nfiles && !gen)
        return cli_usage("bench: give --payload FILE... or --gen KIND (spill bench --help)");
    if (!frames_given && levels_given)
        parse_list("1M", &b.frames, parse_frame);
    if (!levels_given && frames_given)
        parse_list("3", &b.levels, parse_level);
    b.cross = !levels_given && !frames_given;
    b.base_level = (int)base_of(&b.levels, 3);
    b.base_frame = (uint64_t)base_of(&b.frames, 1 << 20);
    b.base_counter = (int)base_of(&b.counters, BENCH_C_EARLY);
    b.base_threshold = (uint64_t)base_of(&b.thresholds, 100000);
    b.base_threads = 1;
    for (int i = 0; i < b.threads.n; i++)
        b.base_threads = b.threads.v[i] > b.base_threads ? (int)b.threads.v[i] : b.base_threads;
    b.progress = isatty(2);

    static char self[4096], work[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0)
        return cli_error("bench: cannot find this executable (/proc/self/exe)");
    self[sl] = 0;
    b.env.self = self;
    if (!dir)
        dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(work, sizeof work, "%s/spill-bench.XXXXXX", dir);
    if (!mkdtemp(work))
        return cli_error("bench: cannot make a work directory in %s: %s", dir, strerror(errno));
    b.env.workdir = work;
    b.env.pl = b.pl;

    int rc = prepare(&b, files, nfiles, gen, size, seed);
    if (rc == 0) {
        if (!b.runs_given && payload_bytes(&b) > 512.0 * (1 << 20))
            b.runs = 1;
        if (!vocab_loads(b.env.vocab))
            fprintf(stderr, "spill: bench: warning: the %s vocabulary does not load (make vocab, or set "
                            "SPILL_VOCAB_DIR): the exact and early-exit counters fall back to the estimator\n",
                    b.env.vocab);
        build_points(&b);
        int zlevels = 0; /* an upper bound for the progress bar */
        for (int i = 0; i < b.npts; i++)
            zlevels += b.pts[i].s.mode == BENCH_FILTER;
        b.total = b.runs * (b.npts + 1 + zlevels + (b.e2e ? 1 : 0)) + 1;
        measure_baselines(&b);
        b.total = b.done + b.runs * b.npts;
        for (int i = 0; i < b.npts; i++)
            measure_point(&b, &b.pts[i]);
        if (b.progress)
            fputs("\r\033[K", stderr);
        bench_advice a;
        bench_recommend(&b, &a);
        if (b.json)
            bench_print_json(&b, &a);
        else
            bench_print_table(&b, &a);
        if (b.plot)
            rc = bench_write_plot(&b, b.plot);
        if (!a.pick && rc == 0)
            rc = cli_error("bench: no point was measured successfully");
    }
    nftw(work, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
