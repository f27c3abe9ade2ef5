/*
 * drill_parse.c — a recursive-descent parser for the packetdrill subset synq drill runs
 * (grammar after packetdrill's parser.y: event = event_time action; action = packet_spec |
 * syscall_spec | command_spec). See docs/drill.md for the subset.
 *
 * SPDX-License-Identifier: MIT
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wire.h"
#include "drivers/drill_int.h"

/* ---- symbols: Linux values, independent of the host's headers ------------------------------ */

static const struct sym {
	const char *name;
	int64_t val;
} syms[] = {
    {"AF_INET", 2}, {"PF_INET", 2}, {"AF_INET6", 10}, {"PF_INET6", 10}, {"AF_UNSPEC", 0},
    {"SOCK_STREAM", 1}, {"SOCK_DGRAM", 2}, {"SOCK_NONBLOCK", 04000}, {"SOCK_CLOEXEC", 02000000},
    {"IPPROTO_IP", 0}, {"IPPROTO_TCP", 6}, {"IPPROTO_UDP", 17}, {"SOL_SOCKET", 1}, {"SOL_TCP", 6},
    {"SO_REUSEADDR", 2}, {"SO_ERROR", 4}, {"SO_SNDBUF", 7}, {"SO_RCVBUF", 8},
    {"SO_KEEPALIVE", 9}, {"SO_LINGER", 13}, {"SO_REUSEPORT", 15}, {"TCP_NODELAY", 1},
    {"TCP_MAXSEG", 2}, {"TCP_CORK", 3}, {"TCP_KEEPIDLE", 4}, {"TCP_KEEPINTVL", 5},
    {"TCP_KEEPCNT", 6}, {"TCP_SYNCNT", 7}, {"TCP_LINGER2", 8}, {"TCP_DEFER_ACCEPT", 9},
    {"TCP_WINDOW_CLAMP", 10}, {"TCP_INFO", 11}, {"TCP_QUICKACK", 12},
    {"TCP_USER_TIMEOUT", 18}, {"TCP_FASTOPEN", 23}, {"O_RDONLY", 0}, {"O_WRONLY", 1},
    {"O_RDWR", 2}, {"O_NONBLOCK", 04000}, {"F_GETFD", 1}, {"F_SETFD", 2}, {"F_GETFL", 3},
    {"F_SETFL", 4}, {"POLLIN", 0x1}, {"POLLPRI", 0x2}, {"POLLOUT", 0x4}, {"POLLERR", 0x8},
    {"POLLHUP", 0x10}, {"POLLNVAL", 0x20}, {"POLLRDNORM", 0x40}, {"POLLWRNORM", 0x100},
    {"POLLRDHUP", 0x2000}, {"SHUT_RD", 0}, {"SHUT_WR", 1}, {"SHUT_RDWR", 2}, {"MSG_PEEK", 2},
    {"MSG_DONTWAIT", 0x40}, {"MSG_NOSIGNAL", 0x4000}, {"INADDR_ANY", 0}, {"NULL", 0},
    /* errnos */
    {"EPERM", 1}, {"ENOENT", 2}, {"EINTR", 4}, {"EIO", 5}, {"EBADF", 9}, {"EAGAIN", 11},
    {"EWOULDBLOCK", 11}, {"ENOMEM", 12}, {"EFAULT", 14}, {"EINVAL", 22}, {"EMFILE", 24},
    {"ENOSPC", 28}, {"EPIPE", 32}, {"ENONET", 64}, {"EPROTO", 71}, {"ENOTSOCK", 88},
    {"EMSGSIZE", 90}, {"ENOPROTOOPT", 92}, {"EPROTONOSUPPORT", 93}, {"EOPNOTSUPP", 95},
    {"EAFNOSUPPORT", 97}, {"EADDRINUSE", 98}, {"EADDRNOTAVAIL", 99}, {"ENETUNREACH", 101},
    {"ECONNABORTED", 103}, {"ECONNRESET", 104}, {"ENOBUFS", 105}, {"EISCONN", 106},
    {"ENOTCONN", 107}, {"ETIMEDOUT", 110}, {"ECONNREFUSED", 111}, {"EHOSTDOWN", 112},
    {"EHOSTUNREACH", 113}, {"EALREADY", 114}, {"EINPROGRESS", 115},
};

