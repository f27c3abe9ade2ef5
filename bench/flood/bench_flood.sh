#!/bin/sh
# bench_flood.sh — a spoofed SYN flood against `synq serve` (TUN) and against a kernel listener
# (veth), same generator, same settings, same run. Run by `make bench` (SYNQ_BUILD=build).
#
# Prints (besides '#' context lines):
#   bench: flood_synack_per_cpu_s_synq N /s     SYN-ACKs per CPU-second of the server, synq
#   bench: flood_synack_per_cpu_s_kernel N /s   the same for the kernel's listener
#   bench: flood_vs_kernel_ratio X x            synq / kernel (goal >= 1.0)
#   bench: flood_rss_growth_kib N KiB           VmRSS of synq serve after the flood minus before
# Without root, /dev/net/tun, `ip` or two CPUs it prints one `# skipped: ...` line, no figures,
# and exits 0.
#
# Method.
#   Three network namespaces, created here and deleted on exit (trap):
#     A: `synq serve --tun sqf0 --addr 10.77.0.1/24 --listen 10.77.0.1:80 --backlog 128
#        --app hold --accept never --set net.ipv4.tcp_syncookies=2` and the generator;
#     G: the generator, behind a veth pair vg (10.78.0.2) -- vk (10.78.0.1) to
#     K: a kernel listener on 10.78.0.1:80, listen(128), never accept()ing
#        (`synflood listen`), with net.ipv4.tcp_syncookies=2 set in K.
#   Both servers therefore answer every SYN with a cookie SYN-ACK (timestamps, SACK and window
#   scaling on, as by default in both) and keep no state.
#   The generator (bench/flood/synflood.c) sends at most FLOOD_COUNT SYNs (default 10^6) for at
#   most FLOOD_SECONDS (default 5), as fast as it can, in sendmmsg() batches of 64 through an
#   AF_PACKET socket straight into the device's transmit function (sqf0 in A; vg in G, to vk's
#   MAC): the same code path into both servers' namespaces, without the kernel's IP output.
#   Every SYN comes from a spoofed source in 198.18.0.0/15 (distinct address/port/ISN) with a
#   Linux client's options (MSS, SACK_PERM, TS, WS). The SYN-ACKs go back to the generator's namespace, where they are
#   counted by an AF_PACKET socket on the device they arrive on (sqf0 in A, vg in G; a BPF filter
#   keeps SYN|ACK from the server; PACKET_STATISTICS) and then dropped by IP (spoofed
#   destinations, no forwarding): the count is "SYN-ACKs received back". The servers' own
#   counters (synq nstat, /proc/net/netstat in K: TcpExtSyncookiesSent) are printed as a check.
#   CPU: the server runs alone on CPU 1 and the generator on CPU 0 (taskset). The kernel's
#   listener work happens in softirq, which cannot be charged to a process, so the packets are
#   steered with RPS: vk's receive queue is processed on CPU 1 (the kernel server's work: IP,
#   TCP, the cookie, the SYN-ACK sent back into the veth), while the receive side of the
#   SYN-ACKs (vg in G, sqf0 in A) is processed on CPU 0 with the generator. Both servers'
#   CPU time is then the busy time of CPU 1 over the flood (from just before the first SYN to
#   300 ms after the last), from /proc/stat (user+nice+system+irq+softirq+steal): for synq that
#   is its process (TUN read(), the engine, TUN write(), the epoll loop) plus its share of
#   interrupts; for the kernel it is the softirq work. synq's own utime+stime over the same
#   window is printed as a check. Anything else scheduled on CPU 1 meanwhile counts against
#   both servers: the CPU-1 busy time of a quiet second before the floods is printed.
#   Memory: synq serve's VmRSS (/proc/PID/status) right after start and after its first flood
#   (10^6 SYNs unless the time bound cut it short: the count is printed); the VmRSS after the
#   last round is printed too.
#   Each flood runs FLOOD_ROUNDS times (default 3, alternating synq, kernel); the figures are
#   the medians of the per-round rates (the ratio is that of the two medians).
# Bounded: every flood is at most FLOOD_COUNT SYNs and FLOOD_SECONDS s; every wait is bounded;
# only the processes started here are killed; sysctls are set inside the namespaces only.
#
# SPDX-License-Identifier: MIT
set -u

