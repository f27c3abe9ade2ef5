/*
 * test_icmp.c — ICMP input (SPEC B11; Linux 6.18's icmp_rcv / tcp_v4_err / tcp_req_err), state by
 * state with literal timestamps (ms): a request removed or kept, a connect() aborted with the
 * errno of icmp_err_convert[], a soft error on a connected socket, and the counter of every
 * path a message can take. The kernel behaviour was measured on 6.18.44 with upstream
 * packetdrill (tests/pkt/b11-*.pkt and the report of the commit that added this file).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "tdsl.h"
#include "core/wire.h"

#define P 40001
#define ROUTER 0x0a000909u /* 10.0.9.9: a router on the path */

#define LSYN(p) .port = (p), .flags = "S", .seq = 0, .win = 64240, .mss = 1460
#define SYNACK(p) .port = (p), .flags = "S.", .seq = 0, .ack = 1
#define CSYN .flags = "S", .seq = 0

/* RFC 1071, one word at a time, complemented (independent of wire.c) */
static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	for (; n > 1; p += 2, n -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (n)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An ICMP message from ROUTER to the stack. Unless raw_len, it quotes the IP header and the first
 * 8 bytes of a TCP segment the stack sent to the peer port `port`: 10.0.0.1:8080 -> 10.0.0.2:port,
 * sequence number abs_seq. raw_len: an ICMP message of that many bytes (zeros after the header).
 * Returns the packet length. */
static size_t icmp_pkt(uint8_t *b, uint8_t type, uint8_t code, uint16_t port, uint32_t abs_seq,
		       size_t raw_len)
{
	size_t ilen = raw_len ? raw_len : 8 + 20 + 8;
	memset(b, 0, 20 + ilen);
	b[0] = 0x45;
	wire_enc16(b + 2, (uint16_t)(20 + ilen));
	b[8] = 64;
	b[9] = 1;
	wire_enc32(b + 12, ROUTER);
	wire_enc32(b + 16, T_SERVER_IP);
	wire_enc16(b + 10, csum(b, 20));
	uint8_t *m = b + 20;
	m[0] = type;
	m[1] = code;
	if (!raw_len) {
		uint8_t *q = m + 8;
		q[0] = 0x45;
		wire_enc16(q + 2, 40);
		q[8] = 63;
		q[9] = 6;
		wire_enc32(q + 12, T_SERVER_IP);
		wire_enc32(q + 16, T_PEER_IP);
		wire_enc16(q + 10, csum(q, 20));
		wire_enc16(q + 20, T_SERVER_PORT);
		wire_enc16(q + 22, port);
		wire_enc32(q + 24, abs_seq);
	}
	wire_enc16(m + 2, csum(m, ilen));
	return 20 + ilen;
}

/* inject an error quoting the stack's relative seq rel on the flow of `port` */
static int icmp(struct t_env *t, uint64_t ms, uint8_t type, uint8_t code, uint16_t port,
		uint32_t rel)
{
	uint8_t b[128];
	size_t n = icmp_pkt(b, type, code, port, t_stack_isn(t, port) + rel, 0);
	return t_inject(t, ms, b, n);
}

static int synq_len(struct t_env *t, int *young)
{
	struct synq_sock_info in;
	assert_int_equal(synq_sock_info(t->s, t->lfd, &in), 0);
	if (young)
		*young = (int)in.young;
	return (int)in.synq_len;
}

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

/* B11: Host Unreachable quoting the SYN-ACK (seq = snt_isn): the request is removed silently,
 * Q and Y drop, ListenDrops (global and the listener's), nothing is sent; the final ACK then
 * meets the listener alone (B30) */
static void test_b11_host_unreachable(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 5);
	T_SEND(&t, 0, LSYN(P));
	T_EXPECT(&t, 0, SYNACK(P));
	int young;
	assert_int_equal(synq_len(&t, &young), 1);
	assert_int_equal(young, 1);
	assert_int_equal(icmp(&t, 100, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, P, 0), 0);
	assert_int_equal(synq_len(&t, &young), 0);
	assert_int_equal(young, 0);
	assert_string_equal(t.last_gone_code, "icmp_error");
	assert_string_equal(t.last_drop_code, "icmp_error");
	assert_string_equal(t.last_drop_rule, "B11");
	assert_int_equal(T_COUNTER(&t, "TcpExtListenDrops"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpExtListenOverflows"), 0);
	struct synq_sock_info in;
	synq_sock_info(t.s, t.lfd, &in);
	assert_int_equal(in.drops, 1);
	assert_int_equal(T_COUNTER(&t, "IcmpInMsgs"), 1);
	assert_int_equal(T_COUNTER(&t, "IcmpInDestUnreachs"), 1);
	assert_int_equal(T_COUNTER(&t, "IcmpInErrors"), 0);
	assert_int_equal(T_COUNTER(&t, "IpInReceives"), 2);
	assert_int_equal(T_COUNTER(&t, "IpInDelivers"), 2);
	assert_int_equal(T_COUNTER(&t, "TcpInSegs"), 1); /* the SYN only */
	T_NOTHING(&t, 1499); /* no SYN-ACK at 1 s */
	T_SEND(&t, 1500, .port = P, .flags = ".", .seq = 1, .ack = 1);
	T_EXPECT(&t, 1500, .port = P, .flags = "R", .seq = 1);
	assert_int_equal(synq_next_deadline(t.s), UINT64_MAX);
	t_free(&t);
}

/* B11: which types and codes remove a request that they quote exactly, and which leave it */
static void test_b11_types(void **state)
{
	static const struct {
		uint8_t type, code;
		int removes;
		const char *counter; /* the one counter besides IcmpInMsgs and the per-type one */
	} cases[] = {
	    {ICMP_PARAMETERPROB, 0, 1, "TcpExtListenDrops"},
	    {ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 1, "TcpExtListenDrops"},
	    {ICMP_DEST_UNREACH, ICMP_NET_UNREACH, 1, "TcpExtListenDrops"},
	    {ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 1, "TcpExtListenDrops"},
	    {ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, 0, "SynqIcmpIgnored"},
	    {ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, "SynqIcmpIgnored"},
	    {ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 0, "SynqIcmpIgnored"},
	    {ICMP_DEST_UNREACH, 10, 0, "SynqIcmpIgnored"}, /* host prohibited */
	    {ICMP_DEST_UNREACH, 15, 0, "SynqIcmpIgnored"},
	    {ICMP_DEST_UNREACH, 16, 0, "SynqIcmpIgnored"}, /* above 15: not passed to TCP */
	    {ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME, 0, "SynqIcmpIgnored"}, /* measured, 6.18 */
	    {ICMP_SOURCE_QUENCH, 0, 0, "SynqIcmpIgnored"},
	    {ICMP_REDIRECT, 1, 0, "SynqIcmpIgnored"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct t_env t;
		t_init(&t, NULL);
		t_listen(&t, 5);
		T_SEND(&t, 0, LSYN(P));
		T_EXPECT(&t, 0, SYNACK(P));
		assert_int_equal(icmp(&t, 100, cases[i].type, cases[i].code, P, 0), 0);
		if (synq_len(&t, NULL) != !cases[i].removes)
			fail_msg("type %u code %u: Q = %d", cases[i].type, cases[i].code,
				 synq_len(&t, NULL));
		assert_int_equal(T_COUNTER(&t, cases[i].counter), 1);
		assert_int_equal(T_COUNTER(&t, "TcpExtListenDrops"), cases[i].removes);
		assert_int_equal(T_COUNTER(&t, "TcpExtOutOfWindowIcmps"), 0);
		assert_int_equal(T_COUNTER(&t, "IcmpInErrors"), 0);
		if (cases[i].removes) {
			T_NOTHING(&t, 10000);
		} else { /* B12: the timer still runs; the final ACK completes it */
			T_EXPECT(&t, 1000, SYNACK(P));
			T_SEND(&t, 1100, .port = P, .flags = ".", .seq = 1, .ack = 1);
			assert_true(synq_accept(t.s, t.lfd, NULL) >= 0);
		}
		t_free(&t);
	}
}

/* B11, RFC 5927 4.1: a quoted seq other than snt_isn (even snt_isn + 1) is ignored with
 * OutOfWindowIcmps, whatever the type */
static void test_b11_out_of_window(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 5);
	T_SEND(&t, 0, LSYN(P));
	T_EXPECT(&t, 0, SYNACK(P));
	assert_int_equal(icmp(&t, 100, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, P, 1), 0);
	assert_int_equal(icmp(&t, 100, ICMP_PARAMETERPROB, 0, P, 0xffffffffu), 0);
	assert_int_equal(icmp(&t, 100, ICMP_SOURCE_QUENCH, 0, P, 77), 0);
	assert_int_equal(T_COUNTER(&t, "TcpExtOutOfWindowIcmps"), 3);
	assert_string_equal(t.last_drop_code, "icmp_out_of_window");
	int young;
	assert_int_equal(synq_len(&t, &young), 1);
	assert_int_equal(young, 1);
	assert_int_equal(T_COUNTER(&t, "TcpExtListenDrops"), 0);
	T_EXPECT(&t, 1000, SYNACK(P));
	t_free(&t);
}

/* B11: Y drops only for a request whose timer has not fired; the others keep theirs */
static void test_b11_young_and_old(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 5);
	T_SEND(&t, 0, LSYN(P));
	T_EXPECT(&t, 0, SYNACK(P));
	T_SEND(&t, 500, LSYN(P + 1));
	T_EXPECT(&t, 500, SYNACK(P + 1));
	T_EXPECT(&t, 1000, SYNACK(P)); /* P's timer fired: no longer young */
	int young;
	assert_int_equal(synq_len(&t, &young), 2);
	assert_int_equal(young, 1);
	assert_int_equal(icmp(&t, 1100, ICMP_TIME_EXCEEDED, 0, P, 0), 0);
	assert_int_equal(synq_len(&t, &young), 1);
	assert_int_equal(young, 1);
	assert_int_equal(icmp(&t, 1100, ICMP_TIME_EXCEEDED, 0, P + 1, 0), 0);
	assert_int_equal(synq_len(&t, &young), 0);
	assert_int_equal(young, 0);
	assert_int_equal(T_COUNTER(&t, "TcpExtListenDrops"), 2);
	assert_int_equal(T_COUNTER(&t, "IcmpInTimeExcds"), 2);
	T_NOTHING(&t, 70000);
	t_free(&t);
}

/* B11 with B17: a request of a closed listener is removed by the ICMP, which frees the
 * listener kept for it */
static void test_b11_closed_listener(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 5);
	T_SEND(&t, 0, LSYN(P));
	T_EXPECT(&t, 0, SYNACK(P));
	assert_int_equal(synq_close(t.s, t.lfd, t_now(&t)), 0);
	assert_int_equal(icmp(&t, 100, ICMP_PARAMETERPROB, 0, P, 0), 0);
	assert_int_equal(T_COUNTER(&t, "TcpExtListenDrops"), 1);
	assert_string_equal(t.last_gone_code, "icmp_error");
	assert_int_equal(synq_sock_next(t.s, -1), -1);
	T_NOTHING(&t, 10000);
	t_free(&t);
}

