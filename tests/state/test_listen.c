/*
 * test_listen.c — the listener, state by state, one test per rule of
 * ../shared/SPEC-linux-listen.md (B1-B31, B43), with literal timestamps (ms).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "tdsl.h"

/* a Linux 6.18 client SYN: mss 1460, sackOK, TS, ws 10 */
#define LSYN(p) .port = (p), .flags = "S", .seq = 0, .win = 64240, .mss = 1460, .sack_perm = 1,   \
		.ts = 1, .tsval = 100, .ws = 11
#define SYNACK(p) .port = (p), .flags = "S.", .seq = 0, .ack = 1

static void handshake(struct t_env *t, uint64_t ms, uint16_t port)
{
	T_SEND(t, ms, LSYN(port));
	T_EXPECT(t, ms, SYNACK(port), .mss = 1460, .sack_perm = 1, .ts = 1, .tsecr = 100,
		 .check_tsecr = 1);
	T_SEND(t, ms, .port = port, .flags = ".", .seq = 1, .ack = 1, .ts = 1, .tsval = 101);
}

static int accept_len(struct t_env *t)
{
	struct synq_sock_info in;
	assert_int_equal(synq_sock_info(t->s, t->lfd, &in), 0);
	return (int)in.recvq;
}

static int synq_len(struct t_env *t)
{
	struct synq_sock_info in;
	assert_int_equal(synq_sock_info(t->s, t->lfd, &in), 0);
	return (int)in.synq_len;
}

/* B1: the backlog is clamped to somaxconn as an unsigned compare; B44: Send-Q shows M */
static void test_b1_backlog_clamp(void **state)
{
	const char *set[] = {"net.core.somaxconn=3", NULL};
	struct t_env t;
	t_init(&t, set);
	int cases[][2] = {{10, 3}, {-1, 3}, {0, 0}, {2, 2}, {3, 3}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd = synq_socket(t.s);
		assert_int_equal(synq_listen(t.s, fd, cases[i][0]), 0);
		struct synq_sock_info in;
		assert_int_equal(synq_sock_info(t.s, fd, &in), 0);
		assert_int_equal(in.sendq, cases[i][1]);
		assert_int_equal(in.state, SYNQ_TCP_LISTEN);
		assert_int_equal(synq_close(t.s, fd, t.now_ns), 0);
	}
	t_free(&t);
}

/* B2: listen() again only changes M; the queues stay */
static void test_b2_relisten(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 0);
	handshake(&t, 0, 40001);
	assert_int_equal(accept_len(&t), 1);
	assert_int_equal(synq_listen(t.s, t.lfd, 5), 0);
	struct synq_sock_info in;
	synq_sock_info(t.s, t.lfd, &in);
	assert_int_equal(in.sendq, 5);
	assert_int_equal(in.recvq, 1);
	t_free(&t);
}

/* B3: the accept queue holds M + 1; B8: the next SYN is dropped silently with
 * ListenOverflows and ListenDrops, each retransmission again */
static void test_b3_b8_acceptq_capacity(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 2);
	handshake(&t, 0, 40001);
	handshake(&t, 200, 40002);
	handshake(&t, 400, 40003);
	assert_int_equal(accept_len(&t), 3);
	T_SEND(&t, 600, LSYN(40004));
	T_NOTHING(&t, 1599);
	T_SEND(&t, 1600, LSYN(40004));
	T_NOTHING(&t, 3000);
	assert_int_equal(T_COUNTER(&t, "TcpExtListenOverflows"), 2);
	assert_int_equal(T_COUNTER(&t, "TcpExtListenDrops"), 2);
	assert_int_equal(T_COUNTER(&t, "TcpPassiveOpens"), 3);
	assert_int_equal(synq_len(&t), 0);
	/* accept() frees a slot: the next SYN gets through */
	struct synq_addr peer;
	int c = synq_accept(t.s, t.lfd, &peer);
	assert_true(c >= 0);
	assert_int_equal(peer.port, 40001);
	assert_int_equal(peer.ip, T_PEER_IP);
	T_SEND(&t, 3000, LSYN(40004));
	T_EXPECT(&t, 3000, SYNACK(40004));
	t_free(&t);
}

/* B4/B6: SYN queue full is Q > M; without cookies TCPReqQFullDrop + ListenDrops, no reply */
static void test_b4_b6_synq_full(void **state)
{
	const char *set[] = {"net.ipv4.tcp_syncookies=0", NULL};
	struct t_env t;
	t_init(&t, set);
	t_listen(&t, 2);
	for (uint16_t p = 40001; p <= 40003; p++) {
		T_SEND(&t, 0, LSYN(p));
		T_EXPECT(&t, 0, SYNACK(p));
	}
	assert_int_equal(synq_len(&t), 3); /* Q = 3 = M + 1 */
	T_SEND(&t, 0, LSYN(40004));
	T_NOTHING(&t, 500);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPReqQFullDrop"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpExtListenDrops"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpExtListenOverflows"), 0);
	t_free(&t);
}

/* B4 (6.13+): listen(fd, 0) still admits one request and one child */
static void test_b4_backlog_zero(void **state)
{
	const char *set[] = {"net.ipv4.tcp_syncookies=0", NULL};
	struct t_env t;
	t_init(&t, set);
	t_listen(&t, 0);
	handshake(&t, 0, 40001);
	assert_int_equal(accept_len(&t), 1);
	T_SEND(&t, 10, LSYN(40002));
	T_NOTHING(&t, 20);
	assert_int_equal(T_COUNTER(&t, "TcpExtListenOverflows"), 1); /* A = 1 > 0 */
	t_free(&t);
}

