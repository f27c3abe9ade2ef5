/*
 * packetdrill_so.c — build/libsynq-packetdrill.so: upstream packetdrill's shared-object test
 * interface (packetdrill_so.h) on top of one synq stack, in virtual time (issue 6, item 2).
 *
 *   packetdrill --so_filename=build/libsynq-packetdrill.so \
 *               --so_flags='tcp_synack_retries=2,net.synq.timer_hz=250' script.pkt
 *
 * - The clock is virtual: gettimeofday() reads it and usleep() advances it, running the stack's
 *   timers on the way; a script that waits 63 s finishes at once. packetdrill spins the last
 *   20 us before an event on gettimeofday(), so a thread's gettimeofday() that follows its own
 *   previous one advances the clock by 1 us.
 * - netdev_send() (a packet the script injects) is synq_input(); netdev_receive() (a packet the
 *   script expects) returns the oldest packet the stack sent, stamped with the virtual time it
 *   left; when none is waiting it runs the stack's timers up to the next deadline. When the
 *   stack will never send anything again it returns a malformed packet, which makes packetdrill
 *   fail the `>` line instead of waiting forever.
 * - System calls map onto synq's socket API. Each socket is backed by a real file descriptor
 *   (/dev/null) so that packetdrill's final close() of unclosed sockets succeeds and
 *   descriptors are numbered as in a process.
 * - Blocking calls block, as on the kernel. On a blocking socket, connect() waits until the
 *   handshake ends, accept() until a child is queued, read/recv until there is data, EOF or an
 *   error, write/send until all of it is queued; poll() with a timeout waits until an fd is
 *   ready or the timeout passes (whatever O_NONBLOCK says). SO_RCVTIMEO/SO_SNDTIMEO are not
 *   supported by the core (ENOPROTOOPT), so these waits have no limit.
 *   packetdrill makes a call with a time range (`0...131 connect(...)`) on its syscall thread
 *   and goes on with the script on its main thread; it checks the call's end time by reading
 *   gettimeofday() on the syscall thread right after the call returns. So such a call sleeps
 *   on a condition variable, and every change another thread makes (an injected packet, a
 *   timer firing as the clock moves, another call) wakes it to try again while that thread
 *   waits for the answer (settle()): a call that can now complete returns at that virtual
 *   instant, and the clock stays there until its thread has read it.
 *   Before its next system call packetdrill's main thread waits up to 1 s of real time for the
 *   blocked call to finish, with the kernel's clock running meanwhile; a blocked call that sees
 *   the main thread asleep there runs the virtual clock itself, timer by timer, up to 1 s.
 *   A blocking call on the main thread (a script line without a range) cannot be woken by
 *   anyone, so it runs the timers itself, as the kernel would while packetdrill sits in it;
 *   with no timer left it fails with EDEADLK and a message instead of hanging.
 *   close() of a socket whose call is blocked in another thread takes the descriptor away at
 *   once and closes the socket when that call returns, as Linux's file reference does.
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
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "synq.h"

#define PD_MAX_FDS   4096
#define PD_PKT_CAP   2048
#define PD_QUEUE_MAX 4096
#define PD_NEVER     UINT64_MAX
/* Real seconds a thread that moves the clock waits for a woken call's thread to read the clock
 * before it gives up (packetdrill reads it at once; this only guards against a hang). */
#define PD_SETTLE_GUARD_SECS 2
/* A blocked call looks every 10 ms (real) whether packetdrill's main thread waits for it... */
#define PD_IDLE_POLL_NS 10000000L
/* ...and then runs the virtual clock for up to 1 s, as long as packetdrill waits in real time */
#define PD_DRIVE_US 1000000u

struct pd_pkt {
	struct pd_pkt *next;
	uint64_t time_us;
	size_t len;
	uint8_t data[PD_PKT_CAP];
};

/* A call that is blocked. It lives on the stack of the thread that made the call (that thread
 * owns it) and is linked into pd.waiters from its first wait until the call returns. */
struct pd_waiter {
	struct pd_waiter *next;
	int x;                /* synq fd the call works on, -1 for poll() */
	int linked;           /* in pd.waiters */
	int inplace;          /* made on the main thread: runs the timers itself, is never woken */
	int checking;         /* woken: it is trying its call again (counted in pd.n_checking) */
	int woken;            /* it slept and was woken at least once */
	int close_after;      /* close() came meanwhile: synq_close(x) when the call returns */
	uint64_t deadline_us; /* poll()'s timeout as a virtual time, PD_NEVER for none */
};