/* Every message that is not acted on bumps one drop counter (IcmpInMsgs always first) */
static void test_icmp_counters(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 5);
	uint8_t b[128];
	size_t n;

	/* bad checksum: IcmpInCsumErrors + IcmpInErrors, -EBADMSG, no per-type counter */
	n = icmp_pkt(b, ICMP_DEST_UNREACH, 1, P, 0, 0);
	b[30] ^= 1;
	assert_int_equal(t_inject(&t, 0, b, n), -EBADMSG);
	assert_int_equal(T_COUNTER(&t, "IcmpInCsumErrors"), 1);
	assert_int_equal(T_COUNTER(&t, "IcmpInErrors"), 1);
	assert_int_equal(T_COUNTER(&t, "IcmpInDestUnreachs"), 0);
	assert_string_equal(t.last_drop_code, "bad_icmp_checksum");
	/* shorter than the header (4 bytes, good checksum) */
	n = icmp_pkt(b, ICMP_DEST_UNREACH, 1, P, 0, 4);
	assert_int_equal(t_inject(&t, 0, b, n), -EBADMSG);
	assert_int_equal(T_COUNTER(&t, "IcmpInErrors"), 2);
	/* unknown type: IcmpInErrors, no per-type counter, taken */
	n = icmp_pkt(b, 30, 0, P, 0, 0);
	assert_int_equal(t_inject(&t, 0, b, n), 0);
	assert_int_equal(T_COUNTER(&t, "IcmpInErrors"), 3);
	assert_string_equal(t.last_drop_code, "icmp_unknown_type");
	/* an error whose quote stops before the IP header ends, or before the ports */
	n = icmp_pkt(b, ICMP_DEST_UNREACH, 1, P, 0, 8 + 12);
	assert_int_equal(t_inject(&t, 0, b, n), -EBADMSG);
	assert_int_equal(T_COUNTER(&t, "IcmpInDestUnreachs"), 1);
	n = icmp_pkt(b, ICMP_TIME_EXCEEDED, 0, P, 0, 0);
	wire_enc16(b + 2, (uint16_t)(n - 4));
	b[10] = b[11] = 0;
	wire_enc16(b + 10, csum(b, 20));
	b[22] = b[23] = 0;
	wire_enc16(b + 22, csum(b + 20, n - 24));
	assert_int_equal(t_inject(&t, 0, b, n - 4), -EBADMSG);
	assert_int_equal(T_COUNTER(&t, "IcmpInTimeExcds"), 1);
	assert_int_equal(T_COUNTER(&t, "IcmpInErrors"), 5);
	assert_string_equal(t.last_drop_code, "icmp_short_quote");
	/* no connection: IcmpInErrors (the listener itself is never matched) */
	n = icmp_pkt(b, ICMP_DEST_UNREACH, 1, P, 0, 0);
	assert_int_equal(t_inject(&t, 0, b, n), 0);
	assert_int_equal(T_COUNTER(&t, "IcmpInErrors"), 6);
	assert_string_equal(t.last_drop_code, "icmp_no_socket");
	/* a quoted UDP datagram: no UDP socket either */
	n = icmp_pkt(b, ICMP_DEST_UNREACH, 3, P, 0, 0);
	b[37] = 17;
	b[22] = b[23] = 0;
	wire_enc16(b + 22, csum(b + 20, n - 20));
	assert_int_equal(t_inject(&t, 0, b, n), 0);
	assert_int_equal(T_COUNTER(&t, "IcmpInErrors"), 7);
	/* echo request, timestamp, a quoted ICMP datagram: ignored (no replies from synq) */
	n = icmp_pkt(b, ICMP_ECHO, 0, P, 0, 64);
	assert_int_equal(t_inject(&t, 0, b, n), 0);
	n = icmp_pkt(b, ICMP_TIMESTAMP, 0, P, 0, 20);
	assert_int_equal(t_inject(&t, 0, b, n), 0);
	n = icmp_pkt(b, ICMP_DEST_UNREACH, 1, P, 0, 0);
	b[37] = 1;
	b[22] = b[23] = 0;
	wire_enc16(b + 22, csum(b + 20, n - 20));
	assert_int_equal(t_inject(&t, 0, b, n), 0);
	assert_int_equal(T_COUNTER(&t, "SynqIcmpIgnored"), 3);
	assert_int_equal(T_COUNTER(&t, "IcmpInEchos"), 1);
	assert_int_equal(T_COUNTER(&t, "IcmpInTimestamps"), 1);
	assert_int_equal(T_COUNTER(&t, "IcmpInMsgs"), 10);
	assert_int_equal(T_COUNTER(&t, "IpInDelivers"), 10);
	assert_int_equal(T_COUNTER(&t, "IpInUnknownProtos"), 0);
	assert_int_equal(T_COUNTER(&t, "TcpInSegs"), 0);
	/* to another address: IpInAddrErrors, not ICMP */
	n = icmp_pkt(b, ICMP_DEST_UNREACH, 1, P, 0, 0);
	wire_enc32(b + 16, 0x0a000063u);
	b[10] = b[11] = 0;
	wire_enc16(b + 10, csum(b, 20));
	assert_int_equal(t_inject(&t, 0, b, n), -EPROTONOSUPPORT);
	assert_int_equal(T_COUNTER(&t, "IpInAddrErrors"), 1);
	assert_int_equal(T_COUNTER(&t, "IcmpInMsgs"), 10);
	T_NOTHING(&t, 1000);
	assert_int_equal(T_COUNTER(&t, "IpOutRequests"), 0);
	t_free(&t);
}

