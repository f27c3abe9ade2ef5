/*
 * synq serve — a synq stack behind a TUN device, serving real clients (the kernel's TCP, curl),
 * with a control socket that synq ss / synq nstat / synq ctl read (docs/ctl.md).
 *
 *   kernel clients --(routes through the TUN device)--> tun fd --> synq_input
 *   synq_output --> tun fd --> kernel
 *
 * The loop (src/drivers/loop.c) wakes on packets, control clients, signals and the earliest of
 * synq_next_deadline() and the accept policy's next accept; after every wake-up it runs the
 * timers, the application (accept policy, then the connections the events touched) and drains
 * the output onto the device.
 *
 * SPDX-License-Identifier: MIT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"
#include "drivers/ctl.h"
#include "drivers/loop.h"
#include "drivers/pcap.h"
#include "drivers/trace.h"
#include "drivers/tun.h"
#include "synq.h"

enum { EXIT_USAGE = 2, EXIT_NOPERM = 3 };
enum app_kind { APP_ECHO, APP_DISCARD, APP_HTTP, APP_HOLD };
enum acc_kind { ACC_ALWAYS, ACC_NEVER, ACC_DELAY, ACC_RATE };
enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

#define TUN_BATCH 64
#define PKT_MAX 65536
#define CONN_BUF 8192
#define DELAY_SLOTS 4096     /* --delay: packets held at most (a FIFO: the delay is constant) */
#define DELAY_MAX_MS 10000

/* driver counters, shown by nstat after the engine's */
#define DRV_COUNTERS(X)                                                                          \
	X(D_TUN_IN, "SynqTunInPackets")                                                          \
	X(D_TUN_IN_NON_IPV4, "SynqTunInNonIPv4")                                                 \
	X(D_TUN_OUT, "SynqTunOutPackets")                                                        \
	X(D_TUN_OUT_ERRORS, "SynqTunOutErrors")                                                  \
	X(D_APP_ACCEPTED, "SynqAppAccepted")                                                     \
	X(D_DELAY_DROPS, "SynqDelayQueueDrops")
enum {
#define X_ENUM(id, name) id,
	DRV_COUNTERS(X_ENUM)
#undef X_ENUM
	D_COUNT
};
static const char *const drv_names[] = {
#define X_NAME(id, name) name,
    DRV_COUNTERS(X_NAME)
#undef X_NAME
};
#define N_ALL (SYNQ_COUNTER_COUNT + D_COUNT)

struct policy {
	int kind;       /* enum acc_kind */
	uint64_t arg;   /* delay in ns, or interval in ns for rate */
	uint64_t per_s; /* rate N (for printing) */
};

struct conn {
	int used;
	int closing;   /* close once out is flushed */
	size_t in_n;   /* http: request bytes buffered */
	size_t out_n, out_off;
	char *in, *out;
	int has_file;      /* http --root: a file being streamed after out */
	int file_fd;
	uint64_t file_left; /* its bytes not yet read into out */
};

struct serve {
	/* options */
	const char *tun_name;
	uint32_t addr, host_addr;
	int prefix;
	struct synq_addr listen;
	int backlog;
	int app;
	struct policy pol;
	int paused;
	const char *pcap_path, *ctl_path;
	char *root; /* --root, realpath'd (malloc) */
	int log;
	struct synq_config cfg;
	uint64_t delay_ns; /* --delay: one-way delay of packets from the kernel, 0 = none */

	/* run time */
	synq_stack *s;
	struct loop *loop;
	int tun;
	struct ctl_server *ctl;
	struct pcap_writer *pcap;
	int pcap_err;
	uint64_t rt_offset; /* CLOCK_REALTIME - CLOCK_MONOTONIC at start, for pcap stamps */
	uint64_t start_ns;
	int lfd;
	int stop;

	struct conn *conns; /* indexed by synq fd */
	int n_conns;
	unsigned char *dirty;
	int *dirty_list;
	int *work;
	int n_dirty;

	uint64_t *joins; /* accept-queue join times (ring) */
	size_t jcap, jhead, jn;
	uint64_t next_ok; /* rate policy: earliest next accept */

	uint64_t drv[D_COUNT];
	uint64_t hist[N_ALL];

	struct synq_req_info *reqs;
	size_t reqs_cap;

	/* --delay: a ring of DELAY_SLOTS packets of up to dslot bytes each (malloc'd at setup,
	 * owned here): dbuf[i * dslot], dlen[i], ddue[i] = when it reaches synq_input */
	uint8_t *dbuf;
	uint32_t *dlen;
	uint64_t *ddue;
	size_t dslot, dhead, dn;

	uint8_t pkt[PKT_MAX];
};

