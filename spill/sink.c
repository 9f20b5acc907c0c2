/* sink.c - the object store as the filter's sink: the filter knows only the
 * spill_object_sink interface, so tests and embedders can substitute their own. */
#include "spill.h"

static int sink_begin(void *ctx, void **obj, const spill_put_info *pi)
{
    return spill_writer_begin(ctx, (spill_writer **)obj, pi);
}

static int sink_write(void *obj, const void *data, size_t size)
{
    return spill_writer_write(obj, data, size);
}

static int sink_commit(void *obj, const char *mime, uint64_t tokens, const char *counter,
                       spill_object_info *info)
{
    int rc = spill_writer_set_meta(obj, mime, tokens, counter);
    if (rc) {
        spill_writer_abort(obj);
        return rc;
    }
    return spill_writer_commit(obj, info);
}

static void sink_abort(void *obj)
{
    spill_writer_abort(obj);
}

static const char *sink_error(void *ctx)
{
    return spill_store_last_error(ctx);
}

void spill_store_sink(spill_store *st, spill_object_sink *sink)
{
    sink->ctx = st;
    sink->begin = sink_begin;
    sink->write = sink_write;
    sink->commit = sink_commit;
    sink->abort = sink_abort;
    sink->last_error = sink_error;
}
