#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Gateway throughput and latency: signed GET /v1/domains on test:///default over TLS 1.3
# keep-alive with signed responses, against the crypto ceiling C = 1/(1/V + 1/S) where V and S
# are `openssl speed -multi N ed25519` verify/s and sign/s measured in the same run (one verify
# of the request and one sign of the response per call). Also the unsigned /healthz rate and
# the p99 latency at half the signed rate. Prints a Markdown section. Needs `make all`.
# GW_SECONDS (default 4) sets each measurement's length.
set -euo pipefail
# bench/run.sh passes RESULT, the section file to write; alone, the section goes to stdout.
[ -n "${RESULT:-}" ] && exec >"$RESULT"
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
secs=${GW_SECONDS:-4}
cores=$(nproc)
export PATH="$top/$BUILD/bin:$PATH"
work=$top/$BUILD/bench/gateway # on disk: the audit log's fsyncs must cost what they cost
rm -rf "$work"
mkdir -p "$work"
gwpid=
trap '[ -n "$gwpid" ] && kill $gwpid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
# shellcheck source=bench/common/gateway_setup.bash
. "$top/bench/common/gateway_setup.bash"
build_gateway_load
cd "$work"
umask 077
make_gateway_keys
{
	printf '{"version": 1, "enforce": true, "keys": ['
	vmseal-key policy-entry viewer.pub --owner bench --usage admin --role viewer
	printf '], "gateway": {"max_skew_s": 300, "max_validity_s": 300}}\n'
} > policy.json
vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json \
	--libvirt test:///default --response-key gwresp.key --audit-log "$work/audit.jsonl" \
	--threads "$cores" >/dev/null 2>gw.log &
gwpid=$!
for _ in $(seq 300); do grep -q 'listening on' gw.log && break; sleep 0.05; done
port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' gw.log)
[ -n "$port" ] || { cat gw.log >&2; exit 1; }

loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
# The ceiling, in this run.
speed=$(openssl speed -multi "$cores" -seconds 3 ed25519 2>/dev/null | grep -E 'EdDSA \(Ed25519\)' | tail -1)
S=$(awk '{print $(NF-1)}' <<<"$speed")
V=$(awk '{print $NF}' <<<"$speed")
C=$(awk -v s="$S" -v v="$V" 'BEGIN{printf "%.0f", 1/(1/v + 1/s)}')

val() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
health=$("$load" --port "$port" --path /healthz --conns 32 --seconds "$secs")
ticks() { awk '{print $14 + $15}' "/proc/$gwpid/stat"; }
t0=$(ticks)
signed=$("$load" --port "$port" --key viewer.key --conns 32 --seconds "$secs" --count $((25000 * secs)))
server_us=$(awk -v dt="$(($(ticks) - t0))" -v hz="$(getconf CLK_TCK)" -v n="$(val requests "$signed")" \
	'BEGIN{printf "%.0f", n ? dt / hz * 1e6 / n : 0}')
rate=$(val rate "$signed")
half=$(awk -v r="$rate" 'BEGIN{printf "%.0f", r/2}')
halfrun=$("$load" --port "$port" --key viewer.key --conns 16 --seconds "$secs" --rate "$half")
ratio=$(awk -v r="$rate" -v c="$C" 'BEGIN{printf "%.2f", r/c}')
audited=$(grep -c '"event":"gateway.domains.list"' audit.jsonl || true)

echo "### Gateway: signed GET /v1/domains over TLS 1.3 keep-alive ($cores cores, $cores worker threads)"
echo
echo "| what | rate (req/s) | p50 (ms) | p99 (ms) | errors |"
echo "|---|---|---|---|---|"
printf '| unsigned GET /healthz, 32 connections | %s | %s | %s | %s |\n' "$(val rate "$health")" \
	"$(val p50_ms "$health")" "$(val p99_ms "$health")" "$(val errors "$health")"
printf '| signed GET /v1/domains, 32 connections | %s | %s | %s | %s |\n' "$rate" \
	"$(val p50_ms "$signed")" "$(val p99_ms "$signed")" "$(val errors "$signed")"
printf '| signed, paced at half that (%s/s), 16 connections | %s | %s | %s | %s |\n' "$half" \
	"$(val rate "$halfrun")" "$(val p50_ms "$halfrun")" "$(val p99_ms "$halfrun")" "$(val errors "$halfrun")"
echo
echo "Crypto ceiling in this run: \`openssl speed -multi $cores ed25519\`: S = $S sign/s, V = $V verify/s,"
echo "C = 1/(1/V + 1/S) = $C/s. Signed rate / C = **$ratio** (target ≥ 0.5); p99 at half load"
echo "$(val p99_ms "$halfrun") ms (target ≤ 5 ms). Every signed call verified one request signature, claimed"
echo "its nonce, appended an audit event ($audited in the log, group-committed) and signed its response."
echo "CPU per signed call at full load: gateway $server_us µs, load generator $(val client_cpu_us "$signed") µs"
echo "(the crypto alone is 1/(V/$cores) + 1/(S/$cores) = $(awk -v s="$S" -v v="$V" -v c="$cores" 'BEGIN{printf "%.0f", 1e6*c/v + 1e6*c/s}') µs of one core)."
echo "The load generator (bench/gateway_load.c) pre-signs its requests and shares the same cores;"
echo "load average when the run began: $loadavg (other work on the machine lowers every figure)."
echo "Command: bench/gateway.sh (GW_SECONDS=$secs)."
