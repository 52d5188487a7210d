#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# vmseal-gateway's replay defences under attack (issue 15 items 2, 3, 4), each against a real
# gateway over TLS 1.3: calls created too far ahead; a captured call replayed after a restart
# and after a wall-clock step forward and back (libfaketime, monotonic clock left alone);
# forbidden calls that would fill the replay cache; a key past its bound of live claims (429
# for it alone, in the process and in a Redis shared by two gateways); bodies of calls not yet
# authorized bounded in total (--preauth-memory); a Redis that could evict
# claims refused at start and at reconnect.
source "$(dirname "$0")/lib.sh"
for tool in openssl curl; do
	command -v $tool >/dev/null || { skip "gateway replay tests: $tool not installed"; exit 0; }
done
cd "$T"
umask 077
for k in viewer admin auditor gwresp; do vmseal-key generate --out $k --no-passphrase >/dev/null; done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.crt \
	-days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null
write_policy() { # $1: extra gateway fields
	{
		printf '{"version": 1, "enforce": true, "keys": [\n'
		vmseal-key policy-entry viewer.pub --owner dave --usage admin --role viewer; echo ,
		vmseal-key policy-entry admin.pub --owner alice --usage admin --role admin; echo ,
		vmseal-key policy-entry auditor.pub --owner erin --usage admin --role auditor
		printf '], "templates": [], "gateway": {"max_skew_s": 300, "max_validity_s": 300%s}}\n' "$1"
	} >policy.json
}
write_policy ""

# start_gateway LOG [OPTIONS]: sets $port and $gwpid; every gateway answers to replay.example
# (as behind a front end), so a call captured at one instance is valid at the next.
start_gateway() {
	local log=$1; shift
	"${PRE[@]}" vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key \
		--policy policy.json --libvirt test:///default --response-key gwresp.key \
		--audit-log "$T/audit.jsonl" --threads 2 --authority replay.example "$@" >/dev/null 2>"$log" &
	gwpid=$!
	cleanup_hooks+=("kill $gwpid 2>/dev/null; wait $gwpid 2>/dev/null")
	port=
	for _ in $(seq 300); do
		grep -q 'listening on' "$log" 2>/dev/null && break
		kill -0 $gwpid 2>/dev/null || break
		sleep 0.05
	done
	port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$log")
}
stop_gateway() { kill $gwpid 2>/dev/null; wait $gwpid 2>/dev/null; }
PRE=()
# capture KEY METHOD PATH [vmseal-call options]: a signed request for replay.example, kept in hdrs
capture() {
	local key=$1 method=$2 path=$3; shift 3
	vmseal-call --url https://replay.example --key "$key" --dry-run "$@" "$method" "$path" 2>req.txt >/dev/null
	hdrs=()
	while IFS= read -r line; do
		case "$line" in Signature-Input:*|Signature:*) hdrs+=(-H "$line");; esac
	done <req.txt
}
# send METHOD PATH: the captured request to the gateway; prints the status, body in ./body
send() {
	curl -s --cacert tls.crt -o body -w '%{http_code}' -X "$1" -H "Host: replay.example" "${hdrs[@]}" \
		"https://127.0.0.1:$port$2"
}
# signed KEY METHOD PATH [options]: capture and send at once
signed() { capture "$@"; send "$2" "$3"; }

# ---- item 3: created in the future, restarts ----
start_gateway gw.log
[ -n "$port" ] || { fail "gateway started: $(cat gw.log)"; exit 0; }
now=$(date +%s)
code=$(signed viewer.key GET /v1/domains --created $((now + 200)) --expires $((now + 260)))
[ "$code" = 401 ] && grep -q '"error":"clock_skew"' body && grep -q 'in the future (at most 2)' body &&
	pass "created 200 s in the future: 401 clock_skew (max_future_skew_s 2)" || fail "created +200 ($code): $(cat body)"
code=$(signed viewer.key GET /v1/domains --created $((now + 4)) --expires $((now + 60)))
[ "$code" = 401 ] && grep -q '"error":"clock_skew"' body &&
	pass "created 4 s in the future: 401 clock_skew" || fail "created +4 ($code): $(cat body)"
