#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Boot files with a real libvirtd and QEMU (#13 §1): a signed kernel + initrd boots with its
# signed command line (a multiboot stub built here prints a marker, the command line and the
# initrd on COM1, read back from a <serial type='file'> log); an unsigned kernel, initrd,
# <loader>, <nvram template>, <dtb> or <acpi><table>, and the signed kernel with init=/bin/sh
# are refused with one line naming the element and the file; the distribution's SeaBIOS starts
# when pinned by digest and is refused when the pin's digest is wrong; firmware='efi' is judged on
# the OVMF files libvirt picks (pinned: starts; not pinned: refused at start begin); a kernel
# swapped in after start begin, before QEMU read it, is killed at started begin.
# Needs root; /etc changes are restored and processes stopped by pid (tests/e2e/libvirtd.bash).
source "$(dirname "$0")/../sh/lib.sh"
source "$(dirname "$0")/libvirtd.bash"

E2E_NAME="launch boot e2e"
SEABIOS=/usr/share/seabios/bios-256k.bin
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
why=
[ -z "$why" ] && ! command -v as >/dev/null && why="as (binutils) not installed"
[ -z "$why" ] && [ ! -r "$SEABIOS" ] && why="$SEABIOS not installed (seabios)"
[ -z "$why" ] && [ ! -r "$OVMF_CODE" ] && why="$OVMF_CODE not installed (ovmf, scripts/deps.sh)"
lv_begin "$why" vmseal-hook
mkdir -p "$RUN/boot" "$RUN/logs" "$RUN/nvram"
chmod 0755 "$RUN/boot" "$RUN/logs" "$RUN/nvram"
lv_hook_default
cd "$RUN" || exit 1

# A multiboot v1 kernel: prints a marker, its command line and the first module (the initrd)
# on COM1, then halts. QEMU's direct kernel boot loads it with -kernel/-append/-initrd.
cat > stub.S <<'EOF'
	.set MB_MAGIC, 0x1BADB002
	.set MB_FLAGS, 0x00000003
	.text
	.code32
	.globl _start
	.align 4
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
_start:	cli
	mov $0x90000, %esp
	mov %ebx, %edi
	mov $marker, %esi
	call puts
	mov $cl_pre, %esi
	call puts
	testl $4, (%edi)
	jz 1f
	mov 16(%edi), %esi
	call puts
1:	mov $eol, %esi
	call puts
	testl $8, (%edi)
	jz 9f
	cmpl $0, 20(%edi)
	je 9f
	mov $md_pre, %esi
	call puts
	mov 24(%edi), %ebx
	mov (%ebx), %esi
	mov 4(%ebx), %ecx
2:	cmp %ecx, %esi
	jae 3f
	movb (%esi), %al
	cmpb $10, %al
	je 3f
	call putc
	inc %esi
	jmp 2b
3:	mov $eol, %esi
	call puts
9:	hlt
	jmp 9b
puts:	movb (%esi), %al
	test %al, %al
	jz 1f
	call putc
	inc %esi
	jmp puts
1:	ret
putc:	mov %eax, %ebp
	mov $0x3fd, %dx
1:	inb %dx, %al
	testb $0x20, %al
	jz 1b
	mov %ebp, %eax
	mov $0x3f8, %dx
	outb %al, %dx
	ret
	.section .rodata
marker:	.asciz "VMSEAL-KERNEL-BOOTED\r\n"
cl_pre:	.asciz "cmdline=["
md_pre:	.asciz "initrd=["
eol:	.asciz "]\r\n"
EOF
if ! as --32 -o stub.o stub.S 2>as.err || ! ld -m elf_i386 -Ttext=0x100000 -e _start -o boot/vmlinuz stub.o 2>>as.err; then
	fail "$E2E_NAME: cannot build the multiboot stub: $(head -c 300 as.err)"
	exit 1
