/* index.c - LMDB index of a spill store. See index.h for the contract.
 *
 * Every write goes through ix_write(), which owns the two LMDB chores a
 * multi-process store needs: MDB_MAP_RESIZED (another process grew the map: adopt
 * its size) and MDB_MAP_FULL (grow the map by doubling and re-run the body). Bodies
 * are therefore written to be re-runnable. Row values are a versioned LE layout so
 * the file is portable and never depends on struct padding. */
#define _GNU_SOURCE
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../spill/internal.h"
#include "index.h"

struct spill_index {
    MDB_env *env;
    MDB_dbi objects, by_atime, events, by_session, sessions, doomed;
    int read_only;
    uint32_t event_seq;
    char err[256];
};

enum { ROW_FIXED = 84, ROW_VERSION = 1, MAX_TRIES = 64 };

/* LMDB turns a short write of its pages into EIO ("TODO: Use which error code?" in
 * mdb_page_flush), and a full disk gives exactly that: pwrite writes what fits. So
 * an EIO from a commit on a file system with (almost) no room left is reported as
 * what it is. The margin covers the pages one commit writes. */
static int write_errno(spill_index *ix, int rc)
{
    enum { MARGIN = 4 << 20 };
    int fd;
    struct statvfs vs;
    if (rc == EIO && mdb_env_get_fd(ix->env, &fd) == 0 && fstatvfs(fd, &vs) == 0 &&
        (uint64_t)vs.f_bavail * vs.f_frsize < MARGIN)
        return ENOSPC;
    return rc;
}

static int fail(spill_index *ix, int rc, const char *what)
{
    if (rc == EIO)
        rc = write_errno(ix, rc);
    if (rc > 0) {
        snprintf(ix->err, sizeof ix->err, "index: %s: %s", what, strerror(rc));
        return -rc;
    }
    if (rc <= -1000 && rc >= -1099)
        return rc; /* a spill code from a body */
    snprintf(ix->err, sizeof ix->err, "index: %s: %s", what, mdb_strerror(rc));
    return SPILL_E_INDEX;
}

const char *spill_index_errmsg(const spill_index *ix) { return ix->err; }

/* ---- row encoding ---- */

static size_t row_encode(const spill_index_row *r, unsigned char *b)
{
    size_t cl = strnlen(r->token_counter, sizeof r->token_counter - 1);
    size_t ml = strnlen(r->mime, sizeof r->mime - 1);
    size_t nl = strnlen(r->name, 255);
    b[0] = ROW_VERSION;
    b[1] = (unsigned char)cl;
    b[2] = (unsigned char)ml;
    b[3] = (unsigned char)nl;
    spill__put32(b + 4, r->frame_size);
    spill__put32(b + 8, r->nframes);
    spill__put32(b + 12, r->pins);
    spill__put32(b + 16, 0);
    spill__put64(b + 20, r->raw_size);
    spill__put64(b + 28, r->comp_size);
    spill__put64(b + 36, r->lines);
    spill__put64(b + 44, r->tokens);
    spill__put64(b + 52, r->xxh64);
    spill__put64(b + 60, (uint64_t)r->created_ns);
    spill__put64(b + 68, (uint64_t)r->atime_ns);
    spill__put64(b + 76, r->access_count);
    memcpy(b + ROW_FIXED, r->token_counter, cl);
    memcpy(b + ROW_FIXED + cl, r->mime, ml);
    memcpy(b + ROW_FIXED + cl + ml, r->name, nl);
    return ROW_FIXED + cl + ml + nl;
}

static int row_decode(const MDB_val *k, const MDB_val *v, spill_index_row *r)
{
    const unsigned char *b = v->mv_data;
    if (k->mv_size != 16 || v->mv_size < ROW_FIXED || b[0] != ROW_VERSION)
        return SPILL_E_INDEX;
    size_t cl = b[1], ml = b[2], nl = b[3];
    if (v->mv_size != ROW_FIXED + cl + ml + nl || cl >= sizeof r->token_counter ||
        ml >= sizeof r->mime)
        return SPILL_E_INDEX;
    memset(r, 0, sizeof *r);
    memcpy(r->id, k->mv_data, 16);
    r->frame_size = spill__get32(b + 4);
    r->nframes = spill__get32(b + 8);
    r->pins = spill__get32(b + 12);
    r->raw_size = spill__get64(b + 20);
    r->comp_size = spill__get64(b + 28);
    r->lines = spill__get64(b + 36);
    r->tokens = spill__get64(b + 44);
    r->xxh64 = spill__get64(b + 52);
    r->created_ns = (int64_t)spill__get64(b + 60);
    r->atime_ns = (int64_t)spill__get64(b + 68);
    r->access_count = spill__get64(b + 76);
    memcpy(r->token_counter, b + ROW_FIXED, cl);
    memcpy(r->mime, b + ROW_FIXED + cl, ml);
    memcpy(r->name, b + ROW_FIXED + cl + ml, nl);
    return 0;
}

