/*
 * listen.c — the listener: SYN queue (request socks), accept queue, and what Linux 6.18 does
 * when they fill. Every rule cites ../shared/SPEC-linux-listen.md:
 *   B1-B4  listen() and the queue predicates (A > M, Q > M)
 *   B5-B10 SYN at a listener (tcp_conn_request)
 *   B12-B17 the per-request SYN-ACK timer (reqsk_timer_handler, syn_ack_recalc)
 *   B11    an ICMP error quoting a request (tcp_req_err; the ICMP path is icmp.c)
 *   B18-B29 a segment that matches a request (tcp_check_req)
 *   B30-B31 a segment that reaches the listener with no request
 *   B43    closing a listener (inet_csk_listen_stop)
 *   B32-B37 SYN cookies (the encoding itself is in syncookie.c)
 *
 * SPDX-License-Identifier: MIT
 */
#include "core/synq_int.h"
#include "core/syncookie.h"

#include <stdio.h>

static uint16_t listener_idx(const struct synq_stack *s, const struct synq_sock *l)
{
	return (uint16_t)sk_idx(s, l);
}

static struct synq_sock *req_listener(struct synq_stack *s, const struct synq_req *r)
{
	return &s->socks[r->listener];
}

static uint32_t req_laddr(const struct synq_stack *s, const struct synq_req *r)
{
	return s->cfg.local_addrs[r->laddr];
}

/* tcp_listendrop(): ListenDrops, globally and for this listener (sk_drops) */
static void listendrop(struct synq_stack *s, struct synq_sock *l, const struct synq_seg *g,
		       const char *why)
{
	l->drops++;
	stack_drop(s, SYNQ_C_LISTEN_DROPS, g, (int)sk_idx(s, l), why);
}

/* ListenOverflows + ListenDrops for one decision: one event (counter ListenOverflows) */
static void listen_overflow(struct synq_stack *s, struct synq_sock *l, const struct synq_seg *g,
			    const char *why)
{
	l->overflows++;
	l->drops++;
	cnt_inc(s, SYNQ_C_LISTEN_DROPS);
	stack_drop(s, SYNQ_C_LISTEN_OVERFLOWS, g, (int)sk_idx(s, l), why);
}

/* a SYNQ_EV_DECISION on the connection (peer raddr:rport -> us laddr:lport) */
static void decision_ev(struct synq_stack *s, struct synq_sock *l, uint32_t laddr, uint32_t raddr,
			uint16_t rport, int counter, const char *why)
{
	if (!s->cfg.on_event)
		return;
	struct synq_event ev = {.kind = SYNQ_EV_DECISION, .fd = (int)sk_idx(s, l),
				.counter = counter, .laddr = laddr, .raddr = raddr,
				.lport = l->lport, .rport = rport, .now_ns = s->now};
	stack_why(s, &ev, why);
	s->cfg.on_event(s->cfg.event_user, &ev);
}

/* ... about the client's segment g */
static void decision(struct synq_stack *s, struct synq_sock *l, const struct synq_seg *g,
		     int counter, const char *why)
{
	decision_ev(s, l, g->daddr, g->saddr, g->sport, counter, why);
}

/* B3: sk_acceptq_is_full() is A > M: the queue holds M + 1 children */
static int acceptq_full(const struct synq_sock *l) { return l->acc_len > l->max_backlog; }
/* B4 [3.10]: reqsk_queue_is_full() is qlen >> max_qlen_log, i.e. Q >= N */
static int synq_full310(const struct synq_sock *l) { return l->qlen >= l->synq_n; }
/* B4 (6.13+): inet_csk_reqsk_queue_is_full() is Q > M */
static int synq_full(const struct synq_sock *l) { return l->qlen > l->max_backlog; }

/* ---- syn_fairness: requests per source /24 (beyond Linux, net.synq.syn_fairness) ----------- */
static struct pfx_count *pfx_slot(struct synq_stack *s, uint16_t listener, uint32_t saddr,
				  int create)
{
	uint32_t prefix = saddr & 0xffffff00u;
	uint32_t h = stack_hash4(s, prefix, listener, 0, 0) & (PFX_SLOTS - 1);
	struct pfx_count *reuse = NULL;
	for (uint32_t i = 0; i < PFX_SLOTS; i++) {
		struct pfx_count *e = &s->pfx[(h + i) & (PFX_SLOTS - 1)];
		if (!e->used) {
			if (!create)
				return NULL;
			e = reuse ? reuse : e;
			e->used = 1;
			e->prefix = prefix;
			e->listener = listener;
			e->count = 0;
			return e;
		}
		if (e->prefix == prefix && e->listener == listener)
			return e;
		if (!e->count && !reuse)
			reuse = e;
	}
	if (reuse && create) {
		reuse->prefix = prefix;
		reuse->listener = listener;
		reuse->count = 0;
	}
	return create ? reuse : NULL;
}

/* a /24 may hold at most half of the SYN queue's M + 1 places */
static int pfx_over_share(struct synq_stack *s, const struct synq_sock *l, uint32_t saddr)
{
	struct pfx_count *e = pfx_slot(s, (uint16_t)sk_idx(s, l), saddr, 0);
	uint32_t share = (l->max_backlog + 1) / 2;
	return e && e->count >= (share ? share : 1);
}

static void pfx_add(struct synq_stack *s, uint16_t listener, uint32_t saddr, int delta)
{
	struct pfx_count *e = pfx_slot(s, listener, saddr, delta > 0);
	if (!e)
		return;
	if (delta > 0)
		e->count++;
	else if (e->count)
		e->count--;
}

/* ---- request table and timer FIFOs ------------------------------------------------------ */
static uint32_t *req_bucket(struct synq_stack *s, uint32_t saddr, uint32_t daddr, uint16_t sport,
			    uint16_t dport)
{
	return &s->req_buckets[stack_hash4(s, saddr, daddr, sport, dport) & s->req_mask];
}

struct synq_req *req_lookup(struct synq_stack *s, const struct synq_seg *g)
{
	if (!s->req_live)
		return NULL;
	uint32_t i = s->req_buckets[stack_seg_hash(s, g) & s->req_mask];
	while (i != NIL) {
		struct synq_req *r = &s->reqs[i];
		if (r->saddr == g->saddr && r->sport == g->sport &&
		    s->socks[r->listener].lport == g->dport && req_laddr(s, r) == g->daddr)
			return r;
		i = r->hnext;
	}
	return NULL;
}

