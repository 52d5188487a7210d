#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Digest throughput and memory: vmseal-digest against openssl dgst, sha256sum and b3sum on one
# warm random file, in the same run; peak RSS on a sparse file. Writes its section to $RESULT.
# Run it through bench/run.sh (`make bench`, or `bench/run.sh digest` for this section alone).
#
# Knobs (environment): BENCH_DIGEST_GIB (size of the random file, default 4),
# BENCH_RUNS (timed runs per command, default 5), BENCH_SPARSE_GIB (default 10).
set -euo pipefail
top=${VMSEAL_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-$top/build/bin}
DATA=${BENCH_DATA:-$top/bench/data}
RESULT=${RESULT:-/dev/stdout}
GIB=${BENCH_DIGEST_GIB:-4}
RUNS=${BENCH_RUNS:-5}
SPARSE_GIB=${BENCH_SPARSE_GIB:-10}
PY=/usr/bin/python3
DIGEST="$BIN/vmseal-digest"
tmp=$(mktemp -d /tmp/vmseal-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

[ -x "$DIGEST" ] || { echo "digest bench: $DIGEST missing (make all first)" >&2; exit 2; }
mkdir -p "$DATA"

# Random input, made once and kept: AES-CTR keystream, fast and the same bytes on every machine.
img="$DATA/random-${GIB}g.img"
size=$((GIB * 1024 * 1024 * 1024))
if [ "$(stat -c %s "$img" 2>/dev/null || echo 0)" != "$size" ]; then
	echo "digest bench: creating $img ($GIB GiB of random data)"
	head -c "$size" /dev/zero | openssl enc -aes-128-ctr -pass pass:vmseal-bench -nosalt -pbkdf2 \
		-out "$img.tmp"
	mv "$img.tmp" "$img"
fi
avail_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
warm_note="warm in the page cache"
if [ "$avail_kb" -lt $((size / 1024 + 1024 * 1024)) ]; then
	warm_note="NOT fully cacheable (MemAvailable $((avail_kb / 1024)) MiB): figures include disk reads"
fi
echo "digest bench: warming $img"
cat "$img" >/dev/null; cat "$img" >/dev/null

# Idle share of all CPUs over one second, in percent, from /proc/stat.
idle_percent() {
	local a b
	a=($(head -1 /proc/stat)); sleep 1; b=($(head -1 /proc/stat))
	local busy=0 total=0 i
	for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
	echo $(((b[4] - a[4] + b[5] - a[5]) * 100 / (total > 0 ? total : 1)))
}
# Waits (at most BENCH_QUIET_WAIT seconds, default 300) for the machine to be 90% idle, since
# other work on these shared cores would be measured as slowness of whatever runs beside it.
quiet_wait() {
	local deadline=$((SECONDS + ${BENCH_QUIET_WAIT:-300})) idle
	while idle=$(idle_percent); [ "$idle" -lt 90 ] && [ $SECONDS -lt $deadline ]; do
		echo "digest bench: machine only $idle% idle, waiting"
		sleep 4
	done
	idle_start=$idle
}

quiet_wait
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "digest bench: openssl speed (one core)"
one_core_kbs=$(openssl speed -seconds 3 -bytes 4194304 sha256 2>/dev/null | awk '$1 == "sha256" {print $2}')
one_core_kbs=${one_core_kbs%k}   # "1733645.65k": thousands of bytes per second

# Commands timed in the same run: name|command line
cmds=("openssl dgst -sha256|openssl dgst -sha256 $img"
      "sha256sum|sha256sum $img")
if command -v b3sum >/dev/null; then
	cmds+=("b3sum --num-threads 2|b3sum --num-threads 2 $img")
else
	b3_note="b3sum not installed (apt-get install b3sum): row skipped"
fi
cmds+=("vmseal-digest|$DIGEST $img"
       "vmseal-digest --threads 1|$DIGEST --threads 1 $img"
       "vmseal-digest --sha256|$DIGEST --sha256 $img")

# Sanity before timing: the binary under test computes the right thing on this very file.
echo "digest bench: checking vmseal-digest against tests/merkle_ref.py and openssl"
read -r d_root d_size d_sha _ <<<"$("$DIGEST" --sha256 "$img")"
read -r r_root r_size _ <<<"$($PY "$top/tests/merkle_ref.py" "$img")"
o_sha=$(openssl dgst -sha256 -r "$img" | cut -d' ' -f1)
if [ "$d_root" != "$r_root" ] || [ "$d_size" != "$r_size" ] || [ "$d_sha" != "$o_sha" ]; then
	echo "digest bench: vmseal-digest disagrees with the reference ($d_root vs $r_root)" >&2
	exit 1
fi

# Runs are interleaved (round r runs every command once) so that a burst of other work on this
# shared machine hits all commands alike instead of one command's whole series. Round 0 warms up.
quiet_wait
json="$tmp/times.json"
if command -v hyperfine >/dev/null; then
	timer="hyperfine, 1 warm-up round + $RUNS rounds, commands interleaved, medians"
	args=()
	for c in "${cmds[@]}"; do args+=(-n "${c%%|*}" "${c#*|}"); done
	for r in $(seq 0 "$RUNS"); do
		echo "digest bench: round $r of $RUNS"
		hyperfine -N --style none --runs 1 --export-json "$tmp/round-$r.json" "${args[@]}" >/dev/null
	done
	$PY - "$json" "$tmp"/round-[1-9]*.json <<'PYEOF'
import json, sys
times = {}
for path in sys.argv[2:]:
    for r in json.load(open(path))["results"]:
        times.setdefault(r["command"], []).extend(r["times"])
json.dump({"results": [{"command": n, "times": t} for n, t in times.items()]}, open(sys.argv[1], "w"))
PYEOF
else
	timer="no hyperfine: 1 warm-up round + $RUNS rounds, commands interleaved, medians"
	printf '%s\n' "${cmds[@]}" | $PY -c '
import json, shlex, subprocess, sys, time
cmds = [l.rstrip("\n").split("|", 1) for l in sys.stdin]
runs = int(sys.argv[1]); times = {n: [] for n, _ in cmds}
for r in range(runs + 1):
    for n, c in cmds:
        t = time.perf_counter()
        subprocess.run(shlex.split(c), check=True, stdout=subprocess.DEVNULL)
        if r:  # round 0 warms up
            times[n].append(time.perf_counter() - t)
json.dump({"results": [{"command": n, "times": times[n]} for n, _ in cmds]}, open(sys.argv[2], "w"))
' "$RUNS" "$json"
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# Peak RSS on a sparse file much larger than any buffer (reads zeros, no disk).
sparse="$DATA/sparse-${SPARSE_GIB}g.img"
[ "$(stat -c %s "$sparse" 2>/dev/null || echo 0)" = $((SPARSE_GIB << 30)) ] || truncate -s "${SPARSE_GIB}G" "$sparse"
rss_kb() {
	/usr/bin/time -v "$@" 2>"$tmp/timev" >/dev/null
	awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/timev"
}
echo "digest bench: peak RSS on $sparse"
rss=$(rss_kb "$DIGEST" "$sparse")
rss_sha=$(rss_kb "$DIGEST" --sha256 "$sparse")

# Hook for the lead: vmseal-verify <= 1.1 x vmseal-digest needs a policy and an attestation for
# $img. Fill in verify_time (median seconds of `vmseal-verify --policy P IMAGE`) to enable the row.
verify_time=""
if [ ! -x "$BIN/vmseal-verify" ]; then
	verify_note="skipped: ${BIN#"$top"/}/vmseal-verify absent"
else
	verify_note="skipped: policy + attestation set-up not written yet (hook in bench/digest.sh)"
fi

$PY - "$json" "$size" "$one_core_kbs" "$rss" "$rss_sha" "$SPARSE_GIB" "$verify_time" "${verify_note:-}" \
	>"$tmp/section.md" <<'EOF'
import json, statistics, sys
jpath, size, one_core_kbs, rss, rss_sha, sparse_gib, verify_time, verify_note = sys.argv[1:9]
size = int(size)
res = {r["command"]: r["times"] for r in json.load(open(jpath))["results"]}
med = {n: statistics.median(t) for n, t in res.items()}
gbs = lambda s: size / s / 1e9
one_core = float(one_core_kbs) * 1e3 / 1e9
print("| command | median s | min s | max s | GB/s (median) |")
print("|---|---:|---:|---:|---:|")
for n, t in res.items():
    print(f"| `{n}` | {med[n]:.3f} | {min(t):.3f} | {max(t):.3f} | {gbs(med[n]):.2f} |")
print(f"| `openssl speed -bytes 4194304 sha256` (one core) | | | | {one_core:.2f} |")
print()
d = gbs(med["vmseal-digest"])
r1 = d / gbs(med["openssl dgst -sha256"])
r2 = d / (2 * one_core)
ok = lambda c: "**met**" if c else "**MISSED**"
print("| target | measured | |")
print("|---|---:|---|")
print(f"| vmseal-digest ≥ 1.8 × `openssl dgst -sha256` throughput | {r1:.2f} × | {ok(r1 >= 1.8)} |")
print(f"| vmseal-digest ≥ 0.85 × 2 × one-core SHA-256 ({2 * one_core:.2f} GB/s) | {r2:.2f} × | {ok(r2 >= 0.85)} |")
if verify_time:
    r3 = float(verify_time) / med["vmseal-digest"]
    print(f"| vmseal-verify ≤ 1.1 × vmseal-digest time | {r3:.2f} × | {ok(r3 <= 1.1)} |")
else:
    print(f"| vmseal-verify ≤ 1.1 × vmseal-digest time | — | {verify_note} |")
for label, kb in (("vmseal-digest", rss), ("vmseal-digest --sha256", rss_sha)):
    mib = int(kb) / 1024
    print(f"| peak RSS of `{label}` on a {sparse_gib} GiB sparse file ≤ 64 MiB | {mib:.1f} MiB | {ok(mib <= 64)} |")
EOF

{
	echo "## Image digest (bench/digest.sh)"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -1)," \
		"$(uname -r), $(openssl version | cut -d' ' -f1-2)). Input: $GIB GiB of random data," \
		"$warm_note. Timing: $timer. CPUs $idle_start% idle just before timing; load average" \
		"before/after: $load_before / $load_after (the machine is shared with other work, which" \
		"shows up as slowness of whatever runs beside it). GB = 10^9 bytes."
	echo
	cat "$tmp/section.md"
	[ -n "${b3_note:-}" ] && { echo; echo "$b3_note"; }
	echo
	echo "vmseal-digest's digest of the input was checked against tests/merkle_ref.py and its"
	echo "--sha256 column against \`openssl dgst -sha256\` before timing."
} >"$RESULT"
cat "$RESULT"
