/* rewrite.c - rewriting one large result while it streams.
 *
 * The message is re-scanned from its first byte (the held bytes, then the live
 * rest). Raw bytes outside payloads are copied to `out`, the rewritten message.
 * A payload (a string at a payload role, or the whole structuredContent value) is
 * staged in memory while it is small; past min_spill_bytes it is streamed to the
 * sink as decoded bytes (base64 decoded to binary for image/audio/blob) and, when it
 * ends, replaced by its handle. Items whose payload cannot be replaced in place
 * (images, embedded resources, contents[] entries) are rebuilt as text items at
 * their closing brace from the spans of their other members, which are kept as they
 * were. So `out` holds only the skeleton: memory does not grow with payload size.
 *
 * `copied` is the message offset up to which raw bytes have been accounted for
 * (copied to out, staged in a payload, or replaced); every chunk ends accounted. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "filter_impl.h"

static void where_label(spill__rw *r, spill__slot slot, int depth, char *buf, size_t n);

/* ---- raw bytes ---- */

/* Copies raw bytes of the current chunk up to message offset `upto` into out. */
static void flush_raw(spill__rw *r, uint64_t upto)
{
    if (upto <= r->copied)
        return;
    uint64_t from = r->copied > r->chunk_base ? r->copied : r->chunk_base;
    if (upto > r->chunk_base + r->chunk_n)
        upto = r->chunk_base + r->chunk_n;
    if (upto > from)
        spill__buf_put(&r->out, r->chunk + (from - r->chunk_base), (size_t)(upto - from));
    r->copied = upto;
}

/* ---- payloads ---- */

static int pl_fail(spill_filter *f, rw_payload *pl, int rc, const char *what)
{
    const char *detail = f->sink.last_error ? f->sink.last_error(f->sink.ctx) : NULL;
    snprintf(pl->err, sizeof pl->err, "%s: %s%s%s", what, spill_strerror(rc),
             detail && *detail ? "; " : "", detail && *detail ? detail : "");
    if (pl->obj) {
        f->sink.abort(pl->obj);
        pl->obj = NULL;
    }
    pl->failed = 1;
    f->stats.store_failures++;
    return 0; /* not the filter's error: the result will say it plainly */
}

static int pl_write(spill_filter *f, rw_payload *pl, const void *p, size_t n)
{
    if (pl->failed || n == 0)
        return 0;
    int rc = f->sink.write(pl->obj, p, n);
    return rc ? pl_fail(f, pl, rc, "writing the object") : 0;
}

static int process(spill_filter *f, rw_payload *pl, const unsigned char *p, size_t n);

void spill__rw_put_info(spill_filter *f, const spill__rw *r, spill_put_info *pi)
{
    memset(pi, 0, sizeof *pi);
    pi->session = f->session[0] ? f->session : NULL;
    pi->server = f->server[0] ? f->server : NULL;
    pi->tool = f->cur_tool[0] ? f->cur_tool : NULL;
    pi->request_id = r->walk.msg.id_set ? r->walk.msg.id + 1 : NULL;
    pi->token_counter = f->counter->name;
}

static int start_spill(spill_filter *f, spill__rw *r)
{
    rw_payload *pl = &r->pl;
    /* Past a few handles, an item joins the run as it is instead (group.c). */
    int rc = spill__group_absorb(f, r);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    /* A run of small items before this one ends here (stored, its handle put in place). */
    if ((rc = spill__group_end(f, r)) != 0)
        return rc;
    if (r->item_depth >= 0)
        r->item_big = 1;
    spill_put_info pi;
    spill__rw_put_info(f, r, &pi);
    pl->spilling = 1;
    rc = f->sink.begin(f->sink.ctx, &pl->obj, &pi);
    if (rc) {
        pl->obj = NULL;
        pl_fail(f, pl, rc, "starting an object");
    }
    /* What was staged goes the same way as what follows (the preview sees it too). */
    return process(f, pl, pl->dec, pl->dec_len);
}

/* Tokens: every byte of the first COUNT_ALL bytes, then one window of SAMPLE_WIN bytes
 * in every SAMPLE_EVERY, scaled up at the end. The decision was made long before;
 * this number is only reported, and counting all of a 1 GB output would cost more
 * CPU than parsing it. Windows sit at fixed payload offsets, so any chunking gives
 * the same count. */
enum { COUNT_ALL = 4 << 20, SAMPLE_WIN = 64 << 10, SAMPLE_EVERY = 16 };

