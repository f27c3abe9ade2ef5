/*
 * test_input.c — the stack's edges: malformed and misaddressed packets are dropped and counted
 * (never crash), the output ring, time that goes backwards, config by name on a running stack,
 * counters by name, allocation only at creation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tdsl.h"
#include "core/wire.h"

static size_t syn_bytes(struct t_env *t, uint8_t *buf, uint16_t port)
{
	struct t_seg sp = {.port = port, .flags = "S", .win = 65535, .mss = 1460};
	return t_build(t, &sp, buf, 128);
}

static void fix_ip_csum(uint8_t *p)
{
	p[10] = p[11] = 0;
	uint16_t c = (uint16_t)~wire_csum_fold(wire_csum_add(0, p, 20));
	p[10] = (uint8_t)(c >> 8);
	p[11] = (uint8_t)c;
}

static void test_malformed_counted(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 5);
	uint8_t good[128], b[128];
	size_t n = syn_bytes(&t, good, 40001);

	/* every truncation: IpInHdrErrors (IP part) or TcpInErrs (TCP part), nothing sent */
	for (size_t len = 0; len < n; len++)
		assert_int_equal(t_inject(&t, 0, good, len), -EBADMSG);
	uint64_t hdr = T_COUNTER(&t, "IpInHdrErrors");
	assert_int_equal(hdr, n); /* total length > buffer for every truncation */

	memcpy(b, good, n);
	b[0] = 0x65; /* version 6 */
	assert_int_equal(t_inject(&t, 0, b, n), -EBADMSG);
	memcpy(b, good, n);
	b[n - 1] ^= 0xff; /* TCP checksum */
	assert_int_equal(t_inject(&t, 0, b, n), -EBADMSG);
	assert_int_equal(T_COUNTER(&t, "TcpInCsumErrors"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpInErrs"), 1);
	memcpy(b, good, n);
	b[6] = 0x20; /* MF: a fragment */
	fix_ip_csum(b);
	assert_int_equal(t_inject(&t, 0, b, n), -EBADMSG);
	assert_int_equal(T_COUNTER(&t, "IpReasmFails"), 1);
	memcpy(b, good, n);
	b[9] = 17; /* UDP */
	fix_ip_csum(b);
	assert_int_equal(t_inject(&t, 0, b, n), -EPROTONOSUPPORT);
	assert_int_equal(T_COUNTER(&t, "IpInUnknownProtos"), 1);
	memcpy(b, good, n);
	b[19] = 99; /* to 10.0.0.99: not ours */
	fix_ip_csum(b);
	/* the TCP checksum covers the address too: recompute it by building a fresh packet */
	assert_true(t_inject(&t, 0, b, n) < 0);
	T_NOTHING(&t, 10);
	assert_int_equal(T_COUNTER(&t, "TcpPassiveOpens"), 0);
	assert_int_equal(T_COUNTER(&t, "TcpOutSegs"), 0);
	/* the good one still works */
	assert_int_equal(t_inject(&t, 20, good, n), 0);
	T_EXPECT(&t, 20, .port = 40001, .flags = "S.");
	t_free(&t);
}

static void test_not_ours(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	struct synq_seg g;
	memset(&g, 0, sizeof(g));
	g.saddr = T_PEER_IP;
	g.daddr = 0x0a000063;
	g.sport = 1;
	g.dport = 2;
	g.flags = TCP_SYN;
	uint8_t b[64];
	size_t n = wire_emit(&g, b, sizeof(b));
	assert_int_equal(t_inject(&t, 0, b, n), -EADDRNOTAVAIL);
	assert_int_equal(T_COUNTER(&t, "IpInAddrErrors"), 1);
	assert_int_equal(T_COUNTER(&t, "TcpInSegs"), 0);
	t_free(&t);
}

/* output: -ENOBUFS keeps the packet; a full ring drops and counts SynqOutRingDrops */
static void test_output_ring(void **state)
{
	const char *set[] = {"net.synq.out_ring_bytes=4096", NULL};
	struct t_env t;
	t_init(&t, set);
	t_listen(&t, 200);
	uint8_t small[10], big[2048];
	for (uint16_t p = 0; p < 100; p++) {
		uint8_t b[128];
		size_t n = syn_bytes(&t, b, (uint16_t)(40001 + p));
		assert_int_equal(synq_input(t.s, b, n, t.now_ns), 0);
	}
	uint64_t dropped = T_COUNTER(&t, "SynqOutRingDrops");
	assert_true(dropped > 0);
	assert_int_equal(synq_output(t.s, small, sizeof(small), t.now_ns), -ENOBUFS);
	int got = 0, n;
	while ((n = synq_output(t.s, big, sizeof(big), t.now_ns)) > 0) {
		struct synq_seg g;
		assert_int_equal(wire_parse(big, (size_t)n, &g), WIRE_OK);
		assert_int_equal(g.flags, TCP_SYN | TCP_ACK);
		got++;
	}
	assert_int_equal((uint64_t)got + dropped, 100);
	assert_int_equal(T_COUNTER(&t, "TcpOutSegs"), (uint64_t)got);
	/* B10: requests whose SYN-ACK was dropped locally stay; their timer resends at 1 s */
	struct synq_sock_info in;
	synq_sock_info(t.s, t.lfd, &in);
	assert_int_equal(in.synq_len, 100);
	t_free(&t);
}

static void test_time_backwards(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	uint8_t b[128];
	size_t n = syn_bytes(&t, b, 40001);
	assert_int_equal(synq_input(t.s, b, n, t.now_ns - 1), -ETIME);
	int fd = synq_socket(t.s);
	struct synq_addr a = {0x0a000002, 80};
	assert_int_equal(synq_connect(t.s, fd, &a, t.now_ns - 5), -ETIME);
	t_free(&t);
}

static void test_running_config(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	assert_int_equal(synq_stack_set(t.s, "net.ipv4.tcp_synack_retries=1"), 0);
	assert_int_equal(synq_stack_set(t.s, "net.synq.max_sockets=5"), -EPERM);
	assert_int_equal(synq_stack_set(t.s, "net.ipv4.nope=1"), -ENOENT);
	struct synq_config c;
	synq_stack_config(t.s, &c);
	assert_int_equal(c.tcp_synack_retries, 1);
	t_listen(&t, 5);
	T_SEND(&t, 0, .port = 40001, .flags = "S", .seq = 0);
	T_EXPECT(&t, 0, .port = 40001, .flags = "S.");
	T_EXPECT(&t, 1000, .port = 40001, .flags = "S.");
	T_NOTHING(&t, 5000); /* R = 1: gone at 3 s */
	struct synq_sock_info in;
	synq_sock_info(t.s, t.lfd, &in);
	assert_int_equal(in.synq_len, 0);
	uint64_t v;
	assert_int_equal(synq_counter_by_name(t.s, "TcpExtTCPTimeouts", &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(synq_counter_by_name(t.s, "NoSuchCounter", &v), -ENOENT);
	t_free(&t);
}

/* memory: everything at creation, nothing on the packet path */
static size_t n_allocs;
static void *count_alloc(void *u, size_t sz)
{
	n_allocs++;
	return calloc(1, sz);
}
static void count_free(void *u, void *p, size_t sz) { free(p); }

static void test_no_alloc_after_create(void **state)
{
	struct synq_config cfg;
	synq_config_init(&cfg);
	synq_config_set(&cfg, "net.synq.local_addr=10.0.0.1");
	synq_config_set(&cfg, "net.synq.max_sockets=64");
	synq_config_set(&cfg, "net.synq.max_requests=512");
	cfg.alloc = count_alloc;
	cfg.free = count_free;
	synq_stack *s;
	assert_int_equal(synq_stack_new(&cfg, 0, &s), 0);
	size_t at_create = n_allocs;
	assert_true(synq_stack_memory(s) > 512 * 60);
	int l = synq_socket(s);
	struct synq_addr a = {0x0a000001, 80};
	synq_bind(s, l, &a);
	synq_listen(s, l, 1000);
	uint8_t b[128], out[2048];
	for (uint32_t i = 0; i < 400; i++) {
		struct synq_seg g;
		memset(&g, 0, sizeof(g));
		g.saddr = 0x0b000000 + i;
		g.daddr = 0x0a000001;
		g.sport = 1000;
		g.dport = 80;
		g.seq = i;
		g.flags = TCP_SYN;
		g.window = 1000;
		size_t n = wire_emit(&g, b, sizeof(b));
		synq_input(s, b, n, 1000);
		while (synq_output(s, out, sizeof(out), 1000) > 0)
			;
	}
	synq_on_timeout(s, 70ull * 1000000000);
	assert_int_equal(n_allocs, at_create);
	synq_stack_free(s);
}

/* Regression (fuzz_stack): without a rand hook, picking an ephemeral port must not re-key the
 * socket table: c1's SYN-ACK still finds c1 after c2 picked its port */
static void test_default_rng_keeps_tables(void **state)
{
	struct synq_config cfg;
	synq_config_init(&cfg);
	synq_config_set(&cfg, "net.synq.local_addr=10.0.0.1");
	synq_config_set(&cfg, "net.synq.max_sockets=16");
	synq_config_set(&cfg, "net.synq.max_requests=16");
	synq_stack *s;
	assert_int_equal(synq_stack_new(&cfg, 0, &s), 0);
	uint8_t buf[1600];
	struct synq_seg syn, g;
	int c1 = synq_socket(s);
	struct synq_addr a80 = {0x0a000002, 80}, a81 = {0x0a000002, 81};
	synq_connect(s, c1, &a80, 0);
	int n = synq_output(s, buf, sizeof buf, 0);
	assert_int_equal(wire_parse(buf, (size_t)n, &syn), WIRE_OK);
	int c2 = synq_socket(s);
	synq_connect(s, c2, &a81, 0);
	while (synq_output(s, buf, sizeof buf, 0) > 0)
		;
	memset(&g, 0, sizeof g);
	g.saddr = 0x0a000002;
	g.daddr = 0x0a000001;
	g.sport = 80;
	g.dport = syn.sport;
	g.seq = 1000;
	g.ack = syn.seq + 1;
	g.flags = TCP_SYN | TCP_ACK;
	g.window = 65535;
	synq_input(s, buf, wire_emit(&g, buf, sizeof buf), 1000);
	struct synq_sock_info in;
	synq_sock_info(s, c1, &in);
	assert_int_equal(in.state, SYNQ_TCP_ESTABLISHED);
	n = synq_output(s, buf, sizeof buf, 1000);
	assert_int_equal(wire_parse(buf, (size_t)n, &g), WIRE_OK);
	assert_int_equal(g.flags, TCP_ACK);
	synq_stack_free(s);
}

/* Regression (fuzz_stack): a peer MSS below tcp_min_snd_mss (48) with timestamps must not
 * wrap the send MSS (it was 9 - 12 = 65533 and overflowed the segment buffer) */
static void test_tiny_peer_mss(void **state)
{
	struct t_env t;
	t_init(&t, NULL);
	t_listen(&t, 5);
	T_SEND(&t, 0, .port = 40001, .flags = "S", .seq = 0, .mss = 9, .ts = 1, .tsval = 1);
	T_EXPECT(&t, 0, .port = 40001, .flags = "S.");
	T_SEND(&t, 10, .port = 40001, .flags = ".", .seq = 1, .ack = 1, .ts = 1, .tsval = 2);
	int c = synq_accept(t.s, t.lfd, NULL);
	assert_true(c >= 0);
	int mss = 0;
	size_t l = sizeof(mss);
	synq_getsockopt(t.s, c, SYNQ_IPPROTO_TCP, SYNQ_TCP_MAXSEG, &mss, &l);
	assert_int_equal(mss, 48 - 12);
	static char data[16000];
	assert_true(synq_write(t.s, c, data, sizeof(data), t.now_ns) > 0);
	uint8_t out[2048];
	int n;
	while ((n = synq_output(t.s, out, sizeof(out), t.now_ns)) > 0)
		assert_true(n <= 40 + 12 + 36);
	t_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_malformed_counted), cmocka_unit_test(test_not_ours),
	    cmocka_unit_test(test_output_ring),       cmocka_unit_test(test_time_backwards),
	    cmocka_unit_test(test_running_config),    cmocka_unit_test(test_no_alloc_after_create),
	    cmocka_unit_test(test_default_rng_keeps_tables), cmocka_unit_test(test_tiny_peer_mss),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
