/*
 * lab.c — the experiments of `synq lab`: presets, option parsing and the run (see lab.h).
 *
 * The run drives one server stack and one client host on the virtual network (vnet.h) and records
 * everything as it happens: the tap gives the packets (send time, then delivery time), the
 * stacks' on_event hooks give the listener's decisions, state changes and connection results,
 * the vnet app hook plays the applications. Counters: a snapshot of the server's counters is
 * taken before each packet enters the server, and at each server event the difference since the
 * last snapshot is the set of counters that event bumped. What moves without an event (a SYN
 * cookie, an RST to a stray segment, a SYN-ACK retransmitted by the request timer) becomes a
 * note attached to the packet that caused it or to the timers of that instant.
 *
 * SPDX-License-Identifier: MIT
 */
#include "drivers/lab.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/wire.h"
#include "drivers/vnet.h"

#define MS 1000000ull
#define S_NS 1000000000ull
#define NONE UINT64_MAX

/* ---- experiments ---------------------------------------------------------------------------- */
const struct lab_experiment lab_experiments[] = {
    {"overflow", "the classic accept-queue overflow (backlog 2, fill 2, burst 4, never accept)", "S1",
     "listen(2), never accept(); c1 and c2 connect 300 ms apart and wait in the accept queue, then\n"
     "c3-c6 connect at once (50 ms client->server delay). c3 completes and fills the queue (it holds\n"
     "backlog+1); the final ACKs of c4 and c5 are dropped (accept queue full, B27), their SYN-ACKs\n"
     "are retransmitted at 1, 3, 7, 15, 31 s, each drawing a challenge ACK that is dropped again,\n"
     "and the requests expire silently at 63 s while the clients say ESTABLISHED; c6 finds the SYN\n"
     "queue over its bound and gets a SYN cookie, and its ACK overflows with no state left at all."},
    {"abort", "the same with net.ipv4.tcp_abort_on_overflow=1", "S2",
     "as overflow, with tcp_abort_on_overflow=1: the server answers an overflowing final ACK with\n"
     "RST (B28); c4 and c5, reading right after connect() returns, get read() = -1 ECONNRESET and\n"
     "then write() = -1 EPIPE. The cookie client's ACK is still dropped silently (B36)."},
    {"late-accept", "the server starts accept()ing 5 s after the burst", "S3",
     "as overflow, but the server accept()s everything from 5.6 s on (5 s after the burst): the\n"
     "queued children are taken at once; the overflowed requests complete when the next SYN-ACK\n"
     "retransmission (7 s after their SYN) draws an ACK that finds room. The cookie client never\n"
     "completes: nothing on the server can re-trigger it."},
    {"data-after-expiry", "the burst clients write 100 bytes at once; the server never accepts", "S4",
     "as overflow, the burst clients write 100 bytes as soon as they are connected: every data\n"
     "segment of an overflowed request is dropped (ListenOverflows) until the request expires, then\n"
     "the next retransmission meets the bare listener and draws RST (ECONNRESET, then EPIPE); the\n"
     "cookie client's data validates as a cookie and overflows, each time, until the cookie ages."},
    {"silent-client", "overflowed clients that never write, until a late write at 40 s", "S5-short",
     "as overflow with tcp_synack_retries=2: the requests expire after 7 s and the clients stay\n"
     "ESTABLISHED with nothing on the server; no timer runs (no data, no keepalive). 40 s after\n"
     "connect() each burst client writes 1 byte: the real connection gets an ACK, the forgotten\n"
     "ones an RST. Runs 46 s."},
    {"syn-drop", "a client connecting while the accept queue is already full", "S6",
     "listen(2), never accept(), no delay: c1-c3 fill the accept queue 200 ms apart, then c4\n"
     "connects: every SYN is dropped (B8, ListenOverflows+1 each) and the client retransmits on\n"
     "its schedule (1 s steps, then doubling: tcp_syn_linear_timeouts) until connect() fails with\n"
     "ETIMEDOUT after about 134 s."},
    {NULL, NULL, NULL, NULL},
};

int lab_preset(struct lab_params *p, const char *name)
{
	int found = 0;
	for (int i = 0; lab_experiments[i].name; i++)
		if (!strcmp(lab_experiments[i].name, name))
			found = 1;
	if (!found)
		return -ENOENT;
	memset(p, 0, sizeof(*p));
	p->backlog = 2;
	p->fill = 2;
	p->burst = 4;
	p->fill_gap_ms = 300;
	p->rtt_ms = 50;
	p->seed = 1;
	p->accept_mode = LAB_ACCEPT_NEVER;
	if (!strcmp(name, "overflow")) {
		p->experiment = "overflow";
	} else if (!strcmp(name, "abort")) {
		p->experiment = "abort";
		p->srv_set[p->n_srv_set++] = "net.ipv4.tcp_abort_on_overflow=1";
	} else if (!strcmp(name, "late-accept")) {
		p->experiment = "late-accept";
		p->accept_mode = LAB_ACCEPT_AT;
		p->accept_sec = 5.6;
	} else if (!strcmp(name, "data-after-expiry")) {
		p->experiment = "data-after-expiry";
		p->send_bytes = 100;
		p->send_sec = 0;
	} else if (!strcmp(name, "silent-client")) {
		p->experiment = "silent-client";
		p->srv_set[p->n_srv_set++] = "net.ipv4.tcp_synack_retries=2";
		p->send_bytes = 1;
		p->send_sec = 40;
		p->duration_s = 46;
	} else {
		p->experiment = "syn-drop";
		p->fill = 3;
		p->burst = 1;
		p->fill_gap_ms = 200;
		p->rtt_ms = 0;
	}
	return 0;
}

/* ---- option parsing ------------------------------------------------------------------------- */
static const char *const value_opts[] = {"backlog", "fill", "fill-gap", "burst", "rtt", "loss",
					 "accept", "send", "duration", "seed", "set", "client-set",
					 "pcap", "svg", "kernel", NULL};

