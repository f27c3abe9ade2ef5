#!/bin/sh
# test_serve_kernel.sh — the overflow experiment against real kernel clients, run twice by the
# same client program (tests/serve/overflow.py: 2 fill clients, then a burst of 4 that each
# write 100 bytes):
#   kernel: a kernel listener (listen(fd, 2), never accept()) in namespace K, the clients in
#           namespace C, joined by tests/serve/delaywire.py (two TUN devices, client->server
#           delayed 50 ms, as kernel-truth's NFQUEUE delay);
#   synq:   synq serve --backlog 2 --accept never --app hold --delay 50 in namespace S, the
#           clients in S;
# with the same sysctls and addresses (10.91.0.2 -> 10.91.0.1), at the same time. Two
# experiments: "overflow" (kernel-truth's S4-short: tcp_synack_retries=2, watched 10.5 s) and
# "abort" (as S2: tcp_abort_on_overflow=1 too, watched 3 s). For each,
# tests/serve/compare_overflow.py asserts the same client-visible outcomes (connect results,
# which clients' data got through, the ECONNRESET after the request expired or at once, their
# times within the kernel's timer slack), the same counters (the kernel's /proc/net/{snmp,
# netstat} in K against synq nstat) and the same Recv-Q/Send-Q, SYN-RECV and ESTAB counts 0.5 s
# after the burst (ss in K against synq ss).
# tcpdump on synq's TUN device captures the synq run, and that capture must match synq serve's
# own --pcap byte for byte (tests/serve/cmp_capture.py).
# Run by scripts/run-tests.sh once per SYNQ_BUILD. Needs root, /dev/net/tun and `ip netns`:
# without them the test fails when CI=true, else it is skipped with a message. Every wait is
# bounded; only the processes started here are killed; the namespaces are deleted on exit.
set -u

T=test_serve_kernel
NS_NAMES="s c k"
. "$(dirname "$0")/lib.sh"
nsS=$ns_s nsC=$ns_c nsK=$ns_k
command -v ss >/dev/null 2>&1 || skip "no ss command (apt-get install iproute2)"
command -v tcpdump >/dev/null 2>&1 || skip "no tcpdump (scripts/deps.sh installs it)"

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

# ---- the kernel run's wire -------------------------------------------------------------------
"$py" "$here/delaywire.py" "$nsC" kc0 "$nsK" kk0 50 "$tmp/wire.ready" 60 2>"$tmp/wire.err" &
wpid=$!
pids="$pids $wpid"
wait_file "$tmp/wire.ready" 50 || { bad "delaywire not ready: $(cat "$tmp/wire.err")"; exit 1; }
ip -n "$nsC" addr add 10.91.0.2/24 dev kc0 && ip -n "$nsC" link set kc0 up &&
	ip -n "$nsK" addr add 10.91.0.1/24 dev kk0 && ip -n "$nsK" link set kk0 up ||
	{ bad "configuring the wire"; exit 1; }
