/* views.h - plain-text copies of spilled text outputs (a cache, never the record), so
 * an agent's own read/grep tools can open them. A sink wrapper: bytes go to the store
 * and to a temp file under STORE/views; at commit a text object's copy becomes
 * views/<id>.txt and the handle names it. Oldest views go when over the byte quota. */
#ifndef SPILL_VIEWS_H
#define SPILL_VIEWS_H

#include <stdint.h>
#include <stdio.h>

#include "spill.h"

typedef struct spill_views {
    char dir[4000];            /* leaves room for /<32 hex>.txt in a 4096-byte path */
    uint64_t quota, total;
    const spill_object_sink *inner;
    unsigned counter;
    int ok;
} spill_views;

/* outer becomes a sink that writes through inner and keeps views in store_dir/views. */
void spill_views_wrap(spill_views *v, const char *store_dir, uint64_t quota,
                      const spill_object_sink *inner, spill_object_sink *outer);

#endif
