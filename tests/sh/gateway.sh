#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# vmseal-gateway and vmseal-call end to end: a real gateway on 127.0.0.1 over TLS 1.3 with
# libvirt's test:///default driver. Every route by the right role and a wrong one, and every
# refusal of a signature, with its reason; limits; TLS; mTLS; an independent client.
source "$(dirname "$0")/lib.sh"
for tool in openssl curl qemu-img; do
	command -v $tool >/dev/null || { skip "gateway tests: $tool not installed"; exit 0; }
done
cd "$T"
umask 077

# ---- keys, certificates, template, policy ----
for k in admin admin2 alice2 op viewer auditor revoked retired tmplonly pipeline gwresp; do
	vmseal-key generate --alg ed25519 --out $k --no-passphrase >/dev/null || fail "generate $k"
done
vmseal-key generate --alg p256 --out p256op --no-passphrase >/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.crt \
	-days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null
# a client CA and a client certificate for mutual TLS
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
	-days 1 -subj /CN=vmseal-test-ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout client.key -out client.csr \
	-subj /CN=alice 2>/dev/null
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -out client.crt \
	2>/dev/null
# from the right CA, with an extended key usage: serverAuth only (refused), clientAuth (accepted)
for eku in serverAuth clientAuth; do
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout eku-$eku.key -out eku.csr \
		-subj /CN=eku-$eku 2>/dev/null
	printf 'extendedKeyUsage=%s\n' $eku >eku.ext
	openssl x509 -req -in eku.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile eku.ext \
		-out eku-$eku.crt 2>/dev/null
done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout rogue.key \
	-out rogue.crt -days 1 -subj /CN=rogue 2>/dev/null

mkdir templates images
qemu-img create -q -f qcow2 templates/debian-12.qcow2 16M
vmseal-sign --key pipeline.key --template debian-12 --template-version 3 templates/debian-12.qcow2 \
	>/dev/null 2>&1 || fail "sign template"
cp templates/debian-12.qcow2 templates/tampered.qcow2
cp templates/debian-12.qcow2.intoto.json templates/tampered.qcow2.intoto.json
printf 'x' | dd of=templates/tampered.qcow2 bs=1 seek=1000 conv=notrunc status=none
cp templates/debian-12.qcow2 templates/unsigned.qcow2

write_policy() { # $1: status of the viewer key
	{
		printf '{"version": 1, "enforce": true, "keys": [\n'
		vmseal-key policy-entry pipeline.pub --owner pipeline --usage template; echo ,
		vmseal-key policy-entry admin.pub --owner alice --usage admin --role admin; echo ,
		vmseal-key policy-entry admin2.pub --owner bob --usage admin --role admin; echo ,
		vmseal-key policy-entry alice2.pub --owner alice --usage admin --role admin; echo ,
		vmseal-key policy-entry op.pub --owner carol --usage admin --role operator; echo ,
		vmseal-key policy-entry p256op.pub --owner carol2 --usage admin --role operator; echo ,
		vmseal-key policy-entry viewer.pub --owner dave --usage admin --role viewer --status "$1"; echo ,
		vmseal-key policy-entry auditor.pub --owner erin --usage admin --role auditor; echo ,
		vmseal-key policy-entry revoked.pub --owner mallory --usage admin --role admin --status revoked; echo ,
		vmseal-key policy-entry retired.pub --owner oscar --usage admin --role admin --status retired; echo ,
		vmseal-key policy-entry tmplonly.pub --owner trent --usage template
		printf '],\n "templates": [{"match": "*", "keys": ["%s"], "threshold": 1, "allow_overlay": true}],\n' \
			"$(vmseal-key id pipeline.pub)"
		printf ' "gateway": {"max_skew_s": 300, "max_validity_s": 300, "quorum": {"destroy": 2, "delete": 1}}}\n'
	} > policy.json.new && mv policy.json.new policy.json
}
write_policy active

# ---- the gateway ----
# start_gateway LOG [OPTIONS]: sets $port and $gwpid.
start_gateway() {
	local log=$1; shift
	vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json \
		--libvirt test:///default --response-key gwresp.key --audit-log "$T/audit.jsonl" \
		--template-dir templates --image-dir images --threads 2 "$@" >/dev/null 2>"$log" &
	gwpid=$!
	cleanup_hooks+=("kill $gwpid 2>/dev/null; wait $gwpid 2>/dev/null")
	for _ in $(seq 300); do
		grep -q 'listening on' "$log" 2>/dev/null && break
		sleep 0.05
	done
	port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$log")
}
t0=$(date +%s)
start_gateway gw.log
[ -n "$port" ] || { fail "gateway started: $(cat gw.log)"; exit 1; }
URL=https://127.0.0.1:$port
pass "gateway listens on 127.0.0.1:$port"
grep -q "listening on https://127.0.0.1:$port (port $port)" gw.log && pass "the start line's URL has the real port, not 0" \
	|| fail "start line: $(grep 'listening on' gw.log)"

call() { vmseal-call --url "$URL" --cacert tls.crt --gateway-pub gwresp.pub "$@"; }

# expect_call NAME RC CODE ARGS...: vmseal-call exits RC and (when CODE is set) the JSON error
# is CODE.
expect_call() {
	local name=$1 want=$2 code=$3; shift 3
	call "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" != "$want" ]; then
		fail "$name (exit $rc, want $want): $(head -c 300 "$T/out") $(head -c 300 "$T/err")"
		return 1
	fi
	if [ -n "$code" ] && ! grep -q "\"error\":\"$code\"" "$T/out"; then
		fail "$name (want error $code): $(head -c 300 "$T/out")"
		return 1
	fi
	pass "$name"
}

