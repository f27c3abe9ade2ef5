/*
 * tcp_in.c — segment arrival for full sockets, by state (RFC 9293 3.10.7, as Linux's
 * tcp_rcv_state_process / tcp_validate_incoming / tcp_ack / tcp_data_queue do it):
 *   SYN-SENT (B38-B40 client side), SYN-RECEIVED (children), the synchronized states with
 *   PAWS (RFC 7323 5), RFC 5961 challenge ACKs (B39) and RST checks, in-order data, FIN and the
 *   close states, TIME-WAIT.
 * Out-of-order segments are not queued yet (seam: reassembly): they draw a duplicate ACK.
 * ACKs are delayed as Linux 6.18 delays them (tcp_event_data_recv, __tcp_ack_snd_check, tcp_fin,
 * quick-ack and ping-pong modes; the timer is tcp_out.c's tcp_send_delayed_ack).
 * Also tcp_v4_err() for full sockets: ICMP errors quoting a connection (B11, RFC 1122 4.2.3.9).
 *
 * SPDX-License-Identifier: MIT
 */
#include "core/synq_int.h"

/* TCP_TIMEOUT_MIN is 2 jiffies: 8 ms at HZ=250, the kernel of ../shared/kernel-truth */
#define TCP_TIMEOUT_MIN_NS (8 * NS_PER_MS)
/* TCP_TIMEOUT_FALLBACK: the RTO after a handshake without RTT sample (RFC 6298 5.7) */
#define TCP_TIMEOUT_FALLBACK_NS (3 * NS_PER_S)

static int fd_of(const struct synq_stack *s, const struct synq_sock *sk) { return (int)sk_idx(s, sk); }

/* RFC 5961 / tcp_send_challenge_ack(): per-socket 500 ms limit (TCPACKSkippedChallenge);
 * tcp_challenge_ack_limit is INT_MAX on 6.18, so no global limit. */
static void send_challenge_ack(struct synq_stack *s, struct synq_sock *sk)
{
	if (stack_rate_limited(s, &sk->last_oow, SYNQ_C_TCP_ACK_SKIPPED_CHALLENGE))
		return;
	cnt_inc(s, SYNQ_C_TCP_CHALLENGE_ACK);
	tcp_send_ack(s, sk);
}

static void send_dupack_data(struct synq_stack *s, struct synq_sock *sk,
			     const struct synq_seg *g);

/* A rate-limited duplicate ACK; lost: tcp_send_dupack() of a synchronized socket (not a
 * TIME-WAIT one), which also notices old data */
static void send_dupack(struct synq_stack *s, struct synq_sock *sk, const struct synq_seg *g,
			int counter, int lost)
{
	/* tcp_oow_rate_limited(): data without SYN is never limited */
	if (!(seg_seqlen(g) && !(g->flags & TCP_SYN)) && stack_rate_limited(s, &sk->last_oow, counter))
		return;
	if (lost)
		send_dupack_data(s, sk, g);
	else
		tcp_send_ack(s, sk);
}

/* ---- delayed ACKs on arrival (Linux 6.18 tcp_input.c) -------------------------------------- */
/* tp->advmss: the MSS we announced, less the timestamp option once it is in use */
static uint32_t rcv_advmss(const struct synq_sock *sk)
{
	uint32_t m = sk->advmss;
	if (sk->user_mss && sk->user_mss < m)
		m = sk->user_mss;
	return m - (sk->ts_ok ? TCP_TS_LEN : 0);
}

/* tcp_initialize_rcv_mss(): the first guess at the peer's MSS, on purpose an underestimate
 * (536 at most) that tcp_measure_rcv_mss() corrects; rcv_wnd is the window offered so far */
void tcp_init_rcv_mss(struct synq_sock *sk, uint32_t rcv_wnd)
{
	uint32_t hint = rcv_advmss(sk) < sk->mss ? rcv_advmss(sk) : sk->mss;
	if (hint > rcv_wnd / 2)
		hint = rcv_wnd / 2;
	if (hint > TCP_MSS_DEFAULT)
		hint = TCP_MSS_DEFAULT;
	if (hint < TCP_MIN_MSS)
		hint = TCP_MIN_MSS;
	sk->rcv_mss = (uint16_t)hint;
}

/* tcp_measure_rcv_mss(): a segment at least rcv_mss long sets it (at most our advmss; with PSH
 * it is likely the end of a write: ICSK_ACK_PUSHED); a shorter one counts only when two in a
 * row have the same length, header included, and is otherwise a pushed one (PUSHED, then
 * PUSHED2) */
static void measure_rcv_mss(struct synq_sock *sk, const struct synq_seg *g)
{
	uint32_t lss = sk->last_seg_size, len = g->len;
	sk->last_seg_size = 0;
	if (len >= sk->rcv_mss) {
		uint32_t adv = rcv_advmss(sk);
		sk->rcv_mss = (uint16_t)(len < adv ? len : adv);
		if (g->flags & TCP_PSH)
			sk->ack_pending |= ICSK_ACK_PUSHED;
		return;
	}
	len += g->hdr_len; /* "len" is invariant segment length, including TCP header */
	if (len >= TCP_MSS_DEFAULT + WIRE_TCP_HDR ||
	    (len >= TCP_MIN_MSS + WIRE_TCP_HDR &&
	     !(g->flags & (TCP_FIN | TCP_URG | TCP_SYN | TCP_PSH)))) {
		len -= WIRE_TCP_HDR + (sk->ts_ok ? TCP_TS_LEN : 0); /* tp->tcp_header_len */
		sk->last_seg_size = (uint16_t)len;
		if (len == lss) {
			sk->rcv_mss = (uint16_t)len;
			return;
		}
	}
	if (sk->ack_pending & ICSK_ACK_PUSHED)
		sk->ack_pending |= ICSK_ACK_PUSHED2;
	sk->ack_pending |= ICSK_ACK_PUSHED;
}

