/* SPDX-License-Identifier: Apache-2.0 */
/* Host policy: trusted keys, template rules, revocations; the one image decision. */
#ifndef VMSEAL_POLICY_H
#define VMSEAL_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "error.h"
#include "key.h"
#include "limits.h"
#include "policy_launch.h"
#include "statement.h"

struct dsse_envelope;

struct merkle_opts;
struct merkle_result;
struct ssh_policy;

enum key_status { KEY_STATUS_ACTIVE = 0, KEY_STATUS_RETIRED, KEY_STATUS_REVOKED };

enum key_usage {
	USAGE_TEMPLATE = 1u << 0,
	USAGE_ADMIN = 1u << 1,
	USAGE_POLICY = 1u << 2,
	USAGE_BOOT = 1u << 3, /* boot files: kernels, initrds, firmware, NVRAM, DTBs, ACPI tables */
};

enum role {
	ROLE_VIEWER = 1u << 0,
	ROLE_OPERATOR = 1u << 1,
	ROLE_ADMIN = 1u << 2,
	ROLE_SIGNER = 1u << 3,
	ROLE_AUDITOR = 1u << 4,
	ROLE_SSH = 1u << 5, /* SSH certificates for admin sessions (POST /v1/ssh/certs) */
};

struct policy_key {
	char id[KEY_ID_HEX_LEN + 1];
	/* The public key. Parsed with POLICY_LAZY_KEYS it is NULL until policy_key_material()
	 * decodes pem when a decision first uses the key: read it only through that function. */
	struct vs_key *key;
	char *pem;          /* POLICY_LAZY_KEYS: the public_key text, decoded on first use */
	size_t pem_len;
	char *owner;        /* NULL: unset (read it with policy_key_owner) */
	unsigned usage;  /* enum key_usage bits */
	unsigned roles;  /* enum role bits */
	enum key_status status;
	int64_t not_before; /* 0: unset */
	int64_t not_after;  /* 0: unset */
	int64_t retired_at; /* status retired: signatures claiming a later signedAt are refused; 0: unset */
	/* POLICY_LAZY_KEYS: an entry is kept as its text (struct policy's src) until a decision
	 * looks it up (policy_find_key parses it then); an entry that fails to parse is kept as
	 * revoked, usage and roles none, and its error is what policy_key_material reports. */
	size_t src_off, src_len;
	int deferred;
	struct vs_error *broken;
};

struct policy_template {
	char match[VS_MAX_NAME_BYTES]; /* fnmatch(3) glob on the template name */
	char (*keys)[KEY_ID_HEX_LEN + 1];
	size_t nkeys;
	unsigned threshold;
	int64_t min_version;
	int allow_overlay;
};

/* A boot file the policy trusts by its digest (distribution firmware such as SeaBIOS or OVMF). */
struct policy_boot_pin {
	char path[VS_MAX_PATH_BYTES]; /* "" : any path; else this pin decides for exactly this path */
	enum boot_kind kind;
	char digest[VS_SHA256_HEX_BYTES]; /* vmseal-merkle-sha256 */
	uint64_t size;
	size_t ncmdlines;             /* kernel pins: the command lines it may boot with */
	char (*cmdlines)[VS_MAX_CMDLINE_BYTES];
};

/* Which signed boot files are trusted: every rule whose glob matches the Statement's boot.name
 * and whose kinds include the file's kind must hold. */
struct policy_boot_rule {
	char match[VS_MAX_NAME_BYTES]; /* fnmatch(3) glob on boot.name */
	unsigned kinds;                /* bit (1u << enum boot_kind) per allowed kind */
	char (*keys)[KEY_ID_HEX_LEN + 1];
	size_t nkeys;
	unsigned threshold;
	int64_t min_version;
};

struct policy_boot {
	struct policy_boot_pin *pins;
	size_t npins;
	struct policy_boot_rule *rules;
	size_t nrules;
};