int drill_symbol(const char *name, int64_t *val)
{
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
		if (!strcmp(syms[i].name, name)) {
			*val = syms[i].val;
			return 0;
		}
	return -1;
}

const char *drill_errno_name(int e)
{
	/* first name with that value, from EPERM on (skips the socket constants) */
	size_t i = 0;
	while (strcmp(syms[i].name, "EPERM"))
		i++;
	for (; i < sizeof(syms) / sizeof(syms[0]); i++)
		if (syms[i].val == e)
			return syms[i].name;
	return NULL;
}

/* ---- scanner -------------------------------------------------------------------------------- */

struct ps {
	const char *p;
	int line;
	char *err;
	size_t cap;
	int err_line;
	int failed;
};

static int perr(struct ps *s, const char *fmt, ...)
{
	if (s->failed)
		return -1;
	s->failed = 1;
	s->err_line = s->line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->err, s->cap, fmt, ap);
	va_end(ap);
	return -1;
}

/* whitespace, newlines, // and # line comments, C comments */
static void skip(struct ps *s)
{
	for (;;) {
		char c = *s->p;
		if (c == '\n') {
			s->line++;
			s->p++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
			s->p++;
		} else if ((c == '/' && s->p[1] == '/') || c == '#') {
			while (*s->p && *s->p != '\n')
				s->p++;
		} else if (c == '/' && s->p[1] == '*') {
			s->p += 2;
			while (*s->p && !(s->p[0] == '*' && s->p[1] == '/')) {
				if (*s->p == '\n')
					s->line++;
				s->p++;
			}
			if (*s->p)
				s->p += 2;
		} else {
			return;
		}
	}
}

/* skip blanks on the current line only */
static void skip_blank(struct ps *s)
{
	while (*s->p == ' ' || *s->p == '\t' || *s->p == '\r')
		s->p++;
}

static int accept_str(struct ps *s, const char *t)
{
	skip(s);
	size_t n = strlen(t);
	if (strncmp(s->p, t, n) != 0)
		return 0;
	/* a keyword must not run into a longer word */
	if (isalpha((unsigned char)t[n - 1]) && (isalnum((unsigned char)s->p[n]) || s->p[n] == '_'))
		return 0;
	s->p += n;
	return 1;
}

static int expect_str(struct ps *s, const char *t, const char *what)
{
	if (accept_str(s, t))
		return 0;
	return perr(s, "expected '%s' %s, found '%.12s'", t, what, s->p);
}

static int is_word_start(char c) { return isalpha((unsigned char)c) || c == '_'; }

static int word(struct ps *s, char *out, size_t cap)
{
	skip(s);
	if (!is_word_start(*s->p))
		return perr(s, "expected a name, found '%.12s'", s->p);
	size_t n = 0;
	while (isalnum((unsigned char)*s->p) || *s->p == '_') {
		if (n + 1 < cap)
			out[n++] = *s->p;
		s->p++;
	}
	out[n] = 0;
	return 0;
}

/* unsigned integer: decimal or 0x hex */
static int uint_tok(struct ps *s, uint64_t *v)
{
	*v = 0;
	skip(s);
	if (!isdigit((unsigned char)*s->p))
		return perr(s, "expected a number, found '%.12s'", s->p);
	char *end;
	unsigned long long x = strtoull(s->p, &end, 0);
	if (isalpha((unsigned char)*end))
		return perr(s, "bad number '%.12s'", s->p);
	s->p = end;
	*v = x;
	return 0;
}

static int u32_tok(struct ps *s, uint32_t *v, const char *what)
{
	uint64_t x;
	*v = 0;
	if (uint_tok(s, &x))
		return -1;
	if (x > 0xffffffffull)
		return perr(s, "%s out of range", what);
	*v = (uint32_t)x;
	return 0;
}