/* tcp_incr_quickack(): up to max quick ACKs, rcv_wnd / (2 * rcv_mss) of them (2 at least) */
static void incr_quickack(struct synq_sock *sk, unsigned max_quickacks)
{
	uint32_t mss = sk->rcv_mss ? sk->rcv_mss : TCP_MIN_MSS;
	uint32_t q = (sk->rcv_adv - sk->rcv_wup) / (2 * mss);
	if (!q)
		q = 2;
	if (q > max_quickacks)
		q = max_quickacks;
	if (q > sk->ack_quick)
		sk->ack_quick = (uint8_t)q;
}

/* tcp_enter_quickack_mode(): ACK at once for a while, and not interactive any more */
void tcp_enter_quickack_mode(struct synq_stack *s, struct synq_sock *sk, unsigned max_quickacks)
{
	incr_quickack(sk, max_quickacks);
	sk->ack_pingpong = 0; /* inet_csk_exit_pingpong_mode() */
	sk->ato = ack_ticks(s, TCP_ATO_MIN_NS);
}

/* tcp_in_quickack_mode() (no route carries RTAX_QUICKACK here) */
static int in_quickack_mode(const struct synq_stack *s, const struct synq_sock *sk)
{
	return sk->ack_quick && !tcp_in_pingpong_mode(s, sk);
}

/* tcp_event_data_recv(): in-sequence data was queued. The first data starts quick-ack mode and
 * ato at TCP_ATO_MIN; then ato follows the gaps between data segments: a gap of at most
 * ATO_MIN / 2 pulls it towards ATO_MIN, a gap below ato halves the difference (never above the
 * RTO), a gap longer than the RTO means the sender had stopped: quick ACKs again.
 * tcp_grow_window() (a growing rcv_ssthresh also sets quick |= 1) has no counterpart: synq's
 * window is its free space, which Linux's rcv_ssthresh never limits with default buffers. */
static void event_data_recv(struct synq_stack *s, struct synq_sock *sk, const struct synq_seg *g)
{
	sk->ack_pending |= ICSK_ACK_SCHED; /* inet_csk_schedule_ack() */
	measure_rcv_mss(sk, g);
	uint32_t now = ack_now(s), ato_min = ack_ticks(s, TCP_ATO_MIN_NS);
	if (!sk->ato) {
		incr_quickack(sk, TCP_MAX_QUICKACKS);
		sk->ato = ato_min;
	} else {
		uint32_t m = now - sk->lrcvtime, rto = ack_ticks(s, sk->rto_ns);
		if (m <= ato_min / 2) { /* "The fastest case is the first." */
			sk->ato = (sk->ato >> 1) + ato_min / 2;
		} else if (m < sk->ato) {
			sk->ato = (sk->ato >> 1) + m;
			if (sk->ato > rto)
				sk->ato = rto;
		} else if (m > rto) {
			incr_quickack(sk, TCP_MAX_QUICKACKS); /* too long gap */
		}
	}
	sk->lrcvtime = now;
}

/* __tcp_ack_snd_check() when an ACK is due (tcp_ack_snd_check): at once when more than one
 * full segment is unacknowledged and the window it offers would not be smaller than the last
 * (or nothing is left unread), in quick-ack mode, or when ICSK_ACK_NOW asks for it; else
 * delayed. Out-of-order data (no reassembly queue here) sets ICSK_ACK_NOW: Linux sends its
 * duplicate ACK at once for an out-of-order queue. */
static void ack_snd_check(struct synq_stack *s, struct synq_sock *sk)
{
	if (!(sk->ack_pending & ICSK_ACK_SCHED))
		return; /* "We sent a data segment already." */
	uint32_t unread = sk->rx.len + ((sk->flags & SK_FIN_RCVD) ? 1u : 0u); /* rcv_nxt - copied_seq */
	if ((sk->rcv_nxt - sk->rcv_wup > sk->rcv_mss &&
	     (unread < 1 /* sk_rcvlowat */ ||
	      tcp_select_window_now(sk) >= sk->rcv_adv - sk->rcv_wup)) ||
	    in_quickack_mode(s, sk) || (sk->ack_pending & ICSK_ACK_NOW)) {
		tcp_send_ack(s, sk);
		return;
	}
	tcp_send_delayed_ack(s, sk);
}

/* tcp_send_dupack(): a segment with data (or FIN) that is all or partly old says our ACK was
 * lost or late: TcpExtDelayedACKLost, and quick ACKs to help the sender recover */
static void send_dupack_data(struct synq_stack *s, struct synq_sock *sk, const struct synq_seg *g)
{
	if (seg_seqlen(g) && seq_lt(g->seq, sk->rcv_nxt)) {
		cnt_inc(s, SYNQ_C_DELAYED_ACK_LOST);
		tcp_enter_quickack_mode(s, sk, TCP_MAX_QUICKACKS);
	}
	tcp_send_ack(s, sk);
}

/* tcp_reset_check(): an RST at rcv_nxt - 1 is also accepted in CLOSE-WAIT, LAST-ACK and
 * CLOSING (the peer's FIN took that sequence number; Linux's tcp_validate_incoming) */
static int reset_check(const struct synq_sock *sk, const struct synq_seg *g)
{
	return g->seq == sk->rcv_nxt - 1 &&
	       (sk->state == SYNQ_TCP_CLOSE_WAIT || sk->state == SYNQ_TCP_LAST_ACK ||
		sk->state == SYNQ_TCP_CLOSING);
}

/* tcp_reset(): the peer reset us */
static void peer_reset(struct synq_stack *s, struct synq_sock *sk)
{
	int err;
	switch (sk->state) {
	case SYNQ_TCP_SYN_SENT:
		err = -ECONNREFUSED;
		break;
	case SYNQ_TCP_CLOSE_WAIT:
		err = -EPIPE;
		break;
	case SYNQ_TCP_CLOSE:
		return;
	default:
		err = -ECONNRESET;
	}
	/* TcpEstabResets is counted by tcp_done() (tcp_set_state(TCP_CLOSE) from ESTABLISHED or
	 * CLOSE-WAIT), whatever closed the connection */
	if (sk->state == SYNQ_TCP_TIME_WAIT) /* RFC 1337 not applied (tcp_rfc1337 = 0) */
		err = 0;
	tcp_done(s, sk, err);
}

