/* filter_impl.h - the filter's state, shared by filter.c (framing, learning,
 * deciding) and rewrite.c (rewriting a large result). Never installed. */
#ifndef SPILL_FILTER_IMPL_H
#define SPILL_FILTER_IMPL_H

#include "imgfilter.h"
#include "preview.h"
#include "scan.h"
#include "spill.h"
#include "walk.h"

enum { M_IDLE = 0, M_PROBE, M_PASS, M_REWRITE };
enum { METHOD_OTHER = 0, METHOD_TOOLS_CALL, METHOD_TASKS_RESULT, METHOD_RESOURCES_READ,
       METHOD_PROMPTS_GET };
enum { MAP_SIZE = 4096, MAP_WAYS = 4 };

typedef struct req_entry {
    char id[SPILL__CAP + 2];
    char tool[SPILL__CAP];
    int method;
    uint64_t seq;
} req_entry;

/* One payload being rewritten: staged in memory until it is worth spilling, then
 * streamed to the sink. */
typedef struct rw_payload {
    spill__slot slot;
    int active, spilling, failed, done, deferred; /* deferred: committed at the item's end */
    int img;                       /* an image candidate, kept by imgfilter.c */
    int absorbed;                  /* its item went into a run's object as raw JSON */
    char where[96];
    unsigned char *raw;            /* raw JSON of the value while small */
    size_t raw_len, raw_cap;
    unsigned char *dec;            /* decoded bytes while small */
    size_t dec_len;
    uint64_t raw_from;             /* message offset of the value's first byte */
    int depth;                     /* of the value (structuredContent end) */
    void *obj;
    void *counter, *sampled;       /* tokens of the first bytes; of sampled windows after */
    const spill_counter_vtab *sv;  /* sampled's counter: cv's sampler, or cv */
    const spill_counter_vtab *cv;  /* the interface they were made by (reconfigure may
                                      change f->counter while they live) */
    uint64_t sampled_bytes;
    uint64_t counted;              /* the first bytes counter had when it was handed over */
    spill__b64 b64, b64check;      /* decoding (spilling), checking (staged) */
    unsigned char *b64out;
    spill__preview pv;
    uint64_t total;                /* decoded bytes */
    char err[256];
    spill_object_info info;
} rw_payload;

typedef struct rw_member { size_t a, b; uint8_t key; } rw_member;

/* A run of consecutive small items of a large result (each kept inline on its own),
 * stored together as one object once the run passes min_spill_bytes (group.c). */
typedef struct rw_group {
    rw_payload pl;                 /* the object: counted, previewed, written as a payload */
    spill__buf stage;              /* the run as it will be stored, until it is that large */
    size_t at;                     /* where in out the run begins */
    int n, first, last;            /* items in the run; the first and last one's index */
    int role, depth;               /* the items' role and depth */
    int open;                      /* the object is begun; the run's items left out */
} rw_group;

typedef struct spill__rw {
    spill__scan sc;
    spill__walk walk;
    spill__buf out;
    uint64_t pos;                  /* message bytes fed to the rewrite so far */
    uint64_t copied;               /* raw bytes up to here are in out, in a payload, or dropped */
    const unsigned char *chunk;
    uint64_t chunk_base;
    size_t chunk_n;
    int broken;                    /* JSON error or skeleton over its cap */
    uint64_t broken_at;
    rw_payload pl;
    /* the item around the payload (content item, contents item, prompt content) */
    int item_depth, item_role, item_rebuild, item_spilled, item_nmem, item_index, msg_index;
    size_t item_start;
    rw_member mem[32];
    int item_overflow;
    int item_big;                  /* a payload of the item is being (or was) spilled */
    int item_absorbed;             /* the item is going into the run's object (group.c) */
    uint64_t handle_bytes;         /* of the handles rendered in this result */
    rw_group grp;
    spill__buf handle;             /* the handle text of the last payload committed */
    spill__buf item_text;          /* the handles of the current item's payloads */
    char item_id[SPILL_ID_HEX + 1];
    uint64_t item_size;
    char item_mime[128];
    int spilled_any;
    int id_early;                  /* the probe knew the message's id (or that it has none) */
    int structured_replaced;
    spill__buf notes;              /* ids stored, for a result that cannot be rewritten */
    /* The decision's counter, when all it counted is the first handoff_bytes bytes of
     * the payload at message offset handoff_off: that payload's count goes on from it
     * rather than counting those bytes (exactly, up to the threshold) a second time. */
    void *handoff;
    const spill_counter_vtab *handoff_cv;
    uint64_t handoff_bytes, handoff_off;
    int handoff_slot;
    struct spill__rwimg *img;      /* images kept whole or downscaled (imgfilter.c) */
} spill__rw;

typedef struct dirstate {
    uint64_t off;                  /* bytes fed in this direction */
    int in_msg, mode;
    uint64_t msg_off, msg_len;
    spill__scan sc;
    spill__walk *walk;
    unsigned char *buf;            /* a held message (probe) */
    size_t len;
    void *counter;                 /* probe: tokens over the message's payloads */
    const spill_counter_vtab *cv;  /* the interface counter was made by */
    uint64_t payload_bytes;
    unsigned char *lazy;           /* payload bytes not counted yet (SPILL__LAZY_MAX) */
    size_t lazy_len;
    int payload_seen, elig_no, id_looked, scan_failed, ws_only, has_msg;
    uint64_t threshold;
    int pl_slot, pl_depth;
    uint64_t pl_off;
    int npayloads, first_slot;     /* payloads begun in the message; the first one's slot */
    int nmsgs;                     /* messages begun in the line (more than 1: a batch) */
    uint64_t first_off;
    /* image data counted by its pixels (imgfilter.h), not as text */
    spill__imgcount imgc;
    uint64_t img_tokens;
    int pl_img, img_force;
    spill__rw *rw;
} dirstate;