static uint64_t req_delay(const struct synq_req *r)
{
	/* reqsk_timeout(): min(T0 << n, TCP_RTO_MAX) */
	uint64_t d = TCP_TIMEOUT_INIT_NS << (r->num_timeout < 8 ? r->num_timeout : 8);
	return d > TCP_RTO_MAX_NS ? TCP_RTO_MAX_NS : d;
}

static int req_class(const struct synq_req *r)
{
	return r->num_timeout < REQ_TCLASSES - 1 ? r->num_timeout : REQ_TCLASSES - 1;
}

static void timer_unlink(struct synq_stack *s, struct synq_req *r)
{
	struct fifo *f = &s->req_timers[req_class(r)];
	uint32_t me = (uint32_t)(r - s->reqs);
	if (f->run == me)
		f->run = (r->tnext != NIL && req_expires(&s->reqs[r->tnext]) == req_expires(r))
			     ? r->tnext
			     : NIL;
	if (r->tprev != NIL)
		s->reqs[r->tprev].tnext = r->tnext;
	else if (f->head == me)
		f->head = r->tnext;
	if (r->tnext != NIL)
		s->reqs[r->tnext].tprev = r->tprev;
	else if (f->tail == me)
		f->tail = r->tprev;
	r->tprev = r->tnext = NIL;
}

/* Arm at now + reqsk_timeout() in the FIFO of its class, which stays sorted; among timers with
 * the same expiry the newest goes first (timer-wheel hlist order, see synq_int.h). */
static void timer_arm(struct synq_stack *s, struct synq_req *r)
{
	uint64_t at = stack_timer_at(s, req_delay(r));
	r->exp_lo = (uint32_t)at;
	r->exp_hi = (uint32_t)(at >> 32);
	struct fifo *f = &s->req_timers[req_class(r)];
	uint32_t me = (uint32_t)(r - s->reqs);
	if (f->tail == NIL || req_expires(&s->reqs[f->tail]) != at) {
		r->tnext = NIL;
		r->tprev = f->tail;
		if (f->tail != NIL)
			s->reqs[f->tail].tnext = me;
		else
			f->head = me;
		f->tail = me;
		f->run = me;
		return;
	}
	uint32_t first = f->run;
	if (first == NIL || req_expires(&s->reqs[first]) != at) {
		first = f->tail; /* find the start of the run of equal expiries */
		while (s->reqs[first].tprev != NIL &&
		       req_expires(&s->reqs[s->reqs[first].tprev]) == at)
			first = s->reqs[first].tprev;
	}
	struct synq_req *fr = &s->reqs[first];
	r->tnext = first;
	r->tprev = fr->tprev;
	if (fr->tprev != NIL)
		s->reqs[fr->tprev].tnext = me;
	else
		f->head = me;
	fr->tprev = me;
	f->run = me;
}

uint64_t req_next_timer(const struct synq_stack *s)
{
	uint64_t t = TIME_NEVER;
	if (rules310(s))
		return t; /* B12 [3.10]: requests are served by their listener's prune timer */
	for (int c = 0; c < REQ_TCLASSES; c++) {
		uint32_t h = s->req_timers[c].head;
		if (h != NIL && req_expires(&s->reqs[h]) < t)
			t = req_expires(&s->reqs[h]);
	}
	return t;
}

/* Unhash and free a request: Q--, and Y-- if its timer never fired (SPEC §3). */
static void req_drop(struct synq_stack *s, struct synq_req *r, const char *why)
{
	struct synq_sock *l = req_listener(s, r);
	uint32_t me = (uint32_t)(r - s->reqs);
	uint32_t *p = req_bucket(s, r->saddr, req_laddr(s, r), r->sport, l->lport);
	while (*p != NIL && *p != me)
		p = &s->reqs[*p].hnext;
	if (*p == me)
		*p = r->hnext;
	timer_unlink(s, r);
	l->qlen--;
	if (r->num_timeout == 0)
		l->young--;
	s->req_live--;
	if (s->cfg.syn_fairness)
		pfx_add(s, r->listener, r->saddr, -1);
	if (why && s->cfg.on_event) {
		struct synq_event ev = {.kind = SYNQ_EV_REQ_GONE, .fd = (int)sk_idx(s, l), .counter = -1,
					.laddr = req_laddr(s, r), .raddr = r->saddr,
					.lport = l->lport, .rport = r->sport, .now_ns = s->now};
		stack_why(s, &ev, why);
		s->cfg.on_event(s->cfg.event_user, &ev);
	}
	r->flags = 0;
	r->hnext = s->req_free;
	s->req_free = me;
	/* B17: a closed listener lives on only while requests point at it */
	if ((l->flags & SK_ZOMBIE_LISTENER) && l->qlen == 0)
		sock_free(s, l);
}

/* ---- SYN-ACK ---------------------------------------------------------------------------- */
static uint32_t req_ts_off(const struct synq_stack *s, const struct synq_req *r)
{
	return stack_ts_off(s, req_laddr(s, r), r->saddr);
}

static uint16_t req_advmss(const struct synq_stack *s, const struct synq_sock *l)
{
	uint16_t m = (uint16_t)(s->cfg.mtu - 40);
	return l->user_mss && l->user_mss < m ? l->user_mss : m;
}

/* the receive window a request offers: tcp_synack_window(), also the child's first window */
static uint32_t req_window(const struct synq_stack *s, const struct synq_sock *l,
			   const struct synq_req *r)
{
	uint16_t mss = req_advmss(s, l);
	if (r->flags & REQ_TS)
		mss = (uint16_t)(mss - TCP_TS_LEN);
	return tcp_syn_window(tcp_rcv_space(l), mss);
}

/* tcp_v4_send_synack(): returns 0 when the segment was queued. cookie_ts: the TSval of a
 * cookie SYN-ACK before the offset (B35), NULL for a request's SYN-ACK; first: the request's
 * first SYN-ACK, whose TSval is r->tsval_first. */