# ---- unsigned and health ----
out=$(curl -sk -o body -w '%{http_code}' "$URL/healthz")
[ "$out" = 200 ] && grep -q '"status":"ok"' body && pass "healthz without a signature" || fail "healthz ($out)"
curl -sk -D hdr -o body "$URL/v1/domains"
grep -q '^HTTP/1.1 401' hdr && grep -q '"error":"signature_missing"' body &&
	grep -qi '^Accept-Signature: sig1=("@method" "@authority" "@path" "@query" "content-digest")' hdr &&
	pass "unsigned call: 401 with Accept-Signature" || fail "unsigned call: $(cat hdr body)"
grep -qi '^Signature-Input: gw=("@status" "content-type" "content-digest" "@method";req "@path";req)' hdr &&
	pass "even a refusal is signed" || fail "refusal signature: $(cat hdr)"

# ---- routes by the right role and a wrong one ----
expect_call "list domains: viewer" 0 "" --key viewer.key GET /v1/domains
grep -q '"name":"test"' out && pass "list shows the test domain" || fail "list: $(cat out)"
expect_call "list domains: auditor refused" 1 forbidden --key auditor.key GET /v1/domains
expect_call "get domain: viewer" 0 "" --key viewer.key GET /v1/domains/test
expect_call "get unknown domain: 404" 2 not_found --key viewer.key GET /v1/domains/nope
expect_call "get domain: template-only key refused" 1 key_refused --key tmplonly.key GET /v1/domains/test
expect_call "list templates: viewer" 0 "" --key viewer.key GET /v1/templates
grep -q '"file":"debian-12.qcow2","template":"debian-12","version":3,"decision":"allow"' out &&
	grep -q '"file":"tampered.qcow2".*"decision":"deny"' out &&
	pass "templates: the signed one allowed, the tampered one denied" || fail "templates: $(cat out)"
# a missing attestation is a denial, as vmseal-verify and the hook say (lib/attest), not a file
# left out of the listing
grep -q '"file":"unsigned.qcow2".*"decision":"deny","cached":false,"reason":"no attestation (' out &&
	! grep -q '"file":"[^"]*\.intoto\.json"' out &&
	pass "templates: one without an attestation is listed denied (no attestation), not left out" ||
	fail "unsigned template: $(cat out)"
# verdicts cached like the hook's (issue 15 item 11): same files, same policy digest
grep -q '"file":"debian-12.qcow2","template":"debian-12","version":3,"decision":"allow","cached":false' out &&
	pass "templates: the first listing evaluates" || fail "first listing: $(cat out)"
expect_call "list templates: auditor refused" 1 forbidden --key auditor.key GET /v1/templates
expect_call "list templates again" 0 "" --key viewer.key GET /v1/templates
grep -q '"file":"debian-12.qcow2","template":"debian-12","version":3,"decision":"allow","cached":true' out &&
	grep -q '"file":"tampered.qcow2".*"decision":"deny".*"cached":true' out &&
	pass "templates: a repeated listing answers from the cache (allow and deny)" || fail "second listing: $(cat out)"
cp templates/debian-12.qcow2 templates/cachetest.qcow2
cp templates/debian-12.qcow2.intoto.json templates/cachetest.qcow2.intoto.json
call --key viewer.key GET /v1/templates >out 2>&1
call --key viewer.key GET /v1/templates >out 2>&1
grep -q '"file":"cachetest.qcow2","template":"debian-12","version":3,"decision":"allow","cached":true' out ||
	fail "cachetest not cached: $(cat out)"
printf 'x' | dd of=templates/cachetest.qcow2 bs=1 seek=2000 conv=notrunc status=none
expect_call "list templates after a cached template was changed" 0 "" --key viewer.key GET /v1/templates
grep -q '"file":"cachetest.qcow2".*"decision":"deny".*"cached":false' out &&
	pass "templates: a template changed after its allow was cached is evaluated again and denied" ||
	fail "stale cache: $(cat out)"
rm -f templates/cachetest.qcow2 templates/cachetest.qcow2.intoto.json

body='{"name":"web1","template":"debian-12.qcow2","memory_mib":64,"vcpus":1}'
expect_call "create: viewer refused" 1 forbidden --key viewer.key POST /v1/domains "$body"
[ ! -e images/web1.qcow2 ] && pass "refused create wrote nothing" || fail "refused create left an overlay"
expect_call "create: operator" 0 "" --key op.key POST /v1/domains "$body"
qemu-img info images/web1.qcow2 2>/dev/null | grep -q "backing file: $T/templates/debian-12.qcow2" &&
	pass "create: overlay backed by the template" || fail "overlay: $(qemu-img info images/web1.qcow2 2>&1)"
expect_call "create again: 409" 2 conflict --key op.key POST /v1/domains "$body"
expect_call "create from a tampered template: 403" 1 template_denied --key op.key POST /v1/domains \
	'{"name":"web2","template":"tampered.qcow2","memory_mib":64,"vcpus":1}'
expect_call "create from a template without attestation: 403" 1 template_denied --key op.key POST /v1/domains \
	'{"name":"web2","template":"unsigned.qcow2","memory_mib":64,"vcpus":1}'
expect_call "create from a missing template: 404" 2 not_found --key op.key POST /v1/domains \
	'{"name":"web2","template":"nope.qcow2","memory_mib":64,"vcpus":1}'
