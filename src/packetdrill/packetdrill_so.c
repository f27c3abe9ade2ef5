/*
 * packetdrill_so.c — build/libsynq-packetdrill.so: upstream packetdrill's shared-object test
 * interface (packetdrill_so.h) on top of one synq stack, in virtual time (issue 6, item 2).
 *
 *   packetdrill --so_filename=build/libsynq-packetdrill.so \
 *               --so_flags='tcp_synack_retries=2,net.synq.timer_hz=250' script.pkt
 *
 * - The clock is virtual: gettimeofday() reads it and usleep() advances it, running the stack's
 *   timers on the way; a script that waits 63 s finishes at once. packetdrill spins the last
 *   20 us before an event on gettimeofday(), so a gettimeofday() that follows another one
 *   advances the clock by 1 us.
 * - netdev_send() (a packet the script injects) is synq_input(); netdev_receive() (a packet the
 *   script expects) returns the oldest packet the stack sent, stamped with the virtual time it
 *   left; when none is waiting it runs the stack's timers up to the next deadline. When the
 *   stack will never send anything again it returns a malformed packet, which makes packetdrill
 *   fail the `>` line instead of waiting forever.
 * - System calls map onto synq's socket API. synq never blocks: calls on blocking sockets
 *   behave as on non-blocking ones (EAGAIN/EINPROGRESS). Each socket is backed by a real file
 *   descriptor (/dev/null) so that packetdrill's final close() of unclosed sockets succeeds and
 *   descriptors are numbered as in a process.
 * - --so_flags: `name=value` knob settings separated by commas or spaces, applied with
 *   synq_config_set() before the stack is created (any knob, sizing ones included), plus
 *   `seed=N` (ISNs and secrets). The stack owns 192.168.0.1 unless net.synq.local_addr is
 *   given; packetdrill picks a random 192.168.x.y local address unless run with
 *   --local_ip=192.168.0.1, so without net.synq.local_addr the first bind() to an address the
 *   stack does not own makes the stack own it.
 *
 * SPDX-License-Identifier: MIT
 */
#include "packetdrill/packetdrill_so.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synq.h"

#define PD_MAX_FDS 4096
#define PD_PKT_CAP 2048
#define PD_QUEUE_MAX 4096

struct pd_pkt {
	struct pd_pkt *next;
	uint64_t time_us;
	size_t len;
	uint8_t data[PD_PKT_CAP];
};

struct pd {
	pthread_mutex_t mu;
	synq_stack *s;
	uint64_t now_us;   /* virtual time */
	int last_gtod;     /* the previous call was gettimeofday() */
	int adopt_addr;    /* no net.synq.local_addr in --so_flags: bind() adopts its address */
	uint64_t rand_state;
	struct pd_pkt *head, *tail;
	size_t qlen;
	int sq[PD_MAX_FDS];          /* real fd -> synq fd + 1 (0: not ours) */
	unsigned char nonblock[PD_MAX_FDS];
};

static void pd_rand(void *user, void *buf, size_t len)
{
	uint64_t *st = user;
	uint8_t *p = buf;
	while (len--) {
		*st = *st * 6364136223846793005ull + 1442695040888963407ull;
		*p++ = (uint8_t)(*st >> 56);
	}
}

static void pd_lock(struct pd *p)
{
	pthread_mutex_lock(&p->mu);
	p->last_gtod = 0;
}

static void pd_unlock(struct pd *p)
{
	pthread_mutex_unlock(&p->mu);
}

static uint64_t now_ns(const struct pd *p)
{
	return p->now_us * 1000ull;
}

/* Move what the stack sent into our queue, stamped with the current virtual time. */
static void drain(struct pd *p)
{
	for (;;) {
		struct pd_pkt *k = malloc(sizeof(*k));
		if (!k)
			return;
		int n = synq_output(p->s, k->data, sizeof(k->data), now_ns(p));
		if (n <= 0) {
			free(k);
			return;
		}
		if (p->qlen >= PD_QUEUE_MAX) { /* nobody is sniffing: keep the newest */
			struct pd_pkt *old = p->head;
			p->head = old->next;
			if (!p->head)
				p->tail = NULL;
			free(old);
			p->qlen--;
		}
		k->next = NULL;
		k->len = (size_t)n;
		k->time_us = p->now_us;
		if (p->tail)
			p->tail->next = k;
		else
			p->head = k;
		p->tail = k;
		p->qlen++;
	}
}

