#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# vmseal-sign / vmseal-verify end to end: allow paths and every denial, each with its reason.
source "$(dirname "$0")/lib.sh"
cd "$T"
mkp() { "$PY" "$top/tests/mkpolicy.py" "$@"; }
echo pass1 > pw

for k in a b c; do vmseal-key generate --out $k --passphrase-file pw >/dev/null || fail "keygen $k"; done
vmseal-key generate --alg p256 --out p --passphrase-file pw >/dev/null
vmseal-key generate --alg rsa3072 --out r --passphrase-file pw >/dev/null
vmseal-key generate --out x --passphrase-file pw >/dev/null # never in any policy
for k in a b c p r; do vmseal-key policy-entry $k.pub --owner $k > $k.entry; done
vmseal-key policy-entry a.pub --status revoked > a_revoked.entry
vmseal-key policy-entry a.pub --status retired > a_retired.entry
vmseal-key policy-entry a.pub --not-before 2099-01-01T00:00:00Z > a_future.entry
vmseal-key policy-entry a.pub --not-before 2020-01-01T00:00:00Z --not-after 2021-01-01T00:00:00Z > a_past.entry
vmseal-key policy-entry a.pub --usage admin --role admin > a_admin.entry

R1='[{"match":"debian-*","keys":["@a"],"threshold":1}]'
mkp pol.json "$R1" a=a.entry
dd if=/dev/urandom of=img bs=1M count=9 status=none   # 3 chunks (4+4+1 MiB)
cp img img.orig
sign() { vmseal-sign --passphrase-file pw "$@" >/dev/null 2>"$T/signerr"; }
sign --key a.key --template debian-12 --template-version 3 img || fail "sign: $(cat signerr)"
cp img.intoto.json att.orig

expect_rc "signed image verifies" 0 vmseal-verify --policy pol.json img
grep -q "^allowed: img: template debian-12 version 3, 1 of 1 signatures" out && pass "allowed line names template" || fail "allowed line: $(cat out)"

# --- each algorithm round trips
for k in p r; do
	mkp pol_$k.json "[{\"match\":\"debian-*\",\"keys\":[\"@$k\"]}]" $k=$k.entry
	sign --key $k.key --template debian-12 --template-version 3 -o img.$k.json img
	expect_rc "sign/verify round trip $k" 0 vmseal-verify --policy pol_$k.json --attestation img.$k.json img
done

# --- image content changes
flip() { # flip one byte of img at offset $1
	"$PY" -c "import sys
f=open('img','r+b'); f.seek(int(sys.argv[1])); b=f.read(1); f.seek(int(sys.argv[1])); f.write(bytes([b[0]^1]))" "$1"
}
size=$(stat -c %s img)
for where in 0 $((size / 2)) $((size - 1)); do
	cp img.orig img; flip $where
	expect_deny "byte flipped at offset $where denied" "img: digest mismatch" vmseal-verify --policy pol.json img
done
cp img.orig img; truncate -s $((size - 1)) img
expect_deny "truncated by one byte denied" "img: size is $((size - 1)) bytes, attestation says $size" vmseal-verify --policy pol.json img
cp img.orig img; printf x >> img
expect_deny "extended by one byte denied" "size is $((size + 1)) bytes" vmseal-verify --policy pol.json img
cp img.orig img
head -c $size /dev/urandom > other
expect_deny "attestation for another image denied" "digest mismatch" vmseal-verify --policy pol.json --attestation img.intoto.json other

