#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# vmseal-digest against the independent python reference (tests/merkle_ref.py) and sha256sum.
source "$(dirname "$0")/lib.sh"

REF="$PY $top/tests/merkle_ref.py"
C=$((4 * 1024 * 1024))

# Deterministic random data: file NAME SIZE SEED
mkfile() {
	$PY -c 'import random, sys
r = random.Random(int(sys.argv[3]))
open(sys.argv[1], "wb").write(r.randbytes(int(sys.argv[2])))' "$T/$1" "$2" "$3"
}

sizes="0 1 $((C - 1)) $C $((C + 1)) $((2 * C)) $((3 * C)) $((5 * C)) $((17 * C))"
files=()
seed=1
for s in $sizes; do
	mkfile "img-$s" "$s" "$seed"
	files+=("$T/img-$s")
	seed=$((seed + 1))
done

for f in "${files[@]}"; do
	name=$(basename "$f")
	want=$($REF "$f")
	if expect_rc "$name runs" 0 vmseal-digest "$f"; then
		got=$(cat "$T/out")
		if [ "$got" = "$want" ]; then pass "$name matches the reference"
		else fail "$name: got '$got', reference '$want'"; fi
	fi
done

# Thread counts and several files in one call give the same lines as the reference.
$REF "${files[@]}" >"$T/want-all"
for n in 1 2 3 7; do
	if expect_rc "--threads $n runs" 0 vmseal-digest --threads "$n" "${files[@]}"; then
		if cmp -s "$T/out" "$T/want-all"; then pass "--threads $n, all files match"
		else fail "--threads $n: $(diff "$T/out" "$T/want-all" | head -5)"; fi
	fi
done

# --sha256: the extra column is the plain SHA-256, the same as sha256sum's.
big="$T/img-$((17 * C))"
if expect_rc "--sha256 runs" 0 vmseal-digest --sha256 "$big" "$T/img-0" "$T/img-$((C + 1))"; then
	ok=1
	for f in "$big" "$T/img-0" "$T/img-$((C + 1))"; do
		line=$(grep -F "  $f" "$T/out")
		read -r root size sha name <<<"$line"
		want_sha=$(sha256sum "$f" | cut -d' ' -f1)
		read -r want_root want_size _ <<<"$($REF "$f")"
		if [ "$sha" != "$want_sha" ] || [ "$root" != "$want_root" ] || [ "$size" != "$want_size" ] \
			|| [ "$name" != "$f" ]; then
			ok=0; fail "--sha256 line for $f: '$line' (sha256sum $want_sha)"
		fi
	done
	[ $ok = 1 ] && pass "--sha256 column equals sha256sum, merkle and size unchanged"
fi

# Every byte counts: one flipped byte or one byte more changes the digest.
cp "$big" "$T/flipped"
flip_byte "$T/flipped" $((9 * C + 12345))
[ "$(cmp -s "$T/flipped" "$big"; echo $?)" = 1 ] || fail "test setup: flip did not change the file"
a=$(vmseal-digest "$big" | cut -d' ' -f1); b=$(vmseal-digest "$T/flipped" | cut -d' ' -f1)
if [ -n "$a" ] && [ "$a" != "$b" ] && [ "$b" = "$($REF "$T/flipped" | cut -d' ' -f1)" ]; then
	pass "one flipped byte changes the digest"
else fail "flipped byte: $a vs $b"; fi
cp "$T/img-$C" "$T/longer"; printf 'x' >>"$T/longer"
a=$(vmseal-digest "$T/img-$C" | cut -d' ' -f1); b=$(vmseal-digest "$T/longer" | cut -d' ' -f1)
[ -n "$a" ] && [ "$a" != "$b" ] && pass "one byte more changes the digest" || fail "extended: $a vs $b"

# A name with a newline is escaped like sha256sum does it.
nl="$T/new
line"
cp "$T/img-1" "$nl"
if expect_rc "name with newline" 0 vmseal-digest "$nl"; then
	read -r r s _ <<<"$($REF "$T/img-1")"
	want="\\$r  $s  $T/new\\nline"
	[ "$(cat "$T/out")" = "$want" ] && [ "$(wc -l <"$T/out")" = 1 ] && pass "newline in name escaped" \
		|| fail "newline name: '$(cat "$T/out")' want '$want'"
fi

# Errors: exit 2, one line naming the file; the other files are still printed.
expect_err "missing file" "vmseal-digest: error: $T/missing: cannot open: No such file" \
	vmseal-digest "$T/missing"
expect_err "directory" "error: $T: is a directory, not a regular file or block device" vmseal-digest "$T"
mkfifo "$T/fifo"
expect_err "fifo refused without hanging" "fifo: is a FIFO, not a regular file" timeout 10 vmseal-digest "$T/fifo"
if expect_err "one bad file among good ones" "missing" vmseal-digest "$T/img-1" "$T/missing" "$T/img-0"; then
	[ "$(wc -l <"$T/out")" = 2 ] && [ "$(wc -l <"$T/err")" = 1 ] \
		&& pass "good files still printed, one error line" || fail "mixed output: $(cat "$T/out" "$T/err")"
fi
if [ "$(id -u)" != 0 ]; then
	cp "$T/img-1" "$T/unreadable"; chmod 000 "$T/unreadable"
	expect_err "unreadable file" "unreadable: open: Permission denied" vmseal-digest "$T/unreadable"
else
	skip "unreadable file (running as root)"
fi

# Usage.
expect_err "no arguments" "no IMAGE" vmseal-digest
expect_err "--threads 0" "--threads" vmseal-digest --threads 0 "$T/img-1"
expect_err "--threads 65" "--threads" vmseal-digest --threads 65 "$T/img-1"
expect_err "--threads x" "--threads" vmseal-digest --threads 2x "$T/img-1"
expect_err "unknown option" "bad option" vmseal-digest --frobnicate "$T/img-1"
expect_rc "--help" 0 vmseal-digest --help && grep -q -- '--sha256' "$T/out" && grep -q 'Exit status' "$T/out" \
	&& pass "--help documents options and exit status" || fail "--help text"
expect_rc "--version" 0 vmseal-digest --version && [ "$(cat "$T/out")" = "vmseal-digest $VERSION" ] \
	&& pass "--version prints \"vmseal-digest $VERSION\"" || fail "--version: $(cat "$T/out")"
if expect_rc "--progress" 0 vmseal-digest --progress "$T/img-$((5 * C))"; then
	grep -q '(100%), .*done in' "$T/err" && pass "--progress reaches 100%" || fail "--progress: $(cat "$T/err")"
fi