/* Run every timer due up to target_us (packets stamped with their timer's time), then set the
 * clock to target_us. */
static void advance_to(struct pd *p, uint64_t target_us)
{
	drain(p);
	for (;;) {
		uint64_t d = synq_next_deadline(p->s);
		if (d == UINT64_MAX || d > target_us * 1000ull)
			break;
		uint64_t dus = (d + 999) / 1000;
		if (dus > p->now_us)
			p->now_us = dus;
		synq_on_timeout(p->s, now_ns(p));
		drain(p);
	}
	if (target_us > p->now_us)
		p->now_us = target_us;
	synq_on_timeout(p->s, now_ns(p));
	drain(p);
}

static int set_errno(int neg)
{
	errno = -neg;
	return -1;
}

/* Our synq fd behind a real fd, or -1 with errno EBADF. */
static int sfd(const struct pd *p, int fd)
{
	if (fd < 0 || fd >= PD_MAX_FDS || !p->sq[fd]) {
		errno = EBADF;
		return -1;
	}
	return p->sq[fd] - 1;
}

/* Give synq fd x a real descriptor number; returns it, or -1 (errno set). */
static int new_fd(struct pd *p, int x)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fd >= PD_MAX_FDS) {
		close(fd);
		errno = EMFILE;
		return -1;
	}
	p->sq[fd] = x + 1;
	p->nonblock[fd] = 0;
	return fd;
}

static int get_addr(const struct sockaddr *a, socklen_t len, struct synq_addr *out)
{
	if (!a || len < (socklen_t)sizeof(struct sockaddr_in))
		return -EINVAL;
	if (a->sa_family != AF_INET)
		return -EAFNOSUPPORT;
	struct sockaddr_in sin;
	memcpy(&sin, a, sizeof(sin));
	out->ip = ntohl(sin.sin_addr.s_addr);
	out->port = ntohs(sin.sin_port);
	return 0;
}

static void put_addr(const struct synq_addr *a, struct sockaddr *out, socklen_t *len)
{
	if (!out || !len)
		return;
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(a->ip);
	sin.sin_port = htons(a->port);
	size_t n = *len < sizeof(sin) ? *len : sizeof(sin);
	memcpy(out, &sin, n);
	*len = sizeof(sin);
}

/* ---- calls ----------------------------------------------------------------------------------- */

