/* SPDX-License-Identifier: Apache-2.0 */
/* One way to fail: every library call returns 0 or -1 and fills a vs_error with what and why. */
#ifndef VMSEAL_ERROR_H
#define VMSEAL_ERROR_H

#include <stdarg.h>

#define VS_ERR_OBJECT_MAX 512
#define VS_ERR_REASON_MAX 512

/* Kinds let front ends pick an exit code: a DENIED error is a verdict (exit 1), anything else
 * is an error that prevented a verdict (exit 2). Both deny. */
enum vs_error_kind {
	VS_ERR_NONE = 0,
	VS_ERR_DENIED,   /* the input was checked and found bad */
	VS_ERR_INPUT,    /* malformed input: could not be checked */
	VS_ERR_IO,       /* file system or network */
	VS_ERR_NOTFOUND, /* the named file does not exist (ENOENT): callers test this kind, not errno */
	VS_ERR_USAGE,    /* bad arguments */
	VS_ERR_INTERNAL, /* out of memory, library failure */
};

struct vs_error {
	enum vs_error_kind kind;
	char object[VS_ERR_OBJECT_MAX]; /* what: a file, a key, a header */
	char reason[VS_ERR_REASON_MAX]; /* why, with the bad value quoted */
};

/* Sets err (if non-NULL) and returns -1, so callers can write `return vs_fail(...)`. */
int vs_fail(struct vs_error *err, enum vs_error_kind kind, const char *object, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Like vs_fail, keeping an already set object when object is NULL. */
int vs_failv(struct vs_error *err, enum vs_error_kind kind, const char *object, const char *fmt,
	     va_list ap);

/* Prefixes the reason with "prefix: ", for context added on the way up. */
void vs_error_prefix(struct vs_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends OpenSSL's queued error (first one) to err's reason and clears the queue. */
int vs_fail_ssl(struct vs_error *err, enum vs_error_kind kind, const char *object, const char *what);

/* Resets err to no error. */
void vs_error_clear(struct vs_error *err);

/* Exit code for a CLI: 1 for DENIED, 2 for everything else. */
int vs_error_exit_code(const struct vs_error *err);

/* Writes "prog: denied: object: reason" or "prog: error: object: reason" as one line. */
void vs_error_print(const char *prog, const struct vs_error *err);

#endif