int spill__index_row_decode(const void *key, size_t klen, const void *val, size_t vlen,
                            spill_index_row *r)
{
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    return row_decode(&k, &v, r);
}

static void atime_key(unsigned char k[24], int64_t t, const uint8_t id[16])
{
    uint64_t u = (uint64_t)t;
    for (int i = 0; i < 8; i++)
        k[i] = (unsigned char)(u >> (56 - 8 * i)); /* big-endian: cursor order = time order */
    memcpy(k + 8, id, 16);
}

/* ---- transactions ---- */

typedef int (*txn_body)(spill_index *ix, MDB_txn *t, void *ud);


static int grow(spill_index *ix)
{
    MDB_envinfo info;
    mdb_env_info(ix->env, &info);
    return mdb_env_set_mapsize(ix->env, info.me_mapsize * 2);
}

static int begin(spill_index *ix, unsigned flags, MDB_txn **t)
{
    for (int tries = 0;; tries++) {
        int rc = mdb_txn_begin(ix->env, NULL, flags, t);
        if (rc == MDB_MAP_RESIZED && tries < MAX_TRIES) {
            mdb_env_set_mapsize(ix->env, 0); /* adopt the size another process set */
            continue;
        }
        if (rc == MDB_READERS_FULL && tries < MAX_TRIES) {
            int dead;
            mdb_reader_check(ix->env, &dead);
            if (dead > 0)
                continue;
        }
        return rc ? fail(ix, rc, "begin transaction") : 0;
    }
}

static int ix_write(spill_index *ix, txn_body body, void *ud, int nosync)
{
    if (ix->read_only)
        return -EROFS;
    if (nosync)
        mdb_env_set_flags(ix->env, MDB_NOSYNC, 1);
    int rc;
    for (int tries = 0;; tries++) {
        MDB_txn *t;
        if ((rc = begin(ix, 0, &t)) != 0)
            break;
        rc = body(ix, t, ud);
        if (rc == 0)
            rc = mdb_txn_commit(t);
        else
            mdb_txn_abort(t);
        if (rc == MDB_MAP_FULL && tries < MAX_TRIES) {
            int g = grow(ix);
            if (g == 0)
                continue;
            rc = g;
        }
        rc = rc ? fail(ix, rc, "write") : 0;
        break;
    }
    if (nosync)
        mdb_env_set_flags(ix->env, MDB_NOSYNC, 0);
    return rc;
}

typedef int (*read_body)(spill_index *ix, MDB_txn *t, void *ud);
static int ix_read(spill_index *ix, read_body body, void *ud)
{
    MDB_txn *t;
    int rc = begin(ix, MDB_RDONLY, &t);
    if (rc)
        return rc;
    rc = body(ix, t, ud);
    mdb_txn_abort(t);
    return rc > 0 || (rc < 0 && rc < -1099) ? fail(ix, rc, "read") : rc;
}

/* ---- open/close ---- */