static void logf_(struct serve *sv, int level, const char *fmt, ...)
{
	if (level > sv->log)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "synq serve: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void help(FILE *f)
{
	fprintf(f,
		"usage: synq serve --tun NAME --addr A.B.C.D/NN --listen IP:PORT [OPTIONS]\n"
		"\n"
		"Runs a synq stack that owns --addr behind a new TUN device NAME: the kernel's side of\n"
		"the device gets --host-addr and routes the prefix through it, so the kernel's TCP\n"
		"(curl, nc, any program) reaches synq's listener as it would a remote host. The device\n"
		"is removed on exit. Needs CAP_NET_ADMIN (root); best run in a network namespace:\n"
		"  ip netns add demo; ip netns exec demo synq serve --tun synq0 --addr 10.9.0.1/24 \\\n"
		"      --listen 10.9.0.1:80 --app http --backlog 2 --accept never &\n"
		"  ip netns exec demo curl -m 2 http://10.9.0.1/; synq ss -lnt; synq nstat\n"
		"\n"
		"options:\n"
		"  --tun NAME           the TUN device to create (at most 15 characters)\n"
		"  --addr A.B.C.D/NN    synq's own address and prefix\n"
		"  --host-addr A.B.C.D  the kernel's address on the device (default: the lowest other\n"
		"                       address of the prefix)\n"
		"  --listen IP:PORT     the listener (IP = synq's address or 0.0.0.0)\n"
		"  --backlog N          listen() backlog, clamped to somaxconn as Linux does (128)\n"
		"  --app echo|discard|http|hold\n"
		"                       what accepted connections get (default http): echo the bytes,\n"
		"                       discard them, a small HTTP/1.1 page (keep-alive), or nothing\n"
		"                       at all (connections held open until the peer resets them)\n"
		"  --root DIR           with --app http: serve the regular files under DIR to GET and\n"
		"                       HEAD (\"/\" and directories: their index.html), streamed in\n"
		"                       chunks as the send buffer frees, any size; 404 when missing,\n"
		"                       403 for \"..\" or a symlink that leads out of DIR\n"
		"  --accept always|never|delay:MS|rate:N/s\n"
		"                       when to accept(): at once (default), never, each connection MS\n"
		"                       ms after it joined the accept queue, at most N per second;\n"
		"                       changed live with `synq ctl accept pause|resume|POLICY`\n"
		"  --set NAME=VALUE     a sysctl of the stack (repeatable), e.g.\n"
		"                       --set net.ipv4.tcp_abort_on_overflow=1, --set net.synq.mtu=1400\n"
		"  --delay MS           hold each packet from the kernel MS ms (0-%d) before synq\n"
		"                       gets it: a one-way delay, as netem would add on the clients'\n"
		"                       side, so that a burst of SYNs all arrive before the first\n"
		"                       final ACK (the overflow experiment's timing); FIFO, at most\n"
		"                       %d packets in flight, more are dropped (SynqDelayQueueDrops)\n"
		"  --pcap FILE          every packet in and out, as tcpdump on the device would see it\n"
		"                       (with --delay: inbound packets when synq gets them)\n"
		"  --ctl PATH           the control socket (default %s/NAME.sock, mode 0600)\n"
		"  --log LEVEL          error|warn|info (default)|debug (every drop and listener\n"
		"                       decision, with its rule)|trace (every packet too)\n"
		"  --help               this text\n"
		"\n"
		"Standard output: three lines at start (device, listener, control socket). Standard\n"
		"error: the log; the first SYN-queue overflow prints the kernel's line\n"
		"  TCP: request_sock_TCP: Possible SYN flooding on port IP:PORT. Sending cookies.\n"
		"SIGINT/SIGTERM: the listener is closed as the kernel closes it (children in the accept\n"
		"queue are reset, B43), connections are closed, the pcap is flushed, exit 0.\n"
		"\n"
		"exit status: 0 stopped by SIGINT/SIGTERM; 1 error (device, address already the\n"
		"kernel's, control socket in use, pcap file...); 2 bad usage; 3 not permitted or not\n"
		"supported here (no CAP_NET_ADMIN, no /dev/net/tun).\n",
		DELAY_MAX_MS, DELAY_SLOTS, CTL_DIR);
}

/* ---- option parsing ----------------------------------------------------------------------- */

static int parse_ip(const char *s, uint32_t *ip)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*ip = ntohl(a.s_addr);
	return 0;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_addr_prefix(const char *s, uint32_t *ip, int *prefix)
{
	char buf[32];
	const char *slash = strchr(s, '/');
	if (!slash || (size_t)(slash - s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = 0;
	uint64_t p;
	if (parse_ip(buf, ip) || parse_u64(slash + 1, 32, &p))
		return -1;
	*prefix = (int)p;
	return 0;
}

static int parse_endpoint(const char *s, struct synq_addr *a)
{
	char buf[32];
	const char *colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, (size_t)(colon - s));
	buf[colon - s] = 0;
	uint64_t port;
	if (parse_ip(buf, &a->ip) || parse_u64(colon + 1, 65535, &port) || port == 0)
		return -1;
	a->port = (uint16_t)port;
	return 0;
}

/* "always", "never", "delay:MS", "rate:N/s" (also "rate:N"). */
static int parse_policy(const char *s, struct policy *p)
{
	uint64_t v;
	memset(p, 0, sizeof(*p));
	if (!strcmp(s, "always")) {
		p->kind = ACC_ALWAYS;
	} else if (!strcmp(s, "never")) {
		p->kind = ACC_NEVER;
	} else if (!strncmp(s, "delay:", 6) && !parse_u64(s + 6, 86400000ull, &v)) {
		p->kind = ACC_DELAY;
		p->arg = v * 1000000ull;
	} else if (!strncmp(s, "rate:", 5)) {
		char buf[24];
		snprintf(buf, sizeof(buf), "%s", s + 5);
		size_t n = strlen(buf);
		if (n > 2 && !strcmp(buf + n - 2, "/s"))
			buf[n - 2] = 0;
		if (parse_u64(buf, 1000000000ull, &v) || v == 0)
			return -1;
		p->kind = ACC_RATE;
		p->per_s = v;
		p->arg = 1000000000ull / v;
	} else {
		return -1;
	}
	return 0;
}

static void policy_str(const struct policy *p, int paused, char *buf, size_t cap)
{
	const char *pre = paused ? "paused (then " : "";
	const char *post = paused ? ")" : "";
	switch (p->kind) {
	case ACC_ALWAYS:
		snprintf(buf, cap, "%salways%s", pre, post);
		break;
	case ACC_NEVER:
		snprintf(buf, cap, "%snever%s", pre, post);
		break;
	case ACC_DELAY:
		snprintf(buf, cap, "%sdelay:%" PRIu64 "%s", pre, (uint64_t)(p->arg / 1000000u), post);
		break;
	default:
		snprintf(buf, cap, "%srate:%" PRIu64 "/s%s", pre, p->per_s, post);
		break;
	}
}

static int usage_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "synq serve: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (synq serve --help)\n");
	va_end(ap);
	return -1;
}