now=$(date +%s)
capture viewer.key GET /v1/domains --created $((now + 2)) --expires $((now + 60))
code=$(send GET /v1/domains)
[ "$code" = 200 ] && pass "created 2 s in the future: served" || fail "created +2 ($code): $(cat body)"
t_stop=$(date +%s)
stop_gateway
start_gateway gw2.log
[ -n "$port" ] || { fail "gateway restarted: $(cat gw2.log)"; exit 0; }
t_up=$(date +%s)
code=$(send GET /v1/domains)
[ "$code" = 401 ] && grep -q '"error":"signature_predates_start"' body &&
	pass "a call accepted before a restart, created in the future, replayed after it: 401 signature_predates_start" ||
	fail "replay after restart ($code): $(cat body)"
[ $((t_up - t_stop)) -le 6 ] && pass "restart took $((t_up - t_stop)) s (at most max_future_skew_s + the start mark's lease + 1 of waiting)" ||
	fail "restart took $((t_up - t_stop)) s"
code=$(signed viewer.key GET /v1/domains)
[ "$code" = 200 ] && pass "a fresh call after the restart: served" || fail "fresh call ($code): $(cat body)"
stop_gateway

# ---- restarts after which the old start rule (t_start + max_future_skew_s) was too early ----
# restart_replayed WHAT AUDIT AHEAD WAIT THEN: a call created AHEAD s ahead is served by a
# gateway started with ${PRE[@]} (its own audit log AUDIT, so its start mark too); THEN runs,
# the gateway restarts plainly, and the call sent again WAIT s after its capture (within its
# window by then) must be refused with 401 signature_predates_start. Log: gwrr2.log.
restart_replayed() {
	local what=$1 audit=$2 ahead=$3 wait=$4 then=$5 now
	start_gateway gwrr1.log --audit-log "$audit"
	PRE=()
	now=$(date +%s)
	capture viewer.key GET /v1/domains --created $((now + ahead)) --expires $((now + 60))
	code=$(send GET /v1/domains)
	[ "$code" = 200 ] && pass "$what: a call created $ahead s ahead is served" || fail "$what first ($code): $(cat body)"
	stop_gateway
	eval "$then"
	start_gateway gwrr2.log --audit-log "$audit"
	sleep $((now + wait - $(date +%s))).2 2>/dev/null
	code=$(send GET /v1/domains)
	[ "$code" = 401 ] && grep -q '"error":"signature_predates_start"' body &&
		pass "$what, restarted: the call replayed is refused (401 signature_predates_start)" ||
		fail "$what, replay after the restart ($code): $(cat body)"
	stop_gateway
}
# A call accepted under max_future_skew_s 10, created 6 s ahead; the gateway restarts with the
# default 2: t_start + 3 was before that call's created, so it was served again.
write_policy ', "max_future_skew_s": 10'
restart_replayed "max_future_skew_s lowered from 10 to 2" "$T/audit-skew.jsonl" 6 4 'write_policy ""'
grep -q 'a previous run may have accepted calls created until [0-9]*.*refusing those' gwrr2.log &&
	[ "$(grep -c 'previous run' gwrr2.log)" = 1 ] &&
	pass "restart with a lower max_future_skew_s: one log line names the start mark" || fail "start mark log: $(cat gwrr2.log)"
FT=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1
if [ -r "$FT" ]; then
	# The wall clock 10 s fast: a call created for it is served; the clock is set right and the
	# gateway restarts: t_start + 3 was again before that call's created.
	echo "+10" >ft
	PRE=(env LD_PRELOAD="$FT" FAKETIME_TIMESTAMP_FILE="$T/ft" FAKETIME_NO_CACHE=1
		FAKETIME_DONT_FAKE_MONOTONIC=1)
	restart_replayed "clock 10 s fast, then set back" "$T/audit-back.jsonl" 10 8 :
fi

# ---- item 3: a wall-clock step forward and back frees no claim ----
if [ -r "$FT" ]; then
	echo "+0" >ft
	PRE=(env LD_PRELOAD="$FT" FAKETIME_TIMESTAMP_FILE="$T/ft" FAKETIME_NO_CACHE=1
		FAKETIME_DONT_FAKE_MONOTONIC=1)
	start_gateway gw3.log --audit-log "$T/audit-step.jsonl" # its start mark is 1000 s ahead
	PRE=()
	if [ -n "$port" ]; then
		capture viewer.key GET /v1/domains
		first=("${hdrs[@]}")
		code=$(send GET /v1/domains)
		[ "$code" = 200 ] && pass "clock step: the captured call is served once" || fail "clock step first ($code): $(cat body)"
		echo "+1000" >ft
		sleep 0.3
		now=$(date +%s)
		# calls in the stepped time make the cache sweep (at most once a second)
		code=$(signed viewer.key GET /v1/domains --created $((now + 1000)) --expires $((now + 1060)))
		sleep 1.2
		code2=$(signed viewer.key GET /v1/domains --created $((now + 1001)) --expires $((now + 1060)))
		[ "$code" = 200 ] && [ "$code2" = 200 ] && pass "clock step: the gateway's wall clock +1000 s (calls signed for it served)" ||
			fail "clock step +1000 ($code $code2): $(cat body)"
		echo "+0" >ft
		sleep 0.3
		hdrs=("${first[@]}")
		code=$(send GET /v1/domains)
		[ "$code" = 401 ] && grep -q '"error":"replay"' body &&
			pass "clock step +1000 s and back: the captured call replayed is refused (401 replay)" ||
			fail "replay after a clock step ($code): $(cat body)"
		stop_gateway
	else
		fail "gateway under libfaketime started: $(cat gw3.log)"
	fi