int spill_index_open(spill_index **out, const char *dir, size_t map_size, int read_only)
{
    *out = NULL;
    spill_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return SPILL_E_NOMEM;
    ix->read_only = read_only;
    int rc = mdb_env_create(&ix->env);
    if (rc) {
        free(ix);
        return SPILL_E_NOMEM;
    }
    mdb_env_set_maxdbs(ix->env, 8);
    mdb_env_set_maxreaders(ix->env, 512);
    if (map_size)
        mdb_env_set_mapsize(ix->env, map_size);
    /* NOMETASYNC: a system crash may undo the last commit, never corrupt the index;
     * the object files are self-describing, so an undone row is only an orphan. */
    unsigned flags = MDB_NOTLS | MDB_NOMETASYNC | (read_only ? MDB_RDONLY : 0);
    rc = mdb_env_open(ix->env, dir, flags, 0600);
    if (rc) {
        int e = fail(ix, rc, "open");
        mdb_env_close(ix->env);
        free(ix);
        return e;
    }
    int dead;
    mdb_reader_check(ix->env, &dead);
    MDB_txn *t;
    if ((rc = begin(ix, read_only ? MDB_RDONLY : 0, &t)) != 0)
        goto err;
    unsigned c = read_only ? 0 : MDB_CREATE;
    if ((rc = mdb_dbi_open(t, "objects", c, &ix->objects)) ||
        (rc = mdb_dbi_open(t, "by_atime", c, &ix->by_atime)) ||
        (rc = mdb_dbi_open(t, "events", c, &ix->events)) ||
        (rc = mdb_dbi_open(t, "by_session", c | MDB_DUPSORT | MDB_DUPFIXED, &ix->by_session)) ||
        (rc = mdb_dbi_open(t, "sessions", c, &ix->sessions)) ||
        (rc = mdb_dbi_open(t, "doomed", c, &ix->doomed))) {
        mdb_txn_abort(t);
        rc = fail(ix, rc, "open databases");
        goto err;
    }
    if ((rc = mdb_txn_commit(t)) != 0) {
        rc = fail(ix, rc, "open databases");
        goto err;
    }
    *out = ix;
    return 0;
err:
    mdb_env_close(ix->env);
    free(ix);
    return rc;
}

void spill_index_close(spill_index *ix)
{
    if (!ix)
        return;
    mdb_env_close(ix->env);
    free(ix);
}

/* ---- lookups ---- */

struct get_ud { const uint8_t *id; spill_index_row *row; };
static int get_body(spill_index *ix, MDB_txn *t, void *p)
{
    struct get_ud *u = p;
    MDB_val k = {16, (void *)u->id}, v;
    int rc = mdb_get(t, ix->objects, &k, &v);
    if (rc == MDB_NOTFOUND)
        return SPILL_E_NOTFOUND;
    return rc ? rc : row_decode(&k, &v, u->row);
}

int spill_index_get(spill_index *ix, const uint8_t id[16], spill_index_row *row)
{
    struct get_ud u = {id, row};
    return ix_read(ix, get_body, &u);
}

struct resolve_ud { const uint8_t *prefix; int nibbles; uint8_t *id; };
static int prefix_match(const uint8_t *a, const uint8_t *b, int nibbles)
{
    int full = nibbles / 2;
    if (memcmp(a, b, (size_t)full) != 0)
        return 0;
    return nibbles % 2 == 0 || (a[full] >> 4) == (b[full] >> 4);
}
static int resolve_body(spill_index *ix, MDB_txn *t, void *p)
{
    struct resolve_ud *u = p;
    MDB_cursor *c;
    int rc = mdb_cursor_open(t, ix->objects, &c);
    if (rc)
        return rc;
    MDB_val k = {16, (void *)u->prefix}, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    if (rc == 0 && k.mv_size == 16 && prefix_match(k.mv_data, u->prefix, u->nibbles)) {
        memcpy(u->id, k.mv_data, 16);
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
        if (rc == 0 && prefix_match(k.mv_data, u->prefix, u->nibbles))
            rc = SPILL_E_AMBIGUOUS;
        else
            rc = rc == MDB_NOTFOUND ? 0 : rc;
    } else {
        rc = rc == 0 || rc == MDB_NOTFOUND ? SPILL_E_NOTFOUND : rc;
    }
    mdb_cursor_close(c);
    return rc;
}

int spill_index_resolve(spill_index *ix, const uint8_t prefix[16], int nibbles, uint8_t id[16])
{
    struct resolve_ud u = {prefix, nibbles, id};
    return ix_read(ix, resolve_body, &u);
}

/* ---- commit ---- */

struct commit_ud {
    const spill_index_row *row;
    const spill_index_event *ev;
    int (*ensure)(void *);
    void *ud;
    int existed;
};

static int put_row(spill_index *ix, MDB_txn *t, const spill_index_row *r)
{
    unsigned char buf[ROW_FIXED + 32 + 128 + 256];
    MDB_val k = {16, (void *)r->id}, v = {row_encode(r, buf), buf};
    return mdb_put(t, ix->objects, &k, &v, 0);
}

