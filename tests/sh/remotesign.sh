#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Remote signing end to end: vmseal-sign --remote hashes locally and asks a real vmseal-gateway
# (TLS 1.3, RFC 9421) whose --signing-key signs; roles, refusals, checks of the answer.
source "$(dirname "$0")/lib.sh"
for tool in openssl; do
	command -v $tool >/dev/null || { skip "remote signing tests: $tool not installed"; exit 0; }
done
cd "$T"
umask 077
for k in signer viewer admin gwresp svc other retired nosign qa qb qv; do
	vmseal-key generate --out $k --no-passphrase >/dev/null || fail "generate $k"
done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.crt \
	-days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null
write_policy() { # $1: status of the service key in the gateway host's policy
	{
		printf '{"version": 1, "keys": [\n'
		vmseal-key policy-entry signer.pub --owner pipeline --usage admin --role signer; echo ,
		vmseal-key policy-entry viewer.pub --owner dave --usage admin --role viewer; echo ,
		vmseal-key policy-entry nosign.pub --owner nobody --usage admin --role signer; echo ,
		vmseal-key policy-entry qa.pub --owner quinn --usage admin --role signer; echo ,
		vmseal-key policy-entry qb.pub --owner quentin --usage admin --role signer; echo ,
		# qv has a signers entry but only the viewer role: it must not make up a quorum
		vmseal-key policy-entry qv.pub --owner quincy --usage admin --role viewer; echo ,
		vmseal-key policy-entry svc.pub --owner signing-service --usage template --status "$1"
		printf '], "templates": [{"match": "debian-*", "keys": ["%s"]}],\n' "$(vmseal-key id svc.pub)"
		# each signer key is bounded (issue 15 item 5); nosign has no entry, so signs nothing
		printf ' "gateway": {"signers": [{"key": "%s", "templates": ["debian-*"], "max_validity_s": 31536000, "max_version": 100},\n' "$(vmseal-key id signer.pub)"
		printf '   {"key": "%s", "templates": ["secure-*"], "max_validity_s": 86400, "max_version": 10, "quorum": 2},\n' "$(vmseal-key id qa.pub)"
		printf '   {"key": "%s", "templates": ["secure-*"], "max_validity_s": 86400, "max_version": 10, "quorum": 2},\n' "$(vmseal-key id qb.pub)"
		printf '   {"key": "%s", "templates": ["secure-*"], "max_validity_s": 86400, "max_version": 10, "quorum": 2}]}}\n' "$(vmseal-key id qv.pub)"
	} > policy.json
}
write_policy active
dd if=/dev/urandom of=debian-12.qcow2 bs=1k count=600 status=none

start_gateway() { # start_gateway LOG [OPTIONS]: sets $port and $gwpid
	local log=$1; shift
	${GW:-vmseal-gateway} --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json \
		--libvirt test:///default --response-key "$T/gwresp.key" --audit-log "${AUDIT:-$T/audit.jsonl}" \
		--threads 2 "$@" >/dev/null 2>"$log" &
	gwpid=$!
	cleanup_hooks+=("kill $gwpid 2>/dev/null; wait $gwpid 2>/dev/null")
	port=
	for _ in $(seq 300); do
		grep -q 'listening on' "$log" 2>/dev/null && break
		kill -0 $gwpid 2>/dev/null || break
		sleep 0.05
	done
	port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$log")
	URL=https://127.0.0.1:$port
}
start_gateway gw.log --signing-key svc.key
[ -n "$port" ] || { fail "gateway with --signing-key started: $(cat gw.log)"; exit 0; }
rs() { vmseal-sign --remote "$URL" --cacert tls.crt --gateway-pub gwresp.pub "$@"; }

expect_rc "remote sign (role signer)" 0 rs --key signer.key --signer-pub svc.pub \
	--template debian-12 --template-version 4 debian-12.qcow2
