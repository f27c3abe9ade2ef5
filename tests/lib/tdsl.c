/*
 * tdsl.c — the handshake-test DSL (see tdsl.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tdsl.h"
#include "core/wire.h"

static void t_rand(void *user, void *buf, size_t len)
{
	uint64_t *st = user;
	uint8_t *p = buf;
	while (len--) {
		*st = *st * 6364136223846793005ull + 1442695040888963407ull;
		*p++ = (uint8_t)(*st >> 56);
	}
}

static uint64_t rand_state;

static void t_event(void *user, const struct synq_event *ev)
{
	struct t_env *t = user;
	if (ev->kind >= 0 && ev->kind < 16)
		t->ev_count[ev->kind]++;
	if (ev->kind == SYNQ_EV_DROP && ev->code && ev->code[0]) {
		snprintf(t->last_drop_code, sizeof(t->last_drop_code), "%s", ev->code);
		snprintf(t->last_drop_rule, sizeof(t->last_drop_rule), "%s", ev->rule);
	}
	if (ev->kind == SYNQ_EV_REQ_GONE)
		snprintf(t->last_gone_code, sizeof(t->last_gone_code), "%s", ev->code);
	if (ev->kind == SYNQ_EV_ERROR)
		t->last_err = ev->err;
}

void t_init(struct t_env *t, const char *const *settings)
{
	memset(t, 0, sizeof(*t));
	synq_config_init(&t->cfg);
	assert_int_equal(synq_config_set(&t->cfg, "net.synq.local_addr=10.0.0.1"), 0);
	assert_int_equal(synq_config_set(&t->cfg, "net.synq.max_requests=4096"), 0);
	assert_int_equal(synq_config_set(&t->cfg, "net.synq.max_sockets=256"), 0);
	for (; settings && *settings; settings++) {
		int rc = synq_config_set(&t->cfg, *settings);
		if (rc)
			fail_msg("setting %s: %d", *settings, rc);
	}
	rand_state = 42;
	t->cfg.rand = t_rand;
	t->cfg.rand_user = &rand_state;
	t->cfg.on_event = t_event;
	t->cfg.event_user = t;
	t->now_ns = 1000 * 1000000ull; /* start at 1 s: time 0 of the test */
	assert_int_equal(synq_stack_new(&t->cfg, t->now_ns, &t->s), 0);
	t->lfd = -1;
}

void t_free(struct t_env *t) { synq_stack_free(t->s); }

static int flow_idx(struct t_env *t, uint16_t port, int create);

static uint64_t t_ns(uint64_t ms) { return 1000 * 1000000ull + ms * 1000000ull; }

int t_listen(struct t_env *t, int backlog)
{
	int fd = synq_socket(t->s);
	assert_true(fd >= 0);
	struct synq_addr a = {T_SERVER_IP, T_SERVER_PORT};
	assert_int_equal(synq_bind(t->s, fd, &a), 0);
	assert_int_equal(synq_listen(t->s, fd, backlog), 0);
	t->lfd = fd;
	return fd;
}

int t_connect(struct t_env *t, uint64_t ms, uint16_t port)
{
	t_advance(t, ms);
	int fd = synq_socket(t->s);
	assert_true(fd >= 0);
	struct synq_addr a = {T_SERVER_IP, T_SERVER_PORT};
	assert_int_equal(synq_bind(t->s, fd, &a), 0);
	struct synq_addr p = {T_PEER_IP, port};
	assert_int_equal(synq_connect(t->s, fd, &p, t->now_ns), -EINPROGRESS);
	flow_idx(t, port, 1);
	return fd;
}

void t_advance(struct t_env *t, uint64_t ms)
{
	uint64_t target = t_ns(ms);
	assert_true(target >= t->now_ns);
	for (int guard = 0; guard < 100000; guard++) {
		uint64_t d = synq_next_deadline(t->s);
		if (d > target)
			break;
		t->now_ns = d > t->now_ns ? d : t->now_ns;
		synq_on_timeout(t->s, t->now_ns);
	}
	t->now_ns = target;
}

static int flow_idx(struct t_env *t, uint16_t port, int create)
{
	for (int i = 0; i < t->n_flows; i++)
		if (t->flows[i].port == port)
			return i;
	if (!create)
		return -1;
	if (t->n_flows == T_MAX_FLOWS)
		fail_msg("more than %d peer ports in one test", T_MAX_FLOWS);
	t->flows[t->n_flows].port = port;
	t->flows[t->n_flows].peer_isn = 1000;
	return t->n_flows++;
}

uint32_t t_stack_isn(struct t_env *t, uint16_t port)
{
	int i = flow_idx(t, port, 0);
	assert_true(i >= 0 && t->flows[i].have_stack_isn);
	return t->flows[i].stack_isn;
}

