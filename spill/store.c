/* store.c - the store directory: opening it safely, resolving ids, reading objects
 * back, pins and sessions. Verification and GC are in maintain.c.
 *
 * Every path inside the store is reached through directory fds with O_NOFOLLOW, and
 * names are built only from parsed hex ids, so neither an argument nor a symlink
 * planted in the store can lead a read or a write outside it. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "store_impl.h"

int spill__fail(spill_store *st, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err, sizeof st->err, fmt, ap);
    va_end(ap);
    return code;
}

int64_t spill__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void spill__content_id(const spill_store *st, const void *state, uint8_t out[16])
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest((const XXH3_state_t *)state));
    memcpy(out, c.digest, 16);
    if (st->weak_id)
        memset(out + 1, 0, 15); /* test hook: 256 possible ids, so collisions are real */
}

void spill__object_name(const uint8_t id[16], char name[40])
{
    char hex[SPILL_ID_HEX + 1];
    spill__id_to_hex(id, hex);
    snprintf(name, 40, "%s.zst", hex + 2);
}

int spill__open_fanout(spill_store *st, const uint8_t id[16], int create)
{
    char sub[3];
    char hex[SPILL_ID_HEX + 1];
    spill__id_to_hex(id, hex);
    memcpy(sub, hex, 2);
    sub[2] = 0;
    for (int tries = 0; tries < 2; tries++) {
        int fd = openat(st->objfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0)
            return fd;
        if (errno == ELOOP || errno == ENOTDIR)
            return spill__fail(st, SPILL_E_UNSAFE, "%s/objects/%s is not a plain directory",
                               st->dir, sub);
        if (errno != ENOENT || !create)
            return spill__fail(st, -errno, "%s/objects/%s: %s", st->dir, sub, strerror(errno));
        if (mkdirat(st->objfd, sub, 0700) != 0 && errno != EEXIST)
            return spill__fail(st, -errno, "cannot create %s/objects/%s: %s", st->dir, sub,
                               strerror(errno));
        fsync(st->objfd); /* the new directory's name must survive a crash too */
    }
    return spill__fail(st, -ENOENT, "%s/objects/%s vanished", st->dir, sub);
}

void spill_store_opts_init(spill_store_opts *o)
{
    memset(o, 0, sizeof *o);
    o->level = 3;
    o->frame_size = 1 << 20;
    o->threads = 1;
    o->index_map_size = 64u << 20;
}

/* The last failed open, for spill_store_last_error(NULL) and the unavailable sink:
 * process-wide, because the sidecar may read it from a worker thread. */
static pthread_mutex_t open_err_lock = PTHREAD_MUTEX_INITIALIZER;
static char open_err[512] = "the store was not opened";
static int open_rc = SPILL_E_STATE;

const char *spill_store_last_error(const spill_store *st) { return st ? st->err : open_err; }
const char *spill_store_dir(const spill_store *st) { return st->dir; }

