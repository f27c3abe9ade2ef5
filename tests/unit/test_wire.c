/*
 * test_wire.c — IPv4/TCP parsing and emission (src/core/wire.c).
 *
 * Checksums are cross-checked against a naive byte-pair implementation written here and against
 * literal values derived once with an independent Python model (struct.unpack('!NH') sums).
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

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

/* ---- reference helpers (deliberately naive) ------------------------------------------------ */

/* RFC 1071 section 4.1 "C" algorithm, one 16-bit word at a time, complemented. */
static uint16_t ref_csum(uint32_t sum, const uint8_t *p, size_t n)
{
	while (n > 1) {
		sum += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		n -= 2;
	}
	if (n)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint16_t ref_tcp_csum(const uint8_t *pkt)
{
	unsigned ihl = (pkt[0] & 15u) * 4u;
	unsigned tot = (unsigned)(pkt[2] << 8 | pkt[3]);
	uint32_t sum = 0;

	for (int i = 12; i < 20; i += 2)
		sum += (uint32_t)(pkt[i] << 8 | pkt[i + 1]);
	sum += 6 + (tot - ihl);
	return ref_csum(sum, pkt + ihl, tot - ihl);
}

/* Recompute both checksums of pkt (IHL and total length taken from the packet). */
static void fix_csums(uint8_t *pkt)
{
	unsigned ihl = (pkt[0] & 15u) * 4u;

	pkt[10] = pkt[11] = 0;
	wire_enc16(pkt + 10, ref_csum(0, pkt, ihl));
	pkt[ihl + 16] = pkt[ihl + 17] = 0;
	wire_enc16(pkt + ihl + 16, ref_tcp_csum(pkt));
}

static void fix_ip_csum(uint8_t *pkt)
{
	pkt[10] = pkt[11] = 0;
	wire_enc16(pkt + 10, ref_csum(0, pkt, (pkt[0] & 15u) * 4u));
}

/* 10.77.0.2:40001 -> 10.77.0.1:8080, the given flags, options (padded with EOL to 4 bytes) and
 * payload; checksums filled in. Returns the packet length. */
static size_t build(uint8_t *pkt, uint8_t flags, const uint8_t *opt, size_t optlen,
		    const uint8_t *data, size_t dlen)
{
	size_t olen = (optlen + 3) & ~(size_t)3;
	size_t tot = 40 + olen + dlen;
	uint8_t *th = pkt + 20;

	memset(pkt, 0, tot);
	pkt[0] = 0x45;
	wire_enc16(pkt + 2, (uint16_t)tot);
	wire_enc16(pkt + 4, 0x8e1f);
	wire_enc16(pkt + 6, 0x4000);
	pkt[8] = 64;
	pkt[9] = 6;
	wire_enc32(pkt + 12, IP(10, 77, 0, 2));
	wire_enc32(pkt + 16, IP(10, 77, 0, 1));
	wire_enc16(th, 40001);
	wire_enc16(th + 2, 8080);
	wire_enc32(th + 4, 0x5a3c1d2e);
	wire_enc32(th + 8, (flags & TCP_ACK) ? 0x01020304 : 0);
	th[12] = (uint8_t)(((20 + olen) / 4) << 4);
	th[13] = flags;
	wire_enc16(th + 14, 64240);
	if (optlen)
		memcpy(th + 20, opt, optlen);
	if (dlen)
		memcpy(th + 20 + olen, data, dlen);
	fix_csums(pkt);
	return tot;
}

/* The SYN Linux 6.x sends: mss 1460, sackOK, TS val 295505435 ecr 0, nop, wscale 10. */
static const uint8_t syn_opts[20] = { 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x11, 0x9d,
				      0x0e, 0x1b, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a };

/* Same packet, every byte written out; checksums 0x9800 (IP) and 0xe57b (TCP) computed with an
 * independent Python model. */
static const uint8_t linux_syn[60] = {
	0x45, 0x00, 0x00, 0x3c, 0x8e, 0x1f, 0x40, 0x00, 0x40, 0x06, 0x98, 0x00, 0x0a, 0x4d, 0x00,
	0x02, 0x0a, 0x4d, 0x00, 0x01, 0x9c, 0x41, 0x1f, 0x90, 0x5a, 0x3c, 0x1d, 0x2e, 0x00, 0x00,
	0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0, 0xe5, 0x7b, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04,
	0x02, 0x08, 0x0a, 0x11, 0x9d, 0x0e, 0x1b, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
};

static size_t build_syn(uint8_t *pkt)
{
	return build(pkt, TCP_SYN, syn_opts, sizeof(syn_opts), NULL, 0);
}

static enum wire_err parse_opts(uint8_t flags, const uint8_t *opt, size_t optlen,
				struct synq_seg *g)
{
	uint8_t pkt[128];
	size_t n = build(pkt, flags, opt, optlen, NULL, 0);

	return wire_parse(pkt, n, g);
}

/* ---- checksum ------------------------------------------------------------------------------ */

static void test_csum_rfc1071(void **state)
{
	/* RFC 1071 section 3 example: 00 01 f2 03 f4 f5 f6 f7 -> sum ddf2 */
	static const uint8_t b[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	assert_int_equal(wire_csum_fold(wire_csum_add(0, b, 8)), 0xddf2);
	assert_int_equal((uint16_t)~wire_csum_fold(wire_csum_add(0, b, 8)), 0x220d);
	/* chained in two even halves, and starting from a folded sum */
	assert_int_equal(wire_csum_fold(wire_csum_add(wire_csum_add(0, b, 4), b + 4, 4)), 0xddf2);
	assert_int_equal(wire_csum_fold(wire_csum_add(0x0001, b + 2, 6)), 0xddf2);
	/* a partial sum > 16 bits is accepted */
	assert_int_equal(wire_csum_fold(wire_csum_add(0x2ddf0 - 0xf6f7, b + 6, 2)), 0xddf2);
}

static void test_csum_known(void **state)
{
	static const uint8_t one[1] = { 0x01 };
	static const uint8_t three[3] = { 0xab, 0xcd, 0xef };
	static const uint8_t ff[11] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t carry[4] = { 0xff, 0xff, 0x00, 0x01 };

	assert_int_equal(wire_csum_fold(wire_csum_add(0, one, 0)), 0);
	assert_int_equal(wire_csum_fold(wire_csum_add(0, one, 1)), 0x0100);       /* odd: pad right */
	assert_int_equal(wire_csum_fold(wire_csum_add(0, three, 3)), 0x9ace);     /* abcd+ef00 */
	assert_int_equal(wire_csum_fold(wire_csum_add(0, three, 2)), 0xabcd);
	assert_int_equal(wire_csum_fold(wire_csum_add(0, ff, 10)), 0xffff);
	assert_int_equal(wire_csum_fold(wire_csum_add(0, ff, 11)), 0xff00);       /* ffff + ff00 */
	assert_int_equal(wire_csum_fold(wire_csum_add(0, carry, 4)), 0x0001);     /* ffff+1 */
	/* IP header of linux_syn sums to ffff (valid), and its checksum is 0x9800 */
	assert_int_equal(wire_csum_fold(wire_csum_add(0, linux_syn, 20)), 0xffff);
	assert_int_equal(ref_csum(0, linux_syn, 20), 0);
}

static void test_csum_fold(void **state)
{
	assert_int_equal(wire_csum_fold(0), 0);
	assert_int_equal(wire_csum_fold(0xffff), 0xffff);
	assert_int_equal(wire_csum_fold(0x10000), 0x0001);
	assert_int_equal(wire_csum_fold(0x1ffff), 0x0001);
	assert_int_equal(wire_csum_fold(0x2ddf0), 0xddf2);
	assert_int_equal(wire_csum_fold(0xffffffffu), 0xffff);
	assert_int_equal(wire_csum_fold(0xfffe0001u), 0xffff);
}

/* Every length 0..300 at every alignment 0..7 against the naive implementation. */
static void test_csum_vs_reference(void **state)
{
	uint8_t buf[320];
	uint32_t x = 0x12345678;

	for (int pattern = 0; pattern < 3; pattern++) {
		for (size_t i = 0; i < sizeof(buf); i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = pattern == 0 ? (uint8_t)(x >> 16) : pattern == 1 ? 0xff : (uint8_t)i;
		}
		for (size_t off = 0; off < 8; off++) {
			for (size_t n = 0; n <= 300; n++) {
				uint16_t want = (uint16_t)~ref_csum(0, buf + off, n);

				if (want == 0 && n)
					want = 0xffff; /* same class in one's complement */
				uint16_t got = wire_csum_fold(wire_csum_add(0, buf + off, n));

				if (got == 0 && n)
					got = 0xffff;
				if (got != want)
					fail_msg("pattern %d off %zu len %zu: %04x != %04x", pattern,
						 off, n, got, want);
			}
		}
		/* chaining at any even split */
		for (size_t split = 0; split <= 300; split += 2)
			assert_int_equal(
				wire_csum_fold(wire_csum_add(wire_csum_add(0, buf, split),
							     buf + split, 300 - split)),
				wire_csum_fold(wire_csum_add(0, buf, 300)));
	}
}

/* ---- a real Linux SYN ---------------------------------------------------------------------- */

static void test_linux_syn_bytes(void **state)
{
	uint8_t pkt[64];
	size_t n = build_syn(pkt);

	assert_int_equal(n, 60);
	assert_int_equal(wire_dec16(pkt + 10), 0x9800);
	assert_int_equal(wire_dec16(pkt + 36), 0xe57b);
	assert_memory_equal(pkt, linux_syn, 60);
	/* the independent literal checksums verify with the reference code too */
	assert_int_equal(ref_csum(0, linux_syn, 20), 0);
	assert_int_equal(ref_tcp_csum(linux_syn), 0);
}

static void test_parse_linux_syn(void **state)
{
	struct synq_seg g;
	char s[16];

	assert_int_equal(wire_parse(linux_syn, sizeof(linux_syn), &g), WIRE_OK);
	assert_string_equal(wire_ip_str(g.saddr, s), "10.77.0.2");
	assert_string_equal(wire_ip_str(g.daddr, s), "10.77.0.1");
	assert_int_equal(g.sport, 40001);
	assert_int_equal(g.dport, 8080);
	assert_int_equal(g.seq, 0x5a3c1d2e);
	assert_int_equal(g.ack, 0);
	assert_int_equal(g.flags, TCP_SYN);
	assert_int_equal(g.window, 64240);
	assert_int_equal(g.urg, 0);
	assert_int_equal(g.ttl, 64);
	assert_int_equal(g.tos, 0);
	assert_int_equal(g.ip_id, 0x8e1f);
	assert_int_equal(g.opt.present, OPT_MSS | OPT_SACK_PERM | OPT_TS | OPT_WSCALE);
	assert_int_equal(g.opt.mss, 1460);
	assert_int_equal(g.opt.wscale, 10);
	assert_int_equal(g.opt.tsval, 295505435u);
	assert_int_equal(g.opt.tsecr, 0);
	assert_int_equal(g.opt.n_sack, 0);
	assert_int_equal(g.len, 0);
	assert_ptr_equal(g.payload, linux_syn + 60);
	assert_int_equal(seg_seqlen(&g), 1);
}

/* Linux's SYN layout is exactly what wire_emit produces: parse -> emit gives the same bytes. */
static void test_reemit_linux_syn(void **state)
{
	struct synq_seg g;
	uint8_t out[128];

	assert_int_equal(wire_parse(linux_syn, sizeof(linux_syn), &g), WIRE_OK);
	assert_int_equal(wire_opts_len(&g.opt), 20);
	assert_int_equal(wire_emit(&g, out, sizeof(out)), 60);
	assert_memory_equal(out, linux_syn, 60);
}

/* Ethernet padding beyond the IP total length is ignored. */
static void test_trailing_padding(void **state)
{
	uint8_t pkt[64];
	struct synq_seg g;

	memcpy(pkt, linux_syn, 60);
	memset(pkt + 60, 0xaa, 4);
	assert_int_equal(wire_parse(pkt, 64, &g), WIRE_OK);
	assert_int_equal(g.len, 0);
}

/* IP options are skipped (IHL 6: NOP NOP NOP EOL). */
static void test_ip_options_skipped(void **state)
{
	uint8_t pkt[64];
	struct synq_seg g;

	pkt[0] = 0x46;
	memcpy(pkt + 1, linux_syn + 1, 19);
	wire_enc16(pkt + 2, 64);
	pkt[20] = 1, pkt[21] = 1, pkt[22] = 1, pkt[23] = 0;
	memcpy(pkt + 24, linux_syn + 20, 40);
	fix_csums(pkt);
	assert_int_equal(wire_parse(pkt, 64, &g), WIRE_OK);
	assert_int_equal(g.sport, 40001);
	assert_int_equal(g.opt.mss, 1460);
	assert_int_equal(g.opt.present, OPT_MSS | OPT_SACK_PERM | OPT_TS | OPT_WSCALE);
	assert_ptr_equal(g.payload, pkt + 64);
}

/* ---- emission: exact Linux option layouts and round trips ---------------------------------- */

static struct synq_seg base_seg(uint8_t flags)
{
	struct synq_seg g;

	memset(&g, 0, sizeof(g));
	g.saddr = IP(10, 77, 0, 1);
	g.daddr = IP(10, 77, 0, 2);
	g.sport = 8080;
	g.dport = 40001;
	g.seq = 0xfffffff0u;
	g.ack = 0x5a3c1d2f;
	g.flags = flags;
	g.window = 65160;
	g.ttl = 64;
	g.ip_id = 0;
	return g;
}

/* Emit g, check the option bytes against want[0..wlen), both checksums, then parse back and
 * compare every field. */
static void roundtrip(const struct synq_seg *g, const uint8_t *want, size_t wlen)
{
	uint8_t pkt[1600];
	struct synq_seg p;
	size_t n = wire_emit(g, pkt, sizeof(pkt));

	assert_int_equal(wire_opts_len(&g->opt), wlen);
	assert_int_equal(n, 40 + wlen + g->len);
	assert_int_equal(pkt[0], 0x45);
	assert_int_equal(wire_dec16(pkt + 2), n);
	assert_int_equal(wire_dec16(pkt + 6), 0x4000); /* DF, no fragment */
	assert_int_equal(pkt[8], g->ttl ? g->ttl : 64);
	assert_int_equal(pkt[9], 6);
	assert_int_equal(ref_csum(0, pkt, 20), 0);
	assert_int_equal(ref_tcp_csum(pkt), 0);
	assert_int_equal(pkt[32] >> 4, (20 + wlen) / 4);
	if (wlen)
		assert_memory_equal(pkt + 40, want, wlen);

	assert_int_equal(wire_parse(pkt, n, &p), WIRE_OK);
	assert_int_equal(p.saddr, g->saddr);
	assert_int_equal(p.daddr, g->daddr);
	assert_int_equal(p.tos, g->tos);
	assert_int_equal(p.ip_id, g->ip_id);
	assert_int_equal(p.sport, g->sport);
	assert_int_equal(p.dport, g->dport);
	assert_int_equal(p.seq, g->seq);
	assert_int_equal(p.ack, g->ack);
	assert_int_equal(p.flags, g->flags);
	assert_int_equal(p.window, g->window);
	assert_int_equal(p.urg, g->urg);
	assert_int_equal(p.opt.present, g->opt.present);
	if (g->opt.present & OPT_MSS)
		assert_int_equal(p.opt.mss, g->opt.mss);
	if (g->opt.present & OPT_WSCALE)
		assert_int_equal(p.opt.wscale, g->opt.wscale);
	if (g->opt.present & OPT_TS) {
		assert_int_equal(p.opt.tsval, g->opt.tsval);
		assert_int_equal(p.opt.tsecr, g->opt.tsecr);
	}
	if (g->opt.present & OPT_SACK) {
		assert_int_equal(p.opt.n_sack, g->opt.n_sack);
		for (int i = 0; i < g->opt.n_sack; i++) {
			assert_int_equal(p.opt.sack[i][0], g->opt.sack[i][0]);
			assert_int_equal(p.opt.sack[i][1], g->opt.sack[i][1]);
		}
	}
	assert_int_equal(p.len, g->len);
	if (g->len)
		assert_memory_equal(p.payload, g->payload, g->len);
	assert_ptr_equal(p.payload, pkt + 40 + wlen);
}

static void test_emit_no_options(void **state)
{
	struct synq_seg g = base_seg(TCP_ACK);

	roundtrip(&g, NULL, 0);
	g.ttl = 0; /* default TTL 64 */
	g.tos = 0x10;
	g.ip_id = 0xbeef;
	g.urg = 7;
	g.flags = TCP_ACK | TCP_URG | TCP_PSH | TCP_ECE | TCP_CWR;
	roundtrip(&g, NULL, 0);
	g.flags = TCP_RST;
	g.ttl = 255;
	roundtrip(&g, NULL, 0);
}

static void test_emit_mss_only(void **state)
{
	static const uint8_t want[] = { 0x02, 0x04, 0x05, 0xb4 };
	struct synq_seg g = base_seg(TCP_SYN);

	g.opt.present = OPT_MSS;
	g.opt.mss = 1460;
	roundtrip(&g, want, sizeof(want));
}

static void test_emit_synack_linux(void **state)
{
	/* SYN-ACK with mss, sackOK, TS, ws: 02 04 05 b4 04 02 08 0a <tsval> <tsecr> 01 03 03 0a */
	static const uint8_t want[] = { 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
					0xde, 0xad, 0xbe, 0xef, 0x11, 0x9d, 0x0e, 0x1b,
					0x01, 0x03, 0x03, 0x0a };
	struct synq_seg g = base_seg(TCP_SYN | TCP_ACK);

	g.opt.present = OPT_MSS | OPT_SACK_PERM | OPT_TS | OPT_WSCALE;
	g.opt.mss = 1460;
	g.opt.tsval = 0xdeadbeef;
	g.opt.tsecr = 295505435u;
	g.opt.wscale = 10;
	roundtrip(&g, want, sizeof(want));
}

static void test_emit_sackperm_ts(void **state)
{
	static const uint8_t want[] = { 0x04, 0x02, 0x08, 0x0a, 0x00, 0x00, 0x00,
					0x01, 0xff, 0xff, 0xff, 0xff };
	struct synq_seg g = base_seg(TCP_SYN);

	g.opt.present = OPT_SACK_PERM | OPT_TS;
	g.opt.tsval = 1;
	g.opt.tsecr = 0xffffffffu;
	roundtrip(&g, want, sizeof(want));
}

static void test_emit_ts_without_sackperm(void **state)
{
	static const uint8_t want[] = { 0x01, 0x01, 0x08, 0x0a, 0x12, 0x34, 0x56,
					0x78, 0x9a, 0xbc, 0xde, 0xf0 };
	struct synq_seg g = base_seg(TCP_ACK);

	g.opt.present = OPT_TS;
	g.opt.tsval = 0x12345678;
	g.opt.tsecr = 0x9abcdef0;
	roundtrip(&g, want, sizeof(want));
	/* on a SYN too: mss, NOP NOP TS, NOP WS */
	static const uint8_t want2[] = { 0x02, 0x04, 0x21, 0x98, 0x01, 0x01, 0x08, 0x0a,
					 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
					 0x01, 0x03, 0x03, 0x0e };
	g = base_seg(TCP_SYN);
	g.opt.present = OPT_MSS | OPT_TS | OPT_WSCALE;
	g.opt.mss = 8600;
	g.opt.tsval = 0x12345678;
	g.opt.tsecr = 0x9abcdef0;
	g.opt.wscale = 14;
	roundtrip(&g, want2, sizeof(want2));
}

static void test_emit_sackperm_without_ts(void **state)
{
	static const uint8_t want[] = { 0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x04, 0x02 };
	static const uint8_t want2[] = { 0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x04, 0x02,
					 0x01, 0x03, 0x03, 0x07 };
	struct synq_seg g = base_seg(TCP_SYN | TCP_ACK);

	g.opt.present = OPT_MSS | OPT_SACK_PERM;
	g.opt.mss = 1460;
	roundtrip(&g, want, sizeof(want));
	g.opt.present |= OPT_WSCALE;
	g.opt.wscale = 7;
	roundtrip(&g, want2, sizeof(want2));
}

static void test_emit_wscale(void **state)
{
	static const uint8_t want[] = { 0x01, 0x03, 0x03, 0x00 };
	struct synq_seg g = base_seg(TCP_SYN);

	g.opt.present = OPT_WSCALE;
	g.opt.wscale = 0;
	roundtrip(&g, want, sizeof(want));
	/* > 14 is carried as received (RFC 7323 2.3 clamps at the receiver, not here) */
	static const uint8_t want2[] = { 0x01, 0x03, 0x03, 0xff };
	g.opt.wscale = 255;
	roundtrip(&g, want2, sizeof(want2));
}

static void test_emit_sack_blocks(void **state)
{
	uint8_t want[40];

	for (int nb = 1; nb <= 4; nb++) {
		struct synq_seg g = base_seg(TCP_ACK);
		size_t w = 0;

		g.opt.present = OPT_SACK;
		g.opt.n_sack = (uint8_t)nb;
		want[w++] = 1;
		want[w++] = 1;
		want[w++] = 5;
		want[w++] = (uint8_t)(2 + 8 * nb);
		for (int i = 0; i < nb; i++) {
			g.opt.sack[i][0] = 0xfffffff0u + 0x1000u * (uint32_t)i;
			g.opt.sack[i][1] = g.opt.sack[i][0] + 1448;
			wire_enc32(want + w, g.opt.sack[i][0]);
			wire_enc32(want + w + 4, g.opt.sack[i][1]);
			w += 8;
		}
		roundtrip(&g, want, w);

		/* with timestamps: NOP NOP TS NOP NOP SACK (Linux data-segment layout) */
		if (nb <= 3) {
			uint8_t want_ts[40] = { 0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 5, 0, 0, 0, 6 };

			memcpy(want_ts + 12, want, w);
			g.opt.present |= OPT_TS;
			g.opt.tsval = 5;
			g.opt.tsecr = 6;
			roundtrip(&g, want_ts, 12 + w);
		}
	}
}

/* 4 blocks do not fit after a timestamp: Linux sends 3 (tcp_established_options). */
static void test_emit_sack_clamped(void **state)
{
	struct synq_seg g = base_seg(TCP_ACK);
	uint8_t pkt[128];
	struct synq_seg p;
	size_t n;

	g.opt.present = OPT_SACK | OPT_TS;
	g.opt.n_sack = 4;
	for (int i = 0; i < 4; i++) {
		g.opt.sack[i][0] = 1000u * (uint32_t)i;
		g.opt.sack[i][1] = 1000u * (uint32_t)i + 500;
	}
	assert_int_equal(wire_opts_len(&g.opt), 40);
	n = wire_emit(&g, pkt, sizeof(pkt));
	assert_int_equal(n, 80);
	assert_int_equal(pkt[32] >> 4, 15);
	assert_int_equal(wire_parse(pkt, n, &p), WIRE_OK);
	assert_int_equal(p.opt.n_sack, 3);
	assert_int_equal(p.opt.sack[2][1], 2500);
	/* OPT_SACK with no blocks emits nothing */
	g.opt.present = OPT_SACK;
	g.opt.n_sack = 0;
	assert_int_equal(wire_opts_len(&g.opt), 0);
}

static void test_emit_payload(void **state)
{
	static const uint8_t want[] = { 0x01, 0x01, 0x08, 0x0a, 0x00, 0x00, 0x10,
					0x00, 0x00, 0x00, 0x20, 0x00 };
	uint8_t data[1449];
	struct synq_seg g = base_seg(TCP_ACK | TCP_PSH);

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	g.payload = data;
	for (uint32_t len = 1; len <= sizeof(data); len += (len < 16 ? 1 : 97)) {
		g.len = len;
		roundtrip(&g, NULL, 0);
		g.opt.present = OPT_TS;
		g.opt.tsval = 0x1000;
		g.opt.tsecr = 0x2000;
		roundtrip(&g, want, sizeof(want));
		g.opt.present = 0;
	}
	g.len = 5;
	g.flags = TCP_ACK | TCP_FIN;
	roundtrip(&g, NULL, 0);
	assert_int_equal(seg_seqlen(&g), 6);
}

static void test_emit_cap(void **state)
{
	uint8_t pkt[128];
	uint8_t data[10] = { 0 };
	struct synq_seg g = base_seg(TCP_SYN | TCP_ACK);

	g.opt.present = OPT_MSS | OPT_SACK_PERM | OPT_TS | OPT_WSCALE;
	g.payload = data;
	g.len = sizeof(data);
	for (size_t cap = 0; cap < 70; cap++)
		assert_int_equal(wire_emit(&g, pkt, cap), 0);
	assert_int_equal(wire_emit(&g, pkt, 70), 70);
}

static void test_opts_len(void **state)
{
	struct synq_opts o;

	memset(&o, 0, sizeof(o));
	assert_int_equal(wire_opts_len(&o), 0);
	o.present = OPT_MSS;
	assert_int_equal(wire_opts_len(&o), 4);
	o.present = OPT_TS;
	assert_int_equal(wire_opts_len(&o), 12);
	o.present = OPT_TS | OPT_SACK_PERM;
	assert_int_equal(wire_opts_len(&o), 12);
	o.present = OPT_SACK_PERM;
	assert_int_equal(wire_opts_len(&o), 4);
	o.present = OPT_WSCALE;
	assert_int_equal(wire_opts_len(&o), 4);
	o.present = OPT_MSS | OPT_TS | OPT_SACK_PERM | OPT_WSCALE;
	assert_int_equal(wire_opts_len(&o), 20);
	o.present = OPT_SACK;
	o.n_sack = 2;
	assert_int_equal(wire_opts_len(&o), 20);
	o.present = OPT_SACK | OPT_MSS | OPT_SACK_PERM | OPT_WSCALE;
	o.n_sack = 4;
	assert_int_equal(wire_opts_len(&o), 40);
}

/* ---- malformed input ----------------------------------------------------------------------- */

static void test_truncated(void **state)
{
	struct synq_seg g;
	uint8_t pkt[80];
	static const uint8_t data[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t ts[12] = { 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 };
	size_t full = build(pkt, TCP_ACK | TCP_PSH, ts, sizeof(ts), data, sizeof(data));

	assert_int_equal(wire_parse(pkt, full, &g), WIRE_OK);
	for (size_t n = 0; n < full; n++)
		assert_int_equal(wire_parse(pkt, n, &g), WIRE_ERR_IP_HDR);
	for (size_t n = 0; n < sizeof(linux_syn); n++)
		assert_int_equal(wire_parse(linux_syn, n, &g), WIRE_ERR_IP_HDR);

	/* IP total length consistent with the truncation: then the TCP header is too short */
	for (size_t n = 20; n < full; n++) {
		uint8_t t[80];

		memcpy(t, pkt, n);
		wire_enc16(t + 2, (uint16_t)n);
		fix_ip_csum(t);
		/* TCP header + options end at 52; shorter payloads break the checksum */
		assert_int_equal(wire_parse(t, n, &g), n < 52 ? WIRE_ERR_TCP_HDR : WIRE_ERR_TCP_CSUM);
	}
}

static void test_bad_ip_header(void **state)
{
	struct synq_seg g;
	uint8_t pkt[80];

	/* version 6 */
	memcpy(pkt, linux_syn, 60);
	pkt[0] = 0x65;
	fix_ip_csum(pkt);
	assert_int_equal(wire_parse(pkt, 60, &g), WIRE_ERR_IP_HDR);
	/* IHL 4 */
	memcpy(pkt, linux_syn, 60);
	pkt[0] = 0x44;
	wire_enc16(pkt + 10, ref_csum(0, pkt, 16) /* any */);
	assert_int_equal(wire_parse(pkt, 60, &g), WIRE_ERR_IP_HDR);
	/* IHL 0 */
	pkt[0] = 0x40;
	assert_int_equal(wire_parse(pkt, 60, &g), WIRE_ERR_IP_HDR);
	/* IHL 15 (60 bytes) but total length 60 leaves no TCP header: TCP error; with total
	 * length 40, IHL*4 > total length: IP error */
	memcpy(pkt, linux_syn, 60);
	pkt[0] = 0x4f;
	fix_ip_csum(pkt);
	assert_int_equal(wire_parse(pkt, 60, &g), WIRE_ERR_TCP_HDR);
	wire_enc16(pkt + 2, 40);
	fix_ip_csum(pkt);
	assert_int_equal(wire_parse(pkt, 60, &g), WIRE_ERR_IP_HDR);
	/* total length past the buffer */
	memcpy(pkt, linux_syn, 60);
	wire_enc16(pkt + 2, 61);
	fix_ip_csum(pkt);
	assert_int_equal(wire_parse(pkt, 60, &g), WIRE_ERR_IP_HDR);
	wire_enc16(pkt + 2, 0xffff);
	fix_ip_csum(pkt);
	assert_int_equal(wire_parse(pkt, 60, &g), WIRE_ERR_IP_HDR);
	/* total length below IHL*4 */
	for (uint16_t tl = 0; tl < 20; tl++) {
		memcpy(pkt, linux_syn, 60);
		wire_enc16(pkt + 2, tl);
		fix_ip_csum(pkt);
		assert_int_equal(wire_parse(pkt, 60, &g), WIRE_ERR_IP_HDR);
	}
	/* bad header checksum, each bit of the checksum field and of the address */
	for (int bit = 0; bit < 16; bit++) {
		memcpy(pkt, linux_syn, 60);
		pkt[10 + bit / 8] ^= (uint8_t)(1 << (bit % 8));
		assert_int_equal(wire_parse(pkt, 60, &g), WIRE_ERR_IP_HDR);
		memcpy(pkt, linux_syn, 60);
		pkt[12 + bit / 8] ^= (uint8_t)(1 << (bit % 8));
		assert_int_equal(wire_parse(pkt, 60, &g), WIRE_ERR_IP_HDR);
	}
}

static void test_fragment(void **state)
{
	struct synq_seg g;
	uint8_t pkt[64];
	static const uint16_t frag[] = { 0x2000, 0x6000, 0x0001, 0x4001, 0x1fff, 0x3fff, 0x0100 };

	for (size_t i = 0; i < sizeof(frag) / sizeof(frag[0]); i++) {
		memcpy(pkt, linux_syn, 60);
		wire_enc16(pkt + 6, frag[i]);
		fix_ip_csum(pkt);
		assert_int_equal(wire_parse(pkt, 60, &g), WIRE_ERR_FRAGMENT);
	}
	/* DF alone, or nothing, is fine */
	memcpy(pkt, linux_syn, 60);
	wire_enc16(pkt + 6, 0);
	fix_ip_csum(pkt);
	assert_int_equal(wire_parse(pkt, 60, &g), WIRE_OK);
}

static void test_not_tcp(void **state)
{
	struct synq_seg g;
	uint8_t pkt[64];

	memcpy(pkt, linux_syn, 60);
	pkt[9] = 17; /* UDP */
	fix_ip_csum(pkt);
	assert_int_equal(wire_parse(pkt, 60, &g), WIRE_ERR_PROTO);
	pkt[9] = 1; /* ICMP */
	fix_ip_csum(pkt);
	assert_int_equal(wire_parse(pkt, 60, &g), WIRE_ERR_PROTO);
}

static void test_bad_data_offset(void **state)
{
	struct synq_seg g;
	uint8_t pkt[64];

	for (int doff = 0; doff < 16; doff++) {
		memcpy(pkt, linux_syn, 60);
		pkt[32] = (uint8_t)(doff << 4);
		fix_csums(pkt);
		/* 40 bytes of TCP: offsets 5..10 are inside, the rest becomes payload. Offsets 7
		 * and 8 cut the timestamp option (len 10) short: an overrun, not payload. */
		assert_int_equal(wire_parse(pkt, 60, &g),
				 doff == 5 || doff == 6 || doff == 9 || doff == 10 ? WIRE_OK
										   : WIRE_ERR_TCP_HDR);
		if (doff == 6) {
			assert_int_equal(g.opt.present, OPT_MSS);
			assert_int_equal(g.len, 16);
			assert_ptr_equal(g.payload, pkt + 44);
		}
	}
	/* reserved bits next to the data offset are ignored */
	memcpy(pkt, linux_syn, 60);
	pkt[32] |= 0x0f;
	fix_csums(pkt);
	assert_int_equal(wire_parse(pkt, 60, &g), WIRE_OK);
	assert_int_equal(g.flags, TCP_SYN);
}

static void test_bad_option_length(void **state)
{
	struct synq_seg g;
	static const uint8_t len0[] = { 0x08, 0x00, 0x00, 0x00 };
	static const uint8_t len1[] = { 0x01, 0x02, 0x01, 0x00 };
	static const uint8_t unk0[] = { 0x1e, 0x00 };
	static const uint8_t overrun[] = { 0x01, 0x03, 0x05, 0x0a };
	static const uint8_t overrun_ts[] = { 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	static const uint8_t overrun_ts2[] = { 0x02, 0x04, 0x05, 0xb4, 0x01, 0x01,
					       0x01, 0x01, 0x08, 0x0a, 0, 0 };
	static const uint8_t nolen[] = { 0x01, 0x01, 0x01, 0x02 };
	static const uint8_t nolen_unknown[] = { 0x01, 0x01, 0x01, 0xfe };

	assert_int_equal(parse_opts(TCP_SYN, len0, sizeof(len0), &g), WIRE_ERR_TCP_HDR);
	assert_int_equal(parse_opts(TCP_SYN, len1, sizeof(len1), &g), WIRE_ERR_TCP_HDR);
	assert_int_equal(parse_opts(TCP_ACK, unk0, sizeof(unk0), &g), WIRE_ERR_TCP_HDR);
	assert_int_equal(parse_opts(TCP_SYN, overrun, sizeof(overrun), &g), WIRE_ERR_TCP_HDR);
	/* a TS starting at byte 10 of 12 */
	uint8_t t[12];

	memcpy(t, overrun_ts, 12);
	t[0] = 1, t[1] = 1; /* NOP NOP then TS at byte 2 fits; shift it to byte 4: overrun */
	assert_int_equal(parse_opts(TCP_ACK, t, 12, &g), WIRE_OK);
	assert_int_equal(parse_opts(TCP_ACK, overrun_ts2, 12, &g), WIRE_ERR_TCP_HDR);
	assert_int_equal(parse_opts(TCP_SYN, nolen, sizeof(nolen), &g), WIRE_ERR_TCP_HDR);
	assert_int_equal(parse_opts(TCP_SYN, nolen_unknown, sizeof(nolen_unknown), &g),
			 WIRE_ERR_TCP_HDR);
	/* option length 255 */
	static const uint8_t big[] = { 0x02, 0xff, 0x05, 0xb4 };

	assert_int_equal(parse_opts(TCP_SYN, big, sizeof(big), &g), WIRE_ERR_TCP_HDR);
}

/* EOL ends the list: whatever follows, even garbage, is not looked at. */
static void test_eol(void **state)
{
	struct synq_seg g;
	static const uint8_t o[] = { 0x02, 0x04, 0x05, 0xb4, 0x00, 0x08, 0x00, 0x03 };

	assert_int_equal(parse_opts(TCP_SYN, o, sizeof(o), &g), WIRE_OK);
	assert_int_equal(g.opt.present, OPT_MSS);
	assert_int_equal(g.opt.mss, 1460);
}

static void test_bad_tcp_csum(void **state)
{
	struct synq_seg g;
	uint8_t pkt[64];

	for (int i = 20; i < 60; i++) {
		memcpy(pkt, linux_syn, 60);
		pkt[i] ^= 0x20;
		assert_int_equal(wire_parse(pkt, 60, &g), WIRE_ERR_TCP_CSUM);
	}
	/* pseudo header covers the addresses: change daddr and fix only the IP checksum */
	memcpy(pkt, linux_syn, 60);
	pkt[19] = 3;
	fix_ip_csum(pkt);
	assert_int_equal(wire_parse(pkt, 60, &g), WIRE_ERR_TCP_CSUM);
	/* and the TCP length (IP total length with one byte of trailing data) */
	memcpy(pkt, linux_syn, 60);
	pkt[60] = 0;
	wire_enc16(pkt + 2, 61);
	fix_ip_csum(pkt);
	assert_int_equal(wire_parse(pkt, 61, &g), WIRE_ERR_TCP_CSUM);
	/* checksum is checked before options are parsed */
	memcpy(pkt, linux_syn, 60);
	pkt[41] = 0;
	assert_int_equal(wire_parse(pkt, 60, &g), WIRE_ERR_TCP_CSUM);
}

/* ---- option semantics ---------------------------------------------------------------------- */

static void test_syn_only_options(void **state)
{
	struct synq_seg g;

	/* the SYN's options on an ACK segment: only the timestamp counts */
	assert_int_equal(parse_opts(TCP_ACK, syn_opts, sizeof(syn_opts), &g), WIRE_OK);
	assert_int_equal(g.opt.present, OPT_TS);
	assert_int_equal(g.opt.tsval, 295505435u);
	assert_int_equal(g.opt.mss, 0);
	assert_int_equal(g.opt.wscale, 0);
	/* SYN-ACK: all */
	assert_int_equal(parse_opts(TCP_SYN | TCP_ACK, syn_opts, sizeof(syn_opts), &g), WIRE_OK);
	assert_int_equal(g.opt.present, OPT_MSS | OPT_SACK_PERM | OPT_TS | OPT_WSCALE);
	/* RST, FIN, data: MSS ignored */
	static const uint8_t mss[] = { 0x02, 0x04, 0x05, 0xb4 };

	assert_int_equal(parse_opts(TCP_RST, mss, sizeof(mss), &g), WIRE_OK);
	assert_int_equal(g.opt.present, 0);
	assert_int_equal(parse_opts(TCP_FIN | TCP_ACK, mss, sizeof(mss), &g), WIRE_OK);
	assert_int_equal(g.opt.present, 0);
	assert_int_equal(parse_opts(TCP_SYN | TCP_RST, mss, sizeof(mss), &g), WIRE_OK);
	assert_int_equal(g.opt.present, OPT_MSS);
}

static void test_wrong_length_ignored(void **state)
{
	struct synq_seg g;
	/* MSS len 3, WS len 4, SACK_PERM len 3, TS len 8, SACK len 9, SACK len 2, then a good TS */
	static const uint8_t o[39] = {
		0x02, 0x03, 0x05,                               /* MSS len 3 */
		0x03, 0x04, 0x0a, 0x0b,                         /* WS len 4 */
		0x04, 0x03, 0x00,                               /* SACK_PERM len 3 */
		0x08, 0x08, 1, 2, 3, 4, 5, 6,                   /* TS len 8 */
		0x05, 0x09, 0, 0, 0, 1, 0, 0, 0,                /* SACK len 9 */
		0x05, 0x02,                                     /* SACK len 2 (no block) */
		0x08, 0x0a, 0, 0, 0, 7, 0, 0, 0, 9,             /* TS: good */
	};

	assert_int_equal(parse_opts(TCP_SYN, o, 29, &g), WIRE_OK);
	assert_int_equal(g.opt.present, 0);
	assert_int_equal(parse_opts(TCP_SYN, o, sizeof(o), &g), WIRE_OK);
	assert_int_equal(g.opt.present, OPT_TS);
	assert_int_equal(g.opt.tsval, 7);
	assert_int_equal(g.opt.tsecr, 9);
	/* MSS len 5 */
	static const uint8_t m5[] = { 0x02, 0x05, 0x05, 0xb4, 0x00, 0x02, 0x04, 0x02, 0x18 };

	assert_int_equal(parse_opts(TCP_SYN, m5, sizeof(m5), &g), WIRE_OK);
	assert_int_equal(g.opt.present, OPT_MSS);
	assert_int_equal(g.opt.mss, 0x0218);
}

static void test_unknown_options_skipped(void **state)
{
	struct synq_seg g;
	/* kind 30 (MPTCP) len 4, kind 254 len 2, kind 34 (TFO) len 10, then WS 3 */
	static const uint8_t o[] = { 30, 4, 0, 0, 254, 2, 34, 10, 1, 2, 3, 4,
				     5, 6, 7, 8, 3, 3, 3 };

	assert_int_equal(parse_opts(TCP_SYN, o, sizeof(o), &g), WIRE_OK);
	assert_int_equal(g.opt.present, OPT_WSCALE);
	assert_int_equal(g.opt.wscale, 3);
}

static void test_sack_parse(void **state)
{
	struct synq_seg g;
	uint8_t o[40];

	for (int nb = 1; nb <= 4; nb++) {
		size_t n = 0;

		o[n++] = 1;
		o[n++] = 1;
		o[n++] = 5;
		o[n++] = (uint8_t)(2 + 8 * nb);
		for (int i = 0; i < nb; i++) {
			wire_enc32(o + n, 100u * (uint32_t)i);
			wire_enc32(o + n + 4, 100u * (uint32_t)i + 50);
			n += 8;
		}
		assert_int_equal(parse_opts(TCP_ACK, o, n, &g), WIRE_OK);
		assert_int_equal(g.opt.present, OPT_SACK);
		assert_int_equal(g.opt.n_sack, nb);
		for (int i = 0; i < nb; i++) {
			assert_int_equal(g.opt.sack[i][0], 100u * (uint32_t)i);
			assert_int_equal(g.opt.sack[i][1], 100u * (uint32_t)i + 50);
		}
	}
}

/* ---- sequence arithmetic ------------------------------------------------------------------- */

static void test_seq_arith(void **state)
{
	assert_true(seq_lt(1, 2));
	assert_false(seq_lt(2, 2));
	assert_true(seq_le(2, 2));
	assert_true(seq_gt(3, 2));
	assert_true(seq_ge(2, 2));
	assert_false(seq_gt(2, 2));
	/* across the wrap */
	assert_true(seq_lt(0xfffffff0u, 0x10));
	assert_true(seq_gt(0x10, 0xfffffff0u));
	assert_true(seq_le(0xffffffffu, 0));
	assert_true(seq_ge(0, 0xffffffffu));
	assert_false(seq_lt(0x10, 0xfffffff0u));
	assert_false(seq_ge(0xfffffff0u, 0x10));
	/* half the space away */
	assert_true(seq_lt(0, 0x7fffffffu));
	assert_true(seq_gt(0, 0x80000001u));
	/* between(seq, lo, hi): lo <= seq <= hi */
	assert_true(seq_between(5, 5, 10));
	assert_true(seq_between(10, 5, 10));
	assert_false(seq_between(4, 5, 10));
	assert_false(seq_between(11, 5, 10));
	assert_true(seq_between(0xffffffffu, 0xfffffff0u, 0x10));
	assert_true(seq_between(0, 0xfffffff0u, 0x10));
	assert_true(seq_between(0x10, 0xfffffff0u, 0x10));
	assert_false(seq_between(0x11, 0xfffffff0u, 0x10));
	assert_false(seq_between(0xffffffefu, 0xfffffff0u, 0x10));
	assert_true(seq_between(7, 7, 7));
	assert_false(seq_between(8, 7, 7));
}

/* ---- dotted quads -------------------------------------------------------------------------- */

static void test_ip_str(void **state)
{
	char b[16];

	assert_string_equal(wire_ip_str(0, b), "0.0.0.0");
	assert_string_equal(wire_ip_str(0xffffffffu, b), "255.255.255.255");
	assert_string_equal(wire_ip_str(IP(10, 77, 0, 1), b), "10.77.0.1");
	assert_string_equal(wire_ip_str(IP(1, 20, 100, 109), b), "1.20.100.109");
	assert_ptr_equal(wire_ip_str(1, b), b);
}

static void test_ip_parse(void **state)
{
	static const char *const bad[] = {
		"256.1.1.1", "1.2.3",    "1.2.3.4.5", "01.2.3.4x", "",        " 1.2.3.4",
		"1.2.3.4 ",  "1..2.3",   "1.2.3.",    ".1.2.3",    "1.2.3.-4", "+1.2.3.4",
		"1.2.3.256", "1234.1.1.1", "01.2.3.4", "1.2.3.04", "0x1.2.3.4", "1,2,3,4",
		"1.2.3.4\n", "999.0.0.0", "a.b.c.d",
	};
	uint32_t ip = 0xdeadbeef;
	char b[16];

	assert_int_equal(wire_ip_parse("1.2.3.4", &ip), 0);
	assert_int_equal(ip, IP(1, 2, 3, 4));
	assert_int_equal(wire_ip_parse("255.255.255.255", &ip), 0);
	assert_int_equal(ip, 0xffffffffu);
	assert_int_equal(wire_ip_parse("0.0.0.0", &ip), 0);
	assert_int_equal(ip, 0);
	assert_int_equal(wire_ip_parse("10.77.0.1", &ip), 0);
	assert_int_equal(ip, IP(10, 77, 0, 1));
	assert_int_equal(wire_ip_parse("192.168.100.200", &ip), 0);
	assert_int_equal(ip, IP(192, 168, 100, 200));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ip = 0x01020304;
		if (wire_ip_parse(bad[i], &ip) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(ip, 0x01020304); /* untouched on error */
	}
	/* str -> parse round trip */
	for (uint32_t x = 0x00000000u, i = 0; i < 1000; i++, x = x * 2654435761u + 0x10203u) {
		assert_int_equal(wire_ip_parse(wire_ip_str(x, b), &ip), 0);
		assert_int_equal(ip, x);
	}
}

/* ---- ICMP (RFC 792; B11) ------------------------------------------------------------------ */

/* Port Unreachable as upstream packetdrill sent it to a 6.18 kernel (captured with tcpdump on
 * its tun device): 192.0.2.1 -> 192.168.137.165, quoting the SYN-ACK 192.168.137.165:8080 ->
 * 192.0.2.1:46217 seq 0xbdd1f647 (IP header + 8 bytes; quoted TTL 255, no checksum). */
static const uint8_t pd_port_unreach[56] = {
	0x45, 0x00, 0x00, 0x38, 0x00, 0x00, 0x00, 0x00, 0xff, 0x01, 0xaf, 0x75, 0xc0, 0x00,
	0x02, 0x01, 0xc0, 0xa8, 0x89, 0xa5, 0x03, 0x03, 0x24, 0x4a, 0x00, 0x00, 0x00, 0x00,
	0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x00, 0xff, 0x06, 0x00, 0x00, 0xc0, 0xa8,
	0x89, 0xa5, 0xc0, 0x00, 0x02, 0x01, 0x1f, 0x90, 0xb4, 0x89, 0xbd, 0xd1, 0xf6, 0x47,
};

/* the ICMP checksum of pkt (outer IHL 5), recomputed */
static void fix_icmp_csum(uint8_t *pkt)
{
	unsigned tot = (unsigned)(pkt[2] << 8 | pkt[3]);

	pkt[22] = pkt[23] = 0;
	wire_enc16(pkt + 22, ref_csum(0, pkt + 20, tot - 20));
}

/* a copy of pd_port_unreach cut to an ICMP message of n bytes (header fields fixed) */
static size_t icmp_cut(uint8_t *pkt, size_t n)
{
	memcpy(pkt, pd_port_unreach, sizeof(pd_port_unreach));
	wire_enc16(pkt + 2, (uint16_t)(20 + n));
	fix_ip_csum(pkt);
	fix_icmp_csum(pkt);
	return 20 + n;
}

static void test_icmp_known_answer(void **state)
{
	struct synq_icmp m;
	uint8_t pkt[64];

	assert_int_equal(wire_parse_icmp(pd_port_unreach, sizeof(pd_port_unreach), &m), WIRE_OK);
	assert_int_equal(m.saddr, IP(192, 0, 2, 1));
	assert_int_equal(m.daddr, IP(192, 168, 137, 165));
	assert_int_equal(m.type, ICMP_DEST_UNREACH);
	assert_int_equal(m.code, ICMP_PORT_UNREACH);
	assert_int_equal(m.len, 36);
	assert_int_equal(m.rest, 0);
	assert_int_equal(m.quote, QUOTE_OK);
	assert_int_equal(m.q_proto, 6);
	assert_int_equal(m.q_saddr, IP(192, 168, 137, 165));
	assert_int_equal(m.q_daddr, IP(192, 0, 2, 1));
	assert_int_equal(m.q_sport, 8080);
	assert_int_equal(m.q_dport, 46217);
	assert_int_equal(m.q_seq, 0xbdd1f647u);
	/* the same bytes are not a TCP segment */
	struct synq_seg g;
	assert_int_equal(wire_parse(pd_port_unreach, sizeof(pd_port_unreach), &g), WIRE_ERR_PROTO);

	/* Fragmentation Needed, mtu 576, as captured: checksum 0x2209, rest 0x00000240 */
	memcpy(pkt, pd_port_unreach, sizeof(pd_port_unreach));
	pkt[21] = ICMP_FRAG_NEEDED;
	pkt[22] = 0x22, pkt[23] = 0x09;
	pkt[26] = 0x02, pkt[27] = 0x40;
	assert_int_equal(wire_parse_icmp(pkt, sizeof(pd_port_unreach), &m), WIRE_OK);
	assert_int_equal(m.code, ICMP_FRAG_NEEDED);
	assert_int_equal(m.rest & 0xffff, 576);
	/* Source Quench, as captured: checksum 0x234d */
	memcpy(pkt, pd_port_unreach, sizeof(pd_port_unreach));
	pkt[20] = ICMP_SOURCE_QUENCH, pkt[21] = 0;
	pkt[22] = 0x23, pkt[23] = 0x4d;
	assert_int_equal(wire_parse_icmp(pkt, sizeof(pd_port_unreach), &m), WIRE_OK);
	assert_int_equal(m.type, ICMP_SOURCE_QUENCH);
	assert_int_equal(m.quote, QUOTE_OK);
	/* trailing bytes beyond the IP total length are ignored (Ethernet padding) */
	memcpy(pkt, pd_port_unreach, sizeof(pd_port_unreach));
	memset(pkt + 56, 0xee, 8);
	assert_int_equal(wire_parse_icmp(pkt, 64, &m), WIRE_OK);
	assert_int_equal(m.len, 36);
}

static void test_icmp_checksum_and_length(void **state)
{
	struct synq_icmp m;
	uint8_t pkt[64];

	/* any flipped bit of the message: WIRE_ERR_ICMP_CSUM (the quote included) */
	for (size_t i = 20; i < sizeof(pd_port_unreach); i++) {
		memcpy(pkt, pd_port_unreach, sizeof(pd_port_unreach));
		pkt[i] ^= 0x10;
		assert_int_equal(wire_parse_icmp(pkt, sizeof(pd_port_unreach), &m), WIRE_ERR_ICMP_CSUM);
	}
	/* an empty message fails its checksum (icmp_rcv: the fold of nothing is not 0xffff) */
	memcpy(pkt, pd_port_unreach, 20);
	wire_enc16(pkt + 2, 20);
	fix_ip_csum(pkt);
	assert_int_equal(wire_parse_icmp(pkt, 20, &m), WIRE_ERR_ICMP_CSUM);
	/* 4 bytes with a good checksum: shorter than the header */
	for (size_t n = 1; n < 8; n++) {
		size_t len = icmp_cut(pkt, n);
		enum wire_err e = wire_parse_icmp(pkt, len, &m);
		assert_true(e == WIRE_ERR_ICMP_HDR || e == WIRE_ERR_ICMP_CSUM);
	}
	size_t len = icmp_cut(pkt, 4);
	assert_int_equal(wire_parse_icmp(pkt, len, &m), WIRE_ERR_ICMP_HDR);
	/* the outer header is checked as wire_parse does */
	memcpy(pkt, pd_port_unreach, sizeof(pd_port_unreach));
	pkt[11] ^= 1;
	assert_int_equal(wire_parse_icmp(pkt, sizeof(pd_port_unreach), &m), WIRE_ERR_IP_HDR);
	assert_int_equal(wire_parse_icmp(pd_port_unreach, 55, &m), WIRE_ERR_IP_HDR);
	memcpy(pkt, pd_port_unreach, sizeof(pd_port_unreach));
	pkt[6] = 0x20; /* MF */
	fix_ip_csum(pkt);
	assert_int_equal(wire_parse_icmp(pkt, sizeof(pd_port_unreach), &m), WIRE_ERR_FRAGMENT);
	memcpy(pkt, pd_port_unreach, sizeof(pd_port_unreach));
	pkt[9] = 6;
	fix_ip_csum(pkt);
	assert_int_equal(wire_parse_icmp(pkt, sizeof(pd_port_unreach), &m), WIRE_ERR_PROTO);
}

static void test_icmp_quote(void **state)
{
	struct synq_icmp m;
	uint8_t pkt[80];
	size_t len;

	/* 8 + 19 bytes: no quoted IP header */
	len = icmp_cut(pkt, 8 + 19);
	assert_int_equal(wire_parse_icmp(pkt, len, &m), WIRE_OK);
	assert_int_equal(m.quote, QUOTE_NO_IP);
	/* 8 + 27: the IP header but only 7 bytes after it */
	len = icmp_cut(pkt, 8 + 27);
	assert_int_equal(wire_parse_icmp(pkt, len, &m), WIRE_OK);
	assert_int_equal(m.quote, QUOTE_NO_PORTS);
	assert_int_equal(m.q_proto, 6);
	assert_int_equal(m.q_saddr, IP(192, 168, 137, 165));
	assert_int_equal(m.q_dport, 0);
	/* exactly 8 + 28: everything */
	len = icmp_cut(pkt, 8 + 28);
	assert_int_equal(wire_parse_icmp(pkt, len, &m), WIRE_OK);
	assert_int_equal(m.quote, QUOTE_OK);
	/* quoted IHL < 5: mangled */
	len = icmp_cut(pkt, 36);
	pkt[28] = 0x44;
	fix_icmp_csum(pkt);
	assert_int_equal(wire_parse_icmp(pkt, len, &m), WIRE_OK);
	assert_int_equal(m.quote, QUOTE_NO_IP);
	/* quoted IHL 6 (4 bytes of options): the ports come 24 bytes in, so 36 is too short */
	pkt[28] = 0x46;
	fix_icmp_csum(pkt);
	assert_int_equal(wire_parse_icmp(pkt, len, &m), WIRE_OK);
	assert_int_equal(m.quote, QUOTE_NO_PORTS);
	memcpy(pkt, pd_port_unreach, sizeof(pd_port_unreach));
	memmove(pkt + 52, pkt + 48, 8);
	memset(pkt + 48, 0x01, 4); /* NOP options */
	pkt[28] = 0x46;
	wire_enc16(pkt + 2, 60);
	fix_ip_csum(pkt);
	fix_icmp_csum(pkt);
	assert_int_equal(wire_parse_icmp(pkt, 60, &m), WIRE_OK);
	assert_int_equal(m.quote, QUOTE_OK);
	assert_int_equal(m.q_sport, 8080);
	assert_int_equal(m.q_dport, 46217);
	assert_int_equal(m.q_seq, 0xbdd1f647u);
	/* messages that are not errors quote nothing: echo request, id 7 seq 9 */
	len = icmp_cut(pkt, 36);
	pkt[20] = ICMP_ECHO, pkt[21] = 0;
	pkt[24] = 0, pkt[25] = 7, pkt[26] = 0, pkt[27] = 9;
	fix_icmp_csum(pkt);
	assert_int_equal(wire_parse_icmp(pkt, len, &m), WIRE_OK);
	assert_int_equal(m.quote, QUOTE_NONE);
	assert_int_equal(m.rest, 0x00070009u);
	assert_int_equal(m.q_sport, 0);
	/* the types that quote: 3, 4, 5, 11, 12 */
	for (int t = 0; t < 256; t++) {
		len = icmp_cut(pkt, 36);
		pkt[20] = (uint8_t)t;
		fix_icmp_csum(pkt);
		assert_int_equal(wire_parse_icmp(pkt, len, &m), WIRE_OK);
		int quotes = t == 3 || t == 4 || t == 5 || t == 11 || t == 12;
		assert_int_equal(m.quote, quotes ? QUOTE_OK : QUOTE_NONE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_rfc1071),
		cmocka_unit_test(test_csum_known),
		cmocka_unit_test(test_csum_fold),
		cmocka_unit_test(test_csum_vs_reference),
		cmocka_unit_test(test_linux_syn_bytes),
		cmocka_unit_test(test_parse_linux_syn),
		cmocka_unit_test(test_reemit_linux_syn),
		cmocka_unit_test(test_trailing_padding),
		cmocka_unit_test(test_ip_options_skipped),
		cmocka_unit_test(test_emit_no_options),
		cmocka_unit_test(test_emit_mss_only),
		cmocka_unit_test(test_emit_synack_linux),
		cmocka_unit_test(test_emit_sackperm_ts),
		cmocka_unit_test(test_emit_ts_without_sackperm),
		cmocka_unit_test(test_emit_sackperm_without_ts),
		cmocka_unit_test(test_emit_wscale),
		cmocka_unit_test(test_emit_sack_blocks),
		cmocka_unit_test(test_emit_sack_clamped),
		cmocka_unit_test(test_emit_payload),
		cmocka_unit_test(test_emit_cap),
		cmocka_unit_test(test_opts_len),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_ip_header),
		cmocka_unit_test(test_fragment),
		cmocka_unit_test(test_not_tcp),
		cmocka_unit_test(test_bad_data_offset),
		cmocka_unit_test(test_bad_option_length),
		cmocka_unit_test(test_eol),
		cmocka_unit_test(test_bad_tcp_csum),
		cmocka_unit_test(test_syn_only_options),
		cmocka_unit_test(test_wrong_length_ignored),
		cmocka_unit_test(test_unknown_options_skipped),
		cmocka_unit_test(test_sack_parse),
		cmocka_unit_test(test_seq_arith),
		cmocka_unit_test(test_ip_str),
		cmocka_unit_test(test_ip_parse),
		cmocka_unit_test(test_icmp_known_answer),
		cmocka_unit_test(test_icmp_checksum_and_length),
		cmocka_unit_test(test_icmp_quote),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
