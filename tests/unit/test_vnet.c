/*
 * test_vnet.c — the virtual network with real synq stacks: link delays in the handshake times,
 * exact loss masks, filters, unroutable packets, pcap capture, deterministic replays, clock
 * semantics and bounds.
 *
 * Nodes: 0 = server 10.0.0.1 (listener on 8080), 1 = client 10.0.0.2, 2 = a second client
 * 10.0.0.3 in some tests.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "synq.h"
#include "core/wire.h"
#include "drivers/pcap.h"
#include "drivers/trace.h"
#include "drivers/vnet.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define T0 (5 * SEC)

#define SRV_IP 0x0a000001u /* 10.0.0.1 */
#define CLI_IP 0x0a000002u /* 10.0.0.2 */
#define CLI2_IP 0x0a000003u /* 10.0.0.3 */
#define PORT 8080

#define MAX_LOG 4096
#define MAX_NODES 3

/* ---- deterministic randomness (splitmix64) --------------------------------------------- */

struct rng {
	uint64_t x;
};

static void rng_fill(void *user, void *buf, size_t len)
{
	struct rng *r = user;
	uint8_t *p = buf;
	uint64_t z = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0) {
			z = (r->x += 0x9e3779b97f4a7c15ull);
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
			z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
			z ^= z >> 31;
		}
		p[i] = (uint8_t)(z >> (8 * (i % 8)));
	}
}

/* ---- the world --------------------------------------------------------------------------- */

struct rec {
	int ev, from, to;
	uint64_t t;
	uint8_t flags;
	uint16_t sport, dport;
	uint32_t len;
};

struct stack_ev {
	int node, kind, fd, err;
	uint64_t t;
};

struct world {
	struct vnet *net;
	synq_stack *st[MAX_NODES];
	struct rng rng[MAX_NODES];
	int id[MAX_NODES];
	int n;
	struct rec log[MAX_LOG];
	int n_log;
	struct stack_ev sev[MAX_LOG];
	int n_sev;
	char dir[64];
	/* app state */
	int lfd;          /* server listener */
	int srv_fd[8];    /* accepted children */
	int n_srv;
	int cfd;          /* client socket */
	int echo;         /* server echoes what it reads, closes on EOF */
	const char *msg;  /* client writes msg once connected, then closes after the echo */
	int msg_sent, echo_got, cli_closed;
	char got[64];
	size_t n_got;
};

struct hook_ctx {
	struct world *w;
	int node;
};
static struct hook_ctx hctx[MAX_NODES];

static void on_event(void *user, const struct synq_event *ev)
{
	struct hook_ctx *h = user;
	struct world *w = h->w;

	if (w->n_sev < MAX_LOG) {
		w->sev[w->n_sev].node = h->node;
		w->sev[w->n_sev].kind = ev->kind;
		w->sev[w->n_sev].fd = ev->fd;
		w->sev[w->n_sev].err = ev->err;
		w->sev[w->n_sev].t = ev->now_ns;
		w->n_sev++;
	}
}

static void tap(void *user, int event, int from, int to, const uint8_t *pkt, size_t len,
		uint64_t now)
{
	struct world *w = user;
	struct synq_seg g;
	struct rec *r;

	if (w->n_log >= MAX_LOG)
		return;
	r = &w->log[w->n_log++];
	memset(r, 0, sizeof(*r));
	r->ev = event;
	r->from = from;
	r->to = to;
	r->t = now;
	if (wire_parse(pkt, len, &g) == WIRE_OK) {
		r->flags = g.flags;
		r->sport = g.sport;
		r->dport = g.dport;
		r->len = g.len;
	}
	if (getenv("VNET_TRACE")) {
		char line[256];
		static const char *names[] = { "?", "sent", "deliv", "LOST", "UNROUTABLE" };

		trace_format(line, sizeof(line), pkt, len);
		fprintf(stderr, "%12.6f %-10s %2d>%2d %s\n", (double)(now - T0) / 1e9,
			names[event < 5 ? event : 0], from, to, line);
	}
}

