#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Audit log growth from unauthenticated junk (issue 15 item 7: 10 000 junk requests must add at
# most a few KB). 10 000 requests without a valid signature over keep-alive TLS connections
# (4 client threads): unsigned with attacker-chosen paths and headers, a Signature-Input naming
# a 200-byte keyid, a forgery naming the policy key's keyid, a valid signature with one byte
# flipped, and a signature by a key the policy does not know. Run twice on a fresh gateway:
# from one client address, and spread over 200 loopback source addresses (each address and
# reason gets its own counter, at most VS_DENY_AGG_SLOTS per interval). The log is measured
# from the moment the gateway listens until it has stopped (its last counts are written on
# exit). Prints a Markdown section.
set -euo pipefail
[ -n "${RESULT:-}" ] && exec >"$RESULT"
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
N=${JUNK_REQUESTS:-10000}
export PATH="$top/$BUILD/bin:$PATH"
# shellcheck source=bench/common/gateway_setup.bash
. "$top/bench/common/gateway_setup.bash"
bench_workdir junk
make_gateway_keys
vmseal-key generate --out stranger --no-passphrase >/dev/null
{
	printf '{"version": 1, "enforce": true, "keys": ['
	vmseal-key policy-entry viewer.pub --owner bench --usage admin --role viewer
	printf '], "templates": []}\n'
} >policy.json
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)

# run NAME ADDRESSES: a fresh gateway and log, N junk requests from ADDRESSES source addresses;
# prints one JSON line
run() {
	local log=$work/audit-$1.jsonl before after
	vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json \
		--libvirt test:///default --response-key gwresp.key --audit-log "$log" \
		--threads 2 >/dev/null 2>"gw-$1.log" &
	gwpid=$!
	for _ in $(seq 300); do grep -qs 'listening on' "gw-$1.log" && break; sleep 0.05; done
	port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "gw-$1.log")
	[ -n "$port" ] || { cat "gw-$1.log" >&2; exit 1; }
	before=$(stat -c %s "$log")
	/usr/bin/python3 - "$port" viewer.key stranger.key tls.crt "$N" "$2" >"junk-$1.json" <<'PY'
import base64, http.client, json, os, random, socket, ssl, sys, threading, time
from cryptography.hazmat.primitives import hashes, serialization
port, vkey, skey, ca, n, naddr = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
def load(f):
    priv = serialization.load_pem_private_key(open(f, "rb").read(), None)
    der = priv.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    h = hashes.Hash(hashes.SHA256()); h.update(der)
    return priv, h.finalize().hex()
viewer, vkid = load(vkey)
stranger, skid = load(skey)
auth = "127.0.0.1:%d" % port
rng = random.Random(1)
junk = "x" * 200
def signed(priv, kid, path, nonce):
    t = int(time.time())
    params = '("@method" "@authority" "@path" "@query");created=%d;expires=%d;nonce="%s";keyid="%s"' % (t, t + 60, nonce, kid)
    base = '"@method": GET\n"@authority": %s\n"@path": %s\n"@query": ?\n"@signature-params": %s' % (auth, path, params)
    return params, base64.b64encode(priv.sign(base.encode())).decode()
def request(i):
    """The i-th junk request: (path, headers), never with a valid signature."""
    k = i % 6
    h = {"User-Agent": junk + str(i)}
    path = "/v1/domains"
    if k == 0:    # unsigned, attacker-chosen path and query
        path = "/v1/domains/%s-%d?%s=1" % (junk, i, junk)
    elif k == 1:  # a Signature-Input naming a long, attacker-chosen keyid
        h["Signature-Input"] = 'sig1=("@method");keyid="%s-%d"' % (junk, i)
        h["Signature"] = "sig1=:AAAA:"
    elif k == 2:  # a forgery naming the policy key's keyid
        t = int(time.time())
        h["Signature-Input"] = ('sig1=("@method" "@authority" "@path" "@query");created=%d;expires=%d;'
                                'nonce="j%d-%s";keyid="%s"' % (t, t + 60, i, junk, vkid))
        h["Signature"] = "sig1=:" + base64.b64encode(os.urandom(64)).decode() + ":"
    elif k == 3:  # the policy key's valid signature, one byte of it flipped
        params, sig = signed(viewer, vkid, path, "f%d" % i)
        j = rng.randrange(len(sig) - 4)
        sig = sig[:j] + ("A" if sig[j] != "A" else "B") + sig[j + 1:]
        h["Signature-Input"], h["Signature"] = "sig1=" + params, "sig1=:%s:" % sig
    elif k == 4:  # a valid signature by a key the policy does not know
        params, sig = signed(stranger, skid, path, "s%d" % i)
        h["Signature-Input"], h["Signature"] = "sig1=" + params, "sig1=:%s:" % sig
    else:         # a garbage Signature header, attacker text in every field
        h["Signature-Input"] = 'sig1=("@method" "%s");created=1;keyid="%s"' % (junk, junk)
        h["Signature"] = "sig1=:%s:" % junk
    return path, h
