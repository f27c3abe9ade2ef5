/*
 * test_config.c — synq_config_init/set/get/knob, config_apply and config_check.
 *
 * Known answers: the Linux 6.18 defaults of a fresh network namespace and the ranges the
 * kernel's proc handlers enforce (synq's own limits for net.synq.*).
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
#include <stdio.h>
#include <string.h>

#include "synq.h"
#include "core/config.h"

/* Every integer knob: full name, default text, min, max (the expected answers). */
struct int_knob {
	const char *name;
	const char *def;
	long long min, max;
	int sizing;
};

static const struct int_knob int_knobs[] = {
	{"net.core.somaxconn", "4096", 0, INT_MAX, 0},
	{"net.ipv4.tcp_max_syn_backlog", "2048", 0, INT_MAX, 0},
	{"net.ipv4.tcp_synack_retries", "5", 0, 255, 0},
	{"net.ipv4.tcp_syn_retries", "6", 1, 127, 0},
	{"net.ipv4.tcp_syn_linear_timeouts", "4", 0, 10, 0},
	{"net.ipv4.tcp_abort_on_overflow", "0", 0, 1, 0},
	{"net.ipv4.tcp_syncookies", "1", 0, 2, 0},
	{"net.ipv4.tcp_timestamps", "1", 0, 2, 0},
	{"net.ipv4.tcp_sack", "1", 0, 1, 0},
	{"net.ipv4.tcp_window_scaling", "1", 0, 1, 0},
	{"net.ipv4.tcp_invalid_ratelimit", "500", 0, INT_MAX, 0},
	{"net.ipv4.tcp_keepalive_time", "7200", 1, 32767, 0},
	{"net.ipv4.tcp_keepalive_intvl", "75", 1, 32767, 0},
	{"net.ipv4.tcp_keepalive_probes", "9", 1, 127, 0},
	{"net.ipv4.tcp_retries2", "15", 0, 255, 0},
	{"net.ipv4.tcp_fin_timeout", "60", 1, INT_MAX / 1000, 0},
	{"net.ipv4.tcp_rto_min_us", "200000", 1, INT_MAX, 0},
	{"net.ipv4.tcp_rto_max_ms", "120000", 1000, 120000, 0},
	{"net.ipv4.tcp_no_metrics_save", "0", 0, 1, 0},
	{"net.ipv4.tcp_pingpong_thresh", "1", 1, 255, 0},
	{"net.synq.max_requests", "65536", 1, 1 << 24, 1},
	{"net.synq.max_sockets", "1024", 1, 1 << 24, 1},
	{"net.synq.sock_buf_bytes", "65536", 4096, 16 << 20, 1},
	{"net.synq.out_ring_bytes", "262144", 4096, 1 << 30, 1},
	{"net.synq.mtu", "1500", 576, 9000, 1},
	{"net.synq.timer_hz", "0", 0, 1000, 0},
	{"net.synq.syn_fairness", "0", 0, 1, 0},
};

#define N_INT_KNOBS (sizeof(int_knobs) / sizeof(int_knobs[0]))
#define N_KNOBS     (N_INT_KNOBS + 4) /* + tcp_rmem + ip_local_port_range + local_addr + kernel_rules */

static int set(struct synq_config *cfg, const char *fmt, ...)
{
	char a[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a, sizeof(a), fmt, ap);
	va_end(ap);
	return synq_config_set(cfg, a);
}

/* set must fail with err and leave cfg byte-for-byte unchanged */
static void set_fails(struct synq_config *cfg, const char *assignment, int err)
{
	struct synq_config before = *cfg;

	assert_int_equal(synq_config_set(cfg, assignment), err);
	assert_memory_equal(&before, cfg, sizeof(before));
}

static void assert_get(const struct synq_config *cfg, const char *name, const char *want)
{
	char buf[CONFIG_VALUE_MAX];

	assert_int_equal(synq_config_get(cfg, name, buf, sizeof(buf)), (int)strlen(want));
	assert_string_equal(buf, want);
}

/* ---- defaults ----------------------------------------------------------------------------- */