/* a time in seconds ("1", "1.5", ".1") as microseconds */
static int time_tok(struct ps *s, int64_t *us)
{
	skip(s);
	const char *q = s->p;
	int64_t ip = 0, frac = 0, scale = 1000000;
	if (!isdigit((unsigned char)*q) && !(*q == '.' && isdigit((unsigned char)q[1])))
		return perr(s, "expected a time, found '%.12s'", s->p);
	while (isdigit((unsigned char)*q)) {
		ip = ip * 10 + (*q - '0');
		if (ip > 100000000)
			return perr(s, "time too large");
		q++;
	}
	if (*q == '.' && isdigit((unsigned char)q[1])) {
		q++;
		while (isdigit((unsigned char)*q)) {
			if (scale > 1) {
				scale /= 10;
				frac += (*q - '0') * scale;
			}
			q++;
		}
	}
	s->p = q;
	*us = ip * 1000000 + frac;
	return 0;
}

/* ---- packets -------------------------------------------------------------------------------- */

static int opt_put(struct ps *s, struct drill_packet *k, const uint8_t *b, int n)
{
	if (k->opts_len + n > DRILL_MAX_OPTS)
		return perr(s, "TCP options longer than 40 bytes");
	memcpy(k->opts + k->opts_len, b, (size_t)n);
	k->opts_len += n;
	return 0;
}

static int parse_options(struct ps *s, struct drill_packet *k)
{
	/* '<' already taken */
	if (accept_str(s, "...")) {
		k->opts_any = 1;
		return expect_str(s, ">", "after <...");
	}
	for (;;) {
		char w[32];
		uint8_t b[40];
		if (word(s, w, sizeof(w)))
			return -1;
		if (!strcmp(w, "nop")) {
			b[0] = TCPOPT_NOP;
			if (opt_put(s, k, b, 1))
				return -1;
		} else if (!strcmp(w, "eol")) {
			b[0] = TCPOPT_EOL;
			if (opt_put(s, k, b, 1))
				return -1;
		} else if (!strcmp(w, "mss")) {
			uint32_t v;
			if (u32_tok(s, &v, "mss") || (v > 65535 && perr(s, "mss out of range")))
				return -1;
			b[0] = TCPOPT_MSS, b[1] = 4;
			wire_enc16(b + 2, (uint16_t)v);
			if (opt_put(s, k, b, 4))
				return -1;
		} else if (!strcmp(w, "sackOK")) {
			b[0] = TCPOPT_SACK_PERM, b[1] = 2;
			if (opt_put(s, k, b, 2))
				return -1;
		} else if (!strcmp(w, "wscale")) {
			uint32_t v;
			if (u32_tok(s, &v, "wscale") || (v > 255 && perr(s, "wscale out of range")))
				return -1;
			b[0] = TCPOPT_WSCALE, b[1] = 3, b[2] = (uint8_t)v;
			if (opt_put(s, k, b, 3))
				return -1;
		} else if (!strcmp(w, "TS")) {
			uint32_t val, ecr;
			if (expect_str(s, "val", "in TS option") || u32_tok(s, &val, "TS val") ||
			    expect_str(s, "ecr", "in TS option") || u32_tok(s, &ecr, "TS ecr"))
				return -1;
			if (k->ts_off >= 0)
				return perr(s, "two TS options");
			b[0] = TCPOPT_TIMESTAMP, b[1] = 10;
			wire_enc32(b + 2, val);
			wire_enc32(b + 6, ecr);
			k->ts_off = k->opts_len;
			if (opt_put(s, k, b, 10))
				return -1;
		} else if (!strcmp(w, "sack")) {
			int n = 0;
			b[0] = TCPOPT_SACK;
			for (;;) {
				skip(s);
				if (!isdigit((unsigned char)*s->p))
					break;
				uint32_t a, e;
				if (u32_tok(s, &a, "SACK start") || expect_str(s, ":", "in SACK block") ||
				    u32_tok(s, &e, "SACK end"))
					return -1;
				if (n == 4)
					return perr(s, "more than 4 SACK blocks");
				wire_enc32(b + 2 + 8 * n, a);
				wire_enc32(b + 6 + 8 * n, e);
				n++;
			}
			if (n == 0)
				return perr(s, "sack option without blocks");
			b[1] = (uint8_t)(2 + 8 * n);
			k->sack_off = k->opts_len;
			k->n_sack = n;
			if (opt_put(s, k, b, 2 + 8 * n))
				return -1;
		} else {
			return perr(s, "TCP option '%s' is not supported by synq drill", w);
		}
		if (accept_str(s, ","))
			continue;
		return expect_str(s, ">", "to end the TCP options");
	}
}

