/*
 * bench_cookie.c — SYN-cookie benchmarks: engine only, no I/O, packets built by the wire codec.
 *
 * Prints one `bench: NAME VALUE UNIT` line per figure (and '#' context lines):
 *   cookie_syn_to_synack_ns  synq_input(SYN) + synq_output(cookie SYN-ACK) on a listener with
 *                            net.ipv4.tcp_syncookies=2 (every SYN answered with a cookie, no
 *                            state kept), every SYN from a distinct source address and port,
 *                            with the options of a Linux client (MSS, SACK_PERM, TS, WS), so the
 *                            TSval carries the options (B35) (target <= 100 ns)
 *   cookie_ack_to_child_ns   synq_input(valid cookie ACK) (+ the synq_output() that finds
 *                            nothing to send): the cookie checked (B32, B33), the child built
 *                            from the ACK (B35, B36) and put on the accept queue. The ACK is
 *                            built from the SYN-ACK the stack emitted: ack = its seq + 1,
 *                            seq = the client's ISN + 1, TSecr = its TSval.
 *
 * Each timed figure is the median of RUNS runs, each on a fresh stack. A run times batches of
 * BATCH packets; what keeps the pools free (accept() and close() of the children, the peer's
 * RST that frees them) and the building of the packets are outside the clock. Virtual time
 * moves by 1 us per batch, so the cookie minute counter never changes inside a run.
 * Also checked (the run dies otherwise): SyncookiesSent = SYNs, SyncookiesRecv = ACKs, no
 * SyncookiesFailed, no request kept (SYN queue empty), every ACK gave an acceptable child.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_NAME "bench_cookie"
#include "bench_util.h"
#include "synq.h"
#include "core/wire.h"

#define RUNS 5
#define SRV_IP 0x0a000001u /* 10.0.0.1 */
#define SRV_PORT 8080
#define BATCH 1000        /* packets timed between two untimed clean-ups */
#define SYN_MEASURED 400000
#define ACK_MEASURED 200000

static synq_stack *cookie_stack(struct rng *rng, const char *max_sockets, uint64_t now, int *l)
{
	struct synq_config cfg;
	synq_config_init(&cfg);
	cfg_or_die(&cfg, "net.synq.local_addr=10.0.0.1");
	cfg_or_die(&cfg, "net.ipv4.tcp_syncookies=2");
	cfg_or_die(&cfg, "net.core.somaxconn=65535");
	cfg_or_die(&cfg, "net.synq.max_requests=1024");
	cfg_or_die(&cfg, max_sockets);
	cfg.rand = rng_fill;
	cfg.rand_user = rng;
	synq_stack *s;
	int rc = synq_stack_new(&cfg, now, &s);
	if (rc)
		DIE("stack_new: %d", rc);
	*l = synq_socket(s);
	if (*l < 0)
		DIE("socket: %d", *l);
	rc = synq_bind(s, *l, &(struct synq_addr){SRV_IP, SRV_PORT});
	if (!rc)
		rc = synq_listen(s, *l, 2 * BATCH);
	if (rc)
		DIE("bind/listen: %d", rc);
	return s;
}

/* Peer i: distinct address (11.0.0.0/8 + i) and port for every i < 2^24. */
static uint32_t peer_ip(uint32_t i) { return 0x0b000000u + i; }
static uint16_t peer_port(uint32_t i) { return (uint16_t)(1024 + (i * 7919u) % 64000u); }
static uint32_t peer_isn(uint32_t i) { return i * 2654435761u ^ 0xa5a5a5a5u; }

static size_t build(uint8_t *buf, size_t cap, uint32_t i, uint32_t seq, uint32_t ack,
		    uint8_t flags, uint16_t window, const struct synq_opts *opt)
{
	struct synq_seg g;
	memset(&g, 0, sizeof(g));
	g.saddr = peer_ip(i);
	g.daddr = SRV_IP;
	g.sport = peer_port(i);
	g.dport = SRV_PORT;
	g.seq = seq;
	g.ack = ack;
	g.flags = flags;
	g.window = window;
	g.ttl = 64;
	if (opt)
		g.opt = *opt;
	size_t n = wire_emit(&g, buf, cap);
	if (!n)
		DIE("wire_emit failed");
	return n;
}

