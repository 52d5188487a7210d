#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# SSH certificates end to end with the real OpenSSH: a vmseal-gateway with --ssh-ca-key issues
# certificates through signed calls (vmseal-call ssh-cert); ssh-keygen -L reads each one;
# an sshd on 127.0.0.1, configured by examples/template-ssh.sh, accepts and refuses logins;
# the KRL from GET /v1/ssh/krl revokes; host certificates replace trust on first use.
# The login is root's with PermitRootLogin prohibit-password and AuthorizedPrincipalsFile:
# no user is created, /etc is not touched; only /run/sshd (sshd's privilege separation
# directory) is created when missing, and removed again.
source "$(dirname "$0")/lib.sh"
SSHD=/usr/sbin/sshd
for tool in openssl ssh ssh-keygen faketime; do
	command -v $tool >/dev/null || { skip "ssh tests: $tool not installed"; exit 0; }
done
[ -x $SSHD ] || { skip "ssh tests: openssh-server not installed"; exit 0; }
[ "$(id -u)" = 0 ] || { skip "ssh tests: sshd must run as root here"; exit 0; }
cd "$T"
umask 077
unset SSH_AUTH_SOCK
# Several runs may overlap (make check here, another tree's at the same time): each holds a
# shared lock while it runs; the last one out removes /run/sshd if a run of this test made it.
sshd_lock=/tmp/vmseal-test-sshd.lock sshd_made=/tmp/vmseal-test-sshd.made
exec 7>>"$sshd_lock"
flock -s 7
# Made again whenever it is missing (a run without this lock may have removed it meanwhile).
ensure_run_sshd() {
	if [ ! -d /run/sshd ] && mkdir -m 0755 /run/sshd 2>/dev/null; then
		touch "$sshd_made"
	fi
}
ensure_run_sshd
release_run_sshd() {
	if flock -x -n 7; then
		[ -e "$sshd_made" ] && rmdir /run/sshd 2>/dev/null && rm -f "$sshd_made" "$sshd_lock"
	fi
}
cleanup_hooks+=("release_run_sshd")

for k in alice bob carol dave erin oper boss gwresp; do
	vmseal-key generate --out $k --no-passphrase >/dev/null || fail "generate $k"
done
vmseal-key generate --out ca --no-passphrase >/dev/null
vmseal-key generate --alg p256 --out ca-p256 --no-passphrase >/dev/null
vmseal-key generate --alg rsa3072 --out ca-rsa --no-passphrase >/dev/null
id() { vmseal-key id $1.pub; }
# The TLS certificate starts a day back: a gateway and client under faketime -1h accept it.
faketime -f -1d openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout tls.key -out tls.crt -days 3 -subj /CN=localhost \
	-addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null
mkdir u u2 u3
ssh-keygen -q -t ed25519 -N '' -C alice@laptop -f u/id_ed25519
ssh-keygen -q -t ed25519 -N '' -C erin -f u2/id_ed25519
ssh-keygen -q -t ecdsa -b 256 -N '' -C bob -f u3/id_ecdsa
ssh-keygen -q -t ed25519 -N '' -C otherca -f otherca

{
	printf '{"version": 1, "keys": [\n'
	vmseal-key policy-entry alice.pub --owner alice --usage admin --role ssh; echo ,
	vmseal-key policy-entry bob.pub --owner bob --usage admin --role ssh; echo ,
	vmseal-key policy-entry carol.pub --owner carol --usage admin --role ssh; echo ,
	vmseal-key policy-entry dave.pub --owner dave --usage admin --role viewer --role admin; echo ,
	vmseal-key policy-entry erin.pub --owner erin --usage admin --role ssh; echo ,
	vmseal-key policy-entry oper.pub --owner oper --usage admin --role operator; echo ,
	vmseal-key policy-entry boss.pub --owner boss --usage admin --role admin
	printf '],\n "ssh": {"max_validity_s": 900, "host_names": ["test*"], "keys": [\n'
	printf '  {"id": "%s", "principals": ["admin", "ops"], "extensions": ["permit-pty", "permit-port-forwarding"]},\n' "$(id alice)"
	printf '  {"id": "%s", "principals": ["admin"], "quorum": 2, "max_validity_s": 300},\n' "$(id bob)"
	printf '  {"id": "%s", "principals": ["admin"]},\n' "$(id carol)"
	printf '  {"id": "%s", "principals": ["admin"], "source_address": "10.9.9.9/32", "force_command": "/bin/true"}\n' "$(id erin)"
	printf ']}}\n'
} > policy.json
mkdir state

