/*
 * trace.c — tcpdump-style and JSON one-line packet printers (see trace.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "drivers/trace.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/wire.h"

/* snprintf-like appender: len counts every byte asked for, buf holds what fits. */
struct out {
	char *buf;
	size_t cap, len;
};

static void out_init(struct out *o, char *buf, size_t cap)
{
	o->buf = buf;
	o->cap = buf ? cap : 0;
	o->len = 0;
	if (o->cap)
		o->buf[0] = '\0';
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void outf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	size_t room = o->len < o->cap ? o->cap - o->len : 0;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

static const char *wire_err_str(enum wire_err e)
{
	switch (e) {
	case WIRE_ERR_IP_HDR:
		return "bad IP header";
	case WIRE_ERR_FRAGMENT:
		return "IP fragment";
	case WIRE_ERR_PROTO:
		return "not TCP";
	case WIRE_ERR_TCP_HDR:
		return "bad TCP header";
	case WIRE_ERR_TCP_CSUM:
		return "bad TCP checksum";
	default:
		return "unknown error";
	}
}

/* Parse; on success also locate the raw option bytes (wire_parse validated the lengths). */
static const char *parse(const uint8_t *pkt, size_t len, struct synq_seg *g, const uint8_t **opt,
			 size_t *optlen)
{
	enum wire_err e;
	const uint8_t *tcp;

	if (!pkt)
		return "empty";
	memset(g, 0, sizeof(*g));
	e = wire_parse(pkt, len, g);
	if (e != WIRE_OK)
		return wire_err_str(e);
	tcp = pkt + (size_t)(pkt[0] & 0x0f) * 4;
	*opt = tcp + WIRE_TCP_HDR;
	*optlen = (size_t)(tcp[12] >> 4) * 4 - WIRE_TCP_HDR;
	return NULL;
}

static void flags_str(uint8_t f, char *s)
{
	static const struct {
		uint8_t bit;
		char c;
	} tab[] = {
		{ TCP_FIN, 'F' }, { TCP_SYN, 'S' }, { TCP_RST, 'R' }, { TCP_PSH, 'P' },
		{ TCP_ACK, '.' }, { TCP_URG, 'U' }, { TCP_ECE, 'E' }, { TCP_CWR, 'W' },
	};
	size_t i, n = 0;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (f & tab[i].bit)
			s[n++] = tab[i].c;
	s[n] = '\0';
}

/* Bases subtracted from seq and from ack/SACK values (0 = absolute). */
struct bases {
	uint32_t seq, ack;
};

static void print_opts(struct out *o, const uint8_t *p, size_t n, const struct bases *b)
{
	size_t i = 0, k, olen;
	uint8_t kind;
	const char *sep = "";

	outf(o, ", options [");
	while (i < n) {
		kind = p[i];
		outf(o, "%s", sep);
		sep = ",";
		if (kind == TCPOPT_EOL) {
			outf(o, "eol");
			break;
		}
		if (kind == TCPOPT_NOP) {
			outf(o, "nop");
			i++;
			continue;
		}
		olen = p[i + 1]; /* wire_parse: present, >= 2, inside the option area */
		switch (kind) {
		case TCPOPT_MSS:
			if (olen == 4)
				outf(o, "mss %u", wire_dec16(p + i + 2));
			else
				outf(o, "mss[len %zu]", olen);
			break;
		case TCPOPT_WSCALE:
			if (olen == 3)
				outf(o, "wscale %u", p[i + 2]);
			else
				outf(o, "wscale[len %zu]", olen);
			break;
		case TCPOPT_SACK_PERM:
			if (olen == 2)
				outf(o, "sackOK");
			else
				outf(o, "sackOK[len %zu]", olen);
			break;
		case TCPOPT_TIMESTAMP:
			if (olen == 10)
				outf(o, "TS val %" PRIu32 " ecr %" PRIu32, wire_dec32(p + i + 2),
				     wire_dec32(p + i + 6));
			else
				outf(o, "TS[len %zu]", olen);
			break;
		case TCPOPT_SACK:
			if ((olen - 2) % 8) {
				outf(o, "sack invalid sack");
				break;
			}
			outf(o, "sack %zu ", (olen - 2) / 8);
			for (k = i + 2; k + 8 <= i + olen; k += 8)
				outf(o, "{%" PRIu32 ":%" PRIu32 "}", wire_dec32(p + k) - b->ack,
				     wire_dec32(p + k + 4) - b->ack);
			break;
		default:
			outf(o, "unknown-%u", kind);
			if (olen > 2)
				outf(o, " ");
			for (k = 2; k < olen; k++)
				outf(o, "%02x", p[i + k]);
			break;
		}
		i += olen;
	}
	outf(o, "]");
}

static size_t format(char *buf, size_t cap, const uint8_t *pkt, size_t len, const struct bases *b)
{
	struct out o;
	struct synq_seg g;
	const uint8_t *opt = NULL;
	size_t optlen = 0;
	const char *bad;
	char src[16], dst[16], fl[9];

	out_init(&o, buf, cap);
	bad = parse(pkt, len, &g, &opt, &optlen);
	if (bad) {
		outf(&o, "malformed (%s)", bad);
		return o.len;
	}
	flags_str(g.flags, fl);
	outf(&o, "%s:%u > %s:%u Flags [%s]", wire_ip_str(g.saddr, src), g.sport,
	     wire_ip_str(g.daddr, dst), g.dport, fl[0] ? fl : "none");
	if (g.len > 0)
		outf(&o, ", seq %" PRIu32 ":%" PRIu32, g.seq - b->seq, g.seq - b->seq + g.len);
	else if (g.flags & (TCP_SYN | TCP_FIN | TCP_RST))
		outf(&o, ", seq %" PRIu32, g.seq - b->seq);
	if (g.flags & TCP_ACK)
		outf(&o, ", ack %" PRIu32, g.ack - b->ack);
	outf(&o, ", win %u", g.window);
	if (g.flags & TCP_URG)
		outf(&o, ", urg %u", g.urg);
	if (optlen)
		print_opts(&o, opt, optlen, b);
	outf(&o, ", length %" PRIu32, g.len);
	return o.len;
}

size_t trace_format(char *buf, size_t cap, const uint8_t *pkt, size_t len)
{
	static const struct bases zero = { 0, 0 };

	return format(buf, cap, pkt, len, &zero);
}

/* ---- relative sequence numbers ------------------------------------------------------------ */

void trace_flows_init(struct trace_flows *fl)
{
	memset(fl, 0, sizeof(*fl));
}

static struct trace_flow *flow_get(struct trace_flows *fl, const struct synq_seg *g, int *dir)
{
	uint32_t aip = g->saddr, bip = g->daddr;
	uint16_t apt = g->sport, bpt = g->dport;
	struct trace_flow *f;
	unsigned int i;

	*dir = 0;
	if (aip > bip || (aip == bip && apt > bpt)) {
		aip = g->daddr;
		bip = g->saddr;
		apt = g->dport;
		bpt = g->sport;
		*dir = 1;
	}
	for (i = 0; i < fl->n; i++) {
		f = &fl->flow[i];
		if (f->a_ip == aip && f->b_ip == bip && f->a_port == apt && f->b_port == bpt)
			return f;
	}
	if (fl->n < TRACE_MAX_FLOWS) {
		f = &fl->flow[fl->n++];
	} else {
		f = &fl->flow[fl->next];
		fl->next = (fl->next + 1) % TRACE_MAX_FLOWS;
	}
	memset(f, 0, sizeof(*f));
	f->a_ip = aip;
	f->b_ip = bip;
	f->a_port = apt;
	f->b_port = bpt;
	f->used = 1;
	return f;
}

size_t trace_format_rel(struct trace_flows *fl, char *buf, size_t cap, const uint8_t *pkt,
			size_t len)
{
	struct synq_seg g;
	const uint8_t *opt;
	size_t optlen;
	struct trace_flow *f;
	struct bases b = { 0, 0 };
	int d;

	if (parse(pkt, len, &g, &opt, &optlen))
		return trace_format(buf, cap, pkt, len);
	f = flow_get(fl, &g, &d);
	if ((g.flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
		if (!f->known[d] || f->isn[d] != g.seq)
			f->known[!d] = 0;
		f->isn[d] = g.seq;
		f->known[d] = 1;
	} else if (g.flags & TCP_SYN) {
		f->isn[d] = g.seq;
		f->known[d] = 1;
	} else if (!f->known[d]) {
		f->isn[d] = g.seq;
		f->known[d] = 1;
	}
	b.seq = f->isn[d];
	if (f->known[!d])
		b.ack = f->isn[!d];
	return format(buf, cap, pkt, len, &b);
}

/* ---- JSON ----------------------------------------------------------------------------------- */

static void json_str(struct out *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		outf(o, "null");
		return;
	}
	outf(o, "\"");
	for (; *p; p++) {
		if (*p == '"' || *p == '\\')
			outf(o, "\\%c", *p);
		else if (*p == '\n')
			outf(o, "\\n");
		else if (*p == '\t')
			outf(o, "\\t");
		else if (*p == '\r')
			outf(o, "\\r");
		else if (*p < 0x20)
			outf(o, "\\u%04x", *p);
		else
			outf(o, "%c", *p);
	}
	outf(o, "\"");
}

/* Each known option once (its first occurrence), in wire order. */
static void json_opts(struct out *o, const uint8_t *p, size_t n)
{
	size_t i = 0, k, olen;
	unsigned int seen = 0;
	const char *sep = "";

	outf(o, "{");
	while (i < n && p[i] != TCPOPT_EOL) {
		if (p[i] == TCPOPT_NOP) {
			i++;
			continue;
		}
		olen = p[i + 1];
		if (p[i] < 32 && !(seen & (1u << p[i]))) {
			switch (p[i]) {
			case TCPOPT_MSS:
				if (olen != 4)
					break;
				outf(o, "%s\"mss\":%u", sep, wire_dec16(p + i + 2));
				sep = ",";
				break;
			case TCPOPT_WSCALE:
				if (olen != 3)
					break;
				outf(o, "%s\"wscale\":%u", sep, p[i + 2]);
				sep = ",";
				break;
			case TCPOPT_SACK_PERM:
				if (olen != 2)
					break;
				outf(o, "%s\"sack_ok\":true", sep);
				sep = ",";
				break;
			case TCPOPT_TIMESTAMP:
				if (olen != 10)
					break;
				outf(o, "%s\"ts_val\":%" PRIu32 ",\"ts_ecr\":%" PRIu32, sep,
				     wire_dec32(p + i + 2), wire_dec32(p + i + 6));
				sep = ",";
				break;
			case TCPOPT_SACK:
				if ((olen - 2) % 8 || olen == 2)
					break;
				outf(o, "%s\"sack\":[", sep);
				for (k = i + 2; k + 8 <= i + olen; k += 8)
					outf(o, "%s[%" PRIu32 ",%" PRIu32 "]",
					     k == i + 2 ? "" : ",", wire_dec32(p + k),
					     wire_dec32(p + k + 4));
				outf(o, "]");
				sep = ",";
				break;
			}
			seen |= 1u << p[i];
		}
		i += olen;
	}
	outf(o, "}");
}

size_t trace_json(char *buf, size_t cap, uint64_t t_ns, const char *dir, const uint8_t *pkt,
		  size_t len)
{
	struct out o;
	struct synq_seg g;
	const uint8_t *opt = NULL;
	size_t optlen = 0;
	const char *bad;
	char src[16], dst[16], fl[9];

	out_init(&o, buf, cap);
	outf(&o, "{\"t_ns\":%" PRIu64 ",\"dir\":", t_ns);
	json_str(&o, dir);
	bad = parse(pkt, len, &g, &opt, &optlen);
	if (bad) {
		outf(&o, ",\"malformed\":");
		json_str(&o, bad);
		outf(&o, ",\"len\":%zu}", pkt ? len : 0);
		return o.len;
	}
	flags_str(g.flags, fl);
	outf(&o,
	     ",\"src\":\"%s\",\"dst\":\"%s\",\"sport\":%u,\"dport\":%u,\"flags\":\"%s\""
	     ",\"seq\":%" PRIu32 ",\"ack\":%" PRIu32 ",\"win\":%u,\"len\":%" PRIu32 ",\"opts\":",
	     wire_ip_str(g.saddr, src), wire_ip_str(g.daddr, dst), g.sport, g.dport, fl, g.seq,
	     g.ack, g.window, g.len);
	json_opts(&o, opt, optlen);
	outf(&o, "}");
	return o.len;
}
