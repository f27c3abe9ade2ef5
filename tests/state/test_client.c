/*
 * test_client.c — the active side (SPEC §G, B38-B42, §10; FINDINGS §6-§8, §11): synq is the
 * client 10.0.0.1:8080, the hand-made peer 10.0.0.2:40001 answers with "S.". Literal times (ms).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "tdsl.h"

#define P 40001
/* a Linux 6.18 SYN: mss 1460, sackOK, TS, nop, wscale (1 for synq's 64 KiB buffers), win 64240 */
#define CSYN .flags = "S", .seq = 0, .win = 64240, .mss = 1460, .sack_perm = 1, .ts = 1, .ws = 11
/* the peer's SYN-ACK without timestamps (as SPEC §10's packetdrill runs) */
#define PSYNACK .flags = "S.", .seq = 0, .ack = 1, .mss = 1460, .isn = 5000
#define ACK11 .flags = ".", .seq = 1, .ack = 1

static int so_error(struct t_env *t, int fd)
{
	int v = -1;
	size_t l = sizeof(v);
	assert_int_equal(synq_getsockopt(t->s, fd, SYNQ_SOL_SOCKET, SYNQ_SO_ERROR, &v, &l), 0);
	return v;
}

static int state_of(struct t_env *t, int fd)
{
	struct synq_sock_info in;
	if (synq_sock_info(t->s, fd, &in))
		return -1;
	return in.state;
}

static void setopt(struct t_env *t, int fd, int level, int name, int v)
{
	assert_int_equal(synq_setsockopt(t->s, fd, level, name, &v, sizeof(v)), 0);
}

/* connect at 0, SYN-ACK at 50 ms, final ACK at 50 ms */
static int established(struct t_env *t)
{
	int fd = t_connect(t, 0, P);
	T_EXPECT(t, 0, CSYN);
	T_SEND(t, 50, PSYNACK);
	T_EXPECT(t, 50, ACK11);
	assert_int_equal(state_of(t, fd), SYNQ_TCP_ESTABLISHED);
	return fd;
}