/* B9: tcp_max_syn_backlog's last quarter with cookies off: ListenDrops only */
static void test_b9_max_syn_backlog_quarter(void **state)
{
	const char *set[] = {"net.ipv4.tcp_syncookies=0", "net.ipv4.tcp_max_syn_backlog=8", NULL};
	struct t_env t;
	t_init(&t, set);
	t_listen(&t, 100);
	/* admitted while 8 - Q >= 2: Q = 0..6 => 7 requests */
	for (uint16_t p = 0; p < 7; p++) {
		T_SEND(&t, 0, LSYN(40001 + p));
		T_EXPECT(&t, 0, SYNACK(40001 + p));
	}
	T_SEND(&t, 0, LSYN(40010));
	T_NOTHING(&t, 10);
	assert_int_equal(synq_len(&t), 7);
	assert_int_equal(T_COUNTER(&t, "TcpExtListenDrops"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPReqQFullDrop"), 0);
	t_free(&t);
}

/* B9 with a proven peer: a connection to 10.0.0.2 that closed saved its RTT (tcp_metrics), so
 * that peer may still use the last quarter of tcp_max_syn_backlog; others may not; with
 * net.ipv4.tcp_no_metrics_save=1 nobody is proven */
static void b9_proven(int save)
{
	const char *set[] = {"net.ipv4.tcp_syncookies=0", "net.ipv4.tcp_max_syn_backlog=8",
			     save ? "net.ipv4.tcp_no_metrics_save=0" : "net.ipv4.tcp_no_metrics_save=1",
			     NULL};
	struct t_env t;
	t_init(&t, set);
	t_listen(&t, 100);
	/* a whole connection from 10.0.0.2:39000, closed by the server after the client's FIN */
	T_SEND(&t, 0, .port = 39000, .flags = "S", .seq = 0, .mss = 1460);
	T_EXPECT(&t, 0, .port = 39000, .flags = "S.");
	T_SEND(&t, 50, .port = 39000, .flags = ".", .seq = 1, .ack = 1);
	int c = synq_accept(t.s, t.lfd, NULL);
	assert_true(c >= 0);
	T_SEND(&t, 60, .port = 39000, .flags = "F.", .seq = 1, .ack = 1);
	T_EXPECT(&t, 60, .port = 39000, .flags = ".", .ack = 2);
	assert_int_equal(synq_close(t.s, c, t.now_ns), 0);
	T_EXPECT(&t, 60, .port = 39000, .flags = "F.", .seq = 1, .ack = 2);
	T_SEND(&t, 110, .port = 39000, .flags = ".", .seq = 2, .ack = 2);
	/* 7 requests from other hosts: Q = 7, 8 - 7 < 8 / 4 */
	for (uint16_t p = 0; p < 7; p++) {
		T_SEND(&t, 200, .port = 41000 + p, .saddr = 0x0a000900 + p, .flags = "S", .seq = 0);
		T_EXPECT(&t, 200, .port = 41000 + p, .flags = "S.");
	}
	T_SEND(&t, 210, .port = 41100, .saddr = 0x0a000999, .flags = "S", .seq = 0);
	T_NOTHING(&t, 210);
	assert_int_equal(T_COUNTER(&t, "TcpExtListenDrops"), 1);
	T_SEND(&t, 220, .port = 39001, .flags = "S", .seq = 0); /* from 10.0.0.2 */
	if (save) {
		T_EXPECT(&t, 220, .port = 39001, .flags = "S.");
		assert_int_equal(T_COUNTER(&t, "TcpExtListenDrops"), 1);
	} else {
		T_NOTHING(&t, 220);
		assert_int_equal(T_COUNTER(&t, "TcpExtListenDrops"), 2);
	}
	t_free(&t);
}

static void test_b9_proven_peer(void **state) { b9_proven(1); }
static void test_b9_no_metrics_save(void **state) { b9_proven(0); }

/* B10: the SYN-ACK: seq ISN, ack ISN+1, options echoing the SYN's, window 45*1448, MSS 536
 * when the SYN has none, data in the SYN not acknowledged */
static void test_b10_synack(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 5);
	T_SEND(&t, 0, LSYN(40001));
	T_EXPECT(&t, 0, SYNACK(40001), .win = 65160, .mss = 1460, .sack_perm = 1, .ts = 1,
		 .tsecr = 100, .check_tsecr = 1, .ws = 11); /* wscale 10, from tcp_rmem[2] */
	/* no options at all: MSS only in the SYN-ACK, window 44*1460 */
	T_SEND(&t, 0, .port = 40002, .flags = "S", .seq = 0, .len = 10);
	T_EXPECT(&t, 0, SYNACK(40002), .win = 64240, .mss = 1460, .sack_perm = -1, .ts = -1);
	/* the child of a no-MSS SYN sends 536-byte segments */
	T_SEND(&t, 0, .port = 40002, .flags = ".", .seq = 1, .ack = 1, .win = 65535);
	int c = synq_accept(t.s, t.lfd, NULL);
	assert_true(c >= 0);
	int mss = 0;
	size_t l = sizeof(mss);
	assert_int_equal(synq_getsockopt(t.s, c, SYNQ_IPPROTO_TCP, SYNQ_TCP_MAXSEG, &mss, &l), 0);
	assert_int_equal(mss, 536);
	assert_int_equal(synq_len(&t), 1);
	struct synq_req_info ri[4];
	assert_int_equal(synq_requests(t.s, t.lfd, ri, 4), 1);
	assert_int_equal(ri[0].remote.port, 40001);
	assert_int_equal(ri[0].num_timeout, 0);
	t_free(&t);
}

/* B12: SYN-ACKs at 0, 1, 3, 7, 15, 31 s, silent expiry at 63 s; 6 TCPTimeouts,
 * 5 TCPSynRetrans; B45 num_retrans */
static void test_b12_synack_schedule(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 5);
	T_SEND(&t, 0, LSYN(40001));
	T_EXPECT(&t, 0, SYNACK(40001));
	uint64_t at[] = {1000, 3000, 7000, 15000, 31000};
	for (int i = 0; i < 5; i++)
		T_EXPECT(&t, at[i], SYNACK(40001), .ts = 1, .tsecr = 100, .check_tsecr = 1);
	struct synq_req_info ri;
	assert_int_equal(synq_requests(t.s, t.lfd, &ri, 1), 1);
	assert_int_equal(ri.num_retrans, 5);
	assert_int_equal(ri.num_timeout, 5);
	T_NOTHING(&t, 62999);
	assert_int_equal(synq_len(&t), 1);
	T_NOTHING(&t, 63000);
	assert_int_equal(synq_len(&t), 0);
	assert_string_equal(t.last_gone_code, "request_expired");
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPTimeouts"), 6);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPSynRetrans"), 5);
	assert_int_equal(T_COUNTER(&t, "TcpRetransSegs"), 5);
	assert_int_equal(T_COUNTER(&t, "TcpOutRsts"), 0);
	t_free(&t);
}

