#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End to end with a real libvirtd and QEMU: the hook installed as /etc/libvirt/hooks/qemu.d/vmseal
# refuses to start domains whose disks are unsigned or altered, and virsh shows our reason.
# Needs root. Everything it changes under /etc is saved first and restored at exit; the
# libvirtd it starts and the QEMU processes of its domains are stopped by their pids.
source "$(dirname "$0")/../sh/lib.sh"

E2E_NAME="libvirt e2e"
if [ "$(id -u)" != 0 ]; then
	skip "$E2E_NAME: needs root (starts libvirtd, writes /etc/libvirt/hooks); not run"
	exit 0
fi
for b in /usr/sbin/libvirtd virsh qemu-system-x86_64 qemu-img flock timeout; do
	command -v "$b" >/dev/null || { skip "$E2E_NAME: $b not installed (scripts/deps.sh)"; exit 0; }
done
HOOK_BIN=$BIN/vmseal-hook
[ -x "$HOOK_BIN" ] || { fail "$E2E_NAME: $HOOK_BIN not built"; exit 1; }

# One libvirtd at a time on this machine (its socket and hook directory are global).
exec 9>/run/lock/vmseal-e2e-libvirt.lock
flock -w 180 9 || { skip "$E2E_NAME: another run holds /run/lock/vmseal-e2e-libvirt.lock"; exit 0; }
if pgrep -x libvirtd >/dev/null || pgrep -x virtqemud >/dev/null; then
	skip "$E2E_NAME: a libvirtd/virtqemud is already running; this test needs its own"
	exit 0
fi

RUN=$T/run
mkdir -p "$RUN/backup" "$RUN/img"
chmod 0755 "$T" "$RUN" "$RUN/img"   # QEMU runs as root here, but keep paths traversable
V="timeout 60 virsh -c qemu:///system"
DOMPFX="vmseal-e2e-$$"
LIBVIRTD_PID=
ETC_WATCH="/etc/libvirt /etc/vmseal"
ACCOUNT_FILES="/etc/passwd /etc/group /etc/shadow /etc/gshadow /etc/passwd- /etc/group- /etc/shadow- /etc/gshadow- /etc/subuid /etc/subgid"

# --- save /etc -----------------------------------------------------------------------------
find $ETC_WATCH 2>/dev/null | sort > "$RUN/etc-before.txt"
: > "$RUN/restore.list"
save() { # save FILE...: copy existing files aside, to be copied back at exit
	local f
	for f; do
		[ -e "$f" ] || continue
		mkdir -p "$RUN/backup$(dirname "$f")"
		cp -a "$f" "$RUN/backup$f"
		echo "$f" >> "$RUN/restore.list"
	done
}
restore_etc() {
	local f
	while read -r f; do cp -a "$RUN/backup$f" "$f"; done < "$RUN/restore.list"
	find $ETC_WATCH 2>/dev/null | sort > "$RUN/etc-after.txt"
	# anything created under the watched trees (hook, qemu.conf, dirs libvirtd made) goes
	comm -13 "$RUN/etc-before.txt" "$RUN/etc-after.txt" | sort -r | while read -r f; do
		rm -rf -- "$f"
	done
}
stop_all() {
	local pf pid i
	for pf in /run/libvirt/qemu/"$DOMPFX"-*.pid; do
		[ -f "$pf" ] || continue
		pid=$(cat "$pf" 2>/dev/null)
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	done
	if [ -n "$LIBVIRTD_PID" ] && kill -0 "$LIBVIRTD_PID" 2>/dev/null; then
		kill -TERM "$LIBVIRTD_PID"
		for i in $(seq 50); do kill -0 "$LIBVIRTD_PID" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$LIBVIRTD_PID" 2>/dev/null
		wait "$LIBVIRTD_PID" 2>/dev/null
	fi
	for pf in /run/libvirt/qemu/"$DOMPFX"-*.pid; do
		[ -f "$pf" ] || continue
		pid=$(cat "$pf" 2>/dev/null)
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
		rm -f "$pf"
	done
}
cleanup_hooks+=("stop_all" "restore_etc")
trap 'exit 130' INT TERM

