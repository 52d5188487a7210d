#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Policy reload on SIGHUP (what `systemctl reload vmseal-gateway` sends) without dropping calls:
# a viewer's slow call (GET /v1/templates hashing a 1.5 GiB template) is in flight when the
# policy revoking that viewer is installed and SIGHUP sent. The call in flight completes under
# the old policy (200, signed response), the swap happens after it, the gateway keeps its pid
# and connections, and the viewer's next call is refused while other keys still work.
source "$(dirname "$0")/lib.sh"
for tool in openssl; do
	command -v $tool >/dev/null || { skip "gateway reload: $tool not installed"; exit 0; }
done
cd "$T"
umask 077
for k in viewer op pipeline gwresp; do vmseal-key generate --out $k --no-passphrase >/dev/null; done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.crt \
	-days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null
mkdir templates images
truncate -s 1500M templates/big.raw      # sparse: costs no disk, takes a second or more to hash
vmseal-sign --key pipeline.key --template big --template-version 1 --no-progress templates/big.raw >/dev/null

write_policy() { # $1: status of the viewer key
	{
		printf '{"version": 1, "enforce": true, "keys": [\n'
		vmseal-key policy-entry pipeline.pub --owner pipeline --usage template; echo ,
		vmseal-key policy-entry viewer.pub --owner dave --usage admin --role viewer --status "$1"; echo ,
		vmseal-key policy-entry op.pub --owner carol --usage admin --role operator
		printf '], "templates": [{"match": "*", "keys": ["%s"]}]}\n' "$(vmseal-key id pipeline.pub)"
	} >policy.json.new && mv policy.json.new policy.json
}
write_policy active

vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json \
	--libvirt test:///default --response-key gwresp.key --audit-log "$T/audit.jsonl" \
	--template-dir templates --image-dir images --threads 2 >/dev/null 2>gw.log &
gwpid=$!
cleanup_hooks+=("kill $gwpid 2>/dev/null; wait $gwpid 2>/dev/null")
for _ in $(seq 300); do grep -q 'listening on' gw.log && break; sleep 0.05; done
port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' gw.log)
[ -n "$port" ] || { fail "gateway started: $(cat gw.log)"; exit 0; }
call() { vmseal-call --url "https://127.0.0.1:$port" --cacert tls.crt --gateway-pub gwresp.pub "$@"; }

expect_rc "viewer allowed before the reload" 0 call --key viewer.key GET /v1/domains

# The slow call goes in flight; wait until the gateway has authorized it (its allow event).
call --key viewer.key GET /v1/templates >slow.out 2>slow.err &
slow=$!
for _ in $(seq 200); do
	grep -q '"event":"gateway.templates.list".*"decision":"allow"' audit.jsonl 2>/dev/null && break
	sleep 0.02
done
if kill -0 $slow 2>/dev/null; then
	pass "GET /v1/templates in flight"
else
	fail "the slow call finished before the reload: the test proves nothing ($(cat slow.err))"
fi
write_policy revoked
kill -HUP $gwpid
t_hup=$(date +%s.%N)
wait $slow
rc=$?
[ $rc = 0 ] && grep -q '"file":"big.raw".*"decision":"allow"' slow.out \
	&& pass "the call in flight completed (200, verified response)" \
	|| fail "in-flight call (exit $rc): $(head -c 300 slow.out) $(head -c 300 slow.err)"
for _ in $(seq 100); do grep -q 'policy reloaded' gw.log && break; sleep 0.05; done
grep -q 'policy reloaded' gw.log && pass "SIGHUP reloaded the policy" || fail "no reload: $(cat gw.log)"
# In the chain the call was authorized under the old policy, before the reload.
allow_seq=$(grep -n '"event":"gateway.templates.list"' audit.jsonl | head -1 | cut -d: -f1)
reload_seq=$(grep -n '"event":"gateway.policy.reload"' audit.jsonl | head -1 | cut -d: -f1)
[ -n "$allow_seq" ] && [ -n "$reload_seq" ] && [ "$allow_seq" -lt "$reload_seq" ] \
	&& pass "audit: the call (line $allow_seq) before the reload (line $reload_seq)" \
	|| fail "audit order: call $allow_seq, reload $reload_seq"

expect_rc "revoked viewer refused on the next call" 1 call --key viewer.key GET /v1/domains
grep -q 'key_refused\|revoked' out err && pass "refusal names the revoked key" || fail "refusal: $(cat out err)"
expect_rc "operator still served after the reload" 0 call --key op.key GET /v1/domains
kill -0 $gwpid 2>/dev/null && pass "same gateway process (pid $gwpid) after SIGHUP" || fail "gateway died"

# A policy that does not load is not swapped in: the last good one stays.
echo '{"version": 1, "keys": [' >policy.json
kill -HUP $gwpid
for _ in $(seq 100); do grep -q 'policy not reloaded' gw.log && break; sleep 0.05; done
grep -q 'policy not reloaded' gw.log && pass "a broken policy is refused on SIGHUP" || fail "broken policy: $(tail -2 gw.log)"
expect_rc "operator still served under the last good policy" 0 call --key op.key GET /v1/domains
expect_rc "viewer still refused under the last good policy" 1 call --key viewer.key GET /v1/domains
vmseal-audit verify audit.jsonl >/dev/null && pass "audit chain intact" || fail "audit chain"