/* B12 with net.synq.timer_hz=250: the SYN-ACK timer on Linux's timer wheel (SPEC §7). The test
 * clock starts at 1 s = jiffy 250: 250 + 250 j -> level 1 (8 j granules) -> jiffy 504 = +1016 ms;
 * then +2016 ms (level 1), +4160 and +8192 ms (level 2, 64 j), +16128 ms (level 2), and the
 * expiry +33024 ms later (level 3, 512 j): the gaps kernel-truth S1 shows (1015, 2016, 4032,
 * 8192, 16128 ms; gone 33.8 s after the last SYN-ACK), exactly */
static void test_b12_timer_wheel(void **state)
{
	const char *set[] = {"net.synq.timer_hz=250", NULL};
	struct t_env t;
	t_init(&t, set);
	t_listen(&t, 5);
	T_SEND(&t, 0, LSYN(40001));
	T_EXPECT(&t, 0, SYNACK(40001));
	uint64_t at[] = {1016, 3032, 7192, 15384, 31512};
	for (int i = 0; i < 5; i++)
		T_EXPECT(&t, at[i], SYNACK(40001));
	T_NOTHING(&t, 64535);
	assert_int_equal(synq_len(&t), 1);
	T_NOTHING(&t, 64536);
	assert_int_equal(synq_len(&t), 0);
	t_free(&t);
}

/* B13: retry reduction under SYN-queue pressure (SPEC §6 case 9): M = 16, 12 requests never
 * ACKed: requests expire one by one at 7 s until Q = 8; the remaining 8 live to 63 s.
 * Timers due at the same instant fire last-armed first (Linux's timer-wheel hlist order,
 * kernel-truth S1-prune: the order alternates at every firing and the newest request is pruned) */
static void test_b13_retry_reduction(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 16);
	for (uint16_t p = 0; p < 12; p++) {
		T_SEND(&t, 0, LSYN(40001 + p));
		T_EXPECT(&t, 0, SYNACK(40001 + p));
	}
	for (int p = 11; p >= 0; p--)
		T_EXPECT(&t, 1000, SYNACK(40001 + p));
	for (int p = 0; p < 12; p++)
		T_EXPECT(&t, 3000, SYNACK(40001 + p));
	/* at 7 s: the first 4 firings (40012..40009) see 2Q > 16 with Y = 0 => R = 2 => expire */
	for (int p = 7; p >= 0; p--)
		T_EXPECT(&t, 7000, SYNACK(40001 + p));
	assert_int_equal(synq_len(&t), 8);
	T_EXPECT(&t, 15000, SYNACK(40001));
	t_advance(&t, 62999);
	assert_int_equal(synq_len(&t), 8);
	t_advance(&t, 63000);
	assert_int_equal(synq_len(&t), 0);
	t_free(&t);
}

/* B14: TCP_SYNCNT on the listener: SYN-ACKs at 0, 1, 3 s, gone at 7 s */
static void test_b14_syncnt(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 5);
	int two = 2;
	assert_int_equal(synq_setsockopt(t.s, t.lfd, SYNQ_IPPROTO_TCP, SYNQ_TCP_SYNCNT, &two,
					 sizeof(two)), 0);
	T_SEND(&t, 0, LSYN(40001));
	T_EXPECT(&t, 0, SYNACK(40001));
	T_EXPECT(&t, 1000, SYNACK(40001));
	T_EXPECT(&t, 3000, SYNACK(40001));
	T_NOTHING(&t, 6999);
	assert_int_equal(synq_len(&t), 1);
	T_NOTHING(&t, 7000);
	assert_int_equal(synq_len(&t), 0);
	t_free(&t);
}

