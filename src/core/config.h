/*
 * config.h — struct synq_config validation and text assignment (private to libsynq).
 *
 * The public side (synq_config_init/set/get/knob) is declared in synq.h. The stack uses the two
 * functions below: config_check() when a stack is created, config_apply() for synq_stack_set()
 * (a running stack cannot be resized: the sizing knobs answer -EPERM).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYNQ_CONFIG_H
#define SYNQ_CONFIG_H

#include "synq.h"

/* Limits of synq's own sizing knobs (net.synq.*), shared by config_check() and the setters. */
#define CONFIG_MAX_REQUESTS_MAX (1 << 24)
#define CONFIG_MAX_SOCKETS_MAX  (1 << 24)
#define CONFIG_SOCK_BUF_MIN     4096
#define CONFIG_SOCK_BUF_MAX     (16 << 20)
#define CONFIG_OUT_RING_MIN     4096
#define CONFIG_OUT_RING_MAX     (1 << 30)
#define CONFIG_MTU_MIN          576
#define CONFIG_MTU_MAX          9000

/* Longest text synq_config_get() can produce (8 addresses "255.255.255.255" and spaces). */
#define CONFIG_VALUE_MAX        160

/** 0 if every field of cfg is within its knob's range, -EINVAL otherwise: each sysctl in the
 *  range synq_config_set() accepts, 1 <= ip_local_port_range lo <= hi <= 65535, n_local_addrs in
 *  0..SYNQ_MAX_ADDRS with no zero or repeated address, the sizing knobs within the CONFIG_*
 *  limits above, and the alloc and free hooks either both set or both NULL. */
int config_check(const struct synq_config *cfg);

/** synq_config_set(), except that when running != 0 the sizing knobs (net.synq.max_requests,
 *  max_sockets, sock_buf_bytes, out_ring_bytes, mtu) answer -EPERM. Errors: -ENOENT, -EINVAL,
 *  -ENOSPC, -EEXIST (local_addr already present), -EPERM; cfg is unchanged on error. */
int config_apply(struct synq_config *cfg, const char *assignment, int running);

#endif /* SYNQ_CONFIG_H */
