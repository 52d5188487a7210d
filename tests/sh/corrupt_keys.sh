#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Private key files whose parts disagree are refused at load, not used to sign (found by
# fuzz_key: OpenSSL loads an RSA key with a corrupted CRT parameter, or an EC key whose embedded
# public point belongs to another key, and then signs what nothing verifies).
source "$(dirname "$0")/lib.sh"
cd "$T"
head -c 3000 /dev/urandom > img

# the fuzzer's find: PKCS#8 RSA-3072 with inconsistent CRT parameters (first byte picks the loader)
tail -c +2 "$top/tests/fuzz/corpus/key/crash-rsa-corrupt-crt" > rsa_bad.key
expect_err "corrupt RSA key refused by vmseal-sign" "corrupt private key" \
	vmseal-sign --key rsa_bad.key --template t --template-version 1 -o out.json img
[ ! -e out.json ] && pass "no attestation written with a corrupt key" || fail "attestation written"

# EC: key A's private scalar with key B's public point
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -outform DER -out a.der 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -outform DER -out b.der 2>/dev/null
"$PY" - <<'PY'
a = open("a.der", "rb").read(); b = open("b.der", "rb").read()
pa, pb = a[-65:], b[-65:]          # the uncompressed point ends the ECPrivateKey's publicKey
assert pa[0] == 4 and pb[0] == 4
open("mixed.der", "wb").write(a[:-65] + pb)
PY
openssl pkey -inform DER -in mixed.der -out ec_mixed.key 2>/dev/null
openssl pkey -inform DER -in a.der -out ec_good.key 2>/dev/null
expect_err "EC key with a foreign public point refused" "corrupt private key" \
	vmseal-sign --key ec_mixed.key --template t --template-version 1 -o out2.json img
# the same check passes a sound key (so it is the mismatch that is refused)
expect_rc "sound EC key signs" 0 vmseal-sign --key ec_good.key --template t --template-version 1 -o out3.json img
