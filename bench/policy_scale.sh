#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Does a decision cost the keys it uses or the keys the policy holds? vmseal-verify of a 1 MiB
# image and the cached hook (`prepare begin` of a one-disk domain) with policies of 1, 100, 1000
# and 4096 Ed25519 keys (the same image, the same signer; the other keys are other owners'), and
# 4096 once more with the other owners' keys P-256 (OpenSSL's slow decoder), timed by hyperfine
# in the same run, wall and CPU; beside them the in-process cost of reading each policy
# (jansson's parse alone, every key decoded, lazy keys: bench/policy_parse_bench.c). Writes its
# section to $RESULT (bench/run.sh policy_scale). Each policy is timed twice: as written, and as
# a copy indexed by `vmseal-policy index` (lib/policyindex.h: the entries' places and the
# SHA-256 kept beside it), which is how a policy of thousands of keys is meant to be installed;
# item 5's targets are judged on the indexed copies, the plain ones are reported beside them.
#
# Knobs (environment): BENCH_SCALE_KEYS (default "1 100 1000 4096"), BENCH_SCALE_ROUNDS (rounds,
# each timing every command in turn, default 4), BENCH_SCALE_RUNS (hyperfine
# runs per command, default 40).
set -euo pipefail
top=${VMSEAL_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-$top/build/bin}
DATA=${BENCH_DATA:-$top/bench/data}
RESULT=${RESULT:-/dev/stdout}
SIZES=${BENCH_SCALE_KEYS:-1 100 1000 4096}
RUNS=${BENCH_SCALE_RUNS:-40}
PY=/usr/bin/python3
for b in vmseal-verify vmseal-sign vmseal-key vmseal-hook vmseal-policy; do
	[ -x "$BIN/$b" ] || { echo "policy_scale bench: $BIN/$b missing (make all first)" >&2; exit 2; }
done
LIBA=$(dirname "$BIN")/libvmseal.a
[ -f "$LIBA" ] || { echo "policy_scale bench: $LIBA missing (make all first)" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "policy_scale bench: apt-get install -y hyperfine" >&2; exit 2; }
$PY -c 'import cryptography' 2>/dev/null || { echo "policy_scale bench: apt-get install -y python3-cryptography" >&2; exit 2; }
mkdir -p "$DATA"
work=$(mktemp -d "$DATA/policy-scale.XXXXXX")
chmod 0755 "$work"
trap 'rm -rf "$work"' EXIT
cd "$work"

${CC:-cc} -O2 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -iquote "$top" -o parse_bench \
	"$top/bench/policy_parse_bench.c" "$LIBA" \
	$(pkg-config --libs openssl libvirt libmicrohttpd jansson libxml-2.0 libcurl gnutls hiredis) -lgfshare -lpthread
head -c 1048576 /dev/zero | openssl enc -aes-128-ctr -pass pass:vmseal-scale -nosalt -pbkdf2 -out img.raw
"$BIN/vmseal-key" generate --out signer --no-passphrase >/dev/null
"$BIN/vmseal-key" policy-entry signer.pub --owner pipeline --usage template > signer.entry
"$BIN/vmseal-sign" --key signer.key --template bench --template-version 1 img.raw >/dev/null
# Policies: the signer's entry first, then N-1 other owners' keys (made here with
# python3-cryptography: thousands of vmseal-key runs would take minutes), written as
# vmseal-key policy-entry writes them; policy-Np.json: the largest N with P-256 other keys.
cat > mkpolicies.py <<'PY'
import hashlib, json, sys
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization as s
signer = json.load(open(sys.argv[1]))
sizes = [int(n) for n in sys.argv[2:]]
def entries(make, n):
    out = []
    for i in range(n):
        pub = make().public_key()
        der = pub.public_bytes(s.Encoding.DER, s.PublicFormat.SubjectPublicKeyInfo)
        pem = pub.public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo).decode()
        out.append({"id": hashlib.sha256(der).hexdigest(), "public_key": pem,
                    "owner": f"owner-{i}", "usage": ["template"], "status": "active"})
    return out
