#!/bin/sh
# Runs every test binary under each build dir given (build/tests/..., build/asan/tests/...) and
# every tests/*/test_*.sh script once per build dir (SYNQ_BUILD names the dir), prints the
# cmocka summaries and ends with "N passed, N failed". Exit status 1 if anything failed.
# A script that exits 77 was skipped (something it needs cannot be installed here, e.g. an
# upstream packetdrill binary): reported, counted neither way.
set -u
passed=0
failed=0
skipped=0
failures=""
for dir in "$@"; do
	for t in $(find "$dir/tests" -type f -perm -u+x -name 'test_*' | sort); do
		out=$("$t" 2>&1)
		rc=$?
		p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
		f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
		printf '%-52s %4d passed %3d failed\n' "$t" "$p" "$f"
		if [ "$f" -ne 0 ]; then
			printf '%s\n' "$out" | tail -n 40 | sed 's/^/    | /'
			failures="$failures $t"
		fi
		passed=$((passed + p))
		failed=$((failed + f))
	done
	for sh in $(ls tests/*/test_*.sh 2>/dev/null | sort); do
		out=$(SYNQ_BUILD="$dir" sh "$sh" 2>&1)
		rc=$?
		if [ "$rc" -eq 77 ]; then
			printf '%-52s skipped: %s\n' "$sh ($dir)" "$(printf '%s' "$out" | tail -n 1)"
			skipped=$((skipped + 1))
		elif [ "$rc" -eq 0 ]; then
			printf '%-52s %4d passed %3d failed\n' "$sh ($dir)" 1 0
			passed=$((passed + 1))
		else
			printf '%-52s %4d passed %3d failed\n' "$sh ($dir)" 0 1
			printf '%s\n' "$out" | tail -n 40 | sed 's/^/    | /'
			failures="$failures $sh($dir)"
			failed=$((failed + 1))
		fi
	done
done
[ -n "$failures" ] && echo "failing:$failures"
[ "$skipped" -ne 0 ] && echo "$skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
