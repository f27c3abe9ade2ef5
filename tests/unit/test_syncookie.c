/*
 * test_syncookie.c — SYN cookie encoding and validation (SPEC B32-B37) with fixed secrets and
 * times, and the listener's cookie behaviour through the send/expect DSL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/syncookie.h"
#include "tdsl.h"

static struct synq_stack *mk(uint64_t now)
{
	struct synq_config cfg;
	synq_config_init(&cfg);
	synq_config_set(&cfg, "net.synq.local_addr=10.0.0.1");
	synq_config_set(&cfg, "net.synq.max_requests=16");
	synq_config_set(&cfg, "net.synq.max_sockets=16");
	synq_stack *s;
	assert_int_equal(synq_stack_new(&cfg, now, &s), 0);
	/* fixed secrets: known answers below depend on them */
	uint8_t k0[16], k1[16];
	for (int i = 0; i < 16; i++) {
		k0[i] = (uint8_t)i;
		k1[i] = (uint8_t)(0x10 + i);
	}
	siphash_key_from_bytes(&s->cookie_key[0], k0);
	siphash_key_from_bytes(&s->cookie_key[1], k1);
	return s;
}

static struct synq_seg syn_seg(uint32_t isn)
{
	struct synq_seg g;
	memset(&g, 0, sizeof(g));
	g.saddr = 0x0a000002;
	g.daddr = 0x0a000001;
	g.sport = 40001;
	g.dport = 8080;
	g.seq = isn;
	g.flags = TCP_SYN;
	return g;
}

static struct synq_seg ack_for(const struct synq_seg *syn, uint32_t cookie)
{
	struct synq_seg a = *syn;
	a.flags = TCP_ACK;
	a.seq = syn->seq + 1;
	a.ack = cookie + 1;
	return a;
}

/* B34: the MSS table and its rounding (FINDINGS §10 table) */
static void test_mss_table(void **state)
{
	uint16_t in[] = {500, 536, 537, 1000, 1299, 1300, 1400, 1439, 1440, 1460, 9000};
	uint16_t out[] = {536, 536, 536, 536, 536, 1300, 1300, 1300, 1440, 1460, 1460};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		uint32_t ind;
		assert_int_equal(cookie_mss_round(in[i], &ind), out[i]);
	}
}

/* B33: round trip for every MSS index; only SEG.SEQ = ISN + 1 validates; another 4-tuple or a
 * flipped bit does not */
static void test_roundtrip(void **state)
{
	struct synq_stack *s = mk(1000 * NS_PER_S);
	uint16_t mss_in[] = {536, 1300, 1440, 1460};
	for (int i = 0; i < 4; i++) {
		struct synq_seg g = syn_seg(0x12345678u + (uint32_t)i * 77777u);
		uint16_t mss = mss_in[i];
		uint32_t c = cookie_v4_init_sequence(s, &g, &mss);
		assert_int_equal(mss, mss_in[i]);
		struct synq_seg a = ack_for(&g, c);
		assert_int_equal(cookie_v4_check(s, &a), mss_in[i]);
		a.seq += 100; /* a later data segment does not validate */
		assert_int_equal(cookie_v4_check(s, &a), 0);
		a = ack_for(&g, c ^ 0x00000100);
		assert_int_equal(cookie_v4_check(s, &a), 0);
		a = ack_for(&g, c);
		a.sport++;
		assert_int_equal(cookie_v4_check(s, &a), 0);
	}
	synq_stack_free(s);
}

/* B33: the cookie lives while the minute counter differs by < 2: 60-120 s */
static void test_age(void **state)
{
	struct synq_stack *s = mk(600 * NS_PER_S + 59 * NS_PER_S); /* minute 10, last second */
	struct synq_seg g = syn_seg(1);
	uint16_t mss = 1460;
	uint32_t c = cookie_v4_init_sequence(s, &g, &mss);
	struct synq_seg a = ack_for(&g, c);
	s->now = 660 * NS_PER_S; /* minute 11, 1 s later */
	assert_int_equal(cookie_v4_check(s, &a), 1460);
	s->now = 719 * NS_PER_S + 999999999; /* still minute 11 */
	assert_int_equal(cookie_v4_check(s, &a), 1460);
	s->now = 720 * NS_PER_S; /* minute 12: 61 s after the SYN-ACK, too old */
	assert_int_equal(cookie_v4_check(s, &a), 0);
	synq_stack_free(s);
}

