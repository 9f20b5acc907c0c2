/* cli_read.c - `spill cat` and `spill grep`: stream an object (or part of it) out. */
#define _GNU_SOURCE
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int stdout_sink(void *ud, const void *p, size_t n)
{
    (void)ud;
    return cli_write_all(1, p, n);
}

int cmd_cat(cli *c)
{
    const char *id = NULL, *bytes = NULL, *lines = NULL;
    for (int i = 0; i < c->argc; i++) {
        const char *a = c->argv[i];
        if (!strcmp(a, "--bytes") && i + 1 < c->argc)
            bytes = c->argv[++i];
        else if (!strcmp(a, "--lines") && i + 1 < c->argc)
            lines = c->argv[++i];
        else if (a[0] == '-' && a[1])
            return cli_usage("cat: unknown option %s", a);
        else if (!id)
            id = a;
        else
            return cli_usage("cat: one id only");
    }
    if (!id)
        return cli_usage("cat: which object? spill cat ID [--bytes A:B | --lines A:B]");
    if (bytes && lines)
        return cli_usage("cat: give --bytes or --lines, not both");
    uint64_t a = 0, b = UINT64_MAX;
    int has_b;
    if (lines) {
        a = 1;
        if (cli_parse_range(lines, &a, &b, &has_b) != 0 || a == 0 || a > b)
            return cli_usage("cat: --lines wants A:B, 1-based and inclusive (e.g. 10:20, 5:, :100)");
    } else if (bytes && (cli_parse_range(bytes, &a, &b, &has_b) != 0 || a > b)) {
        return cli_usage("cat: --bytes wants A:B, 0-based with B excluded (e.g. 0:4096, 100:)");
    }
    spill_store *st;
    int rc = cli_open(c, &st);
    if (rc)
        return rc;
    rc = lines ? spill_store_read_lines(st, id, a, b, stdout_sink, NULL)
               : spill_store_read_bytes(st, id, a, b, stdout_sink, NULL);
    if (rc == -EPIPE)
        rc = 0; /* the reader went away (e.g. | head): not our error */
    int status = rc ? cli_store_error(st, rc, "cat") : 0;
    spill_store_close(st);
    return status;
}

/* ---- grep ---- */

enum { LINE_CAP = 4 << 20, CONTEXT_CAP = 64 << 10, MAX_CONTEXT = 1000 };

typedef struct ctx_line {
    char *text;
    size_t len;
    uint64_t no;
    int cut;
} ctx_line;

typedef struct grep_state {
    pcre2_code *re;
    pcre2_match_data *md;
    char *line;          /* the current line, up to LINE_CAP bytes */
    size_t len;
    int cut;             /* the current line was longer than LINE_CAP */
    uint64_t no;         /* current line number (1-based) */
    uint64_t matches, max;
    uint64_t last_printed;
    int context, after;  /* lines of context; after-context still owed */
    ctx_line *ring;      /* the last `context` lines, for before-context */
    int ring_n, ring_at;
    int err;
} grep_state;

static int emit(grep_state *g, uint64_t no, char sep, const char *text, size_t len, int cut)
{
    char head[40];
    if (g->context && g->last_printed && no > g->last_printed + 1 && cli_write_all(1, "--\n", 3))
        return -errno;
    int n = snprintf(head, sizeof head, "%llu%c", (unsigned long long)no, sep);
    int rc = cli_write_all(1, head, (size_t)n);
    if (!rc)
        rc = cli_write_all(1, text, len);
    if (!rc && cut) {
        static const char note[] = " [spill: line cut here; read it whole with spill cat --lines]";
        rc = cli_write_all(1, note, sizeof note - 1);
    }
    if (!rc)
        rc = cli_write_all(1, "\n", 1);
    g->last_printed = no;
    return rc;
}

static int end_line(grep_state *g)
{
    g->no++;
    size_t len = g->len;
    if (len && g->line[len - 1] == '\r')
        len--; /* CRLF content: match and print without the CR */
    int m = pcre2_match(g->re, (PCRE2_SPTR)g->line, len, 0, 0, g->md, NULL);
    int rc = 0;
    if (m >= 0 && (g->max == 0 || g->matches < g->max)) {
        g->matches++;
        for (int i = 0; i < g->ring_n; i++) {
            ctx_line *cl = &g->ring[(g->ring_at + i) % g->context];
            if (cl->no > g->last_printed && (rc = emit(g, cl->no, '-', cl->text, cl->len, cl->cut)))
                return rc;
        }
        g->ring_n = 0;
        if ((rc = emit(g, g->no, ':', g->line, len, g->cut)))
            return rc;
        g->after = g->context;
    } else {
        if (m < -1 && m != PCRE2_ERROR_NOMATCH) {
            PCRE2_UCHAR msg[200];
            pcre2_get_error_message(m, msg, sizeof msg);
            cli_error("grep: line %llu: %s", (unsigned long long)g->no, (char *)msg);
            return SPILL_E_ABORTED;
        }
        if (g->after > 0) {
            g->after--;
            if ((rc = emit(g, g->no, '-', g->line, len, g->cut)))
                return rc;
        } else if (g->context) {
            ctx_line *cl = &g->ring[(g->ring_at + g->ring_n) % g->context];
            if (g->ring_n == g->context) {
                cl = &g->ring[g->ring_at];
                g->ring_at = (g->ring_at + 1) % g->context;
            } else {
                g->ring_n++;
            }
            cl->len = len < CONTEXT_CAP ? len : CONTEXT_CAP;
            cl->cut = g->cut || len > CONTEXT_CAP;
            cl->no = g->no;
            memcpy(cl->text, g->line, cl->len);
        }
    }
    g->len = 0;
    g->cut = 0;
    if (g->max && g->matches >= g->max && g->after == 0)
        return 1; /* enough: stop reading */
    return 0;
}

