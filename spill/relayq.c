/* relayq.c - see relayq.h. One mutex guards the list and the byte counts; "more" wakes
 * a taker, "room" a producer waiting for the queue to shrink. */
#include "relayq.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "spill.h"

struct relayq {
    pthread_mutex_t mu;
    pthread_cond_t more, room;
    relayq_item *head, *tail;
    size_t bytes[RELAYQ_KINDS], total;
    int closed;
};

int relayq_new(relayq **out)
{
    relayq *q = calloc(1, sizeof *q);
    if (!q)
        return SPILL_E_NOMEM;
    if (pthread_mutex_init(&q->mu, NULL) != 0) {
        free(q);
        return SPILL_E_NOMEM;
    }
    if (pthread_cond_init(&q->more, NULL) != 0) {
        pthread_mutex_destroy(&q->mu);
        free(q);
        return SPILL_E_NOMEM;
    }
    if (pthread_cond_init(&q->room, NULL) != 0) {
        pthread_cond_destroy(&q->more);
        pthread_mutex_destroy(&q->mu);
        free(q);
        return SPILL_E_NOMEM;
    }
    *out = q;
    return 0;
}

void relayq_free(relayq *q)
{
    if (!q)
        return;
    for (relayq_item *it = q->head, *next; it; it = next) {
        next = it->next;
        free(it->ptr);
        free(it);
    }
    pthread_cond_destroy(&q->room);
    pthread_cond_destroy(&q->more);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

int relayq_put_wait(relayq *q, int kind, const void *data, size_t len, void *ptr, size_t high)
{
    if (kind < 0 || kind >= RELAYQ_KINDS || len > SIZE_MAX - sizeof(relayq_item) - 1) {
        free(ptr);
        return SPILL_E_INVAL;
    }
    /* Allocated and filled outside the lock: the other thread never waits for a copy. */
    relayq_item *it = malloc(sizeof *it + len + 1);
    if (!it) {
        free(ptr);
        return SPILL_E_NOMEM;
    }
    it->next = NULL;
    it->kind = kind;
    it->ptr = ptr;
    it->len = len;
    if (len)
        memcpy(it->data, data, len);
    it->data[len] = 0;
    pthread_mutex_lock(&q->mu);
    while (high && !q->closed && q->total > high)
        pthread_cond_wait(&q->room, &q->mu);
    if (q->closed) {
        pthread_mutex_unlock(&q->mu);
        free(it->ptr);
        free(it);
        return SPILL_E_ABORTED;
    }
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    q->bytes[kind] += len;
    q->total += len;
    pthread_cond_signal(&q->more);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

int relayq_put(relayq *q, int kind, const void *data, size_t len, void *ptr)
{
    return relayq_put_wait(q, kind, data, len, ptr, 0);
}

relayq_item *relayq_take(relayq *q, int wait)
{
    pthread_mutex_lock(&q->mu);
    while (wait && !q->head && !q->closed)
        pthread_cond_wait(&q->more, &q->mu);
    relayq_item *it = q->head;
    if (it) {
        if (!(q->head = it->next))
            q->tail = NULL;
        it->next = NULL;
        q->bytes[it->kind] -= it->len;
        q->total -= it->len;
        pthread_cond_broadcast(&q->room); /* producers each check the mark again */
    }
    pthread_mutex_unlock(&q->mu);
    return it;
}

size_t relayq_bytes(relayq *q, int kind)
{
    pthread_mutex_lock(&q->mu);
    size_t n = kind < 0 ? q->total : kind < RELAYQ_KINDS ? q->bytes[kind] : 0;
    pthread_mutex_unlock(&q->mu);
    return n;
}

void relayq_close(relayq *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->more);
    pthread_cond_broadcast(&q->room);
    pthread_mutex_unlock(&q->mu);
}
