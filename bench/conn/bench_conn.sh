#!/bin/sh
# bench_conn.sh — kernel clients doing connect/close in a loop against `synq serve` (TUN) and
# against a kernel listener (veth), same client program, same settings, same run. Run by
# `make bench` (SYNQ_BUILD=build).
#
# Prints (besides '#' context lines):
#   bench: tun_conn_per_s N /s              connections completed per second, synq over TUN
#   bench: kernel_conn_per_s N /s           the same against the kernel's listener over veth
#   bench: tun_conn_per_cpu_s N /s          connections per CPU-second of the server, synq
#   bench: kernel_conn_per_cpu_s N /s       the same for the kernel's listener
#   bench: tun_vs_kernel_conn_ratio X x     per CPU-second, synq / kernel (goal >= 1.0)
# Without root, /dev/net/tun, `ip`, taskset or two CPUs it prints one `# skipped: ...` line,
# no figures, and exits 0.
#
# Method (the pinning and CPU accounting of bench/flood/bench_flood.sh).
#   Three network namespaces, created here and deleted on exit (trap):
#     A: `synq serve --tun sqc0 --addr 10.79.0.1/24 --listen 10.79.0.1:80 --backlog 4096
#        --app hold --accept always` and the client (the kernel's side of sqc0, 10.79.0.2);
#     G: the client, behind a veth pair vg (10.80.0.2) -- vk (10.80.0.1) to
#     K: a kernel listener on 10.80.0.1:80, listen(4096), accept() and close() at once, in a
#        loop (`connloop listen`).
#   Backlog 4096 (both somaxconn defaults): the kernel's softirq on the server CPU can starve
#   the accept()ing process for a while, and a full accept queue drops SYNs (1 s client
#   retransmits) -- with 128 that happened hundreds of times per run; with 4096 it is rare
#   (TcpExtListenOverflows in K is printed).
#   The client (bench/conn/connloop.c) keeps CONN_PARALLEL (default 64) non-blocking
#   connect()s in flight on one epoll loop; each completed handshake is closed at once with
#   SO_LINGER {1, 0}: an RST, so no FIN exchange, no TIME-WAIT and the ephemeral ports are
#   free again at once (no port exhaustion). A connection is counted when connect() completes
#   (SO_ERROR 0). Each run stops after CONN_COUNT connections (default 200000) or
#   CONN_SECONDS (default 2), whichever comes first. Per connection each server thus handles
#   SYN in, SYN-ACK out, ACK in (established, accepted), RST in (freed); `hold` keeps a
#   connection until the peer resets it, the kernel's listener closes the accepted socket
#   (normally already reset by then, so nothing is sent).
#   CPU: the server runs alone on CPU 1 and the client on CPU 0 (taskset). The kernel's
#   server work happens in softirq, so the packets are steered with RPS: vk's receive queue is
#   processed on CPU 1 (IP, TCP, the child socket, the SYN-ACK back into the veth), the
#   client side's receive (vg in G, sqc0 in A) on CPU 0 with the client. Both servers' CPU
#   time is the busy time of CPU 1 over the run (from just before the first connect() to
#   200 ms after the last close()), from /proc/stat (user+nice+system+irq+softirq+steal): for
#   synq, its process (TUN read(), the engine, TUN write(), the epoll loop) plus interrupts;
#   for the kernel, the softirq work plus the accept()/close() process. synq's own
#   utime+stime is printed as a check (a warning when CPU 1 was busier than synq by more than
#   0.3 s: other work on the machine); a quiet second's CPU-1 busy time is printed first
#   (it counts against both servers).
#   conn/s = connections / run time; conn/CPU-s = connections / CPU-1 busy seconds. Each run
#   is done CONN_ROUNDS times (default 3, alternating synq, kernel); the figures are the
#   medians of the per-round rates, the ratio that of the two per-CPU-second medians.
# Bounded: every run is at most CONN_COUNT connections and CONN_SECONDS s (plus timeout);
# every wait is bounded; only the processes started here are killed; sysctls are set inside
# the namespaces only.
#
# SPDX-License-Identifier: MIT
set -u