struct pd {
	pthread_mutex_t mu;
	pthread_cond_t wake;     /* waiters sleep on it; settle() broadcasts */
	pthread_cond_t settled;  /* settle() sleeps on it until the waiters have answered */
	pthread_t main;          /* packetdrill's main thread (the one that called init) */
	pid_t main_tid;          /* its kernel thread id, for /proc */
	int main_in;             /* the main thread is in one of our calls */
	uint64_t drive_until_us; /* see wait_change(); PD_NEVER: not driving */
	synq_stack *s;
	uint64_t now_us; /* virtual time */
	int adopt_addr;  /* no net.synq.local_addr in --so_flags: bind() adopts its address */
	uint64_t rand_state;
	struct pd_pkt *head, *tail;
	size_t qlen;
	struct pd_waiter *waiters; /* blocked calls (not owned: each belongs to its thread) */
	unsigned n_checking;       /* woken waiters that have not answered yet */
	unsigned n_owed;           /* returned woken calls whose thread has not read the clock */
	unsigned owed_epoch;       /* bumped when settle() gives up on n_owed */
	int sq[PD_MAX_FDS];        /* real fd -> synq fd + 1 (0: not ours) */
	unsigned char nonblock[PD_MAX_FDS];
};

/* The clock read this thread owes (see settle()): the instance and its owed_epoch then. */
static _Thread_local struct pd *tl_owed;
static _Thread_local unsigned tl_owed_epoch;
/* This thread's previous call into that instance was gettimeofday(). */
static _Thread_local const struct pd *tl_gtod;

static void pd_rand(void *user, void *buf, size_t len)
{
	uint64_t *st = user;
	uint8_t *p = buf;
	while (len--) {
		*st = *st * 6364136223846793005ull + 1442695040888963407ull;
		*p++ = (uint8_t)(*st >> 56);
	}
}

static int on_main(const struct pd *p)
{
	return pthread_equal(pthread_self(), p->main);
}

/* Take the lock. A thread that returned from a woken call has now come back: the clock read it
 * owed is done (it is this call, or happens under this same lock). */
static void pd_lock_keep_spin(struct pd *p)
{
	pthread_mutex_lock(&p->mu);
	if (on_main(p)) {
		p->main_in = 1;
		p->drive_until_us = PD_NEVER;
	}
	if (tl_owed == p) {
		if (tl_owed_epoch == p->owed_epoch && p->n_owed) {
			p->n_owed--;
			pthread_cond_broadcast(&p->settled);
		}
		tl_owed = NULL;
	}
}

/* Take the lock for anything but gettimeofday(): this thread is not spinning on the clock. */
static void pd_lock(struct pd *p)
{
	pd_lock_keep_spin(p);
	tl_gtod = NULL;
}

