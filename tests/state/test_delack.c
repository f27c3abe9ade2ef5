/*
 * test_delack.c — delayed ACKs on the receive side, step by step, as Linux 6.18 sends them:
 * quick-ack mode at the start (tcp_event_data_recv, tcp_incr_quickack), the delayed-ACK timer
 * (tcp_send_delayed_ack, tcp_delack_timer_handler: TcpExtDelayedACKs), more than one full
 * segment (__tcp_ack_snd_check), the FIN (tcp_fin: ping-pong mode), replies that carry the ACK
 * (tcp_event_ack_sent) and make the connection interactive (tcp_event_data_sent,
 * net.ipv4.tcp_pingpong_thresh), old data (tcp_send_dupack: TcpExtDelayedACKLost), reads
 * (tcp_cleanup_rbuf), TCP_QUICKACK and the timer wheel (net.synq.timer_hz).
 *
 * synq is the server 10.0.0.1:8080; the peer 10.0.0.2:40001 answers the SYN-ACK at 50 ms, so
 * srtt is 50 ms and the RTO 250 ms. Times are literal ms. The tests/pkt/delack-*.pkt scripts
 * show the same rules on the kernel.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "tdsl.h"

#define P 40001

static void setopt(struct t_env *t, int fd, int name, int v)
{
	assert_int_equal(synq_setsockopt(t->s, fd, SYNQ_IPPROTO_TCP, name, &v, sizeof(v)), 0);
}

static int getopt_quickack(struct t_env *t, int fd)
{
	int v = -1;
	size_t l = sizeof(v);
	assert_int_equal(synq_getsockopt(t->s, fd, SYNQ_IPPROTO_TCP, SYNQ_TCP_QUICKACK, &v, &l), 0);
	return v;
}

static long rd(struct t_env *t, uint64_t ms, int fd, size_t n)
{
	static char buf[65536];
	t_advance(t, ms);
	return synq_read(t->s, fd, buf, n, t_now(t));
}

static long wr(struct t_env *t, uint64_t ms, int fd, size_t n)
{
	static char buf[4096];
	memset(buf, 'x', sizeof(buf));
	t_advance(t, ms);
	return synq_write(t->s, fd, buf, n, t_now(t));
}

/* A listener, the peer's SYN at 0 (MSS mss, window 65535, timestamps if ts, no window scale),
 * its ACK at 50 ms; returns the accepted child. The SYN-ACK offers 64240 (44 * 1460), 65160
 * (45 * 1448) with timestamps. */
static int server(struct t_env *t, uint16_t mss, int ts)
{
	t_listen(t, 5);
	T_SEND(t, 0, .flags = "S", .seq = 0, .mss = mss, .ts = ts, .tsval = 100);
	T_EXPECT(t, 0, .flags = "S.", .seq = 0, .ack = 1, .win = ts ? 65160 : 64240);
	T_SEND(t, 50, .flags = ".", .seq = 1, .ack = 1, .ts = ts, .tsval = 150,
	       .tsecr = ts ? t_last_tsval(t) : 0);
	int c = synq_accept(t->s, t->lfd, NULL);
	assert_true(c >= 0);
	return c;
}

/* the peer's data, seq (relative) and length */
#define DATA(ms, sq, n) T_SEND(t, ms, .flags = ".", .seq = (sq), .ack = 1, .len = (n))
#define PDATA(ms, sq, n) T_SEND(t, ms, .flags = "P.", .seq = (sq), .ack = 1, .len = (n))
/* our pure ACK */
#define ACK(ms, a) T_EXPECT(t, ms, .flags = ".", .seq = 1, .ack = (a))

/* 16 full segments (MSS 1000) 1 ms apart from 100 ms, each ACKed at once: the quick ACKs */
static void quick_acks(struct t_env *t)
{
	for (uint32_t i = 0; i < 16; i++) {
		DATA(100 + i, 1 + 1000 * i, 1000);
		ACK(100 + i, 1001 + 1000 * i);
	}
}