static void test_defaults_fields(void **state)
{
	struct synq_config c;

	memset(&c, 0xa5, sizeof(c));
	synq_config_init(&c);
	assert_int_equal(c.somaxconn, 4096);
	assert_int_equal(c.tcp_max_syn_backlog, 2048);
	assert_int_equal(c.tcp_synack_retries, 5);
	assert_int_equal(c.tcp_syn_retries, 6);
	assert_int_equal(c.tcp_syn_linear_timeouts, 4);
	assert_int_equal(c.tcp_abort_on_overflow, 0);
	assert_int_equal(c.tcp_syncookies, 1);
	assert_int_equal(c.tcp_timestamps, 1);
	assert_int_equal(c.tcp_sack, 1);
	assert_int_equal(c.tcp_window_scaling, 1);
	assert_int_equal(c.tcp_invalid_ratelimit, 500);
	assert_int_equal(c.tcp_keepalive_time, 7200);
	assert_int_equal(c.tcp_keepalive_intvl, 75);
	assert_int_equal(c.tcp_keepalive_probes, 9);
	assert_int_equal(c.tcp_retries2, 15);
	assert_int_equal(c.tcp_fin_timeout, 60);
	assert_int_equal(c.tcp_rto_min_us, 200000);
	assert_int_equal(c.tcp_rto_max_ms, 120000);
	assert_int_equal(c.ip_local_port_range_lo, 32768);
	assert_int_equal(c.ip_local_port_range_hi, 60999);
	assert_int_equal(c.n_local_addrs, 0);
	for (int i = 0; i < SYNQ_MAX_ADDRS; i++)
		assert_int_equal(c.local_addrs[i], 0);
	assert_int_equal(c.max_requests, 65536);
	assert_int_equal(c.max_sockets, 1024);
	assert_int_equal(c.sock_buf_bytes, 65536);
	assert_int_equal(c.out_ring_bytes, 262144);
	assert_int_equal(c.mtu, 1500);
	assert_null(c.rand);
	assert_null(c.rand_user);
	assert_null(c.alloc);
	assert_null(c.free);
	assert_null(c.alloc_user);
	assert_null(c.on_event);
	assert_null(c.event_user);
}

static void test_defaults_text(void **state)
{
	struct synq_config c;

	synq_config_init(&c);
	for (size_t i = 0; i < N_INT_KNOBS; i++)
		assert_get(&c, int_knobs[i].name, int_knobs[i].def);
	assert_get(&c, "net.ipv4.ip_local_port_range", "32768\t60999");
	assert_get(&c, "net.synq.local_addr", "");
}

/* ---- the knob list ------------------------------------------------------------------------ */

static void test_knob_list(void **state)
{
	size_t n = 0;

	while (synq_config_knob(n))
		n++;
	assert_int_equal(n, N_KNOBS);
	assert_null(synq_config_knob(n + 1));
	assert_null(synq_config_knob((size_t)-1));

	for (size_t i = 0; i < n; i++) {
		const char *a = synq_config_knob(i);

		assert_true(strncmp(a, "net.ipv4.", 9) == 0 || strncmp(a, "net.core.", 9) == 0 ||
			    strncmp(a, "net.synq.", 9) == 0);
		/* stable: the same pointer text each time */
		assert_string_equal(a, synq_config_knob(i));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(a, synq_config_knob(j));
	}
	/* every expected knob is listed */
	for (size_t i = 0; i < N_INT_KNOBS; i++) {
		size_t j;

		for (j = 0; j < n; j++)
			if (strcmp(synq_config_knob(j), int_knobs[i].name) == 0)
				break;
		assert_true(j < n);
	}
}

/* get -> set of each listed knob leaves the config unchanged; values set read back */
static void test_round_trip_listed(void **state)
{
	struct synq_config c, before;
	char buf[CONFIG_VALUE_MAX];
	const char *name;

	synq_config_init(&c);
	assert_int_equal(set(&c, "net.synq.local_addr=10.1.2.3"), 0);
	before = c;
	for (size_t i = 0; (name = synq_config_knob(i)); i++) {
		int n = synq_config_get(&c, name, buf, sizeof(buf));

		assert_true(n >= 0);
		assert_int_equal((size_t)n, strlen(buf));
		if (strcmp(name, "net.synq.local_addr") == 0) {
			assert_string_equal(buf, "10.1.2.3");
			assert_int_equal(set(&c, "%s=%s", name, buf), -EEXIST);
		} else {
			assert_int_equal(set(&c, "%s=%s", name, buf), 0);
		}
		assert_memory_equal(&before, &c, sizeof(c));
	}
}

static void test_int_ranges(void **state)
{
	struct synq_config c;
	char want[32], a[128];

	synq_config_init(&c);
	for (size_t i = 0; i < N_INT_KNOBS; i++) {
		const struct int_knob *k = &int_knobs[i];

		assert_int_equal(set(&c, "%s=%lld", k->name, k->min), 0);
		snprintf(want, sizeof(want), "%lld", k->min);
		assert_get(&c, k->name, want);

		assert_int_equal(set(&c, "%s=%lld", k->name, k->max), 0);
		snprintf(want, sizeof(want), "%lld", k->max);
		assert_get(&c, k->name, want);

		snprintf(a, sizeof(a), "%s=%lld", k->name, k->min - 1);
		set_fails(&c, a, -EINVAL);
		snprintf(a, sizeof(a), "%s=%lld", k->name, k->max + 1);
		set_fails(&c, a, -EINVAL);
		assert_get(&c, k->name, want); /* still max */

		assert_int_equal(set(&c, "%s=%s", k->name, k->def), 0);
	}
	/* back to defaults */
	struct synq_config d;

	synq_config_init(&d);
	assert_memory_equal(&c, &d, sizeof(c));
}