grep -q "keyid $(vmseal-key id svc.pub)" out && pass "signed by the service's key" || fail "keyid: $(cat out)"
expect_rc "the remote attestation verifies" 0 vmseal-verify --policy policy.json debian-12.qcow2
grep -q "version 4" out && pass "statement names the asked template version" || fail "verify: $(cat out)"
"$PY" - <<'EOF' && pass "statement: digest, size, name computed locally" || fail "statement fields"
import json, base64, os
env = json.load(open("debian-12.qcow2.intoto.json"))
st = json.loads(base64.b64decode(env["payload"]))
assert st["subject"][0]["name"] == "debian-12.qcow2"
assert st["predicate"]["image"]["size"] == os.path.getsize("debian-12.qcow2")
assert len(env["signatures"]) == 1
EOF
! grep -q "PRIVATE" debian-12.qcow2.intoto.json && pass "nothing secret in the answer" || fail "secret"
grep -q '"event":"gateway.sign".*"decision":"allow"' audit.jsonl && pass "the signing is audited" || fail "audit: $(tail -2 audit.jsonl)"
printf 'x' | dd of=debian-12.qcow2 bs=1 seek=100 conv=notrunc status=none
expect_deny "a changed image no longer verifies" "digest mismatch" vmseal-verify --policy policy.json debian-12.qcow2

# refusals
expect_deny "role viewer may not sign" "HTTP 403" rs --key viewer.key --template debian-12 --template-version 4 -o v.json debian-12.qcow2
expect_deny "a key unknown to the gateway" "HTTP 401" rs --key other.key --template debian-12 --template-version 4 -o o.json debian-12.qcow2
[ ! -e v.json ] && [ ! -e o.json ] && pass "no attestation written when refused" || fail "written"
expect_deny "wrong --gateway-pub: the answer is not trusted" "response signature" \
	rs --key signer.key --template debian-12 --template-version 4 -o w.json --gateway-pub other.pub debian-12.qcow2
expect_deny "wrong --signer-pub: the envelope is not trusted" "does not verify under" \
	rs --key signer.key --signer-pub other.pub --template debian-12 --template-version 4 -o w.json debian-12.qcow2
[ ! -e w.json ] && pass "nothing written from an untrusted answer" || fail "w.json"
vmseal-key revoke signer --reason "test: revoked admin" >/dev/null
expect_deny "a revoked admin key is refused locally" "key revoked" rs --key signer.key --template debian-12 --template-version 4 -o r.json debian-12.qcow2
"$PY" -c "import json; d=json.load(open('signer.json')); d['status']='active'; [d.pop(f) for f in ('revoked_at','reason')]; json.dump(d, open('signer.json','w'))"
call() { vmseal-call --url "$URL" --cacert tls.crt --gateway-pub gwresp.pub --key signer.key "$@"; }
D=$(printf '%064d' 0)
expect_rc "bad digest is a 400" 2 call POST /v1/sign "{\"digest\":\"xyz\",\"size\":1,\"template\":\"debian-12\",\"version\":1}"
grep -q '"bad_request"' out && pass "bad_request names the problem" || fail "400 body: $(cat out)"
expect_rc "unknown field is a 400" 2 call POST /v1/sign "{\"digest\":\"$D\",\"size\":1,\"template\":\"debian-12\",\"version\":1,\"signedAt\":\"x\"}"
expect_rc "template with a slash is a 400" 2 call POST /v1/sign "{\"digest\":\"$D\",\"size\":1,\"template\":\"../x\",\"version\":1}"
expect_rc "expires too long is a 400" 2 call POST /v1/sign "{\"digest\":\"$D\",\"size\":1,\"template\":\"t\",\"version\":1,\"expires\":\"99999d\"}"
expect_rc "minimal request" 0 call POST /v1/sign "{\"digest\":\"$D\",\"size\":0,\"template\":\"debian-x\",\"version\":0}"
grep -q '"payloadType": *"application/vnd.in-toto+json"' out && pass "the answer is a DSSE envelope" || fail "envelope: $(cat out)"
# ---- the policy bounds each signer key (issue 15 item 5) ----
grep '"event":"gateway.sign"' audit.jsonl | grep '"decision":"info"' |
	grep -q "200 ok; changed: signed digest=$D size=0 template=debian-x version=0 expires=[0-9T:Z-]* name=debian-x; signers=$(vmseal-key id signer.pub); client=127.0.0.1:" &&
	pass "audit: a signing names digest, size, template, version, expiry and every signer" ||
	fail "sign audit: $(grep '"event":"gateway.sign"' audit.jsonl | tail -1)"
