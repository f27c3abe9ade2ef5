#!/bin/sh
# test_serve.sh — `synq serve` on a TUN device against real kernel clients, in a network
# namespace this script creates (and deletes on exit):
#   http:     curl fetches the page twice over one keep-alive connection;
#   root:     --root DIR: a file (bytes compared), index.html, 404, 403 for escapes;
#   echo:     a python3 client sends 100 000 bytes and reads them back, then sees EOF;
#   overflow: --backlog 2 --accept never --app hold, 2 fill + 4 burst kernel clients
#             (tests/serve/clients.py): synq ss -l shows Recv-Q/Send-Q 3/2, synq nstat
#             TcpExtListenOverflows > 0, synq ss -a SYN-RECV requests, the B7 line when the SYN
#             queue overflowed; then `synq ctl accept always` empties the accept queue;
#   SIGTERM:  exit 0, the control socket and the device are gone, the pcap file is complete;
#   errors:   bad usage exits 2 with one line; an --addr the kernel already owns exits 1.
# Run by scripts/run-tests.sh once per SYNQ_BUILD (build, build/asan). Needs root, /dev/net/tun
# and `ip netns`: without them the test fails when CI=true, else it is skipped with a message.
# Every wait is bounded; only the processes started here are killed.
set -u

T=test_serve
NS_NAMES="t"
. "$(dirname "$0")/lib.sh"
ns=$ns_t
command -v curl >/dev/null 2>&1 || skip "no curl (apt-get install curl)"
nsx() {
	ip netns exec "$ns" "$@"
}

# start_serve NAME ARGS...: synq serve in the namespace, its pid in $spid; waits (at most 10 s)
# for the control socket $tmp/NAME.sock
start_serve() {
	name=$1
	shift
	ip netns exec "$ns" "$synq" serve --ctl "$tmp/$name.sock" "$@" >"$tmp/$name.out" \
		2>"$tmp/$name.err" &
	spid=$!
	pids="$pids $spid"
	i=0
	while [ ! -S "$tmp/$name.sock" ] && [ "$i" -lt 100 ]; do
		if ! kill -0 "$spid" 2>/dev/null; then
			bad "synq serve $* exited at start: $(cat "$tmp/$name.err")"
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	[ -S "$tmp/$name.sock" ] || { bad "synq serve $*: no control socket after 10 s"; return 1; }
	return 0
}