static void test_set_fields(void **state)
{
	struct synq_config c;

	synq_config_init(&c);
	assert_int_equal(synq_config_set(&c, "net.ipv4.tcp_synack_retries=3"), 0);
	assert_int_equal(c.tcp_synack_retries, 3);
	assert_int_equal(synq_config_set(&c, "net.core.somaxconn=128"), 0);
	assert_int_equal(c.somaxconn, 128);
	assert_int_equal(synq_config_set(&c, "net.ipv4.tcp_max_syn_backlog=0"), 0);
	assert_int_equal(c.tcp_max_syn_backlog, 0);
	assert_int_equal(synq_config_set(&c, "net.ipv4.tcp_syncookies=2"), 0);
	assert_int_equal(c.tcp_syncookies, 2);
	assert_int_equal(synq_config_set(&c, "net.ipv4.tcp_abort_on_overflow=1"), 0);
	assert_int_equal(c.tcp_abort_on_overflow, 1);
	assert_int_equal(synq_config_set(&c, "net.ipv4.tcp_rto_min_us=1000"), 0);
	assert_int_equal(c.tcp_rto_min_us, 1000);
	assert_int_equal(synq_config_set(&c, "net.synq.mtu=9000"), 0);
	assert_int_equal(c.mtu, 9000);
	assert_int_equal(synq_config_set(&c, "net.synq.max_requests=7"), 0);
	assert_int_equal(c.max_requests, 7);
	/* leading zeros are still decimal */
	assert_int_equal(synq_config_set(&c, "tcp_retries2=010"), 0);
	assert_int_equal(c.tcp_retries2, 10);
	assert_int_equal(synq_config_set(&c, "tcp_retries2=-0"), 0);
	assert_int_equal(c.tcp_retries2, 0);
}

/* ---- names -------------------------------------------------------------------------------- */

static void test_name_forms(void **state)
{
	struct synq_config c;

	synq_config_init(&c);
	assert_int_equal(synq_config_set(&c, "net.ipv4.tcp_synack_retries=1"), 0);
	assert_int_equal(c.tcp_synack_retries, 1);
	assert_int_equal(synq_config_set(&c, "tcp_synack_retries=2"), 0);
	assert_int_equal(c.tcp_synack_retries, 2);
	assert_int_equal(synq_config_set(&c, "net/ipv4/tcp_synack_retries=3"), 0);
	assert_int_equal(c.tcp_synack_retries, 3);
	assert_int_equal(synq_config_set(&c, "net.core.somaxconn=11"), 0);
	assert_int_equal(synq_config_set(&c, "net/core/somaxconn=12"), 0);
	assert_int_equal(c.somaxconn, 12);
	assert_int_equal(synq_config_set(&c, "somaxconn=13"), 0);
	assert_int_equal(c.somaxconn, 13);
	assert_int_equal(synq_config_set(&c, "net/synq/mtu=1400"), 0);
	assert_int_equal(c.mtu, 1400);
	assert_int_equal(synq_config_set(&c, "mtu=1300"), 0);
	assert_int_equal(c.mtu, 1300);
	assert_int_equal(synq_config_set(&c, "max_sockets=64"), 0);
	assert_int_equal(c.max_sockets, 64);

	/* whitespace around the name, '=' and the value */
	assert_int_equal(synq_config_set(&c, "tcp_sack = 0"), 0);
	assert_int_equal(c.tcp_sack, 0);
	assert_int_equal(synq_config_set(&c, " \tnet.ipv4.tcp_sack\t=\t1 \n"), 0);
	assert_int_equal(c.tcp_sack, 1);

	/* get accepts the same forms */
	assert_get(&c, "net.ipv4.tcp_synack_retries", "3");
	assert_get(&c, "tcp_synack_retries", "3");
	assert_get(&c, "net/ipv4/tcp_synack_retries", "3");
	assert_get(&c, "somaxconn", "13");
	assert_get(&c, "net/synq/mtu", "1300");
	assert_get(&c, "ip_local_port_range", "32768\t60999");
	assert_get(&c, "net/ipv4/ip_local_port_range", "32768\t60999");
	assert_get(&c, "local_addr", "");
}

