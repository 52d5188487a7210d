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
grep -qx '/usr/libexec/vmseal/vmseal-hook-judge.so' contents \
	&& pass "the hook's judge: /usr/libexec/vmseal/vmseal-hook-judge.so" || fail "no judge: $(grep libexec contents)"
grep -qx '/usr/share/doc/vmseal/examples/policy.json' contents && pass "example policy in the docs" || fail "no example policy"
grep -qx '/usr/share/bash-completion/completions/vmseal' contents && pass "bash completion" || fail "no completion"
grep -q '^/lib/systemd/system/vmseal-gateway.service$' contents && pass "systemd unit" || fail "no unit"
grep -q '^/lib/systemd/system/vmseal-hook.service$' contents && pass "systemd unit of the hook's judge server" || fail "no hook unit"
grep -qx '/usr/lib/tmpfiles.d/vmseal.conf' contents && dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/lib/tmpfiles.d/vmseal.conf |
	grep -qx 'd /run/vmseal 0700 root root -' && pass "tmpfiles.d: /run/vmseal made at boot, 0700 root (before libvirtd)" \
	|| fail "no tmpfiles.d entry for /run/vmseal: $(grep tmpfiles contents)"
for u in libvirtd virtqemud; do
	grep -qx "/lib/systemd/system/$u.service.d/vmseal.conf" contents \
		&& pass "drop-in: $u sees the hook and /etc/vmseal read-only" || fail "no $u drop-in: $(grep service.d contents)"
done
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./lib/systemd/system/libvirtd.service.d/vmseal.conf 2>/dev/null \
	> dropin.conf
grep -qx 'ProtectSystem=full' dropin.conf && grep -qx 'ReadWritePaths=/etc/libvirt' dropin.conf \
	&& grep -qx 'ReadOnlyPaths=-/etc/libvirt/hooks -/etc/vmseal -/usr/bin/vmseal-hook -/usr/libexec/vmseal -/run/vmseal' dropin.conf \
	&& grep -q '^InaccessiblePaths=.*-/var/lib/vmseal/hook .*-/var/log/vmseal' dropin.conf \
	&& pass "drop-in: the system read-only, the hook read-only, its secret, cache and logs inaccessible" || fail "drop-in content: $(cat dropin.conf)"
! grep -q '^/etc/vmseal/policy.json' contents && pass "no /etc/vmseal/policy.json in the package" || fail "ships a policy"
dpkg-deb -e "$deb" ctl
[ "$(sort ctl/conffiles | tr '\n' ' ')" = "/etc/logrotate.d/vmseal /etc/vmseal/gateway.conf " ] \
	&& pass "conffiles: /etc/vmseal/gateway.conf and /etc/logrotate.d/vmseal only" || fail "conffiles: $(cat ctl/conffiles)"
grep -qxE '/etc/vmseal/gateway.conf.d/?' contents && ! grep -q '^/etc/vmseal/gateway.conf.d/.' contents \
	&& pass "local settings directory /etc/vmseal/gateway.conf.d shipped empty" || fail "gateway.conf.d: $(grep conf.d contents)"
# Life cycle: an upgrade restarts the gateway only if it was running; removal stops it.
grep -q "deb-systemd-invoke try-restart 'vmseal-gateway.service'" ctl/postinst \
	&& pass "postinst: upgrade try-restarts the gateway (restarts it only if it was running)" || fail "postinst: no try-restart"
! grep -qE "deb-systemd-invoke (start|restart) 'vmseal-gateway" ctl/postinst && pass "postinst never starts a stopped gateway" || fail "postinst starts it"
grep -qE "deb-systemd-invoke (start|restart|\\\$_dh_action) 'vmseal-hook.service'" ctl/postinst && grep -q "enable 'vmseal-hook.service'" ctl/postinst \
	&& pass "postinst enables and starts the hook's judge server" || fail "postinst: hook server: $(grep vmseal-hook ctl/postinst | head -3)"
awk '/remove/ && /deconfigure/ {on=1} on && /deb-systemd-invoke stop vmseal-gateway.service/ {found=1} END {exit !found}' ctl/prerm \
	&& pass "prerm: removal stops the gateway" || fail "prerm: $(cat ctl/prerm)"