static synq_stack *mkstack(struct world *w, int node, uint32_t ip, uint64_t seed)
{
	struct synq_config cfg;
	synq_stack *s = NULL;
	char a[64];

	synq_config_init(&cfg);
	snprintf(a, sizeof(a), "net.synq.local_addr=%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255,
		 (ip >> 8) & 255, ip & 255);
	assert_int_equal(synq_config_set(&cfg, a), 0);
	assert_int_equal(cfg.n_local_addrs, 1);
	assert_int_equal(cfg.local_addrs[0], ip);
	w->rng[node].x = seed * 1000003u + (uint64_t)node;
	cfg.rand = rng_fill;
	cfg.rand_user = &w->rng[node];
	hctx[node].w = w;
	hctx[node].node = node;
	cfg.on_event = on_event;
	cfg.event_user = &hctx[node];
	assert_int_equal(synq_stack_new(&cfg, T0, &s), 0);
	return s;
}

/* n nodes (2 or 3), links server<->client(s) with the given delays. */
static struct world *world_new(int n, uint64_t seed, uint64_t d_cs, uint64_t d_sc)
{
	static const uint32_t ips[MAX_NODES] = { SRV_IP, CLI_IP, CLI2_IP };
	static const char *names[MAX_NODES] = { "server", "client", "client2" };
	struct world *w = calloc(1, sizeof(*w));
	int i;

	assert_non_null(w);
	w->net = vnet_new(T0);
	assert_non_null(w->net);
	w->n = n;
	for (i = 0; i < n; i++) {
		w->st[i] = mkstack(w, i, ips[i], seed);
		w->id[i] = vnet_add(w->net, w->st[i], names[i]);
		assert_int_equal(w->id[i], i);
	}
	for (i = 1; i < n; i++)
		assert_int_equal(vnet_link(w->net, i, 0, d_cs, d_sc), 0);
	vnet_set_tap(w->net, tap, w);
	w->lfd = w->cfd = -1;
	strcpy(w->dir, "/tmp/synq-test-vnet-XXXXXX");
	assert_non_null(mkdtemp(w->dir));
	return w;
}

static void rm_file(struct world *w, const char *name)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/%s", w->dir, name);
	unlink(p);
}

static void world_free(struct world *w)
{
	int i;

	vnet_free(w->net);
	for (i = 0; i < w->n; i++)
		synq_stack_free(w->st[i]);
	rm_file(w, "a.pcap");
	rm_file(w, "b.pcap");
	rm_file(w, "srv.pcap");
	rmdir(w->dir);
	free(w);
}

static void listen_on(struct world *w, int backlog)
{
	struct synq_addr a = { SRV_IP, PORT };

	w->lfd = synq_socket(w->st[0]);
	assert_true(w->lfd >= 0);
	assert_int_equal(synq_bind(w->st[0], w->lfd, &a), 0);
	assert_int_equal(synq_listen(w->st[0], w->lfd, backlog), 0);
}

static int connect_to(struct world *w, int node, uint32_t ip, uint16_t port)
{
	struct synq_addr a = { ip, port };
	int fd = synq_socket(w->st[node]);

	assert_true(fd >= 0);
	assert_int_equal(synq_connect(w->st[node], fd, &a, vnet_now(w->net)), -EINPROGRESS);
	return fd;
}

/* The records of one event kind, in order. */
static int find(const struct world *w, int ev, int nth)
{
	int i;

	for (i = 0; i < w->n_log; i++)
		if (w->log[i].ev == ev && nth-- == 0)
			return i;
	return -1;
}

static int count_ev(const struct world *w, int ev)
{
	int i, n = 0;

	for (i = 0; i < w->n_log; i++)
		n += w->log[i].ev == ev;
	return n;
}

static int find_sev(const struct world *w, int node, int kind)
{
	int i;

	for (i = 0; i < w->n_sev; i++)
		if (w->sev[i].node == node && w->sev[i].kind == kind)
			return i;
	return -1;
}

/* Server: accept everything, echo, close on EOF. Client: send msg once connected, read the
 * echo, close. */
