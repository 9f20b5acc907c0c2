/* check.c - is data.mdb safe to map? See spill_index_check in index.h.
 *
 * LMDB trusts its file: a page number past the end of a truncated file is a SIGBUS
 * on first touch, a scribbled branch page a wild pointer. Its own checks (magic,
 * version, page flags) cover the meta pages only. So before a process maps the
 * index for real, a child process opens it read-only and walks every page
 * reachable from the newest meta page: the free list, the main tree and each named
 * database, values included (overflow pages). The parent learns only how the child
 * ended, so a damaged file costs a message, never the process. The child registers
 * as a reader like any other, so a writer committing meanwhile cannot recycle the
 * pages it walks; if it dies, its reader slot is cleared by mdb_reader_check. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../spill/internal.h"
#include "index.h"

enum { WHY_MAX = 240 };

static void say(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(int fd, const char *fmt, ...)
{
    char b[WHY_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    if (n > 0 && write(fd, b, (size_t)n < sizeof b ? (size_t)n : sizeof b - 1) < 0)
        _exit(3);
}

/* Every key and value byte is read, so each page (overflow pages too) is touched. */
/* The free list's values are page lists ([count, pgno...]); a page number past the
 * end would be handed out to a later write. */
static int free_list_sane(const MDB_val *v, size_t last_pgno)
{
    if (v->mv_size % sizeof(size_t) != 0 || v->mv_size < sizeof(size_t))
        return 0;
    size_t n = v->mv_size / sizeof(size_t), ids[1];
    memcpy(ids, v->mv_data, sizeof ids);
    if (ids[0] != n - 1)
        return 0;
    for (size_t i = 1; i < n; i++) {
        size_t pg;
        memcpy(&pg, (const char *)v->mv_data + i * sizeof pg, sizeof pg);
        if (pg < 2 || pg > last_pgno)
            return 0;
    }
    return 1;
}

static int walk_db(MDB_txn *t, MDB_dbi dbi, size_t last_pgno, uint64_t *sum)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(t, dbi, &c);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (dbi == 0 && !free_list_sane(&v, last_pgno)) {
            rc = MDB_CORRUPTED;
            break;
        }
        const volatile unsigned char *p = v.mv_data;
        for (size_t i = 0; i < v.mv_size; i += 512)
            *sum += p[i];
        if (v.mv_size)
            *sum += p[v.mv_size - 1];
        p = k.mv_data;
        for (size_t i = 0; i < k.mv_size; i++)
            *sum += p[i];
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* A scribbled tree may loop: a child that reads it ends by SIGALRM after this long. */
enum { SALVAGE_SECONDS = 20 };

/* The child: exits 0 when the walk finished, 1 after writing why to fd. */
static void child(const char *dir, off_t file_size, int fd)
{
    alarm(SALVAGE_SECONDS);
    MDB_env *env;
    MDB_txn *t = NULL;
    uint64_t sum = 0;
    int rc = mdb_env_create(&env);
    if (rc == 0) {
        mdb_env_set_maxdbs(env, 8);
        mdb_env_set_maxreaders(env, 512);
        rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600);
    }
    if (rc) {
        say(fd, "LMDB rejects it: %s", mdb_strerror(rc));
        _exit(1);
    }
    /* Writers append pages before the meta page that names them, and the file never
     * shrinks: so its size, taken after the newest meta is read, covers every page
     * of a sound index, while other processes commit. */
    MDB_envinfo info;
    MDB_stat ms;
    struct stat sb;
    int dfd;
    if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &t)) != 0) {
        say(fd, "%s", mdb_strerror(rc));
        _exit(1);
    }
    mdb_env_info(env, &info);
    mdb_env_stat(env, &ms);
    if (mdb_env_get_fd(env, &dfd) != 0 || fstat(dfd, &sb) != 0)
        sb.st_size = file_size;
    uint64_t need = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
    if (need > (uint64_t)sb.st_size) {
        say(fd, "truncated: %lld bytes, its last page ends at byte %llu", (long long)sb.st_size,
            (unsigned long long)need);
        _exit(1);
    }
    if ((rc = walk_db(t, 0, info.me_last_pgno, &sum)) != 0 ||
        (rc = walk_db(t, 1, info.me_last_pgno, &sum)) != 0) {
        say(fd, "%s", mdb_strerror(rc));
        _exit(1);
    }
    /* The main tree's keys name the databases. */
    MDB_cursor *c;
    MDB_val k, v;
    if ((rc = mdb_cursor_open(t, 1, &c)) != 0) {
        say(fd, "%s", mdb_strerror(rc));
        _exit(1);
    }
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        char name[64];
        MDB_dbi dbi;
        if (k.mv_size == 0 || k.mv_size >= sizeof name || memchr(k.mv_data, 0, k.mv_size))
            continue;
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = 0;
        int r2 = mdb_dbi_open(t, name, 0, &dbi);
        if (r2 == MDB_INCOMPATIBLE || r2 == MDB_NOTFOUND)
            continue; /* a plain key, not a database */
        if (r2 || (r2 = walk_db(t, dbi, info.me_last_pgno, &sum)) != 0) {
            say(fd, "database %s: %s", name, mdb_strerror(r2));
            _exit(1);
        }
    }
    mdb_cursor_close(c);
    mdb_txn_abort(t);
    mdb_env_close(env);
    if (rc != MDB_NOTFOUND) {
        say(fd, "%s", mdb_strerror(rc));
        _exit(1);
    }
    _exit(sum == 1 ? 0 : 0); /* sum only keeps the reads from being optimised away */
}
/* Forks a child that reads the index where a crash costs nothing: it writes to p[1] (the
 * parent reads p[0]), its stderr goes to /dev/null (a sanitizer's report of the crash we
 * are probing for would only confuse). Returns the pid in both, as fork does, or -errno. */
