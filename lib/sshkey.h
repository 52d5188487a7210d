/* SPDX-License-Identifier: Apache-2.0 */
/* SSH public keys (ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa): strict wire and line parsing,
 * encoding, SHA256 fingerprints, signatures in SSH's format. */
#ifndef VMSEAL_SSHKEY_H
#define VMSEAL_SSHKEY_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

#include "error.h"
#include "key.h"
#include "sshbuf.h"

enum sshkey_type { SSHKEY_UNKNOWN = 0, SSHKEY_ED25519, SSHKEY_ECDSA_P256, SSHKEY_RSA };

/* "SHA256:" and 43 base64 characters, as ssh-keygen -l prints them. */
#define SSHKEY_FP_LEN (7 + 43)

struct sshkey {
	enum sshkey_type type;
	uint8_t *blob; /* the canonical wire encoding (string type, then the key's fields) */
	size_t bloblen;
	EVP_PKEY *pkey;
};

/* "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"; NULL for SSHKEY_UNKNOWN. */
const char *sshkey_type_name(enum sshkey_type t);
/* The certificate type of a key type: "ssh-ed25519-cert-v01@openssh.com" ... */
const char *sshkey_cert_type_name(enum sshkey_type t);
/* Type by plain key name (cert_name != 0: by certificate name); SSHKEY_UNKNOWN otherwise. */
enum sshkey_type sshkey_type_parse(const char *name, size_t n, int cert_name);

/* Parses a public key blob: a known type, canonical fields of the right lengths (P-256 point
 * uncompressed and on the curve, RSA of VS_MIN_SSH_RSA_BITS..VS_MAX_SSH_RSA_BITS with an odd
 * exponent > 1), nothing after the last field. object names it in errors. */
int sshkey_from_blob(const uint8_t *blob, size_t len, const char *object, struct sshkey **out,
		     struct vs_error *err);

/* Reads the fields of a key of type t (what follows the type name in a blob, or the key part
 * of a certificate) from r, with the same checks as sshkey_from_blob. */
int sshkey_read_fields(struct sshrd *r, enum sshkey_type t, const char *object,
		       struct sshkey **out, struct vs_error *err);

/* Writes the key's fields without the type name (the key part of a certificate). */
int sshkey_put_fields(const struct sshkey *k, struct sshbuf *b);

/* Parses one OpenSSH public key line "TYPE BASE64 [COMMENT]" (one optional final newline):
 * no options before the type, the type word must name the blob's type, certificates are
 * refused. At most VS_MAX_SSH_LINE_BYTES. */
int sshkey_parse_line(const char *line, size_t len, const char *object, struct sshkey **out,
		      struct vs_error *err);

/* The SSH form of an OpenSSL public key (also of a private one, or a pkcs11 one). */
int sshkey_from_pkey(EVP_PKEY *pkey, const char *object, struct sshkey **out, struct vs_error *err);

/* "TYPE BASE64[ COMMENT]\n", malloc'd; comment may be NULL. */
char *sshkey_line(const struct sshkey *k, const char *comment);

/* "SHA256:..." (base64 without padding of SHA-256 over the blob). */
void sshkey_fingerprint(const struct sshkey *k, char out[static SSHKEY_FP_LEN + 1]);
/* Decodes "SHA256:..." to the 32 raw bytes; -1 when malformed. */
int sshkey_fingerprint_decode(const char *fp, uint8_t raw[static 32]);

/* Signs data with ca in SSH's signature format (string algorithm, string signature):
 * ssh-ed25519, ecdsa-sha2-nistp256 (SHA-256), rsa-sha2-512 (PKCS#1 v1.5) for RSA. */
int sshkey_sign(const struct vs_key *ca, const uint8_t *data, size_t len, struct sshbuf *sig,
		struct vs_error *err);

/* Verifies an SSH-format signature by k over data: the algorithm must fit k's type
 * (rsa-sha2-256 or rsa-sha2-512 for RSA; SHA-1 "ssh-rsa" is refused); nothing may follow. */
int sshkey_verify(const struct sshkey *k, const uint8_t *sig, size_t siglen, const uint8_t *data,
		  size_t len, struct vs_error *err);

/* 1 when both are the same key. */
int sshkey_equal(const struct sshkey *a, const struct sshkey *b);

void sshkey_free(struct sshkey *k);

#endif