static int pd_socket(void *u, int domain, int type, int protocol)
{
	struct pd *p = u;
	if (domain != AF_INET) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if ((type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != SOCK_STREAM ||
	    (protocol != 0 && protocol != IPPROTO_TCP)) {
		errno = EPROTONOSUPPORT;
		return -1;
	}
	pd_lock(p);
	int rc, x = synq_socket(p->s);
	if (x < 0) {
		rc = set_errno(x);
	} else {
		rc = new_fd(p, x);
		if (rc < 0) {
			int e = errno;
			synq_close(p->s, x, now_ns(p));
			errno = e;
		} else {
			p->nonblock[rc] = (type & SOCK_NONBLOCK) != 0;
		}
	}
	drain(p);
	pd_unlock(p);
	return rc;
}

static int pd_bind(void *u, int fd, const struct sockaddr *addr, socklen_t len)
{
	struct pd *p = u;
	struct synq_addr a;
	pd_lock(p);
	int rc, x = sfd(p, fd);
	if (x < 0)
		rc = -1;
	else if ((rc = get_addr(addr, len, &a)) < 0)
		rc = set_errno(rc);
	else {
		rc = synq_bind(p->s, x, &a);
		if (rc == -EADDRNOTAVAIL && p->adopt_addr && a.ip) {
			/* packetdrill picks a random 192.168.x.y unless --local_ip is given */
			char kv[64];
			snprintf(kv, sizeof(kv), "net.synq.local_addr=%u.%u.%u.%u", a.ip >> 24,
				 (a.ip >> 16) & 255, (a.ip >> 8) & 255, a.ip & 255);
			if (synq_stack_set(p->s, kv) == 0)
				rc = synq_bind(p->s, x, &a);
		}
		p->adopt_addr = 0;
		rc = rc < 0 ? set_errno(rc) : 0;
	}
	pd_unlock(p);
	return rc;
}

static int pd_listen(void *u, int fd, int backlog)
{
	struct pd *p = u;
	pd_lock(p);
	int rc, x = sfd(p, fd);
	if (x < 0)
		rc = -1;
	else
		rc = (rc = synq_listen(p->s, x, backlog)) < 0 ? set_errno(rc) : 0;
	drain(p);
	pd_unlock(p);
	return rc;
}

static int pd_accept(void *u, int fd, struct sockaddr *addr, socklen_t *len)
{
	struct pd *p = u;
	struct synq_addr peer;
	pd_lock(p);
	int rc, x = sfd(p, fd);
	if (x < 0) {
		rc = -1;
	} else if ((rc = synq_accept(p->s, x, &peer)) < 0) {
		rc = set_errno(rc);
	} else {
		int child = rc;
		rc = new_fd(p, child);
		if (rc < 0) {
			int e = errno;
			synq_close(p->s, child, now_ns(p));
			errno = e;
		} else {
			put_addr(&peer, addr, len);
		}
	}
	drain(p);
	pd_unlock(p);
	return rc;
}

static int pd_connect(void *u, int fd, const struct sockaddr *addr, socklen_t len)
{
	struct pd *p = u;
	struct synq_addr a;
	pd_lock(p);
	int rc, x = sfd(p, fd);
	if (x < 0)
		rc = -1;
	else if ((rc = get_addr(addr, len, &a)) < 0)
		rc = set_errno(rc);
	else
		rc = (rc = synq_connect(p->s, x, &a, now_ns(p))) < 0 ? set_errno(rc) : 0;
	drain(p);
	pd_unlock(p);
	return rc;
}

static ssize_t pd_recv(void *u, int fd, void *buf, size_t n, int flags)
{
	struct pd *p = u;
	pd_lock(p);
	long rc;
	int x = sfd(p, fd);
	if (x < 0)
		rc = -1;
	else if (flags & ~MSG_DONTWAIT)
		rc = set_errno(-EOPNOTSUPP);
	else
		rc = (rc = synq_read(p->s, x, buf, n, now_ns(p))) < 0 ? set_errno((int)rc) : rc;
	drain(p);
	pd_unlock(p);
	return rc;
}

static ssize_t pd_read(void *u, int fd, void *buf, size_t n)
{
	return pd_recv(u, fd, buf, n, 0);
}

static ssize_t pd_recvfrom(void *u, int fd, void *buf, size_t n, int flags, struct sockaddr *src,
			   socklen_t *len)
{
	if (len)
		*len = 0;
	return pd_recv(u, fd, buf, n, flags);
}

static ssize_t pd_readv(void *u, int fd, const struct iovec *iov, int iovcnt)
{
	ssize_t total = 0;
	for (int i = 0; i < iovcnt; i++) {
		ssize_t r = pd_recv(u, fd, iov[i].iov_base, iov[i].iov_len, 0);
		if (r < 0)
			return total > 0 ? total : r;
		total += r;
		if ((size_t)r < iov[i].iov_len)
			break;
	}
	return total;
}

static ssize_t pd_send(void *u, int fd, const void *buf, size_t n, int flags)
{
	struct pd *p = u;
	pd_lock(p);
	long rc;
	int x = sfd(p, fd);
	if (x < 0)
		rc = -1;
	else if (flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL))
		rc = set_errno(-EOPNOTSUPP);
	else
		rc = (rc = synq_write(p->s, x, buf, n, now_ns(p))) < 0 ? set_errno((int)rc) : rc;
	drain(p);
	pd_unlock(p);
	return rc;
}

