#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# vmseal-hook as libvirt runs it: recorded domain XML on stdin, exit codes, the one stderr line,
# audit events, the allow-cache, and every denial (chain, headers, attestations, policy).
source "$(dirname "$0")/lib.sh"
cd "$T"
command -v qemu-img >/dev/null || { skip "hook: qemu-img not installed (scripts/deps.sh)"; exit 0; }
mkp() { "$PY" "$top/tests/mkpolicy.py" "$@"; }
echo pass1 > pw
vmseal-key generate --out a --passphrase-file pw >/dev/null || fail "keygen a"
vmseal-key generate --out x --passphrase-file pw >/dev/null || fail "keygen x"
vmseal-key policy-entry a.pub --owner pipeline > a.entry
vmseal-key policy-entry a.pub --status revoked > a_revoked.entry
RULES='[{"match":"debian-*","keys":["@a"],"threshold":1,"min_version":1,"allow_overlay":true}]'
mkp pol.json "$RULES" a=a.entry
mkp pol_nooverlay.json '[{"match":"debian-*","keys":["@a"]}]' a=a.entry
mkp pol_revoked.json "$RULES" a=a_revoked.entry
mkp pol_audit.json "$RULES" '{"enforce":false}' a=a.entry
mkp pol_net.json "$RULES" '{"allow_network_disks":true}' a=a.entry
mkp pol_restore.json "$RULES" '{"launch":{"allow":{"restore":true}}}' a=a.entry
mkp pol_migrate.json "$RULES" '{"launch":{"allow":{"migrate":true}}}' a=a.entry
sign() { vmseal-sign --passphrase-file pw --key "${KEY:-a.key}" --template "$2" --template-version 3 --force "$1" >/dev/null 2>signerr || fail "sign $1: $(cat signerr)"; }

cat > hook.conf <<EOF
# test configuration
policy = $T/pol.json
audit_log = $T/audit.jsonl
cache_dir = $T/cache
qemu_pid_dir = $T/run
EOF
mkdir -p run
hook_options_wrapper
export HOOK_CONF=$T/hook.conf
unset HOOK_POLICY

# Images: a qcow2 template with content, a writable overlay on it, a readonly raw data disk.
head -c 3000000 /dev/urandom > content.raw
qemu-img convert -q -f raw -O qcow2 content.raw base.qcow2
qemu-img create -q -f qcow2 -F qcow2 -b base.qcow2 top.qcow2
head -c 1048576 /dev/urandom > data.raw
sign base.qcow2 debian-12
sign data.raw debian-data
cp base.qcow2 base.qcow2.orig

xml() { sed "s|@DIR@|$T|g" "$top/tests/data/xml/$1.xml"; }
for f in web1-prepare-begin web1-start-begin web1-restore-begin web1-release-end; do xml $f > $f.xml; done
hook() { local dom=$1 op=$2 sub=$3 in=$4; shift 4; vmseal-hook "$dom" "$op" "$sub" - < "$in"; }
events() { grep -c "\"decision\":\"$1\"" audit.jsonl 2>/dev/null || true; }

# --- allowed paths
expect_rc "prepare begin: overlay on signed template, signed raw disk, empty cdrom" 0 \
	hook web1 prepare begin web1-prepare-begin.xml
[ ! -s "$T/out" ] && pass "prints nothing on stdout" || fail "stdout: $(cat "$T/out")"
[ ! -s "$T/err" ] && pass "prints nothing on stderr when allowed" || fail "stderr: $(cat "$T/err")"
[ "$(events allow)" = 3 ] && pass "three allow events (one per disk)" || fail "allow events: $(events allow)"
grep -q '"event":"hook.prepare","object":"domain web1 disk vda '"$T"'/top.qcow2","decision":"allow","reason":"top.qcow2: writable overlay, template \\"debian-12\\" allows overlays; base.qcow2: template \\"debian-12\\" version 3"' audit.jsonl \
	&& pass "audit names the overlay exemption and the template" || fail "audit: $(head -1 audit.jsonl)"
expect_rc "start begin: XML chain matches the headers" 0 hook web1 start begin web1-start-begin.xml

# --- started begin: the files QEMU holds are the ones start begin verified. A stand-in for
# QEMU opens the disk paths as QEMU does and holds them; libvirt's pid file names it.
holder() { # holder FILE...: a process holding FILEs open, its pid in run/web1.pid
	"$PY" -c "
import os, sys, time
fds = [os.open(f, os.O_RDONLY) for f in sys.argv[1:]]
open('$T/run/web1.pid', 'w').write(str(os.getpid()))
time.sleep(30)" "$@" &
	holder_pid=$!
	cleanup_hooks+=("kill $holder_pid 2>/dev/null")
	for _ in $(seq 50); do [ "$(cat run/web1.pid 2>/dev/null)" = "$holder_pid" ] && break; sleep 0.1; done
}
unholder() { kill "$holder_pid" 2>/dev/null; wait "$holder_pid" 2>/dev/null; rm -f run/web1.pid; }
holder "$T/top.qcow2" "$T/base.qcow2" "$T/data.raw"
expect_rc "started begin: QEMU holds the verified files" 0 hook web1 started begin web1-start-begin.xml
tail -1 audit.jsonl | grep -q '"event":"hook.started".*"decision":"allow".*holds the 3 files start begin verified' \
	&& pass "started check audited as an allow" || fail "started audit: $(tail -1 audit.jsonl)"
unholder
holder "$T/top.qcow2" "$T/data.raw"
expect_deny "started begin: a verified backing file QEMU does not hold denied" \
	"swap: $T/base.qcow2: swapped after start begin: QEMU does not hold the verified file" \
	hook web1 started begin web1-start-begin.xml
unholder
# the race: an unsigned image renamed over the disk path after start begin, before QEMU's open
cp data.raw data.keep; head -c 1048576 /dev/urandom > evil.raw; mv evil.raw data.raw
holder "$T/top.qcow2" "$T/base.qcow2" "$T/data.raw"
expect_deny "started begin: image renamed over the disk path after start begin denied (swap)" \
	"^vmseal: denied: domain web1: swap: $T/data.raw: swapped after start begin: QEMU holds device [0-9]+ inode [0-9]+ at this path" \
	hook web1 started begin web1-start-begin.xml
tail -1 audit.jsonl | grep -q '"event":"hook.started".*"decision":"deny","reason":"swap: ' \
	&& pass "swap audited as a deny" || fail "swap audit: $(tail -1 audit.jsonl)"
