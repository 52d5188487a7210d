#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Two gateway replicas sharing a Redis replay cache (real redis-server on loopback): a request
# captured at one replica is refused at the other; Redis down → 503 (fail closed), back → served.
# Control: with the default in-process caches, the same cross-replica replay is accepted.
source "$(dirname "$0")/lib.sh"
for tool in redis-server redis-cli openssl curl; do
	command -v $tool >/dev/null || { skip "fleet tests: $tool not installed"; exit 0; }
done
cd "$T"
umask 077
for k in viewer gwresp; do vmseal-key generate --out $k --no-passphrase >/dev/null; done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.crt \
	-days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null
{
	printf '{"version": 1, "keys": [\n'
	vmseal-key policy-entry viewer.pub --usage admin --role viewer
	printf '], "templates": []}\n'
} > policy.json

rport=$((20000 + RANDOM % 20000))
start_redis() {
	redis-server --port $rport --bind 127.0.0.1 --save '' --appendonly no --dir "$T" \
		--logfile "$T/redis.log" --daemonize no &
	rpid=$!
	for _ in $(seq 100); do redis-cli -p $rport ping >/dev/null 2>&1 && return 0; sleep 0.05; done
	return 1
}
stop_redis() { kill $rpid 2>/dev/null; wait $rpid 2>/dev/null; }
cleanup_hooks+=("stop_redis")
start_redis || { fail "redis-server did not start"; exit 1; }

pids=()
# Replicas behind one front end share its name (mgmt.example, port 443) and each answers to its
# own address too; the front end is emulated by sending Host: mgmt.example.
next_port=$((20000 + (RANDOM + 1000) % 20000))
start_gateway() { # NAME [OPTIONS]: sets port_NAME
	local name=$1; shift
	next_port=$((next_port + 1))
	vmseal-gateway --listen 127.0.0.1:$next_port --tls-cert tls.crt --tls-key tls.key --policy policy.json \
		--libvirt test:///default --response-key gwresp.key --audit-log "$T/audit-$name.jsonl" \
		--authority mgmt.example --authority 127.0.0.1:$next_port \
		--threads 2 "$@" >/dev/null 2>"$name.log" &
	pids+=($!)
	cleanup_hooks+=("kill $! 2>/dev/null; wait $! 2>/dev/null")
	for _ in $(seq 300); do grep -q 'listening on' "$name.log" 2>/dev/null && break; sleep 0.05; done
	eval "port_$name=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$name.log")"
}
# capture: sign a GET /v1/domains for the front end's name, keep the headers
capture() {
	vmseal-call --url "https://mgmt.example" --key viewer.key --dry-run GET /v1/domains 2>req.txt >/dev/null
	hdrs=()
	while IFS= read -r line; do
		case "$line" in Signature-Input:*|Signature:*) hdrs+=(-H "$line");; esac
	done < req.txt
}
# send PORT: the captured request to a replica, as if through the front end
send() {
	curl -s --cacert tls.crt -o body -w '%{http_code}' -H "Host: mgmt.example" "${hdrs[@]}" \
		"https://127.0.0.1:$1/v1/domains"
}

# --- control: in-process caches do not see each other's claims
start_gateway m1; start_gateway m2
capture
[ "$(send $port_m1)" = 200 ] && pass "control: captured request served by replica 1" || fail "control m1: $(cat body)"
[ "$(send $port_m2)" = 200 ] && pass "control: without a shared cache, replica 2 accepts the replay" ||
	fail "control m2 ($(cat body))"

# --- shared cache in Redis
start_gateway a --replay-store "redis://127.0.0.1:$rport/3"
start_gateway b --replay-store "redis://127.0.0.1:$rport/3"
[ -n "$port_a" ] && [ -n "$port_b" ] && pass "two replicas with --replay-store" || { fail "replicas: $(cat a.log b.log)"; exit 1; }
capture
code=$(send $port_a)
[ "$code" = 200 ] && pass "request served by replica A" || fail "replica A ($code): $(cat body)"
code=$(send $port_b)
[ "$code" = 401 ] && grep -q '"error":"replay"' body && pass "the same request replayed to replica B: 401 replay" ||
	fail "replay to B ($code): $(cat body)"
# A remote store's claims are answered while the read runs: the refused replay must carry none
# of its data, and be logged as denied, never as allowed.
grep -q '"domains"' body && fail "the replay's 401 leaks the domain list: $(cat body)" ||
	pass "the replay's 401 carries no domain data"
grep '"event":"gateway.domains.list"' audit-b.jsonl | grep -q '"decision":"allow"' &&
	fail "replica B logged the replay as allowed" || pass "replica B did not log the replay as allowed"
# counted, per client and key: one gateway.replay event per interval (10 s), not one per copy
for _ in $(seq 130); do grep -q '"event":"gateway.replay"' audit-b.jsonl && break; sleep 0.1; done
grep '"event":"gateway.replay"' audit-b.jsonl | grep '"decision":"deny"' |
	grep -q "\"actor\":\"anonymous\".*replay: 1 copy of signed calls already accepted, within 10 s; keyid=$(vmseal-key id viewer.pub)" &&
	pass "replica B counted the replay as denied (one copy, its key named, not as its actor)" || fail "no replay event: $(cat audit-b.jsonl)"
