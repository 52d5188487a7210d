#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Crash consistency and hostile file systems.
#  1. kill -9 at random moments (tests/fault_kill.py), VMSEAL_FAULT_RUNS times each (default 40;
#     CI runs 200): vmseal-key generate, vmseal-sign --force, vmseal-key rotate --in-place,
#     vmseal-policy install, vmseal-audit append. Afterwards no partial or stray file, the old or
#     the new state is complete (keys load and match, envelopes verify), the audit chain verifies.
#  2. kill -9 at each named fault point (VMSEAL_FAULT, lib/util.h fault_point; the test build in
#     $TESTBIN, release binaries have none): the same checks
#     at the exact moments between two writes.
#  3. disk full (a 64 KiB tmpfs) and a read-only file system (tmpfs remounted ro), as root: a
#     clear error, exit 2, nothing half-written, nothing lost.
source "$(dirname "$0")/lib.sh"
cd "$T"
RUNS=${VMSEAL_FAULT_RUNS:-40}

# ---- 1. random kills -------------------------------------------------------------------------
if "$PY" -c 'import cryptography' 2>/dev/null; then
	for s in generate sign rotate install audit; do
		"$PY" "$top/tests/fault_kill.py" "$s" "$RUNS" "$T/kill" || true
	done
else
	skip "random kill -9 loops: python3-cryptography missing"
fi

