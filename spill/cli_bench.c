/* cli_bench.c - `spill bench`: how fast spill is on this machine and these payloads,
 * and which settings to pick. Builds the sweep, runs it (benchrun.c, bench_e2e.c),
 * summarises each point as median and range, and prints a table, JSON or an SVG. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
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

enum { MAXL = 16, MAXPTS = 256, MAXPL = 32 };

typedef struct stat3 { double med, min, max; int n; } stat3;

typedef struct point {
    bench_setting s;
    int nok;
    char err[256], counter[64];
    double tokens;
    stat3 mb_s, tok_s, ratio, cpu_s, rss_mib, read_ms, p50, p99;
} point;

typedef struct list { double v[MAXL]; int n; } list;

typedef struct bench {
    bench_env env;
    bench_payload pl[MAXPL];
    list levels, frames, threads, counters, thresholds;
    int runs, runs_given, e2e, json, cross, progress;
    int base_level, base_threads, base_counter;
    uint64_t base_frame, base_threshold;
    const char *plot;
    point pts[MAXPTS];
    int npts;
    /* baselines */
    stat3 pipe_mb_s;
    int zstd_missing;
    char zstd_why[256];
    struct { int level, threads; stat3 mb_s; double ratio; } zstd[MAXL * MAXL];
    int nzstd;
    stat3 direct_mb_s;
    bench_sample lat_direct, lat_spill;
    int lat_ok;
    int done, total; /* progress */
} bench;

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

static int parse_list(const char *s, list *l, int (*one)(const char *, double *))
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", s);
    l->n = 0;
    for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (l->n >= MAXL || one(t, &l->v[l->n]))
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
static double base_of(const list *l, double def)
{
    for (int i = 0; i < l->n; i++)
        if (l->v[i] == def)
            return def;
    return l->v[0];
}

static const char *frame_str(uint64_t f, char buf[24])
{
    if (f % (1u << 20) == 0) snprintf(buf, 24, "%lluM", (unsigned long long)(f >> 20));
    else if (f % 1024 == 0) snprintf(buf, 24, "%lluK", (unsigned long long)(f >> 10));
    else snprintf(buf, 24, "%llu", (unsigned long long)f);
    return buf;
}

/* ---- the sweep ---- */

static int same(const bench_setting *x, const bench_setting *y)
{
    return x->mode == y->mode && x->level == y->level && x->threads == y->threads && x->frame == y->frame &&
           x->counter == y->counter && x->threshold == y->threshold;
}

static void add_point(bench *b, bench_setting s)
{
    for (int i = 0; i < b->npts; i++)
        if (same(&b->pts[i].s, &s))
            return;
    if (b->npts < MAXPTS)
        b->pts[b->npts++].s = s;
}

static void add_compression(bench *b, bench_mode mode, int level, uint64_t frame)
{
    for (int t = 0; t < b->threads.n; t++) {
        bench_setting s = {mode, level, (int)b->threads.v[t], frame, b->base_counter, b->base_threshold};
        add_point(b, s);
    }
}

static void build_points(bench *b)
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

