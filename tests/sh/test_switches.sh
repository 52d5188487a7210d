#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Release binaries hold no test switch (issue #14 item 6): VMSEAL_NOW, VMSEAL_FAULT and
# VMSEAL_TEST_NO_ENTROPY change nothing in $BIN (what `make install` and the .deb ship); only the
# test build in $TESTBIN has fault points and the entropy simulation. Time moves with libfaketime.
source "$(dirname "$0")/lib.sh"
cd "$T"

# --- the strings are not even in the release binaries (the fault points' names neither)
points=$(grep -rhoE 'fault_(point|is)\("[a-z0-9-]+"\)' "$top"/lib "$top"/signer "$top"/verifier \
	"$top"/agent "$top"/api | sed -E 's/.*\("([^"]+)"\)/\1/' | sort -u)
[ -n "$points" ] && pass "the sources have fault points ($(echo $points | wc -w))" || fail "no fault point found in the sources"
pat="VMSEAL_NOW|VMSEAL_FAULT|VMSEAL_TEST_NO_ENTROPY$(printf '|%s' $points)"
n=0
for b in "$BIN"/vmseal-*; do
	n=$((n + 1))
	hits=$(strings "$b" | grep -oE "$pat" | sort -u | tr '\n' ' ')
	[ -z "$hits" ] && pass "release $(basename "$b"): no test switch in its strings" ||
		fail "release $(basename "$b") holds: $hits"
done
[ "$n" -ge 9 ] && pass "checked all $n release binaries" || fail "only $n release binaries in $BIN"
strings "$TESTBIN/vmseal-key" | grep -q VMSEAL_FAULT && strings "$TESTBIN/vmseal-key" | grep -q VMSEAL_TEST_NO_ENTROPY &&
	pass "the test build has the switches (the check above can see them)" || fail "test build lacks its switches"

# --- VMSEAL_NOW does not move the clock: an attestation that expired yesterday stays expired
vmseal-key generate --out k --no-passphrase >/dev/null
vmseal-key policy-entry k.pub > k.entry
"$PY" "$top/tests/mkpolicy.py" pol.json '[{"match":"t*","keys":["@k"],"threshold":1}]' k=k.entry
head -c 5000 /dev/urandom > img
faketime -f '-2d' vmseal-sign --key k.key --template t1 --template-version 1 --expires 1d -o exp.json img >/dev/null
expect_deny "faketime: the attestation signed two days ago for one day is expired" "attestation expired at" \
	vmseal-verify --policy pol.json --attestation exp.json img
expect_rc "faketime: two days back it verifies" 0 faketime -f '-2d' vmseal-verify --policy pol.json --attestation exp.json img
past=$(( $(date +%s) - 2 * 86400 ))
expect_deny "VMSEAL_NOW does not move vmseal-verify's clock" "attestation expired at" \
	env VMSEAL_NOW=$past vmseal-verify --policy pol.json --attestation exp.json img
expect_deny "VMSEAL_NOW does not move the test build's clock either" "attestation expired at" \
	env VMSEAL_NOW=$past "$TESTBIN/vmseal-verify" --policy pol.json --attestation exp.json img

# --- VMSEAL_TEST_NO_ENTROPY and VMSEAL_FAULT do nothing in release binaries
expect_rc "release: VMSEAL_TEST_NO_ENTROPY does not stop key generation" 0 \
	env VMSEAL_TEST_NO_ENTROPY=1 vmseal-key generate --out e --no-passphrase --no-wait
expect_err "test build: VMSEAL_TEST_NO_ENTROPY simulates the missing entropy" "entropy pool not initialised" \
	env VMSEAL_TEST_NO_ENTROPY=1 "$TESTBIN/vmseal-key" generate --out e2 --no-passphrase --no-wait
for point in keygen-before-write key-between-files before-rename; do
	expect_rc "release: VMSEAL_FAULT=$point is ignored" 0 env VMSEAL_FAULT=$point vmseal-key generate --out f_$point --no-passphrase
	[ -s f_$point.key ] && [ -s f_$point.pub ] || fail "release generate with VMSEAL_FAULT=$point left no key"
done
(VMSEAL_FAULT=before-rename "$TESTBIN/vmseal-key" generate --out tf --no-passphrase >/dev/null 2>&1) 2>/dev/null
rc=$?
[ $rc = 137 ] && pass "test build: VMSEAL_FAULT=before-rename kills it (exit 137)" || fail "test build fault point: exit $rc"
vmseal-audit append --actor t --event e --decision info a.log >/dev/null
expect_rc "release: VMSEAL_FAULT=audit-mid-line is ignored" 0 \
	env VMSEAL_FAULT=audit-mid-line vmseal-audit append --actor t --event e2 --decision info a.log
expect_rc "release: the audit chain is whole" 0 vmseal-audit verify a.log