static int parse_flags(struct ps *s, uint8_t *out)
{
	skip(s);
	uint8_t f = 0;
	if (*s->p == '-') {
		s->p++;
		*out = 0;
		return 0;
	}
	while (isalpha((unsigned char)*s->p) || *s->p == '.') {
		switch (*s->p) {
		case 'S': f |= TCP_SYN; break;
		case 'F': f |= TCP_FIN; break;
		case 'R': f |= TCP_RST; break;
		case 'P': f |= TCP_PSH; break;
		case '.': f |= TCP_ACK; break;
		case 'U': f |= TCP_URG; break;
		case 'E': f |= TCP_ECE; break;
		case 'W': f |= TCP_CWR; break;
		default: return perr(s, "unknown TCP flag '%c'", *s->p);
		}
		s->p++;
	}
	if (!f)
		return perr(s, "expected TCP flags, found '%.12s'", s->p);
	*out = f;
	return 0;
}

/* ---- ICMP: packetdrill's icmp_packet_spec (parser.y, icmp_packet.c) ----------------------- */

static const struct icmp_name {
	int type;
	const char *name;
} icmp_types[] = {
    {0, "echo_reply"},          {3, "unreachable"},       {4, "source_quench"},
    {5, "redirect"},            {8, "echo_request"},      {11, "time_exceeded"},
    {12, "parameter_problem"},  {13, "timestamp_request"}, {14, "timestamp_reply"},
    {15, "information_request"}, {16, "information_reply"}, {17, "address_mask_request"},
    {18, "address_mask_reply"},
};

/* Destination Unreachable codes 0..15, packetdrill's icmpv4_unreachable_codes[] */
static const char *const unreach_codes[16] = {
    "net_unreachable",      "host_unreachable",        "protocol_unreachable",
    "port_unreachable",     "frag_needed",             "source_route_failed",
    "net_unknown",          "host_unknown",            "source_host_isolated",
    "net_prohibited",       "host_prohibited",         "net_unreachable_for_tos",
    "host_unreachable_for_tos", "packet_filtered",     "precedence_violation",
    "precedence_cutoff",
};

const char *drill_icmp_type_name(int type)
{
	for (size_t i = 0; i < sizeof(icmp_types) / sizeof(icmp_types[0]); i++)
		if (icmp_types[i].type == type)
			return icmp_types[i].name;
	return NULL;
}

const char *drill_icmp_code_name(int type, int code)
{
	return type == 3 && code >= 0 && code < 16 ? unreach_codes[code] : NULL;
}

/* "type_3" / "code_1": tcpdump-style numbers */
static int numbered(const char *w, const char *prefix, int *v)
{
	size_t n = strlen(prefix);
	if (strncmp(w, prefix, n) || !isdigit((unsigned char)w[n]))
		return 0;
	char *end;
	long x = strtol(w + n, &end, 10);
	if (*end)
		return 0;
	*v = x > 255 ? 256 : (int)x;
	return 1;
}