static stat3 stats(double *v, int n)
{
    stat3 s = {0, 0, 0, 0};
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

static void progress(bench *b, const char *what)
{
    if (!b->progress)
        return;
    enum { WIDTH = 30 };
    int fill = b->total ? b->done * WIDTH / b->total : 0;
    fprintf(stderr, "\r\033[K[%.*s%*s] %d/%d %s", fill, "##############################", WIDTH - fill, "",
            b->done, b->total, what);
    fflush(stderr);
}

static const char *mode_name(bench_mode m)
{
    return m == BENCH_FILTER ? "filter" : m == BENCH_STORE ? "store" : "e2e";
}

static void describe(const bench_setting *s, char *buf, size_t n)
{
    char fr[24];
    snprintf(buf, n, "%s level %d frame %s threads %d %s %llu", mode_name(s->mode), s->level,
             frame_str(s->frame, fr), s->threads, bench_counter_names[s->counter],
             (unsigned long long)s->threshold);
}

static double payload_bytes(const bench *b)
{
    double t = 0;
    for (int i = 0; i < b->env.npl; i++)
        t += (double)b->pl[i].bytes;
    return t;
}

static void measure_point(bench *b, point *p)
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

static void measure_baselines(bench *b)
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
        if (have || s->mode != BENCH_FILTER || b->nzstd >= MAXL * MAXL)
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

static const stat3 *zstd_for(const bench *b, const bench_setting *s, double *ratio)
{
    for (int k = 0; k < b->nzstd; k++)
        if (b->zstd[k].level == s->level && b->zstd[k].threads == s->threads) {
            *ratio = b->zstd[k].ratio;
            return &b->zstd[k].mb_s;
        }
    return NULL;
}

/* ---- recommendation ---- */

typedef struct advice {
    const point *best, *pick;
    char reason[768], counter[768], threshold[512];
} advice;

static int is_compression_point(const bench *b, const point *p)
{
    return p->s.mode == BENCH_FILTER && p->s.counter == b->base_counter && p->s.threshold == b->base_threshold &&
           p->nok > 0;
}

static const point *find(const bench *b, bench_mode m, int counter, uint64_t threshold)
{
    for (int i = 0; i < b->npts; i++) {
        const point *p = &b->pts[i];
        if (p->s.mode == m && p->s.counter == counter && p->s.threshold == threshold && p->nok &&
            p->s.level == b->base_level && p->s.frame == b->base_frame && p->s.threads == b->base_threads)
            return p;
    }
    return NULL;
}

static void recommend(const bench *b, advice *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < b->npts; i++) {
        const point *p = &b->pts[i];
        if (is_compression_point(b, p) && (!a->best || p->ratio.med > a->best->ratio.med))
            a->best = p;
    }
    for (int i = 0; i < b->npts && a->best; i++) {
        const point *p = &b->pts[i];
        if (is_compression_point(b, p) && p->ratio.med >= 0.95 * a->best->ratio.med &&
            (!a->pick || p->mb_s.med > a->pick->mb_s.med))
            a->pick = p;
    }
    char f1[24], f2[24];
    if (!a->pick)
        snprintf(a->reason, sizeof a->reason, "no filter point was measured successfully");
    else {
        /* the fastest point overall, to say what the 5% rule gave up */
        const point *fast = a->pick;
        for (int i = 0; i < b->npts; i++)
            if (is_compression_point(b, &b->pts[i]) && b->pts[i].mb_s.med > fast->mb_s.med)
                fast = &b->pts[i];
        int k = snprintf(a->reason, sizeof a->reason,
                         "the fastest filter setting (%.0f MB/s) whose compression ratio %.2f is within 5%% "
                         "of the best measured, %.2f (level %d, frame %s)",
                         a->pick->mb_s.med, a->pick->ratio.med, a->best->ratio.med, a->best->s.level,
                         frame_str(a->best->s.frame, f1));
        if (fast != a->pick)
            snprintf(a->reason + k, sizeof a->reason - (size_t)k,
                     "; level %d, frame %s is faster (%.0f MB/s) but its ratio %.2f is %.0f%% below the best",
                     fast->s.level, frame_str(fast->s.frame, f2), fast->mb_s.med, fast->ratio.med,
                     100 * (1 - fast->ratio.med / a->best->ratio.med));
    }
    const point *ee = find(b, BENCH_FILTER, BENCH_C_EARLY, b->base_threshold);
    const point *es = find(b, BENCH_FILTER, BENCH_C_ESTIMATE, b->base_threshold);
    const point *ex = NULL;
    for (int i = 0; i < b->npts; i++)
        if (b->pts[i].s.mode == BENCH_FILTER && b->pts[i].s.counter == BENCH_C_EXACT && b->pts[i].nok)
            ex = &b->pts[i];
    if (ee && strncmp(ee->counter, "bpe:", 4) != 0)
        snprintf(a->counter, sizeof a->counter,
                 "the %s vocabulary did not load, so every counter was the estimator (%s): run `make vocab` "
                 "or set SPILL_VOCAB_DIR, then measure again", b->env.vocab, ee->counter);
    else if (ee && es) {
        double rel = ee->mb_s.med / es->mb_s.med;
        int k = snprintf(a->counter, sizeof a->counter, "%s: early-exit runs at %.0f%% of the estimator's speed "
                         "(%.0f vs %.0f MB/s) and decides exactly up to the threshold",
                         rel >= 0.8 ? "early-exit (the default)" : "estimate if speed matters most", 100 * rel,
                         ee->mb_s.med, es->mb_s.med);
        if (ex)
            snprintf(a->counter + k, sizeof a->counter - (size_t)k,
                     "; exact without early exit (%.0f MB/s) only if handles should carry exact counts",
                     ex->mb_s.med);
    } else
        snprintf(a->counter, sizeof a->counter, "measure early-exit and estimate together for advice");
    /* thresholds: the spread of early-exit throughput across them */
    double lo = 0, hi = 0;
    uint64_t tlo = 0, thi = 0;
    for (int t = 0; t < b->thresholds.n; t++) {
        const point *p = find(b, BENCH_FILTER, b->base_counter, (uint64_t)b->thresholds.v[t]);
        if (!p)
            continue;
        if (!lo || p->mb_s.med < lo) lo = p->mb_s.med, tlo = p->s.threshold;
        if (p->mb_s.med > hi) hi = p->mb_s.med, thi = p->s.threshold;
    }
    if (lo > 0 && tlo != thi)
        snprintf(a->threshold, sizeof a->threshold,
                 "throughput differs by %.0f%% across the thresholds (%llu: %.0f MB/s, %llu: %.0f MB/s); %s",
                 100 * (hi / lo - 1), (unsigned long long)thi, hi, (unsigned long long)tlo, lo,
                 hi / lo < 1.1 ? "choose it by the client's limit (Claude Code cuts at 25,000 tokens, Codex at "
                                 "10,000), not by speed"
                               : "a lower threshold decides sooner and counts less exactly; still choose it by "
                                 "the client's limit first (Claude Code 25,000 tokens)");
    else
        snprintf(a->threshold, sizeof a->threshold,
                 "choose it by the client's limit (Claude Code cuts at 25,000 tokens, Codex at 10,000); "
                 "sweep --threshold to see its cost");
}

