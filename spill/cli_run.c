/* cli_run.c - `spill run [options] -- CMD ARGS...`: options, environment and the JSON
 * config file of the stdio sidecar. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sidecar.h"

static const char run_help[] =
    "usage: spill run [options] -- SERVER-COMMAND [ARGS...]\n"
    "\n"
    "Runs an MCP stdio server under spill: results over the threshold are stored whole\n"
    "and replaced by a handle with a preview; spill_read, spill_grep, spill_stat and\n"
    "spill_jq are added to the server's tools and answered by spill; spill://ID\n"
    "resources are served by spill. Everything else passes byte for byte.\n"
    "Point an agent's MCP config at `spill run -- <the server command>`.\n"
    "\n"
    "options (environment variable in brackets; flags win over the config file, which\n"
    "wins over the environment):\n"
    "  --store DIR            the object store [SPILL_STORE]; default $XDG_CACHE_HOME/spill\n"
    "                         or ~/.cache/spill\n"
    "  --config FILE          JSON config file [SPILL_CONFIG]; SIGHUP reloads it\n"
    "  --threshold TOKENS     spill results over this many tokens (100000) [SPILL_THRESHOLD]\n"
    "  --byte-cap SIZE        and results over this many payload bytes (none)\n"
    "  --rule KIND=NAME:TOKENS  per tool, server or client: tool=read_file:20000,\n"
    "                         client=claude-code:25000 (repeatable; a client rule only caps)\n"
    "  --no-client-defaults   do not cap for known clients (Claude Code 25000, Codex 10000,\n"
    "                         Gemini CLI 10000, Goose 50000, Cline 2000, Copilot 2500)\n"
    "  --min-spill SIZE       in a large result, payloads under this stay inline (4KiB)\n"
    "  --preview-head SIZE    preview bytes from the start (2KiB)\n"
    "  --preview-tail SIZE    preview bytes from the end (1KiB)\n"
    "  --page SIZE            bound of spill_read/grep/jq results (32KiB)\n"
    "  --tool-timeout TIME    wall time of one call of spill's own tools or spill://,\n"
    "                         each run in a worker process: 5s (also 500ms); spill_grep\n"
    "                         stops at 60% of it and says how to go on [SPILL_TOOL_TIMEOUT]\n"
    "  --tool-memory SIZE     memory (address space) of such a worker (1GiB; 0 none)\n"
    "  --tool-workers N       workers at once (2); more calls wait their turn\n"
    "  --vocab claude|o200k|cl100k   tokenizer vocabulary (claude: legacy Claude, the\n"
    "                         public proxy for Claude's, reported x1.10) [SPILL_VOCAB]\n"
    "  --counter exact|estimate  exact: count exactly up to the largest threshold, then\n"
    "                         estimate (default; the estimator, with a warning, when the\n"
    "                         vocabulary files are missing); estimate: estimate only\n"
    "                         [SPILL_COUNTER]; files from SPILL_VOCAB_DIR or the install\n"
    "  --multiplier X         scale the token count (1.10 claude, 1.00 o200k/cl100k)\n"
    "                         [SPILL_MULTIPLIER]\n"
    "  --level N              zstd level (3)\n"
    "  --frame-size SIZE      raw bytes per zstd frame (1MiB)\n"
    "  --threads N            compression threads (cores, up to 4)\n"
    "  --spin-us N            after traffic, poll this many microseconds before sleeping\n"
    "                         (200; 0 off) [SPILL_SPIN_US]: round trips skip a wake-up,\n"
    "                         which is slow on virtual machines, for at most that much CPU\n"
    "                         per burst of messages\n"
    "  --no-views             no plain-text copies under STORE/views\n"
    "  --views-quota SIZE     bytes of plain-text copies kept (1GiB)\n"
    "  --session NAME         keep this session's objects through GC while it runs\n"
    "  --log-json             log JSON lines to stderr (stdout carries MCP only)\n"
    "  -v, --verbose          log more\n"
    "\n"
    "config file keys: store, threshold, byte_cap, min_spill, preview_head, preview_tail,\n"
    "page, vocab, counter, multiplier, level, frame_size, threads, spin_us, views,\n"
    "views_quota, client_defaults, session, tool_timeout (\"5s\"), tool_memory, tool_workers,\n"
    "rules: [{\"tool\"|\"server\"|\"client\": NAME, \"threshold\": TOKENS}]. Sizes may be\n"
    "numbers or strings like \"64KiB\".\n"
    "\n"
    "exit status: the server's (128+N if a signal N stopped it); 127 if it could not be\n"
    "started; 1 if spill itself failed.\n";

void sidecar_config_init(sidecar_config *c)
{
    memset(c, 0, sizeof *c);
    c->threshold = 100000;
    c->min_spill = 4096;
    c->preview_head = 2048;
    c->preview_tail = 1024;
    c->page_bytes = 32 << 10;
    snprintf(c->vocab, sizeof c->vocab, "claude");
    c->counter_exact = 1;
    c->level = 3;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    c->threads = ncpu > 1 ? (ncpu > 4 ? 4 : (int)ncpu) : 1;
    c->frame_size = 1 << 20;
    c->views = 1;
    c->views_quota = 1ull << 30;
    c->client_defaults = 1;
    c->spin_us = 200;
    c->tool_timeout_ms = 5000;
    c->tool_memory = 1ull << 30;
    c->tool_workers = 2;
}

/* A wall time: "5", "5s" or "500ms", from 100 ms to 10 minutes; 0 or -1. */
static int parse_ms(const char *s, unsigned *ms)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *s < '0' || *s > '9' || errno)
        return -1;
    if (!strcmp(end, "ms"))
        ;
    else if ((!*end || !strcmp(end, "s")) && v <= 600) /* no wrap in the multiplication */
        v *= 1000;
    else
        return -1;
    if (v < 100 || v > 600000)
        return -1;
    *ms = (unsigned)v;
    return 0;
}

