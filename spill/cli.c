/* cli.c - main() of the spill executable: global options, commands that manage
 * the store (put, ls, show, stats, gc, verify, pin). Uses spill.h only. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char usage_text[] =
    "usage: spill [--store DIR] COMMAND [ARGS]\n"
    "\n"
    "Keeps huge outputs as compressed, content-addressed objects and reads them back.\n"
    "\n"
    "commands:\n"
    "  run [options] -- SERVER-COMMAND...   run an MCP stdio server under spill (the sidecar;\n"
    "                                       spill run --help lists its options)\n"
    "  put [FILE|-] [--mime T] [--name N]   store a file or stdin; prints the handle\n"
    "      [--session S] [--server S] [--tool T] [--level L] [--frame-size N]\n"
    "      [--threads N] [-q (id only)] [--json]\n"
    "  cat ID [--bytes A:B | --lines A:B]   write an object, or part of it, to stdout\n"
    "      bytes are 0-based with B excluded; lines are 1-based with B included;\n"
    "      either side may be left out (100:, :20)\n"
    "  grep ID PATTERN [-i] [-C N] [--max N]\n"
    "      lines matching a PCRE2 pattern, as NUMBER:LINE (context as NUMBER-LINE);\n"
    "      exit 0 if something matched, 1 if nothing did, 2 on error\n"
    "  ls [--json]                          list objects\n"
    "  show ID [--json]                     one object's metadata and path\n"
    "  stats [--json]                       totals for the store\n"
    "  log [ID] [--json]                    the spill log: when each object was stored, by\n"
    "                                       which session, server, tool and request\n"
    "  verify [ID...]                       re-hash objects and check every frame, the seek\n"
    "                                       table, the line index and the index row;\n"
    "                                       exit 1 if anything is corrupt\n"
    "  gc [--dry-run] [--max-bytes SIZE] [--ttl DUR] [--grace DUR]\n"
    "      remove least recently read objects over the quota (default 10G) or unread\n"
    "      for longer than the TTL (default 7d); pinned objects and objects of live\n"
    "      sessions stay; torn orphan files and temp files older than the grace\n"
    "      (default 1h) go, valid object files without a row are indexed again\n"
    "  reindex                              rebuild the index from the object files (after it\n"
    "                                       was lost or damaged): every valid object is listed\n"
    "                                       again with its size, lines, type and creation time\n"
    "  pin ID | unpin ID                    keep an object through GC, or stop keeping it\n"
    "  filter [FILE|-] [--requests FILE] [--threshold TOKENS] [--byte-cap SIZE]\n"
    "      [--min-spill SIZE] [--preview-head SIZE] [--preview-tail SIZE] [--inline-budget SIZE]\n"
    "      [--vocab claude|o200k|cl100k] [--counter exact|estimate] [--multiplier X]\n"
    "      [--links on|off|auto] [--server NAME] [--session S] [--message]\n"
    "      [--no-client-defaults] [--stats]\n"
    "      the interceptor over a recorded server-to-client NDJSON stream: large results\n"
    "      come out rewritten with handles, everything else byte-identical. --requests\n"
    "      reads the recorded client-to-server stream first to learn which ids are which\n"
    "      calls; without it, result shape decides. Defaults: 100000 tokens, 4KiB, 2KiB, 1KiB;\n"
    "      tokens counted exactly up to the threshold, estimated after (--counter exact)\n"
    "  count [FILE|-] [--vocab claude|o200k|cl100k] [--multiplier X]\n"
    "      [--exact | --early-exit TOKENS | --estimate] [--json]\n"
    "      count tokens (default: legacy Claude vocabulary x1.10, exact)\n"
    "  bench [--payload FILE... | --gen KIND] [--level L,..] [--frame F,..] [--threads N,..]\n"
    "      [--counter C,..] [--threshold T,..] [--runs N] [--e2e] [--json] [--plot FILE.svg]\n"
    "      measure spill on this machine and payloads against a pipe, the zstd CLI and a\n"
    "      direct server, and recommend settings (spill bench --help)\n"
    "\n"
    "IDs are 32 hex digits; any unique prefix of 8 or more digits works.\n"
    "SIZE: 500M, 10G, 1GiB, ... DUR: 3600, 90s, 15m, 2h, 7d.\n"
    "\n"
    "store: --store DIR, else $SPILL_STORE, else $XDG_CACHE_HOME/spill, else ~/.cache/spill\n"
    "       (created 0700; objects are 0600).\n"
    "environment: SPILL_STORE, SPILL_GC_MAX_BYTES, SPILL_GC_TTL, SPILL_GC_GRACE,\n"
    "             SPILL_VOCAB_DIR (the tokenizer vocabularies).\n";

/* ---- put ---- */

