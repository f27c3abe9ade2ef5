/*
 * test_trace.c — known-answer tests of the tcpdump-style and JSON packet printers.
 *
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/wire.h"
#include "drivers/trace.h"

#define CLI 0x0a4d0002u /* 10.77.0.2 */
#define SRV 0x0a4d0001u /* 10.77.0.1 */

struct pk {
	uint8_t b[1600];
	size_t n;
};

/* A packet through wire_emit (Linux option layout). */
static void emit(struct pk *p, uint32_t sa, uint16_t sp, uint32_t da, uint16_t dp, uint8_t flags,
		 uint32_t seq, uint32_t ack, uint16_t win, const struct synq_opts *o,
		 const char *data)
{
	struct synq_seg g;

	memset(&g, 0, sizeof(g));
	g.saddr = sa;
	g.daddr = da;
	g.sport = sp;
	g.dport = dp;
	g.seq = seq;
	g.ack = ack;
	g.flags = flags;
	g.window = win;
	g.ttl = 64;
	if (o)
		g.opt = *o;
	g.payload = (const uint8_t *)data;
	g.len = data ? (uint32_t)strlen(data) : 0;
	p->n = wire_emit(&g, p->b, sizeof(p->b));
	assert_true(p->n > 0);
}

/* A packet with arbitrary raw TCP option bytes (nopt a multiple of 4), valid checksums. */
static void raw(struct pk *p, uint8_t flags, uint16_t urg, const uint8_t *opt, size_t nopt,
		size_t paylen)
{
	uint8_t *ip = p->b, *th = p->b + 20;
	size_t tcp_len = 20 + nopt + paylen;
	uint32_t sum;

	memset(p->b, 0, sizeof(p->b));
	ip[0] = 0x45;
	wire_enc16(ip + 2, (uint16_t)(20 + tcp_len));
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = 6;
	wire_enc32(ip + 12, CLI);
	wire_enc32(ip + 16, SRV);
	wire_enc16(ip + 10, (uint16_t)~wire_csum_fold(wire_csum_add(0, ip, 20)));
	wire_enc16(th, 40001);
	wire_enc16(th + 2, 8080);
	wire_enc32(th + 4, 1000);
	wire_enc32(th + 8, 2000);
	th[12] = (uint8_t)(((20 + nopt) / 4) << 4);
	th[13] = flags;
	wire_enc16(th + 14, 512);
	wire_enc16(th + 18, urg);
	if (nopt)
		memcpy(th + 20, opt, nopt);
	memset(th + 20 + nopt, 'x', paylen);
	/* pseudo header: saddr, daddr, proto, tcp length */
	sum = wire_csum_add(0, ip + 12, 8);
	sum += 6 + (uint32_t)tcp_len;
	sum = wire_csum_add(sum, th, tcp_len);
	wire_enc16(th + 16, (uint16_t)~wire_csum_fold(sum));
	p->n = 20 + tcp_len;
}

#define EXPECT(p, want) assert_string_equal(fmt(p), want)

static const char *fmt(const struct pk *p)
{
	static char buf[512];
	size_t n = trace_format(buf, sizeof(buf), p->b, p->n);

	assert_int_equal(n, strlen(buf));
	return buf;
}

static struct synq_opts syn_opts(uint16_t mss, uint8_t ws, uint32_t tsval, uint32_t tsecr)
{
	struct synq_opts o;

	memset(&o, 0, sizeof(o));
	o.present = OPT_MSS | OPT_SACK_PERM | OPT_TS | OPT_WSCALE;
	o.mss = mss;
	o.wscale = ws;
	o.tsval = tsval;
	o.tsecr = tsecr;
	return o;
}

static struct synq_opts ts_opts(uint32_t tsval, uint32_t tsecr)
{
	struct synq_opts o;

	memset(&o, 0, sizeof(o));
	o.present = OPT_TS;
	o.tsval = tsval;
	o.tsecr = tsecr;
	return o;
}

/* ---- tcpdump style ------------------------------------------------------------------------ */

static void test_syn(void **state)
{
	struct synq_opts o = syn_opts(1460, 10, 1, 0);
	struct pk p;

	emit(&p, CLI, 40001, SRV, 8080, TCP_SYN, 123, 0, 64240, &o, NULL);
	EXPECT(&p, "10.77.0.2:40001 > 10.77.0.1:8080 Flags [S], seq 123, win 64240, "
		   "options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 10], "
		   "length 0");
}

