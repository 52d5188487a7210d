#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Anchors for the audit chain (#14 item 11, #13 §3, #16 item 8): signed checkpoints against the
# delete-in-the-middle-and-re-chain attack, the hook's head file and its acknowledgement,
# rotation into a continued log, and no appending to a file that is not an audit log.
source "$(dirname "$0")/lib.sh"
cd "$T"
log=$T/audit.jsonl
add() { vmseal-audit append --actor t --event "e$1" --decision info --no-sync "${2:-$log}"; }
for i in $(seq 1 20); do add "$i" || fail "append $i"; done
vmseal-key generate --out auditor --no-passphrase >/dev/null || fail "keygen"
vmseal-key generate --out other --no-passphrase >/dev/null || fail "keygen"

# Re-chains a log after deleting lines (1-based, inclusive) FROM..TO: what anyone who can write
# the file can do, since the chain's SHA-256 is unkeyed. Then appends nothing: the caller does.
rechain() {
	"$PY" - "$@" <<'PY'
import hashlib, json, sys
path, a, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lines = [l.rstrip("\n") for l in open(path)]
keep = lines[:a - 1] + lines[b:]
prev, out = "0" * 64, []
for i, l in enumerate(keep, 1):
    e = json.loads(l)
    e["seq"], e["prev"] = i, prev
    s = json.dumps(e, separators=(",", ":"), ensure_ascii=False)
    out.append(s)
    prev = hashlib.sha256(s.encode()).hexdigest()
open(path, "w").write("\n".join(out) + "\n")
PY
}

# --- checkpoints
expect_rc "checkpoint signs the head of an intact log" 0 \
	vmseal-audit checkpoint --key auditor.key -o cp20.json "$log"
grep -q 'checkpoint of .* at seq 20' out && pass "checkpoint names seq 20" || fail "checkpoint: $(cat out)"
expect_rc "verify --checkpoint on the untouched log" 0 \
	vmseal-audit verify --checkpoint cp20.json --checkpoint-key auditor.pub "$log"
cp "$log" cut.jsonl
rechain cut.jsonl 5 8
for i in 21 22 23 24; do add "$i" cut.jsonl; done
expect_rc "delete-in-the-middle, re-chain and append: the chain alone says ok" 0 vmseal-audit verify cut.jsonl
grep -qx 'ok 20 entries' out && pass "…and even the count is 20" || fail "count: $(cat out)"
expect_deny "…but the checkpoint at seq 20 is no longer in the log" \
	"seq 20: audit log truncated or replaced: cp20.json has hash" \
	vmseal-audit verify --checkpoint cp20.json --checkpoint-key auditor.pub cut.jsonl
head -n 12 "$log" > short.jsonl
expect_deny "a log cut short before the checkpoint fails" "cp20.json is at seq 20, the log ends at seq 12" \
	vmseal-audit verify --checkpoint cp20.json --checkpoint-key auditor.pub short.jsonl
expect_deny "a checkpoint under another key is refused" "no signature by key .* verifies the checkpoint" \
	vmseal-audit verify --checkpoint cp20.json --checkpoint-key other.pub "$log"
"$PY" - <<'PY'
import json, base64
e = json.load(open("cp20.json"))
p = json.loads(base64.b64decode(e["payload"])); p["seq"] = 3
e["payload"] = base64.b64encode(json.dumps(p, separators=(",", ":")).encode()).decode()
json.dump(e, open("cp_forged.json", "w"))
PY
expect_deny "a checkpoint edited after signing is refused" "no signature by key" \
	vmseal-audit verify --checkpoint cp_forged.json --checkpoint-key auditor.pub "$log"
expect_err "--checkpoint without --checkpoint-key is a usage error" "needs --checkpoint-key" \
	vmseal-audit verify --checkpoint cp20.json "$log"
cp cut.jsonl broken.jsonl; sed -i '3s/"e3"/"x3"/' broken.jsonl
expect_deny "checkpoint refuses to sign a broken chain" ": seq 3: " \
	vmseal-audit checkpoint --key auditor.key broken.jsonl

