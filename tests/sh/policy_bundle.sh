#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# vmseal-policy: root of trust, signed bundles, threshold, rollback, atomic concurrent installs,
# and consumers (vmseal-verify) loading only verified policy once root.json exists.
source "$(dirname "$0")/lib.sh"
cd "$T"
mkp() { "$PY" "$top/tests/mkpolicy.py" "$@"; }
for k in r1 r2 r3 evil tk; do vmseal-key generate --out $k --no-passphrase >/dev/null; done
vmseal-key policy-entry tk.pub > tk.entry
R='[{"match":"debian-*","keys":["@tk"]}]'
for v in 1 2 3 5; do mkp pol$v.json "$R" "{\"version\":$v}" tk=tk.entry; done
head -c 100000 /dev/urandom > img
vmseal-sign --key tk.key --template debian-12 --template-version 1 img >/dev/null

expect_rc "root of trust written" 0 vmseal-policy root --threshold 2 -o root.json r1.pub r2.pub r3.pub
expect_rc "sign a bundle" 0 vmseal-policy sign --key r1.key -o b2.json pol2.json
expect_deny "one of two root signatures refused" "1 valid root signature, root of trust requires 2" vmseal-policy verify --root root.json b2.json
expect_rc "countersign a bundle" 0 vmseal-policy sign --key r2.key --append b2.json
expect_rc "bundle with 2 of 3 verifies" 0 vmseal-policy verify --root root.json b2.json
grep -q "policy version 2, 2 valid root signatures" out && pass "verify names version and signatures" || fail "verify output: $(cat out)"
cp b2.json b2dup.json
"$PY" -c "
import json; e=json.load(open('b2dup.json')); e['signatures'][1]=dict(e['signatures'][0]); json.dump(e,open('b2dup.json','w'))"
expect_deny "same root key twice counts once" "1 valid root signature" vmseal-policy verify --root root.json b2dup.json
vmseal-policy sign --key evil.key -o bevil.json pol3.json >/dev/null
vmseal-policy sign --key r1.key --append bevil.json >/dev/null
expect_deny "non-root key does not count" "1 valid root signature" vmseal-policy verify --root root.json bevil.json
head -c 300 b2.json > btrunc.json
expect_deny "truncated bundle refused" "not valid JSON" vmseal-policy verify --root root.json btrunc.json
"$PY" -c "
import json,base64; e=json.load(open('b2.json')); p=json.loads(base64.b64decode(e['payload'])); p['enforce']=False
e['payload']=base64.b64encode(json.dumps(p).encode()).decode(); json.dump(e,open('btamper.json','w'))"
expect_deny "tampered payload refused" "0 valid root signatures" vmseal-policy verify --root root.json btamper.json
echo '{"version":1,"bogus":true}' > bad.json
expect_err "signing a broken policy refused" "unknown field \"bogus\"" vmseal-policy sign --key r1.key bad.json

mkdir etc && cp root.json etc/
expect_rc "install version 2" 0 vmseal-policy install --policy etc/policy.json --audit-log audit.jsonl b2.json
expect_rc "vmseal-verify loads the verified bundle" 0 vmseal-verify --policy etc/policy.json img
for v in 1 3; do
	vmseal-policy sign --key r1.key -o b$v.json pol$v.json >/dev/null
	vmseal-policy sign --key r3.key --append b$v.json >/dev/null
done
expect_deny "rollback to version 1 refused" "rollback refused: bundle version 1 is not newer than installed version 2" vmseal-policy install --policy etc/policy.json --audit-log audit.jsonl b1.json
expect_deny "reinstalling the same version refused" "not newer" vmseal-policy install --policy etc/policy.json b2.json
expect_deny "install of an under-signed bundle refused" "requires 2" vmseal-policy install --policy etc/policy.json bevil.json
cmp -s etc/policy.json b2.json && pass "refused installs leave the policy untouched" || fail "policy changed"
expect_rc "install version 3" 0 vmseal-policy install --policy etc/policy.json b3.json
grep -q '"decision":"deny"' audit.jsonl && grep -q '"event":"policy.install"' audit.jsonl && pass "installs are audited" || fail "audit"
# A policy that names an audit log gets its installs audited there without --audit-log.
mkp pol6.json "$R" "{\"version\":6,\"audit_log\":\"$T/policy-audit.jsonl\"}" tk=tk.entry
vmseal-policy sign --key r1.key -o b6.json pol6.json >/dev/null
vmseal-policy sign --key r2.key --append b6.json >/dev/null
expect_rc "install a policy naming an audit log, no --audit-log" 0 vmseal-policy install --policy etc/policy.json b6.json
grep -q '"event":"policy.install","object":"b6.json","decision":"allow"' policy-audit.jsonl 2>/dev/null &&
	vmseal-audit verify policy-audit.jsonl >/dev/null && pass "install audited in the policy's audit_log by default" ||
	fail "no policy.install in the policy's audit_log: $(cat policy-audit.jsonl 2>&1)"