static int set_atime(spill_index *ix, MDB_txn *t, const uint8_t id[16], int64_t old, int64_t now)
{
    unsigned char kb[24];
    MDB_val k = {24, kb}, v = {0, NULL};
    if (old >= 0) {
        atime_key(kb, old, id);
        int rc = mdb_del(t, ix->by_atime, &k, NULL);
        if (rc && rc != MDB_NOTFOUND)
            return rc;
    }
    atime_key(kb, now, id);
    return mdb_put(t, ix->by_atime, &k, &v, 0);
}

static size_t put_str(unsigned char *b, const char *s)
{
    size_t n = s ? strnlen(s, 255) : 0;
    b[0] = (unsigned char)n;
    if (n)
        memcpy(b + 1, s, n);
    return 1 + n;
}

static int put_event(spill_index *ix, MDB_txn *t, const uint8_t id[16], const spill_index_event *ev)
{
    unsigned char kb[16], vb[16 + 4 * 256];
    uint64_t tm = (uint64_t)ev->time_ns;
    uint32_t pid = (uint32_t)getpid(), seq = ix->event_seq++;
    for (int i = 0; i < 8; i++)
        kb[i] = (unsigned char)(tm >> (56 - 8 * i));
    for (int i = 0; i < 4; i++) {
        kb[8 + i] = (unsigned char)(pid >> (24 - 8 * i));
        kb[12 + i] = (unsigned char)(seq >> (24 - 8 * i));
    }
    memcpy(vb, id, 16);
    size_t n = 16;
    n += put_str(vb + n, ev->session);
    n += put_str(vb + n, ev->server);
    n += put_str(vb + n, ev->tool);
    n += put_str(vb + n, ev->request_id);
    MDB_val k = {16, kb}, v = {n, vb};
    int rc = mdb_put(t, ix->events, &k, &v, 0);
    if (rc || !ev->session || !*ev->session)
        return rc;
    MDB_val sk = {strnlen(ev->session, 255), (void *)ev->session}, sv = {16, (void *)id};
    rc = mdb_put(t, ix->by_session, &sk, &sv, MDB_NODUPDATA);
    return rc == MDB_KEYEXIST ? 0 : rc;
}

static int commit_body(spill_index *ix, MDB_txn *t, void *p)
{
    struct commit_ud *u = p;
    int rc;
    /* Run under the writer lock: a GC in another process cannot unlink the file
     * between this check and our commit. */
    if (u->ensure && (rc = u->ensure(u->ud)) != 0)
        return rc;
    MDB_val k = {16, (void *)u->row->id}, v;
    rc = mdb_get(t, ix->objects, &k, &v);
    if (rc == 0) {
        spill_index_row old;
        if ((rc = row_decode(&k, &v, &old)) != 0)
            return rc;
        u->existed = 1;
        int64_t now = u->row->atime_ns;
        if ((rc = set_atime(ix, t, old.id, old.atime_ns, now)) != 0)
            return rc;
        old.atime_ns = now;
        /* The file facts come from the caller, who just looked at the file: it may have
         * replaced a damaged copy written with other settings. History stays. */
        old.raw_size = u->row->raw_size;
        old.comp_size = u->row->comp_size;
        old.lines = u->row->lines;
        old.xxh64 = u->row->xxh64;
        old.frame_size = u->row->frame_size;
        old.nframes = u->row->nframes;
        if ((rc = put_row(ix, t, &old)) != 0)
            return rc;
    } else if (rc == MDB_NOTFOUND) {
        u->existed = 0;
        if ((rc = put_row(ix, t, u->row)) != 0 ||
            (rc = set_atime(ix, t, u->row->id, -1, u->row->atime_ns)) != 0)
            return rc;
    } else {
        return rc;
    }
    rc = mdb_del(t, ix->doomed, &k, NULL);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    return u->ev ? put_event(ix, t, u->row->id, u->ev) : 0;
}

int spill_index_commit(spill_index *ix, const spill_index_row *row, const spill_index_event *ev,
                       int (*ensure)(void *ud), void *ud, int *existed)
{
    struct commit_ud u = {row, ev, ensure, ud, 0};
    int rc = ix_write(ix, commit_body, &u, 0);
    if (existed)
        *existed = u.existed;
    return rc;
}

/* ---- touch, pin ---- */

