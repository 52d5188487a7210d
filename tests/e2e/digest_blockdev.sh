#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# vmseal-digest on a block device (a loop device over a file): same digest as the file itself.
source "$(dirname "$0")/../sh/lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v losetup >/dev/null || [ ! -e /dev/loop-control ]; then
	skip "block device digest (needs root and loop devices)"
	exit 0
fi
# Two chunks and a bit, a whole number of 512-byte sectors so the device shows every byte.
head -c $((2 * 4194304 + 4096)) /dev/urandom >"$T/disk.img"
if ! dev=$(losetup --find --show --read-only "$T/disk.img" 2>"$T/err"); then
	skip "block device digest (losetup failed: $(head -c 200 "$T/err"))"
	exit 0
fi
cleanup_hooks+=("losetup -d $dev")
want=$($PY "$top/tests/merkle_ref.py" --sha256 "$T/disk.img" | cut -d' ' -f1-6)
if expect_rc "digest of $dev" 0 vmseal-digest --sha256 "$dev"; then
	got=$(cut -d' ' -f1-6 "$T/out")
	[ "$got" = "$want" ] && pass "block device digest, size and sha256 equal the file's" \
		|| fail "block device: '$got' want '$want'"
fi
