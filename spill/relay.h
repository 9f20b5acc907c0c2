/* relay.h - the sidecar's filter thread: it owns the spill_filter, so storing a large
 * result (compression, fdatasync, link, LMDB commit) never stalls the event loop.
 *
 *   loop: bytes read from the agent  -> forwarded to the server by the loop itself,
 *                                       and a copy posted here (the filter learns ids)
 *   loop: bytes read from the server -> posted here, into the SAME ordered queue, so a
 *                                       request is always learned before its response
 *   thread: the filter's server-to-client output -> an output queue the loop drains
 *
 * The loop never blocks on the thread: it posts (relay_post never waits) and stops
 * reading a source while relay_queued() of its direction is over its mark. The thread
 * blocks while the output queue is over its mark. The loop is told of new output (and
 * of input room) through the wake callback, which must be safe to call from any thread
 * (uv_async_send). No libuv here. */
#ifndef SPILL_RELAY_H
#define SPILL_RELAY_H

#include <stddef.h>

#include "relayq.h"
#include "spill.h"

/* Kinds of what the loop posts. S2C_SEEN: a whole server line the loop has already
 * given the agent (see relay_passes_unchanged): the filter learns from it, and its
 * output for it is dropped. */
enum { RELAY_C2S = SPILL_C2S, RELAY_S2C = SPILL_S2C, RELAY_C2S_END = 2, RELAY_S2C_END, RELAY_RECONF, RELAY_S2C_SEEN };
/* Kinds of what the thread gives back. DATA: server-to-client bytes for the agent;
 * ERROR: the filter failed (data is the message; it then passes nothing more); NOTE: a
 * reconfigure was applied (data is the decimal result code); DONE: the server's stream
 * was finished (take nothing more; call relay_join). */
enum { RELAY_OUT_DATA, RELAY_OUT_ERROR, RELAY_OUT_NOTE, RELAY_OUT_DONE };

typedef struct relay relay;

typedef struct relay_opts {
    size_t out_high;    /* the thread waits while more output than this is queued */
    size_t input_low;   /* wake the loop when a direction's input falls below this */
    unsigned spin_us;   /* poll this long for more input before sleeping; 0 off */
    void (*wake)(void *ud);
    void *wake_ud;
} relay_opts;

/* Creates the filter from fo (its emit is replaced; its sink is used under the store
 * lock) and starts the thread. 0, a spill error code, or -errno. */
int relay_start(relay **r, const spill_filter_opts *fo, const relay_opts *ro);
/* Loop side: queues a copy of bytes of kind RELAY_C2S/S2C or an end (n 0). Never
 * waits. 0, SPILL_E_NOMEM, or SPILL_E_ABORTED once the thread has finished. */
int relay_post(relay *r, int kind, const void *p, size_t n);
/* Bytes of one direction posted and not yet taken by the thread. */
size_t relay_queued(relay *r, spill_dir dir);
/* 1 while the thread is behind: inside an item (a result being stored), or with
 * server bytes still queued. */
int relay_busy(relay *r);
/* 1 if line (a whole server line, with its newline) is a message the filter passes
 * unchanged whatever its settings: a JSON-RPC response whose result is an empty object
 * (a ping's answer, most acknowledgements). Such a line may go to the agent ahead of a
 * result still being stored (JSON-RPC lets responses come in any order) and be posted
 * as RELAY_S2C_SEEN. */
int relay_passes_unchanged(const char *line, size_t n);
/* Applies o (copied now: rules, session) on the thread, in order with the stream. */
int relay_reconfigure(relay *r, const spill_filter_opts *o);
/* The next piece of output, or NULL; free() it. */
relayq_item *relay_take(relay *r);
/* The store is shared with the loop's own tools: each use holds this lock (the
 * thread holds it for each sink call). The loop waits at most ms for it: 0, or -EBUSY
 * when the thread is in a long call (a commit's fsync, a neighbour holding the index
 * lock); then, until that call ends, it does not wait at all. */
int relay_store_lock_within(relay *r, unsigned ms);
void relay_store_unlock(relay *r);
/* After RELAY_OUT_DONE: waits for the thread, copies its final stats, frees r. */
void relay_join(relay *r, spill_filter_stats *stats);
/* Shutdown that cannot wait (a signal while a store write hangs): the queues close, the
 * thread never calls wake again and stops after the call it is in; the caller either
 * leaves it to the process's exit (r is then never freed) or waits with relay_join.
 * The store stays consistent: its writes are crash-safe. */
void relay_abandon(relay *r);

#endif
