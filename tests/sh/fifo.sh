#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# No input blocks a CLI: a FIFO (or a socket, a character device, a directory) given where a file
# is expected is refused at once with one line naming the path and its type. Each call runs under
# `timeout 5`, so a hang fails the test (exit 124) instead of hanging CI. Before the shared open
# helper (vs_open_input), each of these blocked for ever in open() or read().
source "$(dirname "$0")/lib.sh"
cd "$T"
mkp() { "$PY" "$top/tests/mkpolicy.py" "$@"; }
echo pass1 > pw
vmseal-key generate --out a --passphrase-file pw >/dev/null || fail "keygen a"
vmseal-key generate --out r1 --no-passphrase >/dev/null || fail "keygen r1"
vmseal-key policy-entry a.pub --owner pipeline > a.entry
mkp pol.json '[{"match":"debian-*","keys":["@a"]}]' a=a.entry
head -c 100000 /dev/urandom > img
vmseal-sign --key a.key --passphrase-file pw --template debian-12 --template-version 1 img >/dev/null \
	|| fail "sign img"
vmseal-audit append --actor t --event e --decision info audit.jsonl >/dev/null || fail "audit append"
mkdir trust
vmseal-policy root --threshold 1 -o trust/root.json r1.pub >/dev/null || fail "root"
vmseal-policy sign --key r1.key -o pol.bundle pol.json >/dev/null || fail "bundle"
vmseal-key backup --shares 3 --threshold 2 a.key >/dev/null || fail "backup"
mkfifo fifo

# expect_fifo NAME RC CMD...: exit RC within 5 s, stderr one line saying the input is a FIFO.
expect_fifo() {
	local name=$1 want=$2; shift 2
	timeout 5 "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" = "$want" ] && grep -q "is a FIFO" "$T/err" && [ "$(wc -l < "$T/err")" = 1 ] \
		&& ! grep -q allowed "$T/out"; then
		pass "$name"; return 0
	fi
	fail "$name (exit $rc, want $want; stderr: $(head -c 300 "$T/err"))"
}

# --- vmseal-verify: image, attestation, policy, root.json beside the policy
expect_fifo "verify: FIFO image" 2 vmseal-verify --policy pol.json --attestation img.intoto.json fifo
expect_fifo "verify: FIFO attestation is a denial" 1 vmseal-verify --policy pol.json --attestation fifo img
expect_fifo "verify: FIFO policy" 2 vmseal-verify --policy fifo img
mkdir rootdir && cp pol.json rootdir/policy.json && mkfifo rootdir/root.json
expect_fifo "verify: FIFO root.json beside the policy" 2 vmseal-verify --policy rootdir/policy.json img

# --- vmseal-sign and vmseal-digest: image, key, passphrase, attestation to countersign
expect_fifo "sign: FIFO image" 2 vmseal-sign --key a.key --passphrase-file pw --template debian-12 \
	--template-version 1 -o x.json fifo
expect_fifo "sign: FIFO key" 2 vmseal-sign --key fifo --passphrase-file pw --template debian-12 \
	--template-version 1 -o x.json img
expect_fifo "sign: FIFO passphrase file" 2 vmseal-sign --key a.key --passphrase-file fifo \
	--template debian-12 --template-version 1 -o x.json img
expect_fifo "sign --append: FIFO envelope" 2 vmseal-sign --key a.key --passphrase-file pw --append -o fifo img
expect_fifo "digest: FIFO image" 2 vmseal-digest fifo

# --- vmseal-key: key files, passphrase files, shares
expect_fifo "key id: FIFO key" 2 vmseal-key id fifo
expect_fifo "key generate: FIFO passphrase file" 2 vmseal-key generate --out g --passphrase-file fifo
[ ! -e g.key ] && pass "no key written after the FIFO passphrase" || fail "g.key written"
expect_fifo "key policy-entry: FIFO public key" 2 vmseal-key policy-entry fifo
mkdir kb && mkfifo kb/k.key && cp a.pub kb/k.pub
expect_fifo "key backup: FIFO key" 2 vmseal-key backup --shares 3 --threshold 2 kb/k.key
expect_fifo "key recover: FIFO share" 2 vmseal-key recover --out rec a.share-1-of-3.json fifo

# --- vmseal-audit: the log read for verify and show
expect_fifo "audit verify: FIFO log" 2 vmseal-audit verify fifo
expect_fifo "audit show: FIFO log" 2 vmseal-audit show fifo

# --- vmseal-policy: policy to sign, bundle, root of trust, installed policy
expect_fifo "policy sign: FIFO policy" 2 vmseal-policy sign --key r1.key -o y.bundle fifo
expect_fifo "policy sign: FIFO key" 2 vmseal-policy sign --key fifo -o y.bundle pol.json
expect_fifo "policy verify: FIFO bundle" 2 vmseal-policy verify --root trust/root.json fifo
expect_fifo "policy verify: FIFO root" 2 vmseal-policy verify --root fifo pol.bundle
mkdir etc && cp trust/root.json etc/
expect_fifo "policy install: FIFO bundle" 2 vmseal-policy install --policy etc/policy.json fifo
[ ! -e etc/policy.json ] && pass "nothing installed from a FIFO" || fail "policy installed"

# --- vmseal-call and vmseal-gateway: keys, bodies, certificates (refused before any connection)
expect_fifo "call: FIFO key" 2 vmseal-call --url https://127.0.0.1:1 --key fifo GET /v1/domains
expect_fifo "call: FIFO body" 2 vmseal-call --url https://127.0.0.1:1 --key r1.key POST /v1/domains @fifo
expect_fifo "call: FIFO CA certificate" 2 vmseal-call --url https://127.0.0.1:1 --key r1.key \
	--cacert fifo GET /v1/domains
expect_fifo "gateway: FIFO TLS certificate" 2 vmseal-gateway --listen 127.0.0.1:0 --tls-cert fifo \
	--tls-key r1.key --policy pol.json --libvirt test:///default --response-key r1.key \
	--audit-log "$T/gw.jsonl"

# --- a FIFO with a writer holding it open: the open would succeed, the first read block
sleep 30 > fifo &
writer=$!
cleanup_hooks+=("kill $writer 2>/dev/null")
expect_fifo "verify: FIFO attestation with a writer attached" 1 vmseal-verify --policy pol.json \
	--attestation fifo img
kill $writer 2>/dev/null; wait $writer 2>/dev/null

# --- other types where a file is expected
timeout 5 vmseal-verify --policy /dev/zero img >out 2>err
rc=$?
[ $rc = 2 ] && grep -q "/dev/zero: .*is a character device, not a regular file" err \
	&& pass "verify: character device as policy refused" || fail "char device policy (exit $rc): $(cat err)"
timeout 5 vmseal-verify --policy . img >out 2>err
rc=$?
[ $rc = 2 ] && grep -q "is a directory, not a regular file" err && pass "verify: directory as policy refused" \
	|| fail "directory policy (exit $rc): $(cat err)"
"$PY" -c "import socket; s=socket.socket(socket.AF_UNIX); s.bind('$T/sock')"
timeout 5 vmseal-audit verify sock >out 2>err
rc=$?
[ $rc = 2 ] && grep -qE "sock: .*(is a socket|No such device or address)" err \
	&& pass "audit verify: socket refused" || fail "socket log (exit $rc): $(cat err)"
