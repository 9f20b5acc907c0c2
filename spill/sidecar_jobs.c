/* sidecar_jobs.c - worker processes for the sidecar's local calls (see sidecar_jobs.h).
 * With sidecar.c, the only files that include <uv.h>. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "sidecar_jobs.h"
#include "spill.h"

enum { ERR_KEEP = 2048, READ_CHUNK = 64 << 10 };

typedef struct job job;
struct spill_jobs {
    uv_loop_t *loop;
    spill_jobs_opts o;
    job *wait_head, *wait_tail, *running;
    size_t nwait, nrunning;
    size_t live;          /* jobs whose handles are not all closed yet */
    int closing;
};

struct job {
    job *next;
    spill_jobs *pool;
    char *input;
    size_t in_len;
    spill_job_done done;
    void *ud;
    uv_process_t proc;
    uv_pipe_t in, out, err;
    uv_timer_t timer;
    uv_write_t wr;
    int open_handles, exited, out_eof, err_eof, finished;
    spill_job_result r;
    char *out_buf;
    size_t out_len, out_alloc;
    char err_buf[ERR_KEEP + 1];
    uint64_t start;
};

static void maybe_free_pool(spill_jobs *j)
{
    if (j->closing && !j->live)
        free(j);
}

static void on_handle_closed(uv_handle_t *h)
{
    job *b = h->data;
    if (--b->open_handles)
        return;
    spill_jobs *j = b->pool;
    free(b->out_buf);
    free(b->input);
    free(b);
    j->live--;
    maybe_free_pool(j);
}

static void close_handles(job *b)
{
    uv_handle_t *hs[] = {(uv_handle_t *)&b->proc, (uv_handle_t *)&b->in, (uv_handle_t *)&b->out,
                         (uv_handle_t *)&b->err, (uv_handle_t *)&b->timer};
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        if (!uv_is_closing(hs[i]))
            uv_close(hs[i], on_handle_closed);
}

static void unlink_running(spill_jobs *j, job *b)
{
    for (job **pp = &j->running; *pp; pp = &(*pp)->next)
        if (*pp == b) {
            *pp = b->next;
            j->nrunning--;
            return;
        }
}

/* The job has ended (or was cancelled): report once, close, and let the next one start. */
static void finish(job *b, int cancelled)
{
    if (b->finished)
        return;
    b->finished = 1;
    spill_jobs *j = b->pool;
    unlink_running(j, b);
    uv_timer_stop(&b->timer);
    if (!b->exited && b->proc.pid)
        uv_process_kill(&b->proc, SIGKILL);
    b->r.cancelled = cancelled;
    b->r.out = b->out_buf ? b->out_buf : "";
    b->r.out_len = b->out_len;
    b->r.err = b->err_buf;
    b->r.ms = (uv_hrtime() - b->start) / 1000000;
    b->done(b->ud, &b->r);
    close_handles(b);
    if (!j->closing)
        spill_jobs_pump(j);
}

static void check_done(job *b)
{
    if (b->exited && b->out_eof && b->err_eof)
        finish(b, 0);
}

static void on_exit_job(uv_process_t *p, int64_t status, int sig)
{
    job *b = p->data;
    b->exited = 1;
    b->r.exit_status = status;
    b->r.term_signal = sig;
    check_done(b);
}

static void on_timer(uv_timer_t *t)
{
    job *b = t->data;
    if (b->r.spawn_error) {
        finish(b, 0);
        return;
    }
    b->r.timed_out = 1;
    uv_process_kill(&b->proc, SIGKILL);
}

static void out_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    job *b = h->data;
    size_t cap = b->pool->o.out_cap + 1; /* one byte more than allowed tells it went over */
    size_t want = b->out_len + READ_CHUNK < cap ? b->out_len + READ_CHUNK : cap;
    if (want + 1 > b->out_alloc) {
        char *q = realloc(b->out_buf, want + 1);
        if (!q) {
            *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
            return;
        }
        b->out_buf = q, b->out_alloc = want + 1;
    }
    *buf = uv_buf_init(b->out_buf + b->out_len, (unsigned)(want - b->out_len));
}

static void on_out(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    job *b = s->data;
    if (n > 0) {
        b->out_len += (size_t)n;
        b->out_buf[b->out_len] = 0;
        if (b->out_len > b->pool->o.out_cap) {
            b->r.out_capped = 1;
            uv_process_kill(&b->proc, SIGKILL);
            n = UV_EOF;
        }
    }
    if (n < 0) {
        uv_read_stop(s);
        if (!b->out_eof)
            b->out_eof = 1, check_done(b);
    }
}

