#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Valgrind memcheck on the CLIs' main paths: no memory error, nothing "definitely" or
# "indirectly" lost. Runs when valgrind is installed and the build is not a sanitizer build
# (ASan binaries do not run under valgrind). First proves that the check catches a leak.
source "$(dirname "$0")/lib.sh"
cd "$T"
if ! command -v valgrind >/dev/null; then
	skip "valgrind not installed"
	exit 0
fi
case "$BIN" in *build-san*) skip "valgrind: sanitizer build (make check without SAN=1 runs it)"; exit 0 ;; esac

# vg NAME WANT_RC CMD...: runs CMD under memcheck; leaks of kind definite/indirect and any
# memory error count as errors (exit 99), and the log must report none.
vg() {
	local name=$1 want=$2; shift 2
	valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --track-origins=no --child-silent-after-fork=yes \
		--log-file="$T/vg.log" "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	# Errors are "==PID==" lines; "--PID--" lines are valgrind's own notes (it does not know
	# mlock2, which secrets_protect_process tries).
	if [ "$rc" = "$want" ] && ! grep -q '^==' "$T/vg.log"; then
		pass "valgrind: $name"
	else
		fail "valgrind: $name (exit $rc, want $want): $(grep -E 'lost|Invalid|uninitialised|ERROR SUMMARY' "$T/vg.log" | head -5) $(head -c 300 "$T/err")"
	fi
}

# The check itself: a program that leaks must fail it.
if command -v cc >/dev/null; then
	printf '#include <stdlib.h>\n#include <string.h>\nint main(void){char *p=malloc(64);memset(p,1,64);p=0;return 0;}\n' > leak.c
	cc -g -O0 -o leak leak.c
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--log-file="$T/vg.log" ./leak
	[ $? = 99 ] && grep -q "definitely lost" "$T/vg.log" && pass "valgrind catches a leak (self-check)" ||
		fail "valgrind self-check: a leaking program passed"
fi

echo pw-for-valgrind > pw
head -c 300000 /dev/urandom > img
vg "vmseal-key generate (encrypted)" 0 vmseal-key generate --out k --passphrase-file pw
vg "vmseal-key generate --alg p256 (plain)" 0 vmseal-key generate --alg p256 --out p --no-passphrase
vg "vmseal-key id" 0 vmseal-key id k.pub
vmseal-key policy-entry k.pub > k.entry
"$PY" "$top/tests/mkpolicy.py" pol.json '[{"match":"t*","keys":["@k"],"threshold":1}]' k=k.entry
vg "vmseal-sign" 0 vmseal-sign --key k.key --passphrase-file pw --template t1 --template-version 1 \
	--audit-log audit.log img
vg "vmseal-sign --append (second key)" 0 vmseal-sign --key p.key --template t1 --template-version 1 --append img
vg "vmseal-verify allow" 0 vmseal-verify --policy pol.json --audit-log audit.log img
grep -q '^allowed' "$T/out" || fail "vmseal-verify under valgrind did not allow: $(cat "$T/out")"
printf 'x' | dd of=img bs=1 seek=1000 conv=notrunc status=none
vg "vmseal-verify deny (image changed)" 1 vmseal-verify --policy pol.json --audit-log audit.log img
vg "vmseal-verify deny (no attestation)" 1 vmseal-verify --policy pol.json --attestation missing.json img
vg "vmseal-digest" 0 vmseal-digest --sha256 img
vg "vmseal-audit verify" 0 vmseal-audit verify audit.log
vg "vmseal-audit show" 0 vmseal-audit show audit.log
