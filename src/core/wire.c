/*
 * wire.c — IPv4 + TCP parsing and emission (see wire.h).
 *
 * Every field is read and written through the wire_dec16/32 and wire_enc16/32 codecs: the packet
 * is never cast onto a struct. Per-packet path: no division, no byte loops except the checksum,
 * which sums eight bytes per step.
 *
 * SPDX-License-Identifier: MIT
 */
#include "core/wire.h"

#include <string.h>

#define IP_DF                0x4000
#define IP_MF                0x2000
#define IP_OFFMASK           0x1fff
#define MAX_TCP_OPTION_SPACE 40 /* RFC 9293 3.1: data offset <= 15 words */

#define TCPOLEN_MSS           4
#define TCPOLEN_WINDOW        3
#define TCPOLEN_SACK_PERM     2
#define TCPOLEN_TIMESTAMP     10
#define TCPOLEN_SACK_BASE     2
#define TCPOLEN_SACK_PERBLOCK 8

/* ---- checksum (RFC 1071) ------------------------------------------------------------------- */

static inline uint32_t fold32(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint16_t wire_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * RFC 1071 2(B): the one's complement sum is independent of byte order, so the bulk is summed as
 * native 32-bit halves of 64-bit loads (memcpy: no alignment assumption) in a 64-bit accumulator,
 * then folded and swapped to network order once. The tail (< 8 bytes) is added in network order;
 * an odd last byte is padded with zero on the right (RFC 1071 section 1).
 */
uint32_t wire_csum_add(uint32_t sum, const uint8_t *buf, size_t len)
{
	uint64_t acc = 0;
	uint32_t s;

	while (len >= 32) {
		uint64_t w[4];

		memcpy(w, buf, 32);
		acc += (w[0] & 0xffffffffu) + (w[0] >> 32) + (w[1] & 0xffffffffu) + (w[1] >> 32) +
		       (w[2] & 0xffffffffu) + (w[2] >> 32) + (w[3] & 0xffffffffu) + (w[3] >> 32);
		buf += 32;
		len -= 32;
	}
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, buf, 8);
		acc += (w & 0xffffffffu) + (w >> 32);
		buf += 8;
		len -= 8;
	}
	s = wire_csum_fold(fold32(acc));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	s = ((s & 0xff) << 8) | (s >> 8);
#elif !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__
#error "wire.c: unknown byte order"
#endif
	if (len >= 4) {
		s += wire_dec16(buf) + (uint32_t)wire_dec16(buf + 2);
		buf += 4;
		len -= 4;
	}
	if (len >= 2) {
		s += wire_dec16(buf);
		buf += 2;
		len -= 2;
	}
	if (len)
		s += (uint32_t)buf[0] << 8;
	return wire_csum_fold(fold32((uint64_t)s + sum));
}

/* TCP pseudo header (RFC 9293 3.1): source, destination, zero, PTCL, TCP length */
static inline uint32_t pseudo_sum(uint32_t saddr, uint32_t daddr, uint32_t tcp_len)
{
	uint64_t s = (uint64_t)(saddr >> 16) + (saddr & 0xffff) + (daddr >> 16) + (daddr & 0xffff) +
	             IPPROTO_TCP_NUM + tcp_len;

	return fold32(s);
}

/* ---- parse --------------------------------------------------------------------------------- */

/*
 * TCP options (RFC 9293 3.2; walk as Linux tcp_parse_options). Returns 0, or -1 when an option
 * other than EOL/NOP has no length byte, a length < 2, or a length past the option area.
 */