#define POLICY_FUTURE_SKEW_DEFAULT 2          /* s; a gateway waits this long (+1) at start */
#define POLICY_CLAIMS_PER_KEY_DEFAULT 262144  /* a quarter of the default replay capacity */

/* One key's bounds on POST /v1/sign (gateway.signers). */
struct policy_signer {
	char key[KEY_ID_HEX_LEN + 1];
	char (*templates)[VS_MAX_NAME_BYTES]; /* fnmatch(3) globs on the template name */
	size_t ntemplates;
	int64_t max_validity_s;               /* expiresAt - signedAt */
	int64_t max_version;
	unsigned quorum;                      /* distinct owners of allowed signer keys, >= 1 */
};

struct policy_signers {
	struct policy_signer *v;
	size_t n;
};

struct policy_gateway {
	int64_t max_skew_s;        /* how far created may lie in the past */
	int64_t max_future_skew_s; /* how far created may lie ahead (default 2) */
	int64_t max_validity_s;
	int64_t max_claims_per_key; /* live replay claims one key may hold (default 262144) */
	struct policy_signers signers; /* POST /v1/sign: a key without an entry signs nothing */
	unsigned quorum_destroy; /* distinct admin signatures for destroy; 0/1: one */
	unsigned quorum_delete;
};

struct policy {
	int64_t version;
	int enforce;
	int allow_network_disks;
	int allow_remote_fs; /* verified files may lie on NFS, CIFS, FUSE, 9p... (lib/filetrust.h) */
	int allow_san_disks; /* ...or on disks of a SAN: FC, FCoE, iSCSI, iSER, SRP, NVMe over fabrics */
	struct policy_key *keys;
	size_t nkeys;
	struct policy_template *templates;
	size_t ntemplates;
	char (*revoked)[VS_SHA256_HEX_BYTES]; /* sorted */
	size_t nrevoked;
	struct policy_gateway gateway;
	struct policy_boot boot;           /* the "boot" section; empty: no boot file is trusted */
	struct policy_launch launch;       /* emulators, opt-ins, log_dir, require_rng */
	struct ssh_policy *ssh;            /* the "ssh" section (lib/sshpolicy.h); never NULL */
	char audit_log[VS_MAX_PATH_BYTES]; /* "" when unset */
	uint32_t *key_slots;               /* policy_find_key's hash of the ids: index + 1, 0 empty */
	size_t key_mask;                   /* slots - 1 (a power of two, at least twice nkeys) */
	char object[VS_ERR_OBJECT_MAX];    /* the policy's name in errors (its path) */
	char digest[VS_SHA256_HEX_BYTES]; /* read it with policy_digest (lazily computed) */
	char *src;                         /* POLICY_LAZY_KEYS: a copy of the policy text, or NULL: */
	int src_fd, src_fd_open;           /* the entries are read from this open policy file, */
	struct stat src_st;                /* which must still be this version of it */
	size_t src_len;
	void *lazy_lock;                   /* POLICY_LAZY_KEYS: a recursive pthread mutex */
	int64_t expires;                   /* "expires": the bundle's end of life; 0: none */
	char warning[VS_ERR_REASON_MAX];   /* set by policy_load: expires within a week; "" else */
};

/* Reads and parses a policy file (≤ VS_MAX_POLICY_BYTES, JSON_REJECT_DUPLICATES, every field
 * typed; unknown fields are refused so that a typo cannot weaken the policy). When a root.json
 * sits beside the policy file, the file must be a signed policy bundle verifying under it
 * (lib/bundle.h); a bundle without a root.json is refused too. */
int policy_load(const char *path, struct policy **out, struct vs_error *err);

/* policy_load under the host's trust state (lib/truststate.h; state_path NULL: the one that
 * governs path, trust_state_path_for). Refuses a policy whose version is below the installed
 * one (rollback), a root.json older than the installed root, a policy without root.json once a
 * root was installed, and a policy past its "expires"; sets p->warning when it expires within
 * VS_POLICY_EXPIRY_WARN_S. policy_load is this with state_path NULL. */
