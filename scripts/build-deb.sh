#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the vmseal .deb with dpkg-buildpackage from a clean copy of the source tree under
# $BUILD/deb/ (dpkg-buildpackage writes its results into the parent of the tree it builds),
# then runs lintian on it. Prints the path of the .deb on the last line.
# LINTIAN=0 skips lintian.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
out=$top/$BUILD/deb
src=$out/vmseal-$version

# Up to date: a .deb (lintian passed) newer than every source file. FORCE=1 rebuilds.
deb=$(ls "$out"/vmseal_"$version"_*.deb 2>/dev/null | head -1 || true)
if [ -n "$deb" ] && [ "${FORCE:-0}" != 1 ] && git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	newer=$(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 -r sh -c 'for f; do if [ -f "$f" ] && [ "$f" -nt "$0" ]; then echo "$f"; fi; done' "$deb" | wc -l)
	if [ "$newer" = 0 ]; then
		echo "vmseal: $deb is up to date (FORCE=1 to rebuild)" >&2
		echo "$deb"
		exit 0
	fi
fi
rm -rf "$out"
mkdir -p "$src"
# The files under version control plus new ones not ignored, never build output.
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$top" ls-files -z --cached --others --exclude-standard |
		(cd "$top" && xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
		tar -C "$top" --null -T - -cf - | tar -C "$src" -xf -
else
	tar -C "$top" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$src" -xf -
fi

echo "vmseal: dpkg-buildpackage in $src" >&2
(cd "$src" && DEB_BUILD_OPTIONS="parallel=${JOBS:-2} ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1) || {
	tail -40 "$out/build.log" >&2
	echo "vmseal: dpkg-buildpackage failed; log: $out/build.log" >&2
	exit 1
}
deb=$(ls "$out"/vmseal_"$version"_*.deb)

if [ "${LINTIAN:-1}" = 1 ]; then
	# lintian refuses to run as root unless told; it only reads the files.
	lintian --allow-root --info --display-info --pedantic --fail-on none "$out"/vmseal_"$version"_*.changes \
		>"$out/lintian.log" 2>&1 || true
	echo "vmseal: lintian ($out/lintian.log):" >&2
	if [ -s "$out/lintian.log" ]; then sed 's/^/  /' "$out/lintian.log" >&2; else echo "  clean" >&2; fi
	if grep -q '^E: ' "$out/lintian.log"; then
		echo "vmseal: lintian found errors" >&2
		rm -f "$deb"
		exit 1
	fi
fi
echo "$deb"
