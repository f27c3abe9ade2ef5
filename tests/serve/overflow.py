#!/usr/bin/python3
"""The listen-queue overflow experiment, client side, for one run against a listener (synq serve
or a kernel listener): the same program and arguments for both, so that their outcomes can be
compared (tests/serve/test_serve_kernel.sh).

usage: overflow.py HOST PORT FILL BURST SEND_BYTES WATCH_S OUT_JSON [HOLD_S]

As kernel-truth's S4-short: FILL clients (source ports 40001...) connect 300 ms apart and stay
silent; 1 s after the first, BURST clients (source ports 40011...) connect at once, non-blocking,
and each writes SEND_BYTES as soon as it is connected. For WATCH_S seconds after the burst every
burst client is watched every 5 ms: when connect() completed (or failed, with its errno), when its
bytes were all acknowledged (TIOCOUTQ reaches 0: "data through"), and when the connection failed
(an errno, e.g. ECONNRESET after the server forgot the request). A file OUT_JSON.burst is written
at the burst (its content: the burst's CLOCK_MONOTONIC time), and OUT_JSON at the end:
  {"fill": ["connected", ...],
   "burst": [{"port": 40011, "connect": "connected"|"pending"|ERRNO, "connect_ms": ms|null,
              "acked_ms": ms|null, "error": ERRNO|null, "error_ms": ms|null}, ...]}
(ms after the burst). Then the sockets are kept open for HOLD_S seconds (default 30; the caller
reads the server's counters and stops us with SIGTERM), so that closing them does not move the
counters being compared.
"""
import errno
import fcntl
import json
import os
import select
import socket
import sys
import termios
import time


def connect_nb(host, port, lport):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", lport))
    s.setblocking(False)
    try:
        s.connect((host, port))
    except BlockingIOError:
        pass
    return s


def so_error(s):
    e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    return errno.errorcode.get(e, str(e)) if e else None


def outq(s):
    b = fcntl.ioctl(s.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    return int.from_bytes(b, sys.byteorder)


def write_atomic(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def main():
    if len(sys.argv) not in (8, 9):
        sys.exit(__doc__.strip().splitlines()[4])
    host, port, fill, burst, nbytes, watch, out = sys.argv[1:8]
    hold = float(sys.argv[8]) if len(sys.argv) > 8 else 30.0
    port, fill, burst, nbytes, watch = int(port), int(fill), int(burst), int(nbytes), float(watch)
    t0 = time.monotonic()
    keep = []
    fill_res = []
    for i in range(fill):
        s = connect_nb(host, port, 40001 + i)
        _, w, _ = select.select([], [s], [], 3.0)
        fill_res.append(so_error(s) or ("connected" if w else "pending"))
        keep.append(s)
        time.sleep(max(0.0, t0 + 0.3 * (i + 1) - time.monotonic()))
    time.sleep(max(0.0, t0 + 1.0 - time.monotonic()))
    tb = time.monotonic()
    socks = [connect_nb(host, port, 40011 + i) for i in range(burst)]
    write_atomic(out + ".burst", "%.6f\n" % tb)
    rec = [{"port": 40011 + i, "connect": "pending", "connect_ms": None, "acked_ms": None,
            "error": None, "error_ms": None} for i in range(burst)]
    sent = [False] * burst
    ms = lambda: round((time.monotonic() - tb) * 1000.0, 1)  # noqa: E731
    while time.monotonic() < tb + watch:
        for i, s in enumerate(socks):
            r = rec[i]
            if r["error"]:
                continue
            e = so_error(s)
            if e:
                r["error"], r["error_ms"] = e, ms()
                if r["connect"] == "pending":
                    r["connect"] = e
                continue
            if r["connect"] == "pending":
                _, w, _ = select.select([], [s], [], 0)
                if not w:
                    continue
                r["connect"], r["connect_ms"] = "connected", ms()
            if not sent[i] and nbytes:
                try:
                    s.send(b"x" * nbytes)
                    sent[i] = True
                except OSError as ex:
                    r["error"], r["error_ms"] = errno.errorcode.get(ex.errno, str(ex.errno)), ms()
                    continue
            if sent[i] and r["acked_ms"] is None and outq(s) == 0:
                r["acked_ms"] = ms()
            rd, _, _ = select.select([s], [], [], 0)
            if rd:
                try:
                    if s.recv(4096) == b"":
                        r["error"], r["error_ms"] = "EOF", ms()
                except OSError as ex:
                    r["error"], r["error_ms"] = errno.errorcode.get(ex.errno, str(ex.errno)), ms()
        time.sleep(0.005)
    write_atomic(out, json.dumps({"fill": fill_res, "burst": rec}, indent=1) + "\n")
    end = time.monotonic() + hold
    while time.monotonic() < end:
        time.sleep(0.1)


if __name__ == "__main__":
    main()
