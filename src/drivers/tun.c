/*
 * tun.c — TUN device set-up with ioctls (see tun.h).
 *
 * A fresh struct ifreq for every ioctl: ifr_flags and ifr_mtu share storage.
 *
 * SPDX-License-Identifier: MIT
 */
#include "drivers/tun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(char *err, size_t cap, int e, const char *fmt, ...)
{
	if (cap) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(err, cap, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < cap) {
			const char *hint = "";
			if (e == EPERM || e == EACCES)
				hint = " (needs CAP_NET_ADMIN: run as root)";
			snprintf(err + n, cap - (size_t)n, ": %s%s", strerror(e), hint);
		}
	}
	return -e;
}

static void ifr_init(struct ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
}

static void sin_set(struct sockaddr *sa, uint32_t ip)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(ip);
	memcpy(sa, &sin, sizeof(sin));
}

static uint32_t prefix_mask(int prefix)
{
	return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1u);
}

static void disable_ipv6(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* no IPv6 in this kernel: nothing to disable */
	if (write(fd, "1\n", 2) < 0) {
		/* not fatal: non-IPv4 packets are dropped and counted anyway */
	}
	close(fd);
}

int tun_open(const struct tun_params *p, char *err, size_t cap)
{
	if (cap)
		err[0] = 0;
	if (!p || !p->name || !p->name[0] || strlen(p->name) >= IFNAMSIZ || strchr(p->name, '/'))
		return fail(err, cap, EINVAL, "bad interface name (1..%d characters, no '/')",
			    IFNAMSIZ - 1);
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT || e == ENODEV || e == ENXIO)
			return fail(err, cap, ENOENT,
				    "cannot open /dev/net/tun (modprobe tun; in a container, pass the "
				    "device in)");
		return fail(err, cap, e, "cannot open /dev/net/tun");
	}
	struct ifreq ifr;
	ifr_init(&ifr, p->name);
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		close(fd);
		if (e == EBUSY)
			return fail(err, cap, e, "TUN device %s is already in use by another process",
				    p->name);
		if (e == EINVAL)
			return fail(err, cap, e, "%s exists and is not a TUN device", p->name);
		return fail(err, cap, e, "cannot create TUN device %s", p->name);
	}
	disable_ipv6(p->name);

	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		int e = errno;
		close(fd);
		return fail(err, cap, e, "socket(AF_INET)");
	}
	int e = 0;
	const char *what = "";
	if (p->mtu > 0) {
		ifr_init(&ifr, p->name);
		ifr.ifr_mtu = p->mtu;
		if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
			e = errno;
			what = "set the MTU of";
			goto out;
		}
	}
	ifr_init(&ifr, p->name);
	sin_set(&ifr.ifr_addr, p->host_addr);
	if (ioctl(s, SIOCSIFADDR, &ifr) < 0) {
		e = errno;
		what = "set the address of";
		goto out;
	}
	ifr_init(&ifr, p->name);
	sin_set(&ifr.ifr_netmask, prefix_mask(p->host_prefix));
	if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0) {
		e = errno;
		what = "set the netmask of";
		goto out;
	}
	ifr_init(&ifr, p->name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		e = errno;
		what = "read the flags of";
		goto out;
	}
	short flags = ifr.ifr_flags;
	ifr_init(&ifr, p->name);
	ifr.ifr_flags = (short)(flags | IFF_UP | IFF_RUNNING);
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
		e = errno;
		what = "bring up";
		goto out;
	}
	uint32_t hm = prefix_mask(p->host_prefix);
	if (p->route_addr && (p->route_addr & hm) != (p->host_addr & hm)) {
		struct rtentry rt;
		memset(&rt, 0, sizeof(rt));
		uint32_t rm = prefix_mask(p->route_prefix);
		sin_set(&rt.rt_dst, p->route_addr & rm);
		sin_set(&rt.rt_genmask, rm);
		sin_set(&rt.rt_gateway, 0);
		rt.rt_flags = RTF_UP | (p->route_prefix == 32 ? RTF_HOST : 0);
		char dev[IFNAMSIZ];
		snprintf(dev, sizeof(dev), "%s", p->name);
		rt.rt_dev = dev;
		if (ioctl(s, SIOCADDRT, &rt) < 0 && errno != EEXIST) {
			e = errno;
			what = "add the route to synq's address through";
			goto out;
		}
	}
out:
	close(s);
	if (e) {
		close(fd);
		return fail(err, cap, e, "cannot %s %s", what, p->name);
	}
	return fd;
}

void tun_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

int tun_addr_is_local(uint32_t ip)
{
	/* (bind() is no test: in a namespace without a local table it accepts any address) */
	struct ifaddrs *ifa;
	if (getifaddrs(&ifa) < 0)
		return -errno;
	int found = 0;
	for (struct ifaddrs *i = ifa; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		struct sockaddr_in sin;
		memcpy(&sin, i->ifa_addr, sizeof(sin));
		found = ntohl(sin.sin_addr.s_addr) == ip;
	}
	freeifaddrs(ifa);
	return found;
}
