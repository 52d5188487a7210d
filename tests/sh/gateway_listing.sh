#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A cold GET /v1/templates (every template hashed) does not hold a libmicrohttpd worker (#15):
# its connection is suspended and the listing runs on the gateway's deferred-call thread, so a
# signed GET /v1/domains sent while it hashes is answered first, even with one worker
# (--threads 1; before, that call waited for the whole listing). A second identical listing
# sent meanwhile shares the first one's run instead of waiting for its own; a SIGHUP during a
# listing swaps the policy after it and the listing completes; stopping the gateway during a
# listing answers it. A cached allow is listed no longer than its signing keys are valid.
source "$(dirname "$0")/lib.sh"
for tool in openssl; do
	command -v $tool >/dev/null || { skip "gateway listing: $tool not installed"; exit 0; }
done
cd "$T"
umask 077
for k in viewer pipeline gwresp; do vmseal-key generate --out $k --no-passphrase >/dev/null; done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.crt \
	-days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null
mkdir templates
truncate -s 640M templates/big.raw      # sparse: no disk, but a few hundred ms to hash
vmseal-sign --key pipeline.key --template big --template-version 1 --no-progress templates/big.raw >/dev/null
{
	printf '{"version": 1, "enforce": true, "keys": [\n'
	vmseal-key policy-entry pipeline.pub --owner pipeline --usage template; echo ,
	vmseal-key policy-entry viewer.pub --owner dave --usage admin --role viewer
	printf '], "templates": [{"match": "*", "keys": ["%s"]}]}\n' "$(vmseal-key id pipeline.pub)"
} >policy.json

# start_gateway: one worker thread, so that any call waiting on a busy worker would show.
start_gateway() {
	rm -f gw.log
	vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json \
		--libvirt test:///default --response-key gwresp.key --audit-log "$T/audit.jsonl" \
		--template-dir templates --threads 1 >/dev/null 2>gw.log &
	gwpid=$!
	cleanup_hooks+=("kill $gwpid 2>/dev/null; wait $gwpid 2>/dev/null")
	for _ in $(seq 300); do grep -q 'listening on' gw.log && break; sleep 0.05; done
	port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' gw.log)
}
start_gateway
[ -n "$port" ] || { fail "gateway started: $(cat gw.log)"; exit 0; }
call() { vmseal-call --url "https://127.0.0.1:$port" --cacert tls.crt --gateway-pub gwresp.pub "$@"; }
listed() { grep -c '"event":"gateway.templates.list".*"decision":"allow"' audit.jsonl 2>/dev/null; }
# wait_listed N: until N listings were authorized (each is logged before it runs).
wait_listed() { for _ in $(seq 500); do [ "$(listed)" -ge "$1" ] && return 0; sleep 0.01; done; return 1; }
# list_bg NAME: a listing in the background (its pid added to $bg); NAME.done gets the time it
# was answered.
bg=
list_bg() {
	(call --key viewer.key GET /v1/templates >"$1.out" 2>"$1.err"; echo $? >"$1.rc"; date +%s%N >"$1.done") &
	bg="$bg $!"
}
wait_bg() { for p in $bg; do wait "$p"; done; bg=; }
cold() { touch templates/big.raw; } # a new ctime: the cached verdict no longer applies

# 1. Another signed call during a cold listing is answered before the listing.
expect_rc "warm-up call" 0 call --key viewer.key GET /v1/domains
n=$(listed)
cold
list_bg l1
wait_listed $((n + 1)) || fail "the listing was never authorized"
call --key viewer.key GET /v1/domains >dom.out 2>dom.err; dom_rc=$?; dom_done=$(date +%s%N)
wait_bg
[ "$dom_rc" = 0 ] && grep -q '"name":"test"' dom.out && pass "GET /v1/domains during a cold listing: answered" \
	|| fail "GET /v1/domains during the listing (exit $dom_rc): $(cat dom.out dom.err)"
[ "$(cat l1.rc)" = 0 ] && grep -q '"file":"big.raw".*"decision":"allow","cached":false' l1.out \
	&& pass "the cold listing: 200, big.raw hashed and allowed" || fail "cold listing: $(cat l1.out l1.err)"
[ "$dom_done" -lt "$(cat l1.done)" ] \
	&& pass "GET /v1/domains answered $(( ($(cat l1.done) - dom_done) / 1000000 )) ms before the cold listing, on the same (only) worker" \
	|| fail "GET /v1/domains waited for the cold listing ($(( (dom_done - $(cat l1.done)) / 1000000 )) ms after it)"

