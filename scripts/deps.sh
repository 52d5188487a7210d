#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Checks the Debian packages vmseal needs to build and test; as root installs the missing ones
# (one apt-get update first), otherwise prints the exact command and fails.
set -euo pipefail

BUILD_PKGS="build-essential pkg-config libssl-dev libvirt-dev libmicrohttpd-dev libjansson-dev
libcunit1-dev libxml2-dev libcurl4-openssl-dev libgfshare-dev libgnutls28-dev"
TEST_PKGS="openssl python3 python3-cryptography qemu-utils curl time gnutls-bin"
PKGS="$BUILD_PKGS $TEST_PKGS ${VMSEAL_EXTRA_PKGS:-}"

missing=()
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "vmseal: missing Debian packages; run as root:" >&2
	echo "  apt-get update && $cmd" >&2
	exit 2
fi
echo "vmseal: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
$cmd