/* Payload bytes a probe may keep uncounted (see count_payload in filter.c). */
#define SPILL__LAZY_MAX 16384

struct spill_filter {
    spill_filter_opts o;
    spill_object_sink sink;
    const spill_counter_vtab *counter;
    spill_allocator a;
    dirstate d[2];
    req_entry *map;
    size_t map_next;
    char server[SPILL__CAP], client[SPILL__CAP], protocol[32], session[256];
    spill_filter_stats stats;
    uint64_t base_threshold;       /* threshold_for(no tool), cached */
    int base_valid;
    spill_filter_error err;
    char errmsg[512];
    int sticky;
    spill_rule *rules;             /* the filter's own copy of o.rules */
    char *rule_strings;
    spill_structured_fn on_structured;
    void *on_structured_ud;
    /* the response being rewritten: what the handle says it came from */
    char origin[SPILL__CAP + 32];
    int cur_method;
    char cur_tool[SPILL__CAP];
};

void *spill__falloc(spill_filter *f, size_t n);
void spill__ffree(spill_filter *f, void *p);
void *spill__frealloc(void *ctx, void *p, size_t n);
int spill__femit(spill_filter *f, spill_dir dir, const void *p, size_t n);
int spill__ferror(spill_filter *f, int code, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int spill__links_enabled(const spill_filter *f);
req_entry *spill__map_get(spill_filter *f, const char *id);
/* A message that cannot be passed on: an isError result for its id (or a log
 * notification without one) that says why and lists what was stored (notes). */
int spill__emit_failure(spill_filter *f, const spill__msg *m, const char *why, const char *notes,
                        const char *term, size_t tn);

int spill__rw_begin(spill_filter *f);
/* Offers the decision's counter (see spill__rw.handoff); returns 1 if the rewrite took
 * it (it then owns and frees it), 0 if the caller keeps it. */
int spill__rw_handoff(spill_filter *f, void *counter, const spill_counter_vtab *cv, uint64_t bytes,
                      uint64_t off, int slot);
int spill__rw_feed(spill_filter *f, const unsigned char *p, size_t n);
/* Ends the message: emits the rewritten message and term. cut_off: the stream ended. */
int spill__rw_end(spill_filter *f, const char *term, size_t tn, int cut_off);
void spill__rw_free(spill_filter *f);
/* Begins storing the current payload from already decoded bytes (imgfilter.c); the
 * payload is spilling after it, and later base64 goes through the usual path. */
int spill__rw_spill_decoded(spill_filter *f, const unsigned char *p, size_t n);

/* rewrite.c, for group.c */
/* Commits pl's object as mime (unless it failed) and renders its handle, or the failure,
 * into r->handle; in brings what only the caller knows (orig_uri, binary...), the rest is
 * filled here. 0, or SPILL_E_NOMEM. */
int spill__rw_commit(spill_filter *f, spill__rw *r, rw_payload *pl, const char *mime, uint64_t tokens,
                     const char *counter, spill__handle_in *in);
void spill__rw_put_info(spill_filter *f, const spill__rw *r, spill_put_info *pi);
/* What the handle's from: line says the payload came from (the method and tool). */
const char *spill__rw_origin(const spill_filter *f, const spill__rw *r);
void spill__pl_clear(spill_filter *f, rw_payload *pl); /* keeps its buffers */
int spill__pl_process(spill_filter *f, rw_payload *pl, const unsigned char *p, size_t n);
int spill__pl_fail(spill_filter *f, rw_payload *pl, int rc, const char *what);
uint64_t spill__pl_tokens(const rw_payload *pl);

/* group.c: runs of small items. */
int spill__group_init(spill_filter *f, spill__rw *r);
void spill__group_reset(spill_filter *f, spill__rw *r);
void spill__group_free(spill_filter *f, spill__rw *r);
/* The item just ended (out[item_start..]) and kept as it came: a small one joins the
 * run, any other ends it. */
int spill__group_item(spill_filter *f, spill__rw *r);
/* Whether this event (a value in the run's array that is not one of its items, or the
 * array's end) ends the run. */
int spill__group_breaks(const spill__rw *r, const spill__scan_ev *ev);
/* At a payload that would be spilled on its own: once this result's handles pass
 * SPILL__ABSORB_AFTER bytes, its text item joins the run instead (raw JSON and all),
 * so a result of many medium items gets one handle, not one each. 1 if it did, 0 if
 * not, or an error. */
int spill__group_absorb(spill_filter *f, spill__rw *r);
#define SPILL__ABSORB_AFTER (16u << 10)
/* Raw bytes of an absorbed payload, for the run's object. */
int spill__group_raw(spill_filter *f, spill__rw *r, const unsigned char *p, size_t n);
/* Ends the run: one that passed min_spill_bytes is stored and its handle, as one item,
 * takes its place in out (an item in progress after it shifts); a smaller one stays. */
int spill__group_end(spill_filter *f, spill__rw *r);

/* The name a counter state's count goes by (a counter may say it went over to
 * estimating), and its final count (after finish, for counters that hold text back). */
static inline const char *spill__counter_name(const spill_counter_vtab *cv, const void *state)
{
    const char *n = cv->state_name && state ? cv->state_name(state) : NULL;
    return n ? n : cv->name;
}
static inline uint64_t spill__counter_final(const spill_counter_vtab *cv, void *state)
{
    if (cv->finish)
        cv->finish(state);
    return cv->count(state);
}

#endif
