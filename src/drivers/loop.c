/*
 * loop.c — epoll + timerfd + signalfd (see loop.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "drivers/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_BATCH 64

struct watch {
	int fd;
	loop_fd_fn fn;
	void *user;
};

struct loop {
	int ep;
	int tfd;
	int sfd;
	sigset_t sigs;
	loop_sig_fn sig_fn;
	void *sig_user;
	struct watch *w; /* indexed by fd */
	int nw;
	uint64_t deadline;
	int stop;
};

uint64_t loop_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct loop *loop_new(int *err)
{
	struct loop *l = calloc(1, sizeof(*l));
	if (!l) {
		if (err)
			*err = -ENOMEM;
		return NULL;
	}
	l->sfd = -1;
	l->deadline = UINT64_MAX;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (l->ep < 0 || l->tfd < 0) {
		if (err)
			*err = -errno;
		loop_free(l);
		return NULL;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = l->tfd};
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, l->tfd, &ev) < 0) {
		if (err)
			*err = -errno;
		loop_free(l);
		return NULL;
	}
	return l;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	if (l->ep >= 0)
		close(l->ep);
	if (l->tfd >= 0)
		close(l->tfd);
	if (l->sfd >= 0) {
		close(l->sfd);
		sigprocmask(SIG_UNBLOCK, &l->sigs, NULL);
	}
	free(l->w);
	free(l);
}

static int grow(struct loop *l, int fd)
{
	if (fd < l->nw)
		return 0;
	int n = l->nw ? l->nw : 16;
	while (n <= fd)
		n *= 2;
	struct watch *w = realloc(l->w, (size_t)n * sizeof(*w));
	if (!w)
		return -ENOMEM;
	memset(w + l->nw, 0, (size_t)(n - l->nw) * sizeof(*w));
	for (int i = l->nw; i < n; i++)
		w[i].fd = -1;
	l->w = w;
	l->nw = n;
	return 0;
}

int loop_add(struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *user)
{
	if (fd < 0 || !fn)
		return -EINVAL;
	int rc = grow(l, fd);
	if (rc)
		return rc;
	struct epoll_event ev = {.events = events, .data.fd = fd};
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	l->w[fd] = (struct watch){fd, fn, user};
	return 0;
}

int loop_mod(struct loop *l, int fd, uint32_t events)
{
	if (fd < 0 || fd >= l->nw || l->w[fd].fd != fd)
		return -ENOENT;
	struct epoll_event ev = {.events = events, .data.fd = fd};
	return epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int loop_del(struct loop *l, int fd)
{
	if (fd < 0 || fd >= l->nw || l->w[fd].fd != fd)
		return -ENOENT;
	l->w[fd].fd = -1;
	return epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
}

int loop_signals(struct loop *l, const int *sigs, int n, loop_sig_fn fn, void *user)
{
	if (l->sfd >= 0)
		return -EBUSY;
	sigemptyset(&l->sigs);
	for (int i = 0; i < n; i++)
		sigaddset(&l->sigs, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &l->sigs, NULL) < 0)
		return -errno;
	l->sfd = signalfd(-1, &l->sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (l->sfd < 0) {
		int e = errno;
		sigprocmask(SIG_UNBLOCK, &l->sigs, NULL);
		return -e;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = l->sfd};
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, l->sfd, &ev) < 0)
		return -errno;
	l->sig_fn = fn;
	l->sig_user = user;
	return 0;
}

int loop_set_deadline(struct loop *l, uint64_t t_ns)
{
	if (t_ns == l->deadline)
		return 0;
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	if (t_ns != UINT64_MAX) {
		if (t_ns == 0)
			t_ns = 1; /* 0 would disarm */
		its.it_value.tv_sec = (time_t)(t_ns / 1000000000ull);
		its.it_value.tv_nsec = (long)(t_ns % 1000000000ull);
	}
	if (timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	l->deadline = t_ns;
	return 0;
}

int loop_run_once(struct loop *l, int max_wait_ms)
{
	struct epoll_event evs[LOOP_BATCH];
	int n;
	do
		n = epoll_wait(l->ep, evs, LOOP_BATCH, max_wait_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	int ran = 0;
	for (int i = 0; i < n; i++) {
		int fd = evs[i].data.fd;
		if (fd == l->tfd) {
			uint64_t ticks;
			while (read(l->tfd, &ticks, sizeof(ticks)) > 0) {
			}
			l->deadline = UINT64_MAX; /* fired: disarmed */
			continue;
		}
		if (fd == l->sfd) {
			struct signalfd_siginfo si;
			while (read(l->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (l->sig_fn)
					l->sig_fn(l->sig_user, (int)si.ssi_signo);
				ran++;
			}
			continue;
		}
		if (fd < 0 || fd >= l->nw || l->w[fd].fd != fd)
			continue; /* removed by an earlier callback of this batch */
		l->w[fd].fn(l->w[fd].user, fd, evs[i].events);
		ran++;
	}
	return ran;
}

void loop_stop(struct loop *l)
{
	l->stop = 1;
}

int loop_stopped(const struct loop *l)
{
	return l->stop;
}
