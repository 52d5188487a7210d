#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# README "Install on a host", tried as a new administrator would (root only): every ```sh block
# of that section runs, in order, in one shell with `set -e`, from the top of the source tree,
# with HOME in a temp dir. The package is really installed and purged afterwards; everything
# the section wrote is removed. This machine has no systemd as init and no libvirtd, so
# `systemctl` is a shim: restart libvirtd does nothing; enable --now / status / reload
# vmseal-gateway run the installed unit's ExecStart with its EnvironmentFile, as its User
# (setpriv), with LIBVIRT_URI=test:///default in place of the absent qemu:///system; SIGHUP
# for reload. Each block prints PASS or FAIL; then the results are checked.
source "$(dirname "$0")/../sh/lib.sh"
source "$(dirname "$0")/deb.bash"
[ "$(id -u)" = 0 ] || { skip "README install: needs root (installs the package)"; exit 0; }
for b in qemu-img openssl setpriv; do
	command -v $b >/dev/null || { skip "README install: $b not installed"; exit 0; }
done
deb_lock || { skip "README install: lock busy"; exit 0; }
why=$(deb_missing)
[ -z "$why" ] || { skip "README install: $why"; exit 0; }
for f in /var/lib/libvirt/images/debian-12.qcow2 /var/lib/libvirt/images/web1.qcow2; do
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
# /var/lib/vmseal too: the trust state and the audit head that installs and the hook write
for d in /var/cache/vmseal /var/log/vmseal /var/lib/vmseal; do [ -e $d ] && mv $d "saved/$(basename "$(dirname $d)")"; done
had_user=0; getent passwd vmseal >/dev/null && had_user=1
had_images=0; [ -d /var/lib/libvirt/images ] && had_images=1
had_etc=0; [ -d /etc/vmseal ] && had_etc=1
cleanup_hooks+=("[ -f $T/gw.pid ] && kill \$(cat $T/gw.pid) 2>/dev/null; sleep 0.2
dpkg -P vmseal >/dev/null 2>&1; [ $had_user = 1 ] || deluser --system --quiet vmseal >/dev/null 2>&1
rm -rf /etc/vmseal /var/log/vmseal /var/log/vmseal-gateway /var/cache/vmseal
rm -rf /var/lib/vmseal
rm -f /var/lib/libvirt/images/debian-12.qcow2 /var/lib/libvirt/images/debian-12.qcow2.intoto.json /var/lib/libvirt/images/web1.qcow2
[ $had_images = 1 ] || rmdir /var/lib/libvirt/images 2>/dev/null; [ $had_etc = 0 ] || mkdir -p /etc/vmseal
[ -e $T/saved/cache ] && mv $T/saved/cache /var/cache/vmseal; [ -e $T/saved/log ] && mv $T/saved/log /var/log/vmseal
[ -e $T/saved/lib ] && mv $T/saved/lib /var/lib/vmseal")

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
		(
			# EnvironmentFile= syntax: NAME=value, the value is the rest of the line.
			while IFS= read -r line; do
				case "\$line" in ""|"#"*) continue ;; esac
				export "\${line%%=*}=\${line#*=}"
			done </etc/vmseal/gateway.conf
			LIBVIRT_URI=test:///default
			cmd=\$(sed -n 's/^ExecStart=//p' \$unit | sed 's/\\\${\\([A-Z_]*\\)}/"\\\${\\1}"/g')
			eval "args=(\$cmd)"
			user=\$(sed -n 's/^User=//p' \$unit)
			exec setpriv --reuid="\$user" --regid="\$user" --clear-groups --no-new-privs \\
				"\${args[@]}" >/dev/null 2>$T/gw.log
		) &
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
[ "$(grep -c '^allowed: /var/lib/libvirt/images/debian-12.qcow2: template debian-12 version 1' run.out)" = 2 ] \
	&& pass "steps 3 and 7: the template is allowed by the plain and the signed policy" \
	|| fail "vmseal-verify lines: $(grep allowed run.out)"
grep -qx 'web1 may start' run.out && pass "step 4: the hook allows web1" || fail "hook did not allow web1"
grep -q '"event":"hook.prepare"' /var/log/vmseal/audit.jsonl 2>/dev/null \
	&& pass "step 4: the hook's decision is in the audit log" || fail "no hook event in /var/log/vmseal/audit.jsonl"
grep -q 'active (running)' run.out && pass "step 5: the gateway runs" || fail "gateway not running"
gwuser=$(ps -o user= -p "$(cat gw.pid 2>/dev/null)" 2>/dev/null)
[ "$gwuser" = vmseal ] && pass "step 5: the gateway runs as user vmseal" || fail "gateway user: $gwuser"
grep -q '"domains":\[' run.out && pass "step 6: signed GET /v1/domains answered (response signature verified)" \
	|| fail "no domain list in the output"
grep -q '"file":"debian-12.qcow2","template":"debian-12","version":1,"decision":"allow"' run.out \
	&& pass "step 6: the gateway lists the template as allowed" || fail "templates: $(grep templates run.out | head -c 300)"
grep -qE '^ok [0-9]+ entries' run.out && pass "step 6: the gateway's audit chain verifies" || fail "audit verify"
grep -q '^installed policy-v2.bundle as /etc/vmseal/policy.json: policy version 2 (was 1)' run.out \
	&& pass "step 7: the signed bundle replaced the plain policy" || fail "bundle install: $(grep installed run.out)"
grep -q 'policy reloaded' gw.log 2>/dev/null && pass "step 7: the gateway reloaded the signed policy" || fail "no reload in gw.log"

# The section would fail if the package were broken: after it, a tampered template is refused.
if [ $rc = 0 ]; then
	printf 'x' | dd of=/var/lib/libvirt/images/debian-12.qcow2 bs=1 seek=100000 conv=notrunc status=none
	/etc/libvirt/hooks/qemu.d/vmseal web1 prepare begin - <home/vmseal-setup/web1.xml >/dev/null 2>hook.err
	hrc=$?
	[ $hrc = 1 ] && grep -q 'digest mismatch' hook.err && pass "after the README, a tampered template is refused" \
		|| fail "tampered template (exit $hrc): $(cat hook.err)"
fi