/* B15, B27: final ACK while the accept queue is full: dropped, request acked and kept,
 * SYN-ACKs go on; each later ACK overflows again; B39 late completion after accept() */
static void test_b27_overflow_on_ack(void **state)
{
	struct t_env t;
	/* the classic: listen(2), 3 queued, 2 in-flight requests overflow */
	t_init(&t, NULL);
	t_listen(&t, 2);
	handshake(&t, 0, 40001);
	handshake(&t, 300, 40002);
	T_SEND(&t, 1000, LSYN(40011));
	T_EXPECT(&t, 1000, SYNACK(40011));
	T_SEND(&t, 1000, LSYN(40012));
	T_EXPECT(&t, 1000, SYNACK(40012));
	T_SEND(&t, 1050, .port = 40011, .flags = ".", .seq = 1, .ack = 1, .ts = 1, .tsval = 150);
	assert_int_equal(accept_len(&t), 3);
	T_SEND(&t, 1050, .port = 40012, .flags = ".", .seq = 1, .ack = 1, .ts = 1, .tsval = 150);
	T_NOTHING(&t, 1999);
	assert_int_equal(T_COUNTER(&t, "TcpExtListenOverflows"), 1);
	assert_string_equal(t.last_drop_code, "accept_queue_full"); /* the event says why */
	assert_string_equal(t.last_drop_rule, "B27");
	assert_int_equal(synq_len(&t), 1);
	struct synq_req_info ri;
	assert_int_equal(synq_requests(t.s, t.lfd, &ri, 1), 1);
	assert_int_equal(ri.acked, 1);
	T_EXPECT(&t, 2000, SYNACK(40012));
	/* the client's challenge ACK overflows again */
	T_SEND(&t, 2050, .port = 40012, .flags = ".", .seq = 1, .ack = 1, .ts = 1, .tsval = 1150);
	assert_int_equal(T_COUNTER(&t, "TcpExtListenOverflows"), 2);
	assert_int_equal(T_COUNTER(&t, "TcpExtListenDrops"), 2);
	/* accept() one: the next client segment completes the request */
	assert_true(synq_accept(t.s, t.lfd, NULL) >= 0);
	T_EXPECT(&t, 4000, SYNACK(40012));
	T_SEND(&t, 4050, .port = 40012, .flags = ".", .seq = 1, .ack = 1, .ts = 1, .tsval = 3150);
	assert_int_equal(synq_len(&t), 0);
	assert_int_equal(accept_len(&t), 3);
	T_NOTHING(&t, 70000);
	t_free(&t);
}

/* B28: tcp_abort_on_overflow = 1: RST (flags R only, seq = SEG.ACK), request removed,
 * EmbryonicRsts, no AttemptFails */
static void test_b28_abort_on_overflow(void **state)
{
	const char *set[] = {"net.ipv4.tcp_abort_on_overflow=1", NULL};
	struct t_env t;
	t_init(&t, set);
	t_listen(&t, 0);
	T_SEND(&t, 0, LSYN(40001));
	T_EXPECT(&t, 0, SYNACK(40001));
	T_SEND(&t, 0, .port = 40001, .flags = ".", .seq = 1, .ack = 1, .ts = 1, .tsval = 150);
	assert_int_equal(accept_len(&t), 1);
	/* reopen a request by hand: backlog 1 lets a second request in, A = 1 = M: queue; third */
	assert_int_equal(synq_listen(t.s, t.lfd, 1), 0);
	T_SEND(&t, 10, LSYN(40002));
	T_EXPECT(&t, 10, SYNACK(40002));
	T_SEND(&t, 10, LSYN(40003));
	T_EXPECT(&t, 10, SYNACK(40003));
	T_SEND(&t, 60, .port = 40002, .flags = ".", .seq = 1, .ack = 1, .ts = 1, .tsval = 150);
	assert_int_equal(accept_len(&t), 2);
	T_SEND(&t, 60, .port = 40003, .flags = ".", .seq = 1, .ack = 1, .ts = 1, .tsval = 150);
	T_EXPECT(&t, 60, .port = 40003, .flags = "R", .seq = 1, .win = 0);
	assert_int_equal(synq_len(&t), 0);
	assert_int_equal(T_COUNTER(&t, "TcpExtEmbryonicRsts"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpExtListenOverflows"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpOutRsts"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpAttemptFails"), 0);
	T_NOTHING(&t, 70000);
	t_free(&t);
}

/* B19: a retransmitted SYN gets the SYN-ACK again (timer pushed), a second within 500 ms
 * nothing (TCPACKSkippedSynRecv) */
static void test_b19_dup_syn(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 5);
	T_SEND(&t, 0, LSYN(40001));
	T_EXPECT(&t, 0, SYNACK(40001));
	T_SEND(&t, 600, LSYN(40001));
	T_EXPECT(&t, 600, SYNACK(40001));
	T_SEND(&t, 700, LSYN(40001));
	T_NOTHING(&t, 1599);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPACKSkippedSynRecv"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPSynRetrans"), 1);
	/* timer pushed to 600 + 1000 */
	T_EXPECT(&t, 1600, SYNACK(40001));
	T_EXPECT(&t, 3600, SYNACK(40001));
	struct synq_req_info ri;
	synq_requests(t.s, t.lfd, &ri, 1);
	assert_int_equal(ri.num_retrans, 3);
	t_free(&t);
}

