#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# vmseal-gateway under load and abuse (loopback, bounded, small scale; bench/gateway_abuse.sh runs
# the full scale): concurrent TLS connections, garbage and oversized requests, flipped and
# replayed signatures, idle and half-open connections, slowloris senders. The gateway must
# stay up, answer no bad call with 2xx, close idle and half-open connections by its timeout, and
# keep serving valid signed calls (tests/gateway_abuse.py measures them).
source "$(dirname "$0")/../sh/lib.sh"
for tool in openssl; do
	command -v $tool >/dev/null || { skip "gateway abuse: $tool not installed"; exit 0; }
done
[ -x "$BIN/vmseal-gateway" ] || { skip "gateway abuse: vmseal-gateway not built"; exit 0; }
"$PY" -c 'import cryptography' 2>/dev/null || { skip "gateway abuse: python3-cryptography missing"; exit 0; }
cd "$T"
SCALE=${VMSEAL_ABUSE_SCALE:-small}   # full: bench/gateway_abuse.sh; VMSEAL_ABUSE_JSON=F keeps the report

# keys, a TLS certificate and a policy with one viewer key
vmseal-key generate --out viewer --no-passphrase >/dev/null
vmseal-key generate --out gwresp --no-passphrase >/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.crt \
	-days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null
{
	printf '{"version": 1, "enforce": true, "keys": [\n'
	vmseal-key policy-entry viewer.pub --owner v --usage admin --role viewer
	printf '], "templates": [], "gateway": {"max_skew_s": 300, "max_validity_s": 300}}\n'
} > policy.json

vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json \
	--libvirt test:///default --response-key gwresp.key --audit-log "$T/audit.jsonl" \
	--threads 2 >/dev/null 2>gw.log &
gwpid=$!
cleanup_hooks+=("kill $gwpid 2>/dev/null; wait $gwpid 2>/dev/null")
for _ in $(seq 300); do grep -q 'listening on' gw.log 2>/dev/null && break; sleep 0.05; done
port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' gw.log)
[ -n "$port" ] || { fail "gateway started: $(cat gw.log)"; exit 1; }

"$PY" "$top/tests/gateway_abuse.py" --port "$port" --cacert tls.crt --key viewer.key --pid $gwpid \
	--scale "$SCALE" --json abuse.json >abuse.out 2>&1
rc=$?
[ -n "${VMSEAL_ABUSE_JSON:-}" ] && cp abuse.json "$VMSEAL_ABUSE_JSON"
"$PY" - abuse.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
v = r["valid_calls"]
for ph in ("baseline", "concurrent_tls", "garbage", "oversized", "halfopen_tls", "lingering"):
    if ph in v:
        x = v[ph]
        print("PASS:" if x["success"] >= 0.99 else "FAIL:",
              "valid signed calls during %s: %d/%d ok, p99 %.0f ms" % (ph, x["ok"], x["calls"], x["p99_ms"]))
g = r["garbage"]
print("PASS:" if not any("2xx" in s for s in r["violations"]) else "FAIL:",
      "%d garbage requests: no 2xx (codes %s)" % (g["requests"], g["status_codes"]))
o = r["oversized"]
bad = [k for k, c in o.items() if k != "seconds" and isinstance(c, int) and c < 400]
print("PASS:" if not bad else "FAIL:", "%d oversized requests refused or closed%s" %
      (len(o) - 1, (": " + ", ".join(bad)) if bad else ""))
c = r["concurrent_tls"]
print("PASS:" if c["handshakes_ok"] == c["connections"] else "FAIL:",
      "%d concurrent TLS connections held (%d calls on them ok)" % (c["handshakes_ok"], c["calls_on_held_connections_ok"]))
l = r["lingering"]
print("PASS:" if l["idle_tls_closed_by_server"] == l["idle_tls_opened"] else "FAIL:",
      "idle TLS connections closed by the server: %d/%d" % (l["idle_tls_closed_by_server"], l["idle_tls_opened"]))
print("PASS:" if l["halfopen_closed_by_server"] == l["halfopen_opened"] else "FAIL:",
      "half-open handshakes closed by the server: %d/%d" % (l["halfopen_closed_by_server"], l["halfopen_opened"]))
print("PASS:" if l["slowloris_still_open"] == 0 else "FAIL:",
      "slowloris senders closed by the server: %d/%d" % (l["slowloris_opened"] - l["slowloris_still_open"], l["slowloris_opened"]))
print("PASS:" if r["gateway_alive"] else "FAIL:", "the gateway survived")
PY
[ $rc = 0 ] && pass "abuse run without violations" || fail "abuse run: $(grep -A5 violations abuse.out | head -8)"
kill -0 $gwpid 2>/dev/null && pass "gateway process still running" || fail "gateway process gone: $(tail -5 gw.log)"
expect_rc "audit log of the abuse run verifies" 0 vmseal-audit verify "$T/audit.jsonl"