# --- rotation: a continued log verifies on its own
cp "$log" rot.jsonl
expect_rc "rotate seals the old file and continues the chain" 0 vmseal-audit rotate rot.jsonl rot.jsonl.1
add 100 rot.jsonl
add 101 rot.jsonl
expect_rc "rotated file verifies (it ends with the seal)" 0 vmseal-audit verify rot.jsonl.1
grep -qx 'ok 21 entries' out && pass "seal is seq 21" || fail "rotated: $(cat out)"
expect_deny "the new file alone does not start at seq 1: refused without --continues" \
	"it continues a rotated log \(verify with --continues PREV or --prev-head HEX\)" vmseal-audit verify rot.jsonl
expect_rc "verify --continues PREV accepts the continued log" 0 vmseal-audit verify --continues rot.jsonl.1 rot.jsonl
grep -qx 'ok 3 entries (seq 22 to 24, continuing a previous log)' out && pass "continued log: seq 22 to 24" ||
	fail "continued: $(cat out)"
seal=$(tail -1 rot.jsonl.1 | tr -d '\n' | sha256sum | cut -d' ' -f1)
expect_rc "verify --prev-head HEX accepts it without the previous file" 0 vmseal-audit verify --prev-head "$seal" rot.jsonl
expect_deny "--prev-head of another log is refused" "does not continue the previous log" \
	vmseal-audit verify --prev-head "$(printf x | sha256sum | cut -d' ' -f1)" rot.jsonl
expect_deny "--continues a log it does not follow is refused" "does not continue the previous log" \
	vmseal-audit verify --continues short.jsonl rot.jsonl
grep -q '"event":"audit.continue"' rot.jsonl && tail -1 rot.jsonl.1 | grep -q '"event":"audit.rotate"' &&
	pass "seal and continuation are audit events" || fail "no seal/continue events"
cp rot.jsonl.1 sealed.copy
expect_err "appending to the sealed file by its new name is refused" "sealed by a rotation" \
	vmseal-audit append --actor t --event late --decision info rot.jsonl.1
cmp -s rot.jsonl.1 sealed.copy && pass "…and the sealed file is unchanged" || fail "sealed file changed"
expect_rc "continued log still verifies after that" 0 vmseal-audit verify --continues rot.jsonl.1 rot.jsonl

# --- no appending to what is not an audit log
printf 'alias ls="ls --color"\n' > bashrc
cp bashrc bashrc.orig
expect_err "vmseal-audit append refuses a file that is not an audit log" "not an audit log" \
	vmseal-audit append --actor t --event e --decision info bashrc
cmp -s bashrc bashrc.orig && pass "…and leaves it untouched" || fail "bashrc changed"
vmseal-key generate --out pk --no-passphrase >/dev/null
vmseal-key policy-entry pk.pub > pk.entry
"$PY" "$top/tests/mkpolicy.py" pol.json '[{"match":"t-*","keys":["@pk"]}]' "{\"audit_log\":\"$T/bashrc\"}" pk=pk.entry
head -c 4096 /dev/urandom > img
vmseal-sign --key pk.key --template t-1 --template-version 1 img >/dev/null 2>&1 || fail "sign img"
expect_rc "vmseal-verify never appends to a non-audit file named by the policy (the allow becomes an error)" 2 \
	vmseal-verify --policy pol.json img
grep -q "not an audit log" err && cmp -s bashrc bashrc.orig && pass "…the refusal names it, the file is untouched" ||
	fail "verify: $(cat err)"
cp pol.json userpol.json; chmod 0666 userpol.json
: > user.jsonl
"$PY" - <<PY
import json; p = json.load(open("userpol.json")); p["audit_log"] = "$T/user.jsonl"; json.dump(p, open("userpol.json", "w"))
PY
vmseal-verify --policy userpol.json img >/dev/null 2>err
[ ! -s user.jsonl ] && grep -q "ignoring the policy's audit_log" err &&
	pass "a policy writable by others does not choose where vmseal-verify appends" || fail "user policy: $(cat err) / $(cat user.jsonl)"

