#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End to end with a real libvirtd and QEMU: the hook judges the whole domain XML (lib/domallow).
# What actually ran is proven with marker disks and ROMs (tests/e2e/marker.py): the signed boot
# disk prints GOOD on COM1, the attacker's disk or option ROM prints EVIL; COM1 goes to a file
# under the policy's launch.log_dir. Each attack is refused with its reason, and where an
# audit-only or opted-in run lets it through, EVIL shows that the attack was real.
# Needs root; restores what it touches (tests/e2e/libvirtd.bash).
source "$(dirname "$0")/../sh/lib.sh"
source "$(dirname "$0")/libvirtd.bash"

E2E_NAME="launch_xml e2e"
lv_begin "" vmseal-hook
mkdir -p "$RUN/img" "$RUN/logs" "$RUN/cache"
chmod 0755 "$RUN/img" "$RUN/logs"
chmod 0700 "$RUN/cache"
lv_hook_default

cd "$RUN" || exit 1
mkp() { "$PY" "$top/tests/mkpolicy.py" "$@"; }
echo e2e-pass > pw
vmseal-key generate --out a --passphrase-file pw >/dev/null || fail "keygen"
vmseal-key policy-entry a.pub --owner pipeline > a.entry
RULES='[{"match":"marker-*","keys":["@a"],"min_version":1}]'
mkp policy.good.json "$RULES" "{\"launch\":{\"log_dir\":\"$RUN/logs\"}}" a=a.entry
mkp policy.audit.json "$RULES" "{\"enforce\":false,\"launch\":{\"log_dir\":\"$RUN/logs\"}}" a=a.entry
mkp policy.rom.json "$RULES" "{\"launch\":{\"log_dir\":\"$RUN/logs\",\"allow\":{\"option_rom\":true}}}" a=a.entry
mkp policy.rng.json "$RULES" "{\"launch\":{\"log_dir\":\"$RUN/logs\",\"require_rng\":true}}" a=a.entry
mkp policy.restore.json "$RULES" "{\"launch\":{\"log_dir\":\"$RUN/logs\",\"allow\":{\"restore\":true}}}" a=a.entry
cp policy.good.json policy.json
"$PY" "$top/tests/e2e/marker.py" disk img/good.raw GOOD
"$PY" "$top/tests/e2e/marker.py" disk img/evil.raw EVIL
"$PY" "$top/tests/e2e/marker.py" rom img/evil.rom EVIL
vmseal-sign --key a.key --passphrase-file pw --template marker-good --template-version 1 img/good.raw \
	>/dev/null || fail "sign the GOOD disk"
# An emulator wrapper that boots the attacker's disk instead of the signed one.
cat > img/qemu-wrap <<EOF
#!/bin/sh
# rewrites QEMU's arguments: the audit says good.raw, the guest runs evil.raw
for a; do shift; set -- "\$@" "\$(printf '%s' "\$a" | sed 's|good\\.raw|evil.raw|g')"; done
exec $(command -v qemu-system-x86_64) "\$@"
EOF
chmod 0755 img/qemu-wrap
echo '{"ignition":{"version":"3.0.0"}}' > img/ign.json

# The hook's secret where the package keeps it (made here if absent, removed at the end): a
# libvirt client must not read it through libvirtd's storage API (the drop-in hides it).
state_made=
if [ ! -e /var/lib/vmseal/hook/host.key ]; then
	for d in /var/lib/vmseal /var/lib/vmseal/hook /var/lib/vmseal/hook/host.key; do
		[ -e "$d" ] || { state_made=$d; break; }
	done
	mkdir -p /var/lib/vmseal/hook && chmod 0700 /var/lib/vmseal/hook
	head -c 32 /dev/urandom > /var/lib/vmseal/hook/host.key && chmod 0600 /var/lib/vmseal/hook/host.key
	cleanup_hooks+=("rm -rf $state_made")
fi
if ! lv_start > "$T/start.out"; then
	fail "$E2E_NAME: $(cat "$T/start.out")"
	exit 1
fi
pass "libvirtd started with the hook installed"