static void app(void *user, struct vnet *net, uint64_t now)
{
	struct world *w = user;
	char buf[64];
	long n;
	int fd, i;

	if (w->lfd >= 0) {
		while ((fd = synq_accept(w->st[0], w->lfd, NULL)) >= 0)
			if (w->n_srv < 8)
				w->srv_fd[w->n_srv++] = fd;
	}
	for (i = 0; w->echo && i < w->n_srv; i++) {
		if (w->srv_fd[i] < 0)
			continue;
		fd = w->srv_fd[i];
		while ((n = synq_read(w->st[0], fd, buf, sizeof(buf), now)) > 0)
			assert_int_equal(synq_write(w->st[0], fd, buf, (size_t)n, now), n);
		if (n == 0) {
			assert_int_equal(synq_close(w->st[0], w->srv_fd[i], now), 0);
			w->srv_fd[i] = -1;
		}
	}
	if (w->cfd >= 0 && w->msg && !w->cli_closed) {
		if (!w->msg_sent && (synq_poll(w->st[1], w->cfd) & SYNQ_POLLOUT)) {
			assert_int_equal(synq_write(w->st[1], w->cfd, w->msg, strlen(w->msg), now),
					 (long)strlen(w->msg));
			w->msg_sent = 1;
		}
		while ((n = synq_read(w->st[1], w->cfd, w->got + w->n_got,
				      sizeof(w->got) - 1 - w->n_got, now)) > 0)
			w->n_got += (size_t)n;
		if (w->msg_sent && w->n_got == strlen(w->msg)) {
			assert_int_equal(synq_close(w->st[1], w->cfd, now), 0);
			w->cli_closed = 1;
		}
	}
}

/* ---- tests ------------------------------------------------------------------------------- */

/* SYN at T0, SYN-ACK sent on its arrival, and so on: every time is a sum of link delays. */
static void test_handshake_times(void **state)
{
	const uint64_t dcs = 3 * MS, dsc = 7 * MS;
	struct world *w = world_new(2, 1, dcs, dsc);
	struct synq_addr peer;
	struct vnet_stats st;
	int i, fd;

	listen_on(w, 16);
	w->cfd = connect_to(w, 1, SRV_IP, PORT);
	assert_int_equal(vnet_step(w->net, T0 + 2 * SEC), 1);
	/* SYN sent at T0 by the client, arrives at T0 + dcs */
	i = find(w, VNET_SENT, 0);
	assert_true(i >= 0);
	assert_int_equal(w->log[i].t, T0);
	assert_int_equal(w->log[i].from, 1);
	assert_int_equal(w->log[i].to, 0);
	assert_int_equal(w->log[i].flags, TCP_SYN);
	assert_int_equal(w->log[i].dport, PORT);
	assert_int_equal(vnet_now(w->net), T0 + dcs);

	assert_true(vnet_run_until(w->net, T0 + 500 * MS) >= 2);
	/* deliveries: SYN, SYN-ACK, ACK */
	i = find(w, VNET_DELIVERED, 0);
	assert_int_equal(w->log[i].flags, TCP_SYN);
	assert_int_equal(w->log[i].t, T0 + dcs);
	i = find(w, VNET_SENT, 1);
	assert_int_equal(w->log[i].flags, TCP_SYN | TCP_ACK);
	assert_int_equal(w->log[i].t, T0 + dcs);
	i = find(w, VNET_DELIVERED, 1);
	assert_int_equal(w->log[i].flags, TCP_SYN | TCP_ACK);
	assert_int_equal(w->log[i].t, T0 + dcs + dsc);
	i = find(w, VNET_SENT, 2);
	assert_int_equal(w->log[i].flags, TCP_ACK);
	assert_int_equal(w->log[i].t, T0 + dcs + dsc);
	i = find(w, VNET_DELIVERED, 2);
	assert_int_equal(w->log[i].flags, TCP_ACK);
	assert_int_equal(w->log[i].t, T0 + 2 * dcs + dsc);
	assert_int_equal(count_ev(w, VNET_SENT), 3);
	assert_int_equal(count_ev(w, VNET_LOST), 0);

	/* the stacks saw it at those times too */
	i = find_sev(w, 1, SYNQ_EV_CONNECTED);
	assert_true(i >= 0);
	assert_int_equal(w->sev[i].t, T0 + dcs + dsc);
	i = find_sev(w, 0, SYNQ_EV_ACCEPTABLE);
	assert_true(i >= 0);
	assert_int_equal(w->sev[i].t, T0 + 2 * dcs + dsc);
	fd = synq_accept(w->st[0], w->lfd, &peer);
	assert_true(fd >= 0);
	assert_int_equal(peer.ip, CLI_IP);
	assert_int_equal(vnet_now(w->net), T0 + 500 * MS);

	vnet_stats(w->net, 1, &st);
	assert_int_equal(st.sent, 2);
	assert_int_equal(st.delivered, 2);
	assert_int_equal(st.received, 1);
	vnet_stats(w->net, -1, &st);
	assert_int_equal(st.sent, 3);
	assert_int_equal(st.delivered, 3);
	assert_int_equal(st.received, 3);
	assert_int_equal(st.lost + st.unroutable + st.in_flight + st.rejected, 0);
	world_free(w);
}

