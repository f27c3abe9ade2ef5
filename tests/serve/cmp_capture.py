#!/usr/bin/python3
"""Checks synq serve's own pcap against a capture of the TUN device (tcpdump in the namespace).

usage: cmp_capture.py WIRE_PCAP SYNQ_PCAP SYNQ_ADDR PORT MIN

Both files are classic pcap with raw IPv4 packets (link type 101 or 12). Only TCP packets to or
from PORT count. Per direction (to SYNQ_ADDR, from it), the device capture must be a prefix of
synq's, byte for byte: tcpdump is stopped before synq serve (whose pcap then also has the resets
it sends at exit), and its clock is not synq's (with --delay, synq records an inbound packet when
it gets it), so neither the tail nor the interleaving of the two directions is compared. At
least MIN packets must match. Prints what it compared; exit 1 on a mismatch.
"""
import socket
import struct
import sys


def read_pcap(path):
    b = open(path, "rb").read()
    if len(b) < 24:
        sys.exit("%s: %d bytes, no pcap header" % (path, len(b)))
    magic = b[:4]
    if magic == b"\xd4\xc3\xb2\xa1" or magic == b"\x4d\x3c\xb2\xa1":
        e = "<"
    elif magic == b"\xa1\xb2\xc3\xd4" or magic == b"\xa1\xb2\x3c\x4d":
        e = ">"
    else:
        sys.exit("%s: not a classic pcap file" % path)
    lt = struct.unpack(e + "I", b[20:24])[0]
    if lt not in (101, 12, 228):
        sys.exit("%s: link type %d, want raw IPv4" % (path, lt))
    off, out = 24, []
    while off + 16 <= len(b):
        _, _, incl, orig = struct.unpack(e + "IIII", b[off:off + 16])
        if incl != orig:
            sys.exit("%s: a packet was cut (snaplen)" % path)
        out.append(b[off + 16:off + 16 + incl])
        off += 16 + incl
    return out


def tcp_dir(pkts, addr, port):
    to, frm = [], []
    for p in pkts:
        if len(p) < 20 or p[0] >> 4 != 4 or p[9] != 6:
            continue
        ihl = (p[0] & 15) * 4
        sport, dport = struct.unpack(">HH", p[ihl:ihl + 4])
        if port not in (sport, dport):
            continue
        (to if p[16:20] == addr else frm).append(p)
    return to, frm


def main():
    wire, mine, addr, port, least = sys.argv[1:6]
    addr, port, least = socket.inet_aton(addr), int(port), int(least)
    w_to, w_from = tcp_dir(read_pcap(wire), addr, port)
    s_to, s_from = tcp_dir(read_pcap(mine), addr, port)
    ok = True
    for name, w, s in (("to synq", w_to, s_to), ("from synq", w_from, s_from)):
        n = 0
        while n < len(w) and n < len(s) and w[n] == s[n]:
            n += 1
        print("%-10s device %3d packets, synq pcap %3d, first %d identical" %
              (name, len(w), len(s), n))
        if n != len(w):
            print("  packet %d differs or is missing from synq's pcap:\n  device %s\n  synq   %s" %
                  (n, w[n].hex(), s[n].hex() if n < len(s) else "-"))
            ok = False
    if len(w_to) + len(w_from) < least:
        print("only %d packets captured on the device, want at least %d" %
              (len(w_to) + len(w_from), least))
        ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