static void count_tokens(rw_payload *pl, const unsigned char *p, size_t n)
{
    uint64_t at = pl->total;
    while (n) {
        size_t k;
        if (at < COUNT_ALL) {
            k = (size_t)(COUNT_ALL - at) < n ? (size_t)(COUNT_ALL - at) : n;
            if (at + k > pl->counted) { /* the bytes a handed-over counter has seen are skipped */
                const size_t skip = at < pl->counted ? (size_t)(pl->counted - at) : 0;
                pl->cv->feed(pl->counter, p + skip, k - skip);
            }
        } else {
            uint64_t rel = at - COUNT_ALL, win = rel / SAMPLE_WIN, in = rel % SAMPLE_WIN;
            k = (size_t)(SAMPLE_WIN - in) < n ? (size_t)(SAMPLE_WIN - in) : n;
            if (win % SAMPLE_EVERY == 0 && pl->sampled) {
                pl->sv->feed(pl->sampled, p, k);
                pl->sampled_bytes += k;
            }
        }
        at += k;
        p += k;
        n -= k;
    }
}

static uint64_t payload_tokens(const rw_payload *pl)
{
    if (!pl->counter)
        return 0;
    uint64_t t = spill__counter_final(pl->cv, pl->counter);
    if (pl->total > COUNT_ALL && pl->sampled && pl->sampled_bytes)
        t += (uint64_t)((double)spill__counter_final(pl->sv, pl->sampled) *
                        (double)(pl->total - COUNT_ALL) / (double)pl->sampled_bytes);
    return t;
}

/* Bytes of a payload that is being spilled: decoded if it is base64, then counted,
 * previewed and written. */
static int process(spill_filter *f, rw_payload *pl, const unsigned char *p, size_t n)
{
    while (n) {
        size_t k = n;
        const unsigned char *q = p;
        if (pl->slot == S_B64_REBUILD) {
            if (k > SPILL__SCAN_CHUNK)
                k = SPILL__SCAN_CHUNK; /* b64out holds the decoding of this much */
            long d = spill__b64_decode(&pl->b64, p, k, pl->b64out);
            if (d < 0)
                return pl->failed ? 0 : pl_fail(f, pl, SPILL_E_JSON, "the base64 data is malformed");
            q = pl->b64out;
            p += k;
            n -= k;
            k = (size_t)d;
        } else {
            if (pl->counter)
                count_tokens(pl, p, k);
            p += k;
            n -= k;
        }
        pl->total += k;
        spill__preview_feed(&pl->pv, q, k);
        int rc = pl_write(f, pl, q, k);
        if (rc)
            return rc;
    }
    return 0;
}

/* Content bytes of the payload (decoded text, raw JSON, or base64 text). While small
 * it is staged as it came (base64 as its text, checked but not decoded), so deciding
 * to keep it, to store it as binary or, if the base64 is malformed, as the text it is,
 * depends on the content alone and never on how the input was cut. */
static int pl_data(spill_filter *f, spill__rw *r, const unsigned char *p, size_t n)
{
    rw_payload *pl = &r->pl;
    if (pl->absorbed)
        return 0; /* its raw JSON goes to the run's object (pl_raw) */
    /* After a store failure the bytes still pass through process(): the preview and
     * the size the result reports must not depend on where the failure struck. */
    if (pl->img) { /* an image: kept whole to decide on (1: too big, stored as it streams) */
        int rc = spill__rwimg_data(f, r, p, n);
        if (rc != 1)
            return rc;
    }
    if (pl->spilling)
        return process(f, pl, p, n);
    if (pl->slot == S_B64_REBUILD) {
        for (size_t i = 0; i < n; i += SPILL__SCAN_CHUNK) {
            size_t k = n - i < SPILL__SCAN_CHUNK ? n - i : SPILL__SCAN_CHUNK;
            if (spill__b64_decode(&pl->b64check, p + i, k, pl->b64out) < 0) {
                pl->slot = S_TEXT_REBUILD; /* not base64 after all: it is text */
                break;
            }
        }
    }
    if (pl->dec_len + n <= f->o.min_spill_bytes) {
        memcpy(pl->dec + pl->dec_len, p, n);
        pl->dec_len += n;
        return 0;
    }
    int rc = start_spill(f, r);
    return rc || pl->absorbed ? rc : process(f, pl, p, n);
}

/* Raw JSON bytes of the payload value: staged while small (to keep it inline), or the
 * content itself for structuredContent. */
