#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Man pages and --help agree: every command in the build has a page in man/, the page renders,
# and the set of --long-options named in `CMD --help` (plus `CMD SUB --help` for every
# subcommand the help lists) equals the set named in the page. Every long option a program
# accepts (its getopt tables, "--x" literals) must be in its --help too.
source "$(dirname "$0")/lib.sh"
cd "$T"

opts_of() { grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }

# help_text CMD: the command's help and the help of each subcommand listed under "Commands:".
help_text() {
	local cmd=$1 sub
	"$cmd" --help
	for sub in $("$cmd" --help | sed -n '/^Commands:/,/^$/p' | sed -nE 's/^  ([a-z][a-z0-9-]*)( .*)?$/\1/p' | sort -u); do
		"$cmd" "$sub" --help 2>&1
	done
}

# compare NAME HELP_OPTS MAN_OPTS: one PASS or one FAIL naming what differs.
compare() {
	local name=$1 missing extra
	missing=$(comm -23 "$2" "$3" | tr '\n' ' ')
	extra=$(comm -13 "$2" "$3" | tr '\n' ' ')
	if [ -z "$missing$extra" ]; then
		pass "$name: --help and man page name the same $(wc -l <"$2") options"
		return 0
	fi
	fail "$name: ${missing:+in --help but not in the man page: $missing}${extra:+in the man page but not in --help: $extra}"
	return 1
}

page_of() { ls "$top"/man/"$1".[1-8].scd 2>/dev/null | head -1; }

cmds=()
for b in "$BIN"/vmseal-*; do [ -x "$b" ] && cmds+=("$(basename "$b")"); done
[ ${#cmds[@]} -ge 7 ] && pass "found ${#cmds[@]} commands in the build" || fail "only ${#cmds[@]} commands in $BIN"

for cmd in "${cmds[@]}"; do
	page=$(page_of "$cmd")
	if [ -z "$page" ]; then
		fail "$cmd: no man page man/$cmd.N.scd"
		continue
	fi
	help_text "$cmd" >"$cmd.help" 2>&1
	opts_of <"$cmd.help" >"$cmd.hopts"
	# (a SERVICE section shows other programs' command lines: setpriv's options are not ours)
	awk '/^# SERVICE$/ {skip = 1; next} /^# / {skip = 0} !skip' "$page" | opts_of >"$cmd.mopts"
	compare "$cmd" "$cmd.hopts" "$cmd.mopts"

	# What the program accepts must be documented in --help.
	dir=$(dirname "$(ls "$top"/{signer,verifier,agent,api}/"$cmd".c 2>/dev/null | head -1)")
	srcs=("$dir/$cmd.c" $(ls "$dir/${cmd#vmseal-}"_*.c 2>/dev/null))
	{ grep -ohE '\{"[a-z][a-z0-9-]*", *(no|required|optional)_argument' "${srcs[@]}" | sed -E 's/\{"([^"]*)".*/--\1/'
	  grep -ohE '"--[a-z][a-z0-9-]*"' "${srcs[@]}" | tr -d '"'; } | sort -u >"$cmd.sopts"
	undocumented=$(comm -23 "$cmd.sopts" "$cmd.hopts" | tr '\n' ' ')
	[ -z "$undocumented" ] && pass "$cmd: every option it accepts ($(wc -l <"$cmd.sopts")) is in --help" \
		|| fail "$cmd: accepted but not in --help: $undocumented"

	# The page renders (scdoc is the build's tool for it) and says what every page must.
	if command -v scdoc >/dev/null; then
		if scdoc <"$page" >"$cmd.roff" 2>"$cmd.scdoc-err"; then
			pass "$cmd: man page renders"
		else
			fail "$cmd: scdoc: $(cat "$cmd.scdoc-err")"
		fi
	else
		skip "$cmd: scdoc not installed, page not rendered"
	fi
	for sect in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
		grep -q "^# $sect\$" "$page" || fail "$cmd: man page has no $sect section"
	done
	grep -q -- '--version' "$cmd.hopts" && "$cmd" --version | grep -qx "$cmd $VERSION" \
		|| fail "$cmd: --version missing or not \"$cmd $VERSION\""
done

# The comparison catches drift: drop one option from a page, add one to --help.
cmd=vmseal-verify
grep -v -- '--json' "$cmd.mopts" >drift.mopts
compare "drift check (must FAIL)" "$cmd.hopts" drift.mopts >drift.out
grep -q '^FAIL: .*in --help but not in the man page: --json' drift.out \
	&& pass "a man page missing an option is caught" || fail "drift not caught: $(cat drift.out)"
{ cat "$cmd.hopts"; echo --frobnicate; } | sort >drift.hopts
compare "drift check (must FAIL)" drift.hopts "$cmd.mopts" >drift.out
grep -q 'in --help but not in the man page: --frobnicate' drift.out \
	&& pass "an option only in --help is caught" || fail "drift not caught: $(cat drift.out)"

# Built pages (make man) are what make install ships.
if [ -d "$top/$(basename "$(dirname "$BIN")")/man" ]; then
	for cmd in "${cmds[@]}"; do
		ls "$(dirname "$BIN")"/man/"$cmd".[1-8] >/dev/null 2>&1 || fail "$cmd: page not built by make man"
	done
	pass "make man built a page for every command"
fi

# One version for all: debian/changelog's, printed through lib/cli (cli_version) and put into the
# built pages' headers; no program or library file spells a version of its own.
[ -n "$VERSION" ] && pass "version $VERSION read from debian/changelog" || fail "no version in debian/changelog"
own=$(grep -nE '"[0-9]+\.[0-9]+\.[0-9]+"|[a-z] [0-9]+\.[0-9]+\.[0-9]+\\n|PROG " [0-9]|#define VERSION ' "$top"/lib/*.[ch] "$top"/signer/*.c \
	"$top"/verifier/*.c "$top"/agent/*.c "$top"/api/*.c | head -3)
[ -z "$own" ] && pass "no source file hard-codes a version" || fail "a version spelled in the source: $own"
if [ -d "$(dirname "$BIN")/man" ]; then
	bad=$(for p in "$(dirname "$BIN")"/man/vmseal-*.[1-8]; do grep "^\.TH" "$p" | grep -q "\"vmseal $VERSION\"" || echo "$p"; done)
	[ -z "$bad" ] && pass "built man pages carry version $VERSION" || fail "man page headers: $bad"
fi
