# SPDX-License-Identifier: Apache-2.0
# Shared helpers for shell tests: each check prints PASS:/FAIL:/SKIP: lines that tests/run.sh
# counts. Source it; it creates $T (a temp dir removed at exit) and puts the build on PATH.
set -u
top=${VMSEAL_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BIN=${VMSEAL_BIN:-$top/build/bin}
# The test build (same sources, -DVMSEAL_TEST_BUILD): the only binaries with fault points
# (VMSEAL_FAULT) and the entropy simulation (VMSEAL_TEST_NO_ENTROPY). Call them by full path,
# "$TESTBIN/vmseal-key ...", only where a test needs those; move time with libfaketime.
TESTBIN=${VMSEAL_TESTBIN:-$(dirname "$BIN")/testbin}
export PATH="$BIN:$PATH"
# Secrets (passphrase files, keys) must not be readable by others (lib/util.c secret_file_check,
# as ssh): tests create their files private, as an administrator would.
umask 077
T=$(mktemp -d /tmp/vmseal-test.XXXXXX)
cleanup_hooks=()
_cleanup() { for h in "${cleanup_hooks[@]}"; do eval "$h"; done; rm -rf "$T"; }
trap _cleanup EXIT
# The version every program prints: debian/changelog's first line (the Makefile's one source).
VERSION=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$top/debian/changelog")
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; }
skip() { echo "SKIP: $*"; }

# flip_byte FILE OFFSET: inverts every bit of one byte in place. Writing a fixed byte instead
# leaves random data unchanged once in 256 runs (the byte was already that value).
flip_byte() {
	"$PY" -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0xff]))' "$1" "$2"
}

# expect_rc NAME RC CMD...: runs CMD, checks its exit code; output goes to $T/out and $T/err.
expect_rc() {
	local name=$1 want=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" = "$want" ]; then pass "$name"; return 0; fi
	fail "$name (exit $rc, want $want): $(head -c 400 "$T/err")"
	return 1
}

# expect_deny NAME PATTERN CMD...: exit 1 and stderr matching PATTERN (grep -E), no "allowed".
expect_deny() {
	local name=$1 pat=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" = 1 ] && grep -qE -- "$pat" "$T/err" && ! grep -q allowed "$T/out"; then
		pass "$name"; return 0
	fi
	fail "$name (exit $rc, stderr: $(head -c 400 "$T/err"))"
	return 1
}

# expect_err NAME PATTERN CMD...: exit 2 with stderr matching PATTERN, no "allowed".
expect_err() {
	local name=$1 pat=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" = 2 ] && grep -qE -- "$pat" "$T/err" && ! grep -q allowed "$T/out"; then
		pass "$name"; return 0
	fi
	fail "$name (exit $rc, stderr: $(head -c 400 "$T/err"))"
	return 1
}

# hook_options_wrapper: puts a vmseal-hook first on PATH that passes the test-only variables
# HOOK_CONF and HOOK_POLICY to the real hook as --config and --policy. The hook itself reads no
# environment variable (a release binary has no switch that moves its policy).
hook_options_wrapper() {
	mkdir -p "$T/hookbin"
	printf '#!/bin/sh\nexec "%s/vmseal-hook" ${HOOK_CONF:+--config "$HOOK_CONF"} ${HOOK_POLICY:+--policy "$HOOK_POLICY"} "$@"\n' \
		"$BIN" > "$T/hookbin/vmseal-hook"
	chmod 0755 "$T/hookbin/vmseal-hook"
	export PATH="$T/hookbin:$PATH"
}
