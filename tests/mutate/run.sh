#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make mutate: applies each one-line mutant of tests/mutate/mutants.txt in a scratch copy of the
# tree, builds, runs the tests the mutant names, restores the line. A mutant the tests do not
# catch "survived". Prints one line per mutant and the score. Not part of make check (it builds
# once per mutant); MUTANTS=FILE picks another list, ONLY=N runs mutant N alone.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
list=${MUTANTS:-$top/tests/mutate/mutants.txt}
scratch=$(mktemp -d /tmp/vmseal-mutate.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
# The scratch copy shares nothing with the tree it came from: a mutant can never be left behind.
tar -C "$top" --exclude=./build --exclude=./build-san --exclude=./build-fuzz --exclude=.git -cf - . |
	tar -C "$scratch" -xf -
cd "$scratch"
echo "mutate: building the unmutated copy in $scratch"
nice -n 19 make -j2 all unit-bins >build.log 2>&1 || { echo "mutate: the unmutated tree does not build"; tail -20 build.log; exit 2; }

run_test() { # NAME: 0 passed, 1 failed
	case "$1" in
	unit:*) "./build/tests/${1#unit:}" >test.log 2>&1 || return 1 ;; # exit 1 on any failure
	sh:*) BUILD=build bash "tests/sh/${1#sh:}.sh" >test.log 2>&1; local rc=$?
		grep -q '^FAIL: ' test.log && return 1
		[ $rc = 0 ] || return 1 ;;
	*) echo "mutate: unknown test $1"; return 2 ;;
	esac
	return 0
}

n=0 killed=0 survived=0 broken=0
survivors=()
while IFS= read -r line; do
	case "$line" in '#'* | '') continue ;; esac
	n=$((n + 1))
	[ -n "${ONLY:-}" ] && [ "$ONLY" != "$n" ] && continue
	fields=$(python3 -c 'import sys; f = sys.argv[1].split(" :: "); assert len(f) == 4; print("\x1f".join(f))' "$line") ||
		{ echo "mutant $n: not FILE :: TEXT :: REPLACEMENT :: TESTS: $line"; broken=$((broken + 1)); continue; }
	IFS=$'\x1f' read -r file find repl tests <<<"$fields"
	count=$(grep -cF -- "$find" "$file" 2>/dev/null || true)
	if [ "$count" != 1 ]; then
		echo "mutant $n: $file: text found $count times (want 1): $find"
		broken=$((broken + 1)); continue
	fi
	cp "$file" "$file.orig"
	FIND=$find REPL=$repl python3 -c '
import os, sys
p = sys.argv[1]; s = open(p).read()
open(p, "w").write(s.replace(os.environ["FIND"], os.environ["REPL"], 1))' "$file"
	status=survived
	if ! nice -n 19 make -j2 all unit-bins >build.log 2>&1; then
		status="does not build" # the compiler caught it, not a test: the mutant needs rewording
	else
		for t in $tests; do
			if ! run_test "$t"; then status="killed by $t"; break; fi
		done
	fi
	mv "$file.orig" "$file"
	touch "$file"
	if [ "$status" = survived ]; then
		survived=$((survived + 1)); survivors+=("$n")
		echo "mutant $n: SURVIVED: $file: $find -> $repl"
	elif [ "$status" = "does not build" ]; then
		broken=$((broken + 1))
		echo "mutant $n: does not build (not counted): $file: $find"
		grep -m3 -E 'error|Error' build.log | sed 's/^/    /'
	else
		killed=$((killed + 1))
		echo "mutant $n: $status: $file: $find"
	fi
done <"$list"
total=$((killed + survived))
echo "mutate: $killed of $total mutants killed${broken:+, $broken not applicable}${survivors:+; survived: ${survivors[*]}}"
[ "$survived" = 0 ] && [ "$broken" = 0 ]