static void pd_unlock_raw(struct pd *p)
{
	if (on_main(p))
		p->main_in = 0;
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

/* Something may have changed: wake every sleeping waiter to try its call again and wait, with
 * the clock where it is, until each has either gone back to sleep or returned and had its
 * thread read the clock. So a call returns at the virtual instant it could, not later.
 * self_owed: the calling thread's own clock read is among p->n_owed (do not wait for it). */
static void settle(struct pd *p, unsigned self_owed)
{
	int kicked = 0;
	for (struct pd_waiter *w = p->waiters; w; w = w->next) {
		if (!w->inplace && !w->checking) {
			w->checking = 1;
			w->woken = 1;
			p->n_checking++;
			kicked = 1;
		}
	}
	if (kicked)
		pthread_cond_broadcast(&p->wake);
	if (!p->n_checking && p->n_owed <= self_owed)
		return;
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += PD_SETTLE_GUARD_SECS;
	while (p->n_checking || p->n_owed > self_owed) {
		if (pthread_cond_timedwait(&p->settled, &p->mu, &until) == ETIMEDOUT) {
			fprintf(stderr, "libsynq-packetdrill: a blocked call returned but its "
			                "thread did not come back for the time; going on\n");
			p->n_owed = 0;
			p->owed_epoch++;
			break;
		}
	}
}

/* The virtual time of the next thing that can happen: a stack timer or a sleeping waiter's
 * timeout (an in-place waiter minds its own). */
static uint64_t next_event_us(const struct pd *p)
{
	uint64_t d = synq_next_deadline(p->s);
	uint64_t t = d == UINT64_MAX ? PD_NEVER : (d + 999) / 1000;
	for (const struct pd_waiter *w = p->waiters; w; w = w->next)
		if (!w->inplace && w->deadline_us < t)
			t = w->deadline_us;
	return t;
}

/* Run every timer and waiter timeout due up to target_us, each at its own time (packets
 * stamped with it, blocked calls settled at it), then set the clock to target_us. */
static void advance_to(struct pd *p, uint64_t target_us)
{
	drain(p);
	for (;;) {
		uint64_t t = next_event_us(p);
		if (t > target_us)
			break;
		if (t > p->now_us)
			p->now_us = t;
		synq_on_timeout(p->s, now_ns(p));
		drain(p);
		settle(p, 0);
	}
	if (target_us > p->now_us)
		p->now_us = target_us;
	synq_on_timeout(p->s, now_ns(p));
	drain(p);
}

/* Read up to cap - 1 bytes of a small file into buf, NUL-terminated; returns the length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	if (n >= 0)
		buf[n] = 0;
	return n;
}

/* Is packetdrill's main thread asleep on a futex outside our calls? While a call of ours is
 * blocked, that is packetdrill waiting for the call's thread to go idle (the same test
 * packetdrill makes of its syscall thread, through /proc). Where /proc/.../syscall cannot be
 * read, sleeping is enough. */
static int main_waits_for_us(const struct pd *p)
{
	char path[64], buf[512];
	if (p->main_in)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)p->main_tid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return 0;
	const char *rp = strrchr(buf, ')'); /* the command name may hold anything */
	if (!rp || rp[1] != ' ' || rp[2] != 'S')
		return 0;
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)p->main_tid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return 1;
	return strtol(buf, NULL, 10) == SYS_futex;
}

/* A call that could not complete waits for a change; p->mu held, w filled in by the caller
 * (x, deadline_us, the rest zero). Returns 0 to try the call again, -ETIMEDOUT once
 * w->deadline_us has come, or -EDEADLK on the main thread when nothing can happen any more. */
static int wait_change(struct pd *p, struct pd_waiter *w)
{
	drain(p); /* what the call sent leaves now */
	if (!w->linked) {
		w->linked = 1; /* its first wait */
		w->inplace = on_main(p);
		w->next = p->waiters;
		p->waiters = w;
	}
	if (w->checking) { /* it was woken and is still blocked: answered */
		w->checking = 0;
		p->n_checking--;
		pthread_cond_broadcast(&p->settled);
	}
	if (p->now_us >= w->deadline_us)
		return -ETIMEDOUT;
	if (w->inplace) {
		/* Nobody else injects packets while packetdrill's main thread is in a call: only
		 * timers (and other blocked calls' timeouts) can change anything. */
		uint64_t t = next_event_us(p);
		if (w->deadline_us < t)
			t = w->deadline_us;
		if (t == PD_NEVER) {
			fprintf(stderr,
			        "libsynq-packetdrill: a blocking call on packetdrill's main "
			        "thread would wait forever (no timer pending); give the script "
			        "line a time range (a...b) to run it on the syscall thread\n");
			return -EDEADLK;
		}
		advance_to(p, t);
		return 0;
	}
	unsigned idle_seen = 0;
	while (!w->checking) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += PD_IDLE_POLL_NS;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		if (pthread_cond_timedwait(&p->wake, &p->mu, &until) != ETIMEDOUT)
			continue;
		if (!main_waits_for_us(p)) {
			idle_seen = 0;
			continue;
		}
		if (++idle_seen < 2)
			continue;
		/* packetdrill's main thread waits for this call to finish (await_idle_thread(),
		 * before its next system call): on the kernel the clock runs meanwhile, for up to
		 * 1 s. Run it here: to the next timer or timeout, at most 1 s past where the main
		 * thread left it. */
		if (p->drive_until_us == PD_NEVER)
			p->drive_until_us = p->now_us + PD_DRIVE_US;
		uint64_t t = next_event_us(p);
		if (t > p->drive_until_us)
			t = p->drive_until_us;
		if (t <= p->now_us)
			continue;
		w->inplace = 1; /* settle() must not wait for us, advance_to() not stop at us */
		advance_to(p, t);
		w->inplace = 0;
		return p->now_us >= w->deadline_us ? -ETIMEDOUT : 0;
	}
	return p->now_us >= w->deadline_us ? -ETIMEDOUT : 0;
}

