/*
 * lab.h — the listen-queue experiments of `synq lab`, run in-process on the virtual network.
 *
 * An experiment is a preset of struct lab_params (lab_preset); options change it (lab_parse).
 * lab_run() plays it in virtual time and records what happened as a flat, time-ordered list of
 * records (struct lab_rec): every packet on the wire, what the listener decided and why (from the
 * engine's SYNQ_EV_DROP / DECISION / REQ_NEW / REQ_GONE / ACCEPTABLE events, with the counters
 * each decision bumped and the queue figures A, M, Q at that moment), socket state changes,
 * application calls and their results, queue-length changes. Renderers turn it into a terminal
 * ladder diagram (lab_ladder), JSON lines (lab_json, docs/lab-json.md) and SVG (lab_svg).
 *
 * The flood experiment adds spoofed SYNs, injected into the server node (vnet_inject) from
 * 10.77.<1+j/250>.<1+j%250> (j = i mod --flood-sources), ports 20000 + i mod 40000; their SYN-ACKs
 * are unroutable. They are not recorded one by one: what the listener did with them is summed
 * per second of virtual time into LAB_FLOOD records.
 *
 * Topology (as ../shared/kernel-truth's harness): server 10.77.0.1:8080; one client host
 * 10.77.0.2 whose clients c1..cN use ports 40001..40000+N: first --fill clients --fill-gap ms
 * apart, then --burst clients at one instant --fill-gap after the last fill client. The link
 * delays client->server packets by --rtt ms (the harness' NFQUEUE delay), server->client 0.
 * The clients start --clients-at seconds into the run (0, except for flood). The virtual clock starts at LAB_EPOCH_NS (so the SYN-cookie minute turns 3.05 s into the run,
 * as in the recordings); record times are relative to it.
 *
 * Memory: lab_run() allocates the stacks, the vnet and the record list; lab_result_free() frees
 * them. Not thread-safe only in the sense that a result must not be shared while being built.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYNQ_DRIVERS_LAB_H
#define SYNQ_DRIVERS_LAB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "synq.h"

#define LAB_MAX_CLIENTS 200
#define LAB_MAX_SETS 32
#define LAB_EPOCH_NS 56950000000ull  /* virtual time at which a run begins */
#define LAB_IDLE_BOUND_S 300.0       /* default --duration: until idle, at most this long */
#define LAB_SRV_IP 0x0a4d0001u       /* 10.77.0.1 */
#define LAB_CLI_IP 0x0a4d0002u       /* 10.77.0.2 */
#define LAB_SRV_PORT 8080
#define LAB_CLI_PORT0 40000          /* client ck uses port LAB_CLI_PORT0 + k */

enum lab_accept { LAB_ACCEPT_NEVER = 0, LAB_ACCEPT_AT, LAB_ACCEPT_EVERY };

/** One experiment's setup. Strings point into argv or static storage (not copied). */
struct lab_params {
	const char *experiment;
	int backlog;         /* listen() argument */
	int fill, burst;     /* clients c1..c<fill>, then c<fill+1>..c<fill+burst> */
	double fill_gap_ms;  /* between fill clients, and from the last one to the burst */
	double rtt_ms;       /* client->server delay (server->client is 0) */
	uint64_t loss_c2s, loss_s2c; /* vnet loss masks (bit k: drop the k-th packet) */
	int accept_mode;     /* enum lab_accept */
	double accept_sec;   /* at:SEC (from the run's start) / every:SEC */
	int send_bytes;      /* burst clients write this many bytes (0: never)... */
	double send_sec;     /* ...this long after their connect() call (or once connected) */
	double duration_s;   /* 0: until nothing is pending, at most LAB_IDLE_BOUND_S */
	uint64_t seed;
	double clients_at_s; /* the first client connects this long after the run began */
	int kernel_timers;   /* --kernel-timers: net.synq.timer_hz=250 on both stacks */
	const char *kernel;  /* --kernel VERSION ("6.18" default) */
	/* flood: spoofed SYNs */
	long flood_count;    /* 0: none */
	double flood_rate;   /* SYNs per second */
	long flood_sources;  /* distinct source addresses */
	double flood_at_s;   /* the first spoofed SYN arrives this long after the run began */
	const char *srv_set[LAB_MAX_SETS]; /* "name=value" for the server's synq_config_set */
	int n_srv_set;
	const char *cli_set[LAB_MAX_SETS]; /* same for the client host */
	int n_cli_set;
	/* output (used by the CLI only) */
	int json, quiet;
	const char *pcap_path, *svg_path;
};

/** An experiment: name, one-line summary, longer description (for --list). */
struct lab_experiment {
	const char *name;
	const char *summary;
	const char *kernel; /* the kernel-truth scenario its defaults reproduce */
	const char *describe;
};

/** The experiments, NULL-terminated by name. */
extern const struct lab_experiment lab_experiments[];

/** Fill p with experiment name's defaults. Returns 0, or -ENOENT for an unknown name. */
int lab_preset(struct lab_params *p, const char *name);

/** Parse `[EXPERIMENT] [OPTIONS]` (argv[0] is the command name and skipped).
 *  Returns 0 (p filled), 1 (--help), 2 (--list), or -EINVAL with a one-line message in err. */
int lab_parse(struct lab_params *p, int argc, char **argv, char *err, size_t errcap);

