#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian package end to end (root only): `make deb` (once), lintian, the package's
# contents, `apt-get install ./vmseal_*.deb`, the installed tools, man pages, the hook run on a
# recorded domain XML (fail closed without a policy, allow, deny), the admin's policy never
# touched, the systemd unit checked with systemd-analyze, then `dpkg -P` leaves nothing but
# the audit log's contents (which this test then removes itself).
source "$(dirname "$0")/../sh/lib.sh"
source "$(dirname "$0")/deb.bash"
[ "$(id -u)" = 0 ] || { skip "deb: needs root (installs and purges the package)"; exit 0; }
deb_lock || { skip "deb: lock busy"; exit 0; }
why=$(deb_missing)
if [ -n "$why" ]; then skip "deb: $why"; exit 0; fi
cd "$T"

deb=$(deb_get) && [ -f "$deb" ] && pass "make deb built $(basename "$deb")" || { fail "make deb: $deb"; exit 0; }
lint=$(dirname "$deb")/lintian.log
if [ -f "$lint" ]; then
	tags=$(grep -E '^[EW]: ' "$lint" | tr '\n' ' ')
	[ -z "$tags" ] && pass "lintian: no errors or warnings ($(grep -cE '^[IPX]: ' "$lint") info/pedantic tags)" \
		|| fail "lintian: $tags"
fi

# --- contents
dpkg-deb -c "$deb" | awk '{print $6 ($7 ? " " $7 " " $8 : "")}' | sed 's|^\./|/|' >contents
n=$(grep -cE '^/usr/bin/vmseal-[a-z]+$' contents)
[ "$n" = 9 ] && pass "9 programs in /usr/bin" || fail "programs in /usr/bin: $n"
n=$(grep -cE '^/usr/share/man/man[18]/vmseal-[a-z]+\.[18]\.gz$' contents)
[ "$n" = 9 ] && pass "9 man pages" || fail "man pages: $n"
grep -qx '/etc/libvirt/hooks/qemu.d/vmseal -> /usr/bin/vmseal-hook' contents \
	&& pass "hook: /etc/libvirt/hooks/qemu.d/vmseal -> /usr/bin/vmseal-hook" || fail "hook link: $(grep hooks contents)"
grep -qx '/usr/share/doc/vmseal/examples/policy.json' contents && pass "example policy in the docs" || fail "no example policy"
grep -qx '/usr/share/bash-completion/completions/vmseal' contents && pass "bash completion" || fail "no completion"
grep -q '^/lib/systemd/system/vmseal-gateway.service$' contents && pass "systemd unit" || fail "no unit"
! grep -q '^/etc/vmseal/policy.json' contents && pass "no /etc/vmseal/policy.json in the package" || fail "ships a policy"
dpkg-deb -e "$deb" ctl
[ "$(cat ctl/conffiles)" = /etc/vmseal/gateway.conf ] && pass "one conffile: /etc/vmseal/gateway.conf" \
	|| fail "conffiles: $(cat ctl/conffiles)"

# --- what exists before, to compare after the purge
watch="/etc/vmseal /etc/libvirt/hooks/qemu.d/vmseal /var/cache/vmseal /var/log/vmseal /var/log/vmseal-gateway
/usr/share/doc/vmseal /lib/systemd/system/vmseal-gateway.service /usr/share/bash-completion/completions/vmseal"
snapshot() { for p in $watch /usr/bin/vmseal-*; do [ -e "$p" ] || [ -L "$p" ] && find "$p"; done 2>/dev/null | sort; }
# Cache and logs left by other tests' hooks (tests/e2e/libvirt.sh) go aside and come back.
mkdir saved
for d in /var/cache/vmseal /var/log/vmseal; do
	[ -e $d ] && mv $d "saved/$(basename "$(dirname $d)")"
