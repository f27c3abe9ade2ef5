#!/bin/sh
# Runs the single-flow scripts of tests/pkt through upstream packetdrill with synq as its
# shared-object stack: packetdrill --so_filename=$SYNQ_BUILD/libsynq-packetdrill.so (docs/drill.md).
# packetdrill is not packaged (build it from github.com/google/packetdrill outside the
# repository); set PACKETDRILL to its binary, otherwise this test is skipped.
# Each script's untimed `sysctl -q ...` init line is removed (packetdrill would run it on the
# host) and its settings are passed as --so_flags instead.
# Then blocking calls (each script below also passes on the kernel with upstream packetdrill),
# and wrong scripts that must fail, for the reason given.
# Timing is checked with --tolerance_percent=0 (4 ms, not 12.5% of the gap): synq's virtual
# clock is exact, so a call or packet at the wrong virtual time fails.
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

# pd FILE FLAGS: run FILE through the plugin; its output in $out, its status in $rc
pd() {
	out=$("$PACKETDRILL" --tolerance_percent=0 --so_filename="$SO" --so_flags="$2" "$1" 2>&1)
	rc=$?
	n=$((n + 1))
}
must_pass() {
	pd "$1" "$2"
	if [ "$rc" -ne 0 ]; then
		echo "FAIL $1 (--so_flags=$2):"
		printf '%s\n' "$out" | sed 's/^/    /'
		fails=$((fails + 1))
	fi
}
# must_fail FILE PATTERN: FILE must fail with a message matching the grep pattern
must_fail() {
	pd "$1" ""
	if [ "$rc" -eq 0 ] || ! printf '%s\n' "$out" | grep -q "$2"; then
		echo "FAIL: $1 must fail with \"$2\"; status $rc:"
		printf '%s\n' "$out" | sed 's/^/    /'
		fails=$((fails + 1))
	fi
}

for f in tests/pkt/*.pkt; do
	# multi-flow scripts (ports named on packets) are synq drill only
	grep -qE '^[^/]*[<>] +[0-9]+>[0-9]+ ' "$f" && continue
	# calls upstream packetdrill does not have (accept4): synq drill and kdrill only
	grep -qE '^[^/]*accept4\(' "$f" && continue
	flags=$(sed -n 's/^`sysctl -q \(.*\)`$/\1/p' "$f" | tr ' ' ',' | paste -sd, -)
	grep -v '^`sysctl' "$f" > "$tmp/$(basename "$f")"
	must_pass "$tmp/$(basename "$f")" "$flags"
done

# Blocking calls: a time range runs the call on packetdrill's syscall thread while the main
# thread goes on; the call must return at the end of its range, in virtual time.
cat > "$tmp/blocking-server.pkt" <<'EOF'
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
// accept() blocks until the handshake completes at 0.2 s
+0...0.2 accept(3, ..., ...) = 4
+0  < S 0:0(0) win 65535 <mss 1460>
+0  > S. 0:0(0) ack 1 <mss 1460>
+.2 < . 1:1(0) ack 1 win 65535
// read() blocks until data arrives 0.3 s later
+0...0.3 read(4, ..., 100) = 10
+.3 < P. 1:11(10) ack 1 win 65535
+0  > . 1:1(0) ack 11
// poll() with a timeout: nothing comes, it returns 0 after 500 ms, on a timer only
+0...0.5 poll([{fd=4, events=POLLIN, revents=0}], 1, 500) = 0
// and without one it returns when the peer's FIN arrives (the kernel delays the ACK)
+.6...0.8 poll([{fd=4, events=POLLIN, revents=POLLIN}], 1, -1) = 1
+.2 < F. 11:11(0) ack 1 win 65535
+0~+.05 > . 1:1(0) ack 12
+.1 read(4, ..., 100) = 0
EOF
cat > "$tmp/blocking-client.pkt" <<'EOF'
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
// connect() blocks until the SYN-ACK at 0.1 s
+0...0.1 connect(3, ..., ...) = 0
+0  > S 0:0(0) <...>
+.1 < S. 0:0(0) ack 1 win 65535 <mss 1460>
+0  > . 1:1(0) ack 1
+.1 write(3, ..., 10) = 10
+0  > P. 1:11(10) ack 1
+.1 < . 1:1(0) ack 11 win 65535
EOF
cat > "$tmp/blocking-write.pkt" <<'EOF'
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0  connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0  > S 0:0(0) <...>
// made blocking, write() waits for the handshake to end
+0  fcntl(3, F_SETFL, O_RDWR) = 0
+0...0.1 write(3, ..., 10) = 10
+.1 < S. 0:0(0) ack 1 win 65535 <mss 1460>
+0  > P. 1:11(10) ack 1
+.1 < . 1:1(0) ack 11 win 65535
EOF
cat > "$tmp/blocking-main-thread.pkt" <<'EOF'
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
// no range: packetdrill makes this call on its main thread, which waits in it for 250 ms
+0  poll([{fd=3, events=POLLIN, revents=0}], 1, 250) = 0
+0  < S 0:0(0) win 65535 <mss 1460>
.25 > S. 0:0(0) ack 1 <mss 1460>
EOF
cat > "$tmp/blocking-close.pkt" <<'EOF'
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0...1.3 accept(3, ..., ...) = 3
// the descriptor goes (packetdrill first waits 1 s for the accept), the blocked accept()
// keeps the listener, and its child gets the lowest free descriptor, 3
+1.1 close(3) = 0
+.1 < S 0:0(0) win 65535 <mss 1460>
+0  > S. 0:0(0) ack 1 <mss 1460>
+.1 < . 1:1(0) ack 1 win 65535
+.1 close(3) = 0
+0  > F. 1:1(0) ack 1
EOF
for f in server client write main-thread close; do
	must_pass "$tmp/blocking-$f.pkt" ""
done

# Wrong scripts must fail, for the right reason.
sed 's/> R 1000:1000(0)/> R 999:999(0)/' tests/pkt/b20-bad-ack.pkt > "$tmp/wrong-rst.pkt"
l=$(grep -n '> R 999:999(0)' "$tmp/wrong-rst.pkt" | cut -d: -f1)
must_fail "$tmp/wrong-rst.pkt" "wrong-rst.pkt:$l: .*tcp_seq: expected: 999"
# b38's connect() returns at 131 s, not 100 ms earlier
grep -v '^`sysctl' tests/pkt/b38-syn-schedule.pkt |
	sed 's/^+0...131 connect/+0...130.9 connect/' > "$tmp/wrong-connect-time.pkt"
l=$(grep -n '^+0...130.9 connect' "$tmp/wrong-connect-time.pkt" | cut -d: -f1)
must_fail "$tmp/wrong-connect-time.pkt" \
	"wrong-connect-time.pkt:$l: timing error: expected system call return"
# the accept() returns with the final ACK at 0.2 s, not at 0.1 s
sed 's/^+0...0.2 accept/+0...0.1 accept/' "$tmp/blocking-server.pkt" > "$tmp/wrong-accept-time.pkt"
must_fail "$tmp/wrong-accept-time.pkt" \
	'wrong-accept-time.pkt:6: timing error: expected system call return'
echo "$n scripts through packetdrill --so_filename (3 of them wrong, which must fail): $fails failed"
[ "$fails" -eq 0 ]