ftlib=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1)
start_gateway() { # start_gateway LOG [OPTIONS]: sets $URL and $gwpid; FAKE runs it under faketime
	local log=$1; shift
	# libfaketime preloaded into the gateway itself: the faketime wrapper forks, and killing the
	# wrapper would leave the gateway running after the test
	${FAKE:+env LD_PRELOAD=$ftlib FAKETIME=$FAKE} vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key \
		--policy policy.json --libvirt test:///default --response-key gwresp.key \
		--audit-log "$T/audit.jsonl" --threads 2 --ssh-state-dir state "$@" >/dev/null 2>"$log" &
	gwpid=$!
	cleanup_hooks+=("kill $gwpid 2>/dev/null; wait $gwpid 2>/dev/null")
	for _ in $(seq 100); do
		grep -q 'listening on' "$log" 2>/dev/null && break
		kill -0 $gwpid 2>/dev/null || break
		sleep 0.05
	done
	URL=https://127.0.0.1:$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$log")
}
expect_403() { # NAME CODE CMD...: vmseal-call exits 1 with HTTP 403 CODE
	local name=$1 code=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ $rc = 1 ] && grep -q "HTTP 403 $code" "$T/err"; then pass "$name"; else fail "$name (exit $rc): $(head -c 300 "$T/err")"; fi
}
sshd_said() { # NAME PATTERN: the last login's sshd log matches PATTERN (grep -E)
	sleep 0.2
	grep -qE -- "$2" "$T/sshd.log" && pass "$1" || fail "$1: $(tail -c 600 "$T/sshd.log")"
}
stop_gateway() { kill $gwpid 2>/dev/null; wait $gwpid 2>/dev/null; }
call() { ${FAKE:+faketime -f "$FAKE"} vmseal-call --url "$URL" --cacert tls.crt --gateway-pub gwresp.pub "$@"; }
cert() { ${FAKE:+faketime -f "$FAKE"} vmseal-call ssh-cert --url "$URL" --cacert tls.crt --gateway-pub gwresp.pub "$@"; }

start_gateway gw.log --ssh-ca-key ca.key
[ "$URL" != https://127.0.0.1: ] || { fail "gateway with --ssh-ca-key started: $(cat gw.log)"; exit 0; }

# ---- the template step: the image tree trusts the CA -------------------------------------
expect_rc "GET /v1/ssh/ca" 0 call --key dave.key GET /v1/ssh/ca
"$PY" -c "import json; print(json.load(open('out'))['public_key'], end='')" > vmseal-ca.pub
"$PY" - <<'PYEOF' && pass "the CA key served is --ssh-ca-key's" || fail "CA key: $(cat vmseal-ca.pub)"
import base64
from cryptography.hazmat.primitives import serialization as s
raw = s.load_pem_public_key(open("ca.pub", "rb").read()).public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)
blob = base64.b64decode(open("vmseal-ca.pub").read().split()[1])
assert blob == b"\0\0\0\x0bssh-ed25519\0\0\0\x20" + raw
PYEOF
mkdir img
expect_rc "template-ssh.sh writes the image tree" 0 "$top/examples/template-ssh.sh" img \
	--ca-pub vmseal-ca.pub --principal root=admin
expect_rc "template-ssh.sh refuses a file that is no key" 2 "$top/examples/template-ssh.sh" img \
	--ca-pub policy.json --principal root=admin
