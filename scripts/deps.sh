#!/bin/sh
# Installs the Debian 12 packages synq's build and tests need, when they are missing.
# Run as root (CI does); otherwise it prints the apt-get line to run.
set -eu
PKGS="build-essential clang libcmocka-dev tshark tcpdump pkg-config python3 iproute2 curl"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "synq: missing Debian packages:$missing" >&2
	echo "synq: run as root: apt-get install -y$missing" >&2
	exit 1
fi
echo "synq: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq $missing >/dev/null
