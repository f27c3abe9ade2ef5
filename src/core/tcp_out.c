/*
 * tcp_out.c — segments a socket sends, and the socket timers that make it send them:
 * retransmission (RFC 6298 with Linux's 200 ms floor and 120 s ceiling, tcp_retries2 and
 * tcp_syn_retries/tcp_syn_linear_timeouts as Linux's tcp_write_timeout() models them),
 * keepalive (tcp_keepalive_timer), FIN-WAIT-2 and TIME-WAIT.
 *
 * Tail loss probes as Linux schedules them (RFC 8985 7, tcp_schedule_loss_probe /
 * tcp_send_loss_probe): the first retransmission of a SACK connection's last segment is a probe
 * after 2 * SRTT (+ tcp_rto_min with one segment in flight), never later than the RTO.
 *
 * Delayed ACKs as Linux 6.18 sends them (tcp_send_delayed_ack, tcp_delack_timer_handler,
 * tcp_event_ack_sent, tcp_event_data_sent); the decisions on arrival are tcp_in.c's.
 *
 * Seams left for later issues: congestion control (tcp_cwnd() is the peer's window),
 * SACK-based loss recovery.
 *
 * SPDX-License-Identifier: MIT
 */
#include "core/synq_int.h"

/* tcp_select_initial_window(): rcv_wscale = ilog2(max(space, tcp_rmem[2])) - 15, in 0..14.
 * Like Linux, the scale is chosen for the largest buffer the connection might grow to, not for
 * what it has now: the window field then has a granularity of 1 << wscale bytes. */
uint8_t tcp_choose_wscale(const struct synq_stack *s, uint32_t space)
{
	uint64_t m = (uint64_t)s->cfg.tcp_rmem[2] > space ? (uint64_t)s->cfg.tcp_rmem[2] : space;
	int lg = m ? 63 - __builtin_clzll(m) : 0; /* ilog2 */
	lg -= 15;
	if (lg < 0)
		lg = 0;
	return (uint8_t)(lg > WIRE_MAX_WSCALE ? WIRE_MAX_WSCALE : lg);
}

/* The window in a SYN or SYN-ACK: never scaled, rounded down to a multiple of the MSS
 * (Linux: 64240 = 44 * 1460 in a SYN, 65160 = 45 * 1448 in a SYN-ACK with timestamps). */
uint32_t tcp_syn_window(uint32_t space, uint16_t mss)
{
	if (space > TCP_MAX_WINDOW)
		space = TCP_MAX_WINDOW;
	if (mss && space > mss)
		space = space / mss * mss;
	return space;
}

uint32_t tcp_rcv_space(const struct synq_sock *sk)
{
	uint32_t lim = sk->rcvbuf / 2 > sk->rx.cap ? sk->rx.cap : sk->rcvbuf / 2;
	if (lim < sk->rx.len)
		return 0;
	return lim - sk->rx.len;
}

/* tcp_sync_mss() + tcp_mtu_to_mss(): the send MSS is the peer's MSS (clamped by TCP_MAXSEG) or
 * our advmss, whichever is smaller, never below tcp_min_snd_mss, less the TS option when in use;
 * then tcp_bound_to_half_wnd(): at most half the largest window the peer has offered (the whole
 * of it while that is at most TCP_MSS_DEFAULT, 536), but not below 68 bytes of IP+TCP, so that
 * a small window still holds two segments. Linux recomputes it whenever max_window grows
 * (tcp_ack_update_window), as callers here do. */
void tcp_sync_mss(struct synq_sock *sk)
{
	uint32_t hdr = 20 + (sk->ts_ok ? TCP_TS_LEN : 0); /* tcp_header_len */
	uint32_t mss = sk->mss_clamp < sk->advmss ? sk->mss_clamp : sk->advmss;
	if (mss < TCP_MIN_SND_MSS)
		mss = TCP_MIN_SND_MSS;
	mss -= hdr - 20;
	uint32_t cutoff = sk->max_window > TCP_DEFAULT_MSS ? sk->max_window >> 1 : sk->max_window;
	if (cutoff && mss > cutoff)
		mss = cutoff > 68 - hdr ? cutoff : 68 - hdr;
	sk->mss = (uint16_t)mss;
}

/* __tcp_select_window() in synq's receive-window model: the window (bytes from rcv_nxt) an ACK
 * sent now would offer, before tcp_select_window()'s rule that the edge never moves left. synq
 * offers its free buffer space where Linux offers min(free space, rcv_ssthresh); with Linux's
 * default buffers rcv_ssthresh is the whole space (tcp_measure_rcv_mss() clamps it to the
 * window_clamp it recomputes), so both shrink as unread data piles up and grow back as it is
 * read. Receiver SWS avoidance (RFC 9293 3.8.6.2.2, MUST-39): while less than half the buffer
 * and less than one MSS is free, the offer is 0. As in Linux, less than half the buffer free
 * ends quick-ack mode (icsk_ack.quick = 0). */
uint32_t tcp_select_window_now(struct synq_sock *sk)
{
	uint32_t space = tcp_rcv_space(sk);
	uint32_t full = sk->rcvbuf / 2 > sk->rx.cap ? sk->rx.cap : sk->rcvbuf / 2;
	if (space < full / 2) {
		sk->ack_quick = 0;
		if (space < sk->mss)
			return 0;
	}
	uint32_t maxwin = (uint32_t)TCP_MAX_WINDOW << sk->rcv_wscale;
	if (space > maxwin)
		space = maxwin;
	return space & ~((1u << sk->rcv_wscale) - 1); /* what the scaled field can say */
}

/* tcp_select_window(): the right edge of the receive window never moves left (RFC 9293
 * 3.8.6.2.2); an offer of 0 keeps the old edge */