done
had_user=0; getent passwd vmseal >/dev/null && had_user=1
cleanup_hooks+=("dpkg -P vmseal >/dev/null 2>&1; [ $had_user = 1 ] || deluser --system --quiet vmseal >/dev/null 2>&1; rm -f /etc/vmseal/policy.json; rmdir /etc/vmseal 2>/dev/null; rm -rf /var/log/vmseal /var/cache/vmseal; [ -e $T/saved/cache ] && mv $T/saved/cache /var/cache/vmseal; [ -e $T/saved/log ] && mv $T/saved/log /var/log/vmseal")
snapshot >before

# --- install
cp "$deb" .
if DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "./$(basename "$deb")" >apt.log 2>&1; then
	pass "apt-get install ./$(basename "$deb")"
else
	fail "apt-get install: $(tail -5 apt.log)"; exit 0
fi
PATH=/usr/bin:$PATH
[ "$(command -v vmseal-verify)" = /usr/bin/vmseal-verify ] && [ "$(vmseal-verify --version 2>&1)" = "vmseal-verify $VERSION" ] \
	&& pass "/usr/bin/vmseal-verify --version" || fail "vmseal-verify: $(command -v vmseal-verify) $(vmseal-verify --version 2>&1)"
for b in /usr/bin/vmseal-*; do "$b" --version >/dev/null 2>&1 || fail "$b --version"; done
hook=/etc/libvirt/hooks/qemu.d/vmseal
[ "$(stat -L -c '%a %U %G' $hook)" = "755 root root" ] && [ -x $hook ] \
	&& pass "hook is executable, 0755 root" || fail "hook: $(stat -L -c '%a %U %G' $hook)"
for d in /var/cache/vmseal /var/log/vmseal; do
	[ "$(stat -c '%a %U' $d)" = "700 root" ] && pass "$d is 0700 root" || fail "$d: $(stat -c '%a %U' $d)"
done
u=$(getent passwd vmseal)
uid=$(cut -d: -f3 <<<"$u")
[ -n "$u" ] && [ "$uid" -lt 1000 ] && [[ $u == *nologin ]] && pass "system user vmseal (uid $uid, no login)" \
	|| fail "user vmseal: $u"
[ ! -e /etc/vmseal/policy.json ] && pass "no policy installed by the package" || fail "a policy appeared"
MANPAGER=cat man vmseal-hook 2>/dev/null | grep -q 'qemu.d/vmseal' && pass "man vmseal-hook" || fail "man vmseal-hook"
bash -c 'source /usr/share/bash-completion/completions/vmseal && complete -p vmseal-key' 2>/dev/null | grep -q _vmseal \
	&& pass "installed completion registers vmseal-key" || fail "installed completion"

# --- the installed hook on a recorded domain XML
echo pw >pw
vmseal-key generate --out a --passphrase-file pw >/dev/null
vmseal-key policy-entry a.pub --owner pipeline >a.entry
"$PY" "$top/tests/mkpolicy.py" pol.json \
	'[{"match":"debian-*","keys":["@a"],"threshold":1,"min_version":1,"allow_overlay":true}]' a=a.entry
head -c 3000000 /dev/urandom >content.raw
qemu-img convert -q -f raw -O qcow2 content.raw base.qcow2
qemu-img create -q -f qcow2 -F qcow2 -b base.qcow2 top.qcow2
head -c 1048576 /dev/urandom >data.raw
vmseal-sign --passphrase-file pw --key a.key --template debian-12 --template-version 3 base.qcow2 >/dev/null
vmseal-sign --passphrase-file pw --key a.key --template debian-data --template-version 3 data.raw >/dev/null
sed "s|@DIR@|$T|g" "$top/tests/data/xml/web1-prepare-begin.xml" >web1.xml
expect_err "hook without /etc/vmseal/policy.json refuses (fail closed)" "policy" \
	env -u VMSEAL_POLICY -u VMSEAL_HOOK_CONF $hook web1 prepare begin - <web1.xml
expect_rc "hook allows web1 with signed disks" 0 env VMSEAL_POLICY=$T/pol.json $hook web1 prepare begin - <web1.xml
[ ! -s out ] && pass "hook prints nothing on stdout" || fail "hook stdout: $(head -c 200 out)"
grep -q '"event":"hook.prepare"' /var/log/vmseal/audit.jsonl 2>/dev/null \
	&& pass "hook logged to /var/log/vmseal/audit.jsonl" || fail "no audit event in /var/log/vmseal/audit.jsonl"
