#!/bin/sh
# synq cookie decode on a cookie a live stack made (test_syncookie --sample prints its arguments)
set -eu
build=${SYNQ_BUILD:-build}
args=$("$build/tests/unit/test_syncookie" --sample)
out=$("$build/synq" cookie decode $args)
echo "$out"
echo "$out" | grep -q "mss index  3 -> MSS 1460" || { echo "wrong MSS"; exit 1; }
echo "$out" | grep -q "wscale 10, SACK yes, ECN no" || { echo "wrong options"; exit 1; }
echo "$out" | grep -q "validates  yes" || { echo "should validate"; exit 1; }
# 200 s later it is too old: exit status 1
set +e
"$build/synq" cookie decode $(echo "$args" | sed 's/--time 5/--time 205/') >/dev/null
rc=$?
[ "$rc" -eq 1 ] || { echo "an old cookie: want exit 1, got $rc"; exit 1; }
"$build/synq" cookie decode --isn 1 >/dev/null 2>&1
rc=$?
[ "$rc" -eq 2 ] || { echo "missing arguments: want exit 2, got $rc"; exit 1; }
"$build/synq" cookie decode $(echo "$args" | sed 's/--secrets [0-9a-f]*/--secrets zz/') >/dev/null 2>&1
rc=$?
[ "$rc" -eq 2 ] || { echo "bad secrets: want exit 2, got $rc"; exit 1; }
"$build/synq" cookie decode --help | grep -q "usage: synq cookie decode" || exit 1
exit 0