/* The SYN, connect() -EINPROGRESS, the SYN-ACK, the final ACK, CONNECTED, POLLOUT, SO_ERROR 0 */
static void test_connect(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = t_connect(&t, 0, P);
	T_EXPECT(&t, 0, CSYN, .tsecr = 0, .check_tsecr = 1);
	/* option layout of tcp_options_write(): mss, sackOK, TS, nop, wscale */
	const uint8_t *o = t.last_pkt + 40;
	assert_int_equal(t.last_len, 60);
	const uint8_t want[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10};
	assert_memory_equal(o, want, sizeof(want));
	assert_int_equal(o[16], 1);
	assert_int_equal(o[17], 3);
	assert_int_equal(o[18], 3);
	assert_int_equal(T_COUNTER(&t, "TcpActiveOpens"), 1);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_SYN_SENT);
	struct synq_addr p = {T_PEER_IP, P};
	assert_int_equal(synq_connect(t.s, fd, &p, t_now(&t)), -EALREADY);
	assert_int_equal(synq_poll(t.s, fd) & (SYNQ_POLLOUT | SYNQ_POLLIN | SYNQ_POLLERR), 0);
	char b[8] = "x";
	assert_int_equal(synq_write(t.s, fd, b, 1, t_now(&t)), -EAGAIN); /* sk_stream_wait_connect */
	assert_int_equal(synq_read(t.s, fd, b, 1, t_now(&t)), -EAGAIN);
	T_SEND(&t, 50, .flags = "S.", .seq = 0, .ack = 1, .mss = 1460, .sack_perm = 1, .ts = 1,
	       .tsval = 7777, .tsecr = 0, .ws = 8, .isn = 5000);
	T_EXPECT(&t, 50, ACK11, .ts = 1, .tsecr = 7777, .check_tsecr = 1);
	assert_int_equal(t.ev_count[SYNQ_EV_CONNECTED], 1);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_ESTABLISHED);
	assert_int_equal(so_error(&t, fd), 0);
	assert_int_equal(synq_poll(t.s, fd), SYNQ_POLLOUT);
	assert_int_equal(synq_connect(t.s, fd, &p, t_now(&t)), -EISCONN);
	int mss = 0;
	size_t l = sizeof(mss);
	synq_getsockopt(t.s, fd, SYNQ_IPPROTO_TCP, SYNQ_TCP_MAXSEG, &mss, &l);
	assert_int_equal(mss, 1448); /* 1460 - 12 bytes of timestamps */
	assert_int_equal(T_COUNTER(&t, "TcpCurrEstab"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpOutSegs"), 2);
	T_NOTHING(&t, 100000);
	t_free(&t);
}

/* B38 with the defaults (syn_retries 6, syn_linear_timeouts 4): SYNs at 0,1,2,3,4,5,7,11,19,35,
 * 67 s, connect() fails with ETIMEDOUT at 131 s (FINDINGS §8: 134.4 s with timer slack) */
static void test_b38_syn_schedule_default(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = t_connect(&t, 0, P);
	const uint64_t at[] = {0, 1000, 2000, 3000, 4000, 5000, 7000, 11000, 19000, 35000, 67000};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		T_EXPECT(&t, at[i], CSYN);
	T_NOTHING(&t, 130999);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_SYN_SENT);
	assert_int_equal(so_error(&t, fd), 0);
	T_NOTHING(&t, 131000);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_CLOSE);
	assert_int_equal(t.ev_count[SYNQ_EV_ERROR], 1);
	assert_int_equal(t.last_err, -ETIMEDOUT);
	/* tcp_poll() after tcp_done(): shutdown both ways, an error pending */
	assert_int_equal(synq_poll(t.s, fd), SYNQ_POLLIN | SYNQ_POLLOUT | SYNQ_POLLERR | SYNQ_POLLHUP |
						     SYNQ_POLLRDHUP);
	assert_int_equal(so_error(&t, fd), ETIMEDOUT);
	assert_int_equal(so_error(&t, fd), 0);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPTimeouts"), 11); /* every RTO, the last included */
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPSynRetrans"), 10);
	assert_int_equal(T_COUNTER(&t, "TcpRetransSegs"), 10);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPAbortOnTimeout"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpAttemptFails"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpActiveOpens"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpOutRsts"), 0);
	assert_int_equal(synq_next_deadline(t.s), UINT64_MAX);
	t_free(&t);
}

/* B38, §10: TCP_SYNCNT=2 (linear 4): SYNs at 0..5 s one second apart, ETIMEDOUT at 7 s
 * (tcp_model_timeout(2, 1 s) = 7 s); read() reports it once, then end of stream */
static void test_b38_syncnt2(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = synq_socket(t.s);
	setopt(&t, fd, SYNQ_IPPROTO_TCP, SYNQ_TCP_SYNCNT, 2);
	struct synq_addr a = {T_SERVER_IP, T_SERVER_PORT}, p = {T_PEER_IP, P};
	assert_int_equal(synq_bind(t.s, fd, &a), 0);
	assert_int_equal(synq_connect(t.s, fd, &p, t_now(&t)), -EINPROGRESS);
	for (uint64_t ms = 0; ms <= 5000; ms += 1000)
		T_EXPECT(&t, ms, CSYN);
	T_NOTHING(&t, 6999);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_SYN_SENT);
	T_NOTHING(&t, 7000);
	char b[4];
	assert_int_equal(synq_read(t.s, fd, b, sizeof(b), t_now(&t)), -ETIMEDOUT);
	assert_int_equal(synq_read(t.s, fd, b, sizeof(b), t_now(&t)), 0);
	assert_int_equal(synq_write(t.s, fd, b, 1, t_now(&t)), -EPIPE);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPTimeouts"), 6);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPSynRetrans"), 5);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPAbortOnTimeout"), 1);
	t_free(&t);
}