else
	skip "clock step: libfaketime not installed"
fi

# ---- item 2: replay slots only for authorized calls, bounded per key ----
start_gateway gw4.log --replay-capacity 8
n403=0
for i in $(seq 10); do
	[ "$(signed auditor.key GET /v1/domains)" = 403 ] && n403=$((n403 + 1))
done
[ $n403 = 10 ] && pass "10 forbidden calls by a key without the role: 403 each" || fail "forbidden flood: $n403 of 10 got 403"
code=$(signed admin.key GET /v1/domains)
[ "$code" = 200 ] && pass "after 10 forbidden calls in a cache of 8 claims, an admin's call is served" ||
	fail "admin after a forbidden flood ($code): $(cat body)"
stop_gateway
write_policy ', "max_claims_per_key": 5'
start_gateway gw5.log --replay-capacity 100
ok=0
for i in $(seq 5); do [ "$(signed viewer.key GET /v1/domains)" = 200 ] && ok=$((ok + 1)); done
code=$(signed viewer.key GET /v1/domains)
[ $ok = 5 ] && [ "$code" = 429 ] && grep -q '"error":"too_many_claims"' body &&
	pass "a key past max_claims_per_key (5 live claims): 429 too_many_claims" || fail "per-key bound ($ok, $code): $(cat body)"
code=$(signed admin.key GET /v1/domains)
[ "$code" = 200 ] && pass "another key is still served while one is at its bound" || fail "other key ($code): $(cat body)"
grep -q '"decision":"deny","reason":"too many live claims: key' audit.jsonl &&
	pass "audit: the per-key refusal is logged" || fail "no too-many-claims audit event"
stop_gateway
write_policy ""
# ---- item 7: unauthenticated traffic is counted, not written line by line ----
start_gateway gw6.log --audit-log "$T/audit-junk.jsonl"
before=$(stat -c %s audit-junk.jsonl)
# 3000 junk requests on keep-alive connections: unsigned, with a garbage signature and a long
# attacker-chosen path, and a forgery that names the admin's keyid
"$PY" - "$port" "$(vmseal-key id admin.pub)" >junk.out <<'PYEOF'
import http.client, ssl, sys
port, kid = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile="tls.crt")
codes = {}
c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
junk = "x" * 200
for i in range(3000):
    h = {"Host": "replay.example"}
    path = "/v1/domains"
    if i % 3 == 1:
        h["Signature-Input"] = 'sig1=("@method");keyid="%s-%d"' % (junk, i)
        h["Signature"] = "sig1=:AAAA:"
        path = "/v1/domains/" + junk
    elif i % 3 == 2:
        h["Signature-Input"] = ('sig1=("@method" "@authority" "@path" "@query");created=%d;'
                                'expires=%d;nonce="n%d";keyid="%s"' % (2000000000 - 10, 2000000000, i, kid))
        h["Signature"] = "sig1=:" + "A" * 86 + "==:"
    c.request("GET", path, headers=h)
    r = c.getresponse(); r.read()
    codes[r.status] = codes.get(r.status, 0) + 1
print(codes)
PYEOF
stop_gateway
after=$(stat -c %s audit-junk.jsonl)
grep -q "^{401: 3000}" junk.out && pass "3000 junk requests: 401 each" || fail "junk answers: $(cat junk.out)"
growth=$((after - before))
[ "$growth" -le 4096 ] && pass "3000 junk requests added $growth bytes to the audit log (at most 4 KiB)" ||
	fail "3000 junk requests added $growth bytes"
