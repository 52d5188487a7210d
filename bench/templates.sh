#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# GET /v1/templates: a cold listing of 10 signed templates (each hashed once, on one thread),
# repeated listings answered from the verdict cache (goal: <= 50 ms for 10 templates), and the
# latency of other signed calls (GET /v1/domains) while a cold listing hashes. One keep-alive TLS
# connection per client (python3-cryptography signs the calls), with one worker thread (every
# call shares the listing's worker) and with one per core. Prints a Markdown section.
# TPL_COUNT (default 10) templates of TPL_MIB (default 128) MiB each.
set -euo pipefail
[ -n "${RESULT:-}" ] && exec >"$RESULT"
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
count=${TPL_COUNT:-10}
mib=${TPL_MIB:-128}
export PATH="$top/$BUILD/bin:$PATH"
# shellcheck source=bench/common/gateway_setup.bash
. "$top/bench/common/gateway_setup.bash"
bench_workdir templates
mkdir templates
make_gateway_keys
vmseal-key generate --out pipeline --no-passphrase >/dev/null
for i in $(seq "$count"); do
	head -c $((mib << 20)) /dev/urandom >templates/t$i.raw
	vmseal-sign --key pipeline.key --template bench-$i --template-version 1 templates/t$i.raw >/dev/null 2>&1
done
{
	printf '{"version": 1, "enforce": true, "keys": ['
	vmseal-key policy-entry viewer.pub --owner bench --usage admin --role viewer; printf ','
	vmseal-key policy-entry pipeline.pub --owner pipeline --usage template
	printf '], "templates": [{"match": "bench-*", "keys": ["%s"]}]}\n' "$(vmseal-key id pipeline.pub)"
} >policy.json
# measure THREADS: a fresh gateway (cold cache) with THREADS workers; sets $out (JSON figures).
measure() {
	[ -n "$gwpid" ] && { kill $gwpid 2>/dev/null; wait $gwpid 2>/dev/null; }
	vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json \
		--libvirt test:///default --response-key gwresp.key --audit-log "$work/audit-$1.jsonl" \
		--template-dir templates --threads "$1" >/dev/null 2>gw.log &
	gwpid=$!
	for _ in $(seq 300); do grep -qs 'listening on' gw.log && break; sleep 0.05; done
	port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' gw.log)
	[ -n "$port" ] || { cat gw.log >&2; exit 1; }
	out=$(/usr/bin/python3 - "$port" viewer.key tls.crt "$count" "$mib" <<'PY'
import base64, http.client, json, ssl, statistics, sys, threading, time
from cryptography.hazmat.primitives import hashes, serialization
port, keyfile, ca, count, mib = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
priv = serialization.load_pem_private_key(open(keyfile, "rb").read(), None)
der = priv.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
h = hashes.Hash(hashes.SHA256()); h.update(der); kid = h.finalize().hex()
auth = "127.0.0.1:%d" % port
n = [0]
lock = threading.Lock()
def call(c, path):
    with lock:
        n[0] += 1
        nonce = "tb-%d" % n[0]
    t = int(time.time())
    params = '("@method" "@authority" "@path" "@query");created=%d;expires=%d;nonce="%s";keyid="%s"' % (t, t + 60, nonce, kid)
    base = '"@method": GET\n"@authority": %s\n"@path": %s\n"@query": ?\n"@signature-params": %s' % (auth, path, params)
    sig = base64.b64encode(priv.sign(base.encode())).decode()
    t0 = time.perf_counter()
    c.request("GET", path, headers={"Signature-Input": "sig1=" + params, "Signature": "sig1=:%s:" % sig})
    r = c.getresponse(); body = r.read()
    dt = (time.perf_counter() - t0) * 1000
    assert r.status == 200, (r.status, body[:200])
    return dt, json.loads(body)
ctx = ssl.create_default_context(cafile=ca)
def conn():
    return http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=120)
# other calls: baseline latency, then during the cold listing
other = conn()
base_lat = [call(other, "/v1/domains")[0] for _ in range(200)]
during, stop = [], [False]
def prober():
    c = conn()
    while not stop[0]:
        during.append(call(c, "/v1/domains")[0])
lister = conn()
call(lister, "/v1/domains")  # the connection is up before the clock starts
th = threading.Thread(target=prober); th.start()
cold, listing = call(lister, "/v1/templates")
stop[0] = True; th.join()
assert len(listing["templates"]) == count and all(t["decision"] == "allow" and not t["cached"] for t in listing["templates"])
warm = []
for _ in range(50):
    dt, l = call(lister, "/v1/templates")
    assert all(t["cached"] for t in l["templates"])
    warm.append(dt)
def p99(v):
    v = sorted(v); return v[min(len(v) - 1, int(len(v) * 0.99))]
print(json.dumps({"cold_ms": cold, "warm_p50": statistics.median(warm), "warm_max": max(warm),
                  "base_p50": statistics.median(base_lat), "base_p99": p99(base_lat),
                  "during_n": len(during), "during_p50": statistics.median(during) if during else 0,
                  "during_p99": p99(during) if during else 0}))
PY
)
}
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
measure 1
one=$out
measure "$(nproc)"
j() { /usr/bin/python3 -c 'import json,sys; print("%.1f" % json.loads(sys.argv[1])[sys.argv[2]])' "${2:-$out}" "$1"; }
n_of() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["during_n"])' "$1"; }
cat <<EOF
### Gateway: GET /v1/templates with the verdict cache ($count templates of $mib MiB, $(nproc) cores)

| what | figure |
|---|---|
| cold listing (every template hashed, one thread each call) | $(j cold_ms) ms |
| repeated listing, from the cache (50 calls) | p50 $(j warm_p50) ms, max $(j warm_max) ms (goal <= 50 ms) |
| signed GET /v1/domains alone (200 calls) | p50 $(j base_p50) ms, p99 $(j base_p99) ms |
| signed GET /v1/domains during the cold listing, --threads $(nproc) ($(n_of "$out") calls) | p50 $(j during_p50) ms, p99 $(j during_p99) ms |
| the same with --threads 1: every call shares the listing's worker ($(n_of "$one") calls; cold listing $(j cold_ms "$one") ms) | p50 $(j during_p50 "$one") ms, p99 $(j during_p99 "$one") ms |

One keep-alive TLS connection per client, each call signed by python3-cryptography (Ed25519)
and its answer read in full; the templates were just written, so the cold listing reads them
from the page cache (the hashing is what is measured, not the disk).
A listing runs on the gateway's deferred-call thread while its connection is suspended, so it
holds no libmicrohttpd worker: calls on the listing's worker (with --threads 1, all of them)
are served meanwhile. Before, such a call waited for the whole listing (p99 about the cold
listing's time with --threads 1). Only the cache keeps listings from costing this more than
once per template and policy.
Load average when the run began: $loadavg.
Command: bench/templates.sh (TPL_COUNT=$count TPL_MIB=$mib).
EOF
