/*
 * lab.c — the experiments of `synq lab`: presets, option parsing and the run (see lab.h).
 *
 * The run drives one server stack and one client host on the virtual network (vnet.h) and records
 * everything as it happens: the tap gives the packets (send time, then delivery time), the
 * stacks' on_event hooks give the listener's decisions (SYNQ_EV_DROP, DECISION, REQ_NEW,
 * REQ_GONE, ACCEPTABLE), state changes and connection results, the vnet app hook plays the
 * applications. Counters: a snapshot of the server's counters is taken before each packet enters
 * the server, and at each server event the difference since the last snapshot is the set of
 * counters that event bumped (plus the event's own counter when the engine bumps it right after
 * the event). What still moves without an event becomes a "counters" note.
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
    {"flood", "20000 spoofed SYNs at 4000/s while two real clients connect", "S7-c1",
     "listen(128), accept() as connections come; from 0.3 s on, 20000 SYNs from spoofed\n"
     "sources (10.77.1-80.x) arrive at 4000/s for 5 s; their SYN-ACKs go nowhere. The first 129\n"
     "(backlog+1) become requests that retransmit and expire; with tcp_syncookies=1 (the\n"
     "default) every later SYN gets a SYN cookie and nothing is stored, so c1 and c2 (2 s and\n"
     "6.5 s into the flood) connect at once. --set net.ipv4.tcp_syncookies=0 (S7-c0): later\n"
     "SYNs are dropped, c1 needs 6-7 SYNs, until the pruned requests expire (7 SYNs and 7.1 s\n"
     "with --kernel-timers, as the kernel); =2 (S7-c2): a cookie for every SYN, no request.\n"
     "The ladder sums the flood per second; the end shows the clients' success rate and connect\n"
     "latency, the queues' maxima and the engine's memory."},
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
	p->kernel = "6.18";
	p->flood_rate = 4000;
	p->flood_sources = 20000;
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
	} else if (!strcmp(name, "flood")) {
		/* kernel-truth S7-c1: the harness set tcp_max_syn_backlog=2048 (synq's default) */
		p->experiment = "flood";
		p->backlog = 128;
		p->fill = 2;
		p->burst = 0;
		p->fill_gap_ms = 4500;
		p->flood_at_s = 0.3;   /* the harness listened 0.3 s before the flood began */
		p->clients_at_s = 2.3; /* 2 s into the flood, then 6.5 s */
		p->rtt_ms = 0;
		p->accept_mode = LAB_ACCEPT_AT;
		p->accept_sec = 0;
		p->flood_count = 20000;
		p->flood_rate = 4000;
		p->flood_sources = 20000;
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
					 "pcap", "svg", "kernel", "flood-rate", "flood-sources",
					 "flood-count", "flood-at", "clients-rate", "clients-at", NULL};

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
			if (!strcmp(v, "6.18")) {
				p->kernel = "6.18";
			} else if (!strcmp(v, "3.10")) {
				/* the engine's 3.10 listen-queue rules, when it has them */
				if (check_set("net.synq.kernel_rules=310"))
					PERR("--kernel 3.10: this engine does not have the 3.10 rules yet "
					     "(not supported yet; synq follows Linux 6.18)");
				p->kernel = "3.10";
			} else {
				PERR("--kernel %s: want 6.18 or 3.10", v);
			}
		} else if (!strcmp(name, "kernel-timers")) {
			p->kernel_timers = 1;
		} else if (!strcmp(name, "flood-rate") || !strcmp(name, "clients-rate")) {
			char b[32];
			size_t n = strlen(v);
			if (n >= 2 && !strcmp(v + n - 2, "/s"))
				n -= 2;
			if (n >= sizeof(b))
				n = sizeof(b) - 1;
			memcpy(b, v, n);
			b[n] = 0;
			if (parse_num(b, 0.001, 1e6, &d))
				PERR("--%s %s: want N or N/s, 0.001..1000000 per second", name, v);
			if (name[0] == 'f')
				p->flood_rate = d;
			else
				p->fill_gap_ms = 1000.0 / d;
		} else if (!strcmp(name, "flood-sources")) {
			if (parse_long(v, 1, 62500, &l))
				PERR("--flood-sources %s: want 1..62500", v);
			p->flood_sources = l;
		} else if (!strcmp(name, "flood-count")) {
			if (parse_long(v, 0, 1000000, &l))
				PERR("--flood-count %s: want 0..1000000", v);
			p->flood_count = l;
		} else if (!strcmp(name, "flood-at")) {
			if (parse_num(v, 0, 86400, &d))
				PERR("--flood-at %s: want seconds, 0..86400", v);
			p->flood_at_s = d;
		} else if (!strcmp(name, "clients-at")) {
			if (parse_num(v, 0, 86400, &d))
				PERR("--clients-at %s: want seconds, 0..86400", v);
			p->clients_at_s = d;
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
	if (p->kernel && !strcmp(p->kernel, "3.10")) {
		if (p->n_srv_set >= LAB_MAX_SETS)
			PERR("--kernel: at most %d --set", LAB_MAX_SETS);
		p->srv_set[p->n_srv_set++] = "net.synq.kernel_rules=310";
	}
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
	uint64_t est_ns;     /* when it connected (absolute) */
	uint32_t cisn, sisn;
	int have_c, have_s;
	int n_syn, n_synack;
};

