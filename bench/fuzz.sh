#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fuzzing campaign summary, written as a Markdown section to $RESULT (stdout by default):
# executions, coverage (edges, features), corpus and crashes per target, and the regression
# inputs that crashes left in tests/fuzz/corpus/.
#   FUZZ_LOGS=DIR       summarize existing libFuzzer logs DIR/NAME.log (no fuzzing)
#   FUZZ_SECONDS=N      run `make -j2 -k fuzz FUZZ_SECONDS=N` first (two targets at a time)
# Neither: summarize build-fuzz/logs/ when it has logs, else fuzz 60 s per target. The issue's
# campaign is FUZZ_SECONDS=600 (about 80 minutes on 2 cores).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${RESULT:-/dev/stdout}
logs=${FUZZ_LOGS:-}
if [ -z "$logs" ]; then
	logs=$top/build-fuzz/logs
	if [ -n "${FUZZ_SECONDS:-}" ] || ! ls "$logs"/*.log >/dev/null 2>&1; then
		make -C "$top" -j2 -k fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-60}" >&2
	fi
fi
python3 - "$logs" "$top" "$(nproc)" >"$out" <<'PY'
import glob, os, re, subprocess, sys
logs, top, cores = sys.argv[1:4]
rows, tot = [], [0, 0]
for f in sorted(glob.glob(os.path.join(logs, "*.log"))):
    name = os.path.basename(f)[:-4]
    text = open(f, errors="replace").read()
    execs = re.findall(r"stat::number_of_executed_units: (\d+)", text)
    rate = re.findall(r"stat::average_exec_per_sec: +(\d+)", text)
    last = re.findall(r"^#(\d+)\s+(?:DONE|NEW|REDUCE|pulse|INITED)\s+cov: (\d+) ft: (\d+) corp: (\d+)/(\S+)", text, re.M)
    secs = re.findall(r"-max_total_time=(\d+)", text)
    done = re.search(r"Done (\d+) runs in (\d+) second", text)
    crashes = len(re.findall(r"Test unit written to ", text))
    if not execs or not last:
        continue
    if crashes and not done:  # a run that a crash stopped: about how long it took to find it
        name += " (stopped by the crash)"
    n, cov, ft, corp, size = last[-1]
    secs = done.group(2) if done else ("≈%d" % (int(execs[-1]) / max(1, int(rate[-1]))) if rate else "?")
    rows.append((name, secs, int(execs[-1]), rate[-1] if rate else "?", cov, ft,
                 "%s (%s)" % (corp, size), crashes))
    tot[0] += int(execs[-1]); tot[1] += crashes
print("### Fuzzing (libFuzzer + ASan + UBSan, clang 14, %s cores, two targets at a time)" % cores)
print()
print("| target | seconds | executions | exec/s | edges | features | corpus | crashes |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    print("| %s | %s | %d | %s | %s | %s | %s | %d |" % r)
print("| **total** | | **%d** | | | | | **%d** |" % (tot[0], tot[1]))
print()
print("Edges and features count only vmseal's own code (libFuzzer instruments lib/ and the target;")
print("OpenSSL, jansson and libxml2 are not instrumented).")
print()
reg = sorted(glob.glob(os.path.join(top, "tests/fuzz/corpus/*/crash-*")) +
             glob.glob(os.path.join(top, "tests/fuzz/corpus/*/leak-*")) +
             glob.glob(os.path.join(top, "tests/fuzz/corpus/*/timeout-*")) +
             glob.glob(os.path.join(top, "tests/fuzz/corpus/*/oom-*")))
if reg:
    print("Crashes found and fixed (each input stays in the corpus; `make check` replays it):")
    print()
    for p in reg:
        rel = os.path.relpath(p, top)
        c = subprocess.run(["git", "-C", top, "log", "--diff-filter=A", "--format=%h %s", "-1", "--", rel],
                           capture_output=True, text=True).stdout.strip()
        print("- `%s` — %s" % (rel, c or "(not committed yet)"))
    print()
print("Command: `bench/fuzz.sh` (`make -j2 -k fuzz FUZZ_SECONDS=N`; logs in build-fuzz/logs/).")
PY
