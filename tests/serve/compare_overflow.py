#!/usr/bin/python3
"""Compares the overflow experiment run against a kernel listener and against synq serve
(tests/serve/test_serve_kernel.sh). Prints a side-by-side table; exit 1 on any difference.

usage: compare_overflow.py DIR

DIR holds, for run R in (kernel, synq):
  R.json       tests/serve/overflow.py's result (client-visible outcomes)
  R.counters   "NAME VALUE" lines: the server's counters over the run (the kernel's from its
               namespace's /proc/net/{snmp,netstat}, end minus start; synq's from synq nstat)
  R.ss         "RECVQ SENDQ SYNRECV ESTAB" at burst + 0.5 s: the listener's Recv-Q and Send-Q
               (ss -lnt / synq ss -lnt), the numbers of SYN-RECV and ESTAB entries (ss -tan /
               synq ss -tan; TcpCurrEstab is a gauge that nstat does not print)

Compared: every client's connect() result, whether its bytes got through, the error it ended
with; the times of those events within TOL_MS (the kernel's timer slack: its SYN-ACK timers sit
on a HZ=250 wheel, synq's run on the exact nanosecond); the counters in COUNTERS exactly; the
ss numbers exactly.
"""
import json
import sys

TOL_MS = 300.0
COUNTERS = [
    "TcpExtListenOverflows", "TcpExtListenDrops", "TcpExtTCPReqQFullDrop",
    "TcpExtTCPReqQFullDoCookies", "TcpExtSyncookiesSent", "TcpExtSyncookiesRecv",
    "TcpExtSyncookiesFailed", "TcpExtTCPSynRetrans", "TcpExtTCPTimeouts", "TcpPassiveOpens",
    "TcpAttemptFails", "TcpEstabResets", "TcpOutRsts", "TcpRetransSegs", "TcpInSegs",
    "TcpOutSegs",
]


def load_counters(path):
    c = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 2:
            c[f[0]] = int(f[1])
    return c


def main():
    d = sys.argv[1]
    k, s = (json.load(open("%s/%s.json" % (d, r))) for r in ("kernel", "synq"))
    kc, sc = (load_counters("%s/%s.counters" % (d, r)) for r in ("kernel", "synq"))
    kss, sss = (open("%s/%s.ss" % (d, r)).read().split() for r in ("kernel", "synq"))
    bad = []
    print("%-28s %14s %14s" % ("", "kernel", "synq"))

    def row(name, a, b, ok):
        print("%-28s %14s %14s%s" % (name, a, b, "" if ok else "   <-- differs"))
        if not ok:
            bad.append(name)

    row("fill connect()", ",".join(k["fill"]), ",".join(s["fill"]), k["fill"] == s["fill"])
    if len(k["burst"]) != len(s["burst"]):
        row("burst clients", len(k["burst"]), len(s["burst"]), False)
    for a, b in zip(k["burst"], s["burst"]):
        p = a["port"]
        for key in ("connect", "error"):
            row("%d %s" % (p, key), a[key], b[key], a[key] == b[key])
        row("%d data through" % p, a["acked_ms"] is not None, b["acked_ms"] is not None,
            (a["acked_ms"] is None) == (b["acked_ms"] is None))
        for key in ("connect_ms", "acked_ms", "error_ms"):
            x, y = a[key], b[key]
            if x is None or y is None:
                continue
            row("%d %s" % (p, key), x, y, abs(x - y) <= TOL_MS)
    for n in COUNTERS:
        row(n, kc.get(n, 0), sc.get(n, 0), kc.get(n, 0) == sc.get(n, 0))
    for i, n in enumerate(("listener Recv-Q", "listener Send-Q", "SYN-RECV requests",
                           "ESTAB connections")):
        row(n, kss[i] if i < len(kss) else "?", sss[i] if i < len(sss) else "?",
            kss[i:i + 1] == sss[i:i + 1])
    # the experiment must have happened, or equal outcomes prove nothing
    if not (kc.get("TcpExtListenOverflows", 0) > 0 and
            any(b["error"] == "ECONNRESET" for b in k["burst"]) and
            any(b["acked_ms"] is not None for b in k["burst"])):
        bad.append("the kernel run shows no overflow, no ECONNRESET or no data through")
    if bad:
        print("differs: " + ", ".join(bad))
        sys.exit(1)
    print("same")


if __name__ == "__main__":
    main()
