/*
 * test_kernel_truth.c — the classic listen-queue experiments replayed on the virtual network and
 * compared with what Linux 6.18.44 did in the same setup (../shared/kernel-truth, extracted into
 * tests/scenario/kernel/<S>.golden by extract.py).
 *
 * Topology as the harness: server 10.77.0.1:8080, clients 10.77.0.2 with fixed ports, client->
 * server delay 50 ms (NFQUEUE in the harness), server->client 0. Each client connects at the time
 * its SYN reached the kernel's server minus that delay.
 *
 * Compared, per flow (client port): the server's packets (flags, relative seq/ack, length, in
 * order) and their times relative to the flow's first SYN; the number of SYNs the client sent;
 * the counters of both sides; the errors the client applications saw. Kernel timers run late on
 * the timer wheel (SPEC §7: up to +2 s on the 32 s step, accumulating), synq's are exact, so a
 * kernel time may be later than synq's by 4.5 % + 70 ms, and earlier by at most 15 ms (client
 * process scheduling in the harness).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synq.h"
#include "core/wire.h"
#include "drivers/vnet.h"
#include "golden.h"

#define MS 1000000ull
/* golden time 0. The minute counter of SYN cookies (B33) then turns at golden 3 s, 63 s, ...:
 * the kernel's own phase is unknown, but S4 bounds it (its cookie validated at 34 s and failed at
 * 66.5 s after a mint at 1 s: a boundary in (1 s, 7.5 s]) */
#define BASE (57000 * MS)
#define SRV_IP 0x0a4d0001u
#define CLI_IP 0x0a4d0002u
#define MAXP 512
#define MAXF 16

struct pkt {
	double t;
	int cs; /* 1: C>S */
	int port;
	char flags[8];
	long seq, ack; /* ack -1: none */
	long len;
};

struct scen {
	const char *name;
	int backlog;
	const char *srv_set[4];
	const char *cli_set[4];
	int delay_ms;
	double accept_at_ms; /* < 0: never */
	int accept_max;      /* 0: no limit */
	int send_bytes;      /* burst clients write right after connect */
	double late_send_ms; /* burst clients write 1 byte at this golden time (< 0: never) */
	int ka_idle, ka_intvl, ka_cnt;
	int syncnt;       /* TCP_SYNCNT of the late client (port 40021) */
	int read_at_once; /* burst clients read right after connect (S2) */
	double run_ms;
	const char *skip[8]; /* counters not compared (reason at the scenario) */
};

/* ---- the synq run ---------------------------------------------------------------------------- */
struct run {
	const struct scen *sc;
	struct vnet *net;
	synq_stack *srv, *cli;
	int srv_node;
	int lfd;
	struct pkt p[MAXP * 4];
	int np;
	struct {
		int port, fd;
		double connect_ms;
		int wrote, late_wrote, read_done;
		int err;        /* first error the app saw (positive errno) */
		double err_ms;  /* when */
		int state;
		int burst;
	} f[MAXF];
	int nf;
	uint32_t cisn[65536 / 64], sisn[65536 / 64]; /* indexed by port - 40000 */
	int have_c[65536 / 64], have_s[65536 / 64];
	int accepted;
	double accept_ms[MAXF];
	int accept_port[MAXF];
};

static uint64_t seed_s, seed_c;
static void rnd(void *user, void *buf, size_t len)
{
	uint64_t *st = user;
	uint8_t *p = buf;
	while (len--) {
		*st = *st * 6364136223846793005ull + 1442695040888963407ull;
		*p++ = (uint8_t)(*st >> 56);
	}
}