/* after "icmp": TYPE [CODE] [mtu N] [id N] [[start:end(len)] | [udp(N)] | [raw(N)]] */
static int parse_icmp(struct ps *s, struct drill_packet *k)
{
	char w[40];
	int type = -1, code = 0;
	k->icmp = 1;
	k->icmp_mtu = -1;
	k->icmp_quote = DRILL_QUOTE_TCP;
	if (k->dir == '>')
		return perr(s, "outbound ICMP packets are not supported: synq never sends ICMP");
	if (word(s, w, sizeof(w)))
		return -1;
	if (!numbered(w, "type_", &type))
		for (size_t i = 0; i < sizeof(icmp_types) / sizeof(icmp_types[0]); i++)
			if (!strcmp(w, icmp_types[i].name))
				type = icmp_types[i].type;
	if (type < 0 || type > 255)
		return perr(s, "bad ICMP type %s", w);
	skip_blank(s);
	if (is_word_start(*s->p)) {
		const char *save = s->p;
		if (word(s, w, sizeof(w)))
			return -1;
		if (!strcmp(w, "mtu") || !strcmp(w, "id")) {
			s->p = save;
		} else {
			code = -1;
			if (!numbered(w, "code_", &code) && type == 3)
				for (int c = 0; c < 16; c++)
					if (!strcmp(w, unreach_codes[c]))
						code = c;
			if (code < 0 || code > 255)
				return perr(s, "bad ICMP code %s", w);
		}
	}
	k->icmp_type = (uint8_t)type;
	k->icmp_code = (uint8_t)code;
	if (accept_str(s, "mtu")) {
		uint32_t v;
		if (u32_tok(s, &v, "MTU"))
			return -1;
		if (type != 3 || code != 4)
			return perr(s, "ICMPv4 MTU is only valid for unreachable-frag_needed");
		if (v > 65535)
			return perr(s, "ICMPv4 MTU out of 16-bit range");
		k->icmp_mtu = (int32_t)v;
	}
	if (accept_str(s, "id")) {
		uint32_t v;
		if (u32_tok(s, &v, "id"))
			return -1;
		if (v > 65535)
			return perr(s, "invalid echo_id, must be between 0 and 65535");
		k->icmp_id = (uint16_t)v;
	}
	if (!accept_str(s, "["))
		return 0; /* the TCP header at sequence 0 */
	int udp = accept_str(s, "udp");
	if (udp || accept_str(s, "raw")) {
		uint32_t n;
		if (expect_str(s, "(", "after udp/raw") || u32_tok(s, &n, "length") ||
		    expect_str(s, ")", "after the length") || expect_str(s, "]", "to end the quote"))
			return -1;
		if (udp && n > 1400)
			return perr(s, "UDP payload of %u bytes: at most 1400", n);
		if (!udp && (n < 8 || n > 1400))
			return perr(s, "raw(%u): an ICMP message has 8 to 1400 bytes here", n);
		k->icmp_quote = udp ? DRILL_QUOTE_UDP : DRILL_QUOTE_RAW;
		k->len = (uint16_t)n;
		return 0;
	}
	uint32_t start, end, len;
	if (u32_tok(s, &start, "sequence number") || expect_str(s, ":", "in start:end(len)") ||
	    u32_tok(s, &end, "sequence number") || expect_str(s, "(", "in start:end(len)") ||
	    u32_tok(s, &len, "length") || expect_str(s, ")", "in start:end(len)") ||
	    expect_str(s, "]", "to end the quote"))
		return -1;
	if (len > 65535)
		return perr(s, "TCP payload size out of range");
	if (end != start + len)
		return perr(s, "inconsistent TCP sequence numbers and payload size");
	k->seq = start;
	k->len = (uint16_t)len;
	return 0;
}

