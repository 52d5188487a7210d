/* SPDX-License-Identifier: Apache-2.0 */
/* Lazy policy keys (lib/policy.h, POLICY_LAZY_KEYS): decoded when a decision uses them, with every
 * refusal of the full parse kept, at parse time or at the moment the key matters. */
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common_cunit.h"
#include "lib/dsse.h"
#include "lib/merkle.h"
#include "lib/policy.h"
#include "lib/policyindex.h"
#include "lib/statement.h"
#include "lib/util.h"

static struct vs_key *ked, *kec;    /* Ed25519 (vmseal's PEM form: its id is checked at parse), P-256 */
static char *ec_compressed_pem;     /* kec again, its point written compressed */
static char ec_compressed_id[KEY_ID_HEX_LEN + 1]; /* that encoding's own (non-canonical) id */
static char *p384_pem;              /* a well-formed SPKI of a curve vmseal refuses */
static char p384_id[KEY_ID_HEX_LEN + 1];
static const uint8_t img[] = "lazy keys image";

static char *pem_of(EVP_PKEY *pk, char id[static KEY_ID_HEX_LEN + 1])
{
	BIO *b = BIO_new(BIO_s_mem());
	unsigned char *der = NULL;
	char *d, *s;
	long n;
	int dl;

	PEM_write_bio_PUBKEY(b, pk);
	n = BIO_get_mem_data(b, &d);
	s = strndup(d, (size_t)n);
	BIO_free(b);
	dl = i2d_PUBKEY(pk, &der);
	key_id_of_spki(der, (size_t)dl, id);
	OPENSSL_free(der);
	return s;
}

/* {"id": ID, "public_key": PEM, "usage": ["template"]} */
static json_t *entry(const char *id, const char *pem)
{
	return json_pack("{s:s, s:s, s:[s]}", "id", id, "public_key", pem, "usage", "template");
}

/* A policy of the given entries (stolen) and one rule "t*" over rule_ids with threshold. */
static char *policy_of(json_t *keys, const char *const *rule_ids, size_t nrule, int threshold)
{
	json_t *ids = json_array(), *root;
	char *s;

	for (size_t i = 0; i < nrule; i++)
		json_array_append_new(ids, json_string(rule_ids[i]));
	root = json_pack("{s:i, s:b, s:o, s:[{s:s, s:o, s:i}]}", "version", 1, "enforce", 1, "keys", keys,
			 "templates", "match", "t*", "keys", ids, "threshold", threshold);
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return s;
}

/* An envelope over img signed by the signers; keyids (may be NULL) replaces the signatures'
 * keyid hints ("" for none). */
static char *envelope(struct vs_key **signers, int n, const char *const *keyids)
{
	struct statement st = {0};
	struct dsse_envelope *env = NULL;
	struct vs_error err = {0};
	uint8_t root[32];
	char *payload, *json;
	size_t plen;

	merkle_root_mem(img, sizeof(img), root);
	strcpy(st.subject_name, "img");
	hex_encode(root, 32, st.digest);
	strcpy(st.template_name, "t1");
	st.template_version = 1;
	strcpy(st.format, "raw");
	st.size = sizeof(img);
	st.chunk_size = VS_CHUNK_SIZE;
	st.signed_at = 1000;
	payload = statement_encode(&st, &plen);
	CU_ASSERT_FATAL(dsse_sign(DSSE_INTOTO_TYPE, (uint8_t *)payload, plen, signers[0], &env, &err) == 0);
	for (int i = 1; i < n; i++) {
		if (signers[i] != signers[i - 1]) {
			CU_ASSERT(dsse_append(env, signers[i], &err) == 0);
			continue;
		}
		/* one key's signature twice (dsse_append refuses that): as an attacker would list it */
		env->sigs[i].sig = malloc(env->sigs[i - 1].siglen);
		memcpy(env->sigs[i].sig, env->sigs[i - 1].sig, env->sigs[i - 1].siglen);
		env->sigs[i].siglen = env->sigs[i - 1].siglen;
		env->nsigs = (size_t)i + 1;
	}
	for (int i = 0; keyids && i < n; i++)
		snprintf(env->sigs[i].keyid, sizeof(env->sigs[i].keyid), "%s", keyids[i]);
	json = dsse_encode(env);
	dsse_free(env);
	free(payload);
	return json;
}

/* policy_eval_image of env on img at time 2000: the return value, the decision in *d. */
static int eval(const struct policy *p, const char *env, enum decision *d, struct vs_error *err)
{
	char path[256];
	struct image_verdict v;
	int fd, r;

	snprintf(path, sizeof(path), "%s/img", test_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0 && write(fd, img, sizeof(img)) == (ssize_t)sizeof(img));
	r = policy_eval_image(p, fd, "img", env, strlen(env), 2000, &v, err);
	*d = v.decision;
	close(fd);
	return r;
}