grep -q 'policy.json.lock' ctl/postrm && pass "postrm: purge removes vmseal-policy's lock" || fail "postrm: no lock removal"

# --- what exists before, to compare after the purge
watch="/etc/vmseal /etc/libvirt/hooks/qemu.d /var/cache/vmseal /var/log/vmseal /var/log/vmseal-gateway /var/lib/vmseal
/usr/share/doc/vmseal /lib/systemd/system/vmseal-gateway.service /lib/systemd/system/vmseal-hook.service
/usr/share/bash-completion/completions/vmseal /etc/logrotate.d/vmseal /usr/libexec/vmseal
/lib/systemd/system/libvirtd.service.d /lib/systemd/system/virtqemud.service.d"
snapshot() { for p in $watch /usr/bin/vmseal-*; do [ -e "$p" ] || [ -L "$p" ] && find "$p" -printf '%p %m %u %g\n'; done 2>/dev/null | sort; }
# Directories an administrator made before (empty /etc/vmseal, libvirt's hooks directory): dpkg
# removes a package's empty directories on purge, so they are put back as they were.
had_dirs=()
for d in /etc/vmseal /etc/libvirt/hooks/qemu.d /etc/libvirt/hooks; do
	[ -d $d ] && had_dirs+=("$d $(stat -c '%a %U %G' $d)")
done
restore_dirs() {
	local e d m u g
	for e in "${had_dirs[@]}"; do
		read -r d m u g <<<"$e"
		[ -d "$d" ] || install -d -m "$m" -o "$u" -g "$g" "$d"
	done
}
# Cache and logs left by other tests' hooks (tests/e2e/libvirt.sh) go aside and come back.
mkdir saved
# (the audit logs go with the hook's head and the trust state in /var/lib/vmseal)
saved_dirs="/var/cache/vmseal /var/log/vmseal /var/log/vmseal-gateway /var/lib/vmseal"
for d in $saved_dirs; do
	[ -e $d ] && mv $d "saved/${d//\//_}"
done
restore_saved() {
	local d
	for d in $saved_dirs; do
		[ -e "$T/saved/${d//\//_}" ] && { rm -rf $d; mv "$T/saved/${d//\//_}" $d; }
	done
}
had_user=0; getent passwd vmseal >/dev/null && had_user=1
# /run/vmseal (tmpfiles.d): made by the installation when absent before, removed at the end then
had_run=1; [ -e /run/vmseal ] || had_run=0
[ "$had_run" = 1 ] || cleanup_hooks+=("rm -rf /run/vmseal")
cleanup_hooks+=("[ -f $T/gw.pid ] && kill \$(cat $T/gw.pid) 2>/dev/null; dpkg -P vmseal >/dev/null 2>&1; [ $had_user = 1 ] || deluser --system --quiet vmseal >/dev/null 2>&1; rm -f /etc/vmseal/policy.json /etc/vmseal/gateway.conf.d/local.conf; rmdir /etc/vmseal/gateway.conf.d /etc/vmseal 2>/dev/null; rm -rf /var/log/vmseal /var/log/vmseal-gateway /var/cache/vmseal /var/lib/vmseal; restore_saved; restore_dirs")
snapshot >before

# --- install
cp "$deb" .
if DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "./$(basename "$deb")" >apt.log 2>&1; then
	pass "apt-get install ./$(basename "$deb")"
	grep -q 'the libvirt hook refuses EVERY domain start until a policy is installed' apt.log \
		&& pass "postinst says the hook refuses every start until a policy exists" || fail "postinst message: $(grep vmseal: apt.log)"
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
if command -v systemd-tmpfiles >/dev/null && [ "$had_run" = 0 ]; then
	[ "$(stat -c '%a %U %G' /run/vmseal 2>&1)" = "700 root root" ] && pass "/run/vmseal made at installation, 0700 root" \
		|| fail "/run/vmseal: $(stat -c '%a %U %G' /run/vmseal 2>&1)"