struct touch_ud { const uint8_t *id; int64_t now; int pin; };
static int touch_body(spill_index *ix, MDB_txn *t, void *p)
{
    struct touch_ud *u = p;
    MDB_val k = {16, (void *)u->id}, v;
    int rc = mdb_get(t, ix->objects, &k, &v);
    if (rc == MDB_NOTFOUND)
        return SPILL_E_NOTFOUND;
    spill_index_row r;
    if (rc || (rc = row_decode(&k, &v, &r)) != 0)
        return rc;
    if (u->pin) {
        if (u->pin < 0 && r.pins == 0)
            return 0;
        r.pins = (uint32_t)((int64_t)r.pins + u->pin);
    } else {
        if ((rc = set_atime(ix, t, r.id, r.atime_ns, u->now)) != 0)
            return rc;
        r.atime_ns = u->now;
        r.access_count++;
    }
    return put_row(ix, t, &r);
}

int spill_index_touch(spill_index *ix, const uint8_t id[16], int64_t now_ns)
{
    struct touch_ud u = {id, now_ns, 0};
    return ix_write(ix, touch_body, &u, 1);
}

int spill_index_pin(spill_index *ix, const uint8_t id[16], int delta)
{
    struct touch_ud u = {id, 0, delta < 0 ? -1 : 1};
    return ix_write(ix, touch_body, &u, 0);
}

/* ---- sessions ---- */

struct session_ud { const char *name; int64_t pid; uint64_t start; int end; };
static int session_body(spill_index *ix, MDB_txn *t, void *p)
{
    struct session_ud *u = p;
    MDB_val k = {strnlen(u->name, 255), (void *)u->name};
    if (u->end) {
        int rc = mdb_del(t, ix->sessions, &k, NULL);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    unsigned char b[16];
    spill__put64(b, (uint64_t)u->pid);
    spill__put64(b + 8, u->start);
    MDB_val v = {16, b};
    return mdb_put(t, ix->sessions, &k, &v, 0);
}

int spill_index_session_begin(spill_index *ix, const char *session, int64_t pid, uint64_t start)
{
    if (!session || !*session || strlen(session) > 255)
        return SPILL_E_INVAL;
    struct session_ud u = {session, pid, start, 0};
    return ix_write(ix, session_body, &u, 0);
}

int spill_index_session_end(spill_index *ix, const char *session)
{
    if (!session || !*session || strlen(session) > 255)
        return SPILL_E_INVAL;
    struct session_ud u = {session, 0, 0, 1};
    return ix_write(ix, session_body, &u, 0);
}

/* ---- list ---- */

/* Rows are copied out in batches so fn never runs inside our read transaction
 * (it may want to write, and long read transactions pin pages). */
int spill_index_list(spill_index *ix, int (*fn)(void *ud, const spill_index_row *r), void *ud)
{
    enum { BATCH = 256 };
    spill_index_row *rows = malloc(BATCH * sizeof *rows);
    if (!rows)
        return SPILL_E_NOMEM;
    uint8_t next[16] = {0};
    int first = 1, rc = 0;
    for (;;) {
        MDB_txn *t;
        MDB_cursor *c;
        size_t n = 0;
        if ((rc = begin(ix, MDB_RDONLY, &t)) != 0)
            break;
        if ((rc = mdb_cursor_open(t, ix->objects, &c)) != 0) {
            mdb_txn_abort(t);
            rc = fail(ix, rc, "list");
            break;
        }
        MDB_val k = {16, next}, v;
        int op = MDB_SET_RANGE;
        while (n < BATCH && (rc = mdb_cursor_get(c, &k, &v, op)) == 0) {
            op = MDB_NEXT;
            if (!first && memcmp(k.mv_data, next, 16) == 0)
                continue; /* the last row of the previous batch */
            if (row_decode(&k, &v, &rows[n]) == 0)
                n++;
        }
        mdb_cursor_close(c);
        mdb_txn_abort(t);
        if (rc && rc != MDB_NOTFOUND) {
            rc = fail(ix, rc, "list");
            break;
        }
        int done = rc == MDB_NOTFOUND;
        rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = fn(ud, &rows[i]);
        if (rc || done || n == 0)
            break;
        memcpy(next, rows[n - 1].id, 16);
        first = 0;
    }
    free(rows);
    return rc;
}

/* ---- GC ---- */

typedef struct idset { uint8_t (*ids)[16]; size_t n, cap; } idset;
static int idset_add(idset *s, const uint8_t id[16])
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        void *p = realloc(s->ids, cap * 16);
        if (!p)
            return SPILL_E_NOMEM;
        s->ids = p;
        s->cap = cap;
    }
    memcpy(s->ids[s->n++], id, 16);
    return 0;
}
static int id_cmp(const void *a, const void *b) { return memcmp(a, b, 16); }
static int idset_has(const idset *s, const uint8_t id[16])
{
    return s->n && bsearch(id, s->ids, s->n, 16, id_cmp) != NULL;
}

