/*
 * test_data.c — the data path of an ESTABLISHED connection (RFC 9293, RFC 6298, RFC 5961,
 * RFC 7323) as Linux 6.18 runs it: delivery and ACKs, windows, segmentation, Nagle, the RTO,
 * tcp_retries2, the close states, RST acceptance, PAWS and poll bits.
 *
 * synq is the client 10.0.0.1:8080 (the peer 10.0.0.2:40001 answers its SYN at 50 ms, so the
 * handshake RTT is 50 ms and the first RTO srtt + max(4 rttvar, 200 ms) = 250 ms). Literal ms.
 * Not modelled yet, hence not tested: delayed ACKs, TLP, SACK, reassembly of out-of-order data,
 * congestion control, Linux's receive-window growth (rcv_ssthresh) and MSS rounding.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "tdsl.h"

#define P 40001
#define CSYN .flags = "S", .seq = 0

static int state_of(struct t_env *t, int fd)
{
	struct synq_sock_info in;
	if (synq_sock_info(t->s, fd, &in))
		return -1;
	return in.state;
}

static int so_error(struct t_env *t, int fd)
{
	int v = -1;
	size_t l = sizeof(v);
	assert_int_equal(synq_getsockopt(t->s, fd, SYNQ_SOL_SOCKET, SYNQ_SO_ERROR, &v, &l), 0);
	return v;
}

static void setopt(struct t_env *t, int fd, int level, int name, int v)
{
	assert_int_equal(synq_setsockopt(t->s, fd, level, name, &v, sizeof(v)), 0);
}

static long wr(struct t_env *t, uint64_t ms, int fd, size_t n)
{
	static char buf[16384];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)('A' + i % 26);
	t_advance(t, ms);
	return synq_write(t->s, fd, buf, n, t_now(t));
}

static long rd(struct t_env *t, uint64_t ms, int fd, char *buf, size_t n)
{
	t_advance(t, ms);
	return synq_read(t->s, fd, buf, n, t_now(t));
}

/* connect at 0 (SO_RCVBUF rcvbuf if not 0), the peer's SYN-ACK at 50 ms: MSS mss, window win,
 * no window scale, no timestamps; the final ACK at 50 ms */
static int conn(struct t_env *t, uint16_t mss, uint16_t win, int rcvbuf)
{
	int fd = synq_socket(t->s);
	if (rcvbuf)
		setopt(t, fd, SYNQ_SOL_SOCKET, SYNQ_SO_RCVBUF, rcvbuf);
	struct synq_addr a = {T_SERVER_IP, T_SERVER_PORT}, p = {T_PEER_IP, P};
	assert_int_equal(synq_bind(t->s, fd, &a), 0);
	assert_int_equal(synq_connect(t->s, fd, &p, t_now(t)), -EINPROGRESS);
	T_EXPECT(t, 0, CSYN);
	T_SEND(t, 50, .flags = "S.", .seq = 0, .ack = 1, .mss = mss, .win = win, .isn = 7000);
	T_EXPECT(t, 50, .flags = ".", .seq = 1, .ack = 1);
	assert_int_equal(state_of(t, fd), SYNQ_TCP_ESTABLISHED);
	return fd;
}

/* the same with timestamps: the peer's TSval starts at 1000 */
static int conn_ts(struct t_env *t, uint16_t mss, uint16_t win)
{
	int fd = synq_socket(t->s);
	struct synq_addr a = {T_SERVER_IP, T_SERVER_PORT}, p = {T_PEER_IP, P};
	assert_int_equal(synq_bind(t->s, fd, &a), 0);
	assert_int_equal(synq_connect(t->s, fd, &p, t_now(t)), -EINPROGRESS);
	T_EXPECT(t, 0, CSYN, .ts = 1);
	T_SEND(t, 50, .flags = "S.", .seq = 0, .ack = 1, .mss = mss, .win = win, .isn = 7000,
	       .ts = 1, .tsval = 1000, .tsecr = t_last_tsval(t));
	T_EXPECT(t, 50, .flags = ".", .seq = 1, .ack = 1, .ts = 1, .tsecr = 1000, .check_tsecr = 1);
	return fd;
}

static void check_payload(const char *b, size_t n, size_t seg_off)
{
	/* the DSL's peer payload: byte i of a segment is 'a' + i % 26 */
	for (size_t i = 0; i < n; i++)
		if (b[i] != (char)('a' + (seg_off + i) % 26))
			fail_msg("byte %zu: %c", i, b[i]);
}

/* ---- receiving --------------------------------------------------------------------------- */

/* In-order data is ACKed at once while quick-ACK mode lasts: rcv_wnd / (2 * rcv_mss) = 4096 /
 * 2000 = 2 quick ACKs (tcp_incr_quickack); the window shrinks by what the buffer holds (SO_RCVBUF
 * 4096: Linux doubles it, half is window). The third segment's ACK is delayed; a small read
 * neither sends it (one segment unacknowledged) nor updates the window (receiver SWS
 * avoidance); the read that empties the queue of a pushed segment sends it (tcp_cleanup_rbuf,
 * ICSK_ACK_PUSHED), with the window reopened */