static void test_decoded_on_use(void)
{
	char *pe = key_public_pem(ked), *pc = key_public_pem(kec);
	const char *ids[] = {key_id(ked), key_id(kec)};
	char *j = policy_of(json_pack("[o, o]", entry(ids[0], pe), entry(ids[1], pc)), ids, 2, 1);
	struct vs_key *signer[] = {kec};
	char *env = envelope(signer, 1, NULL);
	struct policy *p = NULL, *full = NULL;
	struct vs_error err = {0};
	enum decision d;

	CU_ASSERT_EQUAL_FATAL(policy_parse_opts(j, strlen(j), "p", POLICY_LAZY_KEYS, &p, &err), 0);
	CU_ASSERT_PTR_NULL(p->keys[0].key); /* nothing decoded by reading the policy */
	CU_ASSERT_PTR_NULL(p->keys[1].key);
	CU_ASSERT_PTR_EQUAL(policy_find_key(p, ids[1]), &p->keys[1]);
	CU_ASSERT_EQUAL(eval(p, env, &d, &err), 0);
	CU_ASSERT_EQUAL(d, DECISION_ALLOW);
	CU_ASSERT_PTR_NOT_NULL(p->keys[1].key); /* the signer's key, decoded for the decision */
	CU_ASSERT_PTR_NULL(p->keys[0].key);     /* the other one never was */
	CU_ASSERT_PTR_EQUAL(policy_key_material(p, &p->keys[1], &err), p->keys[1].key);
	CU_ASSERT_EQUAL(policy_check_keys(p, &err), 0);
	/* the same decision as the full parse */
	CU_ASSERT_EQUAL_FATAL(policy_parse(j, strlen(j), "p", &full, &err), 0);
	CU_ASSERT_EQUAL(eval(full, env, &d, &err), 0);
	CU_ASSERT_EQUAL(d, DECISION_ALLOW);
	policy_free(full);
	policy_free(p);
	free(env);
	free(j);
	free(pe);
	free(pc);
}

/* A P-256 key whose id is not its material's: read, but refused the moment a decision uses it. */
static void test_lying_id_refused_on_use(void)
{
	static const char lie[] = "abababababababababababababababababababababababababababababababab";
	char *pc = key_public_pem(kec);
	const char *ids[] = {lie};
	char *j = policy_of(json_pack("[o]", entry(lie, pc)), ids, 1, 1);
	struct vs_key *signer[] = {kec};
	const char *hint_lie[] = {lie}, *hint_none[] = {""};
	char *env_true = envelope(signer, 1, NULL), *env_lie = envelope(signer, 1, hint_lie),
	     *env_none = envelope(signer, 1, hint_none);
	struct policy *p = NULL;
	struct vs_error err = {0};
	enum decision d;

	CU_ASSERT_EQUAL(policy_parse(j, strlen(j), "p", &p, &err), -1); /* the full parse refuses it */
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "does not match its public key"));
	policy_free(p);
	p = NULL;
	CU_ASSERT_EQUAL_FATAL(policy_parse_opts(j, strlen(j), "p", POLICY_LAZY_KEYS, &p, &err), 0);
	CU_ASSERT_PTR_NULL(policy_key_material(p, &p->keys[0], &err));
	CU_ASSERT_EQUAL(err.kind, VS_ERR_INPUT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "keys[0]: id \"abab"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "does not match its public key"));
	/* the signature under the lying id: a policy error, no verdict */
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(eval(p, env_lie, &d, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "does not match its public key"));
	/* no keyid hint: the rule's key is tried, and refused the same way */
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(eval(p, env_none, &d, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "does not match its public key"));
	/* the true id names no key of this policy */
	CU_ASSERT_EQUAL(eval(p, env_true, &d, &err), 0);
	CU_ASSERT_EQUAL(d, DECISION_DENY);
	CU_ASSERT_EQUAL(policy_check_keys(p, &err), -1);
	policy_free(p);
	free(env_true);
	free(env_lie);
	free(env_none);
	free(j);
	free(pc);
}

/* Ed25519 in vmseal's own PEM form: its id is checked while the policy is read. */
static void test_ed25519_id_checked_at_parse(void)
{
	static const char lie[] = "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";
	char *pe = key_public_pem(ked);
	const char *ids[] = {lie};
	char *j = policy_of(json_pack("[o]", entry(lie, pe)), ids, 1, 1);
	struct policy *p = NULL;
	struct vs_error err = {0};

	CU_ASSERT_EQUAL(policy_parse_opts(j, strlen(j), "p", POLICY_LAZY_KEYS, &p, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "keys[0]: id \"cdcd"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "does not match its public key"));
	policy_free(p);
	free(j);
	free(pe);
}

