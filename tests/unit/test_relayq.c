/* Unit tests of relayq (spill/relayq.c), the bounded chunk queue between the sidecar's
 * event loop and its filter thread: order, per-kind byte counts, the producer's mark,
 * close, and two threads at once. */
#include "../harness.h"

#include <pthread.h>
#include <time.h>

#include "relayq.h"
#include "spill.h"

static void order_and_counts(void)
{
    relayq *q;
    ASSERT_OK(relayq_new(&q));
    ASSERT_OK(relayq_put(q, 0, "abc", 3, NULL));
    ASSERT_OK(relayq_put(q, 1, "defgh", 5, NULL));
    ASSERT_OK(relayq_put(q, 0, "", 0, NULL)); /* an empty item is an item (an end mark) */
    ASSERT_EQ(relayq_bytes(q, 0), 3);
    ASSERT_EQ(relayq_bytes(q, 1), 5);
    ASSERT_EQ(relayq_bytes(q, -1), 8);
    ASSERT_EQ(relayq_bytes(q, 7), 0);
    relayq_item *it = relayq_take(q, 0);
    ASSERT(it && it->kind == 0 && it->len == 3 && !memcmp(it->data, "abc", 3) && it->data[3] == 0);
    free(it);
    ASSERT_EQ(relayq_bytes(q, 0), 0);
    it = relayq_take(q, 1);
    ASSERT(it && it->kind == 1 && it->len == 5 && !strcmp(it->data, "defgh"));
    free(it);
    it = relayq_take(q, 0);
    ASSERT(it && it->kind == 0 && it->len == 0 && it->data[0] == 0);
    free(it);
    ASSERT(relayq_take(q, 0) == NULL); /* empty, no wait */
    ASSERT_EQ(relayq_bytes(q, -1), 0);
    relayq_free(q);
}

static void copies_and_owned_blocks(void)
{
    relayq *q;
    ASSERT_OK(relayq_new(&q));
    char buf[16] = "original";
    ASSERT_OK(relayq_put(q, 2, buf, 9, NULL));
    memcpy(buf, "changed!", 9); /* the poster's buffer is free at once */
    char *blk = strdup("carried");
    ASSERT_OK(relayq_put(q, 3, NULL, 0, blk));
    relayq_item *it = relayq_take(q, 0);
    ASSERT(it && !strcmp(it->data, "original"));
    free(it);
    it = relayq_take(q, 0);
    ASSERT(it && it->ptr == blk && !strcmp(it->ptr, "carried"));
    free(it->ptr);
    free(it);
    /* Blocks still queued are freed with the queue (the leak checker of make asan says so). */
    ASSERT_OK(relayq_put(q, 3, NULL, 0, strdup("left behind")));
    relayq_free(q);
    relayq_free(NULL);
}

static void bad_kind(void)
{
    relayq *q;
    ASSERT_OK(relayq_new(&q));
    ASSERT_EQ(relayq_put(q, RELAYQ_KINDS, "x", 1, NULL), SPILL_E_INVAL);
    ASSERT_EQ(relayq_put(q, -1, "x", 1, strdup("freed on refusal")), SPILL_E_INVAL);
    ASSERT(relayq_take(q, 0) == NULL);
    relayq_free(q);
}

static void close_refuses_and_drains(void)
{
    relayq *q;
    ASSERT_OK(relayq_new(&q));
    ASSERT_OK(relayq_put(q, 0, "kept", 4, NULL));
    relayq_close(q);
    ASSERT_EQ(relayq_put(q, 0, "late", 4, strdup("freed on refusal")), SPILL_E_ABORTED);
    relayq_item *it = relayq_take(q, 1); /* what was queued can still be taken */
    ASSERT(it && !strcmp(it->data, "kept"));
    free(it);
    ASSERT(relayq_take(q, 1) == NULL); /* closed and empty: no wait */
    relayq_free(q);
}

/* ---- two threads ---- */

typedef struct waiter {
    relayq *q;
    int kind;
    size_t len, high;
    int rc;
    volatile int done;
    relayq_item *got;
} waiter;

static void *put_waiting(void *arg)
{
    waiter *w = arg;
    static char big[1 << 16];
    w->rc = relayq_put_wait(w->q, w->kind, big, w->len, NULL, w->high);
    w->done = 1;
    return NULL;
}

static void *take_waiting(void *arg)
{
    waiter *w = arg;
    w->got = relayq_take(w->q, 1);
    w->done = 1;
    return NULL;
}

static void sleep_ms(int ms)
{
    struct timespec t = {0, ms * 1000000L};
    nanosleep(&t, NULL);
}

