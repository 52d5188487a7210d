#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# vmseal-key generate/id: file modes, no overwrite, passphrases, entropy gate, crash safety.
source "$(dirname "$0")/lib.sh"
cd "$T"
echo secret-pass > pw
for alg in ed25519 p256 rsa3072; do
	expect_rc "generate $alg" 0 vmseal-key generate --alg $alg --out k_$alg --passphrase-file pw
	id=$(cat out)
	[ "$(stat -c %a k_$alg.key)" = 600 ] && [ "$(stat -c %a k_$alg.pub)" = 600 ] && pass "$alg files are 0600" || fail "$alg modes"
	grep -q "BEGIN ENCRYPTED PRIVATE KEY" k_$alg.key && pass "$alg key encrypted at rest" || fail "$alg key not encrypted"
	want=$(openssl pkey -pubin -in k_$alg.pub -outform DER | sha256sum | cut -d' ' -f1)
	[ "$id" = "$want" ] && pass "$alg keyid is SHA-256 of the DER SPKI" || fail "$alg keyid $id != $want"
	[ "$(vmseal-key id k_$alg.key)" = "$want" ] && pass "$alg id of .key reads .pub" || fail "$alg id"
done
! grep -q secret-pass k_ed25519.key && pass "passphrase not in key file" || fail "passphrase leaked"
cp k_ed25519.key before
expect_err "existing key never overwritten" "already exists; refusing to overwrite" vmseal-key generate --out k_ed25519 --passphrase-file pw
cmp -s before k_ed25519.key && pass "existing key unchanged" || fail "key changed"
echo zebra-77-wrong > wpw
: > img
expect_err "wrong passphrase is a clear error" "k_ed25519.key: wrong passphrase" vmseal-sign --key k_ed25519.key --passphrase-file wpw --template t --template-version 1 img
! grep -q zebra-77 err && pass "wrong passphrase not echoed" || fail "passphrase echoed: $(cat err)"
: > empty
expect_err "empty passphrase file refused" "passphrase file is empty" vmseal-key generate --out e --passphrase-file empty
expect_err "no terminal and no passphrase file" "no terminal" setsid vmseal-key generate --out n </dev/null
expect_rc "explicit --no-passphrase" 0 vmseal-key generate --out plain --no-passphrase
grep -q "BEGIN PRIVATE KEY" plain.key && pass "--no-passphrase writes a plain PKCS#8" || fail "plain key"
expect_err "entropy gate refuses without entropy" "entropy pool not initialised" env VMSEAL_TEST_NO_ENTROPY=1 "$TESTBIN/vmseal-key" generate --out ent --no-passphrase --no-wait
[ ! -e ent.key ] && pass "no key written without entropy" || fail "key written without entropy"
expect_err "unknown algorithm" "unknown --alg" vmseal-key generate --alg dsa --out d --no-passphrase
for point in keygen-before-write key-between-files before-rename; do
	(VMSEAL_FAULT=$point "$TESTBIN/vmseal-key" generate --out crash_$point --passphrase-file pw >/dev/null 2>&1) 2>/dev/null
	if [ -e crash_$point.key ] || ls crash_$point.*tmp* >/dev/null 2>&1; then
		fail "kill -9 at $point left a partial key: $(ls crash_$point* 2>&1)"
	else
		pass "kill -9 at $point leaves no private key"
	fi
	rm -f crash_$point.pub
done
expect_rc "--help" 0 vmseal-key generate --help
grep -q -- "--passphrase-file" out && pass "generate --help lists options" || fail "help"
