#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# #14 items 5 and 7 against the real binaries: every matching template rule must hold, a
# threshold counts owners (the rotate-and-countersign-with-your-own-retired-key attack),
# retired_at refuses later signatures, rules that can never apply are warned about.
source "$(dirname "$0")/lib.sh"
cd "$T"
mkp() { "$PY" "$top/tests/mkpolicy.py" "$@"; }
echo pass1 > pw
for k in ci rel; do vmseal-key generate --out $k --passphrase-file pw >/dev/null || fail "keygen $k"; done
vmseal-key generate --out pipeline --passphrase-file pw >/dev/null || fail "keygen pipeline"
for k in ci rel pipeline; do vmseal-key policy-entry $k.pub --owner $k > $k.entry; done
dd if=/dev/urandom of=img bs=64k count=3 status=none
sign() { vmseal-sign --passphrase-file pw "$@" >/dev/null 2>"$T/signerr"; }

# --- a broad rule listed before a narrow one no longer weakens it
mkp order.json '[{"match":"*","keys":["@ci"],"threshold":1},
                 {"match":"prod-*","keys":["@ci","@rel"],"threshold":2}]' ci=ci.entry rel=rel.entry
sign --key ci.key --template prod-db --template-version 1 -o prod.json img || fail "sign: $(cat signerr)"
expect_deny "broad * rule before prod-* (2 of 2): the CI key alone is refused for prod-db" \
	'rule "prod-\*": 1 of 2 required signatures valid' \
	vmseal-verify --policy order.json --attestation prod.json img
sign --key rel.key --append -o prod.json img
expect_rc "both rules met: prod-db allowed" 0 vmseal-verify --policy order.json --attestation prod.json img
sign --key ci.key --template dev-box --template-version 1 -o dev.json img
expect_rc "only the broad rule matches dev-box: the CI key suffices" 0 \
	vmseal-verify --policy order.json --attestation dev.json img

# --- rotate, then countersign with your own retired key (status set back in NAME.json)
mkp rot.json '[{"match":"prod-*","keys":["@pipeline","@rel"],"threshold":2}]' pipeline=pipeline.entry rel=rel.entry
vmseal-key rotate --out pipeline --passphrase-file pw --no-wait --policy rot.json --in-place >/dev/null 2>&1 ||
	fail "rotate: $(vmseal-key rotate --out pipeline --passphrase-file pw --no-wait --policy rot.json --in-place 2>&1)"
grep -q '"retired_at"' rot.json && pass "rotate --in-place writes retired_at into the policy" || fail "no retired_at: $(cat rot.json)"
"$PY" - <<'PY'
import json
m = json.load(open("pipeline.json")); m["status"] = "active"
m.pop("retired_at", None); m.pop("replaced_by", None)
json.dump(m, open("pipeline.json", "w"))
PY
sign --key pipeline-v2.key --template prod-web --template-version 1 -o rot_att.json img || fail "sign v2: $(cat signerr)"
sign --key pipeline.key --append -o rot_att.json img || fail "countersign with the old key: $(cat signerr)"
expect_deny "one owner's new and retired key are one signature (was 2 of 2 signatures)" \
	"1 of 2 required signatures valid.*(same owner as an earlier signature|retired at)" \
	vmseal-verify --policy rot.json --attestation rot_att.json img
# retired_at: the same old key, signing a day after its retirement, is refused on its own
"$PY" - <<'PY'
import json
p = json.load(open("rot.json"))
p["templates"].append({"match": "solo-*", "keys": [k["id"] for k in p["keys"] if k["status"] == "retired"]})
json.dump(p, open("solo.json", "w"))
PY
faketime -f '+1d' vmseal-sign --passphrase-file pw --key pipeline.key --template solo-1 --template-version 1 \
	-o late.json img >/dev/null 2>&1 || fail "late sign"
expect_deny "a retired key's signature dated after retired_at is refused" "key retired at .*, signedAt .* is later" \
	vmseal-verify --policy solo.json --attestation late.json img
"$PY" - <<'PY'
import json
p = json.load(open("solo.json"))
for k in p["keys"]:
    if k["status"] == "retired": k["retired_at"] = "2099-01-01T00:00:00Z"
json.dump(p, open("solo_later.json", "w"))
PY
expect_rc "signedAt before retired_at verifies (a retired key keeps its old signatures)" 0 \
	vmseal-verify --policy solo_later.json --attestation late.json img

# --- rules that can never apply are warned about
mkp never.json '[{"match":"a-*","keys":["@ci","@rel"],"threshold":2},{"match":"a-*","keys":["@ci"]}]' \
	ci=ci.entry rel=rel.entry
sign --key ci.key --template b-1 --template-version 1 -o b.json img
vmseal-verify --policy never.json --attestation b.json img >/dev/null 2>warn.txt
grep -q 'warning: never.json: templates\[1\] "a-\*": same match as templates\[0\]' warn.txt &&
	pass "vmseal-verify warns about a shadowed rule" || fail "no shadow warning: $(cat warn.txt)"
vmseal-key policy-entry rel.pub --owner ci > rel_as_ci.entry
mkp owners.json '[{"match":"a-*","keys":["@ci","@rel"],"threshold":2}]' ci=ci.entry rel=rel_as_ci.entry
vmseal-policy sign --key ci.key --passphrase-file pw -o owners.bundle owners.json >/dev/null 2>warn.txt
grep -q 'threshold 2 but its usable keys belong to 1 distinct owner: it can never be met' warn.txt &&
	pass "vmseal-policy sign warns about a threshold above the number of owners" || fail "no owner warning: $(cat warn.txt)"

# --- vmseal-key recover never brings a destroyed key back as active
mkdir -p bk && cd bk
vmseal-key generate --out k --passphrase-file ../pw >/dev/null || fail "keygen k"
vmseal-key backup --shares 3 --threshold 2 k.key >/dev/null 2>&1 || fail "backup k: $(vmseal-key backup --shares 3 --threshold 2 k.key 2>&1)"
vmseal-key destroy k --yes >/dev/null 2>&1 || fail "destroy k"
mkdir -p ../elsewhere
expect_err "recover of a destroyed key is refused (its tombstone lies beside the shares)" \
	"was destroyed at .*recovering it would bring it back" \
	vmseal-key recover --out ../elsewhere/k k.share-1-of-3.json k.share-2-of-3.json
[ ! -e ../elsewhere/k.key ] && pass "…and nothing was written" || fail "recovered key written"
vmseal-key generate --out r --passphrase-file ../pw >/dev/null
vmseal-key backup --shares 2 --threshold 2 r.key >/dev/null 2>&1 || fail "backup r"
"$PY" - <<'PY'
import json
m = json.load(open("r.json")); m["status"] = "retired"; m["retired_at"] = "2026-01-01T00:00:00Z"
json.dump(m, open("r.json", "w"))
PY
expect_rc "recover of a retired key works" 0 vmseal-key recover --out ../elsewhere/r r.share-1-of-2.json r.share-2-of-2.json
grep -q '"status": *"retired"' ../elsewhere/r.json && pass "…and the recovered key stays retired" ||
	fail "recovered status: $(cat ../elsewhere/r.json)"
cd ..