BENCH=bench_flood
BENCH_FIGS="no flood_* figures"
BENCH_NS=synqfl
BENCH_BIN="$(pwd)/${SYNQ_BUILD:-build}/bench/flood/synflood"
. "$(dirname "$0")/../lib.sh"
gen=$BENCH_BIN
COUNT=${FLOOD_COUNT:-1000000}
SECS=${FLOOD_SECONDS:-5}
ROUNDS=${FLOOD_ROUNDS:-3}
GCPU=0
gmask=$(printf '%x' $((1 << GCPU)))

# ---- A: synq serve on a TUN device ---------------------------------------------------------
ip netns exec "$nsA" taskset -c "$SCPU" "$synq" serve --tun sqf0 --addr 10.77.0.1/24 \
	--listen 10.77.0.1:80 --backlog 128 --app hold --accept never \
	--set net.ipv4.tcp_syncookies=2 --ctl "$tmp/a.sock" --log error \
	>"$tmp/serve.out" 2>"$tmp/serve.err" &
spid=$!
pids="$pids $spid"
i=0
while [ ! -S "$tmp/a.sock" ] && [ "$i" -lt 100 ]; do
	kill -0 "$spid" 2>/dev/null || fail "synq serve exited: $(cat "$tmp/serve.err")"
	sleep 0.1
	i=$((i + 1))
done
[ -S "$tmp/a.sock" ] || fail "synq serve: no control socket after 10 s"
rps "$nsA" sqf0 "$gmask"
rss0=$(vmrss "$spid")

# ---- G and K: a veth pair, the kernel listener ----------------------------------------------
ip link add vg netns "$nsG" type veth peer name vk netns "$nsK" 2>"$tmp/err" ||
	skip "needs veth: $(cat "$tmp/err")"