static void producer_waits_over_its_mark(void)
{
    relayq *q;
    ASSERT_OK(relayq_new(&q));
    char chunk[1000] = {0};
    for (int i = 0; i < 5; i++)
        ASSERT_OK(relayq_put(q, 0, chunk, sizeof chunk, NULL)); /* put never waits: 5000 bytes */
    waiter w = {.q = q, .kind = 1, .len = 100, .high = 2500};
    pthread_t t;
    ASSERT(pthread_create(&t, NULL, put_waiting, &w) == 0);
    sleep_ms(50);
    ASSERT(!w.done); /* 5000 > 2500: it waits */
    free(relayq_take(q, 0));
    free(relayq_take(q, 0));
    sleep_ms(50);
    ASSERT(!w.done); /* 3000 is still over the mark */
    free(relayq_take(q, 0));
    pthread_join(t, NULL); /* 2000: it goes on */
    ASSERT(w.done && w.rc == 0);
    ASSERT_EQ(relayq_bytes(q, 1), 100);
    ASSERT_EQ(relayq_bytes(q, -1), 2100);
    /* A producer waiting on a full queue is released by close, refused. */
    for (int i = 0; i < 5; i++)
        ASSERT_OK(relayq_put(q, 0, chunk, sizeof chunk, NULL));
    waiter w2 = {.q = q, .kind = 0, .len = 10, .high = 1000};
    ASSERT(pthread_create(&t, NULL, put_waiting, &w2) == 0);
    sleep_ms(50);
    ASSERT(!w2.done);
    relayq_close(q);
    pthread_join(t, NULL);
    ASSERT_EQ(w2.rc, SPILL_E_ABORTED);
    relayq_free(q);
}

static void taker_waits_for_an_item_or_close(void)
{
    relayq *q;
    ASSERT_OK(relayq_new(&q));
    waiter w = {.q = q};
    pthread_t t;
    ASSERT(pthread_create(&t, NULL, take_waiting, &w) == 0);
    sleep_ms(50);
    ASSERT(!w.done);
    ASSERT_OK(relayq_put(q, 4, "wake", 4, NULL));
    pthread_join(t, NULL);
    ASSERT(w.got && w.got->kind == 4 && !strcmp(w.got->data, "wake"));
    free(w.got);
    waiter w2 = {.q = q};
    ASSERT(pthread_create(&t, NULL, take_waiting, &w2) == 0);
    sleep_ms(50);
    ASSERT(!w2.done);
    relayq_close(q);
    pthread_join(t, NULL);
    ASSERT(w2.got == NULL);
    relayq_free(q);
}

/* A producer and a consumer at full speed: every item arrives once, in order, intact,
 * and the producer's mark holds. */
enum { STRESS_N = 20000, STRESS_HIGH = 64 << 10 };
typedef struct stress {
    relayq *q;
    uint64_t seed;
    size_t peak;
    int rc;
} stress;

static void *stress_producer(void *arg)
{
    stress *st = arg;
    unsigned char buf[4096];
    uint64_t x = st->seed;
    for (uint32_t i = 0; i < STRESS_N; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        size_t len = 4 + (size_t)(x >> 33) % (sizeof buf - 4);
        memcpy(buf, &i, 4);
        for (size_t k = 4; k < len; k++)
            buf[k] = (unsigned char)(i + k);
        int rc = relayq_put_wait(st->q, (int)(i % 3), buf, len, NULL, STRESS_HIGH);
        if (rc) {
            st->rc = rc;
            break;
        }
    }
    return NULL;
}

static void two_threads_in_order(void)
{
    relayq *q;
    ASSERT_OK(relayq_new(&q));
    stress st = {.q = q, .seed = h_rand()};
    pthread_t t;
    ASSERT(pthread_create(&t, NULL, stress_producer, &st) == 0);
    uint32_t want = 0;
    size_t peak = 0;
    while (want < STRESS_N) {
        size_t b = relayq_bytes(q, -1);
        peak = b > peak ? b : peak;
        relayq_item *it = relayq_take(q, 1);
        if (!it)
            break;
        uint32_t i;
        memcpy(&i, it->data, 4);
        int ok = i == want && it->kind == (int)(i % 3) && it->len >= 4;
        for (size_t k = 4; ok && k < it->len; k++)
            ok = (unsigned char)it->data[k] == (unsigned char)(i + k);
        free(it);
        if (!ok) {
            pthread_join(t, NULL);
            relayq_free(q);
            FAILF("item %u arrived where %u was due, or damaged", i, want);
        }
        want++;
    }
    pthread_join(t, NULL);
    ASSERT_EQ(st.rc, 0);
    ASSERT_EQ(want, STRESS_N);
    /* The mark is checked before a put: at most one item over it. */
    if (peak > STRESS_HIGH + 4096)
        FAILF("%zu bytes were queued, over the producer's mark %d + one item", peak, STRESS_HIGH);
    relayq_free(q);
}

int main(void)
{
    h_seed();
    RUN(order_and_counts);
    RUN(copies_and_owned_blocks);
    RUN(bad_kind);
    RUN(close_refuses_and_drains);
    RUN(producer_waits_over_its_mark);
    RUN(taker_waits_for_an_item_or_close);
    RUN(two_threads_in_order);
    return h_failures ? 1 : 0;
}
