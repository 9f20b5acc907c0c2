/*
 * spill.h - the public API of libspill.
 *
 * libspill keeps huge MCP tool outputs out of an agent's context: it stores them as
 * compressed, content-addressed objects and reads any byte or line range back.
 * This header is the only one installed. Everything that owns resources is opaque.
 *
 * Errors: every function that can fail returns an int, 0 on success and a negative
 * code on failure. Codes in [-1099, -1000] are spill's own (the SPILL_ERRORS table
 * below); any other negative value is -errno from a failed system call.
 * spill_strerror() turns either into a constant message (never free it).
 *
 * Threads: a spill_store may be used from one thread at a time (guard it yourself
 * to share it). Objects and writers belong to the store that made them and must be
 * closed before it. Several processes may open the same store directory at once;
 * the index serialises their writes.
 *
 * Storing, the HowTo:
 *
 *     spill_store *st; spill_writer *w; spill_object_info info;
 *     spill_store_opts o; spill_store_opts_init(&o); o.dir = "/path/to/store";
 *     if (spill_store_open(&st, &o) < 0) ...;
 *     if (spill_writer_begin(st, &w, NULL) < 0) ...;
 *     while (have_more) if (spill_writer_write(w, buf, n) < 0) { spill_writer_abort(w); ... }
 *     if (spill_writer_commit(w, &info) < 0) ...;   (w is freed either way)
 *     printf("%s\n", info.id);
 *     spill_store_close(st);
 */
#ifndef SPILL_H
#define SPILL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SPILL_VERSION_MAJOR 0
#define SPILL_VERSION_MINOR 1
#define SPILL_VERSION_PATCH 0
#define SPILL_VERSION_STRING "0.1.0"

/* XX(value, name, message). Values are pinned: never renumber or reuse one. */
#define SPILL_ERRORS(XX)                                                                     \
    XX(-1000, E_INVAL, "invalid argument")                                                   \
    XX(-1001, E_NOMEM, "out of memory")                                                      \
    XX(-1002, E_BADID, "not an object id (8 to 32 hex digits)")                              \
    XX(-1003, E_NOTFOUND, "no such object")                                                  \
    XX(-1004, E_AMBIGUOUS, "id prefix matches more than one object")                         \
    XX(-1005, E_CORRUPT, "object is corrupt")                                                \
    XX(-1006, E_FORMAT, "not a spill object, or a format version this build cannot read")    \
    XX(-1007, E_RANGE, "range is outside the object")                                        \
    XX(-1008, E_ZSTD, "compression library error")                                           \
    XX(-1009, E_INDEX, "index (LMDB) error")                                                 \
    XX(-1010, E_STATE, "call made in the wrong state")                                       \
    XX(-1011, E_TOOBIG, "size limit exceeded")                                               \
    XX(-1012, E_ABORTED, "stopped by the callback")                                          \
    XX(-1013, E_UNSAFE, "store path is not a plain directory (symlink or other file type)")  \
    XX(-1014, E_COLLISION, "too many hash collisions for one content")                         \
    XX(-1015, E_JSON, "malformed JSON")

enum spill_error_code {
#define SPILL__XX_ENUM(v, n, m) SPILL_##n = (v),
    SPILL_ERRORS(SPILL__XX_ENUM)
#undef SPILL__XX_ENUM
};

/* Message for any return code (spill's own or -errno). Constant; never NULL. */
const char *spill_strerror(int code);
/* Symbolic name ("SPILL_E_CORRUPT", "ENOSPC"); constant; never NULL. */
const char *spill_err_name(int code);

/* ---- Store ------------------------------------------------------------------------- */

typedef struct spill_store spill_store;

typedef struct spill_store_opts {
    const char *dir;      /* store directory; created 0700 (with parents) if missing */
    int level;            /* zstd level for new objects; default 3 */
    size_t frame_size;    /* raw bytes per zstd frame; default 1 MiB; 4 KiB..256 MiB */
    int threads;          /* compression threads for a writer; default 1; 1..16 */
    int read_only;        /* 1: never create or modify anything (no access-time updates) */
    size_t index_map_size;/* initial LMDB map size; default 64 MiB; grows on demand */
    int checked;          /* 1: skip the index check and the temp sweep of the open: a
                             process that opened this store moments ago did both (spill
                             run's workers, one open per call); default 0 */
} spill_store_opts;

