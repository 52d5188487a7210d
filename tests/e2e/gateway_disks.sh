#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End to end with a real libvirtd and QEMU: verified hot-plug through the gateway. libvirt runs
# no hook for attach-device or change-media, so POST /v1/domains/{name}/disks and /media are
# the way to add storage to a running domain: a signed template attaches (readonly, or as a fresh
# overlay), an unsigned or altered one is refused and never reaches QEMU; a cdrom gets only a
# signed image. Needs root; restores what it touches (tests/e2e/libvirtd.bash).
source "$(dirname "$0")/../sh/lib.sh"
source "$(dirname "$0")/libvirtd.bash"

E2E_NAME="gateway_disks e2e"
lv_begin "" vmseal-hook vmseal-gateway vmseal-call
mkdir -p "$RUN/templates" "$RUN/images" "$RUN/logs" "$RUN/cache"
chmod 0755 "$RUN/templates" "$RUN/images" "$RUN/logs"
chmod 0700 "$RUN/cache"
DOM=$LV_DOMPFX-hotplug
lv_hook_default "$RUN/hook-audit.jsonl"

cd "$RUN" || exit 1
for k in pipeline op viewer gwresp; do
	vmseal-key generate --out $k --no-passphrase >/dev/null || fail "generate $k"
done
vmseal-key policy-entry pipeline.pub --owner pipeline --usage template > pipeline.entry
vmseal-key policy-entry op.pub --owner carol --usage admin --role operator > op.entry
vmseal-key policy-entry viewer.pub --owner dave --usage admin --role viewer > viewer.entry
"$PY" "$top/tests/mkpolicy.py" policy.json \
	'[{"match":"*","keys":["@pipeline"],"threshold":1,"min_version":1,"allow_overlay":true}]' \
	"{\"launch\":{\"log_dir\":\"$RUN/logs\"}}" \
	pipeline=pipeline.entry op=op.entry viewer=viewer.entry
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.crt \
	-days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null

# The boot disk prints GOOD (tests/e2e/marker.py); the templates to hot-plug.
"$PY" "$top/tests/e2e/marker.py" disk templates/boot.raw GOOD
qemu-img create -q -f qcow2 templates/data.qcow2 16M
qemu-img create -q -f raw templates/cd.iso 1M
for f in boot.raw data.qcow2 cd.iso; do
	vmseal-sign --key pipeline.key --template "tpl-${f%%.*}" --template-version 1 "templates/$f" \
		>/dev/null || fail "sign $f"
done
cp templates/data.qcow2 templates/unsigned.qcow2
cp templates/cd.iso templates/evil.iso
cp templates/data.qcow2 templates/altered.qcow2
cp templates/data.qcow2.intoto.json templates/altered.qcow2.intoto.json
printf 'x' | dd of=templates/altered.qcow2 bs=1 seek=70000 conv=notrunc status=none

if ! lv_start > "$T/start.out"; then
	fail "$E2E_NAME: $(cat "$T/start.out")"
	exit 1
fi
accel=qemu
[ -r /dev/kvm ] && [ -w /dev/kvm ] && accel=kvm
cat > dom.xml <<EOF
<domain type='$accel'>
  <name>$DOM</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$RUN/templates/boot.raw'/>
      <target dev='vda' bus='virtio'/>
      <readonly/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
    <serial type='file'><source path='$RUN/logs/com1.log'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
if $V define dom.xml >/dev/null 2>"$T/err" && $V start "$DOM" >/dev/null 2>>"$T/err"; then
	pass "a domain from a signed boot disk starts (the hook allowed it)"
else
	fail "define/start the domain: $(head -c 400 "$T/err")"
	exit 1
fi

vmseal-gateway --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --policy policy.json \
	--libvirt qemu:///system --response-key gwresp.key --audit-log "$RUN/gw-audit.jsonl" \
	--template-dir "$RUN/templates" --image-dir "$RUN/images" --threads 2 >/dev/null 2>gw.log &
gwpid=$!
cleanup_hooks=("kill $gwpid 2>/dev/null; wait $gwpid 2>/dev/null" "${cleanup_hooks[@]}")
for _ in $(seq 300); do
	grep -q 'listening on' gw.log 2>/dev/null && break
	sleep 0.05
done
port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' gw.log)
[ -n "$port" ] || { fail "gateway on qemu:///system did not start: $(cat gw.log)"; exit 1; }
pass "gateway on qemu:///system listens on 127.0.0.1:$port"

call() { vmseal-call --url "https://127.0.0.1:$port" --cacert tls.crt --gateway-pub gwresp.pub "$@"; }
blk() { $V domblklist "$DOM" --details 2>/dev/null; }
live_has() { blk | awk -v t="$1" '$3 == t {print $4}' | grep -qxF -- "$2"; }
config_has() { $V domblklist "$DOM" --inactive 2>/dev/null | awk -v t="$1" '$1 == t {print $2}' | grep -qxF -- "$2"; }
# expect_refused NAME CODE ARGS...: vmseal-call exits 1 (refused: 401/403) or 2 (another HTTP
# error: 400, 404) and the gateway's error CODE is in the output.
expect_refused() {
	local name=$1 code=$2 want=1; shift 2
	case $code in bad_request|not_found) want=2 ;; esac
	call "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" = "$want" ] && grep -q "$code" "$T/out" "$T/err"; then pass "$name"; return 0; fi
	fail "$name (exit $rc): $(head -c 300 "$T/out") $(head -c 300 "$T/err")"
}