/* B20: wrong ACK number: RST seq = SEG.ACK, the request survives and completes later */
static void test_b20_bad_ack(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 5);
	T_SEND(&t, 0, LSYN(40001));
	T_EXPECT(&t, 0, SYNACK(40001));
	T_SEND(&t, 50, .port = 40001, .flags = ".", .seq = 1, .ack = 7, .ts = 1, .tsval = 150);
	T_EXPECT(&t, 50, .port = 40001, .flags = "R", .seq = 7);
	assert_int_equal(synq_len(&t), 1);
	T_SEND(&t, 60, .port = 40001, .flags = ".", .seq = 1, .ack = 1, .ts = 1, .tsval = 160);
	assert_int_equal(accept_len(&t), 1);
	assert_int_equal(T_COUNTER(&t, "TcpOutRsts"), 1);
	t_free(&t);
}

/* B21: out of window: an ACK (seq ISN+1, ack rcv_nxt) rate-limited to one per 500 ms;
 * PAWS reject counts PAWSEstab; B18 TSecr not a SYN-ACK TSval: TSEcrRejected */
static void test_b21_out_of_window_paws_tsecr(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 5);
	T_SEND(&t, 0, LSYN(40001));
	T_EXPECT(&t, 0, SYNACK(40001));
	T_SEND(&t, 10, .port = 40001, .flags = ".", .seq = 100000, .ack = 1, .ts = 1, .tsval = 150);
	T_EXPECT(&t, 10, .port = 40001, .flags = ".", .seq = 1, .ack = 1);
	T_SEND(&t, 20, .port = 40001, .flags = ".", .seq = 100000, .ack = 1, .ts = 1, .tsval = 150);
	T_NOTHING(&t, 20);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPACKSkippedSynRecv"), 1);
	/* PAWS: TSval older than ts_recent */
	T_SEND(&t, 600, .port = 40001, .flags = ".", .seq = 1, .ack = 1, .ts = 1, .tsval = 50);
	T_EXPECT(&t, 600, .port = 40001, .flags = ".", .seq = 1, .ack = 1);
	assert_int_equal(T_COUNTER(&t, "TcpExtPAWSEstab"), 1);
	/* TSecr not one we sent */
	T_EXPECT(&t, 1000, SYNACK(40001));
	T_SEND(&t, 1200, .port = 40001, .flags = ".", .seq = 1, .ack = 1, .ts = 1, .tsval = 160,
	       .tsecr = 12345);
	T_EXPECT(&t, 1200, .port = 40001, .flags = ".", .seq = 1, .ack = 1);
	assert_int_equal(T_COUNTER(&t, "TcpExtTSEcrRejected"), 1);
	assert_int_equal(synq_len(&t), 1);
	t_free(&t);
}

/* B22/B23: in-window RST removes the request silently (AttemptFails, EmbryonicRsts);
 * a SYN with a new ISN in window draws RST and removal */
static void test_b23_rst_and_syn_in_window(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 5);
	T_SEND(&t, 0, LSYN(40001));
	T_EXPECT(&t, 0, SYNACK(40001));
	T_SEND(&t, 10, .port = 40001, .flags = "R", .seq = 1);
	T_NOTHING(&t, 20);
	assert_int_equal(synq_len(&t), 0);
	assert_int_equal(T_COUNTER(&t, "TcpAttemptFails"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpExtEmbryonicRsts"), 1);

	T_SEND(&t, 100, LSYN(40002));
	T_EXPECT(&t, 100, SYNACK(40002));
	T_SEND(&t, 110, .port = 40002, .flags = "S", .seq = 5, .ts = 1, .tsval = 120);
	T_EXPECT(&t, 110, .port = 40002, .flags = "R.", .seq = T_ANY, .ack = 6);
	assert_int_equal(synq_len(&t), 0);
	assert_int_equal(T_COUNTER(&t, "TcpAttemptFails"), 2);
	assert_int_equal(T_COUNTER(&t, "TcpExtEmbryonicRsts"), 2);
	t_free(&t);
}

/* B24: no ACK bit: dropped, request unchanged */
static void test_b24_no_ack(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 5);
	T_SEND(&t, 0, LSYN(40001));
	T_EXPECT(&t, 0, SYNACK(40001));
	T_SEND(&t, 10, .port = 40001, .flags = "P", .seq = 1, .len = 5, .ts = 1, .tsval = 110);
	T_NOTHING(&t, 999);
	assert_int_equal(synq_len(&t), 1);
	t_free(&t);
}

/* B16/B25: TCP_DEFER_ACCEPT=5 (D = 3): bare ACK dropped (TCPDeferAcceptDrop), no
 * retransmissions until n = 2, data creates the child at once */
