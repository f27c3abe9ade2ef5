/*
 * embed.c — the smallest complete use of libsynq: two stacks (a server and a client) joined by
 * a "wire" that is just a buffer, the client connects, sends a line, the server echoes it.
 * Build after `make install`: cc embed.c $(pkg-config --cflags --libs synq) -o embed
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <synq.h>

static uint64_t now; /* a virtual clock: the engine never reads one */

static void rng(void *user, void *buf, size_t len)
{
	uint64_t *x = user;
	for (size_t i = 0; i < len; i++) {
		*x = *x * 6364136223846793005ull + 1442695040888963407ull;
		((uint8_t *)buf)[i] = (uint8_t)(*x >> 56);
	}
}

static synq_stack *make(const char *addr, uint64_t *seed)
{
	struct synq_config cfg;
	synq_config_init(&cfg); /* Linux 6.18 defaults */
	char set[64];
	snprintf(set, sizeof set, "net.synq.local_addr=%s", addr);
	synq_config_set(&cfg, set);
	synq_config_set(&cfg, "net.synq.max_sockets=16");
	cfg.rand = rng;
	cfg.rand_user = seed;
	synq_stack *s = NULL;
	return synq_stack_new(&cfg, now, &s) == 0 ? s : NULL;
}

/* move every waiting packet from one stack to the other; run due timers */
static void pump(synq_stack *a, synq_stack *b)
{
	uint8_t pkt[2048];
	int n, moved = 1;
	while (moved) {
		moved = 0;
		while ((n = synq_output(a, pkt, sizeof pkt, now)) > 0) {
			synq_input(b, pkt, (size_t)n, now);
			moved = 1;
		}
		while ((n = synq_output(b, pkt, sizeof pkt, now)) > 0) {
			synq_input(a, pkt, (size_t)n, now);
			moved = 1;
		}
	}
}

int main(void)
{
	uint64_t sa = 1, sb = 2;
	synq_stack *srv = make("10.0.0.1", &sa), *cli = make("10.0.0.2", &sb);
	if (!srv || !cli)
		return 1;
	int l = synq_socket(srv);
	synq_bind(srv, l, &(struct synq_addr){0x0a000001, 7});
	synq_listen(srv, l, 16);

	int c = synq_socket(cli);
	if (synq_connect(cli, c, &(struct synq_addr){0x0a000001, 7}, now) != -EINPROGRESS)
		return 1;
	pump(cli, srv); /* SYN, SYN-ACK, ACK */

	struct synq_addr peer;
	int a = synq_accept(srv, l, &peer);
	printf("accepted fd %d from port %u\n", a, peer.port);
	synq_write(cli, c, "hello\n", 6, now);
	pump(cli, srv);
	char buf[64];
	long n = synq_read(srv, a, buf, sizeof buf, now);
	synq_write(srv, a, buf, (size_t)n, now); /* echo */
	pump(cli, srv);
	n = synq_read(cli, c, buf, sizeof buf, now);
	printf("client read %ld bytes: %.*s", n, (int)n, buf);
	printf("server TcpPassiveOpens %llu\n",
	       (unsigned long long)synq_counter(srv, synq_counter_id("TcpPassiveOpens")));
	synq_stack_free(srv);
	synq_stack_free(cli);
	return n == 6 && memcmp(buf, "hello\n", 6) == 0 ? 0 : 1;
}