/* The first data starts quick-ack mode: rcv_wnd / (2 * rcv_mss) = 64240 / 2000 = 32, at most
 * TCP_MAX_QUICKACKS = 16 quick ACKs; rcv_mss follows the peer's segments (536 to start,
 * tcp_initialize_rcv_mss, then 1000). The 17th segment waits ato = TCP_ATO_MIN = 40 ms, a
 * timer synq_next_deadline() reports. */
static void test_quick_acks_then_delayed(void **state)
{
	struct t_env t_, *t = &t_;
	t_init(t, NULL);
	server(t, 1000, 0);
	quick_acks(t);
	DATA(116, 16001, 1000);
	assert_int_equal(synq_next_deadline(t->s), 1000 * 1000000ull + 156 * 1000000ull);
	T_NOTHING(t, 155);
	ACK(156, 17001);
	assert_int_equal(T_COUNTER(t, "TcpExtDelayedACKs"), 1);
	assert_int_equal(T_COUNTER(t, "TcpExtDelayedACKLost"), 0);
	t_free(t);
}

/* More than one full segment unacknowledged: __tcp_ack_snd_check() ACKs at once only if the
 * window it would offer is not smaller than the last one. Unread data shrinks it (synq offers
 * its free space, as Linux does with default buffers), so two unread segments still wait; once
 * the application reads, the second segment is ACKed at once.
 * The delays show ato at work: the timer that fired at 156 ms doubled it to 80 ms
 * (tcp_delack_timer_handler), but tcp_send_delayed_ack() bounds it by srtt (50 ms; on the
 * kernel usecs_to_jiffies() makes that 13 jiffies, 52 ms, fired at 52 to 56 ms: checked on
 * 6.18.44); two segments 1 ms apart then make it 80 / 2 + 20 = 60 ms (tcp_event_data_recv). */
static void test_two_full_segments(void **state)
{
	struct t_env t_, *t = &t_;
	t_init(t, NULL);
	int c = server(t, 1000, 0);
	quick_acks(t);
	DATA(116, 16001, 1000);
	ACK(156, 17001);
	/* two unread segments: both wait for the timer, 50 ms (srtt) after the first */
	DATA(200, 17001, 1000);
	DATA(201, 18001, 1000);
	T_NOTHING(t, 249);
	ACK(250, 19001);
	assert_int_equal(T_COUNTER(t, "TcpExtDelayedACKs"), 2);
	/* the application reads: one segment waits, the second is ACKed at once */
	assert_int_equal(rd(t, 300, c, 65536), 19000);
	T_NOTHING(t, 300); /* the window did not double: no update */
	DATA(400, 19001, 1000);
	assert_int_equal(rd(t, 401, c, 65536), 1000);
	DATA(402, 20001, 1000);
	ACK(402, 21001);
	T_NOTHING(t, 600);
	assert_int_equal(T_COUNTER(t, "TcpExtDelayedACKs"), 2);
	t_free(t);
}

/* A read that empties the queue of a pushed segment sends the ACK still due
 * (tcp_cleanup_rbuf: ICSK_ACK_PUSHED outside ping-pong mode); of an unpushed full segment it
 * does not, nor does a read that leaves data behind */
static void test_read_sends_pushed_ack(void **state)
{
	struct t_env t_, *t = &t_;
	t_init(t, NULL);
	int c = server(t, 1000, 0);
	quick_acks(t);
	assert_int_equal(rd(t, 120, c, 65536), 16000);
	PDATA(300, 16001, 1000);
	assert_int_equal(rd(t, 305, c, 500), 500);
	T_NOTHING(t, 309);
	assert_int_equal(rd(t, 310, c, 65536), 500);
	ACK(310, 17001);
	DATA(400, 17001, 1000);
	assert_int_equal(rd(t, 405, c, 65536), 1000);
	T_NOTHING(t, 439);
	ACK(440, 18001); /* the timer */
	assert_int_equal(T_COUNTER(t, "TcpExtDelayedACKs"), 1);
	t_free(t);
}

