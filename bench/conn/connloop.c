/*
 * connloop.c — a bounded connect/close loop of kernel TCP clients, and the accept-and-close
 * kernel listener the connection benchmark compares synq with. Used by bench/conn/bench_conn.sh.
 *
 *   connloop connect --dst A.B.C.D --port N [--parallel N] [--count N] [--seconds S]
 *                    [--linger-ms MS] [--cpu-stat N] [--server-pid PID]
 *       Keeps --parallel (default 64, at most 1024) non-blocking connect()s in flight on one
 *       epoll loop; each socket that becomes writable (handshake done) is checked with
 *       SO_ERROR and closed at once with SO_LINGER {1, 0}, i.e. with an RST: no FIN exchange
 *       and no TIME-WAIT, so the ephemeral ports are free again at once. Stops after --count
 *       completed connections (default 200000, at most 10^7) or --seconds (default 3, at most
 *       60), whichever comes first; connects still in flight are then closed and not counted.
 *       The window runs from just before the first connect() to the last close(); the CPU
 *       figures cover it plus --linger-ms (default 200) so the server's work on the last
 *       packets counts. --cpu-stat N: busy time of CPU N from /proc/stat
 *       (user+nice+system+irq+softirq+steal); --server-pid PID: utime+stime of that process.
 *       Prints one line: conns=N fails=N seconds=X cpu_busy_s=X server_cpu_s=X
 *
 *   connloop listen --addr A.B.C.D --port N [--backlog N] [--seconds S] [--ready FILE]
 *       A kernel TCP listener: socket(), SO_REUSEADDR, bind(), listen(backlog, default 128),
 *       creates FILE, then accept()s and close()s each connection at once (blocking accept),
 *       until SIGTERM/SIGINT or --seconds (default 120). Exit 0.
 *
 * Exit status 0, 1 on errors (one line on stderr), 2 on bad usage.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PARALLEL 1024
#define MAX_FD 65536

static unsigned char is_open[MAX_FD]; /* the connects in flight, by fd */

static int usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "connloop: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (connloop connect --dst IP --port N ... | connloop listen --addr IP "
			"--port N ...)\n");
	return 2;
}

static int die(const char *what)
{
	fprintf(stderr, "connloop: %s: %s\n", what, strerror(errno));
	return 1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
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
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
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

/* One non-blocking connect() registered with epoll; 0 on success (in flight), -1 on error. */
static int start_one(int ep, const struct sockaddr_in *dst, long long *fails)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return die("socket");
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0) {
		close(fd);
		return die("setsockopt(SO_LINGER)");
	}
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0 && errno != EINPROGRESS) {
		if (errno == EADDRNOTAVAIL || errno == ECONNREFUSED || errno == EAGAIN) {
			(*fails)++;
			close(fd);
			return 0;
		}
		close(fd);
		return die("connect");
	}
	if (fd >= MAX_FD) {
		close(fd);
		errno = EMFILE;
		return die("socket");
	}
	struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fd};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		return die("epoll_ctl");
	}
	is_open[fd] = 1;
	return 1;
}