static void test_synack(void **state)
{
	struct synq_opts o = syn_opts(1460, 7, 7, 1);
	struct pk p;

	emit(&p, SRV, 8080, CLI, 40001, TCP_SYN | TCP_ACK, 4000000000u, 124, 65160, &o, NULL);
	EXPECT(&p, "10.77.0.1:8080 > 10.77.0.2:40001 Flags [S.], seq 4000000000, "
		   "ack 124, win 65160, "
		   "options [mss 1460,sackOK,TS val 7 ecr 1,nop,wscale 7], "
		   "length 0");
	/* without timestamps: NOP NOP SACK_PERM */
	o.present = OPT_MSS | OPT_SACK_PERM | OPT_WSCALE;
	emit(&p, SRV, 8080, CLI, 40001, TCP_SYN | TCP_ACK, 9, 124, 65535, &o, NULL);
	EXPECT(&p, "10.77.0.1:8080 > 10.77.0.2:40001 Flags [S.], seq 9, ack 124, "
		   "win 65535, options [mss 1460,nop,nop,sackOK,nop,wscale 7], "
		   "length 0");
}

static void test_ack_with_data(void **state)
{
	struct synq_opts o = ts_opts(2, 7);
	struct pk p;

	emit(&p, CLI, 40001, SRV, 8080, TCP_ACK | TCP_PSH, 124, 5001, 502, &o, "hello");
	EXPECT(&p, "10.77.0.2:40001 > 10.77.0.1:8080 Flags [P.], seq 124:129, "
		   "ack 5001, win 502, options [nop,nop,TS val 2 ecr 7], length 5");
	/* pure ACK: no seq, as tcpdump */
	emit(&p, SRV, 8080, CLI, 40001, TCP_ACK, 5001, 129, 509, NULL, NULL);
	EXPECT(&p, "10.77.0.1:8080 > 10.77.0.2:40001 Flags [.], ack 129, win 509, length 0");
	/* FIN-ACK */
	emit(&p, SRV, 8080, CLI, 40001, TCP_ACK | TCP_FIN, 5001, 129, 509, NULL, NULL);
	EXPECT(&p, "10.77.0.1:8080 > 10.77.0.2:40001 Flags [F.], seq 5001, "
		   "ack 129, win 509, length 0");
}

static void test_sack_blocks(void **state)
{
	struct synq_opts o = ts_opts(3, 8);
	struct pk p;

	o.present |= OPT_SACK;
	o.n_sack = 2;
	o.sack[0][0] = 200;
	o.sack[0][1] = 300;
	o.sack[1][0] = 400;
	o.sack[1][1] = 500;
	emit(&p, SRV, 8080, CLI, 40001, TCP_ACK, 1, 100, 509, &o, NULL);
	EXPECT(&p, "10.77.0.1:8080 > 10.77.0.2:40001 Flags [.], ack 100, win 509, "
		   "options [nop,nop,TS val 3 ecr 8,nop,nop,sack 2 {200:300}"
		   "{400:500}], length 0");
}

static void test_rst(void **state)
{
	struct pk p;

	emit(&p, SRV, 8080, CLI, 40001, TCP_RST, 5001, 0, 0, NULL, NULL);
	EXPECT(&p, "10.77.0.1:8080 > 10.77.0.2:40001 Flags [R], seq 5001, win 0, length 0");
	emit(&p, SRV, 8080, CLI, 40001, TCP_RST | TCP_ACK, 0, 124, 0, NULL, NULL);
	EXPECT(&p, "10.77.0.1:8080 > 10.77.0.2:40001 Flags [R.], seq 0, ack 124, "
		   "win 0, length 0");
}

static void test_all_flags_and_urg(void **state)
{
	struct pk p;

	raw(&p, 0xff, 7, NULL, 0, 0);
	EXPECT(&p, "10.77.0.2:40001 > 10.77.0.1:8080 Flags [FSRP.UEW], seq 1000, "
		   "ack 2000, win 512, urg 7, length 0");
	raw(&p, 0, 0, NULL, 0, 3);
	EXPECT(&p, "10.77.0.2:40001 > 10.77.0.1:8080 Flags [none], seq 1000:1003, "
		   "win 512, length 3");
}

