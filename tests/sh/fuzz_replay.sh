#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Replays every fuzz target's corpus (tests/fuzz/corpus/NAME/) through the target built with the
# normal compiler ($BUILD/fuzz/replay_NAME, ASan/UBSan under SAN=1): crashes that libFuzzer once
# found stay fixed, without needing clang in CI. Also checks that the replay driver can fail.
source "$(dirname "$0")/lib.sh"
FUZZ_BIN=$(dirname "$BIN")/fuzz

for src in "$top"/tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c); name=${name#fuzz_}
	drv="$FUZZ_BIN/replay_$name" corpus="$top/tests/fuzz/corpus/$name"
	if [ ! -x "$drv" ]; then fail "replay $name: $drv not built (make all)"; continue; fi
	if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus")" ]; then fail "replay $name: no seed corpus in $corpus"; continue; fi
	n=$(ls -A "$corpus" | wc -l)
	if "$drv" "$corpus" >"$T/out" 2>"$T/err" && grep -q "^replayed $n inputs$" "$T/out"; then
		pass "replay $name corpus ($n inputs)"
	else
		fail "replay $name corpus: $(tail -c 600 "$T/err") $(cat "$T/out")"
	fi
done

# A harness aborts on a broken invariant (the driver then dies with SIGABRT, which fails above);
# an input that cannot be read must fail too rather than count as replayed.
if [ -x "$FUZZ_BIN/replay_dsse" ]; then
	expect_rc "replay fails on a missing input" 2 "$FUZZ_BIN/replay_dsse" "$T/does-not-exist"
fi