/* ---- output ---- */

static void machine(int *cores, char *cpu, size_t ncpu, char *kernel, size_t nk)
{
    *cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(cpu, ncpu, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            char *v = strchr(line, ':') + 1;
            v += strspn(v, " \t");
            v[strcspn(v, "\n")] = 0;
            snprintf(cpu, ncpu, "%s", v);
            break;
        }
    if (f)
        fclose(f);
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(kernel, nk, "%s %s %s", u.sysname, u.release, u.machine);
    else
        snprintf(kernel, nk, "unknown");
}

static void print_stat_json(const char *key, const stat3 *s, int last)
{
    if (s->n)
        printf("\"%s\":{\"median\":%.6g,\"min\":%.6g,\"max\":%.6g}%s", key, s->med, s->min, s->max, last ? "" : ",");
    else
        printf("\"%s\":null%s", key, last ? "" : ",");
}

static void print_num_json(const char *key, double v, int last)
{
    if (v > 0)
        printf("\"%s\":%.6g%s", key, v, last ? "" : ",");
    else
        printf("\"%s\":null%s", key, last ? "" : ",");
}

static void print_list_json(const char *key, const list *l, int counters)
{
    printf("\"%s\":[", key);
    for (int i = 0; i < l->n; i++) {
        if (counters)
            printf("%s\"%s\"", i ? "," : "", bench_counter_names[(int)l->v[i]]);
        else
            printf("%s%.0f", i ? "," : "", l->v[i]);
    }
    printf("],");
}

