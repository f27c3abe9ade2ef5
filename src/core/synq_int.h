/*
 * synq_int.h — libsynq internals shared by the core modules. Private: never installed.
 *
 * Memory: everything lives in pools allocated once by synq_stack_new() (request pool, socket
 * pool with per-socket buffers, hash buckets, timer heap, output ring). Objects refer to each
 * other by 32-bit pool indices (NIL = none), never by pointers that could dangle.
 *
 * Read first: ../shared/SPEC-linux-listen.md (rules B1..B51), RFC 9293 (TCP), RFC 6298 (RTO),
 * RFC 7323 (timestamps, window scale), RFC 5961 (challenge ACKs).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYNQ_INT_H
#define SYNQ_INT_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "synq.h"
#include "core/siphash.h"
#include "core/wire.h"

#define NIL UINT32_MAX
#define NS_PER_US 1000ull
#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull
#define TIME_NEVER UINT64_MAX

/* Linux constants (include/net/tcp.h) */
#define TCP_TIMEOUT_INIT_NS (1 * NS_PER_S) /* T0: initial SYN / SYN-ACK RTO */
#define TCP_RTO_MAX_NS (120 * NS_PER_S)    /* SYN-ACK backoff cap on <= 6.18 (B12) */
#define TCP_TIMEWAIT_NS (60 * NS_PER_S)    /* TCP_TIMEWAIT_LEN */
#define TCP_PAWS_MSL_S 60
#define TCP_MIN_MSS 88
#define TCP_MIN_SND_MSS 48 /* net.ipv4.tcp_min_snd_mss: the peer's MSS is never taken lower */
#define TCP_DEFAULT_MSS 536 /* RFC 9293 3.7.1, v4 MSS when the SYN has no option (B10) */
#define TCP_TS_LEN 12       /* aligned timestamp option bytes */
#define TCP_MAX_WINDOW 65535u
/* delayed ACKs (include/net/tcp.h; HZ-based there, in ns here, converted with ack_tick()) */
#define TCP_ATO_MIN_NS (40 * NS_PER_MS)    /* TCP_ATO_MIN = HZ / 25 */
#define TCP_DELACK_MIN_NS (40 * NS_PER_MS) /* TCP_DELACK_MIN = HZ / 25 */
#define TCP_DELACK_MAX_NS (200 * NS_PER_MS) /* TCP_DELACK_MAX = HZ / 5 (icsk_delack_max) */
#define TCP_ATO_MAX_NS (500 * NS_PER_MS)   /* tcp_send_delayed_ack(): max_ato = HZ / 2 */
#define TCP_MAX_QUICKACKS 16u
#define TCP_MSS_DEFAULT 536u /* tcp_initialize_rcv_mss() / tcp_measure_rcv_mss() */
/* icsk_ack.pending (enum inet_csk_ack_state_t) */
#define ICSK_ACK_SCHED 0x01  /* an ACK is due */
#define ICSK_ACK_TIMER 0x02  /* the delayed-ACK timer is armed */
#define ICSK_ACK_PUSHED 0x04 /* a pushed or short segment arrived (tcp_measure_rcv_mss) */
#define ICSK_ACK_PUSHED2 0x08
#define ICSK_ACK_NOW 0x10    /* send the next ACK at once */

/* ---------------------------------------------------------------------------------------- */
/* Request sock: one per half-open connection (SPEC §3). 60 bytes, 4-byte aligned, so that  */
/* with its 4-byte hash bucket a half-open connection costs 64 bytes (bench: halfopen_bytes). */
/* ---------------------------------------------------------------------------------------- */
#define REQ_TS 0x01     /* tstamp_ok */
#define REQ_SACK 0x02   /* sack_ok */
#define REQ_WS 0x04     /* wscale_ok */
#define REQ_ACKED 0x08  /* final ACK seen but no child (B15, B25, B27) */
#define REQ_COOKIE 0x10 /* rebuilt from a cookie ACK, never hashed (B36) */
#define REQ_LIVE 0x80   /* slot in use */