expect_rc "a template outside the key's patterns: 403" 1 call POST /v1/sign "{\"digest\":\"$D\",\"size\":1,\"template\":\"ubuntu-24\",\"version\":1}"
grep -q '"error":"sign_denied"' out && grep -q 'may not have template' out && pass "sign_denied names the template" || fail "template bound: $(cat out)"
expect_rc "version 2^63-1 above max_version 100: 403" 1 call POST /v1/sign "{\"digest\":\"$D\",\"size\":1,\"template\":\"debian-12\",\"version\":9223372036854775807}"
grep -q 'above key .* max_version 100' out && pass "sign_denied names max_version" || fail "version bound: $(cat out)"
expect_rc "valid 10 years, above max_validity_s: 403" 1 call POST /v1/sign "{\"digest\":\"$D\",\"size\":1,\"template\":\"debian-12\",\"version\":1,\"expires\":\"3650d\"}"
grep -q 'max_validity_s 31536000' out && pass "sign_denied names max_validity_s" || fail "validity bound: $(cat out)"
expect_rc "a signer key without a gateway.signers entry: 403" 1 vmseal-call --url "$URL" --cacert tls.crt --gateway-pub gwresp.pub \
	--key nosign.key POST /v1/sign "{\"digest\":\"$D\",\"size\":1,\"template\":\"debian-12\",\"version\":1}"
grep -q 'no gateway.signers entry' out && pass "sign_denied: the key has no entry" || fail "no entry: $(cat out)"
qcall() { vmseal-call --url "$URL" --cacert tls.crt --gateway-pub gwresp.pub "$@"; }
qbody="{\"digest\":\"$D\",\"size\":1,\"template\":\"secure-1\",\"version\":2,\"expires\":\"1d\"}"
expect_rc "a quorum-2 template signed by one signer: 403" 1 qcall --key qa.key POST /v1/sign "$qbody"
grep -q 'distinct owners, got 1' out && pass "sign_denied names the quorum" || fail "quorum: $(cat out)"
expect_rc "the same signer twice is not a quorum" 1 qcall --key qa.key --key qa.key POST /v1/sign "$qbody"
expect_rc "a quorum-2 template signed by two signers of distinct owners: 200" 0 qcall --key qa.key --key qb.key POST /v1/sign "$qbody"
grep '"event":"gateway.sign"' audit.jsonl | grep '"decision":"info"' | tail -1 |
	grep -q "signers=$(vmseal-key id qa.pub),$(vmseal-key id qb.pub);" && pass "audit: both signers of the quorum named" ||
	fail "quorum audit: $(grep '"event":"gateway.sign"' audit.jsonl | tail -1)"
expect_rc "a quorum made up with a key without the signer role: 403" 1 qcall --key qa.key --key qv.key POST /v1/sign "$qbody"
grep -q '"error":"sign_denied"' out && grep -q "distinct owners, got 1: key $(vmseal-key id qv.pub | cut -c1-16) does not count, it has neither the signer nor the admin role" out &&
	pass "sign_denied names the key that lacks the role" || fail "role quorum: $(cat out)"
[ "$(grep -c 'does not count' out)" = 1 ] && pass "one line of reason" || fail "reason lines: $(cat out)"
expect_rc "a quorum signer outside its own patterns: 403" 1 qcall --key qa.key --key qb.key POST /v1/sign \
	"{\"digest\":\"$D\",\"size\":1,\"template\":\"debian-12\",\"version\":2,\"expires\":\"1d\"}"
