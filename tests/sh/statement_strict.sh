#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Strict times and subjects (issue #14 items 8 and 9), through the real vmseal-verify. Each
# attack envelope is re-signed by the policy's own key (tests/resign.py), so only the check under
# test can refuse it.
source "$(dirname "$0")/lib.sh"
"$PY" -c 'import cryptography' 2>/dev/null || { skip "strict statements: python3-cryptography missing"; exit 0; }
cd "$T"
vmseal-key generate --out k --no-passphrase >/dev/null
vmseal-key policy-entry k.pub > k.entry
"$PY" "$top/tests/mkpolicy.py" pol.json '[{"match":"t*","keys":["@k"],"threshold":1}]' k=k.entry
head -c 5000000 /dev/urandom > img       # two chunks
resign() { "$PY" "$top/tests/resign.py" k.key "$@"; }
verify() { vmseal-verify --policy pol.json --attestation "$1" img; }

# --- subjects: every digest named is checked
vmseal-sign --key k.key --template t1 --template-version 1 --sha256 -o both.json img >/dev/null
sum=$(sha256sum img | cut -d' ' -f1)
"$PY" -c "import json,base64,sys; d=json.loads(base64.b64decode(json.load(open('both.json'))['payload'])); sys.exit(d['subject'][0]['digest'].get('sha256')!='$sum')" &&
	pass "vmseal-sign --sha256 names the image's plain SHA-256 beside the Merkle digest" || fail "no sha256 in the subject"
expect_rc "merkle and sha256 both right: allowed" 0 verify both.json
resign both.json wrongsha.json "d['subject'][0]['digest']['sha256'] = '0' * 64"
expect_deny "a wrong sha256 beside a correct vmseal-merkle-sha256 denies" "sha256 mismatch: image is" verify wrongsha.json
resign both.json upper.json "d['subject'][0]['digest']['sha256'] = '$sum'.upper()"
expect_deny "sha256 in upper case is not a digest vmseal accepts" "sha256 digest .* is not 64 lowercase hex" verify upper.json
vmseal-sign --key k.key --template t1 --template-version 1 -o plain.json img >/dev/null
resign plain.json sha512.json "d['subject'][0]['digest']['sha512'] = 'ab' * 64"
expect_deny "a digest algorithm vmseal does not know (sha512) denies" 'subject digest algorithm "sha512" is not one vmseal checks' verify sha512.json
resign plain.json gitoid.json "d['subject'][0]['digest']['gitCommit'] = 'ab' * 20"
expect_deny "an unknown digest algorithm beside a right Merkle digest denies" 'algorithm "gitCommit"' verify gitoid.json
resign plain.json nomerkle.json "d['subject'][0]['digest'] = {'sha256': '$sum'}"
expect_deny "sha256 alone (no vmseal-merkle-sha256) denies" 'vmseal-merkle-sha256' verify nomerkle.json

# --- times: RFC 3339 strictly, and only an absent field means no limit
expect_rc "a signed envelope without expiresAt verifies (absent: no limit)" 0 \
	verify "$(vmseal-sign --key k.key --template t1 --template-version 1 --no-expires -o noexp.json img >/dev/null; echo noexp.json)"
resign plain.json epoch.json "d['predicate']['expiresAt'] = '1970-01-01T00:00:00Z'"
expect_deny "expiresAt 1970-01-01T00:00:00Z does not mean never expires" "expiresAt.* is not an RFC 3339 time" verify epoch.json
resign plain.json feb29.json "d['predicate']['expiresAt'] = '2027-02-29T00:00:00Z'"
expect_deny "expiresAt 2027-02-29 (not a leap year) denies" "expiresAt.* is not an RFC 3339 time" verify feb29.json
resign plain.json neghour.json "d['predicate']['signedAt'] = '2020-01-01T-1:00:00Z'"
expect_deny "signedAt 2020-01-01T-1:00:00Z denies" "signedAt.* is not an RFC 3339 time" verify neghour.json
resign plain.json offset.json "d['predicate']['expiresAt'] = '2099-01-01T01:00:00+01:00'"
expect_rc "an expiresAt with a +01:00 offset verifies" 0 verify offset.json
resign plain.json offpast.json "d['predicate']['expiresAt'] = '2020-01-01T05:00:00+05:00'"
expect_deny "an expiresAt with an offset, in the past, denies" "attestation expired at 2020-01-01T00:00:00Z" verify offpast.json
expect_err "policy-entry refuses not_after 2027-02-29" "not_after|RFC 3339" vmseal-key policy-entry k.pub --not-after 2027-02-29T00:00:00Z
"$PY" - <<'PY'
import json
p = json.load(open("pol.json"))
p["keys"][0]["not_after"] = "1970-01-01T00:00:00Z"
json.dump(p, open("pol_epoch.json", "w"))
PY
expect_err "a policy key with not_after 1970-01-01T00:00:00Z is refused, not read as no limit" "not_after is not an RFC 3339" \
	vmseal-verify --policy pol_epoch.json --attestation plain.json img