/* tcp_v4_err in SYN-SENT: every Destination Unreachable code but 4, Parameter Problem and Time
 * Exceeded abort the connect at once with icmp_err_convert[]'s errno (TcpAttemptFails, nothing
 * sent); Fragmentation Needed, Source Quench and Redirect leave it */
static void test_b11_syn_sent(void **state)
{
	static const struct {
		uint8_t type, code;
		int err; /* 0: ignored */
	} cases[] = {
	    {3, 0, ENETUNREACH},   {3, 1, EHOSTUNREACH},  {3, 2, ENOPROTOOPT},
	    {3, 3, ECONNREFUSED},  {3, 4, 0},             {3, 5, EOPNOTSUPP},
	    {3, 6, ENETUNREACH},   {3, 7, EHOSTDOWN},     {3, 8, ENONET},
	    {3, 9, ENETUNREACH},   {3, 10, EHOSTUNREACH}, {3, 11, ENETUNREACH},
	    {3, 12, EHOSTUNREACH}, {3, 13, EHOSTUNREACH}, {3, 14, EHOSTUNREACH},
	    {3, 15, EHOSTUNREACH}, {3, 16, 0},            {12, 0, EPROTO},
	    {11, 0, EHOSTUNREACH}, {11, 1, 0},            {4, 0, 0},
	    {5, 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct t_env t;
		t_init(&t, NULL);
		int fd = t_connect(&t, 0, P);
		T_EXPECT(&t, 0, CSYN);
		assert_int_equal(icmp(&t, 100, cases[i].type, cases[i].code, P, 0), 0);
		if (!cases[i].err) {
			assert_int_equal(state_of(&t, fd), SYNQ_TCP_SYN_SENT);
			assert_int_equal(so_error(&t, fd), 0);
			assert_int_equal(T_COUNTER(&t, "SynqIcmpIgnored"), 1);
			T_EXPECT(&t, 1000, CSYN); /* the SYN timer still runs (B38) */
			t_free(&t);
			continue;
		}
		if (state_of(&t, fd) != SYNQ_TCP_CLOSE)
			fail_msg("type %u code %u: not aborted", cases[i].type, cases[i].code);
		assert_int_equal(t.last_err, -cases[i].err);
		assert_int_equal(t.ev_count[SYNQ_EV_ERROR], 1);
		assert_int_equal(t.ev_count[SYNQ_EV_CLOSED], 1);
		assert_int_equal(T_COUNTER(&t, "TcpAttemptFails"), 1);
		assert_true(synq_poll(t.s, fd) & SYNQ_POLLERR);
		assert_int_equal(so_error(&t, fd), cases[i].err);
		assert_int_equal(so_error(&t, fd), 0);
		char c = 0;
		assert_int_equal(synq_write(t.s, fd, &c, 1, t_now(&t)), -EPIPE);
		T_NOTHING(&t, 200000); /* no SYN retransmission, no RST */
		t_free(&t);
	}
}

/* tcp_v4_err in SYN-SENT: the quoted seq must be in snd_una..snd_nxt = ISN..ISN + 1 */
static void test_b11_syn_sent_window(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = t_connect(&t, 0, P);
	T_EXPECT(&t, 0, CSYN);
	assert_int_equal(icmp(&t, 100, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, P, 2), 0);
	assert_int_equal(icmp(&t, 100, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, P, 0xffffffffu), 0);
	assert_int_equal(T_COUNTER(&t, "TcpExtOutOfWindowIcmps"), 2);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_SYN_SENT);
	T_EXPECT(&t, 1000, CSYN);
	/* ISN + 1 is in the window (between(seq, snd_una, snd_nxt) is inclusive) */
	assert_int_equal(icmp(&t, 1100, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, P, 1), 0);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_CLOSE);
	assert_int_equal(so_error(&t, fd), ECONNREFUSED);
	t_free(&t);
}