/* Objects of live sessions: the GC roots besides pins. */
static int live_roots(spill_index *ix, MDB_txn *t, spill_index_gc *gc, idset *roots)
{
    MDB_cursor *c, *d;
    int rc = mdb_cursor_open(t, ix->sessions, &c);
    if (rc)
        return rc;
    if ((rc = mdb_cursor_open(t, ix->by_session, &d)) != 0) {
        mdb_cursor_close(c);
        return rc;
    }
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (v.mv_size != 16)
            continue;
        const unsigned char *b = v.mv_data;
        if (!gc->live || !gc->live(gc->ud, (int64_t)spill__get64(b), spill__get64(b + 8)))
            continue;
        MDB_val sk = k, sv;
        int r2;
        for (r2 = mdb_cursor_get(d, &sk, &sv, MDB_SET); r2 == 0;
             r2 = mdb_cursor_get(d, &sk, &sv, MDB_NEXT_DUP))
            if (sv.mv_size == 16 && (rc = idset_add(roots, sv.mv_data)) != 0)
                goto out;
    }
    rc = rc == MDB_NOTFOUND ? 0 : rc;
    if (rc == 0 && roots->n)
        qsort(roots->ids, roots->n, 16, id_cmp);
out:
    mdb_cursor_close(d);
    mdb_cursor_close(c);
    return rc;
}

static int gc_body(spill_index *ix, MDB_txn *t, void *p)
{
    spill_index_gc *gc = p;
    idset roots = {0}, victims = {0};
    MDB_cursor *c = NULL;
    uint64_t total = 0;
    int rc;
    gc->kept = gc->kept_bytes = 0;
    if ((rc = live_roots(ix, t, gc, &roots)) != 0)
        goto out;
    MDB_stat ms;
    /* Total first, so the LRU walk knows how much must go for the quota. */
    if ((rc = mdb_cursor_open(t, ix->objects, &c)) != 0)
        goto out;
    MDB_val k, v;
    spill_index_row r;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        if (row_decode(&k, &v, &r) == 0)
            total += r.comp_size;
    mdb_cursor_close(c);
    c = NULL;
    if (rc != MDB_NOTFOUND)
        goto out;
    (void)ms;
    if ((rc = mdb_cursor_open(t, ix->by_atime, &c)) != 0)
        goto out;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 24)
            continue;
        MDB_val ok = {16, (unsigned char *)k.mv_data + 8}, ov;
        if (mdb_get(t, ix->objects, &ok, &ov) != 0 || row_decode(&ok, &ov, &r) != 0)
            continue;
        const char *reason = NULL;
        if (gc->ttl_ns > 0 && gc->now_ns - r.atime_ns > gc->ttl_ns)
            reason = "ttl";
        else if (gc->max_bytes > 0 && total > gc->max_bytes)
            reason = "quota";
        if (reason && (r.pins > 0 || idset_has(&roots, r.id)))
            reason = NULL;
        if (!reason) {
            gc->kept++;
            gc->kept_bytes += r.comp_size;
            continue;
        }
        total -= r.comp_size;
        if (gc->victim)
            gc->victim(gc->ud, &r, reason);
        if ((rc = idset_add(&victims, r.id)) != 0)
            goto out;
    }
    if (rc != MDB_NOTFOUND)
        goto out;
    rc = 0;
    if (gc->dry_run)
        goto out;
    /* Rows go now; files go in phase 2, after this commit: a crash between the two
     * leaves files without rows (swept later), never rows without files. */
    unsigned char now[8];
    spill__put64(now, (uint64_t)gc->now_ns);
    for (size_t i = 0; i < victims.n && rc == 0; i++) {
        MDB_val vk = {16, victims.ids[i]}, vv, dv = {8, now};
        if ((rc = mdb_get(t, ix->objects, &vk, &vv)) != 0 || (rc = row_decode(&vk, &vv, &r)) != 0)
            break;
        unsigned char ak[24];
        atime_key(ak, r.atime_ns, r.id);
        MDB_val akv = {24, ak};
        if ((rc = mdb_del(t, ix->by_atime, &akv, NULL)) == MDB_NOTFOUND)
            rc = 0;
        if (rc == 0)
            rc = mdb_del(t, ix->objects, &vk, NULL);
        if (rc == 0)
            rc = mdb_put(t, ix->doomed, &vk, &dv, 0);
    }
    /* Session links of removed objects and sessions that ended by crashing. */
    if (rc == 0 && victims.n) {
        qsort(victims.ids, victims.n, 16, id_cmp);
        mdb_cursor_close(c);
        c = NULL;
        if ((rc = mdb_cursor_open(t, ix->by_session, &c)) != 0)
            goto out;
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
            if (v.mv_size == 16 && idset_has(&victims, v.mv_data) && (rc = mdb_cursor_del(c, 0)) != 0)
                break;
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    }
    /* The spill log is kept as long as the TTL: older events go with the objects. */
    if (rc == 0 && gc->ttl_ns > 0) {
        if (c)
            mdb_cursor_close(c);
        c = NULL;
        if ((rc = mdb_cursor_open(t, ix->events, &c)) != 0)
            goto out;
        uint64_t limit = (uint64_t)(gc->now_ns - gc->ttl_ns);
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            const unsigned char *kb = k.mv_data;
            uint64_t tm = 0;
            for (int i = 0; i < 8 && k.mv_size >= 8; i++)
                tm = tm << 8 | kb[i];
            if (tm >= limit || (rc = mdb_cursor_del(c, 0)) != 0)
                break;
        }
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    }
out:
    if (c)
        mdb_cursor_close(c);
    free(roots.ids);
    free(victims.ids);
    return rc;
}