static void test_odd_options(void **state)
{
	/* unknown kind 30 (MPTCP) with 2 data bytes, MSS of the wrong length, NOP, EOL, padding */
	static const uint8_t opt[] = { 30, 4, 0xab, 0xcd, 2, 3, 0x05, 1, 0, 0, 0, 0 };
	/* options on a non-SYN are printed too (wire_parse ignores MSS there) */
	static const uint8_t opt2[] = { 2, 4, 0x05, 0xb4 };
	struct pk p;

	raw(&p, TCP_ACK, 0, opt, sizeof(opt), 0);
	EXPECT(&p, "10.77.0.2:40001 > 10.77.0.1:8080 Flags [.], ack 2000, win 512, "
		   "options [unknown-30 abcd,mss[len 3],nop,eol], length 0");
	raw(&p, TCP_ACK, 0, opt2, sizeof(opt2), 0);
	EXPECT(&p, "10.77.0.2:40001 > 10.77.0.1:8080 Flags [.], ack 2000, win 512, "
		   "options [mss 1460], length 0");
}

static void test_malformed(void **state)
{
	static const uint8_t bad_opt[] = { 8, 12, 0, 0 }; /* length past the option area */
	struct pk p;
	char buf[128];

	raw(&p, TCP_SYN, 0, NULL, 0, 0);
	EXPECT(&p, "10.77.0.2:40001 > 10.77.0.1:8080 Flags [S], seq 1000, win 512, "
		   "length 0");
	p.n = 30;
	EXPECT(&p, "malformed (bad IP header)");
	p.n = 0;
	EXPECT(&p, "malformed (bad IP header)");
	assert_int_equal(trace_format(buf, sizeof(buf), NULL, 0), strlen("malformed (empty)"));
	assert_string_equal(buf, "malformed (empty)");

	raw(&p, TCP_SYN, 0, NULL, 0, 0);
	p.b[39] ^= 1; /* TCP checksum */
	EXPECT(&p, "malformed (bad TCP checksum)");
	raw(&p, TCP_SYN, 0, NULL, 0, 0);
	p.b[1] ^= 1; /* IP header checksum */
	EXPECT(&p, "malformed (bad IP header)");
	raw(&p, TCP_SYN, 0, bad_opt, sizeof(bad_opt), 0);
	EXPECT(&p, "malformed (bad TCP header)");

	raw(&p, TCP_SYN, 0, NULL, 0, 0);
	p.b[9] = 17; /* UDP */
	p.b[10] = p.b[11] = 0;
	wire_enc16(p.b + 10, (uint16_t)~wire_csum_fold(wire_csum_add(0, p.b, 20)));
	EXPECT(&p, "malformed (not TCP)");

	raw(&p, TCP_SYN, 0, NULL, 0, 0);
	p.b[6] = 0x20; /* MF */
	p.b[10] = p.b[11] = 0;
	wire_enc16(p.b + 10, (uint16_t)~wire_csum_fold(wire_csum_add(0, p.b, 20)));
	EXPECT(&p, "malformed (IP fragment)");
}

static void test_snprintf_semantics(void **state)
{
	struct synq_opts o = syn_opts(1460, 10, 1, 0);
	struct pk p;
	char full[256], small[16];
	size_t n;

	emit(&p, CLI, 40001, SRV, 8080, TCP_SYN, 123, 0, 64240, &o, NULL);
	n = trace_format(full, sizeof(full), p.b, p.n);
	assert_int_equal(trace_format(NULL, 0, p.b, p.n), n);
	memset(small, 'z', sizeof(small));
	assert_int_equal(trace_format(small, sizeof(small), p.b, p.n), n);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, full, sizeof(small) - 1);
	assert_int_equal(trace_json(NULL, 0, 1, "in", p.b, p.n),
			 trace_json(full, sizeof(full), 1, "in", p.b, p.n));
}

/* ---- relative sequence numbers ------------------------------------------------------------ */