/* connect at 0, SYN-ACK at 50 ms, final ACK at 50 ms (the peer's ISN 5000) */
static int established(struct t_env *t)
{
	int fd = t_connect(t, 0, P);
	T_EXPECT(t, 0, CSYN);
	T_SEND(t, 50, .flags = "S.", .seq = 0, .ack = 1, .mss = 1460, .isn = 5000);
	T_EXPECT(t, 50, .flags = ".", .seq = 1, .ack = 1);
	assert_int_equal(state_of(t, fd), SYNQ_TCP_ESTABLISHED);
	return fd;
}

/* tcp_v4_err once connected: a soft error only (sk_err_soft), reported by SO_ERROR once, never
 * by poll, read or write; an acceptable ACK forgets it; out of window: OutOfWindowIcmps */
static void test_b11_established_soft(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = established(&t);
	assert_int_equal(synq_write(t.s, fd, "0123456789", 10, t_now(&t)), 10);
	T_EXPECT(&t, 50, .flags = "P.", .seq = 1, .ack = 1, .len = 10);
	assert_int_equal(icmp(&t, 60, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, P, 1), 0);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_ESTABLISHED);
	assert_int_equal(synq_poll(t.s, fd) & SYNQ_POLLERR, 0);
	assert_int_equal(synq_write(t.s, fd, "ab", 2, t_now(&t)), 2);
	assert_int_equal(so_error(&t, fd), EHOSTUNREACH);
	assert_int_equal(so_error(&t, fd), 0);
	/* a hard code is soft here too; the ACK of the data clears it */
	assert_int_equal(icmp(&t, 60, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, P, 11), 0);
	T_SEND(&t, 70, .flags = ".", .seq = 1, .ack = 11);
	assert_int_equal(so_error(&t, fd), 0);
	/* outside snd_una..snd_nxt */
	assert_int_equal(icmp(&t, 80, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, P, 1), 0);
	assert_int_equal(T_COUNTER(&t, "TcpExtOutOfWindowIcmps"), 1);
	assert_int_equal(so_error(&t, fd), 0);
	/* Fragmentation Needed, Source Quench, Redirect: ignored */
	assert_int_equal(icmp(&t, 80, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, P, 11), 0);
	assert_int_equal(icmp(&t, 80, ICMP_SOURCE_QUENCH, 0, P, 11), 0);
	assert_int_equal(icmp(&t, 80, ICMP_REDIRECT, 0, P, 11), 0);
	assert_int_equal(T_COUNTER(&t, "SynqIcmpIgnored"), 3);
	assert_int_equal(so_error(&t, fd), 0);
	assert_int_equal(T_COUNTER(&t, "TcpAttemptFails"), 0);
	assert_int_equal(t.ev_count[SYNQ_EV_ERROR], 0);
	t_free(&t);
}