static void parse_synack_opts(struct synq_stack *s, struct synq_sock *sk, const struct synq_seg *g)
{
	sk->mss_clamp = (g->opt.present & OPT_MSS) && g->opt.mss ? g->opt.mss : TCP_DEFAULT_MSS;
	if (sk->user_mss && sk->user_mss < sk->mss_clamp)
		sk->mss_clamp = sk->user_mss;
	if ((g->opt.present & OPT_WSCALE) && s->cfg.tcp_window_scaling) {
		sk->snd_wscale = g->opt.wscale > WIRE_MAX_WSCALE ? WIRE_MAX_WSCALE : g->opt.wscale;
	} else {
		sk->snd_wscale = 0;
		sk->rcv_wscale = 0;
	}
	sk->sack_ok = (g->opt.present & OPT_SACK_PERM) && s->cfg.tcp_sack;
	if ((g->opt.present & OPT_TS) && s->cfg.tcp_timestamps) {
		sk->ts_ok = 1;
		sk->ts_recent = g->opt.tsval;
		sk->ts_recent_s = (uint32_t)(s->now / NS_PER_S);
	} else {
		sk->ts_ok = 0;
	}
	tcp_sync_mss(sk);
}

/* ---- SYN-SENT (RFC 9293 3.10.7.3, tcp_rcv_synsent_state_process) ------------------------ */
static void synsent_input(struct synq_stack *s, struct synq_sock *sk, const struct synq_seg *g)
{
	if (g->flags & TCP_ACK) {
		/* unacceptable ACK: RST seq = SEG.ACK (unless RST) */
		if (seq_le(g->ack, sk->iss) || seq_gt(g->ack, sk->snd_nxt)) {
			/* "Previous FIN/ACK or RST/ACK might be ignored": before any retransmission,
			 * Linux resends the SYN after TCP_TIMEOUT_MIN (tcp_rcv_synsent_state_process) */
			if (!sk->retransmits) {
				sk->rtx_at = stack_timer_at(s, TCP_TIMEOUT_MIN_NS);
				sk->rtx_tlp = 0;
				sock_timer_update(s, sk);
			}
			if (!(g->flags & TCP_RST))
				tcp_send_reset_for(s, g);
			stack_drop(s, -1, g, fd_of(s, sk), "bad_ack||unacceptable ACK in SYN-SENT (RFC 9293 3.10.7.3)");
			return;
		}
		if (g->flags & TCP_RST) {
			peer_reset(s, sk); /* ECONNREFUSED */
			return;
		}
		if (!(g->flags & TCP_SYN)) {
			stack_drop(s, -1, g, fd_of(s, sk), "no_syn||ACK without SYN in SYN-SENT");
			return;
		}
		/* SYN-ACK: established (B39: connect() succeeds even if the server overflows) */
		sk->irs = g->seq;
		sk->rcv_nxt = g->seq + 1;
		sk->rcv_wup = sk->rcv_nxt;
		/* rcv_wnd is our SYN's window until the first ACK offers one (tcp_connect_init) */
		sk->rcv_adv = sk->rcv_nxt + tcp_syn_window(tcp_rcv_space(sk), sk->advmss);
		sk->snd_una = g->ack;
		parse_synack_opts(s, sk, g);
		sk->snd_wnd = g->window; /* SYN windows are never scaled (RFC 7323 2.2) */
		sk->max_window = sk->snd_wnd;
		tcp_sync_mss(sk); /* bounded to half the window (tcp_bound_to_half_wnd) */
		sk->snd_wl1 = g->seq;
		sk->snd_wl2 = g->ack;
		if (sk->rtt_time && !sk->retransmits)
			tcp_rtt_sample(s, sk, s->now - sk->rtt_time);
		else if (sk->ts_ok && g->opt.tsecr)
			tcp_rtt_sample(s, sk, (uint64_t)(uint32_t)(stack_ts_ms(s) + sk->ts_off -
								   g->opt.tsecr) * NS_PER_MS);
		else if (!sk->srtt_ns) {
			/* RFC 6298 5.7 (tcp_init_metrics): no RTT sample from the handshake (the SYN
			 * was retransmitted): the RTO restarts at 3 s, not at the backed-off value */
			sk->rttvar_ns = TCP_TIMEOUT_FALLBACK_NS;
			sk->rto_ns = TCP_TIMEOUT_FALLBACK_NS;
		}
		sk->rtt_time = 0;
		sk->retransmits = 0;
		sk->retrans_stamp = 0;
		sk->rtx_at = TIME_NEVER;
		sk->rtx_tlp = 0;
		sk->last_rcv = s->now;
		sock_set_state(s, sk, SYNQ_TCP_ESTABLISHED);
		/* tcp_initialize_rcv_mss() with the window of our SYN; tcp_finish_connect() starts
		 * the clock of the last data received */
		tcp_init_rcv_mss(sk, sk->rcv_adv - sk->rcv_wup);
		sk->lrcvtime = ack_now(s);
		if (sk->defer_accept || tcp_in_pingpong_mode(s, sk)) {
			/* "Save one ACK. Data will be ready after several ticks": under
			 * TCP_DEFER_ACCEPT or TCP_QUICKACK 0 the handshake's ACK waits for the first
			 * write, at most TCP_DELACK_MAX, in quick-ack mode */
			sk->ack_pending |= ICSK_ACK_SCHED;
			tcp_enter_quickack_mode(s, sk, TCP_MAX_QUICKACKS);
			sk->ack_pending |= ICSK_ACK_TIMER;
			sk->dack_timeout = ack_now(s) + ack_ticks(s, TCP_DELACK_MAX_NS);
			sk->dack_at = stack_timer_at(s, TCP_DELACK_MAX_NS);
		} else {
			tcp_send_ack(s, sk);
		}
		tcp_set_keepalive_timer(s, sk);
		sock_timer_update(s, sk);
		stack_event(s, SYNQ_EV_CONNECTED, fd_of(s, sk), sk, 0, NULL);
		tcp_push(s, sk);
		return;
	}
	if (g->flags & TCP_RST) {
		stack_drop(s, -1, g, fd_of(s, sk), "rst_no_ack||RST without ACK in SYN-SENT");
		return;
	}
	if (g->flags & TCP_SYN) {
		/* simultaneous open: SYN-RECEIVED, SYN-ACK with our ISN */
		sk->irs = g->seq;
		sk->rcv_nxt = g->seq + 1;
		sk->rcv_wup = sk->rcv_nxt;
		sk->rcv_adv = sk->rcv_nxt;
		parse_synack_opts(s, sk, g);
		sk->snd_wnd = g->window;
		sk->snd_wl1 = g->seq;
		sock_set_state(s, sk, SYNQ_TCP_SYN_RECV);
		tcp_update_rcv_adv(sk);
		tcp_send_syn(s, sk, 1);
		return;
	}
	stack_drop(s, -1, g, fd_of(s, sk), "no_syn||segment without SYN in SYN-SENT");
}

