#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# README "Install on a host", tried as a new administrator would (root only): every ```sh block
# of that section runs, in order, in one shell with `set -e`, from the top of the source tree,
# with HOME in a temp dir. The package is really installed and purged afterwards; everything
# the section wrote is removed. This machine has no systemd as init and no libvirtd, so
# `systemctl` is a shim: restart libvirtd does nothing; enable --now / status / reload
# vmseal-gateway run the installed unit's ExecStart with the command README.Debian gives for
# hosts without systemd (setpriv as user vmseal), with LIBVIRT_URI=test:///default (a drop-in in
# /etc/vmseal/gateway.conf.d) in place of the absent qemu:///system; SIGHUP for reload.
# libvirt's /var/lib/libvirt/images is made with libvirt's own mode 0711 when absent, so the
# gateway lists templates with the distribution's modes. Each block prints PASS or FAIL; then
# the results are checked.
source "$(dirname "$0")/../sh/lib.sh"
source "$(dirname "$0")/deb.bash"
[ "$(id -u)" = 0 ] || { skip "README install: needs root (installs the package)"; exit 0; }
for b in qemu-img openssl setpriv; do
	command -v $b >/dev/null || { skip "README install: $b not installed"; exit 0; }
done
deb_lock || { skip "README install: lock busy"; exit 0; }
why=$(deb_missing)
[ -z "$why" ] || { skip "README install: $why"; exit 0; }
for f in /var/lib/vmseal/templates/debian-12.qcow2 /var/lib/libvirt/images/web1.qcow2; do
	[ -e $f ] && { skip "README install: $f exists; not touching it"; exit 0; }
done
[ -n "$(ls -A /etc/vmseal 2>/dev/null)" ] && { skip "README install: /etc/vmseal is not empty; not touching it"; exit 0; }

# --- the section's blocks
cd "$T"
awk '/^## Install on a host/{on=1; next} /^## /{on=0} on' "$top/README.md" >section.md
nblocks=$(grep -c '^```sh$' section.md)
[ "$nblocks" -ge 6 ] && pass "README section has $nblocks sh blocks" || { fail "README: $nblocks sh blocks"; exit 0; }

# --- what the section touches, put back afterwards
mkdir saved
# (the audit logs go with the hook's head and the trust state in /var/lib/vmseal)
saved_dirs="/var/cache/vmseal /var/log/vmseal /var/log/vmseal-gateway /var/lib/vmseal"
for d in $saved_dirs; do [ -e $d ] && mv $d "saved/${d//\//_}"; done
had_user=0; getent passwd vmseal >/dev/null && had_user=1
had_images=0; [ -d /var/lib/libvirt/images ] && had_images=1
had_lib=0; [ -d /var/lib/libvirt ] && had_lib=1
had_etc=0; [ -d /etc/vmseal ] && had_etc=1
had_hooks=""; for d in /etc/libvirt/hooks /etc/libvirt/hooks/qemu.d; do [ -d $d ] && had_hooks+=" $d"; done
[ $had_images = 1 ] || install -d -m 0711 /var/lib/libvirt/images   # as libvirt-daemon-system makes it
cleanup_hooks+=("[ -f $T/gw.pid ] && kill \$(cat $T/gw.pid) 2>/dev/null; sleep 0.2
dpkg -P vmseal >/dev/null 2>&1; [ $had_user = 1 ] || deluser --system --quiet vmseal >/dev/null 2>&1
rm -rf /etc/vmseal /var/log/vmseal /var/log/vmseal-gateway /var/cache/vmseal
rm -f /var/lib/libvirt/images/web1.qcow2; rm -rf /var/lib/vmseal
[ $had_images = 1 ] || rmdir /var/lib/libvirt/images 2>/dev/null; [ $had_lib = 1 ] || rmdir /var/lib/libvirt 2>/dev/null
[ $had_etc = 0 ] || mkdir -p /etc/vmseal; for d in $had_hooks; do mkdir -p \$d; done
for d in $saved_dirs; do [ -e $T/saved/\${d//\\//_} ] && mv $T/saved/\${d//\\//_} \$d; done")

cat >run.sh <<EOF
set -euo pipefail
export HOME=$T/home PATH=/usr/sbin:/usr/bin:/sbin:/bin
mkdir -p "\$HOME"
systemctl() {
	local unit=/lib/systemd/system/vmseal-gateway.service
	case "\$*" in
	"restart libvirtd") echo "(sandbox: no libvirtd to restart)" ;;
	"enable --now vmseal-gateway")
		install -d -m 0700 -o vmseal -g vmseal /var/log/vmseal-gateway  # LogsDirectory=
		echo 'LIBVIRT_URI=test:///default' >/etc/vmseal/gateway.conf.d/zz-sandbox.conf
		chmod 0644 /etc/vmseal/gateway.conf.d/zz-sandbox.conf
		user=\$(sed -n 's/^User=//p' \$unit)
		# README.Debian's command for hosts without systemd, with the unit's ExecStart
		setpriv --reuid="\$user" --regid="\$user" --init-groups --no-new-privs --inh-caps=-all \\
			\$(sed -n 's/^ExecStart=//p' \$unit) >/dev/null 2>$T/gw.log &
		echo \$! >$T/gw.pid
		for _ in \$(seq 300); do grep -q 'listening on' $T/gw.log 2>/dev/null && return 0; sleep 0.05; done
		echo "gateway did not start: \$(cat $T/gw.log)" >&2; return 1 ;;
	"status vmseal-gateway --no-pager")
		kill -0 \$(cat $T/gw.pid) && echo "vmseal-gateway.service: active (running), pid \$(cat $T/gw.pid)" ;;
	"reload vmseal-gateway")
		local n
		n=\$(grep -c 'policy reloaded' $T/gw.log || true)
		kill -HUP \$(cat $T/gw.pid)   # ExecReload=/bin/kill -HUP \\\$MAINPID
		for _ in \$(seq 100); do [ "\$(grep -c 'policy reloaded' $T/gw.log)" -gt "\$n" ] && return 0; sleep 0.05; done
		echo "reload failed: \$(tail -2 $T/gw.log)" >&2; return 1 ;;
	*) echo "systemctl shim: unexpected: \$*" >&2; return 1 ;;
	esac
}
cd "$top"
EOF
awk '
	/^```sh$/ { n++; printf "echo \"== block %d\"\n", n; inb=1; next }
	/^```/ && inb { printf "echo \"PASS: README block %d ran\"\n", n; inb=0; next }
	inb { print }' section.md >>run.sh

