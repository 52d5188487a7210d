/* SPDX-License-Identifier: Apache-2.0 */
/* Merkle internals that only tests and benchmarks may touch: chunk and read sizes. */
#ifndef VMSEAL_MERKLE_PRIV_H
#define VMSEAL_MERKLE_PRIV_H

#include <stdint.h>

#include "merkle.h"

/* Default read size: each leaf is read and hashed in pieces this big, so the piece just read is
 * still in the cache when it is hashed (measured in bench/digest.sh). */
#define MERKLE_READ_SIZE (256u << 10)

struct merkle_params {
	uint32_t chunk_size; /* leaf size; VS_CHUNK_SIZE for the real digest */
	uint32_t read_size;  /* bytes per pread, 1..chunk_size */
};

/* merkle_root_fd with other chunk and read sizes, so tests can build trees of many leaves from
 * small files. The digest only equals vmseal-merkle-sha256 with chunk_size = VS_CHUNK_SIZE. */
int merkle_root_fd_params(int fd, const char *name, const struct merkle_opts *opts,
			  const struct merkle_params *params, struct merkle_result *out,
			  struct vs_error *err);

/* merkle_root_mem with another chunk size; returns -1 only if OpenSSL fails. */
int merkle_root_mem_params(const uint8_t *data, uint64_t len, uint32_t chunk_size,
			   uint8_t root[static 32]);

#endif