# sshd runs with the drop-in the template got, its paths moved into the test's tree.
ssh-keygen -q -t ed25519 -N '' -f hostkey
ssh-keygen -q -t ed25519 -N '' -f hostkey2
sshd_port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
write_sshd_config() { # $1: file, then extra lines
	local f=$1; shift
	{
		sed "s#/etc/ssh/#$T/img/etc/ssh/#" img/etc/ssh/sshd_config.d/50-vmseal.conf
		cat <<-CONF
		ListenAddress 127.0.0.1:$sshd_port
		PidFile $T/sshd.pid
		PermitRootLogin prohibit-password
		AuthorizedKeysFile none
		UsePAM no
		StrictModes no
		LogLevel VERBOSE
		CONF
		printf '%s\n' "$@"
	} > "$f"
}
start_sshd() { # start_sshd HOSTKEY [CONFIG LINES]
	local hk=$1; shift
	[ -n "${sshdpid:-}" ] && { kill $sshdpid 2>/dev/null; wait $sshdpid 2>/dev/null; }
	write_sshd_config sshd_config "HostKey $T/$hk" "$@"
	ensure_run_sshd
	: > sshd.log
	$SSHD -D -e -f "$T/sshd_config" 2>>sshd.log &
	sshdpid=$!
	cleanup_hooks+=("kill $sshdpid 2>/dev/null; wait $sshdpid 2>/dev/null")
	for _ in $(seq 600); do # a loaded machine: up to 30 s
		grep -q "Server listening on 127.0.0.1 port $sshd_port" sshd.log 2>/dev/null && break
		kill -0 $sshdpid 2>/dev/null || break
		sleep 0.05
	done
	grep -q "Server listening on 127.0.0.1 port $sshd_port" sshd.log ||
		fail "sshd did not start: $(tail -c 400 sshd.log)"
	: > sshd.log
}
start_sshd hostkey
echo "[127.0.0.1]:$sshd_port $(cat hostkey.pub)" > known_hosts
login() { # login KEY CERT [ssh options]: runs `true` as root on the sshd
	local key=$1 crt=$2; shift 2
	: > "$T/sshd.log"
	ensure_run_sshd
	timeout 20 ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o IdentityAgent=none \
		-i "$key" -o CertificateFile="$crt" -o UserKnownHostsFile="$T/known_hosts" \
		-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o ConnectTimeout=10 \
		-p "$sshd_port" "$@" root@127.0.0.1 true
}

# ---- issuance and a login -----------------------------------------------------------------
expect_rc "ssh-cert: alice gets a certificate for admin" 0 cert --key alice.key \
	--ssh-key u/id_ed25519.pub --principal admin --validity 10m
[ -f u/id_ed25519-cert.pub ] && pass "written beside the key as id_ed25519-cert.pub" || fail "no cert file: $(cat out err)"
serial1=$(ssh-keygen -L -f u/id_ed25519-cert.pub | sed -n 's/^ *Serial: //p')
ssh-keygen -L -f u/id_ed25519-cert.pub > L.txt
"$PY" - "$(id alice)" "$(ssh-keygen -lf vmseal-ca.pub | awk '{print $2}')" "$(ssh-keygen -lf u/id_ed25519.pub | awk '{print $2}')" <<'PYEOF' && pass "ssh-keygen -L reads it: type, key, CA, key id, principals, validity, extensions" || fail "ssh-keygen -L: $(cat L.txt)"
import re, sys, datetime
alice, cafp, keyfp = sys.argv[1:]
t = open("L.txt").read()
assert "ssh-ed25519-cert-v01@openssh.com user certificate" in t
assert "ED25519-CERT " + keyfp in t, "key"
assert "Signing CA: ED25519 %s (using ssh-ed25519)" % cafp in t, "ca"
kid = re.search(r'Key ID: "([^"]*)"', t).group(1)
assert kid.startswith("vmseal:%s:" % alice) and len(kid) > len(alice) + 8, kid
assert re.search(r"Principals: \n\s+admin\n\s+Critical Options: \(none\)", t), "principals"
assert re.search(r"Extensions: \n\s+permit-port-forwarding\n\s+permit-pty\n", t), "extensions"
m = re.search(r"Valid: from (\S+) to (\S+)", t)
a, b = (datetime.datetime.fromisoformat(x) for x in m.groups())
assert (b - a).total_seconds() == 660, (a, b)  # a minute back, ten minutes on
PYEOF
expect_rc "sshd accepts a login with the certificate" 0 login u/id_ed25519 u/id_ed25519-cert.pub
grep -q "gateway.ssh.cert.issued.*serial=$serial1 type=user principals=admin valid_after=.* key=$(ssh-keygen -lf u/id_ed25519.pub | awk '{print $2}') signers=$(id alice)" audit.jsonl &&
	pass "the issuance is audited: serial, principals, validity, key fingerprint, signers" || fail "audit: $(grep ssh audit.jsonl | tail -2)"