static int takes_value(const char *name)
{
	for (int i = 0; value_opts[i]; i++)
		if (!strcmp(value_opts[i], name))
			return 1;
	return 0;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (!*s || *end || errno || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!*s || *s == '-')
		return -1;
	unsigned long long v = strtoull(s, &end, 0);
	if (*end || errno)
		return -1;
	*out = v;
	return 0;
}

static int check_set(const char *a)
{
	struct synq_config c;
	synq_config_init(&c);
	return synq_config_set(&c, a);
}

#define PERR(...)                                                                                  \
	do {                                                                                       \
		snprintf(err, errcap, __VA_ARGS__);                                                \
		return -EINVAL;                                                                    \
	} while (0)

int lab_parse(struct lab_params *p, int argc, char **argv, char *err, size_t errcap)
{
	const char *exp = NULL;
	if (errcap)
		err[0] = 0;
	/* pass 1: find the experiment (the first argument that is neither an option nor a value) */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] == '-' && a[2]) {
			if (!strchr(a, '=') && takes_value(a + 2))
				i++;
			continue;
		}
		if (a[0] == '-' && a[1])
			continue;
		if (exp)
			PERR("unexpected argument '%s' (one experiment at a time)", a);
		exp = a;
	}
	if (!exp)
		exp = "overflow";
	if (!strcmp(exp, "flood"))
		PERR("experiment 'flood' is not supported yet");
	if (lab_preset(p, exp) != 0)
		PERR("unknown experiment '%s' (synq lab --list shows them)", exp);

	/* pass 2: the options, over the preset */
	int seen_exp = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!(a[0] == '-' && a[1] == '-' && a[2])) {
			if (a[0] == '-' && a[1])
				PERR("unknown option '%s'", a);
			if (seen_exp++ == 0)
				continue;
			PERR("unexpected argument '%s'", a);
		}
		char name[32];
		const char *eq = strchr(a + 2, '='), *v = NULL;
		size_t nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (nl >= sizeof(name))
			PERR("unknown option '%s'", a);
		memcpy(name, a + 2, nl);
		name[nl] = 0;
		if (takes_value(name)) {
			if (eq)
				v = eq + 1;
			else if (i + 1 < argc)
				v = argv[++i];
			else
				PERR("--%s needs a value", name);
		} else if (eq) {
			PERR("--%s takes no value", name);
		}
		long l;
		double d;
		if (!strcmp(name, "help")) {
			return 1;
		} else if (!strcmp(name, "list")) {
			return 2;
		} else if (!strcmp(name, "json")) {
			p->json = 1;
		} else if (!strcmp(name, "quiet")) {
			p->quiet = 1;
		} else if (!strcmp(name, "kernel")) {
			PERR("--kernel %s: kernel profiles are not supported yet (synq follows Linux 6.18)", v);
		} else if (!strcmp(name, "kernel-timers")) {
			PERR("--kernel-timers: the timer-wheel model is not supported yet (timers fire at "
			     "their exact deadlines)");
		} else if (!strcmp(name, "backlog")) {
			if (parse_long(v, -2147483647L - 1, 2147483647L, &l))
				PERR("--backlog %s: not an integer", v);
			p->backlog = (int)l;
		} else if (!strcmp(name, "fill")) {
			if (parse_long(v, 0, LAB_MAX_CLIENTS, &l))
				PERR("--fill %s: want 0..%d", v, LAB_MAX_CLIENTS);
			p->fill = (int)l;
		} else if (!strcmp(name, "burst")) {
			if (parse_long(v, 0, LAB_MAX_CLIENTS, &l))
				PERR("--burst %s: want 0..%d", v, LAB_MAX_CLIENTS);
			p->burst = (int)l;
		} else if (!strcmp(name, "fill-gap")) {
			if (parse_num(v, 0, 3600000, &d))
				PERR("--fill-gap %s: want milliseconds, 0..3600000", v);
			p->fill_gap_ms = d;
		} else if (!strcmp(name, "rtt")) {
			if (parse_num(v, 0, 60000, &d))
				PERR("--rtt %s: want milliseconds, 0..60000", v);
			p->rtt_ms = d;
		} else if (!strcmp(name, "loss")) {
			uint64_t m;
			const char *s = v;
			int dir = 0;
			if (!strncmp(s, "c2s:", 4))
				s += 4;
			else if (!strncmp(s, "s2c:", 4))
				s += 4, dir = 1;
			if (parse_u64(s, &m))
				PERR("--loss %s: want [c2s:|s2c:]MASK (e.g. 0x4: the third packet)", v);
			if (dir)
				p->loss_s2c = m;
			else
				p->loss_c2s = m;
		} else if (!strcmp(name, "accept")) {
			if (!strcmp(v, "never")) {
				p->accept_mode = LAB_ACCEPT_NEVER;
			} else if (!strncmp(v, "at:", 3) && !parse_num(v + 3, 0, 86400, &d)) {
				p->accept_mode = LAB_ACCEPT_AT;
				p->accept_sec = d;
			} else if (!strncmp(v, "every:", 6) && !parse_num(v + 6, 0.001, 86400, &d)) {
				p->accept_mode = LAB_ACCEPT_EVERY;
				p->accept_sec = d;
			} else {
				PERR("--accept %s: want never, at:SEC or every:SEC", v);
			}
		} else if (!strcmp(name, "send")) {
			const char *at = strchr(v, '@');
			char b[32];
			if (!at || (size_t)(at - v) >= sizeof(b))
				PERR("--send %s: want BYTES@SEC", v);
			memcpy(b, v, (size_t)(at - v));
			b[at - v] = 0;
			if (parse_long(b, 0, 65536, &l) || parse_num(at + 1, 0, 86400, &d))
				PERR("--send %s: want BYTES@SEC with BYTES 0..65536", v);
			p->send_bytes = (int)l;
			p->send_sec = d;
		} else if (!strcmp(name, "duration")) {
			if (parse_num(v, 0.001, 86400, &d))
				PERR("--duration %s: want seconds, 0.001..86400", v);
			p->duration_s = d;
		} else if (!strcmp(name, "seed")) {
			if (parse_u64(v, &p->seed))
				PERR("--seed %s: not an unsigned integer", v);
		} else if (!strcmp(name, "set") || !strcmp(name, "client-set")) {
			int srv = name[0] == 's';
			int rc = check_set(v);
			if (rc)
				PERR("--%s %s: %s", name, v,
				     rc == -ENOENT ? "unknown knob" : rc == -EINVAL ? "bad value" : strerror(-rc));
			if ((srv ? p->n_srv_set : p->n_cli_set) >= LAB_MAX_SETS)
				PERR("--%s: at most %d", name, LAB_MAX_SETS);
			if (srv)
				p->srv_set[p->n_srv_set++] = v;
			else
				p->cli_set[p->n_cli_set++] = v;
		} else if (!strcmp(name, "pcap")) {
			p->pcap_path = v;
		} else if (!strcmp(name, "svg")) {
			p->svg_path = v;
		} else {
			PERR("unknown option '--%s'", name);
		}
	}
	if (p->fill + p->burst < 1)
		PERR("no clients: --fill + --burst must be at least 1");
	if (p->fill + p->burst > LAB_MAX_CLIENTS)
		PERR("too many clients: --fill + --burst must be at most %d", LAB_MAX_CLIENTS);
	return 0;
}

