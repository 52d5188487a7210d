#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# vmseal-audit CLI: verify ok, tamper names the seq, I/O errors, kill -9 mid-append, show.
source "$(dirname "$0")/lib.sh"

log=$T/audit.log
add() { vmseal-audit append --actor hook --event hook.start --decision "${2:-deny}" \
	--object "domain web$1 disk vda" --reason "not signed" "$log"; }

for i in $(seq 1 12); do add "$i" || fail "append $i"; done

expect_rc "verify intact log" 0 vmseal-audit verify "$log"
grep -qx 'ok 12 entries' "$T/out" && pass "prints ok 12 entries" || fail "output: $(cat "$T/out")"

# an independent look at the chain: line 2's prev is sha256 of line 1 without its newline
h=$(head -1 "$log" | tr -d '\n' | sha256sum | cut -d' ' -f1)
sed -n 2p "$log" | grep -q "\"prev\":\"$h\"}$" && pass "prev is SHA-256 of the previous line" \
	|| fail "line 2 prev is not $h"
head -1 "$log" | grep -q '"prev":"0\{64\}"}$' && pass "first prev is 64 zeros" || fail "first prev"

cp "$log" "$T/tampered.log"
sed -i '7s/web7/wfb7/' "$T/tampered.log"
expect_deny "one byte edited in seq 7" "^vmseal-audit: denied: $T/tampered.log: seq 7: " \
	vmseal-audit verify "$T/tampered.log"

cp "$log" "$T/tampered.log"
sed -i '5s/"deny"/"allow"/' "$T/tampered.log"
expect_deny "decision flipped in seq 5" ": seq 5: " vmseal-audit verify "$T/tampered.log"

cp "$log" "$T/tampered.log"
sed -i '9d' "$T/tampered.log"
expect_deny "deleted seq 9" ": seq 9: missing" vmseal-audit verify "$T/tampered.log"

expect_err "missing file is exit 2" "^vmseal-audit: error: $T/nope.log: cannot open" \
	vmseal-audit verify "$T/nope.log"
expect_rc "no command is a usage error" 2 vmseal-audit
expect_rc "verify without file is a usage error" 2 vmseal-audit verify
expect_rc "unknown command is a usage error" 2 vmseal-audit frobnicate "$log"
expect_rc "append without --decision is a usage error" 2 \
	vmseal-audit append --actor a --event e "$log"
expect_rc "--help" 0 vmseal-audit --help
grep -q '^Exit status:' "$T/out" && grep -q 'Examples:' "$T/out" && pass "--help documents exit codes and examples" \
	|| fail "--help text"
expect_rc "--version" 0 vmseal-audit --version
grep -qx "vmseal-audit $VERSION" "$T/out" && pass "--version prints the version" || fail "--version: $(cat "$T/out")"

# kill -9 half-way through writing a line
{ VMSEAL_FAULT=audit-mid-line "$TESTBIN/vmseal-audit" append --actor hook --event hook.start --decision deny \
	--object crash "$log"; rc=$?; } 2>/dev/null
[ $rc = 137 ] && pass "fault point kills the appender (exit 137)" || fail "appender exit $rc, want 137"
[ -n "$(tail -c 1 "$log")" ] && pass "log ends in a torn line" || fail "log still ends with a newline"
expect_deny "verify reports the torn last line" ": seq 13: torn last line" vmseal-audit verify "$log"
expect_rc "next append works" 0 add 13 allow
expect_rc "verify after recovery" 0 vmseal-audit verify "$log"
grep -qx 'ok 13 entries' "$T/out" && pass "chain resumed: ok 13 entries" || fail "output: $(cat "$T/out")"
grep -q 'torn line(s) skipped, the first after seq 12' "$T/err" && pass "warns about the skipped fragment" \
	|| fail "warning: $(cat "$T/err")"
[ "$(grep -c '^{"seq":13,' "$log")" = 2 ] && pass "fragment kept on its own line" || fail "fragment layout"

# show
expect_rc "show" 0 vmseal-audit show "$log"
[ "$(grep -c 'hook.start' "$T/out")" = 13 ] && pass "show lists 13 entries" || fail "show: $(cat "$T/out")"
grep -q 'line 13 skipped' "$T/err" && pass "show notes the torn line" || fail "show stderr: $(cat "$T/err")"
expect_rc "show --since 12 --json" 0 vmseal-audit show --since 12 --json "$log"
[ "$(wc -l <"$T/out")" = 2 ] && head -1 "$T/out" | grep -q '^{"seq":12,' && pass "show --since/--json" \
	|| fail "show --json: $(cat "$T/out")"
expect_rc "show --since bad" 2 vmseal-audit show --since x "$log"

# concurrent appenders (separate processes)
for p in 1 2 3 4; do
	( for i in $(seq 1 25); do add "p$p-$i" allow || exit 1; done ) &
done
wait
expect_rc "verify after 4 concurrent appenders" 0 vmseal-audit verify "$log"
grep -qx 'ok 113 entries' "$T/out" && pass "all 100 concurrent events chained" || fail "output: $(cat "$T/out")"