/* mkdir -p with 0700 for what we create. */
static int make_dirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        int r = mkdir(path, 0700);
        *p = '/';
        if (r != 0 && errno != EEXIST)
            return -errno;
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int open_subdir(spill_store *st, const char *name, int create)
{
    if (create && mkdirat(st->rootfd, name, 0700) != 0 && errno != EEXIST)
        return spill__fail(st, -errno, "cannot create %s/%s: %s", st->dir, name, strerror(errno));
    int fd = openat(st->rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
        return spill__fail(st, SPILL_E_UNSAFE, "%s/%s is not a plain directory", st->dir, name);
    if (fd < 0)
        return spill__fail(st, -errno, "cannot open %s/%s: %s", st->dir, name, strerror(errno));
    return fd;
}

/* Like ssh with its files: a store that another user owns or can write to could be
 * made to serve planted objects or to follow planted links, so it is refused, with
 * the command that fixes it. name NULL: the store directory itself. */
static int check_owner(spill_store *st, int fd, const char *name)
{
    char path[PATH_MAX + 16];
    struct stat sb;
    snprintf(path, sizeof path, "%s%s%s", st->dir, name ? "/" : "", name ? name : "");
    if (fstat(fd, &sb) != 0)
        return spill__fail(st, -errno, "cannot stat %s: %s", path, strerror(errno));
    if (sb.st_uid != geteuid())
        return spill__fail(st, SPILL_E_UNSAFE,
                           "%s belongs to uid %u, not to you (uid %u): use a store of your own "
                           "(--store DIR) or take it over with chown -R %u %s", path,
                           (unsigned)sb.st_uid, (unsigned)geteuid(), (unsigned)geteuid(), path);
    if (sb.st_mode & (S_IWGRP | S_IWOTH))
        return spill__fail(st, SPILL_E_UNSAFE,
                           "%s is writable by other users (mode %03o): fix it with chmod 700 %s",
                           path, (unsigned)(sb.st_mode & 0777), path);
    return 0;
}

/* Temp files are named .tmp-<pid>-...; a writer that died leaves one behind. */
static int sweep_dir(int dirfd, int64_t grace_s, uint64_t *removed)
{
    int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0); /* never inherited by a worker */
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -errno;
    }
    rewinddir(d);
    struct dirent *de;
    time_t now = time(NULL);
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, ".tmp-", 5) != 0)
            continue;
        long pid = strtol(de->d_name + 5, NULL, 10);
        struct stat sb;
        if (fstatat(dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        int dead = pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
        int old = now - sb.st_mtime > grace_s;
        if ((dead || old) && unlinkat(dirfd, de->d_name, 0) == 0 && removed)
            (*removed)++;
    }
    closedir(d);
    return 0;
}

int spill__open_views(spill_store *st)
{
    int fd = openat(st->rootfd, "views", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (check_owner(st, fd, "views") != 0) {
        close(fd);
        return SPILL_E_UNSAFE;
    }
    return fd;
}

void spill__drop_view(spill_store *st, const uint8_t id[16])
{
    int vfd = spill__open_views(st);
    if (vfd < 0)
        return;
    char name[SPILL_ID_HEX + 8];
    spill__id_to_hex(id, name);
    memcpy(name + SPILL_ID_HEX, ".txt", 5);
    unlinkat(vfd, name, 0);
    close(vfd);
}

/* objects/ and views/ (the sidecar's text copies) both hold temp files. */
int spill__sweep_temps(spill_store *st, int64_t grace_s, uint64_t *removed)
{
    int rc = sweep_dir(st->objfd, grace_s, removed);
    int vfd = spill__open_views(st);
    if (vfd >= 0) {
        sweep_dir(vfd, grace_s, removed);
        close(vfd);
    }
    return rc;
}

/* Keeps a damaged index for whoever wants to look at it, out of LMDB's way: a
 * process that still has it open goes on with its own files. */
static int move_aside(spill_store *st, const char *why)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char name[sizeof st->moved_aside];
    for (int n = 0; n < 100; n++) {
        size_t k = strftime(name, sizeof name, "index.damaged-%Y%m%dT%H%M%SZ", &tm);
        if (n)
            snprintf(name + k, sizeof name - k, "-%d", n);
        if (renameat2(st->rootfd, "index", st->rootfd, name, RENAME_NOREPLACE) == 0) {
            snprintf(st->moved_aside, sizeof st->moved_aside, "%s", name);
            fsync(st->rootfd);
            return 0;
        }
        if (errno != EEXIST)
            break;
    }
    return spill__fail(st, -errno, "%s; cannot move it aside: %s", why, strerror(errno));
}

int spill_store_open(spill_store **out, const spill_store_opts *o)
{
    return spill__store_open(out, o, 0);
}