/* ---- names ------------------------------------------------------------------------------------ */
const char *lab_errno_name(int e)
{
	static const struct {
		int e;
		const char *n;
	} t[] = {{EAGAIN, "EAGAIN"},	   {ECONNRESET, "ECONNRESET"}, {EPIPE, "EPIPE"},
		 {ETIMEDOUT, "ETIMEDOUT"}, {ECONNREFUSED, "ECONNREFUSED"}, {ENOTCONN, "ENOTCONN"},
		 {EINPROGRESS, "EINPROGRESS"}, {EBADF, "EBADF"},	{EINVAL, "EINVAL"},
		 {EHOSTUNREACH, "EHOSTUNREACH"}, {EADDRINUSE, "EADDRINUSE"}, {EMFILE, "EMFILE"},
		 {EADDRNOTAVAIL, "EADDRNOTAVAIL"}, {EALREADY, "EALREADY"}, {EISCONN, "EISCONN"}};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].e == e)
			return t[i].n;
	static _Thread_local char buf[16];
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

const char *lab_state_name(int st)
{
	static const char *const n[] = {"?",	      "ESTABLISHED", "SYN_SENT",   "SYN_RECV",
					"FIN_WAIT1",  "FIN_WAIT2",   "TIME_WAIT",  "CLOSE",
					"CLOSE_WAIT", "LAST_ACK",    "LISTEN",	   "CLOSING"};
	return st >= 1 && st <= 11 ? n[st] : "?";
}

const char *lab_short_counter(int id)
{
	const char *n = synq_counter_name(id);
	if (!n)
		return "?";
	if (!strncmp(n, "TcpExt", 6))
		return n + 6;
	return n;
}

int lab_counter_boring(int id)
{
	const char *n = synq_counter_name(id);
	if (!n)
		return 1;
	static const char *const boring[] = {"TcpInSegs",	  "TcpOutSegs",	      "TcpCurrEstab",
					     "TcpExtTCPPureAcks", "TcpExtTCPHPAcks",   "TcpExtTCPOrigDataSent",
					     "TcpActiveOpens",	  "TcpPassiveOpens",   NULL};
	if (!strncmp(n, "Ip", 2))
		return 1;
	for (int i = 0; boring[i]; i++)
		if (!strcmp(boring[i], n))
			return 1;
	return 0;
}

/* ---- the run ------------------------------------------------------------------------------------ */
struct client {
	int fd;
	int started, connected, sent, done;
	uint64_t connect_at; /* absolute */
	uint64_t call_ns;    /* when connect() was called (absolute) */
	uint32_t cisn, sisn;
	int have_c, have_s;
	int n_syn, n_synack;
};

struct fifo {
	size_t *v;
	size_t head, tail, cap;
};

struct ctx {
	struct lab_result *res;
	const struct lab_params *p;
	struct vnet *net;
	synq_stack *srv, *cli;
	int srv_node, cli_node;
	int lfd;
	uint64_t rng_s, rng_c;
	int n;
	struct client c[LAB_MAX_CLIENTS + 1];
	struct fifo q[2]; /* 0: client->server, 1: server->client; record indices in flight */
	uint64_t snap[SYNQ_COUNTER_COUNT];
	int cause_conn;       /* the last packet delivered to the server */
	uint64_t cause_t;
	int timers_due;       /* the server's timers fire in the instant being processed */
	uint32_t qa, qm, qq;
	int have_q;
	size_t last_drop;     /* index+1 of the last drop record (for merging) */
	int accept_on;
	uint64_t accept_next;
	int acc_fd[LAB_MAX_CLIENTS + 1]; /* server fd of ck once accepted (0: none) */
	int err;
};

static void rnd(void *user, void *buf, size_t len)
{
	uint64_t *st = user;
	uint8_t *b = buf;
	while (len--) {
		*st = *st * 6364136223846793005ull + 1442695040888963407ull;
		*b++ = (uint8_t)(*st >> 56);
	}
}

static uint64_t rel(uint64_t abs_ns) { return abs_ns >= LAB_EPOCH_NS ? abs_ns - LAB_EPOCH_NS : 0; }

