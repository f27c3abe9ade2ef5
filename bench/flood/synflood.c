/*
 * synflood.c — a bounded spoofed-SYN generator, and the kernel listener the flood benchmark
 * compares synq with. Needs root (raw and packet sockets). Used by bench/flood/bench_flood.sh.
 *
 *   synflood flood --dst A.B.C.D --dport N [--src A.B.C.D/NN] [--count N] [--seconds S]
 *                  [--batch N] [--count-dev IFNAME] [--linger-ms MS] [--cpu-stat N]
 *                  [--server-pid PID] [--tx-dev IFNAME [--dst-mac MAC]]
 *       Sends at most --count SYNs (default 1000000, at most 10^7) for at most --seconds
 *       (default 3, at most 60) in sendmmsg() batches of --batch (default 64), as fast as it
 *       can: through a raw IPv4 socket (IP_HDRINCL), or with --tx-dev straight to that
 *       device's transmit function through an AF_PACKET socket (SOCK_DGRAM, PACKET_QDISC_BYPASS;
 *       --dst-mac for an Ethernet device: the next hop's MAC), which skips the kernel's IP
 *       output path and is several times faster. Every SYN comes from a distinct spoofed source (address
 *       from --src, default 198.18.0.0/15, the benchmarking range; random port; random ISN) and
 *       carries a Linux client's options (MSS 1460, SACK_PERM, TS, NOP, WS 7), so the server's
 *       cookie encodes the options in its TSval.
 *       --count-dev IFNAME: an AF_PACKET socket on that device counts the SYN-ACKs that come
 *       back from --dst (a classic BPF filter accepts IPv4 TCP with SYN and ACK from --dst
 *       only; the count is PACKET_STATISTICS' tp_packets, so packets dropped by the socket's
 *       small receive buffer are counted too and nothing has to be read).
 *       The measured window runs from just before the first SYN to --linger-ms (default 300)
 *       after the last one. --cpu-stat N: the busy time of CPU N over the window, from
 *       /proc/stat (user+nice+system+irq+softirq+steal). --server-pid PID: utime+stime of
 *       that process over the window, from /proc/PID/stat.
 *       Prints one line: sent=N send_errors=N seconds=X synacks=N cpu_busy_s=X server_cpu_s=X
 *
 *   synflood listen --addr A.B.C.D --port N --backlog N [--seconds S] [--ready FILE]
 *       A kernel TCP listener that never accepts: socket(), bind(), listen(backlog), creates
 *       FILE, then sleeps until SIGTERM/SIGINT or --seconds (default 120) pass. Exit 0.
 *
 * Exit status 0, 1 on errors (one line on stderr), 2 on bad usage.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH 256
#define PKT_LEN 60 /* IPv4 20 + TCP 20 + options 20 */

static int usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "synflood: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (synflood flood --dst IP --dport N ... | synflood listen --addr IP "
			"--port N --backlog N ...)\n");
	return 2;
}

static int die(const char *what)
{
	fprintf(stderr, "synflood: %s: %s\n", what, strerror(errno));
	return 1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* One SYN from saddr:sport to daddr:dport (host byte order). */
static void build_syn(uint8_t *p, uint32_t saddr, uint16_t sport, uint32_t daddr, uint16_t dport,
		      uint32_t isn, uint32_t tsval)
{
	memset(p, 0, PKT_LEN);
	p[0] = 0x45;
	put16(p + 2, PKT_LEN);
	put16(p + 4, (uint16_t)rnd());
	put16(p + 6, 0x4000); /* DF */
	p[8] = 64;
	p[9] = 6;
	put32(p + 12, saddr);
	put32(p + 16, daddr);
	put16(p + 10, csum_fold(csum_add(0, p, 20)));
	uint8_t *t = p + 20;
	put16(t, sport);
	put16(t + 2, dport);
	put32(t + 4, isn);
	t[12] = (40 / 4) << 4;
	t[13] = 0x02; /* SYN */
	put16(t + 14, 64240);
	uint8_t *o = t + 20; /* Linux's order: MSS, SACK_PERM, TS, NOP, WS */
	o[0] = 2, o[1] = 4, put16(o + 2, 1460);
	o[4] = 4, o[5] = 2;
	o[6] = 8, o[7] = 10, put32(o + 8, tsval), put32(o + 12, 0);
	o[16] = 1;
	o[17] = 3, o[18] = 3, o[19] = 7;
	uint8_t ph[12];
	put32(ph, saddr);
	put32(ph + 4, daddr);
	ph[8] = 0, ph[9] = 6;
	put16(ph + 10, 40);
	put16(t + 16, csum_fold(csum_add(csum_add(0, ph, 12), t, 40)));
}

static int parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

static int parse_num(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Busy jiffies (USER_HZ) of cpuN in /proc/stat; -1 if not found. */
static long long cpu_busy(int cpu)
{
	FILE *f = fopen("/proc/stat", "r");
	if (!f)
		return -1;
	char line[512], want[32];
	snprintf(want, sizeof(want), "cpu%d ", cpu);
	long long busy = -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, want, strlen(want)))
			continue;
		long long v[8] = {0};
		/* user nice system idle iowait irq softirq steal */
		if (sscanf(line + strlen(want), "%lld %lld %lld %lld %lld %lld %lld %lld", &v[0],
			   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) >= 7)
			busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
		break;
	}
	fclose(f);
	return busy;
}