body='{"template":"data.qcow2","target":"vdb","mode":"readonly"}'
if call --key op.key POST "/v1/domains/$DOM/disks" "$body" >"$T/out" 2>"$T/err" &&
	live_has vdb "$RUN/templates/data.qcow2" && config_has vdb "$RUN/templates/data.qcow2"; then
	pass "signed template attached readonly to the running domain (live and config)"
else
	fail "attach signed readonly: $(head -c 300 "$T/out") $(head -c 300 "$T/err") $(blk)"
fi
ro=$($V dumpxml "$DOM" | "$PY" -c 'import sys, xml.etree.ElementTree as E
d = E.fromstring(sys.stdin.read())
print(["ro" if x.find("readonly") is not None else "rw" for x in d.iter("disk")
       if x.find("target").get("dev") == "vdb"])')
[ "$ro" = "['ro']" ] && pass "the attached template is readonly in the live definition" ||
	fail "vdb in the live definition: $ro"

expect_refused "unsigned template refused (403 template_denied)" template_denied \
	--key op.key POST "/v1/domains/$DOM/disks" '{"template":"unsigned.qcow2","target":"vdc","mode":"readonly"}'
expect_refused "template altered after signing refused (digest mismatch)" template_denied \
	--key op.key POST "/v1/domains/$DOM/disks" '{"template":"altered.qcow2","target":"vdc","mode":"readonly"}'
if ! blk | grep -qE 'unsigned|altered'; then
	pass "no refused image reached QEMU (domblklist)"
else
	fail "a refused image is attached: $(blk)"
fi
expect_refused "viewer may not attach (403 forbidden)" forbidden \
	--key viewer.key POST "/v1/domains/$DOM/disks" '{"template":"data.qcow2","target":"vdc","mode":"readonly"}'
expect_refused "a caller's device XML or path is not accepted (400)" bad_request \
	--key op.key POST "/v1/domains/$DOM/disks" '{"template":"../etc/passwd","target":"vdc","mode":"readonly"}'
expect_refused "unknown field refused (400)" bad_request \
	--key op.key POST "/v1/domains/$DOM/disks" '{"template":"data.qcow2","target":"vdc","mode":"readonly","source":"/dev/sda"}'

body='{"template":"data.qcow2","target":"vdc","mode":"overlay"}'
ov=$RUN/images/$DOM-vdc.qcow2
if call --key op.key POST "/v1/domains/$DOM/disks" "$body" >"$T/out" 2>"$T/err" && live_has vdc "$ov" &&
	qemu-img info -U "$ov" 2>/dev/null | grep -q "backing file: $RUN/templates/data.qcow2"; then
	pass "overlay mode: a fresh overlay on the signed template attached writable"
else
	fail "attach overlay: $(head -c 300 "$T/out") $(head -c 300 "$T/err") $(blk)"
fi

expect_refused "unsigned ISO refused for the cdrom" template_denied \
	--key op.key POST "/v1/domains/$DOM/media" '{"template":"evil.iso","target":"hdc"}'
if call --key op.key POST "/v1/domains/$DOM/media" '{"template":"cd.iso","target":"hdc"}' \
	>"$T/out" 2>"$T/err" && live_has hdc "$RUN/templates/cd.iso"; then
	pass "signed ISO inserted in the cdrom drive"
else
	fail "media change: $(head -c 300 "$T/out") $(head -c 300 "$T/err") $(blk)"
fi
expect_refused "unsigned ISO refused while a signed one is in the drive" template_denied \
	--key op.key POST "/v1/domains/$DOM/media" '{"template":"evil.iso","target":"hdc"}'
live_has hdc "$RUN/templates/cd.iso" && pass "the drive still holds the signed ISO" ||
	fail "cdrom after the refused change: $(blk)"
expect_refused "no such cdrom drive: 404" not_found \
	--key op.key POST "/v1/domains/$DOM/media" '{"template":"cd.iso","target":"hdd"}'

# Each call is logged allowed before it runs, then its result ("info") with what it changed.
d_digest=$(vmseal-digest templates/data.qcow2 | cut -d' ' -f1)
if grep '"event":"gateway.domains.disks"' gw-audit.jsonl | grep -q '"decision":"allow"' &&
	grep '"event":"gateway.domains.disks"' gw-audit.jsonl | grep '"decision":"info"' |
	grep -q "changed: domain=$DOM disk=vdb template=data.qcow2 (tpl-data) version=1 digest=$d_digest mode=readonly" &&
	grep '"event":"gateway.domains.media"' gw-audit.jsonl | grep '"decision":"info"' |
	grep -q "changed: domain=$DOM cdrom=hdc template=cd.iso"; then
	pass "audit: each hot-plug names the domain, the template, its digest and the mode"
else
	fail "audit events: $(grep -E 'domains.(disks|media)' gw-audit.jsonl | head -c 900)"
fi
grep -q "EVIL" logs/com1.log 2>/dev/null && fail "EVIL marker ran" || true
$V destroy "$DOM" >/dev/null 2>&1
$V undefine "$DOM" >/dev/null 2>&1
exit 0