int spill_index_gc_select(spill_index *ix, spill_index_gc *gc)
{
    if (gc->dry_run) {
        MDB_txn *t;
        int rc = begin(ix, ix->read_only ? MDB_RDONLY : 0, &t);
        if (rc)
            return rc;
        rc = gc_body(ix, t, gc);
        mdb_txn_abort(t);
        return rc ? fail(ix, rc, "gc") : 0;
    }
    return ix_write(ix, gc_body, gc, 0);
}

struct reap_ud { int (*fn)(void *, const uint8_t *); void *ud; uint64_t n; };
static int reap_body(spill_index *ix, MDB_txn *t, void *p)
{
    struct reap_ud *u = p;
    MDB_cursor *c;
    int rc = mdb_cursor_open(t, ix->doomed, &c);
    if (rc)
        return rc;
    u->n = 0;
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        MDB_val ov;
        if (k.mv_size == 16 && mdb_get(t, ix->objects, &k, &ov) == MDB_NOTFOUND) {
            int e = u->fn(u->ud, k.mv_data);
            if (e != 0 && e != -ENOENT) {
                rc = e;
                break;
            }
            u->n++;
        }
        if ((rc = mdb_cursor_del(c, 0)) != 0)
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int spill_index_gc_reap(spill_index *ix, int (*unlink_fn)(void *ud, const uint8_t id[16]),
                        void *ud, uint64_t *reaped)
{
    struct reap_ud u = {unlink_fn, ud, 0};
    int rc = ix_write(ix, reap_body, &u, 0);
    if (reaped)
        *reaped = u.n;
    return rc;
}

struct unidx_ud { const uint8_t *id; int (*fn)(void *); void *ud; int result; };
static int unidx_body(spill_index *ix, MDB_txn *t, void *p)
{
    struct unidx_ud *u = p;
    MDB_val k = {16, (void *)u->id}, v;
    int rc = mdb_get(t, ix->objects, &k, &v);
    if (rc == 0) {
        u->result = 1;
        return 0;
    }
    if (rc != MDB_NOTFOUND)
        return rc;
    u->result = u->fn(u->ud);
    return 0;
}

int spill_index_if_unindexed(spill_index *ix, const uint8_t id[16], int (*fn)(void *ud), void *ud)
{
    struct unidx_ud u = {id, fn, ud, 0};
    int rc = ix_write(ix, unidx_body, &u, 0);
    return rc ? rc : u.result;
}

/* ---- stats ---- */

static int stats_body(spill_index *ix, MDB_txn *t, void *p)
{
    spill_index_stats *st = p;
    MDB_stat ms;
    int rc;
    if ((rc = mdb_stat(t, ix->events, &ms)) != 0)
        return rc;
    st->events = ms.ms_entries;
    if ((rc = mdb_stat(t, ix->sessions, &ms)) != 0)
        return rc;
    st->sessions = ms.ms_entries;
    if ((rc = mdb_stat(t, ix->doomed, &ms)) != 0)
        return rc;
    st->doomed = ms.ms_entries;
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(t, ix->objects, &c)) != 0)
        return rc;
    MDB_val k, v;
    spill_index_row r;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (row_decode(&k, &v, &r) != 0)
            continue;
        st->objects++;
        st->raw_bytes += r.raw_size;
        st->comp_bytes += r.comp_size;
        st->pinned += r.pins > 0;
    }
    mdb_cursor_close(c);
    MDB_envinfo info;
    mdb_env_info(ix->env, &info);
    mdb_env_stat(ix->env, &ms);
    st->map_size = info.me_mapsize;
    st->used_bytes = (uint64_t)(info.me_last_pgno + 1) * ms.ms_psize;
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int spill_index_get_stats(spill_index *ix, spill_index_stats *st)
{
    memset(st, 0, sizeof *st);
    return ix_read(ix, stats_body, st);
}

