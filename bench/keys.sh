#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Signatures per second by algorithm for file keys and SoftHSM2 token keys (key_sign in a loop,
# one thread, a 420-byte message like a DSSE PAE), and remote signing (POST /v1/sign through a
# real vmseal-gateway over TLS 1.3 keep-alive, request signed and answer verified by the client).
# Writes its section to $RESULT; run it through bench/run.sh (`bench/run.sh keys`).
# Knobs: BENCH_KEYS_SECONDS (each measurement, default 3), BENCH_KEYS_THREADS (remote clients,
# default 16: the audit event of each call is durable, so concurrency is what lets group
# commit share fsyncs), BENCH_KEYS_ROUNDS (rounds of the remote figures, default 5, medians),
# BENCH_KEYS_GW_THREADS (the gateways' --threads, default one per core).
set -euo pipefail
top=${VMSEAL_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=${BUILD:-build}
BIN=${BIN:-$top/$BUILD/bin}
RESULT=${RESULT:-/dev/stdout}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
secs=${BENCH_KEYS_SECONDS:-3}
cores=$(nproc)
threads=${BENCH_KEYS_THREADS:-16}
rounds=${BENCH_KEYS_ROUNDS:-5}
# Worker threads of the gateways (the default, one per core: a signing call's answer waits for
# its fdatasync without holding a worker).
gwthreads=${BENCH_KEYS_GW_THREADS:-$cores}
export PATH="$BIN:$PATH"
work=$top/$BUILD/bench/keys # on disk: the gateway's audit fsyncs cost what they cost
rm -rf "$work"
mkdir -p "$work"
trap 'stop_gateways; rm -rf "$work" ${shm:+"$shm"}' EXIT
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
# gateway AUDIT_LOG SIGNING_KEY [OPTIONS]: starts a gateway; sets gwport, appends to gwpids.
gwpids=()
gateway() {
	local audit=$1; shift
	local log=$work/gw.$RANDOM.log
	gwlog=$log
	vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json \
		--libvirt test:///default --response-key gwresp.key --audit-log "$audit" \
		--threads "$gwthreads" --signing-key "$@" >/dev/null 2>"$log" &
	gwpids+=($!)
	for _ in $(seq 300); do grep -q 'listening on' "$log" && break; sleep 0.05; done
	gwport=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$log")
	[ -n "$gwport" ] || { cat "$log" >&2; exit 1; }
}
stop_gateways() { [ ${#gwpids[@]} -gt 0 ] || return 0; kill "${gwpids[@]}" 2>/dev/null; wait "${gwpids[@]}" 2>/dev/null || true; gwpids=(); }
remote() { # remote PORT THREADS: prints the driver's line
	"$drv" remote "https://127.0.0.1:$1" signer.key tls.crt gwresp.pub "$2" "$secs"
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END{print NR ? a[int((NR+1)/2)] : 0}'; }

# Two gateways with the same options, one with its audit log on this disk (every signing event
# durable before its answer: a real fdatasync), one on tmpfs (fdatasync costs nothing), measured
# in turns so that both see the same machine.
shm=$(mktemp -d /dev/shm/vmseal-bench.XXXXXX)
gateway "$work/audit.jsonl" f_ed25519.key
disk_port=$gwport disk_pid=${gwpids[-1]} disk_log=$gwlog
gateway "$shm/audit.jsonl" f_ed25519.key
shm_port=$gwport
fsync=$("$drv" fsync "$work/fsync.probe" 300)
r1=() r1shm=() r16=() r16shm=() ratios=() cpu1=()
for round in $(seq "$rounds"); do
	t0=$(ticks "$disk_pid")
	line=$(remote "$disk_port" 1)
	n=$(val ok "$line")
	cpu1+=("$(awk -v d=$(($(ticks "$disk_pid") - t0)) -v hz="$(getconf CLK_TCK)" -v n="$n" \
		'BEGIN{printf "%.0f", n ? d / hz * 1e6 / n : 0}')")
	r1+=("$(val rate "$line")")
	r1shm+=("$(val rate "$(remote "$shm_port" 1)")")
	d=$(val rate "$(remote "$disk_port" "$threads")")
	m=$(val rate "$(remote "$shm_port" "$threads")")
	r16+=("$d") r16shm+=("$m")
	ratios+=("$(awk -v d="$d" -v m="$m" 'BEGIN{printf "%.2f", m ? d / m : 0}')")
done
fsync_after=$("$drv" fsync "$work/fsync.probe" 300)
stop_gateways
rm -rf "$shm"
remote_file1=$(median <<<"${r1[*]}")
remote_tmpfs1=$(median <<<"${r1shm[*]}")
remote_file=$(median <<<"${r16[*]}")
remote_tmpfs=$(median <<<"${r16shm[*]}")
ratio=$(median <<<"${ratios[*]}")
gw_cpu1=$(median <<<"${cpu1[*]}")
remote_hsm=-
if [ $hsm = yes ]; then
	gateway "$work/audit-hsm.jsonl" "pkcs11:token=bench;object=p256" --signing-passphrase-file pin
	remote_hsm=$(val rate "$(remote "$gwport" "$threads")")
	stop_gateways
fi
fmt_fsync() { printf 'p50 %s ms, p90 %s ms, p99 %s ms' "$(val p50_ms "$1")" "$(val p90_ms "$1")" "$(val p99_ms "$1")"; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN{print (v >= t ? "**PASS**" : "**MISS**")}'; }
signed_calls=$(grep -c '"event":"gateway.sign"' audit.jsonl || true)
vmseal-audit verify audit.jsonl >/dev/null || { echo "keys.sh: the audit log does not verify" >&2; exit 1; }
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
	echo "| remote signing: POST /v1/sign over TLS 1.3 keep-alive (medians of $rounds rounds) | requests/s |"
	echo "|---|---:|"
	echo "| service key: Ed25519 file, 1 client thread (one call at a time), audit log on disk | $remote_file1 |"
	echo "| service key: Ed25519 file, 1 client thread, audit log on tmpfs (the path without its fdatasync) | $remote_tmpfs1 |"
	echo "| service key: Ed25519 file, $threads client threads, audit log on disk | $remote_file |"
	echo "| service key: Ed25519 file, $threads client threads, audit log on tmpfs (fsync free) | $remote_tmpfs |"
	echo "| service key: P-256 in SoftHSM2, $threads client threads, audit log on disk | $remote_hsm |"
	echo
	echo "| target | measured | |"
	echo "|---|---:|---|"
	echo "| $threads client threads, audit log on disk ≥ 0.9 × on tmpfs (median of the rounds' ratios) | $ratio × | $(verdict "$ratio" 0.9) |"
	echo "| 1 client thread ≥ 1000 signatures/s, audit log on disk | $remote_file1/s | $(verdict "$remote_file1" 1000) |"
	echo
	echo "Rounds (1 thread on disk; 1 on tmpfs; $threads on disk; $threads on tmpfs; ratio): $(for i in "${!r1[@]}"; do printf '%s; %s; %s; %s; %s. ' "${r1[$i]}" "${r1shm[$i]}" "${r16[$i]}" "${r16shm[$i]}" "${ratios[$i]}"; done)"
	echo "fdatasync after a 400-byte append on this disk (300 times) in the same run: before the rounds $(fmt_fsync "$fsync"); after them $(fmt_fsync "$fsync_after")."
	echo "Gateway CPU per call with one client thread: $gw_cpu1 µs. The gateway with its log on disk, over all rounds (its own count): $(sed -n 's/.*audit: \([0-9]*\) events, \([0-9]*\) fdatasyncs, \([0-9.]*\) ms.*/\1 audit events, \2 fdatasyncs of \3 ms on average/p' "$disk_log")."
	echo
	echo "Command: \`bench/run.sh keys\` (BENCH_KEYS_SECONDS=$secs per figure, BENCH_KEYS_ROUNDS=$rounds,"
	echo "gateways with --threads $gwthreads). Sign rates: one thread calling key_sign on a 420-byte"
	echo "message (bench/keys_bench.c). Remote: each call is one RFC 9421 request signature (client),"
	echo "one verify + one DSSE signature + one response signature + two audit events, the second"
	echo "durable before the answer and covering the first (gateway, group commit: concurrent callers"
	echo "share one fdatasync), one response verify (client); clients and gateways share the same"
	echo "$cores cores. $signed_calls signing events were audited on disk; that log verifies."
} >"$RESULT"
