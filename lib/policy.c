/* SPDX-License-Identifier: Apache-2.0 */
/* Policy parsing and the one image decision (policy_eval_image) shared by every front end. */
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "bundle.h"
#include "dsse.h"
#include "jsonscan.h"
#include "policyindex.h"
#include "jsonx.h"
#include "merkle.h"
#include "truststate.h"
#include "policy_boot.h"
#include "policy_sign.h"
#include "sshpolicy.h"
#include "util.h"

unsigned role_parse(const char *name)
{
	static const struct { const char *name; unsigned bit; } roles[] = {
		{"viewer", ROLE_VIEWER}, {"operator", ROLE_OPERATOR}, {"admin", ROLE_ADMIN},
		{"signer", ROLE_SIGNER}, {"auditor", ROLE_AUDITOR}, {"ssh", ROLE_SSH},
	};
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (!strcmp(name, roles[i].name))
			return roles[i].bit;
	return 0;
}

static unsigned usage_parse(const char *name)
{
	if (!strcmp(name, "template"))
		return USAGE_TEMPLATE;
	if (!strcmp(name, "admin"))
		return USAGE_ADMIN;
	if (!strcmp(name, "policy"))
		return USAGE_POLICY;
	if (!strcmp(name, "boot"))
		return USAGE_BOOT;
	return 0;
}

/* struct policy_key's deferred (POLICY_LAZY_KEYS) */
enum { KEY_READY = 0, KEY_DEFERRED, KEY_PARSING, KEY_BROKEN };

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nkeys; i++) {
		if (p->keys[i].deferred == KEY_DEFERRED) /* owns nothing yet */
			continue;
		key_free(p->keys[i].key);
		free(p->keys[i].pem);
		free(p->keys[i].owner);
		free(p->keys[i].broken);
	}
	free(p->key_slots);
	free(p->src);
	if (p->src_fd_open)
		close(p->src_fd);
	if (p->lazy_lock) {
		pthread_mutex_destroy(p->lazy_lock);
		free(p->lazy_lock);
	}
	for (size_t i = 0; i < p->ntemplates; i++)
		free(p->templates[i].keys);
	free(p->keys);
	free(p->templates);
	free(p->revoked);
	policy_boot_free(&p->boot);
	policy_signers_free(&p->gateway.signers);
	ssh_policy_free(p->ssh);
	free(p);
}

static int opt_time(json_t *o, const char *field, int64_t *out, const char *where, const char *object,
		    struct vs_error *err)
{
	json_t *v = json_object_get(o, field);

	*out = 0;
	if (!v)
		return 0;
	if (!json_is_string(v) || time_parse_rfc3339(json_string_value(v), out) < 0)
		return vs_fail(err, VS_ERR_INPUT, object, "%s: %s is not an RFC 3339 time", where, field);
	return 0;
}

static int opt_bool(json_t *o, const char *field, int dflt, int *out, const char *where,
		    const char *object, struct vs_error *err)
{
	return json_opt_bool(o, field, dflt, out, where, object, err);
}

static int opt_int(json_t *o, const char *field, int64_t dflt, int64_t min, int64_t max, int64_t *out,
		   const char *where, const char *object, struct vs_error *err)
{
	return json_opt_int(o, field, dflt, min, max, out, where, object, err);
}

/* POLICY_LAZY_KEYS: the id syntax, the PEM's look, and for an Ed25519 key in vmseal's form the
 * id against its material; the key is decoded later, by policy_key_material. */
static int parse_key_lazy(json_t *pem, json_t *id, const char *where, const struct policy *p,
			  struct policy_key *k, const char *object, struct vs_error *err)
{
	char canon[KEY_ID_HEX_LEN + 1];

	if (key_public_pem_precheck(json_string_value(pem), json_string_length(pem), object, canon, err) < 0) {
		vs_error_prefix(err, "%s", where);
		return -1;
	}
	if (!json_is_string(id))
		return vs_fail(err, VS_ERR_INPUT, object, "%s: id missing", where);
	if (json_string_length(id) != KEY_ID_HEX_LEN ||
	    strspn(json_string_value(id), "0123456789abcdef") != KEY_ID_HEX_LEN)
		return vs_fail(err, VS_ERR_INPUT, object,
			       "%s: id \"%.80s\" is not a keyid (64 lowercase hex digits)", where,
			       json_string_value(id));
	memcpy(k->id, json_string_value(id), sizeof(k->id));
	k->pem = malloc(json_string_length(pem) + 1);
	if (!k->pem)
		return vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
	memcpy(k->pem, json_string_value(pem), json_string_length(pem) + 1);
	k->pem_len = json_string_length(pem);
	/* the error the full parse gives (decoding it, and the others, is this path's cost only) */
	if (canon[0] && strcmp(canon, k->id))
		return policy_key_material(p, k, err) ? vs_fail(err, VS_ERR_INTERNAL, object, "%s: keyid", where) : -1;
	return 0;
}

/* The full parse: the key decoded, its id checked against its canonical material. */
static int parse_key_full(json_t *v, json_t *id, size_t idx, const char *where, const struct policy *p,
			  struct policy_key *k, const char *object, struct vs_error *err)
{
	if (key_from_public_pem(json_string_value(v), json_string_length(v), object, &k->key, err) < 0) {
		vs_error_prefix(err, "%s", where);
		return -1;
	}
	v = id;
	if (!json_is_string(v))
		return vs_fail(err, VS_ERR_INPUT, object, "%s: id missing", where);
	if (strcmp(json_string_value(v), key_id(k->key))) {
		/* A key listed again in another encoding often carries that encoding's old id: say
		 * what is really wrong (only on this error path: keys_distinct does the general case). */
		for (size_t j = 0; j < idx; j++)
			if (key_same_material(p->keys[j].key, k->key))
				return vs_fail(err, VS_ERR_INPUT, object,
					       "%s is the same public key as keys[%zu] (keyid %s): a key may be listed once, in any encoding",
					       where, j, key_id(k->key));
		return vs_fail(err, VS_ERR_INPUT, object,
			       "%s: id \"%.80s\" does not match its public key (keyid %s)", where,
			       json_string_value(v), key_id(k->key));
	}
	memcpy(k->id, key_id(k->key), sizeof(k->id));
	return 0;
}

/* Everything of a key entry but its material and id. */
static int parse_key_fields(json_t *o, const char *where, struct policy_key *k, const char *object,
			    struct vs_error *err)
{
	json_t *v, *e;
	size_t i;

	v = json_object_get(o, "owner");
	if (v && (!json_is_string(v) || json_string_length(v) >= VS_MAX_NAME_BYTES))
		return vs_fail(err, VS_ERR_INPUT, object, "%s: owner is not a short string", where);
	if (v && json_string_length(v) && !(k->owner = strdup(json_string_value(v))))
		return vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
	v = json_object_get(o, "usage");
	if (!json_is_array(v) || json_array_size(v) == 0)
		return vs_fail(err, VS_ERR_INPUT, object, "%s: usage must be a non-empty array", where);
	json_array_foreach(v, i, e) {
		unsigned u = json_is_string(e) ? usage_parse(json_string_value(e)) : 0;

		if (!u)
			return vs_fail(err, VS_ERR_INPUT, object,
				       "%s: unknown usage (want template, admin, policy or boot)", where);
		k->usage |= u;
	}
	v = json_object_get(o, "roles");
	if (v) {
		if (!json_is_array(v))
			return vs_fail(err, VS_ERR_INPUT, object, "%s: roles must be an array", where);
		json_array_foreach(v, i, e) {
			unsigned r = json_is_string(e) ? role_parse(json_string_value(e)) : 0;

			if (!r)
				return vs_fail(err, VS_ERR_INPUT, object, "%s: unknown role \"%.32s\"", where,
					       json_is_string(e) ? json_string_value(e) : "?");
			k->roles |= r;
		}
	}
	v = json_object_get(o, "status");
	if (!v || (json_is_string(v) && !strcmp(json_string_value(v), "active")))
		k->status = KEY_STATUS_ACTIVE;
	else if (json_is_string(v) && !strcmp(json_string_value(v), "retired"))
		k->status = KEY_STATUS_RETIRED;
	else if (json_is_string(v) && !strcmp(json_string_value(v), "revoked"))
		k->status = KEY_STATUS_REVOKED;
	else
		return vs_fail(err, VS_ERR_INPUT, object, "%s: status must be active, retired or revoked",
			       where);
	if (opt_time(o, "not_before", &k->not_before, where, object, err) < 0 ||
	    opt_time(o, "not_after", &k->not_after, where, object, err) < 0)
		return -1;
	if (k->not_before && k->not_after && k->not_after <= k->not_before)
		return vs_fail(err, VS_ERR_INPUT, object, "%s: not_after is not after not_before", where);
	if (opt_time(o, "retired_at", &k->retired_at, where, object, err) < 0)
		return -1;
	/* An active key with a retirement date would be half retired: say which one is meant.
	 * (A revoked key may keep the retired_at it had: it verifies nothing anyway.) */
	if (json_object_get(o, "retired_at") && k->status == KEY_STATUS_ACTIVE)
		return vs_fail(err, VS_ERR_INPUT, object, "%s: retired_at is set but status is \"active\"",
			       where);
	return 0;
}

