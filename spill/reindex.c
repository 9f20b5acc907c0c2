/* reindex.c - rows rebuilt from the object files.
 *
 * An object file describes itself (its metadata frame holds the sizes, the line
 * count, the media type, the creation time and both content hashes), so the index is
 * a cache of the files that can be rebuilt: after it is lost, damaged, or when a
 * crash came between a file's rename and its row's commit. A file is indexed only
 * when it is whole and its content hashes to its name; anything else is left for
 * verify to report and GC to remove. The name and the token count are not in the
 * file: a rebuilt row has none. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_impl.h"

typedef struct still_ud { int xxfd; const char *name; const struct stat *sb; } still_ud;

/* Runs under the index's writer lock: GC may have unlinked the file since we read it
 * (and a new put may have linked another one under the name: then its own commit
 * indexes it). */
static int still_there(void *p)
{
    still_ud *u = p;
    struct stat now;
    if (fstatat(u->xxfd, u->name, &now, AT_SYMLINK_NOFOLLOW) != 0)
        return -errno;
    return now.st_ino == u->sb->st_ino && now.st_dev == u->sb->st_dev ? 0 : -ENOENT;
}

int spill__index_file(spill_store *st, int xxfd, const char *name, const uint8_t id[16],
                      const struct stat *sb, int dry_run, const char **problem)
{
    spill_index_row row;
    *problem = NULL;
    int rc = spill_index_get(st->ix, id, &row);
    if (rc != SPILL_E_NOTFOUND)
        return rc == 0 ? 0 : rc;
    int fd = openat(xxfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    spill__obj o;
    spill__digest d;
    const char *why = NULL;
    if ((rc = spill__obj_open(&o, fd)) != 0) {
        why = o.err[0] ? o.err : spill_strerror(rc);
        if (rc == SPILL_E_FORMAT)
            rc = SPILL_E_CORRUPT; /* no trailer at all: a torn or foreign file */
    } else if ((rc = spill__obj_check(&o, id, &d, &why)) == 0 && !dry_run) {
        memset(&row, 0, sizeof row);
        memcpy(row.id, id, 16);
        row.raw_size = o.meta.raw_size;
        row.comp_size = o.file_size;
        row.lines = o.lines;
        row.xxh64 = d.xxh64;
        row.frame_size = o.meta.frame_size;
        row.nframes = o.nframes;
        row.created_ns = o.meta.created_ns;
        /* Last use unknown: the file's time, so TTL and LRU treat it as of then. */
        int64_t mt = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
        row.atime_ns = mt > row.created_ns ? mt : row.created_ns;
        snprintf(row.mime, sizeof row.mime, "%s", o.meta.mime);
        still_ud u = {xxfd, name, sb};
        int existed = 0;
        rc = spill_index_commit(st->ix, &row, NULL, still_there, &u, &existed);
        if (rc == 0 && existed)
            rc = 2; /* a put indexed it meanwhile */
        else if (rc && rc != -ENOENT)
            why = spill_index_errmsg(st->ix);
    }
    if (why && rc)
        spill__fail(st, rc, "%s", why); /* copied: why may point into o */
    spill__obj_close(&o);
    *problem = st->err;
    if (rc == 2 || rc == -ENOENT)
        return 0;
    return rc == 0 ? 1 : rc;
}

typedef struct reindex_ctx {
    spill_store *st;
    spill_reindex_report *r;
    spill_msg_fn fn;
    void *ud;
} reindex_ctx;

static void say(reindex_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(reindex_ctx *c, const char *fmt, ...)
{
    if (!c->fn)
        return;
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    c->fn(c->ud, buf);
}

static int reindex_one(void *p, int xxfd, const char *name, const uint8_t *id, const struct stat *sb)
{
    reindex_ctx *c = p;
    if (!id) {
        say(c, "skip objects/?/%s: not an object file (symlink or stray name)", name);
        return 0;
    }
    char hex[SPILL_ID_HEX + 1];
    spill__id_to_hex(id, hex);
    const char *problem;
    int rc = spill__index_file(c->st, xxfd, name, id, sb, 0, &problem);
    if (rc == 1)
        c->r->indexed++;
    else if (rc == 0)
        c->r->already++;
    else if (rc == SPILL_E_NOMEM)
        return rc;
    else {
        c->r->bad++;
        say(c, "BAD %s: %s (left as it is)", hex, problem && *problem ? problem : spill_strerror(rc));
    }
    return 0;
}

int spill_store_reindex(const spill_store_opts *o, spill_reindex_report *r, spill_msg_fn fn, void *ud)
{
    spill_reindex_report local;
    if (!r)
        r = &local;
    memset(r, 0, sizeof *r);
    if (!o || o->read_only)
        return SPILL_E_INVAL;
    spill_store *st;
    int rc = spill__store_open(&st, o, 1);
    if (rc)
        return rc;
    reindex_ctx c = {st, r, fn, ud};
    if (st->moved_aside[0]) {
        r->moved_aside = 1;
        say(&c, "the damaged index is now %s/%s; starting a new one", st->dir, st->moved_aside);
    }
    if ((rc = spill__walk_objects(st, reindex_one, &c)) != 0)
        say(&c, "reindex stopped: %s", spill_strerror(rc));
    spill_store_close(st);
    return rc;
}