/* utime+stime (USER_HZ) of pid; -1 on error. */
static long long proc_cpu(long pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')'); /* comm may hold spaces */
	if (!p)
		return -1;
	unsigned long long ut, st;
	/* after ") ": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
	 * utime stime */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

/* AF_PACKET counter of SYN-ACKs from src on device ifname. */
static int synack_counter(const char *ifname, uint32_t src)
{
	unsigned idx = if_nametoindex(ifname);
	if (!idx) {
		fprintf(stderr, "synflood: --count-dev %s: no such device\n", ifname);
		return -1;
	}
	int fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
	if (fd < 0) {
		die("socket(AF_PACKET)");
		return -1;
	}
	/* the filter sees the IPv4 header at offset 0 (SOCK_DGRAM, incoming packets) */
	struct sock_filter code[] = {
	    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),                 /* protocol */
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 6, 0, 7),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 12),                /* saddr */
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, src, 0, 5),
	    BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),                /* X = IHL * 4 */
	    BPF_STMT(BPF_LD | BPF_B | BPF_IND, 13),                /* TCP flags */
	    BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x12, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, 64),
	    BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0) {
		die("SO_ATTACH_FILTER");
		close(fd);
		return -1;
	}
	int small = 4096; /* nothing is read: packets over this are dropped, and still counted */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				 .sll_ifindex = (int)idx};
	if (bind(fd, (struct sockaddr *)&ll, sizeof(ll)) < 0) {
		die("bind(AF_PACKET)");
		close(fd);
		return -1;
	}
	/* forget anything counted before the filter was attached */
	struct tpacket_stats st;
	socklen_t sl = sizeof(st);
	getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl);
	return fd;
}

