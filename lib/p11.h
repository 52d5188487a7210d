/* SPDX-License-Identifier: Apache-2.0 */
/* Keys inside a PKCS#11 token: generation through pkcs11-provider, destruction via p11tool. */
#ifndef VMSEAL_P11_H
#define VMSEAL_P11_H

#include <stddef.h>

#include "error.h"
#include "key.h"

/* Generates a key pair inside the token named by uri ("pkcs11:token=T;object=LABEL"), through
 * the OpenSSL pkcs11-provider's key generation (EVP_PKEY_keygen with the pkcs11_uri
 * parameter): the private key is created on the token, sensitive and never extractable; only
 * its public half is returned in *out. pinfile (may be NULL) holds the token PIN; it is handed
 * to the provider as pin-source=file:PATH, so the PIN never passes through this process.
 * Refuses when an object with that URI already exists. Entropy gate as key_generate. */
int p11_generate(enum key_alg alg, const char *uri, const char *pinfile, struct vs_key **out,
		 struct vs_error *err);

/* Destroys every object (private and public key) matching uri in its token, by running
 * p11tool (GnuTLS) with --login --delete: OpenSSL's store API has no way to delete an object,
 * so pkcs11-provider cannot. module (may be NULL: p11-kit's registered modules) is the
 * PKCS#11 module; the PIN comes from pinfile (first line) and reaches p11tool through its
 * GNUTLS_PIN environment variable. Fails when nothing matched. */
int p11_destroy(const char *uri, const char *module, const char *pinfile, struct vs_error *err);

/* Copies uri without any pin-value / pin-source attribute into out (for metadata). */
int p11_uri_without_pin(const char *uri, char *out, size_t outlen);

#endif