/* tcp_paws_discard(): TSval older than ts_recent (RFC 7323 5.3), unless ts_recent is older than
 * 24 days; an RST is never rejected here */
static int paws_reject(const struct synq_stack *s, const struct synq_sock *sk,
		       const struct synq_seg *g)
{
	return sk->ts_ok && (g->opt.present & OPT_TS) && sk->ts_recent &&
	       (int32_t)(sk->ts_recent - g->opt.tsval) > 0 &&
	       (uint32_t)(s->now / NS_PER_S) - sk->ts_recent_s < 24u * 24 * 3600 &&
	       !(g->flags & TCP_RST);
}

/* ---- TIME-WAIT (tcp_timewait_state_process, TIME_WAIT substate) ------------------------- */
static void timewait_input(struct synq_stack *s, struct synq_sock *sk, const struct synq_seg *g)
{
	int paws = paws_reject(s, sk, g);
	uint32_t end = g->seq + seg_seqlen(g);
	/* "In window segment, it may be only reset or bare ack": exactly at rcv_nxt */
	if (!paws && g->seq == sk->rcv_nxt && (g->seq == end || (g->flags & TCP_RST))) {
		if (g->flags & TCP_RST) {
			tcp_done(s, sk, 0); /* TIME-WAIT assassination: tcp_rfc1337 = 0 */
			return;
		}
		sk->tw_at = stack_timer_at(s, TCP_TIMEWAIT_NS);
		sock_timer_update(s, sk);
		if (sk->ts_ok && (g->opt.present & OPT_TS)) {
			sk->ts_recent = g->opt.tsval;
			sk->ts_recent_s = (uint32_t)(s->now / NS_PER_S);
		}
		return;
	}
	/* TCP_TW_SYN: a new SYN above rcv_nxt (or with a newer TSval) may open a new incarnation
	 * through the listener, with isn = snd_nxt + 65535 + 2 (B5 step 1) */
	if ((g->flags & TCP_SYN) && !(g->flags & (TCP_RST | TCP_ACK)) && !paws &&
	    (seq_gt(g->seq, sk->rcv_nxt) ||
	     (sk->ts_ok && (g->opt.present & OPT_TS) && (int32_t)(sk->ts_recent - g->opt.tsval) < 0))) {
		struct synq_sock *l = listener_lookup(s, g->daddr, g->dport);
		if (l) {
			uint32_t isn = sk->snd_nxt + 65535 + 2;
			tcp_done(s, sk, 0);
			listen_input(s, l, g, isn ? isn : 1);
			return;
		}
		/* no listener: tcp_v4_rcv falls through to TCP_TW_ACK */
		tcp_send_ack(s, sk);
		return;
	}
	if (paws)
		stack_drop(s, SYNQ_C_PAWS_ESTAB, g, fd_of(s, sk), "paws||PAWS reject in TIME-WAIT");
	if (!(g->flags & TCP_RST)) {
		/* anything else (a retransmitted FIN, an old segment): re-ACK, rate limited unless
		 * it carries data or FIN (tcp_timewait_check_oow_rate_limit), and restart the 60 s
		 * unless it is an ACK-less SYN */
		if (paws || (g->flags & TCP_ACK)) {
			sk->tw_at = stack_timer_at(s, TCP_TIMEWAIT_NS);
			sock_timer_update(s, sk);
		}
		send_dupack(s, sk, g, SYNQ_C_TCP_ACK_SKIPPED_PAWS, 0); /* TCPACKSkippedTimeWait */
	}
}

/* ---- ACK processing (tcp_ack) ----------------------------------------------------------- */
/* tcp_rcv_established()'s header prediction takes in-order data without calling tcp_ack() when
 * it acknowledges nothing new (an approximation of pred_flags: plain ACK/PSH, same window, the
 * expected timestamp option) */
static int skips_tcp_ack(const struct synq_sock *sk, const struct synq_seg *g)
{
	return sk->state == SYNQ_TCP_ESTABLISHED && g->len && g->seq == sk->rcv_nxt &&
	       g->ack == sk->snd_una &&
	       (g->flags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_URG | TCP_ACK)) == TCP_ACK &&
	       ((uint32_t)g->window << sk->snd_wscale) == sk->snd_wnd &&
	       !!(g->opt.present & OPT_TS) == !!sk->ts_ok;
}

