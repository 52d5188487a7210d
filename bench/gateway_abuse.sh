#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Gateway under load and abuse at full scale (tests/e2e/gateway_abuse.sh with
# VMSEAL_ABUSE_SCALE=full): 1000 concurrent TLS connections, 10k garbage requests, oversized
# requests, 500 half-open handshakes, 200 idle connections and 100 slowloris senders, while a
# prober makes valid signed calls. Writes a Markdown section to $RESULT (stdout by default).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
out=${RESULT:-/dev/stdout}
json=$(mktemp)
trap 'rm -f "$json"' EXIT
VMSEAL_BIN="$top/$BUILD/bin" VMSEAL_TOP="$top" VMSEAL_ABUSE_SCALE=full VMSEAL_ABUSE_JSON="$json" \
	bash "$top/tests/e2e/gateway_abuse.sh" >&2
[ -s "$json" ] || { echo "bench gateway_abuse: no report" >&2; exit 1; }
python3 - "$json" "$(nproc)" >"$out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("### Gateway under load and abuse (%s cores, loopback, TLS 1.3, 2 worker threads)" % sys.argv[2])
print()
print("A prober makes valid signed calls (GET /v1/domains, a new TLS connection each, 20 ms apart)")
print("through every phase; its success rate and latency are what the abuse costs.")
print()
print("| phase | abuse | valid calls ok | p50 | p99 | max |")
print("|---|---|---|---|---|---|")
c, g, h, l = r["concurrent_tls"], r["garbage"], r["halfopen_tls"], r["lingering"]
what = {
    "baseline": "none",
    "concurrent_tls": "%d TLS connections open at once (%d handshakes ok), then one call on each (%d ok)"
                      % (c["connections"], c["handshakes_ok"], c["calls_on_held_connections_ok"]),
    "garbage": "%d garbage requests from 4 threads" % g["requests"],
    "oversized": "%d oversized requests" % (len(r["oversized"]) - 1),
    "halfopen_tls": "%d half-open TLS handshakes held 5 s" % h["opened"],
    "lingering": "%d idle + %d half-open + %d slowloris connections until the timeout"
                 % (l["idle_tls_opened"], l["halfopen_opened"], l["slowloris_opened"]),
}
for ph, x in r["valid_calls"].items():
    print("| %s | %s | %d/%d (%.2f%%) | %.0f ms | %.0f ms | %.0f ms |" % (
        ph, what.get(ph, ""), x["ok"], x["calls"], 100 * x["success"], x["p50_ms"], x["p99_ms"], x["max_ms"] or 0))
print()
print("Garbage answers by status (None: closed without an answer): " +
      ", ".join("%s: %d" % kv for kv in g["status_codes"].items()) +
      ". The 200s are the first use of the nonce that later requests replay, and mutations that"
      " changed nothing HTTP keeps (a delete past the end, whitespace it strips); no changed"
      " signature passed.")
print()
print("Oversized requests: " + "; ".join("%s → %s" % (k, v) for k, v in r["oversized"].items() if k != "seconds") + ".")
print()
print("After %.0f s: idle TLS connections closed by the server %d/%d, half-open handshakes %d/%d, "
      "slowloris senders (a byte every 5 s) %d/%d (cut by the 10 s request deadline; the 30 s "
      "connection timeout alone is an idle timeout that every byte restarts)." % (
      l["checked_after_s"], l["idle_tls_closed_by_server"], l["idle_tls_opened"],
      l["halfopen_closed_by_server"], l["halfopen_opened"],
      l["slowloris_opened"] - l["slowloris_still_open"], l["slowloris_opened"]))
print()
print("Gateway alive at the end: %s; violations: %s." % ("yes" if r["gateway_alive"] else "NO",
      "; ".join(r["violations"]) or "none"))
print()
print("The lingering connections are opened after the concurrent phase, which measures the 1000")
print("alone. The gateway holds up to --max-connections (default 4096, bounded by the open-file")
print("limit) at once; `tests/sh/gateway_limits.sh` holds 1500 and has each of them answered.")
print()
print("Command: `bench/gateway_abuse.sh` (tests/gateway_abuse.py --scale full, seed %d)." % r["seed"])
PY
