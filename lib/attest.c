/* SPDX-License-Identifier: Apache-2.0 */
/* The attestation beside an image, and the image's verdict: one place for "missing or
 * oversized is a denial". */
#include "attest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "limits.h"

int attest_default_path(const char *image, char *out, size_t outlen, struct vs_error *err)
{
	if ((size_t)snprintf(out, outlen, "%s%s", image, ATTEST_SUFFIX) >= outlen)
		return vs_fail(err, VS_ERR_INPUT, image, "image path too long for its attestation path");
	return 0;
}

int attest_open(const char *image, const char *path, struct attest *a, struct vs_error *why,
		struct vs_error *err)
{
	struct vs_error oe = {0};

	a->fd = -1;
	a->missing = 0;
	if (!path) {
		if (attest_default_path(image, a->path, sizeof(a->path), err) < 0)
			return -1;
	} else if ((size_t)snprintf(a->path, sizeof(a->path), "%s", path) >= sizeof(a->path)) {
		return vs_fail(err, VS_ERR_INPUT, path, "attestation path too long");
	}
	if (vs_open_input(a->path, VS_INPUT_REG, NULL, &a->fd, &a->st, &oe) == 0)
		return 0;
	if (oe.kind == VS_ERR_NOTFOUND) {
		a->missing = 1;
		vs_fail(why, VS_ERR_DENIED, image, "no attestation (%s not found)", a->path);
		return 1;
	}
	if (oe.kind == VS_ERR_INPUT) { /* a FIFO, a directory...: not an attestation */
		vs_fail(why, VS_ERR_DENIED, image, "attestation %s: %s", a->path, oe.reason);
		return 1;
	}
	return vs_fail(err, oe.kind, image, "attestation %s: %s", a->path, oe.reason);
}

void attest_close(struct attest *a)
{
	if (a && a->fd >= 0) {
		close(a->fd);
		a->fd = -1;
	}
}

/* A verdict reached without evaluating: the image is not proven good. */
static void verdict_unproven(const struct policy *p, struct image_verdict *v, const struct vs_error *why)
{
	memset(v, 0, sizeof(*v));
	v->why = *why;
	v->why.kind = VS_ERR_DENIED;
	v->decision = policy_denial(p);
}

int attest_read(const struct attest *a, const char *image, char **buf, size_t *len,
		struct vs_error *why, struct vs_error *err)
{
	struct vs_error re = {0};

	*buf = NULL;
	if (fd_read_all(a->fd, a->path, VS_MAX_ATTESTATION_BYTES, buf, len, &re) == 0)
		return 0;
	if (re.kind != VS_ERR_INPUT) { /* I/O or memory: no verdict */
		*err = re;
		return -1;
	}
	/* too large: a verdict, the attestation named */
	vs_fail(why, VS_ERR_DENIED, image, "attestation %s: %s", a->path, re.reason);
	return 1;
}

int attest_eval(const struct policy *p, const struct attest *a, int fd, const char *image_name,
		int64_t now, const struct merkle_opts *mo, struct image_verdict *v, struct vs_error *err)
{
	struct vs_error why = {0};
	char *env = NULL;
	size_t envlen = 0;
	int r = attest_read(a, image_name, &env, &envlen, &why, err);

	if (r < 0)
		return -1;
	if (r == 1) {
		verdict_unproven(p, v, &why);
		return 0;
	}
	r = policy_eval_image_opts(p, fd, image_name, env, envlen, now, mo, v, err);
	free(env);
	return r;
}

int attest_eval_image(const struct policy *p, int fd, const char *image, const char *path,
		      int64_t now, const struct merkle_opts *mo, struct image_verdict *v,
		      struct vs_error *err)
{
	struct attest a;
	struct vs_error why = {0};
	int r = attest_open(image, path, &a, &why, err);

	if (r < 0)
		return -1;
	if (r == 1) {
		verdict_unproven(p, v, &why);
		return 0;
	}
	r = attest_eval(p, &a, fd, image, now, mo, v, err);
	attest_close(&a);
	return r;
}
