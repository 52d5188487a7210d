#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Release binaries hold no test switch (issue #14 item 6): VMSEAL_NOW, VMSEAL_FAULT and
# VMSEAL_TEST_NO_ENTROPY change nothing in $BIN (what `make install` and the .deb ship); only the
# test build in $TESTBIN has fault points and the entropy simulation. Time moves with libfaketime.
source "$(dirname "$0")/lib.sh"
cd "$T"

# --- the strings are not even in the release binaries (the fault points' names neither)
points=$(grep -rhoE 'fault_(point|is)\("[a-z0-9-]+"\)' "$top"/lib "$top"/signer "$top"/verifier \
	"$top"/agent "$top"/api | sed -E 's/.*\("([^"]+)"\)/\1/' | sort -u)
[ -n "$points" ] && pass "the sources have fault points ($(echo $points | wc -w))" || fail "no fault point found in the sources"
pat="VMSEAL_NOW|VMSEAL_FAULT|VMSEAL_TEST_NO_ENTROPY$(printf '|%s' $points)"
n=0
for b in "$BIN"/vmseal-* "$(dirname "$BIN")"/libexec/vmseal-*; do
	n=$((n + 1))
	hits=$(strings "$b" | grep -oE "$pat" | sort -u | tr '\n' ' ')
	[ -z "$hits" ] && pass "release $(basename "$b"): no test switch in its strings" ||
		fail "release $(basename "$b") holds: $hits"
done
[ "$n" -ge 10 ] && pass "checked all $n release binaries" || fail "only $n release binaries in $BIN"
strings "$TESTBIN/vmseal-key" | grep -q VMSEAL_FAULT && strings "$TESTBIN/vmseal-key" | grep -q VMSEAL_TEST_NO_ENTROPY &&
	pass "the test build has the switches (the check above can see them)" || fail "test build lacks its switches"

# --- VMSEAL_NOW does not move the clock: an attestation that expired yesterday stays expired
vmseal-key generate --out k --no-passphrase >/dev/null
vmseal-key policy-entry k.pub > k.entry
"$PY" "$top/tests/mkpolicy.py" pol.json '[{"match":"t*","keys":["@k"],"threshold":1}]' k=k.entry
head -c 5000 /dev/urandom > img
faketime -f '-2d' vmseal-sign --key k.key --template t1 --template-version 1 --expires 1d -o exp.json img >/dev/null
expect_deny "faketime: the attestation signed two days ago for one day is expired" "attestation expired at" \
	vmseal-verify --policy pol.json --attestation exp.json img
expect_rc "faketime: two days back it verifies" 0 faketime -f '-2d' vmseal-verify --policy pol.json --attestation exp.json img
past=$(( $(date +%s) - 2 * 86400 ))
expect_deny "VMSEAL_NOW does not move vmseal-verify's clock" "attestation expired at" \
	env VMSEAL_NOW=$past vmseal-verify --policy pol.json --attestation exp.json img
expect_deny "VMSEAL_NOW does not move the test build's clock either" "attestation expired at" \
	env VMSEAL_NOW=$past "$TESTBIN/vmseal-verify" --policy pol.json --attestation exp.json img

# --- VMSEAL_TEST_NO_ENTROPY and VMSEAL_FAULT do nothing in release binaries
expect_rc "release: VMSEAL_TEST_NO_ENTROPY does not stop key generation" 0 \
	env VMSEAL_TEST_NO_ENTROPY=1 vmseal-key generate --out e --no-passphrase --no-wait
expect_err "test build: VMSEAL_TEST_NO_ENTROPY simulates the missing entropy" "entropy pool not initialised" \
	env VMSEAL_TEST_NO_ENTROPY=1 "$TESTBIN/vmseal-key" generate --out e2 --no-passphrase --no-wait
for point in keygen-before-write key-between-files before-rename; do
	expect_rc "release: VMSEAL_FAULT=$point is ignored" 0 env VMSEAL_FAULT=$point vmseal-key generate --out f_$point --no-passphrase
	[ -s f_$point.key ] && [ -s f_$point.pub ] || fail "release generate with VMSEAL_FAULT=$point left no key"
done
(VMSEAL_FAULT=before-rename "$TESTBIN/vmseal-key" generate --out tf --no-passphrase >/dev/null 2>&1) 2>/dev/null
rc=$?
[ $rc = 137 ] && pass "test build: VMSEAL_FAULT=before-rename kills it (exit 137)" || fail "test build fault point: exit $rc"
vmseal-audit append --actor t --event e --decision info a.log >/dev/null
expect_rc "release: VMSEAL_FAULT=audit-mid-line is ignored" 0 \
	env VMSEAL_FAULT=audit-mid-line vmseal-audit append --actor t --event e2 --decision info a.log
expect_rc "release: the audit chain is whole" 0 vmseal-audit verify a.log

