/* bench_report.c - what `spill bench` says about its sweep: the recommendation, the
 * table, the JSON document and the SVG plot (drawn by benchplot.c). cli_bench.c runs
 * the sweep and calls these once it is measured. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"

const char *bench_frame_str(uint64_t f, char buf[24])
{
    if (f % (1u << 20) == 0) snprintf(buf, 24, "%lluM", (unsigned long long)(f >> 20));
    else if (f % 1024 == 0) snprintf(buf, 24, "%lluK", (unsigned long long)(f >> 10));
    else snprintf(buf, 24, "%llu", (unsigned long long)f);
    return buf;
}

const char *bench_mode_name(bench_mode m)
{
    return m == BENCH_FILTER ? "filter" : m == BENCH_STORE ? "store" : "e2e";
}

/* The zstd CLI baseline at s's level and threads (its ratio in *ratio), or NULL. */
static const bench_stat *zstd_for(const bench_sweep *b, const bench_setting *s, double *ratio)
{
    for (int k = 0; k < b->nzstd; k++)
        if (b->zstd[k].level == s->level && b->zstd[k].threads == s->threads) {
            *ratio = b->zstd[k].ratio;
            return &b->zstd[k].mb_s;
        }
    return NULL;
}

/* ---- recommendation ---- */

static int is_compression_point(const bench_sweep *b, const bench_point *p)
{
    return p->s.mode == BENCH_FILTER && p->s.counter == b->base_counter && p->s.threshold == b->base_threshold &&
           p->nok > 0;
}

static const bench_point *find(const bench_sweep *b, bench_mode m, int counter, uint64_t threshold)
{
    for (int i = 0; i < b->npts; i++) {
        const bench_point *p = &b->pts[i];
        if (p->s.mode == m && p->s.counter == counter && p->s.threshold == threshold && p->nok &&
            p->s.level == b->base_level && p->s.frame == b->base_frame && p->s.threads == b->base_threads)
            return p;
    }
    return NULL;
}

void bench_recommend(const bench_sweep *b, bench_advice *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < b->npts; i++) {
        const bench_point *p = &b->pts[i];
        if (is_compression_point(b, p) && (!a->best || p->ratio.med > a->best->ratio.med))
            a->best = p;
    }
    for (int i = 0; i < b->npts && a->best; i++) {
        const bench_point *p = &b->pts[i];
        if (is_compression_point(b, p) && p->ratio.med >= 0.95 * a->best->ratio.med &&
            (!a->pick || p->mb_s.med > a->pick->mb_s.med))
            a->pick = p;
    }
    char f1[24], f2[24];
    if (!a->pick)
        snprintf(a->reason, sizeof a->reason, "no filter point was measured successfully");
    else {
        /* the fastest point overall, to say what the 5% rule gave up */
        const bench_point *fast = a->pick;
        for (int i = 0; i < b->npts; i++)
            if (is_compression_point(b, &b->pts[i]) && b->pts[i].mb_s.med > fast->mb_s.med)
                fast = &b->pts[i];
        int k = snprintf(a->reason, sizeof a->reason,
                         "the fastest filter setting (%.0f MB/s) whose compression ratio %.2f is within 5%% "
                         "of the best measured, %.2f (level %d, frame %s)",
                         a->pick->mb_s.med, a->pick->ratio.med, a->best->ratio.med, a->best->s.level,
                         bench_frame_str(a->best->s.frame, f1));
        if (fast != a->pick)
            snprintf(a->reason + k, sizeof a->reason - (size_t)k,
                     "; level %d, frame %s is faster (%.0f MB/s) but its ratio %.2f is %.0f%% below the best",
                     fast->s.level, bench_frame_str(fast->s.frame, f2), fast->mb_s.med, fast->ratio.med,
                     100 * (1 - fast->ratio.med / a->best->ratio.med));
    }
    const bench_point *ee = find(b, BENCH_FILTER, BENCH_C_EARLY, b->base_threshold);
    const bench_point *es = find(b, BENCH_FILTER, BENCH_C_ESTIMATE, b->base_threshold);
    const bench_point *ex = NULL;
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
        const bench_point *p = find(b, BENCH_FILTER, b->base_counter, (uint64_t)b->thresholds.v[t]);
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

static void print_stat_json(const char *key, const bench_stat *s, int last)
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

static void print_list_json(const char *key, const bench_list *l, int counters)
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