/* tcp_write_err(): a soft error replaces ETIMEDOUT when the connection times out */
static void test_b11_soft_error_on_timeout(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = established(&t); /* RTT 50 ms: RTO 250 ms */
	int v = 3000;
	assert_int_equal(synq_setsockopt(t.s, fd, SYNQ_IPPROTO_TCP, SYNQ_TCP_USER_TIMEOUT, &v,
					 sizeof(v)),
			 0);
	t_advance(&t, 100);
	assert_int_equal(synq_write(t.s, fd, "abcdefghij", 10, t_now(&t)), 10);
	T_EXPECT(&t, 100, .flags = "P.", .seq = 1, .ack = 1, .len = 10);
	assert_int_equal(icmp(&t, 200, ICMP_TIME_EXCEEDED, 0, P, 1), 0);
	T_EXPECT(&t, 350, .flags = "P.", .seq = 1, .ack = 1, .len = 10);
	T_EXPECT(&t, 850, .flags = "P.", .seq = 1, .ack = 1, .len = 10);
	T_EXPECT(&t, 1850, .flags = "P.", .seq = 1, .ack = 1, .len = 10);
	T_NOTHING(&t, 3100);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_CLOSE);
	assert_int_equal(t.last_err, -EHOSTUNREACH);
	assert_int_equal(so_error(&t, fd), EHOSTUNREACH);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPAbortOnTimeout"), 1);
	t_free(&t);
}

