#!/bin/sh
# Runs the single-flow scripts of tests/pkt through upstream packetdrill with synq as its
# shared-object stack: packetdrill --so_filename=$SYNQ_BUILD/libsynq-packetdrill.so (docs/drill.md).
# packetdrill is not packaged (build it from github.com/google/packetdrill outside the
# repository); set PACKETDRILL to its binary, otherwise this test is skipped.
# Each script's untimed `sysctl -q ...` init line is removed (packetdrill would run it on the
# host) and its settings are passed as --so_flags instead.
set -u
B=${SYNQ_BUILD:-build}
if [ -z "${PACKETDRILL:-}" ]; then
	echo "# skipped: PACKETDRILL is not set (path to an upstream packetdrill binary)"
	exit 77
fi
if [ ! -f "$B/libsynq-packetdrill.so" ]; then
	echo "# skipped: no $B/libsynq-packetdrill.so (not built under SAN=1)"
	exit 77
fi
SO=$(cd "$(dirname "$B/libsynq-packetdrill.so")" && pwd)/libsynq-packetdrill.so
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
n=0
for f in tests/pkt/*.pkt; do
	# multi-flow scripts (ports named on packets) are synq drill only
	grep -qE '^[^/]*[<>] +[0-9]+>[0-9]+ ' "$f" && continue
	case $(basename "$f") in
	b38-syn-schedule.pkt) continue ;; # a blocking connect(): the plugin never blocks
	esac
	flags=$(sed -n 's/^`sysctl -q \(.*\)`$/\1/p' "$f" | tr ' ' ',' | paste -sd, -)
	grep -v '^`sysctl' "$f" > "$tmp/$(basename "$f")"
	out=$("$PACKETDRILL" --so_filename="$SO" --so_flags="$flags" "$tmp/$(basename "$f")" 2>&1)
	rc=$?
	n=$((n + 1))
	if [ "$rc" -ne 0 ]; then
		echo "FAIL $f (--so_flags=$flags):"
		printf '%s\n' "$out" | sed 's/^/    /'
		fails=$((fails + 1))
	fi
done
# a wrong expectation must fail
sed 's/> R 1000:1000(0)/> R 999:999(0)/' tests/pkt/b20-bad-ack.pkt > "$tmp/wrong.pkt"
if "$PACKETDRILL" --so_filename="$SO" "$tmp/wrong.pkt" > /dev/null 2>&1; then
	echo "FAIL: a wrong script passed through the plugin"
	fails=$((fails + 1))
fi
echo "$n scripts and one wrong script through packetdrill --so_filename: $fails failed"
[ "$fails" -eq 0 ]