static void tap(void *user, int event, int from, int to, const uint8_t *pkt, size_t len,
		uint64_t t)
{
	struct run *r = user;
	int cs = event == VNET_DELIVERED && to == r->srv_node;
	int sc = event == VNET_SENT && from == r->srv_node;
	if ((!cs && !sc) || r->np == (int)(sizeof(r->p) / sizeof(r->p[0])))
		return;
	struct synq_seg g;
	if (wire_parse(pkt, len, &g) != WIRE_OK)
		return;
	int port = cs ? g.sport : g.dport;
	int k = port - 40000;
	if (k < 0 || k >= 1024)
		return;
	struct pkt *p = &r->p[r->np++];
	p->t = ((double)t - (double)BASE) / 1e6;
	p->cs = cs;
	p->port = port;
	char *f = p->flags;
	if (g.flags & TCP_SYN) *f++ = 'S';
	if (g.flags & TCP_FIN) *f++ = 'F';
	if (g.flags & TCP_RST) *f++ = 'R';
	if (g.flags & TCP_PSH) *f++ = 'P';
	if (g.flags & TCP_ACK) *f++ = '.';
	*f = 0;
	if (cs && (g.flags & TCP_SYN) && !r->have_c[k]) {
		r->cisn[k] = g.seq;
		r->have_c[k] = 1;
	}
	if (!cs && (g.flags & TCP_SYN) && !r->have_s[k]) {
		r->sisn[k] = g.seq;
		r->have_s[k] = 1;
	}
	uint32_t my = cs ? r->cisn[k] : r->sisn[k], other = cs ? r->sisn[k] : r->cisn[k];
	p->seq = (long)(uint32_t)(g.seq - my);
	p->ack = (g.flags & TCP_ACK) ? (long)(uint32_t)(g.ack - other) : -1;
	p->len = g.len;
}

static void app(void *user, struct vnet *net, uint64_t t)
{
	struct run *r = user;
	const struct scen *sc = r->sc;
	double ms = ((double)t - (double)BASE) / 1e6;
	/* server: accept policy */
	if (sc->accept_at_ms >= 0 && ms >= sc->accept_at_ms) {
		while (!sc->accept_max || r->accepted < sc->accept_max) {
			struct synq_addr peer;
			int c = synq_accept(r->srv, r->lfd, &peer);
			if (c < 0)
				break;
			if (r->accepted < MAXF) {
				r->accept_ms[r->accepted] = ms;
				r->accept_port[r->accepted] = peer.port;
			}
			r->accepted++;
		}
	}
	/* clients */
	for (int i = 0; i < r->nf; i++) {
		if (r->f[i].fd < 0)
			continue;
		int fd = r->f[i].fd;
		int ev = synq_poll(r->cli, fd);
		struct synq_sock_info in;
		synq_sock_info(r->cli, fd, &in);
		int est = in.state == SYNQ_TCP_ESTABLISHED;
		if (r->f[i].burst && est && sc->send_bytes && !r->f[i].wrote) {
			char buf[1000];
			memset(buf, 'x', sizeof(buf));
			assert_int_equal(synq_write(r->cli, fd, buf, (size_t)sc->send_bytes, t),
					 sc->send_bytes);
			r->f[i].wrote = 1;
		}
		if (r->f[i].burst && sc->late_send_ms >= 0 && ms >= sc->late_send_ms &&
		    !r->f[i].late_wrote && !r->f[i].err) {
			long n = synq_write(r->cli, fd, "x", 1, t);
			r->f[i].late_wrote = 1;
			if (n < 0 && !r->f[i].err) {
				r->f[i].err = (int)-n;
				r->f[i].err_ms = ms;
			}
		}
		if ((ev & SYNQ_POLLERR) || (r->f[i].burst && sc->read_at_once && est)) {
			char b[16];
			long n = synq_read(r->cli, fd, b, sizeof(b), t);
			if (n < 0 && n != -EAGAIN && !r->f[i].err) {
				r->f[i].err = (int)-n;
				r->f[i].err_ms = ms;
			}
		}
	}
}