def write(name, keys):
    pol = {"version": 1, "enforce": True, "keys": [signer] + keys,
           "templates": [{"match": "bench", "keys": [signer["id"]], "threshold": 1,
                          "min_version": 1}]}
    json.dump(pol, open(name, "w"), indent=1)
others = entries(Ed25519PrivateKey.generate, max(sizes) - 1)
for n in sizes:
    write(f"policy-{n}.json", others[:n - 1])
write(f"policy-{sizes[-1]}p.json", entries(lambda: generate_private_key(SECP256R1()), sizes[-1] - 1))
PY
$PY mkpolicies.py signer.entry $SIZES
VARIANTS="$SIZES ${SIZES##* }p"
emu=$(command -v qemu-system-x86_64 || echo /usr/bin/qemu-system-x86_64)
cat > dom.xml <<EOF
<domain type='qemu'><name>scale</name><memory unit='MiB'>64</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices><emulator>$emu</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/>
      <source file='$work/img.raw'/><target dev='vda' bus='virtio'/><readonly/></disk>
  </devices></domain>
EOF

PLAIN=$VARIANTS
for n in $VARIANTS; do
	cp "policy-$n.json" "policy-${n}i.json"
	"$BIN/vmseal-policy" index --policy "policy-${n}i.json" >/dev/null ||
		{ echo "policy_scale bench: vmseal-policy index failed for policy-${n}i.json" >&2; exit 1; }
done
VARIANTS="$VARIANTS $(for n in $VARIANTS; do printf '%si ' "$n"; done)"
for n in $VARIANTS; do
	"$BIN/vmseal-verify" --policy "policy-$n.json" img.raw >/dev/null ||
		{ echo "policy_scale bench: vmseal-verify denies with policy-$n.json" >&2; exit 1; }
	mkdir -m 0700 "cache-$n"
	cat > "hook-$n.conf" <<EOF
policy = $work/policy-$n.json
audit_log = $work/audit-$n.jsonl
cache_dir = $work/cache-$n
EOF
	"$BIN/vmseal-hook" --config "$work/hook-$n.conf" scale prepare begin - < dom.xml >/dev/null 2>hook.err ||
		{ echo "policy_scale bench: the hook denies with policy-$n.json: $(cat hook.err)" >&2; exit 1; }
done
# hyperfine gives no stdin per command: the hook reads the XML from a shell redirect instead.
cmds=()
for n in $VARIANTS; do
	cmds+=(-n "verify $n" "$BIN/vmseal-verify --policy $work/policy-$n.json $work/img.raw")
	cmds+=(-n "hook $n" "sh -c '$BIN/vmseal-hook --config $work/hook-$n.conf scale prepare begin - < $work/dom.xml'")
done
cmds+=(-n "sh -c true" "sh -c true")
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# In ROUNDS rounds of RUNS/ROUNDS runs each, every command once per round: a disturbance of the
# machine lands in every row's runs alike, not in the one command hyperfine was timing.
ROUNDS=${BENCH_SCALE_ROUNDS:-4}
for r in $(seq "$ROUNDS"); do
	hyperfine -N --warmup 2 --runs $(((RUNS + ROUNDS - 1) / ROUNDS)) --style none \
		--export-json "times-$r.json" "${cmds[@]}" >/dev/null
done
"$PY" - "$ROUNDS" > times.json <<'PY'
import json, statistics, sys
merged = {}
for r in range(1, int(sys.argv[1]) + 1):
    for c in json.load(open(f"times-{r}.json"))["results"]:
        m = merged.setdefault(c["command"], {"command": c["command"], "times": [], "user": [], "system": []})
        m["times"] += c["times"]
        m["user"].append(c["user"])
        m["system"].append(c["system"])
for m in merged.values():
    m["median"] = statistics.median(m["times"])
    m["user"], m["system"] = statistics.mean(m["user"]), statistics.mean(m["system"])
json.dump({"results": list(merged.values())}, sys.stdout)
PY
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
for n in $PLAIN; do echo "$n $(./parse_bench "policy-$n.json" 5)"; done > parse.txt

cat > table.py <<'PY'
import json, os, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
variants = sys.argv[2].split()
parse = {l.split()[0]: [float(x) for x in l.split()[1:]] for l in open(sys.argv[3])}
def cpu(r):  # user + system, ms (hyperfine's means)
    return (r["user"] + r["system"]) * 1e3
