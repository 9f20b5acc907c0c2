/* relayq.h - a bounded, ordered queue of byte chunks between two threads (a mutex and
 * two condition variables, no libuv). The sidecar's loop thread posts what it reads to
 * the filter thread through one, and the filter thread's output comes back through
 * another (relay.c). Every chunk is a copy, so the poster's buffer is free at once.
 *
 * Bounds: relayq_bytes() tells a producer that must not block (the event loop) how
 * much of one kind waits, so it can stop reading its source; relayq_put_wait() blocks
 * a producer that may (the filter thread) while the queue holds more than its mark. */
#ifndef SPILL_RELAYQ_H
#define SPILL_RELAYQ_H

#include <stddef.h>

enum { RELAYQ_KINDS = 8 };

typedef struct relayq_item {
    struct relayq_item *next;
    int kind;          /* the producer's tag, 0 .. RELAYQ_KINDS-1 */
    void *ptr;         /* an owned block carried along (the taker frees it), or NULL */
    size_t len;
    char data[];       /* len bytes, then a NUL (so a message can be used as a string) */
} relayq_item;

typedef struct relayq relayq;

/* 0, or SPILL_E_NOMEM. */
int relayq_new(relayq **q);
/* Frees the queue and the items (and their ptr blocks) still in it. NULL ok. */
void relayq_free(relayq *q);
/* Appends a copy of len bytes (and ptr, which the queue then owns) without waiting.
 * 0; SPILL_E_NOMEM; SPILL_E_ABORTED once the queue is closed (ptr is then freed);
 * SPILL_E_INVAL for a bad kind. */
int relayq_put(relayq *q, int kind, const void *data, size_t len, void *ptr);
/* The same, but first waits while more than high bytes (all kinds) are queued and the
 * queue is open. */
int relayq_put_wait(relayq *q, int kind, const void *data, size_t len, void *ptr, size_t high);
/* Takes the oldest item (free() it and its ptr when done). With wait, blocks until one
 * comes; NULL when the queue is empty and (without wait) or (closed). */
relayq_item *relayq_take(relayq *q, int wait);
/* Bytes queued of one kind (-1: all kinds). */
size_t relayq_bytes(relayq *q, int kind);
/* Refuses further puts and wakes every waiter; what is queued can still be taken. */
void relayq_close(relayq *q);

#endif
