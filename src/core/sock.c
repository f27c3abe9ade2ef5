/*
 * sock.c — the socket table: pool, 4-tuple hash, listener list, per-socket timer heap and
 * byte rings. Nothing here allocates: every object comes from the pools of synq_stack_new().
 *
 * SPDX-License-Identifier: MIT
 */
#include "core/synq_int.h"

/* ---- pool ------------------------------------------------------------------------------- */
struct synq_sock *sock_alloc(struct synq_stack *s)
{
	if (s->sock_free == NIL) {
		cnt_inc(s, SYNQ_C_SYNQ_SOCK_POOL_FULL);
		return NULL;
	}
	struct synq_sock *sk = &s->socks[s->sock_free];
	s->sock_free = sk->hnext;
	struct ring rx = sk->rx, tx = sk->tx;
	memset(sk, 0, sizeof(*sk));
	sk->rx.buf = rx.buf;
	sk->rx.cap = rx.cap;
	sk->tx.buf = tx.buf;
	sk->tx.cap = tx.cap;
	sk->flags = SK_USED;
	sk->state = SYNQ_TCP_CLOSE;
	sk->hnext = sk->heap_idx = sk->lnext = sk->parent = sk->aq_next = NIL;
	sk->aq_head = sk->aq_tail = NIL;
	sk->timer_at = sk->rtx_at = sk->ka_at = sk->tw_at = sk->dack_at = TIME_NEVER;
	sk->rto_ns = TCP_TIMEOUT_INIT_NS;
	sk->advmss = (uint16_t)(s->cfg.mtu - 40);
	sk->rcvbuf = sk->rx.cap * 2; /* reported doubled, as Linux does; half is window */
	sk->sndbuf = sk->tx.cap * 2;
	return sk;
}

static void heap_remove(struct synq_stack *s, struct synq_sock *sk);

void sock_free(struct synq_stack *s, struct synq_sock *sk)
{
	if (sk->heap_idx != NIL)
		heap_remove(s, sk);
	if (sk->state == SYNQ_TCP_ESTABLISHED || sk->state == SYNQ_TCP_CLOSE_WAIT)
		s->cnt[SYNQ_C_TCP_CURR_ESTAB]--;
	sk->flags = 0;
	sk->state = SYNQ_TCP_CLOSE;
	sk->hnext = s->sock_free;
	s->sock_free = sk_idx(s, sk);
	/* keep the free list roughly ascending is not needed: fds are any free index */
}

/* ---- 4-tuple hash (established, SYN-SENT, TIME-WAIT...) --------------------------------- */
static uint32_t *bucket_of(struct synq_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
			   uint16_t rport)
{
	return &s->sock_buckets[stack_hash4(s, raddr, laddr, rport, lport) & s->sock_mask];
}

void sock_hash_insert(struct synq_stack *s, struct synq_sock *sk)
{
	uint32_t *b = bucket_of(s, sk->laddr, sk->lport, sk->raddr, sk->rport);
	sk->hnext = *b;
	*b = sk_idx(s, sk);
}

void sock_hash_remove(struct synq_stack *s, struct synq_sock *sk)
{
	uint32_t *p = bucket_of(s, sk->laddr, sk->lport, sk->raddr, sk->rport);
	uint32_t me = sk_idx(s, sk);
	while (*p != NIL) {
		if (*p == me) {
			*p = sk->hnext;
			sk->hnext = NIL;
			return;
		}
		p = &s->socks[*p].hnext;
	}
}

struct synq_sock *sock_lookup(struct synq_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
			      uint16_t rport)
{
	uint32_t i = *bucket_of(s, laddr, lport, raddr, rport);
	while (i != NIL) {
		struct synq_sock *sk = &s->socks[i];
		if (sk->lport == lport && sk->rport == rport && sk->raddr == raddr &&
		    sk->laddr == laddr)
			return sk;
		i = sk->hnext;
	}
	return NULL;
}

/* the socket a received segment belongs to, with the packet's precomputed hash */
struct synq_sock *sock_lookup_seg(struct synq_stack *s, const struct synq_seg *g)
{
	uint32_t i = s->sock_buckets[stack_seg_hash(s, g) & s->sock_mask];
	while (i != NIL) {
		struct synq_sock *sk = &s->socks[i];
		if (sk->lport == g->dport && sk->rport == g->sport && sk->raddr == g->saddr &&
		    sk->laddr == g->daddr)
			return sk;
		i = sk->hnext;
	}
	return NULL;
}

/* Listeners are few: a list, exact local address before INADDR_ANY (inet_lhash2 scoring). */
struct synq_sock *listener_lookup(struct synq_stack *s, uint32_t laddr, uint16_t lport)
{
	struct synq_sock *any = NULL;
	for (uint32_t i = s->listeners; i != NIL; i = s->socks[i].lnext) {
		struct synq_sock *l = &s->socks[i];
		if (l->lport != lport || l->state != SYNQ_TCP_LISTEN)
			continue;
		if (l->laddr == laddr)
			return l;
		if (l->laddr == 0 && !any)
			any = l;
	}
	return any;
}