static int parse_packet(struct ps *s, struct drill_event *e)
{
	struct drill_packet *k = &e->pkt;
	k->dir = *s->p++;
	k->win = -1;
	k->ts_off = -1;
	k->sack_off = -1;
	skip(s);
	if (*s->p == '[') { /* [ect0], [noecn], [tos 0x..]: accepted, ignored */
		while (*s->p && *s->p != ']' && *s->p != '\n')
			s->p++;
		if (*s->p != ']')
			return perr(s, "unterminated [...] IP information");
		s->p++;
		skip(s);
	}
	if (accept_str(s, "icmp"))
		return parse_icmp(s, k);
	if (accept_str(s, "udp"))
		return perr(s, "UDP packets are not supported by synq drill");
	if (accept_str(s, "ipv4") || accept_str(s, "ipv6") || accept_str(s, "gre") ||
	    accept_str(s, "mpls"))
		return perr(s, "encapsulated packets are not supported by synq drill");
	if (isdigit((unsigned char)*s->p)) {
		uint32_t a, b;
		if (u32_tok(s, &a, "port") || expect_str(s, ">", "between ports") ||
		    u32_tok(s, &b, "port"))
			return -1;
		if (a > 65535 || b > 65535 || !a || !b)
			return perr(s, "port out of range");
		k->has_ports = 1;
		k->sport = (uint16_t)a;
		k->dport = (uint16_t)b;
	}
	if (parse_flags(s, &k->flags))
		return -1;
	uint32_t start, end, len;
	if (u32_tok(s, &start, "sequence number") || expect_str(s, ":", "in start:end(len)") ||
	    u32_tok(s, &end, "sequence number") || expect_str(s, "(", "in start:end(len)") ||
	    u32_tok(s, &len, "length") || expect_str(s, ")", "in start:end(len)"))
		return -1;
	if (len > 1400)
		return perr(s, "payload of %u bytes: at most 1400 in one packet", len);
	if (end != start + len)
		return perr(s, "inconsistent TCP sequence numbers and payload size");
	k->seq = start;
	k->len = (uint16_t)len;
	for (;;) {
		if (accept_str(s, "ack")) {
			if (u32_tok(s, &k->ack, "ack"))
				return -1;
			k->has_ack = 1;
		} else if (accept_str(s, "win")) {
			uint32_t w;
			if (u32_tok(s, &w, "win"))
				return -1;
			if (w > 65535)
				return perr(s, "TCP window value out of range");
			k->win = (int32_t)w;
		} else if (accept_str(s, "urg")) {
			uint32_t u;
			if (u32_tok(s, &u, "urg"))
				return -1;
			k->urg = (uint16_t)u;
		} else if (accept_str(s, "<")) {
			if (parse_options(s, k))
				return -1;
		} else {
			break;
		}
	}
	if ((k->dir == '<' && k->opts_any) || (k->dir == '<' && k->win < 0))
		s->line = e->line; /* the checks below concern the packet's own line */
	if (k->dir == '<' && k->opts_any)
		return perr(s, "<...> for TCP options can only be used with outbound packets");
	if (k->dir == '<' && k->win < 0)
		return perr(s, "window must be specified for inbound packets");
	return 0;
}

/* ---- expressions ---------------------------------------------------------------------------- */

static int parse_expr(struct ps *s, struct dx *x, int depth);

static int parse_seq(struct ps *s, struct dx *x, const char *close, int depth, int fields)
{
	struct dx *kids = NULL;
	int n = 0;
	if (!accept_str(s, close)) {
		for (;;) {
			struct dx *nk = realloc(kids, sizeof(*kids) * (size_t)(n + 1));
			if (!nk) {
				free(kids);
				return perr(s, "out of memory");
			}
			kids = nk;
			struct dx *c = &kids[n++];
			memset(c, 0, sizeof(*c));
			skip(s);
			/* struct field: name=value */
			if (fields && is_word_start(*s->p)) {
				const char *save = s->p;
				char w[32];
				word(s, w, sizeof(w));
				if (accept_str(s, "=")) {
					snprintf(c->field, sizeof(c->field), "%s", w);
				} else {
					s->p = save;
				}
			}
			if (parse_expr(s, c, depth + 1))
				break;
			if (accept_str(s, ","))
				continue;
			if (accept_str(s, close))
				break;
			perr(s, "expected ',' or '%s', found '%.12s'", close, s->p);
			break;
		}
	}
	x->kids = kids;
	x->n = n;
	return s->failed ? -1 : 0;
}