static int send_synack(struct synq_stack *s, struct synq_sock *l, struct synq_req *r,
		       const uint32_t *cookie_ts, int first)
{
	struct synq_seg g;
	memset(&g, 0, sizeof(g));
	g.saddr = req_laddr(s, r);
	g.daddr = r->saddr;
	g.sport = l->lport;
	g.dport = r->sport;
	g.seq = r->snt_isn;
	g.ack = r->rcv_isn + 1;
	g.flags = TCP_SYN | TCP_ACK;
	g.window = (uint16_t)req_window(s, l, r);
	g.opt.present = OPT_MSS;
	g.opt.mss = req_advmss(s, l);
	if (r->flags & REQ_SACK)
		g.opt.present |= OPT_SACK_PERM;
	if (r->flags & REQ_WS) {
		g.opt.present |= OPT_WSCALE;
		g.opt.wscale = r->wscale >> 4;
	}
	if (r->flags & REQ_TS) {
		uint32_t tsval = first ? r->tsval_first /* computed by conn_request: one SipHash */
				       : (cookie_ts ? *cookie_ts : stack_ts_ms(s)) + req_ts_off(s, r);
		g.opt.present |= OPT_TS;
		g.opt.tsval = tsval;
		g.opt.tsecr = r->ts_recent;
	}
	int rc = out_emit(s, &g);
	if (rc == 0 && (r->flags & REQ_TS))
		r->tsval_last = g.opt.tsval; /* snt_tsval_last (B18) */
	return rc;
}

/* tcp_rtx_synack(): TCPSynRetrans, RetransSegs, r++ on success */
static int rtx_synack(struct synq_stack *s, struct synq_sock *l, struct synq_req *r,
		      const char *why)
{
	int rc = send_synack(s, l, r, NULL, 0);
	if (rc == 0) {
		cnt_inc(s, SYNQ_C_TCP_RETRANS_SEGS);
		cnt_inc(s, SYNQ_C_TCP_SYN_RETRANS);
		if (r->num_retrans < 255)
			r->num_retrans++;
		/* events follow the counters they report */
		decision_ev(s, l, req_laddr(s, r), r->saddr, r->sport, SYNQ_C_TCP_SYN_RETRANS, why);
	}
	return rc;
}

/* tcp_openreq_init(): a request from a SYN (options as negotiated) */
static void openreq_init(struct synq_stack *s, struct synq_sock *l, const struct synq_seg *g,
			 struct synq_req *r)
{
	memset(r, 0, sizeof(*r));
	r->saddr = g->saddr;
	r->sport = g->sport;
	r->listener = listener_idx(s, l);
	r->laddr = (uint8_t)stack_local_index(s, g->daddr);
	r->rcv_isn = g->seq;
	/* MSS option (0 is ignored, as Linux does), else 536 (B10), clamped by TCP_MAXSEG */
	r->mss = (g->opt.present & OPT_MSS) && g->opt.mss ? g->opt.mss : TCP_DEFAULT_MSS;
	if (l->user_mss && l->user_mss < r->mss)
		r->mss = l->user_mss;
	r->flags = REQ_LIVE;
	r->tprev = r->tnext = NIL;
	if ((g->opt.present & OPT_TS) && s->cfg.tcp_timestamps) {
		r->flags |= REQ_TS;
		r->ts_recent = g->opt.tsval;
	}
	if ((g->opt.present & OPT_SACK_PERM) && s->cfg.tcp_sack)
		r->flags |= REQ_SACK;
	if ((g->opt.present & OPT_WSCALE) && s->cfg.tcp_window_scaling) {
		uint8_t snd = g->opt.wscale > WIRE_MAX_WSCALE ? WIRE_MAX_WSCALE : g->opt.wscale;
		uint8_t rcv = tcp_choose_wscale(s, tcp_rcv_space(l));
		r->flags |= REQ_WS;
		r->wscale = (uint8_t)(snd | rcv << 4);
	}
}

/* B33-B35, B37: a cookie SYN-ACK; no request is kept, nothing is ever retransmitted */
static void cookie_synack(struct synq_stack *s, struct synq_sock *l, const struct synq_seg *g)
{
	struct synq_req r;
	openreq_init(s, l, g, &r);
	if (!(r.flags & REQ_TS)) /* B35: without timestamps the options cannot be encoded */
		r.flags &= (uint8_t)~(REQ_SACK | REQ_WS);
	r.snt_isn = cookie_v4_init_sequence(s, g, &r.mss);
	cookie_note_overflow(s, l); /* cookie_init_sequence(): tcp_synq_overflow() */
	cnt_inc(s, SYNQ_C_SYNCOOKIES_SENT);
	if (rules310(s)) { /* B37 [3.10]: the request was freed through drop_and_free */
		l->drops++;
		cnt_inc(s, SYNQ_C_LISTEN_DROPS);
	}
	uint32_t ts = cookie_init_timestamp(s, r.flags & REQ_WS, r.wscale & 0xf, r.flags & REQ_SACK, 0);
	decision(s, l, g, SYNQ_C_SYNCOOKIES_SENT,
		 "syn_cookie|B6|SYN queue full (Q > M): SYN cookie sent, nothing stored");
	send_synack(s, l, &r, &ts, 0);
}