int policy_load_state(const char *path, const char *state_path, struct policy **out,
		      struct vs_error *err);

/* 0 while p has no "expires" or now is not past it; else fails with "policy bundle expired on
 * …". Long-running readers (the gateway) check it on every call, not only at load. */
int policy_check_expiry(const struct policy *p, int64_t now, struct vs_error *err);

struct trust_state;
/* The checks policy_load_state makes on a parsed policy p: version not below ts's, not past
 * "expires" at now; sets p->warning when it expires within VS_POLICY_EXPIRY_WARN_S. */
int policy_check_trust(struct policy *p, const char *path, const struct trust_state *ts,
		       const char *state_path, int64_t now, struct vs_error *err);
int policy_parse(const char *json, size_t len, const char *object, struct policy **out,
		 struct vs_error *err);

/*
 * Lazy keys (issue #18 item 5): a decision costs the keys it uses, not the keys the policy
 * holds. With POLICY_LAZY_KEYS the whole text is still checked to be valid JSON (lib/jsonscan.h,
 * as strict as jansson), everything but the key entries is parsed and checked as the full parse
 * does, every key entry must be an object with one "id" of 64 lowercase hex digits and no two
 * entries may carry the same id. An entry is parsed field by field, and its public key gets
 * key_public_pem_precheck's look, when a decision (or a template rule naming it) first looks it
 * up; the key itself is decoded, and its id checked against its canonical material, when a
 * signature is checked with it (policy_key_material). An entry that fails either fails the
 * decisions that use it with the policy error the full parse would have given (VS_ERR_INPUT).
 *
 * Why that keeps "one key, one id" (#14): two entries of the same key material either carry the
 * same id (refused when the policy is read) or one of them carries an id that is not its
 * material's, and that entry fails every decision that touches it, so no key counts twice.
 * What is left for use time: a malformed field in an entry, a key whose id lies (P-256, RSA,
 * other encodings), an unsupported algorithm or curve, a short RSA key, a point off the curve:
 * each refuses the decisions that use it, never allows. The whole-policy refusal of those stays
 * with the full parse (flags 0), which `vmseal-policy` (check, sign, install), the gateway and
 * policy_load use; policy_check_keys gives it for a lazily parsed policy.
 */
#define POLICY_LAZY_KEYS 1u

/* SHA-256 of the policy bytes as lowercase hex, for caches (computed on first use when the
 * policy was parsed with POLICY_LAZY_KEYS). */
const char *policy_digest(const struct policy *p);

/* policy_parse with flags (POLICY_LAZY_KEYS or 0). */
int policy_parse_opts(const char *json, size_t len, const char *object, unsigned flags,
		      struct policy **out, struct vs_error *err);

/* Writes path's index, path.index (vmseal-policy index; lib/policyindex.h), owned by the
 * caller, who must own the policy: the policy is read, must parse as a plain policy, and must
 * not change meanwhile; the index is written once no later change could carry the policy's
 * ctime (a wait of one time stamp tick, at most 2 s after the policy's last change). */
int policy_write_index(const char *path, struct vs_error *err);

/* policy_load_state with flags (POLICY_LAZY_KEYS or 0): the hook and vmseal-verify. */
int policy_load_state_opts(const char *path, const char *state_path, unsigned flags,
			   struct policy **out, struct vs_error *err);

/* k's public key, decoded now if the policy was parsed with POLICY_LAZY_KEYS and no decision
 * used it yet (thread-safe: the gateway's threads share one policy). NULL with err
 * (VS_ERR_INPUT, naming keys[N]) when it does not decode or its id is not its material's. */
const struct vs_key *policy_key_material(const struct policy *p, const struct policy_key *k,
					 struct vs_error *err);

/* Decodes every key not decoded yet and checks what the full parse checks (ids against their
 * material, no key material twice). 0, or -1 with err. */
int policy_check_keys(const struct policy *p, struct vs_error *err);
void policy_free(struct policy *p);

