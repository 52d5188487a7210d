#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Key lifecycle: metadata + list, rotate (old attestations stay valid, retired key signs nothing),
# revoke (denies at once), policy edits (atomic, .bak, validated).
source "$(dirname "$0")/lib.sh"
cd "$T"
mkp() { "$PY" "$top/tests/mkpolicy.py" "$@"; }
jget() { "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
echo pass1 > pw
dd if=/dev/urandom of=img bs=1k count=64 status=none

# --- metadata and list
mkdir ks
for alg in ed25519 p256 rsa3072; do
	vmseal-key generate --alg $alg --out ks/k_$alg --no-passphrase >ks/k_$alg.id || fail "generate $alg"
done
[ -f ks/k_ed25519.json ] && [ "$(stat -c %a ks/k_ed25519.json)" = 600 ] && pass "generate writes NAME.json 0600" || fail "no metadata"
[ "$(jget ks/k_p256.json 'd["keyid"]')" = "$(cat ks/k_p256.id)" ] && [ "$(jget ks/k_p256.json 'd["alg"]')" = p256 ] &&
	[ "$(jget ks/k_p256.json 'd["status"]')" = active ] && [ "$(jget ks/k_p256.json 'd["location"]')" = file ] &&
	pass "metadata: keyid, alg, status, location" || fail "metadata fields: $(cat ks/k_p256.json)"
mkp ks/policy.json '[]' # a JSON file that is not metadata: ignored by list
expect_rc "list" 0 vmseal-key list ks
grep -qE "^k_rsa3072 +$(cut -c1-16 ks/k_rsa3072.id) +rsa3072 +20[0-9-]+T[0-9:]+Z +active +file$" out &&
	pass "list row: name, short keyid, alg, created, status, location" || fail "list: $(cat out)"
[ "$(grep -c . out)" = 4 ] && pass "list: header + 3 keys, other JSON ignored" || fail "list rows: $(cat out)"
expect_rc "list --full" 0 vmseal-key list --full ks
grep -q "$(cat ks/k_ed25519.id)" out && pass "list --full prints whole keyids" || fail "list --full"
rm ks/k_p256.json
expect_rc "list without metadata" 0 vmseal-key list ks
grep -qE "^k_p256 +$(cut -c1-16 ks/k_p256.id) +p256 +- +unknown +file$" out && pass "key without metadata listed as unknown" || fail "legacy: $(cat out)"
printf '{"format":"vmseal-key-meta-v1","name":"x","keyid":"zz"}' > ks/bad.json
expect_err "invalid metadata is an error naming the file" "bad.json: metadata: " vmseal-key list ks
grep -q k_ed25519 out && pass "other keys still listed" || fail "list stopped"
rm ks/bad.json
for doc in '{"format":"vmseal-key-meta-v1","name":"x","keyid":"KID","alg":"ed25519","status":"active","location":"file","extra":1}' \
	'{"format":"vmseal-key-meta-v1","name":"x","keyid":"KID","alg":"ed25519","status":"lost","location":"file"}' \
	'{"format":"vmseal-key-meta-v1","name":"x","keyid":"KID","alg":"ed25519","status":"active","location":"pkcs11"}' \
	'{"format":"vmseal-key-meta-v1","format":"vmseal-key-meta-v1","name":"x","keyid":"KID","alg":"ed25519","status":"active","location":"file"}'; do
	echo "${doc//KID/$(cat ks/k_ed25519.id)}" > ks/k_ed25519.json
	expect_err "strict metadata: $(echo "$doc" | cut -c80-140)" "metadata" vmseal-key list ks
done
vmseal-key generate --out g --no-passphrase >/dev/null
rm g.key g.pub
expect_err "generate refuses an existing NAME.json" "g.json: already exists" vmseal-key generate --out g --no-passphrase
[ ! -e g.key ] && pass "no key written over existing metadata" || fail "key written"

# --- rotate
vmseal-key generate --out pl --passphrase-file pw >/dev/null
vmseal-key generate --out other --no-passphrase >/dev/null
vmseal-key policy-entry pl.pub --owner pipeline --usage template > pl.entry
vmseal-key policy-entry other.pub --owner release > other.entry
mkp pol.json '[{"match":"debian-*","keys":["@pl","@other"],"threshold":1},{"match":"alpine-*","keys":["@other"]}]' \
	'{"gateway":{"max_skew_s":120}}' pl=pl.entry other=other.entry
cp pol.json pol.orig
old=$(vmseal-key id pl.pub)
vmseal-sign --key pl.key --passphrase-file pw --template debian-12 --template-version 1 img >/dev/null || fail "sign v1"
cp img.intoto.json att.v1
expect_rc "attestation of v1 verifies" 0 vmseal-verify --policy pol.json img

mkp pol_other.json '[]' other=other.entry
expect_err "rotate checks the policy before making a key" "is not in the policy" \
	vmseal-key rotate --out pl --passphrase-file pw --policy pol_other.json
[ ! -e pl-v2.key ] && [ ! -e pl-v2.json ] && pass "no key made when the policy refuses" || fail "key made"
expect_err "rotate has the entropy gate" "entropy pool not initialised" \
	env VMSEAL_TEST_NO_ENTROPY=1 "$TESTBIN/vmseal-key" rotate --out pl --passphrase-file pw --no-wait --in-place
[ ! -e pl-v2.key ] && [ "$(jget pl.json 'd["status"]')" = active ] && pass "nothing changed without entropy" || fail "changed without entropy"
tree() { find . -maxdepth 1 -type f ! -name out ! -name err ! -name 'tree.*' -printf '%f %m %s\n' | sort; sha256sum pl* pol* | sort; }
tree >tree.before
expect_rc "rotate without --in-place (dry run)" 0 vmseal-key rotate --out pl --passphrase-file pw --policy pol.json
tree >tree.after
cmp -s pol.json pol.orig && [ ! -e pol.json.bak ] && [ ! -e pl-v2.key ] && [ ! -e pl-v2.json ] && [ ! -e pl-v2.pub ] &&
	[ "$(jget pl.json 'd["status"]')" = active ] && cmp -s tree.before tree.after &&
	pass "rotate without --in-place changes nothing: no key, metadata and policy as they were" ||
	fail "dry run changed: $(diff tree.before tree.after | head -5)"
head -1 out | grep -qx "dry run: nothing written" && grep -q "would write pl-v2 (ed25519, version 2), replacing pl" out &&
	grep -q "would change in pol.json" out && grep -q "status active -> retired" out &&
	grep -q 'templates\[0\] "debian-\*": trust NEW' out && ! grep -q alpine out &&
	pass "the dry run prints the change it would make" || fail "dry run output: $(cat out)"
apply=$(tail -1 out | sed -n 's/^to apply: //p')
[ "$apply" = "vmseal-key rotate --out pl --passphrase-file pw --policy pol.json --in-place" ] &&
	pass "the dry run prints the command that applies it" || fail "apply line: $(tail -1 out)"
vmseal-key rotate --old pl --out "it's" --no-passphrase >out2 2>&1
[ "$(tail -1 out2)" = "to apply: vmseal-key rotate --old pl --out 'it'\''s' --no-passphrase --in-place" ] &&
	pass "the apply command is quoted for the shell" || fail "quoting: $(tail -1 out2)"
# the printed command, run later, applies exactly that change
expect_rc "rotate --in-place (the dry run's command, run later)" 0 eval "$apply"
new=$(head -1 out)
[ "$new" = "$(vmseal-key id pl-v2.pub)" ] && pass "first line is the new keyid" || fail "keyid line: $new"
grep -q "BEGIN ENCRYPTED PRIVATE KEY" pl-v2.key && [ "$(stat -c %a pl-v2.key)" = 600 ] && pass "new version encrypted, 0600" || fail "new key"
[ "$(jget pl.json 'd["status"]')" = retired ] && [ "$(jget pl.json 'd["replaced_by"]')" = "$new" ] &&
	[ "$(jget pl-v2.json 'd["version"]')" = 2 ] && [ "$(jget pl-v2.json 'd["replaces"]')" = "$old" ] &&
	pass "metadata: old retired (replaced_by), new version 2 (replaces)" || fail "metadata: $(cat pl.json pl-v2.json)"
expect_deny "retired key signs nothing new" "pl.key: key retired .*replaced by keyid ${new:0:16}" \
	vmseal-sign --key pl.key --passphrase-file pw --template debian-12 --template-version 2 -o x.json img
[ ! -e x.json ] && pass "no attestation from a retired key" || fail "retired key signed"
expect_deny "retired key signs no policy bundle" "pl.key: key retired" \
	vmseal-policy sign --key pl.key --passphrase-file pw -o x.bundle pol.orig
[ ! -e x.bundle ] && pass "no bundle from a retired key" || fail "retired key signed a bundle"
cmp -s pol.json.bak pol.orig && pass "POLICY.bak holds the old policy" || fail "bak"
[ "$(jget pol.json 'd["version"]')" = 2 ] && pass "policy version incremented" || fail "version"
[ "$(jget pol.json '[k["status"] for k in d["keys"] if k["id"]=="'$old'"][0]')" = retired ] && pass "old key retired in the policy" || fail "old status"
[ "$(jget pol.json '[(k["owner"],k["usage"],k["status"]) for k in d["keys"] if k["id"]=="'$new'"][0]')" = "('pipeline', ['template'], 'active')" ] &&
	pass "new entry has the old one's owner and usage, active" || fail "new entry: $(cat pol.json)"
[ "$(jget pol.json 'd["templates"][0]["keys"]==[k for k in ["'$old'"]]+[d["templates"][0]["keys"][1]]+["'$new'"]')" = True ] &&
	pass "new keyid added to the rule that listed the old one" || fail "rule 0: $(jget pol.json 'd["templates"][0]')"
[ "$(jget pol.json 'len(d["templates"][1]["keys"])')" = 1 ] && pass "other rules untouched" || fail "rule 1"
[ "$(jget pol.json 'd["gateway"]["max_skew_s"]')" = 120 ] && pass "fields the edit does not touch are kept" || fail "gateway lost"
expect_rc "old attestation still verifies under the rotated policy" 0 vmseal-verify --policy pol.json img
vmseal-sign --key pl-v2.key --passphrase-file pw --template debian-12 --template-version 2 -o att.v2 img >/dev/null && pass "new version signs" || fail "sign v2"
expect_rc "new attestation verifies under the rotated policy" 0 vmseal-verify --policy pol.json --attestation att.v2 img
expect_deny "new attestation unknown to the old policy" "unknown key" vmseal-verify --policy pol.json.bak --attestation att.v2 img

expect_rc "rotate again (v3)" 0 vmseal-key rotate --out pl --passphrase-file pw --policy pol.json --in-place
v3=$(head -1 out)
[ -f pl-v3.key ] && [ "$(jget pl-v2.json 'd["status"]')" = retired ] && [ "$(jget pl-v3.json 'd["version"]')" = 3 ] &&
	pass "lineage: pl -> pl-v2 -> pl-v3" || fail "v3"
[ "$(jget pol.json 'len(d["templates"][0]["keys"])')" = 4 ] && [ "$(jget pol.json 'd["version"]')" = 3 ] && pass "policy after two rotations" || fail "two rotations"
vmseal-key generate --alg p256 --out legacy --no-passphrase >/dev/null && rm legacy.json
expect_rc "rotate --old --out without --in-place (dry run)" 0 vmseal-key rotate --old legacy.key --out fresh --no-passphrase
[ ! -e fresh.key ] && [ ! -e fresh.pub ] && [ ! -e legacy.json ] && pass "--old/--out dry run writes nothing" || fail "dry run wrote: $(ls fresh* legacy*)"
expect_rc "rotate --old (explicit names, legacy key without metadata)" 0 vmseal-key rotate --old legacy.key --out fresh --no-passphrase --in-place
[ "$(jget legacy.json 'd["status"]')" = retired ] && [ "$(jget fresh.json 'd["alg"]')" = p256 ] && pass "--old: old retired, algorithm kept" || fail "--old"
expect_err "rotate of a missing key" "no key to rotate" vmseal-key rotate --out nothere --no-passphrase
cp pol.json pol.before
expect_err "rotate of a key the policy does not know" "is not in the policy" vmseal-key rotate --out fresh --no-passphrase --policy pol.json --in-place
cmp -s pol.json pol.before && [ ! -e fresh-v2.key ] && pass "policy unchanged, no key made after a refused rotation" || fail "policy changed"
echo '{"version":1,"keys":[' > broken.json
expect_err "rotate refuses an invalid policy" "not valid JSON" vmseal-key rotate --out other --no-passphrase --policy broken.json --in-place
[ ! -e other-v2.key ] && pass "no key made for an invalid policy" || fail "key made"

# kill -9 between .bak and the new policy: the policy is the old one or the new one, never torn
cp pol.json pol.before
(VMSEAL_FAULT=policy-after-bak "$TESTBIN/vmseal-key" rotate --out other --no-passphrase --policy pol.json --in-place; true) >/dev/null 2>&1
cmp -s pol.json pol.before && vmseal-verify --policy pol.json img >/dev/null && pass "crash after .bak leaves the old, valid policy" || fail "policy torn"

# --- revoke
# every key command from another working directory, on keys in a directory below it
mkdir -p far/keys far/cwd
vmseal-key generate --out far/keys/fk --no-passphrase >/dev/null
(cd far/cwd && vmseal-key policy-entry ../keys/fk.pub --owner pipeline --usage template) >far/fk.entry
mkp far/pol.json '[{"match":"debian-*","keys":["@fk"],"threshold":1}]' fk=far/fk.entry
far() { (cd far/cwd && "$@"); }
expect_rc "from another directory: id" 0 far vmseal-key id ../keys/fk.pub
expect_rc "from another directory: list" 0 far vmseal-key list ../keys
expect_rc "from another directory: backup" 0 far vmseal-key backup --shares 3 --threshold 2 ../keys/fk.key
[ -f far/keys/fk.share-1-of-3.json ] && [ ! -e far/cwd/fk.share-1-of-3.json ] && pass "backup from another directory writes the shares beside the key" || fail "shares: $(ls far/keys far/cwd)"
expect_rc "from another directory: recover" 0 far vmseal-key recover --out ../keys/fk-restored ../keys/fk.share-1-of-3.json ../keys/fk.share-3-of-3.json
cmp -s far/keys/fk.key far/keys/fk-restored.key && pass "recovered from another directory" || fail "recover"
expect_rc "from another directory: rotate dry run" 0 far vmseal-key rotate --out ../keys/fk --no-passphrase --policy ../pol.json
expect_rc "from another directory: rotate --in-place" 0 far vmseal-key rotate --out ../keys/fk --no-passphrase --policy ../pol.json --in-place
[ -f far/keys/fk-v2.key ] && pass "rotated beside the old key" || fail "rotate: $(ls far/keys)"
expect_rc "from another directory: revoke" 0 far vmseal-key revoke ../keys/fk-v2.key --reason test --policy ../pol.json --in-place
expect_rc "from another directory: destroy a share" 0 far vmseal-key destroy ../keys/fk.share-2-of-3.json --yes
[ ! -e far/keys/fk.share-2-of-3.json ] && pass "share destroyed" || fail "share left"
expect_rc "from another directory: destroy" 0 far vmseal-key destroy ../keys/fk --yes
grep -q "fk.share-1-of-3.json" err && pass "destroy names the remaining shares by their path" || fail "share warning: $(cat err)"

expect_rc "revoke by keyid --in-place" 0 vmseal-key revoke "$new" --reason "key leaked" --policy pol.json --in-place
[ "$(jget pol.json '[(k["status"],k["reason"],"revoked_at" in k) for k in d["keys"] if k["id"]=="'$new'"][0]')" = "('revoked', 'key leaked', True)" ] &&
	pass "policy entry: revoked, reason, revoked_at" || fail "revoke entry"
expect_deny "revoked key denies at once" "key revoked" vmseal-verify --policy pol.json --attestation att.v2 img
expect_rc "revoke again is a no-op" 0 vmseal-key revoke "$new" --reason again --policy pol.json --in-place
grep -q "already revoked" out && pass "already revoked reported" || fail "already: $(cat out)"
cp pol.json pol.before
expect_rc "revoke a key file without --in-place" 0 vmseal-key revoke pl-v3.key --reason "retiring host" --policy pol.json
cmp -s pol.json pol.before && pass "policy untouched without --in-place" || fail "changed"
[ "$(jget pl-v3.json 'd["status"]')" = revoked ] && [ "$(jget pl-v3.json 'd["reason"]')" = "retiring host" ] && pass "metadata marked revoked" || fail "metadata"
expect_deny "vmseal-sign refuses a revoked key" "key revoked \(\"retiring host\"\)" \
	vmseal-sign --key pl-v3.key --passphrase-file pw --template debian-12 --template-version 3 -o y.json img
expect_err "revoke of a keyid not in the policy" "is not in the policy" \
	vmseal-key revoke "$(cat ks/k_ed25519.id)" --reason x --policy pol.json --in-place
expect_err "revoke needs a reason" "--reason" vmseal-key revoke "$new" --policy pol.json
expect_err "bare keyid needs --policy" "needs --policy" vmseal-key revoke "$new" --reason x

# metadata that does not belong to the key is refused by the signer
vmseal-key generate --out m1 --no-passphrase >/dev/null; vmseal-key generate --out m2 --no-passphrase >/dev/null
cp m2.json m1.json
expect_err "mixed-up metadata refused" "mixed-up files" vmseal-sign --key m1.key --template t --template-version 1 -o z.json img
for c in list rotate revoke; do
	expect_rc "$c --help" 0 vmseal-key $c --help
done
