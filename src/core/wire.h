/*
 * wire.h — IPv4 + TCP wire formats (private to libsynq).
 *
 * Two levels, as smoltcp does it: bytes are parsed into a validated representation
 * (struct synq_seg) before any state machine sees them, and segments are emitted from the same
 * representation. Packets are never cast onto structs: every field goes through the explicit
 * big-endian codecs below (BearSSL's br_enc16be/br_dec32be style).
 *
 * RFCs: 791 (IPv4), 792 (ICMP), 9293 (TCP, options 3.2), 7323 (window scale, timestamps),
 * 2018 (SACK), 1071/1624 (checksum), 1122 3.2.2 (ICMP on hosts).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYNQ_WIRE_H
#define SYNQ_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* ---- byte codecs --------------------------------------------------------------------------- */
static inline uint16_t wire_dec16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t wire_dec32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void wire_enc16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void wire_enc32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- sequence-number arithmetic (RFC 9293 3.4), all mod 2^32 ------------------------------ */
static inline int seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline int seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline int seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline int seq_ge(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }
/* Linux between(seq, lo, hi): lo <= seq <= hi, mod 2^32 */
static inline int seq_between(uint32_t seq, uint32_t lo, uint32_t hi) { return hi - lo >= seq - lo; }

/* ---- TCP flags ------------------------------------------------------------------------------ */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

/* ---- TCP options ---------------------------------------------------------------------------- */
#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WSCALE 3
#define TCPOPT_SACK_PERM 4
#define TCPOPT_SACK 5
#define TCPOPT_TIMESTAMP 8

#define WIRE_MAX_SACK 4
#define WIRE_IP_HDR 20
#define WIRE_TCP_HDR 20
#define WIRE_MAX_WSCALE 14

/* Which options a segment carries (bits of synq_opts.present). */
#define OPT_MSS 0x01
#define OPT_WSCALE 0x02
#define OPT_SACK_PERM 0x04
#define OPT_SACK 0x08
#define OPT_TS 0x10

struct synq_opts {
	uint8_t present;   /* OPT_* bits */
	uint8_t wscale;    /* as received (RFC 7323 2.3: values > 14 are used as 14 by the receiver) */
	uint16_t mss;
	uint32_t tsval, tsecr;
	uint8_t n_sack;    /* SACK blocks parsed (<= WIRE_MAX_SACK) */
	uint32_t sack[WIRE_MAX_SACK][2]; /* [start, end) */
};

/* A validated IPv4+TCP segment. payload points into the caller's packet buffer (borrowed:
 * valid only as long as that buffer is). Addresses and ports are host byte order. */
struct synq_seg {
	uint32_t saddr, daddr;
	uint8_t tos, ttl;
	uint16_t ip_id;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;     /* TCP_* */
	uint16_t window;   /* raw, unscaled */
	uint16_t urg;
	uint8_t hdr_len;   /* TCP header bytes with options (data offset * 4); set by wire_parse */
	struct synq_opts opt;
	const uint8_t *payload;
	uint32_t len;      /* payload length */
};

/* SEG.LEN in sequence space: payload + SYN + FIN */
static inline uint32_t seg_seqlen(const struct synq_seg *g)
{
	return g->len + ((g->flags & TCP_SYN) ? 1u : 0u) + ((g->flags & TCP_FIN) ? 1u : 0u);
}

/* Result of wire_parse(). Each error names the counter the caller must bump. */
enum wire_err {
	WIRE_OK = 0,
	WIRE_ERR_IP_HDR,     /* short, version != 4, IHL < 5, total length < IHL*4 or > buffer,
	                        bad header checksum: IpInHdrErrors */
	WIRE_ERR_FRAGMENT,   /* MF set or fragment offset != 0: IpReasmFails (no reassembly) */
	WIRE_ERR_PROTO,      /* protocol != TCP: IpInUnknownProtos */
	WIRE_ERR_TCP_HDR,    /* TCP header short, data offset < 5 or past the end, option overrun
	                        or malformed option length: TcpInErrs */
	WIRE_ERR_TCP_CSUM,   /* bad TCP checksum: TcpInErrs + TcpInCsumErrors */
	WIRE_ERR_ICMP_CSUM,  /* bad ICMP checksum (an empty message included): IcmpInErrors +
	                        IcmpInCsumErrors (wire_parse_icmp only) */
	WIRE_ERR_ICMP_HDR,   /* ICMP message shorter than its 8-byte header: IcmpInErrors */
};

/* Parse one IPv4 packet (buf[0..len)) into *out. IP options are skipped (validated for
 * length only). Trailing bytes beyond the IP total length are ignored (Ethernet padding).
 * Option parsing rules (as Linux tcp_parse_options): EOL ends the list; NOP is skipped; every
 * other kind needs a length byte >= 2 that stays inside the option area, else WIRE_ERR_TCP_HDR;
 * an option with the wrong length for its kind (MSS != 4, WS != 3, SACK_PERM != 2, TS != 10,
 * SACK not 2+8k) is ignored, not an error; unknown kinds are skipped; MSS/WS/SACK_PERM are only
 * honoured on SYN segments (present bits set only then). */
enum wire_err wire_parse(const uint8_t *buf, size_t len, struct synq_seg *out);

