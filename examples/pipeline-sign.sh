#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Example image-pipeline step: sign a freshly built template, countersign it with a second key
# for a 2-of-N policy, and check the result against the policy before publishing.
#
#   examples/pipeline-sign.sh IMAGE TEMPLATE VERSION POLICY KEY1 PASS1 [KEY2 PASS2]
#
# Keys may be NAME.key files (encrypted PKCS#8) or pkcs11: URIs. Passphrase files are read by
# vmseal itself; they never appear on a command line or in the environment.
set -euo pipefail
if [ $# -lt 6 ]; then
	sed -n '3,10p' "$0" >&2
	exit 2
fi
image=$1 template=$2 version=$3 policy=$4 key1=$5 pass1=$6
key2=${7:-} pass2=${8:-}

echo "pipeline: signing $image as template $template version $version"
vmseal-sign --key "$key1" --passphrase-file "$pass1" --template "$template" \
	--template-version "$version" --expires 365d --force "$image"
if [ -n "$key2" ]; then
	echo "pipeline: countersigning with a second key"
	vmseal-sign --key "$key2" --passphrase-file "$pass2" --append "$image"
fi
echo "pipeline: checking against $policy before publishing"
vmseal-verify --policy "$policy" "$image"
echo "pipeline: publish $image and $image.intoto.json together"
