/* maintain.c - verify and garbage-collect a store, and report its statistics.
 *
 * GC treats the store as a cache with leases: TTL since last access plus a byte
 * quota, least recently used first; pins and live sessions are roots. It runs in
 * phases whose order makes a crash harmless at any point:
 *   1. rows of victims deleted and marked doomed, in one index transaction;
 *   2. under the index's write lock, doomed files unlinked (unless a put brought the
 *      row back meanwhile) and the marks dropped;
 *   3. orphan files (no row) and temp files older than the grace period removed.
 * A crash after 1 leaves files without rows, never rows without files. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_impl.h"

void spill__say(spill_msg_fn fn, void *ud, const char *fmt, ...)
{
    if (!fn)
        return;
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fn(ud, buf);
}

/* ---- walking object files ---- */

int spill__walk_objects(spill_store *st, spill__file_fn fn, void *ud)
{
    int rc = 0;
    for (int b = 0; b < 256 && rc == 0; b++) {
        char sub[3];
        snprintf(sub, sizeof sub, "%02x", b);
        int xxfd = openat(st->objfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (xxfd < 0)
            continue;
        int dfd = dup(xxfd);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (!d) {
            if (dfd >= 0)
                close(dfd);
            close(xxfd);
            return -errno;
        }
        struct dirent *de;
        while (rc == 0 && (de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            struct stat sb;
            if (fstatat(xxfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
                continue;
            char hex[SPILL_ID_HEX + 8];
            uint8_t id[16];
            size_t n = strlen(de->d_name);
            int ok = n == 34 && strcmp(de->d_name + 30, ".zst") == 0 && S_ISREG(sb.st_mode);
            if (ok) {
                snprintf(hex, sizeof hex, "%s%.30s", sub, de->d_name);
                ok = spill__hex_to_id(hex, id) == SPILL_ID_HEX;
            }
            rc = fn(ud, xxfd, de->d_name, ok ? id : NULL, &sb);
        }
        closedir(d);
        close(xxfd);
    }
    return rc;
}

/* ---- verify ---- */

typedef struct verify_ctx {
    spill_store *st;
    spill_verify_report *r;
    spill_msg_fn fn;
    void *ud;
} verify_ctx;

int spill__obj_check(spill__obj *o, const uint8_t id[16], spill__digest *d, const char **problem)
{
    int rc = spill__obj_digest(o, d);
    *problem = o->err[0] ? o->err : spill_strerror(rc);
    if (rc)
        return rc;
    uint8_t base[16], want[16];
    memcpy(base, d->hash, 16);
    if (o->meta.flags & SPILL__FLAG_WEAK_ID)
        memset(base + 1, 0, 15);
    int match = memcmp(base, id, 16) == 0;
    for (uint32_t k = 1; !match && k <= 64; k++) { /* the ids colliding contents take */
        spill__collision_id(base, d->xxh64, k, want);
        match = memcmp(want, id, 16) == 0;
    }
    *problem = match ? NULL : "content does not hash to the object's id";
    return match ? 0 : SPILL_E_CORRUPT;
}

/* Re-reads every frame and checks each fact the trailer and the row state. */
static int verify_object(verify_ctx *c, const spill_index_row *row)
{
    spill_store *st = c->st;
    char hex[SPILL_ID_HEX + 1];
    spill__id_to_hex(row->id, hex);
    spill__obj o;
    int rc = spill__open_object(st, row->id, &o);
    if (rc) {
        spill__say(c->fn, c->ud, "BAD %s: %s", hex, st->err);
        return 1;
    }
    spill__digest d;
    const char *problem;
    if (spill__obj_check(&o, row->id, &d, &problem) == 0 && (row->raw_size != o.meta.raw_size || row->xxh64 != d.xxh64 ||
                     row->lines != o.lines || row->comp_size != o.file_size ||
                     row->nframes != o.nframes || row->frame_size != o.meta.frame_size))
        problem = "index row disagrees with the object file";
    spill__obj_close(&o);
    if (problem) {
        spill__say(c->fn, c->ud, "BAD %s: %s", hex, problem);
        return 1;
    }
    return 0;
}

static int verify_row(void *p, const spill_index_row *row)
{
    verify_ctx *c = p;
    if (verify_object(c, row))
        c->r->objects_bad++;
    else
        c->r->objects_ok++;
    return 0;
}

static int orphan_check(void *p, int xxfd, const char *name, const uint8_t *id, const struct stat *sb)
{
    verify_ctx *c = p;
    (void)xxfd;
    (void)sb;
    if (!id) {
        spill__say(c->fn, c->ud, "BAD objects/?/%s: not an object file (symlink or stray name)", name);
        c->r->objects_bad++;
        return 0;
    }
    spill_index_row r;
    if (spill_index_get(c->st->ix, id, &r) == SPILL_E_NOTFOUND) {
        char hex[SPILL_ID_HEX + 1];
        spill__id_to_hex(id, hex);
        if (c->r->objects_ok + c->r->objects_bad > 0) /* else one line for all, below */
            spill__say(c->fn, c->ud, "orphan %s: file without index row (spill reindex indexes it)", hex);
        c->r->orphans++;
    }
    return 0;
}

int spill_store_verify(spill_store *st, const char *const *ids, size_t n, spill_verify_report *r,
                       spill_msg_fn fn, void *ud)
{
    spill_verify_report local;
    if (!r)
        r = &local;
    memset(r, 0, sizeof *r);
    verify_ctx c = {st, r, fn, ud};
    if (n == 0) {
        int rc = spill_index_list(st->ix, verify_row, &c);
        if (rc < 0)
            return spill__fail(st, rc, "%s", spill_index_errmsg(st->ix));
        if ((rc = spill__walk_objects(st, orphan_check, &c)) != 0)
            return spill__fail(st, rc, "walking %s/objects: %s", st->dir, spill_strerror(rc));
        /* No row at all, no file doomed by a GC, but object files: the index was
         * lost, not every object. */
        spill_index_stats is;
        if (r->objects_ok + r->objects_bad == 0 && r->orphans > 0 &&
            spill_index_get_stats(st->ix, &is) == 0 && is.doomed == 0) {
            r->index_lost = 1;
            spill__say(fn, ud, "index lost or empty, run spill reindex (%llu object files are not in it)",
                (unsigned long long)r->orphans);
        }
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t id[16];
        char hex[SPILL_ID_HEX + 1];
        spill_index_row row;
        int rc = spill_store_resolve(st, ids[i], hex);
        if (rc == 0) {
            spill__hex_to_id(hex, id);
            rc = spill_index_get(st->ix, id, &row);
        }
        if (rc) {
            spill__say(fn, ud, "BAD %s: %s", ids[i], st->err[0] ? st->err : spill_strerror(rc));
            r->objects_bad++;
            continue;
        }
        verify_row(&c, &row);
    }
    return 0;
}

/* ---- GC ---- */

void spill_gc_opts_init(spill_gc_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_bytes = 10ull << 30;
    o->ttl_s = 7 * 24 * 3600;
    o->grace_s = 3600;
}

typedef struct gc_ctx {
    spill_store *st;
    const spill_gc_opts *o;
    spill_gc_report *r;
    spill_msg_fn fn;
    void *ud;
    int xxfd;
    const char *name;
    const uint8_t *id;
    time_t now;
} gc_ctx;

static int session_live(void *ud, int64_t pid, uint64_t start)
{
    (void)ud;
    if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH))
        return 0;
    uint64_t now_start = spill__proc_start((long)pid);
    return start == 0 || now_start == 0 || now_start == start;
}

static void gc_victim(void *ud, const spill_index_row *row, const char *reason)
{
    gc_ctx *c = ud;
    char hex[SPILL_ID_HEX + 1];
    spill__id_to_hex(row->id, hex);
    c->r->removed++;
    c->r->removed_bytes += row->comp_size;
    spill__say(c->fn, c->ud, "%s %s %llu bytes (%s)", c->o->dry_run ? "would remove" : "remove", hex,
        (unsigned long long)row->comp_size, reason);
}

static int gc_unlink(void *ud, const uint8_t id[16])
{
    gc_ctx *c = ud;
    int xxfd = spill__open_fanout(c->st, id, 0);
    if (xxfd < 0)
        return xxfd == -ENOENT ? 0 : xxfd;
    char name[40];
    spill__object_name(id, name);
    int rc = unlinkat(xxfd, name, 0) == 0 || errno == ENOENT ? 0 : -errno;
    close(xxfd);
    if (rc == 0)
        spill__drop_view(c->st, id);
    return rc;
}

static int unlink_orphan(void *ud)
{
    gc_ctx *c = ud;
    int rc = unlinkat(c->xxfd, c->name, 0) == 0 || errno == ENOENT ? 0 : -errno;
    if (rc == 0)
        spill__drop_view(c->st, c->id);
    return rc;
}

static int gc_orphan(void *ud, int xxfd, const char *name, const uint8_t *id, const struct stat *sb)
{
    gc_ctx *c = ud;
    if (!id || c->now - sb->st_mtime <= c->o->grace_s)
        return 0;
    spill_index_row r;
    if (spill_index_get(c->st->ix, id, &r) != SPILL_E_NOTFOUND)
        return 0;
    char hex[SPILL_ID_HEX + 1];
    spill__id_to_hex(id, hex);
    /* A whole, valid object without a row is what a lost index or a crash before the
     * commit leaves: it is indexed again, never removed for want of a row. */
    const char *problem = NULL;
    int rc = spill__index_file(c->st, xxfd, name, id, sb, c->o->dry_run, NULL, &problem);
    if (rc == 1) {
        spill__say(c->fn, c->ud, "%s orphan %s again", c->o->dry_run ? "would index" : "index", hex);
        c->r->orphans_indexed++;
    }
    if (rc != SPILL_E_CORRUPT) /* indexed, or kept while unsure (out of memory, EIO) */
        return rc == SPILL_E_NOMEM ? rc : 0;
    if (c->o->dry_run) {
        spill__say(c->fn, c->ud, "would remove orphan %s (%s)", hex, problem);
        c->r->orphans_removed++;
        return 0;
    }
    c->xxfd = xxfd;
    c->name = name;
    c->id = id;
    /* Re-checked under the write lock: a put may be committing this very id. */
    rc = spill_index_if_unindexed(c->st->ix, id, unlink_orphan, c);
    if (rc == 0) {
        c->r->orphans_removed++;
        spill__say(c->fn, c->ud, "remove orphan %s (%s)", hex, problem);
    }
    return rc < 0 ? rc : 0;
}

int spill_store_gc(spill_store *st, const spill_gc_opts *o, spill_gc_report *r, spill_msg_fn fn,
                   void *ud)
{
    spill_gc_report local;
    spill_gc_opts defaults;
    if (!r)
        r = &local;
    if (!o) {
        spill_gc_opts_init(&defaults);
        o = &defaults;
    }
    memset(r, 0, sizeof *r);
    if (st->opts.read_only && !o->dry_run)
        return spill__fail(st, -EROFS, "store opened read-only");
    gc_ctx c = {st, o, r, fn, ud, -1, NULL, NULL, time(NULL)};
    int rc;
    if (!o->dry_run)
        spill__sweep_temps(st, o->grace_s, &r->temps_removed);
    /* Files a crashed GC doomed go first, so that the orphan walk below cannot take
     * them for objects whose rows were lost; the orphans it indexes again are then
     * subject to the policy like every other object. */
    if (!o->dry_run && (rc = spill_index_gc_reap(st->ix, gc_unlink, &c, NULL)) != 0)
        return spill__fail(st, rc, "gc: %s", spill_index_errmsg(st->ix));
    if ((rc = spill__walk_objects(st, gc_orphan, &c)) != 0)
        return spill__fail(st, rc, "gc: orphan sweep: %s", spill_strerror(rc));
    spill_index_gc g = {o->max_bytes, o->ttl_s * 1000000000, spill__now_ns(), o->dry_run,
                        session_live, gc_victim, &c, 0, 0};
    if ((rc = spill_index_gc_select(st->ix, &g)) != 0)
        return spill__fail(st, rc, "gc: %s", spill_index_errmsg(st->ix));
    r->kept = g.kept;
    r->kept_bytes = g.kept_bytes;
    if (!o->dry_run && (rc = spill_index_gc_reap(st->ix, gc_unlink, &c, NULL)) != 0)
        return spill__fail(st, rc, "gc: %s", spill_index_errmsg(st->ix));
    return 0;
}

int spill_store_get_stats(spill_store *st, spill_store_stats *s)
{
    spill_index_stats is;
    memset(s, 0, sizeof *s);
    int rc = spill_index_get_stats(st->ix, &is);
    if (rc)
        return spill__fail(st, rc, "%s", spill_index_errmsg(st->ix));
    s->objects = is.objects;
    s->raw_bytes = is.raw_bytes;
    s->comp_bytes = is.comp_bytes;
    s->pinned = is.pinned;
    s->events = is.events;
    s->sessions = is.sessions;
    s->index_map_size = is.map_size;
    s->index_used_bytes = is.used_bytes;
    return 0;
}

typedef struct events_ctx {
    int filter;
    uint8_t id[16];
    spill_event_fn fn;
    void *ud;
} events_ctx;

static int event_cb(void *ud, const spill_index_logged *l)
{
    events_ctx *c = ud;
    if (c->filter && memcmp(l->id, c->id, 16) != 0)
        return 0;
    spill_event e;
    spill__id_to_hex(l->id, e.id);
    e.time_ns = l->ev.time_ns;
    e.session = l->ev.session;
    e.server = l->ev.server;
    e.tool = l->ev.tool;
    e.request_id = l->ev.request_id;
    return c->fn(c->ud, &e);
}

int spill_store_events(spill_store *st, const char *id_or_prefix, spill_event_fn fn, void *ud)
{
    events_ctx c = {0, {0}, fn, ud};
    if (id_or_prefix) {
        char hex[SPILL_ID_HEX + 1];
        int rc = spill_store_resolve(st, id_or_prefix, hex);
        if (rc)
            return rc;
        spill__hex_to_id(hex, c.id);
        c.filter = 1;
    }
    int rc = spill_index_events(st->ix, event_cb, &c);
    return rc < 0 ? spill__fail(st, rc, "log: %s", rc == SPILL_E_NOMEM ? "out of memory"
                                                                      : spill_index_errmsg(st->ix))
                  : 0;
}