static ssize_t pd_write(void *u, int fd, const void *buf, size_t n)
{
	return pd_send(u, fd, buf, n, 0);
}

static ssize_t pd_sendto(void *u, int fd, const void *buf, size_t n, int flags,
			 const struct sockaddr *dst, socklen_t len)
{
	if (dst) {
		errno = EISCONN;
		return -1;
	}
	return pd_send(u, fd, buf, n, flags);
}

static ssize_t pd_writev(void *u, int fd, const struct iovec *iov, int iovcnt)
{
	ssize_t total = 0;
	for (int i = 0; i < iovcnt; i++) {
		ssize_t r = pd_send(u, fd, iov[i].iov_base, iov[i].iov_len, 0);
		if (r < 0)
			return total > 0 ? total : r;
		total += r;
		if ((size_t)r < iov[i].iov_len)
			break;
	}
	return total;
}

static ssize_t pd_recvmsg(void *u, int fd, struct msghdr *msg, int flags)
{
	errno = EOPNOTSUPP;
	return -1;
}

static ssize_t pd_sendmsg(void *u, int fd, const struct msghdr *msg, int flags)
{
	errno = EOPNOTSUPP;
	return -1;
}

static int pd_fcntl(void *u, int fd, int cmd, ...)
{
	struct pd *p = u;
	va_list ap;
	va_start(ap, cmd);
	long arg = (cmd == F_SETFL || cmd == F_SETFD) ? va_arg(ap, long) : 0;
	va_end(ap);
	pd_lock(p);
	int rc = sfd(p, fd);
	if (rc >= 0) {
		switch (cmd) {
		case F_GETFL:
			rc = O_RDWR | (p->nonblock[fd] ? O_NONBLOCK : 0);
			break;
		case F_SETFL:
			p->nonblock[fd] = (arg & O_NONBLOCK) != 0;
			rc = 0;
			break;
		case F_GETFD:
		case F_SETFD:
			rc = 0;
			break;
		default:
			rc = set_errno(-EINVAL);
		}
	}
	pd_unlock(p);
	return rc;
}

static int pd_ioctl(void *u, int fd, unsigned long request, ...)
{
	errno = ENOTTY;
	return -1;
}

static int pd_close(void *u, int fd)
{
	struct pd *p = u;
	pd_lock(p);
	int rc, x = sfd(p, fd);
	if (x < 0) {
		rc = -1;
	} else {
		rc = (rc = synq_close(p->s, x, now_ns(p))) < 0 ? set_errno(rc) : 0;
		p->sq[fd] = 0;
		close(fd);
	}
	drain(p);
	pd_unlock(p);
	return rc;
}

static int pd_shutdown(void *u, int fd, int how)
{
	struct pd *p = u;
	pd_lock(p);
	int rc, x = sfd(p, fd);
	if (x < 0)
		rc = -1;
	else
		rc = (rc = synq_shutdown(p->s, x, how, now_ns(p))) < 0 ? set_errno(rc) : 0;
	drain(p);
	pd_unlock(p);
	return rc;
}

static int pd_getsockopt(void *u, int fd, int level, int name, void *val, socklen_t *len)
{
	struct pd *p = u;
	pd_lock(p);
	int rc, x = sfd(p, fd);
	if (x < 0) {
		rc = -1;
	} else if (!val || !len || *len < (socklen_t)sizeof(int)) {
		rc = set_errno(-EINVAL);
	} else {
		size_t n = sizeof(int);
		rc = synq_getsockopt(p->s, x, level, name, val, &n);
		if (rc < 0)
			rc = set_errno(rc);
		else
			*len = (socklen_t)n;
	}
	pd_unlock(p);
	return rc;
}