/* B35: the options in the low 6 bits of TSval, never later than the clock; decoding */
static void test_timestamp_bits(void **state)
{
	struct synq_stack *s = mk(1000 * NS_PER_S + 5 * NS_PER_MS); /* ts clock 1000005 ms */
	uint32_t now = stack_ts_ms(s);
	uint32_t ts = cookie_init_timestamp(s, 1, 10, 1, 0);
	assert_int_equal(ts & 63, 0x1a); /* ws 10 + SACK, as FINDINGS §10 shows */
	assert_true(ts <= now && now - ts < 64);
	assert_int_equal(cookie_init_timestamp(s, 0, 0, 0, 0) & 63, 0x0f);
	assert_int_equal(cookie_init_timestamp(s, 1, 10, 1, 1) & 63, 0x3a);
	struct cookie_opts o;
	assert_int_equal(cookie_timestamp_decode(s, 1, 0x1a, &o), 1);
	assert_int_equal(o.sack_ok, 1);
	assert_int_equal(o.wscale_ok, 1);
	assert_int_equal(o.snd_wscale, 10);
	assert_int_equal(cookie_timestamp_decode(s, 1, 0x0f, &o), 1);
	assert_int_equal(o.sack_ok, 0);
	assert_int_equal(o.wscale_ok, 0);
	assert_int_equal(cookie_timestamp_decode(s, 0, 0, &o), 1); /* no TS: options cleared */
	assert_int_equal(o.sack_ok + o.wscale_ok, 0);
	s->cfg.tcp_sack = 0; /* SACK decoded while now off: reject */
	assert_int_equal(cookie_timestamp_decode(s, 1, 0x1a, &o), 0);
	s->cfg.tcp_sack = 1;
	s->cfg.tcp_timestamps = 0;
	assert_int_equal(cookie_timestamp_decode(s, 1, 0x0f, &o), 0);
	synq_stack_free(s);
}

/* ---- the listener with cookies ----------------------------------------------------------- */
#define LSYN(p) .port = (p), .flags = "S", .seq = 0, .win = 64240, .mss = 1460, .sack_perm = 1,   \
		.ts = 1, .tsval = 100, .ws = 11

/* B6/B33/B37: SYN queue full (Q > M) with syncookies = 1: a cookie SYN-ACK with the same
 * options, nothing stored; its ACK creates a child (SyncookiesRecv, PassiveOpens); B7 once */
