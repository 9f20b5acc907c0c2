/* tests/harness.h - a tiny test harness: one line per case ("ok - NAME",
 * "not ok - NAME: WHY", "skip - NAME: WHY"), asserts that print both sides, and a
 * seeded PRNG that replays from SPILL_TEST_SEED. */
#ifndef SPILL_HARNESS_H
#define SPILL_HARNESS_H

#define _GNU_SOURCE
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int h_failed_case;
static int h_failures;
static const char *h_case;

#define FAILF(...)                                                                         \
    do {                                                                                   \
        printf("not ok - %s: %s:%d: ", h_case, __FILE__, __LINE__);                       \
        printf(__VA_ARGS__);                                                               \
        printf("\n");                                                                      \
        h_failed_case = 1;                                                                 \
        return;                                                                            \
    } while (0)

#define ASSERT(c)                                                                          \
    do { if (!(c)) FAILF("assertion failed: %s", #c); } while (0)
#define ASSERT_EQ(a, b)                                                                    \
    do {                                                                                   \
        long long _a = (long long)(a), _b = (long long)(b);                                \
        if (_a != _b) FAILF("%s == %lld, expected %s == %lld", #a, _a, #b, _b);            \
    } while (0)
#define ASSERT_OK(e)                                                                       \
    do {                                                                                   \
        int _r = (e);                                                                      \
        if (_r != 0) FAILF("%s returned %d (%s)", #e, _r, spill_strerror(_r));             \
    } while (0)
#define ASSERT_MEM_EQ(a, b, n)                                                             \
    do {                                                                                   \
        size_t _n = (n);                                                                   \
        const unsigned char *_x = (const void *)(a), *_y = (const void *)(b);              \
        for (size_t _i = 0; _i < _n; _i++)                                                 \
            if (_x[_i] != _y[_i])                                                          \
                FAILF("%s and %s differ at byte %zu of %zu (0x%02x vs 0x%02x)", #a, #b, _i, \
                      _n, _x[_i], _y[_i]);                                                 \
    } while (0)

static inline void h_run(const char *name, void (*fn)(void))
{
    h_case = name;
    h_failed_case = 0;
    fflush(stdout);
    fn();
    if (!h_failed_case)
        printf("ok - %s\n", name);
    else
        h_failures++;
    fflush(stdout);
}
#define RUN(fn) h_run(#fn, fn)
#define SKIP(name, why) printf("skip - %s: %s\n", name, why)

/* splitmix64, seeded from SPILL_TEST_SEED */
static uint64_t h_rng_state;
static inline uint64_t h_rand(void)
{
    uint64_t z = (h_rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static inline uint64_t h_below(uint64_t n) { return n ? h_rand() % n : 0; }
static inline void h_seed(void)
{
    const char *s = getenv("SPILL_TEST_SEED");
    h_rng_state = s ? strtoull(s, NULL, 10) : 1;
    printf("# seed %" PRIu64 "\n", h_rng_state);
}
static inline int h_light(void) { const char *s = getenv("SPILL_TEST_LIGHT"); return s && *s == '1'; }

/* A fresh store directory under /tmp, removed by h_rmrf at the end of a case. */
static inline char *h_tmpdir(void)
{
    char *p = strdup("/tmp/spill-unit.XXXXXX");
    return p && mkdtemp(p) ? p : NULL;
}
static inline void h_rmrf(char *p)
{
    if (!p)
        return;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", p);
    if (system(cmd) != 0)
        fprintf(stderr, "# could not remove %s\n", p);
    free(p);
}
#endif