static int pd_setsockopt(void *u, int fd, int level, int name, const void *val, socklen_t len)
{
	struct pd *p = u;
	pd_lock(p);
	int rc, x = sfd(p, fd);
	if (x < 0)
		rc = -1;
	else
		rc = (rc = synq_setsockopt(p->s, x, level, name, val, len)) < 0 ? set_errno(rc) : 0;
	drain(p);
	pd_unlock(p);
	return rc;
}

static int pd_poll(void *u, struct pollfd *fds, nfds_t nfds, int timeout)
{
	struct pd *p = u;
	int ready = 0;
	pd_lock(p);
	for (nfds_t i = 0; i < nfds; i++) {
		int x = sfd(p, fds[i].fd);
		int m = x < 0 ? POLLNVAL : synq_poll(p->s, x);
		if (m < 0)
			m = POLLNVAL;
		fds[i].revents = (short)(m & (fds[i].events | POLLERR | POLLHUP | POLLNVAL));
		if (fds[i].revents)
			ready++;
	}
	pd_unlock(p);
	return ready;
}

/* ---- packets and time ------------------------------------------------------------------------ */

static int pd_netdev_send(void *u, const void *buf, size_t count)
{
	struct pd *p = u;
	pd_lock(p);
	int rc = synq_input(p->s, buf, count, now_ns(p));
	drain(p);
	pd_unlock(p);
	if (rc < 0 && rc != -EADDRNOTAVAIL && rc != -EPROTONOSUPPORT) {
		/* malformed for synq: packetdrill built it, so say why it vanished */
		fprintf(stderr, "libsynq-packetdrill: synq_input rejected a packet: %s\n",
			strerror(-rc));
	}
	return 0;
}

static int pd_netdev_receive(void *u, void *buf, size_t *count, long long *time_usecs)
{
	struct pd *p = u;
	pd_lock(p);
	drain(p);
	while (!p->head) {
		uint64_t d = synq_next_deadline(p->s);
		if (d == UINT64_MAX)
			break;
		advance_to(p, (d + 999) / 1000);
	}
	struct pd_pkt *k = p->head;
	if (!k) {
		pd_unlock(p);
		/* Nothing will ever leave the stack: hand packetdrill a malformed IPv4 header
		 * (total length beyond the buffer) so that it fails the `>` line at once. */
		fprintf(stderr, "libsynq-packetdrill: the stack has nothing to send and no timer "
				"pending: no packet will come\n");
		uint8_t bad[20] = {0x45, 0, 0xff, 0xff};
		size_t n = *count < sizeof(bad) ? *count : sizeof(bad);
		memcpy(buf, bad, n);
		*count = n;
		*time_usecs = (long long)p->now_us;
		return 0;
	}
	p->head = k->next;
	if (!p->head)
		p->tail = NULL;
	p->qlen--;
	pd_unlock(p);
	if (k->len > *count) {
		free(k);
		*count = 0;
		return -1;
	}
	memcpy(buf, k->data, k->len);
	*count = k->len;
	*time_usecs = (long long)k->time_us;
	free(k);
	return 0;
}

static int pd_usleep(void *u, useconds_t usec)
{
	struct pd *p = u;
	pd_lock(p);
	advance_to(p, p->now_us + usec);
	pd_unlock(p);
	return 0;
}

static int pd_gettimeofday(void *u, struct timeval *tv, struct timezone *tz)
{
	struct pd *p = u;
	pthread_mutex_lock(&p->mu);
	if (p->last_gtod) /* packetdrill spins on the clock: let it move */
		advance_to(p, p->now_us + 1);
	p->last_gtod = 1;
	if (tv) {
		tv->tv_sec = (time_t)(p->now_us / 1000000);
		tv->tv_usec = (suseconds_t)(p->now_us % 1000000);
	}
	pthread_mutex_unlock(&p->mu);
	return 0;
}

static int pd_epoll_create(void *u, int size)
{
	errno = ENOSYS;
	return -1;
}

static int pd_epoll_ctl(void *u, int epfd, int op, int fd, struct epoll_event *ev)
{
	errno = ENOSYS;
	return -1;
}

static int pd_epoll_wait(void *u, int epfd, struct epoll_event *evs, int max, int timeout)
{
	errno = ENOSYS;
	return -1;
}

