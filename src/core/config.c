/*
 * config.c — the sysctl-named knobs of struct synq_config, table-driven.
 *
 * One row per knob: its full name, where it lives in struct synq_config, the range the kernel
 * (or synq, for net.synq.*) accepts, its Linux 6.18 default, its kind and flags. Every function
 * below (defaults, set, get, check, the knob list) walks that table.
 *
 * Text rules follow sysctl(8)/proc_dointvec: names may drop their "net.ipv4."/"net.core."/
 * "net.synq." prefix and use '/' for '.'; values are decimal integers with an optional '-',
 * surrounded by optional whitespace; anything else is -EINVAL.
 *
 * SPDX-License-Identifier: MIT
 */
#include "core/config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

enum knob_kind {
	KNOB_INT,   /* one int64_t field */
	KNOB_RANGE, /* two int64_t fields (lo, hi), text "LO HI", lo <= hi */
	KNOB_TRIPLE, /* three int64_t fields, text "MIN DEFAULT MAX" (tcp_rmem), non-decreasing */
	KNOB_ADDR,  /* local_addrs[]/n_local_addrs: set appends, get lists */
};

#define KNOB_SIZING 0x1 /* fixed once a stack runs (config_apply(running) gives -EPERM) */

struct knob {
	const char *name; /* full dotted name */
	size_t off;       /* offset of the (first) int64_t field in struct synq_config */
	int64_t min, max; /* accepted range of the field (of each end for KNOB_RANGE) */
	int64_t def;      /* default (of lo for KNOB_RANGE) */
	uint8_t kind;     /* enum knob_kind */
	uint8_t flags;    /* KNOB_SIZING */
};

#define PORT_RANGE_HI_DEFAULT 60999

#define OFF(field) offsetof(struct synq_config, field)
#define SYSCTL(name, field, min, max, def) {name, OFF(field), min, max, def, KNOB_INT, 0}
#define SIZING(name, field, min, max, def) {name, OFF(field), min, max, def, KNOB_INT, KNOB_SIZING}

/* Ranges: the kernel's proc handlers (extra1/extra2, u8 fields, MAX_TCP_* limits) where it
 * enforces one, otherwise what keeps the value meaningful (non-negative, no overflow in ms/us). */
static const struct knob knobs[] = {
	SYSCTL("net.core.somaxconn", somaxconn, 0, INT_MAX, 4096),
	SYSCTL("net.ipv4.tcp_max_syn_backlog", tcp_max_syn_backlog, 0, INT_MAX, 2048),
	SYSCTL("net.ipv4.tcp_synack_retries", tcp_synack_retries, 0, 255, 5),
	SYSCTL("net.ipv4.tcp_syn_retries", tcp_syn_retries, 1, 127, 6),
	SYSCTL("net.ipv4.tcp_syn_linear_timeouts", tcp_syn_linear_timeouts, 0, 10, 4),
	SYSCTL("net.ipv4.tcp_abort_on_overflow", tcp_abort_on_overflow, 0, 1, 0),
	SYSCTL("net.ipv4.tcp_syncookies", tcp_syncookies, 0, 2, 1),
	SYSCTL("net.ipv4.tcp_timestamps", tcp_timestamps, 0, 2, 1),
	SYSCTL("net.ipv4.tcp_sack", tcp_sack, 0, 1, 1),
	SYSCTL("net.ipv4.tcp_window_scaling", tcp_window_scaling, 0, 1, 1),
	SYSCTL("net.ipv4.tcp_invalid_ratelimit", tcp_invalid_ratelimit, 0, INT_MAX, 500),
	SYSCTL("net.ipv4.tcp_keepalive_time", tcp_keepalive_time, 1, 32767, 7200),
	SYSCTL("net.ipv4.tcp_keepalive_intvl", tcp_keepalive_intvl, 1, 32767, 75),
	SYSCTL("net.ipv4.tcp_keepalive_probes", tcp_keepalive_probes, 1, 127, 9),
	SYSCTL("net.ipv4.tcp_retries2", tcp_retries2, 0, 255, 15),
	SYSCTL("net.ipv4.tcp_fin_timeout", tcp_fin_timeout, 1, INT_MAX / 1000, 60),
	SYSCTL("net.ipv4.tcp_rto_min_us", tcp_rto_min_us, 1, INT_MAX, 200000),
	SYSCTL("net.ipv4.tcp_rto_max_ms", tcp_rto_max_ms, 1000, 120000, 120000),
	SYSCTL("net.ipv4.tcp_no_metrics_save", tcp_no_metrics_save, 0, 1, 0),
	/* proc_dou8vec_minmax, extra1 = SYSCTL_ONE */
	SYSCTL("net.ipv4.tcp_pingpong_thresh", tcp_pingpong_thresh, 1, 255, 1),
	/* tcp_rmem[2] (32 MiB on 6.18) only sets the window scale synq offers, as in
	 * tcp_select_initial_window(); synq's buffers are net.synq.sock_buf_bytes */
	{"net.ipv4.tcp_rmem", OFF(tcp_rmem), 1, INT_MAX, 4096, KNOB_TRIPLE, 0},
	{"net.ipv4.ip_local_port_range", OFF(ip_local_port_range_lo), 1, 65535, 32768, KNOB_RANGE,
	 0},
	SIZING("net.synq.max_requests", max_requests, 1, CONFIG_MAX_REQUESTS_MAX, 65536),
	SIZING("net.synq.max_sockets", max_sockets, 1, CONFIG_MAX_SOCKETS_MAX, 1024),
	SIZING("net.synq.sock_buf_bytes", sock_buf_bytes, CONFIG_SOCK_BUF_MIN, CONFIG_SOCK_BUF_MAX,
	       65536),
	SIZING("net.synq.out_ring_bytes", out_ring_bytes, CONFIG_OUT_RING_MIN, CONFIG_OUT_RING_MAX,
	       262144),
	SIZING("net.synq.mtu", mtu, CONFIG_MTU_MIN, CONFIG_MTU_MAX, 1500),
	/* 0: timers fire at their exact deadlines; else Linux's timer wheel at this HZ */
	SYSCTL("net.synq.timer_hz", timer_hz, 0, 1000, 0),
	SYSCTL("net.synq.syn_fairness", syn_fairness, 0, 1, 0),
	/* the listen-queue rules of Linux 6.18 (618) or 3.10 (310); "6.18"/"3.10" accepted */
	SIZING("net.synq.kernel_rules", kernel_rules, 310, 618, 618),
	{"net.synq.local_addr", 0, 0, SYNQ_MAX_ADDRS, 0, KNOB_ADDR, 0},
};