grep -q '"actor":"anonymous","event":"gateway.unauthenticated","object":"client 127.0.0.1","decision":"deny","reason":"signature_missing: 1000 requests without a valid signature within 10 s"' audit-junk.jsonl &&
	pass "audit: one event counts the 1000 unsigned requests of the interval" || fail "count event: $(grep unauthenticated audit-junk.jsonl)"
grep -q "\"reason\":\"[a-z_]*: 1000 requests without a valid signature within 10 s; claimed_keyid=$(vmseal-key id admin.pub)\"" audit-junk.jsonl &&
	pass "audit: forgeries naming a policy key are counted with claimed_keyid, not as its actor" ||
	fail "claimed_keyid: $(grep unauthenticated audit-junk.jsonl)"
! grep -q "xxxxxxxxxx" audit-junk.jsonl && pass "audit: no attacker-chosen text from the junk" || fail "junk text in the log"
vmseal-audit verify audit-junk.jsonl >/dev/null 2>&1 && pass "audit chain intact after the junk" || fail "junk audit chain"

# ---- item 8: memory before authentication ----
# rss_flood N SIGNED: N connections each announce a body of 1 MiB - 1 and send it, all held open
# at once; prints the gateway's RSS growth (KiB) and the answers. SIGNED=1 sends the headers of
# a captured signed call (valid signature, the body does not match its Content-Digest).
rss_flood() {
	"$PY" - "$port" "$gwpid" "$1" "$2" hdrs.txt <<'PYEOF'
import socket, ssl, sys, time
port, pid, n, signed, hfile = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5]
def rss():
    for l in open("/proc/%s/status" % pid):
        if l.startswith("VmRSS:"):
            return int(l.split()[1])
ctx = ssl.create_default_context(cafile="tls.crt")
extra = open(hfile).read().replace("\n", "\r\n") if signed else ""
size = (1 << 20) - 1
head = ("POST /v1/domains HTTP/1.1\r\nHost: replay.example\r\nContent-Type: application/json\r\n"
        "Content-Length: %d\r\n%s\r\n" % (size, extra)).encode()
before = rss()
conns, answers = [], {}
for i in range(n):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20), server_hostname="127.0.0.1")
    s.sendall(head)
    conns.append(s)
chunk = b"a" * 65536
for s in conns:
    s.settimeout(0.5)
    sent = 0
    try:
        while sent < size - 1:  # all but the last byte: every body is in flight at once
            sent += s.send(chunk[: min(65536, size - 1 - sent)])
    except OSError:
        pass
time.sleep(0.5)
peak = rss()
def answer(s, t):
    try:
        s.settimeout(t)
        d = s.recv(200)
        return d.split(b" ")[1].decode() if d.startswith(b"HTTP/1.1 ") else "none"
    except OSError:
        return None
early = [answer(s, 0.05) for s in conns]  # refused before the body was read
for s, e in zip(conns, early):
    if e is None:
        try:
            s.send(b"a")
        except OSError:
            pass
for s, e in zip(conns, early):
    code = e if e is not None else (answer(s, 5) or "none")
    answers[code] = answers.get(code, 0) + 1
    s.close()
print(peak - before, answers)
PYEOF
}
start_gateway gw7.log --audit-log "$T/audit-mem.jsonl"
# Under ASan (make check SAN=1) freed memory sits in its quarantine and every allocation has
# redzones: RSS says nothing about the gateway there, so only the answers are checked.
san=0
case $BIN in *-san/*) san=1 ;; esac
rss_check() { # NAME GROW LIMIT_KIB ANSWERS
	if [ $san = 1 ]; then skip "$1: RSS not judged under ASan (quarantine, redzones)"; return; fi
	[ -n "$2" ] && [ "$2" -lt "$3" ] && pass "$1: RSS grew $(($2 / 1024)) MiB (under $(($3 / 1024)))" ||
		fail "$1: RSS grew ${2:-?} KiB ($4)"
}
read -r grow answers <<<"$(rss_flood 200 0)"
rss_check "200 unauthenticated connections with 1 MiB bodies (was ~300 MiB)" "$grow" 65536 "$answers"
echo "$answers" | grep -q "'401': 200" && pass "each was refused 401 from its headers" || fail "answers: $answers"
vmseal-call --url https://replay.example --key admin.key --dry-run POST /v1/domains '{"name":"m"}' 2>req.txt >/dev/null
grep -E '^(Content-Digest|Signature-Input|Signature):' req.txt >hdrs.txt
read -r grow answers <<<"$(rss_flood 100 1)"
rss_check "100 connections with 1 MiB bodies under one captured signature (bodies in flight bounded to 32 MiB)" "$grow" 81920 "$answers"
# the bodies that fit in the bound were read (and refused: their digest does not match); the
# others were cut with 503 busy while they were still being sent
n401=$(echo "$answers" | sed -n "s/.*'401': \([0-9]*\).*/\1/p")
[ -n "$n401" ] && [ "$n401" -le 33 ] && pass "at most 32 bodies of 1 MiB were taken in ($n401); the rest cut: $answers" ||
	fail "bodies taken in: $answers"