int spill__rw_spill_decoded(spill_filter *f, const unsigned char *p, size_t n)
{
    spill__rw *r = f->d[SPILL_S2C].rw;
    rw_payload *pl = &r->pl;
    pl->dec_len = 0;
    int rc = start_spill(f, r);
    if (rc)
        return rc;
    if (pl->slot != S_B64_REBUILD && pl->counter) /* base64 that was not: text, counted */
        count_tokens(pl, p, n);
    pl->total += n;
    spill__preview_feed(&pl->pv, p, n);
    return pl_write(f, pl, p, n);
}

static int pl_raw(spill_filter *f, spill__rw *r, uint64_t upto)
{
    rw_payload *pl = &r->pl;
    uint64_t from = r->copied > r->chunk_base ? r->copied : r->chunk_base;
    if (upto > r->chunk_base + r->chunk_n)
        upto = r->chunk_base + r->chunk_n;
    if (upto <= from)
        return 0;
    const unsigned char *p = r->chunk + (from - r->chunk_base);
    size_t n = (size_t)(upto - from);
    r->copied = upto;
    int rc = 0;
    if (pl->img)
        return 0; /* an image goes out from what imgfilter.c kept, or not at all */
    if (pl->slot == S_STRUCTURED && !pl->absorbed)
        rc = pl_data(f, r, p, n);
    if (pl->absorbed)
        return rc ? rc : spill__group_raw(f, r, p, n);
    if (pl->spilling)
        return rc;
    if (pl->raw_len + n > pl->raw_cap) {
        /* Cannot happen: raw_cap holds the largest escaping of min_spill bytes plus what
         * the scanner may hold back; kept as a guard, never as a decision. */
        if ((rc = start_spill(f, r)) != 0)
            return rc;
        return pl->absorbed ? spill__group_raw(f, r, p, n) : 0;
    }
    memcpy(pl->raw + pl->raw_len, p, n);
    pl->raw_len += n;
    return rc;
}

void spill__pl_clear(spill_filter *f, rw_payload *pl)
{
    if (pl->obj)
        f->sink.abort(pl->obj);
    if (pl->counter)
        pl->cv->destroy(pl->counter);
    if (pl->sampled)
        pl->sv->destroy(pl->sampled);
    unsigned char *raw = pl->raw, *dec = pl->dec, *b64 = pl->b64out;
    unsigned char *head = pl->pv.head, *tail = pl->pv.tail;
    size_t raw_cap = pl->raw_cap;
    memset(pl, 0, sizeof *pl);
    pl->raw = raw;
    pl->dec = dec;
    pl->b64out = b64;
    pl->raw_cap = raw_cap;
    pl->pv.head = head;
    pl->pv.tail = tail;
}

static void pl_reset(spill_filter *f, spill__rw *r) { spill__pl_clear(f, &r->pl); }

static int pl_commit(spill_filter *f, spill__rw *r, const char *mime);

/* Commits a payload whose item asked to wait for its mimeType. */
static int commit_deferred(spill_filter *f, spill__rw *r)
{
    if (!r->pl.deferred)
        return 0;
    r->pl.deferred = 0;
    const char *mime = r->walk.item_mime[0] ? r->walk.item_mime : NULL;
    if (r->pl.slot == S_TEXT_REBUILD)
        mime = NULL; /* decoded text: the server's mimeType may not describe plain text */
    return pl_commit(f, r, mime);
}

static int pl_begin(spill_filter *f, spill__rw *r, spill__slot slot, const spill__scan_ev *ev)
{
    int rc0 = commit_deferred(f, r); /* an item with two payloads: the first goes now */
    if (rc0)
        return rc0;
    pl_reset(f, r);
    rw_payload *pl = &r->pl;
    pl->slot = slot;
    pl->active = 1;
    pl->raw_from = ev->off;
    pl->depth = ev->depth;
    where_label(r, slot, ev->depth, pl->where, sizeof pl->where);
    pl->img = slot == S_B64_REBUILD && spill__img_candidate(&r->walk, ev->depth);
    spill__preview_init(&pl->pv, pl->pv.head, f->o.preview_head_bytes, pl->pv.tail,
                        f->o.preview_tail_bytes, slot != S_B64_REBUILD);
    int rc = 0;
    if (r->handoff && r->handoff_off == ev->off && r->handoff_slot == (int)slot) {
        pl->cv = r->handoff_cv;
        pl->counter = r->handoff;
        pl->counted = r->handoff_bytes;
        r->handoff = NULL;
    } else {
        pl->cv = f->counter;
        rc = pl->cv->create(pl->cv->ctx, &pl->counter);
    }
    pl->sv = pl->cv->sampler ? pl->cv->sampler : pl->cv;
    if (rc == 0)
        rc = pl->sv->create(pl->sv->ctx, &pl->sampled);
    if (rc)
        return spill__ferror(f, rc, ev->off, "cannot create a token counter");
    return 0;
}

