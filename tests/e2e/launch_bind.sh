#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The path-swap race with a real libvirtd and QEMU: an unsigned image renamed over the disk path
# after the hook's start begin, before QEMU opens it. A second hook script (qemu.d/zz-swap, run
# after qemu.d/vmseal) does the rename as root, exactly in that window, so the race is won every
# time: the ownership rule cannot stop root, and the started begin check must kill the domain.
# As another user the same swap is refused up front (ownership rule). Needs root; /etc is saved
# and restored (tests/e2e/libvirtd.bash).
source "$(dirname "$0")/../sh/lib.sh"
source "$(dirname "$0")/libvirtd.bash"

E2E_NAME="launch bind e2e"
lv_begin "" vmseal-hook
mkdir -p "$RUN/img"
chmod 0755 "$RUN/img"
lv_hook_default
# The attacker's hook: at start begin, when armed, swap the unsigned image in.
cat > /etc/libvirt/hooks/qemu.d/zz-swap <<EOF
#!/bin/sh
[ "\$2 \$3" = "start begin" ] && [ -e "$RUN/armed" ] && mv -f "$RUN/img/evil.raw" "$RUN/img/good.raw"
exit 0
EOF
chmod 0755 /etc/libvirt/hooks/qemu.d/zz-swap

cd "$RUN" || exit 1
mkp() { "$PY" "$top/tests/mkpolicy.py" "$@"; }
vmseal-key generate --out a --no-passphrase >/dev/null || fail "keygen"
vmseal-key policy-entry a.pub --owner pipeline > a.entry
mkp policy.json '[{"match":"debian-*","keys":["@a"]}]' a=a.entry
head -c 1048576 /dev/urandom > img/good.raw
head -c 1048576 /dev/urandom > img/evil.raw
chmod 0644 img/good.raw img/evil.raw
vmseal-sign --key a.key --template debian-12 --template-version 1 img/good.raw >/dev/null || fail "sign"
cp img/good.raw good.keep
chmod 0644 img/good.raw.intoto.json

domxml() { # a raw readonly disk
	lv_domxml "$1" "$2:ro" | sed "s|type='qcow2'|type='raw'|"
}
if ! lv_start > "$T/start.out"; then
	fail "$E2E_NAME: $(cat "$T/start.out")"
	exit 1
fi

domxml "$DOMPFX-1" "$RUN/img/good.raw" > dom1.xml
if $V create dom1.xml >out1 2>err1; then
	pass "signed disk starts (started begin: QEMU holds what start begin verified)"
	grep -q '"event":"hook.started".*"decision":"allow"' audit.jsonl && pass "started check audited" \
		|| fail "no hook.started allow in the audit log"
	$V destroy "$DOMPFX-1" >/dev/null 2>&1 || true
else
	fail "signed disk: $(tr '\n' ' ' < err1 | head -c 600)"
fi

touch armed
domxml "$DOMPFX-2" "$RUN/img/good.raw" > dom2.xml
if $V create dom2.xml >out2 2>err2; then
	fail "swap after start begin: the domain is running"
	$V destroy "$DOMPFX-2" >/dev/null 2>&1 || true
elif grep -qE "vmseal: denied: domain $DOMPFX-2: swap: $RUN/img/good.raw: swapped after start begin" err2; then
	pass "swap after start begin (root, in the window): the domain is killed at started begin, virsh shows why"
	sed 's/^/    virsh: /' err2
else
	fail "swap: virsh said: $(tr '\n' ' ' < err2 | head -c 600)"
fi
rm -f armed
[ ! -e "/run/libvirt/qemu/$DOMPFX-2.pid" ] && ! $V domstate "$DOMPFX-2" >/dev/null 2>&1 \
	&& pass "the swapped domain does not run" || fail "the swapped domain is still there"
grep -q "\"event\":\"hook.started\",\"object\":\"domain $DOMPFX-2\",\"decision\":\"deny\",\"reason\":\"swap: " audit.jsonl \
	&& pass "the swap is audited" || fail "no swap in the audit log: $(grep hook.started audit.jsonl | tail -1)"

# The same swap by another user: the image directory is not root's, refused before QEMU runs.
cp good.keep img/good.raw && chmod 0644 img/good.raw
chown 65534 img
domxml "$DOMPFX-3" "$RUN/img/good.raw" > dom3.xml
if $V create dom3.xml >out3 2>err3; then
	fail "image in another user's directory: the domain started"
	$V destroy "$DOMPFX-3" >/dev/null 2>&1 || true
elif grep -q "directory $RUN/img is owned by uid 65534" err3; then
	pass "image in a directory another user could rename in: refused up front (ownership rule)"
else
	fail "ownership: virsh said: $(tr '\n' ' ' < err3 | head -c 600)"
fi
chown 0 img
vmseal-audit verify audit.jsonl >/dev/null 2>&1 && pass "audit chain verifies" \
	|| fail "audit chain: $(vmseal-audit verify audit.jsonl 2>&1)"