#define N_KNOBS (sizeof(knobs) / sizeof(knobs[0]))

static int64_t *field(struct synq_config *cfg, const struct knob *k)
{
	return (int64_t *)(void *)((char *)cfg + k->off);
}

static const int64_t *cfield(const struct synq_config *cfg, const struct knob *k)
{
	return (const int64_t *)(const void *)((const char *)cfg + k->off);
}

/* ---- text helpers ------------------------------------------------------------------------- */

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Trim whitespace off both ends of [*b, *e). */
static void trim(const char **b, const char **e)
{
	while (*b < *e && is_space(**b))
		(*b)++;
	while (*e > *b && is_space((*e)[-1]))
		(*e)--;
}

/* Decimal integer [b, e) with an optional leading '-', nothing else; -EINVAL if empty,
 * malformed or outside int64_t. */
static int parse_i64(const char *b, const char *e, int64_t *out)
{
	int neg = 0;
	uint64_t v = 0, lim;

	if (b < e && *b == '-') {
		neg = 1;
		b++;
	}
	if (b == e)
		return -EINVAL;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; b < e; b++) {
		unsigned d;

		if (!is_digit(*b))
			return -EINVAL;
		d = (unsigned)(*b - '0');
		if (v > (lim - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (neg)
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	else
		*out = (int64_t)v;
	return 0;
}

/* Dotted quad a.b.c.d [b, e), each part 0..255 in decimal without leading zeros
 * (inet_pton rules); 0.0.0.0 is not an address a stack can own. */
static int parse_ipv4(const char *b, const char *e, uint32_t *out)
{
	uint32_t ip = 0;
	int part;

	for (part = 0; part < 4; part++) {
		const char *p = b;
		unsigned v = 0;

		if (part > 0) {
			if (b == e || *b != '.')
				return -EINVAL;
			p = ++b;
		}
		while (b < e && is_digit(*b) && b - p < 3)
			v = v * 10 + (unsigned)(*b++ - '0');
		if (b == p || v > 255 || (b - p > 1 && *p == '0'))
			return -EINVAL;
		ip = ip << 8 | v;
	}
	if (b != e || ip == 0)
		return -EINVAL;
	*out = ip;
	return 0;
}

/* Does [b, e) spell s, with '/' accepted for '.'? */
static int name_is(const char *b, const char *e, const char *s)
{
	for (; b < e; b++, s++) {
		char c = *b == '/' ? '.' : *b;

		if (*s == '\0' || c != *s)
			return 0;
	}
	return *s == '\0';
}

/* "net.ipv4.tcp_sack" -> "tcp_sack": the part after the second '.'. */
static const char *short_name(const char *full)
{
	const char *p = strchr(full, '.');

	p = p ? strchr(p + 1, '.') : NULL;
	return p ? p + 1 : full;
}

static const struct knob *lookup(const char *b, const char *e)
{
	size_t i;

	for (i = 0; i < N_KNOBS; i++)
		if (name_is(b, e, knobs[i].name) || name_is(b, e, short_name(knobs[i].name)))
			return &knobs[i];
	return NULL;
}

static int in_range(const struct knob *k, int64_t v)
{
	return v >= k->min && v <= k->max;
}

/* ---- set ---------------------------------------------------------------------------------- */

static int set_int(struct synq_config *cfg, const struct knob *k, const char *b, const char *e)
{
	int64_t v;

	if (parse_i64(b, e, &v) < 0 || !in_range(k, v))
		return -EINVAL;
	*field(cfg, k) = v;
	return 0;
}

/* n whitespace-separated values, each in the knob's range, non-decreasing */
static int set_vec(struct synq_config *cfg, const struct knob *k, const char *b, const char *e,
		   int n)
{
	int64_t v[3];
	for (int i = 0; i < n; i++) {
		const char *m = b;
		while (m < e && !is_space(*m))
			m++;
		if (parse_i64(b, m, &v[i]) < 0 || !in_range(k, v[i]) || (i && v[i] < v[i - 1]))
			return -EINVAL;
		b = m;
		trim(&b, &e);
		if (i == n - 1 && b != e)
			return -EINVAL;
	}
	for (int i = 0; i < n; i++)
		field(cfg, k)[i] = v[i];
	return 0;
}

static int set_range(struct synq_config *cfg, const struct knob *k, const char *b, const char *e)
{
	const char *m = b;
	int64_t lo, hi;

	while (m < e && !is_space(*m))
		m++;
	if (parse_i64(b, m, &lo) < 0)
		return -EINVAL;
	trim(&m, &e);
	if (parse_i64(m, e, &hi) < 0)
		return -EINVAL;
	if (!in_range(k, lo) || !in_range(k, hi) || lo > hi)
		return -EINVAL;
	field(cfg, k)[0] = lo;
	field(cfg, k)[1] = hi;
	return 0;
}

static int set_addr(struct synq_config *cfg, const char *b, const char *e)
{
	uint32_t ip;
	int i, n = cfg->n_local_addrs;

	if (parse_ipv4(b, e, &ip) < 0 || n < 0 || n > SYNQ_MAX_ADDRS)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (cfg->local_addrs[i] == ip)
			return -EEXIST;
	if (n == SYNQ_MAX_ADDRS)
		return -ENOSPC;
	cfg->local_addrs[n] = ip;
	cfg->n_local_addrs = n + 1;
	return 0;
}

int config_apply(struct synq_config *cfg, const char *assignment, int running)
{
	const char *nb, *ne, *vb, *ve;
	const struct knob *k;

	if (!cfg || !assignment)
		return -EINVAL;
	ne = strchr(assignment, '=');
	if (!ne)
		return -EINVAL;
	nb = assignment;
	vb = ne + 1;
	ve = vb + strlen(vb);
	trim(&nb, &ne);
	trim(&vb, &ve);

	k = lookup(nb, ne);
	if (!k)
		return -ENOENT;
	if (running && (k->flags & KNOB_SIZING))
		return -EPERM;
	if (k->off == OFF(kernel_rules)) {
		/* only two rule sets exist */
		size_t n = (size_t)(ve - vb);
		if ((n == 3 && !memcmp(vb, "310", 3)) || (n == 4 && !memcmp(vb, "3.10", 4)))
			cfg->kernel_rules = 310;
		else if ((n == 3 && !memcmp(vb, "618", 3)) || (n == 4 && !memcmp(vb, "6.18", 4)))
			cfg->kernel_rules = 618;
		else
			return -EINVAL;
		return 0;
	}
	switch (k->kind) {
	case KNOB_INT:
		return set_int(cfg, k, vb, ve);
	case KNOB_RANGE:
		return set_range(cfg, k, vb, ve);
	case KNOB_TRIPLE:
		return set_vec(cfg, k, vb, ve, 3);
	default:
		return set_addr(cfg, vb, ve);
	}
}

int synq_config_set(struct synq_config *cfg, const char *assignment)
{
	return config_apply(cfg, assignment, 0);
}

/* ---- get ---------------------------------------------------------------------------------- */

static int format_addrs(const struct synq_config *cfg, char *buf, size_t cap)
{
	size_t len = 0;
	int i, n;

	if (cfg->n_local_addrs < 0 || cfg->n_local_addrs > SYNQ_MAX_ADDRS)
		return -EINVAL;
	buf[0] = '\0';
	for (i = 0; i < cfg->n_local_addrs; i++) {
		uint32_t a = cfg->local_addrs[i];

		n = snprintf(buf + len, cap - len, "%s%u.%u.%u.%u", i ? " " : "", a >> 24,
			     a >> 16 & 0xff, a >> 8 & 0xff, a & 0xff);
		if (n < 0 || (size_t)n >= cap - len)
			return -ENOSPC;
		len += (size_t)n;
	}
	return (int)len;
}

int synq_config_get(const struct synq_config *cfg, const char *name, char *buf, size_t cap)
{
	char tmp[CONFIG_VALUE_MAX];
	const struct knob *k;
	const int64_t *v;
	int n;

	if (!cfg || !name)
		return -EINVAL;
	k = lookup(name, name + strlen(name));
	if (!k)
		return -ENOENT;
	v = cfield(cfg, k);
	switch (k->kind) {
	case KNOB_INT:
		n = snprintf(tmp, sizeof(tmp), "%" PRId64, v[0]);
		break;
	case KNOB_RANGE:
		n = snprintf(tmp, sizeof(tmp), "%" PRId64 "\t%" PRId64, v[0], v[1]);
		break;
	case KNOB_TRIPLE:
		n = snprintf(tmp, sizeof(tmp), "%" PRId64 "\t%" PRId64 "\t%" PRId64, v[0], v[1], v[2]);
		break;
	default:
		n = format_addrs(cfg, tmp, sizeof(tmp));
		break;
	}
	if (n < 0)
		return n;
	if (!buf || (size_t)n >= cap)
		return -ENOSPC;
	memcpy(buf, tmp, (size_t)n + 1);
	return n;
}

const char *synq_config_knob(size_t i)
{
	return i < N_KNOBS ? knobs[i].name : NULL;
}

/* ---- defaults and validation -------------------------------------------------------------- */

void synq_config_init(struct synq_config *cfg)
{
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < N_KNOBS; i++) {
		const struct knob *k = &knobs[i];

		if (k->kind == KNOB_INT) {
			*field(cfg, k) = k->def;
		} else if (k->kind == KNOB_RANGE) {
			field(cfg, k)[0] = k->def;
			field(cfg, k)[1] = PORT_RANGE_HI_DEFAULT;
		} else if (k->kind == KNOB_TRIPLE) { /* tcp_rmem, Linux 6.18 */
			field(cfg, k)[0] = 4096;
			field(cfg, k)[1] = 131072;
			field(cfg, k)[2] = 33554432;
		}
	}
}

static int check_addrs(const struct synq_config *cfg)
{
	int i, j;

	if (cfg->n_local_addrs < 0 || cfg->n_local_addrs > SYNQ_MAX_ADDRS)
		return -EINVAL;
	for (i = 0; i < cfg->n_local_addrs; i++) {
		if (cfg->local_addrs[i] == 0)
			return -EINVAL;
		for (j = 0; j < i; j++)
			if (cfg->local_addrs[j] == cfg->local_addrs[i])
				return -EINVAL;
	}
	return 0;
}

int config_check(const struct synq_config *cfg)
{
	size_t i;

	if (!cfg)
		return -EINVAL;
	for (i = 0; i < N_KNOBS; i++) {
		const struct knob *k = &knobs[i];
		const int64_t *v = cfield(cfg, k);

		switch (k->kind) {
		case KNOB_INT:
			if (!in_range(k, v[0]))
				return -EINVAL;
			break;
		case KNOB_RANGE:
			if (!in_range(k, v[0]) || !in_range(k, v[1]) || v[0] > v[1])
				return -EINVAL;
			break;
		case KNOB_TRIPLE:
			for (int j = 0; j < 3; j++)
				if (!in_range(k, v[j]) || (j && v[j] < v[j - 1]))
					return -EINVAL;
			break;
		default:
			if (check_addrs(cfg) < 0)
				return -EINVAL;
			break;
		}
	}
	if (!cfg->alloc != !cfg->free)
		return -EINVAL;
	if (cfg->kernel_rules != 310 && cfg->kernel_rules != 618)
		return -EINVAL;
	return 0;
}