int spill__rw_commit(spill_filter *f, spill__rw *r, rw_payload *pl, const char *mime, uint64_t tokens,
                     const char *counter, spill__handle_in *in)
{
    if (!pl->failed) {
        int rc = f->sink.commit(pl->obj, mime, tokens, counter, &pl->info);
        pl->obj = NULL; /* commit consumes it either way */
        if (rc)
            pl_fail(f, pl, rc, "storing the object");
    }
    r->handle.len = 0;
    r->handle.full = 0;
    in->id = pl->info.id;
    in->path = pl->info.path;
    in->view = pl->info.view;
    in->mime = pl->info.mime[0] ? pl->info.mime : (mime ? mime : "application/octet-stream");
    in->where = pl->where;
    in->origin = spill__rw_origin(f, r);
    in->tokens = tokens;
    in->lines = pl->info.lines;
    in->counter = counter;
    in->error = pl->failed ? pl->err : NULL;
    in->pv = &pl->pv;
    if (spill__handle_text(&r->handle, in) != 0 && r->handle.oom)
        return spill__ferror(f, SPILL_E_NOMEM, 0, "out of memory rendering a handle");
    r->handle_bytes += r->handle.len;
    return 0;
}

/* Commits the payload's object and renders its handle (or the failure) into r->handle. */
static int pl_commit(spill_filter *f, spill__rw *r, const char *mime)
{
    rw_payload *pl = &r->pl;
    spill__preview_finish(&pl->pv);
    if (pl->slot == S_B64_REBUILD && !pl->failed && spill__b64_finish(&pl->b64) != 0)
        pl_fail(f, pl, SPILL_E_JSON, "the base64 data is malformed");
    uint64_t tokens = pl->slot == S_B64_REBUILD ? 0 : payload_tokens(pl);
    const char *counter = pl->cv ? spill__counter_name(pl->cv, pl->counter) : f->counter->name;
    spill__handle_in in = {0};
    in.orig_uri = r->walk.item_uri;
    in.orig_mime = r->walk.item_mime;
    in.binary = pl->slot == S_B64_REBUILD;
    int rc = spill__rw_commit(f, r, pl, mime, tokens, counter, &in);
    if (rc)
        return rc;
    /* An item rebuilt as text carries the handles of all its payloads. */
    if (r->item_depth >= 0) {
        if (r->item_text.len)
            spill__buf_put(&r->item_text, "\n\n", 2);
        spill__buf_put(&r->item_text, r->handle.p, r->handle.len);
        if (r->item_text.oom)
            return spill__ferror(f, SPILL_E_NOMEM, 0, "out of memory rendering a handle");
    }
    if (!pl->failed) {
        f->stats.payloads_spilled++;
        f->stats.spilled_bytes += pl->total;
        snprintf(r->item_id, sizeof r->item_id, "%s", pl->info.id);
        r->item_size = pl->info.raw_size;
        snprintf(r->item_mime, sizeof r->item_mime, "%s", in.mime);
        spill__buf_printf(&r->notes, "%s %s (%llu bytes)\n", pl->info.id, pl->where,
                          (unsigned long long)pl->info.raw_size);
    }
    r->spilled_any = 1;
    return 0;
}

static int pl_end(spill_filter *f, spill__rw *r, uint64_t end)
{
    rw_payload *pl = &r->pl;
    int rc;
    if ((rc = pl_raw(f, r, end)) != 0)
        return rc;
    r->copied = end;
    pl->active = 0;
    pl->done = 1;
    if (pl->img && (rc = spill__rwimg_end(f, r)) != 0)
        return rc;
    if (pl->img && !pl->spilling)
        return 0; /* passed on whole */
    if (pl->absorbed)
        return 0; /* all of it is in the run's object */
    if (!pl->spilling) { /* small: the value stays exactly as it was */
        spill__buf_put(&r->out, pl->raw, pl->raw_len);
        return 0;
    }
    if (pl->slot == S_TEXT_INPLACE) {
        if ((rc = pl_commit(f, r, NULL)) != 0)
            return rc;
        spill__buf_json(&r->out, r->handle.p, r->handle.len);
        r->item_spilled = !pl->failed;
        return 0;
    }
    if (pl->slot == S_STRUCTURED) {
        if ((rc = pl_commit(f, r, "application/json")) != 0)
            return rc;
        if (pl->failed)
            spill__buf_printf(&r->out, "{\"spill\":{\"error\":");
        else
            spill__buf_printf(&r->out, "{\"spill\":{\"id\":\"%s\",\"uri\":\"spill://%s\",\"bytes\":%llu,"
                              "\"mimeType\":\"application/json\",\"note\":", pl->info.id, pl->info.id,
                              (unsigned long long)pl->info.raw_size);
        spill__buf_json(&r->out, r->handle.p, r->handle.len);
        spill__buf_put(&r->out, "}}", 2);
        r->structured_replaced = 1;
        if (f->on_structured)
            f->on_structured(f->on_structured_ud, f->cur_tool);
        return 0;
    }
    /* Rebuilt at the item's end, when its mimeType is known too. */
    pl->deferred = 1;
    r->item_rebuild = 1;
    return 0;
}