expect_call "create with an unknown field: 400" 2 bad_request --key op.key POST /v1/domains \
	'{"name":"web2","template":"debian-12.qcow2","memory_mib":64,"vcpus":1,"x":1}'
expect_call "create with duplicate keys: 400" 2 bad_request --key op.key POST /v1/domains \
	'{"name":"web2","name":"web3","template":"debian-12.qcow2","memory_mib":64,"vcpus":1}'
expect_call "create with a bad name: 400" 2 bad_request --key op.key POST /v1/domains \
	'{"name":"../x","template":"debian-12.qcow2","memory_mib":64,"vcpus":1}'

expect_call "start: viewer refused" 1 forbidden --key viewer.key POST /v1/domains/web1/start
expect_call "start: operator" 0 "" --key op.key POST /v1/domains/web1/start
grep -q '"state":"running"' out && pass "started domain is running" || fail "start: $(cat out)"
expect_call "start a running domain: 409" 2 conflict --key op.key POST /v1/domains/web1/start
expect_call "reboot: viewer refused" 1 forbidden --key viewer.key POST /v1/domains/web1/reboot
expect_call "reboot: operator (P-256 key)" 0 "" --key p256op.key POST /v1/domains/web1/reboot
expect_call "shutdown: auditor refused" 1 forbidden --key auditor.key POST /v1/domains/web1/shutdown
expect_call "shutdown: operator" 0 "" --key op.key POST /v1/domains/web1/shutdown
expect_call "shutdown a stopped domain: 409" 2 conflict --key op.key POST /v1/domains/web1/shutdown
expect_call "start unknown domain: 404" 2 not_found --key op.key POST /v1/domains/nope/start
expect_call "start again" 0 "" --key op.key POST /v1/domains/web1/start

expect_call "destroy: operator refused" 1 forbidden --key op.key POST /v1/domains/web1/destroy
expect_call "destroy: one admin is not a quorum" 1 quorum_not_met --key admin.key POST /v1/domains/web1/destroy
expect_call "destroy: the same admin twice is not a quorum" 1 quorum_not_met --key admin.key --key admin.key \
	POST /v1/domains/web1/destroy
expect_call "destroy: admin and operator is not a quorum" 1 quorum_not_met --key admin.key --key op.key \
	POST /v1/domains/web1/destroy
# quorums count owners (README "What a threshold counts"): alice's second key is alice again
expect_call "destroy: two keys of one owner are not a quorum" 1 quorum_not_met --key admin.key --key alice2.key \
	POST /v1/domains/web1/destroy
expect_call "destroy: two distinct admins" 0 "" --key admin.key --key admin2.key POST /v1/domains/web1/destroy
grep -q '"state":"shut-off"' out && pass "destroyed domain is shut off" || fail "destroy: $(cat out)"
expect_call "delete: operator refused" 1 forbidden --key op.key DELETE /v1/domains/web1
expect_call "delete: admin" 0 "" --key admin.key DELETE /v1/domains/web1
[ ! -e images/web1.qcow2 ] && pass "delete removed the overlay" || fail "overlay left after delete"
expect_call "delete it again: 404" 2 not_found --key admin.key DELETE /v1/domains/web1
expect_call "delete a running domain: 409" 2 conflict --key admin.key DELETE /v1/domains/test

expect_call "audit: viewer refused" 1 forbidden --key viewer.key GET '/v1/audit?since=1'
expect_call "audit: auditor" 0 "" --key auditor.key GET '/v1/audit?since=1'
grep -q '"event":"gateway.domains.destroy"' out && grep -q '"decision":"deny"' out &&
	pass "audit tail shows decisions" || fail "audit tail: $(head -c 300 out)"
expect_call "audit: bad query 400" 2 bad_request --key auditor.key GET '/v1/audit?since=x'
expect_call "audit checkpoint: viewer refused" 1 forbidden --key viewer.key GET /v1/audit/checkpoint
expect_call "audit checkpoint: auditor" 0 "" --key auditor.key GET /v1/audit/checkpoint
"$PY" -c 'import json,sys; json.dump(json.load(open("out"))["checkpoint"], open("gwcp.json","w"))' 2>/dev/null
vmseal-audit verify --checkpoint gwcp.json --checkpoint-key gwresp.pub audit.jsonl >/dev/null 2>err &&
	pass "the gateway's checkpoint verifies under its response key" || fail "gateway checkpoint: $(cat err)"
head -n 3 audit.jsonl > cut-audit.jsonl
vmseal-audit verify --checkpoint gwcp.json --checkpoint-key gwresp.pub cut-audit.jsonl >/dev/null 2>err
[ $? = 1 ] && grep -q "audit log truncated or replaced" err &&
	pass "the gateway's checkpoint catches a log cut short" || fail "cut log vs checkpoint: $(cat err)"
expect_call "unknown route: 404" 2 not_found --key admin.key GET /v1/nothing
expect_call "wrong method: 405" 2 method_not_allowed --key admin.key PUT /v1/domains

# ---- replay, freshness, required components and parameters ----
now=$(date +%s)
expect_call "first use of a nonce" 0 "" --key viewer.key --nonce fixed-1 GET /v1/domains
expect_call "replayed nonce: 401 replay" 1 replay --key viewer.key --nonce fixed-1 GET /v1/domains
expect_call "same nonce, other key: allowed" 0 "" --key admin.key --nonce fixed-1 GET /v1/domains
expect_call "skew: created 400 s in the past" 1 clock_skew --key viewer.key \
	--created $((now - 400)) --expires $((now + 60)) GET /v1/domains