static struct lab_rec *rec_new(struct ctx *x, int kind, uint64_t abs_ns)
{
	struct lab_result *r = x->res;
	if (x->err)
		return NULL;
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 256;
		struct lab_rec *nr = realloc(r->rec, nc * sizeof(*nr));
		if (!nr) {
			x->err = -ENOMEM;
			return NULL;
		}
		r->rec = nr;
		r->cap = nc;
	}
	struct lab_rec *e = &r->rec[r->n++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->t_ns = rel(abs_ns);
	e->arr_ns = NONE;
	return e;
}

static int conn_of_port(const struct ctx *x, uint32_t ip, uint16_t port)
{
	int k = (int)port - LAB_CLI_PORT0;
	return ip == LAB_CLI_IP && k >= 1 && k <= x->n ? k : 0;
}

static void fifo_push(struct ctx *x, struct fifo *f, size_t v)
{
	if (f->tail == f->cap) {
		if (f->head > 0) {
			memmove(f->v, f->v + f->head, (f->tail - f->head) * sizeof(size_t));
			f->tail -= f->head;
			f->head = 0;
		} else {
			size_t nc = f->cap ? f->cap * 2 : 64;
			size_t *nv = realloc(f->v, nc * sizeof(size_t));
			if (!nv) {
				x->err = -ENOMEM;
				return;
			}
			f->v = nv;
			f->cap = nc;
		}
	}
	f->v[f->tail++] = v;
}

/* counters that moved since the last snapshot (the interesting ones into e), new snapshot */
static void take_delta(struct ctx *x, struct lab_rec *e, int only_timer, int skip_timer)
{
	for (int id = 0; id < SYNQ_COUNTER_COUNT; id++) {
		int timer = id == SYNQ_C_TCP_TIMEOUTS || id == SYNQ_C_TCP_SYN_RETRANS ||
			    id == SYNQ_C_TCP_RETRANS_SEGS;
		if ((only_timer && !timer) || (skip_timer && timer))
			continue;
		uint64_t v = synq_counter(x->srv, id);
		int64_t d = (int64_t)(v - x->snap[id]);
		x->snap[id] = v;
		if (d && e && !lab_counter_boring(id) && e->n_delta < LAB_MAX_DELTA) {
			e->delta[e->n_delta].id = id;
			e->delta[e->n_delta].n = d;
			e->n_delta++;
		}
	}
}

static int pending_delta(const struct ctx *x, int only_timer, int skip_timer, int64_t *d_out)
{
	int any = 0;
	for (int id = 0; id < SYNQ_COUNTER_COUNT; id++) {
		int timer = id == SYNQ_C_TCP_TIMEOUTS || id == SYNQ_C_TCP_SYN_RETRANS ||
			    id == SYNQ_C_TCP_RETRANS_SEGS;
		if ((only_timer && !timer) || (skip_timer && timer))
			continue;
		int64_t d = (int64_t)(synq_counter(x->srv, id) - x->snap[id]);
		if (d_out)
			d_out[id] = d;
		if (d && !lab_counter_boring(id))
			any = 1;
	}
	return any;
}

static void fill_queue(struct ctx *x, struct lab_rec *e)
{
	struct synq_sock_info in;
	if (synq_sock_info(x->srv, x->lfd, &in) == 0) {
		e->qa = in.recvq;
		e->qm = in.sendq;
		e->qq = in.synq_len;
	}
}

/* a LAB_QUEUE record when A, M or Q changed */
static void check_queue(struct ctx *x, uint64_t now)
{
	struct synq_sock_info in;
	if (synq_sock_info(x->srv, x->lfd, &in) != 0)
		return;
	if (x->have_q && in.recvq == x->qa && in.sendq == x->qm && in.synq_len == x->qq)
		return;
	x->have_q = 1;
	x->qa = in.recvq;
	x->qm = in.sendq;
	x->qq = in.synq_len;
	struct lab_rec *e = rec_new(x, LAB_QUEUE, now);
	if (e) {
		e->qa = in.recvq;
		e->qm = in.sendq;
		e->qq = in.synq_len;
	}
}

/* counters that moved with no engine event: a note on what caused them */
static void flush_note(struct ctx *x, uint64_t now, int conn, int timers)
{
	int64_t d[SYNQ_COUNTER_COUNT];
	if (!pending_delta(x, timers, !timers, d)) {
		take_delta(x, NULL, timers, !timers);
		return;
	}
	struct lab_rec *e = rec_new(x, timers ? LAB_DECIDE : LAB_NOTE, now);
	if (!e) {
		take_delta(x, NULL, timers, !timers);
		return;
	}
	e->at = 0;
	e->conn = timers ? 0 : conn;
	fill_queue(x, e);
	if (timers) {
		snprintf(e->code, sizeof(e->code), "synack_retransmit");
		snprintf(e->rule, sizeof(e->rule), "B12");
		long n = (long)d[SYNQ_C_TCP_SYN_RETRANS];
		if (n > 1)
			snprintf(e->text, sizeof(e->text), "request timers fired: %ld SYN-ACKs retransmitted", n);
		else if (n == 1)
			snprintf(e->text, sizeof(e->text), "request timer fired: SYN-ACK retransmitted");
		else
			snprintf(e->text, sizeof(e->text), "request timer fired");
	} else if (d[SYNQ_C_SYNCOOKIES_SENT] > 0) {
		e->kind = LAB_DECIDE;
		snprintf(e->code, sizeof(e->code), "syn_cookie");
		snprintf(e->rule, sizeof(e->rule), "B6");
		snprintf(e->text, sizeof(e->text),
			 "SYN queue full (Q=%u > M=%u): SYN cookie sent, nothing stored", e->qq, e->qm);
	} else if (d[SYNQ_C_TCP_OUT_RSTS] > 0 && !d[SYNQ_C_EMBRYONIC_RSTS]) {
		e->kind = LAB_DECIDE;
		snprintf(e->code, sizeof(e->code), "reset");
		snprintf(e->rule, sizeof(e->rule), "B30");
		snprintf(e->text, sizeof(e->text), "no connection, request or cookie for this segment: RST");
	} else {
		snprintf(e->code, sizeof(e->code), "counters");
		snprintf(e->text, sizeof(e->text), "counters moved");
	}
	take_delta(x, e, timers, !timers);
}