accel=qemu
[ -r /dev/kvm ] && [ -w /dev/kvm ] && accel=kvm
n=0
# domxml NAME SERIAL_LOG EXTRA_DEVICES [EXTRA_TOP] [EMULATOR]: the signed GOOD disk (readonly),
# COM1 to a file, and the devices of a normal VM: a pty console, a qemu-ga channel, vnc, a
# user-mode interface (its iPXE ROM off: it costs seconds of TCG boot), an rng from /dev/urandom.
domxml() {
	cat <<EOF
<domain type='$accel'>
  <name>$1</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  ${4:-}
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>${5:-$(command -v qemu-system-x86_64)}</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$RUN/img/good.raw'/>
      <target dev='vda' bus='virtio'/>
      <readonly/>
    </disk>
    <serial type='file'><source path='$2'/><target port='0'/></serial>
    <console type='pty'><target type='virtio' port='0'/></console>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <interface type='user'><model type='virtio'/><rom enabled='no'/></interface>
    <graphics type='vnc' autoport='yes' listen='127.0.0.1'/>
    <video><model type='cirrus'/></video>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <memballoon model='none'/>
    ${3:-}
  </devices>
</domain>
EOF
}

# wait_marker FILE WORD: up to 30 s for WORD in FILE (about 1 s on a quiet machine under TCG).
wait_marker() {
	local i
	for i in $(seq 150); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

# start_good WHAT EXTRA_DEVICES [EXTRA_TOP]: starts, prints GOOD and never EVIL; destroyed after.
start_good() {
	local what=$1 dom
	n=$((n + 1)); dom="$DOMPFX-$n"
	domxml "$dom" "$RUN/logs/com1-$n.log" "${2:-}" "${3:-}" > "dom$n.xml"
	if ! $V create "dom$n.xml" >"out$n" 2>"err$n"; then
		fail "$what: $(tr '\n' ' ' < "err$n" | head -c 600)"
		return 1
	fi
	if wait_marker "$RUN/logs/com1-$n.log" GOOD && ! grep -q EVIL "$RUN/logs/com1-$n.log"; then
		pass "$what (the signed disk printed GOOD)"
	else
		fail "$what: COM1 says: $(head -c 200 "$RUN/logs/com1-$n.log" 2>/dev/null)"
	fi
	$V destroy "$dom" >/dev/null 2>&1 || true
}

# start_refused WHAT PATTERN EXTRA_DEVICES [EXTRA_TOP] [EMULATOR]: virsh fails showing PATTERN,
# and nothing ran (no COM1 output at all).
start_refused() {
	local what=$1 pat=$2 dom
	n=$((n + 1)); dom="$DOMPFX-$n"
	domxml "$dom" "$RUN/logs/com1-$n.log" "${3:-}" "${4:-}" "${5:-}" > "dom$n.xml"
	if $V create "dom$n.xml" >"out$n" 2>"err$n"; then
		fail "$what: the domain started"
		$V destroy "$dom" >/dev/null 2>&1 || true
	elif ! grep -qE -- "$pat" "err$n"; then
		fail "$what: virsh said: $(tr '\n' ' ' < "err$n" | head -c 600)"
	elif [ -s "$RUN/logs/com1-$n.log" ]; then
		fail "$what: refused, but the guest printed $(head -c 100 "$RUN/logs/com1-$n.log")"
	else
		pass "$what"
		grep -o 'vmseal: denied: .*' "err$n" | sed 's/^/    hook: /'
	fi
}

# xml_refused WHAT PATTERN: virsh create of dom$n.xml (domain $dom) fails showing PATTERN.
xml_refused() {
	if $V create "dom$n.xml" >"out$n" 2>"err$n"; then
		fail "$1: the domain started"
		$V destroy "$dom" >/dev/null 2>&1 || true
	elif grep -q -- "$2" "err$n"; then
		pass "$1"
	else
		fail "$1: virsh said: $(tr '\n' ' ' < "err$n" | head -c 600)"
	fi
}

# start_evil WHAT EXTRA_DEVICES [EXTRA_TOP] [EMULATOR]: with the check off (audit-only or
# opted in) the attack runs: EVIL appears on COM1. Proves the refusal above refused a real attack.
start_evil() {
	local what=$1 dom
	n=$((n + 1)); dom="$DOMPFX-$n"
	domxml "$dom" "$RUN/logs/com1-$n.log" "${2:-}" "${3:-}" "${4:-}" > "dom$n.xml"
	if ! $V create "dom$n.xml" >"out$n" 2>"err$n"; then
		fail "$what: did not start: $(tr '\n' ' ' < "err$n" | head -c 600)"
		return 1
	fi
	if wait_marker "$RUN/logs/com1-$n.log" EVIL; then
		pass "$what (EVIL on COM1: the attack is real)"
	else
		fail "$what: no EVIL on COM1: $(head -c 200 "$RUN/logs/com1-$n.log" 2>/dev/null)"
		tail -c 1500 "/var/log/libvirt/qemu/$dom.log" 2>/dev/null | sed 's/^/    qemu log: /'
	fi
	$V destroy "$dom" >/dev/null 2>&1 || true
}

ROM="<interface type='user'><model type='virtio'/><rom file='$RUN/img/evil.rom'/></interface>"

cp policy.rng.json policy.json
start_good "normal VM (pty console, qemu-ga channel, vnc, user network, rng, COM1 file under launch.log_dir; launch.require_rng) starts"
cp policy.good.json policy.json
grep -q "\"event\":\"hook.start\".*good.raw.*\"decision\":\"allow\"" audit.jsonl \
	&& pass "audit log has the start-begin allow" || fail "no hook.start allow in the audit log"

# option ROM (domallow: rule_rom)
start_refused "option ROM file refused (domallow: <interface><rom file>)" \
	"vmseal: denied: domain $DOMPFX-[0-9]+: <devices><interface><rom> $RUN/img/evil.rom: an option ROM file runs in the guest before the signed boot disk; refused unless the policy sets launch.allow.option_rom" \
	"$ROM"
cp policy.rom.json policy.json
start_evil "option ROM with launch.allow.option_rom: the unsigned ROM runs before the signed disk" "$ROM"
cp policy.good.json policy.json

# emulator wrapper (domallow: rule_emulator)
start_refused "emulator wrapper script refused (domallow: <emulator> not in launch.emulators)" \
	"<devices><emulator> $RUN/img/qemu-wrap: an emulator that is not one of the policy's emulators" \
	"" "" "$RUN/img/qemu-wrap"
cp policy.audit.json policy.json
start_evil "emulator wrapper with enforce false: the guest ran another disk than the audited one" "" "" "$RUN/img/qemu-wrap"
grep -q "\"decision\":\"would-deny\",\"reason\":\"<devices><emulator> $RUN/img/qemu-wrap" audit.jsonl \
	&& pass "audit log has the emulator's would-deny" || fail "no would-deny for the wrapper in the audit log"
cp policy.good.json policy.json

# fd passing (domallow: rule_disk_source)
start_refused "fdgroup on the disk source refused (domallow: fdgroup)" \
	"<devices><disk><source> g1: fdgroup: QEMU would use a file descriptor passed by the caller" \
	"<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$RUN/img/good.raw' fdgroup='g1'/><target dev='vdb' bus='virtio'/><readonly/></disk>"

# file chardevs aimed at vmseal's own files (domallow: path_check, under_log_dir)
lines=$(wc -l < audit.jsonl)
start_refused "file serial into the cache directory refused (domallow: no vmseal path)" \
	"<devices><serial><source> $RUN/cache/forged: names a vmseal path \(cache directory $RUN/cache\)" \
	"<serial type='file'><source path='$RUN/cache/forged'/><target port='1'/></serial>"
[ ! -e "$RUN/cache/forged" ] && pass "no file was created in the cache directory" || fail "cache/forged exists"
start_refused "file serial onto the audit log refused (domallow: no vmseal path)" \
	"<devices><serial><source> $RUN/audit.jsonl: names a vmseal path \(audit log" \
	"<serial type='file'><source path='$RUN/audit.jsonl'/><target port='1'/></serial>"
start_refused "console log onto the policy refused (domallow: no vmseal path)" \
	"<devices><console><log> $RUN/policy.json: names a vmseal path \(policy" \
	"<console type='pty'><target type='virtio' port='1'/><log file='$RUN/policy.json'/></console>"
[ "$(wc -l < audit.jsonl)" -gt "$lines" ] && vmseal-audit verify audit.jsonl >/dev/null 2>&1 \
	&& pass "audit log not truncated, chain verifies" || fail "audit log: $(vmseal-audit verify audit.jsonl 2>&1)"
start_refused "file serial outside launch.log_dir refused (domallow: under_log_dir)" \
	"writes a host file outside launch.log_dir $RUN/logs" \
	"<serial type='file'><source path='$RUN/img/out.log'/><target port='1'/></serial>"

# host resources (domallow: opt-in entries)
start_refused "hostdev refused (domallow: <hostdev> opt-in)" \
	"<devices><hostdev>: a host device \(PCI, USB, SCSI, mdev\) in the guest; refused unless the policy sets launch.allow.hostdev" \
	"<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x00' slot='0x1f' function='0x0'/></source></hostdev>"
start_refused "filesystem passthrough of / refused (domallow: <filesystem> opt-in)" \
	"<devices><filesystem>: a host directory shared into the guest; refused unless the policy sets launch.allow.filesystem" \
	"<filesystem type='mount' accessmode='passthrough'><source dir='/'/><target dir='hostroot'/></filesystem>"
start_refused "nvdimm backed by a host file refused (domallow: rule_memory_device)" \
	"<devices><memory> nvdimm: a host file mapped into the guest as memory" \
	"<memory model='nvdimm'><source><path>$RUN/img/evil.raw</path></source><target><size unit='KiB'>1024</size><node>0</node></target></memory>" \
	"<maxMemory slots='2' unit='MiB'>256</maxMemory><cpu><numa><cell id='0' cpus='0' memory='64' unit='MiB'/></numa></cpu>"
start_refused "fw_cfg entries refused (domallow: rule_sysinfo)" \
	"<sysinfo> fwcfg: fw_cfg entries hand host files to the guest" \
	"" "<sysinfo type='fwcfg'><entry name='opt/com.coreos/config' file='$RUN/img/ign.json'/></sysinfo>"
start_refused "static DAC label of root refused (domallow: rule_seclabel)" \
	"<seclabel> \+0:\+0: a DAC label of uid or gid 0 runs QEMU as root" \
	"" "<seclabel type='static' model='dac' relabel='no'><label>+0:+0</label></seclabel>"

# sockets (domallow: rule_chardev_source): libvirtd (root) unlinks a bind path and binds it
# itself, so one allowed start would delete the hook and every later start would run unjudged.
hook_ino=$(stat -c %i /etc/libvirt/hooks/qemu.d/vmseal)
start_refused "unix serial bound over the hook refused (domallow: no vmseal path)" \
	"<devices><serial><source> /etc/libvirt/hooks/qemu.d/vmseal: names a vmseal path \(libvirt configuration and hooks /etc/libvirt\)" \
	"<serial type='unix'><source mode='bind' path='/etc/libvirt/hooks/qemu.d/vmseal'/><target port='1'/></serial>"
# libvirtd unlinks a bind path when the refused domain is cleaned up: the hook survives
# because libvirtd sees it read-only (debian/vmseal-libvirt.conf, applied by lv_start)
[ "$(stat -c %i /etc/libvirt/hooks/qemu.d/vmseal 2>/dev/null)" = "$hook_ino" ] \
	&& pass "the hook is still in place, same inode (libvirtd sees it read-only)" || fail "the hook was replaced or removed"
# (never name a host file here: libvirtd unlinks it at the cleanup of the refused start)
echo victim > "$RUN/img/victim0"
start_refused "unix serial bound elsewhere refused (domallow: socket chardevs)" \
	"<devices><serial><source> $RUN/img/victim0: a unix socket chardev outside libvirt's channel directory of this domain is bound over a host path \(libvirt unlinks what is there\); refused unless the policy sets launch.allow.host_chardev" \
	"<serial type='unix'><source mode='bind' path='$RUN/img/victim0'/><target port='1'/></serial>"
start_refused "unix serial connected to libvirtd's socket refused (domallow: socket chardevs)" \
	"<devices><serial><source> /run/libvirt/libvirt-sock: a unix socket chardev connects to a host service; refused unless the policy sets launch.allow.host_chardev" \
	"<serial type='unix'><source mode='connect' path='/run/libvirt/libvirt-sock'/><target port='1'/></serial>"
start_refused "tcp serial connected to a host service refused (domallow: socket chardevs)" \
	"<devices><serial><source> tcp: a tcp or udp chardev that is not a listener sends to a host or network service" \
	"<serial type='tcp'><source mode='connect' host='127.0.0.1' service='6379'/><target port='1'/></serial>"
# the attack is real: audit-only, the bind replaces a file
echo victim > "$RUN/img/victim"
cp policy.audit.json policy.json
n=$((n + 1)); dom="$DOMPFX-$n"
domxml "$dom" "$RUN/logs/com1-$n.log" "<serial type='unix'><source mode='bind' path='$RUN/img/victim'/><target port='1'/></serial>" > "dom$n.xml"
if $V create "dom$n.xml" >"out$n" 2>"err$n"; then
	[ -S "$RUN/img/victim" ] && pass "audit-only: the bind replaced a regular file by a socket (the attack is real)" \
		|| fail "audit-only bind: $RUN/img/victim is still $(stat -c %F "$RUN/img/victim" 2>&1)"
	$V destroy "$dom" >/dev/null 2>&1 || true
else
	fail "audit-only bind: did not start: $(tr '\n' ' ' < "err$n" | head -c 600)"
fi
cp policy.good.json policy.json

# A boot menu lists every NIC's boot ROM: a console user boots the network at a keypress (an
# independent review booted iPXE through SeaBIOS's menu over a TCP serial listener).
n=$((n + 1)); dom="$DOMPFX-$n"
domxml "$dom" "$RUN/logs/com1-$n.log" "" "" | sed -e "s|<boot dev='hd'/>|<boot dev='hd'/><bootmenu enable='yes' timeout='3000'/>|" \
	-e "/<graphics /d" > "dom$n.xml" # (vnc without a password is a console of its own: below)
xml_refused "a boot menu with a network interface refused (a network boot at a keypress)" \
	"vmseal: denied: domain $dom: <os><bootmenu>: a boot menu lets a console user boot from the network through the interface"
n=$((n + 1)); dom="$DOMPFX-$n"
domxml "$dom" "$RUN/logs/com1-$n.log" "<serial type='tcp'><source mode='bind' host='127.0.0.1' service='24555'/><target port='1'/></serial>" "" |
	sed "s|<boot dev='hd'/>|<boot dev='hd'/><bootmenu enable='yes'/>|" > "dom$n.xml"
xml_refused "a TCP serial listener with a boot menu refused (anyone who connects chooses what boots)" \
	"vmseal: denied: domain $dom: <devices><serial type='tcp'>: a console anyone who connects may type on, with a boot menu"
n=$((n + 1)); dom="$DOMPFX-$n"
domxml "$dom" "$RUN/logs/com1-$n.log" "" "" | sed "s|<boot dev='hd'/>|<boot dev='hd'/><bootmenu enable='yes'/>|" > "dom$n.xml"
xml_refused "vnc on a TCP port with a boot menu refused" \
	"vmseal: denied: domain $dom: <devices><graphics type='vnc'>: a console anyone who connects may type on, with a boot menu"

# boot devices (domallow: boot_device_check): no boot index anywhere, and SeaBIOS falls back to
# the NIC's iPXE ROM, which boots whatever the network serves.
pxe_xml() { # NAME LOG: no disk, the interface's ROM on, SeaBIOS on COM1
	domxml "$1" "$2" "" "" | sed -e '/<disk /,/<\/disk>/d' -e "s|<rom enabled='no'/>||" \
		-e "s|<boot dev='hd'/>|<bios useserial='yes'/>|"
}
n=$((n + 1)); dom="$DOMPFX-$n"
pxe_xml "$dom" "$RUN/logs/com1-$n.log" > "dom$n.xml"
xml_refused "a domain with no boot device and a NIC's option ROM refused (PXE fallback)" \
	"vmseal: denied: domain $dom: <devices><interface>: no disk or kernel is the boot device, so the firmware would fall back to a network (PXE) boot"
cp policy.audit.json policy.json
n=$((n + 1)); dom="$DOMPFX-$n"
pxe_xml "$dom" "$RUN/logs/com1-$n.log" > "dom$n.xml"
if $V create "dom$n.xml" >"out$n" 2>"err$n"; then
	wait_marker "$RUN/logs/com1-$n.log" iPXE && pass "audit-only: the firmware fell back to iPXE (the attack is real)" \
		|| fail "audit-only PXE fallback: COM1 says: $(head -c 300 "$RUN/logs/com1-$n.log" 2>/dev/null | tr -d '\0')"
	$V destroy "$dom" >/dev/null 2>&1 || true
else
	fail "audit-only PXE fallback: did not start: $(tr '\n' ' ' < "err$n" | head -c 600)"
fi
cp policy.good.json policy.json

# libvirtd's storage API reads and writes any file as root for its clients: a pool on the
# hook's state directory must not show its secret, one on QEMU's firmware directory must not
# take a new file (libvirtd runs as the package's drop-in sets it up, tests/e2e/libvirtd.bash).
if $V pool-create-as vmseal-atk-state dir --target /var/lib/vmseal/hook >/dev/null 2>"$T/pool1.err"; then
	$V vol-download --pool vmseal-atk-state host.key "$T/stolen.key" >/dev/null 2>&1
	! cmp -s "$T/stolen.key" /var/lib/vmseal/hook/host.key \
		&& pass "storage API: a pool on the hook's state directory does not reach its secret" \
		|| fail "storage API: the host secret was downloaded"
	$V pool-destroy vmseal-atk-state >/dev/null 2>&1
else
	pass "storage API: no pool on the hook's state directory ($(head -c 120 "$T/pool1.err" | tr '\n' ' '))"
fi
if $V pool-create-as vmseal-atk-fw dir --target /usr/share/seabios >/dev/null 2>"$T/pool2.err"; then
	$V vol-create-as vmseal-atk-fw vmseal-atk.bin 4K --format raw >/dev/null 2>"$T/vol2.err"
	[ ! -e /usr/share/seabios/vmseal-atk.bin ] && pass "storage API: no file written into QEMU's firmware directory (read-only for libvirtd)" \
		|| { fail "storage API: wrote /usr/share/seabios/vmseal-atk.bin"; rm -f /usr/share/seabios/vmseal-atk.bin; }
	$V pool-destroy vmseal-atk-fw >/dev/null 2>&1
else
	pass "storage API: no pool on QEMU's firmware directory"
fi

# launch.require_rng (domallow_check)
cp policy.rng.json policy.json
n=$((n + 1)); dom="$DOMPFX-$n"
domxml "$dom" "$RUN/logs/com1-$n.log" "" | grep -v "<rng " > "dom$n.xml"
xml_refused "launch.require_rng: a domain without a virtio rng refused" \
	"vmseal: denied: domain $dom: <devices><rng>: missing: the policy requires a virtio rng fed by /dev/urandom or /dev/random"
cp policy.good.json policy.json

# restore of a save image (domallow_operation_check)
n=$((n + 1)); dom="$DOMPFX-$n"
domxml "$dom" "$RUN/logs/com1-$n.log" "" > "dom$n.xml"
if $V create "dom$n.xml" >/dev/null 2>"err$n" && wait_marker "$RUN/logs/com1-$n.log" GOOD &&
	$V save "$dom" "$RUN/img/saved.img" >/dev/null 2>>"err$n"; then
	if $V restore "$RUN/img/saved.img" >"out$n" 2>"err$n.r"; then
		fail "restore of a save image: the domain was restored"
		$V destroy "$dom" >/dev/null 2>&1 || true
	elif grep -q "vmseal: denied: domain $dom: restore: a saved image's RAM cannot be verified; refused unless the policy sets launch.allow.restore" "err$n.r"; then
		pass "restore of a save image refused (domallow_operation_check)"
	else
		fail "restore: virsh said: $(tr '\n' ' ' < "err$n.r" | head -c 600)"
	fi
	cp policy.restore.json policy.json
	if $V restore "$RUN/img/saved.img" >/dev/null 2>"err$n.r2"; then
		pass "restore with launch.allow.restore is allowed"
		$V destroy "$dom" >/dev/null 2>&1 || true
	else
		fail "restore with launch.allow.restore: $(tr '\n' ' ' < "err$n.r2" | head -c 600)"
	fi
	cp policy.good.json policy.json
else
	fail "restore test setup (create, GOOD, save): $(tr '\n' ' ' < "err$n" | head -c 600)"
	$V destroy "$dom" >/dev/null 2>&1 || true
fi
rm -f "$RUN/img/saved.img"

! grep -l EVIL "$RUN"/logs/com1-*.log 2>/dev/null | grep -v -e "/com1-3\.log$" -e "/com1-5\.log$" | grep -q . \
	&& pass "EVIL appeared only where the check was off (opt-in, audit-only)" \
	|| fail "EVIL in: $(grep -l EVIL "$RUN"/logs/com1-*.log | tr '\n' ' ')"
vmseal-audit verify audit.jsonl >/dev/null 2>&1 && pass "audit chain written by the hook verifies" \
	|| fail "audit chain: $(vmseal-audit verify audit.jsonl 2>&1)"