fi
echo "INITRD-SIGNED" > boot/initrd.img
echo "INITRD-EVIL" > boot/evil-initrd.img
cp boot/vmlinuz boot/evil-vmlinuz
printf 'evil' >> boot/evil-vmlinuz
head -c 65536 /dev/urandom > boot/fake_CODE.fd
head -c 65536 /dev/urandom > boot/unsigned_VARS.fd
head -c 65536 /dev/urandom > boot/signed_VARS.fd
head -c 1024 /dev/urandom > boot/board.dtb
head -c 64 /dev/urandom > boot/slic.bin
chmod 0644 boot/*

vmseal-key generate --out bk --no-passphrase >/dev/null || fail "keygen"
vmseal-key policy-entry bk.pub --owner boot-pipeline --usage boot > bk.entry
CMDLINE="console=ttyS0 vmseal=good"
vmseal-sign --key bk.key --kind kernel --name stub-kernel --boot-version 1 --cmdline "$CMDLINE" \
	boot/vmlinuz >/dev/null || fail "sign kernel"
vmseal-sign --key bk.key --kind initrd --name stub-initrd --boot-version 1 boot/initrd.img >/dev/null \
	|| fail "sign initrd"
vmseal-sign --key bk.key --kind firmware --name stub-code --boot-version 1 boot/fake_CODE.fd >/dev/null \
	|| fail "sign loader"
vmseal-sign --key bk.key --kind nvram --name stub-vars --boot-version 1 boot/signed_VARS.fd >/dev/null \
	|| fail "sign nvram template"
bios_digest=$(vmseal-digest "$SEABIOS" | cut -d' ' -f1)
bios_size=$(stat -c %s "$SEABIOS")
bad_digest=$(tr 0-9a-f 1-9a-f0 <<<"$bios_digest")
pin() { # pin KIND FILE [path]: a pinned entry for FILE's digest and size, for its path or for any
	printf '{%s"kind": "%s", "digest": "%s", "size": %s}' "${3:+\"path\": \"$2\", }" "$1" \
		"$(vmseal-digest "$2" | cut -d' ' -f1)" "$(stat -c %s "$2")"
}
OVMF_PINS="$(pin firmware "$OVMF_CODE" path), $(pin nvram "$OVMF_VARS")"
mkpol() { # mkpol OUT BIOS_DIGEST [MORE_PINS]
	cat > "$1" <<EOF
{"version": 1, "enforce": true, "keys": [$(cat bk.entry)], "templates": [],
 "launch": {"log_dir": "$RUN/logs"},
 "boot": {"pinned": [{"path": "$SEABIOS", "kind": "firmware", "digest": "$2", "size": $bios_size}${3:+, $3}],
          "rules": [{"match": "stub-*", "kinds": ["kernel", "initrd", "firmware", "nvram", "dtb", "acpi"],
                     "keys": ["$(vmseal-key id bk.pub)"], "threshold": 1}]}}
EOF
}
mkpol policy.good.json "$bios_digest" "$OVMF_PINS"
mkpol policy.badpin.json "$bad_digest"
cp policy.good.json policy.json

# domxml NAME OS_ELEMENTS [OS_ATTRIBUTES]: a 64 MiB TCG/KVM domain without disks, COM1 into logs/NAME.serial
# (with ACPI, which libvirt requires for UEFI).
domxml() {
	local accel=qemu
	[ -r /dev/kvm ] && [ -w /dev/kvm ] && accel=kvm
	cat <<EOF
<domain type='$accel'>
  <name>$1</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os${3:+ $3}><type arch='x86_64' machine='pc'>hvm</type>$2</os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <serial type='file'><source path='$RUN/logs/$1.serial'/><target port='0'/></serial>
    <video><model type='none'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}
KERNEL="<kernel>$RUN/boot/vmlinuz</kernel><initrd>$RUN/boot/initrd.img</initrd><cmdline>$CMDLINE</cmdline>"

# The attacker's hook (run after qemu.d/vmseal, as root, so in the window every time): when
# armed, an unsigned kernel is renamed over the signed one after start begin, before QEMU reads it.
cat > /etc/libvirt/hooks/qemu.d/zz-swap <<EOF
#!/bin/sh
[ "\$2 \$3" = "start begin" ] && [ -e "$RUN/armed" ] && mv -f "$RUN/boot/swap-vmlinuz" "$RUN/boot/vmlinuz"
exit 0
EOF
chmod 0755 /etc/libvirt/hooks/qemu.d/zz-swap

if ! lv_start > "$T/start.out"; then
	fail "$E2E_NAME: $(cat "$T/start.out")"
	exit 1
fi
pass "libvirtd started with the hook installed"

n=0
# start_ok WHAT OS_ELEMENTS [MARKER]: the domain must start (and print MARKER on COM1).
start_ok() {
	local what=$1 os=$2 marker=${3:-} attrs=${4:-} i
	n=$((n + 1))
	local dom="$DOMPFX-$n"
	domxml "$dom" "$os" "$attrs" > "dom$n.xml"
	if ! $V create "dom$n.xml" >"out$n" 2>"err$n"; then
		fail "$what: $(tr '\n' ' ' < "err$n" | head -c 600)"
		return 1
	fi
	if [ -n "$marker" ]; then
		for i in $(seq 150); do # up to 30 s: TCG on a busy machine
			grep -qF -- "$marker" "logs/$dom.serial" 2>/dev/null && break
			sleep 0.2
		done
		if grep -qF -- "$marker" "logs/$dom.serial" 2>/dev/null; then
			pass "$what"
		else
			fail "$what: started, but no \"$marker\" on its serial console: $(tr -d '\r' < "logs/$dom.serial" 2>/dev/null | tail -c 300)"
		fi
	else
		pass "$what"
	fi
	$V destroy "$dom" >/dev/null 2>&1 || true
}
# start_refused WHAT PATTERN OS_ELEMENTS: virsh must fail with PATTERN (our one line).
start_refused() {
	local what=$1 pat=$2 os=$3 attrs=${4:-}
	n=$((n + 1))
	local dom="$DOMPFX-$n"
	domxml "$dom" "$os" "$attrs" > "dom$n.xml"
	if $V create "dom$n.xml" >"out$n" 2>"err$n"; then
		fail "$what: the domain started"
		$V destroy "$dom" >/dev/null 2>&1 || true
	elif grep -qE -- "$pat" "err$n"; then
		pass "$what"
		grep -oE -- "vmseal: denied: .*" "err$n" | sed 's/^/    virsh: /'
	else
		fail "$what: virsh said: $(tr '\n' ' ' < "err$n" | head -c 600)"
	fi
	if [ -s "logs/$dom.serial" ]; then
		fail "$what: the guest ran: $(tr -d '\r' < "logs/$dom.serial" | tail -c 200)"
	fi
}
D="vmseal: denied: domain $DOMPFX-[0-9]+: "

start_ok "signed kernel + initrd with its signed command line boot" "$KERNEL" "VMSEAL-KERNEL-BOOTED"
dom1=logs/$DOMPFX-1.serial
grep -qF "cmdline=[" "$dom1" && grep -F "cmdline=[" "$dom1" | grep -qF "$CMDLINE" \
	&& pass "the guest got the signed command line" || fail "command line on COM1: $(tr -d '\r' < "$dom1" | grep cmdline)"
grep -qF "initrd=[INITRD-SIGNED]" "$dom1" && pass "the guest got the signed initrd" \
	|| fail "initrd on COM1: $(tr -d '\r' < "$dom1" | grep initrd)"
grep -q "\"event\":\"hook.start\",\"object\":\"domain $DOMPFX-1 <os><kernel> $RUN/boot/vmlinuz\",\"decision\":\"allow\",\"reason\":\"signed kernel \\\\\"stub-kernel\\\\\" version 1" audit.jsonl \
	&& pass "audit log names the kernel that booted and its signature" \
	|| fail "no hook.start allow of the kernel in the audit log: $(grep "$DOMPFX-1 " audit.jsonl | tail -3)"
grep -q "\"object\":\"domain $DOMPFX-1 <os><initrd> $RUN/boot/initrd.img\",\"decision\":\"allow\"" audit.jsonl \
	&& pass "audit log names the initrd" || fail "no allow of the initrd in the audit log"
grep -q "\"event\":\"hook.started\",\"object\":\"domain $DOMPFX-1\",\"decision\":\"allow\",\"reason\":\"QEMU (pid [0-9]*) holds the 0 files start begin verified; the 2 boot files it read are unchanged" audit.jsonl \
	&& pass "started begin checked the kernel and initrd QEMU read" \
	|| fail "started begin of $DOMPFX-1: $(grep "hook.started.*$DOMPFX-1\"" audit.jsonl | tail -1)"

# The kernel swapped after start begin, before QEMU read it (qemu.d/zz-swap): it booted, as the
# started record held disk layers only. Now started begin finds another inode at the path.
cp -p boot/vmlinuz boot/vmlinuz.keep && cp -p boot/evil-vmlinuz boot/swap-vmlinuz
touch armed
n=$((n + 1))
domxml "$DOMPFX-$n" "$KERNEL" "" > "dom$n.xml"
if $V create "dom$n.xml" >"out$n" 2>"err$n"; then
	fail "kernel swapped after start begin: the domain is running"
	$V destroy "$DOMPFX-$n" >/dev/null 2>&1 || true
elif grep -qE "vmseal: denied: domain $DOMPFX-$n: swap: $RUN/boot/vmlinuz: swapped after start begin: the path names device" "err$n"; then
	pass "kernel swapped after start begin (root, in the window): the domain is killed at started begin"
	grep -oE -- "vmseal: denied: .*" "err$n" | sed 's/^/    virsh: /'
else
	fail "kernel swap: virsh said: $(tr '\n' ' ' < "err$n" | head -c 600)"
fi
rm -f armed
$V domstate "$DOMPFX-$n" >/dev/null 2>&1 && fail "the domain with the swapped kernel is still there" \
	|| pass "the domain with the swapped kernel does not run"
mv -f boot/vmlinuz.keep boot/vmlinuz

start_refused "unsigned kernel refused" \
	"$D<os><kernel> $RUN/boot/evil-vmlinuz: unsigned kernel: no attestation" \
	"<kernel>$RUN/boot/evil-vmlinuz</kernel><initrd>$RUN/boot/initrd.img</initrd><cmdline>$CMDLINE</cmdline>"
start_refused "unsigned initrd refused" \
	"$D<os><initrd> $RUN/boot/evil-initrd.img: unsigned initrd: no attestation" \
	"<kernel>$RUN/boot/vmlinuz</kernel><initrd>$RUN/boot/evil-initrd.img</initrd><cmdline>$CMDLINE</cmdline>"
start_refused "signed kernel with init=/bin/sh refused" \
	"$D<os><kernel> $RUN/boot/vmlinuz: kernel command line \"$CMDLINE init=/bin/sh\" is not one the kernel's Statement allows" \
	"<kernel>$RUN/boot/vmlinuz</kernel><initrd>$RUN/boot/initrd.img</initrd><cmdline>$CMDLINE init=/bin/sh</cmdline>"
start_refused "signed kernel without its command line refused" \
	"$D<os><kernel> $RUN/boot/vmlinuz: kernel command line \"\" is not one" \
	"<kernel>$RUN/boot/vmlinuz</kernel><initrd>$RUN/boot/initrd.img</initrd>"
start_refused "signed initrd used as the kernel refused" \
	"$D<os><kernel> $RUN/boot/initrd.img: signed as initrd \"stub-initrd\", used as kernel" \
	"<kernel>$RUN/boot/initrd.img</kernel><cmdline>$CMDLINE</cmdline>"
start_refused "unsigned <loader> refused" \
	"$D<os><loader> $RUN/boot/unsigned_VARS.fd: unsigned firmware: no attestation" \
	"<loader readonly='yes' type='rom'>$RUN/boot/unsigned_VARS.fd</loader>"
start_refused "unsigned <nvram template> refused" \
	"$D<os><nvram template> $RUN/boot/unsigned_VARS.fd: unsigned nvram: no attestation" \
	"<loader readonly='yes' type='pflash'>$RUN/boot/fake_CODE.fd</loader><nvram template='$RUN/boot/unsigned_VARS.fd'>$RUN/nvram/vm_VARS.fd</nvram>"
cp boot/unsigned_VARS.fd nvram/old_VARS.fd
start_refused "unsigned pre-existing <nvram> file refused" \
	"$D<os><nvram> $RUN/nvram/old_VARS.fd: unsigned nvram: no attestation" \
	"<loader readonly='yes' type='pflash'>$RUN/boot/fake_CODE.fd</loader><nvram>$RUN/nvram/old_VARS.fd</nvram>"
start_refused "unsigned <dtb> refused" \
	"$D<os><dtb> $RUN/boot/board.dtb: unsigned dtb: no attestation" \
	"$KERNEL<dtb>$RUN/boot/board.dtb</dtb>"
start_refused "unsigned <acpi><table> refused" \
	"$D<os><acpi><table> $RUN/boot/slic.bin: unsigned acpi: no attestation" \
	"$KERNEL<acpi><table type='slic'>$RUN/boot/slic.bin</table></acpi>"

EFI="<loader readonly='yes' type='pflash'>$RUN/boot/fake_CODE.fd</loader><nvram template='$RUN/boot/signed_VARS.fd'>$RUN/nvram/vm_VARS.fd</nvram>"
start_ok "signed pflash loader and NVRAM template start (libvirt's fresh copy is judged at start begin)" "$EFI"
cmp -s boot/signed_VARS.fd nvram/vm_VARS.fd && pass "libvirt made the NVRAM file a copy of the signed template" \
	|| fail "no copy of the template at $RUN/nvram/vm_VARS.fd"
printf 'BootOrder' | dd of=nvram/vm_VARS.fd bs=1 seek=4096 conv=notrunc status=none
start_refused "NVRAM file changed since it was copied from its template refused" \
	"$D<os><nvram> $RUN/nvram/vm_VARS.fd: NVRAM file differs from its template" "$EFI"
start_ok "pinned SeaBIOS with the signed kernel boots" \
	"<loader readonly='yes' type='rom'>$SEABIOS</loader>$KERNEL" "VMSEAL-KERNEL-BOOTED"
cp policy.badpin.json policy.json
grep -q "\"object\":\"domain $DOMPFX-$n <os><loader> $SEABIOS\",\"decision\":\"allow\",\"reason\":\"firmware pinned by the policy" audit.jsonl \
	&& pass "audit log: SeaBIOS allowed as pinned" || fail "no pinned allow of SeaBIOS in the audit log"
start_refused "SeaBIOS whose pin has another digest refused" \
	"$D<os><loader> $SEABIOS: pinned digest mismatch" \
	"<loader readonly='yes' type='rom'>$SEABIOS</loader>$KERNEL"
cp policy.good.json policy.json

# firmware='efi': at prepare begin the XML names no firmware; libvirt then picks OVMF from its
# descriptors, and the hook judges the loader and NVRAM template it filled in at start begin.
start_ok "firmware='efi' with the distribution's OVMF pinned starts" \
	"<nvram>$RUN/nvram/auto_VARS.fd</nvram>" "" "firmware='efi'"
grep -q "\"event\":\"hook.start\".*$DOMPFX-$n" audit.jsonl && pass "the hook judged the efi domain at start begin" \
	|| fail "no hook.start event for $DOMPFX-$n"
mkpol policy.noovmf.json "$bios_digest"
cp policy.noovmf.json policy.json
rm -f nvram/auto_VARS.fd
start_refused "firmware='efi' with OVMF not pinned refused at start begin, naming the loader libvirt chose" \
	"vmseal: denied: domain $DOMPFX-[0-9]+: <os><loader> $OVMF_CODE: unsigned firmware" \
	"<nvram>$RUN/nvram/auto_VARS.fd</nvram>" "firmware='efi'"
grep -qE "\"event\":\"hook.prepare\",\"object\":\"domain $DOMPFX-$n\",\"decision\":\"allow\"" audit.jsonl \
	&& pass "prepare begin allowed it (no firmware path in the XML yet)" \
	|| fail "prepare begin of $DOMPFX-$n: $(grep "$DOMPFX-$n\"" audit.jsonl | head -2)"
cp policy.good.json policy.json
vmseal-audit verify audit.jsonl >/dev/null 2>&1 && pass "audit chain written by the hook verifies" \
	|| fail "audit chain: $(vmseal-audit verify audit.jsonl 2>&1)"
