#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# SSH certificate issuance through a real vmseal-gateway (--ssh-ca-key, Ed25519): POST
# /v1/ssh/certs over TLS 1.3 keep-alive from 1 and 16 client threads (bench/ssh_bench.c: each
# request RFC 9421-signed, each answer's signature verified, each certificate parsed and its CA
# signature checked), beside `ssh-keygen -s` run once per certificate, the loop a user would
# script. Goal (issue 19): with 16 client threads, at least 10x ssh-keygen's certificates/s.
# Writes its section to $RESULT; run it through bench/run.sh (`bench/run.sh ssh`).
# Knobs: BENCH_SSH_SECONDS (each measurement, default 5), BENCH_SSH_THREADS (default 16).
set -euo pipefail
top=${VMSEAL_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=${BUILD:-build}
BIN=${BIN:-$top/$BUILD/bin}
RESULT=${RESULT:-/dev/stdout}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
secs=${BENCH_SSH_SECONDS:-5}
threads=${BENCH_SSH_THREADS:-16}
cores=$(nproc)
# Gateway workers: every issuance waits for two fsyncs (the decision before the signature, the
# result before the answer), so workers beyond the cores are what lets group commit share them.
gw_threads=${BENCH_SSH_GW_THREADS:-16}
export PATH="$BIN:$PATH"
work=$top/$BUILD/bench/ssh # on disk: the audit log's and serial counter's fsyncs cost what they cost
rm -rf "$work"
mkdir -p "$work/state"
gwpid=
trap '[ -n "$gwpid" ] && kill $gwpid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
drv=$top/$BUILD/bench/ssh_bench
${CC:-cc} -O2 -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -iquote "$top" \
	-o "$drv" "$top/bench/ssh_bench.c" "$top/$BUILD/libvmseal.a" \
	$($PKG_CONFIG --cflags --libs openssl jansson libcurl) -lgfshare -lpthread
cd "$work"
umask 077
val() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.crt \
	-days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null
for k in alice gwresp ca; do vmseal-key generate --out $k --no-passphrase >/dev/null; done
ssh-keygen -q -t ed25519 -N '' -C user -f user
ssh-keygen -q -t ed25519 -N '' -C ca -f sshca
{
	printf '{"version": 1, "keys": ['
	vmseal-key policy-entry alice.pub --owner alice --usage admin --role ssh
	printf '], "gateway": {"max_skew_s": 300, "max_validity_s": 300},\n'
	printf ' "ssh": {"keys": [{"id": "%s", "principals": ["admin"]}]}}\n' "$(vmseal-key id alice.pub)"
} > policy.json

issue() { # issue THREADS: prints the driver's line
	vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json \
		--libvirt test:///default --response-key gwresp.key --audit-log "$work/audit.jsonl" \
		--threads "$gw_threads" --ssh-ca-key ca.key --ssh-state-dir state >/dev/null 2>gw.log &
	gwpid=$!
	for _ in $(seq 300); do grep -q 'listening on' gw.log && break; sleep 0.05; done
	port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' gw.log)
	[ -n "$port" ] || { cat gw.log >&2; exit 1; }
	"$drv" "https://127.0.0.1:$port" alice.key tls.crt gwresp.pub user.pub "$1" "$secs"
	kill $gwpid; wait $gwpid 2>/dev/null || true
	gwpid=
}
keygen() { # certificates/s of `ssh-keygen -s` once per certificate, one after another
	local n=0 t0 t
	t0=$(date +%s%N)
	while :; do
		ssh-keygen -q -s sshca -I "id$n" -n admin -V +10m -z $((n + 1)) user.pub
		n=$((n + 1))
		t=$(( $(date +%s%N) - t0 ))
		[ $t -ge $((secs * 1000000000)) ] && break
	done
	awk -v n=$n -v t=$t 'BEGIN { printf "certs=%d seconds=%.2f rate=%.0f\n", n, t / 1e9, n / (t / 1e9) }'
}
kg_line=$(keygen)
kg=$(val rate "$kg_line")
one_line=$(issue 1)
one=$(val rate "$one_line")
many_line=$(issue "$threads")
many=$(val rate "$many_line")
issued=$(grep -c '"event":"gateway.ssh.cert.issued"' audit.jsonl || true)
ratio=$(awk -v a="$many" -v b="$kg" 'BEGIN { printf "%.1f", a / b }')
verdict=$(awk -v a="$many" -v b="$kg" 'BEGIN { print (a >= 10 * b) ? "met" : "missed" }')
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)

{
	echo "### SSH certificate issuance ($cores cores, load average $loadavg)"
	echo
	echo "| issuer | certificates/s |"
	echo "|---|---:|"
	echo "| \`ssh-keygen -s CA -I id -n admin -V +10m\` once per certificate, one after another | $kg |"
	echo "| vmseal-gateway POST /v1/ssh/certs (\`--threads $gw_threads\`), 1 client thread (one call at a time) | $one |"
	echo "| vmseal-gateway POST /v1/ssh/certs (\`--threads $gw_threads\`), $threads client threads | $many |"
	echo
	echo "Goal: $threads client threads at least 10x ssh-keygen: ${ratio}x, **$verdict**."
	echo
	echo "Command: \`bench/run.sh ssh\` (BENCH_SSH_SECONDS=$secs per figure). Each gateway call is one"
	echo "RFC 9421 request signature (client), one verify, one Ed25519 certificate signature, one"
	echo "durable audit event (group commit), one response signature (gateway), one response verify"
	echo "and one certificate parse and CA-signature check (client); serials are reserved 256 at a"
	echo "time with an fsynced write. Clients, gateway and ssh-keygen share the same $cores cores;"
	echo "figures on this shared machine vary by a factor of two between runs."
	echo "$issued certificates were audited. Raw: ssh-keygen $kg_line; 1 thread $one_line;"
	echo "$threads threads $many_line."
} >"$RESULT"