static int cmd_flood(int argc, char **argv)
{
	uint32_t dst = 0, src = 0xc6120000u; /* 198.18.0.0 */
	int src_bits = 15, have_dst = 0;
	long long dport = -1, count = 1000000, seconds = 3, batch = 64, linger = 300, cpu = -1,
		  spid = -1;
	const char *dev = NULL, *txdev = NULL, *mac = NULL;
	for (int i = 0; i < argc; i += 2) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return usage("%s needs a value", o);
		if (!strcmp(o, "--dst")) {
			if (parse_ip(v, &dst))
				return usage("--dst %s: want A.B.C.D", v);
			have_dst = 1;
		} else if (!strcmp(o, "--dport")) {
			if (parse_num(v, 1, 65535, &dport))
				return usage("--dport %s: 1..65535", v);
		} else if (!strcmp(o, "--src")) {
			char ip[32];
			long long b;
			const char *sl = strchr(v, '/');
			if (!sl || (size_t)(sl - v) >= sizeof(ip))
				return usage("--src %s: want A.B.C.D/NN", v);
			memcpy(ip, v, (size_t)(sl - v));
			ip[sl - v] = 0;
			if (parse_ip(ip, &src) || parse_num(sl + 1, 8, 32, &b))
				return usage("--src %s: want A.B.C.D/NN (NN 8..32)", v);
			src_bits = (int)b;
		} else if (!strcmp(o, "--count")) {
			if (parse_num(v, 1, 10000000, &count))
				return usage("--count %s: 1..10000000", v);
		} else if (!strcmp(o, "--seconds")) {
			if (parse_num(v, 1, 60, &seconds))
				return usage("--seconds %s: 1..60", v);
		} else if (!strcmp(o, "--batch")) {
			if (parse_num(v, 1, MAX_BATCH, &batch))
				return usage("--batch %s: 1..256", v);
		} else if (!strcmp(o, "--linger-ms")) {
			if (parse_num(v, 0, 10000, &linger))
				return usage("--linger-ms %s: 0..10000", v);
		} else if (!strcmp(o, "--cpu-stat")) {
			if (parse_num(v, 0, 4095, &cpu))
				return usage("--cpu-stat %s: a CPU number", v);
		} else if (!strcmp(o, "--server-pid")) {
			if (parse_num(v, 1, 1LL << 30, &spid))
				return usage("--server-pid %s: a pid", v);
		} else if (!strcmp(o, "--count-dev")) {
			dev = v;
		} else if (!strcmp(o, "--tx-dev")) {
			txdev = v;
		} else if (!strcmp(o, "--dst-mac")) {
			mac = v;
		} else {
			return usage("unknown option %s", o);
		}
	}
	if (!have_dst || dport < 0)
		return usage("%s", "--dst and --dport are required");
	src &= src_bits == 32 ? 0xffffffffu : ~(0xffffffffu >> src_bits);
	uint32_t nsrc = src_bits == 32 ? 1u : 1u << (32 - src_bits);

	int fd;
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(dst)};
	struct sockaddr_ll tll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP)};
	void *name = &to;
	socklen_t namelen = sizeof(to);
	if (txdev) {
		/* protocol 0: this socket receives nothing; the kernel's IP output is bypassed, and
		 * the qdisc too (PACKET_QDISC_BYPASS): the device's xmit gets the packet */
		tll.sll_ifindex = (int)if_nametoindex(txdev);
		if (!tll.sll_ifindex)
			return usage("--tx-dev %s: no such device", txdev);
		if (mac) {
			unsigned m[6];
			if (sscanf(mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4],
				   &m[5]) != 6)
				return usage("--dst-mac %s: want xx:xx:xx:xx:xx:xx", mac);
			for (int k = 0; k < 6; k++)
				tll.sll_addr[k] = (unsigned char)m[k];
			tll.sll_halen = 6;
		}
		fd = socket(AF_PACKET, SOCK_DGRAM, 0);
		if (fd < 0)
			return die("socket(AF_PACKET)");
		int one = 1;
		setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
		name = &tll;
		namelen = sizeof(tll);
	} else {
		fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
		if (fd < 0)
			return die("socket(SOCK_RAW)");
	}
	int cfd = -1;
	if (dev && (cfd = synack_counter(dev, dst)) < 0)
		return 1;
	rng_state ^= (uint64_t)getpid() << 17 ^ mono_ns();

	static uint8_t pkts[MAX_BATCH][PKT_LEN];
	static struct iovec iov[MAX_BATCH];
	static struct mmsghdr msgs[MAX_BATCH];
	for (int k = 0; k < batch; k++) {
		iov[k].iov_base = pkts[k];
		iov[k].iov_len = PKT_LEN;
		msgs[k].msg_hdr.msg_name = name;
		msgs[k].msg_hdr.msg_namelen = namelen;
		msgs[k].msg_hdr.msg_iov = &iov[k];
		msgs[k].msg_hdr.msg_iovlen = 1;
	}

	long long busy0 = cpu >= 0 ? cpu_busy((int)cpu) : 0;
	long long pcpu0 = spid > 0 ? proc_cpu(spid) : 0;
	uint64_t t0 = mono_ns(), deadline = t0 + (uint64_t)seconds * 1000000000ull;
	long long sent = 0, errs = 0;
	uint32_t seq = (uint32_t)rnd();
	while (sent < count) {
		int n = (int)(count - sent < batch ? count - sent : batch);
		for (int k = 0; k < n; k++) {
			uint64_t r = rnd();
			/* distinct sources: a stride through the prefix (odd, so every address is
			 * used once before any repeats), random ports */
			uint32_t host = (seq++ * 2654435761u) & (nsrc - 1);
			if (nsrc > 2 && (host == 0 || host == nsrc - 1))
				host = 1;
			build_syn(pkts[k], src | host, (uint16_t)(1024 + (r >> 16) % 64000), dst,
				  (uint16_t)dport, (uint32_t)(r >> 32), (uint32_t)r);
		}
		int m = sendmmsg(fd, msgs, (unsigned)n, MSG_DONTWAIT);
		if (m < 0) {
			if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR)
				return die("sendmmsg");
			errs += n; /* counted as errors, not sent; move on */
		} else {
			sent += m; /* a short count: the rest of the batch is built anew */
		}
		if (mono_ns() >= deadline)
			break;
	}
	uint64_t t1 = mono_ns();
	struct timespec ls = {(time_t)(linger / 1000), (long)(linger % 1000) * 1000000L};
	nanosleep(&ls, NULL);
	long long busy1 = cpu >= 0 ? cpu_busy((int)cpu) : 0;
	long long pcpu1 = spid > 0 ? proc_cpu(spid) : 0;
	unsigned long long synacks = 0;
	if (cfd >= 0) {
		struct tpacket_stats st;
		socklen_t sl = sizeof(st);
		if (getsockopt(cfd, SOL_PACKET, PACKET_STATISTICS, &st, &sl) < 0)
			return die("PACKET_STATISTICS");
		synacks = st.tp_packets; /* includes tp_drops */
		close(cfd);
	}
	close(fd);
	long hz = sysconf(_SC_CLK_TCK);
	printf("sent=%lld send_errors=%lld seconds=%.3f synacks=%llu cpu_busy_s=%.2f "
	       "server_cpu_s=%.2f\n",
	       sent, errs, (double)(t1 - t0) / 1e9, synacks,
	       cpu >= 0 ? (double)(busy1 - busy0) / (double)hz : -1.0,
	       spid > 0 ? (double)(pcpu1 - pcpu0) / (double)hz : -1.0);
	return 0;
}