const struct policy_key *policy_find_key(const struct policy *p, const char *keyid);

/* Checks that key k may be used for usage at time now: status (retired keys verify only
 * when for_verify), not_before/not_after. 0 ok, -1 with the reason in err (DENIED). */
int policy_key_check(const struct policy_key *k, unsigned usage, int for_verify, int64_t now,
		     struct vs_error *err);

/* First template rule whose glob matches name, or NULL. Every matching rule must hold
 * (policy_eval_image checks them all): use this one only to learn whether any rule applies. */
const struct policy_template *policy_match_template(const struct policy *p, const char *name);

/* 1 when every template rule matching name allows a writable overlay (a broad rule cannot lift
 * a narrow rule's refusal, nor the other way round), 0 otherwise (and when none matches). */
int policy_template_allows_overlay(const struct policy *p, const char *name);

/* Who a key stands for when signatures are counted: its owner, or its keyid when the owner is
 * unset. Thresholds and quorums count distinct owners, so one person's two keys (say, a
 * rotated key and its retired predecessor) make one signature. */
const char *policy_key_owner(const struct policy_key *k);

/* Rules that can never apply or never be met, one warning per line appended to out (at most
 * outlen bytes, NUL-terminated): a rule shadowed by an identical earlier match, a rule whose
 * keys cannot be used for templates (revoked, no template usage), a threshold higher than the
 * number of distinct owners among its usable keys, a retired key without retired_at. Returns
 * the number of warnings. The policy stays valid: these are mistakes, not attacks. */
unsigned policy_lint(const struct policy *p, char *out, size_t outlen);

int policy_digest_revoked(const struct policy *p, const char *digest_hex);

/* 1 when the policy file at path may choose where tools append audit events (its
 * audit_log): owned by root and not writable by group or other, in a directory that is too.
 * A user's policy must not make a tool run as root append to a file of its choosing. */
int policy_file_is_system(const char *path);

/* Role parsing: "viewer" … "auditor" → bit, 0 when unknown. */
unsigned role_parse(const char *name);

enum decision { DECISION_DENY = 0, DECISION_ALLOW, DECISION_ALLOW_AUDIT_ONLY };

/* What a denial becomes under p: DECISION_DENY, or DECISION_ALLOW_AUDIT_ONLY when p's enforce
 * is false (audit-only mode: would-deny is logged, the start goes on). The one place this rule
 * is written; a NULL policy (none loaded) denies. */
enum decision policy_denial(const struct policy *p);

/* What refusal e becomes under p: a verdict (VS_ERR_DENIED) is policy_denial(p); any other
 * kind is an error that prevented a verdict and denies even in audit-only mode. */
enum decision policy_refusal(const struct policy *p, const struct vs_error *e);

struct image_verdict {
	enum decision decision;      /* ALLOW_AUDIT_ONLY: denied, but enforce is false */
	struct vs_error why;         /* the denial (also filled for ALLOW_AUDIT_ONLY) */
	struct statement st;         /* the attested statement, when it parsed */
	const struct policy_template *rule; /* the failing rule, or the strictest matching one */
	int allow_overlay;           /* every matching rule allows overlays */
	unsigned valid;              /* distinct owners' valid signatures counted for rule */
	char signers[VS_MAX_SIGNATURES][KEY_ID_HEX_LEN + 1];
	uint8_t root[32];            /* the image's digest, when computed */
	uint64_t size;
};

/* Until when an allow verdict may be reused from a cache (the hook's evalcache, the gateway's
 * listing): the attestation's expiry or the earliest not_after of the keys that counted for it,
 * whichever comes first; 0 when neither ends it. */
int64_t policy_verdict_valid_until(const struct policy *p, const struct image_verdict *v);

/* Parses an attestation's bytes: the DSSE envelope, its in-toto payloadType, the Statement.
 * 0 with *env set (dsse_free it); -1 with the reason in why (DENIED: a verdict). */
int policy_open_attestation(const char *envelope, size_t envelope_len, const char *name,
			    struct dsse_envelope **env, struct statement *st, struct vs_error *why);

