/*
 * stack.c — stack lifetime, pools, input demultiplexing, the output ring, timers and events.
 *
 * Input order follows Linux's tcp_v4_rcv(): the established hash (full sockets, TIME-WAIT) is
 * looked up first, then request socks (which Linux keeps in the same hash as NEW_SYN_RECV), then
 * the listener; a segment for nobody gets the no-socket reply (B31). ICMP goes to icmp.c (B11).
 *
 * SPDX-License-Identifier: MIT
 */
#include "core/synq_int.h"
#include "core/config.h"

#include <stdlib.h>

_Static_assert(sizeof(struct synq_req) == 60, "request sock must stay 60 bytes (SPEC §3, bench)");

/* ---- default hooks ---------------------------------------------------------------------- */
static void *default_alloc(void *user, size_t size)
{
	(void)user;
	return calloc(1, size);
}

static void default_free(void *user, void *ptr, size_t size)
{
	(void)user;
	(void)size;
	free(ptr);
}

/* Fixed-seed splitmix64: used only when the embedder gives no rand hook, so that runs stay
 * reproducible. The state lives in the stack (no globals). */
void stack_random(struct synq_stack *s, void *buf, size_t len)
{
	if (s->cfg.rand) {
		s->cfg.rand(s->cfg.rand_user, buf, len);
		return;
	}
	uint8_t *p = buf;
	while (len) {
		uint64_t z = (s->rng_state += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		size_t n = len < 8 ? len : 8;
		memcpy(p, &z, n);
		p += n;
		len -= n;
	}
}

static void *stack_block(struct synq_stack *s, size_t size)
{
	if (s->n_blocks == (int)(sizeof(s->blocks) / sizeof(s->blocks[0])))
		return NULL;
	void *p = s->cfg.alloc(s->cfg.alloc_user, size);
	if (!p)
		return NULL;
	s->blocks[s->n_blocks] = p;
	s->block_sizes[s->n_blocks++] = size;
	s->mem_total += size;
	return p;
}

static uint32_t pow2_at_least(uint64_t n)
{
	uint32_t p = 1;
	while (p < n && p < (1u << 30))
		p <<= 1;
	return p;
}

int synq_stack_new(const struct synq_config *cfg, uint64_t now_ns, synq_stack **out)
{
	if (!cfg || !out)
		return -EINVAL;
	*out = NULL;
	int rc = config_check(cfg);
	if (rc)
		return rc;
	if (cfg->max_sockets > 65535 || cfg->max_requests > (1 << 28))
		return -EINVAL;

	synq_alloc_fn af = cfg->alloc ? cfg->alloc : default_alloc;
	synq_free_fn ff = cfg->alloc ? cfg->free : default_free;
	if (cfg->alloc && !cfg->free)
		return -EINVAL;
	struct synq_stack *s = af(cfg->alloc_user, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->cfg.alloc = af;
	s->cfg.free = ff;
	s->mem_total = sizeof(*s);
	s->now = now_ns;
	s->epoch = now_ns;
	s->rng_state = 0x5eed5eed5eed5eedull; /* the fallback generator's own state */

	uint8_t secret[80];
	stack_random(s, secret, sizeof(secret));
	siphash_key_from_bytes(&s->isn_key, secret);
	siphash_key_from_bytes(&s->ts_key, secret + 16);
	siphash_key_from_bytes(&s->cookie_key[0], secret + 32);
	siphash_key_from_bytes(&s->cookie_key[1], secret + 48);
	memcpy(&s->hash_seed, secret + 64, 8);
	memcpy(&s->ip_id, secret + 72, 4);

	s->n_reqs = (uint32_t)cfg->max_requests;
	uint32_t rb = pow2_at_least(s->n_reqs);
	s->req_mask = rb - 1;
	s->n_socks = (uint32_t)cfg->max_sockets;
	uint32_t sb = pow2_at_least(s->n_socks);
	s->sock_mask = sb - 1;
	size_t bufsz = (size_t)cfg->sock_buf_bytes;

	s->reqs = stack_block(s, sizeof(struct synq_req) * s->n_reqs);
	s->req_buckets = stack_block(s, sizeof(uint32_t) * rb);
	s->socks = stack_block(s, sizeof(struct synq_sock) * s->n_socks);
	s->sock_buckets = stack_block(s, sizeof(uint32_t) * sb);
	s->heap = stack_block(s, sizeof(uint32_t) * s->n_socks);
	s->bufs = stack_block(s, bufsz * 2 * s->n_socks);
	s->out.buf = stack_block(s, (size_t)cfg->out_ring_bytes);
	s->metrics = stack_block(s, sizeof(struct tcpm) * TCPM_SETS * TCPM_WAYS);
	s->pfx = stack_block(s, sizeof(struct pfx_count) * PFX_SLOTS);
	if (!s->reqs || !s->req_buckets || !s->socks || !s->sock_buckets || !s->heap || !s->bufs ||
	    !s->out.buf || !s->metrics || !s->pfx) {
		synq_stack_free(s);
		return -ENOMEM;
	}
	s->out.cap = (uint32_t)cfg->out_ring_bytes;

	/* free lists: ascending indices so that fds are handed out lowest first */
	for (uint32_t i = 0; i < s->n_reqs; i++)
		s->reqs[i].hnext = i + 1 < s->n_reqs ? i + 1 : NIL;
	s->req_free = 0;
	memset(s->req_buckets, 0xff, sizeof(uint32_t) * rb);
	for (int c = 0; c < REQ_TCLASSES; c++)
		s->req_timers[c].head = s->req_timers[c].tail = s->req_timers[c].run = NIL;
	for (uint32_t i = 0; i < s->n_socks; i++) {
		struct synq_sock *sk = &s->socks[i];
		sk->hnext = i + 1 < s->n_socks ? i + 1 : NIL;
		sk->heap_idx = NIL;
		sk->rx.buf = s->bufs + bufsz * 2 * i;
		sk->rx.cap = (uint32_t)bufsz;
		sk->tx.buf = sk->rx.buf + bufsz;
		sk->tx.cap = (uint32_t)bufsz;
	}
	s->sock_free = 0;
	memset(s->sock_buckets, 0xff, sizeof(uint32_t) * sb);
	s->listeners = NIL;
	*out = s;
	return 0;
}

void synq_stack_free(synq_stack *s)
{
	if (!s)
		return;
	synq_free_fn ff = s->cfg.free;
	void *u = s->cfg.alloc_user;
	for (int i = s->n_blocks - 1; i >= 0; i--)
		ff(u, s->blocks[i], s->block_sizes[i]);
	ff(u, s, sizeof(*s));
}

size_t synq_stack_memory(const synq_stack *s) { return s ? s->mem_total : 0; }

void synq_stack_config(const synq_stack *s, struct synq_config *out) { *out = s->cfg; }

int synq_stack_set(synq_stack *s, const char *assignment)
{
	struct synq_config c = s->cfg;
	int rc = config_apply(&c, assignment, 1);
	if (rc)
		return rc;
	rc = config_check(&c);
	if (rc)
		return rc;
	s->cfg = c;
	return 0;
}

/* ---- counters --------------------------------------------------------------------------- */
uint64_t synq_counter(const synq_stack *s, int id)
{
	if (!s || id < 0 || id >= SYNQ_COUNTER_COUNT)
		return 0;
	return s->cnt[id];
}

int synq_counter_by_name(const synq_stack *s, const char *name, uint64_t *out)
{
	int id = synq_counter_id(name);
	if (id < 0)
		return id;
	*out = s->cnt[id];
	return 0;
}

/* ---- events ----------------------------------------------------------------------------- */
/* Split a "code|rule|text" reason into the event (plain text: no code, no rule). Only runs when
 * an event hook is set. */
void stack_why(struct synq_stack *s, struct synq_event *ev, const char *why)
{
	s->why_code[0] = s->why_rule[0] = 0;
	ev->code = s->why_code;
	ev->rule = s->why_rule;
	ev->reason = why ? why : "";
	const char *a = why ? strchr(why, '|') : NULL;
	const char *b = a ? strchr(a + 1, '|') : NULL;
	if (!a || !b)
		return;
	size_t n = (size_t)(a - why), m = (size_t)(b - a - 1);
	if (n < sizeof(s->why_code) && m < sizeof(s->why_rule)) {
		memcpy(s->why_code, why, n);
		s->why_code[n] = 0;
		memcpy(s->why_rule, a + 1, m);
		s->why_rule[m] = 0;
		ev->reason = b + 1;
	}
}

void stack_event(struct synq_stack *s, int kind, int fd, const struct synq_sock *sk, int err,
		 const char *reason)
{
	if (!s->cfg.on_event)
		return;
	struct synq_event ev = {.kind = kind, .fd = fd, .err = err, .counter = -1, .now_ns = s->now};
	stack_why(s, &ev, reason);
	if (sk) {
		ev.state = sk->state;
		ev.laddr = sk->laddr;
		ev.raddr = sk->raddr;
		ev.lport = sk->lport;
		ev.rport = sk->rport;
	}
	s->cfg.on_event(s->cfg.event_user, &ev);
}

void stack_drop(struct synq_stack *s, int counter, const struct synq_seg *g, int fd,
		const char *reason)
{
	if (counter >= 0)
		cnt_inc(s, counter);
	if (!s->cfg.on_event)
		return;
	struct synq_event ev = {.kind = SYNQ_EV_DROP, .fd = fd, .counter = counter, .now_ns = s->now};
	stack_why(s, &ev, reason);
	if (g) {
		ev.laddr = g->daddr;
		ev.raddr = g->saddr;
		ev.lport = g->dport;
		ev.rport = g->sport;
	}
	s->cfg.on_event(s->cfg.event_user, &ev);
}

/* __tcp_oow_rate_limited(): at most one reply per tcp_invalid_ratelimit ms per object. */
int stack_rate_limited(struct synq_stack *s, uint32_t *last, int counter)
{
	uint32_t now = stack_tick(s);
	if (*last) {
		int32_t elapsed = (int32_t)(now - *last);
		if (elapsed >= 0 && elapsed < s->cfg.tcp_invalid_ratelimit) {
			cnt_inc(s, counter);
			return 1;
		}
	}
	*last = now;
	return 0;
}

int stack_local_index(const struct synq_stack *s, uint32_t ip)
{
	for (int i = 0; i < s->cfg.n_local_addrs; i++)
		if (s->cfg.local_addrs[i] == ip)
			return i;
	return -1;
}

int stack_is_local(const struct synq_stack *s, uint32_t ip) { return stack_local_index(s, ip) >= 0; }

/* Table hash: a keyed 64-bit mix (not cryptographic; the ISN uses SipHash). */
uint32_t stack_hash4(const struct synq_stack *s, uint32_t saddr, uint32_t daddr, uint16_t sport,
		     uint16_t dport)
{
	uint64_t h = s->hash_seed ^ ((uint64_t)saddr << 32 | daddr);
	h ^= ((uint64_t)sport << 16 | dport) * 0x9e3779b97f4a7c15ull;
	h = (h ^ (h >> 33)) * 0xff51afd7ed558ccdull;
	h = (h ^ (h >> 33)) * 0xc4ceb9fe1a85ec53ull;
	return (uint32_t)(h ^ (h >> 33));
}

/* secure_tcp_seq(): keyed hash of the 4-tuple plus a 64 ns clock (net/core/secure_seq.c) */
uint32_t stack_isn(const struct synq_stack *s, uint32_t saddr, uint32_t daddr, uint16_t sport,
		   uint16_t dport)
{
	uint32_t h = (uint32_t)siphash_3u32(saddr, daddr, (uint32_t)sport << 16 | dport, &s->isn_key);
	return h + (uint32_t)(s->now >> 6);
}

/* secure_tcp_ts_off(): per address pair timestamp offset (tcp_timestamps = 1) */
uint32_t stack_ts_off(const struct synq_stack *s, uint32_t saddr, uint32_t daddr)
{
	if (s->cfg.tcp_timestamps != 1)
		return 0;
	return (uint32_t)siphash_4u32(saddr, daddr, 0, 0, &s->ts_key);
}

/* The timer wheel of kernel/time/timer.c (4.8+): LVL_CLK_SHIFT 3, LVL_BITS 6. A timer of d
 * jiffies goes to level L, the first with d < LVL_START(L + 1) = 63 << 3L; calc_index() rounds
 * its expiry up to the next multiple of the level's granularity 8^L, strictly after (so even a
 * level-0 timer fires one jiffy late). The jiffies clock starts at the caller's time 0. */
uint64_t stack_timer_at(const struct synq_stack *s, uint64_t delay_ns)
{
	if (!s->cfg.timer_hz)
		return s->now + delay_ns;
	uint64_t tick = NS_PER_S / (uint64_t)s->cfg.timer_hz;
	uint64_t j = s->now / tick;
	uint64_t d = (delay_ns + tick - 1) / tick; /* usecs_to_jiffies() rounds up */
	unsigned lvl = 0;
	while (lvl < 8 && d >= (63ull << (3 * lvl)))
		lvl++;
	unsigned shift = 3 * lvl;
	uint64_t bucket = (((j + d) >> shift) + 1) << shift;
	return bucket * tick;
}

/* ---- output ring ------------------------------------------------------------------------ */
#define OUT_WRAP 0xffffu

int out_emit(struct synq_stack *s, struct synq_seg *g)
{
	struct out_ring *o = &s->out;
	size_t need = WIRE_IP_HDR + WIRE_TCP_HDR + wire_opts_len(&g->opt) + g->len;
	uint32_t rec = (uint32_t)(2 + need);
	uint32_t at = o->tail, waste = 0;
	if (o->used && o->tail == o->head)
		goto full; /* tail caught up with head */
	if (o->tail >= o->head) {
		if (rec > o->cap - o->tail) {
			/* no room at the end: skip it (marker) and wrap to 0 if the head allows */
			if (rec > o->head && o->used)
				goto full;
			if (rec > o->cap)
				goto full;
			waste = o->cap - o->tail;
			at = 0;
		}
	} else if (rec > o->head - o->tail) {
		goto full;
	}
	g->ip_id = (uint16_t)s->ip_id++;
	size_t n = wire_emit(g, o->buf + at + 2, need);
	if (n != need)
		goto full;
	if (waste >= 2)
		o->buf[o->tail] = o->buf[o->tail + 1] = 0xff;
	o->buf[at] = (uint8_t)(n >> 8);
	o->buf[at + 1] = (uint8_t)n;
	o->used += waste + rec;
	o->tail = at + rec;
	cnt_inc(s, SYNQ_C_IP_OUT_REQUESTS);
	cnt_inc(s, SYNQ_C_TCP_OUT_SEGS);
	if (g->flags & TCP_RST)
		cnt_inc(s, SYNQ_C_TCP_OUT_RSTS);
	return 0;
full:
	stack_drop(s, SYNQ_C_SYNQ_OUT_RING_DROPS, NULL, -1, "out_ring_full||output ring full (net.synq.out_ring_bytes)");
	return -ENOBUFS;
}

int synq_output(synq_stack *s, uint8_t *buf, size_t cap, uint64_t now_ns)
{
	struct out_ring *o = &s->out;
	if (now_ns > s->now)
		s->now = now_ns;
	if (!o->used)
		return 0;
	if (o->cap - o->head < 2 || (o->buf[o->head] == 0xff && o->buf[o->head + 1] == 0xff)) {
		o->used -= o->cap - o->head; /* skip the wrap marker / unusable end */
		o->head = 0;
	}
	uint32_t n = (uint32_t)o->buf[o->head] << 8 | o->buf[o->head + 1];
	if (n > cap)
		return -ENOBUFS;
	memcpy(buf, o->buf + o->head + 2, n);
	o->head += 2 + n;
	o->used -= 2 + n;
	if (!o->used)
		o->head = o->tail = 0;
	return (int)n;
}

/* ---- input ------------------------------------------------------------------------------ */
static int advance(struct synq_stack *s, uint64_t now)
{
	if (now < s->now)
		return -ETIME;
	s->now = now;
	return 0;
}

static int demux(struct synq_stack *s, const struct synq_seg *gp);

int synq_input(synq_stack *s, const uint8_t *pkt, size_t len, uint64_t now_ns)
{
	if (advance(s, now_ns))
		return -ETIME;
	cnt_inc(s, SYNQ_C_IP_IN_RECEIVES);
	struct synq_seg g;
	switch (wire_parse(pkt, len, &g)) {
	case WIRE_OK:
		break;
	case WIRE_ERR_IP_HDR:
		stack_drop(s, SYNQ_C_IP_IN_HDR_ERRORS, NULL, -1, "bad_ip_header||bad IPv4 header");
		return -EBADMSG;
	case WIRE_ERR_FRAGMENT:
		stack_drop(s, SYNQ_C_IP_REASM_FAILS, NULL, -1, "fragment||IPv4 fragment (no reassembly)");
		return -EBADMSG;
	case WIRE_ERR_PROTO:
		if (len >= 20 && stack_is_local(s, wire_dec32(pkt + 16))) {
			if (pkt[9] == IPPROTO_ICMP_NUM)
				return icmp_input(s, pkt, len); /* B11 */
			stack_drop(s, SYNQ_C_IP_IN_UNKNOWN_PROTOS, NULL, -1, "not_tcp||not TCP");
		} else
			stack_drop(s, SYNQ_C_IP_IN_ADDR_ERRORS, NULL, -1, "not_local||not addressed to the stack");
		return -EPROTONOSUPPORT;
	case WIRE_ERR_TCP_HDR:
		stack_drop(s, SYNQ_C_TCP_IN_ERRS, NULL, -1, "bad_tcp_header||bad TCP header or options");
		return -EBADMSG;
	case WIRE_ERR_TCP_CSUM:
		cnt_inc(s, SYNQ_C_TCP_IN_CSUM_ERRORS);
		stack_drop(s, SYNQ_C_TCP_IN_ERRS, NULL, -1, "bad_checksum||bad TCP checksum");
		return -EBADMSG;
	case WIRE_ERR_ICMP_CSUM:
	case WIRE_ERR_ICMP_HDR: /* wire_parse_icmp()'s, never wire_parse()'s */
		return -EBADMSG;
	}
	if (!stack_is_local(s, g.daddr)) {
		stack_drop(s, SYNQ_C_IP_IN_ADDR_ERRORS, &g, -1, "not_local||not addressed to the stack");
		return -EADDRNOTAVAIL;
	}
	cnt_inc(s, SYNQ_C_IP_IN_DELIVERS);
	cnt_inc(s, SYNQ_C_TCP_IN_SEGS);

	s->in_seg = &g;
	s->in_hash = stack_hash4(s, g.saddr, g.daddr, g.sport, g.dport);
	int rc = demux(s, &g);
	s->in_seg = NULL;
	return rc;
}

/* tcp_v4_rcv(): established / TIME-WAIT first, then requests, then the listener */
static int demux(struct synq_stack *s, const struct synq_seg *gp)
{
	struct synq_sock *sk = sock_lookup_seg(s, gp);
	if (sk) {
		tcp_sock_input(s, sk, gp);
		return 0;
	}
	struct synq_req *req = req_lookup(s, gp);
	if (req && req_input(s, req, gp) == 0)
		return 0;
	/* no request, or tcp_check_req() handed the segment back to the listener (B20) */
	struct synq_sock *l = listener_lookup(s, gp->daddr, gp->dport);
	if (l) {
		listen_input(s, l, gp, 0);
		return 0;
	}
	tcp_send_reset_for(s, gp); /* B31: no listener */
	return 0;
}

/* ---- timers ----------------------------------------------------------------------------- */
uint64_t synq_next_deadline(const synq_stack *s)
{
	uint64_t a = req_next_timer(s), b = sock_next_timer(s);
	return a < b ? a : b;
}

void synq_on_timeout(synq_stack *s, uint64_t now_ns)
{
	if (advance(s, now_ns))
		return;
	/* Fire in time order; every handler re-arms strictly later (>= 200 ms), so this ends. */
	for (;;) {
		uint64_t rt = req_next_timer(s), st = sock_next_timer(s);
		if (rt > now_ns && st > now_ns)
			break;
		if (rt <= st) {
			req_timer_run(s, now_ns);
		} else {
			struct synq_sock *sk = sock_timer_top(s);
			tcp_sock_timer(s, sk);
		}
	}
}

const char *synq_state_name(int state)
{
	static const char *const names[] = {
	    [SYNQ_TCP_ESTABLISHED] = "ESTAB",     [SYNQ_TCP_SYN_SENT] = "SYN-SENT",
	    [SYNQ_TCP_SYN_RECV] = "SYN-RECV",     [SYNQ_TCP_FIN_WAIT1] = "FIN-WAIT-1",
	    [SYNQ_TCP_FIN_WAIT2] = "FIN-WAIT-2",  [SYNQ_TCP_TIME_WAIT] = "TIME-WAIT",
	    [SYNQ_TCP_CLOSE] = "UNCONN",          [SYNQ_TCP_CLOSE_WAIT] = "CLOSE-WAIT",
	    [SYNQ_TCP_LAST_ACK] = "LAST-ACK",     [SYNQ_TCP_LISTEN] = "LISTEN",
	    [SYNQ_TCP_CLOSING] = "CLOSING",
	};
	if (state < SYNQ_TCP_ESTABLISHED || state > SYNQ_TCP_CLOSING)
		return "UNKNOWN";
	return names[state];
}

/* ---- tcp_metrics -------------------------------------------------------------------------- */
static struct tcpm *tcpm_set(const struct synq_stack *s, uint32_t addr)
{
	return &s->metrics[(stack_hash4(s, addr, 0, 0, 0) & (TCPM_SETS - 1)) * TCPM_WAYS];
}

/* tcp_update_metrics(): on the way out of a connection (TIME-WAIT, LAST-ACK done) */
void tcpm_save(struct synq_stack *s, const struct synq_sock *sk)
{
	if (s->cfg.tcp_no_metrics_save || !sk->srtt_ns)
		return;
	struct tcpm *set = tcpm_set(s, sk->raddr), *e = NULL;
	for (int i = 0; i < TCPM_WAYS && !e; i++)
		if (set[i].rtt_us && set[i].addr == sk->raddr)
			e = &set[i];
	for (int i = 0; i < TCPM_WAYS && !e; i++)
		if (!set[i].rtt_us)
			e = &set[i];
	if (!e) { /* tcpm_new(): reclaim the oldest */
		e = &set[0];
		for (int i = 1; i < TCPM_WAYS; i++)
			if (set[i].stamp < e->stamp)
				e = &set[i];
	}
	uint64_t us = sk->srtt_ns / NS_PER_US;
	e->addr = sk->raddr;
	e->rtt_us = us ? (uint32_t)(us > UINT32_MAX ? UINT32_MAX : us) : 1;
	e->stamp = s->now;
}

/* tcp_peer_is_proven(): a saved RTT younger than TCP_METRICS_TIMEOUT (1 hour) */
int tcpm_proven(const struct synq_stack *s, uint32_t addr)
{
	const struct tcpm *set = tcpm_set(s, addr);
	for (int i = 0; i < TCPM_WAYS; i++)
		if (set[i].rtt_us && set[i].addr == addr)
			return s->now < set[i].stamp + 3600 * NS_PER_S;
	return 0;
}
