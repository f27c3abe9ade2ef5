/*
 * synq.h — the one header an embedder of libsynq needs.
 *
 * libsynq is a sans-I/O TCP/IPv4 engine whose listener reproduces the Linux 6.18
 * SYN queue / accept queue machinery (see docs and SPEC-linux-listen.md, rules B1..B51).
 *
 * Model (as in ngtcp2 and smoltcp):
 *   - packets go in with synq_input(), come out with synq_output() (pull, loop until 0);
 *   - time is always an argument: u64 nanoseconds of a monotonic clock chosen by the caller;
 *     the engine never reads a clock and asserts that time does not go backwards;
 *   - synq_next_deadline() says when to call synq_on_timeout() next;
 *   - randomness (ISNs, ephemeral ports, secrets) comes from the caller's rand hook,
 *     so a run is replayed exactly from a seed;
 *   - memory is allocated only by synq_stack_new() (through the caller's alloc hook when given)
 *     and freed by synq_stack_free(): nothing is allocated on the packet path.
 *
 * Errors are negative errno values (<errno.h>), as the Linux socket calls would set errno.
 * Addresses and ports in this API are in host byte order.
 * Every pointer argument is borrowed for the duration of the call unless stated otherwise.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYNQ_H
#define SYNQ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SYNQ_VERSION "0.1.0"

/** Opaque engine instance. Owned by the caller between synq_stack_new() and synq_stack_free(). */
typedef struct synq_stack synq_stack;

/** Maximum number of local IPv4 addresses a stack owns. */
#define SYNQ_MAX_ADDRS 8

/* ------------------------------------------------------------------------------------------ */
/* Hooks                                                                                       */
/* ------------------------------------------------------------------------------------------ */

/** Fill buf[0..len) with random bytes. Called for ISN/timestamp secrets (once, at creation),
 *  and for ephemeral ports. Must not call back into the stack. */
typedef void (*synq_rand_fn)(void *user, void *buf, size_t len);

/** Allocate size zeroed bytes (calloc semantics) or return NULL. Only called by synq_stack_new(). */
typedef void *(*synq_alloc_fn)(void *user, size_t size);
/** Free a block returned by the alloc hook; size is the size that was asked for. */
typedef void (*synq_free_fn)(void *user, void *ptr, size_t size);

/** Event kinds reported through the on_event hook. */
enum synq_event_kind {
	SYNQ_EV_CONNECTED = 1, /* active open completed: fd is writable (connect() result 0) */
	SYNQ_EV_ACCEPTABLE,    /* a child joined the accept queue of listener fd */
	SYNQ_EV_READABLE,      /* data or FIN arrived on fd */
	SYNQ_EV_WRITABLE,      /* send buffer space freed on fd */
	SYNQ_EV_ERROR,         /* fd got a pending error (err: -ECONNRESET, -ETIMEDOUT, -ECONNREFUSED...) */
	SYNQ_EV_CLOSED,        /* the connection behind fd reached CLOSED (after TIME-WAIT or abort) */
	SYNQ_EV_REQ_NEW,       /* listener fd created a request (SYN queue +1) */
	SYNQ_EV_REQ_GONE,      /* a request left the SYN queue without a child (expired, reset, aborted) */
	SYNQ_EV_DROP,          /* a packet was dropped or rejected; counter names why */
	SYNQ_EV_STATE,         /* fd changed TCP state (state = new state) */
	SYNQ_EV_DECISION,      /* the listener acted without dropping: a SYN cookie sent (syn_cookie,
	                          B6), a SYN-ACK retransmitted (synack_rtx, B12 / dup_syn, B19),
	                          an RST sent for a stray segment (rst_no_request, B30) */
	SYNQ_EV_LOG,           /* a line the kernel would log (reason), e.g. B7's
	                          "Possible SYN flooding on port 10.0.0.1:80. Sending cookies." */
};

/** One event. All fields are valid for the duration of the callback only. */
struct synq_event {
	int kind;           /* enum synq_event_kind */
	int fd;             /* socket concerned, or the listener for request events; -1 if none */
	int err;            /* negative errno for SYNQ_EV_ERROR, 0 otherwise */
	int state;          /* enum synq_tcp_state for SYNQ_EV_STATE */
	int counter;        /* enum synq_counter for SYNQ_EV_DROP (-1 if none) */
	const char *code;   /* short reason, e.g. "accept_queue_full", "request_expired" ("" if none) */
	const char *rule;   /* the SPEC rule it implements, e.g. "B27" ("" if none) */
	const char *reason; /* human text, e.g. "final ACK while the accept queue is full (A > M)" */
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	uint64_t now_ns;
};

