#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Image signing and verification against what a user would pick instead: vmseal-sign and
# vmseal-verify beside minisign (prehashed), signify (signify-openbsd), gpg --detach-sign /
# --verify and openssl dgst -sign / -verify, on warm 1 GiB and 10 GiB random images, in the same
# run: wall time (interleaved rounds, bench/interleave.py), CPU time and peak RSS. Writes its
# section to $RESULT. Run it through bench/run.sh (`bench/run.sh sign`).
#
# Knobs (environment): BENCH_SIGN_GIBS (image sizes in GiB, default "1 10"), BENCH_SIGN_RUNS
# (timed rounds, default 3), BENCH_QUIET_WAIT (seconds interleave.py may wait for a quiet
# machine, default 300), BENCH_NICE.
set -euo pipefail
top=${VMSEAL_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-$top/build/bin}
DATA=${BENCH_DATA:-$top/bench/data}
RESULT=${RESULT:-/dev/stdout}
GIBS=${BENCH_SIGN_GIBS:-1 10}
RUNS=${BENCH_SIGN_RUNS:-3}
PY=/usr/bin/python3
NICE=${BENCH_NICE:-$([ "$(id -u)" = 0 ] && echo -20 || echo 0)}
prio=(nice -n "$NICE")

for b in vmseal-sign vmseal-verify vmseal-key; do
	[ -x "$BIN/$b" ] || { echo "sign bench: $BIN/$b missing (make all first)" >&2; exit 2; }
done
missing=()
for t in minisign signify-openbsd gpg openssl hyperfine; do
	command -v "$t" >/dev/null || missing+=("$t")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "sign bench: missing ${missing[*]}: apt-get install -y minisign signify-openbsd gnupg openssl hyperfine" >&2
	exit 2
