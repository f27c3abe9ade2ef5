/*
 * drill_run.c — runs a parsed packetdrill script against a fresh synq stack in virtual time.
 *
 * Semantics follow packetdrill (run.c, run_packet.c, run_system_call.c):
 *   - relative times: relative to the previous event's script time when both are inbound
 *     packets, else to "now" after the previous event (an outbound packet's actual time);
 *   - a timing check passes within tolerance_us (+ tolerance_pct of the gap since the previous
 *     event); `*` matches any time; `a~b` the range;
 *   - inbound sequence numbers: a SYN's is absolute (it is the peer's ISN), later ones are
 *     relative to it; ack fields relative to the stack's ISN on the flow, learned from the first
 *     SYN or SYN-ACK the stack sends (script ISN = the `>` line's start); TS ecr of inbound
 *     packets maps the script's TS val of an earlier `>` line to the real one;
 *   - outbound packets: flags, seq, ack, urg, length, window (if `win` given) and options
 *     (kinds, lengths and values in order; TS val/ecr not compared; `<...>` skips them) must
 *     match; one flow per (local port, remote port), packets without ports use the default flow.
 * Stricter than packetdrill: a packet the stack sends that no `>` line takes fails the script
 * once a later event is more than the tolerance past it (so "nothing is sent" is checkable).
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synq.h"
#include "core/wire.h"
#include "drivers/drill.h"
#include "drivers/drill_int.h"

#define BASE_NS 1000000000ull /* script time 0 = 1 s on the stack's clock */
#define MAX_FLOWS 128
#define MAX_FDS 256
#define FIRST_FD 3
#define DEFAULT_RPORT 40000   /* the peer's port of the default flow, server side */
#define SCRIPT_PORT 8080      /* packetdrill's bind and connect port */
#define PKT_CAP 1600
#define TS_MAP 32
#define ANY_LIMIT_NS (3600ull * 1000000000ull)

void drill_opts_init(struct drill_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->tolerance_us = 4000;
	o->tolerance_pct = 0;
	o->local_ip = 0xc0a80001u;  /* 192.168.0.1 */
	o->remote_ip = 0xc0000201u; /* 192.0.2.1 */
	o->seed = 1;
}

struct qpkt {
	uint64_t t_ns;
	int len;
	uint8_t b[PKT_CAP];
};

struct flow {
	uint16_t lport, rport;
	int is_default, learned, is_explicit;
	int have_local_isn;
	uint32_t live_local_isn, script_local_isn;
	int have_remote_isn;
	uint32_t remote_isn;
	uint32_t ts_script[TS_MAP], ts_live[TS_MAP];
	int n_ts;
	int have_first_ts;
	uint32_t first_script_ts, first_live_ts;
};

struct run {
	const struct drill_opts *o;
	struct drill_result *r;
	FILE *log;
	synq_stack *s;
	uint64_t rand_state;
	uint64_t now_ns;
	struct qpkt *q;
	int nq, capq;
	struct flow flows[MAX_FLOWS];
	int nflows;
	struct {
		int used, sfd, nonblock;
	} fds[MAX_FDS];
	/* the blocking call in progress */
	int pend;
	const struct drill_event *pev;
	int64_t pend_start_us, pend_end_us, pend_deadline_us; /* deadline: poll timeout, or -1 */
	int64_t last_us;        /* script time of the previous event */
	int64_t now_us;         /* "now" after the previous event */
	int last_inbound;       /* previous event was an inbound packet */
	int failed;
	int64_t tol_us;
	double tol_pct;
};

static int64_t ns_to_us(uint64_t ns) { return (int64_t)((ns - BASE_NS) / 1000); }
static uint64_t us_to_ns(int64_t us) { return BASE_NS + (uint64_t)us * 1000ull; }