static int add_rule(sidecar_config *c, const char *kind, const char *name, uint64_t t, char *err,
                    size_t errlen)
{
    int k = !strcmp(kind, "server") ? 0 : !strcmp(kind, "tool") ? 1 : !strcmp(kind, "client") ? 2 : -1;
    if (k < 0 || !name || !*name || strlen(name) >= 128 || t == 0) {
        snprintf(err, errlen, "a rule is tool|server|client = NAME with a threshold > 0");
        return -1;
    }
    if (c->nrules >= SIDECAR_MAX_RULES) {
        snprintf(err, errlen, "at most %d rules", SIDECAR_MAX_RULES);
        return -1;
    }
    size_t i = c->nrules++;
    memset(&c->rules[i], 0, sizeof c->rules[i]);
    snprintf(c->rule_names[i][k], 128, "%s", name);
    const char **slot = k == 0 ? &c->rules[i].server : k == 1 ? &c->rules[i].tool : &c->rules[i].client;
    *slot = c->rule_names[i][k];
    c->rules[i].threshold_tokens = t;
    return 0;
}

int sidecar_config_rule(sidecar_config *c, const char *spec, char *err, size_t errlen)
{
    char kind[16], name[128];
    unsigned long long t;
    const char *eq = strchr(spec, '='), *colon = strrchr(spec, ':');
    if (!eq || !colon || colon < eq || (size_t)(eq - spec) >= sizeof kind ||
        (size_t)(colon - eq - 1) >= sizeof name || sscanf(colon + 1, "%llu", &t) != 1) {
        snprintf(err, errlen, "bad rule '%s' (want tool=NAME:TOKENS)", spec);
        return -1;
    }
    memcpy(kind, spec, (size_t)(eq - spec));
    kind[eq - spec] = 0;
    memcpy(name, eq + 1, (size_t)(colon - eq - 1));
    name[colon - eq - 1] = 0;
    return add_rule(c, kind, name, t, err, errlen);
}

