/* SPDX-License-Identifier: Apache-2.0 */
/* Key metadata: NAME.json beside NAME.key/NAME.pub (lifecycle status, where the key lives). */
#ifndef VMSEAL_KEYMETA_H
#define VMSEAL_KEYMETA_H

#include <stdint.h>

#include "error.h"
#include "key.h"
#include "limits.h"

/*
 * Format (one JSON object, written atomically with mode 0600, parsed strictly):
 *
 *   {"format": "vmseal-key-meta-v1", "name": "pipeline-v2", "keyid": "<64 hex>",
 *    "alg": "ed25519", "created": "2026-11-23T12:00:00Z", "status": "active",
 *    "location": "file", "version": 2, "replaces": "<keyid>"}
 *
 * Optional: "uri" (location pkcs11, without any PIN), "replaces"/"replaced_by" (rotation),
 * "retired_at", "revoked_at", "reason", "destroyed_at".
 */
#define KEYMETA_FORMAT "vmseal-key-meta-v1"
#define KEYMETA_MAX_BYTES (16u << 10)

enum keymeta_status {
	KEYMETA_ACTIVE = 0,
	KEYMETA_RETIRED,   /* rotated out: verifies what it signed, signs nothing new */
	KEYMETA_REVOKED,   /* compromised or withdrawn: verifies nothing */
	KEYMETA_DESTROYED, /* private key gone for good */
};

struct keymeta {
	char name[VS_MAX_NAME_BYTES];
	char keyid[KEY_ID_HEX_LEN + 1];
	enum key_alg alg;
	int64_t created; /* 0: unknown (a key made before metadata existed) */
	enum keymeta_status status;
	int pkcs11;      /* location: 0 file, 1 pkcs11 */
	char uri[VS_MAX_PATH_BYTES];
	int64_t version; /* rotation generation, 1 for the first key */
	char replaces[KEY_ID_HEX_LEN + 1];
	char replaced_by[KEY_ID_HEX_LEN + 1];
	int64_t retired_at, revoked_at, destroyed_at; /* 0: unset */
	char reason[VS_MAX_NAME_BYTES];
};

const char *keymeta_status_name(enum keymeta_status s);

/* "DIR/NAME" from "DIR/NAME", "DIR/NAME.key", "DIR/NAME.pub" or "DIR/NAME.json". Returns -1
 * when the result does not fit in outlen. */
int keymeta_base(const char *spec, char *out, size_t outlen);

/* Fills m for a fresh key (status active, version 1, created now) named after base's last
 * path component. uri NULL: location file. */
void keymeta_init(struct keymeta *m, const char *base, const struct vs_key *k, const char *uri);

/* Parses a metadata document (≤ KEYMETA_MAX_BYTES, duplicate and unknown fields refused). */
int keymeta_parse(const char *json, size_t len, const char *object, struct keymeta *m,
		  struct vs_error *err);

/* Reads base.json. Returns 0 when loaded, 1 when there is no such file, -1 on error. */
int keymeta_load(const char *base, struct keymeta *m, struct vs_error *err);

/* Writes base.json atomically (mode 0600). replace == 0 refuses to overwrite. */
int keymeta_save(const char *base, const struct keymeta *m, int replace, struct vs_error *err);

/* Encodes m as indented JSON, malloc'd (NULL when out of memory). */
char *keymeta_encode(const struct keymeta *m);

/* Generates a key (entropy gate: see key_generate) and writes base.key, base.pub and base.json
 * (status active, named after base; version and replaces from m when non-NULL, else version 1), all or
 * nothing: a failure removes what was written. Existing files are never overwritten. The new
 * key is returned in *out when out is non-NULL. */
int keymeta_create_key(enum key_alg alg, int wait, const char *base, const char *passphrase,
		       const struct keymeta *m, struct vs_key **out, struct vs_error *err);

/* Like keymeta_create_key for a key generated inside a PKCS#11 token (p11_generate): writes
 * base.pub and base.json (location pkcs11, the URI without any PIN); there is no base.key. */
int keymeta_create_p11_key(enum key_alg alg, const char *uri, const char *pinfile, const char *base,
			   struct vs_key **out, struct vs_error *err);

/* Finds what is known about the key at spec (DIR/NAME, NAME.key, NAME.pub or NAME.json): base
 * gets DIR/NAME; m the metadata, or for a key without metadata a record built from NAME.pub
 * (status active, created unknown) with *has_meta = 0. When both exist, their keyids must
 * agree. */
int keymeta_resolve(const char *spec, char *base, size_t baselen, struct keymeta *m, int *has_meta,
		    struct vs_error *err);

/* For signing tools: refuses (VS_ERR_DENIED) a key file whose metadata says retired, revoked
 * or destroyed, and (with keyid non-NULL) metadata that belongs to another key. A pkcs11: URI
 * or a key without metadata passes. */
int keymeta_check_signable(const char *keyspec, const char *keyid, struct vs_error *err);

/* The one "may this key sign" check of every signing tool (vmseal-sign, the gateway's signing
 * service and SSH CA): the lifecycle first (a destroyed key has no file left to complete
 * with), then the private key at keyspec is loaded (passfile may be NULL: asked on the
 * terminal), then its metadata must belong to it. A retired, revoked or destroyed key is
 * refused (VS_ERR_DENIED). *out is set once the key loaded, also when the last step refuses
 * (the caller frees it). */
int keymeta_load_signable(const char *keyspec, const char *passfile, struct vs_key **out,
			  struct vs_error *err);

#endif