unholder
mv data.keep data.raw
expect_rc "start begin again after the swap was undone" 0 hook web1 start begin web1-start-begin.xml
rec=$(ls hook-state/started/*)
cp "$rec" rec.keep
sed -i 's/^enforce 1$/enforce 0/' "$rec"
holder "$T/top.qcow2" "$T/base.qcow2" "$T/data.raw"
expect_deny "started begin: a record changed without the host secret's MAC denied" \
	"record of start begin is malformed or has no valid MAC" hook web1 started begin web1-start-begin.xml
cp rec.keep "$rec"
expect_rc "started begin with the record restored" 0 hook web1 started begin web1-start-begin.xml
# start begin's record says enforce and the audit log: the started check reads no policy (it
# costs with the policy's size); the one named here does not even exist
n=$(wc -l < audit.jsonl)
hook_nopolicy() { HOOK_POLICY=$T/no-such-policy.json hook "$@"; }
expect_rc "started begin reads no policy" 0 hook_nopolicy web1 started begin web1-start-begin.xml
[ "$(wc -l < audit.jsonl)" = $((n + 1)) ] && pass "started begin without the policy still audited" \
	|| fail "started audit without the policy: $(tail -1 audit.jsonl)"
unholder
grep -q '"event":"hook.start".*base.qcow2: template \\"debian-12\\" version 3 (cached)' audit.jsonl \
	&& pass "second decision comes from the allow-cache" || fail "no cached decision in audit"

# --- started begin: the boot files QEMU read (and closed) at its start are the ones start begin
# verified. A kernel swapped or rewritten between start begin and QEMU's open went unnoticed:
# the record held only disk layers.
vmseal-key generate --out bk --no-passphrase >/dev/null || fail "keygen bk"
vmseal-key policy-entry bk.pub --owner boot --usage boot > bk.entry
mkp pol_boot.json "$RULES" '{"boot": {"rules": [{"match": "web-*", "kinds": ["kernel", "initrd"], "keys": ["@bk"]}]}}' \
	a=a.entry bk=bk.entry
head -c 100000 /dev/urandom > vmlinuz; head -c 50000 /dev/urandom > initrd.img
vmseal-sign --key bk.key --kind kernel --name web-kernel --boot-version 1 --cmdline 'console=ttyS0' vmlinuz >/dev/null \
	|| fail "sign kernel"
vmseal-sign --key bk.key --kind initrd --name web-initrd --boot-version 1 initrd.img >/dev/null || fail "sign initrd"
cp vmlinuz vmlinuz.keep
sed "s|<boot dev='hd'/>|<kernel>$T/vmlinuz</kernel><initrd>$T/initrd.img</initrd><cmdline>console=ttyS0</cmdline>|" \
	web1-start-begin.xml > kernel.xml
hook_boot() { HOOK_POLICY=$T/pol_boot.json hook "$@"; }
expect_rc "start begin: signed kernel and initrd" 0 hook_boot web1 start begin kernel.xml
holder "$T/top.qcow2" "$T/base.qcow2" "$T/data.raw"
expect_rc "started begin: the boot files QEMU read are unchanged" 0 hook_boot web1 started begin kernel.xml
tail -1 audit.jsonl | grep -q 'holds the 3 files start begin verified; the 2 boot files it read are unchanged' \
	&& pass "started check audits the boot files" || fail "started audit: $(tail -1 audit.jsonl)"
head -c 100000 /dev/urandom > evil-vmlinuz; mv evil-vmlinuz vmlinuz
expect_deny "started begin: a kernel renamed over its path after start begin denied (swap)" \
	"^vmseal: denied: domain web1: swap: $T/vmlinuz: swapped after start begin: the path names device [0-9]+ inode [0-9]+, start begin verified inode [0-9]+" \
	hook_boot web1 started begin kernel.xml
cp vmlinuz.keep vmlinuz
expect_rc "start begin again with the signed kernel" 0 hook_boot web1 start begin kernel.xml
flip_byte vmlinuz 5000
expect_deny "started begin: the kernel rewritten in place after start begin denied" \
	"^vmseal: denied: domain web1: swap: $T/vmlinuz: rewritten after start begin" hook_boot web1 started begin kernel.xml
cp vmlinuz.keep vmlinuz
expect_rc "start begin again" 0 hook_boot web1 start begin kernel.xml
mv initrd.img initrd.keep
expect_deny "started begin: the initrd gone after start begin denied" \
	"swap: $T/initrd.img: swapped after start begin: No such file" hook_boot web1 started begin kernel.xml
mv initrd.keep initrd.img
unholder
expect_rc "start begin of the disk-only domain again" 0 hook web1 start begin web1-start-begin.xml
expect_deny "restore begin: denied (the saved RAM cannot be verified)" \
	"^vmseal: denied: domain web1: restore: a saved image's RAM cannot be verified; refused unless the policy sets launch.allow.restore" \
	hook web1 restore begin web1-restore-begin.xml
expect_rc "restore begin (filter) with launch.allow.restore: allowed" 0 \
	env HOOK_POLICY=$T/pol_restore.json vmseal-hook web1 restore begin - < web1-restore-begin.xml
[ ! -s "$T/out" ] && pass "restore filter prints nothing on stdout" || fail "restore stdout: $(cat "$T/out")"
expect_deny "migrate begin: denied (the incoming RAM cannot be verified)" \
	"^vmseal: denied: domain web1: migrate: an incoming migration's RAM cannot be verified; refused unless the policy sets launch.allow.migrate" \
	hook web1 migrate begin web1-start-begin.xml
expect_rc "migrate begin (filter) with launch.allow.migrate: allowed" 0 \
	env HOOK_POLICY=$T/pol_migrate.json vmseal-hook web1 migrate begin - < web1-start-begin.xml
[ ! -s "$T/out" ] && pass "migrate filter prints nothing on stdout" || fail "migrate stdout"
n=$(wc -l < audit.jsonl)
expect_rc "stopped end is not judged, even without a policy and with garbage input" 0 \
	env HOOK_POLICY=/nonexistent vmseal-hook web1 stopped end - <<< "not xml"
expect_rc "prepare end is not judged" 0 env HOOK_POLICY=/nonexistent vmseal-hook web1 prepare end - < /dev/null
[ "$(wc -l < audit.jsonl)" = "$n" ] && pass "operations not judged write no audit event" || fail "audit grew"
# The first stage (agent/vmseal-hook.c): libvirt's exact call of an operation it does not judge
# ends there, before any library but libc is loaded; the dynamic loader's trace shows what was.
LD_DEBUG=libs "$BIN/vmseal-hook" web1 stopped end - <<< "not xml" >ld.out 2>ld.err
rc=$?
[ $rc = 0 ] && ! grep -qE 'libcrypto|libxml2|libjansson' ld.err && grep -q 'libc.so' ld.err \
	&& pass "first stage: stopped end exits 0 with libc alone loaded" \
	|| fail "first stage: stopped end: exit $rc, loaded: $(grep -oE 'lib[a-z0-9+_-]+\.so' ld.err | sort -u | tr '\n' ' ')"
# ... and whatever it does not decide from argv alone (options here) is the judge's, with libxml2
# and OpenSSL: the same answer as before.
: > empty.conf
LD_DEBUG=libs "$BIN/vmseal-hook" --config "$T/empty.conf" web1 stopped end - >ld.out 2>ld.err
rc=$?
# (tests/sh/hook_serve.sh runs this file with the judge server up, HOOK_SERVED=1: then the call
# is the server's, and this process loads nothing but libc.)
if [ "${HOOK_SERVED:-0}" = 1 ]; then
	[ $rc = 0 ] && ! grep -qE 'libcrypto|libxml2' ld.err \
		&& pass "first stage: a call with options goes to the judge server (nothing loaded here)" \
		|| fail "first stage (served): --config ... stopped end: exit $rc, loaded: $(grep -oE 'lib[a-z0-9+_-]+\.so' ld.err | sort -u | tr '\n' ' ')"
else
	[ $rc = 0 ] && grep -q 'libcrypto' ld.err && grep -q 'libxml2' ld.err \
		&& pass "first stage: a call with options runs the judge" \
		|| fail "first stage: --config ... stopped end: exit $rc, loaded: $(grep -oE 'lib[a-z0-9+_-]+\.so' ld.err | sort -u | tr '\n' ' ')"
fi
expect_err "first stage: a judged call reaches the judge (policy missing: refused)" "nonexistent" \
	"$BIN/vmseal-hook" --config "$T/empty.conf" --policy "$T/nonexistent.json" --audit-log "$T/first-stage.jsonl" \
	web1 prepare begin - < web1-prepare-begin.xml
# A judge that cannot be loaded refuses every judged call (exit 2), never lets it pass: first
# stages compiled here against a judge that is missing, one that is no shared object, a shared
# object without the judge's entry point, and one (linked -z now, as the judge is) that needs a
# symbol no library has: the first stage loads with RTLD_LAZY, and the judge's own binding
# still happens, and fails, at load.
readelf -d "$(dirname "$BIN")/libexec/vmseal-hook-judge.so" | grep -q 'FLAGS.*BIND_NOW' \
	&& pass "the judge is linked -z now (its symbols bound when it is loaded)" || fail "judge not linked -z now"
if command -v cc >/dev/null; then
	: > "$T/judge-empty.so"
	printf 'int vmseal_not_the_judge(void) { return 0; }\n' > "$T/judge-noentry.c"
	cc -shared -fPIC -o "$T/judge-noentry.so" "$T/judge-noentry.c" || fail "cc judge without entry point"
	printf 'int vmseal_no_such_symbol(void);\nint vmseal_hook_judge_main(int c, char **v) { (void)c; (void)v; return vmseal_no_such_symbol(); }\n' \
		> "$T/judge-unresolved.c"
	cc -shared -fPIC -Wl,-z,now -o "$T/judge-unresolved.so" "$T/judge-unresolved.c" || fail "cc judge with an unresolved symbol"
	for j in /nonexistent/vmseal-hook-judge.so "$T/judge-empty.so" "$T/judge-noentry.so" "$T/judge-unresolved.so"; do
		case $j in
		*empty*) what="an empty file" ;;
		*noentry*) what="a shared object without the entry point" ;;
		*unresolved*) what="a shared object with an unresolved symbol" ;;
		*) what=missing ;;
		esac
		cc -I"$top" -DVMSEAL_HOOK_JUDGE="\"$j\"" -o "$T/front" "$top/agent/vmseal-hook.c" "$top/lib/hookop.c" ||
			fail "cc first stage"
		expect_err "first stage whose judge is $what: start begin refused (exit 2)" \
			"cannot run the hook's judge $j" "$T/front" web1 start begin - < web1-start-begin.xml
		expect_rc "first stage whose judge is $what: stopped end still exits 0" 0 \
			"$T/front" web1 stopped end - < /dev/null
	done
else
	skip "first stage without its judge: no C compiler"
fi
expect_deny "started begin without a record of start begin denied" \
	"^vmseal: denied: domain web2: .*/hook-state/started/[0-9a-f]{64}: no record of what start begin verified" \
	vmseal-hook web2 started begin - < /dev/null
expect_rc "audit chain verifies" 0 vmseal-audit verify audit.jsonl
ls cache | grep -qE '^[0-9a-f]{64}$' && pass "cache entries are named by a 64-hex key" || fail "cache: $(ls cache)"
[ "$(stat -c %a cache)" = 700 ] && pass "cache directory created 0700" || fail "cache mode $(stat -c %a cache)"

# --- content changes, even after a cached allow
"$PY" -c "
f=open('base.qcow2','r+b'); f.seek(-100, 2); b=f.read(1); f.seek(-100, 2); f.write(bytes([b[0]^1]))"
expect_deny "one byte of the template changed after a cached allow: denied" \
	"^vmseal: denied: domain web1 disk vda $T/top.qcow2: $T/base.qcow2: digest mismatch" \
	hook web1 start begin web1-start-begin.xml
[ "$(wc -l < err)" = 1 ] && pass "exactly one stderr line" || fail "stderr has $(wc -l < err) lines"
tail -1 audit.jsonl | grep -q '"decision":"deny","reason":".*digest mismatch' && pass "denial is audited" \
	|| fail "last audit line: $(tail -1 audit.jsonl)"
expect_deny "prepare begin (headers followed) also denies the changed template" \
	"disk vda $T/top.qcow2: $T/base.qcow2: digest mismatch" hook web1 prepare begin web1-prepare-begin.xml
cp base.qcow2.orig base.qcow2
expect_rc "original bytes restored: allowed again" 0 hook web1 start begin web1-start-begin.xml

# --- attestations
mv data.raw.intoto.json data.att
expect_deny "unsigned disk denied" "^vmseal: denied: domain web1 disk vdb $T/data.raw: no attestation \($T/data.raw.intoto.json not found\)$" \
	hook web1 prepare begin web1-prepare-begin.xml
KEY=x.key sign data.raw debian-data
expect_deny "disk signed by a key not in the policy denied" "disk vdb $T/data.raw: signature 1 .*unknown key" \
	hook web1 prepare begin web1-prepare-begin.xml
mv data.att data.raw.intoto.json
sed 's|<target dev=.vda. bus=.virtio./>|&<readonly/>|' web1-prepare-begin.xml > ro.xml
sed "s|$T/top.qcow2|$T/base.qcow2|" web1-prepare-begin.xml > onbase.xml
expect_deny "writable disk directly on a signed template denied (diskcheck: writable disk on a signed layer)" \
	"^vmseal: denied: domain web1 disk vda $T/base.qcow2: a writable disk directly on a signed layer; attach it <readonly/> or through an overlay" \
	hook web1 prepare begin onbase.xml
sed 's|<target dev=.vda. bus=.virtio./>|&<readonly/>|' onbase.xml > onbase-ro.xml
expect_rc "the same template attached readonly is allowed" 0 hook web1 prepare begin onbase-ro.xml
expect_deny "readonly overlay still needs an attestation" "disk vda $T/top.qcow2: no attestation" \
	hook web1 prepare begin ro.xml
expect_deny "overlay denied when the template rule does not allow overlays" "disk vda $T/top.qcow2: no attestation" \
	env HOOK_POLICY=$T/pol_nooverlay.json vmseal-hook web1 prepare begin - < web1-prepare-begin.xml
expect_deny "revoked key denied" "disk vda $T/top.qcow2: $T/base.qcow2: .*key revoked" \
	env HOOK_POLICY=$T/pol_revoked.json vmseal-hook web1 start begin - < web1-start-begin.xml

# --- nothing blocks libvirtd: FIFOs where files are expected are refused at once (timeout 5:
# before vs_open_input, a FIFO sidecar blocked the hook, and libvirtd's start with it, for ever)
mv data.raw.intoto.json data.att && mkfifo data.raw.intoto.json
# a denial, as vmseal-verify says (tests/sh/fifo.sh): one attestation entry point, lib/attest.c
expect_deny "FIFO attestation sidecar refused at once" \
	"^vmseal: denied: domain web1 disk vdb $T/data.raw: attestation $T/data.raw.intoto.json: is a FIFO, not a regular file$" \
	timeout 5 vmseal-hook web1 start begin - < web1-start-begin.xml
rm data.raw.intoto.json && mv data.att data.raw.intoto.json
mkfifo img.fifo
sed "s|<devices>|<devices><disk type='file' device='disk'><source file='$T/img.fifo'/><target dev='vdz'/><readonly/></disk>|" \
	web1-prepare-begin.xml > fifo-disk.xml
expect_deny "FIFO as disk image denied at once" "disk vdz $T/img.fifo: is a FIFO, not a regular file or block device" \
	timeout 5 vmseal-hook web1 prepare begin - < fifo-disk.xml
mkfifo pol.fifo conf.fifo audit.fifo
expect_err "FIFO policy refused at once" "pol.fifo: is a FIFO, not a regular file" \
	timeout 5 env HOOK_POLICY=$T/pol.fifo vmseal-hook web1 prepare begin - < web1-prepare-begin.xml
expect_err "FIFO hook.conf refused at once" "conf.fifo: is a FIFO, not a regular file" \
	timeout 5 env HOOK_CONF=$T/conf.fifo vmseal-hook --audit-log "$T/audit.jsonl" web1 prepare begin - < web1-prepare-begin.xml
printf 'policy = %s\naudit_log = %s/audit.fifo\ncache_dir = %s/cache\n' "$T/pol.json" "$T" "$T" > fifoaudit.conf
expect_err "FIFO audit log refused at once" "audit.fifo: audit log is not a regular file" \
	timeout 5 env HOOK_CONF=$T/fifoaudit.conf vmseal-hook web1 prepare begin - < web1-prepare-begin.xml

# --- backing chain
qemu-img create -q -f qcow2 evil.qcow2 16M
cp top.qcow2 top.qcow2.orig
qemu-img rebase -q -u -f qcow2 -F qcow2 -b evil.qcow2 top.qcow2
expect_deny "start begin: overlay's header swapped to an unsigned backing file" \
	"disk vda $T/top.qcow2: qcow2 header names backing file \"evil.qcow2\", but the XML's next layer is \"$T/base.qcow2\"" \
	hook web1 start begin web1-start-begin.xml
expect_deny "prepare begin: the swapped backing file is followed and has no attestation" \
	"disk vda $T/top.qcow2: $T/evil.qcow2: no attestation" hook web1 prepare begin web1-prepare-begin.xml
cp top.qcow2.orig top.qcow2
qemu-img rebase -q -u -f qcow2 -F raw -b base.qcow2 top.qcow2
expect_deny "backing format in the header differs from the XML" \
	"header says backing format \"raw\", the XML says \"qcow2\"" hook web1 start begin web1-start-begin.xml
cp top.qcow2.orig top.qcow2
cp base.qcow2.orig other.qcow2
sign other.qcow2 debian-12
sed "s|$T/base.qcow2|$T/other.qcow2|" web1-start-begin.xml > swapped-xml.xml
expect_deny "XML chain names a different (signed) backing file than the header" \
	"qcow2 header names backing file \"base.qcow2\", but the XML's next layer is \"$T/other.qcow2\"" \
	hook web1 start begin swapped-xml.xml
"$PY" - web1-start-begin.xml cut.xml <<'PY'
import re, sys
x = open(sys.argv[1]).read()
x = re.sub(r"<backingStore type='file' index='4'>.*?</backingStore>", "<backingStore/>", x, count=1, flags=re.S)
open(sys.argv[2], "w").write(x)
PY
grep -q "<backingStore/>" cut.xml && ! grep -q "base.qcow2" cut.xml || fail "test setup: cut.xml"
expect_deny "XML says the chain ends but the header names a backing file" \
	"names backing file \"base.qcow2\" but the XML's chain ends here" hook web1 start begin cut.xml

qemu-img create -q -f qcow2 loop.qcow2 16M
qemu-img rebase -q -u -f qcow2 -F qcow2 -b loop.qcow2 loop.qcow2
sed "s|$T/top.qcow2|$T/loop.qcow2|" web1-prepare-begin.xml > loop.xml
expect_deny "self-loop in the backing chain denied" "backing chain loop: \"$T/loop.qcow2\" is also layer 0" \
	hook web1 prepare begin loop.xml
qemu-img create -q -f qcow2 -F qcow2 -b base.qcow2 c0.qcow2
for i in $(seq 1 15); do qemu-img create -q -f qcow2 -F qcow2 -b c$((i - 1)).qcow2 c$i.qcow2; done
# c14 → … → c0 → base is 16 layers; c15 makes 17
sed "s|$T/top.qcow2|$T/c14.qcow2|" web1-prepare-begin.xml > depth16.xml
sed "s|$T/top.qcow2|$T/c15.qcow2|" web1-prepare-begin.xml > depth17.xml
expect_deny "17 layers denied" "backing chain deeper than 16 layers" hook web1 prepare begin depth17.xml
expect_deny "16 layers pass the chain check (then need attestations)" "$T/c0.qcow2: no attestation" \
	hook web1 prepare begin depth16.xml

qemu-img create -q -f qcow2 -o data_file=$T/df.raw df.qcow2 16M
sed "s|$T/top.qcow2|$T/df.qcow2|" web1-prepare-begin.xml > df.xml
sign df.qcow2 debian-12
expect_deny "qcow2 with an external data file denied (even when signed)" \
	"disk vda $T/df.qcow2: qcow2 external data file \"$T/df.raw\" is not allowed" hook web1 prepare begin df.xml
qemu-img create -q -f qcow2 proto.qcow2 16M
qemu-img rebase -q -u -f qcow2 -F raw -b "nbd:127.0.0.1:10809" proto.qcow2
sed "s|$T/top.qcow2|$T/proto.qcow2|" web1-prepare-begin.xml > proto.xml
expect_deny "protocol backing file denied" "backing file \"nbd:127.0.0.1:10809\" uses a protocol" \
	hook web1 prepare begin proto.xml
sed "s|<driver name='qemu' type='raw'/>|<driver name='qemu' type='qcow2'/>|" web1-prepare-begin.xml > rawasqcow.xml
expect_deny "raw file declared qcow2 denied" "disk vdb $T/data.raw: format is qcow2 but the file has no qcow2 header" \
	hook web1 prepare begin rawasqcow.xml
sed "s|<driver name='qemu' type='raw'/>|<driver name='qemu' type='vmdk'/>|" web1-prepare-begin.xml > vmdk.xml
expect_deny "unsupported format denied" "format \"vmdk\" is not supported" hook web1 prepare begin vmdk.xml

# hostile header built by hand: backing name length 0x7fffffff
"$PY" - <<'PY'
import struct
h = bytearray(65536)
struct.pack_into(">IIQIIQ", h, 0, 0x514649fb, 3, 512, 0x7fffffff, 16, 1 << 30)
struct.pack_into(">QQQII", h, 72, 0, 0, 0, 4, 104)
open("hostile.qcow2", "wb").write(h)
PY
sed "s|$T/top.qcow2|$T/hostile.qcow2|" web1-prepare-begin.xml > hostile.xml
expect_err "hostile qcow2 header refused as an error" \
	"^vmseal: denied: domain web1 disk vda $T/hostile.qcow2: backing file name length 2147483647" \
	hook web1 prepare begin hostile.xml

# --- disk types
cat > net.xml <<EOF
<domain type='qemu'><name>web1</name><devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
<disk type='network' device='disk'><driver name='qemu' type='raw'/>
<source protocol='nbd' name='export1'><host name='127.0.0.1' port='10809'/></source>
<target dev='vdc' bus='virtio'/></disk></devices></domain>
EOF
expect_deny "network disk denied by default" "disk vdc nbd:export1: network disks are not allowed by the policy" \
	hook web1 prepare begin net.xml
expect_rc "network disk allowed when the policy says so" 0 \
	env HOOK_POLICY=$T/pol_net.json vmseal-hook web1 prepare begin - < net.xml
xml kinds-start-begin > kinds.xml
sed -i '/<disk type=.block./,/<\/disk>/d; /<disk type=.network./,/<\/disk>/d' kinds.xml
expect_deny "volume disk denied" "disk vdb recpool/vol1.qcow2: disk type 'volume' cannot be checked" hook kinds start begin kinds.xml
sed "s|<devices>|<devices><disk type='file' device='disk'><source file='$T/nope.qcow2'/><target dev='vdz'/></disk>|" \
	web1-prepare-begin.xml > missing.xml
expect_err "missing image refused as an error" "disk vdz $T/nope.qcow2: cannot open: No such file" \
	hook web1 prepare begin missing.xml
sed "s|<devices>|<devices><disk type='block' device='disk'><source dev='$T/data.raw'/><target dev='vdz'/></disk>|" \
	web1-prepare-begin.xml > notblock.xml
expect_deny "type block on a regular file denied" "disk type 'block' but not a block device" \
	hook web1 prepare begin notblock.xml
sed "s|<domain type='qemu' id='5'>|<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>|; s|</devices>|</devices><qemu:commandline><qemu:arg value='-drive'/><qemu:arg value='file=$T/evil.qcow2'/></qemu:commandline>|" \
	web1-prepare-begin.xml > passthrough.xml
expect_deny "qemu:commandline denied" "^vmseal: denied: domain web1: <qemu:commandline>: qemu:commandline passes raw arguments" hook web1 prepare begin passthrough.xml

# --- the whole domain (lib/domallow): the hook's own paths
sed "s|<devices>|<devices><serial type='file'><source path='$T/hook-state/forged'/></serial>|" \
	web1-prepare-begin.xml > chr-state.xml
expect_deny "file chardev into the hook's state directory denied (domallow: no vmseal path)" \
	"^vmseal: denied: domain web1: <devices><serial><source> $T/hook-state/forged: names a vmseal path \(hook state directory" \
	hook web1 prepare begin chr-state.xml
sed "s|<devices>|<devices><serial type='file'><source path='$T/trust.state'/></serial>|" \
	web1-prepare-begin.xml > chr-trust.xml
expect_deny "file chardev onto the trust state denied (domallow: no vmseal path)" \
	"^vmseal: denied: domain web1: <devices><serial><source> $T/trust.state: names a vmseal path \(trust state" \
	hook web1 prepare begin chr-trust.xml
sed "s|<devices>|<devices><serial type='file'><source path='$T/hook.conf'/></serial>|" \
	web1-prepare-begin.xml > chr-conf.xml
expect_deny "file chardev onto hook.conf denied (domallow: no vmseal path)" \
	"names a vmseal path \(hook configuration $T/hook.conf" hook web1 prepare begin chr-conf.xml

# --- fail closed
expect_err "policy missing refused" "^vmseal: denied: domain web1: .*nonexistent.json.*" \
	env HOOK_POLICY=$T/nonexistent.json vmseal-hook web1 prepare begin - < web1-prepare-begin.xml
echo '{"version":1,' > broken.json
expect_err "unparsable policy refused" "^vmseal: denied: domain web1: " \
	env HOOK_POLICY=$T/broken.json vmseal-hook web1 prepare begin - < web1-prepare-begin.xml
expect_err "bad XML refused" "^vmseal: denied: domain web1: domain XML: not well-formed" \
	hook web1 prepare begin <(head -c 300 web1-prepare-begin.xml)
expect_err "empty stdin refused" "domain XML: not well-formed" hook web1 start begin /dev/null
expect_err "XML of another domain refused" "names domain \"web1\", libvirt passed \"web2\"" \
	hook web2 prepare begin web1-prepare-begin.xml
printf 'policy = %s\nfrobnicate = 1\n' "$T/pol.json" > bad.conf
expect_err "unknown config key refused" "bad.conf: line 2: unknown key \"frobnicate\"" \
	env HOOK_CONF=$T/bad.conf vmseal-hook --audit-log "$T/audit.jsonl" web1 prepare begin - < web1-prepare-begin.xml
tail -1 audit.jsonl | grep -q 'unknown key' && pass "a refused config file is audited where --audit-log says" || fail "bad config not audited: $(tail -1 audit.jsonl)"
printf 'policy = relative.json\n' > bad2.conf
expect_err "relative policy path in config refused" "line 1: policy must be an absolute path" \
	env HOOK_CONF=$T/bad2.conf vmseal-hook --audit-log "$T/audit.jsonl" web1 prepare begin - < web1-prepare-begin.xml
printf 'policy = %s\naudit_log = /proc/nonexistent/audit.jsonl\ncache_dir = %s/cache\n' "$T/pol.json" "$T" > noaudit.conf
expect_err "an allow that cannot be audited is refused" "cannot write the audit log|audit log failed|/proc/nonexistent" \
	env HOOK_CONF=$T/noaudit.conf vmseal-hook web1 prepare begin - < web1-prepare-begin.xml
expect_rc "usage error without arguments" 2 vmseal-hook
expect_rc "--help" 0 vmseal-hook --help
grep -q "Exit status" out && pass "--help documents exit status" || fail "--help text"
expect_rc "--version" 0 vmseal-hook --version
grep -qx "vmseal-hook $VERSION" out && pass "--version prints vmseal-hook $VERSION" || fail "version: $(cat out)"
expect_rc "--policy option overrides the config" 0 \
	vmseal-hook --policy "$T/pol.json" --no-cache web1 prepare begin - < web1-prepare-begin.xml

# --- audit-only mode
mv data.raw.intoto.json data.att
n=$(events would-deny)
expect_rc "enforce false: unsigned disk starts" 0 \
	env HOOK_POLICY=$T/pol_audit.json vmseal-hook web1 prepare begin - < web1-prepare-begin.xml
grep -q "^vmseal: would deny (enforce is false): domain web1 disk vdb $T/data.raw: no attestation" err \
	&& pass "would-deny on stderr" || fail "stderr: $(cat err)"
[ "$(events would-deny)" = $((n + 1)) ] && pass "audit has a would-deny" || fail "would-deny events: $(events would-deny)"
expect_err "enforce false: errors still refuse" "cannot open" \
	env HOOK_POLICY=$T/pol_audit.json vmseal-hook web1 prepare begin - < missing.xml
mv data.att data.raw.intoto.json

# --- the ownership rule: between the decision and QEMU's open, only root (or QEMU's user) can
# swap or rewrite a verified file (lib/filetrust.c)
if [ "$(id -u)" = 0 ]; then
	# onedisk PATH: the domain with one more readonly raw disk, vdz, at PATH
	onedisk() { sed "s|<devices>|<devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$1'/><target dev='vdz'/><readonly/></disk>|" web1-prepare-begin.xml; }
	put() { mkdir -p -m 0755 "$(dirname "$1")"; cp data.raw "$1"; cp data.raw.intoto.json "$1.intoto.json"; chmod 0644 "$1"; }
	put "$T/own/d.raw"; onedisk "$T/own/d.raw" > own.xml
	expect_rc "root-owned 0644 signed disk in root-owned directories: allowed" 0 hook web1 prepare begin own.xml
	chown 65534 own/d.raw
	expect_deny "verified file owned by another user denied, naming owner and mode" \
		"disk vdz $T/own/d.raw: owned by uid 65534 with mode 0644: a verified file must be owned by root and not writable by group or other" \
		hook web1 prepare begin own.xml
	printf 'policy = %s\naudit_log = %s/audit.jsonl\ncache_dir = %s/cache\nqemu_user = 65534\n' "$T/pol.json" "$T" "$T" > qemu.conf
	expect_rc "owned by qemu_user (libvirt's dynamic_ownership chowned it at start): allowed" 0 \
		env HOOK_CONF=$T/qemu.conf vmseal-hook web1 start begin - < own.xml
	chown 0 own/d.raw; chmod 0664 own/d.raw
	expect_deny "group-writable verified file denied" "own/d.raw: owned by uid 0 with mode 0664" hook web1 prepare begin own.xml
	chmod 0644 own/d.raw; chown 65534 own
	expect_deny "directory owned by another user denied" \
		"directory $T/own is owned by uid 65534 with mode 0755: the directories of a verified file must be root's" \
		hook web1 prepare begin own.xml
	chown 0 own; chmod 0777 own
	expect_deny "world-writable directory (not sticky) denied" "directory $T/own is owned by uid 0 with mode 0777" \
		hook web1 prepare begin own.xml
	chmod 1777 own
	expect_rc "sticky world-writable directory, root's entry in it: allowed" 0 hook web1 prepare begin own.xml
	ln -s d.raw own/link && chown -h 65534 own/link
	cp own/d.raw.intoto.json own/link.intoto.json; onedisk "$T/own/link" > link.xml
	expect_deny "another user's symlink in a sticky directory denied" \
		"symbolic link $T/own/link is owned by uid 65534 in directory $T/own, which others may write" \
		hook web1 prepare begin link.xml
	chmod 0755 own; mkdir -p user && chown 65534 user && ln -sf "$T/own/d.raw" user/d.raw
	cp own/d.raw.intoto.json user/d.raw.intoto.json; onedisk "$T/user/d.raw" > userlink.xml
	expect_deny "symlink in another user's directory to a root-owned file denied (the user could retarget it)" \
		"directory $T/user is owned by uid 65534" hook web1 prepare begin userlink.xml
	# A writable descriptor opened before the check rewrites what was hashed, without a ctime change.
	expect_rc "cache primed for d.raw" 0 hook web1 start begin own.xml
	"$PY" -c "
import mmap, os, sys, time
fd = os.open('$T/own/d.raw', os.O_RDWR); m = mmap.mmap(fd, 4096)
open('$T/mapped', 'w').close(); time.sleep(20)" &
	mapper=$!
	cleanup_hooks+=("kill $mapper 2>/dev/null")
	for _ in $(seq 50); do [ -e mapped ] && break; sleep 0.1; done
	expect_deny "verified file held open for writing (shared writable mapping) denied, even with a cached allow" \
		"own/d.raw: is open for writing by another process" hook web1 start begin own.xml
	kill $mapper; wait $mapper 2>/dev/null
	expect_rc "allowed again once the writer is gone" 0 hook web1 start begin own.xml
else
	skip "ownership rule tests need root (chown)"
fi

# --- allow_overlay exempts only overlays the hook saw born empty (lib/overlayreg.c)
ov_xml() { sed "s|$T/top.qcow2|$T/$1|g" web1-start-begin.xml; }
head -c 3000000 /dev/urandom > other.raw
qemu-img convert -q -f raw -O qcow2 -B "$T/base.qcow2" -F qcow2 other.raw evilov.qcow2
ov_xml evilov.qcow2 > evilov.xml
expect_deny "overlay holding a whole other disk (qemu-img convert -B) denied: never seen born empty" \
	"disk vda $T/evilov.qcow2: writable overlay holds data the hook never saw it born empty .*create it afresh: qemu-img create -f qcow2 -F qcow2 -b $T/base.qcow2 $T/evilov.qcow2" \
	hook web1 start begin evilov.xml
qemu-img create -q -f qcow2 -F qcow2 -b "$T/base.qcow2" born.qcow2
ov_xml born.qcow2 > born.xml
expect_rc "fresh overlay: allowed at its first start and registered" 0 hook web1 start begin born.xml
ls hook-state/overlays/ | grep -q "^[0-9]*-$(stat -c %i born.qcow2)$" && pass "registry names the overlay's device and inode" \
	|| fail "registry: $(ls hook-state/overlays)"
# its guest writes while it runs; libvirt's release end, once QEMU is gone, records what the run
# left and retires start begin's record
qemu-io -f qcow2 -c 'write -P 0x5a 0 1M' born.qcow2 >/dev/null || fail "qemu-io write"
started_rec=hook-state/started/$(printf '%s' web1 | sha256sum | cut -d' ' -f1)
expect_rc "release end: what the run left in its overlay recorded" 0 hook web1 release end born.xml
[ ! -e "$started_rec" ] && pass "release end removes start begin's record" || fail "record still there after release end"
expect_rc "the guest's own writes later: the registered overlay still starts" 0 hook web1 start begin born.xml
expect_deny "the registered overlay under another domain denied" "born.qcow2: writable overlay holds data" \
	hook web2 start begin <(sed "s|<name>web1</name>|<name>web2</name>|" born.xml)
cp born.qcow2 born-copy.qcow2
ov_xml born-copy.qcow2 > copy.xml
expect_deny "a copy of a registered overlay (another inode) denied" "born-copy.qcow2: writable overlay holds data" \
	hook web1 start begin copy.xml
reg=hook-state/overlays/$(ls hook-state/overlays/ | grep -- "-$(stat -c %i born.qcow2)$")
cp "$reg" reg.keep
sed -i 's/^mac .*/mac '"$(printf '%064d' 0)"'/' "$reg"
expect_deny "a registry record without a valid MAC registers nothing" "born.qcow2: writable overlay holds data" \
	hook web1 start begin born.xml
cp reg.keep "$reg"
expect_rc "record restored: allowed" 0 hook web1 start begin born.xml
expect_rc "release end" 0 hook web1 release end born.xml
# A registered overlay rewritten while its domain is off: a hit of the registry exempted it
# whatever it then held (the whole other disk that qemu-img convert -B could not plant).
qemu-img convert -q -n -f raw -O qcow2 other.raw born.qcow2 || fail "qemu-img convert -n"
expect_deny "a registered overlay rewritten while its domain was off (qemu-img convert -n into it): denied" \
	"disk vda $T/born.qcow2: writable overlay changed since its domain last stopped .*create it afresh: qemu-img create -f qcow2 -F qcow2 -b $T/base.qcow2 $T/born.qcow2" \
	hook web1 start begin born.xml
expect_rc "release end of the refused start" 0 hook web1 release end born.xml
expect_deny "still denied after the refused start's release end (no run was allowed)" \
	"born.qcow2: writable overlay changed since its domain last stopped" hook web1 start begin born.xml
expect_deny "prepare begin denies it too" "born.qcow2: writable overlay changed since its domain last stopped" \
	hook web1 prepare begin born.xml
# A run that never saw its release end (the host went down under it): what its guest wrote is
# taken as the guest's at the next start (the record of that start is still there).
qemu-img create -q -f qcow2 -F qcow2 -b "$T/base.qcow2" crash.qcow2
ov_xml crash.qcow2 > crash.xml
expect_rc "fresh overlay registered" 0 hook web1 start begin crash.xml
qemu-io -f qcow2 -c 'write -P 0x5a 0 1M' crash.qcow2 >/dev/null || fail "qemu-io write"
expect_rc "after a run without release end (a crash), its guest's writes start" 0 hook web1 start begin crash.xml
expect_rc "release end" 0 hook web1 release end crash.xml
expect_rc "and start again" 0 hook web1 start begin crash.xml
expect_rc "release end" 0 hook web1 release end crash.xml

# --- cache hygiene
rm -rf cache; mkdir -m 0777 cache
expect_rc "a cache directory open to others is ignored" 0 hook web1 prepare begin web1-prepare-begin.xml
[ -z "$(ls cache)" ] && pass "nothing written to an untrusted cache" || fail "cache written: $(ls cache)"
rm -rf cache
printf 'policy = %s\naudit_log = %s/audit.jsonl\ncache_dir = %s/cache\nno_cache = true\n' "$T/pol.json" "$T" "$T" > nocache.conf
expect_rc "no_cache = true" 0 env HOOK_CONF=$T/nocache.conf vmseal-hook web1 prepare begin - < web1-prepare-begin.xml
[ ! -e cache ] && pass "no_cache writes no cache" || fail "cache exists with no_cache"
expect_rc "cache rebuilt" 0 hook web1 prepare begin web1-prepare-begin.xml
for f in cache/*; do
	printf 'vmseal-evalcache 2\ntemplate debian-12\nversion 3\nvalid_until 0\nmac %064d\n' 0 > "$f"
done
expect_rc "rewritten cache entries (no valid MAC) are misses (still allowed by evaluation)" 0 hook web1 prepare begin web1-prepare-begin.xml
tail -3 audit.jsonl | grep -q "(cached)" && fail "rewritten entry was used" || pass "rewritten entry not used"
[ "$(stat -c %a hook-state/host.key)" = 600 ] && [ "$(stat -c %s hook-state/host.key)" = 32 ] \
	&& pass "host secret made at first use: 32 bytes, 0600, beside the test's policy" || fail "host secret: $(ls -l hook-state)"

# A forged allow: the serial-file trick (libvirtd creates a <serial type='file'> as root 0600
# and the guest prints into it) planted an entry of the right format under the key of an image
# whose attestation is another image's. Without the host secret's MAC it is a miss.
cp data.raw forged.raw && flip_byte forged.raw 100
cp data.raw.intoto.json forged.raw.intoto.json
onedisk_forged() { sed "s|<devices>|<devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$T/forged.raw'/><target dev='vdz'/><readonly/></disk>|" web1-prepare-begin.xml; }
onedisk_forged > forged.xml
key=$("$PY" -c "
import hashlib, os
i = os.stat('$T/forged.raw'); a = os.stat('$T/forged.raw.intoto.json')
pol = hashlib.sha256(open('$T/pol.json', 'rb').read()).hexdigest()
f = lambda s: '%d %d %d %d %d' % (s.st_dev, s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns)
print(hashlib.sha256(('v2 image %s att %s policy %s' % (f(i), f(a), pol)).encode()).hexdigest())")
for fmt in 'vmseal-evalcache 1\ntemplate debian-data\nversion 3\nvalid_until 0\n' \
	   'vmseal-evalcache 2\ntemplate debian-data\nversion 3\nvalid_until 0\nmac %064d\n'; do
	(umask 077; printf "$fmt" 0 > "cache/$key")
	expect_deny "forged cache entry (root-owned 0600, right format, no valid MAC) allows nothing: $(head -1 "cache/$key")" \
		"disk vdz $T/forged.raw: digest mismatch" hook web1 prepare begin forged.xml
done

# loopfs_backing_check WHAT IMG XML FILE: FILE (disk vdz of XML) lies on a file system mounted
# from IMG through a loop device: denied while others may write IMG (they would rewrite its
# blocks under the file's unchanged inode, and so under the allow-cache's key), allowed once
# IMG is root's again
loopfs_backing_check() {
	chmod 0666 "$2"
	expect_deny "$1: a file whose file system's loop device has a backing file others may write: denied" \
		"disk vdz $4: its file system's device: loop device loop" hook web1 prepare begin "$3"
	chmod 0644 "$2"
	expect_rc "$1: the backing file root's again: allowed" 0 hook web1 prepare begin "$3"
}

# A file system with whole-second time stamps (ext4 with 128-byte inodes, like ext3): a write in
# the second of the image's last change keeps its ctime, so the allow-cache's key. An allow
# hashed in that second must not be cached, or the rewritten bytes would start from it.
coarse_fs() {
	[ "$(id -u)" = 0 ] && command -v mkfs.ext4 >/dev/null && truncate -s 32M coarse.img &&
		mkfs.ext4 -q -F -I 128 coarse.img >/dev/null 2>&1 && mkdir -p -m 0755 coarse &&
		mount -o loop coarse.img coarse 2>/dev/null
}
if coarse_fs; then
	cleanup_hooks=("umount $T/coarse 2>/dev/null" "${cleanup_hooks[@]}")
	cp data.raw coarse/d.raw && cp data.raw.intoto.json coarse/d.raw.intoto.json && cp data.raw coarse/d.orig
	chmod 0644 coarse/d.raw coarse/d.raw.intoto.json
	sed "s|<devices>|<devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$T/coarse/d.raw'/><target dev='vdz'/><readonly/></disk>|" \
		web1-prepare-begin.xml > coarse.xml
	same=
	for _ in 1 2 3 4 5; do
		"$PY" -c 'import time; time.sleep(1.02 - time.time() % 1)' # early in a second
		cp coarse/d.orig coarse/d.raw; c0=$(stat -c %Y.%Z coarse/d.raw) # written: mtime and ctime
		expect_rc "whole-second time stamps: the image allowed in the second it changed" 0 hook web1 prepare begin coarse.xml
		flip_byte coarse/d.raw 4096
		[ "$(stat -c %Y.%Z coarse/d.raw)" = "$c0" ] && { same=1; break; } # else the second ended between: again
	done
	if [ -n "$same" ]; then
		expect_deny "rewritten in the same second (mtime and ctime unchanged): denied, no allow was cached for that second" \
			"disk vdz $T/coarse/d.raw: digest mismatch" hook web1 prepare begin coarse.xml
	else
		fail "whole-second time stamps: no check and rewrite fell within one second in 5 tries"
	fi
	cp coarse/d.orig coarse/d.raw
	"$PY" -c 'import os, time; c = os.stat("coarse/d.raw").st_ctime; time.sleep(max(0, c + 2.1 - time.time()))'
	expect_rc "two seconds later: allowed and cached" 0 hook web1 prepare begin coarse.xml
	expect_rc "allowed again" 0 hook web1 prepare begin coarse.xml
	tail -4 audit.jsonl | grep -q 'd.raw: template \\"debian-data\\" version 3 (cached)' \
		&& pass "a settled image is cached on whole-second time stamps too" || fail "not cached: $(tail -1 audit.jsonl)"
	loopfs_backing_check "ext4, cached" coarse.img coarse.xml "$T/coarse/d.raw"
	umount coarse
else
	skip "whole-second time stamps: needs root, mkfs.ext4 and a loop mount"
fi
# btrfs (its files' st_dev is a number of its own): the devices it lists in sysfs decide, here
# a loop device whose backing file is made writable by others, then root's again
if [ "$(id -u)" = 0 ] && command -v mkfs.btrfs >/dev/null && truncate -s 128M btrfs.img &&
	mkfs.btrfs -q btrfs.img >/dev/null 2>&1 && mkdir -p -m 0755 bfs && mount -o loop btrfs.img bfs 2>/dev/null; then
	cleanup_hooks=("umount $T/bfs 2>/dev/null" "${cleanup_hooks[@]}")
	chmod 0755 bfs && cp data.raw bfs/d.raw && cp data.raw.intoto.json bfs/d.raw.intoto.json
	chmod 0644 bfs/d.raw bfs/d.raw.intoto.json
	sed "s|<devices>|<devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$T/bfs/d.raw'/><target dev='vdz'/><readonly/></disk>|" \
		web1-prepare-begin.xml > btrfs.xml
	expect_rc "btrfs on a loop device over root's file: allowed" 0 hook web1 prepare begin btrfs.xml
	loopfs_backing_check btrfs btrfs.img btrfs.xml "$T/bfs/d.raw"
	umount bfs
else
	skip "btrfs devices: needs root, mkfs.btrfs (btrfs-progs) and a loop mount"
fi
# overlayfs has no device of its own, and its layers may lie anywhere: refused, not assumed local
if [ "$(id -u)" = 0 ] && mkdir -p -m 0755 ovl-low ovl-up ovl-work ovl &&
	mount -t overlay overlay -o lowerdir="$T/ovl-low",upperdir="$T/ovl-up",workdir="$T/ovl-work" ovl 2>/dev/null; then
	cleanup_hooks=("umount $T/ovl 2>/dev/null" "${cleanup_hooks[@]}")
	chmod 0755 ovl && cp data.raw ovl/d.raw && cp data.raw.intoto.json ovl/d.raw.intoto.json
	chmod 0644 ovl/d.raw ovl/d.raw.intoto.json
	sed "s|<devices>|<devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$T/ovl/d.raw'/><target dev='vdz'/><readonly/></disk>|" \
		web1-prepare-begin.xml > ovl.xml
	expect_deny "a file on overlayfs (no device; its layers not judged): denied" \
		"disk vdz $T/ovl/d.raw: its file system's device: none: overlayfs has no device of its own" hook web1 prepare begin ovl.xml
	umount ovl
else
	skip "overlayfs: needs root and an overlay mount"
fi
expect_rc "audit chain still verifies" 0 vmseal-audit verify audit.jsonl

# No core dump of a process that holds the host secret: one killed by SIGQUIT while it waits
# for the domain XML leaves none (the first stage, which holds nothing, is what waits when
# served: in-process only). A shell killed the same way shows that this machine writes cores.
if [ "${HOOK_SERVED:-0}" != 1 ] && [ "$(cat /proc/sys/kernel/core_pattern)" = core ]; then
	mkdir -p cores/sh cores/hook
	(cd cores/sh && ulimit -c unlimited && { sleep 3 | sh -c 'read x'; } & sleep 0.3; pkill -QUIT -f "^sh -c read x$"; wait) 2>/dev/null
	if ls cores/sh | grep -q .; then
		(cd cores/hook && ulimit -c unlimited && { sleep 3 | "$BIN/vmseal-hook" --config "$T/hook.conf" web1 prepare begin - >/dev/null 2>&1; } &
		 sleep 0.5; pkill -QUIT -f "vmseal-hook --config $T/hook.conf web1 prepare begin -$"; wait) 2>/dev/null
		! ls cores/hook | grep -q . && pass "the hook killed by SIGQUIT leaves no core dump (it holds the host secret)" \
			|| fail "the hook dumped core: $(ls cores/hook)"
	else
		skip "no core dump of a shell here either: the hook's cannot be checked"
	fi
fi