/* A FIN after data is ACKed ato (40 ms) late: tcp_fin() enters ping-pong mode, so quick-ack
 * mode no longer applies; the timer sends the ACK (TcpExtDelayedACKs). The socket is in
 * CLOSE-WAIT meanwhile, and the socket's own FIN later carries nothing new. */
static void test_fin_after_data(void **state)
{
	struct t_env t_, *t = &t_;
	t_init(t, NULL);
	int c = server(t, 1460, 0);
	PDATA(100, 1, 10);
	ACK(100, 11);
	T_SEND(t, 200, .flags = "F.", .seq = 11, .ack = 1);
	struct synq_sock_info in;
	assert_int_equal(synq_sock_info(t->s, c, &in), 0);
	assert_int_equal(in.state, SYNQ_TCP_CLOSE_WAIT);
	assert_int_equal(getopt_quickack(t, c), 0); /* ping-pong mode */
	T_NOTHING(t, 239);
	ACK(240, 12);
	assert_int_equal(T_COUNTER(t, "TcpExtDelayedACKs"), 1);
	assert_int_equal(getopt_quickack(t, c), 1); /* the timer left ping-pong mode */
	assert_int_equal(rd(t, 300, c, 100), 10);
	assert_int_equal(rd(t, 300, c, 100), 0);
	assert_int_equal(synq_close(t->s, c, t_now(t)), 0);
	T_EXPECT(t, 300, .flags = "F.", .seq = 1, .ack = 12);
	t_free(t);
}

/* The application answers a FIN before the timer: its FIN carries the ACK (tcp_event_ack_sent
 * clears the pending one), and no delayed ACK follows */
static void test_fin_ack_carried_by_close(void **state)
{
	struct t_env t_, *t = &t_;
	t_init(t, NULL);
	int c = server(t, 1460, 0);
	PDATA(100, 1, 10);
	ACK(100, 11);
	T_SEND(t, 200, .flags = "F.", .seq = 11, .ack = 1);
	assert_int_equal(rd(t, 210, c, 100), 10);
	assert_int_equal(synq_close(t->s, c, t_now(t)), 0);
	T_EXPECT(t, 210, .flags = "F.", .seq = 1, .ack = 12);
	T_SEND(t, 260, .flags = ".", .seq = 12, .ack = 2);
	T_NOTHING(t, 500);
	assert_int_equal(T_COUNTER(t, "TcpExtDelayedACKs"), 0);
	t_free(t);
}

/* A FIN with no data ever received: ato is still 0, so the delayed ACK is due at once (on the
 * kernel, the next jiffy) */
static void test_fin_first(void **state)
{
	struct t_env t_, *t = &t_;
	t_init(t, NULL);
	server(t, 1460, 0);
	T_SEND(t, 100, .flags = "F.", .seq = 1, .ack = 1);
	ACK(100, 2);
	assert_int_equal(T_COUNTER(t, "TcpExtDelayedACKs"), 1);
	t_free(t);
}

/* Request/response: a reply within ato of the request makes the connection interactive
 * (tcp_event_data_sent, tcp_pingpong_thresh 1); the next request's ACK waits and the reply
 * carries it; a request left without reply is ACKed by the timer, which leaves ping-pong mode,
 * and the next one is ACKed at once (quick ACKs are left). */
