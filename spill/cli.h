/* cli.h - shared parts of the spill executable (not the library). */
#ifndef SPILL_CLI_H
#define SPILL_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "spill.h"

enum { EXIT_USAGE = 2 };

typedef struct cli {
    const char *store_dir;
    spill_store_opts opts;
    int argc;
    char **argv; /* the command's arguments, global options removed */
} cli;

/* One line on stderr, "spill: ...", then returns 1 (or the given status). */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_open(cli *c, spill_store **st);
int cli_store_dir(cli *c); /* resolves the store directory into c->opts.dir */
int cli_store_error(spill_store *st, int rc, const char *what);

int cli_parse_u64(const char *s, uint64_t *v);      /* plain decimal */
int cli_parse_size(const char *s, uint64_t *v);     /* 10, 4k, 1M, 2G, 1KiB, 1MiB, 1GiB */
int cli_parse_duration(const char *s, int64_t *v);  /* 90, 90s, 15m, 2h, 7d -> seconds */
/* "A:B", "A:", ":B", "A"; missing parts leave *a / *b untouched. */
int cli_parse_range(const char *s, uint64_t *a, uint64_t *b, int *has_b);
void cli_json_string(FILE *f, const char *s);
/* ,"key":"s" (a member after the first; key is written as it is), or ,"key":null when s
 * is NULL. */
void cli_json_member(FILE *f, const char *key, const char *s);
const char *cli_human(uint64_t bytes, char buf[32]);
int cli_write_all(int fd, const void *p, size_t n);

/* The token counter for the filter: with exact set, the exact counter over vocab
 * (early exit at early_exit tokens) when its vocabulary loads, else the estimator, and
 * then warn (when not NULL) gets a one-line reason. multiplier 0: the vocabulary's
 * default. Lives until cli_counters_free(). */
const spill_counter_vtab *cli_counter(const char *vocab, int exact, double multiplier,
                                      uint64_t early_exit, char *warn, size_t warnlen);
/* The tokenizer of vocab, opened once per process; NULL with a reason in *why. */
spill_tokenizer *cli_tokenizer(const char *vocab, const char **why);
void cli_counters_free(void);
int cli_vocab_ok(const char *vocab);                 /* claude, o200k or cl100k */
int cli_parse_multiplier(const char *s, double *m);  /* 0 < m <= 1000 */

int cmd_cat(cli *c);
int cmd_grep(cli *c);
int cmd_filter(cli *c);
int cmd_run(cli *c);
int cmd_count(cli *c);
int cmd_bench(cli *c);         /* cli_bench.c */
int cmd_bench_server(cli *c);  /* bench_e2e.c: the MCP server of bench --e2e (hidden) */
int cmd_mcp_worker(cli *c);    /* mcpworker.c: one local MCP call for spill run (hidden) */

#endif