/* Counts env's signatures that are valid under p for a rule that trusts keys[0..nkeys-1]: the
 * signature verifies, the key is listed by the rule, policy_key_check(usage, for_verify) holds
 * at now, a retired key's retired_at is not before signed_at (the Statement's claim), and each
 * owner counts once. rule names the rule in reasons ("template \"debian-*\""); prefix (may be
 * "") starts the denial. signers (VS_MAX_SIGNATURES entries) receives the keyids counted.
 * Returns 0 when at least threshold signatures count, else -1 with why (DENIED, object)
 * naming the most relevant failing signature. */
int policy_check_signatures(const struct policy *p, const struct dsse_envelope *env,
			    const char (*keys)[KEY_ID_HEX_LEN + 1], size_t nkeys, unsigned threshold,
			    unsigned usage, const char *rule, const char *prefix, const char *object,
			    int64_t now, int64_t signed_at, unsigned *valid,
			    char (*signers)[KEY_ID_HEX_LEN + 1], struct vs_error *why);

/* The checks every attested file shares once its signatures hold, cheap ones first: the
 * Statement's expiresAt at now, its digest not revoked by the policy, then the byte size and the
 * Merkle digest of the file open on fd (mo: hashing options, may be NULL; mr receives the
 * digest when computed). Returns 0 when a verdict was reached (why->kind is VS_ERR_NONE when
 * the file is covered, VS_ERR_DENIED when not), -1 on an I/O error (err). */
int policy_check_subject(const struct policy *p, int fd, const char *name, const struct statement *st,
			 int64_t now, const struct merkle_opts *mo, struct merkle_result *mr,
			 struct vs_error *why, struct vs_error *err);

/* The single image decision shared by vmseal-verify, the hook and the gateway: parses the
 * envelope (bytes, already read), verifies signatures against policy keys (usage template,
 * status, validity window at now, retired_at against the Statement's signedAt), and for EVERY
 * template rule whose glob matches counts each owner once toward that rule's threshold and
 * checks its min_version (a broad rule never weakens a narrow one), then expiresAt, revoked
 * digests, then the byte size and Merkle digest of the file open on fd. Cheap checks come first, so a bad signature never costs a
 * full read. Returns 0 when a verdict was reached (see v->decision), -1 on a runtime error
 * (I/O), which callers treat as a denial. */
int policy_eval_image(const struct policy *p, int fd, const char *image_name, const char *envelope,
		      size_t envelope_len, int64_t now, struct image_verdict *v, struct vs_error *err);

/* policy_eval_image with hashing options (threads, progress callback) for the Merkle digest;
 * mo may be NULL (defaults). The decision is the same whatever mo says. */
int policy_eval_image_opts(const struct policy *p, int fd, const char *image_name,
			   const char *envelope, size_t envelope_len, int64_t now,
			   const struct merkle_opts *mo, struct image_verdict *v, struct vs_error *err);

/* The roles that let a key ask POST /v1/sign for a signature (the route's roles). */
#define POLICY_SIGN_ROLES (ROLE_SIGNER | ROLE_ADMIN)

/* POST /v1/sign's rule (issue 15 item 5): may the verified keys[0..n) have template name at
 * version signed, valid for validity_s seconds? Only keys holding one of POLICY_SIGN_ROLES
 * count; each of them must have a gateway.signers entry that allows it (a template glob
 * matches, version <= max_version, validity_s <= max_validity_s), and their distinct owners
 * (policy_owners_with_role, the rule of every gateway quorum) must reach the largest quorum of
 * their entries. A key without those roles counts for nothing, even with an entry. 0 when
 * allowed; -1 with err (VS_ERR_DENIED) naming the key and the bound, or the key that did not
 * count when the quorum falls short. */
int policy_sign_check(const struct policy *p, const struct policy_key *const *keys, size_t n,
		      const char *name, int64_t version, int64_t validity_s, struct vs_error *err);

#endif