static void test_pingpong_piggyback(void **state)
{
	struct t_env t_, *t = &t_;
	t_init(t, NULL);
	int c = server(t, 1460, 0);
	assert_int_equal(getopt_quickack(t, c), 1);
	PDATA(100, 1, 10);
	ACK(100, 11);
	assert_int_equal(wr(t, 110, c, 20), 20);
	T_EXPECT(t, 110, .flags = "P.", .seq = 1, .ack = 11, .len = 20);
	assert_int_equal(getopt_quickack(t, c), 0);
	T_SEND(t, 150, .flags = ".", .seq = 11, .ack = 21);
	PDATA(200, 11, 10);
	T_NOTHING(t, 209);
	assert_int_equal(wr(t, 210, c, 20), 20);
	T_EXPECT(t, 210, .flags = "P.", .seq = 21, .ack = 21, .len = 20);
	T_SEND(t, 250, .flags = ".", .seq = 21, .ack = 41);
	T_NOTHING(t, 299);
	assert_int_equal(T_COUNTER(t, "TcpExtDelayedACKs"), 0);
	PDATA(300, 21, 10);
	T_NOTHING(t, 339);
	T_EXPECT(t, 340, .flags = ".", .seq = 41, .ack = 31);
	assert_int_equal(T_COUNTER(t, "TcpExtDelayedACKs"), 1);
	assert_int_equal(getopt_quickack(t, c), 1);
	PDATA(400, 31, 10);
	T_EXPECT(t, 400, .flags = ".", .seq = 41, .ack = 41);
	t_free(t);
}

/* A reply later than ato is no reply: the connection stays out of ping-pong mode */
static void test_late_reply_not_pingpong(void **state)
{
	struct t_env t_, *t = &t_;
	t_init(t, NULL);
	int c = server(t, 1460, 0);
	PDATA(100, 1, 10);
	ACK(100, 11);
	assert_int_equal(wr(t, 140, c, 20), 20); /* 40 ms: not < ato */
	T_EXPECT(t, 140, .flags = "P.", .seq = 1, .ack = 11, .len = 20);
	assert_int_equal(getopt_quickack(t, c), 1);
	T_SEND(t, 150, .flags = ".", .seq = 11, .ack = 21);
	PDATA(200, 11, 10);
	T_EXPECT(t, 200, .flags = ".", .seq = 21, .ack = 21);
	t_free(t);
}

/* net.ipv4.tcp_pingpong_thresh = 3 (TCP_PINGPONG_THRESH of earlier kernels): three replies
 * within ato before the ACKs wait (tests/pkt/delack-pingpong-thresh.pkt on the kernel) */
static void test_pingpong_thresh(void **state)
{
	static const char *const set[] = {"net.ipv4.tcp_pingpong_thresh=3", NULL};
	struct t_env t_, *t = &t_;
	t_init(t, set);
	int c = server(t, 1460, 0);
	uint32_t q = 1, r = 1;
	for (int i = 0; i < 3; i++) {
		uint64_t ms = 100 + 100 * (uint64_t)i;
		PDATA(ms, q, 10);
		T_EXPECT(t, ms, .flags = ".", .seq = r, .ack = q + 10);
		assert_int_equal(wr(t, ms + 10, c, 20), 20);
		T_EXPECT(t, ms + 10, .flags = "P.", .seq = r, .ack = q + 10, .len = 20);
		q += 10;
		r += 20;
		T_SEND(t, ms + 50, .flags = ".", .seq = q, .ack = r);
	}
	assert_int_equal(getopt_quickack(t, c), 0);
	PDATA(400, q, 10);
	T_NOTHING(t, 409);
	assert_int_equal(wr(t, 410, c, 20), 20);
	T_EXPECT(t, 410, .flags = "P.", .seq = r, .ack = q + 10, .len = 20);
	t_free(t);
}

/* Old data means our ACK was lost or late: an ACK at once, TcpExtDelayedACKLost, quick-ack
 * mode again (out of ping-pong mode); both when the old segment fails the sequence check
 * (before rcv_wup: tcp_send_dupack) and when its ACK is still delayed (tcp_data_queue) */