static void test_b16_b25_defer_accept(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 5);
	int five = 5, got = 0;
	size_t l = sizeof(got);
	assert_int_equal(synq_setsockopt(t.s, t.lfd, SYNQ_IPPROTO_TCP, SYNQ_TCP_DEFER_ACCEPT, &five,
					 sizeof(five)), 0);
	assert_int_equal(synq_getsockopt(t.s, t.lfd, SYNQ_IPPROTO_TCP, SYNQ_TCP_DEFER_ACCEPT, &got,
					 &l), 0);
	assert_int_equal(got, 7); /* 3 retransmissions = 1 + 2 + 4 s */
	T_SEND(&t, 0, LSYN(40001));
	T_EXPECT(&t, 0, SYNACK(40001));
	T_SEND(&t, 50, .port = 40001, .flags = ".", .seq = 1, .ack = 1, .ts = 1, .tsval = 150);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPDeferAcceptDrop"), 1);
	assert_int_equal(accept_len(&t), 0);
	/* acked: no resend at n = 0, 1 (resend once n >= D - 1 = 2): firings at 1 s, 3 s silent */
	T_NOTHING(&t, 6999);
	T_EXPECT(&t, 7000, SYNACK(40001));
	/* data completes it */
	T_SEND(&t, 7050, .port = 40001, .flags = "P.", .seq = 1, .ack = 1, .len = 10, .ts = 1,
	       .tsval = 7150);
	T_EXPECT(&t, 7050, .port = 40001, .flags = ".", .seq = 1, .ack = 11);
	assert_int_equal(accept_len(&t), 1);
	int c = synq_accept(t.s, t.lfd, NULL);
	char buf[32];
	assert_int_equal(synq_read(t.s, c, buf, sizeof(buf), t.now_ns), 10);
	assert_memory_equal(buf, "abcdefghij", 10);
	t_free(&t);
}

/* B26/B29: data on the final ACK goes to the child, which ACKs it; a queued child keeps
 * running TCP: FIN moves it to CLOSE-WAIT, accept() still returns it, read() gives 0 */
static void test_b26_b29_data_and_fin_before_accept(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 5);
	T_SEND(&t, 0, LSYN(40001));
	T_EXPECT(&t, 0, SYNACK(40001));
	T_SEND(&t, 50, .port = 40001, .flags = "P.", .seq = 1, .ack = 1, .len = 100, .ts = 1,
	       .tsval = 150);
	T_EXPECT(&t, 50, .port = 40001, .flags = ".", .seq = 1, .ack = 101);
	/* the FIN puts the child in ping-pong mode (tcp_fin): its ACK waits for a reply that
	 * could carry it, ato = TCP_ATO_MIN, then the delayed-ACK timer sends it */
	T_SEND(&t, 60, .port = 40001, .flags = "F.", .seq = 101, .ack = 1, .ts = 1, .tsval = 160);
	T_NOTHING(&t, 99);
	T_EXPECT(&t, 100, .port = 40001, .flags = ".", .seq = 1, .ack = 102);
	assert_int_equal(T_COUNTER(&t, "TcpExtDelayedACKs"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpPassiveOpens"), 1);
	int c = synq_accept(t.s, t.lfd, NULL);
	assert_true(c >= 0);
	struct synq_sock_info in;
	synq_sock_info(t.s, c, &in);
	assert_int_equal(in.state, SYNQ_TCP_CLOSE_WAIT);
	char buf[200];
	assert_int_equal(synq_read(t.s, c, buf, sizeof(buf), t.now_ns), 100);
	assert_int_equal(synq_read(t.s, c, buf, sizeof(buf), t.now_ns), 0);
	t_free(&t);
}

/* SPEC §10: a child reset while queued is still returned by accept(); read() says ECONNRESET */
static void test_b26_reset_child_still_accepted(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 5);
	handshake(&t, 0, 40001);
	T_SEND(&t, 10, .port = 40001, .flags = "R.", .seq = 1, .ack = 1);
	int c = synq_accept(t.s, t.lfd, NULL);
	assert_true(c >= 0);
	char b[4];
	assert_int_equal(synq_read(t.s, c, b, sizeof(b), t.now_ns), -ECONNRESET);
	assert_int_equal(synq_write(t.s, c, b, 1, t.now_ns), -EPIPE);
	assert_int_equal(synq_close(t.s, c, t.now_ns), 0);
	t_free(&t);
}

/* B30: ACK-bearing segment at the listener with no request: RST seq = SEG.ACK, R only;
 * B31: bare data, bare FIN, RST, SYN|FIN: dropped; no listener: RST|ACK for a SYN */
static void test_b30_b31_no_request(void **state)
{
	const char *set[] = {"net.ipv4.tcp_syncookies=0", NULL};
	struct t_env t;
	t_init(&t, set);
	t_listen(&t, 5);
	T_SEND(&t, 0, .port = 40001, .flags = ".", .seq = 1, .ack = 5555, .raw_seq = 0);
	T_EXPECT(&t, 0, .port = 40001, .flags = "R", .seq = 5555);
	T_SEND(&t, 1, .port = 40001, .flags = "P.", .seq = 1, .ack = 77, .len = 10);
	T_EXPECT(&t, 1, .port = 40001, .flags = "R", .seq = 77);
	T_SEND(&t, 2, .port = 40001, .flags = "P", .seq = 1, .len = 10);
	T_SEND(&t, 2, .port = 40001, .flags = "F", .seq = 1);
	T_SEND(&t, 2, .port = 40001, .flags = "R", .seq = 1);
	T_SEND(&t, 2, .port = 40001, .flags = "SF", .seq = 0);
	T_NOTHING(&t, 10);
	assert_int_equal(T_COUNTER(&t, "TcpOutRsts"), 2);
	assert_int_equal(synq_len(&t), 0);
	/* closed port */
	synq_close(t.s, t.lfd, t.now_ns);
	T_SEND(&t, 20, .port = 40002, .flags = "S", .seq = 0);
	T_EXPECT(&t, 20, .port = 40002, .flags = "R.", .seq = 0, .ack = 1);
	t_free(&t);
}