/* ---- B5-B10: SYN at a listener (tcp_conn_request) --------------------------------------- */
static void conn_request(struct synq_stack *s, struct synq_sock *l, const struct synq_seg *g,
			 uint32_t tw_isn)
{
	/* B5 step 0: SYN to a broadcast/multicast destination */
	if (g->daddr == 0xffffffffu || (g->daddr >> 28) == 0xe) {
		listendrop(s, l, g, "bad_destination|B5|SYN to a broadcast or multicast address");
		return;
	}
	/* B5 step 2, B6: SYN queue full (or tcp_syncookies = 2): tcp_syn_flood_action() */
	int syncookies = (int)s->cfg.tcp_syncookies;
	int want_cookie = 0;
	if (rules310(s) && syncookies == 2)
		syncookies = 1; /* tcp_syncookies=2 came with 3.12 */
	if (!tw_isn && (syncookies == 2 || (rules310(s) ? synq_full310(l) : synq_full(l)))) {
		if (syncookies) {
			want_cookie = 1;
			cnt_inc(s, SYNQ_C_TCP_REQQ_FULL_DO_COOKIES);
		} else {
			cnt_inc(s, SYNQ_C_TCP_REQQ_FULL_DROP);
		}
		if (!l->synflood_warned && syncookies != 2) { /* B7: once per listener */
			char ip[16];
			l->synflood_warned = 1;
			snprintf(s->msg, sizeof(s->msg),
				 "Possible SYN flooding on port %s:%u. %s.", wire_ip_str(g->daddr, ip),
				 g->dport, want_cookie ? "Sending cookies" : "Dropping request");
			stack_event(s, SYNQ_EV_LOG, (int)sk_idx(s, l), l, 0, s->msg);
			/* (a "|" never occurs in the message, so it is plain text) */
		}
		if (!want_cookie) {
			listendrop(s, l, g, "syn_queue_full|B6|SYN queue full (Q > M) and tcp_syncookies=0");
			return;
		}
	}
	/* B5 step 3, B8: accept queue full at SYN time: silent drop, cookie or not
	 * [3.10: only when more than one request is young] */
	if (acceptq_full(l) && (!rules310(s) || l->young > 1)) {
		listen_overflow(s, l, g, "accept_queue_full|B8|SYN while the accept queue is full (A > M)");
		return;
	}
	/* net.synq.syn_fairness (beyond Linux): a /24 over its share of the SYN queue gets a cookie
	 * when cookies are allowed, else it is dropped */
	if (!want_cookie && s->cfg.syn_fairness && pfx_over_share(s, l, g->saddr)) {
		if (syncookies) {
			want_cookie = 1;
		} else {
			cnt_inc(s, SYNQ_C_SYNQ_FAIRNESS_DROPS);
			listendrop(s, l, g, "fairness|B6|this /24 already holds half of the SYN queue");
			return;
		}
	}
	/* B5 step 4: allocate the request (a cookie SYN needs none) */
	if (!want_cookie && s->req_free == NIL) {
		cnt_inc(s, SYNQ_C_SYNQ_REQ_POOL_FULL);
		listendrop(s, l, g, "no_memory|B5|request pool exhausted (net.synq.max_requests)");
		return;
	}
	/* B9: the last quarter of tcp_max_syn_backlog is kept for proven peers (a saved RTT in
	 * tcp_metrics), only with tcp_syncookies = 0 */
	int64_t msb = s->cfg.tcp_max_syn_backlog;
	if (!want_cookie && !tw_isn && syncookies == 0 && msb - (int64_t)l->qlen < (msb >> 2) &&
	    !tcpm_proven(s, g->saddr)) {
		listendrop(s, l, g, "max_syn_backlog|B9|last quarter of tcp_max_syn_backlog is kept for proven peers");
		return;
	}
	if (want_cookie) {
		cookie_synack(s, l, g);
		return;
	}
	uint32_t me = s->req_free;
	struct synq_req *r = &s->reqs[me];
	s->req_free = r->hnext;

	/* B10: tcp_openreq_init() */
	openreq_init(s, l, g, r);
	/* B5 step 6: ISN */
	r->snt_isn = tw_isn ? tw_isn : stack_isn(s, g->daddr, g->saddr, g->dport, g->sport);
	/* snt_tsval_first; without timestamps, the SYN-ACK's time (ms) for the first RTT sample */
	r->tsval_first = r->tsval_last =
	    stack_ts_ms(s) + ((r->flags & REQ_TS) ? req_ts_off(s, r) : 0);
	r->tprev = r->tnext = NIL;

	/* B10, B51: hash and arm the timer (Q++, Y++), THEN send the SYN-ACK */
	uint32_t *b = &s->req_buckets[stack_seg_hash(s, g) & s->req_mask]; /* r's tuple is g's */
	r->hnext = *b;
	*b = me;
	timer_arm(s, r);
	if (rules310(s) && l->qlen == 0) {
		/* inet_csk_reqsk_queue_added(): the first request arms the listener's timer */
		l->ka_at = stack_timer_at(s, TCP_TIMEOUT_INIT_NS);
		sock_timer_update(s, l);
	}
	l->qlen++;
	l->young++;
	s->req_live++;
	if (s->cfg.syn_fairness)
		pfx_add(s, r->listener, r->saddr, 1);
	if (s->cfg.on_event) {
		struct synq_event ev = {.kind = SYNQ_EV_REQ_NEW, .fd = (int)sk_idx(s, l), .counter = -1,
					.laddr = g->daddr, .raddr = g->saddr, .lport = g->dport,
					.rport = g->sport, .now_ns = s->now};
		stack_why(s, &ev, "request_created|B10|SYN-ACK sent, request in the SYN queue");
		s->cfg.on_event(s->cfg.event_user, &ev);
	}
	send_synack(s, l, r, NULL, 1); /* a failed send leaves the request to its timer (B10, 6.x) */
}

static int cookie_ack(struct synq_stack *s, struct synq_sock *l, const struct synq_seg *g);

/* ---- B30/B31: segment at the listener with no request ----------------------------------- */
void listen_input(struct synq_stack *s, struct synq_sock *l, const struct synq_seg *g,
		  uint32_t tw_isn)
{
	/* B32: tcp_v4_cookie_check() first; then tcp_rcv_state_process(LISTEN): ACK => "reset"
	 * (B30): RST seq = SEG.ACK */
	if (g->flags & TCP_ACK) {
		if (s->cfg.tcp_syncookies && !(g->flags & (TCP_RST | TCP_SYN)) && cookie_ack(s, l, g))
			return;
		if (tcp_send_reset_for(s, g) == 0)
			decision(s, l, g, SYNQ_C_TCP_OUT_RSTS,
				 "rst_no_request|B30|ACK with no request at the listener: RST seq = SEG.ACK");
		return;
	}
	if (g->flags & TCP_RST) {
		stack_drop(s, -1, g, (int)sk_idx(s, l), "rst_at_listener|B31|RST at the listener");
		return;
	}
	if (!(g->flags & TCP_SYN)) {
		stack_drop(s, -1, g, (int)sk_idx(s, l), "no_request|B31|neither SYN nor ACK at the listener");
		return;
	}
	if (g->flags & TCP_FIN) {
		stack_drop(s, -1, g, (int)sk_idx(s, l), "syn_fin|B31|SYN with FIN at the listener");
		return;
	}
	conn_request(s, l, g, tw_isn);
}