static volatile sig_atomic_t stop;
static void on_sig(int sig)
{
	(void)sig;
	stop = 1;
}

static int cmd_listen(int argc, char **argv)
{
	uint32_t addr = 0;
	long long port = -1, backlog = 128, seconds = 120;
	const char *ready = NULL;
	for (int i = 0; i < argc; i += 2) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return usage("%s needs a value", o);
		if (!strcmp(o, "--addr")) {
			if (parse_ip(v, &addr))
				return usage("--addr %s: want A.B.C.D", v);
		} else if (!strcmp(o, "--port")) {
			if (parse_num(v, 1, 65535, &port))
				return usage("--port %s: 1..65535", v);
		} else if (!strcmp(o, "--backlog")) {
			if (parse_num(v, 0, 65535, &backlog))
				return usage("--backlog %s: 0..65535", v);
		} else if (!strcmp(o, "--seconds")) {
			if (parse_num(v, 1, 3600, &seconds))
				return usage("--seconds %s: 1..3600", v);
		} else if (!strcmp(o, "--ready")) {
			ready = v;
		} else {
			return usage("unknown option %s", o);
		}
	}
	if (port < 0)
		return usage("%s", "--port is required");
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return die("socket");
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(addr)};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return die("bind");
	if (listen(fd, (int)backlog) < 0)
		return die("listen");
	struct sigaction act = {.sa_handler = on_sig};
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	if (ready) {
		int r = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (r < 0)
			return die(ready);
		close(r);
	}
	uint64_t end = mono_ns() + (uint64_t)seconds * 1000000000ull;
	while (!stop && mono_ns() < end) {
		struct timespec ts = {0, 100000000L};
		nanosleep(&ts, NULL);
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage("%s", "a command is required");
	if (!strcmp(argv[1], "flood"))
		return cmd_flood(argc - 2, argv + 2);
	if (!strcmp(argv[1], "listen"))
		return cmd_listen(argc - 2, argv + 2);
	return usage("unknown command %s", argv[1]);
}