void spill_store_opts_init(spill_store_opts *o);

/* Opens (creating if needed and allowed) the store at o->dir and sweeps stale temp
 * files of writers that died. On failure *st is NULL. The opts strings are copied. */
int spill_store_open(spill_store **st, const spill_store_opts *o);
void spill_store_close(spill_store *st); /* NULL ok */

/* The detail of the last failure on this store (e.g. the object id and frame of a
 * corruption, or the file that could not be written). Valid until the next call.
 * st NULL: the detail of the last spill_store_open that failed in this process.
 * spill_store_stat, spill_store_resolve and the reads take st NULL too: they fail
 * with that open's code, so a program can run on without its store. */
const char *spill_store_last_error(const spill_store *st);
const char *spill_store_dir(const spill_store *st);

/* ---- Object metadata ------------------------------------------------------------------ */

#define SPILL_ID_HEX 32

typedef struct spill_object_info {
    char id[SPILL_ID_HEX + 1]; /* 32 lowercase hex digits */
    uint64_t raw_size;         /* bytes of content */
    uint64_t comp_size;        /* bytes of the object file */
    uint64_t lines;            /* newlines, plus one if the last line has none */
    uint64_t tokens;           /* 0 when not counted */
    char token_counter[32];    /* how tokens were counted; "" when not counted */
    char mime[128];            /* media type, e.g. "text/plain", "image/png" */
    char name[256];            /* caller-given name; may be "" */
    int64_t created_ns;        /* unix time, ns */
    int64_t atime_ns;          /* last access, unix time, ns */
    uint64_t access_count;
    uint32_t pins;
    uint32_t frame_size;
    uint32_t nframes;
    int deduplicated;          /* commit only: 1 if the content was already stored */
    char path[4096];           /* the object file */
    char view[4096];           /* a plain-text copy for native file tools, or "" (sidecar) */
} spill_object_info;

/* ---- Writing ---------------------------------------------------------------------------- */

typedef struct spill_writer spill_writer;

/* Where an object came from; every field may be NULL. Strings are copied;
 * longer than 255 bytes is SPILL_E_TOOBIG. */
typedef struct spill_put_info {
    const char *mime;       /* NULL: detected from the first bytes */
    const char *name;
    const char *session;
    const char *server;
    const char *tool;
    const char *request_id;
    uint64_t tokens;        /* 0: not counted */
    const char *token_counter;
} spill_put_info;

/* Starts a new object. Memory stays bounded whatever is written: about
 * (2 * threads + 1) * frame_size plus zstd's contexts. */
int spill_writer_begin(spill_store *st, spill_writer **w, const spill_put_info *pi);
/* Appends bytes. On error the writer is unusable: call spill_writer_abort(). */
int spill_writer_write(spill_writer *w, const void *data, size_t size);
/* Finishes the object: durable file first, then the index row. Frees w whether it
 * succeeds or not; on failure no object and no temp file remain. info may be NULL. */
int spill_writer_commit(spill_writer *w, spill_object_info *info);
/* Drops everything written so far and frees w. NULL ok. */
void spill_writer_abort(spill_writer *w);

/* Convenience: store one buffer. */
int spill_store_put(spill_store *st, const void *data, size_t size, const spill_put_info *pi,
                    spill_object_info *info);

/* ---- Reading ---------------------------------------------------------------------------- */

/* Receives content in order. Return 0 to go on, > 0 to stop early (the read then
 * returns 0), < 0 to fail the read with that code. data is valid during the call only. */
typedef int (*spill_sink_fn)(void *ud, const void *data, size_t size);

/* Resolves an id or a unique prefix of at least 8 hex digits. Anything else
 * (wrong length, non-hex, path characters) is SPILL_E_BADID: no argument can name a
 * file outside the store. */
int spill_store_resolve(spill_store *st, const char *id_or_prefix, char id_out[SPILL_ID_HEX + 1]);
int spill_store_stat(spill_store *st, const char *id_or_prefix, spill_object_info *info);