/* tcp_v4_err: TIME-WAIT ignores ICMP, and so does an orphan's FIN-WAIT-2 (a timewait sock in
 * Linux): no OutOfWindowIcmps either */
static void test_b11_time_wait(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = established(&t);
	assert_int_equal(synq_close(t.s, fd, t_now(&t)), 0);
	T_EXPECT(&t, 50, .flags = "F.", .seq = 1, .ack = 1);
	T_SEND(&t, 55, .flags = ".", .seq = 1, .ack = 2);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_FIN_WAIT2);
	assert_int_equal(icmp(&t, 56, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, P, 100), 0);
	assert_int_equal(T_COUNTER(&t, "TcpExtOutOfWindowIcmps"), 0);
	assert_int_equal(T_COUNTER(&t, "SynqIcmpIgnored"), 1);
	T_SEND(&t, 60, .flags = "F.", .seq = 1, .ack = 2);
	T_EXPECT(&t, 60, .flags = ".", .seq = 2, .ack = 2);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_TIME_WAIT);
	assert_int_equal(icmp(&t, 70, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, P, 2), 0);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_TIME_WAIT);
	assert_int_equal(T_COUNTER(&t, "SynqIcmpIgnored"), 2);
	assert_string_equal(t.last_drop_code, "icmp_time_wait");
	t_free(&t);
}

