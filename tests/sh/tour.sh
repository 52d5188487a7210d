#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# README "A short tour", steps 1 and 2, as a reader types them: every "$ " command of their
# blocks runs, in order, in an empty directory (the passphrase files under /run/secrets/ become
# files in the test's directory; the template is a stand-in qcow2).
source "$(dirname "$0")/lib.sh"
command -v qemu-img >/dev/null || { skip "tour: qemu-img not installed"; exit 0; }
cd "$T"
mkdir secrets work
for p in pipeline release; do echo "pass-$p" >secrets/$p.pass; done
awk '/^## A short tour/{on=1; next} /^\*\*3\. /{on=0} /^## /{on=0} on' "$top/README.md" >tour.md
# the "$ " lines of the code blocks, continuation lines joined
awk '/^```/{inb=!inb; next} inb && /^\$ /{cmd=substr($0, 3); while (cmd ~ /\\$/) {getline l; sub(/\\$/, "", cmd); cmd = cmd l} print cmd}' \
	tour.md | sed "s|/run/secrets/|$T/secrets/|g" >tour.cmds
n=$(wc -l <tour.cmds)
[ "$n" -ge 4 ] && pass "tour steps 1-2: $n commands" || { fail "tour: $n commands in $(cat tour.md | head -5)"; exit 0; }
cd work
qemu-img create -q -f qcow2 debian-12.qcow2 16M
i=0
while IFS= read -r cmd; do
	i=$((i + 1))
	if bash -c "$cmd" >"../tour.$i.out" 2>&1; then pass "tour command $i runs: ${cmd:0:60}"
	else fail "tour command $i: $cmd: $(head -c 300 "../tour.$i.out")"; fi
done <../tour.cmds
[ "$("$PY" -c "import json,sys; print(len(json.load(open('debian-12.qcow2.intoto.json'))['signatures']))")" = 2 ] \
	&& pass "the tour's template carries two signatures (pipeline and release)" || fail "signatures: $(cat debian-12.qcow2.intoto.json)"