static void test_unknown_names(void **state)
{
	static const char *const bad[] = {
		"net.ipv4.somaxconn=1",	   /* wrong prefix */
		"net.core.tcp_sack=1",	   /* wrong prefix */
		"ipv4.tcp_sack=1",	   /* partial prefix */
		"core.somaxconn=1",	   /* partial prefix */
		"synq/mtu=1500",	   /* partial prefix */
		"TCP_SACK=1",		   /* names are case-sensitive */
		"Net.ipv4.tcp_sack=1",	   /* ditto */
		"tcp_sac=1",		   /* prefix of a name */
		"tcp_sackx=1",		   /* longer than a name */
		"net.ipv4.=1",		   /* prefix only */
		"net.ipv4.tcp_sack.=1",	   /* trailing separator */
		"=1",			   /* empty name */
		"net.ipv4.tcp_no_such=1",  /* unknown */
		"tcp_s ack=1",		   /* space inside */
		"net.synq.max_requestz=1", /* unknown */
	};
	struct synq_config c;
	char buf[64];

	synq_config_init(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_fails(&c, bad[i], -ENOENT);
		/* the same name with get */
		char name[64];

		snprintf(name, sizeof(name), "%.*s", (int)(strchr(bad[i], '=') - bad[i]), bad[i]);
		assert_int_equal(synq_config_get(&c, name, buf, sizeof(buf)), -ENOENT);
	}
	/* an unknown name is -ENOENT whatever the value */
	set_fails(&c, "nosuch=x", -ENOENT);
}

/* ---- malformed values --------------------------------------------------------------------- */

static void test_malformed_values(void **state)
{
	static const char *const bad[] = {
		"x",   "",	"3x",  "99999999999999999999", "-99999999999999999999",
		"-",   " ",	"+5",  "0x10",		       "3 4",
		"1.5", "--1",	"1e3", "5\x01",		       "3-",
		"1,000",
	};
	struct synq_config c;
	char a[128];

	synq_config_init(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(a, sizeof(a), "net.ipv4.tcp_synack_retries=%s", bad[i]);
		set_fails(&c, a, -EINVAL);
		snprintf(a, sizeof(a), "somaxconn=%s", bad[i]);
		set_fails(&c, a, -EINVAL);
	}
	/* no '=' at all */
	set_fails(&c, "net.ipv4.tcp_synack_retries", -EINVAL);
	set_fails(&c, "", -EINVAL);
	set_fails(&c, "tcp_sack 1", -EINVAL);
	/* extra '=' goes into the value */
	set_fails(&c, "tcp_sack=1=1", -EINVAL);
	/* int64 extremes parse but are out of range */
	set_fails(&c, "somaxconn=9223372036854775807", -EINVAL);
	set_fails(&c, "somaxconn=9223372036854775808", -EINVAL);
	set_fails(&c, "somaxconn=-9223372036854775808", -EINVAL);
	set_fails(&c, "somaxconn=-1", -EINVAL);
	set_fails(&c, "somaxconn=2147483648", -EINVAL);
	assert_int_equal(synq_config_set(&c, "somaxconn=2147483647"), 0);
	assert_int_equal(c.somaxconn, INT_MAX);
}

static void test_kernel_ranges(void **state)
{
	struct synq_config c;

	synq_config_init(&c);
	set_fails(&c, "tcp_syncookies=3", -EINVAL);
	set_fails(&c, "tcp_abort_on_overflow=2", -EINVAL);
	set_fails(&c, "tcp_timestamps=3", -EINVAL);
	set_fails(&c, "tcp_sack=2", -EINVAL);
	set_fails(&c, "tcp_window_scaling=2", -EINVAL);
	set_fails(&c, "tcp_syn_retries=0", -EINVAL);
	set_fails(&c, "tcp_syn_retries=128", -EINVAL);
	set_fails(&c, "tcp_synack_retries=256", -EINVAL);
	set_fails(&c, "tcp_synack_retries=-1", -EINVAL);
	set_fails(&c, "tcp_syn_linear_timeouts=11", -EINVAL);
	set_fails(&c, "tcp_rto_max_ms=999", -EINVAL);
	set_fails(&c, "tcp_rto_max_ms=120001", -EINVAL);
	set_fails(&c, "tcp_rto_min_us=0", -EINVAL);
	set_fails(&c, "tcp_keepalive_time=0", -EINVAL);
	set_fails(&c, "tcp_keepalive_time=32768", -EINVAL);
	set_fails(&c, "tcp_keepalive_intvl=32768", -EINVAL);
	set_fails(&c, "tcp_keepalive_probes=0", -EINVAL);
	set_fails(&c, "tcp_keepalive_probes=128", -EINVAL);
	set_fails(&c, "tcp_retries2=256", -EINVAL);
	set_fails(&c, "tcp_fin_timeout=0", -EINVAL);
	set_fails(&c, "tcp_fin_timeout=2147484", -EINVAL);
	set_fails(&c, "tcp_invalid_ratelimit=-1", -EINVAL);
	set_fails(&c, "tcp_max_syn_backlog=-1", -EINVAL);
	set_fails(&c, "max_requests=0", -EINVAL);
	set_fails(&c, "max_sockets=0", -EINVAL);
	set_fails(&c, "sock_buf_bytes=4095", -EINVAL);
	set_fails(&c, "sock_buf_bytes=16777217", -EINVAL);
	set_fails(&c, "out_ring_bytes=4095", -EINVAL);
	set_fails(&c, "mtu=575", -EINVAL);
	set_fails(&c, "mtu=9001", -EINVAL);
	assert_int_equal(synq_config_set(&c, "sock_buf_bytes=16777216"), 0);
	assert_int_equal(synq_config_set(&c, "tcp_fin_timeout=2147483"), 0);
}

