#!/bin/sh
# test_serve_kernel.sh — the overflow experiment against real kernel clients, run twice by the
# same client program (tests/serve/overflow.py: 2 fill clients, then a burst of 4 that each
# write 100 bytes; kernel-truth's S4-short, watched for 10.5 s):
#   kernel: a kernel listener (listen(fd, 2), never accept()) in namespace K, the clients in
#           namespace C, joined by tests/serve/delaywire.py (two TUN devices, client->server
#           delayed 50 ms, as kernel-truth's NFQUEUE delay);
#   synq:   synq serve --backlog 2 --accept never --app hold --delay 50 in namespace S, the
#           clients in S;
# both with net.ipv4.tcp_synack_retries=2 and the same addresses (10.91.0.2 -> 10.91.0.1:8080),
# at the same time. Then tests/serve/compare_overflow.py asserts the same client-visible
# outcomes (connect results, which clients' data got through, the ECONNRESET after the request
# expired, and their times within the kernel's timer slack), the same counters (the kernel's
# /proc/net/{snmp,netstat} in K against synq nstat) and the same Recv-Q/Send-Q and SYN-RECV
# and ESTAB counts 0.5 s after the burst (ss in K against synq ss).
# tcpdump on synq's TUN device captures the synq run, and that capture must match synq serve's
# own --pcap byte for byte (tests/serve/cmp_capture.py).
# Run by scripts/run-tests.sh once per SYNQ_BUILD. Needs root, /dev/net/tun and `ip netns`:
# without them the test fails when CI=true, else it is skipped with a message. Every wait is
# bounded; only the processes started here are killed; the namespaces are deleted on exit.
set -u

build=${SYNQ_BUILD:-build}
synq="$(pwd)/$build/synq"
py=/usr/bin/python3
here=$(cd "$(dirname "$0")" && pwd)
T=test_serve_kernel

skip() {
	if [ "${CI:-}" = "true" ]; then
		echo "$T: FAIL: $* (required when CI=true)"
		exit 1
	fi
	echo "$T: SKIP: $*"
	exit 0
}
[ -x "$synq" ] || { echo "$T: FAIL: $synq not found (make)"; exit 1; }
[ -x "$py" ] || { echo "$T: FAIL: $py not found"; exit 1; }
[ "$(id -u)" -eq 0 ] || skip "not root"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
command -v ip >/dev/null 2>&1 || skip "no ip command (apt-get install iproute2)"
command -v ss >/dev/null 2>&1 || skip "no ss command (apt-get install iproute2)"
command -v tcpdump >/dev/null 2>&1 || skip "no tcpdump (scripts/deps.sh installs it)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/synq-servek-XXXXXX") || exit 1
tag="$$-$(basename "$tmp" | cut -c13-)"
nsS="synqk-s-$tag"
nsC="synqk-c-$tag"
nsK="synqk-k-$tag"
pids=""
cleanup() {
	for p in $pids; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $pids; do
		wait "$p" 2>/dev/null
	done
	for n in "$nsS" "$nsC" "$nsK"; do
		ip netns del "$n" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail=0
bad() {
	echo "$T: FAIL: $*"
	fail=1
}
# wait_file PATH TENTHS: 0 once PATH exists, 1 after TENTHS tenths of a second
wait_file() {
	i=0
	while [ ! -e "$1" ] && [ "$i" -lt "$2" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e "$1" ]
}
# counters NS: "NAME VALUE" for every Tcp/TcpExt counter of namespace NS (as nstat names them)
counters() {
	ip netns exec "$1" cat /proc/net/snmp /proc/net/netstat | "$py" -c '
import sys
lines = sys.stdin.read().splitlines()
for h, v in zip(lines[0::2], lines[1::2]):
    hn, vn = h.split(), v.split()
    if hn[0] in ("Tcp:", "TcpExt:") and hn[0] == vn[0]:
        for n, x in zip(hn[1:], vn[1:]):
            print(hn[0][:-1] + n, x)'
}

for n in "$nsS" "$nsC" "$nsK"; do
	ip netns add "$n" 2>"$tmp/err" || skip "ip netns add failed: $(cat "$tmp/err")"
	ip -n "$n" link set lo up
	# no IPv6 on the devices (no router solicitations); per-namespace sysctls only
	ip netns exec "$n" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
done
ip netns exec "$nsK" sysctl -qw net.ipv4.tcp_synack_retries=2 || bad "sysctl in $nsK"

# ---- the kernel run's wire and listener ----------------------------------------------------
"$py" "$here/delaywire.py" "$nsC" kc0 "$nsK" kk0 50 "$tmp/wire.ready" 60 2>"$tmp/wire.err" &
wpid=$!
pids="$pids $wpid"
wait_file "$tmp/wire.ready" 50 || { bad "delaywire not ready: $(cat "$tmp/wire.err")"; exit 1; }
ip -n "$nsC" addr add 10.91.0.2/24 dev kc0 && ip -n "$nsC" link set kc0 up &&
	ip -n "$nsK" addr add 10.91.0.1/24 dev kk0 && ip -n "$nsK" link set kk0 up ||
	{ bad "configuring the wire"; exit 1; }
ip netns exec "$nsK" "$py" -c '
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.91.0.1", 8080))
s.listen(2)                # never accept()ed: the accept queue fills
time.sleep(60)' 2>"$tmp/klisten.err" &
kpid=$!
pids="$pids $kpid"

# ---- synq serve ----------------------------------------------------------------------------
ip netns exec "$nsS" "$synq" serve --tun sq0 --addr 10.91.0.1/24 --host-addr 10.91.0.2 \
	--listen 10.91.0.1:8080 --backlog 2 --accept never --app hold --delay 50 \
	--set net.ipv4.tcp_synack_retries=2 --ctl "$tmp/s.sock" --pcap "$tmp/synq.pcap" \
	>"$tmp/serve.out" 2>"$tmp/serve.err" &
spid=$!
pids="$pids $spid"
wait_file "$tmp/s.sock" 100 || { bad "synq serve not up: $(cat "$tmp/serve.err")"; exit 1; }
# tcpdump on the device; it has started once it captured one of the UDP probes sent until then
# (synq counts and drops them), so no packet of the experiment can come before it
ip netns exec "$nsS" tcpdump -i sq0 -n -U -s 0 -Z root -w "$tmp/wire.pcap" \
	"tcp port 8080 or udp port 9" 2>"$tmp/tcpdump.err" &
dpid=$!
pids="$pids $dpid"
i=0
while [ "$(wc -c <"$tmp/wire.pcap" 2>/dev/null || echo 0)" -le 24 ] && [ "$i" -lt 100 ]; do
	ip netns exec "$nsS" "$py" -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"probe", ("10.91.0.1", 9))'
	sleep 0.1
	i=$((i + 1))