static int parse_key(json_t *o, size_t idx, const struct policy *p, struct policy_key *k,
		     unsigned flags, const char *object, struct vs_error *err)
{
	static const char *const fields[] = {"id", "public_key", "owner", "usage", "roles", "status",
					     "not_before", "not_after", "comment", "reason",
					     "created", "revoked_at", "retired_at", NULL};
	char where[64];
	json_t *v;

	snprintf(where, sizeof(where), "keys[%zu]", idx);
	if (!json_is_object(o))
		return vs_fail(err, VS_ERR_INPUT, object, "%s is not an object", where);
	if (json_check_fields(o, fields, where, object, err) < 0)
		return -1;
	v = json_object_get(o, "public_key");
	if (!json_is_string(v))
		return vs_fail(err, VS_ERR_INPUT, object, "%s: public_key missing", where);
	if (flags & POLICY_LAZY_KEYS) {
		if (parse_key_lazy(v, json_object_get(o, "id"), where, p, k, object, err) < 0)
			return -1;
	} else if (parse_key_full(v, json_object_get(o, "id"), idx, where, p, k, object, err) < 0) {
		return -1;
	}
	return parse_key_fields(o, where, k, object, err);
}

/* Parses a deferred entry's text into k (POLICY_LAZY_KEYS): KEY_READY, or KEY_BROKEN with the
 * error in k->broken (NULL when out of memory too) and k left as a key that verifies nothing. */
