/*
 * fuzz_wire.c — libFuzzer target for the IPv4/TCP parser and emitter (src/core/wire.c).
 *
 * Any input is parsed; when it parses, the representation is emitted again and parsed back, and
 * the two representations must agree (flags, sequence numbers, window, options and their values,
 * payload bytes). Emitting the re-parsed segment must reproduce the same bytes.
 *
 * Random bytes almost never carry valid checksums, so every input is also tried a second time
 * with both checksums recomputed (by a naive implementation kept here), which lets the mutator
 * reach the TCP option parser.
 *
 * The same input also goes to wire_parse_icmp() (B11): a message that parses must agree with its
 * bytes, read here independently (type, code, length, the quote and how much of it there is);
 * wire_parse and wire_parse_icmp never both accept one packet. The ICMP checksum is fixed too.
 *
 * Built by scripts/fuzz.sh (clang -fsanitize=fuzzer,address,undefined, with every src/core
 * source); seeds in fuzz/corpus/wire/.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                           \
	do {                                                                               \
		if (!(c)) {                                                                \
			fprintf(stderr, "fuzz_wire: %s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #c);                                             \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* Option bytes wire_emit should use, worked out independently of wire.c (tcp_options_write()
 * layout; SACK blocks clamped to the 40 bytes of option space). */
static size_t expect_opts(const struct synq_opts *o, unsigned int *n_sack)
{
	size_t base = 0;
	unsigned int n = 0;

	if (o->present & OPT_MSS)
		base += 4;
	if (o->present & OPT_TS)
		base += 12;
	else if (o->present & OPT_SACK_PERM)
		base += 4;
	if (o->present & OPT_WSCALE)
		base += 4;
	if ((o->present & OPT_SACK) && o->n_sack) {
		n = o->n_sack;
		while (n && base + 4 + 8 * n > 40)
			n--;
	}
	*n_sack = n;
	return base + (n ? 4 + 8 * n : 0);
}

static uint8_t out[65536 + 128];
static uint8_t out2[65536 + 128];
static uint8_t fixed[65536];