static int pd_pipe(void *u, int pipefd[2])
{
	errno = ENOSYS;
	return -1;
}

static int pd_splice(void *u, int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len,
		     unsigned int flags)
{
	errno = ENOSYS;
	return -1;
}

static void pd_free(void *u)
{
	struct pd *p = u;
	if (!p)
		return;
	for (int fd = 0; fd < PD_MAX_FDS; fd++)
		if (p->sq[fd])
			close(fd);
	while (p->head) {
		struct pd_pkt *k = p->head;
		p->head = k->next;
		free(k);
	}
	synq_stack_free(p->s);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* ---- entry point ----------------------------------------------------------------------------- */

static void die(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "libsynq-packetdrill: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\n");
	exit(EXIT_FAILURE);
}

void packetdrill_interface_init(const char *flags, struct packetdrill_interface *ifc)
{
	struct pd *p = calloc(1, sizeof(*p));
	if (!p)
		die("out of memory%s%s", "", "");
	pthread_mutex_init(&p->mu, NULL);
	p->rand_state = 1;

	struct synq_config cfg;
	synq_config_init(&cfg);
	synq_config_set(&cfg, "net.synq.max_requests=4096");
	synq_config_set(&cfg, "net.synq.max_sockets=256");
	char *text = strdup(flags ? flags : "");
	if (!text)
		die("out of memory%s%s", "", "");
	for (char *save = NULL, *tok = strtok_r(text, ", \t\n", &save); tok;
	     tok = strtok_r(NULL, ", \t\n", &save)) {
		if (!strncmp(tok, "seed=", 5)) {
			char *end;
			p->rand_state = strtoull(tok + 5, &end, 0);
			if (*end || end == tok + 5)
				die("--so_flags: bad seed in \"%s\"%s", tok, "");
			continue;
		}
		int rc = synq_config_set(&cfg, tok);
		if (rc < 0)
			die("--so_flags: cannot set \"%s\": %s", tok,
			    rc == -ENOENT ? "unknown to synq" : strerror(-rc));
	}
	free(text);
	if (cfg.n_local_addrs == 0) {
		synq_config_set(&cfg, "net.synq.local_addr=192.168.0.1");
		p->adopt_addr = 1;
	}
	cfg.rand = pd_rand;
	cfg.rand_user = &p->rand_state;
	int rc = synq_stack_new(&cfg, 0, &p->s);
	if (rc < 0)
		die("synq_stack_new: %s%s", strerror(-rc), "");

	memset(ifc, 0, sizeof(*ifc));
	ifc->userdata = p;
	ifc->free = pd_free;
	ifc->socket = pd_socket;
	ifc->bind = pd_bind;
	ifc->listen = pd_listen;
	ifc->accept = pd_accept;
	ifc->connect = pd_connect;
	ifc->read = pd_read;
	ifc->readv = pd_readv;
	ifc->recv = pd_recv;
	ifc->recvfrom = pd_recvfrom;
	ifc->recvmsg = pd_recvmsg;
	ifc->write = pd_write;
	ifc->writev = pd_writev;
	ifc->send = pd_send;
	ifc->sendto = pd_sendto;
	ifc->sendmsg = pd_sendmsg;
	ifc->fcntl = pd_fcntl;
	ifc->ioctl = pd_ioctl;
	ifc->close = pd_close;
	ifc->shutdown = pd_shutdown;
	ifc->getsockopt = pd_getsockopt;
	ifc->setsockopt = pd_setsockopt;
	ifc->poll = pd_poll;
	ifc->netdev_send = pd_netdev_send;
	ifc->netdev_receive = pd_netdev_receive;
	ifc->usleep = pd_usleep;
	ifc->gettimeofday = pd_gettimeofday;
	ifc->epoll_create = pd_epoll_create;
	ifc->epoll_ctl = pd_epoll_ctl;
	ifc->epoll_wait = pd_epoll_wait;
	ifc->pipe = pd_pipe;
	ifc->splice = pd_splice;
}