/* The call w belonged to returns: unlink w, close its socket if close() came meanwhile. */
static void waiter_leave(struct pd *p, struct pd_waiter *w)
{
	if (!w->linked)
		return; /* it never waited */
	struct pd_waiter **pp = &p->waiters;
	while (*pp != w)
		pp = &(*pp)->next;
	*pp = w->next;
	w->linked = 0;
	if (w->checking) {
		w->checking = 0;
		p->n_checking--;
		pthread_cond_broadcast(&p->settled);
	}
	if (w->close_after) {
		struct pd_waiter *o = p->waiters;
		while (o && o->x != w->x)
			o = o->next;
		if (o)
			o->close_after = 1; /* the last call on it closes it */
		else
			synq_close(p->s, w->x, now_ns(p));
	}
}

/* End a call: send what it sent, let blocked calls see what it changed, and, for a call that
 * slept and was woken, hold the clock until this thread reads it (its next call into us).
 * errno is the call's and stays as it is. */
static void pd_leave(struct pd *p, struct pd_waiter *w)
{
	int e = errno;
	unsigned owes = 0;
	if (w) {
		waiter_leave(p, w);
		if (w->woken && !w->inplace) {
			owes = 1;
			p->n_owed++;
			tl_owed = p;
			tl_owed_epoch = p->owed_epoch;
		}
	}
	drain(p);
	settle(p, owes);
	pd_unlock_raw(p);
	errno = e;
}