expect_rc "remote signing over an unknown CA fails" 2 vmseal-sign --remote "$URL" --key signer.key --template t --template-version 1 -o u.json debian-12.qcow2
expect_rc "--remote with --append is a usage error" 2 rs --key signer.key --append debian-12.qcow2
kill $gwpid; wait $gwpid 2>/dev/null

# the service key itself: revoked in the host's policy, retired in its metadata, or absent
write_policy revoked
start_gateway gw2.log --signing-key svc.key
expect_deny "service key revoked in the policy: 403" "key_refused.*revoked" rs --key signer.key --template debian-12 --template-version 5 -o x.json debian-12.qcow2
kill $gwpid; wait $gwpid 2>/dev/null
write_policy active
start_gateway gw3.log
expect_err "gateway without --signing-key: 503" "HTTP 503 not_configured" rs --key signer.key --template debian-12 --template-version 5 -o x.json debian-12.qcow2
kill $gwpid; wait $gwpid 2>/dev/null
vmseal-key rotate --old retired --out retired2 --no-passphrase --in-place >/dev/null
start_gateway gw4.log --signing-key retired.key
[ -z "$port" ] && grep -q "key retired" gw4.log && pass "the gateway refuses to start with a retired signing key" || fail "started: $(cat gw4.log)"

# a service key inside a PKCS#11 token, when SoftHSM2 and the provider are here
moddir=$(openssl version -m | sed -n 's/^MODULESDIR: "\(.*\)"/\1/p')
module=$(ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so 2>/dev/null | head -1)
case "$BIN" in *build-san*) module= ;; esac # ASan refuses pkcs11-provider's RTLD_DEEPBIND dlopen

# Held answers (#18 item 2): while another connection is open, a signing call's answer waits
# for the fdatasync covering its audit events with its connection suspended (no worker thread
# waits for the disk); it goes out only once they are durable. The test build's fault
# audit-fsync-fail-async fails exactly the fdatasyncs run for held answers.
held_sign() { # held_sign NAME VERSION LOG FAULT: signs NAME with a second connection open
	dd if=/dev/urandom of="$1" bs=1k count=64 status=none
	AUDIT=$T/audit-held.jsonl GW="env VMSEAL_FAULT=$4 $TESTBIN/vmseal-gateway" start_gateway "$3" --signing-key svc.key
	exec 7<>/dev/tcp/127.0.0.1/"$port" # an idle connection: libmicrohttpd counts it
	rs --key signer.key --signer-pub svc.pub --template debian-12 --template-version "$2" "$1" >out 2>&1
	held_rc=$?
	exec 7>&-
}
held_sign img-held 7 gw6.log none
[ $held_rc = 0 ] && pass "remote sign with another connection open: answered once durable" || fail "held answer ($held_rc): $(cat out)"
expect_rc "the held answer's attestation verifies" 0 vmseal-verify --policy policy.json img-held
kill $gwpid; wait $gwpid 2>/dev/null
expect_rc "the audit log of held answers verifies" 0 vmseal-audit verify "$T/audit-held.jsonl"
grep -q '"event":"gateway.sign",.*"decision":"info","reason":"200 ok; changed: signed digest' "$T/audit-held.jsonl" \
	&& pass "the held call's result is in the log" || fail "held result not logged"
held_sign img-held-fail 8 gw7.log audit-fsync-fail-async
[ $held_rc != 0 ] && grep -q audit_unavailable out && [ ! -e img-held-fail.intoto.json ] \
	&& pass "the fdatasync covering a held answer fails: 500 audit_unavailable, no signature leaves" \
	|| fail "held answer with a failed fdatasync ($held_rc): $(cat out)"