/* ---- B26: child creation (tcp_v4_syn_recv_sock + tcp_create_openreq_child) -------------- */
static struct synq_sock *make_child(struct synq_stack *s, struct synq_sock *l, const struct synq_req *r,
				    const struct synq_seg *g)
{
	struct synq_sock *c = sock_alloc(s);
	if (!c)
		return NULL;
	c->laddr = g->daddr;
	c->lport = g->dport;
	c->raddr = g->saddr;
	c->rport = g->sport;
	c->flags |= SK_BOUND | (l->flags & (SK_NODELAY | SK_KEEPALIVE | SK_REUSEADDR));
	c->keepidle = l->keepidle;
	c->keepintvl = l->keepintvl;
	c->keepcnt = l->keepcnt;
	c->user_timeout_ms = l->user_timeout_ms;
	c->user_mss = l->user_mss;
	c->rcvbuf = l->rcvbuf;
	c->sndbuf = l->sndbuf;
	c->iss = r->snt_isn;
	c->snd_una = r->snt_isn; /* the SYN-ACK is acknowledged by the segment being processed */
	c->snd_sml = r->snt_isn;
	c->pushed_seq = r->snt_isn + 1; /* tcp_create_openreq_child: pushed_seq = write_seq */
	c->snd_nxt = c->snd_max = r->snt_isn + 1;
	c->irs = r->rcv_isn;
	c->rcv_nxt = r->rcv_isn + 1;
	c->ts_ok = (r->flags & REQ_TS) != 0;
	c->sack_ok = (r->flags & REQ_SACK) != 0;
	if (r->flags & REQ_WS) {
		c->snd_wscale = r->wscale & 0xf;
		c->rcv_wscale = r->wscale >> 4;
	}
	c->ts_recent = r->ts_recent;
	c->ts_recent_s = (uint32_t)(s->now / NS_PER_S);
	c->ts_off = req_ts_off(s, r);
	c->mss_clamp = r->mss;
	c->advmss = req_advmss(s, l);
	c->rcv_wup = c->rcv_nxt;
	c->rcv_adv = c->rcv_nxt + req_window(s, l, r); /* rcv_wnd = the SYN-ACK's window */
	c->total_retrans = r->num_retrans;
	c->snd_wnd = (uint32_t)g->window << c->snd_wscale;
	c->snd_wl1 = g->seq;
	c->snd_wl2 = g->ack;
	c->max_window = c->snd_wnd;
	tcp_sync_mss(c); /* tcp_v4_syn_recv_sock(): after max_window, so the half-window bound holds */
	c->last_rcv = s->now;
	/* tcp_synack_rtt_meas(): the SYN-ACK RTT, from TSecr or from the SYN-ACK time */
	uint64_t rtt = 0;
	if (c->ts_ok && (g->opt.present & OPT_TS) && g->opt.tsecr)
		rtt = (uint64_t)(uint32_t)(stack_ts_ms(s) + c->ts_off - g->opt.tsecr) * NS_PER_MS;
	else if (!r->num_retrans && !(r->flags & REQ_COOKIE))
		rtt = (uint64_t)(uint32_t)(stack_ts_ms(s) + (c->ts_ok ? c->ts_off : 0) -
					   r->tsval_first) * NS_PER_MS;
	if (rtt || (r->num_retrans == 0 && !(r->flags & REQ_COOKIE)))
		tcp_rtt_sample(s, c, rtt);
	cnt_inc(s, SYNQ_C_TCP_PASSIVE_OPENS);
	c->state = SYNQ_TCP_SYN_RECV;
	sock_hash_insert(s, c);
	return c;
}

/* B26 / B36: create the child from r, take the request (if hashed) out of the SYN queue, queue
 * the child (A++) and let it process g. Returns 0, or -ENOMEM when no socket is free. */
static int child_complete(struct synq_stack *s, struct synq_sock *l, const struct synq_req *r,
			  const struct synq_seg *g, struct synq_req *hashed)
{
	struct synq_sock *c = make_child(s, l, r, g);
	if (!c)
		return -ENOMEM;
	if (hashed)
		req_drop(s, hashed, NULL);
	c->parent = sk_idx(s, l);
	c->flags |= SK_IN_ACCEPTQ;
	c->aq_next = NIL;
	if (l->aq_tail != NIL)
		s->socks[l->aq_tail].aq_next = sk_idx(s, c);
	else
		l->aq_head = sk_idx(s, c);
	l->aq_tail = sk_idx(s, c);
	l->acc_len++;
	tcp_sock_input(s, c, g);
	stack_event(s, SYNQ_EV_ACCEPTABLE, (int)sk_idx(s, l), c, 0, "child_queued|B26|handshake complete, child in the accept queue");
	return 0;
}

/* B32, B33, B35, B36: an ACK at the listener with no request, validated as a cookie
 * (cookie_v4_check / cookie_tcp_check / tcp_get_cookie_sock). Returns 1 when the segment was
 * consumed (child created, or dropped by the accept-queue check), 0 when the listener must
 * answer with RST (B30). */
static int cookie_ack(struct synq_stack *s, struct synq_sock *l, const struct synq_seg *g)
{
	int fd = (int)sk_idx(s, l);
	int recent = cookie_recent_overflow(s, l);
	if (!recent && !rules310(s))
		return 0; /* no cookie sent in the last 120 s: no check, no counter */
	uint16_t mss = recent ? cookie_v4_check(s, g) : 0;
	if (!mss) { /* [3.10]: counted for every stray ACK, recent overflow or not */
		stack_drop(s, SYNQ_C_SYNCOOKIES_FAILED, g, fd, "bad_cookie|B32|ACK is not a valid cookie");
		return 0;
	}
	cnt_inc(s, SYNQ_C_SYNCOOKIES_RECV);
	int saw_ts = (g->opt.present & OPT_TS) != 0;
	uint32_t tsecr = g->opt.tsecr;
	if (saw_ts && tsecr)
		tsecr -= stack_ts_off(s, g->daddr, g->saddr);
	struct cookie_opts o;
	if (!cookie_timestamp_decode(s, saw_ts, tsecr, &o)) {
		stack_drop(s, -1, g, fd, "cookie_options|B35|the cookie's options are disabled now");
		return 0;
	}
	/* cookie_tcp_reqsk_alloc(): the request the SYN would have made */
	struct synq_req r;
	memset(&r, 0, sizeof(r));
	r.saddr = g->saddr;
	r.sport = g->sport;
	r.listener = listener_idx(s, l);
	r.laddr = (uint8_t)stack_local_index(s, g->daddr);
	r.rcv_isn = g->seq - 1;
	r.snt_isn = g->ack - 1;
	r.mss = mss;
	r.flags = REQ_LIVE | REQ_COOKIE;
	if (saw_ts) {
		r.flags |= REQ_TS;
		r.ts_recent = g->opt.tsval;
	}
	if (o.sack_ok)
		r.flags |= REQ_SACK;
	if (o.wscale_ok) {
		r.flags |= REQ_WS;
		r.wscale = (uint8_t)(o.snd_wscale | tcp_choose_wscale(s, tcp_rcv_space(l)) << 4);
	}
	/* B36: the accept queue is checked before the child exists; a cookie ACK that overflows
	 * is dropped silently, even with tcp_abort_on_overflow = 1 */
	if (acceptq_full(l)) {
		listen_overflow(s, l, g, "accept_queue_full|B36|cookie ACK while the accept queue is full (A > M)");
		return 1;
	}
	if (child_complete(s, l, &r, g, NULL) < 0)
		listendrop(s, l, g, "no_memory|B36|no socket for the child");
	return 1;
}