static int key_parse_deferred(const struct policy *p, struct policy_key *k)
{
	size_t idx = (size_t)(k - p->keys);
	char id[KEY_ID_HEX_LEN + 1];
	struct vs_error e = {0};
	json_error_t jerr;
	json_t *o;

	memcpy(id, k->id, sizeof(id));
	if (p->src) {
		o = json_loadb(p->src + k->src_off, k->src_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	} else {
		/* read from the policy file, which must still be the version its index named */
		char *t = malloc(k->src_len ? k->src_len : 1);
		struct stat now;

		o = NULL;
		if (!t || !fd_pread_full(p->src_fd, t, k->src_len, (off_t)k->src_off) || fstat(p->src_fd, &now) < 0 ||
		    !vs_stat_same_version(&now, &p->src_st))
			snprintf(jerr.text, sizeof(jerr.text), "the policy file changed since it was read, or cannot be read");
		else
			o = json_loadb(t, k->src_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
		free(t);
	}
	if (!o)
		vs_fail(&e, VS_ERR_INPUT, p->object, "keys[%zu] is not valid JSON: %s", idx, jerr.text);
	else if (parse_key(o, idx, p, k, POLICY_LAZY_KEYS, p->object, &e) == 0 && strcmp(id, k->id))
		vs_fail(&e, VS_ERR_INTERNAL, p->object, "keys[%zu]: id read two ways", idx);
	json_decref(o);
	memcpy(k->id, id, sizeof(id)); /* the index is sorted by it */
	if (!e.reason[0])
		return KEY_READY;
	key_free(k->key);
	k->key = NULL;
	free(k->pem);
	k->pem = NULL;
	k->status = KEY_STATUS_REVOKED;
	k->usage = k->roles = 0;
	k->broken = malloc(sizeof(*k->broken));
	if (k->broken)
		*k->broken = e;
	return KEY_BROKEN;
}

/* Makes k's fields valid, parsing a deferred entry now (POLICY_LAZY_KEYS): 0, or -1 with err
 * (when not NULL) for an entry that does not parse. The lock is recursive: parsing one entry
 * may look at others (policy_key_material names a key listed twice); KEY_PARSING marks the
 * entry this thread is filling in, which reads as ready. */
static int key_ready(const struct policy *p, const struct policy_key *kc, struct vs_error *err)
{
	struct policy_key *k = (struct policy_key *)kc;
	int state = __atomic_load_n(&k->deferred, __ATOMIC_ACQUIRE);

	if (state == KEY_DEFERRED || state == KEY_PARSING) { /* another thread's parse: wait for it */
		pthread_mutex_lock(p->lazy_lock);
		if (k->deferred == KEY_DEFERRED) {
			k->deferred = KEY_PARSING;
			__atomic_store_n(&k->deferred, key_parse_deferred(p, k), __ATOMIC_RELEASE);
		}
		state = k->deferred;
		pthread_mutex_unlock(p->lazy_lock);
	}
	if (state != KEY_BROKEN)
		return 0;
	if (err && k->broken)
		*err = *k->broken;
	else if (err)
		vs_fail(err, VS_ERR_INTERNAL, p->object, "keys[%zu]: out of memory", (size_t)(k - p->keys));
	return -1;
}

/* Compares the keys' canonical material, for keys_distinct. */
static int policy_key_material_cmp(const void *a, const void *b)
{
	return key_material_cmp((*(const struct policy_key *const *)a)->key,
				(*(const struct policy_key *const *)b)->key);
}

/* Compare the keys, not the ids: one private key must not count twice toward a threshold by
 * being listed in two encodings (issue #14 item 1). Sorted, so that a policy of thousands of
 * keys costs n log n comparisons, not n^2. */
static int keys_distinct(const struct policy *p, const char *object, struct vs_error *err)
{
	const struct policy_key **v;
	int r = 0;

	if (p->nkeys < 2)
		return 0;
	v = malloc(p->nkeys * sizeof(*v));
	if (!v)
		return vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
	for (size_t i = 0; i < p->nkeys; i++)
		v[i] = &p->keys[i];
	qsort(v, p->nkeys, sizeof(*v), policy_key_material_cmp);
	for (size_t i = 1; i < p->nkeys && r == 0; i++)
		if (key_same_material(v[i - 1]->key, v[i]->key)) {
			size_t a = (size_t)(v[i - 1] - p->keys), b = (size_t)(v[i] - p->keys);

			r = vs_fail(err, VS_ERR_INPUT, object,
				    "keys[%zu] is the same public key as keys[%zu] (keyid %s): a key may be listed once, in any encoding",
				    a > b ? a : b, a > b ? b : a, key_id(v[i]->key));
		}
	free(v);
	return r;
}

/* A keyid's hash: its first 16 characters mixed (ids are SHA-256 in hex; a lookup's keyid, from
 * an attestation, may be any string, and only decides where the search starts). */
static size_t keyid_hash(const char *id)
{
	uint64_t w[2] = {0, 0};

	memcpy(w, id, strnlen(id, sizeof(w)));
	w[0] = (w[0] ^ w[1] * 0x9E3779B97F4A7C15ull) * 0xBF58476D1CE4E5B9ull;
	return (size_t)(w[0] ^ w[0] >> 31);
}

/* p->key_slots: the ids hashed, for policy_find_key (a policy of thousands of keys is indexed
 * in linear time). Two entries with one id are refused: one key listed twice (the full parse
 * has refused that already, by material; with lazy keys this is where it is caught when both
 * ids are honest). */
static int keys_index(struct policy *p, const char *object, struct vs_error *err)
{
	size_t n = 16;

	while (n < 2 * p->nkeys)
		n *= 2;
	p->key_slots = calloc(n, sizeof(*p->key_slots));
	if (!p->key_slots)
		return vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
	p->key_mask = n - 1;
	for (size_t i = 0; i < p->nkeys; i++) {
		size_t h = keyid_hash(p->keys[i].id) & p->key_mask;

		for (; p->key_slots[h]; h = (h + 1) & p->key_mask)
			if (!strcmp(p->keys[p->key_slots[h] - 1].id, p->keys[i].id))
				return vs_fail(err, VS_ERR_INPUT, object,
					       "keys[%zu] is the same public key as keys[%u] (keyid %s): a key may be listed once, in any encoding",
					       i, p->key_slots[h] - 1, p->keys[i].id);
		p->key_slots[h] = (uint32_t)(i + 1);
	}
	return 0;
}

/* A new key decoded from k's PEM (not cached), or NULL. */
static struct vs_key *key_decode_pem(const struct policy_key *k)
{
	struct vs_error e = {0};
	struct vs_key *key = NULL;

	if (!k->pem || key_from_public_pem(k->pem, k->pem_len, "policy", &key, &e) < 0)
		return NULL;
	return key;
}

const struct vs_key *policy_key_material(const struct policy *p, const struct policy_key *k,
					 struct vs_error *err)
{
	/* the decoded key is a cache of k->pem: filled once, by whichever thread gets there first */
	struct vs_key **slot = &((struct policy_key *)k)->key, *key = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	struct vs_key *expected = NULL;
	size_t idx = (size_t)(k - p->keys);
	char where[32];

	if (key)
		return key;
	if (key_ready(p, k, err) < 0)
		return NULL;
	snprintf(where, sizeof(where), "keys[%zu]", idx);
	if (!k->pem) {
		vs_fail(err, VS_ERR_INTERNAL, p->object, "%s: no public key", where);
		return NULL;
	}
	if (key_from_public_pem(k->pem, k->pem_len, p->object, &key, err) < 0) {
		err->kind = VS_ERR_INPUT;
		vs_error_prefix(err, "%s", where);
		return NULL;
	}
	if (strcmp(key_id(key), k->id)) {
		/* as the full parse says it: a key listed again in another encoding, under that
		 * encoding's id, is named as the key it is (a refusal's cost: every key decoded) */
		for (size_t j = 0; j < p->nkeys; j++) {
			const struct vs_key *o = __atomic_load_n(&p->keys[j].key, __ATOMIC_ACQUIRE);
			struct vs_key *tmp = NULL;
			int same;

			if (j == idx || key_ready(p, &p->keys[j], NULL) < 0)
				continue;
			if (!o)
				o = tmp = key_decode_pem(&p->keys[j]);
			same = o && key_same_material(o, key);
			key_free(tmp);
			if (same) {
				vs_fail(err, VS_ERR_INPUT, p->object,
					"%s is the same public key as keys[%zu] (keyid %s): a key may be listed once, in any encoding",
					where, j, key_id(key));
				key_free(key);
				return NULL;
			}
		}
		vs_fail(err, VS_ERR_INPUT, p->object, "%s: id \"%.80s\" does not match its public key (keyid %s)",
			where, k->id, key_id(key));
		key_free(key);
		return NULL;
	}
	if (!__atomic_compare_exchange_n(slot, &expected, key, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		key_free(key);
		return expected;
	}
	return key;
}

int policy_check_keys(const struct policy *p, struct vs_error *err)
{
	for (size_t i = 0; i < p->nkeys; i++)
		if (key_ready(p, &p->keys[i], err) < 0 || !policy_key_material(p, &p->keys[i], err))
			return -1;
	return keys_distinct(p, p->object, err);
}

int policy_parse_keyids(json_t *v, const struct policy *p, const char *where, const char *object,
			char (**keys)[KEY_ID_HEX_LEN + 1], size_t *nkeys, struct vs_error *err)
{
	json_t *e;
	size_t i;

	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > VS_MAX_POLICY_KEYS)
		return vs_fail(err, VS_ERR_INPUT, object, "%s: keys must be a non-empty array of keyids", where);
	*keys = calloc(json_array_size(v), sizeof(**keys));
	if (!*keys)
		return vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
	json_array_foreach(v, i, e) {
		const struct policy_key *k = json_is_string(e) ? policy_find_key(p, json_string_value(e)) : NULL;

		if (!k)
			return vs_fail(err, VS_ERR_INPUT, object, "%s: keys[%zu] \"%.80s\" is not a key of this policy",
				       where, i, json_is_string(e) ? json_string_value(e) : "?");
		/* a rule's keys are read with the policy (lazy keys): one that does not parse refuses it */
		if (key_ready(p, k, err) < 0)
			return -1;
		for (size_t j = 0; j < *nkeys; j++)
			if (!strcmp((*keys)[j], json_string_value(e)))
				return vs_fail(err, VS_ERR_INPUT, object, "%s: keyid listed twice", where);
		memcpy((*keys)[(*nkeys)++], json_string_value(e), KEY_ID_HEX_LEN + 1);
	}
	return 0;
}

static int parse_template(json_t *o, size_t idx, const struct policy *p, struct policy_template *t,
			  const char *object, struct vs_error *err)
{
	static const char *const fields[] = {"match", "keys", "threshold", "min_version",
					     "allow_overlay", "comment", NULL};
	char where[64];
	json_t *v;
	int64_t n;

	snprintf(where, sizeof(where), "templates[%zu]", idx);
	if (!json_is_object(o))
		return vs_fail(err, VS_ERR_INPUT, object, "%s is not an object", where);
	if (json_check_fields(o, fields, where, object, err) < 0)
		return -1;
	v = json_object_get(o, "match");
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= sizeof(t->match))
		return vs_fail(err, VS_ERR_INPUT, object, "%s: match must be a non-empty glob", where);
	memcpy(t->match, json_string_value(v), json_string_length(v) + 1);
	if (policy_parse_keyids(json_object_get(o, "keys"), p, where, object, &t->keys, &t->nkeys, err) < 0)
		return -1;
	if (opt_int(o, "threshold", 1, 1, (int64_t)t->nkeys, &n, where, object, err) < 0)
		return -1;
	t->threshold = (unsigned)n;
	if (opt_int(o, "min_version", 0, 0, INT64_MAX, &t->min_version, where, object, err) < 0)
		return -1;
	return opt_bool(o, "allow_overlay", 0, &t->allow_overlay, where, object, err);
}

static int cmp_digest(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int parse_gateway(json_t *o, struct policy_gateway *g, const char *object, struct vs_error *err)
{
	static const char *const fields[] = {"max_skew_s", "max_future_skew_s", "max_validity_s",
					     "max_claims_per_key", "signers", "quorum", NULL};
	static const char *const qfields[] = {"destroy", "delete", NULL};
	json_t *q;
	int64_t n;

	g->max_skew_s = 300;
	g->max_future_skew_s = POLICY_FUTURE_SKEW_DEFAULT;
	g->max_validity_s = 300;
	g->max_claims_per_key = POLICY_CLAIMS_PER_KEY_DEFAULT;
	if (!o)
		return 0;
	if (!json_is_object(o) || json_check_fields(o, fields, "gateway", object, err) < 0)
		return json_is_object(o) ? -1 : vs_fail(err, VS_ERR_INPUT, object, "gateway is not an object");
	if (opt_int(o, "max_skew_s", 300, 1, 86400, &g->max_skew_s, "gateway", object, err) < 0 ||
	    opt_int(o, "max_validity_s", 300, 1, 86400, &g->max_validity_s, "gateway", object, err) < 0 ||
	    opt_int(o, "max_future_skew_s", POLICY_FUTURE_SKEW_DEFAULT, 1, 60, &g->max_future_skew_s,
		    "gateway", object, err) < 0 ||
	    opt_int(o, "max_claims_per_key", POLICY_CLAIMS_PER_KEY_DEFAULT, 1, 1 << 30,
		    &g->max_claims_per_key, "gateway", object, err) < 0)
		return -1;
	q = json_object_get(o, "quorum");
	if (!q)
		return 0;
	if (!json_is_object(q) || json_check_fields(q, qfields, "gateway.quorum", object, err) < 0)
		return json_is_object(q) ? -1 : vs_fail(err, VS_ERR_INPUT, object, "gateway.quorum is not an object");
	if (opt_int(q, "destroy", 1, 1, VS_MAX_SIGNATURES, &n, "gateway.quorum", object, err) < 0)
		return -1;
	g->quorum_destroy = (unsigned)n;
	if (opt_int(q, "delete", g->quorum_destroy, 1, VS_MAX_SIGNATURES, &n, "gateway.quorum", object, err) < 0)
		return -1;
	g->quorum_delete = (unsigned)n;
	return 0;
}

int policy_parse(const char *json, size_t len, const char *object, struct policy **out,
		 struct vs_error *err)
{
	return policy_parse_opts(json, len, object, 0, out, err);
}

static int parse_keys(json_t *v, struct policy *p, unsigned flags, const char *object,
		      struct vs_error *err)
{
	json_t *e;
	size_t i;

	if (v && (!json_is_array(v) || json_array_size(v) > VS_MAX_POLICY_KEYS))
		return vs_fail(err, VS_ERR_INPUT, object, "keys must be an array of at most %d", VS_MAX_POLICY_KEYS);
	p->keys = calloc(json_array_size(v) + 1, sizeof(*p->keys));
	if (!p->keys)
		return vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
	json_array_foreach(v, i, e) {
		p->nkeys = i + 1; /* a partially parsed one is freed too */
		if (parse_key(e, i, p, &p->keys[i], flags, object, err) < 0)
			return -1;
	}
	return 0;
}

/* 64 lowercase hex digits at s. */
/* Where a lazily read policy's entries come from when not from a scan of its text in memory. */
struct lazy_source {
	struct jsonscan_index *ix;         /* the entries' places (taken over) */
	const char *digest;                /* the text's SHA-256, hex */
	const struct policy_index_id *ids; /* the entries' ids as the index keeps them, or NULL */
	int fd;                            /* >= 0: the text is not in memory, read entries from fd, */
	const struct stat *st;             /* whose version this must stay */
};

/* POLICY_LAZY_KEYS with the text indexed (lib/jsonscan.h): an entry whose id reads plainly is
 * kept as its text until it is looked up; any other is parsed now, for its exact error. */
static int parse_keys_indexed(struct policy *p, const struct jsonscan_index *ix,
			      const struct policy_index_id *ids, const char *object, struct vs_error *err)
{
	p->keys = calloc(ix->nelems + 1, sizeof(*p->keys));
	if (!p->keys)
		return vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
	vs_prefault(p->keys, (ix->nelems + 1) * sizeof(*p->keys));
	for (size_t i = 0; i < ix->nelems; i++) {
		const struct jsonscan_elem *e = &ix->elems[i];
		struct policy_key *k = &p->keys[i];

		p->nkeys = i + 1;
		k->src_off = e->off;
		k->src_len = e->len;
		k->deferred = KEY_DEFERRED;
		if (ids && ids[i].plain)
			hex_encode(ids[i].bin, 32, k->id);
		else if (p->src && e->id_len == KEY_ID_HEX_LEN && vs_is_lower_hex(p->src + e->id_off, KEY_ID_HEX_LEN))
			memcpy(k->id, p->src + e->id_off, KEY_ID_HEX_LEN);
		else if (key_ready(p, k, err) < 0)
			return -1;
	}
	return 0;
}

/* The policy text with the keys array's elements taken out ("[]" in its place), for the parse
 * of everything else; NULL when out of memory. */
static char *text_without_array(const char *json, size_t len, const struct jsonscan_index *ix, size_t *outlen)
{
	size_t n, tail = len - ix->arr_off - ix->arr_len;
	char *t = malloc(len - ix->arr_len + 2);

	if (!t)
		return NULL;
	memcpy(t, json, ix->arr_off);
	n = ix->arr_off;
	t[n++] = '[';
	t[n++] = ']';
	memcpy(t + n, json + ix->arr_off + ix->arr_len, tail);
	*outlen = n + tail;
	return t;
}

/* jansson's line for an error in the text without the array: those after the array also count
 * the array's line breaks. */
static int line_with_array(const struct jsonscan_index *ix, const json_error_t *e)
{
	return e->line + (e->position > 0 && (size_t)e->position > ix->arr_off + 2 ? (int)ix->arr_lines : 0);
}

/* POLICY_LAZY_KEYS: the policy keeps its text (the deferred entries and the digest read it) and
 * a lock for parsing them later. */
static int lazy_init(struct policy *p, const char *json, size_t len, char **take,
		     const struct lazy_source *from, const char *object, struct vs_error *err)
{
	pthread_mutexattr_t a;

	if (from && from->fd >= 0) { /* the text stays in the file */
		p->src_fd = fcntl(from->fd, F_DUPFD_CLOEXEC, 0);
		if (p->src_fd < 0)
			return vs_fail(err, VS_ERR_IO, object, "cannot keep the policy open: %s", strerror(errno));
		p->src_fd_open = 1;
		p->src_st = *from->st;
		len = (size_t)from->st->st_size;
	} else if (take && *take == json) {
		p->src = *take;
		*take = NULL;
	} else if ((p->src = malloc(len + 1)) != NULL) {
		memcpy(p->src, json, len);
		p->src[len] = '\0';
	}
	p->lazy_lock = malloc(sizeof(pthread_mutex_t));
	if ((!p->src && !p->src_fd_open) || !p->lazy_lock) {
		free(p->lazy_lock);
		p->lazy_lock = NULL;
		return vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
	}
	p->src_len = len;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(p->lazy_lock, &a);
	pthread_mutexattr_destroy(&a);
	return 0;
}

static void digest_text(const char *json, size_t len, char out[static VS_SHA256_HEX_BYTES])
{
	uint8_t md[32];

	EVP_Digest(json, len, md, NULL, EVP_sha256(), NULL);
	hex_encode(md, 32, out);
}

const char *policy_digest(const struct policy *p)
{
	struct policy *m = (struct policy *)p;

	if (__atomic_load_n(&p->digest[0], __ATOMIC_ACQUIRE) || !p->lazy_lock)
		return p->digest;
	pthread_mutex_lock(p->lazy_lock);
	if (!p->digest[0]) {
		char hex[VS_SHA256_HEX_BYTES];

		digest_text(p->src, p->src_len, hex);
		memcpy(m->digest + 1, hex + 1, sizeof(hex) - 1);
		__atomic_store_n(&m->digest[0], hex[0], __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(p->lazy_lock);
	return p->digest;
}

/* policy_parse_opts; with lazy keys, a text the caller hands over in *take (malloc'd) is kept
 * instead of copied (*take is then NULL). */
static int parse_text_ix(const char *json, size_t len, char **take, const char *object, unsigned flags,
			 const struct lazy_source *src, struct policy **out, struct vs_error *err);

static int parse_text(const char *json, size_t len, char **take, const char *object, unsigned flags,
		      struct policy **out, struct vs_error *err)
{
	return parse_text_ix(json, len, take, object, flags, NULL, out, err);
}

/* parse_text, lazy keys; src (its ix taken over): where the key entries lie, from the policy's
 * index (lib/policyindex.h) instead of a scan of the text, and the text's SHA-256. With
 * src->fd >= 0, json is the text without the keys array's elements ("[]" in their place) and
 * the entries are read from src->fd when used. */
static int parse_text_ix(const char *json, size_t len, char **take, const char *object, unsigned flags,
			 const struct lazy_source *src, struct policy **out, struct vs_error *err)
{
	static const char *const fields[] = {"version", "enforce", "keys", "templates",
					     "revoked_digests", "gateway", "audit_log",
					     "allow_network_disks", "allow_remote_fs", "allow_san_disks", "comment", "boot",
					     "launch", "ssh", "expires", NULL};
	struct jsonscan_index ix = {0};
	struct policy *p = NULL;
	json_error_t jerr;
	json_t *root, *v, *e;
	char *rest = NULL;
	size_t i, rest_len = 0;
	int r = -1;

	if (len > VS_MAX_POLICY_BYTES)
		return vs_fail(err, VS_ERR_INPUT, object, "policy is %zu bytes, limit is %u", len,
			       VS_MAX_POLICY_BYTES);
	/* Lazy keys: jansson reads everything but the key entries (lib/jsonscan.h found them);
	 * whatever the scan does not take, jansson reads whole, as the full parse does. */
	if (src && (flags & POLICY_LAZY_KEYS)) {
		ix = *src->ix;
		memset(src->ix, 0, sizeof(*src->ix));
	}
	if (src && src->fd >= 0) {
		if (!(flags & POLICY_LAZY_KEYS) || !ix.arr_len) {
			jsonscan_index_free(&ix);
			return vs_fail(err, VS_ERR_INTERNAL, object, "an indexed read without its index");
		}
	} else if ((flags & POLICY_LAZY_KEYS) &&
		   (ix.arr_len || jsonscan_index(json, len, "keys", VS_MAX_POLICY_KEYS, &ix)) && ix.arr_len &&
		   !(rest = text_without_array(json, len, &ix, &rest_len))) {
		jsonscan_index_free(&ix);
	}
	root = json_loadb(rest ? rest : json, rest ? rest_len : len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		int line = rest || (src && src->fd >= 0) ? line_with_array(&ix, &jerr) : jerr.line;

		free(rest);
		jsonscan_index_free(&ix);
		return vs_fail(err, VS_ERR_INPUT, object, "policy is not valid JSON: %s (line %d)", jerr.text,
			       line);
	}
	free(rest);
	if (!json_is_object(root)) {
		vs_fail(err, VS_ERR_INPUT, object, "policy is not a JSON object");
		goto out;
	}
	if (json_check_fields(root, fields, "policy", object, err) < 0)
		goto out;
	p = calloc(1, sizeof(*p));
	if (!p) {
		vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
		goto out;
	}
	v = json_object_get(root, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		vs_fail(err, VS_ERR_INPUT, object, "policy version missing or not a positive integer");
		goto out;
	}
	snprintf(p->object, sizeof(p->object), "%s", object);
	if ((flags & POLICY_LAZY_KEYS) && lazy_init(p, json, len, take, src, object, err) < 0)
		goto out;
	p->version = json_integer_value(v);
	/* A bundle's signed end of life (issue #14 item 3); absent: none. */
	if (opt_time(root, "expires", &p->expires, "policy", object, err) < 0)
		goto out;
	if (opt_bool(root, "enforce", 1, &p->enforce, "policy", object, err) < 0 ||
	    opt_bool(root, "allow_network_disks", 0, &p->allow_network_disks, "policy", object, err) < 0 ||
	    opt_bool(root, "allow_remote_fs", 0, &p->allow_remote_fs, "policy", object, err) < 0 ||
	    opt_bool(root, "allow_san_disks", 0, &p->allow_san_disks, "policy", object, err) < 0)
		goto out;
	v = json_object_get(root, "audit_log");
	if (v) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) >= sizeof(p->audit_log) || json_string_value(v)[0] != '/') {
			vs_fail(err, VS_ERR_INPUT, object, "audit_log must be an absolute path");
			goto out;
		}
		memcpy(p->audit_log, json_string_value(v), json_string_length(v) + 1);
	}
	if (ix.arr_len ? parse_keys_indexed(p, &ix, src ? src->ids : NULL, object, err) < 0
		       : parse_keys(json_object_get(root, "keys"), p, flags, object, err) < 0)
		goto out;
	if ((!(flags & POLICY_LAZY_KEYS) && keys_distinct(p, object, err) < 0) || keys_index(p, object, err) < 0)
		goto out;
	v = json_object_get(root, "templates");
	if (v && (!json_is_array(v) || json_array_size(v) > VS_MAX_POLICY_TEMPLATES)) {
		vs_fail(err, VS_ERR_INPUT, object, "templates must be an array of at most %d",
			VS_MAX_POLICY_TEMPLATES);
		goto out;
	}
	p->templates = calloc(json_array_size(v) + 1, sizeof(*p->templates));
	if (!p->templates) {
		vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
		goto out;
	}
	json_array_foreach(v, i, e) {
		p->ntemplates = i + 1;
		if (parse_template(e, i, p, &p->templates[i], object, err) < 0)
			goto out;
	}
	v = json_object_get(root, "revoked_digests");
	if (v && (!json_is_array(v) || json_array_size(v) > VS_MAX_REVOKED_DIGESTS)) {
		vs_fail(err, VS_ERR_INPUT, object, "revoked_digests must be an array of at most %d",
			VS_MAX_REVOKED_DIGESTS);
		goto out;
	}
	p->revoked = calloc(json_array_size(v) + 1, sizeof(*p->revoked));
	if (!p->revoked) {
		vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
		goto out;
	}
	json_array_foreach(v, i, e) {
		const char *s = json_is_string(e) ? json_string_value(e) : "";

		if (strlen(s) != 64 || strspn(s, "0123456789abcdef") != 64) {
			vs_fail(err, VS_ERR_INPUT, object, "revoked_digests[%zu] is not 64 lowercase hex digits", i);
			goto out;
		}
		memcpy(p->revoked[i], s, 65);
		p->nrevoked = i + 1;
	}
	qsort(p->revoked, p->nrevoked, sizeof(*p->revoked), cmp_digest);
	if (parse_gateway(json_object_get(root, "gateway"), &p->gateway, object, err) < 0 ||
	    policy_signers_parse(json_is_object(json_object_get(root, "gateway"))
					 ? json_object_get(json_object_get(root, "gateway"), "signers")
					 : NULL,
				 p, object, err) < 0 ||
	    policy_boot_parse(json_object_get(root, "boot"), p, object, err) < 0 ||
	    policy_launch_parse(json_object_get(root, "launch"), &p->launch, object, err) < 0 ||
	    ssh_policy_parse(json_object_get(root, "ssh"), object, &p->ssh, err) < 0)
		goto out;
	if (!(flags & POLICY_LAZY_KEYS))
		digest_text(json, len, p->digest);
	else if (src && src->digest)
		memcpy(p->digest, src->digest, VS_SHA256_HEX_BYTES);
	*out = p;
	p = NULL;
	r = 0;
out:
	if (p && take && !*take && p->src == json) { /* a failure hands the text back */
		*take = p->src;
		p->src = NULL;
	}
	policy_free(p);
	json_decref(root);
	jsonscan_index_free(&ix);
	return r;
}

int policy_parse_opts(const char *json, size_t len, const char *object, unsigned flags,
		      struct policy **out, struct vs_error *err)
{
	return parse_text(json, len, NULL, object, flags, out, err);
}

int policy_check_expiry(const struct policy *p, int64_t now, struct vs_error *err)
{
	char t[32];

	if (!p->expires || now <= p->expires)
		return 0;
	time_format_rfc3339(p->expires, t, sizeof(t));
	return vs_fail(err, VS_ERR_INPUT, "policy",
		       "policy bundle expired on %s: install a newer one (vmseal-policy install)", t);
}

int policy_check_trust(struct policy *p, const char *path, const struct trust_state *ts,
		       const char *state_path, int64_t now, struct vs_error *err)
{
	char t[32];

	if (p->version < ts->policy_version)
		return vs_fail(err, VS_ERR_INPUT, path,
			       "policy version %lld is older than the installed version %lld (rollback; %s)",
			       (long long)p->version, (long long)ts->policy_version, state_path);
	if (policy_check_expiry(p, now, err) < 0) {
		snprintf(err->object, sizeof(err->object), "%s", path);
		return -1;
	}
	if (p->expires) {
		time_format_rfc3339(p->expires, t, sizeof(t));
		if (p->expires - now < VS_POLICY_EXPIRY_WARN_S)
			snprintf(p->warning, sizeof(p->warning),
				 "policy bundle version %lld expires on %s (in %lld h): install a newer one",
				 (long long)p->version, t, (long long)((p->expires - now) / 3600));
	}
	return 0;
}

int policy_load(const char *path, struct policy **out, struct vs_error *err)
{
	return policy_load_state(path, NULL, out, err);
}

int policy_load_state(const char *path, const char *state_path, struct policy **out,
		      struct vs_error *err)
{
	return policy_load_state_opts(path, state_path, 0, out, err);
}

/* file_read_all, and the file's status when it was the same before and after the read (st_ino
 * 0 when it changed meanwhile: then no index describes the text read). */
static int read_policy_file(const char *path, char **buf, size_t *len, struct stat *st,
			    struct vs_error *err)
{
	struct stat after;
	int fd, r;

	if (vs_open_input(path, VS_INPUT_REG, NULL, &fd, st, err) < 0)
		return -1;
	r = fd_read_all(fd, path, VS_MAX_POLICY_BYTES, buf, len, err);
	if (r == 0 && (fstat(fd, &after) < 0 || !vs_stat_same_version(st, &after)))
		st->st_ino = 0;
	close(fd);
	return r;
}

/* The plain policy at path read through its settled index: the text before and after the keys
 * array (the array's brackets checked where the index puts them), the entries left in the file.
 * 1 with *out, or 0 (nothing changed) when there is no such index, or the file changed, or what
 * was read does not parse: the caller then reads the text whole, for the ordinary answer. */
static int load_indexed(const char *path, unsigned flags, struct policy **out)
{
	struct policy_index pi;
	struct vs_error e = {0};
	struct stat st, after;
	char why[160], digest[VS_SHA256_HEX_BYTES], *rest = NULL;
	size_t head, tail;
	int fd, settled = 0, r = 0;

	if (vs_open_input(path, VS_INPUT_REG, NULL, &fd, &st, &e) < 0)
		return 0;
	if (!policy_index_open(path, &st, &pi, &settled, why, sizeof(why))) {
		close(fd);
		return 0;
	}
	settled = settled && policy_index_fs_keeps_ctime(fd);
	head = pi.ix.arr_off;                         /* the text before the array's '[' */
	tail = pi.size - pi.ix.arr_off - pi.ix.arr_len; /* after its ']' */
	if (settled)
		rest = malloc(head + tail + 3);
	/* prefix and '[', then ']' and suffix: "[]" where the entries were */
	if (rest && fd_pread_full(fd, rest, head + 1, 0) && rest[head] == '[' &&
	    fd_pread_full(fd, rest + head + 1, tail + 1, (off_t)(pi.ix.arr_off + pi.ix.arr_len - 1)) &&
	    rest[head + 1] == ']' && fstat(fd, &after) == 0 && vs_stat_same_version(&st, &after)) {
		struct lazy_source from = {.ix = &pi.ix, .digest = digest, .ids = pi.ids, .fd = fd, .st = &st};

		hex_encode(pi.digest, 32, digest);
		rest[head + tail + 2] = '\0';
		r = parse_text_ix(rest, head + tail + 2, NULL, path, flags, &from, out, &e) == 0;
	}
	free(rest);
	policy_index_free(&pi);
	close(fd);
	return r;
}

int policy_load_state_opts(const char *path, const char *state_path, unsigned flags,
			   struct policy **out, struct vs_error *err)
{
	struct root_of_trust *root = NULL;
	struct trust_state ts;
	struct policy *p = NULL;
	char rootpath[VS_MAX_PATH_BYTES], statebuf[VS_MAX_PATH_BYTES], *buf = NULL, *payload = NULL;
	char pre_digest[VS_SHA256_HEX_BYTES], why[160];
	struct jsonscan_index pre = {0};
	struct stat st;
	size_t len = 0, plen = 0;
	int r = -1;

	if (!state_path) {
		trust_state_path_for(path, statebuf, sizeof(statebuf));
		state_path = statebuf;
	}
	if (trust_state_load(state_path, &ts, err) < 0) {
		vs_error_prefix(err, "trust state");
		return -1;
	}
	/* A plain policy with a settled index (lib/policyindex.h): only what the index does not
	 * cover is read now, the entries when used. Anything else reads the text whole. */
	bundle_root_path(path, rootpath, sizeof(rootpath));
	if ((flags & POLICY_LAZY_KEYS) && ts.root_version == 0 && access(rootpath, F_OK) != 0 &&
	    load_indexed(path, flags, &p) == 1)
		goto check;
	if (read_policy_file(path, &buf, &len, &st, err) < 0)
		return -1;
	/* With a root of trust beside the policy, only a bundle that verifies under it is a
	 * policy: a plain file there would let anyone who can write it bypass the signers. Once a
	 * root was installed, trust.state remembers it: removing root.json changes nothing. */
	bundle_root_path(path, rootpath, sizeof(rootpath));
	if (access(rootpath, F_OK) == 0) {
		if (root_load(rootpath, &root, err) < 0) {
			vs_error_prefix(err, "root of trust");
			goto out;
		}
		if (root->version < ts.root_version) {
			vs_fail(err, VS_ERR_INPUT, rootpath,
				"root of trust version %lld is older than the installed version %lld (rollback; %s)",
				(long long)root->version, (long long)ts.root_version, state_path);
			goto out;
		}
		/* (what the text is, asked only when it fails: a second parse of a big policy) */
		if (bundle_open(root, buf, len, path, &payload, &plen, NULL, err) < 0) {
			if (!bundle_is_envelope(buf, len))
				vs_fail(err, VS_ERR_INPUT, path,
					"not a signed policy bundle, but %s requires one (install with vmseal-policy install)",
					rootpath);
			err->kind = VS_ERR_INPUT;
			goto out;
		}
		if (parse_text(payload, plen, &payload, path, flags, &p, err) < 0)
			goto out;
	} else if (ts.root_version > 0) {
		vs_fail(err, VS_ERR_INPUT, path,
			"a root of trust (version %lld) was installed (%s) but %s is gone: refusing the policy",
			(long long)ts.root_version, state_path, rootpath);
		goto out;
	} else if ((flags & POLICY_LAZY_KEYS) && st.st_ino &&
		   policy_index_lookup(path, &st, buf, len, &pre, pre_digest, why, sizeof(why)) == 1) {
		struct lazy_source from = {.ix = &pre, .digest = pre_digest, .fd = -1};

		/* (an index that leads the text astray fails its parse: read it again, whole) */
		if (parse_text_ix(buf, len, &buf, path, flags, &from, &p, err) < 0 &&
		    parse_text(buf, len, &buf, path, flags, &p, err) < 0)
			goto out;
	} else if (parse_text(buf, len, &buf, path, flags, &p, err) < 0) {
		/* a bundle is no policy (payloadType is not a policy field): say what it is */
		if (bundle_is_envelope(buf, len))
			vs_fail(err, VS_ERR_INPUT, path, "signed policy bundle, but there is no %s to verify it",
				rootpath);
		goto out;
	}
check:
	if (policy_check_trust(p, path, &ts, state_path, vs_now(), err) < 0)
		goto out;
	*out = p;
	p = NULL;
	r = 0;
out:
	policy_free(p);
	free(payload);
	free(buf);
	root_free(root);
	jsonscan_index_free(&pre);
	return r;
}

const struct policy_key *policy_find_key(const struct policy *p, const char *keyid)
{
	struct policy_key *k = NULL;

	if (!p->key_slots) /* while the keys themselves are parsed */
		return NULL;
	for (size_t h = keyid_hash(keyid) & p->key_mask; p->key_slots[h] && !k; h = (h + 1) & p->key_mask)
		if (!strcmp(p->keys[p->key_slots[h] - 1].id, keyid))
			k = &p->keys[p->key_slots[h] - 1];
	if (!k)
		return NULL;
	/* a deferred entry is parsed now; one that does not parse is found as a key that verifies
	 * nothing, and policy_key_material reports its error */
	(void)key_ready(p, k, NULL);
	return k;
}

int policy_key_check(const struct policy_key *k, unsigned usage, int for_verify, int64_t now,
		     struct vs_error *err)
{
	char t[32];

	if (k->status == KEY_STATUS_REVOKED)
		return vs_fail(err, VS_ERR_DENIED, NULL, "key revoked");
	if (k->status == KEY_STATUS_RETIRED && !for_verify)
		return vs_fail(err, VS_ERR_DENIED, NULL, "key retired: it verifies old signatures but signs nothing new");
	if (!(k->usage & usage))
		return vs_fail(err, VS_ERR_DENIED, NULL, "key not authorised for %s use",
			       usage == USAGE_TEMPLATE ? "template" : usage == USAGE_ADMIN ? "admin" :
			       usage == USAGE_BOOT ? "boot" : "policy");
	if (k->not_before && now < k->not_before) {
		time_format_rfc3339(k->not_before, t, sizeof(t));
		return vs_fail(err, VS_ERR_DENIED, NULL, "key not valid before %s", t);
	}
	if (k->not_after && now > k->not_after) {
		time_format_rfc3339(k->not_after, t, sizeof(t));
		return vs_fail(err, VS_ERR_DENIED, NULL, "key expired at %s (not_after)", t);
	}
	return 0;
}

const struct policy_template *policy_match_template(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->ntemplates; i++)
		if (fnmatch(p->templates[i].match, name, 0) == 0)
			return &p->templates[i];
	return NULL;
}

