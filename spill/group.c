/* group.c - the small items of a large result, stored together.
 *
 * In a result over the threshold each payload past min_spill_bytes is stored on its own
 * and the items under it stay inline. A result split into many small items (50,000
 * texts of 20 bytes, 10,000 of 3 KB) would so pass whole, or break the skeleton's cap
 * and be lost. So consecutive items that stay as they came form a run; once the run
 * passes min_spill_bytes it is stored as one object and one item with its handle takes
 * its place.
 *
 * The object is the run's items as a JSON array, one item a line, each item's bytes as
 * the server sent them: nothing is lost whatever an item holds (annotations, _meta,
 * resource links, embedded resources), the preview shows its shape and first item,
 * spill_jq takes it as it is ('.[].text' gives the texts), and spill_read and spill_grep
 * see one item a line. Texts joined with a separator would read more easily but drop
 * everything but the text, and no separator is safe from the text itself.
 *
 * Items over min_spill_bytes get a handle each, but a handle costs a few KB: a result
 * of 2,000 items of 5 KB would pass on 8 MB of handles. So once the handles of a result
 * pass SPILL__ABSORB_AFTER, a text item that would get its own handle joins the run
 * instead: its raw JSON streams into the run's object as it comes (any size).
 *
 * Image and audio items never join a run: they stay images (image.c decides about
 * them), and a run around one ends there. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "filter_impl.h"

int spill__group_init(spill_filter *f, spill__rw *r)
{
    rw_group *g = &r->grp;
    g->stage.realloc = spill__frealloc;
    g->stage.ctx = f;
    g->stage.max = f->o.max_skeleton_bytes; /* it holds what out held */
    g->pl.pv.head = spill__falloc(f, f->o.preview_head_bytes + 1);
    g->pl.pv.tail = spill__falloc(f, f->o.preview_tail_bytes + 1);
    return g->pl.pv.head && g->pl.pv.tail ? 0 : SPILL_E_NOMEM;
}

void spill__group_reset(spill_filter *f, spill__rw *r)
{
    rw_group *g = &r->grp;
    spill__pl_clear(f, &g->pl);
    g->stage.len = 0;
    g->stage.oom = g->stage.full = 0;
    g->n = g->open = 0;
}

void spill__group_free(spill_filter *f, spill__rw *r)
{
    rw_group *g = &r->grp;
    spill__pl_clear(f, &g->pl);
    spill__ffree(f, g->pl.pv.head);
    spill__ffree(f, g->pl.pv.tail);
    spill__ffree(f, g->stage.p);
    memset(g, 0, sizeof *g);
}

/* A content or contents item that is not an image or audio (a "data" member). */
static int joinable_kind(const spill__rw *r)
{
    if (r->item_role != R_CITEM && r->item_role != R_RITEM)
        return 0;
    if (!strcmp(r->walk.item_type, "image") || !strcmp(r->walk.item_type, "audio"))
        return 0;
    for (int i = 0; i < r->item_nmem && i < 30; i++)
        if (r->mem[i].key == K_DATA)
            return 0;
    return 1;
}

/* An item that may join a run as it ends: one kept as it came. */
static int joins(const spill__rw *r)
{
    return joinable_kind(r) && !r->item_rebuild && !r->item_spilled && !r->item_big;
}

static int open_object(spill_filter *f, spill__rw *r)
{
    rw_group *g = &r->grp;
    rw_payload *pl = &g->pl;
    spill__pl_clear(f, pl);
    pl->slot = S_STRUCTURED; /* raw JSON, counted as the model would read it */
    pl->spilling = 1;
    spill__preview_init(&pl->pv, pl->pv.head, f->o.preview_head_bytes, pl->pv.tail,
                        f->o.preview_tail_bytes, 1);
    pl->cv = f->counter;
    int rc = pl->cv->create(pl->cv->ctx, &pl->counter);
    pl->sv = pl->cv->sampler ? pl->cv->sampler : pl->cv;
    if (rc == 0)
        rc = pl->sv->create(pl->sv->ctx, &pl->sampled);
    if (rc)
        return spill__ferror(f, rc, r->pos, "cannot create a token counter");
    spill_put_info pi;
    spill__rw_put_info(f, r, &pi);
    pi.mime = "application/json";
    if ((rc = f->sink.begin(f->sink.ctx, &pl->obj, &pi)) != 0) {
        pl->obj = NULL;
        spill__pl_fail(f, pl, rc, "starting an object");
    }
    g->open = 1;
    return 0;
}