/** Called synchronously when something happens. It may read the stack (synq_sock_info,
 *  synq_requests, synq_poll, synq_counter*, synq_next_deadline) but must not change it: no
 *  input, output, timer or socket call. A SYNQ_EV_DROP whose counter is TcpExtListenOverflows
 *  also moved TcpExtListenDrops (the kernel bumps both for one overflow). */
typedef void (*synq_event_fn)(void *user, const struct synq_event *ev);

/* ------------------------------------------------------------------------------------------ */
/* Configuration: named after the Linux sysctls, Linux 6.18 defaults                          */
/* ------------------------------------------------------------------------------------------ */

struct synq_config {
	/* net.core / net.ipv4 sysctls (per network namespace in Linux; per stack here) */
	int64_t somaxconn;              /* net.core.somaxconn = 4096 */
	int64_t tcp_max_syn_backlog;    /* net.ipv4.tcp_max_syn_backlog = 2048 (B9) */
	int64_t tcp_synack_retries;     /* net.ipv4.tcp_synack_retries = 5 (B12) */
	int64_t tcp_syn_retries;        /* net.ipv4.tcp_syn_retries = 6 (B38) */
	int64_t tcp_syn_linear_timeouts;/* net.ipv4.tcp_syn_linear_timeouts = 4 (B38) */
	int64_t tcp_abort_on_overflow;  /* net.ipv4.tcp_abort_on_overflow = 0 (B28) */
	int64_t tcp_syncookies;         /* net.ipv4.tcp_syncookies = 1 (B6, B32-B37) */
	int64_t tcp_timestamps;         /* net.ipv4.tcp_timestamps = 1 */
	int64_t tcp_sack;               /* net.ipv4.tcp_sack = 1 */
	int64_t tcp_window_scaling;     /* net.ipv4.tcp_window_scaling = 1 */
	int64_t tcp_invalid_ratelimit;  /* net.ipv4.tcp_invalid_ratelimit = 500 (ms) */
	int64_t tcp_keepalive_time;     /* net.ipv4.tcp_keepalive_time = 7200 (s) */
	int64_t tcp_keepalive_intvl;    /* net.ipv4.tcp_keepalive_intvl = 75 (s) */
	int64_t tcp_keepalive_probes;   /* net.ipv4.tcp_keepalive_probes = 9 */
	int64_t tcp_retries2;           /* net.ipv4.tcp_retries2 = 15 */
	int64_t tcp_fin_timeout;        /* net.ipv4.tcp_fin_timeout = 60 (s) */
	int64_t tcp_rto_min_us;         /* net.ipv4.tcp_rto_min_us = 200000 */
	int64_t tcp_rto_max_ms;         /* net.ipv4.tcp_rto_max_ms = 120000 */
	int64_t tcp_no_metrics_save;    /* net.ipv4.tcp_no_metrics_save = 0: closing connections save
	                                   the peer's RTT (tcp_metrics), which makes it "proven" (B9) */
	int64_t tcp_pingpong_thresh;    /* net.ipv4.tcp_pingpong_thresh = 1 (1..255): replies sent within
	                                   the ACK timeout (ato) of the last data received after which a
	                                   connection counts as interactive, delaying its ACKs in the hope of
	                                   a reply to carry them (inet_csk_in_pingpong_mode) */
	int64_t tcp_rmem[3];            /* net.ipv4.tcp_rmem = 4096 131072 33554432: only [2] is read,
	                                   to choose the window scale offered in SYN and SYN-ACK
	                                   (tcp_select_initial_window: ilog2(max) - 15, so 10) */
	int64_t ip_local_port_range_lo; /* net.ipv4.ip_local_port_range = 32768 60999 */
	int64_t ip_local_port_range_hi;

	/* addresses the stack owns (host byte order); packets to others are dropped (IpInAddrErrors) */
	uint32_t local_addrs[SYNQ_MAX_ADDRS];
	int n_local_addrs;