/* A whole echo exchange driven by the app hook at the exact instants. */
static void test_echo_through_app_hook(void **state)
{
	const uint64_t d = 10 * MS;
	struct world *w = world_new(2, 2, d, d);
	struct vnet_stats st;
	int i;

	listen_on(w, 16);
	w->echo = 1;
	w->msg = "hello, vnet";
	vnet_set_app(w->net, app, w);
	w->cfd = connect_to(w, 1, SRV_IP, PORT);
	assert_true(vnet_run_until(w->net, T0 + 5 * SEC) > 0);
	assert_int_equal(w->n_got, strlen(w->msg));
	assert_memory_equal(w->got, w->msg, w->n_got);
	assert_int_equal(w->cli_closed, 1);
	/* the request leaves with the handshake's ACK instant (T0 + 2d) and arrives at T0 + 3d */
	for (i = 0; i < w->n_log; i++)
		if (w->log[i].ev == VNET_DELIVERED && w->log[i].len > 0)
			break;
	assert_true(i < w->n_log);
	assert_int_equal(w->log[i].to, 0);
	assert_int_equal(w->log[i].t, T0 + 3 * d);
	/* the echo arrives at T0 + 4d */
	for (i++; i < w->n_log; i++)
		if (w->log[i].ev == VNET_DELIVERED && w->log[i].len > 0)
			break;
	assert_true(i < w->n_log);
	assert_int_equal(w->log[i].to, 1);
	assert_int_equal(w->log[i].t, T0 + 4 * d);
	vnet_stats(w->net, -1, &st);
	assert_int_equal(st.sent, st.delivered);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.rejected, 0);
	world_free(w);
}

/* Drop the first SYN: the client's retransmission 1 s later gets through. */
static void test_loss_first_syn(void **state)
{
	const uint64_t d = 5 * MS;
	struct world *w = world_new(2, 3, d, d);
	struct vnet_stats st;
	int i;

	listen_on(w, 16);
	assert_int_equal(vnet_set_loss(w->net, 1, 0, 1), 0);
	w->cfd = connect_to(w, 1, SRV_IP, PORT);
	assert_true(vnet_run_until(w->net, T0 + 3 * SEC) > 0);
	assert_int_equal(count_ev(w, VNET_LOST), 1);
	i = find(w, VNET_LOST, 0);
	assert_int_equal(w->log[i].flags, TCP_SYN);
	assert_int_equal(w->log[i].t, T0);
	i = find(w, VNET_DELIVERED, 0);
	assert_int_equal(w->log[i].flags, TCP_SYN);
	assert_int_equal(w->log[i].t, T0 + SEC + d);
	i = find_sev(w, 1, SYNQ_EV_CONNECTED);
	assert_true(i >= 0);
	assert_int_equal(w->sev[i].t, T0 + SEC + 2 * d);
	assert_true(synq_accept(w->st[0], w->lfd, NULL) >= 0);
	vnet_stats(w->net, 1, &st);
	assert_int_equal(st.sent, 3); /* SYN, SYN again, ACK */
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.delivered, 2);
	vnet_stats(w->net, 0, &st);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.received, 2);
	assert_int_equal(vnet_set_loss(w->net, 0, 0, 1), -ENOENT);
	assert_int_equal(vnet_set_loss(w->net, 0, 7, 1), -EINVAL);
	world_free(w);
}

