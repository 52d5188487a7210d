#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Keys in a PKCS#11 token (SoftHSM2 + OpenSSL pkcs11-provider): generate inside the token, sign,
# verify with the exported public key, non-extractability, PIN errors, destroy.
source "$(dirname "$0")/lib.sh"
cd "$T"

# Sets up a throw-away SoftHSM2 token and an OpenSSL config that loads pkcs11-provider. Prints
# the reason and returns 1 when the pieces are missing.
p11_setup() {
	local moddir provider module
	# pkcs11-provider dlopens the module with RTLD_DEEPBIND, which ASan refuses (sanitizers#611)
	case "$BIN" in *build-san*) echo "sanitizer build: ASan cannot load a PKCS#11 module (RTLD_DEEPBIND)"; return 1 ;; esac
	command -v softhsm2-util >/dev/null || { echo "softhsm2 not installed"; return 1; }
	command -v p11tool >/dev/null || { echo "p11tool (gnutls-bin) not installed"; return 1; }
	moddir=$(openssl version -m | sed -n 's/^MODULESDIR: "\(.*\)"/\1/p')
	provider=$moddir/pkcs11.so
	[ -f "$provider" ] || { echo "pkcs11-provider not installed ($provider; bookworm-backports)"; return 1; }
	for module in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so; do
		[ -f "$module" ] && break
	done
	[ -f "$module" ] || { echo "libsofthsm2.so not found"; return 1; }
	mkdir -p "$T/tokens"
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$T" > "$T/softhsm2.conf"
	export SOFTHSM2_CONF=$T/softhsm2.conf
	softhsm2-util --init-token --free --label vmseal --pin 1234 --so-pin 5678 >/dev/null || { echo "cannot init token"; return 1; }
	# The example the package ships (examples/openssl-pkcs11.cnf), with this machine's paths.
	sed -e "s|^module = .*|module = $provider|" -e "s|^pkcs11-module-path = .*|pkcs11-module-path = $module|" \
		"$top/examples/openssl-pkcs11.cnf" >"$T/openssl.cnf"
	export OPENSSL_CONF=$T/openssl.cnf P11_MODULE=$module
}
if ! why=$(p11_setup); then
	skip "PKCS#11 tests: $why"
	exit 0
fi
p11_setup >/dev/null
echo 1234 > pin
echo 9999 > badpin
dd if=/dev/urandom of=img bs=1k count=64 status=none
tok="pkcs11:token=vmseal"

for alg in ed25519 p256 rsa3072; do
	uri="$tok;object=vs-$alg"
	expect_rc "generate $alg inside the token" 0 vmseal-key generate --alg $alg --pkcs11 "$uri" --passphrase-file pin --out k_$alg
	id=$(cat out)
	[ -f k_$alg.pub ] && [ -f k_$alg.json ] && [ ! -e k_$alg.key ] && pass "$alg: NAME.pub + NAME.json, no private key file" || fail "$alg files: $(ls k_$alg*)"
	grep -q '"location": "pkcs11"' k_$alg.json && grep -q "\"uri\": \"$uri\"" k_$alg.json && pass "$alg: metadata location pkcs11 + uri" || fail "$alg metadata: $(cat k_$alg.json)"
	[ "$(vmseal-key id "$uri")" = "$id" ] && [ "$(vmseal-key id k_$alg.pub)" = "$id" ] && pass "$alg: keyid of the token object = exported .pub" || fail "$alg keyid"
	want=$(openssl pkey -pubin -in k_$alg.pub -outform DER | sha256sum | cut -d' ' -f1)
	[ "$id" = "$want" ] && pass "$alg: keyid is SHA-256 of the SPKI" || fail "$alg spki"
	vmseal-key policy-entry "$uri" --owner hsm > e_$alg.entry || fail "policy-entry $alg"
	"$PY" "$top/tests/mkpolicy.py" pol_$alg.json '[{"match":"debian-*","keys":["@k"]}]' k=e_$alg.entry
	expect_rc "$alg: sign with the token" 0 vmseal-sign --key "$uri" --passphrase-file pin --template debian-12 --template-version 1 -o att_$alg.json img
	expect_rc "$alg: verify with the exported public key" 0 vmseal-verify --policy pol_$alg.json --attestation att_$alg.json img
	flags=$(GNUTLS_PIN=1234 p11tool --login --list-all "$uri;type=private" 2>/dev/null | grep Flags)
	echo "$flags" | grep -q CKA_NEVER_EXTRACTABLE && echo "$flags" | grep -q CKA_SENSITIVE &&
		pass "$alg: private object is sensitive and never extractable" || fail "$alg flags: $flags"
	openssl pkey -in "$uri;type=private" -passin file:pin -out exported.pem >/dev/null 2>&1
	! grep -q "PRIVATE KEY" exported.pem 2>/dev/null && pass "$alg: openssl cannot export the private key" || fail "$alg exported!"
	GNUTLS_PIN=1234 p11tool --login --export "$uri;type=private" >exported.der 2>/dev/null
	[ $? -ne 0 ] && [ ! -s exported.der ] && pass "$alg: p11tool cannot export the private key" || fail "$alg p11tool export"