/* B38 before 6.5 (tcp_syn_linear_timeouts=0) with TCP_SYNCNT=3: 0, 1, 3, 7 s, ETIMEDOUT at 15 s */
static void test_b38_classic_backoff(void **state)
{
	const char *set[] = {"net.ipv4.tcp_syn_linear_timeouts=0", NULL};
	struct t_env t;
	t_init(&t, set);
	int fd = synq_socket(t.s);
	setopt(&t, fd, SYNQ_IPPROTO_TCP, SYNQ_TCP_SYNCNT, 3);
	struct synq_addr a = {T_SERVER_IP, T_SERVER_PORT}, p = {T_PEER_IP, P};
	assert_int_equal(synq_bind(t.s, fd, &a), 0);
	assert_int_equal(synq_connect(t.s, fd, &p, t_now(&t)), -EINPROGRESS);
	T_EXPECT(&t, 0, CSYN);
	T_EXPECT(&t, 1000, CSYN);
	T_EXPECT(&t, 3000, CSYN);
	T_EXPECT(&t, 7000, CSYN);
	T_NOTHING(&t, 14999);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_SYN_SENT);
	T_NOTHING(&t, 15000);
	assert_int_equal(so_error(&t, fd), ETIMEDOUT);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPTimeouts"), 4);
	t_free(&t);
}

/* B38, FINDINGS §8 S6-accept: a SYN-ACK after two retransmissions completes the connection; with
 * no RTT sample (Karn) the RTO restarts at 3 s (RFC 6298 5.7, tcp_init_metrics()) */
static void test_b38_late_synack(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = t_connect(&t, 0, P);
	T_EXPECT(&t, 0, CSYN);
	T_EXPECT(&t, 1000, CSYN);
	T_EXPECT(&t, 2000, CSYN);
	T_SEND(&t, 2050, PSYNACK);
	T_EXPECT(&t, 2050, ACK11);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_ESTABLISHED);
	assert_int_equal(so_error(&t, fd), 0);
	assert_int_equal(t.ev_count[SYNQ_EV_CONNECTED], 1);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPSynRetrans"), 2);
	assert_int_equal(synq_next_deadline(t.s), UINT64_MAX);
	assert_int_equal(synq_write(t.s, fd, "hello", 5, t_now(&t)), 5);
	T_EXPECT(&t, 2050, .flags = "P.", .seq = 1, .ack = 1, .len = 5);
	T_EXPECT(&t, 5050, .flags = "P.", .seq = 1, .ack = 1, .len = 5);
	t_free(&t);
}

/* RST|ACK to the SYN: ECONNREFUSED (tcp_reset() in SYN-SENT), AttemptFails. An RST without ACK
 * is dropped; an RST|ACK that does not acknowledge our SYN too (RFC 9293 3.10.7.3), and Linux
 * then retransmits the SYN after TCP_TIMEOUT_MIN, 2 jiffies (tcp_rcv_synsent_state_process) */
static void test_rst_to_syn(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = t_connect(&t, 0, P);
	T_EXPECT(&t, 0, CSYN);
	T_SEND(&t, 30, .flags = "R", .seq = 0, .isn = 5000);
	T_SEND(&t, 40, .flags = "R.", .seq = 0, .ack = 7);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_SYN_SENT);
	T_EXPECT(&t, 48, CSYN);
	T_SEND(&t, 50, .flags = "R.", .seq = 0, .ack = 1);
	T_NOTHING(&t, 5000);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_CLOSE);
	assert_int_equal(t.last_err, -ECONNREFUSED);
	assert_int_equal(synq_poll(t.s, fd) & SYNQ_POLLERR, SYNQ_POLLERR);
	assert_int_equal(so_error(&t, fd), ECONNREFUSED);
	assert_int_equal(T_COUNTER(&t, "TcpAttemptFails"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpEstabResets"), 0);
	assert_int_equal(T_COUNTER(&t, "TcpOutRsts"), 0);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPSynRetrans"), 1);
	assert_int_equal(synq_next_deadline(t.s), UINT64_MAX);
	t_free(&t);
}

/* RFC 9293 3.10.7.3: an ACK that does not acknowledge our SYN draws RST seq = SEG.ACK; Linux
 * then retransmits the SYN after TCP_TIMEOUT_MIN (tcp_rcv_synsent_state_process: "Previous
 * FIN/ACK or RST/ACK might be ignored") instead of waiting for the 1 s RTO */
static void test_synsent_bad_ack(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = t_connect(&t, 0, P);
	T_EXPECT(&t, 0, CSYN);
	T_SEND(&t, 50, .flags = ".", .seq = 300, .ack = 12345, .isn = 5000);
	T_EXPECT(&t, 50, .flags = "R", .seq = 12345);
	T_EXPECT(&t, 58, CSYN);
	T_EXPECT(&t, 1058, CSYN); /* the linear 1 s phase goes on */
	T_SEND(&t, 1100, PSYNACK);
	T_EXPECT(&t, 1100, ACK11);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_ESTABLISHED);
	t_free(&t);
}

