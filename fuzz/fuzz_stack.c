/*
 * fuzz_stack.c — libFuzzer target over the whole engine (lwIP-style: the input is a script that
 * interleaves time steps, packets and socket calls).
 *
 * Setup: one stack owning 10.0.0.1, a listener on 10.0.0.1:8080 (small backlog) and a client
 * socket connecting out to 10.0.0.2:80, so both the passive and the active side are present.
 * The first two input bytes choose knobs (cookies, abort_on_overflow, timestamps, SACK, window
 * scaling, ring/buffer/pool sizes, backlog, SYN-ACK retries, TCP_DEFER_ACCEPT, MTU, and the
 * harness's rand/alloc hooks or the engine's defaults).
 *
 * Then one op per step, opcode = byte & 7, modifier bits = byte >> 3:
 *   0 TIME     u16: advance the clock by v ms, or (v & 0x8000) by (v & 0x7fff) s; timers fire
 *              in deadline order on the way (as an event loop would)
 *   1 RAW      u16 length + bytes: fed to synq_input as they are; modifier bit 0: fix both
 *              checksums first, bit 1: force the destination to 10.0.0.1
 *   2 SEGMENT  a well-formed segment from one of the known peers (see seg_op): seq/ack are
 *              relative to what the stack has sent (its ISN, its ACK), learned from its output,
 *              so the fuzzer completes handshakes and moves data
 *   3 SOCKET   accept, read, write, close, shutdown, setsockopt, getsockopt, poll, connect,
 *              listen, re-listen, introspection, runtime sysctls (see sock_op)
 *   4 LOOPBACK deliver the stack's packets addressed to itself (a connect to 10.0.0.1), held
 *              back since they were sent; a mask byte loses some; modifier bit 0: one
 *              synq_output() into a buffer of mask bytes instead (-ENOBUFS)
 *   5          modifier bit 0: ICMP   an ICMP error from a router quoting a known 4-tuple (see
 *              icmp_op: B11 on requests, connects and connected sockets); otherwise SEGMENT
 *   7          a small time step (1..32 ms, from the modifier bits)
 * After every step the output is drained: each packet must parse (wire_parse), come from
 * 10.0.0.1 and fit the MTU; then invariants are checked (CHECK): the deadline is in the future
 * once timers ran, the listener's accept queue A <= M + 1 and SYN queue Q <= M + 1 (+ TIME-WAIT
 * recycling), Y <= Q, synq_requests() agrees with Q, TcpCurrEstab matches the sockets in
 * ESTABLISHED/CLOSE-WAIT. Everything is freed at the end; the alloc hook checks no byte leaks.
 *
 * FUZZ_STACK_TRACE=1 in the environment prints every op and packet (to replay a crash input:
 * build/fuzz/fuzz_stack FILE). Seeds: fuzz/corpus/stack/, made by fuzz/stack_seeds.c.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                             \
	do {                                                                                 \
		if (!(c)) {                                                                  \
			fprintf(stderr, "fuzz_stack: %s:%d: check failed: %s (step %u)\n",   \
				__FILE__, __LINE__, #c, F.step);                             \
			abort();                                                             \
		}                                                                            \
	} while (0)

#define LOCAL_IP 0x0a000001u  /* 10.0.0.1 */
#define REMOTE_IP 0x0a000002u /* 10.0.0.2: the client socket's server */
#define LISTEN_PORT 8080
#define NS_MS 1000000ull
#define NS_S 1000000000ull

#define N_PASSIVE 8 /* peers 10.0.1.k:40000+k connecting to 8080 */
#define N_TUPLES 16 /* plus active opens learned from the output */
#define N_FDS 8
#define N_LOOP 16 /* held-back packets addressed to ourselves */
#define PKT_MAX 9100

/* What the fuzzer (the peers) knows of one 4-tuple, learned from the stack's output. */
struct tuple {
	int used;
	uint32_t peer_ip;
	uint16_t peer_port, local_port;
	uint32_t peer_isn;
	int have_isn, have_ack;
	uint32_t stack_isn, stack_nxt; /* the stack's ISN, its highest seq + seqlen */
	uint32_t stack_ack;           /* the last ACK number the stack sent: our next seq */
	uint32_t stack_tsval;
	uint32_t tsval;               /* our clock */
};

struct fuzz {
	synq_stack *s;
	uint64_t now;
	uint32_t step;
	int mtu;
	int trace;
	int fds[N_FDS]; /* fds[0] = listener, fds[1] = the first client */
	int lfd;        /* the current listener (-1 after close) */
	uint32_t m_max; /* largest backlog M the listener had */
	struct tuple t[N_TUPLES];
	int n_loop; /* packets held in loop[] */
	uint64_t allocs, frees;
	size_t live;
	uint64_t rng;
	int in_callback;
};

static struct fuzz F;
static uint8_t loop[N_LOOP][PKT_MAX];
static size_t loop_len[N_LOOP];
static uint8_t out_buf[65536];
static uint8_t pkt_buf[PKT_MAX];
static uint8_t io_buf[70000];