struct fifo {
	size_t *v;
	size_t head, tail, cap;
};

#define FLOOD_WINDOW_NS (200 * MS) /* spoofed SYNs are injected this far ahead of their time */

struct ctx {
	struct lab_result *res;
	const struct lab_params *p;
	struct vnet *net;
	synq_stack *srv, *cli;
	int srv_node, cli_node;
	int lfd;
	uint64_t rng_s, rng_c, rng_f;
	int n;
	struct client c[LAB_MAX_CLIENTS + 1];
	struct fifo q[2]; /* 0: client->server, 1: server->client; record indices in flight */
	uint64_t snap[SYNQ_COUNTER_COUNT];
	int cause_conn;       /* the last packet delivered to the server */
	uint64_t cause_t;
	uint32_t qa, qm, qq;
	int have_q;
	int accept_on;
	uint64_t accept_next;
	int acc_fd[LAB_MAX_CLIENTS + 1]; /* server fd of ck once accepted (0: none) */
	/* the flood */
	long f_next;          /* the next spoofed SYN to inject */
	int f_open;           /* a second of flood being summed in f */
	int f_emitting;
	struct lab_rec f;
	int64_t f_ctr[SYNQ_COUNTER_COUNT];
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

static void flood_emit(struct ctx *x, uint64_t rel_t);

static struct lab_rec *rec_new(struct ctx *x, int kind, uint64_t abs_ns)
{
	struct lab_result *r = x->res;
	if (x->err)
		return NULL;
	/* the flood's second ends before this record: its summary goes first */
	if (x->f_open && !x->f_emitting && rel(abs_ns) >= x->f.from_ns + S_NS)
		flood_emit(x, x->f.from_ns + S_NS);
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

static void add_delta(struct lab_rec *e, int id, int64_t d)
{
	for (int i = 0; i < e->n_delta; i++)
		if (e->delta[i].id == id) {
			e->delta[i].n += d;
			return;
		}
	if (e->n_delta < LAB_MAX_DELTA) {
		e->delta[e->n_delta].id = id;
		e->delta[e->n_delta].n = d;
		e->n_delta++;
	}
}

/* counters that moved since the last snapshot (the interesting ones into e, all of them into
 * sum), new snapshot; returns 1 if an interesting one moved */
static int take_delta(struct ctx *x, struct lab_rec *e, int64_t *sum)
{
	int any = 0;
	for (int id = 0; id < SYNQ_COUNTER_COUNT; id++) {
		uint64_t v = synq_counter(x->srv, id);
		int64_t d = (int64_t)(v - x->snap[id]);
		if (!d)
			continue;
		x->snap[id] = v;
		if (sum)
			sum[id] += d;
		if (lab_counter_boring(id))
			continue;
		any = 1;
		if (e)
			add_delta(e, id, d);
	}
	return any;
}

/* the engine bumps some counters right after the event that announces them (a retransmitted
 * SYN-ACK's TCPSynRetrans and RetransSegs, an RST's OutRsts): count them with the event */
static void pre_count(struct ctx *x, struct lab_rec *e, int64_t *sum, int id)
{
	if (id < 0 || id >= SYNQ_COUNTER_COUNT)
		return;
	for (int i = 0; i < e->n_delta; i++)
		if (e->delta[i].id == id)
			return;
	x->snap[id]++;
	if (sum)
		sum[id]++;
	if (!lab_counter_boring(id))
		add_delta(e, id, 1);
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
	struct lab_flood_summary *fs = &x->res->flood;
	fs->max_synq = in.synq_len > fs->max_synq ? in.synq_len : fs->max_synq;
	fs->max_recvq = in.recvq > fs->max_recvq ? in.recvq : fs->max_recvq;
	if (x->f_open && in.synq_len > x->f.f_maxq)
		x->f.f_maxq = in.synq_len;
	struct lab_rec *e = rec_new(x, LAB_QUEUE, now);
	if (e) {
		e->qa = in.recvq;
		e->qm = in.sendq;
		e->qq = in.synq_len;
	}
}

/* counters that moved with no engine event: a note on what caused them */
static void flush_note(struct ctx *x, uint64_t now, int conn)
{
	struct lab_rec tmp;
	memset(&tmp, 0, sizeof(tmp));
	if (!take_delta(x, &tmp, x->f_open && !conn ? x->f_ctr : NULL))
		return;
	if (x->f_open && !conn)
		return; /* the flood's: summed with its second */
	struct lab_rec *e = rec_new(x, LAB_NOTE, now);
	if (!e)
		return;
	e->conn = conn;
	fill_queue(x, e);
	snprintf(e->code, sizeof(e->code), "counters");
	snprintf(e->text, sizeof(e->text), "counters moved");
	e->n_delta = tmp.n_delta;
	memcpy(e->delta, tmp.delta, sizeof(e->delta));
}

/* ---- the flood's per-second summary ---------------------------------------------------------- */
static void flood_open(struct ctx *x, uint64_t now)
{
	uint64_t t = rel(now), t0 = (uint64_t)llround(x->p->flood_at_s * 1e9);
	if (x->f_open && t < x->f.from_ns + S_NS)
		return;
	if (x->f_open)
		flood_emit(x, x->f.from_ns + S_NS);
	memset(&x->f, 0, sizeof(x->f));
	memset(x->f_ctr, 0, sizeof(x->f_ctr));
	x->f.kind = LAB_FLOOD;
	x->f.from_ns = t < t0 ? t : t0 + (t - t0) / S_NS * S_NS;
	x->f.f_maxq = x->qq;
	x->f_open = 1;
}

static void flood_what(struct ctx *x, const char *code)
{
	struct lab_rec *f = &x->f;
	const char *c = code && code[0] ? code : "other";
	for (int i = 0; i < f->n_what; i++)
		if (!strcmp(f->what[i].code, c)) {
			f->what[i].n++;
			return;
		}
	if (f->n_what == LAB_FLOOD_KINDS) {
		c = "other";
		for (int i = 0; i < f->n_what; i++)
			if (!strcmp(f->what[i].code, c)) {
				f->what[i].n++;
				return;
			}
		snprintf(f->what[LAB_FLOOD_KINDS - 1].code, sizeof(f->what[0].code), "other");
		f->what[LAB_FLOOD_KINDS - 1].n++;
		return;
	}
	snprintf(f->what[f->n_what].code, sizeof(f->what[0].code), "%s", c);
	f->what[f->n_what++].n = 1;
}

/* the second being summed becomes a record, stamped rel_t (or now, if the run ends earlier) */
static void flood_emit(struct ctx *x, uint64_t rel_t)
{
	if (!x->f_open)
		return;
	/* counters still pending belong to the instant being processed, not to this second */
	x->f_emitting = 1;
	uint64_t now = x->net ? rel(vnet_now(x->net)) : rel_t;
	struct lab_rec *e = rec_new(x, LAB_FLOOD, LAB_EPOCH_NS + (rel_t < now ? rel_t : now));
	x->f_emitting = 0;
	x->f_open = 0;
	if (!e)
		return;
	uint64_t t = e->t_ns;
	*e = x->f;
	e->t_ns = t;
	e->arr_ns = NONE;
	e->qa = x->qa;
	e->qm = x->qm;
	e->qq = x->qq;
	e->n_delta = 0;
	for (int id = 0; id < SYNQ_COUNTER_COUNT; id++)
		if (x->f_ctr[id] && !lab_counter_boring(id))
			add_delta(e, id, x->f_ctr[id]);
	snprintf(e->code, sizeof(e->code), "flood");
}

/* ---- the stacks' events ----------------------------------------------------------------------- */
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
	case SYNQ_EV_DROP:
	case SYNQ_EV_DECISION:
	case SYNQ_EV_REQ_NEW:
	case SYNQ_EV_REQ_GONE:
	case SYNQ_EV_ACCEPTABLE:
		if (!k && x->p->flood_count > 0 && ev->raddr != 0) {
			/* about a spoofed SYN: summed per second */
			struct lab_rec tmp;
			memset(&tmp, 0, sizeof(tmp));
			flood_open(x, now);
			take_delta(x, &tmp, x->f_ctr);
			if (ev->kind == SYNQ_EV_DECISION || ev->kind == SYNQ_EV_DROP) {
				pre_count(x, &tmp, x->f_ctr, ev->counter);
				if (ev->code && (!strcmp(ev->code, "synack_rtx") || !strcmp(ev->code, "dup_syn")))
					pre_count(x, &tmp, x->f_ctr, SYNQ_C_TCP_RETRANS_SEGS);
			}
			flood_what(x, ev->code);
			break;
		}
		e = rec_new(x, ev->kind == SYNQ_EV_DROP || ev->kind == SYNQ_EV_REQ_GONE ? LAB_DROP
											: LAB_DECIDE,
			    now);
		if (!e)
			return;
		e->conn = k;
		copy_why(e, ev);
		fill_queue(x, e);
		/* one event per decision: ListenOverflows comes with its ListenDrops */
		take_delta(x, e, NULL);
		if (ev->kind == SYNQ_EV_DECISION || ev->kind == SYNQ_EV_DROP) {
			pre_count(x, e, NULL, ev->counter);
			if (ev->code && (!strcmp(ev->code, "synack_rtx") || !strcmp(ev->code, "dup_syn")))
				pre_count(x, e, NULL, SYNQ_C_TCP_RETRANS_SEGS);
		}
		if (ev->kind == SYNQ_EV_REQ_NEW || ev->kind == SYNQ_EV_REQ_GONE) {
			int st = ev->kind == SYNQ_EV_REQ_NEW ? SYNQ_TCP_SYN_RECV : SYNQ_TCP_CLOSE;
			if ((e = rec_new(x, LAB_STATE, now))) {
				e->conn = k;
				e->state = st;
			}
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
		x->c[k].est_ns = ev->now_ns;
		app_rec(x, ev->now_ns, k, k, "connect", 0);
		break;
	case SYNQ_EV_DROP:
	case SYNQ_EV_DECISION:
		if (!ev->code || !ev->code[0])
			return;
		if ((e = rec_new(x, LAB_DECIDE, ev->now_ns))) {
			e->at = e->conn = k;
			copy_why(e, ev);
			if (ev->counter >= 0 && !lab_counter_boring(ev->counter))
				add_delta(e, ev->counter, 1);
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
	if (from < 0) { /* a spoofed SYN (vnet_inject) */
		if (event == VNET_DELIVERED) {
			flush_note(x, x->cause_t, x->cause_conn);
			x->cause_conn = 0;
			x->cause_t = now;
			flood_open(x, now);
			x->f.f_in++;
			x->res->flood.flood_sent++;
		}
		return;
	}
	int c2s = from == x->cli_node;
	int k = c2s ? conn_of_port(x, g.saddr, g.sport) : conn_of_port(x, g.daddr, g.dport);
	if (!c2s && !k) { /* the server's answer to a spoofed source: goes nowhere */
		if (event == VNET_SENT) {
			flood_open(x, now);
			if ((g.flags & TCP_SYN) && (g.flags & TCP_ACK))
				x->f.f_synack++;
			else if (g.flags & TCP_RST)
				x->f.f_rst++;
		}
		return;
	}
	struct fifo *f = &x->q[c2s ? 0 : 1];
	if (event == VNET_DELIVERED) {
		if (f->head < f->tail)
			x->res->rec[f->v[f->head++]].arr_ns = rel(now);
		if (to == x->srv_node) {
			/* what the previous packet moved without an event belongs to it */
			flush_note(x, x->cause_t, x->cause_conn);
			x->cause_conn = k;
			x->cause_t = now;
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

/* ---- the flood's packets ----------------------------------------------------------------------- */
static uint64_t flood_time(const struct ctx *x, long i)
{
	return LAB_EPOCH_NS + (uint64_t)llround(x->p->flood_at_s * 1e9) +
	       (uint64_t)llround((double)i * 1e9 / x->p->flood_rate);
}

/* inject the spoofed SYNs due before now + FLOOD_WINDOW_NS (as gt_synflood builds them: MSS 1460,
 * SACK, TS, WS 7, window 64240, random ISN) */
static void flood_inject(struct ctx *x, uint64_t now)
{
	const struct lab_params *p = x->p;
	while (x->f_next < p->flood_count && flood_time(x, x->f_next) < now + FLOOD_WINDOW_NS) {
		long i = x->f_next++;
		long j = i % p->flood_sources;
		struct synq_seg g;
		memset(&g, 0, sizeof(g));
		g.saddr = (10u << 24) | (77u << 16) | ((uint32_t)(1 + (j / 250) % 250) << 8) |
			  (uint32_t)(1 + j % 250);
		g.daddr = LAB_SRV_IP;
		g.ttl = 64;
		g.ip_id = (uint16_t)i;
		g.sport = (uint16_t)(20000 + i % 40000);
		g.dport = LAB_SRV_PORT;
		rnd(&x->rng_f, &g.seq, sizeof(g.seq));
		g.flags = TCP_SYN;
		g.window = 64240;
		g.opt.present = OPT_MSS | OPT_SACK_PERM | OPT_TS | OPT_WSCALE;
		g.opt.mss = 1460;
		g.opt.wscale = 7;
		g.opt.tsval = 1000000u + (uint32_t)i;
		uint8_t b[128];
		size_t n = wire_emit(&g, b, sizeof(b));
		uint64_t t = flood_time(x, i);
		int rc = n ? vnet_inject(x->net, x->srv_node, b, n, t < now ? now : t) : -EINVAL;
		if (rc) {
			x->err = rc;
			return;
		}
	}
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
	flood_inject(x, now);
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
	flush_note(x, x->cause_t, x->cause_conn);
	x->cause_conn = 0;
	x->cause_t = now;
	app_act(x, now);
	flush_note(x, now, 0);
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
	if (x->f_next < p->flood_count) {
		uint64_t f = flood_time(x, x->f_next);
		f = f > now + FLOOD_WINDOW_NS / 2 ? f - FLOOD_WINDOW_NS / 2 : now;
		t = f < t ? f : t;
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
	if (x->p->kernel_timers) {
		snprintf(b, sizeof(b), "net.synq.timer_hz=%d", LAB_KERNEL_HZ);
		if (synq_config_set(&cfg, b)) {
			snprintf(x->res->err, sizeof(x->res->err), "%s: unknown knob", b);
			x->err = -EINVAL;
			return NULL;
		}
	}
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

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* nearest-rank percentile of n sorted values */
static double pct(const double *v, int n, double q)
{
	if (n <= 0)
		return 0;
	int r = (int)ceil(q * n);
	r = r < 1 ? 1 : r > n ? n : r;
	return v[r - 1];
}

static void summarize(struct ctx *x)
{
	struct lab_flood_summary *f = &x->res->flood;
	double lat[LAB_MAX_CLIENTS];
	int n = 0;
	f->legit_total = x->n;
	for (int k = 1; k <= x->n; k++)
		if (x->c[k].connected)
			lat[n++] = (double)(x->c[k].est_ns - x->c[k].call_ns) / 1e6;
	f->legit_ok = n;
	qsort(lat, (size_t)n, sizeof(lat[0]), cmp_double);
	f->connect_p50_ms = pct(lat, n, 0.50);
	f->connect_p99_ms = pct(lat, n, 0.99);
	f->peak_bytes = synq_stack_memory(x->srv);
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
	x->rng_f = 3 * p->seed + 12345;
	/* the request pool: the SYN queue's bound (at most 2 M with the 3.10 rules) and the clients */
	long bl = p->backlog < 0 ? 0 : p->backlog > 32768 ? 32768 : p->backlog;
	x->srv = mkstack(x, LAB_SRV_IP, p->srv_set, p->n_srv_set, &x->rng_s, srv_event, x->n + 16,
			 (int)(2 * bl + x->n + 64));
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
	uint64_t c0 = LAB_EPOCH_NS + (uint64_t)llround(p->clients_at_s * 1e9);
	for (int k = 1; k <= x->n; k++)
		x->c[k].connect_at = c0 + (k <= p->fill ? (uint64_t)(k - 1) * gap : (uint64_t)p->fill * gap);
	if (p->flood_count > 0 && !(p->flood_rate > 0)) {
		snprintf(res->err, sizeof(res->err), "--flood-rate must be positive");
		free_ctx(x);
		return -EINVAL;
	}
	flood_inject(x, LAB_EPOCH_NS);
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
			hook(x, x->net, ta);
		} else {
			rc = vnet_step(x->net, tn);
			if (rc < 0)
				break;
		}
		rc = 0;
	}
	if (rc == 0 && !res->idle && vnet_now(x->net) < end)
		rc = vnet_run_until(x->net, end) < 0 ? -EIO : 0;
	if (rc == 0) {
		flush_note(x, x->cause_t, x->cause_conn);
		vnet_flush(x->net);
		flush_note(x, vnet_now(x->net), 0);
		flood_emit(x, rel(vnet_now(x->net)));
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
	summarize(x);
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
