#!/bin/sh
# Runs every packetdrill script of tests/pkt through `synq drill` (SYNQ_BUILD: build dir), then
# checks that a wrong expectation fails with its line number and the N passed, N failed line.
set -u
B=${SYNQ_BUILD:-build}
"$B/synq" drill tests/pkt/*.pkt || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed 's/^3   > S\. 0:0(0) ack 1 <mss 1460>/4   > S. 0:0(0) ack 1 <mss 1460>/' \
	tests/pkt/b12-synack-schedule.pkt > "$tmp/wrong.pkt"
out=$("$B/synq" drill "$tmp/wrong.pkt" tests/pkt/b20-bad-ack.pkt)
rc=$?
[ "$rc" -eq 1 ] || { echo "wrong script: exit $rc"; exit 1; }
printf '%s\n' "$out" | grep -q "wrong.pkt:14: timing error" || { echo "no line 14: $out"; exit 1; }
printf '%s\n' "$out" | tail -n 1 | grep -qx "1 passed, 1 failed" || { echo "bad summary: $out"; exit 1; }
printf '0 `echo hi`\n' > "$tmp/cmd.pkt"
"$B/synq" drill "$tmp/cmd.pkt" | grep -q "only runs .sysctl" || { echo "non-sysctl command accepted"; exit 1; }
"$B/synq" drill --bogus 2>/dev/null; [ $? -eq 2 ] || { echo "bad usage must exit 2"; exit 1; }
exit 0