done
[ "$i" -lt 100 ] || { bad "tcpdump captured nothing in 10 s: $(cat "$tmp/tcpdump.err")"; exit 1; }
i=0
while ! ip netns exec "$nsK" ss -lnt | grep -q "10.91.0.1:8080" && [ "$i" -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
counters "$nsK" >"$tmp/k.start"

# ---- both runs at once ---------------------------------------------------------------------
ip netns exec "$nsC" "$py" "$here/overflow.py" 10.91.0.1 8080 2 4 100 10.5 "$tmp/kernel.json" \
	>"$tmp/kclients.err" 2>&1 &
kc=$!
ip netns exec "$nsS" "$py" "$here/overflow.py" 10.91.0.1 8080 2 4 100 10.5 "$tmp/synq.json" \
	>"$tmp/sclients.err" 2>&1 &
sc=$!
pids="$pids $kc $sc"

# 0.5 s after each burst: the listener's queues
snap_kernel() {
	set -- $(ip netns exec "$nsK" ss -lnt -H "sport = :8080")
	echo "${2:-?} ${3:-?} $(ip netns exec "$nsK" ss -tan -H state syn-recv | grep -c .)" \
		"$(ip netns exec "$nsK" ss -tan -H state established | grep -c .)" >"$tmp/kernel.ss"
}
snap_synq() {
	set -- $("$synq" ss -lnt -H --ctl "$tmp/s.sock")
	"$synq" ss -tan -H --ctl "$tmp/s.sock" >"$tmp/synq.ss_a"
	echo "${2:-?} ${3:-?} $(grep -c '^SYN-RECV' "$tmp/synq.ss_a") $(grep -c '^ESTAB' "$tmp/synq.ss_a")" \
		>"$tmp/synq.ss"
}
wait_file "$tmp/kernel.json.burst" 50 || bad "kernel run: no burst: $(cat "$tmp/kclients.err")"
wait_file "$tmp/synq.json.burst" 50 || bad "synq run: no burst: $(cat "$tmp/sclients.err")"
sleep 0.5
snap_kernel
snap_synq

# the end of each run: the counters before the clients close anything
wait_file "$tmp/kernel.json" 150 || bad "kernel run: no result: $(cat "$tmp/kclients.err")"
counters "$nsK" >"$tmp/k.end"
wait_file "$tmp/synq.json" 50 || bad "synq run: no result: $(cat "$tmp/sclients.err")"
"$synq" nstat -a -z --ctl "$tmp/s.sock" >"$tmp/synq.counters" || bad "synq nstat failed"
kill -INT "$dpid"
wait "$dpid"
kill -TERM "$spid"
wait "$spid" || bad "synq serve: exit status $? after SIGTERM: $(tail -n 3 "$tmp/serve.err")"
pids=$(echo "$pids" | sed -e "s/ $dpid\b//" -e "s/ $spid\b//")
awk 'NR == FNR { s[$1] = $2; next } { print $1, $2 - s[$1] }' "$tmp/k.start" "$tmp/k.end" \
	>"$tmp/kernel.counters"

if [ "$fail" -eq 0 ]; then
	"$py" "$here/compare_overflow.py" "$tmp" || bad "the kernel and synq differ (table above)"
	# the B7 line, once: the SYN queue went over the backlog (the fourth burst SYN: a cookie)
	n=$(grep -c "^TCP: request_sock_TCP: Possible SYN flooding on port 10.91.0.1:8080. Sending cookies.$" "$tmp/serve.err")
	[ "$n" -eq 1 ] || bad "B7 line printed $n times, want 1: $(cat "$tmp/serve.err")"
	"$py" "$here/cmp_capture.py" "$tmp/wire.pcap" "$tmp/synq.pcap" 10.91.0.1 8080 40 ||
		bad "the device capture and synq's pcap differ"
fi
[ "$fail" -eq 0 ] || { echo "--- kernel"; cat "$tmp/kernel.json"; echo "--- synq"; cat "$tmp/synq.json"; exit 1; }
echo "$T: ok"
exit 0
