/* SPDX-License-Identifier: Apache-2.0 */
/* Every size and count limit of vmseal, in one place (DESIGN.md "Limits"). */
#ifndef VMSEAL_LIMITS_H
#define VMSEAL_LIMITS_H

#define VS_MAX_ATTESTATION_BYTES (1u << 20) /* an attestation (DSSE envelope) file */
#define VS_MAX_POLICY_BYTES (4u << 20)      /* a policy or policy bundle file (4096 keys fit) */
#define VS_MAX_TRUST_STATE_BYTES 4096      /* trust.state (lib/truststate.h) */
#define VS_POLICY_EXPIRY_WARN_S (7 * 86400) /* warn when a policy bundle expires sooner */
#define VS_MAX_KEY_FILE_BYTES (64u << 10)   /* a PEM key file */
#define VS_MAX_PASSPHRASE_BYTES 1024        /* a passphrase file */
#define VS_MAX_SIGNATURES 16                /* signatures in one envelope */
#define VS_MAX_SUBJECTS 16                  /* subjects in one Statement */
#define VS_MAX_POLICY_KEYS 4096             /* keys in one policy (retired keys stay in it) */
#define VS_MAX_POLICY_TEMPLATES 256         /* template rules in one policy */
#define VS_MAX_ROOT_KEYS 16                 /* root keys in root.json */
#define VS_MAX_REVOKED_DIGESTS 65536        /* revoked digests in one policy */
#define VS_MAX_DISKS 64                     /* disks in one domain */
#define VS_MAX_BACKING_DEPTH 16             /* layers in one backing chain */
#define VS_MAX_XML_BYTES (1u << 20)         /* a domain XML document */
#define VS_MAX_BODY_BYTES (1u << 20)        /* an HTTP request body */
#define VS_PREAUTH_MEMORY_DEFAULT (32u << 20) /* gateway: bodies of calls not yet authorized */
#define VS_PREAUTH_MEMORY_MAX (16ull << 30)   /* ... at most (--preauth-memory; at least one body) */
#define VS_MAX_HEADERS 64                   /* HTTP request headers */
#define VS_MAX_HEADER_BYTES (8u << 10)      /* one HTTP header field */
#define VS_MAX_SIG_COMPONENTS 32            /* components in one Signature-Input entry */
#define VS_MAX_RESPONSE_BYTES (16u << 20)   /* client: the body of a gateway's answer */
#define VS_MAX_RESPONSE_HEADERS 64          /* client: header fields of a gateway's answer */
#define VS_REPLAY_CLOCK_MARGIN_S 1         /* s: --replay-store clock vs Redis (claims live expires + it) */
#define VS_RESPONSE_SKEW_S 300              /* client: |created - now| of the answer's signature */
#define VS_MAX_AUDIT_LINE_BYTES (16u << 10) /* one audit log line */
#define VS_MAX_NAME_BYTES 256               /* a template or domain name */
#define VS_MAX_TIME_FRACTION_DIGITS 9      /* RFC 3339 time-secfrac: nanoseconds at most */
#define VS_MAX_PATH_BYTES 4096              /* a file path */
#define VS_MAX_BOOT_CMDLINES 8              /* command lines one kernel's Statement allows */
#define VS_MAX_CMDLINE_BYTES 4096           /* a kernel command line, with its NUL (<os><cmdline>, a Statement's) */
#define VS_MAX_BOOT_PINS 256                /* pinned boot-file digests in one policy */
#define VS_MAX_BOOT_RULES 256               /* boot-file rules in one policy */
#define VS_DENY_AGG_INTERVAL_S 10           /* gateway: refused unsigned calls, one event per */
#define VS_DENY_AGG_SLOTS 256               /* ... (client, reason) per interval, this many */
#define VS_MAX_AUTHORITIES 32               /* names a gateway answers to (--authority) */
#define VS_MAX_AUTHORITY_BYTES 272          /* one HOST[:PORT]: a DNS name of 255, a port */