/* ---- items ---- */

static void where_label(spill__rw *r, spill__slot slot, int depth, char *buf, size_t n)
{
    if (slot == S_STRUCTURED || depth < 1) {
        snprintf(buf, n, "structuredContent");
        return;
    }
    const spill__frame *parent = &r->walk.st[depth - 1];
    const char *field = parent->key == K_DATA ? "data" : parent->key == K_BLOB ? "blob" : "text";
    const char *res = parent->role == R_RESOURCE ? ".resource" : "";
    switch (r->item_role) {
    case R_CITEM: snprintf(buf, n, "content[%d]%s.%s", r->item_index, res, field); break;
    case R_RITEM: snprintf(buf, n, "contents[%d].%s", r->item_index, field); break;
    case R_MCONTENT: snprintf(buf, n, "messages[%d].content%s.%s", r->msg_index, res, field); break;
    default: snprintf(buf, n, "%s", field); break;
    }
}

static int is_dropped(int role, uint8_t key)
{
    if (role == R_RITEM)
        return key == K_TEXT || key == K_BLOB || key == K_MIMETYPE;
    return key == K_TYPE || key == K_TEXT || key == K_DATA || key == K_MIMETYPE || key == K_RESOURCE;
}

/* The item ended (its '}' is in out): rebuild it around the handle if needed, and
 * follow a spilled content item with a resource_link where the era has them. */
static int item_end(spill_filter *f, spill__rw *r)
{
    int rc;
    if ((rc = commit_deferred(f, r)) != 0)
        return rc;
    if (r->item_rebuild) {
        spill__buf tmp = {0};
        tmp.max = f->o.max_skeleton_bytes;
        tmp.realloc = spill__frealloc;
        tmp.ctx = f;
        if (r->item_role == R_RITEM) {
            spill__buf_put(&tmp, "{", 1);
            int first = 1;
            for (int i = 0; i < r->item_nmem; i++)
                if (!is_dropped(R_RITEM, r->mem[i].key)) {
                    if (!first)
                        spill__buf_put(&tmp, ",", 1);
                    spill__buf_put(&tmp, r->out.p + r->mem[i].a, r->mem[i].b - r->mem[i].a);
                    first = 0;
                }
            spill__buf_printf(&tmp, "%s\"mimeType\":\"text/plain\",\"text\":", first ? "" : ",");
            spill__buf_json(&tmp, r->item_text.p, r->item_text.len);
            spill__buf_put(&tmp, "}", 1);
        } else {
            /* A downscaled image opens the item, its handle follows as a text item. */
            const int img = spill__rwimg_item_head(f, r, &tmp);
            if (!img) {
                spill__buf_printf(&tmp, "{\"type\":\"text\",\"text\":");
                spill__buf_json(&tmp, r->item_text.p, r->item_text.len);
            }
            for (int i = 0; i < r->item_nmem; i++)
                if (!is_dropped(r->item_role, r->mem[i].key)) {
                    spill__buf_put(&tmp, ",", 1);
                    spill__buf_put(&tmp, r->out.p + r->mem[i].a, r->mem[i].b - r->mem[i].a);
                }
            spill__buf_put(&tmp, "}", 1);
            if (img) {
                spill__buf_printf(&tmp, ",{\"type\":\"text\",\"text\":");
                spill__buf_json(&tmp, r->item_text.p, r->item_text.len);
                spill__buf_put(&tmp, "}", 1);
            }
        }
        if (tmp.oom) {
            spill__ffree(f, tmp.p);
            return spill__ferror(f, SPILL_E_NOMEM, 0, "out of memory rebuilding an item");
        }
        if (tmp.full || r->item_overflow) {
            spill__ffree(f, tmp.p);
            r->broken = 1;
            return 0;
        }
        r->out.len = r->item_start;
        spill__buf_put(&r->out, tmp.p, tmp.len);
        spill__ffree(f, tmp.p);
        r->item_spilled = !r->pl.failed;
    }
    if (r->item_spilled && r->item_role == R_CITEM && spill__links_enabled(f)) {
        spill__buf_printf(&r->out, ",{\"type\":\"resource_link\",\"uri\":\"spill://%s\",\"name\":\"spill-%s\","
                          "\"mimeType\":", r->item_id, r->item_id);
        spill__buf_json(&r->out, r->item_mime, strlen(r->item_mime));
        spill__buf_printf(&r->out, ",\"size\":%llu,\"description\":\"The whole output, stored by spill; "
                          "read it with resources/read, spill_read or spill cat.\"}",
                          (unsigned long long)r->item_size);
    }
    /* A small item joins the run of small items before it; any other ends the run. */
    if ((rc = spill__group_item(f, r)) != 0)
        return rc;
    r->item_depth = -1;
    r->item_role = 0;
    r->item_rebuild = r->item_spilled = 0;
    return 0;
}

