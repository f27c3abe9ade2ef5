/*
 * tun.h — a TUN device (layer 3, IFF_TUN|IFF_NO_PI) configured with plain ioctls.
 *
 * tun_open() creates the device (or attaches to an existing persistent one of that name), sets
 * its MTU, disables IPv6 on it (so the kernel sends no router solicitations), gives the kernel's
 * side an address and netmask and brings it up. The kernel then routes the prefix through the
 * device: every packet it sends there is read from the returned fd, and every packet written to
 * the fd is received by the kernel as if it came from the wire. A non-persistent device
 * disappears when its last fd is closed (tun_close).
 *
 * Addresses are IPv4 in host byte order. Errors are negative errno values; tun_open() also writes
 * a one-line explanation into err (what failed and, for the usual causes, what to do).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYNQ_DRIVERS_TUN_H
#define SYNQ_DRIVERS_TUN_H

#include <stddef.h>
#include <stdint.h>

struct tun_params {
	const char *name;    /* interface name, at most 15 bytes */
	int mtu;             /* 0: leave the default (1500) */
	uint32_t host_addr;  /* the kernel's address on the device */
	int host_prefix;     /* its prefix length (0..32): the kernel routes that prefix here */
	uint32_t route_addr; /* if not in host_addr/host_prefix (and nonzero): route addr/route_prefix */
	int route_prefix;    /* through the device too */
};

/** Create and configure the device. Returns a non-blocking, close-on-exec fd, or -ENOENT (no
 *  /dev/net/tun), -EPERM/-EACCES (no CAP_NET_ADMIN), -EBUSY (the device is in use), -EINVAL
 *  (bad name), or another negative errno; err (cap bytes) says which step failed. On error
 *  nothing is left behind. */
int tun_open(const struct tun_params *p, char *err, size_t cap);

/** Close the device fd (a non-persistent device is removed). */
void tun_close(int fd);

/** 1 if ip is an address of an interface in this network namespace (getifaddrs),
 *  0 if not, negative errno if that cannot be checked. */
int tun_addr_is_local(uint32_t ip);

#endif /* SYNQ_DRIVERS_TUN_H */