/* ---- B18-B29: a segment for a request (tcp_check_req) ----------------------------------- */
static int tcp_in_window(uint32_t seq, uint32_t end, uint32_t s_win, uint32_t e_win)
{
	if (seq == s_win)
		return 1;
	if (seq_gt(end, s_win) && seq_lt(seq, e_win))
		return 1;
	return seq == e_win && seq == end;
}

/* B20/B23/B28/B30: tcp_v4_send_reset() for a segment (no socket context) */
int tcp_send_reset_for(struct synq_stack *s, const struct synq_seg *g)
{
	if (g->flags & TCP_RST)
		return -EINVAL;
	struct synq_seg r;
	memset(&r, 0, sizeof(r));
	r.saddr = g->daddr;
	r.daddr = g->saddr;
	r.sport = g->dport;
	r.dport = g->sport;
	r.tos = g->tos & (uint8_t)~3u; /* ECN bits cleared */
	if (g->flags & TCP_ACK) {
		r.flags = TCP_RST;
		r.seq = g->ack;
	} else {
		r.flags = TCP_RST | TCP_ACK;
		r.ack = g->seq + seg_seqlen(g);
	}
	return out_emit(s, &r);
}

/* tcp_v4_reqsk_send_ack(): seq = snt_isn + 1, ack = rcv_nxt (B21) */
static void req_send_ack(struct synq_stack *s, struct synq_sock *l, struct synq_req *r)
{
	struct synq_seg g;
	memset(&g, 0, sizeof(g));
	g.saddr = req_laddr(s, r);
	g.daddr = r->saddr;
	g.sport = l->lport;
	g.dport = r->sport;
	g.seq = r->snt_isn + 1;
	g.ack = r->rcv_isn + 1;
	g.flags = TCP_ACK;
	uint32_t w = req_window(s, l, r) >> (r->flags & REQ_WS ? r->wscale >> 4 : 0);
	g.window = (uint16_t)(w > TCP_MAX_WINDOW ? TCP_MAX_WINDOW : w);
	if (r->flags & REQ_TS) {
		g.opt.present = OPT_TS;
		g.opt.tsval = stack_ts_ms(s) + req_ts_off(s, r);
		g.opt.tsecr = r->ts_recent;
	}
	out_emit(s, &g);
}

/* tcp_oow_rate_limited(): data segments without SYN are never limited */
static int oow_limited(struct synq_stack *s, const struct synq_seg *g, uint32_t *last, int counter)
{
	if (seg_seqlen(g) && !(g->flags & TCP_SYN))
		return 0;
	return stack_rate_limited(s, last, counter);
}

/* Returns 0 when the segment was consumed, 1 when it must go to the listener (B20, B17). */
int req_input(struct synq_stack *s, struct synq_req *r, const struct synq_seg *g)
{
	struct synq_sock *l = req_listener(s, r);
	int fd = (int)sk_idx(s, l);
	uint8_t flg = g->flags & (TCP_RST | TCP_SYN | TCP_ACK | TCP_FIN);
	int overflow = 0;

	/* tcp_v4_rcv NEW_SYN_RECV: listener no longer listening => drop the request, look up
	 * again (B17, B43) */
	if (l->state != SYNQ_TCP_LISTEN) {
		req_drop(s, r, "listener_closed|B17|the listener was closed");
		return 1;
	}

	/* B18: PAWS and (6.15+) TSecr within the SYN-ACK TSvals we sent */
	int paws_reject = 0, tsecr_reject = 0;
	if (g->opt.present & OPT_TS) {
		if (g->opt.tsecr && (r->flags & REQ_TS) && !rules310(s))
			tsecr_reject = !seq_between(g->opt.tsecr, r->tsval_first, r->tsval_last);
		/* tcp_paws_reject() with ts_recent_stamp = now - reqsk_timeout */
		if (r->ts_recent && (int32_t)(r->ts_recent - g->opt.tsval) > 0) {
			int rst_ok = (g->flags & TCP_RST) && req_delay(r) >= TCP_PAWS_MSL_S * NS_PER_S;
			paws_reject = !rst_ok;
		}
	}

	/* B19: pure retransmitted SYN */
	if (g->seq == r->rcv_isn && (g->flags & (TCP_RST | TCP_SYN | TCP_ACK)) == TCP_SYN &&
	    !paws_reject) {
		if ((rules310(s) || /* tcp_oow_rate_limited() came with 4.0 */
		     !stack_rate_limited(s, &r->last_oow, SYNQ_C_TCP_ACK_SKIPPED_SYN_RECV)) &&
		    rtx_synack(s, l, r, "dup_syn|B19|retransmitted SYN: SYN-ACK again") == 0) {
			/* mod_timer_pending(now + reqsk_timeout), n unchanged */
			timer_unlink(s, r);
			timer_arm(s, r);
		}
		return 0;
	}

	/* B20: unacceptable ACK number => handled by the listener: RST seq = SEG.ACK, the
	 * request stays */
	if ((flg & TCP_ACK) && g->ack != r->snt_isn + 1)
		return 1;

	/* B21: out of window, PAWS, TSecr */
	uint32_t rcv_nxt = r->rcv_isn + 1;
	if (paws_reject || tsecr_reject ||
	    !tcp_in_window(g->seq, g->seq + seg_seqlen(g), rcv_nxt, rcv_nxt + req_window(s, l, r))) {
		if (!(flg & TCP_RST) &&
		    !oow_limited(s, g, &r->last_oow, SYNQ_C_TCP_ACK_SKIPPED_SYN_RECV))
			req_send_ack(s, l, r);
		if (paws_reject)
			stack_drop(s, SYNQ_C_PAWS_ESTAB, g, fd, "paws|B21|PAWS: TSval older than the request's ts_recent");
		else if (tsecr_reject)
			stack_drop(s, SYNQ_C_TSECR_REJECTED, g, fd, "bad_tsecr|B18|TSecr is none of the SYN-ACK TSvals");
		else
			stack_drop(s, -1, g, fd, "out_of_window|B21|out of the request's window");
		return 0;
	}
	/* in sequence, PAWS ok: remember TSval */
	if ((g->opt.present & OPT_TS) && seq_le(g->seq, rcv_nxt))
		r->ts_recent = g->opt.tsval;

	/* B22: SYN truncation */
	if (g->seq == r->rcv_isn)
		flg &= (uint8_t)~TCP_SYN;

	/* B23: in-window RST or SYN */
	if (flg & (TCP_RST | TCP_SYN)) {
		cnt_inc(s, SYNQ_C_TCP_ATTEMPT_FAILS);
		goto embryonic_reset;
	}
	/* B24: no ACK */
	if (!(flg & TCP_ACK)) {
		stack_drop(s, -1, g, fd, "no_ack|B24|no ACK bit");
		return 0;
	}
	/* B25: TCP_DEFER_ACCEPT drops a bare ACK while n < D */
	if (r->num_timeout < l->defer_accept && g->seq + seg_seqlen(g) == r->rcv_isn + 1) {
		r->flags |= REQ_ACKED;
		stack_drop(s, SYNQ_C_TCP_DEFER_ACCEPT_DROP, g, fd, "defer_accept|B25|bare ACK under TCP_DEFER_ACCEPT");
		return 0;
	}
	/* B26/B27: syn_recv_sock: the accept queue is checked before the child is created */
	if (acceptq_full(l)) {
		listen_overflow(s, l, g, "accept_queue_full|B27|the request's ACK meets a full accept queue (A > M): no child");
		if (!s->cfg.tcp_abort_on_overflow) {
			r->flags |= REQ_ACKED; /* B27: request and timer unchanged, nothing sent */
			return 0;
		}
		overflow = 1;
		goto embryonic_reset; /* B28 */
	}
	/* inet_csk_complete_hashdance(): request out of the SYN queue, child into the accept
	 * queue, then the child processes the same segment (tcp_child_process) */
	struct synq_req copy = *r;
	if (child_complete(s, l, &copy, g, r) < 0)
		listendrop(s, l, g, "no_memory|B26|no socket for the child");
	return 0;

embryonic_reset:
	/* B23/B28: RST unless the segment was one; remove the request; EmbryonicRsts */
	if (!(flg & TCP_RST))
		tcp_send_reset_for(s, g);
	cnt_inc(s, SYNQ_C_EMBRYONIC_RSTS);
	req_drop(s, r, overflow ? "abort_on_overflow|B28|accept queue full, tcp_abort_on_overflow=1: RST"
		 : (g->flags & TCP_RST) ? "rst|B23|RST in window: request removed"
					: "syn_in_window|B23|SYN in window: RST, request removed");
	return 0;
}

