#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Does a decision cost the keys it uses or the keys the policy holds? vmseal-verify of a 1 MiB
# image and the cached hook (`prepare begin` of a one-disk domain) with policies of 1, 100, 1000
# and 4096 Ed25519 keys (the same image, the same signer; the other keys are other owners'),
# timed by hyperfine in the same run. Writes its section to $RESULT (bench/run.sh policy_scale).
#
# Knobs (environment): BENCH_SCALE_KEYS (default "1 100 1000 4096"), BENCH_SCALE_RUNS (hyperfine
# runs per command, default 40).
set -euo pipefail
top=${VMSEAL_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-$top/build/bin}
DATA=${BENCH_DATA:-$top/bench/data}
RESULT=${RESULT:-/dev/stdout}
SIZES=${BENCH_SCALE_KEYS:-1 100 1000 4096}
RUNS=${BENCH_SCALE_RUNS:-40}
PY=/usr/bin/python3
for b in vmseal-verify vmseal-sign vmseal-key vmseal-hook; do
	[ -x "$BIN/$b" ] || { echo "policy_scale bench: $BIN/$b missing (make all first)" >&2; exit 2; }
done
command -v hyperfine >/dev/null || { echo "policy_scale bench: apt-get install -y hyperfine" >&2; exit 2; }
$PY -c 'import cryptography' 2>/dev/null || { echo "policy_scale bench: apt-get install -y python3-cryptography" >&2; exit 2; }
mkdir -p "$DATA"
work=$(mktemp -d "$DATA/policy-scale.XXXXXX")
chmod 0755 "$work"
trap 'rm -rf "$work"' EXIT
cd "$work"

head -c 1048576 /dev/zero | openssl enc -aes-128-ctr -pass pass:vmseal-scale -nosalt -pbkdf2 -out img.raw
"$BIN/vmseal-key" generate --out signer --no-passphrase >/dev/null
"$BIN/vmseal-key" policy-entry signer.pub --owner pipeline --usage template > signer.entry
"$BIN/vmseal-sign" --key signer.key --template bench --template-version 1 img.raw >/dev/null
# Policies: the signer's entry first, then N-1 other owners' keys (made here with
# python3-cryptography: thousands of vmseal-key runs would take minutes), written as
# vmseal-key policy-entry writes them.
$PY - signer.entry $SIZES <<'EOF'
import base64, hashlib, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization as s
signer = json.load(open(sys.argv[1]))
sizes = [int(n) for n in sys.argv[2:]]
others = []
for i in range(max(sizes) - 1):
    pub = Ed25519PrivateKey.generate().public_key()
    der = pub.public_bytes(s.Encoding.DER, s.PublicFormat.SubjectPublicKeyInfo)
    pem = pub.public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo).decode()
    others.append({"id": hashlib.sha256(der).hexdigest(), "public_key": pem,
                   "owner": f"owner-{i}", "usage": ["template"], "status": "active"})
for n in sizes:
    pol = {"version": 1, "enforce": True, "keys": [signer] + others[:n - 1],
           "templates": [{"match": "bench", "keys": [signer["id"]], "threshold": 1,
                          "min_version": 1}]}
    json.dump(pol, open(f"policy-{n}.json", "w"), indent=1)
EOF
emu=$(command -v qemu-system-x86_64 || echo /usr/bin/qemu-system-x86_64)
cat > dom.xml <<EOF
<domain type='qemu'><name>scale</name><memory unit='MiB'>64</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices><emulator>$emu</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/>
      <source file='$work/img.raw'/><target dev='vda' bus='virtio'/><readonly/></disk>
  </devices></domain>
EOF

for n in $SIZES; do
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
for n in $SIZES; do
	cmds+=(-n "verify $n" "$BIN/vmseal-verify --policy $work/policy-$n.json $work/img.raw")
	cmds+=(-n "hook $n" "sh -c '$BIN/vmseal-hook --config $work/hook-$n.conf scale prepare begin - < $work/dom.xml'")
done
cmds+=(-n "sh -c true" "sh -c true")
hyperfine -N --warmup 3 --runs "$RUNS" --style none --export-json times.json "${cmds[@]}" >/dev/null

$PY - times.json "$SIZES" > section.md <<'EOF'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
sizes = sys.argv[2].split()
sh = res["sh -c true"]["median"]
print("| keys in the policy | policy size | vmseal-verify median ms | × 1 key | hook (cached `prepare begin`) median ms | × 1 key |")
print("|---:|---:|---:|---:|---:|---:|")
import os
base_v = res[f"verify {sizes[0]}"]["median"]
base_h = res[f"hook {sizes[0]}"]["median"] - sh
rows = []
for n in sizes:
    v = res[f"verify {n}"]["median"]
    h = res[f"hook {n}"]["median"] - sh
    kib = os.path.getsize(f"policy-{n}.json") / 1024
    print(f"| {n} | {kib:.0f} KiB | {v * 1e3:.1f} | {v / base_v:.2f} | {h * 1e3:.1f} | {h / base_h:.2f} |")
    rows.append((n, v / base_v, h / base_h))
print()
print("The hook's figures have the `sh -c` that feeds it the XML taken off "
      f"({sh * 1e3:.1f} ms, measured in the same run).")
print()
print("| target | measured | |")
print("|---|---:|---|")
last = rows[-1]
for what, r in (("vmseal-verify", last[1]), ("cached hook", last[2])):
    print(f"| {what} with {last[0]} keys ≤ 1.2 × its time with 1 key | {r:.2f} × | {'**met**' if r <= 1.2 else '**MISSED**'} |")
EOF
{
	echo "## Cost against policy size (bench/policy_scale.sh)"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(openssl version | cut -d' ' -f1-2)." \
		"A 1 MiB image signed by one Ed25519 key; policies of $SIZES keys (the signer's and other" \
		"owners' Ed25519 keys). hyperfine -N, 3 warm-up + $RUNS runs per command, medians. Load" \
		"average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	cat section.md
} > result.md
cat result.md
[ "$RESULT" = /dev/stdout ] || cp result.md "$RESULT"