/* One key twice (issue #14): under one id, refused at parse; under its other encoding's id, that
 * entry is refused when used, so the key never counts twice toward a threshold. */
static void test_duplicate_material(void)
{
	char *pc = key_public_pem(kec);
	const char *canon[] = {key_id(kec), key_id(kec)}, *two[] = {key_id(kec), ec_compressed_id};
	char *same_id = policy_of(json_pack("[o, o]", entry(canon[0], pc), entry(canon[1], ec_compressed_pem)),
				  canon, 1, 1);
	char *own_ids = policy_of(json_pack("[o, o]", entry(two[0], pc), entry(two[1], ec_compressed_pem)),
				  two, 2, 2);
	struct vs_key *signers[] = {kec, kec};
	char *env = envelope(signers, 2, two);
	struct policy *p = NULL;
	struct vs_error err = {0};
	enum decision d;

	CU_ASSERT_EQUAL(policy_parse_opts(same_id, strlen(same_id), "p", POLICY_LAZY_KEYS, &p, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "keys[1] is the same public key as keys[0]"));
	policy_free(p);
	p = NULL;
	CU_ASSERT_EQUAL(policy_parse(own_ids, strlen(own_ids), "p", &p, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "keys[1] is the same public key as keys[0]"));
	policy_free(p);
	p = NULL;
	CU_ASSERT_EQUAL_FATAL(policy_parse_opts(own_ids, strlen(own_ids), "p", POLICY_LAZY_KEYS, &p, &err), 0);
	/* the 2-of-2 rule met by one key signing twice under both ids: refused, not allowed */
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(eval(p, env, &d, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "keys[1] is the same public key as keys[0]"));
	CU_ASSERT_EQUAL(policy_check_keys(p, &err), -1);
	policy_free(p);
	free(env);
	free(same_id);
	free(own_ids);
	free(pc);
}

/* Keys no decision uses (issue #18 item 5: a decision costs the keys it uses): an entry whose id
 * is not a keyid refuses the whole policy (it cannot be indexed); anything else wrong in an unused
 * entry, a malformed PEM, an unknown field, a duplicate member, an unsupported curve, refuses
 * the decisions that use the key and policy_check_keys (vmseal-policy check), and the decisions
 * by other keys stand. */
static void test_unused_keys(void)
{
	static const char *const bad_pem[] = {
		"-----BEGIN PUBLIC KEY-----\nnot base64 at all!\n-----END PUBLIC KEY-----\n",
		"-----BEGIN PUBLIC KEY-----\nMAo=\n-----END PUBLIC KEY-----\n", /* a SEQUENCE cut short */
		"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
		"no PEM",
	};
	static const char *const bad_id[] = {"", "ABAB", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeG",
					     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"};
	char *pe = key_public_pem(ked), *pc = key_public_pem(kec);
	const char *ids[] = {key_id(ked)};
	struct vs_key *signer[] = {ked};
	char *env = envelope(signer, 1, NULL), *j;
	struct policy *p = NULL;
	struct vs_error err = {0};
	enum decision d;

	for (size_t i = 0; i < sizeof(bad_pem) / sizeof(bad_pem[0]); i++) {
		j = policy_of(json_pack("[o, o]", entry(ids[0], pe), entry(key_id(kec), bad_pem[i])), ids, 1, 1);
		p = NULL;
		CU_ASSERT_EQUAL(policy_parse(j, strlen(j), "p", &p, &err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "keys[1]"));
		policy_free(p);
		p = NULL;
		CU_ASSERT_EQUAL_FATAL(policy_parse_opts(j, strlen(j), "p", POLICY_LAZY_KEYS, &p, &err), 0);
		CU_ASSERT_EQUAL(eval(p, env, &d, &err), 0);
		CU_ASSERT_EQUAL(d, DECISION_ALLOW);
		/* looked up: found, verifying nothing, and its error is what using it reports */
		CU_ASSERT_PTR_NOT_NULL_FATAL(policy_find_key(p, key_id(kec)));
		CU_ASSERT_EQUAL(policy_find_key(p, key_id(kec))->status, KEY_STATUS_REVOKED);
		CU_ASSERT_EQUAL(policy_find_key(p, key_id(kec))->usage, 0);
		memset(&err, 0, sizeof(err));
		CU_ASSERT_PTR_NULL(policy_key_material(p, policy_find_key(p, key_id(kec)), &err));
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "keys[1]"));
		CU_ASSERT_EQUAL(err.kind, VS_ERR_INPUT);
		memset(&err, 0, sizeof(err));
		CU_ASSERT_EQUAL(policy_check_keys(p, &err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "keys[1]"));
		policy_free(p);
		free(j);
	}
	for (size_t i = 0; i < sizeof(bad_id) / sizeof(bad_id[0]); i++) {
		j = policy_of(json_pack("[o, o]", entry(ids[0], pe), entry(bad_id[i], pc)), ids, 1, 1);
		p = NULL;
		CU_ASSERT_EQUAL(policy_parse_opts(j, strlen(j), "p", POLICY_LAZY_KEYS, &p, &err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "keys[1]"));
		policy_free(p);
		free(j);
	}
	/* a P-384 key: well-formed, unused; the decision by the Ed25519 key stands */
	j = policy_of(json_pack("[o, o]", entry(ids[0], pe), entry(p384_id, p384_pem)), ids, 1, 1);
	p = NULL;
	CU_ASSERT_EQUAL(policy_parse(j, strlen(j), "p", &p, &err), -1);
	policy_free(p);
	p = NULL;
	CU_ASSERT_EQUAL_FATAL(policy_parse_opts(j, strlen(j), "p", POLICY_LAZY_KEYS, &p, &err), 0);
	CU_ASSERT_EQUAL(eval(p, env, &d, &err), 0);
	CU_ASSERT_EQUAL(d, DECISION_ALLOW);
	CU_ASSERT_PTR_NULL(policy_key_material(p, &p->keys[1], &err));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "unsupported EC curve"));
	CU_ASSERT_EQUAL(policy_check_keys(p, &err), -1);
	policy_free(p);
	free(j);
	free(env);
	free(pe);
	free(pc);
}