/* Reads bytes [begin, end) (end clamped to the size). Decompresses only the frames that
 * cover the range; every frame's checksum is checked, so corruption is SPILL_E_CORRUPT. */
int spill_store_read_bytes(spill_store *st, const char *id_or_prefix, uint64_t begin,
                           uint64_t end, spill_sink_fn sink, void *ud);
/* Reads lines [first, last], 1-based and inclusive; last is clamped to the line count.
 * first beyond the last line is SPILL_E_RANGE. */
int spill_store_read_lines(spill_store *st, const char *id_or_prefix, uint64_t first,
                           uint64_t last, spill_sink_fn sink, void *ud);

/* ---- Listing, pins, sessions ------------------------------------------------------------- */

typedef int (*spill_list_fn)(void *ud, const spill_object_info *info);
/* Calls fn for every object, by id. info->path is filled. fn returns non-zero to stop. */
int spill_store_list(spill_store *st, spill_list_fn fn, void *ud);

/* delta +1 pins, -1 unpins (never below 0). Pinned objects survive GC. */
int spill_store_pin(spill_store *st, const char *id_or_prefix, int delta);

/* A live session's objects survive GC. A session is live between begin and end while
 * the process that began it runs (a crashed process's sessions end by themselves). */
int spill_store_session_begin(spill_store *st, const char *session);
int spill_store_session_end(spill_store *st, const char *session);

/* ---- Verification and GC ----------------------------------------------------------------- */

typedef struct spill_verify_report {
    uint64_t objects_ok;
    uint64_t objects_bad;    /* corrupt, missing or mislabelled */
    uint64_t orphans;        /* files with no index row (spill reindex or GC indexes the valid ones) */
    int index_lost;          /* the index is empty but object files exist: run spill reindex */
} spill_verify_report;

/* Problem lines are given to fn (NULL ok), one per problem. Re-hashes the content,
 * decompresses every frame, checks the seek table, the line index and the index row.
 * ids NULL/n 0 means every object. Returns 0 when the walk ran, even if it found
 * corruption: look at the report. */
typedef void (*spill_msg_fn)(void *ud, const char *msg);
int spill_store_verify(spill_store *st, const char *const *ids, size_t n, spill_verify_report *r,
                       spill_msg_fn fn, void *ud);

typedef struct spill_gc_opts {
    uint64_t max_bytes;    /* quota on the object files' bytes; 0 = no quota */
    int64_t ttl_s;         /* remove objects not read for this long; 0 = no TTL */
    int64_t grace_s;       /* orphan files and temp files younger than this stay */
    int dry_run;           /* 1: report only */
} spill_gc_opts;

void spill_gc_opts_init(spill_gc_opts *o); /* 10 GiB, 7 days, 1 hour */

typedef struct spill_gc_report {
    uint64_t removed, removed_bytes;     /* objects (or would be, on a dry run) */
    uint64_t kept, kept_bytes;
    uint64_t orphans_removed, temps_removed; /* torn or corrupt files without a row */
    uint64_t orphans_indexed;  /* valid object files without a row: indexed again, kept */
} spill_gc_report;

/* fn (NULL ok) is told of each removal: "remove 0123... 12345 bytes (ttl)". An object
 * file never goes just because its row is missing: a valid one is indexed again. */
int spill_store_gc(spill_store *st, const spill_gc_opts *o, spill_gc_report *r, spill_msg_fn fn,
                   void *ud);

/* Rebuilds the index from the object files, which describe themselves (size, lines,
 * media type, creation time, hashes; not the name or the token count). Each valid
 * object file without a row gets one; rows that exist stay as they are; files that
 * are torn, corrupt or do not hash to their name are reported to fn and left alone.
 * A damaged index (see spill_store_open) is first moved aside to index.damaged-TIME.
 * Opens the store itself, from o. */
typedef struct spill_reindex_report {
    uint64_t indexed, already, bad;
    int moved_aside;
} spill_reindex_report;
int spill_store_reindex(const spill_store_opts *o, spill_reindex_report *r, spill_msg_fn fn, void *ud);