static void test_in_order_delivery(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 65535, 4096);
	int rcvbuf = 0;
	size_t l = sizeof(rcvbuf);
	synq_getsockopt(t.s, fd, SYNQ_SOL_SOCKET, SYNQ_SO_RCVBUF, &rcvbuf, &l);
	assert_int_equal(rcvbuf, 8192);
	assert_int_equal(synq_poll(t.s, fd) & SYNQ_POLLIN, 0);
	T_SEND(&t, 100, .flags = "P.", .seq = 1, .ack = 1, .len = 1000);
	T_EXPECT(&t, 100, .flags = ".", .seq = 1, .ack = 1001, .win = 3096);
	assert_int_equal(synq_poll(t.s, fd) & SYNQ_POLLIN, SYNQ_POLLIN);
	assert_int_equal(t.ev_count[SYNQ_EV_READABLE], 1);
	T_SEND(&t, 110, .flags = "P.", .seq = 1001, .ack = 1, .len = 1000);
	T_EXPECT(&t, 110, .flags = ".", .seq = 1, .ack = 2001, .win = 2096);
	T_SEND(&t, 120, .flags = "P.", .seq = 2001, .ack = 1, .len = 1000);
	char b[4096];
	assert_int_equal(rd(&t, 130, fd, b, 100), 100);
	check_payload(b, 100, 0);
	T_NOTHING(&t, 135);
	assert_int_equal(rd(&t, 140, fd, b, sizeof(b)), 2900);
	check_payload(b, 900, 100);
	check_payload(b + 900, 1000, 0);
	T_EXPECT(&t, 140, .flags = ".", .seq = 1, .ack = 3001, .win = 4096);
	T_NOTHING(&t, 200); /* the delayed ACK (due at 160 ms) was answered by that one */
	assert_int_equal(rd(&t, 200, fd, b, sizeof(b)), -EAGAIN);
	assert_int_equal(synq_poll(t.s, fd) & SYNQ_POLLIN, 0);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPOFODrop"), 0);
	assert_int_equal(T_COUNTER(&t, "TcpExtDelayedACKs"), 0);
	t_free(&t);
}

/* A full buffer offers a zero window; data at rcv_nxt is then dropped (TCPZeroWindowDrop) and
 * ACKed at once in quick-ACK mode (tcp_data_queue: out_of_window); reading 10 bytes opens
 * nothing (receiver SWS avoidance, RFC 9293 3.8.6.2.2), reading an MSS worth does. After the
 * two quick ACKs (rcv_wnd 4096 / (2 * 1000)) the window does not grow as data piles up, so
 * even two unacknowledged segments wait for the delayed ACK (__tcp_ack_snd_check) */
static void test_zero_window(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 65535, 4096);
	T_SEND(&t, 100, .flags = "P.", .seq = 1, .ack = 1, .len = 1000);
	T_EXPECT(&t, 100, .flags = ".", .seq = 1, .ack = 1001, .win = 3096);
	T_SEND(&t, 100, .flags = "P.", .seq = 1001, .ack = 1, .len = 1000);
	T_EXPECT(&t, 100, .flags = ".", .seq = 1, .ack = 2001, .win = 2096);
	T_SEND(&t, 100, .flags = "P.", .seq = 2001, .ack = 1, .len = 1000);
	T_SEND(&t, 100, .flags = "P.", .seq = 3001, .ack = 1, .len = 1096);
	T_NOTHING(&t, 139);
	T_EXPECT(&t, 140, .flags = ".", .seq = 1, .ack = 4097, .win = 0);
	assert_int_equal(T_COUNTER(&t, "TcpExtDelayedACKs"), 1);
	T_SEND(&t, 300, .flags = "P.", .seq = 4097, .ack = 1, .len = 100);
	T_EXPECT(&t, 300, .flags = ".", .seq = 1, .ack = 4097, .win = 0);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPZeroWindowDrop"), 1);
	char b[4096];
	assert_int_equal(rd(&t, 400, fd, b, 10), 10);
	T_NOTHING(&t, 450);
	/* the 10 free bytes are not offered, and data sent anyway is not taken */
	T_SEND(&t, 450, .flags = "P.", .seq = 4097, .ack = 1, .len = 5);
	T_EXPECT(&t, 450, .flags = ".", .seq = 1, .ack = 4097, .win = 0);
	/* a zero-window probe (seq rcv_nxt - 1) is answered with the window, still 0 */
	T_SEND(&t, 1000, .flags = ".", .seq = 4096, .ack = 1);
	T_EXPECT(&t, 1000, .flags = ".", .seq = 1, .ack = 4097, .win = 0);
	assert_int_equal(rd(&t, 1100, fd, b, 1990), 1990);
	T_EXPECT(&t, 1100, .flags = ".", .seq = 1, .ack = 4097, .win = 2000);
	t_free(&t);
}

/* Out-of-order data draws an immediate duplicate ACK; synq does not queue it (no reassembly
 * yet: TcpExtTCPOFODrop), Linux would keep it in the out-of-order queue */
static void test_out_of_order_dupack(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 65535, 0);
	T_SEND(&t, 100, .flags = "P.", .seq = 1001, .ack = 1, .len = 100);
	T_EXPECT(&t, 100, .flags = ".", .seq = 1, .ack = 1);
	T_SEND(&t, 110, .flags = "P.", .seq = 2001, .ack = 1, .len = 100);
	T_EXPECT(&t, 110, .flags = ".", .seq = 1, .ack = 1); /* data: never rate limited */
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPOFODrop"), 2);
	char b[16];
	assert_int_equal(rd(&t, 120, fd, b, sizeof(b)), -EAGAIN);
	t_free(&t);
}

/* A retransmission overlapping what we have is trimmed (RFC 9293 3.10.7.4 "trim"); a full
 * duplicate draws an immediate ACK (tcp_data_queue: "A retransmit... Force an immediate ack") */