/* ---- records ------------------------------------------------------------------------------ */
enum lab_rec_kind {
	LAB_PKT = 1, /* a packet emitted (t = send time) */
	LAB_DROP,    /* the server dropped a segment or a request (code/rule/text) */
	LAB_DECIDE,  /* another listener decision (request created, child queued, SYN cookie...) */
	LAB_STATE,   /* a socket (or a request, at the server) changed state */
	LAB_APP,     /* an application call returned */
	LAB_QUEUE,   /* the listener's A (recvq), M (sendq) or Q (SYN queue) changed */
	LAB_NOTE,    /* counters that moved without an engine event, or a kernel log line */
	LAB_FLOOD,   /* one second of the flood, summed (t = the end of that second, or the run's) */
};

#define LAB_FLOOD_KINDS 8

#define LAB_MAX_DELTA 8

struct lab_rec {
	int kind;           /* enum lab_rec_kind */
	uint64_t t_ns;      /* since the run began */
	int at;             /* 0 = the server, k = client ck (state/app/drop/decide/note) */
	int conn;           /* k of the connection concerned, 0 if none */
	/* LAB_PKT */
	int from, to;       /* 0 = server, k = ck */
	uint64_t arr_ns;    /* delivery time (since the run began); UINT64_MAX if lost */
	int lost;
	char flags[10];     /* tcpdump notation: "S", "S.", ".", "P.", "F.", "R", "R." */
	uint32_t seq, ack;  /* relative to each sender's ISN */
	int has_ack;
	uint32_t len, win;
	int nth;            /* the n-th packet of this kind (same flags) from this sender on conn */
	/* LAB_DROP / LAB_DECIDE / LAB_NOTE */
	char code[32], rule[8], text[160];
	int n_delta;        /* counters the decision bumped */
	struct { int id; int64_t n; } delta[LAB_MAX_DELTA];
	uint32_t qa, qm, qq; /* A, M, Q at that moment (also LAB_QUEUE) */
	/* LAB_STATE */
	int state;          /* enum synq_tcp_state */
	/* LAB_APP */
	char call[10];      /* connect, accept, read, write, close */
	long ret;
	int err;            /* positive errno, 0 if none */
	/* LAB_FLOOD (also uses delta[], qa/qm/qq: the queues at the end of the second) */
	uint64_t from_ns;   /* the second summed: [from_ns, from_ns + 1 s) */
	long f_in, f_synack, f_rst; /* spoofed SYNs delivered; SYN-ACKs, RSTs sent to spoofed sources */
	uint32_t f_maxq;    /* the SYN queue's maximum in that second */
	int n_what;         /* the listener's decisions about spoofed SYNs, by reason */
	struct { char code[24]; long n; } what[LAB_FLOOD_KINDS];
};

/** The flood experiment's result (lab_result.flood), also filled for other experiments. */
struct lab_flood_summary {
	int legit_total, legit_ok;      /* clients, and those whose connect() succeeded */
	double connect_p50_ms, connect_p99_ms; /* connect() call to ESTABLISHED, successful ones */
	uint32_t max_synq, max_recvq;   /* the listener's Q and A maxima over the run */
	uint64_t peak_bytes;            /* the server engine's memory (synq_stack_memory) */
	long flood_sent;                /* spoofed SYNs delivered */
};

struct lab_result {
	struct lab_params p;
	int n_clients;
	struct lab_rec *rec;
	size_t n, cap;
	uint64_t end_ns;     /* where the run stopped (since it began) */
	int idle;            /* 1: it stopped because nothing was pending */
	uint64_t srv_ctr[SYNQ_COUNTER_COUNT], cli_ctr[SYNQ_COUNTER_COUNT]; /* at the end */
	uint32_t final_a, final_m, final_q;
	int cli_state[LAB_MAX_CLIENTS + 1]; /* final state of each client socket (0: closed) */
	int accepted;
	struct lab_flood_summary flood;
	char err[160];       /* what went wrong when lab_run() fails */
};

/** Run p. Returns 0 (res filled; free it with lab_result_free), -EINVAL (bad params: a --set
 *  the engine refuses), -ENOMEM, or a vnet error; on error res holds nothing to free.
 *  If p->pcap_path is set, the server's packets are written there (errors in res->err and
 *  a -EIO return after the run). */
int lab_run(const struct lab_params *p, struct lab_result *res);
void lab_result_free(struct lab_result *res);

/** The kernel-timer model's parameters, for --help and docs (HZ 250). */
#define LAB_KERNEL_HZ 250

/** Renderers. Each returns 0 or a negative errno (write error). */
int lab_ladder(const struct lab_result *r, FILE *out, int width);
int lab_json(const struct lab_result *r, FILE *out);
int lab_svg(const struct lab_result *r, FILE *out);

/* helpers shared by the renderers */
/** The ladder's text for record i (0 when the ladder does not show it: queue records, the
 *  server's request states, client states that repeat a connect() result). */
int lab_rec_text(const struct lab_result *r, size_t i, char *text, size_t cap);
const char *lab_errno_name(int err);      /* "ECONNRESET", ... ("E<n>" otherwise) */
const char *lab_state_name(int state);    /* kernel names: "SYN_RECV", "ESTABLISHED", ... */
const char *lab_short_counter(int id);    /* "ListenOverflows" for TcpExtListenOverflows */
int lab_counter_boring(int id);           /* 1 for Ip*, TcpInSegs, ... (not shown per decision) */

#endif /* SYNQ_DRIVERS_LAB_H */