/* The mask applies to the k-th packet of the direction: SYNs to a closed port, mask 0b0101. */
static void test_loss_mask_exact(void **state)
{
	struct world *w = world_new(2, 4, 1 * MS, 1 * MS);
	uint16_t sport[4];
	struct synq_sock_info si;
	int fd[4], i, k;

	assert_int_equal(vnet_set_loss(w->net, 1, 0, 0x5), 0);
	for (i = 0; i < 4; i++) {
		fd[i] = connect_to(w, 1, SRV_IP, 9); /* nobody listens on 9: RST */
		assert_int_equal(synq_sock_info(w->st[1], fd[i], &si), 0);
		sport[i] = si.local.port;
	}
	assert_true(vnet_run_until(w->net, T0 + 100 * MS) > 0);
	/* the SYNs were sent in creation order; SYN #0 and #2 were lost */
	for (i = 0, k = 0; i < w->n_log && k < 4; i++) {
		if (w->log[i].ev != VNET_SENT || w->log[i].from != 1)
			continue;
		assert_int_equal(w->log[i].sport, sport[k]);
		if (k % 2 == 0)
			assert_int_equal(w->log[i + 1].ev, VNET_LOST);
		else
			assert_int_not_equal(w->log[i + 1].ev, VNET_LOST);
		k++;
	}
	assert_int_equal(k, 4);
	assert_int_equal(count_ev(w, VNET_LOST), 2);
	assert_int_equal(w->log[find(w, VNET_LOST, 0)].sport, sport[0]);
	assert_int_equal(w->log[find(w, VNET_LOST, 1)].sport, sport[2]);
	/* #1 and #3 were refused: RST back at T0 + 2 ms */
	i = find(w, VNET_DELIVERED, 2);
	assert_true(i >= 0);
	assert_int_equal(w->log[i].flags & TCP_RST, TCP_RST);
	assert_int_equal(w->log[i].dport, sport[1]);
	assert_int_equal(w->log[i].t, T0 + 2 * MS);
	i = find(w, VNET_DELIVERED, 3);
	assert_int_equal(w->log[i].dport, sport[3]);
	assert_int_equal(synq_poll(w->st[1], fd[1]) & SYNQ_POLLERR, SYNQ_POLLERR);
	assert_int_equal(synq_poll(w->st[1], fd[0]) & SYNQ_POLLERR, 0);
	world_free(w);
}

static int drop_synacks(void *user, int from, int to, const uint8_t *pkt, size_t len,
			uint64_t now)
{
	struct synq_seg g;
	int *calls = user;

	(*calls)++;
	return wire_parse(pkt, len, &g) == WIRE_OK && (g.flags & (TCP_SYN | TCP_ACK)) ==
		(TCP_SYN | TCP_ACK) && now < T0 + 2 * SEC;
}

/* A filter drops all SYN-ACKs sent before T0 + 2 s: the server retransmits at +1 s, +3 s. */
static void test_filter(void **state)
{
	const uint64_t d = 2 * MS;
	struct world *w = world_new(2, 5, d, d);
	struct vnet_stats st;
	int calls = 0, i;

	vnet_set_filter(w->net, drop_synacks, &calls);
	listen_on(w, 16);
	w->cfd = connect_to(w, 1, SRV_IP, PORT);
	assert_true(vnet_run_until(w->net, T0 + 10 * SEC) > 0);
	vnet_stats(w->net, 0, &st);
	assert_true(st.lost >= 2);
	assert_int_equal(st.lost, (uint64_t)count_ev(w, VNET_LOST));
	assert_int_equal(calls, count_ev(w, VNET_SENT));
	for (i = 0; i < w->n_log; i++)
		if (w->log[i].ev == VNET_LOST)
			assert_true(w->log[i].t < T0 + 2 * SEC);
	i = find_sev(w, 1, SYNQ_EV_CONNECTED);
	assert_true(i >= 0);
	assert_true(w->sev[i].t >= T0 + 2 * SEC);
	assert_true(synq_accept(w->st[0], w->lfd, NULL) >= 0);
	world_free(w);
}

