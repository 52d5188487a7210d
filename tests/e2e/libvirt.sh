#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End to end with a real libvirtd and QEMU: the hook installed as /etc/libvirt/hooks/qemu.d/vmseal
# refuses to start domains whose disks are unsigned or altered, and virsh shows our reason.
# Needs root. Everything it changes under /etc is saved first and restored at exit; the
# libvirtd it starts and the QEMU processes of its domains are stopped by their pids
# (tests/e2e/libvirtd.bash).
source "$(dirname "$0")/../sh/lib.sh"
source "$(dirname "$0")/libvirtd.bash"

E2E_NAME="libvirt e2e"
lv_begin "" vmseal-hook
mkdir -p "$RUN/img"
chmod 0755 "$RUN/img"   # keep paths traversable for QEMU
lv_hook_default

# keys, policies, images
cd "$RUN" || exit 1
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

domxml() { # domxml NAME IMAGE [readonly]
	lv_domxml "$1" "$2${3:+:ro}"
}

if ! lv_start > "$T/start.out"; then
	fail "$E2E_NAME: $(cat "$T/start.out")"
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

# flip_template: one bit of the signed template changed (img/template.orig restores it)
flip_template() { flip_byte img/template.qcow2 $(( $(stat -c %s img/template.qcow2) - 4096 )); }

start_ok "signed template starts" "$RUN/img/template.qcow2" readonly
start_ok "writable overlay on the signed template starts" "$RUN/img/overlay.qcow2"
grep -q '"event":"hook.start".*overlay.qcow2.*"decision":"allow"' audit.jsonl \
	&& pass "audit log has the hook's start-begin allow" || fail "no hook.start allow in the audit log"

flip_template
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

# --- the same with the hook's judge server running (vmseal-hook --serve, as the package runs
# it): libvirt's calls are served by its children, virsh still shows our reason.
srvsock=$(dirname "$BIN")/run/hook.sock
mkdir -p "$(dirname "$srvsock")" && chmod 0700 "$(dirname "$srvsock")"
"$BIN/vmseal-hook" --serve --socket "$srvsock" 2> server.log &
srv=$!
cleanup_hooks+=("kill $srv 2>/dev/null")
for _ in $(seq 100); do grep -q listening server.log && break; sleep 0.05; done
ev0=$(wc -l < audit.jsonl)
start_ok "served: the overlay on the signed template starts (prepare, start, started begin served)" "$RUN/img/overlay.qcow2"
grep -c '"event":"hook.started"' audit.jsonl >/dev/null && [ "$(wc -l < audit.jsonl)" -ge $((ev0 + 3)) ] \
	&& pass "served: prepare, start and started begin audited" || fail "served: audit grew by $(( $(wc -l < audit.jsonl) - ev0 ))"
flip_template
start_refused "served: one byte of the template changed: refused, virsh shows our reason" \
	"vmseal: denied: domain $DOMPFX-[0-9]+ disk vda $RUN/img/overlay.qcow2: $RUN/img/template.qcow2: digest mismatch" \
	"$RUN/img/overlay.qcow2"
cp img/template.orig img/template.qcow2
# the calls are the server's: stopped, it takes none, and the start is refused (not judged here)
kill -STOP "$srv"
start_refused "served: a stopped server refuses the start (the hook does not judge it twice)" \
	"did not take the call in time" "$RUN/img/overlay.qcow2"
kill -CONT "$srv"
kill -TERM "$srv"; wait "$srv" 2>/dev/null
start_ok "server stopped: the hook judges in its own process again" "$RUN/img/overlay.qcow2"
vmseal-audit verify audit.jsonl >/dev/null 2>&1 && pass "audit chain verifies after the served calls" \
	|| fail "audit chain: $(vmseal-audit verify audit.jsonl 2>&1)"

# --- one domain's overlay over several runs: what its guest writes while it runs (here QEMU's own
# qemu-io on the disk, as a guest's writes land) starts again; the overlay rewritten while the
# domain is off (qemu-img convert -n into its inode) is refused: a registry hit exempted it.
qemu-img create -q -f qcow2 -F qcow2 -b "$RUN/img/template.qcow2" img/own.qcow2
ovdom=$DOMPFX-own
domxml "$ovdom" "$RUN/img/own.qcow2" > own.xml
if $V create own.xml >own.out 2>own.err; then
	pass "own overlay: first start (registered born empty)"
	for c in "write -P 0x5a 0 1M" flush; do
		$V qemu-monitor-command "$ovdom" --hmp "qemu-io -d /machine/peripheral/virtio-disk0/virtio-backend \"$c\"" >>own.io 2>&1
	done
	$V destroy "$ovdom" >/dev/null 2>&1
	qemu-img map --output=json img/own.qcow2 | "$PY" -c 'import json, sys
sys.exit(0 if any(e["depth"] == 0 and e["data"] for e in json.load(sys.stdin)) else 1)' \
		&& pass "own overlay: the run wrote into it" || fail "own overlay: no data written: $(cat own.io)"
	if $V create own.xml >own.out 2>own.err; then
		pass "own overlay: what the run wrote starts again (release end recorded it)"
		$V destroy "$ovdom" >/dev/null 2>&1
	else
		fail "own overlay second start: $(tr '\n' ' ' < own.err | head -c 600)"
	fi
	head -c 1048576 /dev/urandom > img/other.raw
	qemu-img convert -q -n -f raw -O qcow2 img/other.raw img/own.qcow2 || fail "qemu-img convert -n"
	if $V create own.xml >own.out 2>own.err; then
		fail "own overlay rewritten while the domain was off: the domain started"
		$V destroy "$ovdom" >/dev/null 2>&1
	elif grep -qE "vmseal: denied: domain $ovdom disk vda $RUN/img/own.qcow2: writable overlay changed since its domain last stopped" own.err; then
		pass "own overlay rewritten while the domain was off (qemu-img convert -n): refused"
		sed 's/^/    virsh: /' own.err
	else
		fail "own overlay rewritten: virsh said: $(tr '\n' ' ' < own.err | head -c 600)"
	fi
else
	fail "own overlay first start: $(tr '\n' ' ' < own.err | head -c 600)"
fi
