/* sidecar_jobs.h - worker processes for the sidecar's local calls (spill run).
 *
 * A job is one process (argv) given an input on its stdin; its stdout is collected up to a
 * cap and handed back when it has exited. At most max_running run at once, the rest wait in
 * order; a job that runs past timeout_ms is killed (SIGKILL), as is one whose output passes
 * the cap. Everything happens on the caller's libuv loop: nothing here blocks. */
#ifndef SPILL_SIDECAR_JOBS_H
#define SPILL_SIDECAR_JOBS_H

#include <stddef.h>
#include <stdint.h>

struct uv_loop_s;
typedef struct spill_jobs spill_jobs;

typedef struct spill_job_result {
    int cancelled;          /* the pool closed before the job ended (nothing else is set) */
    int spawn_error;        /* a libuv error starting it, or 0 */
    int timed_out;          /* killed at timeout_ms */
    int out_capped;         /* killed when its output passed out_cap */
    int64_t exit_status;
    int term_signal;
    const char *out;        /* its stdout (NUL-terminated), out_len bytes */
    size_t out_len;
    const char *err;        /* the end of its stderr (NUL-terminated), err_len bytes */
    size_t err_len;
    uint64_t ms;            /* how long it ran */
} spill_job_result;

typedef void (*spill_job_done)(void *ud, const spill_job_result *r);
/* Asked before a waiting job starts: 0 holds it back (the caller calls spill_jobs_pump later). */
typedef int (*spill_job_gate)(void *ud);

typedef struct spill_jobs_opts {
    const char *file;       /* the program to run */
    char **argv;            /* its arguments, argv[0] its name */
    unsigned timeout_ms;
    size_t out_cap;
    int max_running;
    spill_job_gate gate;
    void *gate_ud;
} spill_jobs_opts;

/* 0, or SPILL_E_NOMEM. The pool keeps argv as given (the caller keeps it alive). */
int spill_jobs_new(spill_jobs **out, struct uv_loop_s *loop, const spill_jobs_opts *o);
/* Queues a job; takes input (malloc'd) in every case. done is called once, later, from the
 * loop (never from inside this call). 0, or SPILL_E_NOMEM (done is then never called). */
int spill_jobs_submit(spill_jobs *j, char *input, size_t n, spill_job_done done, void *ud);
/* Starts waiting jobs while fewer than max_running run and the gate agrees. */
void spill_jobs_pump(spill_jobs *j);
/* Jobs queued or running. */
size_t spill_jobs_count(const spill_jobs *j);
/* Kills every running job, calls done (cancelled) for each job not yet done, and frees the
 * pool once its handles have closed (the loop must run on for that). NULL is fine. */
void spill_jobs_close(spill_jobs *j);

#endif
