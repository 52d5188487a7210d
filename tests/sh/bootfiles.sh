#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Boot files with the real binaries: vmseal-sign --kind writes boot attestations, vmseal-verify
# --kind makes the hook's decision (lib/bootfile.c). Each check has a case that must refuse.
source "$(dirname "$0")/lib.sh"
cd "$T"
mkp() { "$PY" "$top/tests/mkpolicy.py" "$@"; }

for k in b t x; do vmseal-key generate --out $k --no-passphrase >/dev/null || fail "keygen $k"; done
vmseal-key policy-entry b.pub --owner boot --usage boot > b.entry
vmseal-key policy-entry b.pub --owner boot --usage boot --status revoked > b_revoked.entry
vmseal-key policy-entry t.pub --owner pipeline --usage template > t.entry
BOOT='{"boot": {"rules": [{"match": "debian-*", "kinds": ["kernel", "initrd", "firmware", "nvram", "dtb", "acpi"], "keys": ["@b", "@t"], "min_version": 2}]}}'
mkp pol.json '[]' "$BOOT" b=b.entry t=t.entry
mkp pol_revoked.json '[]' "$BOOT" b=b_revoked.entry t=t.entry
mkp pol_audit.json '[]' "$(sed 's/^{/{"enforce": false, /' <<<"$BOOT")" b=b.entry t=t.entry

head -c 100000 /dev/urandom > vmlinuz
head -c 50000 /dev/urandom > initrd.img
head -c 4096 /dev/urandom > evil
sign() { vmseal-sign --key b.key "$@" >"$T/signout" 2>"$T/signerr" || fail "sign $*: $(cat "$T/signerr")"; }
sign --kind kernel --name debian-12-kernel --boot-version 3 --cmdline 'console=ttyS0 root=/dev/vda1' vmlinuz
grep -q "signed kernel debian-12-kernel version 3" signout && pass "vmseal-sign --kind kernel names the kind" \
	|| fail "sign output: $(cat signout)"
sign --kind initrd --name debian-12-initrd --boot-version 3 initrd.img

v() { vmseal-verify --policy "${POL:-pol.json}" "$@"; }
expect_rc "signed kernel with its command line allowed" 0 v --kind kernel --cmdline 'console=ttyS0 root=/dev/vda1' vmlinuz
grep -q '^allowed: vmlinuz: signed kernel "debian-12-kernel" version 3' out && pass "allowed line names the boot file" \
	|| fail "allowed line: $(cat out)"
expect_rc "signed initrd allowed" 0 v --kind initrd initrd.img
# --trust-state holds for --kind as for images: it was ignored there, so a policy older than the
# installed version (say, one that still trusts a key or digest since revoked) judged boot files.
mkdir -p st
printf '{"format": "vmseal-trust-state-v1", "policy_version": 5, "root_version": 0}\n' >st/trust.state
expect_err "--kind with a --trust-state that recorded a newer policy version: refused (rollback)" \
	"older than the installed version" v --trust-state st/trust.state --kind initrd initrd.img
expect_deny "the same kernel with init=/bin/sh refused" \
	'vmlinuz: kernel command line "console=ttyS0 root=/dev/vda1 init=/bin/sh" is not one the kernel.s Statement allows' \
	v --kind kernel --cmdline 'console=ttyS0 root=/dev/vda1 init=/bin/sh' vmlinuz
expect_deny "no <cmdline> is the empty one, not signed here" 'kernel command line "" is not one' v --kind kernel vmlinuz
expect_deny "unsigned kernel refused" "evil: unsigned kernel: no attestation" v --kind kernel evil
expect_deny "signed initrd used as a kernel refused" 'initrd.img: signed as initrd "debian-12-initrd", used as kernel' \
	v --kind kernel initrd.img
expect_deny "signed kernel used as a DTB refused" "signed as kernel .*used as dtb" v --kind dtb vmlinuz
cp initrd.img initrd.orig
flip_byte initrd.img 100
expect_deny "initrd changed after signing refused" "initrd.img: digest mismatch: file is" v --kind initrd initrd.img
cp initrd.orig initrd.img
printf 'tail' >> initrd.img
expect_deny "initrd grown after signing refused" "initrd.img: size is 50004 bytes, attestation says 50000" v --kind initrd initrd.img
cp initrd.orig initrd.img
POL=pol_revoked.json expect_deny "boot file signed by a revoked key refused" "key revoked" v --kind initrd initrd.img
vmseal-sign --key t.key --kind initrd --name debian-12-initrd --boot-version 3 --force initrd.img >/dev/null
expect_deny "key without usage boot refused" "key not authorised for boot use" v --kind initrd initrd.img
sign --kind initrd --name debian-12-initrd --boot-version 1 --force initrd.img
expect_deny "below the boot rule's min_version refused" "version 1 is below boot rule \"debian-\*\"'s min_version 2" \
	v --kind initrd initrd.img