/* B43: close() of a listener: queued children get RST|ACK (seq snd_nxt, ack rcv_nxt); a
 * pending request gets nothing, and its later ACK meets a closed port: RST seq = SEG.ACK */
static void test_b43_close_listener(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 5);
	handshake(&t, 0, 40001);
	T_SEND(&t, 10, LSYN(40002));
	T_EXPECT(&t, 10, SYNACK(40002));
	assert_int_equal(synq_close(t.s, t.lfd, t.now_ns), 0);
	T_EXPECT(&t, 10, .port = 40001, .flags = "R.", .seq = 1, .ack = 1);
	T_NOTHING(&t, 50);
	T_SEND(&t, 60, .port = 40002, .flags = ".", .seq = 1, .ack = 1, .ts = 1, .tsval = 160);
	T_EXPECT(&t, 60, .port = 40002, .flags = "R", .seq = 1);
	T_NOTHING(&t, 70000);
	/* the port is free again */
	int fd = synq_socket(t.s);
	struct synq_addr a = {T_SERVER_IP, T_SERVER_PORT};
	assert_int_equal(synq_bind(t.s, fd, &a), 0);
	t_free(&t);
}

/* B17: a closed listener's request dies silently at its next timer firing */
static void test_b17_request_of_closed_listener(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 5);
	T_SEND(&t, 0, LSYN(40001));
	T_EXPECT(&t, 0, SYNACK(40001));
	synq_close(t.s, t.lfd, t.now_ns);
	T_NOTHING(&t, 5000);
	assert_int_equal(synq_next_deadline(t.s), UINT64_MAX);
	assert_int_equal(synq_sock_next(t.s, -1), -1); /* everything freed */
	t_free(&t);
}

/* ---- Linux 3.10 rules (net.synq.kernel_rules=3.10, SPEC version notes) ---------------- */

/* B4 [3.10]: the SYN queue holds N = roundup_pow_of_two(max(8, min(M, max_syn_backlog)) + 1)
 * requests: listen(5) => 16, whatever M */
static void test_310_b4_synq_bound(void **state)
{
	const char *set[] = {"net.synq.kernel_rules=3.10", "net.ipv4.tcp_syncookies=0", NULL};
	struct t_env t;
	t_init(&t, set);
	t_listen(&t, 5);
	for (uint16_t p = 0; p < 16; p++) {
		T_SEND(&t, 0, LSYN(40001 + p));
		T_EXPECT(&t, 0, SYNACK(40001 + p));
	}
	T_SEND(&t, 0, LSYN(40100));
	T_NOTHING(&t, 10);
	assert_int_equal(synq_len(&t), 16);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPReqQFullDrop"), 1);
	t_free(&t);
}