# --- the hook's head file
command -v qemu-img >/dev/null || { skip "hook head: qemu-img missing"; exit 0; }
"$PY" - "$top/tests/data/xml/web1-prepare-begin.xml" <<'PY' > nodisk.xml
import re, sys
x = open(sys.argv[1]).read().replace("web1", "anchor1")
print(re.sub(r"<disk .*?</disk>\s*", "", x, flags=re.S), end="")
PY
mkdir -p state
cat > hook.conf <<CONF
policy = $T/pol.json
audit_log = $T/hook.jsonl
audit_head = $T/state/audit.head
no_cache = true
CONF
"$PY" "$top/tests/mkpolicy.py" pol.json '[]' pk=pk.entry
hook() { vmseal-hook --config "$T/hook.conf" anchor1 prepare begin - < nodisk.xml; }
expect_rc "hook allows a domain without disks and writes its head" 0 hook
[ -f state/audit.head ] && [ "$(stat -c %a state/audit.head)" = 600 ] && pass "head file is 0600" ||
	fail "head file: $(ls -l state)"
expect_rc "hook runs again: the log still holds the head" 0 hook
expect_rc "vmseal-audit verify --head holds on the untouched log" 0 vmseal-audit verify --head state/audit.head hook.jsonl
cp hook.jsonl hook.saved
head -n 1 hook.saved > hook.jsonl
expect_deny "log cut short: the hook refuses" "audit log truncated or replaced" hook
expect_deny "…and verify --head fails" "audit log truncated or replaced: the head file (is at seq|has hash)" \
	vmseal-audit verify --head state/audit.head hook.jsonl
expect_deny "…and keeps refusing (its own denial does not move the head)" "audit log truncated or replaced" hook
rm hook.jsonl
for i in 1 2 3 4 5 6; do add "$i" hook.jsonl; done
expect_deny "log replaced by another valid chain as long: the hook refuses" "audit log truncated or replaced" hook
expect_err "acknowledge needs a reason" "needs --reason" vmseal-audit acknowledge --head state/audit.head hook.jsonl
expect_rc "an administrator acknowledges" 0 \
	vmseal-audit acknowledge --head state/audit.head --reason "test: log replaced on purpose" hook.jsonl
grep -q '"event":"audit.acknowledge".*head was .* seq .*test: log replaced on purpose' hook.jsonl &&
	pass "the acknowledgement is audited with the old head and the reason" || fail "ack: $(tail -1 hook.jsonl)"
expect_rc "after the acknowledgement the hook allows again" 0 hook
expect_rc "rotate --head moves the hook's head to the new file" 0 \
	vmseal-audit rotate --head state/audit.head hook.jsonl hook.jsonl.1
expect_rc "the hook goes on after a rotation" 0 hook
expect_rc "…and the continued log verifies with its head" 0 \
	vmseal-audit verify --continues hook.jsonl.1 --head state/audit.head hook.jsonl
# logrotate's way (debian/vmseal.logrotate: rename, nocreate): nothing is lost, so the hook
# goes on, and the new file continues the rotated one
mv hook.jsonl hook.jsonl.1
expect_rc "after a logrotate rename the hook goes on" 0 hook
head -1 hook.jsonl | grep -q '"event":"audit.continue"' && pass "…starting the new file with a continuation" ||
	fail "new log: $(head -1 hook.jsonl)"
expect_rc "…which verifies with --continues the renamed file" 0 vmseal-audit verify --continues hook.jsonl.1 hook.jsonl
cp hook.jsonl.1 hook.jsonl.1.bak; head -n 2 hook.jsonl.1.bak > hook.jsonl.1; rm hook.jsonl
expect_deny "a rename with the renamed file cut short is still refused" "audit log truncated or replaced" hook
rm -f hook.jsonl
expect_deny "a log that is gone: the hook refuses" "audit log truncated or replaced" hook
expect_rc "acknowledging a log that is gone starts it afresh" 0 \
	vmseal-audit acknowledge --head state/audit.head --reason "test: log deleted" hook.jsonl
expect_rc "…and the hook allows again" 0 hook
