/* SPDX-License-Identifier: Apache-2.0 */
/* Keys: load (PEM, encrypted PKCS#8, SPKI, pkcs11: URIs), generate, sign, verify, keyid. */
#ifndef VMSEAL_KEY_H
#define VMSEAL_KEY_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

#include "error.h"

enum key_alg {
	KEY_ALG_NONE = 0,
	KEY_ALG_ED25519,
	KEY_ALG_P256,
	KEY_ALG_RSA3072, /* any RSA key of >= 3072 bits */
};

#define KEY_ID_HEX_LEN 64

struct vs_key;

/* "ed25519", "p256", "rsa3072"; NULL for an unknown value. */
const char *key_alg_name(enum key_alg alg);
/* Parses a name accepted by --alg; KEY_ALG_NONE when unknown. */
enum key_alg key_alg_parse(const char *name);

/* Loads a private key from a PEM file (PKCS#8, encrypted or not) or a pkcs11: URI.
 * passfile may be NULL: an encrypted key then asks on the terminal (no echo), or fails when
 * there is none. The passphrase is wiped before return. */
int key_load_private(const char *spec, const char *passfile, struct vs_key **out, struct vs_error *err);

/* Loads a public key: an SPKI PEM file (NAME.pub), the NAME.pub beside a NAME.key, or a pkcs11:
 * URI (its public object). */
int key_load_public(const char *spec, struct vs_key **out, struct vs_error *err);

/* Parses an SPKI PEM held in memory (the policy's public_key). object names it in errors. */
int key_from_public_pem(const char *pem, size_t len, const char *object, struct vs_key **out,
			struct vs_error *err);

/* The cheap look at an SPKI PEM that a policy's lazily decoded key gets when the policy is read
 * (lib/policy.h, POLICY_LAZY_KEYS): one PUBLIC KEY block whose base64 body is one DER SEQUENCE.
 * What fails the look is refused only if key_from_public_pem refuses it too. When pem is an
 * Ed25519 key in the one form vmseal and openssl write, id receives its keyid (no decoder is
 * needed for it); otherwise id is "". 0, or -1 with err (VS_ERR_INPUT). */
int key_public_pem_precheck(const char *pem, size_t len, const char *object,
			    char id[static KEY_ID_HEX_LEN + 1], struct vs_error *err);

/* Parses a private key PEM held in memory (PKCS#8, encrypted or not, or a traditional PEM).
 * passphrase may be NULL: an encrypted key then fails (it never prompts). The caller wipes pem. */
int key_from_private_pem_mem(const char *pem, size_t len, const char *passphrase, const char *object,
			     struct vs_key **out, struct vs_error *err);

/* Wraps an EVP_PKEY (takes a reference on success). */
int key_from_pkey(EVP_PKEY *pkey, const char *object, struct vs_key **out, struct vs_error *err);

/* Generates a fresh key. Refuses while the kernel's entropy pool is not initialised
 * (getrandom GRND_NONBLOCK); wait != 0 blocks until it is, printing a message once. */
int key_generate(enum key_alg alg, int wait, struct vs_key **out, struct vs_error *err);

/* The entropy gate: 0 once the kernel's entropy pool is initialised (getrandom GRND_NONBLOCK).
 * Otherwise waits (printing a message once) when wait != 0, else fails. Only in the test build
 * (-DVMSEAL_TEST_BUILD, make's $(BUILD)/testbin) the variable VMSEAL_TEST_NO_ENTROPY makes it
 * fail; release binaries have no such switch. */
int key_entropy_ready(int wait, struct vs_error *err);

/* Like key_load_private on a PEM held in memory (object names it in errors and prompts). */
int key_load_private_pem(const char *pem, size_t len, const char *object, const char *passfile,
			 struct vs_key **out, struct vs_error *err);

/* Writes base.key (PKCS#8 PEM, AES-256 encrypted under passphrase, or plain when passphrase is
 * NULL) and base.pub (SPKI PEM), both mode 0600, atomically; never overwrites either. */
int key_write_files(const struct vs_key *k, const char *base, const char *passphrase,
		    struct vs_error *err);

/* SPKI PEM of the public key, malloc'd. */
char *key_public_pem(const struct vs_key *k);

/* Signs msg. md selects the hash for ECDSA/RSA ("SHA256" when NULL; ignored for Ed25519, which
 * signs the message itself). RSA uses PSS with salt = digest length. *sig is malloc'd. */
int key_sign(const struct vs_key *k, const char *md, const uint8_t *msg, size_t len, uint8_t **sig,
	     size_t *siglen, struct vs_error *err);

/* Returns 0 when sig is a valid signature on msg under k, -1 otherwise. ECDSA signatures are
 * DER; raw r||s (64 bytes) is accepted when raw_ecdsa != 0 (RFC 9421). RSA-PSS signatures
 * must use MGF1 with the same hash and a salt as long as the digest (RFC 9421 §3.3.1). */
int key_verify(const struct vs_key *k, const char *md, const uint8_t *msg, size_t len,
	       const uint8_t *sig, size_t siglen, int raw_ecdsa);

/* Converts a DER ECDSA signature to raw r||s of 32+32 bytes (RFC 9421 ecdsa-p256-sha256). */
int key_ecdsa_der_to_raw(const uint8_t *der, size_t derlen, uint8_t raw[static 64]);

/* Lowercase hex SHA-256 of the key's canonical DER SPKI: Ed25519 as written, P-256 named curve
 * with the uncompressed point, RSA as rsaEncryption (n, e) even when given as RSASSA-PSS. One
 * key has one id whatever encoding it came in. */
const char *key_id(const struct vs_key *k);
/* 1 when a and b are the same public key (compares the canonical encodings, not ids or files). */
int key_same_material(const struct vs_key *a, const struct vs_key *b);
/* Orders keys by their canonical material (memcmp order; 0 exactly when key_same_material). */
int key_material_cmp(const struct vs_key *a, const struct vs_key *b);
enum key_alg key_alg(const struct vs_key *k);
int key_has_private(const struct vs_key *k);
EVP_PKEY *key_pkey(const struct vs_key *k);
const char *key_source(const struct vs_key *k); /* "file" or "pkcs11" */

void key_free(struct vs_key *k);

/* Keyid of a DER SPKI blob. out gets 65 bytes. */
void key_id_of_spki(const uint8_t *der, size_t len, char out[static KEY_ID_HEX_LEN + 1]);

/* Asks for a passphrase on /dev/tty without echo (twice when confirm != 0). */
int passphrase_prompt(const char *prompt, int confirm, char **out, struct vs_error *err);

#endif
