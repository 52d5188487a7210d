#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Gateway throughput and latency: signed GET /v1/domains on test:///default over TLS 1.3
# keep-alive with signed responses and the audit log on disk, against the crypto ceiling
# C = 1/(1/V + 1/S) where V and S are `openssl speed -multi N ed25519` verify/s and sign/s
# measured in the same run (one verify of the request and one sign of the response per call),
# and against the anchor: a bare libmicrohttpd server with the same TLS and threads doing only
# that crypto (bench/gateway_anchor.c), driven by the same load generator. Gateway and anchor
# are measured in turns (GW_ROUNDS rounds, medians). Also the unsigned /healthz rate, the p99
# latency at half the signed rate (gateway and anchor in turns), and CPU per call beside the
# crypto's own CPU cost. Prints a
# Markdown section with PASS/MISS per target. Needs `make all`.
# GW_SECONDS (default 4) sets each measurement's length, GW_ROUNDS (default 5) the rounds.
set -euo pipefail
# bench/run.sh passes RESULT, the section file to write; alone, the section goes to stdout.
[ -n "${RESULT:-}" ] && exec >"$RESULT"
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
secs=${GW_SECONDS:-4}
rounds=${GW_ROUNDS:-5}
cores=$(nproc)
export PATH="$top/$BUILD/bin:$PATH"
work=$top/$BUILD/bench/gateway # on disk: the audit log's fsyncs must cost what they cost
rm -rf "$work"
mkdir -p "$work"
gwpid= anpid=
trap '[ -n "$gwpid" ] && kill $gwpid 2>/dev/null; [ -n "$anpid" ] && kill $anpid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
# shellcheck source=bench/common/gateway_setup.bash
. "$top/bench/common/gateway_setup.bash"
build_gateway_load
anchor=$top/$BUILD/bench/gateway_anchor
${CC:-cc} -O2 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -o "$anchor" "$top/bench/gateway_anchor.c" \
	$($PKG_CONFIG --cflags --libs libmicrohttpd openssl) -lpthread
cd "$work"
umask 077
make_gateway_keys
{
	printf '{"version": 1, "enforce": true, "keys": ['
	vmseal-key policy-entry viewer.pub --owner bench --usage admin --role viewer
	printf '], "gateway": {"max_skew_s": 300, "max_validity_s": 300, "max_claims_per_key": 1073741824}}\n'
} > policy.json
vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json \
	--libvirt test:///default --response-key gwresp.key --audit-log "$work/audit.jsonl" \
	--threads "$cores" >/dev/null 2>gw.log &
gwpid=$!
for _ in $(seq 300); do grep -q 'listening on' gw.log && break; sleep 0.05; done
port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' gw.log)
[ -n "$port" ] || { cat gw.log >&2; exit 1; }

"$anchor" tls.crt tls.key "$cores" >anchor.out &
anpid=$!
for _ in $(seq 100); do [ -s anchor.out ] && break; sleep 0.05; done
anport=$(awk '{print $2}' anchor.out)
[ -n "$anport" ] || { echo "gateway.sh: the anchor did not start" >&2; exit 1; }

loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
# The ceiling, in this run (before and after the rates; the mean of both).
speed() { openssl speed -multi "$cores" -seconds 3 ed25519 2>/dev/null | grep -E 'EdDSA \(Ed25519\)' | tail -1; }
speed1=$(speed)

val() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END{print NR ? a[int((NR+1)/2)] : 0}'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
cpu_us() { awk -v dt="$1" -v hz="$(getconf CLK_TCK)" -v n="$2" 'BEGIN{printf "%.0f", n ? dt / hz * 1e6 / n : 0}'; }
health=$("$load" --port "$port" --path /healthz --conns 32 --seconds "$secs")
g_rate=() g_cpu=() a_rate=() a_cpu=() g_p99=() g_errors=0 a_errors=0 client=()
for round in $(seq "$rounds"); do
	t0=$(ticks "$gwpid")
	out=$("$load" --port "$port" --key viewer.key --conns 32 --seconds "$secs" --count $((25000 * secs)))
	g_rate+=("$(val rate "$out")") g_p99+=("$(val p99_ms "$out")") client+=("$(val client_cpu_us "$out")")
	g_cpu+=("$(cpu_us $(($(ticks "$gwpid") - t0)) "$(val requests "$out")")")
	g_errors=$((g_errors + $(val errors "$out")))
	t0=$(ticks "$anpid")
	out=$("$load" --port "$anport" --key viewer.key --conns 32 --seconds "$secs" --count $((25000 * secs)))
	a_rate+=("$(val rate "$out")")
	a_cpu+=("$(cpu_us $(($(ticks "$anpid") - t0)) "$(val requests "$out")")")
	a_errors=$((a_errors + $(val errors "$out")))