static void print_info_json(const spill_object_info *i)
{
    printf("{\"id\":\"%s\",\"bytes\":%llu,\"stored_bytes\":%llu,\"lines\":%llu,", i->id,
           (unsigned long long)i->raw_size, (unsigned long long)i->comp_size,
           (unsigned long long)i->lines);
    printf("\"tokens\":%llu,\"token_counter\":", (unsigned long long)i->tokens);
    cli_json_string(stdout, i->token_counter);
    cli_json_member(stdout, "mime", i->mime);
    cli_json_member(stdout, "name", i->name);
    printf(",\"created_ns\":%lld,\"accessed_ns\":%lld,\"access_count\":%llu,\"pins\":%u,",
           (long long)i->created_ns, (long long)i->atime_ns, (unsigned long long)i->access_count,
           i->pins);
    printf("\"frame_size\":%u,\"frames\":%u,\"path\":", i->frame_size, i->nframes);
    cli_json_string(stdout, i->path);
    printf("}");
}

static void print_handle(const spill_object_info *i)
{
    char a[32], b[32];
    double ratio = i->comp_size ? (double)i->raw_size / (double)i->comp_size : 0;
    printf("spill object %s%s\n", i->id, i->deduplicated ? " (already stored)" : "");
    printf("  %llu bytes (%s), %llu lines, %s; stored as %s (%.2fx)\n",
           (unsigned long long)i->raw_size, cli_human(i->raw_size, a),
           (unsigned long long)i->lines, i->mime, cli_human(i->comp_size, b), ratio);
    printf("  file: %s\n", i->path);
    printf("  read: spill cat %.8s --lines 1:100\n", i->id);
    printf("        spill grep %.8s PATTERN -C 2\n", i->id);
}

static int opt_int(const char *v, int lo, int hi, int *out)
{
    uint64_t x;
    if (cli_parse_u64(v, &x) || x < (uint64_t)(lo < 0 ? 0 : lo) || x > (uint64_t)hi)
        return -1;
    *out = (int)x;
    return 0;
}