static int parse_options(const uint8_t *p, uint32_t n, int syn, struct synq_opts *o)
{
	while (n > 0) {
		uint32_t kind = p[0], sz;

		if (kind == TCPOPT_EOL)
			return 0;
		if (kind == TCPOPT_NOP) {
			p++;
			n--;
			continue;
		}
		if (n < 2)
			return -1;
		sz = p[1];
		if (sz < 2 || sz > n)
			return -1;
		switch (kind) {
		case TCPOPT_MSS: /* RFC 9293 3.7.1: only in SYN segments */
			if (sz == TCPOLEN_MSS && syn) {
				o->present |= OPT_MSS;
				o->mss = wire_dec16(p + 2);
			}
			break;
		case TCPOPT_WSCALE: /* RFC 7323 2.2: only in SYN segments */
			if (sz == TCPOLEN_WINDOW && syn) {
				o->present |= OPT_WSCALE;
				o->wscale = p[2];
			}
			break;
		case TCPOPT_SACK_PERM: /* RFC 2018 2: only in SYN segments */
			if (sz == TCPOLEN_SACK_PERM && syn)
				o->present |= OPT_SACK_PERM;
			break;
		case TCPOPT_TIMESTAMP: /* RFC 7323 3.2 */
			if (sz == TCPOLEN_TIMESTAMP) {
				o->present |= OPT_TS;
				o->tsval = wire_dec32(p + 2);
				o->tsecr = wire_dec32(p + 6);
			}
			break;
		case TCPOPT_SACK: /* RFC 2018 3: 2 + 8n bytes, n >= 1 (at most 4 fit in 40) */
			if (sz >= TCPOLEN_SACK_BASE + TCPOLEN_SACK_PERBLOCK &&
			    ((sz - TCPOLEN_SACK_BASE) & (TCPOLEN_SACK_PERBLOCK - 1)) == 0) {
				uint32_t nb = (sz - TCPOLEN_SACK_BASE) >> 3;

				if (nb > WIRE_MAX_SACK)
					nb = WIRE_MAX_SACK;
				o->present |= OPT_SACK;
				o->n_sack = (uint8_t)nb;
				for (uint32_t i = 0; i < nb; i++) {
					o->sack[i][0] = wire_dec32(p + 2 + 8 * i);
					o->sack[i][1] = wire_dec32(p + 6 + 8 * i);
				}
			}
			break;
		default: /* unknown kinds are skipped (RFC 9293 3.2, MUST-6) */
			break;
		}
		p += sz;
		n -= sz;
	}
	return 0;
}

/* RFC 791 3.1 / RFC 1122 3.2.1.1-2: version, IHL, total length, header checksum; RFC 791 3.2: no
 * reassembly, so any fragment is refused. *ihl and *tot are set on WIRE_OK. The protocol is the
 * caller's to check. */
static inline enum wire_err parse_ip(const uint8_t *buf, size_t len, uint32_t *ihl_out,
				       uint32_t *tot_out)
{
	uint32_t ihl, tot, frag;

	if (len < WIRE_IP_HDR || (buf[0] >> 4) != 4)
		return WIRE_ERR_IP_HDR;
	ihl = (uint32_t)(buf[0] & 0x0f) << 2;
	tot = wire_dec16(buf + 2);
	if (ihl < WIRE_IP_HDR || tot < ihl || tot > len)
		return WIRE_ERR_IP_HDR;
	if (ihl == WIRE_IP_HDR) { /* the usual header: ten words, no loop */
		uint32_t w = 0;
		for (int i = 0; i < WIRE_IP_HDR; i += 2)
			w += wire_dec16(buf + i);
		if (wire_csum_fold(w) != 0xffff)
			return WIRE_ERR_IP_HDR;
	} else if (wire_csum_fold(wire_csum_add(0, buf, ihl)) != 0xffff) {
		return WIRE_ERR_IP_HDR;
	}
	frag = wire_dec16(buf + 6);
	if (frag & (IP_MF | IP_OFFMASK))
		return WIRE_ERR_FRAGMENT;
	*ihl_out = ihl;
	*tot_out = tot;
	return WIRE_OK;
}

enum wire_err wire_parse(const uint8_t *buf, size_t len, struct synq_seg *out)
{
	uint32_t ihl = 0, tot = 0, tcp_len, doff, sum;
	const uint8_t *th;
	enum wire_err e = parse_ip(buf, len, &ihl, &tot);

	if (e != WIRE_OK)
		return e;
	if (buf[9] != IPPROTO_TCP_NUM)
		return WIRE_ERR_PROTO;