/* ---- B11: an ICMP error quoting a request (tcp_req_err) ---------------------------------- */
void req_icmp_err(struct synq_stack *s, struct synq_req *r, const struct synq_seg *q, uint32_t seq,
		  int abort)
{
	struct synq_sock *l = req_listener(s, r);
	int fd = (int)sk_idx(s, l);
	/* RFC 5927 4.1: a request has sent nothing but SYN-ACKs, all with seq = snt_isn */
	if (seq != r->snt_isn) {
		stack_drop(s, SYNQ_C_OUT_OF_WINDOW_ICMPS, q, fd,
			   "icmp_out_of_window|B11|the quoted seq is not the SYN-ACK's: ICMP ignored");
		return;
	}
	if (!abort) {
		stack_drop(s, SYNQ_C_SYNQ_ICMP_IGNORED, q, fd,
			   "icmp_ignored|B11|this ICMP type or code leaves a request alone");
		return;
	}
	/* "Still in SYN_RECV, just remove it silently": no error can reach accept(), nothing is
	 * sent; inet_csk_reqsk_queue_drop() (Q--, Y-- if young) and tcp_listendrop(). The
	 * listener is counted first: req_drop() may free a closed one (B17). */
	listendrop(s, l, q, "icmp_error|B11|ICMP error quoting the SYN-ACK: request removed");
	req_drop(s, r, "icmp_error|B11|ICMP error quoting the SYN-ACK: request removed");
}

/* ---- B12-B17: the request timer (reqsk_timer_handler) ----------------------------------- */
void req_timer_run(struct synq_stack *s, uint64_t now)
{
	/* the earliest head among the class FIFOs */
	struct synq_req *r = NULL;
	for (int c = 0; c < REQ_TCLASSES; c++) {
		uint32_t h = s->req_timers[c].head;
		if (h != NIL && (!r || req_expires(&s->reqs[h]) < req_expires(r)))
			r = &s->reqs[h];
	}
	if (!r || req_expires(r) > now)
		return;
	struct synq_sock *l = req_listener(s, r);
	if (l->state != SYNQ_TCP_LISTEN) { /* B17 */
		req_drop(s, r, "listener_closed|B17|the listener was closed");
		return;
	}
	/* B13/B14: R = TCP_SYNCNT ?: tcp_synack_retries, reduced under SYN-queue pressure */
	int max_retries = (int)(l->syncnt ? l->syncnt : s->cfg.tcp_synack_retries);
	uint32_t qlen = l->qlen;
	uint32_t m8 = l->max_backlog > 8 ? l->max_backlog : 8;
	if ((qlen << 1) > m8) {
		uint64_t young = (uint64_t)l->young << 1;
		while (max_retries > 2) {
			if (qlen < young)
				break;
			max_retries--;
			young <<= 1;
		}
	}
	/* B16: syn_ack_recalc() */
	int expire, resend;
	int acked = (r->flags & REQ_ACKED) != 0;
	if (!l->defer_accept) {
		expire = r->num_timeout >= max_retries;
		resend = 1;
	} else {
		expire = r->num_timeout >= max_retries && (!acked || r->num_timeout >= l->defer_accept);
		resend = !acked || r->num_timeout >= l->defer_accept - 1;
	}
	cnt_inc(s, SYNQ_C_TCP_TIMEOUTS); /* tcp_syn_ack_timeout(): every firing */
	if (!expire &&
	    (!resend || rtx_synack(s, l, r, "synack_rtx|B12|SYN-ACK timer: retransmission") == 0 ||
	     acked)) {
		timer_unlink(s, r);
		if (r->num_timeout++ == 0)
			l->young--;
		if (r->num_timeout == 0) /* u8 wrap guard: keep the class >= 7 */
			r->num_timeout = 255;
		timer_arm(s, r);
		return;
	}
	/* B12: silent expiry, nothing sent */
	req_drop(s, r, expire ? "request_expired|B12|SYN-ACK retries exhausted"
			      : "synack_failed|B12|SYN-ACK retransmission failed");
}

