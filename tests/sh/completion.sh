#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Bash completion (completion/vmseal): every command is registered; subcommands are those each
# --help lists; for every command and subcommand the options offered are exactly the options
# the program accepts (its getopt tables and "--x" literals); values and files complete.
source "$(dirname "$0")/lib.sh"
cd "$T"
comp=$top/completion/vmseal
# shellcheck source=/dev/null
source "$comp" || { fail "completion/vmseal does not source"; exit 0; }
pass "completion/vmseal sources"

# complete_line WORDS...: runs the completion function as bash would with the cursor on the
# last word; prints the candidates sorted, one per line.
complete_line() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_vmseal 2>/dev/null
	printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort -u
}

expect_words() { # NAME EXPECTED(space separated) WORDS...
	local name=$1 want got
	want=$(tr ' ' '\n' <<<"$2" | sed '/^$/d' | sort -u | tr '\n' ' ')
	shift 2
	got=$(complete_line "$@" | tr '\n' ' ')
	[ "$got" = "$want" ] && pass "$name" || fail "$name: got [$got], want [$want]"
}

# Accepted long options, read from a program's sources.
# (vmseal-gateway's tables of options name their configuration field with CFG(field).)
accepted() {
	{ grep -ohE '\{"[a-z][a-z0-9-]*", *((no|required|optional)_argument|CFG\()' "$@" | sed -E 's/\{"([^"]*)".*/--\1/'
	  grep -ohE '"--[a-z][a-z0-9-]*"' "$@" | tr -d '"'; } | sort -u
}

cmds=()
for b in "$BIN"/vmseal-*; do [ -x "$b" ] && cmds+=("$(basename "$b")"); done
for cmd in "${cmds[@]}"; do
	complete -p "$cmd" 2>/dev/null | grep -q -- '-F _vmseal' || fail "$cmd: no completion registered"
	src=$(ls "$top"/{signer,verifier,agent,api}/"$cmd".c 2>/dev/null | head -1)
	dir=$(dirname "$src")
	subs=$("$cmd" --help | sed -n '/^Commands:/,/^$/p' | sed -nE 's/^  ([a-z][a-z0-9-]*)( .*)?$/\1/p' | sort -u)
	if [ -n "$subs" ]; then
		expect_words "$cmd: subcommands as --help lists them" "$subs" "$cmd" ""
	fi
	if [ "$cmd" = vmseal-key ]; then
		# One source file per subcommand: compare each.
		[ "$(complete_line "$cmd" --)" = "$(accepted "$src")" ] && pass "$cmd: top-level options" \
			|| fail "$cmd: top-level options: [$(complete_line "$cmd" -- | tr '\n' ' ')]"
		for sub in $subs; do
			want=$(accepted "$dir/key_${sub//-/_}.c" | tr '\n' ' ')
			expect_words "$cmd $sub: options it accepts" "$want" "$cmd" "$sub" --
		done
		continue
	fi
	srcs=("$src" $(ls "$dir/${cmd#vmseal-}"_*.c "$dir/${cmd#vmseal-}".h 2>/dev/null))
	want=$(accepted "${srcs[@]}" | tr '\n' ' ')
	got=$({ complete_line "$cmd" --; for sub in $subs; do complete_line "$cmd" "$sub" --; done; } | sort -u | tr '\n' ' ')
	[ "$got" = "$want" ] && pass "$cmd: options offered = options accepted ($(wc -w <<<"$want"))" \
		|| fail "$cmd: options offered [$got], accepted [$want]"
done

# Subcommand-specific options are offered only after their subcommand.
expect_words "vmseal-policy verify: only its options" "--root --help" vmseal-policy verify --
expect_words "vmseal-audit show: only its options" "--since --json" vmseal-audit show --
expect_words "prefix filters options" "--template --template-version" vmseal-sign --key k.key --templ
expect_words "subcommand prefix" "recover revoke rotate" vmseal-key r

# Values.
expect_words "--alg values" "ed25519 p256 rsa3072" vmseal-key generate --alg ""
expect_words "--alg values of vmseal-call" "ed25519 ecdsa-p256-sha256 rsa-pss-sha512" vmseal-call --alg ""
expect_words "--role values" "admin auditor operator signer ssh viewer" vmseal-key policy-entry k.pub --role ""
expect_words "--format values" "qcow2" vmseal-sign --format q
expect_words "--decision values" "deny" vmseal-audit append --decision de
expect_words "vmseal-call METHOD" "GET" vmseal-call --url https://gw:8443 --key k.key G
expect_words "vmseal-call PATH" "/v1/domains /v1/domains/" vmseal-call --url https://gw:8443 GET /v1/d
expect_words "vmseal-hook operation" "start started stopped" vmseal-hook web1 st
expect_words "vmseal-hook sub-operation" "begin end" vmseal-hook web1 start ""
expect_words "free-text values offer nothing" "" vmseal-sign --template ""

# Files.
mkdir -p pols && touch pols/policy.json pols/policy.json.bundle pols/other
expect_words "files after --policy" "pols/policy.json pols/policy.json.bundle" vmseal-verify --policy pols/po
expect_words "IMAGE argument is a file" "pols/other" vmseal-digest pols/ot
expect_words "--out-dir offers directories" "pols" vmseal-key backup --out-dir po

# The comparison would catch a drifted table.
_vmseal_opts_orig=$(declare -f _vmseal_opts)
eval "$(declare -f _vmseal_opts | sed 's/ --json --audit-log --progress/ --audit-log --progress/')"
got=$(complete_line vmseal-verify -- | tr '\n' ' ')
want=$(accepted "$top/verifier/vmseal-verify.c" | tr '\n' ' ')
[ "$got" != "$want" ] && pass "a completion table missing --json is caught" || fail "drift not caught"
eval "$_vmseal_opts_orig"