static void add_client(struct run *r, int port, double at_ms, int burst)
{
	vnet_run_until(r->net, BASE + (uint64_t)((at_ms + 10000.0) * MS) - 10000 * MS);
	int i = r->nf++;
	assert_true(i < MAXF);
	r->f[i].port = port;
	r->f[i].burst = burst;
	r->f[i].connect_ms = at_ms;
	int fd = synq_socket(r->cli);
	assert_true(fd >= 0);
	r->f[i].fd = fd;
	struct synq_addr a = {CLI_IP, (uint16_t)port};
	assert_int_equal(synq_bind(r->cli, fd, &a), 0);
	if (port == 40021 && r->sc->syncnt)
		assert_int_equal(synq_setsockopt(r->cli, fd, SYNQ_IPPROTO_TCP, SYNQ_TCP_SYNCNT,
						 &r->sc->syncnt, sizeof(int)), 0);
	if (burst && r->sc->ka_idle) {
		int one = 1;
		synq_setsockopt(r->cli, fd, SYNQ_SOL_SOCKET, SYNQ_SO_KEEPALIVE, &one, sizeof(one));
		synq_setsockopt(r->cli, fd, SYNQ_IPPROTO_TCP, SYNQ_TCP_KEEPIDLE, &r->sc->ka_idle,
				sizeof(int));
		synq_setsockopt(r->cli, fd, SYNQ_IPPROTO_TCP, SYNQ_TCP_KEEPINTVL, &r->sc->ka_intvl,
				sizeof(int));
		synq_setsockopt(r->cli, fd, SYNQ_IPPROTO_TCP, SYNQ_TCP_KEEPCNT, &r->sc->ka_cnt,
				sizeof(int));
	}
	struct synq_addr s = {SRV_IP, 8080};
	assert_int_equal(synq_connect(r->cli, fd, &s, vnet_now(r->net)), -EINPROGRESS);
}

static synq_stack *mkstack(uint32_t ip, const char *const *set, uint64_t *seed)
{
	struct synq_config cfg;
	synq_config_init(&cfg);
	cfg.local_addrs[0] = ip;
	cfg.n_local_addrs = 1;
	synq_config_set(&cfg, "net.synq.max_sockets=64");
	synq_config_set(&cfg, "net.synq.max_requests=256");
	for (; set && *set; set++)
		assert_int_equal(synq_config_set(&cfg, *set), 0);
	cfg.rand = rnd;
	cfg.rand_user = seed;
	synq_stack *s;
	assert_int_equal(synq_stack_new(&cfg, BASE - 1000 * MS, &s), 0);
	return s;
}

static void run_scenario(struct run *r, const struct scen *sc, const struct golden *g)
{
	memset(r, 0, sizeof(*r));
	r->sc = sc;
	seed_s = 1;
	seed_c = 2;
	r->srv = mkstack(SRV_IP, sc->srv_set, &seed_s);
	r->cli = mkstack(CLI_IP, sc->cli_set, &seed_c);
	r->net = vnet_new(BASE - 1000 * MS);
	assert_non_null(r->net);
	r->srv_node = vnet_add(r->net, r->srv, "srv");
	int cn = vnet_add(r->net, r->cli, "cli");
	vnet_link(r->net, cn, r->srv_node, (uint64_t)sc->delay_ms * MS, 0);
	vnet_set_tap(r->net, tap, r);
	vnet_set_app(r->net, app, r);
	r->lfd = synq_socket(r->srv);
	struct synq_addr la = {SRV_IP, 8080};
	assert_int_equal(synq_bind(r->srv, r->lfd, &la), 0);
	assert_int_equal(synq_listen(r->srv, r->lfd, sc->backlog), 0);

	/* clients connect when their first SYN reached the kernel's server, minus the delay */
	/* A burst is simultaneous: the harness' processes spread its SYNs over ~0.2 ms, within one
	 * timer-wheel granule of the kernel, where request timers fire last-armed first (see
	 * synq_int.h); so the burst clients connect at the same instant here. */
	int seen[1024] = {0};
	double burst_t = -1;
	for (int i = 0; i < g->np; i++) {
		const struct golden_pkt *p = &g->p[i];
		if (!p->cs || strcmp(p->flags, "S") || seen[p->port - 40000])
			continue;
		seen[p->port - 40000] = 1;
		double t = p->t - sc->delay_ms;
		if (p->port >= 40011 && p->port < 40021) {
			if (burst_t < 0)
				burst_t = t;
			if (t - burst_t < 5.0)
				t = burst_t;
		}
		add_client(r, p->port, t, p->port >= 40011);
	}
	/* application actions at fixed times (accept start, late writes): step there, act */
	double at[2] = {sc->accept_at_ms, sc->late_send_ms};
	for (int i = 0; i < 2; i++) {
		if (at[i] < 0)
			continue;
		assert_true(vnet_run_until(r->net, BASE + (uint64_t)(at[i] * 1e6)) >= 0);
		app(r, r->net, vnet_now(r->net));
	}
	int rc = vnet_run_until(r->net, BASE + (uint64_t)(sc->run_ms * 1e6));
	assert_true(rc >= 0);
	for (int i = 0; i < r->nf; i++) {
		struct synq_sock_info in;
		if (synq_sock_info(r->cli, r->f[i].fd, &in) == 0)
			r->f[i].state = in.state;
	}
}