/* ---- ip_local_port_range ------------------------------------------------------------------ */

static void test_port_range(void **state)
{
	struct synq_config c;

	synq_config_init(&c);
	assert_int_equal(synq_config_set(&c, "net.ipv4.ip_local_port_range=1024 65535"), 0);
	assert_int_equal(c.ip_local_port_range_lo, 1024);
	assert_int_equal(c.ip_local_port_range_hi, 65535);
	assert_get(&c, "net.ipv4.ip_local_port_range", "1024\t65535");

	/* sysctl's own output (tab) is accepted back */
	assert_int_equal(synq_config_set(&c, "ip_local_port_range=40000\t40100"), 0);
	assert_int_equal(c.ip_local_port_range_lo, 40000);
	assert_int_equal(c.ip_local_port_range_hi, 40100);
	assert_int_equal(synq_config_set(&c, "net/ipv4/ip_local_port_range =  5000 \t 5000  "), 0);
	assert_int_equal(c.ip_local_port_range_lo, 5000);
	assert_int_equal(c.ip_local_port_range_hi, 5000);
	assert_int_equal(synq_config_set(&c, "ip_local_port_range=1 1"), 0);
	assert_get(&c, "ip_local_port_range", "1\t1");
	assert_int_equal(synq_config_set(&c, "ip_local_port_range=32768 60999"), 0);

	set_fails(&c, "ip_local_port_range=2000 1000", -EINVAL); /* lo > hi */
	set_fails(&c, "ip_local_port_range=0 10", -EINVAL);
	set_fails(&c, "ip_local_port_range=1 65536", -EINVAL);
	set_fails(&c, "ip_local_port_range=65536 65536", -EINVAL);
	set_fails(&c, "ip_local_port_range=-1 5", -EINVAL);
	set_fails(&c, "ip_local_port_range=1000", -EINVAL);
	set_fails(&c, "ip_local_port_range=1000 ", -EINVAL);
	set_fails(&c, "ip_local_port_range=1 2 3", -EINVAL);
	set_fails(&c, "ip_local_port_range=1,2", -EINVAL);
	set_fails(&c, "ip_local_port_range=1000 2000x", -EINVAL);
	set_fails(&c, "ip_local_port_range=a b", -EINVAL);
	set_fails(&c, "ip_local_port_range=", -EINVAL);
	assert_int_equal(c.ip_local_port_range_lo, 32768);
	assert_int_equal(c.ip_local_port_range_hi, 60999);
}

/* ---- local addresses ---------------------------------------------------------------------- */

static void test_local_addr(void **state)
{
	struct synq_config c;

	synq_config_init(&c);
	assert_int_equal(synq_config_set(&c, "net.synq.local_addr=10.0.0.1"), 0);
	assert_int_equal(c.n_local_addrs, 1);
	assert_int_equal(c.local_addrs[0], 0x0a000001);
	assert_int_equal(synq_config_set(&c, " net/synq/local_addr = 192.168.1.254 "), 0);
	assert_int_equal(c.n_local_addrs, 2);
	assert_int_equal(c.local_addrs[1], 0xc0a801fe);
	assert_get(&c, "net.synq.local_addr", "10.0.0.1 192.168.1.254");
	assert_get(&c, "local_addr", "10.0.0.1 192.168.1.254");

	set_fails(&c, "local_addr=10.0.0.1", -EEXIST);
	set_fails(&c, "local_addr=192.168.1.254", -EEXIST);

	assert_int_equal(synq_config_set(&c, "local_addr=255.255.255.255"), 0);
	assert_int_equal(c.local_addrs[2], 0xffffffff);
	for (int i = 3; i < SYNQ_MAX_ADDRS; i++) {
		assert_int_equal(set(&c, "local_addr=172.16.0.%d", i), 0);
		assert_int_equal(c.n_local_addrs, i + 1);
		assert_int_equal(c.local_addrs[i], 0xac100000u + (unsigned)i);
	}
	set_fails(&c, "local_addr=172.16.1.1", -ENOSPC);
	/* a duplicate is still a duplicate when full */
	set_fails(&c, "local_addr=10.0.0.1", -EEXIST);
	assert_get(&c, "local_addr",
		   "10.0.0.1 192.168.1.254 255.255.255.255 172.16.0.3 172.16.0.4 172.16.0.5 "
		   "172.16.0.6 172.16.0.7");

	/* longest possible text */
	struct synq_config f;
	char buf[CONFIG_VALUE_MAX];

	synq_config_init(&f);
	for (int i = 0; i < SYNQ_MAX_ADDRS; i++)
		assert_int_equal(set(&f, "local_addr=255.255.255.%d", 240 + i), 0);
	assert_int_equal(synq_config_get(&f, "local_addr", buf, sizeof(buf)),
			 SYNQ_MAX_ADDRS * 16 - 1);
}