struct synq_req {
	uint32_t saddr;          /* peer address */
	uint32_t rcv_isn;        /* client ISN (B10) */
	uint32_t snt_isn;        /* our ISN */
	uint32_t ts_recent;      /* last TSval from the peer */
	uint32_t tsval_first;    /* TSval of the first SYN-ACK (snt_tsval_first, B18) */
	uint32_t tsval_last;     /* TSval of the latest SYN-ACK (snt_tsval_last) */
	uint32_t exp_lo, exp_hi; /* timer expiry, ns (split to keep 4-byte alignment) */
	uint32_t last_oow;       /* tick (ms+1) of the last rate-limited reply, 0 = never */
	uint32_t hnext;          /* request hash chain */
	uint32_t tprev, tnext;   /* timer FIFO of its class (num_timeout) */
	uint16_t sport;          /* peer port */
	uint16_t listener;       /* socket index of the listener (rsk_listener) */
	uint16_t mss;            /* peer MSS (clamped by TCP_MAXSEG), B10 */
	uint8_t num_timeout;     /* n */
	uint8_t num_retrans;     /* r */
	uint8_t flags;           /* REQ_* */
	uint8_t wscale;          /* low nibble: peer's (snd) shift; high nibble: ours (rcv) */
	uint8_t laddr;           /* index into cfg.local_addrs of the address the SYN was sent to */
	uint8_t spare;
};

/* Request timers: all requests with the same num_timeout n are re-armed with the same delay
 * min(T0 << n, RTO_MAX) from a non-decreasing "now", so one FIFO per n stays sorted: O(1)
 * arm/cancel, and the next deadline is the minimum of REQ_TCLASSES heads. Timers that expire at
 * the same instant fire last-armed first, as Linux's timer wheel does (enqueue_timer() adds at
 * the head of the bucket's hlist): that order decides which request B13 prunes. */
#define REQ_TCLASSES 8 /* 1 << 7 s > 120 s: classes >= 7 share the RTO_MAX delay */

struct fifo {
	uint32_t head, tail;
	uint32_t run; /* first of the entries at the tail that share its expiry (NIL: unknown) */
};

/* ---------------------------------------------------------------------------------------- */
/* Sockets (full TCBs, listeners, TIME-WAIT)                                                 */
/* ---------------------------------------------------------------------------------------- */
#define SK_USED 0x0001      /* slot allocated */
#define SK_ORPHAN 0x0002    /* the application closed it; finishing in the background */
#define SK_BOUND 0x0004
#define SK_REUSEADDR 0x0008
#define SK_NODELAY 0x0010
#define SK_KEEPALIVE 0x0020
#define SK_IN_ACCEPTQ 0x0040 /* child waiting for accept() */
#define SK_RD_SHUT 0x0080    /* SHUT_RD or close */
#define SK_WR_SHUT 0x0100    /* SHUT_WR or close: a FIN is due after the queued data */
#define SK_FIN_SENT 0x0200   /* our FIN occupies snd_nxt - 1 */
#define SK_FIN_RCVD 0x0400   /* peer's FIN consumed (EOF after rx drains) */
#define SK_ZOMBIE_LISTENER 0x0800 /* closed listener kept while requests point at it (B17) */
#define SK_CONNECTING 0x1000 /* connect() called */
#define SK_ERR_REPORTED 0x2000 /* a fatal error was reported once: later writes say EPIPE */
#define SK_RESET 0x4000      /* the connection was reset / aborted */

struct ring {
	uint8_t *buf; /* owned by the stack's buffer slab */
	uint32_t cap, head, len;
};

struct synq_sock {
	uint16_t flags;
	uint8_t state; /* enum synq_tcp_state (SYNQ_TCP_CLOSE for fresh sockets) */
	uint8_t ack_pingpong; /* delayed ACK: replies seen within ato; interactive at
	                         tcp_pingpong_thresh (here to pack the struct: 384 bytes) */
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	uint32_t hnext; /* socket hash chain */
	uint32_t heap_idx;
	uint64_t timer_at; /* min of the timers below; key in the timer heap */
	uint64_t rtx_at, ka_at, tw_at;
	uint64_t dack_at; /* the delayed-ACK timer (on the wheel with timer_hz) */
	uint8_t rtx_tlp;  /* rtx_at is a tail loss probe, not the RTO (icsk_pending) */
	uint8_t tlp_out;  /* a probe is outstanding until snd_una passes tlp_high (RFC 8985 7.4) */
	uint8_t ack_pending;  /* delayed ACK (Linux's icsk_ack): ICSK_ACK_* */
	uint8_t ack_quick;    /* quick ACKs left (tcp_incr_quickack) */
	uint32_t tlp_high;