printf 'x' | dd of=base.qcow2 bs=1 seek=200000 conv=notrunc status=none
expect_deny "hook denies a tampered template" "disk vda .*digest mismatch" \
	env VMSEAL_POLICY=$T/pol.json $hook web1 prepare begin - <web1.xml

# --- the admin's policy is never overwritten, not even by a reinstall, nor removed by a purge
echo '{"admin":"mine"}' >/etc/vmseal/policy.json
DEBIAN_FRONTEND=noninteractive apt-get install -y --reinstall --no-install-recommends "./$(basename "$deb")" >apt2.log 2>&1 \
	|| fail "reinstall: $(tail -3 apt2.log)"
[ "$(cat /etc/vmseal/policy.json)" = '{"admin":"mine"}' ] && pass "reinstall leaves /etc/vmseal/policy.json alone" \
	|| fail "policy.json changed by reinstall"

# --- the systemd unit
unit=/lib/systemd/system/vmseal-gateway.service
if command -v systemd-analyze >/dev/null; then
	if SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$unit" >verify.log 2>&1 && ! grep -v '^$' verify.log | grep -q .; then
		pass "systemd-analyze verify: clean"
	else
		fail "systemd-analyze verify: $(head -c 600 verify.log)"
	fi
	if systemd-analyze security --offline=true "$unit" >security.log 2>&1; then
		score=$(grep -oE 'Overall exposure level for [^:]*: [0-9.]+ [A-Z]+' security.log | sed 's/.*: //')
		pass "systemd-analyze security: exposure $score"
		echo "systemd-analyze security --offline=true $unit: $score"
	else
		skip "systemd-analyze security --offline: $(tail -1 security.log)"
	fi
	# A broken unit is caught: a typo in a sandbox directive.
	sed 's/^ProtectSystem=strict/ProtectSystem=strickt/' "$unit" >bad.service
	SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$T/bad.service" >bad.log 2>&1
	grep -q 'strickt' bad.log && pass "systemd-analyze verify catches a bad directive" \
		|| fail "bad directive not reported: $(head -c 300 bad.log)"
else
	skip "systemd-analyze not installed"
fi
for d in User=vmseal SupplementaryGroups=libvirt NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
	PrivateTmp=yes CapabilityBoundingSet= MemoryDenyWriteExecute=yes SystemCallFilter=@system-service \
	'ExecReload=/bin/kill -HUP $MAINPID' EnvironmentFile=/etc/vmseal/gateway.conf; do
	grep -qxF -- "$d" "$unit" || fail "unit lacks $d"
done
pass "unit has the sandbox directives"
! systemctl is-enabled vmseal-gateway >/dev/null 2>&1 && pass "gateway unit not enabled by the install" \
	|| fail "unit enabled"

# --- purge
if dpkg -P vmseal >purge.log 2>&1; then pass "dpkg -P vmseal"; else fail "dpkg -P: $(tail -3 purge.log)"; fi
[ "$(cat /etc/vmseal/policy.json 2>/dev/null)" = '{"admin":"mine"}' ] && pass "purge leaves the admin's policy" \
	|| fail "purge removed or changed /etc/vmseal/policy.json"
rm -f /etc/vmseal/policy.json
[ -f /var/log/vmseal/audit.jsonl ] && pass "audit log kept after purge (evidence)" || fail "audit log removed"
rm -rf /var/log/vmseal
rmdir /etc/vmseal 2>/dev/null
snapshot >after
if diff before after >left; then pass "nothing left after dpkg -P (but the audit log, removed by this test)"
else fail "after purge, differs from before: $(grep '^[<>]' left | head -5 | tr '\n' ' ')"; fi
[ ! -e $hook ] && [ ! -L $hook ] && pass "hook gone" || fail "hook still installed"
! dpkg-query -W vmseal >/dev/null 2>&1 && pass "package unknown to dpkg" || fail "dpkg still knows vmseal"