static uint8_t parse_flags(const char *f)
{
	uint8_t v = 0;
	for (; f && *f; f++) {
		switch (*f) {
		case 'S': v |= TCP_SYN; break;
		case 'F': v |= TCP_FIN; break;
		case 'R': v |= TCP_RST; break;
		case 'P': v |= TCP_PSH; break;
		case '.': v |= TCP_ACK; break;
		case 'U': v |= TCP_URG; break;
		case 'E': v |= TCP_ECE; break;
		case 'W': v |= TCP_CWR; break;
		default: fail_msg("bad flag letter %c", *f);
		}
	}
	return v;
}

static void flags_str(uint8_t f, char *b)
{
	if (f & TCP_SYN) *b++ = 'S';
	if (f & TCP_FIN) *b++ = 'F';
	if (f & TCP_RST) *b++ = 'R';
	if (f & TCP_PSH) *b++ = 'P';
	if (f & TCP_ACK) *b++ = '.';
	*b = 0;
}

size_t t_build(struct t_env *t, const struct t_seg *sp, uint8_t *buf, size_t cap)
{
	uint8_t flags = parse_flags(sp->flags);
	int fi = flow_idx(t, sp->port, 1);
	if ((flags & TCP_SYN) && !(flags & TCP_ACK) && sp->isn)
		t->flows[fi].peer_isn = sp->isn;
	/* client tests: the peer's SYN-ACK chooses its ISN too (.isn, else the default 1000) */
	if ((flags & TCP_SYN) && (flags & TCP_ACK) && sp->isn)
		t->flows[fi].peer_isn = sp->isn;
	struct synq_seg g;
	memset(&g, 0, sizeof(g));
	g.saddr = sp->saddr ? sp->saddr : T_PEER_IP;
	g.daddr = T_SERVER_IP;
	g.sport = sp->port;
	g.dport = T_SERVER_PORT;
	g.tos = sp->tos;
	g.flags = flags;
	g.seq = sp->raw_seq ? (uint32_t)sp->seq : t->flows[fi].peer_isn + (uint32_t)sp->seq;
	if (flags & TCP_ACK || sp->ack) {
		uint32_t base = t->flows[fi].have_stack_isn ? t->flows[fi].stack_isn : 0;
		g.ack = base + (uint32_t)sp->ack;
	}
	g.window = (uint16_t)sp->win;
	if (sp->mss) {
		g.opt.present |= OPT_MSS;
		g.opt.mss = sp->mss;
	}
	if (sp->sack_perm > 0)
		g.opt.present |= OPT_SACK_PERM;
	if (sp->ws) {
		g.opt.present |= OPT_WSCALE;
		g.opt.wscale = (uint8_t)(sp->ws - 1);
	}
	if (sp->ts > 0) {
		g.opt.present |= OPT_TS;
		g.opt.tsval = sp->tsval;
		g.opt.tsecr = sp->tsecr;
	}
	uint8_t payload[2048];
	assert_true(sp->len <= sizeof(payload));
	for (uint32_t i = 0; i < sp->len; i++)
		payload[i] = (uint8_t)('a' + i % 26);
	g.payload = payload;
	g.len = sp->len;
	size_t n = wire_emit(&g, buf, cap);
	assert_true(n > 0);
	return n;
}

void t_send(struct t_env *t, uint64_t ms, const struct t_seg *sp, const char *file, int line)
{
	t_advance(t, ms);
	uint8_t buf[2200];
	size_t n = t_build(t, sp, buf, sizeof(buf));
	int rc = synq_input(t->s, buf, n, t->now_ns);
	if (rc)
		fail_msg("%s:%d: synq_input returned %d", file, line, rc);
}

int t_inject(struct t_env *t, uint64_t ms, const uint8_t *pkt, size_t len)
{
	t_advance(t, ms);
	return synq_input(t->s, pkt, len, t->now_ns);
}

void t_nothing(struct t_env *t, uint64_t ms, const char *file, int line)
{
	uint8_t buf[2200];
	/* check what is already queued, then run timers step by step up to ms */
	for (;;) {
		int n = synq_output(t->s, buf, sizeof(buf), t->now_ns);
		if (n > 0) {
			struct synq_seg g;
			wire_parse(buf, (size_t)n, &g);
			char f[8];
			flags_str(g.flags, f);
			fail_msg("%s:%d: expected nothing until %llu ms, got [%s] to port %u at %llu ms",
				 file, line, (unsigned long long)ms, f, g.dport,
				 (unsigned long long)((t->now_ns - t_ns(0)) / 1000000));
		}
		uint64_t d = synq_next_deadline(t->s);
		if (d > t_ns(ms))
			break;
		t->now_ns = d > t->now_ns ? d : t->now_ns;
		synq_on_timeout(t->s, t->now_ns);
	}
	t->now_ns = t_ns(ms) > t->now_ns ? t_ns(ms) : t->now_ns;
}