/* ---- the scan ---- */

/* What the handle's from: line names: the method and tool of f->cur_*. */
static void set_origin(spill_filter *f)
{
    static const char *names[] = {"", "tools/call", "tasks/result", "resources/read", "prompts/get"};
    snprintf(f->origin, sizeof f->origin, "%s%s%s", names[f->cur_method], f->cur_tool[0] ? " " : "",
             f->cur_tool);
}

const char *spill__rw_origin(const spill_filter *f, const spill__rw *r)
{
    if (!f->origin[0] && !r->walk.msg.id_set && !r->id_early)
        return "a request not known yet (the response's id comes after its output, past the bytes "
               "spill holds to wait for it)";
    return f->origin;
}

static int eligible(spill_filter *f, const spill__msg *m)
{
    if (m->has_method || m->has_error || !strcmp(m->result_type, "input_required"))
        return 0;
    if (!m->id_set)
        return 1;
    req_entry *e = spill__map_get(f, m->id);
    if (!e)
        return 1; /* not seen asked: the result's shape decides */
    if (e->method == METHOD_OTHER)
        return 0;
    f->cur_method = e->method;
    snprintf(f->cur_tool, sizeof f->cur_tool, "%s", e->tool);
    set_origin(f);
    return 1;
}

static int value_ends_here(spill__tok t)
{
    return t == SPILL__TOK_OBJ_END || t == SPILL__TOK_ARR_END || t == SPILL__TOK_STR_END ||
           t == SPILL__TOK_NUMBER || t == SPILL__TOK_TRUE || t == SPILL__TOK_FALSE ||
           t == SPILL__TOK_NULL;
}

static int rw_cb(void *ud, const spill__scan_ev *ev)
{
    spill_filter *f = ud;
    spill__rw *r = f->d[SPILL_S2C].rw;
    rw_payload *pl = &r->pl;
    int begin, rc;
    spill__slot slot = spill__walk_event(&r->walk, ev, &begin);

    if (begin == 0 && ev->tok == SPILL__TOK_OBJ_BEGIN && r->walk.role == R_PMSG)
        r->msg_index = r->walk.item_index;
    if (pl->active) {
        if (pl->slot != S_STRUCTURED && ev->tok == SPILL__TOK_STR_CHUNK)
            return pl_data(f, r, (const unsigned char *)ev->s, ev->n);
        if ((ev->tok == SPILL__TOK_STR_END || ev->tok == SPILL__TOK_OBJ_END ||
             ev->tok == SPILL__TOK_ARR_END) && ev->depth == pl->depth) {
            if ((rc = pl_end(f, r, ev->end)) != 0)
                return rc;
            goto member_end;
        }
        return 0;
    }
    if (r->grp.n && spill__group_breaks(r, ev) && (rc = spill__group_end(f, r)) != 0)
        return rc;
    if (ev->tok == SPILL__TOK_OBJ_BEGIN &&
        (r->walk.role == R_CITEM || r->walk.role == R_RITEM || r->walk.role == R_MCONTENT)) {
        flush_raw(r, ev->off);
        r->item_depth = ev->depth;
        r->item_role = r->walk.role;
        r->item_start = r->out.len;
        r->item_nmem = 0;
        r->item_overflow = 0;
        r->item_rebuild = r->item_spilled = r->item_big = r->item_absorbed = 0;
        r->item_index = r->walk.item_index;
        r->item_text.len = 0;
        return 0;
    }
    if (ev->tok == SPILL__TOK_KEY && r->item_depth >= 0 && ev->depth == r->item_depth + 1) {
        flush_raw(r, ev->off);
        /* A key split across chunks is partly in out already: start the span at its quote. */
        size_t back = r->copied > ev->off ? (size_t)(r->copied - ev->off) : 0;
        if (r->item_nmem < 30) {
            r->mem[r->item_nmem].a = r->out.len - back;
            r->mem[r->item_nmem].key = r->walk.st[r->item_depth].key;
        } else {
            r->item_overflow = 1;
        }
        return 0;
    }
    if (slot >= S_TEXT_INPLACE && slot <= S_STRUCTURED && eligible(f, &r->walk.msg)) {
        flush_raw(r, ev->off);
        return pl_begin(f, r, slot, ev);
    }
member_end:
    if (value_ends_here(ev->tok) && r->item_depth >= 0 && ev->depth == r->item_depth + 1) {
        flush_raw(r, ev->end);
        if (r->item_nmem < 30)
            r->mem[r->item_nmem++].b = r->out.len;
        return 0;
    }
    if (ev->tok == SPILL__TOK_OBJ_END && r->item_depth >= 0 && ev->depth == r->item_depth) {
        flush_raw(r, ev->end);
        return item_end(f, r);
    }
    return 0;
}

