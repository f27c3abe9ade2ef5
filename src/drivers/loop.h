/*
 * loop.h — a small epoll event loop for drivers: file descriptors with callbacks, one deadline
 * on CLOCK_MONOTONIC (a timerfd armed at the exact nanosecond), signals through a signalfd.
 *
 * Typical use with a synq stack: the TUN fd's callback reads a batch of packets into
 * synq_input(); after every wake-up the owner calls synq_on_timeout(), drains synq_output()
 * and re-arms loop_set_deadline(synq_next_deadline()).
 *
 * Not thread-safe. Callbacks may add, remove or re-arm anything, and call loop_stop().
 * Errors are negative errno values.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYNQ_DRIVERS_LOOP_H
#define SYNQ_DRIVERS_LOOP_H

#include <stdint.h>

struct loop;

/** fd is ready: events are EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP bits. */
typedef void (*loop_fd_fn)(void *user, int fd, uint32_t events);
/** A signal in the loop's set arrived (signo). */
typedef void (*loop_sig_fn)(void *user, int signo);

/** CLOCK_MONOTONIC in nanoseconds. */
uint64_t loop_now(void);

/** Create a loop. NULL on failure with *err set (if err non-NULL). */
struct loop *loop_new(int *err);
/** Free the loop (the fds added are not closed; the signals are unblocked). NULL allowed. */
void loop_free(struct loop *l);

/** Watch fd for events (EPOLLIN, EPOLLOUT...). loop_mod changes the events, loop_del stops. */
int loop_add(struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *user);
int loop_mod(struct loop *l, int fd, uint32_t events);
int loop_del(struct loop *l, int fd);

/** Block the signals in sigs[0..n) and deliver them to fn through a signalfd (once per loop). */
int loop_signals(struct loop *l, const int *sigs, int n, loop_sig_fn fn, void *user);

/** Wake up at t_ns (CLOCK_MONOTONIC, absolute); UINT64_MAX = no deadline. A deadline in the past
 *  makes the next loop_run_once() return at once. */
int loop_set_deadline(struct loop *l, uint64_t t_ns);

/** Wait until an fd is ready, the deadline passes or a signal comes (at most max_wait_ms, -1 =
 *  no bound), and run the callbacks. Returns the number of callbacks run (0: the deadline or the
 *  bound), or a negative errno (EINTR is retried). */
int loop_run_once(struct loop *l, int max_wait_ms);

/** Ask loop_run() to return; loop_stopped() tells whether it was asked. */
void loop_stop(struct loop *l);
int loop_stopped(const struct loop *l);

#endif /* SYNQ_DRIVERS_LOOP_H */