	/* synq's own sizing knobs, settable as net.synq.<name> */
	int64_t max_requests;   /* net.synq.max_requests = 65536: request pool (half-open) size */
	int64_t max_sockets;    /* net.synq.max_sockets = 1024: sockets incl. children and TIME-WAIT */
	int64_t sock_buf_bytes; /* net.synq.sock_buf_bytes = 65536: receive and send buffer per socket */
	int64_t out_ring_bytes; /* net.synq.out_ring_bytes = 262144: packets waiting for synq_output */
	int64_t mtu;            /* net.synq.mtu = 1500: advertised MSS = mtu - 40 */
	int64_t syn_fairness;   /* net.synq.syn_fairness = 0. 1 (beyond Linux): no source /24 may
	                           hold more than half of a listener's SYN queue (M + 1) / 2; a SYN
	                           over that share gets a cookie if tcp_syncookies allows, else it is
	                           dropped (ListenDrops, SynqFairnessDrops), so one flooding prefix
	                           cannot starve the others when cookies are off or undesirable */
	int64_t kernel_rules;   /* net.synq.kernel_rules = 618: the listen-queue rules of Linux 6.18;
	                           310 (or "3.10"): those of Linux 3.10 (SPEC version notes): SYN
	                           queue bound roundup_pow_of_two(max(8, min(M, max_syn_backlog)) + 1)
	                           (B4), SYN dropped on a full accept queue only when more than one
	                           request is young (B8), one 200 ms listener timer scanning 2N/5
	                           request buckets instead of per-request timers (B12), a 3 s
	                           recent-overflow window with SyncookiesFailed for every stray ACK
	                           (B32), ListenDrops for every cookie SYN-ACK and the 8-entry cookie
	                           MSS table with 4-minute validity (B37). */
	int64_t timer_hz;       /* net.synq.timer_hz = 0: timers fire exactly at their deadline.
	                           N (e.g. 250): as on Linux's timer wheel with HZ=N (jiffies counted
	                           from time 0 of the caller's clock): a timer of d jiffies armed at
	                           jiffy j fires at the next boundary of its wheel level's granularity
	                           (8^L jiffies; L = 0 below 63 jiffies, 1 below 504, 2 below 4032, ...)
	                           strictly after j + d, and timers due in the same slot fire
	                           last-armed first. */

	/* hooks (all optional except rand, which defaults to a fixed-seed generator) */
	synq_rand_fn rand;
	void *rand_user;
	synq_alloc_fn alloc;
	synq_free_fn free;
	void *alloc_user;
	synq_event_fn on_event;
	void *event_user;
};

/** Fill cfg with the Linux 6.18 defaults and no local address. Never fails. */
void synq_config_init(struct synq_config *cfg);

/** Set one knob from text "name=value", e.g. "net.ipv4.tcp_synack_retries=3",
 *  "net.ipv4.ip_local_port_range=1024 65535", "net.synq.local_addr=10.0.0.1" (appends).
 *  The "net.ipv4."/"net.core."/"net.synq." prefix may be omitted; '/' may replace '.'.
 *  Returns 0, -ENOENT (unknown name), -EINVAL (malformed text or value out of the sysctl's range),
 *  -ENOSPC (too many local addresses). cfg is unchanged on error. */
int synq_config_set(struct synq_config *cfg, const char *assignment);

/** Write the value of knob name (same names as synq_config_set) into buf as text.
 *  Returns the text length, -ENOENT, or -ENOSPC if cap is too small. */
int synq_config_get(const struct synq_config *cfg, const char *name, char *buf, size_t cap);

/** Name of knob i (full dotted name) for i in [0, n); NULL past the end. */
const char *synq_config_knob(size_t i);

/** Read a config from the running stack (copy). Hooks are included. */
void synq_stack_config(const synq_stack *s, struct synq_config *out);

/** Change a sysctl of a running stack (as `sysctl -w` in the namespace would).
 *  Sizing knobs (net.synq.max_*, sock_buf_bytes, out_ring_bytes) cannot change: -EPERM.
 *  Errors as synq_config_set. */
int synq_stack_set(synq_stack *s, const char *assignment);

/* ------------------------------------------------------------------------------------------ */
/* Stack                                                                                       */
/* ------------------------------------------------------------------------------------------ */

/** Create a stack. cfg is copied. now_ns is the current time (the epoch of TCP timestamps).
 *  Returns 0 and *out, or -EINVAL (bad config), -ENOMEM. */
int synq_stack_new(const struct synq_config *cfg, uint64_t now_ns, synq_stack **out);

/** Free the stack and everything in it; nothing is sent. NULL is allowed. */
void synq_stack_free(synq_stack *s);

/** Bytes of memory the stack allocated (pools included), as counted at creation. */
size_t synq_stack_memory(const synq_stack *s);