/* RFC 1071, one 16-bit word per step, complemented. */
static uint16_t naive_csum(uint32_t sum, const uint8_t *p, size_t n)
{
	for (; n > 1; p += 2, n -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (n)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Recompute the IP and TCP checksums in place where the header fields make that possible. */
static void fix_csums(uint8_t *p, size_t size)
{
	size_t ihl, tot;
	uint32_t sum = 0;

	if (size < 20)
		return;
	ihl = (size_t)(p[0] & 15) * 4;
	if (ihl < 20 || ihl > size)
		return;
	p[10] = p[11] = 0;
	wire_enc16(p + 10, naive_csum(0, p, ihl));
	tot = wire_dec16(p + 2);
	if (tot < ihl + 18 || tot > size)
		return;
	for (int i = 12; i < 20; i += 2)
		sum += wire_dec16(p + i);
	sum += 6 + (uint32_t)(tot - ihl);
	p[ihl + 16] = p[ihl + 17] = 0;
	wire_enc16(p + ihl + 16, naive_csum(sum, p + ihl, tot - ihl));
}

static void one(const uint8_t *data, size_t size);
static void one_icmp(const uint8_t *data, size_t size);

/* Recompute the IP and ICMP checksums in place where the header fields make that possible. */
static void fix_icmp_csums(uint8_t *p, size_t size)
{
	size_t ihl, tot;

	if (size < 20)
		return;
	ihl = (size_t)(p[0] & 15) * 4;
	if (ihl < 20 || ihl > size)
		return;
	p[10] = p[11] = 0;
	wire_enc16(p + 10, naive_csum(0, p, ihl));
	tot = wire_dec16(p + 2);
	if (tot < ihl + 4 || tot > size)
		return;
	p[ihl + 2] = p[ihl + 3] = 0;
	wire_enc16(p + ihl + 2, naive_csum(0, p + ihl, tot - ihl));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size);
	one_icmp(data, size);
	if (size <= sizeof(fixed)) {
		memcpy(fixed, data, size);
		fix_csums(fixed, size);
		one(fixed, size);
		one_icmp(fixed, size);
		memcpy(fixed, data, size);
		fix_icmp_csums(fixed, size);
		one_icmp(fixed, size);
	}
	return 0;
}

static void one_icmp(const uint8_t *data, size_t size)
{
	struct synq_icmp m;
	struct synq_seg g;
	size_t ihl, n, qihl;
	const uint8_t *p, *q;

	memset(&m, 0xa5, sizeof(m));
	enum wire_err e = wire_parse_icmp(data, size, &m);
	if (wire_parse(data, size, &g) == WIRE_OK)
		CHECK(e == WIRE_ERR_PROTO);
	if (e != WIRE_OK)
		return;
	ihl = (size_t)(data[0] & 15) * 4;
	n = wire_dec16(data + 2) - ihl;
	p = data + ihl;
	CHECK(data[9] == 1);
	CHECK(n >= 8 && m.len == n);
	CHECK(naive_csum(0, p, n) == 0);
	CHECK(m.saddr == wire_dec32(data + 12) && m.daddr == wire_dec32(data + 16));
	CHECK(m.type == p[0] && m.code == p[1] && m.rest == wire_dec32(p + 4));
	int quotes = m.type == 3 || m.type == 4 || m.type == 5 || m.type == 11 || m.type == 12;
	if (!quotes) {
		CHECK(m.quote == QUOTE_NONE);
		CHECK(m.q_proto == 0 && m.q_saddr == 0 && m.q_sport == 0 && m.q_seq == 0);
		return;
	}
	q = p + 8;
	n -= 8;
	qihl = n ? (size_t)(q[0] & 15) * 4 : 0;
	if (n < 20 || qihl < 20) {
		CHECK(m.quote == QUOTE_NO_IP);
		return;
	}
	CHECK(m.q_proto == q[9] && m.q_saddr == wire_dec32(q + 12) &&
	      m.q_daddr == wire_dec32(q + 16));
	if (n < qihl + 8) {
		CHECK(m.quote == QUOTE_NO_PORTS);
		return;
	}
	CHECK(m.quote == QUOTE_OK);
	CHECK(m.q_sport == wire_dec16(q + qihl) && m.q_dport == wire_dec16(q + qihl + 2));
	CHECK(m.q_seq == wire_dec32(q + qihl + 4));
}

static void one(const uint8_t *data, size_t size)
{
	struct synq_seg a, b;
	unsigned int n_sack;
	size_t olen, n, n2;

	if (wire_parse(data, size, &a) != WIRE_OK)
		return;

	/* the parsed representation is self-consistent */
	CHECK(a.payload >= data && a.payload + a.len <= data + size);
	CHECK(a.opt.n_sack <= WIRE_MAX_SACK);
	CHECK(!(a.opt.present & OPT_SACK) || a.opt.n_sack >= 1);
	if (!(a.flags & TCP_SYN))
		CHECK(!(a.opt.present & (OPT_MSS | OPT_WSCALE | OPT_SACK_PERM)));

	olen = expect_opts(&a.opt, &n_sack);
	CHECK(wire_opts_len(&a.opt) == olen);
	CHECK((olen & 3) == 0 && olen <= 40);

	n = wire_emit(&a, out, sizeof(out));
	if (40 + olen + a.len > 0xffff) {
		CHECK(n == 0);
		return;
	}
	CHECK(n == 40 + olen + a.len);
	CHECK(wire_emit(&a, out2, n - 1) == 0);

	CHECK(wire_parse(out, n, &b) == WIRE_OK);
	CHECK(b.saddr == a.saddr && b.daddr == a.daddr);
	CHECK(b.tos == a.tos && b.ip_id == a.ip_id);
	CHECK(b.ttl == (a.ttl ? a.ttl : 64));
	CHECK(b.sport == a.sport && b.dport == a.dport);
	CHECK(b.seq == a.seq && b.ack == a.ack);
	CHECK(b.flags == a.flags);
	CHECK(b.window == a.window && b.urg == a.urg);

	CHECK((b.opt.present & ~OPT_SACK) == (a.opt.present & ~OPT_SACK));
	CHECK(!!(b.opt.present & OPT_SACK) == (n_sack > 0));
	if (a.opt.present & OPT_MSS)
		CHECK(b.opt.mss == a.opt.mss);
	if (a.opt.present & OPT_WSCALE)
		CHECK(b.opt.wscale == a.opt.wscale);
	if (a.opt.present & OPT_TS)
		CHECK(b.opt.tsval == a.opt.tsval && b.opt.tsecr == a.opt.tsecr);
	if (n_sack) {
		CHECK(b.opt.n_sack == n_sack);
		for (unsigned int i = 0; i < n_sack; i++)
			CHECK(b.opt.sack[i][0] == a.opt.sack[i][0] &&
			      b.opt.sack[i][1] == a.opt.sack[i][1]);
	}

	CHECK(b.len == a.len);
	CHECK(b.payload == out + 40 + olen);
	CHECK(a.len == 0 || memcmp(b.payload, a.payload, a.len) == 0);

	/* emit(parse(emit(x))) == emit(x) */
	n2 = wire_emit(&b, out2, sizeof(out2));
	CHECK(n2 == n && memcmp(out, out2, n) == 0);
}