expect_call "skew: created 400 s in the future" 1 clock_skew --key viewer.key \
	--created $((now + 400)) --expires $((now + 460)) GET /v1/domains
expect_call "expired signature" 1 signature_expired --key viewer.key \
	--created $((now - 100)) --expires $((now - 10)) GET /v1/domains
expect_call "expires too far after created" 1 validity_too_long --key viewer.key \
	--created $now --expires $((now + 301)) GET /v1/domains
expect_call "created before the gateway started" 1 signature_predates_start --key viewer.key \
	--created $((t0 - 5)) --expires $((now + 60)) GET /v1/domains
for c in @method @authority @path @query; do
	others=$(printf '%s\n' @method @authority @path @query | grep -vx -- "$c" | paste -sd,)
	expect_call "signature without $c" 1 component_missing --key viewer.key --components "$others" \
		GET /v1/domains
done
expect_call "body without content-digest covered" 1 digest_missing --key op.key \
	--components @method,@authority,@path,@query POST /v1/domains "$body"
for p in created expires nonce; do
	expect_call "signature without $p" 1 parameter_missing --key viewer.key --omit-param $p GET /v1/domains
done
expect_call "Content-Digest with an unsupported algorithm" 1 digest_unsupported --key op.key \
	--content-digest 'md5=:nPIPqakGmOeMUPo46u6Sfw==:' POST /v1/domains "$body"
expect_call "unknown keyid" 1 key_refused --key viewer.key --keyid "$(printf '0%.0s' $(seq 64))" GET /v1/domains
expect_call "revoked key" 1 key_refused --key revoked.key GET /v1/domains
grep -q revoked out && pass "revoked key: the reason says revoked" || fail "revoked reason: $(cat out)"
# #14 item 13: "retired" signs nothing new, a gateway call included (an admin role does not help)
expect_call "retired admin key refused" 1 key_refused --key retired.key GET /v1/domains
grep -q "key retired" out && pass "retired key: the reason says retired" || fail "retired reason: $(cat out)"
expect_call "alg does not match the key" 1 alg_mismatch --key viewer.key --alg ecdsa-p256-sha256 GET /v1/domains
expect_call "alg that matches the key" 0 "" --key viewer.key --alg ed25519 GET /v1/domains
expect_call "right key, wrong keyid of another admin" 1 signature_invalid --key viewer.key \
	--keyid "$(vmseal-key id admin.pub)" GET /v1/domains

# body changed after signing: sign one body, send another with the same headers
vmseal-call --url "$URL" --key op.key --dry-run POST /v1/domains "$body" 2>req.txt >/dev/null
hdrs=()
while IFS= read -r line; do
	case "$line" in Content-Digest:*|Signature-Input:*|Signature:*|Content-Type:*) hdrs+=(-H "$line");; esac
done < req.txt
code=$(curl -s --cacert tls.crt -o body -w '%{http_code}' "${hdrs[@]}" --data-binary "${body/web1/web9}" \
	"$URL/v1/domains")
[ "$code" = 401 ] && grep -q '"error":"digest_mismatch"' body && pass "body changed after signing: 401" ||
	fail "body changed after signing ($code): $(cat body)"
code=$(curl -s --cacert tls.crt -o body -w '%{http_code}' "${hdrs[@]}" --data-binary "$body" "$URL/v1/domains")
[ "$code" = 201 ] && pass "the same headers with the signed body: created" || fail "signed body ($code): $(cat body)"
code=$(curl -s --cacert tls.crt -o body -w '%{http_code}' "${hdrs[@]}" --data-binary "$body" "$URL/v1/domains")
[ "$code" = 401 ] && grep -q '"error":"replay"' body && pass "curl replay of a captured request: 401" ||
	fail "captured replay ($code): $(cat body)"
grep -q 'reached the gateway before, and this copy changed nothing' body &&
	pass "… saying the call reached the gateway before and this copy changed nothing" || fail "replay detail: $(cat body)"
# 20 more copies: counted (one gateway.replay event per interval), not an audit line each
lines=$(wc -l < "$T/audit.jsonl")
for _ in $(seq 20); do
	curl -s --cacert tls.crt -o /dev/null "${hdrs[@]}" --data-binary "$body" "$URL/v1/domains"
done
[ "$(wc -l < "$T/audit.jsonl")" -le $((lines + 1)) ] && pass "20 copies of a captured call add no audit line each" ||
	fail "replays logged one by one: $(tail -3 "$T/audit.jsonl")"
code=$(curl -s --cacert tls.crt -o body -w '%{http_code}' -H 'Signature-Input: sig1=("@method", "@path")' \
	-H 'Signature: sig1=:AAAA:' "$URL/v1/domains")
[ "$code" = 401 ] && grep -q '"error":"signature_malformed"' body && pass "malformed Signature-Input: 401" ||
	fail "malformed ($code): $(cat body)"

# ---- responses ----
vmseal-key generate --out other --no-passphrase >/dev/null
vmseal-call --url "$URL" --cacert tls.crt --gateway-pub other.pub --key viewer.key GET /v1/domains \
	>out 2>err
[ $? = 1 ] && grep -q "response signature" err && pass "response signed by another key: exit 1" ||
	fail "response check: $(cat err)"

