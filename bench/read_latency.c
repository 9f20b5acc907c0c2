/* read_latency STORE ID [LINES] [RUNS] - latency of reading LINES (default 200) lines
 * from the middle of an object through libspill, as an agent's page read would:
 * store already open, one call per page. Prints median and p95 in ms. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spill.h"

static int count_sink(void *ud, const void *p, size_t n)
{
    (void)p;
    *(size_t *)ud += n;
    return 0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: read_latency STORE ID [LINES] [RUNS]\n");
        return 2;
    }
    uint64_t want = argc > 3 ? strtoull(argv[3], NULL, 10) : 200;
    int runs = argc > 4 ? atoi(argv[4]) : 101;
    if (runs < 1 || runs > 100000)
        runs = 101;
    spill_store_opts o;
    spill_store_opts_init(&o);
    o.dir = argv[1];
    spill_store *st;
    spill_object_info info;
    int rc = spill_store_open(&st, &o);
    if (rc || (rc = spill_store_stat(st, argv[2], &info)) != 0) {
        fprintf(stderr, "read_latency: %s\n", rc && st ? spill_store_last_error(st) : spill_strerror(rc));
        return 1;
    }
    double *t = malloc((size_t)runs * sizeof *t);
    size_t bytes = 0;
    for (int i = 0; i < runs && t; i++) {
        /* A different middle page each run, so no run finds its frame cached. */
        uint64_t first = info.lines / 2 + (uint64_t)i * 7919 % (info.lines / 4 + 1);
        bytes = 0;
        double s = now_ms();
        rc = spill_store_read_lines(st, info.id, first, first + want - 1, count_sink, &bytes);
        t[i] = now_ms() - s;
        if (rc) {
            fprintf(stderr, "read_latency: %s\n", spill_store_last_error(st));
            return 1;
        }
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_d);
    printf("%.3f %.3f %zu\n", t[runs / 2], t[runs * 95 / 100], bytes);
    free(t);
    spill_store_close(st);
    return 0;
}