/* A Linux client's SYN: MSS 1460, SACK_PERM, TS, WS 7 (60 bytes). */
static size_t build_syn(uint8_t *buf, size_t cap, uint32_t i)
{
	struct synq_opts o;
	memset(&o, 0, sizeof(o));
	o.present = OPT_MSS | OPT_SACK_PERM | OPT_TS | OPT_WSCALE;
	o.mss = 1460;
	o.wscale = 7;
	o.tsval = 1000 + i;
	return build(buf, cap, i, peer_isn(i), 0, TCP_SYN, 64240, &o);
}

/* ---- cookie_syn_to_synack_ns ---------------------------------------------------------------- */
static double run_syn(int run)
{
	struct rng rng = {0xc00c1e + (uint64_t)run};
	uint64_t now = NS_PER_S;
	int l;
	synq_stack *s = cookie_stack(&rng, "net.synq.max_sockets=16", now, &l);
	static uint8_t pkts[BATCH][64];
	static size_t lens[BATCH];
	uint8_t out[1600];
	uint64_t total = 0;
	uint32_t next = 0;
	struct synq_seg g;

	/* warm-up batch (untimed), and a check that the answer is a cookie SYN-ACK */
	for (int k = 0; k < BATCH; k++, next++) {
		size_t n = build_syn(pkts[0], sizeof(pkts[0]), next);
		if (synq_input(s, pkts[0], n, now))
			DIE("warm-up input");
		int m = synq_output(s, out, sizeof(out), now);
		if (m <= 0 || wire_parse(out, (size_t)m, &g) != WIRE_OK ||
		    g.flags != (TCP_SYN | TCP_ACK) || !(g.opt.present & OPT_TS))
			DIE("warm-up: no SYN-ACK with timestamps");
	}
	for (uint32_t done = 0; done < SYN_MEASURED; done += BATCH) {
		now += 1000;
		for (int k = 0; k < BATCH; k++)
			lens[k] = build_syn(pkts[k], sizeof(pkts[k]), next + (uint32_t)k);
		int bad = 0;
		uint64_t t0 = mono_ns();
		for (int k = 0; k < BATCH; k++) {
			bad |= synq_input(s, pkts[k], lens[k], now);
			bad |= synq_output(s, out, sizeof(out), now) <= 0;
		}
		total += mono_ns() - t0;
		if (bad)
			DIE("SYN batch: input failed or no SYN-ACK");
		next += BATCH;
	}
	struct synq_sock_info li;
	synq_sock_info(s, l, &li);
	uint64_t sent = synq_counter(s, SYNQ_C_SYNCOOKIES_SENT);
	if (sent != next || li.synq_len != 0 || synq_counter(s, SYNQ_C_LISTEN_DROPS))
		DIE("SYN run: SyncookiesSent %llu of %u SYNs, SYN queue %u, ListenDrops %llu",
		    (unsigned long long)sent, next, li.synq_len,
		    (unsigned long long)synq_counter(s, SYNQ_C_LISTEN_DROPS));
	synq_stack_free(s);
	return (double)total / SYN_MEASURED;
}

