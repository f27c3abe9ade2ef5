# bench/lib.sh — what the namespace benchmarks (bench/flood, bench/conn) share. Source it after
# setting BENCH (name for messages), BENCH_FIGS (what is not printed when skipped), BENCH_NS
# (namespace name prefix), and BENCH_BIN (the client/generator binary). It checks what the run
# needs (else "# skipped: ..." and exit 0), creates three namespaces $nsA (synq serve on TUN),
# $nsG (the client side) and $nsK (the kernel listener), a scratch dir $tmp, and a trap that
# kills the PIDs listed in $pids and deletes all of it. SCPU is the server's CPU, smask its mask.
# SPDX-License-Identifier: MIT

build=${SYNQ_BUILD:-build}
synq="$(pwd)/$build/synq"
SCPU=1

skip() {
	echo "# skipped: $* ($BENCH: $BENCH_FIGS)"
	exit 0
}
fail() {
	echo "$BENCH: $*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || skip "needs root"
[ -x "$synq" ] || fail "$synq not found (make)"
[ -x "$BENCH_BIN" ] || fail "$BENCH_BIN not found (make bench)"
[ -c /dev/net/tun ] || skip "needs /dev/net/tun"
command -v ip >/dev/null 2>&1 || skip "needs ip (iproute2)"
command -v taskset >/dev/null 2>&1 || skip "needs taskset (util-linux)"
[ "$(getconf _NPROCESSORS_ONLN)" -ge 2 ] || skip "needs two CPUs (server and client apart)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/synq-$BENCH_NS.XXXXXX") || exit 1
tag=$$
nsA="$BENCH_NS-a-$tag"
nsG="$BENCH_NS-g-$tag"
nsK="$BENCH_NS-k-$tag"
pids=""
cleanup() {
	for p in $pids; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $pids; do
		wait "$p" 2>/dev/null
	done
	for n in "$nsA" "$nsG" "$nsK"; do
		ip netns del "$n" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

for n in "$nsA" "$nsG" "$nsK"; do
	ip netns add "$n" 2>"$tmp/err" || skip "ip netns add failed: $(cat "$tmp/err")"
	ip -n "$n" link set lo up
	ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null
	ip netns exec "$n" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
done
smask=$(printf '%x' $((1 << SCPU)))
# rps NS DEV MASK: that device's receive processing on the CPUs of MASK
rps() {
	ip netns exec "$1" sh -c "echo $3 > /sys/class/net/$2/queues/rx-0/rps_cpus" 2>"$tmp/err" ||
		skip "needs RPS (rps_cpus of $2: $(cat "$tmp/err"))"
}
vmrss() {
	awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status"
}
