#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One key, one keyid (issue #14 item 1). A P-256 key written compressed and uncompressed, an RSA
# key written as rsaEncryption and as RSASSA-PSS (both made with openssl here) are one key: one
# keyid, and a policy or root.json that lists the material twice is refused, so one private key
# cannot meet a 2-of-n template threshold, a 2-of-2 root threshold or a destroy quorum.
source "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || { skip "keyid tests: openssl missing"; exit 0; }
cd "$T"
mkp() { "$PY" "$top/tests/mkpolicy.py" "$@"; }
# old_id FILE.pub: the keyid the old code gave: SHA-256 of the DER SPKI exactly as written
old_id() { openssl pkey -pubin -in "$1" -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1; }
# Only openssl ec keeps the compressed form of a point it reads.
vmseal-key generate --alg p256 --out p --no-passphrase >/dev/null
openssl ec -pubin -in p.pub -pubout -conv_form compressed -out pc.pub 2>/dev/null
vmseal-key generate --alg rsa3072 --out r --no-passphrase >/dev/null
# The same (n, e) as an RSASSA-PSS SubjectPublicKeyInfo, built with openssl asn1parse.
n=$(openssl rsa -pubin -in r.pub -noout -modulus 2>/dev/null | cut -d= -f2)
cat > pss.cnf <<CNF
asn1=SEQUENCE:spki
[spki]
alg=SEQUENCE:alg
key=BITWRAP,SEQUENCE:rsakey
[alg]
oid=OID:rsassaPss
[rsakey]
n=INTEGER:0x$n
e=INTEGER:65537
CNF
openssl asn1parse -genconf pss.cnf -out rpss.der -noout >/dev/null 2>&1
openssl pkey -pubin -inform DER -in rpss.der -out rpss.pub 2>/dev/null
grep -q "BEGIN PUBLIC KEY" pc.pub && [ "$(old_id pc.pub)" != "$(old_id p.pub)" ] &&
	pass "setup: the compressed P-256 SPKI differs from the uncompressed one" || fail "setup: compressed key"
openssl asn1parse -inform DER -in rpss.der 2>/dev/null | grep -q rsassaPss && [ "$(old_id rpss.pub)" != "$(old_id r.pub)" ] &&
	pass "setup: the RSASSA-PSS SPKI differs from the rsaEncryption one" || fail "setup: PSS key"

# --- one key, one id
[ "$(vmseal-key id pc.pub)" = "$(vmseal-key id p.pub)" ] && pass "P-256 compressed and uncompressed: one keyid" ||
	fail "P-256 ids differ: $(vmseal-key id pc.pub) $(vmseal-key id p.pub)"
[ "$(vmseal-key id rpss.pub)" = "$(vmseal-key id r.pub)" ] && pass "RSA rsaEncryption and RSASSA-PSS: one keyid" ||
	fail "RSA ids differ: $(vmseal-key id rpss.pub) $(vmseal-key id r.pub)"
[ "$(vmseal-key id p.pub)" = "$(old_id p.pub)" ] && [ "$(vmseal-key id r.pub)" = "$(old_id r.pub)" ] &&
	pass "keys vmseal-key generates keep their ids (canonical form is what it writes)" || fail "generated keys changed id"
vmseal-key generate --out e --no-passphrase >/dev/null
[ "$(vmseal-key id e.pub)" = "$(old_id e.pub)" ] && pass "Ed25519 ids unchanged" || fail "Ed25519 id changed"

# --- a key verifies whatever encoding the policy holds
head -c 100000 /dev/urandom > img
for k in p r; do
	vmseal-sign --key $k.key --template t1 --template-version 1 -o $k.att img >/dev/null
done
vmseal-key policy-entry pc.pub > pc.entry
vmseal-key policy-entry rpss.pub > rpss.entry
mkp pol_pc.json '[{"match":"t*","keys":["@pc"]}]' pc=pc.entry
mkp pol_rpss.json '[{"match":"t*","keys":["@rpss"]}]' rpss=rpss.entry
expect_rc "P-256 signature verifies under the compressed policy entry" 0 vmseal-verify --policy pol_pc.json --attestation p.att img
expect_rc "RSA signature verifies under the RSASSA-PSS policy entry" 0 vmseal-verify --policy pol_rpss.json --attestation r.att img

