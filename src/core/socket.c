/*
 * socket.c — the socket API: Linux semantics and errnos, non-blocking.
 *
 * An fd is a socket-pool index. It is valid for the application from synq_socket() or
 * synq_accept() until synq_close(); a closed connection may live on (orphan) to finish its
 * close handshake or TIME-WAIT, and a child in an accept queue belongs to its listener.
 *
 * SPDX-License-Identifier: MIT
 */
#include "core/synq_int.h"

static struct synq_sock *user_sock(const struct synq_stack *s, int fd)
{
	if (!s || fd < 0 || (uint32_t)fd >= s->n_socks)
		return NULL;
	struct synq_sock *sk = &s->socks[fd];
	if (!(sk->flags & SK_USED) || (sk->flags & (SK_ORPHAN | SK_IN_ACCEPTQ | SK_ZOMBIE_LISTENER)))
		return NULL;
	return sk;
}

static int advance(struct synq_stack *s, uint64_t now)
{
	if (now < s->now)
		return -ETIME;
	s->now = now;
	return 0;
}

int synq_socket(synq_stack *s)
{
	struct synq_sock *sk = sock_alloc(s);
	if (!sk)
		return -EMFILE;
	return (int)sk_idx(s, sk);
}

/* ---- ports ------------------------------------------------------------------------------ */
/* inet_csk_bind_conflict(): same port, overlapping address, unless both have SO_REUSEADDR
 * and the other is not listening. */
static int port_conflict(const struct synq_stack *s, const struct synq_sock *me, uint32_t laddr,
			 uint16_t port)
{
	for (uint32_t i = 0; i < s->n_socks; i++) {
		const struct synq_sock *o = &s->socks[i];
		if (o == me || !(o->flags & SK_USED) || !(o->flags & SK_BOUND) || o->lport != port)
			continue;
		if (o->state == SYNQ_TCP_CLOSE && (o->flags & (SK_ORPHAN | SK_ZOMBIE_LISTENER)))
			continue;
		if (o->laddr && laddr && o->laddr != laddr)
			continue;
		if ((me->flags & SK_REUSEADDR) && (o->flags & SK_REUSEADDR) &&
		    o->state != SYNQ_TCP_LISTEN)
			continue;
		return 1;
	}
	return 0;
}

static int pick_port(struct synq_stack *s, struct synq_sock *sk, uint32_t laddr)
{
	uint32_t lo = (uint32_t)s->cfg.ip_local_port_range_lo;
	uint32_t n = (uint32_t)s->cfg.ip_local_port_range_hi - lo + 1;
	uint32_t r;
	stack_random(s, &r, sizeof(r));
	for (uint32_t k = 0; k < n; k++) {
		uint16_t p = (uint16_t)(lo + (r + k) % n);
		if (!port_conflict(s, sk, laddr, p))
			return p;
	}
	return -EADDRINUSE;
}

int synq_bind(synq_stack *s, int fd, const struct synq_addr *addr)
{
	struct synq_sock *sk = user_sock(s, fd);
	if (!sk)
		return -EBADF;
	if (!addr)
		return -EINVAL;
	if ((sk->flags & SK_BOUND) || sk->state != SYNQ_TCP_CLOSE || (sk->flags & SK_CONNECTING))
		return -EINVAL;
	if (addr->ip && !stack_is_local(s, addr->ip))
		return -EADDRNOTAVAIL;
	int port = addr->port;
	if (!port) {
		port = pick_port(s, sk, addr->ip);
		if (port < 0)
			return port;
	} else if (port_conflict(s, sk, addr->ip, (uint16_t)port)) {
		return -EADDRINUSE;
	}
	sk->laddr = addr->ip;
	sk->lport = (uint16_t)port;
	sk->flags |= SK_BOUND;
	return 0;
}