expect_rc "a renewal replaces the certificate of the same key" 0 cert --key alice.key \
	--ssh-key u/id_ed25519.pub --principal admin --validity 5m
serial2=$(ssh-keygen -L -f u/id_ed25519-cert.pub | sed -n 's/^ *Serial: //p')
[ "$serial2" -gt "$serial1" ] && pass "serials grow ($serial1, $serial2)" || fail "serials $serial1 $serial2"
cp otherca.pub u/other.pub
expect_err "another file at the certificate's path is not overwritten" "is not a certificate of this key" \
	cert --key alice.key --ssh-key u/id_ed25519.pub --principal admin --out u/other.pub
cmp -s otherca.pub u/other.pub && pass "the file is untouched" || fail "other.pub changed"

# ---- refused logins ---------------------------------------------------------------------
expect_rc "ssh-cert: a certificate for principal ops" 0 cert --key alice.key \
	--ssh-key u/id_ed25519.pub --principal ops --out u/ops-cert.pub
expect_rc "sshd refuses a principal not in the certificate (root takes admin)" 255 login u/id_ed25519 u/ops-cert.pub
sshd_said "sshd: no principal of the certificate is root's" "does not contain an authorized principal"
ssh-keygen -q -s otherca -I other -n admin -V -1m:+10m -f /dev/null u/id_ed25519.pub 2>/dev/null; \
	ssh-keygen -q -s otherca -I other -n admin -V -1m:+10m u/id_ed25519.pub && mv u/id_ed25519-cert.pub u/other-cert.pub
cert --key alice.key --ssh-key u/id_ed25519.pub --principal admin --validity 10m >/dev/null 2>&1
expect_rc "sshd refuses a certificate from another CA" 255 login u/id_ed25519 u/other-cert.pub
sshd_said "sshd: refused, the certificate's CA being another" "Failed publickey for root .* CA ED25519 $(ssh-keygen -lf otherca.pub | awk '{print $2}' | sed 's/[+.]/\\&/g')"
expect_rc "ssh-cert: erin (source_address 10.9.9.9/32, force-command)" 0 cert --key erin.key \
	--ssh-key u2/id_ed25519.pub --principal admin
ssh-keygen -L -f u2/id_ed25519-cert.pub | grep -q "source-address 10.9.9.9/32" &&
	ssh-keygen -L -f u2/id_ed25519-cert.pub | grep -q "force-command /bin/true" &&
	pass "ssh-keygen -L shows the policy's critical options" || fail "options: $(ssh-keygen -L -f u2/id_ed25519-cert.pub)"
expect_rc "sshd refuses a login from outside source-address" 255 login u2/id_ed25519 u2/id_ed25519-cert.pub
sshd_said "sshd: 127.0.0.1 is not in the certificate's source-address" "source.address|not permitted to use this certificate"

# Expired: the gateway and the client an hour back in time (libfaketime) issue a certificate
# valid for ten minutes then; it ended fifty minutes ago. The restart also shows serials
# survive: the next serial is above every earlier one.
stop_gateway
# (its own audit log: the start mark beside the shared one is ahead of a clock an hour back,
# and a gateway started with that clock refuses every call until then)
FAKE=-1h start_gateway gw-past.log --ssh-ca-key ca.key --audit-log "$T/audit-past.jsonl"
FAKE=-1h expect_rc "ssh-cert an hour ago" 0 cert --key alice.key --ssh-key u/id_ed25519.pub \
	--principal admin --validity 10m --out u/old-cert.pub
serial3=$(ssh-keygen -L -f u/old-cert.pub | sed -n 's/^ *Serial: //p')
[ "$serial3" -gt "$serial2" ] && pass "serials never repeat across a restart ($serial2, $serial3)" || fail "serial $serial3 after $serial2"
stop_gateway
expect_rc "sshd refuses an expired certificate" 255 login u/id_ed25519 u/old-cert.pub
sshd_said "sshd: the certificate expired" "Certificate invalid: expired"
start_gateway gw2.log --ssh-ca-key ca.key

# ---- through the gateway ------------------------------------------------------------------
expect_deny "a key without the ssh role gets 403 (admin does not imply ssh)" "HTTP 403" \
	cert --key dave.key --ssh-key u/id_ed25519.pub --principal admin --out u/x-cert.pub
