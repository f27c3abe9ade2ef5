/*
 * test_drill.c — the packetdrill parser and runner of synq drill (src/drivers/drill*.c),
 * in-process: syntax accepted and refused (with line numbers), and the failures a runner must
 * report (wrong packet, wrong time, unexpected packet, wrong errno, non-sysctl command).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/wire.h"
#include "drivers/drill.h"
#include "drivers/drill_int.h"

static const char *LISTEN = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
			    "+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0\n"
			    "+0 bind(3, ..., ...) = 0\n"
			    "+0 listen(3, 1) = 0\n";

static int run(const char *body, struct drill_result *r)
{
	char text[4096];
	snprintf(text, sizeof(text), "%s%s", LISTEN, body);
	struct drill_opts o;
	drill_opts_init(&o);
	return drill_run_text("t", text, &o, r);
}

static void test_parse_packet(void **st)
{
	struct drill_script sc;
	char err[256];
	int line = 0;
	const char *t = "--tolerance_usecs=10000\n"
			"// comment\n"
			"0.5~+1 > 8080>40001 S. 0:0(0) ack 1 win 100 <mss 1460,sackOK,TS val 5 ecr 6,nop,"
			"wscale 7>\n";
	assert_int_equal(drill_parse(t, &sc, err, sizeof(err), &line), -1); /* mixed range */
	t = "--tolerance_usecs=10000\n"
	    "/* c */ 1~2 > 8080>40001 S. 0:0(0) ack 1 win 100 <mss 1460,sackOK,TS val 5 ecr 6,nop,"
	    "wscale 7>\n"
	    "+.1 < P. 1:11(10) ack 1 win 5 <sack 1:2 3:4,nop,nop>\n"
	    "* > . 1:1(0) <...>\n"
	    "+0...2.5 accept(3, ..., ...) = -1 EAGAIN (Resource temporarily unavailable)\n"
	    "`sysctl -q a=1`\n";
	assert_int_equal(drill_parse(t, &sc, err, sizeof(err), &line), 0);
	assert_int_equal(sc.n, 5);
	assert_int_equal(sc.tolerance_us, 10000);
	const struct drill_packet *k = &sc.ev[0].pkt;
	assert_int_equal(sc.ev[0].time_type, DT_ABS_RANGE);
	assert_int_equal(sc.ev[0].t_end_us, 2000000);
	assert_int_equal(k->dir, '>');
	assert_int_equal(k->sport, 8080);
	assert_int_equal(k->flags, TCP_SYN | TCP_ACK);
	assert_int_equal(k->win, 100);
	assert_int_equal(k->opts_len, 4 + 2 + 10 + 1 + 3);
	assert_int_equal(k->ts_off, 6);
	k = &sc.ev[1].pkt;
	assert_int_equal(sc.ev[1].line, 3);
	assert_int_equal(sc.ev[1].t_us, 100000);
	assert_int_equal(k->len, 10);
	assert_int_equal(k->n_sack, 2);
	assert_true(sc.ev[2].pkt.opts_any);
	assert_int_equal(sc.ev[2].time_type, DT_ANY);
	const struct drill_call *c = &sc.ev[3].call;
	assert_string_equal(c->name, "accept");
	assert_true(c->blocking);
	assert_int_equal(c->end_us, 2500000);
	assert_int_equal(c->result.i, -1);
	assert_string_equal(c->err, "EAGAIN");
	assert_true(sc.ev[4].untimed);
	drill_script_free(&sc);
}

static void test_parse_errors(void **st)
{
	struct drill_script sc;
	char err[256];
	int line = 0;
	assert_int_equal(drill_parse("0 socket() = 3\n+0 < S 0:0(0)\n", &sc, err, sizeof(err), &line),
			 -1);
	assert_int_equal(line, 2); /* inbound without win */
	assert_non_null(strstr(err, "window"));
	assert_int_equal(drill_parse("\n\n0 > S 0:5(0) <mss 1>\n", &sc, err, sizeof(err), &line), -1);
	assert_int_equal(line, 3);
	assert_int_equal(drill_parse("0 < S 0:0(0) win 1 <...>\n", &sc, err, sizeof(err), &line), -1);
	assert_int_equal(drill_parse("0 > S 0:0(0) <md5 1>\n", &sc, err, sizeof(err), &line), -1);
	assert_non_null(strstr(err, "md5"));
	assert_int_equal(drill_parse("0 f(x) = -1 EBOGUS\n", &sc, err, sizeof(err), &line), -1);
	assert_int_equal(drill_parse("1~2 accept(3) = 1\n", &sc, err, sizeof(err), &line), -1);
	assert_int_equal(drill_parse("0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n", &sc, err,
				     sizeof(err), &line),
			 0);
	assert_int_equal(sc.ev[0].call.args[2].i, 2 | 04000);
	drill_script_free(&sc);
}

