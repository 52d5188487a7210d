#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every CUnit binary and every shell test, then prints one closing line:
# "N passed, N failed" (", N skipped" when some were skipped).
set -u
BUILD=${BUILD:-build}
what=${1:-all}
top=$(cd "$(dirname "$0")/.." && pwd)
export VMSEAL_BIN="$top/$BUILD/bin" VMSEAL_TESTBIN="$top/$BUILD/testbin" VMSEAL_TOP="$top" PATH="$top/$BUILD/bin:$PATH"
# Sanitizer builds (make check SAN=1): tests move time with libfaketime, which LD_PRELOADs itself
# ahead of the ASan runtime; ASan then refuses to start unless told that this order is fine.
case $BUILD in *-san) export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" ;; esac
passed=0 failed=0 skipped=0
failures=()
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# Tests leave the host as they found it: the host's own vmseal paths are compared before and
# after each test (type, mode, owner, size and content; a directory that existed empty must
# still exist). A test that touches them fails, named.
host_paths="/etc/vmseal /var/log/vmseal /var/log/vmseal-gateway /var/cache/vmseal /var/lib/vmseal
/etc/libvirt/hooks/qemu.d /etc/logrotate.d/vmseal"
host_snapshot() {
	local p
	for p in $host_paths; do
		[ -e "$p" ] || [ -L "$p" ] || { echo "$p absent"; continue; }
		find "$p" -printf '%p %y %m %u %g %s %l\n' 2>&1
		find "$p" -type f -readable -exec sha256sum {} + 2>/dev/null
	done | sort
}
# host_check NAME: fails NAME if the host's paths differ from the last snapshot. The package
# tests of another run on this machine (they hold the e2e lock while the package is installed)
# change these paths for a while: when that lock is busy the comparison proves nothing and only
# the baseline is taken again.
host_check() {
	host_snapshot >"$log/host.now"
	if ! flock -n /run/lock/vmseal-e2e-libvirt.lock true 2>/dev/null; then
		echo "note: $1: another run holds the e2e lock; host paths not compared"
		cp "$log/host.now" "$log/host.before"
	elif ! diff "$log/host.before" "$log/host.now" >"$log/host.diff"; then
		echo "FAIL: $1 changed the host's vmseal paths: $(grep '^[<>]' "$log/host.diff" | head -4 | tr '\n' ' ')"
		failed=$((failed + 1)); failures+=("$1")
		cp "$log/host.now" "$log/host.before"
	fi
}
host_snapshot >"$log/host.before"

if [ "$what" = all ] || [ "$what" = unit ]; then
	for t in "$top/$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		"$t" >"$log/$name.out" 2>&1
		rc=$?
		sed -n '/Run Summary/,$p' "$log/$name.out" | sed "s/^/[$name] /"
		line=$(grep -E '^ +tests ' "$log/$name.out" | tail -1)
		p=$(awk '{print $4}' <<<"$line"); f=$(awk '{print $5}' <<<"$line")
		if [ -z "$line" ] || [ $rc -ne 0 ] && [ "${f:-0}" = 0 ]; then
			echo "FAIL: $name exited $rc without a CUnit summary"; tail -20 "$log/$name.out"
			failed=$((failed + 1)); failures+=("$name"); continue
		fi
		passed=$((passed + p)); failed=$((failed + f))
		if [ "$f" != 0 ]; then
			grep -A3 -E 'Test: .*FAILED|^ +[0-9]+\. ' "$log/$name.out" | head -40
			failures+=("$name")
		fi
	done
fi

if [ "$what" = all ] || [ "$what" = sh ]; then
	for t in "$top"/tests/sh/*.sh "$top"/tests/e2e/*.sh; do
		[ -f "$t" ] || continue
		case "$(basename "$t")" in lib.sh) continue ;; esac
		name=$(basename "$t" .sh)
		# The package tests build, install and purge the .deb: under the sanitizers (make
		# check SAN=1, after the plain pass in CI) they would rebuild the whole package to
		# test packaging again, not vmseal's code paths (the hook, tools and gateway run
		# under ASan in every other test).
		case $BUILD:$name in *-san:deb | *-san:readme_install)
			echo "== $name"; echo "[$name] SKIP: $name: packaging, tested by the plain pass (not under sanitizers)"
			skipped=$((skipped + 1)); continue ;;
		esac
		echo "== $name"
		t0=$SECONDS
		bash "$t" >"$log/$name.out" 2>&1
		rc=$?
		echo "$((SECONDS - t0)) $name" >>"$log/durations"
		grep -E '^(PASS|FAIL|SKIP): ' "$log/$name.out" | sed "s/^/[$name] /"
		p=$(grep -c '^PASS: ' "$log/$name.out"); f=$(grep -c '^FAIL: ' "$log/$name.out")
		s=$(grep -c '^SKIP: ' "$log/$name.out")
		passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
		if [ $rc -ne 0 ] && [ "$f" = 0 ]; then
			echo "FAIL: $name exited $rc"; tail -30 "$log/$name.out"
			failed=$((failed + 1))
		fi
		if [ "$f" != 0 ] || [ $rc -ne 0 ]; then
			failures+=("$name")
			echo "--- output of $name (last 40 lines)"; tail -40 "$log/$name.out"
		fi
		host_check "$name"
	done
fi

echo
if [ -s "$log/durations" ]; then
	echo "slowest tests (s): $(sort -rn "$log/durations" | head -8 | awk '{printf "%s %s, ", $2, $1}')total ${SECONDS} s"
fi
[ ${#failures[@]} -gt 0 ] && echo "failing: ${failures[*]}"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