ctx = ssl.create_default_context(cafile=ca)
codes, lock = {}, threading.Lock()
def worker(w):
    c, addr = None, None
    for i in range(w, n, 4):
        a = "127.0.1.%d" % (1 + i * naddr // n) if naddr > 1 else "127.0.0.1"  # n/naddr each
        if c is None or a != addr:
            if c:
                c.close()
            addr = a
            c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30, source_address=(addr, 0))
        path, h = request(i)
        try:
            c.request("GET", path, headers=h)
            r = c.getresponse(); r.read()
            s = r.status
        except (OSError, http.client.HTTPException):
            s, c = None, None
        with lock:
            codes[s] = codes.get(s, 0) + 1
        if c is not None and r.getheader("Connection", "").lower() == "close":
            c.close(); c = None
    if c:
        c.close()
t0 = time.monotonic()
ths = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
for t in ths: t.start()
for t in ths: t.join()
print(json.dumps({"seconds": time.monotonic() - t0, "codes": {str(k): v for k, v in codes.items()}}))
PY
	kill $gwpid
	wait $gwpid 2>/dev/null || true
	gwpid=
	after=$(stat -c %s "$log")
	vmseal-audit verify "$log" >/dev/null
	/usr/bin/python3 - "junk-$1.json" "$log" "$before" "$after" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))
ev = counted = 0
lines = open(sys.argv[2]).read().splitlines()
for l in lines:
    e = json.loads(l)
    if e.get("event") == "gateway.unauthenticated":
        ev += 1
        counted += int(re.match(r"[a-z_]+: (\d+) request", e["reason"]).group(1))
r.update({"bytes": int(sys.argv[4]) - int(sys.argv[3]), "events": ev, "counted": counted,
          "junk_text": any("xxxxxxxxxx" in l for l in lines)})
print(json.dumps(r))
PY
}

one=$(run one 1)
many=$(run many 200)
/usr/bin/python3 - "$N" "$one" "$many" "$loadavg" "$(nproc)" <<'PY'
import json, sys
n, loadavg, cores = int(sys.argv[1]), sys.argv[4], sys.argv[5]
print("### Gateway: audit log growth from %d unauthenticated junk requests (%s cores, TLS 1.3)" % (n, cores))
print()
print("| clients | answers | time | audit log growth | events (requests counted) | per junk request |")
print("|---|---|---|---|---|---|")
for name, j in (("1 address", json.loads(sys.argv[2])), ("200 addresses", json.loads(sys.argv[3]))):
    print("| %s | %s | %.1f s | %d bytes | %d (%d) | %.2f bytes |" % (
        name, ", ".join("%s: %d" % kv for kv in sorted(j["codes"].items())), j["seconds"], j["bytes"],
        j["events"], j["counted"], j["bytes"] / n))
    if j["junk_text"]:
        print("| %s | ATTACKER TEXT FOUND IN THE LOG | | | | |" % name)
print()
print("Six kinds in turn, each with a 200-byte attacker-chosen User-Agent: unsigned with an")
print("attacker-chosen path and query; a Signature-Input naming a 200-byte keyid; a forgery naming")
print("the policy key's keyid (random signature bytes); that key's valid signature with one byte")
print("flipped; a valid signature by a key the policy does not know; garbage in every signature")
print("field. 4 client threads on keep-alive connections (a new one per source address, each")
print("address sending its share in a row). Each")
print("(client address, reason, claimed policy keyid) gets one `gateway.unauthenticated` event per")
print("10 s interval with its count (at most 256 counters per interval, then \"other\"), no")
print("attacker text; before issue 15 each such request appended about 1.5 KB (15 MB for these).")
print("So the log grows by at most 256 events (about 80 KB) per 10 s interval however fast the")
print("junk comes; from one address, by one event per reason per interval. The growth counts")
print("from the moment the gateway listens until it has stopped.")
print("Load average when the run began: %s." % loadavg)
print()
print("Command: `bench/run.sh gateway_junk` (JUNK_REQUESTS=%d)." % n)
PY