int policy_template_allows_overlay(const struct policy *p, const char *name)
{
	int matched = 0;

	for (size_t i = 0; i < p->ntemplates; i++) {
		if (fnmatch(p->templates[i].match, name, 0) != 0)
			continue;
		if (!p->templates[i].allow_overlay)
			return 0;
		matched = 1;
	}
	return matched;
}

const char *policy_key_owner(const struct policy_key *k)
{
	return k->owner && k->owner[0] ? k->owner : k->id;
}

static void lint_add(char *out, size_t outlen, unsigned *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void lint_add(char *out, size_t outlen, unsigned *n, const char *fmt, ...)
{
	size_t used = strnlen(out, outlen);
	va_list ap;

	(*n)++;
	if (used + 1 >= outlen)
		return;
	va_start(ap, fmt);
	vsnprintf(out + used, outlen - used, fmt, ap);
	va_end(ap);
	used = strnlen(out, outlen);
	if (used + 1 < outlen) {
		out[used] = '\n';
		out[used + 1] = '\0';
	}
}

unsigned policy_lint(const struct policy *p, char *out, size_t outlen)
{
	unsigned n = 0;

	if (outlen)
		out[0] = '\0';
	for (size_t i = 0; i < p->nkeys; i++)
		/* lazy keys: the entries a rule named (parsed when the policy was read) */
		if (p->keys[i].deferred == KEY_READY && p->keys[i].status == KEY_STATUS_RETIRED &&
		    !p->keys[i].retired_at)
			lint_add(out, outlen, &n,
				 "keys[%zu] (keyid %.16s…): retired without retired_at: signatures claiming any date still verify",
				 i, p->keys[i].id);
	for (size_t i = 0; i < p->ntemplates; i++) {
		const struct policy_template *t = &p->templates[i];
		const char *owners[VS_MAX_POLICY_KEYS];
		unsigned nowners = 0;

		for (size_t j = 0; j < i; j++)
			if (!strcmp(p->templates[j].match, t->match))
				lint_add(out, outlen, &n,
					 "templates[%zu] \"%s\": same match as templates[%zu]: both must hold, so the weaker one adds nothing",
					 i, t->match, j);
		for (size_t j = 0; j < t->nkeys; j++) {
			const struct policy_key *k = policy_find_key(p, t->keys[j]);
			int seen = 0;

			if (!k || k->status == KEY_STATUS_REVOKED || !(k->usage & USAGE_TEMPLATE))
				continue;
			for (unsigned o = 0; o < nowners; o++)
				seen |= !strcmp(owners[o], policy_key_owner(k));
			if (!seen && nowners < VS_MAX_POLICY_KEYS)
				owners[nowners++] = policy_key_owner(k);
		}
		if (nowners == 0)
			lint_add(out, outlen, &n,
				 "templates[%zu] \"%s\": none of its keys can sign templates (revoked or no template usage): it denies every image it matches",
				 i, t->match);
		else if (nowners < t->threshold)
			lint_add(out, outlen, &n,
				 "templates[%zu] \"%s\": threshold %u but its usable keys belong to %u distinct owner%s: it can never be met",
				 i, t->match, t->threshold, nowners, nowners == 1 ? "" : "s");
	}
	return n;
}

int policy_digest_revoked(const struct policy *p, const char *digest_hex)
{
	return bsearch(digest_hex, p->revoked, p->nrevoked, sizeof(*p->revoked), cmp_digest) != NULL;
}

static int keys_have(const char (*keys)[KEY_ID_HEX_LEN + 1], size_t nkeys, const char *keyid)
{
	for (size_t i = 0; i < nkeys; i++)
		if (!strcmp(keys[i], keyid))
			return 1;
	return 0;
}

#define COUNTED_ONCE "same owner as an earlier signature, counted once"

int policy_check_signatures(const struct policy *p, const struct dsse_envelope *env,
			    const char (*keys)[KEY_ID_HEX_LEN + 1], size_t nkeys, unsigned threshold,
			    unsigned usage, const char *rule, const char *prefix, const char *object,
			    int64_t now, int64_t signed_at, unsigned *validp,
			    char (*signers)[KEY_ID_HEX_LEN + 1], struct vs_error *why)
{
	const struct policy_key *counted[VS_MAX_SIGNATURES];
	char reason[VS_ERR_REASON_MAX] = "";
	unsigned valid = 0;

	for (size_t i = 0; i < env->nsigs; i++) {
		const struct dsse_signature *s = &env->sigs[i];
		const struct policy_key *k = NULL;
		const struct vs_key *material;
		struct vs_error kerr = {0};
		char w[VS_ERR_REASON_MAX] = "";
		int dup = 0;

		/* A key that does not decode, or whose id is not its material's, is a policy error
		 * (VS_ERR_INPUT), not a signature that fails to count (POLICY_LAZY_KEYS). */
		if (s->keyid[0]) {
			k = policy_find_key(p, s->keyid);
			if (!k)
				snprintf(w, sizeof(w), "unknown key");
			else if (!(material = policy_key_material(p, k, why))) {
				*validp = 0;
				return -1;
			} else if (dsse_verify_sig(env, i, material) < 0) {
				snprintf(w, sizeof(w), "bad signature");
				k = NULL;
			}
		} else {
			/* No keyid hint: the signature counts for whichever rule key verifies it. */
			for (size_t j = 0; j < nkeys && !k; j++) {
				const struct policy_key *c = policy_find_key(p, keys[j]);

				if (!c)
					continue;
				if (!(material = policy_key_material(p, c, why))) {
					*validp = 0;
					return -1;
				}
				if (dsse_verify_sig(env, i, material) == 0)
					k = c;
			}
			if (!k)
				snprintf(w, sizeof(w), "no key of the rule verifies it");
		}
		if (k && !w[0] && policy_key_check(k, usage, 1, now, &kerr) < 0)
			snprintf(w, sizeof(w), "%s", kerr.reason);
		if (k && !w[0] && k->retired_at && signed_at > k->retired_at) {
			char t1[32], t2[32];

			time_format_rfc3339(k->retired_at, t1, sizeof(t1));
			time_format_rfc3339(signed_at, t2, sizeof(t2));
			snprintf(w, sizeof(w), "key retired at %s, signedAt %s is later", t1, t2);
		}
		if (k && !w[0] && !keys_have(keys, nkeys, k->id))
			snprintf(w, sizeof(w), "key not trusted for %s", rule);
		for (unsigned j = 0; k && !w[0] && j < valid; j++)
			if (!strcmp(policy_key_owner(counted[j]), policy_key_owner(k)))
				dup = 1;
		if (dup)
			snprintf(w, sizeof(w), COUNTED_ONCE);
		if (w[0]) {
			if (!reason[0] || strcmp(w, COUNTED_ONCE))
				snprintf(reason, sizeof(reason), "signature %zu (keyid %.8s…): %s", i + 1,
					 s->keyid[0] ? s->keyid : "none", w);
			continue;
		}
		counted[valid] = k;
		memcpy(signers[valid++], k->id, KEY_ID_HEX_LEN + 1);
	}
	*validp = valid;
	if (valid >= threshold)
		return 0;
	if (threshold == 1 || valid == 0)
		return vs_fail(why, VS_ERR_DENIED, object, "%s%s%s%u of %u required signatures valid", prefix,
			       reason, reason[0] ? "; " : "", valid, threshold);
	return vs_fail(why, VS_ERR_DENIED, object, "%s%u of %u required signatures valid%s%s", prefix, valid,
		       threshold, reason[0] ? "; " : "", reason);
}

int64_t policy_verdict_valid_until(const struct policy *p, const struct image_verdict *v)
{
	int64_t t = v->st.expires_at;

	for (size_t i = 0; i < VS_MAX_SIGNATURES && v->signers[i][0]; i++) {
		const struct policy_key *k = policy_find_key(p, v->signers[i]);

		if (k && k->not_after && (!t || k->not_after < t))
			t = k->not_after;
	}
	return t;
}

int policy_open_attestation(const char *envelope, size_t envelope_len, const char *name,
			    struct dsse_envelope **envp, struct statement *st, struct vs_error *why)
{
	struct dsse_envelope *env = NULL;

	*envp = NULL;
	if (dsse_parse(envelope, envelope_len, name, &env, why) < 0) {
		why->kind = VS_ERR_DENIED;
		vs_error_prefix(why, "attestation");
		return -1;
	}
	if (strcmp(env->payload_type, DSSE_INTOTO_TYPE)) {
		vs_fail(why, VS_ERR_DENIED, name, "payloadType \"%.64s\" is not \"%s\"", env->payload_type,
			DSSE_INTOTO_TYPE);
		dsse_free(env);
		return -1;
	}
	if (statement_parse(env->payload, env->payload_len, name, st, why) < 0) {
		why->kind = VS_ERR_DENIED;
		dsse_free(env);
		return -1;
	}
	*envp = env;
	return 0;
}

int policy_check_subject(const struct policy *p, int fd, const char *name, const struct statement *sm,
			 int64_t now, const struct merkle_opts *mo, struct merkle_result *mr,
			 struct vs_error *why, struct vs_error *err)
{
	char t[32], hex[VS_SHA256_HEX_BYTES];
	struct stat st;

	vs_error_clear(why);
	if (sm->expires_at && now > sm->expires_at) {
		time_format_rfc3339(sm->expires_at, t, sizeof(t));
		vs_fail(why, VS_ERR_DENIED, name, "attestation expired at %s", t);
		return 0;
	}
	if (policy_digest_revoked(p, sm->digest)) {
		vs_fail(why, VS_ERR_DENIED, name, "digest %.16s… is revoked by the policy", sm->digest);
		return 0;
	}
	if (fstat(fd, &st) < 0)
		return vs_fail(err, VS_ERR_IO, name, "cannot stat: %s", strerror(errno));
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size != sm->size) {
		vs_fail(why, VS_ERR_DENIED, name, "size is %lld bytes, attestation says %llu",
			(long long)st.st_size, (unsigned long long)sm->size);
		return 0;
	}
	{
		/* A sha256 in the subject is checked too, from the same pass over the bytes. */
		struct merkle_opts o = mo ? *mo : (struct merkle_opts){0};

		o.want_sha256 = sm->sha256[0] != '\0';
		if (merkle_root_fd(fd, name, &o, mr, err) < 0)
			return -1;
	}
	if (mr->size != sm->size) {
		vs_fail(why, VS_ERR_DENIED, name, "size is %llu bytes, attestation says %llu",
			(unsigned long long)mr->size, (unsigned long long)sm->size);
		return 0;
	}
	hex_encode(mr->root, 32, hex);
	if (strcmp(hex, sm->digest))
		vs_fail(why, VS_ERR_DENIED, name,
			"digest mismatch: %s is %.16s…, attestation says %.16s… (modified or another %s)",
			sm->predicate == STATEMENT_BOOT ? "file" : "image", hex, sm->digest,
			sm->predicate == STATEMENT_BOOT ? "file" : "image");
	else if (sm->sha256[0]) {
		hex_encode(mr->sha256, 32, hex);
		if (strcmp(hex, sm->sha256))
			vs_fail(why, VS_ERR_DENIED, name, "sha256 mismatch: %s is %.16s…, attestation says %.16s…",
				sm->predicate == STATEMENT_BOOT ? "file" : "image", hex, sm->sha256);
	}
	return 0;
}