BENCH=bench_conn
BENCH_FIGS="no *_conn_* figures"
BENCH_NS=synqcn
BENCH_BIN="$(pwd)/${SYNQ_BUILD:-build}/bench/conn/connloop"
. "$(dirname "$0")/../lib.sh"
cl=$BENCH_BIN
COUNT=${CONN_COUNT:-200000}
SECS=${CONN_SECONDS:-2}
ROUNDS=${CONN_ROUNDS:-3}
PAR=${CONN_PARALLEL:-64}
CCPU=0
cmask=$(printf '%x' $((1 << CCPU)))

# ---- A: synq serve on a TUN device ---------------------------------------------------------
ip netns exec "$nsA" taskset -c "$SCPU" "$synq" serve --tun sqc0 --addr 10.79.0.1/24 \
	--listen 10.79.0.1:80 --backlog 4096 --app hold --accept always \
	--ctl "$tmp/a.sock" --log error >"$tmp/serve.out" 2>"$tmp/serve.err" &
spid=$!
pids="$pids $spid"
i=0
while [ ! -S "$tmp/a.sock" ] && [ "$i" -lt 100 ]; do
	kill -0 "$spid" 2>/dev/null || fail "synq serve exited: $(cat "$tmp/serve.err")"
	sleep 0.1
	i=$((i + 1))
done
[ -S "$tmp/a.sock" ] || fail "synq serve: no control socket after 10 s"
rps "$nsA" sqc0 "$cmask"

# ---- G and K: a veth pair, the kernel listener ----------------------------------------------
ip link add vg netns "$nsG" type veth peer name vk netns "$nsK" 2>"$tmp/err" ||
	skip "needs veth: $(cat "$tmp/err")"