# --- the hook reads no environment: VMSEAL_POLICY / VMSEAL_HOOK_CONF (read until 2026-12) cannot
# swap the policy or the configuration it was given
for b in "$BIN"/vmseal-hook; do
	hits=$(strings "$b" | grep -oE 'VMSEAL_POLICY|VMSEAL_HOOK_CONF' | sort -u | tr '\n' ' ')
	[ -z "$hits" ] && pass "release vmseal-hook: no environment variable names its policy or configuration" ||
		fail "release vmseal-hook holds: $hits"
done
"$PY" "$top/tests/mkpolicy.py" deny.json '[{"match":"nothing-*","keys":["@k"],"threshold":1}]' k=k.entry
"$PY" "$top/tests/mkpolicy.py" allow.json '[{"match":"*","keys":["@k"],"threshold":1}]' k=k.entry
vmseal-sign --key k.key --template web --template-version 1 img >/dev/null
emu=$(command -v qemu-system-x86_64 || echo /usr/bin/qemu-system-x86_64)
printf "<domain type='qemu'><name>sw</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os><devices><emulator>%s</emulator><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='%s/img'/><target dev='vda' bus='virtio'/><readonly/></disk></devices></domain>\n" "$emu" "$T" > sw.xml
printf 'policy = %s/deny.json\naudit_log = %s/sw-audit.jsonl\ncache_dir = %s/sw-cache\n' "$T" "$T" "$T" > deny.conf
printf 'policy = %s/allow.json\naudit_log = %s/sw-audit.jsonl\ncache_dir = %s/sw-cache\n' "$T" "$T" "$T" > allow.conf
if expect_rc "control: the hook allows the disk under --policy allow.json" 0 \
	vmseal-hook --config "$T/deny.conf" --policy "$T/allow.json" sw prepare begin - < sw.xml; then
	expect_deny "VMSEAL_POLICY does not replace the configured policy" "denied" \
		env VMSEAL_POLICY="$T/allow.json" vmseal-hook --config "$T/deny.conf" sw prepare begin - < sw.xml
	expect_deny "VMSEAL_HOOK_CONF does not replace the configuration" "denied" \
		env VMSEAL_HOOK_CONF="$T/allow.conf" vmseal-hook --config "$T/deny.conf" sw prepare begin - < sw.xml
fi

# --- the gateway: VMSEAL_NOW does not move its clock; libfaketime does (it is multi-threaded)
if command -v curl >/dev/null; then
	vmseal-key generate --out viewer --no-passphrase >/dev/null
	vmseal-key generate --out gwresp --no-passphrase >/dev/null
	{
		printf '{"version": 1, "enforce": true, "keys": [\n'
		vmseal-key policy-entry viewer.pub --owner v --usage admin --role viewer
		printf '], "templates": []}\n'
	} > gwpol.json
	# a certificate valid from two days ago, so that a client one day back accepts it
	faketime -f '-2d' openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key \
		-out tls.crt -days 5 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null
	start_gw() { # start_gw LOG [WRAPPER...]: sets $port, $gwpid
		local log=$1; shift
		"$@" vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy gwpol.json \
			--libvirt test:///default --response-key gwresp.key --audit-log "$T/gw-$log.jsonl" \
			--threads 2 >/dev/null 2>"$log" &
		gwpid=$!
		cleanup_hooks+=("kill $gwpid 2>/dev/null")
		for _ in $(seq 100); do grep -q 'listening on' "$log" 2>/dev/null && break; sleep 0.05; done
		port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$log")
	}
	call() { vmseal-call --url "https://127.0.0.1:$port" --cacert tls.crt --gateway-pub gwresp.pub --key viewer.key "$@"; }
	t2020=1577836800
	start_gw gw1.log env VMSEAL_NOW=$t2020
	expect_rc "gateway with VMSEAL_NOW=2020: a call signed in 2020 is refused" 1 \
		call --created $t2020 --expires $((t2020 + 60)) GET /v1/domains
	grep -q clock_skew "$T/out" && pass "refused for clock skew: the gateway kept the real clock" || fail "2020 call: $(head -c 300 "$T/out")"
	expect_rc "gateway with VMSEAL_NOW=2020: a call signed now is served" 0 call GET /v1/domains
	kill $gwpid; wait $gwpid 2>/dev/null || true
	# libfaketime preloaded into the gateway itself (the faketime wrapper would fork: killing it
	# would leave the gateway running)
	ftlib=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1)
	start_gw gw2.log env LD_PRELOAD="$ftlib" FAKETIME=-1d
	expect_rc "gateway under faketime -1d: a client one day back is served (threads see the fake clock)" 0 \
		faketime -f '-1d' vmseal-call --url "https://127.0.0.1:$port" --cacert tls.crt --gateway-pub gwresp.pub \
		--key viewer.key GET /v1/domains
	expect_rc "gateway under faketime -1d: a call signed now is a day ahead, refused" 1 call GET /v1/domains
	kill $gwpid; wait $gwpid 2>/dev/null || true
else
	skip "gateway clock: curl missing"
fi