static void test_overlap_trimmed(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 65535, 0);
	T_SEND(&t, 100, .flags = "P.", .seq = 1, .ack = 1, .len = 100);
	T_EXPECT(&t, 100, .flags = ".", .seq = 1, .ack = 101);
	T_SEND(&t, 110, .flags = "P.", .seq = 51, .ack = 1, .len = 100);
	T_EXPECT(&t, 110, .flags = ".", .seq = 1, .ack = 151);
	T_SEND(&t, 120, .flags = "P.", .seq = 1, .ack = 1, .len = 100);
	T_EXPECT(&t, 120, .flags = ".", .seq = 1, .ack = 151);
	T_SEND(&t, 130, .flags = "P.", .seq = 1, .ack = 1, .len = 100);
	T_EXPECT(&t, 130, .flags = ".", .seq = 1, .ack = 151);
	char b[512];
	assert_int_equal(rd(&t, 140, fd, b, sizeof(b)), 150);
	check_payload(b, 100, 0);
	check_payload(b + 100, 50, 50);
	t_free(&t);
}

/* ---- sending ----------------------------------------------------------------------------- */

/* write() is cut into MSS-sized segments (peer MSS 1000); PSH only on the segment that ends the
 * write (tcp_push marks the tail skb); with timestamps the MSS loses 12 bytes */
static void test_segmentation(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 65535, 0);
	setopt(&t, fd, SYNQ_IPPROTO_TCP, SYNQ_TCP_NODELAY, 1);
	assert_int_equal(wr(&t, 100, fd, 2500), 2500);
	T_EXPECT(&t, 100, .flags = ".", .seq = 1, .ack = 1, .len = 1000);
	T_EXPECT(&t, 100, .flags = ".", .seq = 1001, .ack = 1, .len = 1000);
	T_EXPECT(&t, 100, .flags = "P.", .seq = 2001, .ack = 1, .len = 500);
	T_SEND(&t, 150, .flags = ".", .seq = 1, .ack = 2501);
	T_NOTHING(&t, 10000);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPOrigDataSent"), 3);
	assert_int_equal(T_COUNTER(&t, "TcpRetransSegs"), 0);
	t_free(&t);

	t_init(&t, NULL);
	fd = conn_ts(&t, 1000, 65535);
	int mss = 0;
	size_t l = sizeof(mss);
	synq_getsockopt(t.s, fd, SYNQ_IPPROTO_TCP, SYNQ_TCP_MAXSEG, &mss, &l);
	assert_int_equal(mss, 988);
	setopt(&t, fd, SYNQ_IPPROTO_TCP, SYNQ_TCP_NODELAY, 1);
	assert_int_equal(wr(&t, 100, fd, 1000), 1000);
	T_EXPECT(&t, 100, .flags = ".", .seq = 1, .ack = 1, .len = 988, .ts = 1);
	T_EXPECT(&t, 100, .flags = "P.", .seq = 989, .ack = 1, .len = 12, .ts = 1);
	t_free(&t);
}

/* Nagle (RFC 896, RFC 9293 3.7.4): a small segment waits while a small one is unacknowledged
 * (Linux's Minshall variant agrees here); TCP_NODELAY sends at once and flushes what waits */
static void test_nagle(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 65535, 0);
	assert_int_equal(wr(&t, 100, fd, 500), 500);
	T_EXPECT(&t, 100, .flags = "P.", .seq = 1, .ack = 1, .len = 500);
	assert_int_equal(wr(&t, 110, fd, 300), 300);
	T_NOTHING(&t, 149);
	T_SEND(&t, 150, .flags = ".", .seq = 1, .ack = 501);
	T_EXPECT(&t, 150, .flags = "P.", .seq = 501, .ack = 1, .len = 300);
	assert_int_equal(wr(&t, 160, fd, 200), 200);
	T_NOTHING(&t, 169);
	t_advance(&t, 170);
	synq_on_timeout(t.s, t_now(&t));
	setopt(&t, fd, SYNQ_IPPROTO_TCP, SYNQ_TCP_NODELAY, 1);
	T_EXPECT(&t, 170, .flags = "P.", .seq = 801, .ack = 1, .len = 200);
	assert_int_equal(wr(&t, 180, fd, 100), 100);
	T_EXPECT(&t, 180, .flags = "P.", .seq = 1001, .ack = 1, .len = 100);
	t_free(&t);
}

/* Linux's Nagle (tcp_minshall_check): a write of 2500 bytes at MSS 1000 goes out as
 * 1000 + 1000 + 500 at once, since no earlier small segment is unacknowledged; the next small
 * write waits for that 500 to be acknowledged */
static void test_nagle_minshall(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 65535, 0);
	assert_int_equal(wr(&t, 100, fd, 2500), 2500);
	T_EXPECT(&t, 100, .flags = ".", .seq = 1, .ack = 1, .len = 1000);
	T_EXPECT(&t, 100, .flags = ".", .seq = 1001, .ack = 1, .len = 1000);
	T_EXPECT(&t, 100, .flags = "P.", .seq = 2001, .ack = 1, .len = 500);
	assert_int_equal(wr(&t, 110, fd, 100), 100);
	T_NOTHING(&t, 149);
	T_SEND(&t, 150, .flags = ".", .seq = 1, .ack = 2501);
	T_EXPECT(&t, 150, .flags = "P.", .seq = 2501, .ack = 1, .len = 100);
	t_free(&t);
}

/* The peer's window bounds what is in flight; window updates release more */
static void test_peer_window(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 2000, 0);
	assert_int_equal(wr(&t, 100, fd, 5000), 5000);
	T_EXPECT(&t, 100, .flags = ".", .seq = 1, .ack = 1, .len = 1000);
	/* 2001 is more than max_window/2 after the last PSH: forced_push() */
	T_EXPECT(&t, 100, .flags = "P.", .seq = 1001, .ack = 1, .len = 1000);
	T_NOTHING(&t, 149);
	T_SEND(&t, 150, .flags = ".", .seq = 1, .ack = 1001, .win = 2000);
	T_EXPECT(&t, 150, .flags = ".", .seq = 2001, .ack = 1, .len = 1000);
	T_NOTHING(&t, 199);
	T_SEND(&t, 200, .flags = ".", .seq = 1, .ack = 3001, .win = 2000);
	/* PSH on 4001: it ends more than max_window/2 after the last PSH (forced_push) */
	T_EXPECT(&t, 200, .flags = "P.", .seq = 3001, .ack = 1, .len = 1000);
	T_EXPECT(&t, 200, .flags = "P.", .seq = 4001, .ack = 1, .len = 1000);
	T_SEND(&t, 250, .flags = ".", .seq = 1, .ack = 5001, .win = 2000);
	T_NOTHING(&t, 5000);
	assert_int_equal(synq_next_deadline(t.s), UINT64_MAX);
	t_free(&t);
}

