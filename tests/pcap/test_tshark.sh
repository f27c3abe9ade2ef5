#!/bin/sh
# test_tshark.sh — the pcap files synq writes are read by tshark without complaint.
#
# Run by scripts/run-tests.sh with SYNQ_BUILD set to a build dir (build, build/asan). Writes the
# sample captures with `$SYNQ_BUILD/tests/unit/test_pcap --write-sample DIR` (µs and ns
# timestamps, the same 7 packets of one connection 10.77.0.2:40001 -> 10.77.0.1:8080) and checks
# that tshark reads each file with exit status 0 and nothing on stderr (the warning tshark prints
# when run as root excepted), lists 7 packets, shows the handshake flags and the port, finds no
# malformed packet nor bad IP/TCP checksum, and decodes the timestamps at full precision.
# Without tshark: exit 1 when CI=true, else skip (exit 0) saying why.
set -u

build=${SYNQ_BUILD:-build}
bin="$build/tests/unit/test_pcap"
npkts=7 # SAMPLE_COUNT in tests/unit/test_pcap.c

if ! command -v tshark >/dev/null 2>&1; then
	if [ "${CI:-}" = "true" ]; then
		echo "test_tshark: FAIL: tshark is not installed (required when CI=true)"
		exit 1
	fi
	echo "test_tshark: SKIP: tshark is not installed (apt-get install tshark)"
	exit 0
fi
if [ ! -x "$bin" ]; then
	echo "test_tshark: FAIL: $bin not found (make $bin)"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/synq-tshark-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
# a private, empty wireshark profile: no user preference changes what tshark prints
export HOME="$tmp"
export XDG_CONFIG_HOME="$tmp/config"

fail=0
bad() {
	echo "test_tshark: FAIL: $*"
	fail=1
}

# tshark's stderr minus the warning it always prints when run as root (without a newline)
errors() {
	sed -e 's/Running as user "root" and group "root"\. This could be dangerous\.//g' "$1" |
		grep -v '^[[:space:]]*$'
}

if ! "$bin" --write-sample "$tmp" >"$tmp/w.out" 2>&1; then
	bad "$bin --write-sample failed:"
	cat "$tmp/w.out"
	exit 1
fi

for kind in us ns; do
	f="$tmp/sample_$kind.pcap"
	[ -s "$f" ] || { bad "$f was not written"; continue; }

	tshark -n -r "$f" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 0 ] || bad "tshark -r $f exited with $rc"
	if errors "$tmp/err" >/dev/null; then
		bad "tshark -r $f printed on stderr:"
		errors "$tmp/err"
	fi
	n=$(grep -c . "$tmp/out")
	[ "$n" -eq "$npkts" ] || bad "$f: tshark lists $n packets, expected $npkts"
	for want in 8080 40001 "[SYN]" "[SYN, ACK]" "[ACK]" "[FIN, ACK]" "[RST]" \
		"GET / HTTP/1.0"; do
		grep -qF -- "$want" "$tmp/out" || bad "$f: '$want' not in the tshark listing"
	done

	# no malformed packet, both checksums verified good
	tshark -n -r "$f" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE \
		-Y '_ws.malformed || ip.checksum.status == 0 || tcp.checksum.status == 0' \
		>"$tmp/bad" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 0 ] || bad "tshark -Y on $f exited with $rc"
	if [ -s "$tmp/bad" ]; then
		bad "$f: malformed packets or bad checksums:"
		cat "$tmp/bad"
	fi
	if errors "$tmp/err" >/dev/null; then
		bad "tshark -Y on $f printed on stderr:"
		errors "$tmp/err"
	fi

	# timestamps: the first packet was captured at 1700000000.123456789
	t=$(tshark -n -r "$f" -c 1 -T fields -e frame.time_epoch 2>/dev/null)
	if [ "$kind" = ns ]; then want=1700000000.123456789; else want=1700000000.123456000; fi
	[ "$t" = "$want" ] || bad "$f: first timestamp $t, expected $want"
done

if [ "$fail" -ne 0 ]; then
	echo "test_tshark: tshark listing of the last file:"
	cat "$tmp/out"
	exit 1
fi
echo "test_tshark: ok ($(tshark -v 2>/dev/null | head -n 1))"
exit 0