/* B8 [3.10]: a full accept queue drops a SYN only when more than one request is young */
static void test_310_b8_young(void **state)
{
	const char *set[] = {"net.synq.kernel_rules=3.10", NULL};
	struct t_env t;
	t_init(&t, set);
	t_listen(&t, 0);
	handshake(&t, 0, 40001); /* A = 1 > M = 0 */
	T_SEND(&t, 10, LSYN(40002)); /* Y = 0: admitted */
	T_EXPECT(&t, 10, SYNACK(40002));
	T_SEND(&t, 10, LSYN(40003)); /* Y = 1: admitted */
	T_EXPECT(&t, 10, SYNACK(40003));
	T_SEND(&t, 10, LSYN(40004)); /* Y = 2 > 1: dropped */
	T_NOTHING(&t, 20);
	assert_int_equal(T_COUNTER(&t, "TcpExtListenOverflows"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpExtListenDrops"), 1);
	t_free(&t);
}

/* B12 [3.10]: no timer per request: the listener's timer runs 1 s after the first request, then
 * every 200 ms, scanning 2 * (N / 5) = 6 of N = 16 buckets, so a request due at 1 s is served at
 * 1.0, 1.2 or 1.4 s; its SYN-ACKs stay on the 200 ms grid, at most two ticks late each time,
 * and it expires after 5 retransmissions */
static void test_310_b12_prune_timer(void **state)
{
	const char *set[] = {"net.synq.kernel_rules=3.10", NULL};
	struct t_env t;
	t_init(&t, set);
	t_listen(&t, 5);
	T_SEND(&t, 0, LSYN(40001));
	T_EXPECT(&t, 0, SYNACK(40001));
	uint64_t nominal = 0, delay = 1000;
	uint8_t out[2048];
	int got = 0;
	for (uint64_t ms = 1; ms <= 70000 && got < 6; ms++) {
		t_advance(&t, ms);
		int n = synq_output(t.s, out, sizeof(out), t.now_ns);
		if (n <= 0)
			continue;
		got++;
		nominal += delay;
		delay *= 2;
		assert_int_equal((ms - 1000) % 200, 0);          /* on the prune grid */
		assert_true(ms >= nominal && ms <= nominal + 400 * (uint64_t)got); /* late, bounded */
		nominal = ms;
	}
	assert_int_equal(got, 5);
	t_advance(&t, 70000);
	assert_int_equal(synq_len(&t), 0);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPTimeouts"), 6);
	t_free(&t);
}

/* B43 [3.10]: closing the listener frees its requests at once (reqsk_queue_destroy) */
static void test_310_close_frees_requests(void **state)
{
	const char *set[] = {"net.synq.kernel_rules=3.10", NULL};
	struct t_env t;
	t_init(&t, set);
	t_listen(&t, 5);
	T_SEND(&t, 0, LSYN(40001));
	T_EXPECT(&t, 0, SYNACK(40001));
	synq_close(t.s, t.lfd, t.now_ns);
	assert_int_equal(synq_sock_next(t.s, -1), -1); /* the listener and its request are gone */
	assert_int_equal(synq_next_deadline(t.s), UINT64_MAX);
	T_NOTHING(&t, 70000);
	t_free(&t);
}

/* B32/B37 [3.10]: SyncookiesFailed for every stray ACK when cookies are on, a cookie SYN-ACK
 * also counts ListenDrops, and the 8-entry MSS table: 1300 -> 1024 (6.18: 1300) */
static void test_310_cookies(void **state)
{
	const char *set[] = {"net.synq.kernel_rules=3.10", "net.ipv4.tcp_syncookies=1", NULL};
	struct t_env t;
	t_init(&t, set);
	t_listen(&t, 0);
	T_SEND(&t, 0, .port = 40009, .flags = ".", .seq = 1, .ack = 4242);
	T_EXPECT(&t, 0, .port = 40009, .flags = "R", .seq = 4242);
	assert_int_equal(T_COUNTER(&t, "TcpExtSyncookiesFailed"), 1);
	for (uint16_t p = 0; p < 16; p++) { /* fill N = 16 */
		T_SEND(&t, 10, .port = 40001 + p, .flags = "S", .seq = 0, .mss = 1460);
		T_EXPECT(&t, 10, .port = 40001 + p, .flags = "S.");
	}
	T_SEND(&t, 20, .port = 40100, .flags = "S", .seq = 0, .mss = 1300);
	T_EXPECT(&t, 20, .port = 40100, .flags = "S.");
	assert_int_equal(T_COUNTER(&t, "TcpExtSyncookiesSent"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpExtListenDrops"), 1);
	T_SEND(&t, 30, .port = 40100, .flags = ".", .seq = 1, .ack = 1);
	assert_int_equal(T_COUNTER(&t, "TcpExtSyncookiesRecv"), 1);
	int c = synq_accept(t.s, t.lfd, NULL);
	assert_true(c >= 0);
	int mss = 0;
	size_t l = sizeof(mss);
	synq_getsockopt(t.s, c, SYNQ_IPPROTO_TCP, SYNQ_TCP_MAXSEG, &mss, &l);
	assert_int_equal(mss, 1024);
	/* 3 s after the last cookie the window is closed: no check, but still SyncookiesFailed */
	t_advance(&t, 3100);
	uint8_t out[2048];
	while (synq_output(t.s, out, sizeof(out), t.now_ns) > 0)
		; /* the requests' SYN-ACK retransmissions */
	T_SEND(&t, 3100, .port = 40008, .flags = ".", .seq = 1, .ack = 77);
	T_EXPECT(&t, 3100, .port = 40008, .flags = "R", .seq = 77);
	assert_int_equal(T_COUNTER(&t, "TcpExtSyncookiesFailed"), 2);
	t_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b1_backlog_clamp),
	    cmocka_unit_test(test_b2_relisten),
	    cmocka_unit_test(test_b3_b8_acceptq_capacity),
	    cmocka_unit_test(test_b4_b6_synq_full),
	    cmocka_unit_test(test_b4_backlog_zero),
	    cmocka_unit_test(test_b9_max_syn_backlog_quarter),
	    cmocka_unit_test(test_b9_proven_peer),
	    cmocka_unit_test(test_b9_no_metrics_save),
	    cmocka_unit_test(test_b10_synack),
	    cmocka_unit_test(test_b12_synack_schedule),
	    cmocka_unit_test(test_b12_timer_wheel),
	    cmocka_unit_test(test_b13_retry_reduction),
	    cmocka_unit_test(test_b14_syncnt),
	    cmocka_unit_test(test_b27_overflow_on_ack),
	    cmocka_unit_test(test_b28_abort_on_overflow),
	    cmocka_unit_test(test_b19_dup_syn),
	    cmocka_unit_test(test_b20_bad_ack),
	    cmocka_unit_test(test_b21_out_of_window_paws_tsecr),
	    cmocka_unit_test(test_b23_rst_and_syn_in_window),
	    cmocka_unit_test(test_b24_no_ack),
	    cmocka_unit_test(test_b16_b25_defer_accept),
	    cmocka_unit_test(test_b26_b29_data_and_fin_before_accept),
	    cmocka_unit_test(test_b26_reset_child_still_accepted),
	    cmocka_unit_test(test_b30_b31_no_request),
	    cmocka_unit_test(test_b43_close_listener),
	    cmocka_unit_test(test_b17_request_of_closed_listener),
	    cmocka_unit_test(test_310_b4_synq_bound),
	    cmocka_unit_test(test_310_b8_young),
	    cmocka_unit_test(test_310_b12_prune_timer),
	    cmocka_unit_test(test_310_cookies),
	    cmocka_unit_test(test_310_close_frees_requests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