static void free_run(struct run *r)
{
	vnet_free(r->net);
	synq_stack_free(r->srv);
	synq_stack_free(r->cli);
}

/* ---- comparison -------------------------------------------------------------------------------- */
static double first_syn(const struct pkt *p, int n, int port)
{
	for (int i = 0; i < n; i++)
		if (p[i].port == port && p[i].cs && p[i].flags[0] == 'S')
			return p[i].t;
	return -1;
}

static int wheel_mode; /* net.synq.timer_hz=250: both sides are late the same way */

static int late_ok(double kernel_rel, double synq_rel)
{
	return golden_time_ok(kernel_rel, synq_rel, wheel_mode);
}

static int skipped(const struct scen *sc, const char *name)
{
	for (int i = 0; i < 8 && sc->skip[i]; i++)
		if (!strcmp(sc->skip[i], name))
			return 1;
	return 0;
}

static void compare(const struct scen *sc, const struct golden *g, struct run *r)
{
	int errors = 0;
	char msg[4096];
	size_t m = 0;
#define FAIL(...)                                                                                  \
	do {                                                                                       \
		errors++;                                                                          \
		if (m < sizeof(msg) - 200)                                                         \
			m += (size_t)snprintf(msg + m, sizeof(msg) - m, __VA_ARGS__);              \
	} while (0)
	for (int fi = 0; fi < r->nf; fi++) {
		int port = r->f[fi].port;
		double k0 = golden_first_syn(g, port), s0 = first_syn(r->p, r->np, port);
		/* the server's packets, in order */
		int ki = 0, si = 0, ksyn = 0, ssyn = 0;
		for (;;) {
			while (ki < g->np && (g->p[ki].port != port || g->p[ki].cs))
				ki++;
			while (si < r->np && (r->p[si].port != port || r->p[si].cs))
				si++;
			if (ki >= g->np && si >= r->np)
				break;
			if (ki >= g->np || si >= r->np) {
				const char *xf = ki < g->np ? g->p[ki].flags : r->p[si].flags;
				double xt = ki < g->np ? g->p[ki].t - k0 : r->p[si].t - s0;
				FAIL("  :%d %s has an extra S>C [%s] at %.1f ms\n", port,
				     ki < g->np ? "kernel" : "synq", xf, xt);
				break;
			}
			const struct golden_pkt *k = &g->p[ki];
			const struct pkt *s = &r->p[si];
			if (strcmp(k->flags, s->flags) || k->seq != s->seq || k->ack != s->ack ||
			    k->len != s->len)
				FAIL("  :%d S>C kernel [%s] %ld/%ld len %ld, synq [%s] %ld/%ld len %ld\n",
				     port, k->flags, k->seq, k->ack, k->len, s->flags, s->seq, s->ack,
				     s->len);
			else if (!late_ok(k->t - k0, s->t - s0))
				FAIL("  :%d S>C [%s] kernel at +%.1f ms, synq at +%.1f ms\n", port,
				     k->flags, k->t - k0, s->t - s0);
			ki++;
			si++;
		}
		/* the client's SYNs */
		double klast = 0, slast = 0;
		for (int i = 0; i < g->np; i++)
			if (g->p[i].port == port && g->p[i].cs && !strcmp(g->p[i].flags, "S")) {
				ksyn++;
				klast = g->p[i].t - k0;
			}
		for (int i = 0; i < r->np; i++)
			if (r->p[i].port == port && r->p[i].cs && !strcmp(r->p[i].flags, "S")) {
				ssyn++;
				slast = r->p[i].t - s0;
			}
		if (ksyn != ssyn)
			FAIL("  :%d kernel client sent %d SYNs, synq %d\n", port, ksyn, ssyn);
		else if (!late_ok(klast, slast))
			FAIL("  :%d last SYN kernel +%.1f ms, synq +%.1f ms\n", port, klast, slast);
	}
	/* counters */
	for (int i = 0; i < g->nc; i++) {
		if (skipped(sc, g->c[i].name))
			continue;
		synq_stack *st = !strcmp(g->c[i].side, "srv") ? r->srv : r->cli;
		uint64_t v = 0;
		if (synq_counter_by_name(st, g->c[i].name, &v) != 0)
			continue;
		if ((long)v != g->c[i].v)
			FAIL("  %s %s: kernel %ld, synq %llu\n", g->c[i].side, g->c[i].name, g->c[i].v,
			     (unsigned long long)v);
	}
	/* application events: errors the clients saw, connect failures, accepts */
	for (int i = 0; i < g->nev; i++) {
		int port = 0, err = 0;
		const char *lp = strstr(g->ev[i], "lport=");
		const char *ep = strstr(g->ev[i], "errno=");
		if (lp)
			port = atoi(lp + 6);
		if (ep)
			err = atoi(ep + 6);
		if (!strncmp(g->ev[i], "READ_ERR", 8) || !strncmp(g->ev[i], "CONNECT_FAIL", 12)) {
			int found = 0;
			for (int fi = 0; fi < r->nf; fi++) {
				if (r->f[fi].port != port)
					continue;
				found = 1;
				double kr = g->ev_t[i] - golden_first_syn(g, port);
				double sr = r->f[fi].err_ms - first_syn(r->p, r->np, port);
				if (r->f[fi].err != err)
					FAIL("  :%d kernel app saw errno %d, synq %d\n", port, err,
					     r->f[fi].err);
				else if (!late_ok(kr, sr))
					FAIL("  :%d errno %d: kernel at +%.1f ms, synq +%.1f ms\n", port,
					     err, kr, sr);
			}
			if (!found)
				FAIL("  :%d no such client\n", port);
		}
	}
	int kacc = 0;
	for (int i = 0; i < g->nev; i++)
		if (!strncmp(g->ev[i], "ACCEPTED", 8))
			kacc++;
	if (sc->accept_at_ms >= 0 && kacc != r->accepted)
		FAIL("  kernel server accepted %d connections, synq %d\n", kacc, r->accepted);
	if (errors)
		fail_msg("%s: %d differences from the kernel:\n%s", sc->name, errors, msg);
}

