/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSH key revocation lists (PROTOCOL.krl): certificate serials under one CA and plain keys
 * by SHA-256 fingerprint; encode, and parse back what vmseal writes (its revocation state). */
#ifndef VMSEAL_SSHKRL_H
#define VMSEAL_SSHKRL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "sshkey.h"

struct sshkrl {
	uint64_t version;   /* krl_version: grows with every change */
	uint64_t generated; /* generated_date, seconds since the epoch */
	struct sshkey *ca;  /* the CA whose serials are listed; NULL until one is */
	uint64_t *serials;  /* sorted, distinct */
	size_t nserials;
	uint8_t (*fps)[32]; /* SHA-256 of revoked plain key blobs: sorted, distinct */
	size_t nfps;
};

/* Adds a serial / a key fingerprint: 0 when added, 1 when it was there already, -1 when the
 * list holds VS_MAX_SSH_REVOKED entries or memory ran out. */
int sshkrl_add_serial(struct sshkrl *k, uint64_t serial, struct vs_error *err);
int sshkrl_add_fingerprint(struct sshkrl *k, const uint8_t fp[static 32], struct vs_error *err);

/* 1 when revoked. */
int sshkrl_serial_revoked(const struct sshkrl *k, uint64_t serial);
int sshkrl_key_revoked(const struct sshkrl *k, const struct sshkey *key);

/* The KRL in wire format (unsigned: OpenSSH >= 9.4 refuses KRL signature sections; the
 * gateway signs its answer instead). *out is malloc'd. */
int sshkrl_encode(const struct sshkrl *k, const char *comment, uint8_t **out, size_t *len,
		  struct vs_error *err);

/* Parses a KRL as sshkrl_encode writes it: magic, format 1, no flags, empty reserved fields,
 * certificate sections of one CA holding ascending serial lists, SHA-256 fingerprint sections
 * in ascending order; anything else (other section types, signatures, a second CA, trailing
 * bytes) is refused. k is filled (free with sshkrl_clear). */
int sshkrl_parse(const uint8_t *d, size_t len, const char *object, struct sshkrl *k,
		 struct vs_error *err);

void sshkrl_clear(struct sshkrl *k);

#endif
