/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-merkle-sha256: RFC 6962 Merkle Tree Hash over 4 MiB chunks, hashed in parallel. */
#ifndef VMSEAL_MERKLE_H
#define VMSEAL_MERKLE_H

#include <stdint.h>

#include "error.h"

struct merkle_opts {
	unsigned threads;  /* 0: one per online core */
	int want_sha256;   /* also compute a plain SHA-256 of the whole file */
	/* Called from the calling thread (never concurrently) with the bytes hashed so far, after
	 * chunks complete, and once with done == total before success; may be NULL. */
	void (*progress)(uint64_t done, uint64_t total, void *arg);
	void *progress_arg;
};

struct merkle_result {
	uint8_t root[32];
	uint64_t size;
	uint8_t sha256[32]; /* valid when want_sha256 */
};

/* Hashes the regular file or block device open on fd (from offset 0, with pread; fd's offset is
 * untouched). Memory stays bounded (one 256 KiB buffer per thread, plus threads + 2 chunk buffers
 * with want_sha256) whatever the size. Fails if the size or mtime changed while hashing.
 * name is for errors. */
int merkle_root_fd(int fd, const char *name, const struct merkle_opts *opts,
		   struct merkle_result *out, struct vs_error *err);

/* Opens path read-only and calls merkle_root_fd. */
int merkle_root_path(const char *path, const struct merkle_opts *opts, struct merkle_result *out,
		     struct vs_error *err);

/* Root of an in-memory buffer (single-threaded); for tests and small inputs. */
void merkle_root_mem(const uint8_t *data, uint64_t len, uint8_t root[static 32]);

#endif