static void print_json(const bench *b, const advice *a)
{
    int cores;
    char cpu[256], kernel[256];
    machine(&cores, cpu, sizeof cpu, kernel, sizeof kernel);
    printf("{\"machine\":{\"cores\":%d,\"cpu_model\":", cores);
    cli_json_string(stdout, cpu);
    printf(",\"kernel\":");
    cli_json_string(stdout, kernel);
    printf(",\"spill_version\":\"%s\"},\n\"parameters\":{\"payloads\":[", SPILL_VERSION_STRING);
    for (int i = 0; i < b->env.npl; i++) {
        printf("%s{\"name\":", i ? "," : "");
        cli_json_string(stdout, b->pl[i].name);
        printf(",\"bytes\":%llu,\"lines\":%llu,\"binary\":%s,\"mime\":\"%s\",\"message_bytes\":%llu}",
               (unsigned long long)b->pl[i].bytes, (unsigned long long)b->pl[i].lines,
               b->pl[i].binary ? "true" : "false", b->pl[i].mime, (unsigned long long)b->pl[i].msg_bytes);
    }
    printf("],");
    print_list_json("levels", &b->levels, 0);
    print_list_json("frames", &b->frames, 0);
    print_list_json("threads", &b->threads, 0);
    print_list_json("counters", &b->counters, 1);
    print_list_json("thresholds", &b->thresholds, 0);
    printf("\"sweep\":\"%s\",\"runs\":%d,\"latency_n\":%d,\"e2e\":%s,\"vocab\":\"%s\"},\n\"baselines\":{",
           b->cross ? "levels at the base frame, frames at the base level" : "every level with every frame",
           b->runs, b->env.latency_n, b->e2e ? "true" : "false", b->env.vocab);
    printf("\"pipe\":{");
    print_stat_json("mb_s", &b->pipe_mb_s, 1);
    printf("},\"zstd\":");
    if (b->zstd_missing) {
        printf("{\"skipped\":");
        cli_json_string(stdout, b->zstd_why);
        printf("}");
    } else {
        printf("[");
        for (int k = 0; k < b->nzstd; k++) {
            printf("%s{\"level\":%d,\"threads\":%d,", k ? "," : "", b->zstd[k].level, b->zstd[k].threads);
            print_stat_json("mb_s", &b->zstd[k].mb_s, 0);
            print_num_json("ratio", b->zstd[k].ratio, 1);
            printf("}");
        }
        printf("]");
    }
    printf(",\"direct\":");
    if (b->e2e) {
        printf("{");
        print_stat_json("mb_s", &b->direct_mb_s, 1);
        printf("}");
    } else
        printf("null");
    printf(",\"latency\":");
    if (b->lat_ok)
        printf("{\"n\":%d,\"direct\":{\"p50_us\":%.6g,\"p99_us\":%.6g},\"spill_run\":{\"p50_us\":%.6g,"
               "\"p99_us\":%.6g},\"added_p50_us\":%.6g,\"added_p99_us\":%.6g}",
               b->env.latency_n, b->lat_direct.p50_us, b->lat_direct.p99_us, b->lat_spill.p50_us,
               b->lat_spill.p99_us, b->lat_spill.p50_us - b->lat_direct.p50_us,
               b->lat_spill.p99_us - b->lat_direct.p99_us);
    else
        printf("null");
    printf("},\n\"points\":[");
    for (int i = 0; i < b->npts; i++) {
        const point *p = &b->pts[i];
        double zr = 0;
        const stat3 *z = zstd_for(b, &p->s, &zr);
        printf("%s\n{\"mode\":\"%s\",\"level\":%d,\"frame\":%llu,\"threads\":%d,", i ? "," : "",
               mode_name(p->s.mode), p->s.level, (unsigned long long)p->s.frame, p->s.threads);
        if (p->s.mode == BENCH_STORE) /* the store alone counts no tokens */
            printf("\"counter\":null,\"threshold\":null,");
        else
            printf("\"counter\":\"%s\",\"threshold\":%llu,", bench_counter_names[p->s.counter],
                   (unsigned long long)p->s.threshold);
        printf("\"runs\":%d,\"runs_ok\":%d,", b->runs, p->nok);
        printf("\"error\":");
        if (p->err[0])
            cli_json_string(stdout, p->err);
        else
            printf("null");
        printf(",\"counter_used\":");
        if (p->counter[0])
            cli_json_string(stdout, p->counter);
        else
            printf("null");
        printf(",");
        print_num_json("tokens", p->tokens, 0);
        print_stat_json("mb_s", &p->mb_s, 0);
        print_stat_json("tokens_per_s", &p->tok_s, 0);
        print_stat_json("ratio", &p->ratio, 0);
        print_stat_json("cpu_s", &p->cpu_s, 0);
        print_stat_json("peak_rss_mib", &p->rss_mib, 0);
        print_stat_json("read_200_lines_ms", &p->read_ms, 0);
        print_stat_json("ping_p50_us", &p->p50, 0);
        print_stat_json("ping_p99_us", &p->p99, 0);
        print_num_json("vs_pipe", p->mb_s.n && b->pipe_mb_s.n ? p->mb_s.med / b->pipe_mb_s.med : 0, 0);
        print_num_json("vs_zstd", p->mb_s.n && z && z->n && p->s.mode != BENCH_E2E ? p->mb_s.med / z->med : 0, 0);
        print_num_json("ratio_vs_zstd", p->ratio.n && zr > 0 ? p->ratio.med / zr : 0, 0);
        print_num_json("vs_direct", p->s.mode == BENCH_E2E && p->mb_s.n && b->direct_mb_s.n
                                        ? p->mb_s.med / b->direct_mb_s.med : 0, 1);
        printf("}");
    }
    printf("],\n\"recommendation\":{");
    if (a->pick) {
        printf("\"level\":%d,\"frame\":%llu,\"threads\":%d,\"mb_s\":%.6g,\"ratio\":%.6g,\"best_ratio\":%.6g,",
               a->pick->s.level, (unsigned long long)a->pick->s.frame, a->pick->s.threads, a->pick->mb_s.med,
               a->pick->ratio.med, a->best->ratio.med);
    }
    printf("\"reason\":");
    cli_json_string(stdout, a->reason);
    printf(",\"counter\":");
    cli_json_string(stdout, a->counter);
    printf(",\"threshold\":");
    cli_json_string(stdout, a->threshold);
    printf("}}\n");
}