/** Give the stack one IPv4 packet (starting at the IP header) received at now_ns.
 *  pkt is only read during the call. Returns 0 when the packet was taken (which includes packets
 *  dropped by TCP rules: see the counters), -EBADMSG for malformed packets (counted:
 *  IpInHdrErrors, TcpInErrs, TcpInCsumErrors...), -EADDRNOTAVAIL when it is not addressed to the
 *  stack (IpInAddrErrors), -EPROTONOSUPPORT for protocols other than TCP and ICMP
 *  (IpInUnknownProtos), -ETIME if now_ns is earlier than a previous call's time.
 *  ICMP (SPEC B11, Linux's icmp_rcv and tcp_v4_err): an error message quoting one of the stack's
 *  connections may remove a request (ListenDrops), abort a connect() (SYNQ_EV_ERROR) or leave a
 *  soft error (SO_ERROR); everything else is counted (Icmp*, TcpExtOutOfWindowIcmps,
 *  SynqIcmpIgnored) and dropped. Malformed ICMP (checksum, a header or quote too short) returns
 *  -EBADMSG (IcmpInErrors); other ICMP returns 0. Nothing is ever sent in reply. */
int synq_input(synq_stack *s, const uint8_t *pkt, size_t len, uint64_t now_ns);

/** Copy the next packet to send into buf (IPv4, ready for the wire) and return its length;
 *  0 when nothing is waiting; -ENOBUFS if cap is too small (the packet stays queued;
 *  1500 bytes are always enough with the default mtu). Loop until it returns 0. */
int synq_output(synq_stack *s, uint8_t *buf, size_t cap, uint64_t now_ns);

/** Earliest time at which synq_on_timeout() has work; UINT64_MAX if none. */
uint64_t synq_next_deadline(const synq_stack *s);

/** Run every timer due at or before now_ns (SYN-ACK retransmissions, RTO, delayed ACKs,
 *  keepalive, TIME-WAIT...). Calling it early is harmless. Packets it produces wait for
 *  synq_output(). */
void synq_on_timeout(synq_stack *s, uint64_t now_ns);

/* ------------------------------------------------------------------------------------------ */
/* Sockets (non-blocking, Linux semantics and errnos)                                          */
/* ------------------------------------------------------------------------------------------ */

/** IPv4 address and port, host byte order. */
struct synq_addr {
	uint32_t ip;
	uint16_t port;
};

/** Linux TCP states, same numbering as <netinet/tcp.h>. */
enum synq_tcp_state {
	SYNQ_TCP_ESTABLISHED = 1,
	SYNQ_TCP_SYN_SENT,
	SYNQ_TCP_SYN_RECV,
	SYNQ_TCP_FIN_WAIT1,
	SYNQ_TCP_FIN_WAIT2,
	SYNQ_TCP_TIME_WAIT,
	SYNQ_TCP_CLOSE,
	SYNQ_TCP_CLOSE_WAIT,
	SYNQ_TCP_LAST_ACK,
	SYNQ_TCP_LISTEN,
	SYNQ_TCP_CLOSING,
};

/** The name `ss` prints for a state ("ESTAB", "SYN-RECV", "LISTEN", ...). */
const char *synq_state_name(int state);

/** Create a TCP socket. Returns fd >= 0, or -EMFILE when net.synq.max_sockets are in use. */
int synq_socket(synq_stack *s);

/** Bind fd to addr (ip 0 = any local address; port 0 = pick an ephemeral port at listen/connect).
 *  -EBADF, -EINVAL (already bound, or not a fresh socket), -EADDRNOTAVAIL (ip not local),
 *  -EADDRINUSE (port used and SO_REUSEADDR does not allow it). */
int synq_bind(synq_stack *s, int fd, const struct synq_addr *addr);

/** listen(fd, backlog): backlog is clamped to somaxconn as (unsigned)backlog > somaxconn
 *  (B1); calling it again only changes the backlog (B2). -EBADF, -EINVAL (connected socket),
 *  -EADDRINUSE (no free ephemeral port / port taken). */
int synq_listen(synq_stack *s, int fd, int backlog);

/** Take the oldest child off the accept queue (B26). Returns the child's fd (its peer address in
 *  *peer if non-NULL) or -EAGAIN (queue empty), -EINVAL (not listening), -EBADF. */
int synq_accept(synq_stack *s, int fd, struct synq_addr *peer);

