#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# vmseal-key backup/recover (Shamir, libgfshare) and destroy.
source "$(dirname "$0")/lib.sh"
cd "$T"
jset() { # jset FILE PYTHON-STATEMENT-ON-d: edits a JSON file in place
	"$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); exec(sys.argv[2]); json.dump(d, open(sys.argv[1],'w'), indent=2)" "$@"
}
echo pass1 > pw
dd if=/dev/urandom of=img bs=1k count=32 status=none
vmseal-key generate --out k --passphrase-file pw >/dev/null
kid=$(vmseal-key id k.pub)

# --- backup
expect_rc "backup 3-of-5" 0 vmseal-key backup --shares 5 --threshold 3 k.key
[ "$(grep -c share- out)" = 5 ] && [ -f k.share-5-of-5.json ] && pass "five share files named NAME.share-I-of-N.json" || fail "shares: $(cat out)"
[ "$(stat -c %a k.share-2-of-5.json)" = 600 ] && pass "shares are 0600" || fail "share mode"
"$PY" - "$kid" <<'EOF' && pass "share is self-describing (format, keyid, index, K, N, checksum, digest)" || fail "share fields"
import json, sys, hashlib, base64
d = json.load(open("k.share-2-of-5.json"))
assert d["format"] == "vmseal-key-share-v1" and d["keyid"] == sys.argv[1]
assert (d["index"], d["threshold"], d["shares"]) == (2, 3, 5) and d["encrypted"] is True
assert d["checksum"] == hashlib.sha256(base64.b64decode(d["share"])).hexdigest()
assert d["secret_sha256"] == hashlib.sha256(open("k.key", "rb").read()).hexdigest()
EOF
! grep -q "BEGIN ENCRYPTED" k.share-*.json && pass "no share holds the key file in clear" || fail "key in a share"
expect_err "backup never overwrites shares" "already exists" vmseal-key backup --shares 5 --threshold 3 k.key
expect_err "threshold above shares refused" "threshold 6 is more than" vmseal-key backup --shares 5 --threshold 6 k.key
expect_err "threshold 1 refused (each share would be the key)" "threshold must be 2" vmseal-key backup --shares 5 --threshold 1 k.key
expect_err "backup has the entropy gate" "entropy" env VMSEAL_TEST_NO_ENTROPY=1 "$TESTBIN/vmseal-key" backup --shares 3 --threshold 2 --out-dir /tmp k.key
mkdir crash
(VMSEAL_FAULT=backup-between-shares "$TESTBIN/vmseal-key" backup --shares 3 --threshold 2 --out-dir crash k.key; true) >/dev/null 2>&1
[ "$(ls crash | wc -l)" -le 1 ] && pass "kill -9 mid-backup leaves at most the shares already written" || fail "crash: $(ls crash)"

# --- recover: any K of N
n=0
for set in "1 2 3" "1 3 5" "2 4 5" "3 4 5" "5 1 4" "1 2 3 4 5"; do
	n=$((n + 1))
	files=(); for i in $set; do files+=(k.share-$i-of-5.json); done
	expect_rc "recover from shares {$set}" 0 vmseal-key recover --out r$n "${files[@]}"
	cmp -s r$n.key k.key && [ "$(vmseal-key id r$n.pub)" = "$kid" ] && pass "{$set}: same key file and keyid" || fail "{$set} differs"
done
[ "$(stat -c %a r1.key)" = 600 ] && grep -q '"status": "active"' r1.json && pass "recovered key 0600, metadata active" || fail "recovered files"
expect_rc "recover checks the keyid of the decrypted key" 0 vmseal-key recover --out rp --passphrase-file pw k.share-{2,3,4}-of-5.json
vmseal-sign --key rp.key --passphrase-file pw --template t --template-version 1 img >/dev/null && pass "recovered key signs" || fail "recovered key cannot sign"
echo wrong > wpw
expect_err "recover with a wrong passphrase" "wrong passphrase" vmseal-key recover --out rw --passphrase-file wpw k.share-{2,3,4}-of-5.json
[ ! -e rw.key ] && pass "nothing written on failure" || fail "written"
expect_err "K-1 shares fail" "2 shares given, 3 of the 5 are needed" vmseal-key recover --out x k.share-1-of-5.json k.share-4-of-5.json
expect_err "the same share twice" "given twice" vmseal-key recover --out x k.share-1-of-5.json k.share-1-of-5.json k.share-2-of-5.json
expect_err "recover never overwrites" "already exists" vmseal-key recover --out r1 k.share-{1,2,3}-of-5.json
[ ! -e x.key ] && pass "no key from too few shares" || fail "x.key"

