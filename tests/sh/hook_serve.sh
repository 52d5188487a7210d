#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The hook's judge server (`vmseal-hook --serve`): every case of tests/sh/hook.sh again with the
# server running (the first stage hands its calls over; same exit codes, lines and audit
# events), then what the server must refuse: a caller or a server of another user, malformed
# requests, --serve inside a served call, a second server, an unsafe directory; and what the
# first stage does when the server does not take the call, or ends without a verdict.
source "$(dirname "$0")/lib.sh"
cd "$T"
command -v qemu-img >/dev/null || { skip "hook_serve: qemu-img not installed (scripts/deps.sh)"; exit 0; }
# The socket $BIN's first stage was compiled to use (Makefile: $(BUILD)/run/hook.sock).
rundir=$(dirname "$BIN")/run
sock=$rundir/hook.sock
mkdir -p "$rundir" && chmod 0700 "$rundir"
if "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect(sys.argv[1])' "$sock" 2>/dev/null; then
	fail "a judge server already listens on $sock (stop it first)"
	exit 1
fi
server_pid=
start_server() { # start_server LOG [SOCKET]; the server is left a descriptor of its starter's (8)
	"$BIN/vmseal-hook" --serve --socket "${2:-$sock}" 2>"$1" 8<"$BIN/vmseal-hook" &
	server_pid=$!
	for _ in $(seq 100); do grep -q listening "$1" 2>/dev/null && return 0; sleep 0.05; done
	return 1
}
running() { # running PID: PID is there and not a zombie (one the server's end left to init)
	[ -e "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)" != Z ]
}
stop_server() {
	[ -n "$server_pid" ] || return 0
	kill -CONT "$server_pid" 2>/dev/null
	kill -TERM "$server_pid" 2>/dev/null
	wait "$server_pid" 2>/dev/null
	server_pid=
}
cleanup_hooks+=("stop_server")
# spare_child: the pid of a child of the server when no call is in progress (its spare), once
# there is one (up to 5 s); nothing if none
spare_child() {
	local p
	for _ in $(seq 100); do
		p=$(pgrep -P "$server_pid" | head -1)
		[ -n "$p" ] && { echo "$p"; return; }
		sleep 0.05
	done
}
# call_child FIFO: the pid of the server's child serving a call whose stdin is FIFO (not the
# next spare), once it has one (up to 5 s); nothing if none
call_child() {
	local p
	for _ in $(seq 100); do
		for p in $(pgrep -P "$server_pid"); do
			[ "$(readlink "/proc/$p/fd/0" 2>/dev/null)" = "$1" ] && { echo "$p"; return; }
		done
		sleep 0.05
	done
}

start_server server.log && pass "server starts and listens on $sock" || { fail "server: $(cat server.log)"; exit 1; }
[ "$(stat -c %a "$sock")" = 600 ] && pass "its socket is 0600" || fail "socket mode $(stat -c %a "$sock")"

# --- every case of hook.sh, served
HOOK_SERVED=1 bash "$top/tests/sh/hook.sh" > hook.out 2>&1
hook_rc=$?
n_pass=$(grep -c '^PASS: ' hook.out); n_fail=$(grep -c '^FAIL: ' hook.out)
grep '^FAIL: ' hook.out | sed 's/^FAIL: /FAIL: served: /'
if [ "$hook_rc" = 0 ] && [ "$n_fail" = 0 ] && [ "$n_pass" -gt 50 ]; then
	pass "hook.sh with the server running: $n_pass checks pass"
else
	fail "hook.sh with the server running: exit $hook_rc, $n_pass passed, $n_fail failed: $(tail -5 hook.out)"
fi

