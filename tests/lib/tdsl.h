/*
 * tdsl.h — a small send/expect DSL for handshake tests by state (after smoltcp's
 * send!/recv!/recv_nothing! and lwIP's segment builders), with literal timestamps.
 *
 * One stack under test (10.0.0.1) and hand-made peers (10.0.0.2, ports of the test's choice).
 * Sequence numbers are relative: a peer's to its own ISN (chosen by the test through .isn on its
 * first SYN, default 1000), the stack's to its ISN, learned from the first SYN or SYN-ACK it sends
 * on that flow. Times are in ms from the start of the test.
 *
 *   T_SEND(t, 0, .port = 40001, .flags = "S", .seq = 0, .mss = 1460, .ts = 1, .tsval = 100);
 *   T_EXPECT(t, 0, .port = 40001, .flags = "S.", .seq = 0, .ack = 1);
 *   T_NOTHING(t, 999);          // nothing sent up to and including 999 ms
 *   T_EXPECT(t, 1000, ...);     // timers run up to 1000 ms, then the next segment must match
 */
#ifndef TDSL_H
#define TDSL_H

#include <stdint.h>
#include "synq.h"

#define T_SERVER_IP 0x0a000001u /* 10.0.0.1 */
#define T_PEER_IP 0x0a000002u   /* 10.0.0.2 */
#define T_SERVER_PORT 8080

struct t_seg {
	uint16_t port;     /* peer port (default 40001) */
	uint32_t saddr;    /* peer address for sends (0: T_PEER_IP) */
	const char *flags; /* tcpdump letters: "S", "S.", ".", "P.", "F.", "R", "R." */
	int64_t seq;       /* relative; T_ANY to not check */
	int64_t ack;       /* relative; T_ANY (default when .ack unset) to not check */
	int64_t win;       /* raw window field; T_ANY by default for expects; 65535 default for sends */
	uint16_t mss;      /* MSS option (0 = none); on expects: 0 = don't check */
	int sack_perm;     /* on expects: -1 check absent, 1 check present, 0 don't care */
	int ws;            /* window scale option value + 1 (0 = none / don't care) */
	int ts;            /* timestamps option present (expects: -1 absent, 1 present) */
	uint32_t tsval, tsecr;
	int check_tsecr;   /* expects: tsecr must equal .tsecr */
	uint32_t len;      /* payload length (payload bytes are 'a'+i) */
	uint32_t isn;      /* peer ISN on its first SYN of a flow (default 1000) */
	uint8_t tos;
	int raw_seq;       /* sends: .seq is absolute, not relative */
};

#define T_ANY INT64_MIN
#define T_MAX_FLOWS 256 /* peer ports a test may use */

struct t_env {
	synq_stack *s;
	uint64_t now_ns;
	int lfd; /* the listener, if t_listen was called */
	struct synq_config cfg;
	/* flows: per peer port, the peer ISN and the stack ISN */
	struct {
		uint16_t port;
		uint32_t peer_isn, stack_isn;
		int have_stack_isn;
	} flows[T_MAX_FLOWS];
	int n_flows;
	/* events seen */
	int ev_count[16];
	char last_drop_code[32], last_drop_rule[8]; /* of the last SYNQ_EV_DROP with a code */
	char last_gone_code[32];                     /* of the last SYNQ_EV_REQ_GONE */
	int last_err; /* err of the last SYNQ_EV_ERROR */
	/* the last segment T_EXPECT matched (raw bytes, for option-layout checks) */
	uint8_t last_pkt[2200];
	int last_len;
};

/* A stack with 10.0.0.1 and the given "name=value" settings (NULL-terminated list). */
void t_init(struct t_env *t, const char *const *settings);
void t_free(struct t_env *t);
/* socket + bind 10.0.0.1:8080 + listen(backlog) */
int t_listen(struct t_env *t, int backlog);
/* Active open (client tests): socket + bind 10.0.0.1:8080 + connect to 10.0.0.2:port at ms.
 * Returns the fd; connect() must say -EINPROGRESS. The peer answers with "S." (its ISN from
 * .isn, default 1000; its .ack is relative to the stack's ISN learned from the SYN). */
int t_connect(struct t_env *t, uint64_t ms, uint16_t port);
/* TSval / TSecr of the last segment T_EXPECT matched (0 if it had no timestamps) */
uint32_t t_last_tsval(const struct t_env *t);
uint32_t t_last_tsecr(const struct t_env *t);
/* the test clock in ns (for the socket calls that take now_ns) */
static inline uint64_t t_now(const struct t_env *t) { return t->now_ns; }
/* run timers up to time ms (asserts time does not go back) */
void t_advance(struct t_env *t, uint64_t ms);
void t_send(struct t_env *t, uint64_t ms, const struct t_seg *seg, const char *file, int line);
void t_expect(struct t_env *t, uint64_t ms, const struct t_seg *seg, const char *file, int line);
void t_nothing(struct t_env *t, uint64_t ms, const char *file, int line);
uint64_t t_counter(struct t_env *t, const char *name);
/* relative <-> absolute for the stack's side of a flow */
uint32_t t_stack_isn(struct t_env *t, uint16_t port);
/* Emit a raw packet to the stack (for malformed-input tests) */
int t_inject(struct t_env *t, uint64_t ms, const uint8_t *pkt, size_t len);
/* Build the bytes of a peer segment (for fuzz seeds and tests). Returns length. */
size_t t_build(struct t_env *t, const struct t_seg *seg, uint8_t *buf, size_t cap);

#define T_SEND(t, ms, ...)                                                                         \
	do {                                                                                       \
		struct t_seg _s = {.port = 40001, .win = 65535, __VA_ARGS__};                      \
		t_send((t), (ms), &_s, __FILE__, __LINE__);                                        \
	} while (0)
#define T_EXPECT(t, ms, ...)                                                                       \
	do {                                                                                       \
		struct t_seg _s = {.port = 40001, .seq = T_ANY, .ack = T_ANY, .win = T_ANY,         \
				   __VA_ARGS__};                                                   \
		t_expect((t), (ms), &_s, __FILE__, __LINE__);                                      \
	} while (0)
#define T_NOTHING(t, ms) t_nothing((t), (ms), __FILE__, __LINE__)
#define T_COUNTER(t, name) t_counter((t), (name))

#endif