static int cmd_put(cli *c)
{
    spill_put_info pi = {0};
    const char *file = NULL;
    int quiet = 0, json = 0;
    for (int i = 0; i < c->argc; i++) {
        const char *a = c->argv[i], *v = i + 1 < c->argc ? c->argv[i + 1] : NULL;
        uint64_t fs;
        if (!strcmp(a, "-q"))
            quiet = 1;
        else if (!strcmp(a, "--json"))
            json = 1;
        else if (!strcmp(a, "-") || a[0] != '-') {
            if (file)
                return cli_usage("put: one input only");
            file = a;
        } else if (!v)
            return cli_usage("put: %s needs a value", a);
        else if (!strcmp(a, "--mime")) pi.mime = v, i++;
        else if (!strcmp(a, "--name")) pi.name = v, i++;
        else if (!strcmp(a, "--session")) pi.session = v, i++;
        else if (!strcmp(a, "--server")) pi.server = v, i++;
        else if (!strcmp(a, "--tool")) pi.tool = v, i++;
        else if (!strcmp(a, "--request-id")) pi.request_id = v, i++;
        else if (!strcmp(a, "--level")) {
            if (opt_int(v, 1, 22, &c->opts.level))
                return cli_usage("put: --level wants 1..22");
            i++;
        } else if (!strcmp(a, "--threads")) {
            if (opt_int(v, 1, 16, &c->opts.threads))
                return cli_usage("put: --threads wants 1..16");
            i++;
        } else if (!strcmp(a, "--frame-size")) {
            if (cli_parse_size(v, &fs) || fs < 4096 || fs > (256u << 20))
                return cli_usage("put: --frame-size wants 4KiB..256MiB");
            c->opts.frame_size = (size_t)fs;
            i++;
        } else
            return cli_usage("put: unknown option %s", a);
    }
    int fd = 0;
    if (file && strcmp(file, "-") != 0 && (fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
        return cli_error("put: cannot open %s: %s", file, strerror(errno));
    if (!pi.session)
        pi.session = getenv("SPILL_SESSION");
    if (!pi.name && file && strcmp(file, "-") != 0)
        pi.name = file;
    spill_store *st;
    int rc = cli_open(c, &st);
    if (rc) {
        if (fd > 0)
            close(fd);
        return rc;
    }
    spill_writer *w;
    spill_object_info info;
    enum { BUF = 1 << 20 };
    char *buf = malloc(BUF);
    if (!buf)
        rc = SPILL_E_NOMEM;
    else
        rc = spill_writer_begin(st, &w, &pi);
    while (rc == 0) {
        ssize_t n = read(fd, buf, BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            spill_writer_abort(w);
            free(buf);
            spill_store_close(st);
            return cli_error("put: reading %s: %s", file ? file : "stdin", strerror(e));
        }
        if (n == 0) {
            rc = spill_writer_commit(w, &info);
            break;
        }
        if ((rc = spill_writer_write(w, buf, (size_t)n)) != 0)
            spill_writer_abort(w);
    }
    free(buf);
    if (fd > 0)
        close(fd);
    int status = 0;
    if (rc)
        status = cli_store_error(st, rc, "put");
    else if (quiet)
        printf("%s\n", info.id);
    else if (json) {
        print_info_json(&info);
        printf("\n");
    } else
        print_handle(&info);
    spill_store_close(st);
    return status;
}

/* ---- ls, show, stats ---- */

typedef struct ls_ctx { int json, n; } ls_ctx;

static const char *when(int64_t ns, char buf[32])
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

static int ls_cb(void *ud, const spill_object_info *i)
{
    ls_ctx *l = ud;
    char a[32], b[32], t[32];
    if (l->json) {
        printf("%s", l->n++ ? ",\n" : "\n");
        print_info_json(i);
    } else {
        if (l->n++ == 0)
            printf("%-32s %10s %10s %10s %-24s %-20s %s\n", "ID", "BYTES", "STORED", "LINES",
                   "TYPE", "LAST READ", "NAME");
        printf("%-32s %10s %10s %10llu %-24s %-20s %s%s\n", i->id, cli_human(i->raw_size, a),
               cli_human(i->comp_size, b), (unsigned long long)i->lines, i->mime,
               when(i->atime_ns, t), i->name, i->pins ? " [pinned]" : "");
    }
    return 0;
}

/* Parses [--json] and, if want_id, one ID. Returns 1 for --json, 0 without, -1 after
 * printing a usage error. */
static int json_flag(cli *c, const char *cmd, const char **id, int want_id)
{
    int json = 0;
    for (int i = 0; i < c->argc; i++) {
        if (!strcmp(c->argv[i], "--json"))
            json = 1;
        else if (want_id && !*id && c->argv[i][0] != '-')
            *id = c->argv[i];
        else
            return cli_usage("%s: unexpected argument %s", cmd, c->argv[i]), -1;
    }
    if (want_id && !*id)
        return cli_usage("%s: which object?", cmd), -1;
    return json;
}

static int cmd_ls(cli *c)
{
    const char *none = NULL;
    int json = json_flag(c, "ls", &none, 0);
    if (json < 0)
        return EXIT_USAGE;
    spill_store *st;
    int rc = cli_open(c, &st);
    if (rc)
        return rc;
    ls_ctx l = {json, 0};
    if (json)
        printf("[");
    rc = spill_store_list(st, ls_cb, &l);
    if (json)
        printf("%s]\n", l.n ? "\n" : "");
    int status = rc ? cli_store_error(st, rc, "ls") : 0;
    spill_store_close(st);
    return status;
}

static int cmd_show(cli *c)
{
    const char *id = NULL;
    int json = json_flag(c, "show", &id, 1);
    if (json < 0)
        return EXIT_USAGE;
    spill_store *st;
    int rc = cli_open(c, &st);
    if (rc)
        return rc;
    spill_object_info i;
    rc = spill_store_stat(st, id, &i);
    if (rc) {
        int s = cli_store_error(st, rc, "show");
        spill_store_close(st);
        return s;
    }
    char a[32], t1[32], t2[32];
    if (json) {
        print_info_json(&i);
        printf("\n");
    } else {
        printf("id:           %s\n", i.id);
        printf("bytes:        %llu (%s)\n", (unsigned long long)i.raw_size, cli_human(i.raw_size, a));
        printf("stored bytes: %llu (%.2fx)\n", (unsigned long long)i.comp_size,
               i.comp_size ? (double)i.raw_size / (double)i.comp_size : 0.0);
        printf("lines:        %llu\n", (unsigned long long)i.lines);
        if (i.token_counter[0])
            printf("tokens:       %llu (%s)\n", (unsigned long long)i.tokens, i.token_counter);
        else
            printf("tokens:       not counted\n");
        printf("type:         %s\n", i.mime);
        printf("name:         %s\n", i.name);
        printf("created:      %s\n", when(i.created_ns, t1));
        printf("last read:    %s (%llu reads)\n", when(i.atime_ns, t2),
               (unsigned long long)i.access_count);
        printf("pins:         %u\n", i.pins);
        printf("frames:       %u of %u bytes\n", i.nframes, i.frame_size);
        printf("file:         %s\n", i.path);
    }
    spill_store_close(st);
    return 0;
}

static int cmd_stats(cli *c)
{
    const char *none = NULL;
    int json = json_flag(c, "stats", &none, 0);
    if (json < 0)
        return EXIT_USAGE;
    spill_store *st;
    int rc = cli_open(c, &st);
    if (rc)
        return rc;
    spill_store_stats s;
    if ((rc = spill_store_get_stats(st, &s)) != 0) {
        int e = cli_store_error(st, rc, "stats");
        spill_store_close(st);
        return e;
    }
    char a[32], b[32];
    double ratio = s.comp_bytes ? (double)s.raw_bytes / (double)s.comp_bytes : 0;
    if (json) {
        printf("{\"store\":");
        cli_json_string(stdout, spill_store_dir(st));
        printf(",\"objects\":%llu,\"bytes\":%llu,\"stored_bytes\":%llu,\"ratio\":%.3f,"
               "\"pinned\":%llu,\"events\":%llu,\"sessions\":%llu,\"index_map_bytes\":%llu,"
               "\"index_used_bytes\":%llu}\n",
               (unsigned long long)s.objects, (unsigned long long)s.raw_bytes,
               (unsigned long long)s.comp_bytes, ratio, (unsigned long long)s.pinned,
               (unsigned long long)s.events, (unsigned long long)s.sessions,
               (unsigned long long)s.index_map_size, (unsigned long long)s.index_used_bytes);
    } else {
        printf("store:    %s\n", spill_store_dir(st));
        printf("objects:  %llu (%llu pinned)\n", (unsigned long long)s.objects,
               (unsigned long long)s.pinned);
        printf("bytes:    %s stored as %s (%.2fx)\n", cli_human(s.raw_bytes, a),
               cli_human(s.comp_bytes, b), ratio);
        printf("events:   %llu spills logged, %llu sessions registered\n",
               (unsigned long long)s.events, (unsigned long long)s.sessions);
        printf("index:    %s used of a %s map\n", cli_human(s.index_used_bytes, a),
               cli_human(s.index_map_size, b));
    }
    spill_store_close(st);
    return 0;
}

typedef struct log_ctx { int json, n; } log_ctx;

static int log_cb(void *ud, const spill_event *e)
{
    log_ctx *l = ud;
    char t[32];
    if (l->json) {
        printf("%s{\"time_ns\":%lld,\"id\":\"%s\",\"session\":", l->n++ ? ",\n" : "\n",
               (long long)e->time_ns, e->id);
        cli_json_string(stdout, e->session);
        cli_json_member(stdout, "server", e->server);
        cli_json_member(stdout, "tool", e->tool);
        cli_json_member(stdout, "request_id", e->request_id);
        printf("}");
    } else {
        if (l->n++ == 0)
            printf("%-20s %-32s %-16s %-16s %-16s %s\n", "TIME", "ID", "SESSION", "SERVER", "TOOL",
                   "REQUEST");
        printf("%-20s %-32s %-16s %-16s %-16s %s\n", when(e->time_ns, t), e->id,
               *e->session ? e->session : "-", *e->server ? e->server : "-",
               *e->tool ? e->tool : "-", *e->request_id ? e->request_id : "-");
    }
    return 0;
}

static int cmd_log(cli *c)
{
    const char *id = NULL;
    int json = 0;
    for (int i = 0; i < c->argc; i++) {
        if (!strcmp(c->argv[i], "--json"))
            json = 1;
        else if (!id && c->argv[i][0] != '-')
            id = c->argv[i];
        else
            return cli_usage("log: unexpected argument %s", c->argv[i]);
    }
    spill_store *st;
    int rc = cli_open(c, &st);
    if (rc)
        return rc;
    log_ctx l = {json, 0};
    char full[SPILL_ID_HEX + 1];
    if (id && (rc = spill_store_resolve(st, id, full)) != 0) {
        int e = cli_store_error(st, rc, "log");
        spill_store_close(st);
        return e;
    }
    if (json)
        printf("[");
    rc = spill_store_events(st, id ? full : NULL, log_cb, &l);
    if (json)
        printf("%s]\n", l.n ? "\n" : "");
    int status = rc ? cli_store_error(st, rc, "log") : 0;
    spill_store_close(st);
    return status;
}

/* ---- verify, gc, pin ---- */

static void print_msg(void *ud, const char *msg)
{
    fprintf(ud, "%s\n", msg);
}

static int cmd_verify(cli *c)
{
    for (int i = 0; i < c->argc; i++)
        if (c->argv[i][0] == '-')
            return cli_usage("verify: unknown option %s", c->argv[i]);
    spill_store *st;
    int rc = cli_open(c, &st);
    if (rc)
        return rc;
    spill_verify_report r;
    rc = spill_store_verify(st, (const char *const *)c->argv, (size_t)c->argc, &r, print_msg,
                            stderr);
    int status = 0;
    if (rc)
        status = cli_store_error(st, rc, "verify");
    else {
        printf("%llu ok, %llu corrupt, %llu orphan files\n", (unsigned long long)r.objects_ok,
               (unsigned long long)r.objects_bad, (unsigned long long)r.orphans);
        status = r.objects_bad || r.index_lost ? 1 : 0;
    }
    spill_store_close(st);
    return status;
}

static int cmd_gc(cli *c)
{
    spill_gc_opts o;
    spill_gc_opts_init(&o);
    const char *e;
    if ((e = getenv("SPILL_GC_MAX_BYTES")) && cli_parse_size(e, &o.max_bytes))
        return cli_usage("SPILL_GC_MAX_BYTES: not a size: %s", e);
    if ((e = getenv("SPILL_GC_TTL")) && cli_parse_duration(e, &o.ttl_s))
        return cli_usage("SPILL_GC_TTL: not a duration: %s", e);
    if ((e = getenv("SPILL_GC_GRACE")) && cli_parse_duration(e, &o.grace_s))
        return cli_usage("SPILL_GC_GRACE: not a duration: %s", e);
    for (int i = 0; i < c->argc; i++) {
        const char *a = c->argv[i], *v = i + 1 < c->argc ? c->argv[i + 1] : "";
        if (!strcmp(a, "--dry-run"))
            o.dry_run = 1;
        else if (!strcmp(a, "--max-bytes") && !cli_parse_size(v, &o.max_bytes))
            i++;
        else if (!strcmp(a, "--ttl") && !cli_parse_duration(v, &o.ttl_s))
            i++;
        else if (!strcmp(a, "--grace") && !cli_parse_duration(v, &o.grace_s))
            i++;
        else
            return cli_usage("gc: bad argument %s%s%s", a, *v ? " " : "", v);
    }
    spill_store *st;
    int rc = cli_open(c, &st);
    if (rc)
        return rc;
    spill_gc_report r;
    rc = spill_store_gc(st, &o, &r, print_msg, stdout);
    int status = 0;
    char a[32], b[32];
    if (rc)
        status = cli_store_error(st, rc, "gc");
    else
        printf("%s %llu objects (%s), kept %llu (%s); %llu orphan and %llu temp files removed, "
               "%llu orphans indexed again\n",
               o.dry_run ? "would remove" : "removed", (unsigned long long)r.removed,
               cli_human(r.removed_bytes, a), (unsigned long long)r.kept,
               cli_human(r.kept_bytes, b), (unsigned long long)r.orphans_removed,
               (unsigned long long)r.temps_removed, (unsigned long long)r.orphans_indexed);
    spill_store_close(st);
    return status;
}

static int cmd_reindex(cli *c)
{
    if (c->argc)
        return cli_usage("reindex: unexpected argument %s", c->argv[0]);
    if (cli_store_dir(c))
        return 1;
    spill_reindex_report r;
    int rc;
    if ((rc = spill_store_reindex(&c->opts, &r, print_msg, stderr)) != 0)
        return cli_error("reindex: %s", spill_store_last_error(NULL));
    printf("%llu objects indexed, %llu were indexed already, %llu files not indexable\n",
           (unsigned long long)r.indexed, (unsigned long long)r.already, (unsigned long long)r.bad);
    return r.bad ? 1 : 0;
}

static int cmd_pin(cli *c, int delta)
{
    if (c->argc != 1)
        return cli_usage("%s: spill %s ID", delta > 0 ? "pin" : "unpin", delta > 0 ? "pin" : "unpin");
    spill_store *st;
    int rc = cli_open(c, &st);
    if (rc)
        return rc;
    rc = spill_store_pin(st, c->argv[0], delta);
    int status = rc ? cli_store_error(st, rc, delta > 0 ? "pin" : "unpin") : 0;
    spill_store_close(st);
    return status;
}

int main(int argc, char **argv)
{
    cli c = {0};
    spill_store_opts_init(&c.opts);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    c.opts.threads = ncpu > 1 ? (ncpu > 4 ? 4 : (int)ncpu) : 1;
    signal(SIGPIPE, SIG_IGN); /* a closed stdout is a write error (EPIPE), handled where it occurs */
    const char *cmd = NULL;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest)
        return cli_error("out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cmd && !strcmp(a, "--")) { /* the rest is a server command line: pass it as it is */
            while (i < argc)
                rest[c.argc++] = argv[i++];
            break;
        }
        if (cmd && (!strcmp(cmd, "run") || !strcmp(cmd, "count") || !strcmp(cmd, "bench")) && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
            rest[c.argc++] = argv[i];
            continue;
        }
        if (!strcmp(a, "--store")) {
            if (i + 1 >= argc) {
                free(rest);
                return cli_usage("--store needs a directory");
            }
            c.store_dir = argv[++i];
        } else if (!strncmp(a, "--store=", 8)) {
            c.store_dir = a + 8;
        } else if ((!cmd && !strcmp(a, "help")) || !strcmp(a, "--help") || !strcmp(a, "-h")) {
            cmd = "--help";
            break;
        } else if (!cmd && (!strcmp(a, "--version") || !strcmp(a, "-V"))) {
            cmd = "--version";
            break;
        } else if (!cmd) {
            cmd = a;
        } else {
            rest[c.argc++] = argv[i];
        }
    }
    c.argv = rest;
    int status;
    if (!cmd)
        status = cli_usage("no command");
    else if (!strcmp(cmd, "--help")) status = fputs(usage_text, stdout) < 0;
    else if (!strcmp(cmd, "--version")) status = printf("spill %s\n", SPILL_VERSION_STRING) < 0;
    else if (!strcmp(cmd, "put")) status = cmd_put(&c);
    else if (!strcmp(cmd, "cat")) status = cmd_cat(&c);
    else if (!strcmp(cmd, "grep")) status = cmd_grep(&c);
    else if (!strcmp(cmd, "ls")) status = cmd_ls(&c);
    else if (!strcmp(cmd, "show")) status = cmd_show(&c);
    else if (!strcmp(cmd, "stats")) status = cmd_stats(&c);
    else if (!strcmp(cmd, "log")) status = cmd_log(&c);
    else if (!strcmp(cmd, "filter")) status = cmd_filter(&c);
    else if (!strcmp(cmd, "run")) status = cmd_run(&c);
    else if (!strcmp(cmd, "count")) status = cmd_count(&c);
    else if (!strcmp(cmd, "bench")) status = cmd_bench(&c);
    else if (!strcmp(cmd, "bench-server")) status = cmd_bench_server(&c); /* hidden: bench --e2e's server */
    else if (!strcmp(cmd, "mcp-worker")) status = cmd_mcp_worker(&c); /* hidden: spill run's local calls */
    else if (!strcmp(cmd, "verify")) status = cmd_verify(&c);
    else if (!strcmp(cmd, "gc")) status = cmd_gc(&c);
    else if (!strcmp(cmd, "reindex")) status = cmd_reindex(&c);
    else if (!strcmp(cmd, "pin")) status = cmd_pin(&c, 1);
    else if (!strcmp(cmd, "unpin")) status = cmd_pin(&c, -1);
    else status = cli_usage("unknown command '%s'", cmd);
    free(rest);
    if (fflush(stdout) != 0 && errno != EPIPE)
        return cli_error("writing output: %s", strerror(errno));
    return status;
}