static void copy_why(struct lab_rec *e, const struct synq_event *ev)
{
	snprintf(e->code, sizeof(e->code), "%s", ev->code ? ev->code : "");
	snprintf(e->rule, sizeof(e->rule), "%s", ev->rule ? ev->rule : "");
	snprintf(e->text, sizeof(e->text), "%s", ev->reason ? ev->reason : "");
}

static void srv_event(void *user, const struct synq_event *ev)
{
	struct ctx *x = user;
	uint64_t now = ev->now_ns;
	int k = conn_of_port(x, ev->raddr, ev->rport);
	struct lab_rec *e;
	switch (ev->kind) {
	case SYNQ_EV_DROP: {
		/* listen_overflow() reports ListenOverflows and ListenDrops as two events: one record */
		if (x->last_drop && x->last_drop == x->res->n) {
			e = &x->res->rec[x->last_drop - 1];
			if (e->t_ns == rel(now) && e->conn == k && ev->code && !strcmp(e->code, ev->code)) {
				take_delta(x, e, 0, 0);
				return;
			}
		}
		e = rec_new(x, LAB_DROP, now);
		if (!e)
			return;
		e->conn = k;
		copy_why(e, ev);
		fill_queue(x, e);
		take_delta(x, e, 0, 0);
		x->last_drop = x->res->n;
		break;
	}
	case SYNQ_EV_REQ_NEW:
	case SYNQ_EV_ACCEPTABLE:
		e = rec_new(x, LAB_DECIDE, now);
		if (!e)
			return;
		e->conn = k;
		copy_why(e, ev);
		fill_queue(x, e);
		take_delta(x, e, 0, 0);
		if (ev->kind == SYNQ_EV_REQ_NEW && (e = rec_new(x, LAB_STATE, now))) {
			e->conn = k;
			e->state = SYNQ_TCP_SYN_RECV;
		}
		break;
	case SYNQ_EV_REQ_GONE:
		e = rec_new(x, LAB_DROP, now);
		if (!e)
			return;
		e->conn = k;
		copy_why(e, ev);
		fill_queue(x, e);
		/* other requests' timers may have fired before this one in the same instant: the
		 * expiry itself is one TCPTimeouts, the rest stays for the timers' note */
		take_delta(x, e, 0, 1);
		if (x->timers_due && synq_counter(x->srv, SYNQ_C_TCP_TIMEOUTS) > x->snap[SYNQ_C_TCP_TIMEOUTS] &&
		    e->n_delta < LAB_MAX_DELTA) {
			x->snap[SYNQ_C_TCP_TIMEOUTS]++;
			e->delta[e->n_delta].id = SYNQ_C_TCP_TIMEOUTS;
			e->delta[e->n_delta].n = 1;
			e->n_delta++;
		}
		if ((e = rec_new(x, LAB_STATE, now))) {
			e->conn = k;
			e->state = SYNQ_TCP_CLOSE;
		}
		break;
	case SYNQ_EV_STATE:
		if (ev->fd == x->lfd || !k)
			return;
		e = rec_new(x, LAB_STATE, now);
		if (!e)
			return;
		e->conn = k;
		e->state = ev->state;
		break;
	case SYNQ_EV_LOG:
		e = rec_new(x, LAB_NOTE, now);
		if (!e)
			return;
		snprintf(e->code, sizeof(e->code), "log");
		snprintf(e->text, sizeof(e->text), "kernel log: %s", ev->reason ? ev->reason : "");
		fill_queue(x, e); /* its counter goes with the decision that follows */
		break;
	default:
		return;
	}
	check_queue(x, now);
}

static void app_rec(struct ctx *x, uint64_t now, int at, int conn, const char *call, long ret)
{
	struct lab_rec *e = rec_new(x, LAB_APP, now);
	if (!e)
		return;
	e->at = at;
	e->conn = conn;
	snprintf(e->call, sizeof(e->call), "%s", call);
	e->ret = ret < 0 ? -1 : ret;
	e->err = ret < 0 ? (int)-ret : 0;
}

static void cli_event(void *user, const struct synq_event *ev)
{
	struct ctx *x = user;
	int k = conn_of_port(x, ev->laddr, ev->lport);
	if (!k)
		return;
	struct lab_rec *e;
	switch (ev->kind) {
	case SYNQ_EV_STATE:
		if ((e = rec_new(x, LAB_STATE, ev->now_ns))) {
			e->at = e->conn = k;
			e->state = ev->state;
		}
		break;
	case SYNQ_EV_CONNECTED:
		x->c[k].connected = 1;
		app_rec(x, ev->now_ns, k, k, "connect", 0);
		break;
	case SYNQ_EV_DROP:
		if (!ev->code || !ev->code[0])
			return;
		if ((e = rec_new(x, LAB_DECIDE, ev->now_ns))) {
			e->at = e->conn = k;
			copy_why(e, ev);
			if (ev->counter >= 0 && !lab_counter_boring(ev->counter)) {
				e->delta[0].id = ev->counter;
				e->delta[0].n = 1;
				e->n_delta = 1;
			}
		}
		break;
	default:
		break;
	}
}