code=$(signed viewer.key GET /v1/domains)
[ "$code" = 200 ] && pass "a signed call is served after the body flood" || fail "after the flood ($code): $(cat body)"
stop_gateway
# --preauth-memory: the bound is the operator's; at 2 MiB, two bodies of 1 MiB fit at a time
for bad in 1048575 17179869185 12x " 5" +2097152 ""; do
	expect_err "--preauth-memory \"$bad\" refused (exit 2)" "bad --preauth-memory" vmseal-gateway \
		--listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json \
		--libvirt test:///default --response-key gwresp.key --audit-log "$T/audit-bad.jsonl" \
		--preauth-memory "$bad"
done
mkdir -p tpl img
start_gateway gw8.log --audit-log "$T/audit-mem.jsonl" --preauth-memory 2097152 \
	--template-dir "$T/tpl" --image-dir "$T/img"
if [ -n "$port" ]; then
	# a signature made after this start (one made before it is refused from the headers)
	vmseal-call --url https://replay.example --key admin.key --dry-run POST /v1/domains '{"name":"m"}' 2>req.txt >/dev/null
	grep -E '^(Content-Digest|Signature-Input|Signature):' req.txt >hdrs.txt
	read -r grow answers <<<"$(rss_flood 20 1)"
	n401=$(echo "$answers" | sed -n "s/.*'401': \([0-9]*\).*/\1/p")
	cut=$(echo "$answers" | "$PY" -c "import ast,sys; a=ast.literal_eval(sys.stdin.read()); print(sum(v for k, v in a.items() if k in ('503', 'none')))")
	[ -n "$n401" ] && [ "$n401" -ge 1 ] && [ "$n401" -le 2 ] && [ $((n401 + cut)) = 20 ] &&
		pass "--preauth-memory 2097152: 20 bodies of 1 MiB under one captured signature, $n401 taken in, the rest cut ($answers)" ||
		fail "--preauth-memory 2097152: $answers"
	pm='{"name":"pm1","template":"no-such-template","memory_mib":64,"vcpus":1}'
	vmseal-call --url https://replay.example --key admin.key --dry-run POST /v1/domains "$pm" 2>req.txt >/dev/null
	hdrs=()
	while IFS= read -r line; do
		case "$line" in Content-Digest:*|Signature-Input:*|Signature:*) hdrs+=(-H "$line");; esac
	done <req.txt
	code=$(curl -s --cacert tls.crt -o body -w '%{http_code}' -X POST -H "Host: replay.example" \
		-H "Content-Type: application/json" "${hdrs[@]}" --data-binary "$pm" "https://127.0.0.1:$port/v1/domains")
	[ "$code" = 404 ] && grep -q '"error":"not_found"' body &&
		pass "--preauth-memory 2097152: after the flood an authorized call with a body is taken in and judged (404 not_found)" ||
		fail "--preauth-memory: call with a body after the flood ($code): $(cat body)"
	code=$(signed viewer.key GET /v1/domains)
	[ "$code" = 200 ] && pass "--preauth-memory 2097152: a signed GET is served after the flood" ||
		fail "--preauth-memory: GET after the flood ($code): $(cat body)"
	stop_gateway
else
	fail "gateway with --preauth-memory 2097152 started: $(cat gw8.log)"
fi

