#!/bin/sh
# Usage: scripts/fuzz.sh SECONDS
#
# Builds every fuzz/fuzz_*.c as a clang libFuzzer target (with ASan+UBSan) together with all of
# src/core/*.c into build/fuzz/<name>, then runs each one for SECONDS seconds on a copy of its
# seed corpus fuzz/corpus/<name without "fuzz_">/. New corpus entries go to
# build/fuzz/corpus-<name> and crash reproducers to build/fuzz/<name>-crash-*: nothing is written
# into the source tree. Exit status 1 if a target fails to build or crashes.
#
# FUZZ_CC overrides the compiler (default clang). FUZZ_CORE_SRCS, when set, replaces the list of
# core sources (a debugging aid, e.g. FUZZ_CORE_SRCS="src/core/wire.c src/core/siphash.c").
set -eu

if [ $# -ne 1 ] || ! [ "$1" -gt 0 ] 2>/dev/null; then
	echo "usage: $0 SECONDS" >&2
	exit 2
fi
secs=$1
cd "$(dirname "$0")/.."

cc=${FUZZ_CC:-clang}
cflags="-std=c11 -D_DEFAULT_SOURCE -g -O1 -Iinclude -Isrc -fsanitize=fuzzer,address,undefined"
cflags="$cflags -fno-sanitize-recover=all -fno-omit-frame-pointer"
# sources listed by glob (sorted by the shell); a pattern that matches nothing stays literal
globbed() { for f in "$@"; do if [ -e "$f" ]; then printf '%s ' "$f"; fi; done; }
core=${FUZZ_CORE_SRCS:-$(globbed src/core/*.c)}
out=build/fuzz

targets=$(globbed fuzz/fuzz_*.c)
if [ -z "$targets" ]; then
	echo "fuzz: no fuzz/fuzz_*.c targets" >&2
	exit 1
fi

mkdir -p "$out"
failed=""
for src in $targets; do
	name=$(basename "$src" .c)
	echo "fuzz: building $out/$name"
	# shellcheck disable=SC2086 # word splitting of the flag and source lists is intended
	if ! $cc $cflags "$src" $core -o "$out/$name"; then
		failed="$failed $name(build)"
	fi
done

for src in $targets; do
	name=$(basename "$src" .c)
	case " $failed " in *" $name(build) "*) continue ;; esac
	seeds=fuzz/corpus/${name#fuzz_}
	corpus=$out/corpus-$name
	mkdir -p "$corpus"
	if [ -d "$seeds" ] && [ -n "$(ls -A "$seeds")" ]; then
		cp -p "$seeds"/* "$corpus"/
	fi
	echo "fuzz: running $name for ${secs}s (corpus $corpus)"
	if "$out/$name" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$out/$name-" "$corpus" >"$out/$name.log" 2>&1; then
		grep -E '^(#[0-9]+ +DONE|Done [0-9]+ runs|stat::number_of_executed_units)' \
			"$out/$name.log" | tail -n 2 | sed "s/^/fuzz: $name: /"
	else
		echo "fuzz: $name FAILED (log $out/$name.log)" >&2
		tail -n 40 "$out/$name.log" | sed 's/^/    | /' >&2
		failed="$failed $name"
	fi
done

if [ -n "$failed" ]; then
	echo "fuzz: failing:$failed" >&2
	exit 1
fi
echo "fuzz: all targets ran ${secs}s without a crash"