dd if=/dev/urandom of=img-after bs=1k count=64 status=none
rs --key signer.key --signer-pub svc.pub --template debian-12 --template-version 9 img-after >out 2>&1
[ $? != 0 ] && grep -q audit_unavailable out && pass "after a failed fdatasync every call is refused (503)" \
	|| fail "call after a failed fdatasync: $(cat out)"
kill $gwpid; wait $gwpid 2>/dev/null
dd if=/dev/urandom of=img-alone bs=1k count=64 status=none
AUDIT=$T/audit-alone.jsonl GW="env VMSEAL_FAULT=audit-fsync-fail-async $TESTBIN/vmseal-gateway" start_gateway gw8.log --signing-key svc.key
expect_rc "the only connection: the worker runs the fdatasync itself (the fault does not apply)" 0 \
	rs --key signer.key --signer-pub svc.pub --template debian-12 --template-version 10 img-alone
kill $gwpid; wait $gwpid 2>/dev/null
# The only connection, and its fdatasync fails: the answer signed before it is dropped, the
# refusal goes out instead (audit-fsync-fail-lead fails the fdatasyncs a durable caller runs).
dd if=/dev/urandom of=img-alone-fail bs=1k count=64 status=none
AUDIT=$T/audit-alone-fail.jsonl GW="env VMSEAL_FAULT=audit-fsync-fail-lead $TESTBIN/vmseal-gateway" start_gateway gw9.log --signing-key svc.key
rs --key signer.key --signer-pub svc.pub --template debian-12 --template-version 11 img-alone-fail >out 2>&1
rc=$?
[ $rc != 0 ] && grep -q "500 audit_unavailable" out && [ ! -e img-alone-fail.intoto.json ] \
	&& pass "the only connection's fdatasync fails: 500 audit_unavailable, no signature leaves" \
	|| fail "only connection, failed fdatasync ($rc): $(cat out)"
kill -0 $gwpid 2>/dev/null && pass "the gateway still runs after it" || fail "gateway gone: $(cat gw9.log)"
kill $gwpid; wait $gwpid 2>/dev/null

if command -v softhsm2-util >/dev/null && [ -f "$moddir/pkcs11.so" ] && [ -n "$module" ]; then
	mkdir tokens
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$T" > softhsm2.conf
	export SOFTHSM2_CONF=$T/softhsm2.conf
	softhsm2-util --init-token --free --label svc --pin 1234 --so-pin 5678 >/dev/null
	printf 'openssl_conf = i\n[i]\nproviders = p\n[p]\ndefault = d\npkcs11 = k\n[d]\nactivate = 1\n[k]\nmodule = %s\npkcs11-module-path = %s\npkcs11-module-quirks = no-deinit\nactivate = 1\n' \
		"$moddir/pkcs11.so" "$module" > openssl.cnf
	export OPENSSL_CONF=$T/openssl.cnf
	echo 1234 > pin
	uri="pkcs11:token=svc;object=svc-p256"
	vmseal-key generate --alg p256 --pkcs11 "$uri" --passphrase-file pin --out hsm >/dev/null || fail "token key"
	"$PY" - "$(vmseal-key policy-entry hsm.pub --owner hsm-service)" <<'EOF'
import json, sys
p = json.load(open("policy.json")); e = json.loads(sys.argv[1])
p["keys"].append(e); p["templates"][0]["keys"].append(e["id"]); json.dump(p, open("policy.json", "w"))
EOF
	start_gateway gw5.log --signing-key "$uri" --signing-passphrase-file pin
	dd if=/dev/urandom of=img2 bs=1k count=64 status=none
	expect_rc "remote sign with the service key in a PKCS#11 token" 0 \
		rs --key signer.key --signer-pub hsm.pub --template debian-12 --template-version 6 img2
	expect_rc "token-signed attestation verifies" 0 vmseal-verify --policy policy.json img2
	kill $gwpid; wait $gwpid 2>/dev/null
else
	skip "remote signing with a PKCS#11 service key: softhsm2 or pkcs11-provider missing (or a SAN=1 build)"
fi