# --- keys
sign --key x.key --template debian-12 --template-version 3 -o img.x.json img
expect_deny "unknown key denied" "signature 1 \(keyid [0-9a-f]{8}…\): unknown key" vmseal-verify --policy pol.json --attestation img.x.json img
mkp pol_rev.json "$R1" a=a_revoked.entry
expect_deny "revoked key denied" "key revoked" vmseal-verify --policy pol_rev.json img
mkp pol_ret.json "$R1" a=a_retired.entry
expect_rc "retired key still verifies" 0 vmseal-verify --policy pol_ret.json img
mkp pol_fut.json "$R1" a=a_future.entry
expect_deny "key before not_before denied" "key not valid before 2099" vmseal-verify --policy pol_fut.json img
mkp pol_past.json "$R1" a=a_past.entry
expect_deny "key after not_after denied" "key expired at 2021" vmseal-verify --policy pol_past.json img
mkp pol_adm.json "$R1" a=a_admin.entry
expect_deny "admin-only key cannot sign templates" "not authorised for template use" vmseal-verify --policy pol_adm.json img
mkp pol_notrule.json '[{"match":"debian-*","keys":["@b"]}]' a=a.entry b=b.entry
expect_deny "key of the policy but not of the rule denied" "signature 1 .*: (bad signature|key not trusted)" vmseal-verify --policy pol_notrule.json img

# --- threshold
R2='[{"match":"debian-*","keys":["@a","@b","@c"],"threshold":2}]'
mkp pol2.json "$R2" a=a.entry b=b.entry c=c.entry
expect_deny "threshold 2 with one signature denied" "1 of 2 required signatures valid" vmseal-verify --policy pol2.json img
cp img.intoto.json dup.json
"$PY" - <<'PY'
import json
e = json.load(open("dup.json")); e["signatures"].append(dict(e["signatures"][0]))
json.dump(e, open("dup.json", "w"))
PY
expect_deny "threshold 2 with the same key twice denied" "same owner as an earlier signature" vmseal-verify --policy pol2.json --attestation dup.json img
cp img.intoto.json two.json
sign --key b.key --append -o two.json img
expect_rc "threshold 2 met by countersignature" 0 vmseal-verify --policy pol2.json --attestation two.json img
sign --key b.key --append -o two.json img && fail "same key countersigned twice" || pass "countersigning twice with one key refused"
printf 'zzz' > other2; sign --key c.key --append -o two.json other2 && fail "countersigned for another image" || pass "countersign refuses an envelope for another image"

# --- statement contents
sign --key a.key --template debian-12 --template-version 3 --expires 1s -o exp.json img
expect_deny "expired attestation denied" "attestation expired at" faketime -f '+100s' vmseal-verify --policy pol.json --attestation exp.json img
mkp pol_minv.json '[{"match":"debian-*","keys":["@a"],"min_version":4}]' a=a.entry
expect_deny "version below min_version denied" "version 3 is below the policy's min_version 4" vmseal-verify --policy pol_minv.json img
digest=$(vmseal-digest img | cut -d' ' -f1)
mkp pol_rd.json "$R1" "{\"revoked_digests\":[\"$digest\"]}" a=a.entry
expect_deny "revoked digest denied" "is revoked by the policy" vmseal-verify --policy pol_rd.json img
sign --key a.key --template ubuntu-24 --template-version 3 -o ubu.json img
expect_deny "template name not matched denied" "no policy rule matches template \"ubuntu-24\"" vmseal-verify --policy pol.json --attestation ubu.json img