static void pd_unlock(struct pd *p)
{
	pd_leave(p, NULL);
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

/* May a call on real fd fd block? */
static int blocking(const struct pd *p, int fd)
{
	return !p->nonblock[fd];
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
	pd_unlock(p);
	return rc;
}

/* accept(): on a blocking listener, waits until a child is queued (or the socket stops
 * listening: EINVAL, as inet_csk_wait_for_connect()). */
static int pd_accept(void *u, int fd, struct sockaddr *addr, socklen_t *len)
{
	struct pd *p = u;
	struct pd_waiter w = {.x = -1, .deadline_us = PD_NEVER};
	struct synq_addr peer;
	pd_lock(p);
	int rc, x = sfd(p, fd);
	if (x < 0) {
		pd_unlock(p);
		return -1;
	}
	w.x = x;
	int may_block = blocking(p, fd);
	while ((rc = synq_accept(p->s, x, &peer)) == -EAGAIN && may_block) {
		int wc = wait_change(p, &w);
		if (wc < 0) {
			rc = wc;
			break;
		}
	}
	if (rc < 0) {
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
	pd_leave(p, &w);
	return rc;
}

/* connect(): on a blocking socket, waits until the handshake is over (inet_wait_for_connect())
 * and returns 0, or the error that ended it (SO_ERROR, read and cleared), or ECONNABORTED. */
static int pd_connect(void *u, int fd, const struct sockaddr *addr, socklen_t len)
{
	struct pd *p = u;
	struct pd_waiter w = {.x = -1, .deadline_us = PD_NEVER};
	struct synq_addr a;
	pd_lock(p);
	int rc, x = sfd(p, fd);
	if (x < 0) {
		rc = -1;
	} else if ((rc = get_addr(addr, len, &a)) < 0) {
		rc = set_errno(rc);
	} else {
		w.x = x;
		int may_block = blocking(p, fd);
		rc = synq_connect(p->s, x, &a, now_ns(p));
		while ((rc == -EINPROGRESS || rc == -EALREADY) && may_block) {
			struct synq_sock_info si;
			int ri = synq_sock_info(p->s, x, &si);
			if (ri < 0) {
				rc = ri;
			} else if (si.state == SYNQ_TCP_CLOSE) {
				int err = 0;
				size_t n = sizeof(err);
				synq_getsockopt(p->s, x, SYNQ_SOL_SOCKET, SYNQ_SO_ERROR, &err, &n);
				rc = err ? -err : -ECONNABORTED;
			} else if (si.state != SYNQ_TCP_SYN_SENT && si.state != SYNQ_TCP_SYN_RECV) {
				rc = 0;
			} else {
				int wc = wait_change(p, &w);
				if (wc < 0)
					rc = wc;
			}
		}
		rc = rc < 0 ? set_errno(rc) : 0;
	}
	pd_leave(p, &w);
	return rc;
}

/* recv(): on a blocking socket (and without MSG_DONTWAIT), waits until there is data, end of
 * stream or an error. */
static ssize_t pd_recv(void *u, int fd, void *buf, size_t n, int flags)
{
	struct pd *p = u;
	struct pd_waiter w = {.x = -1, .deadline_us = PD_NEVER};
	pd_lock(p);
	long rc;
	int x = sfd(p, fd);
	if (x < 0) {
		rc = -1;
	} else if (flags & ~MSG_DONTWAIT) {
		rc = set_errno(-EOPNOTSUPP);
	} else {
		w.x = x;
		int may_block = blocking(p, fd) && !(flags & MSG_DONTWAIT);
		while ((rc = synq_read(p->s, x, buf, n, now_ns(p))) == -EAGAIN && may_block) {
			int wc = wait_change(p, &w);
			if (wc < 0) {
				rc = wc;
				break;
			}
		}
		rc = rc < 0 ? set_errno((int)rc) : rc;
	}
	pd_leave(p, &w);
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

/* Total length of an iovec array, or -1 (errno EINVAL) when it does not fit a ssize_t. */
static ssize_t iov_total(const struct iovec *iov, int iovcnt)
{
	size_t total = 0;
	if (iovcnt < 0)
		goto bad;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > (size_t)SSIZE_MAX - total)
			goto bad;
		total += iov[i].iov_len;
	}
	return (ssize_t)total;
bad:
	errno = EINVAL;
	return -1;
}

/* readv(): one recv() into a buffer we own (so that it blocks once, like the kernel's), then
 * scattered. */
static ssize_t pd_readv(void *u, int fd, const struct iovec *iov, int iovcnt)
{
	ssize_t total = iov_total(iov, iovcnt);
	if (total < 0)
		return -1;
	char *tmp = malloc(total ? (size_t)total : 1);
	if (!tmp) {
		errno = ENOMEM;
		return -1;
	}
	ssize_t r = pd_recv(u, fd, tmp, (size_t)total, 0);
	for (ssize_t off = 0, i = 0; r > 0 && off < r; i++) {
		size_t k = iov[i].iov_len < (size_t)(r - off) ? iov[i].iov_len : (size_t)(r - off);
		memcpy(iov[i].iov_base, tmp + off, k);
		off += (ssize_t)k;
	}
	free(tmp);
	return r;
}

/* send(): on a blocking socket (and without MSG_DONTWAIT), waits until all n bytes are queued
 * (sk_stream_wait_memory()); an error after some were queued returns their count. */
static ssize_t pd_send(void *u, int fd, const void *buf, size_t n, int flags)
{
	struct pd *p = u;
	struct pd_waiter w = {.x = -1, .deadline_us = PD_NEVER};
	pd_lock(p);
	long rc;
	int x = sfd(p, fd);
	if (x < 0) {
		rc = -1;
	} else if (flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL)) {
		rc = set_errno(-EOPNOTSUPP);
	} else {
		w.x = x;
		int may_block = blocking(p, fd) && !(flags & MSG_DONTWAIT);
		size_t done = 0;
		for (;;) {
			rc = synq_write(p->s, x, (const char *)buf + done, n - done, now_ns(p));
			if (rc > 0)
				done += (size_t)rc;
			if (rc >= 0 && (done == n || !may_block)) {
				rc = (long)done;
				break;
			}
			if (rc < 0 && (rc != -EAGAIN || !may_block)) {
				rc = done ? (long)done : rc;
				break;
			}
			if (rc < 0) {
				int wc = wait_change(p, &w);
				if (wc < 0) {
					rc = done ? (long)done : wc;
					break;
				}
			}
		}
		rc = rc < 0 ? set_errno((int)rc) : rc;
	}
	pd_leave(p, &w);
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

/* writev(): gathered into a buffer we own, then one send(). */
static ssize_t pd_writev(void *u, int fd, const struct iovec *iov, int iovcnt)
{
	ssize_t total = iov_total(iov, iovcnt);
	if (total < 0)
		return -1;
	char *tmp = malloc(total ? (size_t)total : 1);
	if (!tmp) {
		errno = ENOMEM;
		return -1;
	}
	size_t off = 0;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len)
			memcpy(tmp + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	ssize_t r = pd_send(u, fd, tmp, (size_t)total, 0);
	free(tmp);
	return r;
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

/* close(): the descriptor goes at once; the socket waits for a call blocked on it in another
 * thread to return (that call holds it, as a file reference does on Linux). */
static int pd_close(void *u, int fd)
{
	struct pd *p = u;
	pd_lock(p);
	int rc, x = sfd(p, fd);
	if (x < 0) {
		rc = -1;
	} else {
		struct pd_waiter *w = p->waiters;
		while (w && w->x != x)
			w = w->next;
		if (w) {
			w->close_after = 1;
			rc = 0;
		} else {
			rc = (rc = synq_close(p->s, x, now_ns(p))) < 0 ? set_errno(rc) : 0;
		}
		p->sq[fd] = 0;
		close(fd);
	}
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
	pd_unlock(p);
	return rc;
}

/* Fill in fds[].revents; returns how many are non-zero. */
static int poll_once(const struct pd *p, struct pollfd *fds, nfds_t nfds)
{
	int ready = 0;
	for (nfds_t i = 0; i < nfds; i++) {
		if (fds[i].fd < 0) { /* ignored, as poll(2) does */
			fds[i].revents = 0;
			continue;
		}
		int x = fds[i].fd < PD_MAX_FDS ? p->sq[fds[i].fd] - 1 : -1;
		int m = x < 0 ? POLLNVAL : synq_poll(p->s, x);
		if (m < 0)
			m = POLLNVAL;
		fds[i].revents = (short)(m & (fds[i].events | POLLERR | POLLHUP | POLLNVAL));
		if (fds[i].revents)
			ready++;
	}
	return ready;
}

/* poll(): with nothing ready and timeout != 0, waits until something is (on any socket,
 * blocking or not) or timeout ms of virtual time have passed (negative: no limit). */
static int pd_poll(void *u, struct pollfd *fds, nfds_t nfds, int timeout)
{
	struct pd *p = u;
	struct pd_waiter w = {.x = -1, .deadline_us = PD_NEVER};
	pd_lock(p);
	if (timeout >= 0)
		w.deadline_us = p->now_us + (uint64_t)timeout * 1000u;
	int rc;
	while (!(rc = poll_once(p, fds, nfds)) && timeout != 0) {
		int wc = wait_change(p, &w);
		if (wc == -ETIMEDOUT) {
			rc = poll_once(p, fds, nfds);
			break;
		}
		if (wc < 0) {
			rc = set_errno(wc);
			break;
		}
	}
	pd_leave(p, &w);
	return rc;
}

/* ---- packets and time ------------------------------------------------------------------------ */

static int pd_netdev_send(void *u, const void *buf, size_t count)
{
	struct pd *p = u;
	pd_lock(p);
	int rc = synq_input(p->s, buf, count, now_ns(p));
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
		uint64_t t = next_event_us(p);
		if (t == PD_NEVER)
			break;
		advance_to(p, t);
	}
	struct pd_pkt *k = p->head;
	if (!k) {
		pd_unlock_raw(p);
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
	pd_unlock_raw(p);
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
	pd_unlock_raw(p);
	return 0;
}

/* The virtual clock. packetdrill spins on it for the last 20 us before an event (the main
 * thread, or the syscall thread before a blocking call), so a thread's second gettimeofday() in
 * a row moves it by 1 us. The first one after a call only reads it: that is how a blocked
 * call's thread reads the time its call returned. */
static int pd_gettimeofday(void *u, struct timeval *tv, struct timezone *tz)
{
	struct pd *p = u;
	pd_lock_keep_spin(p);
	if (tl_gtod == p)
		advance_to(p, p->now_us + 1);
	tl_gtod = p;
	if (tv) {
		tv->tv_sec = (time_t)(p->now_us / 1000000);
		tv->tv_usec = (suseconds_t)(p->now_us % 1000000);
	}
	pd_unlock_raw(p);
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

/* packetdrill calls it after joining its syscall thread, so no call is blocked any more. */
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
	pthread_cond_destroy(&p->settled);
	pthread_cond_destroy(&p->wake);
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
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* their timed waits are in real time */
	pthread_cond_init(&p->wake, &ca);
	pthread_cond_init(&p->settled, &ca);
	pthread_condattr_destroy(&ca);
	p->main = pthread_self(); /* so_instance_init() runs on packetdrill's main thread */
	p->main_tid = (pid_t)syscall(SYS_gettid);
	p->drive_until_us = PD_NEVER;
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
