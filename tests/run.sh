#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every CUnit binary and every shell test, then prints one closing line:
# "N passed, N failed" (", N skipped" when some were skipped).
set -u
BUILD=${BUILD:-build}
what=${1:-all}
top=$(cd "$(dirname "$0")/.." && pwd)
export VMSEAL_BIN="$top/$BUILD/bin" VMSEAL_TESTBIN="$top/$BUILD/testbin" VMSEAL_TOP="$top" PATH="$top/$BUILD/bin:$PATH"
passed=0 failed=0 skipped=0
failures=()
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

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
		echo "== $name"
		bash "$t" >"$log/$name.out" 2>&1
		rc=$?
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
	done
fi

echo
[ ${#failures[@]} -gt 0 ] && echo "failing: ${failures[*]}"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