fi
mkdir -p "$DATA"
tmp=$(mktemp -d "$DATA/sign-bench.XXXXXX")
export GNUPGHOME=$tmp/gnupg
cleanup() {
	gpgconf --kill all >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# ---- keys, one per tool (no passphrase: the benchmark times hashing and signing, not prompts) --
echo "sign bench: making keys"
"$BIN/vmseal-key" generate --out "$tmp/vs" --no-passphrase >/dev/null
{
	printf '{"version": 1, "enforce": true, "keys": ['
	"$BIN/vmseal-key" policy-entry "$tmp/vs.pub" --owner pipeline --usage template
	printf '], "templates": [{"match": "bench", "keys": ["%s"], "threshold": 1, "min_version": 1}]}\n' \
		"$("$BIN/vmseal-key" id "$tmp/vs.pub")"
} >"$tmp/policy.json"
minisign -G -W -f -p "$tmp/mk.pub" -s "$tmp/mk.key" >/dev/null
signify-openbsd -G -n -p "$tmp/sk.pub" -s "$tmp/sk.sec"
mkdir -m 0700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'vmseal bench <bench@localhost>' ed25519 sign never 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ossl.key" 2>/dev/null
openssl pkey -in "$tmp/ossl.key" -pubout -out "$tmp/ossl.pub"

# name|sign command|verify command, with @IMG@ and @SIG@ placeholders.
tools=(
	"vmseal|$BIN/vmseal-sign --key $tmp/vs.key --template bench --template-version 1 --force -o @SIG@ @IMG@|$BIN/vmseal-verify --policy $tmp/policy.json --attestation @SIG@ @IMG@"
	"minisign|minisign -S -s $tmp/mk.key -m @IMG@ -x @SIG@|minisign -V -q -p $tmp/mk.pub -m @IMG@ -x @SIG@"
	"signify|sh -c 'rm -f @SIG@ && exec signify-openbsd -S -s $tmp/sk.sec -m @IMG@ -x @SIG@'|signify-openbsd -V -q -p $tmp/sk.pub -m @IMG@ -x @SIG@"
	"gpg|gpg --batch --yes --quiet --detach-sign -o @SIG@ @IMG@|gpg --batch --quiet --verify @SIG@ @IMG@"
	"openssl|openssl dgst -sha256 -sign $tmp/ossl.key -out @SIG@ @IMG@|openssl dgst -sha256 -verify $tmp/ossl.pub -signature @SIG@ @IMG@"
)
fill() { local s=${1//@IMG@/$2}; echo "${s//@SIG@/$3}"; }

rss_cpu() { # prints "peak-RSS-KiB CPU-seconds" of one run of the command line $1
	/usr/bin/time -f '%M %U %S' -o "$tmp/timev" sh -c "$1" >/dev/null 2>&1 ||
		{ echo "failed"; return; }
	awk '{printf "%d %.2f\n", $1, $2 + $3}' "$tmp/timev"
}

sections=()
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for gib in $GIBS; do
	img="$DATA/random-${gib}g.img"
	size=$((gib * 1024 * 1024 * 1024))
	if [ "$(stat -c %s "$img" 2>/dev/null || echo 0)" != "$size" ]; then
		echo "sign bench: creating $img ($gib GiB of random data)"
		head -c "$size" /dev/zero | openssl enc -aes-128-ctr -pass pass:vmseal-bench -nosalt -pbkdf2 \
			-out "$img.tmp"
		mv "$img.tmp" "$img"
	fi
	echo "sign bench: warming $img"
	cat "$img" >/dev/null; cat "$img" >/dev/null
	avail_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
	warm="warm in the page cache"
	[ "$avail_kb" -gt $((size / 1024)) ] || warm="NOT fully cacheable (MemAvailable $((avail_kb / 1024)) MiB)"

	# Every signature must verify before anything is timed.
	args=()
	: >"$tmp/rss-$gib"
	: >"$tmp/cannot-$gib"
	for t in "${tools[@]}"; do
		IFS='|' read -r name sign verify <<<"$t"
		sig="$tmp/$name-$gib.sig"
		s=$(fill "$sign" "$img" "$sig"); v=$(fill "$verify" "$img" "$sig")
		if ! sh -c "$s" >/dev/null 2>"$tmp/err"; then
			# A tool with a size limit (signify reads the whole message into memory and refuses
			# more than 1 GiB) is reported as such; any other failure stops the benchmark.
			if grep -q "too large" "$tmp/err"; then
				echo "$name $(head -1 "$tmp/err" | sed "s|$img|the image|")" >>"$tmp/cannot-$gib"
				continue
			fi
			echo "sign bench: $name could not sign $img: $(head -1 "$tmp/err")" >&2
			exit 1
		fi
		sh -c "$v" >/dev/null 2>&1 || { echo "sign bench: $name's signature does not verify" >&2; exit 1; }
		args+=("$name sign=$s" "$name verify=$v")
		echo "$name sign $(rss_cpu "$s")" >>"$tmp/rss-$gib"
		echo "$name verify $(rss_cpu "$v")" >>"$tmp/rss-$gib"
	done
	echo "sign bench: $gib GiB: $RUNS interleaved rounds"
	"${prio[@]}" $PY "$top/bench/interleave.py" "$RUNS" "$tmp/times-$gib.json" "${args[@]}"
	$PY - "$tmp/times-$gib.json" "$tmp/rss-$gib" "$gib" "$size" "$warm" "$tmp/cannot-$gib" >"$tmp/section-$gib.md" <<'EOF'
import json, statistics, sys
jpath, rsspath, gib, size, warm, cannot = sys.argv[1:7]
size = int(size)
res = {r["command"]: r for r in json.load(open(jpath))["results"]}
rss = {}
for line in open(rsspath):
    f = line.split()
    rss[f[0] + " " + f[1]] = (int(f[2]), float(f[3])) if f[2] != "failed" else None
print(f"### {gib} GiB image ({warm})")
print()
print("| tool | operation | median s | GB/s | CPU s (median) | peak RSS MiB | others' CPU share | runs disturbed |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
med = {}
for cmd, r in res.items():
    name, op = cmd.split()
    m = statistics.median(r["times"])
    med[cmd] = m
    rs = rss.get(cmd)
    mib = f"{rs[0] / 1024:.1f}" if rs else "failed"
    print(f"| {name} | {op} | {m:.3f} | {size / m / 1e9:.2f} | {statistics.median(r['cpu']):.2f} | {mib} "
          f"| {statistics.median(r['others']):.0%} | {r['disturbed']} |")
for line in open(cannot):
    name, why = line.rstrip("\n").split(" ", 1)
    print(f"| {name} | sign, verify | cannot: {why} | | | | | |")
print()
noisy = any(r["disturbed"] for r in res.values())
print("| target | measured | |")
print("|---|---:|---|")
for op in ("sign", "verify"):
    others = {c: m for c, m in med.items() if c.endswith(" " + op) and not c.startswith("vmseal ")}
    best = min(others, key=others.get)
    ratio = others[best] / med["vmseal " + op]
    verdict = "**met**" if ratio > 1 else "**MISSED**"
    if noisy:
        verdict += " (disturbed run)"
    print(f"| vmseal {op} fastest: next best is {best.split()[0]}, {ratio:.2f} × vmseal's time | {ratio:.2f} × | {verdict} |")
for op in ("sign", "verify"):
    rs = rss.get("vmseal " + op)
    mib = rs[0] / 1024 if rs else float("inf")
    print(f"| vmseal {op} peak RSS ≤ 64 MiB | {mib:.1f} MiB | {'**met**' if mib <= 64 else '**MISSED**'} |")
EOF
	sections+=("$tmp/section-$gib.md")
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

{
	echo "## Image signing and verification vs minisign, signify, gpg, openssl (bench/sign.sh)"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -1)," \
		"$(uname -r)); $(minisign -v), signify-openbsd $(dpkg-query -W -f='${Version}' signify-openbsd)," \
		"$(gpg --version | head -1), $(openssl version | cut -d' ' -f1-2). Keys: vmseal Ed25519" \
		"(Merkle SHA-256 digest on all cores, DSSE envelope), minisign Ed25519 over BLAKE2b-512 (prehashed," \
		"the default for files in 0.11), signify Ed25519 over the whole message (read into memory)," \
		"gpg Ed25519 (SHA-512), openssl ECDSA P-256 with SHA-256 (openssl dgst cannot stream Ed25519)." \
		"Timing: bench/interleave.py, 1 warm-up round + $RUNS rounds, the commands of one size interleaved," \
		"each run timed by hyperfine -N --runs 1, medians, at nice $NICE; CPU and peak RSS of one more" \
		"run each from /usr/bin/time. Load average before/after: $load_before / $load_after." \
		"GB = 10^9 bytes."
	for s in "${sections[@]}"; do echo; cat "$s"; done
	echo
	echo "Every signature was checked to verify before timing."
} >"$tmp/result.md"
cat "$tmp/result.md"
[ "$RESULT" = /dev/stdout ] || cp "$tmp/result.md" "$RESULT"
