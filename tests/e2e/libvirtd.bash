# SPDX-License-Identifier: Apache-2.0
# Shared by tests/e2e/libvirt.sh and bench/hook.sh (source it; it is not a test by itself):
# runs a private, real libvirtd (qemu:///system) with the configuration measured to work on
# these machines without systemd, saves every /etc file it touches and restores it at the end.
#
# Works with and without `set -e`. A test calls lv_begin (below), which does the first steps; other
# callers set LV_RUN (a fresh directory) and call, in order: lv_missing (prints why this cannot
# run, if so), lv_lock, lv_setup, lv_hook_install/lv_hook_remove, lv_start, … and lv_cleanup from
# its exit trap. Domains must be named "$LV_DOMPFX-…" so that their QEMU processes can be found.

LV_WATCH="/etc/libvirt /etc/vmseal"
LV_ACCOUNT_FILES="/etc/passwd /etc/group /etc/shadow /etc/gshadow /etc/passwd- /etc/group- /etc/shadow- /etc/gshadow- /etc/subuid /etc/subgid"
LV_DOMPFX="vmseal-lv-$$"
LV_PID=
LV_V="timeout 60 virsh -c qemu:///system"

# Prints the reason this machine cannot run a private libvirtd, or nothing.
lv_missing() {
	local b
	[ "$(id -u)" = 0 ] || { echo "needs root (starts libvirtd, writes /etc/libvirt/hooks)"; return; }
	for b in /usr/sbin/libvirtd virsh qemu-system-x86_64 qemu-img flock timeout; do
		command -v "$b" >/dev/null || { echo "$b not installed (scripts/deps.sh)"; return; }
	done
}

# One private libvirtd at a time on this machine: its socket and hook directory are global.
lv_lock() {
	exec 9>/run/lock/vmseal-e2e-libvirt.lock
	flock -w 180 9 || { echo "another run holds /run/lock/vmseal-e2e-libvirt.lock"; return 1; }
	if pgrep -x libvirtd >/dev/null || pgrep -x virtqemud >/dev/null; then
		echo "a libvirtd/virtqemud is already running; this needs its own"
		return 1
	fi
}

lv_save() { # copies existing files aside, to be copied back by lv_cleanup
	local f
	for f; do
		[ -e "$f" ] || continue
		grep -qxF -- "$f" "$LV_RUN/restore.list" && continue
		mkdir -p "$LV_RUN/backup$(dirname "$f")"
		cp -a "$f" "$LV_RUN/backup$f"
		echo "$f" >> "$LV_RUN/restore.list"
	done
}

lv_setup() {
	mkdir -p "$LV_RUN/backup"
	{ find $LV_WATCH 2>/dev/null || true; } | sort > "$LV_RUN/etc-before.txt"
	: > "$LV_RUN/restore.list"
	lv_save /etc/libvirt/qemu.conf /etc/libvirt/hooks/qemu.d/vmseal /etc/vmseal/hook.conf
	if ! getent passwd libvirt-qemu >/dev/null || ! getent group libvirt-qemu >/dev/null; then
		lv_save $LV_ACCOUNT_FILES
		getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
		getent passwd libvirt-qemu >/dev/null ||
			useradd --system -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
	fi
	cat > /etc/libvirt/qemu.conf <<'EOF'
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
stdio_handler = "file"
cgroup_controllers = [ ]
EOF
	cat > "$LV_RUN/libvirtd.conf" <<EOF
unix_sock_group = "root"
unix_sock_rw_perms = "0770"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:$LV_RUN/libvirtd.log"
EOF
}

# lv_begin WHY PROGRAM...: the prelude of an e2e test (sourced after tests/sh/lib.sh, with
# E2E_NAME set). Skips the test (exit 0) when WHY is not empty, when this machine cannot run a
# private libvirtd or when another test holds it; fails it (exit 1) when a PROGRAM is not built in
# $BIN. Then makes RUN=$T/run (0755: QEMU must traverse it), sets V and DOMPFX, registers
# lv_cleanup and runs lv_setup.
lv_begin() {
	local why=$1 b
	shift
	[ -n "$why" ] || why=$(lv_missing)
	if [ -n "$why" ]; then
		skip "$E2E_NAME: $why; not run"
		exit 0
	fi
	for b in "$@"; do
		[ -x "$BIN/$b" ] || { fail "$E2E_NAME: $BIN/$b not built"; exit 1; }
	done
	if ! lv_lock > "$T/lock.out"; then
		skip "$E2E_NAME: $(cat "$T/lock.out")"
		exit 0
	fi
	RUN=$T/run
	LV_RUN=$RUN
	mkdir -p "$RUN"
	chmod 0755 "$T" "$RUN"
	V=$LV_V
	DOMPFX=$LV_DOMPFX
	cleanup_hooks+=("lv_cleanup")
	trap 'exit 130' INT TERM
	lv_setup
}

# lv_hook_default [AUDIT_LOG]: installs $BIN/vmseal-hook reading $RUN/policy.json, logging to
# AUDIT_LOG (default $RUN/audit.jsonl) and caching in $RUN/cache.
lv_hook_default() {
	lv_hook_install "$BIN/vmseal-hook" <<EOF
# written by vmseal tests/e2e/$(basename "$0"); restored at its end
policy = $RUN/policy.json
audit_log = ${1:-$RUN/audit.jsonl}
cache_dir = $RUN/cache
EOF
}