static pid_t quiet_child(int p[2])
{
    if (pipe2(p, O_CLOEXEC) != 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        return -e;
    }
    if (pid == 0) {
        close(p[0]);
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null >= 0)
            dup2(null, 2);
    }
    return pid;
}


int spill_index_check(const char *dir, char *why, size_t cap)
{
    char path[4200];
    struct stat sb;
    why[0] = 0;
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    if (lstat(path, &sb) != 0)
        return errno == ENOENT ? 0 : -errno; /* a new store */
    if (!S_ISREG(sb.st_mode)) {
        snprintf(why, cap, "%s is not a regular file", path);
        return SPILL_E_INDEX;
    }
    if (sb.st_size == 0)
        return 0; /* LMDB starts an empty file afresh: an empty index, not a damaged one */
    int p[2];
    pid_t pid = quiet_child(p);
    if (pid < 0)
        return pid;
    if (pid == 0) {
        signal(SIGBUS, SIG_DFL);
        signal(SIGSEGV, SIG_DFL);
        child(dir, sb.st_size, p[1]);
    }
    close(p[1]);
    char msg[WHY_MAX];
    size_t n = 0;
    for (;;) {
        ssize_t k = read(p[0], msg + n, sizeof msg - 1 - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0 || (n += (size_t)k) == sizeof msg - 1)
            break;
    }
    msg[n] = 0;
    close(p[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return 0; /* cannot tell: let the open go ahead as before */
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFSIGNALED(status))
        snprintf(why, cap, "%s is damaged: reading it crashed (%s)", path,
                 strsignal(WTERMSIG(status)));
    else
        snprintf(why, cap, "%s is damaged: %s", path, n ? msg : "reading it failed");
    return SPILL_E_INDEX;
}

/* ---- salvage ---- */

enum { REC_MAX = 1024 };

static int write_all(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n) {
        ssize_t k = write(fd, b, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

/* The child: each row of "objects" as u32 key length, u32 value length, key, value. */
static void salvage_child(const char *dir, int fd)
{
    MDB_env *env;
    MDB_txn *t;
    MDB_dbi dbi;
    MDB_cursor *c;
    alarm(SALVAGE_SECONDS); /* a scribbled tree may loop */
    if (mdb_env_create(&env) || (mdb_env_set_maxdbs(env, 8), 0) ||
        mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600) ||
        mdb_txn_begin(env, NULL, MDB_RDONLY, &t) || mdb_dbi_open(t, "objects", 0, &dbi) ||
        mdb_cursor_open(t, dbi, &c))
        _exit(1);
    MDB_val k, v;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        unsigned char h[8];
        if (k.mv_size != 16 || v.mv_size > REC_MAX)
            continue;
        spill__put32(h, (uint32_t)k.mv_size);
        spill__put32(h + 4, (uint32_t)v.mv_size);
        if (write_all(fd, h, 8) || write_all(fd, k.mv_data, k.mv_size) ||
            write_all(fd, v.mv_data, v.mv_size))
            _exit(1);
    }
    _exit(0);
}

static int read_full(int fd, void *p, size_t n)
{
    char *b = p;
    while (n) {
        ssize_t k = read(fd, b, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

int spill_index_salvage(const char *dir, int (*fn)(void *ud, const spill_index_row *r), void *ud)
{
    int p[2];
    pid_t pid = quiet_child(p);
    if (pid < 0)
        return pid;
    if (pid == 0) {
        salvage_child(dir, p[1]);
    }
    close(p[1]);
    int n = 0, stop = 0;
    unsigned char h[8], rec[16 + REC_MAX];
    while (!stop && read_full(p[0], h, 8) == 0) {
        uint32_t kl = spill__get32(h), vl = spill__get32(h + 4);
        if (kl != 16 || vl > REC_MAX || read_full(p[0], rec, kl + vl) != 0)
            break;
        spill_index_row r;
        if (spill__index_row_decode(rec, kl, rec + kl, vl, &r) == 0) {
            n++;
            stop = fn(ud, &r);
        }
    }
    close(p[0]); /* a child still writing gets EPIPE and ends */
    if (stop)
        kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    return n;
}
