#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Interop with an independent DSSE implementation (python3-cryptography): envelopes made by
# another tool verify with vmseal-verify, and vmseal's envelopes verify there.
source "$(dirname "$0")/lib.sh"
cd "$T"
if ! "$PY" -c "import cryptography" 2>/dev/null; then
	skip "python3-cryptography not installed"; exit 0
fi
head -c 5000001 /dev/urandom > img
read -r digest size _ < <(vmseal-digest img)
for alg in ed25519 p256 rsa3072; do
	"$PY" "$top/tests/dsse_interop.py" sign $alg img "$digest" "$size" env_$alg.json pub_$alg.pem
	vmseal-key policy-entry pub_$alg.pem > e_$alg.json
	"$PY" "$top/tests/mkpolicy.py" pol_$alg.json '[{"match":"debian-*","keys":["@k"]}]' k=e_$alg.json
	expect_rc "envelope from python cryptography ($alg) verifies" 0 vmseal-verify --policy pol_$alg.json --attestation env_$alg.json img
	printf x >> img
	expect_deny "python ($alg) envelope, image extended, denied" "size is" vmseal-verify --policy pol_$alg.json --attestation env_$alg.json img
	truncate -s "$size" img
done
for alg in ed25519 p256 rsa3072; do
	vmseal-key generate --alg $alg --out k_$alg --no-passphrase >/dev/null
	vmseal-sign --key k_$alg.key --template debian-12 --template-version 1 -o v_$alg.json img >/dev/null
	expect_rc "vmseal envelope ($alg) verifies with python cryptography" 0 "$PY" "$top/tests/dsse_interop.py" verify v_$alg.json k_$alg.pub
done