static void drop_handoff(spill__rw *r)
{
    if (r->handoff)
        r->handoff_cv->destroy(r->handoff);
    r->handoff = NULL;
}

int spill__rw_handoff(spill_filter *f, void *counter, const spill_counter_vtab *cv, uint64_t bytes,
                      uint64_t off, int slot)
{
    spill__rw *r = f->d[SPILL_S2C].rw;
    if (bytes > COUNT_ALL) /* more than the payload's count takes whole */
        return 0;
    drop_handoff(r);
    r->handoff = counter;
    r->handoff_cv = cv;
    r->handoff_bytes = bytes;
    r->handoff_off = off;
    r->handoff_slot = slot;
    return 1;
}

int spill__rw_begin(spill_filter *f)
{
    dirstate *d = &f->d[SPILL_S2C];
    spill__rw *r = d->rw;
    if (!r) {
        if (!(r = spill__falloc(f, sizeof *r)))
            return spill__ferror(f, SPILL_E_NOMEM, d->off, "out of memory starting a rewrite");
        memset(r, 0, sizeof *r);
        d->rw = r;
        r->pl.raw_cap = 6 * (f->o.min_spill_bytes + SPILL__SCAN_CHUNK) + 64;
        r->pl.raw = spill__falloc(f, r->pl.raw_cap);
        r->pl.dec = spill__falloc(f, f->o.min_spill_bytes);
        r->pl.b64out = spill__falloc(f, SPILL__SCAN_CHUNK + 64);
        r->pl.pv.head = spill__falloc(f, f->o.preview_head_bytes + 1);
        r->pl.pv.tail = spill__falloc(f, f->o.preview_tail_bytes + 1);
        if (!r->pl.raw || !r->pl.dec || !r->pl.b64out || !r->pl.pv.head || !r->pl.pv.tail ||
            spill__group_init(f, r) != 0)
            return spill__ferror(f, SPILL_E_NOMEM, d->off, "out of memory starting a rewrite");
        r->out.realloc = r->handle.realloc = r->notes.realloc = r->item_text.realloc = spill__frealloc;
        r->out.ctx = r->handle.ctx = r->notes.ctx = r->item_text.ctx = f;
        r->item_text.max = 4u << 20;
        r->out.max = f->o.max_skeleton_bytes;
        r->handle.max = 1u << 20;
        r->notes.max = 64u << 10;
    }
    pl_reset(f, r);
    drop_handoff(r);
    spill__group_reset(f, r);
    spill__scan_init(&r->sc);
    spill__walk_init(&r->walk);
    r->out.len = r->handle.len = r->notes.len = r->item_text.len = 0;
    r->out.oom = r->handle.oom = r->notes.oom = r->item_text.oom = 0;
    r->out.full = r->handle.full = r->notes.full = r->item_text.full = 0;
    r->pos = r->copied = 0;
    r->broken = 0;
    r->item_depth = -1;
    r->item_role = 0;
    r->spilled_any = r->structured_replaced = 0;
    r->handle_bytes = 0;
    r->item_absorbed = 0;
    f->origin[0] = 0;
    spill__rwimg_reset(f, r);
    /* The probe held a single message until its id came: the rescan meets the
     * payloads before the id again, but what they came from is known already. */
    r->id_early = d->nmsgs <= 1 && (d->id_looked || d->walk->msg_depth < 0); /* or saw it all */
    if (r->id_early && f->cur_method != METHOD_OTHER)
        set_origin(f);
    return 0;
}