static void ack_advance(struct synq_stack *s, struct synq_sock *sk, const struct synq_seg *g)
{
	uint32_t ack = g->ack;
	/* tcp_ack(): "We passed data and got it acked, remove any soft error log" (B11) */
	if (!skips_tcp_ack(sk, g))
		sk->err_soft = 0;
	if (seq_gt(ack, sk->snd_una)) {
		uint32_t acked = ack - sk->snd_una;
		/* SYN and FIN take sequence space but no buffer bytes */
		uint32_t data = acked;
		if (seq_le(sk->snd_una, sk->iss) && seq_gt(ack, sk->iss))
			data--;
		if ((sk->flags & SK_FIN_SENT) && ack == sk->snd_nxt)
			data--;
		ring_drop(&sk->tx, data);
		sk->snd_una = ack;
		/* RTT: timestamps (RFC 7323 4) or Karn's timed segment */
		/* RFC 7323 4.1: the echoed TSval times retransmitted data too (Linux's
		 * tcp_clean_rtx_queue falls back to tcp_rtt_tsopt_us when Karn forbids the
		 * sequence sample), so the backed-off RTO is recomputed */
		if (sk->ts_ok && (g->opt.present & OPT_TS) && g->opt.tsecr)
			tcp_rtt_sample(s, sk, (uint64_t)(uint32_t)(stack_ts_ms(s) + sk->ts_off -
								   g->opt.tsecr) * NS_PER_MS);
		else if (sk->rtt_time && seq_ge(ack, sk->rtt_seq))
			tcp_rtt_sample(s, sk, s->now - sk->rtt_time);
		if (sk->rtt_time && seq_ge(ack, sk->rtt_seq))
			sk->rtt_time = 0;
		sk->retransmits = 0;
		sk->retrans_stamp = 0;
		sk->probes_out = 0;
		if (sk->tlp_out && seq_ge(ack, sk->tlp_high))
			sk->tlp_out = 0; /* tcp_process_tlp_ack() */
		if (sk->snd_una == sk->snd_nxt) {
			sk->rtx_at = TIME_NEVER;
			sk->rtx_tlp = 0;
		} else {
			tcp_set_xmit_timer(s, sk);
		}
		sock_timer_update(s, sk);
		if (acked && !(sk->flags & SK_ORPHAN))
			stack_event(s, SYNQ_EV_WRITABLE, fd_of(s, sk), sk, 0, NULL);
	}
	/* window update (RFC 9293 3.10.7.4, snd_wl1/snd_wl2) */
	if (seq_lt(sk->snd_wl1, g->seq) || (sk->snd_wl1 == g->seq && seq_le(sk->snd_wl2, ack))) {
		uint32_t old = sk->snd_wnd;
		sk->snd_wnd = (uint32_t)g->window << sk->snd_wscale;
		sk->snd_wl1 = g->seq;
		sk->snd_wl2 = ack;
		if (sk->snd_wnd > sk->max_window) {
			sk->max_window = sk->snd_wnd;
			tcp_sync_mss(sk); /* tcp_ack_update_window() */
		}
		if (!old && sk->snd_wnd && sk->snd_una == sk->snd_nxt) {
			sk->rtx_at = TIME_NEVER; /* window opened: stop probing */
			sk->rtx_tlp = 0;
		}
	}
}

/* our FIN is acknowledged */
static int fin_acked(const struct synq_sock *sk)
{
	return (sk->flags & SK_FIN_SENT) && sk->snd_una == sk->snd_nxt;
}

/* ---- step 7: the segment text (tcp_data_queue) ------------------------------------------ */
/* tcp_fin(): the peer's FIN is in sequence. ESTABLISHED moves to CLOSE-WAIT in ping-pong mode:
 * the application is expected to answer, and its data or FIN will carry the ACK, else the
 * delayed ACK does (a FIN after data is ACKed ato later). FIN-WAIT-1 (simultaneous close) and
 * FIN-WAIT-2 ACK at once. Returns 1 when the socket entered TIME-WAIT. */
static int tcp_fin(struct synq_stack *s, struct synq_sock *sk)
{
	sk->ack_pending |= ICSK_ACK_SCHED; /* inet_csk_schedule_ack() */
	sk->rcv_nxt++;
	sk->flags |= SK_FIN_RCVD;
	switch (sk->state) {
	case SYNQ_TCP_SYN_RECV:
	case SYNQ_TCP_ESTABLISHED:
		sock_set_state(s, sk, SYNQ_TCP_CLOSE_WAIT);
		tcp_enter_pingpong_mode(s, sk);
		break;
	case SYNQ_TCP_FIN_WAIT1:
		tcp_send_ack(s, sk);
		if (fin_acked(sk)) {
			tcp_enter_time_wait(s, sk);
			return 1;
		}
		sock_set_state(s, sk, SYNQ_TCP_CLOSING);
		break;
	case SYNQ_TCP_FIN_WAIT2:
		tcp_send_ack(s, sk);
		tcp_enter_time_wait(s, sk);
		return 1;
	default:
		break;
	}
	if (!(sk->flags & SK_ORPHAN))
		stack_event(s, SYNQ_EV_READABLE, fd_of(s, sk), sk, 0, NULL);
	return 0;
}

/* "queue_and_out": in-sequence text from rcv_nxt, the first trim bytes being old. The payload is
 * copied into the receive ring (g->payload is the caller's buffer, borrowed for this call). */
static int queue_and_out(struct synq_stack *s, struct synq_sock *sk, const struct synq_seg *g,
			 uint32_t trim)
{
	uint32_t len = g->len - trim;
	if (len) {
		uint32_t room = tcp_rcv_space(sk);
		uint32_t take = ring_write(&sk->rx, g->payload + trim, len < room ? len : room);
		sk->rcv_nxt += take;
		if (take) {
			if (!(sk->flags & SK_ORPHAN))
				stack_event(s, SYNQ_EV_READABLE, fd_of(s, sk), sk, 0, NULL);
			event_data_recv(s, sk, g);
		}
		if (take < len) {
			/* tcp_try_rmem_schedule() failed: ICSK_ACK_NOMEM | ICSK_ACK_NOW; the FIN
			 * beyond what was taken is not in sequence */
			stack_drop(s, SYNQ_C_TCP_RCVQ_DROP, g, fd_of(s, sk), "rcvbuf_full||receive buffer full");
			sk->ack_pending |= ICSK_ACK_SCHED | ICSK_ACK_NOW;
			return 0;
		}
	}
	return (g->flags & TCP_FIN) ? tcp_fin(s, sk) : 0;
}