fi
[ "$(stat -c '%a %U %G' /var/lib/vmseal/templates)" = "751 root vmseal" ] \
	&& pass "/var/lib/vmseal/templates is root:vmseal 0751" || fail "templates dir: $(stat -c '%a %U %G' /var/lib/vmseal/templates)"
u=$(getent passwd vmseal)
uid=$(cut -d: -f3 <<<"$u")
[ -n "$u" ] && [ "$uid" -lt 1000 ] && [[ $u == *nologin ]] && pass "system user vmseal (uid $uid, no login)" \
	|| fail "user vmseal: $u"
[ ! -e /etc/vmseal/policy.json ] && pass "no policy installed by the package" || fail "a policy appeared"
MANPAGER=cat man vmseal-hook 2>/dev/null | grep -q 'qemu.d/vmseal' && pass "man vmseal-hook" || fail "man vmseal-hook"
grep -qa '/run/vmseal/hook.sock' /usr/bin/vmseal-hook && grep -qa '/usr/libexec/vmseal/vmseal-hook-judge.so' /usr/bin/vmseal-hook \
	&& pass "the installed hook looks for its judge server on /run/vmseal/hook.sock, its judge in /usr/libexec/vmseal" \
	|| fail "installed hook: compiled paths"
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
	$hook web1 prepare begin - <web1.xml
expect_rc "hook allows web1 with signed disks" 0 $hook --policy $T/pol.json web1 prepare begin - <web1.xml
[ ! -s out ] && pass "hook prints nothing on stdout" || fail "hook stdout: $(head -c 200 out)"
grep -q '"event":"hook.prepare"' /var/log/vmseal/audit.jsonl 2>/dev/null \
	&& pass "hook logged to /var/log/vmseal/audit.jsonl" || fail "no audit event in /var/log/vmseal/audit.jsonl"
printf 'x' | dd of=base.qcow2 bs=1 seek=200000 conv=notrunc status=none
expect_deny "hook denies a tampered template" "disk vda .*digest mismatch" \
	$hook --policy $T/pol.json web1 prepare begin - <web1.xml

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
	hunit=/lib/systemd/system/vmseal-hook.service
	if SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$hunit" >hverify.log 2>&1 && ! grep -v '^$' hverify.log | grep -q .; then
		pass "systemd-analyze verify vmseal-hook.service: clean"
	else
		fail "systemd-analyze verify vmseal-hook.service: $(head -c 600 hverify.log)"
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
grep -q '^SupplementaryGroups=' "$unit" && fail "the unit needs a supplementary group (libvirt exists only with libvirt-daemon-system)" \
	|| pass "the unit names no supplementary group"
for d in User=vmseal ExecStart=/usr/libexec/vmseal/gateway-start RestartPreventExitStatus=2 NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
	PrivateTmp=yes CapabilityBoundingSet= MemoryDenyWriteExecute=yes SystemCallFilter=@system-service \
	'ExecReload=/bin/kill -HUP $MAINPID'; do
	grep -qxF -- "$d" "$unit" || fail "unit lacks $d"
done
pass "unit has the sandbox directives"
! systemctl is-enabled vmseal-gateway >/dev/null 2>&1 && pass "gateway unit not enabled by the install" \
	|| fail "unit enabled"

# --- the gateway as the unit runs it, without systemd: the documented setpriv command
start=/usr/libexec/vmseal/gateway-start
mv /etc/vmseal/policy.json admin-policy.json
runas() { setpriv --reuid=vmseal --regid=vmseal --init-groups --no-new-privs --inh-caps=-all "$@"; }
expect_err "gateway-start without a policy: one clear line, exit 2 (no restart loop)" \
	"not started: no policy at /etc/vmseal/policy.json" runas $start
