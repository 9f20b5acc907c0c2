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
#include <stdlib.h>
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
                      const struct stat *sb, int dry_run, const spill_index_row *hint,
                      const char **problem)
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
        /* What only the old index knew, if it describes this very content. */
        if (hint && hint->raw_size == row.raw_size && hint->xxh64 == row.xxh64) {
            row.tokens = hint->tokens;
            row.pins = hint->pins;
            row.access_count = hint->access_count;
            row.created_ns = hint->created_ns;
            if (hint->atime_ns > 0)
                row.atime_ns = hint->atime_ns;
            memcpy(row.token_counter, hint->token_counter, sizeof row.token_counter);
            memcpy(row.name, hint->name, sizeof row.name);
        }
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

/* What a damaged index still knows of an object and the files do not. */
typedef struct rescued {
    spill_index_row row;
} rescued;

typedef struct reindex_ctx {
    spill_store *st;
    spill_reindex_report *r;
    spill_msg_fn fn;
    void *ud;
    rescued *old;  /* sorted by id */
    size_t nold, capold;
} reindex_ctx;

/* Rows kept from a damaged index: 35 MB at most; past that, objects are indexed from their
 * files alone (without the name and token count the index had). */
enum { RESCUE_MAX = 1 << 16 };

static int rescue_cb(void *p, const spill_index_row *r)
{
    reindex_ctx *c = p;
    if (c->nold == c->capold) {
        size_t cap = c->capold ? c->capold * 2 : 256;
        rescued *m = cap <= RESCUE_MAX ? realloc(c->old, cap * sizeof *m) : NULL;
        if (!m)
            return 1; /* enough: the rest is indexed from the files alone */
        c->old = m;
        c->capold = cap;
    }
    c->old[c->nold++].row = *r;
    return 0;
}

static int by_id(const void *a, const void *b) { return memcmp(a, b, 16); }

#define say(c, ...) spill__say((c)->fn, (c)->ud, __VA_ARGS__)

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
    const rescued *hint = c->nold ? bsearch(id, c->old, c->nold, sizeof *c->old, by_id) : NULL;
    int rc = spill__index_file(c->st, xxfd, name, id, sb, 0, hint ? &hint->row : NULL, &problem);
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
    int rc = spill__store_open(&st, o, SPILL__OPEN_ASIDE);
    if (rc)
        return rc;
    reindex_ctx c = {st, r, fn, ud, NULL, 0, 0};
    if (st->moved_aside[0]) {
        r->moved_aside = 1;
        char old[PATH_MAX + 64];
        snprintf(old, sizeof old, "%s/%s", st->dir, st->moved_aside);
        int n = spill_index_salvage(old, rescue_cb, &c);
        say(&c, "the damaged index is now %s; starting a new one (%d rows of it could still be "
            "read: their names and token counts are kept)", old, n > 0 ? n : 0);
        if (c.nold)
            qsort(c.old, c.nold, sizeof *c.old, by_id); /* row first: ids sort the array */
    }
    if ((rc = spill__walk_objects(st, reindex_one, &c)) != 0)
        say(&c, "reindex stopped: %s", spill_strerror(rc));
    free(c.old);
    spill_store_close(st);
    return rc;
}