/* The ping round trips, directly and through spill run, and what spill run adds. */
static void print_latency(const bench_sweep *b, int json)
{
    const bench_sample *d = &b->lat_direct, *s = &b->lat_spill;
    printf(json ? "{\"n\":%d,\"direct\":{\"p50_us\":%.6g,\"p99_us\":%.6g},\"spill_run\":{\"p50_us\":%.6g,"
                  "\"p99_us\":%.6g},\"added_p50_us\":%.6g,\"added_p99_us\":%.6g}"
                : "  ping round trip, %d: direct p50 %.1f us p99 %.1f us; through spill run p50 %.1f us "
                  "p99 %.1f us (added p50 %.1f us, p99 %.1f us)\n",
           b->env.latency_n, d->p50_us, d->p99_us, s->p50_us, s->p99_us, s->p50_us - d->p50_us,
           s->p99_us - d->p99_us);
}

void bench_print_json(const bench_sweep *b, const bench_advice *a)
{
    int cores;
    char cpu[256], kernel[256];
    machine(&cores, cpu, sizeof cpu, kernel, sizeof kernel);
    printf("{\"machine\":{\"cores\":%d,\"cpu_model\":", cores);
    cli_json_string(stdout, cpu);
    cli_json_member(stdout, "kernel", kernel);
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
        print_latency(b, 1);
    else
        printf("null");
    printf("},\n\"points\":[");
    for (int i = 0; i < b->npts; i++) {
        const bench_point *p = &b->pts[i];
        double zr = 0;
        const bench_stat *z = zstd_for(b, &p->s, &zr);
        printf("%s\n{\"mode\":\"%s\",\"level\":%d,\"frame\":%llu,\"threads\":%d,", i ? "," : "",
               bench_mode_name(p->s.mode), p->s.level, (unsigned long long)p->s.frame, p->s.threads);
        if (p->s.mode == BENCH_STORE) /* the store alone counts no tokens */
            printf("\"counter\":null,\"threshold\":null,");
        else
            printf("\"counter\":\"%s\",\"threshold\":%llu,", bench_counter_names[p->s.counter],
                   (unsigned long long)p->s.threshold);
        printf("\"runs\":%d,\"runs_ok\":%d", b->runs, p->nok);
        cli_json_member(stdout, "error", p->err[0] ? p->err : NULL);
        cli_json_member(stdout, "counter_used", p->counter[0] ? p->counter : NULL);
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
    cli_json_member(stdout, "counter", a->counter);
    cli_json_member(stdout, "threshold", a->threshold);
    printf("}}\n");
}

static void cell(char *buf, size_t n, const bench_stat *s, const char *fmt)
{
    if (!s->n)
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, fmt, s->med);
}

void bench_print_table(const bench_sweep *b, const bench_advice *a)
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
        print_latency(b, 0);
    else
        printf("  ping round trips: FAILED (see %s/e2e-stderr.log)\n", b->env.workdir);
    printf("\n%-6s %5s %5s %3s %-10s %7s %8s %-15s %6s %6s %9s %6s %6s %7s %7s %7s %8s %8s\n", "mode", "level",
           "frame", "thr", "counter", "thresh", "MB/s", "[min-max]", "xpipe", "xzstd", "tokens/s", "ratio",
           "xzstd", "CPU s", "RSS MiB", "read ms", "p50 us", "p99 us");
    for (int i = 0; i < b->npts; i++) {
        const bench_point *p = &b->pts[i];
        char fr[24], c[12][32], range[40], thr[24];
        snprintf(thr, sizeof thr, "%llu", (unsigned long long)p->s.threshold);
        double zr = 0;
        const bench_stat *z = zstd_for(b, &p->s, &zr);
        if (!p->nok) {
            printf("%-6s %5d %5s %3d %-10s %7llu  n/a: %s\n", bench_mode_name(p->s.mode), p->s.level,
                   bench_frame_str(p->s.frame, fr), p->s.threads, bench_counter_names[p->s.counter],
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
               bench_mode_name(p->s.mode), p->s.level, bench_frame_str(p->s.frame, fr), p->s.threads,
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
               bench_frame_str(a->pick->s.frame, f1), a->pick->s.threads, a->reason);
    else
        printf("\nrecommendation: none: %s.\n", a->reason);
    printf("counter: %s.\nthreshold: %s.\n", a->counter, a->threshold);
    /* spill run reads 1M as 10^6 bytes: name the frame in bytes */
    printf("use them: spill run --level %d --frame-size %llu --threads %d -- SERVER...\n",
           a->pick ? a->pick->s.level : 3, a->pick ? (unsigned long long)a->pick->s.frame : 1ull << 20,
           a->pick ? a->pick->s.threads : b->base_threads);
}

int bench_write_plot(const bench_sweep *b, const char *path)
{
    bench_plot_pt pts[BENCH_MAXPTS], z[BENCH_MAXL * BENCH_MAXL];
    int n = 0, nz = 0;
    for (int i = 0; i < b->npts; i++) {
        const bench_point *p = &b->pts[i];
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