void tcp_update_rcv_adv(struct synq_sock *sk)
{
	uint32_t edge = sk->rcv_nxt + tcp_select_window_now(sk);
	if (seq_gt(edge, sk->rcv_adv))
		sk->rcv_adv = edge;
}

uint16_t tcp_window_field(const struct synq_sock *sk, int syn)
{
	/* a peer that overran the offered edge leaves rcv_nxt beyond it: offer 0, never a
	 * wrapped-around window */
	uint32_t w = seq_gt(sk->rcv_adv, sk->rcv_nxt) ? sk->rcv_adv - sk->rcv_nxt : 0;
	if (syn)
		return (uint16_t)(w > TCP_MAX_WINDOW ? TCP_MAX_WINDOW : w);
	w >>= sk->rcv_wscale;
	return (uint16_t)(w > TCP_MAX_WINDOW ? TCP_MAX_WINDOW : w);
}

void tcp_seg_init(const struct synq_stack *s, const struct synq_sock *sk, struct synq_seg *g,
		  uint8_t flags, uint32_t seq)
{
	memset(g, 0, sizeof(*g));
	g->saddr = sk->laddr;
	g->daddr = sk->raddr;
	g->sport = sk->lport;
	g->dport = sk->rport;
	g->seq = seq;
	g->flags = flags;
	if (flags & TCP_ACK)
		g->ack = sk->rcv_nxt;
	g->window = tcp_window_field(sk, flags & TCP_SYN);
	if (sk->ts_ok) {
		g->opt.present |= OPT_TS;
		g->opt.tsval = stack_ts_ms(s) + sk->ts_off;
		g->opt.tsecr = sk->ts_recent;
	}
}

/* ---- delayed ACKs: what sending does to them -------------------------------------------- */
static void dack_clear(struct synq_stack *s, struct synq_sock *sk)
{
	/* inet_csk_clear_xmit_timer(ICSK_TIME_DACK): nothing pending; Linux leaves the timer to
	 * find ICSK_ACK_TIMER clear, synq takes it out of the heap */
	sk->ack_pending = 0;
	if (sk->dack_at != TIME_NEVER) {
		sk->dack_at = TIME_NEVER;
		sock_timer_update(s, sk);
	}
}

/* tcp_event_ack_sent(): any segment carrying an ACK (a pure ACK, data, FIN, RST|ACK, a probe)
 * answers what was pending: tcp_dec_quickack_mode() counts it against the quick ACKs when an
 * ACK was due, and the delayed ACK is off */
static void event_ack_sent(struct synq_stack *s, struct synq_sock *sk)
{
	if (sk->ack_quick) {
		unsigned pkts = (sk->ack_pending & ICSK_ACK_SCHED) ? 1 : 0;
		if (pkts >= sk->ack_quick) {
			sk->ack_quick = 0;
			sk->ato = ack_ticks(s, TCP_ATO_MIN_NS); /* leaving quick-ack mode deflates ato */
		} else {
			sk->ack_quick = (uint8_t)(sk->ack_quick - pkts);
		}
	}
	dack_clear(s, sk);
}

/* tcp_event_data_sent(): data sent within ato of the last data received is a reply: one
 * step towards ping-pong (interactive) mode, inet_csk_inc_pingpong_cnt() */
static void event_data_sent(struct synq_stack *s, struct synq_sock *sk)
{
	if ((uint32_t)(ack_now(s) - sk->lrcvtime) < sk->ato && sk->ack_pingpong < UINT8_MAX)
		sk->ack_pingpong++;
}

/* Every segment of a full socket leaves through here (__tcp_transmit_skb): tcp_select_window()
 * (the caller updated rcv_adv) records rcv_wup, then the ACK and data events */
static int send_seg(struct synq_stack *s, struct synq_sock *sk, struct synq_seg *g)
{
	int rc = out_emit(s, g);
	if (rc == 0 && (g->flags & TCP_ACK)) {
		sk->rcv_adv = seq_gt(sk->rcv_adv, sk->rcv_nxt) ? sk->rcv_adv : sk->rcv_nxt;
		sk->rcv_wup = sk->rcv_nxt;
		event_ack_sent(s, sk);
	}
	if (rc == 0 && g->len)
		event_data_sent(s, sk);
	return rc;
}

/* Arm the delayed-ACK timer for tick `timeout` (sk_reset_timer(icsk_delack_timer)); an
 * unchanged expiry keeps its slot on the wheel, as mod_timer() does */
static void dack_arm(struct synq_stack *s, struct synq_sock *sk, uint32_t timeout)
{
	if (sk->dack_at != TIME_NEVER && timeout == sk->dack_timeout)
		return;
	int32_t d = (int32_t)(timeout - ack_now(s));
	sk->dack_timeout = timeout;
	sk->dack_at = stack_timer_at(s, (uint64_t)(d > 0 ? d : 0) * ack_tick(s));
	sock_timer_update(s, sk);
}

int tcp_send_ack(struct synq_stack *s, struct synq_sock *sk)
{
	struct synq_seg g;
	tcp_update_rcv_adv(sk);
	tcp_seg_init(s, sk, &g, TCP_ACK, sk->snd_nxt);
	int rc = send_seg(s, sk, &g);
	if (rc && sk->state != SYNQ_TCP_TIME_WAIT && sk->state != SYNQ_TCP_CLOSE) {
		/* __tcp_send_ack() without a buffer (here: the output ring is full): the ACK stays
		 * due, and the delayed-ACK timer retries in TCP_DELACK_MAX with ato at its minimum */
		sk->ack_pending |= ICSK_ACK_SCHED | ICSK_ACK_TIMER;
		sk->ato = ack_ticks(s, TCP_ATO_MIN_NS);
		dack_arm(s, sk, ack_now(s) + ack_ticks(s, TCP_DELACK_MAX_NS));
	}
	return rc;
}