# ---- item 4: a Redis that could evict claims is refused, at start and at reconnect ----
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
	rport=$((20000 + RANDOM % 20000))
	start_redis() { # POLICY
		redis-server --port $rport --bind 127.0.0.1 --save '' --appendonly no --dir "$T" \
			--logfile "$T/redis.log" --daemonize no --maxmemory 2mb --maxmemory-policy "$1" &
		rpid=$!
		for _ in $(seq 100); do redis-cli -p $rport ping >/dev/null 2>&1 && return 0; sleep 0.05; done
		return 1
	}
	stop_redis() { kill $rpid 2>/dev/null; wait $rpid 2>/dev/null; }
	cleanup_hooks+=("stop_redis")
	start_redis allkeys-lru || fail "redis-server did not start"
	timeout 20 vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json \
		--libvirt test:///default --response-key gwresp.key --audit-log "$T/audit-r.jsonl" \
		--replay-store "redis://127.0.0.1:$rport/2" >/dev/null 2>lru.log
	rc=$?
	[ $rc = 2 ] && grep -q 'maxmemory-policy is allkeys-lru, which may evict replay claims' lru.log &&
		pass "Redis with maxmemory-policy allkeys-lru: the gateway refuses to start (exit 2)" ||
		fail "allkeys-lru at start (exit $rc): $(cat lru.log)"
	redis-cli -p $rport config set maxmemory-policy volatile-ttl >/dev/null
	timeout 20 vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json \
		--libvirt test:///default --response-key gwresp.key --audit-log "$T/audit-r.jsonl" \
		--replay-store "redis://127.0.0.1:$rport/2" >/dev/null 2>ttl.log
	[ $? = 2 ] && grep -q 'maxmemory-policy is volatile-ttl' ttl.log &&
		pass "Redis with maxmemory-policy volatile-ttl (claims have a TTL): refused too" || fail "volatile-ttl: $(cat ttl.log)"
	stop_redis
	start_redis noeviction || fail "redis-server did not restart"
	start_gateway gwr.log --audit-log "$T/audit-r.jsonl" --replay-store "redis://127.0.0.1:$rport/2"
	capture viewer.key GET /v1/domains
	first=("${hdrs[@]}")
	code=$(send GET /v1/domains)
	[ "$code" = 200 ] && pass "Redis with noeviction: served" || fail "noeviction ($code): $(cat body) $(cat gwr.log)"
	# a flood of claims fills this Redis: with noeviction it refuses new claims, keeps old ones
	redis-cli -p $rport -n 2 eval "for i=1,40000 do redis.call('SET','vmseal:replay:flood:'..i,string.rep('x',64),'EX',300) end" 0 >/dev/null 2>&1
	hdrs=("${first[@]}")
	code=$(send GET /v1/domains)
	# (a full Redis refuses every write, even SET NX of a key it holds: 503, never served)
	{ [ "$code" = 401 ] && grep -q '"error":"replay"' body; } || { [ "$code" = 503 ] && grep -q replay_cache_unavailable body; } &&
		pass "after a flood fills Redis (noeviction), the captured call is not served again ($code)" ||
		fail "replay after a flood ($code): $(cat body)"
	[ "$(redis-cli -p $rport -n 2 --scan --pattern 'vmseal:replay:*' | grep -vc flood)" -ge 1 ] &&
		pass "the captured call's claim survived the flood" || fail "claim evicted by the flood"
	code=$(signed viewer.key GET /v1/domains)
	[ "$code" = 503 ] && pass "Redis full: a new claim fails closed (503)" || fail "Redis full ($code): $(cat body)"
	redis-cli -p $rport -n 2 flushdb >/dev/null
	# ---- Redis loses its claims (FLUSHDB, a restart without persistence): the gateway notices
	# (its sentinel vmseal:epoch is gone) and refuses every signature that may have been claimed
	# before; it used to carry on with an empty cache and serve a captured call again.
	code=$(signed viewer.key GET /v1/domains)
	[ "$code" = 503 ] && grep -q replay_cache_unavailable body &&
		pass "Redis flushed: the next claim finds its epoch gone and fails closed (503)" ||
		fail "claim after FLUSHDB ($code): $(cat body)"
	sleep 4.2 # past the loss + max_future_skew_s + the clock margin
	capture viewer.key GET /v1/domains
	lost=("${hdrs[@]}")
	code=$(send GET /v1/domains)
	[ "$code" = 200 ] && pass "after the loss window a fresh call is served" || fail "after FLUSHDB ($code): $(cat body)"
	stop_redis
	start_redis noeviction || fail "redis-server did not restart"
	hdrs=("${lost[@]}")
	code=$(send GET /v1/domains)
	code2=$(send GET /v1/domains)
	{ [ "$code" = 503 ] || [ "$code" = 401 ]; } && [ "$code2" = 401 ] &&
		grep -q '"error":"signature_predates_start"' body &&
		pass "Redis restarted without its claims: the captured call is not served again ($code, then 401 signature_predates_start)" ||
		fail "replay after a Redis restart ($code, $code2): $(cat body)"
	[ "$(grep -c 'Redis lost the replay claims' gwr.log)" = 2 ] &&
		pass "each loss of Redis's claims is logged in one line" || fail "loss log: $(cat gwr.log)"
	sleep 4.2
	code=$(signed viewer.key GET /v1/domains)
	[ "$code" = 200 ] && pass "after the restart's loss window a fresh call is served" || fail "after the restart ($code): $(cat body)"
	redis-cli -p $rport -n 2 flushdb >/dev/null
	# Redis comes back with an evicting policy: the gateway's reconnect refuses it
	stop_redis
	start_redis allkeys-lru || fail "redis-server did not restart"
	code=$(signed viewer.key GET /v1/domains)
	[ "$code" = 503 ] && grep -q 'maxmemory-policy is allkeys-lru' body &&
		pass "Redis back with allkeys-lru: the reconnect is refused, calls get 503 naming the policy" ||
		fail "allkeys-lru at reconnect ($code): $(cat body)"
	grep -q '"decision":"deny","reason":"replay cache unavailable: Redis maxmemory-policy is allkeys-lru' audit-r.jsonl &&
		pass "audit: the refused Redis is named" || fail "audit for the refused Redis: $(tail -2 audit-r.jsonl)"
	stop_gateway
	# A read whose claim goes to Redis is answered (and signed) during the round trip; when the
	# audit log then refuses the call, the signed read is dropped and 503 goes out. The test
	# build's audit-fsync-fail-idle fails the background fdatasync of the first call, and from then
	# on every append.
	redis-cli -p $rport -n 2 config set maxmemory-policy noeviction >/dev/null
	PRE=(env VMSEAL_FAULT=audit-fsync-fail-idle "PATH=$TESTBIN:$PATH")
	start_gateway gwf.log --audit-log "$T/audit-f.jsonl" --replay-store "redis://127.0.0.1:$rport/2"
	PRE=()
	code=$(signed viewer.key GET /v1/domains)
	[ "$code" = 200 ] && pass "audit fault: the first read is served" || fail "first read ($code): $(cat body) $(cat gwf.log)"
	sleep 0.5 # past AUDIT_GROUP_MAX_DELAY_MS: its fdatasync has failed
	code=$(signed viewer.key GET /v1/domains)
	[ "$code" = 503 ] && grep -q audit_unavailable body && ! grep -q '"domains"' body &&
		pass "a read with a pending Redis claim, the audit log failed: 503 audit_unavailable, the read not sent" ||
		fail "read after the audit failure ($code): $(cat body)"
	code=$(curl -s --cacert tls.crt -o /dev/null -w '%{http_code}' -H "Host: replay.example" "https://127.0.0.1:$port/healthz")
	kill -0 $gwpid 2>/dev/null && pass "the gateway still runs after it ($code from /healthz)" || fail "gateway gone: $(cat gwf.log)"
	stop_gateway
	stop_redis

	# ---- item 2 with --replay-store: the per-key bound holds in Redis, for the whole fleet ----
	# Two gateways share one Redis; claims live expires - now + 1 s on Redis's own clock (the
	# gateways' clocks do not expire them), so the calls expire 2 s after they are made.
	start_redis noeviction || fail "redis-server did not restart"
	write_policy ', "max_claims_per_key": 5'
	start_gateway gwb1.log --audit-log "$T/audit-r.jsonl" --replay-store "redis://127.0.0.1:$rport/4"
	port_a=$port pid_a=$gwpid
	start_gateway gwb2.log --audit-log "$T/audit-r.jsonl" --replay-store "redis://127.0.0.1:$rport/4"
	port_b=$port pid_b=$gwpid
	now=$(date +%s)
	ok=0
	for i in $(seq 5); do
		[ $((i % 2)) = 1 ] && port=$port_a || port=$port_b
		capture viewer.key GET /v1/domains --expires $((now + 2))
		[ $i = 1 ] && first=("${hdrs[@]}")
		[ "$(send GET /v1/domains)" = 200 ] && ok=$((ok + 1))
	done
	port=$port_a
	code=$(signed viewer.key GET /v1/domains --expires $((now + 2)))
	[ $ok = 5 ] && [ "$code" = 429 ] && grep -q '"error":"too_many_claims"' body &&
		pass "Redis: a key past max_claims_per_key (5 live claims over two gateways): 429 too_many_claims" ||
		fail "Redis per-key bound ($ok, $code): $(cat body)"
	port=$port_b
	code=$(signed viewer.key GET /v1/domains --expires $((now + 2)))
	[ "$code" = 429 ] && pass "Redis: the other gateway refuses that key too (the bound is shared)" ||
		fail "Redis per-key bound at the second gateway ($code): $(cat body)"
	code=$(signed admin.key GET /v1/domains)
	[ "$code" = 200 ] && pass "Redis: another key is still served while one is at its bound" ||
		fail "Redis other key ($code): $(cat body)"
	hdrs=("${first[@]}")
	code=$(send GET /v1/domains)
	[ "$code" = 401 ] && grep -q '"error":"replay"' body &&
		pass "Redis: a replay of a call of the key at its bound is still 401 replay" ||
		fail "Redis replay at the bound ($code): $(cat body)"
	live=$(redis-cli -p $rport -n 4 zcard "vmseal:live:$(vmseal-key id viewer.pub)")
	[ "$live" = 5 ] && pass "Redis: the refused claims were not written (5 live)" || fail "Redis live claims: $live"
	sleep $((now + 4 - $(date +%s)))
	code=$(signed viewer.key GET /v1/domains)
	[ "$code" = 200 ] && pass "Redis: once its claims expired (Redis's clock), the key is served again" ||
		fail "Redis bound after expiry ($code): $(cat body)"
	hdrs=("${first[@]}")
	code=$(send GET /v1/domains)
	[ "$code" = 401 ] && grep -q "expired at" body && pass "Redis: the expired captured call is refused: its signature expired" ||
		fail "Redis expired replay ($code): $(cat body)"
	grep -q '"decision":"deny","reason":"too many live claims: key' audit-r.jsonl &&
		pass "Redis: the per-key refusal is logged" || fail "Redis: no too-many-claims audit event"
	kill $pid_a $pid_b 2>/dev/null; wait $pid_a $pid_b 2>/dev/null
	write_policy ""

	# ---- gateways' clocks: a claim outlives the signature on every gateway sharing Redis ----
	# One gateway's wall clock 4 s ahead (libfaketime): it counted a claim's lifetime on its own
	# clock (expires - now + 1 s), so the claim ended 3 s before the signature did on a gateway
	# with the right time, which then served the captured call again.
	if [ -r "$FT" ]; then
		echo "+4" >ft
		PRE=(env LD_PRELOAD="$FT" FAKETIME_TIMESTAMP_FILE="$T/ft" FAKETIME_NO_CACHE=1
			FAKETIME_DONT_FAKE_MONOTONIC=1)
		start_gateway gwc1.log --audit-log "$T/audit-r.jsonl" --replay-store "redis://127.0.0.1:$rport/5"
		PRE=()
		port_a=$port pid_a=$gwpid
		start_gateway gwc2.log --audit-log "$T/audit-r.jsonl" --replay-store "redis://127.0.0.1:$rport/5"
		port_b=$port pid_b=$gwpid
		now=$(date +%s)
		capture viewer.key GET /v1/domains --created $((now + 4)) --expires $((now + 7))
		port=$port_a
		code_a=$(send GET /v1/domains)
		cp body body_a
		sleep $((now + 5 - $(date +%s))).3
		port=$port_b
		code_b=$(send GET /v1/domains)
		[ "$code_a" = 503 ] && grep -q "clock is more than 1 s off Redis" body_a &&
			pass "Redis: a gateway whose clock is 4 s ahead of Redis's claims nothing (503 naming the clock)" ||
			fail "Redis: gateway 4 s ahead ($code_a): $(cat body_a)"
		{ [ "$code_a" != 200 ] || [ "$code_b" != 200 ]; } &&
			pass "Redis: a call captured at a gateway 4 s ahead is not served again by one with the right time after the first's claim would have ended ($code_a, $code_b)" ||
			fail "Redis: captured call served twice across clocks ($code_a, $code_b)"
		code=$(send GET /v1/domains)
		[ "$code" = 401 ] && grep -q '"error":"replay"' body &&
			pass "Redis: at the gateway with the right time the call is served once, then 401 replay" ||
			fail "Redis: replay at the gateway with the right time ($code_b, $code): $(cat body)"
		kill $pid_a $pid_b 2>/dev/null; wait $pid_a $pid_b 2>/dev/null
	else
		skip "Redis clocks: libfaketime not installed"
	fi
	stop_redis
else
	skip "Redis eviction: redis-server not installed"
fi
vmseal-audit verify audit.jsonl >/dev/null 2>&1 && pass "audit chain intact" || fail "audit chain"
