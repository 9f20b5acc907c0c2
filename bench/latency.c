/* latency N -- CMD ARGS... - round-trip time of N ping requests, one at a time, to an
 * MCP stdio server started as CMD; prints "p50_us p99_us". Run it on the server
 * directly and through `spill run` to see what spill adds. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 4 || strcmp(argv[2], "--")) {
        fprintf(stderr, "usage: latency N -- CMD ARGS...\n");
        return 2;
    }
    long n = atol(argv[1]);
    int to[2], from[2];
    if (n < 1 || pipe(to) || pipe(from))
        return 2;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[1]);
        close(from[0]);
        execvp(argv[3], argv + 3);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    FILE *in = fdopen(from[0], "r");
    double *t = malloc((size_t)n * sizeof *t);
    char *line = NULL, req[128];
    size_t cap = 0;
    for (long i = 0; i < n && t; i++) {
        int k = snprintf(req, sizeof req, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"ping\"}\n", i);
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (write(to[1], req, (size_t)k) != k || getline(&line, &cap, in) <= 0) {
            fprintf(stderr, "latency: the server stopped answering at request %ld\n", i);
            return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        t[i] = (b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3;
    }
    close(to[1]);
    waitpid(pid, NULL, 0);
    qsort(t, (size_t)n, sizeof *t, cmp);
    printf("%.1f %.1f\n", t[n / 2], t[n * 99 / 100]);
    free(t);
    free(line);
    return 0;
}