/* tcp_data_queue() for a segment with data or FIN. Returns 1 when the socket entered
 * TIME-WAIT. */
static int data_queue(struct synq_stack *s, struct synq_sock *sk, const struct synq_seg *g)
{
	uint32_t seq = g->seq, end = g->seq + g->len + ((g->flags & TCP_FIN) ? 1u : 0u);
	/* tcp_receive_window(): what is left of the window offered */
	uint32_t rwnd = seq_gt(sk->rcv_adv, sk->rcv_nxt) ? sk->rcv_adv - sk->rcv_nxt : 0;
	if (seq == sk->rcv_nxt) {
		/* a bare FIN is taken even when the window is zero ("Some stacks are known to send
		 * bare FIN packets in a loop even if we send RWIN 0") */
		if (!rwnd && g->len) {
			stack_drop(s, SYNQ_C_TCP_ZERO_WINDOW_DROP, g, fd_of(s, sk),
				   "zero_window||data while the offered window is zero");
			goto out_of_window;
		}
		return queue_and_out(s, sk, g, 0);
	}
	if (!seq_gt(end, sk->rcv_nxt)) {
		/* "A retransmit, 2nd most common case. Force an immediate ack." */
		cnt_inc(s, SYNQ_C_DELAYED_ACK_LOST);
		goto out_of_window;
	}
	if (!seq_lt(seq, sk->rcv_nxt + rwnd))
		goto out_of_window; /* "Out of window. F.e. zero window probe." */
	if (seq_lt(seq, sk->rcv_nxt)) { /* partial packet, seq < rcv_nxt < end_seq */
		if (!rwnd) {
			stack_drop(s, SYNQ_C_TCP_ZERO_WINDOW_DROP, g, fd_of(s, sk),
				   "zero_window||data while the offered window is zero");
			goto out_of_window;
		}
		return queue_and_out(s, sk, g, sk->rcv_nxt - seq);
	}
	/* out of order: no reassembly queue yet (the seam). Linux queues it (tcp_data_queue_ofo)
	 * and, its out-of-order queue not empty, sends the duplicate ACK at once */
	stack_drop(s, SYNQ_C_TCP_OFO_DROP, g, fd_of(s, sk), "out_of_order||out of order (no reassembly yet)");
	sk->ack_pending |= ICSK_ACK_SCHED | ICSK_ACK_NOW;
	return 0;
out_of_window:
	tcp_enter_quickack_mode(s, sk, TCP_MAX_QUICKACKS);
	sk->ack_pending |= ICSK_ACK_SCHED;
	return 0;
}

/* ---- the synchronized states ------------------------------------------------------------ */
void tcp_sock_input(struct synq_stack *s, struct synq_sock *sk, const struct synq_seg *g)
{
	int fd = fd_of(s, sk);
	/* tcp_rcv_established() header prediction: an in-order ACK on an ESTABLISHED socket with
	 * no flags but ACK/PSH and the window unchanged takes the fast path, where a pure ACK that
	 * advances snd_una counts TCPHPAcks instead of TCPPureAcks */
	int fast = sk->state == SYNQ_TCP_ESTABLISHED && g->seq == sk->rcv_nxt &&
		   (g->flags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_URG | TCP_ACK)) == TCP_ACK &&
		   ((uint32_t)g->window << sk->snd_wscale) == sk->snd_wnd &&
		   !!(g->opt.present & OPT_TS) == !!sk->ts_ok && seq_gt(g->ack, sk->snd_una) &&
		   seq_le(g->ack, sk->snd_nxt);
	switch (sk->state) {
	case SYNQ_TCP_SYN_SENT:
		synsent_input(s, sk, g);
		return;
	case SYNQ_TCP_TIME_WAIT:
		timewait_input(s, sk, g);
		return;
	case SYNQ_TCP_CLOSE:
	case SYNQ_TCP_LISTEN:
		tcp_send_reset_for(s, g);
		return;
	default:
		break;
	}

	/* tcp_validate_incoming() step 1: PAWS (RFC 7323 5.3) */
	if (paws_reject(s, sk, g)) {
		if (g->flags & TCP_SYN)
			goto syn_challenge;
		stack_drop(s, SYNQ_C_PAWS_ESTAB, g, fd, "paws||PAWS: TSval older than ts_recent (RFC 7323 5)");
		send_dupack(s, sk, g, SYNQ_C_TCP_ACK_SKIPPED_PAWS, 1);
		return;
	}
	/* step 2: sequence check (tcp_sequence): from rcv_wup, not rcv_nxt, since the peer may not
	 * have our delayed ACK yet ("controls are accepted using RCV.WUP") */
	uint32_t end = g->seq + seg_seqlen(g);
	uint32_t wnd_end = seq_gt(sk->rcv_adv, sk->rcv_nxt) ? sk->rcv_adv : sk->rcv_nxt;
	int acceptable = !seq_lt(end, sk->rcv_wup) && !seq_gt(g->seq, wnd_end);
	if (!acceptable) {
		if (!(g->flags & TCP_RST)) {
			if (g->flags & TCP_SYN)
				goto syn_challenge;
			send_dupack(s, sk, g, SYNQ_C_TCP_ACK_SKIPPED_PAWS, 1);
		} else if (reset_check(sk, g)) {
			peer_reset(s, sk);
			return;
		}
		stack_drop(s, -1, g, fd, "out_of_window||out of window (RFC 9293 3.10.7.4)");
		return;
	}
	/* step 3: RST (RFC 5961 3.2): exact => reset, in window => challenge ACK */
	if (g->flags & TCP_RST) {
		if (g->seq == sk->rcv_nxt || reset_check(sk, g)) {
			peer_reset(s, sk);
			return;
		}
		send_challenge_ack(s, sk);
		stack_drop(s, -1, g, fd, "rst_in_window|B40|RST in window but not exact: challenge ACK (RFC 5961 3.2)");
		return;
	}
	/* step 4: SYN in a synchronized state => challenge ACK (RFC 5961 4.2, B39) */
	if (g->flags & TCP_SYN) {
		if (sk->state == SYNQ_TCP_SYN_RECV && (g->flags & TCP_ACK) &&
		    g->seq + 1 == end && g->seq + 1 == sk->rcv_nxt && g->ack == sk->snd_nxt)
			goto pass;
	syn_challenge:
		/* syn_inerr: only tcp_rcv_established() passes 1 to tcp_validate_incoming();
		 * tcp_rcv_state_process() (the other states) passes 0 */
		if (sk->state == SYNQ_TCP_ESTABLISHED)
			cnt_inc(s, SYNQ_C_TCP_IN_ERRS);
		cnt_inc(s, SYNQ_C_TCP_SYN_CHALLENGE);
		send_challenge_ack(s, sk);
		stack_drop(s, -1, g, fd, "syn_challenge|B39|SYN in a synchronized state: challenge ACK (RFC 5961 4.2)");
		return;
	}