/* ---- retransmission (RFC 6298 with Linux's 200 ms floor) --------------------------------- */

#define D100(ms) T_EXPECT(&t, ms, .flags = "P.", .seq = 1, .ack = 1, .len = 100)

/* The handshake's 50 ms RTT gives RTO = 50 + max(4 * 25, 200) = 250 ms; each timeout doubles it
 * (RFC 6298 5.5); an ACK of everything stops the timer (5.2) */
static void test_rto_from_handshake(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 65535, 0);
	assert_int_equal(wr(&t, 1000, fd, 100), 100);
	D100(1000);
	D100(1250);
	D100(1750);
	D100(2750);
	D100(4750);
	struct synq_sock_info in;
	synq_sock_info(t.s, fd, &in);
	assert_int_equal(in.retransmits, 4);
	T_SEND(&t, 5000, .flags = ".", .seq = 1, .ack = 101);
	assert_int_equal(synq_next_deadline(t.s), UINT64_MAX);
	T_NOTHING(&t, 100000);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPTimeouts"), 4);
	assert_int_equal(T_COUNTER(&t, "TcpRetransSegs"), 4);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPOrigDataSent"), 1);
	t_free(&t);
}

/* The passive side too: the child's RTO comes from the SYN-ACK's RTT (tcp_synack_rtt_meas) */
static void test_rto_passive_child(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 5);
	T_SEND(&t, 0, .flags = "S", .seq = 0, .mss = 1000, .win = 65535);
	T_EXPECT(&t, 0, .flags = "S.", .seq = 0, .ack = 1, .mss = 1460);
	T_SEND(&t, 50, .flags = ".", .seq = 1, .ack = 1);
	int fd = synq_accept(t.s, t.lfd, NULL);
	assert_true(fd >= 0);
	assert_int_equal(wr(&t, 1000, fd, 100), 100);
	D100(1000);
	D100(1250);
	D100(1750);
	T_SEND(&t, 1800, .flags = ".", .seq = 1, .ack = 101);
	T_NOTHING(&t, 10000);
	t_free(&t);
}

/* The backoff is capped at tcp_rto_max_ms */
static void test_rto_max(void **state)
{
	const char *set[] = {"net.ipv4.tcp_rto_max_ms=1000", NULL};
	struct t_env t;
	t_init(&t, set);
	int fd = conn(&t, 1000, 65535, 0);
	assert_int_equal(wr(&t, 1000, fd, 100), 100);
	D100(1000);
	D100(1250);
	D100(1750);
	D100(2750);
	D100(3750);
	D100(4750);
	t_free(&t);
}

/* Karn: no RTT sample from retransmitted data, so the backed-off RTO stays (Linux changes
 * icsk_rto only with a valid sample, tcp_ack_update_rtt) */
static void test_karn_keeps_backoff(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 65535, 0);
	assert_int_equal(wr(&t, 1000, fd, 100), 100);
	D100(1000);
	D100(1250);
	T_SEND(&t, 1300, .flags = ".", .seq = 1, .ack = 101);
	assert_int_equal(wr(&t, 2000, fd, 100), 100);
	T_EXPECT(&t, 2000, .flags = "P.", .seq = 101, .ack = 1, .len = 100);
	T_EXPECT(&t, 2500, .flags = "P.", .seq = 101, .ack = 1, .len = 100);
	t_free(&t);
}

/* With timestamps the echo times a retransmission too (RFC 7323 4.1, tcp_rtt_tsopt_us): the
 * RTO is recomputed from the new sample, back to 250 ms */
static void test_ts_rtt_after_retransmission(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn_ts(&t, 1000, 65535);
	assert_int_equal(wr(&t, 1000, fd, 100), 100);
	T_EXPECT(&t, 1000, .flags = "P.", .seq = 1, .ack = 1, .len = 100, .ts = 1);
	T_EXPECT(&t, 1250, .flags = "P.", .seq = 1, .ack = 1, .len = 100, .ts = 1);
	T_SEND(&t, 1300, .flags = ".", .seq = 1, .ack = 101, .ts = 1, .tsval = 1100,
	       .tsecr = t_last_tsval(&t));
	assert_int_equal(wr(&t, 2000, fd, 100), 100);
	T_EXPECT(&t, 2000, .flags = "P.", .seq = 101, .ack = 1, .len = 100, .ts = 1);
	T_EXPECT(&t, 2250, .flags = "P.", .seq = 101, .ack = 1, .len = 100, .ts = 1);
	t_free(&t);
}

/* tcp_retries2 = 15: tcp_write_timeout() gives up at the first RTO firing after
 * tcp_model_timeout(15, 200 ms) = 1023 * 200 ms + 6 * 120 s = 924.6 s from the first
 * transmission ("a lower bound for the effective timeout", ip-sysctl.rst): with a 250 ms RTO the
 * 15 retransmissions end at +847.75 s and the 16th firing, +967.75 s, aborts: ETIMEDOUT,
 * TCPAbortOnTimeout, no RST (tcp_write_err) */