static int grep_sink(void *ud, const void *data, size_t size)
{
    grep_state *g = ud;
    const char *p = data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        size_t room = LINE_CAP - g->len;
        if (n > room) {
            g->cut = 1;
            memcpy(g->line + g->len, p, room);
            g->len += room;
        } else {
            memcpy(g->line + g->len, p, n);
            g->len += n;
        }
        if (!nl)
            break;
        int rc = end_line(g);
        if (rc)
            return rc;
        p = nl + 1;
    }
    return 0;
}

int cmd_grep(cli *c)
{
    const char *id = NULL, *pattern = NULL;
    int icase = 0;
    uint64_t context = 0, max = 0;
    for (int i = 0; i < c->argc; i++) {
        const char *a = c->argv[i];
        if (!strcmp(a, "-i"))
            icase = 1;
        else if (!strcmp(a, "-C") && i + 1 < c->argc) {
            if (cli_parse_u64(c->argv[++i], &context) || context > MAX_CONTEXT)
                return cli_usage("grep: -C wants a number of lines up to %d", MAX_CONTEXT);
        } else if (!strcmp(a, "--max") && i + 1 < c->argc) {
            if (cli_parse_u64(c->argv[++i], &max))
                return cli_usage("grep: --max wants a number of matches");
        } else if (!strcmp(a, "--") && i + 1 < c->argc && !pattern && id) {
            pattern = c->argv[++i];
        } else if (a[0] == '-' && a[1] && (!id || !pattern))
            return cli_usage("grep: unknown option %s", a);
        else if (!id)
            id = a;
        else if (!pattern)
            pattern = a;
        else
            return cli_usage("grep: spill grep ID PATTERN [-i] [-C N] [--max N]");
    }
    if (!id || !pattern)
        return cli_usage("grep: spill grep ID PATTERN [-i] [-C N] [--max N]");
    int errcode;
    PCRE2_SIZE erroff;
    uint32_t flags = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | (icase ? PCRE2_CASELESS : 0);
    grep_state g = {0};
    g.re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, flags, &errcode, &erroff, NULL);
    if (!g.re) {
        PCRE2_UCHAR msg[200];
        pcre2_get_error_message(errcode, msg, sizeof msg);
        fprintf(stderr, "spill: grep: bad pattern at offset %zu: %s\n", (size_t)erroff, (char *)msg);
        return EXIT_USAGE;
    }
    pcre2_jit_compile(g.re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter if unavailable */
    g.md = pcre2_match_data_create_from_pattern(g.re, NULL);
    g.line = malloc(LINE_CAP);
    g.context = (int)context;
    g.max = max;
    g.ring = context ? calloc(context, sizeof *g.ring) : NULL;
    int status = EXIT_USAGE, rc;
    spill_store *st = NULL;
    int oom = !g.md || !g.line || (context && !g.ring);
    for (uint64_t i = 0; !oom && i < context; i++)
        oom = !(g.ring[i].text = malloc(CONTEXT_CAP));
    if (oom) {
        cli_error("grep: out of memory");
        goto out;
    }
    if ((rc = cli_open(c, &st)) != 0) {
        status = EXIT_USAGE;
        goto out;
    }
    rc = spill_store_read_bytes(st, id, 0, UINT64_MAX, grep_sink, &g);
    if (rc == 0 && (g.len || g.cut) && (g.max == 0 || g.matches < g.max))
        rc = end_line(&g); /* a last line without a newline */
    if (rc < 0 && rc != -EPIPE) {
        if (rc != SPILL_E_ABORTED)
            cli_store_error(st, rc, "grep");
        status = EXIT_USAGE;
    } else {
        status = g.matches ? 0 : 1;
    }
out:
    spill_store_close(st);
    for (uint64_t i = 0; g.ring && i < context; i++)
        free(g.ring[i].text);
    free(g.ring);
    free(g.line);
    pcre2_match_data_free(g.md);
    pcre2_code_free(g.re);
    return status;
}
