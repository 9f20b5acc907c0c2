/* cli_util.c - argument parsing and output helpers of the spill executable. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("spill: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int cli_usage(const char *fmt, ...)
{
    va_list ap;
    fputs("spill: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see spill --help)\n", stderr);
    return EXIT_USAGE;
}

int cli_store_error(spill_store *st, int rc, const char *what)
{
    const char *detail = st ? spill_store_last_error(st) : "";
    if (detail && *detail)
        return cli_error("%s: %s", what, detail);
    return cli_error("%s: %s", what, spill_strerror(rc));
}

/* Where the store is: --store DIR > SPILL_STORE > $XDG_CACHE_HOME/spill > ~/.cache/spill.
 * Sets c->opts.dir; 0, or 1 after printing why there is none. */
int cli_store_dir(cli *c)
{
    static char path[4096];
    const char *dir = c->store_dir;
    if (!dir || !*dir)
        dir = getenv("SPILL_STORE");
    if (!dir || !*dir) {
        const char *xdg = getenv("XDG_CACHE_HOME");
        const char *home = getenv("HOME");
        if (xdg && xdg[0] == '/')
            snprintf(path, sizeof path, "%s/spill", xdg);
        else if (home && *home)
            snprintf(path, sizeof path, "%s/.cache/spill", home);
        else
            return cli_error("no store: give --store DIR or set SPILL_STORE (HOME is not set)");
        dir = path;
    }
    c->opts.dir = dir;
    return 0;
}

int cli_open(cli *c, spill_store **st)
{
    if (cli_store_dir(c))
        return 1;
    int rc = spill_store_open(st, &c->opts);
    if (rc == SPILL_E_INVAL)
        return cli_error("bad store options (level, frame size 4096..268435456, threads 1..16)");
    if (rc)
        return cli_error("cannot open store %s: %s", c->opts.dir, spill_store_last_error(NULL));
    return 0;
}

int cli_parse_u64(const char *s, uint64_t *v)
{
    if (!s || !*s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *v = x;
    return 0;
}

int cli_parse_size(const char *s, uint64_t *v)
{
    static const struct { const char *suf; uint64_t mul; } units[] = {
        {"", 1}, {"k", 1000}, {"K", 1000}, {"M", 1000000}, {"G", 1000000000ull},
        {"T", 1000000000000ull}, {"KiB", 1024}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
        {"TiB", 1ull << 40},
    };
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end, units[i].suf) == 0) {
            if (x > UINT64_MAX / units[i].mul)
                return -1;
            *v = x * units[i].mul;
            return 0;
        }
    return -1;
}

int cli_parse_duration(const char *s, int64_t *v)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end;
    long long x = strtoll(s, &end, 10);
    long long mul = !*end || !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60
                  : !strcmp(end, "h") ? 3600 : !strcmp(end, "d") ? 86400 : 0;
    if (errno || !mul || x > INT64_MAX / mul)
        return -1;
    *v = x * mul;
    return 0;
}

int cli_parse_range(const char *s, uint64_t *a, uint64_t *b, int *has_b)
{
    const char *colon = strchr(s, ':');
    char left[32];
    *has_b = 0;
    if (!colon)
        return cli_parse_u64(s, a) == 0 ? (*b = *a, *has_b = 1, 0) : -1;
    size_t n = (size_t)(colon - s);
    if (n >= sizeof left)
        return -1;
    memcpy(left, s, n);
    left[n] = 0;
    if (n && cli_parse_u64(left, a) != 0)
        return -1;
    if (colon[1]) {
        if (cli_parse_u64(colon + 1, b) != 0)
            return -1;
        *has_b = 1;
    }
    return 0;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0. p is NUL-terminated. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xbf; /* the allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) len = 2;
    else if (c >= 0xe0 && c <= 0xef) len = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t k = 2; k < len; k++)
        if ((p[k] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* JSON string; bytes that are not well-formed UTF-8 become U+FFFD, so output stays
 * valid JSON whatever a file name holds. */
void cli_json_string(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    while (*p) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc((int)c, f);
            p++;
        } else if (c < 0x20) {
            fprintf(f, c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : "\\u%04x", c);
            p++;
        } else {
            size_t len = utf8_len(p);
            if (len) {
                fwrite(p, 1, len, f);
                p += len;
            } else {
                fputs("\\ufffd", f);
                p++;
            }
        }
    }
    fputc('"', f);
}

void cli_json_member(FILE *f, const char *key, const char *s)
{
    fprintf(f, ",\"%s\":", key);
    if (s)
        cli_json_string(f, s);
    else
        fputs("null", f);
}

const char *cli_human(uint64_t n, char buf[32])
{
    static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, 32, "%llu B", (unsigned long long)n);
    else
        snprintf(buf, 32, "%.1f %s", v, unit[u]);
    return buf;
}

int cli_write_all(int fd, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n) {
        ssize_t k = write(fd, b, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        b += k;
        n -= (size_t)k;
    }
    return 0;
}