static void tap(void *user, int event, int from, int to, const uint8_t *pkt, size_t len,
		uint64_t now)
{
	struct ctx *x = user;
	struct synq_seg g;
	if (wire_parse(pkt, len, &g) != WIRE_OK)
		return;
	int c2s = from == x->cli_node;
	int k = c2s ? conn_of_port(x, g.saddr, g.sport) : conn_of_port(x, g.daddr, g.dport);
	struct fifo *f = &x->q[c2s ? 0 : 1];
	if (event == VNET_DELIVERED) {
		if (f->head < f->tail)
			x->res->rec[f->v[f->head++]].arr_ns = rel(now);
		if (to == x->srv_node) {
			/* what the previous packet moved without an event belongs to it */
			flush_note(x, x->cause_t, x->cause_conn, 0);
			x->cause_conn = k;
			x->cause_t = now;
			x->last_drop = 0;
		}
		return;
	}
	if (event == VNET_LOST || event == VNET_UNROUTABLE) {
		if (f->tail > f->head && event == VNET_LOST) {
			size_t i = f->v[--f->tail];
			x->res->rec[i].lost = 1;
		}
		return;
	}
	if (event != VNET_SENT)
		return;
	struct lab_rec *e = rec_new(x, LAB_PKT, now);
	if (!e)
		return;
	e->conn = k;
	e->from = c2s ? k : 0;
	e->to = c2s ? 0 : k;
	e->at = e->from;
	char *fl = e->flags;
	if (g.flags & TCP_FIN) *fl++ = 'F';
	if (g.flags & TCP_SYN) *fl++ = 'S';
	if (g.flags & TCP_RST) *fl++ = 'R';
	if (g.flags & TCP_PSH) *fl++ = 'P';
	if (g.flags & TCP_ACK) *fl++ = '.';
	if (g.flags & TCP_URG) *fl++ = 'U';
	if (g.flags & TCP_ECE) *fl++ = 'E';
	if (g.flags & TCP_CWR) *fl++ = 'W';
	if (fl == e->flags)
		memcpy(fl, "none", 5);
	else
		*fl = 0;
	e->seq = g.seq;
	e->ack = g.ack;
	e->has_ack = (g.flags & TCP_ACK) != 0;
	e->len = g.len;
	e->win = g.window;
	if (k) {
		struct client *c = &x->c[k];
		int syn = (g.flags & TCP_SYN) != 0, ack = (g.flags & TCP_ACK) != 0;
		if (c2s && syn && !ack && (!c->have_c || c->cisn != g.seq)) {
			c->cisn = g.seq;
			c->have_c = 1;
			c->have_s = 0;
		}
		if (!c2s && syn && ack && !c->have_s) {
			c->sisn = g.seq;
			c->have_s = 1;
		}
		int mine = c2s ? c->have_c : c->have_s, other = c2s ? c->have_s : c->have_c;
		if (mine)
			e->seq = g.seq - (c2s ? c->cisn : c->sisn);
		if (other && e->has_ack)
			e->ack = g.ack - (c2s ? c->sisn : c->cisn);
		if (syn && !ack)
			e->nth = ++c->n_syn;
		else if (syn)
			e->nth = ++c->n_synack;
	}
	fifo_push(x, f, x->res->n - 1);
}

/* ---- applications ----------------------------------------------------------------------------- */
static void client_connect(struct ctx *x, int k, uint64_t now)
{
	struct client *c = &x->c[k];
	c->started = 1;
	c->call_ns = now;
	int fd = synq_socket(x->cli);
	if (fd < 0) {
		app_rec(x, now, k, k, "socket", fd);
		c->done = 1;
		return;
	}
	c->fd = fd;
	struct synq_addr a = {LAB_CLI_IP, (uint16_t)(LAB_CLI_PORT0 + k)};
	int rc = synq_bind(x->cli, fd, &a);
	struct synq_addr s = {LAB_SRV_IP, LAB_SRV_PORT};
	if (rc == 0)
		rc = synq_connect(x->cli, fd, &s, now);
	app_rec(x, now, k, k, "connect", rc);
	if (rc != -EINPROGRESS && rc != 0) {
		synq_close(x->cli, fd, now);
		c->done = 1;
	}
}

static void client_fail(struct ctx *x, int k, uint64_t now)
{
	struct client *c = &x->c[k];
	char b[64];
	if (!c->connected) { /* the non-blocking connect's result, as SO_ERROR reports it */
		int e = 0;
		size_t l = sizeof(e);
		synq_getsockopt(x->cli, c->fd, SYNQ_SOL_SOCKET, SYNQ_SO_ERROR, &e, &l);
		app_rec(x, now, k, k, "connect", e ? -(long)e : -(long)ETIMEDOUT);
	} else {
		long n = synq_read(x->cli, c->fd, b, sizeof(b), now);
		app_rec(x, now, k, k, "read", n);
		n = synq_write(x->cli, c->fd, "x", 1, now);
		app_rec(x, now, k, k, "write", n);
	}
	app_rec(x, now, k, k, "close", synq_close(x->cli, c->fd, now));
	c->done = 1;
}