/* B39, §10, FINDINGS §11: an ESTABLISHED client answers a retransmitted SYN-ACK with a challenge
 * ACK (TCPSYNChallenge, TCPChallengeACK, TcpInErrs); a second one 200 ms later gets nothing
 * (TCPACKSkippedChallenge, 500 ms per socket); 600 ms after the first, an ACK again */
static void test_b39_challenge_ack_to_synack(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = established(&t);
	T_SEND(&t, 1050, PSYNACK);
	T_EXPECT(&t, 1050, ACK11);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPSYNChallenge"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPChallengeACK"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpInErrs"), 1);
	T_SEND(&t, 1250, PSYNACK);
	T_NOTHING(&t, 1600);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPACKSkippedChallenge"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPSYNChallenge"), 2);
	assert_int_equal(T_COUNTER(&t, "TcpInErrs"), 2);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPChallengeACK"), 1);
	T_SEND(&t, 1650, PSYNACK);
	T_EXPECT(&t, 1650, ACK11);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_ESTABLISHED);
	assert_int_equal(t.ev_count[SYNQ_EV_CONNECTED], 1);
	t_free(&t);
}

/* The same SYN-ACK in another synchronized state (FIN-WAIT-2 after shutdown(SHUT_WR)): a
 * challenge ACK and TCPSYNChallenge, but no TcpInErrs (tcp_rcv_state_process() calls
 * tcp_validate_incoming() with syn_inerr = 0) */
static void test_b39_challenge_ack_fin_wait2(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = established(&t);
	t_advance(&t, 100);
	assert_int_equal(synq_shutdown(t.s, fd, SYNQ_SHUT_WR, t_now(&t)), 0);
	T_EXPECT(&t, 100, .flags = "F.", .seq = 1, .ack = 1);
	T_SEND(&t, 150, .flags = ".", .seq = 1, .ack = 2);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_FIN_WAIT2);
	T_SEND(&t, 1050, PSYNACK);
	T_EXPECT(&t, 1050, .flags = ".", .seq = 2, .ack = 1);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPSYNChallenge"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPChallengeACK"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpInErrs"), 0);
	t_free(&t);
}

/* B40/B41, FINDINGS §4: RST (R only) at rcv_nxt = server ISN + 1: read() ECONNRESET, then
 * write() EPIPE; TcpEstabResets */