sh = res["sh -c true"]
print("| keys in the policy | policy size | vmseal-verify median ms | CPU ms | × 1 key "
      "| hook (cached `prepare begin`) median ms | CPU ms | × 1 key "
      "| indexed: vmseal-verify ms | × 1 key | indexed: hook ms | × 1 key "
      "| read the policy: jansson alone ms | every key decoded ms | lazy keys ms |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
base = {}
for suffix in ("", "i"):
    base["v" + suffix] = res[f"verify {variants[0]}{suffix}"]["median"]
    base["h" + suffix] = res[f"hook {variants[0]}{suffix}"]["median"] - sh["median"]
rows = []
for n in variants:
    v, h = res[f"verify {n}"], res[f"hook {n}"]
    vi, hi = res[f"verify {n}i"], res[f"hook {n}i"]
    hm, him = h["median"] - sh["median"], hi["median"] - sh["median"]
    kib = os.path.getsize(f"policy-{n}.json") / 1024
    label = n[:-1] + " (P-256 others)" if n.endswith("p") else n
    j, full, lazy = parse[n]
    print(f"| {label} | {kib:.0f} KiB | {v['median'] * 1e3:.1f} | {cpu(v):.1f} | {v['median'] / base['v']:.2f} "
          f"| {hm * 1e3:.1f} | {cpu(h) - cpu(sh):.1f} | {hm / base['h']:.2f} "
          f"| {vi['median'] * 1e3:.1f} | {vi['median'] / base['vi']:.2f} | {him * 1e3:.1f} | {him / base['hi']:.2f} "
          f"| {j:.1f} | {full:.1f} | {lazy:.1f} |")
    rows.append((label, v["median"] / base["v"], hm / base["h"], vi["median"] / base["vi"], him / base["hi"]))
print()
print("The hook's figures have the `sh -c` that feeds it the XML taken off "
      f"({sh['median'] * 1e3:.1f} ms wall, {cpu(sh):.1f} ms CPU, measured in the same run). "
      "CPU: the process's user + system time (hyperfine's mean). Indexed: the same policy copied "
      "and indexed with `vmseal-policy index` (its entries' places and SHA-256 beside it, "
      "lib/policyindex.h), each column's ratio against its own 1-key row. Reading the policy: "
      "in-process, best of 5 (bench/policy_parse_bench.c), without an index: json_loadb with "
      "JSON_REJECT_DUPLICATES alone; policy_parse, every key decoded (what vmseal-policy and the "
      "gateway do); policy_parse_opts with POLICY_LAZY_KEYS (what vmseal-verify and the hook do).")
print()
print("| target (issue #18 item 5, same run; indexed policy, plain beside it) | indexed | | plain |")
print("|---|---:|---|---:|")
for label, rv, rh, rvi, rhi in rows[-2:]:
    for what, r, ri in (("vmseal-verify", rv, rvi), ("cached hook", rh, rhi)):
        print(f"| {what} with {label} keys ≤ 1.2 × its time with 1 key | {ri:.2f} × "
              f"| {'**PASS**' if ri <= 1.2 else '**MISS**'} | {r:.2f} × |")
PY
$PY table.py times.json "$PLAIN" parse.txt > section.md
{
	echo "## Cost against policy size (bench/policy_scale.sh)"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(openssl version | cut -d' ' -f1-2)." \
		"A 1 MiB image signed by one Ed25519 key; policies of $SIZES keys (the signer's and other" \
		"owners' Ed25519 keys; the last row's other owners P-256). hyperfine -N in $ROUNDS rounds," \
		"each timing every command in turn (2 warm-up + $(((RUNS + ROUNDS - 1) / ROUNDS)) runs)," \
		"medians of all runs. Load average before $load_before, after $load_after (2 cores" \
		"shared with other work: compare within the run)."
	echo
	cat section.md
	echo
	echo "Command: \`bench/run.sh policy_scale\`."
} > result.md
cat result.md
[ "$RESULT" = /dev/stdout ] || cp result.md "$RESULT"
