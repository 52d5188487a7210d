/* SPDX-License-Identifier: Apache-2.0 */
/* The policy's ssh section, the gateway's ssh request bodies, and the certificate decisions. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "gwbody.h"
#include "jsonx.h"
#include "sshpolicy.h"

void ssh_policy_free(struct ssh_policy *p)
{
	if (!p)
		return;
	free(p->rules);
	free(p);
}

static int opt_seconds(json_t *o, const char *field, int64_t dflt, int64_t max, int64_t *out,
		       const char *where, const char *object, struct vs_error *err)
{
	json_t *v = json_object_get(o, field);

	*out = dflt;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max)
		return vs_fail(err, VS_ERR_INPUT, object, "%s: %s must be an integer in [1, %lld]",
			       where, field, (long long)max);
	*out = json_integer_value(v);
	return 0;
}

static int opt_string(json_t *o, const char *field, char *out, size_t max, const char *where,
		      const char *object, struct vs_error *err)
{
	json_t *v = json_object_get(o, field);

	out[0] = '\0';
	if (!v)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return vs_fail(err, VS_ERR_INPUT, object, "%s: %s must be a string of 1..%zu bytes",
			       where, field, max);
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

/* An array of 1..max principal names into out; checked like a certificate's. */
static int principal_list(json_t *v, char (*out)[VS_MAX_SSH_PRINCIPAL_BYTES + 1], size_t *n,
			  const char *where, const char *object, struct vs_error *err)
{
	struct sshcert probe;
	size_t i;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > VS_MAX_SSH_PRINCIPALS)
		return vs_fail(err, VS_ERR_INPUT, object, "%s: principals must be an array of 1..%u names",
			       where, VS_MAX_SSH_PRINCIPALS);
	memset(&probe, 0, sizeof(probe));
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || json_string_length(e) > VS_MAX_SSH_PRINCIPAL_BYTES)
			return vs_fail(err, VS_ERR_INPUT, object, "%s: principals[%zu] is not a name",
				       where, i);
		memcpy(out[i], json_string_value(e), json_string_length(e) + 1);
		memcpy(probe.principals[i], out[i], sizeof(out[i]));
	}
	*n = json_array_size(v);
	/* the certificate's own rules, on a probe that holds only what is checked here */
	probe.type = SSHCERT_USER;
	probe.nprincipals = *n;
	probe.valid_before = 1;
	{
		struct sshkey dummy = {.type = SSHKEY_ED25519};

		probe.key = &dummy;
		if (sshcert_check(&probe, err) < 0) {
			vs_error_prefix(err, "%s", where);
			err->kind = VS_ERR_INPUT;
			return -1;
		}
	}
	return 0;
}

static int parse_rule(json_t *o, size_t idx, const struct ssh_policy *p, struct ssh_rule *r,
		      const char *object, struct vs_error *err)
{
	static const char *const fields[] = {"id", "principals", "max_validity_s", "source_address",
					     "force_command", "extensions", "quorum", "comment", NULL};
	char where[48];
	json_t *v, *e;
	int64_t q;
	size_t i;

	snprintf(where, sizeof(where), "ssh.keys[%zu]", idx);
	if (!json_is_object(o))
		return vs_fail(err, VS_ERR_INPUT, object, "%s is not an object", where);
	if (json_check_fields(o, fields, where, object, err) < 0)
		return -1;
	v = json_object_get(o, "id");
	if (!json_is_string(v) || json_string_length(v) != KEY_ID_HEX_LEN ||
	    strspn(json_string_value(v), "0123456789abcdef") != KEY_ID_HEX_LEN)
		return vs_fail(err, VS_ERR_INPUT, object, "%s: id must be a keyid (64 lowercase hex)",
			       where);
	memcpy(r->id, json_string_value(v), KEY_ID_HEX_LEN + 1);
	if (principal_list(json_object_get(o, "principals"), r->principals, &r->nprincipals, where,
			   object, err) < 0 ||
	    opt_seconds(o, "max_validity_s", p->max_validity_s, VS_MAX_SSH_VALIDITY_S,
			&r->max_validity_s, where, object, err) < 0 ||
	    opt_string(o, "source_address", r->source_address, VS_MAX_SSH_OPTION_BYTES, where,
		       object, err) < 0 ||
	    opt_string(o, "force_command", r->force_command, VS_MAX_SSH_OPTION_BYTES, where, object,
		       err) < 0 ||
	    opt_seconds(o, "quorum", 1, VS_MAX_SSH_QUORUM, &q, where, object, err) < 0)
		return -1;
	r->quorum = (unsigned)q;
	v = json_object_get(o, "extensions");
	if (!v) {
		r->extensions = SSHCERT_EXT_PTY;
	} else {
		if (!json_is_array(v) || json_array_size(v) > VS_MAX_SSH_OPTIONS)
			return vs_fail(err, VS_ERR_INPUT, object, "%s: extensions must be an array",
				       where);
		json_array_foreach(v, i, e) {
			unsigned bit = json_is_string(e) ? sshcert_ext_parse(json_string_value(e)) : 0;

			if (!bit)
				return vs_fail(err, VS_ERR_INPUT, object,
					       "%s: extensions[%zu] is not a known extension", where, i);
			r->extensions |= bit;
		}
	}
	{
		/* options as a certificate would carry them */
		struct sshkey dummy = {.type = SSHKEY_ED25519};
		struct sshcert probe = {.type = SSHCERT_USER, .key = &dummy, .nprincipals = 1,
					.valid_before = 1};

		snprintf(probe.principals[0], sizeof(probe.principals[0]), "x");
		memcpy(probe.source_address, r->source_address, sizeof(r->source_address));
		memcpy(probe.force_command, r->force_command, sizeof(r->force_command));
		if (sshcert_check(&probe, err) < 0) {
			vs_error_prefix(err, "%s", where);
			err->kind = VS_ERR_INPUT;
			return -1;
		}
	}
	return 0;
}