/* tcp_send_delayed_ack(): the ACK waits ato, bounded by the smoothed RTT and by 200 ms in
 * ping-pong mode or after a pushed segment (500 ms otherwise), by TCP_DELACK_MAX in all cases
 * (tcp_delack_max(): no route rto_min here). A timer already armed is never pushed later; one
 * due within ato / 4 sends the ACK now. */
void tcp_send_delayed_ack(struct synq_stack *s, struct synq_sock *sk)
{
	uint32_t ato = sk->ato;
	uint32_t delack_min = ack_ticks(s, TCP_DELACK_MIN_NS);
	if (ato > delack_min) {
		uint32_t max_ato = ack_ticks(s, TCP_ATO_MAX_NS);
		if (tcp_in_pingpong_mode(s, sk) || (sk->ack_pending & ICSK_ACK_PUSHED))
			max_ato = ack_ticks(s, TCP_DELACK_MAX_NS);
		if (sk->srtt_ns) { /* "If some rtt estimate is known, use it to bound delayed ack" */
			uint32_t rtt = ack_ticks(s, sk->srtt_ns);
			if (rtt < delack_min)
				rtt = delack_min;
			if (rtt < max_ato)
				max_ato = rtt;
		}
		if (ato > max_ato)
			ato = max_ato;
	}
	if (ato > ack_ticks(s, TCP_DELACK_MAX_NS))
		ato = ack_ticks(s, TCP_DELACK_MAX_NS);
	uint32_t now = ack_now(s);
	uint32_t timeout = now + ato;
	if (sk->ack_pending & ICSK_ACK_TIMER) {
		/* "If delack timer is about to expire, send ACK now" (time_before_eq) */
		if ((int32_t)(sk->dack_timeout - (now + (ato >> 2))) <= 0) {
			tcp_send_ack(s, sk);
			return;
		}
		/* use the new timeout only if it is earlier (!time_before) */
		if ((int32_t)(timeout - sk->dack_timeout) >= 0)
			timeout = sk->dack_timeout;
	}
	sk->ack_pending |= ICSK_ACK_SCHED | ICSK_ACK_TIMER;
	dack_arm(s, sk, timeout);
}

/* tcp_delack_timer_handler(): the ACK was delayed for nothing: outside ping-pong mode ato
 * doubles (up to the RTO) for next time, in ping-pong mode the connection leaves it and ato
 * starts again at TCP_ATO_MIN. TcpExtDelayedACKs. */
static void delack_timer(struct synq_stack *s, struct synq_sock *sk)
{
	if (sk->state == SYNQ_TCP_CLOSE || sk->state == SYNQ_TCP_LISTEN ||
	    sk->state == SYNQ_TCP_TIME_WAIT || !(sk->ack_pending & ICSK_ACK_TIMER))
		return;
	sk->ack_pending &= (uint8_t)~ICSK_ACK_TIMER;
	if (!(sk->ack_pending & ICSK_ACK_SCHED))
		return;
	if (!tcp_in_pingpong_mode(s, sk)) {
		uint32_t rto = ack_ticks(s, sk->rto_ns);
		sk->ato = sk->ato << 1 < rto ? sk->ato << 1 : rto;
	} else {
		sk->ack_pingpong = 0; /* inet_csk_exit_pingpong_mode() */
		sk->ato = ack_ticks(s, TCP_ATO_MIN_NS);
	}
	tcp_send_ack(s, sk); /* (a full output ring re-arms the timer) */
	cnt_inc(s, SYNQ_C_DELAYED_ACKS);
}

/* tcp_cleanup_rbuf(): after a read of copied bytes, send the ACK still due when more than one
 * full segment is unacknowledged, or when the read emptied the queue of a pushed segment
 * (ICSK_ACK_PUSHED outside ping-pong mode, PUSHED2 in any mode); else a window update when
 * the offered window was at most half the maximum and the read (at least) doubles it. Not after
 * the peer's FIN (RCV_SHUTDOWN): no more data will come. */
void tcp_cleanup_rbuf(struct synq_stack *s, struct synq_sock *sk, uint32_t copied)
{
	int time_to_ack = 0;
	if (sk->ack_pending & ICSK_ACK_SCHED) {
		if (sk->rcv_nxt - sk->rcv_wup > sk->rcv_mss ||
		    (copied > 0 &&
		     ((sk->ack_pending & ICSK_ACK_PUSHED2) ||
		      ((sk->ack_pending & ICSK_ACK_PUSHED) && !tcp_in_pingpong_mode(s, sk))) &&
		     !sk->rx.len))
			time_to_ack = 1;
	}
	if (copied > 0 && !time_to_ack &&
	    (sk->state == SYNQ_TCP_ESTABLISHED || sk->state == SYNQ_TCP_FIN_WAIT1 ||
	     sk->state == SYNQ_TCP_FIN_WAIT2)) {
		uint32_t now_wnd = seq_gt(sk->rcv_adv, sk->rcv_nxt) ? sk->rcv_adv - sk->rcv_nxt : 0;
		uint32_t clamp = sk->rcvbuf / 2 > sk->rx.cap ? sk->rx.cap : sk->rcvbuf / 2;
		uint32_t maxwin = (uint32_t)TCP_MAX_WINDOW << sk->rcv_wscale;
		if (clamp > maxwin)
			clamp = maxwin;
		if (2 * (uint64_t)now_wnd <= clamp) {
			uint32_t nwin = tcp_select_window_now(sk);
			if (nwin && nwin >= 2 * (uint64_t)now_wnd)
				time_to_ack = 1;
		}
	}
	if (time_to_ack)
		tcp_send_ack(s, sk);
}