expect_deny "a principal beyond the policy gets 403" "HTTP 403 ssh_denied.*principal \"root\"" \
	cert --key alice.key --ssh-key u/id_ed25519.pub --principal root --out u/x-cert.pub
expect_deny "a validity beyond the policy gets 403" "HTTP 403 ssh_denied.*maximum of 900s" \
	cert --key alice.key --ssh-key u/id_ed25519.pub --principal admin --validity 16m --out u/x-cert.pub
expect_err "a validity beyond the hard cap is refused before sending" "validity" \
	cert --key alice.key --ssh-key u/id_ed25519.pub --principal admin --validity 13h --out u/x-cert.pub
expect_deny "quorum required and one signature gets 403" "HTTP 403 quorum_not_met" \
	cert --key bob.key --ssh-key u3/id_ecdsa.pub --principal admin --validity 5m
[ ! -e u/x-cert.pub ] && [ ! -e u3/id_ecdsa-cert.pub ] && pass "nothing written when refused" || fail "written"
expect_rc "two distinct owners meet the quorum" 0 cert --key bob.key --key carol.key \
	--ssh-key u3/id_ecdsa.pub --principal admin --validity 5m
grep -q "gateway.ssh.cert.issued.*key=$(ssh-keygen -lf u3/id_ecdsa.pub | awk '{print $2}') signers=$(id bob),$(id carol)" audit.jsonl &&
	pass "every signer is in the audit event" || fail "audit signers: $(grep cert.issued audit.jsonl | tail -1)"
expect_rc "sshd accepts the quorum's ECDSA key certificate" 0 login u3/id_ecdsa u3/id_ecdsa-cert.pub
body="{\"ssh_public_key\":\"$(cat u/id_ed25519.pub)\",\"principals\":[\"admin\"],\"validity_s\":60}"
expect_rc "a signed issuance" 0 call --key alice.key --nonce ssh-replay-1 POST /v1/ssh/certs "$body"
expect_deny "the same issuance replayed gets 401" "HTTP 401 replay" call --key alice.key --nonce ssh-replay-1 POST /v1/ssh/certs "$body"
expect_rc "a certificate body is checked (trailing garbage in the key)" 2 call --key alice.key POST /v1/ssh/certs \
	"{\"ssh_public_key\":\"$(cat u/id_ed25519.pub | awk '{print $1, $2 "AAAA"}')\",\"principals\":[\"admin\"],\"validity_s\":60}"

# ---- revocation: serial, then key -------------------------------------------------------
expect_rc "ssh-cert: a fresh certificate" 0 cert --key alice.key --ssh-key u/id_ed25519.pub --principal admin
serial=$(ssh-keygen -L -f u/id_ed25519-cert.pub | sed -n 's/^ *Serial: //p')
expect_rc "sshd accepts it before revocation" 0 login u/id_ed25519 u/id_ed25519-cert.pub
expect_403 "revocation needs role admin" forbidden call --key alice.key POST /v1/ssh/revoke "{\"serial\":$serial}"
expect_rc "POST /v1/ssh/revoke a serial (admin)" 0 call --key boss.key POST /v1/ssh/revoke "{\"serial\":$serial}"
krl() { ${FAKE:+faketime -f "$FAKE"} vmseal-call ssh-krl --url "$URL" --cacert tls.crt --gateway-pub gwresp.pub "$@"; }
fetch_krl() {
	krl --key dave.key --out krl.bin >krl.out 2>&1 &&
		"$top/examples/template-ssh.sh" img --ca-pub vmseal-ca.pub --principal root=admin --krl krl.bin >/dev/null
}
fetch_krl && pass "vmseal-call ssh-krl: GET /v1/ssh/krl (a signed answer) installed as RevokedKeys" || fail "krl: $(cat krl.out)"
cp krl.bin krl.keep
expect_rc "ssh-krl: an answer not signed by --gateway-pub is not written" 1 \
	vmseal-call ssh-krl --url "$URL" --cacert tls.crt --gateway-pub alice.pub --key dave.key --out krl.bin
