/*
 * test_counters.c — synq_counter_name / synq_counter_id: the nstat spellings.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "synq.h"

static void test_names_valid_unique(void **state)
{
	for (int i = 0; i < SYNQ_COUNTER_COUNT; i++) {
		const char *n = synq_counter_name(i);

		assert_non_null(n);
		assert_true(strlen(n) > 2);
		/* nstat prefixes: Ip, Icmp, Tcp (TcpExt included), and synq's own */
		assert_true(strncmp(n, "Ip", 2) == 0 || strncmp(n, "Icmp", 4) == 0 ||
			    strncmp(n, "Tcp", 3) == 0 || strncmp(n, "Synq", 4) == 0);
		for (const char *p = n; *p; p++)
			assert_true((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				    (*p >= '0' && *p <= '9'));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(n, synq_counter_name(j));
	}
}

static void test_round_trip(void **state)
{
	for (int i = 0; i < SYNQ_COUNTER_COUNT; i++)
		assert_int_equal(synq_counter_id(synq_counter_name(i)), i);
}

static void test_spellings(void **state)
{
	assert_string_equal(synq_counter_name(SYNQ_C_LISTEN_OVERFLOWS), "TcpExtListenOverflows");
	assert_string_equal(synq_counter_name(SYNQ_C_LISTEN_DROPS), "TcpExtListenDrops");
	assert_string_equal(synq_counter_name(SYNQ_C_TCP_REQQ_FULL_DROP), "TcpExtTCPReqQFullDrop");
	assert_string_equal(synq_counter_name(SYNQ_C_TCP_REQQ_FULL_DO_COOKIES),
			    "TcpExtTCPReqQFullDoCookies");
	assert_string_equal(synq_counter_name(SYNQ_C_TCP_OUT_RSTS), "TcpOutRsts");
	assert_string_equal(synq_counter_name(SYNQ_C_TCP_SYN_RETRANS), "TcpExtTCPSynRetrans");
	assert_string_equal(synq_counter_name(SYNQ_C_SYNCOOKIES_SENT), "TcpExtSyncookiesSent");
	assert_string_equal(synq_counter_name(SYNQ_C_IP_IN_ADDR_ERRORS), "IpInAddrErrors");
	assert_string_equal(synq_counter_name(0), "IpInReceives");
	assert_string_equal(synq_counter_name(SYNQ_C_ICMP_IN_MSGS), "IcmpInMsgs");
	assert_string_equal(synq_counter_name(SYNQ_C_ICMP_IN_CSUM_ERRORS), "IcmpInCsumErrors");
	assert_string_equal(synq_counter_name(SYNQ_C_ICMP_IN_DEST_UNREACHS), "IcmpInDestUnreachs");
	assert_string_equal(synq_counter_name(SYNQ_C_ICMP_IN_TIME_EXCDS), "IcmpInTimeExcds");
	assert_string_equal(synq_counter_name(SYNQ_C_ICMP_IN_PARM_PROBS), "IcmpInParmProbs");
	assert_string_equal(synq_counter_name(SYNQ_C_OUT_OF_WINDOW_ICMPS), "TcpExtOutOfWindowIcmps");

	assert_int_equal(synq_counter_id("TcpExtListenOverflows"), SYNQ_C_LISTEN_OVERFLOWS);
	assert_int_equal(synq_counter_id("TcpExtListenDrops"), SYNQ_C_LISTEN_DROPS);
	assert_int_equal(synq_counter_id("TcpExtTCPReqQFullDrop"), SYNQ_C_TCP_REQQ_FULL_DROP);
	assert_int_equal(synq_counter_id("TcpOutRsts"), SYNQ_C_TCP_OUT_RSTS);
	assert_int_equal(synq_counter_id("TcpExtTCPACKSkippedSynRecv"),
			 SYNQ_C_TCP_ACK_SKIPPED_SYN_RECV);
	assert_int_equal(synq_counter_id("SynqReqPoolFull"), SYNQ_C_SYNQ_REQ_POOL_FULL);
}

static void test_out_of_range(void **state)
{
	assert_null(synq_counter_name(-1));
	assert_null(synq_counter_name(SYNQ_COUNTER_COUNT));
	assert_null(synq_counter_name(SYNQ_COUNTER_COUNT + 1));
	assert_null(synq_counter_name(INT_MAX));
	assert_null(synq_counter_name(INT_MIN));
}

static void test_unknown_names(void **state)
{
	static const char *const bad[] = {
		"ListenOverflows",	  /* nstat-less form: not accepted */
		"tcpextlistenoverflows",  /* case-sensitive */
		"TCPEXTLISTENOVERFLOWS",  "TcpExtListenOverflow", /* prefix of a name */
		"TcpExtListenOverflowsX", " TcpExtListenOverflows", "TcpExtListenOverflows ",
		"TcpExt",		  "",
		"TcpExtTCPReqQFullDrops", "IpExtInReceives",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(synq_counter_id(bad[i]), -ENOENT);
	assert_int_equal(synq_counter_id(NULL), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_valid_unique), cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_spellings),	   cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_unknown_names),
	};

	return cmocka_run_group_tests_name("counters", tests, NULL, NULL);
}
