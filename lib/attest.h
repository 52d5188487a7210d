/* SPDX-License-Identifier: Apache-2.0 */
/* The one attestation entry point: the envelope beside an image (or at a given path), read
 * within its bound, and the policy's verdict on the opened image. A missing, oversized or
 * non-regular attestation is a verdict (the image is not proven good), never an error. */
#ifndef VMSEAL_ATTEST_H
#define VMSEAL_ATTEST_H

#include <stdint.h>
#include <sys/stat.h>

#include "error.h"
#include "merkle.h"
#include "policy.h"
#include "util.h"

#define ATTEST_SUFFIX ".intoto.json" /* IMAGE's attestation is IMAGE.intoto.json */
#define ATTEST_SUFFIX_LEN (sizeof(ATTEST_SUFFIX) - 1)

/* An attestation file, opened. */
struct attest {
	char path[VS_PATH_TMP_MAX];
	int fd;         /* -1: not open */
	struct stat st; /* its fstat: half of a verdict cache's key */
	int missing;    /* attest_open found no file at path (the file is unsigned) */
};

/* Writes image's default attestation path (image + ATTEST_SUFFIX) to out. -1 (VS_ERR_INPUT,
 * naming image) when it does not fit in outlen bytes. */
int attest_default_path(const char *image, char *out, size_t outlen, struct vs_error *err);

/* Opens the attestation at path (NULL: beside image). Returns 0 with a->fd open; 1 when there is
 * no usable file there, a verdict: why (VS_ERR_DENIED) names image and says "no attestation (PATH
 * not found)" or why PATH is not one (not a regular file); -1 on another failure (err: I/O, a
 * path too long). a->fd is -1 unless 0 is returned; attest_close is safe in every case. */
int attest_open(const char *image, const char *path, struct attest *a, struct vs_error *why,
		struct vs_error *err);

/* Reads the open attestation: 0 with *buf (malloc'd, NUL-terminated) and *len; 1 when it is
 * over VS_MAX_ATTESTATION_BYTES, a verdict: why (VS_ERR_DENIED) names image and the bound; -1
 * on a read error (err). */
int attest_read(const struct attest *a, const char *image, char **buf, size_t *len,
		struct vs_error *why, struct vs_error *err);

/* Reads the open attestation (attest_read) and evaluates the image open on
 * fd under p at now (policy_eval_image_opts; mo may be NULL). An oversized attestation is a
 * denial naming it. Returns 0 with v filled when a verdict was reached, -1 on a runtime error
 * (err), which callers treat as a denial. */
int attest_eval(const struct policy *p, const struct attest *a, int fd, const char *image_name,
		int64_t now, const struct merkle_opts *mo, struct image_verdict *v, struct vs_error *err);

/* Closes a's file (if open). */
void attest_close(struct attest *a);

/* The whole decision on one opened image: attest_open (path NULL: beside image) then
 * attest_eval. A missing or unusable attestation is a verdict: v->decision is
 * policy_denial(p) and v->why says why. image names the file in reasons. Returns 0 with v
 * filled when a verdict was reached, -1 on a runtime error (err). */
int attest_eval_image(const struct policy *p, int fd, const char *image, const char *path,
		      int64_t now, const struct merkle_opts *mo, struct image_verdict *v,
		      struct vs_error *err);

#endif