enum decision policy_denial(const struct policy *p)
{
	return p && !p->enforce ? DECISION_ALLOW_AUDIT_ONLY : DECISION_DENY;
}

enum decision policy_refusal(const struct policy *p, const struct vs_error *e)
{
	return e && e->kind == VS_ERR_DENIED ? policy_denial(p) : DECISION_DENY;
}

int policy_eval_image(const struct policy *p, int fd, const char *image_name, const char *envelope,
		      size_t envelope_len, int64_t now, struct image_verdict *v, struct vs_error *err)
{
	return policy_eval_image_opts(p, fd, image_name, envelope, envelope_len, now, NULL, v, err);
}

int policy_eval_image_opts(const struct policy *p, int fd, const char *image_name,
			   const char *envelope, size_t envelope_len, int64_t now,
			   const struct merkle_opts *mo, struct image_verdict *v, struct vs_error *err)
{
	struct dsse_envelope *env = NULL;
	struct merkle_result mr = {0};
	int r = -1;

	memset(v, 0, sizeof(*v));
	v->decision = DECISION_DENY;
	/* Every denial below goes into v->why; a runtime failure goes into err and returns -1. */
	if (policy_open_attestation(envelope, envelope_len, image_name, &env, &v->st, &v->why) < 0)
		goto verdict;
	if (v->st.predicate != STATEMENT_TEMPLATE) {
		vs_fail(&v->why, VS_ERR_DENIED, image_name,
			"the attestation is for a boot file (%s \"%s\"), not a disk image",
			boot_kind_name(v->st.boot_kind), v->st.template_name);
		goto verdict;
	}
	/* Every matching rule must hold: adding a broad rule can never weaken a narrow one. */
	v->allow_overlay = 1;
	for (size_t i = 0; i < p->ntemplates; i++) {
		const struct policy_template *rule = &p->templates[i];
		char signers[VS_MAX_SIGNATURES][KEY_ID_HEX_LEN + 1];
		char label[VS_MAX_NAME_BYTES + 16], which[VS_MAX_NAME_BYTES + 32] = "";
		struct vs_error sigwhy = {0};
		unsigned valid;
		int held;

		if (fnmatch(rule->match, v->st.template_name, 0) != 0)
			continue;
		snprintf(label, sizeof(label), "template \"%s\"", rule->match);
		if (p->ntemplates > 1)
			snprintf(which, sizeof(which), "rule \"%s\": ", rule->match);
		held = policy_check_signatures(p, env, (const char (*)[KEY_ID_HEX_LEN + 1])rule->keys,
					       rule->nkeys, rule->threshold, USAGE_TEMPLATE, label, which,
					       image_name, now, v->st.signed_at, &valid, signers, &sigwhy) == 0;
		if (!rule->allow_overlay)
			v->allow_overlay = 0;
		if (!v->rule || rule->threshold > v->rule->threshold || !held) {
			v->rule = rule;
			v->valid = valid;
			memcpy(v->signers, signers, sizeof(signers));
		}
		if (!held && sigwhy.kind != VS_ERR_DENIED) { /* a policy error, not a verdict */
			*err = sigwhy;
			goto out;
		}
		if (!held) {
			v->why = sigwhy;
			goto verdict;
		}
		if (v->st.template_version < rule->min_version) {
			v->rule = rule;
			vs_fail(&v->why, VS_ERR_DENIED, image_name,
				"template \"%s\" version %lld is below the policy's min_version %lld",
				v->st.template_name, (long long)v->st.template_version,
				(long long)rule->min_version);
			goto verdict;
		}
	}
	if (!v->rule) {
		v->allow_overlay = 0;
		vs_fail(&v->why, VS_ERR_DENIED, image_name, "no policy rule matches template \"%s\"",
			v->st.template_name);
		goto verdict;
	}
	if (policy_check_subject(p, fd, image_name, &v->st, now, mo, &mr, &v->why, err) < 0)
		goto out;
	memcpy(v->root, mr.root, 32);
	v->size = mr.size;
	if (v->why.kind != VS_ERR_NONE)
		goto verdict;
	v->decision = DECISION_ALLOW;
	vs_error_clear(&v->why);
verdict:
	if (v->decision == DECISION_DENY)
		v->decision = policy_denial(p);
	r = 0;
out:
	dsse_free(env);
	return r;
}