int spill__rw_feed(spill_filter *f, const unsigned char *p, size_t n)
{
    spill__rw *r = f->d[SPILL_S2C].rw;
    r->chunk = p;
    r->chunk_base = r->pos;
    r->chunk_n = n;
    r->pos += n;
    if (r->broken)
        return 0;
    uint64_t erroff;
    int rc = spill__scan_feed(&r->sc, p, n, rw_cb, f, &erroff);
    if (rc == 1)
        rc = 0; /* the value is complete; trailing whitespace may follow */
    if (rc < 0 && rc != SPILL_E_JSON)
        return rc;
    if (rc == SPILL_E_JSON) {
        r->broken = 1;
        r->broken_at = erroff;
        return 0;
    }
    if (f->sticky)
        return f->sticky;
    /* Account for the rest of the chunk. */
    if (r->pl.active)
        rc = pl_raw(f, r, r->pos);
    else
        flush_raw(r, r->pos);
    if (r->out.oom || r->notes.oom)
        return spill__ferror(f, SPILL_E_NOMEM, r->pos, "out of memory rewriting a result");
    if (r->out.full)
        r->broken = 1;
    return rc;
}

int spill__rw_end(spill_filter *f, const char *term, size_t tn, int cut_off)
{
    spill__rw *r = f->d[SPILL_S2C].rw;
    f->d[SPILL_S2C].mode = M_IDLE;
    int rc = 0;
    char why[160];
    if (!r->broken && !cut_off) {
        uint64_t off;
        r->chunk_n = 0;
        r->chunk_base = r->pos;
        int s = spill__scan_finish(&r->sc, rw_cb, f, &off);
        if (s != 1) {
            r->broken = 1;
            r->broken_at = off;
        }
    }
    if (r->pl.deferred || (cut_off && !r->broken && r->pl.active && r->pl.spilling && !r->pl.failed &&
                           r->pl.obj)) {
        /* Keep what arrived of the payload: a complete object of the bytes received. Not
         * after a JSON error: how much of a string was decoded before it depends on how
         * the input was cut, and an object must not. */
        r->pl.deferred = 0;
        pl_commit(f, r, NULL);
    }
    /* A run still open (the message broke or was cut off in it): stored, and listed. */
    if ((rc = spill__group_end(f, r)) != 0)
        return rc;
    if (r->out.oom || r->notes.oom || r->handle.oom)
        return spill__ferror(f, SPILL_E_NOMEM, r->pos, "out of memory rewriting a result");
    if (cut_off || r->broken || r->out.full) {
        if (cut_off)
            snprintf(why, sizeof why, "the stream ended %llu bytes into it, before the result was complete",
                     (unsigned long long)r->pos);
        else if (r->out.full)
            snprintf(why, sizeof why, "its structure outside the payloads is larger than %zu bytes",
                     f->o.max_skeleton_bytes);
        else
            snprintf(why, sizeof why, "it is not valid JSON at byte %llu", (unsigned long long)r->broken_at);
        rc = spill__emit_failure(f, &r->walk.msg, why, r->notes.len ? r->notes.p : NULL, term, tn);
    } else {
        f->stats.results_rewritten++;
        rc = spill__femit(f, SPILL_S2C, r->out.p, r->out.len);
        if (!rc)
            rc = spill__femit(f, SPILL_S2C, term, tn);
    }
    pl_reset(f, r);
    drop_handoff(r);
    return rc;
}

void spill__rw_free(spill_filter *f)
{
    spill__rw *r = f->d[SPILL_S2C].rw;
    if (!r)
        return;
    pl_reset(f, r);
    drop_handoff(r);
    spill__rwimg_free(f, r);
    spill__group_free(f, r);
    spill__ffree(f, r->pl.raw);
    spill__ffree(f, r->pl.dec);
    spill__ffree(f, r->pl.b64out);
    spill__ffree(f, r->pl.pv.head);
    spill__ffree(f, r->pl.pv.tail);
    spill__ffree(f, r->out.p);
    spill__ffree(f, r->handle.p);
    spill__ffree(f, r->notes.p);
    spill__ffree(f, r->item_text.p);
    spill__ffree(f, r);
    f->d[SPILL_S2C].rw = NULL;
}

/* ---- for group.c: a run of small items is counted, previewed and written as a payload ---- */

int spill__pl_process(spill_filter *f, rw_payload *pl, const unsigned char *p, size_t n)
{
    return process(f, pl, p, n);
}
int spill__pl_fail(spill_filter *f, rw_payload *pl, int rc, const char *what) { return pl_fail(f, pl, rc, what); }
uint64_t spill__pl_tokens(const rw_payload *pl) { return payload_tokens(pl); }