static void test_retries2(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 65535, 0);
	assert_int_equal(wr(&t, 1000, fd, 100), 100);
	D100(1000);
	const uint64_t at[] = {1250,   1750,   2750,   4750,   8750,   16750,  32750, 64750,
			       128750, 248750, 368750, 488750, 608750, 728750, 848750};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		D100(at[i]);
	T_NOTHING(&t, 968749);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_ESTABLISHED);
	T_NOTHING(&t, 968750);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_CLOSE);
	char b[4];
	assert_int_equal(synq_read(t.s, fd, b, sizeof(b), t_now(&t)), -ETIMEDOUT);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPTimeouts"), 16);
	assert_int_equal(T_COUNTER(&t, "TcpRetransSegs"), 15);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPAbortOnTimeout"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpOutRsts"), 0);
	assert_int_equal(T_COUNTER(&t, "TcpEstabResets"), 1);
	t_free(&t);
}

/* tcp_retries2 = 3: the limit is a time, tcp_model_timeout(3, 200 ms) = 3 s: given up at the
 * firing at +3.75 s, after 3 retransmissions */
static void test_retries2_small(void **state)
{
	const char *set[] = {"net.ipv4.tcp_retries2=3", NULL};
	struct t_env t;
	t_init(&t, set);
	int fd = conn(&t, 1000, 65535, 0);
	assert_int_equal(wr(&t, 1000, fd, 100), 100);
	D100(1000);
	D100(1250);
	D100(1750);
	D100(2750);
	T_NOTHING(&t, 4749);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_ESTABLISHED);
	T_NOTHING(&t, 4750);
	assert_int_equal(so_error(&t, fd), ETIMEDOUT);
	t_free(&t);
}

/* ---- closing ----------------------------------------------------------------------------- */

/* Active close: FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT; a retransmitted FIN is re-ACKed and
 * restarts the 60 s (tcp_timewait_state_process); then the socket is gone. TcpExtTW counts the
 * timewait sock when it is scheduled (__inet_twsk_schedule): the orphan's FIN-WAIT-2 */
static void test_active_close(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 65535, 0);
	t_advance(&t, 100);
	assert_int_equal(synq_close(t.s, fd, t_now(&t)), 0);
	T_EXPECT(&t, 100, .flags = "F.", .seq = 1, .ack = 1);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_FIN_WAIT1);
	T_SEND(&t, 150, .flags = ".", .seq = 1, .ack = 2);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_FIN_WAIT2);
	assert_int_equal(T_COUNTER(&t, "TcpExtTW"), 1);
	T_SEND(&t, 200, .flags = "F.", .seq = 1, .ack = 2);
	T_EXPECT(&t, 200, .flags = ".", .seq = 2, .ack = 2);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_TIME_WAIT);
	T_SEND(&t, 30000, .flags = "F.", .seq = 1, .ack = 2);
	T_EXPECT(&t, 30000, .flags = ".", .seq = 2, .ack = 2);
	T_NOTHING(&t, 89999);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_TIME_WAIT);
	T_NOTHING(&t, 90000);
	assert_int_equal(state_of(&t, fd), -1);
	assert_int_equal(T_COUNTER(&t, "TcpExtTW"), 1);
	assert_int_equal(t.ev_count[SYNQ_EV_CLOSED], 1);
	assert_int_equal(synq_next_deadline(t.s), UINT64_MAX);
	t_free(&t);
}

/* TIME-WAIT: an RST at rcv_nxt kills it (tcp_rfc1337 = 0), one elsewhere is ignored; a new SYN
 * with no listener is answered with the timewait ACK (TCP_TW_SYN falls through to TCP_TW_ACK) */
static void test_time_wait_rst_and_syn(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 65535, 0);
	t_advance(&t, 100);
	assert_int_equal(synq_shutdown(t.s, fd, SYNQ_SHUT_WR, t_now(&t)), 0);
	T_EXPECT(&t, 100, .flags = "F.", .seq = 1, .ack = 1);
	T_SEND(&t, 150, .flags = "F.", .seq = 1, .ack = 2);
	T_EXPECT(&t, 150, .flags = ".", .seq = 2, .ack = 2);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_TIME_WAIT);
	assert_int_equal(T_COUNTER(&t, "TcpExtTW"), 1);
	T_SEND(&t, 1000, .flags = "S", .seq = 100000);
	T_EXPECT(&t, 1000, .flags = ".", .seq = 2, .ack = 2);
	T_SEND(&t, 2000, .flags = "R", .seq = 5);
	T_NOTHING(&t, 3000);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_TIME_WAIT);
	T_SEND(&t, 3000, .flags = "R", .seq = 2);
	T_NOTHING(&t, 4000);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_CLOSE); /* not closed by the app: fd stays */
	char b[4];
	assert_int_equal(synq_read(t.s, fd, b, sizeof(b), t_now(&t)), 0);
	assert_int_equal(synq_next_deadline(t.s), UINT64_MAX);
	t_free(&t);
}

/* An orphan in FIN-WAIT-2 whose peer never closes dies silently after tcp_fin_timeout */
static void test_orphan_fin_wait2_timeout(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 65535, 0);
	t_advance(&t, 100);
	assert_int_equal(synq_close(t.s, fd, t_now(&t)), 0);
	T_EXPECT(&t, 100, .flags = "F.", .seq = 1, .ack = 1);
	T_SEND(&t, 150, .flags = ".", .seq = 1, .ack = 2);
	T_NOTHING(&t, 60149);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_FIN_WAIT2);
	T_NOTHING(&t, 60150);
	assert_int_equal(state_of(&t, fd), -1);
	assert_int_equal(T_COUNTER(&t, "TcpExtTW"), 1); /* counted once, when scheduled */
	assert_int_equal(T_COUNTER(&t, "TcpOutRsts"), 0);
	assert_int_equal(T_COUNTER(&t, "TcpEstabResets"), 0);
	t_free(&t);
}

