#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Signatures per second by algorithm for file keys and SoftHSM2 token keys (key_sign in a loop,
# one thread, a 420-byte message like a DSSE PAE), and remote signing (POST /v1/sign through a
# real vmseal-gateway over TLS 1.3 keep-alive, request signed and answer verified by the client).
# Writes its section to $RESULT; run it through bench/run.sh (`bench/run.sh keys`).
# Knobs: BENCH_KEYS_SECONDS (each measurement, default 3), BENCH_KEYS_THREADS (remote clients,
# default 16: the audit event of each call is durable, so concurrency is what lets group
# commit share fsyncs).
set -euo pipefail
top=${VMSEAL_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=${BUILD:-build}
BIN=${BIN:-$top/$BUILD/bin}
RESULT=${RESULT:-/dev/stdout}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
secs=${BENCH_KEYS_SECONDS:-3}
cores=$(nproc)
threads=${BENCH_KEYS_THREADS:-16}
export PATH="$BIN:$PATH"
work=$top/$BUILD/bench/keys # on disk: the gateway's audit fsyncs cost what they cost
rm -rf "$work"
mkdir -p "$work"
gwpid=
trap '[ -n "$gwpid" ] && kill $gwpid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
drv=$top/$BUILD/bench/keys_bench
${CC:-cc} -O2 -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -iquote "$top" \
	-o "$drv" "$top/bench/keys_bench.c" "$top/$BUILD/libvmseal.a" \
	$($PKG_CONFIG --cflags --libs openssl jansson libcurl) -lgfshare -lpthread
cd "$work"
umask 077
val() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
declare -A file_rate hsm_rate
for alg in ed25519 p256 rsa3072; do
	vmseal-key generate --alg $alg --out f_$alg --no-passphrase >/dev/null
	file_rate[$alg]=$(val rate "$("$drv" sign f_$alg.key - "$secs")")
done

# SoftHSM2 through pkcs11-provider, when both are installed.
hsm=no
moddir=$(openssl version -m | sed -n 's/^MODULESDIR: "\(.*\)"/\1/p')
module=$(ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so 2>/dev/null | head -1 || true)
if command -v softhsm2-util >/dev/null && [ -f "$moddir/pkcs11.so" ] && [ -n "$module" ]; then
	hsm=yes
	mkdir tokens
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$work" > softhsm2.conf
	export SOFTHSM2_CONF=$work/softhsm2.conf
	softhsm2-util --init-token --free --label bench --pin 1234 --so-pin 5678 >/dev/null
	printf 'openssl_conf = i\n[i]\nproviders = p\n[p]\ndefault = d\npkcs11 = k\n[d]\nactivate = 1\n[k]\nmodule = %s\npkcs11-module-path = %s\npkcs11-module-quirks = no-deinit\nactivate = 1\n' \
		"$moddir/pkcs11.so" "$module" > openssl.cnf
	export OPENSSL_CONF=$work/openssl.cnf
	echo 1234 > pin
	for alg in ed25519 p256 rsa3072; do
		vmseal-key generate --alg $alg --pkcs11 "pkcs11:token=bench;object=$alg" --passphrase-file pin --out h_$alg >/dev/null
		hsm_rate[$alg]=$(val rate "$("$drv" sign "pkcs11:token=bench;object=$alg" pin "$secs")")
	done
fi

# Remote signing through the gateway, with a file key and (if available) a token key.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.crt \
	-days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null
vmseal-key generate --out signer --no-passphrase >/dev/null
vmseal-key generate --out gwresp --no-passphrase >/dev/null
{
	printf '{"version": 1, "keys": ['
	vmseal-key policy-entry signer.pub --owner bench --usage admin --role signer
	printf '], "gateway": {"max_skew_s": 300, "max_validity_s": 300, "signers": [{"key": "%s", "templates": ["*"], "max_validity_s": 31536000, "max_version": 1000000}]}}\n' \
		"$(vmseal-key id signer.pub)"
} > policy.json
remote() { # remote THREADS SIGNING_KEY [OPTIONS]: prints the driver's line
	local n=$1; shift
	vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json \
		--libvirt test:///default --response-key gwresp.key --audit-log "${AUDIT:-$work/audit.jsonl}" \
		--threads "$cores" --signing-key "$@" >/dev/null 2>gw.log &
	gwpid=$!
	for _ in $(seq 300); do grep -q 'listening on' gw.log && break; sleep 0.05; done
	port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' gw.log)
	[ -n "$port" ] || { cat gw.log >&2; exit 1; }
	"$drv" remote "https://127.0.0.1:$port" signer.key tls.crt gwresp.pub "$n" "$secs"
	kill $gwpid; wait $gwpid 2>/dev/null || true
	gwpid=
}
remote_file1=$(val rate "$(remote 1 f_ed25519.key)")
remote_file=$(val rate "$(remote "$threads" f_ed25519.key)")
shm=$(mktemp -d /dev/shm/vmseal-bench.XXXXXX)
remote_tmpfs=$(val rate "$(AUDIT=$shm/audit.jsonl remote "$threads" f_ed25519.key)")
rm -rf "$shm"
remote_hsm=-
[ $hsm = yes ] && remote_hsm=$(val rate "$(remote "$threads" "pkcs11:token=bench;object=p256" --signing-passphrase-file pin)")
signed_calls=$(grep -c '"event":"gateway.sign"' audit.jsonl || true)
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)

{
	echo "### Key signatures and remote signing ($cores cores, load average $loadavg)"
	echo
	echo "| key | ed25519 sign/s | p256 sign/s | rsa3072 sign/s |"
	echo "|---|---:|---:|---:|"
	echo "| file (OpenSSL, in process) | ${file_rate[ed25519]} | ${file_rate[p256]} | ${file_rate[rsa3072]} |"
	if [ $hsm = yes ]; then
		echo "| SoftHSM2 via pkcs11-provider | ${hsm_rate[ed25519]} | ${hsm_rate[p256]} | ${hsm_rate[rsa3072]} |"
	else
		echo "| SoftHSM2 via pkcs11-provider | (not installed) | | |"
	fi
	echo
	echo "| remote signing: POST /v1/sign over TLS 1.3 keep-alive | requests/s |"
	echo "|---|---:|"
	echo "| service key: Ed25519 file, 1 client thread (one call at a time) | $remote_file1 |"
	echo "| service key: Ed25519 file, $threads client threads | $remote_file |"
	echo "| service key: Ed25519 file, $threads client threads, audit log on tmpfs (fsync free) | $remote_tmpfs |"
	echo "| service key: P-256 in SoftHSM2, $threads client threads | $remote_hsm |"
	echo
	echo "Command: \`bench/run.sh keys\` (BENCH_KEYS_SECONDS=$secs per figure). Sign rates: one thread"
	echo "calling key_sign on a 420-byte message (bench/keys_bench.c). Remote: each call is one"
	echo "RFC 9421 request signature (client), one verify + one DSSE signature + one response"
	echo "signature + one durable audit event (gateway, group commit), one response verify (client);"
	echo "clients and gateway share the same $cores cores. $signed_calls signing events were audited."
} >"$RESULT"
