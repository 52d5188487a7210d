#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `vmseal-policy index` (lib/policyindex.h, issue #18 item 5): the index beside a plain policy is
# used while it names that file, and a policy changed after it (in place, same size) is judged by
# its new text: vmseal-verify, and the hook with an allow cached under the old one.
source "$(dirname "$0")/lib.sh"
cd "$T"
umask 022
head -c 65536 /dev/urandom > img.raw
vmseal-key generate --out signer --no-passphrase >/dev/null
vmseal-sign --key signer.key --template bench --template-version 3 img.raw >/dev/null
write_policy() { # MIN_VERSION (one digit: the policies are the same size)
	{
		printf '{"version": 1, "enforce": true, "keys": [\n'
		vmseal-key policy-entry signer.pub --owner pipeline --usage template
		printf '],\n "templates": [{"match": "bench", "keys": ["%s"], "threshold": 1, "min_version": %s}]}\n' \
			"$(vmseal-key id signer.pub)" "$1"
	} > "${2:-policy.json}"
}
write_policy 1
write_policy 9 policy-9.json
[ "$(stat -c %s policy.json)" = "$(stat -c %s policy-9.json)" ] || fail "test set-up: the two policies differ in size"

expect_rc "vmseal-policy index: writes policy.json.index" 0 vmseal-policy index --policy policy.json
grep -q "indexed policy.json as policy.json.index" out && [ "$(stat -c %a policy.json.index)" = 644 ] &&
	pass "it says so; the index has the policy's mode (644)" || fail "index output or mode: $(cat out) $(stat -c %a policy.json.index)"
expect_rc "vmseal-verify with the index: allowed" 0 vmseal-verify --policy policy.json img.raw

# the hook, its allow cached while the index is used
emu=$(command -v qemu-system-x86_64 || echo /usr/bin/qemu-system-x86_64)
cat > dom.xml <<EOF
<domain type='qemu'><name>idx</name><memory unit='MiB'>64</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices><emulator>$emu</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/>
      <source file='$T/img.raw'/><target dev='vda' bus='virtio'/><readonly/></disk>
  </devices></domain>
EOF
mkdir -m 0700 cache
printf 'policy = %s/policy.json\naudit_log = %s/audit.jsonl\ncache_dir = %s/cache\n' "$T" "$T" "$T" > hook.conf
expect_rc "the hook with the index: allowed" 0 vmseal-hook --config "$T/hook.conf" idx prepare begin - < dom.xml
expect_rc "the hook again: allowed (from its cache)" 0 vmseal-hook --config "$T/hook.conf" idx prepare begin - < dom.xml

# the policy rewritten in place, the same size, now refusing version 3 (min_version 9)
sleep 0.05
dd if=policy-9.json of=policy.json conv=notrunc status=none
expect_deny "changed in place after the index: vmseal-verify judges the new text" "version 3.*below|min_version|older" \
	vmseal-verify --policy policy.json img.raw
expect_rc "the hook judges the new text too (the allow cached under the old one is not used)" 1 \
	vmseal-hook --config "$T/hook.conf" idx prepare begin - < dom.xml
expect_rc "indexed again: still refused" 0 vmseal-policy index --policy policy.json
expect_rc "vmseal-verify with the new index: refused" 1 vmseal-verify --policy policy.json img.raw