/* ---- B12 [3.10]: the listener's prune timer (inet_csk_reqsk_queue_prune) ------------------ */
/* 3.10 keeps requests in a table of N buckets (inet_synq_hash of the peer address and port) and
 * has no timer per request: every TCP_SYNQ_INTERVAL (200 ms) the listener's timer scans
 * 2 * (N / 5) buckets from its clock hand and serves the requests whose time has come. */
static uint32_t bucket310(const struct synq_stack *s, const struct synq_sock *l,
			  const struct synq_req *r)
{
	return stack_hash4(s, r->saddr, 0, r->sport, 0) & (l->synq_n - 1);
}

#define PRUNE_BATCH 256

void listen_prune(struct synq_stack *s, struct synq_sock *l)
{
	l->ka_at = TIME_NEVER;
	if (l->state != SYNQ_TCP_LISTEN || !l->qlen)
		return;
	uint32_t n = l->synq_n, log = 0;
	while ((1u << (log + 1)) <= n)
		log++;
	int thresh = (int)(l->syncnt ? l->syncnt : s->cfg.tcp_synack_retries);
	int max_retries = thresh;
	if (l->qlen >> (log - 1)) { /* B13 [3.10]: Q >= N / 2 */
		uint64_t young = (uint64_t)l->young << 1;
		while (thresh > 2) {
			if (l->qlen < young)
				break;
			thresh--;
			young <<= 1;
		}
	}
	if (l->defer_accept)
		max_retries = l->defer_accept;
	uint32_t budget = 2 * (n / 5), hand = l->clock_hand;
	if (!budget)
		budget = 1;
	/* the due requests in the buckets scanned this time, in scan order */
	uint32_t due[PRUNE_BATCH], pos[PRUNE_BATCH], k = 0;
	uint32_t l_idx = sk_idx(s, l);
	for (int c = 0; c < REQ_TCLASSES; c++)
		for (uint32_t i = s->req_timers[c].head; i != NIL && k < PRUNE_BATCH;
		     i = s->reqs[i].tnext) {
			const struct synq_req *r = &s->reqs[i];
			if (r->listener != l_idx || req_expires(r) > s->now)
				continue;
			uint32_t p = (bucket310(s, l, r) - hand) & (n - 1);
			if (p >= budget)
				continue;
			uint32_t j = k++; /* insertion sort by scan position */
			while (j && pos[j - 1] > p) {
				pos[j] = pos[j - 1];
				due[j] = due[j - 1];
				j--;
			}
			pos[j] = p;
			due[j] = i;
		}
	for (uint32_t j = 0; j < k; j++) {
		struct synq_req *r = &s->reqs[due[j]];
		int acked = (r->flags & REQ_ACKED) != 0, expire, resend;
		if (!l->defer_accept) {
			expire = r->num_timeout >= thresh;
			resend = 1;
		} else {
			expire = r->num_timeout >= thresh && (!acked || r->num_timeout >= max_retries);
			resend = !acked || r->num_timeout >= l->defer_accept - 1;
		}
		cnt_inc(s, SYNQ_C_TCP_TIMEOUTS);
		if (!expire &&
		    (!resend || rtx_synack(s, l, r, "synack_rtx|B12|prune timer: retransmission") == 0 ||
		     acked)) {
			timer_unlink(s, r);
			if (r->num_timeout++ == 0)
				l->young--;
			timer_arm(s, r);
			continue;
		}
		req_drop(s, r, expire ? "request_expired|B12|SYN-ACK retries exhausted"
				      : "synack_failed|B12|SYN-ACK retransmission failed");
		if (!(l->flags & SK_USED))
			return;
	}
	l->clock_hand = (hand + budget) & (n - 1);
	if (l->qlen)
		l->ka_at = stack_timer_at(s, 200 * NS_PER_MS); /* TCP_SYNQ_INTERVAL */
}

/* ---- B43: closing a listener (inet_csk_listen_stop) ------------------------------------- */
void listen_stop(struct synq_stack *s, struct synq_sock *l)
{
	/* queued children: RST|ACK (seq = snd_nxt, ack = rcv_nxt), destroyed */
	uint32_t i = l->aq_head;
	while (i != NIL) {
		struct synq_sock *c = &s->socks[i];
		i = c->aq_next;
		c->flags &= (uint16_t)~SK_IN_ACCEPTQ;
		c->flags |= SK_ORPHAN;
		c->parent = NIL;
		if (c->state == SYNQ_TCP_ESTABLISHED || c->state == SYNQ_TCP_CLOSE_WAIT ||
		    c->state == SYNQ_TCP_SYN_RECV || c->state == SYNQ_TCP_FIN_WAIT1 ||
		    c->state == SYNQ_TCP_FIN_WAIT2 || c->state == SYNQ_TCP_CLOSING ||
		    c->state == SYNQ_TCP_LAST_ACK)
			tcp_send_active_reset(s, c);
		if (c->state == SYNQ_TCP_CLOSE) {
			sock_free(s, c);
		} else {
			tcp_done(s, c, -ECONNRESET);
		}
	}
	l->aq_head = l->aq_tail = NIL;
	l->acc_len = 0;
	/* requests are not touched: they die at their next timer firing or segment (B43).
	 * [3.10] the listener owned its request table: reqsk_queue_destroy() freed them all */
	if (rules310(s)) {
		uint32_t me = sk_idx(s, l);
		for (int c = 0; c < REQ_TCLASSES; c++) {
			uint32_t ri = s->req_timers[c].head;
			while (ri != NIL) {
				uint32_t next = s->reqs[ri].tnext;
				if (s->reqs[ri].listener == me)
					req_drop(s, &s->reqs[ri], "listener_closed|B43|the listener was closed");
				ri = next;
			}
		}
	}
}