int ssh_policy_parse(json_t *o, const char *object, struct ssh_policy **out, struct vs_error *err)
{
	static const char *const fields[] = {"max_validity_s", "host_validity_s", "host_suffixes",
					     "host_names", "keys", "comment", NULL};
	struct ssh_policy *p = calloc(1, sizeof(*p));
	json_t *v, *e;
	size_t i;

	*out = NULL;
	if (!p)
		return vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
	p->max_validity_s = VS_DEFAULT_SSH_VALIDITY_S;
	p->host_validity_s = VS_DEFAULT_SSH_HOST_VALIDITY_S;
	if (!o)
		goto done;
	if (!json_is_object(o)) {
		vs_fail(err, VS_ERR_INPUT, object, "ssh is not an object");
		goto fail;
	}
	if (json_check_fields(o, fields, "ssh", object, err) < 0 ||
	    opt_seconds(o, "max_validity_s", VS_DEFAULT_SSH_VALIDITY_S, VS_MAX_SSH_VALIDITY_S,
			&p->max_validity_s, "ssh", object, err) < 0 ||
	    opt_seconds(o, "host_validity_s", VS_DEFAULT_SSH_HOST_VALIDITY_S,
			VS_MAX_SSH_HOST_VALIDITY_S, &p->host_validity_s, "ssh", object, err) < 0)
		goto fail;
	v = json_object_get(o, "host_suffixes");
	if (v) {
		if (!json_is_array(v) || json_array_size(v) > VS_MAX_SSH_HOST_SUFFIXES) {
			vs_fail(err, VS_ERR_INPUT, object, "ssh.host_suffixes must be an array of at "
				"most %u", VS_MAX_SSH_HOST_SUFFIXES);
			goto fail;
		}
		json_array_foreach(v, i, e) {
			const char *s = json_is_string(e) ? json_string_value(e) : "";

			if (s[0] != '.' || !gwbody_name_ok(s + 1) || strlen(s) > VS_MAX_SSH_PRINCIPAL_BYTES / 2) {
				vs_fail(err, VS_ERR_INPUT, object, "ssh.host_suffixes[%zu] must be "
					"\".name\"", i);
				goto fail;
			}
			snprintf(p->host_suffixes[i], sizeof(p->host_suffixes[i]), "%s", s);
			p->nhost_suffixes = i + 1;
		}
	}
	v = json_object_get(o, "host_names");
	if (v) {
		if (!json_is_array(v) || json_array_size(v) > VS_MAX_SSH_HOST_NAMES) {
			vs_fail(err, VS_ERR_INPUT, object, "ssh.host_names must be an array of at most %u",
				VS_MAX_SSH_HOST_NAMES);
			goto fail;
		}
		json_array_foreach(v, i, e) {
			const char *s = json_is_string(e) ? json_string_value(e) : "";
			size_t n = strlen(s);

			/* a name's characters, and the pattern's own; some literal character, so that
			 * it names some names, not every one */
			if (!n || n >= sizeof(p->host_names[0]) ||
			    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-*?[]!") != n ||
			    strspn(s, "*?") == n || strchr(s, '[')) {
				vs_fail(err, VS_ERR_INPUT, object,
					"ssh.host_names[%zu] must be a domain name pattern (letters, digits, "
					". _ - and * ?, with at least one letter, digit or . _ -)", i);
				goto fail;
			}
			memcpy(p->host_names[i], s, n + 1);
			p->nhost_names = i + 1;
		}
	}
	v = json_object_get(o, "keys");
	if (v && (!json_is_array(v) || json_array_size(v) > VS_MAX_SSH_RULES)) {
		vs_fail(err, VS_ERR_INPUT, object, "ssh.keys must be an array of at most %u",
			VS_MAX_SSH_RULES);
		goto fail;
	}
	p->rules = calloc(json_array_size(v) + 1, sizeof(*p->rules));
	if (!p->rules) {
		vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
		goto fail;
	}
	json_array_foreach(v, i, e) {
		if (parse_rule(e, i, p, &p->rules[i], object, err) < 0)
			goto fail;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(p->rules[j].id, p->rules[i].id)) {
				vs_fail(err, VS_ERR_INPUT, object, "ssh.keys[%zu]: keyid listed twice", i);
				goto fail;
			}
		p->nrules = i + 1;
	}
