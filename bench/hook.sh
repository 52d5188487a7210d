#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# libvirt hook cost: vmseal-hook's wall time for a 4-disk domain (4 qcow2 overlays on one 2 GiB
# signed template), cold (empty allow-cache: one full digest) and cached; then, as root, the
# time of `virsh create` of that domain on a real libvirtd with and without the hook installed.
# Writes its section to $RESULT. Run it through bench/run.sh (`bench/run.sh hook`).
#
# Knobs (environment): BENCH_HOOK_GIB (template size, default 2), BENCH_HOOK_COLD (cold runs,
# default 5), BENCH_HOOK_CACHED (cached runs, default 40), BENCH_HOOK_STARTS (virsh starts per
# configuration, default 21).
set -euo pipefail
top=${VMSEAL_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-$top/build/bin}
DATA=${BENCH_DATA:-$top/bench/data}
RESULT=${RESULT:-/dev/stdout}
GIB=${BENCH_HOOK_GIB:-2}
COLD=${BENCH_HOOK_COLD:-5}
CACHED=${BENCH_HOOK_CACHED:-40}
STARTS=${BENCH_HOOK_STARTS:-21}
PY=/usr/bin/python3
HOOK=$BIN/vmseal-hook
export PATH="$BIN:$PATH"

for b in "$HOOK" "$BIN/vmseal-sign" "$BIN/vmseal-key"; do
	[ -x "$b" ] || { echo "hook bench: $b missing (make all first)" >&2; exit 2; }