sign --kind initrd --name ubuntu-initrd --boot-version 3 --force initrd.img
expect_deny "no boot rule for the name refused" 'no boot rule of the policy matches initrd "ubuntu-initrd"' v --kind initrd initrd.img
faketime -f '-400d' vmseal-sign --key b.key --kind initrd --name debian-12-initrd --boot-version 3 --force initrd.img >/dev/null
expect_deny "expired boot attestation refused" "attestation expired at" v --kind initrd initrd.img
vmseal-sign --key t.key --template debian-12 --template-version 3 --force initrd.img >/dev/null
expect_deny "a template attestation does not cover a boot file" "for a disk image template" v --kind initrd initrd.img
cp vmlinuz disk.raw; cp vmlinuz.intoto.json disk.raw.intoto.json
mkp pol_tmpl.json '[{"match":"debian-*","keys":["@b"]}]' b=b.entry
expect_deny "a boot attestation does not cover a disk" "is for a boot file \(kernel \"debian-12-kernel\"\), not a disk image" \
	vmseal-verify --policy pol_tmpl.json disk.raw
POL=pol_audit.json expect_rc "enforce false: unsigned firmware is a would-deny, exit 0" 0 v --kind firmware evil
grep -q "would deny" err && pass "would-deny reported" || fail "would-deny: $(cat err)"
mkfifo fifo
expect_deny "a FIFO as firmware refused at once" "fifo: firmware is a FIFO, not a regular file" timeout 5 vmseal-verify --policy pol.json --kind firmware fifo

# pins: distribution firmware trusted by digest
head -c 262144 /dev/urandom > bios.bin
d=$(vmseal-digest bios.bin | cut -d' ' -f1)
mkp pol_pin.json '[]' "{\"boot\": {\"pinned\": [{\"path\": \"$T/bios.bin\", \"kind\": \"firmware\", \"digest\": \"$d\", \"size\": 262144}]}}"
expect_rc "pinned firmware allowed" 0 vmseal-verify --policy pol_pin.json --kind firmware "$T/bios.bin"
grep -q "firmware pinned by the policy" out && pass "allowed as pinned" || fail "pinned: $(cat out)"
expect_deny "pinned firmware used as an NVRAM template refused" "unsigned nvram" vmseal-verify --policy pol_pin.json --kind nvram "$T/bios.bin"
bad=$(tr 0-9a-f 1-9a-f0 <<<"$d")
mkp pol_badpin.json '[]' "{\"boot\": {\"pinned\": [{\"path\": \"$T/bios.bin\", \"kind\": \"firmware\", \"digest\": \"$bad\", \"size\": 262144}]}}"
expect_deny "firmware whose pin has another digest refused" "bios.bin: pinned digest mismatch" \
	vmseal-verify --policy pol_badpin.json --kind firmware "$T/bios.bin"
mkp pol_json.json '[]' '{"boot": {"pinned": [{"kind": "firmware", "digest": "00", "size": 1}]}}'
expect_err "a malformed pin is a policy error" "64 lowercase hex" vmseal-verify --policy pol_json.json --kind firmware bios.bin

# vmseal-sign usage errors
expect_err "a kernel needs a --cmdline" "at least one --cmdline" vmseal-sign --key b.key --kind kernel --name k --boot-version 1 evil
expect_err "--cmdline only for kernels" "only for --kind kernel" vmseal-sign --key b.key --kind initrd --name k --boot-version 1 --cmdline x evil
expect_err "--kind with --template refused" "use --name and --boot-version" vmseal-sign --key b.key --kind initrd --template k --template-version 1 evil
expect_err "unknown kind refused" "--kind must be" vmseal-sign --key b.key --kind bios --name k --boot-version 1 evil
expect_err "--cmdline for images refused" "need --kind" vmseal-sign --key b.key --template k --template-version 1 --cmdline x evil
expect_deny "countersigning a kernel envelope as an initrd refused" "refusing to countersign" \
	vmseal-sign --key t.key --append --kind initrd vmlinuz