/* No link to 10.0.0.3 (a node, but not linked) nor to 10.0.0.99 (nobody). */
static void test_unroutable(void **state)
{
	struct world *w = world_new(2, 6, MS, MS);
	struct vnet_stats st;
	synq_stack *lonely = mkstack(w, 2, CLI2_IP, 6);
	int i;

	assert_int_equal(vnet_add(w->net, lonely, NULL), 2);
	assert_string_equal(vnet_node_name(w->net, 2), "node2");
	assert_string_equal(vnet_node_name(w->net, 0), "server");
	assert_ptr_equal(vnet_node_stack(w->net, 2), lonely);
	assert_int_equal(vnet_node_count(w->net), 3);
	assert_int_equal(vnet_node_by_addr(w->net, CLI2_IP), 2);
	assert_int_equal(vnet_node_by_addr(w->net, 0x0a000063u), -ENOENT);
	assert_int_equal(vnet_add(w->net, lonely, "again"), -EEXIST);
	connect_to(w, 1, CLI2_IP, PORT);
	connect_to(w, 1, 0x0a000063u, PORT);
	assert_true(vnet_run_until(w->net, T0 + 1500 * MS) > 0);
	/* two SYNs at T0, two retransmissions at T0 + 1 s */
	vnet_stats(w->net, 1, &st);
	assert_int_equal(st.sent, 4);
	assert_int_equal(st.unroutable, 4);
	assert_int_equal(st.delivered + st.lost + st.in_flight, 0);
	assert_int_equal(count_ev(w, VNET_UNROUTABLE), 4);
	i = find(w, VNET_UNROUTABLE, 0);
	assert_int_equal(w->log[i].to, -1);
	assert_int_equal(w->log[i].t, T0);
	assert_int_equal(w->log[find(w, VNET_UNROUTABLE, 2)].t, T0 + SEC);
	vnet_stats(w->net, 2, &st);
	assert_int_equal(st.received, 0);
	vnet_stats(w->net, 17, &st);
	assert_int_equal(st.sent, 0);
	vnet_free(w->net);
	w->net = NULL;
	synq_stack_free(lonely);
	world_free(w);
}

struct cnt {
	int n;
	uint64_t first_t, last_t;
};

static void count_cb(void *user, uint64_t t, const uint8_t *pkt, size_t len)
{
	struct cnt *c = user;

	if (c->n == 0)
		c->first_t = t;
	c->last_t = t;
	c->n++;
}

/* A capture of the server holds what it received (at delivery time) and sent. */
static void test_pcap_capture(void **state)
{
	const uint64_t d = 10 * MS;
	struct world *w = world_new(2, 7, d, d);
	struct vnet_stats st;
	struct cnt c = { 0, 0, 0 };
	char path[128];

	snprintf(path, sizeof(path), "%s/srv.pcap", w->dir);
	assert_int_equal(vnet_pcap(w->net, 0, path, 1), 0);
	assert_int_equal(vnet_pcap(w->net, 5, path, 1), -EINVAL);
	listen_on(w, 16);
	w->echo = 1;
	w->msg = "capture me";
	vnet_set_app(w->net, app, w);
	w->cfd = connect_to(w, 1, SRV_IP, PORT);
	assert_true(vnet_run_until(w->net, T0 + 5 * SEC) > 0);
	assert_int_equal(w->cli_closed, 1);
	assert_int_equal(vnet_pcap(w->net, 0, NULL, 0), 0);
	vnet_stats(w->net, 0, &st);
	assert_true(st.sent >= 3);
	assert_int_equal(pcap_read_all(path, count_cb, &c), (int)(st.sent + st.received));
	assert_int_equal(c.n, (int)(st.sent + st.received));
	assert_int_equal(c.first_t, T0 + d); /* the SYN, at its delivery */
	/* stopping again is harmless; an unwritable path fails */
	assert_int_equal(vnet_pcap(w->net, 0, NULL, 0), 0);
	snprintf(path, sizeof(path), "%s/no/such/dir.pcap", w->dir);
	assert_int_equal(vnet_pcap(w->net, 0, path, 0), -ENOENT);
	world_free(w);
}

/* Same seed, same calls: byte-identical captures. Another seed: other ISNs. */
static void run_scenario(uint64_t seed, const char *dir, const char *name)
{
	struct world *w = world_new(3, seed, 3 * MS, 4 * MS);
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(vnet_pcap(w->net, 0, path, 1), 0);
	/* a little of everything: two clients at the same instant, a lost SYN-ACK, data */
	assert_int_equal(vnet_set_loss(w->net, 0, 2, 0x1), 0);
	listen_on(w, 16);
	w->echo = 1;
	w->msg = "determinism";
	vnet_set_app(w->net, app, w);
	w->cfd = connect_to(w, 1, SRV_IP, PORT);
	fd = connect_to(w, 2, SRV_IP, PORT);
	assert_true(fd >= 0);
	assert_true(vnet_run_until(w->net, T0 + 10 * SEC) > 0);
	assert_int_equal(w->cli_closed, 1);
	assert_int_equal(vnet_pcap(w->net, 0, NULL, 0), 0);
	/* the world's own temp dir is not used; free it */
	world_free(w);
}