static void test_relative(void **state)
{
	struct trace_flows *fl = malloc(sizeof(*fl));
	struct synq_opts o = ts_opts(2, 7);
	struct pk p;
	char buf[256];

	assert_non_null(fl);
	trace_flows_init(fl);
	emit(&p, CLI, 40001, SRV, 8080, TCP_SYN, 4294967200u, 0, 64240, NULL, NULL);
	trace_format_rel(fl, buf, sizeof(buf), p.b, p.n);
	assert_string_equal(buf, "10.77.0.2:40001 > 10.77.0.1:8080 Flags [S], seq 0, win 64240, "
				 "length 0");
	emit(&p, SRV, 8080, CLI, 40001, TCP_SYN | TCP_ACK, 777, 4294967201u, 65160, NULL, NULL);
	trace_format_rel(fl, buf, sizeof(buf), p.b, p.n);
	assert_string_equal(buf, "10.77.0.1:8080 > 10.77.0.2:40001 Flags [S.], seq 0, ack 1, "
				 "win 65160, length 0");
	/* seq wraps past 2^32: still relative 1:6 */
	emit(&p, CLI, 40001, SRV, 8080, TCP_ACK | TCP_PSH, 4294967201u, 778, 502, &o, "hello");
	trace_format_rel(fl, buf, sizeof(buf), p.b, p.n);
	assert_string_equal(buf, "10.77.0.2:40001 > 10.77.0.1:8080 Flags [P.], seq 1:6, ack 1, "
				 "win 502, options [nop,nop,TS val 2 ecr 7], length 5");
	o.present |= OPT_SACK;
	o.n_sack = 1;
	o.sack[0][0] = 10; /* 106..206 relative to the client's ISN 4294967200 */
	o.sack[0][1] = 110;
	emit(&p, SRV, 8080, CLI, 40001, TCP_ACK, 778, 5, 509, &o, NULL);
	trace_format_rel(fl, buf, sizeof(buf), p.b, p.n);
	assert_string_equal(buf, "10.77.0.1:8080 > 10.77.0.2:40001 Flags [.], ack 101, win 509, "
				 "options [nop,nop,TS val 2 ecr 7,nop,nop,sack 1 {106:206}], "
				 "length 0");

	/* a new SYN on the same 4-tuple (new ISN) starts over; the server side is forgotten */
	emit(&p, CLI, 40001, SRV, 8080, TCP_SYN, 50, 0, 64240, NULL, NULL);
	trace_format_rel(fl, buf, sizeof(buf), p.b, p.n);
	assert_string_equal(buf, "10.77.0.2:40001 > 10.77.0.1:8080 Flags [S], seq 0, win 64240, "
				 "length 0");
	emit(&p, SRV, 8080, CLI, 40001, TCP_RST | TCP_ACK, 0, 51, 0, NULL, NULL);
	trace_format_rel(fl, buf, sizeof(buf), p.b, p.n);
	assert_string_equal(buf, "10.77.0.1:8080 > 10.77.0.2:40001 Flags [R.], seq 0, ack 1, "
				 "win 0, length 0");
	/* another flow, first seen mid-stream; ack absolute until the other side shows up */
	emit(&p, SRV, 9090, CLI, 40001, TCP_ACK, 1000, 2000, 10, NULL, "ab");
	trace_format_rel(fl, buf, sizeof(buf), p.b, p.n);
	assert_string_equal(buf, "10.77.0.1:9090 > 10.77.0.2:40001 Flags [.], seq 0:2, ack 2000, "
				 "win 10, length 2");
	/* malformed packets print as such and change nothing */
	p.n = 10;
	trace_format_rel(fl, buf, sizeof(buf), p.b, p.n);
	assert_string_equal(buf, "malformed (bad IP header)");
	assert_int_equal(fl->n, 2);
	free(fl);
}

static void test_relative_eviction(void **state)
{
	struct trace_flows *fl = malloc(sizeof(*fl));
	struct pk p;
	char buf[256];
	unsigned int i;

	assert_non_null(fl);
	trace_flows_init(fl);
	/* flow 0 then TRACE_MAX_FLOWS others: flow 0 (the oldest) is evicted */
	for (i = 0; i <= TRACE_MAX_FLOWS; i++) {
		emit(&p, CLI, (uint16_t)(10000 + i), SRV, 80, TCP_SYN, 1000 + i, 0, 1, NULL, NULL);
		trace_format_rel(fl, buf, sizeof(buf), p.b, p.n);
		assert_string_equal(strstr(buf, "seq"), "seq 0, win 1, length 0");
	}
	assert_int_equal(fl->n, TRACE_MAX_FLOWS);
	/* flow 1 is still known: its SYN-ACK acks relative */
	emit(&p, SRV, 80, CLI, 10001, TCP_SYN | TCP_ACK, 5, 1002, 1, NULL, NULL);
	trace_format_rel(fl, buf, sizeof(buf), p.b, p.n);
	assert_string_equal(strstr(buf, "seq"), "seq 0, ack 1, win 1, length 0");
	/* flow 0 was forgotten: ack absolute (this re-adds flow 0 and evicts flow 1) */
	emit(&p, SRV, 80, CLI, 10000, TCP_SYN | TCP_ACK, 5, 1001, 1, NULL, NULL);
	trace_format_rel(fl, buf, sizeof(buf), p.b, p.n);
	assert_string_equal(strstr(buf, "seq"), "seq 0, ack 1001, win 1, length 0");
	emit(&p, CLI, 10001, SRV, 80, TCP_ACK, 1002, 6, 1, NULL, NULL);
	trace_format_rel(fl, buf, sizeof(buf), p.b, p.n);
	assert_string_equal(strstr(buf, "ack"), "ack 6, win 1, length 0");
	free(fl);
}