static void err_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h, (void)suggested;
    /* One buffer for every worker's stderr: reads never overlap on one loop, and what is
     * kept is copied out of it at once. */
    static char scratch[4096];
    *buf = uv_buf_init(scratch, sizeof scratch);
}

static void on_err(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    job *b = s->data;
    if (n > 0) {
        size_t k = (size_t)n < ERR_KEEP - b->r.err_len ? (size_t)n : ERR_KEEP - b->r.err_len;
        memcpy(b->err_buf + b->r.err_len, buf->base, k);
        b->r.err_len += k;
        b->err_buf[b->r.err_len] = 0;
    } else if (n < 0) {
        uv_read_stop(s);
        if (!b->err_eof)
            b->err_eof = 1, check_done(b);
    }
}

static void on_written(uv_write_t *w, int status)
{
    (void)status; /* a worker that died before reading its request is reported by its exit */
    job *b = w->data;
    if (!uv_is_closing((uv_handle_t *)&b->in))
        uv_close((uv_handle_t *)&b->in, on_handle_closed);
}

static void start(spill_jobs *j, job *b)
{
    b->start = uv_hrtime();
    b->next = j->running, j->running = b, j->nrunning++;
    j->live++;
    uv_pipe_init(j->loop, &b->in, 0);
    uv_pipe_init(j->loop, &b->out, 0);
    uv_pipe_init(j->loop, &b->err, 0);
    uv_timer_init(j->loop, &b->timer);
    b->in.data = b->out.data = b->err.data = b->timer.data = b->proc.data = b->wr.data = b;
    b->open_handles = 5;
    uv_stdio_container_t io[3] = {
        {.flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&b->in},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&b->out},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&b->err},
    };
    uv_process_options_t po = {.exit_cb = on_exit_job, .file = j->o.file, .args = j->o.argv,
                               .stdio = io, .stdio_count = 3};
    int rc = uv_spawn(j->loop, &b->proc, &po);
    if (rc) {
        /* Reported from the timer, never from inside spill_jobs_submit. */
        b->r.spawn_error = rc;
        b->exited = b->out_eof = b->err_eof = 1;
        uv_timer_start(&b->timer, on_timer, 0, 0);
        return;
    }
    uv_timer_start(&b->timer, on_timer, j->o.timeout_ms, 0);
    uv_read_start((uv_stream_t *)&b->out, out_alloc, on_out);
    uv_read_start((uv_stream_t *)&b->err, err_alloc, on_err);
    uv_buf_t in = uv_buf_init(b->input, (unsigned)b->in_len);
    if (uv_write(&b->wr, (uv_stream_t *)&b->in, &in, 1, on_written) != 0)
        uv_close((uv_handle_t *)&b->in, on_handle_closed);
}

int spill_jobs_new(spill_jobs **out, struct uv_loop_s *loop, const spill_jobs_opts *o)
{
    spill_jobs *j = calloc(1, sizeof *j);
    if (!j)
        return SPILL_E_NOMEM;
    j->loop = loop;
    j->o = *o;
    if (j->o.max_running < 1)
        j->o.max_running = 1;
    *out = j;
    return 0;
}

int spill_jobs_submit(spill_jobs *j, char *input, size_t n, spill_job_done done, void *ud)
{
    job *b = j->closing ? NULL : calloc(1, sizeof *b);
    if (!b) {
        free(input);
        return SPILL_E_NOMEM;
    }
    b->pool = j, b->input = input, b->in_len = n, b->done = done, b->ud = ud;
    if (j->wait_tail)
        j->wait_tail->next = b;
    else
        j->wait_head = b;
    j->wait_tail = b;
    j->nwait++;
    spill_jobs_pump(j);
    return 0;
}

void spill_jobs_pump(spill_jobs *j)
{
    while (j->wait_head && (int)j->nrunning < j->o.max_running && (!j->o.gate || j->o.gate(j->o.gate_ud))) {
        job *b = j->wait_head;
        if (!(j->wait_head = b->next))
            j->wait_tail = NULL;
        j->nwait--;
        b->next = NULL;
        start(j, b);
    }
}

size_t spill_jobs_count(const spill_jobs *j) { return j ? j->nwait + j->nrunning : 0; }

void spill_jobs_close(spill_jobs *j)
{
    if (!j || j->closing)
        return;
    j->closing = 1;
    while (j->running)
        finish(j->running, 1);
    while (j->wait_head) {
        job *b = j->wait_head;
        j->wait_head = b->next;
        spill_job_result r = {.cancelled = 1, .out = "", .err = ""};
        b->done(b->ud, &r);
        free(b->input);
        free(b);
    }
    j->wait_tail = NULL, j->nwait = 0;
    maybe_free_pool(j);
}