/* ---- ICMPv4 (RFC 792) ----------------------------------------------------------------------- */
#define IPPROTO_ICMP_NUM 1
#define IPPROTO_TCP_NUM 6
#define WIRE_ICMP_HDR 8
#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_SOURCE_QUENCH 4
#define ICMP_REDIRECT 5
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12
#define ICMP_TIMESTAMP 13
#define ICMP_TIMESTAMPREPLY 14
#define ICMP_INFO_REQUEST 15
#define ICMP_INFO_REPLY 16
#define ICMP_ADDRESS 17
#define ICMP_ADDRESSREPLY 18
#define NR_ICMP_TYPES 18 /* Linux: "18 is the highest 'known' ICMP type" */
/* Destination Unreachable codes (RFC 792, RFC 1812 5.2.7.1) */
#define ICMP_NET_UNREACH 0
#define ICMP_HOST_UNREACH 1
#define ICMP_PROT_UNREACH 2
#define ICMP_PORT_UNREACH 3
#define ICMP_FRAG_NEEDED 4
#define NR_ICMP_UNREACH 15 /* codes above are not passed to the transport (icmp_unreach) */
/* Time Exceeded codes */
#define ICMP_EXC_TTL 0
#define ICMP_EXC_FRAGTIME 1

/* How much of the datagram an error message quotes could be read (synq_icmp.quote). */
enum wire_quote {
	QUOTE_NONE = 0, /* not an error message that quotes one (types 3, 4, 5, 11, 12) */
	QUOTE_OK,       /* IP header (IHL >= 5) and 8 bytes after it: ports and TCP seq valid */
	QUOTE_NO_IP,    /* fewer than 20 bytes, or IHL < 5 (icmp_unreach: "mangled header") */
	QUOTE_NO_PORTS, /* IP header readable, but fewer than IHL * 4 + 8 bytes (RFC 792's
	                   "first 64 bits of the original datagram's data"; icmp_socket_deliver)
	                   : only q_proto, q_saddr, q_daddr are valid */
};

/* A validated ICMPv4 message (the outer IPv4 header checked as wire_parse does, the ICMP
 * checksum verified over the whole message). Addresses host order. For an error message of
 * type 3, 4, 5, 11 or 12 the quoted datagram (the packet that caused it: sent by us, so q_saddr
 * and q_sport are our side) is read as far as it goes. The quoted IP header's checksum and
 * total length are not checked: routers may rewrite them, and Linux does not look either. */
struct synq_icmp {
	uint32_t saddr, daddr; /* outer header: the reporting router or host, and us */
	uint8_t type, code;
	uint16_t len;          /* ICMP bytes, header included (>= 8) */
	uint32_t rest;         /* header bytes 4..7: gateway (5), pointer << 24 (12), next-hop MTU
	                          in the low 16 bits (3/4), id << 16 | sequence (echo) */
	uint8_t quote;         /* enum wire_quote */
	uint8_t q_proto;       /* the quoted datagram's protocol (6 = TCP) */
	uint32_t q_saddr, q_daddr;
	uint16_t q_sport, q_dport; /* first 4 bytes after the quoted IP header */
	uint32_t q_seq;            /* bytes 4..7: the TCP sequence number */
};

/* Parse one IPv4 packet carrying ICMP (protocol 1) into *out. Outer header errors as
 * wire_parse (WIRE_ERR_IP_HDR, WIRE_ERR_FRAGMENT; WIRE_ERR_PROTO if the protocol is not ICMP);
 * then, in icmp_rcv()'s order, WIRE_ERR_ICMP_CSUM (checked first, over total length - IHL
 * bytes), WIRE_ERR_ICMP_HDR (< 8 bytes). A short quote is not an error of the message: it is
 * reported in out->quote for the caller to count (IcmpInErrors) after the per-type counter. */
enum wire_err wire_parse_icmp(const uint8_t *buf, size_t len, struct synq_icmp *out);

/* Internet checksum (RFC 1071) of buf, folded but NOT complemented, starting from sum. */
uint32_t wire_csum_add(uint32_t sum, const uint8_t *buf, size_t len);
uint16_t wire_csum_fold(uint32_t sum);

/* Bytes the options of o occupy on the wire when emitted by wire_emit (multiple of 4). */
size_t wire_opts_len(const struct synq_opts *o);

/* Emit g as an IPv4 packet into buf (cap bytes): 20-byte IP header (DF set, TTL g->ttl or 64 if 0,
 * id g->ip_id, tos g->tos), TCP header, options in the exact order and padding Linux's
 * tcp_options_write() uses:
 *   MSS(4);
 *   TS with SACK_PERM: SACK_PERM(2) TS(10);  TS without: NOP NOP TS(10);
 *   SACK_PERM without TS: NOP NOP SACK_PERM(2);
 *   WS: NOP WS(3);
 *   SACK blocks: NOP NOP SACK(2+8n).
 * then g->payload (g->len bytes). Both checksums are filled in.
 * Returns the packet length, or 0 if cap is too small. */
size_t wire_emit(const struct synq_seg *g, uint8_t *buf, size_t cap);

/* Format "a.b.c.d" (host order) into buf (>= 16 bytes). Returns buf. */
char *wire_ip_str(uint32_t ip, char *buf);
/* Parse "a.b.c.d" strictly (four decimal parts 0..255, no extra text). 0 on success, -1 else. */
int wire_ip_parse(const char *s, uint32_t *ip);

#endif /* SYNQ_WIRE_H */