[ "$(wc -l <err)" = 1 ] && pass "gateway-start: the refusal is one line" || fail "gateway-start stderr: $(cat err)"
install -m 0644 pol.json /etc/vmseal/policy.json
expect_err "gateway-start without its keys: names the file" "cannot read /etc/vmseal/gateway.crt" runas $start
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=IP:127.0.0.1 -keyout gwtls.key -out gw.crt 2>/dev/null
vmseal-key generate --out gwresp --no-passphrase >/dev/null
install -m 0600 gw.crt /etc/vmseal/gateway.crt
expect_err "gateway-start: a key the gateway's user cannot read is named" "user vmseal cannot read /etc/vmseal/gateway.crt" runas $start
install -m 0640 -g vmseal gw.crt /etc/vmseal/gateway.crt
install -m 0640 -g vmseal gwtls.key /etc/vmseal/gateway-tls.key
install -m 0640 -g vmseal gwresp.key /etc/vmseal/gateway-response.key
if [ ! -S /run/libvirt/libvirt-sock ] && [ ! -S /run/libvirt/virtqemud-sock ]; then
	expect_err "gateway-start without libvirtd: says so" "libvirt is not running" runas $start
fi
# Local settings: a drop-in, read by the same shell; a quoted value with a space stays one word.
port=$((20000 + RANDOM % 20000))
cat >/etc/vmseal/gateway.conf.d/local.conf <<EOC
# local settings (never touched by the package)
LISTEN=127.0.0.1:$port
LIBVIRT_URI=test:///default
EXTRA_OPTS="--threads 2 --request-timeout 5"
EOC
chmod 0600 /etc/vmseal/gateway.conf.d/local.conf
expect_err "gateway-start: a settings file its user cannot read is named" "cannot read /etc/vmseal/gateway.conf.d/local.conf" runas $start print
chmod 0644 /etc/vmseal/gateway.conf.d/local.conf
runas $start print >print.out 2>&1
grep -qx -- "--listen" print.out && grep -qx "127.0.0.1:$port" print.out && grep -qx "test:///default" print.out &&
	grep -qx -- "--request-timeout" print.out && grep -qx /var/lib/vmseal/templates print.out &&
	pass "gateway-start print: gateway.conf then gateway.conf.d/local.conf, quoted values kept" || fail "print: $(cat print.out)"
install -d -m 0700 -o vmseal -g vmseal /var/log/vmseal-gateway   # what LogsDirectory= makes
runas $start >/dev/null 2>gw.log &
echo $! >gw.pid
for _ in $(seq 100); do grep -q 'listening on' gw.log 2>/dev/null && break; sleep 0.05; done
[ "$(curl -s --cacert gw.crt -o /dev/null -w '%{http_code}' https://127.0.0.1:$port/healthz)" = 200 ] &&
	pass "the documented command for hosts without systemd serves /healthz" || fail "gateway: $(cat gw.log)"
gwpid=$(pgrep -u vmseal -f "vmseal-gateway --listen 127.0.0.1:$port" | head -1)
[ -n "$gwpid" ] && [ "$(ps -o user= -p $gwpid)" = vmseal ] && pass "it runs as user vmseal, exec'd (one process)" ||
	fail "gateway process: $(ps -ef | grep vmseal-gatewa[y])"
kill $gwpid 2>/dev/null; rm -f gw.pid
rm -f /etc/vmseal/gateway.crt /etc/vmseal/gateway-tls.key /etc/vmseal/gateway-response.key

# --- logrotate: the chain goes on across files, and the hook still judges (its head moved along)
if command -v logrotate >/dev/null; then
	before_lines=$(wc -l </var/log/vmseal/audit.jsonl)
	logrotate -f -s "$T/logrotate.state" /etc/logrotate.d/vmseal >lr.log 2>&1 &&
		[ "$(wc -l </var/log/vmseal/audit.jsonl.1)" = $((before_lines + 1)) ] &&
		tail -1 /var/log/vmseal/audit.jsonl.1 | grep -q '"event":"audit.rotate"' &&
		head -1 /var/log/vmseal/audit.jsonl | grep -q '"event":"audit.continue"' &&
		pass "logrotate: the log is sealed into audit.jsonl.1 and continues in audit.jsonl" ||
		fail "logrotate: $(cat lr.log; ls -l /var/log/vmseal; head -2 /var/log/vmseal/audit.jsonl)"
	expect_deny "the hook after the rotation judges as before (the tampered template), no head alarm" "digest mismatch" \
		$hook --policy $T/pol.json web1 prepare begin - <web1.xml
	! grep -q "truncated or replaced" err && pass "no 'audit log truncated or replaced' after the rotation" || fail "head: $(cat err)"
	expect_rc "the rotated file verifies on its own" 0 vmseal-audit verify /var/log/vmseal/audit.jsonl.1
	expect_rc "the new file verifies as the continuation (the documented step)" 0 \
		vmseal-audit verify --continues /var/log/vmseal/audit.jsonl.1 /var/log/vmseal/audit.jsonl
	expect_deny "the new file alone does not pass as a whole log" "" vmseal-audit verify /var/log/vmseal/audit.jsonl
	# the gateway's log (written by the gateway run above) is rotated as its owner, vmseal
	[ "$(stat -c %U /var/log/vmseal-gateway/audit.jsonl 2>/dev/null)" = vmseal ] &&
		tail -1 /var/log/vmseal-gateway/audit.jsonl.1 | grep -q '"event":"audit.rotate"' &&
		vmseal-audit verify --continues /var/log/vmseal-gateway/audit.jsonl.1 /var/log/vmseal-gateway/audit.jsonl >/dev/null &&
		pass "the gateway's log rotated as user vmseal: the new file is the gateway's and continues the chain" ||
		fail "gateway log rotation: $(ls -l /var/log/vmseal-gateway)"