/** Start an active open: the SYN leaves at now_ns. Returns -EINPROGRESS (the result arrives as
 *  SYNQ_EV_CONNECTED / SYNQ_EV_ERROR and through SO_ERROR), -EALREADY, -EISCONN, -EBADF,
 *  -EADDRNOTAVAIL (no local address / no ephemeral port), -EINVAL. */
int synq_connect(synq_stack *s, int fd, const struct synq_addr *addr, uint64_t now_ns);

/** Read up to len bytes. Returns bytes read, 0 at end of stream, -EAGAIN (nothing yet),
 *  -ENOTCONN, -ECONNRESET / -ETIMEDOUT / -EPIPE (pending error, reported once), -EBADF. */
long synq_read(synq_stack *s, int fd, void *buf, size_t len, uint64_t now_ns);

/** Queue up to len bytes for sending. Returns bytes queued, -EAGAIN (send buffer full),
 *  -EPIPE (shut down for writing, or reset after an error was reported), -ENOTCONN,
 *  -ECONNRESET (pending error), -EBADF. */
long synq_write(synq_stack *s, int fd, const void *buf, size_t len, uint64_t now_ns);

/** shutdown(fd, how) with how = SYNQ_SHUT_RD/WR/RDWR (0/1/2). -ENOTCONN, -EINVAL, -EBADF. */
int synq_shutdown(synq_stack *s, int fd, int how, uint64_t now_ns);
#define SYNQ_SHUT_RD 0
#define SYNQ_SHUT_WR 1
#define SYNQ_SHUT_RDWR 2

/** Close fd. A listener resets its queued children (B43); a connection sends FIN (or RST when
 *  unread data is pending, RFC 2525) and finishes in the background. The fd number is invalid
 *  afterwards. Returns 0 or -EBADF. */
int synq_close(synq_stack *s, int fd, uint64_t now_ns);

/* setsockopt/getsockopt levels and names: Linux values, so <sys/socket.h> constants work too. */
#define SYNQ_SOL_SOCKET 1
#define SYNQ_IPPROTO_TCP 6
#define SYNQ_SO_REUSEADDR 2
#define SYNQ_SO_ERROR 4
#define SYNQ_SO_SNDBUF 7
#define SYNQ_SO_RCVBUF 8
#define SYNQ_SO_KEEPALIVE 9
#define SYNQ_TCP_NODELAY 1
#define SYNQ_TCP_MAXSEG 2
#define SYNQ_TCP_KEEPIDLE 4
#define SYNQ_TCP_KEEPINTVL 5
#define SYNQ_TCP_KEEPCNT 6
#define SYNQ_TCP_SYNCNT 7
#define SYNQ_TCP_DEFER_ACCEPT 9
#define SYNQ_TCP_QUICKACK 12 /* 0: delay ACKs (ping-pong mode); 1: leave it, send a due ACK */
#define SYNQ_TCP_USER_TIMEOUT 18

/** setsockopt with an int value (len = sizeof(int)). Returns 0, -EBADF, -ENOPROTOOPT (unknown
 *  option), -EINVAL (bad length or value, as Linux checks it). */
int synq_setsockopt(synq_stack *s, int fd, int level, int name, const void *val, size_t len);

/** getsockopt: writes an int into val and sizeof(int) into *len. SO_ERROR reads and clears the
 *  pending error (as a positive errno, like Linux). Returns 0, -EBADF, -ENOPROTOOPT, -EINVAL. */
int synq_getsockopt(synq_stack *s, int fd, int level, int name, void *val, size_t *len);

/* poll bits: Linux values */
#define SYNQ_POLLIN 0x001
#define SYNQ_POLLOUT 0x004
#define SYNQ_POLLERR 0x008
#define SYNQ_POLLHUP 0x010
#define SYNQ_POLLRDHUP 0x2000

/** Readiness of fd as poll(2) would report it: POLLIN (data, EOF, or a child to accept),
 *  POLLOUT (connected with send space), POLLERR (pending error), POLLHUP (both directions closed
 *  or reset), POLLRDHUP (peer sent FIN). Returns the mask or -EBADF. */
int synq_poll(const synq_stack *s, int fd);

/* ------------------------------------------------------------------------------------------ */
/* Introspection: counters, sockets, listeners, requests (what nstat and ss read)              */
/* ------------------------------------------------------------------------------------------ */