static void trace(const char *fmt, ...)
{
	if (!F.trace)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "[%u t=%llu.%09llu] ", F.step, (unsigned long long)(F.now / NS_S),
		(unsigned long long)(F.now % NS_S));
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void trace_seg(const char *dir, const struct synq_seg *g)
{
	if (!F.trace)
		return;
	char a[16], b[16], fl[9] = "", *p = fl;
	static const char names[] = "FSRPAUEC";
	for (int i = 0; i < 8; i++)
		if (g->flags & (1 << i))
			*p++ = names[i];
	*p = 0;
	trace("%s %s:%u > %s:%u [%s] seq %u ack %u win %u len %u%s", dir, wire_ip_str(g->saddr, a),
	      g->sport, wire_ip_str(g->daddr, b), g->dport, fl, g->seq, g->ack, g->window, g->len,
	      (g->opt.present & OPT_TS) ? " TS" : "");
}

/* ---- hooks ---------------------------------------------------------------------------------- */
static void rng_fill(void *user, void *buf, size_t len)
{
	uint64_t *x = user;
	uint8_t *p = buf;
	while (len) {
		uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		size_t n = len < 8 ? len : 8;
		memcpy(p, &z, n);
		p += n;
		len -= n;
	}
}

static void *count_alloc(void *user, size_t size)
{
	(void)user;
	void *p = calloc(1, size);
	if (p) {
		F.allocs++;
		F.live += size;
	}
	return p;
}

static void count_free(void *user, void *ptr, size_t size)
{
	(void)user;
	if (!ptr)
		return;
	F.frees++;
	CHECK(F.live >= size);
	F.live -= size;
	free(ptr);
}

static void on_event(void *user, const struct synq_event *ev)
{
	(void)user;
	CHECK(!F.in_callback);
	CHECK(ev->kind >= SYNQ_EV_CONNECTED && ev->kind <= 64);
	CHECK(ev->now_ns == F.now);
	if (ev->kind == SYNQ_EV_ERROR)
		CHECK(ev->err < 0);
	if (ev->kind == SYNQ_EV_STATE)
		CHECK(ev->state >= SYNQ_TCP_ESTABLISHED && ev->state <= SYNQ_TCP_CLOSING);
	if (ev->kind == SYNQ_EV_DROP)
		CHECK(ev->counter >= -1 && ev->counter < SYNQ_COUNTER_COUNT);
	if (F.trace && ev->kind != SYNQ_EV_DROP)
		trace("event %d fd %d state %s err %d %s", ev->kind, ev->fd,
		      ev->kind == SYNQ_EV_STATE ? synq_state_name(ev->state) : "-", ev->err,
		      ev->reason ? ev->reason : "");
}