# ---- an independent client: curl + openssl pkeyutl ----
created=$(date +%s)
kid=$(vmseal-key id viewer.pub)
params="(\"@method\" \"@authority\" \"@path\" \"@query\");created=$created;expires=$((created + 60));nonce=\"indep-$RANDOM$RANDOM\";keyid=\"$kid\""
printf '"@method": GET\n"@authority": 127.0.0.1:%s\n"@path": /v1/domains\n"@query": ?\n"@signature-params": %s' \
	"$port" "$params" > base.txt
sig=$(openssl pkeyutl -sign -inkey viewer.key -rawin -in base.txt | base64 -w0)
code=$(curl -s --cacert tls.crt -o body -w '%{http_code}' -H "Signature-Input: sig1=$params" \
	-H "Signature: sig1=:$sig:" "$URL/v1/domains")
[ "$code" = 200 ] && grep -q '"domains"' body && pass "independent client (curl + openssl pkeyutl) accepted" ||
	fail "independent client ($code): $(cat body)"

# ---- @authority: a call is good for the gateway it was signed for (issue 15 item 1) ----
# indep_call AUTHORITY HOST_HEADER PORT [CA]: an independent client's GET /v1/domains signed for
# AUTHORITY (normalised: lowercase, no :443), sent to 127.0.0.1:PORT with Host: HOST_HEADER,
# trusting CA (default tls.crt); prints the HTTP status.
indep_call() {
	local c kid p
	c=$(date +%s); kid=$(vmseal-key id viewer.pub)
	p="(\"@method\" \"@authority\" \"@path\" \"@query\");created=$c;expires=$((c + 60));nonce=\"auth-$RANDOM$RANDOM\";keyid=\"$kid\""
	printf '"@method": GET\n"@authority": %s\n"@path": /v1/domains\n"@query": ?\n"@signature-params": %s' "$1" "$p" >base.txt
	curl -s --cacert "${4:-tls.crt}" -o body -w '%{http_code}' -H "Host: $2" -H "Signature-Input: sig1=$p" \
		-H "Signature: sig1=:$(openssl pkeyutl -sign -inkey viewer.key -rawin -in base.txt | base64 -w0):" \
		"https://127.0.0.1:$3/v1/domains"
}
grep -q "calls must be signed for one of: 127.0.0.1:$port, localhost:$port" gw.log &&
	pass "default names: the certificate's IP and DNS names with the listening port" ||
	fail "default names: $(grep 'signed for' gw.log)"
code=$(indep_call "other.example:$port" "other.example:$port" "$port")
[ "$code" = 401 ] && grep -q '"error":"wrong_authority"' body &&
	pass "call signed for another host (Host: other.example): 401 wrong_authority" ||
	fail "call for another host ($code): $(cat body)"
code=$(indep_call "localhost:$port" "LOCALHOST:$port" "$port")
[ "$code" = 200 ] && pass "a certificate name in upper case is the same name" || fail "LOCALHOST ($code): $(cat body)"
vmseal-call --url "https://localhost:$port" --cacert tls.crt --gateway-pub gwresp.pub --key viewer.key \
	GET /v1/domains >out 2>err && pass "vmseal-call by the certificate's DNS name" ||
	fail "vmseal-call via localhost: $(cat err)"
gwa=$gwpid
start_gateway gwb.log --audit-log "$T/audit-b.jsonl" --audit-checkpoint "$T/cp-b.json" --checkpoint-every 2
portb=$port; port=${URL##*:}
vmseal-call --url "$URL" --key viewer.key --dry-run GET /v1/domains 2>req.txt >/dev/null
hdrs=()
while IFS= read -r line; do
	case "$line" in Signature-Input:*|Signature:*) hdrs+=(-H "$line");; esac
done < req.txt
code=$(curl -s --cacert tls.crt -o body -w '%{http_code}' "${hdrs[@]}" -H "Host: 127.0.0.1:$port" \
	"https://127.0.0.1:$portb/v1/domains")
[ "$code" = 401 ] && grep -q '"error":"wrong_authority"' body &&
	pass "a call signed for gateway A, replayed to gateway B: 401 wrong_authority" ||
	fail "call for A sent to B ($code): $(cat body)"
code=$(curl -s --cacert tls.crt -o body -w '%{http_code}' "${hdrs[@]}" "$URL/v1/domains")
[ "$code" = 200 ] && pass "the same call at gateway A: 200" || fail "call at A ($code): $(cat body)"
kill $gwpid; wait $gwpid 2>/dev/null
grep -q '"actor":"anonymous","event":"gateway.unauthenticated","object":"client 127.0.0.1","decision":"deny","reason":"wrong_authority: 1 request without a valid signature within 10 s"' audit-b.jsonl &&
	pass "audit: the wrong authority is counted (client, reason)" || fail "audit wrong_authority: $(grep wrong_authority audit-b.jsonl)"
vmseal-audit verify --checkpoint cp-b.json --checkpoint-key gwresp.pub audit-b.jsonl >/dev/null 2>err &&
	pass "--checkpoint-every 2: the gateway's periodic checkpoint verifies under its response key" ||
	fail "periodic checkpoint: $(cat err) $(ls -l cp-b.json 2>&1)"
