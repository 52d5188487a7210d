/* SPDX-License-Identifier: Apache-2.0 */
/* Structured errors: object + reason, one line, no secrets. */
#include "error.h"

#include <stdio.h>
#include <string.h>
#include <openssl/err.h>

/* Replaces control characters so that a hostile value cannot forge extra log or stderr lines. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

int vs_failv(struct vs_error *err, enum vs_error_kind kind, const char *object, const char *fmt,
	     va_list ap)
{
	if (!err)
		return -1;
	err->kind = kind;
	if (object) {
		snprintf(err->object, sizeof(err->object), "%s", object);
		sanitize(err->object);
	}
	vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
	sanitize(err->reason);
	return -1;
}

int vs_fail(struct vs_error *err, enum vs_error_kind kind, const char *object, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vs_failv(err, kind, object, fmt, ap);
	va_end(ap);
	return -1;
}

void vs_error_prefix(struct vs_error *err, const char *fmt, ...)
{
	char prefix[256], old[VS_ERR_REASON_MAX];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->reason, sizeof(old));
	snprintf(err->reason, sizeof(err->reason), "%s: %s", prefix, old);
	sanitize(err->reason);
}

int vs_fail_ssl(struct vs_error *err, enum vs_error_kind kind, const char *object, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256] = "";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	if (buf[0])
		return vs_fail(err, kind, object, "%s (%s)", what, buf);
	return vs_fail(err, kind, object, "%s", what);
}

void vs_error_clear(struct vs_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

int vs_error_exit_code(const struct vs_error *err)
{
	return err && err->kind == VS_ERR_DENIED ? 1 : 2;
}

void vs_error_print(const char *prog, const struct vs_error *err)
{
	const char *verdict = err->kind == VS_ERR_DENIED ? "denied" : "error";

	if (err->object[0])
		fprintf(stderr, "%s: %s: %s: %s\n", prog, verdict, err->object, err->reason);
	else
		fprintf(stderr, "%s: %s: %s\n", prog, verdict, err->reason[0] ? err->reason : "unknown failure");
}