# --- the calls went to the server: a stopped server makes the first stage refuse in 5 s
mkp() { "$PY" "$top/tests/mkpolicy.py" "$@"; }
echo pass1 > pw
vmseal-key generate --out a --passphrase-file pw >/dev/null
vmseal-key policy-entry a.pub --owner pipeline > a.entry
mkp pol.json '[{"match":"debian-*","keys":["@a"]}]' a=a.entry
head -c 1048576 /dev/urandom > data.raw
vmseal-sign --passphrase-file pw --key a.key --template debian-data --template-version 1 data.raw >/dev/null
cat > hook.conf <<EOF
policy = $T/pol.json
audit_log = $T/audit.jsonl
cache_dir = $T/cache
EOF
cat > dom.xml <<EOF
<domain type='kvm'><name>web1</name><memory>65536</memory><os><type arch='x86_64'>hvm</type></os>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$T/data.raw'/>
<target dev='vda' bus='virtio'/><readonly/></disk></devices></domain>
EOF
hook() { "$BIN/vmseal-hook" --config "$T/hook.conf" "$@"; }
expect_rc "served: start begin of a signed disk allowed" 0 hook web1 start begin - < dom.xml
sed 's|data.raw|nosuch.raw|' dom.xml > bad.xml
expect_err "served: a missing disk is refused, the line on the caller's stderr" "nosuch.raw: cannot open" \
	hook web1 start begin - < bad.xml
head -c 1048576 /dev/urandom > unsigned.raw
sed 's|data.raw|unsigned.raw|' dom.xml > unsigned.xml
expect_deny "served: an unsigned disk is denied (exit 1)" "unsigned.raw" hook web1 start begin - < unsigned.xml
"$BIN/vmseal-hook" --help > help.out 2>&1 && grep -q -- "--serve" help.out && pass "served: --help on the caller's stdout" \
	|| fail "--help: $(head -3 help.out)"

# the server and its spare (the child that takes the next call) stopped
spare_stopped=$(spare_child)
kill -STOP "$server_pid" $spare_stopped
t0=$SECONDS
expect_err "a stopped server: the first stage refuses (not judged twice)" "did not take the call in time" \
	hook web1 start begin - < dom.xml
[ $((SECONDS - t0)) -le 8 ] && pass "… after its 5 s wait" || fail "waited $((SECONDS - t0)) s"
# … and leaves nothing of the caller's queued there: its stdout and stderr (libvirt's pipes,
# read to their end) close when it exits, though the server is still stopped.
t0=$SECONDS
timeout 20 bash -c '"$0" --config "$1" web1 start begin - < "$2" 2>&1; echo "rc=$?"' "$BIN/vmseal-hook" \
	"$T/hook.conf" "$T/dom.xml" | cat > piped.out
grep -q "rc=2" piped.out && [ $((SECONDS - t0)) -le 8 ] \
	&& pass "a stopped server holds none of the caller's descriptors (its pipe ends with it, in $((SECONDS - t0)) s)" \
	|| fail "pipe held after the refusal ($((SECONDS - t0)) s): $(cat piped.out)"
kill -CONT "$server_pid" $spare_stopped

