#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Part of `make demo`: the management gateway. It starts vmseal-gateway on libvirt's in-process
# test driver with a self-signed certificate and shows, in plain words, that only fresh calls
# signed by a key with the right role get through.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
export PATH="$top/$BUILD/bin:$PATH"
work=$(mktemp -d /tmp/vmseal-demo-gw.XXXXXX)
gwpid=
cleanup() {
	[ -n "$gwpid" ] && kill "$gwpid" 2>/dev/null && wait "$gwpid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
umask 077
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "G1. The gateway gets a TLS certificate and a response-signing key; two admins get keys"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.crt \
	-days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null
vmseal-key generate --out gateway --no-passphrase >/dev/null
for k in alice victor; do
	head -c 24 /dev/urandom | base64 > $k.pass
	vmseal-key generate --out $k --passphrase-file $k.pass >/dev/null
done
echo "alice is an operator, victor may only look (viewer); their keys are encrypted at rest"
{
	printf '{"version": 1, "enforce": true, "keys": [\n'
	vmseal-key policy-entry alice.pub --owner alice --usage admin --role operator; echo ,
	vmseal-key policy-entry victor.pub --owner victor --usage admin --role viewer
	printf '],\n "gateway": {"max_skew_s": 300, "max_validity_s": 300}}\n'
} > policy.json

say "G2. vmseal-gateway starts on 127.0.0.1 (TLS 1.3 only) in front of libvirt test:///default"
vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json \
	--libvirt test:///default --response-key gateway.key --audit-log "$work/audit.jsonl" \
	>/dev/null 2>gw.log &
gwpid=$!
for _ in $(seq 100); do grep -q 'listening on' gw.log && break; sleep 0.05; done
port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' gw.log)
[ -n "$port" ] || { cat gw.log; exit 1; }
url=https://127.0.0.1:$port
echo "listening on $url"

call() { # KEY ARGS...
	local key=$1; shift
	vmseal-call --url "$url" --cacert tls.crt --gateway-pub gateway.pub --key $key.key \
		--passphrase-file $key.pass "$@"
}
status() { # WANT CMD...: runs CMD, prints its exit status in words; stops the demo if unexpected
	local want=$1; shift
	set +e
	"$@" >out 2>err
	local rc=$?
	set -e
	sed 's/^/    /' out
	[ -s err ] && sed 's/^/    /' err
	case $rc in
	0) echo "(exit 0: done)";;
	1) echo "(exit 1: refused)";;
	*) echo "(exit $rc: error)";;
	esac
	[ "$rc" = "$want" ] || { echo "UNEXPECTED: wanted exit $want"; exit 1; }
}

say "G3. Victor lists the domains with a signed call: 200, and the answer is signed by the gateway"
status 0 call victor GET /v1/domains

say "G4. Someone captures a signed request on the wire and sends it twice: 200, then 401 replay"
call victor --dry-run GET /v1/domains 2>req.txt >/dev/null
hdrs=()
while IFS= read -r line; do
	case "$line" in Signature-Input:*|Signature:*) hdrs+=(-H "$line");; esac
done < req.txt
for attempt in first second; do
	set +e
	code=$(curl -s --cacert tls.crt -o body -w '%{http_code}' "${hdrs[@]}" "$url/v1/domains")
	set -e
	echo "    $attempt send: HTTP $code $(head -c 100 body)"
	want=200
	[ $attempt = second ] && want=401
	[ "$code" = $want ] || { echo "UNEXPECTED: wanted HTTP $want"; exit 1; }
done

say "G5. A call without any signature: 401, with the signature the gateway expects"
set +e
curl -s --cacert tls.crt -D hdr -o body "$url/v1/domains"
set -e
sed -n 's/^\(HTTP.*\)\r$/    \1/p; s/^\(Accept-Signature.*\)\r$/    \1/p' hdr
echo "    $(cat body)"

say "G6. Victor (viewer) tries to destroy the running domain: 403"
status 1 call victor POST /v1/domains/test/destroy

say "G7. Alice (operator) shuts it down: allowed"
status 0 call alice POST /v1/domains/test/shutdown

say "G8. Every call and decision is in the hash-chained audit log"
vmseal-audit verify audit.jsonl
grep -o '"event":"[^"]*","object":"[^"]*","decision":"[^"]*"' audit.jsonl | sed 's/^/    /'
