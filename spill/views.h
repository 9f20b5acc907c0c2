/* views.h - plain-text copies of spilled text outputs (a cache, never the record), so
 * an agent's own read/grep tools can open them. A sink wrapper: bytes go to the store
 * and to a temp file under STORE/views; at commit a text object's copy becomes
 * views/<id>.txt and the handle names it. Oldest views go when over the byte quota.
 *
 * views/ is reached only through a directory fd opened without following a symlink
 * and checked like the store (owned by us, not writable by others); temp files have
 * unpredictable names and are created exclusively, and those of dead writers are
 * swept and, while they live, counted in the quota. GC removes an object's view with
 * the object (maintain.c). */
#ifndef SPILL_VIEWS_H
#define SPILL_VIEWS_H

#include <stdint.h>
#include <stdio.h>

#include "spill.h"

typedef struct spill_views {
    char dir[4000];            /* leaves room for /<32 hex>.txt in a 4096-byte path */
    int fd;                    /* views/, or -1: then no views are made */
    uint64_t quota, total;
    const spill_object_sink *inner;
    int ok;
    char why[256];             /* why there are no views, when ok is 0 */
} spill_views;

/* outer becomes a sink that writes through inner and keeps views in store_dir/views. */
void spill_views_wrap(spill_views *v, const char *store_dir, uint64_t quota,
                      const spill_object_sink *inner, spill_object_sink *outer);
/* Closes the views directory (the wrapped sink must not be used after). */
void spill_views_close(spill_views *v);

#endif