static void test_listener_cookie(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 1);
	T_SEND(&t, 0, LSYN(40001));
	T_EXPECT(&t, 0, .port = 40001, .flags = "S.", .seq = 0, .ack = 1);
	T_SEND(&t, 0, LSYN(40002));
	T_EXPECT(&t, 0, .port = 40002, .flags = "S.", .seq = 0, .ack = 1);
	T_SEND(&t, 0, LSYN(40003)); /* Q = 2 > 1 */
	T_EXPECT(&t, 0, .port = 40003, .flags = "S.", .seq = 0, .ack = 1, .mss = 1460,
		 .sack_perm = 1, .ts = 1, .ws = 11, .win = 65160);
	T_SEND(&t, 0, LSYN(40004));
	T_EXPECT(&t, 0, .port = 40004, .flags = "S.", .seq = 0, .ack = 1);
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPReqQFullDoCookies"), 2);
	assert_int_equal(T_COUNTER(&t, "TcpExtSyncookiesSent"), 2);
	assert_int_equal(t.ev_count[SYNQ_EV_LOG], 1);
	struct synq_sock_info in;
	synq_sock_info(t.s, t.lfd, &in);
	assert_int_equal(in.synq_len, 2);
	/* no retransmission of a cookie SYN-ACK: only the two requests' at 1 s (newest first) */
	T_EXPECT(&t, 1000, .port = 40002, .flags = "S.");
	T_EXPECT(&t, 1000, .port = 40001, .flags = "S.");
	T_NOTHING(&t, 1100);
	/* a client without timestamps (its ACK needs no TSecr echo) */
	T_SEND(&t, 1200, .port = 40005, .flags = "S", .seq = 0, .mss = 1400);
	T_EXPECT(&t, 1200, .port = 40005, .flags = "S.", .seq = 0, .ack = 1, .mss = 1460,
		 .sack_perm = -1, .ts = -1); /* B35: no TS => MSS only */
	T_SEND(&t, 1250, .port = 40005, .flags = ".", .seq = 1, .ack = 1);
	assert_int_equal(T_COUNTER(&t, "TcpExtSyncookiesRecv"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpPassiveOpens"), 1);
	int c = synq_accept(t.s, t.lfd, NULL);
	assert_true(c >= 0);
	int mss = 0;
	size_t l = sizeof(mss);
	synq_getsockopt(t.s, c, SYNQ_IPPROTO_TCP, SYNQ_TCP_MAXSEG, &mss, &l);
	assert_int_equal(mss, 1300); /* B34: 1400 rounded down */
	t_free(&t);
}

/* B32/B30: a forged ACK within 120 s of a cookie counts SyncookiesFailed and draws RST; after
 * the window, no check and no counter, still RST */
static void test_cookie_failed_and_window(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 0);
	T_SEND(&t, 0, LSYN(40001));
	T_EXPECT(&t, 0, .port = 40001, .flags = "S.");
	T_SEND(&t, 0, LSYN(40002)); /* Q = 1 > 0: cookie */
	T_EXPECT(&t, 0, .port = 40002, .flags = "S.");
	T_SEND(&t, 10, .port = 40009, .flags = ".", .seq = 1, .ack = 4242);
	T_EXPECT(&t, 10, .port = 40009, .flags = "R", .seq = 4242);
	assert_int_equal(T_COUNTER(&t, "TcpExtSyncookiesFailed"), 1);
	synq_close(t.s, t.lfd, t.now_ns);
	t_listen(&t, 0); /* a new listener never sent a cookie */
	T_SEND(&t, 20, .port = 40009, .flags = ".", .seq = 1, .ack = 4242);
	T_EXPECT(&t, 20, .port = 40009, .flags = "R", .seq = 4242);
	assert_int_equal(T_COUNTER(&t, "TcpExtSyncookiesFailed"), 1);
	t_free(&t);
}

/* B36: a valid cookie ACK that finds the accept queue full is dropped silently, even with
 * tcp_abort_on_overflow = 1; the client retransmitting data later completes when there is room */