static void check(const struct scen *sc)
{
	static struct golden g;
	static struct run r;
	wheel_mode = 0;
	for (int i = 0; i < 4 && sc->srv_set[i]; i++)
		if (!strcmp(sc->srv_set[i], "net.synq.timer_hz=250"))
			wheel_mode = 1;
	golden_load(&g, sc->name);
	run_scenario(&r, sc, &g);
	compare(sc, &g, &r);
	free_run(&r);
}

/* ---- the scenarios ------------------------------------------------------------------------------ */
/* S0: accept-queue capacity against backlog and somaxconn (kernel-truth out/S0/capacity.txt):
 * K = min(backlog, somaxconn) + 3 clients connect 200 ms apart (TCP_SYNCNT 1) to a server that
 * never accepts; looked at 0.2 K + 0.6 s later */
static void test_S0_capacity(void **state)
{
	static const struct {
		int backlog, somaxconn;
		unsigned recvq, sendq;
		int estab, synsent;
	} k[] = {
	    {0, 4096, 1, 0, 1, 2}, {1, 4096, 2, 1, 2, 2}, {2, 4096, 3, 2, 3, 2}, {5, 4096, 6, 5, 6, 2},
	    {10, 3, 4, 3, 4, 2},   {-1, 3, 4, 3, 4, 2},   {0, 0, 1, 0, 1, 2},
	};
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		char som[64];
		snprintf(som, sizeof(som), "net.core.somaxconn=%d", k[i].somaxconn);
		const char *sset[] = {som, NULL};
		seed_s = 1;
		seed_c = 2;
		synq_stack *srv = mkstack(SRV_IP, sset, &seed_s), *cli = mkstack(CLI_IP, NULL, &seed_c);
		struct vnet *net = vnet_new(BASE - 1000 * MS);
		int sn = vnet_add(net, srv, "srv"), cn = vnet_add(net, cli, "cli");
		vnet_link(net, cn, sn, 0, 0);
		int l = synq_socket(srv);
		struct synq_addr la = {SRV_IP, 8080};
		synq_bind(srv, l, &la);
		assert_int_equal(synq_listen(srv, l, k[i].backlog), 0);
		unsigned eff = (unsigned)k[i].backlog > (unsigned)k[i].somaxconn ? (unsigned)k[i].somaxconn
										: (unsigned)k[i].backlog;
		int n = (int)eff + 3, fds[16], one = 1;
		for (int c = 0; c < n; c++) {
			vnet_run_until(net, BASE + (uint64_t)c * 200 * MS);
			fds[c] = synq_socket(cli);
			synq_setsockopt(cli, fds[c], SYNQ_IPPROTO_TCP, SYNQ_TCP_SYNCNT, &one, sizeof(one));
			struct synq_addr sa = {SRV_IP, 8080};
			synq_connect(cli, fds[c], &sa, vnet_now(net));
		}
		vnet_run_until(net, BASE + (uint64_t)(200 * n + 600) * MS);
		struct synq_sock_info in;
		synq_sock_info(srv, l, &in);
		int est = 0, ss = 0;
		for (int c = 0; c < n; c++) {
			struct synq_sock_info ci;
			synq_sock_info(cli, fds[c], &ci);
			est += ci.state == SYNQ_TCP_ESTABLISHED;
			ss += ci.state == SYNQ_TCP_SYN_SENT;
		}
		if (in.recvq != k[i].recvq || in.sendq != k[i].sendq || est != k[i].estab ||
		    ss != k[i].synsent)
			fail_msg("listen(%d) somaxconn %d: kernel %u/%u %d ESTAB %d SYN-SENT, synq %u/%u "
				 "%d ESTAB %d SYN-SENT",
				 k[i].backlog, k[i].somaxconn, k[i].recvq, k[i].sendq, k[i].estab,
				 k[i].synsent, in.recvq, in.sendq, est, ss);
		vnet_free(net);
		synq_stack_free(srv);
		synq_stack_free(cli);
	}
}

