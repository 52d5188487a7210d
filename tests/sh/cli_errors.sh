#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# #14 item 12: one way to fail. Every usage error is exactly one line on stderr and exit 2 (no
# getopt line before the program's), --json prints JSON on every path, no error is printed
# twice, numbers are parsed strictly ("1x", " 1", "+1", "-1" refused).
source "$(dirname "$0")/lib.sh"
cd "$T"

# one_line NAME CMD...: exit 2, exactly one line on stderr, nothing on stdout
one_line() {
	local name=$1; shift
	"$@" >out 2>err
	local rc=$? n
	n=$(wc -l < err)
	if [ "$rc" = 2 ] && [ "$n" = 1 ] && [ ! -s out ]; then pass "$name"; return 0; fi
	fail "$name (exit $rc, $n stderr lines: $(head -c 300 err | tr '\n' '|') stdout: $(head -c 100 out))"
}
for p in vmseal-key vmseal-digest vmseal-sign vmseal-verify vmseal-audit vmseal-policy vmseal-gateway vmseal-call; do
	one_line "$p --bogus: one line, exit 2" $p --bogus
done
one_line "vmseal-hook --bogus: one line, exit 2" vmseal-hook --bogus x y z
for p in vmseal-key vmseal-audit vmseal-policy; do
	one_line "$p without a command: one line, exit 2" $p
done
for c in generate id policy-entry list rotate revoke backup recover destroy; do
	one_line "vmseal-key $c --bogus: one line, exit 2" vmseal-key $c --bogus
done
for c in verify show append checkpoint acknowledge rotate; do
	one_line "vmseal-audit $c --bogus: one line, exit 2" vmseal-audit $c --bogus
done
for c in root sign verify install; do
	one_line "vmseal-policy $c --bogus: one line, exit 2" vmseal-policy $c --bogus
done
one_line "a missing option value: one line" vmseal-verify --policy
for c in ssh-cert ssh-krl; do
	one_line "vmseal-call $c --bogus: one line, exit 2" vmseal-call $c --bogus
done
one_line "vmseal-call ssh-cert without --url and --key: one line, exit 2" vmseal-call ssh-cert --ssh-key k.pub --principal p
one_line "vmseal-call ssh-krl without --url and --key: one line, exit 2" vmseal-call ssh-krl --out x
one_line "vmseal-call --expires-in 0: one line, exit 2" vmseal-call --url https://x --key k --expires-in 0 GET /
one_line "vmseal-call --omit-param bogus: one line, exit 2" vmseal-call --url https://x --key k --omit-param bogus GET /
one_line "vmseal-call without METHOD and PATH: one line, exit 2" vmseal-call --url https://x --key k
one_line "vmseal-gateway without its required options: one line, exit 2" vmseal-gateway

# strict numbers
vmseal-key generate --out r1 --no-passphrase >/dev/null
for bad in 1x " 1" +1 -1 0x1 "" 99999999999999999999999; do
	one_line "vmseal-policy root --threshold [$bad] refused" vmseal-policy root --threshold "$bad" -o root.json r1.pub
done
[ ! -e root.json ] && pass "…and no root.json written" || fail "root.json written"
head -c 1000 /dev/zero > img
for bad in 3x " 3" +3 -3; do
	one_line "vmseal-sign --template-version \"$bad\" refused" vmseal-sign --key r1.key --template t --template-version "$bad" img
	one_line "vmseal-digest --threads \"$bad\" refused" vmseal-digest --threads "$bad" img
	one_line "vmseal-audit show --since \"$bad\" refused" vmseal-audit show --since "$bad" log
	one_line "vmseal-key backup --shares \"$bad\" refused" vmseal-key backup --shares "$bad" --threshold 2 r1.key
	one_line "vmseal-gateway --threads \"$bad\" refused" vmseal-gateway --threads "$bad"
done
expect_rc "vmseal-policy root --threshold 1 works" 0 vmseal-policy root --threshold 1 -o root.json r1.pub

# --json on every path
is_json() { "$PY" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1]) if l.strip()] or sys.exit(1)' "$1"; }
vmseal-verify --json >out 2>err; rc=$?
[ $rc = 2 ] && is_json out && grep -q '"error":"usage"' out && pass "vmseal-verify --json: a usage error is JSON too" ||
	fail "json usage: rc $rc $(cat out)"
vmseal-verify --bogus --json >out 2>err
is_json out && pass "vmseal-verify --json: a bad option (before --json) is JSON too" || fail "json bad option: $(cat out)"
vmseal-verify --json --policy nope.json img >out 2>err; rc=$?
[ $rc = 2 ] && is_json out && grep -q '"decision":"error"' out && pass "vmseal-verify --json: a runtime error is JSON" ||
	fail "json runtime: rc $rc $(cat out)"
[ "$(wc -l < err)" = 1 ] && pass "…and the error is printed once" || fail "error lines: $(cat err)"

# no error printed twice: an allow whose audit event cannot be written
vmseal-key policy-entry r1.pub > r1.entry
"$PY" "$top/tests/mkpolicy.py" pol.json '[{"match":"t","keys":["@r1"]}]' r1=r1.entry
vmseal-sign --key r1.key --template t --template-version 1 img >/dev/null 2>&1 || fail "sign"
mkdir ro; printf 'not an audit log\n' > ro/log
vmseal-verify --policy pol.json --audit-log ro/log img >out 2>err; rc=$?
[ $rc = 2 ] && [ "$(grep -c 'not an audit log' err)" = 1 ] && pass "an unrecordable allow: exit 2, the error printed once" ||
	fail "audit failure: rc $rc, $(cat err)"
vmseal-audit show --json nope.jsonl >out 2>err; rc=$?
[ $rc = 2 ] && is_json out && grep -q '"decision":"error"' out && pass "vmseal-audit show --json: an I/O error is a JSON line" ||
	fail "audit show json: rc $rc $(cat out)"
vmseal-audit show --json --since 1x nope.jsonl >out 2>err; rc=$?
[ $rc = 2 ] && is_json out && grep -q '"error":"usage"' out && [ "$(wc -l < err)" = 1 ] &&
	pass "vmseal-audit show --json: a usage error is JSON, one line on stderr" || fail "audit show json usage: rc $rc $(cat out)"