done
expect_err "a label already in the token is refused" "already holds a key" \
	vmseal-key generate --pkcs11 "$tok;object=vs-ed25519" --passphrase-file pin --out again
[ ! -e again.pub ] && pass "nothing written for a refused label" || fail "again.pub"
expect_err "wrong PIN fails to sign" "no private key found|PIN|login" \
	vmseal-sign --key "$tok;object=vs-p256" --passphrase-file badpin --template debian-12 --template-version 1 -o x.json img
[ ! -e x.json ] && pass "no attestation with a wrong PIN" || fail "signed with wrong PIN"
expect_err "wrong PIN fails to generate" "failed" vmseal-key generate --pkcs11 "$tok;object=vs-bad" --passphrase-file badpin --out bad
expect_err "PIN inside the URI refused" "no query" vmseal-key generate --pkcs11 "$tok;object=vs-q?pin-value=1234" --out q
expect_err "entropy gate for token keys" "entropy pool not initialised" \
	env VMSEAL_TEST_NO_ENTROPY=1 "$TESTBIN/vmseal-key" generate --pkcs11 "$tok;object=vs-noent" --passphrase-file pin --out noent --no-wait
! vmseal-key id "$tok;object=vs-noent" >/dev/null 2>&1 && pass "no token object made without entropy" || fail "object made"
expect_rc "list shows token keys" 0 vmseal-key list .
grep -qE "^k_p256 .* active +pkcs11:token=vmseal;object=vs-p256$" out && pass "list: location is the URI" || fail "list: $(cat out)"
expect_err "a token key is not backed up as a file" "never leaves its token" vmseal-key backup --shares 3 --threshold 2 k_p256.pub

# destroy through p11tool
expect_rc "destroy a token key" 0 vmseal-key destroy k_p256 --yes --pin-file pin --module "$P11_MODULE" --audit-log audit.jsonl
! vmseal-key id "$tok;object=vs-p256" >/dev/null 2>&1 && pass "object gone from the token" || fail "object still there"
! GNUTLS_PIN=1234 p11tool --login --list-all "$tok;object=vs-p256" 2>/dev/null | grep -q "^Object" &&
	GNUTLS_PIN=1234 p11tool --login --list-all "$tok;object=vs-ed25519" 2>/dev/null | grep -q "^Object" && pass "private object gone too" || fail "private object left"
grep -q '"status": "destroyed"' k_p256.json && pass "metadata destroyed" || fail "metadata"
expect_err "destroyed token key cannot sign" "no private key found" \
	vmseal-sign --key "$tok;object=vs-p256" --passphrase-file pin --template debian-12 --template-version 1 -o y.json img
grep -q '"event":"key.destroy"' audit.jsonl && pass "destroy audited" || fail "audit"
vmseal-key id "$tok;object=vs-ed25519" >/dev/null && pass "other token keys untouched" || fail "other key gone"
expect_err "destroy of an absent token object" "p11tool --delete failed" \
	vmseal-key destroy "$tok;object=vs-none" --yes --pin-file pin --module "$P11_MODULE"