bash run.sh >run.out 2>run.err
rc=$?
grep '^PASS: ' run.out
[ $rc = 0 ] && pass "every README block ran (exit 0)" ||
	fail "README stopped in $(grep '^== block' run.out | tail -1) with exit $rc: $(tail -5 run.err | tr '\n' ' ')"

# --- what the administrator should now see
grep -qx "vmseal-verify $VERSION" run.out && pass "step 1: vmseal-verify --version" || fail "no version line"
[ "$(grep -c '^allowed: /var/lib/vmseal/templates/debian-12.qcow2: template debian-12 version 1' run.out)" = 2 ] \
	&& pass "steps 3 and 7: the template is allowed by the plain and the signed policy" \
	|| fail "vmseal-verify lines: $(grep allowed run.out)"
grep -qx 'web1 may start' run.out && pass "step 4: the hook allows web1" || fail "hook did not allow web1"
grep -q '"event":"hook.prepare"' /var/log/vmseal/audit.jsonl 2>/dev/null \
	&& pass "step 4: the hook's decision is in the audit log" || fail "no hook event in /var/log/vmseal/audit.jsonl"
grep -q 'active (running)' run.out && pass "step 5: the gateway runs" || fail "gateway not running"
[ $had_images = 1 ] || { [ "$(stat -c %a /var/lib/libvirt/images)" = 711 ] && [ "$(stat -c '%a %U %G' /var/lib/vmseal/templates)" = "751 root vmseal" ] &&
	pass "modes as the distribution has them: /var/lib/libvirt/images 0711, /var/lib/vmseal/templates root:vmseal 0751" ||
	fail "modes: $(stat -c '%n %a %U %G' /var/lib/libvirt/images /var/lib/vmseal/templates)"; }
! grep -q 'EXTRA_OPTS\|sed -i' section.md && pass "the README edits no conffile" || fail "README edits the conffile"
gwuser=$(ps -o user= -p "$(cat gw.pid 2>/dev/null)" 2>/dev/null)
[ "$gwuser" = vmseal ] && pass "step 5: the gateway runs as user vmseal" || fail "gateway user: $gwuser"
grep -q '"domains":\[' run.out && pass "step 6: signed GET /v1/domains answered (response signature verified)" \
	|| fail "no domain list in the output"
grep -q '"file":"debian-12.qcow2","template":"debian-12","version":1,"decision":"allow"' run.out \
	&& pass "step 6: the gateway lists the template as allowed" || fail "templates: $(grep templates run.out | head -c 300)"
grep -qE '^ok [0-9]+ entries' run.out && pass "step 6: the gateway's audit chain verifies" || fail "audit verify"
grep -q '^indexed /etc/vmseal/policy.json as /etc/vmseal/policy.json.index' run.out \
	&& pass "step 7: the plain policy indexed" || fail "policy index: $(grep -i index run.out | head -3)"
grep -q '^installed policy-v2.bundle as /etc/vmseal/policy.json: policy version 2 (was 1)' run.out \
	&& pass "step 8: the signed bundle replaced the plain policy" || fail "bundle install: $(grep installed run.out)"
grep -q 'policy reloaded' gw.log 2>/dev/null && pass "step 8: the gateway reloaded the signed policy" || fail "no reload in gw.log"

# The section would fail if the package were broken: after it, a tampered template is refused.
if [ $rc = 0 ]; then
	printf 'x' | dd of=/var/lib/vmseal/templates/debian-12.qcow2 bs=1 seek=100000 conv=notrunc status=none
	/etc/libvirt/hooks/qemu.d/vmseal web1 prepare begin - <home/vmseal-setup/web1.xml >/dev/null 2>hook.err
	hrc=$?
	[ $hrc = 1 ] && grep -q 'digest mismatch' hook.err && pass "after the README, a tampered template is refused" \
		|| fail "tampered template (exit $hrc): $(cat hook.err)"
fi