static void test_cookie_overflow_silent(void **state)
{
	const char *set[] = {"net.ipv4.tcp_abort_on_overflow=1", "net.ipv4.tcp_syncookies=2", NULL};
	struct t_env t;
	t_init(&t, set);
	t_listen(&t, 0);
	T_SEND(&t, 0, .port = 40001, .flags = "S", .seq = 0, .mss = 1460);
	T_EXPECT(&t, 0, .port = 40001, .flags = "S.");
	T_SEND(&t, 0, .port = 40002, .flags = "S", .seq = 0, .mss = 1460);
	T_EXPECT(&t, 0, .port = 40002, .flags = "S.");
	assert_int_equal(T_COUNTER(&t, "TcpExtTCPReqQFullDoCookies"), 2); /* mode 2: every SYN */
	assert_int_equal(t.ev_count[SYNQ_EV_LOG], 0);                     /* B7: no log in mode 2 */
	T_SEND(&t, 50, .port = 40001, .flags = ".", .seq = 1, .ack = 1);
	T_SEND(&t, 50, .port = 40002, .flags = "P.", .seq = 1, .ack = 1, .len = 10);
	T_NOTHING(&t, 100);
	assert_int_equal(T_COUNTER(&t, "TcpExtSyncookiesRecv"), 2);
	assert_int_equal(T_COUNTER(&t, "TcpExtListenOverflows"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpOutRsts"), 0);
	assert_true(synq_accept(t.s, t.lfd, NULL) >= 0);
	T_SEND(&t, 300, .port = 40002, .flags = "P.", .seq = 1, .ack = 1, .len = 10);
	T_EXPECT(&t, 300, .port = 40002, .flags = ".", .ack = 11);
	assert_int_equal(T_COUNTER(&t, "TcpExtSyncookiesRecv"), 3);
	t_free(&t);
}

/* kernel-truth S9 (FINDINGS §10): the server's send MSS after a normal handshake and after a
 * cookie one, for a client with timestamps and these MSS values */
static int snd_mss(int cookie, uint16_t mss)
{
	const char *set[] = {cookie ? "net.ipv4.tcp_syncookies=2" : "net.ipv4.tcp_syncookies=1",
			     NULL};
	struct t_env t;
	t_init(&t, set);
	t_listen(&t, 5);
	T_SEND(&t, 0, .port = 40001, .flags = "S", .seq = 0, .mss = mss, .sack_perm = 1, .ts = 1,
	       .tsval = 100, .ws = 11);
	uint8_t out[256];
	int n = synq_output(t.s, out, sizeof(out), t.now_ns);
	struct synq_seg g;
	assert_int_equal(wire_parse(out, (size_t)n, &g), WIRE_OK);
	/* the SYN-ACK carries the same options either way (TS present) */
	assert_true((g.opt.present & (OPT_MSS | OPT_SACK_PERM | OPT_TS | OPT_WSCALE)) ==
		    (OPT_MSS | OPT_SACK_PERM | OPT_TS | OPT_WSCALE));
	struct t_seg ack = {.port = 40001, .flags = ".", .seq = 1, .ack = 1, .win = 502, .ts = 1,
			    .tsval = 101, .tsecr = g.opt.tsval};
	t.flows[0].stack_isn = g.seq;
	t.flows[0].have_stack_isn = 1;
	t_send(&t, 0, &ack, __FILE__, __LINE__);
	int c = synq_accept(t.s, t.lfd, NULL);
	assert_true(c >= 0);
	int v = 0;
	size_t l = sizeof(v);
	synq_getsockopt(t.s, c, SYNQ_IPPROTO_TCP, SYNQ_TCP_MAXSEG, &v, &l);
	t_free(&t);
	return v;
}

static void test_s9_cookie_mss(void **state)
{
	static const struct {
		uint16_t mss;
		int normal, cookie;
	} k[] = {{500, 488, 524},   {536, 524, 524},   {537, 525, 524},   {1000, 988, 524},
		 {1299, 1287, 524}, {1300, 1288, 1288}, {1400, 1388, 1288}, {1439, 1427, 1288},
		 {1440, 1428, 1428}, {1460, 1448, 1448}};
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		assert_int_equal(snd_mss(0, k[i].mss), k[i].normal);
		assert_int_equal(snd_mss(1, k[i].mss), k[i].cookie);
	}
}

/* S9: with the server's timestamps off, a cookie SYN-ACK carries the MSS only and the connection
 * has no SACK and no window scaling; a normal one keeps SACK and WS */
static void test_s9_cookie_without_ts(void **state)
{
	for (int cookie = 0; cookie < 2; cookie++) {
		const char *set[] = {"net.ipv4.tcp_timestamps=0",
				     cookie ? "net.ipv4.tcp_syncookies=2" : "net.ipv4.tcp_syncookies=1",
				     NULL};
		struct t_env t;
		t_init(&t, set);
		t_listen(&t, 5);
		T_SEND(&t, 0, LSYN(40001));
		if (cookie)
			T_EXPECT(&t, 0, .port = 40001, .flags = "S.", .mss = 1460, .sack_perm = -1,
				 .ts = -1);
		else
			T_EXPECT(&t, 0, .port = 40001, .flags = "S.", .mss = 1460, .sack_perm = 1,
				 .ts = -1, .ws = 11);
		t_free(&t);
	}
}

/* synq_cookie_decode(): the cookie SYN-ACK of a live stack decoded offline with its secrets */
static void test_decode_offline(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 0);
	T_SEND(&t, 0, LSYN(40001));
	T_EXPECT(&t, 0, .port = 40001, .flags = "S.");
	/* Q = 1 > 0: the next SYN gets a cookie; catch its SYN-ACK */
	T_SEND(&t, 5, .port = 40002, .flags = "S", .seq = 0, .isn = 777, .mss = 1400, .sack_perm = 1,
	       .ts = 1, .tsval = 100, .ws = 8);
	uint8_t out[256];
	int n = synq_output(t.s, out, sizeof(out), t.now_ns);
	struct synq_seg g;
	assert_int_equal(wire_parse(out, (size_t)n, &g), WIRE_OK);
	assert_int_equal(g.dport, 40002);
	uint8_t sec[SYNQ_COOKIE_SECRET_BYTES];
	synq_stack_cookie_secrets(t.s, sec);
	struct synq_addr cli = {T_PEER_IP, 40002}, srv = {T_SERVER_IP, T_SERVER_PORT};
	struct synq_cookie_info ci;
	assert_int_equal(synq_cookie_decode(sec, 618, &cli, &srv, 777, g.seq, &g.opt.tsval,
					    t.now_ns, &ci), 0);
	assert_int_equal(ci.valid, 1);
	assert_int_equal(ci.mss_index, 1);
	assert_int_equal(ci.mss, 1300); /* 1400 rounded down (B34) */
	assert_int_equal(ci.age, 0);
	assert_int_equal(ci.has_ts, 1);
	assert_int_equal(ci.wscale, 7);
	assert_int_equal(ci.sack, 1);
	assert_int_equal(ci.ecn, 0);
	/* two minute-steps later it no longer validates */
	assert_int_equal(synq_cookie_decode(sec, 618, &cli, &srv, 777, g.seq, NULL,
					    t.now_ns + 121 * NS_PER_S, &ci), 0);
	assert_int_equal(ci.valid, 0);
	assert_true(ci.age >= 2);
	/* another ISN: the counter bits are garbage (an ISN off by a little only shifts the MSS
	 * index, as in the kernel) */
	assert_int_equal(synq_cookie_decode(sec, 618, &cli, &srv, 777 + 0x12345678u, g.seq, NULL,
					    t.now_ns, &ci), 0);
	assert_int_equal(ci.valid, 0);
	assert_int_equal(synq_cookie_decode(sec, 500, &cli, &srv, 777, g.seq, NULL, t.now_ns, &ci),
			 -EINVAL);
	t_free(&t);
}

