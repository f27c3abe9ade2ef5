/*
 * drill.h — packetdrill scripts against a synq stack, in virtual time (issue 6).
 *
 * A script is a list of timed events (packetdrill's language, the subset docs/drill.md lists):
 * `<` packets are injected into the stack, `>` packets are expected from it, system calls are
 * mapped onto synq's socket API, backtick `sysctl -q name=value` commands onto synq_stack_set().
 * Each script runs on a fresh stack owning --local-ip (192.168.0.1); the peer is --remote-ip
 * (192.0.2.1); the listener port and connect() port are 8080, as packetdrill's defaults.
 *
 * drill_parse() turns text into events; drill_run_text()/drill_run_file() parse and run one
 * script and fill a drill_result (first failure: line number, what was expected, what happened).
 * The parser and the runner allocate with malloc; nothing is global: scripts may run in
 * parallel threads.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYNQ_DRIVERS_DRILL_H
#define SYNQ_DRIVERS_DRILL_H

#include <stdint.h>
#include <stdio.h>

#define DRILL_MAX_SETS 64

struct drill_opts {
	int64_t tolerance_us;  /* timing tolerance, as packetdrill's --tolerance_usecs (4000) */
	double tolerance_pct;  /* plus this % of the gap since the previous event (0; packetdrill's
	                          default is 12.5, useful for scripts timed on a real kernel) */
	int verbose;           /* trace every event and packet to log */
	FILE *log;             /* verbose output (NULL: stdout) */
	const char *sets[DRILL_MAX_SETS]; /* "name=value" applied to the config before the stack */
	int n_sets;
	uint32_t local_ip, remote_ip; /* host order; 192.168.0.1, 192.0.2.1 */
	uint64_t seed;         /* the stack's rand hook (ISNs, secrets); default 1 */
};

/* Fill o with the defaults above. */
void drill_opts_init(struct drill_opts *o);

struct drill_result {
	int ok;         /* 1 if the script passed */
	int line;       /* line of the first failure (0: the script as a whole) */
	char msg[1024]; /* what was expected and what happened */
	int events;     /* events run */
};

/* Parse and run one script (text is NUL-terminated). Returns 0 if it passed, -1 otherwise;
 * r says why. name is used in verbose output only. */
int drill_run_text(const char *name, const char *text, const struct drill_opts *o,
		   struct drill_result *r);
/* The same, reading path. A file that cannot be read fails with line 0. */
int drill_run_file(const char *path, const struct drill_opts *o, struct drill_result *r);

#endif
