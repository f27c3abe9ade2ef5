#!/bin/sh
# test_lab_cli.sh — `synq lab` from the command line, for every experiment:
#   --json: every line parses as JSON (/usr/bin/python3), the run ends with the counters, and the
#           overflow experiment shows drops with reason accept_queue_full and rule B27;
#   --pcap: tshark reads the file (exit 0, nothing on stderr but its root warning), no malformed
#           packet; --svg: well-formed XML (xml.dom.minidom) with both the chart and the ladder;
#   the default ladder fits 100 columns; --help and --list exit 0; bad usage exits 2 with a
#   one-line message on stderr.
# Run by scripts/run-tests.sh with SYNQ_BUILD set (build, build/asan). Without tshark the pcap
# checks fail when CI=true, else they are skipped with a message.
set -u

build=${SYNQ_BUILD:-build}
synq="$build/synq"
py=/usr/bin/python3
[ -x "$synq" ] || { echo "test_lab_cli: FAIL: $synq not found (make)"; exit 1; }
[ -x "$py" ] || { echo "test_lab_cli: FAIL: $py not found"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/synq-lab-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
export HOME="$tmp"
export XDG_CONFIG_HOME="$tmp/config"

fail=0
bad() {
	echo "test_lab_cli: FAIL: $*"
	fail=1
}

have_tshark=1
if ! command -v tshark >/dev/null 2>&1; then
	have_tshark=0
	if [ "${CI:-}" = "true" ]; then
		bad "tshark is not installed (required when CI=true)"
	else
		echo "test_lab_cli: tshark is not installed: pcap checks skipped (apt-get install tshark)"
	fi
fi

errors() {
	sed -e 's/Running as user "root" and group "root"\. This could be dangerous\.//g' "$1" |
		grep -v '^[[:space:]]*$'
}

for exp in overflow abort late-accept data-after-expiry silent-client syn-drop flood; do
	# JSON lines
	if ! "$synq" lab "$exp" --json >"$tmp/$exp.json" 2>"$tmp/err"; then
		bad "synq lab $exp --json failed: $(cat "$tmp/err")"
		continue
	fi
	if ! "$py" -c 'import json,sys; [json.loads(l) for l in sys.stdin]' <"$tmp/$exp.json" 2>"$tmp/err"; then
		bad "synq lab $exp --json: not JSON lines: $(tail -n 1 "$tmp/err")"
	fi
	"$py" - "$tmp/$exp.json" "$exp" >"$tmp/check" 2>&1 <<'EOF' || bad "synq lab $2 --json: $(cat "$tmp/check")"
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
exp = sys.argv[2]
assert evs[0]["ev"] == "setup" and evs[0]["experiment"] == exp, "first line is not the setup"
if exp == "flood":
    s = evs.pop()
    assert s["ev"] == "flood_summary", "the flood run does not end with flood_summary"
    for k in ("legit_total", "legit_ok", "connect_p50_ms", "connect_p99_ms", "max_synq", "max_recvq", "peak_bytes"):
        assert k in s, "flood_summary has no " + k
    assert s["legit_ok"] == s["legit_total"] == 2 and s["max_synq"] == 129, s
    fl = [e for e in evs if e["ev"] == "flood"]
    assert 5 <= len(fl) <= 20 and sum(e["syns"] for e in fl) == 20000, "flood lines"
assert evs[-2]["ev"] == "counters" and evs[-2]["at"] == "server", "no server counters at the end"
assert evs[-1]["ev"] == "counters", "no client counters at the end"
kinds = {e["ev"] for e in evs}
for k in ("pkt", "state", "app", "queue"):
    assert k in kinds, "no %s event" % k
t = [e["t_us"] for e in evs[:-2]]
assert all(isinstance(x, int) for x in t), "t_us not integers"
assert t == sorted(t), "t_us goes backwards"
for e in evs:
    if e["ev"] == "pkt":
        assert e["flags"] in ("S", "S.", ".", "P.", "F.", "FP.", "R", "R."), e["flags"]
        assert isinstance(e["seq"], int) and e["conn"].startswith("c")
if exp == "overflow":
    d = [e for e in evs if e["ev"] == "drop" and e["reason"] == "accept_queue_full" and e["rule"] == "B27"]
    assert len(d) == 12, "%d B27 drops (want 12)" % len(d)
    assert evs[-2]["TcpExtListenOverflows"] == 13
if exp == "abort":
    a = [e for e in evs if e["ev"] == "app" and e.get("errno") in ("ECONNRESET", "EPIPE")]
    assert len(a) == 4, "abort: %d ECONNRESET/EPIPE calls (want 4)" % len(a)
if exp == "syn-drop":
    a = [e for e in evs if e["ev"] == "app" and e.get("errno") == "ETIMEDOUT"]
    assert len(a) == 1 and a[0]["call"] == "connect", "syn-drop: no connect() ETIMEDOUT"
EOF

	# pcap and svg
	if ! "$synq" lab "$exp" --quiet --pcap "$tmp/$exp.pcap" --svg "$tmp/$exp.svg" >"$tmp/out" 2>"$tmp/err"; then
		bad "synq lab $exp --pcap --svg failed: $(cat "$tmp/err")"
		continue
	fi
	[ -s "$tmp/out" ] && bad "synq lab $exp --quiet printed on stdout"
	"$py" - "$tmp/$exp.svg" >"$tmp/check" 2>&1 <<'EOF' || bad "$exp.svg: $(cat "$tmp/check")"
import sys, xml.dom.minidom
d = xml.dom.minidom.parse(sys.argv[1])
assert d.documentElement.tagName == "svg"
ids = [g.getAttribute("id") for g in d.getElementsByTagName("g")]
assert "chart" in ids and "ladder" in ids, ids
assert len(d.getElementsByTagName("polyline")) >= 3, "no chart lines"
assert len(d.getElementsByTagName("line")) > 10, "no ladder arrows"
EOF
	if [ "$have_tshark" -eq 1 ]; then
		tshark -n -r "$tmp/$exp.pcap" >"$tmp/list" 2>"$tmp/err"
		rc=$?
		[ "$rc" -eq 0 ] || bad "tshark -r $exp.pcap exited with $rc"
		if errors "$tmp/err" >/dev/null; then
			bad "tshark -r $exp.pcap printed on stderr: $(errors "$tmp/err")"
		fi
		n=$(grep -c . "$tmp/list")
		[ "$n" -gt 5 ] || bad "tshark lists $n packets in $exp.pcap"
		grep -q "Malformed" "$tmp/list" && bad "$exp.pcap: malformed packets"
		grep -qF "[SYN, ACK]" "$tmp/list" || bad "$exp.pcap: no SYN-ACK in the tshark listing"
	fi
done

# the default run: the overflow ladder, within 100 columns
"$synq" lab >"$tmp/ladder" 2>"$tmp/err" || bad "synq lab failed: $(cat "$tmp/err")"
grep -q "B27" "$tmp/ladder" || bad "the default ladder has no B27 drop"
grep -q "ListenOverflows+1 ListenDrops+1" "$tmp/ladder" || bad "the ladder shows no counters"
w=$("$py" -c 'import sys; print(max(len(l.rstrip("\n")) for l in open(sys.argv[1], encoding="utf-8")))' "$tmp/ladder")
[ "$w" -le 100 ] || bad "the ladder is $w columns wide"

# help, list, bad usage
"$synq" lab --help >"$tmp/out" 2>&1 || bad "synq lab --help exited with $?"
grep -q -- "--backlog" "$tmp/out" || bad "--help does not describe --backlog"
"$synq" lab --list >"$tmp/out" 2>&1 || bad "synq lab --list exited with $?"
for exp in overflow abort late-accept data-after-expiry silent-client syn-drop flood; do
	grep -q "^$exp " "$tmp/out" || bad "--list does not describe $exp"
done
"$synq" lab --help | grep -q -- "--kernel-timers" || bad "--help does not describe --kernel-timers"
"$synq" lab --help | grep -q -- "--flood-rate" || bad "--help does not describe --flood-rate"
for args in "nosuch" "--nosuch" "--backlog x" "--accept sometimes" "--send 100" \
	"--set net.ipv4.nosuch=1" "--kernel 2.6" "--kernel-timers=yes" "--flood-rate 0" "overflow abort" \
	"--burst" "--fill 0 --burst 0"; do
	# shellcheck disable=SC2086
	"$synq" lab $args >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 2 ] || bad "synq lab $args exited with $rc, want 2"
	[ "$(grep -c . "$tmp/err")" -eq 1 ] || bad "synq lab $args: want one line on stderr, got: $(cat "$tmp/err")"
	[ -s "$tmp/out" ] && bad "synq lab $args printed on stdout"
done
# the flood ladder: summary rows, no spoofed packet drawn, the legitimate clients' result
"$synq" lab flood >"$tmp/flood" 2>"$tmp/err" || bad "synq lab flood failed: $(cat "$tmp/err")"
grep -q "≋" "$tmp/flood" || bad "the flood ladder has no flood rows"
grep -q "legitimate clients: 2 of 2 connected" "$tmp/flood" || bad "the flood ladder has no client summary"
[ "$(wc -l <"$tmp/flood")" -lt 200 ] || bad "the flood ladder draws the flood packet by packet"
w=$("$py" -c 'import sys; print(max(len(l.rstrip("\n")) for l in open(sys.argv[1], encoding="utf-8")))' "$tmp/flood")
[ "$w" -le 100 ] || bad "the flood ladder is $w columns wide"

[ "$fail" -eq 0 ] || exit 1
echo "test_lab_cli: ok"
exit 0