head -n 1 audit-b.jsonl > cut-b.jsonl
vmseal-audit verify --checkpoint cp-b.json --checkpoint-key gwresp.pub cut-b.jsonl >/dev/null 2>&1
[ $? = 1 ] && pass "…and catches the log cut short" || fail "periodic checkpoint vs a cut log"
# behind a load balancer: the name clients use, and nothing else
start_gateway gwlb.log --audit-log "$T/audit-b.jsonl" --authority LB.example --authority 127.0.0.2:9443
portb=$port; port=${URL##*:}
grep -q "calls must be signed for one of: lb.example, 127.0.0.2:9443" gwlb.log &&
	pass "--authority: the names given (lowercased, port 443 implied)" || fail "--authority names: $(cat gwlb.log)"
code=$(indep_call "lb.example" "lb.example" "$portb")
[ "$code" = 200 ] && pass "--authority lb.example: a call signed for lb.example is served" ||
	fail "lb.example ($code): $(cat body)"
code=$(indep_call "lb.example" "lb.example:443" "$portb")
[ "$code" = 200 ] && pass "--authority lb.example: lb.example:443 is the same name" ||
	fail "lb.example:443 ($code): $(cat body)"
code=$(indep_call "127.0.0.1:$portb" "127.0.0.1:$portb" "$portb")
[ "$code" = 401 ] && grep -q '"error":"wrong_authority"' body &&
	pass "--authority given: the certificate's names are not added" || fail "SAN with --authority ($code): $(cat body)"
kill $gwpid; wait $gwpid 2>/dev/null
gwpid=$gwa
for bad in 'a/b' 'host:0' 'host:70000' 'user@host' '[zz]:1' ''; do
	expect_err "--authority \"$bad\" refused" "bad --authority" vmseal-gateway --authority "$bad" --listen 127.0.0.1:0
done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout nosan.key -out nosan.crt \
	-days 1 -subj /CN=localhost 2>/dev/null
expect_err "a certificate without subjectAltName and no --authority: refused at start" "no DNS or IP subjectAltName" \
	timeout 10 vmseal-gateway --listen 127.0.0.1:0 --tls-cert nosan.crt --tls-key nosan.key --policy policy.json \
	--libvirt test:///default --response-key gwresp.key --audit-log "$T/audit2.jsonl"
# Names every host has (127.0.0.1, localhost): from the certificate only for a gateway on a
# loopback address. On any other, a call signed for them at one host would be good at all.
expect_err "listening beyond this host with a certificate of loopback names only: refused at start" \
	"names only what every host is" timeout 10 vmseal-gateway --listen 0.0.0.0:0 --tls-cert tls.crt --tls-key tls.key \
	--policy policy.json --libvirt test:///default --response-key gwresp.key --audit-log "$T/audit2.jsonl"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout own.key -out own.crt \
	-days 1 -subj /CN=gw.test -addext subjectAltName=DNS:gw.test,IP:127.0.0.1,DNS:localhost 2>/dev/null
vmseal-gateway --listen 0.0.0.0:0 --tls-cert own.crt --tls-key own.key --policy policy.json \
	--libvirt test:///default --response-key gwresp.key --audit-log "$T/audit-own.jsonl" >/dev/null 2>gwown.log &
ownpid=$!
cleanup_hooks+=("kill $ownpid 2>/dev/null; wait $ownpid 2>/dev/null")
for _ in $(seq 300); do grep -q 'listening on' gwown.log 2>/dev/null && break; sleep 0.05; done
portown=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' gwown.log)
grep -q "calls must be signed for one of: gw.test:$portown$" gwown.log &&
	pass "listening on 0.0.0.0: the certificate's own name only, not 127.0.0.1 or localhost" ||
	fail "names on 0.0.0.0: $(grep 'signed for' gwown.log)"
# own_call AUTHORITY: the same, for AUTHORITY with that Host, at the gateway on 0.0.0.0
own_call() { indep_call "$1" "$1" "$portown" own.crt; }
code=$(own_call "127.0.0.1:$portown")
[ "$code" = 401 ] && grep -q '"error":"wrong_authority"' body &&
	pass "a call signed for 127.0.0.1 at a gateway on 0.0.0.0: 401 wrong_authority (any host's call would do)" ||
	fail "127.0.0.1 on 0.0.0.0 ($code): $(cat body)"
code=$(own_call "localhost:$portown")
[ "$code" = 401 ] && pass "… for localhost: 401" || fail "localhost on 0.0.0.0 ($code): $(cat body)"
code=$(own_call "gw.test:$portown")
[ "$code" = 200 ] && pass "… for its own name gw.test: served" || fail "gw.test on 0.0.0.0 ($code): $(cat body)"
kill $ownpid; wait $ownpid 2>/dev/null

# ---- HTTP framing (RFC 9112 §6.3; issue 15 item 9): a signed call with an ambiguous length ----
# raw_send FILE: sends FILE's bytes over TLS to the gateway, prints the status of the first answer
raw_send() {
	"$PY" - "$port" "$1" <<'PYEOF'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile="tls.crt")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10),
                    server_hostname="127.0.0.1")
s.sendall(open(sys.argv[2], "rb").read())
data = b""
try:
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except OSError:
    pass