/* Passive close: FIN => CLOSE-WAIT (read() 0, POLLIN|POLLRDHUP); close() => LAST-ACK, the FIN is
 * retransmitted on the RTO; its ACK => CLOSED */
static void test_passive_close(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 65535, 0);
	T_SEND(&t, 100, .flags = "F.", .seq = 1, .ack = 1);
	T_EXPECT(&t, 100, .flags = ".", .seq = 1, .ack = 2);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_CLOSE_WAIT);
	assert_int_equal(synq_poll(t.s, fd), SYNQ_POLLIN | SYNQ_POLLRDHUP | SYNQ_POLLOUT);
	char b[4];
	assert_int_equal(rd(&t, 110, fd, b, sizeof(b)), 0);
	assert_int_equal(wr(&t, 120, fd, 10), 10); /* CLOSE-WAIT still sends */
	T_EXPECT(&t, 120, .flags = "P.", .seq = 1, .ack = 2, .len = 10);
	T_SEND(&t, 170, .flags = ".", .seq = 2, .ack = 11);
	t_advance(&t, 200);
	assert_int_equal(synq_close(t.s, fd, t_now(&t)), 0);
	T_EXPECT(&t, 200, .flags = "F.", .seq = 11, .ack = 2);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_LAST_ACK);
	T_EXPECT(&t, 450, .flags = "F.", .seq = 11, .ack = 2);
	T_SEND(&t, 500, .flags = ".", .seq = 2, .ack = 12);
	assert_int_equal(state_of(&t, fd), -1);
	T_NOTHING(&t, 100000);
	assert_int_equal(T_COUNTER(&t, "TcpExtTW"), 0);
	assert_int_equal(T_COUNTER(&t, "TcpEstabResets"), 0);
	assert_int_equal(T_COUNTER(&t, "TcpCurrEstab"), 0);
	t_free(&t);
}

/* Simultaneous close: FIN in FIN-WAIT-1 => ACK and CLOSING; the ACK of our FIN => TIME-WAIT */
static void test_simultaneous_close(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 65535, 0);
	t_advance(&t, 100);
	assert_int_equal(synq_close(t.s, fd, t_now(&t)), 0);
	T_EXPECT(&t, 100, .flags = "F.", .seq = 1, .ack = 1);
	T_SEND(&t, 120, .flags = "F.", .seq = 1, .ack = 1);
	T_EXPECT(&t, 120, .flags = ".", .seq = 2, .ack = 2);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_CLOSING);
	T_SEND(&t, 150, .flags = ".", .seq = 2, .ack = 2);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_TIME_WAIT);
	T_NOTHING(&t, 60149);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_TIME_WAIT);
	T_NOTHING(&t, 60150);
	assert_int_equal(state_of(&t, fd), -1);
	assert_int_equal(T_COUNTER(&t, "TcpExtTW"), 1);
	t_free(&t);
}

/* shutdown(SHUT_WR) with data queued behind the peer's window: the FIN follows the data, on
 * the last segment (tcp_send_fin sets FIN on the tail skb); the socket still receives */
static void test_shutdown_wr_after_data(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 1000, 0);
	assert_int_equal(wr(&t, 100, fd, 1500), 1500);
	/* the send MSS is half the window (tcp_bound_to_half_wnd); PSH on the second segment: it
	 * ends more than max_window/2 after the last PSH (forced_push) */
	T_EXPECT(&t, 100, .flags = ".", .seq = 1, .ack = 1, .len = 500);
	T_EXPECT(&t, 100, .flags = "P.", .seq = 501, .ack = 1, .len = 500);
	t_advance(&t, 110);
	assert_int_equal(synq_shutdown(t.s, fd, SYNQ_SHUT_WR, t_now(&t)), 0);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_FIN_WAIT1);
	assert_int_equal(wr(&t, 120, fd, 10), -EPIPE);
	T_NOTHING(&t, 149);
	T_SEND(&t, 150, .flags = ".", .seq = 1, .ack = 1001, .win = 1000);
	T_EXPECT(&t, 150, .flags = "FP.", .seq = 1001, .ack = 1, .len = 500);
	T_SEND(&t, 200, .flags = ".", .seq = 1, .ack = 1502, .win = 1000);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_FIN_WAIT2);
	assert_int_equal(synq_next_deadline(t.s), UINT64_MAX); /* not an orphan: no timer */
	T_SEND(&t, 250, .flags = "P.", .seq = 1, .ack = 1502, .len = 10);
	T_EXPECT(&t, 250, .flags = ".", .seq = 1502, .ack = 11);
	char b[16];
	assert_int_equal(rd(&t, 260, fd, b, sizeof(b)), 10);
	T_SEND(&t, 300, .flags = "F.", .seq = 11, .ack = 1502);
	T_EXPECT(&t, 300, .flags = ".", .seq = 1502, .ack = 12);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_TIME_WAIT);
	assert_int_equal(rd(&t, 310, fd, b, sizeof(b)), 0);
	t_free(&t);
}

/* close() with unread data: RST|ACK instead of FIN (RFC 2525 2.17, __tcp_close:
 * TCPAbortOnClose); the RST carries the current window (tcp_transmit_skb) */
static void test_close_unread_data(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 65535, 4096);
	T_SEND(&t, 100, .flags = "P.", .seq = 1, .ack = 1, .len = 100);
	T_EXPECT(&t, 100, .flags = ".", .seq = 1, .ack = 101, .win = 3996);
	t_advance(&t, 200);
	assert_int_equal(synq_close(t.s, fd, t_now(&t)), 0);
	T_EXPECT(&t, 200, .flags = "R.", .seq = 1, .ack = 101, .win = 3996);
	assert_int_equal(state_of(&t, fd), -1);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPAbortOnClose"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpEstabResets"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpOutRsts"), 1);
	T_SEND(&t, 300, .flags = "P.", .seq = 101, .ack = 1, .len = 10);
	T_EXPECT(&t, 300, .flags = "R", .seq = 1); /* no socket: RST seq = SEG.ACK */
	t_free(&t);
}