/** Counters, named exactly as nstat prints the kernel's. */
#define SYNQ_COUNTERS(X)                                                                         \
	/* /proc/net/snmp Ip: */                                                                 \
	X(SYNQ_C_IP_IN_RECEIVES, "IpInReceives")                                                 \
	X(SYNQ_C_IP_IN_HDR_ERRORS, "IpInHdrErrors")                                              \
	X(SYNQ_C_IP_IN_ADDR_ERRORS, "IpInAddrErrors")                                            \
	X(SYNQ_C_IP_IN_UNKNOWN_PROTOS, "IpInUnknownProtos")                                      \
	X(SYNQ_C_IP_IN_DELIVERS, "IpInDelivers")                                                 \
	X(SYNQ_C_IP_OUT_REQUESTS, "IpOutRequests")                                               \
	X(SYNQ_C_IP_REASM_FAILS, "IpReasmFails")                                                 \
	/* /proc/net/snmp Icmp: what came in (synq sends no ICMP) */                             \
	X(SYNQ_C_ICMP_IN_MSGS, "IcmpInMsgs")                                                     \
	X(SYNQ_C_ICMP_IN_ERRORS, "IcmpInErrors")                                                 \
	X(SYNQ_C_ICMP_IN_CSUM_ERRORS, "IcmpInCsumErrors")                                        \
	X(SYNQ_C_ICMP_IN_DEST_UNREACHS, "IcmpInDestUnreachs")                                    \
	X(SYNQ_C_ICMP_IN_TIME_EXCDS, "IcmpInTimeExcds")                                          \
	X(SYNQ_C_ICMP_IN_PARM_PROBS, "IcmpInParmProbs")                                          \
	X(SYNQ_C_ICMP_IN_SRC_QUENCHS, "IcmpInSrcQuenchs")                                        \
	X(SYNQ_C_ICMP_IN_REDIRECTS, "IcmpInRedirects")                                           \
	X(SYNQ_C_ICMP_IN_ECHOS, "IcmpInEchos")                                                   \
	X(SYNQ_C_ICMP_IN_ECHO_REPS, "IcmpInEchoReps")                                            \
	X(SYNQ_C_ICMP_IN_TIMESTAMPS, "IcmpInTimestamps")                                         \
	X(SYNQ_C_ICMP_IN_TIMESTAMP_REPS, "IcmpInTimestampReps")                                  \
	X(SYNQ_C_ICMP_IN_ADDR_MASKS, "IcmpInAddrMasks")                                          \
	X(SYNQ_C_ICMP_IN_ADDR_MASK_REPS, "IcmpInAddrMaskReps")                                   \
	/* /proc/net/snmp Tcp: */                                                                \
	X(SYNQ_C_TCP_ACTIVE_OPENS, "TcpActiveOpens")                                             \
	X(SYNQ_C_TCP_PASSIVE_OPENS, "TcpPassiveOpens")                                           \
	X(SYNQ_C_TCP_ATTEMPT_FAILS, "TcpAttemptFails")                                           \
	X(SYNQ_C_TCP_ESTAB_RESETS, "TcpEstabResets")                                             \
	X(SYNQ_C_TCP_CURR_ESTAB, "TcpCurrEstab")                                                 \
	X(SYNQ_C_TCP_IN_SEGS, "TcpInSegs")                                                       \
	X(SYNQ_C_TCP_OUT_SEGS, "TcpOutSegs")                                                     \
	X(SYNQ_C_TCP_RETRANS_SEGS, "TcpRetransSegs")                                             \
	X(SYNQ_C_TCP_IN_ERRS, "TcpInErrs")                                                       \
	X(SYNQ_C_TCP_OUT_RSTS, "TcpOutRsts")                                                     \
	X(SYNQ_C_TCP_IN_CSUM_ERRORS, "TcpInCsumErrors")                                          \
	/* /proc/net/netstat TcpExt: */                                                          \
	X(SYNQ_C_SYNCOOKIES_SENT, "TcpExtSyncookiesSent")                                        \
	X(SYNQ_C_SYNCOOKIES_RECV, "TcpExtSyncookiesRecv")                                        \
	X(SYNQ_C_SYNCOOKIES_FAILED, "TcpExtSyncookiesFailed")                                    \
	X(SYNQ_C_EMBRYONIC_RSTS, "TcpExtEmbryonicRsts")                                          \
	X(SYNQ_C_OUT_OF_WINDOW_ICMPS, "TcpExtOutOfWindowIcmps")                                  \
	X(SYNQ_C_PAWS_ESTAB, "TcpExtPAWSEstab")                                                  \
	X(SYNQ_C_TW, "TcpExtTW")                                                                 \
	X(SYNQ_C_LISTEN_OVERFLOWS, "TcpExtListenOverflows")                                      \
	X(SYNQ_C_LISTEN_DROPS, "TcpExtListenDrops")                                              \
	X(SYNQ_C_TCP_REQQ_FULL_DO_COOKIES, "TcpExtTCPReqQFullDoCookies")                         \
	X(SYNQ_C_TCP_REQQ_FULL_DROP, "TcpExtTCPReqQFullDrop")                                    \
	X(SYNQ_C_TCP_TIMEOUTS, "TcpExtTCPTimeouts")                                              \
	X(SYNQ_C_TCP_SYN_RETRANS, "TcpExtTCPSynRetrans")                                         \
	X(SYNQ_C_TCP_ACK_SKIPPED_SYN_RECV, "TcpExtTCPACKSkippedSynRecv")                         \
	X(SYNQ_C_TCP_ACK_SKIPPED_CHALLENGE, "TcpExtTCPACKSkippedChallenge")                      \
	X(SYNQ_C_TCP_DEFER_ACCEPT_DROP, "TcpExtTCPDeferAcceptDrop")                              \
	X(SYNQ_C_TCP_CHALLENGE_ACK, "TcpExtTCPChallengeACK")                                     \
	X(SYNQ_C_TCP_SYN_CHALLENGE, "TcpExtTCPSYNChallenge")                                     \
	X(SYNQ_C_TCP_ABORT_ON_TIMEOUT, "TcpExtTCPAbortOnTimeout")                                \
	X(SYNQ_C_TCP_ABORT_ON_DATA, "TcpExtTCPAbortOnData")                                      \
	X(SYNQ_C_TCP_ABORT_ON_CLOSE, "TcpExtTCPAbortOnClose")                                    \
	X(SYNQ_C_TCP_TIMEWAIT_OVERFLOW, "TcpExtTCPTimeWaitOverflow")                             \
	X(SYNQ_C_TSECR_REJECTED, "TcpExtTSEcrRejected")                                          \
	X(SYNQ_C_TCP_KEEPALIVE, "TcpExtTCPKeepAlive")                                            \
	X(SYNQ_C_TCP_PURE_ACKS, "TcpExtTCPPureAcks")                                             \
	X(SYNQ_C_TCP_HP_ACKS, "TcpExtTCPHPAcks")                                                 \
	X(SYNQ_C_TCP_LOSS_PROBES, "TcpExtTCPLossProbes")                                         \
	X(SYNQ_C_TCP_OFO_DROP, "TcpExtTCPOFODrop")                                               \
	X(SYNQ_C_TCP_RCVQ_DROP, "TcpExtTCPRcvQDrop")                                             \
	X(SYNQ_C_TCP_ACK_SKIPPED_PAWS, "TcpExtTCPACKSkippedPAWS")                                \
	X(SYNQ_C_TCP_ORIG_DATA_SENT, "TcpExtTCPOrigDataSent")                                    \
	X(SYNQ_C_DELAYED_ACKS, "TcpExtDelayedACKs")                                              \
	X(SYNQ_C_DELAYED_ACK_LOST, "TcpExtDelayedACKLost")                                       \
	X(SYNQ_C_TCP_ZERO_WINDOW_DROP, "TcpExtTCPZeroWindowDrop")                                \
	/* synq's own (no kernel equivalent) */                                                  \
	X(SYNQ_C_SYNQ_OUT_RING_DROPS, "SynqOutRingDrops")                                        \
	X(SYNQ_C_SYNQ_SOCK_POOL_FULL, "SynqSockPoolFull")                                        \
	X(SYNQ_C_SYNQ_REQ_POOL_FULL, "SynqReqPoolFull")                                          \
	X(SYNQ_C_SYNQ_FAIRNESS_DROPS, "SynqFairnessDrops")                                       \
	X(SYNQ_C_SYNQ_ICMP_IGNORED, "SynqIcmpIgnored")