	/* send sequence space (RFC 9293 3.3.1) */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2, max_window;
	uint32_t snd_sml; /* end of the last small segment sent (Minshall's Nagle) */
	/* receive sequence space */
	uint32_t irs, rcv_nxt, rcv_adv; /* rcv_adv: right edge advertised (never shrinks) */
	uint32_t rcv_wup; /* rcv_nxt when the last segment left: Linux's rcv_wnd is rcv_adv - rcv_wup */
	uint8_t snd_wscale, rcv_wscale, ts_ok, sack_ok;
	/* delayed ACK, the rest of icsk_ack; times in ack ticks (ack_tick()) */
	uint16_t rcv_mss;      /* the peer's MSS as guessed for ACK decisions (tcp_measure_rcv_mss) */
	uint16_t last_seg_size;
	uint32_t ato;          /* ACK timeout */
	uint32_t lrcvtime;     /* tick of the last data received */
	uint32_t dack_timeout; /* tick the delayed ACK is due (icsk_delack_timeout) */
	uint32_t ts_recent, ts_recent_s, ts_off;
	uint16_t mss_clamp; /* peer's MSS */
	uint16_t mss;       /* effective send MSS (options subtracted) */
	uint16_t advmss;
	uint16_t user_mss;  /* TCP_MAXSEG, 0 = none */
	uint32_t user_timeout_ms; /* TCP_USER_TIMEOUT, 0 = none */

	/* RTO (RFC 6298 with Linux's floor/ceiling) */
	uint64_t srtt_ns, rttvar_ns, rto_ns;
	uint64_t rtt_time; /* send time of the timed segment (Karn), 0 = none */
	uint32_t rtt_seq;
	uint32_t retransmits; /* icsk_retransmits */
	uint32_t total_rto;
	uint32_t total_retrans;
	uint64_t retrans_stamp; /* time of the first transmission of the oldest unacked segment */
	uint64_t last_rcv; /* time the last segment arrived (keepalive idle) */
	uint32_t probes_out;
	uint32_t last_oow; /* tick of the last challenge/dup ACK (rate limit), 0 = never */

	int16_t err; /* pending error (negative errno) reported by read/write/SO_ERROR */
	int16_t err_soft; /* sk_err_soft: an ICMP error on a synchronized connection (negative
	                     errno, B11, RFC 1122 4.2.3.9), reported only by SO_ERROR (when err is 0)
	                     or instead of ETIMEDOUT when the connection times out; any acceptable
	                     ACK clears it */
	uint32_t pushed_seq; /* end of the last segment sent with PSH (forced_push) */

	/* options */
	int16_t keepidle, keepintvl; /* 0 = sysctl (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL 32767) */
	int8_t keepcnt;              /* 0 = sysctl (MAX_TCP_KEEPCNT 127) */
	int8_t syncnt;               /* TCP_SYNCNT, 0 = sysctl (MAX_TCP_SYNCNT 127) */
	uint8_t defer_accept;        /* TCP_DEFER_ACCEPT as retransmissions D (B16) */
	uint32_t rcvbuf, sndbuf; /* SO_RCVBUF/SO_SNDBUF as Linux reports them (doubled) */

	/* listener (B1-B4, SPEC §3) */
	uint32_t max_backlog; /* M */
	uint32_t acc_len;     /* A */
	uint32_t qlen;        /* Q */
	uint32_t young;       /* Y */
	uint32_t aq_head, aq_tail; /* accept FIFO of children */
	uint64_t overflows, drops; /* per-listener ListenOverflows / ListenDrops */
	uint8_t synflood_warned;   /* B7 */
	uint8_t overflow_seen;     /* a cookie was sent (B32) */
	uint32_t synq_n;           /* 3.10 rules: SYN-queue table size N (B4), fixed at listen() */
	uint32_t clock_hand;       /* 3.10 rules: next request bucket the prune timer scans (B12) */
	uint32_t lnext;            /* listener list */
	uint64_t last_overflow;    /* when (tcp_synq_overflow, at most once a second) */

	/* child */
	uint32_t parent; /* listener while in its accept queue */
	uint32_t aq_next;

	struct ring rx, tx;
};

/* tcp_metrics (net/ipv4/tcp_metrics.c), reduced to what B9 reads: the RTT saved for a peer
 * address when a connection to it closes. 4-way sets, the least recently saved replaced. */