static void test_old_data(void **state)
{
	struct t_env t_, *t = &t_;
	t_init(t, NULL);
	int c = server(t, 1460, 0);
	PDATA(100, 1, 10);
	ACK(100, 11);
	setopt(t, c, SYNQ_TCP_QUICKACK, 0);
	PDATA(200, 1, 10); /* before rcv_wup */
	ACK(200, 11);
	assert_int_equal(T_COUNTER(t, "TcpExtDelayedACKLost"), 1);
	assert_int_equal(getopt_quickack(t, c), 1);
	PDATA(210, 11, 10);
	ACK(210, 21);
	setopt(t, c, SYNQ_TCP_QUICKACK, 0);
	PDATA(300, 21, 10);
	T_NOTHING(t, 309);
	PDATA(310, 21, 10); /* its ACK still delayed */
	ACK(310, 31);
	assert_int_equal(T_COUNTER(t, "TcpExtDelayedACKLost"), 2);
	T_NOTHING(t, 500);
	assert_int_equal(T_COUNTER(t, "TcpExtDelayedACKs"), 0);
	t_free(t);
}

/* Timestamps: the delayed ACK echoes the TSval of the earliest segment it acknowledges
 * (tcp_replace_ts_recent updates ts_recent only up to rcv_wup, RFC 7323 4.3) */
static void test_delayed_ack_tsecr(void **state)
{
	struct t_env t_, *t = &t_;
	t_init(t, NULL);
	int c = server(t, 1460, 1);
	T_SEND(t, 100, .flags = "P.", .seq = 1, .ack = 1, .len = 10, .ts = 1, .tsval = 1000);
	T_EXPECT(t, 100, .flags = ".", .seq = 1, .ack = 11, .ts = 1, .tsecr = 1000, .check_tsecr = 1);
	setopt(t, c, SYNQ_TCP_QUICKACK, 0);
	T_SEND(t, 200, .flags = "P.", .seq = 11, .ack = 1, .len = 10, .ts = 1, .tsval = 2000);
	T_SEND(t, 210, .flags = "P.", .seq = 21, .ack = 1, .len = 10, .ts = 1, .tsval = 3000);
	T_NOTHING(t, 239);
	T_EXPECT(t, 240, .flags = ".", .seq = 1, .ack = 31, .ts = 1, .tsecr = 2000, .check_tsecr = 1);
	t_free(t);
}

/* TCP_QUICKACK 1 leaves ping-pong mode and sends the ACK still due if tcp_cleanup_rbuf()
 * agrees: here the pushed segment was read (in ping-pong mode the read alone did not) */
static void test_quickack_sockopt(void **state)
{
	struct t_env t_, *t = &t_;
	t_init(t, NULL);
	int c = server(t, 1460, 0);
	PDATA(100, 1, 10);
	ACK(100, 11);
	setopt(t, c, SYNQ_TCP_QUICKACK, 0);
	assert_int_equal(getopt_quickack(t, c), 0);
	PDATA(200, 11, 10);
	assert_int_equal(rd(t, 205, c, 100), 20);
	T_NOTHING(t, 210);
	setopt(t, c, SYNQ_TCP_QUICKACK, 1);
	ACK(210, 21);
	assert_int_equal(getopt_quickack(t, c), 1);
	T_NOTHING(t, 500);
	t_free(t);
}

/* net.synq.timer_hz=250: the delayed ACK is armed for jiffies + 10 and the timer wheel fires
 * it on the next tick: a FIN at 202 ms (jiffy 50) is ACKed at jiffy 61, 244 ms */
static void test_timer_wheel(void **state)
{
	static const char *const set[] = {"net.synq.timer_hz=250", NULL};
	struct t_env t_, *t = &t_;
	t_init(t, set);
	server(t, 1460, 0);
	PDATA(100, 1, 10);
	ACK(100, 11);
	T_SEND(t, 202, .flags = "F.", .seq = 11, .ack = 1);
	T_NOTHING(t, 243);
	ACK(244, 12);
	t_free(t);
}

