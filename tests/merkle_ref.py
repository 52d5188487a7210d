#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Independent reference for vmseal-merkle-sha256 (RFC 6962 Merkle Tree Hash over 4 MiB chunks),
written straight from the RFC's recursive definition with hashlib only.

usage: merkle_ref.py [--chunk BYTES] [--sha256] FILE...
Prints "<merkle hex>  <size>  FILE" (with --sha256: "<merkle hex>  <size>  <sha256 hex>  FILE"),
the same format as vmseal-digest.
"""
import hashlib
import sys

CHUNK = 4 << 20


def leaf_hashes(path, chunk):
    """Leaf hashes SHA-256(0x00 || chunk) of the file's chunks, plus size and plain SHA-256."""
    leaves, size, whole = [], 0, hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            data = f.read(chunk)
            if not data:
                break
            leaves.append(hashlib.sha256(b"\x00" + data).digest())
            whole.update(data)
            size += len(data)
    return leaves, size, whole.hexdigest()


def mth(leaves):
    """RFC 6962 section 2.1 MTH over already hashed leaves (n >= 1)."""
    n = len(leaves)
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:  # largest power of two smaller than n
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def merkle_hex(path, chunk=CHUNK):
    leaves, size, sha = leaf_hashes(path, chunk)
    root = mth(leaves) if leaves else hashlib.sha256(b"").digest()
    return root.hex(), size, sha


def main(argv):
    chunk, want_sha, files = CHUNK, False, []
    it = iter(argv)
    for a in it:
        if a == "--chunk":
            chunk = int(next(it))
        elif a == "--sha256":
            want_sha = True
        else:
            files.append(a)
    if not files or chunk <= 0:
        print(__doc__, file=sys.stderr)
        return 2
    for path in files:
        root, size, sha = merkle_hex(path, chunk)
        if want_sha:
            print(f"{root}  {size}  {sha}  {path}")
        else:
            print(f"{root}  {size}  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