static void cell(char *buf, size_t n, const stat3 *s, const char *fmt)
{
    if (!s->n)
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, fmt, s->med);
}

static void print_table(const bench *b, const advice *a)
{
    int cores;
    char cpu[256], kernel[256], h[32];
    machine(&cores, cpu, sizeof cpu, kernel, sizeof kernel);
    printf("spill bench %s: %d cores, %s, %s\n", SPILL_VERSION_STRING, cores, cpu, kernel);
    for (int i = 0; i < b->env.npl; i++)
        printf("payload %s: %s, %llu lines, %s%s\n", b->pl[i].name, cli_human(b->pl[i].bytes, h),
               (unsigned long long)b->pl[i].lines, b->pl[i].binary ? "binary, sent as base64 " : "text, ",
               b->pl[i].binary ? b->pl[i].mime : "JSON-escaped into content[0].text");
    printf("runs per point: %d%s; figures are medians, [min-max] over the runs\n\n", b->runs,
           b->runs_given ? "" : b->runs == 1 ? " (payloads over 512 MiB; --runs N for more)" : "");
    printf("baselines\n");
    if (b->pipe_mb_s.n)
        printf("  %-40s %8.0f MB/s\n", "pipe floor (payload copied through a pipe)", b->pipe_mb_s.med);
    if (b->zstd_missing)
        printf("  zstd CLI: SKIPPED: %s\n", b->zstd_why);
    for (int k = 0; k < b->nzstd; k++) {
        char z[64];
        snprintf(z, sizeof z, "zstd -%d -T%d (the same bytes)", b->zstd[k].level, b->zstd[k].threads);
        printf("  %-40s %8.0f MB/s  ratio %.2f\n", z, b->zstd[k].mb_s.med, b->zstd[k].ratio);
    }
    if (b->e2e && b->direct_mb_s.n)
        printf("  %-40s %8.0f MB/s\n", "direct server->client (no spill)", b->direct_mb_s.med);
    if (b->lat_ok)
        printf("  ping round trip, %d: direct p50 %.1f us p99 %.1f us; through spill run p50 %.1f us p99 %.1f us "
               "(added p50 %.1f us, p99 %.1f us)\n",
               b->env.latency_n, b->lat_direct.p50_us, b->lat_direct.p99_us, b->lat_spill.p50_us,
               b->lat_spill.p99_us, b->lat_spill.p50_us - b->lat_direct.p50_us,
               b->lat_spill.p99_us - b->lat_direct.p99_us);
    else
        printf("  ping round trips: FAILED (see %s/e2e-stderr.log)\n", b->env.workdir);
    printf("\n%-6s %5s %5s %3s %-10s %7s %8s %-15s %6s %6s %9s %6s %6s %7s %7s %7s %8s %8s\n", "mode", "level",
           "frame", "thr", "counter", "thresh", "MB/s", "[min-max]", "xpipe", "xzstd", "tokens/s", "ratio",
           "xzstd", "CPU s", "RSS MiB", "read ms", "p50 us", "p99 us");
    for (int i = 0; i < b->npts; i++) {
        const point *p = &b->pts[i];
        char fr[24], c[12][32], range[40], thr[24];
        snprintf(thr, sizeof thr, "%llu", (unsigned long long)p->s.threshold);
        double zr = 0;
        const stat3 *z = zstd_for(b, &p->s, &zr);
        if (!p->nok) {
            printf("%-6s %5d %5s %3d %-10s %7llu  n/a: %s\n", mode_name(p->s.mode), p->s.level,
                   frame_str(p->s.frame, fr), p->s.threads, bench_counter_names[p->s.counter],
                   (unsigned long long)p->s.threshold, p->err);
            continue;
        }
        cell(c[0], 32, &p->mb_s, "%.0f");
        if (p->mb_s.n > 1)
            snprintf(range, sizeof range, "[%.0f-%.0f]", p->mb_s.min, p->mb_s.max);
        else
            range[0] = 0;
        snprintf(c[1], 32, "%.2f", b->pipe_mb_s.n ? p->mb_s.med / b->pipe_mb_s.med : 0);
        if (p->s.mode == BENCH_E2E)
            snprintf(c[2], 32, b->direct_mb_s.n ? "%.2fd" : "-", b->direct_mb_s.med ? p->mb_s.med / b->direct_mb_s.med : 0);
        else
            snprintf(c[2], 32, z && z->n ? "%.2f" : "-", z && z->n ? p->mb_s.med / z->med : 0);
        if (p->tok_s.n)
            snprintf(c[3], 32, "%.3gM", p->tok_s.med / 1e6);
        else
            snprintf(c[3], 32, "-");
        cell(c[4], 32, &p->ratio, "%.2f");
        snprintf(c[5], 32, zr > 0 && p->ratio.n ? "%.2f" : "-", zr > 0 ? p->ratio.med / zr : 0);
        cell(c[6], 32, &p->cpu_s, "%.2f");
        cell(c[7], 32, &p->rss_mib, "%.1f");
        cell(c[8], 32, &p->read_ms, "%.2f");
        cell(c[9], 32, &p->p50, "%.1f");
        cell(c[10], 32, &p->p99, "%.1f");
        printf("%-6s %5d %5s %3d %-10s %7s %8s %-15s %6s %6s %9s %6s %6s %7s %7s %7s %8s %8s\n",
               mode_name(p->s.mode), p->s.level, frame_str(p->s.frame, fr), p->s.threads,
               p->s.mode == BENCH_STORE ? "-" : bench_counter_names[p->s.counter],
               p->s.mode == BENCH_STORE ? "-" : thr, c[0], range, c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8],
               c[9], c[10]);
    }
    printf("\nxpipe: speed as a fraction of the pipe floor; xzstd: of the zstd CLI at the same level and\n"
           "threads (e2e: \"d\", of direct server->client); ratio xzstd: spill's ratio / zstd's.\n");
    if (b->counters.n && strncmp(b->pts[0].counter, "bpe:", 4) && b->pts[0].s.mode == BENCH_FILTER)
        printf("counter used: %s\n", b->pts[0].counter);
    char f1[24];
    if (a->pick)
        printf("\nrecommendation: level %d, frame %s, threads %d: %s.\n", a->pick->s.level,
               frame_str(a->pick->s.frame, f1), a->pick->s.threads, a->reason);
    else
        printf("\nrecommendation: none: %s.\n", a->reason);
    printf("counter: %s.\nthreshold: %s.\n", a->counter, a->threshold);
    /* spill run reads 1M as 10^6 bytes: name the frame in bytes */
    printf("use them: spill run --level %d --frame-size %llu --threads %d -- SERVER...\n",
           a->pick ? a->pick->s.level : 3, a->pick ? (unsigned long long)a->pick->s.frame : 1ull << 20,
           a->pick ? a->pick->s.threads : b->base_threads);
}