/* ---- listen / accept (B1, B2, B26) ------------------------------------------------------ */
int synq_listen(synq_stack *s, int fd, int backlog)
{
	struct synq_sock *sk = user_sock(s, fd);
	if (!sk)
		return -EBADF;
	/* B1: (unsigned)backlog > somaxconn => somaxconn; negative => somaxconn */
	uint32_t m = (uint32_t)backlog;
	if ((uint64_t)m > (uint64_t)s->cfg.somaxconn)
		m = (uint32_t)s->cfg.somaxconn;
	if (sk->state == SYNQ_TCP_LISTEN) {
		sk->max_backlog = m; /* B2: only the backlog changes */
		return 0;
	}
	if (sk->state != SYNQ_TCP_CLOSE || (sk->flags & (SK_CONNECTING | SK_RESET)))
		return -EINVAL;
	if (!(sk->flags & SK_BOUND)) {
		int p = pick_port(s, sk, 0);
		if (p < 0)
			return p;
		sk->lport = (uint16_t)p;
		sk->flags |= SK_BOUND;
	} else if (port_conflict(s, sk, sk->laddr, sk->lport)) {
		return -EADDRINUSE;
	}
	sk->max_backlog = m;
	/* 3.10 reqsk_queue_alloc(): N = roundup_pow_of_two(max(8, min(M, max_syn_backlog)) + 1) */
	uint64_t n = m < (uint64_t)s->cfg.tcp_max_syn_backlog ? m : (uint64_t)s->cfg.tcp_max_syn_backlog;
	n = (n < 8 ? 8 : n) + 1;
	sk->synq_n = 1;
	while (sk->synq_n < n && sk->synq_n < (1u << 30))
		sk->synq_n <<= 1;
	sk->clock_hand = 0;
	sk->acc_len = sk->qlen = sk->young = 0;
	sk->aq_head = sk->aq_tail = NIL;
	sk->lnext = s->listeners;
	s->listeners = (uint32_t)fd;
	sock_set_state(s, sk, SYNQ_TCP_LISTEN);
	return 0;
}

int synq_accept(synq_stack *s, int fd, struct synq_addr *peer)
{
	struct synq_sock *l = user_sock(s, fd);
	if (!l)
		return -EBADF;
	if (l->state != SYNQ_TCP_LISTEN)
		return -EINVAL;
	if (l->aq_head == NIL)
		return -EAGAIN;
	struct synq_sock *c = &s->socks[l->aq_head];
	l->aq_head = c->aq_next;
	if (l->aq_head == NIL)
		l->aq_tail = NIL;
	l->acc_len--;
	c->aq_next = NIL;
	c->parent = NIL;
	c->flags &= (uint16_t)~SK_IN_ACCEPTQ;
	if (peer) {
		peer->ip = c->raddr;
		peer->port = c->rport;
	}
	return (int)sk_idx(s, c);
}

/* ---- connect (B38 client side) ---------------------------------------------------------- */
int synq_connect(synq_stack *s, int fd, const struct synq_addr *addr, uint64_t now_ns)
{
	struct synq_sock *sk = user_sock(s, fd);
	if (!sk)
		return -EBADF;
	if (advance(s, now_ns))
		return -ETIME;
	if (!addr || !addr->port || !addr->ip)
		return -EINVAL;
	if (sk->state == SYNQ_TCP_SYN_SENT)
		return -EALREADY;
	if (sk->state != SYNQ_TCP_CLOSE)
		return sk->state == SYNQ_TCP_LISTEN ? -EINVAL : -EISCONN;
	if (sk->flags & (SK_CONNECTING | SK_RESET))
		return -EISCONN;
	if (!s->cfg.n_local_addrs)
		return -EADDRNOTAVAIL;
	uint32_t laddr = sk->laddr ? sk->laddr : s->cfg.local_addrs[0];
	if (!(sk->flags & SK_BOUND)) {
		int p = pick_port(s, sk, laddr);
		if (p < 0)
			return -EADDRNOTAVAIL;
		sk->lport = (uint16_t)p;
		sk->flags |= SK_BOUND;
	}
	if (sock_lookup(s, laddr, sk->lport, addr->ip, addr->port))
		return -EADDRNOTAVAIL;
	sk->laddr = laddr;
	sk->raddr = addr->ip;
	sk->rport = addr->port;
	sk->flags |= SK_CONNECTING;
	sk->iss = stack_isn(s, laddr, addr->ip, sk->lport, addr->port);
	sk->snd_una = sk->snd_sml = sk->iss;
	sk->pushed_seq = sk->iss + 1; /* tcp_connect_init: pushed_seq = write_seq */
	sk->snd_nxt = sk->snd_max = sk->iss + 1;
	sk->ts_off = stack_ts_off(s, laddr, addr->ip);
	sk->rcv_wscale = s->cfg.tcp_window_scaling ? tcp_choose_wscale(s, tcp_rcv_space(sk)) : 0;
	sk->rto_ns = TCP_TIMEOUT_INIT_NS;
	sock_hash_insert(s, sk);
	sock_set_state(s, sk, SYNQ_TCP_SYN_SENT);
	cnt_inc(s, SYNQ_C_TCP_ACTIVE_OPENS);
	tcp_send_syn(s, sk, 0);
	sk->rtt_time = s->now;
	tcp_rearm_rto(s, sk);
	return -EINPROGRESS;
}