save /etc/libvirt/qemu.conf /etc/libvirt/hooks/qemu.d/vmseal /etc/vmseal/hook.conf
if ! getent passwd libvirt-qemu >/dev/null || ! getent group libvirt-qemu >/dev/null; then
	save $ACCOUNT_FILES
	getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
	getent passwd libvirt-qemu >/dev/null ||
		useradd --system -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
fi

# --- configure and start libvirtd ------------------------------------------------------------
cat > /etc/libvirt/qemu.conf <<'EOF'
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
stdio_handler = "file"
cgroup_controllers = [ ]
EOF
cat > "$RUN/libvirtd.conf" <<EOF
unix_sock_group = "root"
unix_sock_rw_perms = "0770"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:$RUN/libvirtd.log"
EOF
mkdir -p /etc/libvirt/hooks/qemu.d /etc/vmseal
install -m 0755 "$HOOK_BIN" /etc/libvirt/hooks/qemu.d/vmseal
cat > /etc/vmseal/hook.conf <<EOF
# written by vmseal tests/e2e/libvirt.sh; restored at its end
policy = $RUN/policy.json
audit_log = $RUN/audit.jsonl
cache_dir = $RUN/cache
EOF

# keys, policies, images
cd "$RUN"
mkp() { "$PY" "$top/tests/mkpolicy.py" "$@"; }
echo e2e-pass > pw
vmseal-key generate --out a --passphrase-file pw >/dev/null || fail "keygen"
vmseal-key policy-entry a.pub --owner pipeline > a.entry
vmseal-key policy-entry a.pub --status revoked > a_revoked.entry
RULES='[{"match":"debian-*","keys":["@a"],"min_version":1,"allow_overlay":true}]'
mkp policy.good.json "$RULES" a=a.entry
mkp policy.revoked.json "$RULES" a=a_revoked.entry
mkp policy.audit.json "$RULES" '{"enforce":false}' a=a.entry
cp policy.good.json policy.json
head -c 4000000 /dev/urandom > img/content.raw
qemu-img convert -q -f raw -O qcow2 img/content.raw img/template.qcow2
rm img/content.raw
vmseal-sign --key a.key --passphrase-file pw --template debian-12 --template-version 3 img/template.qcow2 \
	>/dev/null || fail "sign template"
cp img/template.qcow2 img/template.orig
qemu-img create -q -f qcow2 -F qcow2 -b "$RUN/img/template.qcow2" img/overlay.qcow2
qemu-img create -q -f qcow2 img/unsigned.qcow2 64M
qemu-img create -q -f qcow2 img/evil.qcow2 64M
qemu-img create -q -f qcow2 -F qcow2 -b "$RUN/img/template.qcow2" img/swapped.qcow2
qemu-img rebase -q -u -f qcow2 -F qcow2 -b "$RUN/img/evil.qcow2" img/swapped.qcow2

accel=qemu
[ -r /dev/kvm ] && [ -w /dev/kvm ] && accel=kvm
domxml() { # domxml NAME IMAGE [readonly]
	cat <<EOF
<domain type='$accel'>
  <name>$1</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$2'/>
      <target dev='vda' bus='virtio'/>
      ${3:+<readonly/>}
    </disk>
    <video><model type='none'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}

/usr/sbin/libvirtd -f "$RUN/libvirtd.conf" -p "$RUN/libvirtd.pid" >"$RUN/libvirtd.out" 2>&1 &
LIBVIRTD_PID=$!
up=0
for i in $(seq 75); do
	kill -0 "$LIBVIRTD_PID" 2>/dev/null || break
	timeout 5 virsh -c qemu:///system version >/dev/null 2>&1 && { up=1; break; }
	sleep 0.2