	/* RFC 9293 3.1: data offset >= 5 words and within the segment */
	th = buf + ihl;
	tcp_len = tot - ihl;
	if (tcp_len < WIRE_TCP_HDR)
		return WIRE_ERR_TCP_HDR;
	doff = (uint32_t)(th[12] >> 4) << 2;
	if (doff < WIRE_TCP_HDR || doff > tcp_len)
		return WIRE_ERR_TCP_HDR;

	out->saddr = wire_dec32(buf + 12);
	out->daddr = wire_dec32(buf + 16);

	/* RFC 9293 3.1 (MUST-2/3): checksum over pseudo header and the whole segment; checked
	 * before the options are looked at, as Linux tcp_v4_rcv does. */
	sum = wire_csum_add(pseudo_sum(out->saddr, out->daddr, tcp_len), th, tcp_len);
	if (wire_csum_fold(sum) != 0xffff)
		return WIRE_ERR_TCP_CSUM;

	out->tos = buf[1];
	out->ttl = buf[8];
	out->ip_id = wire_dec16(buf + 4);
	out->sport = wire_dec16(th);
	out->dport = wire_dec16(th + 2);
	out->seq = wire_dec32(th + 4);
	out->ack = wire_dec32(th + 8);
	out->flags = th[13];
	out->window = wire_dec16(th + 14);
	out->urg = wire_dec16(th + 18);
	memset(&out->opt, 0, sizeof(out->opt));
	if (doff > WIRE_TCP_HDR && parse_options(th + WIRE_TCP_HDR, doff - WIRE_TCP_HDR,
	                                         (th[13] & TCP_SYN) != 0, &out->opt) != 0)
		return WIRE_ERR_TCP_HDR;
	out->payload = th + doff;
	out->len = tcp_len - doff;
	out->hdr_len = (uint8_t)doff;
	return WIRE_OK;
}

/* ---- ICMP (RFC 792) ---------------------------------------------------------------------- */

/* Types whose body quotes the datagram that caused them and that Linux hands to the transport
 * (icmp_pointers[]: icmp_unreach for 3, 4, 11, 12; icmp_redirect for 5). */
static int icmp_quotes(uint8_t type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_SOURCE_QUENCH || type == ICMP_REDIRECT ||
	       type == ICMP_TIME_EXCEEDED || type == ICMP_PARAMETERPROB;
}

enum wire_err wire_parse_icmp(const uint8_t *buf, size_t len, struct synq_icmp *out)
{
	uint32_t ihl = 0, tot = 0, n, qihl;
	const uint8_t *m, *q;
	enum wire_err e = parse_ip(buf, len, &ihl, &tot);

	if (e != WIRE_OK)
		return e;
	if (buf[9] != IPPROTO_ICMP_NUM)
		return WIRE_ERR_PROTO;
	m = buf + ihl;
	n = tot - ihl;
	/* icmp_rcv(): the checksum over the whole message first (an empty one fails: the folded
	 * sum of nothing is not 0xffff), then the 8-byte header (RFC 792) */
	if (wire_csum_fold(wire_csum_add(0, m, n)) != 0xffff)
		return WIRE_ERR_ICMP_CSUM;
	if (n < WIRE_ICMP_HDR)
		return WIRE_ERR_ICMP_HDR;
	memset(out, 0, sizeof(*out));
	out->saddr = wire_dec32(buf + 12);
	out->daddr = wire_dec32(buf + 16);
	out->type = m[0];
	out->code = m[1];
	out->len = (uint16_t)n;
	out->rest = wire_dec32(m + 4);
	if (!icmp_quotes(out->type))
		return WIRE_OK;
	/* the quoted datagram: its IP header (IHL >= 5), then 8 bytes (RFC 792, RFC 1122 3.2.2) */
	q = m + WIRE_ICMP_HDR;
	n -= WIRE_ICMP_HDR;
	qihl = (uint32_t)(q[0] & 0x0f) << 2;
	if (n < WIRE_IP_HDR || qihl < WIRE_IP_HDR) {
		out->quote = QUOTE_NO_IP;
		return WIRE_OK;
	}
	out->q_proto = q[9];
	out->q_saddr = wire_dec32(q + 12);
	out->q_daddr = wire_dec32(q + 16);
	if (n < qihl + 8) {
		out->quote = QUOTE_NO_PORTS;
		return WIRE_OK;
	}
	q += qihl;
	out->q_sport = wire_dec16(q);
	out->q_dport = wire_dec16(q + 2);
	out->q_seq = wire_dec32(q + 4);
	out->quote = QUOTE_OK;
	return WIRE_OK;
}

