/*
 * bench_engine.c — engine benchmarks: no I/O, one stack fed with packets built by the wire codec.
 *
 * Prints one `bench: NAME VALUE UNIT` line per figure (and '#' context lines):
 *   syn_to_synack_ns           synq_input(SYN) + synq_output(SYN-ACK) with ~100,000 half-open
 *                              requests live on the listener (target <= 120 ns)
 *   handshake_accept_close_ns  server-side engine cost of one connection: SYN, SYN-ACK, ACK,
 *                              accept(), close() (FIN), the peer's FIN|ACK, our last ACK, and the
 *                              TIME-WAIT reaping, amortized (target <= 1000 ns)
 *   halfopen_bytes             bytes per half-open request, from a counting alloc hook and two
 *                              stacks with different net.synq.max_requests (target <= 64)
 *   allocs_per_syn             alloc-hook calls per SYN while SYNs are processed (must be 0)
 *
 * Timed figures are the median of RUNS runs, each on a fresh stack. Virtual time never moves by
 * a second inside a SYN run, so no request timer fires while it is being measured.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_NAME "bench_engine"
#include "bench_util.h"
#include "synq.h"
#include "core/wire.h"

#define RUNS 5
#define SRV_IP 0x0a000001u /* 10.0.0.1 */
#define SRV_PORT 8080

#define SYN_LIVE 100000  /* half-open requests kept live while measuring */
#define SYN_MEASURED 200000
#define SYN_BATCH 1000   /* timed SYNs between two untimed RST batches (live: 100k..101k) */

#define HS_CONNS 100000 /* connections per handshake run */
#define HS_EPOCH 250    /* connections between two TIME-WAIT reapings (max_sockets 1024) */

/* ---- hooks -------------------------------------------------------------------------------- */

struct counting {
	uint64_t allocs, frees;
	size_t live, peak;
};

static void *count_alloc(void *user, size_t size)
{
	struct counting *c = user;
	void *p = calloc(1, size);
	if (p) {
		c->allocs++;
		c->live += size;
		if (c->live > c->peak)
			c->peak = c->live;
	}
	return p;
}

static void count_free(void *user, void *ptr, size_t size)
{
	struct counting *c = user;
	if (!ptr)
		return;
	c->frees++;
	c->live -= size;
	free(ptr);
}

static void base_config(struct synq_config *cfg, struct rng *rng, struct counting *cnt)
{
	synq_config_init(cfg);
	cfg_or_die(cfg, "net.synq.local_addr=10.0.0.1");
	cfg->rand = rng_fill;
	cfg->rand_user = rng;
	cfg->alloc = count_alloc;
	cfg->free = count_free;
	cfg->alloc_user = cnt;
}

static int make_listener(synq_stack *s, int backlog)
{
	int l = synq_socket(s);
	if (l < 0)
		DIE("socket: %d", l);
	int rc = synq_bind(s, l, &(struct synq_addr){SRV_IP, SRV_PORT});
	if (rc)
		DIE("bind: %d", rc);
	rc = synq_listen(s, l, backlog);
	if (rc)
		DIE("listen: %d", rc);
	return l;
}

/* ---- packets from the peers ----------------------------------------------------------------- */
/* Peer i: its own address and port (distinct 4-tuples for every i < 2^24). */
static uint32_t peer_ip(uint32_t base, uint32_t i) { return base + i; }
static uint16_t peer_port(uint32_t i) { return (uint16_t)(1024 + (i * 7919u) % 64000u); }
static uint32_t peer_isn(uint32_t i) { return i * 2654435761u ^ 0x5a5a5a5au; }