static size_t slurp(const char *path, uint8_t **out)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0, r;

	assert_non_null(f);
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		r = fread(buf + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	*out = buf;
	return n;
}

static void test_deterministic(void **state)
{
	char dir[64], pa[128], pb[128], pc[128];
	uint8_t *a, *b, *c;
	size_t na, nb, nc;

	strcpy(dir, "/tmp/synq-test-vnet-det-XXXXXX");
	assert_non_null(mkdtemp(dir));
	run_scenario(42, dir, "a.pcap");
	run_scenario(42, dir, "b.pcap");
	run_scenario(43, dir, "c.pcap");
	snprintf(pa, sizeof(pa), "%s/a.pcap", dir);
	snprintf(pb, sizeof(pb), "%s/b.pcap", dir);
	snprintf(pc, sizeof(pc), "%s/c.pcap", dir);
	na = slurp(pa, &a);
	nb = slurp(pb, &b);
	nc = slurp(pc, &c);
	assert_true(na > 24 + 10 * 16);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	assert_true(nc != na || memcmp(a, c, na) != 0);
	assert_true(pcap_read_all(pa, NULL, NULL) > 10);
	free(a);
	free(b);
	free(c);
	unlink(pa);
	unlink(pb);
	unlink(pc);
	rmdir(dir);
}

/* Equal-time deliveries go in send order; sends of one instant go by node id. */
static void test_equal_time_order(void **state)
{
	struct world *w = world_new(3, 8, 5 * MS, 5 * MS);
	int i, k = 0, order[4];

	listen_on(w, 16);
	/* node 2 connects first, but node 1's output is drained first at the same instant */
	connect_to(w, 2, SRV_IP, PORT);
	connect_to(w, 1, SRV_IP, PORT);
	assert_int_equal(vnet_step(w->net, UINT64_MAX), 1);
	assert_int_equal(vnet_now(w->net), T0 + 5 * MS);
	for (i = 0; i < w->n_log && k < 4; i++)
		if (w->log[i].ev == VNET_SENT || w->log[i].ev == VNET_DELIVERED)
			order[k++] = w->log[i].ev * 10 + w->log[i].from;
	assert_int_equal(k, 4);
	assert_int_equal(order[0], VNET_SENT * 10 + 1);
	assert_int_equal(order[1], VNET_SENT * 10 + 2);
	assert_int_equal(order[2], VNET_DELIVERED * 10 + 1);
	assert_int_equal(order[3], VNET_DELIVERED * 10 + 2);
	world_free(w);
}