print(data.split(b" ")[1].decode() if data.startswith(b"HTTP/1.1 ") else "none")
PYEOF
}
# framed NAME HEADERS BODY: a signed POST /v1/domains creating NAME, with extra framing headers
framed() {
	local b="{\"name\":\"$1\",\"template\":\"debian-12.qcow2\",\"memory_mib\":64,\"vcpus\":1}"
	vmseal-call --url "$URL" --key op.key --dry-run POST /v1/domains "$b" 2>req.txt >/dev/null
	{
		printf 'POST /v1/domains HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nContent-Type: application/json\r\n' "$port"
		grep -E '^(Content-Digest|Signature-Input|Signature):' req.txt | sed 's/$/\r/'
		printf "$2"
		printf '\r\n%s' "$3"
	} >framed.req
	raw_send framed.req
}
b1='{"name":"smuggle1","template":"debian-12.qcow2","memory_mib":64,"vcpus":1}'
code=$(framed smuggle0 "Content-Length: ${#b1}\r\n" "${b1/smuggle1/smuggle0}")
[ "$code" = 201 ] && pass "framing control: a raw signed create with one Content-Length: 201" || fail "framing control ($code)"
code=$(framed smuggle1 "Content-Length: ${#b1}\r\nContent-Length: $((${#b1} + 4))\r\n" "$b1")
[ "$code" = 400 ] && pass "two differing Content-Length fields: 400" || fail "two Content-Length ($code)"
chunked=$(printf '%x\r\n%s\r\n0\r\n\r\n' ${#b1} "${b1/smuggle1/smuggle2}")
code=$(framed smuggle2 "Content-Length: ${#b1}\r\nTransfer-Encoding: chunked\r\n" "$chunked")
[ "$code" = 400 ] && pass "Content-Length with Transfer-Encoding: 400" || fail "CL + TE ($code)"
code=$(framed smuggle3 "Transfer-Encoding: gzip, chunked\r\n" "${chunked/smuggle2/smuggle3}")
[ "$code" = 400 ] && pass "Transfer-Encoding other than chunked: 400" || fail "TE gzip ($code)"
expect_call "no domain was created by an ambiguous request" 2 not_found --key viewer.key GET /v1/domains/smuggle1
expect_call "nor by Content-Length with Transfer-Encoding" 2 not_found --key viewer.key GET /v1/domains/smuggle2
call --key admin.key DELETE /v1/domains/smuggle0 >/dev/null 2>&1; rm -f images/smuggle0.qcow2

# ---- limits ----
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' 'a' > big
code=$(curl -s --cacert tls.crt -o body -w '%{http_code}' -H 'Content-Type: application/json' \
	--data-binary @big "$URL/v1/domains")
[ "$code" = 413 ] && grep -q body_too_large body && pass "1 MiB + 1 body: 413" || fail "big body ($code)"
head -c $((1024 * 1024)) big > max
# The gateway refuses an unsigned call from its headers and does not read the body: with
# Expect: 100-continue the refusal comes before the body is sent (without it curl may still be
# sending when the gateway closes, and sees a reset instead of the answer: 1 run in 30).
code=$(curl -s --cacert tls.crt -o body -w '%{http_code}' -H 'Expect: 100-continue' --data-binary @max "$URL/v1/domains")
[ "$code" = 401 ] && pass "1 MiB body: refused as unsigned" || fail "1 MiB body ($code)"
code=$(curl -s --cacert tls.crt -o body -w '%{http_code}' -H 'Transfer-Encoding: chunked' \
	-H 'Expect: 100-continue' --data-binary @big "$URL/v1/domains")
[ "$code" = 401 ] && pass "chunked 1 MiB + 1 body, unsigned: 401 from the headers alone" || fail "chunked big body ($code)"
vmseal-call --url "$URL" --key op.key --dry-run POST /v1/domains "$body" 2>req.txt >/dev/null
hdrs=()
while IFS= read -r line; do
	case "$line" in Content-Digest:*|Signature-Input:*|Signature:*) hdrs+=(-H "$line");; esac
done < req.txt
code=$(curl -s --cacert tls.crt -o body -w '%{http_code}' "${hdrs[@]}" -H 'Transfer-Encoding: chunked' \
	--data-binary @big "$URL/v1/domains")
[ "$code" = 413 ] && pass "chunked 1 MiB + 1 body under a valid signature: 413" || fail "signed chunked big body ($code)"
hargs=()
for i in $(seq 65); do hargs+=(-H "X-H$i: v"); done
code=$(curl -s --cacert tls.crt -o body -w '%{http_code}' "${hargs[@]}" "$URL/v1/domains")
[ "$code" = 431 ] && pass "65 header fields: 431" || fail "many headers ($code)"
code=$(curl -s --cacert tls.crt -o body -w '%{http_code}' -H "X-Long: $(head -c 8300 /dev/zero | tr '\0' b)" \
	"$URL/v1/domains")
[ "$code" = 431 ] && pass "a header field over 8 KiB: 431" || fail "long header ($code)"

# ---- TLS ----
curl -s --cacert tls.crt --tlsv1.2 --tls-max 1.2 -o /dev/null "$URL/healthz"
rc=$?
[ $rc != 0 ] && pass "TLS 1.2 client refused (curl exit $rc)" || fail "TLS 1.2 accepted"
echo | openssl s_client -connect 127.0.0.1:$port -tls1_3 -CAfile tls.crt 2>/dev/null | grep -q 'TLSv1.3' &&
	pass "TLS 1.3 handshake" || fail "TLS 1.3 handshake"

# ---- policy reload on SIGHUP: the viewer key is revoked ----
if [ -n "$gwpid" ]; then
	write_policy revoked
	kill -HUP "$gwpid"
	for _ in $(seq 50); do grep -q 'policy reloaded' gw.log && break; sleep 0.05; done
	expect_call "after SIGHUP the revoked viewer is refused" 1 key_refused --key viewer.key GET /v1/domains
	write_policy active
	kill -HUP "$gwpid"
	for _ in $(seq 50); do [ "$(grep -c 'policy reloaded' gw.log)" = 2 ] && break; sleep 0.05; done
	expect_call "after another SIGHUP it is back" 0 "" --key viewer.key GET /v1/domains
else
	skip "SIGHUP reload: gateway pid not found"
fi

# ---- the audit log ----
vmseal-audit verify audit.jsonl >out 2>err && pass "audit chain verifies: $(cat out)" || fail "audit verify: $(cat err)"
[ "$(grep -c '"decision":"deny"' audit.jsonl)" -ge 10 ] && pass "refusals are audited" || fail "deny events missing"
# who did what (issue 15 item 6)
a1=$(vmseal-key id admin.pub); a2=$(vmseal-key id admin2.pub)
grep '"event":"gateway.domains.destroy"' audit.jsonl | grep '"decision":"allow"' | grep -q "signers=$a1,$a2; client=127.0.0.1:[0-9]*\"" &&
	pass "audit: a quorum destroy names every verified signer and the client's address" ||
	fail "destroy signers: $(grep '"event":"gateway.domains.destroy"' audit.jsonl | grep allow)"
grep '"event":"gateway.domains.create"' audit.jsonl | grep '"decision":"info"' |
	grep -q "201 ok; changed: domain=web1 template=debian-12.qcow2 (debian-12) version=3 digest=$(vmseal-digest templates/debian-12.qcow2 | cut -d' ' -f1) overlay=" &&
	pass "audit: a create names the domain, template, version and digest" ||
	fail "create changed: $(grep '"event":"gateway.domains.create"' audit.jsonl | grep info | head -1)"
grep '"event":"gateway.domains.start"' audit.jsonl | grep '"decision":"info"' | grep -q 'changed: domain=web1 start' &&
	pass "audit: a start names its domain" || fail "start changed"
! grep '"decision":"deny"' audit.jsonl | grep -q "\"actor\":\"$a1\".*signature_invalid" &&
	pass "audit: a signature that does not verify never names its claimed keyid as actor" ||
	fail "claimed keyid logged as actor"

# ---- mutual TLS ----
start_gateway gwm.log --client-ca ca.crt
mport=$port
MURL=https://127.0.0.1:$mport
curl -s --cacert tls.crt -o /dev/null "$MURL/healthz"
rc=$?
[ $rc != 0 ] && pass "mTLS: no client certificate, handshake refused (curl exit $rc)" || fail "mTLS without cert accepted"
curl -s --cacert tls.crt --cert rogue.crt --key rogue.key -o /dev/null "$MURL/healthz"
rc=$?
[ $rc != 0 ] && pass "mTLS: certificate from another CA refused (curl exit $rc)" || fail "mTLS rogue cert accepted"
curl -s --cacert tls.crt --cert eku-serverAuth.crt --key eku-serverAuth.key -o /dev/null "$MURL/healthz"
rc=$?
[ $rc != 0 ] && pass "mTLS: certificate from the right CA with only the serverAuth EKU refused (curl exit $rc)" ||
	fail "mTLS serverAuth-only certificate accepted"
code=$(curl -s --cacert tls.crt --cert eku-clientAuth.crt --key eku-clientAuth.key -o /dev/null -w '%{http_code}' "$MURL/healthz")
[ "$code" = 200 ] && pass "mTLS: certificate with the clientAuth EKU accepted" || fail "mTLS clientAuth cert ($code)"
code=$(curl -s --cacert tls.crt --cert client.crt --key client.key -o /dev/null -w '%{http_code}' "$MURL/healthz")
[ "$code" = 200 ] && pass "mTLS: client certificate accepted" || fail "mTLS with cert ($code)"
vmseal-call --url "$MURL" --cacert tls.crt --cert client.crt --cert-key client.key --gateway-pub gwresp.pub \
	--key viewer.key GET /v1/domains >out 2>err && pass "mTLS: vmseal-call with a client certificate" ||
	fail "mTLS vmseal-call: $(cat err)"
grep '"event":"gateway.domains.list"' audit.jsonl | tail -1 | grep -q '; cert=\\"CN=alice\\""' &&
	pass "audit: under mTLS the client certificate's subject is named" ||
	fail "audit cert subject: $(grep '"event":"gateway.domains.list"' audit.jsonl | tail -1)"

# ---- command line ----
expect_rc "vmseal-gateway --version" 0 vmseal-gateway --version
grep -q "vmseal-gateway $VERSION" "$T/out" && pass "version string" || fail "version string"
expect_rc "vmseal-gateway --help" 0 vmseal-gateway --help
grep -q 'Exit status' "$T/out" && grep -q -- '--client-ca' "$T/out" && pass "gateway --help documents options" ||
	fail "gateway --help"
expect_err "vmseal-gateway without required options" "required" vmseal-gateway --listen 127.0.0.1:0
expect_err "vmseal-gateway with a missing policy" "policy|nope" vmseal-gateway --listen 127.0.0.1:0 \
	--tls-cert tls.crt --tls-key tls.key --policy nope.json --libvirt test:///default --response-key gwresp.key
expect_rc "vmseal-call --help" 0 vmseal-call --help
grep -q 'Exit status' "$T/out" && pass "call --help documents exit status" || fail "call --help"
expect_err "vmseal-call over http is refused" "https" vmseal-call --url http://127.0.0.1:1 --key viewer.key GET /
expect_err "vmseal-call to a closed port" "error" vmseal-call --url https://127.0.0.1:1 --key viewer.key \
	--cacert tls.crt GET /v1/domains