/* SYN (active open) or SYN-ACK (simultaneous open) of a full socket, tcp_connect() */
int tcp_send_syn(struct synq_stack *s, struct synq_sock *sk, int synack)
{
	struct synq_seg g;
	tcp_seg_init(s, sk, &g, (uint8_t)(TCP_SYN | (synack ? TCP_ACK : 0)), sk->iss);
	g.window = (uint16_t)tcp_syn_window(tcp_rcv_space(sk), sk->advmss);
	g.opt.present |= OPT_MSS;
	g.opt.mss = sk->user_mss && sk->user_mss < sk->advmss ? sk->user_mss : sk->advmss;
	if (!synack) {
		g.opt.present &= (uint8_t)~OPT_TS;
		if (s->cfg.tcp_timestamps) {
			g.opt.present |= OPT_TS;
			g.opt.tsval = stack_ts_ms(s) + sk->ts_off;
			g.opt.tsecr = 0;
		}
		if (s->cfg.tcp_sack)
			g.opt.present |= OPT_SACK_PERM;
		if (s->cfg.tcp_window_scaling) {
			g.opt.present |= OPT_WSCALE;
			g.opt.wscale = sk->rcv_wscale;
		}
	} else {
		if (sk->sack_ok)
			g.opt.present |= OPT_SACK_PERM;
		if (sk->snd_wscale != 0xff && s->cfg.tcp_window_scaling) {
			g.opt.present |= OPT_WSCALE;
			g.opt.wscale = sk->rcv_wscale;
		}
	}
	return out_emit(s, &g);
}

/* tcp_send_active_reset(): RST|ACK at snd_nxt (B43, close with unread data, keepalive). It goes
 * through tcp_transmit_skb() like any segment of the socket: the current window
 * (tcp_select_window) and the timestamp option when negotiated (Linux selftest
 * tcp_close_no_rst.pkt: "R. 1:1(0) ack 1002 win 65535"; "R. 1:1(0) ack 1001 <nop,nop,TS val
 * 1200 ecr 201>"), unlike tcp_v4_send_reset()'s answers to a segment (win 0, no TS). */
int tcp_send_active_reset(struct synq_stack *s, struct synq_sock *sk)
{
	struct synq_seg g;
	tcp_update_rcv_adv(sk);
	tcp_seg_init(s, sk, &g, TCP_RST | TCP_ACK, sk->snd_nxt);
	return send_seg(s, sk, &g);
}

/* ---- data ------------------------------------------------------------------------------- */
static uint32_t data_start(const struct synq_sock *sk)
{
	return sk->iss + 1; /* no data in the SYN (no TCP Fast Open) */
}

/* bytes of tx from snd_una (data only), i.e. offset of seq q in the ring */
static uint32_t tx_off(const struct synq_sock *sk, uint32_t q)
{
	uint32_t base = seq_gt(sk->snd_una, data_start(sk)) ? sk->snd_una : data_start(sk);
	return q - base;
}

static uint32_t tcp_cwnd(const struct synq_sock *sk)
{
	/* congestion control seam: no cwnd yet, only the peer's window */
	return sk->snd_wnd;
}

/* first: the segment's first transmission (not a retransmission or probe) */
static int emit_data_psh(struct synq_stack *s, struct synq_sock *sk, uint32_t seq, uint32_t len,
			 int fin, int first)
{
	uint8_t buf[9000];
	struct synq_seg g;
	/* PSH on the segment that ends the data written so far: tcp_push() marks the tail skb of
	 * a write (tcp_mark_push), GSO and tcp_fragment() keep PSH on the last piece. And, on its
	 * first transmission, on a segment that ends more than half the peer's largest window
	 * after the last PSH (tcp_sendmsg_locked: forced_push(), checked as each skb fills; here
	 * as each full segment leaves, which is where Linux's skbs end without GSO, and with the
	 * window as it is then, where Linux takes it as it was at the write). A
	 * retransmission carries PSH only if it ends the written data (Linux keeps the original
	 * skb's flags). */
	uint32_t base = seq_gt(sk->snd_una, data_start(sk)) ? sk->snd_una : data_start(sk);
	int psh = len && seq + len == base + sk->tx.len;
	if (first && len) {
		if (seq_gt(seq + len, sk->pushed_seq + (sk->max_window >> 1)))
			psh = 1;
		if (psh)
			sk->pushed_seq = seq + len; /* tcp_mark_push() */
	}
	tcp_update_rcv_adv(sk);
	tcp_seg_init(s, sk, &g, (uint8_t)(TCP_ACK | (psh ? TCP_PSH : 0) | (fin ? TCP_FIN : 0)), seq);
	if (len) {
		ring_copy_out(&sk->tx, tx_off(sk, seq), buf, len);
		g.payload = buf;
		g.len = len;
	}
	return send_seg(s, sk, &g);
}

static int emit_data(struct synq_stack *s, struct synq_sock *sk, uint32_t seq, uint32_t len,
		     int fin)
{
	return emit_data_psh(s, sk, seq, len, fin, 0);
}

static int schedule_loss_probe(struct synq_stack *s, struct synq_sock *sk, int advancing_rto);
static void tcp_push_one(struct synq_stack *s, struct synq_sock *sk);

static int can_send_fin(const struct synq_sock *sk)
{
	return (sk->flags & SK_WR_SHUT) && !(sk->flags & SK_FIN_SENT) &&
	       (sk->state == SYNQ_TCP_ESTABLISHED || sk->state == SYNQ_TCP_CLOSE_WAIT ||
		sk->state == SYNQ_TCP_FIN_WAIT1 || sk->state == SYNQ_TCP_LAST_ACK ||
		sk->state == SYNQ_TCP_CLOSING);
}

/* tcp_write_xmit(): send new data the window allows (Nagle unless TCP_NODELAY), then FIN;
 * at most max_segs segments. */
static void push_segs(struct synq_stack *s, struct synq_sock *sk, int max_segs, int probe);

