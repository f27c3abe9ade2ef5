/*
 * test_fairness.c — net.synq.syn_fairness (beyond Linux, issue 5): one /24 floods spoofed SYNs
 * with cookies off; legitimate clients from another /24 connect meanwhile. Same seed, same
 * flood, with and without the option: the legitimate clients' success rate and latency.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "synq.h"
#include "core/wire.h"
#include "drivers/vnet.h"

#define MS 1000000ull
#define SRV 0x0a4d0001u   /* 10.77.0.1 */
#define CLI 0x0a4d0002u   /* 10.77.0.2 */
#define FLOOD 0x0a420600u /* 10.66.6.0/24 */
#define N_LEGIT 20

static void rnd(void *user, void *buf, size_t len)
{
	uint64_t *st = user;
	uint8_t *p = buf;
	while (len--) {
		*st = *st * 6364136223846793005ull + 1442695040888963407ull;
		*p++ = (uint8_t)(*st >> 56);
	}
}

static synq_stack *mk(uint32_t ip, int fair, int cookies, uint64_t *seed)
{
	struct synq_config c;
	synq_config_init(&c);
	c.local_addrs[0] = ip;
	c.n_local_addrs = 1;
	synq_config_set(&c, "net.synq.max_sockets=64");
	synq_config_set(&c, "net.synq.max_requests=1024");
	synq_config_set(&c, cookies ? "net.ipv4.tcp_syncookies=1" : "net.ipv4.tcp_syncookies=0");
	synq_config_set(&c, fair ? "net.synq.syn_fairness=1" : "net.synq.syn_fairness=0");
	c.rand = rnd;
	c.rand_user = seed;
	synq_stack *s;
	assert_int_equal(synq_stack_new(&c, 0, &s), 0);
	return s;
}

struct app {
	synq_stack *srv;
	int l;
	uint64_t every; /* accept one connection per this many ns (0: all at once) */
	uint64_t next;
};

static void accept_all(void *user, struct vnet *net, uint64_t now)
{
	struct app *a = user;
	if (!a->every) {
		while (synq_accept(a->srv, a->l, NULL) >= 0)
			;
		return;
	}
	while (now >= a->next && synq_accept(a->srv, a->l, NULL) >= 0)
		a->next = (a->next > now - a->every ? a->next : now) + a->every;
}

/* returns how many legitimate clients were ESTABLISHED within 3 s of connect(); the server
 * accepts one connection per accept_every_ns (0: as they come) */
static int run(int fair, int cookies, uint64_t accept_every_ns, double *mean_ms)
{
	uint64_t ss = 1, cs = 2, fs = 3;
	synq_stack *srv = mk(SRV, fair, cookies, &ss), *cli = mk(CLI, 0, 0, &cs);
	struct vnet *net = vnet_new(0);
	int sn = vnet_add(net, srv, "srv"), cn = vnet_add(net, cli, "cli");
	vnet_link(net, cn, sn, 5 * MS, 5 * MS);
	struct app a = {srv, synq_socket(srv), accept_every_ns, 0};
	struct synq_addr la = {SRV, 80};
	synq_bind(srv, a.l, &la);
	synq_listen(srv, a.l, 16);
	vnet_set_app(net, accept_all, &a);

	/* the flood: 2000 SYN/s for 12 s from 10.66.6.1-254, random ports; no one answers */
	uint8_t pkt[64];
	for (int i = 0; i < 24000; i++) {
		uint32_t r;
		rnd(&fs, &r, sizeof(r));
		struct synq_seg g;
		memset(&g, 0, sizeof(g));
		g.saddr = FLOOD | (1 + r % 254);
		g.daddr = SRV;
		g.sport = (uint16_t)(1024 + (r >> 8) % 60000);
		g.dport = 80;
		g.seq = r;
		g.flags = TCP_SYN;
		g.window = 65535;
		size_t n = wire_emit(&g, pkt, sizeof(pkt));
		assert_int_equal(vnet_inject(net, sn, pkt, n, (uint64_t)i * MS / 2), 0);
	}
	int fds[N_LEGIT], next = 0;
	uint64_t at[N_LEGIT], done[N_LEGIT] = {0};
	for (int k = 0; k < N_LEGIT; k++)
		at[k] = 1000 * MS + (uint64_t)k * 400 * MS; /* one every 400 ms from 1 s */
	for (uint64_t t = at[0]; t <= 15000 * MS; t += 5 * MS) {
		assert_true(vnet_run_until(net, t) >= 0);
		while (next < N_LEGIT && at[next] <= t) {
			fds[next] = synq_socket(cli);
			struct synq_addr sa = {SRV, 80};
			assert_int_equal(synq_connect(cli, fds[next], &sa, vnet_now(net)), -EINPROGRESS);
			next++;
		}
		for (int k = 0; k < next; k++) {
			struct synq_sock_info in;
			if (!done[k] && synq_sock_info(cli, fds[k], &in) == 0 &&
			    in.state == SYNQ_TCP_ESTABLISHED)
				done[k] = t;
		}
	}
	int ok = 0;
	double sum = 0;
	for (int k = 0; k < N_LEGIT; k++) {
		if (done[k] && done[k] - at[k] <= 3000 * MS)
			ok++;
		/* a client that never connected counts the whole run */
		sum += (double)((done[k] ? done[k] : 15000 * MS) - at[k]) / 1e6;
	}
	*mean_ms = sum / N_LEGIT;
	/* the SYN queue never held more than M + 1; with fairness the flood's /24 at most half */
	struct synq_sock_info in;
	synq_sock_info(srv, a.l, &in);
	assert_true(in.synq_len <= 17);
	if (fair && !cookies)
		assert_true(synq_counter(srv, SYNQ_C_SYNQ_FAIRNESS_DROPS) > 0);
	else
		assert_int_equal(synq_counter(srv, SYNQ_C_SYNQ_FAIRNESS_DROPS), 0);
	if (cookies)
		assert_true(synq_counter(srv, SYNQ_C_SYNCOOKIES_RECV) > 0);
	vnet_free(net);
	synq_stack_free(srv);
	synq_stack_free(cli);
	return ok;
}

static void test_fairness_helps_others(void **state)
{
	double m0, m1;
	int without = run(0, 0, 0, &m0), with = run(1, 0, 0, &m1);
	printf("# legitimate clients connected within 3 s under a /24 flood (cookies off): "
	       "%d/%d without syn_fairness (mean %.0f ms), %d/%d with (mean %.0f ms)\n",
	       without, N_LEGIT, m0, with, N_LEGIT, m1);
	assert_int_equal(with, N_LEGIT);
	assert_true(without <= N_LEGIT / 2);
	assert_true(m1 < m0);
}

/* issue 5: with cookies on (the default), legitimate clients connect at once under a spoofed
 * flood at 10x the server's accept rate (2000 SYN/s against one accept() per 5 ms): the
 * flood's requests fill the SYN queue, the legitimate SYNs get cookies, their ACKs children */
static void test_cookies_under_flood(void **state)
{
	double m;
	int ok = run(0, 1, 5 * MS, &m);
	printf("# legitimate clients connected within 3 s, cookies on, flood at 10x the accept rate: "
	       "%d/%d (mean %.0f ms)\n", ok, N_LEGIT, m);
	assert_int_equal(ok, N_LEGIT);
	assert_true(m < 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fairness_helps_others),
	    cmocka_unit_test(test_cookies_under_flood),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