#define TCPM_SETS 256
#define TCPM_WAYS 4
struct tcpm {
	uint32_t addr;
	uint32_t rtt_us; /* 0 = empty */
	uint64_t stamp;  /* when saved (TCP_METRICS_TIMEOUT: 1 hour) */
};

/* syn_fairness: requests per (listener, source /24), open addressing; a slot whose count fell to
 * 0 keeps its key (lookups probe past it) and is reused by the next new prefix */
#define PFX_SLOTS 4096
struct pfx_count {
	uint32_t prefix;   /* saddr & 0xffffff00 */
	uint16_t listener; /* socket index */
	uint16_t used;     /* slot ever used */
	uint32_t count;
};

struct out_ring {
	uint8_t *buf;
	uint32_t cap, head, tail, used; /* records: u16 length then the packet; 0xffff = wrap */
};

struct synq_stack {
	struct synq_config cfg;
	uint64_t now;
	uint64_t epoch; /* creation time */
	uint64_t cnt[SYNQ_COUNTER_COUNT];
	struct siphash_key isn_key, ts_key;
	struct siphash_key cookie_key[2]; /* syncookie_secret[2] (B33) */
	uint64_t hash_seed; /* table hash key (never changes after creation) */
	/* the segment synq_input() is handling and its 4-tuple hash, computed once per packet
	 * for both tables (stack_hash4) */
	const struct synq_seg *in_seg;
	uint32_t in_hash;
	uint64_t rng_state; /* splitmix64 state when there is no rand hook */
	uint32_t ip_id;

	/* requests */
	struct synq_req *reqs;
	uint32_t n_reqs, req_free; /* free list through hnext */
	uint32_t *req_buckets;
	uint32_t req_mask;
	struct fifo req_timers[REQ_TCLASSES];
	uint32_t req_live;

	/* sockets */
	struct synq_sock *socks;
	uint32_t n_socks, sock_free; /* free list through hnext */
	uint32_t *sock_buckets;
	uint32_t sock_mask;
	uint32_t listeners; /* list through lnext */
	uint32_t *heap;     /* timer heap of socket indices */
	uint32_t heap_len;
	uint8_t *bufs;

	struct out_ring out;
	struct tcpm *metrics; /* TCPM_SETS * TCPM_WAYS */
	struct pfx_count *pfx; /* PFX_SLOTS (syn_fairness) */
	char msg[128]; /* text of the last SYNQ_EV_LOG event */
	char why_code[32], why_rule[8]; /* the current event's code and rule (stack_why) */

	/* memory accounting (synq_stack_memory) */
	size_t mem_total;
	void *blocks[16];
	size_t block_sizes[16];
	int n_blocks;
};

/* ---- stack.c ---------------------------------------------------------------------------- */
static inline void cnt_inc(struct synq_stack *s, int id) { s->cnt[id]++; }
void stack_event(struct synq_stack *s, int kind, int fd, const struct synq_sock *sk, int err,
		 const char *reason);
/* Reasons are "code|rule|text" literals, e.g. "accept_queue_full|B27|final ACK while ..." */
void stack_drop(struct synq_stack *s, int counter, const struct synq_seg *g, int fd,
		const char *reason);
void stack_why(struct synq_stack *s, struct synq_event *ev, const char *why);
/* Current tick for rate limits: ms + 1 so that 0 means "never" (tcp_jiffies32 stand-in). */
static inline uint32_t stack_tick(const struct synq_stack *s) { return (uint32_t)(s->now / NS_PER_MS) + 1; }
/* TCP timestamp clock (ms), before the per-connection offset */
static inline uint32_t stack_ts_ms(const struct synq_stack *s) { return (uint32_t)(s->now / NS_PER_MS); }
int stack_rate_limited(struct synq_stack *s, uint32_t *last, int counter);
int stack_is_local(const struct synq_stack *s, uint32_t ip);
int stack_local_index(const struct synq_stack *s, uint32_t ip);
uint32_t stack_hash4(const struct synq_stack *s, uint32_t saddr, uint32_t daddr, uint16_t sport,
		     uint16_t dport);
/* stack_hash4 of g's 4-tuple (the saved one when g is the packet being handled) */
static inline uint32_t stack_seg_hash(const struct synq_stack *s, const struct synq_seg *g)
{
	return g == s->in_seg ? s->in_hash : stack_hash4(s, g->saddr, g->daddr, g->sport, g->dport);
}
uint32_t stack_isn(const struct synq_stack *s, uint32_t saddr, uint32_t daddr, uint16_t sport,
		   uint16_t dport);