# Consumers load only verified policy once root.json is there.
cp pol3.json etc/policy.json
expect_err "plain policy refused when root.json exists" "not a signed policy bundle" vmseal-verify --policy etc/policy.json img
cp btamper.json etc/policy.json
expect_err "tampered bundle refused by vmseal-verify" "root signature" vmseal-verify --policy etc/policy.json img
mkdir plain && cp b3.json plain/policy.json
expect_err "bundle without root.json refused" "no .*root.json to verify it" vmseal-verify --policy plain/policy.json img

# Concurrent installs: every run ends with one complete, verified, newest policy.
cp b3.json etc/policy.json
for v in $(seq 4 12); do
	mkp p$v.json "$R" "{\"version\":$v}" tk=tk.entry
	vmseal-policy sign --key r1.key -o c$v.json p$v.json >/dev/null
	vmseal-policy sign --key r2.key --append c$v.json >/dev/null
done
for v in $(seq 4 12); do vmseal-policy install --policy etc/policy.json c$v.json >/dev/null 2>&1 & done
wait
"$PY" -c "
import json,base64; e=json.load(open('etc/policy.json')); assert json.loads(base64.b64decode(e['payload']))['version']==12" \
	&& pass "concurrent installs end at the newest version" || fail "concurrent installs: $(head -c 200 etc/policy.json)"
expect_rc "policy after concurrent installs verifies" 0 vmseal-verify --policy etc/policy.json img
ls etc | grep -q tmp && fail "temp files left: $(ls etc)" || pass "no temp files left"
(VMSEAL_FAULT=policy-install-before-write "$TESTBIN/vmseal-policy" install --policy etc/policy.json c12.json >/dev/null 2>&1) 2>/dev/null
expect_rc "policy intact after a crash during install" 0 vmseal-verify --policy etc/policy.json img

# root.json key entries hold only what is understood: a misspelt "Owner" left the owner unset,
# so one person's two keys counted as two owners and met a threshold of 2 alone.
"$PY" - <<'PYEOF'
import json
keys = [{"id": k["id"], "public_key": k["public_key"], "Owner": "alice"}
        for k in json.load(open("root.json"))["keys"][:2]]
json.dump({"version": 1, "threshold": 2, "keys": keys}, open("root_typo.json", "w"))
PYEOF
mkdir typo && cp root_typo.json typo/root.json && cp b2.json typo/policy.json
expect_err "a root key entry with an unknown field (\"Owner\") is refused" \
	'root of trust keys\[0\]: unknown field "Owner"' vmseal-policy verify --root root_typo.json b2.json
[ "$(wc -l < err)" = 1 ] && pass "one line names the field" || fail "lines: $(cat err)"
expect_err "vmseal-verify refuses it too (no policy under such a root)" 'unknown field "Owner"' \
	vmseal-verify --policy typo/policy.json img
mkdir typo2
expect_err "install-root refuses it" 'unknown field "Owner"' \
	vmseal-policy install-root --policy typo2/policy.json root_typo.json
[ ! -e typo2/root.json ] && pass "nothing installed from a refused root" || fail "typo2/root.json written"

# vmseal-policy root writes who holds each key (--owner), never the file it was read from
expect_rc "root with --owner per key" 0 vmseal-policy root --threshold 2 -o root_own.json \
	--owner alice r1.pub --owner bob r2.pub r3.pub
"$PY" - <<'PYEOF' && pass "owners are the named holders; none given: no owner (the keyid counts)" || fail "owners: $(cat root_own.json)"
import json
keys = json.load(open("root_own.json"))["keys"]
assert [k.get("owner") for k in keys] == ["alice", "bob", None], keys
PYEOF
expect_rc "root without --owner writes no owner" 0 vmseal-policy root --threshold 1 -o root_noown.json r1.pub
! grep -q '"owner"' root_noown.json && ! grep -q 'r1.pub' root_noown.json && pass "no file path as owner" ||
	fail "owner written: $(cat root_noown.json)"
expect_err "a threshold above the distinct owners is refused" "threshold 2 is above the 1 distinct owners" \
	vmseal-policy root --threshold 2 -o root_one.json --owner alice r1.pub --owner alice r2.pub
[ ! -e root_one.json ] && pass "no unmeetable root written" || fail "root_one.json written"
expect_err "--owner with no PUB after it is a usage error" "names no public key" \
	vmseal-policy root --threshold 1 -o root_x.json r1.pub --owner alice
# one owner's two keys count once: alice signs with both, a threshold of 2 is not met
vmseal-policy sign --key r1.key -o bown.json pol2.json >/dev/null
vmseal-policy sign --key r2.key --append bown.json >/dev/null
expect_rc "two owners meet the threshold of 2" 0 vmseal-policy verify --root root_own.json bown.json
vmseal-policy root --threshold 2 -o root_al.json --owner alice r1.pub --owner alice r2.pub --owner carol r3.pub >/dev/null
expect_deny "one owner's two root keys count once" "1 valid root signature, root of trust requires 2" \
	vmseal-policy verify --root root_al.json bown.json