static void test_b40_rst_exact(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = established(&t);
	T_SEND(&t, 100, .flags = "R", .seq = 1);
	T_NOTHING(&t, 1000);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_CLOSE);
	assert_int_equal(synq_poll(t.s, fd), SYNQ_POLLIN | SYNQ_POLLOUT | SYNQ_POLLERR | SYNQ_POLLHUP |
						     SYNQ_POLLRDHUP);
	char b[4];
	assert_int_equal(synq_read(t.s, fd, b, sizeof(b), t_now(&t)), -ECONNRESET);
	assert_int_equal(synq_write(t.s, fd, b, 1, t_now(&t)), -EPIPE);
	assert_int_equal(synq_read(t.s, fd, b, sizeof(b), t_now(&t)), 0);
	assert_int_equal(T_COUNTER(&t, "TcpEstabResets"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpCurrEstab"), 0);
	assert_int_equal(t.ev_count[SYNQ_EV_ERROR], 1);
	assert_int_equal(t.last_err, -ECONNRESET);
	t_free(&t);
}

/* B41: the pending error is reported by the first write() too (sk_stream_error) */
static void test_b41_rst_then_write(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = established(&t);
	T_SEND(&t, 100, .flags = "R", .seq = 1);
	char b[4] = "x";
	assert_int_equal(synq_write(t.s, fd, b, 1, t_now(&t)), -ECONNRESET);
	assert_int_equal(synq_write(t.s, fd, b, 1, t_now(&t)), -EPIPE);
	assert_int_equal(so_error(&t, fd), 0);
	t_free(&t);
}

/* RFC 5961 3.2: an RST in the window but not at rcv_nxt draws a challenge ACK and the connection
 * stays; an RST outside the window is dropped silently */
static void test_rst_in_window_and_out(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = established(&t);
	T_SEND(&t, 100, .flags = "R", .seq = 1000);
	T_EXPECT(&t, 100, ACK11);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPChallengeACK"), 1);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_ESTABLISHED);
	T_SEND(&t, 700, .flags = "R", .seq = 1 + 70000); /* beyond rcv_nxt + 65535 */
	T_SEND(&t, 700, .flags = "R", .seq = 0);         /* before rcv_nxt */
	T_SEND(&t, 700, .flags = "R.", .seq = 0, .ack = 1);
	T_NOTHING(&t, 2000);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_ESTABLISHED);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPChallengeACK"), 1);
	/* the exact one still works */
	T_SEND(&t, 2000, .flags = "R.", .seq = 1, .ack = 1);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_CLOSE);
	assert_int_equal(so_error(&t, fd), ECONNRESET);
	t_free(&t);
}

/* tcp_reset_check(): in CLOSE-WAIT an RST at rcv_nxt - 1 (the peer's FIN) is accepted too;
 * tcp_reset() in CLOSE-WAIT reports EPIPE */
static void test_rst_close_wait_fin_seq(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = established(&t);
	T_SEND(&t, 100, .flags = "F.", .seq = 1, .ack = 1);
	T_EXPECT(&t, 100, .flags = ".", .seq = 1, .ack = 2);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_CLOSE_WAIT);
	T_SEND(&t, 200, .flags = "R", .seq = 1);
	T_NOTHING(&t, 300);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_CLOSE);
	assert_int_equal(so_error(&t, fd), EPIPE);
	assert_int_equal(T_COUNTER(&t, "TcpEstabResets"), 1);
	t_free(&t);
}

/* B42, FINDINGS §7: an idle client with nothing to send runs no timer at all */
static void test_b42_idle_no_timer(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = established(&t);
	assert_int_equal(synq_next_deadline(t.s), UINT64_MAX);
	T_NOTHING(&t, 10000000);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_ESTABLISHED);
	/* TCP_USER_TIMEOUT does nothing without outstanding data */
	setopt(&t, fd, SYNQ_IPPROTO_TCP, SYNQ_TCP_USER_TIMEOUT, 1000);
	T_NOTHING(&t, 10100000);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_ESTABLISHED);
	assert_int_equal(synq_next_deadline(t.s), UINT64_MAX);
	t_free(&t);
}

static int keepalive_client(struct t_env *t)
{
	int fd = synq_socket(t->s);
	setopt(t, fd, SYNQ_SOL_SOCKET, SYNQ_SO_KEEPALIVE, 1);
	setopt(t, fd, SYNQ_IPPROTO_TCP, SYNQ_TCP_KEEPIDLE, 10);
	setopt(t, fd, SYNQ_IPPROTO_TCP, SYNQ_TCP_KEEPINTVL, 5);
	setopt(t, fd, SYNQ_IPPROTO_TCP, SYNQ_TCP_KEEPCNT, 3);
	struct synq_addr a = {T_SERVER_IP, T_SERVER_PORT}, p = {T_PEER_IP, P};
	assert_int_equal(synq_bind(t->s, fd, &a), 0);
	assert_int_equal(synq_connect(t->s, fd, &p, t_now(t)), -EINPROGRESS);
	T_EXPECT(t, 0, CSYN);
	T_SEND(t, 50, PSYNACK);
	T_EXPECT(t, 50, ACK11);
	return fd;
}