# 2. A second identical listing during a cold one shares its run: its answer is the first
# one's (cached false: not from the cache, which a listing run after the first would use).
n=$(listed)
cold
list_bg l2
wait_listed $((n + 1)) || fail "listing 2 never authorized"
list_bg l3
wait_listed $((n + 2)) || fail "listing 3 never authorized"
running=0; [ -e l2.done ] || running=1
wait_bg
[ "$(cat l2.rc)" = 0 ] && [ "$(cat l3.rc)" = 0 ] && grep -q '"cached":false' l2.out && grep -q '"cached":false' l3.out \
	&& pass "two identical listings during one cold run: both answered from that run" \
	|| { [ "$running" = 0 ] && skip "identical listings: the first was done before the second arrived (busy machine)" \
	     || fail "identical listings: $(cat l2.out l2.err l3.out l3.err)"; }

# 3. A SIGHUP during a listing: the listing holds the policy it runs under (read lock), the swap
# comes after it, the listing is answered and the gateway stays up.
n=$(listed)
cold
list_bg l4
wait_listed $((n + 1)) || fail "listing 4 never authorized"
kill -HUP $gwpid
wait_bg
[ "$(cat l4.rc)" = 0 ] && grep -q '"decision":"allow"' l4.out && pass "listing during a SIGHUP reload: answered" \
	|| fail "listing during SIGHUP: $(cat l4.out l4.err)"
for _ in $(seq 100); do grep -q 'policy reloaded' gw.log && break; sleep 0.05; done
grep -q 'policy reloaded' gw.log && kill -0 $gwpid 2>/dev/null && pass "policy reloaded, same gateway" \
	|| fail "reload: $(tail -3 gw.log)"
expect_rc "a call after the reload" 0 call --key viewer.key GET /v1/domains

# 4. SIGTERM during a listing: the listing's connection is answered (or closed), the gateway
# exits 0 without waiting for ever (a suspended connection must be resumed before the daemon
# stops).
n=$(listed)
cold
list_bg l5
wait_listed $((n + 1)) || fail "listing 5 never authorized"
kill -TERM $gwpid
for _ in $(seq 200); do kill -0 $gwpid 2>/dev/null || break; sleep 0.05; done
if kill -0 $gwpid 2>/dev/null; then fail "the gateway did not stop during a listing"; else
	wait $gwpid; rc=$?
	[ $rc = 0 ] && pass "SIGTERM during a listing: the gateway stopped (exit 0)" || fail "stop during a listing: exit $rc: $(tail -3 gw.log)"
fi
wait_bg
vmseal-audit verify audit.jsonl >/dev/null && pass "audit chain intact" || fail "audit chain"

# 5. A listed allow is cached no longer than the keys that signed it are valid: the listing
# said "allow" (cached) for up to 5 minutes after the signing key's not_after, where the hook
# and vmseal-verify deny (its cache is bounded by the attestation's expiry alone).
vmseal-key generate --out shortkey --no-passphrase >/dev/null
mkdir templates5
truncate -s 1M templates5/small.raw
vmseal-sign --key shortkey.key --template small --template-version 1 --no-progress templates5/small.raw >/dev/null
end5=$(( $(date +%s) + 7 )) # the gateway waits 3 s at start
{
	printf '{"version": 1, "enforce": true, "keys": [\n'
	vmseal-key policy-entry shortkey.pub --owner pipeline --usage template \
		--not-after "$(date -u -d @$end5 +%Y-%m-%dT%H:%M:%SZ)"; echo ,
	vmseal-key policy-entry viewer.pub --owner dave --usage admin --role viewer
	printf '], "templates": [{"match": "*", "keys": ["%s"]}]}\n' "$(vmseal-key id shortkey.pub)"
} >policy5.json
rm -f gw.log
vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy5.json \
	--libvirt test:///default --response-key gwresp.key --audit-log "$T/audit5.jsonl" \
	--template-dir templates5 --threads 1 >/dev/null 2>gw.log &
gwpid=$!
cleanup_hooks+=("kill $gwpid 2>/dev/null; wait $gwpid 2>/dev/null")
for _ in $(seq 300); do grep -q 'listening on' gw.log && break; sleep 0.05; done
port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' gw.log)
call --key viewer.key GET /v1/templates >l6.out 2>l6.err
grep -q '"file":"small.raw".*"decision":"allow"' l6.out && pass "a template signed by a key valid for a few seconds more: listed allow" \
	|| fail "listing before not_after: $(cat l6.out l6.err)"
sleep $((end5 + 2 - $(date +%s)))
call --key viewer.key GET /v1/templates >l7.out 2>l7.err
grep -q '"file":"small.raw".*"decision":"deny".*key expired at' l7.out \
	&& pass "once its signing key's not_after passed, the cached allow is not listed: deny (key expired)" \
	|| fail "listing after not_after: $(cat l7.out l7.err)"
kill $gwpid 2>/dev/null; wait $gwpid 2>/dev/null
vmseal-audit verify audit5.jsonl >/dev/null && pass "audit chain intact (not_after gateway)" || fail "audit chain (not_after gateway)"