static size_t build(uint8_t *buf, size_t cap, uint32_t saddr, uint16_t sport, uint32_t seq,
		    uint32_t ack, uint8_t flags, uint16_t window, const struct synq_opts *opt)
{
	struct synq_seg g;
	memset(&g, 0, sizeof(g));
	g.saddr = saddr;
	g.daddr = SRV_IP;
	g.sport = sport;
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

/* A Linux client's SYN: MSS 1460, SACK_PERM, TS, WS 7 (60 bytes on the wire). */
static size_t build_syn(uint8_t *buf, size_t cap, uint32_t saddr, uint16_t sport, uint32_t isn,
			uint32_t tsval)
{
	struct synq_opts o;
	memset(&o, 0, sizeof(o));
	o.present = OPT_MSS | OPT_SACK_PERM | OPT_TS | OPT_WSCALE;
	o.mss = 1460;
	o.wscale = 7;
	o.tsval = tsval;
	return build(buf, cap, saddr, sport, isn, 0, TCP_SYN, 64240, &o);
}

static size_t build_ack(uint8_t *buf, size_t cap, uint32_t saddr, uint16_t sport, uint32_t seq,
			uint32_t ack, uint8_t flags, uint32_t tsval, uint32_t tsecr)
{
	struct synq_opts o;
	memset(&o, 0, sizeof(o));
	o.present = OPT_TS;
	o.tsval = tsval;
	o.tsecr = tsecr;
	return build(buf, cap, saddr, sport, seq, ack, flags, 502, &o);
}

static int parse_out(const uint8_t *pkt, int n, struct synq_seg *g)
{
	if (n <= 0)
		return -1;
	return wire_parse(pkt, (size_t)n, g) == WIRE_OK ? 0 : -1;
}

/* ---- syn_to_synack_ns, allocs_per_syn ---------------------------------------------------- */
struct syn_result {
	double ns;
	uint64_t syns, allocs;
	uint32_t live_min, live_max;
};

static uint32_t synq_len_of(synq_stack *s, int l)
{
	struct synq_sock_info in;
	if (synq_sock_info(s, l, &in))
		DIE("sock_info");
	return in.synq_len;
}

static void run_syn(int run, uint32_t live_target, struct syn_result *res)
{
	struct rng rng = {0x1234 + (uint64_t)run};
	struct counting cnt = {0};
	struct synq_config cfg;
	base_config(&cfg, &rng, &cnt);
	cfg_or_die(&cfg, "net.core.somaxconn=1000000");
	cfg_or_die(&cfg, "net.ipv4.tcp_max_syn_backlog=1000000");
	cfg_or_die(&cfg, "net.synq.max_requests=200000");
	cfg_or_die(&cfg, "net.synq.max_sockets=16");
	uint64_t now = NS_PER_S;
	synq_stack *s;
	int rc = synq_stack_new(&cfg, now, &s);
	if (rc)
		DIE("stack_new: %d", rc);
	int l = make_listener(s, 500000);

	static uint8_t pkts[SYN_BATCH][64];
	static size_t lens[SYN_BATCH];
	uint8_t out[1600];
	const uint32_t base = 0x0b000000u; /* 11.0.0.0/8 */
	uint64_t allocs0 = cnt.allocs;
	uint32_t next = 0, oldest = 0;

	/* warm up to live_target requests (untimed) */
	for (; next < live_target; next++) {
		size_t n = build_syn(pkts[0], sizeof(pkts[0]), peer_ip(base, next), peer_port(next),
				     peer_isn(next), next);
		if (synq_input(s, pkts[0], n, now) != 0)
			DIE("warm-up input");
		if (synq_output(s, out, sizeof(out), now) <= 0)
			DIE("warm-up: no SYN-ACK");
	}
	if (synq_len_of(s, l) != live_target)
		DIE("warm-up: %u requests live, want %u", synq_len_of(s, l), live_target);

	uint64_t total = 0;
	uint32_t live_min = UINT32_MAX, live_max = 0;
	for (uint32_t done = 0; done < SYN_MEASURED; done += SYN_BATCH) {
		now += 1000; /* 1 us per batch: no request timer gets near its 1 s */
		for (int k = 0; k < SYN_BATCH; k++) {
			uint32_t i = next + (uint32_t)k;
			lens[k] = build_syn(pkts[k], sizeof(pkts[k]), peer_ip(base, i), peer_port(i),
					    peer_isn(i), i);
		}
		int bad = 0;
		uint64_t t0 = mono_ns();
		for (int k = 0; k < SYN_BATCH; k++) {
			bad |= synq_input(s, pkts[k], lens[k], now);
			bad |= synq_output(s, out, sizeof(out), now) <= 0;
		}
		uint64_t t1 = mono_ns();
		total += t1 - t0;
		if (bad)
			DIE("SYN batch: input failed or no SYN-ACK");
		next += SYN_BATCH;
		uint32_t live = synq_len_of(s, l);
		if (live > live_max)
			live_max = live;
		/* untimed: reset the SYN_BATCH oldest requests (B23: in-window RST, nothing sent) */
		for (int k = 0; k < SYN_BATCH; k++, oldest++) {
			uint8_t rst[64];
			size_t n = build(rst, sizeof(rst), peer_ip(base, oldest), peer_port(oldest),
					 peer_isn(oldest) + 1, 0, TCP_RST, 0, NULL);
			if (synq_input(s, rst, n, now) != 0)
				DIE("RST input");
		}
		if (synq_output(s, out, sizeof(out), now) != 0)
			DIE("RST of a request drew an answer");
		live = synq_len_of(s, l);
		if (live < live_min)
			live_min = live;
	}
	uint64_t syns = live_target + SYN_MEASURED;
	if (synq_counter(s, SYNQ_C_LISTEN_DROPS) || synq_counter(s, SYNQ_C_SYNQ_OUT_RING_DROPS) ||
	    synq_counter(s, SYNQ_C_SYNCOOKIES_SENT))
		DIE("SYN run: drops or cookies (ListenDrops %llu, OutRingDrops %llu, Cookies %llu)",
		    (unsigned long long)synq_counter(s, SYNQ_C_LISTEN_DROPS),
		    (unsigned long long)synq_counter(s, SYNQ_C_SYNQ_OUT_RING_DROPS),
		    (unsigned long long)synq_counter(s, SYNQ_C_SYNCOOKIES_SENT));
	res->allocs = cnt.allocs - allocs0;
	res->syns = syns;
	res->ns = (double)total / SYN_MEASURED;
	res->live_min = live_min;
	res->live_max = live_max;
	synq_stack_free(s);
	if (cnt.live || cnt.allocs != cnt.frees)
		DIE("SYN run leaked %zu bytes", cnt.live);
}

/* ---- handshake_accept_close_ns ------------------------------------------------------------ */
/* Two stacks with the same config, seed and inputs behave identically. Stack A (untimed) plays
 * each epoch first, so that the peer's packets (which depend on our ISN and TSvals) can be
 * built from its output; stack B then gets exactly the same calls and is timed: only engine
 * calls are inside the clock. */
struct hs_pkts {
	uint8_t syn[64], ack[64], finack[64];
	size_t syn_len, ack_len, finack_len;
};

struct hs_result {
	double ns, reap_ns;
	uint64_t conns;
};

static synq_stack *hs_stack(struct rng *rng, struct counting *cnt, uint64_t now)
{
	struct synq_config cfg;
	base_config(&cfg, rng, cnt);
	cfg_or_die(&cfg, "net.synq.max_sockets=1024");
	cfg_or_die(&cfg, "net.synq.sock_buf_bytes=65536");
	synq_stack *s;
	int rc = synq_stack_new(&cfg, now, &s);
	if (rc)
		DIE("stack_new: %d", rc);
	return s;
}

static void run_handshake(int run, struct hs_result *res)
{
	struct rng rng_a = {0x777 + (uint64_t)run}, rng_b = rng_a;
	struct counting cnt_a = {0}, cnt_b = {0};
	uint64_t now = NS_PER_S;
	synq_stack *a = hs_stack(&rng_a, &cnt_a, now), *b = hs_stack(&rng_b, &cnt_b, now);
	int la = make_listener(a, 4096), lb = make_listener(b, 4096);
	if (la != lb)
		DIE("listener fds differ");

	static struct hs_pkts P[HS_EPOCH];
	uint8_t out[1600];
	const uint32_t base = 0x0c000000u; /* 12.0.0.0/8 */
	uint64_t total = 0, reap = 0;
	uint32_t id = 0;
	struct synq_seg g;

	for (uint32_t done = 0; done < HS_CONNS; done += HS_EPOCH) {
		now += 1000;
		/* A: play the epoch, building the peer's packets from the server's answers */
		for (int k = 0; k < HS_EPOCH; k++, id++) {
			struct hs_pkts *p = &P[k];
			uint32_t ip = peer_ip(base, id), isn = peer_isn(id);
			uint16_t port = peer_port(id);
			p->syn_len = build_syn(p->syn, sizeof(p->syn), ip, port, isn, 1000);
			synq_input(a, p->syn, p->syn_len, now);
			if (parse_out(out, synq_output(a, out, sizeof(out), now), &g) ||
			    g.flags != (TCP_SYN | TCP_ACK))
				DIE("handshake: no SYN-ACK");
			uint32_t srv_isn = g.seq, srv_ts = g.opt.tsval;
			p->ack_len = build_ack(p->ack, sizeof(p->ack), ip, port, isn + 1, srv_isn + 1,
					       TCP_ACK, 1001, srv_ts);
			synq_input(a, p->ack, p->ack_len, now);
			if (synq_output(a, out, sizeof(out), now) != 0)
				DIE("handshake: answer to the final ACK");
			int fd = synq_accept(a, la, NULL);
			if (fd < 0)
				DIE("handshake: accept %d", fd);
			synq_close(a, fd, now);
			if (parse_out(out, synq_output(a, out, sizeof(out), now), &g) ||
			    g.flags != (TCP_FIN | TCP_ACK))
				DIE("handshake: no FIN after close");
			p->finack_len = build_ack(p->finack, sizeof(p->finack), ip, port, isn + 1,
						  g.seq + 1, TCP_FIN | TCP_ACK, 1002, g.opt.tsval);
			synq_input(a, p->finack, p->finack_len, now);
			if (parse_out(out, synq_output(a, out, sizeof(out), now), &g) ||
			    g.flags != TCP_ACK)
				DIE("handshake: no last ACK");
			if (synq_output(a, out, sizeof(out), now) != 0)
				DIE("handshake: extra packet");
		}
		uint64_t reap_at = now + 61 * NS_PER_S;
		synq_on_timeout(a, reap_at);
		while (synq_output(a, out, sizeof(out), reap_at) > 0)
			;

		/* B: the same calls, timed */
		int bad = 0;
		uint64_t t0 = mono_ns();
		for (int k = 0; k < HS_EPOCH; k++) {
			const struct hs_pkts *p = &P[k];
			bad |= synq_input(b, p->syn, p->syn_len, now);
			bad |= synq_output(b, out, sizeof(out), now) <= 0;
			bad |= synq_input(b, p->ack, p->ack_len, now);
			bad |= synq_output(b, out, sizeof(out), now);
			int fd = synq_accept(b, lb, NULL);
			bad |= fd < 0;
			bad |= synq_close(b, fd, now);
			bad |= synq_output(b, out, sizeof(out), now) <= 0;
			bad |= synq_input(b, p->finack, p->finack_len, now);
			bad |= synq_output(b, out, sizeof(out), now) <= 0;
		}
		uint64_t t1 = mono_ns();
		synq_on_timeout(b, reap_at);
		while (synq_output(b, out, sizeof(out), reap_at) > 0)
			;
		uint64_t t2 = mono_ns();
		total += t2 - t0;
		reap += t2 - t1;
		if (bad)
			DIE("handshake replay diverged");
		now = reap_at;
	}
	/* B must have done exactly what A did: every connection through TIME-WAIT, no RST */
	for (int c = 0; c < SYNQ_COUNTER_COUNT; c++)
		if (synq_counter(a, c) != synq_counter(b, c))
			DIE("handshake: counter %s differs", synq_counter_name(c));
	if (synq_counter(b, SYNQ_C_TCP_PASSIVE_OPENS) != HS_CONNS ||
	    synq_counter(b, SYNQ_C_TW) != HS_CONNS || synq_counter(b, SYNQ_C_TCP_OUT_RSTS) ||
	    synq_sock_next(b, lb) != -1)
		DIE("handshake: PassiveOpens %llu TW %llu OutRsts %llu",
		    (unsigned long long)synq_counter(b, SYNQ_C_TCP_PASSIVE_OPENS),
		    (unsigned long long)synq_counter(b, SYNQ_C_TW),
		    (unsigned long long)synq_counter(b, SYNQ_C_TCP_OUT_RSTS));
	res->ns = (double)total / HS_CONNS;
	res->reap_ns = (double)reap / HS_CONNS;
	res->conns = HS_CONNS;
	synq_stack_free(a);
	synq_stack_free(b);
	if (cnt_a.live || cnt_b.live)
		DIE("handshake run leaked");
}

/* ---- halfopen_bytes ------------------------------------------------------------------------- */
static size_t stack_bytes(int64_t max_requests)
{
	struct rng rng = {1};
	struct counting cnt = {0};
	struct synq_config cfg;
	char a[64];
	base_config(&cfg, &rng, &cnt);
	snprintf(a, sizeof(a), "net.synq.max_requests=%lld", (long long)max_requests);
	cfg_or_die(&cfg, a);
	synq_stack *s;
	int rc = synq_stack_new(&cfg, 0, &s);
	if (rc)
		DIE("stack_new(%s): %d", a, rc);
	size_t bytes = cnt.live;
	if (bytes != synq_stack_memory(s))
		printf("# note: alloc hook counted %zu bytes, synq_stack_memory says %zu\n", bytes,
		       synq_stack_memory(s));
	synq_stack_free(s);
	if (cnt.live)
		DIE("stack_free left %zu bytes", cnt.live);
	return bytes;
}

static double halfopen_bytes(int64_t small, int64_t big)
{
	size_t bs = stack_bytes(small), bb = stack_bytes(big);
	return ((double)bb - (double)bs) / (double)(big - small);
}

static void bench_syn(uint64_t *allocs, uint64_t *syns)
{
	struct syn_result sr[RUNS];
	double v[RUNS];
	uint32_t live_min = UINT32_MAX, live_max = 0;
	for (int r = 0; r < RUNS; r++) {
		run_syn(r, SYN_LIVE, &sr[r]);
		v[r] = sr[r].ns;
		*allocs += sr[r].allocs;
		*syns += sr[r].syns;
		if (sr[r].live_min < live_min)
			live_min = sr[r].live_min;
		if (sr[r].live_max > live_max)
			live_max = sr[r].live_max;
	}
	printf("# syn_to_synack_ns: %d runs of %d timed SYNs (batches of %d), %u..%u requests "
	       "live, runs:",
	       RUNS, SYN_MEASURED, SYN_BATCH, live_min, live_max);
	for (int r = 0; r < RUNS; r++)
		printf(" %.1f", v[r]);
	printf("\n");
	printf("bench: syn_to_synack_ns %.1f ns\n", median(v, RUNS));
	printf("# target <= 120 ns\n");
	/* context: the same with a SYN queue that stays in cache */
	for (int r = 0; r < 3; r++) {
		run_syn(r, 1000, &sr[r]);
		v[r] = sr[r].ns;
		*allocs += sr[r].allocs;
		*syns += sr[r].syns;
	}
	printf("# syn_to_synack_ns with 1000..%u requests live instead: %.1f ns\n",
	       1000 + SYN_BATCH, median(v, 3));
}

static void bench_handshake(void)
{
	struct hs_result hr[RUNS];
	double v[RUNS], reap[RUNS];
	for (int r = 0; r < RUNS; r++) {
		run_handshake(r, &hr[r]);
		v[r] = hr[r].ns;
		reap[r] = hr[r].reap_ns;
	}
	printf("# handshake_accept_close_ns: %d runs of %d connections (SYN, SYN-ACK, ACK, accept, "
	       "close/FIN, FIN|ACK, ACK, TIME-WAIT reaped every %d), runs:",
	       RUNS, HS_CONNS, HS_EPOCH);
	for (int r = 0; r < RUNS; r++)
		printf(" %.1f", v[r]);
	printf("\n# of which TIME-WAIT reaping (synq_on_timeout): %.1f ns\n", median(reap, RUNS));
	printf("bench: handshake_accept_close_ns %.1f ns\n", median(v, RUNS));
	printf("# target <= 1000 ns\n");
}

static void bench_mem(void)
{
	/* pool sizes that are powers of two (the request hash has one bucket per request there);
	 * other sizes round the bucket table up, shown as context */
	double hb = halfopen_bytes(65536, 131072);
	printf("# halfopen_bytes: max_requests 65536 -> 131072 (alloc hook bytes); 100000 -> 200000 "
	       "gives %.2f (hash buckets rounded up to a power of two)\n",
	       halfopen_bytes(100000, 200000));
	printf("bench: halfopen_bytes %.2f bytes\n", hb);
	printf("# target <= 64\n");
}

/* Optional argument: run one group only (syn, handshake, mem), e.g. under perf. */
int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	uint64_t allocs = 0, syns = 0;
	if (!only || !strcmp(only, "syn"))
		bench_syn(&allocs, &syns);
	if (!only || !strcmp(only, "handshake"))
		bench_handshake();
	if (!only || !strcmp(only, "mem"))
		bench_mem();
	if (syns) {
		printf("# allocs_per_syn: %llu alloc-hook calls over %llu SYNs (and their RSTs)\n",
		       (unsigned long long)allocs, (unsigned long long)syns);
		printf("bench: allocs_per_syn %.3f allocs\n", (double)allocs / (double)syns);
		printf("# target = 0\n");
	}
	return allocs ? 1 : 0;
}