/* One entry of the spill log: an object stored (or stored again) at a time, by whom. */
typedef struct spill_event {
    char id[SPILL_ID_HEX + 1];
    int64_t time_ns;
    const char *session, *server, *tool, *request_id; /* "" when not given; borrowed */
} spill_event;
typedef int (*spill_event_fn)(void *ud, const spill_event *ev);
/* Calls fn for each logged event, oldest first; only those of one object if
 * id_or_prefix is not NULL. fn returns non-zero to stop. The log is trimmed by GC to
 * the TTL. */
int spill_store_events(spill_store *st, const char *id_or_prefix, spill_event_fn fn, void *ud);

typedef struct spill_store_stats {
    uint64_t objects, raw_bytes, comp_bytes, pinned, events, sessions;
    uint64_t index_map_size, index_used_bytes;
} spill_store_stats;
int spill_store_get_stats(spill_store *st, spill_store_stats *s);

/* ---- Writer metadata known only at the end ------------------------------------------------- */

/* Sets the media type and token count before commit (a streaming filter learns an
 * image's mimeType or the final count only after the bytes). NULL/0 leave them as
 * they are. Strings are copied; longer than 127 bytes is SPILL_E_TOOBIG. */
int spill_writer_set_meta(spill_writer *w, const char *mime, uint64_t tokens,
                          const char *token_counter);

/* ---- Filter: the streaming interceptor -------------------------------------------------------
 *
 * A spill_filter sits on an MCP message stream. Client-to-server bytes teach it which
 * request ids are tools/call, tasks/result, resources/read or prompts/get (and the tool,
 * client and protocol era); server-to-client bytes are scanned as they arrive. A
 * response to one of those whose payloads (content[].text, image/audio data, embedded
 * resources, structuredContent, contents[], prompt messages) exceed the token threshold
 * is rewritten: each large payload goes to an object through the sink and is replaced
 * by a handle with a preview. Everything else leaves byte-identical and in order.
 *
 * Memory: a message is held only while undecided and only up to the inline budget;
 * past it, payload bytes stream to the sink. Peak memory does not grow with output size.
 *
 * HowTo (stdio, both directions):
 *     spill_filter_opts o; spill_filter_opts_init(&o);
 *     spill_store_sink(store, &sink); o.sink = &sink; o.emit = my_emit; o.emit_ud = me;
 *     spill_filter_new(&f, &o);
 *     on bytes from the agent:  spill_filter_feed(f, SPILL_C2S, p, n);
 *     on bytes from the server: spill_filter_feed(f, SPILL_S2C, p, n);
 *     at end of a stream:       spill_filter_finish(f, dir);
 *     spill_filter_free(f);
 * my_emit(ud, dir, p, n) receives the bytes to pass on, in order, per direction.
 *
 * Threads: a filter is used by one thread at a time; two filters are independent. */

typedef enum spill_dir { SPILL_S2C = 0, SPILL_C2S = 1 } spill_dir;
typedef enum spill_framing {
    SPILL_FRAMING_NDJSON = 0,  /* newline-delimited messages (stdio); \r\n accepted */
    SPILL_FRAMING_MESSAGE = 1, /* the caller marks each message's end (HTTP body, SSE event) */
} spill_framing;

/* Receives output bytes. Return 0, or non-zero to stop: the feed then fails with
 * SPILL_E_ABORTED. data is valid during the call only. */
typedef int (*spill_emit_fn)(void *ud, spill_dir dir, const void *data, size_t size);

/* Where spilled payloads go. commit fills info (at least id, raw_size, lines; path may
 * be ""). A sink is called from the filter's thread only. */
typedef struct spill_object_sink {
    void *ctx;
    int (*begin)(void *ctx, void **obj, const spill_put_info *pi);
    int (*write)(void *obj, const void *data, size_t size);
    int (*commit)(void *obj, const char *mime, uint64_t tokens, const char *counter,
                  spill_object_info *info);
    void (*abort)(void *obj);
    /* A detail for the last failure, or NULL. */
    const char *(*last_error)(void *ctx);
} spill_object_sink;

/* Fills sink with the object store st as the destination (st must outlive it). */
void spill_store_sink(spill_store *st, spill_object_sink *sink);
/* A sink for when the store could not be opened: every begin fails with the open's
 * code, and last_error gives its detail (spill_store_last_error(NULL)). */
