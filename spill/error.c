/* error.c - one table of messages for spill's codes; -errno goes to strerror. */
#include <errno.h>
#include <string.h>

#include "spill.h"

const char *spill_strerror(int code)
{
    switch (code) {
    case 0: return "success";
#define SPILL__XX_MSG(v, n, m) case (v): return m;
        SPILL_ERRORS(SPILL__XX_MSG)
#undef SPILL__XX_MSG
    default: break;
    }
    if (code < 0 && code > -4096)
        return strerror(-code); /* glibc's table is constant; not thread-unsafe for known codes */
    return "unknown error";
}

const char *spill_err_name(int code)
{
    switch (code) {
    case 0: return "OK";
#define SPILL__XX_NAME(v, n, m) case (v): return "SPILL_" #n;
        SPILL_ERRORS(SPILL__XX_NAME)
#undef SPILL__XX_NAME
    case -ENOENT: return "ENOENT";
    case -EACCES: return "EACCES";
    case -ENOSPC: return "ENOSPC";
    case -EDQUOT: return "EDQUOT";
    case -EIO: return "EIO";
    case -EEXIST: return "EEXIST";
    case -ELOOP: return "ELOOP";
    case -ENOTDIR: return "ENOTDIR";
    case -EROFS: return "EROFS";
    default: return "UNKNOWN";
    }
}
