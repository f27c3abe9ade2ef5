#!/bin/sh
# make install into a scratch DESTDIR, then build examples/embed.c against the installed header
# and library through pkg-config (as an embedder would) and run it; also check the files.
set -eu
build=${SYNQ_BUILD:-build}
san=0
extra=""
case "$build" in *asan*) san=1; extra="-fsanitize=address,undefined" ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make -s --no-print-directory install BUILD="$build" SAN="$san" PREFIX=/usr DESTDIR="$tmp" >/dev/null
for f in usr/include/synq.h usr/lib/libsynq.a usr/lib/libsynq.so.0 usr/lib/pkgconfig/synq.pc usr/bin/synq; do
	[ -e "$tmp/$f" ] || { echo "missing $f after make install"; exit 1; }
done
grep -q '^prefix=/usr$' "$tmp/usr/lib/pkgconfig/synq.pc" || { echo "synq.pc has the wrong prefix"; exit 1; }
# only synq_ symbols are exported by the shared library
if nm -D --defined-only "$tmp/usr/lib/libsynq.so.0" | awk '$2 != "A" {print $3}' | grep -v '^synq_' | grep -q .; then
	echo "libsynq.so exports non-synq_ symbols:"; nm -D --defined-only "$tmp/usr/lib/libsynq.so.0" | grep -v ' synq_'
	exit 1
fi
PKG_CONFIG_SYSROOT_DIR="$tmp" PKG_CONFIG_LIBDIR="$tmp/usr/lib/pkgconfig" \
	cc -std=c11 -Wall -Wextra -Werror $extra examples/embed.c \
	$(PKG_CONFIG_SYSROOT_DIR="$tmp" PKG_CONFIG_LIBDIR="$tmp/usr/lib/pkgconfig" pkg-config --cflags synq) \
	"$tmp/usr/lib/libsynq.a" -o "$tmp/embed"
out=$("$tmp/embed")
echo "$out"
echo "$out" | grep -q "client read 6 bytes: hello" || { echo "embed example did not echo"; exit 1; }
echo "$out" | grep -q "TcpPassiveOpens 1" || { echo "embed example: wrong counter"; exit 1; }