# --- the attack: one private key, two entries, two signatures with two keyids
# entry NAME PUB: a policy key entry with the old (per-encoding) id, as an attacker would write it
entry() { "$PY" - "$1" "$2" "$(old_id "$2")" <<'PY'
import json, sys
name, pub, kid = sys.argv[1:]
json.dump({"id": kid, "public_key": open(pub).read(), "owner": name, "usage": ["template", "admin", "policy"],
           "roles": ["admin"], "status": "active"}, open(name + ".old.entry", "w"))
PY
}
# twice ATT OUT ID1 ID2: the envelope's one signature, listed twice under two keyids
twice() { "$PY" - "$@" <<'PY'
import json, sys
att, out, a, b = sys.argv[1:]
e = json.load(open(att))
sig = e["signatures"][0]["sig"]
e["signatures"] = [{"keyid": a, "sig": sig}, {"keyid": b, "sig": sig}]
json.dump(e, open(out, "w"))
PY
}
for pair in "p pc" "r rpss"; do
	set -- $pair
	entry $1 $1.pub; entry $2 $2.pub
	mkp dup_$1.json "[{\"match\":\"t*\",\"keys\":[\"@$1\",\"@$2\"],\"threshold\":2}]" \
		'{"gateway": {"quorum": {"destroy": 2}}}' $1=$1.old.entry $2=$2.old.entry
	twice $1.att dup_$1.att "$(old_id $1.pub)" "$(old_id $2.pub)"
	expect_err "2-of-2 template rule with $2 beside $1: policy refused" "keys\[1\] is the same public key as keys\[0\]" \
		vmseal-verify --policy dup_$1.json --attestation dup_$1.att img
	# with the canonical ids written in, it is still the same key
	"$PY" - dup_$1.json <<'PY'
import json, subprocess, sys
p = json.load(open(sys.argv[1]))
for k in p["keys"]:
    open("k.pub", "w").write(k["public_key"])
    k["id"] = subprocess.run(["vmseal-key", "id", "k.pub"], capture_output=True, text=True).stdout.split()[0]
json.dump(p, open("canon_" + sys.argv[1], "w"))
PY
	expect_err "the same pair under canonical ids: still refused ($1)" "same public key as keys\[0\]" \
		vmseal-verify --policy canon_dup_$1.json --attestation $1.att img
done

# a destroy quorum of 2 with one admin key listed twice: the gateway refuses the policy
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.crt \
	-days 1 -subj /CN=localhost 2>/dev/null
vmseal-key generate --out gwresp --no-passphrase >/dev/null
timeout 20 vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy dup_p.json \
	--libvirt test:///default --response-key gwresp.key --audit-log "$T/gw.jsonl" >gw.out 2>gw.err
rc=$?
[ $rc = 2 ] && grep -q "same public key as keys\[0\]" gw.err && pass "destroy quorum: the gateway refuses a policy with one admin key twice" ||
	fail "gateway with a duplicated admin key: exit $rc: $(head -c 300 gw.err)"

# --- root.json: 2-of-2 with one key in two encodings
expect_err "vmseal-policy root refuses one key given twice in two encodings" "same public key" \
	vmseal-policy root --threshold 2 -o root2.json p.pub pc.pub
[ ! -e root2.json ] && pass "no root.json written" || fail "root.json written"
"$PY" - <<PY
import json
keys = [{"id": "$(old_id p.pub)", "public_key": open("p.pub").read(), "owner": "a"},
        {"id": "$(old_id pc.pub)", "public_key": open("pc.pub").read(), "owner": "b"}]
json.dump({"version": 1, "threshold": 2, "keys": keys}, open("root.json", "w"))
PY
mkdir etc
echo '{"version": 2, "enforce": true, "keys": [], "templates": []}' > pol2.json
vmseal-policy sign --key p.key -o b.bundle pol2.json >/dev/null
twice b.bundle b2.bundle "$(old_id p.pub)" "$(old_id pc.pub)"
expect_err "2-of-2 root.json naming one key twice is refused" "keys\[1\] is the same public key as keys\[0\]" \
	vmseal-policy verify --root root.json b2.bundle
