/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's start mark: a durable bound on the created of every call it may have accepted,
 * so that a restarted gateway (its replay cache empty) refuses them all. */
#ifndef VMSEAL_STARTMARK_H
#define VMSEAL_STARTMARK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* How far ahead of a call's created bound (now + max_future_skew_s) the mark is written, in s;
 * it is written again once less than half of that is left. A restart waits at most this long
 * beyond the skew. */
#define STARTMARK_LEASE_S 2
/* What a restart assumes when the mark cannot be read back (a torn write): the parse cap of
 * max_future_skew_s plus a lease past the start. */
#define STARTMARK_UNKNOWN_SKEW_S 60

/*
 * The file holds one line, "vmseal-gateway-start-v1 M\n": no call accepted by any gateway that
 * kept it was created after M (wall clock, s). M only grows: a gateway writes max(M, what it
 * needs) under an flock, so two gateways sharing it, a lowered max_future_skew_s or a clock
 * set back never lower it.
 */
struct startmark {
	int is_open;
	int fd;
	pthread_mutex_t lock;
	int64_t mark; /* as last written or read (read atomically without the lock) */
	char path[4096];
};

/* Parses a start mark file's text (n bytes, not NUL-terminated): 1 with *out set to M, 0 when
 * n is 0, -2 when it is not exactly one mark line (too long, another format, a sign, a leading
 * zero, spaces or anything after the digits, a value past INT64_MAX). *out is written only on 1. */
int startmark_parse(const char *text, size_t n, int64_t *out);

/* Opens path (created mode 0600, O_NOFOLLOW) and reads the previous runs' mark into *prev: 0
 * when the file is new or empty, t_start + STARTMARK_LEASE_S + STARTMARK_UNKNOWN_SKEW_S when its
 * text is not a mark (written halfway). 0, or -1 with err when it cannot be opened, locked or
 * read: the gateway must not start. */
int startmark_open(const char *path, int64_t t_start, struct startmark *m, int64_t *prev,
		   struct vs_error *err);

/* The first created a gateway starting at wall time t_start under max_future_skew_s fs may
 * accept: past every call a previous run may have accepted (prev, startmark_open) and past the
 * calls of t_start itself, whatever the clock or the skew did in between. */
int64_t startmark_not_before(int64_t prev, int64_t t_start, int64_t fs);

/* Before a call is accepted at wall time now under max_future_skew_s fs: makes sure the mark
 * is at least now + fs (writing now + fs + STARTMARK_LEASE_S durably, fdatasync, when less
 * than half a lease is left). 0 when the call is covered; -1 with err when the mark could not
 * be written (the call must be refused). Thread-safe. */
int startmark_cover(struct startmark *m, int64_t now, int64_t fs, struct vs_error *err);

/* Closes the file; m may be zeroed (never opened) or NULL. */
void startmark_close(struct startmark *m);

#endif