/* Returns 0, 1 (--help shown), -1 (usage error printed). */
static int parse_args(struct serve *sv, int argc, char **argv)
{
	const char *addr = NULL, *host = NULL, *listen_s = NULL;
	sv->backlog = 128;
	sv->app = APP_HTTP;
	sv->pol.kind = ACC_ALWAYS;
	sv->log = LOG_INFO;
	synq_config_init(&sv->cfg);
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
			help(stdout);
			return 1;
		}
		static const char *const with_arg[] = {"--tun", "--addr", "--host-addr", "--listen",
						       "--backlog", "--app", "--accept", "--set",
						       "--pcap", "--ctl", "--log", "--root",
						       "--delay", NULL};
		int known = 0;
		for (int k = 0; with_arg[k]; k++)
			known |= !strcmp(o, with_arg[k]);
		if (!known)
			return usage_err("unknown option '%s'", o);
		if (i + 1 >= argc)
			return usage_err("%s needs a value", o);
		const char *v = argv[++i];
		if (!strcmp(o, "--tun")) {
			if (!*v || strlen(v) > 15 || strchr(v, '/') || strchr(v, ' '))
				return usage_err("--tun %s: an interface name has 1 to 15 characters", v);
			sv->tun_name = v;
		} else if (!strcmp(o, "--addr")) {
			addr = v;
		} else if (!strcmp(o, "--host-addr")) {
			host = v;
		} else if (!strcmp(o, "--listen")) {
			listen_s = v;
		} else if (!strcmp(o, "--backlog")) {
			char *end;
			errno = 0;
			long b = strtol(v, &end, 10);
			if (errno || *end || !*v || b < INT_MIN || b > INT_MAX)
				return usage_err("--backlog %s: not an integer", v);
			sv->backlog = (int)b;
		} else if (!strcmp(o, "--app")) {
			if (!strcmp(v, "echo"))
				sv->app = APP_ECHO;
			else if (!strcmp(v, "discard"))
				sv->app = APP_DISCARD;
			else if (!strcmp(v, "http"))
				sv->app = APP_HTTP;
			else if (!strcmp(v, "hold"))
				sv->app = APP_HOLD;
			else
				return usage_err("--app %s: echo, discard, http or hold", v);
		} else if (!strcmp(o, "--accept")) {
			if (parse_policy(v, &sv->pol))
				return usage_err("--accept %s: always, never, delay:MS or rate:N/s", v);
		} else if (!strcmp(o, "--set")) {
			int rc = synq_config_set(&sv->cfg, v);
			if (rc == -ENOENT)
				return usage_err("--set %s: unknown sysctl", v);
			if (rc)
				return usage_err("--set %s: %s", v, strerror(-rc));
		} else if (!strcmp(o, "--delay")) {
			char *end;
			errno = 0;
			long ms = strtol(v, &end, 10);
			if (errno || *end || !*v || ms < 0 || ms > DELAY_MAX_MS)
				return usage_err("--delay %s: milliseconds, 0 to %d", v, DELAY_MAX_MS);
			sv->delay_ns = (uint64_t)ms * 1000000u;
		} else if (!strcmp(o, "--pcap")) {
			sv->pcap_path = v;
		} else if (!strcmp(o, "--ctl")) {
			sv->ctl_path = v;
		} else if (!strcmp(o, "--log")) {
			static const char *const lv[] = {"error", "warn", "info", "debug", "trace"};
			int found = -1;
			for (int k = 0; k < 5; k++)
				if (!strcmp(v, lv[k]))
					found = k;
			if (found < 0)
				return usage_err("--log %s: error, warn, info, debug or trace", v);
			sv->log = found;
		} else if (!strcmp(o, "--root")) {
			free(sv->root);
			sv->root = realpath(v, NULL);
			struct stat st;
			if (!sv->root || stat(sv->root, &st) || !S_ISDIR(st.st_mode))
				return usage_err("--root %s: %s", v,
						 sv->root ? "not a directory" : strerror(errno));
		}
	}
	if (sv->root && sv->app != APP_HTTP)
		return usage_err("--root needs --app http");
	if (!sv->tun_name)
		return usage_err("--tun NAME is required");
	if (!addr)
		return usage_err("--addr A.B.C.D/NN is required");
	if (!listen_s)
		return usage_err("--listen IP:PORT is required");
	if (parse_addr_prefix(addr, &sv->addr, &sv->prefix))
		return usage_err("--addr %s: want A.B.C.D/NN", addr);
	uint32_t mask = sv->prefix ? ~((sv->prefix == 32 ? 0u : (1u << (32 - sv->prefix))) - 1u) : 0;
	if (sv->prefix == 32)
		mask = 0xffffffffu;
	if (host) {
		if (parse_ip(host, &sv->host_addr))
			return usage_err("--host-addr %s: want A.B.C.D", host);
		if (sv->host_addr == sv->addr)
			return usage_err("--host-addr %s is synq's own address", host);
	} else if (sv->prefix >= 32 || sv->prefix < 8) {
		return usage_err("--addr %s: give --host-addr (no room in a /%d for the kernel's side)",
				 addr, sv->prefix);
	} else {
		uint32_t net = sv->addr & mask;
		uint32_t first = sv->prefix == 31 ? net : net + 1;
		sv->host_addr = first == sv->addr ? first + 1 : first;
	}
	(void)mask;
	if (parse_endpoint(listen_s, &sv->listen))
		return usage_err("--listen %s: want IP:PORT (port 1-65535)", listen_s);
	if (sv->listen.ip != 0 && sv->listen.ip != sv->addr)
		return usage_err("--listen %s: the IP must be synq's address (--addr) or 0.0.0.0",
				 listen_s);
	char a[64];
	snprintf(a, sizeof(a), "net.synq.local_addr=%u.%u.%u.%u", sv->addr >> 24,
		 (sv->addr >> 16) & 255, (sv->addr >> 8) & 255, sv->addr & 255);
	int rc = synq_config_set(&sv->cfg, a);
	if (rc)
		return usage_err("--addr: %s", strerror(-rc));
	return 0;
}

/* ---- engine hooks -------------------------------------------------------------------------- */