static void test_local_addr_malformed(void **state)
{
	static const char *const bad[] = {
		"",	       "10.0.0",     "10.0.0.256", "10.0.0.1.2", "a.b.c.d",	 "10..0.1",
		"010.0.0.1",   "10.0.0.01",  "10.0.0.1x",	 "0.0.0.0",	 "1.2.3.4.",
		".1.2.3",      "1.2.3.-4",   "1234.0.0.1", "1.2.3.1000", "10.0.0.1 10.0.0.2",
		"0x0a.0.0.1",  "+1.2.3.4",
	};
	struct synq_config c;
	char a[128];

	synq_config_init(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(a, sizeof(a), "local_addr=%s", bad[i]);
		set_fails(&c, a, -EINVAL);
	}
	assert_int_equal(c.n_local_addrs, 0);
	/* whitespace around the value is trimmed, as for every knob */
	assert_int_equal(synq_config_set(&c, "local_addr=\t10.0.0.1 \n"), 0);
	assert_int_equal(c.local_addrs[0], 0x0a000001);
	synq_config_init(&c);
	assert_int_equal(synq_config_set(&c, "local_addr=0.0.0.1"), 0);
	assert_int_equal(c.local_addrs[0], 1);
}

/* ---- get buffer sizes --------------------------------------------------------------------- */