/* ---- the spill log ---- */

static const unsigned char *get_str(const unsigned char *p, const unsigned char *end, char out[256])
{
    if (!p || p >= end || p + 1 + p[0] > end)
        return NULL;
    memcpy(out, p + 1, p[0]);
    out[p[0]] = 0;
    return p + 1 + p[0];
}

int spill_index_events(spill_index *ix, int (*fn)(void *ud, const spill_index_logged *e), void *ud)
{
    enum { BATCH = 64 };
    typedef struct { uint8_t id[16]; int64_t t; char s[4][256]; } copy;
    copy *batch = malloc(BATCH * sizeof *batch);
    if (!batch)
        return SPILL_E_NOMEM;
    unsigned char next[16] = {0};
    int first = 1, rc = 0;
    for (;;) {
        MDB_txn *t;
        MDB_cursor *c;
        size_t n = 0;
        if ((rc = begin(ix, MDB_RDONLY, &t)) != 0)
            break;
        if ((rc = mdb_cursor_open(t, ix->events, &c)) != 0) {
            mdb_txn_abort(t);
            rc = fail(ix, rc, "log");
            break;
        }
        MDB_val k = {16, next}, v;
        int op = MDB_SET_RANGE;
        while (n < BATCH && (rc = mdb_cursor_get(c, &k, &v, op)) == 0) {
            op = MDB_NEXT;
            if (k.mv_size != 16 || v.mv_size < 16 || (!first && memcmp(k.mv_data, next, 16) == 0))
                continue;
            const unsigned char *p = v.mv_data, *end = p + v.mv_size, *kb = k.mv_data;
            copy *e = &batch[n];
            memcpy(e->id, p, 16);
            uint64_t tm = 0;
            for (int i = 0; i < 8; i++)
                tm = tm << 8 | kb[i];
            e->t = (int64_t)tm;
            p += 16;
            for (int i = 0; i < 4; i++)
                p = get_str(p, end, e->s[i]);
            if (p) /* a damaged record is skipped, not shown half-read */
                n++;
            memcpy(next, k.mv_data, 16);
        }
        mdb_cursor_close(c);
        mdb_txn_abort(t);
        if (rc && rc != MDB_NOTFOUND) {
            rc = fail(ix, rc, "log");
            break;
        }
        int done = rc == MDB_NOTFOUND;
        rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            spill_index_logged l;
            memcpy(l.id, batch[i].id, 16);
            l.ev.time_ns = batch[i].t;
            l.ev.session = batch[i].s[0];
            l.ev.server = batch[i].s[1];
            l.ev.tool = batch[i].s[2];
            l.ev.request_id = batch[i].s[3];
            rc = fn(ud, &l);
        }
        if (rc || done)
            break;
        first = 0;
    }
    free(batch);
    return rc;
}