void spill_store_unavailable_sink(spill_object_sink *sink);

/* A token counter: create/feed/count/destroy one state per payload. count may be
 * called at any time (the filter decides on it as bytes arrive). The members after
 * destroy are optional (NULL, 0): finish says no more bytes will come, so the next count
 * is final (a counter that holds back an open piece needs it); state_name names what
 * this state's count was (e.g. "bpe:claude*1.10+estimate" once an exact counter went
 * over to estimating), NULL meaning `name`. The strings are static or live as long
 * as the vtab (state_name's as long as the state). max_per_byte, when not 0, is a
 * bound no input can pass: count() <= max_per_byte x bytes fed. The filter then counts
 * nothing while that bound stays under the threshold, which makes small results (most
 * of them) cost no counting at all. sampler: see below. */
typedef struct spill_counter_vtab {
    const char *name; /* shown in handles, e.g. "estimate:claude*1.10" */
    void *ctx;
    int (*create)(void *ctx, void **state);
    void (*feed)(void *state, const void *data, size_t size);
    uint64_t (*count)(const void *state);
    void (*destroy)(void *state);
    void (*finish)(void *state);
    const char *(*state_name)(const void *state);
    double max_per_byte;
    /* Optional: the counter for the windows sampled from a payload past its first 4 MiB,
     * whose count is only scaled up and reported (NULL: this counter). An exact counter
     * names its own estimator here, so a large output is counted exactly up to the
     * threshold once, not once more for the samples. */
    const struct spill_counter_vtab *sampler;
} spill_counter_vtab;

/* The built-in calibrated estimator: vocab "claude" (legacy Claude, reported x1.10),
 * "o200k" or "cl100k" (reported x1.00). NULL for an unknown name. Static storage. */
const spill_counter_vtab *spill_estimator(const char *vocab);

/* Allocation for the filter (tests inject failures). NULL members: libc. */
typedef struct spill_allocator {
    void *ctx;
    void *(*alloc)(void *ctx, size_t size);
    void *(*realloc)(void *ctx, void *p, size_t size);
    void (*free)(void *ctx, void *p);
} spill_allocator;

/* A threshold override: the first rule whose non-NULL fields all match wins. A client
 * rule caps whatever applies (a client that cuts at 25,000 tokens needs spill to act
 * below that). Names match case-insensitively; client names match as substrings. */
typedef struct spill_rule {
    const char *server, *tool, *client;
    uint64_t threshold_tokens;
} spill_rule;

/* Built-in client caps (documented in README): Claude Code 25,000; Codex 10,000;
 * Gemini CLI 10,000; Goose 50,000; Cline 2,000; Copilot 2,500. Static storage. */
const spill_rule *spill_default_client_rules(size_t *n);

#define SPILL_NO_LIMIT UINT64_MAX

typedef struct spill_filter_opts {
    spill_framing framing;
    uint64_t threshold_tokens;   /* default 100,000 */
    uint64_t byte_cap;           /* spill past this many payload bytes too; SPILL_NO_LIMIT */
    size_t inline_budget;        /* bytes held while undecided; default clamp(16 x threshold,
                                    1 MiB, 64 MiB); a message past it is decided as large */
    size_t min_spill_bytes;      /* in a large result, payloads below this stay; 4096 */
    size_t preview_head_bytes;   /* 2048 */
    size_t preview_tail_bytes;   /* 1024 */
    size_t max_skeleton_bytes;   /* the rewritten message outside payloads; 16 MiB */
    const spill_rule *rules;     /* checked in order; may be NULL; copied by the filter */
    size_t nrules;
    int client_defaults;         /* 1: apply spill_default_client_rules() (default 1) */
    int resource_links;          /* -1 auto (when the era has them), 0 never, 1 always */
    const char *server_name;     /* for rules and the log; else serverInfo.name */
    const char *session;         /* recorded with each object */
    const spill_object_sink *sink;       /* required; copied */
    const spill_counter_vtab *counter;   /* NULL: spill_estimator("claude") */
    spill_emit_fn emit;          /* required */
    void *emit_ud;
    spill_allocator alloc;
} spill_filter_opts;