done
if [ $up != 1 ]; then
	fail "$E2E_NAME: libvirtd did not come up: $(tail -5 "$RUN/libvirtd.out" "$RUN/libvirtd.log" 2>/dev/null)"
	exit 1
fi
pass "libvirtd started with the hook installed"

n=0
# start_ok NAME IMAGE [readonly]: the domain must start; it is destroyed afterwards.
start_ok() {
	local what=$1; shift
	n=$((n + 1))
	local dom="$DOMPFX-$n"
	domxml "$dom" "$@" > "dom$n.xml"
	if $V create "dom$n.xml" >"out$n" 2>"err$n"; then
		pass "$what"
		$V destroy "$dom" >/dev/null 2>&1 || true
	else
		fail "$what: $(tr '\n' ' ' < "err$n" | head -c 600)"
	fi
}
# start_refused NAME PATTERN IMAGE [readonly]: virsh must fail and show PATTERN (our reason).
start_refused() {
	local what=$1 pat=$2; shift 2
	n=$((n + 1))
	local dom="$DOMPFX-$n"
	domxml "$dom" "$@" > "dom$n.xml"
	if $V create "dom$n.xml" >"out$n" 2>"err$n"; then
		fail "$what: the domain started"
		$V destroy "$dom" >/dev/null 2>&1 || true
	elif grep -qE -- "$pat" "err$n"; then
		pass "$what"
		sed 's/^/    virsh: /' "err$n"
	else
		fail "$what: virsh said: $(tr '\n' ' ' < "err$n" | head -c 600)"
	fi
}

start_ok "signed template starts" "$RUN/img/template.qcow2" readonly
start_ok "writable overlay on the signed template starts" "$RUN/img/overlay.qcow2"
grep -q '"event":"hook.start".*overlay.qcow2.*"decision":"allow"' audit.jsonl \
	&& pass "audit log has the hook's start-begin allow" || fail "no hook.start allow in the audit log"

"$PY" -c "
f=open('img/template.qcow2','r+b'); f.seek(-4096, 2); b=f.read(1); f.seek(-4096, 2); f.write(bytes([b[0]^1]))"
start_refused "one byte of the template changed: refused, virsh shows our reason" \
	"vmseal: denied: domain $DOMPFX-[0-9]+ disk vda $RUN/img/overlay.qcow2: $RUN/img/template.qcow2: digest mismatch" \
	"$RUN/img/overlay.qcow2"
cp img/template.orig img/template.qcow2

start_refused "unsigned disk refused" \
	"vmseal: denied: domain $DOMPFX-[0-9]+ disk vda $RUN/img/unsigned.qcow2: no attestation" \
	"$RUN/img/unsigned.qcow2"
start_refused "overlay whose backing file was swapped for an unsigned one refused" \
	"disk vda $RUN/img/swapped.qcow2: $RUN/img/evil.qcow2: no attestation" "$RUN/img/swapped.qcow2"

cp policy.revoked.json policy.json
start_refused "template signed by a revoked key refused" "template.qcow2: .*key revoked" "$RUN/img/overlay.qcow2"
rm policy.json
start_refused "policy deleted: refused" "vmseal: denied: domain $DOMPFX-[0-9]+: .*policy.json" \
	"$RUN/img/overlay.qcow2"
cp policy.audit.json policy.json
start_ok "enforce false: unsigned disk starts" "$RUN/img/unsigned.qcow2"
grep -q "\"object\":\"domain $DOMPFX-$n disk vda $RUN/img/unsigned.qcow2\",\"decision\":\"would-deny\",\"reason\":\"no attestation" audit.jsonl \
	&& pass "audit log has the would-deny" || fail "no would-deny for $DOMPFX-$n in the audit log"
cp policy.good.json policy.json
start_ok "template restored: overlay starts again" "$RUN/img/overlay.qcow2"
vmseal-audit verify audit.jsonl >/dev/null 2>&1 && pass "audit chain written by the hook verifies" \
	|| fail "audit chain: $(vmseal-audit verify audit.jsonl 2>&1)"
