#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The host's trust state (issue #14 items 2, 3, 4): trust.state remembers the highest policy
# version and the root's version, so copying an old bundle back, delete-then-install of an old
# one, or removing root.json are refused by every reader (vmseal-verify, the hook, the gateway);
# bundles expire; root.json rotates only as version N+1 signed by root N and by itself (TUF).
# All in temp dirs: the state lives beside the test's policy (etc/trust.state).
source "$(dirname "$0")/lib.sh"
cd "$T"
umask 022
mkp() { "$PY" "$top/tests/mkpolicy.py" "$@"; }
for k in r1 r2 r3 tk; do vmseal-key generate --out $k --no-passphrase >/dev/null; done
vmseal-key policy-entry tk.pub > tk.entry
head -c 100000 /dev/urandom > img
vmseal-sign --key tk.key --template debian-12 --template-version 1 img >/dev/null
digest=$(vmseal-digest img | cut -d' ' -f1)
R='[{"match":"debian-*","keys":["@tk"]}]'
mkp pol1.json "$R" '{"version":1}' tk=tk.entry
mkp pol2.json "$R" '{"version":2}' tk=tk.entry
mkp pol3.json "$R" "{\"version\":3,\"revoked_digests\":[\"$digest\"]}" tk=tk.entry
for v in 1 2 3; do vmseal-policy sign --key r1.key -o b$v.json pol$v.json >/dev/null; done
vmseal-policy root --threshold 1 -o root.json r1.pub >/dev/null
mkdir etc
verify() { vmseal-verify --policy etc/policy.json img; }

# ---- the first root and installs record the state
expect_rc "install-root: the first root of trust (plain root.json) is installed" 0 \
	vmseal-policy install-root --policy etc/policy.json root.json
for v in 1 2 3; do vmseal-policy install --policy etc/policy.json b$v.json >/dev/null || fail "install b$v"; done
[ "$(stat -c %a etc/trust.state)" = 644 ] && pass "trust.state is written 0644 (root writes, the gateway's user reads)" || fail "trust.state mode $(stat -c %a etc/trust.state)"
grep -q '"policy_version": *3' etc/trust.state && grep -q '"root_version": *1' etc/trust.state &&
	pass "trust.state holds policy version 3 and root version 1" || fail "trust.state: $(cat etc/trust.state)"
expect_deny "version 3 revokes the image's digest" "revoked" verify

# ---- item 2: rollback by copying an old signed bundle back, or by delete-then-install
cp b1.json etc/policy.json
expect_err "vmseal-verify: an old signed bundle copied over policy.json is refused (the revoked digest stays revoked)" \
	"policy version 1 is older than the installed version 3 \(rollback" verify
cat > hook.conf <<CONF
policy = $T/etc/policy.json
audit_log = $T/audit.jsonl
cache_dir = $T/cache
CONF
sed "s|@DIR@|$T|g" "$top/tests/data/xml/web1-prepare-begin.xml" > dom.xml
hook() { vmseal-hook --config "$T/hook.conf" web1 prepare begin - < dom.xml; }
hook >out 2>err; rc=$?
[ $rc != 0 ] && grep -q "policy version 1 is older than the installed version 3 (rollback" err &&
	pass "hook: an old bundle copied back denies the start" || fail "hook with an old bundle: exit $rc: $(head -c 300 err)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.crt \
	-days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null
