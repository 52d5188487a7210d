#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Image pipeline step: make a template trust the vmseal SSH CA, before the template is signed.
# Writes into the image tree ROOT (a mounted or unpacked template, e.g. with guestmount):
#   ROOT/etc/ssh/vmseal-user-ca.pub               the CA's public key (GET /v1/ssh/ca)
#   ROOT/etc/ssh/vmseal-principals/USER           the certificate principals that may log in as USER
#   ROOT/etc/ssh/vmseal-revoked.krl               the KRL (GET /v1/ssh/krl), or an empty one
#   ROOT/etc/ssh/sshd_config.d/50-vmseal.conf     TrustedUserCAKeys, AuthorizedPrincipalsFile,
#                                                 RevokedKeys (and no password logins)
# Every VM started from the signed template then accepts exactly the certificates this CA
# issues for the listed principals, minus those revoked; no per-VM key is ever copied in.
#
# Usage: template-ssh.sh ROOT --ca-pub CA.pub --principal USER=NAME[,NAME...]... [--krl FILE]
# Example: template-ssh.sh /mnt/debian-12 --ca-pub vmseal-ssh-ca.pub --principal root=admin
#          --principal deploy=deploy,admin --krl revoked.krl
# Exit status: 0 written, 2 usage or I/O error (nothing is half-written: each file is written
# to a temp name and renamed).
set -euo pipefail
prog=template-ssh.sh
die() { echo "$prog: error: $*" >&2; exit 2; }

[ $# -ge 1 ] || die "usage: $prog ROOT --ca-pub CA.pub --principal USER=NAMES... [--krl FILE]"
root=$1; shift
ca= krl=
principals=()
while [ $# -gt 0 ]; do
	case $1 in
	--ca-pub) ca=${2:?}; shift 2 ;;
	--principal) principals+=("${2:?}"); shift 2 ;;
	--krl) krl=${2:?}; shift 2 ;;
	*) die "unknown argument \"$1\"" ;;
	esac
done
[ -d "$root" ] || die "$root is not a directory"
[ -n "$ca" ] && [ -f "$ca" ] || die "--ca-pub FILE is required"
[ ${#principals[@]} -gt 0 ] || die "at least one --principal USER=NAMES is required"
# One public key line of a type vmseal's CA uses; nothing else is trusted.
[ "$(wc -l < "$ca")" -le 1 ] && grep -qE '^(ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa) [A-Za-z0-9+/=]+( |$)' "$ca" ||
	die "$ca is not one SSH public key line"

# put FILE MODE: writes stdin to ROOT/FILE through a temp file and a rename.
put() {
	local dst=$root/$1 tmp
	mkdir -p "$(dirname "$dst")"
	tmp=$(mktemp "$dst.XXXXXX")
	cat > "$tmp"
	chmod "$2" "$tmp"
	mv -f "$tmp" "$dst"
}

put etc/ssh/vmseal-user-ca.pub 0644 < "$ca"
for p in "${principals[@]}"; do
	user=${p%%=*} names=${p#*=}
	[[ $p == *=* && $user =~ ^[a-z_][a-z0-9_-]*$ && $names =~ ^[A-Za-z0-9._@+-]+(,[A-Za-z0-9._@+-]+)*$ ]] ||
		die "--principal \"$p\" is not USER=NAME[,NAME...]"
	tr , '\n' <<< "$names" | put "etc/ssh/vmseal-principals/$user" 0644
done
if [ -n "$krl" ]; then
	[ "$(head -c 8 "$krl" | od -An -tx1 | tr -d ' \n')" = 5353484b524c0a00 ] || die "$krl is not a KRL"
	put etc/ssh/vmseal-revoked.krl 0644 < "$krl"
else
	put etc/ssh/vmseal-revoked.krl 0644 < /dev/null # no revocations yet; sshd needs the file
fi
put etc/ssh/sshd_config.d/50-vmseal.conf 0644 <<'CONF'
# Written by vmseal's template-ssh.sh: logins only with certificates of the vmseal SSH CA.
TrustedUserCAKeys /etc/ssh/vmseal-user-ca.pub
AuthorizedPrincipalsFile /etc/ssh/vmseal-principals/%u
RevokedKeys /etc/ssh/vmseal-revoked.krl
PasswordAuthentication no
KbdInteractiveAuthentication no
CONF
echo "$prog: $root trusts $(awk '{print $1}' "$ca") CA for ${principals[*]}"