enum synq_counter {
#define SYNQ_X_ENUM(id, name) id,
	SYNQ_COUNTERS(SYNQ_X_ENUM)
#undef SYNQ_X_ENUM
	SYNQ_COUNTER_COUNT
};

/** Name of counter id ("TcpExtListenOverflows"); NULL if id is out of range. */
const char *synq_counter_name(int id);
/** Id of counter name, or -ENOENT. */
int synq_counter_id(const char *name);
/** Value of counter id (0 if out of range). */
uint64_t synq_counter(const synq_stack *s, int id);
/** Value by name; -ENOENT if unknown. */
int synq_counter_by_name(const synq_stack *s, const char *name, uint64_t *out);

/** Per-socket figures, as `ss -tan` shows them. For a listener recvq = A (accept-queue length)
 *  and sendq = M (clamped backlog), B44. */
struct synq_sock_info {
	int fd;
	int state; /* enum synq_tcp_state */
	struct synq_addr local, remote;
	uint32_t recvq, sendq;
	/* listeners only (B44 plus what Linux does not show) */
	uint32_t synq_len;  /* Q: requests, acked ones included */
	uint32_t young;     /* Y: requests whose timer has not fired */
	uint64_t overflows; /* this listener's ListenOverflows */
	uint64_t drops;     /* this listener's ListenDrops */
	uint32_t defer_accept_retrans;
	int orphan;         /* 1 when the application closed it (FIN_WAIT/TIME_WAIT etc.) */
	uint64_t timer_ns;  /* next timer of this socket (0 if none) */
	uint32_t retransmits;
};