static int parse_primary(struct ps *s, struct dx *x, int depth)
{
	skip(s);
	if (depth > 8)
		return perr(s, "expression nested too deep");
	if (accept_str(s, "...")) {
		x->kind = DX_ELLIPSIS;
		return 0;
	}
	int neg = 0;
	if (*s->p == '-') {
		neg = 1;
		s->p++;
	}
	if (isdigit((unsigned char)*s->p)) {
		uint64_t v;
		if (uint_tok(s, &v))
			return -1;
		x->kind = DX_INT;
		x->i = neg ? -(int64_t)v : (int64_t)v;
		return 0;
	}
	if (neg)
		return perr(s, "expected a number after '-'");
	if (*s->p == '"') {
		s->p++;
		size_t n = 0;
		while (*s->p && *s->p != '"' && *s->p != '\n') {
			if (n + 1 < sizeof(x->s))
				x->s[n++] = *s->p;
			s->p++;
		}
		if (*s->p != '"')
			return perr(s, "unterminated string");
		s->p++;
		x->s[n] = 0;
		x->kind = DX_STRING;
		return 0;
	}
	if (accept_str(s, "[")) {
		x->kind = DX_LIST;
		return parse_seq(s, x, "]", depth, 0);
	}
	if (accept_str(s, "{")) {
		x->kind = DX_STRUCT;
		return parse_seq(s, x, "}", depth, 1);
	}
	if (is_word_start(*s->p)) {
		if (word(s, x->s, sizeof(x->s)))
			return -1;
		skip_blank(s);
		if (*s->p == '(') {
			s->p++;
			x->kind = DX_CALL;
			return parse_seq(s, x, ")", depth, 0);
		}
		if (drill_symbol(x->s, &x->i) == 0)
			x->kind = DX_INT;
		else
			x->kind = DX_WORD;
		return 0;
	}
	return perr(s, "expected an expression, found '%.12s'", s->p);
}

static void dx_free(struct dx *x)
{
	for (int i = 0; i < x->n; i++)
		dx_free(&x->kids[i]);
	free(x->kids);
	x->kids = NULL;
	x->n = 0;
}

static int parse_expr(struct ps *s, struct dx *x, int depth)
{
	if (parse_primary(s, x, depth))
		return -1;
	while (accept_str(s, "|")) {
		struct dx r;
		memset(&r, 0, sizeof(r));
		if (parse_primary(s, &r, depth)) {
			dx_free(&r);
			return -1;
		}
		if (x->kind != DX_INT || r.kind != DX_INT) {
			dx_free(&r);
			return perr(s, "'|' needs known constants (%s)",
				    x->kind != DX_INT ? x->s : r.s);
		}
		x->i |= r.i;
		dx_free(&r);
	}
	return 0;
}

/* ---- events --------------------------------------------------------------------------------- */

static int parse_call(struct ps *s, struct drill_event *e)
{
	struct drill_call *c = &e->call;
	if (accept_str(s, "...")) {
		if (time_tok(s, &c->end_us))
			return -1;
		c->blocking = 1;
	}
	if (word(s, c->name, sizeof(c->name)) || expect_str(s, "(", "after the call's name"))
		return -1;
	if (!accept_str(s, ")")) {
		for (;;) {
			if (c->nargs == DRILL_MAX_ARGS)
				return perr(s, "more than %d arguments", DRILL_MAX_ARGS);
			if (parse_expr(s, &c->args[c->nargs++], 0))
				return -1;
			if (accept_str(s, ","))
				continue;
			if (expect_str(s, ")", "after the arguments"))
				return -1;
			break;
		}
	}
	if (expect_str(s, "=", "before the call's result") || parse_expr(s, &c->result, 0))
		return -1;
	skip_blank(s);
	if (is_word_start(*s->p)) {
		c->has_errno = 1;
		if (word(s, c->err, sizeof(c->err)))
			return -1;
		int64_t v;
		if (drill_symbol(c->err, &v) || c->err[0] != 'E')
			return perr(s, "unknown errno %s", c->err);
		skip_blank(s);
	}
	if (*s->p == '(') { /* the note: free text up to the matching ')' */
		int depth = 0;
		for (; *s->p; s->p++) {
			if (*s->p == '\n')
				return perr(s, "unterminated (...) note");
			if (*s->p == '(')
				depth++;
			else if (*s->p == ')' && --depth == 0) {
				s->p++;
				break;
			}
		}
	}
	return 0;
}