# an index more writable than the policy, or another owner's, is ignored (the decision stands)
write_policy 1
expect_rc "index of the restored policy" 0 vmseal-policy index --policy policy.json
chmod 0666 policy.json.index
expect_rc "a world-writable index is ignored: allowed from the text" 0 vmseal-verify --policy policy.json img.raw
chmod 0644 policy.json.index
# A forged index: its "keys array" runs on to the ']' closing revoked_digests, so that a reader
# trusting it would never read that list (the bytes between entries are not read). Written by
# the policy's owner it is trusted (the owner can write the policy itself); writable by anyone
# else (group write, or an access ACL granting another user write) it must be ignored.
digest=$(vmseal-digest img.raw | cut -d' ' -f1)
{
	printf '{"version": 1, "enforce": true, "keys": [\n'
	vmseal-key policy-entry signer.pub --owner pipeline --usage template
	printf '],\n "revoked_digests": ["%s"],\n "templates": [{"match": "bench", "keys": ["%s"], "threshold": 1, "min_version": 1}]}\n' \
		"$digest" "$(vmseal-key id signer.pub)"
} > policy.json
expect_deny "a revoked digest is refused" "revoked" vmseal-verify --policy policy.json img.raw
forge() { # extends the index's keys array over revoked_digests
	vmseal-policy index --policy policy.json >/dev/null &&
	"$PY" - policy.json <<'PY'
import struct, sys
pol = open(sys.argv[1], 'rb').read()
ix = bytearray(open(sys.argv[1] + '.index', 'rb').read())
arr_off, arr_len = struct.unpack_from('<QQ', ix, 64)
end = pol.index(b']', pol.index(b'"revoked_digests"'))
struct.pack_into('<Q', ix, 72, end - arr_off + 1)
open(sys.argv[1] + '.index', 'wb').write(ix)
PY
}
forge
expect_rc "the owner's forged index is the owner's word (it could write the policy itself): allowed" 0 \
	vmseal-verify --policy policy.json img.raw
forge && chmod 0664 policy.json.index
expect_deny "the forged index writable by its group: ignored, the revoked digest refused" "revoked" \
	vmseal-verify --policy policy.json img.raw
chmod 0664 policy.json && forge && chmod 0664 policy.json.index
expect_deny "the same with the policy group-writable too: ignored, refused" "revoked" \
	vmseal-verify --policy policy.json img.raw
chmod 0644 policy.json
forge
# an access ACL granting uid 65534 write (what setfacl -m u:65534:rw writes), where kept
if "$PY" - policy.json.index <<'PY' 2>/dev/null; then
import os, struct, sys
ent = lambda tag, perm, uid=0xffffffff: struct.pack("<HHI", tag, perm, uid)
acl = struct.pack("<I", 2) + ent(0x01, 6) + ent(0x02, 6, 65534) + ent(0x04, 4) + ent(0x10, 6) + ent(0x20, 4)
os.setxattr(sys.argv[1], "system.posix_acl_access", acl)
PY
	expect_deny "the forged index with an ACL letting another user write it: ignored, refused" "revoked" \
		vmseal-verify --policy policy.json img.raw
else
	skip "no POSIX ACLs on this file system"
fi
rm -f policy.json.index
write_policy 1
if [ "$(id -u)" = 0 ]; then
	cp policy.json other.json
	chown 65534 other.json
	expect_err "indexing another user's policy is refused" "owned by uid 65534: its index must have the same owner" \
		vmseal-policy index --policy other.json
	[ ! -e other.json.index ] && pass "nothing written for it" || fail "other.json.index written"
fi

# not for signed bundles, nor for what is no policy
vmseal-key generate --out rootk --no-passphrase >/dev/null
mkdir b && cp policy.json b/policy.json
vmseal-policy root --threshold 1 -o b/root.json rootk.pub >/dev/null
expect_err "a policy with root.json beside it is not indexed" "never indexed" vmseal-policy index --policy b/policy.json
echo '{"x": 1}' > notpolicy.json
expect_err "a file that is no policy is not indexed" "notpolicy.json" vmseal-policy index --policy notpolicy.json
[ ! -e notpolicy.json.index ] && pass "nothing written for it" || fail "notpolicy.json.index written"
expect_err "index takes no arguments" "no arguments" vmseal-policy index policy.json
expect_rc "vmseal-policy --help lists index" 0 vmseal-policy --help
grep -q "^  index \[--policy DEST\]" out && pass "--help describes index" || fail "--help: no index"