static int root_only_writable(const struct stat *st)
{
	return st->st_uid == 0 && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

int policy_file_is_system(const char *path)
{
	char dir[VS_MAX_PATH_BYTES], *slash;
	struct stat st;

	if (strlen(path) >= sizeof(dir) || stat(path, &st) < 0 || !S_ISREG(st.st_mode) || !root_only_writable(&st))
		return 0;
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	return stat(dir, &st) == 0 && root_only_writable(&st);
}

/* ---- the policy index's writer (the format and its reader: lib/policyindex.c) ---- */

int policy_write_index(const char *path, struct vs_error *err)
{
	char ipath[VS_PATH_TMP_MAX];
	struct stat st0, st1;
	struct policy *p = NULL;
	uint8_t *out = NULL;
	char *text = NULL;
	size_t len = 0, olen = 0;
	int64_t ctime_ns, start_ns;
	int fd, r = -1;

	if (vs_open_input(path, VS_INPUT_REG, "policy", &fd, &st0, err) < 0)
		return -1;
	/* First past the tick of the policy's last change, then read: a change after the start of
	 * the read gets a later ctime than the one recorded, a change before it is in the text. */
	ctime_ns = vs_timespec_ns(&st0.st_ctim);
	if (ctime_ns > policy_index_now_ns() + 1000000000) {
		close(fd);
		return vs_fail(err, VS_ERR_INPUT, path,
			       "its ctime is ahead of this clock (a clock stepped back, or another host's): not indexed");
	}
	while (!policy_index_settled(ctime_ns, policy_index_now_ns()))
		nanosleep(&(struct timespec){0, 2000000}, NULL);
	start_ns = policy_index_now_ns();
	r = fd_read_all(fd, path, VS_MAX_POLICY_BYTES, &text, &len, err);
	if (r == 0 && fstat(fd, &st1) < 0)
		r = vs_fail(err, VS_ERR_IO, path, "cannot stat: %s", strerror(errno));
	close(fd);
	if (r < 0)
		goto out;
	r = -1;
	if (!vs_stat_same_version(&st0, &st1)) {
		vs_fail(err, VS_ERR_IO, path, "the policy changed while it was read: try again");
		goto out;
	}
	if (st1.st_uid != geteuid()) {
		vs_fail(err, VS_ERR_INPUT, path,
			"owned by uid %u: its index must have the same owner (run this as that user)",
			(unsigned)st1.st_uid);
		goto out;
	}
	if (policy_parse(text, len, path, &p, err) < 0)
		goto out;
	if (policy_index_encode(text, len, &st1, start_ns, &out, &olen, err) < 0) {
		vs_error_prefix(err, "%s", path);
		goto out;
	}
	snprintf(ipath, sizeof(ipath), "%s%s", path, POLICY_INDEX_SUFFIX);
	if (file_write_atomic(ipath, out, olen, st1.st_mode & 0644, 1, err) < 0)
		goto out;
	/* the policy replaced meanwhile: the index names the old one (and is ignored); say so */
	if (stat(path, &st0) < 0 || !vs_stat_same_version(&st0, &st1)) {
		vs_fail(err, VS_ERR_IO, path, "the policy changed while it was indexed: run this again");
		goto out;
	}
	r = 0;
out:
	policy_free(p);
	free(text);
	free(out);
	return r;
}