# --- altered shares
cp k.share-3-of-5.json bad.json
"$PY" - <<'EOF'
import json, base64
d = json.load(open("bad.json")); b = bytearray(base64.b64decode(d["share"])); b[10] ^= 1
d["share"] = base64.b64encode(bytes(b)).decode(); json.dump(d, open("bad.json", "w"))
EOF
expect_err "flipped byte in a share: checksum" "share 3: checksum mismatch" vmseal-key recover --out x k.share-1-of-5.json k.share-2-of-5.json bad.json
jset bad.json 'import hashlib,base64; d["checksum"]=hashlib.sha256(base64.b64decode(d["share"])).hexdigest()'
expect_err "altered share with recomputed checksum: digest" "does not match its SHA-256" vmseal-key recover --out x k.share-1-of-5.json k.share-2-of-5.json bad.json
cp k.share-3-of-5.json bad.json; jset bad.json 'd["index"]=4'
expect_err "share with a changed index" "does not match its SHA-256|checksum" vmseal-key recover --out x k.share-1-of-5.json k.share-2-of-5.json bad.json
cp k.share-3-of-5.json bad.json; sed -i 's/"threshold": 3/"threshold": 3, "threshold": 2/' bad.json
expect_err "duplicate field refused" "duplicate" vmseal-key recover --out x k.share-1-of-5.json k.share-2-of-5.json bad.json
cp k.share-3-of-5.json bad.json; jset bad.json 'd["threshold"]=2'
expect_err "share disagreeing on K" "disagrees" vmseal-key recover --out x k.share-1-of-5.json bad.json
cp k.share-3-of-5.json bad.json; jset bad.json 'd["extra"]=1'
expect_err "unknown field refused" "unknown field" vmseal-key recover --out x k.share-1-of-5.json k.share-2-of-5.json bad.json
[ ! -e x.key ] && pass "no key from bad shares" || fail "x.key written"

# --- mixed shares
vmseal-key generate --out other --no-passphrase >/dev/null
vmseal-key backup --shares 3 --threshold 2 other.key >/dev/null
expect_err "shares of two keys" "share of another key" vmseal-key recover --out x k.share-1-of-5.json other.share-2-of-3.json
mkdir again
vmseal-key backup --shares 5 --threshold 3 --out-dir again k.key >/dev/null
expect_err "shares of two backups of one key" "another backup of this key" vmseal-key recover --out x k.share-1-of-5.json k.share-2-of-5.json again/k.share-3-of-5.json
expect_rc "plain key: 2-of-3 round trip" 0 vmseal-key recover --out o2 other.share-3-of-3.json other.share-1-of-3.json
cmp -s o2.key other.key && pass "plain key recovered" || fail "plain"
head -c 100 k.share-1-of-5.json > trunc.json
expect_err "truncated share" "not a share file" vmseal-key recover --out x trunc.json k.share-2-of-5.json

# --- destroy
vmseal-key generate --out d --passphrase-file pw >/dev/null
did=$(vmseal-key id d.pub)
ino=$(stat -c %i d.key); size=$(stat -c %s d.key)
expect_err "destroy asks for --yes without a terminal" "--yes" setsid vmseal-key destroy d </dev/null
[ -f d.key ] && pass "nothing destroyed without confirmation" || fail "destroyed"
expect_rc "destroy" 0 vmseal-key destroy d --yes --audit-log audit.jsonl
[ ! -e d.key ] && ! ls d.key.* >/dev/null 2>&1 && pass "destroy leaves no private key file" || fail "key left: $(ls d*)"
grep -q '"status": "destroyed"' d.json && grep -q destroyed_at d.json && pass "metadata marked destroyed" || fail "metadata: $(cat d.json)"
vmseal-audit verify audit.jsonl >/dev/null && grep -q '"event":"key.destroy"' audit.jsonl && grep -q "$did" audit.jsonl &&
	pass "audit event key.destroy with the keyid" || fail "audit: $(cat audit.jsonl)"