/* Data after close() (FIN-WAIT-1, receive side shut): TCPAbortOnData and tcp_reset(); the RST is
 * tcp_v4_send_reset()'s answer to the segment: R, seq = SEG.ACK (RFC 1122 4.2.2.13) */
static void test_data_after_close(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 65535, 0);
	t_advance(&t, 100);
	assert_int_equal(synq_close(t.s, fd, t_now(&t)), 0);
	T_EXPECT(&t, 100, .flags = "F.", .seq = 1, .ack = 1);
	T_SEND(&t, 150, .flags = "P.", .seq = 1, .ack = 1, .len = 10);
	T_EXPECT(&t, 150, .flags = "R", .seq = 1);
	assert_int_equal(state_of(&t, fd), -1);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPAbortOnData"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpEstabResets"), 0);
	T_NOTHING(&t, 100000);
	t_free(&t);
}

/* Data reaching an orphan in FIN-WAIT-2 (a timewait sock in Linux): RST seq = SEG.ACK and the
 * connection is gone, without TCPAbortOnData (tcp_timewait_state_process: TCP_TW_RST) */
static void test_data_after_close_fin_wait2(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 65535, 0);
	t_advance(&t, 100);
	assert_int_equal(synq_close(t.s, fd, t_now(&t)), 0);
	T_EXPECT(&t, 100, .flags = "F.", .seq = 1, .ack = 1);
	T_SEND(&t, 150, .flags = ".", .seq = 1, .ack = 2);
	T_SEND(&t, 200, .flags = "P.", .seq = 1, .ack = 2, .len = 10);
	T_EXPECT(&t, 200, .flags = "R", .seq = 2);
	assert_int_equal(state_of(&t, fd), -1);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPAbortOnData"), 0);
	t_free(&t);
}

/* ---- RST and ACK acceptance (RFC 5961) ---------------------------------------------------- */

/* 3.2: exactly rcv_nxt resets; in the window but not exact: challenge ACK (seq snd_nxt, ack
 * rcv_nxt); an old sequence number: dropped */
static void test_rst_acceptance(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 65535, 0);
	T_SEND(&t, 100, .flags = "P.", .seq = 1, .ack = 1, .len = 100);
	T_EXPECT(&t, 100, .flags = ".", .seq = 1, .ack = 101);
	T_SEND(&t, 200, .flags = "R", .seq = 1);
	T_SEND(&t, 200, .flags = "R", .seq = 100);
	T_NOTHING(&t, 250);
	T_SEND(&t, 300, .flags = "R.", .seq = 102, .ack = 1);
	T_EXPECT(&t, 300, .flags = ".", .seq = 1, .ack = 101);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPChallengeACK"), 1);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_ESTABLISHED);
	T_SEND(&t, 400, .flags = "R", .seq = 101);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_CLOSE);
	assert_int_equal(synq_poll(t.s, fd) & (SYNQ_POLLERR | SYNQ_POLLHUP | SYNQ_POLLIN),
			 SYNQ_POLLERR | SYNQ_POLLHUP | SYNQ_POLLIN);
	char b[256];
	/* tcp_reset() purges the write queue only: tcp_recvmsg() returns what was received
	 * before the RST, then the error */
	assert_int_equal(rd(&t, 410, fd, b, sizeof(b)), 100);
	assert_int_equal(rd(&t, 410, fd, b, sizeof(b)), -ECONNRESET);
	assert_int_equal(rd(&t, 410, fd, b, sizeof(b)), 0);
	t_free(&t);
}

/* 5.2: an ACK more than max_window behind snd_una draws a challenge ACK and is dropped; an ACK of
 * data never sent is dropped silently in ESTABLISHED (tcp_ack() < 0, tcp_rcv_established) but
 * challenged in the other states (tcp_rcv_state_process) */
static void test_ack_acceptance(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 1000, 0);
	setopt(&t, fd, SYNQ_IPPROTO_TCP, SYNQ_TCP_NODELAY, 1);
	/* a window of 1000: segments of 500 (tcp_bound_to_half_wnd) */
	assert_int_equal(wr(&t, 100, fd, 1000), 1000);
	T_EXPECT(&t, 100, .flags = ".", .seq = 1, .ack = 1, .len = 500);
	T_EXPECT(&t, 100, .flags = "P.", .seq = 501, .ack = 1, .len = 500);
	T_SEND(&t, 150, .flags = ".", .seq = 1, .ack = 1001, .win = 1000);
	assert_int_equal(wr(&t, 200, fd, 1000), 1000);
	T_EXPECT(&t, 200, .flags = ".", .seq = 1001, .ack = 1, .len = 500);
	T_EXPECT(&t, 200, .flags = "P.", .seq = 1501, .ack = 1, .len = 500);
	T_SEND(&t, 250, .flags = ".", .seq = 1, .ack = 2001, .win = 1000);
	/* snd_una 2001, max_window 1000: ack 1000 is too old */
	T_SEND(&t, 300, .flags = "P.", .seq = 1, .ack = 1000, .len = 10);
	T_EXPECT(&t, 300, .flags = ".", .seq = 2001, .ack = 1);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPChallengeACK"), 1);
	/* ack 1001 is old but acceptable: the data is taken */
	T_SEND(&t, 310, .flags = "P.", .seq = 1, .ack = 1001, .len = 10);
	T_EXPECT(&t, 310, .flags = ".", .seq = 2001, .ack = 11);
	/* an ACK of unsent data: the segment (and its data) is dropped, nothing sent */
	T_SEND(&t, 400, .flags = "P.", .seq = 11, .ack = 3001, .len = 10);
	T_NOTHING(&t, 500);
	char b[64];
	assert_int_equal(rd(&t, 500, fd, b, sizeof(b)), 10);
	/* in CLOSE-WAIT the same draws a challenge ACK. (The FIN's ACK is delayed: tcp_fin()
	 * enters ping-pong mode, ato is TCP_ATO_MIN.) */
	T_SEND(&t, 1000, .flags = "F.", .seq = 11, .ack = 2001);
	T_NOTHING(&t, 1039);
	T_EXPECT(&t, 1040, .flags = ".", .seq = 2001, .ack = 12);
	T_SEND(&t, 1100, .flags = ".", .seq = 12, .ack = 3001);
	T_EXPECT(&t, 1100, .flags = ".", .seq = 2001, .ack = 12);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPChallengeACK"), 2);
	t_free(&t);
}