# --- a served call whose child ends without a verdict (killed while it reads its stdin)
mkfifo slow.fifo
hook web1 start begin - < slow.fifo > /dev/null 2> killed.err &
caller=$!
exec 7> slow.fifo
child=$(call_child "$T/slow.fifo")
# what the judge holds: the caller's stdin, stdout, stderr and its connection, nothing the
# server's starter left open (this script's descriptors)
if [ -n "$child" ]; then
	extra=$(for f in /proc/"$child"/fd/*; do
		n=${f##*/}; [ "$n" -le 2 ] && continue
		case $(readlink "$f") in socket:*) ;; *) echo "$n:$(readlink "$f")" ;; esac
	done)
	nsock=$(for f in /proc/"$child"/fd/*; do readlink "$f"; done | grep -c '^socket:')
	[ -z "$extra" ] && [ "$nsock" = 1 ] && pass "a served call's judge holds only the caller's descriptors and its connection" \
		|| fail "the judge holds more: $extra ($nsock sockets)"
fi
[ -n "$child" ] && kill -KILL "$child"
exec 7>&-
wait "$caller"; rc=$?
[ "$rc" = 2 ] && grep -q "ended without a verdict" killed.err && pass "a served child killed: the call is refused (exit 2)" \
	|| fail "killed child: exit $rc, $(cat killed.err)"

# --- callers and requests the server refuses
cat > client.py <<'PY'
import array, os, socket, sys
path, mode = sys.argv[1], sys.argv[2]
def req(argv, mask=0o22, magic=b"VSHOOK1\0"):
    import struct
    return magic + struct.pack("<II", mask, len(argv)) + b"".join(a.encode() + b"\0" for a in argv)
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(path)
s.settimeout(10)
try:
    ack = s.recv(1)  # the server's child for this call is there: only now the request
except OSError:
    ack = b""
if not ack:
    print("closed")
    sys.exit(0)
cwd = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
fds = [0, 1, 2, cwd]
if mode == "garbage":
    msg, fds = b"hello", [0, 1, 2, cwd]
elif mode == "threefds":
    msg, fds = req(["vmseal", "web1", "start", "begin", "-"]), [0, 1, 2]
elif mode == "serve":
    msg = req(["vmseal-hook", "--serve", "--socket", os.getcwd() + "/x.sock"])
else:
    msg = req(["vmseal", "web1", "start", "begin", "-"])
try:
    s.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
except OSError:
    print(ack.hex())
    sys.exit(0)
out = ack
try:
    while True:
        b = s.recv(1)
        if not b:
            break
        out += b
except OSError:
    pass
print(out.hex() or "closed")
PY
[ "$("$PY" client.py "$sock" garbage)" = 41 ] && grep -q "refused a malformed call" server.log \
	&& pass "a malformed request: closed unanswered, logged" || fail "garbage: $(tail -2 server.log)"
[ "$("$PY" client.py "$sock" threefds)" = 41 ] && pass "a request without its working directory: closed unanswered" \
	|| fail "three descriptors answered"
out=$("$PY" client.py "$sock" serve 2>serve.err)
[ "$out" = 4102 ] && [ ! -e x.sock ] && grep -q "not in a call the judge server serves" serve.err \
	&& pass "--serve inside a served call: refused (exit 2)" || fail "nested --serve: $out $(cat serve.err)"
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	chmod 0755 "$rundir" "$T"; chmod 0644 client.py; chmod 0666 "$sock"
	out=$(cd / && setpriv --reuid nobody --regid nogroup --clear-groups "$PY" "$T/client.py" "$sock" ok 2>&1)
	[ "$out" = closed ] && grep -q "refused a call from uid $(id -u nobody)" server.log \
		&& pass "a caller of another user: refused, logged" || fail "other uid: $out $(tail -2 server.log)"
	chmod 0600 "$sock"; chmod 0700 "$rundir" "$T"
else
	skip "caller of another user: no nobody or setpriv"
fi

# --- a second server on the same socket; an unsafe directory; a server of another user
# (under timeout: were the first server gone, this one would listen and never end)
expect_err "a second server on a live socket is refused" "another judge server listens there" \
	timeout 10 "$BIN/vmseal-hook" --serve --socket "$sock"
mkdir -p open && chmod 0777 open
expect_err "a socket directory writable by others is refused" "writable by nobody else" \
	"$BIN/vmseal-hook" --serve --socket "$T/open/hook.sock"
expect_err "--serve with a relative socket" "absolute path" "$BIN/vmseal-hook" --serve --socket rel.sock
expect_err "--serve with another option" "usage: vmseal-hook --serve" "$BIN/vmseal-hook" --serve --no-cache
# the spare (the child that takes the next call) killed: the server forks another, calls go on
spare=$(spare_child)
if [ -n "$spare" ]; then
	kill -KILL "$spare"
	next=
	for _ in $(seq 100); do next=$(pgrep -P "$server_pid" | head -1); [ -n "$next" ] && [ "$next" != "$spare" ] && break; sleep 0.05; done
	[ -n "$next" ] && [ "$next" != "$spare" ] && hook web1 start begin - < dom.xml \
		&& pass "a killed spare is replaced, the next call served" || fail "spare $spare killed: next '$next'"
else
	fail "the server has no spare child"
fi
# (the next spare is forked once the call is taken: it may not be there yet)
spare=$(spare_child)
stop_server
for _ in $(seq 100); do [ -n "$spare" ] && running "$spare" || break; sleep 0.05; done # it sees its link end
[ -n "$spare" ] && ! running "$spare" && pass "SIGTERM: the spare ends with the server" \
	|| fail "the spare $spare outlived the server"
[ ! -e "$sock" ] && grep -q "stopped (signal 15)" server.log && pass "SIGTERM: the server stops and removes its socket" \
	|| fail "after SIGTERM: $(ls -l "$sock" 2>&1) $(tail -1 server.log)"
expect_rc "no server: the judge runs in the caller's process" 0 hook web1 start begin - < dom.xml
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	# a socket of another user where the first stage looks (bound elsewhere, moved there by
	# root): its call is refused, not served
	mkdir -p nob && chmod 0777 nob && chmod 0755 "$T"
	setpriv --reuid nobody --regid nogroup --clear-groups "$PY" -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.bind(sys.argv[1]); s.listen(4); time.sleep(30)' "$T/nob/s" &
	other=$!
	for _ in $(seq 50); do [ -S nob/s ] && break; sleep 0.1; done
	mv nob/s "$sock"
	expect_err "a server of another user on the socket: the call is refused" "belongs to another user" \
		hook web1 start begin - < dom.xml
	kill "$other"; wait "$other" 2>/dev/null; rm -f "$sock"; chmod 0700 "$T"
else
	skip "server of another user: no nobody or setpriv"
fi
# a stale socket (its server killed) is replaced at the next start
start_server server2.log
spare=$(spare_child)
kill -KILL "$server_pid" && wait "$server_pid" 2>/dev/null; server_pid=
# its spare ends with it (its link to the server closed), and nothing listens any more
for _ in $(seq 100); do running "$spare" || break; sleep 0.05; done
[ -n "$spare" ] && ! running "$spare" && pass "a killed server's spare ends with it" \
	|| fail "the spare $spare outlived its killed server"
[ -S "$sock" ] && expect_rc "a stale socket: the first stage judges in its own process" 0 hook web1 start begin - < dom.xml
start_server server3.log && pass "a stale socket is replaced by the next server" || fail "restart: $(cat server3.log)"
expect_rc "served again" 0 hook web1 start begin - < dom.xml
# a stop (an upgrade's restart) while a call is in progress: no new call finds the socket, the
# server ends at once (the next one can start), the call in progress still gets its verdict
mkfifo inflight.fifo
hook web1 start begin - < inflight.fifo > /dev/null 2> inflight.err &
caller=$!
exec 7> inflight.fifo
child=$(call_child "$T/inflight.fifo")
kill -TERM "$server_pid"
timeout 5 tail --pid="$server_pid" -f /dev/null
[ -n "$child" ] && [ ! -e "$sock" ] && ! running "$server_pid" && grep -q "stopped (signal 15)$" server3.log \
	&& pass "SIGTERM with a call in progress: the socket goes, the server ends at once" \
	|| fail "stop with a call in progress: child '$child', $(ls -l "$sock" 2>&1), $(tail -2 server3.log)"
cat dom.xml >&7
exec 7>&-
wait "$caller"; rc=$?
[ "$rc" = 0 ] && pass "… and the call in progress still gets its verdict (allowed)" || fail "call in progress: exit $rc, $(cat inflight.err)"
wait "$server_pid" 2>/dev/null
server_pid=
# calls queued when the server stops (its spare stopped, so none is taken before): each one is
# still served, none refused
start_server server4.log || fail "restart: $(cat server4.log)"
spare=$(spare_child)
kill -STOP "$spare"
for i in 1 2 3; do hook web1 start begin - < dom.xml > /dev/null 2> "queued$i.err" & eval "q$i=\$!"; done
sleep 0.5
kill -TERM "$server_pid"
kill -CONT "$spare"
qok=0
for i in 1 2 3; do eval "wait \$q$i" && qok=$((qok + 1)); done
[ "$qok" = 3 ] && pass "calls queued at a stop are all served (3 of 3 allowed)" \
	|| fail "queued at a stop: $qok of 3 allowed: $(cat queued1.err queued2.err queued3.err)"
wait "$server_pid" 2>/dev/null
server_pid=