ip -n "$nsG" addr add 10.78.0.2/24 dev vg
ip -n "$nsK" addr add 10.78.0.1/24 dev vk
ip -n "$nsG" link set vg up
ip -n "$nsK" link set vk up
# no ARP during the flood: each side knows the other's MAC
mac_g=$(ip -n "$nsG" -o link show vg | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
mac_k=$(ip -n "$nsK" -o link show vk | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
ip -n "$nsG" neigh replace 10.78.0.1 lladdr "$mac_k" dev vg nud permanent
ip -n "$nsK" neigh replace 10.78.0.2 lladdr "$mac_g" dev vk nud permanent
ip -n "$nsK" route add 198.18.0.0/15 via 10.78.0.2 dev vk
ip netns exec "$nsK" sysctl -qw net.ipv4.tcp_syncookies=2 || fail "sysctl in $nsK"
rps "$nsK" vk "$smask"
rps "$nsG" vg "$gmask"
ip netns exec "$nsK" taskset -c "$SCPU" "$gen" listen --addr 10.78.0.1 --port 80 \
	--backlog 128 --seconds 600 --ready "$tmp/k.ready" >"$tmp/listen.out" 2>&1 &
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
echo "# flood: CPU $SCPU busy $quiet% during a quiet second before the floods (counts against both servers)"
[ "$quiet" -le 10 ] || echo "# flood: warning: CPU $SCPU is not quiet (other work on the machine): the figures are noisy"

# flood NAME NS DST DEV [--server-pid PID]: one bounded flood; result line in $tmp/NAME.res
flood() {
	name=$1 ns=$2 dst=$3 dev=$4
	shift 4
	timeout $((SECS + 30)) ip netns exec "$ns" taskset -c "$GCPU" "$gen" flood --dst "$dst" \
		--dport 80 --count "$COUNT" --seconds "$SECS" --count-dev "$dev" --cpu-stat "$SCPU" \
		"$@" >"$tmp/$name.res" 2>"$tmp/$name.err" &
	gpid=$!
	pids="$pids $gpid"
	wait "$gpid"
	grc=$?
	pids=$(echo "$pids" | sed "s/ $gpid\b//")
	[ "$grc" -eq 0 ] || fail "$name flood: exit $grc: $(cat "$tmp/$name.err")"
}
field() {
	sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" "$tmp/$1.res"
}
netstat_k() {
	ip netns exec "$nsK" awk -v want="$1" '$1 == "TcpExt:" {
		if (!hdr) { for (i = 2; i <= NF; i++) name[i] = $i; hdr = 1 }
		else for (i = 2; i <= NF; i++) if (name[i] == want) print $i }' /proc/net/netstat
}
nstat_a() {
	"$synq" nstat -a --ctl "$tmp/a.sock" | awk -v want="$1" '$1 == want {print $2}'
}

r=1
while [ "$r" -le "$ROUNDS" ]; do
	kill -0 "$spid" 2>/dev/null || fail "synq serve died: $(tail -n 3 "$tmp/serve.err")"
	ck0=$(nstat_a TcpExtSyncookiesSent)
	flood synq$r "$nsA" 10.77.0.1 sqf0 --tx-dev sqf0 --server-pid "$spid"
	ck1=$(nstat_a TcpExtSyncookiesSent)
	[ "$r" -eq 1 ] && rss1=$(vmrss "$spid")
	kk0=$(netstat_k SyncookiesSent)
	flood kernel$r "$nsG" 10.78.0.1 vg --tx-dev vg --dst-mac "$mac_k"
	kk1=$(netstat_k SyncookiesSent)
	for who in synq kernel; do
		sent=$(field $who$r sent)
		secs=$(field $who$r seconds)
		sa=$(field $who$r synacks)
		busy=$(field $who$r cpu_busy_s)
		if [ "$who" = synq ]; then
			srv="SyncookiesSent $((${ck1:-0} - ${ck0:-0})) (synq nstat), synq utime+stime $(field synq$r server_cpu_s) s"
		else
			srv="SyncookiesSent $((${kk1:-0} - ${kk0:-0})) (/proc/net/netstat in K)"
		fi
		echo "# flood round $r, $who: $sent SYNs in $secs s, $sa SYN-ACKs back, CPU $SCPU busy $busy s; $srv"
		awk -v s="$sa" -v b="$busy" 'BEGIN { if (b <= 0) exit 1; printf "%.0f\n", s / b }' \
			>>"$tmp/rates.$who" || fail "$who round $r: no CPU time measured on CPU $SCPU"
	done
	r=$((r + 1))
done
[ -n "${rss1:-}" ] || fail "no VmRSS after the flood"

med() {
	sort -n "$1" | awk '{v[NR] = $1} END {
		if (NR % 2) printf "%.0f", v[(NR + 1) / 2]; else printf "%.0f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
rs=$(med "$tmp/rates.synq")
rk=$(med "$tmp/rates.kernel")
echo "bench: flood_synack_per_cpu_s_synq $rs /s"
echo "bench: flood_synack_per_cpu_s_kernel $rk /s"
awk -v a="$rs" -v b="$rk" 'BEGIN { printf "bench: flood_vs_kernel_ratio %.2f x\n", (b > 0 ? a / b : 0) }'
echo "# goal >= 1.0"
echo "# flood_rss_growth_kib: synq serve VmRSS $rss0 KiB after start, $rss1 KiB after the first flood ($(field synq1 sent) spoofed SYNs)"
echo "bench: flood_rss_growth_kib $((rss1 - rss0)) KiB"
echo "# VmRSS after all $ROUNDS synq floods: $(vmrss "$spid") KiB"
exit 0