cmp -s krl.bin krl.keep && pass "the KRL file is untouched" || fail "krl.bin changed"
expect_rc "ssh-keygen -Q: the serial is revoked" 1 ssh-keygen -Q -f krl.bin u/id_ed25519-cert.pub
grep -q REVOKED out && pass "ssh-keygen -Q says REVOKED" || fail "ssh-keygen -Q: $(cat out err)"
expect_rc "sshd refuses the revoked serial" 255 login u/id_ed25519 u/id_ed25519-cert.pub
sshd_said "sshd: the key is revoked" "revoked"
expect_rc "ssh-cert: a new certificate of the same key" 0 cert --key alice.key --ssh-key u/id_ed25519.pub --principal admin
expect_rc "ssh-keygen -Q: the new serial is not revoked" 0 ssh-keygen -Q -f krl.bin u/id_ed25519-cert.pub
expect_rc "sshd accepts the new serial" 0 login u/id_ed25519 u/id_ed25519-cert.pub
fp=$(ssh-keygen -lf u/id_ed25519.pub | awk '{print $2}')
expect_rc "POST /v1/ssh/revoke a key fingerprint" 0 call --key boss.key POST /v1/ssh/revoke "{\"fingerprint\":\"$fp\"}"
fetch_krl
expect_rc "ssh-keygen -Q: every certificate of the key is revoked" 1 ssh-keygen -Q -f krl.bin u/id_ed25519-cert.pub
expect_rc "sshd refuses the revoked key's certificate" 255 login u/id_ed25519 u/id_ed25519-cert.pub
expect_deny "a revoked key gets no new certificate" "HTTP 403 key_revoked" cert --key alice.key \
	--ssh-key u/id_ed25519.pub --principal admin
stop_gateway
start_gateway gw3.log --ssh-ca-key ca.key
expect_deny "revocations survive a restart" "HTTP 403 key_revoked" cert --key alice.key \
	--ssh-key u/id_ed25519.pub --principal admin
expect_err "a KRL of another CA in the state dir stops the gateway" "another CA" \
	vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json \
	--libvirt test:///default --response-key gwresp.key --audit-log "$T/audit2.jsonl" \
	--ssh-state-dir state --ssh-ca-key ca-p256.key