/* keepalive probe: tcp_write_wakeup() -> tcp_xmit_probe_skb(): ACK, seq snd_una - 1, no data */
#define PROBE .flags = ".", .seq = 0, .ack = 1, .len = 0

/* B42 with SO_KEEPALIVE (idle 10, intvl 5, cnt 3): probes at +10, +15, +20 s; unanswered, the
 * 4th firing sends RST|ACK and fails with ETIMEDOUT (tcp_keepalive_timer: tcp_send_active_reset
 * then tcp_write_err) */
static void test_b42_keepalive_unanswered(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = keepalive_client(&t);
	T_EXPECT(&t, 10050, PROBE);
	T_EXPECT(&t, 15050, PROBE);
	T_EXPECT(&t, 20050, PROBE);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_ESTABLISHED);
	T_EXPECT(&t, 25050, .flags = "R.", .seq = 1, .ack = 1);
	T_NOTHING(&t, 100000);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_CLOSE);
	assert_int_equal(so_error(&t, fd), ETIMEDOUT);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPKeepAlive"), 3);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPAbortOnTimeout"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpOutRsts"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpEstabResets"), 1);
	t_free(&t);
}

/* B42, FINDINGS §7 S5-keepalive: the listener that forgot the connection answers the first probe
 * with RST seq = SEG.ACK (= our rcv_nxt): ECONNRESET */
static void test_b42_keepalive_rst(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = keepalive_client(&t);
	T_EXPECT(&t, 10050, PROBE);
	T_SEND(&t, 10100, .flags = "R", .seq = 1);
	T_NOTHING(&t, 100000);
	char b[4];
	assert_int_equal(synq_read(t.s, fd, b, sizeof(b), t_now(&t)), -ECONNRESET);
	assert_int_equal(synq_write(t.s, fd, b, 1, t_now(&t)), -EPIPE);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPKeepAlive"), 1);
	t_free(&t);
}

/* FINDINGS §7 S5-keepalive (the real connection): an answered probe resets the probe count and
 * the idle clock: the next probe comes keepidle after the answer */
static void test_b42_keepalive_answered(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = keepalive_client(&t);
	T_EXPECT(&t, 10050, PROBE);
	T_SEND(&t, 10100, ACK11);
	T_NOTHING(&t, 20099);
	T_EXPECT(&t, 20100, PROBE);
	T_EXPECT(&t, 25100, PROBE);
	T_SEND(&t, 25150, ACK11);
	T_EXPECT(&t, 35150, PROBE);
	T_EXPECT(&t, 40150, PROBE);
	T_EXPECT(&t, 45150, PROBE);
	T_EXPECT(&t, 50150, .flags = "R.", .seq = 1, .ack = 1);
	assert_int_equal(so_error(&t, fd), ETIMEDOUT);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPKeepAlive"), 6);
	t_free(&t);
}

/* SO_KEEPALIVE switched on later: the first probe is keepidle after the setsockopt
 * (tcp_set_keepalive -> inet_csk_reset_keepalive_timer(keepalive_time_when)) */
static void test_b42_keepalive_enabled_late(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = established(&t);
	setopt(&t, fd, SYNQ_IPPROTO_TCP, SYNQ_TCP_KEEPIDLE, 10);
	t_advance(&t, 30000);
	synq_on_timeout(t.s, t_now(&t)); /* setsockopt takes no time: let the stack's clock catch up */
	setopt(&t, fd, SYNQ_SOL_SOCKET, SYNQ_SO_KEEPALIVE, 1);
	T_EXPECT(&t, 40000, PROBE);
	T_EXPECT(&t, 115000, PROBE); /* tcp_keepalive_intvl = 75 s */
	setopt(&t, fd, SYNQ_SOL_SOCKET, SYNQ_SO_KEEPALIVE, 0);
	T_NOTHING(&t, 1000000);
	assert_int_equal(synq_next_deadline(t.s), UINT64_MAX);
	t_free(&t);
}

