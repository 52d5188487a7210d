#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fleet: gateway throughput with the shared Redis replay store vs the in-process cache, two
# replicas each, same run, rounds interleaved (in-process, Redis, in-process, …), medians.
# Signed GET /v1/domains over TLS 1.3 keep-alive, both replicas loaded at once; the rate of a
# pair is the sum of its two replicas. Target: Redis ≥ 0.8 × in-process.
# Writes a Markdown section to $RESULT (stdout when unset). FLEET_SECONDS, FLEET_ROUNDS,
# FLEET_REDIS_ARGS.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
secs=${FLEET_SECONDS:-4}
rounds=${FLEET_ROUNDS:-3}
out=${RESULT:-/dev/stdout}
export PATH="$top/$BUILD/bin:$PATH"
command -v redis-server >/dev/null || { echo "bench/fleet.sh: redis-server not installed" >&2; exit 1; }
work=$top/$BUILD/bench/fleet
rm -rf "$work"; mkdir -p "$work"
pids=()
trap 'for p in "${pids[@]}" $(cat "$work"/*.pid 2>/dev/null); do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
# shellcheck source=bench/common/gateway_setup.bash
. "$top/bench/common/gateway_setup.bash"
build_gateway_load
cd "$work"
umask 077
make_gateway_keys
{
	printf '{"version": 1, "keys": ['
	vmseal-key policy-entry viewer.pub --usage admin --role viewer
	# one key makes every call (signatures valid 300 s): its bound of live claims, shared by the
	# replicas in Redis, is raised so that the rate is measured, not the bound (the script that
	# keeps it runs all the same)
	printf '], "gateway": {"max_claims_per_key": 1073741824}}\n'
} > policy.json
rport=$((20000 + RANDOM % 20000))
redis-server --port $rport --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
	--logfile "$work/redis.log" &
pids+=($!)
redis_pid=$!
for _ in $(seq 100); do redis-cli -p $rport ping >/dev/null 2>&1 && break; sleep 0.05; done

start() { # NAME [OPTIONS] → echo port
	local name=$1; shift
	vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json \
		--libvirt test:///default --response-key gwresp.key --audit-log "$work/audit-$name.jsonl" \
		"$@" >/dev/null 2>"$name.log" &
	echo $! >"$name.pid" # (this runs in $(...): the pids array is the parent's, so the trap reads these)
	for _ in $(seq 300); do grep -q 'listening on' "$name.log" && break; sleep 0.05; done
	sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$name.log"
}
m1=$(start m1); m2=$(start m2)
# FLEET_REDIS_ARGS: extra options for the Redis replicas (e.g. "--threads 2"), for experiments.
# shellcheck disable=SC2086
r1=$(start r1 --replay-store "redis://127.0.0.1:$rport/0" ${FLEET_REDIS_ARGS:-})
# shellcheck disable=SC2086
r2=$(start r2 --replay-store "redis://127.0.0.1:$rport/0" ${FLEET_REDIS_ARGS:-})
val() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
ticks() { # PID... → user+system clock ticks used so far
	local t=0 p
	for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
	echo $t
}
hz=$(getconf CLK_TCK)
# PORT1 PORT2 PIDS... → summed rate, max p99, summed errors, server CPU µs per request (the two
# replicas plus, for Redis, redis-server)
pair() {
	local p1=$1 p2=$2 t0 p
	shift 2
	t0=$(ticks "$@")
	"$load" --port "$p1" --key viewer.key --conns 16 --seconds "$secs" >a.out &
	p=$!
	"$load" --port "$p2" --key viewer.key --conns 16 --seconds "$secs" >b.out
	wait $p
	awk -v a="$(cat a.out)" -v b="$(cat b.out)" -v dt="$(($(ticks "$@") - t0))" -v hz="$hz" \
		'function g(s,k){match(s,k"=[0-9.]+");return substr(s,RSTART+length(k)+1,RLENGTH-length(k)-1)}
		BEGIN{p=g(a,"p99_ms");q=g(b,"p99_ms");n=g(a,"requests")+g(b,"requests");
		printf "%.0f %.2f %d %.0f\n", g(a,"rate")+g(b,"rate"), (p>q?p:q), g(a,"errors")+g(b,"errors"), n ? dt/hz*1e6/n : 0}'
}
mem=() red=()
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
mpids=($(cat m1.pid m2.pid)) rpids=($(cat r1.pid r2.pid) "$redis_pid")
ratios=()
for i in $(seq "$rounds"); do
	mem+=("$(pair "$m1" "$m2" "${mpids[@]}")")
	red+=("$(pair "$r1" "$r2" "${rpids[@]}")")
	# the two halves of a round ran back to back, under the same outside load
	ratios+=("$(awk -v r="${red[-1]%% *}" -v m="${mem[-1]%% *}" 'BEGIN{printf "%.2f", r/m}')")
done
median() { printf '%s\n' "$@" | sort -n -k1,1 | awk '{a[NR]=$0} END{print a[int((NR+1)/2)]}'; }
mm=$(median "${mem[@]}"); rm_=$(median "${red[@]}")
ratio=$(median "${ratios[@]}")
mcpu=$(printf '%s\n' "${mem[@]}" | awk '{print $4}' | sort -n | awk '{a[NR]=$0} END{print a[int((NR+1)/2)]}')
rcpu=$(printf '%s\n' "${red[@]}" | awk '{print $4}' | sort -n | awk '{a[NR]=$0} END{print a[int((NR+1)/2)]}')
claims=$(redis-cli -p $rport dbsize)
verdict=$(awk -v x="$ratio" 'BEGIN{print (x >= 0.8) ? "**met**" : "**MISSED**"}')
{
	echo "## Fleet: shared Redis replay cache vs in-process (bench/fleet.sh)"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores; two gateway replicas per configuration (default"
	echo "worker threads: one per core, four per core with --replay-store), both loaded at once with"
	echo "signed GET /v1/domains over TLS 1.3 keep-alive"
	echo "(16 connections each, ${secs} s), $rounds rounds (in-process then Redis, back to back),"
	echo "median of the summed rate; the ratio is the median of the rounds' ratios."
	echo "Load average when the run began: $loadavg."
	echo
	echo "| replay cache | rate, req/s (per round) | median req/s | worst p99 ms (median round) | errors |"
	echo "|---|---|---:|---:|---:|"
	echo "| in-process (default), per replica | $(printf '%s ' "${mem[@]%% *}") | ${mm%% *} | $(cut -d' ' -f2 <<<"$mm") | $(cut -d' ' -f3 <<<"$mm") |"
	echo "| Redis \`--replay-store\`, shared | $(printf '%s ' "${red[@]%% *}") | ${rm_%% *} | $(cut -d' ' -f2 <<<"$rm_") | $(cut -d' ' -f3 <<<"$rm_") |"
	echo
	echo "Per-round ratios: ${ratios[*]}. Server CPU per request (median): in-process ${mcpu} µs (two"
	echo "replicas), Redis ${rcpu} µs (two replicas + redis-server)${FLEET_REDIS_ARGS:+; Redis replicas run with \`$FLEET_REDIS_ARGS\`}."
	echo
	echo "Redis / in-process = **$ratio** (target ≥ 0.8): $verdict. Claims held in Redis at the end: $claims"
	echo "(each one a (keyid, nonce) pair, expiring with its signature). Command: \`bench/fleet.sh\`."
} >"$out"