static void test_run_pass(void **st)
{
	struct drill_result r;
	int rc = run("+0 < S 0:0(0) win 65535 <mss 1460>\n"
		     "+0 > S. 0:0(0) ack 1 <mss 1460>\n"
		     "1 > S. 0:0(0) ack 1 <...>\n"
		     "+.1 < . 1:1(0) ack 1 win 65535\n"
		     "+0 accept(3, ..., ...) = 4\n"
		     "+0 write(4, ..., 10) = 10\n"
		     "+0 > P. 1:11(10) ack 1\n"
		     "+0 fcntl(4, F_GETFL) = O_RDWR\n",
		     &r);
	assert_int_equal(rc, 0);
	assert_true(r.ok);
}

static void test_run_failures(void **st)
{
	struct drill_result r;
	/* wrong ack */
	assert_int_equal(run("+0 < S 0:0(0) win 65535 <mss 1460>\n"
			     "+0 > S. 0:0(0) ack 2 <mss 1460>\n",
			     &r),
			 -1);
	assert_int_equal(r.line, 6);
	assert_non_null(strstr(r.msg, "(ack)"));
	/* too early: SYN-ACK retransmission expected at 0.5 s */
	assert_int_equal(run("+0 < S 0:0(0) win 65535 <mss 1460>\n"
			     "+0 > S. 0:0(0) ack 1 <mss 1460>\n"
			     "0.5 > S. 0:0(0) ack 1 <mss 1460>\n",
			     &r),
			 -1);
	assert_int_equal(r.line, 7);
	assert_non_null(strstr(r.msg, "sent nothing"));
	/* a packet no line expects */
	assert_int_equal(run("+0 < S 0:0(0) win 65535 <mss 1460>\n"
			     "+1 accept(3, ..., ...) = -1 EAGAIN\n",
			     &r),
			 -1);
	assert_int_equal(r.line, 6);
	assert_non_null(strstr(r.msg, "unexpected outbound packet"));
	/* wrong errno */
	assert_int_equal(run("+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n"
			     "+0 accept(3, ..., ...) = -1 EINVAL\n",
			     &r),
			 -1);
	assert_non_null(strstr(r.msg, "EAGAIN"));
	/* blocking accept that nothing completes */
	assert_int_equal(run("+0 accept(3, ..., ...) = 4\n", &r), -1);
	assert_int_equal(r.line, 5);
	/* commands: sysctl only, known knobs only */
	assert_int_equal(run("+0 `echo hi`\n", &r), -1);
	assert_int_equal(run("+0 `sysctl -q net.ipv4.tcp_nonexistent=1`\n", &r), -1);
	assert_non_null(strstr(r.msg, "unknown to synq"));
	assert_int_equal(run("+0 `sysctl -q net.ipv4.tcp_synack_retries=1; sysctl -q "
			     "net.ipv4.tcp_abort_on_overflow=1`\n",
			     &r),
			 0);
}

static void test_blocking_connect(void **st)
{
	struct drill_result r;
	struct drill_opts o;
	drill_opts_init(&o);
	/* the blocking connect returns when the SYN-ACK arrives, 0.1 s after it started */
	const char *t = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
			"+0...0.1 connect(3, ..., ...) = 0\n"
			"+0 > S 0:0(0) <...>\n"
			"+.1 < S. 0:0(0) ack 1 win 65535 <mss 1460>\n"
			"+0 > . 1:1(0) ack 1\n"
			"+0 read(3, ..., 100) = -1 EAGAIN\n";
	/* read on a blocking socket with no data blocks: run fails at its line */
	assert_int_equal(drill_run_text("t", t, &o, &r), -1);
	assert_int_equal(r.line, 6);
	t = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
	    "+0...0.1 connect(3, ..., ...) = 0\n"
	    "+0 > S 0:0(0) <...>\n"
	    "+.1 < S. 0:0(0) ack 1 win 65535 <mss 1460>\n"
	    "+0 > . 1:1(0) ack 1\n"
	    "+0...0.2 read(3, ..., 100) = 5\n"
	    "+.2 < P. 1:6(5) ack 1 win 65535\n"
	    "+0 > . 1:1(0) ack 6 <...>\n";
	assert_int_equal(drill_run_text("t", t, &o, &r), 0);
}