/* The client side. Under TCP_DEFER_ACCEPT the handshake's ACK is saved for the first write
 * (tcp_rcv_synsent_state_process), at most TCP_DELACK_MAX (200 ms) */
static void test_client_defer_accept(void **state)
{
	struct t_env t_, *t = &t_;
	t_init(t, NULL);
	int fd = synq_socket(t->s);
	setopt(t, fd, SYNQ_TCP_DEFER_ACCEPT, 5);
	struct synq_addr a = {T_SERVER_IP, T_SERVER_PORT}, p = {T_PEER_IP, P};
	assert_int_equal(synq_bind(t->s, fd, &a), 0);
	assert_int_equal(synq_connect(t->s, fd, &p, t_now(t)), -EINPROGRESS);
	T_EXPECT(t, 0, .flags = "S", .seq = 0);
	T_SEND(t, 50, .flags = "S.", .seq = 0, .ack = 1, .mss = 1460, .isn = 7000);
	T_NOTHING(t, 249);
	T_EXPECT(t, 250, .flags = ".", .seq = 1, .ack = 1);
	assert_int_equal(T_COUNTER(t, "TcpExtDelayedACKs"), 1);
	/* the first data: quick ACK */
	T_SEND(t, 300, .flags = "P.", .seq = 1, .ack = 1, .len = 100);
	T_EXPECT(t, 300, .flags = ".", .seq = 1, .ack = 101);
	t_free(t);
}

/* An ACK that finds the output ring full stays due: the delayed-ACK timer retries it in
 * TCP_DELACK_MAX (__tcp_send_ack() without a buffer); SynqOutRingDrops counts the loss */
static void test_ack_retried_when_ring_full(void **state)
{
	static const char *const set[] = {"net.synq.out_ring_bytes=4096", NULL};
	struct t_env t_, *t = &t_;
	t_init(t, set);
	int c = server(t, 1460, 0);
	setopt(t, c, SYNQ_TCP_NODELAY, 1);
	/* 1460 + 1460 + 1040 bytes: three records of 2 + 40 + len bytes leave 10 bytes free */
	assert_int_equal(wr(t, 60, c, 3960), 3960);
	PDATA(100, 1, 10);
	assert_int_equal(T_COUNTER(t, "SynqOutRingDrops"), 1);
	T_EXPECT(t, 100, .flags = ".", .seq = 1, .ack = 1, .len = 1460);
	T_EXPECT(t, 100, .flags = ".", .seq = 1461, .ack = 1, .len = 1460);
	T_EXPECT(t, 100, .flags = "P.", .seq = 2921, .ack = 1, .len = 1040);
	T_NOTHING(t, 299);
	T_EXPECT(t, 300, .flags = ".", .seq = 3961, .ack = 11);
	assert_int_equal(T_COUNTER(t, "TcpExtDelayedACKs"), 1);
	/* (any segment before then would have drawn it at once: the ACK is due in quick-ack
	 * mode) */
	T_SEND(t, 305, .flags = ".", .seq = 11, .ack = 3961);
	T_NOTHING(t, 600);
	t_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quick_acks_then_delayed),
	    cmocka_unit_test(test_two_full_segments),
	    cmocka_unit_test(test_read_sends_pushed_ack),
	    cmocka_unit_test(test_fin_after_data),
	    cmocka_unit_test(test_fin_ack_carried_by_close),
	    cmocka_unit_test(test_fin_first),
	    cmocka_unit_test(test_pingpong_piggyback),
	    cmocka_unit_test(test_late_reply_not_pingpong),
	    cmocka_unit_test(test_pingpong_thresh),
	    cmocka_unit_test(test_old_data),
	    cmocka_unit_test(test_delayed_ack_tsecr),
	    cmocka_unit_test(test_quickack_sockopt),
	    cmocka_unit_test(test_timer_wheel),
	    cmocka_unit_test(test_client_defer_accept),
	    cmocka_unit_test(test_ack_retried_when_ring_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
