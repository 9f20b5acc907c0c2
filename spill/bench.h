/* bench.h - the parts of `spill bench` (the executable, not the library): payloads and
 * their generators, the measurements, the sweep and its report, the SVG plot.
 * cli_bench.c drives them. */
#ifndef SPILL_BENCH_H
#define SPILL_BENCH_H

#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "mcp_stub.h"

/* ---- payloads (benchgen.c) ---- */

/* One input. Every payload is a file by the time it is measured (generated ones are
 * written to the work directory first), so the generator's own cost is never timed and
 * the zstd CLI and the pipe floor see the very same bytes. */
typedef struct bench_payload {
    char path[4096];   /* the raw bytes */
    char msg[4096];    /* the tools/call result around them, from just after the id:
                          `,"result":{"content":[...]}}` and a newline */
    char name[256];    /* as shown: the file name, or "gen:json" */
    uint64_t bytes, lines, msg_bytes;
    int binary;        /* not UTF-8 text: travels as base64 image data */
    char mime[64];
} bench_payload;

/* "json", "logs", "code", "prose", "cjk", "base64" or "mix". */
int bench_gen_kind_ok(const char *kind);
/* Writes exactly size bytes of the kind to fd; the same (kind, size, seed) give the
 * same bytes. base64 makes a binary image (it travels as base64 image data). */
int bench_gen_write(const char *kind, uint64_t size, uint64_t seed, int fd);
/* Reads p->path once: bytes, lines, text or binary, media type; then writes the
 * tools/call result around it to msg_path (streamed, bounded memory). -errno or 0. */
int bench_payload_prepare(bench_payload *p, const char *msg_path);
/* The start of a result line up to and including `"id":`. */
#define BENCH_MSG_PREFIX MCP_STUB_REPLY_PREFIX

/* ---- measurements (benchrun.c, bench_e2e.c) ---- */

/* One sample of a point: what a run measured. Negative or zero means not measured. */
typedef struct bench_sample {
    double wall_s, cpu_s, rss_kib;
    double tokens;         /* counted by spill (filter mode) */
    double raw, stored;    /* payload bytes stored and the object files' bytes */
    double read_ms;        /* a 200-line range from the middle of the largest object */
    double p50_us, p99_us; /* ping round trips (e2e) */
    char counter[64];      /* the counter that produced the tokens */
    char err[256];         /* not empty: the run failed, and why */
} bench_sample;

typedef enum bench_mode { BENCH_FILTER, BENCH_STORE, BENCH_E2E } bench_mode;

typedef struct bench_setting {
    bench_mode mode;
    int level, threads;
    uint64_t frame;
    int counter;           /* BENCH_C_* */
    uint64_t threshold;
} bench_setting;
enum { BENCH_C_EARLY, BENCH_C_ESTIMATE, BENCH_C_EXACT };
extern const char *const bench_counter_names[3]; /* "early-exit", "estimate", "exact" */

typedef struct bench_env {
    const bench_payload *pl;
    int npl;
    const char *workdir;   /* stores are made and removed under it */
    const char *vocab;
    const char *self;      /* this executable, for the e2e children */
    int latency_n;
} bench_env;

/* In-process (filter or store): one run in a forked child, so CPU time and peak RSS
 * are the point's own. */
int bench_run_inproc(const bench_env *e, const bench_setting *s, bench_sample *out);
/* The payloads copied through a pipe between two processes: the floor. */
int bench_run_pipe(const bench_env *e, bench_sample *out);
/* The zstd CLI over the same bytes; 1 when zstd is missing (why in out->err). */
int bench_run_zstd(const bench_env *e, int level, int threads, bench_sample *out);

/* End to end: a client here, `spill run -- spill bench-server` (or the server alone
 * when s is NULL: the direct baseline); latency_n pings, then each payload's tools/call
 * timed from request to the whole response. */
int bench_run_e2e(const bench_env *e, const bench_setting *s, bench_sample *out);
/* Only the pings (no payload call), with spill run's defaults or directly. */
int bench_run_latency(const bench_env *e, int through_spill, bench_sample *out);

/* ---- the sweep (cli_bench.c) and its report (bench_report.c) ---- */

enum { BENCH_MAXL = 16, BENCH_MAXPTS = 256, BENCH_MAXPL = 32 };

/* A figure over the runs of a point: median and range of the runs that measured it
 * (n of them; 0: none did). */
typedef struct bench_stat { double med, min, max; int n; } bench_stat;

typedef struct bench_point {
    bench_setting s;
    int nok;               /* runs that succeeded */
    char err[256], counter[64];
    double tokens;
    bench_stat mb_s, tok_s, ratio, cpu_s, rss_mib, read_ms, p50, p99;
} bench_point;

/* A swept option's values (--level 1,3,6); counters as BENCH_C_*. */
typedef struct bench_list { double v[BENCH_MAXL]; int n; } bench_list;

/* One `spill bench`: what was asked, every point and the baselines, as measured. */
typedef struct bench_sweep {
    bench_env env;
    bench_payload pl[BENCH_MAXPL];
    bench_list levels, frames, threads, counters, thresholds;
    int runs, runs_given, e2e, json, cross, progress;
    int base_level, base_threads, base_counter;
    uint64_t base_frame, base_threshold;
    const char *plot;
    bench_point pts[BENCH_MAXPTS];
    int npts;
    /* baselines */
    bench_stat pipe_mb_s;
    int zstd_missing;
    char zstd_why[256];
    struct { int level, threads; bench_stat mb_s; double ratio; } zstd[BENCH_MAXL * BENCH_MAXL];
    int nzstd;
    bench_stat direct_mb_s;
    bench_sample lat_direct, lat_spill;
    int lat_ok;
    int done, total; /* progress */
} bench_sweep;

/* The recommendation: pick (NULL when no filter point was measured) and best point
 * into b->pts, and the advice as sentences. */
typedef struct bench_advice {
    const bench_point *best, *pick;
    char reason[768], counter[768], threshold[512];
} bench_advice;

void bench_recommend(const bench_sweep *b, bench_advice *a);
/* The whole result on stdout: a table (with the recommendation), or one JSON document. */
void bench_print_table(const bench_sweep *b, const bench_advice *a);
void bench_print_json(const bench_sweep *b, const bench_advice *a);
/* The SVG of the filter points at the most threads; 0, or 1 after saying why. */
int bench_write_plot(const bench_sweep *b, const char *path);
const char *bench_mode_name(bench_mode m);             /* "filter", "store", "e2e" */
const char *bench_frame_str(uint64_t f, char buf[24]); /* 1M, 256K, or bytes */

/* ---- the plot (benchplot.c) ---- */

typedef struct bench_plot_pt {
    int level;
    uint64_t frame;
    double mb_s, ratio;
} bench_plot_pt;
/* Two panels (against level, one line per frame size; against frame size, one line per
 * level), each with throughput and ratio; zstd (NULL/0: none) as a reference line. */
int bench_plot_svg(FILE *f, const char *title, const bench_plot_pt *pts, int n,
                   const bench_plot_pt *zstd, int nz);

double bench_now(void);

#endif