void tcp_push(struct synq_stack *s, struct synq_sock *sk) { push_segs(s, sk, 4096, 0); }

static void tcp_push_one(struct synq_stack *s, struct synq_sock *sk) { push_segs(s, sk, 1, 1); }

static void push_segs(struct synq_stack *s, struct synq_sock *sk, int max_segs, int probe)
{
	if (sk->state != SYNQ_TCP_ESTABLISHED && sk->state != SYNQ_TCP_CLOSE_WAIT &&
	    sk->state != SYNQ_TCP_FIN_WAIT1 && sk->state != SYNQ_TCP_LAST_ACK)
		return;
	int sent = 0;
	for (int guard = 0; guard < max_segs; guard++) {
		uint32_t queued_end = data_start(sk) + (uint32_t)(sk->tx.len) +
				      (seq_gt(sk->snd_una, data_start(sk)) ? sk->snd_una - data_start(sk) : 0);
		if (sk->flags & SK_FIN_SENT)
			break;
		uint32_t unsent = queued_end - sk->snd_nxt;
		uint32_t inflight = sk->snd_nxt - sk->snd_una;
		uint32_t wnd = tcp_cwnd(sk);
		uint32_t room = wnd > inflight ? wnd - inflight : 0;
		if (!unsent) {
			if (can_send_fin(sk)) {
				if (emit_data(s, sk, sk->snd_nxt, 0, 1) == 0) {
					sk->flags |= SK_FIN_SENT;
					if (!sk->rtt_time && !sk->retransmits) {
						sk->rtt_time = s->now;
						sk->rtt_seq = sk->snd_nxt;
					}
					sk->snd_nxt++;
					sent = 1;
				}
			}
			break;
		}
		uint32_t len = unsent < sk->mss ? unsent : sk->mss;
		if (len > room)
			break; /* peer window (zero-window probing is the RTO's job here) */
		/* Nagle as Linux does it (tcp_nagle_check + tcp_minshall_check): hold a small
		 * segment only while an earlier small segment is unacknowledged */
		if (len < sk->mss && inflight && !(sk->flags & SK_NODELAY) &&
		    !((sk->flags & SK_WR_SHUT)) && seq_gt(sk->snd_sml, sk->snd_una) &&
		    seq_le(sk->snd_sml, sk->snd_nxt))
			break;
		int fin = (len == unsent) && can_send_fin(sk) && len < room;
		if (emit_data_psh(s, sk, sk->snd_nxt, len, fin, seq_ge(sk->snd_nxt, sk->snd_max)) != 0)
			break;
		cnt_inc(s, SYNQ_C_TCP_ORIG_DATA_SENT);
		if (len < sk->mss)
			sk->snd_sml = sk->snd_nxt + len; /* tcp_minshall_update() */
		if (!sk->rtt_time && !sk->retransmits) {
			sk->rtt_time = s->now;
			sk->rtt_seq = sk->snd_nxt + len;
		}
		if (sk->snd_una == sk->snd_nxt)
			sk->retrans_stamp = 0;
		sk->snd_nxt += len;
		if (fin) {
			sk->flags |= SK_FIN_SENT;
			sk->snd_nxt++;
		}
		sent = 1;
	}
	if (seq_gt(sk->snd_nxt, sk->snd_max))
		sk->snd_max = sk->snd_nxt;
	if (probe)
		return; /* tcp_send_loss_probe() arms the timer itself */
	if (sent) {
		/* tcp_event_new_data_sent(): arm the RTO if nothing was in flight (or a probe
		 * was pending), then tcp_schedule_loss_probe(sk, false) */
		if (sk->rtx_at == TIME_NEVER || sk->rtx_tlp)
			tcp_rearm_rto(s, sk);
		schedule_loss_probe(s, sk, 0);
	} else if (sk->snd_nxt == sk->snd_una && sk->tx.len && sk->snd_wnd == 0 &&
		   sk->rtx_at == TIME_NEVER) {
		tcp_rearm_rto(s, sk); /* zero window: probe on the RTO schedule */
	}
}

void tcp_rearm_rto(struct synq_stack *s, struct synq_sock *sk)
{
	sk->rtx_at = stack_timer_at(s, sk->rto_ns);
	sk->rtx_tlp = 0;
	sock_timer_update(s, sk);
}

/* tcp_schedule_loss_probe(): returns 1 when the probe timer replaced the RTO */
static int schedule_loss_probe(struct synq_stack *s, struct synq_sock *sk, int advancing_rto)
{
	if (!sk->sack_ok || sk->snd_una == sk->snd_nxt || sk->retransmits || sk->tlp_out ||
	    (sk->state != SYNQ_TCP_ESTABLISHED && sk->state != SYNQ_TCP_CLOSE_WAIT &&
	     sk->state != SYNQ_TCP_FIN_WAIT1 && sk->state != SYNQ_TCP_LAST_ACK && 
	     sk->state != SYNQ_TCP_CLOSING))
		return 0; /* only SACK connections in the Open state, with data in flight */
	uint64_t timeout;
	if (sk->srtt_ns) {
		timeout = 2 * sk->srtt_ns;
		/* one segment in flight: allow for the peer's delayed ACK */
		if (sk->snd_nxt - sk->snd_una <= sk->mss)
			timeout += (uint64_t)s->cfg.tcp_rto_min_us * NS_PER_US;
		else
			timeout += 2 * NS_PER_MS; /* TCP_TIMEOUT_MIN_US */
	} else {
		timeout = TCP_TIMEOUT_INIT_NS;
	}
	/* never later than the RTO would fire */
	uint64_t rto_delta = sk->rto_ns;
	if (!advancing_rto && sk->rtx_at != TIME_NEVER && !sk->rtx_tlp)
		rto_delta = sk->rtx_at > s->now ? sk->rtx_at - s->now : 0;
	if (rto_delta > 0 && rto_delta < timeout)
		timeout = rto_delta;
	sk->rtx_at = stack_timer_at(s, timeout);
	sk->rtx_tlp = 1;
	sock_timer_update(s, sk);
	return 1;
}