/* simultaneous open: a full socket in SYN-RECV fails like SYN-SENT */
static void test_b11_syn_recv_socket(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	int fd = t_connect(&t, 0, P);
	T_EXPECT(&t, 0, CSYN);
	T_SEND(&t, 10, .flags = "S", .seq = 0, .mss = 1460, .isn = 9000);
	T_EXPECT(&t, 10, .flags = "S.", .seq = 0, .ack = 1, .mss = 1460);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_SYN_RECV);
	assert_int_equal(icmp(&t, 20, ICMP_PARAMETERPROB, 0, P, 0), 0);
	assert_int_equal(state_of(&t, fd), SYNQ_TCP_CLOSE);
	assert_int_equal(so_error(&t, fd), EPROTO);
	assert_int_equal(T_COUNTER(&t, "TcpAttemptFails"), 1);
	t_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b11_host_unreachable),
	    cmocka_unit_test(test_b11_types),
	    cmocka_unit_test(test_b11_out_of_window),
	    cmocka_unit_test(test_b11_young_and_old),
	    cmocka_unit_test(test_b11_closed_listener),
	    cmocka_unit_test(test_icmp_counters),
	    cmocka_unit_test(test_b11_syn_sent),
	    cmocka_unit_test(test_b11_syn_sent_window),
	    cmocka_unit_test(test_b11_established_soft),
	    cmocka_unit_test(test_b11_soft_error_on_timeout),
	    cmocka_unit_test(test_b11_time_wait),
	    cmocka_unit_test(test_b11_syn_recv_socket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