/* A size from a JSON number or a string like "64KiB". */
static int json_size(json_t *v, uint64_t *out)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    return json_is_string(v) ? cli_parse_size(json_string_value(v), out) : -1;
}

int sidecar_config_load(sidecar_config *c, const char *path, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
        return -1;
    }
    int rc = -1;
    if (!json_is_object(root)) {
        snprintf(err, errlen, "%s: the config must be a JSON object", path);
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        uint64_t n;
        if (!strcmp(key, "store") && json_is_string(v))
            snprintf(c->store, sizeof c->store, "%s", json_string_value(v));
        else if (!strcmp(key, "session") && json_is_string(v))
            snprintf(c->session, sizeof c->session, "%s", json_string_value(v));
        else if (!strcmp(key, "vocab") && json_is_string(v) && spill_estimator(json_string_value(v)))
            snprintf(c->vocab, sizeof c->vocab, "%s", json_string_value(v));
        else if (!strcmp(key, "counter") && json_is_string(v) &&
                 (!strcmp(json_string_value(v), "exact") || !strcmp(json_string_value(v), "estimate")))
            c->counter_exact = !strcmp(json_string_value(v), "exact");
        else if (!strcmp(key, "multiplier") && json_is_number(v) && json_number_value(v) > 0 &&
                 json_number_value(v) <= 1000)
            c->multiplier = json_number_value(v);
        else if (!strcmp(key, "views") && json_is_boolean(v))
            c->views = json_is_true(v);
        else if (!strcmp(key, "client_defaults") && json_is_boolean(v))
            c->client_defaults = json_is_true(v);
        else if (!strcmp(key, "tool_timeout") && json_is_string(v) && !parse_ms(json_string_value(v), &c->tool_timeout_ms))
            ;
        else if (!strcmp(key, "tool_timeout") && json_is_integer(v) && json_integer_value(v) >= 1 &&
                 json_integer_value(v) <= 600)
            c->tool_timeout_ms = (unsigned)json_integer_value(v) * 1000;
        else if (!strcmp(key, "tool_workers") && json_is_integer(v) && json_integer_value(v) >= 1 &&
                 json_integer_value(v) <= 64)
            c->tool_workers = (int)json_integer_value(v);
        else if (!strcmp(key, "rules") && json_is_array(v)) {
            size_t i;
            json_t *r;
            c->nrules = 0; /* the file's rules replace earlier ones */
            json_array_foreach(v, i, r)
            {
                const char *kinds[] = {"tool", "server", "client"};
                const char *kind = NULL, *name = NULL;
                for (int k = 0; k < 3 && !kind; k++)
                    if (json_is_string(json_object_get(r, kinds[k])))
                        kind = kinds[k], name = json_string_value(json_object_get(r, kinds[k]));
                json_t *t = json_object_get(r, "threshold");
                if (!kind || !json_is_integer(t) || add_rule(c, kind, name, (uint64_t)json_integer_value(t), err, errlen)) {
                    if (!kind || !json_is_integer(t))
                        snprintf(err, errlen, "%s: rule %zu wants {\"tool\"|\"server\"|\"client\": NAME, \"threshold\": N}", path, i);
                    goto out;
                }
            }
        } else if (json_size(v, &n) == 0 && (!strcmp(key, "threshold") || !strcmp(key, "byte_cap") ||
                                             !strcmp(key, "min_spill") || !strcmp(key, "preview_head") ||
                                             !strcmp(key, "preview_tail") || !strcmp(key, "page") ||
                                             !strcmp(key, "frame_size") || !strcmp(key, "views_quota") ||
                                             !strcmp(key, "level") || !strcmp(key, "threads") ||
                                             !strcmp(key, "spin_us") || !strcmp(key, "tool_memory"))) {
            if (!strcmp(key, "threshold")) c->threshold = n;
            else if (!strcmp(key, "byte_cap")) c->byte_cap = n;
            else if (!strcmp(key, "min_spill")) c->min_spill = n;
            else if (!strcmp(key, "preview_head")) c->preview_head = n;
            else if (!strcmp(key, "preview_tail")) c->preview_tail = n;
            else if (!strcmp(key, "page")) c->page_bytes = n;
            else if (!strcmp(key, "frame_size")) c->frame_size = n;
            else if (!strcmp(key, "views_quota")) c->views_quota = n;
            else if (!strcmp(key, "level")) c->level = (int)n;
            else if (!strcmp(key, "spin_us")) c->spin_us = n > 1000000 ? 1000000 : (unsigned)n;
            else if (!strcmp(key, "tool_memory")) c->tool_memory = n;
            else c->threads = (int)n;
        } else {
            snprintf(err, errlen, "%s: unknown or malformed key \"%s\"", path, key);
            goto out;
        }
    }
    if (c->threshold == 0 || c->min_spill == 0 || c->page_bytes < 1024) {
        snprintf(err, errlen, "%s: threshold and min_spill must be > 0, page >= 1024", path);
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int cmd_run(cli *c)
{
    sidecar_config cfg;
    sidecar_config_init(&cfg);
    char err[512];
    const char *e;
    int i, sep = -1;
    for (i = 0; i < c->argc; i++)
        if (!strcmp(c->argv[i], "--")) {
            sep = i;
            break;
        }
    for (i = 0; i < c->argc; i++)
        if (!strcmp(c->argv[i], "--help") || !strcmp(c->argv[i], "-h")) {
            fputs(run_help, stdout);
            return 0;
        }
    if (sep < 0 || sep + 1 >= c->argc)
        return cli_usage("run: spill run [options] -- SERVER-COMMAND [ARGS...] (see spill run --help)");
    /* Environment, then the config file, then flags. */
    if ((e = getenv("SPILL_THRESHOLD")) && cli_parse_u64(e, &cfg.threshold))
        return cli_usage("SPILL_THRESHOLD: not a number: %s", e);
    if ((e = getenv("SPILL_VOCAB")) && *e) {
        if (!cli_vocab_ok(e))
            return cli_usage("SPILL_VOCAB: not claude, o200k or cl100k: %s", e);
        snprintf(cfg.vocab, sizeof cfg.vocab, "%s", e);
    }
    if ((e = getenv("SPILL_COUNTER")) && *e) {
        if (strcmp(e, "exact") && strcmp(e, "estimate"))
            return cli_usage("SPILL_COUNTER: not exact or estimate: %s", e);
        cfg.counter_exact = !strcmp(e, "exact");
    }
    if ((e = getenv("SPILL_MULTIPLIER")) && *e && cli_parse_multiplier(e, &cfg.multiplier))
        return cli_usage("SPILL_MULTIPLIER: not a number in (0, 1000]: %s", e);
    if ((e = getenv("SPILL_SPIN_US")) && *e) {
        uint64_t us;
        if (cli_parse_u64(e, &us) || us > 1000000)
            return cli_usage("SPILL_SPIN_US: not a number of microseconds up to 1000000: %s", e);
        cfg.spin_us = (unsigned)us;
    }
    if ((e = getenv("SPILL_TOOL_TIMEOUT")) && *e && parse_ms(e, &cfg.tool_timeout_ms))
        return cli_usage("SPILL_TOOL_TIMEOUT: not a time from 100ms to 600s: %s", e);
    const char *config = getenv("SPILL_CONFIG");
    for (i = 0; i < sep; i++)
        if (!strcmp(c->argv[i], "--config") && i + 1 < sep)
            config = c->argv[i + 1];
    if (config) {
        snprintf(cfg.config_path, sizeof cfg.config_path, "%s", config);
        if (sidecar_config_load(&cfg, config, err, sizeof err) != 0)
            return cli_error("run: %s", err);
    }
    for (i = 0; i < sep; i++) {
        const char *a = c->argv[i], *v = i + 1 < sep ? c->argv[i + 1] : NULL;
        uint64_t n;
        if (!strcmp(a, "--no-views")) cfg.views = 0;
        else if (!strcmp(a, "--no-client-defaults")) cfg.client_defaults = 0;
        else if (!strcmp(a, "--log-json")) cfg.log_json = 1;
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) cfg.verbose = 1;
        else if (!v) return cli_usage("run: %s needs a value", a);
        else if (!strcmp(a, "--config")) i++;
        else if (!strcmp(a, "--threshold") && !cli_parse_u64(v, &n) && n) cfg.threshold = n, i++;
        else if (!strcmp(a, "--byte-cap") && !cli_parse_size(v, &n)) cfg.byte_cap = n, i++;
        else if (!strcmp(a, "--min-spill") && !cli_parse_size(v, &n) && n) cfg.min_spill = n, i++;
        else if (!strcmp(a, "--preview-head") && !cli_parse_size(v, &n)) cfg.preview_head = n, i++;
        else if (!strcmp(a, "--preview-tail") && !cli_parse_size(v, &n)) cfg.preview_tail = n, i++;
        else if (!strcmp(a, "--page") && !cli_parse_size(v, &n) && n >= 1024) cfg.page_bytes = n, i++;
        else if (!strcmp(a, "--views-quota") && !cli_parse_size(v, &n)) cfg.views_quota = n, i++;
        else if (!strcmp(a, "--frame-size") && !cli_parse_size(v, &n)) cfg.frame_size = n, i++;
        else if (!strcmp(a, "--level") && !cli_parse_u64(v, &n) && n >= 1 && n <= 22) cfg.level = (int)n, i++;
        else if (!strcmp(a, "--threads") && !cli_parse_u64(v, &n) && n >= 1 && n <= 16) cfg.threads = (int)n, i++;
        else if (!strcmp(a, "--tool-timeout") && !parse_ms(v, &cfg.tool_timeout_ms)) i++;
        else if (!strcmp(a, "--tool-memory") && !cli_parse_size(v, &n)) cfg.tool_memory = n, i++;
        else if (!strcmp(a, "--tool-workers") && !cli_parse_u64(v, &n) && n >= 1 && n <= 64) cfg.tool_workers = (int)n, i++;
        else if (!strcmp(a, "--spin-us") && !cli_parse_u64(v, &n) && n <= 1000000) cfg.spin_us = (unsigned)n, i++;
        else if (!strcmp(a, "--vocab") && cli_vocab_ok(v)) snprintf(cfg.vocab, sizeof cfg.vocab, "%s", v), i++;
        else if (!strcmp(a, "--counter") && (!strcmp(v, "exact") || !strcmp(v, "estimate")))
            cfg.counter_exact = !strcmp(v, "exact"), i++;
        else if (!strcmp(a, "--multiplier") && !cli_parse_multiplier(v, &cfg.multiplier)) i++;
        else if (!strcmp(a, "--session")) snprintf(cfg.session, sizeof cfg.session, "%s", v), i++;
        else if (!strcmp(a, "--rule")) {
            if (sidecar_config_rule(&cfg, v, err, sizeof err) != 0)
                return cli_usage("run: %s", err);
            i++;
        } else
            return cli_usage("run: bad option %s %s", a, v);
    }
    /* The store: --store, the config file, SPILL_STORE, XDG, HOME (cli_open's order). */
    if (c->store_dir)
        snprintf(cfg.store, sizeof cfg.store, "%s", c->store_dir);
    if (!cfg.store[0]) {
        spill_store *st;
        int rc = cli_open(c, &st);
        if (rc)
            return rc;
        snprintf(cfg.store, sizeof cfg.store, "%s", spill_store_dir(st));
        spill_store_close(st);
    }
    return sidecar_run(&cfg, c->argv + sep + 1);
}