/* tcp_set_xmit_timer(): after an ACK with data still in flight */
void tcp_set_xmit_timer(struct synq_stack *s, struct synq_sock *sk)
{
	if (!schedule_loss_probe(s, sk, 1))
		tcp_rearm_rto(s, sk);
}

/* tcp_send_loss_probe(): new data if the window allows, else the last segment again; then the
 * RTO from now */
static void send_loss_probe(struct synq_stack *s, struct synq_sock *sk)
{
	sk->rtx_tlp = 0;
	if (sk->tlp_out) {
		tcp_rearm_rto(s, sk);
		return;
	}
	uint32_t before = sk->snd_nxt;
	int nodelay = sk->flags & SK_NODELAY;
	sk->flags |= SK_NODELAY; /* TCP_NAGLE_OFF, one segment */
	tcp_push_one(s, sk);
	if (!nodelay)
		sk->flags &= (uint16_t)~SK_NODELAY;
	int sent = sk->snd_nxt != before;
	if (!sent && sk->snd_una != sk->snd_nxt) {
		uint32_t data_end = sk->snd_nxt - ((sk->flags & SK_FIN_SENT) ? 1 : 0);
		uint32_t first = seq_gt(sk->snd_una, data_start(sk)) ? sk->snd_una : data_start(sk);
		uint32_t len = seq_gt(data_end, first) ? data_end - first : 0;
		if (len > sk->mss)
			len = sk->mss;
		uint32_t seq = data_end - len; /* the last segment */
		int fin = (sk->flags & SK_FIN_SENT) != 0;
		if (emit_data(s, sk, seq, len, fin) == 0) {
			cnt_inc(s, SYNQ_C_TCP_RETRANS_SEGS);
			sk->total_retrans++;
			if (!sk->retrans_stamp)
				sk->retrans_stamp = sk->rtt_time ? sk->rtt_time : s->now;
			sk->rtt_time = 0; /* Karn */
			sent = 1;
		}
	}
	if (sent) {
		sk->tlp_out = 1;
		sk->tlp_high = sk->snd_nxt;
		cnt_inc(s, SYNQ_C_TCP_LOSS_PROBES);
	}
	tcp_rearm_rto(s, sk);
}

/* RFC 6298 2.2/2.3 with Linux's rto = srtt + max(4 * rttvar, rto_min), capped at rto_max. */
void tcp_rtt_sample(struct synq_stack *s, struct synq_sock *sk, uint64_t rtt)
{
	uint64_t rto_min = (uint64_t)s->cfg.tcp_rto_min_us * NS_PER_US;
	uint64_t rto_max = (uint64_t)s->cfg.tcp_rto_max_ms * NS_PER_MS;
	if (!sk->srtt_ns) {
		sk->srtt_ns = rtt;
		sk->rttvar_ns = rtt / 2;
	} else {
		uint64_t d = rtt > sk->srtt_ns ? rtt - sk->srtt_ns : sk->srtt_ns - rtt;
		sk->rttvar_ns = (3 * sk->rttvar_ns + d) / 4;
		sk->srtt_ns = (7 * sk->srtt_ns + rtt) / 8;
	}
	uint64_t var = 4 * sk->rttvar_ns;
	uint64_t rto = sk->srtt_ns + (var > rto_min ? var : rto_min);
	sk->rto_ns = rto > rto_max ? rto_max : rto;
}

/* tcp_model_timeout(): how long tcp_write_timeout() lets `boundary` retransmissions take */
static uint64_t model_timeout(uint32_t boundary, uint64_t rto_base)
{
	uint32_t thresh = 0;
	while ((rto_base << (thresh + 1)) <= TCP_RTO_MAX_NS)
		thresh++; /* ilog2(TCP_RTO_MAX / rto_base) */
	if (boundary <= thresh)
		return ((2ull << boundary) - 1) * rto_base;
	return ((2ull << thresh) - 1) * rto_base + (uint64_t)(boundary - thresh) * TCP_RTO_MAX_NS;
}

void tcp_done(struct synq_stack *s, struct synq_sock *sk, int err) { tcp_done_why(s, sk, err, NULL); }

void tcp_done_why(struct synq_stack *s, struct synq_sock *sk, int err, const char *why)
{
	if (sk->state == SYNQ_TCP_SYN_SENT || sk->state == SYNQ_TCP_SYN_RECV)
		cnt_inc(s, SYNQ_C_TCP_ATTEMPT_FAILS);
	/* tcp_set_state(TCP_CLOSE): from ESTABLISHED or CLOSE-WAIT counts TcpEstabResets, whether
	 * the peer reset us, a timer gave up, or close() aborted (unread data, B43) */
	if (sk->state == SYNQ_TCP_ESTABLISHED || sk->state == SYNQ_TCP_CLOSE_WAIT)
		cnt_inc(s, SYNQ_C_TCP_ESTAB_RESETS);
	if (err) {
		sk->err = err;
		sk->flags |= SK_RESET;
	}
	sock_hash_remove(s, sk);
	sk->rtx_at = sk->ka_at = sk->tw_at = sk->dack_at = TIME_NEVER;
	sk->ack_pending = 0;
	sock_timer_update(s, sk);
	sock_set_state(s, sk, SYNQ_TCP_CLOSE);
	int fd = (int)sk_idx(s, sk);
	if (err)
		stack_event(s, SYNQ_EV_ERROR, fd, sk, err, why);
	stack_event(s, SYNQ_EV_CLOSED, fd, sk, err, NULL);
	if ((sk->flags & SK_ORPHAN) && !(sk->flags & SK_IN_ACCEPTQ))
		sock_free(s, sk);
}