/* S1: listen(2), never accept; 2 fill clients, then a burst of 4: one queued, two overflowed
 * requests (SYN-ACKs at 1, 3, 7, 15, 31 s, gone at 63 s), one cookie connection */
static void test_S1(void **state)
{
	struct scen sc = {.name = "S1", .backlog = 2, .delay_ms = 50, .accept_at_ms = -1,
			  .late_send_ms = -1, .run_ms = 70000};
	check(&sc);
}

/* S1 again with the server's timers on Linux's HZ=250 timer wheel (net.synq.timer_hz=250):
 * the SYN-ACK gaps and the expiry then carry the kernel's own lateness (1.016, 2.016, 4.03-4.16,
 * 8.192, 16.128 s; gone ~33 s after the last SYN-ACK), up to the unknown jiffies phase */
static void test_S1_wheel(void **state)
{
	struct scen sc = {.name = "S1", .backlog = 2, .delay_ms = 50, .accept_at_ms = -1,
			  .late_send_ms = -1, .run_ms = 70000,
			  .srv_set = {"net.synq.timer_hz=250"}};
	check(&sc);
}

static void test_S1_short(void **state)
{
	struct scen sc = {.name = "S1-short", .backlog = 2, .delay_ms = 50, .accept_at_ms = -1,
			  .late_send_ms = -1, .run_ms = 13000,
			  .srv_set = {"net.ipv4.tcp_synack_retries=2"}};
	check(&sc);
}