/* The keys a rule names are read with the policy: one that does not parse refuses it, as the full
 * parse does. */
static void test_rule_names_malformed_key(void)
{
	char *pe = key_public_pem(ked);
	const char *ids[] = {key_id(ked), key_id(kec)};
	json_t *bad = entry(key_id(kec), "no PEM");
	char *j = policy_of(json_pack("[o, o]", entry(ids[0], pe), bad), ids, 2, 1);
	struct policy *p = NULL;
	struct vs_error err = {0};

	CU_ASSERT_EQUAL(policy_parse_opts(j, strlen(j), "p", POLICY_LAZY_KEYS, &p, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "keys[1]"));
	CU_ASSERT_PTR_NULL(p);
	policy_free(p);
	free(j);
	free(pe);
}

static void test_unused_key_fields(void)
{
	char *pe = key_public_pem(ked), *pc = key_public_pem(kec);
	const char *ids[] = {key_id(ked)};
	struct vs_key *signer[] = {ked};
	char *env = envelope(signer, 1, NULL), *j, *dup;
	json_t *odd = entry(key_id(kec), pc);
	struct policy *p = NULL;
	struct vs_error err = {0};
	enum decision d;

	json_object_set_new(odd, "constraints", json_string("a field vmseal does not know"));
	j = policy_of(json_pack("[o, o]", entry(ids[0], pe), odd), ids, 1, 1);
	CU_ASSERT_EQUAL_FATAL(policy_parse_opts(j, strlen(j), "p", POLICY_LAZY_KEYS, &p, &err), 0);
	CU_ASSERT_EQUAL(eval(p, env, &d, &err), 0);
	CU_ASSERT_EQUAL(d, DECISION_ALLOW);
	CU_ASSERT_EQUAL(policy_check_keys(p, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "constraints"));
	policy_free(p);
	p = NULL;
	/* a member written twice in the unused entry (jansson's JSON_REJECT_DUPLICATES, on use) */
	dup = strstr(j, "\"constraints\"");
	CU_ASSERT_PTR_NOT_NULL_FATAL(dup);
	memcpy(dup, "\"usage\"      ", 13);
	CU_ASSERT_EQUAL(policy_parse(j, strlen(j), "p", &p, &err), -1);
	policy_free(p);
	p = NULL;
	CU_ASSERT_EQUAL_FATAL(policy_parse_opts(j, strlen(j), "p", POLICY_LAZY_KEYS, &p, &err), 0);
	CU_ASSERT_EQUAL(eval(p, env, &d, &err), 0);
	CU_ASSERT_EQUAL(policy_check_keys(p, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "duplicate"));
	policy_free(p);
	free(j);
	free(env);
	free(pe);
	free(pc);
}

/* Texts the scan gives up on (names written with escapes, a number too long to judge quickly)
 * are read whole by jansson: same policy, same errors as the full parse. */
