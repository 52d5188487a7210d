#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Checks the Debian packages vmseal needs to build and test; as root installs the missing ones
# (one apt-get update first), otherwise prints the exact command and fails.
set -euo pipefail

BUILD_PKGS="build-essential pkg-config libssl-dev libvirt-dev libmicrohttpd-dev libjansson-dev
libcunit1-dev libxml2-dev libcurl4-openssl-dev libgfshare-dev libgnutls28-dev libhiredis-dev
scdoc"
TEST_PKGS="openssl python3 python3-cryptography qemu-utils curl time gnutls-bin softhsm2
libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 redis-server valgrind
faketime openssh-server openssh-client logrotate ovmf btrfs-progs"
PKGS="$BUILD_PKGS $TEST_PKGS ${VMSEAL_EXTRA_PKGS:-}"

# pkcs11-provider (OpenSSL 3 provider for PKCS#11 keys) exists for bookworm only in
# bookworm-backports. Optional: without it the PKCS#11 tests SKIP, so nothing here is fatal.
# As root, adds a backports source on the Debian mirror apt already uses (once), then installs it.
optional_pkcs11_provider() {
	local mirror src=/etc/apt/sources.list.d/vmseal-backports.sources
	dpkg-query -W -f='${Status}' pkcs11-provider 2>/dev/null | grep -q 'install ok installed' && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "vmseal: optional pkcs11-provider missing (PKCS#11 tests will SKIP); as root: apt-get install -t bookworm-backports pkcs11-provider" >&2
		return 0
	fi
	[ "$(. /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-}")" = bookworm ] || return 0
	if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		mirror=$(grep -hs -A2 -E '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null |
			awk '$1=="URIs:"{u=$2} $1=="Suites:" && / bookworm( |$)/{print u; exit}')
		[ -n "$mirror" ] || mirror=$(awk '$1=="deb" && $3=="bookworm"{print $2; exit}' \
			/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null)
		[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
		printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
			"$mirror" >"$src"
		echo "vmseal: added bookworm-backports ($mirror) in $src" >&2
	fi
	export DEBIAN_FRONTEND=noninteractive
	if ! { apt-get update -qq &&
	       apt-get install -y --no-install-recommends -t bookworm-backports pkcs11-provider; }; then
		echo "vmseal: warning: pkcs11-provider could not be installed; PKCS#11 tests will SKIP" >&2
	fi
	return 0
}
optional_pkcs11_provider

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