int spill__store_open(spill_store **out, const spill_store_opts *o, int flags)
{
    const int aside = flags & SPILL__OPEN_ASIDE;
    *out = NULL;
    if (!o || !o->dir || !*o->dir)
        return SPILL_E_INVAL;
    spill_store *st = calloc(1, sizeof *st);
    if (!st)
        return SPILL_E_NOMEM;
    st->opts = *o;
    st->rootfd = st->objfd = -1;
    if (st->opts.level < ZSTD_minCLevel() || st->opts.level > ZSTD_maxCLevel() ||
        st->opts.frame_size < 4096 || st->opts.frame_size > (256u << 20) ||
        st->opts.threads < 1 || st->opts.threads > 16 || strlen(o->dir) >= sizeof st->dir) {
        free(st);
        return SPILL_E_INVAL;
    }
    snprintf(st->dir, sizeof st->dir, "%s", o->dir);
    const char *weak = getenv("SPILL_TEST_WEAK_ID");
    st->weak_id = weak && strcmp(weak, "1") == 0;
    int rc;
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", st->dir);
    if (!o->read_only && (rc = make_dirs(tmp)) != 0) {
        rc = spill__fail(st, rc, "cannot create store %s: %s", st->dir, strerror(-rc));
        goto err;
    }
    st->rootfd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (st->rootfd < 0) {
        rc = spill__fail(st, -errno, "cannot open store %s: %s", st->dir, strerror(errno));
        goto err;
    }
    if ((rc = check_owner(st, st->rootfd, NULL)) != 0)
        goto err;
    if ((st->objfd = open_subdir(st, "objects", !o->read_only)) < 0) {
        rc = st->objfd;
        goto err;
    }
    if ((rc = check_owner(st, st->objfd, "objects")) != 0)
        goto err;
    char ixdir[PATH_MAX + 8], why[256];
    snprintf(ixdir, sizeof ixdir, "%s/index", st->dir);
    for (int again = 1; again--;) {
        int ixfd = open_subdir(st, "index", !o->read_only);
        if (ixfd < 0) {
            rc = ixfd;
            goto err;
        }
        rc = check_owner(st, ixfd, "index");
        close(ixfd);
        if (rc)
            goto err;
        if (!o->checked &&
            (rc = spill_index_check(ixdir, why, sizeof why)) == SPILL_E_INDEX) {
            if (!aside || o->read_only || st->moved_aside[0]) {
                spill__fail(st, rc, "%s; run spill reindex to rebuild the index from the object files",
                            why);
                goto err;
            }
            if ((rc = move_aside(st, why)) != 0)
                goto err;
            again = 1;
        }
    }
    int vfd = spill__open_views(st); /* the views are optional, but not someone else's */
    if (vfd == SPILL_E_UNSAFE) {
        rc = vfd;
        goto err;
    }
    if (vfd >= 0)
        close(vfd);
    if ((rc = spill_index_open(&st->ix, ixdir, o->index_map_size, o->read_only)) != 0) {
        spill__fail(st, rc, "cannot open the index in %s: %s", ixdir,
                    st->ix ? spill_index_errmsg(st->ix) : spill_strerror(rc));
        goto err;
    }
    if (!o->read_only && !o->checked)
        spill__sweep_temps(st, 24 * 3600, NULL);
    *out = st;
    return 0;
err:
    /* The caller gets the code, and spill_store_last_error(NULL) the message. */
    pthread_mutex_lock(&open_err_lock);
    snprintf(open_err, sizeof open_err, "%s", st->err[0] ? st->err : spill_strerror(rc));
    open_rc = rc;
    pthread_mutex_unlock(&open_err_lock);
    spill_store_close(st);
    return rc;
}

void spill_store_close(spill_store *st)
{
    if (!st)
        return;
    spill_index_close(st->ix);
    if (st->objfd >= 0)
        close(st->objfd);
    if (st->rootfd >= 0)
        close(st->rootfd);
    free(st);
}

/* ---- ids and metadata ---- */

static int resolve(spill_store *st, const char *s, uint8_t id[16])
{
    if (!s)
        return spill__fail(st, SPILL_E_BADID, "no id given");
    uint8_t prefix[16];
    int n = spill__hex_to_id(s, prefix);
    if (n < 0)
        return spill__fail(st, n, "'%.80s' is not an object id (8 to 32 hex digits)", s);
    if (n == SPILL_ID_HEX) {
        spill_index_row r;
        int rc = spill_index_get(st->ix, prefix, &r);
        if (rc == SPILL_E_NOTFOUND)
            return spill__fail(st, rc, "no object %s in %s", s, st->dir);
        if (rc)
            return spill__fail(st, rc, "%s", spill_index_errmsg(st->ix));
        memcpy(id, prefix, 16);
        return 0;
    }
    int rc = spill_index_resolve(st->ix, prefix, n, id);
    if (rc == SPILL_E_NOTFOUND)
        return spill__fail(st, rc, "no object with id prefix %s in %s", s, st->dir);
    if (rc == SPILL_E_AMBIGUOUS)
        return spill__fail(st, rc, "id prefix %s matches more than one object; give more digits", s);
    return rc ? spill__fail(st, rc, "%s", spill_index_errmsg(st->ix)) : 0;
}