done:
	*out = p;
	return 0;
fail:
	ssh_policy_free(p);
	return -1;
}

const struct ssh_rule *ssh_policy_rule(const struct ssh_policy *p, const char *keyid)
{
	for (size_t i = 0; p && i < p->nrules; i++)
		if (!strcmp(p->rules[i].id, keyid))
			return &p->rules[i];
	return NULL;
}

static json_t *load_body(const char *body, size_t len, const char *const *fields,
			 const char *object, struct vs_error *err)
{
	json_t *o;

	o = body && len <= VS_MAX_BODY_BYTES ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL)
					     : NULL;
	if (!json_is_object(o)) {
		json_decref(o);
		vs_fail(err, VS_ERR_INPUT, object, "body is not a JSON object");
		return NULL;
	}
	if (json_check_fields(o, fields, "body", object, err) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int key_field(json_t *o, const char *field, const char *object, struct sshkey **out,
		     struct vs_error *err)
{
	json_t *v = json_object_get(o, field);

	if (!json_is_string(v))
		return vs_fail(err, VS_ERR_INPUT, object, "%s must be an OpenSSH public key line",
			       field);
	return sshkey_parse_line(json_string_value(v), json_string_length(v), field, out, err);
}

int ssh_request_parse_cert(const char *body, size_t len, struct ssh_cert_request *r,
			   struct vs_error *err)
{
	static const char *const fields[] = {"ssh_public_key", "principals", "validity_s", NULL};
	const char *o = "POST /v1/ssh/certs";
	json_t *j, *v;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (!(j = load_body(body, len, fields, o, err)))
		return -1;
	if (principal_list(json_object_get(j, "principals"), r->principals, &r->nprincipals, "body",
			   o, err) < 0)
		goto out;
	v = json_object_get(j, "validity_s");
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > VS_MAX_SSH_VALIDITY_S) {
		vs_fail(err, VS_ERR_INPUT, o, "validity_s must be an integer in [1, %u]",
			VS_MAX_SSH_VALIDITY_S);
		goto out;
	}
	r->validity_s = json_integer_value(v);
	rc = key_field(j, "ssh_public_key", o, &r->key, err);
out:
	json_decref(j);
	return rc;
}

int ssh_request_parse_host(const char *body, size_t len, struct ssh_host_request *r,
			   struct vs_error *err)
{
	static const char *const fields[] = {"domain", "host_public_key", NULL};
	const char *o = "POST /v1/ssh/host-certs";
	json_t *j, *v;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (!(j = load_body(body, len, fields, o, err)))
		return -1;
	v = json_object_get(j, "domain");
	if (!json_is_string(v) || !gwbody_name_ok(json_string_value(v))) {
		vs_fail(err, VS_ERR_INPUT, o, "domain must be a name");
		goto out;
	}
	snprintf(r->domain, sizeof(r->domain), "%s", json_string_value(v));
	rc = key_field(j, "host_public_key", o, &r->key, err);
out:
	json_decref(j);
	return rc;
}

int ssh_request_parse_revoke(const char *body, size_t len, struct ssh_revoke_request *r,
			     struct vs_error *err)
{
	static const char *const fields[] = {"serial", "fingerprint", NULL};
	const char *o = "POST /v1/ssh/revoke";
	json_t *j, *s, *f;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (!(j = load_body(body, len, fields, o, err)))
		return -1;
	s = json_object_get(j, "serial");
	f = json_object_get(j, "fingerprint");
	if (!s == !f) {
		vs_fail(err, VS_ERR_INPUT, o, "give exactly one of serial and fingerprint");
	} else if (s) {
		if (!json_is_integer(s) || json_integer_value(s) < 1)
			vs_fail(err, VS_ERR_INPUT, o, "serial must be a positive integer");
		else {
			r->by_serial = 1;
			r->serial = (uint64_t)json_integer_value(s);
			rc = 0;
		}
	} else if (!json_is_string(f) || sshkey_fingerprint_decode(json_string_value(f), r->fp) < 0) {
		vs_fail(err, VS_ERR_INPUT, o, "fingerprint must be \"SHA256:\" and 43 base64 characters");
	} else {
		snprintf(r->fp_text, sizeof(r->fp_text), "%s", json_string_value(f));
		rc = 0;
	}
	json_decref(j);
	return rc;
}