int spill__group_raw(spill_filter *f, spill__rw *r, const unsigned char *p, size_t n)
{
    return spill__pl_process(f, &r->grp.pl, p, n);
}

/* Moves out[from..] (bytes of the absorbed item) into the run's object. */
static int take_out(spill_filter *f, spill__rw *r, size_t from)
{
    int rc = spill__pl_process(f, &r->grp.pl, (const unsigned char *)r->out.p + from, r->out.len - from);
    r->out.len = r->grp.at;
    return rc;
}

int spill__group_absorb(spill_filter *f, spill__rw *r)
{
    rw_group *g = &r->grp;
    rw_payload *pl = &r->pl;
    int rc;
    if (!r->item_absorbed) {
        if (r->item_depth < 0 || r->handle_bytes <= SPILL__ABSORB_AFTER || r->item_big ||
            (pl->slot != S_TEXT_INPLACE && pl->slot != S_TEXT_REBUILD) || !joinable_kind(r))
            return 0;
        if (g->n && (g->role != r->item_role || g->depth != r->item_depth) && (rc = spill__group_end(f, r)) != 0)
            return rc;
        if (g->n == 0) {
            g->at = r->item_start;
            g->first = r->item_index;
            g->role = r->item_role;
            g->depth = r->item_depth;
        }
        if (!g->open) { /* the run so far was staged (its items are in out, from g->at) */
            if ((rc = open_object(f, r)) != 0)
                return rc;
            rc = spill__pl_process(f, &g->pl, (const unsigned char *)g->stage.p, g->stage.len);
            g->stage.len = 0;
            if (rc)
                return rc;
        }
        const char *sep = g->n ? ",\n" : "[";
        if ((rc = spill__pl_process(f, &g->pl, (const unsigned char *)sep, strlen(sep))) != 0 ||
            (rc = take_out(f, r, r->item_start)) != 0)
            return rc;
        r->item_absorbed = 1;
    } else if ((rc = take_out(f, r, g->at)) != 0) { /* a later payload of the same item */
        return rc;
    }
    /* The payload's raw JSON so far; pl_raw sends the rest, item_end what follows it. */
    pl->absorbed = pl->spilling = 1;
    rc = spill__pl_process(f, &g->pl, pl->raw, pl->raw_len);
    return rc ? rc : 1;
}

int spill__group_item(spill_filter *f, spill__rw *r)
{
    rw_group *g = &r->grp;
    if (r->item_absorbed) { /* the rest of it */
        r->item_absorbed = 0;
        g->last = r->item_index;
        g->n++;
        return take_out(f, r, g->at);
    }
    if (!joins(r))
        return spill__group_end(f, r);
    if (g->n && (g->role != r->item_role || g->depth != r->item_depth)) {
        int rc = spill__group_end(f, r); /* cannot happen: an array's end ends its run */
        if (rc)
            return rc;
    }
    const char *item = r->out.p + r->item_start;
    const size_t n = r->out.len - r->item_start;
    const char *sep = g->n ? ",\n" : "[";
    if (g->n == 0) {
        g->at = r->item_start;
        g->first = r->item_index;
        g->role = r->item_role;
        g->depth = r->item_depth;
    }
    g->last = r->item_index;
    g->n++;
    if (!g->open) {
        /* Staged as it will be stored; the items stay in out until the run is large. */
        spill__buf_put(&g->stage, sep, strlen(sep));
        spill__buf_put(&g->stage, item, n);
        if (g->stage.oom)
            return spill__ferror(f, SPILL_E_NOMEM, r->pos, "out of memory grouping small items");
        if (g->stage.full) {
            r->out.full = 1; /* an item past the skeleton's cap: as out would have been */
            return 0;
        }
        if (g->n < 2 || g->stage.len <= f->o.min_spill_bytes)
            return 0; /* one item alone stays as it came, as its payload is small */
        int rc = open_object(f, r);
        if (rc == 0)
            rc = spill__pl_process(f, &g->pl, (const unsigned char *)g->stage.p, g->stage.len);
        g->stage.len = 0;
        r->out.len = g->at;
        return rc;
    }
    int rc = spill__pl_process(f, &g->pl, (const unsigned char *)sep, strlen(sep));
    if (rc == 0)
        rc = spill__pl_process(f, &g->pl, (const unsigned char *)item, n);
    r->out.len = g->at; /* the separator before it, and it, are in the object */
    return rc;
}

