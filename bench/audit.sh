#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Audit log append throughput: fsync per event vs no fsync vs group commit (the gateway's mode).
# Prints a Markdown table. The log lives under $BUILD (on disk: /tmp may be tmpfs, where fsync
# costs nothing). Needs `make all` first (links $BUILD/libvmseal.a).
set -euo pipefail
# bench/run.sh passes RESULT, the section file to write; alone, the section goes to stdout.
[ -n "${RESULT:-}" ] && exec >"$RESULT"
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
bin=$top/$BUILD/bench/audit_bench
mkdir -p "$top/$BUILD/bench"
${CC:-cc} -O2 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -iquote "$top" \
	-o "$bin" "$top/bench/audit_bench.c" "$top/$BUILD/libvmseal.a" \
	$($PKG_CONFIG --cflags --libs openssl jansson) -lpthread
echo "### Audit log appends ($(nproc) cores, $(df -T "$top/$BUILD" | awk 'NR==2{print $2}') file system)"
echo
shm=$(mktemp -d /dev/shm/vmseal-audit-bench.XXXXXX)
trap 'rm -rf "$shm"' EXIT
"$bin" "$top/$BUILD/bench/audit-bench.log" "$shm/audit-bench.log"
echo
echo "Command: bench/audit.sh. Per event: flock + fstat + write (+ fdatasync when durable);"
echo "group commit shares one fdatasync among the events that arrive while the previous one runs"
echo "(a durable caller that finds none running runs it itself). Load average: $(cut -d' ' -f1-3 /proc/loadavg)."