# lv_hook_install HOOK_BINARY: installs the hook and writes /etc/vmseal/hook.conf from stdin.
lv_hook_install() {
	mkdir -p /etc/libvirt/hooks/qemu.d /etc/vmseal
	install -m 0755 "$1" /etc/libvirt/hooks/qemu.d/vmseal
	cat > /etc/vmseal/hook.conf
}

lv_hook_remove() {
	rm -f /etc/libvirt/hooks/qemu.d/vmseal
}

LV_DROPIN="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/debian/vmseal-libvirt.conf"

# The paths the package's drop-in for libvirtd.service (debian/vmseal-libvirt.conf) names under
# KEY (ReadWritePaths, ReadOnlyPaths, InaccessiblePaths), one per line, those that exist.
lv_dropin_paths() {
	local p
	for p in $(sed -n "s/^$1=//p" "$LV_DROPIN"); do
		p=${p#-}
		[ -e "$p" ] && echo "$p"
	done
}

# Starts libvirtd as the package's units run it: in its own mount namespace with the drop-in's
# settings (systemd does that; no systemd here), so what libvirtd reads, writes or unlinks for
# its clients cannot reach what the hook trusts: ProtectSystem=full (/usr, /boot, /efi, /etc
# read-only), then ReadWritePaths, ReadOnlyPaths, InaccessiblePaths (an empty read-only tmpfs
# over a directory, an empty mode-0 file over a file). (exec keeps the pid: LV_PID is libvirtd's.)
lv_start() {
	local i ro=
	grep -qx 'ProtectSystem=full' "$LV_DROPIN" || { echo "lv_start: $LV_DROPIN: expected ProtectSystem=full"; return 1; }
	: > "$LV_RUN/inaccessible"
	chmod 0 "$LV_RUN/inaccessible"
	for i in /usr /boot /efi /etc; do
		[ -d "$i" ] && ro="$ro mount --rbind '$i' '$i' && mount -o remount,bind,ro '$i' &&"
	done
	for i in $(lv_dropin_paths ReadWritePaths); do
		ro="$ro mount --bind '$i' '$i' && mount -o remount,bind,rw '$i' &&"
	done
	for i in $(lv_dropin_paths ReadOnlyPaths); do
		ro="$ro mount --bind '$i' '$i' && mount -o remount,bind,ro '$i' &&"
	done
	for i in $(lv_dropin_paths InaccessiblePaths); do
		if [ -d "$i" ]; then
			ro="$ro mount -t tmpfs -o ro,mode=000,size=4k none '$i' &&"
		else
			ro="$ro mount --bind '$LV_RUN/inaccessible' '$i' && mount -o remount,bind,ro '$i' &&"
		fi
	done
	unshare --mount --propagation private sh -c "$ro exec /usr/sbin/libvirtd -f '$LV_RUN/libvirtd.conf' -p '$LV_RUN/libvirtd.pid'" \
		>"$LV_RUN/libvirtd.out" 2>&1 &
	LV_PID=$!
	for i in $(seq 75); do
		kill -0 "$LV_PID" 2>/dev/null || break
		timeout 5 virsh -c qemu:///system version >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "libvirtd did not come up: $(tail -5 "$LV_RUN/libvirtd.out" "$LV_RUN/libvirtd.log" 2>/dev/null)"
	return 1
}

# Stops our domains' QEMU processes and our libvirtd, by pid.
lv_stop() {
	local pf pid i
	for pf in /run/libvirt/qemu/"$LV_DOMPFX"-*.pid; do
		[ -f "$pf" ] || continue
		pid=$(cat "$pf" 2>/dev/null)
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	done
	if [ -n "$LV_PID" ] && kill -0 "$LV_PID" 2>/dev/null; then
		kill -TERM "$LV_PID" || true
		for i in $(seq 50); do kill -0 "$LV_PID" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$LV_PID" 2>/dev/null || true
		wait "$LV_PID" 2>/dev/null || true
	fi
	LV_PID=
	for pf in /run/libvirt/qemu/"$LV_DOMPFX"-*.pid; do
		[ -f "$pf" ] || continue
		pid=$(cat "$pf" 2>/dev/null)
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
		rm -f "$pf"
	done
	return 0
}

lv_cleanup() {
	local f
	lv_stop
	[ -f "$LV_RUN/restore.list" ] || return 0
	while read -r f; do cp -a "$LV_RUN/backup$f" "$f"; done < "$LV_RUN/restore.list"
	{ find $LV_WATCH 2>/dev/null || true; } | sort > "$LV_RUN/etc-after.txt"
	# anything created under the watched trees (hook, qemu.conf, dirs libvirtd made) goes
	comm -13 "$LV_RUN/etc-before.txt" "$LV_RUN/etc-after.txt" | sort -r | while read -r f; do
		rm -rf -- "$f"
	done || true
	rm -f "$LV_RUN/restore.list"
}

# lv_domxml NAME IMAGE...: a 64 MiB domain with one virtio qcow2 disk per image (vda, vdb, …);
# an image written as PATH:ro is attached readonly. KVM when /dev/kvm works, else TCG.
lv_domxml() {
	local name=$1 accel=qemu img ro letters=abcdefghijklmnop i=0
	shift
	[ -r /dev/kvm ] && [ -w /dev/kvm ] && accel=kvm
	cat <<EOF
<domain type='$accel'>
  <name>$name</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
EOF
	for img; do
		ro=
		case $img in *:ro) img=${img%:ro}; ro='<readonly/>' ;; esac
		cat <<EOF
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$img'/>
      <target dev='vd${letters:$i:1}' bus='virtio'/>
      $ro
    </disk>
EOF
		i=$((i + 1))
	done
	cat <<EOF
    <video><model type='none'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}