int spill__group_breaks(const spill__rw *r, const spill__scan_ev *ev)
{
    const rw_group *g = &r->grp;
    if (ev->tok == SPILL__TOK_ARR_END)
        return ev->depth == g->depth - 1;
    if (ev->depth != g->depth)
        return 0;
    if (ev->tok == SPILL__TOK_OBJ_BEGIN)
        return (int)r->walk.role != g->role;
    return ev->tok == SPILL__TOK_ARR_BEGIN || ev->tok == SPILL__TOK_STR_BEGIN ||
           ev->tok == SPILL__TOK_NUMBER || ev->tok == SPILL__TOK_TRUE || ev->tok == SPILL__TOK_FALSE ||
           ev->tok == SPILL__TOK_NULL;
}

/* Inserts b[0..n) into out at `at`; what follows (an item in progress) moves up. */
static void out_insert(spill__rw *r, size_t at, const char *b, size_t n)
{
    const size_t tail = r->out.len - at;
    if (spill__buf_put(&r->out, b, n) != 0)
        return; /* oom or full: the caller sees it in out */
    memmove(r->out.p + at + n, r->out.p + at, tail);
    memcpy(r->out.p + at, b, n);
    if (r->item_depth >= 0 && r->item_start >= at) {
        r->item_start += n;
        for (int i = 0; i <= r->item_nmem && i < 30; i++) {
            r->mem[i].a += n;
            r->mem[i].b += n;
        }
    }
}

int spill__group_end(spill_filter *f, spill__rw *r)
{
    rw_group *g = &r->grp;
    if (!g->open) { /* no run, or a small one: its items stay where they are */
        g->n = 0;
        g->stage.len = 0;
        return 0;
    }
    rw_payload *pl = &g->pl;
    int rc = spill__pl_process(f, pl, (const unsigned char *)"]\n", 2);
    if (rc)
        return rc;
    spill__preview_finish(&pl->pv);
    const uint64_t tokens = spill__pl_tokens(pl);
    const char *counter = spill__counter_name(pl->cv, pl->counter);
    snprintf(pl->where, sizeof pl->where, "%s[%d..%d] (%d items, stored as a JSON array, one a line)",
             g->role == R_RITEM ? "contents" : "content", g->first, g->last, g->n);
    spill__handle_in in = {0};
    if ((rc = spill__rw_commit(f, r, pl, "application/json", tokens, counter, &in)) != 0)
        return rc;
    /* The item that takes the run's place. */
    spill__buf b = {0};
    b.realloc = spill__frealloc;
    b.ctx = f;
    b.max = 2u << 20;
    if (g->role == R_RITEM) {
        spill__buf_printf(&b, "{\"uri\":\"spill://%s\",\"mimeType\":\"text/plain\",\"text\":",
                          pl->failed ? "unstored" : pl->info.id);
        spill__buf_json(&b, r->handle.p, r->handle.len);
        spill__buf_put(&b, "}", 1);
    } else {
        spill__buf_printf(&b, "{\"type\":\"text\",\"text\":");
        spill__buf_json(&b, r->handle.p, r->handle.len);
        spill__buf_put(&b, "}", 1);
        if (!pl->failed && spill__links_enabled(f)) {
            spill__buf_printf(&b, ",{\"type\":\"resource_link\",\"uri\":\"spill://%s\",\"name\":\"spill-%s\","
                              "\"mimeType\":\"application/json\",\"size\":%llu,\"description\":\"The "
                              "items, stored by spill as one JSON array; read it with "
                              "resources/read, spill_read, spill_jq or spill cat.\"}",
                              pl->info.id, pl->info.id, (unsigned long long)pl->info.raw_size);
        }
    }
    if (b.oom) {
        spill__ffree(f, b.p);
        return spill__ferror(f, SPILL_E_NOMEM, 0, "out of memory rendering a handle");
    }
    out_insert(r, g->at, b.p, b.len);
    spill__ffree(f, b.p);
    if (!pl->failed) {
        f->stats.payloads_spilled++;
        f->stats.spilled_bytes += pl->total;
        spill__buf_printf(&r->notes, "%s %s (%llu bytes)\n", pl->info.id, pl->where,
                          (unsigned long long)pl->info.raw_size);
    }
    r->spilled_any = 1;
    g->n = g->open = 0;
    spill__pl_clear(f, pl);
    return 0;
}