# run_experiment NAME PORT WATCH_S SYSCTL...: one experiment, both runs at once, results in
# $tmp/NAME (compare_overflow.py's files), the device capture of the synq run in
# $tmp/NAME/wire.pcap; bad() on any difference
run_experiment() {
	name=$1 port=$2 watch=$3
	shift 3
	d="$tmp/$name"
	mkdir -p "$d"
	sets=""
	for kv in "$@"; do
		ip netns exec "$nsK" sysctl -qw "$kv" || bad "$name: sysctl -w $kv in $nsK"
		sets="$sets --set $kv"
	done
	ip netns exec "$nsK" "$py" -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.91.0.1", int(sys.argv[1])))
s.listen(2)                # never accept()ed: the accept queue fills
time.sleep(60)' "$port" 2>"$d/klisten.err" &
	kpid=$!
	# shellcheck disable=SC2086
	ip netns exec "$nsS" "$synq" serve --tun sq0 --addr 10.91.0.1/24 --host-addr 10.91.0.2 \
		--listen "10.91.0.1:$port" --backlog 2 --accept never --app hold --delay 50 $sets \
		--ctl "$d/s.sock" --pcap "$d/synq.pcap" >"$d/serve.out" 2>"$d/serve.err" &
	spid=$!
	pids="$pids $kpid $spid"
	wait_file "$d/s.sock" 100 || { bad "$name: synq serve not up: $(cat "$d/serve.err")"; return; }
	# tcpdump on the device; it has started once it captured one of the UDP probes sent until
	# then (synq counts and drops them), so no packet of the experiment can come before it
	ip netns exec "$nsS" tcpdump -i sq0 -n -U -s 0 -Z root -w "$d/wire.pcap" \
		"tcp port $port or udp port 9" 2>"$d/tcpdump.err" &
	dpid=$!
	pids="$pids $dpid"
	i=0
	while [ "$(fsize "$d/wire.pcap")" -le 24 ] && [ "$i" -lt 100 ]; do
		ip netns exec "$nsS" "$py" -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"probe", ("10.91.0.1", 9))'
		sleep 0.1
		i=$((i + 1))
	done
	[ "$i" -lt 100 ] || bad "$name: tcpdump captured nothing in 10 s: $(cat "$d/tcpdump.err")"
	i=0
	while ! ip netns exec "$nsK" ss -lnt | grep -q "10.91.0.1:$port" && [ "$i" -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	counters "$nsK" >"$d/k.start"

	ip netns exec "$nsC" "$py" "$here/overflow.py" 10.91.0.1 "$port" 2 4 100 "$watch" \
		"$d/kernel.json" >"$d/kclients.err" 2>&1 &
	kc=$!
	ip netns exec "$nsS" "$py" "$here/overflow.py" 10.91.0.1 "$port" 2 4 100 "$watch" \
		"$d/synq.json" >"$d/sclients.err" 2>&1 &
	sc=$!
	pids="$pids $kc $sc"

	# 0.5 s after the bursts: the listener's queues
	wait_file "$d/kernel.json.burst" 50 || bad "$name: kernel run: no burst: $(cat "$d/kclients.err")"
	wait_file "$d/synq.json.burst" 50 || bad "$name: synq run: no burst: $(cat "$d/sclients.err")"
	sleep 0.5
	set -- $(ip netns exec "$nsK" ss -lnt -H "sport = :$port")
	echo "${2:-?} ${3:-?} $(ip netns exec "$nsK" ss -tan -H state syn-recv | grep -c .)" \
		"$(ip netns exec "$nsK" ss -tan -H state established "sport = :$port" | grep -c .)" \
		>"$d/kernel.ss"
	set -- $("$synq" ss -lnt -H --ctl "$d/s.sock")
	"$synq" ss -tan -H --ctl "$d/s.sock" >"$d/synq.ss_a"
	echo "${2:-?} ${3:-?} $(grep -c '^SYN-RECV' "$d/synq.ss_a") $(grep -c '^ESTAB' "$d/synq.ss_a")" \
		>"$d/synq.ss"

	# the end of each run: the counters before the clients close anything
	wait_file "$d/kernel.json" "$(awk "BEGIN { print int($watch * 10) + 50 }")" ||
		bad "$name: kernel run: no result: $(cat "$d/kclients.err")"
	counters "$nsK" >"$d/k.end"
	wait_file "$d/synq.json" 50 || bad "$name: synq run: no result: $(cat "$d/sclients.err")"
	"$synq" nstat -a -z --ctl "$d/s.sock" >"$d/synq.counters" || bad "$name: synq nstat failed"
	kill -INT "$dpid"
	wait "$dpid"
	kill -TERM "$spid"
	wait "$spid" || bad "$name: synq serve: exit status $? after SIGTERM: $(tail -n 3 "$d/serve.err")"
	for p in $kc $sc $kpid; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for p in $kc $sc $kpid $dpid $spid; do
		pids=$(echo "$pids" | sed -e "s/ $p\b//")
	done
	awk 'NR == FNR { s[$1] = $2; next } { print $1, $2 - s[$1] }' "$d/k.start" "$d/k.end" \
		>"$d/kernel.counters"
	[ "$fail" -eq 0 ] || return
	echo "== $name"
	"$py" "$here/compare_overflow.py" "$d" || bad "$name: the kernel and synq differ (table above)"
	"$py" "$here/cmp_capture.py" "$d/wire.pcap" "$d/synq.pcap" 10.91.0.1 "$port" 20 ||
		bad "$name: the device capture and synq's pcap differ"
	# the B7 line, once: the SYN queue went over the backlog (the fourth burst SYN: a cookie)
	n=$(grep -c "^TCP: request_sock_TCP: Possible SYN flooding on port 10.91.0.1:$port. Sending cookies.$" "$d/serve.err")
	[ "$n" -eq 1 ] || bad "$name: B7 line printed $n times, want 1: $(cat "$d/serve.err")"
	[ "$fail" -eq 0 ] || for r in kernel synq; do
		echo "--- $r: $(tr -d ' \n' <"$d/$r.json")"
	done
}

# experiment NAME PORT WATCH_S SYSCTL...: run_experiment, and once more (on PORT + 10, other
# client 4-tuples) if the two runs differed: the kernel run's timing is real time on a shared
# machine (a client's retransmission near the request's expiry can fall on either side of it
# under load). Both attempts are printed; the second must match.
experiment() {
	prev=$fail
	fail=0
	run_experiment "$@"
	if [ "$fail" -ne 0 ]; then
		n=$1 p=$2
		shift 2
		echo "$T: $n: the runs differed (above); once more"
		fail=0
		run_experiment "$n-again" $((p + 10)) "$@"
	fi
	[ "$prev" -eq 0 ] || fail=1
}

# S4-short: overflowed clients write, the requests expire at 7 s, the next retransmission draws RST
experiment overflow 8080 10.5 net.ipv4.tcp_synack_retries=2
# S2: tcp_abort_on_overflow=1, the overflowing final ACKs draw RST at once (B28, B40)
experiment abort 8081 3 net.ipv4.tcp_synack_retries=2 net.ipv4.tcp_abort_on_overflow=1

[ "$fail" -eq 0 ] || exit 1
echo "$T: ok"
exit 0