static void test_scan_fallbacks(void)
{
	char *pe = key_public_pem(ked);
	const char *ids[] = {key_id(ked)};
	struct vs_key *signer[] = {ked};
	char *env = envelope(signer, 1, NULL), *j, *k, *esc;
	struct policy *p = NULL, *full = NULL;
	struct vs_error err = {0};
	enum decision d;
	size_t n;

	j = policy_of(json_pack("[o]", entry(ids[0], pe)), ids, 1, 1);
	k = strstr(j, "\"keys\"");
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	n = strlen(j);
	esc = malloc(n + 32);
	CU_ASSERT_PTR_NOT_NULL_FATAL(esc);
	/* "keys" written "k\u0065ys": the same member to jansson */
	memcpy(esc, j, (size_t)(k - j) + 2);
	memcpy(esc + (k - j) + 2, "\\u0065", 6);
	memcpy(esc + (k - j) + 8, k + 3, n - (size_t)(k - j) - 3 + 1);
	CU_ASSERT_EQUAL_FATAL(policy_parse(esc, strlen(esc), "p", &full, &err), 0);
	CU_ASSERT_EQUAL_FATAL(policy_parse_opts(esc, strlen(esc), "p", POLICY_LAZY_KEYS, &p, &err), 0);
	CU_ASSERT_EQUAL(p->nkeys, full->nkeys);
	CU_ASSERT_STRING_EQUAL(policy_digest(p), policy_digest(full));
	CU_ASSERT_EQUAL(eval(p, env, &d, &err), 0);
	CU_ASSERT_EQUAL(d, DECISION_ALLOW);
	policy_free(p);
	policy_free(full);
	p = full = NULL;
	/* and a second "keys" member: refused both ways */
	memcpy(esc + strlen(esc) - 1, ",\"keys\":[]}", 12);
	CU_ASSERT_EQUAL(policy_parse(esc, strlen(esc), "p", &full, &err), -1);
	CU_ASSERT_EQUAL(policy_parse_opts(esc, strlen(esc), "p", POLICY_LAZY_KEYS, &p, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "duplicate"));
	free(esc);
	free(j);
	free(env);
	free(pe);
}

/* jansson reads the lazy policy without its keys array: an error after the array still names
 * the line of the full text, and one before it too. */