/* SSH certificates and KRLs (lib/sshbuf.c, sshkey.c, sshcert.c, sshkrl.c) */
#define VS_MAX_SSH_BLOB_BYTES (256u << 10)   /* one SSH key, certificate or KRL in wire format */
#define VS_MAX_SSH_LINE_BYTES (64u << 10)    /* one authorized_keys-style line (key or cert) */
#define VS_MAX_SSH_RSA_BITS 16384            /* largest RSA modulus accepted */
#define VS_MIN_SSH_RSA_BITS 2048             /* smallest RSA modulus accepted */
#define VS_MAX_SSH_PRINCIPALS 32             /* principals in one certificate */
#define VS_MAX_SSH_PRINCIPAL_BYTES 256       /* one principal name */
#define VS_MAX_SSH_KEY_ID_BYTES 512          /* a certificate's key id */
#define VS_MAX_SSH_OPTION_BYTES 4096         /* one critical option's value (force-command ...) */
#define VS_MAX_SSH_OPTIONS 16                /* critical options or extensions in one certificate */
#define VS_MAX_SSH_VALIDITY_S (12 * 3600)    /* hard cap on a certificate's validity */
#define VS_DEFAULT_SSH_VALIDITY_S (15 * 60)  /* a key's maximum validity when the policy names none */
#define VS_SSH_BACKDATE_S 60                 /* valid_after lies this far in the past (clock skew) */
#define VS_MAX_SSH_REVOKED 65536             /* revoked serials or keys kept for the KRL */
#define VS_MAX_SSH_RULES 256                 /* policy "ssh": per-key rules */
#define VS_MAX_SSH_HOST_SUFFIXES 8           /* policy "ssh": host name suffixes */
#define VS_MAX_SSH_HOST_NAMES 32             /* policy "ssh": patterns of domains that get host certificates */
#define VS_MAX_SSH_QUORUM 4                  /* distinct signers an issuance may require */
#define VS_DEFAULT_SSH_HOST_VALIDITY_S (30 * 86400) /* a host certificate's, when the policy names none */
#define VS_MAX_SSH_HOST_VALIDITY_S (366 * 86400)    /* hard cap on a host certificate's validity */
#define VS_MAX_XML_DEPTH 24                 /* element nesting judged in a domain XML */
#define VS_MAX_BOOT_FILES 16                /* boot files (loader, kernel, ACPI tables…) per domain */
#define VS_MAX_PROTECTED_PATHS 24           /* vmseal's own paths the domain XML may not name */

/* Front ends and single modules */
#define VS_MAX_KEY_LIST_ENTRIES 4096        /* vmseal-key list: keys listed from one directory */
#define VS_MAX_AUDIT_CHECKPOINTS 16         /* vmseal-audit verify: --checkpoint files */
#define VS_MAX_CHECKPOINT_BYTES (64u << 10) /* a signed audit checkpoint file */
#define VS_MAX_HOOK_CONF_BYTES (64u << 10)  /* the hook's hook.conf */
#define VS_MAX_AUDIT_ANSWER_ENTRIES 1000    /* GET /v1/audit: entries in one answer */
#define VS_MAX_URI_BYTES VS_MAX_HEADER_BYTES /* gateway: a request target */
#define VS_MAX_DISCARD_BYTES (4u << 20)     /* gateway: read of an oversized body before closing */
#define VS_MAX_SSH_NONCE_BYTES 64           /* an SSH certificate's nonce */
#define VS_MIN_SSH_NONCE_BYTES 16           /* ... at least */
#define VS_MAX_SSH_KRL_COMMENT_BYTES 1024   /* a KRL's comment */
/* one overlay registry record, without its MAC */
#define VS_MAX_OVERLAY_RECORD_BYTES (2 * VS_MAX_NAME_BYTES + 256)
#define VS_MAX_EVALCACHE_ENTRY_BYTES 1024   /* one hook cache entry file, its MAC line included */
#define VS_MAX_POLICYEDIT_CHANGES_BYTES 8192 /* the text listing one policy edit's changes */
#define VS_MAX_SIGN_QUORUM 4                /* policy "sign": signers one signing needs (<= 4) */
#define VS_MAX_SIGN_TEMPLATES 64            /* policy "sign": template patterns of one rule */
#define VS_MAX_XML_WALK_PATH_BYTES 512      /* a domain XML element's path, "devices/disk/source" */
#define VS_MAX_STARTMARK_BYTES 64           /* the gateway's start mark file (AUDIT_LOG.start), one line */

/* Text of fixed-size values, NUL included: a buffer of these is char[VS_..._BYTES] */
#define VS_SHA256_HEX_BYTES 65              /* a SHA-256 in lowercase hex: digest, keyid, chain head */
#define VS_SHARE_SET_HEX_BYTES 33           /* a key backup's share-set id: 16 random bytes in hex */
#define VS_AUDIT_PARAM_BYTES 65             /* a call's nonce or keyid quoted in an audit reason: cut at 64 */

#define VS_CHUNK_SIZE (4u << 20)            /* Merkle leaf size, bytes */
#define VS_MERKLE_MAX_THREADS 64

#endif