else
	skip "logrotate not installed"
fi

# --- an upgrade that changes the conffile, non-interactively, with local settings in place
mkdir up && dpkg-deb -R "$deb" up/root
sed -i 's/^Version: .*/&+up1/' up/root/DEBIAN/control
echo "# changed by the next version" >>up/root/etc/vmseal/gateway.conf
dpkg-deb -b up/root up/vmseal_up1.deb >/dev/null 2>&1
local_sum=$(sha256sum </etc/vmseal/gateway.conf.d/local.conf)
if DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ./up/vmseal_up1.deb </dev/null >up.log 2>&1; then
	pass "upgrade with a changed conffile: apt-get install runs through without a question"
else
	fail "upgrade: $(tail -5 up.log)"
fi
grep -q '# changed by the next version' /etc/vmseal/gateway.conf && [ "$(sha256sum </etc/vmseal/gateway.conf.d/local.conf)" = "$local_sum" ] &&
	pass "the upgrade brought the new defaults and kept the local settings" || fail "after upgrade: $(tail -2 /etc/vmseal/gateway.conf)"
dpkg-query -W -f='${Status}' vmseal | grep -q 'install ok installed' && pass "package fully configured after the upgrade" ||
	fail "status: $(dpkg-query -W -f='${Status}' vmseal)"
rm -f /etc/vmseal/gateway.conf.d/local.conf
mv admin-policy.json /etc/vmseal/policy.json
: >/etc/vmseal/policy.json.lock   # what vmseal-policy install leaves beside the policy

# --- purge
if dpkg -P vmseal >purge.log 2>&1; then pass "dpkg -P vmseal"; else fail "dpkg -P: $(tail -3 purge.log)"; fi
[ "$(cat /etc/vmseal/policy.json 2>/dev/null)" = '{"admin":"mine"}' ] && pass "purge leaves the admin's policy" \
	|| fail "purge removed or changed /etc/vmseal/policy.json"
rm -f /etc/vmseal/policy.json
[ -f /var/log/vmseal/audit.jsonl ] && pass "audit log kept after purge (evidence)" || fail "audit log removed"
[ ! -e /etc/vmseal/policy.json.lock ] && pass "purge removes policy.json.lock" || fail "policy.json.lock left after purge"
rm -rf /var/log/vmseal /var/log/vmseal-gateway
rmdir /etc/vmseal 2>/dev/null
# the hook's head and trust state this test's hook runs made (security state a purge keeps)
rm -rf /var/lib/vmseal
restore_dirs
snapshot >after
if diff before after >left; then pass "nothing left after dpkg -P (but the audit log, removed by this test)"
else fail "after purge, differs from before: $(grep '^[<>]' left | head -5 | tr '\n' ' ')"; fi
[ ! -e $hook ] && [ ! -L $hook ] && pass "hook gone" || fail "hook still installed"
! dpkg-query -W vmseal >/dev/null 2>&1 && pass "package unknown to dpkg" || fail "dpkg still knows vmseal"
