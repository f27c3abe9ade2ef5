#!/usr/bin/python3
"""Extract the kernel's recorded behaviour (../shared/kernel-truth/out/<S>/) into the compact
golden files the scenario tests read (tests/scenario/kernel/<S>.golden).

Usage: extract.py KERNEL_TRUTH_OUT_DIR SCENARIO...

Golden format, one fact per line:
  pkt T_MS DIR PORT FLAGS REL_SEQ REL_ACK LEN   a packet of srv.pcap (DIR C>S or S>C, REL_ACK - if none)
  ctr SIDE NAME VALUE                           a counter delta over the run (SIDE srv or cli)
  ev T_MS TEXT                                  an application event (connect result, read errors, accepts)
"""
import re
import sys
import os

COUNTERS = {"TcpExtListenOverflows", "TcpExtListenDrops", "TcpExtTCPReqQFullDrop",
            "TcpExtTCPReqQFullDoCookies", "TcpExtSyncookiesSent", "TcpExtSyncookiesRecv",
            "TcpExtSyncookiesFailed", "TcpExtTCPSynRetrans", "TcpExtEmbryonicRsts",
            "TcpExtTCPTimeouts", "TcpExtTCPSYNChallenge", "TcpExtTCPChallengeACK",
            "TcpExtTCPACKSkippedSynRecv", "TcpExtTCPACKSkippedChallenge", "TcpActiveOpens",
            "TcpPassiveOpens", "TcpAttemptFails", "TcpEstabResets", "TcpRetransSegs",
            "TcpOutRsts", "TcpInErrs", "TcpExtTCPKeepAlive", "TcpExtTCPPureAcks"}

PKT = re.compile(r"^\s*(-?[0-9.]+)\s+(C>S|S>C)\s+10\.77\.0\.2:(\d+)\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(\d+)")
EV = re.compile(r"^\s*(-?[0-9.]+)\s+--- EVENT (?:fill|burst\d?|late|srv) (CONNECTED|CONNECT_FAIL|READ_ERR|SEND_AFTER_ERR|ACCEPTED|ACCEPT_START)(.*)$")


def main():
    out_dir, names = sys.argv[1], sys.argv[2:]
    here = os.path.dirname(os.path.abspath(__file__))
    for name in names:
        src = os.path.join(out_dir, name)
        lines = ["# kernel 6.18.44 recording of %s (../shared/kernel-truth/out/%s), by extract.py" % (name, name)]
        with open(os.path.join(src, "timeline.txt")) as f:
            for line in f:
                m = PKT.match(line)
                if m:
                    t, d, port, flags, seq, ack, ln, _ = m.groups()
                    lines.append("pkt %s %s %s %s %s %s %s" % (t, d, port, flags, seq, ack, ln))
                    continue
                m = EV.match(line)
                if m:
                    t, kind, rest = m.groups()
                    lines.append("ev %s %s%s" % (t, kind, rest.rstrip()))
        side = None
        with open(os.path.join(src, "nstat-delta.txt")) as f:
            for line in f:
                if line.startswith("== srv"):
                    side = "srv"
                elif line.startswith("== cli"):
                    side = "cli"
                elif line.startswith("=="):
                    side = None
                elif side:
                    p = line.split()
                    if len(p) >= 2 and p[0] in COUNTERS:
                        lines.append("ctr %s %s %s" % (side, p[0], p[1]))
        with open(os.path.join(here, name + ".golden"), "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