/* TCP_USER_TIMEOUT with unacknowledged data: the RTO is clamped to what is left
 * (tcp_clamp_rto_to_user_timeout) and the connection gives up with ETIMEDOUT, no RST, when the
 * first transmission is user_timeout old (retransmits_timed_out) */
static void test_user_timeout(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = established(&t); /* RTT 50 ms: RTO 250 ms */
	setopt(&t, fd, SYNQ_IPPROTO_TCP, SYNQ_TCP_USER_TIMEOUT, 3000);
	t_advance(&t, 100);
	assert_int_equal(synq_write(t.s, fd, "abcdefghij", 10, t_now(&t)), 10);
	T_EXPECT(&t, 100, .flags = "P.", .seq = 1, .ack = 1, .len = 10);
	T_EXPECT(&t, 350, .flags = "P.", .seq = 1, .ack = 1, .len = 10);
	T_EXPECT(&t, 850, .flags = "P.", .seq = 1, .ack = 1, .len = 10);
	T_EXPECT(&t, 1850, .flags = "P.", .seq = 1, .ack = 1, .len = 10);
	T_NOTHING(&t, 3099);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_ESTABLISHED);
	T_NOTHING(&t, 3100);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_CLOSE);
	assert_int_equal(so_error(&t, fd), ETIMEDOUT);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPAbortOnTimeout"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpOutRsts"), 0);
	assert_int_equal(T_COUNTER(&t, "TcpEstabResets"), 1);
	t_free(&t);
}

/* simultaneous open (RFC 9293 3.5 figure 7): SYN in SYN-SENT => SYN-RECEIVED and a SYN-ACK with
 * our ISN; the peer's ACK completes it */
static void test_simultaneous_open(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = t_connect(&t, 0, P);
	T_EXPECT(&t, 0, CSYN);
	T_SEND(&t, 10, .flags = "S", .seq = 0, .mss = 1460, .isn = 9000);
	T_EXPECT(&t, 10, .flags = "S.", .seq = 0, .ack = 1, .mss = 1460);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_SYN_RECV);
	T_SEND(&t, 20, .flags = ".", .seq = 1, .ack = 1);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_ESTABLISHED);
	assert_int_equal(t.ev_count[SYNQ_EV_CONNECTED], 1);
	assert_int_equal(so_error(&t, fd), 0);
	t_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_connect),
	    cmocka_unit_test(test_b38_syn_schedule_default),
	    cmocka_unit_test(test_b38_syncnt2),
	    cmocka_unit_test(test_b38_classic_backoff),
	    cmocka_unit_test(test_b38_late_synack),
	    cmocka_unit_test(test_rst_to_syn),
	    cmocka_unit_test(test_synsent_bad_ack),
	    cmocka_unit_test(test_b39_challenge_ack_to_synack),
	    cmocka_unit_test(test_b39_challenge_ack_fin_wait2),
	    cmocka_unit_test(test_b40_rst_exact),
	    cmocka_unit_test(test_b41_rst_then_write),
	    cmocka_unit_test(test_rst_in_window_and_out),
	    cmocka_unit_test(test_rst_close_wait_fin_seq),
	    cmocka_unit_test(test_b42_idle_no_timer),
	    cmocka_unit_test(test_b42_keepalive_unanswered),
	    cmocka_unit_test(test_b42_keepalive_rst),
	    cmocka_unit_test(test_b42_keepalive_answered),
	    cmocka_unit_test(test_b42_keepalive_enabled_late),
	    cmocka_unit_test(test_user_timeout),
	    cmocka_unit_test(test_simultaneous_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