/* S1-prune: listen(5), fill 5, burst 6: B13 cuts one request's retries to 2 */
static void test_S1_prune(void **state)
{
	struct scen sc = {.name = "S1-prune", .backlog = 5, .delay_ms = 50, .accept_at_ms = -1,
			  .late_send_ms = -1, .run_ms = 70000};
	check(&sc);
}

/* S2: tcp_abort_on_overflow = 1: RST right after the final ACK; read ECONNRESET; the cookie
 * connection gets no RST */
static void test_S2(void **state)
{
	struct scen sc = {.name = "S2", .backlog = 2, .delay_ms = 50, .accept_at_ms = -1,
			  .late_send_ms = -1, .run_ms = 6000, .read_at_once = 1,
			  .srv_set = {"net.ipv4.tcp_abort_on_overflow=1"}};
	check(&sc);
}

/* S3: the server starts accept()ing at 6.0 s: the overflowed requests complete on the challenge
 * ACK to the next SYN-ACK retransmission */
static void test_S3(void **state)
{
	struct scen sc = {.name = "S3", .backlog = 2, .delay_ms = 50, .accept_at_ms = 6009.425,
			  .late_send_ms = -1, .run_ms = 20000};
	check(&sc);
}

/* S3-data: the clients write 100 bytes at once; accept() from 4.3 s: the pending connections
 * (the cookie one included) complete on the client's data retransmission */
static void test_S3_data(void **state)
{
	struct scen sc = {.name = "S3-data", .backlog = 2, .delay_ms = 50, .accept_at_ms = 4308.685,
			  .send_bytes = 100, .late_send_ms = -1, .run_ms = 20000,};
	check(&sc);
}

/* S4-short: the overflowed clients write 100 bytes, the server never accepts: data dropped
 * until the requests expire (7 s), then RST, ECONNRESET */
static void test_S4_short(void **state)
{
	struct scen sc = {.name = "S4-short", .backlog = 2, .delay_ms = 50, .accept_at_ms = -1,
			  .send_bytes = 100, .late_send_ms = -1, .run_ms = 28000,
			  .srv_set = {"net.ipv4.tcp_synack_retries=2"}};
	check(&sc);
}

static void test_S4(void **state)
{
	struct scen sc = {.name = "S4", .backlog = 2, .delay_ms = 50, .accept_at_ms = -1,
			  .send_bytes = 100, .late_send_ms = -1, .run_ms = 140000,};
	check(&sc);
}

/* S5-short: silent clients outlive the forgotten requests; a write at 41 s draws RST */
static void test_S5_short(void **state)
{
	struct scen sc = {.name = "S5-short", .backlog = 2, .delay_ms = 50, .accept_at_ms = -1,
			  .late_send_ms = 40992.458, .run_ms = 46000,
			  .srv_set = {"net.ipv4.tcp_synack_retries=2"}};
	check(&sc);
}

