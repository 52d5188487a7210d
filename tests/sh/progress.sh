#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Progress on stderr for vmseal-digest, vmseal-sign and vmseal-verify: shown on a terminal for
# images over 1 GiB, never when stderr is not a terminal unless --progress, never with
# --no-progress. script(1) gives the commands a terminal; a sparse file keeps the big image cheap.
source "$(dirname "$0")/lib.sh"
cd "$T"
if ! command -v script >/dev/null; then
	skip "progress: script(1) (bsdutils) not installed"
	exit 0
fi

# on_tty CMD...: runs CMD with stdin/stdout/stderr on a pseudo-terminal; what the terminal
# showed goes to $T/tty (carriage returns turned into newlines). Redirect stdout inside CMD
# to keep it apart.
on_tty() {
	script -qec "$*" /dev/null </dev/null | tr '\r' '\n' >"$T/tty"
	return "${PIPESTATUS[0]}"
}
# A progress line: name, bytes done of total (percent), rate, then ETA or "done in".
line_re() { echo "^$1: $2: [0-9.]+ (B|KiB|MiB|GiB) of $3 \(100%\), [0-9.]+ (B|KiB|MiB|GiB)/s, done in [0-9]+:[0-9]{2}"; }

truncate -s 1100M big          # over 1 GiB, sparse: reads cost no disk
dd if=/dev/urandom of=small bs=1M count=9 status=none
echo pw > pw
vmseal-key generate --out k --passphrase-file pw >/dev/null
vmseal-key policy-entry k.pub > k.entry
"$PY" "$top/tests/mkpolicy.py" pol.json '[{"match":"t-*","keys":["@k"]}]' k=k.entry

# --- vmseal-digest
on_tty "vmseal-digest big >digest.out"
if grep -qE "$(line_re vmseal-digest big '1\.1 GiB')" tty; then pass "digest: progress on a terminal for a 1.1 GiB image"
else fail "digest: no progress line on the terminal: $(head -c 400 tty)"; fi
grep -q ' 1153433600  big$' digest.out && pass "digest: stdout carries only the digest line" \
	|| fail "digest stdout: $(cat digest.out)"
! grep -q 'vmseal-digest:' digest.out && pass "digest: no progress on stdout" || fail "progress leaked to stdout"

vmseal-digest big >digest2.out 2>err
[ ! -s err ] && cmp -s digest.out digest2.out && pass "digest: nothing on stderr when it is not a terminal" \
	|| fail "digest non-tty stderr: $(head -c 300 err)"

on_tty "vmseal-digest --no-progress big >/dev/null"
[ ! -s tty ] && pass "digest: --no-progress silences the terminal" || fail "--no-progress printed: $(head -c 300 tty)"

on_tty "vmseal-digest small >/dev/null"
[ ! -s tty ] && pass "digest: no progress on a terminal for a 9 MiB image" || fail "small image progress: $(head -c 300 tty)"

vmseal-digest --progress small >/dev/null 2>err
grep -qE "$(line_re vmseal-digest small '9\.0 MiB')$" err && [ "$(grep -c . err)" -ge 1 ] \
	&& pass "digest: --progress forces plain lines when stderr is not a terminal" \
	|| fail "--progress non-tty: $(head -c 300 err)"
! grep -q $'\r' err && pass "digest: no carriage returns off a terminal" || fail "carriage return in a log"

# --- vmseal-sign
on_tty "vmseal-sign --key k.key --passphrase-file pw --template t-big --template-version 1 big >sign.out"
grep -qE "$(line_re vmseal-sign big '1\.1 GiB')" tty && pass "sign: progress on a terminal" \
	|| fail "sign: no progress line: $(head -c 400 tty)"
grep -q '^big.intoto.json: signed' sign.out && pass "sign: attestation written" || fail "sign stdout: $(cat sign.out)"
vmseal-sign --key k.key --passphrase-file pw --template t-s --template-version 1 --no-progress \
	--progress -o s1.json small >/dev/null 2>err
grep -qE "$(line_re vmseal-sign small '9\.0 MiB')" err && pass "sign: the last of --no-progress/--progress wins" \
	|| fail "sign --progress: $(head -c 300 err)"

# --- vmseal-verify (through policy_eval_image_opts)
on_tty "vmseal-verify --policy pol.json big >verify.out"
grep -qE "$(line_re vmseal-verify big '1\.1 GiB')" tty && pass "verify: progress on a terminal" \
	|| fail "verify: no progress line: $(head -c 400 tty)"
grep -q '^allowed: big: template t-big' verify.out && pass "verify: verdict unchanged with progress" \
	|| fail "verify stdout: $(cat verify.out)"
vmseal-verify --policy pol.json --progress --attestation s1.json small >/dev/null 2>err
grep -qE "$(line_re vmseal-verify small '9\.0 MiB')" err && pass "verify: --progress off a terminal" \
	|| fail "verify --progress: $(head -c 300 err)"
vmseal-verify --policy pol.json --attestation s1.json small >/dev/null 2>err
[ ! -s err ] && pass "verify: quiet by default off a terminal" || fail "verify stderr: $(head -c 300 err)"
