#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make install PREFIX=/usr DESTDIR=...`: binaries, man pages, bash completion (one link per
# command), example policy; nothing under /etc (the policy is the administrator's).
source "$(dirname "$0")/lib.sh"
command -v scdoc >/dev/null || { skip "install: scdoc not installed (make deps)"; exit 0; }
san=; [ "${BUILD:-build}" = build-san ] && san=SAN=1
root=$T/root
if make -s -C "$top" $san install PREFIX=/usr DESTDIR="$root" >"$T/make.log" 2>&1; then
	pass "make install into DESTDIR"
else
	fail "make install: $(tail -5 "$T/make.log")"; exit 0
fi
n=0
for b in "$BIN"/vmseal-*; do
	name=$(basename "$b")
	n=$((n + 1))
	[ -x "$root/usr/bin/$name" ] || fail "$name not installed in /usr/bin"
	ls "$root"/usr/share/man/man[18]/"$name".[18] >/dev/null 2>&1 || fail "$name: no man page installed"
	[ "$(readlink "$root/usr/share/bash-completion/completions/$name")" = vmseal ] \
		|| fail "$name: no completion link"
done
pass "$n commands installed with man page and completion link"
[ "$(stat -c %a "$root/usr/bin/vmseal-verify")" = 755 ] && pass "binaries are 0755" || fail "mode $(stat -c %a "$root/usr/bin/vmseal-verify")"
# the hook: a first stage linked with libc alone that loads the judge (a shared object, 0644,
# exporting its entry point alone) from the path it was built for
judge=$root/usr/libexec/vmseal/vmseal-hook-judge.so
[ -f "$judge" ] && [ "$(stat -c %a "$judge")" = 644 ] \
	&& [ "$(nm -D --defined-only "$judge" | awk '{print $3}')" = vmseal_hook_judge_main ] \
	&& strings "$root/usr/bin/vmseal-hook" | grep -qx /usr/libexec/vmseal/vmseal-hook-judge.so \
	&& ! ldd "$root/usr/bin/vmseal-hook" | grep -qE 'libcrypto|libxml2|libjansson' \
	&& pass "hook: /usr/bin/vmseal-hook (libc only) loads /usr/libexec/vmseal/vmseal-hook-judge.so" \
	|| fail "hook: judge $(ls -l "$judge" 2>&1), first stage: $(strings "$root/usr/bin/vmseal-hook" | grep vmseal-hook-judge)"
cmp -s "$top/examples/policy.json" "$root/usr/share/doc/vmseal/examples/policy.json" \
	&& pass "example policy in /usr/share/doc/vmseal/examples" || fail "example policy missing"
[ ! -e "$root/etc" ] && pass "make install writes nothing under /etc" || fail "make install wrote $(find "$root/etc" | head -3)"
man_ok=1
for p in "$root"/usr/share/man/man[18]/*; do
	head -c 200 "$p" | grep -q '^\.TH' || man_ok=0
done
[ $man_ok = 1 ] && pass "installed man pages are roff (.TH)" || fail "a man page is not roff"
if command -v man >/dev/null; then
	MANPAGER=cat man -l "$root/usr/share/man/man1/vmseal-verify.1" 2>/dev/null | grep -q -- '--attestation' \
		&& pass "man renders vmseal-verify(1)" || fail "man -l vmseal-verify.1"
fi
