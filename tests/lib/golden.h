/*
 * golden.h — the kernel's recordings (tests/scenario/kernel/<S>.golden, made by extract.py from
 * ../shared/kernel-truth) as the scenario and lab tests compare against them.
 */
#ifndef GOLDEN_H
#define GOLDEN_H

#define GOLDEN_MAXP 512
#define GOLDEN_MAXC 16

struct golden_pkt {
	double t; /* ms since the first captured packet */
	int cs;   /* 1: client to server */
	int port; /* client port */
	char flags[8];
	long seq, ack; /* relative; ack -1: none */
	long len;
};

struct golden {
	struct golden_pkt p[GOLDEN_MAXP];
	int np;
	struct {
		char side[4]; /* srv or cli */
		char name[48];
		long v;
	} c[64];
	int nc;
	char ev[64][160]; /* application events ("READ_ERR ... errno=104 ...") */
	double ev_t[64];
	int nev;
	int port_of[GOLDEN_MAXC + 1]; /* k -> port of the k-th client to send a SYN (1-based) */
	int nclients;
};

/* Load tests/scenario/kernel/<name>.golden (paths are relative to the repository root, where
 * scripts/run-tests.sh runs the tests); fails the test if it cannot. */
void golden_load(struct golden *g, const char *name);
/* time of the first SYN of a client port in the recording, -1 if none */
double golden_first_syn(const struct golden *g, int port);
/* Is a kernel time (relative to the flow's first SYN, ms) consistent with synq's? Kernel timers
 * fire late on the timer wheel (SPEC §7), synq's exactly: the kernel may be later by 4.5 % + 70 ms
 * and earlier by 15 ms (client scheduling in the harness). wheel: synq ran net.synq.timer_hz=250,
 * so both are late alike, up to the unknown jiffies phase (one level-2 slot, 256 ms). */
int golden_time_ok(double kernel_rel, double synq_rel, int wheel);

#endif
