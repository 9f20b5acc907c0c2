/* mcpimage.h - resources/read of a stored image (mcpimage.c). Never installed. */
#ifndef SPILL_MCPIMAGE_H
#define SPILL_MCPIMAGE_H

#include <jansson.h>

#include "spill.h"

/* The resources/read result for object `info` when it is an image spill can read:
 * {"contents":[{uri, mimeType, blob}]}, the whole image where a model takes it whole,
 * else a downscaled copy followed by a text item that says so and where the exact bytes
 * are. 0 and *out set; SPILL_E_RANGE / SPILL_E_INVAL when the object is too large to
 * read into memory or is not an image spill reads (the caller pages its bytes then). */
int spill__mcp_image(spill_store *st, const spill_object_info *info, const char *uri, json_t **out);

#endif