/* ---- emit ---------------------------------------------------------------------------------- */

/* Layout of the option area as tcp_options_write() produces it. */
struct opt_layout {
	uint32_t base;   /* bytes before the SACK blocks */
	uint32_t n_sack; /* SACK blocks that fit (Linux tcp_established_options clamps likewise) */
};

static inline void opt_layout(const struct synq_opts *o, struct opt_layout *l)
{
	uint32_t n = 0, room;

	l->base = 0;
	if (o->present & OPT_MSS)
		l->base += 4;
	if (o->present & OPT_TS)
		l->base += 12; /* SACK_PERM TS, or NOP NOP TS */
	else if (o->present & OPT_SACK_PERM)
		l->base += 4; /* NOP NOP SACK_PERM */
	if (o->present & OPT_WSCALE)
		l->base += 4; /* NOP WS */
	if ((o->present & OPT_SACK) && o->n_sack) {
		n = o->n_sack < WIRE_MAX_SACK ? o->n_sack : WIRE_MAX_SACK;
		room = MAX_TCP_OPTION_SPACE - l->base;
		room = room >= 4 ? (room - 4) >> 3 : 0;
		if (n > room)
			n = room;
	}
	l->n_sack = n;
}

static inline uint32_t opt_layout_len(const struct opt_layout *l)
{
	return l->base + (l->n_sack ? 4 + (l->n_sack << 3) : 0);
}

size_t wire_opts_len(const struct synq_opts *o)
{
	struct opt_layout l;

	opt_layout(o, &l);
	return opt_layout_len(&l);
}

/* tcp_options_write() order: MSS, [SACK_PERM] TS | NOP NOP SACK_PERM, NOP WS, NOP NOP SACK */
static uint8_t *write_options(uint8_t *p, const struct synq_opts *o, const struct opt_layout *l)
{
	if (o->present & OPT_MSS) {
		p[0] = TCPOPT_MSS;
		p[1] = TCPOLEN_MSS;
		wire_enc16(p + 2, o->mss);
		p += 4;
	}
	if (o->present & OPT_TS) {
		if (o->present & OPT_SACK_PERM) {
			p[0] = TCPOPT_SACK_PERM;
			p[1] = TCPOLEN_SACK_PERM;
		} else {
			p[0] = TCPOPT_NOP;
			p[1] = TCPOPT_NOP;
		}
		p[2] = TCPOPT_TIMESTAMP;
		p[3] = TCPOLEN_TIMESTAMP;
		wire_enc32(p + 4, o->tsval);
		wire_enc32(p + 8, o->tsecr);
		p += 12;
	} else if (o->present & OPT_SACK_PERM) {
		p[0] = TCPOPT_NOP;
		p[1] = TCPOPT_NOP;
		p[2] = TCPOPT_SACK_PERM;
		p[3] = TCPOLEN_SACK_PERM;
		p += 4;
	}
	if (o->present & OPT_WSCALE) {
		p[0] = TCPOPT_NOP;
		p[1] = TCPOPT_WSCALE;
		p[2] = TCPOLEN_WINDOW;
		p[3] = o->wscale;
		p += 4;
	}
	if (l->n_sack) {
		p[0] = TCPOPT_NOP;
		p[1] = TCPOPT_NOP;
		p[2] = TCPOPT_SACK;
		p[3] = (uint8_t)(TCPOLEN_SACK_BASE + (l->n_sack << 3));
		p += 4;
		for (uint32_t i = 0; i < l->n_sack; i++) {
			wire_enc32(p, o->sack[i][0]);
			wire_enc32(p + 4, o->sack[i][1]);
			p += 8;
		}
	}
	return p;
}

