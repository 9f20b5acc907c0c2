/* sidecar_impl.h - the state of `spill run`, shared by sidecar.c (the I/O, the lifecycle and
 * the server-to-client side) and sidecar_requests.c (the agent's messages: spill's own
 * calls answered in worker processes, the rest sent on). Part of the spill executable;
 * never installed. Everything here runs on the event loop's thread. */
#ifndef SPILL_SIDECAR_IMPL_H
#define SPILL_SIDECAR_IMPL_H

#include <jansson.h>
#include <uv.h>

#include "relay.h"
#include "sidecar.h"
#include "sidecar_jobs.h"
#include "views.h"

enum { HIGH = 8 << 20, LOW = 2 << 20, REQ_CAP = 64 << 10, RESP_CAP = 16 << 20, PENDING = 64 };
/* Local calls accepted and not yet answered (queued for a worker, running, or their answer
 * held): past LOCAL_MAX spill stops reading the agent until half have gone out. */
enum { LOCAL_MAX = 64, BIG_ID_CAP = 1024 };

/* A local answer (one line without its newline, or a batch's) waiting for a message
 * boundary on the server-to-client stream. */
typedef struct held_line {
    struct held_line *next;
    int count;                 /* local calls it answers */
    size_t n;
    char data[];
} held_line;
/* The filter thread's queues: the loop stops reading a direction while more than
 * IN_HIGH of its bytes wait for the thread (resumes below IN_LOW); the thread waits
 * while more than OUT_HIGH of output waits for the loop. A SIGTERM waits this long
 * for a store write in progress before leaving it to the process's exit. */
enum { IN_HIGH = 4 << 20, IN_LOW = 1 << 20, OUT_HIGH = 4 << 20, ABANDON_MS = 1000, BYPASS_MAX = 1024,
       BYPASS_HELD_MAX = 1 << 20 };

typedef struct outq {
    uv_pipe_t pipe;
    size_t queued;
    uv_stream_t *source;       /* the stream whose reading this queue throttles */
    int paused, closed, open;
} outq;

typedef struct sidecar {
    sidecar_config *cfg;
    uv_loop_t *loop;
    uv_process_t child;
    uv_pipe_t agent_in, srv_out;
    outq agent_out, srv_in;
    uv_signal_t sig_int, sig_term, sig_hup;
    uv_timer_t kill_timer, abandon_timer;
    uv_async_t wake;               /* the filter thread has output (or room) for us */
    uv_idle_t spin;                /* polls without sleeping for a moment after traffic */
    uint64_t spin_until;           /* uv_hrtime() deadline of that */
    int kill_stage;
    spill_store *st;
    relay *r;                      /* the filter thread; NULL once it has finished */
    spill_filter_stats stats;      /* its last stats */
    int s2c_full, c2s_full;        /* reading stopped: the thread's queue is over IN_HIGH */
    int s2c_mid_line;              /* the server's stream is inside a line */
    char byp[BYPASS_MAX];          /* the start of a line that may overtake (post_s2c) */
    size_t byp_len, byp_held;      /* its length; bytes of such lines held in s->held */
    int relay_done, abandoned;
    spill_object_sink store_sink, sink;
    spill_views views;
    spill_filter_opts fo;
    /* client to server */
    char *req;
    size_t req_len;
    int req_streaming;
    char pending_list[PENDING][96], pending_init[PENDING][96];
    int era2026;
    /* server to client, after the filter */
    char *resp;
    size_t resp_len;
    int resp_mode;             /* 0 between messages, 1 assembling, 2 streaming through */
    held_line *held_head, *held_tail; /* local answers waiting for a message boundary */
    /* local calls, each in a worker process (sidecar_jobs.h) */
    spill_jobs *jobs;
    char *worker_argv[8];
    char worker_args[3][32];
    int local_inflight;        /* accepted, answer not yet queued on stdout */
    int in_paused;             /* agent stdin paused by agent_flow */
    int big_drop;              /* dropping the rest of a too-long line spill answered */
    char big_id[BIG_ID_CAP];   /* ... and that line's raw id */
    size_t big_id_len;
    uv_timer_t retry_timer;    /* held answers that met an allocation failure try again */
    uv_timer_t drain_timer;    /* after SIGTERM: how long queued output may still drain */
    int terminating, drain_over;
    /* lifecycle */
    int child_running, child_status, child_signal, srv_eof, agent_eof, agent_gone, failed;
    int exit_code;
} sidecar;

/* sidecar.c */
void sc_log(sidecar *s, const char *level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Writes the held local answers in order, as far as the output queue takes them. */
void sc_flush_held(sidecar *s);
/* Sends client bytes on to the server (and a copy to the filter thread); 0 or an error. */
int sc_forward_c2s(sidecar *s, const char *p, size_t n);
/* Remembers a request whose response spill edits (tools/list, initialize). */
void sc_watch_request(sidecar *s, json_t *m);

/* sidecar_requests.c */
/* A whole message from the agent (with its newline): spill's own calls are answered, the
 * rest goes on (sc_forward_c2s). 0, or an error that stops spill. */
int sc_client_message(sidecar *s, const char *p, size_t n);
/* A line over REQ_CAP, by its first REQ_CAP bytes: a call of spill's is dropped (and answered
 * "too large" at the line's end, sc_long_line_end); any other streams on. */
int sc_long_line_head(sidecar *s, const char *head, size_t n);
void sc_long_line_end(sidecar *s);
/* Whether a worker may start now (spill_jobs_opts.gate): the agent's stdout has room. */
int sc_jobs_gate(void *ud);

#endif