static int cmd_connect(int argc, char **argv)
{
	const char *dst_s = NULL;
	long long port = -1, parallel = 64, count = 200000, seconds = 3, linger_ms = 200;
	long long cpu = -1, spid = -1;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (i + 1 >= argc)
			return usage("%s: missing value", a);
		const char *v = argv[++i];
		int bad = 0;
		if (!strcmp(a, "--dst"))
			dst_s = v;
		else if (!strcmp(a, "--port"))
			bad = parse_num(v, 1, 65535, &port);
		else if (!strcmp(a, "--parallel"))
			bad = parse_num(v, 1, MAX_PARALLEL, &parallel);
		else if (!strcmp(a, "--count"))
			bad = parse_num(v, 1, 10000000, &count);
		else if (!strcmp(a, "--seconds"))
			bad = parse_num(v, 1, 60, &seconds);
		else if (!strcmp(a, "--linger-ms"))
			bad = parse_num(v, 0, 5000, &linger_ms);
		else if (!strcmp(a, "--cpu-stat"))
			bad = parse_num(v, 0, 4095, &cpu);
		else if (!strcmp(a, "--server-pid"))
			bad = parse_num(v, 1, 1 << 30, &spid);
		else
			return usage("unknown option %s", a);
		if (bad)
			return usage("bad value for %s", a);
	}
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (!dst_s || port < 0 || inet_pton(AF_INET, dst_s, &dst.sin_addr) != 1)
		return usage("%s", "--dst A.B.C.D and --port N are required");

	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return die("epoll_create1");
	long long conns = 0, fails = 0, inflight = 0;
	long long busy0 = cpu >= 0 ? cpu_busy((int)cpu) : 0;
	long long srv0 = spid > 0 ? proc_cpu(spid) : 0;
	uint64_t t0 = mono_ns(), deadline = t0 + (uint64_t)seconds * 1000000000ull;
	struct epoll_event evs[MAX_PARALLEL];
	uint64_t now = t0;
	int rc = 0;
	while (conns < count && now < deadline) {
		for (long long k = 0; k < parallel && inflight < parallel && conns + inflight < count;
		     k++) {
			int r = start_one(ep, &dst, &fails);
			if (r < 0) {
				rc = 1;
				goto out;
			}
			inflight += r;
		}
		if (!inflight) {
			fprintf(stderr, "connloop: no connect in flight (%lld failures)\n", fails);
			rc = 1;
			goto out;
		}
		int n = epoll_wait(ep, evs, MAX_PARALLEL, 100);
		if (n < 0 && errno != EINTR) {
			rc = die("epoll_wait");
			goto out;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd, err = 0;
			socklen_t len = sizeof(err);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err)
				fails++;
			else
				conns++;
			close(fd); /* SO_LINGER {1, 0}: RST; closing also removes it from epoll */
			is_open[fd] = 0;
			inflight--;
		}
		now = mono_ns();
	}
out:;
	uint64_t t1 = mono_ns();
	/* connects still in flight: closed (RST) and not counted */
	for (int fd = 0; fd < MAX_FD; fd++)
		if (is_open[fd])
			close(fd);
	close(ep);
	if (rc)
		return rc;
	if (linger_ms) {
		struct timespec ts = {.tv_sec = linger_ms / 1000, .tv_nsec = (linger_ms % 1000) * 1000000};
		nanosleep(&ts, NULL);
	}
	long long busy1 = cpu >= 0 ? cpu_busy((int)cpu) : 0;
	long long srv1 = spid > 0 ? proc_cpu(spid) : 0;
	double hz = (double)sysconf(_SC_CLK_TCK);
	printf("conns=%lld fails=%lld seconds=%.3f cpu_busy_s=%.2f server_cpu_s=%.2f\n", conns,
	       fails, (double)(t1 - t0) / 1e9, (double)(busy1 - busy0) / hz,
	       (double)(srv1 - srv0) / hz);
	return 0;
}

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int cmd_listen(int argc, char **argv)
{
	const char *addr_s = NULL, *ready = NULL;
	long long port = -1, backlog = 128, seconds = 120;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (i + 1 >= argc)
			return usage("%s: missing value", a);
		const char *v = argv[++i];
		int bad = 0;
		if (!strcmp(a, "--addr"))
			addr_s = v;
		else if (!strcmp(a, "--port"))
			bad = parse_num(v, 1, 65535, &port);
		else if (!strcmp(a, "--backlog"))
			bad = parse_num(v, 1, 65535, &backlog);
		else if (!strcmp(a, "--seconds"))
			bad = parse_num(v, 1, 3600, &seconds);
		else if (!strcmp(a, "--ready"))
			ready = v;
		else
			return usage("unknown option %s", a);
		if (bad)
			return usage("bad value for %s", a);
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (!addr_s || port < 0 || inet_pton(AF_INET, addr_s, &sa.sin_addr) != 1)
		return usage("%s", "--addr A.B.C.D and --port N are required");
	struct sigaction act = {.sa_handler = on_signal}; /* no SA_RESTART: accept() returns EINTR */
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	sigaction(SIGALRM, &act, NULL);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return die("socket");
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return die("bind");
	if (listen(fd, (int)backlog) < 0)
		return die("listen");
	if (ready) {
		int r = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (r < 0)
			return die(ready);
		close(r);
	}
	alarm((unsigned)seconds);
	long long accepted = 0;
	while (!stop) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE ||
			    errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				continue;
			return die("accept");
		}
		close(c);
		accepted++;
	}
	close(fd);
	printf("accepted=%lld\n", accepted);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage("%s", "no command");
	if (!strcmp(argv[1], "connect"))
		return cmd_connect(argc - 2, argv + 2);
	if (!strcmp(argv[1], "listen"))
		return cmd_listen(argc - 2, argv + 2);
	return usage("unknown command %s", argv[1]);
}
