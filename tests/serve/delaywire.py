#!/usr/bin/python3
"""A point-to-point IPv4 wire between two network namespaces, with a one-way delay.

usage: delaywire.py NS_A DEV_A NS_B DEV_B DELAY_MS READY_FILE LIFETIME_S

Creates TUN device DEV_A in namespace NS_A and DEV_B in NS_B (names from `ip netns add`), then
copies every IP packet read from one device to the other: A -> B after DELAY_MS, B -> A at once.
This is the client->server delay that kernel-truth adds with NFQUEUE (the kernel here has no
sch_netem), for the kernel listener of tests/serve/test_serve_kernel.sh; `synq serve --delay`
gives the synq run the same delay. The caller configures the addresses (`ip -n NS addr add ...
dev DEV; ip -n NS link set DEV up`) once READY_FILE exists. The devices are not persistent: they
disappear when this process exits (SIGTERM, or LIFETIME_S at the latest). At most 4096 packets
are held; more are dropped and counted on stderr at exit.
"""
import ctypes
import fcntl
import heapq
import os
import select
import signal
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MAX_HELD = 4096


def open_tun(ns, dev, libc):
    nsfd = os.open("/run/netns/" + ns, os.O_RDONLY)
    try:
        if libc.setns(nsfd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns %s: %s" % (ns, os.strerror(e)))
    finally:
        os.close(nsfd)
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", dev.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main():
    if len(sys.argv) != 8:
        sys.exit(__doc__.strip().splitlines()[2])
    ns_a, dev_a, ns_b, dev_b, delay_ms, ready, life = sys.argv[1:]
    delay = float(delay_ms) / 1000.0
    end = time.monotonic() + float(life)
    libc = ctypes.CDLL(None, use_errno=True)
    fa = open_tun(ns_a, dev_a, libc)
    fb = open_tun(ns_b, dev_b, libc)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    with open(ready + ".tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(ready + ".tmp", ready)
    held = []  # (due, seq, packet) A -> B
    seq = dropped = 0
    while not stop and time.monotonic() < end:
        now = time.monotonic()
        while held and held[0][0] <= now:
            try:
                os.write(fb, heapq.heappop(held)[2])
            except OSError:
                dropped += 1  # the device is down or not yet up
        wait = min(0.2, held[0][0] - now) if held else 0.2
        try:
            r, _, _ = select.select([fa, fb], [], [], max(wait, 0))
        except InterruptedError:
            continue
        for fd in r:
            for _ in range(64):
                try:
                    p = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if not p or (p[0] >> 4) != 4:
                    continue  # only IPv4 crosses (no router solicitations)
                if fd == fa:
                    if len(held) >= MAX_HELD:
                        dropped += 1
                        continue
                    seq += 1
                    heapq.heappush(held, (time.monotonic() + delay, seq, p))
                else:
                    try:
                        os.write(fa, p)
                    except OSError:
                        dropped += 1
    if dropped:
        print("delaywire: %d packets dropped" % dropped, file=sys.stderr)


if __name__ == "__main__":
    main()