/* --sample: print the arguments of `synq cookie decode` for a cookie made by a live stack (used
 * by tests/cookie/test_cookie_cli.sh) */
static int sample(void)
{
	struct synq_config cfg;
	synq_config_init(&cfg);
	synq_config_set(&cfg, "net.synq.local_addr=10.0.0.1");
	synq_config_set(&cfg, "net.synq.max_sockets=8");
	synq_config_set(&cfg, "net.synq.max_requests=8");
	synq_config_set(&cfg, "net.ipv4.tcp_syncookies=2");
	synq_stack *s;
	if (synq_stack_new(&cfg, 5 * NS_PER_S, &s))
		return 1;
	int l = synq_socket(s);
	struct synq_addr a = {0x0a000001, 8080};
	synq_bind(s, l, &a);
	synq_listen(s, l, 10);
	struct synq_seg g;
	memset(&g, 0, sizeof(g));
	g.saddr = 0x0a000002;
	g.daddr = 0x0a000001;
	g.sport = 40001;
	g.dport = 8080;
	g.seq = 123456789;
	g.flags = TCP_SYN;
	g.window = 64240;
	g.opt.present = OPT_MSS | OPT_SACK_PERM | OPT_TS | OPT_WSCALE;
	g.opt.mss = 1460;
	g.opt.wscale = 10;
	g.opt.tsval = 5;
	uint8_t b[128];
	size_t n = wire_emit(&g, b, sizeof(b));
	synq_input(s, b, n, 5 * NS_PER_S);
	int m = synq_output(s, b, sizeof(b), 5 * NS_PER_S);
	struct synq_seg r;
	if (m <= 0 || wire_parse(b, (size_t)m, &r) != WIRE_OK)
		return 1;
	uint8_t sec[SYNQ_COOKIE_SECRET_BYTES];
	synq_stack_cookie_secrets(s, sec);
	printf("--secrets ");
	for (size_t i = 0; i < sizeof(sec); i++)
		printf("%02x", sec[i]);
	printf(" --client 10.0.0.2:40001 --server 10.0.0.1:8080 --isn %u --cookie %u --tsval %u "
	       "--time 5\n",
	       g.seq, r.seq, r.opt.tsval);
	synq_stack_free(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--sample"))
		return sample();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mss_table),
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_age),
	    cmocka_unit_test(test_timestamp_bits),
	    cmocka_unit_test(test_listener_cookie),
	    cmocka_unit_test(test_cookie_failed_and_window),
	    cmocka_unit_test(test_cookie_overflow_silent),
	    cmocka_unit_test(test_decode_offline),
	    cmocka_unit_test(test_s9_cookie_mss),
	    cmocka_unit_test(test_s9_cookie_without_ts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