static void test_get_sizes(void **state)
{
	struct synq_config c;
	char buf[16];

	synq_config_init(&c);
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(synq_config_get(&c, "somaxconn", buf, 4), -ENOSPC); /* "4096" + NUL */
	assert_int_equal(synq_config_get(&c, "somaxconn", buf, 5), 4);
	assert_string_equal(buf, "4096");
	assert_int_equal(synq_config_get(&c, "somaxconn", buf, 0), -ENOSPC);
	assert_int_equal(synq_config_get(&c, "somaxconn", NULL, 0), -ENOSPC);
	assert_int_equal(synq_config_get(&c, "ip_local_port_range", buf, 11), -ENOSPC);
	assert_int_equal(synq_config_get(&c, "ip_local_port_range", buf, 12), 11);
	assert_string_equal(buf, "32768\t60999");
	assert_int_equal(synq_config_get(&c, "local_addr", buf, 1), 0);
	assert_string_equal(buf, "");
	assert_int_equal(synq_config_get(&c, "local_addr", buf, 0), -ENOSPC);
	assert_int_equal(synq_config_set(&c, "local_addr=1.2.3.4"), 0);
	assert_int_equal(synq_config_get(&c, "local_addr", buf, 7), -ENOSPC);
	assert_int_equal(synq_config_get(&c, "local_addr", buf, 8), 7);
	assert_string_equal(buf, "1.2.3.4");
	assert_int_equal(synq_config_get(&c, "nosuch", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(synq_config_get(&c, "", buf, sizeof(buf)), -ENOENT);
}

static void test_null_args(void **state)
{
	struct synq_config c;
	char buf[16];

	synq_config_init(&c);
	assert_int_equal(synq_config_set(NULL, "tcp_sack=1"), -EINVAL);
	assert_int_equal(synq_config_set(&c, NULL), -EINVAL);
	assert_int_equal(synq_config_get(NULL, "tcp_sack", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(synq_config_get(&c, NULL, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(config_check(NULL), -EINVAL);
	assert_int_equal(config_apply(NULL, "tcp_sack=1", 0), -EINVAL);
}

/* ---- config_apply ------------------------------------------------------------------------- */

static void test_apply_running(void **state)
{
	struct synq_config c, d;
	char a[128];

	synq_config_init(&c);
	for (size_t i = 0; i < N_INT_KNOBS; i++) {
		const struct int_knob *k = &int_knobs[i];
		struct synq_config before = c;

		snprintf(a, sizeof(a), "%s=%s", k->name, k->def);
		assert_int_equal(config_apply(&c, a, 1), k->sizing ? -EPERM : 0);
		/* short form too, and even a bad value is -EPERM first */
		snprintf(a, sizeof(a), "%s=%s", k->name + 9, k->def);
		assert_int_equal(config_apply(&c, a, 1), k->sizing ? -EPERM : 0);
		if (k->sizing) {
			snprintf(a, sizeof(a), "%s=x", k->name);
			assert_int_equal(config_apply(&c, a, 1), -EPERM);
		}
		assert_memory_equal(&before, &c, sizeof(c));
		/* not running: allowed */
		snprintf(a, sizeof(a), "%s=%s", k->name, k->def);
		assert_int_equal(config_apply(&c, a, 0), 0);
	}
	assert_int_equal(config_apply(&c, "net.synq.max_sockets=2", 1), -EPERM);
	assert_int_equal(config_apply(&c, "net/synq/sock_buf_bytes=8192", 1), -EPERM);
	assert_int_equal(config_apply(&c, "out_ring_bytes=8192", 1), -EPERM);
	assert_int_equal(config_apply(&c, "mtu=1400", 1), -EPERM);
	assert_int_equal(config_apply(&c, "max_requests=16", 1), -EPERM);
	assert_int_equal(c.max_sockets, 1024);
	assert_int_equal(c.mtu, 1500);

	/* sysctls of a running stack change */
	assert_int_equal(config_apply(&c, "tcp_synack_retries=2", 1), 0);
	assert_int_equal(c.tcp_synack_retries, 2);
	assert_int_equal(config_apply(&c, "ip_local_port_range=2000 3000", 1), 0);
	assert_int_equal(c.ip_local_port_range_lo, 2000);
	assert_int_equal(config_apply(&c, "local_addr=10.9.9.9", 1), 0);
	assert_int_equal(c.n_local_addrs, 1);
	/* the other errors as usual */
	assert_int_equal(config_apply(&c, "nosuch=1", 1), -ENOENT);
	assert_int_equal(config_apply(&c, "tcp_sack=2", 1), -EINVAL);
	assert_int_equal(config_apply(&c, "local_addr=10.9.9.9", 1), -EEXIST);

	/* synq_config_set is config_apply(running = 0) */
	synq_config_init(&c);
	synq_config_init(&d);
	assert_int_equal(synq_config_set(&c, "mtu=1280"), 0);
	assert_int_equal(config_apply(&d, "mtu=1280", 0), 0);
	assert_memory_equal(&c, &d, sizeof(c));
}

/* ---- config_check ------------------------------------------------------------------------- */

static void *dummy_alloc(void *user, size_t size)
{
	return NULL;
}

static void dummy_free(void *user, void *ptr, size_t size)
{
}

static void test_check(void **state)
{
	struct synq_config c, base;
	const char *name;
	char buf[CONFIG_VALUE_MAX];

	synq_config_init(&base);
	assert_int_equal(config_check(&base), 0);
	assert_int_equal(synq_config_set(&base, "local_addr=10.0.0.1"), 0);
	assert_int_equal(config_check(&base), 0);

	/* anything set successfully passes the check */
	c = base;
	for (size_t i = 0; i < N_INT_KNOBS; i++) {
		assert_int_equal(set(&c, "%s=%lld", int_knobs[i].name, int_knobs[i].min), 0);
		assert_int_equal(config_check(&c), 0);
		assert_int_equal(set(&c, "%s=%lld", int_knobs[i].name, int_knobs[i].max), 0);
		assert_int_equal(config_check(&c), 0);
	}
	for (size_t i = 0; (name = synq_config_knob(i)); i++)
		assert_true(synq_config_get(&c, name, buf, sizeof(buf)) >= 0);

#define BAD(stmt)                                                                                  \
	do {                                                                                       \
		c = base;                                                                          \
		stmt;                                                                              \
		assert_int_equal(config_check(&c), -EINVAL);                                       \
	} while (0)
#define GOOD(stmt)                                                                                 \
	do {                                                                                       \
		c = base;                                                                          \
		stmt;                                                                              \
		assert_int_equal(config_check(&c), 0);                                             \
	} while (0)

	BAD(c.max_requests = 0);
	BAD(c.max_requests = -1);
	GOOD(c.max_requests = 1);
	BAD(c.max_sockets = 0);
	GOOD(c.max_sockets = 1);
	BAD(c.sock_buf_bytes = 4095);
	GOOD(c.sock_buf_bytes = 4096);
	GOOD(c.sock_buf_bytes = 16 << 20);
	BAD(c.sock_buf_bytes = (16 << 20) + 1);
	BAD(c.out_ring_bytes = 4095);
	GOOD(c.out_ring_bytes = 4096);
	BAD(c.out_ring_bytes = 0);
	BAD(c.mtu = 575);
	GOOD(c.mtu = 576);
	GOOD(c.mtu = 9000);
	BAD(c.mtu = 9001);
	BAD(c.ip_local_port_range_lo = 0);
	BAD(c.ip_local_port_range_hi = 65536);
	BAD((c.ip_local_port_range_lo = 5000, c.ip_local_port_range_hi = 4999));
	GOOD((c.ip_local_port_range_lo = 1, c.ip_local_port_range_hi = 65535));
	GOOD((c.ip_local_port_range_lo = 7, c.ip_local_port_range_hi = 7));
	BAD(c.n_local_addrs = -1);
	BAD(c.n_local_addrs = SYNQ_MAX_ADDRS + 1);
	GOOD(c.n_local_addrs = 0);
	BAD((c.local_addrs[1] = 0, c.n_local_addrs = 2));
	BAD((c.local_addrs[1] = c.local_addrs[0], c.n_local_addrs = 2));
	GOOD((c.local_addrs[1] = 0x0a000002, c.n_local_addrs = 2));
	BAD(c.tcp_syncookies = 3);
	BAD(c.tcp_syn_retries = 0);
	BAD(c.tcp_rto_max_ms = 999);
	BAD(c.somaxconn = -1);
	BAD(c.somaxconn = (int64_t)INT_MAX + 1);
	BAD(c.tcp_keepalive_probes = 0);
	BAD(c.alloc = dummy_alloc);
	BAD(c.free = dummy_free);
	GOOD((c.alloc = dummy_alloc, c.free = dummy_free));
#undef BAD
#undef GOOD
}

/* net.ipv4.tcp_rmem: three values, 6.18 defaults, non-decreasing */
static void test_tcp_rmem(void **state)
{
	struct synq_config c;
	synq_config_init(&c);
	assert_int_equal(c.tcp_rmem[0], 4096);
	assert_int_equal(c.tcp_rmem[1], 131072);
	assert_int_equal(c.tcp_rmem[2], 33554432);
	char buf[64];
	assert_true(synq_config_get(&c, "net.ipv4.tcp_rmem", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "4096\t131072\t33554432");
	assert_int_equal(synq_config_set(&c, "net.ipv4.tcp_rmem=4096 87380 6291456"), 0);
	assert_int_equal(c.tcp_rmem[2], 6291456);
	assert_int_equal(synq_config_set(&c, "tcp_rmem = 1  2\t3 "), 0);
	assert_int_equal(c.tcp_rmem[2], 3);
	assert_int_equal(synq_config_set(&c, "net.ipv4.tcp_rmem=3 2 1"), -EINVAL);
	assert_int_equal(synq_config_set(&c, "net.ipv4.tcp_rmem=1 2"), -EINVAL);
	assert_int_equal(synq_config_set(&c, "net.ipv4.tcp_rmem=1 2 3 4"), -EINVAL);
	assert_int_equal(synq_config_set(&c, "net.ipv4.tcp_rmem=0 2 3"), -EINVAL);
	assert_int_equal(c.tcp_rmem[2], 3);
}

/* net.synq.kernel_rules takes exactly two rule sets, by number or by version */
static void test_kernel_rules(void **state)
{
	struct synq_config c;
	synq_config_init(&c);
	assert_int_equal(c.kernel_rules, 618);
	assert_int_equal(synq_config_set(&c, "net.synq.kernel_rules=3.10"), 0);
	assert_int_equal(c.kernel_rules, 310);
	assert_int_equal(synq_config_set(&c, "kernel_rules=618"), 0);
	assert_int_equal(c.kernel_rules, 618);
	assert_int_equal(synq_config_set(&c, "net.synq.kernel_rules=310"), 0);
	assert_int_equal(synq_config_set(&c, "net.synq.kernel_rules=4.4"), -EINVAL);
	assert_int_equal(synq_config_set(&c, "net.synq.kernel_rules=400"), -EINVAL);
	assert_int_equal(c.kernel_rules, 310);
	char buf[16];
	assert_true(synq_config_get(&c, "net.synq.kernel_rules", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "310");
	c.kernel_rules = 500;
	assert_int_equal(config_check(&c), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_rules),
		cmocka_unit_test(test_tcp_rmem),
		cmocka_unit_test(test_defaults_fields),
		cmocka_unit_test(test_defaults_text),
		cmocka_unit_test(test_knob_list),
		cmocka_unit_test(test_round_trip_listed),
		cmocka_unit_test(test_int_ranges),
		cmocka_unit_test(test_set_fields),
		cmocka_unit_test(test_name_forms),
		cmocka_unit_test(test_unknown_names),
		cmocka_unit_test(test_malformed_values),
		cmocka_unit_test(test_kernel_ranges),
		cmocka_unit_test(test_port_range),
		cmocka_unit_test(test_local_addr),
		cmocka_unit_test(test_local_addr_malformed),
		cmocka_unit_test(test_get_sizes),
		cmocka_unit_test(test_null_args),
		cmocka_unit_test(test_apply_running),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