void sock_set_state(struct synq_stack *s, struct synq_sock *sk, int state)
{
	int was_est = sk->state == SYNQ_TCP_ESTABLISHED || sk->state == SYNQ_TCP_CLOSE_WAIT;
	int is_est = state == SYNQ_TCP_ESTABLISHED || state == SYNQ_TCP_CLOSE_WAIT;
	if (was_est && !is_est)
		s->cnt[SYNQ_C_TCP_CURR_ESTAB]--;
	else if (!was_est && is_est)
		s->cnt[SYNQ_C_TCP_CURR_ESTAB]++;
	if (sk->state == state)
		return;
	sk->state = (uint8_t)state;
	stack_event(s, SYNQ_EV_STATE, (int)sk_idx(s, sk), sk, 0, NULL);
}

/* ---- timer heap (binary min-heap on timer_at) ------------------------------------------- */
static void heap_swap(struct synq_stack *s, uint32_t a, uint32_t b)
{
	uint32_t x = s->heap[a], y = s->heap[b];
	s->heap[a] = y;
	s->heap[b] = x;
	s->socks[y].heap_idx = a;
	s->socks[x].heap_idx = b;
}

static int heap_less(const struct synq_stack *s, uint32_t a, uint32_t b)
{
	const struct synq_sock *x = &s->socks[s->heap[a]], *y = &s->socks[s->heap[b]];
	if (x->timer_at != y->timer_at)
		return x->timer_at < y->timer_at;
	return s->heap[a] < s->heap[b]; /* deterministic order for equal times */
}

static void heap_up(struct synq_stack *s, uint32_t i)
{
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (!heap_less(s, i, p))
			break;
		heap_swap(s, i, p);
		i = p;
	}
}

static void heap_down(struct synq_stack *s, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < s->heap_len && heap_less(s, l, m))
			m = l;
		if (r < s->heap_len && heap_less(s, r, m))
			m = r;
		if (m == i)
			return;
		heap_swap(s, i, m);
		i = m;
	}
}

static void heap_remove(struct synq_stack *s, struct synq_sock *sk)
{
	uint32_t i = sk->heap_idx, last = --s->heap_len;
	sk->heap_idx = NIL;
	if (i == last)
		return;
	s->heap[i] = s->heap[last];
	s->socks[s->heap[i]].heap_idx = i;
	heap_down(s, i);
	heap_up(s, i);
}

void sock_timer_update(struct synq_stack *s, struct synq_sock *sk)
{
	uint64_t t = sk->rtx_at;
	if (sk->ka_at < t)
		t = sk->ka_at;
	if (sk->tw_at < t)
		t = sk->tw_at;
	if (sk->dack_at < t)
		t = sk->dack_at;
	if (t == sk->timer_at && (t == TIME_NEVER) == (sk->heap_idx == NIL))
		return;
	sk->timer_at = t;
	if (t == TIME_NEVER) {
		if (sk->heap_idx != NIL)
			heap_remove(s, sk);
		return;
	}
	if (sk->heap_idx == NIL) {
		sk->heap_idx = s->heap_len;
		s->heap[s->heap_len++] = sk_idx(s, sk);
		heap_up(s, sk->heap_idx);
	} else {
		heap_down(s, sk->heap_idx);
		heap_up(s, sk->heap_idx);
	}
}

uint64_t sock_next_timer(const struct synq_stack *s)
{
	return s->heap_len ? s->socks[s->heap[0]].timer_at : TIME_NEVER;
}

struct synq_sock *sock_timer_top(struct synq_stack *s)
{
	return s->heap_len ? &s->socks[s->heap[0]] : NULL;
}

/* ---- byte rings ------------------------------------------------------------------------- */
uint32_t ring_write(struct ring *r, const void *data, uint32_t len)
{
	if (len > ring_free(r))
		len = ring_free(r);
	uint32_t pos = (r->head + r->len) % r->cap;
	uint32_t first = r->cap - pos < len ? r->cap - pos : len;
	memcpy(r->buf + pos, data, first);
	memcpy(r->buf, (const uint8_t *)data + first, len - first);
	r->len += len;
	return len;
}

void ring_copy_out(const struct ring *r, uint32_t off, void *data, uint32_t len)
{
	uint32_t pos = (r->head + off) % r->cap;
	uint32_t first = r->cap - pos < len ? r->cap - pos : len;
	memcpy(data, r->buf + pos, first);
	memcpy((uint8_t *)data + first, r->buf, len - first);
}

void ring_drop(struct ring *r, uint32_t len)
{
	if (len > r->len)
		len = r->len;
	r->head = (r->head + len) % r->cap;
	r->len -= len;
	if (!r->len)
		r->head = 0;
}

uint32_t ring_read(struct ring *r, void *data, uint32_t len)
{
	if (len > r->len)
		len = r->len;
	ring_copy_out(r, 0, data, len);
	ring_drop(r, len);
	return len;
}