uint32_t stack_ts_off(const struct synq_stack *s, uint32_t saddr, uint32_t daddr);
void stack_random(struct synq_stack *s, void *buf, size_t len);
/* When a timer armed now with this delay fires: now + delay, or on the timer wheel (timer_hz) */
uint64_t stack_timer_at(const struct synq_stack *s, uint64_t delay_ns);
/* The clock of the delayed-ACK engine, Linux's tcp_jiffies32: one jiffy at net.synq.timer_hz,
 * else 1 ms (HZ=1000; the timers themselves stay exact). u32 and wrapping, as in the kernel.
 * ack_ticks() converts a duration, rounding up as usecs_to_jiffies() does. */
static inline uint64_t ack_tick(const struct synq_stack *s)
{
	return s->cfg.timer_hz ? NS_PER_S / (uint64_t)s->cfg.timer_hz : NS_PER_MS;
}
static inline uint32_t ack_now(const struct synq_stack *s)
{
	return (uint32_t)(s->cfg.timer_hz ? s->now / ack_tick(s) : s->now / NS_PER_MS);
}
static inline uint32_t ack_ticks(const struct synq_stack *s, uint64_t ns)
{
	uint64_t t = ack_tick(s), n = (ns + t - 1) / t;
	return n > UINT32_MAX / 4 ? UINT32_MAX / 4 : (uint32_t)n;
}

/* output: returns 0 or -ENOBUFS (out ring full: SynqOutRingDrops counted) */
int out_emit(struct synq_stack *s, struct synq_seg *g);

/* ---- socket table (sock.c) -------------------------------------------------------------- */
static inline uint32_t sk_idx(const struct synq_stack *s, const struct synq_sock *sk)
{
	return (uint32_t)(sk - s->socks);
}
struct synq_sock *sock_alloc(struct synq_stack *s);
void sock_free(struct synq_stack *s, struct synq_sock *sk);
void sock_hash_insert(struct synq_stack *s, struct synq_sock *sk);
void sock_hash_remove(struct synq_stack *s, struct synq_sock *sk);
struct synq_sock *sock_lookup(struct synq_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
			      uint16_t rport);
struct synq_sock *sock_lookup_seg(struct synq_stack *s, const struct synq_seg *g);
struct synq_sock *listener_lookup(struct synq_stack *s, uint32_t laddr, uint16_t lport);
void sock_set_state(struct synq_stack *s, struct synq_sock *sk, int state);
void sock_timer_update(struct synq_stack *s, struct synq_sock *sk);
uint64_t sock_next_timer(const struct synq_stack *s);
struct synq_sock *sock_timer_top(struct synq_stack *s);

/* ---- listen.c: the listener (B1-B31) ---------------------------------------------------- */
void listen_input(struct synq_stack *s, struct synq_sock *l, const struct synq_seg *g,
		  uint32_t tw_isn);
int req_input(struct synq_stack *s, struct synq_req *req, const struct synq_seg *g);
struct synq_req *req_lookup(struct synq_stack *s, const struct synq_seg *g);
uint64_t req_next_timer(const struct synq_stack *s);
void req_timer_run(struct synq_stack *s, uint64_t now);
void listen_stop(struct synq_stack *s, struct synq_sock *l);
/* 3.10 rules (B12): the listener's 200 ms timer (inet_csk_reqsk_queue_prune) */
void listen_prune(struct synq_stack *s, struct synq_sock *l);
static inline int rules310(const struct synq_stack *s) { return s->cfg.kernel_rules == 310; }
static inline uint64_t req_expires(const struct synq_req *r)
{
	return ((uint64_t)r->exp_hi << 32) | r->exp_lo;
}

/* B11 (tcp_req_err): an ICMP error whose quote names request r (q: its 4-tuple as a segment from
 * the peer), quoting sequence number seq; abort: the type removes the request */
void req_icmp_err(struct synq_stack *s, struct synq_req *r, const struct synq_seg *q, uint32_t seq,
		  int abort);

/* ---- icmp.c: ICMP input (B11) ----------------------------------------------------------- */
/* An IPv4 packet with protocol ICMP addressed to the stack: returns 0 or -EBADMSG */
int icmp_input(struct synq_stack *s, const uint8_t *pkt, size_t len);