code=$(send $port_a)
[ "$code" = 401 ] && pass "replayed to replica A again: 401" || fail "replay to A ($code)"
[ "$(redis-cli -p $rport -n 3 --scan --pattern 'vmseal:replay:*' | wc -l)" -ge 1 ] &&
	pass "claims live in Redis db 3" || fail "no claims in Redis"
ttl=$(redis-cli -p $rport -n 3 ttl "$(redis-cli -p $rport -n 3 --scan --pattern 'vmseal:replay:*' | head -1)")
[ "$ttl" -gt 0 ] && [ "$ttl" -le 62 ] && pass "claims expire with the signature (ttl $ttl s)" || fail "ttl $ttl"

# --- Redis down: fail closed; back: served
stop_redis
expect_rc "Redis down: signed call refused" 2 vmseal-call --url "https://127.0.0.1:$port_b" --cacert tls.crt \
	--gateway-pub gwresp.pub --key viewer.key GET /v1/domains
grep -q 'replay_cache_unavailable' out err && pass "Redis down: 503 replay_cache_unavailable" || fail "503: $(cat out err)"
grep -q 'replay cache' audit-b.jsonl && pass "Redis down: refusal is an audit event" || fail "no audit event"
curl -s --cacert tls.crt -o /dev/null -w '%{http_code}' "https://127.0.0.1:$port_b/healthz" | grep -q 200 &&
	pass "Redis down: /healthz still answers" || fail "healthz"
start_redis || fail "redis restart"
sleep 0.4
# Redis came back without its claims (no persistence): the gateway notices the loss and
# refuses, for max_future_skew_s + 2 s, what may have been claimed before it
vmseal-call --url "https://127.0.0.1:$port_a" --cacert tls.crt --gateway-pub gwresp.pub --key viewer.key \
	GET /v1/domains >/dev/null 2>&1
sleep 4.2
expect_rc "Redis back: signed call served" 0 vmseal-call --url "https://127.0.0.1:$port_a" --cacert tls.crt \
	--gateway-pub gwresp.pub --key viewer.key GET /v1/domains
expect_err "malformed --replay-store refused at start" "redis://" vmseal-gateway --listen 127.0.0.1:0 \
	--tls-cert tls.crt --tls-key tls.key --policy policy.json --libvirt test:///default \
	--response-key gwresp.key --audit-log "$T/x.jsonl" --replay-store http://nope

# --- a Redis with a password: read from a file, never from the command line
stop_redis
secret=s3cr3t-$RANDOM-pw
redis-server --port $rport --bind 127.0.0.1 --save '' --appendonly no --dir "$T" --requirepass "$secret" \
	--logfile "$T/redis.log" --daemonize no &
rpid=$!
for _ in $(seq 100); do redis-cli -p $rport -a "$secret" --no-auth-warning ping >/dev/null 2>&1 && break; sleep 0.05; done
printf '%s\n' "$secret" >redis.pass; chmod 0640 redis.pass
start_gateway pw --replay-store "redis://127.0.0.1:$rport/4" --replay-store-password-file "$T/redis.pass"
[ -n "$port_pw" ] && pass "gateway with --replay-store-password-file started" || fail "password file: $(cat pw.log)"
expect_rc "Redis with a password from a file: signed call served" 0 vmseal-call --url "https://127.0.0.1:$port_pw" \
	--cacert tls.crt --gateway-pub gwresp.pub --key viewer.key GET /v1/domains
[ "$(redis-cli -p $rport -a "$secret" --no-auth-warning -n 4 --scan --pattern 'vmseal:replay:*' | wc -l)" -ge 1 ] &&
	pass "the claim reached the password-protected Redis" || fail "no claim in db 4"
pwpid=${pids[-1]}
! tr '\0' ' ' </proc/$pwpid/cmdline | grep -q "$secret" && pass "the password is not in /proc/PID/cmdline" ||
	fail "password in the command line"
start_gateway nopw --replay-store "redis://127.0.0.1:$rport/4"
expect_rc "Redis password missing: signed call refused (fail closed)" 2 vmseal-call --url "https://127.0.0.1:$port_nopw" \
	--cacert tls.crt --gateway-pub gwresp.pub --key viewer.key GET /v1/domains
chmod 0644 redis.pass
expect_err "a password file others may read is refused" "redis.pass: password file mode 0644" vmseal-gateway \
	--listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json --libvirt test:///default \
	--response-key gwresp.key --audit-log "$T/x.jsonl" --replay-store "redis://127.0.0.1:$rport/4" \
	--replay-store-password-file "$T/redis.pass"
chmod 0640 redis.pass
expect_err "a password in the URL and a password file: refused" "carries a password" vmseal-gateway \
	--listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json --libvirt test:///default \
	--response-key gwresp.key --audit-log "$T/x.jsonl" --replay-store "redis://:x@127.0.0.1:$rport/4" \
	--replay-store-password-file "$T/redis.pass"

for p in "${pids[@]}"; do kill -0 $p 2>/dev/null || fail "gateway $p crashed"; done
pass "no replica crashed"