static void rnd(void *user, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = getrandom(p, len, 0);
		if (n <= 0) {
			/* getrandom does not fail for small reads once the pool is ready; fall back */
			for (size_t i = 0; i < len; i++)
				p[i] = (uint8_t)(rand() & 255);
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

static void mark(struct serve *sv, int fd)
{
	if (fd < 0 || fd >= sv->n_conns || !sv->conns[fd].used || sv->dirty[fd])
		return;
	sv->dirty[fd] = 1;
	sv->dirty_list[sv->n_dirty++] = fd;
}

static void on_event(void *user, const struct synq_event *ev)
{
	struct serve *sv = user;
	switch (ev->kind) {
	case SYNQ_EV_LOG:
		/* as dmesg shows it (pr_fmt "TCP: ", proto = the request slab name) */
		if (sv->log >= LOG_WARN)
			fprintf(stderr, "TCP: request_sock_TCP: %s\n", ev->reason);
		break;
	case SYNQ_EV_ACCEPTABLE:
		if (ev->fd == sv->lfd) {
			if (sv->jn == sv->jcap) { /* cannot happen (A <= M+1); keep the newest */
				sv->jhead = (sv->jhead + 1) % sv->jcap;
				sv->jn--;
			}
			sv->joins[(sv->jhead + sv->jn) % sv->jcap] = ev->now_ns;
			sv->jn++;
		}
		break;
	case SYNQ_EV_READABLE:
	case SYNQ_EV_WRITABLE:
	case SYNQ_EV_ERROR:
	case SYNQ_EV_CLOSED:
	case SYNQ_EV_STATE:
		mark(sv, ev->fd);
		break;
	case SYNQ_EV_DROP:
	case SYNQ_EV_DECISION:
		if (sv->log >= LOG_DEBUG) {
			char a[16], b[16];
			struct in_addr x = {htonl(ev->raddr)}, y = {htonl(ev->laddr)};
			inet_ntop(AF_INET, &x, a, sizeof(a));
			inet_ntop(AF_INET, &y, b, sizeof(b));
			fprintf(stderr, "synq serve: %s %s:%u > %s:%u: %s%s%s (%s)\n",
				ev->kind == SYNQ_EV_DROP ? "drop" : "decision", a, ev->rport, b,
				ev->lport, ev->code, ev->rule[0] ? " " : "", ev->rule, ev->reason);
		}
		break;
	default:
		break;
	}
}

/* ---- the device ---------------------------------------------------------------------------- */

static void capture(struct serve *sv, uint64_t now, const uint8_t *p, size_t n, int out)
{
	if (sv->log >= LOG_TRACE) {
		char line[512];
		trace_format(line, sizeof(line), p, n);
		fprintf(stderr, "%s %s\n", out ? "out" : "in ", line);
	}
	if (sv->pcap && !sv->pcap_err)
		sv->pcap_err = pcap_write(sv->pcap, now + sv->rt_offset, p, n);
}

static void drain(struct serve *sv, uint64_t now)
{
	for (;;) {
		int n = synq_output(sv->s, sv->pkt, sizeof(sv->pkt), now);
		if (n <= 0)
			break;
		capture(sv, now, sv->pkt, (size_t)n, 1);
		ssize_t w = write(sv->tun, sv->pkt, (size_t)n);
		if (w != n)
			sv->drv[D_TUN_OUT_ERRORS]++;
		else
			sv->drv[D_TUN_OUT]++;
	}
}

static void on_tun(void *user, int fd, uint32_t events)
{
	struct serve *sv = user;
	for (int i = 0; i < TUN_BATCH; i++) {
		ssize_t n = read(fd, sv->pkt, sizeof(sv->pkt));
		if (n <= 0)
			break;
		uint64_t now = loop_now();
		if ((sv->pkt[0] >> 4) != 4) {
			sv->drv[D_TUN_IN_NON_IPV4]++;
			continue;
		}
		sv->drv[D_TUN_IN]++;
		if (sv->delay_ns) {
			if (sv->dn == DELAY_SLOTS || (size_t)n > sv->dslot) {
				sv->drv[D_DELAY_DROPS]++;
				continue;
			}
			size_t slot = (sv->dhead + sv->dn++) % DELAY_SLOTS;
			memcpy(sv->dbuf + slot * sv->dslot, sv->pkt, (size_t)n);
			sv->dlen[slot] = (uint32_t)n;
			sv->ddue[slot] = now + sv->delay_ns;
			continue;
		}
		capture(sv, now, sv->pkt, (size_t)n, 0);
		synq_input(sv->s, sv->pkt, (size_t)n, now);
	}
}

/* --delay: hand synq the packets whose time has come; returns when the next one is due
 * (UINT64_MAX: none held). */
static uint64_t delay_release(struct serve *sv, uint64_t now)
{
	while (sv->dn && sv->ddue[sv->dhead] <= now) {
		size_t i = sv->dhead;
		const uint8_t *p = sv->dbuf + i * sv->dslot;
		capture(sv, now, p, sv->dlen[i], 0);
		synq_input(sv->s, p, sv->dlen[i], now);
		sv->dhead = (sv->dhead + 1) % DELAY_SLOTS;
		sv->dn--;
	}
	return sv->dn ? sv->ddue[sv->dhead] : UINT64_MAX;
}

static void on_signal(void *user, int signo)
{
	struct serve *sv = user;
	logf_(sv, LOG_INFO, "%s: closing the listener", strsignal(signo));
	sv->stop = 1;
}

/* ---- the application ----------------------------------------------------------------------- */

static void conn_close(struct serve *sv, int fd, uint64_t now)
{
	struct conn *c = &sv->conns[fd];
	if (c->has_file)
		close(c->file_fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	synq_close(sv->s, fd, now);
}

static void file_done(struct conn *c)
{
	if (c->has_file)
		close(c->file_fd);
	c->has_file = 0;
	c->file_left = 0;
}

/* Write what is pending, then the rest of the file being served, one CONN_BUF chunk at a time
 * (the next chunk is read only once the send buffer took the last); 1 when everything is out. */
static int conn_flush(struct serve *sv, int fd, uint64_t now)
{
	struct conn *c = &sv->conns[fd];
	for (;;) {
		while (c->out_off < c->out_n) {
			long w = synq_write(sv->s, fd, c->out + c->out_off, c->out_n - c->out_off,
					    now);
			if (w == -EAGAIN)
				return 0;
			if (w < 0) {
				c->out_off = c->out_n = 0;
				file_done(c);
				c->closing = 1;
				return 1;
			}
			c->out_off += (size_t)w;
		}
		c->out_off = c->out_n = 0;
		if (!c->has_file)
			return 1;
		if (!c->file_left) {
			file_done(c);
			return 1;
		}
		size_t want = c->file_left < CONN_BUF ? (size_t)c->file_left : CONN_BUF;
		ssize_t r = read(c->file_fd, c->out, want);
		if (r <= 0) { /* shrank or failed under us: the length promised cannot be kept */
			file_done(c);
			c->closing = 1;
			return 1;
		}
		c->out_n = (size_t)r;
		c->file_left -= (uint64_t)r;
	}
}

static const char http_body[] = "<!doctype html>\n<title>synq</title>\n"
				"<p>Hello from synq, a user-space TCP listener behind a TUN device.\n";

static int has_token(const char *req, const char *hdr, const char *tok)
{
	size_t hl = strlen(hdr);
	for (const char *l = strstr(req, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
		const char *h = l + 2;
		if (!strncasecmp(h, hdr, hl) && h[hl] == ':') {
			const char *e = strstr(h, "\r\n");
			size_t n = e ? (size_t)(e - h) : strlen(h);
			char v[256];
			snprintf(v, sizeof(v), "%.*s", (int)(n < 255 ? n : 255), h);
			for (char *p = v; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p - 'A' + 'a');
			return strstr(v + hl + 1, tok) != NULL;
		}
	}
	return 0;
}

static const char *mime_type(const char *path)
{
	static const char *const map[][2] = {
	    {"html", "text/html"},	{"htm", "text/html"},	    {"txt", "text/plain"},
	    {"css", "text/css"},	{"js", "text/javascript"}, {"json", "application/json"},
	    {"png", "image/png"},	{"svg", "image/svg+xml"},
	};
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash : path, '.');
	if (dot)
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (!strcasecmp(dot + 1, map[i][0]))
				return map[i][1];
	return "application/octet-stream";
}

static int hexval(char ch)
{
	return ch >= '0' && ch <= '9'	? ch - '0'
	       : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
	       : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
					: -1;
}

/* realpath(path), kept only when it lies under root (itself realpath'd): 0, 403 or 404. */
static int resolve_under(const char *root, const char *path, char **out)
{
	*out = NULL;
	char *real = realpath(path, NULL);
	if (!real)
		return errno == EACCES ? 403 : 404;
	size_t rl = strlen(root);
	if (!(rl == 1 || (!strncmp(real, root, rl) && (real[rl] == 0 || real[rl] == '/')))) {
		free(real);
		return 403; /* a symlink that leads out of the root */
	}
	*out = real;
	return 0;
}

/* --root: the request target target[0..tlen) as a regular file under sv->root, opened:
 * 200 (*fd, *size, *type), 403 (a ".." segment, an escape, not readable) or 404. */
static int root_open(const struct serve *sv, const char *target, size_t tlen, int *fd,
		     uint64_t *size, const char **type)
{
	char path[PATH_MAX];
	size_t rl = strlen(sv->root), n = rl;
	if (!tlen || target[0] != '/' || rl + tlen + 1 >= sizeof(path))
		return 404;
	memcpy(path, sv->root, rl);
	for (size_t i = 0; i < tlen; i++) {
		int ch = (unsigned char)target[i];
		if (ch == '?' || ch == '#')
			break;
		if (ch == '%') {
			int hi = i + 2 < tlen ? hexval(target[i + 1]) : -1;
			int lo = hi >= 0 ? hexval(target[i + 2]) : -1;
			if (lo < 0 || (hi == 0 && lo == 0))
				return 404;
			ch = hi * 16 + lo;
			i += 2;
		}
		path[n++] = (char)ch;
	}
	path[n] = 0;
	for (const char *p = path + rl; (p = strstr(p, "/..")); p += 3)
		if (p[3] == 0 || p[3] == '/')
			return 403;
	char *real;
	int st = resolve_under(sv->root, path, &real);
	if (st)
		return st;
	struct stat sb;
	if (!stat(real, &sb) && S_ISDIR(sb.st_mode)) { /* "/" and directories: index.html */
		if (strlen(real) + sizeof("/index.html") > sizeof(path)) {
			free(real);
			return 404;
		}
		snprintf(path, sizeof(path), "%s/index.html", real);
		free(real);
		if ((st = resolve_under(sv->root, path, &real)))
			return st;
	}
	int f = open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (f < 0) {
		st = errno == EACCES ? 403 : 404;
		free(real);
		return st;
	}
	if (fstat(f, &sb) || !S_ISREG(sb.st_mode)) {
		close(f);
		free(real);
		return 404;
	}
	*type = mime_type(real);
	free(real);
	*fd = f;
	*size = (uint64_t)sb.st_size;
	return 200;
}

/* One complete request in c->in[0..end): answer it into c->out (and c->file_fd). */
static void http_answer(const struct serve *sv, struct conn *c, size_t end)
{
	char req[CONN_BUF + 1];
	memcpy(req, c->in, end);
	req[end] = 0;
	int v10 = strstr(req, " HTTP/1.0\r\n") != NULL;
	int close_after = v10 ? !has_token(req, "connection", "keep-alive")
			      : has_token(req, "connection", "close");
	int head = !strncmp(req, "HEAD ", 5);
	int get = !strncmp(req, "GET ", 4) || head;
	const char *status = get ? "200 OK" : "405 Method Not Allowed";
	const char *body = get ? http_body : "method not allowed\n";
	const char *type = get ? "text/html" : "text/plain";
	uint64_t len = strlen(body);
	int file = -1;
	if (get && sv->root) {
		const char *t = req + (head ? 5 : 4);
		size_t tl = strcspn(t, " \r\n");
		int code = root_open(sv, t, tl, &file, &len, &type);
		if (code == 200) {
			body = "";
		} else {
			status = code == 403 ? "403 Forbidden" : "404 Not Found";
			body = code == 403 ? "forbidden\n" : "not found\n";
			type = "text/plain";
			len = strlen(body);
		}
	}
	int n = snprintf(c->out, CONN_BUF,
			 "HTTP/1.1 %s\r\nServer: synq/%s\r\nContent-Type: %s\r\n"
			 "Content-Length: %" PRIu64 "\r\n%s\r\n%s",
			 status, SYNQ_VERSION, type, len,
			 close_after || !get ? "Connection: close\r\n" : "", head ? "" : body);
	c->out_n = n > 0 && n < CONN_BUF ? (size_t)n : 0;
	c->out_off = 0;
	if (file >= 0 && (head || !c->out_n)) {
		close(file);
		file = -1;
	}
	if (file >= 0) {
		c->has_file = 1;
		c->file_fd = file;
		c->file_left = len;
	}
	if (close_after || !get)
		c->closing = 1;
}

static void serve_conn(struct serve *sv, int fd, uint64_t now)
{
	struct conn *c = &sv->conns[fd];
	if (!c->used)
		return;
	int ev = synq_poll(sv->s, fd);
	if (ev < 0) {
		conn_close(sv, fd, now);
		return;
	}
	if (sv->app == APP_HOLD) {
		if (ev & (SYNQ_POLLERR | SYNQ_POLLHUP))
			conn_close(sv, fd, now);
		return;
	}
	for (int guard = 0; guard < 64; guard++) {
		if (!conn_flush(sv, fd, now))
			return; /* wait for WRITABLE */
		if (c->closing) {
			conn_close(sv, fd, now);
			return;
		}
		long r;
		if (sv->app == APP_HTTP) {
			if (c->in_n >= CONN_BUF) { /* request head too large */
				c->closing = 1;
				continue;
			}
			r = synq_read(sv->s, fd, c->in + c->in_n, CONN_BUF - c->in_n, now);
		} else {
			r = synq_read(sv->s, fd, c->out, CONN_BUF, now);
		}
		if (r == -EAGAIN)
			return;
		if (r <= 0) { /* EOF or error: done */
			conn_close(sv, fd, now);
			return;
		}
		if (sv->app == APP_ECHO) {
			c->out_n = (size_t)r;
			c->out_off = 0;
		} else if (sv->app == APP_HTTP) {
			c->in_n += (size_t)r;
			for (;;) {
				char *e = NULL;
				for (size_t i = 0; i + 4 <= c->in_n; i++)
					if (!memcmp(c->in + i, "\r\n\r\n", 4)) {
						e = c->in + i;
						break;
					}
				if (!e || c->out_n)
					break;
				size_t end = (size_t)(e - c->in) + 4;
				http_answer(sv, c, end);
				memmove(c->in, c->in + end, c->in_n - end);
				c->in_n -= end;
			}
		}
	}
	mark(sv, fd); /* more to do: come back on the next pass */
}

static int accept_one(struct serve *sv, uint64_t now)
{
	int fd = synq_accept(sv->s, sv->lfd, NULL);
	if (fd < 0)
		return 0;
	if (sv->jn) {
		sv->jhead = (sv->jhead + 1) % sv->jcap;
		sv->jn--;
	}
	sv->drv[D_APP_ACCEPTED]++;
	if (fd >= sv->n_conns) {
		synq_close(sv->s, fd, now);
		return 1;
	}
	struct conn *c = &sv->conns[fd];
	memset(c, 0, sizeof(*c));
	c->in = sv->app == APP_HTTP ? malloc(CONN_BUF) : NULL;
	c->out = sv->app == APP_HOLD ? NULL : malloc(CONN_BUF);
	if ((sv->app == APP_HTTP && !c->in) || (sv->app != APP_HOLD && !c->out)) {
		free(c->in);
		free(c->out);
		memset(c, 0, sizeof(*c));
		synq_close(sv->s, fd, now);
		return 1;
	}
	c->used = 1;
	if (sv->log >= LOG_DEBUG) {
		struct synq_sock_info si;
		if (!synq_sock_info(sv->s, fd, &si))
			logf_(sv, LOG_DEBUG, "accepted fd %d from %u.%u.%u.%u:%u", fd,
			      si.remote.ip >> 24, (si.remote.ip >> 16) & 255, (si.remote.ip >> 8) & 255,
			      si.remote.ip & 255, si.remote.port);
	}
	mark(sv, fd);
	return 1;
}

/* Accept as the policy allows; returns when the policy next wants to run (UINT64_MAX: only
 * when a child arrives). */
static uint64_t accept_pass(struct serve *sv, uint64_t now)
{
	if (sv->lfd < 0 || sv->paused || sv->pol.kind == ACC_NEVER)
		return UINT64_MAX;
	for (int guard = 0; guard < 4096; guard++) {
		if (!(synq_poll(sv->s, sv->lfd) & SYNQ_POLLIN))
			return UINT64_MAX;
		if (sv->pol.kind == ACC_DELAY) {
			if (sv->jn) {
				uint64_t due = sv->joins[sv->jhead] + sv->pol.arg;
				if (now < due)
					return due;
			}
		} else if (sv->pol.kind == ACC_RATE) {
			if (now < sv->next_ok)
				return sv->next_ok;
			if (sv->next_ok + sv->pol.arg < now)
				sv->next_ok = now;
			sv->next_ok += sv->pol.arg;
		}
		if (!accept_one(sv, now))
			return UINT64_MAX;
	}
	return now; /* more waiting: come back at once */
}

static uint64_t app_pass(struct serve *sv, uint64_t now)
{
	uint64_t next = accept_pass(sv, now);
	/* serve what the events marked; a connection served may mark itself again */
	int n = sv->n_dirty;
	memcpy(sv->work, sv->dirty_list, (size_t)n * sizeof(int));
	for (int i = 0; i < n; i++)
		sv->dirty[sv->work[i]] = 0;
	sv->n_dirty = 0;
	for (int i = 0; i < n; i++)
		serve_conn(sv, sv->work[i], now);
	return sv->n_dirty ? now : next;
}

/* ---- control socket ------------------------------------------------------------------------ */

static void ipstr(uint32_t ip, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

static uint64_t all_counter(struct serve *sv, int i)
{
	return i < SYNQ_COUNTER_COUNT ? synq_counter(sv->s, i) : sv->drv[i - SYNQ_COUNTER_COUNT];
}

static const char *all_name(int i)
{
	return i < SYNQ_COUNTER_COUNT ? synq_counter_name(i) : drv_names[i - SYNQ_COUNTER_COUNT];
}

static int64_t ms_until(uint64_t t, uint64_t now)
{
	if (!t || t == UINT64_MAX)
		return -1;
	return t <= now ? 0 : (int64_t)((t - now + 999999) / 1000000);
}

static void ctl_ss(struct serve *sv, FILE *out)
{
	uint64_t now = loop_now();
	char l[16], r[16];
	for (int fd = synq_sock_next(sv->s, -1); fd >= 0; fd = synq_sock_next(sv->s, fd)) {
		struct synq_sock_info si;
		if (synq_sock_info(sv->s, fd, &si))
			continue;
		ipstr(si.local.ip, l);
		ipstr(si.remote.ip, r);
		fprintf(out,
			"sock fd=%d state=%s local=%s:%u remote=%s:%u recvq=%u sendq=%u synq=%u "
			"young=%u overflows=%" PRIu64 " drops=%" PRIu64 " orphan=%d timer_ms=%" PRId64
			" retrans=%u\n",
			fd, synq_state_name(si.state), l, si.local.port, r, si.remote.port, si.recvq,
			si.sendq, si.synq_len, si.young, si.overflows, si.drops, si.orphan,
			ms_until(si.timer_ns, now), si.retransmits);
		if (si.state != SYNQ_TCP_LISTEN)
			continue;
		int n = synq_requests(sv->s, fd, sv->reqs, sv->reqs_cap);
		for (int i = 0; i < n && (size_t)i < sv->reqs_cap; i++) {
			const struct synq_req_info *q = &sv->reqs[i];
			ipstr(q->local.ip, l);
			ipstr(q->remote.ip, r);
			fprintf(out,
				"req fd=%d state=SYN-RECV local=%s:%u remote=%s:%u timeouts=%u "
				"retrans=%u acked=%d expires_ms=%" PRId64 "\n",
				fd, l, q->local.port, r, q->remote.port, q->num_timeout, q->num_retrans,
				q->acked, ms_until(q->expires_ns, now));
		}
	}
}

static int ctl_handler(void *user, const char *line, FILE *out)
{
	struct serve *sv = user;
	char cmd[CTL_LINE_MAX];
	snprintf(cmd, sizeof(cmd), "%s", line);
	char *save = NULL;
	char *w = strtok_r(cmd, " \t", &save);
	if (!w) {
		fprintf(out, "empty request (try: help)");
		return -1;
	}
	if (!strcmp(w, "help")) {
		fprintf(out, "ss\nnstat [noupdate] [reset]\naccept pause|resume|always|never|"
			     "delay:MS|rate:N/s\nset NAME=VALUE\ninfo\nhelp\n");
		return 0;
	}
	if (!strcmp(w, "ss")) {
		ctl_ss(sv, out);
		return 0;
	}
	if (!strcmp(w, "nstat")) {
		int noupdate = 0, reset = 0;
		while ((w = strtok_r(NULL, " \t", &save))) {
			if (!strcmp(w, "noupdate"))
				noupdate = 1;
			else if (!strcmp(w, "reset"))
				reset = 1;
			else {
				fprintf(out, "nstat: unknown argument '%s'", w);
				return -1;
			}
		}
		if (reset)
			memset(sv->hist, 0, sizeof(sv->hist));
		for (int i = 0; i < N_ALL; i++) {
			uint64_t v = all_counter(sv, i);
			fprintf(out, "%s %" PRIu64 " %" PRIu64 "\n", all_name(i), v, v - sv->hist[i]);
			if (!noupdate)
				sv->hist[i] = v;
		}
		return 0;
	}
	if (!strcmp(w, "accept")) {
		w = strtok_r(NULL, " \t", &save);
		if (!w || strtok_r(NULL, " \t", &save)) {
			fprintf(out, "usage: accept pause|resume|always|never|delay:MS|rate:N/s");
			return -1;
		}
		struct policy p;
		if (!strcmp(w, "pause")) {
			sv->paused = 1;
		} else if (!strcmp(w, "resume")) {
			sv->paused = 0;
		} else if (!parse_policy(w, &p)) {
			sv->pol = p;
			sv->paused = 0;
			sv->next_ok = 0;
		} else {
			fprintf(out, "accept %s: pause, resume, always, never, delay:MS or rate:N/s", w);
			return -1;
		}
		char b[64];
		policy_str(&sv->pol, sv->paused, b, sizeof(b));
		fprintf(out, "accept %s\n", b);
		logf_(sv, LOG_INFO, "accept policy: %s", b);
		return 0;
	}
	if (!strcmp(w, "set")) {
		w = strtok_r(NULL, "", &save);
		int rc = w ? synq_stack_set(sv->s, w) : -EINVAL;
		if (rc) {
			fprintf(out, "set %s: %s", w ? w : "", rc == -ENOENT ? "unknown sysctl"
							     : rc == -EPERM ? "cannot change while running"
									    : strerror(-rc));
			return -1;
		}
		fprintf(out, "%s\n", w);
		return 0;
	}
	if (!strcmp(w, "info")) {
		char a[16], h[16], b[64];
		ipstr(sv->addr, a);
		ipstr(sv->host_addr, h);
		policy_str(&sv->pol, sv->paused, b, sizeof(b));
		static const char *const apps[] = {"echo", "discard", "http", "hold"};
		fprintf(out,
			"tun %s\naddr %s/%d\nhost_addr %s\nlisten %s:%u\nbacklog %d\napp %s\naccept %s\n"
			"pid %ld\nuptime_ms %" PRIu64 "\nversion %s\n",
			sv->tun_name, a, sv->prefix, h, sv->listen.ip ? a : "0.0.0.0", sv->listen.port,
			sv->backlog, apps[sv->app], b, (long)getpid(),
			(uint64_t)((loop_now() - sv->start_ns) / 1000000u), SYNQ_VERSION);
		return 0;
	}
	fprintf(out, "unknown request '%s' (try: help)", w);
	return -1;
}

/* ---- main ---------------------------------------------------------------------------------- */

static void teardown(struct serve *sv)
{
	ctl_server_free(sv->ctl);
	if (sv->pcap) {
		int rc = pcap_close(sv->pcap);
		if (!sv->pcap_err)
			sv->pcap_err = rc;
		if (sv->pcap_err)
			fprintf(stderr, "synq serve: writing %s: %s\n", sv->pcap_path,
				strerror(-sv->pcap_err));
	}
	if (sv->tun >= 0)
		tun_close(sv->tun);
	loop_free(sv->loop);
	if (sv->conns)
		for (int i = 0; i < sv->n_conns; i++) {
			free(sv->conns[i].in);
			free(sv->conns[i].out);
			if (sv->conns[i].has_file)
				close(sv->conns[i].file_fd);
		}
	free(sv->conns);
	free(sv->dirty);
	free(sv->dirty_list);
	free(sv->work);
	free(sv->joins);
	free(sv->reqs);
	free(sv->dbuf);
	free(sv->dlen);
	free(sv->ddue);
	synq_stack_free(sv->s);
	free(sv->root);
}

static int setup(struct serve *sv, char *err, size_t cap)
{
	char a[16], h[16];
	ipstr(sv->addr, a);
	ipstr(sv->host_addr, h);
	int rc = tun_addr_is_local(sv->addr);
	if (rc == 1) {
		snprintf(err, cap,
			 "%s is already an address of this host (ip -4 addr): the kernel would answer "
			 "for it itself; choose another --addr",
			 a);
		return 1;
	}
	uint32_t mask = sv->prefix >= 32 ? 0xffffffffu
			: sv->prefix <= 0  ? 0
					   : ~((1u << (32 - sv->prefix)) - 1u);
	int in_prefix = (sv->host_addr & mask) == (sv->addr & mask);
	struct tun_params tp = {
	    .name = sv->tun_name,
	    .mtu = (int)sv->cfg.mtu,
	    .host_addr = sv->host_addr,
	    .host_prefix = in_prefix ? sv->prefix : 32,
	    .route_addr = sv->addr,
	    .route_prefix = sv->prefix,
	};
	sv->tun = tun_open(&tp, err, cap);
	if (sv->tun < 0) {
		rc = -sv->tun;
		sv->tun = -1;
		return rc == EPERM || rc == EACCES || rc == ENOENT ? EXIT_NOPERM : 1;
	}
	sv->cfg.on_event = on_event;
	sv->cfg.event_user = sv;
	sv->cfg.rand = rnd;
	sv->cfg.rand_user = sv;
	sv->start_ns = loop_now();
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	sv->rt_offset = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec - sv->start_ns;
	rc = synq_stack_new(&sv->cfg, sv->start_ns, &sv->s);
	if (rc) {
		snprintf(err, cap, "cannot create the stack: %s", strerror(-rc));
		return 1;
	}
	sv->n_conns = (int)sv->cfg.max_sockets;
	sv->conns = calloc((size_t)sv->n_conns, sizeof(*sv->conns));
	sv->dirty = calloc((size_t)sv->n_conns, 1);
	sv->dirty_list = calloc((size_t)sv->n_conns, sizeof(int));
	sv->work = calloc((size_t)sv->n_conns, sizeof(int));
	int64_t m = sv->backlog < 0 || (int64_t)(unsigned)sv->backlog > sv->cfg.somaxconn
			? sv->cfg.somaxconn
			: sv->backlog;
	sv->jcap = (size_t)m + 2;
	sv->joins = calloc(sv->jcap, sizeof(uint64_t));
	sv->reqs_cap = (size_t)(sv->cfg.max_requests < 65536 ? sv->cfg.max_requests : 65536);
	sv->reqs = calloc(sv->reqs_cap ? sv->reqs_cap : 1, sizeof(*sv->reqs));
	if (sv->delay_ns) {
		sv->dslot = sv->cfg.mtu; /* the device's MTU: no packet read from it is longer */
		sv->dbuf = malloc(DELAY_SLOTS * sv->dslot);
		sv->dlen = calloc(DELAY_SLOTS, sizeof(*sv->dlen));
		sv->ddue = calloc(DELAY_SLOTS, sizeof(*sv->ddue));
		if (!sv->dbuf || !sv->dlen || !sv->ddue) {
			snprintf(err, cap, "out of memory");
			return 1;
		}
	}
	if (!sv->conns || !sv->dirty || !sv->dirty_list || !sv->work || !sv->joins || !sv->reqs) {
		snprintf(err, cap, "out of memory");
		return 1;
	}
	sv->lfd = synq_socket(sv->s);
	int one = 1;
	synq_setsockopt(sv->s, sv->lfd, SYNQ_SOL_SOCKET, SYNQ_SO_REUSEADDR, &one, sizeof(one));
	rc = synq_bind(sv->s, sv->lfd, &sv->listen);
	if (!rc)
		rc = synq_listen(sv->s, sv->lfd, sv->backlog);
	if (rc) {
		snprintf(err, cap, "cannot listen on %s:%u: %s", sv->listen.ip ? a : "0.0.0.0",
			 sv->listen.port, strerror(-rc));
		return 1;
	}
	sv->loop = loop_new(&rc);
	if (!sv->loop) {
		snprintf(err, cap, "epoll: %s", strerror(-rc));
		return 1;
	}
	static const int sigs[] = {SIGINT, SIGTERM};
	rc = loop_signals(sv->loop, sigs, 2, on_signal, sv);
	if (!rc)
		rc = loop_add(sv->loop, sv->tun, EPOLLIN, on_tun, sv);
	if (rc) {
		snprintf(err, cap, "epoll: %s", strerror(-rc));
		return 1;
	}
	static char defpath[256];
	if (!sv->ctl_path) {
		snprintf(defpath, sizeof(defpath), "%s/%s.sock", CTL_DIR, sv->tun_name);
		sv->ctl_path = defpath;
	}
	sv->ctl = ctl_server_new(sv->loop, sv->ctl_path, ctl_handler, sv, &rc, err, cap);
	if (!sv->ctl)
		return 1;
	if (sv->pcap_path) {
		sv->pcap = pcap_open(sv->pcap_path, 0, &rc);
		if (!sv->pcap) {
			snprintf(err, cap, "cannot write %s: %s", sv->pcap_path, strerror(-rc));
			return 1;
		}
	}
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	struct serve *sv = calloc(1, sizeof(*sv));
	if (!sv) {
		fprintf(stderr, "synq serve: out of memory\n");
		return 1;
	}
	sv->tun = -1;
	sv->lfd = -1;
	int rc = parse_args(sv, argc, argv);
	if (rc) {
		free(sv->root);
		free(sv);
		return rc == 1 ? 0 : EXIT_USAGE;
	}
	char err[512] = "";
	rc = setup(sv, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "synq serve: %s\n", err);
		teardown(sv);
		free(sv);
		return rc;
	}
	char a[16], h[16], b[64];
	ipstr(sv->addr, a);
	ipstr(sv->host_addr, h);
	policy_str(&sv->pol, 0, b, sizeof(b));
	struct synq_sock_info li;
	synq_sock_info(sv->s, sv->lfd, &li);
	static const char *const apps[] = {"echo", "discard", "http", "hold"};
	printf("tun %s: synq %s/%d, kernel side %s\n", sv->tun_name, a, sv->prefix, h);
	printf("listening on %s:%u (backlog %u, app %s, accept %s)\n",
	       sv->listen.ip ? a : "0.0.0.0", sv->listen.port, li.sendq, apps[sv->app], b);
	printf("control socket %s\n", sv->ctl_path);
	fflush(stdout);

	int status = 0;
	while (!sv->stop) {
		uint64_t now = loop_now();
		uint64_t held = delay_release(sv, now);
		if (synq_next_deadline(sv->s) <= now)
			synq_on_timeout(sv->s, now);
		uint64_t next = app_pass(sv, now);
		drain(sv, now);
		uint64_t d = synq_next_deadline(sv->s);
		if (next < d)
			d = next;
		if (held < d)
			d = held;
		loop_set_deadline(sv->loop, d);
		rc = loop_run_once(sv->loop, -1);
		if (rc < 0) {
			fprintf(stderr, "synq serve: epoll: %s\n", strerror(-rc));
			status = 1;
			break;
		}
	}
	/* as the kernel at exit: the listener first (B43), then the connections */
	uint64_t now = loop_now();
	synq_close(sv->s, sv->lfd, now);
	sv->lfd = -1;
	for (int fd = 0; fd < sv->n_conns; fd++)
		if (sv->conns[fd].used)
			conn_close(sv, fd, now);
	drain(sv, now);
	teardown(sv);
	if (sv->pcap_err)
		status = 1;
	free(sv);
	return status;
}
