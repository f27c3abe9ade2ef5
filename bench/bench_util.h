/*
 * bench_util.h — what the engine benchmarks (bench/bench_*.c) share: a seeded SplitMix64
 * randomness hook, CLOCK_MONOTONIC in ns, the median of a run's figures, and a config setter
 * that stops the benchmark on an error. Include after defining BENCH_NAME (for messages).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYNQ_BENCH_UTIL_H
#define SYNQ_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "synq.h"

#define NS_PER_S 1000000000ull

#define DIE(...)                                                                             \
	do {                                                                                 \
		fprintf(stderr, BENCH_NAME ": " __VA_ARGS__);                                \
		fputc('\n', stderr);                                                         \
		exit(1);                                                                     \
	} while (0)

/* the stack's randomness hook (synq_config.rand): user is a struct rng */
struct rng {
	uint64_t x;
};

static inline void rng_fill(void *user, void *buf, size_t len)
{
	struct rng *r = user;
	uint8_t *p = buf;
	while (len) {
		uint64_t z = (r->x += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		size_t n = len < 8 ? len : 8;
		memcpy(p, &z, n);
		p += n;
		len -= n;
	}
}

static inline uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* sorts v */
static inline double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static inline void cfg_or_die(struct synq_config *cfg, const char *a)
{
	int rc = synq_config_set(cfg, a);
	if (rc)
		DIE("config \"%s\": %d", a, rc);
}

#endif /* SYNQ_BENCH_UTIL_H */