/** Fill *out for fd (also works for closed-but-alive connections, see synq_sock_next).
 *  Returns 0 or -EBADF. */
int synq_sock_info(const synq_stack *s, int fd, struct synq_sock_info *out);
/** Iterate live sockets: returns the first fd > prev (start with prev = -1), or -1 at the end.
 *  Includes orphaned connections still finishing (TIME-WAIT...), which have info.orphan = 1. */
int synq_sock_next(const synq_stack *s, int prev);

/** A pending request (SYN-RECV), as `ss -tan state syn-recv` shows it (B45). */
struct synq_req_info {
	struct synq_addr local, remote;
	uint32_t num_timeout; /* n: timer firings so far */
	uint32_t num_retrans; /* r: SYN-ACK retransmissions sent */
	int acked;            /* final ACK seen but not converted (B15/B27) */
	uint64_t expires_ns;  /* next timer firing */
};
/** Copy up to cap requests of listener fd into out (oldest first, as found); returns how many
 *  there are in all (may exceed cap), or -EBADF / -EINVAL (not a listener). */
int synq_requests(const synq_stack *s, int fd, struct synq_req_info *out, size_t cap);

/* ------------------------------------------------------------------------------------------ */
/* SYN cookies, offline (debugging)                                                           */
/* ------------------------------------------------------------------------------------------ */

#define SYNQ_COOKIE_SECRET_BYTES 48

/** Copy the stack's SYN-cookie secrets (syncookie_secret[2], then the timestamp-offset key),
 *  drawn from the rand hook at creation, so that its cookies can be decoded offline. They are
 *  secrets: whoever has them can forge cookies for this stack. */
void synq_stack_cookie_secrets(const synq_stack *s, uint8_t out[SYNQ_COOKIE_SECRET_BYTES]);

/** What a cookie SYN-ACK carries (SPEC B33-B35). */
struct synq_cookie_info {
	int valid;          /* an ACK for it would validate at now_ns: age < 2 (3.10: < 4) */
	uint32_t counter;   /* minute counter encoded (low 8 bits) */
	uint32_t age;       /* minute steps between the encoded counter and now_ns's */
	uint32_t mss_index; /* table index found in the low 24 bits */
	uint16_t mss;       /* table value, 0 if the index is out of the table */
	int has_ts;         /* options decoded from the TSval's low 6 bits */
	int wscale;         /* the client's window scale, -1 for none */
	int sack, ecn;
};

/** Decode a cookie the way the kernel validates the ACK that echoes it: client and server are
 *  the SYN's source and destination, client_isn the SYN's sequence number, cookie the
 *  SYN-ACK's, tsval the SYN-ACK's TSval (NULL if it had none), now_ns the caller-clock time of
 *  the check, kernel_rules 618 or 310 (the MSS table and the age limit differ). Returns 0, or
 *  -EINVAL for bad arguments. */
int synq_cookie_decode(const uint8_t secrets[SYNQ_COOKIE_SECRET_BYTES], int kernel_rules,
		       const struct synq_addr *client, const struct synq_addr *server,
		       uint32_t client_isn, uint32_t cookie, const uint32_t *tsval, uint64_t now_ns,
		       struct synq_cookie_info *out);

#ifdef __cplusplus
}
#endif
#endif /* SYNQ_H */