static int parse_event(struct ps *s, struct drill_event *e)
{
	skip(s);
	e->line = s->line;
	if (*s->p == '`') {
		e->untimed = 1;
		e->time_type = DT_ABS;
	} else if (accept_str(s, "*")) {
		e->time_type = DT_ANY;
	} else {
		int rel = accept_str(s, "+");
		if (time_tok(s, &e->t_us))
			return -1;
		e->time_type = rel ? DT_REL : DT_ABS;
		if (accept_str(s, "~")) {
			int rel2 = accept_str(s, "+");
			if (rel2 != rel)
				return perr(s, "a time range must be absolute or relative at both ends");
			if (time_tok(s, &e->t_end_us))
				return -1;
			if (e->t_end_us < e->t_us)
				return perr(s, "time range is backwards");
			e->time_type = rel ? DT_REL_RANGE : DT_ABS_RANGE;
		}
	}
	skip(s);
	char c = *s->p;
	if (c == '<' || c == '>') {
		e->kind = DE_PACKET;
		if (parse_packet(s, e))
			return -1;
	} else if (c == '`') {
		e->kind = DE_COMMAND;
		const char *q = ++s->p;
		while (*s->p && *s->p != '`')
			s->p++;
		if (*s->p != '`')
			return perr(s, "unterminated `command`");
		size_t n = (size_t)(s->p - q);
		e->cmd = malloc(n + 1);
		if (!e->cmd)
			return perr(s, "out of memory");
		memcpy(e->cmd, q, n);
		e->cmd[n] = 0;
		for (const char *t = q; t < s->p; t++)
			if (*t == '\n')
				s->line++;
		s->p++;
	} else if (c == '%' && s->p[1] == '{') {
		return perr(s, "%%{ python }%% blocks are not supported by synq drill");
	} else if (is_word_start(c) || c == '.') {
		e->kind = DE_CALL;
		if (parse_call(s, e))
			return -1;
	} else {
		return perr(s, "expected a packet, a system call or a `command`, found '%.12s'", s->p);
	}
	if (e->time_type == DT_ANY && !(e->kind == DE_PACKET && e->pkt.dir == '>'))
		return perr(s, "event time * can only be used with outbound packets");
	if ((e->time_type == DT_ABS_RANGE || e->time_type == DT_REL_RANGE) &&
	    !(e->kind == DE_PACKET && e->pkt.dir == '>'))
		return perr(s, "event time range can only be used with outbound packets");
	return 0;
}

void drill_script_free(struct drill_script *sc)
{
	for (int i = 0; i < sc->n; i++) {
		struct drill_event *e = &sc->ev[i];
		free(e->cmd);
		for (int a = 0; a < e->call.nargs; a++)
			dx_free(&e->call.args[a]);
		dx_free(&e->call.result);
	}
	free(sc->ev);
	memset(sc, 0, sizeof(*sc));
}

int drill_parse(const char *text, struct drill_script *sc, char *err, size_t cap, int *line)
{
	struct ps s = {.p = text, .line = 1, .err = err, .cap = cap};
	memset(sc, 0, sizeof(*sc));
	sc->tolerance_us = -1;
	sc->tolerance_pct = -1;
	/* packetdrill's option lines: --name=value */
	for (skip(&s); s.p[0] == '-' && s.p[1] == '-'; skip(&s)) {
		const char *q = s.p + 2;
		size_t n = strcspn(q, " \t\r\n");
		char opt[80];
		snprintf(opt, sizeof(opt), "%.*s", (int)n, q);
		s.p = q + n;
		char *eq = strchr(opt, '=');
		if (eq && !strncmp(opt, "tolerance_usecs=", 16))
			sc->tolerance_us = strtoll(eq + 1, NULL, 10);
		else if (eq && !strncmp(opt, "tolerance_percent=", 18))
			sc->tolerance_pct = strtod(eq + 1, NULL);
		else if (strcmp(opt, "ip_version=ipv4")) {
			perr(&s, "option --%s is not supported by synq drill", opt);
			*line = s.err_line;
			return -1;
		}
	}
	for (;;) {
		skip(&s);
		if (!*s.p)
			break;
		if (sc->n == sc->cap) {
			int nc = sc->cap ? sc->cap * 2 : 64;
			struct drill_event *ne = realloc(sc->ev, sizeof(*ne) * (size_t)nc);
			if (!ne) {
				perr(&s, "out of memory");
				break;
			}
			sc->ev = ne;
			sc->cap = nc;
		}
		struct drill_event *e = &sc->ev[sc->n++];
		memset(e, 0, sizeof(*e));
		if (parse_event(&s, e))
			break;
	}
	if (s.failed) {
		*line = s.err_line;
		drill_script_free(sc);
		return -1;
	}
	return 0;
}