int spill_store_resolve(spill_store *st, const char *s, char out[SPILL_ID_HEX + 1])
{
    if (!st)
        return open_rc; /* no store (it could not be opened): spill_store_last_error(NULL) */
    uint8_t id[16];
    int rc = resolve(st, s, id);
    if (rc == 0)
        spill__id_to_hex(id, out);
    return rc;
}

void spill__row_to_info(const spill_store *st, const spill_index_row *r, spill_object_info *info)
{
    memset(info, 0, sizeof *info);
    spill__id_to_hex(r->id, info->id);
    info->raw_size = r->raw_size;
    info->comp_size = r->comp_size;
    info->lines = r->lines;
    info->tokens = r->tokens;
    snprintf(info->token_counter, sizeof info->token_counter, "%s", r->token_counter);
    snprintf(info->mime, sizeof info->mime, "%s", r->mime);
    snprintf(info->name, sizeof info->name, "%s", r->name);
    info->created_ns = r->created_ns;
    info->atime_ns = r->atime_ns;
    info->access_count = r->access_count;
    info->pins = r->pins;
    info->frame_size = r->frame_size;
    info->nframes = r->nframes;
    snprintf(info->path, sizeof info->path, "%s/objects/%.2s/%s.zst", st->dir, info->id,
             info->id + 2);
}

int spill_store_stat(spill_store *st, const char *s, spill_object_info *info)
{
    if (!st)
        return open_rc;
    uint8_t id[16];
    spill_index_row r;
    int rc = resolve(st, s, id);
    if (rc)
        return rc;
    if ((rc = spill_index_get(st->ix, id, &r)) != 0)
        return spill__fail(st, rc, "%s", spill_index_errmsg(st->ix));
    spill__row_to_info(st, &r, info);
    return 0;
}

