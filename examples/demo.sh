#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make demo`: the main job of vmseal end to end, in plain words.
# Keys are made, a template image is built and signed 2-of-3, the host policy allows it; one
# flipped byte is denied; the restored image is allowed again; revoking a key denies it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
export PATH="$top/$BUILD/bin:$PATH"
work=$(mktemp -d /tmp/vmseal-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
expect_denied() {
	local rc=0
	printf '$ vmseal-verify --policy policy.json %s\n' "$1"
	vmseal-verify --policy policy.json "$1" || rc=$?
	[ $rc = 1 ] || { echo "UNEXPECTED: exit status $rc, want 1 (denied)"; exit 1; }
	echo "(exit status 1: denied)"
}

say "1. The image pipeline creates three signing keys (encrypted at rest, mode 0600)"
umask 077
for k in pipeline release qa; do
	head -c 24 /dev/urandom | base64 > $k.pass
	printf '%s: keyid ' $k; vmseal-key generate --alg ed25519 --out $k --passphrase-file $k.pass
done

say "2. It builds a small template image"
if command -v qemu-img >/dev/null; then
	run qemu-img create -q -f qcow2 debian-12.qcow2 64M
	image=debian-12.qcow2
else
	echo "(qemu-img not installed: using a raw image)"
	head -c $((9 * 1024 * 1024)) /dev/urandom > debian-12.img
	image=debian-12.img
fi

say "3. It signs the template, and a second key countersigns (the policy wants 2 of 3)"
run vmseal-sign --key pipeline.key --passphrase-file pipeline.pass --template debian-12 --template-version 3 $image
run vmseal-sign --key release.key --passphrase-file release.pass --append $image

say "4. The host administrator writes a policy that trusts only public keys"
entry() { vmseal-key policy-entry "$@"; }
write_policy() { # $1: status of the pipeline key
	{
		printf '{"version": 1, "enforce": true, "audit_log": "%s/audit.jsonl",\n "keys": [\n' "$work"
		entry pipeline.pub --owner pipeline --status "$1"; echo ","
		entry release.pub --owner release; echo ","
		entry qa.pub --owner qa
		printf '],\n "templates": [{"match": "debian-*", "threshold": 2, "min_version": 3, "allow_overlay": true,\n   "keys": ["%s", "%s", "%s"]}]}\n' \
			"$(vmseal-key id pipeline.pub)" "$(vmseal-key id release.pub)" "$(vmseal-key id qa.pub)"
	} > policy.json
}
write_policy active
echo "policy.json: 3 public keys, template rule debian-* needs 2 of them, version >= 3"

say "5. The host verifies the image: allowed"
run vmseal-verify --policy policy.json $image

say "6. Someone flips one byte in the middle of the image: denied"
cp $image $image.good
size=$(stat -c %s $image)
printf '\x01' | dd of=$image bs=1 seek=$((size / 2)) conv=notrunc status=none
expect_denied $image

say "7. The original image is restored: allowed again"
cp $image.good $image
run vmseal-verify --policy policy.json $image

say "8. The pipeline key is revoked in the policy: its signature no longer counts, denied"
write_policy revoked
expect_denied $image

say "9. For a fleet: the policy as a signed bundle under a root of trust, with an end of life"
vmseal-key generate --out root1 --no-passphrase >/dev/null
mkdir -p host
run vmseal-policy root --threshold 1 -o root.json root1.pub
run vmseal-policy install-root --policy host/policy.json root.json
write_policy active
sed 's/"version": 1,/"version": 2,/' policy.json > policy-v2.json
sed 's/"version": 1,/"version": 3,/' policy.json > policy-v3.json
run vmseal-policy sign --key root1.key --expires 30d -o v2.bundle policy-v2.json
run vmseal-policy sign --key root1.key --expires 30d -o v3.bundle policy-v3.json
run vmseal-policy install --policy host/policy.json v2.bundle
run vmseal-policy install --policy host/policy.json v3.bundle
echo "(host/trust.state now remembers version 3; /var/lib/vmseal/trust.state on a real host)"
cp v2.bundle host/policy.json
printf '$ cp v2.bundle host/policy.json; vmseal-verify --policy host/policy.json %s\n' $image
rc=0; vmseal-verify --policy host/policy.json $image || rc=$?
[ $rc != 0 ] || { echo "UNEXPECTED: an old bundle copied back was accepted"; exit 1; }
echo "(exit status $rc: an old bundle copied back is refused, a rollback)"
if command -v faketime >/dev/null; then
	cp v3.bundle host/policy.json
	printf "$ faketime -f '+31d' vmseal-verify --policy host/policy.json %s\n" $image
	rc=0; faketime -f '+31d' vmseal-verify --policy host/policy.json $image || rc=$?
	[ $rc != 0 ] || { echo "UNEXPECTED: an expired bundle was accepted"; exit 1; }
	echo "(exit status $rc: a month later the bundle has expired)"
fi

say "10. Every decision went to the hash-chained audit log"
run vmseal-audit verify audit.jsonl

if [ -x "$top/examples/demo-gateway.sh" ] && [ -x "$top/$BUILD/bin/vmseal-gateway" ]; then
	"$top/examples/demo-gateway.sh"
fi
say "Demo finished."
