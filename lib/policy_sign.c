/* SPDX-License-Identifier: Apache-2.0 */
/* gateway.signers: per-key bounds on what POST /v1/sign may sign, and the decision. */
#include "policy_sign.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "policy_gateway.h"


void policy_signers_free(struct policy_signers *s)
{
	for (size_t i = 0; s && i < s->n; i++)
		free(s->v[i].templates);
	if (s)
		free(s->v);
}

static int int_field(json_t *o, const char *field, int64_t min, int64_t max, int64_t dflt,
		     int required, int64_t *out, const char *where, const char *object,
		     struct vs_error *err)
{
	json_t *v = json_object_get(o, field);

	*out = dflt;
	if (!v && !required)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return vs_fail(err, VS_ERR_INPUT, object, "%s: %s must be an integer in [%lld, %lld]",
			       where, field, (long long)min, (long long)max);
	*out = json_integer_value(v);
	return 0;
}

static int parse_one(json_t *o, size_t idx, struct policy *p, struct policy_signer *s,
		     const char *object, struct vs_error *err)
{
	static const char *const fields[] = {"key", "templates", "max_validity_s", "max_version",
					     "quorum", "comment", NULL};
	char where[64];
	json_t *v, *t;
	size_t i;
	int64_t q;

	snprintf(where, sizeof(where), "gateway.signers[%zu]", idx);
	if (!json_is_object(o))
		return vs_fail(err, VS_ERR_INPUT, object, "%s is not an object", where);
	if (json_check_fields(o, fields, where, object, err) < 0)
		return -1;
	v = json_object_get(o, "key");
	if (!json_is_string(v) || !policy_find_key(p, json_string_value(v)))
		return vs_fail(err, VS_ERR_INPUT, object, "%s: key must be a keyid of the policy", where);
	snprintf(s->key, sizeof(s->key), "%s", json_string_value(v));
	for (size_t j = 0; j < idx; j++)
		if (!strcmp(p->gateway.signers.v[j].key, s->key))
			return vs_fail(err, VS_ERR_INPUT, object, "%s: key %.16s has an entry already",
				       where, s->key);
	v = json_object_get(o, "templates");
	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > VS_MAX_SIGN_TEMPLATES)
		return vs_fail(err, VS_ERR_INPUT, object,
			       "%s: templates must be a list of 1 to %d globs", where,
			       VS_MAX_SIGN_TEMPLATES);
	s->templates = calloc(json_array_size(v), sizeof(*s->templates));
	if (!s->templates)
		return vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
	json_array_foreach(v, i, t) {
		if (!json_is_string(t) || json_string_length(t) == 0 ||
		    json_string_length(t) >= sizeof(s->templates[0]))
			return vs_fail(err, VS_ERR_INPUT, object, "%s: templates[%zu] is not a glob",
				       where, i);
		memcpy(s->templates[i], json_string_value(t), json_string_length(t) + 1);
		s->ntemplates++;
	}
	if (int_field(o, "max_validity_s", 1, 10LL * 366 * 86400, 0, 1, &s->max_validity_s, where,
		      object, err) < 0 ||
	    int_field(o, "max_version", 0, INT64_MAX, 0, 1, &s->max_version, where, object, err) < 0 ||
	    int_field(o, "quorum", 1, VS_MAX_SIGN_QUORUM, 1, 0, &q, where, object, err) < 0)
		return -1;
	s->quorum = (unsigned)q;
	return 0;
}

int policy_signers_parse(json_t *v, struct policy *p, const char *object, struct vs_error *err)
{
	struct policy_signers *out = &p->gateway.signers;
	json_t *o;
	size_t i;

	out->v = NULL;
	out->n = 0;
	if (!v)
		return 0;
	if (!json_is_array(v) || json_array_size(v) > VS_MAX_POLICY_KEYS)
		return vs_fail(err, VS_ERR_INPUT, object, "gateway.signers must be a list of at most %u",
			       VS_MAX_POLICY_KEYS);
	out->v = calloc(json_array_size(v) ? json_array_size(v) : 1, sizeof(*out->v));
	if (!out->v)
		return vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
	json_array_foreach(v, i, o) {
		out->n = i + 1; /* freed with the policy even if it fails half-way */
		if (parse_one(o, i, p, &out->v[i], object, err) < 0)
			return -1;
	}
	return 0;
}

static const struct policy_signer *signer_rule(const struct policy *p, const char *keyid)
{
	for (size_t i = 0; i < p->gateway.signers.n; i++)
		if (!strcmp(p->gateway.signers.v[i].key, keyid))
			return &p->gateway.signers.v[i];
	return NULL;
}

int policy_sign_check(const struct policy *p, const struct policy_key *const *keys, size_t n,
		      const char *name, int64_t version, int64_t validity_s, struct vs_error *err)
{
	const struct policy_key *idle = NULL; /* the first key that counts for nothing */
	size_t nowners;
	unsigned need = 1;

	if (n == 0)
		return vs_fail(err, VS_ERR_DENIED, "POST /v1/sign", "no signer");
	for (size_t i = 0; i < n; i++) {
		const struct policy_signer *r;
		size_t t;

		/* A key whose roles do not allow signing vouches for nothing: its entry neither
		 * bounds the request nor counts toward a quorum (the quorum rule of every route). */
		if (!(keys[i]->roles & POLICY_SIGN_ROLES)) {
			if (!idle)
				idle = keys[i];
			continue;
		}
		r = signer_rule(p, keys[i]->id);
		if (!r)
			return vs_fail(err, VS_ERR_DENIED, keys[i]->id,
				       "key %.16s has no gateway.signers entry: it may have nothing "
				       "signed", keys[i]->id);
		for (t = 0; t < r->ntemplates && fnmatch(r->templates[t], name, 0) != 0; t++)
			;
		if (t == r->ntemplates)
			return vs_fail(err, VS_ERR_DENIED, keys[i]->id,
				       "key %.16s may not have template \"%.64s\" signed", keys[i]->id,
				       name);
		if (version > r->max_version)
			return vs_fail(err, VS_ERR_DENIED, keys[i]->id,
				       "version %lld is above key %.16s's max_version %lld",
				       (long long)version, keys[i]->id, (long long)r->max_version);
		if (validity_s > r->max_validity_s)
			return vs_fail(err, VS_ERR_DENIED, keys[i]->id,
				       "valid for %lld s, above key %.16s's max_validity_s %lld",
				       (long long)validity_s, keys[i]->id, (long long)r->max_validity_s);
		if (r->quorum > need)
			need = r->quorum;
	}
	nowners = policy_owners_with_role(keys, n, POLICY_SIGN_ROLES);
	if (nowners < need && idle)
		return vs_fail(err, VS_ERR_DENIED, idle->id,
			       "needs signer signatures of %u distinct owners, got %zu: key %.16s "
			       "does not count, it has neither the signer nor the admin role",
			       need, nowners, idle->id);
	if (nowners < need)
		return vs_fail(err, VS_ERR_DENIED, "POST /v1/sign",
			       "needs signer signatures of %u distinct owners, got %zu", need, nowners);
	return 0;
}
