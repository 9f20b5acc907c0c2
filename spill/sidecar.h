/* sidecar.h - `spill run -- CMD`: the stdio sidecar (part of the spill executable). */
#ifndef SPILL_SIDECAR_H
#define SPILL_SIDECAR_H

#include <stddef.h>
#include <stdint.h>

#include "spill.h"

enum { SIDECAR_MAX_RULES = 64 };

/* Everything `spill run` can be told, by flags, environment or the config file. */
typedef struct sidecar_config {
    char store[4096];
    char config_path[4096];
    uint64_t threshold, byte_cap, min_spill, preview_head, preview_tail;
    char vocab[16];
    int counter_exact;         /* 1: exact counts up to the threshold (when the vocabulary loads) */
    double multiplier;         /* of the token count; 0: the vocabulary's default */
    int level, threads;
    uint64_t frame_size;
    int views;                 /* plain-text copies for native file tools */
    uint64_t views_quota;      /* bytes of views kept (oldest go first) */
    int client_defaults;
    int log_json;
    int verbose;
    unsigned spin_us;          /* poll without sleeping this long after traffic; 0 off */
    uint64_t page_bytes;       /* bound of spill's own tool results */
    /* spill's own calls run in worker processes under these limits */
    unsigned tool_timeout_ms;  /* wall time of one call (CPU time: that, rounded up, + 1 s) */
    uint64_t tool_memory;      /* address space of a worker, bytes; 0 none */
    int tool_workers;          /* workers at once; more calls wait */
    char session[256];
    size_t nrules;
    spill_rule rules[SIDECAR_MAX_RULES];
    char rule_names[SIDECAR_MAX_RULES][3][128];
} sidecar_config;

void sidecar_config_init(sidecar_config *c);
/* Loads a JSON config file over c (what it does not mention stays). 0, or -1 with a
 * message in err. */
int sidecar_config_load(sidecar_config *c, const char *path, char *err, size_t errlen);
/* "tool=NAME:TOKENS", "server=NAME:TOKENS", "client=NAME:TOKENS". */
int sidecar_config_rule(sidecar_config *c, const char *spec, char *err, size_t errlen);

/* Runs the server command argv under the sidecar until it exits; returns the exit
 * status for spill itself (the server's, or 128+signal, or 1 on spill's own failure). */
int sidecar_run(sidecar_config *c, char **argv);

#endif