/* packetdrill's inbound ICMP lines (parser.y icmp_packet_spec, icmp_packet.c names) */
static void test_parse_icmp(void **st)
{
	struct drill_script sc;
	char err[256];
	int line = 0;
	const char *t = "0 < icmp unreachable host_unreachable [0:0(0)]\n"
			"+.1 < icmp unreachable frag_needed mtu 576 [1:11(10)]\n"
			"+0 < icmp time_exceeded code_1 [5:5(0)]\n"
			"+0 < [tos 0x0] icmp parameter_problem\n"
			"+0 < icmp type_42 code_7 id 9 [raw(12)]\n"
			"+0 < icmp source_quench [udp(100)]\n"
			"+0 < . 1:1(0) ack 1 win 65535\n";
	assert_int_equal(drill_parse(t, &sc, err, sizeof(err), &line), 0);
	assert_int_equal(sc.n, 7);
	const struct drill_packet *k = &sc.ev[0].pkt;
	assert_true(k->icmp);
	assert_int_equal(k->dir, '<');
	assert_int_equal(k->icmp_type, 3);
	assert_int_equal(k->icmp_code, 1);
	assert_int_equal(k->icmp_mtu, -1);
	assert_int_equal(k->icmp_quote, DRILL_QUOTE_TCP);
	assert_int_equal(k->seq, 0);
	assert_int_equal(k->len, 0);
	k = &sc.ev[1].pkt;
	assert_int_equal(k->icmp_code, 4);
	assert_int_equal(k->icmp_mtu, 576);
	assert_int_equal(k->seq, 1);
	assert_int_equal(k->len, 10);
	k = &sc.ev[2].pkt;
	assert_int_equal(k->icmp_type, 11);
	assert_int_equal(k->icmp_code, 1);
	assert_int_equal(k->seq, 5);
	k = &sc.ev[3].pkt; /* no code, no quote: code 0, the TCP header at seq 0 */
	assert_int_equal(k->icmp_type, 12);
	assert_int_equal(k->icmp_code, 0);
	assert_int_equal(k->icmp_quote, DRILL_QUOTE_TCP);
	assert_int_equal(sc.ev[3].line, 4);
	k = &sc.ev[4].pkt;
	assert_int_equal(k->icmp_type, 42);
	assert_int_equal(k->icmp_code, 7);
	assert_int_equal(k->icmp_id, 9);
	assert_int_equal(k->icmp_quote, DRILL_QUOTE_RAW);
	assert_int_equal(k->len, 12);
	k = &sc.ev[5].pkt;
	assert_int_equal(k->icmp_type, 4);
	assert_int_equal(k->icmp_quote, DRILL_QUOTE_UDP);
	assert_int_equal(k->len, 100);
	assert_false(sc.ev[6].pkt.icmp);
	assert_string_equal(drill_icmp_type_name(11), "time_exceeded");
	assert_string_equal(drill_icmp_code_name(3, 13), "packet_filtered");
	assert_null(drill_icmp_code_name(11, 0));
	drill_script_free(&sc);

	/* refused, with the line and a reason */
	static const struct {
		const char *text, *why;
	} bad[] = {
	    {"0 > icmp unreachable host_unreachable\n", "synq never sends ICMP"},
	    {"0 < icmp unreachabel\n", "bad ICMP type unreachabel"},
	    {"0 < icmp unreachable host_unreachabel\n", "bad ICMP code"},
	    {"0 < icmp time_exceeded ttl\n", "bad ICMP code ttl"},
	    {"0 < icmp unreachable host_unreachable mtu 576\n", "only valid for unreachable-frag_needed"},
	    {"0 < icmp unreachable frag_needed mtu 70000\n", "16-bit"},
	    {"0 < icmp echo_request id 70000\n", "echo_id"},
	    {"0 < icmp unreachable [1:5(3)]\n", "inconsistent"},
	    {"0 < icmp unreachable [raw(4)]\n", "raw(4)"},
	    {"0 < icmp unreachable [0:0(0) x\n", "to end the quote"},
	    {"0 < udp (10)\n", "UDP packets"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128];
		snprintf(text, sizeof(text), "// x\n%s", bad[i].text);
		assert_int_equal(drill_parse(text, &sc, err, sizeof(err), &line), -1);
		assert_int_equal(line, 2);
		if (!strstr(err, bad[i].why))
			fail_msg("'%s': '%s' does not say '%s'", bad[i].text, err, bad[i].why);
	}
}

/* ICMP lines run: B11 on the request of the default flow */
static void test_run_icmp(void **st)
{
	struct drill_result r;
	/* host unreachable quoting the SYN-ACK: request gone, the final ACK draws an RST */
	assert_int_equal(run("+0 < S 0:0(0) win 65535 <mss 1460>\n"
			     "+0 > S. 0:0(0) ack 1 <mss 1460>\n"
			     "+.1 < icmp unreachable host_unreachable [0:0(0)]\n"
			     "+1.5 < . 1:1(0) ack 1 win 65535\n"
			     "+0 > R 1:1(0)\n",
			     &r),
			 0);
	/* the same quoting seq 1: the request stays and retransmits at 1 s */
	assert_int_equal(run("+0 < S 0:0(0) win 65535 <mss 1460>\n"
			     "+0 > S. 0:0(0) ack 1 <mss 1460>\n"
			     "+.1 < icmp unreachable host_unreachable [1:1(0)]\n"
			     "+1.5 < . 1:1(0) ack 1 win 65535\n"
			     "+0 > R 1:1(0)\n",
			     &r),
			 -1);
	assert_non_null(strstr(r.msg, "unexpected outbound packet at 1.000000 s"));
	/* malformed messages are injected as written and do not fail the run */
	assert_int_equal(run("+0 < icmp unreachable host_unreachable [raw(20)]\n"
			     "+0 < icmp echo_request id 3 [raw(64)]\n"
			     "+0 < icmp type_99 [0:0(0)]\n"
			     "+0 < icmp unreachable [udp(10)]\n",
			     &r),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_packet),  cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_run_pass),      cmocka_unit_test(test_run_failures),
	    cmocka_unit_test(test_blocking_connect), cmocka_unit_test(test_parse_icmp),
	    cmocka_unit_test(test_run_icmp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