static void test_error_lines(void)
{
	char *pe = key_public_pem(ked);
	const char *ids[] = {key_id(ked)};
	json_t *keys = json_pack("[o, o]", entry(ids[0], pe), entry(key_id(kec), pe));
	char *j = policy_of(keys, ids, 1, 1), *t;
	struct policy *p = NULL;
	struct vs_error lazy = {0}, full = {0};
	json_t *o = json_loads(j, 0, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	free(j);
	j = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER); /* keys over many lines */
	json_decref(o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	t = malloc(strlen(j) + 64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	for (int before = 0; before <= 1; before++) {
		/* a member written twice, after the keys array or before it */
		if (before)
			sprintf(t, "{\"enforce\": true,\n\"enforce\": true,\n%s", j + 1);
		else
			sprintf(t, "%.*s,\n\"enforce\": true,\n\"enforce\": true\n}", (int)(strrchr(j, '}') - j), j);
		CU_ASSERT_EQUAL(policy_parse(t, strlen(t), "p", &p, &full), -1);
		CU_ASSERT_EQUAL(policy_parse_opts(t, strlen(t), "p", POLICY_LAZY_KEYS, &p, &lazy), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(full.reason, "duplicate"));
		CU_ASSERT_PTR_NOT_NULL(strstr(full.reason, "(line "));
		CU_ASSERT_STRING_EQUAL(lazy.reason, full.reason);
	}
	free(t);
	free(j);
	free(pe);
}

/* Writes path's index as policy_write_index would, made at created_ns (a test sets it settled or
 * racy instead of waiting), optionally with bytes changed first (fix: called on the encoding). */
static void index_as(const char *path, int64_t created_ns, void (*fix)(uint8_t *, size_t))
{
	char ip[512], *text = NULL;
	struct stat st;
	struct vs_error err = {0};
	uint8_t *b = NULL;
	size_t len = 0, blen = 0;

	CU_ASSERT_EQUAL_FATAL(file_read_all(path, VS_MAX_POLICY_BYTES, &text, &len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL_FATAL(policy_index_encode(text, len, &st, created_ns, &b, &blen, &err), 0);
	if (fix)
		fix(b, blen);
	snprintf(ip, sizeof(ip), "%s%s", path, POLICY_INDEX_SUFFIX);
	CU_ASSERT_EQUAL_FATAL(file_write_atomic(ip, b, blen, 0644, 1, &err), 0);
	free(b);
	free(text);
}

static int64_t ctime_ns(const char *path)
{
	struct stat st;

	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	return (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
}

/* A time at which an index of path is settled (waited for, as policy_write_index waits). */
static int64_t settled_at(const char *path)
{
	while (!policy_index_settled(ctime_ns(path), policy_index_now_ns()))
		nanosleep(&(struct timespec){0, 2000000}, NULL);
	return policy_index_now_ns();
}

/* Whether path lies where a settled index is trusted without its SHA-256 (and the policy is
 * then read through it, its entries left in the file). */
static int fs_keeps_ctime(const char *path)
{
	int fd = open(path, O_RDONLY), r;

	CU_ASSERT_FATAL(fd >= 0);
	r = policy_index_fs_keeps_ctime(fd);
	close(fd);
	return r;
}

/* policy_index_lookup on path's current text: 1 used, 0 not; why gets the reason. */
static int lookup(const char *path, char *why, size_t whylen)
{
	struct jsonscan_index ix;
	char *text = NULL, dig[VS_SHA256_HEX_BYTES];
	struct stat st;
	struct vs_error err = {0};
	size_t len = 0;
	int r;

	CU_ASSERT_EQUAL_FATAL(file_read_all(path, VS_MAX_POLICY_BYTES, &text, &len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	r = policy_index_lookup(path, &st, text, len, &ix, dig, why, whylen);
	jsonscan_index_free(&ix);
	free(text);
	return r;
}

static void racy_wrong_digest(uint8_t *b, size_t len)
{
	(void)len;
	b[88] ^= 1;
}

static void element_out_of_place(uint8_t *b, size_t len)
{
	CU_ASSERT_FATAL(len >= POLICY_INDEX_HEADER_BYTES + 2 * POLICY_INDEX_ELEM_BYTES);
	/* the second element said to start inside the first */
	memcpy(b + POLICY_INDEX_HEADER_BYTES + POLICY_INDEX_ELEM_BYTES, b + POLICY_INDEX_HEADER_BYTES, 8);
}

/* The policy index (lib/policyindex.h): used while it names the policy file by identity, then
 * the same policy as read without it; ignored once the file changed (in place, same size), when
 * racy with a text whose SHA-256 differs, when more writable than the policy, or malformed. */
static void test_index_file(void)
{
	char *pe = key_public_pem(ked), *pc = key_public_pem(kec), why[160], *j, *env;
	const char *ids[] = {key_id(ked)};
	const char *path = test_path("indexed-policy.json"), *state = test_path("indexed-trust.state");
	char ip[512];
	struct policy *full = NULL, *p = NULL;
	struct vs_error err = {0};
	struct vs_key *signer[] = {ked};
	enum decision d;
	int fd;

	j = policy_of(json_pack("[o, o]", entry(ids[0], pe), entry(key_id(kec), pc)), ids, 1, 1);
	env = envelope(signer, 1, NULL);
	snprintf(ip, sizeof(ip), "%s%s", path, POLICY_INDEX_SUFFIX);
	CU_ASSERT_EQUAL_FATAL(file_write_atomic(path, j, strlen(j), 0644, 1, &err), 0);
	CU_ASSERT_EQUAL_FATAL(policy_parse(j, strlen(j), "p", &full, &err), 0);
	CU_ASSERT_EQUAL(lookup(path, why, sizeof(why)), 0); /* none yet */
	/* settled: used, and the policy read through it is the one read whole */
	index_as(path, settled_at(path), NULL);
	CU_ASSERT_EQUAL(lookup(path, why, sizeof(why)), 1);
	CU_ASSERT_STRING_EQUAL(why, "used");
	CU_ASSERT_EQUAL_FATAL(policy_load_state_opts(path, state, POLICY_LAZY_KEYS, &p, &err), 0);
	CU_ASSERT_STRING_EQUAL(policy_digest(p), policy_digest(full));
	CU_ASSERT_EQUAL(p->nkeys, 2);
	CU_ASSERT_PTR_NOT_NULL(policy_find_key(p, key_id(kec)));
	CU_ASSERT_EQUAL(eval(p, env, &d, &err), 0);
	CU_ASSERT_EQUAL(d, DECISION_ALLOW);
	policy_free(p);
	p = NULL;
	/* read through the index, the entries left in the file: one not used yet, then the file
	 * rewritten in place (same size; a tick later: the index above claims to be settled
	 * without having waited), then that entry used: it is read from a file no longer the one
	 * the policy was read from, and refused */
	CU_ASSERT_EQUAL_FATAL(policy_load_state_opts(path, state, POLICY_LAZY_KEYS, &p, &err), 0);
	nanosleep(&(struct timespec){0, 20000000}, NULL);
	fd = open(path, O_WRONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pwrite(fd, "2", 1, (off_t)(strstr(j, "\"version\":1") - j) + 10), 1);
	close(fd);
	if (fs_keeps_ctime(path)) {
		const struct policy_key *k = policy_find_key(p, key_id(kec));

		CU_ASSERT_PTR_NOT_NULL_FATAL(k);
		CU_ASSERT_PTR_NULL(policy_key_material(p, k, &err));
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "changed since it was read"));
	} else {
		fprintf(stderr, "note: %s is on a file system whose ctime is not trusted: entries read in memory\n", path);
	}
	policy_free(p);
	p = NULL;
	CU_ASSERT_EQUAL(lookup(path, why, sizeof(why)), 0);
	CU_ASSERT_STRING_EQUAL(why, "made for another version of the policy file");
	CU_ASSERT_EQUAL_FATAL(policy_load_state_opts(path, state, POLICY_LAZY_KEYS, &p, &err), 0);
	CU_ASSERT_EQUAL(p->version, 2);
	CU_ASSERT_STRING_NOT_EQUAL(policy_digest(p), policy_digest(full));
	policy_free(p);
	p = NULL;
	/* racy (made within the ctime's tick): the text's SHA-256 decides */
	index_as(path, ctime_ns(path), NULL);
	CU_ASSERT_EQUAL(lookup(path, why, sizeof(why)), 1);
	CU_ASSERT_STRING_EQUAL(why, "used (racy: SHA-256 checked)");
	index_as(path, ctime_ns(path), racy_wrong_digest);
	CU_ASSERT_EQUAL(lookup(path, why, sizeof(why)), 0);
	CU_ASSERT_STRING_EQUAL(why, "racy, and the text's SHA-256 differs");
	/* settled, a wrong digest: trusted by identity (the text is the one it was made from) */
	index_as(path, settled_at(path), NULL);
	CU_ASSERT_EQUAL(lookup(path, why, sizeof(why)), 1);
	/* made "later" than now (the clock stepped back since): racy, the SHA-256 decides */
	index_as(path, policy_index_now_ns() + 60000000000LL, NULL);
	CU_ASSERT_EQUAL(lookup(path, why, sizeof(why)), 1);
	CU_ASSERT_STRING_EQUAL(why, "used (racy: SHA-256 checked)");
	index_as(path, policy_index_now_ns() + 60000000000LL, racy_wrong_digest);
	CU_ASSERT_EQUAL(lookup(path, why, sizeof(why)), 0);
	index_as(path, settled_at(path), NULL);
	/* writable by its group, even when the policy is too: ignored (the policy owner's alone) */
	CU_ASSERT_EQUAL(chmod(ip, 0664), 0);
	CU_ASSERT_EQUAL(lookup(path, why, sizeof(why)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "not the policy owner's alone"));
	CU_ASSERT_EQUAL(chmod(path, 0664), 0);
	CU_ASSERT_EQUAL(lookup(path, why, sizeof(why)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "not the policy owner's alone"));
	CU_ASSERT_EQUAL(chmod(ip, 0644), 0);
	index_as(path, settled_at(path), NULL); /* (the chmod changed the policy's ctime) */
	CU_ASSERT_EQUAL(lookup(path, why, sizeof(why)), 1);
	if (geteuid() == 0) { /* another owner's */
		CU_ASSERT_EQUAL(chown(ip, 65534, 65534), 0);
		CU_ASSERT_EQUAL(lookup(path, why, sizeof(why)), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, "not the policy owner's alone"));
	}
	/* malformed: an element out of its place, and a truncated file */
	index_as(path, settled_at(path), element_out_of_place);
	CU_ASSERT_EQUAL(lookup(path, why, sizeof(why)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "entry 1 lies outside its place"));
	CU_ASSERT_EQUAL(truncate(ip, POLICY_INDEX_HEADER_BYTES + 3), 0);
	CU_ASSERT_EQUAL(lookup(path, why, sizeof(why)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "does not hold"));
	/* and the policy still loads the ordinary way */
	CU_ASSERT_EQUAL_FATAL(policy_load_state_opts(path, state, POLICY_LAZY_KEYS, &p, &err), 0);
	CU_ASSERT_EQUAL(p->nkeys, 2);
	policy_free(p);
	policy_free(full);
	free(env);
	free(j);
	free(pe);
	free(pc);
}

/* policy_write_index: the index made for the file as it is, settled (it waited). */
static void test_index_write(void)
{
	char *pe = key_public_pem(ked), why[160];
	const char *ids[] = {key_id(ked)};
	const char *path = test_path("written-policy.json");
	char *j = policy_of(json_pack("[o]", entry(ids[0], pe)), ids, 1, 1);
	struct vs_error err = {0};

	CU_ASSERT_EQUAL_FATAL(file_write_atomic(path, j, strlen(j), 0644, 1, &err), 0);
	CU_ASSERT_EQUAL(policy_write_index(path, &err), 0);
	CU_ASSERT_EQUAL(lookup(path, why, sizeof(why)), 1);
	CU_ASSERT_STRING_EQUAL(why, "used");
	/* not a policy: refused, nothing written */
	CU_ASSERT_EQUAL_FATAL(file_write_atomic(test_path("not-policy.json"), "{\"x\":1}", 7, 0644, 1, &err), 0);
	CU_ASSERT_EQUAL(policy_write_index(test_path("not-policy.json"), &err), -1);
	CU_ASSERT_EQUAL(access(test_path("not-policy.json.index"), F_OK), -1);
	free(j);
	free(pe);
}

/* The digest caches are keyed by: the same for a policy read lazily (the text handed over by
 * policy_load_state_opts, or copied by policy_parse_opts) as read whole, so the gateway's listing
 * finds the allows the hook cached. */
static void test_digest_same(void)
{
	char *pe = key_public_pem(ked), *pc = key_public_pem(kec);
	const char *ids[] = {key_id(ked)};
	char *j = policy_of(json_pack("[o, o]", entry(ids[0], pe), entry(key_id(kec), pc)), ids, 1, 1);
	struct policy *full = NULL, *lazy = NULL, *loaded = NULL;
	struct vs_error err = {0};
	const char *path = test_path("digest-policy.json");

	CU_ASSERT_EQUAL_FATAL(file_write_atomic(path, j, strlen(j), 0644, 1, &err), 0);
	CU_ASSERT_EQUAL_FATAL(policy_parse(j, strlen(j), "p", &full, &err), 0);
	CU_ASSERT_EQUAL_FATAL(policy_parse_opts(j, strlen(j), "p", POLICY_LAZY_KEYS, &lazy, &err), 0);
	CU_ASSERT_EQUAL_FATAL(policy_load_state_opts(path, test_path("digest-trust.state"), POLICY_LAZY_KEYS,
						     &loaded, &err), 0);
	CU_ASSERT_EQUAL(strlen(policy_digest(full)), 64);
	CU_ASSERT_STRING_EQUAL(policy_digest(lazy), policy_digest(full));
	CU_ASSERT_STRING_EQUAL(policy_digest(loaded), policy_digest(full));
	CU_ASSERT_STRING_EQUAL(policy_digest(loaded), policy_digest(loaded)); /* computed once, kept */
	CU_ASSERT_EQUAL(loaded->nkeys, 2);
	CU_ASSERT_PTR_NOT_NULL(policy_find_key(loaded, key_id(kec)));
	policy_free(full);
	policy_free(lazy);
	policy_free(loaded);
	free(j);
	free(pe);
	free(pc);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"keys decoded when a decision uses them, same decision", test_decoded_on_use},
		{"a key whose id lies is refused when used", test_lying_id_refused_on_use},
		{"an Ed25519 key's id is checked while reading", test_ed25519_id_checked_at_parse},
		{"one key listed twice never counts twice", test_duplicate_material},
		{"unused keys: a bad id refuses the policy, anything else the decisions using it", test_unused_keys},
		{"a rule naming a malformed key refuses the policy", test_rule_names_malformed_key},
		{"unknown fields and duplicate members in an unused key", test_unused_key_fields},
		{"lazy and full parse agree on texts the scan gives up on", test_scan_fallbacks},
		{"the policy digest is the same read lazily or whole", test_digest_same},
		{"an error's line is the same read lazily or whole", test_error_lines},
		{"the policy index: used while it names the file, else ignored", test_index_file},
		{"the policy index written for the file as it is", test_index_write},
		{NULL, NULL},
	};
	struct vs_error err = {0};
	EVP_PKEY *c = NULL, *p384;

	if (key_generate(KEY_ALG_ED25519, 1, &ked, &err) < 0 || key_generate(KEY_ALG_P256, 1, &kec, &err) < 0)
		return 2;
	c = EVP_PKEY_dup(key_pkey(kec));
	if (!c || EVP_PKEY_set_utf8_string_param(c, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
						 OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED) != 1)
		return 2;
	ec_compressed_pem = pem_of(c, ec_compressed_id);
	EVP_PKEY_free(c);
	p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (!p384)
		return 2;
	p384_pem = pem_of(p384, p384_id);
	EVP_PKEY_free(p384);
	return run_suite("policylazy", cases);
}