/* ---- JSON ------------------------------------------------------------------------------- */

static const char *json(uint64_t t, const char *dir, const struct pk *p)
{
	static char buf[1024];
	size_t n = trace_json(buf, sizeof(buf), t, dir, p->b, p->n);

	assert_int_equal(n, strlen(buf));
	return buf;
}

static void test_json(void **state)
{
	struct synq_opts o = syn_opts(1460, 10, 1, 0);
	struct pk p;

	emit(&p, CLI, 40001, SRV, 8080, TCP_SYN, 123, 0, 64240, &o, NULL);
	assert_string_equal(json(1000000000123ull, "out", &p),
			    "{\"t_ns\":1000000000123,\"dir\":\"out\",\"src\":\"10.77.0.2\","
			    "\"dst\":\"10.77.0.1\",\"sport\":40001,\"dport\":8080,\"flags\":\"S\","
			    "\"seq\":123,\"ack\":0,\"win\":64240,\"len\":0,\"opts\":{\"mss\":1460,"
			    "\"sack_ok\":true,\"ts_val\":1,\"ts_ecr\":0,\"wscale\":10}}");

	emit(&p, SRV, 8080, CLI, 40001, TCP_SYN | TCP_ACK, 4000000000u, 124, 65160, NULL, NULL);
	assert_string_equal(json(5, "in", &p),
			    "{\"t_ns\":5,\"dir\":\"in\",\"src\":\"10.77.0.1\","
			    "\"dst\":\"10.77.0.2\","
			    "\"sport\":8080,\"dport\":40001,\"flags\":\"S.\",\"seq\":4000000000,"
			    "\"ack\":124,\"win\":65160,\"len\":0,\"opts\":{}}");

	o = ts_opts(3, 8);
	o.present |= OPT_SACK;
	o.n_sack = 2;
	o.sack[0][0] = 200;
	o.sack[0][1] = 300;
	o.sack[1][0] = 400;
	o.sack[1][1] = 500;
	emit(&p, CLI, 40001, SRV, 8080, TCP_ACK | TCP_PSH | TCP_FIN, 7, 9, 3, &o, "xyz");
	assert_string_equal(json(0, "a\"b\\c\n", &p),
			    "{\"t_ns\":0,\"dir\":\"a\\\"b\\\\c\\n\",\"src\":\"10.77.0.2\","
			    "\"dst\":\"10.77.0.1\",\"sport\":40001,\"dport\":8080,"
			    "\"flags\":\"FP.\","
			    "\"seq\":7,\"ack\":9,\"win\":3,\"len\":3,\"opts\":{\"ts_val\":3,"
			    "\"ts_ecr\":8,\"sack\":[[200,300],[400,500]]}}");

	p.n = 12;
	assert_string_equal(json(18446744073709551615ull, NULL, &p),
			    "{\"t_ns\":18446744073709551615,\"dir\":null,"
			    "\"malformed\":\"bad IP header\",\"len\":12}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syn),
		cmocka_unit_test(test_synack),
		cmocka_unit_test(test_ack_with_data),
		cmocka_unit_test(test_sack_blocks),
		cmocka_unit_test(test_rst),
		cmocka_unit_test(test_all_flags_and_urg),
		cmocka_unit_test(test_odd_options),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_snprintf_semantics),
		cmocka_unit_test(test_relative),
		cmocka_unit_test(test_relative_eviction),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