/* ---- tcp_in.c --------------------------------------------------------------------------- */
void tcp_sock_input(struct synq_stack *s, struct synq_sock *sk, const struct synq_seg *g);
/* B30/B31: the RST answering segment g (none for an RST): 0 if queued */
int tcp_send_reset_for(struct synq_stack *s, const struct synq_seg *g);
/* tcp_v4_err() for a full socket (not TIME-WAIT): m's quote names sk (q: as from the peer) */
void tcp_sock_icmp_err(struct synq_stack *s, struct synq_sock *sk, const struct synq_icmp *m,
		       const struct synq_seg *q);

/* ---- tcp_out.c -------------------------------------------------------------------------- */
void tcp_seg_init(const struct synq_stack *s, const struct synq_sock *sk, struct synq_seg *g,
		  uint8_t flags, uint32_t seq);
int tcp_send_ack(struct synq_stack *s, struct synq_sock *sk);
int tcp_send_syn(struct synq_stack *s, struct synq_sock *sk, int synack);
int tcp_send_active_reset(struct synq_stack *s, struct synq_sock *sk);
void tcp_push(struct synq_stack *s, struct synq_sock *sk);
void tcp_sock_timer(struct synq_stack *s, struct synq_sock *sk);
void tcp_rearm_rto(struct synq_stack *s, struct synq_sock *sk);
void tcp_set_xmit_timer(struct synq_stack *s, struct synq_sock *sk);
void tcp_rtt_sample(struct synq_stack *s, struct synq_sock *sk, uint64_t rtt_ns);
uint16_t tcp_window_field(const struct synq_sock *sk, int syn);
void tcp_update_rcv_adv(struct synq_sock *sk);
uint32_t tcp_rcv_space(const struct synq_sock *sk);
uint8_t tcp_choose_wscale(const struct synq_stack *s, uint32_t space);
/* __tcp_select_window(): the window an ACK sent now would offer (may end quick-ack mode) */
uint32_t tcp_select_window_now(struct synq_sock *sk);
/* delayed ACKs: tcp_send_delayed_ack(), the peer's MSS guess, quick-ack and ping-pong modes */
void tcp_send_delayed_ack(struct synq_stack *s, struct synq_sock *sk);
void tcp_init_rcv_mss(struct synq_sock *sk, uint32_t rcv_wnd);
void tcp_enter_quickack_mode(struct synq_stack *s, struct synq_sock *sk, unsigned max_quickacks);
static inline int tcp_in_pingpong_mode(const struct synq_stack *s, const struct synq_sock *sk)
{
	return sk->ack_pingpong >= s->cfg.tcp_pingpong_thresh;
}
/* inet_csk_enter/exit_pingpong_mode() */
static inline void tcp_enter_pingpong_mode(const struct synq_stack *s, struct synq_sock *sk)
{
	sk->ack_pingpong = (uint8_t)s->cfg.tcp_pingpong_thresh;
}
/* tcp_cleanup_rbuf(): after the application read copied bytes, an ACK or window update now? */
void tcp_cleanup_rbuf(struct synq_stack *s, struct synq_sock *sk, uint32_t copied);
uint32_t tcp_syn_window(uint32_t space, uint16_t mss);
void tcp_sync_mss(struct synq_sock *sk);
void tcp_done(struct synq_stack *s, struct synq_sock *sk, int err);
/* the same, with the reason ("code|rule|text") its SYNQ_EV_ERROR event carries */
void tcp_done_why(struct synq_stack *s, struct synq_sock *sk, int err, const char *why);
void tcp_set_keepalive_timer(struct synq_stack *s, struct synq_sock *sk);
void tcp_enter_time_wait(struct synq_stack *s, struct synq_sock *sk);
/* tcp_update_metrics() / tcp_peer_is_proven() */
void tcpm_save(struct synq_stack *s, const struct synq_sock *sk);
int tcpm_proven(const struct synq_stack *s, uint32_t addr);

/* ---- ring buffers ----------------------------------------------------------------------- */
uint32_t ring_write(struct ring *r, const void *data, uint32_t len);
uint32_t ring_read(struct ring *r, void *data, uint32_t len);
void ring_copy_out(const struct ring *r, uint32_t off, void *data, uint32_t len);
void ring_drop(struct ring *r, uint32_t len);
static inline uint32_t ring_free(const struct ring *r) { return r->cap - r->len; }

#endif /* SYNQ_INT_H */
