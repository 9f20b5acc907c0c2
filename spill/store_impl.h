/* store_impl.h - what store.c, writer.c and objread.c share; never installed. */
#ifndef SPILL_STORE_IMPL_H
#define SPILL_STORE_IMPL_H

#include <limits.h>
#include <sys/stat.h>
#include <zstd.h>

#include "../index/index.h"
#include "internal.h"

struct spill_store {
    char dir[PATH_MAX - 64]; /* room for objects/xx/<30 hex>.zst under it */
    int rootfd, objfd;        /* the store and its objects/ directory */
    spill_index *ix;
    spill_store_opts opts;
    int weak_id;              /* test hook: SPILL_TEST_WEAK_ID=1 weakens the content hash */
    char moved_aside[64];     /* index.damaged-TIME when spill__store_open moved one aside */
    char err[512];
};

/* spill_store_open; with aside set, a damaged index is moved to index.damaged-TIME
 * (named in st->moved_aside) and a new one started, for spill reindex. */
/* flags: SPILL__OPEN_ASIDE moves a damaged index aside (spill reindex). */
enum { SPILL__OPEN_ASIDE = 1 };
int spill__store_open(spill_store **st, const spill_store_opts *o, int flags);
/* Records a detail message for spill_store_last_error() and returns code. */
int spill__fail(spill_store *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int64_t spill__now_ns(void);
/* Content hash as ids use it (weakened under the test hook). */
void spill__content_id(const spill_store *st, const void *xxh3_state, uint8_t out[16]);
/* Opens objects/xx/ (creating it when create is set), never following symlinks. */
int spill__open_fanout(spill_store *st, const uint8_t id[16], int create);
void spill__object_name(const uint8_t id[16], char name[40]); /* "<30 hex>.zst" */
void spill__row_to_info(const spill_store *st, const spill_index_row *r, spill_object_info *info);
typedef struct spill__obj spill__obj;
/* Opens the object file of an indexed id, with a clear message on failure. */
int spill__open_object(spill_store *st, const uint8_t id[16], spill__obj *o);
/* Removes temp files of dead writers, or older than grace_s. */
int spill__sweep_temps(spill_store *st, int64_t grace_s, uint64_t *removed);
uint64_t spill__proc_start(long pid);
/* views/ under the store, opened without following a symlink and checked like the
 * store (owner, not writable by others): an fd, -errno, or SPILL_E_UNSAFE. */
int spill__open_views(spill_store *st);
/* Removes views/<id>.txt, the plain-text copy of an object GC removed (best effort). */
void spill__drop_view(spill_store *st, const uint8_t id[16]);

/* Calls fn for each objects/xx/<30 hex>.zst whose name parses as an id. Other
 * entries (symlinks, odd names) are passed with id NULL so callers can report them. */
typedef int (*spill__file_fn)(void *ud, int xxfd, const char *name, const uint8_t *id,
                              const struct stat *sb);
int spill__walk_objects(spill_store *st, spill__file_fn fn, void *ud);
/* Indexes the object file name in xxfd (named id) when it has no row and is whole
 * and what id names (dry_run: only checks): 1 when indexed (or it would be), 0 when
 * a row exists, SPILL_E_CORRUPT when the file is torn, damaged or not what its name
 * says (*problem tells which), else an error that proves nothing about the file.
 * hint (may be NULL): the row a damaged index had for id; its name, token count,
 * pins and times are kept when its size and checksum match the file (reindex.c). */
int spill__index_file(spill_store *st, int xxfd, const char *name, const uint8_t id[16],
                      const struct stat *sb, int dry_run, const spill_index_row *hint,
                      const char **problem);

/* ---- reading an object file (objread.c) ---- */
struct spill__obj {
    int fd;
    uint64_t file_size, lines;
    uint32_t nframes;         /* data frames */
    spill__seek_entry *ent;   /* nframes + 1 (the metadata frame last) */
    uint64_t *coff;           /* compressed offset of each data frame */
    unsigned char *metabuf;
    spill__meta meta;
    ZSTD_DCtx *dctx;
    unsigned char *cbuf, *dbuf;
    size_t ccap;
    int64_t cur;              /* frame held in dbuf, or -1 */
    size_t cur_len;
    char err[256];
};

/* Takes ownership of fd (closed by spill__obj_close, also on failure). */
int spill__obj_open(spill__obj *o, int fd);
void spill__obj_close(spill__obj *o);
/* Decompresses data frame i, checking zstd's checksum and the seek table's. */
int spill__obj_frame(spill__obj *o, uint32_t i, const unsigned char **p, size_t *n);
int spill__obj_read_bytes(spill__obj *o, uint64_t begin, uint64_t end, spill_sink_fn sink, void *ud);
/* Decompresses every frame and hashes the content, checking it against the
 * metadata (hashes, newline count, line index). SPILL_E_CORRUPT with o->err set. */
typedef struct spill__digest {
    uint8_t hash[16];
    uint64_t xxh64, newlines;
    unsigned char last;
} spill__digest;
int spill__obj_digest(spill__obj *o, spill__digest *d);
/* Digests the whole object and checks that its content is what id names (the hash,
 * or one of the ids colliding contents take). 0, or SPILL_E_CORRUPT or the error that
 * stopped the digest, with *problem saying what (it may point into o). */
int spill__obj_check(spill__obj *o, const uint8_t id[16], spill__digest *d, const char **problem);
int spill__obj_read_lines(spill__obj *o, uint64_t first, uint64_t last, spill_sink_fn sink, void *ud);

/* maintain.c: one line of a report to fn (if any), printf-style. */
void spill__say(spill_msg_fn fn, void *ud, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