static void app_act(struct ctx *x, uint64_t now)
{
	const struct lab_params *p = x->p;
	for (int k = 1; k <= x->n; k++)
		if (!x->c[k].started && x->c[k].connect_at <= now)
			client_connect(x, k, now);
	/* the server */
	int want = 0;
	if (p->accept_mode == LAB_ACCEPT_AT && now >= LAB_EPOCH_NS + (uint64_t)llround(p->accept_sec * 1e9))
		x->accept_on = 1;
	if (x->accept_on)
		want = 1 << 30;
	if (p->accept_mode == LAB_ACCEPT_EVERY) {
		uint64_t step = (uint64_t)llround(p->accept_sec * 1e9);
		while (x->accept_next <= now) {
			want++;
			x->accept_next += step;
		}
	}
	while (want-- > 0) {
		struct synq_addr peer;
		int fd = synq_accept(x->srv, x->lfd, &peer);
		if (fd < 0) {
			if (p->accept_mode == LAB_ACCEPT_EVERY)
				app_rec(x, now, 0, 0, "accept", fd);
			break;
		}
		int k = conn_of_port(x, peer.ip, peer.port);
		app_rec(x, now, 0, k, "accept", fd);
		x->res->accepted++;
		if (k)
			x->acc_fd[k] = fd + 1;
	}
	for (int k = 1; k <= x->n; k++) {
		int fd = x->acc_fd[k] - 1;
		if (fd < 0)
			continue;
		int ev = synq_poll(x->srv, fd);
		if (ev < 0 || !(ev & (SYNQ_POLLIN | SYNQ_POLLERR)))
			continue;
		char b[2048];
		long n = synq_read(x->srv, fd, b, sizeof(b), now);
		if (n == -EAGAIN)
			continue;
		app_rec(x, now, 0, k, "read", n);
		if (n <= 0) {
			app_rec(x, now, 0, k, "close", synq_close(x->srv, fd, now));
			x->acc_fd[k] = 0;
		}
	}
	/* the clients */
	for (int k = 1; k <= x->n; k++) {
		struct client *c = &x->c[k];
		if (!c->started || c->done)
			continue;
		int ev = synq_poll(x->cli, c->fd);
		if (ev < 0)
			continue;
		if (ev & SYNQ_POLLERR) {
			client_fail(x, k, now);
			continue;
		}
		if (k > p->fill && p->send_bytes > 0 && !c->sent && c->connected &&
		    now >= c->call_ns + (uint64_t)llround(p->send_sec * 1e9)) {
			static const char data[65536];
			c->sent = 1;
			app_rec(x, now, k, k, "write",
				synq_write(x->cli, c->fd, data, (size_t)p->send_bytes, now));
		}
		if (ev & SYNQ_POLLIN) {
			char b[2048];
			long n = synq_read(x->cli, c->fd, b, sizeof(b), now);
			if (n == -EAGAIN)
				continue;
			app_rec(x, now, k, k, "read", n);
			if (n <= 0) {
				app_rec(x, now, k, k, "close", synq_close(x->cli, c->fd, now));
				c->done = 1;
			}
		}
	}
	check_queue(x, now);
}

/* the vnet app hook: after the instant's deliveries and timers */
static void hook(void *user, struct vnet *net, uint64_t now)
{
	struct ctx *x = user;
	if (x->timers_due) { /* split: timer counters to the timers, the rest to the last packet */
		flush_note(x, x->cause_t, x->cause_conn, 0);
		flush_note(x, now, 0, 1);
	} else {
		flush_note(x, x->cause_t, x->cause_conn, 0);
	}
	x->cause_conn = 0;
	x->cause_t = now;
	x->last_drop = 0;
	app_act(x, now);
	take_delta(x, NULL, 0, 0);
}

/* the earliest application action still to come; *essential: one that keeps the run going */
static uint64_t next_app(const struct ctx *x, uint64_t now, int *essential)
{
	const struct lab_params *p = x->p;
	uint64_t t = NONE;
	int ess = 0;
	for (int k = 1; k <= x->n; k++) {
		const struct client *c = &x->c[k];
		if (!c->started) {
			t = c->connect_at < t ? c->connect_at : t;
			ess = 1;
		} else if (k > p->fill && p->send_bytes > 0 && !c->sent && !c->done && c->connected) {
			uint64_t d = c->call_ns + (uint64_t)llround(p->send_sec * 1e9);
			d = d < now ? now : d;
			t = d < t ? d : t;
			ess = 1;
		}
	}
	if (p->accept_mode == LAB_ACCEPT_AT && !x->accept_on) {
		uint64_t a = LAB_EPOCH_NS + (uint64_t)llround(p->accept_sec * 1e9);
		t = a < t ? a : t;
		ess = 1;
	}
	if (p->accept_mode == LAB_ACCEPT_EVERY) {
		t = x->accept_next < t ? x->accept_next : t;
		struct synq_sock_info in;
		if (synq_sock_info(x->srv, x->lfd, &in) == 0 && in.recvq > 0)
			ess = 1;
	}
	*essential = ess;
	return t;
}

static synq_stack *mkstack(struct ctx *x, uint32_t ip, const char *const *set, int nset,
			   uint64_t *rng, synq_event_fn fn, int socks, int reqs)
{
	struct synq_config cfg;
	synq_config_init(&cfg);
	cfg.local_addrs[0] = ip;
	cfg.n_local_addrs = 1;
	char b[64];
	snprintf(b, sizeof(b), "net.synq.max_sockets=%d", socks);
	synq_config_set(&cfg, b);
	snprintf(b, sizeof(b), "net.synq.max_requests=%d", reqs);
	synq_config_set(&cfg, b);
	for (int i = 0; i < nset; i++) {
		int rc = synq_config_set(&cfg, set[i]);
		if (rc) {
			snprintf(x->res->err, sizeof(x->res->err), "%s: %s", set[i],
				 rc == -ENOENT ? "unknown knob" : "bad value");
			x->err = -EINVAL;
			return NULL;
		}
	}
	cfg.rand = rnd;
	cfg.rand_user = rng;
	cfg.on_event = fn;
	cfg.event_user = x;
	synq_stack *s = NULL;
	int rc = synq_stack_new(&cfg, LAB_EPOCH_NS - S_NS, &s);
	if (rc) {
		snprintf(x->res->err, sizeof(x->res->err), "cannot create a stack: %s", strerror(-rc));
		x->err = rc;
		return NULL;
	}
	return s;
}

static void free_ctx(struct ctx *x)
{
	vnet_free(x->net);
	synq_stack_free(x->srv);
	synq_stack_free(x->cli);
	free(x->q[0].v);
	free(x->q[1].v);
	free(x);
}