void spill_filter_opts_init(spill_filter_opts *o);

typedef struct spill_filter spill_filter;

int spill_filter_new(spill_filter **f, const spill_filter_opts *o);
/* Feeds bytes of one direction. Emits as soon as bytes are decided. Errors: a sink
 * failure is not an error (the result says so plainly); SPILL_E_NOMEM, SPILL_E_ABORTED
 * (emit said stop) are, and are sticky until spill_filter_free. */
int spill_filter_feed(spill_filter *f, spill_dir dir, const void *data, size_t size);
/* SPILL_FRAMING_MESSAGE: the message fed so far in dir is complete. */
int spill_filter_end_message(spill_filter *f, spill_dir dir);
/* End of the stream in dir: a message cut off mid-way is passed on as it came if it
 * was still held, or closed as a valid result that says it was cut off. */
int spill_filter_finish(spill_filter *f, spill_dir dir);
void spill_filter_free(spill_filter *f); /* NULL ok; aborts unfinished objects */
/* Applies new thresholds, rules, sizes and counter (everything but framing, sink,
 * emit and allocator) to the messages that start from now on; the request map and
 * the message in flight are kept. Rules are copied, as in spill_filter_new. */
int spill_filter_reconfigure(spill_filter *f, const spill_filter_opts *o);

typedef struct spill_filter_error {
    int code;
    uint64_t offset;   /* byte offset in the direction's stream */
    const char *msg;   /* owned by the filter; valid until the next call */
} spill_filter_error;
const spill_filter_error *spill_filter_last_error(const spill_filter *f);

typedef struct spill_filter_stats {
    uint64_t messages[2];          /* per direction */
    uint64_t bytes_in[2], bytes_out[2];
    uint64_t unparseable;          /* passed through unchanged */
    uint64_t results_rewritten, payloads_spilled, spilled_bytes;
    uint64_t store_failures, cut_off;
} spill_filter_stats;
void spill_filter_get_stats(const spill_filter *f, spill_filter_stats *s);

/* Called by the filter when it replaced a tool's structuredContent, so a sidecar can
 * strip that tool's outputSchema from later tools/list results. */
typedef void (*spill_structured_fn)(void *ud, const char *tool);
void spill_filter_on_structured(spill_filter *f, spill_structured_fn fn, void *ud);

/* ---- Exact token counting ----------------------------------------------------------------
 *
 * Counts tokens exactly as the reference tokenizers do, streaming, at tens of MB/s:
 *   "claude"  the legacy Claude vocabulary (65,000 ids), as @anthropic-ai/tokenizer 0.0.4
 *             getTokenizer().encode(text.normalize('NFKC'), 'all'): NFKC, and the special
 *             tokens <EOT> <META> <META_START> <META_END> <SOS> count 1 each. The public
 *             proxy for Claude's current tokenizer: reported x1.10 by default.
 *   "o200k", "cl100k"  OpenAI's, as tiktoken 1.0.22 encode_ordinary (no special tokens).
 * Bytes that are not UTF-8 count as U+FFFD per maximal invalid subpart (as a JavaScript
 * string decoded from them). Any chunking of the same bytes gives the same result.
 *
 * HowTo:
 *     spill_tokenizer *tk; spill_count_opts o; spill_count_result r;
 *     if (spill_tokenizer_open(&tk, "claude", NULL, NULL, 0) < 0) ...;   (vocabulary missing)
 *     spill_count_opts_init(&o);                   (exact throughout, x1.10 for claude)
 *     spill_count(tk, &o, text, len, &r);          (or spill_counter_new / feed / finish)
 *     printf("%llu tokens\n", (unsigned long long)r.tokens);
 *     spill_tokenizer_free(tk);
 *
 * Threads: a tokenizer is read-only once open, and any number of counters on any
 * threads may use it at once; spill_tokenizer_counter() itself (it records the vtab in
 * the tokenizer) must not race with another call of it or with spill_tokenizer_free().
 * A spill_counter is used by one thread at a time. */

typedef struct spill_tokenizer spill_tokenizer;