/* ---- cookie_ack_to_child_ns ----------------------------------------------------------------- */
static double run_ack(int run)
{
	struct rng rng = {0xac4 + (uint64_t)run};
	uint64_t now = NS_PER_S;
	int l;
	synq_stack *s = cookie_stack(&rng, "net.synq.max_sockets=1100", now, &l);
	static uint8_t acks[BATCH][64];
	static size_t lens[BATCH];
	static uint32_t ids[BATCH];
	uint8_t pkt[64], out[1600];
	uint64_t total = 0;
	uint32_t next = 0;
	struct synq_seg g;

	for (uint32_t done = 0; done < ACK_MEASURED + BATCH; done += BATCH) {
		now += 1000;
		/* untimed: the SYNs, their cookie SYN-ACKs, the ACKs built from them */
		for (int k = 0; k < BATCH; k++) {
			uint32_t i = next++;
			size_t n = build_syn(pkt, sizeof(pkt), i);
			if (synq_input(s, pkt, n, now))
				DIE("SYN input");
			int m = synq_output(s, out, sizeof(out), now);
			if (m <= 0 || wire_parse(out, (size_t)m, &g) != WIRE_OK ||
			    g.flags != (TCP_SYN | TCP_ACK) || !(g.opt.present & OPT_TS))
				DIE("no cookie SYN-ACK");
			struct synq_opts o;
			memset(&o, 0, sizeof(o));
			o.present = OPT_TS;
			o.tsval = 1001 + i;
			o.tsecr = g.opt.tsval;
			lens[k] = build(acks[k], sizeof(acks[k]), i, peer_isn(i) + 1, g.seq + 1, TCP_ACK,
					502, &o);
			ids[k] = i;
		}
		/* timed: the ACKs (the first batch is a warm-up) */
		int bad = 0;
		uint64_t t0 = mono_ns();
		for (int k = 0; k < BATCH; k++) {
			bad |= synq_input(s, acks[k], lens[k], now);
			bad |= synq_output(s, out, sizeof(out), now) != 0;
		}
		uint64_t t1 = mono_ns();
		if (done)
			total += t1 - t0;
		if (bad)
			DIE("ACK batch: input failed or an answer to a cookie ACK");
		/* untimed: accept and close every child (FIN), the peer's RST frees it */
		for (int k = 0; k < BATCH; k++) {
			struct synq_addr peer;
			int fd = synq_accept(s, l, &peer);
			if (fd < 0)
				DIE("accept: %d after %d children (SyncookiesRecv %llu, Failed %llu)", fd,
				    k, (unsigned long long)synq_counter(s, SYNQ_C_SYNCOOKIES_RECV),
				    (unsigned long long)synq_counter(s, SYNQ_C_SYNCOOKIES_FAILED));
			synq_close(s, fd, now);
			int m = synq_output(s, out, sizeof(out), now);
			if (m <= 0 || wire_parse(out, (size_t)m, &g) != WIRE_OK || !(g.flags & TCP_FIN))
				DIE("no FIN after close");
			uint32_t i = peer.ip - 0x0b000000u;
			if (i != ids[k])
				DIE("accept order: peer %u, want %u", i, ids[k]);
			size_t n = build(pkt, sizeof(pkt), i, peer_isn(i) + 1, 0, TCP_RST, 0, NULL);
			if (synq_input(s, pkt, n, now))
				DIE("RST input");
		}
		while (synq_output(s, out, sizeof(out), now) > 0)
			;
		if (synq_sock_next(s, l) != -1)
			DIE("children left after their RSTs (fd %d)", synq_sock_next(s, l));
	}
	uint64_t recv = synq_counter(s, SYNQ_C_SYNCOOKIES_RECV);
	if (recv != next || synq_counter(s, SYNQ_C_SYNCOOKIES_FAILED) ||
	    synq_counter(s, SYNQ_C_LISTEN_OVERFLOWS))
		DIE("ACK run: SyncookiesRecv %llu of %u, Failed %llu, ListenOverflows %llu",
		    (unsigned long long)recv, next,
		    (unsigned long long)synq_counter(s, SYNQ_C_SYNCOOKIES_FAILED),
		    (unsigned long long)synq_counter(s, SYNQ_C_LISTEN_OVERFLOWS));
	synq_stack_free(s);
	return (double)total / ACK_MEASURED;
}

static void print_runs(const char *name, const double *v, int n, int count)
{
	printf("# %s: %d runs of %d timed packets (batches of %d), runs:", name, n, count, BATCH);
	for (int r = 0; r < n; r++)
		printf(" %.1f", v[r]);
	printf("\n");
}

/* Optional argument: run one group only (syn, ack), e.g. under perf. */
int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	double v[RUNS];
	if (!only || !strcmp(only, "syn")) {
		for (int r = 0; r < RUNS; r++)
			v[r] = run_syn(r);
		print_runs("cookie_syn_to_synack_ns (tcp_syncookies=2, distinct sources)", v, RUNS,
			   SYN_MEASURED);
		printf("bench: cookie_syn_to_synack_ns %.1f ns\n", median(v, RUNS));
		printf("# target <= 100 ns\n");
	}
	if (!only || !strcmp(only, "ack")) {
		for (int r = 0; r < RUNS; r++)
			v[r] = run_ack(r);
		print_runs("cookie_ack_to_child_ns (valid cookie ACK -> child on the accept queue)", v,
			   RUNS, ACK_MEASURED);
		printf("bench: cookie_ack_to_child_ns %.1f ns\n", median(v, RUNS));
	}
	return 0;
}