int lab_run(const struct lab_params *p, struct lab_result *res)
{
	memset(res, 0, sizeof(*res));
	res->p = *p;
	struct ctx *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->res = res;
	x->p = &res->p;
	x->n = p->fill + p->burst;
	res->n_clients = x->n;
	if (x->n < 1 || x->n > LAB_MAX_CLIENTS) {
		snprintf(res->err, sizeof(res->err), "want 1..%d clients", LAB_MAX_CLIENTS);
		free(x);
		return -EINVAL;
	}
	x->rng_s = 2 * p->seed - 1;
	x->rng_c = 2 * p->seed;
	x->srv = mkstack(x, LAB_SRV_IP, p->srv_set, p->n_srv_set, &x->rng_s, srv_event, x->n + 16,
			 x->n + 64);
	if (x->srv)
		x->cli = mkstack(x, LAB_CLI_IP, p->cli_set, p->n_cli_set, &x->rng_c, cli_event,
				 x->n + 8, 16);
	if (!x->srv || !x->cli) {
		int rc = x->err;
		free_ctx(x);
		return rc;
	}
	x->net = vnet_new(LAB_EPOCH_NS);
	if (!x->net) {
		free_ctx(x);
		return -ENOMEM;
	}
	x->srv_node = vnet_add(x->net, x->srv, "server");
	x->cli_node = vnet_add(x->net, x->cli, "clients");
	vnet_link(x->net, x->cli_node, x->srv_node, (uint64_t)llround(p->rtt_ms * 1e6), 0);
	if (p->loss_c2s)
		vnet_set_loss(x->net, x->cli_node, x->srv_node, p->loss_c2s);
	if (p->loss_s2c)
		vnet_set_loss(x->net, x->srv_node, x->cli_node, p->loss_s2c);
	vnet_set_tap(x->net, tap, x);
	vnet_set_app(x->net, hook, x);
	if (p->pcap_path) {
		int rc = vnet_pcap(x->net, x->srv_node, p->pcap_path, 0);
		if (rc) {
			snprintf(res->err, sizeof(res->err), "cannot write %s: %s", p->pcap_path,
				 strerror(-rc));
			free_ctx(x);
			return rc;
		}
	}
	x->lfd = synq_socket(x->srv);
	struct synq_addr la = {LAB_SRV_IP, LAB_SRV_PORT};
	synq_bind(x->srv, x->lfd, &la);
	synq_listen(x->srv, x->lfd, p->backlog);
	check_queue(x, LAB_EPOCH_NS);

	uint64_t gap = (uint64_t)llround(p->fill_gap_ms * 1e6);
	for (int k = 1; k <= x->n; k++)
		x->c[k].connect_at = LAB_EPOCH_NS + (k <= p->fill ? (uint64_t)(k - 1) * gap
								: (uint64_t)p->fill * gap);
	if (p->accept_mode == LAB_ACCEPT_EVERY)
		x->accept_next = LAB_EPOCH_NS + (uint64_t)llround(p->accept_sec * 1e9);

	double bound_s = p->duration_s > 0 ? p->duration_s : LAB_IDLE_BOUND_S;
	uint64_t end = LAB_EPOCH_NS + (uint64_t)llround(bound_s * 1e9);
	int rc = 0;
	for (;;) {
		if (x->err) {
			rc = x->err;
			break;
		}
		rc = vnet_flush(x->net);
		if (rc < 0)
			break;
		rc = 0;
		uint64_t now = vnet_now(x->net);
		uint64_t tn = vnet_next_event(x->net);
		int ess;
		uint64_t ta = next_app(x, now, &ess);
		if (tn == NONE && !ess && p->duration_s <= 0) {
			res->idle = 1;
			break;
		}
		uint64_t t = tn < ta ? tn : ta;
		if (t > end)
			break;
		if (ta < tn) {
			rc = vnet_run_until(x->net, ta);
			if (rc < 0)
				break;
			x->timers_due = 0;
			hook(x, x->net, ta);
		} else {
			x->timers_due = synq_next_deadline(x->srv) <= tn;
			rc = vnet_step(x->net, tn);
			if (rc < 0)
				break;
		}
		rc = 0;
	}
	if (rc == 0 && !res->idle && vnet_now(x->net) < end)
		rc = vnet_run_until(x->net, end) < 0 ? -EIO : 0;
	if (rc == 0) {
		flush_note(x, x->cause_t, x->cause_conn, 0);
		vnet_flush(x->net);
	}
	if (rc == 0 && x->err)
		rc = x->err;
	res->end_ns = rel(vnet_now(x->net));
	for (int id = 0; id < SYNQ_COUNTER_COUNT; id++) {
		res->srv_ctr[id] = synq_counter(x->srv, id);
		res->cli_ctr[id] = synq_counter(x->cli, id);
	}
	struct synq_sock_info in;
	if (synq_sock_info(x->srv, x->lfd, &in) == 0) {
		res->final_a = in.recvq;
		res->final_m = in.sendq;
		res->final_q = in.synq_len;
	}
	for (int k = 1; k <= x->n; k++)
		if (x->c[k].started && !x->c[k].done && synq_sock_info(x->cli, x->c[k].fd, &in) == 0)
			res->cli_state[k] = in.state;
	if (rc == 0 && p->pcap_path) {
		int prc = vnet_pcap(x->net, x->srv_node, NULL, 0);
		if (prc) {
			snprintf(res->err, sizeof(res->err), "writing %s: %s", p->pcap_path,
				 strerror(-prc));
			rc = -EIO;
		}
	}
	if (rc && !res->err[0])
		snprintf(res->err, sizeof(res->err), "the run failed: %s", strerror(-rc));
	free_ctx(x);
	if (rc) {
		free(res->rec);
		res->rec = NULL;
		res->n = res->cap = 0;
	}
	return rc;
}

void lab_result_free(struct lab_result *res)
{
	if (!res)
		return;
	free(res->rec);
	res->rec = NULL;
	res->n = res->cap = 0;
}