/* Loads the vocabulary "claude", "o200k" or "cl100k" (vocab NULL: "claude") from the
 * .tiktoken file in dir, or, with dir NULL, from the first of: $SPILL_VOCAB_DIR, the
 * directory installed beside the library, the build tree's vocab/. On failure *tk is
 * NULL and, when err is not NULL, err gets a one-line reason (the file tried).
 * Errors: SPILL_E_INVAL (unknown vocabulary), -ENOENT or another -errno (file missing or
 * unreadable), SPILL_E_CORRUPT (malformed file), SPILL_E_NOMEM. About 5 MB of memory
 * for o200k; free it with spill_tokenizer_free once every counter made from it is gone. */
int spill_tokenizer_open(spill_tokenizer **tk, const char *vocab, const char *dir, char *err,
                         size_t errlen);
void spill_tokenizer_free(spill_tokenizer *tk); /* NULL ok */
/* "claude", "o200k" or "cl100k". Static storage. */
const char *spill_tokenizer_vocab(const spill_tokenizer *tk);

typedef struct spill_count_opts {
    double multiplier;   /* scales the reported count; 0: the vocabulary's default
                            (1.10 for claude, 1.00 otherwise) */
    uint64_t early_exit; /* exact until the reported count exceeds this, estimated (the
                            calibrated estimator) after; SPILL_NO_LIMIT: exact to the end */
    size_t piece_cap;    /* bytes of one pre-tokenizer piece held whole; 0: 2 MiB, else
                            >= 4 KiB. A longer piece is counted in slices (result.capped) */
} spill_count_opts;
void spill_count_opts_init(spill_count_opts *o); /* 0, SPILL_NO_LIMIT, 0 */

typedef struct spill_count_result {
    uint64_t tokens;           /* reported: round((exact + estimated) x multiplier) */
    uint64_t exact_tokens;     /* vocabulary tokens counted exactly */
    uint64_t estimated_tokens; /* vocabulary tokens estimated after an early exit (else 0) */
    uint64_t estimated_from;   /* where estimation began, in bytes of the normalized text
                                  (the input offset when the input is valid UTF-8 that
                                  NFKC leaves as it is); == text_bytes without early exit */
    uint64_t bytes;            /* input bytes fed */
    uint64_t text_bytes;       /* bytes after UTF-8 repair and normalization */
    int capped;                /* 1: a piece was longer than piece_cap (or memory ran out),
                                  so the exact part is not exact */
    int early_exit;            /* 1: the count went over early_exit and estimating began */
} spill_count_result;

/* One buffer, whole. o NULL: spill_count_opts_init's defaults. Errors: SPILL_E_INVAL,
 * SPILL_E_NOMEM. */
int spill_count(const spill_tokenizer *tk, const spill_count_opts *o, const void *data, size_t size,
                spill_count_result *r);

/* Streaming: new, feed any number of times, finish, free. tk must outlive the counter. */
typedef struct spill_counter spill_counter;
int spill_counter_new(spill_counter **c, const spill_tokenizer *tk, const spill_count_opts *o);
/* Never fails for want of memory: the counter then estimates the rest and sets capped.
 * SPILL_E_STATE after finish. */
int spill_counter_feed(spill_counter *c, const void *data, size_t size);
/* End of the text; r (NULL ok) gets the final result. Idempotent. */
int spill_counter_finish(spill_counter *c, spill_count_result *r);
/* The result so far: before finish, text still held back (an open piece) counts as one
 * token, a lower bound of the final figure. */
void spill_counter_result(const spill_counter *c, spill_count_result *r);
void spill_counter_free(spill_counter *c); /* NULL ok */

/* A counter interface for spill_filter_opts.counter over this tokenizer and options,
 * named "bpe:VOCAB" plus "*M.MM" when the multiplier is not 1 (e.g. "bpe:claude*1.10");
 * a state that went over early_exit names itself NAME+"+estimate". Owned by tk: valid
 * until spill_tokenizer_free (asking twice with the same options gives the same vtab).
 * NULL when out of memory or o is invalid. */
const spill_counter_vtab *spill_tokenizer_counter(spill_tokenizer *tk, const spill_count_opts *o);

#ifdef __cplusplus
}
#endif
#endif