/* ---- PAWS (RFC 7323 5) -------------------------------------------------------------------- */

/* A data segment with a TSval older than ts_recent is dropped with a duplicate ACK
 * (TcpExtPAWSEstab); the ACK echoes the newest in-order TSval */
static void test_paws(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn_ts(&t, 1000, 65535);
	T_SEND(&t, 100, .flags = "P.", .seq = 1, .ack = 1, .len = 100, .ts = 1, .tsval = 2000);
	T_EXPECT(&t, 100, .flags = ".", .seq = 1, .ack = 101, .ts = 1, .tsecr = 2000,
		 .check_tsecr = 1);
	T_SEND(&t, 110, .flags = "P.", .seq = 101, .ack = 1, .len = 100, .ts = 1, .tsval = 1500);
	T_EXPECT(&t, 110, .flags = ".", .seq = 1, .ack = 101, .ts = 1, .tsecr = 2000,
		 .check_tsecr = 1);
	assert_int_equal(T_COUNTER(&t, "TcpExtPAWSEstab"), 1);
	T_SEND(&t, 120, .flags = "P.", .seq = 101, .ack = 1, .len = 100, .ts = 1, .tsval = 2001);
	T_EXPECT(&t, 120, .flags = ".", .seq = 1, .ack = 201, .ts = 1, .tsecr = 2001,
		 .check_tsecr = 1);
	char b[512];
	assert_int_equal(rd(&t, 130, fd, b, sizeof(b)), 200);
	t_free(&t);
}

/* ---- poll -------------------------------------------------------------------------------- */

/* POLLOUT while the send buffer has room (SO_SNDBUF 4608: Linux doubles it, half is data),
 * none when it is full, back after the ACK (SYNQ_EV_WRITABLE) */
static void test_poll_send_space(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = conn(&t, 1000, 65535, 0);
	setopt(&t, fd, SYNQ_SOL_SOCKET, SYNQ_SO_SNDBUF, 4608);
	assert_int_equal(synq_poll(t.s, fd), SYNQ_POLLOUT);
	setopt(&t, fd, SYNQ_IPPROTO_TCP, SYNQ_TCP_NODELAY, 1);
	assert_int_equal(wr(&t, 100, fd, 10000), 4608);
	assert_int_equal(wr(&t, 100, fd, 10), -EAGAIN);
	assert_int_equal(synq_poll(t.s, fd) & SYNQ_POLLOUT, 0);
	for (int i = 0; i < 4; i++)
		T_EXPECT(&t, 100, .flags = ".", .seq = 1 + 1000 * i, .ack = 1, .len = 1000);
	T_EXPECT(&t, 100, .flags = "P.", .seq = 4001, .ack = 1, .len = 608);
	int before = t.ev_count[SYNQ_EV_WRITABLE];
	T_SEND(&t, 150, .flags = ".", .seq = 1, .ack = 4609);
	assert_int_equal(synq_poll(t.s, fd), SYNQ_POLLOUT);
	assert_int_equal(t.ev_count[SYNQ_EV_WRITABLE], before + 1);
	t_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_in_order_delivery),
	    cmocka_unit_test(test_zero_window),
	    cmocka_unit_test(test_out_of_order_dupack),
	    cmocka_unit_test(test_overlap_trimmed),
	    cmocka_unit_test(test_segmentation),
	    cmocka_unit_test(test_nagle),
	    cmocka_unit_test(test_nagle_minshall),
	    cmocka_unit_test(test_peer_window),
	    cmocka_unit_test(test_rto_from_handshake),
	    cmocka_unit_test(test_rto_passive_child),
	    cmocka_unit_test(test_rto_max),
	    cmocka_unit_test(test_karn_keeps_backoff),
	    cmocka_unit_test(test_ts_rtt_after_retransmission),
	    cmocka_unit_test(test_retries2),
	    cmocka_unit_test(test_retries2_small),
	    cmocka_unit_test(test_active_close),
	    cmocka_unit_test(test_time_wait_rst_and_syn),
	    cmocka_unit_test(test_orphan_fin_wait2_timeout),
	    cmocka_unit_test(test_passive_close),
	    cmocka_unit_test(test_simultaneous_close),
	    cmocka_unit_test(test_shutdown_wr_after_data),
	    cmocka_unit_test(test_close_unread_data),
	    cmocka_unit_test(test_data_after_close),
	    cmocka_unit_test(test_data_after_close_fin_wait2),
	    cmocka_unit_test(test_rst_acceptance),
	    cmocka_unit_test(test_ack_acceptance),
	    cmocka_unit_test(test_paws),
	    cmocka_unit_test(test_poll_send_space),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