/* S5: the same, the write at 170 s: the last cookie is more than 120 s old, so the stray ACKs
 * get their RST without a cookie check (SyncookiesFailed stays 0, B32) */
static void test_S5(void **state)
{
	struct scen sc = {.name = "S5", .backlog = 2, .delay_ms = 50, .accept_at_ms = -1,
			  .late_send_ms = 171033.991, .run_ms = 175000,
			  .srv_set = {"net.ipv4.tcp_synack_retries=2"}};
	check(&sc);
}

/* S5-keepalive: keepalive probes (idle 10 s) find the forgotten connections and get RST */
static void test_S5_keepalive(void **state)
{
	struct scen sc = {.name = "S5-keepalive", .backlog = 2, .delay_ms = 50, .accept_at_ms = -1,
			  .late_send_ms = 41016.952, .run_ms = 45000, .ka_idle = 10, .ka_intvl = 5,
			  /* the server's ACK of the late byte: Linux keeps advertising rcv_ssthresh
			   * (its buffer is far larger), so the client takes the fast path (TCPHPAcks);
			   * synq advertises its free space, one byte less, so the client counts a
			   * TCPPureAck. A Linux-like rcv_ssthresh window is left for the congestion-control issue. */
			  .skip = {"TcpExtTCPPureAcks"},
			  .ka_cnt = 3, .srv_set = {"net.ipv4.tcp_synack_retries=2"}};
	check(&sc);
}

/* the S6 harness read its counter baseline after the fill clients had connected */
#define S6_SKIP {"TcpPassiveOpens", "TcpActiveOpens", "TcpExtTCPPureAcks"}

/* S6: a client connecting while the accept queue is full: every SYN dropped, the 6.5+ SYN
 * schedule, ETIMEDOUT */
static void test_S6(void **state)
{
	struct scen sc = {.name = "S6", .backlog = 2, .skip = S6_SKIP, .delay_ms = 0, .accept_at_ms = -1,
			  .late_send_ms = -1, .run_ms = 140000};
	check(&sc);
}

static void test_S6_short(void **state)
{
	struct scen sc = {.name = "S6-short", .backlog = 2, .skip = S6_SKIP, .delay_ms = 0, .accept_at_ms = -1,
			  .late_send_ms = -1, .run_ms = 16000, .syncnt = 2};
	check(&sc);
}

static void test_S6_classic(void **state)
{
	struct scen sc = {.name = "S6-classic", .backlog = 2, .skip = S6_SKIP, .delay_ms = 0, .accept_at_ms = -1,
			  .late_send_ms = -1, .run_ms = 24000, .syncnt = 3,
			  .cli_set = {"net.ipv4.tcp_syn_linear_timeouts=0"}};
	check(&sc);
}

/* S6-accept: one accept() at 3.57 s; the next SYN retransmission connects */
static void test_S6_accept(void **state)
{
	struct scen sc = {.name = "S6-accept", .backlog = 2, .skip = S6_SKIP, .delay_ms = 0, .accept_at_ms = 3566.096,
			  .accept_max = 1, .late_send_ms = -1, .run_ms = 16000};
	check(&sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_S0_capacity), cmocka_unit_test(test_S1), cmocka_unit_test(test_S1_wheel),
	    cmocka_unit_test(test_S1_short),
	    cmocka_unit_test(test_S1_prune),    cmocka_unit_test(test_S2),
	    cmocka_unit_test(test_S3),          cmocka_unit_test(test_S5_short),
	    cmocka_unit_test(test_S5_keepalive), cmocka_unit_test(test_S6),
	    cmocka_unit_test(test_S5),
	    cmocka_unit_test(test_S3_data),     cmocka_unit_test(test_S4_short),
	    cmocka_unit_test(test_S4),

	    cmocka_unit_test(test_S6_short),    cmocka_unit_test(test_S6_classic),
	    cmocka_unit_test(test_S6_accept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
