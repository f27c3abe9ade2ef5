/*
 * stack_seeds.c — writes the seed corpus of fuzz_stack (fuzz/corpus/stack/). Run once by hand;
 * the files it writes are committed:
 *
 *   cc -std=c11 -D_DEFAULT_SOURCE -Iinclude -Isrc fuzz/stack_seeds.c src/core/wire.c \
 *      -o build/stack_seeds && build/stack_seeds fuzz/corpus/stack
 *
 * The byte format is described in fuzz_stack.c. Replay a seed with a trace:
 *   FUZZ_STACK_TRACE=1 build/fuzz/fuzz_stack fuzz/corpus/stack/handshake
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wire.h"

static uint8_t buf[4096];
static size_t len;

static void b(int v)
{
	if (len >= sizeof(buf)) {
		fprintf(stderr, "stack_seeds: seed too long\n");
		exit(1);
	}
	buf[len++] = (uint8_t)v;
}

static void u16(int v)
{
	b(v >> 8);
	b(v & 0xff);
}

/* config bytes */
static void cfg(int c0, int c1)
{
	len = 0;
	b(c0);
	b(c1);
}

/* op 0: advance time */
static void ms(int v) { b(0), u16(v); }
static void secs(int v) { b(0), u16(0x8000 | v); }

/* op 2: segment from tuple t (0..7 passive peers, 8.. learned active opens) */
#define M_SYNOPT 0x01
#define M_TS 0x02
static void seg(int t, int flags, int mode, int sd, int ad, int l)
{
	b(2), b(t), b(flags), b(mode), b(sd), b(ad), b(l);
	if (mode & M_SYNOPT)
		b(0x70); /* MSS 1460, wscale 7 */
}

#define SYN 0x02
#define ACK 0x10
#define FIN 0x01
#define RST 0x04
#define PSH 0x08

/* op 3: socket calls; fd slots: 0 listener, 1 first client, 2.. accepted / new sockets */
static void accept_(void) { b(3), b(0), b(0); }
static void read_(int slot, int n64) { b(3), b(1), b(slot), b(n64); }
static void write_(int slot, int n) { b(3), b(2), b(slot), u16(n); }
static void close_(int slot) { b(3), b(3), b(slot); }
static void shutdown_(int slot, int how) { b(3), b(4 | how << 4), b(slot); }
static void setopt(int slot, int opt, int v) { b(3), b(5), b(slot), b(opt), u16(v); }
static void connect_self(int port) { b(3), b(8 | 0x10), b(0), u16(port); }
static void loopback(void) { b(4), b(0); }
/* op 5 with modifier bit 0: an ICMP error quoting tuple t; sel indexes fuzz_stack's table
 * (1: host unreachable, 3: port unreachable, 7: time exceeded, 9: parameter problem) */
static void icmp_(int t, int sel, int sd, int mode) { b(5 | 1 << 3), b(t), b(sel), b(sd), b(mode); }

static void handshake(int t)
{
	seg(t, SYN, M_SYNOPT | M_TS, 0, 0, 0);
	ms(1);
	seg(t, ACK, M_TS, 0, 0, 0);
}