/* vnet_step/vnet_run_until/vnet_next_event semantics, zero-delay links, bounds. */
static void test_clock(void **state)
{
	struct world *w = world_new(2, 9, 0, 0);
	struct vnet_stats st;
	uint64_t t;
	int n;

	assert_int_equal(vnet_now(w->net), T0);
	assert_int_equal(vnet_next_event(w->net), UINT64_MAX);
	assert_int_equal(vnet_step(w->net, UINT64_MAX), 0);
	assert_int_equal(vnet_run_until(w->net, T0 + SEC), 0);
	assert_int_equal(vnet_now(w->net), T0 + SEC);
	assert_int_equal(vnet_run_until(w->net, T0), -ETIME);

	listen_on(w, 16);
	w->cfd = connect_to(w, 1, SRV_IP, PORT);
	assert_int_equal(vnet_flush(w->net), 1);
	assert_int_equal(vnet_flush(w->net), 0);
	assert_int_equal(vnet_next_event(w->net), T0 + SEC);
	/* a step with a limit in the past does nothing */
	assert_int_equal(vnet_step(w->net, T0), 0);
	/* zero delay: the handshake completes at one instant, over three steps */
	assert_int_equal(vnet_step(w->net, T0 + SEC), 1);
	assert_int_equal(vnet_step(w->net, T0 + SEC), 1);
	assert_int_equal(vnet_step(w->net, T0 + SEC), 1);
	assert_int_equal(vnet_now(w->net), T0 + SEC);
	assert_true(synq_accept(w->st[0], w->lfd, NULL) >= 0);
	vnet_stats(w->net, -1, &st);
	assert_int_equal(st.delivered, 3);
	/* what is left are timers (e.g. none, or far ones) */
	t = vnet_next_event(w->net);
	assert_true(t > T0 + SEC);
	n = vnet_run_until(w->net, T0 + 2 * SEC);
	assert_true(n >= 0);
	assert_int_equal(vnet_now(w->net), T0 + 2 * SEC);

	/* bounds: one-packet queues, event limit */
	vnet_set_limits(w->net, 1, 0);
	connect_to(w, 1, SRV_IP, PORT);
	connect_to(w, 1, SRV_IP, PORT);
	connect_to(w, 1, SRV_IP, PORT);
	assert_int_equal(vnet_flush(w->net), 3);
	vnet_stats(w->net, 1, &st);
	assert_int_equal(st.lost, 2);
	assert_int_equal(st.in_flight, 1);
	assert_int_equal(count_ev(w, VNET_LOST), 2);
	vnet_set_limits(w->net, VNET_QUEUE_LIMIT, 2);
	assert_int_equal(vnet_run_until(w->net, T0 + 60 * SEC), -ELOOP);
	assert_true(vnet_now(w->net) < T0 + 60 * SEC);

	/* argument checks */
	assert_int_equal(vnet_link(w->net, 0, 0, 1, 1), -EINVAL);
	assert_int_equal(vnet_link(w->net, 0, 9, 1, 1), -EINVAL);
	assert_int_equal(vnet_add(w->net, NULL, "x"), -EINVAL);
	assert_int_equal(vnet_inject(w->net, 0, (const uint8_t *)"x", 1, vnet_now(w->net) - 1),
			 -EINVAL);
	assert_int_equal(vnet_inject(w->net, 3, (const uint8_t *)"x", 1, vnet_now(w->net)),
			 -EINVAL);
	world_free(w);
}

/* A forged SYN from an address nobody owns: delivered, answered, the answer is unroutable. */
static void test_inject(void **state)
{
	struct world *w = world_new(2, 10, MS, MS);
	struct synq_seg g;
	struct vnet_stats st;
	uint8_t pkt[128];
	size_t n;
	int i;

	listen_on(w, 16);
	memset(&g, 0, sizeof(g));
	g.saddr = 0xc0000201u; /* 192.0.2.1 */
	g.daddr = SRV_IP;
	g.sport = 1234;
	g.dport = PORT;
	g.seq = 777;
	g.flags = TCP_SYN;
	g.window = 1000;
	g.ttl = 64;
	n = wire_emit(&g, pkt, sizeof(pkt));
	assert_true(n > 0);
	assert_int_equal(vnet_inject(w->net, 0, pkt, n, T0 + 50 * MS), 0);
	assert_int_equal(vnet_inject(w->net, 0, pkt, 10, T0 + 60 * MS), 0); /* garbage */
	assert_true(vnet_run_until(w->net, T0 + 100 * MS) >= 2);
	i = find(w, VNET_DELIVERED, 0);
	assert_int_equal(w->log[i].from, -1);
	assert_int_equal(w->log[i].t, T0 + 50 * MS);
	i = find(w, VNET_UNROUTABLE, 0);
	assert_true(i >= 0);
	assert_int_equal(w->log[i].flags, TCP_SYN | TCP_ACK);
	assert_int_equal(w->log[i].t, T0 + 50 * MS);
	vnet_stats(w->net, 0, &st);
	assert_int_equal(st.received, 2);
	assert_int_equal(st.rejected, 1);
	assert_int_equal(st.unroutable, 1);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_times),
		cmocka_unit_test(test_echo_through_app_hook),
		cmocka_unit_test(test_loss_first_syn),
		cmocka_unit_test(test_loss_mask_exact),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_unroutable),
		cmocka_unit_test(test_pcap_capture),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_equal_time_order),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_inject),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