/* Opens the object file of id; the caller closes o. */
int spill__open_object(spill_store *st, const uint8_t id[16], spill__obj *o)
{
    char name[40], hex[SPILL_ID_HEX + 1];
    spill__id_to_hex(id, hex);
    int xxfd = spill__open_fanout(st, id, 0);
    if (xxfd < 0)
        return spill__fail(st, xxfd == -ENOENT ? SPILL_E_CORRUPT : xxfd,
                           "object %s is indexed but its file is missing", hex);
    spill__object_name(id, name);
    int fd = openat(xxfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(xxfd);
    if (fd < 0) {
        if (e == ENOENT)
            return spill__fail(st, SPILL_E_CORRUPT, "object %s is indexed but its file is missing",
                               hex);
        if (e == ELOOP)
            return spill__fail(st, SPILL_E_UNSAFE, "object %s is a symlink; refusing to follow it",
                               hex);
        return spill__fail(st, -e, "cannot open object %s: %s", hex, strerror(e));
    }
    int rc = spill__obj_open(o, fd);
    if (rc)
        return spill__fail(st, rc, "object %s: %s", hex, o->err[0] ? o->err : spill_strerror(rc));
    return 0;
}

typedef struct range_req {
    int by_lines;
    uint64_t a, b;
} range_req;

static int read_range(spill_store *st, const char *s, const range_req *q, spill_sink_fn sink,
                      void *ud)
{
    if (!st)
        return open_rc;
    uint8_t id[16];
    spill__obj o;
    int rc = resolve(st, s, id);
    if (rc || (rc = spill__open_object(st, id, &o)) != 0)
        return rc;
    if (q->by_lines)
        rc = spill__obj_read_lines(&o, q->a, q->b, sink, ud);
    else
        rc = spill__obj_read_bytes(&o, q->a, q->b, sink, ud);
    if (rc) {
        char hex[SPILL_ID_HEX + 1];
        spill__id_to_hex(id, hex);
        if (rc == SPILL_E_RANGE && q->by_lines)
            spill__fail(st, rc, "object %s has %llu lines; line %llu is past the end", hex,
                        (unsigned long long)o.lines, (unsigned long long)q->a);
        else if (rc == SPILL_E_RANGE)
            spill__fail(st, rc, "object %s has %llu bytes; range starts at %llu", hex,
                        (unsigned long long)o.meta.raw_size, (unsigned long long)q->a);
        else if (rc != SPILL_E_ABORTED && rc > -1000 && o.err[0] == 0)
            spill__fail(st, rc, "object %s: %s", hex, spill_strerror(rc)); /* from the sink */
        else
            spill__fail(st, rc, "object %s: %s", hex, o.err[0] ? o.err : spill_strerror(rc));
    }
    spill__obj_close(&o);
    if (rc == 0 && !st->opts.read_only)
        spill_index_touch(st->ix, id, spill__now_ns()); /* best effort: a read must not fail on it */
    return rc;
}

int spill_store_read_bytes(spill_store *st, const char *s, uint64_t begin, uint64_t end,
                           spill_sink_fn sink, void *ud)
{
    range_req q = {0, begin, end};
    return read_range(st, s, &q, sink, ud);
}

int spill_store_read_lines(spill_store *st, const char *s, uint64_t first, uint64_t last,
                           spill_sink_fn sink, void *ud)
{
    range_req q = {1, first, last};
    return read_range(st, s, &q, sink, ud);
}

/* ---- list, pins, sessions ---- */

typedef struct list_ctx { spill_store *st; spill_list_fn fn; void *ud; } list_ctx;
static int list_cb(void *p, const spill_index_row *r)
{
    list_ctx *c = p;
    spill_object_info info;
    spill__row_to_info(c->st, r, &info);
    return c->fn(c->ud, &info);
}

int spill_store_list(spill_store *st, spill_list_fn fn, void *ud)
{
    list_ctx c = {st, fn, ud};
    int rc = spill_index_list(st->ix, list_cb, &c);
    return rc < 0 ? spill__fail(st, rc, "%s", spill_index_errmsg(st->ix)) : 0;
}

int spill_store_pin(spill_store *st, const char *s, int delta)
{
    uint8_t id[16];
    int rc = resolve(st, s, id);
    if (rc)
        return rc;
    rc = spill_index_pin(st->ix, id, delta);
    return rc ? spill__fail(st, rc, "%s", spill_index_errmsg(st->ix)) : 0;
}

/* Process start time (clock ticks since boot), so a reused pid is not taken for
 * the session's process. 0 when unknown. */
uint64_t spill__proc_start(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces and parens */
    if (!p)
        return 0;
    unsigned long long start = 0;
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " "))
        if (++field == 22) {
            start = strtoull(tok, NULL, 10);
            break;
        }
    return start;
}

int spill_store_session_begin(spill_store *st, const char *session)
{
    long pid = (long)getpid();
    int rc = spill_index_session_begin(st->ix, session, pid, spill__proc_start(pid));
    return rc ? spill__fail(st, rc, "session: %s", rc == SPILL_E_INVAL ? "bad session name"
                                                                       : spill_index_errmsg(st->ix))
              : 0;
}

int spill_store_session_end(spill_store *st, const char *session)
{
    int rc = spill_index_session_end(st->ix, session);
    return rc ? spill__fail(st, rc, "session: %s", rc == SPILL_E_INVAL ? "bad session name"
                                                                       : spill_index_errmsg(st->ix))
              : 0;
}

/* ---- running without a store ---- */

static int nostore_begin(void *ctx, void **obj, const spill_put_info *pi)
{
    (void)ctx;
    (void)pi;
    *obj = NULL;
    return open_rc;
}
static int nostore_write(void *obj, const void *p, size_t n)
{
    (void)obj;
    (void)p;
    (void)n;
    return open_rc;
}
static int nostore_commit(void *obj, const char *mime, uint64_t tokens, const char *counter,
                          spill_object_info *info)
{
    (void)obj;
    (void)mime;
    (void)tokens;
    (void)counter;
    (void)info;
    return open_rc;
}
static void nostore_abort(void *obj) { (void)obj; }
static const char *nostore_error(void *ctx)
{
    (void)ctx;
    return open_err;
}

void spill_store_unavailable_sink(spill_object_sink *sink)
{
    sink->ctx = NULL;
    sink->begin = nostore_begin;
    sink->write = nostore_write;
    sink->commit = nostore_commit;
    sink->abort = nostore_abort;
    sink->last_error = nostore_error;
}