void t_expect(struct t_env *t, uint64_t ms, const struct t_seg *sp, const char *file, int line)
{
	/* nothing may come out before ms; then exactly at ms (virtual time is exact) */
	uint8_t buf[2200];
	int n = synq_output(t->s, buf, sizeof(buf), t->now_ns);
	if (n == 0) {
		if (ms && t_ns(ms - 1) >= t->now_ns)
			t_nothing(t, ms - 1, file, line);
		t_advance(t, ms);
		n = synq_output(t->s, buf, sizeof(buf), t->now_ns);
	}
	uint64_t at = (t->now_ns - t_ns(0)) / 1000000;
	if (n <= 0)
		fail_msg("%s:%d: expected [%s] at %llu ms, got nothing", file, line, sp->flags,
			 (unsigned long long)ms);
	if (at != ms)
		fail_msg("%s:%d: expected [%s] at %llu ms, got a segment at %llu ms", file, line,
			 sp->flags, (unsigned long long)ms, (unsigned long long)at);
	struct synq_seg g;
	assert_int_equal(wire_parse(buf, (size_t)n, &g), WIRE_OK);
	memcpy(t->last_pkt, buf, (size_t)n);
	t->last_len = n;
	char got[8], want[8];
	flags_str(g.flags, got);
	flags_str(parse_flags(sp->flags), want);
	int fi = flow_idx(t, g.dport, 1);
	if ((g.flags & TCP_SYN) && !t->flows[fi].have_stack_isn) {
		t->flows[fi].stack_isn = g.seq;
		t->flows[fi].have_stack_isn = 1;
	}
	uint32_t rseq = g.seq - t->flows[fi].stack_isn;
	uint32_t rack = g.ack - t->flows[fi].peer_isn;
	char desc[256];
	snprintf(desc, sizeof(desc), "[%s] port %u seq %u ack %u win %u len %u", got, g.dport, rseq,
		 (g.flags & TCP_ACK) ? rack : 0, g.window, g.len);
	if (strcmp(got, want) != 0 || g.dport != sp->port)
		fail_msg("%s:%d: expected [%s] to port %u, got %s", file, line, want, sp->port, desc);
	if (sp->seq != T_ANY) {
		/* RST seq for a segment without stack ISN knowledge: compare absolute if asked */
		uint32_t want_seq = (uint32_t)sp->seq;
		if (rseq != want_seq)
			fail_msg("%s:%d: seq: want %u, got %s", file, line, want_seq, desc);
	}
	if (sp->ack != T_ANY && rack != (uint32_t)sp->ack)
		fail_msg("%s:%d: ack: want %u, got %s", file, line, (uint32_t)sp->ack, desc);
	if (sp->win != T_ANY && g.window != (uint16_t)sp->win)
		fail_msg("%s:%d: win: want %u, got %s", file, line, (unsigned)sp->win, desc);
	if (sp->mss && (!(g.opt.present & OPT_MSS) || g.opt.mss != sp->mss))
		fail_msg("%s:%d: mss: want %u, got %u (%s)", file, line, sp->mss,
			 (g.opt.present & OPT_MSS) ? g.opt.mss : 0, desc);
	if (sp->sack_perm > 0 && !(g.opt.present & OPT_SACK_PERM))
		fail_msg("%s:%d: sackOK missing: %s", file, line, desc);
	if (sp->sack_perm < 0 && (g.opt.present & OPT_SACK_PERM))
		fail_msg("%s:%d: sackOK unexpected: %s", file, line, desc);
	if (sp->ws && (!(g.opt.present & OPT_WSCALE) || g.opt.wscale != sp->ws - 1))
		fail_msg("%s:%d: wscale: want %d: %s", file, line, sp->ws - 1, desc);
	if (sp->ts > 0 && !(g.opt.present & OPT_TS))
		fail_msg("%s:%d: TS missing: %s", file, line, desc);
	if (sp->ts < 0 && (g.opt.present & OPT_TS))
		fail_msg("%s:%d: TS unexpected: %s", file, line, desc);
	if (sp->check_tsecr && g.opt.tsecr != sp->tsecr)
		fail_msg("%s:%d: tsecr: want %u got %u: %s", file, line, sp->tsecr, g.opt.tsecr,
			 desc);
	if (sp->len != g.len)
		fail_msg("%s:%d: len: want %u: %s", file, line, sp->len, desc);
}

uint32_t t_last_tsval(const struct t_env *t)
{
	struct synq_seg g;
	if (t->last_len <= 0 || wire_parse(t->last_pkt, (size_t)t->last_len, &g) != WIRE_OK)
		return 0;
	return (g.opt.present & OPT_TS) ? g.opt.tsval : 0;
}

uint32_t t_last_tsecr(const struct t_env *t)
{
	struct synq_seg g;
	if (t->last_len <= 0 || wire_parse(t->last_pkt, (size_t)t->last_len, &g) != WIRE_OK)
		return 0;
	return (g.opt.present & OPT_TS) ? g.opt.tsecr : 0;
}

uint64_t t_counter(struct t_env *t, const char *name)
{
	uint64_t v = 0;
	if (synq_counter_by_name(t->s, name, &v) != 0)
		fail_msg("unknown counter %s", name);
	return v;
}