static int write_plot(const bench *b, const char *path)
{
    bench_plot_pt pts[MAXPTS], z[MAXL * MAXL];
    int n = 0, nz = 0;
    for (int i = 0; i < b->npts; i++) {
        const point *p = &b->pts[i];
        if (is_compression_point(b, p) && p->s.threads == b->base_threads)
            pts[n++] = (bench_plot_pt){p->s.level, p->s.frame, p->mb_s.med, p->ratio.med};
    }
    for (int k = 0; k < b->nzstd; k++)
        if (b->zstd[k].threads == b->base_threads)
            z[nz++] = (bench_plot_pt){b->zstd[k].level, 0, b->zstd[k].mb_s.med, b->zstd[k].ratio};
    FILE *f = fopen(path, "w");
    if (!f)
        return cli_error("bench: cannot write %s: %s", path, strerror(errno));
    char title[512];
    int k = snprintf(title, sizeof title, "spill bench, filter mode, %d threads:", b->base_threads);
    for (int i = 0; i < b->env.npl && k < (int)sizeof title - 64; i++)
        k += snprintf(title + k, sizeof title - (size_t)k, "%s %s", i ? "," : "", b->pl[i].name);
    int rc = bench_plot_svg(f, title, pts, n, z, nz);
    if (fclose(f) || rc)
        return cli_error("bench: writing %s failed (no filter point measured?)", path);
    return 0;
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

static int prepare(bench *b, const char **files, int nfiles, const char *gen, uint64_t size, uint64_t seed)
{
    char kinds[256];
    snprintf(kinds, sizeof kinds, "%s", gen ? gen : "");
    char *save = NULL, *kind = gen ? strtok_r(kinds, ",", &save) : NULL;
    int n = 0;
    for (int i = 0; i < nfiles && n < MAXPL; i++, n++) {
        bench_payload *p = &b->pl[n];
        snprintf(p->path, sizeof p->path, "%s", files[i]);
        const char *base = strrchr(files[i], '/');
        snprintf(p->name, sizeof p->name, "%s", base ? base + 1 : files[i]);
    }
    for (; kind && n < MAXPL; kind = strtok_r(NULL, ",", &save), n++) {
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
    static bench b; /* large (the points); one per process */
    memset(&b, 0, sizeof b);
    const char *files[MAXPL], *gen = NULL, *dir = NULL;
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
            while (i + 1 < c->argc && strncmp(c->argv[i + 1], "--", 2) && nfiles < MAXPL)
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
        advice a;
        recommend(&b, &a);
        if (b.json)
            print_json(&b, &a);
        else
            print_table(&b, &a);
        if (b.plot)
            rc = write_plot(&b, b.plot);
        if (!a.pick && rc == 0)
            rc = cli_error("bench: no point was measured successfully");
    }
    nftw(work, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
