/* latency N -- CMD ARGS... [:: CMD2 ARGS...] - round-trip time of N ping requests, one
 * at a time, to an MCP stdio server started as CMD; prints "p50_us p99_us".
 *
 * With a second command, both servers run at once and the pings alternate between
 * them (A, B, A, B...), N to each; prints "p50_a p99_a p50_b p99_b". This is how to
 * see what spill adds: A the server directly, B the same server through `spill run`.
 * On a shared, noisy machine two runs one after the other see different noise, and
 * the difference of their tails measures the noise as much as spill; interleaved,
 * both sides see the same moments. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct server {
    pid_t pid;
    int to;
    FILE *from;
    double *t;
} server;

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int start(server *s, char **argv, long n)
{
    int to[2], from[2];
    /* Close-on-exec: the second server must not hold the first one's stdin open, or
     * the first never sees its end. dup2 clears the flag on the child's 0 and 1. */
    if (pipe2(to, O_CLOEXEC) || pipe2(from, O_CLOEXEC))
        return -1;
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[1]);
        close(from[0]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    s->to = to[1];
    s->from = fdopen(from[0], "r");
    s->t = malloc((size_t)n * sizeof *s->t);
    return s->from && s->t ? 0 : -1;
}

static int ping(server *s, long i, char **line, size_t *cap)
{
    char req[128];
    int k = snprintf(req, sizeof req, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"ping\"}\n", i);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (write(s->to, req, (size_t)k) != k || getline(line, cap, s->from) <= 0) {
        fprintf(stderr, "latency: the server stopped answering at request %ld\n", i);
        return -1;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    s->t[i] = (b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3;
    return 0;
}

static void stop(server *s, long n)
{
    close(s->to);
    waitpid(s->pid, NULL, 0);
    fclose(s->from);
    qsort(s->t, (size_t)n, sizeof *s->t, cmp);
}

int main(int argc, char **argv)
{
    if (argc < 4 || strcmp(argv[2], "--")) {
        fprintf(stderr, "usage: latency N -- CMD ARGS... [:: CMD2 ARGS...]\n");
        return 2;
    }
    long n = atol(argv[1]);
    if (n < 1)
        return 2;
    char **b_argv = NULL;
    for (int i = 3; i < argc; i++)
        if (!strcmp(argv[i], "::")) {
            argv[i] = NULL;
            b_argv = argv + i + 1;
            break;
        }
    if (b_argv && !*b_argv) {
        fprintf(stderr, "latency: nothing after ::\n");
        return 2;
    }
    server s[2];
    int ns = b_argv ? 2 : 1;
    if (start(&s[0], argv + 3, n) || (b_argv && start(&s[1], b_argv, n))) {
        perror("latency");
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    for (long i = 0; i < n; i++)
        for (int k = 0; k < ns; k++)
            if (ping(&s[k], i, &line, &cap))
                return 1;
    for (int k = 0; k < ns; k++) {
        stop(&s[k], n);
        printf("%s%.1f %.1f", k ? " " : "", s[k].t[n / 2], s[k].t[n * 99 / 100]);
        free(s[k].t);
    }
    printf("\n");
    free(line);
    return 0;
}