/* tcp_write_timeout() */
static int write_timeout(struct synq_stack *s, struct synq_sock *sk)
{
	uint32_t retry_until, max_retrans;
	uint64_t rto_base = (uint64_t)s->cfg.tcp_rto_min_us * NS_PER_US;
	if (sk->state == SYNQ_TCP_SYN_SENT || sk->state == SYNQ_TCP_SYN_RECV) {
		retry_until = (uint32_t)(sk->syncnt ? sk->syncnt : s->cfg.tcp_syn_retries);
		max_retrans = retry_until;
		if (sk->state == SYNQ_TCP_SYN_SENT)
			max_retrans += (uint32_t)s->cfg.tcp_syn_linear_timeouts; /* B38 */
		if (sk->retransmits >= max_retrans)
			return 1;
		rto_base = TCP_TIMEOUT_INIT_NS;
	} else {
		retry_until = (uint32_t)s->cfg.tcp_retries2;
	}
	/* retransmits_timed_out() */
	if (!sk->retransmits)
		return 0;
	uint64_t timeout = sk->user_timeout_ms ? (uint64_t)sk->user_timeout_ms * NS_PER_MS
					       : model_timeout(retry_until, rto_base);
	return s->now - sk->retrans_stamp >= timeout;
}

static void retransmit_timer(struct synq_stack *s, struct synq_sock *sk)
{
	if (sk->snd_una == sk->snd_nxt && !(sk->tx.len && sk->snd_wnd == 0)) {
		sk->rtx_at = TIME_NEVER;
		return;
	}
	cnt_inc(s, SYNQ_C_TCP_TIMEOUTS);
	if (write_timeout(s, sk)) {
		cnt_inc(s, SYNQ_C_TCP_ABORT_ON_TIMEOUT);
		/* tcp_write_err(): no RST; a soft ICMP error replaces ETIMEDOUT (B11) */
		tcp_done(s, sk, sk->err_soft ? sk->err_soft : -ETIMEDOUT);
		return;
	}
	if (!sk->retrans_stamp)
		sk->retrans_stamp = sk->rtt_time ? sk->rtt_time : s->now;
	sk->rtt_time = 0; /* Karn: no sample from retransmitted data */
	int ok;
	if (sk->state == SYNQ_TCP_SYN_SENT) {
		ok = tcp_send_syn(s, sk, 0) == 0;
		if (ok)
			cnt_inc(s, SYNQ_C_TCP_SYN_RETRANS);
	} else if (sk->state == SYNQ_TCP_SYN_RECV) {
		ok = tcp_send_syn(s, sk, 1) == 0;
		if (ok)
			cnt_inc(s, SYNQ_C_TCP_SYN_RETRANS);
	} else if (sk->snd_una == sk->snd_nxt) {
		/* zero-window probe: an old ACK (tcp_xmit_probe_skb, seq snd_una - 1) */
		struct synq_seg g;
		tcp_seg_init(s, sk, &g, TCP_ACK, sk->snd_una - 1);
		ok = send_seg(s, sk, &g) == 0;
	} else {
		uint32_t data_end = sk->snd_nxt - ((sk->flags & SK_FIN_SENT) ? 1 : 0);
		uint32_t len = data_end - sk->snd_una;
		if (seq_lt(sk->snd_una, data_start(sk)))
			len = 0;
		if (len > sk->mss)
			len = sk->mss;
		int fin = (sk->flags & SK_FIN_SENT) && sk->snd_una + len == data_end;
		ok = emit_data(s, sk, sk->snd_una, len, fin) == 0;
	}
	if (ok) {
		cnt_inc(s, SYNQ_C_TCP_RETRANS_SEGS);
		sk->total_retrans++;
	}
	sk->retransmits++;
	sk->total_rto++;
	/* B38: the first tcp_syn_linear_timeouts SYN RTOs stay at 1 s, then doubling */
	uint64_t rto_max = (uint64_t)s->cfg.tcp_rto_max_ms * NS_PER_MS;
	if (sk->state != SYNQ_TCP_SYN_SENT || sk->total_rto > (uint32_t)s->cfg.tcp_syn_linear_timeouts)
		sk->rto_ns = sk->rto_ns * 2 > rto_max ? rto_max : sk->rto_ns * 2;
	uint64_t when = sk->rto_ns;
	if (sk->user_timeout_ms && sk->retrans_stamp) {
		/* tcp_clamp_rto_to_user_timeout() */
		uint64_t ut = (uint64_t)sk->user_timeout_ms * NS_PER_MS, el = s->now - sk->retrans_stamp;
		uint64_t left = ut > el ? ut - el : 1;
		if (left < when)
			when = left;
	}
	sk->rtx_at = stack_timer_at(s, when);
}

/* keepalive_time_elapsed() / tcp_keepalive_timer() */
void tcp_set_keepalive_timer(struct synq_stack *s, struct synq_sock *sk)
{
	if (!(sk->flags & SK_KEEPALIVE) ||
	    (sk->state != SYNQ_TCP_ESTABLISHED && sk->state != SYNQ_TCP_CLOSE_WAIT &&
	     sk->state != SYNQ_TCP_FIN_WAIT1 && sk->state != SYNQ_TCP_FIN_WAIT2)) {
		sk->ka_at = TIME_NEVER;
	} else {
		uint64_t idle = (uint64_t)(sk->keepidle ? sk->keepidle : s->cfg.tcp_keepalive_time) * NS_PER_S;
		sk->ka_at = stack_timer_at(s, sk->last_rcv + idle > s->now ? sk->last_rcv + idle - s->now : 0);
		if (sk->probes_out) {
			uint64_t intvl = (uint64_t)(sk->keepintvl ? sk->keepintvl : s->cfg.tcp_keepalive_intvl) *
					 NS_PER_S;
			sk->ka_at = stack_timer_at(s, intvl);
		}
	}
	sock_timer_update(s, sk);
}

