#!/usr/bin/python3
"""Kernel TCP clients for the listen-queue overflow experiment (tests/serve/test_serve.sh).

usage: clients.py HOST PORT FILL BURST READY_FILE HOLD_S [STOP_PID]

FILL clients connect one after the other (each waits until connected, at most 3 s), then BURST
clients connect at once (non-blocking). After 0.5 s the connect() results are written to
READY_FILE as JSON ({"fill": [...], "burst": [...]}, each "connected", "pending" or an errno
name), then the sockets are held open for HOLD_S seconds at most (the test kills us earlier).

STOP_PID (synq serve's pid): the server is stopped (SIGSTOP) while the burst SYNs are sent and
continued (SIGCONT) 0.2 s later, so that they reach it together, as over the 50 ms client->server
delay of the kernel-truth runs; without it, each handshake completes before the next connect()
(no delay on the TUN device), and the burst SYNs meet a full accept queue instead.
The same program can be pointed at a kernel listener to compare.
"""
import errno
import json
import os
import select
import signal
import socket
import sys
import time


def state(s):
    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:
        return errno.errorcode.get(err, str(err))
    _, w, _ = select.select([], [s], [], 0)
    return "connected" if w else "pending"


def nb_connect(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect((host, port))
    except BlockingIOError:
        pass
    return s


def main():
    host, port, fill, burst, ready, hold = sys.argv[1:7]
    stop_pid = int(sys.argv[7]) if len(sys.argv) > 7 else 0
    port, fill, burst, hold = int(port), int(fill), int(burst), float(hold)
    socks = []
    fill_res = []
    for _ in range(fill):
        s = nb_connect(host, port)
        select.select([], [s], [], 3.0)
        fill_res.append(state(s))
        socks.append(s)
    if stop_pid:
        os.kill(stop_pid, signal.SIGSTOP)
    try:
        burst_socks = [nb_connect(host, port) for _ in range(burst)]
        if stop_pid:
            time.sleep(0.2)
    finally:
        if stop_pid:
            os.kill(stop_pid, signal.SIGCONT)
    socks += burst_socks
    time.sleep(0.5)
    res = {"fill": fill_res, "burst": [state(s) for s in burst_socks]}
    tmp = ready + ".tmp"
    with open(tmp, "w") as f:
        json.dump(res, f)
    os.rename(tmp, ready)
    end = time.monotonic() + hold
    while time.monotonic() < end:
        time.sleep(0.1)


if __name__ == "__main__":
    main()