pass:
	/* step 5: ACK */
	if (!(g->flags & TCP_ACK)) {
		stack_drop(s, -1, g, fd, "no_ack||no ACK bit");
		return;
	}
	if (sk->state == SYNQ_TCP_SYN_RECV) {
		if (seq_le(g->ack, sk->snd_una) || seq_gt(g->ack, sk->snd_nxt)) {
			tcp_send_reset_for(s, g); /* unacceptable ACK in SYN-RECEIVED */
			return;
		}
		sk->snd_wnd = (uint32_t)g->window << sk->snd_wscale;
		sk->snd_wl1 = g->seq;
		sk->snd_wl2 = g->ack;
		sk->snd_una = g->ack;
		sk->rtx_at = TIME_NEVER;
		sk->rtx_tlp = 0;
		sk->retransmits = 0;
		sock_set_state(s, sk, SYNQ_TCP_ESTABLISHED);
		/* tcp_rcv_state_process(TCP_SYN_RECV): tcp_initialize_rcv_mss(); the clock of the
		 * last data received starts now (tcp_create_openreq_child) */
		tcp_init_rcv_mss(sk, sk->rcv_adv - sk->rcv_wup);
		sk->lrcvtime = ack_now(s);
		if (sk->flags & SK_CONNECTING)
			stack_event(s, SYNQ_EV_CONNECTED, fd, sk, 0, NULL);
	} else {
		if (seq_gt(g->ack, sk->snd_nxt)) {
			/* ACK for unsent data: tcp_ack() < 0. ESTABLISHED (tcp_rcv_established)
			 * discards the segment silently; the other states (tcp_rcv_state_process
			 * step 5) answer with a challenge ACK (RFC 9293 3.10.7.4: "send an ACK") */
			if (sk->state != SYNQ_TCP_ESTABLISHED)
				send_challenge_ack(s, sk);
			stack_drop(s, -1, g, fd, "ack_unsent||ACK of data not sent yet");
			return;
		}
		if (seq_lt(g->ack, sk->snd_una - sk->max_window)) {
			/* RFC 5961 5.2 blind data injection mitigation */
			send_challenge_ack(s, sk);
			stack_drop(s, -1, g, fd, "ack_too_old||ACK older than the window: challenge ACK (RFC 5961 5.2)");
			return;
		}
		ack_advance(s, sk, g);
	}
	/* timestamps (tcp_replace_ts_recent): remember the TSval of a segment that starts at or
	 * before rcv_wup, so that an ACK echoes the TSval of the earliest segment it acknowledges
	 * (RFC 7323 4.3, Last.ACK.sent) */
	if (sk->ts_ok && (g->opt.present & OPT_TS) && seq_le(g->seq, sk->rcv_wup)) {
		sk->ts_recent = g->opt.tsval;
		sk->ts_recent_s = (uint32_t)(s->now / NS_PER_S);
	}
	sk->last_rcv = s->now;
	if (sk->ka_at != TIME_NEVER || (sk->flags & SK_KEEPALIVE)) {
		sk->probes_out = 0;
		tcp_set_keepalive_timer(s, sk);
	}

	/* state changes driven by the ACK of our FIN */
	switch (sk->state) {
	case SYNQ_TCP_FIN_WAIT1:
		if (fin_acked(sk)) {
			sock_set_state(s, sk, SYNQ_TCP_FIN_WAIT2);
			if (sk->flags & SK_ORPHAN) { /* tcp_fin_timeout */
				sk->tw_at = stack_timer_at(s, (uint64_t)s->cfg.tcp_fin_timeout * NS_PER_S);
				sock_timer_update(s, sk);
				/* tcp_time_wait(sk, TCP_FIN_WAIT2, tmo) schedules a timewait sock:
				 * TcpExtTW (__inet_twsk_schedule) */
				if ((uint64_t)s->cfg.tcp_fin_timeout <= TCP_TIMEWAIT_NS / NS_PER_S)
					cnt_inc(s, SYNQ_C_TW);
			}
		}
		break;
	case SYNQ_TCP_CLOSING:
		if (fin_acked(sk)) {
			tcp_enter_time_wait(s, sk);
			return;
		}
		break;
	case SYNQ_TCP_LAST_ACK:
		if (fin_acked(sk)) {
			tcpm_save(s, sk); /* tcp_rcv_state_process(LAST_ACK) */
			tcp_done(s, sk, 0);
			return;
		}
		break;
	default:
		break;
	}

	/* step 7 (tcp_rcv_state_process): the segment text. CLOSE-WAIT, CLOSING and LAST-ACK only
	 * look at what starts before rcv_nxt (retransmissions); the peer sent its FIN. */
	int text = g->len || (g->flags & TCP_FIN);
	int st = sk->state;
	if (text && (st == SYNQ_TCP_ESTABLISHED || st == SYNQ_TCP_FIN_WAIT1 || st == SYNQ_TCP_FIN_WAIT2 ||
		     ((st == SYNQ_TCP_CLOSE_WAIT || st == SYNQ_TCP_CLOSING || st == SYNQ_TCP_LAST_ACK) &&
		      seq_lt(g->seq, sk->rcv_nxt)))) {
		/* RFC 1122 4.2.2.13 "MUST send a reset": new data after the receive side was shut
		 * (close() or SHUT_RD) in FIN-WAIT-1/2, or (for a segment starting before rcv_nxt)
		 * in CLOSE-WAIT, CLOSING, LAST-ACK. TCPAbortOnData, tcp_reset() (ECONNRESET), and the
		 * RST is tcp_v4_send_reset()'s answer to the segment (seq = SEG.ACK), not an RST|ACK
		 * at snd_nxt. */
		if ((sk->flags & SK_RD_SHUT) && st != SYNQ_TCP_ESTABLISHED && g->len &&
		    seq_gt(g->seq + g->len, sk->rcv_nxt)) {
			/* an orphan's FIN-WAIT-2 is a timewait sock in Linux (tcp_fin_timeout <=
			 * 60 s): tcp_timewait_state_process() says TCP_TW_RST, no counter */
			if (!(sk->state == SYNQ_TCP_FIN_WAIT2 && (sk->flags & SK_ORPHAN) &&
			      (uint64_t)s->cfg.tcp_fin_timeout <= TCP_TIMEWAIT_NS / NS_PER_S))
				cnt_inc(s, SYNQ_C_TCP_ABORT_ON_DATA);
			tcp_send_reset_for(s, g);
			tcp_done(s, sk, -ECONNRESET);
			return;
		}
		if (data_queue(s, sk, g))
			return; /* TIME-WAIT */
	} else if (!g->len && !(g->flags & (TCP_SYN | TCP_FIN))) {
		cnt_inc(s, fast ? SYNQ_C_TCP_HP_ACKS : SYNQ_C_TCP_PURE_ACKS);
	}
	tcp_push(s, sk);       /* tcp_data_snd_check(): a reply carries the ACK */
	ack_snd_check(s, sk); /* tcp_ack_snd_check() */
}

