/* est_count - prints the token estimator's counts for its input (calibration and the
 * accuracy test drive the estimator through this).
 *
 *   est_count [--impl N] < file        "<claude> <o200k> <cl100k>" for all of stdin
 *   est_count --frames [--impl N] < f  stdin is frames "<decimal length>\n<bytes>";
 *                                      one line per frame: bytes, the three estimates,
 *                                      then the raw feature counts (a "#" header
 *                                      line names the columns first)
 * --impl forces a code path (0 scalar, 1 SSE2, 2 POPCNT, 3 AVX2). Input is fed in
 * pieces of varying size, so this also exercises streaming. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokens.h"

static int impl = -1;

static void start(spill__est e[3])
{
    for (int v = 0; v < 3; v++) {
        spill__est_init(&e[v], (spill__vocab)v);
        if (impl >= 0 && spill__est_set_impl(&e[v], impl) != 0) {
            fprintf(stderr, "est_count: code path %d is not available here\n", impl);
            exit(2);
        }
    }
}

static void feed(spill__est e[3], const unsigned char *p, size_t n)
{
    /* uneven pieces: a prime-sized stride, so block boundaries fall everywhere */
    size_t step = 4093;
    for (size_t o = 0; o < n; o += step)
        for (int v = 0; v < 3; v++)
            spill__est_feed(&e[v], p + o, n - o < step ? n - o : step);
}

int main(int argc, char **argv)
{
    int frames = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--frames"))
            frames = 1;
        else if (!strcmp(argv[i], "--impl") && i + 1 < argc)
            impl = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: est_count [--frames] [--impl N] < input\n");
            return 2;
        }
    }
    spill__est e[3];
    if (!frames) {
        static unsigned char buf[1 << 20];
        size_t n;
        start(e);
        while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
            feed(e, buf, n);
        printf("%llu %llu %llu\n", (unsigned long long)spill__est_tokens(&e[0]),
               (unsigned long long)spill__est_tokens(&e[1]),
               (unsigned long long)spill__est_tokens(&e[2]));
        return ferror(stdin) ? 1 : 0;
    }
    printf("# bytes claude o200k cl100k");
    for (int i = 0; spill__est_feature_name(i); i++)
        printf(" %s", spill__est_feature_name(i));
    printf("\n");
    unsigned long long len;
    while (scanf("%llu", &len) == 1) {
        if (getchar() != '\n')
            return fprintf(stderr, "est_count: bad frame header\n"), 1;
        unsigned char *p = malloc(len ? len : 1);
        if (!p || fread(p, 1, len, stdin) != len)
            return fprintf(stderr, "est_count: short frame\n"), 1;
        start(e);
        feed(e, p, len);
        uint64_t f[SPILL__EST_NFEAT];
        spill__est_features(&e[0], f);
        printf("%llu %llu %llu %llu", len, (unsigned long long)spill__est_tokens(&e[0]),
               (unsigned long long)spill__est_tokens(&e[1]),
               (unsigned long long)spill__est_tokens(&e[2]));
        for (int i = 0; i < SPILL__EST_NFEAT; i++)
            printf(" %llu", (unsigned long long)f[i]);
        printf("\n");
        free(p);
    }
    return 0;
}