ip -n "$nsG" addr add 10.80.0.2/24 dev vg
ip -n "$nsK" addr add 10.80.0.1/24 dev vk
ip -n "$nsG" link set vg up
ip -n "$nsK" link set vk up
# no ARP during the runs: each side knows the other's MAC
mac_g=$(ip -n "$nsG" -o link show vg | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
mac_k=$(ip -n "$nsK" -o link show vk | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
ip -n "$nsG" neigh replace 10.80.0.1 lladdr "$mac_k" dev vg nud permanent
ip -n "$nsK" neigh replace 10.80.0.2 lladdr "$mac_g" dev vk nud permanent
rps "$nsK" vk "$smask"
rps "$nsG" vg "$cmask"
ip netns exec "$nsK" taskset -c "$SCPU" "$cl" listen --addr 10.80.0.1 --port 80 \
	--backlog 4096 --seconds 600 --ready "$tmp/k.ready" >"$tmp/listen.out" 2>&1 &
kpid=$!
pids="$pids $kpid"
i=0
while [ ! -e "$tmp/k.ready" ] && [ "$i" -lt 100 ]; do
	kill -0 "$kpid" 2>/dev/null || fail "kernel listener exited: $(cat "$tmp/listen.out")"
	sleep 0.1
	i=$((i + 1))
done
[ -e "$tmp/k.ready" ] || fail "kernel listener not ready after 10 s"

# a quiet second: what else runs on the server's CPU
b0=$(awk -v c="cpu$SCPU" '$1 == c {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat)
sleep 1
b1=$(awk -v c="cpu$SCPU" '$1 == c {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat)
hz=$(getconf CLK_TCK)
quiet=$(awk -v d=$((b1 - b0)) -v h="$hz" 'BEGIN {printf "%.0f", 100 * d / h}')
echo "# conn: CPU $SCPU busy $quiet% during a quiet second before the runs (counts against both servers)"
[ "$quiet" -le 10 ] || echo "# conn: warning: CPU $SCPU is not quiet (other work on the machine): the figures are noisy"

# run NAME NS DST [--server-pid PID]: one bounded connect/close run; result line in $tmp/NAME.res
run() {
	name=$1 ns=$2 dst=$3
	shift 3
	timeout $((SECS + 30)) ip netns exec "$ns" taskset -c "$CCPU" "$cl" connect --dst "$dst" \
		--port 80 --parallel "$PAR" --count "$COUNT" --seconds "$SECS" --cpu-stat "$SCPU" \
		"$@" >"$tmp/$name.res" 2>"$tmp/$name.err" &
	cpid=$!
	pids="$pids $cpid"
	wait "$cpid"
	crc=$?
	pids=$(echo "$pids" | sed "s/ $cpid\b//")
	[ "$crc" -eq 0 ] || fail "$name run: exit $crc: $(cat "$tmp/$name.err")"
}
field() {
	sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" "$tmp/$1.res"
}
nstat_a() {
	"$synq" nstat -a --ctl "$tmp/a.sock" | awk -v want="$1" '$1 == want {print $2}'
}
netstat_k() {
	ip netns exec "$nsK" awk -v want="$1" '$1 == "TcpExt:" {
		if (!hdr) { for (i = 2; i <= NF; i++) name[i] = $i; hdr = 1 }
		else for (i = 2; i <= NF; i++) if (name[i] == want) print $i }' /proc/net/netstat
}
snmp_k() {
	ip netns exec "$nsK" awk -v want="$1" '$1 == "Tcp:" {
		if (!hdr) { for (i = 2; i <= NF; i++) name[i] = $i; hdr = 1 }
		else for (i = 2; i <= NF; i++) if (name[i] == want) print $i }' /proc/net/snmp
}

r=1
while [ "$r" -le "$ROUNDS" ]; do
	kill -0 "$spid" 2>/dev/null || fail "synq serve died: $(tail -n 3 "$tmp/serve.err")"
	kill -0 "$kpid" 2>/dev/null || fail "kernel listener died: $(cat "$tmp/listen.out")"
	po0=$(nstat_a TcpPassiveOpens)
	run tun$r "$nsA" 10.79.0.1 --server-pid "$spid"
	po1=$(nstat_a TcpPassiveOpens)
	ko0=$(snmp_k PassiveOpens)
	lo0=$(netstat_k ListenOverflows)
	run kernel$r "$nsG" 10.80.0.1
	ko1=$(snmp_k PassiveOpens)
	lo1=$(netstat_k ListenOverflows)
	for who in tun kernel; do
		n=$(field $who$r conns)
		secs=$(field $who$r seconds)
		busy=$(field $who$r cpu_busy_s)
		if [ "$who" = tun ]; then
			srv="TcpPassiveOpens $((${po1:-0} - ${po0:-0})) (synq nstat), synq utime+stime $(field tun$r server_cpu_s) s"
		else
			srv="PassiveOpens $((${ko1:-0} - ${ko0:-0})), ListenOverflows $((${lo1:-0} - ${lo0:-0})) (K)"
		fi
		echo "# conn round $r, $who: $n connections ($(field $who$r fails) failed) in $secs s, CPU $SCPU busy $busy s; $srv"
		[ "$who" = tun ] && awk -v b="$busy" -v p="$(field tun$r server_cpu_s)" 'BEGIN { exit !(b - p > 0.3) }' &&
			echo "# conn: warning: round $r: CPU $SCPU busy $busy s but synq itself only $(field tun$r server_cpu_s) s: other work on CPU $SCPU, the figures are noisy"
		awk -v n="$n" -v s="$secs" 'BEGIN { if (s <= 0 || n <= 0) exit 1; printf "%.0f\n", n / s }' \
			>>"$tmp/rate.$who" || fail "$who round $r: no connections"
		awk -v n="$n" -v b="$busy" 'BEGIN { if (b <= 0) exit 1; printf "%.0f\n", n / b }' \
			>>"$tmp/cpu.$who" || fail "$who round $r: no CPU time measured on CPU $SCPU"
	done
	r=$((r + 1))
done

med() {
	sort -n "$1" | awk '{v[NR] = $1} END {
		if (NR % 2) printf "%.0f", v[(NR + 1) / 2]; else printf "%.0f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
rt=$(med "$tmp/rate.tun")
rk=$(med "$tmp/rate.kernel")
ct=$(med "$tmp/cpu.tun")
ck=$(med "$tmp/cpu.kernel")
echo "bench: tun_conn_per_s $rt /s"
echo "bench: kernel_conn_per_s $rk /s"
echo "bench: tun_conn_per_cpu_s $ct /s"
echo "bench: kernel_conn_per_cpu_s $ck /s"
awk -v a="$ct" -v b="$ck" 'BEGIN { printf "bench: tun_vs_kernel_conn_ratio %.2f x\n", (b > 0 ? a / b : 0) }'
echo "# goal >= 1.0 (per CPU-second)"
exit 0