done
rate=$(median <<<"${g_rate[*]}")
arate=$(median <<<"${a_rate[*]}")
server_us=$(median <<<"${g_cpu[*]}")
anchor_us=$(median <<<"${a_cpu[*]}")
client_us=$(median <<<"${client[*]}")
half=$(awk -v r="$rate" 'BEGIN{printf "%.0f", r/2}')
# Worker threads' CPU ticks in thread order ("a b"); split: the busiest one's share between two.
workers() {
	for t in /proc/$1/task/*; do
		if [ "$(cat "$t/comm")" = MHD-worker ]; then awk '{print $14 + $15}' "$t/stat"; fi
	done | tr '\n' ' '
}
split() { awk -v a="$1" -v b="$2" 'BEGIN{n = split(a, x, " "); split(b, y, " "); for (i = 1; i <= n; i++) d[i] = y[i] - x[i]; t = 0; m = 0; for (i = 1; i <= n; i++) { t += d[i]; if (d[i] > m) m = d[i] } printf "%.0f", t ? 100 * m / t : 0}'; }
# The p99 at half load, gateway and anchor in turns (GW_ROUNDS rounds each, medians), with the
# busiest worker's share of the workers' CPU in each run.
h_rate=() h_p50=() h_p99=() h_busy=() a_p99=() a_busy=() h_errors=0
for round in $(seq "$rounds"); do
	w0=$(workers "$gwpid")
	out=$("$load" --port "$port" --key viewer.key --conns 16 --seconds "$secs" --rate "$half")
	h_rate+=("$(val rate "$out")") h_p50+=("$(val p50_ms "$out")") h_p99+=("$(val p99_ms "$out")")
	h_busy+=("$(split "$w0" "$(workers "$gwpid")")")
	h_errors=$((h_errors + $(val errors "$out")))
	w0=$(workers "$anpid")
	out=$("$load" --port "$anport" --key viewer.key --conns 16 --seconds "$secs" --rate "$half")
	a_p99+=("$(val p99_ms "$out")") a_busy+=("$(split "$w0" "$(workers "$anpid")")")
done
speed2=$(speed)
crypto_us=$(val cpu_us "$("$anchor" --crypto 3000)")
S=$(awk -v a="$(awk '{print $(NF-1)}' <<<"$speed1")" -v b="$(awk '{print $(NF-1)}' <<<"$speed2")" 'BEGIN{printf "%.0f", (a + b) / 2}')
V=$(awk -v a="$(awk '{print $NF}' <<<"$speed1")" -v b="$(awk '{print $NF}' <<<"$speed2")" 'BEGIN{printf "%.0f", (a + b) / 2}')
C=$(awk -v s="$S" -v v="$V" 'BEGIN{printf "%.0f", 1/(1/v + 1/s)}')
ratio=$(awk -v r="$rate" -v c="$C" 'BEGIN{printf "%.2f", r/c}')
aratio=$(awk -v r="$arate" -v c="$C" 'BEGIN{printf "%.2f", r/c}')
ga=$(awk -v r="$rate" -v a="$arate" 'BEGIN{printf "%.2f", a ? r/a : 0}')
p99half=$(median <<<"${h_p99[*]}")
ap99half=$(median <<<"${a_p99[*]}")
audited=$(grep -c '"event":"gateway.domains.list"' audit.jsonl || true)
kill $gwpid; wait $gwpid 2>/dev/null || true
gwpid=
vmseal-audit verify audit.jsonl >/dev/null || { echo "gateway.sh: the audit log does not verify" >&2; exit 1; }
verdict() { awk -v v="$1" -v t="$2" -v le="${3:-}" 'BEGIN{print ((le ? v <= t : v >= t) ? "**PASS**" : "**MISS**")}'; }

echo "### Gateway: signed GET /v1/domains over TLS 1.3 keep-alive ($cores cores, $cores worker threads)"
echo
echo "| what | rate (req/s) | p50 (ms) | p99 (ms) | errors |"
echo "|---|---|---|---|---|"
printf '| unsigned GET /healthz, 32 connections | %s | %s | %s | %s |\n' "$(val rate "$health")" \
	"$(val p50_ms "$health")" "$(val p99_ms "$health")" "$(val errors "$health")"
printf '| signed GET /v1/domains, 32 connections (median of %s rounds: %s) | %s | | %s | %s |\n' "$rounds" \
	"${g_rate[*]}" "$rate" "$(median <<<"${g_p99[*]}")" "$g_errors"
printf '| anchor: bare libmicrohttpd, one verify + one sign per call, 32 connections (%s) | %s | | | %s |\n' \
	"${a_rate[*]}" "$arate" "$a_errors"
printf '| signed, paced at half the gateway rate (%s/s), 16 connections (p99 per round: %s) | %s | %s | %s | %s |\n' \
	"$half" "${h_p99[*]}" "$(median <<<"${h_rate[*]}")" "$(median <<<"${h_p50[*]}")" "$p99half" "$h_errors"
printf '| anchor, paced at the same rate, 16 connections (p99 per round: %s) | | | %s | |\n' "${a_p99[*]}" \
	"$ap99half"
echo
echo "| target | measured | |"
echo "|---|---:|---|"
echo "| signed rate ≥ 0.5 × C | $ratio × | $(verdict "$ratio" 0.5) |"
echo "| goal: signed rate ≥ 0.6 × C | $ratio × | $(verdict "$ratio" 0.6) |"
echo "| p99 at half load ≤ 5 ms | $p99half ms | $(verdict "$p99half" 5 1) |"
echo
echo "Paced runs: the busiest worker thread's share of the workers' CPU, per round: gateway ${h_busy[*]} %,"
echo "anchor ${a_busy[*]} % (50 % is an even split over 2 workers; the anchor lets libmicrohttpd accept,"
echo "whose worker that wakes first takes up to 11 connections in a row). Latency counts from each"
echo "request's scheduled send time, so a stall delays the requests behind it too."
echo
echo "Crypto ceiling in this run: \`openssl speed -multi $cores ed25519\` before and after the rates (mean):"
echo "S = $S sign/s, V = $V verify/s, C = 1/(1/V + 1/S) = $C/s. The anchor reaches $aratio × C; the"
echo "gateway $ga × the anchor. Every signed call verified one request signature, claimed its nonce,"
echo "appended an audit event ($audited in the log on disk, group-committed; the log verifies) and"
echo "signed its response."
echo
echo "CPU per signed call at full load (medians): gateway $server_us µs, anchor $anchor_us µs, load"
echo "generator $client_us µs; the crypto alone (one Ed25519 verify + one sign, CPU time in this run,"
echo "\`gateway_anchor --crypto\`) $crypto_us µs: the gateway spends $(awk -v g="$server_us" -v c="$crypto_us" 'BEGIN{printf "%.2f", c ? g/c : 0}') × the crypto's cost, the anchor $(awk -v g="$anchor_us" -v c="$crypto_us" 'BEGIN{printf "%.2f", c ? g/c : 0}') ×."
echo "The load generator (bench/gateway_load.c) pre-signs its requests and shares the same cores;"
echo "load average when the run began: $loadavg (other work on the machine lowers every figure)."
echo "Command: bench/gateway.sh (GW_SECONDS=$secs GW_ROUNDS=$rounds)."