vmseal-key generate --out gwresp --no-passphrase >/dev/null
gateway() { timeout 20 vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key \
	--policy etc/policy.json --libvirt test:///default --response-key gwresp.key --audit-log "$T/gw.jsonl" "$@"; }
gateway >gw.out 2>gw.err; rc=$?
[ $rc = 2 ] && grep -q "older than the installed version 3 (rollback" gw.err &&
	pass "gateway: refuses to start on an old bundle copied back" || fail "gateway start on an old bundle: exit $rc: $(head -c 300 gw.err)"
rm etc/policy.json
expect_deny "delete-then-install of version 1 refused" "rollback refused: bundle version 1 is not newer than installed version 3" \
	vmseal-policy install --policy etc/policy.json b1.json
[ ! -e etc/policy.json ] && pass "the refused install wrote nothing" || fail "policy written"
cp b3.json etc/policy.json
# the gateway reloads on SIGHUP: an old bundle copied in is not taken
vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy etc/policy.json \
	--libvirt test:///default --response-key gwresp.key --audit-log "$T/gw.jsonl" >gw.out 2>gw.err & gwpid=$!
cleanup_hooks+=("kill $gwpid 2>/dev/null")
for _ in $(seq 100); do grep -q 'listening on' gw.err 2>/dev/null && break; sleep 0.05; done
cp b1.json etc/policy.json
kill -HUP $gwpid
for _ in $(seq 100); do grep -q 'policy not reloaded' gw.err 2>/dev/null && break; sleep 0.05; done
grep -q "SIGHUP: policy not reloaded: .*older than the installed version 3 (rollback" gw.err &&
	pass "gateway: SIGHUP does not reload an old bundle" || fail "gateway reload: $(tail -c 300 gw.err)"
kill $gwpid 2>/dev/null; wait $gwpid 2>/dev/null || true
cp b3.json etc/policy.json

# the state itself must be trustworthy, and it is found for other paths only when named
chmod 0666 etc/trust.state
expect_err "a trust.state writable by others is refused" "writable by others" verify
chmod 0644 etc/trust.state
mkdir own && cp b1.json own/policy.json && cp root.json own/
mkdir home && cp pol1.json home/policy.json
expect_rc "a policy of one's own elsewhere (no trust.state beside it) verifies" 0 \
	vmseal-verify --policy home/policy.json img
expect_rc "an old bundle in another directory has its own (absent) state" 0 vmseal-verify --policy own/policy.json img
expect_err "vmseal-verify --trust-state applies the host's state to any path" "older than the installed version 3" \
	vmseal-verify --policy own/policy.json --trust-state etc/trust.state img
echo '{"format": "vmseal-trust-state-v1", "policy_version": 3, "root_version": 1, "x": 1}' > bad.state
chmod 0644 bad.state
expect_err "a trust.state with an unknown field is refused" "unknown field" vmseal-verify --policy pol1.json --trust-state bad.state img

# ---- item 4: the root of trust fails closed and rotates
mv etc/root.json root.saved
cp pol3.json etc/policy.json
expect_err "root.json removed: a plain policy is still refused" "a root of trust \(version 1\) was installed .* is gone" verify
cp root.saved etc/root.json
cp b3.json etc/policy.json
vmseal-policy root --previous etc/root.json --key r2.key --threshold 1 -o root2.json r2.pub >/dev/null
grep -q "$(printf 'application/vnd.vmseal.root+json')" root2.json && pass "root --previous writes a signed root (DSSE)" || fail "root2: $(head -c 200 root2.json)"
expect_deny "root 2 signed only by its own key (not by root 1) refused" "0 of 1 signatures of the installed root" \
	vmseal-policy install-root --policy etc/policy.json root2.json
vmseal-policy root --previous etc/root.json --key r1.key --threshold 1 -o root2old.json r2.pub >/dev/null
expect_deny "root 2 signed only by root 1 (not by its own keys) refused" "and 0 of 1 of its own keys" \
	vmseal-policy install-root --policy etc/policy.json root2old.json
expect_deny "a plain root.json cannot replace an installed one" "must be signed by it and by itself" \
	vmseal-policy install-root --policy etc/policy.json root.json
expect_rc "countersign root 2 with root 1's key" 0 vmseal-policy sign --key r1.key --append root2.json
cp root2.json root2copy.json
sed 's/"version": 1/"version": 2/' root.saved > root2.fake
vmseal-policy root --previous root2.fake --key r1.key --threshold 1 -o root3.json r3.pub >/dev/null
vmseal-policy sign --key r3.key --append root3.json >/dev/null
expect_deny "root 3 on a host at root 1 (a skipped version) refused" "only version 2 follows it" \
	vmseal-policy install-root --policy etc/policy.json root3.json
expect_rc "root 2 signed by root 1 and by itself is installed" 0 vmseal-policy install-root --policy etc/policy.json root2.json
grep -q '"version": 2' etc/root.json && grep -q '"root_version": *2' etc/trust.state &&
	pass "root.json is version 2, trust.state remembers it" || fail "root 2: $(cat etc/trust.state)"
expect_err "after the rotation a bundle signed by the old root is refused" "0 valid root signatures" verify
mkp pol4.json "$R" '{"version":4}' tk=tk.entry
vmseal-policy sign --key r2.key -o b4.json pol4.json >/dev/null
expect_rc "a bundle signed by the new root installs" 0 vmseal-policy install --policy etc/policy.json b4.json
expect_rc "and verifies" 0 verify
cp root.saved etc/root.json
expect_err "root.json version 1 copied back is refused" "root of trust version 1 is older than the installed version 2" verify
expect_deny "install-root refuses while an old root.json is in place" "older than the installed version 2" \
	vmseal-policy install-root --policy etc/policy.json root2copy.json
cp root2copy.json x.json
"$PY" - <<'PY'
import json, base64
e = json.load(open("x.json")); open("root2.plain", "wb").write(base64.b64decode(e["payload"]))
PY
cp root2.plain etc/root.json
expect_rc "the current root restored: verifies again" 0 verify

# ---- item 3: bundles expire
mkp pol5.json "$R" '{"version":5}' tk=tk.entry
expect_rc "sign --expires 30d" 0 vmseal-policy sign --key r2.key --expires 30d -o b5.json pol5.json
"$PY" -c "import json,base64; d=json.loads(base64.b64decode(json.load(open('b5.json'))['payload'])); assert 'expires' in d" &&
	pass "the bundle's expires is inside the signed payload" || fail "no expires in the payload"
expect_rc "install the expiring bundle" 0 vmseal-policy install --policy etc/policy.json b5.json
expect_rc "in date: verifies" 0 verify
! grep -q "expires on" err && pass "no warning a month ahead" || fail "early warning: $(cat err)"
expect_rc "25 days later: still verifies" 0 faketime -f '+25d' vmseal-verify --policy etc/policy.json img
grep -q "warning: .*policy bundle version 5 expires on" err && pass "25 days later: a warning on stderr" || fail "no warning: $(cat err)"
expect_err "31 days later: vmseal-verify refuses the expired bundle" "policy bundle expired on" \
	faketime -f '+31d' vmseal-verify --policy etc/policy.json img
faketime -f '+31d' vmseal-hook --config "$T/hook.conf" web1 prepare begin - < dom.xml >out 2>err; rc=$?
[ $rc != 0 ] && grep -q "policy bundle expired on" err && pass "hook: an expired bundle denies the start" ||
	fail "hook with an expired bundle: exit $rc: $(head -c 300 err)"
faketime -f '+31d' timeout 20 vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key \
	--policy etc/policy.json --libvirt test:///default --response-key gwresp.key --audit-log "$T/gw.jsonl" >gw.out 2>gw.err; rc=$?
[ $rc = 2 ] && grep -q "policy bundle expired on" gw.err && pass "gateway: refuses an expired bundle" ||
	fail "gateway with an expired bundle: exit $rc: $(head -c 300 gw.err)"
mkp pol6.json "$R" '{"version":6}' tk=tk.entry
vmseal-policy sign --key r2.key --expires 1d -o b6.json pol6.json >/dev/null
expect_deny "install of an expired bundle refused" "policy bundle expired on" \
	faketime -f '+2d' vmseal-policy install --policy etc/policy.json b6.json
expect_err "--expires with --append is refused (it is part of what is signed)" "--expires is part of what is signed" \
	vmseal-policy sign --key r2.key --append --expires 1d b6.json

# a running gateway: the bundle expires while it serves, and from then on it authorises nothing
ftlib=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1)
if [ -n "$ftlib" ] && command -v curl >/dev/null; then
	mkp pol7.json "$R" '{"version":7}' tk=tk.entry
	vmseal-policy sign --key r2.key --expires 1d -o b7.json pol7.json >/dev/null
	vmseal-policy install --policy etc/policy.json b7.json >/dev/null || fail "install b7"
	echo "+0" > ft.clock
	LD_PRELOAD=$ftlib FAKETIME_TIMESTAMP_FILE=$T/ft.clock FAKETIME_NO_CACHE=1 \
		vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy etc/policy.json \
		--libvirt test:///default --response-key gwresp.key --audit-log "$T/gw.jsonl" >gw.out 2>gw.err & gwpid=$!
	cleanup_hooks+=("kill $gwpid 2>/dev/null")
	for _ in $(seq 100); do grep -q 'listening on' gw.err 2>/dev/null && break; sleep 0.05; done
	port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' gw.err)
	code=$(curl -sk -o body -w '%{http_code}' "https://127.0.0.1:$port/v1/domains")
	[ "$code" = 401 ] && pass "running gateway, bundle in date: an unsigned call is 401" || fail "before expiry: $code $(head -c 200 body)"
	echo "+2d" > ft.clock
	code=$(curl -sk -o body -w '%{http_code}' "https://127.0.0.1:$port/v1/domains")
	[ "$code" = 503 ] && grep -q policy_expired body &&
		pass "running gateway: once the bundle expires every call is refused (503 policy_expired)" ||
		fail "after expiry: $code $(head -c 200 body)"
	kill $gwpid; wait $gwpid 2>/dev/null || true
else
	skip "running gateway and an expiring bundle: libfaketimeMT or curl missing"
fi
