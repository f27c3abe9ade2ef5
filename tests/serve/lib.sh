# tests/serve/lib.sh — what the namespace tests of tests/serve share. Source it after setting T
# (the test's name) and NS_NAMES (short names of the namespaces to create, e.g. "s c k"); then
# use $ns_<name> for each (e.g. $ns_s). It checks root, /dev/net/tun and ip (missing: a FAIL
# when CI=true, else "SKIP" and exit 0), creates a scratch dir $tmp and the namespaces (lo up,
# no IPv6), and a trap that kills the PIDs in $pids, deletes the namespaces and $tmp.
# Defines: synq py here skip bad wait_file fsize; $fail is 1 once bad() was called.
# SPDX-License-Identifier: MIT

build=${SYNQ_BUILD:-build}
synq="$(pwd)/$build/synq"
py=/usr/bin/python3
here=$(cd "$(dirname "$0")" && pwd)

skip() {
	if [ "${CI:-}" = "true" ]; then
		echo "$T: FAIL: $* (required when CI=true)"
		exit 1
	fi
	echo "$T: SKIP: $*"
	exit 0
}
fail=0
bad() {
	echo "$T: FAIL: $*"
	fail=1
}
# wait_file PATH TENTHS: 0 once PATH exists, 1 after TENTHS tenths of a second
wait_file() {
	_i=0
	while [ ! -e "$1" ] && [ "$_i" -lt "$2" ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	[ -e "$1" ]
}
fsize() {
	if [ -f "$1" ]; then wc -c <"$1"; else echo 0; fi
}

[ -x "$synq" ] || { echo "$T: FAIL: $synq not found (make)"; exit 1; }
[ -x "$py" ] || { echo "$T: FAIL: $py not found"; exit 1; }
[ "$(id -u)" -eq 0 ] || skip "not root"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
command -v ip >/dev/null 2>&1 || skip "no ip command (apt-get install iproute2)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/synq-$T-XXXXXX") || exit 1
_tag="$$-$(basename "$tmp" | sed 's/.*-//')"
_all_ns=""
for _n in $NS_NAMES; do
	eval "ns_$_n=synq-$_n-$_tag"
	_all_ns="$_all_ns synq-$_n-$_tag"
done
pids=""
cleanup() {
	for _p in $pids; do
		kill -TERM "$_p" 2>/dev/null
	done
	for _p in $pids; do
		wait "$_p" 2>/dev/null
	done
	for _n in $_all_ns; do
		ip netns del "$_n" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
for _n in $_all_ns; do
	ip netns add "$_n" 2>"$tmp/err" || skip "ip netns add failed: $(cat "$tmp/err")"
	ip -n "$_n" link set lo up
	# no IPv6 on the devices (no router solicitations); per-namespace sysctls only
	ip netns exec "$_n" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
done