static int fail(struct run *R, int line, const char *fmt, ...)
{
	if (R->failed)
		return -1;
	R->failed = 1;
	R->r->ok = 0;
	R->r->line = line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(R->r->msg, sizeof(R->r->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static void drill_rand(void *user, void *buf, size_t len)
{
	uint64_t *st = user;
	uint8_t *p = buf;
	while (len--) {
		*st = *st * 6364136223846793005ull + 1442695040888963407ull;
		*p++ = (uint8_t)(*st >> 56);
	}
}

/* ---- flows ---------------------------------------------------------------------------------- */

static struct flow *flow_new(struct run *R)
{
	if (R->nflows == MAX_FLOWS)
		return NULL;
	struct flow *f = &R->flows[R->nflows++];
	memset(f, 0, sizeof(*f));
	return f;
}

/* the flow a script packet names: explicit ports, or the default flow */
static struct flow *flow_of(struct run *R, const struct drill_packet *k)
{
	if (!k->has_ports)
		return &R->flows[0];
	uint16_t lport = k->dir == '<' ? k->dport : k->sport;
	uint16_t rport = k->dir == '<' ? k->sport : k->dport;
	for (int i = 1; i < R->nflows; i++)
		if (R->flows[i].lport == lport && R->flows[i].rport == rport)
			return &R->flows[i];
	if (R->flows[0].learned && R->flows[0].lport == lport && R->flows[0].rport == rport)
		return &R->flows[0];
	struct flow *f = flow_new(R);
	if (f) {
		f->lport = lport;
		f->rport = rport;
		f->learned = 1;
		f->is_explicit = 1;
	}
	return f;
}

static int flow_explicit_has(struct run *R, uint16_t lport, uint16_t rport)
{
	for (int i = 1; i < R->nflows; i++)
		if (R->flows[i].lport == lport && R->flows[i].rport == rport)
			return 1;
	return 0;
}

/* ---- packets -------------------------------------------------------------------------------- */

static int tcp_off(const uint8_t *b) { return (b[0] & 0x0f) * 4; }

static void fmt_opts(const uint8_t *o, int n, char *out, size_t cap)
{
	size_t w = 0;
	out[0] = 0;
#define PUT(...)                                                                                   \
	do {                                                                                       \
		int _k = snprintf(out + w, w < cap ? cap - w : 0, __VA_ARGS__);                    \
		if (_k > 0)                                                                        \
			w += (size_t)_k;                                                           \
	} while (0)
	PUT("<");
	for (int i = 0; i < n;) {
		if (i)
			PUT(",");
		uint8_t kind = o[i];
		if (kind == TCPOPT_NOP || kind == TCPOPT_EOL) {
			PUT(kind == TCPOPT_NOP ? "nop" : "eol");
			i++;
			continue;
		}
		if (i + 1 >= n || o[i + 1] < 2 || i + o[i + 1] > n) {
			PUT("?");
			break;
		}
		int l = o[i + 1];
		const uint8_t *d = o + i + 2;
		if (kind == TCPOPT_MSS && l == 4)
			PUT("mss %u", wire_dec16(d));
		else if (kind == TCPOPT_SACK_PERM && l == 2)
			PUT("sackOK");
		else if (kind == TCPOPT_WSCALE && l == 3)
			PUT("wscale %u", d[0]);
		else if (kind == TCPOPT_TIMESTAMP && l == 10)
			PUT("TS val %u ecr %u", wire_dec32(d), wire_dec32(d + 4));
		else if (kind == TCPOPT_SACK && (l - 2) % 8 == 0) {
			PUT("sack");
			for (int j = 0; j < (l - 2) / 8; j++)
				PUT(" %u:%u", wire_dec32(d + 8 * j), wire_dec32(d + 8 * j + 4));
		} else
			PUT("kind %u len %u", kind, l);
		i += l;
	}
	PUT(">");
#undef PUT
}

static void fmt_flags(uint8_t f, char *b)
{
	char *p = b;
	if (f & TCP_SYN) *p++ = 'S';
	if (f & TCP_FIN) *p++ = 'F';
	if (f & TCP_RST) *p++ = 'R';
	if (f & TCP_PSH) *p++ = 'P';
	if (f & TCP_URG) *p++ = 'U';
	if (f & TCP_ECE) *p++ = 'E';
	if (f & TCP_CWR) *p++ = 'W';
	if (f & TCP_ACK) *p++ = '.';
	if (p == b) *p++ = '-';
	*p = 0;
}

/* one packet in script notation */
static void fmt_pkt(char *out, size_t cap, int ports, uint16_t sp, uint16_t dp, uint8_t flags,
		    uint32_t seq, uint32_t len, int show_ack, uint32_t ack, int32_t win,
		    const uint8_t *opts, int optlen, int opts_any)
{
	char fl[12], pr[24] = "", ak[24] = "", wn[16] = "", op[200] = "";
	fmt_flags(flags, fl);
	if (ports)
		snprintf(pr, sizeof(pr), "%u>%u ", sp, dp);
	if (show_ack)
		snprintf(ak, sizeof(ak), " ack %u", ack);
	if (win >= 0)
		snprintf(wn, sizeof(wn), " win %d", win);
	if (opts_any)
		snprintf(op, sizeof(op), " <...>");
	else if (optlen > 0) {
		op[0] = ' ';
		fmt_opts(opts, optlen, op + 1, sizeof(op) - 1);
	}
	snprintf(out, cap, "%s%s %u:%u(%u)%s%s%s", pr, fl, seq, seq + len, len, ak, wn, op);
}

static void fmt_script_pkt(const struct drill_packet *k, char *out, size_t cap)
{
	if (k->icmp) { /* as written: icmp TYPE CODE [mtu N] [quote] */
		char t[24], c[24], q[48];
		const char *tn = drill_icmp_type_name(k->icmp_type);
		const char *cn = drill_icmp_code_name(k->icmp_type, k->icmp_code);
		snprintf(t, sizeof(t), "%s", tn ? tn : "");
		if (!tn)
			snprintf(t, sizeof(t), "type_%u", k->icmp_type);
		snprintf(c, sizeof(c), "%s%s", cn ? " " : "", cn ? cn : "");
		if (!cn && k->icmp_code) /* code 0 of a type without names is left out */
			snprintf(c, sizeof(c), " code_%u", k->icmp_code);
		if (k->icmp_quote == DRILL_QUOTE_TCP)
			snprintf(q, sizeof(q), "[%u:%u(%u)]", k->seq, k->seq + k->len, k->len);
		else
			snprintf(q, sizeof(q), "[%s(%u)]", k->icmp_quote == DRILL_QUOTE_UDP ? "udp" : "raw",
				 k->len);
		if (k->icmp_mtu >= 0)
			snprintf(out, cap, "icmp %s%s mtu %d %s", t, c, k->icmp_mtu, q);
		else
			snprintf(out, cap, "icmp %s%s %s", t, c, q);
		return;
	}
	fmt_pkt(out, cap, k->has_ports, k->sport, k->dport, k->flags, k->seq, k->len,
		k->has_ack || (k->flags & TCP_ACK), k->ack, k->win, k->opts, k->opts_len, k->opts_any);
}

static void drain(struct run *R)
{
	for (;;) {
		if (R->nq == R->capq) {
			int nc = R->capq ? R->capq * 2 : 64;
			struct qpkt *nq = realloc(R->q, sizeof(*nq) * (size_t)nc);
			if (!nq)
				return;
			R->q = nq;
			R->capq = nc;
		}
		struct qpkt *p = &R->q[R->nq];
		int n = synq_output(R->s, p->b, sizeof(p->b), R->now_ns);
		if (n <= 0)
			return;
		p->len = n;
		p->t_ns = R->now_ns;
		R->nq++;
	}
}

static void q_remove(struct run *R, int i)
{
	memmove(&R->q[i], &R->q[i + 1], sizeof(R->q[0]) * (size_t)(R->nq - i - 1));
	R->nq--;
}

/* a queued packet as the script would write it (mapped to the flow if one is known) */
static void fmt_live(struct run *R, const struct qpkt *p, char *out, size_t cap)
{
	struct synq_seg g;
	if (wire_parse(p->b, (size_t)p->len, &g) != WIRE_OK) {
		snprintf(out, cap, "(unparsable packet of %d bytes)", p->len);
		return;
	}
	const struct flow *f = NULL;
	for (int i = 0; i < R->nflows; i++)
		if (R->flows[i].learned && R->flows[i].lport == g.sport && R->flows[i].rport == g.dport)
			f = &R->flows[i];
	uint32_t seq = g.seq, ack = g.ack;
	int syn = (g.flags & TCP_SYN) != 0;
	if (f && f->have_local_isn)
		seq -= syn ? f->live_local_isn - f->script_local_isn : f->live_local_isn;
	if (f && !syn && (g.flags & TCP_ACK))
		ack -= f->remote_isn;
	int off = tcp_off(p->b);
	int optlen = ((p->b[off + 12] >> 4) * 4) - 20;
	fmt_pkt(out, cap, 1, g.sport, g.dport, g.flags, seq, g.len, (g.flags & TCP_ACK) != 0, ack,
		g.window, p->b + off + 20, optlen, 0);
}

/* ---- the blocking call in progress ------------------------------------------------------------ */

static int call_try(struct run *R, const struct drill_event *e, int retry, int *would_block);

static int pending_try(struct run *R)
{
	if (!R->pend || R->failed)
		return R->failed ? -1 : 0;
	int wb = 0;
	int rc = call_try(R, R->pev, 1, &wb);
	if (rc < 0)
		return -1;
	if (wb)
		return 0;
	/* returned: check when */
	int64_t at = ns_to_us(R->now_ns);
	int64_t tol = R->tol_us +
		      (int64_t)(R->tol_pct / 100.0 * (double)(R->pend_end_us - R->pend_start_us));
	R->pend = 0;
	if (at < R->pend_end_us - tol || at > R->pend_end_us + tol)
		return fail(R, R->pev->line,
			    "%s() returned at %.6f s, expected at %.6f s (tolerance %.6f s)",
			    R->pev->call.name, at / 1e6, R->pend_end_us / 1e6, tol / 1e6);
	if (R->o->verbose)
		fprintf(R->log, "%10.6f %s() returned (line %d)\n", at / 1e6, R->pev->call.name,
			R->pev->line);
	return 0;
}

/* run the stack's timers up to t_ns, collecting what it sends; the blocking call is retried
 * after each step */
static int advance(struct run *R, uint64_t t_ns)
{
	for (int guard = 0; guard < 10000000; guard++) {
		uint64_t d = synq_next_deadline(R->s);
		uint64_t pd = UINT64_MAX;
		if (R->pend && R->pend_deadline_us >= 0)
			pd = us_to_ns(R->pend_deadline_us);
		uint64_t next = d < pd ? d : pd;
		if (next > t_ns)
			break;
		if (next > R->now_ns)
			R->now_ns = next;
		if (d <= R->now_ns)
			synq_on_timeout(R->s, R->now_ns);
		drain(R);
		if (pending_try(R) < 0)
			return -1;
		if (R->pend && pd <= R->now_ns)
			R->pend_deadline_us = -1; /* a poll past its timeout has returned above */
	}
	if (t_ns > R->now_ns) {
		R->now_ns = t_ns;
		drain(R);
		if (pending_try(R) < 0)
			return -1;
	}
	return 0;
}

/* packets no line took, older than t_us - tol */
static int check_unexpected(struct run *R, int line, int64_t t_us, int64_t tol)
{
	for (int i = 0; i < R->nq; i++) {
		int64_t at = ns_to_us(R->q[i].t_ns);
		if (at < t_us - tol) {
			char d[400];
			fmt_live(R, &R->q[i], d, sizeof(d));
			return fail(R, line,
				    "unexpected outbound packet at %.6f s (before this event at %.6f s): %s",
				    at / 1e6, t_us / 1e6, d);
		}
	}
	return 0;
}

/* ---- inbound -------------------------------------------------------------------------------- */

static int inject(struct run *R, const struct drill_event *e)
{
	const struct drill_packet *k = &e->pkt;
	struct flow *f = flow_of(R, k);
	if (!f)
		return fail(R, e->line, "too many flows");
	if (!f->learned) {
		f->lport = SCRIPT_PORT;
		f->rport = DEFAULT_RPORT;
		f->learned = 1;
	}
	int syn = (k->flags & TCP_SYN) != 0;
	if (syn && !f->have_remote_isn) {
		f->remote_isn = k->seq;
		f->have_remote_isn = 1;
	}
	uint32_t seq = k->seq + (syn ? 0 : f->remote_isn);
	uint32_t ack_off = syn ? f->live_local_isn - f->script_local_isn : f->live_local_isn;
	uint32_t ack = (k->flags & TCP_ACK) ? k->ack + ack_off : k->ack;
	uint8_t opts[DRILL_MAX_OPTS + 4];
	int optlen = k->opts_len;
	memcpy(opts, k->opts, (size_t)optlen);
	if (k->n_sack)
		for (int j = 0; j < k->n_sack; j++)
			for (int h = 0; h < 2; h++) {
				uint8_t *v = opts + k->sack_off + 2 + 8 * j + 4 * h;
				wire_enc32(v, wire_dec32(v) + ack_off);
			}
	if (k->ts_off >= 0 && (k->flags & TCP_ACK)) {
		uint8_t *v = opts + k->ts_off + 6;
		uint32_t ecr = wire_dec32(v), live = ecr;
		int found = 0;
		for (int j = f->n_ts - 1; j >= 0 && !found; j--)
			if (f->ts_script[j] == ecr) {
				live = f->ts_live[j];
				found = 1;
			}
		if (!found && f->have_first_ts)
			live = ecr - f->first_script_ts + f->first_live_ts;
		wire_enc32(v, live);
	}
	while (optlen % 4)
		opts[optlen++] = TCPOPT_EOL;
	uint8_t b[PKT_CAP];
	int thl = 20 + optlen, tot = 20 + thl + k->len;
	memset(b, 0, (size_t)tot);
	b[0] = 0x45;
	wire_enc16(b + 2, (uint16_t)tot);
	b[6] = 0x40; /* DF */
	b[8] = 64;
	b[9] = 6;
	wire_enc32(b + 12, R->o->remote_ip);
	wire_enc32(b + 16, R->o->local_ip);
	wire_enc16(b + 10, (uint16_t)~wire_csum_fold(wire_csum_add(0, b, 20)));
	uint8_t *t = b + 20;
	wire_enc16(t, f->rport);
	wire_enc16(t + 2, f->lport);
	wire_enc32(t + 4, seq);
	wire_enc32(t + 8, ack);
	t[12] = (uint8_t)((thl / 4) << 4);
	t[13] = k->flags;
	wire_enc16(t + 14, (uint16_t)k->win);
	wire_enc16(t + 18, k->urg);
	memcpy(t + 20, opts, (size_t)optlen);
	uint8_t ph[12];
	wire_enc32(ph, R->o->remote_ip);
	wire_enc32(ph + 4, R->o->local_ip);
	ph[8] = 0;
	ph[9] = 6;
	wire_enc16(ph + 10, (uint16_t)(thl + k->len));
	uint32_t sum = wire_csum_add(0, ph, 12);
	sum = wire_csum_add(sum, t, (size_t)(thl + k->len));
	wire_enc16(t + 16, (uint16_t)~wire_csum_fold(sum));
	int rc = synq_input(R->s, b, (size_t)tot, R->now_ns);
	if (rc == -EBADMSG || rc == -ETIME)
		return fail(R, e->line, "synq_input refused the packet (%d)", rc);
	drain(R);
	return pending_try(R);
}

/* B11: an ICMP message, from the peer's address as packetdrill sends it, quoting what the stack
 * sent on the default flow: the IP header and the first 8 bytes of the TCP header (ports, and
 * the script's seq + the stack's ISN, as packetdrill's map_inbound_icmp_tcp_packet()), or a UDP
 * header, or nothing (raw: zeros). The quoted IP header is packetdrill's: TTL 255, id 0, no
 * checksum. */
static int inject_icmp(struct run *R, const struct drill_event *e)
{
	const struct drill_packet *k = &e->pkt;
	struct flow *f = &R->flows[0];
	if (!f->learned) {
		f->lport = SCRIPT_PORT;
		f->rport = DEFAULT_RPORT;
		f->learned = 1;
	}
	uint8_t b[PKT_CAP];
	int ilen = k->icmp_quote == DRILL_QUOTE_RAW ? k->len : 8 + 20 + 8;
	int tot = 20 + ilen;
	memset(b, 0, (size_t)tot);
	b[0] = 0x45;
	wire_enc16(b + 2, (uint16_t)tot);
	b[8] = 255; /* packetdrill's outer header: TTL 255, no DF */
	b[9] = IPPROTO_ICMP_NUM;
	wire_enc32(b + 12, R->o->remote_ip);
	wire_enc32(b + 16, R->o->local_ip);
	wire_enc16(b + 10, (uint16_t)~wire_csum_fold(wire_csum_add(0, b, 20)));
	uint8_t *m = b + 20;
	m[0] = k->icmp_type;
	m[1] = k->icmp_code;
	if (k->icmp_id)
		wire_enc16(m + 4, k->icmp_id);
	if (k->icmp_mtu >= 0)
		wire_enc16(m + 6, (uint16_t)k->icmp_mtu);
	if (k->icmp_quote != DRILL_QUOTE_RAW) {
		uint8_t *q = m + 8;
		int udp = k->icmp_quote == DRILL_QUOTE_UDP;
		q[0] = 0x45;
		wire_enc16(q + 2, (uint16_t)(20 + (udp ? 8 : 20) + k->len));
		q[8] = 255;
		q[9] = udp ? 17 : IPPROTO_TCP_NUM;
		wire_enc32(q + 12, R->o->local_ip);
		wire_enc32(q + 16, R->o->remote_ip);
		wire_enc16(q + 20, f->lport);
		wire_enc16(q + 22, f->rport);
		if (!udp)
			wire_enc32(q + 24, k->seq + f->live_local_isn);
		else
			wire_enc16(q + 24, (uint16_t)(8 + k->len));
	}
	wire_enc16(m + 2, (uint16_t)~wire_csum_fold(wire_csum_add(0, m, (size_t)ilen)));
	/* malformed messages (raw(N) too short for a quote) are the script's point: no failure */
	if (synq_input(R->s, b, (size_t)tot, R->now_ns) == -ETIME)
		return fail(R, e->line, "synq_input refused the packet (time went back)");
	drain(R);
	return pending_try(R);
}

/* ---- outbound ------------------------------------------------------------------------------- */

static int find_queued(struct run *R, struct flow *f)
{
	for (int i = 0; i < R->nq; i++) {
		const uint8_t *b = R->q[i].b;
		int off = tcp_off(b);
		uint16_t sp = wire_dec16(b + off), dp = wire_dec16(b + off + 2);
		if (f->learned) {
			if (sp == f->lport && dp == f->rport)
				return i;
		} else if (!flow_explicit_has(R, sp, dp)) {
			f->lport = sp;
			f->rport = dp;
			f->learned = 1;
			return i;
		}
	}
	return -1;
}

static int compare_opts(const uint8_t *want, int wn, const uint8_t *got, int gn, char *why,
			size_t cap)
{
	int i = 0, j = 0;
	while (i < wn && j < gn) {
		uint8_t kw = want[i], kg = got[j];
		if (kw != kg) {
			snprintf(why, cap, "option kind %u where the script has kind %u", kg, kw);
			return -1;
		}
		if (kw == TCPOPT_NOP || kw == TCPOPT_EOL) {
			i++, j++;
			continue;
		}
		if (i + 1 >= wn || j + 1 >= gn) {
			snprintf(why, cap, "truncated option");
			return -1;
		}
		int lw = want[i + 1], lg = got[j + 1];
		if (lw != lg || j + lg > gn || lg < 2) {
			snprintf(why, cap, "bad length in option kind %u", kw);
			return -1;
		}
		if (kw != TCPOPT_TIMESTAMP && memcmp(want + i + 2, got + j + 2, (size_t)lw - 2)) {
			snprintf(why, cap, "bad value in option kind %u", kw);
			return -1;
		}
		i += lw, j += lg;
	}
	if (i != wn || j != gn) {
		snprintf(why, cap, "options of %d bytes where the script has %d", gn, wn);
		return -1;
	}
	return 0;
}

static int expect_pkt(struct run *R, const struct drill_event *e, int64_t t_us, int64_t end_us,
		      int64_t tol)
{
	const struct drill_packet *k = &e->pkt;
	struct flow *f = flow_of(R, k);
	char want[400], got[400];
	fmt_script_pkt(k, want, sizeof(want));
	if (!f)
		return fail(R, e->line, "too many flows");
	uint64_t limit = e->time_type == DT_ANY ? R->now_ns + ANY_LIMIT_NS : us_to_ns(end_us + tol);
	if (e->time_type != DT_ANY && end_us + tol < 0)
		limit = BASE_NS;
	int idx = -1;
	for (int guard = 0; guard < 1000000; guard++) {
		idx = find_queued(R, f);
		if (idx >= 0 || R->failed)
			break;
		uint64_t d = synq_next_deadline(R->s);
		if (R->pend && R->pend_deadline_us >= 0 && us_to_ns(R->pend_deadline_us) < d)
			d = us_to_ns(R->pend_deadline_us);
		if (d == UINT64_MAX || d > limit)
			break;
		if (advance(R, d > R->now_ns ? d : R->now_ns) < 0)
			return -1;
	}
	if (R->failed)
		return -1;
	if (idx < 0) {
		if (e->time_type == DT_ANY)
			return fail(R, e->line, "expected outbound packet: %s; the stack sent nothing",
				    want);
		return fail(R, e->line,
			    "expected outbound packet at %.6f s: %s; the stack sent nothing by %.6f s",
			    t_us / 1e6, want, (end_us + tol) / 1e6);
	}
	struct qpkt p = R->q[idx];
	q_remove(R, idx);
	int64_t at = ns_to_us(p.t_ns);
	struct synq_seg g;
	if (wire_parse(p.b, (size_t)p.len, &g) != WIRE_OK)
		return fail(R, e->line, "the stack sent an unparsable packet");
	int syn = (g.flags & TCP_SYN) != 0;
	if (syn && !f->have_local_isn) {
		f->live_local_isn = g.seq;
		f->script_local_isn = k->seq;
		f->have_local_isn = 1;
	}
	int off = tcp_off(p.b);
	const uint8_t *opts = p.b + off + 20;
	int optlen = ((p.b[off + 12] >> 4) * 4) - 20;
	/* TS val mapping, as packetdrill's map_outbound_live_packet */
	int wts = k->ts_off;
	int gts = -1;
	for (int i = 0; i < optlen;) {
		if (opts[i] == TCPOPT_EOL)
			break;
		if (opts[i] == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= optlen || opts[i + 1] < 2)
			break;
		if (opts[i] == TCPOPT_TIMESTAMP && opts[i + 1] == 10)
			gts = i;
		i += opts[i + 1];
	}
	if (wts >= 0 && gts >= 0) {
		uint32_t sv = wire_dec32(k->opts + wts + 2), lv = wire_dec32(opts + gts + 2);
		if (f->n_ts == TS_MAP) {
			memmove(f->ts_script, f->ts_script + 1, sizeof(f->ts_script[0]) * (TS_MAP - 1));
			memmove(f->ts_live, f->ts_live + 1, sizeof(f->ts_live[0]) * (TS_MAP - 1));
			f->n_ts--;
		}
		f->ts_script[f->n_ts] = sv;
		f->ts_live[f->n_ts++] = lv;
		if (!f->have_first_ts) {
			f->have_first_ts = 1;
			f->first_script_ts = sv;
			f->first_live_ts = lv;
		}
	}
	fmt_live(R, &p, got, sizeof(got));
	if (e->time_type != DT_ANY && (at < t_us - tol || at > end_us + tol)) {
		if (end_us != t_us)
			return fail(R, e->line,
				    "timing error: expected %s in %.6f~%.6f s, happened at %.6f s: %s",
				    want, t_us / 1e6, end_us / 1e6, at / 1e6, got);
		return fail(R, e->line,
			    "timing error: expected %s at %.6f s, happened at %.6f s (tolerance "
			    "%.6f s): %s",
			    want, t_us / 1e6, at / 1e6, tol / 1e6, got);
	}
	R->now_us = at;
	uint32_t seq = g.seq - (f->have_local_isn ? (syn ? f->live_local_isn - f->script_local_isn
							  : f->live_local_isn)
						  : 0);
	uint32_t ack = g.ack;
	if ((g.flags & TCP_ACK) && !syn)
		ack -= f->remote_isn;
	uint32_t want_ack = k->ack;
	const char *field = NULL;
	char why[128] = "";
	if (g.flags != k->flags)
		field = "flags";
	else if (seq != k->seq)
		field = "seq";
	else if (ack != want_ack && ((g.flags & TCP_ACK) || k->has_ack))
		field = "ack";
	else if (g.len != k->len)
		field = "length";
	else if (k->win >= 0 && g.window != (uint16_t)k->win)
		field = "win";
	else if (g.urg != k->urg)
		field = "urg";
	else if (!k->opts_any && compare_opts(k->opts, k->opts_len, opts, optlen, why, sizeof(why)))
		field = why;
	if (field)
		return fail(R, e->line, "bad outbound packet (%s): expected %s, actual %s", field,
			    want, got);
	if (R->o->verbose)
		fprintf(R->log, "%10.6f > %s\n", at / 1e6, got);
	return 0;
}

/* ---- system calls --------------------------------------------------------------------------- */

static int sfd_of(struct run *R, int64_t fd)
{
	if (fd < 0 || fd >= MAX_FDS || !R->fds[fd].used)
		return -1;
	return R->fds[fd].sfd;
}

static int fd_alloc(struct run *R, int sfd)
{
	for (int i = FIRST_FD; i < MAX_FDS; i++)
		if (!R->fds[i].used) {
			R->fds[i].used = 1;
			R->fds[i].sfd = sfd;
			R->fds[i].nonblock = 0;
			return i;
		}
	return -EMFILE;
}

static int arg_int(struct run *R, const struct drill_event *e, int i, int64_t *v)
{
	const struct drill_call *c = &e->call;
	if (i >= c->nargs)
		return fail(R, e->line, "%s(): missing argument %d", c->name, i + 1);
	const struct dx *x = &c->args[i];
	if (x->kind == DX_LIST && x->n == 1)
		x = &x->kids[0];
	if (x->kind == DX_INT) {
		*v = x->i;
		return 0;
	}
	if (x->kind == DX_WORD)
		return fail(R, e->line, "%s(): unknown symbol %s", c->name, x->s);
	return fail(R, e->line, "%s(): argument %d must be an integer", c->name, i + 1);
}

static int is_ellipsis(const struct drill_event *e, int i)
{
	return i < e->call.nargs && e->call.args[i].kind == DX_ELLIPSIS;
}

/* sockaddr argument: `...` = the script's default, or {sin_port=htons(P), sin_addr=inet_addr("A")} */
static int arg_addr(struct run *R, const struct drill_event *e, int i, uint32_t def_ip,
		    struct synq_addr *a)
{
	a->ip = def_ip;
	a->port = SCRIPT_PORT;
	if (i >= e->call.nargs || is_ellipsis(e, i))
		return 0;
	const struct dx *x = &e->call.args[i];
	if (x->kind != DX_STRUCT)
		return fail(R, e->line, "%s(): address must be ... or {sa_family=..., sin_port=..., "
				       "sin_addr=...}", e->call.name);
	for (int j = 0; j < x->n; j++) {
		const struct dx *k = &x->kids[j];
		if (!strcmp(k->field, "sin_port")) {
			const struct dx *v = k->kind == DX_CALL && k->n == 1 ? &k->kids[0] : k;
			if (v->kind != DX_INT || v->i < 0 || v->i > 65535)
				return fail(R, e->line, "bad sin_port");
			a->port = (uint16_t)v->i;
		} else if (!strcmp(k->field, "sin_addr")) {
			const struct dx *v = k->kind == DX_CALL && k->n == 1 ? &k->kids[0] : k;
			if (v->kind == DX_INT && v->i == 0)
				a->ip = 0;
			else if (v->kind != DX_STRING || wire_ip_parse(v->s, &a->ip))
				return fail(R, e->line, "bad sin_addr");
		} else if (!strcmp(k->field, "sa_family") || !strcmp(k->field, "sin_family")) {
			if (k->kind != DX_INT || k->i != 2)
				return fail(R, e->line, "synq drill supports AF_INET only");
		}
	}
	return 0;
}

/* compare an int the call wrote ([v] in the script) */
static int check_out_int(struct run *R, const struct drill_event *e, int i, int64_t actual,
			 const char *what)
{
	if (i >= e->call.nargs || is_ellipsis(e, i))
		return 0;
	int64_t want;
	if (arg_int(R, e, i, &want))
		return -1;
	if (want != actual) {
		const char *wn = what && !strcmp(what, "SO_ERROR") ? drill_errno_name((int)want) : NULL;
		const char *an = what && !strcmp(what, "SO_ERROR") ? drill_errno_name((int)actual) : NULL;
		return fail(R, e->line, "%s(): %s: expected %lld%s%s%s, actual %lld%s%s%s", e->call.name,
			    what ? what : "value", (long long)want, wn ? " (" : "", wn ? wn : "",
			    wn ? ")" : "", (long long)actual, an ? " (" : "", an ? an : "",
			    an ? ")" : "");
	}
	return 0;
}

static int do_poll(struct run *R, const struct drill_event *e, int64_t *ret, int final)
{
	const struct drill_call *c = &e->call;
	if (c->nargs < 1 || c->args[0].kind != DX_LIST)
		return fail(R, e->line, "poll(): first argument must be [{fd=..., events=...}, ...]");
	const struct dx *l = &c->args[0];
	int64_t count = 0;
	for (int i = 0; i < l->n; i++) {
		const struct dx *st = &l->kids[i];
		int64_t fd = -1, events = 0, revents = -1;
		for (int j = 0; st->kind == DX_STRUCT && j < st->n; j++) {
			const struct dx *k = &st->kids[j];
			if (k->kind != DX_INT)
				return fail(R, e->line, "poll(): %s must be a constant", k->field);
			if (!strcmp(k->field, "fd"))
				fd = k->i;
			else if (!strcmp(k->field, "events"))
				events = k->i;
			else if (!strcmp(k->field, "revents"))
				revents = k->i;
		}
		int sfd = sfd_of(R, fd);
		int64_t got = sfd < 0 ? 0x20 /* POLLNVAL */ : synq_poll(R->s, sfd);
		if (got < 0)
			got = 0x20;
		got &= events | SYNQ_POLLERR | SYNQ_POLLHUP | 0x20;
		if (got)
			count++;
		if (final && revents >= 0 && got != revents)
			return fail(R, e->line, "poll(): fd %lld revents: expected 0x%llx, actual 0x%llx",
				    (long long)fd, (unsigned long long)revents,
				    (unsigned long long)got);
	}
	*ret = count;
	return 0;
}

/* Run (or, retry = 1, retry) the call of e. *would_block = 1 when a call on a blocking socket
 * cannot complete yet; else the result is checked against the script. */
static int call_try(struct run *R, const struct drill_event *e, int retry, int *would_block)
{
	const struct drill_call *c = &e->call;
	const char *n = c->name;
	int64_t ret = 0;
	int err = 0; /* positive errno when ret == -1 */
	int64_t fd = -1;
	int sfd = -1;
	int nonblock = 0;
	*would_block = 0;
#define SETRC(x)                                                                                   \
	do {                                                                                       \
		long _v = (long)(x);                                                               \
		if (_v < 0) {                                                                      \
			ret = -1;                                                                  \
			err = (int)-_v;                                                            \
		} else {                                                                           \
			ret = _v;                                                                  \
		}                                                                                  \
	} while (0)
	if (strcmp(n, "socket") && strcmp(n, "poll")) {
		if (arg_int(R, e, 0, &fd))
			return -1;
		sfd = sfd_of(R, fd);
		if (sfd >= 0)
			nonblock = R->fds[fd].nonblock;
	}
	if (!strcmp(n, "socket")) {
		int64_t dom = 2, type = 1, proto = 6;
		if (!is_ellipsis(e, 0) && arg_int(R, e, 0, &dom))
			return -1;
		if (!is_ellipsis(e, 1) && arg_int(R, e, 1, &type))
			return -1;
		if (!is_ellipsis(e, 2) && arg_int(R, e, 2, &proto))
			return -1;
		if (dom != 2)
			SETRC(-EAFNOSUPPORT);
		else if ((type & 0xf) != 1 || (proto != 6 && proto != 0))
			SETRC(-EPROTONOSUPPORT);
		else {
			int s = synq_socket(R->s);
			if (s < 0)
				SETRC(s);
			else {
				int f = fd_alloc(R, s);
				if (f < 0) {
					synq_close(R->s, s, R->now_ns);
					SETRC(f);
				} else {
					R->fds[f].nonblock = (type & 04000) != 0;
					ret = f;
				}
			}
		}
	} else if (sfd < 0 && strcmp(n, "poll")) {
		SETRC(-EBADF);
	} else if (!strcmp(n, "bind")) {
		struct synq_addr a;
		if (arg_addr(R, e, 1, R->o->local_ip, &a))
			return -1;
		SETRC(synq_bind(R->s, sfd, &a));
	} else if (!strcmp(n, "listen")) {
		int64_t bl;
		if (arg_int(R, e, 1, &bl))
			return -1;
		SETRC(synq_listen(R->s, sfd, (int)bl));
	} else if (!strcmp(n, "accept") || !strcmp(n, "accept4")) {
		int64_t aflags = 0; /* accept4(..., SOCK_NONBLOCK): the new fd is non-blocking */
		if (!strcmp(n, "accept4") && e->call.nargs > 3 && !is_ellipsis(e, 3) &&
		    arg_int(R, e, 3, &aflags))
			return -1;
		struct synq_addr peer;
		int s = synq_accept(R->s, sfd, &peer);
		if (s == -EAGAIN && !nonblock) {
			*would_block = 1;
			return 0;
		}
		if (s >= 0) {
			int f = fd_alloc(R, s);
			if (f < 0) {
				synq_close(R->s, s, R->now_ns);
				SETRC(f);
			} else {
				R->fds[f].nonblock = (aflags & 04000) != 0;
				ret = f;
			}
		} else {
			SETRC(s);
		}
	} else if (!strcmp(n, "connect")) {
		if (!retry) {
			struct synq_addr a;
			if (arg_addr(R, e, 1, R->o->remote_ip, &a))
				return -1;
			int rc = synq_connect(R->s, sfd, &a, R->now_ns);
			drain(R);
			if (!R->flows[0].learned) {
				struct synq_sock_info si;
				if (synq_sock_info(R->s, sfd, &si) == 0 && si.local.port) {
					R->flows[0].lport = si.local.port;
					R->flows[0].rport = a.port;
					R->flows[0].learned = 1;
				}
			}
			if (rc == -EINPROGRESS && !nonblock) {
				*would_block = 1;
				return 0;
			}
			SETRC(rc);
		} else {
			int m = synq_poll(R->s, sfd);
			if (m & (SYNQ_POLLERR | SYNQ_POLLHUP)) {
				int v = 0;
				size_t l = sizeof(v);
				synq_getsockopt(R->s, sfd, SYNQ_SOL_SOCKET, SYNQ_SO_ERROR, &v, &l);
				SETRC(v ? -v : -ECONNREFUSED);
			} else if (m & SYNQ_POLLOUT) {
				ret = 0;
			} else {
				*would_block = 1;
				return 0;
			}
		}
	} else if (!strcmp(n, "read") || !strcmp(n, "recv")) {
		int64_t len;
		if (arg_int(R, e, 2, &len))
			return -1;
		if (len < 0 || len > (1 << 20))
			return fail(R, e->line, "%s(): length out of range", n);
		uint8_t *buf = malloc((size_t)len + 1);
		if (!buf)
			return fail(R, e->line, "out of memory");
		long rc = synq_read(R->s, sfd, buf, (size_t)len, R->now_ns);
		free(buf);
		drain(R);
		if (rc == -EAGAIN && !nonblock) {
			*would_block = 1;
			return 0;
		}
		SETRC(rc);
	} else if (!strcmp(n, "write") || !strcmp(n, "send")) {
		int64_t len;
		if (arg_int(R, e, 2, &len))
			return -1;
		if (len < 0 || len > (1 << 20))
			return fail(R, e->line, "%s(): length out of range", n);
		uint8_t *buf = calloc(1, (size_t)len + 1);
		if (!buf)
			return fail(R, e->line, "out of memory");
		long rc = synq_write(R->s, sfd, buf, (size_t)len, R->now_ns);
		free(buf);
		drain(R);
		if (rc == -EAGAIN && !nonblock) {
			*would_block = 1;
			return 0;
		}
		SETRC(rc);
	} else if (!strcmp(n, "close")) {
		SETRC(synq_close(R->s, sfd, R->now_ns));
		R->fds[fd].used = 0;
		drain(R);
	} else if (!strcmp(n, "shutdown")) {
		int64_t how;
		if (arg_int(R, e, 1, &how))
			return -1;
		SETRC(synq_shutdown(R->s, sfd, (int)how, R->now_ns));
		drain(R);
	} else if (!strcmp(n, "fcntl")) {
		int64_t cmd, v = 0;
		if (arg_int(R, e, 1, &cmd))
			return -1;
		if (cmd == 3) { /* F_GETFL */
			ret = 2 | (nonblock ? 04000 : 0);
		} else if (cmd == 4) { /* F_SETFL */
			if (arg_int(R, e, 2, &v))
				return -1;
			R->fds[fd].nonblock = (v & 04000) != 0;
			ret = 0;
		} else if (cmd == 1 || cmd == 2) {
			ret = 0;
		} else {
			return fail(R, e->line, "fcntl(): only F_GETFL, F_SETFL (O_NONBLOCK), "
						"F_GETFD and F_SETFD are supported");
		}
	} else if (!strcmp(n, "setsockopt")) {
		int64_t lvl, name, v;
		if (arg_int(R, e, 1, &lvl) || arg_int(R, e, 2, &name) || arg_int(R, e, 3, &v))
			return -1;
		int iv = (int)v;
		SETRC(synq_setsockopt(R->s, sfd, (int)lvl, (int)name, &iv, sizeof(iv)));
	} else if (!strcmp(n, "getsockopt")) {
		int64_t lvl, name;
		if (arg_int(R, e, 1, &lvl) || arg_int(R, e, 2, &name))
			return -1;
		int iv = 0;
		size_t l = sizeof(iv);
		int rc = synq_getsockopt(R->s, sfd, (int)lvl, (int)name, &iv, &l);
		SETRC(rc);
		if (rc == 0) {
			int soerr = lvl == 1 && name == 4;
			if (check_out_int(R, e, 3, iv, soerr ? "SO_ERROR" : "value") ||
			    check_out_int(R, e, 4, (int64_t)l, "length"))
				return -1;
		}
	} else if (!strcmp(n, "poll")) {
		int64_t tmo = 0;
		if (c->nargs >= 3 && arg_int(R, e, 2, &tmo))
			return -1;
		if (do_poll(R, e, &ret, 0))
			return -1;
		if (ret == 0 && tmo != 0) {
			if (!retry) {
				R->pend_deadline_us = tmo > 0 ? ns_to_us(R->now_ns) + tmo * 1000 : -1;
				*would_block = 1;
				return 0;
			}
			if (R->pend_deadline_us < 0 || us_to_ns(R->pend_deadline_us) > R->now_ns) {
				*would_block = 1;
				return 0;
			}
		}
		if (do_poll(R, e, &ret, 1))
			return -1;
	} else {
		return fail(R, e->line, "system call %s() is not supported by synq drill", n);
	}
#undef SETRC
	if (R->o->verbose)
		fprintf(R->log, "%10.6f %s() = %lld%s%s\n", ns_to_us(R->now_ns) / 1e6, n, (long long)ret,
			err ? " " : "", err ? (drill_errno_name(err) ? drill_errno_name(err) : "?") : "");
	/* the result */
	const struct dx *want = &c->result;
	if (want->kind == DX_ELLIPSIS)
		return 0;
	if (want->kind != DX_INT)
		return fail(R, e->line, "%s(): the expected result must be a number", n);
	int64_t werr = 0;
	if (c->has_errno)
		drill_symbol(c->err, &werr);
	char actual[96];
	if (ret == -1)
		snprintf(actual, sizeof(actual), "-1 %s", drill_errno_name(err) ? drill_errno_name(err)
										  : "(unknown errno)");
	else
		snprintf(actual, sizeof(actual), "%lld", (long long)ret);
	if (want->i != ret || (ret == -1 && c->has_errno && werr != err))
		return fail(R, e->line, "%s(): expected %lld%s%s, actual %s", n, (long long)want->i,
			    c->has_errno ? " " : "", c->has_errno ? c->err : "", actual);
	return 0;
}

/* ---- commands ------------------------------------------------------------------------------- */

static int run_command(struct run *R, const struct drill_event *e)
{
	char *text = strdup(e->cmd);
	if (!text)
		return fail(R, e->line, "out of memory");
	int rc = 0;
	char *save = NULL;
	for (char *part = strtok_r(text, ";\n", &save); part && !rc;
	     part = strtok_r(NULL, ";\n", &save)) {
		char *save2 = NULL;
		char *w = strtok_r(part, " \t", &save2);
		if (!w)
			continue;
		if (strcmp(w, "sysctl")) {
			rc = fail(R, e->line,
				  "command `%s`: synq drill only runs `sysctl -q name=value`", e->cmd);
			break;
		}
		int n = 0;
		while ((w = strtok_r(NULL, " \t", &save2))) {
			if (w[0] == '-') {
				if (strcmp(w, "-q") && strcmp(w, "-w") && strcmp(w, "-qw") &&
				    strcmp(w, "-wq") && strcmp(w, "-e")) {
					rc = fail(R, e->line, "command `%s`: sysctl option %s not supported",
						  e->cmd, w);
					break;
				}
				continue;
			}
			/* strip quotes: sysctl -q "a=b c" */
			size_t l = strlen(w);
			if (w[0] == '"' || w[0] == '\'') {
				w++;
				l--;
			}
			if (l && (w[l - 1] == '"' || w[l - 1] == '\''))
				w[--l] = 0;
			if (!strchr(w, '=')) {
				rc = fail(R, e->line, "command `%s`: %s is not name=value", e->cmd, w);
				break;
			}
			int sr = synq_stack_set(R->s, w);
			if (sr)
				rc = fail(R, e->line, "sysctl %s: %s", w,
					  sr == -ENOENT ? "unknown to synq"
					  : sr == -EPERM ? "cannot change on a running stack"
							 : "bad value");
			n++;
		}
		if (!rc && !n)
			rc = fail(R, e->line, "command `%s`: sysctl without name=value", e->cmd);
	}
	free(text);
	if (!rc && R->o->verbose)
		fprintf(R->log, "%10.6f `%s`\n", ns_to_us(R->now_ns) / 1e6, e->cmd);
	return rc;
}

/* ---- the script ----------------------------------------------------------------------------- */

static int64_t tolerance(const struct run *R, int64_t gap_us)
{
	int64_t t = R->tol_us;
	int64_t d = (int64_t)(R->tol_pct / 100.0 * (double)(gap_us > 0 ? gap_us : 0));
	return d > t ? d : t;
}

static int run_events(struct run *R, const struct drill_script *sc)
{
	for (int i = 0; i < sc->n && !R->failed; i++) {
		const struct drill_event *e = &sc->ev[i];
		if (e->untimed && i > 0)
			continue; /* cleanup command: nothing to clean on a stack that is thrown away */
		int inbound = e->kind == DE_PACKET && e->pkt.dir == '<';
		int outbound = e->kind == DE_PACKET && e->pkt.dir == '>';
		int64_t anchor = (R->last_inbound && inbound) ? R->last_us : R->now_us;
		int64_t t = e->t_us, end;
		switch (e->time_type) {
		case DT_REL:
		case DT_REL_RANGE: t += anchor; break;
		case DT_ANY: t = R->now_us; break;
		default: break;
		}
		end = e->time_type == DT_ABS_RANGE   ? e->t_end_us
		      : e->time_type == DT_REL_RANGE ? anchor + e->t_end_us
						     : t;
		int64_t tol = tolerance(R, t - R->last_us);
		R->r->events++;
		if (outbound) {
			if (expect_pkt(R, e, t, end, tol))
				return -1;
			R->last_us = t;
			R->last_inbound = 0;
			continue;
		}
		if (t < ns_to_us(R->now_ns)) {
			/* an event earlier than what already happened (e.g. after a late packet) */
			if (ns_to_us(R->now_ns) - t > tol)
				return fail(R, e->line, "event at %.6f s is in the past (now %.6f s)",
					    t / 1e6, ns_to_us(R->now_ns) / 1e6);
			t = ns_to_us(R->now_ns);
		}
		if (advance(R, us_to_ns(t)) || check_unexpected(R, e->line, t, tol))
			return -1;
		if (inbound) {
			if (R->o->verbose) {
				char d[400];
				fmt_script_pkt(&e->pkt, d, sizeof(d));
				fprintf(R->log, "%10.6f < %s\n", t / 1e6, d);
			}
			if (e->pkt.icmp ? inject_icmp(R, e) : inject(R, e))
				return -1;
		} else if (e->kind == DE_CALL) {
			int wb = 0;
			if (call_try(R, e, 0, &wb))
				return -1;
			if (wb) {
				if (R->pend)
					return fail(R, e->line, "blocking %s() while %s() (line %d) is still "
								"blocked", e->call.name, R->pev->call.name,
						    R->pev->line);
				R->pend = 1;
				R->pev = e;
				R->pend_start_us = t;
				if (e->call.blocking)
					R->pend_end_us = e->time_type == DT_REL ? anchor + e->call.end_us
										: e->call.end_us;
				else
					R->pend_end_us = t;
				if (strcmp(e->call.name, "poll"))
					R->pend_deadline_us = -1;
				if (R->o->verbose)
					fprintf(R->log, "%10.6f %s() blocks\n", t / 1e6, e->call.name);
			} else if (e->call.blocking) {
				/* returned at once, but the script said when */
				int64_t ee = e->time_type == DT_REL ? anchor + e->call.end_us : e->call.end_us;
				if (ee - t > tol)
					return fail(R, e->line, "%s() returned at %.6f s, expected at %.6f s",
						    e->call.name, t / 1e6, ee / 1e6);
			}
		} else {
			if (run_command(R, e))
				return -1;
		}
		R->now_us = t;
		R->last_us = t;
		R->last_inbound = inbound;
	}
	if (R->failed)
		return -1;
	if (R->pend) {
		int64_t tol = tolerance(R, R->pend_end_us - R->pend_start_us);
		if (advance(R, us_to_ns(R->pend_end_us + tol)))
			return -1;
		if (R->pend)
			return fail(R, R->pev->line, "%s() still blocked at %.6f s (expected to return "
						     "at %.6f s)", R->pev->call.name,
				    (R->pend_end_us + tol) / 1e6, R->pend_end_us / 1e6);
	}
	return check_unexpected(R, sc->n ? sc->ev[sc->n - 1].line : 0, R->now_us,
				tolerance(R, 0));
}

int drill_run_text(const char *name, const char *text, const struct drill_opts *o,
		   struct drill_result *r)
{
	memset(r, 0, sizeof(*r));
	r->ok = 1;
	struct drill_script sc;
	int line = 0;
	if (drill_parse(text, &sc, r->msg, sizeof(r->msg), &line)) {
		r->ok = 0;
		r->line = line;
		return -1;
	}
	struct run *R = calloc(1, sizeof(*R));
	if (!R) {
		drill_script_free(&sc);
		r->ok = 0;
		snprintf(r->msg, sizeof(r->msg), "out of memory");
		return -1;
	}
	R->o = o;
	R->r = r;
	R->log = o->log ? o->log : stdout;
	R->rand_state = o->seed;
	R->tol_us = sc.tolerance_us >= 0 ? sc.tolerance_us : o->tolerance_us;
	R->tol_pct = sc.tolerance_pct >= 0 ? sc.tolerance_pct : o->tolerance_pct;
	R->nflows = 1;
	R->flows[0].is_default = 1;
	struct synq_config cfg;
	synq_config_init(&cfg);
	char ip[16], kv[64];
	snprintf(kv, sizeof(kv), "net.synq.local_addr=%s", wire_ip_str(o->local_ip, ip));
	synq_config_set(&cfg, kv);
	synq_config_set(&cfg, "net.synq.max_requests=4096");
	synq_config_set(&cfg, "net.synq.max_sockets=256");
	for (int i = 0; i < o->n_sets && !R->failed; i++) {
		int rc = synq_config_set(&cfg, o->sets[i]);
		if (rc)
			fail(R, 0, "--set %s: %s", o->sets[i], rc == -ENOENT ? "unknown knob" : "bad value");
	}
	cfg.rand = drill_rand;
	cfg.rand_user = &R->rand_state;
	R->now_ns = BASE_NS;
	if (!R->failed) {
		int rc = synq_stack_new(&cfg, R->now_ns, &R->s);
		if (rc)
			fail(R, 0, "synq_stack_new: %d", rc);
	}
	if (!R->failed) {
		if (o->verbose)
			fprintf(R->log, "--- %s\n", name);
		run_events(R, &sc);
	}
	synq_stack_free(R->s);
	free(R->q);
	free(R);
	drill_script_free(&sc);
	return r->ok ? 0 : -1;
}

int drill_run_file(const char *path, const struct drill_opts *o, struct drill_result *r)
{
	memset(r, 0, sizeof(*r));
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(r->msg, sizeof(r->msg), "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (n + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		size_t k = fread(buf + n, 1, cap - n - 1, f);
		if (k == 0)
			break;
		n += k;
	}
	fclose(f);
	if (!buf) {
		snprintf(r->msg, sizeof(r->msg), "out of memory reading %s", path);
		return -1;
	}
	buf[n] = 0;
	int rc = drill_run_text(path, buf, o, r);
	free(buf);
	return rc;
}
