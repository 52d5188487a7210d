#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Times commands on a machine shared with other work, fairly.

usage: interleave.py RUNS OUT.json NAME=COMMAND...

Round r runs every command once (round 0 only warms up), so slow phases of the machine hit all
commands alike. Each run is timed by hyperfine (-N --runs 1) when installed, else here. Around
each run the CPU time of everything else on the machine is taken from /proc/stat minus the run's
own CPU time; a run during which other work used more than MAX_FOREIGN of the CPUs is thrown
away and repeated (at most RETRIES times, then kept and counted as disturbed). Before each run
it waits for the machine to be 90% idle. Waiting and repeating share one time budget,
BENCH_QUIET_WAIT seconds (default 300); once it is spent, runs are kept as they come. Writes {"results": [{"command", "times",
"cpu" (own user+system seconds), "others" (CPU share other work took), "disturbed"}],
"discarded": N}.
"""
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

MAX_FOREIGN = 0.10
RETRIES = 4
BUDGET = [float(os.environ.get("BENCH_QUIET_WAIT", "300"))]  # seconds left for waits/repeats
TICK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1
HYPERFINE = any(os.access(os.path.join(d, "hyperfine"), os.X_OK)
                for d in os.environ.get("PATH", "").split(":"))


def cpu_ticks():
    """(busy, total) jiffies over all CPUs."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def wait_quiet():
    while BUDGET[0] > 0:
        b0, t0 = cpu_ticks()
        time.sleep(1)
        BUDGET[0] -= 1
        b1, t1 = cpu_ticks()
        busy = (b1 - b0) / max(t1 - t0, 1)
        if busy <= 0.10:
            return
        print(f"  machine {busy:.0%} busy, waiting", file=sys.stderr)


def run_once(cmd):
    """Returns (wall seconds, own CPU seconds)."""
    if HYPERFINE:
        with tempfile.NamedTemporaryFile(suffix=".json") as j:
            subprocess.run(["hyperfine", "-N", "--style", "none", "--runs", "1",
                            "--export-json", j.name, cmd], check=True, stdout=subprocess.DEVNULL)
            r = json.load(open(j.name))["results"][0]
            return r["times"][0], r["user"] + r["system"]
    before = os.times()
    t = time.perf_counter()
    subprocess.run(shlex.split(cmd), check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = os.times()
    return wall, (after.children_user - before.children_user +
                  after.children_system - before.children_system)


def main(argv):
    runs, out = int(argv[0]), argv[1]
    cmds = [a.split("=", 1) for a in argv[2:]]
    times = {n: [] for n, _ in cmds}
    cpu = {n: [] for n, _ in cmds}
    others = {n: [] for n, _ in cmds}
    disturbed = {n: 0 for n, _ in cmds}
    discarded = 0
    for r in range(runs + 1):
        print(f"  round {r} of {runs}{' (warm-up)' if r == 0 else ''}", file=sys.stderr)
        for name, cmd in cmds:
            for attempt in range(RETRIES + 1):
                wait_quiet()
                b0, _ = cpu_ticks()
                wall, own = run_once(cmd)
                b1, _ = cpu_ticks()
                foreign = max((b1 - b0) / TICK - own, 0) / (wall * NCPU)
                if r == 0 or foreign <= MAX_FOREIGN:
                    break
                if attempt == RETRIES or BUDGET[0] <= 0:
                    disturbed[name] += 1
                    break
                BUDGET[0] -= wall
                discarded += 1
                print(f"  {name}: {wall:.3f} s, others used {foreign:.0%} of the CPUs: again",
                      file=sys.stderr)
            if r:
                times[name].append(wall)
                cpu[name].append(own)
                others[name].append(foreign)
    json.dump({"results": [{"command": n, "times": times[n], "cpu": cpu[n],
                            "others": others[n], "disturbed": disturbed[n]} for n, _ in cmds], "discarded": discarded,
               "timer": "hyperfine -N --runs 1" if HYPERFINE else "python perf_counter"},
              open(out, "w"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
