/* SPDX-License-Identifier: Apache-2.0 */
/* Every size and count limit of vmseal, in one place (DESIGN.md "Limits"). */
#ifndef VMSEAL_LIMITS_H
#define VMSEAL_LIMITS_H

#define VS_MAX_ATTESTATION_BYTES (1u << 20) /* an attestation (DSSE envelope) file */
#define VS_MAX_POLICY_BYTES (1u << 20)      /* a policy or policy bundle file */
#define VS_MAX_KEY_FILE_BYTES (64u << 10)   /* a PEM key file */
#define VS_MAX_PASSPHRASE_BYTES 1024        /* a passphrase file */
#define VS_MAX_SIGNATURES 16                /* signatures in one envelope */
#define VS_MAX_SUBJECTS 16                  /* subjects in one Statement */
#define VS_MAX_POLICY_KEYS 256              /* keys in one policy */
#define VS_MAX_POLICY_TEMPLATES 256         /* template rules in one policy */
#define VS_MAX_ROOT_KEYS 16                 /* root keys in root.json */
#define VS_MAX_REVOKED_DIGESTS 65536        /* revoked digests in one policy */
#define VS_MAX_DISKS 64                     /* disks in one domain */
#define VS_MAX_BACKING_DEPTH 16             /* layers in one backing chain */
#define VS_MAX_XML_BYTES (1u << 20)         /* a domain XML document */
#define VS_MAX_BODY_BYTES (1u << 20)        /* an HTTP request body */
#define VS_MAX_HEADERS 64                   /* HTTP request headers */
#define VS_MAX_HEADER_BYTES (8u << 10)      /* one HTTP header field */
#define VS_MAX_SIG_COMPONENTS 32            /* components in one Signature-Input entry */
#define VS_MAX_AUDIT_LINE_BYTES (16u << 10) /* one audit log line */
#define VS_MAX_NAME_BYTES 256               /* a template or domain name */
#define VS_MAX_PATH_BYTES 4096              /* a file path */
#define VS_MAX_AUTHORITIES 32               /* names a gateway answers to (--authority) */
#define VS_MAX_AUTHORITY_BYTES 272          /* one HOST[:PORT]: a DNS name of 255, a port */

#define VS_CHUNK_SIZE (4u << 20)            /* Merkle leaf size, bytes */
#define VS_MERKLE_MAX_THREADS 64

#endif