static void put(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
	printf("%s: %zu bytes\n", path, len);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	const char *dir = argv[1];

	/* a full passive handshake, data both ways, peer FIN, close: CLOSE-WAIT, LAST-ACK, CLOSED */
	cfg(0, 0);
	handshake(0);
	accept_();
	seg(0, PSH | ACK, M_TS, 0, 0, 100);
	read_(2, 4);
	write_(2, 300);
	ms(20);
	seg(0, ACK, M_TS, 0, 0, 0);
	seg(0, FIN | ACK, M_TS, 0, 0, 0);
	read_(2, 1);
	close_(2);
	seg(0, ACK, M_TS, 0, 0, 0);
	secs(1);
	put(dir, "handshake");

	/* server closes first: FIN-WAIT-1/2, TIME-WAIT, then a new SYN on the TIME-WAIT tuple */
	cfg(0, 0);
	handshake(1);
	accept_();
	close_(2);
	seg(1, ACK, M_TS, 0, 0, 0);
	seg(1, FIN | ACK, M_TS, 0, 0, 0);
	secs(2);
	seg(1, SYN, M_SYNOPT | M_TS, 100, 0, 0);
	secs(70);
	put(dir, "timewait");

	/* accept-queue overflow, cookies off (backlog 2: Q and A hold 3): the 4th final ACK is
	 * dropped (B27), a SYN while A is full too (B8); SYN-ACK retransmissions at 1, 3, 7, 15,
	 * 31 s, the request forgotten at 63 s */
	cfg(1, 0);
	for (int i = 0; i < 3; i++)
		seg(i, SYN, M_SYNOPT | M_TS, 0, 0, 0);
	ms(1);
	seg(0, ACK, M_TS, 0, 0, 0);
	seg(3, SYN, M_SYNOPT | M_TS, 0, 0, 0);
	seg(1, ACK, M_TS, 0, 0, 0);
	seg(2, ACK, M_TS, 0, 0, 0);
	seg(3, ACK, M_TS, 0, 0, 0);
	seg(4, SYN, M_SYNOPT | M_TS, 0, 0, 0);
	secs(1);
	secs(2);
	secs(4);
	seg(3, ACK, M_TS, 0, 0, 0);
	secs(8);
	secs(16);
	secs(40);
	accept_();
	seg(3, ACK, M_TS, 0, 0, 0);
	accept_();
	accept_();
	accept_();
	put(dir, "overflow");

	/* SYN queue full with cookies on: cookie SYN-ACKs, cookie ACKs; then abort_on_overflow */
	cfg(0, 0);
	for (int i = 0; i < 8; i++)
		seg(i, SYN, M_SYNOPT | M_TS, 0, 0, 0);
	ms(2);
	for (int i = 0; i < 8; i++)
		seg(i, ACK, M_TS, 0, 0, 0);
	accept_();
	accept_();
	put(dir, "cookies");

	cfg(4 | 1, 1); /* abort_on_overflow, cookies off, backlog 1 */
	for (int i = 0; i < 4; i++)
		handshake(i);
	seg(5, SYN, M_SYNOPT | M_TS, 0, 0, 0);
	seg(5, RST, 0, 1, 0, 0);
	put(dir, "abort");

	/* the active side: the client's SYN to 10.0.0.2:80 (tuple 8); SYN-ACK, data, FIN */
	cfg(0, 0);
	seg(8, SYN | ACK, M_SYNOPT | M_TS, 0, 0, 0);
	write_(1, 2000);
	seg(8, ACK, M_TS, 0, 0, 0);
	seg(8, PSH | ACK, M_TS, 0, 0, 50);
	read_(1, 1);
	shutdown_(1, 1);
	seg(8, FIN | ACK, M_TS, 0, 0, 0);
	secs(61);
	put(dir, "active");

	/* the active side times out: SYN retransmissions (linear, then backoff), ETIMEDOUT */
	cfg(0, 0);
	for (int i = 0; i < 8; i++)
		secs(30);
	read_(1, 1);
	put(dir, "syn-timeout");

	/* the stack talks to itself: connect to 10.0.0.1:8080, packets delivered by loopback */
	cfg(0, 0);
	connect_self(8080);
	loopback(); /* SYN */
	loopback(); /* SYN-ACK */
	loopback(); /* ACK */
	accept_();
	write_(2, 1000);
	loopback();
	loopback();
	write_(3, 500);
	loopback();
	loopback();
	read_(2, 16);
	close_(2);
	loopback();
	loopback();
	loopback();
	put(dir, "loopback");

	/* keepalive and a data retransmission timeout on an accepted child */
	cfg(0, 0);
	handshake(2);
	accept_();
	setopt(2, 4, 1);    /* SO_KEEPALIVE */
	setopt(2, 7, 10);   /* TCP_KEEPIDLE 10 s */
	setopt(2, 9, 3);    /* TCP_KEEPCNT 3 */
	secs(11);
	secs(80);
	handshake(3);
	accept_();
	write_(3, 1000);
	for (int i = 0; i < 10; i++)
		secs(100);
	put(dir, "timers");

	/* raw packets: a SYN with valid checksums (modifier: fix both checksums), then garbage */
	cfg(0, 0);
	{
		struct synq_seg g;
		uint8_t pkt[128];
		memset(&g, 0, sizeof(g));
		g.saddr = 0x0a000164; /* 10.0.1.100 */
		g.daddr = 0x0a000001;
		g.sport = 555;
		g.dport = 8080;
		g.seq = 12345;
		g.flags = SYN;
		g.window = 1000;
		g.opt.present = OPT_MSS | OPT_TS;
		g.opt.mss = 536;
		g.opt.tsval = 1;
		size_t n = wire_emit(&g, pkt, sizeof(pkt));
		b(1 | 1 << 3), u16((int)n);
		for (size_t i = 0; i < n; i++)
			b(pkt[i]);
		b(1), u16(24);
		for (int i = 0; i < 24; i++)
			b(0x45 + i);
	}
	put(dir, "raw");

	/* ICMP (B11): host unreachable removes a request (the ACK then draws an RST), port
	 * unreachable and a wrong seq leave one, a soft error on a child with data in flight,
	 * and the client's connect to 10.0.0.2:80 (tuple 8) refused */
	cfg(1, 0);
	seg(0, SYN, M_SYNOPT | M_TS, 0, 0, 0);
	icmp_(0, 1, 0, 0);
	seg(0, ACK, M_TS, 0, 0, 0);
	seg(1, SYN, M_SYNOPT | M_TS, 0, 0, 0);
	icmp_(1, 3, 0, 0);
	icmp_(1, 7, 1, 0);
	secs(1);
	handshake(2);
	accept_();
	write_(2, 100);
	icmp_(2, 1, 1, 0);
	icmp_(2, 9, -1, 1);
	icmp_(8, 3, 0, 0);
	read_(1, 1);
	secs(5);
	put(dir, "icmp");
	return 0;
}