int ssh_decide_user_cert(const struct ssh_policy *p, const char *requester, size_t nsigners,
			 const struct ssh_cert_request *r, int64_t now, struct sshcert *c,
			 int *no_quorum, struct vs_error *err)
{
	const struct ssh_rule *rule = ssh_policy_rule(p, requester);

	if (no_quorum)
		*no_quorum = 0;

	if (!rule)
		return vs_fail(err, VS_ERR_DENIED, requester, "no ssh rule for this key in the policy");
	for (size_t i = 0; i < r->nprincipals; i++) {
		size_t j;

		for (j = 0; j < rule->nprincipals && strcmp(rule->principals[j], r->principals[i]); j++)
			;
		if (j == rule->nprincipals)
			return vs_fail(err, VS_ERR_DENIED, requester,
				       "principal \"%.64s\" is not allowed for this key", r->principals[i]);
	}
	if (r->validity_s < 1 || r->validity_s > rule->max_validity_s)
		return vs_fail(err, VS_ERR_DENIED, requester, "validity %llds is over this key's "
			       "maximum of %llds", (long long)r->validity_s,
			       (long long)rule->max_validity_s);
	if (nsigners < rule->quorum) {
		if (no_quorum)
			*no_quorum = 1;
		return vs_fail(err, VS_ERR_DENIED, requester, "quorum: %zu of %u distinct signers",
			       nsigners, rule->quorum);
	}
	if (now < VS_SSH_BACKDATE_S)
		return vs_fail(err, VS_ERR_INTERNAL, "clock", "the clock is before 1970");
	c->type = SSHCERT_USER;
	c->nprincipals = r->nprincipals;
	memcpy(c->principals, r->principals, sizeof(c->principals));
	c->valid_after = (uint64_t)(now - VS_SSH_BACKDATE_S);
	c->valid_before = (uint64_t)(now + r->validity_s);
	memcpy(c->source_address, rule->source_address, sizeof(c->source_address));
	memcpy(c->force_command, rule->force_command, sizeof(c->force_command));
	c->extensions = rule->extensions;
	return 0;
}

static size_t count_dots(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '.';
	return n;
}

/* Each dot-separated label of name matches the pattern's label at the same place. */
static int labels_match(const char *pattern, const char *name)
{
	char pl[VS_MAX_NAME_BYTES], nl[VS_MAX_NAME_BYTES];

	for (;;) {
		size_t a = strcspn(pattern, "."), b = strcspn(name, ".");

		if (a >= sizeof(pl) || b >= sizeof(nl))
			return 0;
		memcpy(pl, pattern, a);
		pl[a] = '\0';
		memcpy(nl, name, b);
		nl[b] = '\0';
		if (fnmatch(pl, nl, 0) != 0)
			return 0;
		if (!pattern[a] || !name[b])
			return !pattern[a] && !name[b];
		pattern += a + 1;
		name += b + 1;
	}
}

int ssh_decide_host_cert(const struct ssh_policy *p, const char *domain, int64_t now,
			 struct sshcert *c, struct vs_error *err)
{
	size_t i;

	if (!gwbody_name_ok(domain))
		return vs_fail(err, VS_ERR_INPUT, "domain", "\"%.64s\" is not a name", domain);
	/* label by label: a * or ? never crosses a dot (vm-* is not vm-1.corp.example.com) */
	for (i = 0; i < p->nhost_names; i++)
		if (fnmatch(p->host_names[i], domain, 0) == 0 &&
		    count_dots(p->host_names[i]) == count_dots(domain) && labels_match(p->host_names[i], domain))
			break;
	if (i == p->nhost_names)
		return vs_fail(err, VS_ERR_DENIED, "domain",
			       "\"%s\" matches none of the policy's ssh.host_names: no host certificate for it", domain);
	c->type = SSHCERT_HOST;
	snprintf(c->principals[0], sizeof(c->principals[0]), "%s", domain);
	c->nprincipals = 1;
	for (size_t i = 0; i < p->nhost_suffixes && c->nprincipals < VS_MAX_SSH_PRINCIPALS; i++)
		snprintf(c->principals[c->nprincipals++], sizeof(c->principals[0]), "%s%s", domain,
			 p->host_suffixes[i]);
	c->valid_after = (uint64_t)(now - VS_SSH_BACKDATE_S);
	c->valid_before = (uint64_t)(now + p->host_validity_s);
	c->source_address[0] = c->force_command[0] = '\0';
	c->extensions = 0;
	return 0;
}