# stop_serve NAME PID: SIGTERM, wait (at most 10 s), exit status 0, socket removed
stop_serve() {
	kill -TERM "$2" 2>/dev/null
	i=0
	while kill -0 "$2" 2>/dev/null && [ "$i" -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -0 "$2" 2>/dev/null && { bad "$1: still running 10 s after SIGTERM"; kill -KILL "$2"; }
	wait "$2"
	rc=$?
	pids=$(echo "$pids" | sed "s/ $2\b//")
	[ "$rc" -eq 0 ] || bad "$1: exit status $rc after SIGTERM: $(tail -n 3 "$tmp/$1.err")"
	[ -e "$tmp/$1.sock" ] && bad "$1: control socket left behind"
}

# ---- http: curl, twice on one connection --------------------------------------------------
if start_serve http --tun sq0 --addr 10.9.0.1/24 --listen 10.9.0.1:80 --app http \
	--pcap "$tmp/http.pcap"; then
	http_pid=$spid
	grep -q "^control socket $tmp/http.sock" "$tmp/http.out" || bad "http: path not printed"
	grep -q "kernel side 10.9.0.2" "$tmp/http.out" || bad "http: host address not 10.9.0.2"
	nsx curl -sS -m 5 http://10.9.0.1/ http://10.9.0.1/ >"$tmp/page" 2>"$tmp/err" ||
		bad "curl failed: $(cat "$tmp/err")"
	n=$(grep -c "Hello from synq" "$tmp/page")
	[ "$n" -eq 2 ] || bad "curl: $n pages, want 2: $(head -c 300 "$tmp/page")"
	"$synq" nstat -a --ctl "$tmp/http.sock" >"$tmp/nstat" || bad "synq nstat failed"
	grep -q "^TcpPassiveOpens  *1 " "$tmp/nstat" || bad "http: TcpPassiveOpens != 1 (one keep-alive connection): $(cat "$tmp/nstat")"
	grep -q "^#kernel" "$tmp/nstat" || bad "nstat: no #kernel line"
	"$synq" nstat --json -a --ctl "$tmp/http.sock" | "$py" -c '
import json, sys
d = json.load(sys.stdin)["kernel"]
assert d["TcpPassiveOpens"] == 1 and d["IpInReceives"] > 0, d' || bad "nstat --json"
	# deltas: nothing moved since the last call
	"$synq" nstat --ctl "$tmp/http.sock" >"$tmp/nstat2"
	[ "$(grep -vc '^#' "$tmp/nstat2")" -eq 0 ] || bad "nstat delta not empty: $(cat "$tmp/nstat2")"
	stop_serve http "$http_pid"
	nsx ip link show sq0 >/dev/null 2>&1 && bad "http: device sq0 still there after exit"
	"$py" - "$tmp/http.pcap" <<'EOF' || bad "http.pcap: incomplete"
import struct, sys
b = open(sys.argv[1], "rb").read()
assert struct.unpack("<I", b[:4])[0] == 0xa1b2c3d4 and struct.unpack("<I", b[20:24])[0] == 101
off, n, syn = 24, 0, 0
while off < len(b):
    _, _, incl, _ = struct.unpack("<IIII", b[off:off + 16])
    pkt = b[off + 16:off + 16 + incl]
    if pkt[0] >> 4 == 4 and pkt[9] == 6 and pkt[(pkt[0] & 15) * 4 + 13] & 2:
        syn += 1
    off += 16 + incl
    n += 1
assert off == len(b) and n >= 10 and syn == 2, (n, syn)
EOF
fi

# ---- root: files under --root DIR --------------------------------------------------------------
# curl fetches a 200 kB file (bytes compared), "/" (index.html), a .txt (Content-Type), a missing
# file (404), "/../" and a symlink that leads out of DIR (403).
www="$tmp/www"
mkdir -p "$www/sub"
printf '<!doctype html><title>root</title>\n' >"$www/index.html"
printf 'plain text\n' >"$www/sub/note.txt"
head -c 200000 /dev/urandom >"$www/data.bin"
printf 'secret\n' >"$tmp/secret.txt"
ln -s ../secret.txt "$www/leak.txt"
if start_serve root --tun sq4 --addr 10.9.4.1/24 --listen 10.9.4.1:80 --app http --root "$www"; then
	root_pid=$spid
	u=http://10.9.4.1
	nsx curl -sS -m 10 -o "$tmp/data.bin" "$u/data.bin" 2>"$tmp/err" || bad "root: curl data.bin: $(cat "$tmp/err")"
	cmp -s "$tmp/data.bin" "$www/data.bin" || bad "root: data.bin differs from the original"
	nsx curl -sS -m 5 "$u/" >"$tmp/index" 2>"$tmp/err" || bad "root: curl /: $(cat "$tmp/err")"
	cmp -s "$tmp/index" "$www/index.html" || bad "root: / is not index.html: $(head -c 200 "$tmp/index")"
	r=$(nsx curl -sS -m 5 -o /dev/null -w '%{http_code} %{content_type}' "$u/sub/note.txt")
	[ "$r" = "200 text/plain" ] || bad "root: /sub/note.txt: $r"
	r=$(nsx curl -sS -m 5 -o /dev/null -w '%{http_code}' "$u/nosuch.html")
	[ "$r" = 404 ] || bad "root: missing file: $r, want 404"
	r=$(nsx curl -sS -m 5 --path-as-is -o "$tmp/esc" -w '%{http_code}' "$u/../secret.txt")
	{ [ "$r" = 403 ] || [ "$r" = 404 ]; } && ! grep -q secret "$tmp/esc" ||
		bad "root: /../secret.txt: $r, want 403 or 404"
	r=$(nsx curl -sS -m 5 -o "$tmp/esc" -w '%{http_code}' "$u/leak.txt")
	[ "$r" = 403 ] && ! grep -q secret "$tmp/esc" || bad "root: symlink escape: $r, want 403"
	# every connection closed (LAST-ACK done)
	i=0
	while [ "$i" -lt 50 ]; do
		[ "$("$synq" ss -tan -H --ctl "$tmp/root.sock" | grep -vc '^LISTEN')" -eq 0 ] && break
		sleep 0.1
		i=$((i + 1))
	done
	[ "$i" -lt 50 ] || bad "root: connections left: $("$synq" ss -tan --ctl "$tmp/root.sock")"
	stop_serve root "$root_pid"
fi

# ---- echo: 100 000 bytes there and back ---------------------------------------------------
if start_serve echo --tun sq1 --addr 10.9.1.1/24 --listen 0.0.0.0:7 --app echo; then
	echo_pid=$spid
	nsx "$py" - <<'EOF' >"$tmp/echo.out" 2>&1 || bad "echo: $(cat "$tmp/echo.out")"
import os, socket
s = socket.create_connection(("10.9.1.1", 7), timeout=5)
data = os.urandom(100000)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
assert got == data, "echoed %d bytes, %s" % (len(got), "different" if len(got) == len(data) else "")
EOF
	stop_serve echo "$echo_pid"
fi

# ---- overflow: the accept queue fills, the final ACKs overflow ------------------------------
if start_serve ovf --tun sq2 --addr 10.9.2.1/24 --listen 10.9.2.1:8080 --backlog 2 \
	--accept never --app hold; then
	ovf_pid=$spid
	ip netns exec "$ns" "$py" "$here/clients.py" 10.9.2.1 8080 2 4 "$tmp/ready" 30 "$ovf_pid" \
		>"$tmp/clients.out" 2>&1 &
	cpid=$!
	pids="$pids $cpid"
	i=0
	while [ ! -e "$tmp/ready" ] && [ "$i" -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ ! -e "$tmp/ready" ]; then
		bad "overflow: clients not ready after 10 s: $(cat "$tmp/clients.out")"
	else
		s="$tmp/ovf.sock"
		"$synq" ss -lnt -H --ctl "$s" >"$tmp/ss_l" || bad "synq ss -lnt failed"
		set -- $(cat "$tmp/ss_l")
		[ "${1:-}" = LISTEN ] && [ "${2:-}" = 3 ] && [ "${3:-}" = 2 ] &&
			[ "${4:-}" = 10.9.2.1:8080 ] && [ "${5:-}" = "0.0.0.0:*" ] ||
			bad "synq ss -lnt: want 'LISTEN 3 2 10.9.2.1:8080 0.0.0.0:*', got: $(cat "$tmp/ss_l")"
		"$synq" ss -tan --ctl "$s" >"$tmp/ss_a" || bad "synq ss -tan failed"
		head -n 1 "$tmp/ss_a" | grep -q "^State *Recv-Q *Send-Q *Local Address:Port *Peer Address:Port" ||
			bad "synq ss: header: $(head -n 1 "$tmp/ss_a")"
		nsyn=$(grep -c "^SYN-RECV .*10.9.2.1:8080 *10.9.2.2:" "$tmp/ss_a")
		nest=$(grep -c "^ESTAB .*10.9.2.1:8080 *10.9.2.2:" "$tmp/ss_a")
		# as in the lab's overflow: b1 completes, b2 and b3 overflow (acked requests), b4 had
		# a cookie (the SYN queue was over the backlog) and overflowed without state
		[ "$nsyn" -eq 2 ] || bad "synq ss -a: $nsyn SYN-RECV requests, want 2: $(cat "$tmp/ss_a")"
		[ "$nest" -eq 3 ] || bad "synq ss -a: $nest ESTAB children, want 3: $(cat "$tmp/ss_a")"
		"$synq" ss -lte --ctl "$s" | grep -q "syn_queue:$nsyn young:[0-9]* overflows:[1-9][0-9]* drops:[1-9]" ||
			bad "synq ss -le: $("$synq" ss -lte --ctl "$s")"
		"$synq" ss -a --json --ctl "$s" | "$py" -c '
import json, sys
a = json.load(sys.stdin)
l = [x for x in a if x["state"] == "LISTEN"][0]
assert (l["recv_q"], l["send_q"]) == (3, 2) and l["overflows"] > 0, l
assert any(x.get("request") for x in a), a' || bad "synq ss --json"
		"$synq" nstat -a --ctl "$s" >"$tmp/nstat"
		ov=$(awk '$1 == "TcpExtListenOverflows" {print $2}' "$tmp/nstat")
		dr=$(awk '$1 == "TcpExtListenDrops" {print $2}' "$tmp/nstat")
		[ "${ov:-0}" -gt 0 ] || bad "nstat: TcpExtListenOverflows not > 0: $(cat "$tmp/nstat")"
		[ "${dr:-0}" -ge "${ov:-0}" ] || bad "nstat: ListenDrops $dr < ListenOverflows $ov"
		[ "${ov:-0}" -ge 3 ] || bad "nstat: TcpExtListenOverflows $ov, want >= 3"
		grep -q "^TcpExtTCPReqQFullDoCookies  *1 " "$tmp/nstat" || bad "nstat: TCPReqQFullDoCookies != 1"
		grep -q "^TcpExtSyncookiesSent  *1 " "$tmp/nstat" || bad "nstat: SyncookiesSent != 1"
		if true; then
			grep -q "^TCP: request_sock_TCP: Possible SYN flooding on port 10.9.2.1:8080. Sending cookies.$" "$tmp/ovf.err" ||
				bad "SYN queue overflowed but no B7 line: $(cat "$tmp/ovf.err")"
		fi
		"$py" -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["fill"] == ["connected"] * 2, r
assert all(x in ("connected", "pending") for x in r["burst"]), r' "$tmp/ready" ||
			bad "clients: $(cat "$tmp/ready")"
		# accept them now
		"$synq" ctl --ctl "$s" accept pause | grep -q "^accept paused (then never)" ||
			bad "synq ctl accept pause"
		"$synq" ctl --ctl "$s" accept always >/dev/null || bad "synq ctl accept always"
		i=0
		while [ "$i" -lt 50 ]; do
			set -- $("$synq" ss -lnt -H --ctl "$s")
			[ "${2:-}" = 0 ] && break
			sleep 0.1
			i=$((i + 1))
		done
		[ "${2:-}" = 0 ] || bad "accept queue not emptied after accept always: Recv-Q ${2:-?}"
		"$synq" ctl --ctl "$s" accept sometimes >/dev/null 2>"$tmp/err" && bad "ctl accept sometimes accepted"
		grep -q "^synq ctl: accept sometimes:" "$tmp/err" || bad "ctl error message: $(cat "$tmp/err")"
	fi
	kill -TERM "$cpid" 2>/dev/null
	wait "$cpid" 2>/dev/null
	pids=$(echo "$pids" | sed "s/ $cpid\b//")
	stop_serve ovf "$ovf_pid"
fi

# ---- errors ------------------------------------------------------------------------------
for args in "--tun" "--tun x --addr 10.0.0.1 --listen 10.0.0.1:80" \
	"--tun x --addr 10.0.0.1/24 --listen 10.0.0.2:80" "--tun x --addr 10.0.0.1/24" \
	"--tun x --addr 10.0.0.1/24 --listen 10.0.0.1:80 --accept sometimes" \
	"--tun x --addr 10.0.0.1/24 --listen 10.0.0.1:80 --set net.ipv4.nosuch=1" "--nosuch" \
	"--tun x --addr 10.0.0.1/24 --listen 10.0.0.1:80 --delay 10001" \
	"--tun x --addr 10.0.0.1/24 --listen 10.0.0.1:80 --delay 5ms"; do
	# shellcheck disable=SC2086
	"$synq" serve $args >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 2 ] || bad "synq serve $args: exit $rc, want 2"
	[ "$(grep -c . "$tmp/err")" -eq 1 ] || bad "synq serve $args: stderr: $(cat "$tmp/err")"
done
"$synq" serve --help | grep -q "exit status" || bad "synq serve --help: no exit status"
nsx ip addr add 10.9.3.1/24 dev lo
nsx timeout 10 "$synq" serve --tun sq3 --addr 10.9.3.1/24 --listen 10.9.3.1:80 --ctl "$tmp/x.sock" \
	>/dev/null 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || bad "serve on an address the kernel owns: exit $rc, want 1"
grep -q "already an address of this host" "$tmp/err" || bad "address in use: $(cat "$tmp/err")"
"$synq" ss --ctl "$tmp/none.sock" >/dev/null 2>"$tmp/err" && bad "synq ss without a server exited 0"
grep -q "no synq serve at" "$tmp/err" || bad "synq ss without a server: $(cat "$tmp/err")"

[ "$fail" -eq 0 ] || exit 1
echo "$T: ok"
exit 0