# ---- replicas share serials and revocations through Redis ---------------------------------
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
	rport=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	redis-server --port $rport --bind 127.0.0.1 --save '' --appendonly no --dir "$T" \
		--logfile "$T/redis.log" --daemonize no &
	rpid=$!
	cleanup_hooks+=("kill $rpid 2>/dev/null; wait $rpid 2>/dev/null")
	for _ in $(seq 100); do redis-cli -p $rport ping >/dev/null 2>&1 && break; sleep 0.05; done
	expect_err "--ssh-state-dir with --replay-store is refused (the state is in Redis)" "replay-store" \
		vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json \
		--libvirt test:///default --response-key gwresp.key --audit-log "$T/audit2.jsonl" \
		--ssh-state-dir state --ssh-ca-key ca.key --replay-store redis://127.0.0.1:$rport
	stop_gateway
	start_replica() { # start_replica NAME: sets url_NAME
		vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json \
			--libvirt test:///default --response-key gwresp.key --audit-log "$T/audit-$1.jsonl" \
			--threads 2 --ssh-ca-key ca.key --replay-store redis://127.0.0.1:$rport >/dev/null 2>"gw-$1.log" &
		cleanup_hooks+=("kill $! 2>/dev/null; wait $! 2>/dev/null")
		for _ in $(seq 100); do grep -q 'listening on' "gw-$1.log" 2>/dev/null && break; sleep 0.05; done
		eval "url_$1=https://127.0.0.1:$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "gw-$1.log")"
	}
	start_replica a
	start_replica b
	serials=()
	for i in 1 2 3; do
		for r in a b; do
			URL=$(eval echo "\$url_$r") cert --key carol.key --ssh-key u3/id_ecdsa.pub --principal admin \
				--out u3/$r$i-cert.pub >/dev/null 2>&1
			serials+=("$(ssh-keygen -L -f u3/$r$i-cert.pub 2>/dev/null | sed -n 's/^ *Serial: //p')")
		done
	done
	[ ${#serials[@]} = 6 ] && [ "$(printf '%s\n' "${serials[@]}" | sort -u | grep -c .)" = 6 ] &&
		pass "two replicas: six certificates, six distinct serials (${serials[*]})" ||
		fail "replica serials: ${serials[*]}"
	URL=$url_a expect_rc "revoke a serial at replica a" 0 call --key boss.key POST /v1/ssh/revoke "{\"serial\":${serials[1]}}"
	URL=$url_b krl --key dave.key --out krl-b.bin >/dev/null
	expect_rc "replica b's KRL revokes it (ssh-keygen -Q)" 1 ssh-keygen -Q -f krl-b.bin u3/b1-cert.pub
	expect_rc "and not the others" 0 ssh-keygen -Q -f krl-b.bin u3/a1-cert.pub
	URL=$url_b expect_rc "revoke a key at replica b" 0 call --key boss.key POST /v1/ssh/revoke "{\"fingerprint\":\"$(ssh-keygen -lf u2/id_ed25519.pub | awk '{print $2}')\"}"
	URL=$url_a expect_403 "replica a refuses a certificate for it" key_revoked cert --key erin.key --ssh-key u2/id_ed25519.pub --principal admin
	kill $rpid; wait $rpid 2>/dev/null
	URL=$url_a expect_rc "Redis down: no certificate (fail closed)" 2 cert --key carol.key --ssh-key u3/id_ecdsa.pub --principal admin --out u3/down-cert.pub
	[ ! -e u3/down-cert.pub ] && pass "nothing written while Redis is down" || fail "down-cert written"
	start_gateway gw4.log --ssh-ca-key ca.key
else
	skip "SSH CA replicas: redis-server not installed"
fi

# ---- host certificates ------------------------------------------------------------------
hostbody="{\"domain\":\"test\",\"host_public_key\":\"$(cat hostkey.pub)\"}"
expect_403 "host certificates need role operator" forbidden call --key alice.key POST /v1/ssh/host-certs "$hostbody"
expect_rc "an unknown domain gets no host certificate" 2 call --key oper.key POST /v1/ssh/host-certs \
	"{\"domain\":\"test-nosuch\",\"host_public_key\":\"$(cat hostkey.pub)\"}"
grep -q '"not_found"' out && pass "404 for the unknown domain" || fail "unknown domain: $(cat out)"
# a name the policy's ssh.host_names does not allow: an operator may create a domain of any
# name, and a host certificate is believed by every client that trusts the CA
expect_403 "a domain name outside ssh.host_names gets no host certificate" forbidden call --key oper.key \
	POST /v1/ssh/host-certs "{\"domain\":\"bastion\",\"host_public_key\":\"$(cat hostkey.pub)\"}"
cat out err 2>/dev/null | grep -q "matches none of the policy's ssh.host_names" && pass "… and says why" || fail "host_names: $(cat out)"
expect_rc "POST /v1/ssh/host-certs (operator)" 0 call --key oper.key POST /v1/ssh/host-certs "$hostbody"
"$PY" -c "import json; print(json.load(open('out'))['certificate'], end='')" > hostkey-cert.pub
ssh-keygen -L -f hostkey-cert.pub | grep -q "host certificate" && ssh-keygen -L -f hostkey-cert.pub | grep -qx ' *test' &&
	pass "ssh-keygen -L: a host certificate for the domain's name" || fail "host cert: $(ssh-keygen -L -f hostkey-cert.pub)"
start_sshd hostkey "HostCertificate $T/hostkey-cert.pub"
echo "@cert-authority test $(cat vmseal-ca.pub)" > known_hosts
expect_rc "ssh-cert: a fresh key for the host test" 0 cert --key carol.key --ssh-key u3/id_ecdsa.pub --principal admin
expect_rc "@cert-authority in known_hosts: connects without a prompt" 0 login u3/id_ecdsa u3/id_ecdsa-cert.pub -o HostKeyAlias=test
start_sshd hostkey2
expect_rc "a host key without the CA's certificate is refused" 255 login u3/id_ecdsa u3/id_ecdsa-cert.pub -o HostKeyAlias=test
grep -q "Host key verification failed\|No .* host key is known" err && pass "ssh says: host key verification failed" || fail "ssh: $(cat err)"
start_sshd hostkey
echo "[127.0.0.1]:$sshd_port $(cat hostkey.pub)" > known_hosts

# ---- every CA algorithm: ssh-keygen -L reads it, sshd accepts it ------------------------
for alg in p256 rsa; do
	stop_gateway
	mkdir -p state-$alg
	start_gateway gw-$alg.log --ssh-ca-key ca-$alg.key --ssh-state-dir state-$alg
	call --key dave.key GET /v1/ssh/ca > ca.json &&
		"$PY" -c "import json; print(json.load(open('ca.json'))['public_key'], end='')" > ca-$alg-ssh.pub
	"$top/examples/template-ssh.sh" img --ca-pub ca-$alg-ssh.pub --principal root=admin >/dev/null
	expect_rc "$alg CA: ssh-cert" 0 cert --key carol.key --ssh-key u3/id_ecdsa.pub --principal admin --out u3/$alg-cert.pub
	want=$([ $alg = p256 ] && echo "ECDSA .* (using ecdsa-sha2-nistp256)" || echo "RSA .* (using rsa-sha2-512)")
	ssh-keygen -L -f u3/$alg-cert.pub | grep -q "Signing CA: $want" && pass "$alg CA: ssh-keygen -L names the CA and its signature" ||
		fail "$alg CA: $(ssh-keygen -L -f u3/$alg-cert.pub | grep CA)"
	expect_rc "$alg CA: sshd accepts the certificate" 0 login u3/id_ecdsa u3/$alg-cert.pub
done

# ---- the CA key inside a PKCS#11 token (SoftHSM2 + pkcs11-provider), when they are here -----
moddir=$(openssl version -m | sed -n 's/^MODULESDIR: "\(.*\)"/\1/p')
module=$(ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so 2>/dev/null | head -1)
case "$BIN" in *build-san*) module= ;; esac # ASan refuses pkcs11-provider's RTLD_DEEPBIND dlopen
if command -v softhsm2-util >/dev/null && [ -f "$moddir/pkcs11.so" ] && [ -n "$module" ]; then
	mkdir tokens
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$T" > softhsm2.conf
	printf 'openssl_conf = i\n[i]\nproviders = p\n[p]\ndefault = d\npkcs11 = k\n[d]\nactivate = 1\n[k]\nmodule = %s\npkcs11-module-path = %s\npkcs11-module-quirks = no-deinit\nactivate = 1\n' \
		"$moddir/pkcs11.so" "$module" > openssl.cnf
	echo 1234 > pin
	# Only vmseal's own processes see the provider; ssh and sshd stay as they are.
	p11() { SOFTHSM2_CONF=$T/softhsm2.conf OPENSSL_CONF=$T/openssl.cnf "$@"; }
	p11 softhsm2-util --init-token --free --label sshca --pin 1234 --so-pin 5678 >/dev/null
	uri="pkcs11:token=sshca;object=ssh-ca"
	p11 vmseal-key generate --alg ed25519 --pkcs11 "$uri" --passphrase-file pin --out hsmca >/dev/null || fail "token key"
	stop_gateway
	mkdir state-hsm
	p11 start_gateway gw-hsm.log --ssh-ca-key "$uri" --ssh-ca-passphrase-file pin --ssh-state-dir state-hsm
	call --key dave.key GET /v1/ssh/ca > ca.json &&
		"$PY" -c "import json; print(json.load(open('ca.json'))['public_key'], end='')" > ca-hsm-ssh.pub
	"$top/examples/template-ssh.sh" img --ca-pub ca-hsm-ssh.pub --principal root=admin >/dev/null
	expect_rc "PKCS#11 CA: ssh-cert" 0 cert --key carol.key --ssh-key u3/id_ecdsa.pub --principal admin --out u3/hsm-cert.pub
	ssh-keygen -L -f u3/hsm-cert.pub | grep -q "Signing CA: ED25519 $(ssh-keygen -lf ca-hsm-ssh.pub | awk '{print $2}') (using ssh-ed25519)" &&
		pass "PKCS#11 CA: ssh-keygen -L names the token's key" || fail "hsm CA: $(ssh-keygen -L -f u3/hsm-cert.pub | grep CA)"
	expect_rc "PKCS#11 CA: sshd accepts the certificate" 0 login u3/id_ecdsa u3/hsm-cert.pub
else
	skip "SSH CA in a PKCS#11 token: softhsm2 or pkcs11-provider missing (or a SAN=1 build)"
fi
exit 0