static void keepalive_timer(struct synq_stack *s, struct synq_sock *sk)
{
	uint64_t idle = (uint64_t)(sk->keepidle ? sk->keepidle : s->cfg.tcp_keepalive_time) * NS_PER_S;
	uint64_t intvl = (uint64_t)(sk->keepintvl ? sk->keepintvl : s->cfg.tcp_keepalive_intvl) * NS_PER_S;
	uint32_t probes = (uint32_t)(sk->keepcnt ? sk->keepcnt : s->cfg.tcp_keepalive_probes);
	sk->ka_at = TIME_NEVER;
	if (!(sk->flags & SK_KEEPALIVE))
		return;
	if (sk->snd_una != sk->snd_nxt || sk->tx.len) { /* packets out: the RTO handles it */
		sk->ka_at = stack_timer_at(s, idle);
		return;
	}
	uint64_t elapsed = s->now - sk->last_rcv;
	if (elapsed < idle) {
		sk->ka_at = stack_timer_at(s, sk->last_rcv + idle > s->now ? sk->last_rcv + idle - s->now : 0);
		return;
	}
	if ((sk->user_timeout_ms && elapsed >= (uint64_t)sk->user_timeout_ms * NS_PER_MS &&
	     sk->probes_out > 0) ||
	    (!sk->user_timeout_ms && sk->probes_out >= probes)) {
		/* tcp_send_active_reset() then tcp_write_err(): TCPAbortOnTimeout */
		tcp_send_active_reset(s, sk);
		cnt_inc(s, SYNQ_C_TCP_ABORT_ON_TIMEOUT);
		tcp_done(s, sk, sk->err_soft ? sk->err_soft : -ETIMEDOUT); /* tcp_write_err() */
		return;
	}
	/* tcp_write_wakeup(): an ACK with seq = snd_una - 1 that the peer must answer */
	struct synq_seg g;
	tcp_seg_init(s, sk, &g, TCP_ACK, sk->snd_una - 1);
	if (send_seg(s, sk, &g) == 0) {
		sk->probes_out++;
		cnt_inc(s, SYNQ_C_TCP_KEEPALIVE);
	}
	sk->ka_at = stack_timer_at(s, intvl);
}

/* An orphan that reaches FIN-WAIT-2 becomes a timewait sock in the FIN_WAIT2 substate when
 * tcp_fin_timeout <= TCP_TIMEWAIT_LEN (tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)) */
static int fw2_is_timewait(const struct synq_stack *s, const struct synq_sock *sk)
{
	return sk->state == SYNQ_TCP_FIN_WAIT2 && (sk->flags & SK_ORPHAN) &&
	       (uint64_t)s->cfg.tcp_fin_timeout * NS_PER_S <= TCP_TIMEWAIT_NS;
}

/* TcpExtTW (LINUX_MIB_TIMEWAITED) is counted when a timewait sock is scheduled
 * (__inet_twsk_schedule, not rearmed), i.e. on entering TIME-WAIT or an orphan's FIN-WAIT-2
 * (tcp_in.c, socket.c), not when it expires */
void tcp_enter_time_wait(struct synq_stack *s, struct synq_sock *sk)
{
	tcpm_save(s, sk); /* tcp_time_wait(): tcp_update_metrics() */
	if (!fw2_is_timewait(s, sk)) /* the FIN_WAIT2 timewait sock is only rescheduled */
		cnt_inc(s, SYNQ_C_TW);
	sock_set_state(s, sk, SYNQ_TCP_TIME_WAIT);
	/* the timewait sock that replaces Linux's socket has no delayed ACK */
	sk->rtx_at = sk->ka_at = sk->dack_at = TIME_NEVER;
	sk->ack_pending = 0;
	sk->tw_at = stack_timer_at(s, TCP_TIMEWAIT_NS);
	sock_timer_update(s, sk);
}

void tcp_sock_timer(struct synq_stack *s, struct synq_sock *sk)
{
	uint64_t now = s->now;
	if (sk->tw_at <= now) {
		sk->tw_at = TIME_NEVER;
		if (sk->state == SYNQ_TCP_TIME_WAIT) {
			tcp_done(s, sk, 0);
			return;
		}
		if (sk->state == SYNQ_TCP_FIN_WAIT2) { /* tcp_fin_timeout for orphans: silent */
			if (!fw2_is_timewait(s, sk)) /* fin_timeout > 60 s: its last 60 s in timewait */
				cnt_inc(s, SYNQ_C_TW);
			tcp_done(s, sk, 0);
			return;
		}
	}
	if (sk->rtx_at <= now && sk->rtx_tlp) {
		sk->rtx_at = TIME_NEVER;
		send_loss_probe(s, sk);
	} else if (sk->rtx_at <= now) {
		sk->rtx_at = TIME_NEVER;
		sk->tlp_out = 0; /* tcp_retransmit_timer(): tp->tlp_high_seq = 0 */
		retransmit_timer(s, sk);
		if (!(sk->flags & SK_USED) || sk->state == SYNQ_TCP_CLOSE)
			return;
	}
	if (sk->dack_at <= now) {
		sk->dack_at = TIME_NEVER;
		delack_timer(s, sk);
		if (!(sk->flags & SK_USED) || sk->state == SYNQ_TCP_CLOSE)
			return;
	}
	if (sk->ka_at <= now) {
		if (sk->state == SYNQ_TCP_LISTEN) /* 3.10 rules: the listener's prune timer */
			listen_prune(s, sk);
		else
			keepalive_timer(s, sk);
	}
	sock_timer_update(s, sk);
}
