/*
 * syncookie.c — IPv4 SYN cookies as Linux 6.x computes them (net/ipv4/syncookies.c,
 * include/net/tcp.h), SPEC B32-B37:
 *
 *   cookie = H(0, 0) + s + (count << 24) + ((H(1, count) + mssind) & 0x00FFFFFF)   (mod 2^32)
 *   H(c, cnt) = siphash_4u32(saddr, daddr, sport << 16 | dport, cnt, secret[c])
 *
 * count is the minute counter (tcp_cookie_time(): the caller's clock / 60 s), s the client ISN,
 * mssind an index into {536, 1300, 1440, 1460} (B34). A cookie validates while its counter is
 * less than MAX_SYNCOOKIE_AGE (2) minutes old, i.e. 60-120 s (B33). With timestamps, the TSval
 * of the SYN-ACK carries the options in its low 6 bits (B35).
 *
 * Addresses and ports enter the hash in host byte order (the kernel hashes the raw network-order
 * words); the secrets are the stack's own, so the values cannot be compared with a kernel's
 * anyway, only the layout and the rules.
 *
 * SPDX-License-Identifier: MIT
 */
#include "core/syncookie.h"

#define COOKIEBITS 24
#define COOKIEMASK ((1u << COOKIEBITS) - 1)
#define MAX_SYNCOOKIE_AGE 2
#define TSBITS 6
#define TSMASK ((1u << TSBITS) - 1)
#define TS_OPT_WSCALE_MASK 0xfu
#define TS_OPT_SACK (1u << 4)
#define TS_OPT_ECN (1u << 5)

/* B34: IPv4 MSS table; [3.10] 8 entries, 3-bit index, cookies valid 4 minutes (B37) */
static const uint16_t msstab618[] = {536, 1300, 1440, 1460};
static const uint16_t msstab310[] = {64, 512, 536, 1024, 1440, 1460, 4312, 8960};

static const uint16_t *msstab_of(const struct synq_stack *s, uint32_t *n)
{
	*n = rules310(s) ? 8 : 4;
	return rules310(s) ? msstab310 : msstab618;
}

/* keyed on the client -> us direction, which the SYN and the ACK share */
static uint32_t cookie_hash(const struct synq_stack *s, const struct synq_seg *g, uint32_t count,
			    int c)
{
	return (uint32_t)siphash_4u32(g->saddr, g->daddr, (uint32_t)g->sport << 16 | g->dport, count,
				      &s->cookie_key[c]);
}

/* tcp_cookie_time(): minutes of the caller's clock */
static uint32_t cookie_time(const struct synq_stack *s) { return (uint32_t)(s->now / (60 * NS_PER_S)); }

static uint16_t mss_round(const uint16_t *tab, uint32_t n, uint16_t mss, uint32_t *mssind)
{
	uint32_t i;
	for (i = n - 1; i; i--)
		if (mss >= tab[i])
			break;
	*mssind = i;
	return tab[i];
}

uint16_t cookie_mss_round(uint16_t mss, uint32_t *mssind)
{
	return mss_round(msstab618, 4, mss, mssind);
}

/* __cookie_v4_init_sequence() + secure_tcp_syn_cookie(); *mss becomes the table value */
uint32_t cookie_v4_init_sequence(const struct synq_stack *s, const struct synq_seg *syn,
				 uint16_t *mss)
{
	uint32_t mssind, n;
	const uint16_t *tab = msstab_of(s, &n);
	*mss = mss_round(tab, n, *mss, &mssind);
	uint32_t count = cookie_time(s);
	return cookie_hash(s, syn, 0, 0) + syn->seq + (count << COOKIEBITS) +
	       ((cookie_hash(s, syn, count, 1) + mssind) & COOKIEMASK);
}

/* __cookie_v4_check() / check_tcp_syn_cookie(): the MSS, or 0 if the ACK is no valid cookie */
uint16_t cookie_v4_check(const struct synq_stack *s, const struct synq_seg *ack)
{
	uint32_t cookie = ack->ack - 1, seq = ack->seq - 1;
	uint32_t count = cookie_time(s);
	cookie -= cookie_hash(s, ack, 0, 0) + seq;
	uint32_t diff = (count - (cookie >> COOKIEBITS)) & (UINT32_MAX >> COOKIEBITS);
	if (diff >= (rules310(s) ? 4u /* COUNTER_TRIES */ : MAX_SYNCOOKIE_AGE))
		return 0;
	uint32_t mssind = (cookie - cookie_hash(s, ack, count - diff, 1)) & COOKIEMASK, n;
	const uint16_t *tab = msstab_of(s, &n);
	return mssind < n ? tab[mssind] : 0;
}

/* cookie_init_timestamp(): TSval (before the per-connection offset) with the options in the
 * low 6 bits, never later than the timestamp clock */
uint32_t cookie_init_timestamp(const struct synq_stack *s, int wscale_ok, uint8_t snd_wscale,
			       int sack_ok, int ecn_ok)
{
	uint32_t opts = wscale_ok ? (snd_wscale & TS_OPT_WSCALE_MASK) : TS_OPT_WSCALE_MASK;
	if (sack_ok)
		opts |= TS_OPT_SACK;
	if (ecn_ok)
		opts |= TS_OPT_ECN;
	uint32_t now = stack_ts_ms(s);
	uint32_t ts = (now & ~TSMASK) | opts;
	if ((now & TSMASK) < opts)
		ts -= 1u << TSBITS;
	return ts;
}