size_t wire_emit(const struct synq_seg *g, uint8_t *buf, size_t cap)
{
	struct opt_layout l;
	uint32_t doff, tcp_len, tot;
	uint8_t *th;

	opt_layout(&g->opt, &l);
	doff = WIRE_TCP_HDR + opt_layout_len(&l);
	if (g->len > 0xffff)
		return 0;
	tcp_len = doff + g->len;
	tot = WIRE_IP_HDR + tcp_len;
	if (tot > 0xffff || tot > cap)
		return 0;

	/* RFC 791 3.1 */
	buf[0] = 0x45;
	buf[1] = g->tos;
	wire_enc16(buf + 2, (uint16_t)tot);
	wire_enc16(buf + 4, g->ip_id);
	wire_enc16(buf + 6, IP_DF);
	buf[8] = g->ttl ? g->ttl : 64;
	buf[9] = IPPROTO_TCP_NUM;
	wire_enc32(buf + 12, g->saddr);
	wire_enc32(buf + 16, g->daddr);
	/* RFC 1071 over the ten header words, from the fields (checksum word taken as 0) */
	uint32_t ipsum = 0x4500u + g->tos + tot + g->ip_id + IP_DF +
			 ((uint32_t)buf[8] << 8) + IPPROTO_TCP_NUM + (g->saddr >> 16) +
			 (g->saddr & 0xffff) + (g->daddr >> 16) + (g->daddr & 0xffff);
	wire_enc16(buf + 10, (uint16_t)~wire_csum_fold(ipsum));

	/* RFC 9293 3.1 */
	th = buf + WIRE_IP_HDR;
	wire_enc16(th, g->sport);
	wire_enc16(th + 2, g->dport);
	wire_enc32(th + 4, g->seq);
	wire_enc32(th + 8, g->ack);
	th[12] = (uint8_t)((doff >> 2) << 4);
	th[13] = g->flags;
	wire_enc16(th + 14, g->window);
	wire_enc16(th + 16, 0);
	wire_enc16(th + 18, g->urg);
	write_options(th + WIRE_TCP_HDR, &g->opt, &l);
	if (g->len)
		memmove(th + doff, g->payload, g->len);
	wire_enc16(th + 16, (uint16_t)~wire_csum_fold(wire_csum_add(
	                        pseudo_sum(g->saddr, g->daddr, tcp_len), th, tcp_len)));
	return tot;
}

/* ---- dotted quads -------------------------------------------------------------------------- */

char *wire_ip_str(uint32_t ip, char *buf)
{
	char *p = buf;

	for (int shift = 24; shift >= 0; shift -= 8) {
		unsigned int b = (ip >> shift) & 0xff;

		if (b >= 100)
			*p++ = (char)('0' + b / 100);
		if (b >= 10)
			*p++ = (char)('0' + (b / 10) % 10);
		*p++ = (char)('0' + b % 10);
		*p++ = shift ? '.' : '\0';
	}
	return buf;
}

/* Strict, as inet_pton(AF_INET): exactly four parts of 1..3 decimal digits, value <= 255, no
 * leading zero (no octal ambiguity), nothing before or after. */
int wire_ip_parse(const char *s, uint32_t *ip)
{
	uint32_t v = 0;

	for (int part = 0; part < 4; part++) {
		unsigned int b = 0, nd = 0;

		if (part && *s++ != '.')
			return -1;
		while (*s >= '0' && *s <= '9') {
			if (nd && b == 0)
				return -1; /* leading zero */
			b = b * 10 + (unsigned int)(*s++ - '0');
			if (++nd > 3 || b > 255)
				return -1;
		}
		if (!nd)
			return -1;
		v = (v << 8) | b;
	}
	if (*s)
		return -1;
	*ip = v;
	return 0;
}