/* ---- read / write ----------------------------------------------------------------------- */
static int take_error(struct synq_sock *sk)
{
	int e = sk->err;
	sk->err = 0;
	if (e)
		sk->flags |= SK_ERR_REPORTED;
	return e;
}

long synq_read(synq_stack *s, int fd, void *buf, size_t len, uint64_t now_ns)
{
	struct synq_sock *sk = user_sock(s, fd);
	if (!sk)
		return -EBADF;
	if (advance(s, now_ns))
		return -ETIME;
	if (sk->state == SYNQ_TCP_LISTEN)
		return -ENOTCONN;
	if (sk->rx.len && len) {
		uint32_t n = ring_read(&sk->rx, buf, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
		tcp_cleanup_rbuf(s, sk, n); /* the ACK still due, or a window update */
		return (long)n;
	}
	if (sk->err)
		return take_error(sk);
	if ((sk->flags & (SK_FIN_RCVD | SK_RD_SHUT | SK_RESET)) || !len)
		return 0;
	if (sk->state == SYNQ_TCP_CLOSE)
		return (sk->flags & SK_CONNECTING) ? 0 : -ENOTCONN;
	return -EAGAIN;
}

long synq_write(synq_stack *s, int fd, const void *buf, size_t len, uint64_t now_ns)
{
	struct synq_sock *sk = user_sock(s, fd);
	if (!sk)
		return -EBADF;
	if (advance(s, now_ns))
		return -ETIME;
	if (sk->err)
		return take_error(sk); /* sk_stream_error(): the pending error first, then EPIPE */
	if ((sk->flags & (SK_WR_SHUT | SK_RESET)))
		return -EPIPE;
	if (sk->state == SYNQ_TCP_SYN_SENT || sk->state == SYNQ_TCP_SYN_RECV)
		return -EAGAIN;
	if (sk->state != SYNQ_TCP_ESTABLISHED && sk->state != SYNQ_TCP_CLOSE_WAIT)
		return (sk->state == SYNQ_TCP_CLOSE && !(sk->flags & SK_CONNECTING)) ? -ENOTCONN
										      : -EPIPE;
	uint32_t lim = sk->sndbuf / 2 < sk->tx.cap ? sk->sndbuf / 2 : sk->tx.cap;
	uint32_t room = lim > sk->tx.len ? lim - sk->tx.len : 0;
	if (!room)
		return len ? -EAGAIN : 0;
	uint32_t n = len < room ? (uint32_t)len : room;
	ring_write(&sk->tx, buf, n);
	tcp_push(s, sk);
	return (long)n;
}

/* ---- shutdown / close ------------------------------------------------------------------- */
/* tcp_close_state(): the state after our FIN is queued */
static void close_state(struct synq_stack *s, struct synq_sock *sk)
{
	switch (sk->state) {
	case SYNQ_TCP_ESTABLISHED:
	case SYNQ_TCP_SYN_RECV:
		sock_set_state(s, sk, SYNQ_TCP_FIN_WAIT1);
		break;
	case SYNQ_TCP_CLOSE_WAIT:
		sock_set_state(s, sk, SYNQ_TCP_LAST_ACK);
		break;
	default:
		return;
	}
	sk->flags |= SK_WR_SHUT;
	tcp_push(s, sk);
}

int synq_shutdown(synq_stack *s, int fd, int how, uint64_t now_ns)
{
	struct synq_sock *sk = user_sock(s, fd);
	if (!sk)
		return -EBADF;
	if (advance(s, now_ns))
		return -ETIME;
	if (how < SYNQ_SHUT_RD || how > SYNQ_SHUT_RDWR)
		return -EINVAL;
	if (sk->state == SYNQ_TCP_CLOSE || sk->state == SYNQ_TCP_LISTEN ||
	    sk->state == SYNQ_TCP_SYN_SENT)
		return -ENOTCONN;
	if (how != SYNQ_SHUT_WR)
		sk->flags |= SK_RD_SHUT;
	if (how != SYNQ_SHUT_RD)
		close_state(s, sk);
	return 0;
}

int synq_close(synq_stack *s, int fd, uint64_t now_ns)
{
	struct synq_sock *sk = user_sock(s, fd);
	if (!sk)
		return -EBADF;
	if (advance(s, now_ns))
		return -ETIME;
	sk->flags |= SK_ORPHAN | SK_RD_SHUT;
	switch (sk->state) {
	case SYNQ_TCP_LISTEN: {
		listen_stop(s, sk); /* B43 */
		uint32_t *p = &s->listeners;
		while (*p != NIL && *p != (uint32_t)fd)
			p = &s->socks[*p].lnext;
		if (*p != NIL)
			*p = sk->lnext;
		sock_set_state(s, sk, SYNQ_TCP_CLOSE);
		if (sk->qlen) /* B17: requests keep the listener until they go */
			sk->flags |= SK_ZOMBIE_LISTENER;
		else
			sock_free(s, sk);
		return 0;
	}
	case SYNQ_TCP_CLOSE:
		sock_free(s, sk);
		return 0;
	case SYNQ_TCP_SYN_SENT:
		sock_hash_remove(s, sk);
		sock_set_state(s, sk, SYNQ_TCP_CLOSE);
		sock_free(s, sk);
		return 0;
	default:
		break;
	}
	if (sk->rx.len) {
		/* RFC 2525 2.17: unread data => RST, not FIN (TCPAbortOnClose) */
		cnt_inc(s, SYNQ_C_TCP_ABORT_ON_CLOSE);
		tcp_send_active_reset(s, sk);
		tcp_done(s, sk, 0);
		return 0;
	}
	if (sk->state == SYNQ_TCP_ESTABLISHED || sk->state == SYNQ_TCP_CLOSE_WAIT ||
	    sk->state == SYNQ_TCP_SYN_RECV) {
		close_state(s, sk);
	} else if (sk->state == SYNQ_TCP_FIN_WAIT2) {
		sk->tw_at = stack_timer_at(s, (uint64_t)s->cfg.tcp_fin_timeout * NS_PER_S);
		sock_timer_update(s, sk);
		/* __tcp_close(): tcp_time_wait(sk, TCP_FIN_WAIT2, tmo) schedules a timewait sock,
		 * TcpExtTW (__inet_twsk_schedule) */
		if ((uint64_t)s->cfg.tcp_fin_timeout <= TCP_TIMEWAIT_NS / NS_PER_S)
			cnt_inc(s, SYNQ_C_TW);
	}
	return 0;
}

/* ---- socket options ----------------------------------------------------------------------- */
/* secs_to_retrans() / retrans_to_secs() of net/ipv4/tcp.c, timeout 1 s, cap 120 s (B16) */
static uint8_t secs_to_retrans(int seconds)
{
	uint8_t res = 0;
	if (seconds > 0) {
		int timeout = 1, period = 1;
		res = 1;
		while (seconds > period && res < 255) {
			res++;
			timeout <<= 1;
			if (timeout > 120)
				timeout = 120;
			period += timeout;
		}
	}
	return res;
}

static int retrans_to_secs(uint8_t retrans)
{
	int period = 0;
	if (retrans > 0) {
		int timeout = 1;
		period = 1;
		while (--retrans) {
			timeout <<= 1;
			if (timeout > 120)
				timeout = 120;
			period += timeout;
		}
	}
	return period;
}

static void set_flag(struct synq_sock *sk, uint16_t f, int on)
{
	if (on)
		sk->flags |= f;
	else
		sk->flags &= (uint16_t)~f;
}

int synq_setsockopt(synq_stack *s, int fd, int level, int name, const void *val, size_t len)
{
	struct synq_sock *sk = user_sock(s, fd);
	if (!sk)
		return -EBADF;
	if (!val || len < sizeof(int))
		return -EINVAL;
	int v;
	memcpy(&v, val, sizeof(v));
	uint32_t cap2 = sk->rx.cap * 2;
	if (level == SYNQ_SOL_SOCKET) {
		switch (name) {
		case SYNQ_SO_REUSEADDR:
			set_flag(sk, SK_REUSEADDR, v != 0);
			return 0;
		case SYNQ_SO_KEEPALIVE: {
			int was = (sk->flags & SK_KEEPALIVE) != 0;
			set_flag(sk, SK_KEEPALIVE, v != 0);
			tcp_set_keepalive_timer(s, sk);
			/* tcp_set_keepalive(): switching it on arms the timer keepalive_time_when()
			 * from now (not from the last arrival). setsockopt takes no time: "now" is
			 * the stack's latest clock (synq_on_timeout/input/output). */
			if (v && !was && sk->ka_at != TIME_NEVER) {
				uint64_t idle = (uint64_t)(sk->keepidle ? sk->keepidle
									: s->cfg.tcp_keepalive_time) *
						NS_PER_S;
				if (sk->ka_at < s->now + idle)
					sk->ka_at = stack_timer_at(s, idle);
				sock_timer_update(s, sk);
			}
			return 0;
		}
		case SYNQ_SO_RCVBUF:
		case SYNQ_SO_SNDBUF: {
			/* Linux doubles the value (sk_setsockopt), floor SOCK_MIN_RCVBUF 2304 */
			uint64_t d = v < 0 ? 0 : (uint64_t)v * 2;
			if (d < 4608)
				d = 4608;
			if (d > cap2)
				d = cap2;
			if (name == SYNQ_SO_RCVBUF)
				sk->rcvbuf = (uint32_t)d;
			else
				sk->sndbuf = (uint32_t)d;
			return 0;
		}
		default:
			return -ENOPROTOOPT;
		}
	}
	if (level != SYNQ_IPPROTO_TCP)
		return -ENOPROTOOPT;
	switch (name) {
	case SYNQ_TCP_NODELAY:
		set_flag(sk, SK_NODELAY, v != 0);
		if (v)
			tcp_push(s, sk);
		return 0;
	case SYNQ_TCP_MAXSEG: /* do_tcp_setsockopt: 0 resets, else TCP_MIN_MSS..MAX_TCP_WINDOW */
		if (v && (v < TCP_MIN_MSS || v > (int)TCP_MAX_WINDOW))
			return -EINVAL;
		sk->user_mss = (uint16_t)v;
		return 0;
	case SYNQ_TCP_KEEPIDLE:
	case SYNQ_TCP_KEEPINTVL:
		if (v < 1 || v > 32767) /* MAX_TCP_KEEPIDLE / MAX_TCP_KEEPINTVL */
			return -EINVAL;
		if (name == SYNQ_TCP_KEEPIDLE)
			sk->keepidle = (int16_t)v;
		else
			sk->keepintvl = (int16_t)v;
		tcp_set_keepalive_timer(s, sk);
		return 0;
	case SYNQ_TCP_KEEPCNT:
		if (v < 1 || v > 127) /* MAX_TCP_KEEPCNT */
			return -EINVAL;
		sk->keepcnt = (int8_t)v;
		return 0;
	case SYNQ_TCP_SYNCNT:
		if (v < 1 || v > 127) /* MAX_TCP_SYNCNT */
			return -EINVAL;
		sk->syncnt = (int8_t)v;
		return 0;
	case SYNQ_TCP_DEFER_ACCEPT:
		sk->defer_accept = secs_to_retrans(v); /* B16 */
		return 0;
	case SYNQ_TCP_USER_TIMEOUT:
		if (v < 0)
			return -EINVAL;
		sk->user_timeout_ms = (uint32_t)v;
		return 0;
	case SYNQ_TCP_QUICKACK:
		/* __tcp_sock_set_quickack(): 0 enters ping-pong mode (ACKs delayed); non-zero
		 * leaves it, and an ACK still due goes now if tcp_cleanup_rbuf() agrees, as after
		 * a read that emptied the queue of a pushed segment; an even value then enters
		 * ping-pong mode again */
		if (!v) {
			tcp_enter_pingpong_mode(s, sk);
			return 0;
		}
		sk->ack_pingpong = 0;
		if ((sk->state == SYNQ_TCP_ESTABLISHED || sk->state == SYNQ_TCP_CLOSE_WAIT) &&
		    (sk->ack_pending & ICSK_ACK_SCHED)) {
			sk->ack_pending |= ICSK_ACK_PUSHED;
			tcp_cleanup_rbuf(s, sk, 1);
			if (!(v & 1))
				tcp_enter_pingpong_mode(s, sk);
		}
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

int synq_getsockopt(synq_stack *s, int fd, int level, int name, void *val, size_t *len)
{
	struct synq_sock *sk = user_sock(s, fd);
	if (!sk)
		return -EBADF;
	if (!val || !len || *len < sizeof(int))
		return -EINVAL;
	int v;
	if (level == SYNQ_SOL_SOCKET) {
		switch (name) {
		case SYNQ_SO_REUSEADDR:
			v = !!(sk->flags & SK_REUSEADDR);
			break;
		case SYNQ_SO_KEEPALIVE:
			v = !!(sk->flags & SK_KEEPALIVE);
			break;
		case SYNQ_SO_ERROR:
			/* sk_getsockopt(): the pending error, else the soft one (B11), each cleared */
			v = -take_error(sk);
			if (!v) {
				v = -sk->err_soft;
				sk->err_soft = 0;
			}
			break;
		case SYNQ_SO_RCVBUF:
			v = (int)sk->rcvbuf;
			break;
		case SYNQ_SO_SNDBUF:
			v = (int)sk->sndbuf;
			break;
		default:
			return -ENOPROTOOPT;
		}
	} else if (level == SYNQ_IPPROTO_TCP) {
		switch (name) {
		case SYNQ_TCP_NODELAY:
			v = !!(sk->flags & SK_NODELAY);
			break;
		case SYNQ_TCP_MAXSEG:
			v = sk->mss ? sk->mss : (sk->user_mss ? sk->user_mss : TCP_DEFAULT_MSS);
			break;
		case SYNQ_TCP_KEEPIDLE:
			v = (int)(sk->keepidle ? sk->keepidle : s->cfg.tcp_keepalive_time);
			break;
		case SYNQ_TCP_KEEPINTVL:
			v = (int)(sk->keepintvl ? sk->keepintvl : s->cfg.tcp_keepalive_intvl);
			break;
		case SYNQ_TCP_KEEPCNT:
			v = (int)(sk->keepcnt ? sk->keepcnt : s->cfg.tcp_keepalive_probes);
			break;
		case SYNQ_TCP_SYNCNT:
			v = (int)(sk->syncnt ? sk->syncnt : s->cfg.tcp_syn_retries);
			break;
		case SYNQ_TCP_DEFER_ACCEPT:
			v = retrans_to_secs(sk->defer_accept);
			break;
		case SYNQ_TCP_USER_TIMEOUT:
			v = (int)sk->user_timeout_ms;
			break;
		case SYNQ_TCP_QUICKACK:
			v = !tcp_in_pingpong_mode(s, sk);
			break;
		default:
			return -ENOPROTOOPT;
		}
	} else {
		return -ENOPROTOOPT;
	}
	memcpy(val, &v, sizeof(v));
	*len = sizeof(int);
	return 0;
}

/* tcp_poll() */
int synq_poll(const synq_stack *s, int fd)
{
	const struct synq_sock *sk = user_sock(s, fd);
	if (!sk)
		return -EBADF;
	int m = 0;
	if (sk->state == SYNQ_TCP_LISTEN)
		return sk->acc_len ? SYNQ_POLLIN : 0;
	int rd_shut = (sk->flags & (SK_FIN_RCVD | SK_RD_SHUT | SK_RESET)) != 0;
	int wr_shut = (sk->flags & (SK_WR_SHUT | SK_RESET)) != 0;
	if ((rd_shut && wr_shut) || sk->state == SYNQ_TCP_CLOSE)
		m |= SYNQ_POLLHUP;
	if (rd_shut)
		m |= SYNQ_POLLIN | SYNQ_POLLRDHUP;
	if (sk->state != SYNQ_TCP_SYN_SENT && sk->state != SYNQ_TCP_SYN_RECV) {
		if (sk->rx.len)
			m |= SYNQ_POLLIN;
		uint32_t lim = sk->sndbuf / 2 < sk->tx.cap ? sk->sndbuf / 2 : sk->tx.cap;
		if (wr_shut || sk->tx.len < lim)
			m |= SYNQ_POLLOUT;
	}
	if (sk->err)
		m |= SYNQ_POLLERR;
	return m;
}

/* ---- introspection ---------------------------------------------------------------------- */
static int alive(const struct synq_sock *sk)
{
	return (sk->flags & SK_USED) && !(sk->flags & SK_ZOMBIE_LISTENER);
}

int synq_sock_info(const synq_stack *s, int fd, struct synq_sock_info *out)
{
	if (!s || !out || fd < 0 || (uint32_t)fd >= s->n_socks || !alive(&s->socks[fd]))
		return -EBADF;
	const struct synq_sock *sk = &s->socks[fd];
	memset(out, 0, sizeof(*out));
	out->fd = fd;
	out->state = sk->state;
	out->local.ip = sk->laddr;
	out->local.port = sk->lport;
	out->remote.ip = sk->raddr;
	out->remote.port = sk->rport;
	if (sk->state == SYNQ_TCP_LISTEN) {
		out->recvq = sk->acc_len; /* B44 */
		out->sendq = sk->max_backlog;
		out->synq_len = sk->qlen;
		out->young = sk->young;
		out->overflows = sk->overflows;
		out->drops = sk->drops;
		out->defer_accept_retrans = sk->defer_accept;
	} else {
		out->recvq = sk->rx.len;
		out->sendq = sk->snd_nxt - sk->snd_una + sk->tx.len -
			     (seq_gt(sk->snd_nxt, sk->iss + 1) ? sk->snd_nxt - sk->snd_una : 0);
		if (sk->state == SYNQ_TCP_CLOSE)
			out->sendq = 0;
	}
	out->orphan = (sk->flags & SK_ORPHAN) != 0;
	out->timer_ns = sk->timer_at == TIME_NEVER ? 0 : sk->timer_at;
	out->retransmits = sk->retransmits;
	return 0;
}

int synq_sock_next(const synq_stack *s, int prev)
{
	if (!s)
		return -1;
	for (uint32_t i = prev < 0 ? 0 : (uint32_t)prev + 1; i < s->n_socks; i++)
		if (alive(&s->socks[i]))
			return (int)i;
	return -1;
}

int synq_requests(const synq_stack *s, int fd, struct synq_req_info *out, size_t cap)
{
	const struct synq_sock *l = user_sock(s, fd);
	if (!l)
		return -EBADF;
	if (l->state != SYNQ_TCP_LISTEN)
		return -EINVAL;
	size_t n = 0;
	for (int c = 0; c < REQ_TCLASSES; c++) {
		for (uint32_t i = s->req_timers[c].head; i != NIL; i = s->reqs[i].tnext) {
			const struct synq_req *r = &s->reqs[i];
			if (r->listener != (uint32_t)fd)
				continue;
			if (n < cap) {
				struct synq_req_info *o = &out[n];
				o->local.ip = s->cfg.local_addrs[r->laddr];
				o->local.port = l->lport;
				o->remote.ip = r->saddr;
				o->remote.port = r->sport;
				o->num_timeout = r->num_timeout;
				o->num_retrans = r->num_retrans;
				o->acked = (r->flags & REQ_ACKED) != 0;
				o->expires_ns = req_expires(r);
			}
			n++;
		}
	}
	return (int)(n > INT32_MAX ? INT32_MAX : n);
}