/* ---- ICMP errors for a full socket (tcp_v4_err, B11) -------------------------------------- */
/* icmp_err_convert[]: the errno of each Destination Unreachable code (RFC 1122 3.2.2.1) */
static const int unreach_errno[NR_ICMP_UNREACH + 1] = {
    -ENETUNREACH,  /* 0 net unreachable */
    -EHOSTUNREACH, /* 1 host unreachable */
    -ENOPROTOOPT,  /* 2 protocol unreachable */
    -ECONNREFUSED, /* 3 port unreachable */
    -EMSGSIZE,     /* 4 fragmentation needed (path MTU: handled apart) */
    -EOPNOTSUPP,   /* 5 source route failed */
    -ENETUNREACH,  /* 6 net unknown */
    -EHOSTDOWN,    /* 7 host unknown */
    -ENONET,       /* 8 source host isolated */
    -ENETUNREACH,  /* 9 net administratively prohibited */
    -EHOSTUNREACH, /* 10 host administratively prohibited */
    -ENETUNREACH,  /* 11 net unreachable for TOS */
    -EHOSTUNREACH, /* 12 host unreachable for TOS */
    -EHOSTUNREACH, /* 13 communication administratively prohibited */
    -EHOSTUNREACH, /* 14 host precedence violation */
    -EHOSTUNREACH, /* 15 precedence cutoff */
};

void tcp_sock_icmp_err(struct synq_stack *s, struct synq_sock *sk, const struct synq_icmp *m,
		       const struct synq_seg *q)
{
	int fd = fd_of(s, sk), err;
	/* RFC 5927 4.1: only a quote of something sent and not yet acknowledged counts */
	if (!seq_between(m->q_seq, sk->snd_una, sk->snd_nxt)) {
		stack_drop(s, SYNQ_C_OUT_OF_WINDOW_ICMPS, q, fd,
			   "icmp_out_of_window||the quoted seq is outside snd_una..snd_nxt (RFC 5927)");
		return;
	}
	switch (m->type) {
	case ICMP_PARAMETERPROB:
		err = -EPROTO;
		break;
	case ICMP_DEST_UNREACH:
		if (m->code > NR_ICMP_UNREACH) /* icmp.c does not pass these */
			return;
		if (m->code == ICMP_FRAG_NEEDED) {
			/* Linux lowers the MSS (tcp_v4_mtu_reduced) and retransmits; synq has no path
			 * MTU discovery (RFC 1191) yet */
			stack_drop(s, SYNQ_C_SYNQ_ICMP_IGNORED, q, fd,
				   "icmp_frag_needed||Fragmentation Needed: path MTU is not modelled");
			return;
		}
		err = unreach_errno[m->code];
		break;
	case ICMP_TIME_EXCEEDED:
		err = -EHOSTUNREACH;
		break;
	default: /* Source Quench: ignored (RFC 6633); Redirect: no routes to change here */
		stack_drop(s, SYNQ_C_SYNQ_ICMP_IGNORED, q, fd,
			   "icmp_ignored||Source Quench or Redirect for a connection: ignored");
		return;
	}
	if (sk->state == SYNQ_TCP_SYN_SENT || sk->state == SYNQ_TCP_SYN_RECV) {
		/* a connection being opened fails at once: tcp_done_with_error() (TcpAttemptFails);
		 * connect() sees err, nothing is sent */
		tcp_done_why(s, sk, err, "icmp_error||ICMP error for a connection being opened: aborted");
		return;
	}
	/* "If we've already connected we will keep trying until we time out": without
	 * IP_RECVERR the error is only remembered (sk_err_soft), as RFC 1122 4.2.3.9 allows for
	 * all but the hard codes, and Linux does for those too. RFC 6069's RTO revert on Net/Host
	 * Unreachable is not done. */
	sk->err_soft = err;
}