/* cookie_timestamp_decode(): options from the echoed TSecr (offset already removed).
 * Returns 0 when the ACK must be rejected (B35). */
int cookie_timestamp_decode(const struct synq_stack *s, int saw_ts, uint32_t tsecr,
			    struct cookie_opts *o)
{
	memset(o, 0, sizeof(*o));
	if (!saw_ts)
		return 1; /* tcp_clear_options(): no SACK, no window scaling */
	if (!s->cfg.tcp_timestamps)
		return 0;
	o->sack_ok = (tsecr & TS_OPT_SACK) != 0;
	if (o->sack_ok && !s->cfg.tcp_sack)
		return 0;
	if ((tsecr & TS_OPT_WSCALE_MASK) == TS_OPT_WSCALE_MASK)
		return 1;
	o->wscale_ok = 1;
	o->snd_wscale = (uint8_t)(tsecr & TS_OPT_WSCALE_MASK);
	return s->cfg.tcp_window_scaling != 0;
}

/* tcp_synq_overflow(): remember a cookie was sent, updated at most once a second */
void cookie_note_overflow(const struct synq_stack *s, struct synq_sock *l)
{
	uint64_t now = s->now;
	if (rules310(s)) { /* 3.10: every cookie */
		l->last_overflow = now;
		l->overflow_seen = 1;
		return;
	}
	if (!l->overflow_seen || now < l->last_overflow || now > l->last_overflow + NS_PER_S) {
		l->last_overflow = now;
		l->overflow_seen = 1;
	}
}

/* !tcp_synq_no_recent_overflow(): now in [last - 1 s, last + TCP_SYNCOOKIE_VALID (120 s)] */
int cookie_recent_overflow(const struct synq_stack *s, const struct synq_sock *l)
{
	if (!l->overflow_seen)
		return 0;
	if (rules310(s)) /* [3.10] !time_after(jiffies, last + TCP_TIMEOUT_FALLBACK (3 s)) */
		return s->now <= l->last_overflow + 3 * NS_PER_S;
	uint64_t lo = l->last_overflow > NS_PER_S ? l->last_overflow - NS_PER_S : 0;
	return s->now >= lo && s->now <= l->last_overflow + 120 * NS_PER_S;
}

/* ---- offline decoding (synq cookie decode) ------------------------------------------------ */
static void put64le(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void synq_stack_cookie_secrets(const synq_stack *s, uint8_t out[SYNQ_COOKIE_SECRET_BYTES])
{
	put64le(out, s->cookie_key[0].k0);
	put64le(out + 8, s->cookie_key[0].k1);
	put64le(out + 16, s->cookie_key[1].k0);
	put64le(out + 24, s->cookie_key[1].k1);
	put64le(out + 32, s->ts_key.k0);
	put64le(out + 40, s->ts_key.k1);
}

int synq_cookie_decode(const uint8_t secrets[SYNQ_COOKIE_SECRET_BYTES], int kernel_rules,
		       const struct synq_addr *client, const struct synq_addr *server,
		       uint32_t client_isn, uint32_t cookie, const uint32_t *tsval, uint64_t now_ns,
		       struct synq_cookie_info *out)
{
	if (!secrets || !client || !server || !out || (kernel_rules != 618 && kernel_rules != 310))
		return -EINVAL;
	/* a throwaway context with just what the cookie functions read */
	static const struct synq_stack zero;
	struct synq_stack ctx = zero;
	ctx.cfg.kernel_rules = kernel_rules;
	ctx.cfg.tcp_timestamps = 1;
	ctx.now = now_ns;
	siphash_key_from_bytes(&ctx.cookie_key[0], secrets);
	siphash_key_from_bytes(&ctx.cookie_key[1], secrets + 16);
	siphash_key_from_bytes(&ctx.ts_key, secrets + 32);
	struct synq_seg g;
	memset(&g, 0, sizeof(g));
	g.saddr = client->ip;
	g.daddr = server->ip;
	g.sport = client->port;
	g.dport = server->port;
	memset(out, 0, sizeof(*out));
	uint32_t c = cookie - cookie_hash(&ctx, &g, 0, 0) - client_isn;
	uint32_t enc = c >> COOKIEBITS, now_cnt = cookie_time(&ctx);
	out->counter = enc;
	out->age = (now_cnt - enc) & (UINT32_MAX >> COOKIEBITS);
	out->mss_index = (c - cookie_hash(&ctx, &g, now_cnt - out->age, 1)) & COOKIEMASK;
	uint32_t n;
	const uint16_t *tab = msstab_of(&ctx, &n);
	out->mss = out->mss_index < n ? tab[out->mss_index] : 0;
	out->valid = out->mss && out->age < (kernel_rules == 310 ? 4u : (uint32_t)MAX_SYNCOOKIE_AGE);
	out->wscale = -1;
	if (tsval) {
		uint32_t opts = (*tsval - stack_ts_off(&ctx, server->ip, client->ip)) & TSMASK;
		out->has_ts = 1;
		out->sack = (opts & TS_OPT_SACK) != 0;
		out->ecn = (opts & TS_OPT_ECN) != 0;
		if ((opts & TS_OPT_WSCALE_MASK) != TS_OPT_WSCALE_MASK)
			out->wscale = (int)(opts & TS_OPT_WSCALE_MASK);
	}
	return 0;
}