/* ---- input reader --------------------------------------------------------------------------- */
struct rd {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct rd *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static uint16_t u16(struct rd *r)
{
	uint16_t hi = u8(r);
	return (uint16_t)(hi << 8 | u8(r));
}

static uint32_t u32(struct rd *r)
{
	uint32_t hi = u16(r);
	return hi << 16 | u16(r);
}

/* ---- tuples --------------------------------------------------------------------------------- */
static struct tuple *tuple_find(uint32_t peer_ip, uint16_t peer_port, uint16_t local_port)
{
	for (int i = 0; i < N_TUPLES; i++) {
		struct tuple *t = &F.t[i];
		if (t->used && t->peer_ip == peer_ip && t->peer_port == peer_port &&
		    t->local_port == local_port)
			return t;
	}
	return NULL;
}

static struct tuple *tuple_add(uint32_t peer_ip, uint16_t peer_port, uint16_t local_port)
{
	for (int i = N_PASSIVE; i < N_TUPLES; i++) {
		struct tuple *t = &F.t[i];
		if (!t->used) {
			memset(t, 0, sizeof(*t));
			t->used = 1;
			t->peer_ip = peer_ip;
			t->peer_port = peer_port;
			t->local_port = local_port;
			t->peer_isn = 0x70000000u + (uint32_t)i * 0x01000000u;
			t->tsval = 5000 + (uint32_t)i;
			return t;
		}
	}
	return NULL;
}

/* Learn from one packet the stack sent. */
static void learn(const struct synq_seg *g)
{
	struct tuple *t = tuple_find(g->daddr, g->dport, g->sport);
	if (!t && (g->flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN)
		t = tuple_add(g->daddr, g->dport, g->sport); /* an active open */
	if (!t)
		return;
	uint32_t end = g->seq + seg_seqlen(g);
	if (g->flags & TCP_SYN) {
		t->stack_isn = g->seq;
		t->stack_nxt = end;
		t->have_isn = 1;
	} else if (!t->have_isn || seq_gt(end, t->stack_nxt)) {
		if (!t->have_isn)
			t->stack_isn = g->seq - 1;
		t->have_isn = 1;
		t->stack_nxt = end;
	}
	if (g->flags & TCP_ACK) {
		t->stack_ack = g->ack;
		t->have_ack = 1;
	}
	if (g->opt.present & OPT_TS)
		t->stack_tsval = g->opt.tsval;
}

/* ---- output, invariants, timers ------------------------------------------------------------- */
/* One packet the stack sent (in out_buf): it must parse, come from us and fit the MTU. */
static void process_out(int n)
{
	struct synq_seg g;
	CHECK(wire_parse(out_buf, (size_t)n, &g) == WIRE_OK);
	CHECK(g.saddr == LOCAL_IP);
	CHECK(n <= F.mtu);
	trace_seg("out", &g);
	learn(&g);
	if (g.daddr == LOCAL_IP && F.n_loop < N_LOOP) {
		memcpy(loop[F.n_loop], out_buf, (size_t)n);
		loop_len[F.n_loop++] = (size_t)n;
	}
}

static void drain(void)
{
	for (int guard = 0;; guard++) {
		CHECK(guard < 1000000);
		int n = synq_output(F.s, out_buf, sizeof(out_buf), F.now);
		CHECK(n >= 0);
		if (n == 0)
			return;
		process_out(n);
	}
}

static void check_invariants(void)
{
	uint64_t dl = synq_next_deadline(F.s);
	CHECK(dl > F.now); /* run_timers() ran everything due */

	/* sockets: states, and TcpCurrEstab = ESTABLISHED + CLOSE-WAIT */
	uint64_t est = 0;
	int n = 0;
	for (int fd = synq_sock_next(F.s, -1); fd >= 0; fd = synq_sock_next(F.s, fd)) {
		struct synq_sock_info in;
		CHECK(synq_sock_info(F.s, fd, &in) == 0);
		CHECK(in.fd == fd);
		CHECK(in.state >= SYNQ_TCP_ESTABLISHED && in.state <= SYNQ_TCP_CLOSING);
		if (in.state == SYNQ_TCP_ESTABLISHED || in.state == SYNQ_TCP_CLOSE_WAIT)
			est++;
		CHECK(in.timer_ns == 0 || in.timer_ns >= dl);
		CHECK(++n <= 64);
		CHECK(synq_sock_next(F.s, fd) != fd);
	}
	CHECK(synq_counter(F.s, SYNQ_C_TCP_CURR_ESTAB) == est);

	/* the listener: B3/B4 bounds, queue bookkeeping */
	if (F.lfd >= 0) {
		struct synq_sock_info in;
		if (synq_sock_info(F.s, F.lfd, &in) == 0 && in.state == SYNQ_TCP_LISTEN) {
			if (in.sendq > F.m_max)
				F.m_max = in.sendq;
			CHECK(in.recvq <= (uint64_t)F.m_max + 1);
			CHECK(in.synq_len <= (uint64_t)F.m_max + 1 + synq_counter(F.s, SYNQ_C_TW));
			CHECK(in.young <= in.synq_len);
			CHECK(in.drops >= in.overflows);
			struct synq_req_info ri[4];
			int nr = synq_requests(F.s, F.lfd, ri, 4);
			CHECK(nr >= 0 && (uint32_t)nr == in.synq_len);
			for (int i = 0; i < nr && i < 4; i++) {
				CHECK(ri[i].local.port == in.local.port);
				CHECK(ri[i].expires_ns > F.now);
			}
			int pm = synq_poll(F.s, F.lfd);
			CHECK(pm == (in.recvq ? SYNQ_POLLIN : 0));
		}
	}
	CHECK(synq_counter(F.s, SYNQ_C_LISTEN_DROPS) >= synq_counter(F.s, SYNQ_C_LISTEN_OVERFLOWS));
}

/* Move the clock to `to`, firing timers at their deadlines on the way. */
static void advance(uint64_t to)
{
	for (int guard = 0;; guard++) {
		CHECK(guard < 200000);
		uint64_t dl = synq_next_deadline(F.s);
		if (dl > to)
			break;
		if (dl > F.now)
			F.now = dl;
		synq_on_timeout(F.s, F.now);
		drain();
		CHECK(synq_next_deadline(F.s) > F.now);
	}
	F.now = to;
	drain();
}

static void input(const uint8_t *p, size_t n)
{
	int rc = synq_input(F.s, p, n, F.now);
	CHECK(rc == 0 || rc == -EBADMSG || rc == -EADDRNOTAVAIL || rc == -EPROTONOSUPPORT);
}

/* ---- op 1: raw packet ----------------------------------------------------------------------- */
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

static void fix_packet(uint8_t *p, size_t size, int force_dst)
{
	if (size < 20)
		return;
	size_t ihl = (size_t)(p[0] & 15) * 4;
	if (ihl < 20 || ihl > size)
		return;
	if (force_dst)
		wire_enc32(p + 16, LOCAL_IP);
	p[10] = p[11] = 0;
	wire_enc16(p + 10, naive_csum(0, p, ihl));
	size_t tot = wire_dec16(p + 2);
	if (tot < ihl + 18 || tot > size)
		return;
	uint32_t sum = 0;
	for (int i = 12; i < 20; i += 2)
		sum += wire_dec16(p + i);
	sum += 6 + (uint32_t)(tot - ihl);
	p[ihl + 16] = p[ihl + 17] = 0;
	wire_enc16(p + ihl + 16, naive_csum(sum, p + ihl, tot - ihl));
}

static void raw_op(struct rd *r, unsigned mod)
{
	size_t n = u16(r);
	if (n > r->n)
		n = r->n;
	if (n > sizeof(pkt_buf))
		n = sizeof(pkt_buf);
	memcpy(pkt_buf, r->p, n);
	r->p += n;
	r->n -= n;
	if (mod & 3)
		fix_packet(pkt_buf, n, mod & 2);
	trace("raw %zu bytes", n);
	input(pkt_buf, n);
}

/* ---- op 2: a segment from a known peer ------------------------------------------------------ */
/* bytes: tuple, flags, mode, seq delta (i8), ack delta (i8), length, [mss/ws], [seq32], [ack32],
 *        [window], [payload]
 * mode: 0x01 SYN options (MSS, SACK_PERM, WS; one more byte b: MSS from b & 0x1f, WS b >> 4)
 *       0x02 timestamps            0x04 raw 32-bit seq     0x08 raw 32-bit ack
 *       0x10 payload from input    0x20 one SACK block
 *       0x40 bad timestamps (one more byte: TSval backwards for PAWS, TSecr off for B18)
 *       0x80 window from input (one byte, << 8; 0 = zero window)
 * seq = the stack's last ACK (what it expects) or our ISN before it sent one, + delta;
 * ack = the stack's highest seq + seqlen (everything it sent), + delta. */
static void seg_op(struct rd *r)
{
	uint8_t ti = u8(r), flags = u8(r), mode = u8(r);
	int8_t sd = (int8_t)u8(r), ad = (int8_t)u8(r);
	uint8_t lb = u8(r);
	struct tuple *t = &F.t[ti % N_TUPLES];
	if (!t->used)
		t = &F.t[ti % N_PASSIVE];

	struct synq_seg g;
	memset(&g, 0, sizeof(g));
	g.saddr = t->peer_ip;
	g.daddr = LOCAL_IP;
	g.sport = t->peer_port;
	g.dport = t->local_port;
	g.ttl = 64;
	g.flags = flags;
	g.window = 65535;
	uint32_t len = lb < 200 ? lb : (uint32_t)(lb - 199) * 128; /* up to 7168 bytes */
	if (mode & 0x01) {
		uint8_t b = u8(r);
		g.opt.present |= OPT_MSS | OPT_SACK_PERM | OPT_WSCALE;
		unsigned v = b & 0x1f; /* 0: 1460; 1..7: tiny (3..21); else 512..1984 */
		g.opt.mss = (uint16_t)(v == 0 ? 1460 : v < 8 ? v * 3 : v * 64);
		g.opt.wscale = b >> 4;
	}
	uint32_t seq = (t->have_ack ? t->stack_ack : t->peer_isn) + (uint32_t)(int32_t)sd;
	uint32_t ack = (t->have_isn ? t->stack_nxt : 0) + (uint32_t)(int32_t)ad;
	if (mode & 0x04)
		seq = u32(r);
	if (mode & 0x08)
		ack = u32(r);
	g.seq = seq;
	g.ack = (flags & TCP_ACK) ? ack : 0;
	if (mode & 0x80)
		g.window = (uint16_t)(u8(r) << 8);
	if (mode & 0x02) {
		t->tsval += 1 + (uint32_t)(F.now / NS_MS % 7);
		g.opt.present |= OPT_TS;
		g.opt.tsval = t->tsval;
		g.opt.tsecr = (flags & TCP_ACK) ? t->stack_tsval : 0;
		if (mode & 0x40) { /* one more byte x: TSval back by (x >> 4) << 28, TSecr moved */
			uint8_t x = u8(r);
			g.opt.tsval -= (uint32_t)(x >> 4) << 28;
			g.opt.tsecr += (uint32_t)(int32_t)((int8_t)(uint8_t)(x << 4) >> 4) * 1000u;
		}
	}
	if (mode & 0x20) {
		g.opt.present |= OPT_SACK;
		g.opt.n_sack = 1;
		g.opt.sack[0][0] = ack + 100;
		g.opt.sack[0][1] = ack + 1100;
	}
	static uint8_t payload[8192];
	if (len) {
		if (mode & 0x10) {
			size_t take = len < r->n ? len : r->n;
			memcpy(payload, r->p, take);
			memset(payload + take, 'p', len - take);
			r->p += take;
			r->n -= take;
		} else {
			for (uint32_t i = 0; i < len; i++)
				payload[i] = (uint8_t)('a' + (seq + i) % 26);
		}
		g.payload = payload;
		g.len = len;
	}
	size_t n = wire_emit(&g, pkt_buf, sizeof(pkt_buf));
	CHECK(n > 0);
	trace_seg("in ", &g);
	input(pkt_buf, n);
}

/* ---- op 5 (modifier bit 0): an ICMP error quoting a known tuple (B11) ------------------------ */
/* bytes: tuple, selector, seq delta (i8), mode, [type, code]
 * selector < 0x80: (type, code) from the table below; else two more bytes give them raw.
 * quoted seq = the stack's ISN (mode 0x01: its highest seq + seqlen) + delta
 * mode 0x02: the message cut to 8 + (one more byte % 36) bytes   0x04: bad ICMP checksum
 *      0x08: the quote says UDP                                   0x10: quoted ports swapped
 * An ICMP message never makes the stack send anything. */
static void icmp_op(struct rd *r)
{
	static const uint8_t tc[][2] = {{3, 0},  {3, 1}, {3, 2}, {3, 3},  {3, 4},  {3, 13},
					{3, 16}, {11, 0}, {11, 1}, {12, 0}, {4, 0}, {5, 1},
					{8, 0},  {0, 0},  {30, 0}};
	uint8_t ti = u8(r), sel = u8(r);
	int8_t sd = (int8_t)u8(r);
	uint8_t mode = u8(r), type, code;
	if (sel < 0x80) {
		type = tc[sel % (sizeof(tc) / sizeof(tc[0]))][0];
		code = tc[sel % (sizeof(tc) / sizeof(tc[0]))][1];
	} else {
		type = u8(r);
		code = u8(r);
	}
	struct tuple *t = &F.t[ti % N_TUPLES];
	if (!t->used)
		t = &F.t[ti % N_PASSIVE];
	size_t ilen = 8 + 20 + 8;
	if (mode & 0x02)
		ilen = 8 + u8(r) % 36;
	uint8_t *b = pkt_buf, *m = b + 20, *q = m + 8;
	memset(b, 0, 20 + 8 + 20 + 8);
	b[0] = 0x45;
	wire_enc16(b + 2, (uint16_t)(20 + ilen));
	b[8] = 64;
	b[9] = 1;
	wire_enc32(b + 12, 0x0a000909u); /* 10.0.9.9, a router */
	wire_enc32(b + 16, LOCAL_IP);
	wire_enc16(b + 10, naive_csum(0, b, 20));
	m[0] = type;
	m[1] = code;
	q[0] = 0x45;
	wire_enc16(q + 2, 40);
	q[8] = 64;
	q[9] = (mode & 0x08) ? 17 : 6;
	wire_enc32(q + 12, LOCAL_IP);
	wire_enc32(q + 16, t->peer_ip);
	wire_enc16(q + ((mode & 0x10) ? 22 : 20), t->local_port);
	wire_enc16(q + ((mode & 0x10) ? 20 : 22), t->peer_port);
	wire_enc32(q + 24, ((mode & 0x01) ? t->stack_nxt : t->stack_isn) + (uint32_t)(int32_t)sd);
	wire_enc16(m + 2, naive_csum(0, m, ilen));
	if (mode & 0x04)
		m[2] ^= 0x40;
	trace("icmp type %u code %u quoting %u -> port %u seq %+d (mode %#x)", type, code,
	      t->local_port, t->peer_port, sd, mode);
	input(pkt_buf, 20 + ilen);
	CHECK(synq_output(F.s, out_buf, sizeof(out_buf), F.now) == 0);
}

/* ---- op 3: socket calls --------------------------------------------------------------------- */
/* the pending error of a connection that failed: reset, timed out, refused, or one of the
 * ICMP errnos of B11 (icmp_err_convert[], EPROTO) */
static int conn_err(long n)
{
	return n == -ECONNRESET || n == -ETIMEDOUT || n == -ECONNREFUSED || n == -ENETUNREACH ||
	       n == -EHOSTUNREACH || n == -ENOPROTOOPT || n == -EOPNOTSUPP || n == -EHOSTDOWN ||
	       n == -ENONET || n == -EPROTO;
}

struct sockopt {
	int level, name;
};
static const struct sockopt opts[] = {
	{SYNQ_SOL_SOCKET, SYNQ_SO_REUSEADDR},   {SYNQ_SOL_SOCKET, SYNQ_SO_ERROR},
	{SYNQ_SOL_SOCKET, SYNQ_SO_SNDBUF},      {SYNQ_SOL_SOCKET, SYNQ_SO_RCVBUF},
	{SYNQ_SOL_SOCKET, SYNQ_SO_KEEPALIVE},   {SYNQ_IPPROTO_TCP, SYNQ_TCP_NODELAY},
	{SYNQ_IPPROTO_TCP, SYNQ_TCP_MAXSEG},    {SYNQ_IPPROTO_TCP, SYNQ_TCP_KEEPIDLE},
	{SYNQ_IPPROTO_TCP, SYNQ_TCP_KEEPINTVL}, {SYNQ_IPPROTO_TCP, SYNQ_TCP_KEEPCNT},
	{SYNQ_IPPROTO_TCP, SYNQ_TCP_SYNCNT},    {SYNQ_IPPROTO_TCP, SYNQ_TCP_DEFER_ACCEPT},
	{SYNQ_IPPROTO_TCP, SYNQ_TCP_USER_TIMEOUT}, {SYNQ_IPPROTO_TCP, SYNQ_TCP_QUICKACK},
	{SYNQ_IPPROTO_TCP, 99},
	{41, 1},                                {SYNQ_SOL_SOCKET, 12345},
};

static const char *const sysctls[] = {
	"net.ipv4.tcp_syncookies=0",      "net.ipv4.tcp_syncookies=1",
	"net.ipv4.tcp_pingpong_thresh=3", "net.ipv4.tcp_pingpong_thresh=1",
	"net.ipv4.tcp_syncookies=2",      "net.ipv4.tcp_abort_on_overflow=1",
	"net.ipv4.tcp_abort_on_overflow=0", "net.ipv4.tcp_synack_retries=0",
	"net.ipv4.tcp_synack_retries=2",  "net.ipv4.tcp_max_syn_backlog=4",
	"net.core.somaxconn=1",           "net.core.somaxconn=4096",
	"net.ipv4.tcp_timestamps=0",      "net.ipv4.tcp_timestamps=1",
	"net.ipv4.tcp_invalid_ratelimit=0", "net.ipv4.tcp_fin_timeout=1",
	"net.ipv4.tcp_keepalive_time=1",  "net.ipv4.tcp_retries2=1",
	"net.ipv4.tcp_rto_min_us=1",      "net.ipv4.tcp_syn_retries=1",
	"net.ipv4.tcp_window_scaling=0",  "net.ipv4.tcp_sack=0",
	"net.synq.max_sockets=2",         "net.ipv4.tcp_syn_linear_timeouts=0",
	"net.ipv4.ip_local_port_range=40000 40001", "net.ipv4.tcp_rto_max_ms=1000",
};

static int *slot(uint8_t b) { return &F.fds[b % N_FDS]; }

/* a slot's fd, or (b >= 0xf0) an out-of-range fd for the EBADF paths */
static int fd_of(uint8_t b)
{
	if (b >= 0xf0)
		return b == 0xff ? -1 : 1000 + b;
	return *slot(b);
}

static int free_slot(void)
{
	for (int i = 2; i < N_FDS; i++)
		if (F.fds[i] < 0)
			return i;
	return 2 + (int)(F.step % (N_FDS - 2));
}

static void new_listener(int backlog)
{
	int l = synq_socket(F.s);
	if (l < 0)
		return;
	int one = 1;
	synq_setsockopt(F.s, l, SYNQ_SOL_SOCKET, SYNQ_SO_REUSEADDR, &one, sizeof(one));
	if (synq_bind(F.s, l, &(struct synq_addr){LOCAL_IP, LISTEN_PORT}) ||
	    synq_listen(F.s, l, backlog)) {
		synq_close(F.s, l, F.now);
		return;
	}
	F.fds[0] = F.lfd = l;
	F.m_max = 0;
	struct synq_sock_info in;
	if (synq_sock_info(F.s, l, &in) == 0)
		F.m_max = in.sendq;
}

static void sock_op(struct rd *r)
{
	uint8_t op = u8(r), b = u8(r);
	int fd = fd_of(b), rc;
	long n;
	switch (op & 0x0f) {
	case 0: { /* accept */
		struct synq_addr peer;
		rc = synq_accept(F.s, fd, (op & 0x10) ? NULL : &peer);
		trace("accept(%d) = %d", fd, rc);
		CHECK(rc >= 0 || rc == -EAGAIN || rc == -EINVAL || rc == -EBADF);
		if (rc >= 0) {
			CHECK(rc != fd);
			F.fds[free_slot()] = rc;
		}
		break;
	}
	case 1: { /* read */
		size_t len = (size_t)u8(r) * 64 + (op >> 4);
		n = synq_read(F.s, fd, io_buf, len, F.now);
		trace("read(%d, %zu) = %ld", fd, len, n);
		CHECK(n <= (long)len);
		CHECK(n >= 0 || n == -EAGAIN || n == -ENOTCONN || n == -EPIPE || n == -EBADF ||
		      conn_err(n));
		break;
	}
	case 2: { /* write */
		size_t len = (size_t)u16(r);
		if (op & 0x10)
			len *= 4;
		if (len > sizeof(io_buf))
			len = sizeof(io_buf);
		memset(io_buf, 'w', len);
		n = synq_write(F.s, fd, io_buf, len, F.now);
		trace("write(%d, %zu) = %ld", fd, len, n);
		CHECK(n <= (long)len);
		CHECK(n >= 0 || n == -EAGAIN || n == -ENOTCONN || n == -EPIPE || n == -EBADF ||
		      conn_err(n));
		break;
	}
	case 3: /* close */
		rc = synq_close(F.s, fd, F.now);
		trace("close(%d) = %d", fd, rc);
		CHECK(rc == 0 || rc == -EBADF);
		if (rc == 0 && fd == F.lfd)
			F.lfd = -1;
		if (rc == 0 && (op & 0x10) && b < 0xf0)
			*slot(b) = -1; /* else the stale fd stays, for EBADF and reuse */
		break;
	case 4: /* shutdown */
		rc = synq_shutdown(F.s, fd, (op >> 4) % 4, F.now);
		trace("shutdown(%d, %d) = %d", fd, (op >> 4) % 4, rc);
		CHECK(rc == 0 || rc == -ENOTCONN || rc == -EINVAL || rc == -EBADF);
		break;
	case 5: { /* setsockopt */
		const struct sockopt *o = &opts[u8(r) % (sizeof(opts) / sizeof(opts[0]))];
		int v = (int16_t)u16(r);
		size_t len = (op & 0x10) ? 2 : sizeof(int);
		rc = synq_setsockopt(F.s, fd, o->level, o->name, &v, len);
		trace("setsockopt(%d, %d, %d, %d) = %d", fd, o->level, o->name, v, rc);
		CHECK(rc == 0 || rc == -EBADF || rc == -ENOPROTOOPT || rc == -EINVAL);
		break;
	}
	case 6: { /* getsockopt */
		const struct sockopt *o = &opts[u8(r) % (sizeof(opts) / sizeof(opts[0]))];
		int v = 0;
		size_t len = (op & 0x10) ? 2 : sizeof(int);
		rc = synq_getsockopt(F.s, fd, o->level, o->name, &v, &len);
		CHECK(rc == 0 || rc == -EBADF || rc == -ENOPROTOOPT || rc == -EINVAL);
		if (rc == 0)
			CHECK(len == sizeof(int));
		if (rc == 0 && o->level == SYNQ_SOL_SOCKET && o->name == SYNQ_SO_ERROR)
			CHECK(v >= 0);
		break;
	}
	case 7: /* poll */
		rc = synq_poll(F.s, fd);
		CHECK(rc == -EBADF || (rc >= 0 && !(rc & ~(SYNQ_POLLIN | SYNQ_POLLOUT | SYNQ_POLLERR |
							       SYNQ_POLLHUP | SYNQ_POLLRDHUP))));
		break;
	case 8: { /* new socket, connect (to 10.0.0.2:port, or to ourselves) */
		int c = synq_socket(F.s);
		if (c < 0) {
			CHECK(c == -EMFILE);
			break;
		}
		uint16_t port = u16(r);
		struct synq_addr to = {(op & 0x10) ? LOCAL_IP : REMOTE_IP, port};
		if (op & 0x20) {
			struct synq_addr me = {(op & 0x40) ? 0 : LOCAL_IP, (uint16_t)(op & 0x80 ? 8080 : 0)};
			rc = synq_bind(F.s, c, &me);
			CHECK(rc == 0 || rc == -EADDRINUSE || rc == -EINVAL);
		}
		rc = synq_connect(F.s, c, &to, F.now);
		trace("connect(%d, port %u) = %d", c, port, rc);
		CHECK(rc == -EINPROGRESS || rc == -EINVAL || rc == -EADDRNOTAVAIL);
		F.fds[free_slot()] = c;
		break;
	}
	case 9: /* listen() on any fd: B2 backlog change, or errors */
		rc = synq_listen(F.s, fd, (int8_t)u8(r));
		trace("listen(%d) = %d", fd, rc);
		CHECK(rc == 0 || rc == -EBADF || rc == -EINVAL || rc == -EADDRINUSE);
		if (rc == 0 && fd != F.lfd && F.lfd < 0 && b < 0xf0) {
			F.lfd = fd; /* a listener on another port: its bounds are checked too */
			F.m_max = 0;
		}
		break;
	case 10: /* a new listener on 8080 (after the old one was closed) */
		if (F.lfd < 0)
			new_listener(op >> 4);
		break;
	case 11: { /* introspection */
		struct synq_req_info ri[8];
		rc = synq_requests(F.s, fd, ri, op >> 5);
		CHECK(rc >= 0 || rc == -EBADF || rc == -EINVAL);
		struct synq_sock_info in;
		rc = synq_sock_info(F.s, fd, &in);
		CHECK(rc == 0 || rc == -EBADF);
		uint64_t v;
		CHECK(synq_counter_by_name(F.s, "TcpExtListenOverflows", &v) == 0);
		CHECK(synq_counter_by_name(F.s, "NoSuchCounter", &v) == -ENOENT);
		struct synq_config c;
		synq_stack_config(F.s, &c);
		CHECK(c.max_sockets > 0);
		break;
	}
	case 12: { /* runtime sysctl */
		const char *a = sysctls[b % (sizeof(sysctls) / sizeof(sysctls[0]))];
		rc = synq_stack_set(F.s, a);
		trace("sysctl %s = %d", a, rc);
		CHECK(rc == 0 || rc == -EPERM || rc == -EINVAL);
		break;
	}
	case 14: { /* connect() again on an existing fd: EALREADY, EISCONN, EINVAL... */
		uint16_t port = u16(r);
		struct synq_addr to = {(op & 0x10) ? LOCAL_IP : REMOTE_IP, port};
		rc = synq_connect(F.s, fd, &to, F.now);
		trace("connect(%d, port %u) = %d", fd, port, rc);
		CHECK(rc == -EINPROGRESS || rc == -EALREADY || rc == -EISCONN || rc == -EINVAL ||
		      rc == -EADDRNOTAVAIL || rc == -EBADF);
		break;
	}
	case 15: { /* bind() an existing fd */
		uint16_t port = u16(r);
		struct synq_addr a = {(op & 0x10) ? 0 : (op & 0x20) ? REMOTE_IP : LOCAL_IP, port};
		rc = synq_bind(F.s, fd, (op & 0x40) ? NULL : &a);
		trace("bind(%d, port %u) = %d", fd, port, rc);
		CHECK(rc == 0 || rc == -EBADF || rc == -EINVAL || rc == -EADDRNOTAVAIL ||
		      rc == -EADDRINUSE);
		break;
	}
	case 13: /* close every slot */
		for (int i = 0; i < N_FDS; i++)
			if (F.fds[i] >= 0 && synq_close(F.s, F.fds[i], F.now) == 0 && F.fds[i] == F.lfd)
				F.lfd = -1;
		break;
	}
}

/* ---- op 4: loopback ------------------------------------------------------------------------- */
/* modifier bit 0: instead, one synq_output() into a buffer of `mask` bytes (-ENOBUFS path) */
static void loop_op(struct rd *r, unsigned mod)
{
	uint8_t mask = u8(r); /* bit k clear: deliver held packet k (k < 8); later ones: delivered */
	if (mod & 1) {
		int n = synq_output(F.s, out_buf, mask, F.now);
		CHECK(n == 0 || n == -ENOBUFS || (n > 0 && n <= mask));
		if (n > 0)
			process_out(n);
		return;
	}
	static uint8_t held[N_LOOP][PKT_MAX];
	static size_t held_len[N_LOOP];
	int n = F.n_loop;
	for (int i = 0; i < n; i++) {
		memcpy(held[i], loop[i], loop_len[i]);
		held_len[i] = loop_len[i];
	}
	F.n_loop = 0;
	for (int i = 0; i < n; i++) {
		if (i < 8 && (mask >> i & 1))
			continue; /* lost */
		if (F.trace) {
			struct synq_seg g;
			if (wire_parse(held[i], held_len[i], &g) == WIRE_OK)
				trace_seg("lo ", &g);
		}
		input(held[i], held_len[i]);
		drain();
	}
}

/* ---- setup ---------------------------------------------------------------------------------- */
static void set(struct synq_config *c, const char *a) { CHECK(synq_config_set(c, a) == 0); }

static int setup(struct rd *r)
{
	uint8_t c0 = u8(r), c1 = u8(r);
	memset(&F, 0, sizeof(F));
	F.trace = getenv("FUZZ_STACK_TRACE") != NULL;
	F.rng = 0x5eed + (c0 ^ c1 << 8);
	F.now = NS_S;
	for (int i = 0; i < N_FDS; i++)
		F.fds[i] = -1;
	F.lfd = -1;

	struct synq_config cfg;
	synq_config_init(&cfg);
	set(&cfg, "net.synq.local_addr=10.0.0.1");
	static const char *const cookies[] = {"net.ipv4.tcp_syncookies=1",
					      "net.ipv4.tcp_syncookies=0",
					      "net.ipv4.tcp_syncookies=2",
					      "net.ipv4.tcp_syncookies=1"};
	set(&cfg, cookies[c0 & 3]);
	if (c0 & 0x04)
		set(&cfg, "net.ipv4.tcp_abort_on_overflow=1");
	if (c0 & 0x08)
		set(&cfg, "net.ipv4.tcp_timestamps=0");
	if (c0 & 0x10)
		set(&cfg, "net.ipv4.tcp_sack=0");
	if (c0 & 0x20)
		set(&cfg, "net.ipv4.tcp_window_scaling=0");
	set(&cfg, (c0 & 0x40) ? "net.synq.out_ring_bytes=4096" : "net.synq.out_ring_bytes=131072");
	set(&cfg, (c0 & 0x80) ? "net.synq.mtu=576" : "net.synq.mtu=1500");
	static const char *const retries[] = {"net.ipv4.tcp_synack_retries=5",
					      "net.ipv4.tcp_synack_retries=0",
					      "net.ipv4.tcp_synack_retries=1",
					      "net.ipv4.tcp_synack_retries=2"};
	set(&cfg, retries[(c1 >> 2) & 3]);
	set(&cfg, (c1 & 0x40) ? "net.synq.max_requests=4" : "net.synq.max_requests=64");
	set(&cfg, (c1 & 0x80) ? "net.synq.sock_buf_bytes=16384" : "net.synq.sock_buf_bytes=4096");
	set(&cfg, "net.synq.max_sockets=16");
	if (!(c1 & 0x20)) { /* else the default hooks */
		cfg.rand = rng_fill;
		cfg.rand_user = &F.rng;
		cfg.alloc = count_alloc;
		cfg.free = count_free;
	}
	cfg.on_event = on_event;
	F.mtu = (c0 & 0x80) ? 576 : 1500;

	CHECK(synq_stack_new(&cfg, F.now, &F.s) == 0);
	uint64_t allocs = F.allocs;

	static const int backlogs[] = {2, 1, 0, 8};
	new_listener(backlogs[c1 & 3]);
	CHECK(F.lfd >= 0);
	if (c1 & 0x10) {
		int one = 1;
		CHECK(synq_setsockopt(F.s, F.lfd, SYNQ_IPPROTO_TCP, SYNQ_TCP_DEFER_ACCEPT, &one,
				      sizeof(one)) == 0);
	}
	/* passive peers */
	for (int i = 0; i < N_PASSIVE; i++) {
		struct tuple *t = &F.t[i];
		t->used = 1;
		t->peer_ip = 0x0a000100u + (uint32_t)i + 1; /* 10.0.1.k */
		t->peer_port = (uint16_t)(40000 + i);
		t->local_port = LISTEN_PORT;
		t->peer_isn = 0x10000000u * (uint32_t)(i + 1) + 0xfff0u; /* some near a wrap */
		t->tsval = 1000 + (uint32_t)i * 100000;
	}
	/* the active side */
	int c = synq_socket(F.s);
	CHECK(c >= 0);
	CHECK(synq_connect(F.s, c, &(struct synq_addr){REMOTE_IP, 80}, F.now) == -EINPROGRESS);
	F.fds[1] = c;
	drain();
	CHECK(F.allocs == allocs); /* nothing is allocated after synq_stack_new() */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r = {data, size};
	setup(&r);
	uint64_t allocs = F.allocs;
	while (r.n && F.step < 4096) {
		uint8_t b = u8(&r);
		F.step++;
		switch (b & 7) {
		case 0: {
			uint16_t v = u16(&r);
			uint64_t d = (v & 0x8000) ? (uint64_t)(v & 0x7fff) * NS_S : (uint64_t)v * NS_MS;
			trace("time +%llu ms", (unsigned long long)(d / NS_MS));
			advance(F.now + d);
			break;
		}
		case 1:
			raw_op(&r, b >> 3);
			break;
		case 5:
			if (b & 0x08) {
				icmp_op(&r);
				break;
			}
			/* fall through: segments are the common case */
		case 2:
			seg_op(&r);
			break;
		case 3:
		case 6:
			sock_op(&r);
			break;
		case 4:
			loop_op(&r, b >> 3);
			break;
		case 7: /* a small step of time: 1..32 ms */
			advance(F.now + (uint64_t)((b >> 3) + 1) * NS_MS);
			break;
		}
		drain();
		advance(F.now); /* timers due now */
		check_invariants();
	}
	CHECK(F.allocs == allocs);
	/* time never goes backwards */
	CHECK(synq_input(F.s, out_buf, 40, F.now - 1) == -ETIME);
	synq_stack_free(F.s);
	F.s = NULL;
	CHECK(F.live == 0 && F.allocs == F.frees);
	return 0;
}
