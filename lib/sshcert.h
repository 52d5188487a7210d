/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSH certificates (PROTOCOL.certkeys, "-cert-v01@openssh.com"): build and sign user and
 * host certificates; parse one strictly and verify its CA signature. */
#ifndef VMSEAL_SSHCERT_H
#define VMSEAL_SSHCERT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "key.h"
#include "limits.h"
#include "sshkey.h"

enum sshcert_type { SSHCERT_USER = 1, SSHCERT_HOST = 2 };

/* Extensions of a user certificate, as bits (ssh-keygen's names). */
enum sshcert_ext {
	SSHCERT_EXT_X11 = 1u << 0,        /* permit-X11-forwarding */
	SSHCERT_EXT_AGENT = 1u << 1,      /* permit-agent-forwarding */
	SSHCERT_EXT_PORT = 1u << 2,       /* permit-port-forwarding */
	SSHCERT_EXT_PTY = 1u << 3,        /* permit-pty */
	SSHCERT_EXT_USER_RC = 1u << 4,    /* permit-user-rc */
	SSHCERT_EXT_NO_TOUCH = 1u << 5,   /* no-touch-required */
};
#define SSHCERT_EXT_ALL 0x3fu

/* Bit of an extension name; 0 when unknown. */
unsigned sshcert_ext_parse(const char *name);
/* Name of one extension bit. */
const char *sshcert_ext_name(unsigned bit);

/* A certificate, to sign or as parsed. Strings are owned by whoever filled the struct. */
struct sshcert {
	enum sshcert_type type;
	struct sshkey *key; /* the certified public key */
	uint64_t serial;
	char key_id[VS_MAX_SSH_KEY_ID_BYTES + 1];
	char principals[VS_MAX_SSH_PRINCIPALS][VS_MAX_SSH_PRINCIPAL_BYTES + 1];
	size_t nprincipals;
	uint64_t valid_after, valid_before;
	char force_command[VS_MAX_SSH_OPTION_BYTES + 1];  /* "" when absent */
	char source_address[VS_MAX_SSH_OPTION_BYTES + 1]; /* "" when absent */
	unsigned extensions;                              /* enum sshcert_ext bits */
	struct sshkey *ca;                                /* parsed: the signing CA */
};

/* Checks what a certificate may hold before it is signed: at least one principal (each
 * non-empty, printable, no comma, distinct), key id printable, valid_after < valid_before,
 * host certificates without options or extensions, source-address a comma-separated list of
 * addresses or CIDR blocks, force-command printable. */
int sshcert_check(const struct sshcert *c, struct vs_error *err);

/* Signs c (after sshcert_check) with ca and returns the certificate as one line
 * "TYPE-cert-v01@openssh.com BASE64 COMMENT\n" (malloc'd); blob/bloblen get the raw
 * certificate when non-NULL (malloc'd). The nonce comes from the CSPRNG. */
int sshcert_sign(const struct sshcert *c, const struct vs_key *ca, const char *comment,
		 char **line, uint8_t **blob, size_t *bloblen, struct vs_error *err);

/* Parses a certificate blob strictly (known type, nonce of 16..64 bytes, bounded fields,
 * principals, options and extensions well formed and in order, only force-command and
 * source-address as critical options, empty reserved field, the CA key a plain key, nothing
 * after the signature) and verifies the CA's signature. c->key and c->ca are allocated:
 * free with sshcert_clear. */
int sshcert_parse(const uint8_t *blob, size_t len, const char *object, struct sshcert *c,
		  struct vs_error *err);

/* sshcert_parse on a "TYPE BASE64 [COMMENT]" line (one optional final newline). */
int sshcert_parse_line(const char *line, size_t len, const char *object, struct sshcert *c,
		       struct vs_error *err);

/* Frees c's keys (not c). */
void sshcert_clear(struct sshcert *c);

#endif