# ---- 2. named fault points -------------------------------------------------------------------
echo fault-pass > pw
vmseal-key generate --out k --no-passphrase >/dev/null
head -c 100000 /dev/urandom > img
vmseal-key policy-entry k.pub > k.entry
"$PY" "$top/tests/mkpolicy.py" pol.json '[{"match":"t*","keys":["@k"],"threshold":1}]' k=k.entry
vmseal-sign --key k.key --template t1 --template-version 1 -o old.json img >/dev/null
killed_at() { # killed_at POINT CMD...: runs CMD (from the test build) with VMSEAL_FAULT=POINT, which must kill it
	local point=$1 cmd=$2; shift 2
	VMSEAL_FAULT=$point "$TESTBIN/$cmd" "$@" >/dev/null 2>"$T/err"
	local rc=$?
	[ $rc = 137 ] || { fail "fault point $point not reached (exit $rc): $(head -c 300 "$T/err")"; return 1; }
}
only_files() { # only_files DIR NAME...: DIR holds exactly these names
	local dir=$1; shift
	local want have
	want=$( [ $# -eq 0 ] || printf '%s\n' "$@" | sort | tr '\n' ' ')
	have=$(ls -A "$dir" | sort | tr '\n' ' ')
	[ "$want" = "$have" ] || { echo "  $dir holds: $have(want: $want)"; return 1; }
}

mkdir g1 g2
if killed_at before-rename vmseal-key generate --out g1/k --passphrase-file pw; then
	only_files g1 && pass "generate killed before the first link: nothing visible" ||
		fail "generate killed before the first link left files"
fi
if killed_at key-between-files vmseal-key generate --out g2/k --passphrase-file pw; then
	only_files g2 k.pub && vmseal-key id g2/k.pub >/dev/null &&
		pass "generate killed between files: a complete .pub, no private key" ||
		fail "generate killed between files: $(ls g2)"
	expect_err "generate refuses to overwrite what a crash left" "already exists" \
		vmseal-key generate --out g2/k --passphrase-file pw
fi

cp old.json env.json
if killed_at before-rename vmseal-sign --key k.key --template t1 --template-version 2 --force -o env.json img; then
	cmp -s old.json env.json && pass "sign --force killed before rename: the old envelope, byte for byte" ||
		fail "sign --force killed before rename changed the envelope"
	ls | grep -q '\.tmp' && fail "sign left a temp file: $(ls | grep '\.tmp')" || pass "sign left no temp file"
	expect_rc "the old envelope still verifies" 0 vmseal-verify --policy pol.json --attestation env.json img
fi

vmseal-audit append --actor t --event e --decision info a.log >/dev/null
if killed_at audit-mid-line vmseal-audit append --actor t --event torn --decision info a.log; then
	expect_deny "torn last line is reported" "torn last line" vmseal-audit verify a.log
	vmseal-audit append --actor t --event after --decision info a.log >/dev/null
	expect_rc "the next append resumes the chain after the torn line" 0 vmseal-audit verify a.log
	grep -q "^ok 2 entries" "$T/out" && pass "both intact entries counted" || fail "verify: $(cat "$T/out")"
fi

mkdir rot && cp k.key k.pub k.json pol.json img old.json rot/
if killed_at rotate-after-new-key vmseal-key rotate --out rot/k --no-passphrase --policy rot/pol.json --in-place; then
	cmp -s pol.json rot/pol.json && pass "rotate killed after the new key: policy unchanged" ||
		fail "rotate killed after the new key changed the policy"
	grep -q '"status": *"active"' rot/k.json && pass "rotate killed early: the old key still active" ||
		fail "old key metadata: $(cat rot/k.json)"
	vmseal-key id rot/k-v2.pub >/dev/null && [ -s rot/k-v2.key ] && [ -s rot/k-v2.json ] &&
		pass "rotate killed after the new key: the new key is complete" || fail "new key: $(ls rot)"
	expect_rc "what the old key signed still verifies" 0 vmseal-verify --policy rot/pol.json --attestation rot/old.json rot/img
fi
mkdir rot2 && cp k.key k.pub k.json pol.json rot2/
if killed_at policy-after-bak vmseal-key rotate --out rot2/k --no-passphrase --policy rot2/pol.json --in-place; then
	cmp -s pol.json rot2/pol.json && cmp -s pol.json rot2/pol.json.bak &&
		pass "rotate killed after the policy backup: policy and .bak are the old bytes" ||
		fail "rotate killed after the backup: policy changed"
fi

if vmseal-policy --help >/dev/null 2>&1; then
	mkdir inst
	vmseal-policy root --threshold 1 -o inst/root.json k.pub >/dev/null
	echo '{"version": 1, "enforce": true, "keys": [], "templates": []}' > p1.json
	echo '{"version": 2, "enforce": true, "keys": [], "templates": []}' > p2.json
	vmseal-policy sign --key k.key -o v1.bundle p1.json >/dev/null
	vmseal-policy sign --key k.key -o v2.bundle p2.json >/dev/null
	cp v1.bundle inst/policy.json
	if killed_at policy-install-before-write vmseal-policy install --policy inst/policy.json v2.bundle; then
		cmp -s v1.bundle inst/policy.json && pass "install killed before the write: the old bundle installed" ||
			fail "install killed before the write changed the policy"
	fi
else
	skip "vmseal-policy install: not built"
fi

# ---- 3. disk full and read-only --------------------------------------------------------------
if [ "$(id -u)" != 0 ]; then
	skip "disk full and read-only file system: need root to mount a tmpfs"
	exit 0
fi
mkdir full ro
if ! mount -t tmpfs -o size=64k,mode=0700 vmseal-full "$T/full" 2>/dev/null; then
	skip "disk full: cannot mount a tmpfs here"
	exit 0
fi
cleanup_hooks+=("umount '$T/full' 2>/dev/null")
# Fill it after placing what must survive.
cp old.json full/env.json
vmseal-audit append --actor t --event before --decision info full/a.log >/dev/null
cp v1.bundle full/policy.json 2>/dev/null; cp inst/root.json full/ 2>/dev/null
dd if=/dev/zero of=full/fill bs=4k 2>/dev/null
before=$(cd full && sha256sum env.json a.log policy.json 2>/dev/null)

expect_err "disk full: generate fails with a clear error" "No space left on device" \
	vmseal-key generate --out full/k --no-passphrase
ls full | grep -q '^k\.' && fail "disk full: generate left $(ls full | grep '^k\.')" || pass "disk full: generate left no key file"
expect_err "disk full: sign --force fails with a clear error" "No space left on device" \
	vmseal-sign --key k.key --template t1 --template-version 2 --force -o full/env.json img
expect_err "disk full: sign of a new envelope fails" "No space left on device" \
	vmseal-sign --key k.key --template t1 --template-version 2 -o full/new.json img
[ ! -e full/new.json ] && pass "disk full: no partial envelope" || fail "disk full: partial envelope left"
expect_err "disk full: audit append fails with a clear error" "No space left on device" \
	vmseal-audit append --actor t --event big --decision info --reason "$(head -c 8000 /dev/zero | tr '\0' x)" full/a.log
expect_rc "disk full: the audit chain still verifies (the short write was taken back)" 0 vmseal-audit verify full/a.log
if [ -f full/root.json ]; then
	expect_err "disk full: policy install fails with a clear error" "No space left on device" \
		vmseal-policy install --policy full/policy.json v2.bundle
fi
after=$(cd full && sha256sum env.json a.log policy.json 2>/dev/null)
[ "$before" = "$after" ] && pass "disk full: every existing file is byte for byte intact" || fail "disk full: files changed"
ls full | grep -q '\.tmp' && fail "disk full: temp files left: $(ls full)" || pass "disk full: no temp file left"
rm -f full/fill
expect_rc "space back: the envelope still verifies" 0 vmseal-verify --policy pol.json --attestation full/env.json img

mount -t tmpfs -o size=1m vmseal-ro "$T/ro"
cleanup_hooks+=("umount '$T/ro' 2>/dev/null")
cp old.json ro/env.json
vmseal-audit append --actor t --event before --decision info ro/a.log >/dev/null
cp v1.bundle ro/policy.json; cp inst/root.json ro/ 2>/dev/null
mount -o remount,ro "$T/ro"
before=$(cd ro && sha256sum *)
expect_err "read-only: generate fails with a clear error" "Read-only file system" \
	vmseal-key generate --out ro/k --no-passphrase
expect_err "read-only: sign --force fails with a clear error" "Read-only file system" \
	vmseal-sign --key k.key --template t1 --template-version 2 --force -o ro/env.json img
expect_err "read-only: audit append fails with a clear error" "Read-only file system" \
	vmseal-audit append --actor t --event e --decision info ro/a.log
if [ -f ro/root.json ]; then
	expect_err "read-only: policy install fails with a clear error" "Read-only file system" \
		vmseal-policy install --policy ro/policy.json v2.bundle
fi
[ "$before" = "$(cd ro && sha256sum *)" ] && pass "read-only: nothing changed" || fail "read-only: files changed"
expect_rc "read-only: the audit chain verifies" 0 vmseal-audit verify ro/a.log
expect_rc "read-only: the envelope verifies" 0 vmseal-verify --policy pol.json --attestation ro/env.json img