# --- malformed attestations
"$PY" - <<'PY'
import json, base64
e = json.load(open("att.orig"))
x = dict(e); x["payloadType"] = "application/json"; json.dump(x, open("ptype.json", "w"))
x = dict(e); x["payload"] = "!!notbase64"; json.dump(x, open("b64.json", "w"))
s = json.dumps(e); open("dupkey.json", "w").write(s[:-1] + ', "payload": "eA=="}')
open("trunc.json", "w").write(s[: len(s) // 2])
open("big.json", "w").write('{"payloadType":"' + "a" * (1 << 20) + '"}')
x = json.loads(s); x["signatures"][0]["sig"] = base64.b64encode(b"\0" * 64).decode(); json.dump(x, open("badsig.json", "w"))
PY
expect_deny "wrong payloadType denied" "payloadType \"application/json\"" vmseal-verify --policy pol.json --attestation ptype.json img
expect_deny "bad base64 denied" "payload is not valid base64" vmseal-verify --policy pol.json --attestation b64.json img
expect_deny "duplicate JSON keys denied" "duplicate object key" vmseal-verify --policy pol.json --attestation dupkey.json img
expect_deny "truncated JSON denied" "not valid JSON" vmseal-verify --policy pol.json --attestation trunc.json img
expect_deny "JSON over the size limit denied" "limit is 1048576" vmseal-verify --policy pol.json --attestation big.json img
expect_deny "forged signature denied" "bad signature" vmseal-verify --policy pol.json --attestation badsig.json img
expect_deny "missing attestation denied" "attestation .*nope.json" vmseal-verify --policy pol.json --attestation nope.json img
# one line naming the image and the attestation, the hook's words (lib/attest: one entry point)
expect_deny "missing attestation: one line, the image and the attestation named" \
	"^vmseal-verify: denied: img: no attestation \(nope.json not found\)$" \
	vmseal-verify --policy pol.json --attestation nope.json img
[ "$(wc -l < "$T/err")" = 1 ] && pass "missing attestation: exactly one line" || fail "lines: $(cat "$T/err")"

# --- policy problems: exit 2, never "allowed"
expect_err "policy missing is an error" "cannot use policy.*No such file" vmseal-verify --policy missing.json img
cp pol.json unread.json; chmod 000 unread.json
if [ "$(id -u)" = 0 ]; then
	expect_err "policy unreadable (directory) is an error" "cannot use policy" vmseal-verify --policy "$T" img
else
	expect_err "policy unreadable is an error" "cannot use policy" vmseal-verify --policy unread.json img
fi
echo '{"version":1,"enforce":true,"keys":[],"templates":[],"threshhold":1}' > typo.json
expect_err "policy with unknown field is an error" "unknown field \"threshhold\"" vmseal-verify --policy typo.json img
"$PY" -c "
import json; p=json.load(open('pol.json')); old=p['keys'][0]['id']; p['keys'][0]['id']='0'*64
for t in p['templates']: t['keys']=['0'*64 if k == old else k for k in t['keys']]
json.dump(p,open('badid.json','w'))"
expect_err "policy keyid not matching its key is an error" "does not match its public key" vmseal-verify --policy badid.json img

# --- enforce false: audit-only
mkp pol_audit.json "$R1" '{"enforce":false,"audit_log":"'"$T"'/audit.jsonl"}' a=a_revoked.entry
expect_rc "enforce false allows a would-deny" 0 vmseal-verify --policy pol_audit.json img
grep -q "would deny (policy not enforced, allowing).*key revoked" err && pass "enforce false says it would deny" || fail "would-deny message: $(cat err)"
grep -q '"decision":"would-deny"' audit.jsonl && pass "would-deny is audited" || fail "no would-deny audit event"

# --- JSON output
vmseal-verify --policy pol.json --json img > v.json
"$PY" -c "import json; v=json.load(open('v.json')); assert v['decision']=='allow' and v['template']=='debian-12' and len(v['signers'])==1" && pass "--json allow" || fail "--json allow: $(cat v.json)"
vmseal-verify --policy pol_rev.json --json img > v.json 2>/dev/null
"$PY" -c "import json; v=json.load(open('v.json')); assert v['decision']=='deny' and 'revoked' in v['reason']" && pass "--json deny" || fail "--json deny: $(cat v.json)"

# --- audit log of sign/verify
vmseal-verify --policy pol.json --audit-log al.jsonl img >/dev/null
sign --key a.key --template debian-12 --template-version 3 -o al.att.json --audit-log al.jsonl img
vmseal-audit verify al.jsonl >/dev/null && [ "$(wc -l < al.jsonl)" = 2 ] && pass "sign and verify are audit events" || fail "audit events: $(cat al.jsonl)"

# --- signing never leaves a partial file
(VMSEAL_FAULT=sign-before-write "$TESTBIN/vmseal-sign" --key a.key --passphrase-file pw --template debian-12 --template-version 3 -o crash.json img 2>/dev/null) 2>/dev/null
[ ! -e crash.json ] && ! ls crash.json.tmp-* >/dev/null 2>&1 && pass "kill -9 before write leaves no envelope" || fail "partial envelope after crash"
vmseal-sign --key a.key --passphrase-file pw --template debian-12 --template-version 3 img 2>err >/dev/null
grep -q "already exists" err && pass "existing envelope not overwritten without --force" || fail "overwrote envelope"