expect_deny "a destroyed key cannot sign" "key destroyed" vmseal-sign --key d.key --passphrase-file pw --template t --template-version 1 -o dd.json img
expect_err "destroy twice" "already destroyed" vmseal-key destroy d --yes
vmseal-key generate --out e --no-passphrase >/dev/null
vmseal-key backup --shares 2 --threshold 2 e.key >/dev/null
expect_rc "destroy warns about shares" 0 vmseal-key destroy e.key --yes
grep -q "e.share-1-of-2.json" err && pass "destroy names the backup shares still holding the key" || fail "no share warning: $(cat err)"
# Refused before a byte is written: another hard link, a file that is not a key, a symlink.
vmseal-key generate --out f --no-passphrase >/dev/null
ln f.key f.link
sum=$(sha256sum <f.key)
expect_err "destroy refuses a key file with another hard link" "1 other hard link names this file: nothing overwritten" \
	vmseal-key destroy f --yes
[ "$(sha256sum <f.link)" = "$sum" ] && grep -q '"status": "active"' f.json && pass "refused destroy wrote nothing (key bytes and metadata as before)" ||
	fail "hard-linked key changed"
rm f.link
vmseal-key generate --out nk --no-passphrase >/dev/null
echo '{"version": 1, "keys": []}' >nk.key
expect_err "destroy refuses a NAME.key that is not a private key" "nk.key: not a PEM private key file: nothing overwritten" \
	vmseal-key destroy nk --yes
[ "$(cat nk.key)" = '{"version": 1, "keys": []}' ] && pass "the file that is not a key is untouched" || fail "non-key overwritten"
vmseal-key generate --out sl --no-passphrase >/dev/null
mv sl.key sl.real && ln -s sl.real sl.key
expect_err "destroy refuses a symlinked key file" "symbolic link" vmseal-key destroy sl --yes
grep -q "PRIVATE KEY" sl.real && pass "symlink target untouched" || fail "symlink target overwritten"
# The overwrite itself: watch the blocks through a descriptor held open across the destroy.
exec 8<f.key
expect_rc "destroy a key" 0 vmseal-key destroy f --yes
! grep -q "PRIVATE KEY" /proc/$$/fd/8 && [ "$(tr -d '\0' </proc/$$/fd/8 | wc -c)" = 0 ] && pass "key bytes overwritten (zeros at the end)" ||
	fail "bytes remain: $(head -c 60 /proc/$$/fd/8)"
exec 8<&-
# Shares: destroy tells you to destroy them, and can.
expect_rc "destroy a backup share" 0 vmseal-key destroy e.share-1-of-2.json --yes --audit-log audit.jsonl
[ ! -e e.share-1-of-2.json ] && grep -q "backup share e.share-1-of-2.json" out && pass "share destroyed" || fail "share: $(cat out err)"
grep -q '"object":"backup share e.share-1-of-2.json"' audit.jsonl && pass "share destroy audited" || fail "share audit: $(tail -1 audit.jsonl)"
cp e.share-2-of-2.json e.share-bad.json && sed -i 's/"index": 2/"index": 7/' e.share-bad.json
expect_err "destroy refuses an altered share (not a share file any more)" "e.share-bad.json" vmseal-key destroy e.share-bad.json --yes
[ -s e.share-bad.json ] && pass "altered share untouched" || fail "altered share gone"
ln e.share-2-of-2.json e.share-link.json
expect_err "destroy refuses a share with another hard link" "other hard link" vmseal-key destroy e.share-2-of-2.json --yes
expect_err "destroy of a missing key" "no key here" vmseal-key destroy nothere --yes
expect_rc "destroy --help" 0 vmseal-key destroy --help
for c in backup recover; do expect_rc "$c --help" 0 vmseal-key $c --help; done

# --- a large split of a large key (more shares than the secure heap holds)
vmseal-key generate --alg rsa3072 --out big --no-passphrase >/dev/null
mkdir bigs
expect_rc "backup 200-of-255 of an RSA key" 0 vmseal-key backup --shares 255 --threshold 200 --out-dir bigs big.key
expect_rc "recover from 200 random shares of 255" 0 vmseal-key recover --out bigr $(ls bigs/*.json | shuf | head -200)
cmp -s bigr.key big.key && pass "large split round trip" || fail "large split differs"
expect_err "199 of 255 fail" "199 shares given, 200 of the 255" vmseal-key recover --out bigx $(ls bigs/*.json | shuf | head -199)