done
command -v qemu-img >/dev/null || { echo "hook bench: qemu-img missing" >&2; exit 2; }
mkdir -p "$DATA"
# Work files on the same file system as bench/data (not tmpfs): the audit fsync is part of the cost.
work=$(mktemp -d "$DATA/hook-bench.XXXXXX")
chmod 0755 "$work"
LV_RUN=$work/lv
cleanup() {
	[ -n "${holder_pid:-}" ] && kill "$holder_pid" 2>/dev/null
	[ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null
	if declare -F lv_cleanup >/dev/null; then lv_cleanup; fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tpl="$DATA/hook-template-${GIB}g.raw"
size=$((GIB * 1024 * 1024 * 1024))
if [ "$(stat -c %s "$tpl" 2>/dev/null || echo 0)" != "$size" ]; then
	echo "hook bench: creating $tpl ($GIB GiB of random data)"
	head -c "$size" /dev/zero | openssl enc -aes-128-ctr -pass pass:vmseal-hook-bench -nosalt -pbkdf2 \
		-out "$tpl.tmp"
	mv "$tpl.tmp" "$tpl"
fi
cd "$work"
echo bench > pw && chmod 600 pw
vmseal-key generate --out k --passphrase-file pw >/dev/null
vmseal-key policy-entry k.pub --owner pipeline > k.entry
"$PY" "$top/tests/mkpolicy.py" policy.json \
	'[{"match":"debian-*","keys":["@k"],"min_version":1,"allow_overlay":true}]' k=k.entry
echo "hook bench: signing the template"
vmseal-sign --key k.key --passphrase-file pw --template debian-12 --template-version 3 --force \
	"$tpl" >/dev/null
mkdir -p img
for d in a b c d; do qemu-img create -q -f qcow2 -F raw -b "$tpl" "img/disk-$d.qcow2"; done
cat > hook.conf <<EOF
policy = $work/policy.json
audit_log = $work/audit.jsonl
cache_dir = $work/cache
qemu_pid_dir = $work/run
EOF
# A stand-in for QEMU at started begin: holds the 5 files of the domain as QEMU does, named by
# its pid file (the started check compares them with what start begin verified).
mkdir -p run
holder_pid=
"$PY" -c "
import os, sys, time
fds = [os.open(f, os.O_RDONLY) for f in sys.argv[1:]]
open('$work/run/bench4.pid', 'w').write(str(os.getpid()))
time.sleep(3600)" "$work"/img/disk-*.qcow2 "$tpl" &
holder_pid=$!

# The domain XML as libvirt gives it at start begin: each disk with its backingStore chain.
{
	echo "<domain type='qemu'><name>bench4</name><devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
	for d in a b c d; do
		cat <<EOF
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
<source file='$work/img/disk-$d.qcow2' index='1'/>
<backingStore type='file' index='2'><format type='raw'/><source file='$tpl'/><backingStore/></backingStore>
<target dev='vd$d' bus='virtio'/></disk>
EOF
	done
	echo "</devices></domain>"
} > start.xml
# … and at prepare begin: top images only, the hook follows the headers.
sed '/<backingStore type/d' start.xml > prepare.xml

cat "$tpl" > /dev/null # warm: cold means "not in the allow-cache", not "on disk"

# timeit N XML CLEAR CMD...: runs CMD N times with XML on stdin (CLEAR=1: empty the allow-cache
# first); prints "median-wall max-wall median-cpu" in ms. CPU is the child's user+system time.
cat > timeit.py <<'PY'
import os, resource, shutil, statistics, subprocess, sys, time
n, xml, clear, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1", sys.argv[4:]
walls, cpus = [], []
for _ in range(n):
    if clear:
        shutil.rmtree(os.environ["WORK"] + "/cache", ignore_errors=True)
    with open(xml, "rb") as f:
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        t1 = time.perf_counter()
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit("hook bench: refused: " + p.stderr.decode(errors="replace").strip())
    walls.append((t1 - t0) * 1000)
    cpus.append((r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000)
print("%.1f %.1f %.1f" % (statistics.median(walls), max(walls), statistics.median(cpus)))
PY
export WORK=$work
# Timed commands run at a higher priority when we may (root), as in bench/digest.sh, so that
# other work on a shared machine takes less from what is timed. BENCH_NICE=0: off.
NICE=${BENCH_NICE:-$([ "$(id -u)" = 0 ] && echo -10 || echo 0)}
prio=(nice -n "$NICE")
timeit() { "${prio[@]}" "$PY" "$work/timeit.py" "$@"; }
stats() { # median and max of the numbers on stdin, "median max"
	sort -n | awk '{v[NR] = $1} END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
		printf "%.1f %.1f\n", m, v[NR]}'
}
# Idle share of all CPUs over one second, in percent, from /proc/stat.
idle_percent() {
	local a b i total=0
	a=($(head -1 /proc/stat)); sleep 1; b=($(head -1 /proc/stat))
	for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
	echo $(((b[4] - a[4] + b[5] - a[5]) * 100 / (total > 0 ? total : 1)))
}
# Waits (at most BENCH_QUIET_WAIT s, default 120) for a 90% idle machine: other work on these
# shared cores would be measured as the hook's slowness. Sets idle_start.
quiet_wait() {
	local deadline=$((SECONDS + ${BENCH_QUIET_WAIT:-120})) idle
	while idle=$(idle_percent); [ "$idle" -lt 90 ] && [ $SECONDS -lt $deadline ]; do
		echo "hook bench: machine only $idle% idle, waiting" >&2
		sleep 4
	done
	idle_start=$idle
}

# fsync_probe: "median max" ms of 21 fdatasyncs of a 200-byte append in the work directory.
# Each judged call makes two (the audit log, then its head file), so the disk's latency at the
# moment is part of every judged row and, six times over, of the virsh rows.
fsync_probe() {
	"$PY" -c "
import os, statistics, time
fd = os.open('$work/fsync.probe', os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
t = []
for _ in range(21):
    os.write(fd, b'x' * 200)
    a = time.perf_counter(); os.fdatasync(fd); t.append((time.perf_counter() - a) * 1000)
print('%.2f %.2f' % (statistics.median(t), max(t)))"
}

quiet_wait
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
read -r fsync_med fsync_max < <(fsync_probe)
echo "hook bench: cold runs"
read -r cold_med cold_max cold_cpu < <(timeit "$COLD" start.xml 1 "$HOOK" --config "$work/hook.conf" bench4 start begin -)
echo "hook bench: cached runs"
timeit 1 start.xml 0 "$HOOK" --config "$work/hook.conf" bench4 start begin - > /dev/null # fill the cache
read -r start_med start_max start_cpu < <(timeit "$CACHED" start.xml 0 "$HOOK" --config "$work/hook.conf" bench4 start begin -)
read -r prep_med prep_max prep_cpu < <(timeit "$CACHED" prepare.xml 0 "$HOOK" --config "$work/hook.conf" bench4 prepare begin -)
read -r nocache_med nocache_max nocache_cpu < <(timeit "$COLD" start.xml 0 "$HOOK" --config "$work/hook.conf" --no-cache bench4 start begin -)
read -r other_med other_max other_cpu < <(timeit "$CACHED" start.xml 0 "$HOOK" --config "$work/hook.conf" bench4 started begin -)
# libvirt's exact call (no options: the first stage decides from argv alone, reads no configuration)
read -r noop_med noop_max noop_cpu < <(timeit "$CACHED" start.xml 0 "$HOOK" bench4 stopped end -)
read -r true_med true_max true_cpu < <(timeit "$CACHED" start.xml 0 /bin/true)
# Experiment: the same hook's judge linked statically (no dynamic loading of libxml2, ICU, OpenSSL).
static_note=
printf 'int vmseal_hook_judge_main(int, char **);\nint main(int c, char **v) { return vmseal_hook_judge_main(c, v); }\n' \
	> "$work/judge_main.c"
if ${CC:-cc} -static -o "$work/hook-static" "$work/judge_main.c" "$top/${BUILD:-build}/agent/hook_judge.o" "$top/${BUILD:-build}/agent/hook_serve.o" \
	"$top/${BUILD:-build}/libvmseal.a" -lxml2 -licuuc -licudata -lz -llzma -lcrypto -ljansson \
	-lstdc++ -lm -ldl -lpthread > "$work/static.log" 2>&1; then
	timeit 1 start.xml 0 "$work/hook-static" --config "$work/hook.conf" bench4 start begin - > /dev/null # page it in
	read -r sstart_med sstart_max sstart_cpu < <(timeit "$CACHED" start.xml 0 "$work/hook-static" --config "$work/hook.conf" bench4 start begin -)
	read -r sother_med sother_max sother_cpu < <(timeit "$CACHED" start.xml 0 "$work/hook-static" --config "$work/hook.conf" bench4 started begin -)
else
	static_note="static link failed: $(tail -1 "$work/static.log")"
fi
# The judge server (vmseal-hook --serve), where $HOOK looks for it (Makefile: $(BUILD)/run/hook.sock):
# the same calls handed to a child of a process that loaded the judge once. CPU: the caller's
# median plus the server's children's mean (their time is the server's, not the caller's).
server_sock=$(dirname "$BIN")/run/hook.sock
server_pid=
server_start() {
	mkdir -p "$(dirname "$server_sock")" && chmod 0700 "$(dirname "$server_sock")"
	"$HOOK" --serve --socket "$server_sock" 2> "$work/server.log" &
	server_pid=$!
	for _ in $(seq 200); do grep -q listening "$work/server.log" && return 0; sleep 0.02; done
	echo "hook bench: judge server did not start: $(cat "$work/server.log")" >&2
	exit 1
}
server_stop() {
	[ -n "$server_pid" ] || return 0
	kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null; server_pid=
}
# server_cpu: the server's reaped children's CPU time so far, in ms
server_cpu() { awk -v hz="$(getconf CLK_TCK)" '{print ($16 + $17) * 1000 / hz}' "/proc/$server_pid/stat"; }
# timeit_served N XML CMD...: as timeit, CPU = caller's median + server children's mean
timeit_served() {
	local n=$1 c0 c1 med max cpu
	c0=$(server_cpu)
	read -r med max cpu < <(timeit "$@")
	c1=$(server_cpu)
	echo "$med $max $(awk -v a="$cpu" -v c0="$c0" -v c1="$c1" -v n="$n" 'BEGIN {printf "%.1f", a + (c1 - c0) / n}')"
}
if "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect(sys.argv[1])' "$server_sock" 2>/dev/null; then
	echo "hook bench: a judge server already listens on $server_sock: stop it first" >&2
	exit 2
fi
server_start
timeit 1 start.xml 0 "$HOOK" --config "$work/hook.conf" bench4 start begin - > /dev/null
read -r vstart_med vstart_max vstart_cpu < <(timeit_served "$CACHED" start.xml 0 "$HOOK" --config "$work/hook.conf" bench4 start begin -)
read -r vprep_med vprep_max vprep_cpu < <(timeit_served "$CACHED" prepare.xml 0 "$HOOK" --config "$work/hook.conf" bench4 prepare begin -)
read -r vother_med vother_max vother_cpu < <(timeit_served "$CACHED" start.xml 0 "$HOOK" --config "$work/hook.conf" bench4 started begin -)
server_stop
for v in "$cold_med" "$start_med" "$prep_med" "$nocache_med" "$other_med" "$true_med" "$vstart_med" "$vother_med"; do
	[ -n "$v" ] || { echo "hook bench: a hook run failed" >&2; exit 1; }
done
t0=$EPOCHREALTIME
"$BIN/vmseal-digest" "$tpl" > /dev/null
digest_ms=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.0f", (b - a) * 1000}')

# --- virsh create with and without the hook (root only) -------------------------------------
virsh_note=
if [ "$(id -u)" != 0 ]; then
	virsh_note="not measured: needs root (a private libvirtd)"
else
	source "$top/tests/e2e/libvirtd.bash"
	why=$(lv_missing)
	if [ -n "$why" ]; then
		virsh_note="not measured: $why"
	elif ! lv_lock > "$work/lock.out"; then
		virsh_note="not measured: $(cat "$work/lock.out")"
	else
		mkdir -p "$LV_RUN"
		lv_setup
		# libvirtd logs each command it runs, the hook too, when it starts it ("About to run")
		# and when it has its result (util.command at debug level, the rest as before): the
		# hook's time inside each start, as libvirt waits for it, without QEMU's spread.
		sed -i 's/^log_outputs = "3:/log_outputs = "1:/' "$LV_RUN/libvirtd.conf"
		echo 'log_filters = "1:util.command"' >> "$LV_RUN/libvirtd.conf"
		n=0
		# virsh_times N [TAG]: prints the wall time of N `virsh create` runs (each then
		# destroyed); TAG: the domains' names go to $work/TAG.names.
		virsh_times() {
			local i t0 t1
			for i in $(seq "$1"); do
				n=$((n + 1))
				[ -n "${2:-}" ] && echo "$LV_DOMPFX-$n" >> "$work/$2.names"
				lv_domxml "$LV_DOMPFX-$n" "$work"/img/disk-{a,b,c,d}.qcow2 > "$work/dom.xml"
				t0=$EPOCHREALTIME
				"${prio[@]}" $LV_V create "$work/dom.xml" > /dev/null 2> "$work/virsh.err" || {
					echo "hook bench: virsh create failed: $(cat "$work/virsh.err")" >&2; exit 1; }
				t1=$EPOCHREALTIME
				$LV_V destroy "$LV_DOMPFX-$n" > /dev/null
				# QEMU's teardown (its memory, its files, libvirt's cleanup) runs on after
				# destroy returns: settle before the next timed start, so that one
				# configuration's start does not pay for the previous one's teardown.
				sleep 0.5
				awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f\n", (b - a) * 1000}'
			done
		}
		# libvirtd looks for hook files when it starts, but lists qemu.d again at every call: with
		# the hook installed before the start, removing and restoring the file between starts
		# compares both configurations on the same daemon, interleaved, so drift cancels out.
		grep -v "^qemu_pid_dir" "$work/hook.conf" | lv_hook_install "$HOOK" # libvirt's own pid files
		lv_start > "$work/start.out" || { cat "$work/start.out" >&2; exit 1; }
		virsh_times 2 > /dev/null # warms libvirtd, QEMU's files and the allow-cache
		: > "$work/plain.ms"
		: > "$work/hooked.ms"
		: > "$work/trivial.ms"
		: > "$work/served.ms"
		# A hook that only reads its input and exits 0, in the same place: what libvirt's
		# running of any hook costs (3 fork/exec and waits per start), apart from vmseal's work.
		# The least a hook can be: a static C program (no loader, no shell); `exec cat` from
		# /bin/sh, where no static link is possible (it costs two dynamic execs per call).
		printf '#include <unistd.h>\nint main(void)\n{\n\tchar b[4096];\n\twhile (read(0, b, sizeof(b)) > 0)\n\t\t;\n\treturn 0;\n}\n' > "$work/trivial-hook.c"
		if ${CC:-cc} -O2 -static -o "$work/trivial-hook" "$work/trivial-hook.c" 2> /dev/null; then
			trivial_what="a static C program that reads its input"
		else
			printf '#!/bin/sh\nexec cat > /dev/null\n' > "$work/trivial-hook"
			trivial_what="\`exec cat\` from /bin/sh"
		fi
		chmod 0755 "$work/trivial-hook"
		echo "hook bench: virsh create, with and without the hook, interleaved"
		for i in $(seq "$STARTS"); do
			mv /etc/libvirt/hooks/qemu.d/vmseal "$work/hook.off"
			ev0=$(wc -l < "$work/audit.jsonl")
			virsh_times 1 plain >> "$work/plain.ms"
			cp "$work/trivial-hook" /etc/libvirt/hooks/qemu.d/vmseal
			virsh_times 1 trivial >> "$work/trivial.ms"
			[ "$(wc -l < "$work/audit.jsonl")" = "$ev0" ] || {
				echo "hook bench: libvirt ran the removed hook" >&2; exit 1; }
			mv "$work/hook.off" /etc/libvirt/hooks/qemu.d/vmseal
			virsh_times 1 hooked >> "$work/hooked.ms"
			[ "$(wc -l < "$work/audit.jsonl")" -gt "$ev0" ] || {
				echo "hook bench: libvirt did not run the hook" >&2; exit 1; }
			server_start
			c0=$(server_cpu); ev1=$(wc -l < "$work/audit.jsonl")
			virsh_times 1 served >> "$work/served.ms"
			c1=$(server_cpu)
			server_stop
			[ "$(wc -l < "$work/audit.jsonl")" -gt "$ev1" ] || {
				echo "hook bench: libvirt did not run the hook" >&2; exit 1; }
			awk -v a="$c0" -v b="$c1" 'BEGIN {print b - a}' >> "$work/served-cpu.ms"
		done
		read -r plain_med plain_max < <(stats < "$work/plain.ms")
		read -r hook_med hook_max < <(stats < "$work/hooked.ms")
		read -r trivial_med trivial_max < <(stats < "$work/trivial.ms")
		read -r served_med served_max < <(stats < "$work/served.ms")
		served_cpu=$(awk '{t += $1} END {printf "%.1f", t / NR}' "$work/served-cpu.ms")
		# hook_in_libvirt TAG: "mean median calls" of the time libvirtd spent running the hook
		# per start of TAG's domains (its calls in the start: prepare, start and started begin;
		# destroy's come after the timing), from "About to run …/qemu.d/vmseal NAME OP SUB -" to that
		# thread's next "Result status"; the log's millisecond stamps, so each call is ±1 ms and
		# the mean of 3 × STARTS calls is what counts), and how many calls per start.
		hook_in_libvirt() {
			"$PY" - "$LV_RUN/libvirtd.log" "$work/$1.names" <<'PY'
import datetime, re, statistics, sys
names = set(open(sys.argv[2]).read().split())
line_re = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})\+0000: (\d+): debug : (virCommand\w+):\d+ : (.*)$")
run_re = re.compile(r"About to run .*/hooks/qemu\.d/vmseal (\S+) (\S+) (\S+) -$")
open_calls, per_start, calls = {}, {}, {}
for line in open(sys.argv[1], errors="replace"):
    m = line_re.match(line.rstrip("\n"))
    if not m:
        continue
    t = datetime.datetime.strptime(m.group(1) + "+0000", "%Y-%m-%d %H:%M:%S.%f%z").timestamp() * 1000
    thread, fn, text = m.group(2), m.group(3), m.group(4)
    r = run_re.search(text)
    if r and fn == "virCommandRunAsync":
        if open_calls.get(thread):
            sys.exit("hook bench: libvirtd's log: a hook call without its result (thread %s)" % thread)
        judged_op = r.group(2) in ("prepare", "start", "started") and r.group(3) == "begin"
        open_calls[thread] = (r.group(1), t) if r.group(1) in names and judged_op else None
    elif fn == "virCommandRun" and text.startswith("Result status") and open_calls.get(thread):
        name, t0 = open_calls.pop(thread)
        per_start[name] = per_start.get(name, 0) + (t - t0)
        calls[name] = calls.get(name, 0) + 1
    elif fn == "virCommandRun" and text.startswith("Result status"):
        open_calls.pop(thread, None)
if len(per_start) != len(names) or any(n != 3 for n in calls.values()):
    sys.exit("hook bench: libvirtd's log: %d of %d starts, calls per start %s (3 each expected)"
             % (len(per_start), len(names), sorted(set(calls.values()))))
v = list(per_start.values())
print("%.1f %.1f %.1f" % (statistics.mean(v), statistics.median(v), statistics.mean(calls.values())))
PY
		}
		read -r lvt_trivial lvt_trivial_med lvt_trivial_calls < <(hook_in_libvirt trivial)
		read -r lvt_hooked lvt_hooked_med lvt_hooked_calls < <(hook_in_libvirt hooked)
		read -r lvt_served lvt_served_med lvt_served_calls < <(hook_in_libvirt served)
		[ -n "${lvt_trivial:-}" ] && [ -n "${lvt_hooked:-}" ] && [ -n "${lvt_served:-}" ] || {
			echo "hook bench: libvirtd's log of hook calls unreadable" >&2; exit 1; }
		lv_cleanup
		[ -n "$plain_med" ] && [ -n "$hook_med" ] || { echo "hook bench: a virsh run failed" >&2; exit 1; }
		overhead=$(awk -v a="$plain_med" -v b="$hook_med" 'BEGIN {printf "%+.1f", (b - a) * 100 / a}')
		trivial_overhead=$(awk -v a="$plain_med" -v b="$trivial_med" 'BEGIN {printf "%+.1f", (b - a) * 100 / a}')
		own_overhead=$(awk -v a="$plain_med" -v b="$hook_med" -v t="$trivial_med" 'BEGIN {printf "%+.1f", (b - t) * 100 / a}')
		served_overhead=$(awk -v a="$plain_med" -v b="$served_med" 'BEGIN {printf "%+.1f", (b - a) * 100 / a}')
		served_own=$(awk -v a="$plain_med" -v b="$served_med" -v t="$trivial_med" 'BEGIN {printf "%+.1f", (b - t) * 100 / a}')
		# The same overhead from the hook's own timed calls (prepare + start + started begin, each
		# fork/exec included): a sum of medians of 40 runs, which the spread of QEMU's start
		# times (tens of ms from one start to the next) does not blur.
		served_sum=$(awk -v a="$plain_med" -v p="$vprep_med" -v s="$vstart_med" -v o="$vother_med" 'BEGIN {printf "%+.1f", (p + s + o) * 100 / a}')
		# … and as libvirtd waited for it inside each start (its log), over virsh create without it
		lv_pct() { awk -v a="$plain_med" -v b="$1" 'BEGIN {printf "%+.1f", b * 100 / a}'; }
		lv_served=$(lv_pct "$lvt_served")
		lv_hooked=$(lv_pct "$lvt_hooked")
		lv_trivial=$(lv_pct "$lvt_trivial")
		inproc_sum=$(awk -v a="$plain_med" -v p="$prep_med" -v s="$start_med" -v o="$other_med" 'BEGIN {printf "%+.1f", (p + s + o) * 100 / a}')
	fi
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
read -r fsync2_med fsync2_max < <(fsync_probe)
# verdict VALUE LIMIT: PASS when VALUE <= LIMIT (issue #18 item 3's targets), else MISS.
verdict() { awk -v v="$1" -v l="$2" 'BEGIN {print (v + 0 <= l + 0) ? "**PASS**" : "**MISS**"}'; }

{
	echo "### libvirt hook ($(nproc) cores, $(df -T "$DATA" | awk 'NR==2{print $2}'), template $GIB GiB raw, 4 qcow2 overlays)"
	echo
	echo "| what | median ms | max ms | median CPU ms | runs | target |"
	echo "|---|---|---|---|---|---|"
	echo "| hook \`start begin\`, cold (empty allow-cache; template hashed once for 4 disks) | $cold_med | $cold_max | $cold_cpu | $COLD | ≈ digest ($digest_ms ms) |"
	echo "| hook \`start begin\`, \`--no-cache\` | $nocache_med | $nocache_max | $nocache_cpu | $COLD | |"
	echo "| hook \`start begin\`, cached | $start_med | $start_max | $start_cpu | $CACHED | ≤ 8 |"
	echo "| hook \`prepare begin\` (follows headers), cached | $prep_med | $prep_max | $prep_cpu | $CACHED | ≤ 20 |"
	echo "| hook \`started begin\` check (QEMU's /proc/PID/fd against the 5 files start begin verified) | $other_med | $other_max | $other_cpu | $CACHED | |"
	echo "| hook, an operation it does not judge (\`stopped end\`: the first stage alone, libc only) | $noop_med | $noop_max | $noop_cpu | $CACHED | ≤ 2 |"
	echo "| \`started begin\` check's own cost (the two rows above, difference of medians) | $(awk -v a="$other_med" -v b="$noop_med" 'BEGIN {printf "%.1f", a - b}') | | $(awk -v a="$other_cpu" -v b="$noop_cpu" 'BEGIN {printf "%.1f", a - b}') | | ≤ 5 |"
	echo "| \`/bin/true\` (process start on this machine now) | $true_med | $true_max | $true_cpu | $CACHED | |"
	echo "| fdatasync of a 200-byte append here, before the hook runs / after the virsh runs (2 per judged call) | $fsync_med / $fsync2_med | $fsync_max / $fsync2_max | | 21 | |"
	echo "| served (\`vmseal-hook --serve\` running): hook \`start begin\`, cached | $vstart_med | $vstart_max | $vstart_cpu | $CACHED | ≤ 8 |"
	echo "| served: hook \`prepare begin\`, cached | $vprep_med | $vprep_max | $vprep_cpu | $CACHED | ≤ 20 |"
	echo "| served: hook \`started begin\` check | $vother_med | $vother_max | $vother_cpu | $CACHED | |"
	if [ -z "$static_note" ]; then
		echo "| experiment: hook linked statically, \`start begin\`, cached | $sstart_med | $sstart_max | $sstart_cpu | $CACHED | |"
		echo "| experiment: hook linked statically, \`started begin\` check | $sother_med | $sother_max | $sother_cpu | $CACHED | |"
	fi
	if [ -z "$virsh_note" ]; then
		echo "| \`virsh create\` 4-disk domain, no hook | $plain_med | $plain_max | | $STARTS | |"
		echo "| \`virsh create\` 4-disk domain, a hook that only reads its input ($trivial_what) in its place | $trivial_med | $trivial_max | | $STARTS | |"
		echo "| \`virsh create\` 4-disk domain, hook installed, cached, judged in the hook's process | $hook_med | $hook_max | | $STARTS | |"
		echo "| \`virsh create\` 4-disk domain, hook installed, cached, its judge server running (as the package installs it) | $served_med | $served_max | $served_cpu (server) | $STARTS | ≤ +5% |"
		echo "| libvirtd's time running the hook inside each \`virsh create\` (its log: prepare + start + started begin, ${lvt_served_calls} calls per start), served: mean / median per start | $lvt_served / $lvt_served_med | | | $STARTS | |"
		echo "| … judged in the hook's own process | $lvt_hooked / $lvt_hooked_med | | | $STARTS | |"
		echo "| … the do-nothing hook ($trivial_what) | $lvt_trivial / $lvt_trivial_med | | | $STARTS | |"
	fi
	echo
	echo "| target (issue #18 item 3, same run) | measured | |"
	echo "|---|---:|---|"
	echo "| cached \`start begin\` ≤ 8 ms (median), served (the package's configuration) | $vstart_med ms | $(verdict "$vstart_med" 8) |"
	echo "| … judged in the hook's own process (no server) | $start_med ms | $(verdict "$start_med" 8) |"
	echo "| an operation the hook does not judge ≤ 2 ms (median) | $noop_med ms | $(verdict "$noop_med" 2) |"
	[ -z "$virsh_note" ] && echo "| \`virsh create\` with the hook ≤ +5 %, served | $served_overhead % | $(verdict "$served_overhead" 5) |"
	[ -z "$virsh_note" ] && echo "| … vmseal's own share, served (over the do-nothing hook) | $served_own % | $(verdict "$served_own" 5) |"
	[ -z "$virsh_note" ] && echo "| … judged in the hook's own process (no server) | $overhead % | $(verdict "$overhead" 5) |"
	[ -z "$virsh_note" ] && echo "| … the time libvirtd spent running the hook inside each start (its log, mean of $STARTS starts), served, over \`virsh create\` without it | $lv_served % | $(verdict "$lv_served" 5) |"
	[ -z "$virsh_note" ] && echo "| … the same, judged in the hook's own process | $lv_hooked % | $(verdict "$lv_hooked" 5) |"
	[ -z "$virsh_note" ] && echo "| … the same for a hook that does nothing ($trivial_what): what any hook costs | $lv_trivial % | |"
	[ -z "$virsh_note" ] && echo "| … the hook's 3 calls per start summed (served: prepare $vprep_med + start $vstart_med + started $vother_med ms) over \`virsh create\` without it | $served_sum % | $(verdict "$served_sum" 5) |"
	[ -z "$virsh_note" ] && echo "| … the same, judged in the hook's own process ($prep_med + $start_med + $other_med ms) | $inproc_sum % | $(verdict "$inproc_sum" 5) |"
	echo
	[ -n "$virsh_note" ] && echo "virsh create: $virsh_note." && echo
	[ -n "$static_note" ] && echo "Static experiment: $static_note." && echo
	[ -z "$virsh_note" ] && echo "Hook overhead on \`virsh create\` (medians): **$overhead %** (same libvirtd, the hook file removed, replaced by the trivial hook and restored between starts, $STARTS starts each, interleaved; libvirt runs the hook 3 times per start: prepare and start begin are judged, started begin checks what QEMU holds). Of it, libvirt's running of a hook that does nothing costs $trivial_overhead %; vmseal's own work $own_overhead %. With the judge server running (started and stopped between starts, the same hook file): **$served_overhead %**, of which vmseal's own $served_own %." && echo
	[ -z "$virsh_note" ] && echo "The hook's share of \`virsh create\` measured where it is spent: libvirt runs each hook call synchronously in the start job and waits for its result, and its log (util.command at debug level) stamps each call's start (\"About to run\", before the fork) and end (\"Result status\", after the wait); the sum over a start's three calls, averaged over $STARTS starts, is the time the hook added to that start: fork, exec, the judge, the audit's fsyncs, as libvirtd saw them. Those milliseconds are not blurred by the spread of QEMU's own start (the virsh samples below), which the medians of $STARTS starts do not resolve to 5 %; the percentage divides them by the median \`virsh create\` without the hook, which is (its median moves by ~10 % between runs here)." && echo
	[ -z "$virsh_note" ] && echo "virsh samples, ms, in the order run (the spread is libvirtd's and QEMU's; the medians compare): no hook $(paste -sd' ' "$work/plain.ms"); do-nothing hook $(paste -sd' ' "$work/trivial.ms"); in-process $(paste -sd' ' "$work/hooked.ms"); served $(paste -sd' ' "$work/served.ms")." && echo
	echo "Command: \`bench/run.sh hook\`. Wall time around each process as a parent sees it (fork/exec included; Python \`subprocess\`, bash \`\$EPOCHREALTIME\` for virsh), CPU time from \`getrusage(RUSAGE_CHILDREN)\`, timed commands at nice $NICE, audit log and cache on the same file system (fsync included). QEMU under $([ -r /dev/kvm ] && echo KVM || echo TCG). Machine $idle_start% idle when the hook runs began (waits up to 120 s for 90%); load average before $load_before, after $load_after."
} > "$RESULT"
