/* index.h - the store's LMDB index: the only code that includes <lmdb.h>.
 *
 * Knows nothing of zstd, JSON or files: it keeps rows and lets the store run a
 * callback inside a write transaction, which is how file operations that must not
 * race with other processes (relinking, unlinking) are serialised by LMDB's single
 * writer lock.
 *
 * Databases: objects (id -> row), by_atime (BE atime || id -> ""), events (BE time ||
 * pid || seq -> event), by_session (session -> id, dupsort), sessions (session ->
 * pid, process start), doomed (id -> time removed from the index, file not yet gone).
 * Errors are spill codes (SPILL_E_INDEX with detail in spill_index_errmsg) or -errno.
 * One spill_index per process per store, used by one thread at a time. */
#ifndef SPILL_INDEX_H
#define SPILL_INDEX_H

#include <stddef.h>
#include <stdint.h>

typedef struct spill_index spill_index;

typedef struct spill_index_row {
    uint8_t id[16];
    uint64_t raw_size, comp_size, lines, tokens, xxh64;
    uint32_t frame_size, nframes, pins;
    int64_t created_ns, atime_ns;
    uint64_t access_count;
    char token_counter[32];
    char mime[128];
    char name[256];
} spill_index_row;

typedef struct spill_index_event {
    int64_t time_ns;
    const char *session, *server, *tool, *request_id; /* NULL or <= 255 bytes */
} spill_index_event;

typedef struct spill_index_stats {
    uint64_t objects, raw_bytes, comp_bytes, pinned, events, sessions;
    uint64_t doomed; /* files GC has yet to unlink */
    uint64_t map_size, used_bytes;
} spill_index_stats;

/* Before opening: walks dir/data.mdb in a child process, so that a truncated or
 * scribbled file is reported (SPILL_E_INDEX, a one-line reason in why) instead of
 * killing the caller with SIGBUS or SIGSEGV once LMDB maps it. 0 when it is sound,
 * empty or absent (check.c). */
int spill_index_check(const char *dir, char *why, size_t cap);

/* Rows rescued from a damaged index (dir/data.mdb, read-only, in a child process, so a
 * crash or an endless walk costs only the rows not yet read): fn gets each row that
 * decodes; non-zero from fn stops. Returns how many rows fn got, or -errno. */
int spill_index_salvage(const char *dir, int (*fn)(void *ud, const spill_index_row *r), void *ud);
/* A row as the objects database stores it (index.c); SPILL_E_INDEX if malformed. */
int spill__index_row_decode(const void *key, size_t klen, const void *val, size_t vlen,
                            spill_index_row *r);

/* Opens dir/data.mdb (dir must exist). map_size is the initial map; it grows by
 * doubling on MDB_MAP_FULL. Clears reader slots of dead processes. */
int spill_index_open(spill_index **ix, const char *dir, size_t map_size, int read_only);
void spill_index_close(spill_index *ix);
const char *spill_index_errmsg(const spill_index *ix);

int spill_index_get(spill_index *ix, const uint8_t id[16], spill_index_row *row);
/* Prefix of `nibbles` hex digits in prefix[] (zero-padded). SPILL_E_NOTFOUND,
 * SPILL_E_AMBIGUOUS. */
int spill_index_resolve(spill_index *ix, const uint8_t prefix[16], int nibbles, uint8_t id[16]);

/* Inside one write transaction: calls ensure(ud) (which makes sure the object file
 * is in place; non-zero aborts), then inserts row or, if the id is indexed already,
 * refreshes its access time and its file facts (sizes, lines, frames) from row while
 * keeping its history (created, reads, pins, name); records ev (may be NULL) and the
 * session link; drops any doomed mark for the id. *existed tells which. */
int spill_index_commit(spill_index *ix, const spill_index_row *row, const spill_index_event *ev,
                       int (*ensure)(void *ud), void *ud, int *existed);

/* Access time and count; no fsync (losing one on a crash is harmless). */
int spill_index_touch(spill_index *ix, const uint8_t id[16], int64_t now_ns);
int spill_index_pin(spill_index *ix, const uint8_t id[16], int delta);

int spill_index_session_begin(spill_index *ix, const char *session, int64_t pid, uint64_t start);
int spill_index_session_end(spill_index *ix, const char *session);

/* fn gets each row in id order; non-zero stops (and is returned). Rows are copies:
 * fn may call other index functions. */
int spill_index_list(spill_index *ix, int (*fn)(void *ud, const spill_index_row *r), void *ud);

/* GC, phase 1: walks rows oldest access first and removes those past ttl_ns (if > 0)
 * or needed to bring the total under max_bytes (if > 0). Pinned rows and rows of live
 * sessions (live(ud, pid, start) != 0) stay. Each chosen row goes to victim(ud, row,
 * reason) and, unless dry_run, is deleted and marked doomed in the same transaction. */
typedef struct spill_index_gc {
    uint64_t max_bytes;
    int64_t ttl_ns, now_ns;
    int dry_run;
    int (*live)(void *ud, int64_t pid, uint64_t start);
    void (*victim)(void *ud, const spill_index_row *r, const char *reason);
    void *ud;
    uint64_t kept, kept_bytes;
} spill_index_gc;
int spill_index_gc_select(spill_index *ix, spill_index_gc *gc);

/* GC, phase 2: in one write transaction, for every doomed id that has no row again,
 * calls unlink_fn(ud, id) (0 or -ENOENT is success) and drops the mark. */
int spill_index_gc_reap(spill_index *ix, int (*unlink_fn)(void *ud, const uint8_t id[16]),
                        void *ud, uint64_t *reaped);

/* In one write transaction: if id has no row, calls fn(ud) and returns what it
 * returns; otherwise returns 1 without calling it. For orphan removal. */
int spill_index_if_unindexed(spill_index *ix, const uint8_t id[16], int (*fn)(void *ud), void *ud);

int spill_index_get_stats(spill_index *ix, spill_index_stats *st);

/* The spill log, oldest first. Strings in ev are borrowed for the call; fn returns
 * non-zero to stop. Events are copied out in batches: fn runs outside any txn. */
typedef struct spill_index_logged {
    uint8_t id[16];
    spill_index_event ev;
} spill_index_logged;
int spill_index_events(spill_index *ix, int (*fn)(void *ud, const spill_index_logged *e), void *ud);

#endif
